//! Security promises that cut across routes: headers, CORS, socket floods,
//! stored payloads that must come back verbatim, and slow, idle or too many
//! connections (raw TCP).

mod common;

use common::ws::{Ended, WsClient, connect};
use common::{Backend, TestApp, spawn_app, spawn_app_with};
use livesupport::auth::TokenKeys;
use livesupport::config::Secret;
use livesupport::store::AgentUpdate;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn html_pages_carry_a_strict_content_security_policy() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.allowed_origins = vec!["https://shop.example.com".into()];
    })
    .await
    .unwrap();
    for (path, ancestors) in [
        ("/support/dashboard", "frame-ancestors 'none'"),
        (
            "/support/chat",
            "frame-ancestors 'self' https://shop.example.com",
        ),
        ("/support", "frame-ancestors 'self'"),
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        if response.status() == 404 {
            // The web assets are not built in this checkout (`make web`); CI builds
            // them first and sets LIVESUPPORT_REQUIRE_WEB=1.
            assert!(
                std::env::var("LIVESUPPORT_REQUIRE_WEB").is_err(),
                "{path}: web assets missing"
            );
            eprintln!("\n*** SKIPPED: {path} header checks: web assets not built (make web) ***\n");
            continue;
        }
        assert_eq!(response.status(), 200, "{path}");
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-eval"), "{path}: {csp}");
        assert!(
            !csp.contains("script-src 'self' 'unsafe-inline'"),
            "{path}: {csp}"
        );
        assert!(csp.contains(ancestors), "{path}: {csp}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    }
    let api = app
        .client
        .get(app.url("/api/support/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");
    assert!(api.headers().contains_key("referrer-policy"));
}

// ---- Cross-site request forgery (issue 13, item 1) ----

/// A state-changing request as a browser on `origin` would send it with the
/// admin's login cookie: `headers` are added to `Cookie` and the JSON body.
async fn with_admin_cookie(
    app: &common::TestApp,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new()
        .request(method, app.url(path))
        .header("cookie", format!("livesupport_token={}", app.admin_token))
        .json(&body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    common::read(request.send().await.unwrap()).await
}

fn new_admin(email: &str) -> serde_json::Value {
    json!({"email": email, "name": "Mallory", "password": "mallory-password-1", "role": "admin"})
}

async fn create_admin_by_cookie(
    app: &common::TestApp,
    headers: &[(&str, &str)],
    email: &str,
) -> (u16, serde_json::Value) {
    let path = "/api/support/agents";
    with_admin_cookie(app, reqwest::Method::POST, path, headers, new_admin(email)).await
}

async fn agent_exists(app: &common::TestApp, email: &str) -> bool {
    let (status, agents) = app.get("/api/support/agents", Some(&app.admin_token)).await;
    assert_eq!(status, 200, "{agents}");
    agents["agents"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["email"] == email)
}

#[tokio::test]
async fn cookie_authenticated_changes_must_come_from_the_dashboards_origin() {
    let app = spawn_app().await;
    let own = format!("http://localhost:{}", app.port);
    let refused: [&[(&str, &str)]; 4] = [
        &[("origin", "http://shop.localhost")],
        &[("origin", "null")],
        &[("sec-fetch-site", "same-site")],
        &[],
    ];
    for (n, headers) in refused.into_iter().enumerate() {
        let email = format!("csrf-{n}@example.com");
        let (status, body) = create_admin_by_cookie(&app, headers, &email).await;
        assert_eq!(status, 403, "{headers:?}: {body}");
        assert_eq!(body["error"]["code"], "forbidden");
        assert!(
            !agent_exists(&app, &email).await,
            "{headers:?} created an agent"
        );
    }
    let logout = with_admin_cookie(
        &app,
        reqwest::Method::POST,
        "/api/support/auth/logout",
        refused[0],
        json!({}),
    )
    .await;
    assert_eq!(logout.0, 403, "a cross-site page logged the admin out");
    let me = app
        .get("/api/support/agents/me", Some(&app.admin_token))
        .await;
    assert_eq!(me.0, 200, "the admin is still signed in");

    let allowed: [&[(&str, &str)]; 2] = [&[("origin", &own)], &[("sec-fetch-site", "same-origin")]];
    for (n, headers) in allowed.into_iter().enumerate() {
        let email = format!("dashboard-{n}@example.com");
        let (status, body) = create_admin_by_cookie(&app, headers, &email).await;
        assert_eq!(status, 201, "{headers:?}: {body}");
    }
    // Reads change nothing and pass from anywhere (CORS decides who may read them).
    let cross = [("origin", "http://shop.localhost")];
    let me = "/api/support/agents/me";
    let read = with_admin_cookie(&app, reqwest::Method::GET, me, &cross, json!({})).await;
    assert_eq!(read.0, 200);
}

#[tokio::test]
async fn bearer_requests_are_not_subject_to_the_origin_rule() {
    let app = spawn_app().await;
    let bearer = format!("Bearer {}", app.admin_token);
    let headers = [
        ("authorization", bearer.as_str()),
        ("origin", "http://shop.localhost"),
    ];
    let (status, body) = create_admin_by_cookie(&app, &headers, "api-client@example.com").await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn json_routes_refuse_other_content_types() {
    let app = spawn_app().await;
    // The body an HTML form with enctype="text/plain" can post: valid JSON.
    let form_body = r#"{"email":"form@example.com","name":"Form","password":"form-password-1","role":"admin","x":"="}"#;
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("nonsense"),
        None,
    ] {
        let mut request = app
            .client
            .post(app.url("/api/support/agents"))
            .bearer_auth(&app.admin_token)
            .body(form_body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let (status, body) = common::read(request.send().await.unwrap()).await;
        assert_eq!(status, 415, "{content_type:?}: {body}");
        assert_eq!(body["error"]["code"], "unsupported_media_type");
    }
    assert!(!agent_exists(&app, "form@example.com").await);
    let guest = app
        .client
        .post(app.url("/api/support/ticket"))
        .header("content-type", "text/plain")
        .body(r#"{"user_name":"Jo","subject":"Hi"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(guest.status(), 415);

    let json_with_charset = app
        .client
        .post(app.url("/api/support/agents"))
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/json; charset=utf-8")
        .body(form_body)
        .send()
        .await
        .unwrap();
    assert_eq!(json_with_charset.status(), 201);
    // A route whose body is optional still takes none, without a type.
    let (_, session_id) = app.bare_ticket().await;
    let close = app
        .client
        .post(app.url(&format!("/api/support/ticket/{session_id}/close")))
        .send()
        .await
        .unwrap();
    assert_eq!(close.status(), 200);
}

#[tokio::test]
async fn cors_answers_only_allowed_origins() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.allowed_origins = vec!["https://shop.example.com".into()];
    })
    .await
    .unwrap();
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/support/ticket"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let allowed = preflight("https://shop.example.com").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://shop.example.com"
    );
    let foreign = preflight("https://evil.example.com").await.unwrap();
    assert!(
        !foreign
            .headers()
            .contains_key("access-control-allow-origin")
    );
}

#[tokio::test]
async fn a_flood_of_socket_upgrades_from_one_ip_is_refused_with_429() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.socket_rate_per_minute = 3)
        .await
        .unwrap();
    let ticket = app.simple_ticket().await;
    let url = app.ws_url(&format!(
        "/ws/support/user/{}",
        ticket["session_id"].as_str().unwrap()
    ));
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(connect(&url, &[]).await.expect("within the limit"));
    }
    assert_eq!(connect(&url, &[]).await.err(), Some(429));
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("livesupport_rate_limited_total{limit=\"socket_upgrade\"}"));
}

