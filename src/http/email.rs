//! Email routes (issue 18): transcripts, the resume link's exchange, and the
//! admins' view of the outbox. Sending is the mail worker's (`chat::email`).

use super::AppState;
use super::extract::{AdminAgent, CurrentAgent, JsonBody, PathKey, QueryParams};
use super::guest::ticket_of_session;
use super::tickets::load;
use crate::domain::Ticket;
use crate::domain::email::{EmailStatus, OutboxEmail};
use crate::error::{ApiError, ErrorEnvelope};
use crate::store::OutboxQuery;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

/// The outbox's default and largest page.
const DEFAULT_OUTBOX_PAGE: u32 = 50;
const MAX_OUTBOX_PAGE: u32 = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/support/ticket/{key}/transcript",
            post(guest_transcript),
        )
        .route(
            "/api/support/tickets/{key}/transcript",
            post(agent_transcript),
        )
        .route("/api/support/resume", post(resume))
        .route("/api/support/outbox", get(outbox))
}

/// Email's part of the OpenAPI description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(guest_transcript, agent_transcript, resume, outbox))]
pub struct Api;

/// The body may be empty or absent.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TranscriptRequest {
    /// Default the ticket's `user_email` (at most 254 characters).
    #[schema(max_length = 254, format = Email)]
    email: Option<String>,
}

/// The visitor asks for the conversation by email: `202` with the outbox entry.
#[utoipa::path(
    post,
    path = "/api/support/ticket/{session_id}/transcript",
    tag = "guest",
    summary = "Email the conversation to the visitor",
    params(super::guest::SessionPath),
    request_body(content = Option<TranscriptRequest>),
    responses(
        (status = 202, description = "Queued: the outbox entry", body = OutboxEmail),
        (status = 400, description = "`validation_failed`: `email` (none known, or not an address)", body = ErrorEnvelope),
        (status = 404, description = "`not_found`: unknown session", body = ErrorEnvelope),
        (status = 429, description = "`rate_limited`: 3 transcripts an hour per ticket", body = ErrorEnvelope),
    ),
)]
async fn guest_transcript(
    State(state): State<AppState>,
    PathKey(key): PathKey,
    JsonBody(request): JsonBody<TranscriptRequest>,
) -> Result<(StatusCode, Json<OutboxEmail>), ApiError> {
    let ticket = ticket_of_session(&state, &key).await?;
    let queued = state
        .chat
        .email_transcript(&ticket, request.email.as_deref(), true)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(queued)))
}

/// An agent sends the conversation to the visitor (or another address).
#[utoipa::path(
    post,
    path = "/api/support/tickets/{ticket_id}/transcript",
    tag = "agent",
    summary = "Email the conversation to the visitor or another address",
    params(super::tickets::TicketPath),
    request_body(content = Option<TranscriptRequest>),
    responses(
        (status = 202, description = "Queued: the outbox entry", body = OutboxEmail),
        (status = 400, description = "`validation_failed`: `email` (none known, or not an address)", body = ErrorEnvelope),
        (status = 404, description = "`not_found`: unknown ticket", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
async fn agent_transcript(
    State(state): State<AppState>,
    _: CurrentAgent,
    PathKey(raw_id): PathKey,
    JsonBody(request): JsonBody<TranscriptRequest>,
) -> Result<(StatusCode, Json<OutboxEmail>), ApiError> {
    let ticket = load(&state, &raw_id).await?;
    let queued = state
        .chat
        .email_transcript(&ticket, request.email.as_deref(), false)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(queued)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ResumeRequest {
    /// The token of an email's link.
    #[schema(required, nullable = false)]
    token: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Resumed {
    session_id: String,
    ticket: Ticket,
}

/// Trades an email link's token for its conversation.
#[utoipa::path(
    post,
    path = "/api/support/resume",
    tag = "public",
    summary = "Trade an email link's token for its conversation",
    request_body = ResumeRequest,
    responses(
        (status = 200, description = "The session id and the ticket as its visitor sees it", body = Resumed),
        (status = 400, description = "`validation_failed`: no `token`", body = ErrorEnvelope),
        (status = 403, description = "`forbidden`: the link has expired", body = ErrorEnvelope),
        (status = 404, description = "`not_found`: not one of our tokens, or it names no ticket", body = ErrorEnvelope),
    ),
)]
async fn resume(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<ResumeRequest>,
) -> Result<Json<Resumed>, ApiError> {
    let token = request
        .token
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| ApiError::validation("token", "token is required"))?;
    let ticket = state.chat.resume_from_link(&token).await?;
    Ok(Json(Resumed {
        session_id: ticket.session_id.clone(),
        ticket,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
struct OutboxPage {
    emails: Vec<OutboxEmail>,
    next_before: Option<i64>,
    smtp_configured: bool,
}

#[utoipa::path(
    get,
    path = "/api/support/outbox",
    tag = "admin",
    summary = "The emails, newest first",
    params(
        ("status" = Option<String>, Query, description = "`pending`, `sent`, `failed` or `all` (default)"),
        ("limit" = Option<u32>, Query, description = "1 to 200, default 50", minimum = 1, maximum = 200),
        ("before" = Option<i64>, Query, description = "The page after the one that ended at this email id", minimum = 1),
    ),
    responses(
        (status = 200, description = "A page of the outbox", body = OutboxPage),
        (status = 400, description = "`validation_failed` naming the parameter", body = ErrorEnvelope),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
async fn outbox(
    State(state): State<AppState>,
    _: AdminAgent,
    QueryParams(params): QueryParams,
) -> Result<Json<OutboxPage>, ApiError> {
    let status = match params.get("status").map(String::as_str) {
        None | Some("") | Some("all") => None,
        Some(raw) => Some(EmailStatus::parse(raw).ok_or_else(|| {
            ApiError::validation("status", "status must be pending, sent or failed")
        })?),
    };
    let limit = match params.get("limit") {
        None => DEFAULT_OUTBOX_PAGE,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_OUTBOX_PAGE).contains(n))
            .ok_or_else(|| {
                ApiError::validation("limit", format!("limit must be 1 to {MAX_OUTBOX_PAGE}"))
            })?,
    };
    let before = match params.get("before") {
        None => None,
        Some(raw) => Some(
            raw.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| ApiError::validation("before", "before must be an email id"))?,
        ),
    };
    // One more than asked: whether another page follows.
    let mut emails = state
        .store
        .outbox(&OutboxQuery {
            status,
            limit: limit + 1,
            before,
        })
        .await?;
    let more = emails.len() > limit as usize;
    emails.truncate(limit as usize);
    Ok(Json(OutboxPage {
        next_before: more.then(|| emails.last().map(|e| e.id)).flatten(),
        emails,
        smtp_configured: state.chat.smtp_configured(),
    }))
}
