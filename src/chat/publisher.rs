//! Publishes events on the broker, and publishes again what failed.
//!
//! A failed publish is logged, not returned: the store is the record, and every
//! node reconciles its sockets with it. But a failed publish of stored state (a
//! message, a ticket change, an agent's revocation) is also kept in a bounded
//! queue and published again once the broker reconnects, so other nodes get it
//! from the broker as soon as it is back rather than at their next
//! reconciliation (or credential sweep). Receivers drop seqs and ticket versions
//! they have passed, and a revocation is idempotent, so a late copy is harmless.
//!
//! Stored messages reach the dashboards as notices (`chat::notices`): the
//! publisher notes them and its notice task publishes each window's notices.
//! A failed notice publish is not retried: the feeds' recovery finds the
//! ticket's change in the store. While no dashboard is open anywhere, the
//! windows are dropped unread.

use super::control::ControlEvent;
use super::events::Event;
use super::notices::{self, NOTICE_WINDOW, Pending};
use crate::broker::{Broker, CONTROL_CHANNEL, FEED_QUEUE_CHANNEL, ticket_channel};
use crate::metrics::{metrics, timed};
use crate::store::{MAX_IDS_PER_QUERY, Store};
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
    /// The tickets with messages stored in the current notice window.
    pending: Arc<Mutex<Pending>>,
}

impl Publisher {
    /// The publisher, and its task (retries and notices), which ends with
    /// `stop`. The store gives the notices their tickets' rows.
    pub fn start(
        broker: Arc<dyn Broker>,
        store: Arc<dyn Store>,
        stop: CancellationToken,
    ) -> (Publisher, tokio::task::JoinHandle<()>) {
        let publisher = Publisher {
            broker,
            retry: Arc::new(Mutex::new(VecDeque::new())),
            pending: Arc::new(Mutex::new(Pending::default())),
        };
        let retries = tokio::spawn(publisher.clone().retry_after_reconnects(stop.clone()));
        let notices = tokio::spawn(publisher.clone().publish_notices(store, stop));
        let task = tokio::spawn(async move {
            let _ = tokio::join!(retries, notices);
        });
        (publisher, task)
    }

    pub fn broker(&self) -> &Arc<dyn Broker> {
        &self.broker
    }

    /// Publishes the event's envelope on its channels (the ticket's,
    /// `feed:queue`) side by side: one round trip to the broker, not one per
    /// channel. A stored message goes to the dashboards as a notice, later.
    pub async fn publish(&self, event: Event) {
        let routes = event.routes();
        let payload = event.encode();
        let noticed = match &event {
            Event::Message { message } | Event::SupporterJoined { message, .. } => {
                self.noted().note(message);
                true
            }
            _ => false,
        };
        let channels = [
            routes.ticket.then(|| event.ticket_id().map(ticket_channel)),
            (routes.feed && !noticed).then(|| Some(FEED_QUEUE_CHANNEL.to_owned())),
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

    fn noted(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every [`NOTICE_WINDOW`]: reads the rows of the tickets noted in the
    /// window and publishes their notices, each channel's in one envelope.
    async fn publish_notices(self, store: Arc<dyn Store>, stop: CancellationToken) {
        let mut tick = tokio::time::interval(NOTICE_WINDOW);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Warn once per outage, not every window.
        let mut store_failing = false;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let window = self.noted().take();
            if window.is_empty() || !self.dashboards_listen().await {
                continue;
            }
            let ids: Vec<i64> = window.keys().copied().collect();
            let mut rows = Vec::with_capacity(ids.len());
            let mut failed = None;
            for chunk in ids.chunks(MAX_IDS_PER_QUERY) {
                match store.ticket_summaries(chunk).await {
                    Ok(found) => rows.extend(found),
                    Err(err) => {
                        failed = Some(err);
                        break;
                    }
                }
            }
            if let Some(err) = failed {
                // Dropped: those tickets' `updated_at` moved, so the feeds'
                // recovery sends them as `ticket_updated` within seconds.
                if !store_failing {
                    tracing::warn!(cause = %err, tickets = ids.len(), "cannot read the tickets of a notice window; the feeds' recovery covers them");
                }
                store_failing = true;
                continue;
            }
            store_failing = false;
            let publishes = notices::route(&window, &rows)
                .into_iter()
                .map(|(channel, notices)| {
                    let payload = Event::Notices { notices }.encode();
                    self.publish_on(channel, payload, false)
                });
            futures_util::future::join_all(publishes).await;
        }
    }

    /// Whether a dashboard is open anywhere: every feed listens to
    /// `feed:queue`. Without one a window's notices would reach nobody, so its
    /// rows are not read (a dashboard that opens later loads the queue). When
    /// the broker cannot tell, the notices are sent: a failed publish still
    /// reaches this node's own dashboards.
    async fn dashboards_listen(&self) -> bool {
        self.broker
            .listened(FEED_QUEUE_CHANNEL)
            .await
            .unwrap_or(true)
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
