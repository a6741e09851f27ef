//! Webhooks (issue 19) delivered by real nodes to a real HTTP receiver started
//! here: signatures, order per ticket, notes only where asked, a receiver that
//! fails then answers, one that hangs, a node restart with deliveries pending,
//! and the checks on registration (private addresses, events, the limit).

mod common;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::{Backend, TestApp, spawn_app_with};
use hmac::{Hmac, Mac};
use livesupport::config::{Config, Secret};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the receiver does with the next request.
#[derive(Clone, Copy)]
enum Answer {
    Status(u16),
    Hang,
}

#[derive(Clone)]
struct Received {
    headers: HeaderMap,
    body: String,
    /// The status it was answered with (none: it hung).
    answered: Option<u16>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a delivery's body is JSON")
    }
}

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    plan: Arc<Mutex<VecDeque<Answer>>>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let answer = receiver
        .plan
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(Answer::Status(200));
    let body = String::from_utf8(body.to_vec()).unwrap();
    let answered = match answer {
        Answer::Status(code) => Some(code),
        Answer::Hang => None,
    };
    receiver.got.lock().unwrap().push(Received {
        headers,
        body,
        answered,
    });
    match answer {
        Answer::Status(code) => StatusCode::from_u16(code).unwrap(),
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK
        }
    }
}

impl Receiver {
    /// Listens on a port of its own; answers by `plan`, then 200.
    async fn start(plan: &[Answer]) -> (Receiver, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Receiver::serve(listener, plan)
    }

