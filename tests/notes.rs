//! Private notes (issue 15), with real sockets on SQLite and PostgreSQL: agents
//! write them over REST and on their ticket socket and see them live, in order,
//! on resume and in the history; a guest reaches none of them (nor the agents'
//! system notes) by any route or socket, and the guest's seq counts public
//! messages only, gapless.

mod common;

use common::ws::{WsClient, is_message};
use common::{Backend, TestApp, spawn_app_with};
use livesupport::config::Secret;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::Instant;

const IDENTITY_SECRET: &str = "storefront-identity-secret";
const NOTE_TEXTS: [&str; 3] = [
    "VIP customer: refund without asking",
    "Second note over the socket",
    "Third note, after the visitor wrote",
];

async fn app_on(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |config| {
        config.identity_secret = Some(Secret::new(IDENTITY_SECRET));
    })
    .await
}

/// Message-like frames until `n` of them came, or panics after a while.
async fn messages(client: &mut WsClient, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut found = Vec::new();
    while found.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        let frame = client
            .try_next(left)
            .await
            .unwrap_or_else(|| panic!("only {} of {n} messages came: {found:?}", found.len()));
        if is_message(&frame) {
            found.push(frame);
        }
    }
    found
}

fn seqs(frames: &[Value]) -> Vec<i64> {
    frames
        .iter()
        .map(|f| f["message"]["seq"].as_i64().unwrap())
        .collect()
}

/// No text of an internal message, nor the word "internal", anywhere in `body`.
fn assert_no_internal(what: &str, body: &str) {
    for secret in NOTE_TEXTS.iter().copied().chain([
        "Priority changed",
        "Ticket assigned",
        "Status changed",
        "internal",
    ]) {
        assert!(
            !body.contains(secret),
            "{what} shows the guest {secret:?}: {body}"
        );
    }
}

