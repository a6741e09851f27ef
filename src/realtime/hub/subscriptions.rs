//! Applies a hub's broker subscription changes in order, so that an unsubscribe
//! never overtakes the subscribe before it. After subscribing a ticket it reads
//! the ticket's stored `last_seq`: the hub's stream for the ticket starts there
//! (anything older is in the store; anything newer arrives through the
//! subscription, or is found by reconciliation).
//!
//! Changes are applied in batches, like a group commit: while one batch is in
//! flight, the changes that arrive queue up, and the next batch takes all of
//! them (up to [`MAX_BATCH`]). One change alone goes out at once, with no timer;
//! a reconnect storm of thousands of tickets costs one SUBSCRIBE (per 500
//! channels) and one `last_seq` query per batch instead of a round trip and a
//! query per ticket.

use super::Command;
use crate::broker::{Broker, ticket_channel};
use crate::metrics::{metrics, timed};
use crate::store::{MAX_IDS_PER_QUERY, Store};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Most changes one batch takes: one `last_seq` query's worth of tickets.
pub(super) const MAX_BATCH: usize = MAX_IDS_PER_QUERY;

/// A change of this node's broker subscriptions: subscribe a ticket (with the
/// generation of the hub entry that waits for it) or unsubscribe it (`None`),
/// or subscribe (`true`) or unsubscribe a feed channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Subscription {
    Ticket(i64, Option<u64>),
    Channel(String, bool),
}

/// What one batch of changes comes to. The broker's subscriptions are a set,
/// so only each channel's last change in the batch matters: a ticket left and
/// joined again within it stays subscribed (its new generation is answered),
/// one joined and left is unsubscribed (the hub forgot it already).
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Batch {
    /// Tickets to subscribe, with the generation to answer, in arrival order.
    pub(super) subscribe: Vec<(i64, u64)>,
    /// Tickets to unsubscribe, in arrival order.
    pub(super) unsubscribe: Vec<i64>,
    /// Feed channels to subscribe (`true`) or unsubscribe, each's last
    /// change, in arrival order.
    pub(super) channels: Vec<(String, bool)>,
}

impl Batch {
    /// Folds `changes` (in the order the hub made them) into one batch.
    pub(super) fn of(changes: &[Subscription]) -> Batch {
        let mut last: HashMap<i64, (usize, Option<u64>)> = HashMap::new();
        let mut channels: HashMap<&str, (usize, bool)> = HashMap::new();
        for (at, change) in changes.iter().enumerate() {
            match change {
                Subscription::Ticket(ticket_id, generation) => {
                    last.insert(*ticket_id, (at, *generation));
                }
                Subscription::Channel(channel, on) => {
                    channels.insert(channel, (at, *on));
                }
            }
        }
        let mut channels: Vec<(usize, String, bool)> = channels
            .into_iter()
            .map(|(channel, (at, on))| (at, channel.to_owned(), on))
            .collect();
        channels.sort_unstable();
        let mut ordered: Vec<(usize, i64, Option<u64>)> = last
            .into_iter()
            .map(|(ticket_id, (at, generation))| (at, ticket_id, generation))
            .collect();
        ordered.sort_unstable();
        let mut batch = Batch {
            channels: channels.into_iter().map(|(_, c, on)| (c, on)).collect(),
            ..Batch::default()
        };
        for (_, ticket_id, generation) in ordered {
            match generation {
                Some(generation) => batch.subscribe.push((ticket_id, generation)),
                None => batch.unsubscribe.push(ticket_id),
            }
        }
        batch
    }
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
        let mut changes = Vec::with_capacity(MAX_BATCH);
        loop {
            let first = tokio::select! {
                _ = shutdown.cancelled() => break,
                change = rx.recv() => match change { Some(c) => c, None => break },
            };
            changes.clear();
            changes.push(first);
            // Whatever queued up meanwhile joins this batch; nothing waits for more.
            while changes.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(change) => changes.push(change),
                    Err(_) => break,
                }
            }
            apply(&Batch::of(&changes), broker.as_ref(), store.as_ref(), &hub).await;
        }
    });
    tx
}

