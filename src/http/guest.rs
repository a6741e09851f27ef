//! The visitor's routes. The session id in the path is the guest's capability for
//! one ticket; it is never listed, and an unknown one is 404.

use super::extract::{ClientIp, CurrentAgent, JsonBody, PathKey, QueryParams};
use super::tickets::{AssignRequest, assign_ticket};
use super::{AppState, check_rate};
use crate::chat::TicketRequest;
use crate::domain::Ticket;
use crate::error::{ApiError, ErrorEnvelope};
use crate::store::{MessageRange, MessageSlice};
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
        .route("/api/support/ticket/{key}/assign", post(legacy_assign))
        .route("/api/support/user/tickets", get(user_tickets))
        .route("/api/support/availability", get(availability))
        .route("/api/support/ticket/{key}/rating", post(rate_ticket))
}

/// The guest routes' part of the OpenAPI description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_ticket,
    get_ticket,
    list_messages,
    close_ticket,
    legacy_assign,
    user_tickets,
    availability,
    rate_ticket,
))]
pub struct Api;

/// The session id in a guest route's path.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by the description only; handlers take [`PathKey`].
pub struct SessionPath {
    /// The ticket's session id (a UUID), returned once by `POST /api/support/ticket`.
    session_id: uuid::Uuid,
}

/// `after_seq`, `before_seq` and `limit` of a message page ([`message_range`]).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Read by the description only; handlers take [`QueryParams`].
pub struct MessagePageQuery {
    /// The oldest `limit` messages after this seq (default 0).
    #[param(minimum = 0)]
    after_seq: Option<i64>,
    /// Scrolling back: the newest `limit` messages before this seq.
    #[param(minimum = 1)]
    before_seq: Option<i64>,
    /// Default 100.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// The body of `POST /api/support/ticket` as the description shows it (the
/// handler reads it as [`TicketRequest`], which lives in `chat`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Read by the description only.
struct NewTicketBody {
    /// 1 to 100 characters, no control characters.
    #[schema(min_length = 1, max_length = 100)]
    user_name: String,
    /// Optional (required while the desk is outside its business hours).
    #[schema(max_length = 254, format = Email)]
    user_email: Option<String>,
    #[schema(min_length = 1, max_length = 200)]
    subject: String,
    /// `low`, `medium` (default), `high` or `urgent`.
    priority: Option<crate::domain::Priority>,
    /// Stored as the first message (seq 1).
    message: Option<String>,
    /// The storefront's user id; needs a valid `user_hash`.
    #[schema(max_length = 128)]
    user_id: Option<String>,
    /// Lowercase hex HMAC-SHA256 of `user_id` under IDENTITY_SECRET.
    user_hash: Option<String>,
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
struct RatingRequest {
    /// 1 (bad) to 5 (great).
    #[schema(required, nullable = false, minimum = 1, maximum = 5)]
    score: Option<i64>,
    /// At most 1000 characters, trimmed; blank is none.
    #[schema(max_length = 1000)]
    comment: Option<String>,
}

/// The visitor rates the conversation (issue 18): `201` with their ticket.
#[utoipa::path(
    post,
    path = "/api/support/ticket/{session_id}/rating",
    tag = "guest",
    summary = "Rate a resolved or closed conversation",
    params(SessionPath),
    request_body = RatingRequest,
    responses(
        (status = 201, description = "The ticket with its rating", body = Ticket),
        (status = 400, description = "`validation_failed`: a bad score or comment", body = ErrorEnvelope),
        (status = 403, description = "`forbidden`: ratings are turned off (csat)", body = ErrorEnvelope),
        (status = 404, description = "`not_found`: unknown session", body = ErrorEnvelope),
        (status = 409, description = "`conflict` (rated already) or `invalid_transition` (not resolved or closed yet)", body = ErrorEnvelope),
    ),
)]
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
#[utoipa::path(
    get,
    path = "/api/support/availability",
    tag = "public",
    summary = "Whether the desk answers now, and the widget's texts",
    responses((status = 200, description = "The desk's availability", body = super::openapi::AvailabilityBody)),
)]
async fn availability(
    State(state): State<AppState>,
) -> Result<Json<crate::chat::availability::Availability>, ApiError> {
    Ok(Json(state.chat.availability(chrono::Utc::now()).await?))
}

#[utoipa::path(
    post,
    path = "/api/support/ticket",
    tag = "guest",
    summary = "Open a ticket",
    request_body = NewTicketBody,
    responses(
        (status = 201, description = "The new ticket, with its session id", body = Ticket),
        (status = 400, description = "`validation_failed` naming the field", body = ErrorEnvelope),
        (status = 403, description = "`identity_unverified`: `user_id` without a valid `user_hash`", body = ErrorEnvelope),
        (status = 429, description = "`rate_limited`: tickets or messages per client IP", body = ErrorEnvelope),
    ),
)]
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

