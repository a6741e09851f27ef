//! Applies a hub's broker subscription changes one at a time, in order, so that
//! an unsubscribe never overtakes the subscribe before it. After subscribing a
//! ticket it reads the ticket's stored `last_seq`: the hub's stream for the
//! ticket starts there (anything older is in the store; anything newer arrives
//! through the subscription, or is found by reconciliation).

use super::Command;
use crate::broker::{AGENTS_CHANNEL, Broker, ticket_channel};
use crate::metrics::{metrics, timed};
use crate::store::Store;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A change of this node's broker subscriptions: subscribe a ticket (with the
/// generation of the hub entry that waits for it) or unsubscribe it (`None`).
pub(super) enum Subscription {
    Ticket(i64, Option<u64>),
    Feed(bool),
}

/// Starts the worker; it ends with `shutdown`.
pub(super) fn start(
    broker: Arc<dyn Broker>,
    store: Arc<dyn Store>,
    hub: mpsc::UnboundedSender<Command>,
    shutdown: CancellationToken,
) -> mpsc::UnboundedSender<Subscription> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Subscription>();
    tokio::spawn(async move {
        loop {
            let change = tokio::select! {
                _ = shutdown.cancelled() => break,
                change = rx.recv() => match change { Some(c) => c, None => break },
            };
            match change {
                Subscription::Ticket(ticket_id, Some(generation)) => {
                    let channel = ticket_channel(ticket_id);
                    let subscribed = timed(
                        &metrics().broker_duration,
                        "subscribe",
                        broker.subscribe(&channel),
                    )
                    .await;
                    if let Err(err) = subscribed {
                        // The hub still serves from the store: reconciliation and
                        // the resubscription after the reconnect cover the rest.
                        tracing::warn!(cause = %err, ticket_id, "subscribe failed");
                    }
                    let last_seq = match store.last_seqs(&[ticket_id]).await {
                        Ok(found) => found.first().map(|(_, seq)| *seq),
                        Err(err) => {
                            tracing::warn!(cause = %err, ticket_id, "cannot read the ticket's last seq");
                            None
                        }
                    };
                    let _ = hub.send(Command::Subscribed {
                        ticket_id,
                        generation,
                        last_seq,
                    });
                }
                Subscription::Ticket(ticket_id, None) => {
                    let channel = ticket_channel(ticket_id);
                    let unsubscribed = timed(
                        &metrics().broker_duration,
                        "unsubscribe",
                        broker.unsubscribe(&channel),
                    )
                    .await;
                    if let Err(err) = unsubscribed {
                        tracing::warn!(cause = %err, ticket_id, "unsubscribe failed");
                    }
                }
                Subscription::Feed(on) => {
                    let result = if on {
                        broker.subscribe(AGENTS_CHANNEL).await
                    } else {
                        broker.unsubscribe(AGENTS_CHANNEL).await
                    };
                    if let Err(err) = result {
                        tracing::warn!(cause = %err, "agent feed subscription change failed");
                    }
                }
            }
        }
    });
    tx
}
