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
//! publish).
//!
//! Routing (issue 20): each feed has a scope, `all` or `mine`. The node
//! subscribes `feed:queue` while it holds a feed, `feed:team` while one of its
//! feeds has scope `all`, and `feed:agent:{id}` while a feed of agent {id} has
//! scope `mine`; what arrives on a channel goes to the feeds it is for. The
//! check skips the tickets no feed here can see: those it knows to be assigned
//! to an agent without a `mine` feed, when no feed has scope `all`.

use crate::broker::{FEED_QUEUE_CHANNEL, FEED_TEAM_CHANNEL, feed_agent_channel, feed_agent_of};
use crate::chat::events::Event;
use crate::domain::Ticket;
use crate::realtime::frame::{Frame, SocketHandle};
use crate::realtime::protocol::{FeedScope, QueueResyncData, ServerFrame};
use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashMap};
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

/// A dashboard's socket, whose it is and what it carries.
pub struct FeedSocket {
    pub handle: SocketHandle,
    pub agent_id: i64,
    pub scope: FeedScope,
}

#[derive(Default)]
pub struct Feed {
    sockets: HashMap<u64, FeedSocket>,
    marks: HashMap<i64, Mark>,
    /// Who the tickets this node heard of are assigned to (ticket frames and
    /// recovered tickets): what the check needs to skip the ones no feed here
    /// sees.
    assignees: HashMap<i64, Option<i64>>,
    /// The feed channels this node is subscribed to.
    subscribed: BTreeSet<String>,
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
    pub fn join(&mut self, socket: FeedSocket, now: DateTime<Utc>) {
        if self.sockets.is_empty() {
            self.since = Some(now);
            self.checked_until = Some(now);
            self.marks.clear();
            self.assignees.clear();
        }
        self.sockets.insert(socket.handle.id, socket);
    }

    pub fn leave(&mut self, socket_id: u64) {
        self.sockets.remove(&socket_id);
    }

