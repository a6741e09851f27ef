//! Publishes events on the broker, and publishes again what failed.
//!
//! A failed publish is logged, not returned: the store is the record, and every
//! node reconciles its sockets with it. But a failed publish of stored state (a
//! message, a ticket change, an agent's revocation) is also kept in a bounded
//! queue and published again once the broker reconnects, so other nodes get it
//! from the broker as soon as it is back rather than at their next
//! reconciliation (or credential sweep). Receivers drop seqs and ticket versions
//! they have passed, and a revocation is idempotent, so a late copy is harmless.

use super::control::ControlEvent;
use super::events::Event;
use crate::broker::{AGENTS_CHANNEL, Broker, CONTROL_CHANNEL, ticket_channel};
use crate::metrics::{metrics, timed};
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Failed publishes kept for a retry; past it the oldest are dropped (the
/// receivers' reconciliation still finds them in the store).
pub const RETRY_QUEUE: usize = 10_000;
/// How often the retry queue is tried even without a reconnect (a reconnect
/// could have happened between the failure and the queueing).
const RETRY_INTERVAL: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct Publisher {
    broker: Arc<dyn Broker>,
    /// Envelopes whose publish failed, oldest first, with their channel.
    retry: Arc<Mutex<VecDeque<(String, Bytes)>>>,
}

impl Publisher {
    /// The publisher, and its retry task, which ends with `stop`.
    pub fn start(
        broker: Arc<dyn Broker>,
        stop: CancellationToken,
    ) -> (Publisher, tokio::task::JoinHandle<()>) {
        let publisher = Publisher {
            broker,
            retry: Arc::new(Mutex::new(VecDeque::new())),
        };
        let task = tokio::spawn(publisher.clone().retry_after_reconnects(stop));
        (publisher, task)
    }

    pub fn broker(&self) -> &Arc<dyn Broker> {
        &self.broker
    }

    /// Publishes the event's envelope on its channels (the ticket's, the agents'
    /// feed) side by side: one round trip to the broker, not one per channel.
    pub async fn publish(&self, event: Event) {
        let routes = event.routes();
        let payload = event.encode();
        let channels = [
            routes.ticket.then(|| event.ticket_id().map(ticket_channel)),
            routes.feed.then(|| Some(AGENTS_CHANNEL.to_owned())),
        ];
        let durable = event.is_durable();
        let publishes = channels
            .into_iter()
            .flatten()
            .flatten()
            .map(|channel| self.publish_on(channel, payload.clone(), durable));
        futures_util::future::join_all(publishes).await;
    }

    /// Publishes a control event to every node. Control events are durable: a
    /// late copy of a revocation revokes nothing more than the first would have.
    pub async fn publish_control(&self, event: ControlEvent) {
        self.publish_on(CONTROL_CHANNEL.to_owned(), event.encode(), true)
            .await;
    }

    /// Publishes one envelope on one channel; a failed durable one is queued
    /// for a retry.
    async fn publish_on(&self, channel: String, payload: Bytes, durable: bool) {
        let published = timed(
            &metrics().broker_duration,
            "publish",
            self.broker.publish(&channel, payload.clone()),
        )
        .await;
        if let Err(err) = published {
            tracing::warn!(cause = %err, channel, "publish failed; other nodes reconcile with the store");
            if durable {
                self.queue_retry(channel, payload);
            }
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<(String, Bytes)>> {
        self.retry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn queue_retry(&self, channel: String, payload: Bytes) {
        let mut queue = self.queue();
        if queue.len() >= RETRY_QUEUE {
            queue.pop_front();
            metrics()
                .publish_retries
                .with_label_values(&["dropped"])
                .inc();
        }
        queue.push_back((channel, payload));
        metrics()
            .publish_retries
            .with_label_values(&["queued"])
            .inc();
    }

    /// How many failed publishes wait for a retry.
    pub fn pending(&self) -> usize {
        self.queue().len()
    }

    async fn retry_after_reconnects(self, stop: CancellationToken) {
        let mut reconnects = self.broker.reconnects();
        let mut tick = tokio::time::interval(RETRY_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                changed = reconnects.changed() => if changed.is_err() { return },
                _ = tick.tick() => {}
            }
            self.republish().await;
        }
    }

    /// Publishes the queue again in order; stops at the first failure, leaving
    /// the rest (and the failed one) for the next try.
    async fn republish(&self) {
        loop {
            let Some((channel, payload)) = self.queue().pop_front() else {
                return;
            };
            match self.broker.publish(&channel, payload.clone()).await {
                Ok(()) => metrics()
                    .publish_retries
                    .with_label_values(&["republished"])
                    .inc(),
                Err(_) => {
                    self.queue().push_front((channel, payload));
                    return;
                }
            }
        }
    }
}
