//! Email (issue 18) against a real SMTP server (`tests/common/smtp.rs`, aiosmtpd)
//! and real nodes: follow-ups after the visitor left (none while connected, one
//! email for several replies), transcripts and their limits, resume links, the
//! outbox, an SMTP outage, a refused recipient, a node killed mid-send, and two
//! nodes sharing one outbox.
//!
//! "Ten minutes later" is made by moving the ticket's stored times back (the
//! messages' and the visitor's socket sessions'), so the node's own mail
//! worker, polling every second here, finds the follow-up as it would then.

mod common;

use chrono::{DateTime, Utc};
use common::smtp::{Received, SmtpSink};
use common::{Backend, TestApp, spawn_app_with, spawn_cluster};
use livesupport::config::Secret;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;

/// A node sending to `sink`, looking for work every second.
async fn app_with_sink(backend: Backend, sink: &SmtpSink) -> Option<TestApp> {
    let url = sink.url();
    spawn_app_with(backend, move |config| {
        config.smtp_url = Some(Secret::new(&url));
        config.mail_from = Some("Shop Support <help@shop.example>".into());
        config.public_url = Some("https://support.shop.example".into());
        config.email_poll_seconds = 1;
        config.email_retry_base_seconds = 1;
    })
    .await
}

/// Runs `sql` (binding `at`, then `ticket_id`) on the node's database directly.
async fn execute(app: &TestApp, sql: &str, at: DateTime<Utc>, ticket_id: i64) -> u64 {
    if app.database_url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
        let done = sqlx::query(sql)
            .bind(at)
            .bind(ticket_id)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        done.rows_affected()
    } else {
        let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
        let done = sqlx::query(sql)
            .bind(at)
            .bind(ticket_id)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        done.rows_affected()
    }
}

/// Moves the ticket's messages and ended socket sessions ten minutes back.
async fn ten_minutes_pass(app: &TestApp, ticket_id: i64) {
    let then = Utc::now() - chrono::Duration::minutes(10);
    execute(
        app,
        "UPDATE support_messages SET created_at = $1 WHERE ticket_id = $2",
        then,
        ticket_id,
    )
    .await;
    execute(
        app,
        "UPDATE support_sessions SET ended_at = $1 WHERE ticket_id = $2 AND ended_at IS NOT NULL",
        then,
        ticket_id,
    )
    .await;
}

/// How many socket sessions of the ticket's visitor are active.
async fn visitor_sessions(app: &TestApp, ticket_id: i64) -> i64 {
    let sql = "SELECT COUNT(*) FROM support_sessions WHERE ticket_id = $1 AND supporter_id IS NULL AND is_active = TRUE";
    if app.database_url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
        let n = sqlx::query_scalar(sql)
            .bind(ticket_id)
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n
    } else {
        let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
        let n = sqlx::query_scalar(sql)
            .bind(ticket_id)
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n
    }
}

