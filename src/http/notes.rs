//! Private notes: an agent writes on a ticket what only the team sees. A note is
//! stored `internal` and numbered in the agents' stream only, so no guest route,
//! visitor socket or visitor numbering ever holds it (`Message::for_visitor`).

use super::AppState;
use super::extract::{CurrentAgent, JsonBody, PathKey};
use super::tickets::load;
use crate::domain::Message;
use crate::error::ApiError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/support/tickets/{ticket_id}/notes", post(create_note))
}

#[derive(Deserialize)]
struct NoteRequest {
    message: Option<String>,
    client_msg_id: Option<String>,
}

/// `201` with the stored note; a resend of a stored `client_msg_id` (same text)
/// stores nothing and answers `200` with the first note.
async fn create_note(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    PathKey(raw_id): PathKey,
    JsonBody(request): JsonBody<NoteRequest>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    let ticket = load(&state, &raw_id).await?;
    let appended = state
        .chat
        .append_note(
            ticket.id,
            &agent,
            request.message.as_deref(),
            request.client_msg_id.as_deref(),
        )
        .await?;
    let status = if appended.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(appended.message)))
}
