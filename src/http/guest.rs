//! The visitor's routes. The session id in the path is the guest's capability for
//! one ticket; it is never listed, and an unknown one is 404.

use super::extract::{ClientIp, JsonBody, PathKey, QueryParams};
use super::tickets::assign_ticket;
use super::{AppState, check_rate};
use crate::chat::TicketRequest;
use crate::domain::{SenderType, Ticket};
use crate::error::ApiError;
use crate::store::{MessageRange, MessageSlice, StoreError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

/// Default and largest page of messages.
pub const DEFAULT_MESSAGE_PAGE: i64 = 100;
pub const MAX_MESSAGE_PAGE: i64 = 500;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/support/ticket", post(create_ticket))
        .route("/api/support/ticket/{key}", get(get_ticket))
        .route("/api/support/ticket/{key}/messages", get(list_messages))
        .route("/api/support/ticket/{key}/close", post(close_ticket))
        // The original design's assign path: here `{key}` is a numeric ticket id.
        .route("/api/support/ticket/{key}/assign", post(assign_ticket))
        .route("/api/support/user/tickets", get(user_tickets))
        .route("/api/support/availability", get(availability))
        .route("/api/support/ticket/{key}/rating", post(rate_ticket))
}

#[derive(serde::Deserialize)]
struct RatingRequest {
    score: Option<i64>,
    comment: Option<String>,
}

/// The visitor rates the conversation (issue 18): `201` with their ticket.
async fn rate_ticket(
    State(state): State<AppState>,
    PathKey(key): PathKey,
    JsonBody(request): JsonBody<RatingRequest>,
) -> Result<(StatusCode, Json<Ticket>), ApiError> {
    let ticket = ticket_of_session(&state, &key).await?;
    let rated = state
        .chat
        .rate(&ticket, request.score, request.comment.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(rated)))
}

/// Whether the desk answers now, for the widget (issue 18).
async fn availability(
    State(state): State<AppState>,
) -> Result<Json<crate::chat::availability::Availability>, ApiError> {
    Ok(Json(state.chat.availability(chrono::Utc::now()).await?))
}

async fn create_ticket(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(request): JsonBody<TicketRequest>,
) -> Result<(StatusCode, Json<Ticket>), ApiError> {
    check_rate("ticket_create", &state.limiters.tickets, &ip)?;
    if request.message.is_some() {
        state.chat.message_limits.check_first_message(ip)?;
    }
    let (ticket, _) = state.chat.create_ticket(request).await?;
    Ok((StatusCode::CREATED, Json(ticket)))
}

/// The guest's ticket, by session id.
pub async fn ticket_of_session(state: &AppState, session_id: &str) -> Result<Ticket, ApiError> {
    // Session ids are UUIDs: anything else cannot name a ticket.
    if uuid::Uuid::parse_str(session_id).is_err() {
        return Err(ApiError::NotFound("ticket"));
    }
    match state
        .store
        .ticket_by_session(session_id, SenderType::User)
        .await
    {
        Err(StoreError::NotFound) => Err(ApiError::NotFound("ticket")),
        other => {
            let ticket = other?;
            super::record_ticket(ticket.id);
            Ok(ticket)
        }
    }
}

async fn get_ticket(
    State(state): State<AppState>,
    PathKey(key): PathKey,
) -> Result<Json<Ticket>, ApiError> {
    Ok(Json(ticket_of_session(&state, &key).await?))
}

#[derive(Serialize)]
pub struct MessagesPage {
    messages: Vec<crate::domain::Message>,
    has_more: bool,
}

impl From<MessageSlice> for MessagesPage {
    fn from(slice: MessageSlice) -> Self {
        MessagesPage {
            messages: slice.messages,
            has_more: slice.has_more,
        }
    }
}

/// Reads `after_seq`, `before_seq` and `limit`, each checked.
pub fn message_range(query: &QueryParams) -> Result<MessageRange, ApiError> {
    let after_seq = query.int("after_seq", 0, i64::MAX)?.unwrap_or(0);
    let before_seq = query.int("before_seq", 1, i64::MAX)?;
    let limit = query
        .int("limit", 1, MAX_MESSAGE_PAGE)?
        .unwrap_or(DEFAULT_MESSAGE_PAGE);
    Ok(MessageRange {
        after_seq,
        before_seq,
        limit: limit as u32,
    })
}

async fn list_messages(
    State(state): State<AppState>,
    PathKey(key): PathKey,
    query: QueryParams,
) -> Result<Json<MessagesPage>, ApiError> {
    let range = message_range(&query)?;
    let ticket = ticket_of_session(&state, &key).await?;
    // The visitor's own numbering: public messages only, `seq` = `public_seq`.
    let mut page = MessagesPage::from(state.store.public_messages(ticket.id, range).await?);
    page.messages = page
        .messages
        .iter()
        .filter_map(|message| message.for_visitor())
        .collect();
    Ok(Json(page))
}

async fn close_ticket(
    State(state): State<AppState>,
    PathKey(key): PathKey,
) -> Result<Json<Ticket>, ApiError> {
    let ticket = ticket_of_session(&state, &key).await?;
    Ok(Json(state.chat.close_by_guest(&ticket).await?))
}

/// The most tickets a verified user's list returns (newest first).
pub const MAX_USER_TICKETS: u32 = 100;

#[derive(Serialize)]
struct UserTickets {
    tickets: Vec<Ticket>,
}

/// A storefront-verified user's own tickets (with their session ids, so the
/// widget can resume any of them): `?user_id=…&user_hash=…`.
async fn user_tickets(
    State(state): State<AppState>,
    query: QueryParams,
) -> Result<Json<UserTickets>, ApiError> {
    let user_id = query
        .get("user_id")
        .ok_or_else(|| ApiError::validation("user_id", "user_id is required"))?;
    let user_id = state.chat.verified_user(user_id, query.get("user_hash"))?;
    let tickets = state
        .store
        .tickets_of_user(&user_id, MAX_USER_TICKETS)
        .await?;
    Ok(Json(UserTickets { tickets }))
}
