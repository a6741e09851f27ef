//! How the hub catches up with the store without waiting for a later message:
//! reconciliation (which tickets are behind the store), the bounded pool of
//! refills (reading the missing seqs, with retries), and the feed's check for
//! changes its dashboards missed.

use super::feed::{CHECK_LIMIT, Feed, Missed};
use super::{Command, HubState, MAX_REFILL, live_frames};
use crate::domain::{Message, SenderType, Ticket};
use crate::metrics::metrics;
use crate::store::{MAX_IDS_PER_QUERY, MessageRange};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Refills from the store running at once; more wait their turn, so that a node
/// with thousands of tickets behind (after a Redis outage) does not stampede the
/// database.
pub const REFILL_CONCURRENCY: usize = 8;
/// A failed refill is tried this many times in all, with pauses doubling from
/// [`REFILL_RETRY_FIRST`], before the ticket's sockets are closed (1013) to
/// resume from the store by themselves.
pub const REFILL_ATTEMPTS: u32 = 5;
const REFILL_RETRY_FIRST: Duration = Duration::from_millis(250);
/// A ticket a reconciliation found behind gets this long to show progress (its
/// messages may be on their way through the broker, or the hub busy) before it
/// is refilled. A ticket whose stream moved meanwhile is flowing, not stuck, and
/// is left alone: refilling a busy node's every ticket would only add to its load.
pub const BEHIND_GRACE: Duration = Duration::from_millis(300);

/// What a reconciliation saw of a ticket behind the store.
#[derive(Debug, Clone, Copy)]
pub(super) struct Behind {
    /// The stored `last_seq`.
    pub(super) stored: i64,
    /// What the hub had delivered then.
    pub(super) delivered: i64,
}

/// Where a ticket's refill is.
#[derive(Debug, Default)]
pub(super) struct RefillState {
    /// Asked for: waiting for a slot, running, or waiting to be retried.
    pub(super) queued: bool,
    pub(super) running: bool,
    /// Asked for again while running: the running one may have read the store
    /// before the newest messages were stored.
    pub(super) again: bool,
    /// Failures in a row.
    pub(super) failures: u32,
}

/// What a refill read: the messages after what was delivered (complete: none
/// beyond [`MAX_REFILL`]) and, when they include system notes, the ticket as it
/// is now. `Err` when the store did not answer.
pub(super) type RefillOutcome = Result<(Vec<Message>, bool, Option<Box<Ticket>>), ()>;

impl HubState {
    /// Asks for a refill of a ticket from what it delivered up to the store's end.
    pub(super) fn request_refill(&mut self, ticket_id: i64) {
        let Some(fanout) = self.tickets.get_mut(&ticket_id) else {
            return;
        };
        if fanout.stream.delivered().is_none() {
            return;
        }
        if fanout.refill.queued {
            fanout.refill.again |= fanout.refill.running;
            return;
        }
        fanout.refill.queued = true;
        self.refill_queue.push_back((ticket_id, fanout.generation));
        self.pump_refills();
    }

    /// Starts queued refills while the pool has room.
    fn pump_refills(&mut self) {
        while self.refills_running < REFILL_CONCURRENCY {
            let Some((ticket_id, generation)) = self.refill_queue.pop_front() else {
                break;
            };
            let Some(fanout) = self.fanout(ticket_id, generation) else {
                continue;
            };
            let Some(after) = fanout.stream.delivered() else {
                fanout.refill.queued = false;
                continue;
            };
            fanout.refill.running = true;
            self.refills_running += 1;
            metrics().gap_refills.inc();
            tracing::debug!(ticket_id, after, "refilling from the store");
            let store = self.store.clone();
            let commands = self.commands.clone();
            tokio::spawn(async move {
                let range = MessageRange {
                    after_seq: after,
                    before_seq: None,
                    limit: MAX_REFILL,
                };
                let outcome = match store.messages(ticket_id, range).await {
                    Ok(slice) => {
                        let notes = slice
                            .messages
                            .iter()
                            .any(|m| m.sender_type == SenderType::System);
                        let ticket = if notes {
                            store
                                .ticket_by_id(ticket_id, SenderType::Supporter)
                                .await
                                .ok()
                                .map(Box::new)
                        } else {
                            None
                        };
                        Ok((slice.messages, !slice.has_more, ticket))
                    }
                    Err(err) => {
                        tracing::warn!(cause = %err, ticket_id, "refill failed");
                        Err(())
                    }
                };
                let _ = commands.send(Command::Refilled {
                    ticket_id,
                    generation,
                    outcome,
                });
            });
        }
        metrics().refills_queued.set(self.refill_queue.len() as i64);
    }

