//! Visitor context with real sockets (issue 15, point 4): the visitor's `page`
//! frames, what agents see of them live and through
//! `GET /api/support/tickets/{id}/context`, and what is refused.

mod common;

use common::ws::{WsClient, connect};
use common::{Backend, TestApp, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use std::time::Duration;

const FIREFOX_ON_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";

/// A ticket of `email`, and its id and session id.
async fn ticket_of(app: &TestApp, subject: &str, email: &str) -> (i64, String) {
    let t = app
        .create_ticket(json!({"user_name": "Jane Doe", "subject": subject, "user_email": email}))
        .await;
    (
        t["id"].as_i64().unwrap(),
        t["session_id"].as_str().unwrap().to_owned(),
    )
}

/// The visitor's socket, as a browser opens it: with a user agent and languages.
async fn visitor_socket(app: &TestApp, session: &str) -> WsClient {
    let mut socket = connect(
        &app.ws_url(&format!("/ws/support/user/{session}")),
        &[
            ("user-agent", FIREFOX_ON_WINDOWS),
            ("accept-language", "fr-CH, fr;q=0.9, en;q=0.8"),
        ],
    )
    .await
    .expect("visitor socket opens");
    socket.next_of("ready").await;
    socket
}

fn page(url: &str, title: &str) -> Value {
    json!({"type": "page", "data": {"url": url, "title": title, "referrer": ""}})
}

async fn context(app: &TestApp, ticket_id: i64) -> Value {
    let (status, body) = app
        .get(
            &format!("/api/support/tickets/{ticket_id}/context"),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The context once it holds `n` pages (frames are stored as they are read).
async fn context_with_pages(app: &TestApp, ticket_id: i64, n: usize) -> Value {
    for _ in 0..100 {
        let body = context(app, ticket_id).await;
        if body["pages"].as_array().unwrap().len() >= n {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the context never held {n} pages");
}

fn urls(context: &Value) -> Vec<&str> {
    context["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["url"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn page_frames_show_in_the_context_newest_first_with_query_strings_stripped() {
    let app = spawn_app().await;
    let (ticket_id, session) = ticket_of(&app, "Boots", "jane@example.com").await;
    let mut visitor = visitor_socket(&app, &session).await;
    visitor
        .send(json!({"type": "page", "data": {
            "url": "https://shop.example/?utm_source=mail#top",
            "title": "  Acme \n Outfitters  ",
            "referrer": "https://search.example/results?q=boots",
            "locale": "de-DE",
            "timezone": "Europe/Berlin",
        }}))
        .await;
    visitor
        .send(page(
            "https://shop.example/product/boots?size=42",
            "Hiking boots",
        ))
        .await;
    visitor
        .send(page("https://shop.example/cart#checkout", "Your cart"))
        .await;

    let body = context_with_pages(&app, ticket_id, 3).await;
    assert_eq!(
        urls(&body),
        [
            "https://shop.example/cart",
            "https://shop.example/product/boots",
            "https://shop.example/"
        ],
        "newest first, query strings and fragments stripped"
    );
    let pages = body["pages"].as_array().unwrap();
    assert_eq!(pages[2]["title"], "Acme Outfitters", "titles are trimmed");
    assert_eq!(pages[2]["referrer"], "https://search.example/results");
    assert!(pages[0]["at"].is_string(), "{body}");
    assert!(pages[0]["at"].as_str() >= pages[1]["at"].as_str());
    assert_eq!(body["user_agent"], FIREFOX_ON_WINDOWS);
    assert_eq!(body["browser"], "Firefox 121");
    assert_eq!(body["os"], "Windows");
    assert_eq!(
        body["locale"], "de-DE",
        "the chat app's navigator.language wins over Accept-Language"
    );
    assert_eq!(body["timezone"], "Europe/Berlin");
    assert_eq!(body["previous_tickets"], json!([]));

    // Never stored as a message.
    let (_, messages) = app
        .get(&format!("/api/support/ticket/{session}/messages"), None)
        .await;
    assert_eq!(messages["messages"], json!([]));
}

#[tokio::test]
async fn query_strings_are_kept_with_track_query_strings() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.track_query_strings = true)
        .await
        .unwrap();
    let (ticket_id, session) = ticket_of(&app, "Tracking", "t@example.com").await;
    let mut visitor = visitor_socket(&app, &session).await;
    visitor
        .send(page("https://shop.example/search?q=tent#results", "Search"))
        .await;
    let body = context_with_pages(&app, ticket_id, 1).await;
    assert_eq!(urls(&body), ["https://shop.example/search?q=tent#results"]);
    assert_eq!(
        body["locale"], "fr-CH",
        "without navigator.language, Accept-Language's first tag"
    );
    assert_eq!(body["timezone"], Value::Null);
}

#[tokio::test]
async fn an_agent_s_ticket_socket_gets_the_live_page_and_the_visitor_s_never_does() {
    let app = spawn_app().await;
    let (ticket_id, session) = ticket_of(&app, "Live", "live@example.com").await;
    let mut agent = app.watching_socket(&session, &app.admin_token, "").await;
    agent.next_of("ready").await;
    let mut feed = app.feed_socket(&app.admin_token).await;
    let mut visitor = visitor_socket(&app, &session).await;
    let mut other_tab = visitor_socket(&app, &session).await;

    visitor
        .send(page("https://shop.example/product/tent?ref=x", "Tent"))
        .await;
    let live = agent.next_of("page").await;
    assert_eq!(live["data"]["url"], "https://shop.example/product/tent");
    assert_eq!(live["data"]["title"], "Tent");
    assert!(live["data"]["at"].is_string(), "{live}");
    let stored = context_with_pages(&app, ticket_id, 1).await;
    assert_eq!(live["data"]["at"], stored["pages"][0]["at"]);
    // The same page again (a reconnect's report; here only the stripped query differs).
    visitor
        .send(page("https://shop.example/product/tent?ref=y", "Tent"))
        .await;
    assert!(
        agent
            .collect_of("page", Duration::from_millis(400))
            .await
            .is_empty(),
        "the page the visitor is on already is not shown again"
    );
    assert_eq!(
        context(&app, ticket_id).await["pages"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    for (who, socket) in [
        ("the visitor", &mut visitor),
        ("another visitor tab", &mut other_tab),
    ] {
        assert!(
            socket
                .collect_of("page", Duration::from_millis(400))
                .await
                .is_empty(),
            "{who} never receives page frames"
        );
    }
    assert!(
        feed.collect_of("page", Duration::from_millis(200))
            .await
            .is_empty(),
        "the agents' feed carries no pages"
    );
}

#[tokio::test]
async fn bad_page_frames_get_error_frames_and_store_nothing() {
    let app = spawn_app().await;
    let (ticket_id, session) = ticket_of(&app, "Bad pages", "bad@example.com").await;
    let mut visitor = visitor_socket(&app, &session).await;
    let long = format!("https://shop.example/{}", "a".repeat(3000));
    let cases = [
        ("no data", json!({"type": "page"}), "data.url"),
        (
            "no url",
            json!({"type": "page", "data": {"title": "x"}}),
            "data.url",
        ),
        (
            "javascript url",
            page("javascript:alert(1)", "x"),
            "data.url",
        ),
        ("relative url", page("/support", "x"), "data.url"),
        ("file url", page("file:///etc/passwd", "x"), "data.url"),
        ("too long", page(&long, "x"), "data.url"),
        (
            "bad locale",
            json!({"type": "page", "data": {"url": "https://a.example/", "locale": "x<script>"}}),
            "data.locale",
        ),
        (
            "bad time zone",
            json!({"type": "page", "data": {"url": "https://a.example/", "timezone": "../../etc/passwd"}}),
            "data.timezone",
        ),
        (
            "url of the wrong type",
            json!({"type": "page", "data": {"url": 42}}),
            "frame",
        ),
    ];
    for (case, frame, field) in cases {
        visitor.send(frame).await;
        let error = visitor.next_of("error").await;
        assert_eq!(
            error["error"]["code"], "validation_failed",
            "{case}: {error}"
        );
        assert_eq!(error["error"]["field"], field, "{case}: {error}");
    }
    // An agent's socket does not report pages.
    let mut agent = app.watching_socket(&session, &app.admin_token, "").await;
    agent.next_of("ready").await;
    agent.send(page("https://shop.example/", "Agent")).await;
    let error = agent.next_of("error").await;
    assert_eq!(error["error"]["code"], "validation_failed");

    let body = context(&app, ticket_id).await;
    assert_eq!(body["pages"], json!([]), "nothing was stored");
    assert_eq!(body["timezone"], Value::Null);
}

#[tokio::test]
async fn a_connection_stores_a_burst_of_three_pages_then_one_a_second() {
    let app = spawn_app().await;
    let (ticket_id, session) = ticket_of(&app, "Burst", "burst@example.com").await;
    let mut visitor = visitor_socket(&app, &session).await;
    for i in 0..6 {
        visitor
            .send(page(&format!("https://shop.example/p/{i}"), "p"))
            .await;
    }
    visitor.send(json!({"type": "ping"})).await;
    visitor.next_of("pong").await;
    let body = context(&app, ticket_id).await;
    assert_eq!(
        urls(&body),
        [
            "https://shop.example/p/2",
            "https://shop.example/p/1",
            "https://shop.example/p/0"
        ],
        "the frames past the burst are dropped"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    visitor
        .send(page("https://shop.example/later", "later"))
        .await;
    let body = context_with_pages(&app, ticket_id, 4).await;
    assert_eq!(urls(&body)[0], "https://shop.example/later");
}

#[tokio::test]
async fn more_than_twenty_pages_keep_the_newest_twenty() {
    let app = spawn_app().await;
    let (ticket_id, session) = ticket_of(&app, "Many pages", "many@example.com").await;
    let mut agent = app.watching_socket(&session, &app.admin_token, "").await;
    agent.next_of("ready").await;
    // Each connection stores a burst of three: eight visitor tabs report 24 pages,
    // one at a time (each stored before the next is sent).
    let mut sent = 0;
    for _ in 0..8 {
        let mut tab = visitor_socket(&app, &session).await;
        for _ in 0..3 {
            tab.send(page(&format!("https://shop.example/p/{sent}"), "p"))
                .await;
            let live = agent.next_of("page").await;
            assert_eq!(
                live["data"]["url"],
                format!("https://shop.example/p/{sent}")
            );
            sent += 1;
        }
    }
    let body = context(&app, ticket_id).await;
    let expected: Vec<String> = (4..24)
        .rev()
        .map(|i| format!("https://shop.example/p/{i}"))
        .collect();
    assert_eq!(urls(&body), expected);
}

#[tokio::test]
async fn previous_conversations_of_the_same_email_are_listed_newest_first() {
    let app = spawn_app().await;
    let (first, _) = ticket_of(&app, "Earlier", "Jane@Example.com").await;
    let (second, _) = ticket_of(&app, "Later", "jane@example.com").await;
    let (_, _) = ticket_of(&app, "Someone else", "john@example.com").await;
    let (now, _) = ticket_of(&app, "Now", "JANE@example.com").await;
    let body = context(&app, now).await;
    let previous: Vec<i64> = body["previous_tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(previous, [second, first]);
    assert_eq!(body["previous_tickets"][0]["subject"], "Later");
}

#[tokio::test]
async fn only_agents_read_the_context() {
    let app = spawn_app().await;
    let (ticket_id, session) = ticket_of(&app, "Private", "p@example.com").await;
    let path = format!("/api/support/tickets/{ticket_id}/context");
    let cases = [
        ("no credential", path.clone(), None, 401),
        ("a bad token", path.clone(), Some("not-a-token"), 401),
        (
            "the session id in the path",
            format!("/api/support/tickets/{session}/context"),
            Some(app.admin_token.as_str()),
            404,
        ),
        (
            "an unknown ticket",
            "/api/support/tickets/999999/context".to_owned(),
            Some(app.admin_token.as_str()),
            404,
        ),
    ];
    for (case, path, token, status) in cases {
        let (got, body) = app.get(&path, token).await;
        assert_eq!(got, status, "{case}: {body}");
    }
}