/// Waits until the ticket's visitor has no active socket session left.
async fn visitor_gone(app: &TestApp, ticket_id: i64) {
    for _ in 0..100 {
        if visitor_sessions(app, ticket_id).await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the visitor's socket session did not end within 10 s");
}

async fn outbox(app: &TestApp, query: &str) -> Value {
    let (status, body) = app
        .get(
            &format!("/api/support/outbox{query}"),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Polls the outbox until `check` holds for it (10 s at most).
async fn outbox_until(app: &TestApp, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let body = outbox(app, "").await;
        if check(&body) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{what}: not within 10 s; the outbox: {}",
        outbox(app, "").await
    );
}

async fn transcript(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    app.send_json("POST", path, token, body).await
}

/// A visitor asks for the transcript, to the ticket's email: the status.
async fn visitor_asks_for_transcript(app: &TestApp, session: &str) -> u16 {
    let path = format!("/api/support/ticket/{session}/transcript");
    transcript(app, &path, None, json!({})).await.0
}

/// The admin sends the transcript to `email`: the status.
async fn agent_sends_transcript(app: &TestApp, ticket_id: i64, email: &str) -> u16 {
    let path = format!("/api/support/tickets/{ticket_id}/transcript");
    transcript(
        app,
        &path,
        Some(&app.admin_token),
        json!({ "email": email }),
    )
    .await
    .0
}

/// The resume token of an email's link.
fn resume_token(email: &Received) -> String {
    let (_, rest) = email
        .text
        .split_once("https://support.shop.example/support/chat?resume=")
        .unwrap_or_else(|| panic!("no resume link in {}", email.text));
    rest.chars().take_while(char::is_ascii_hexdigit).collect()
}

#[tokio::test]
async fn a_follow_up_waits_until_the_visitor_is_away_and_gathers_the_replies_in_one_email() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = app_with_sink(backend, &sink).await else {
            continue;
        };
        let before = sink.received().len();
        let ticket = app
            .create_ticket(
                json!({"user_name": "Ada <b>", "user_email": "ada@example.com",
                "subject": "Where is my order?", "message": "Hello?"}),
            )
            .await;
        let ticket_id = ticket["id"].as_i64().unwrap();
        let session = ticket["session_id"].as_str().unwrap().to_owned();
        let mut visitor = app.user_socket(&session, "").await;
        visitor.next_of("ready").await;
        let mut agent = app.supporter_socket(&session, &app.admin_token, "").await;
        agent.next_of("ready").await;
        agent
            .say("It ships <b>today</b> & \"tomorrow\"", "r1")
            .await;
        agent.say("Tracking number: 123", "r2").await;
        common::ws::until_key(&mut agent, "r2").await;
        let (status, _) = app
            .send_json(
                "POST",
                &format!("/api/support/tickets/{ticket_id}/notes"),
                Some(&app.admin_token),
                json!({"message": "secret note about Ada"}),
            )
            .await;
        assert_eq!(status, 201);

        // Connected: however old the replies, no email.
        ten_minutes_pass(&app, ticket_id).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(
            sink.received().len(),
            before,
            "no email while the visitor is connected"
        );
        assert_eq!(outbox(&app, "").await["emails"], json!([]));

        // Gone, but only just: still none.
        visitor.close().await;
        visitor_gone(&app, ticket_id).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(
            sink.received().len(),
            before,
            "no email before email_after_minutes"
        );

        // Ten minutes later: one email with both replies.
        ten_minutes_pass(&app, ticket_id).await;
        let received = sink.wait_for(before + 1, Duration::from_secs(15)).await;
        let email = &received[before];
        assert!(email.to.contains("ada@example.com"), "{:?}", email.json);
        assert_eq!(email.subject, "2 new replies: Where is my order?");
        assert_eq!(
            email.json["references"],
            format!("<livesupport.ticket.{ticket_id}@shop.example>")
        );
        assert_eq!(email.json["multipart"], "multipart/alternative");
        assert!(
            email
                .message_id
                .starts_with(&format!("<livesupport.follow_up.{ticket_id}."))
        );
        assert!(email.text.contains("Hi Ada <b>,"), "{}", email.text);
        assert!(
            email.text.contains("It ships <b>today</b> & \"tomorrow\""),
            "{}",
            email.text
        );
        assert!(email.text.contains("Tracking number: 123"));
        assert!(email.text.contains("Admin replied"), "{}", email.text);
        assert!(
            !email.text.contains("Hello?"),
            "only the replies: {}",
            email.text
        );
        assert!(
            email
                .html
                .contains("It ships &lt;b&gt;today&lt;/b&gt; &amp; &quot;tomorrow&quot;"),
            "{}",
            email.html
        );
        assert!(email.html.contains("Hi Ada &lt;b&gt;,"));
        for body in [&email.text, &email.html] {
            assert!(!body.contains("secret note"), "no private note in an email");
            assert!(!body.contains(&session), "never the session id");
        }
        // The link opens the same conversation.
        let (status, resumed) = app
            .send_json(
                "POST",
                "/api/support/resume",
                None,
                json!({"token": resume_token(email)}),
            )
            .await;
        assert_eq!(status, 200, "{resumed}");
        assert_eq!(resumed["session_id"], session.as_str());
        assert_eq!(resumed["ticket"]["id"], ticket_id);
        let sent = outbox_until(&app, "the follow-up is sent", |b| {
            b["emails"][0]["status"] == "sent"
        })
        .await;
        assert_eq!(sent["emails"].as_array().unwrap().len(), 1);
        assert_eq!(sent["emails"][0]["kind"], "follow_up");
        assert_eq!(sent["emails"][0]["attempts"], 1);
        assert_eq!(sent["emails"][0]["next_attempt_at"], Value::Null);

        // Emailed once: later rounds write nothing more …
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(sink.received().len(), before + 1);
        // … until another reply, which gets an email of its own.
        agent.say("It has arrived at the depot", "r3").await;
        common::ws::until_key(&mut agent, "r3").await;
        ten_minutes_pass(&app, ticket_id).await;
        let received = sink.wait_for(before + 2, Duration::from_secs(15)).await;
        let second = &received[before + 1];
        assert_eq!(second.subject, "New reply: Where is my order?");
        assert!(second.text.contains("It has arrived at the depot"));
        assert!(!second.text.contains("Tracking number"), "{}", second.text);
        assert_ne!(second.message_id, email.message_id);
    }
}

