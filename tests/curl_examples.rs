//! The original design's curl examples, kept as tests so they stay true:
//!
//! ```text
//! curl -X POST http://localhost:5000/api/support/ticket \
//!   -H "Content-Type: application/json" \
//!   -d '{"user_name":"John Doe","user_email":"john@example.com","subject":"Order not arrived","priority":"high"}'
//! curl http://localhost:5000/api/support/ticket/{session_id}
//! curl http://localhost:5000/api/support/ticket/{session_id}/messages
//! curl -X POST http://localhost:5000/api/support/ticket/{ticket_id}/assign \
//!   -H "Authorization: Bearer $TOKEN"
//! curl http://localhost:5000/api/support/health
//! ```

mod common;

use common::spawn_app;
use serde_json::{Value, json};

/// `curl -X POST …/api/support/ticket -H "Content-Type: application/json" -d '{…}'`
async fn create_the_example_ticket(app: &common::TestApp) -> Value {
    let response = app
        .client
        .post(app.url("/api/support/ticket"))
        .header("Content-Type", "application/json")
        .body(
            r#"{"user_name":"John Doe","user_email":"john@example.com","subject":"Order not arrived","priority":"high"}"#,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

#[tokio::test]
async fn curl_create_a_ticket() {
    let app = spawn_app().await;
    let ticket = create_the_example_ticket(&app).await;
    assert_eq!(ticket["user_name"], "John Doe");
    assert_eq!(ticket["user_email"], "john@example.com");
    assert_eq!(ticket["subject"], "Order not arrived");
    assert_eq!(ticket["priority"], "high");
    assert_eq!(ticket["status"], "open");
    assert!(ticket["id"].is_i64());
    assert!(ticket["session_id"].is_string());
}

#[tokio::test]
async fn curl_get_the_ticket_by_its_session_id() {
    let app = spawn_app().await;
    let ticket = create_the_example_ticket(&app).await;
    let session_id = ticket["session_id"].as_str().unwrap();

    let response = app
        .client
        .get(app.url(&format!("/api/support/ticket/{session_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let fetched: Value = response.json().await.unwrap();
    assert_eq!(fetched["id"], ticket["id"]);
    assert_eq!(fetched["subject"], "Order not arrived");
}

#[tokio::test]
async fn curl_list_the_tickets_messages() {
    let app = spawn_app().await;
    let ticket = create_the_example_ticket(&app).await;
    let session_id = ticket["session_id"].as_str().unwrap();

    let response = app
        .client
        .get(app.url(&format!("/api/support/ticket/{session_id}/messages")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"messages": [], "has_more": false}));
}

#[tokio::test]
async fn curl_assign_the_ticket_with_an_agent_token() {
    let app = spawn_app().await;
    let (agent_id, token) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let ticket = create_the_example_ticket(&app).await;
    let ticket_id = &ticket["id"];

    let response = app
        .client
        .post(app.url(&format!("/api/support/ticket/{ticket_id}/assign")))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let assigned: Value = response.json().await.unwrap();
    assert_eq!(assigned["id"], *ticket_id);
    assert_eq!(assigned["status"], "assigned");
    assert_eq!(assigned["supporter_id"], agent_id);
    assert_eq!(assigned["supporter_name"], "Alice");
}

#[tokio::test]
async fn curl_health() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/api/support/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let health: Value = response.json().await.unwrap();
    assert_eq!(health["status"], "ok");
}
