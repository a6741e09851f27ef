//! Test harness: starts the real application on port 0 with its own fresh
//! database (a temp SQLite file, or a new PostgreSQL schema), and offers a
//! logged-in admin. Tracing output is hidden unless `TEST_LOG=1`.
//!
//! PostgreSQL suites run when `LIVESUPPORT_TEST_POSTGRES_URL` names a server
//! (e.g. `postgres://postgres@127.0.0.1:5432/test`); without it they skip with a
//! loud notice, unless `LIVESUPPORT_REQUIRE_POSTGRES=1` (CI), where that fails.
//! The Redis suites likewise need `LIVESUPPORT_TEST_REDIS_URL` (e.g.
//! `redis://127.0.0.1:6379`), required by `LIVESUPPORT_REQUIRE_REDIS=1`.
//!
//! [`spawn_cluster`] starts several nodes on one PostgreSQL schema and one Redis,
//! each on a runtime of its own, so that [`TestApp::kill`] can end a node the way
//! SIGKILL does: every task, socket and connection of it gone at once.
//! [`spawn_faulty_cluster`] puts a [`FaultProxy`] between each node and each of
//! its dependencies, so that one node's link can be cut, frozen or slowed;
//! [`PrivateRedis`] is a `redis-server` of the test's own, to kill or freeze.
//!
//! [`s3::MotoServer`] is an S3 API of the test's own (`moto_server`); without it
//! the S3 cases skip with a notice, unless `LIVESUPPORT_REQUIRE_S3=1`.
#![allow(dead_code)]

pub mod faults;
pub mod s3;
pub mod smtp;
pub mod ws;

// Each suite compiles the harness on its own and uses a part of it.
#[allow(unused_imports)]
pub use faults::{FaultyCluster, NodeLinks, PrivateRedis, spawn_faulty_cluster};

pub use faultproxy::FaultProxy;

pub mod postgres_schema;
use livesupport::config::Secret;
use livesupport::domain::{AssignmentMode, Settings};
use livesupport::{Application, Config};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Once};
use std::time::Duration;
use tempfile::TempDir;
use tokio::task::JoinHandle;

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "admin-password-123";
/// The token secret of every test node.
pub const TOKEN_SECRET: &str = "test-token-secret-that-is-32-chars-long";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The last seq of a ticket's visitor stream and of its agents' stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastSeqs {
    pub visitor: i64,
    pub agent: i64,
}

pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    pub port: u16,
    /// The port of `/metrics`'s own listener, when the node has one (`METRICS_BIND`).
    pub metrics_port: Option<u16>,
    pub client: reqwest::Client,
    /// Bearer token of the admin agent.
    pub admin_token: String,
    pub state: livesupport::http::AppState,
    /// The node's database as the test reaches it directly (around any fault
    /// proxy of [`spawn_faulty_cluster`]).
    pub database_url: String,
    server: JoinHandle<()>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: Option<TempDir>,
    /// The folder of the node's attachment storage (shared by a cluster's nodes).
    pub files: Arc<TempDir>,
    /// The node's own runtime (cluster nodes): shutting it down kills the node.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // A cluster node just dies: a graceful drain would outlive the test.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.server.abort();
    }
}

pub fn init_logging() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var("TEST_LOG").is_ok_and(|v| v == "1") {
            livesupport::telemetry::init(
                Some(livesupport::config::LogFormat::Pretty),
                "info,livesupport=debug",
            );
        }
    });
}

/// The `STORAGE_URL` of a folder: a test's attachments never land in the repository.
pub fn storage_url_of(dir: &TempDir) -> String {
    format!("file://{}", dir.path().display())
}

/// A fresh SQLite file in a temp directory.
pub fn sqlite_database() -> (String, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/test.db", dir.path().display());
    (url, dir)
}

/// A URL to a fresh, empty PostgreSQL schema, or `None` (with a notice) when the
/// PostgreSQL suites are not configured here.
pub async fn postgres_database() -> Option<String> {
    let base = postgres_base()?;
    let schema = fresh_schema(&base).await;
    Some(schema_url(&base, &schema))
}

/// `LIVESUPPORT_TEST_POSTGRES_URL`, or `None` (with a notice) when it is unset.
fn postgres_base() -> Option<String> {
    match std::env::var("LIVESUPPORT_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if require("LIVESUPPORT_REQUIRE_POSTGRES") {
                panic!(
                    "LIVESUPPORT_REQUIRE_POSTGRES=1 but LIVESUPPORT_TEST_POSTGRES_URL is not set"
                );
            }
            eprintln!(
                "\n*** SKIPPED: PostgreSQL test (set LIVESUPPORT_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test to run it) ***\n"
            );
            None
        }
    }
}