#[tokio::test]
async fn replies_the_visitor_read_and_visitors_without_an_email_get_none() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let app = app_with_sink(Backend::Sqlite, &sink).await.unwrap();
    // No email known.
    let (anonymous, anonymous_session) = app.bare_ticket().await;
    // An email, but the visitor reads the reply before leaving.
    let ticket = app.simple_ticket().await;
    let reader = ticket["id"].as_i64().unwrap();
    let reader_session = ticket["session_id"].as_str().unwrap().to_owned();
    for (ticket_id, session) in [(anonymous, &anonymous_session), (reader, &reader_session)] {
        let mut visitor = app.user_socket(session, "").await;
        visitor.next_of("ready").await;
        let mut agent = app.supporter_socket(session, &app.admin_token, "").await;
        agent.next_of("ready").await;
        agent.say("Here is the answer", "a1").await;
        common::ws::until_key(&mut agent, "a1").await;
        if ticket_id == reader {
            let seen = loop {
                let frame = visitor.next_message().await;
                if frame["message"]["message"] == "Here is the answer" {
                    break frame;
                }
            };
            visitor
                .send(json!({"type": "read", "data": {"up_to_seq": seen["message"]["seq"]}}))
                .await;
            agent.next_of("read").await;
        }
        visitor.close().await;
        visitor_gone(&app, ticket_id).await;
        ten_minutes_pass(&app, ticket_id).await;
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(sink.received().is_empty(), "{:?}", sink.received());
    assert_eq!(outbox(&app, "").await["emails"], json!([]));
}