/// Applies one batch: unsubscribes, subscribes, then reads the subscribed
/// tickets' `last_seq` in one query and answers the hub for each.
async fn apply(
    batch: &Batch,
    broker: &dyn Broker,
    store: &dyn Store,
    hub: &mpsc::UnboundedSender<Command>,
) {
    if !batch.unsubscribe.is_empty() {
        let channels: Vec<String> = batch
            .unsubscribe
            .iter()
            .map(|id| ticket_channel(*id))
            .collect();
        let unsubscribed = timed(
            &metrics().broker_duration,
            "unsubscribe",
            broker.unsubscribe_many(&channels),
        )
        .await;
        if let Err(err) = unsubscribed {
            tracing::warn!(cause = %err, tickets = channels.len(), "unsubscribe failed");
        }
    }
    for (channel, on) in &batch.channels {
        let result = if *on {
            broker.subscribe(channel).await
        } else {
            broker.unsubscribe(channel).await
        };
        if let Err(err) = result {
            tracing::warn!(cause = %err, channel, "feed subscription change failed");
        }
    }
    if batch.subscribe.is_empty() {
        return;
    }
    let channels: Vec<String> = batch
        .subscribe
        .iter()
        .map(|(id, _)| ticket_channel(*id))
        .collect();
    let subscribed = timed(
        &metrics().broker_duration,
        "subscribe",
        broker.subscribe_many(&channels),
    )
    .await;
    if let Err(err) = subscribed {
        // The hub still serves from the store: reconciliation and the
        // resubscription after the reconnect cover the rest.
        tracing::warn!(cause = %err, tickets = channels.len(), "subscribe failed");
    }
    // Read after subscribing: anything stored later arrives live.
    let ids: Vec<i64> = batch.subscribe.iter().map(|(id, _)| *id).collect();
    let mut found: HashMap<i64, i64> = HashMap::with_capacity(ids.len());
    let mut answered = true;
    for chunk in ids.chunks(MAX_IDS_PER_QUERY) {
        match store.last_seqs(chunk).await {
            Ok(seqs) => found.extend(seqs),
            Err(err) => {
                tracing::warn!(cause = %err, tickets = ids.len(), "cannot read the tickets' last seq");
                answered = false;
                break;
            }
        }
    }
    for (ticket_id, generation) in &batch.subscribe {
        let last_seq = if answered {
            found.get(ticket_id).copied()
        } else {
            None
        };
        let _ = hub.send(Command::Subscribed {
            ticket_id: *ticket_id,
            generation: *generation,
            last_seq,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::Subscription::{Channel, Ticket};
    use super::*;

    #[test]
    fn a_batch_keeps_each_tickets_last_change_in_arrival_order() {
        let batch = Batch::of(&[
            Ticket(3, Some(1)),
            Ticket(1, Some(2)),
            Ticket(2, Some(3)),
            Ticket(2, None),
            Ticket(4, None),
            Ticket(4, Some(4)),
            Channel("feed:queue".into(), true),
        ]);
        assert_eq!(
            batch,
            Batch {
                subscribe: vec![(3, 1), (1, 2), (4, 4)],
                unsubscribe: vec![2],
                channels: vec![("feed:queue".into(), true)],
            }
        );
    }

    #[test]
    fn a_ticket_left_and_joined_again_answers_its_newest_generation() {
        let batch = Batch::of(&[Ticket(7, Some(1)), Ticket(7, None), Ticket(7, Some(2))]);
        assert_eq!(batch.subscribe, vec![(7, 2)]);
        assert!(batch.unsubscribe.is_empty());
        assert!(batch.channels.is_empty());
    }

    #[test]
    fn a_feed_channel_takes_its_last_change() {
        let batch = Batch::of(&[
            Channel("feed:team".into(), true),
            Channel("feed:queue".into(), true),
            Channel("feed:team".into(), false),
        ]);
        assert_eq!(
            batch.channels,
            vec![("feed:queue".into(), true), ("feed:team".into(), false)]
        );
        assert_eq!(Batch::of(&[]), Batch::default());
    }
}
