//! The agents' ticket routes: the queue, one ticket, its history, assignment and
//! status/priority/label changes.

use super::AppState;
use super::extract::{CurrentAgent, JsonBody, PathKey, QueryParams};
use super::guest::{MessagesPage, message_range};
use crate::domain::{Priority, SenderType, Ticket, TicketChange, TicketStatus, desk};
use crate::error::{ApiError, ErrorEnvelope};
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

/// The agents' ticket routes' part of the OpenAPI description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(list_tickets, get_ticket, patch_ticket, list_messages, assign_ticket))]
pub struct Api;

/// The ticket id in an agent route's path.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by the description only; handlers take [`PathKey`].
pub struct TicketPath {
    /// The ticket's id (anything but a positive number names no ticket: 404).
    ticket_id: i64,
}

/// The queue's filters ([`list_tickets`]).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Read by the description only; the handler takes [`QueryParams`].
struct TicketListQuery {
    /// A comma list of statuses; default `open,assigned,in_progress`; `all` for every status.
    status: Option<String>,
    /// A comma list of priorities; default every priority.
    priority: Option<String>,
    /// `me`, `none`, or an agent id.
    assigned: Option<String>,
    /// Text in subject, visitor name, email and message text (at most 200 characters).
    q: Option<String>,
    /// A comma list of labels: tickets carrying any of them.
    label: Option<String>,
    /// Default 50.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page (opaque).
    cursor: Option<String>,
}

/// A numeric ticket id from the path; anything else names no ticket.
fn ticket_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(ApiError::NotFound("ticket"))
}

/// The ticket a path names, as an agent sees it (404 for anything else).
pub(super) async fn load(state: &AppState, raw_id: &str) -> Result<Ticket, ApiError> {
    let id = ticket_id(raw_id)?;
    super::record_ticket(id);
    match state.store.ticket_by_id(id, SenderType::Supporter).await {
        Err(StoreError::NotFound) => Err(ApiError::NotFound("ticket")),
        other => Ok(other?),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
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

#[utoipa::path(
    get,
    path = "/api/support/tickets",
    tag = "agent",
    summary = "The queue, filtered, newest activity first",
    params(TicketListQuery),
    responses(
        (status = 200, description = "A page of tickets; `next_cursor` is null on the last", body = TicketList),
        (status = 400, description = "`validation_failed` naming the parameter", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
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
    let labels = match query.get("label") {
        None => Vec::new(),
        Some(raw) => {
            let given: Vec<String> = raw
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(str::to_owned)
                .collect();
            desk::labels(&given).map_err(|_| {
                ApiError::validation(
                    "label",
                    format!(
                        "label must be a comma list of at most {} labels of a-z, 0-9, _ and -",
                        desk::MAX_LABELS
                    ),
                )
            })?
        }
    };
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
            labels,
            limit: limit as u32,
            after,
        })
        .await?;
    Ok(Json(TicketList {
        tickets: page.tickets,
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

#[utoipa::path(
    get,
    path = "/api/support/tickets/{ticket_id}",
    tag = "agent",
    summary = "One ticket, as the team sees it",
    params(TicketPath),
    responses(
        (status = 200, description = "The ticket", body = Ticket),
        (status = 404, description = "`not_found`: unknown ticket", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
async fn get_ticket(
    State(state): State<AppState>,
    _: CurrentAgent,
    PathKey(raw_id): PathKey,
) -> Result<Json<Ticket>, ApiError> {
    Ok(Json(load(&state, &raw_id).await?))
}

#[utoipa::path(
    get,
    path = "/api/support/tickets/{ticket_id}/messages",
    tag = "agent",
    summary = "A page of the ticket's messages (internal ones included, in the agents' numbering)",
    params(TicketPath, super::guest::MessagePageQuery),
    responses(
        (status = 200, description = "The page; `has_more` says more exist beyond it", body = MessagesPage),
        (status = 400, description = "`validation_failed` naming the parameter", body = ErrorEnvelope),
        (status = 404, description = "`not_found`: unknown ticket", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
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

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AssignRequest {
    /// The assignee; default the caller.
    supporter_id: Option<i64>,
    /// The caller joins the chat: on an `open` ticket they are assigned and the
    /// visitor is told ("Alice joined the chat", `supporter_joined`).
    #[serde(default)]
    join: bool,
}

/// Assigns a ticket to an agent (default: the caller). Also serves the original
/// design's `/api/support/ticket/{ticket_id}/assign`.
#[utoipa::path(
    post,
    path = "/api/support/tickets/{ticket_id}/assign",
    tag = "agent",
    summary = "Assign a ticket to an agent (default the caller); `join` to join the chat",
    params(TicketPath),
    request_body = AssignRequest,
    responses(
        (status = 200, description = "The ticket, assigned", body = Ticket),
        (status = 400, description = "`validation_failed`: `supporter_id` is not an active agent, or `join` for a teammate", body = ErrorEnvelope),
        (status = 404, description = "`not_found`: unknown ticket", body = ErrorEnvelope),
        (status = 409, description = "`ticket_closed` or `invalid_transition`", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
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

/// At least one of the fields.
#[derive(Deserialize, utoipa::ToSchema)]
struct PatchRequest {
    #[schema(value_type = Option<TicketStatus>)]
    status: Option<String>,
    #[schema(value_type = Option<Priority>)]
    priority: Option<String>,
    /// Replaces the ticket's label set (`[]` removes every label).
    labels: Option<Vec<String>>,
}

#[utoipa::path(
    patch,
    path = "/api/support/tickets/{ticket_id}",
    tag = "agent",
    summary = "Change a ticket's status, priority or labels",
    params(TicketPath),
    request_body = PatchRequest,
    responses(
        (status = 200, description = "The changed ticket", body = Ticket),
        (status = 400, description = "`validation_failed` naming the field (none given: `status`)", body = ErrorEnvelope),
        (status = 404, description = "`not_found`: unknown ticket", body = ErrorEnvelope),
        (status = 409, description = "`invalid_transition` or `ticket_closed`", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
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
    let labels = request.labels.as_deref().map(desk::labels).transpose()?;
    if status.is_none() && priority.is_none() && labels.is_none() {
        return Err(ApiError::validation(
            "status",
            "give status, priority, labels or several of them",
        ));
    }
    let ticket = load(&state, &raw_id).await?;
    let change = TicketChange {
        status,
        priority,
        labels,
        actor: Some((caller.id, caller.name.clone())),
        ..TicketChange::default()
    };
    Ok(Json(
        state.chat.change_ticket(ticket.id, change).await?.ticket,
    ))
}