/// Creates a new, empty schema on the server of `base` and returns its name.
async fn fresh_schema(base: &str) -> String {
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(base)
        .await
        .unwrap_or_else(|e| {
            panic!("cannot reach PostgreSQL at LIVESUPPORT_TEST_POSTGRES_URL: {e}")
        });
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .expect("create schema");
    postgres_schema::add_extensions(&admin).await;
    admin.close().await;
    schema
}

/// `base` with `schema`, then the extensions' schema, as its search path.
fn schema_url(base: &str, schema: &str) -> String {
    postgres_schema::schema_url(base, schema)
}

fn require(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| v == "1" || v == "true")
}

/// A database of the given backend: `None` when PostgreSQL is skipped.
pub async fn database(backend: Backend) -> Option<(String, Option<TempDir>)> {
    match backend {
        Backend::Sqlite => {
            let (url, dir) = sqlite_database();
            Some((url, Some(dir)))
        }
        Backend::Postgres => postgres_database().await.map(|url| (url, None)),
    }
}

/// Starts the app on SQLite with the test admin.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Backend::Sqlite, |_| {})
        .await
        .expect("sqlite always runs")
}

/// Starts the app on `backend`, after `configure` adjusts the defaults.
pub async fn spawn_app_with(
    backend: Backend,
    configure: impl FnOnce(&mut Config),
) -> Option<TestApp> {
    init_logging();
    let (database_url, dir) = database(backend).await?;
    let mut config = Config::for_database(&database_url);
    config.bind = "127.0.0.1".parse().unwrap();
    let files = Arc::new(tempfile::tempdir().expect("temp dir"));
    config.storage_url = Some(Secret::new(storage_url_of(&files)));
    config.admin_email = Some(ADMIN_EMAIL.into());
    config.admin_password = Some(Secret::new(ADMIN_PASSWORD));
    config.token_secret = Some(Secret::new(TOKEN_SECRET));
    // Generous limits: tests of the limits set their own.
    config.ticket_rate_per_minute = 10_000;
    config.login_rate_per_minute = 10_000;
    config.login_ip_rate_per_minute = 10_000;
    config.socket_rate_per_minute = 100_000;
    // Every test connects from 127.0.0.1, many at a time.
    config.max_connections_per_ip = 100_000;
    config.message_ticket_rate_per_minute = 100_000;
    config.message_ip_rate_per_minute = 100_000;
    config.max_sockets_per_ticket = 100_000;
    config.max_sockets_per_ip = 100_000;
    config.upload_rate_per_minute = 10_000;
    config.upload_ip_rate_per_minute = 10_000;
    configure(&mut config);
    let app = Application::build(config)
        .await
        .expect("application builds");
    let port = app.port();
    let metrics_port = app.metrics_port();
    let state = app.state().clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app.run_until_stopped(async {
            let _ = rx.await;
        })
        .await
        .expect("server runs");
    });
    let address = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder().build().unwrap();
    let mut app = TestApp {
        address,
        port,
        metrics_port,
        client,
        admin_token: String::new(),
        state,
        database_url,
        server,
        shutdown: Some(tx),
        _dir: dir,
        files,
        runtime: None,
    };
    app.admin_token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    app.set_assignment(AssignmentMode::Manual).await;
    Some(app)
}

/// The Redis of the Redis suites, or `None` (with a notice) when they are not
/// configured here.
pub fn redis_url() -> Option<String> {
    match std::env::var("LIVESUPPORT_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if require("LIVESUPPORT_REQUIRE_REDIS") {
                panic!("LIVESUPPORT_REQUIRE_REDIS=1 but LIVESUPPORT_TEST_REDIS_URL is not set");
            }
            eprintln!(
                "\n*** SKIPPED: Redis test (set LIVESUPPORT_TEST_REDIS_URL=redis://127.0.0.1:6379 and LIVESUPPORT_TEST_POSTGRES_URL to run it) ***\n"
            );
            None
        }
    }
}

/// Whether the Redis suites must run (CI): a missing piece then fails the test.
pub fn redis_required() -> bool {
    require("LIVESUPPORT_REQUIRE_REDIS")
}

/// Starts `nodes` nodes sharing a fresh PostgreSQL schema, the Redis of
/// [`redis_url`] under a channel prefix of their own (so that tests never hear
/// each other's tickets), and one token secret. `None` when PostgreSQL or Redis
/// is not configured here.
pub async fn spawn_cluster(
    nodes: usize,
    configure: impl Fn(usize, &mut Config),
) -> Option<Vec<TestApp>> {
    let redis = redis_url()?;
    spawn_cluster_on(&redis, nodes, configure).await
}

/// [`spawn_cluster`] on the given Redis.
pub async fn spawn_cluster_on(
    redis_url: &str,
    nodes: usize,
    configure: impl Fn(usize, &mut Config),
) -> Option<Vec<TestApp>> {
    init_logging();
    let database_url = postgres_database().await?;
    let links = vec![(database_url.clone(), redis_url.to_owned()); nodes];
    Some(spawn_nodes(&database_url, links, configure).await)
}

