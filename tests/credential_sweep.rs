//! With many agent sockets open, a node asks the store about their credentials
//! once per sweep, in one query, and never once per socket: a store call per
//! socket every few seconds was both a load and a timing signal.
//!
//! Alone in its test binary: the store-call counters it reads are the process's,
//! and another test's traffic would be counted with this node's.

mod common;

use common::ws::WsClient;
use common::{Backend, TestApp, spawn_app_with};
use serde_json::json;
use std::time::Duration;

const AGENTS: usize = 8;
const SOCKETS_PER_AGENT: usize = 8;
/// How long the store calls are counted, with a sweep every second.
const WINDOW: Duration = Duration::from_secs(5);

/// How many times the node has called the store's `operation`.
async fn store_calls(app: &TestApp, operation: &str) -> f64 {
    app.metric(&format!(
        "livesupport_store_operation_duration_seconds_count{{operation=\"{operation}\"}}"
    ))
    .await
}

async fn answers_pings(socket: &mut WsClient) {
    socket.send(json!({"type": "ping"})).await;
    socket.next_of("pong").await;
}

#[tokio::test]
async fn many_agent_sockets_cost_one_store_query_a_sweep_not_one_per_socket() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.credential_sweep_seconds = 1)
        .await
        .unwrap();
    let mut sockets = Vec::new();
    for agent in 0..AGENTS {
        let email = format!("agent{agent}@example.com");
        let (_, token) = app.create_agent(&email, "Agent", "agent").await;
        for _ in 0..SOCKETS_PER_AGENT {
            let mut feed = app.feed_socket(&token).await;
            answers_pings(&mut feed).await;
            sockets.push(feed);
        }
    }

    let lookups = store_calls(&app, "agent_by_id").await;
    let sweeps = store_calls(&app, "agent_standings").await;
    tokio::time::sleep(WINDOW).await;
    let lookups = store_calls(&app, "agent_by_id").await - lookups;
    let sweeps = store_calls(&app, "agent_standings").await - sweeps;

    assert_eq!(
        lookups,
        0.0,
        "no open socket looks its agent up ({} sockets)",
        sockets.len()
    );
    let most = WINDOW.as_secs_f64() + 1.0;
    assert!(
        (1.0..=most).contains(&sweeps),
        "one query a sweep for all {} sockets of {AGENTS} agents, at most {most} in {WINDOW:?}: {sweeps}",
        sockets.len()
    );
    for socket in &mut sockets {
        answers_pings(socket).await;
    }
}
