//! The three WebSocket endpoints. Everything that can refuse a socket is checked
//! before the upgrade, so a refusal is a plain HTTP status: 503 while draining,
//! 403 for a foreign browser origin, 401 for a missing or bad agent credential,
//! 404 for an unknown session, 429 past the upgrade rate or a visitor socket cap
//! (`socket_caps`).

use super::extract::{ClientIp, QueryParams, bearer_token};
use super::guest::ticket_of_session;
use super::socket_caps::SocketSlot;
use super::{AppState, check_rate};
use crate::auth::Credential;
use crate::config::origin_of;
use crate::domain::visitor;
use crate::domain::{Agent, SenderType};
use crate::error::ApiError;
use crate::realtime::protocol::FeedScope;
use crate::realtime::session::{self, SocketKind, TicketSocket};
use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::{ACCEPT_LANGUAGE, HOST, ORIGIN, USER_AGENT};
use axum::response::Response;
use axum::routing::get;
use futures_util::FutureExt;
use std::net::IpAddr;

/// tungstenite reads into a buffer of this size, zero-filled on the first read and
/// so resident on every socket (its default, 128 KiB, would cost about 1 GB per
/// 10,000 idle sockets). A chat frame is a few hundred bytes; a larger one
/// grows the buffer as it is read.
const READ_BUFFER_BYTES: usize = 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ws/support/user/{session_id}", get(user_socket))
        .route("/ws/support/supporter/{session_id}", get(supporter_socket))
        .route("/ws/support/agent", get(agent_feed))
}

/// A browser's `Origin` must be the service's own (`PUBLIC_URL`, or the host the
/// request came to), or one of `ALLOWED_ORIGINS`. Clients that are not browsers
/// send no `Origin` and pass.
fn check_origin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(origin) = headers.get(ORIGIN) else {
        return Ok(());
    };
    let origin = origin
        .to_str()
        .ok()
        .and_then(origin_of)
        .ok_or(ApiError::Forbidden("origin not allowed"))?;
    let settings = &state.settings;
    let same_host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|host| {
            origin
                .split_once("://")
                .is_some_and(|(_, authority)| authority == host.to_ascii_lowercase())
        });
    if origin == settings.public_origin || same_host || settings.allowed_origins.contains(&origin) {
        Ok(())
    } else {
        Err(ApiError::Forbidden("origin not allowed"))
    }
}

/// The checks every socket passes first: not draining, within the client's
/// upgrade rate, from an allowed origin.
fn admit(state: &AppState, ip: IpAddr, headers: &HeaderMap) -> Result<(), ApiError> {
    if state.is_draining() {
        return Err(ApiError::Unavailable);
    }
    check_rate("socket_upgrade", &state.limiters.sockets, &ip)?;
    check_origin(state, headers)
}

/// The agent and what its token says (kept to close the socket when the token
/// expires or is revoked).
async fn agent_of(state: &AppState, headers: &HeaderMap) -> Result<(Agent, Credential), ApiError> {
    let token = bearer_token(headers).ok_or(ApiError::Unauthorized)?;
    state.auth.credential(&token).await
}

fn since(query: &QueryParams) -> Result<Option<i64>, ApiError> {
    query.int("since", 0, i64::MAX)
}

/// Sizes every socket the same way: small buffers, writes flushed at once.
/// Frames over `MAX_FRAME_BYTES` are read whole and answered with a 1009 close
/// (the session checks); tungstenite's own cap, above it, only stops abuse, since
/// refusing mid-frame would reset the connection before the close gets through.
fn configure(ws: WebSocketUpgrade, state: &AppState) -> WebSocketUpgrade {
    let max = state.realtime.settings.max_frame_bytes;
    let hard_cap = (max * 4).max(256 * 1024);
    ws.max_message_size(hard_cap)
        .max_frame_size(hard_cap)
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_write_buffer_size(max * 4)
}

async fn user_socket(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(session_id): Path<String>,
    query: QueryParams,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    admit(&state, ip, &headers)?;
    let since = since(&query)?;
    let ticket = ticket_of_session(&state, &session_id).await?;
    let name = match query.get("name") {
        Some(name) => crate::domain::validation::required_text(
            "name",
            Some(name),
            state.settings.limits.name_chars,
        )?,
        None => ticket.user_name.clone(),
    };
    let slot = state.socket_caps.admit(ticket.id, ip)?;
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let kind = SocketKind::Ticket(Box::new(TicketSocket {
        ticket,
        role: SenderType::User,
        name,
        agent: None,
        since,
        client_ip: ip,
        join: false,
        user_agent: header(USER_AGENT).and_then(visitor::user_agent),
        accept_locale: header(ACCEPT_LANGUAGE).and_then(visitor::locale_from_accept_language),
    }));
    Ok(upgrade(ws, state, kind, Some(slot)))
}

/// Upgrades, and runs the socket as a task the node waits for at shutdown. The
/// visitor's socket slot is held until that task ends (or dropped with the
/// upgrade, if it never completes).
fn upgrade(
    ws: WebSocketUpgrade,
    state: AppState,
    kind: SocketKind,
    slot: Option<SocketSlot>,
) -> Response {
    let sockets = state.sockets.clone();
    configure(ws, &state).on_upgrade(move |socket| {
        let served = session::run(socket, state.realtime, kind).map(move |()| drop(slot));
        sockets.track_future(served)
    })
}

async fn supporter_socket(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(session_id): Path<String>,
    query: QueryParams,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    admit(&state, ip, &headers)?;
    let agent = agent_of(&state, &headers).await?;
    let since = since(&query)?;
    // Opening a ticket only watches it; `join=1` asks for the original
    // protocol's join on open (an `open` ticket is assigned to the caller).
    let join = match query.get("join") {
        None | Some("0") => false,
        Some("1") => true,
        Some(_) => return Err(ApiError::validation("join", "join must be 0 or 1")),
    };
    let ticket = ticket_of_session(&state, &session_id).await?;
    let kind = SocketKind::Ticket(Box::new(TicketSocket {
        ticket,
        role: SenderType::Supporter,
        name: agent.0.name.clone(),
        agent: Some(agent),
        since,
        client_ip: ip,
        join,
        user_agent: None,
        accept_locale: None,
    }));
    Ok(upgrade(ws, state, kind, None))
}

async fn agent_feed(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    query: QueryParams,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    admit(&state, ip, &headers)?;
    let scope = match query.get("scope") {
        None => FeedScope::default(),
        Some(text) => FeedScope::parse(text)
            .ok_or_else(|| ApiError::validation("scope", "scope must be all or mine"))?,
    };
    let (agent, credential) = agent_of(&state, &headers).await?;
    let kind = SocketKind::Feed {
        agent,
        credential,
        scope,
    };
    Ok(upgrade(ws, state, kind, None))
}
