//! One socket's life: join the hub (before anything is announced, so nothing is
//! missed), send `ready` and the replay, then a reader task and a writer task
//! until either ends.
//!
//! The writer keeps the delivery promise for its connection: message frames go
//! out in seq order, a seq already sent is skipped, and a hole (which the hub
//! should never leave) is filled from the store before the frame after it.

use super::events::Event;
use super::hub::{Frame, Outbound, SocketHandle};
use super::protocol::{ClientFrame, ReadyData, ResyncData, ServerFrame, parse_client_frame};
use crate::domain::validation;
use crate::domain::{Agent, MessageDraft, SenderType, Ticket, TicketChange, TicketStatus};
use crate::error::ApiError;
use crate::http::AppState;
use crate::metrics::metrics;
use crate::store::{MessageRange, NewSession};
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Frames a socket may have queued before it counts as too slow (1013).
pub const OUTBOUND_QUEUE: usize = 256;
/// Most messages replayed after `since` before `resync_required`.
pub const MAX_REPLAY: u32 = 1000;
/// How long one write may block before the peer counts as not reading.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
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
        /// The agent behind a supporter socket.
        agent: Option<Agent>,
        since: Option<i64>,
    },
    /// An agent's feed of every ticket event.
    Feed { agent: Agent },
}

pub async fn run(socket: WebSocket, state: AppState, kind: SocketKind) {
    let role = match &kind {
        SocketKind::Ticket { role, .. } => role.as_str(),
        SocketKind::Feed { .. } => "agent",
    };
    let open = metrics().connections_open.with_label_values(&[role]);
    open.inc();
    serve(socket, state, kind).await;
    open.dec();
}

async fn serve(socket: WebSocket, state: AppState, kind: SocketKind) {
    match kind {
        SocketKind::Ticket {
            ticket,
            role,
            name,
            agent,
            since,
        } => {
            let span = tracing::info_span!("socket", ticket_id = ticket.id, role = role.as_str(), node_id = %state.settings.node_id);
            let _ = tracing::Instrument::instrument(
                run_ticket(socket, state, *ticket, role, name, agent, since),
                span,
            )
            .await;
        }
        SocketKind::Feed { agent } => {
            let span = tracing::info_span!("socket", role = "feed", agent_id = agent.id, node_id = %state.settings.node_id);
            tracing::Instrument::instrument(run_feed(socket, state), span).await;
        }
    }
}

/// Ends both halves of a socket when either ends.
struct Lifetime {
    ended: CancellationToken,
    /// Milliseconds since `started` at which the peer was last heard.
    last_heard: AtomicU64,
    started: Instant,
    /// A close code the reader asks the writer to send (0: none).
    close_code: AtomicU32,
}

impl Lifetime {
    fn new() -> Arc<Self> {
        Arc::new(Lifetime {
            ended: CancellationToken::new(),
            last_heard: AtomicU64::new(0),
            started: Instant::now(),
            close_code: AtomicU32::new(0),
        })
    }
    fn heard(&self) {
        self.last_heard
            .store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
    fn silent_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_heard.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last)
    }
}

async fn run_ticket(
    socket: WebSocket,
    state: AppState,
    ticket: Ticket,
    role: SenderType,
    name: String,
    agent: Option<Agent>,
    since: Option<i64>,
) -> Result<(), ()> {
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
    publish_presence(&state, ticket.id).await;

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
        if let Err(err) = state.chat.change_ticket(ticket.id, join).await {
            tracing::warn!(cause = %err, "agent join could not assign the ticket");
        }
    }

    let opening = match opening_frames(&state, ticket.id, role, since, live_after).await {
        Ok(opening) => opening,
        Err(err) => {
            tracing::warn!(cause = %err, "cannot read the ticket to open the socket");
            let _ = close(&mut sink, 1011, "store unavailable").await;
            leave();
            end_session(&state, ticket.id, session_row).await;
            return Err(());
        }
    };

    let lifetime = Lifetime::new();
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
    end_session(&state, ticket.id, session_row).await;
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