/// The original design's assign path, an agent route despite its place here:
/// `{ticket_id}` is a numeric ticket id. The same as
/// `POST /api/support/tickets/{ticket_id}/assign`.
#[utoipa::path(
    post,
    path = "/api/support/ticket/{ticket_id}/assign",
    tag = "agent",
    summary = "Assign a ticket (the original design's path; prefer /api/support/tickets/{ticket_id}/assign)",
    params(super::tickets::TicketPath),
    request_body = AssignRequest,
    responses(
        (status = 200, description = "The ticket, assigned", body = Ticket),
        (status = 400, description = "`validation_failed`: `supporter_id` is not an active agent, or `join` for a teammate", body = ErrorEnvelope),
        (status = 404, description = "`not_found`: unknown ticket", body = ErrorEnvelope),
        (status = 409, description = "`ticket_closed` or `invalid_transition`", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
async fn legacy_assign(
    state: State<AppState>,
    caller: CurrentAgent,
    key: PathKey,
    request: JsonBody<AssignRequest>,
) -> Result<Json<Ticket>, ApiError> {
    assign_ticket(state, caller, key, request).await
}

/// The guest's ticket, by session id.
pub async fn ticket_of_session(state: &AppState, session_id: &str) -> Result<Ticket, ApiError> {
    // Session ids are UUIDs: anything else cannot name a ticket.
    if uuid::Uuid::parse_str(session_id).is_err() {
        return Err(ApiError::NotFound("ticket"));
    }
    // Read with the other sockets and guests asking meanwhile (a reconnect
    // storm's upgrades are a few queries).
    let ticket = state
        .realtime
        .openings
        .ticket_of_session(session_id)
        .await?;
    super::record_ticket(ticket.id);
    Ok(ticket)
}

#[utoipa::path(
    get,
    path = "/api/support/ticket/{session_id}",
    operation_id = "guest_get_ticket",
    tag = "guest",
    summary = "The guest's ticket",
    params(SessionPath),
    responses(
        (status = 200, description = "The ticket as its visitor sees it", body = Ticket),
        (status = 404, description = "`not_found`: unknown or malformed session id", body = ErrorEnvelope),
    ),
)]
async fn get_ticket(
    State(state): State<AppState>,
    PathKey(key): PathKey,
) -> Result<Json<Ticket>, ApiError> {
    Ok(Json(ticket_of_session(&state, &key).await?))
}

/// A page of messages in ascending seq order.
#[derive(Serialize, utoipa::ToSchema)]
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

#[utoipa::path(
    get,
    path = "/api/support/ticket/{session_id}/messages",
    operation_id = "guest_list_messages",
    tag = "guest",
    summary = "A page of the visitor's messages (public ones, in the visitor's numbering)",
    params(SessionPath, MessagePageQuery),
    responses(
        (status = 200, description = "The page; `has_more` says more exist beyond it", body = MessagesPage),
        (status = 400, description = "`validation_failed` naming the parameter", body = ErrorEnvelope),
        (status = 404, description = "`not_found`: unknown session", body = ErrorEnvelope),
    ),
)]
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

#[utoipa::path(
    post,
    path = "/api/support/ticket/{session_id}/close",
    tag = "guest",
    summary = "The visitor ends the chat (closing a closed ticket changes nothing)",
    params(SessionPath),
    responses(
        (status = 200, description = "The closed ticket", body = Ticket),
        (status = 404, description = "`not_found`: unknown session", body = ErrorEnvelope),
    ),
)]
async fn close_ticket(
    State(state): State<AppState>,
    PathKey(key): PathKey,
) -> Result<Json<Ticket>, ApiError> {
    let ticket = ticket_of_session(&state, &key).await?;
    Ok(Json(state.chat.close_by_guest(&ticket).await?))
}

/// The most tickets a verified user's list returns (newest first).
pub const MAX_USER_TICKETS: u32 = 100;

#[derive(Serialize, utoipa::ToSchema)]
struct UserTickets {
    tickets: Vec<Ticket>,
}

/// A storefront-verified user's own tickets (with their session ids, so the
/// widget can resume any of them): `?user_id=…&user_hash=…`.
#[utoipa::path(
    get,
    path = "/api/support/user/tickets",
    tag = "guest",
    summary = "A storefront-verified user's own tickets, newest first (at most 100)",
    params(
        ("user_id" = String, Query, description = "The storefront's user id"),
        ("user_hash" = Option<String>, Query, description = "Lowercase hex HMAC-SHA256 of `user_id` under IDENTITY_SECRET"),
    ),
    responses(
        (status = 200, description = "The tickets, with their session ids", body = UserTickets),
        (status = 400, description = "`validation_failed`: no `user_id`, or a malformed query", body = ErrorEnvelope),
        (status = 403, description = "`identity_unverified`: a missing or wrong `user_hash`, or verification off", body = ErrorEnvelope),
    ),
)]
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