#[tokio::test]
async fn transcripts_hold_the_public_history_and_visitors_may_ask_three_times_an_hour() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = app_with_sink(backend, &sink).await else {
            continue;
        };
        let before = sink.received().len();
        let ticket = app.simple_ticket().await;
        let ticket_id = ticket["id"].as_i64().unwrap();
        let session = ticket["session_id"].as_str().unwrap().to_owned();
        let mut agent = app.supporter_socket(&session, &app.admin_token, "").await;
        agent.next_of("ready").await;
        agent.say("We are on it", "t1").await;
        common::ws::until_key(&mut agent, "t1").await;
        app.send_json(
            "POST",
            &format!("/api/support/tickets/{ticket_id}/notes"),
            Some(&app.admin_token),
            json!({"message": "internal: refund?"}),
        )
        .await;
        let guest_path = format!("/api/support/ticket/{session}/transcript");
        let agent_path = format!("/api/support/tickets/{ticket_id}/transcript");

        let (status, queued) = transcript(&app, &guest_path, None, json!({})).await;
        assert_eq!(status, 202, "{queued}");
        assert_eq!(queued["kind"], "transcript");
        assert_eq!(queued["to"], "john@example.com");
        assert_eq!(queued["ticket_id"], ticket_id);
        assert_eq!(queued["status"], "pending");
        let received = sink.wait_for(before + 1, Duration::from_secs(10)).await;
        let email = &received[before];
        assert_eq!(email.subject, "Transcript: Order not arrived");
        assert!(email.text.contains("John Doe · "), "{}", email.text);
        assert!(email.text.contains("Hello!"));
        assert!(email.text.contains("We are on it"));
        assert!(
            email.text.contains("Admin joined the chat"),
            "{}",
            email.text
        );
        assert!(!email.text.contains("refund") && !email.html.contains("refund"));

        // An agent sends one elsewhere; agents are not limited.
        for _ in 0..4 {
            let (status, queued) = transcript(
                &app,
                &agent_path,
                Some(&app.admin_token),
                json!({"email": "records@example.com"}),
            )
            .await;
            assert_eq!(status, 202, "{queued}");
            assert_eq!(queued["to"], "records@example.com");
        }
        let received = sink.wait_for(before + 5, Duration::from_secs(10)).await;
        assert!(received[before + 1].to.contains("records@example.com"));

        // Bad input, unknown tickets.
        let (status, err) =
            transcript(&app, &guest_path, None, json!({"email": "not-an-address"})).await;
        assert_eq!(
            (status, err["error"]["field"].as_str()),
            (400, Some("email")),
            "{err}"
        );
        let (status, err) =
            transcript(&app, &guest_path, None, json!({"to": "x@example.com"})).await;
        assert_eq!(status, 400, "{err}");
        let (_, anonymous) = app.bare_ticket().await;
        let (status, err) = transcript(
            &app,
            &format!("/api/support/ticket/{anonymous}/transcript"),
            None,
            json!({}),
        )
        .await;
        assert_eq!(
            (status, err["error"]["field"].as_str()),
            (400, Some("email")),
            "{err}"
        );
        let unknown = uuid::Uuid::new_v4();
        let status = visitor_asks_for_transcript(&app, &unknown.to_string()).await;
        assert_eq!(status, 404);
        let (status, _) = transcript(
            &app,
            "/api/support/tickets/999999/transcript",
            Some(&app.admin_token),
            json!({}),
        )
        .await;
        assert_eq!(status, 404);
        let (status, _) = transcript(&app, &agent_path, None, json!({})).await;
        assert_eq!(status, 401);

        // The visitor: three an hour.
        for _ in 0..2 {
            let (status, body) = transcript(
                &app,
                &guest_path,
                None,
                json!({"email": "john.doe@example.com"}),
            )
            .await;
            assert_eq!(status, 202, "{body}");
        }
        let (status, limited) = transcript(&app, &guest_path, None, json!({})).await;
        assert_eq!(
            (status, limited["error"]["code"].as_str()),
            (429, Some("rate_limited")),
            "{limited}"
        );
        assert!(limited["error"]["retry_after"].as_u64().unwrap() >= 1);

        // The outbox, newest first, filtered and paged; admins only.
        let all = outbox_until(&app, "every transcript sent", |b| {
            b["emails"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["status"] == "sent")
        })
        .await;
        assert_eq!(all["emails"].as_array().unwrap().len(), 7);
        assert_eq!(all["smtp_configured"], true);
        assert_eq!(all["next_before"], Value::Null);
        let page = outbox(&app, "?limit=3").await;
        assert_eq!(page["emails"].as_array().unwrap().len(), 3);
        let next = page["next_before"].as_i64().unwrap();
        assert_eq!(next, page["emails"][2]["id"].as_i64().unwrap());
        let rest = outbox(&app, &format!("?limit=10&before={next}")).await;
        assert_eq!(rest["emails"].as_array().unwrap().len(), 4);
        assert_eq!(outbox(&app, "?status=failed").await["emails"], json!([]));
        assert_eq!(
            outbox(&app, "?status=sent").await["emails"]
                .as_array()
                .unwrap()
                .len(),
            7
        );
        for bad in ["?status=lost", "?limit=0", "?limit=201", "?before=x"] {
            let (status, body) = app
                .get(&format!("/api/support/outbox{bad}"), Some(&app.admin_token))
                .await;
            assert_eq!(status, 400, "{bad}: {body}");
        }
        let (_, plain) = app
            .create_agent("plain@example.com", "Plain", "agent")
            .await;
        let (status, _) = app.get("/api/support/outbox", Some(&plain)).await;
        assert_eq!(status, 403);
        assert!(
            app.metric("livesupport_emails_sent_total{kind=\"transcript\"}")
                .await
                >= 7.0
        );
    }
}

