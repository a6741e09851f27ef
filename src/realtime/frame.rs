//! What the hub hands to a socket: frames rendered once per node and shared by
//! every socket they go to, and the socket's handle (its bounded queue, and a
//! close signal that never needs room in that queue).

use super::protocol::{
    FrameKind, JoinedData, NoticesData, RatingData, ReadData, ServerFrame, TypingData,
};
use crate::chat::events::Event;
use crate::domain::{Message, SenderType};
use crate::metrics::metrics;
use axum::extract::ws::Utf8Bytes;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A frame ready to write: its JSON, shared by every socket it goes to.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Set for stored messages, which the writer keeps in seq order.
    pub seq: Option<i64>,
    pub kind: FrameKind,
    /// When the message was stored (Unix microseconds), for the latency metric;
    /// `None` for frames that are not live deliveries (replay, resends).
    pub stored_at: Option<i64>,
    pub text: Utf8Bytes,
    /// What a visitor's socket is sent instead of `text`.
    pub for_visitor: ForVisitor,
}

/// A frame as the visitor's socket gets it. The visitor has a stream of its
/// own: public messages only, numbered by `public_seq` (`Message::for_visitor`).
#[derive(Debug, Clone)]
pub enum ForVisitor {
    /// The agents' text: nothing in it is numbered or internal.
    Same,
    /// Nothing at all: an internal message (a private note, an agents-only
    /// system note), which the visitor's numbering does not count.
    Nothing,
    /// Its own rendering: a message renumbered, a ticket as the visitor sees it.
    Own(Utf8Bytes),
}

impl Frame {
    pub fn new(frame: &ServerFrame<'_>) -> Frame {
        Frame {
            seq: None,
            kind: frame.kind(),
            stored_at: None,
            text: frame.to_json().into(),
            for_visitor: ForVisitor::Same,
        }
    }

    /// A stored message read back from the store (replay, resend).
    pub fn message(message: &Message) -> Frame {
        let for_visitor = match message.for_visitor() {
            None => ForVisitor::Nothing,
            Some(view) => ForVisitor::Own(ServerFrame::for_message(&view).to_json().into()),
        };
        Frame {
            seq: Some(message.seq),
            for_visitor,
            ..Frame::new(&ServerFrame::for_message(message))
        }
    }

    /// The text this frame is written as to a socket of a visitor or an agent;
    /// `None`: this socket gets nothing of it (its seq still counts as passed).
    pub fn text_for(&self, visitor: bool) -> Option<&Utf8Bytes> {
        match &self.for_visitor {
            _ if !visitor => Some(&self.text),
            ForVisitor::Same => Some(&self.text),
            ForVisitor::Nothing => None,
            ForVisitor::Own(text) => Some(text),
        }
    }

    /// A stored message on its way live (published, or refilled from the store).
    pub fn live_message(message: &Message) -> Frame {
        Frame {
            stored_at: Some(message.created_at.timestamp_micros()),
            ..Frame::message(message)
        }
    }

    /// The frame a ticket's sockets get for `event`, and which of them get it.
    pub fn for_ticket(event: &Event) -> Option<(Audience, Frame)> {
        let frame = match event {
            Event::Message { message } => Frame::live_message(message),
            Event::SupporterJoined {
                message,
                supporter_id,
                supporter_name,
            } => {
                fn joined<'a>(message: &'a Message, id: i64, name: &'a str) -> ServerFrame<'a> {
                    ServerFrame::SupporterJoined {
                        message,
                        data: JoinedData {
                            supporter_id: id,
                            supporter_name: name,
                        },
                    }
                }
                let for_visitor = match message.for_visitor() {
                    None => ForVisitor::Nothing,
                    Some(view) => ForVisitor::Own(
                        joined(&view, *supporter_id, supporter_name)
                            .to_json()
                            .into(),
                    ),
                };
                Frame {
                    seq: Some(message.seq),
                    stored_at: Some(message.created_at.timestamp_micros()),
                    for_visitor,
                    ..Frame::new(&joined(message, *supporter_id, supporter_name))
                }
            }
            Event::TicketUpdated { ticket } => Frame {
                for_visitor: ForVisitor::Own(
                    ServerFrame::TicketUpdated {
                        ticket: &ticket.for_visitor(),
                    }
                    .to_json()
                    .into(),
                ),
                ..Frame::new(&ServerFrame::TicketUpdated { ticket })
            },
            Event::Typing {
                sender_type,
                sender_name,
                is_typing,
                ..
            } => {
                let frame = Frame::new(&ServerFrame::Typing {
                    data: TypingData {
                        sender_type: *sender_type,
                        sender_name,
                        is_typing: *is_typing,
                    },
                });
                return Some((Audience::facing(*sender_type), frame));
            }
            Event::Read {
                reader_type,
                up_to_seq,
                up_to_public_seq,
                ..
            } => {
                // It goes to the other side only, in that side's numbering.
                let up_to_seq = match reader_type {
                    SenderType::User => *up_to_seq,
                    _ => up_to_public_seq.unwrap_or(*up_to_seq),
                };
                let frame = Frame::new(&ServerFrame::Read {
                    data: ReadData {
                        reader_type: *reader_type,
                        up_to_seq,
                    },
                });
                return Some((Audience::facing(*reader_type), frame));
            }
            Event::Presence { presence, .. } => {
                Frame::new(&ServerFrame::Presence { data: *presence })
            }
            // The visitor's own pages are the agents' context: never sent back.
            Event::Page { page, .. } => {
                let frame = Frame::new(&ServerFrame::Page { data: page });
                return Some((Audience::Supporters, frame));
            }
            Event::TicketCreated { .. }
            | Event::RatingCreated { .. }
            | Event::Notices { .. }
            | Event::Unknown => {
                return None;
            }
        };
        Some((Audience::All, frame))
    }

