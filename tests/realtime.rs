//! The WebSocket protocol on one node, with real sockets: frames both ways, the
//! delivery promise, limits and liveness.

mod common;

use common::ws::{Ended, WsClient, connect};
use common::{Backend, TestApp, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;

/// A ticket (no first message) and its session id.
async fn ticket(app: &TestApp) -> (i64, String) {
    let t = app
        .create_ticket(json!({"user_name": "John Doe", "subject": "Order not arrived"}))
        .await;
    (
        t["id"].as_i64().unwrap(),
        t["session_id"].as_str().unwrap().to_owned(),
    )
}

async fn stored_messages(app: &TestApp, session: &str) -> Vec<Value> {
    let (status, body) = app
        .get(
            &format!("/api/support/ticket/{session}/messages?limit=500"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    body["messages"].as_array().unwrap().clone()
}

fn seqs(frames: &[Value]) -> Vec<i64> {
    frames
        .iter()
        .map(|f| f["message"]["seq"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn the_original_example_says_hello_and_gets_it_back_stored() {
    let app = spawn_app().await;
    let (_, session) = ticket(&app).await;
    let mut user = app.user_socket(&session, "?name=TestUser").await;
    let ready = user.next().await;
    assert_eq!(ready["type"], "ready");
    assert_eq!(ready["data"]["ticket"]["session_id"], session.as_str());
    assert_eq!(ready["data"]["last_seq"], 0);

    user.send(json!({"type": "message", "message": "Hello!"}))
        .await;
    let echo = user.next_of("message").await;
    assert_eq!(echo["message"]["message"], "Hello!");
    assert_eq!(echo["message"]["sender_type"], "user");
    assert_eq!(echo["message"]["sender_name"], "TestUser");
    assert_eq!(echo["message"]["seq"], 1);
    let stored = stored_messages(&app, &session).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["message"], "Hello!");
}

#[tokio::test]
async fn an_agent_opening_an_open_ticket_joins_it_and_both_sides_are_told() {
    let app = spawn_app().await;
    let (ticket_id, session) = ticket(&app).await;
    let (agent_id, token) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let mut feed = app.feed_socket(&app.admin_token).await;
    let mut user = app.user_socket(&session, "").await;
    user.next_of("ready").await;

    let mut supporter = app.supporter_socket(&session, &token, "").await;
    while user.next_of("presence").await["data"]["supporter_connected"] != true {}
    let joined = user.next_of("supporter_joined").await;
    assert_eq!(joined["data"]["supporter_id"], agent_id);
    assert_eq!(joined["data"]["supporter_name"], "Alice");
    assert_eq!(joined["message"]["sender_type"], "system");
    assert_eq!(joined["message"]["seq"], 1);
    assert_eq!(
        supporter.next_of("supporter_joined").await["message"]["seq"],
        1
    );

    let updated = feed.next_of("ticket_updated").await;
    assert_eq!(updated["ticket"]["id"], ticket_id);
    assert_eq!(updated["ticket"]["status"], "assigned");
    assert_eq!(updated["ticket"]["supporter_id"], agent_id);
    let (_, t) = app
        .get(&format!("/api/support/tickets/{ticket_id}"), Some(&token))
        .await;
    assert_eq!(t["status"], "assigned");
    assert_eq!(t["supporter_name"], "Alice");
}

#[tokio::test]
async fn the_assigned_agents_first_message_starts_work_and_everyone_sees_it() {
    let app = spawn_app().await;
    let (ticket_id, session) = ticket(&app).await;
    let (_, token) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let mut user = app.user_socket(&session, "").await;
    let mut supporter = app.supporter_socket(&session, &token, "").await;
    supporter.next_of("supporter_joined").await;
    supporter.say("Hi, how can I help?", "a1").await;

    let reply = user.next_of("message").await;
    assert_eq!(reply["message"]["sender_type"], "supporter");
    assert_eq!(reply["message"]["sender_name"], "Alice");
    // A workflow step is for agents: the visitor gets the ticket's new status,
    // and no note (its next frame after the reply is the ticket update).
    let updated = loop {
        let frame = user.next().await;
        if frame["type"] != "presence" {
            break frame;
        }
    };
    assert_eq!(updated["type"], "ticket_updated", "{updated}");
    assert_eq!(updated["ticket"]["status"], "in_progress");
    assert_eq!(
        updated["ticket"]["last_seq"], reply["message"]["seq"],
        "the visitor's ticket counts in its own numbering"
    );
    let own = supporter.next_of("message").await;
    assert_eq!(own["message"]["client_msg_id"], "a1");
    assert_eq!(
        supporter.next_of("system").await["message"]["message"],
        "Status changed from assigned to in_progress"
    );
    let (_, t) = app
        .get(&format!("/api/support/tickets/{ticket_id}"), Some(&token))
        .await;
    assert_eq!(t["status"], "in_progress");
}

#[tokio::test]
async fn typing_reaches_only_the_other_side_at_most_twice_a_second() {
    let app = spawn_app().await;
    let (_, session) = ticket(&app).await;
    let (_, token) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let mut user = app.user_socket(&session, "").await;
    let mut supporter = app.supporter_socket(&session, &token, "").await;
    supporter.next_of("ready").await;
    user.next_of("supporter_joined").await;

    for _ in 0..5 {
        user.send(json!({"type": "typing", "data": {"is_typing": true}}))
            .await;
    }
    let seen = supporter
        .collect_of("typing", Duration::from_millis(700))
        .await;
    assert_eq!(
        seen.len(),
        2,
        "5 typing frames in a burst forward only 2: {seen:?}"
    );
    assert_eq!(seen[0]["data"]["sender_type"], "user");
    assert_eq!(seen[0]["data"]["sender_name"], "John Doe");
    assert_eq!(seen[0]["data"]["is_typing"], true);
    assert!(
        user.collect_of("typing", Duration::from_millis(300))
            .await
            .is_empty(),
        "a sender never sees its own typing"
    );

    supporter
        .send(json!({"type": "typing", "data": {"is_typing": false}}))
        .await;
    let typing = user.next_of("typing").await;
    assert_eq!(typing["data"]["sender_type"], "supporter");
    assert_eq!(typing["data"]["is_typing"], false);
}

#[tokio::test]
async fn read_receipts_are_stored_and_told_to_the_other_side() {
    let app = spawn_app().await;
    let (ticket_id, session) = ticket(&app).await;
    let (_, token) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let mut user = app.user_socket(&session, "").await;
    let mut supporter = app.supporter_socket(&session, &token, "").await;
    supporter.next_of("supporter_joined").await;
    user.say("one", "u1").await;
    user.say("two", "u2").await;
    let last = supporter.next_of("message").await;
    let last = if last["message"]["message"] == "two" {
        last
    } else {
        supporter.next_of("message").await
    };
    let up_to = last["message"]["seq"].as_i64().unwrap();
    let (_, before) = app
        .get(&format!("/api/support/tickets/{ticket_id}"), Some(&token))
        .await;
    assert_eq!(before["unread_count"], 2);

    supporter
        .send(json!({"type": "read", "data": {"up_to_seq": up_to}}))
        .await;
    let read = user.next_of("read").await;
    assert_eq!(read["data"]["reader_type"], "supporter");
    assert_eq!(read["data"]["up_to_seq"], up_to);
    let (_, after) = app
        .get(&format!("/api/support/tickets/{ticket_id}"), Some(&token))
        .await;
    assert_eq!(after["unread_count"], 0);
    let stored = stored_messages(&app, &session).await;
    assert!(
        stored
            .iter()
            .filter(|m| m["sender_type"] == "user")
            .all(|m| m["is_read"] == true)
    );
}

#[tokio::test]
async fn presence_follows_sockets_coming_and_going() {
    let app = spawn_app().await;
    let (_, session) = ticket(&app).await;
    let (agent_id, token) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let mut supporter = app.supporter_socket(&session, &token, "").await;
    let first = supporter.next_of("presence").await;
    assert_eq!(
        first["data"],
        json!({"user_connected": false, "supporter_connected": true})
    );
    let user = app.user_socket(&session, "").await;
    let joined = supporter.next_of("presence").await;
    assert_eq!(
        joined["data"],
        json!({"user_connected": true, "supporter_connected": true})
    );
    // The agents list's `online` comes from dashboards (issue 16); the
    // dashboard's row is written just after its upgrade.
    let _dashboard = app.feed_socket(&token).await;
    let deadline = tokio::time::Instant::now() + common::ws::FRAME_TIMEOUT;
    loop {
        let (_, agents) = app.get("/api/support/agents", Some(&token)).await;
        let alice = agents["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == agent_id)
            .unwrap()
            .clone();
        if alice["online"] == true {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "alice is listed online with her dashboard open: {alice}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    user.close().await;
    let left = supporter.next_of("presence").await;
    assert_eq!(
        left["data"],
        json!({"user_connected": false, "supporter_connected": true})
    );
}

#[tokio::test]
async fn a_resend_with_the_same_client_msg_id_stores_nothing_new() {
    let app = spawn_app().await;
    let (_, session) = ticket(&app).await;
    let mut user = app.user_socket(&session, "").await;
    user.next_of("ready").await;
    user.say("only once", "key-1").await;
    let ack = user.next_of("message").await;
    assert_eq!(ack["message"]["client_msg_id"], "key-1");
    user.say("only once", "key-1").await;
    user.say("second", "key-2").await;
    let next = user.next_of("message").await;
    assert_eq!(
        next["message"]["client_msg_id"], "key-2",
        "no duplicate frame on one connection"
    );
    assert_eq!(next["message"]["seq"], 2, "the resend consumed no seq");
    assert_eq!(stored_messages(&app, &session).await.len(), 2);

    // After a drop, the client resumes from before the ack and resends: the
    // replay carries the acknowledgement, and still nothing new is stored.
    user.close().await;
    let mut again = app.user_socket(&session, "?since=0").await;
    assert_eq!(again.next().await["data"]["replayed"], 2);
    again.say("only once", "key-1").await;
    let replayed = again.next_of("message").await;
    assert_eq!(replayed["message"]["client_msg_id"], "key-1");
    assert_eq!(stored_messages(&app, &session).await.len(), 2);
}

#[tokio::test]
async fn bad_frames_get_error_frames_and_the_socket_stays_open() {
    let app = spawn_app().await;
    let (_, session) = ticket(&app).await;
    let mut user = app.user_socket(&session, "").await;
    user.next_of("ready").await;
    let long = "x".repeat(8193);
    let cases: Vec<(&str, String, &str, Option<&str>)> = vec![
        ("not JSON", "{nope".into(), "invalid_json", None),
        (
            "unknown type",
            json!({"type": "shout"}).to_string(),
            "validation_failed",
            None,
        ),
        (
            "no text",
            json!({"type": "message", "client_msg_id": "k1"}).to_string(),
            "validation_failed",
            Some("k1"),
        ),
        (
            "blank text",
            json!({"type": "message", "message": "  ", "client_msg_id": "k2"}).to_string(),
            "validation_failed",
            Some("k2"),
        ),
        (
            "text too long",
            json!({"type": "message", "message": long, "client_msg_id": "k3"}).to_string(),
            "validation_failed",
            Some("k3"),
        ),
        (
            "key too long",
            json!({"type": "message", "message": "hi", "client_msg_id": "k".repeat(65)})
                .to_string(),
            "validation_failed",
            None,
        ),
        (
            "typing without data",
            json!({"type": "typing"}).to_string(),
            "validation_failed",
            None,
        ),
    ];
    for (case, text, code, key) in cases {
        user.send_text(&text).await;
        let error = user.next_of("error").await;
        assert_eq!(error["error"]["code"], code, "{case}");
        assert!(
            error["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{case}"
        );
        assert_eq!(error["client_msg_id"].as_str(), key, "{case}");
    }
    user.say("still here", "ok").await;
    assert_eq!(
        user.next_of("message").await["message"]["message"],
        "still here"
    );
    assert_eq!(stored_messages(&app, &session).await.len(), 1);
}

#[tokio::test]
async fn resuming_with_since_delivers_exactly_the_missed_messages() {
    let app = spawn_app().await;
    let (_, session) = ticket(&app).await;
    let (_, token) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let mut user = app.user_socket(&session, "").await;
    let mut supporter = app.supporter_socket(&session, &token, "").await;
    supporter.next_of("ready").await;
    user.say("before the drop", "u1").await;
    let seen = user.next_of("message").await["message"]["seq"]
        .as_i64()
        .unwrap();
    user.close().await;

    for i in 0..5 {
        supporter
            .say(&format!("missed {i}"), &format!("s{i}"))
            .await;
    }
    // Every missed message stored (the agent's socket also got the visitor's
    // "before the drop": count by key, not by frames).
    common::ws::until_key(&mut supporter, "s4").await;
    let mut resumed = app.user_socket(&session, &format!("?since={seen}")).await;
    let ready = resumed.next().await;
    assert_eq!(ready["type"], "ready");
    let last_seq = ready["data"]["last_seq"].as_i64().unwrap();
    let replayed = ready["data"]["replayed"].as_i64().unwrap() as usize;
    assert_eq!(replayed as i64, last_seq - seen);
    let mut frames = Vec::new();
    for _ in 0..replayed {
        frames.push(resumed.next_message().await);
    }
    assert_eq!(seqs(&frames), ((seen + 1)..=last_seq).collect::<Vec<_>>());
    let texts: Vec<&str> = frames
        .iter()
        .filter(|f| f["type"] == "message")
        .map(|f| f["message"]["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["missed 0", "missed 1", "missed 2", "missed 3", "missed 4"]
    );

    supporter.say("live again", "s-live").await;
    let live = resumed.next_message().await;
    assert_eq!(
        live["message"]["seq"],
        last_seq + 1,
        "live traffic continues without gap"
    );
}

#[tokio::test]
async fn a_replay_over_the_bound_ends_with_resync_required() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.message_burst = 5000;
        c.message_rate_per_second = 5000;
    })
    .await
    .unwrap();
    let (_, session) = ticket(&app).await;
    let mut user = app.user_socket(&session, "").await;
    user.next_of("ready").await;
    for i in 0..1005 {
        user.say("x", &format!("m{i}")).await;
    }
    for _ in 0..1005 {
        user.next_of("message").await;
    }
    let mut resumed = app.user_socket(&session, "?since=0").await;
    let ready = resumed.next().await;
    assert_eq!(ready["data"]["replayed"], 1000);
    let mut last = 0;
    for _ in 0..1000 {
        last = resumed.next_message().await["message"]["seq"]
            .as_i64()
            .unwrap();
    }
    assert_eq!(last, 1000);
    let resync = resumed.next().await;
    assert_eq!(resync["type"], "resync_required");
    assert_eq!(resync["data"]["after_seq"], 1000);
}

/// A reconnect storm in small: visitor and agent sockets of many tickets open
/// at once, two visitors of a ticket with different marks. Their reads (the
/// ticket by session and by id in each view, the marks, the replays) are
/// batched across them; each must still get its own ticket and exactly what
/// it missed, in its own numbering.
async fn sockets_opening_together_get_their_own_ticket_and_replay(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    let (_, agent) = app
        .create_agent("storm@example.com", "Storm", "agent")
        .await;
    // Ticket i: i % 4 + 1 visitor messages, then an internal note (agents' seq only).
    let mut tickets = Vec::new();
    for i in 0..16 {
        let (ticket_id, session) = ticket(&app).await;
        let mut user = app.user_socket(&session, "").await;
        user.next_of("ready").await;
        let sent = i % 4 + 1;
        for j in 0..sent {
            user.say(&format!("t{i} m{j}"), &format!("k{j}")).await;
            user.next_of("message").await;
        }
        user.close().await;
        let (status, note) = app
            .send_json(
                "POST",
                &format!("/api/support/tickets/{ticket_id}/notes"),
                Some(&agent),
                json!({"message": format!("t{i} note"), "client_msg_id": "n"}),
            )
            .await;
        assert_eq!(status, 201, "{note}");
        tickets.push((i, ticket_id, session, sent as i64));
    }
    let opened =
        futures_util::future::join_all(tickets.iter().flat_map(|(i, id, session, sent)| {
            let app = &app;
            let agent = &agent;
            let visitor = move |since: i64| async move {
                let mut socket = app.user_socket(session, &format!("?since={since}")).await;
                let ready = socket.next().await;
                let mut texts = Vec::new();
                for _ in 0..ready["data"]["replayed"].as_u64().unwrap() {
                    let frame = socket.next_message().await;
                    texts.push(frame["message"]["message"].as_str().unwrap().to_owned());
                }
                let expected: Vec<String> = (since..*sent).map(|j| format!("t{i} m{j}")).collect();
                (ready, texts, expected, *id, *sent)
            };
            let watcher = async move {
                let mut socket = app.watching_socket(session, agent, "?since=0").await;
                let ready = socket.next().await;
                let mut texts = Vec::new();
                for _ in 0..ready["data"]["replayed"].as_u64().unwrap() {
                    let frame = socket.next_message().await;
                    texts.push(frame["message"]["message"].as_str().unwrap().to_owned());
                }
                let mut expected: Vec<String> = (0..*sent).map(|j| format!("t{i} m{j}")).collect();
                expected.push(format!("t{i} note"));
                (ready, texts, expected, *id, *sent + 1)
            };
            [
                futures_util::future::Either::Left(visitor(0)),
                futures_util::future::Either::Left(visitor(*sent - 1)),
                futures_util::future::Either::Right(watcher),
            ]
        }))
        .await;
    assert_eq!(opened.len(), 3 * tickets.len());
    for (ready, texts, expected, ticket_id, last_seq) in opened {
        assert_eq!(ready["type"], "ready", "{ready}");
        assert_eq!(ready["data"]["ticket"]["id"], ticket_id, "its own ticket");
        assert_eq!(
            ready["data"]["last_seq"], last_seq,
            "in its own numbering: {ready}"
        );
        assert_eq!(texts, expected, "exactly what it missed");
    }
}

#[tokio::test]
async fn sockets_opening_together_get_their_own_ticket_and_replay_sqlite() {
    sockets_opening_together_get_their_own_ticket_and_replay(Backend::Sqlite).await;
}

#[tokio::test]
async fn sockets_opening_together_get_their_own_ticket_and_replay_postgres() {
    sockets_opening_together_get_their_own_ticket_and_replay(Backend::Postgres).await;
}

#[tokio::test]
async fn a_frame_over_64_kib_closes_the_socket_with_1009() {
    let app = spawn_app().await;
    let (_, session) = ticket(&app).await;
    let mut user = app.user_socket(&session, "").await;
    user.next_of("ready").await;
    let big = json!({"type": "message", "message": "x".repeat(70 * 1024)}).to_string();
    user.send_text(&big).await;
    assert_eq!(
        user.ended(Duration::from_secs(10)).await,
        Ended::Closed(1009)
    );
    assert!(stored_messages(&app, &session).await.is_empty());
}

#[tokio::test]
async fn sockets_are_refused_before_the_upgrade() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.allowed_origins = vec!["https://shop.example.com".into()];
    })
    .await
    .unwrap();
    let (_, session) = ticket(&app).await;
    let unknown = uuid::Uuid::new_v4();
    let (_, token) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let bearer = format!("Bearer {token}");
    let own_origin = format!("http://localhost:{}", app.port);
    // (case, path, headers, expected status)
    type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, u16);
    let cases: Vec<Case> = vec![
        (
            "unknown session",
            format!("/ws/support/user/{unknown}"),
            vec![],
            404,
        ),
        (
            "malformed session",
            "/ws/support/user/not-a-uuid".into(),
            vec![],
            404,
        ),
        (
            "supporter without credential",
            format!("/ws/support/supporter/{session}"),
            vec![],
            401,
        ),
        (
            "supporter with a bad token",
            format!("/ws/support/supporter/{session}"),
            vec![("authorization", "Bearer not.a.token")],
            401,
        ),
        (
            "feed without credential",
            "/ws/support/agent".into(),
            vec![],
            401,
        ),
        (
            "token in the query string is not a credential",
            format!("/ws/support/agent?token={token}"),
            vec![],
            401,
        ),
        (
            "foreign origin",
            format!("/ws/support/user/{session}"),
            vec![("origin", "https://evil.example.com")],
            403,
        ),
        (
            "foreign origin with a good credential",
            "/ws/support/agent".into(),
            vec![
                ("origin", "https://evil.example.com"),
                ("authorization", bearer.as_str()),
            ],
            403,
        ),
        (
            "bad since",
            format!("/ws/support/user/{session}?since=-1"),
            vec![],
            400,
        ),
    ];
    for (case, path, headers, status) in cases {
        let refused = connect(&app.ws_url(&path), &headers).await.err();
        assert_eq!(refused, Some(status), "{case}");
    }
    for origin in ["https://shop.example.com", own_origin.as_str()] {
        let opened = connect(
            &app.ws_url(&format!("/ws/support/user/{session}")),
            &[("origin", origin)],
        )
        .await;
        assert!(opened.is_ok(), "origin {origin} is allowed");
    }
}

#[tokio::test]
async fn the_agent_feed_carries_every_tickets_events() {
    let app = spawn_app().await;
    let mut feed = app.feed_socket(&app.admin_token).await;
    let (ticket_id, session) = ticket(&app).await;
    let created = feed.next_of("ticket_created").await;
    assert_eq!(created["ticket"]["id"], ticket_id);
    let mut user = app.user_socket(&session, "").await;
    user.next_of("ready").await;
    user.say("Where is my order?", "u1").await;
    let notice = feed.notice_of(ticket_id, 1).await;
    assert_eq!(notice["seq"], 1);
    assert_eq!(notice["sender_type"], "user");
    assert_eq!(notice["visitor_messages"], 1);
    assert_eq!(notice["preview"], "Where is my order?");
    assert_eq!(notice["unread"], 1);
    assert!(notice["waiting_since"].is_string());
    assert!(notice.get("message").is_none(), "no message on the feed");
    let (status, _) = app
        .send_json(
            "PATCH",
            &format!("/api/support/tickets/{ticket_id}"),
            Some(&app.admin_token),
            json!({"priority": "urgent"}),
        )
        .await;
    assert_eq!(status, 200);
    let updated = feed.next_of("ticket_updated").await;
    assert_eq!(updated["ticket"]["priority"], "urgent");
    // A priority change is for agents: the visitor gets the ticket, no note.
    let frame = loop {
        let frame = user.next().await;
        if frame["type"] != "presence" && frame["type"] != "message" {
            break frame;
        }
    };
    assert_eq!(frame["type"], "ticket_updated", "{frame}");
    assert_eq!(frame["ticket"]["priority"], "urgent");
}

#[tokio::test]
async fn a_closed_ticket_refuses_messages_with_an_error_frame() {
    let app = spawn_app().await;
    let (_, session) = ticket(&app).await;
    let mut user = app.user_socket(&session, "").await;
    user.next_of("ready").await;
    let (status, _) = app
        .send_json(
            "POST",
            &format!("/api/support/ticket/{session}/close"),
            None,
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        user.next_of("system").await["message"]["message"],
        "John Doe ended the chat"
    );
    user.say("anyone?", "late").await;
    let error = user.next_of("error").await;
    assert_eq!(error["error"]["code"], "ticket_closed");
    assert_eq!(error["client_msg_id"], "late");
    assert_eq!(
        stored_messages(&app, &session).await.len(),
        1,
        "only the system note"
    );
}

#[tokio::test]
async fn messages_past_the_burst_are_refused_and_not_stored() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.message_burst = 3;
        c.message_rate_per_second = 1;
    })
    .await
    .unwrap();
    let (_, session) = ticket(&app).await;
    let mut user = app.user_socket(&session, "").await;
    user.next_of("ready").await;
    for i in 0..5 {
        user.say("spam", &format!("k{i}")).await;
    }
    let mut acked = Vec::new();
    let mut limited = Vec::new();
    while acked.len() + limited.len() < 5 {
        let frame = user.next().await;
        match frame["type"].as_str() {
            Some("message") => acked.push(frame["message"]["client_msg_id"].clone()),
            Some("error") => {
                assert_eq!(frame["error"]["code"], "rate_limited");
                assert!(
                    frame["error"]["retry_after"]
                        .as_u64()
                        .is_some_and(|s| s >= 1),
                    "{frame}"
                );
                limited.push(frame["client_msg_id"].clone());
            }
            _ => {}
        }
    }
    assert_eq!(acked, [json!("k0"), json!("k1"), json!("k2")]);
    assert_eq!(limited, [json!("k3"), json!("k4")]);
    assert_eq!(stored_messages(&app, &session).await.len(), 3);
}