#[tokio::test]
async fn script_payloads_are_stored_and_returned_verbatim() {
    let app = spawn_app().await;
    let ticket = app.simple_ticket().await;
    let session = ticket["session_id"].as_str().unwrap();
    let mut user = app.user_socket(session, "").await;
    user.next_of("ready").await;
    let payloads = [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "\"><svg onload=alert(1)>",
        "  leading and trailing spaces  ",
        "line\nbreaks\r\nand\ttabs, emoji 🙂, RTL \u{202e}text",
    ];
    for (i, payload) in payloads.iter().enumerate() {
        user.say(payload, &format!("p{i}")).await;
        let echo = user.next_of("message").await;
        assert_eq!(
            echo["message"]["message"],
            json!(payload),
            "echo of {payload:?}"
        );
    }
    let (_, body) = app
        .get(&format!("/api/support/ticket/{session}/messages"), None)
        .await;
    let stored: Vec<&str> = body["messages"].as_array().unwrap()[1..]
        .iter()
        .map(|m| m["message"].as_str().unwrap())
        .collect();
    assert_eq!(stored, payloads);
}

#[tokio::test]
async fn logout_revokes_the_token_everywhere() {
    let app = spawn_app().await;
    let (_, token) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    assert_eq!(app.get("/api/support/agents/me", Some(&token)).await.0, 200);
    let (status, _) = app
        .send_json("POST", "/api/support/auth/logout", Some(&token), json!({}))
        .await;
    assert_eq!(status, 204);
    let (status, body) = app.get("/api/support/agents/me", Some(&token)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let fresh = app.login("alice@example.com", "agent-password-123").await;
    assert_eq!(app.get("/api/support/agents/me", Some(&fresh)).await.0, 200);
}

#[tokio::test]
async fn disabling_an_agent_closes_its_sockets_with_4401_and_ends_its_logins() {
    let app = spawn_app().await;
    let (agent_id, token) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let ticket = app.simple_ticket().await;
    let mut supporter = app
        .supporter_socket(ticket["session_id"].as_str().unwrap(), &token, "")
        .await;
    supporter.next_of("ready").await;
    let mut feed = app.feed_socket(&token).await;
    let (status, agent) = app
        .send_json(
            "PATCH",
            &format!("/api/support/agents/{agent_id}"),
            Some(&app.admin_token),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(agent["disabled"], true);
    assert_eq!(
        supporter.ended(Duration::from_secs(10)).await,
        Ended::Closed(4401)
    );
    assert_eq!(
        feed.ended(Duration::from_secs(10)).await,
        Ended::Closed(4401)
    );
    assert_eq!(app.get("/api/support/agents/me", Some(&token)).await.0, 401);
    let (status, body) = app
        .send_json(
            "POST",
            "/api/support/auth/login",
            None,
            json!({"email": "alice@example.com", "password": "agent-password-123"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("invalid_credentials"))
    );
}

#[tokio::test]
async fn a_password_reset_ends_old_sessions_and_only_the_new_password_works() {
    let app = spawn_app().await;
    let (agent_id, token) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let path = format!("/api/support/agents/{agent_id}/password");
    let (status, body) = app
        .send_json(
            "POST",
            &path,
            Some(&app.admin_token),
            json!({"password": "short"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("password"))
    );
    let (status, _) = app
        .send_json(
            "POST",
            &path,
            Some(&token),
            json!({"password": "a-brand-new-password"}),
        )
        .await;
    assert_eq!(status, 403, "a plain agent cannot reset passwords");
    let (status, _) = app
        .send_json(
            "POST",
            &path,
            Some(&app.admin_token),
            json!({"password": "a-brand-new-password"}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(app.get("/api/support/agents/me", Some(&token)).await.0, 401);
    let login = |password: &'static str| {
        app.send_json(
            "POST",
            "/api/support/auth/login",
            None,
            json!({"email": "alice@example.com", "password": password}),
        )
    };
    assert_eq!(login("agent-password-123").await.0, 401);
    assert_eq!(login("a-brand-new-password").await.0, 200);
}

#[tokio::test]
async fn admins_manage_agents_but_cannot_lock_themselves_out() {
    let app = spawn_app().await;
    let (agent_id, token) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let (_, me) = app
        .get("/api/support/agents/me", Some(&app.admin_token))
        .await;
    let admin_id = me["id"].as_i64().unwrap();
    let cases = [
        (
            "plain agent",
            token.as_str(),
            agent_id,
            json!({"name": "Mallory"}),
            403,
            None,
        ),
        (
            "disable self",
            app.admin_token.as_str(),
            admin_id,
            json!({"disabled": true}),
            400,
            Some("disabled"),
        ),
        (
            "demote self",
            app.admin_token.as_str(),
            admin_id,
            json!({"role": "agent"}),
            400,
            Some("role"),
        ),
        (
            "bad role",
            app.admin_token.as_str(),
            agent_id,
            json!({"role": "root"}),
            400,
            Some("role"),
        ),
        (
            "nothing to change",
            app.admin_token.as_str(),
            agent_id,
            json!({}),
            400,
            Some("name"),
        ),
        (
            "unknown agent",
            app.admin_token.as_str(),
            999_999,
            json!({"name": "X"}),
            404,
            None,
        ),
    ];
    for (case, caller, target, body, status, field) in cases {
        let (got, answer) = app
            .send_json(
                "PATCH",
                &format!("/api/support/agents/{target}"),
                Some(caller),
                body,
            )
            .await;
        assert_eq!(got, status, "{case}: {answer}");
        assert_eq!(answer["error"]["field"].as_str(), field, "{case}");
    }
    let (status, promoted) = app
        .send_json(
            "PATCH",
            &format!("/api/support/agents/{agent_id}"),
            Some(&app.admin_token),
            json!({"role": "admin", "name": "Alice Admin"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (promoted["role"].as_str(), promoted["name"].as_str()),
        (Some("admin"), Some("Alice Admin"))
    );
    assert_eq!(
        app.get("/api/support/agents/me", Some(&token)).await.0,
        200,
        "a rename keeps the session"
    );
}

#[tokio::test]
async fn a_verified_user_lists_only_their_own_tickets() {
    use livesupport::auth::identity_hash;
    let secret = Secret::new("identity-secret");
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.identity_secret = Some(Secret::new("identity-secret"))
    })
    .await
    .unwrap();
    for (user, subject) in [
        ("u-1", "first"),
        ("u-1", "second"),
        ("u-2", "other person's"),
    ] {
        app.create_ticket(
            json!({"user_name": "V", "subject": subject, "user_id": user,
                                 "user_hash": identity_hash(&secret, user)}),
        )
        .await;
    }
    app.simple_ticket().await;
    let path = format!(
        "/api/support/user/tickets?user_id=u-1&user_hash={}",
        identity_hash(&secret, "u-1")
    );
    let (status, body) = app.get(&path, None).await;
    assert_eq!(status, 200);
    let subjects: Vec<&str> = body["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["second", "first"]);
    for (case, path) in [
        (
            "wrong hash",
            format!(
                "/api/support/user/tickets?user_id=u-1&user_hash={}",
                identity_hash(&secret, "u-2")
            ),
        ),
        (
            "no hash",
            "/api/support/user/tickets?user_id=u-1".to_owned(),
        ),
    ] {
        let (status, body) = app.get(&path, None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("identity_unverified")),
            "{case}"
        );
    }
    let (status, body) = app.get("/api/support/user/tickets", None).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("user_id"))
    );
}

#[tokio::test]
async fn guests_cannot_reach_a_ticket_by_its_numeric_id() {
    let app = spawn_app().await;
    let ticket = app.simple_ticket().await;
    let id = ticket["id"].as_i64().unwrap();
    let socket = connect(&app.ws_url(&format!("/ws/support/user/{id}")), &[]).await;
    assert_eq!(socket.err(), Some(404));
    for path in [
        format!("/api/support/ticket/{id}"),
        format!("/api/support/ticket/{id}/messages"),
    ] {
        let (status, body) = app.get(&path, None).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(!body.to_string().contains("Hello!"), "{path}");
    }
    let (status, _) = app.get(&format!("/api/support/tickets/{id}"), None).await;
    assert_eq!(status, 401, "the agent route needs a credential");
}

#[tokio::test]
async fn strict_transport_security_is_sent_when_the_service_is_reached_over_https() {
    let https = spawn_app_with(Backend::Sqlite, |c| {
        c.public_url = Some("https://support.example.com".into());
    })
    .await
    .unwrap();
    let response = https
        .client
        .get(https.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let plain = spawn_app().await;
    let response = plain
        .client
        .get(plain.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("strict-transport-security")
            .is_none(),
        "not over plain http"
    );
}

#[tokio::test]
async fn names_subjects_and_messages_of_only_invisible_characters_are_refused() {
    let app = spawn_app().await;
    let invisible = "\u{200B}\u{FEFF}\u{2060}";
    for (field, body) in [
        (
            "user_name",
            json!({"user_name": invisible, "subject": "Order"}),
        ),
        (
            "subject",
            json!({"user_name": "John", "subject": "\u{00AD}\u{200D}"}),
        ),
        (
            "message",
            json!({"user_name": "John", "subject": "Order", "message": invisible}),
        ),
    ] {
        let (status, error) = app
            .send_json("POST", "/api/support/ticket", None, body)
            .await;
        assert_eq!(status, 400, "{field}: {error}");
        assert_eq!(error["error"]["field"], field, "{field}");
    }
    let created = app.simple_ticket().await;
    let session = created["session_id"].as_str().unwrap();
    let mut user = app.user_socket(session, "").await;
    user.next_of("ready").await;
    user.say(invisible, "k-invisible").await;
    let refused = user.next_of("error").await;
    assert_eq!(refused["client_msg_id"], "k-invisible");
    assert_eq!(refused["error"]["field"], "message");
    // Visible text around invisible characters is kept byte for byte.
    user.say("\u{200B}hi\u{200D}", "k-visible").await;
    let stored = user.next_of("message").await;
    assert_eq!(stored["message"]["message"], "\u{200B}hi\u{200D}");
}

#[tokio::test]
async fn logins_from_one_ip_are_limited_whatever_the_email() {
    // Three a minute: one more every 20 s, far beyond the time this test takes.
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.login_ip_rate_per_minute = 3;
    })
    .await
    .unwrap();
    let mut limited = 0;
    for i in 0..6 {
        let (status, body) = app
            .send_json(
                "POST",
                "/api/support/auth/login",
                None,
                json!({"email": format!("nobody{i}@example.com"), "password": "wrong-password-1"}),
            )
            .await;
        match status {
            401 => {}
            429 => {
                limited += 1;
                assert_eq!(body["error"]["code"], "rate_limited");
            }
            other => panic!("login {i}: {other} {body}"),
        }
    }
    assert!(
        limited >= 2,
        "6 logins with 6 emails, 3 allowed a minute: {limited} refused"
    );
}

#[test]
fn help_never_shows_the_secrets_set_in_the_environment() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_livesupport"))
        .arg("--help")
        .env("DATABASE_URL", "postgres://app:db-pass-123@db/livesupport")
        .env("REDIS_URL", "redis://:redis-pass-456@cache:6379")
        .env("TOKEN_SECRET", "token-secret-789-token-secret-789")
        .env("IDENTITY_SECRET", "identity-secret-012")
        .env("ADMIN_PASSWORD", "admin-pass-345")
        .env("METRICS_TOKEN", "metrics-token-678-metrics")
        .output()
        .expect("the binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        text.contains("DATABASE_URL"),
        "the help names the variables: {text}"
    );
    for secret in [
        "db-pass-123",
        "redis-pass-456",
        "token-secret-789",
        "identity-secret-012",
        "admin-pass-345",
        "metrics-token-678",
    ] {
        assert!(!text.contains(secret), "{secret} shown in --help");
    }
}

/// Runs the node with `env` for at most `seconds` and returns all it printed.
fn run_node_briefly(env: &[(&str, &str)], seconds: u64) -> String {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_livesupport"))
        .envs(env.iter().copied())
        .env("PORT", "0")
        .env("LOG_FORMAT", "json")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn passwords_in_urls_appear_in_no_start_error_or_log_line() {
    let secret = "pw-Sekr1t-4711";
    let sqlite = || ("DATABASE_URL", "sqlite::memory:".to_owned());
    let cases: Vec<Vec<(&str, String)>> = vec![
        vec![(
            "DATABASE_URL",
            format!("postgres://app:{secret}@127.0.0.1:notaport/x"),
        )],
        vec![("DATABASE_URL", format!("postgres://app:{secret}@[bad/x"))],
        vec![("DATABASE_URL", format!("mysql://app:{secret}@db/x"))],
        vec![(
            "DATABASE_URL",
            format!("postgres://app:{secret}@127.0.0.1:5432/no_such_db"),
        )],
        vec![
            sqlite(),
            ("REDIS_URL", format!("redis://:{secret}@127.0.0.1:notaport")),
        ],
        vec![sqlite(), ("REDIS_URL", format!("http://:{secret}@cache"))],
        // Reachable nowhere: the node starts and logs the broker's failures.
        vec![
            sqlite(),
            ("REDIS_URL", format!("redis://:{secret}@127.0.0.1:1")),
        ],
    ];
    for case in cases {
        let env: Vec<(&str, &str)> = case.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let output = run_node_briefly(&env, 4);
        assert!(!output.trim().is_empty(), "{env:?} printed nothing");
        assert!(
            !output.contains(secret),
            "{env:?} printed its password: {output}"
        );
    }
}

#[tokio::test]
async fn pages_are_never_served_from_the_asset_route_without_their_headers() {
    let app = spawn_app().await;
    for path in [
        "/assets/..%2fdashboard.html",
        "/assets/%2e%2e%2fchat.html",
        "/assets/..%2Fdemo.html",
        "/assets/..%5cdashboard.html",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
}

// ---------------------------------------------------------------------------
// Slow and idle connections, connection caps (issue 13, item 2). Raw TCP: the
// client does exactly what an attacker would, byte by byte.
// ---------------------------------------------------------------------------

/// The header-read and keep-alive idle timeouts of the timeout tests, short so
/// that the suite stays fast.
const HEADER_TIMEOUT_SECONDS: u64 = 1;
const KEEPALIVE_IDLE_SECONDS: u64 = 3;
/// What a closing may take beyond its timeout on a busy machine.
const CLOSE_SLACK: Duration = Duration::from_secs(5);

async fn spawn_app_with_short_timeouts() -> common::TestApp {
    spawn_app_with(Backend::Sqlite, |c| {
        c.header_read_timeout_seconds = HEADER_TIMEOUT_SECONDS;
        c.keepalive_idle_seconds = KEEPALIVE_IDLE_SECONDS;
    })
    .await
    .unwrap()
}

async fn raw_connection(app: &common::TestApp) -> TcpStream {
    TcpStream::connect(("127.0.0.1", app.port))
        .await
        .expect("the node accepts TCP")
}

/// Whether the node closes `stream` (EOF or a reset) within `wait`; whatever it
/// sends before is read and dropped.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buffer = [0u8; 4096];
    tokio::time::timeout(wait, async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await
    .is_ok()
}

/// One HTTP/1.1 response read from `stream`: the head, and a body of its
/// `Content-Length`.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_owned())
                })
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .expect("a response within 10 s")
            .expect("the connection reads");
        assert!(read > 0, "closed before a whole response: {text:?}");
        received.extend_from_slice(&buffer[..read]);
    }
}

