//! Presence, capacity and routing (issue 16) through the API and the sockets of
//! one node, on SQLite and on PostgreSQL (skipped with a notice when it is not
//! configured): agents' status from their dashboards and their choice,
//! `max_chats` and settings validation, auto-assignment by priority then age,
//! manual mode, transfer, going back to the queue, and queue positions.

mod common;

use common::ws::{FRAME_TIMEOUT, WsClient};
use common::{Backend, TestApp, spawn_app_with};
use livesupport::domain::AssignmentMode;
use serde_json::{Value, json};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// Runs one case on SQLite and on PostgreSQL.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::$name(crate::common::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::$name(crate::common::Backend::Postgres).await;
                }
            )*
        }
    };
}

on_both_stores!(
    an_agents_status_follows_their_dashboards_and_their_choice,
    an_idle_agent_is_away_until_their_next_activity,
    a_disabled_agent_is_offline_at_once,
    max_chats_is_checked_and_shown_on_the_agent,
    settings_are_checked_field_by_field_and_only_admins_see_them,
    waiting_tickets_go_by_priority_then_age_to_agents_with_room,
    the_agent_assigned_least_recently_gets_the_next_ticket,
    manual_assignment_leaves_tickets_waiting,
    a_transfer_announces_the_new_agent_and_refuses_closed_tickets_and_strangers,
    an_untouched_ticket_returns_to_the_queue_when_its_agent_goes_offline,
    waiting_visitors_learn_their_place_and_when_they_leave_the_queue,
);

/// Seconds a closed dashboard keeps its agent connected in these tests.
const GRACE_SECONDS: u64 = 1;

/// A node with a short presence grace and auto-assignment (the product's
/// default; the harness starts apps in manual); `None` when PostgreSQL is skipped.
async fn app(backend: Backend) -> Option<TestApp> {
    let app = spawn_app_with(backend, |config| {
        config.presence_grace_seconds = GRACE_SECONDS;
    })
    .await?;
    app.set_assignment(AssignmentMode::Auto).await;
    Some(app)
}

