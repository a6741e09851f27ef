//! The operations REST and WebSocket share. Each one validates, stores, then
//! publishes what changed, so both transports behave the same.
//!
//! - [`events`]: what is published, and the versioned envelope between nodes.
//! - [`control`]: what nodes tell each other about the service (revocations).
//! - [`limits`]: visitor messages per ticket and per client IP, and the keyed
//!   rate check every limit shares.
//! - [`publisher`]: publishing, and publishing again what failed.
//! - [`sessions`]: this node's socket sessions, presence and its heartbeat.
//! - [`routing`]: agents' presence from their dashboards, auto-assignment,
//!   going back to the queue, transfer (issue 16).
//! - [`availability`]: business hours, agents online, and how fast they reply
//!   (issue 18).
//! - [`attachments`]: files streamed to the storage before their message is
//!   appended, and the sweep of orphans and old files (issue 17).

pub mod attachments;
pub mod availability;
pub mod control;
pub mod email;
pub mod events;
pub mod limits;
pub mod notices;
pub mod outbox;
pub mod publisher;
pub mod reports;
pub mod routing;
pub mod sessions;
pub mod webhooks;

use crate::auth;
use crate::config::Secret;
use crate::domain::validation::{self, Limits};
use crate::domain::visitor::{self, PageReport, VisitedPage};
use crate::domain::{
    Agent, Message, MessageDraft, NewTicket, Priority, SenderType, Ticket, TicketChange,
    TicketStatus, Visibility,
};
use crate::error::ApiError;
use crate::metrics::metrics;
use crate::store::{AgentUpdate, Appended, Changed, Store, StoreResult};
use attachments::{Attachments, UploadedFile};
use control::ControlEvent;
use events::Event;
use limits::{MessageLimits, MessageRates};
use publisher::Publisher;
use routing::Routing;
use sessions::LiveSessions;
use std::sync::Arc;

/// A visitor's request to open a ticket, as received.
#[derive(Debug, Default, serde::Deserialize)]
pub struct TicketRequest {
    pub user_name: Option<String>,
    pub user_email: Option<String>,
    pub subject: Option<String>,
    pub priority: Option<String>,
    pub message: Option<String>,
    pub user_id: Option<String>,
    pub user_hash: Option<String>,
}

#[derive(Clone)]
pub struct Chat {
    /// The record; every operation stores before it publishes.
    pub store: Arc<dyn Store>,
    /// Fans what changed out to the sockets of every node.
    pub publisher: Publisher,
    pub limits: Limits,
    /// Visitor messages per ticket and per client IP, across sockets and routes.
    pub message_limits: Arc<MessageLimits>,
    /// HMAC key for identity verification; `None` turns verification off.
    identity_secret: Option<Secret>,
    /// This node's name on its session and heartbeat rows.
    pub node_id: Arc<str>,
    /// This node's live socket sessions, to write back after a database outage.
    sessions: Arc<LiveSessions>,
    /// Dashboard presence, the settings cache and the router's wake-up.
    pub routing: Arc<Routing>,
    /// The storage of files and the rules of uploads.
    pub attachments: Arc<Attachments>,
    /// The median first reply, measured at most once a minute.
    reply_time: Arc<availability::ReplyTime>,
    /// Where email goes, and the links it carries (issue 18).
    pub mail: Arc<email::Mail>,
    /// The webhook sender's client and pace (issue 19).
    pub webhooks: Arc<webhooks::Webhooks>,
}

/// What a [`Chat`] is made of, named.
pub struct ChatParts {
    pub store: Arc<dyn Store>,
    pub publisher: Publisher,
    pub limits: Limits,
    pub message_rates: MessageRates,
    pub identity_secret: Option<Secret>,
    pub node_id: String,
    pub routing: Routing,
    pub attachments: Attachments,
    pub mail: email::Mail,
    pub webhooks: webhooks::Webhooks,
}

impl Chat {
    pub fn new(parts: ChatParts) -> Self {
        Chat {
            store: parts.store,
            publisher: parts.publisher,
            limits: parts.limits,
            message_limits: Arc::new(MessageLimits::new(parts.message_rates)),
            identity_secret: parts.identity_secret,
            node_id: parts.node_id.into(),
            sessions: Arc::new(LiveSessions::default()),
            routing: Arc::new(parts.routing),
            attachments: Arc::new(parts.attachments),
            reply_time: Arc::default(),
            mail: Arc::new(parts.mail),
            webhooks: Arc::new(parts.webhooks),
        }
    }

    /// This node's live socket sessions.
    pub fn sessions(&self) -> &LiveSessions {
        &self.sessions
    }

