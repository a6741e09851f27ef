//! The routing run against a small in-memory stand-in for issue 16's server
//! side (the wire contract of docs/API.md, nothing else): an honest one, whose
//! run must come out clean, and one that ignores `max_chats`, whose run must
//! fail on the bound. The real node's run is in `against_server.rs`.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use clap::Parser;
use loadtest::Options;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, mpsc};

const ADMIN_EMAIL: &str = "admin@example.com";
const ADMIN_PASSWORD: &str = "admin-password-123";

struct MockAgent {
    id: i64,
    email: String,
    password: String,
    max_chats: u32,
    disabled: bool,
    feeds: usize,
    last_assigned: u64,
}

struct MockTicket {
    id: i64,
    session_id: String,
    status: &'static str,
    supporter_id: Option<i64>,
    updated: u64,
    visitors: Vec<mpsc::UnboundedSender<String>>,
}

#[derive(Default)]
struct World {
    agents: Vec<MockAgent>,
    tickets: Vec<MockTicket>,
    clock: u64,
    assignments: u64,
}

struct Mock {
    world: Mutex<World>,
    feed: broadcast::Sender<String>,
    /// The bug the run must catch: auto-assignment ignores `max_chats`.
    ignore_max_chats: bool,
}

type Shared = Arc<Mock>;

fn stamp(micros: u64) -> String {
    let (s, us) = (micros / 1_000_000, micros % 1_000_000);
    format!(
        "2026-12-06T{:02}:{:02}:{:02}.{us:06}Z",
        s / 3600 % 24,
        s / 60 % 60,
        s % 60
    )
}

impl World {
    fn open_chats(&self, agent: i64) -> u32 {
        self.tickets
            .iter()
            .filter(|t| {
                t.supporter_id == Some(agent) && matches!(t.status, "assigned" | "in_progress")
            })
            .count() as u32
    }

    fn agent_json(&self, a: &MockAgent) -> Value {
        let online = a.feeds > 0 && !a.disabled;
        json!({
            "id": a.id, "name": format!("Agent {}", a.id), "email": a.email,
            "role": if a.id == 1 { "admin" } else { "agent" }, "disabled": a.disabled,
            "status": if online { "online" } else { "offline" }, "online": online,
            "max_chats": a.max_chats, "open_chats": self.open_chats(a.id),
        })
    }

    fn ticket_json(&self, t: &MockTicket) -> Value {
        json!({
            "id": t.id, "session_id": t.session_id, "status": t.status,
            "supporter_id": t.supporter_id, "updated_at": stamp(t.updated),
            "subject": "s", "user_name": "u", "labels": [],
        })
    }

    fn touch(&mut self, index: usize) -> String {
        self.clock += 1;
        self.tickets[index].updated = self.clock;
        json!({ "type": "ticket_updated", "ticket": self.ticket_json(&self.tickets[index]) })
            .to_string()
    }

    fn queue_position(&self, index: usize) -> Option<usize> {
        let t = &self.tickets[index];
        (t.status == "open").then(|| {
            self.tickets[..index]
                .iter()
                .filter(|o| o.status == "open")
                .count()
                + 1
        })
    }
}

impl Mock {
    /// Gives waiting tickets, oldest first, to the online agent with the fewest
    /// open chats below `max_chats`, then tells every waiting visitor its place.
    fn assign(&self) {
        let mut w = self.world.lock().unwrap();
        while let Some(index) = w.tickets.iter().position(|t| t.status == "open") {
            let candidate = w
                .agents
                .iter()
                .filter(|a| a.feeds > 0 && !a.disabled && a.max_chats > 0)
                .filter(|a| self.ignore_max_chats || w.open_chats(a.id) < a.max_chats)
                .min_by_key(|a| (w.open_chats(a.id), a.last_assigned, a.id))
                .map(|a| a.id);
            let Some(agent) = candidate else { break };
            w.assignments += 1;
            let n = w.assignments;
            if let Some(a) = w.agents.iter_mut().find(|a| a.id == agent) {
                a.last_assigned = n;
            }
            w.tickets[index].status = "assigned";
            w.tickets[index].supporter_id = Some(agent);
            let updated = w.touch(index);
            let _ = self.feed.send(updated.clone());
            let joined = json!({
                "type": "supporter_joined",
                "message": { "seq": 1, "sender_type": "system", "message": "joined" },
                "data": { "supporter_id": agent, "supporter_name": format!("Agent {agent}") },
            })
            .to_string();
            for visitor in &w.tickets[index].visitors {
                let _ = visitor.send(joined.clone());
                let _ = visitor.send(updated.clone());
                let _ = visitor.send(
                    json!({"type":"queue","data":{"position":null,"agents_online":1}}).to_string(),
                );
            }
        }
        for index in 0..w.tickets.len() {
            if let Some(position) = w.queue_position(index) {
                let frame = json!({"type":"queue","data":{"position":position,"agents_online":1}})
                    .to_string();
                for visitor in &w.tickets[index].visitors {
                    let _ = visitor.send(frame.clone());
                }
            }
        }
    }

