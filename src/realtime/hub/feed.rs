//! The dashboards' feed on this node, and how it recovers what it missed.
//!
//! Feed frames are not numbered like a ticket's messages; their position is the
//! ticket's `updated_at`, which moves with every stored message and change. The
//! node remembers, per ticket, the newest version it sent its dashboards (and
//! the newest message seq it noticed). Every reconciliation round it asks the
//! store which tickets changed in a recent window (the `updated_at` index, not a
//! scan) and sends the current ticket of each change it never saw, as
//! `ticket_created` or `ticket_updated`. When more changed than it can send one
//! by one, it sends `resync_required` and the dashboards reload their queue.
//! Ticket frames older than the version sent are dropped (a late retried
//! publish), and message notices already sent are dropped.

use crate::chat::events::Event;
use crate::domain::Ticket;
use crate::realtime::frame::{Frame, SocketHandle};
use crate::realtime::protocol::{QueueResyncData, ServerFrame};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How far back each check looks, before the end of the previous one: covers
/// clock differences between nodes (each stamps `updated_at` with its own).
pub const LOOKBACK: Duration = Duration::from_secs(10);
/// Changes younger than this are left to the next check: they are most likely
/// still on their way through the broker.
pub const GRACE: Duration = Duration::from_secs(1);
/// Most changes one check reads; a window with more is answered with
/// `resync_required`.
pub const CHECK_LIMIT: u32 = 1000;
/// Most tickets one check sends one by one; more missed means `resync_required`.
pub const MAX_RECOVERED: usize = 100;

/// What this node's dashboards were sent of one ticket.
#[derive(Debug, Clone, Copy)]
struct Mark {
    updated_at: DateTime<Utc>,
    /// Highest message seq noticed on the feed.
    seq: i64,
}

#[derive(Default)]
pub struct Feed {
    pub sockets: HashMap<u64, SocketHandle>,
    marks: HashMap<i64, Mark>,
    /// When this node's feed started: older changes came with the dashboards'
    /// own load of the queue.
    since: Option<DateTime<Utc>>,
    /// The end of the last successful check.
    checked_until: Option<DateTime<Utc>>,
    pub check_in_flight: bool,
}

/// What a check found.
#[derive(Debug, PartialEq)]
pub enum Missed {
    Nothing,
    /// These tickets changed without this node's dashboards hearing of it.
    Tickets(Vec<i64>),
    /// Too much changed: the dashboards must reload.
    Resync,
}