    /// Validates a visitor's request field by field, verifies the storefront
    /// identity when one is claimed, and opens the ticket. Returns the visitor's
    /// view of it; the agent feed gets the agents' (the opening message unread).
    pub async fn create_ticket(
        &self,
        request: TicketRequest,
    ) -> Result<(Ticket, Option<Message>), ApiError> {
        let limits = &self.limits;
        let user_name = validation::required_text(
            "user_name",
            request.user_name.as_deref(),
            limits.name_chars,
        )?;
        let user_email =
            validation::optional_email("user_email", request.user_email.as_deref(), limits)?;
        if user_email.is_none() && self.outside_hours(chrono::Utc::now()) {
            return Err(ApiError::validation(
                "user_email",
                "user_email is required outside business hours, so that an agent can answer",
            ));
        }
        let subject =
            validation::required_text("subject", request.subject.as_deref(), limits.subject_chars)?;
        let priority = match request.priority.as_deref() {
            None => Priority::default(),
            Some(p) => p.parse().map_err(|_| {
                ApiError::validation(
                    "priority",
                    "priority must be one of low, medium, high, urgent",
                )
            })?,
        };
        let first_message = match request.message.as_deref() {
            None => None,
            Some(text) => Some(validation::message_text("message", Some(text), limits)?),
        };
        let user_id = match request.user_id {
            None => None,
            Some(user_id) => Some(self.verified_user(&user_id, request.user_hash.as_deref())?),
        };
        let new = NewTicket {
            session_id: uuid::Uuid::new_v4().to_string(),
            user_id,
            user_name,
            user_email,
            subject,
            priority,
            first_message,
        };
        let (for_agents, first) = self.store.create_ticket(&new).await?;
        first.iter().for_each(count_stored);
        // The visitor's own view: a new ticket has no agent message to be unread.
        let for_visitor = Ticket {
            unread_count: 0,
            ..for_agents.clone()
        };
        self.publisher
            .publish(Event::TicketCreated { ticket: for_agents })
            .await;
        self.routing.wake();
        if let Some(message) = &first {
            self.publisher
                .publish(Event::Message {
                    message: message.clone(),
                })
                .await;
        }
        Ok((for_visitor, first))
    }

    /// Checks a storefront's claim that the visitor is `user_id`: `user_hash` must be
    /// the HMAC-SHA256 of it under the identity secret (and verification must be on).
    pub fn verified_user(
        &self,
        user_id: &str,
        user_hash: Option<&str>,
    ) -> Result<String, ApiError> {
        let chars = user_id.chars().count();
        if chars == 0 || chars > self.limits.user_id_chars {
            return Err(ApiError::validation(
                "user_id",
                format!(
                    "user_id must be 1 to {} characters",
                    self.limits.user_id_chars
                ),
            ));
        }
        let verified = match (&self.identity_secret, user_hash) {
            (Some(secret), Some(hash)) => auth::verify_identity(secret, user_id, hash),
            _ => false,
        };
        if verified {
            Ok(user_id.to_owned())
        } else {
            Err(ApiError::IdentityUnverified)
        }
    }

    /// Appends a chat message (the acknowledgement point) and publishes it, with the
    /// status change it caused, if any. A resend of a stored `client_msg_id` stores
    /// nothing and publishes the stored copy again: the first publish may have
    /// been lost, and every hub drops seqs it has delivered.
    pub async fn append_message(
        &self,
        ticket_id: i64,
        draft: MessageDraft,
    ) -> Result<Appended, ApiError> {
        let appended = self.store.append_message(ticket_id, &draft).await?;
        if appended.duplicate {
            self.publisher
                .publish(Event::Message {
                    message: appended.message.clone(),
                })
                .await;
        } else {
            count_stored(&appended.message);
            if let Some((note, _)) = &appended.status_change {
                count_stored(note);
            }
            self.publisher
                .publish(Event::Message {
                    message: appended.message.clone(),
                })
                .await;
            if let Some((note, ticket)) = &appended.status_change {
                self.publisher
                    .publish(Event::Message {
                        message: note.clone(),
                    })
                    .await;
                self.publisher
                    .publish(Event::TicketUpdated {
                        ticket: ticket.clone(),
                    })
                    .await;
            }
        }
        Ok(appended)
    }

    /// Appends a message that carries an uploaded file (`draft.text` is its
    /// caption, maybe empty): the message takes the file in its transaction,
    /// then goes the ordinary way. A resend of a stored `client_msg_id` answers
    /// the first message, and the new file, like any file no message took, is
    /// deleted.
    pub async fn append_file(
        &self,
        ticket_id: i64,
        mut draft: MessageDraft,
        file: UploadedFile,
    ) -> Result<Appended, ApiError> {
        draft.attachments = vec![file.attachment.clone()];
        let appended = self.append_message(ticket_id, draft).await?;
        if !appended.duplicate {
            attachments::count_stored(&file);
            file.keep();
        }
        Ok(appended)
    }