#[tokio::test]
async fn resume_links_open_the_conversation_until_they_expire() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let url = sink.url();
    let app = spawn_app_with(Backend::Sqlite, move |config| {
        config.smtp_url = Some(Secret::new(&url));
        config.public_url = Some("https://support.shop.example".into());
        config.resume_link_ttl = "3s".into();
    })
    .await
    .unwrap();
    let ticket = app.simple_ticket().await;
    let session = ticket["session_id"].as_str().unwrap();
    let status = visitor_asks_for_transcript(&app, session).await;
    assert_eq!(status, 202);
    let email = sink.wait_for(1, Duration::from_secs(10)).await.remove(0);
    let token = resume_token(&email);
    let (status, resumed) = app
        .send_json("POST", "/api/support/resume", None, json!({"token": token}))
        .await;
    assert_eq!(status, 200, "{resumed}");
    assert_eq!(resumed["session_id"], session);

    let mut altered = token.clone().into_bytes();
    altered[3] = if altered[3] == b'0' { b'1' } else { b'0' };
    for (body, expected) in [
        (json!({"token": String::from_utf8(altered).unwrap()}), 404),
        (json!({"token": "nonsense"}), 404),
        (json!({}), 400),
        (json!({"token": ""}), 400),
    ] {
        let (status, answer) = app
            .send_json("POST", "/api/support/resume", None, body.clone())
            .await;
        assert_eq!(status, expected, "{body}: {answer}");
    }
    // Expiries count in whole seconds: past it for sure.
    tokio::time::sleep(Duration::from_millis(4100)).await;
    let (status, expired) = app
        .send_json("POST", "/api/support/resume", None, json!({"token": token}))
        .await;
    assert_eq!(
        (status, expired["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{expired}"
    );
}

#[tokio::test]
async fn without_smtp_emails_wait_in_the_outbox() {
    let app = spawn_app_with(Backend::Sqlite, |config| config.email_poll_seconds = 1)
        .await
        .unwrap();
    let ticket = app.simple_ticket().await;
    let session = ticket["session_id"].as_str().unwrap();
    let status = visitor_asks_for_transcript(&app, session).await;
    assert_eq!(status, 202);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let body = outbox(&app, "").await;
    assert_eq!(body["smtp_configured"], false);
    assert_eq!(body["emails"][0]["status"], "pending");
    assert_eq!(body["emails"][0]["attempts"], 0);
    assert!(app.metric("livesupport_emails_pending").await >= 1.0);
}

#[tokio::test]
async fn an_smtp_outage_keeps_the_email_pending_and_it_is_delivered_once_when_the_server_returns() {
    let Some(mut sink) = SmtpSink::start().await else {
        return;
    };
    let app = app_with_sink(Backend::Sqlite, &sink).await.unwrap();
    sink.stop();
    let ticket = app.simple_ticket().await;
    let session = ticket["session_id"].as_str().unwrap();
    let status = visitor_asks_for_transcript(&app, session).await;
    assert_eq!(status, 202);
    let failing = outbox_until(&app, "two failed attempts", |b| {
        b["emails"][0]["attempts"].as_i64() >= Some(2)
    })
    .await;
    let email = &failing["emails"][0];
    assert_eq!(email["status"], "pending", "{email}");
    assert!(
        email["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{email}"
    );
    assert!(email["next_attempt_at"].is_string());
    assert!(
        app.metric("livesupport_email_failures_total{kind=\"transcript\",permanent=\"false\"}")
            .await
            >= 2.0
    );

    sink.restart().await;
    let sent = outbox_until(&app, "sent once the server is back", |b| {
        b["emails"][0]["status"] == "sent"
    })
    .await;
    assert_eq!(sent["emails"][0]["last_error"], Value::Null);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let received = sink.received();
    assert_eq!(received.len(), 1, "delivered once: {received:?}");
}

#[tokio::test]
async fn a_refused_recipient_fails_the_email_at_once() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let app = app_with_sink(Backend::Sqlite, &sink).await.unwrap();
    let (ticket_id, _) = app.bare_ticket().await;
    let status = agent_sends_transcript(&app, ticket_id, "reject@example.com").await;
    assert_eq!(status, 202);
    let failed = outbox_until(&app, "the email failed", |b| {
        b["emails"][0]["status"] == "failed"
    })
    .await;
    assert_eq!(failed["emails"][0]["attempts"], 1);
    assert!(
        failed["emails"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("550"),
        "{failed}"
    );
    assert!(sink.received().is_empty());
}

/// Lease of the cluster tests: short, so another node takes over quickly.
const LEASE_SECONDS: u64 = 2;

#[tokio::test]
async fn a_node_killed_mid_send_leaves_the_email_to_another_node_with_the_same_message_id() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let url = sink.url();
    // Nodes look for work only when they queue an email themselves (the
    // first poll aside): which node holds which email is up to the test.
    let Some(mut nodes) = spawn_cluster(2, |_, config| {
        config.smtp_url = Some(Secret::new(&url));
        config.email_poll_seconds = 3600;
        config.email_lease_seconds = LEASE_SECONDS;
    })
    .await
    else {
        return;
    };
    let b = nodes.pop().unwrap();
    let a = nodes.pop().unwrap();
    let (first, _) = a.bare_ticket().await;
    sink.set_reply_delay(30.0);
    let status = agent_sends_transcript(&a, first, "ada@example.com").await;
    assert_eq!(status, 202);
    // The server has the email; node A never hears so.
    let copy = sink.wait_for(1, Duration::from_secs(10)).await.remove(0);
    a.kill();
    sink.set_reply_delay(0.0);

    // After the lease, B sends it again (woken by an email of its own).
    tokio::time::sleep(Duration::from_millis(LEASE_SECONDS * 1000 + 500)).await;
    let (second, _) = b.bare_ticket().await;
    let status = agent_sends_transcript(&b, second, "bob@example.com").await;
    assert_eq!(status, 202);
    let received = sink.wait_for(3, Duration::from_secs(15)).await;
    let resent: Vec<_> = received.iter().filter(|e| e.to.contains("ada@")).collect();
    assert_eq!(
        resent.len(),
        2,
        "sent before the kill and after: {received:?}"
    );
    assert!(
        resent
            .iter()
            .all(|e| e.message_id == copy.message_id && e.text == copy.text),
        "the retry is the same message: {resent:?}"
    );
    let ids: HashSet<_> = received.iter().map(|e| e.message_id.clone()).collect();
    assert_eq!(
        ids.len(),
        2,
        "two emails, one of them twice with its Message-ID"
    );
    let sent = outbox_until(&b, "both sent", |body| {
        body["emails"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] == "sent")
    })
    .await;
    let first_email = sent["emails"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["to"] == "ada@example.com")
        .unwrap();
    assert_eq!(first_email["attempts"], 2);
}