/// GET `path` on a connection of its own; the status and the response text.
async fn raw_get(app: &common::TestApp, path: &str) -> (u16, String) {
    let mut stream = raw_connection(app).await;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let response = read_response(&mut stream).await;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {response:?}"));
    (status, response)
}

/// The value of a metric line such as `name{label="value"}` in the node's
/// registry (one per process), 0 when absent.
fn metric(line_start: &str) -> f64 {
    livesupport::metrics::metrics()
        .render()
        .lines()
        .find_map(|l| l.strip_prefix(line_start)?.trim().parse().ok())
        .unwrap_or(0.0)
}

fn header_deadline() -> Duration {
    Duration::from_secs(HEADER_TIMEOUT_SECONDS) + CLOSE_SLACK
}

#[tokio::test]
async fn a_client_sending_its_headers_slowly_is_closed_after_the_header_timeout() {
    let app = spawn_app_with_short_timeouts().await;
    let mut stream = raw_connection(&app).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .unwrap();
    let slowloris = async {
        let mut buffer = [0u8; 1024];
        for line in 0.. {
            tokio::select! {
                read = stream.read(&mut buffer) => match read {
                    Ok(0) | Err(_) => return,
                    Ok(_) => panic!("a response to headers never completed"),
                },
                _ = tokio::time::sleep(Duration::from_millis(200)) => {
                    let header = format!("X-Slow-{line}: still coming\r\n");
                    if stream.write_all(header.as_bytes()).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    assert!(
        tokio::time::timeout(header_deadline(), slowloris)
            .await
            .is_ok(),
        "a header line every 200 ms kept the connection open past {HEADER_TIMEOUT_SECONDS} s"
    );
}

#[tokio::test]
async fn a_silent_connection_or_half_a_request_line_is_closed_after_the_header_timeout() {
    let app = spawn_app_with_short_timeouts().await;
    let cases: [(&str, &[u8]); 3] = [
        ("a connection that sends nothing", b""),
        ("half a request line", b"GET /api/supp"),
        (
            "a request line without headers",
            b"GET /healthz HTTP/1.1\r\n",
        ),
    ];
    for (case, sent) in cases {
        let mut stream = raw_connection(&app).await;
        stream.write_all(sent).await.unwrap();
        assert!(
            closed_within(&mut stream, header_deadline()).await,
            "{case}: still open"
        );
    }
}

#[tokio::test]
async fn an_idle_keep_alive_connection_outlives_the_header_timeout_then_closes() {
    let app = spawn_app_with_short_timeouts().await;
    let mut stream = raw_connection(&app).await;
    let request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    stream.write_all(request).await.unwrap();
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    // Idle for twice the header timeout, well within the idle timeout: a load
    // balancer's pooled connection must still serve.
    tokio::time::sleep(Duration::from_secs(2 * HEADER_TIMEOUT_SECONDS)).await;
    stream.write_all(request).await.unwrap();
    assert!(
        read_response(&mut stream).await.starts_with("HTTP/1.1 200"),
        "the keep-alive connection serves a second request"
    );
    assert!(
        closed_within(
            &mut stream,
            Duration::from_secs(KEEPALIVE_IDLE_SECONDS) + CLOSE_SLACK
        )
        .await,
        "an idle keep-alive connection is still open"
    );
}

#[tokio::test]
async fn an_open_websocket_is_not_cut_by_the_header_or_idle_timeouts() {
    let app = spawn_app_with_short_timeouts().await;
    let ticket = app.simple_ticket().await;
    let mut user = app
        .user_socket(ticket["session_id"].as_str().unwrap(), "")
        .await;
    user.next_of("ready").await;
    // Silent for longer than both timeouts (the socket's own idle timeout, 60 s,
    // is what governs it now).
    tokio::time::sleep(Duration::from_secs(KEEPALIVE_IDLE_SECONDS + 2)).await;
    user.say("still here after the idle timeout", "k-idle")
        .await;
    let frames = common::ws::until_key(&mut user, "k-idle").await;
    assert_eq!(
        frames.last().unwrap()["message"]["message"],
        "still here after the idle timeout",
        "the socket still carries messages"
    );
}

/// Starts a node with `configure`d caps and waits until the harness's own
/// pooled connection (its login) has closed, so that the test's connections are
/// the only ones counted.
async fn spawn_app_with_caps(configure: impl FnOnce(&mut livesupport::Config)) -> common::TestApp {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.keepalive_idle_seconds = 1;
        configure(c);
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    app
}

/// Whether a request on an already open connection is answered 200.
async fn serves(stream: &mut TcpStream) -> bool {
    let request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    stream.write_all(request).await.is_ok()
        && read_response(stream).await.starts_with("HTTP/1.1 200")
}

#[tokio::test]
async fn connections_over_the_per_ip_cap_are_refused_at_once_and_counted() {
    const CAP: usize = 3;
    let app = spawn_app_with_caps(|c| c.max_connections_per_ip = CAP).await;
    let refused = r#"livesupport_http_connections_refused_total{reason="per_ip"}"#;
    let before = metric(refused);
    let mut held = Vec::new();
    for _ in 0..CAP {
        held.push(raw_connection(&app).await);
    }
    let mut over = raw_connection(&app).await;
    assert!(
        closed_within(&mut over, Duration::from_secs(5)).await,
        "the connection over the per-IP cap is open"
    );
    assert!(metric(refused) > before, "the refusal is counted");
    assert!(metric("livesupport_http_connections_open") >= CAP as f64);
    for (i, stream) in held.iter_mut().enumerate() {
        assert!(serves(stream).await, "connection {i} within the cap");
    }
    // Once they close, the address may connect again.
    held.clear();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut stream = raw_connection(&app).await;
        if closed_within(&mut stream, Duration::from_millis(200)).await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "closed connections never gave their places back"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        assert!(serves(&mut stream).await);
        break;
    }
}

#[tokio::test]
async fn peers_inside_trusted_proxies_are_exempt_from_the_per_ip_cap() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.max_connections_per_ip = 2;
        c.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await
    .unwrap();
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(raw_connection(&app).await);
    }
    let (status, _) = raw_get(&app, "/api/support/health").await;
    assert_eq!(
        status, 200,
        "the load balancer's sixth connection is served"
    );
}

#[tokio::test]
async fn a_node_at_its_connection_cap_refuses_requests_but_answers_health_checks() {
    const CAP: usize = 4;
    let app = spawn_app_with_caps(|c| {
        c.max_connections = Some(CAP);
        // The idle connections filling the cap must outlive the test's requests.
        c.header_read_timeout_seconds = 60;
    })
    .await;
    let refused = r#"livesupport_http_connections_refused_total{reason="global"}"#;
    let before = metric(refused);
    let mut idle = Vec::new();
    for _ in 0..CAP {
        idle.push(raw_connection(&app).await);
    }
    let (status, response) = raw_get(&app, "/api/support/health").await;
    assert_eq!(status, 503, "an ordinary request over the cap: {response}");
    assert!(response.contains(r#""code":"unavailable""#), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("connection: close"),
        "{response}"
    );
    assert!(metric(refused) > before, "the refusal is counted");
    for path in ["/healthz", "/readyz"] {
        let (status, response) = raw_get(&app, path).await;
        assert_eq!(status, 200, "{path} while capped: {response}");
    }
    // The idle connections closing give the node back.
    idle.clear();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while raw_get(&app, "/api/support/health").await.0 != 200 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the node stayed capped after the idle connections closed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
/// A `/metrics` address for these tests: the node's own listener, on a free port.
const METRICS_ANY_PORT: &str = "127.0.0.1:0";
const METRICS_TOKEN: &str = "metrics-token-for-the-tests";

#[tokio::test]
async fn with_metrics_bind_metrics_are_served_on_their_own_port_and_not_on_the_main_one() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.metrics_bind = Some(METRICS_ANY_PORT.into())
    })
    .await
    .unwrap();
    let port = app.metrics_port.expect("a metrics listener");
    let on_metrics_port = |path: &str| {
        app.client
            .get(format!("http://127.0.0.1:{port}{path}"))
            .send()
    };
    let own = on_metrics_port("/metrics").await.unwrap();
    assert_eq!(own.status(), 200, "on the metrics port");
    assert!(own.text().await.unwrap().contains("livesupport_build_info"));
    let (status, body) = app.get("/metrics", None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found")),
        "on the main port: {body}"
    );
    let other = on_metrics_port("/healthz").await.unwrap();
    assert_eq!(other.status(), 404, "the metrics port serves only /metrics");
}

