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
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
}

/// The state of each dependency: fixed words, never driver errors.
#[derive(Debug, Clone, Serialize)]
pub struct Checks {
    pub database: &'static str,
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

#[derive(Serialize)]
struct Health {
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

async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    let checks = checks(&state).await;
    record(&checks, &state);
    match readiness(&checks, &state) {
        (true, reason) => (StatusCode::OK, reason),
        (false, reason) => (StatusCode::SERVICE_UNAVAILABLE, reason),
    }
}