/// An agent with `max_chats`, and their token.
async fn agent(app: &TestApp, email: &str, name: &str, max_chats: i64) -> (i64, String) {
    let (id, token) = app.create_agent(email, name, "agent").await;
    let (status, body) = app
        .send_json(
            "PATCH",
            &format!("/api/support/agents/{id}"),
            Some(&app.admin_token),
            json!({ "max_chats": max_chats }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    (id, token)
}

async fn set_settings(app: &TestApp, body: Value) -> (u16, Value) {
    app.send_json("PUT", "/api/support/settings", Some(&app.admin_token), body)
        .await
}

async fn me(app: &TestApp, token: &str) -> Value {
    let (status, body) = app.get("/api/support/agents/me", Some(token)).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn ticket(app: &TestApp, id: i64) -> Value {
    let (status, body) = app
        .get(
            &format!("/api/support/tickets/{id}"),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A ticket of `priority` with a first message: (id, session id).
async fn waiting(app: &TestApp, subject: &str, priority: &str) -> (i64, String) {
    let t = app
        .create_ticket(json!({
            "user_name": "John Doe",
            "subject": subject,
            "priority": priority,
            "message": "Hello?"
        }))
        .await;
    (
        t["id"].as_i64().unwrap(),
        t["session_id"].as_str().unwrap().to_owned(),
    )
}

/// Polls `check` until it holds, or fails with `what` after `FRAME_TIMEOUT`.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + FRAME_TIMEOUT;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn status_is(app: &TestApp, token: &str, status: &str) -> bool {
    me(app, token).await["status"] == status
}

async fn held_by(app: &TestApp, ticket_id: i64) -> Option<i64> {
    ticket(app, ticket_id).await["supporter_id"].as_i64()
}

/// The next frame of `kind` whose data matches `matches`.
async fn frame_where(socket: &mut WsClient, kind: &str, matches: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + FRAME_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let frame = socket
            .try_next_any(left)
            .await
            .unwrap_or_else(|| panic!("no {kind} frame as expected in time"));
        if frame["type"] == kind && matches(&frame) {
            return frame;
        }
    }
}

async fn an_agents_status_follows_their_dashboards_and_their_choice(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (alice, token) = agent(&app, "alice@example.com", "Alice", 3).await;
    let first = me(&app, &token).await;
    assert_eq!(first["status"], "offline", "no dashboard open: {first}");
    assert_eq!(
        (first["max_chats"].as_i64(), first["open_chats"].as_i64()),
        (Some(3), Some(0))
    );

    let mut watcher = app.feed_socket(&app.admin_token).await;
    let dashboard = app.feed_socket(&token).await;
    eventually("Alice is online", || status_is(&app, &token, "online")).await;
    frame_where(&mut watcher, "agent_updated", |f| {
        f["agent"]["id"] == alice && f["agent"]["status"] == "online"
    })
    .await;
    let (_, list) = app.get("/api/support/agents", Some(&token)).await;
    let listed = list["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == alice)
        .unwrap()
        .clone();
    assert_eq!(
        (listed["online"].clone(), listed["status"].clone()),
        (json!(true), json!("online"))
    );

    let (status, away) = app
        .send_json(
            "PUT",
            "/api/support/agents/me/status",
            Some(&token),
            json!({"status": "away"}),
        )
        .await;
    assert_eq!(
        (status, away["status"].clone()),
        (200, json!("away")),
        "{away}"
    );
    frame_where(&mut watcher, "agent_updated", |f| {
        f["agent"]["id"] == alice && f["agent"]["status"] == "away"
    })
    .await;
    for bad in [
        json!({"status": "offline"}),
        json!({"status": "busy"}),
        json!({}),
    ] {
        let (status, body) = app
            .send_json(
                "PUT",
                "/api/support/agents/me/status",
                Some(&token),
                bad.clone(),
            )
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["field"], "status", "{bad}: {body}");
    }
    // A chosen away lasts across a reload.
    dashboard.close().await;
    let dashboard = app.feed_socket(&token).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        status_is(&app, &token, "away").await,
        "still away after a reload"
    );
    let (_, back) = app
        .send_json(
            "PUT",
            "/api/support/agents/me/status",
            Some(&token),
            json!({"status": "online"}),
        )
        .await;
    assert_eq!(back["status"], "online");

    dashboard.close().await;
    assert!(
        status_is(&app, &token, "online").await,
        "within the grace of a reload"
    );
    eventually("Alice is offline after the grace", || {
        status_is(&app, &token, "offline")
    })
    .await;
    frame_where(&mut watcher, "agent_updated", |f| {
        f["agent"]["id"] == alice && f["agent"]["status"] == "offline"
    })
    .await;
    let (_, away_offline) = app
        .send_json(
            "PUT",
            "/api/support/agents/me/status",
            Some(&token),
            json!({"status": "online"}),
        )
        .await;
    assert_eq!(away_offline["status"], "offline", "no dashboard open");
}

/// Disabling closes the agent's dashboards, but no reload grace keeps a disabled
/// agent online: they are offline at once, whatever the grace.
async fn a_disabled_agent_is_offline_at_once(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |config| config.presence_grace_seconds = 300).await
    else {
        return;
    };
    let (alice, token) = agent(&app, "alice@example.com", "Alice", 3).await;
    let _dashboard = app.feed_socket(&token).await;
    eventually("Alice is online", || status_is(&app, &token, "online")).await;
    let (status, disabled) = app
        .send_json(
            "PATCH",
            &format!("/api/support/agents/{alice}"),
            Some(&app.admin_token),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(
        (status, disabled["status"].clone()),
        (200, json!("offline")),
        "{disabled}"
    );
}

async fn an_idle_agent_is_away_until_their_next_activity(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (alice, token) = agent(&app, "alice@example.com", "Alice", 3).await;
    let (status, _) = set_settings(&app, json!({"away_after_minutes": 1})).await;
    assert_eq!(status, 200);
    let mut dashboard = app.feed_socket(&token).await;
    eventually("Alice is online", || status_is(&app, &token, "online")).await;
    // Two minutes pass without activity (the database's clock is what counts).
    let idle = match backend {
        Backend::Sqlite => {
            "UPDATE support_agents SET last_activity_at = '2000-01-01T00:00:00.000+00:00' WHERE id = $1"
        }
        Backend::Postgres => {
            "UPDATE support_agents SET last_activity_at = NOW() - INTERVAL '2 minutes' WHERE id = $1"
        }
    };
    run_sql(&app, backend, idle, alice).await;
    assert!(
        status_is(&app, &token, "away").await,
        "idle for longer than away_after_minutes"
    );
    dashboard.send(json!({"type": "activity"})).await;
    eventually("Alice is back online", || status_is(&app, &token, "online")).await;
    // The feed answers activity with nothing, and other frames with an error.
    dashboard
        .send(json!({"type": "typing", "data": {"is_typing": true}}))
        .await;
    let error = frame_where(&mut dashboard, "error", |_| true).await;
    assert_eq!(error["error"]["field"], "type", "{error}");
    // With auto-away off, idleness does not matter.
    set_settings(&app, json!({"away_after_minutes": 0})).await;
    run_sql(&app, backend, idle, alice).await;
    assert!(status_is(&app, &token, "online").await);
}

/// Runs one statement with `$1` = `id` on the node's database.
async fn run_sql(app: &TestApp, backend: Backend, sql: &str, id: i64) {
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            sqlx::query(sql).bind(id).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            sqlx::query(sql).bind(id).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

async fn max_chats_is_checked_and_shown_on_the_agent(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (alice, token) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let path = format!("/api/support/agents/{alice}");
    for bad in [
        json!({"max_chats": 51}),
        json!({"max_chats": -1}),
        json!({"max_chats": "3"}),
        json!({"max_chats": 2.5}),
    ] {
        let (status, body) = app
            .send_json("PATCH", &path, Some(&app.admin_token), bad.clone())
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["field"], "max_chats", "{bad}: {body}");
    }
    for good in [0, 50, 5] {
        let (status, body) = app
            .send_json(
                "PATCH",
                &path,
                Some(&app.admin_token),
                json!({"max_chats": good}),
            )
            .await;
        assert_eq!(
            (status, body["max_chats"].as_i64()),
            (200, Some(good)),
            "{body}"
        );
    }
    let (status, _) = app
        .send_json("PATCH", &path, Some(&token), json!({"max_chats": 9}))
        .await;
    assert_eq!(status, 403, "a plain agent cannot change capacity");
    assert_eq!(me(&app, &token).await["max_chats"], 5);
}

async fn settings_are_checked_field_by_field_and_only_admins_see_them(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    set_settings(&app, json!({"away_after_minutes": 10})).await;
    let (status, settings) = app
        .get("/api/support/settings", Some(&app.admin_token))
        .await;
    assert_eq!(
        (status, settings.clone()),
        (
            200,
            json!({
                "assignment": "auto", "away_after_minutes": 10, "business_hours": null,
                "greeting": "", "offline_message": "", "email_after_minutes": 5, "csat": true
            })
        )
    );
    let cases = [
        (
            "an unknown assignment",
            json!({"assignment": "round_robin"}),
            "assignment",
        ),
        (
            "assignment of the wrong type",
            json!({"assignment": 1}),
            "assignment",
        ),
        (
            "a negative away",
            json!({"away_after_minutes": -1}),
            "away_after_minutes",
        ),
        (
            "an away over a day",
            json!({"away_after_minutes": 1441}),
            "away_after_minutes",
        ),
        (
            "a fractional away",
            json!({"away_after_minutes": 1.5}),
            "away_after_minutes",
        ),
        (
            "an away as text",
            json!({"away_after_minutes": "5"}),
            "away_after_minutes",
        ),
        ("an unknown field", json!({"signature": "Hi"}), "signature"),
        (
            "a good field with a bad one",
            json!({"assignment": "manual", "away": 3}),
            "away",
        ),
    ];
    for (case, body, field) in cases {
        let (status, answer) = set_settings(&app, body).await;
        assert_eq!(status, 400, "{case}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{case}: {answer}");
    }
    let (_, unchanged) = app
        .get("/api/support/settings", Some(&app.admin_token))
        .await;
    assert_eq!(unchanged, settings, "nothing of a refused PUT is stored");
    let (status, changed) = set_settings(&app, json!({"assignment": "manual"})).await;
    assert_eq!(status, 200);
    assert_eq!(
        (&changed["assignment"], &changed["away_after_minutes"]),
        (&json!("manual"), &json!(10))
    );
    let (status, changed) = set_settings(&app, json!({"away_after_minutes": 0})).await;
    assert_eq!(status, 200);
    assert_eq!(
        (&changed["assignment"], &changed["away_after_minutes"]),
        (&json!("manual"), &json!(0))
    );

    let (_, token) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let (status, _) = app.get("/api/support/settings", Some(&token)).await;
    assert_eq!(status, 403);
    let (status, _) = app
        .send_json(
            "PUT",
            "/api/support/settings",
            Some(&token),
            json!({"assignment": "auto"}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = app.get("/api/support/settings", None).await;
    assert_eq!(status, 401);
}

async fn waiting_tickets_go_by_priority_then_age_to_agents_with_room(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (low, _) = waiting(&app, "Low and old", "low").await;
    let (medium, _) = waiting(&app, "Medium", "medium").await;
    let (urgent, urgent_session) = waiting(&app, "Urgent", "urgent").await;
    let (medium_later, _) = waiting(&app, "Medium, later", "medium").await;
    let mut visitor = app.user_socket(&urgent_session, "").await;
    let (alice, alice_token) = agent(&app, "alice@example.com", "Alice", 2).await;
    let mut alices_feed = app.feed_socket(&alice_token).await;

    // Alice's two places go to the urgent ticket, then the older medium one.
    let joined = frame_where(&mut visitor, "supporter_joined", |_| true).await;
    assert_eq!(
        joined["message"]["message"], "Alice joined the chat",
        "{joined}"
    );
    assert_eq!(joined["data"]["supporter_id"], alice);
    frame_where(&mut alices_feed, "ticket_updated", |f| {
        f["ticket"]["id"] == urgent
    })
    .await;
    eventually("the medium ticket is Alice's", || async {
        held_by(&app, medium).await == Some(alice)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(held_by(&app, medium_later).await, None, "Alice is full");
    assert_eq!(held_by(&app, low).await, None);
    assert_eq!(ticket(&app, urgent).await["status"], "assigned");
    assert_eq!(me(&app, &alice_token).await["open_chats"], 2);

    let (bob, bob_token) = agent(&app, "bob@example.com", "Bob", 1).await;
    let _bobs_feed = app.feed_socket(&bob_token).await;
    eventually("the later medium ticket is Bob's", || async {
        held_by(&app, medium_later).await == Some(bob)
    })
    .await;
    // Resolving frees one of Alice's places: the low ticket is hers.
    let (status, _) = app
        .send_json(
            "PATCH",
            &format!("/api/support/tickets/{urgent}"),
            Some(&alice_token),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(status, 200);
    eventually("the low ticket is Alice's", || async {
        held_by(&app, low).await == Some(alice)
    })
    .await;
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("livesupport_assignments_total{how=\"auto\"} 4"),
        "{metrics}"
    );
}

async fn the_agent_assigned_least_recently_gets_the_next_ticket(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (alice, alice_token) = agent(&app, "alice@example.com", "Alice", 5).await;
    let (bob, bob_token) = agent(&app, "bob@example.com", "Bob", 5).await;
    let _feeds = (
        app.feed_socket(&alice_token).await,
        app.feed_socket(&bob_token).await,
    );
    eventually("both are online", || async {
        status_is(&app, &alice_token, "online").await && status_is(&app, &bob_token, "online").await
    })
    .await;
    let (first, _) = waiting(&app, "First", "medium").await;
    eventually("the first ticket is Alice's (lower id)", || async {
        held_by(&app, first).await == Some(alice)
    })
    .await;
    app.send_json(
        "PATCH",
        &format!("/api/support/tickets/{first}"),
        Some(&alice_token),
        json!({"status": "resolved"}),
    )
    .await;
    let (second, _) = waiting(&app, "Second", "medium").await;
    eventually(
        "the second ticket is Bob's (assigned least recently)",
        || async { held_by(&app, second).await == Some(bob) },
    )
    .await;
}

async fn manual_assignment_leaves_tickets_waiting(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    set_settings(&app, json!({"assignment": "manual"})).await;
    let (_, token) = agent(&app, "alice@example.com", "Alice", 3).await;
    let _feed = app.feed_socket(&token).await;
    eventually("Alice is online", || status_is(&app, &token, "online")).await;
    let (id, _) = waiting(&app, "Nobody takes me", "urgent").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let t = ticket(&app, id).await;
    assert_eq!(
        (t["status"].clone(), t["supporter_id"].clone()),
        (json!("open"), Value::Null)
    );
    // Back to auto: it is assigned.
    set_settings(&app, json!({"assignment": "auto"})).await;
    eventually("the ticket is assigned", || async {
        held_by(&app, id).await.is_some()
    })
    .await;
}

async fn a_transfer_announces_the_new_agent_and_refuses_closed_tickets_and_strangers(
    backend: Backend,
) {
    let Some(app) = app(backend).await else {
        return;
    };
    set_settings(&app, json!({"assignment": "manual"})).await;
    let (alice, alice_token) = agent(&app, "alice@example.com", "Alice", 1).await;
    let (bob, _) = agent(&app, "bob@example.com", "Bob", 0).await;
    let (id, session) = waiting(&app, "Transfer", "medium").await;
    let mut visitor = app.user_socket(&session, "").await;
    let path = format!("/api/support/tickets/{id}/transfer");

    let (status, t) = app
        .send_json(
            "POST",
            &path,
            Some(&alice_token),
            json!({"supporter_id": alice}),
        )
        .await;
    assert_eq!(
        (status, t["status"].clone(), t["supporter_id"].clone()),
        (200, json!("assigned"), json!(alice)),
        "{t}"
    );
    let joined = frame_where(&mut visitor, "supporter_joined", |_| true).await;
    assert_eq!(joined["message"]["message"], "Alice joined the chat");
    // Above max_chats: an explicit choice.
    let (status, t) = app
        .send_json(
            "POST",
            &path,
            Some(&alice_token),
            json!({"supporter_id": bob}),
        )
        .await;
    assert_eq!(
        (status, t["supporter_id"].clone()),
        (200, json!(bob)),
        "{t}"
    );
    let joined = frame_where(&mut visitor, "supporter_joined", |_| true).await;
    assert_eq!(joined["message"]["message"], "Bob joined the chat");
    assert_eq!(joined["data"]["supporter_name"], "Bob");
    let (_, messages) = app
        .get(
            &format!("/api/support/tickets/{id}/messages"),
            Some(&app.admin_token),
        )
        .await;
    let texts: Vec<&str> = messages["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["sender_type"] == "system")
        .map(|m| m["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "Transferred to Alice by Alice",
            "Alice joined the chat",
            "Transferred from Alice to Bob by Alice",
            "Bob joined the chat"
        ]
    );
    let before = ticket(&app, id).await["last_seq"].clone();
    let (status, _) = app
        .send_json(
            "POST",
            &path,
            Some(&alice_token),
            json!({"supporter_id": bob}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        ticket(&app, id).await["last_seq"],
        before,
        "to the holder: no note"
    );

    let (carol, _) = app
        .create_agent("carol@example.com", "Carol", "agent")
        .await;
    app.send_json(
        "PATCH",
        &format!("/api/support/agents/{carol}"),
        Some(&app.admin_token),
        json!({"disabled": true}),
    )
    .await;
    for bad in [
        json!({}),
        json!({"supporter_id": 999_999}),
        json!({"supporter_id": carol}),
    ] {
        let (status, body) = app
            .send_json("POST", &path, Some(&alice_token), bad.clone())
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["field"], "supporter_id", "{bad}: {body}");
    }
    let (status, _) = app
        .send_json(
            "POST",
            "/api/support/tickets/999999/transfer",
            Some(&alice_token),
            json!({"supporter_id": bob}),
        )
        .await;
    assert_eq!(status, 404);
    app.send_json(
        "PATCH",
        &format!("/api/support/tickets/{id}"),
        Some(&alice_token),
        json!({"status": "closed"}),
    )
    .await;
    let (status, body) = app
        .send_json(
            "POST",
            &path,
            Some(&alice_token),
            json!({"supporter_id": alice}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (409, json!("ticket_closed")),
        "{body}"
    );
}

async fn an_untouched_ticket_returns_to_the_queue_when_its_agent_goes_offline(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (alice, alice_token) = agent(&app, "alice@example.com", "Alice", 2).await;
    let feed = app.feed_socket(&alice_token).await;
    let (untouched, _) = waiting(&app, "Untouched", "high").await;
    let (answered, answered_session) = waiting(&app, "Answered", "medium").await;
    eventually("both tickets are Alice's", || async {
        held_by(&app, untouched).await == Some(alice)
            && held_by(&app, answered).await == Some(alice)
    })
    .await;
    let mut chat = app
        .watching_socket(&answered_session, &alice_token, "")
        .await;
    chat.say("Hi, how can I help?", "a1").await;
    eventually("the answered ticket is in progress", || async {
        ticket(&app, answered).await["status"] == "in_progress"
    })
    .await;
    chat.close().await;
    feed.close().await;
    eventually("the untouched ticket is back in the queue", || async {
        let t = ticket(&app, untouched).await;
        t["status"] == "open" && t["supporter_id"].is_null()
    })
    .await;
    let kept = ticket(&app, answered).await;
    assert_eq!(
        (kept["status"].clone(), kept["supporter_id"].clone()),
        (json!("in_progress"), json!(alice))
    );
    let (_, messages) = app
        .get(
            &format!("/api/support/tickets/{untouched}/messages"),
            Some(&app.admin_token),
        )
        .await;
    let last = messages["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        last["message"], "Returned to the queue: Alice went offline",
        "{last}"
    );
    assert_eq!(last["visibility"], "internal", "{last}");
    // Somebody else online gets it again.
    let (bob, bob_token) = agent(&app, "bob@example.com", "Bob", 2).await;
    let _bobs = app.feed_socket(&bob_token).await;
    eventually("Bob gets the ticket", || async {
        held_by(&app, untouched).await == Some(bob)
    })
    .await;
    assert!(app.metric("livesupport_requeued_total").await >= 1.0);
}

async fn waiting_visitors_learn_their_place_and_when_they_leave_the_queue(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let (first, first_session) = waiting(&app, "First", "medium").await;
    let (_, second_session) = waiting(&app, "Second", "medium").await;
    let (urgent, urgent_session) = waiting(&app, "Urgent", "urgent").await;
    let mut first_socket = app.user_socket(&first_session, "").await;
    let ready = frame_where(&mut first_socket, "ready", |_| true).await;
    assert_eq!(
        ready["data"]["queue_position"], 2,
        "behind the urgent ticket: {ready}"
    );
    let queue = frame_where(&mut first_socket, "queue", |_| true).await;
    assert_eq!(queue["data"], json!({"position": 2, "agents_online": 0}));
    let mut second_socket = app.user_socket(&second_session, "").await;
    let queue = frame_where(&mut second_socket, "queue", |_| true).await;
    assert_eq!(queue["data"], json!({"position": 3, "agents_online": 0}));

    // An agent with one place takes the urgent ticket: everyone moves up.
    let (_, token) = agent(&app, "alice@example.com", "Alice", 1).await;
    let _feed = app.feed_socket(&token).await;
    eventually("the urgent ticket is taken", || async {
        held_by(&app, urgent).await.is_some()
    })
    .await;
    let mut urgent_socket = app.user_socket(&urgent_session, "").await;
    let moved = frame_where(&mut first_socket, "queue", |f| f["data"]["position"] == 1).await;
    assert_eq!(moved["data"], json!({"position": 1, "agents_online": 1}));
    frame_where(&mut second_socket, "queue", |f| f["data"]["position"] == 2).await;
    let ready = frame_where(&mut urgent_socket, "ready", |_| true).await;
    assert!(
        ready["data"]["queue_position"].is_null(),
        "assigned: no place: {ready}"
    );

    // The first ticket is taken by "Assign to me": it leaves the queue.
    let (status, _) = app
        .send_json(
            "POST",
            &format!("/api/support/tickets/{first}/assign"),
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let left = frame_where(&mut first_socket, "queue", |f| {
        f["data"]["position"].is_null()
    })
    .await;
    assert_eq!(left["data"]["agents_online"], 1, "{left}");
    frame_where(&mut second_socket, "queue", |f| f["data"]["position"] == 1).await;
    let later = first_socket
        .collect_of("queue", Duration::from_millis(2500))
        .await;
    assert!(
        later.is_empty(),
        "the null position is sent once: {later:?}"
    );
}
