//! Health for people and for orchestrators: `/api/support/health` explains,
//! `/healthz` says the process serves, `/readyz` says the node should get traffic.

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
        .route("/metrics", get(prometheus_metrics))
}

#[derive(Serialize)]
struct Checks {
    database: String,
    broker: String,
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    checks: Checks,
    version: &'static str,
    node_id: String,
}

/// Checks both dependencies; the texts are fixed words, never driver errors.
async fn checks(state: &AppState) -> Checks {
    let database = match tokio::time::timeout(CHECK_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(err)) => {
            tracing::warn!(cause = %err, "database health check failed");
            "unavailable"
        }
        Err(_) => "timeout",
    };
    let broker = match tokio::time::timeout(CHECK_TIMEOUT, state.broker.ping()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(err)) => {
            tracing::warn!(cause = %err, "broker health check failed");
            "unavailable"
        }
        Err(_) => "timeout",
    };
    Checks {
        database: database.into(),
        broker: broker.into(),
    }
}

async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let checks = checks(&state).await;
    let ok = checks.database == "ok" && checks.broker == "ok";
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Health {
        status: if ok { "ok" } else { "unavailable" },
        checks,
        version: env!("CARGO_PKG_VERSION"),
        node_id: state.settings.node_id.clone(),
    };
    (status, Json(body))
}

async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    let (ready, reason) = readiness(&state).await;
    metrics().ready.set(i64::from(ready));
    if ready {
        (StatusCode::OK, reason)
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, reason)
    }
}

/// Whether the node should get traffic: not draining, database and broker answer.
pub async fn readiness(state: &AppState) -> (bool, &'static str) {
    if state.is_draining() {
        return (false, "draining");
    }
    let checks = checks(state).await;
    if checks.database == "ok" && checks.broker == "ok" {
        (true, "ready")
    } else {
        (false, "not ready")
    }
}

async fn prometheus_metrics() -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics().render(),
    )
}