    fn set_status(&self, ticket_id: i64, status: &'static str) -> bool {
        let mut w = self.world.lock().unwrap();
        let Some(index) = w.tickets.iter().position(|t| t.id == ticket_id) else {
            return false;
        };
        if w.tickets[index].status == "closed" {
            return false;
        }
        w.tickets[index].status = status;
        let updated = w.touch(index);
        let _ = self.feed.send(updated.clone());
        for visitor in &w.tickets[index].visitors {
            let _ = visitor.send(updated.clone());
        }
        true
    }
}

fn caller(mock: &Mock, headers: &HeaderMap) -> Option<i64> {
    let token = headers.get("authorization")?.to_str().ok()?;
    let id: i64 = token.strip_prefix("Bearer mock-")?.parse().ok()?;
    let w = mock.world.lock().unwrap();
    w.agents
        .iter()
        .any(|a| a.id == id && !a.disabled)
        .then_some(id)
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error":{"code":"unauthorized","message":"no"}})),
    )
        .into_response()
}

async fn login(State(mock): State<Shared>, Json(body): Json<Value>) -> Response {
    let w = mock.world.lock().unwrap();
    match w
        .agents
        .iter()
        .find(|a| body["email"] == a.email.as_str() && body["password"] == a.password.as_str())
    {
        Some(a) => Json(json!({ "token": format!("mock-{}", a.id), "agent": w.agent_json(a) }))
            .into_response(),
        None => unauthorized(),
    }
}

async fn settings(State(mock): State<Shared>, headers: HeaderMap) -> Response {
    match caller(&mock, &headers) {
        Some(_) => Json(json!({"assignment":"auto","away_after_minutes":10})).into_response(),
        None => unauthorized(),
    }
}

async fn create_agent(
    State(mock): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if caller(&mock, &headers) != Some(1) {
        return unauthorized();
    }
    let mut w = mock.world.lock().unwrap();
    let id = w.agents.len() as i64 + 1;
    w.agents.push(MockAgent {
        id,
        email: body["email"].as_str().unwrap_or_default().to_owned(),
        password: body["password"].as_str().unwrap_or_default().to_owned(),
        max_chats: 3,
        disabled: false,
        feeds: 0,
        last_assigned: 0,
    });
    let agent = w.agent_json(&w.agents[id as usize - 1]);
    (StatusCode::CREATED, Json(agent)).into_response()
}

async fn patch_agent(
    State(mock): State<Shared>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if caller(&mock, &headers) != Some(1) {
        return unauthorized();
    }
    let agent = {
        let mut w = mock.world.lock().unwrap();
        let Some(a) = w.agents.iter_mut().find(|a| a.id == id) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        if let Some(max) = body["max_chats"].as_u64() {
            a.max_chats = max as u32;
        }
        if let Some(disabled) = body["disabled"].as_bool() {
            a.disabled = disabled;
        }
        let w = &*w;
        w.agent_json(w.agents.iter().find(|a| a.id == id).unwrap())
    };
    mock.assign();
    Json(agent).into_response()
}

async fn list_agents(State(mock): State<Shared>, headers: HeaderMap) -> Response {
    if caller(&mock, &headers).is_none() {
        return unauthorized();
    }
    let w = mock.world.lock().unwrap();
    let agents: Vec<Value> = w.agents.iter().map(|a| w.agent_json(a)).collect();
    Json(json!({ "agents": agents })).into_response()
}