/// Starts one node per `(database URL, Redis URL)` of `links`, all under one
/// channel prefix and token secret, the first one creating the admin. Every
/// [`TestApp::database_url`] is `direct_database_url`, the schema as the test
/// reaches it, whatever stands between the node and the database.
async fn spawn_nodes(
    direct_database_url: &str,
    links: Vec<(String, String)>,
    configure: impl Fn(usize, &mut Config),
) -> Vec<TestApp> {
    let prefix = format!("t{}:", uuid::Uuid::new_v4().simple());
    let files = Arc::new(tempfile::tempdir().expect("temp dir"));
    let mut cluster = Vec::with_capacity(links.len());
    for (index, (database_url, redis_url)) in links.into_iter().enumerate() {
        let mut config = Config::for_database(&database_url);
        config.bind = "127.0.0.1".parse().unwrap();
        config.redis_url = Some(Secret::new(&redis_url));
        config.redis_channel_prefix = prefix.clone();
        config.node_id = Some(format!("node-{index}"));
        config.token_secret = Some(Secret::new(TOKEN_SECRET));
        config.storage_url = Some(Secret::new(storage_url_of(&files)));
        config.ticket_rate_per_minute = 10_000;
        config.login_rate_per_minute = 10_000;
        config.login_ip_rate_per_minute = 10_000;
        config.socket_rate_per_minute = 100_000;
        config.max_connections_per_ip = 100_000;
        config.message_ticket_rate_per_minute = 100_000;
        config.message_ip_rate_per_minute = 100_000;
        config.max_sockets_per_ticket = 100_000;
        config.max_sockets_per_ip = 100_000;
        config.upload_rate_per_minute = 10_000;
        config.upload_ip_rate_per_minute = 10_000;
        // Only the first node creates the admin; the others find it.
        if index == 0 {
            config.admin_email = Some(ADMIN_EMAIL.into());
            config.admin_password = Some(Secret::new(ADMIN_PASSWORD));
        }
        configure(index, &mut config);
        cluster.push(spawn_node(config, direct_database_url.to_owned(), files.clone()).await);
    }
    // One login serves every node: they share the token secret.
    let token = cluster[0].login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for node in &mut cluster {
        node.admin_token = token.clone();
        node.set_assignment(AssignmentMode::Manual).await;
    }
    cluster
}

/// Builds and serves one node on a runtime of its own.
async fn spawn_node(config: Config, database_url: String, files: Arc<TempDir>) -> TestApp {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("node")
        .enable_all()
        .build()
        .expect("node runtime");
    let (started_tx, started) = tokio::sync::oneshot::channel();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(async move {
        let app = Application::build(config)
            .await
            .expect("application builds");
        let _ = started_tx.send((app.port(), app.metrics_port(), app.state().clone()));
        app.run_until_stopped(async {
            let _ = rx.await;
        })
        .await
        .expect("server runs");
    });
    let (port, metrics_port, state) = started.await.expect("node starts");
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        metrics_port,
        client: reqwest::Client::builder().build().unwrap(),
        admin_token: String::new(),
        state,
        database_url,
        server,
        shutdown: Some(tx),
        _dir: None,
        files,
        runtime: Some(runtime),
    }
}

impl TestApp {
    /// Ends the node as SIGKILL would: no drain, no close frames, no cleanup; its
    /// sockets and its database and Redis connections drop at once. Only for
    /// nodes of [`spawn_cluster`].
    pub fn kill(mut self) {
        let runtime = self
            .runtime
            .take()
            .expect("only cluster nodes can be killed");
        runtime.shutdown_background();
    }

