//! Health for people and for orchestrators: `/api/support/health` explains,
//! `/healthz` says the process serves, `/readyz` says the node should get traffic.
//!
//! Readiness means "can serve": the database answers and the node is not
//! draining. A node without its broker stays ready: it stores, acknowledges and
//! delivers to its own sockets at once and to other nodes' through
//! reconciliation (seconds late); health then says `degraded`, and
//! `livesupport_broker_up` is 0. Taking every node out of the load balancer for
//! a Redis blip would turn a slower service into no service.

use super::AppState;
use crate::metrics::metrics;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use std::time::Duration;

/// How long a dependency may take to answer a health check.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/support/health", get(health))
        .route("/healthz", get(alive))
        .route("/readyz", get(ready))
}

/// Health's part of the OpenAPI description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(health, alive, ready))]
pub struct Api;

/// The state of each dependency: fixed words, never driver errors.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Checks {
    /// `ok`, `unavailable` or `timeout`.
    #[schema(value_type = String)]
    pub database: &'static str,
    /// `ok`, `unavailable` or `timeout`.
    #[schema(value_type = String)]
    pub broker: &'static str,
}

impl Checks {
    /// `ok`, `degraded` (the database answers, the broker does not: delivery
    /// between nodes runs on reconciliation) or `unavailable`.
    pub fn status(&self) -> &'static str {
        match (self.database, self.broker) {
            ("ok", "ok") => "ok",
            ("ok", _) => "degraded",
            _ => "unavailable",
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct Health {
    /// `ok`, `degraded` (the broker does not answer) or `unavailable`.
    #[schema(value_type = String)]
    status: &'static str,
    checks: Checks,
    version: &'static str,
    node_id: String,
}

fn word<E: std::fmt::Display>(
    what: &'static str,
    answer: Result<Result<(), E>, tokio::time::error::Elapsed>,
) -> &'static str {
    match answer {
        Ok(Ok(())) => "ok",
        Ok(Err(err)) => {
            tracing::debug!(cause = %err, what, "health check failed");
            "unavailable"
        }
        Err(_) => "timeout",
    }
}

/// Checks both dependencies side by side.
pub async fn checks(state: &AppState) -> Checks {
    let (database, broker) = tokio::join!(
        tokio::time::timeout(CHECK_TIMEOUT, state.store.ping()),
        tokio::time::timeout(CHECK_TIMEOUT, state.broker.ping()),
    );
    Checks {
        database: word("database", database),
        broker: word("broker", broker),
    }
}

/// Whether the node should get traffic, and why.
pub fn readiness(checks: &Checks, state: &AppState) -> (bool, &'static str) {
    if state.is_draining() {
        (false, "draining")
    } else if checks.database != "ok" {
        (false, "database unavailable")
    } else if checks.broker != "ok" {
        (true, "ready (degraded: broker unavailable)")
    } else {
        (true, "ready")
    }
}

/// Sets the readiness and broker gauges from a round of checks.
pub fn record(checks: &Checks, state: &AppState) {
    let m = metrics();
    m.ready.set(i64::from(readiness(checks, state).0));
    m.broker_up.set(i64::from(checks.broker == "ok"));
}

#[utoipa::path(
    get,
    path = "/api/support/health",
    tag = "public",
    summary = "The node's health, explained",
    responses(
        (status = 200, description = "`ok` or `degraded`", body = Health),
        (status = 503, description = "`unavailable`: the database does not answer", body = Health),
    ),
)]
async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let checks = checks(&state).await;
    record(&checks, &state);
    let status = checks.status();
    let code = if status == "unavailable" {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let body = Health {
        status,
        checks,
        version: env!("CARGO_PKG_VERSION"),
        node_id: state.settings.node_id.clone(),
    };
    (code, Json(body))
}

/// `/healthz`: the process serves.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    summary = "Liveness: the process serves",
    responses((status = 200, description = "`ok`", content_type = "text/plain", body = String)),
)]
async fn alive() -> &'static str {
    "ok"
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    summary = "Readiness: the database answers and the node is not draining",
    responses(
        (status = 200, description = "Ready, and why", content_type = "text/plain", body = String),
        (status = 503, description = "Not ready, and why", content_type = "text/plain", body = String),
    ),
)]
async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    let checks = checks(&state).await;
    record(&checks, &state);
    match readiness(&checks, &state) {
        (true, reason) => (StatusCode::OK, reason),
        (false, reason) => (StatusCode::SERVICE_UNAVAILABLE, reason),
    }
}