    /// The frame the agents' feed gets for `event`: ticket changes, ratings,
    /// and the notices of new messages (never the messages themselves).
    pub fn for_feed(event: &Event) -> Option<Frame> {
        let frame = match event {
            Event::TicketCreated { ticket } => ServerFrame::TicketCreated { ticket },
            Event::TicketUpdated { ticket } => ServerFrame::TicketUpdated { ticket },
            Event::RatingCreated { ticket_id, rating } => ServerFrame::RatingCreated {
                data: RatingData {
                    ticket_id: *ticket_id,
                    rating,
                },
            },
            Event::Notices { notices } => ServerFrame::Notices {
                data: NoticesData { notices },
            },
            _ => return None,
        };
        Some(Frame::new(&frame))
    }
}

/// When the ticket an event carries was last changed: hubs drop ticket frames
/// older than the one they sent (a late, retried publish must not roll a
/// dashboard back).
pub fn ticket_version(event: &Event) -> Option<DateTime<Utc>> {
    match event {
        Event::TicketCreated { ticket } | Event::TicketUpdated { ticket } => {
            Some(ticket.updated_at)
        }
        _ => None,
    }
}

/// Which of a ticket's sockets a frame is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// Asks a socket to close with a code, without a slot in its queue: the writer
/// waits on it beside the queue, so a full queue cannot hold a close back.
#[derive(Debug, Default)]
pub struct Closer {
    /// The first code asked for (0: none yet).
    code: AtomicU16,
    asked: CancellationToken,
}

impl Closer {
    pub fn new() -> Arc<Closer> {
        Arc::new(Closer::default())
    }

    /// Asks for a close with `code`; the first code asked for wins.
    pub fn close(&self, code: u16) {
        let _ = self
            .code
            .compare_exchange(0, code, Ordering::AcqRel, Ordering::Acquire);
        self.asked.cancel();
    }

    /// The code asked for, once a close was asked for.
    pub fn code(&self) -> Option<u16> {
        Some(self.code.load(Ordering::Acquire)).filter(|code| *code != 0)
    }

    pub fn is_asked(&self) -> bool {
        self.asked.is_cancelled()
    }

    pub async fn asked(&self) {
        self.asked.cancelled().await
    }
}

/// The hub's end of one socket.
#[derive(Debug, Clone)]
pub struct SocketHandle {
    pub id: u64,
    /// `User` or `Supporter`; feed sockets are supporters.
    pub role: SenderType,
    pub queue: mpsc::Sender<Arc<Frame>>,
    pub closer: Arc<Closer>,
}

impl SocketHandle {
    /// Queues a frame without waiting. A full queue means the socket cannot keep
    /// up: it is closed with 1013 (the client resumes with `since`). False when
    /// the socket is gone or closing.
    pub fn push(&self, frame: Arc<Frame>) -> bool {
        if self.closer.is_asked() {
            return false;
        }
        match self.queue.try_send(frame) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                metrics().slow_consumer_closes.inc();
                tracing::warn!(
                    socket = self.id,
                    "socket queue full: closing it as too slow"
                );
                self.closer.close(1013);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Closes the socket with `code` whatever its queue holds.
    pub fn close(&self, code: u16) {
        self.closer.close(code);
    }
}