#[tokio::test]
async fn with_metrics_token_metrics_answer_only_that_bearer_token() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.metrics_token = Some(Secret::new(METRICS_TOKEN))
    })
    .await
    .unwrap();
    let refused = [
        ("no Authorization", None),
        (
            "a wrong token",
            Some("Bearer metrics-token-for-the-test".to_owned()),
        ),
        ("a longer token", Some(format!("Bearer {METRICS_TOKEN}x"))),
        ("another scheme", Some(format!("Basic {METRICS_TOKEN}"))),
        (
            "an agent's token",
            Some(format!("Bearer {}", app.admin_token)),
        ),
    ];
    for (case, authorization) in refused {
        let mut request = app.client.get(app.url("/metrics"));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.headers()["www-authenticate"], "Bearer", "{case}");
        let (status, body) = common::read(response).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("unauthorized")),
            "{case}: {body}"
        );
    }
    let allowed = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
    assert!(
        allowed
            .text()
            .await
            .unwrap()
            .contains("livesupport_build_info")
    );
}

#[tokio::test]
async fn the_metrics_listener_requires_the_token_too_and_stops_with_the_node() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.metrics_bind = Some(METRICS_ANY_PORT.into());
        c.metrics_token = Some(Secret::new(METRICS_TOKEN));
    })
    .await
    .unwrap();
    let url = format!("http://127.0.0.1:{}/metrics", app.metrics_port.unwrap());
    let client = app.client.clone();
    assert_eq!(client.get(&url).send().await.unwrap().status(), 401);
    let scraped = client.get(&url).bearer_auth(METRICS_TOKEN).send().await;
    assert_eq!(scraped.unwrap().status(), 200);
    app.stop().await;
    assert!(
        client.get(&url).send().await.is_err(),
        "the metrics port is closed once the node has stopped"
    );
}