#[tokio::test]
async fn two_visitors_never_see_each_others_frames() {
    let app = spawn_app().await;
    let (_, first) = ticket(&app).await;
    let (_, second) = ticket(&app).await;
    let mut a = app.user_socket(&first, "").await;
    let mut b = app.user_socket(&second, "").await;
    a.next_of("ready").await;
    b.next_of("ready").await;
    a.say("secret of A", "a").await;
    a.send(json!({"type": "typing", "data": {"is_typing": true}}))
        .await;
    b.say("secret of B", "b").await;
    assert_eq!(
        a.next_of("message").await["message"]["message"],
        "secret of A"
    );
    assert_eq!(
        b.next_of("message").await["message"]["message"],
        "secret of B"
    );
    let mut leaked = Vec::new();
    for client in [&mut a, &mut b] {
        while let Some(frame) = client.try_next(Duration::from_millis(400)).await {
            leaked.push(frame);
        }
    }
    assert!(
        leaked.iter().all(|f| !f.to_string().contains("secret")),
        "frames of another ticket leaked: {leaked:?}"
    );
}

#[tokio::test]
async fn concurrent_senders_are_delivered_in_seq_order_without_gaps() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.message_burst = 1000;
        c.message_rate_per_second = 1000;
    })
    .await
    .unwrap();
    let (_, session) = ticket(&app).await;
    let (_, token) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let mut watcher = app.user_socket(&session, "").await;
    watcher.next_of("ready").await;
    let mut senders: Vec<WsClient> = Vec::new();
    for _ in 0..3 {
        senders.push(app.user_socket(&session, "").await);
    }
    senders.push(app.supporter_socket(&session, &token, "").await);
    let mut tasks = Vec::new();
    for (n, mut sender) in senders.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            for i in 0..50 {
                sender.say(&format!("{n}-{i}"), &format!("{n}-{i}")).await;
            }
            sender
        }));
    }
    let mut frames = Vec::new();
    // 200 chat messages plus the join note (the in_progress note is internal:
    // not in the visitor's numbering).
    while frames.len() < 201 {
        frames.push(watcher.next_message().await);
    }
    assert_eq!(seqs(&frames), (1..=201).collect::<Vec<_>>());
    let keys: HashSet<String> = frames
        .iter()
        .filter_map(|f| f["message"]["client_msg_id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(keys.len(), 200);
    for task in tasks {
        task.await.unwrap();
    }
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_with_1013_and_slows_nobody() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.message_burst = 10_000;
        c.message_rate_per_second = 10_000;
    })
    .await
    .unwrap();
    let (_, session) = ticket(&app).await;
    let (_, token) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let mut slow = app.user_socket(&session, "").await;
    slow.next_of("ready").await;
    let mut reader = app.user_socket(&session, "").await;
    reader.next_of("ready").await;
    let mut sender = app.supporter_socket(&session, &token, "").await;
    sender.next_of("ready").await;

    // Big frames fill the kernel's socket buffers, then the bounded queue.
    let text = "y".repeat(8000);
    let total = 1200;
    let sending = tokio::spawn(async move {
        for i in 0..total {
            sender.say(&text, &format!("k{i}")).await;
        }
        sender
    });
    let started = tokio::time::Instant::now();
    let mut received = 0;
    let mut last_seq = 0;
    while received < total {
        let frame = reader.next_message().await;
        if frame["type"] == "message" {
            received += 1;
        }
        let seq = frame["message"]["seq"].as_i64().unwrap();
        assert_eq!(
            seq,
            last_seq + 1,
            "the reading client gets every seq in order"
        );
        last_seq = seq;
    }
    let elapsed = started.elapsed();
    sending.await.unwrap();
    assert!(
        elapsed < Duration::from_secs(60),
        "the reading client kept pace ({elapsed:?} for {total} messages)"
    );
    // The stalled client now drains what was buffered and finds the 1013.
    assert_eq!(
        slow.ended(Duration::from_secs(30)).await,
        Ended::Closed(1013)
    );
}

