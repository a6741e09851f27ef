//! Presence, capacity and routing (issue 16): an agent's chosen status, the
//! service's settings (admins), and the transfer of a ticket to a teammate.
//! `max_chats` is changed with the other account fields (`agents.rs`).

use super::AppState;
use super::extract::{AdminAgent, CurrentAgent, JsonBody, PathKey};
use super::tickets::load;
use crate::domain::hours::BusinessHours;
use crate::domain::settings::{MAX_AWAY_AFTER_MINUTES, MAX_EMAIL_AFTER_MINUTES, MAX_NOTICE_CHARS};
use crate::domain::{Agent, AssignmentMode, Settings, Ticket};
use crate::error::{ApiError, ErrorEnvelope};
use axum::extract::State;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/support/agents/me/status", put(set_status))
        .route("/api/support/settings", get(get_settings).put(put_settings))
        .route("/api/support/tickets/{ticket_id}/transfer", post(transfer))
}

/// Presence and routing's part of the OpenAPI description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(set_status, get_settings, put_settings, transfer))]
pub struct Api;

#[derive(Deserialize, utoipa::ToSchema)]
struct StatusRequest {
    /// `online` or `away`.
    #[schema(required, nullable = false, value_type = Option<String>, pattern = "^(online|away)$")]
    status: Option<String>,
}

/// Any subset of the settings' fields; a field not listed is 400. (The bounds
/// repeat `MAX_AWAY_AFTER_MINUTES`, `MAX_NOTICE_CHARS` and
/// `MAX_EMAIL_AFTER_MINUTES`: the derive takes literals only.)
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Read by the description only; the handler reads a JSON object.
struct SettingsChange {
    assignment: Option<AssignmentMode>,
    /// 0 (never) to 1440.
    #[schema(minimum = 0, maximum = 1440)]
    away_after_minutes: Option<i64>,
    /// `null`: always open.
    business_hours: Option<BusinessHours>,
    /// At most 1000 characters.
    #[schema(max_length = 1000)]
    greeting: Option<String>,
    /// At most 1000 characters.
    #[schema(max_length = 1000)]
    offline_message: Option<String>,
    /// 1 to 10080 (a week).
    #[schema(minimum = 1, maximum = 10080)]
    email_after_minutes: Option<i64>,
    csat: Option<bool>,
}