    pub fn set_scope(&mut self, socket_id: u64, scope: FeedScope) {
        if let Some(socket) = self.sockets.get_mut(&socket_id) {
            socket.scope = scope;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.sockets.is_empty()
    }

    /// The feed channels this node's feeds need.
    fn wanted(&self) -> BTreeSet<String> {
        let mut channels = BTreeSet::new();
        for socket in self.sockets.values() {
            channels.insert(FEED_QUEUE_CHANNEL.to_owned());
            channels.insert(match socket.scope {
                FeedScope::All => FEED_TEAM_CHANNEL.to_owned(),
                FeedScope::Mine => feed_agent_channel(socket.agent_id),
            });
        }
        channels
    }

    /// The subscription changes that make the node's feed channels what its
    /// feeds need (`true`: subscribe), taken as done.
    pub fn sync_channels(&mut self) -> Vec<(String, bool)> {
        let wanted = self.wanted();
        let changes: Vec<(String, bool)> = self
            .subscribed
            .difference(&wanted)
            .map(|c| (c.clone(), false))
            .chain(
                wanted
                    .difference(&self.subscribed)
                    .map(|c| (c.clone(), true)),
            )
            .collect();
        self.subscribed = wanted;
        changes
    }

    /// Records a published event; false when the dashboards have it already or
    /// have something newer. Notices always go out (each carries the ticket's
    /// row as it was; clients keep the highest seq), and move the marks on.
    pub fn admit(&mut self, event: &Event) -> bool {
        match event {
            Event::TicketCreated { ticket } | Event::TicketUpdated { ticket } => {
                self.assignees.insert(ticket.id, ticket.supporter_id);
                self.mark(ticket.id, ticket.updated_at, None)
            }
            Event::Notices { notices } => {
                for notice in notices {
                    self.mark(notice.ticket_id, notice.at, Some(notice.seq));
                }
                true
            }
            // A notice of the moment, stored as the ticket's rating (which its
            // `ticket_updated` carries): nothing to order or catch up on.
            Event::RatingCreated { .. } => true,
            _ => false,
        }
    }

    /// Whether a feed here can see the ticket's notices.
    fn can_see(&self, ticket_id: i64) -> bool {
        match self.assignees.get(&ticket_id) {
            Some(Some(agent_id)) => self.sockets.values().any(|s| match s.scope {
                FeedScope::All => true,
                FeedScope::Mine => s.agent_id == *agent_id,
            }),
            // Unassigned, or not known yet: every feed sees the queue.
            _ => true,
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
            .filter(|(id, _)| self.can_see(*id))
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
                self.assignees.insert(ticket.id, ticket.supporter_id);
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
        self.sockets
            .retain(|_, socket| socket.handle.push(frame.clone()));
    }

    /// Sends what arrived on a feed channel to the feeds it is for.
    pub fn send_on(&mut self, channel: &str, frame: Arc<Frame>) {
        let agent = feed_agent_of(channel);
        let team = channel == FEED_TEAM_CHANNEL;
        self.sockets.retain(|_, socket| {
            let for_it = match (agent, socket.scope) {
                (Some(agent_id), scope) => scope == FeedScope::Mine && socket.agent_id == agent_id,
                (None, FeedScope::All) => true,
                (None, FeedScope::Mine) => !team,
            };
            !for_it || socket.handle.push(frame.clone())
        });
    }

    /// Forgets marks too old for any check window to reach again.
    pub fn forget_old(&mut self, now: DateTime<Utc>) {
        let horizon = now - std(LOOKBACK * 3);
        let checked = self.checked_until.unwrap_or(now);
        let horizon = horizon.min(checked - std(LOOKBACK * 2));
        self.marks.retain(|_, mark| mark.updated_at >= horizon);
        let marks = &self.marks;
        self.assignees.retain(|id, _| marks.contains_key(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::events::Notice;
    use crate::domain::{Priority, SenderType, TicketStatus};
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

    fn feed_started_at(seconds: i64) -> (Feed, mpsc::Receiver<Arc<Frame>>) {
        let (queue, rx) = mpsc::channel(16);
        let mut feed = Feed::default();
        feed.join(feed_socket(1, 7, FeedScope::All, queue), at(seconds));
        (feed, rx)
    }

    fn feed_socket(
        id: u64,
        agent_id: i64,
        scope: FeedScope,
        queue: mpsc::Sender<Arc<Frame>>,
    ) -> FeedSocket {
        FeedSocket {
            handle: SocketHandle {
                id,
                role: SenderType::Supporter,
                queue,
                closer: crate::realtime::frame::Closer::new(),
            },
            agent_id,
            scope,
        }
    }

    fn notice(ticket_id: i64, seq: i64, when: i64) -> Event {
        Event::Notices {
            notices: vec![Notice {
                ticket_id,
                seq,
                at: at(when),
                sender_type: SenderType::User,
                visitor_messages: 1,
                preview: None,
                waiting_since: None,
                unread: 1,
            }],
        }
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
    fn notices_always_go_out_and_count_as_heard_of() {
        let (mut feed, _rx) = feed_started_at(0);
        assert!(feed.admit(&notice(1, 3, 5)));
        assert!(feed.admit(&notice(1, 3, 5)), "a copy is harmless");
        assert_eq!(feed.missed(&[(1, at(5))], at(6)), Missed::Nothing);
    }

    #[test]
    fn channels_follow_the_feeds_and_their_scopes() {
        let (queue, mut rx_all) = mpsc::channel(16);
        let (mine, mut rx_mine) = mpsc::channel(16);
        let mut feed = Feed::default();
        feed.join(feed_socket(1, 7, FeedScope::All, queue), at(0));
        feed.join(feed_socket(2, 8, FeedScope::Mine, mine), at(0));
        let mut changes = feed.sync_channels();
        changes.sort();
        assert_eq!(
            changes,
            vec![
                ("feed:agent:8".to_owned(), true),
                ("feed:queue".to_owned(), true),
                ("feed:team".to_owned(), true),
            ]
        );
        assert!(feed.sync_channels().is_empty(), "nothing changed since");

        let frame = |text: &str| {
            Arc::new(Frame::new(&ServerFrame::Error {
                error: crate::error::ApiError::validation("x", text).body(),
                client_msg_id: None,
            }))
        };
        feed.send_on("feed:team", frame("team"));
        feed.send_on("feed:agent:8", frame("eight"));
        feed.send_on("feed:agent:7", frame("seven"));
        feed.send_on("feed:queue", frame("queue"));
        let texts = |rx: &mut mpsc::Receiver<Arc<Frame>>| {
            let mut seen = Vec::new();
            while let Ok(f) = rx.try_recv() {
                let text = f.text.as_str();
                seen.push(
                    ["team", "eight", "seven", "queue"]
                        .into_iter()
                        .find(|t| text.contains(t))
                        .unwrap(),
                );
            }
            seen
        };
        assert_eq!(texts(&mut rx_all), vec!["team", "queue"]);
        assert_eq!(texts(&mut rx_mine), vec!["eight", "queue"]);

        // The team's feed goes mine: no feed needs the team's channel any more.
        feed.set_scope(1, FeedScope::Mine);
        let mut changes = feed.sync_channels();
        changes.sort();
        assert_eq!(
            changes,
            vec![
                ("feed:agent:7".to_owned(), true),
                ("feed:team".to_owned(), false)
            ]
        );
        feed.leave(1);
        feed.leave(2);
        let mut changes = feed.sync_channels();
        changes.sort();
        assert_eq!(changes.len(), 3);
        assert!(changes.iter().all(|(_, on)| !on));
    }

    #[test]
    fn with_only_mine_feeds_the_check_skips_tickets_of_other_agents() {
        let (queue, _rx) = mpsc::channel(16);
        let mut feed = Feed::default();
        feed.join(feed_socket(1, 7, FeedScope::Mine, queue), at(0));
        let mut theirs = ticket(1, 0, 2);
        theirs.supporter_id = Some(8);
        let mut mine = ticket(2, 0, 2);
        mine.supporter_id = Some(7);
        assert!(feed.admit(&Event::TicketUpdated { ticket: theirs }));
        assert!(feed.admit(&Event::TicketUpdated { ticket: mine }));
        // Both moved on (messages whose notices went elsewhere), and an unknown one.
        let changes = [(1, at(5)), (2, at(5)), (3, at(5))];
        assert_eq!(feed.missed(&changes, at(6)), Missed::Tickets(vec![2, 3]));
    }

    #[test]
    fn a_check_finds_only_changes_the_dashboards_did_not_hear_of() {
        let (mut feed, _rx) = feed_started_at(100);
        assert!(feed.admit(&notice(1, 1, 105)));
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
        feed.leave(1);
        assert!(feed.is_empty());
        assert!(feed.window(at(10)).is_none());
    }
}
