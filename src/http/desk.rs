//! The support desk's saved replies (canned responses) and the labels in use.
//! Every agent reads them and counts an insertion; only admins write canned
//! responses.

use super::AppState;
use super::extract::{AdminAgent, CurrentAgent, JsonBody, PathKey, QueryParams};
use crate::domain::desk;
use crate::domain::{CannedResponse, CannedUpdate, LabelCount, NewCanned};
use crate::error::ApiError;
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

#[derive(Serialize)]
struct CannedList {
    canned: Vec<CannedResponse>,
}

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

#[derive(Deserialize)]
struct CannedRequest {
    shortcut: Option<String>,
    title: Option<String>,
    body: Option<String>,
}

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
async fn record_use(
    State(state): State<AppState>,
    _: CurrentAgent,
    key: PathKey,
) -> Result<StatusCode, ApiError> {
    let id = canned_id(key)?;
    found(state.store.record_canned_use(id).await)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
struct LabelList {
    labels: Vec<LabelCount>,
}

async fn list_labels(
    State(state): State<AppState>,
    _: CurrentAgent,
) -> Result<Json<LabelList>, ApiError> {
    Ok(Json(LabelList {
        labels: state.store.label_counts().await?,
    }))
}