/// The agent chooses `away` (kept until they choose `online`, across reloads)
/// or `online` (which is activity too).
#[utoipa::path(
    put,
    path = "/api/support/agents/me/status",
    tag = "agent",
    summary = "Choose online or away",
    request_body = StatusRequest,
    responses(
        (status = 200, description = "The agent with the new status", body = Agent),
        (status = 400, description = "`validation_failed`: `status`", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
async fn set_status(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    JsonBody(request): JsonBody<StatusRequest>,
) -> Result<Json<Agent>, ApiError> {
    let away = match request.status.as_deref() {
        Some("online") => false,
        Some("away") => true,
        _ => {
            return Err(ApiError::validation(
                "status",
                "status must be online or away",
            ));
        }
    };
    let agent = state.chat.set_away(agent.id, away).await?;
    tracing::info!(agent_id = agent.id, away, "agent chose a status");
    Ok(Json(agent))
}

#[utoipa::path(
    get,
    path = "/api/support/settings",
    tag = "admin",
    summary = "The desk's settings",
    responses(
        (status = 200, description = "The settings", body = Settings),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
async fn get_settings(
    State(state): State<AppState>,
    _: AdminAgent,
) -> Result<Json<Settings>, ApiError> {
    Ok(Json(state.store.settings().await?.public()))
}

/// Applies any subset of the settings' fields to the stored ones; every field
/// is checked before anything is stored.
#[utoipa::path(
    put,
    path = "/api/support/settings",
    tag = "admin",
    summary = "Change any of the settings (every field is checked before anything is stored)",
    request_body = SettingsChange,
    responses(
        (status = 200, description = "The settings, changed", body = Settings),
        (status = 400, description = "`validation_failed` naming the field", body = ErrorEnvelope),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
async fn put_settings(
    State(state): State<AppState>,
    AdminAgent(admin): AdminAgent,
    JsonBody(request): JsonBody<Map<String, Value>>,
) -> Result<Json<Settings>, ApiError> {
    let mut settings = state.store.settings().await?;
    for (field, value) in &request {
        match field.as_str() {
            "assignment" => {
                settings.assignment = match value.as_str() {
                    Some("auto") => AssignmentMode::Auto,
                    Some("manual") => AssignmentMode::Manual,
                    _ => {
                        return Err(ApiError::validation(
                            "assignment",
                            "assignment must be auto or manual",
                        ));
                    }
                }
            }
            "away_after_minutes" => {
                settings.away_after_minutes = value
                    .as_i64()
                    .filter(|m| (0..=MAX_AWAY_AFTER_MINUTES).contains(m))
                    .ok_or_else(|| {
                        ApiError::validation(
                            "away_after_minutes",
                            format!(
                                "away_after_minutes must be a whole number from 0 to {MAX_AWAY_AFTER_MINUTES}"
                            ),
                        )
                    })?
            }
            "business_hours" => {
                settings.business_hours = match value {
                    Value::Null => None,
                    _ => {
                        let hours: BusinessHours = serde_json::from_value(value.clone())
                            .map_err(|err| {
                                ApiError::validation(
                                    "business_hours",
                                    format!("business_hours must be {{\"timezone\", \"weekly\", \"holidays\"}} or null: {err}"),
                                )
                            })?;
                        hours.schedule()?;
                        Some(hours)
                    }
                }
            }
            "greeting" | "offline_message" => {
                let text = value
                    .as_str()
                    .filter(|t| t.chars().count() <= MAX_NOTICE_CHARS)
                    .ok_or_else(|| {
                        ApiError::validation(
                            field,
                            format!("{field} must be a text of at most {MAX_NOTICE_CHARS} characters"),
                        )
                    })?
                    .trim()
                    .to_owned();
                if field == "greeting" {
                    settings.greeting = text;
                } else {
                    settings.offline_message = text;
                }
            }
            "email_after_minutes" => {
                settings.email_after_minutes = value
                    .as_i64()
                    .filter(|m| (1..=MAX_EMAIL_AFTER_MINUTES).contains(m))
                    .ok_or_else(|| {
                        ApiError::validation(
                            "email_after_minutes",
                            format!(
                                "email_after_minutes must be a whole number from 1 to {MAX_EMAIL_AFTER_MINUTES}"
                            ),
                        )
                    })?
            }
            "csat" => {
                settings.csat = value.as_bool().ok_or_else(|| {
                    ApiError::validation("csat", "csat must be true or false")
                })?
            }
            other => {
                return Err(ApiError::validation(
                    other,
                    format!("{other} is not a setting"),
                ));
            }
        }
    }
    let settings = state.chat.save_settings(settings).await?;
    tracing::info!(
        admin_id = admin.id,
        assignment = ?settings.assignment,
        away_after_minutes = settings.away_after_minutes,
        "settings changed"
    );
    Ok(Json(settings.public()))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct TransferRequest {
    /// An enabled teammate.
    #[schema(required, nullable = false)]
    supporter_id: Option<i64>,
}

/// Any agent gives a ticket that is not closed to an enabled teammate.
#[utoipa::path(
    post,
    path = "/api/support/tickets/{ticket_id}/transfer",
    tag = "agent",
    summary = "Give a ticket that is not closed to an enabled teammate",
    params(super::tickets::TicketPath),
    request_body = TransferRequest,
    responses(
        (status = 200, description = "The ticket, transferred", body = Ticket),
        (status = 400, description = "`validation_failed`: `supporter_id` is not an enabled agent", body = ErrorEnvelope),
        (status = 404, description = "`not_found`: unknown ticket", body = ErrorEnvelope),
        (status = 409, description = "`ticket_closed` or `invalid_transition`", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
async fn transfer(
    State(state): State<AppState>,
    CurrentAgent(caller): CurrentAgent,
    PathKey(raw_id): PathKey,
    JsonBody(request): JsonBody<TransferRequest>,
) -> Result<Json<Ticket>, ApiError> {
    let ticket = load(&state, &raw_id).await?;
    let to = match request.supporter_id {
        Some(id) => state.store.agent_by_id(id).await?,
        None => None,
    };
    let Some(to) = to.filter(|agent| !agent.disabled) else {
        return Err(ApiError::validation(
            "supporter_id",
            "supporter_id must be an enabled agent",
        ));
    };
    Ok(Json(state.chat.transfer(ticket.id, &to, &caller).await?))
}
