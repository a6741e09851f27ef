//! What operators rely on: metrics after real traffic, readiness while draining,
//! SIGTERM handling of the real binary, and logs that keep secrets out.

mod common;

use common::ws::{Ended, connect};
use common::{ADMIN_EMAIL, ADMIN_PASSWORD, spawn_app};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_node_that_served_a_chat_exposes_its_metrics() {
    let app = spawn_app().await;
    let ticket = app.simple_ticket().await;
    let session = ticket["session_id"].as_str().unwrap();
    let (_, token) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let mut user = app.user_socket(session, "").await;
    let mut supporter = app.supporter_socket(session, &token, "").await;
    supporter.next_of("supporter_joined").await;
    user.say("Where is my order?", "u1").await;
    supporter.next_of("message").await;
    supporter.say("On its way", "s1").await;
    user.next_of("message").await;

    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    for expected in [
        "livesupport_connections_open{role=\"user\"}",
        "livesupport_connections_open{role=\"supporter\"}",
        "livesupport_messages_stored_total{sender_type=\"user\"}",
        "livesupport_messages_stored_total{sender_type=\"system\"}",
        "livesupport_frames_delivered_total{type=\"message\"}",
        "livesupport_delivery_latency_seconds_bucket{le=\"0.05\"}",
        "livesupport_delivery_latency_seconds_count",
        "livesupport_store_operation_duration_seconds_bucket{operation=\"append_message\"",
        "livesupport_broker_operation_duration_seconds_bucket{operation=\"publish\"",
        "livesupport_http_requests_total{method=\"POST\",route=\"/api/support/ticket\",status=\"201\"}",
        "livesupport_http_request_duration_seconds_bucket{method=\"GET\",route=\"/ws/support/user/{session_id}\"",
        "livesupport_build_info{version=",
    ] {
        assert!(text.contains(expected), "metrics lack {expected}");
    }
    let delivered = text
        .lines()
        .find(|l| l.starts_with("livesupport_delivery_latency_seconds_count"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap();
    assert!(
        delivered >= 2.0,
        "two chat messages were delivered live: {delivered}"
    );
    assert!(!text.contains(session), "no session id in metrics");
    let ticket_label = format!("ticket:{}", ticket["id"]);
    assert!(!text.contains(&ticket_label));
}

#[tokio::test]
async fn a_draining_node_is_not_ready_and_takes_no_new_sockets() {
    let app = spawn_app().await;
    let ticket = app.simple_ticket().await;
    let session = ticket["session_id"].as_str().unwrap();
    assert_eq!(app.get("/readyz", None).await.0, 200);
    app.state.draining.store(true, Ordering::Relaxed);
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    let refused = connect(&app.ws_url(&format!("/ws/support/user/{session}")), &[])
        .await
        .err();
    assert_eq!(refused, Some(503));
    assert_eq!(
        app.get("/healthz", None).await.0,
        200,
        "still alive while draining"
    );
}

/// The real binary, started on a free port with a temp SQLite file.
struct Process {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
    stderr: std::thread::JoinHandle<String>,
}

fn start_binary(extra_env: &[(&str, &str)]) -> Process {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_livesupport"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORT", "0")
        .env("BIND", "127.0.0.1")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/ops.db", dir.path().display()),
        )
        .env("ADMIN_EMAIL", ADMIN_EMAIL)
        .env("ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("DRAIN_WINDOW_SECONDS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("the binary starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let port = loop {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "the binary exited before serving"
        );
        if let Some(rest) = line.trim().strip_prefix("livesupport is serving on port ") {
            break rest.parse().unwrap();
        }
    };
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });
    Process {
        child,
        port,
        _dir: dir,
        stderr,
    }
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_exit(child: &mut Child, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "clean exit after SIGTERM: {status}");
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "still running after {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn chat_through(port: u16) -> (String, String, common::ws::WsClient) {
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let ticket: Value = client
        .post(format!("{base}/api/support/ticket"))
        .json(&json!({"user_name": "Ops Test", "subject": "Drain", "message": "first words here"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let session = ticket["session_id"].as_str().unwrap().to_owned();
    let login: Value = client
        .post(format!("{base}/api/support/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let mut user = connect(
        &format!("ws://127.0.0.1:{port}/ws/support/user/{session}"),
        &[],
    )
    .await
    .unwrap();
    user.next_of("ready").await;
    user.say("a very private sentence", "k1").await;
    user.next_of("message").await;
    (session, token, user)
}

#[tokio::test]
async fn sigterm_closes_live_sockets_with_1012_and_the_process_exits_in_time() {
    let mut process = start_binary(&[]);
    let (_, _, mut user) = chat_through(process.port).await;
    sigterm(&process.child);
    assert_eq!(
        user.ended(Duration::from_secs(10)).await,
        Ended::Closed(1012)
    );
    let took = wait_exit(&mut process.child, Duration::from_secs(30));
    assert!(took < Duration::from_secs(30));
}

#[tokio::test]
async fn logs_hold_no_message_text_session_id_token_or_password() {
    let mut process = start_binary(&[("LOG_FORMAT", "json"), ("RUST_LOG", "debug")]);
    let (session, token, user) = chat_through(process.port).await;
    user.close().await;
    sigterm(&process.child);
    wait_exit(&mut process.child, Duration::from_secs(30));
    let logs = process.stderr.join().unwrap();
    assert!(
        logs.contains("\"message\":\"listening\""),
        "JSON logs were written"
    );
    let upgrade = logs
        .lines()
        .find(|l| l.contains("/ws/support/user/{session_id}") && l.contains("\"ticket_id\""))
        .expect("a request about a ticket is logged in a span naming the ticket");
    assert!(upgrade.contains("\"node_id\""), "{upgrade}");
    assert!(
        logs.lines()
            .any(|l| l.contains("\"name\":\"socket\"") && l.contains("\"ticket_id\"")),
        "socket spans name the ticket"
    );
    for secret in [
        session.as_str(),
        token.as_str(),
        ADMIN_PASSWORD,
        "a very private sentence",
        "first words here",
    ] {
        assert!(!logs.contains(secret), "the logs contain {secret:?}");
    }
}

#[tokio::test]
async fn a_request_in_flight_at_sigterm_is_answered_before_the_process_exits() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut process = start_binary(&[]);
    let body = r#"{"user_name":"Ops Test","subject":"Drain"}"#;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", process.port))
        .await
        .unwrap();
    // The headers are in: the request is in flight, waiting for its body.
    let head = format!(
        "POST /api/support/ticket HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    sigterm(&process.child);
    tokio::time::sleep(Duration::from_millis(500)).await;
    stream.write_all(body.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response);
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "the request in flight is answered: {response:?}"
    );
    wait_exit(&mut process.child, Duration::from_secs(30));
}