    /// Answers on `listener` by `plan`, then 200; its URL.
    fn serve(listener: tokio::net::TcpListener, plan: &[Answer]) -> (Receiver, String) {
        let receiver = Receiver::default();
        receiver.plan.lock().unwrap().extend(plan.iter().copied());
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(receiver.clone());
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, url)
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// The requests it answered 2xx, once one of type `last` came (30 s at most).
    async fn delivered_until(&self, last: &str) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let ok: Vec<Received> = self
                .got()
                .into_iter()
                .filter(|r| r.answered.is_some_and(|c| (200..300).contains(&c)))
                .collect();
            if ok.iter().any(|r| r.json()["type"] == last) {
                return ok;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {last} among {} deliveries",
                ok.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The requests it answered 2xx, once `count` of them came (30 s at most).
    async fn delivered(&self, count: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let ok: Vec<Received> = self
                .got()
                .into_iter()
                .filter(|r| r.answered.is_some_and(|c| (200..300).contains(&c)))
                .collect();
            if ok.len() >= count {
                return ok;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} of {count} deliveries arrived",
                ok.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn fast(config: &mut Config) {
    config.webhook_allow_private = true;
    config.webhook_poll_seconds = 1;
    config.webhook_retry_base_seconds = 1;
    config.webhook_timeout_seconds = 1;
}

async fn app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, fast).await
}

async fn register(app: &TestApp, url: &str, events: &[&str]) -> Value {
    let (status, body) = app
        .send_json(
            "POST",
            "/api/support/webhooks",
            Some(&app.admin_token),
            json!({"url": url, "events": events}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body
}

fn verifies(secret: &str, received: &Received) -> bool {
    let header = received.headers["x-livesupport-signature"]
        .to_str()
        .unwrap();
    let (t, v1) = header.split_once(',').unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let v1 = v1.strip_prefix("v1=").unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", received.body).as_bytes());
    hex::encode(mac.finalize().into_bytes()) == v1
}

fn types(received: &[Received]) -> Vec<String> {
    received
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect()
}

async fn deliveries(app: &TestApp, webhook_id: i64) -> Vec<Value> {
    let (status, body) = app
        .get(
            &format!("/api/support/webhooks/{webhook_id}/deliveries?limit=200"),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["deliveries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn events_arrive_signed_in_order_and_notes_only_where_asked() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = app(backend).await else {
            continue;
        };
        let (everything, everything_url) = Receiver::start(&[]).await;
        let (public, public_url) = Receiver::start(&[]).await;
        let all = register(
            &app,
            &everything_url,
            &[
                "ticket.created",
                "ticket.updated",
                "message.created",
                "note.created",
                "rating.created",
            ],
        )
        .await;
        let secret = all["secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("whsec_"));
        register(&app, &public_url, &["message.created", "ticket.created"]).await;

        let ticket = app.simple_ticket().await;
        let (id, session) = (
            ticket["id"].as_i64().unwrap(),
            ticket["session_id"].as_str().unwrap().to_owned(),
        );
        let admin = app.admin_token.clone();
        let (status, _) = app
            .send_json(
                "POST",
                &format!("/api/support/tickets/{id}/assign"),
                Some(&admin),
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
        let (status, _) = app
            .send_json(
                "POST",
                &format!("/api/support/tickets/{id}/notes"),
                Some(&admin),
                json!({"message": "secret note"}),
            )
            .await;
        assert_eq!(status, 201);
        // A visitor's line over the socket: the PostgreSQL appender's path.
        let mut visitor = app.user_socket(&session, "").await;
        visitor.say("Any news?", "v-1").await;
        let (_, stored) = visitor
            .frames_until(tokio::time::Instant::now() + Duration::from_secs(10), |f| {
                f["message"]["client_msg_id"] == "v-1"
            })
            .await;
        assert!(stored);
        let (status, _) = app
            .send_json(
                "PATCH",
                &format!("/api/support/tickets/{id}"),
                Some(&admin),
                json!({"status": "resolved"}),
            )
            .await;
        assert_eq!(status, 200);
        let (status, _) = app
            .send_json(
                "POST",
                &format!("/api/support/ticket/{session}/rating"),
                None,
                json!({"score": 4}),
            )
            .await;
        assert_eq!(status, 201);

        // Everything up to the rating, the last event, in the order it happened.
        let got = everything.delivered_until("rating.created").await;
        for received in &got {
            assert!(
                verifies(&secret, received),
                "signature of {}",
                received.body
            );
            let body = received.json();
            assert_eq!(
                received.headers["x-livesupport-event"],
                body["type"].as_str().unwrap()
            );
            assert_eq!(
                received.headers["x-livesupport-delivery"],
                body["id"].as_str().unwrap()
            );
        }
        let bodies: Vec<Value> = got.iter().map(Received::json).collect();
        let changes: Vec<&Value> = bodies
            .iter()
            .filter(|b| b["type"] != "message.created")
            .collect();
        let kinds: Vec<&str> = changes
            .iter()
            .map(|b| b["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "ticket.created",
                "ticket.updated",
                "note.created",
                "ticket.updated",
                "rating.created"
            ],
            "{backend:?}"
        );
        assert_eq!(changes[0]["data"]["ticket"]["id"], id);
        assert_eq!(
            changes[1]["data"]["changes"]["status"],
            json!({"from": "open", "to": "assigned"})
        );
        assert_eq!(changes[2]["data"]["message"]["message"], "secret note");
        assert_eq!(changes[2]["data"]["message"]["visibility"], "internal");
        assert_eq!(
            changes[3]["data"]["changes"]["status"],
            json!({"from": "assigned", "to": "resolved"})
        );
        assert_eq!(changes[4]["data"]["rating"]["score"], 4);
        // The public messages, in their order among the rest: the first
        // message right after ticket.created, the visitor's line after the note.
        let texts: Vec<&str> = bodies
            .iter()
            .filter(|b| b["type"] == "message.created")
            .map(|b| b["data"]["message"]["message"].as_str().unwrap())
            .collect();
        assert_eq!(texts.first(), Some(&"Hello!"));
        assert_eq!(bodies[1]["data"]["message"]["message"], "Hello!");
        let note_at = bodies
            .iter()
            .position(|b| b["type"] == "note.created")
            .unwrap();
        let line_at = bodies
            .iter()
            .position(|b| b["data"]["message"]["message"] == "Any news?")
            .unwrap();
        assert!(note_at < line_at);
        let ids: Vec<i64> = bodies
            .iter()
            .filter_map(|b| b["data"]["message"]["seq"].as_i64())
            .collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "messages in seq order: {ids:?}"
        );

        // The other webhook: the public events only, never the note's text.
        let public_got = public.delivered(texts.len() + 1).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let public_got_all = public.got();
        assert_eq!(
            public_got_all.len(),
            public_got.len(),
            "nothing else arrives"
        );
        assert!(
            types(&public_got_all)
                .iter()
                .all(|t| t == "message.created" || t == "ticket.created")
        );
        assert!(
            public_got_all
                .iter()
                .all(|r| !r.body.contains("secret note"))
        );

        // The log: each delivered once, with its status.
        let log = deliveries(&app, all["id"].as_i64().unwrap()).await;
        assert_eq!(log.len(), got.len());
        assert!(log.iter().all(|d| d["status"] == "delivered"
            && d["attempts"] == 1
            && d["last_status_code"] == 200));
    }
}

#[tokio::test]
async fn a_failing_receiver_is_retried_and_each_event_delivered_once_in_order() {
    let app = app(Backend::Sqlite).await.unwrap();
    let (receiver, url) = Receiver::start(&[Answer::Status(500), Answer::Status(503)]).await;
    let hook = register(&app, &url, &["message.created", "note.created"]).await;
    let ticket = app.simple_ticket().await;
    let id = ticket["id"].as_i64().unwrap();
    for n in 1..=3 {
        let (status, _) = app
            .send_json(
                "POST",
                &format!("/api/support/tickets/{id}/notes"),
                Some(&app.admin_token),
                json!({"message": format!("note {n}")}),
            )
            .await;
        assert_eq!(status, 201);
    }
    let delivered = receiver.delivered(4).await;
    let texts: Vec<String> = delivered
        .iter()
        .map(|r| {
            r.json()["data"]["message"]["message"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        texts,
        ["Hello!", "note 1", "note 2", "note 3"],
        "in order, each once"
    );
    // The first event was tried three times, and nothing overtook it.
    let all = receiver.got();
    assert_eq!(all.len(), 6);
    assert!(
        all[..3]
            .iter()
            .all(|r| r.json()["data"]["message"]["message"] == "Hello!")
    );
    let log = deliveries(&app, hook["id"].as_i64().unwrap()).await;
    let first = log.last().unwrap();
    assert_eq!(
        (first["attempts"].as_i64(), first["status"].as_str()),
        (Some(3), Some("delivered"))
    );
    assert_eq!(first["last_status_code"], 200);
}

#[tokio::test]
async fn a_receiver_that_hangs_times_out_while_chat_goes_on() {
    let app = app(Backend::Sqlite).await.unwrap();
    let (receiver, url) = Receiver::start(&[Answer::Hang]).await;
    let hook = register(&app, &url, &["message.created"]).await;
    let ticket = app.simple_ticket().await;
    let session = ticket["session_id"].as_str().unwrap();
    // While the receiver holds the first delivery, the conversation goes on:
    // each message is stored and acknowledged.
    let mut visitor = app.user_socket(session, "").await;
    for n in 0..5 {
        visitor.say(&format!("line {n}"), &format!("c-{n}")).await;
    }
    let (frames, done) = visitor
        .frames_until(tokio::time::Instant::now() + Duration::from_secs(10), |f| {
            f["message"]["client_msg_id"] == "c-4"
        })
        .await;
    assert!(done, "the visitor's lines are acknowledged: {frames:?}");
    // The hung attempt timed out and was retried; then everything arrived.
    let delivered = receiver.delivered(6).await;
    assert_eq!(delivered[0].json()["data"]["message"]["message"], "Hello!");
    let log = deliveries(&app, hook["id"].as_i64().unwrap()).await;
    let first = log.last().unwrap();
    assert_eq!(first["attempts"], 2);
    assert_eq!(first["status"], "delivered");
}

#[tokio::test]
async fn deliveries_pending_when_a_node_stops_are_sent_by_the_next_one() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some((database_url, _dir)) = common::database(backend).await else {
            continue;
        };
        let on_database = |url: String| {
            move |config: &mut Config| {
                fast(config);
                config.database_url = Some(Secret::new(&url));
            }
        };
        let first = spawn_app_with(backend, on_database(database_url.clone()))
            .await
            .unwrap();
        // Nobody listens there yet: every attempt is refused.
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let url = format!("http://127.0.0.1:{port}/hook");
        let hook = register(&first, &url, &["ticket.created", "message.created"]).await;
        let hook_id = hook["id"].as_i64().unwrap();
        first.simple_ticket().await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while deliveries(&first, hook_id)
            .await
            .iter()
            .all(|d| d["attempts"] == 0)
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no attempt was made"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let log = deliveries(&first, hook_id).await;
        assert!(log.iter().all(|d| d["status"] == "pending"), "{log:?}");
        assert!(
            log.iter()
                .any(|d| d["last_error"].as_str().is_some_and(|e| !e.is_empty()))
        );
        first.stop().await;

        // The receiver comes up, and a new node on the same database sends.
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let (receiver, _) = Receiver::serve(listener, &[]);
        let second = spawn_app_with(backend, on_database(database_url.clone()))
            .await
            .unwrap();
        let got = receiver.delivered(2).await;
        assert_eq!(
            types(&got),
            ["ticket.created", "message.created"],
            "{backend:?}"
        );
        // The receiver has the requests; the sender records each answer
        // right after it, so the log catches up within moments.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let log = deliveries(&second, hook_id).await;
            if log.iter().all(|d| d["status"] == "delivered") {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{log:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        second.stop().await;
    }
}

#[tokio::test]
async fn registration_refuses_private_addresses_bad_events_and_plain_agents() {
    let strict = spawn_app_with(Backend::Sqlite, |_| {}).await.unwrap();
    let admin = strict.admin_token.clone();
    for (body, field) in [
        (
            json!({"url": "http://127.0.0.1:8080/hook", "events": ["message.created"]}),
            "url",
        ),
        (
            json!({"url": "http://localhost/hook", "events": ["message.created"]}),
            "url",
        ),
        (
            json!({"url": "http://169.254.169.254/latest", "events": ["message.created"]}),
            "url",
        ),
        (
            json!({"url": "http://[::1]/hook", "events": ["message.created"]}),
            "url",
        ),
        (
            json!({"url": "ftp://example.com/hook", "events": ["message.created"]}),
            "url",
        ),
        (json!({"events": ["message.created"]}), "url"),
        (
            json!({"url": "https://93.184.216.34/hook", "events": ["message.deleted"]}),
            "events",
        ),
        (
            json!({"url": "https://93.184.216.34/hook", "events": []}),
            "events",
        ),
    ] {
        let (status, answer) = strict
            .send_json("POST", "/api/support/webhooks", Some(&admin), body.clone())
            .await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}");
    }
    let (status, answer) = strict
        .send_json(
            "POST",
            "/api/support/webhooks",
            Some(&admin),
            json!({"url": "http://10.0.0.7/x", "events": ["ticket.created"]}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("private addresses are not allowed")
    );
    let (_, agent) = strict
        .create_agent("plain@example.com", "Plain", "agent")
        .await;
    let (status, _) = strict.get("/api/support/webhooks", Some(&agent)).await;
    assert_eq!(status, 403);
    let (status, _) = strict
        .send_json(
            "POST",
            "/api/support/webhooks",
            Some(&agent),
            json!({"url": "https://93.184.216.34/", "events": ["ticket.created"]}),
        )
        .await;
    assert_eq!(status, 403);

    // Allowed, up to twenty; listed without secrets; deleted with their log.
    let open = app(Backend::Sqlite).await.unwrap();
    let admin = open.admin_token.clone();
    let mut ids = Vec::new();
    for n in 0..20 {
        let hook = register(
            &open,
            &format!("http://127.0.0.1:9/{n}"),
            &["ticket.created", "ticket.created"],
        )
        .await;
        assert_eq!(
            hook["events"],
            json!(["ticket.created"]),
            "duplicates dropped"
        );
        ids.push(hook["id"].as_i64().unwrap());
    }
    let (status, answer) = open
        .send_json(
            "POST",
            "/api/support/webhooks",
            Some(&admin),
            json!({"url": "http://127.0.0.1:9/x", "events": ["ticket.created"]}),
        )
        .await;
    assert_eq!(status, 409, "{answer}");
    let (status, list) = open.get("/api/support/webhooks", Some(&admin)).await;
    assert_eq!(status, 200);
    assert_eq!(list["webhooks"].as_array().unwrap().len(), 20);
    assert!(
        list["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w.get("secret").is_none())
    );
    let path = format!("/api/support/webhooks/{}", ids[0]);
    let response = open
        .client
        .delete(open.url(&path))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let response = open
        .client
        .delete(open.url(&path))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let (status, _) = open.get(&format!("{path}/deliveries"), Some(&admin)).await;
    assert_eq!(status, 404);
    let (status, answer) = open
        .get(
            &format!("/api/support/webhooks/{}/deliveries?limit=0", ids[1]),
            Some(&admin),
        )
        .await;
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (400, Some("limit"))
    );
}