#[tokio::test]
async fn the_server_pings_and_closes_a_silent_peer() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.ping_interval_seconds = 1;
        c.idle_timeout_seconds = 3;
    })
    .await
    .unwrap();
    let (_, session) = ticket(&app).await;
    let mut listening = app.user_socket(&session, "").await;
    // A client that reads answers pings (tungstenite does it while reading) and stays.
    let mut pings = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    use futures_util::StreamExt;
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout_at(deadline, listening.stream.next()).await
    {
        if message.is_ping() {
            pings += 1;
        }
        assert!(
            !message.is_close(),
            "a client that answers pings is not closed"
        );
    }
    assert!(pings >= 2, "pinged every second: {pings}");

    listening.close().await;

    // A client that never reads never answers: after the idle timeout the server
    // closes it (its close frame may be lost behind the unread pings, but the
    // connection ends and the visitor shows as gone).
    let mut silent = app.user_socket(&session, "").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let ended = silent.ended(Duration::from_secs(5)).await;
    assert!(
        matches!(ended, Ended::Closed(1001) | Ended::Dropped),
        "{ended:?}"
    );
    let ticket_id = app
        .get(&format!("/api/support/ticket/{session}"), None)
        .await
        .1["id"]
        .as_i64()
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app
        .state
        .store
        .presence(ticket_id)
        .await
        .unwrap()
        .user_connected
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the silent visitor's session was never ended"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_ping_is_answered_with_pong_on_ticket_sockets_and_on_the_feed() {
    let app = spawn_app().await;
    let (_, session) = ticket(&app).await;
    let mut user = app.user_socket(&session, "").await;
    user.next_of("ready").await;
    user.send(json!({"type": "ping"})).await;
    assert_eq!(user.next_of("pong").await, json!({"type": "pong"}));

    let mut feed = app.feed_socket(&app.admin_token).await;
    feed.send(json!({"type": "ping"})).await;
    assert_eq!(
        feed.next().await,
        json!({"type": "pong"}),
        "the feed's first frame"
    );
    feed.send(json!({"type": "message", "message": "hi"})).await;
    let refused = feed.next().await;
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["error"]["code"], "validation_failed");
}

