//! One socket's life: join the hub (before anything is announced, so nothing is
//! missed), record the session and announce presence (through the chat layer),
//! send `ready` and the replay, then run the reader (`reader.rs`) and the writer
//! (`connection.rs`) until either ends.

use super::Realtime;
use super::connection::{Lifetime, WriterContext, close, read_loop, watch_credential, write_loop};
use super::frame::{Closer, Frame, SocketHandle};
use super::protocol::{ClientFrame, FeedScope, ServerFrame, parse_client_frame};
use super::reader::TicketReader;
use super::replay::opening_frames;
use crate::auth::Credential;
use crate::domain::{Agent, SenderType, Ticket, TicketChange, TicketStatus};
use crate::error::ApiError;
use crate::metrics::metrics;
use crate::store::NewSession;
use axum::extract::ws::WebSocket;
use futures_util::future::Either;
use futures_util::{FutureExt, StreamExt};
use prometheus::IntGauge;
use std::net::IpAddr;
use std::sync::Arc;
use tokio::sync::mpsc;
use tracing::Instrument;

/// Frames a socket may have queued before it counts as too slow (1013).
pub const OUTBOUND_QUEUE: usize = 256;

/// What kind of socket this is, with what was checked before the upgrade.
pub enum SocketKind {
    /// A visitor or an agent on one ticket.
    Ticket(Box<TicketSocket>),
    /// An agent's feed (the dashboard), with what its token says and what it
    /// carries first.
    Feed {
        agent: Agent,
        credential: Credential,
        scope: FeedScope,
    },
}

/// A socket on one ticket, as the upgrade admitted it.
pub struct TicketSocket {
    pub ticket: Ticket,
    pub role: SenderType,
    /// The name others see on this side's messages and typing.
    pub name: String,
    /// The agent behind a supporter socket, with what its token says.
    pub agent: Option<(Agent, Credential)>,
    pub since: Option<i64>,
    /// Whose budget the visitor's messages come out of (`chat::limits`).
    pub client_ip: IpAddr,
    /// An agent asked to join on open (`join=1`): an `open` ticket is assigned
    /// to them. Without it, opening a ticket only watches it.
    pub join: bool,
    /// A visitor's browser, from the upgrade request: its `User-Agent`, and the
    /// first language of its `Accept-Language` (the locale until the chat app
    /// reports `navigator.language`). Recorded as the ticket's visitor context.
    pub user_agent: Option<String>,
    pub accept_locale: Option<String>,
}

