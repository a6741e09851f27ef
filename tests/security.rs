//! Security promises that cut across routes: headers, CORS, socket floods, and
//! stored payloads that must come back verbatim.

mod common;

use common::ws::{Ended, WsClient, connect};
use common::{Backend, TestApp, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use std::time::Duration;

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
    let metrics = app.metrics_text().await;
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
    use livesupport::config::Secret;
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
    ] {
        assert!(!text.contains(secret), "{secret} shown in --help");
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
