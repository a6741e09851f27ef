//! Webhooks (issue 19): admins register receivers and read their delivery log.

use super::AppState;
use super::extract::{AdminAgent, JsonBody, PathKey, QueryParams};
use crate::chat::webhooks::CreatedWebhook;
use crate::domain::webhook::{Delivery, Webhook};
use crate::error::{ApiError, ErrorEnvelope};
use crate::store::DeliveryQuery;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/support/webhooks", get(list).post(create))
        .route("/api/support/webhooks/{key}", delete(remove))
        .route("/api/support/webhooks/{key}/deliveries", get(deliveries))
}

/// Webhooks' part of the OpenAPI description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, remove, deliveries))]
pub struct Api;

#[derive(Deserialize, utoipa::ToSchema)]
struct NewWebhookRequest {
    /// `http` or `https`, at most 2,048 characters, no credentials; a host
    /// that is or resolves to a non-public address is refused unless
    /// `WEBHOOK_ALLOW_PRIVATE`.
    url: Option<String>,
    /// One or more of `ticket.created`, `ticket.updated`, `message.created`,
    /// `note.created`, `rating.created`.
    events: Option<Vec<String>>,
}

/// The webhook's id in the path.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
struct WebhookPath {
    /// The webhook's id.
    webhook_id: i64,
}

#[utoipa::path(
    post,
    path = "/api/support/webhooks",
    tag = "admin",
    summary = "Register a webhook; the answer holds its signing secret, shown this once",
    request_body = NewWebhookRequest,
    responses(
        (status = 201, description = "Registered, with its secret", body = CreatedWebhook),
        (status = 400, description = "`validation_failed`: `url` (malformed, not http(s), private, unresolvable) or `events`", body = ErrorEnvelope),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorEnvelope),
        (status = 409, description = "`conflict`: 20 webhooks exist", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
async fn create(
    State(state): State<AppState>,
    _: AdminAgent,
    JsonBody(request): JsonBody<NewWebhookRequest>,
) -> Result<(StatusCode, Json<CreatedWebhook>), ApiError> {
    let url = request
        .url
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| ApiError::validation("url", "url is required"))?;
    let events = request.events.unwrap_or_default();
    let created = state.chat.create_webhook(&url, &events).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Serialize, utoipa::ToSchema)]
struct WebhookList {
    webhooks: Vec<Webhook>,
}

#[utoipa::path(
    get,
    path = "/api/support/webhooks",
    tag = "admin",
    summary = "The webhooks, oldest first (never their secrets)",
    responses(
        (status = 200, description = "Every webhook", body = WebhookList),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
async fn list(State(state): State<AppState>, _: AdminAgent) -> Result<Json<WebhookList>, ApiError> {
    Ok(Json(WebhookList {
        webhooks: state.chat.list_webhooks().await?,
    }))
}

fn webhook_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(ApiError::NotFound("webhook"))
}

#[utoipa::path(
    delete,
    path = "/api/support/webhooks/{webhook_id}",
    tag = "admin",
    summary = "Remove a webhook and its deliveries",
    params(WebhookPath),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorEnvelope),
        (status = 404, description = "`not_found`: unknown webhook", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
async fn remove(
    State(state): State<AppState>,
    _: AdminAgent,
    PathKey(raw): PathKey,
) -> Result<StatusCode, ApiError> {
    state.chat.delete_webhook(webhook_id(&raw)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
struct DeliveryPage {
    deliveries: Vec<Delivery>,
    /// Pass as `before` for the next page; `null`: no more.
    next_before: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/support/webhooks/{webhook_id}/deliveries",
    tag = "admin",
    summary = "A webhook's delivery log, newest first",
    params(
        WebhookPath,
        ("limit" = Option<u32>, Query, description = "1 to 200, default 50", minimum = 1, maximum = 200),
        ("before" = Option<i64>, Query, description = "The page after the one that ended at this delivery id", minimum = 1),
    ),
    responses(
        (status = 200, description = "A page of the log", body = DeliveryPage),
        (status = 400, description = "`validation_failed` naming the parameter", body = ErrorEnvelope),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorEnvelope),
        (status = 404, description = "`not_found`: unknown webhook", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
async fn deliveries(
    State(state): State<AppState>,
    _: AdminAgent,
    PathKey(raw): PathKey,
    params: QueryParams,
) -> Result<Json<DeliveryPage>, ApiError> {
    let webhook_id = webhook_id(&raw)?;
    let limit = params
        .int("limit", 1, i64::from(MAX_PAGE))?
        .map_or(DEFAULT_PAGE, |n| n as u32);
    let before = params.int("before", 1, i64::MAX)?;
    let deliveries = state
        .chat
        .webhook_deliveries(DeliveryQuery {
            webhook_id,
            limit: limit + 1,
            before,
        })
        .await?;
    let mut deliveries = deliveries;
    let next_before = if deliveries.len() > limit as usize {
        deliveries.truncate(limit as usize);
        deliveries.last().map(|d| d.id)
    } else {
        None
    };
    Ok(Json(DeliveryPage {
        deliveries,
        next_before,
    }))
}