/// A node whose sweep runs every second: the safety net under test.
fn sweep_every_second(config: &mut livesupport::Config) {
    config.credential_sweep_seconds = 1;
}

#[tokio::test]
async fn a_revocation_no_node_was_told_of_is_found_by_the_sweep() {
    let app = spawn_app_with(Backend::Sqlite, sweep_every_second)
        .await
        .unwrap();
    let (agent_id, token) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let (_, session) = app.bare_ticket().await;
    let mut supporter = app.supporter_socket(&session, &token, "").await;
    supporter.next_of("ready").await;
    let mut feed = app.feed_socket(&token).await;
    // Straight in the store: nothing is published, only a sweep can notice.
    let revoke = AgentUpdate {
        revoke_tokens: true,
        ..AgentUpdate::default()
    };
    app.state
        .store
        .update_agent(agent_id, &revoke)
        .await
        .unwrap();
    for (socket, client) in [("chat", &mut supporter), ("feed", &mut feed)] {
        assert_eq!(
            client.ended(Duration::from_secs(10)).await,
            Ended::Closed(4401),
            "the agent's {socket} socket"
        );
    }
}

#[tokio::test]
async fn an_agent_socket_closes_when_its_token_expires() {
    let app = spawn_app().await;
    let (agent_id, _) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let agent = app
        .state
        .store
        .agent_by_id(agent_id)
        .await
        .unwrap()
        .unwrap();
    // The node's own signing key, with a lifetime of seconds.
    let keys = TokenKeys::new(&Secret::new(common::TOKEN_SECRET), Duration::from_secs(2));
    let short_lived = keys.issue(&agent).unwrap();
    let mut feed = app.feed_socket(&short_lived).await;
    feed.send(json!({"type": "ping"})).await;
    feed.next_of("pong").await;
    assert_eq!(
        feed.ended(Duration::from_secs(10)).await,
        Ended::Closed(4401)
    );
}