/// Reconciliation's deadline in these tests: the default interval (2 s), the
/// grace, a read, and room for a noisy machine.
const RECONCILED_WITHIN: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_message_stored_without_being_published_reaches_the_sockets_by_itself() {
    let app = spawn_app().await;
    let (ticket_id, session) = ticket(&app).await;
    let mut user = app.user_socket(&session, "").await;
    user.next_of("ready").await;
    // Stored behind the broker's back, as when a publish is lost: nothing else
    // will ever be sent on this ticket.
    let draft = livesupport::domain::MessageDraft {
        sender_type: livesupport::domain::SenderType::Supporter,
        sender_id: None,
        sender_name: Some("Alice".into()),
        text: "your parcel left today".into(),
        client_msg_id: Some("lost-publish".into()),
        visibility: Default::default(),
        attachments: Vec::new(),
    };
    app.state
        .store
        .append_message(ticket_id, &draft)
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + RECONCILED_WITHIN;
    let (frames, arrived) = user
        .frames_until(deadline, |f| f["type"] == "message")
        .await;
    assert!(
        arrived,
        "the message arrives without a later one: {frames:?}"
    );
    let frame = frames.last().unwrap();
    assert_eq!(frame["message"]["client_msg_id"], "lost-publish");
    assert_eq!(frame["message"]["seq"], 1);
}