async fn notes_reach_agents_only(backend: Backend) {
    let Some(app) = app_on(backend).await else {
        return;
    };
    let (alice_id, alice) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let hash = livesupport::auth::identity_hash(&Secret::new(IDENTITY_SECRET), "user-7");
    let created = app
        .create_ticket(
            json!({"user_name": "Jane", "subject": "Refund", "message": "Hello",
            "user_id": "user-7", "user_hash": hash}),
        )
        .await;
    let ticket_id = created["id"].as_i64().unwrap();
    let session = created["session_id"].as_str().unwrap().to_owned();
    let mut visitor = app.user_socket(&session, "?since=1").await;
    visitor.next_of("ready").await;
    let mut agent = app.supporter_socket(&session, &alice, "?since=1").await;
    agent.next_of("ready").await;
    let mut teammate = app
        .watching_socket(&session, &app.admin_token, "?since=1")
        .await;
    teammate.next_of("ready").await;

    // seq 2: the join (public), 3: a note over REST, 4: a priority note
    // (internal), 5: a note on the socket, 6: the visitor, 7: the agent's reply
    // (8: its in_progress note, internal), 9: a note after the visitor wrote.
    let (status, _) = app
        .send_json(
            "POST",
            &format!("/api/support/tickets/{ticket_id}/assign"),
            Some(&alice),
            json!({"join": true}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, note) = app
        .send_json(
            "POST",
            &format!("/api/support/tickets/{ticket_id}/notes"),
            Some(&alice),
            json!({"message": NOTE_TEXTS[0], "client_msg_id": "n-1"}),
        )
        .await;
    assert_eq!(status, 201, "{note}");
    assert_eq!(note["visibility"], "internal");
    assert_eq!(note["sender_id"], alice_id);
    assert_eq!(note["seq"], 3);
    assert!(note.get("public_seq").is_none(), "{note}");
    let (status, again) = app
        .send_json(
            "POST",
            &format!("/api/support/tickets/{ticket_id}/notes"),
            Some(&alice),
            json!({"message": NOTE_TEXTS[0], "client_msg_id": "n-1"}),
        )
        .await;
    assert_eq!((status, &again["id"]), (200, &note["id"]), "a resend");
    let (status, _) = app
        .send_json(
            "PATCH",
            &format!("/api/support/tickets/{ticket_id}"),
            Some(&alice),
            json!({"priority": "high"}),
        )
        .await;
    assert_eq!(status, 200);
    agent
        .send(json!({"type": "note", "message": NOTE_TEXTS[1], "client_msg_id": "n-2"}))
        .await;
    let agent_frames = messages(&mut agent, 4).await;
    assert_eq!(seqs(&agent_frames), [2, 3, 4, 5]);
    assert_eq!(agent_frames[1]["type"], "note");
    assert_eq!(agent_frames[3]["type"], "note");
    assert_eq!(agent_frames[3]["message"]["message"], NOTE_TEXTS[1]);
    assert_eq!(agent_frames[3]["message"]["client_msg_id"], "n-2");
    let teammate_frames = messages(&mut teammate, 4).await;
    assert_eq!(seqs(&teammate_frames), [2, 3, 4, 5], "another agent, live");
    assert_eq!(teammate_frames[1]["message"]["message"], NOTE_TEXTS[0]);

    visitor.say("Any news?", "v-1").await;
    let mut live = messages(&mut visitor, 2).await;
    assert_eq!(
        seqs(&live),
        [2, 3],
        "the join, then its own line: the note is skipped"
    );
    agent.say("Refund is on its way", "a-1").await;
    let agent_frames = messages(&mut agent, 3).await;
    assert_eq!(seqs(&agent_frames), [6, 7, 8]);
    let (status, _) = app
        .send_json(
            "POST",
            &format!("/api/support/tickets/{ticket_id}/notes"),
            Some(&alice),
            json!({"message": NOTE_TEXTS[2]}),
        )
        .await;
    assert_eq!(status, 201);
    let agent_frames = messages(&mut agent, 1).await;
    assert_eq!(seqs(&agent_frames), [9]);
    assert_eq!(agent_frames[0]["message"]["message"], NOTE_TEXTS[2]);

    // The visitor's live socket: the join, its own line, the reply: 2, 3, 4.
    live.extend(messages(&mut visitor, 1).await);
    assert_eq!(seqs(&live), [2, 3, 4], "gapless in the visitor's numbering");
    assert_eq!(live[2]["message"]["message"], "Refund is on its way");
    assert!(
        visitor
            .try_next(Duration::from_millis(500))
            .await
            .is_none_or(|f| !is_message(&f)),
        "nothing more for the visitor"
    );
    let (status, ticket) = app
        .get(&format!("/api/support/ticket/{session}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        ticket["last_seq"], 4,
        "the visitor's ticket counts its own stream"
    );
    visitor
        .send(json!({"type": "read", "data": {"up_to_seq": 4}}))
        .await;
    let read = agent.next_of("read").await;
    assert_eq!(
        read["data"]["up_to_seq"], 7,
        "the visitor's read, in the agents' seq"
    );

    // Every guest route, and the visitor's socket live, replayed and resumed.
    let mut guest_bodies: Vec<(String, String)> = Vec::new();
    for path in [
        format!("/api/support/ticket/{session}"),
        format!("/api/support/ticket/{session}/messages"),
        format!("/api/support/ticket/{session}/messages?limit=500"),
        format!("/api/support/ticket/{session}/messages?after_seq=1"),
        format!("/api/support/ticket/{session}/messages?before_seq=4&limit=2"),
        format!("/api/support/user/tickets?user_id=user-7&user_hash={hash}"),
    ] {
        let (status, body) = app.get(&path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        guest_bodies.push((path, body.to_string()));
    }
    let (_, page) = app
        .get(&format!("/api/support/ticket/{session}/messages"), None)
        .await;
    let page_seqs: Vec<i64> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(page_seqs, [1, 2, 3, 4], "the REST history: public, gapless");
    let (_, back) = app
        .get(
            &format!("/api/support/ticket/{session}/messages?before_seq=4&limit=2"),
            None,
        )
        .await;
    assert_eq!(back["messages"][0]["seq"], 2);
    assert_eq!(back["messages"][1]["message"], "Any news?");
    for (since, expected) in [("?since=0", vec![1, 2, 3, 4]), ("?since=2", vec![3, 4])] {
        let mut resumed = app.user_socket(&session, since).await;
        let ready = resumed.next_of("ready").await;
        assert_eq!(ready["data"]["last_seq"], 4, "{since}: {ready}");
        let replayed = messages(&mut resumed, expected.len()).await;
        assert_eq!(seqs(&replayed), expected, "replay {since}");
        let rest = resumed.collect_of("note", Duration::from_millis(300)).await;
        assert!(rest.is_empty(), "{rest:?}");
        let mut all = vec![ready];
        all.extend(replayed);
        guest_bodies.push((
            format!("visitor socket {since}"),
            serde_json::to_string(&all).unwrap(),
        ));
    }
    guest_bodies.push((
        "visitor socket, live".into(),
        serde_json::to_string(&live).unwrap(),
    ));
    for (what, body) in &guest_bodies {
        assert_no_internal(what, body);
    }

    // Agents: the whole stream over REST and on resume, notes in their place.
    let (_, history) = app
        .get(
            &format!("/api/support/tickets/{ticket_id}/messages"),
            Some(&alice),
        )
        .await;
    let history = history["messages"].as_array().unwrap().clone();
    assert_eq!(history.len(), 9);
    let notes: Vec<&str> = history
        .iter()
        .filter(|m| m["visibility"] == "internal" && m["sender_type"] == "supporter")
        .map(|m| m["message"].as_str().unwrap())
        .collect();
    assert_eq!(notes, NOTE_TEXTS);
    let mut resumed = app.supporter_socket(&session, &alice, "?since=2").await;
    let replayed = messages(&mut resumed, 7).await;
    assert_eq!(seqs(&replayed), [3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(replayed[0]["type"], "note");
    let (_, agent_ticket) = app
        .get(&format!("/api/support/tickets/{ticket_id}"), Some(&alice))
        .await;
    assert_eq!(agent_ticket["last_seq"], 9);
    assert_eq!(agent_ticket["status"], "in_progress");
    assert_eq!(
        agent_ticket["last_message_preview"], "Refund is on its way",
        "a note is no preview"
    );
}

#[tokio::test]
async fn notes_reach_agents_only_on_sqlite() {
    notes_reach_agents_only(Backend::Sqlite).await;
}

#[tokio::test]
async fn notes_reach_agents_only_on_postgres() {
    notes_reach_agents_only(Backend::Postgres).await;
}

#[tokio::test]
async fn a_guest_cannot_write_a_note_and_bad_notes_are_refused() {
    let app = app_on(Backend::Sqlite).await.unwrap();
    let created = app
        .create_ticket(json!({"user_name": "Jane", "subject": "Refund"}))
        .await;
    let ticket_id = created["id"].as_i64().unwrap();
    let session = created["session_id"].as_str().unwrap().to_owned();

    let mut visitor = app.user_socket(&session, "").await;
    visitor.next_of("ready").await;
    visitor
        .send(json!({"type": "note", "message": "I am an agent", "client_msg_id": "x"}))
        .await;
    let refused = visitor.next_of("error").await;
    assert_eq!(refused["error"]["code"], "validation_failed");
    assert_eq!(refused["client_msg_id"], "x");

    let path = format!("/api/support/tickets/{ticket_id}/notes");
    let (status, _) = app
        .send_json("POST", &path, None, json!({"message": "no token"}))
        .await;
    assert_eq!(status, 401, "a guest has no note route");
    let cases = [
        ("no message", json!({}), 400, "message"),
        ("empty message", json!({"message": "   "}), 400, "message"),
        (
            "too long",
            json!({"message": "x".repeat(8193)}),
            400,
            "message",
        ),
        (
            "bad key",
            json!({"message": "ok", "client_msg_id": ""}),
            400,
            "client_msg_id",
        ),
    ];
    for (case, body, code, field) in cases {
        let (status, error) = app
            .send_json("POST", &path, Some(&app.admin_token), body)
            .await;
        assert_eq!(status, code, "{case}: {error}");
        assert_eq!(error["error"]["field"], field, "{case}: {error}");
    }
    let (status, _) = app
        .send_json(
            "POST",
            "/api/support/tickets/999999/notes",
            Some(&app.admin_token),
            json!({"message": "nobody"}),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(app.stored_count(&session).await, 0, "nothing was stored");
}
