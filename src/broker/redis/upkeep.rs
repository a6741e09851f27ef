//! The background work that keeps a node's Redis subscriber whole: hand its
//! deliveries to the hub, subscribe every channel again after a reconnect (then
//! have the hub refill from the store), ping it so that a silent connection is
//! noticed, and log connection trouble without flooding.

use super::{Subscriptions, UNRESPONSIVE_AFTER};
use crate::broker::{Delivery, Inbox};
use crate::metrics::metrics;
use fred::prelude::{ClientLike, Options, Value};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;

/// The pause before trying a failed restore again.
const RESTORE_RETRY: Duration = Duration::from_secs(1);
/// How often the idle subscriber connection is pinged: a connection that went
/// silent (a network drop without a reset) then has a PING in flight, which
/// fred's unresponsive check notices after [`UNRESPONSIVE_AFTER`].
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(2);
/// Connection errors are logged at most this often while Redis stays down.
const ERROR_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Hands every message of a subscribed channel to the inbox, without the prefix.
pub(super) async fn forward_deliveries(
    mut messages: broadcast::Receiver<fred::types::Message>,
    prefix: String,
    inbox: Inbox,
    stop: CancellationToken,
) {
    loop {
        let message = tokio::select! {
            _ = stop.cancelled() => return,
            message = messages.recv() => message,
        };
        match message {
            Ok(message) => {
                let (Some(channel), Some(payload)) = (
                    message.channel.strip_prefix(prefix.as_str()),
                    message.value.into_bytes(),
                ) else {
                    continue;
                };
                inbox.deliver(Delivery {
                    channel: channel.to_owned(),
                    payload,
                });
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                // Lost deliveries are in the store: the hub reconciles.
                tracing::warn!(
                    missed,
                    "deliveries dropped behind a slow reader; reconciling"
                );
                metrics().broker_inbox_overflows.inc_by(missed);
                inbox.lagged();
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// After every (re)connection of the subscriber: subscribe every channel again,
/// then move the reconnect counter on (the hub reconciles with the store).
pub(super) async fn restore_after_reconnects(
    subscriptions: Arc<Subscriptions>,
    mut reconnected: mpsc::UnboundedReceiver<()>,
    reconnects: watch::Sender<u64>,
    stop: CancellationToken,
) {
    let mut first = true;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            event = reconnected.recv() => if event.is_none() { return },
        }
        // Several events in a row (cluster nodes, retries) need one restore.
        while reconnected.try_recv().is_ok() {}
        subscriptions.restored.store(false, Ordering::Release);
        let channels = loop {
            match subscriptions.restore().await {
                Ok(channels) => break channels,
                Err(err) => {
                    tracing::warn!(cause = %err, "cannot restore Redis subscriptions; retrying");
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(RESTORE_RETRY) => {}
                    }
                }
            }
        };
        subscriptions.restored.store(true, Ordering::Release);
        if first {
            tracing::debug!(channels, "Redis subscriber connected");
        } else {
            tracing::info!(
                channels,
                "Redis reconnected: channels subscribed again, refilling from the store"
            );
        }
        if !first {
            metrics().broker_reconnects.inc();
        }
        first = false;
        // Also on the first connection: sockets may have come while Redis was
        // still out of reach.
        reconnects.send_modify(|n| *n += 1);
    }
}

/// Moves the reconnect counter on after every (re)connection of the publishing
/// connection: publishes that failed while it was down can be retried.
pub(super) async fn count_reconnects(
    events: broadcast::Receiver<fred::types::config::Server>,
    reconnects: watch::Sender<u64>,
    stop: CancellationToken,
) {
    on_each(events, stop, || {
        reconnects.send_modify(|n| *n += 1);
        true
    })
    .await
}

/// Keeps a PING in flight on the idle subscriber connection now and then, so
/// that a connection that went silent is noticed (fred's unresponsive check)
/// and replaced.
pub(super) async fn heartbeat(subscriber: fred::clients::Client, stop: CancellationToken) {
    let mut tick = tokio::time::interval(HEARTBEAT_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if subscriber.is_connected() {
            let _ = subscriber
                .with_options(&Options {
                    timeout: Some(UNRESPONSIVE_AFTER),
                    fail_fast: true,
                    ..Options::default()
                })
                .ping::<Value>(None)
                .await;
        }
    }
}

/// Logs a client's connection errors, at most once per [`ERROR_LOG_INTERVAL`]
/// while they repeat (every reconnect attempt fails while Redis is down).
pub(super) async fn log_connection_errors(
    mut errors: broadcast::Receiver<(fred::error::Error, Option<fred::types::config::Server>)>,
    client: &'static str,
    stop: CancellationToken,
) {
    let mut last: Option<tokio::time::Instant> = None;
    loop {
        let event = tokio::select! {
            _ = stop.cancelled() => return,
            event = errors.recv() => event,
        };
        match event {
            Ok((err, _)) => {
                if last.is_none_or(|at| at.elapsed() >= ERROR_LOG_INTERVAL) {
                    tracing::warn!(cause = %err, client, "Redis connection error; reconnecting");
                    last = Some(tokio::time::Instant::now());
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Forwards "it happened" for every event of a fred notification channel.
pub(super) async fn notify_on<T: Clone>(
    events: broadcast::Receiver<T>,
    notify: mpsc::UnboundedSender<()>,
    stop: CancellationToken,
) {
    on_each(events, stop, || notify.send(()).is_ok()).await
}

/// Runs `act` for every event of a fred notification channel (a lagged
/// receiver counts as one), until `act` says stop, the channel closes, or `stop`.
async fn on_each<T: Clone>(
    mut events: broadcast::Receiver<T>,
    stop: CancellationToken,
    mut act: impl FnMut() -> bool,
) {
    loop {
        let event = tokio::select! {
            _ = stop.cancelled() => return,
            event = events.recv() => event,
        };
        match event {
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                if !act() {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