#[tokio::test]
async fn a_ticket_change_the_feed_never_heard_of_reaches_the_dashboards_by_itself() {
    let app = spawn_app().await;
    let mut feed = app.feed_socket(&app.admin_token).await;
    // Let the feed start before the changes it must recover.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let new = livesupport::domain::NewTicket {
        session_id: uuid::Uuid::new_v4().to_string(),
        user_id: None,
        user_name: "Jane".into(),
        user_email: None,
        subject: "Opened while the broker was away".into(),
        priority: livesupport::domain::Priority::High,
        first_message: None,
    };
    let (created, _) = app.state.store.create_ticket(&new).await.unwrap();
    let frame = feed
        .try_next(RECONCILED_WITHIN)
        .await
        .expect("the new ticket reaches the feed without a later event");
    assert_eq!(frame["type"], "ticket_created");
    assert_eq!(frame["ticket"]["id"], created.id);
    assert_eq!(frame["ticket"]["priority"], "high");

    let change = livesupport::domain::TicketChange {
        priority: Some(livesupport::domain::Priority::Urgent),
        ..Default::default()
    };
    app.state
        .store
        .change_ticket(created.id, &change)
        .await
        .unwrap();
    let frame = feed
        .try_next(RECONCILED_WITHIN)
        .await
        .expect("the change reaches the feed");
    assert_eq!(frame["type"], "ticket_updated");
    assert_eq!(frame["ticket"]["priority"], "urgent");
    assert!(
        feed.try_next(Duration::from_secs(3)).await.is_none(),
        "each change is recovered once"
    );
}

