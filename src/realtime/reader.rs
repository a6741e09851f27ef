//! What each frame a client sends on a ticket socket does: a chat message (or
//! an agent's private note) is validated, rate limited and appended (its published copy, coming back through
//! the hub, is the acknowledgement); typing and read receipts are forwarded; a
//! ping is answered. Refusals are `error` frames and the socket stays open.
//!
//! A message passes the connection's own limit, then, from a visitor, the
//! ticket's and the client IP's (`chat::limits`), which every socket of the
//! ticket or the IP shares, so that more sockets or a reconnect buy nothing.

use super::Realtime;
use super::frame::Frame;
use super::protocol::{ClientFrame, ServerFrame, parse_client_frame};
use crate::chat::events::Event;
use crate::chat::limits;
use crate::domain::validation;
use crate::domain::visitor::{self, RawPage};
use crate::domain::{MessageDraft, SenderType, Visibility};
use crate::error::ApiError;
use crate::metrics::metrics;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Typing frames forwarded per second per connection.
pub const TYPING_PER_SECOND: u32 = 2;

/// Visitor pages stored per connection: a burst of this many, then one a second.
/// The chat app sends at most one a second (the newest page, trailing), so it
/// never meets the limit; past it, frames are dropped without an answer, like
/// typing (a page is context, not something the visitor waits on).
pub const PAGE_BURST: u32 = 3;
pub const PAGES_PER_SECOND: u32 = 1;

pub(super) struct TicketReader {
    pub(super) realtime: Realtime,
    pub(super) ticket_id: i64,
    pub(super) role: SenderType,
    /// The name others see on this side's messages and typing.
    pub(super) name: String,
    pub(super) agent_id: Option<i64>,
    /// The client's IP, for a visitor's per-IP message limit.
    client_ip: IpAddr,
    /// This socket's own queue, for its replies.
    pub(super) queue: mpsc::Sender<Arc<Frame>>,
    messages: DefaultDirectRateLimiter,
    typing: DefaultDirectRateLimiter,
    pages: DefaultDirectRateLimiter,
}

impl TicketReader {
    pub(super) fn new(
        realtime: Realtime,
        ticket_id: i64,
        role: SenderType,
        name: String,
        agent_id: Option<i64>,
        client_ip: IpAddr,
        queue: mpsc::Sender<Arc<Frame>>,
    ) -> Self {
        let settings = &realtime.settings;
        let per_second = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        let limiter = |quota| RateLimiter::direct_with_clock(quota, limits::clock());
        let messages = limiter(
            Quota::per_second(per_second(settings.message_rate_per_second))
                .allow_burst(per_second(settings.message_burst)),
        );
        let typing = limiter(Quota::per_second(per_second(TYPING_PER_SECOND)));
        let pages = limiter(
            Quota::per_second(per_second(PAGES_PER_SECOND)).allow_burst(per_second(PAGE_BURST)),
        );
        TicketReader {
            realtime,
            ticket_id,
            role,
            name,
            agent_id,
            client_ip,
            queue,
            messages,
            typing,
            pages,
        }
    }

    pub(super) async fn handle(&self, text: String) {
        let frame = match parse_client_frame(&text) {
            Ok(frame) => frame,
            Err((error, key)) => return self.refuse(error, key.as_deref()),
        };
        match frame {
            ClientFrame::Message {
                message,
                client_msg_id,
            } => {
                self.send_message(message, client_msg_id, Visibility::Public)
                    .await
            }
            ClientFrame::Note {
                message,
                client_msg_id,
            } => {
                if self.role != SenderType::Supporter {
                    return self.refuse(
                        ApiError::validation("type", "only agents write notes"),
                        client_msg_id.as_deref(),
                    );
                }
                self.send_message(message, client_msg_id, Visibility::Internal)
                    .await
            }
            ClientFrame::Typing { is_typing } => {
                if self.typing.check().is_err() {
                    metrics().typing_frames_dropped.inc();
                    return;
                }
                let event = Event::Typing {
                    ticket_id: self.ticket_id,
                    sender_type: self.role,
                    sender_name: self.name.clone(),
                    is_typing,
                };
                self.realtime.chat.publisher.publish(event).await;
            }
            ClientFrame::Read { up_to_seq } => {
                if let Err(err) = self
                    .realtime
                    .chat
                    .mark_read(self.ticket_id, self.role, up_to_seq)
                    .await
                {
                    self.refuse(err, None);
                }
            }
            ClientFrame::Ping => self.push(Frame::new(&ServerFrame::Pong)),
            ClientFrame::Page(raw) => self.record_page(raw).await,
            ClientFrame::Activity | ClientFrame::Scope(_) => self.refuse(
                ApiError::validation("type", "activity and scope frames go to the agent feed"),
                None,
            ),
        }
    }