fn std(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl Feed {
    pub fn join(&mut self, socket: SocketHandle, now: DateTime<Utc>) {
        if self.sockets.is_empty() {
            self.since = Some(now);
            self.checked_until = Some(now);
            self.marks.clear();
        }
        self.sockets.insert(socket.id, socket);
    }

    /// True when the last socket left.
    pub fn leave(&mut self, socket_id: u64) -> bool {
        self.sockets.remove(&socket_id).is_some() && self.sockets.is_empty()
    }

    pub fn is_empty(&self) -> bool {
        self.sockets.is_empty()
    }

    /// Records a published event; false when the dashboards have it already or
    /// have something newer.
    pub fn admit(&mut self, event: &Event) -> bool {
        match event {
            Event::TicketCreated { ticket } | Event::TicketUpdated { ticket } => {
                self.mark(ticket.id, ticket.updated_at, None)
            }
            Event::Message { message } | Event::SupporterJoined { message, .. } => {
                self.mark(message.ticket_id, message.created_at, Some(message.seq))
            }
            // A notice of the moment, stored as the ticket's rating (which its
            // `ticket_updated` carries): nothing to order or catch up on.
            Event::RatingCreated { .. } => true,
            _ => false,
        }
    }

    /// Moves the ticket's mark on; false for a ticket version older than the
    /// mark, or a message seq already noticed.
    fn mark(&mut self, ticket_id: i64, at: DateTime<Utc>, seq: Option<i64>) -> bool {
        let mark = self.marks.entry(ticket_id).or_insert(Mark {
            updated_at: at,
            seq: 0,
        });
        let fresh = match seq {
            Some(seq) => seq > mark.seq,
            None => at >= mark.updated_at,
        };
        if fresh {
            mark.updated_at = mark.updated_at.max(at);
            if let Some(seq) = seq {
                mark.seq = seq;
            }
        }
        fresh
    }

    /// The window of `updated_at` the next check reads, or `None` when there
    /// are no dashboards here or a check is running.
    pub fn window(&self, now: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if self.sockets.is_empty() || self.check_in_flight {
            return None;
        }
        let since = self.since?;
        let until = now - std(GRACE);
        let after = (self.checked_until.unwrap_or(since) - std(LOOKBACK)).max(since);
        (until > after).then_some((after, until))
    }

    /// Compares a check's changes (`(id, updated_at)`, oldest first) with what
    /// was sent, and moves the checked window on.
    pub fn missed(&mut self, changes: &[(i64, DateTime<Utc>)], until: DateTime<Utc>) -> Missed {
        self.checked_until = Some(until);
        let since = self.since.unwrap_or(until);
        let mut missed: Vec<i64> = changes
            .iter()
            .filter(|(id, at)| *at > since && self.marks.get(id).is_none_or(|m| *at > m.updated_at))
            .map(|(id, _)| *id)
            .collect();
        missed.sort_unstable();
        missed.dedup();
        if changes.len() >= CHECK_LIMIT as usize || missed.len() > MAX_RECOVERED {
            // Everything in the window counts as sent: the dashboards reload.
            for (id, at) in changes {
                self.mark(*id, *at, None);
            }
            return Missed::Resync;
        }
        if missed.is_empty() {
            Missed::Nothing
        } else {
            Missed::Tickets(missed)
        }
    }

    /// The frames of missed tickets read from the store, marked as sent: a
    /// ticket the dashboards never heard of arrives as `ticket_created`.
    pub fn recovered(&mut self, tickets: &[Ticket]) -> Vec<Arc<Frame>> {
        let since = self.since;
        tickets
            .iter()
            .filter_map(|ticket| {
                let new = !self.marks.contains_key(&ticket.id)
                    && since.is_some_and(|since| ticket.created_at > since);
                if !self.mark(ticket.id, ticket.updated_at, None) {
                    return None;
                }
                let frame = if new {
                    ServerFrame::TicketCreated { ticket }
                } else {
                    ServerFrame::TicketUpdated { ticket }
                };
                Some(Arc::new(Frame::new(&frame)))
            })
            .collect()
    }

    pub fn resync_frame() -> Arc<Frame> {
        Arc::new(Frame::new(&ServerFrame::QueueResync {
            data: QueueResyncData { scope: "queue" },
        }))
    }

    /// Sends a frame to every dashboard here, dropping sockets that are gone.
    pub fn send(&mut self, frame: Arc<Frame>) {
        self.sockets.retain(|_, socket| socket.push(frame.clone()));
    }

    /// Forgets marks too old for any check window to reach again.
    pub fn forget_old(&mut self, now: DateTime<Utc>) {
        let horizon = now - std(LOOKBACK * 3);
        let checked = self.checked_until.unwrap_or(now);
        let horizon = horizon.min(checked - std(LOOKBACK * 2));
        self.marks.retain(|_, mark| mark.updated_at >= horizon);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Message, Priority, SenderType, TicketStatus};
    use tokio::sync::mpsc;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    fn ticket(id: i64, created: i64, updated: i64) -> Ticket {
        Ticket {
            id,
            session_id: format!("s{id}"),
            user_id: None,
            supporter_id: None,
            supporter_name: None,
            subject: "Order".into(),
            status: TicketStatus::Open,
            priority: Priority::Medium,
            user_email: None,
            user_name: "John".into(),
            created_at: at(created),
            updated_at: at(updated),
            closed_at: None,
            last_seq: 0,
            last_public_seq: 0,
            unread_count: 0,
            last_message_preview: None,
            waiting_since: None,
            labels: Vec::new(),
            rating: None,
        }
    }

    fn message(ticket_id: i64, seq: i64, when: i64) -> Message {
        Message {
            id: seq,
            ticket_id,
            seq,
            sender_type: SenderType::User,
            sender_id: None,
            sender_name: None,
            message: "hi".into(),
            is_read: false,
            created_at: at(when),
            client_msg_id: None,
            visibility: Default::default(),
            public_seq: Some(seq),
            attachments: Vec::new(),
        }
    }

    fn feed_started_at(seconds: i64) -> (Feed, mpsc::Receiver<Arc<Frame>>) {
        let (queue, rx) = mpsc::channel(16);
        let mut feed = Feed::default();
        feed.join(
            SocketHandle {
                id: 1,
                role: SenderType::Supporter,
                queue,
                closer: crate::realtime::frame::Closer::new(),
            },
            at(seconds),
        );
        (feed, rx)
    }

    #[test]
    fn a_late_copy_of_an_older_ticket_version_is_dropped() {
        let (mut feed, _rx) = feed_started_at(0);
        let newer = Event::TicketUpdated {
            ticket: ticket(1, 0, 20),
        };
        let older = Event::TicketUpdated {
            ticket: ticket(1, 0, 10),
        };
        assert!(feed.admit(&newer));
        assert!(!feed.admit(&older), "older than what was sent");
        assert!(feed.admit(&newer), "the same version again is harmless");
    }

    #[test]
    fn a_message_notice_is_sent_once() {
        let (mut feed, _rx) = feed_started_at(0);
        let notice = Event::Message {
            message: message(1, 3, 5),
        };
        assert!(feed.admit(&notice));
        assert!(!feed.admit(&notice));
        assert!(feed.admit(&Event::Message {
            message: message(1, 4, 6)
        }));
    }

    #[test]
    fn a_check_finds_only_changes_the_dashboards_did_not_hear_of() {
        let (mut feed, _rx) = feed_started_at(100);
        assert!(feed.admit(&Event::Message {
            message: message(1, 1, 105)
        }));
        let (after, until) = feed.window(at(108)).expect("a window");
        assert_eq!(after, at(100), "never before the feed started");
        assert_eq!(until, at(107));
        let changes = [(1, at(105)), (2, at(106)), (3, at(99))];
        assert_eq!(feed.missed(&changes, until), Missed::Tickets(vec![2]));
        let frames = feed.recovered(&[ticket(2, 106, 106)]);
        assert_eq!(frames.len(), 1);
        assert!(
            frames[0]
                .text
                .as_str()
                .starts_with(r#"{"type":"ticket_created""#)
        );
        // The next window overlaps this one by the lookback; nothing is sent twice.
        let (after, until) = feed.window(at(110)).expect("a window");
        assert_eq!(after, at(100).max(at(107) - std(LOOKBACK)));
        assert_eq!(feed.missed(&changes, until), Missed::Nothing);
        // A later change of a known ticket arrives as an update.
        assert_eq!(
            feed.missed(&[(1, at(109))], until),
            Missed::Tickets(vec![1])
        );
        let frames = feed.recovered(&[ticket(1, 90, 109)]);
        assert!(
            frames[0]
                .text
                .as_str()
                .starts_with(r#"{"type":"ticket_updated""#)
        );
    }

    #[test]
    fn too_many_missed_changes_ask_the_dashboards_to_reload_once() {
        let (mut feed, _rx) = feed_started_at(0);
        let changes: Vec<(i64, DateTime<Utc>)> = (1..=(MAX_RECOVERED as i64 + 1))
            .map(|id| (id, at(5)))
            .collect();
        assert_eq!(feed.missed(&changes, at(6)), Missed::Resync);
        assert_eq!(feed.missed(&changes, at(7)), Missed::Nothing);
    }

    #[test]
    fn no_window_without_dashboards_or_while_a_check_runs() {
        let (mut feed, _rx) = feed_started_at(0);
        feed.check_in_flight = true;
        assert!(feed.window(at(10)).is_none());
        feed.check_in_flight = false;
        assert!(feed.window(at(10)).is_some());
        assert!(feed.leave(1));
        assert!(feed.window(at(10)).is_none());
    }
}