// ---------------------------------------------------------------------------
// client_msg_id is the sender's key (issue 13, item 9)

#[tokio::test]
async fn a_visitor_and_an_agent_using_the_same_key_both_get_their_message_stored_and_acknowledged()
{
    let app = spawn_app().await;
    let (_, session) = ticket(&app).await;
    let mut user = app.user_socket(&session, "").await;
    user.next_of("ready").await;
    let mut supporter = app.supporter_socket(&session, &app.admin_token, "").await;
    supporter.next_of("ready").await;

    user.say("from the visitor", "same-key").await;
    let own = common::ws::until_key(&mut user, "same-key").await;
    let ack = own.last().unwrap();
    assert_eq!(ack["message"]["sender_type"], "user");
    assert_eq!(ack["message"]["message"], "from the visitor");

    supporter.say("from the agent", "same-key").await;
    let deadline = tokio::time::Instant::now() + common::ws::FRAME_TIMEOUT;
    let (frames, acked) = supporter
        .frames_until(deadline, |f| {
            f["type"] == "message"
                && f["message"]["sender_type"] == "supporter"
                && f["message"]["client_msg_id"] == "same-key"
        })
        .await;
    assert!(acked, "the agent's message is acknowledged: {frames:?}");
    assert_eq!(
        frames.last().unwrap()["message"]["message"],
        "from the agent"
    );

    let stored: Vec<(Value, Value)> = stored_messages(&app, &session)
        .await
        .iter()
        .filter(|m| m["client_msg_id"] == "same-key")
        .map(|m| (m["sender_type"].clone(), m["message"].clone()))
        .collect();
    assert_eq!(
        stored,
        [
            (json!("user"), json!("from the visitor")),
            (json!("supporter"), json!("from the agent"))
        ],
        "both messages are stored"
    );
}

