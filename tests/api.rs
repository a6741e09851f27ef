//! The REST contract of API.md, route by route, through real HTTP against a real
//! server on port 0 with its own SQLite file (and, for the key routes, PostgreSQL).

mod common;

use common::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestApp, read, spawn_app, spawn_app_with};
use livesupport::config::Secret;
use livesupport::domain::{MessageDraft, SenderType};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, RETRY_AFTER, SET_COOKIE};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Helpers

/// Asserts an error response: its status, the contract's error body with `code`
/// and a message, the `field` for validation errors, and no internals.
#[track_caller]
fn assert_error(case: &str, response: &(u16, Value), status: u16, code: &str, field: Option<&str>) {
    let (got_status, body) = response;
    assert_eq!(*got_status, status, "{case}: status (body {body})");
    let error = &body["error"];
    assert_eq!(error["code"], code, "{case}: code (body {body})");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{case}: a message is given (body {body})"
    );
    match field {
        Some(field) => assert_eq!(error["field"], field, "{case}: field (body {body})"),
        None => assert!(
            error.get("field").is_none(),
            "{case}: no field (body {body})"
        ),
    }
    assert_no_internals(case, body);
}

/// No driver or database text in what a client sees.
#[track_caller]
fn assert_no_internals(case: &str, body: &Value) {
    let text = body.to_string().to_lowercase();
    for leak in [
        "sqlx",
        "database",
        "sqlite",
        "postgres",
        "constraint",
        "support_",
    ] {
        assert!(!text.contains(leak), "{case}: {leak:?} leaked in {body}");
    }
}

