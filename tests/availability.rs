//! Business hours and availability (issue 18), against a real node: what
//! `GET /api/support/availability` answers with no hours, outside them and with
//! nobody online; a ticket opened outside the hours needs an email; the
//! settings' new fields and their errors; the median first reply.

mod common;

use common::{Backend, TestApp, spawn_app_with};
use serde_json::{Value, json};
use std::time::Duration;

async fn availability(app: &TestApp) -> Value {
    let (status, body) = app.get("/api/support/availability", None).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn put_settings(app: &TestApp, body: Value) -> (u16, Value) {
    app.send_json("PUT", "/api/support/settings", Some(&app.admin_token), body)
        .await
}

/// Polls `check` for up to 10 s (the router counts agents every 2 s).
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not within 10 s");
}

/// Hours that are closed all of today (UTC) and open from tomorrow 00:00 UTC.
fn closed_today() -> (Value, chrono::DateTime<chrono::Utc>) {
    let today = chrono::Utc::now().date_naive();
    let all_day = json!([["00:00", "24:00"]]);
    let weekly: serde_json::Map<String, Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| (d.to_string(), all_day.clone()))
        .collect();
    let hours = json!({
        "timezone": "UTC",
        "weekly": weekly,
        "holidays": [today.format("%Y-%m-%d").to_string()],
    });
    let tomorrow = (today + chrono::Days::new(1))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    (hours, tomorrow)
}

#[tokio::test]
async fn without_hours_the_desk_is_online_while_an_agent_is() {
    let app = common::spawn_app().await;
    let body = availability(&app).await;
    assert_eq!(body["online"], false, "{body}");
    assert_eq!(body["reason"], "no_agents");
    assert_eq!(body["next_open_at"], Value::Null);
    assert_eq!(body["csat"], true);
    let _dashboard = app.feed_socket(&app.admin_token).await;
    eventually("the admin counts as online", async || {
        availability(&app).await["online"] == true
    })
    .await;
    assert_eq!(availability(&app).await["reason"], Value::Null);
    // Without hours a ticket needs no email, with or without agents.
    app.bare_ticket().await;
}

#[tokio::test]
async fn outside_the_hours_the_desk_is_offline_until_it_opens_and_tickets_need_an_email() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app_with(backend, |_| {}).await else {
            continue;
        };
        let _dashboard = app.feed_socket(&app.admin_token).await;
        let (hours, opens) = closed_today();
        let (status, saved) = put_settings(
            &app,
            json!({"business_hours": hours, "offline_message": "  Back tomorrow  ", "greeting": "Hi!"}),
        )
        .await;
        assert_eq!(status, 200, "{saved}");
        assert_eq!(saved["offline_message"], "Back tomorrow");
        assert_eq!(saved["business_hours"]["timezone"], "UTC");
        eventually("the router read the hours", async || {
            availability(&app).await["reason"] == "outside_hours"
        })
        .await;
        let body = availability(&app).await;
        assert_eq!(body["online"], false);
        let next: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(body["next_open_at"].clone()).unwrap();
        assert_eq!(next, opens);
        assert_eq!(body["offline_message"], "Back tomorrow");
        assert_eq!(body["greeting"], "Hi!");
        assert_eq!(body["timezone"], "UTC");

        // A message left while closed must say where to answer.
        let response = app
            .client
            .post(app.url("/api/support/ticket"))
            .json(&json!({"user_name": "Ann", "subject": "Refund", "message": "Call me"}))
            .send()
            .await
            .unwrap();
        let (status, body) = common::read(response).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["field"], "user_email");
        let left = app
            .create_ticket(json!({"user_name": "Ann", "user_email": "ann@example.com", "subject": "Refund", "message": "Call me"}))
            .await;
        assert_eq!(left["status"], "open");

        // Hours taken away: open again.
        let (status, _) = put_settings(&app, json!({"business_hours": null})).await;
        assert_eq!(status, 200);
        eventually("open again", async || {
            availability(&app).await["online"] == true
        })
        .await;
    }
}