#[tokio::test]
async fn a_resend_under_a_stored_key_with_another_text_is_refused_with_an_error_frame() {
    let app = spawn_app().await;
    let (_, session) = ticket(&app).await;
    let mut user = app.user_socket(&session, "").await;
    user.next_of("ready").await;
    user.say("the first text", "key-1").await;
    common::ws::until_key(&mut user, "key-1").await;

    user.say("another text", "key-1").await;
    let error = user.next_of("error").await;
    assert_eq!(error["error"]["code"], "client_msg_id_reused");
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("client_msg_id")),
        "{error}"
    );
    assert_eq!(error["client_msg_id"], "key-1");
    let stored = stored_messages(&app, &session).await;
    assert_eq!(stored.len(), 1, "nothing more is stored");
    assert_eq!(stored[0]["message"], "the first text");

    // The same text under the key is still a resend: nothing is stored (and
    // this connection already had its acknowledgement).
    user.say("the first text", "key-1").await;
    user.say("next", "key-2").await;
    assert_eq!(
        user.next_message().await["message"]["client_msg_id"],
        "key-2"
    );
    assert_eq!(stored_messages(&app, &session).await.len(), 2);
}

/// Issue 14 point 2 (and issue 15): priority and assignment notes are for
/// agents only. The visitor's socket (live and replayed) and its REST history
/// never hold them: the visitor's seq counts public messages only, gapless, so
/// no refill or resync is needed; status notes that concern it are plain words.
#[tokio::test]
async fn agents_only_notes_never_reach_the_visitor_whose_seq_counts_public_messages_only() {
    let app = spawn_app().await;
    let (ticket_id, session) = ticket(&app).await;
    let (alice_id, alice) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let admin = app.admin_token.clone();
    let mut user = app.user_socket(&session, "").await;
    user.next_of("ready").await;
    let patch = |body: Value| {
        let path = format!("/api/support/tickets/{ticket_id}");
        let admin = admin.clone();
        let app = &app;
        async move {
            let (status, _) = app.send_json("PATCH", &path, Some(&admin), body).await;
            assert_eq!(status, 200);
        }
    };
    patch(json!({"priority": "high"})).await;
    let (status, _) = app
        .send_json(
            "POST",
            &format!("/api/support/tickets/{ticket_id}/assign"),
            Some(&admin),
            json!({"supporter_id": alice_id}),
        )
        .await;
    assert_eq!(status, 200);
    user.say("are you there?", "u1").await;
    while app.last_seq(&session).await < 1 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    patch(json!({"status": "resolved"})).await;

    let check = |who: &str, messages: &[Value]| {
        assert_eq!(
            messages
                .iter()
                .map(|m| m["seq"].as_i64().unwrap())
                .collect::<Vec<_>>(),
            vec![1, 2],
            "{who} numbers the public messages only, each once, in order"
        );
        assert_eq!(messages[0]["message"], "are you there?");
        assert_eq!(messages[0]["visibility"], "public");
        assert_eq!(
            messages[1]["message"],
            "This conversation was marked as resolved \u{2014} write to reopen it"
        );
        assert!(
            messages.iter().all(|m| m["visibility"] == "public"),
            "{who}: {messages:?}"
        );
        let text = serde_json::to_string(messages).unwrap();
        for secret in [
            "Priority",
            "high",
            "assigned",
            "Alice",
            "Admin",
            "Status changed",
        ] {
            assert!(!text.contains(secret), "{who} was shown {secret:?}: {text}");
        }
    };

    let live = until_seq_frames(&mut user, 2).await;
    assert!(
        live.iter().all(|f| f["type"] != "resync_required"),
        "{live:?}"
    );
    let live: Vec<Value> = live
        .into_iter()
        .filter(|f| f.get("message").is_some())
        .map(|f| f["message"].clone())
        .collect();
    check("the live socket", &live);
    check("the REST history", &stored_messages(&app, &session).await);
    let mut again = app.user_socket(&session, "?since=0").await;
    let replayed = until_seq_frames(&mut again, 2).await;
    let replayed: Vec<Value> = replayed
        .into_iter()
        .filter(|f| f.get("message").is_some())
        .map(|f| f["message"].clone())
        .collect();
    check("the replay", &replayed);

    // Agents keep the whole note, on REST and on their socket.
    let (_, page) = app
        .get(
            &format!("/api/support/tickets/{ticket_id}/messages"),
            Some(&alice),
        )
        .await;
    let notes = page["messages"].as_array().unwrap();
    assert_eq!(
        notes[0]["message"],
        "Priority changed from medium to high by Admin"
    );
    assert_eq!(notes[0]["visibility"], "internal");
    assert_eq!(notes[1]["message"], "Ticket assigned to Alice by Admin");
    let mut supporter = app.supporter_socket(&session, &alice, "?since=0").await;
    let frames = until_seq_frames(&mut supporter, 4).await;
    let first = frames.iter().find(|f| f["message"]["seq"] == 1).unwrap();
    assert_eq!(
        first["message"]["message"],
        "Priority changed from medium to high by Admin"
    );
}