/// How long a socket that the server closed waits for the peer's close reply
/// before dropping the connection (dropping with unread input would reset it and
/// could lose the close frame on the way).
const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// Reads until the peer closes or errs, handing text frames to `on_text`. When the
/// writer ends the socket first, reading goes on briefly (ignoring frames) to take
/// the peer's close reply.
async fn read_loop<F, Fut>(
    stream: SplitStream<WebSocket>,
    lifetime: Arc<Lifetime>,
    max_frame: usize,
    on_text: F,
) where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let reading = read_frames(stream, &lifetime, max_frame, on_text);
    tokio::pin!(reading);
    tokio::select! {
        _ = &mut reading => {}
        _ = lifetime.ended.cancelled() => {
            let _ = tokio::time::timeout(CLOSE_LINGER, &mut reading).await;
        }
    }
    lifetime.ended.cancel();
}

async fn read_frames<F, Fut>(
    mut stream: SplitStream<WebSocket>,
    lifetime: &Lifetime,
    max_frame: usize,
    on_text: F,
) where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    while let Some(next) = stream.next().await {
        lifetime.heard();
        let text = match next {
            Ok(WsMessage::Text(text)) => text.to_string(),
            // Some clients send their JSON as binary frames.
            Ok(WsMessage::Binary(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
            Ok(WsMessage::Ping(_) | WsMessage::Pong(_)) => continue,
            Ok(WsMessage::Close(_)) => return,
            Err(err) => {
                tracing::debug!(cause = %err, "socket read ended");
                return;
            }
        };
        if lifetime.ended.is_cancelled() {
            continue;
        }
        if text.len() > max_frame {
            lifetime.close_code.store(1009, Ordering::Relaxed);
            lifetime.ended.cancel();
            continue;
        }
        on_text(text).await;
    }
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

async fn run_feed(socket: WebSocket, state: AppState) {
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

struct WriterContext {
    state: AppState,
    /// The ticket whose messages this socket streams (`None` for the feed).
    ticket_id: Option<i64>,
    lifetime: Arc<Lifetime>,
    overflow: CancellationToken,
}

/// Sends the opening frames, then the queue, keeping message frames in seq order;
/// pings the peer; closes on overflow (1013), drain (1012), silence, or when the
/// reader ends.
async fn write_loop(
    mut sink: SplitSink<WebSocket, WsMessage>,
    mut queue: mpsc::Receiver<Outbound>,
    opening: Vec<Outbound>,
    mut last_sent: i64,
    ctx: WriterContext,
) {
    let lifetime = &ctx.lifetime;
    for out in opening {
        if let Outbound::Frame(frame) = out {
            let seq = frame.seq;
            if write_frame(&mut sink, frame, &ctx.overflow).await != Sent::Ok {
                lifetime.ended.cancel();
                return;
            }
            if let Some(seq) = seq {
                last_sent = last_sent.max(seq);
            }
        }
    }
    let mut ping = tokio::time::interval(ctx.state.settings.ping_interval);
    ping.tick().await;
    let drain = ctx.state.shutdown.clone();
    let code = loop {
        let frame = tokio::select! {
            _ = lifetime.ended.cancelled() => {
                let requested = lifetime.close_code.load(Ordering::Relaxed);
                break u16::try_from(requested).ok().filter(|code| *code != 0);
            }
            _ = ctx.overflow.cancelled() => break Some(1013),
            _ = drain.cancelled() => {
                // Spread the reconnects of a draining node over the drain window.
                let window = ctx.state.settings.drain_window;
                let delay = window.mul_f64(rand::random::<f64>());
                tokio::time::sleep(delay).await;
                break Some(1012);
            }
            _ = ping.tick() => {
                if lifetime.silent_for() > ctx.state.settings.idle_timeout {
                    break Some(1001);
                }
                if send(&mut sink, WsMessage::Ping(Default::default())).await.is_err() {
                    break None;
                }
                continue;
            }
            out = queue.recv() => match out {
                None => break None,
                Some(Outbound::Close(code, _)) => break Some(code),
                Some(Outbound::Frame(frame)) => frame,
            }
        };
        if let Some(seq) = frame.seq {
            if seq <= last_sent {
                continue;
            }
            if seq > last_sent + 1 && !fill_hole(&mut sink, &ctx, last_sent, seq).await {
                metrics().resyncs.inc();
                break Some(1013);
            }
        }
        let seq = frame.seq;
        match write_frame(&mut sink, frame, &ctx.overflow).await {
            Sent::Ok => last_sent = seq.unwrap_or(last_sent),
            Sent::Overflow => break Some(1013),
            Sent::Failed => break None,
        }
    };
    if let Some(code) = code {
        let _ = close(&mut sink, code, close_reason(code)).await;
    }
    lifetime.ended.cancel();
}

/// Writes one frame and counts it, with its delivery latency when it carries
/// the time its message was stored.
async fn write_frame(
    sink: &mut SplitSink<WebSocket, WsMessage>,
    frame: Frame,
    overflow: &CancellationToken,
) -> Sent {
    let sent = send_unless(sink, WsMessage::Text(frame.text), overflow).await;
    if sent == Sent::Ok {
        let m = metrics();
        m.frames_delivered
            .with_label_values(&[frame.kind.as_str()])
            .inc();
        if let Some(stored_at) = frame.stored_at {
            let micros = chrono::Utc::now().timestamp_micros() - stored_at;
            m.delivery_latency
                .observe(micros.max(0) as f64 / 1_000_000.0);
        }
    }
    sent
}

/// Sends the stored messages strictly between `after` and `before`.
async fn fill_hole(
    sink: &mut SplitSink<WebSocket, WsMessage>,
    ctx: &WriterContext,
    after: i64,
    before: i64,
) -> bool {
    let Some(ticket_id) = ctx.ticket_id else {
        return true;
    };
    let range = MessageRange {
        after_seq: after,
        before_seq: Some(before),
        limit: MAX_REPLAY,
    };
    let Ok(slice) = ctx.state.store.messages(ticket_id, range).await else {
        return false;
    };
    if slice.has_more || slice.messages.len() as i64 != before - after - 1 {
        return false;
    }
    metrics().gap_refills.inc();
    for message in &slice.messages {
        if write_frame(sink, Frame::message(message), &ctx.overflow).await != Sent::Ok {
            return false;
        }
    }
    true
}

fn close_reason(code: u16) -> &'static str {
    match code {
        1001 => "no answer to pings",
        1009 => "frame too large",
        1011 => "internal error",
        1012 => "server draining; reconnect with since",
        1013 => "too slow to keep up; reconnect with since",
        4401 => "credential expired or revoked",
        _ => "",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Ok,
    Overflow,
    Failed,
}

/// Sends unless the socket is declared too slow while the write is blocked (the
/// peer stopped reading). The frame stays buffered ahead of the close that follows.
async fn send_unless(
    sink: &mut SplitSink<WebSocket, WsMessage>,
    message: WsMessage,
    overflow: &CancellationToken,
) -> Sent {
    tokio::select! {
        sent = send(sink, message) => if sent.is_ok() { Sent::Ok } else { Sent::Failed },
        _ = overflow.cancelled() => Sent::Overflow,
    }
}

async fn send(sink: &mut SplitSink<WebSocket, WsMessage>, message: WsMessage) -> Result<(), ()> {
    match tokio::time::timeout(WRITE_TIMEOUT, sink.send(message)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

async fn close(
    sink: &mut SplitSink<WebSocket, WsMessage>,
    code: u16,
    reason: &'static str,
) -> Result<(), ()> {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    send(sink, WsMessage::Close(Some(frame))).await
}