#[tokio::test]
async fn bad_settings_name_their_field() {
    let app = common::spawn_app().await;
    for (body, field) in [
        (
            json!({"business_hours": {"timezone": "Mars/Olympus", "weekly": {}}}),
            "business_hours.timezone",
        ),
        (
            json!({"business_hours": {"timezone": "UTC", "weekly": {"mon": [["17:00", "09:00"]]}}}),
            "business_hours.weekly.mon",
        ),
        (
            json!({"business_hours": {"timezone": "UTC", "weekly": {"funday": [["09:00", "17:00"]]}}}),
            "business_hours.weekly.funday",
        ),
        (
            json!({"business_hours": {"timezone": "UTC", "holidays": ["25/12/2026"]}}),
            "business_hours.holidays",
        ),
        (json!({"business_hours": "always"}), "business_hours"),
        (json!({"greeting": "x".repeat(1001)}), "greeting"),
        (json!({"offline_message": 5}), "offline_message"),
        (json!({"email_after_minutes": 0}), "email_after_minutes"),
        (json!({"csat": "yes"}), "csat"),
    ] {
        let (status, answer) = put_settings(&app, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}");
    }
    let (_, settings) = app
        .get("/api/support/settings", Some(&app.admin_token))
        .await;
    assert_eq!(settings["business_hours"], Value::Null);
    assert_eq!(settings["email_after_minutes"], 5);
    assert_eq!(settings["csat"], true);
    let (status, saved) =
        put_settings(&app, json!({"email_after_minutes": 30, "csat": false})).await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            saved["email_after_minutes"].as_i64(),
            saved["csat"].as_bool()
        ),
        (Some(30), Some(false))
    );
}

#[tokio::test]
async fn the_typical_reply_is_the_median_first_answer() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app_with(backend, |_| {}).await else {
            continue;
        };
        let ticket = app.simple_ticket().await;
        let session = ticket["session_id"].as_str().unwrap();
        let mut agent = app.supporter_socket(session, &app.admin_token, "").await;
        agent.say("Hello, how can I help?", "reply-1").await;
        common::ws::until_key(&mut agent, "reply-1").await;
        let seconds = availability(&app).await["typical_reply_seconds"].as_i64();
        assert!(matches!(seconds, Some(0..=60)), "{seconds:?}");
    }
}

async fn rate(app: &TestApp, session: &str, body: Value) -> (u16, Value) {
    app.send_json(
        "POST",
        &format!("/api/support/ticket/{session}/rating"),
        None,
        body,
    )
    .await
}

#[tokio::test]
async fn a_resolved_or_closed_conversation_is_rated_once() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app_with(backend, |_| {}).await else {
            continue;
        };
        let (ticket_id, session) = app.bare_ticket().await;
        let mut feed = app.feed_socket(&app.admin_token).await;
        let (status, body) = rate(&app, &session, json!({"score": 5})).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (409, Some("invalid_transition")),
            "{body}"
        );
        let (status, _) = app
            .send_json(
                "POST",
                &format!("/api/support/ticket/{session}/close"),
                None,
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
        for (body, field) in [
            (json!({"score": 6}), "score"),
            (json!({"score": 0}), "score"),
            (json!({}), "score"),
            (json!({"score": 4, "comment": "x".repeat(1001)}), "comment"),
        ] {
            let (status, answer) = rate(&app, &session, body.clone()).await;
            assert_eq!(
                (status, answer["error"]["field"].as_str()),
                (400, Some(field)),
                "{body}"
            );
        }
        let (status, rated) = rate(
            &app,
            &session,
            json!({"score": 5, "comment": "  Quick and kind  "}),
        )
        .await;
        assert_eq!(status, 201, "{rated}");
        assert_eq!(rated["rating"]["score"], 5);
        assert_eq!(rated["rating"]["comment"], "Quick and kind");
        let (status, again) = rate(&app, &session, json!({"score": 1})).await;
        assert_eq!(
            (status, again["error"]["code"].as_str()),
            (409, Some("conflict"))
        );
        // The agents see it: on the ticket, and pushed to the dashboards.
        let (_, ticket) = app
            .get(
                &format!("/api/support/tickets/{ticket_id}"),
                Some(&app.admin_token),
            )
            .await;
        assert_eq!(ticket["rating"]["score"], 5);
        loop {
            let frame = feed.next().await;
            if frame["type"] == "ticket_updated" && frame["ticket"]["rating"]["score"] == 5 {
                break;
            }
        }
        // Then the notice of the new rating (the webhooks' `rating.created`).
        let notice = feed.next_of("rating_created").await;
        assert_eq!(notice["data"]["ticket_id"], ticket_id);
        assert_eq!(notice["data"]["rating"]["score"], 5);
        assert_eq!(notice["data"]["rating"]["comment"], "Quick and kind");
        let (_, visitor) = app
            .get(&format!("/api/support/ticket/{session}"), None)
            .await;
        assert_eq!(visitor["rating"]["score"], 5);
    }
}

#[tokio::test]
async fn ratings_can_be_turned_off() {
    let app = common::spawn_app().await;
    let (status, _) = put_settings(&app, json!({"csat": false})).await;
    assert_eq!(status, 200);
    let (_, session) = app.bare_ticket().await;
    app.send_json(
        "POST",
        &format!("/api/support/ticket/{session}/close"),
        None,
        json!({}),
    )
    .await;
    let (status, body) = rate(&app, &session, json!({"score": 3})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    assert_eq!(availability(&app).await["csat"], false);
}