#[tokio::test]
async fn two_nodes_never_send_the_same_email() {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let url = sink.url();
    let Some(nodes) = spawn_cluster(2, |_, config| {
        config.smtp_url = Some(Secret::new(&url));
        config.email_poll_seconds = 1;
        config.email_lease_seconds = 30;
    })
    .await
    else {
        return;
    };
    const EMAILS: usize = 30;
    let (ticket_id, _) = nodes[0].bare_ticket().await;
    for n in 0..EMAILS {
        let node = &nodes[n % 2];
        let (status, body) = transcript(
            node,
            &format!("/api/support/tickets/{ticket_id}/transcript"),
            Some(&node.admin_token),
            json!({"email": format!("r{n}@example.com")}),
        )
        .await;
        assert_eq!(status, 202, "{body}");
    }
    sink.wait_for(EMAILS, Duration::from_secs(30)).await;
    // Time for a second copy to arrive, were there one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let received = sink.received();
    let ids: HashSet<_> = received.iter().map(|e| e.message_id.clone()).collect();
    assert_eq!(received.len(), EMAILS, "each email once");
    assert_eq!(ids.len(), EMAILS);
    let sent = outbox_until(&nodes[1], "all sent", |body| {
        body["emails"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] == "sent")
    })
    .await;
    assert!(
        sent["emails"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["attempts"] == 1),
        "{sent}"
    );
}

