//! Security promises that cut across routes: headers, CORS, socket floods, and
//! stored payloads that must come back verbatim.

mod common;

use common::ws::connect;
use common::{Backend, spawn_app, spawn_app_with};
use serde_json::json;

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
