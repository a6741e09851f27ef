//! The agents' ticket routes: the queue, one ticket, its history, assignment and
//! status/priority changes.

use super::AppState;
use super::extract::{CurrentAgent, JsonBody, PathKey, QueryParams};
use super::guest::{MessagesPage, message_range};
use crate::domain::{Priority, SenderType, Ticket, TicketChange, TicketStatus};
use crate::error::ApiError;
use crate::store::{AssignedFilter, StoreError, TicketCursor, TicketQuery};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

/// Default and largest page of the queue.
pub const DEFAULT_TICKET_PAGE: i64 = 50;
pub const MAX_TICKET_PAGE: i64 = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/support/tickets", get(list_tickets))
        .route(
            "/api/support/tickets/{ticket_id}",
            get(get_ticket).patch(patch_ticket),
        )
        .route(
            "/api/support/tickets/{ticket_id}/messages",
            get(list_messages),
        )
        .route(
            "/api/support/tickets/{ticket_id}/assign",
            axum::routing::post(assign_ticket),
        )
}

/// A numeric ticket id from the path; anything else names no ticket.
fn ticket_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(ApiError::NotFound("ticket"))
}

pub(super) async fn load(state: &AppState, raw_id: &str) -> Result<Ticket, ApiError> {
    let id = ticket_id(raw_id)?;
    super::record_ticket(id);
    match state.store.ticket_by_id(id, SenderType::Supporter).await {
        Err(StoreError::NotFound) => Err(ApiError::NotFound("ticket")),
        other => Ok(other?),
    }
}

#[derive(Serialize)]
struct TicketList {
    tickets: Vec<Ticket>,
    next_cursor: Option<String>,
}

/// Parses a comma list of names, or `all` (an empty list: no filter).
fn name_list<T: std::str::FromStr>(
    field: &str,
    raw: &str,
    expected: &str,
) -> Result<Vec<T>, ApiError> {
    if raw == "all" {
        return Ok(Vec::new());
    }
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse().map_err(|_| {
                ApiError::validation(
                    field,
                    format!("{field} must be a comma list of {expected}, or all"),
                )
            })
        })
        .collect()
}

async fn list_tickets(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    query: QueryParams,
) -> Result<Json<TicketList>, ApiError> {
    let statuses = match query.get("status") {
        None => TicketStatus::ACTIVE.to_vec(),
        Some(raw) => name_list(
            "status",
            raw,
            "open, assigned, in_progress, resolved, closed",
        )?,
    };
    let priorities = match query.get("priority") {
        None => Vec::new(),
        Some(raw) => name_list("priority", raw, "low, medium, high, urgent")?,
    };
    let assigned = match query.get("assigned") {
        None => AssignedFilter::Any,
        Some("me") => AssignedFilter::To(agent.id),
        Some("none") => AssignedFilter::Unassigned,
        Some(raw) => AssignedFilter::To(raw.parse().map_err(|_| {
            ApiError::validation("assigned", "assigned must be me, none or an agent id")
        })?),
    };
    let text = query
        .get("q")
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_owned);
    if text.as_ref().is_some_and(|q| q.chars().count() > 200) {
        return Err(ApiError::validation(
            "q",
            "q must be at most 200 characters",
        ));
    }
    let limit = query
        .int("limit", 1, MAX_TICKET_PAGE)?
        .unwrap_or(DEFAULT_TICKET_PAGE);
    let after =
        match query.get("cursor") {
            None => None,
            Some(raw) => Some(TicketCursor::decode(raw).ok_or_else(|| {
                ApiError::validation("cursor", "cursor must be a next_cursor value")
            })?),
        };
    let page = state
        .store
        .list_tickets(&TicketQuery {
            statuses,
            priorities,
            assigned,
            text,
            limit: limit as u32,
            after,
        })
        .await?;
    Ok(Json(TicketList {
        tickets: page.tickets,
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

async fn get_ticket(
    State(state): State<AppState>,
    _: CurrentAgent,
    PathKey(raw_id): PathKey,
) -> Result<Json<Ticket>, ApiError> {
    Ok(Json(load(&state, &raw_id).await?))
}

async fn list_messages(
    State(state): State<AppState>,
    _: CurrentAgent,
    PathKey(raw_id): PathKey,
    query: QueryParams,
) -> Result<Json<MessagesPage>, ApiError> {
    let range = message_range(&query)?;
    let ticket = load(&state, &raw_id).await?;
    Ok(Json(state.store.messages(ticket.id, range).await?.into()))
}

#[derive(Deserialize)]
pub struct AssignRequest {
    supporter_id: Option<i64>,
    /// The caller joins the chat: on an `open` ticket they are assigned and the
    /// visitor is told ("Alice joined the chat", `supporter_joined`).
    #[serde(default)]
    join: bool,
}

/// Assigns a ticket to an agent (default: the caller). Also serves the original
/// design's `/api/support/ticket/{ticket_id}/assign`.
pub async fn assign_ticket(
    State(state): State<AppState>,
    CurrentAgent(caller): CurrentAgent,
    PathKey(raw_id): PathKey,
    JsonBody(request): JsonBody<AssignRequest>,
) -> Result<Json<Ticket>, ApiError> {
    let ticket = load(&state, &raw_id).await?;
    let assignee = match request.supporter_id {
        None => caller.clone(),
        Some(id) => match state.store.agent_by_id(id).await? {
            Some(agent) if !agent.disabled => agent,
            _ => {
                return Err(ApiError::validation(
                    "supporter_id",
                    "supporter_id is not an active agent",
                ));
            }
        },
    };
    if request.join && assignee.id != caller.id {
        return Err(ApiError::validation(
            "join",
            "only the caller can join; assign a teammate without join",
        ));
    }
    let change = TicketChange {
        assign_to: Some((assignee.id, assignee.name.clone())),
        actor: Some((caller.id, caller.name.clone())),
        join: request.join,
        ..TicketChange::default()
    };
    Ok(Json(
        state.chat.change_ticket(ticket.id, change).await?.ticket,
    ))
}

#[derive(Deserialize)]
struct PatchRequest {
    status: Option<String>,
    priority: Option<String>,
}

async fn patch_ticket(
    State(state): State<AppState>,
    CurrentAgent(caller): CurrentAgent,
    PathKey(raw_id): PathKey,
    JsonBody(request): JsonBody<PatchRequest>,
) -> Result<Json<Ticket>, ApiError> {
    let status = request
        .status
        .map(|s| {
            s.parse::<TicketStatus>().map_err(|_| {
                ApiError::validation(
                    "status",
                    "status must be one of open, assigned, in_progress, resolved, closed",
                )
            })
        })
        .transpose()?;
    let priority = request
        .priority
        .map(|p| {
            p.parse::<Priority>().map_err(|_| {
                ApiError::validation(
                    "priority",
                    "priority must be one of low, medium, high, urgent",
                )
            })
        })
        .transpose()?;
    if status.is_none() && priority.is_none() {
        return Err(ApiError::validation(
            "status",
            "give status, priority or both",
        ));
    }
    let ticket = load(&state, &raw_id).await?;
    let change = TicketChange {
        status,
        priority,
        actor: Some((caller.id, caller.name.clone())),
        ..TicketChange::default()
    };
    Ok(Json(
        state.chat.change_ticket(ticket.id, change).await?.ticket,
    ))
}