/// Serves one upgraded socket until it closes.
///
/// `run` and `serve` are plain functions returning the socket's future rather
/// than `async fn`s: every idle socket keeps this future for its whole life, and
/// each `async fn` layer would add its own copy of the arguments to it (the
/// `socket_future_size` test keeps it small).
pub fn run(socket: WebSocket, realtime: Realtime, kind: SocketKind) -> impl Future<Output = ()> {
    let role = match &kind {
        SocketKind::Ticket(opened) => opened.role.as_str(),
        SocketKind::Feed { .. } => "agent",
    };
    let open = OpenGauge::new(metrics().connections_open.with_label_values(&[role]));
    serve(socket, realtime, kind).map(move |()| drop(open))
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

fn serve(socket: WebSocket, realtime: Realtime, kind: SocketKind) -> impl Future<Output = ()> {
    match kind {
        SocketKind::Ticket(opened) => {
            let span = tracing::info_span!("socket", ticket_id = opened.ticket.id, role = opened.role.as_str(), node_id = %realtime.settings.node_id);
            Either::Left(
                run_ticket(socket, realtime, *opened)
                    .map(drop)
                    .instrument(span),
            )
        }
        SocketKind::Feed {
            agent,
            credential,
            scope,
        } => {
            let span = tracing::info_span!("socket", role = "feed", agent_id = agent.id, node_id = %realtime.settings.node_id);
            Either::Right(run_feed(socket, realtime, credential, scope).instrument(span))
        }
    }
}

/// A socket's queue and its hub handle.
fn socket_handle(
    realtime: &Realtime,
    role: SenderType,
) -> (SocketHandle, mpsc::Receiver<Arc<Frame>>) {
    let (queue, queue_rx) = mpsc::channel(OUTBOUND_QUEUE);
    let handle = SocketHandle {
        id: realtime.hub.next_socket_id(),
        role,
        queue,
        closer: Closer::new(),
    };
    (handle, queue_rx)
}

async fn run_ticket(socket: WebSocket, realtime: Realtime, opened: TicketSocket) -> Result<(), ()> {
    let TicketSocket {
        ticket,
        role,
        name,
        agent,
        since,
        client_ip,
        join,
        user_agent,
        accept_locale,
    } = opened;
    tracing::debug!(since, "socket opened");
    let (agent, credential) = agent.unzip();
    let (handle, queue_rx) = socket_handle(&realtime, role);
    let (mut sink, stream) = socket.split();
    let Some(live_after) = realtime.hub.join(ticket.id, handle.clone()).await else {
        let _ = close(&mut sink, 1011, "hub stopped").await;
        return Err(());
    };
    let leave = || realtime.hub.leave(ticket.id, handle.id);
    let chat = &realtime.chat;

    // Presence is announced after joining, so this socket sees its own. The
    // one-off steps are boxed so that their futures do not stay part of the
    // socket's (see `run`).
    let session = Box::pin(chat.open_session(NewSession {
        ticket_id: ticket.id,
        role,
        user_id: ticket.user_id.clone().filter(|_| role == SenderType::User),
        supporter_id: agent.as_ref().map(|a| a.id),
        node_id: realtime.settings.node_id.clone(),
    }))
    .await;

    if role == SenderType::User && (user_agent.is_some() || accept_locale.is_some()) {
        let recorded = Box::pin(chat.store.record_visitor_browser(
            ticket.id,
            user_agent.as_deref(),
            accept_locale.as_deref(),
        ))
        .await;
        if let Err(err) = recorded {
            tracing::warn!(cause = %err, "cannot record the visitor's browser");
        }
    }

    if let Some(agent) = agent
        .as_ref()
        .filter(|_| join && ticket.status == TicketStatus::Open)
    {
        let join = TicketChange {
            assign_to: Some((agent.id, agent.name.clone())),
            actor: Some((agent.id, agent.name.clone())),
            join: true,
            ..TicketChange::default()
        };
        if let Err(err) = Box::pin(chat.change_ticket(ticket.id, join)).await {
            tracing::warn!(cause = %err, "agent join could not assign the ticket");
        }
    }

    let opening = Box::pin(opening_frames(
        &realtime.openings,
        ticket.id,
        role,
        since,
        live_after,
    ))
    .await;
    let opening = match opening {
        Ok(opening) => opening,
        Err(err) => {
            tracing::warn!(cause = %err, "cannot read the ticket to open the socket");
            let _ = close(&mut sink, 1011, "store unavailable").await;
            leave();
            Box::pin(chat.close_session(session)).await;
            return Err(());
        }
    };

    if let Some(state) = opening.queue {
        chat.routing.queue_told(ticket.id, state);
    }
    let lifetime = Lifetime::new(handle.closer.clone());
    if let Some(credential) = credential {
        tokio::spawn(watch_credential(
            realtime.clone(),
            credential,
            lifetime.clone(),
        ));
    }
    let writer = tokio::spawn(write_loop(
        sink,
        queue_rx,
        opening.frames,
        opening.last_sent,
        WriterContext {
            realtime: realtime.clone(),
            ticket_id: Some(ticket.id),
            lifetime: lifetime.clone(),
            visitor: role == SenderType::User,
        },
    ));
    let reader = TicketReader::new(
        realtime.clone(),
        ticket.id,
        role,
        name,
        agent.as_ref().map(|a| a.id),
        client_ip,
        handle.queue.clone(),
    );
    let max_frame = realtime.settings.max_frame_bytes;
    read_loop(stream, lifetime.clone(), max_frame, |text| {
        reader.handle(text)
    })
    .await;
    let _ = writer.await;
    leave();
    Box::pin(chat.close_session(session)).await;
    tracing::debug!("socket closed");
    Ok(())
}

/// At most one activity write per feed socket in this long: the dashboard
/// sends `activity` at most once a minute, and automatic away counts minutes.
const ACTIVITY_WRITE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

async fn run_feed(socket: WebSocket, realtime: Realtime, credential: Credential, scope: FeedScope) {
    let (handle, queue_rx) = socket_handle(&realtime, SenderType::Supporter);
    let queue = handle.queue.clone();
    let (sink, stream) = socket.split();
    let agent_id = credential.agent_id;
    realtime.hub.join_feed(handle.clone(), agent_id, scope);
    // The agent is connected (online, unless away) from here on, on every node.
    let dashboard = Box::pin(realtime.chat.open_dashboard(agent_id)).await;
    let lifetime = Lifetime::new(handle.closer.clone());
    tokio::spawn(watch_credential(
        realtime.clone(),
        credential,
        lifetime.clone(),
    ));
    let writer = tokio::spawn(write_loop(
        sink,
        queue_rx,
        Vec::new(),
        0,
        WriterContext {
            realtime: realtime.clone(),
            ticket_id: None,
            lifetime: lifetime.clone(),
            visitor: false,
        },
    ));
    // The first `activity` is always written (it may end an automatic away),
    // then at most one per ACTIVITY_WRITE_INTERVAL.
    let last_activity: std::sync::Mutex<Option<tokio::time::Instant>> = std::sync::Mutex::new(None);
    read_loop(
        stream,
        lifetime.clone(),
        realtime.settings.max_frame_bytes,
        |text| {
            let reply = match parse_client_frame(&text) {
                Ok(ClientFrame::Ping) => Some(Frame::new(&ServerFrame::Pong)),
                Ok(ClientFrame::Activity) => {
                    let mut last = last_activity
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    if last.is_none_or(|at| at.elapsed() >= ACTIVITY_WRITE_INTERVAL) {
                        *last = Some(tokio::time::Instant::now());
                        let chat = realtime.chat.clone();
                        tokio::spawn(async move { chat.record_activity(agent_id).await });
                    }
                    None
                }
                Ok(ClientFrame::Scope(scope)) => {
                    realtime.hub.set_feed_scope(handle.id, scope);
                    None
                }
                Err((ApiError::Validation(error), _)) if error.field == "data.scope" => {
                    Some(Frame::new(&ServerFrame::Error {
                        error: ApiError::Validation(error).body(),
                        client_msg_id: None,
                    }))
                }
                _ => Some(Frame::new(&ServerFrame::Error {
                    error: ApiError::validation(
                        "type",
                        "the agent feed accepts only ping, activity and scope frames",
                    )
                    .body(),
                    client_msg_id: None,
                })),
            };
            if let Some(reply) = reply {
                let _ = queue.try_send(Arc::new(reply));
            }
            async {}
        },
    )
    .await;
    lifetime.ended.cancel();
    let _ = writer.await;
    realtime.hub.leave_feed(handle.id);
    Box::pin(realtime.chat.close_dashboard(dashboard)).await;
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
