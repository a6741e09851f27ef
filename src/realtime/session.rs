//! One socket's life: join the hub (before anything is announced, so nothing is
//! missed), record the session and announce presence, send `ready` and the
//! replay, then run the reader (here: what each client frame does) and the writer
//! (`connection.rs`) until either ends.

use super::connection::{Lifetime, WriterContext, close, read_loop, watch_credential, write_loop};
use super::events::Event;
use super::hub::{Outbound, SocketHandle};
use super::protocol::{ClientFrame, ReadyData, ResyncData, ServerFrame, parse_client_frame};
use crate::domain::validation;
use crate::domain::{Agent, MessageDraft, SenderType, Ticket, TicketChange, TicketStatus};
use crate::error::ApiError;
use crate::http::AppState;
use crate::metrics::metrics;
use crate::store::{MessageRange, NewSession};
use axum::extract::ws::WebSocket;
use futures_util::future::Either;
use futures_util::{FutureExt, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use prometheus::IntGauge;
use std::num::NonZeroU32;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Frames a socket may have queued before it counts as too slow (1013).
pub const OUTBOUND_QUEUE: usize = 256;
/// Most messages replayed after `since` before `resync_required`.
pub const MAX_REPLAY: u32 = 1000;
/// Typing frames forwarded per second per connection.
pub const TYPING_PER_SECOND: u32 = 2;

/// What kind of socket this is, with what was checked before the upgrade.
pub enum SocketKind {
    /// A visitor or an agent on one ticket.
    Ticket {
        ticket: Box<Ticket>,
        role: SenderType,
        /// The name others see on this side's messages and typing.
        name: String,
        /// The agent behind a supporter socket, with the token it came with.
        agent: Option<(Agent, String)>,
        since: Option<i64>,
    },
    /// An agent's feed of every ticket event, with the token it came with.
    Feed { agent: Agent, token: String },
}

/// Serves one upgraded socket until it closes.
///
/// `run` and `serve` are plain functions returning the socket's future rather
/// than `async fn`s: every idle socket keeps this future for its whole life, and
/// each `async fn` layer would add its own copy of the arguments to it (the
/// `socket_future_size` test keeps it small).
pub fn run(socket: WebSocket, state: AppState, kind: SocketKind) -> impl Future<Output = ()> {
    let role = match &kind {
        SocketKind::Ticket { role, .. } => role.as_str(),
        SocketKind::Feed { .. } => "agent",
    };
    let open = OpenGauge::new(metrics().connections_open.with_label_values(&[role]));
    serve(socket, state, kind).map(move |()| drop(open))
}

/// Counts a socket as open for as long as it lives, however its future ends.
struct OpenGauge(IntGauge);

impl OpenGauge {
    fn new(gauge: IntGauge) -> Self {
        gauge.inc();
        OpenGauge(gauge)
    }
}

impl Drop for OpenGauge {
    fn drop(&mut self) {
        self.0.dec();
    }
}

fn serve(socket: WebSocket, state: AppState, kind: SocketKind) -> impl Future<Output = ()> {
    match kind {
        SocketKind::Ticket {
            ticket,
            role,
            name,
            agent,
            since,
        } => {
            let span = tracing::info_span!("socket", ticket_id = ticket.id, role = role.as_str(), node_id = %state.settings.node_id);
            Either::Left(
                run_ticket(socket, state, *ticket, role, name, agent, since)
                    .map(drop)
                    .instrument(span),
            )
        }
        SocketKind::Feed { agent, token } => {
            let span = tracing::info_span!("socket", role = "feed", agent_id = agent.id, node_id = %state.settings.node_id);
            Either::Right(run_feed(socket, state, token).instrument(span))
        }
    }
}

async fn run_ticket(
    socket: WebSocket,
    state: AppState,
    ticket: Ticket,
    role: SenderType,
    name: String,
    credential: Option<(Agent, String)>,
    since: Option<i64>,
) -> Result<(), ()> {
    tracing::debug!(since, "socket opened");
    let (agent, token) = credential.unzip();
    let (queue, queue_rx) = mpsc::channel(OUTBOUND_QUEUE);
    let overflow = CancellationToken::new();
    let handle = SocketHandle {
        id: state.hub.next_socket_id(),
        role,
        queue: queue.clone(),
        overflow: overflow.clone(),
    };
    let (mut sink, stream) = socket.split();
    let Some(live_after) = state.hub.join(ticket.id, handle.clone()).await else {
        let _ = close(&mut sink, 1011, "hub stopped").await;
        return Err(());
    };
    let leave = || state.hub.leave(ticket.id, handle.id);

    // Presence is announced after joining, so this socket sees its own.
    let session_row = state
        .store
        .open_session(&NewSession {
            ticket_id: ticket.id,
            role,
            user_id: ticket.user_id.clone().filter(|_| role == SenderType::User),
            supporter_id: agent.as_ref().map(|a| a.id),
            node_id: state.settings.node_id.clone(),
        })
        .await
        .map_err(|err| tracing::warn!(cause = %err, "cannot record the socket session"))
        .ok();
    // The one-off steps are boxed so that their futures do not stay part of the
    // socket's (see `run`).
    Box::pin(publish_presence(&state, ticket.id)).await;

    if let Some(agent) = agent
        .as_ref()
        .filter(|_| ticket.status == TicketStatus::Open)
    {
        let join = TicketChange {
            assign_to: Some((agent.id, agent.name.clone())),
            actor: Some((agent.id, agent.name.clone())),
            join: true,
            ..TicketChange::default()
        };
        if let Err(err) = Box::pin(state.chat.change_ticket(ticket.id, join)).await {
            tracing::warn!(cause = %err, "agent join could not assign the ticket");
        }
    }

    let opening = match Box::pin(opening_frames(&state, ticket.id, role, since, live_after)).await {
        Ok(opening) => opening,
        Err(err) => {
            tracing::warn!(cause = %err, "cannot read the ticket to open the socket");
            let _ = close(&mut sink, 1011, "store unavailable").await;
            leave();
            Box::pin(end_session(&state, ticket.id, session_row)).await;
            return Err(());
        }
    };

    let lifetime = Lifetime::new();
    if let Some(token) = token {
        tokio::spawn(watch_credential(state.clone(), token, lifetime.clone()));
    }
    let writer = tokio::spawn(write_loop(
        sink,
        queue_rx,
        opening.frames,
        opening.last_sent,
        WriterContext {
            state: state.clone(),
            ticket_id: Some(ticket.id),
            lifetime: lifetime.clone(),
            overflow,
        },
    ));
    let reader = TicketReader {
        state: state.clone(),
        ticket_id: ticket.id,
        role,
        name,
        agent_id: agent.as_ref().map(|a| a.id),
        queue,
        messages: RateLimiter::direct(
            Quota::per_second(
                NonZeroU32::new(state.settings.message_rate_per_second).unwrap_or(NonZeroU32::MIN),
            )
            .allow_burst(NonZeroU32::new(state.settings.message_burst).unwrap_or(NonZeroU32::MIN)),
        ),
        typing: RateLimiter::direct(Quota::per_second(
            NonZeroU32::new(TYPING_PER_SECOND).unwrap_or(NonZeroU32::MIN),
        )),
    };
    let max_frame = state.settings.max_frame_bytes;
    read_loop(stream, lifetime.clone(), max_frame, |text| {
        reader.handle(text)
    })
    .await;
    let _ = writer.await;
    leave();
    Box::pin(end_session(&state, ticket.id, session_row)).await;
    tracing::debug!("socket closed");
    Ok(())
}

async fn end_session(state: &AppState, ticket_id: i64, session_row: Option<i64>) {
    if let Some(id) = session_row {
        if let Err(err) = state.store.end_session(id).await {
            tracing::warn!(cause = %err, "cannot end the socket session");
        }
        publish_presence(state, ticket_id).await;
    }
}

async fn publish_presence(state: &AppState, ticket_id: i64) {
    match state.store.presence(ticket_id).await {
        Ok(presence) => {
            state
                .chat
                .publisher
                .publish(Event::Presence {
                    ticket_id,
                    presence,
                })
                .await
        }
        Err(err) => tracing::warn!(cause = %err, "cannot read presence"),
    }
}

struct Opening {
    frames: Vec<Outbound>,
    last_sent: i64,
}

/// `ready`, then the replay after `since` up to where the live stream starts.
async fn opening_frames(
    state: &AppState,
    ticket_id: i64,
    role: SenderType,
    since: Option<i64>,
    live_after: i64,
) -> Result<Opening, ApiError> {
    let ticket = state.store.ticket_by_id(ticket_id, role).await?;
    let mut frames = Vec::new();
    let mut last_sent = live_after;
    let mut replay = Vec::new();
    let mut truncated = false;
    if let Some(since) = since {
        last_sent = since.max(live_after);
        if since < live_after {
            // Oldest first from `since`; what lies past `live_after` comes live.
            let slice = state
                .store
                .messages(
                    ticket_id,
                    MessageRange {
                        after_seq: since,
                        before_seq: None,
                        limit: MAX_REPLAY,
                    },
                )
                .await?;
            replay = slice.messages;
            replay.retain(|m| m.seq <= live_after);
            truncated = (replay.len() as i64) < live_after - since;
        }
    }
    frames.push(Outbound::frame(&ServerFrame::Ready {
        data: ReadyData {
            ticket: &ticket,
            last_seq: ticket.last_seq,
            replayed: replay.len(),
        },
    }));
    frames.extend(replay.iter().map(Outbound::message));
    if truncated {
        metrics().resyncs.inc();
        let after_seq = replay.last().map(|m| m.seq).unwrap_or(since.unwrap_or(0));
        frames.push(Outbound::frame(&ServerFrame::ResyncRequired {
            data: ResyncData { after_seq },
        }));
    }
    Ok(Opening { frames, last_sent })
}

struct TicketReader {
    state: AppState,
    ticket_id: i64,
    role: SenderType,
    name: String,
    agent_id: Option<i64>,
    queue: mpsc::Sender<Outbound>,
    messages: DefaultDirectRateLimiter,
    typing: DefaultDirectRateLimiter,
}

impl TicketReader {
    async fn handle(&self, text: String) {
        let frame = match parse_client_frame(&text) {
            Ok(frame) => frame,
            Err((error, key)) => return self.refuse(error, key.as_deref()),
        };
        match frame {
            ClientFrame::Message {
                message,
                client_msg_id,
            } => self.send_message(message, client_msg_id).await,
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
                self.state.chat.publisher.publish(event).await;
            }
            ClientFrame::Read { up_to_seq } => {
                if let Err(err) = self
                    .state
                    .chat
                    .mark_read(self.ticket_id, self.role, up_to_seq)
                    .await
                {
                    self.refuse(err, None);
                }
            }
        }
    }

    async fn send_message(&self, message: Option<String>, client_msg_id: Option<String>) {
        let limits = &self.state.settings.limits;
        let key = match validation::client_msg_id(client_msg_id.as_deref(), limits) {
            Ok(key) => key,
            Err(err) => return self.refuse(err.into(), None),
        };
        if self.messages.check().is_err() {
            metrics().rate_limited.with_label_values(&["message"]).inc();
            let retry = ApiError::RateLimited {
                retry_after: Duration::from_secs(1),
            };
            return self.refuse(retry, key.as_deref());
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
        };
        match self.state.chat.append_message(self.ticket_id, draft).await {
            // The published frame, coming back through the hub, is the acknowledgement.
            Ok(appended) if !appended.duplicate => {}
            // A resend: acknowledge with the first copy (the writer drops it if
            // this connection has delivered that seq already).
            Ok(appended) => self.push(Outbound::message(&appended.message)),
            Err(err) => self.refuse(err, key.as_deref()),
        }
    }

    /// An `error` frame; the socket stays open.
    fn refuse(&self, error: ApiError, client_msg_id: Option<&str>) {
        self.push(Outbound::frame(&ServerFrame::Error {
            error: error.body(),
            client_msg_id,
        }));
    }

    fn push(&self, out: Outbound) {
        if self.queue.try_send(out).is_err() {
            tracing::debug!("own queue full: dropping a reply");
        }
    }
}