async fn create_ticket(State(mock): State<Shared>) -> Response {
    let ticket = {
        let mut w = mock.world.lock().unwrap();
        let id = w.tickets.len() as i64 + 1;
        w.clock += 1;
        let updated = w.clock;
        w.tickets.push(MockTicket {
            id,
            session_id: format!("session-{id}"),
            status: "open",
            supporter_id: None,
            updated,
            visitors: Vec::new(),
        });
        let ticket = w.ticket_json(&w.tickets[id as usize - 1]);
        let _ = mock
            .feed
            .send(json!({"type":"ticket_created","ticket":ticket}).to_string());
        ticket
    };
    mock.assign();
    (StatusCode::CREATED, Json(ticket)).into_response()
}

async fn patch_ticket(
    State(mock): State<Shared>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if caller(&mock, &headers).is_none() {
        return unauthorized();
    }
    let status = match body["status"].as_str() {
        Some("resolved") => "resolved",
        Some("closed") => "closed",
        _ => return StatusCode::BAD_REQUEST.into_response(),
    };
    if !mock.set_status(id, status) {
        return StatusCode::CONFLICT.into_response();
    }
    mock.assign();
    Json(json!({})).into_response()
}

async fn close_ticket(State(mock): State<Shared>, Path(session): Path<String>) -> Response {
    let id = session
        .strip_prefix("session-")
        .and_then(|id| id.parse().ok())
        .unwrap_or(0);
    mock.set_status(id, "closed");
    mock.assign();
    Json(json!({})).into_response()
}

async fn open_feed(
    State(mock): State<Shared>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(agent) = caller(&mock, &headers) else {
        return unauthorized();
    };
    upgrade.on_upgrade(move |socket| serve_feed(mock, agent, socket))
}

async fn serve_feed(mock: Shared, agent: i64, mut socket: WebSocket) {
    let mut frames = mock.feed.subscribe();
    mock.world.lock().unwrap().agents[agent as usize - 1].feeds += 1;
    mock.assign();
    loop {
        tokio::select! {
            frame = frames.recv() => match frame {
                Ok(text) => if socket.send(Message::Text(text.into())).await.is_err() { break },
                Err(_) => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                _ => {}
            },
        }
    }
    mock.world.lock().unwrap().agents[agent as usize - 1].feeds -= 1;
}

async fn visitor(
    State(mock): State<Shared>,
    Path(session): Path<String>,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade.on_upgrade(move |socket| serve_ticket_socket(mock, session, None, socket))
}

async fn supporter(
    State(mock): State<Shared>,
    Path(session): Path<String>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(agent) = caller(&mock, &headers) else {
        return unauthorized();
    };
    upgrade.on_upgrade(move |socket| serve_ticket_socket(mock, session, Some(agent), socket))
}

async fn serve_ticket_socket(
    mock: Shared,
    session: String,
    agent: Option<i64>,
    mut socket: WebSocket,
) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (ready, index) = {
        let mut w = mock.world.lock().unwrap();
        let Some(index) = w.tickets.iter().position(|t| t.session_id == session) else {
            return;
        };
        if agent.is_none() {
            w.tickets[index].visitors.push(tx);
        }
        let ready = json!({"type":"ready","data":{
            "ticket": w.ticket_json(&w.tickets[index]), "last_seq": 0, "replayed": 0,
            "queue_position": w.queue_position(index),
        }});
        (ready.to_string(), index)
    };
    if socket.send(Message::Text(ready.into())).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            Some(text) = rx.recv() => {
                if socket.send(Message::Text(text.into())).await.is_err() { break }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let frame: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    if frame["type"] == "message" {
                        let own = json!({"type":"message","message":{
                            "seq": 2, "sender_type": "supporter",
                            "client_msg_id": frame["client_msg_id"],
                        }});
                        let _ = socket.send(Message::Text(own.to_string().into())).await;
                        let id = mock.world.lock().unwrap().tickets[index].id;
                        mock.set_status(id, "in_progress");
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                _ => {}
            },
        }
    }
}