async fn post_raw(app: &TestApp, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header(CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

fn session_of(ticket: &Value) -> String {
    ticket["session_id"].as_str().unwrap().to_owned()
}

fn id_of(value: &Value) -> i64 {
    value["id"].as_i64().unwrap()
}

/// Stores chat messages the way the WebSocket layer does (there is no REST route
/// for sending).
async fn say(app: &TestApp, ticket_id: i64, draft: MessageDraft) -> i64 {
    app.state
        .chat
        .append_message(ticket_id, draft)
        .await
        .expect("append message")
        .message
        .seq
}

/// The note a resolve leaves, worded for the visitor (issue 14 point 2).
const RESOLVED_NOTE: &str = "This conversation was marked as resolved \u{2014} write to reopen it";

fn from_user(text: &str) -> MessageDraft {
    MessageDraft {
        sender_type: SenderType::User,
        sender_id: None,
        sender_name: Some("John Doe".into()),
        text: text.into(),
        client_msg_id: None,
        visibility: Default::default(),
        attachments: Vec::new(),
    }
}

fn from_agent(agent_id: i64, text: &str) -> MessageDraft {
    MessageDraft {
        sender_type: SenderType::Supporter,
        sender_id: Some(agent_id),
        sender_name: Some("Admin".into()),
        text: text.into(),
        client_msg_id: None,
        visibility: Default::default(),
        attachments: Vec::new(),
    }
}

async fn admin_id(app: &TestApp) -> i64 {
    let (status, me) = app
        .get("/api/support/agents/me", Some(&app.admin_token))
        .await;
    assert_eq!(status, 200);
    id_of(&me)
}

async fn guest_messages(app: &TestApp, session: &str, query: &str) -> Page {
    let (status, body) = app
        .get(
            &format!("/api/support/ticket/{session}/messages{query}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "messages{query}: {body}");
    page_of(&body)
}

/// The seqs of a messages page, and its `has_more`.
type Page = (Vec<i64>, bool);

fn page_of(body: &Value) -> Page {
    let seqs = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    (seqs, body["has_more"].as_bool().unwrap())
}

/// Every message of a ticket as an agent reads it.
async fn all_messages(app: &TestApp, ticket_id: i64) -> Vec<Value> {
    let (status, body) = app
        .get(
            &format!("/api/support/tickets/{ticket_id}/messages?limit=500"),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(status, 200);
    body["messages"].as_array().unwrap().clone()
}

fn system_texts(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m["sender_type"] == "system")
        .map(|m| m["message"].as_str().unwrap().to_owned())
        .collect()
}

async fn ticket_as_agent(app: &TestApp, ticket_id: i64) -> Value {
    let (status, body) = app
        .get(
            &format!("/api/support/tickets/{ticket_id}"),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn patch(app: &TestApp, ticket_id: i64, body: Value) -> (u16, Value) {
    app.send_json(
        "PATCH",
        &format!("/api/support/tickets/{ticket_id}"),
        Some(&app.admin_token),
        body,
    )
    .await
}

async fn assign(app: &TestApp, ticket_id: i64, token: &str, body: Value) -> (u16, Value) {
    app.send_json(
        "POST",
        &format!("/api/support/tickets/{ticket_id}/assign"),
        Some(token),
        body,
    )
    .await
}

async fn queue(app: &TestApp, query: &str) -> Vec<i64> {
    let (status, body) = app
        .get(
            &format!("/api/support/tickets{query}"),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(status, 200, "tickets{query}: {body}");
    body["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect()
}

/// A fresh ticket, driven by the admin to `status` along allowed transitions.
async fn ticket_in_status(app: &TestApp, status: &str) -> i64 {
    let ticket = app
        .create_ticket(json!({"user_name": "John", "subject": format!("to be {status}")}))
        .await;
    let id = id_of(&ticket);
    let steps: &[&str] = match status {
        "open" => &[],
        "assigned" => &["assign"],
        "in_progress" => &["assign", "in_progress"],
        "resolved" => &["assign", "resolved"],
        "closed" => &["closed"],
        other => panic!("unknown status {other}"),
    };
    for step in steps {
        let (code, body) = if *step == "assign" {
            assign(app, id, &app.admin_token, json!({})).await
        } else {
            patch(app, id, json!({ "status": step })).await
        };
        assert_eq!(
            code, 200,
            "driving a ticket to {status}, step {step}: {body}"
        );
    }
    id
}

/// How many system notes a ticket carries, from the set-up's seq count: every
/// step of `ticket_in_status` stores exactly one note and nothing else.
fn before_notes(ticket: &Value) -> usize {
    ticket["last_seq"].as_u64().unwrap() as usize
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Guest: creating and reading a ticket

#[tokio::test]
async fn creating_a_ticket_returns_201_and_the_whole_ticket() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/support/ticket"))
        .json(&json!({
            "user_name": "John Doe",
            "user_email": "john@example.com",
            "subject": "Order not arrived",
            "priority": "high"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert!(
        response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let ticket: Value = response.json().await.unwrap();

    assert!(ticket["id"].as_i64().is_some_and(|id| id > 0), "{ticket}");
    let session = ticket["session_id"].as_str().unwrap();
    assert!(
        uuid::Uuid::parse_str(session).is_ok(),
        "session_id is a UUID"
    );
    assert_eq!(ticket["user_id"], Value::Null);
    assert_eq!(ticket["supporter_id"], Value::Null);
    assert_eq!(ticket["supporter_name"], Value::Null);
    assert_eq!(ticket["subject"], "Order not arrived");
    assert_eq!(ticket["status"], "open");
    assert_eq!(ticket["priority"], "high");
    assert_eq!(ticket["user_email"], "john@example.com");
    assert_eq!(ticket["user_name"], "John Doe");
    assert_eq!(ticket["closed_at"], Value::Null);
    assert_eq!(ticket["last_seq"], 0);
    assert_eq!(ticket["unread_count"], 0);
    for field in ["created_at", "updated_at"] {
        let text = ticket[field].as_str().unwrap();
        let at = chrono::DateTime::parse_from_rfc3339(text)
            .unwrap_or_else(|e| panic!("{field} {text:?} is RFC 3339: {e}"));
        assert_eq!(at.offset().local_minus_utc(), 0, "{field} is UTC");
    }
    let other = app.simple_ticket().await;
    assert_ne!(
        other["session_id"], ticket["session_id"],
        "every ticket has its own session"
    );
}

#[tokio::test]
async fn priority_defaults_to_medium_and_the_first_message_is_seq_1() {
    let app = spawn_app().await;
    let ticket = app
        .create_ticket(json!({
            "user_name": "John Doe",
            "subject": "Order not arrived",
            "message": "Hello!"
        }))
        .await;
    assert_eq!(ticket["priority"], "medium");
    assert_eq!(ticket["user_email"], Value::Null);
    assert_eq!(ticket["last_seq"], 1);

    let (status, body) = app
        .get(
            &format!("/api/support/ticket/{}/messages", session_of(&ticket)),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["has_more"], false);
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    let first = &messages[0];
    assert_eq!(first["seq"], 1);
    assert_eq!(first["ticket_id"], ticket["id"]);
    assert_eq!(first["sender_type"], "user");
    assert_eq!(first["sender_id"], Value::Null);
    assert_eq!(first["sender_name"], "John Doe");
    assert_eq!(first["message"], "Hello!");
    assert_eq!(first["is_read"], false);
    assert_eq!(first["client_msg_id"], Value::Null);
    assert!(first["id"].as_i64().is_some());
    assert!(chrono::DateTime::parse_from_rfc3339(first["created_at"].as_str().unwrap()).is_ok());
}

#[tokio::test]
async fn the_longest_valid_fields_are_accepted() {
    let app = spawn_app().await;
    let local = "a".repeat(64);
    let domain = format!("{}.example.com", "d".repeat(254 - 64 - 1 - 12));
    let email = format!("{local}@{domain}");
    assert_eq!(email.chars().count(), 254);
    let message = format!("  {}  ", "m".repeat(8192));
    let ticket = app
        .create_ticket(json!({
            "user_name": "n".repeat(100),
            "subject": "s".repeat(200),
            "user_email": email,
            "message": message,
            "priority": "urgent"
        }))
        .await;
    assert_eq!(ticket["user_name"].as_str().unwrap().len(), 100);
    assert_eq!(ticket["subject"].as_str().unwrap().len(), 200);
    assert_eq!(ticket["user_email"], email.as_str());
    let stored = all_messages(&app, id_of(&ticket)).await;
    assert_eq!(
        stored[0]["message"],
        message.as_str(),
        "kept as sent, spaces too"
    );

    let blank_email = app
        .create_ticket(json!({"user_name": "Jo", "subject": "Hi", "user_email": "  "}))
        .await;
    assert_eq!(
        blank_email["user_email"],
        Value::Null,
        "a blank email is no email"
    );
    let multibyte = app
        .create_ticket(json!({"user_name": "🙂".repeat(100), "subject": "é".repeat(200)}))
        .await;
    assert_eq!(
        multibyte["user_name"].as_str().unwrap().chars().count(),
        100,
        "limits count characters"
    );
}

#[tokio::test]
async fn a_guest_reads_their_ticket_by_session_id() {
    let app = spawn_app().await;
    let created = app.simple_ticket().await;
    let _other = app.simple_ticket().await;
    let (status, ticket) = app
        .get(
            &format!("/api/support/ticket/{}", session_of(&created)),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(ticket, created);
}

#[tokio::test]
async fn unknown_or_malformed_session_ids_are_404_with_the_error_body() {
    let app = spawn_app().await;
    let ticket = app.simple_ticket().await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let numeric_id = ticket["id"].to_string();
    // `%FF` decodes to a byte that is not UTF-8: it names nothing either.
    for key in [
        unknown.as_str(),
        "not-a-uuid",
        numeric_id.as_str(),
        "%20",
        "%FF",
    ] {
        for (method, suffix) in [("GET", ""), ("GET", "/messages"), ("POST", "/close")] {
            let path = format!("/api/support/ticket/{key}{suffix}");
            let response = app.send_json(method, &path, None, json!({})).await;
            assert_error(
                &format!("{method} {path}"),
                &response,
                404,
                "not_found",
                None,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Guest: messages paging

#[tokio::test]
async fn guest_messages_page_forwards_and_backwards() {
    let app = spawn_app().await;
    let ticket = app.simple_ticket().await; // seq 1
    let id = id_of(&ticket);
    for i in 2..=10 {
        say(&app, id, from_user(&format!("message {i}"))).await;
    }
    let session = session_of(&ticket);
    let cases: [(&str, &str, Page); 10] = [
        ("everything by default", "", ((1..=10).collect(), false)),
        ("after_seq", "?after_seq=7", (vec![8, 9, 10], false)),
        ("limit", "?limit=3", (vec![1, 2, 3], true)),
        (
            "after_seq and limit",
            "?after_seq=3&limit=3",
            (vec![4, 5, 6], true),
        ),
        (
            "a page ending at the end",
            "?after_seq=7&limit=3",
            (vec![8, 9, 10], false),
        ),
        ("past the end", "?after_seq=10", (vec![], false)),
        (
            "newest page backwards",
            "?before_seq=11&limit=3",
            (vec![8, 9, 10], true),
        ),
        (
            "scrolling back",
            "?before_seq=4&limit=3",
            (vec![1, 2, 3], false),
        ),
        (
            "scrolling back, more left",
            "?before_seq=6&limit=3",
            (vec![3, 4, 5], true),
        ),
        (
            "empty values mean defaults",
            "?after_seq=&limit=",
            ((1..=10).collect(), false),
        ),
    ];
    for (case, query, expected) in cases {
        assert_eq!(
            guest_messages(&app, &session, query).await,
            expected,
            "{case}: {query}"
        );
    }
}

#[tokio::test]
async fn bad_paging_values_are_400_naming_the_parameter() {
    let app = spawn_app().await;
    let ticket = app.simple_ticket().await;
    let guest_path = format!("/api/support/ticket/{}/messages", session_of(&ticket));
    let agent_path = format!("/api/support/tickets/{}/messages", id_of(&ticket));
    let cases = [
        ("?after_seq=-1", "after_seq"),
        ("?after_seq=abc", "after_seq"),
        ("?after_seq=1.5", "after_seq"),
        ("?before_seq=0", "before_seq"),
        ("?before_seq=x", "before_seq"),
        ("?limit=0", "limit"),
        ("?limit=501", "limit"),
        ("?limit=ten", "limit"),
        ("?limit=99999999999999999999", "limit"),
    ];
    for (query, field) in cases {
        let guest = app.get(&format!("{guest_path}{query}"), None).await;
        assert_error(
            &format!("guest {query}"),
            &guest,
            400,
            "validation_failed",
            Some(field),
        );
        let agent = app
            .get(&format!("{agent_path}{query}"), Some(&app.admin_token))
            .await;
        assert_error(
            &format!("agent {query}"),
            &agent,
            400,
            "validation_failed",
            Some(field),
        );
    }
    let (status, _) = app.get(&format!("{guest_path}?limit=500"), None).await;
    assert_eq!(status, 200, "500 is the largest page");
}

// ---------------------------------------------------------------------------
// Guest: closing

#[tokio::test]
async fn a_guest_closes_their_ticket_and_closing_twice_is_fine() {
    let app = spawn_app().await;
    let ticket = app.simple_ticket().await;
    let path = format!("/api/support/ticket/{}/close", session_of(&ticket));

    let (status, closed) = app.send_json("POST", &path, None, json!({})).await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["id"], ticket["id"]);
    assert_eq!(closed["last_seq"], 2, "the close is stored as seq 2");
    let closed_at = closed["closed_at"]
        .as_str()
        .expect("closed_at is set")
        .to_owned();
    assert!(chrono::DateTime::parse_from_rfc3339(&closed_at).is_ok());

    let messages = all_messages(&app, id_of(&ticket)).await;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["seq"], 2);
    assert_eq!(messages[1]["sender_type"], "system");
    assert_eq!(messages[1]["message"], "John Doe ended the chat");

    let (status, again) = app.send_json("POST", &path, None, json!({})).await;
    assert_eq!(status, 200, "closing again is harmless: {again}");
    assert_eq!(again["status"], "closed");
    assert_eq!(
        again["closed_at"],
        closed_at.as_str(),
        "closed_at does not move"
    );
    assert_eq!(
        all_messages(&app, id_of(&ticket)).await.len(),
        2,
        "no second note"
    );
    let (status, by_session) = app
        .get(
            &format!("/api/support/ticket/{}", session_of(&ticket)),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(by_session["status"], "closed");
}

// ---------------------------------------------------------------------------
// Agents: the queue

#[tokio::test]
async fn the_queue_filters_by_status_priority_assignment_and_text() {
    let app = spawn_app().await;
    let me = admin_id(&app).await;
    let (alice, _) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let create = |subject: &str, priority: &str, message: Option<&str>| {
        let mut body = json!({"user_name": "John", "subject": subject, "priority": priority});
        if let Some(message) = message {
            body["message"] = json!(message);
        }
        app.create_ticket(body)
    };
    let high = id_of(
        &create(
            "Where is my parcel",
            "high",
            Some("tracking XYZ-123 says nothing"),
        )
        .await,
    );
    let urgent = id_of(&create("Payment failed", "urgent", None).await);
    let low_mine = id_of(&create("Invoice address", "low", None).await);
    assert_eq!(
        assign(&app, low_mine, &app.admin_token, json!({})).await.0,
        200
    );
    let medium_alices = id_of(&create("Size exchange", "medium", None).await);
    let (status, _) = assign(
        &app,
        medium_alices,
        &app.admin_token,
        json!({"supporter_id": alice}),
    )
    .await;
    assert_eq!(status, 200);
    let closed = id_of(&create("Never mind", "medium", None).await);
    assert_eq!(
        patch(&app, closed, json!({"status": "closed"})).await.0,
        200
    );
    let resolved_mine = id_of(&create("Coupon 50%_off", "medium", None).await);
    assert_eq!(
        assign(&app, resolved_mine, &app.admin_token, json!({}))
            .await
            .0,
        200
    );
    assert_eq!(
        patch(&app, resolved_mine, json!({"status": "resolved"}))
            .await
            .0,
        200
    );

    let cases = [
        (
            "the active statuses by default",
            "",
            vec![urgent, high, medium_alices, low_mine],
        ),
        (
            "all",
            "?status=all",
            vec![urgent, high, medium_alices, closed, resolved_mine, low_mine],
        ),
        ("one status", "?status=closed", vec![closed]),
        (
            "a comma list",
            "?status=resolved,closed",
            vec![closed, resolved_mine],
        ),
        (
            "a comma list with spaces",
            "?status=open,%20assigned",
            vec![urgent, high, medium_alices, low_mine],
        ),
        ("priority", "?priority=urgent,low", vec![urgent, low_mine]),
        (
            "priority and status",
            "?priority=medium&status=all",
            vec![medium_alices, closed, resolved_mine],
        ),
        ("assigned to me", "?assigned=me", vec![low_mine]),
        (
            "assigned to me, every status",
            "?assigned=me&status=all",
            vec![resolved_mine, low_mine],
        ),
        ("unassigned", "?assigned=none", vec![urgent, high]),
        (
            "assigned to an agent id",
            &format!("?assigned={alice}"),
            vec![medium_alices],
        ),
        (
            "assigned to my id",
            &format!("?assigned={me}&status=all"),
            vec![resolved_mine, low_mine],
        ),
        ("text in a message", "?q=xyz-123", vec![high]),
        ("text in a subject, any case", "?q=PAYMENT", vec![urgent]),
        (
            "wildcards taken literally",
            "?q=50%25_&status=all",
            vec![resolved_mine],
        ),
        ("text in the name", "?q=john&priority=high", vec![high]),
        ("no match", "?q=nothing-like-this", vec![]),
    ];
    for (case, query, expected) in cases {
        assert_eq!(queue(&app, query).await, expected, "{case}: {query}");
    }
}

#[tokio::test]
async fn the_queue_is_ordered_by_priority_then_age_and_pages_by_cursor() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for (i, priority) in ["low", "urgent", "medium", "high", "urgent", "medium", "low"]
        .into_iter()
        .enumerate()
    {
        let ticket = app
            .create_ticket(
                json!({"user_name": "J", "subject": format!("t{i}"), "priority": priority}),
            )
            .await;
        ids.push(id_of(&ticket));
    }
    let expected: Vec<i64> = [1, 4, 3, 2, 5, 0, 6].iter().map(|&i| ids[i]).collect();
    assert_eq!(
        queue(&app, "").await,
        expected,
        "urgent first, then oldest first"
    );

    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &cursor {
            Some(c) => format!("?limit=3&cursor={c}"),
            None => "?limit=3".to_owned(),
        };
        let (status, body) = app
            .get(
                &format!("/api/support/tickets{query}"),
                Some(&app.admin_token),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        pages += 1;
        let page: Vec<i64> = body["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .map(id_of)
            .collect();
        assert!(page.len() <= 3);
        paged.extend(page);
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => {
                assert_eq!(body["next_cursor"], Value::Null, "the last page says null");
                break;
            }
        }
        assert!(pages < 10, "paging ends");
    }
    assert_eq!(pages, 3);
    assert_eq!(paged, expected, "pages join up without overlap or gap");

    let (_, whole) = app
        .get("/api/support/tickets?limit=7", Some(&app.admin_token))
        .await;
    assert_eq!(whole["next_cursor"], Value::Null);
}

#[tokio::test]
async fn bad_queue_filters_are_400_naming_the_field() {
    let app = spawn_app().await;
    let long_q = format!("?q={}", "q".repeat(201));
    let cases = [
        ("?status=bogus", "status"),
        ("?status=open,bogus", "status"),
        ("?status=OPEN", "status"),
        ("?priority=extreme", "priority"),
        ("?assigned=someone", "assigned"),
        ("?limit=0", "limit"),
        ("?limit=201", "limit"),
        ("?limit=-5", "limit"),
        ("?cursor=garbage", "cursor"),
        ("?cursor=3", "cursor"),
        (long_q.as_str(), "q"),
    ];
    for (query, field) in cases {
        let response = app
            .get(
                &format!("/api/support/tickets{query}"),
                Some(&app.admin_token),
            )
            .await;
        assert_error(query, &response, 400, "validation_failed", Some(field));
    }
    let (status, _) = app
        .get("/api/support/tickets?limit=200", Some(&app.admin_token))
        .await;
    assert_eq!(status, 200, "200 is the largest page");
}

// ---------------------------------------------------------------------------
// Agents: one ticket

#[tokio::test]
async fn agents_read_a_ticket_and_its_messages_by_id() {
    let app = spawn_app().await;
    let ticket = app.simple_ticket().await;
    let id = id_of(&ticket);
    for i in 2..=5 {
        say(&app, id, from_user(&format!("m{i}"))).await;
    }
    let by_id = ticket_as_agent(&app, id).await;
    assert_eq!(by_id["session_id"], ticket["session_id"]);
    assert_eq!(by_id["last_seq"], 5);
    assert_eq!(by_id["unread_count"], 5, "as the agent sees it");

    let (status, body) = app
        .get(
            &format!("/api/support/tickets/{id}/messages?after_seq=1&limit=2"),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(page_of(&body), (vec![2, 3], true));
    let (_, body) = app
        .get(
            &format!("/api/support/tickets/{id}/messages?before_seq=3"),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(page_of(&body), (vec![1, 2], false));

    let missing = id + 1000;
    for path in [
        format!("/api/support/tickets/{missing}"),
        format!("/api/support/tickets/{missing}/messages"),
        "/api/support/tickets/abc".to_owned(),
        "/api/support/tickets/abc/messages".to_owned(),
        format!("/api/support/tickets/{}", session_of(&ticket)),
        "/api/support/tickets/0".to_owned(),
        "/api/support/tickets/-1".to_owned(),
        "/api/support/tickets/99999999999999999999".to_owned(),
        "/api/support/tickets/%FF".to_owned(),
        "/api/support/tickets/%FF/messages".to_owned(),
    ] {
        let response = app.get(&path, Some(&app.admin_token)).await;
        assert_error(&path, &response, 404, "not_found", None);
    }
}

#[tokio::test]
async fn agent_routes_need_a_token() {
    let app = spawn_app().await;
    let ticket = app.simple_ticket().await;
    let id = id_of(&ticket);
    let routes = [
        ("GET", "/api/support/tickets".to_owned()),
        ("GET", format!("/api/support/tickets/{id}")),
        ("GET", format!("/api/support/tickets/{id}/messages")),
        ("POST", format!("/api/support/tickets/{id}/assign")),
        ("POST", format!("/api/support/ticket/{id}/assign")),
        ("PATCH", format!("/api/support/tickets/{id}")),
        ("GET", "/api/support/agents/me".to_owned()),
        ("GET", "/api/support/agents".to_owned()),
        ("POST", "/api/support/agents".to_owned()),
    ];
    for (method, path) in routes {
        let response = app
            .send_json(method, &path, None, json!({"status": "closed"}))
            .await;
        assert_error(
            &format!("{method} {path}"),
            &response,
            401,
            "unauthorized",
            None,
        );
    }
    let ticket = ticket_as_agent(&app, id).await;
    assert_eq!(
        ticket["status"], "open",
        "nothing was changed without a token"
    );
    assert_eq!(ticket["last_seq"], 1);
}

// ---------------------------------------------------------------------------
// Agents: assignment

#[tokio::test]
async fn assigning_defaults_to_the_caller_and_makes_an_open_ticket_assigned() {
    let app = spawn_app().await;
    let me = admin_id(&app).await;
    let ticket = app.simple_ticket().await;
    let id = id_of(&ticket);

    let (status, assigned) = assign(&app, id, &app.admin_token, json!({})).await;
    assert_eq!(status, 200, "{assigned}");
    assert_eq!(assigned["status"], "assigned");
    assert_eq!(assigned["supporter_id"], me);
    assert_eq!(assigned["supporter_name"], "Admin");
    assert_eq!(assigned["last_seq"], 2);
    let messages = all_messages(&app, id).await;
    assert_eq!(messages[1]["sender_type"], "system");
    assert_eq!(messages[1]["message"], "Ticket assigned to Admin");

    let (status, again) = assign(&app, id, &app.admin_token, json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        again["last_seq"], 2,
        "assigning to the same agent again stores nothing"
    );
}

#[tokio::test]
async fn assigning_to_another_agent_works_on_both_paths() {
    let app = spawn_app().await;
    let (alice, alice_token) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let me = admin_id(&app).await;
    let first = id_of(&app.simple_ticket().await);
    let second = app.simple_ticket().await;

    let (status, to_alice) = assign(
        &app,
        first,
        &app.admin_token,
        json!({"supporter_id": alice}),
    )
    .await;
    assert_eq!(status, 200, "{to_alice}");
    assert_eq!(to_alice["supporter_id"], alice);
    assert_eq!(to_alice["supporter_name"], "Alice");
    assert_eq!(to_alice["status"], "assigned");
    assert_eq!(
        system_texts(&all_messages(&app, first).await),
        ["Ticket assigned to Alice by Admin"]
    );

    // The original design's path: /api/support/ticket/{ticket_id}/assign.
    let alias = format!("/api/support/ticket/{}/assign", id_of(&second));
    let (status, by_alias) = app
        .send_json("POST", &alias, Some(&alice_token), json!({}))
        .await;
    assert_eq!(status, 200, "{by_alias}");
    assert_eq!(by_alias["supporter_id"], alice, "the caller by default");
    assert_eq!(by_alias["status"], "assigned");
    let (status, to_me) = app
        .send_json(
            "POST",
            &alias,
            Some(&alice_token),
            json!({"supporter_id": me}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(to_me["supporter_id"], me);
    assert_eq!(to_me["supporter_name"], "Admin");
    assert_eq!(
        system_texts(&all_messages(&app, id_of(&second)).await),
        [
            "Ticket assigned to Alice",
            "Ticket assigned to Admin by Alice"
        ]
    );

    let by_session = format!("/api/support/ticket/{}/assign", session_of(&second));
    let response = app
        .send_json("POST", &by_session, Some(&alice_token), json!({}))
        .await;
    assert_error(
        "the alias takes a ticket id, not a session id",
        &response,
        404,
        "not_found",
        None,
    );
}

#[tokio::test]
async fn bad_assignments_are_refused() {
    let app = spawn_app().await;
    let id = id_of(&app.simple_ticket().await);
    let cases = [
        (
            "an unknown agent",
            json!({"supporter_id": 987654}),
            400,
            "validation_failed",
            Some("supporter_id"),
        ),
        (
            "a string id",
            json!({"supporter_id": "1"}),
            400,
            "validation_failed",
            Some("supporter_id"),
        ),
    ];
    for (case, body, status, code, field) in cases {
        for path in [
            format!("/api/support/tickets/{id}/assign"),
            format!("/api/support/ticket/{id}/assign"),
        ] {
            let response = app
                .send_json("POST", &path, Some(&app.admin_token), body.clone())
                .await;
            assert_error(&format!("{case} on {path}"), &response, status, code, field);
        }
    }
    let missing = assign(&app, id + 1000, &app.admin_token, json!({})).await;
    assert_error("an unknown ticket", &missing, 404, "not_found", None);
    let ticket = ticket_as_agent(&app, id).await;
    assert_eq!(ticket["status"], "open");
    assert_eq!(ticket["supporter_id"], Value::Null);

    let closed = ticket_in_status(&app, "closed").await;
    let response = assign(&app, closed, &app.admin_token, json!({})).await;
    assert_error("a closed ticket", &response, 409, "ticket_closed", None);
}

// ---------------------------------------------------------------------------
// Agents: status and priority

#[tokio::test]
async fn patch_follows_the_transition_table_exactly() {
    let app = spawn_app().await;
    let statuses = ["open", "assigned", "in_progress", "resolved", "closed"];
    let allowed = [
        ("open", "assigned"),
        ("open", "closed"),
        ("assigned", "in_progress"),
        ("assigned", "open"),
        ("assigned", "resolved"),
        ("assigned", "closed"),
        ("in_progress", "assigned"),
        ("in_progress", "resolved"),
        ("in_progress", "closed"),
        ("resolved", "in_progress"),
        ("resolved", "closed"),
    ];
    for from in statuses {
        for to in statuses {
            if from == to {
                continue;
            }
            let id = ticket_in_status(&app, from).await;
            let before = ticket_as_agent(&app, id).await;
            let response = patch(&app, id, json!({ "status": to })).await;
            let case = format!("{from} -> {to}");
            if allowed.contains(&(from, to)) {
                assert_eq!(response.0, 200, "{case}: {}", response.1);
                assert_eq!(response.1["status"], to, "{case}");
                // Moving an open ticket to `assigned` assigns the caller, and the
                // assignment's note tells both.
                let note = match (from, to) {
                    ("open", "assigned") => "Ticket assigned to Admin".to_owned(),
                    (_, "resolved") => RESOLVED_NOTE.to_owned(),
                    (_, "closed") => "This chat has ended".to_owned(),
                    _ => format!("Status changed from {from} to {to} by Admin"),
                };
                let notes = system_texts(&all_messages(&app, id).await);
                assert_eq!(notes.last(), Some(&note), "{case}: the change is noted");
                assert_eq!(
                    notes.len(),
                    before_notes(&before) + 1,
                    "{case}: exactly one note"
                );
            } else {
                assert_error(&case, &response, 409, "invalid_transition", None);
                assert_eq!(
                    ticket_as_agent(&app, id).await,
                    before,
                    "{case}: nothing changed"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_patch_to_the_current_status_or_priority_changes_nothing() {
    let app = spawn_app().await;
    for status in ["open", "assigned", "in_progress", "resolved", "closed"] {
        let id = ticket_in_status(&app, status).await;
        let before = ticket_as_agent(&app, id).await;
        let (code, after) = patch(&app, id, json!({"status": status, "priority": "medium"})).await;
        assert_eq!(code, 200, "{status}: {after}");
        assert_eq!(
            after, before,
            "{status}: no change, no note, same updated_at"
        );
    }
}

#[tokio::test]
async fn closed_is_final() {
    let app = spawn_app().await;
    let id = ticket_in_status(&app, "closed").await;
    let before = ticket_as_agent(&app, id).await;
    let cases = [
        ("reopen", json!({"status": "open"}), "invalid_transition"),
        (
            "resume",
            json!({"status": "in_progress"}),
            "invalid_transition",
        ),
        (
            "reprioritise",
            json!({"priority": "urgent"}),
            "ticket_closed",
        ),
    ];
    for (case, body, code) in cases {
        let response = patch(&app, id, body).await;
        assert_error(case, &response, 409, code, None);
    }
    assert_eq!(ticket_as_agent(&app, id).await, before);
}

#[tokio::test]
async fn bad_patches_are_400_naming_the_field() {
    let app = spawn_app().await;
    let id = id_of(&app.simple_ticket().await);
    let cases = [
        ("nothing to change", json!({}), "status"),
        ("nulls", json!({"status": null, "priority": null}), "status"),
        ("unknown status", json!({"status": "done"}), "status"),
        ("status in capitals", json!({"status": "CLOSED"}), "status"),
        (
            "unknown priority",
            json!({"priority": "critical"}),
            "priority",
        ),
        ("status of the wrong type", json!({"status": 3}), "status"),
        (
            "priority of the wrong type",
            json!({"priority": ["high"]}),
            "priority",
        ),
    ];
    for (case, body, field) in cases {
        let response = patch(&app, id, body).await;
        assert_error(case, &response, 400, "validation_failed", Some(field));
    }
    for path in [
        "/api/support/tickets/abc",
        "/api/support/tickets/987654",
        "/api/support/tickets/%FF",
    ] {
        let response = app
            .send_json(
                "PATCH",
                path,
                Some(&app.admin_token),
                json!({"status": "closed"}),
            )
            .await;
        assert_error(path, &response, 404, "not_found", None);
    }
    let ticket = ticket_as_agent(&app, id).await;
    assert_eq!(ticket["status"], "open");
    assert_eq!(ticket["last_seq"], 1);
}

#[tokio::test]
async fn every_change_is_stored_as_a_system_message() {
    let app = spawn_app().await;
    let (alice, _) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let me = admin_id(&app).await;
    let ticket = app.simple_ticket().await; // seq 1: "Hello!"
    let id = id_of(&ticket);

    assign(&app, id, &app.admin_token, json!({})).await;
    say(&app, id, from_agent(me, "Hi, Admin here")).await; // starts the work
    patch(&app, id, json!({"priority": "urgent"})).await;
    patch(&app, id, json!({"status": "resolved", "priority": "low"})).await;
    say(&app, id, from_user("Still broken")).await; // reopens
    assign(&app, id, &app.admin_token, json!({"supporter_id": alice})).await;
    patch(&app, id, json!({"status": "assigned"})).await;
    patch(&app, id, json!({"status": "open"})).await;
    app.send_json(
        "POST",
        &format!("/api/support/ticket/{}/close", session_of(&ticket)),
        None,
        json!({}),
    )
    .await;

    let messages = all_messages(&app, id).await;
    let seqs: Vec<i64> = messages
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as i64).collect::<Vec<_>>(),
        "gapless, system notes included"
    );
    let lines: Vec<(String, String)> = messages
        .iter()
        .map(|m| {
            (
                m["sender_type"].as_str().unwrap().to_owned(),
                m["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("user", "Hello!"),
        ("system", "Ticket assigned to Admin"),
        ("supporter", "Hi, Admin here"),
        ("system", "Status changed from assigned to in_progress"),
        ("system", "Priority changed from medium to urgent by Admin"),
        ("system", RESOLVED_NOTE),
        ("system", "Priority changed from urgent to low by Admin"),
        ("user", "Still broken"),
        ("system", "Status changed from resolved to in_progress"),
        ("system", "Ticket assigned to Alice by Admin"),
        (
            "system",
            "Status changed from in_progress to assigned by Admin",
        ),
        ("system", "Status changed from assigned to open by Admin"),
        ("system", "John Doe ended the chat"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(lines, expected);
    let ticket = ticket_as_agent(&app, id).await;
    assert_eq!(ticket["status"], "closed");
    assert_eq!(
        ticket["supporter_id"],
        Value::Null,
        "back to open released the agent"
    );
    assert_eq!(ticket["priority"], "low");
    assert_eq!(ticket["last_seq"], 13);
}

#[tokio::test]
async fn unread_counts_are_the_callers() {
    let app = spawn_app().await;
    let me = admin_id(&app).await;
    let ticket = app.simple_ticket().await; // the visitor's "Hello!"
    let id = id_of(&ticket);
    let guest_view = format!("/api/support/ticket/{}", session_of(&ticket));
    let unread = |body: &Value| body["unread_count"].as_i64().unwrap();

    assert_eq!(
        unread(&ticket_as_agent(&app, id).await),
        1,
        "the agent has one to read"
    );
    assert_eq!(
        unread(&app.get(&guest_view, None).await.1),
        0,
        "the guest has none"
    );

    assign(&app, id, &app.admin_token, json!({})).await;
    say(&app, id, from_agent(me, "Hi")).await;
    // The visitor reads in its own numbering (public messages only).
    let answer = app
        .state
        .chat
        .append_message(id, from_agent(me, "How can I help?"))
        .await
        .unwrap()
        .message
        .public_seq
        .expect("a public message");
    say(&app, id, from_user("My parcel")).await;
    assert_eq!(unread(&ticket_as_agent(&app, id).await), 2);
    assert_eq!(
        unread(&app.get(&guest_view, None).await.1),
        2,
        "system notes do not count"
    );
    let listed = app
        .get("/api/support/tickets", Some(&app.admin_token))
        .await
        .1;
    assert_eq!(
        listed["tickets"][0]["unread_count"], 2,
        "the queue shows the agent's count"
    );

    app.state
        .chat
        .mark_read(id, SenderType::User, answer)
        .await
        .unwrap();
    assert_eq!(
        unread(&app.get(&guest_view, None).await.1),
        0,
        "the guest read both"
    );
    assert_eq!(
        unread(&ticket_as_agent(&app, id).await),
        2,
        "the agent still has two"
    );
    let messages = app.get(&format!("{guest_view}/messages"), None).await.1;
    let read: Vec<(String, bool)> = messages["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["sender_type"] == "supporter")
        .map(|m| {
            (
                m["message"].as_str().unwrap().to_owned(),
                m["is_read"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        read,
        [
            ("Hi".to_owned(), true),
            ("How can I help?".to_owned(), true)
        ]
    );
}

// ---------------------------------------------------------------------------
// Auth

#[tokio::test]
async fn login_returns_a_token_and_an_httponly_strict_cookie_that_authenticates() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/support/auth/login"))
        .json(&json!({"email": "Admin@Example.com ", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the email is matched without case");
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    assert_eq!(token.split('.').count(), 3, "a JWT");
    let agent = &body["agent"];
    assert!(agent["id"].as_i64().is_some());
    assert_eq!(agent["email"], ADMIN_EMAIL);
    assert_eq!(agent["name"], "Admin");
    assert_eq!(agent["role"], "admin");
    assert_no_password(&body);

    let (pair, attributes) = set_cookie.split_once(';').unwrap();
    assert_eq!(pair, format!("livesupport_token={token}"));
    let attributes: Vec<&str> = attributes.split(';').map(str::trim).collect();
    for wanted in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(attributes.contains(&wanted), "{wanted} in {set_cookie}");
    }
    assert!(
        attributes
            .iter()
            .any(|a| a.starts_with("Max-Age=") && a != &"Max-Age=0"),
        "the cookie lasts: {set_cookie}"
    );

    // The cookie alone authenticates.
    let me = app
        .client
        .get(app.url("/api/support/agents/me"))
        .header(COOKIE, pair)
        .send()
        .await
        .unwrap();
    let (status, me) = read(me).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], ADMIN_EMAIL);
    // And so does the token alone.
    let (status, _) = app.get("/api/support/tickets", Some(token)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn wrong_credentials_are_401_invalid_credentials() {
    let app = spawn_app().await;
    let cases = [
        (
            "wrong password",
            json!({"email": ADMIN_EMAIL, "password": "wrong-password-123"}),
        ),
        (
            "unknown email",
            json!({"email": "nobody@example.com", "password": ADMIN_PASSWORD}),
        ),
        (
            "password in another case",
            json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD.to_uppercase()}),
        ),
    ];
    for (case, body) in cases {
        let response = app
            .send_json("POST", "/api/support/auth/login", None, body)
            .await;
        assert_error(case, &response, 401, "invalid_credentials", None);
        assert!(response.1.get("token").is_none(), "{case}: no token");
    }
    let incomplete = [
        ("no email", json!({"password": ADMIN_PASSWORD}), "email"),
        (
            "blank email",
            json!({"email": " ", "password": ADMIN_PASSWORD}),
            "email",
        ),
        ("no password", json!({"email": ADMIN_EMAIL}), "password"),
        (
            "empty password",
            json!({"email": ADMIN_EMAIL, "password": ""}),
            "password",
        ),
        (
            "password of the wrong type",
            json!({"email": ADMIN_EMAIL, "password": 123}),
            "password",
        ),
    ];
    for (case, body, field) in incomplete {
        let response = app
            .send_json("POST", "/api/support/auth/login", None, body)
            .await;
        assert_error(case, &response, 400, "validation_failed", Some(field));
    }
}

#[tokio::test]
async fn bad_or_missing_tokens_are_401_unauthorized() {
    const SECRET: &str = "auth-test-secret-of-at-least-32-chars";
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.token_secret = Some(Secret::new(SECRET));
    })
    .await
    .unwrap();
    let me = admin_id(&app).await;
    let now = chrono::Utc::now().timestamp();
    let claims = |sub: String, aud: &str, exp: i64| json!({"sub": sub, "role": "admin", "iss": "livesupport", "aud": aud, "iat": now, "exp": exp, "generation": 0});
    let sign = |secret: &str, claims: Value| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let good = claims(me.to_string(), "livesupport-agents", now + 600);
    let unsigned = format!(
        "{}.{}.",
        base64url(br#"{"alg":"none","typ":"JWT"}"#),
        base64url(good.to_string().as_bytes())
    );
    let sanity = sign(SECRET, good.clone());
    let (status, _) = app.get("/api/support/agents/me", Some(&sanity)).await;
    assert_eq!(status, 200, "the control token, signed right, works");

    let cases: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("garbage", Some("Bearer not-a-token".into())),
        ("an empty bearer", Some("Bearer ".into())),
        (
            "another key",
            Some(format!(
                "Bearer {}",
                sign("some-other-secret-of-32-characters!!", good.clone())
            )),
        ),
        ("alg none", Some(format!("Bearer {unsigned}"))),
        (
            "alg none with the signature kept",
            Some(format!(
                "Bearer {unsigned}{}",
                sanity.rsplit('.').next().unwrap()
            )),
        ),
        (
            "expired",
            Some(format!(
                "Bearer {}",
                sign(
                    SECRET,
                    claims(me.to_string(), "livesupport-agents", now - 3600)
                )
            )),
        ),
        (
            "another audience",
            Some(format!(
                "Bearer {}",
                sign(SECRET, claims(me.to_string(), "someone-else", now + 600))
            )),
        ),
        (
            "an agent that does not exist",
            Some(format!(
                "Bearer {}",
                sign(
                    SECRET,
                    claims("987654".into(), "livesupport-agents", now + 600)
                )
            )),
        ),
        (
            "a tampered payload",
            Some(format!("Bearer {}", tamper(&sanity))),
        ),
        (
            "basic auth",
            Some(format!(
                "Basic {}",
                base64url(format!("{ADMIN_EMAIL}:{ADMIN_PASSWORD}").as_bytes())
            )),
        ),
    ];
    for (case, authorization) in cases {
        for path in ["/api/support/agents/me", "/api/support/tickets"] {
            let mut request = app.client.get(app.url(path));
            if let Some(value) = &authorization {
                request = request.header(AUTHORIZATION, value);
            }
            let response = read(request.send().await.unwrap()).await;
            assert_error(
                &format!("{case} on {path}"),
                &response,
                401,
                "unauthorized",
                None,
            );
        }
    }
    let by_cookie = app
        .client
        .get(app.url("/api/support/agents/me"))
        .header(COOKIE, format!("livesupport_token={unsigned}"))
        .send()
        .await
        .unwrap();
    assert_error(
        "alg none in the cookie",
        &read(by_cookie).await,
        401,
        "unauthorized",
        None,
    );
}

/// The token with its payload swapped for one naming another agent, signature kept.
fn tamper(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let forged = json!({"sub": "1", "role": "admin", "iss": "livesupport", "aud": "livesupport-agents", "exp": 4_000_000_000u64});
    format!(
        "{}.{}.{}",
        parts[0],
        base64url(forged.to_string().as_bytes()),
        parts[2]
    )
}

#[tokio::test]
async fn logout_is_204_and_clears_the_cookie() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/support/auth/logout"))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        set_cookie.starts_with("livesupport_token=;"),
        "emptied: {set_cookie}"
    );
    assert!(
        set_cookie.contains("Max-Age=0"),
        "expired now: {set_cookie}"
    );
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("Path=/"));
    assert!(response.text().await.unwrap().is_empty(), "204 has no body");
}

#[tokio::test]
async fn agents_see_themselves_and_the_team_with_online_state() {
    let app = spawn_app().await;
    let (alice, alice_token) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let (status, me) = app.get("/api/support/agents/me", Some(&alice_token)).await;
    assert_eq!(status, 200);
    assert_eq!(me["id"], alice);
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["name"], "Alice");
    assert_eq!(me["role"], "agent");
    assert_eq!(me["disabled"], false);
    assert_no_password(&me);

    // Presence comes from dashboard sockets (the feed), issue 16.
    let dashboard = app
        .state
        .store
        .open_agent_socket(alice, &app.state.settings.node_id)
        .await
        .unwrap();
    let team = |token: String| {
        let app = &app;
        async move {
            let (status, body) = app.get("/api/support/agents", Some(&token)).await;
            assert_eq!(status, 200, "{body}");
            assert_no_password(&body);
            body["agents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    (
                        a["name"].as_str().unwrap().to_owned(),
                        a["online"].as_bool().unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        team(alice_token.clone()).await,
        [("Admin".to_owned(), false), ("Alice".to_owned(), true)],
        "alice has a dashboard open"
    );
    app.state
        .store
        .close_agent_socket(dashboard, std::time::Duration::ZERO)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_eq!(
        team(app.admin_token.clone()).await,
        [("Admin".to_owned(), false), ("Alice".to_owned(), false)]
    );
}

#[track_caller]
fn assert_no_password(body: &Value) {
    let text = body.to_string();
    assert!(!text.contains("argon2"), "no password hash in {text}");
    assert!(!text.contains("password"), "no password field in {text}");
}

#[tokio::test]
async fn only_admins_create_agents() {
    let app = spawn_app().await;
    let create = |token: Option<String>, body: Value| {
        let app = &app;
        async move {
            app.send_json("POST", "/api/support/agents", token.as_deref(), body)
                .await
        }
    };
    let admin = Some(app.admin_token.clone());
    let (status, created) = create(
        admin.clone(),
        json!({"email": "Bob@Example.com", "name": "Bob", "password": "bob-password-1", "role": "agent"}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert!(created["id"].as_i64().is_some());
    assert_eq!(
        created["email"], "bob@example.com",
        "emails are kept lower-case"
    );
    assert_eq!(created["name"], "Bob");
    assert_eq!(created["role"], "agent");
    assert_no_password(&created);
    let bob_token = app.login("bob@example.com", "bob-password-1").await;

    let (status, admin2) = create(
        admin.clone(),
        json!({"email": "carol@example.com", "name": "Carol", "password": "carol-password", "role": "admin"}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(admin2["role"], "admin");
    let (status, default_role) = create(
        admin.clone(),
        json!({"email": "dave@example.com", "name": "Dave", "password": "dave-password"}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(default_role["role"], "agent", "agent is the default role");

    let fine = json!({"email": "eve@example.com", "name": "Eve", "password": "eve-password-1"});
    let response = create(Some(bob_token), fine.clone()).await;
    assert_error("a plain agent", &response, 403, "forbidden", None);
    let response = create(None, fine.clone()).await;
    assert_error("nobody", &response, 401, "unauthorized", None);

    let bad = [
        (
            "a taken email",
            json!({"email": "bob@example.com", "name": "Bob 2", "password": "bob-password-2"}),
            409,
            "conflict",
            None,
        ),
        (
            "a taken email in capitals",
            json!({"email": "BOB@EXAMPLE.COM", "name": "Bob 3", "password": "bob-password-3"}),
            409,
            "conflict",
            None,
        ),
        (
            "a weak password",
            json!({"email": "f@example.com", "name": "F", "password": "short"}),
            400,
            "validation_failed",
            Some("password"),
        ),
        (
            "no password",
            json!({"email": "f@example.com", "name": "F"}),
            400,
            "validation_failed",
            Some("password"),
        ),
        (
            "a bad email",
            json!({"email": "not-an-email", "name": "F", "password": "f-password-1"}),
            400,
            "validation_failed",
            Some("email"),
        ),
        (
            "no email",
            json!({"name": "F", "password": "f-password-1"}),
            400,
            "validation_failed",
            Some("email"),
        ),
        (
            "no name",
            json!({"email": "f@example.com", "password": "f-password-1"}),
            400,
            "validation_failed",
            Some("name"),
        ),
        (
            "an unknown role",
            json!({"email": "f@example.com", "name": "F", "password": "f-password-1", "role": "root"}),
            400,
            "validation_failed",
            Some("role"),
        ),
    ];
    for (case, body, status, code, field) in bad {
        let response = create(admin.clone(), body).await;
        assert_error(case, &response, status, code, field);
    }
    let (_, team) = app.get("/api/support/agents", Some(&app.admin_token)).await;
    let emails: Vec<&str> = team["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        [
            ADMIN_EMAIL,
            "bob@example.com",
            "carol@example.com",
            "dave@example.com"
        ],
        "refused requests created nobody"
    );
}

// ---------------------------------------------------------------------------
// Identity verification

#[tokio::test]
async fn a_verified_user_id_is_stored_and_anything_else_is_refused() {
    let secret = Secret::new("storefront-identity-secret");
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.identity_secret = Some(Secret::new("storefront-identity-secret"));
    })
    .await
    .unwrap();
    let hash = livesupport::auth::identity_hash(&secret, "user-42");
    assert!(
        hash.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );

    let ticket = app
        .create_ticket(
            json!({"user_name": "John", "subject": "Hi", "user_id": "user-42", "user_hash": hash}),
        )
        .await;
    assert_eq!(ticket["user_id"], "user-42");
    let (_, stored) = app
        .get(
            &format!("/api/support/ticket/{}", session_of(&ticket)),
            None,
        )
        .await;
    assert_eq!(stored["user_id"], "user-42");

    let other_hash = livesupport::auth::identity_hash(&secret, "user-43");
    let foreign_hash = livesupport::auth::identity_hash(&Secret::new("another-secret"), "user-42");
    let cases = [
        ("another user's hash", json!(other_hash)),
        ("a hash under another secret", json!(foreign_hash)),
        ("the hash in uppercase", json!(hash.to_uppercase())),
        ("no hash", Value::Null),
        ("an empty hash", json!("")),
        ("not hex", json!("zz")),
    ];
    for (case, user_hash) in cases {
        let mut body = json!({"user_name": "John", "subject": "Hi", "user_id": "user-42"});
        if !user_hash.is_null() {
            body["user_hash"] = user_hash;
        }
        let response = app
            .send_json("POST", "/api/support/ticket", None, body)
            .await;
        assert_error(case, &response, 403, "identity_unverified", None);
    }
    let anonymous = app
        .create_ticket(json!({"user_name": "John", "subject": "Hi", "user_hash": hash}))
        .await;
    assert_eq!(
        anonymous["user_id"],
        Value::Null,
        "a hash without a user_id claims nothing"
    );
}

#[tokio::test]
async fn a_user_id_is_refused_when_verification_is_off() {
    let app = spawn_app().await;
    let hash = livesupport::auth::identity_hash(&Secret::new("anything"), "user-42");
    let response = app
        .send_json(
            "POST",
            "/api/support/ticket",
            None,
            json!({"user_name": "John", "subject": "Hi", "user_id": "user-42", "user_hash": hash}),
        )
        .await;
    assert_error(
        "verification off",
        &response,
        403,
        "identity_unverified",
        None,
    );
}

// ---------------------------------------------------------------------------
// Limits

#[tokio::test]
async fn ticket_creation_is_rate_limited_per_client() {
    let app = spawn_app_with(Backend::Sqlite, |config| config.ticket_rate_per_minute = 2)
        .await
        .unwrap();
    app.simple_ticket().await;
    app.simple_ticket().await;
    let response = app
        .client
        .post(app.url("/api/support/ticket"))
        .json(&json!({"user_name": "John", "subject": "Third"}))
        .send()
        .await
        .unwrap();
    let retry_after: u64 = response.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After is whole seconds");
    assert!(
        (1..=60).contains(&retry_after),
        "retry within the minute: {retry_after}"
    );
    let response = read(response).await;
    assert_error("the third ticket", &response, 429, "rate_limited", None);
    let (_, queue) = app
        .get("/api/support/tickets", Some(&app.admin_token))
        .await;
    assert_eq!(
        queue["tickets"].as_array().unwrap().len(),
        2,
        "the third was not created"
    );
}

#[tokio::test]
async fn login_attempts_are_rate_limited_per_ip_and_email() {
    let app = spawn_app_with(Backend::Sqlite, |config| config.login_rate_per_minute = 2)
        .await
        .unwrap();
    let attempt = |email: &'static str, password: &'static str| {
        let app = &app;
        async move {
            let response = app
                .client
                .post(app.url("/api/support/auth/login"))
                .json(&json!({"email": email, "password": password}))
                .send()
                .await
                .unwrap();
            let retry_after = response.headers().get(RETRY_AFTER).cloned();
            (read(response).await, retry_after)
        }
    };
    for i in 0..2 {
        let (response, _) = attempt("victim@example.com", "guess-password").await;
        assert_error(
            &format!("guess {i}"),
            &response,
            401,
            "invalid_credentials",
            None,
        );
    }
    let (response, retry_after) = attempt("victim@example.com", "guess-password").await;
    assert_error("the third guess", &response, 429, "rate_limited", None);
    assert!(retry_after.is_some(), "429 says when to retry");

    let (response, _) = attempt("other@example.com", "guess-password").await;
    assert_error(
        "another email has its own budget",
        &response,
        401,
        "invalid_credentials",
        None,
    );
    // spawn_app_with logged the admin in once already: one attempt is left.
    let ((status, _), _) = attempt(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(status, 200);
    let (response, _) = attempt(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_error(
        "even the right password, once over the limit",
        &response,
        429,
        "rate_limited",
        None,
    );
}

#[tokio::test]
async fn a_body_over_64_kib_is_413_with_the_error_body() {
    let app = spawn_app().await;
    let huge = json!({"user_name": "John", "subject": "Big", "message": "x".repeat(70 * 1024)})
        .to_string();
    let response = post_raw(&app, "/api/support/ticket", huge).await;
    assert_eq!(response.status(), 413);
    assert!(
        response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let response = read(response).await;
    assert_error("70 KiB", &response, 413, "payload_too_large", None);

    let login = json!({"email": ADMIN_EMAIL, "password": "p".repeat(65 * 1024)}).to_string();
    let response = read(post_raw(&app, "/api/support/auth/login", login).await).await;
    assert_error("a huge login", &response, 413, "payload_too_large", None);

    let just_under = json!({"user_name": "John", "subject": "Big", "message": "x".repeat(8192), "pad": "p".repeat(50 * 1024)}).to_string();
    assert!(just_under.len() < 64 * 1024);
    let response = post_raw(&app, "/api/support/ticket", just_under).await;
    assert_eq!(response.status(), 201, "under the limit is fine");
}

#[tokio::test]
async fn malformed_json_is_400_invalid_json() {
    let app = spawn_app().await;
    for (case, body) in [
        ("truncated", r#"{"user_name": "John""#),
        ("not JSON", "user_name=John"),
        ("an array", r#"[{"user_name": "John"}]"#),
        ("a string", r#""John""#),
        ("null", "null"),
        (
            "trailing garbage",
            r#"{"user_name": "John", "subject": "Hi"} x"#,
        ),
    ] {
        let response = read(post_raw(&app, "/api/support/ticket", body).await).await;
        assert_error(case, &response, 400, "invalid_json", None);
        let response = read(post_raw(&app, "/api/support/auth/login", body).await).await;
        assert_error(
            &format!("{case} at login"),
            &response,
            400,
            "invalid_json",
            None,
        );
    }
    let (_, queue) = app
        .get("/api/support/tickets?status=all", Some(&app.admin_token))
        .await;
    assert!(
        queue["tickets"].as_array().unwrap().is_empty(),
        "nothing was created"
    );
}

#[tokio::test]
async fn bad_ticket_inputs_are_400_naming_the_field() {
    let app = spawn_app().await;
    let valid = json!({
        "user_name": "John Doe",
        "user_email": "john@example.com",
        "subject": "Order not arrived",
        "priority": "high",
        "message": "Hello!"
    });
    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = valid.clone();
        body.as_object_mut().unwrap().remove(field);
        body
    };
    let long_email = format!("{}@example.com", "a".repeat(254 - 11));
    assert_eq!(long_email.len(), 255);
    let cases: Vec<(&str, Value, &str)> = vec![
        ("missing user_name", without("user_name"), "user_name"),
        (
            "null user_name",
            with("user_name", Value::Null),
            "user_name",
        ),
        (
            "blank user_name",
            with("user_name", json!("   ")),
            "user_name",
        ),
        (
            "user_name of 101 characters",
            with("user_name", json!("n".repeat(101))),
            "user_name",
        ),
        (
            "user_name with a control character",
            with("user_name", json!("John\u{7}")),
            "user_name",
        ),
        (
            "user_name as a number",
            with("user_name", json!(42)),
            "user_name",
        ),
        ("missing subject", without("subject"), "subject"),
        ("blank subject", with("subject", json!("\t")), "subject"),
        (
            "subject of 201 characters",
            with("subject", json!("s".repeat(201))),
            "subject",
        ),
        (
            "subject as a boolean",
            with("subject", json!(true)),
            "subject",
        ),
        (
            "an email without a domain",
            with("user_email", json!("john@")),
            "user_email",
        ),
        (
            "an email without an at",
            with("user_email", json!("john.example.com")),
            "user_email",
        ),
        (
            "an email with a space",
            with("user_email", json!("jo hn@example.com")),
            "user_email",
        ),
        (
            "an email without a dot",
            with("user_email", json!("john@localhost")),
            "user_email",
        ),
        (
            "an email over 254 characters",
            with("user_email", json!(long_email)),
            "user_email",
        ),
        (
            "an email as an object",
            with("user_email", json!({})),
            "user_email",
        ),
        (
            "an unknown priority",
            with("priority", json!("extreme")),
            "priority",
        ),
        (
            "a priority in capitals",
            with("priority", json!("HIGH")),
            "priority",
        ),
        (
            "a priority as a number",
            with("priority", json!(3)),
            "priority",
        ),
        (
            "a blank message",
            with("message", json!(" \n\t ")),
            "message",
        ),
        ("an empty message", with("message", json!("")), "message"),
        (
            "a message of 8193 characters",
            with("message", json!("m".repeat(8193))),
            "message",
        ),
        (
            "a message as a list",
            with("message", json!(["Hello"])),
            "message",
        ),
        (
            "a user_id of 129 characters",
            with("user_id", json!("u".repeat(129))),
            "user_id",
        ),
        ("an empty user_id", with("user_id", json!("")), "user_id"),
        (
            "a user_id as a number",
            with("user_id", json!(42)),
            "user_id",
        ),
    ];
    for (case, body, field) in cases {
        let response = app
            .send_json("POST", "/api/support/ticket", None, body)
            .await;
        assert_error(case, &response, 400, "validation_failed", Some(field));
    }
    let empty = read(post_raw(&app, "/api/support/ticket", "").await).await;
    assert_error(
        "an empty body",
        &empty,
        400,
        "validation_failed",
        Some("user_name"),
    );
    let (_, queue) = app
        .get("/api/support/tickets?status=all", Some(&app.admin_token))
        .await;
    assert!(
        queue["tickets"].as_array().unwrap().is_empty(),
        "nothing was created"
    );
}

// ---------------------------------------------------------------------------
// Health, routing, errors

#[tokio::test]
async fn health_reports_every_dependency_version_and_node() {
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.node_id = Some("node-under-test".into())
    })
    .await
    .unwrap();
    let (status, health) = app.get("/api/support/health", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        health,
        json!({
            "status": "ok",
            "checks": {"database": "ok", "broker": "ok"},
            "version": env!("CARGO_PKG_VERSION"),
            "node_id": "node-under-test"
        })
    );
    for path in ["/healthz", "/readyz"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn unknown_routes_are_404_with_the_error_body() {
    let app = spawn_app().await;
    for path in [
        "/api/support/nothing-here",
        "/api/support/tickets/1/nothing",
        "/nothing",
        "/api/support/ticket/a/b/c",
    ] {
        let response = app.get(path, Some(&app.admin_token)).await;
        assert_error(path, &response, 404, "not_found", None);
    }
}

#[tokio::test]
async fn internal_errors_reach_the_client_as_a_bare_internal() {
    let app = spawn_app().await;
    let ticket = app.simple_ticket().await;
    // Break the database under the running server.
    let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
    sqlx::query("DROP TABLE support_messages")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let response = app
        .get(
            &format!("/api/support/ticket/{}/messages", session_of(&ticket)),
            None,
        )
        .await;
    assert_error("a missing table", &response, 500, "internal", None);
    assert_eq!(response.1["error"]["message"], "internal error");
    let response = app
        .get("/api/support/tickets", Some(&app.admin_token))
        .await;
    assert_error(
        "a missing table in the queue",
        &response,
        500,
        "internal",
        None,
    );
}

// ---------------------------------------------------------------------------
// PostgreSQL: the key routes on the production backend

#[tokio::test]
async fn postgres_serves_the_key_routes() {
    let Some(app) = spawn_app_with(Backend::Postgres, |_| {}).await else {
        return;
    };
    let ticket = app.simple_ticket().await;
    let id = id_of(&ticket);
    assert_eq!(ticket["last_seq"], 1);
    let session = session_of(&ticket);
    let (status, by_session) = app
        .get(&format!("/api/support/ticket/{session}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(by_session, ticket);

    let (status, assigned) = app
        .send_json(
            "POST",
            &format!("/api/support/ticket/{id}/assign"),
            Some(&app.admin_token),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{assigned}");
    assert_eq!(assigned["status"], "assigned");
    let (status, patched) = patch(
        &app,
        id,
        json!({"status": "in_progress", "priority": "urgent"}),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    let response = patch(&app, id, json!({"status": "open"})).await;
    assert_error(
        "in_progress -> open",
        &response,
        409,
        "invalid_transition",
        None,
    );

    // The visitor's numbering holds public messages only (the notes above are
    // internal): two more visitor lines to page through.
    say(&app, id, from_user("second")).await;
    say(&app, id, from_user("third")).await;
    assert_eq!(queue(&app, "?q=HELLO").await, [id], "search in messages");
    assert_eq!(
        queue(&app, "?q=50%25").await,
        Vec::<i64>::new(),
        "wildcards literal"
    );
    assert_eq!(queue(&app, "?priority=urgent&assigned=me").await, [id]);
    assert_eq!(
        guest_messages(&app, &session, "?after_seq=1&limit=1").await,
        (vec![2], true)
    );
    assert_eq!(
        guest_messages(&app, &session, "?before_seq=3").await,
        (vec![1, 2], false)
    );

    let (status, closed) = app
        .send_json(
            "POST",
            &format!("/api/support/ticket/{session}/close"),
            None,
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(closed["status"], "closed");
    assert!(closed["closed_at"].is_string());
    assert_eq!(
        system_texts(&all_messages(&app, id).await),
        [
            "Ticket assigned to Admin",
            "Status changed from assigned to in_progress by Admin",
            "Priority changed from medium to urgent by Admin",
            "John Doe ended the chat"
        ]
    );
    let (status, health) = app.get("/api/support/health", None).await;
    assert_eq!(status, 200);
    assert_eq!(health["checks"]["database"], "ok");
    let response = app
        .send_json(
            "POST",
            "/api/support/agents",
            Some(&app.admin_token),
            json!({"email": ADMIN_EMAIL, "name": "Again", "password": "again-password"}),
        )
        .await;
    assert_error(
        "a taken email on PostgreSQL",
        &response,
        409,
        "conflict",
        None,
    );
}