async fn run_feed(socket: WebSocket, state: AppState, token: String) {
    let (queue, queue_rx) = mpsc::channel(OUTBOUND_QUEUE);
    let overflow = CancellationToken::new();
    let handle = SocketHandle {
        id: state.hub.next_socket_id(),
        role: SenderType::Supporter,
        queue: queue.clone(),
        overflow: overflow.clone(),
    };
    let (sink, stream) = socket.split();
    state.hub.join_feed(handle.clone());
    let lifetime = Lifetime::new();
    tokio::spawn(watch_credential(state.clone(), token, lifetime.clone()));
    let writer = tokio::spawn(write_loop(
        sink,
        queue_rx,
        Vec::new(),
        0,
        WriterContext {
            state: state.clone(),
            ticket_id: None,
            lifetime: lifetime.clone(),
            overflow,
        },
    ));
    read_loop(
        stream,
        lifetime.clone(),
        state.settings.max_frame_bytes,
        |_| {
            let refusal = Outbound::frame(&ServerFrame::Error {
                error: ApiError::validation("type", "the agent feed accepts no frames").body(),
                client_msg_id: None,
            });
            let _ = queue.try_send(refusal);
            async {}
        },
    )
    .await;
    lifetime.ended.cancel();
    let _ = writer.await;
    state.hub.leave_feed(handle.id);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output_size<A, B, C, F>(_: impl Fn(A, B, C) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// Every idle socket holds this future for its whole life: its size is
    /// memory per socket (it was 6,952 bytes before the one-off steps were
    /// boxed and the `async fn` layers removed).
    #[test]
    fn socket_future_size() {
        let size = output_size(run);
        assert!(size <= 4096, "the socket's future is {size} bytes");
    }
}