    /// A visitor's page report: validated (a bad one is refused and nothing is
    /// stored), stripped of its query string unless the operator keeps them,
    /// stored within the connection's page rate, and shown to the agents.
    async fn record_page(&self, raw: RawPage) {
        if self.role != SenderType::User {
            return self.refuse(
                ApiError::validation("type", "page frames come from the visitor's socket"),
                None,
            );
        }
        let keep_query = self.realtime.settings.track_query_strings;
        let report = match visitor::page_report(raw, keep_query) {
            Ok(report) => report,
            Err(err) => return self.refuse(err.into(), None),
        };
        if self.pages.check().is_err() {
            metrics().rate_limited.with_label_values(&["page"]).inc();
            tracing::debug!("page frame over the connection's rate: dropped");
            return;
        }
        if let Err(err) = self.realtime.chat.record_page(self.ticket_id, report).await {
            self.refuse(err, None);
        }
    }

    /// A chat message, or an agent's private note (`Internal`).
    async fn send_message(
        &self,
        message: Option<String>,
        client_msg_id: Option<String>,
        visibility: Visibility,
    ) {
        let limits = &self.realtime.settings.limits;
        let key = match validation::client_msg_id(client_msg_id.as_deref(), limits) {
            Ok(key) => key,
            Err(err) => return self.refuse(err.into(), None),
        };
        if let Err(limited) = self.check_rates() {
            return self.refuse(limited, key.as_deref());
        }
        let text = match validation::message_text("message", message.as_deref(), limits) {
            Ok(text) => text,
            Err(err) => return self.refuse(err.into(), key.as_deref()),
        };
        let draft = MessageDraft {
            sender_type: self.role,
            sender_id: self.agent_id,
            sender_name: Some(self.name.clone()),
            text,
            client_msg_id: key.clone(),
            visibility,
            attachments: Vec::new(),
        };
        match self
            .realtime
            .chat
            .append_message(self.ticket_id, draft)
            .await
        {
            // The published frame, coming back through the hub, is the acknowledgement.
            Ok(appended) if !appended.duplicate => {}
            // A resend: acknowledge with the first copy (the writer drops it if
            // this connection has delivered that seq already).
            Ok(appended) => self.push(Frame::message(&appended.message)),
            Err(err) => self.refuse(err, key.as_deref()),
        }
    }

    /// Takes a message out of this connection's budget, then out of the
    /// ticket's and the IP's for a visitor's (agents have only their own).
    fn check_rates(&self) -> Result<(), ApiError> {
        if self.messages.check().is_err() {
            metrics().rate_limited.with_label_values(&["message"]).inc();
            return Err(ApiError::RateLimited {
                retry_after: Duration::from_secs(1),
            });
        }
        if self.role != SenderType::User {
            return Ok(());
        }
        self.realtime
            .chat
            .message_limits
            .check_message(self.ticket_id, self.client_ip)
    }

    /// An `error` frame; the socket stays open.
    pub(super) fn refuse(&self, error: ApiError, client_msg_id: Option<&str>) {
        self.push(Frame::new(&ServerFrame::Error {
            error: error.body(),
            client_msg_id,
        }));
    }

    fn push(&self, frame: Frame) {
        if self.queue.try_send(Arc::new(frame)).is_err() {
            tracing::debug!("own queue full: dropping a reply");
        }
    }
}