    pub(super) fn refilled(&mut self, ticket_id: i64, generation: u64, outcome: RefillOutcome) {
        self.refills_running = self.refills_running.saturating_sub(1);
        if let Some(fanout) = self.fanout(ticket_id, generation) {
            fanout.refill.running = false;
            match outcome {
                Ok((messages, true, ticket)) => {
                    fanout.refill.queued = false;
                    fanout.refill.failures = 0;
                    let mut ready = Vec::new();
                    for (seq, frame) in live_frames(&messages) {
                        ready.extend(fanout.stream.offer(seq, frame));
                    }
                    let again = std::mem::take(&mut fanout.refill.again);
                    self.send_ready(ticket_id, ready);
                    if let Some(ticket) = ticket {
                        self.send_ticket(&ticket);
                    }
                    if again {
                        self.request_refill(ticket_id);
                    }
                }
                Ok((_, false, _)) => {
                    // More is missing than a refill reads: the sockets resume on
                    // their own (with `since`, then REST).
                    metrics().resyncs.inc();
                    self.close_ticket(ticket_id, 1013);
                }
                Err(()) => {
                    fanout.refill.failures += 1;
                    if fanout.refill.failures >= REFILL_ATTEMPTS {
                        metrics().resyncs.inc();
                        tracing::warn!(
                            ticket_id,
                            "refills keep failing: closing the ticket's sockets"
                        );
                        self.close_ticket(ticket_id, 1013);
                    } else {
                        metrics().refill_retries.inc();
                        let pause = REFILL_RETRY_FIRST * 2u32.pow(fanout.refill.failures - 1);
                        let commands = self.commands.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(pause).await;
                            let _ = commands.send(Command::RetryRefill {
                                ticket_id,
                                generation,
                            });
                        });
                    }
                }
            }
        }
        self.pump_refills();
    }

    pub(super) fn retry_refill(&mut self, ticket_id: i64, generation: u64) {
        let Some(fanout) = self.fanout(ticket_id, generation) else {
            return;
        };
        if fanout.refill.queued && !fanout.refill.running {
            self.refill_queue.push_back((ticket_id, generation));
            self.pump_refills();
        }
    }

    /// Reads the stored `last_seq` of every ticket with a started stream, one
    /// query per [`MAX_IDS_PER_QUERY`] tickets, in a helper task.
    pub(super) fn reconcile(&mut self, trigger: &'static str) {
        if self.reconcile_in_flight {
            self.reconcile_again.get_or_insert(trigger);
            return;
        }
        let ids: Vec<i64> = self
            .tickets
            .iter()
            .filter(|(_, f)| f.stream.delivered().is_some())
            .map(|(id, _)| *id)
            .collect();
        if ids.is_empty() {
            return;
        }
        if trigger == "reconnect" {
            metrics().broker_resubscriptions.inc_by(ids.len() as u64);
        }
        metrics()
            .reconciliations
            .with_label_values(&[trigger])
            .inc();
        self.reconcile_in_flight = true;
        let store = self.store.clone();
        let commands = self.commands.clone();
        tokio::spawn(async move {
            let mut positions = Vec::with_capacity(ids.len());
            for chunk in ids.chunks(MAX_IDS_PER_QUERY) {
                match store.last_seqs(chunk).await {
                    Ok(found) => positions.extend(found),
                    Err(err) => {
                        tracing::warn!(cause = %err, "reconciliation failed; trying again next round");
                        let _ = commands.send(Command::Reconciled { positions: None });
                        return;
                    }
                }
            }
            let _ = commands.send(Command::Reconciled {
                positions: Some(positions),
            });
        });
    }

    pub(super) fn reconciled(&mut self, positions: Option<Vec<(i64, i64)>>) {
        self.reconcile_in_flight = false;
        let mut behind = Vec::new();
        for (ticket_id, last_seq) in positions.unwrap_or_default() {
            if let Some(fanout) = self.tickets.get_mut(&ticket_id)
                && fanout.stream.is_behind(last_seq)
                && fanout.behind.is_none()
            {
                let delivered = fanout.stream.delivered().unwrap_or(0);
                fanout.behind = Some(Behind {
                    stored: last_seq,
                    delivered,
                });
                behind.push((ticket_id, fanout.generation));
            }
        }
        if !behind.is_empty() {
            let commands = self.commands.clone();
            tokio::spawn(async move {
                tokio::time::sleep(BEHIND_GRACE).await;
                let _ = commands.send(Command::CheckBehind { tickets: behind });
            });
        }
        if let Some(trigger) = self.reconcile_again.take() {
            self.reconcile(trigger);
        }
    }

    /// Refills the tickets still stuck behind what a reconciliation saw stored.
    pub(super) fn check_behind(&mut self, tickets: Vec<(i64, u64)>) {
        for (ticket_id, generation) in tickets {
            let Some(fanout) = self.fanout(ticket_id, generation) else {
                continue;
            };
            let Some(seen) = fanout.behind.take() else {
                continue;
            };
            let stuck = fanout.stream.delivered() == Some(seen.delivered);
            if stuck && fanout.stream.is_behind(seen.stored) {
                metrics().reconcile_behind.inc();
                self.request_refill(ticket_id);
            }
        }
    }

    /// Asks the store which tickets changed in the feed's next window.
    pub(super) fn check_feed(&mut self) {
        let now = Utc::now();
        self.feed.forget_old(now);
        let Some((after, until)) = self.feed.window(now) else {
            return;
        };
        self.feed.check_in_flight = true;
        let store = self.store.clone();
        let commands = self.commands.clone();
        tokio::spawn(async move {
            let changes = match store.changed_tickets(after, until, CHECK_LIMIT).await {
                Ok(changes) => Some(changes),
                Err(err) => {
                    tracing::warn!(cause = %err, "feed check failed; trying again next round");
                    None
                }
            };
            let _ = commands.send(Command::FeedChanged { until, changes });
        });
    }

    pub(super) fn feed_changed(
        &mut self,
        until: DateTime<Utc>,
        changes: Option<Vec<(i64, DateTime<Utc>)>>,
    ) {
        let Some(changes) = changes else {
            self.feed.check_in_flight = false;
            return;
        };
        match self.feed.missed(&changes, until) {
            Missed::Nothing => self.feed.check_in_flight = false,
            Missed::Resync => {
                self.feed.check_in_flight = false;
                self.feed_resync();
            }
            Missed::Tickets(ids) => {
                let store = self.store.clone();
                let commands = self.commands.clone();
                tokio::spawn(async move {
                    let tickets = match store.tickets_by_ids(&ids, SenderType::Supporter).await {
                        Ok(tickets) => Some(tickets),
                        Err(err) => {
                            tracing::warn!(cause = %err, "cannot read the tickets the feed missed");
                            None
                        }
                    };
                    let _ = commands.send(Command::FeedRecovered { tickets });
                });
            }
        }
    }

    pub(super) fn feed_recovered(&mut self, tickets: Option<Vec<Ticket>>) {
        self.feed.check_in_flight = false;
        let Some(tickets) = tickets else {
            // The window has moved on: the dashboards reload instead.
            self.feed_resync();
            return;
        };
        let frames = self.feed.recovered(&tickets);
        metrics()
            .feed_recoveries
            .with_label_values(&["ticket"])
            .inc_by(frames.len() as u64);
        for frame in frames {
            self.feed.send(frame);
        }
    }

    fn feed_resync(&mut self) {
        metrics()
            .feed_recoveries
            .with_label_values(&["resync"])
            .inc();
        self.feed.send(Feed::resync_frame());
    }
}