// ---------------------------------------------------------------------------
// Message and socket limits that hold across sockets (issue 13, item 5)

/// The minute quotas refill one unit every 60/n s: what a slow run may have
/// earned back since `started`, so that a count never depends on the speed.
fn refilled_since(started: tokio::time::Instant, per_minute: u32) -> usize {
    (started.elapsed().as_secs_f64() * f64::from(per_minute) / 60.0).ceil() as usize
}

/// Sends one visitor message per key and waits for each one's answer: its own
/// `message` frame (the acknowledgement) or an `error` frame. Returns the
/// acknowledged keys and the error codes of the refused ones.
async fn send_all(socket: &mut WsClient, keys: &[String]) -> (Vec<String>, Vec<String>) {
    for key in keys {
        socket.say("are you there?", key).await;
    }
    let (mut acked, mut refused) = (Vec::new(), Vec::new());
    while acked.len() + refused.len() < keys.len() {
        let frame = socket.next().await;
        let own = |k: &Value| k.as_str().is_some_and(|k| keys.iter().any(|key| key == k));
        match frame["type"].as_str() {
            Some("message") if own(&frame["message"]["client_msg_id"]) => {
                acked.push(
                    frame["message"]["client_msg_id"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
            }
            Some("error") if own(&frame["client_msg_id"]) => {
                refused.push(frame["error"]["code"].as_str().unwrap().to_owned());
            }
            _ => {}
        }
    }
    (acked, refused)
}

#[tokio::test]
async fn many_sockets_on_one_ticket_together_cannot_exceed_the_tickets_message_rate() {
    const PER_TICKET: u32 = 8;
    const SOCKETS: usize = 5;
    const EACH: usize = 6;
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.message_ticket_rate_per_minute = PER_TICKET;
        c.message_burst = 100;
    })
    .await
    .unwrap();
    let (_, session) = app.bare_ticket().await;
    let started = tokio::time::Instant::now();
    let mut sockets = Vec::new();
    for _ in 0..SOCKETS {
        let mut socket = app.user_socket(&session, "").await;
        socket.next_of("ready").await;
        sockets.push(socket);
    }
    let sends = sockets.iter_mut().enumerate().map(|(s, socket)| {
        let keys: Vec<String> = (0..EACH).map(|i| format!("s{s}-m{i}")).collect();
        async move { send_all(socket, &keys).await }
    });
    let answers = futures_util::future::join_all(sends).await;

    let acked: usize = answers.iter().map(|(acked, _)| acked.len()).sum();
    let refused: Vec<&String> = answers.iter().flat_map(|(_, refused)| refused).collect();
    assert!(
        refused.iter().all(|code| *code == "rate_limited"),
        "{refused:?}"
    );
    let stored = app.stored_count(&session).await;
    assert_eq!(
        stored, acked,
        "exactly the acknowledged messages are stored"
    );
    let allowed = PER_TICKET as usize + refilled_since(started, PER_TICKET);
    assert!(
        stored <= allowed,
        "{SOCKETS} sockets stored {stored} of {} messages on one ticket; the ticket allows {allowed}",
        SOCKETS * EACH
    );
    assert!(
        stored >= PER_TICKET as usize,
        "the ticket's burst is served: {stored}"
    );
}