/// Every frame up to the message-like one with `seq` (ready and others included).
async fn until_seq_frames(client: &mut WsClient, last: i64) -> Vec<Value> {
    let mut frames = Vec::new();
    loop {
        let frame = client.next().await;
        let done = frame["message"]["seq"].as_i64().is_some_and(|s| s >= last);
        frames.push(frame);
        if done {
            return frames;
        }
    }
}

/// Issue 14 point 17: the visitor ending the chat is told by name.
#[tokio::test]
async fn the_visitor_ending_the_chat_is_announced_by_name() {
    let app = spawn_app().await;
    let (_, session) = ticket(&app).await;
    let (status, _) = app
        .send_json(
            "POST",
            &format!("/api/support/ticket/{session}/close"),
            None,
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let stored = stored_messages(&app, &session).await;
    assert_eq!(stored[0]["message"], "John Doe ended the chat");
    assert_eq!(stored[0]["visibility"], "public");
}

/// Issue 14 point 13: opening a ticket only watches it; joining is explicit
/// (`POST …/assign` with `"join": true`), and only then is the visitor told.
#[tokio::test]
async fn opening_a_ticket_does_not_claim_it_and_joining_is_explicit() {
    let app = spawn_app().await;
    let (ticket_id, session) = ticket(&app).await;
    let (alice_id, alice) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let mut user = app.user_socket(&session, "").await;
    user.next_of("ready").await;
    let mut watching = app.watching_socket(&session, &alice, "").await;
    let ready = watching.next_of("ready").await;
    assert_eq!(ready["data"]["ticket"]["status"], "open");
    while user.next_of("presence").await["data"]["supporter_connected"] != true {}
    assert!(
        user.try_next(Duration::from_millis(500)).await.is_none(),
        "the visitor is told nothing when an agent only looks"
    );
    let (_, t) = app
        .get(&format!("/api/support/tickets/{ticket_id}"), Some(&alice))
        .await;
    assert_eq!(t["status"], "open");
    assert_eq!(t["supporter_id"], Value::Null);

    let (status, joined) = app
        .send_json(
            "POST",
            &format!("/api/support/tickets/{ticket_id}/assign"),
            Some(&alice),
            json!({"join": true}),
        )
        .await;
    assert_eq!(status, 200, "{joined}");
    assert_eq!(joined["status"], "assigned");
    assert_eq!(joined["supporter_id"], alice_id);
    let frame = user.next_of("supporter_joined").await;
    assert_eq!(frame["data"]["supporter_name"], "Alice");
    assert_eq!(frame["message"]["message"], "Alice joined the chat");
    assert_eq!(frame["message"]["visibility"], "public");
    assert_eq!(
        watching.next_of("supporter_joined").await["message"]["seq"],
        1
    );

    // Joining for somebody else is refused: a teammate is assigned without join.
    let (status, _) = app
        .send_json(
            "POST",
            &format!("/api/support/tickets/{ticket_id}/assign"),
            Some(&app.admin_token),
            json!({"join": true, "supporter_id": alice_id}),
        )
        .await;
    assert_eq!(status, 400);
}