async fn start(ignore_max_chats: bool) -> (String, Shared) {
    let (feed, _) = broadcast::channel(100_000);
    let mock = Arc::new(Mock {
        world: Mutex::new(World::default()),
        feed,
        ignore_max_chats,
    });
    mock.world.lock().unwrap().agents.push(MockAgent {
        id: 1,
        email: ADMIN_EMAIL.into(),
        password: ADMIN_PASSWORD.into(),
        max_chats: 0,
        disabled: false,
        feeds: 0,
        last_assigned: 0,
    });
    let app = Router::new()
        .route("/api/support/auth/login", post(login))
        .route("/api/support/settings", get(settings).put(settings))
        .route("/api/support/agents", get(list_agents).post(create_agent))
        .route("/api/support/agents/{id}", patch(patch_agent))
        .route("/api/support/ticket", post(create_ticket))
        .route("/api/support/ticket/{session}/close", post(close_ticket))
        .route("/api/support/tickets/{id}", patch(patch_ticket))
        .route("/ws/support/agent", get(open_feed))
        .route("/ws/support/user/{session}", get(visitor))
        .route("/ws/support/supporter/{session}", get(supporter))
        .with_state(mock.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, mock)
}

fn options(url: &str, rate: &str, hold: &str) -> Options {
    Options::parse_from([
        "loadtest",
        "--url",
        url,
        "--agent-email",
        ADMIN_EMAIL,
        "--agent-password",
        ADMIN_PASSWORD,
        "--routing",
        "--agents",
        "3",
        "--max-chats",
        "2",
        "--visitor-rate",
        rate,
        "--hold",
        hold,
        "--duration",
        "3",
        "--arrivals",
        "poisson",
        "--json",
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_honest_server_passes_with_every_visitor_assigned_within_the_bound() {
    let (url, mock) = start(false).await;
    // About 10 visitors a second held 1 s: more than the 6 places, so some
    // wait in the queue and every agent reaches its bound.
    let outcome = loadtest::run(&options(&url, "10", "1"))
        .await
        .expect("the run completes");
    eprintln!("{}", outcome.report.to_json());
    let routing = outcome.report.routing.as_ref().expect("a routing section");
    assert!(routing.visitors > 10, "{outcome:?}");
    assert_eq!(routing.assigned, routing.visitors, "{outcome:?}");
    assert_eq!(routing.max_concurrent.len(), 3);
    assert!(
        routing.max_concurrent.values().all(|&n| n <= 2),
        "{outcome:?}"
    );
    assert!(
        routing.max_concurrent.values().any(|&n| n == 2),
        "{outcome:?}"
    );
    assert!(
        routing.max_open_chats.values().all(|&n| n <= 2),
        "{outcome:?}"
    );
    assert!(
        routing.queued_visitors > 0 && routing.queue_frames > 0,
        "{outcome:?}"
    );
    assert!(routing.handled > 0, "{outcome:?}");
    assert_eq!(outcome.report.errors, 0, "{outcome:?}");
    assert!(outcome.report.is_clean(), "{outcome:?}");
    assert!(outcome.details.acknowledged > 0, "agents replied");
    // The run cleaned up: its agents disabled, its tickets closed.
    let w = mock.world.lock().unwrap();
    assert!(w.agents[1..].iter().all(|a| a.disabled));
    assert!(w.tickets.iter().all(|t| t.status == "closed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_ignores_max_chats_fails_the_run() {
    let (url, _mock) = start(true).await;
    let outcome = loadtest::run(&options(&url, "10", "2"))
        .await
        .expect("the run completes");
    eprintln!("{}", outcome.report.to_json());
    let routing = outcome.report.routing.as_ref().expect("a routing section");
    assert!(routing.over_capacity > 0, "{outcome:?}");
    assert!(
        routing.max_concurrent.values().any(|&n| n > 2),
        "{outcome:?}"
    );
    assert!(
        routing.max_open_chats.values().any(|&n| n > 2),
        "{outcome:?}"
    );
    assert!(!outcome.report.is_clean());
    let table = loadtest::output::table(&outcome);
    assert!(table.contains("FAILED"), "{table}");
}
