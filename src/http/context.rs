//! A ticket's visitor context, for agents: the pages the visitor browsed (newest
//! first), their browser, system, locale and time zone, and their previous
//! conversations (same verified `user_id`, or same email).

use super::AppState;
use super::extract::{CurrentAgent, PathKey};
use super::tickets::load;
use crate::domain::Ticket;
use crate::domain::user_agent;
use crate::domain::visitor::{PAGES_KEPT, PREVIOUS_TICKETS, VisitedPage};
use crate::error::{ApiError, ErrorEnvelope};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/support/tickets/{ticket_id}/context",
        get(visitor_context),
    )
}

/// The visitor context's part of the OpenAPI description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(visitor_context))]
pub struct Api;

#[derive(Serialize, utoipa::ToSchema)]
struct VisitorContext {
    /// Up to [`PAGES_KEPT`], newest first.
    pages: Vec<VisitedPage>,
    user_agent: Option<String>,
    /// Derived from `user_agent`, e.g. `Chrome 120`.
    browser: Option<String>,
    /// Derived from `user_agent`, e.g. `Windows`.
    os: Option<String>,
    locale: Option<String>,
    /// An IANA name, e.g. `Europe/Berlin`: the dashboard shows the visitor's
    /// local time from it.
    timezone: Option<String>,
    previous_tickets: Vec<Ticket>,
}

#[utoipa::path(
    get,
    path = "/api/support/tickets/{ticket_id}/context",
    tag = "agent",
    summary = "The visitor's pages, browser, locale and previous conversations",
    params(super::tickets::TicketPath),
    responses(
        (status = 200, description = "The visitor context", body = VisitorContext),
        (status = 404, description = "`not_found`: unknown ticket", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
async fn visitor_context(
    State(state): State<AppState>,
    _: CurrentAgent,
    PathKey(raw_id): PathKey,
) -> Result<Json<VisitorContext>, ApiError> {
    let ticket = load(&state, &raw_id).await?;
    let store = &state.store;
    let pages = store.visitor_pages(ticket.id, PAGES_KEPT).await?;
    let info = store.visitor_info(ticket.id).await?;
    let previous_tickets = store
        .previous_tickets(
            ticket.id,
            ticket.user_id.as_deref(),
            ticket.user_email.as_deref(),
            PREVIOUS_TICKETS,
        )
        .await?;
    let ua = info.user_agent.as_deref().unwrap_or("");
    Ok(Json(VisitorContext {
        pages,
        browser: user_agent::browser(ua),
        os: user_agent::operating_system(ua),
        user_agent: info.user_agent,
        locale: info.locale,
        timezone: info.timezone,
        previous_tickets,
    }))
}