#[tokio::test]
async fn reconnecting_does_not_reset_a_tickets_message_budget_and_agents_still_answer() {
    const PER_TICKET: u32 = 4;
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.message_ticket_rate_per_minute = PER_TICKET;
    })
    .await
    .unwrap();
    let (_, session) = app.bare_ticket().await;
    let started = tokio::time::Instant::now();
    let mut socket = app.user_socket(&session, "").await;
    socket.next_of("ready").await;
    let keys: Vec<String> = (0..PER_TICKET).map(|i| format!("first-{i}")).collect();
    let (acked, _) = send_all(&mut socket, &keys).await;
    let spent = acked.len();
    socket.close().await;

    let mut again = app.user_socket(&session, "").await;
    again.next_of("ready").await;
    let keys: Vec<String> = (0..3).map(|i| format!("after-{i}")).collect();
    let (acked_after, refused) = send_all(&mut again, &keys).await;
    let allowed = PER_TICKET as usize + refilled_since(started, PER_TICKET);
    assert!(
        spent + acked_after.len() <= allowed,
        "the new socket got a fresh budget: {spent} + {acked_after:?}"
    );
    assert!(
        refused.iter().all(|code| code == "rate_limited"),
        "{refused:?}"
    );
    assert_eq!(app.stored_count(&session).await, spent + acked_after.len());

    // The agent answering the ticket is not silenced by the visitor's flood.
    let mut supporter = app.supporter_socket(&session, &app.admin_token, "").await;
    supporter.next_of("ready").await;
    supporter.say("I am here", "agent-1").await;
    let own = common::ws::until_key(&mut supporter, "agent-1").await;
    assert_eq!(own.last().unwrap()["message"]["sender_type"], "supporter");
}

