//! What the chat layer publishes after it stored something, and the versioned
//! envelope it travels in between nodes.
//!
//! The envelope carries the event itself, not a WebSocket frame: each node that
//! receives it renders the frames its own sockets need (`realtime::frame`), so
//! the wire protocol can change without touching what nodes send each other.
//! The envelope is one JSON object, serialised once per event and sent as is to
//! both of its channels:
//!
//! ```text
//! {"v":1,"ticket_id":45,"seq":7,"event":{"type":"message","message":{…}}}
//! ```
//!
//! `v` is [`ENVELOPE_VERSION`]. During a rolling deploy nodes of two versions
//! read each other: unknown fields are ignored, an event type this node does not
//! know (or cannot read) still tells it the ticket and seq, so a stored message
//! is read from the store instead, and the unversioned envelope of earlier
//! releases (a header line, then the frame) is read the same way.

use crate::domain::visitor::VisitedPage;
use crate::domain::{Message, Rating, SenderType, Ticket};
use crate::store::Presence;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The version of the envelope this node writes.
pub const ENVELOPE_VERSION: u32 = 1;

/// Something that happened to a ticket, after it was stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    TicketCreated {
        ticket: Ticket,
    },
    TicketUpdated {
        ticket: Ticket,
    },
    /// A stored message: chat or system note.
    Message {
        message: Message,
    },
    /// The system note of an agent joining, announced with who joined.
    SupporterJoined {
        message: Message,
        supporter_id: i64,
        supporter_name: String,
    },
    Typing {
        ticket_id: i64,
        sender_type: SenderType,
        sender_name: String,
        is_typing: bool,
    },
    Read {
        ticket_id: i64,
        reader_type: SenderType,
        /// The mark in `seq`, the agents' numbering.
        up_to_seq: i64,
        /// The mark in the visitor's numbering (absent from an older node's
        /// event: it then equals `up_to_seq`, as before migration 0006).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        up_to_public_seq: Option<i64>,
    },
    Presence {
        ticket_id: i64,
        presence: Presence,
    },
    /// The page the ticket's visitor is on now (stored as context, never as a
    /// message): for the ticket's agent sockets only.
    Page {
        ticket_id: i64,
        page: VisitedPage,
    },
    /// A visitor rated the conversation (issue 18): the dashboards' notice,
    /// after the `TicketUpdated` that carries the rating; the webhooks'
    /// `rating.created`.
    RatingCreated {
        ticket_id: i64,
        rating: Rating,
    },
    /// New messages of some tickets, for the dashboards' feed: one notice per
    /// ticket for what one node stored in one window (`chat::notices`).
    Notices {
        notices: Vec<Notice>,
    },
    /// An event of a newer release that this node does not know.
    #[serde(other)]
    Unknown,
}

/// What a dashboard shows of a ticket's new messages (docs/API.md, "The feed"):
/// never their text, only the ticket's row after them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub ticket_id: i64,
    /// The newest message seq the notice covers.
    pub seq: i64,
    /// When that message was stored.
    pub at: DateTime<Utc>,
    /// Who wrote that message.
    pub sender_type: SenderType,
    /// How many of the covered messages are the visitor's.
    pub visitor_messages: u32,
    pub preview: Option<String>,
    pub waiting_since: Option<DateTime<Utc>>,
    pub unread: i64,
}

/// Where an event goes: its ticket's channel, the dashboards' feed (for a
/// stored message: a notice), or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Routes {
    pub ticket: bool,
    pub feed: bool,
}

impl Event {
    pub fn ticket_id(&self) -> Option<i64> {
        match self {
            Event::TicketCreated { ticket } | Event::TicketUpdated { ticket } => Some(ticket.id),
            Event::Message { message } | Event::SupporterJoined { message, .. } => {
                Some(message.ticket_id)
            }
            Event::Typing { ticket_id, .. }
            | Event::Read { ticket_id, .. }
            | Event::Presence { ticket_id, .. }
            | Event::Page { ticket_id, .. }
            | Event::RatingCreated { ticket_id, .. } => Some(*ticket_id),
            Event::Notices { .. } | Event::Unknown => None,
        }
    }

    /// The seq of a stored message: what the hub orders and de-duplicates by.
    pub fn seq(&self) -> Option<i64> {
        match self {
            Event::Message { message } | Event::SupporterJoined { message, .. } => {
                Some(message.seq)
            }
            _ => None,
        }
    }

    /// Where the event goes. A stored message's `feed` route is a notice: the
    /// publisher gathers them (`chat::notices`) instead of sending messages to
    /// the dashboards; the other feed events go on `feed:queue`.
    pub fn routes(&self) -> Routes {
        match self {
            Event::TicketCreated { .. } | Event::RatingCreated { .. } | Event::Notices { .. } => {
                Routes {
                    ticket: false,
                    feed: true,
                }
            }
            Event::TicketUpdated { .. } | Event::Message { .. } | Event::SupporterJoined { .. } => {
                Routes {
                    ticket: true,
                    feed: true,
                }
            }
            Event::Typing { .. }
            | Event::Read { .. }
            | Event::Presence { .. }
            | Event::Page { .. } => Routes {
                ticket: true,
                feed: false,
            },
            Event::Unknown => Routes {
                ticket: false,
                feed: false,
            },
        }
    }

