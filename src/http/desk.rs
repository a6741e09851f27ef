//! The support desk's saved replies (canned responses) and the labels in use.
//! Every agent reads them and counts an insertion; only admins write canned
//! responses.

use super::AppState;
use super::extract::{AdminAgent, CurrentAgent, JsonBody, PathKey, QueryParams};
use crate::domain::desk;
use crate::domain::{CannedResponse, CannedUpdate, LabelCount, NewCanned};
use crate::error::{ApiError, ErrorEnvelope};
use crate::store::StoreError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

/// Longest `q` of the canned-response search, in characters.
pub const MAX_CANNED_QUERY_CHARS: usize = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/support/canned", get(list_canned).post(create_canned))
        .route(
            "/api/support/canned/{id}",
            patch(update_canned).delete(delete_canned),
        )
        .route("/api/support/canned/{id}/use", post(record_use))
        .route("/api/support/labels", get(list_labels))
}

/// The desk tools' part of the OpenAPI description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_canned,
    create_canned,
    update_canned,
    delete_canned,
    record_use,
    list_labels
))]
pub struct Api;

/// The id in a canned response's path.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by the description only; handlers take [`PathKey`].
struct CannedPath {
    /// The canned response's id (anything but a positive number names none: 404).
    id: i64,
}

/// A numeric id from the path; anything else names no canned response.
fn canned_id(PathKey(raw): PathKey) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(ApiError::NotFound("canned response"))
}

/// The store's answer, with an unknown id named as a canned response.
fn found<T>(result: Result<T, StoreError>) -> Result<T, ApiError> {
    match result {
        Err(StoreError::NotFound) => Err(ApiError::NotFound("canned response")),
        other => Ok(other?),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct CannedList {
    canned: Vec<CannedResponse>,
}

#[utoipa::path(
    get,
    path = "/api/support/canned",
    tag = "agent",
    summary = "The canned responses, most used first",
    params(("q" = Option<String>, Query, description = "Text in shortcut, title or body (at most 200 characters)")),
    responses(
        (status = 200, description = "The canned responses", body = CannedList),
        (status = 400, description = "`validation_failed`: `q`", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
async fn list_canned(
    State(state): State<AppState>,
    _: CurrentAgent,
    query: QueryParams,
) -> Result<Json<CannedList>, ApiError> {
    let text = query.get("q").map(str::trim).filter(|q| !q.is_empty());
    if text.is_some_and(|q| q.chars().count() > MAX_CANNED_QUERY_CHARS) {
        return Err(ApiError::validation(
            "q",
            format!("q must be at most {MAX_CANNED_QUERY_CHARS} characters"),
        ));
    }
    let canned = state.store.list_canned(text).await?;
    Ok(Json(CannedList { canned }))
}

/// Every field to create; any of them to change.
#[derive(Deserialize, utoipa::ToSchema)]
struct CannedRequest {
    /// 1 to 32 of `a-z 0-9 _ -`, exactly as sent; unique.
    #[schema(pattern = "^[a-z0-9_-]{1,32}$")]
    shortcut: Option<String>,
    /// 1 to 100 characters, trimmed.
    #[schema(min_length = 1, max_length = 100)]
    title: Option<String>,
    /// 1 to 8192 characters after trimming.
    #[schema(min_length = 1)]
    body: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/support/canned",
    tag = "admin",
    summary = "Create a canned response",
    request_body = CannedRequest,
    responses(
        (status = 201, description = "The new canned response", body = CannedResponse),
        (status = 400, description = "`validation_failed` naming the field", body = ErrorEnvelope),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorEnvelope),
        (status = 409, description = "`conflict`: another canned response has the shortcut", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
async fn create_canned(
    State(state): State<AppState>,
    _: AdminAgent,
    JsonBody(request): JsonBody<CannedRequest>,
) -> Result<(StatusCode, Json<CannedResponse>), ApiError> {
    let new = NewCanned {
        shortcut: desk::shortcut("shortcut", request.shortcut.as_deref())?,
        title: desk::canned_title(request.title.as_deref())?,
        body: desk::canned_body(request.body.as_deref())?,
    };
    let created = state.store.create_canned(&new).await?;
    tracing::info!(canned_id = created.id, "canned response created");
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    patch,
    path = "/api/support/canned/{id}",
    tag = "admin",
    summary = "Change a canned response",
    params(CannedPath),
    request_body = CannedRequest,
    responses(
        (status = 200, description = "The changed canned response", body = CannedResponse),
        (status = 400, description = "`validation_failed` naming the field", body = ErrorEnvelope),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorEnvelope),
        (status = 404, description = "`not_found`: unknown canned response", body = ErrorEnvelope),
        (status = 409, description = "`conflict`: another canned response has the shortcut", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
async fn update_canned(
    State(state): State<AppState>,
    _: AdminAgent,
    key: PathKey,
    JsonBody(request): JsonBody<CannedRequest>,
) -> Result<Json<CannedResponse>, ApiError> {
    let id = canned_id(key)?;
    let update = CannedUpdate {
        shortcut: request
            .shortcut
            .as_deref()
            .map(|s| desk::shortcut("shortcut", Some(s)))
            .transpose()?,
        title: request
            .title
            .as_deref()
            .map(|t| desk::canned_title(Some(t)))
            .transpose()?,
        body: request
            .body
            .as_deref()
            .map(|b| desk::canned_body(Some(b)))
            .transpose()?,
    };
    if update.is_empty() {
        return Err(ApiError::validation(
            "shortcut",
            "give shortcut, title, body or several of them",
        ));
    }
    Ok(Json(found(state.store.update_canned(id, &update).await)?))
}

#[utoipa::path(
    delete,
    path = "/api/support/canned/{id}",
    tag = "admin",
    summary = "Delete a canned response",
    params(CannedPath),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorEnvelope),
        (status = 404, description = "`not_found`: unknown canned response", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
async fn delete_canned(
    State(state): State<AppState>,
    _: AdminAgent,
    key: PathKey,
) -> Result<StatusCode, ApiError> {
    let id = canned_id(key)?;
    found(state.store.delete_canned(id).await)?;
    tracing::info!(canned_id = id, "canned response deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// An agent inserted the canned response into a reply: it moves up the list.
#[utoipa::path(
    post,
    path = "/api/support/canned/{id}/use",
    tag = "agent",
    summary = "Count a use of a canned response (it moves up the list)",
    params(CannedPath),
    responses(
        (status = 204, description = "Counted"),
        (status = 404, description = "`not_found`: unknown canned response", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
async fn record_use(
    State(state): State<AppState>,
    _: CurrentAgent,
    key: PathKey,
) -> Result<StatusCode, ApiError> {
    let id = canned_id(key)?;
    found(state.store.record_canned_use(id).await)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
struct LabelList {
    labels: Vec<LabelCount>,
}

#[utoipa::path(
    get,
    path = "/api/support/labels",
    tag = "agent",
    summary = "The labels in use, with how many tickets carry each",
    responses((status = 200, description = "The labels", body = LabelList)),
    security(("bearer" = [])),
)]
async fn list_labels(
    State(state): State<AppState>,
    _: CurrentAgent,
) -> Result<Json<LabelList>, ApiError> {
    Ok(Json(LabelList {
        labels: state.store.label_counts().await?,
    }))
}
