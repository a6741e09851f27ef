//! Webhooks (issue 19): admins register receivers and read their delivery log.

use super::AppState;
use super::extract::{AdminAgent, JsonBody, PathKey, QueryParams};
use crate::chat::webhooks::CreatedWebhook;
use crate::domain::webhook::{Delivery, Webhook};
use crate::error::ApiError;
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

#[derive(Deserialize)]
struct NewWebhookRequest {
    url: Option<String>,
    events: Option<Vec<String>>,
}

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

#[derive(Serialize)]
struct WebhookList {
    webhooks: Vec<Webhook>,
}

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

async fn remove(
    State(state): State<AppState>,
    _: AdminAgent,
    PathKey(raw): PathKey,
) -> Result<StatusCode, ApiError> {
    state.chat.delete_webhook(webhook_id(&raw)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
struct DeliveryPage {
    deliveries: Vec<Delivery>,
    next_before: Option<i64>,
}

async fn deliveries(
    State(state): State<AppState>,
    _: AdminAgent,
    PathKey(raw): PathKey,
    QueryParams(params): QueryParams,
) -> Result<Json<DeliveryPage>, ApiError> {
    let webhook_id = webhook_id(&raw)?;
    let limit = match params.get("limit") {
        None => DEFAULT_PAGE,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                ApiError::validation("limit", format!("limit must be 1 to {MAX_PAGE}"))
            })?,
    };
    let before = match params.get("before") {
        None => None,
        Some(raw) => Some(
            raw.parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ApiError::validation("before", "before must be a delivery id"))?,
        ),
    };
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
