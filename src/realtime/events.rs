//! What the chat layer publishes, and the envelope it travels in. An event is
//! serialised once into an envelope (a small JSON header line, then the frame
//! exactly as sockets receive it), so no node re-encodes it per socket.

use super::protocol::{FrameKind, JoinedData, ReadData, ServerFrame, TypingData};
use crate::broker::{AGENTS_CHANNEL, Broker, ticket_channel};
use crate::domain::{Message, SenderType, Ticket};
use crate::metrics::{metrics, timed};
use crate::store::Presence;
use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Something that happened to a ticket, after it was stored.
#[derive(Debug, Clone)]
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
        up_to_seq: i64,
    },
    Presence {
        ticket_id: i64,
        presence: Presence,
    },
}

/// Which of a ticket's sockets a frame is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    All,
    Users,
    Supporters,
}

impl Audience {
    /// The other side of `sender`: typing and read receipts go only there.
    fn facing(sender: SenderType) -> Audience {
        match sender {
            SenderType::User => Audience::Supporters,
            _ => Audience::Users,
        }
    }

    pub fn includes(self, role: SenderType) -> bool {
        match self {
            Audience::All => true,
            Audience::Users => role == SenderType::User,
            Audience::Supporters => role == SenderType::Supporter,
        }
    }
}

/// The routing part of an envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub ticket_id: i64,
    /// Set for stored messages: the hub orders and de-duplicates by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    pub to: Audience,
    pub kind: FrameKind,
    /// When a stored message was stored (Unix microseconds), for the delivery
    /// latency metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
}

/// A decoded envelope: the header and the frame's JSON, ready to send as is.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub header: Header,
    pub frame: Bytes,
}

impl Envelope {
    pub fn encode(header: Header, frame_json: &str) -> Bytes {
        // The header holds only numbers and fixed names: serialising cannot fail.
        let head = serde_json::to_vec(&header).unwrap_or_default();
        let mut buf = BytesMut::with_capacity(head.len() + 1 + frame_json.len());
        buf.put_slice(&head);
        buf.put_u8(b'\n');
        buf.put_slice(frame_json.as_bytes());
        buf.freeze()
    }

    pub fn decode(payload: Bytes) -> Option<Envelope> {
        let split = payload.iter().position(|b| *b == b'\n')?;
        let header = serde_json::from_slice(&payload[..split]).ok()?;
        Some(Envelope {
            header,
            frame: payload.slice(split + 1..),
        })
    }
}

impl Event {
    /// The envelopes of this event and the channels they go to.
    pub fn envelopes(&self) -> Vec<(String, Bytes)> {
        let at = match self {
            Event::Message { message } | Event::SupporterJoined { message, .. } => {
                Some(message.created_at.timestamp_micros())
            }
            _ => None,
        };
        let on_ticket =
            |ticket_id: i64, seq: Option<i64>, to: Audience, frame: &ServerFrame<'_>| {
                let header = Header {
                    ticket_id,
                    seq,
                    to,
                    kind: frame.kind(),
                    at: seq.and(at),
                };
                (
                    ticket_channel(ticket_id),
                    Envelope::encode(header, &frame.to_json()),
                )
            };
        let on_feed = |ticket_id: i64, frame: &ServerFrame<'_>| {
            let header = Header {
                ticket_id,
                seq: None,
                to: Audience::Supporters,
                kind: frame.kind(),
                at,
            };
            (
                AGENTS_CHANNEL.to_owned(),
                Envelope::encode(header, &frame.to_json()),
            )
        };
        match self {
            Event::TicketCreated { ticket } => {
                vec![on_feed(ticket.id, &ServerFrame::TicketCreated { ticket })]
            }
            Event::TicketUpdated { ticket } => {
                let frame = ServerFrame::TicketUpdated { ticket };
                vec![
                    on_ticket(ticket.id, None, Audience::All, &frame),
                    on_feed(ticket.id, &frame),
                ]
            }
            Event::Message { message } => {
                let feed_frame = ServerFrame::Message { message };
                let ticket_frame = ServerFrame::for_message(message);
                vec![
                    on_ticket(
                        message.ticket_id,
                        Some(message.seq),
                        Audience::All,
                        &ticket_frame,
                    ),
                    on_feed(message.ticket_id, &feed_frame),
                ]
            }
            Event::SupporterJoined {
                message,
                supporter_id,
                supporter_name,
            } => {
                let frame = ServerFrame::SupporterJoined {
                    message,
                    data: JoinedData {
                        supporter_id: *supporter_id,
                        supporter_name,
                    },
                };
                vec![
                    on_ticket(message.ticket_id, Some(message.seq), Audience::All, &frame),
                    on_feed(message.ticket_id, &ServerFrame::Message { message }),
                ]
            }
            Event::Typing {
                ticket_id,
                sender_type,
                sender_name,
                is_typing,
            } => {
                let frame = ServerFrame::Typing {
                    data: TypingData {
                        sender_type: *sender_type,
                        sender_name,
                        is_typing: *is_typing,
                    },
                };
                vec![on_ticket(
                    *ticket_id,
                    None,
                    Audience::facing(*sender_type),
                    &frame,
                )]
            }
            Event::Read {
                ticket_id,
                reader_type,
                up_to_seq,
            } => {
                let frame = ServerFrame::Read {
                    data: ReadData {
                        reader_type: *reader_type,
                        up_to_seq: *up_to_seq,
                    },
                };
                vec![on_ticket(
                    *ticket_id,
                    None,
                    Audience::facing(*reader_type),
                    &frame,
                )]
            }
            Event::Presence {
                ticket_id,
                presence,
            } => {
                vec![on_ticket(
                    *ticket_id,
                    None,
                    Audience::All,
                    &ServerFrame::Presence { data: *presence },
                )]
            }
        }
    }
}

/// Publishes events on the broker. A failed publish is logged, not returned: the
/// store is the record, and sockets catch up from it (gap refill, resync, resume).
#[derive(Clone)]
pub struct Publisher {
    broker: Arc<dyn Broker>,
}

impl Publisher {
    pub fn new(broker: Arc<dyn Broker>) -> Self {
        Publisher { broker }
    }

    pub fn broker(&self) -> &Arc<dyn Broker> {
        &self.broker
    }

    /// Publishes the event's envelopes (its ticket channel, the agents' feed)
    /// side by side: one round trip to the broker, not one per channel.
    pub async fn publish(&self, event: Event) {
        let publishes = event.envelopes().into_iter().map(|(channel, payload)| async move {
            let published = timed(
                &metrics().broker_duration,
                "publish",
                self.broker.publish(&channel, payload),
            )
            .await;
            if let Err(err) = published {
                tracing::warn!(cause = %err, channel, "publish failed; subscribers will refill from the store");
            }
        });
        futures_util::future::join_all(publishes).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip_with_the_frame_untouched() {
        let header = Header {
            ticket_id: 45,
            seq: Some(7),
            to: Audience::All,
            kind: FrameKind::Message,
            at: Some(1),
        };
        let frame = r#"{"type":"message","message":{"message":"line\nbreak"}}"#;
        let decoded = Envelope::decode(Envelope::encode(header, frame)).unwrap();
        assert_eq!(decoded.header, header);
        assert_eq!(&decoded.frame[..], frame.as_bytes());
    }
}