#[tokio::test]
async fn visitor_messages_from_one_ip_are_limited_on_every_ticket_and_route_together() {
    const PER_IP: u32 = 6;
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.message_ip_rate_per_minute = PER_IP;
    })
    .await
    .unwrap();
    let started = tokio::time::Instant::now();
    let mut acked = 0;
    let mut sessions = Vec::new();
    for t in 0..3 {
        let (_, session) = app.bare_ticket().await;
        let mut socket = app.user_socket(&session, "").await;
        socket.next_of("ready").await;
        let keys: Vec<String> = (0..3).map(|i| format!("t{t}-m{i}")).collect();
        let (ok, refused) = send_all(&mut socket, &keys).await;
        assert!(
            refused.iter().all(|code| code == "rate_limited"),
            "{refused:?}"
        );
        acked += ok.len();
        sessions.push(session);
    }
    let mut stored = 0;
    for session in &sessions {
        stored += app.stored_count(session).await;
    }
    assert_eq!(stored, acked);
    let allowed = PER_IP as usize + refilled_since(started, PER_IP);
    assert!(
        stored <= allowed,
        "one IP stored {stored} of 9; it may {allowed}"
    );

    // Opening a ticket with a first message stores a message too: over the
    // IP's budget it is 429 with Retry-After; without a message it is not one.
    let response = app
        .client
        .post(app.url("/api/support/ticket"))
        .json(&json!({"user_name": "Jo", "subject": "Hi", "message": "one more"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let (_, body) = common::read(response).await;
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    app.bare_ticket().await;
}

/// A WebSocket upgrade sent as a plain request, so that a refusal's headers and
/// body can be read.
async fn refused_upgrade(app: &TestApp, path: &str, client: &str) -> (u16, bool, Value) {
    let response = app
        .client
        .get(app.url(path))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("x-forwarded-for", client)
        .send()
        .await
        .unwrap();
    let retry_after = response.headers().contains_key("retry-after");
    let (status, body) = common::read(response).await;
    (status, retry_after, body)
}

#[tokio::test]
async fn visitor_sockets_from_one_ip_over_the_cap_are_refused_while_another_ip_gets_in() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.max_sockets_per_ip = 3;
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await
    .unwrap();
    let visitor = |app: &TestApp, session: &str| app.ws_url(&format!("/ws/support/user/{session}"));
    let (_, first) = app.bare_ticket().await;
    let (_, second) = app.bare_ticket().await;
    let from = |ip: &'static str| [("x-forwarded-for", ip)];
    let mut open = Vec::new();
    for session in [&first, &second, &first] {
        let url = visitor(&app, session);
        open.push(
            connect(&url, &from("203.0.113.7"))
                .await
                .expect("within the cap"),
        );
    }
    let (status, retry_after, body) =
        refused_upgrade(&app, &format!("/ws/support/user/{second}"), "203.0.113.7").await;
    assert_eq!(status, 429, "the IP's fourth socket is refused: {body}");
    assert!(retry_after, "with Retry-After");
    assert_eq!(body["error"]["code"], "rate_limited");

    let url = visitor(&app, &second);
    connect(&url, &from("203.0.113.8"))
        .await
        .expect("another IP gets in");

    // Agents behind the same address are not counted: an office behind one NAT.
    let auth = format!("Bearer {}", app.admin_token);
    let agent = [
        ("x-forwarded-for", "203.0.113.7"),
        ("authorization", auth.as_str()),
    ];
    connect(&app.ws_url("/ws/support/agent"), &agent)
        .await
        .expect("the dashboard's feed");
    connect(
        &app.ws_url(&format!("/ws/support/supporter/{first}")),
        &agent,
    )
    .await
    .expect("an agent's chat");
    let metrics = app.metrics_text().await;
    assert!(metrics.contains("livesupport_rate_limited_total{limit=\"socket_ip\"}"));
}

/// Opens a visitor socket once the node has freed a slot for it, or panics.
async fn connect_once_freed(url: &str) -> WsClient {
    let deadline = tokio::time::Instant::now() + common::ws::FRAME_TIMEOUT;
    loop {
        match connect(url, &[]).await {
            Ok(socket) => return socket,
            Err(429) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(status) => panic!(
                "no slot freed within {:?}: {status}",
                common::ws::FRAME_TIMEOUT
            ),
        }
    }
}

#[tokio::test]
async fn a_tickets_socket_cap_holds_and_a_socket_frees_its_slot_however_it_ends() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.max_sockets_per_ticket = 2)
        .await
        .unwrap();
    let (_, session) = app.bare_ticket().await;
    let url = app.ws_url(&format!("/ws/support/user/{session}"));
    let closing = connect(&url, &[]).await.expect("first");
    let dropping = connect(&url, &[]).await.expect("second");
    assert_eq!(
        connect(&url, &[]).await.err(),
        Some(429),
        "the ticket is full"
    );
    let (_, other) = app.bare_ticket().await;
    let other_url = app.ws_url(&format!("/ws/support/user/{other}"));
    connect(&other_url, &[])
        .await
        .expect("another ticket has room");

    // Closed with a close frame...
    closing.close().await;
    let third = connect_once_freed(&url).await;
    assert_eq!(connect(&url, &[]).await.err(), Some(429), "full again");
    // ...or its connection dropped without one.
    drop(dropping);
    let _fourth = connect_once_freed(&url).await;
    assert_eq!(connect(&url, &[]).await.err(), Some(429), "full again");
    drop(third);
}