    /// Stops the node as SIGTERM does and waits until it has stopped.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        tokio::time::timeout(Duration::from_secs(30), &mut self.server)
            .await
            .expect("the node stops within 30 s")
            .expect("the node's task ends cleanly");
    }

    /// Stores the assignment setting through this node, which uses it at once
    /// (other nodes within a routing round). Tests written before issue 16
    /// expect tickets to wait until an agent takes them, so every app and
    /// cluster starts `manual`; routing tests turn `auto` on with this.
    pub async fn set_assignment(&self, mode: AssignmentMode) {
        let settings = self.state.store.settings().await.expect("settings read");
        self.state
            .chat
            .save_settings(Settings {
                assignment: mode,
                ..settings
            })
            .await
            .expect("settings stored");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Logs in and returns the token; panics if the login fails.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let response = self
            .client
            .post(self.url("/api/support/auth/login"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("login request");
        assert_eq!(response.status(), 200, "login as {email}");
        let body: Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    /// Creates an agent through the admin API and returns (id, token).
    pub async fn create_agent(&self, email: &str, name: &str, role: &str) -> (i64, String) {
        let password = "agent-password-123";
        let response = self
            .client
            .post(self.url("/api/support/agents"))
            .bearer_auth(&self.admin_token)
            .json(&json!({ "email": email, "name": name, "password": password, "role": role }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "create agent {email}");
        let agent: Value = response.json().await.unwrap();
        (
            agent["id"].as_i64().unwrap(),
            self.login(email, password).await,
        )
    }

    /// Opens a ticket as a visitor and returns its JSON.
    pub async fn create_ticket(&self, body: Value) -> Value {
        let response = self
            .client
            .post(self.url("/api/support/ticket"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "create ticket {body}");
        response.json().await.unwrap()
    }

    /// A plain ticket with a first message.
    pub async fn simple_ticket(&self) -> Value {
        self.create_ticket(json!({
            "user_name": "John Doe",
            "user_email": "john@example.com",
            "subject": "Order not arrived",
            "message": "Hello!"
        }))
        .await
    }

    /// A ticket with no first message: its id and session id.
    pub async fn bare_ticket(&self) -> (i64, String) {
        let t = self
            .create_ticket(json!({"user_name": "John Doe", "subject": "Order not arrived"}))
            .await;
        (
            t["id"].as_i64().unwrap(),
            t["session_id"].as_str().unwrap().to_owned(),
        )
    }

    /// The value of one sample of `/metrics` on the main port (`name{labels}` as
    /// rendered), 0 when the node has not exported it yet.
    pub async fn metric(&self, sample: &str) -> f64 {
        let text = self.metrics_text().await;
        text.lines()
            .find_map(|line| line.strip_prefix(sample)?.strip_prefix(' '))
            .map_or(0.0, |value| value.trim().parse().expect("a metric value"))
    }

    /// The status `/readyz` answers, 0 when it does not answer at all.
    pub async fn readiness(&self) -> u16 {
        match self.client.get(self.url("/readyz")).send().await {
            Ok(response) => response.status().as_u16(),
            Err(_) => 0,
        }
    }

    /// The body of `GET /api/support/health` (Null when it does not answer).
    pub async fn health(&self) -> Value {
        match self
            .client
            .get(self.url("/api/support/health"))
            .send()
            .await
        {
            Ok(response) => read(response).await.1,
            Err(_) => Value::Null,
        }
    }

    /// Polls the health until `check` (`"database"` or `"broker"`) is, or is not,
    /// `"ok"`; the last body, or `Err` with it once `wait` has passed.
    pub async fn wait_health_check(
        &self,
        check: &str,
        ok: bool,
        wait: Duration,
    ) -> Result<Value, Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let health = self.health().await;
            if (health["checks"][check] == "ok") == ok {
                return Ok(health);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(health);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The ticket's `last_seq`, read through the guest API.
    pub async fn last_seq(&self, session_id: &str) -> i64 {
        let (status, ticket) = self
            .get(&format!("/api/support/ticket/{session_id}"), None)
            .await;
        assert_eq!(status, 200, "read the ticket: {ticket}");
        ticket["last_seq"].as_i64().unwrap()
    }

    /// Where the ticket's two streams end: the visitor's own numbering (public
    /// messages only) and the agents' seq (every message).
    pub async fn last_seqs(&self, session_id: &str) -> LastSeqs {
        let (status, guest) = self
            .get(&format!("/api/support/ticket/{session_id}"), None)
            .await;
        assert_eq!(status, 200, "read the ticket: {guest}");
        let id = guest["id"].as_i64().unwrap();
        let (status, ticket) = self
            .get(
                &format!("/api/support/tickets/{id}"),
                Some(&self.admin_token),
            )
            .await;
        assert_eq!(status, 200, "read the ticket as an agent: {ticket}");
        LastSeqs {
            visitor: guest["last_seq"].as_i64().unwrap(),
            agent: ticket["last_seq"].as_i64().unwrap(),
        }
    }

    /// How many messages the ticket's history holds (up to 500), read through
    /// the guest API: what was stored, whatever the frames said.
    pub async fn stored_count(&self, session_id: &str) -> usize {
        let (status, body) = self
            .get(
                &format!("/api/support/ticket/{session_id}/messages?limit=500"),
                None,
            )
            .await;
        assert_eq!(status, 200, "read the messages: {body}");
        body["messages"].as_array().unwrap().len()
    }

    /// The node's `/metrics` text.
    pub async fn metrics_text(&self) -> String {
        let response = self.client.get(self.url("/metrics")).send().await;
        response.unwrap().text().await.unwrap()
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        read(request.send().await.unwrap()).await
    }

    pub async fn send_json(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, self.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        read(request.send().await.unwrap()).await
    }
}

/// Status and JSON body (Null when the body is empty or not JSON).
pub async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}