    /// Appends an agent's private note: validated as a chat message, stored
    /// `internal` (no status rule applies), published to the agents only.
    pub async fn append_note(
        &self,
        ticket_id: i64,
        agent: &Agent,
        text: Option<&str>,
        client_msg_id: Option<&str>,
    ) -> Result<Appended, ApiError> {
        let client_msg_id = validation::client_msg_id(client_msg_id, &self.limits)?;
        let text = validation::message_text("message", text, &self.limits)?;
        let draft = MessageDraft {
            sender_type: SenderType::Supporter,
            sender_id: Some(agent.id),
            sender_name: Some(agent.name.clone()),
            text,
            client_msg_id,
            visibility: Visibility::Internal,
            attachments: Vec::new(),
        };
        self.append_message(ticket_id, draft).await
    }

    /// Applies a status, priority, assignment or labels change and publishes its
    /// notes and the updated ticket (a label change has no note: only the ticket).
    pub async fn change_ticket(
        &self,
        ticket_id: i64,
        change: TicketChange,
    ) -> Result<Changed, ApiError> {
        let changed = self.store.change_ticket(ticket_id, &change).await?;
        if !changed.changed_anything() {
            return Ok(changed);
        }
        if changed.assigned.is_some() {
            routing::count_assignment(if change.join { "join" } else { "assign" }, &changed);
        }
        self.publish_changed(&changed, change.join.then_some(0))
            .await;
        // A release, a resolve or a close frees room; a priority moves the queue.
        self.routing.wake();
        Ok(changed)
    }

    /// Publishes a stored change: its notes (the one at `joined_note` as
    /// `supporter_joined` for the agent the change assigned: a join's first
    /// note, a transfer's last), then the ticket as updated.
    async fn publish_changed(&self, changed: &Changed, joined_note: Option<usize>) {
        changed.notes.iter().for_each(count_stored);
        for (i, note) in changed.notes.iter().enumerate() {
            let joined = changed.assigned.as_ref().filter(|_| joined_note == Some(i));
            let event = match joined {
                Some((supporter_id, supporter_name)) => Event::SupporterJoined {
                    message: note.clone(),
                    supporter_id: *supporter_id,
                    supporter_name: supporter_name.clone(),
                },
                None => Event::Message {
                    message: note.clone(),
                },
            };
            self.publisher.publish(event).await;
        }
        self.publisher
            .publish(Event::TicketUpdated {
                ticket: changed.ticket.clone(),
            })
            .await;
    }

    /// The visitor ends the chat: the ticket is closed (again closing is harmless).
    pub async fn close_by_guest(&self, ticket: &Ticket) -> Result<Ticket, ApiError> {
        let change = TicketChange {
            status: Some(TicketStatus::Closed),
            visitor: Some(ticket.user_name.clone()),
            ..TicketChange::default()
        };
        self.change_ticket(ticket.id, change).await?;
        Ok(self.store.ticket_by_id(ticket.id, SenderType::User).await?)
    }

    /// Stores that `reader` has read the other side's messages up to `up_to_seq`
    /// (a visitor counts in its own numbering, an agent in seq) and tells the
    /// ticket's sockets, each side in its numbering.
    pub async fn mark_read(
        &self,
        ticket_id: i64,
        reader: SenderType,
        up_to_seq: i64,
    ) -> Result<(), ApiError> {
        let mark = self.store.mark_read(ticket_id, reader, up_to_seq).await?;
        self.publisher
            .publish(Event::Read {
                ticket_id,
                reader_type: reader,
                up_to_seq: mark.seq,
                up_to_public_seq: Some(mark.public_seq),
            })
            .await;
        Ok(())
    }

    /// Stores the page the ticket's visitor is on (the newest
    /// [`visitor::PAGES_KEPT`] are kept) and shows it to the ticket's agents;
    /// the page they are on already (a report again after a reconnect) changes
    /// nothing and is not shown again.
    pub async fn record_page(&self, ticket_id: i64, report: PageReport) -> Result<(), ApiError> {
        let at = crate::store::now();
        let stored = self
            .store
            .record_page(ticket_id, &report, at, visitor::PAGES_KEPT)
            .await?;
        if !stored {
            return Ok(());
        }
        let page = VisitedPage {
            url: report.url,
            title: report.title,
            referrer: report.referrer,
            at,
        };
        self.publisher
            .publish(Event::Page { ticket_id, page })
            .await;
        Ok(())
    }

    /// Changes an agent account. When the change revokes the agent's tokens (a
    /// logout, a password reset, disabling), every node is told, and closes the
    /// agent's sockets that came with an older token (4401) at once.
    pub async fn update_agent(&self, id: i64, update: &AgentUpdate) -> StoreResult<Agent> {
        let agent = self.store.update_agent(id, update).await?;
        // More room, fewer agents, a new name: the router and the dashboards.
        self.routing.wake();
        if update.revokes_tokens() {
            self.publisher
                .publish_control(ControlEvent::AgentRevoked {
                    agent_id: agent.id,
                    generation: agent.token_generation,
                })
                .await;
        }
        Ok(agent)
    }
}

pub(crate) fn count_stored(message: &Message) {
    metrics()
        .messages_stored
        .with_label_values(&[message.sender_type.as_str()])
        .inc();
}
