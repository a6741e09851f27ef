//! The dashboards' notices of new messages (docs/API.md, "The feed").
//!
//! A dashboard shows a ticket's row, not its conversation: the newest line,
//! how long the visitor waits, the unread count. So the feed does not carry
//! messages. The node that stores a message notes its ticket here; every
//! [`NOTICE_WINDOW`] the publisher takes what was noted, reads those tickets'
//! rows in one query, and publishes one [`Notice`] per ticket, on the channels
//! of the feeds that can see it (`feed:queue` for an unassigned ticket,
//! `feed:team` and `feed:agent:{id}` for an assigned one). At any message rate
//! that is two publishes a second per channel per node.
//!
//! The window is half a second: a queue row that moves twice a second is live
//! to the eye, and a ticket busier than that costs a dashboard one notice per
//! window however many messages it stores (a chat the agent has open comes on
//! the ticket's own socket, message by message).

use super::events::Notice;
use crate::broker::{FEED_QUEUE_CHANNEL, FEED_TEAM_CHANNEL, feed_agent_channel};
use crate::domain::{Message, SenderType};
use crate::store::TicketSummary;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::time::Duration;

/// How long a node gathers messages before it tells the dashboards.
pub const NOTICE_WINDOW: Duration = Duration::from_millis(500);

/// What one window stored of one ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Noted {
    /// The newest seq stored, and its message's time and sender.
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub sender_type: SenderType,
    pub visitor_messages: u32,
}

/// The tickets with new messages in the current window.
#[derive(Debug, Default)]
pub struct Pending {
    tickets: HashMap<i64, Noted>,
}

impl Pending {
    /// Notes a stored message: the window keeps the newest seq and counts the
    /// visitor's messages.
    pub fn note(&mut self, message: &Message) {
        let visitor = u32::from(message.sender_type == SenderType::User);
        let noted = Noted {
            seq: message.seq,
            at: message.created_at,
            sender_type: message.sender_type,
            visitor_messages: visitor,
        };
        self.tickets
            .entry(message.ticket_id)
            .and_modify(|held| {
                let visitor_messages = held.visitor_messages + visitor;
                if noted.seq > held.seq {
                    *held = noted;
                }
                held.visitor_messages = visitor_messages;
            })
            .or_insert(noted);
    }

    /// Takes the window's tickets, leaving the next window empty.
    pub fn take(&mut self) -> HashMap<i64, Noted> {
        std::mem::take(&mut self.tickets)
    }
}

/// The notices of a window, grouped by the channel each goes on, from the rows
/// of its tickets (a ticket that is gone has no notice).
pub fn route(window: &HashMap<i64, Noted>, rows: &[TicketSummary]) -> HashMap<String, Vec<Notice>> {
    let mut channels: HashMap<String, Vec<Notice>> = HashMap::new();
    for ticket in rows {
        let Some(noted) = window.get(&ticket.ticket_id) else {
            continue;
        };
        let notice = Notice {
            ticket_id: ticket.ticket_id,
            seq: noted.seq,
            at: noted.at,
            sender_type: noted.sender_type,
            visitor_messages: noted.visitor_messages,
            preview: ticket.last_message_preview.clone(),
            waiting_since: ticket.waiting_since,
            unread: ticket.unread_count,
        };
        match ticket.supporter_id {
            None => channels
                .entry(FEED_QUEUE_CHANNEL.to_owned())
                .or_default()
                .push(notice),
            Some(agent_id) => {
                channels
                    .entry(FEED_TEAM_CHANNEL.to_owned())
                    .or_default()
                    .push(notice.clone());
                channels
                    .entry(feed_agent_channel(agent_id))
                    .or_default()
                    .push(notice);
            }
        }
    }
    channels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    fn message(ticket_id: i64, seq: i64, sender_type: SenderType) -> Message {
        Message {
            id: seq,
            ticket_id,
            seq,
            sender_type,
            sender_id: None,
            sender_name: None,
            message: "a line".into(),
            is_read: false,
            created_at: at(seq),
            client_msg_id: None,
            visibility: Default::default(),
            public_seq: Some(seq),
            attachments: Vec::new(),
        }
    }

    fn ticket(id: i64, supporter_id: Option<i64>) -> TicketSummary {
        TicketSummary {
            ticket_id: id,
            supporter_id,
            unread_count: 4,
            last_message_preview: Some("the newest line".into()),
            waiting_since: Some(at(3)),
        }
    }

    #[test]
    fn a_window_keeps_each_tickets_newest_message_and_counts_the_visitors() {
        let mut pending = Pending::default();
        pending.note(&message(1, 3, SenderType::User));
        pending.note(&message(1, 5, SenderType::Supporter));
        // A late copy of an older message changes only the count.
        pending.note(&message(1, 4, SenderType::User));
        pending.note(&message(2, 7, SenderType::System));
        let window = pending.take();
        assert!(pending.take().is_empty(), "the next window starts empty");
        assert_eq!(
            window[&1],
            Noted {
                seq: 5,
                at: at(5),
                sender_type: SenderType::Supporter,
                visitor_messages: 2,
            }
        );
        assert_eq!(window[&2].visitor_messages, 0);
    }

    #[test]
    fn notices_go_where_the_ticket_can_be_seen() {
        let mut pending = Pending::default();
        pending.note(&message(1, 9, SenderType::User));
        pending.note(&message(2, 9, SenderType::User));
        pending.note(&message(3, 9, SenderType::User));
        let window = pending.take();
        // Ticket 3 is gone: no row, no notice.
        let channels = route(&window, &[ticket(1, None), ticket(2, Some(7))]);
        let ids =
            |channel: &str| -> Vec<i64> { channels[channel].iter().map(|n| n.ticket_id).collect() };
        assert_eq!(ids("feed:queue"), vec![1]);
        assert_eq!(ids("feed:team"), vec![2]);
        assert_eq!(ids("feed:agent:7"), vec![2]);
        assert_eq!(channels.len(), 3);
        let notice = &channels["feed:queue"][0];
        assert_eq!(
            *notice,
            Notice {
                ticket_id: 1,
                seq: 9,
                at: at(9),
                sender_type: SenderType::User,
                visitor_messages: 1,
                preview: Some("the newest line".into()),
                waiting_since: Some(at(3)),
                unread: 4,
            }
        );
    }
}
