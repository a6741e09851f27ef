//! Private notes: an agent writes on a ticket what only the team sees. A note is
//! stored `internal` and numbered in the agents' stream only, so no guest route,
//! visitor socket or visitor numbering ever holds it (`Message::for_visitor`).

use super::AppState;
use super::extract::{CurrentAgent, JsonBody, PathKey};
use super::tickets::load;
use crate::domain::Message;
use crate::error::{ApiError, ErrorEnvelope};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/support/tickets/{ticket_id}/notes", post(create_note))
}

/// The private notes' part of the OpenAPI description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(create_note))]
pub struct Api;

#[derive(Deserialize, utoipa::ToSchema)]
struct NoteRequest {
    /// 1 to MAX_MESSAGE_CHARS (8192) characters after trimming.
    #[schema(required, nullable = false, min_length = 1)]
    message: Option<String>,
    /// 1 to 64 characters; a resend with the same text answers the first note.
    #[schema(max_length = 64)]
    client_msg_id: Option<String>,
}

/// `201` with the stored note; a resend of a stored `client_msg_id` (same text)
/// stores nothing and answers `200` with the first note.
#[utoipa::path(
    post,
    path = "/api/support/tickets/{ticket_id}/notes",
    tag = "agent",
    summary = "Write a private note on a ticket (only the team sees it)",
    params(super::tickets::TicketPath),
    request_body = NoteRequest,
    responses(
        (status = 201, description = "The stored note (`visibility: internal`)", body = Message),
        (status = 200, description = "A resend of a stored `client_msg_id`: the first note, nothing stored", body = Message),
        (status = 400, description = "`validation_failed` naming the field", body = ErrorEnvelope),
        (status = 404, description = "`not_found`: unknown ticket", body = ErrorEnvelope),
        (status = 409, description = "`ticket_closed` or `client_msg_id_reused`", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
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