/// A certificate authority and a certificate for 127.0.0.1 it signed (PEM
/// files in `dir`: ca.pem, server.pem, server.key), made with `openssl`.
fn certificates(dir: &std::path::Path) {
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=livesupport test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
}

#[tokio::test]
async fn starttls_and_smtps_reach_a_server_the_ca_file_vouches_for_and_no_other() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let (cert, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    for (mode, scheme) in [
        ("starttls", "smtp://127.0.0.1:{}?tls=required"),
        ("smtps", "smtps://127.0.0.1:{}"),
    ] {
        let Some(sink) = SmtpSink::start_tls(mode, &cert, &key).await else {
            return;
        };
        let url = scheme.replace("{}", &sink.port.to_string());
        for trusted in [false, true] {
            let (url, ca) = (url.clone(), dir.path().join("ca.pem"));
            let app = spawn_app_with(Backend::Sqlite, move |config| {
                config.smtp_url = Some(Secret::new(&url));
                config.smtp_ca_file = trusted.then_some(ca);
                config.email_poll_seconds = 1;
            })
            .await
            .unwrap();
            let (ticket_id, _) = app.bare_ticket().await;
            assert_eq!(
                agent_sends_transcript(&app, ticket_id, "ada@example.com").await,
                202
            );
            if trusted {
                let sent = outbox_until(&app, "sent over TLS", |b| {
                    b["emails"][0]["status"] == "sent"
                })
                .await;
                assert_eq!(sent["emails"][0]["attempts"], 1, "{mode}");
                let received = sink.wait_for(1, Duration::from_secs(10)).await;
                assert_eq!(received.len(), 1, "{mode}");
                assert_eq!(received[0].json["tls"], true, "{mode}");
            } else {
                // A certificate nobody vouches for: refused, retried later, never sent in clear.
                let failing = outbox_until(&app, "refused", |b| {
                    b["emails"][0]["last_error"].is_string()
                })
                .await;
                let error = failing["emails"][0]["last_error"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                assert!(error.contains("certificate"), "{mode}: {error}");
                assert_eq!(failing["emails"][0]["status"], "pending");
                assert!(sink.received().is_empty(), "{mode}");
            }
        }
    }
}