    /// Worth publishing again after a failed publish: stored state, which a late
    /// copy cannot roll back (receivers drop seqs and ticket versions they have
    /// passed). Typing, read receipts, presence and pages are of the moment: a late copy
    /// would show something no longer true.
    pub fn is_durable(&self) -> bool {
        matches!(
            self,
            Event::TicketCreated { .. }
                | Event::TicketUpdated { .. }
                | Event::Message { .. }
                | Event::SupporterJoined { .. }
        )
    }

    /// The envelope of this event, serialised once for every channel it goes to.
    pub fn encode(&self) -> Bytes {
        #[derive(Serialize)]
        struct Out<'a> {
            v: u32,
            ticket_id: i64,
            #[serde(skip_serializing_if = "Option::is_none")]
            seq: Option<i64>,
            event: &'a Event,
        }
        let out = Out {
            v: ENVELOPE_VERSION,
            ticket_id: self.ticket_id().unwrap_or(0),
            seq: self.seq(),
            event: self,
        };
        // Plain structs with string keys: serialising cannot fail.
        Bytes::from(serde_json::to_vec(&out).unwrap_or_default())
    }
}

/// A received envelope.
// Returned and matched at once, never stored: boxing the event would only add an
// allocation per delivery.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    Event(Event),
    /// The event could not be read (a newer or older release's), but its ticket
    /// and seq could: a stored message is then read from the store.
    Marker {
        ticket_id: i64,
        seq: Option<i64>,
    },
}

impl Decoded {
    /// Reads an envelope of any version; `None` for bytes that are no envelope.
    pub fn decode(payload: &[u8]) -> Option<Decoded> {
        #[derive(Deserialize)]
        struct Header {
            ticket_id: i64,
            #[serde(default)]
            seq: Option<i64>,
        }
        #[derive(Deserialize)]
        struct In {
            event: Event,
        }
        // The unversioned envelope of earlier releases: a header line, a frame.
        if let Some(split) = payload.iter().position(|b| *b == b'\n') {
            let header: Header = serde_json::from_slice(&payload[..split]).ok()?;
            return Some(Decoded::Marker {
                ticket_id: header.ticket_id,
                seq: header.seq,
            });
        }
        match serde_json::from_slice::<In>(payload) {
            Ok(In {
                event: Event::Unknown,
            })
            | Err(_) => {
                let header: Header = serde_json::from_slice(payload).ok()?;
                Some(Decoded::Marker {
                    ticket_id: header.ticket_id,
                    seq: header.seq,
                })
            }
            Ok(In { event }) => Some(Decoded::Event(event)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn message(seq: i64, text: &str) -> Message {
        Message {
            id: 1,
            ticket_id: 45,
            seq,
            sender_type: SenderType::User,
            sender_id: None,
            sender_name: Some("John".into()),
            message: text.into(),
            is_read: false,
            created_at: Utc::now(),
            client_msg_id: Some("k1".into()),
            visibility: Default::default(),
            public_seq: Some(seq),
            attachments: Vec::new(),
        }
    }

    #[test]
    fn an_event_round_trips_with_its_text_untouched() {
        let event = Event::Message {
            message: message(7, "line\nbreak \"quoted\" <b>é</b>"),
        };
        let payload = event.encode();
        assert!(!payload.contains(&b'\n'), "one line: {payload:?}");
        let text = std::str::from_utf8(&payload).unwrap();
        assert!(
            text.starts_with(r#"{"v":1,"ticket_id":45,"seq":7,"#),
            "{text}"
        );
        assert_eq!(Decoded::decode(&payload), Some(Decoded::Event(event)));
    }

    #[test]
    fn a_newer_release_s_event_still_names_its_ticket_and_seq() {
        let newer = br#"{"v":2,"ticket_id":45,"seq":9,"event":{"type":"reaction","emoji":"+1"}}"#;
        assert_eq!(
            Decoded::decode(newer),
            Some(Decoded::Marker {
                ticket_id: 45,
                seq: Some(9)
            })
        );
        let changed = br#"{"v":2,"ticket_id":45,"seq":10,"event":{"type":"message","message":{"renamed":true}}}"#;
        assert_eq!(
            Decoded::decode(changed),
            Some(Decoded::Marker {
                ticket_id: 45,
                seq: Some(10)
            })
        );
    }

    #[test]
    fn the_unversioned_envelope_of_earlier_releases_is_read_as_a_marker() {
        let legacy = b"{\"ticket_id\":45,\"seq\":7,\"to\":\"all\",\"kind\":\"message\"}\n{\"type\":\"message\"}";
        assert_eq!(
            Decoded::decode(legacy),
            Some(Decoded::Marker {
                ticket_id: 45,
                seq: Some(7)
            })
        );
        assert_eq!(Decoded::decode(b"garbage"), None);
    }

    #[test]
    fn only_stored_state_is_published_again() {
        assert!(
            Event::Message {
                message: message(1, "x")
            }
            .is_durable()
        );
        let typing = Event::Typing {
            ticket_id: 1,
            sender_type: SenderType::User,
            sender_name: "J".into(),
            is_typing: true,
        };
        assert!(!typing.is_durable());
        assert_eq!(
            typing.routes(),
            Routes {
                ticket: true,
                feed: false
            }
        );
    }
}
