//! Email routes (issue 18): transcripts, the resume link's exchange, and the
//! admins' view of the outbox. Sending is the mail worker's (`chat::email`).

use super::AppState;
use super::extract::{AdminAgent, CurrentAgent, JsonBody, PathKey, QueryParams};
use super::guest::ticket_of_session;
use super::tickets::load;
use crate::domain::Ticket;
use crate::domain::email::{EmailStatus, OutboxEmail};
use crate::error::ApiError;
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TranscriptRequest {
    email: Option<String>,
}

/// The visitor asks for the conversation by email: `202` with the outbox entry.
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResumeRequest {
    token: Option<String>,
}

#[derive(Serialize)]
struct Resumed {
    session_id: String,
    ticket: Ticket,
}

/// Trades an email link's token for its conversation.
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

#[derive(Serialize)]
struct OutboxPage {
    emails: Vec<OutboxEmail>,
    next_before: Option<i64>,
    smtp_configured: bool,
}

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
