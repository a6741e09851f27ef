//! Reports (issue 19) against a scripted scenario with known timings: the
//! store's clock is a manual one the test moves, and every step goes through
//! the real routes and sockets, on both stores.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::{Backend, TestApp, spawn_app_with};
use livesupport::store::{Clock, StoreOptions};
use serde_json::{Value, json};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// An agent's public reply over their socket, stored before it returns.
async fn reply(app: &TestApp, session: &str, token: &str, text: &str) {
    let mut socket = app.supporter_socket(session, token, "").await;
    socket.say(text, text).await;
    let (_, stored) = socket
        .frames_until(
            tokio::time::Instant::now() + std::time::Duration::from_secs(10),
            |f| f["message"]["client_msg_id"] == text,
        )
        .await;
    assert!(stored, "the reply is stored");
}

async fn patch(app: &TestApp, id: i64, token: &str, body: Value) {
    let (status, answer) = app
        .send_json(
            "PATCH",
            &format!("/api/support/tickets/{id}"),
            Some(token),
            body,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
}

async fn assign(app: &TestApp, id: i64, token: &str) {
    let (status, answer) = app
        .send_json(
            "POST",
            &format!("/api/support/tickets/{id}/assign"),
            Some(token),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
}

async fn rate(app: &TestApp, session: &str, score: i64) {
    let (status, answer) = app
        .send_json(
            "POST",
            &format!("/api/support/ticket/{session}/rating"),
            None,
            json!({"score": score}),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
}

fn ids(ticket: &Value) -> (i64, String) {
    (
        ticket["id"].as_i64().unwrap(),
        ticket["session_id"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn the_summary_and_the_csv_give_the_scenarios_known_numbers() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let clock = Clock::manual(at("2026-12-01T09:00:00Z"));
        let step = |seconds: i64| clock.advance(Duration::seconds(seconds));
        let configured = clock.clone();
        let Some(app) = spawn_app_with(backend, move |config| config.clock = configured).await
        else {
            continue;
        };
        let (alice_id, alice) = app
            .create_agent("alice@example.com", "Alice", "agent")
            .await;
        let (bob_id, bob) = app.create_agent("bob@example.com", "Bob", "agent").await;

        // Tuesday 09:00 UTC: A opens with a message; Alice takes it after 60 s,
        // answers 30 s later, resolves it at 10 min; the visitor rates it 4.
        let (a, a_session) = ids(&app.simple_ticket().await);
        step(60);
        assign(&app, a, &alice).await;
        step(30);
        reply(&app, &a_session, &alice, "On it").await;
        step(510);
        patch(&app, a, &alice, json!({"status": "resolved"})).await;
        rate(&app, &a_session, 4).await;

        // Tuesday 10:00: B opens without a message and waits.
        clock.advance(at("2026-12-01T10:00:00Z") - clock.now());
        app.bare_ticket().await;

        // Wednesday 09:00: C; the visitor writes at once, Bob takes it after
        // 2 min, answers 5 min after the message, closes it at 1 h; rated 2.
        clock.advance(at("2026-12-02T09:00:00Z") - clock.now());
        let (c, c_session) = ids(&app.simple_ticket().await);
        step(120);
        assign(&app, c, &bob).await;
        step(180);
        reply(&app, &c_session, &bob, "Hello from Bob").await;
        clock.advance(at("2026-12-02T10:00:00Z") - clock.now());
        patch(&app, c, &bob, json!({"status": "closed"})).await;
        rate(&app, &c_session, 2).await;

        // Thursday: a ticket outside the range.
        clock.advance(at("2026-12-03T12:00:00Z") - clock.now());
        app.simple_ticket().await;

        let (status, summary) = app
            .get(
                "/api/support/reports/summary?from=2026-12-01&to=2026-12-02&tz=UTC",
                Some(&alice),
            )
            .await;
        assert_eq!(status, 200, "{summary}");
        assert_eq!(summary["tickets_created"], 3, "{backend:?}");
        assert_eq!(summary["tickets_resolved"], 2);
        assert_eq!(
            summary["first_response_seconds"],
            json!({"median": 90.0, "p90": 300.0})
        );
        assert_eq!(
            summary["queue_wait_seconds"],
            json!({"median": 60.0, "p90": 120.0})
        );
        assert_eq!(
            summary["resolution_seconds"],
            json!({"median": 600.0, "p90": 3600.0})
        );
        assert_eq!(
            summary["csat"],
            json!({"average": 3.0, "count": 2, "distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 0}})
        );
        assert_eq!(
            summary["by_hour"],
            json!([[1, 9, 1], [1, 10, 1], [2, 9, 1]])
        );
        assert_eq!(
            summary["by_agent"],
            json!([
                {"agent_id": alice_id, "name": "Alice", "tickets": 1, "first_response_seconds": {"median": 90.0}, "csat_average": 4.0},
                {"agent_id": bob_id, "name": "Bob", "tickets": 1, "first_response_seconds": {"median": 300.0}, "csat_average": 2.0}
            ])
        );

        // In New York the same tickets fall five hours earlier, and the
        // range's days are New York's: Thursday 07:00 there is in it.
        let (_, ny) = app
            .get(
                "/api/support/reports/summary?from=2026-12-01&to=2026-12-03&tz=America/New_York",
                Some(&alice),
            )
            .await;
        assert_eq!(ny["tickets_created"], 4);
        assert_eq!(
            ny["by_hour"],
            json!([[1, 4, 1], [1, 5, 1], [2, 4, 1], [3, 7, 1]])
        );

        // One day with nothing.
        let (_, empty) = app
            .get(
                "/api/support/reports/summary?from=2026-11-01&to=2026-11-01",
                Some(&alice),
            )
            .await;
        assert_eq!(empty["tickets_created"], 0);
        assert_eq!(
            empty["first_response_seconds"],
            json!({"median": null, "p90": null})
        );
        assert_eq!(empty["csat"]["average"], Value::Null);

        let response = app
            .client
            .get(app.url("/api/support/reports/tickets.csv?from=2026-12-01&to=2026-12-02&tz=UTC"))
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        assert!(
            response.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .contains("tickets-2026-12-01-2026-12-02.csv")
        );
        let csv = response.text().await.unwrap();
        let rows: Vec<&str> = csv.lines().collect();
        assert_eq!(rows.len(), 4, "{csv}");
        assert!(rows[0].starts_with("id,created_at,status,priority,subject"));
        assert_eq!(
            rows[1],
            format!(
                "{a},2026-12-01T09:00:00+00:00,resolved,medium,Order not arrived,John Doe,john@example.com,{alice_id},Alice,,90,60,600,4"
            )
        );
        assert!(
            rows[2].contains(",open,") && rows[2].ends_with(",,,,"),
            "{}",
            rows[2]
        );
    }
}

#[tokio::test]
async fn bad_ranges_are_refused_and_visitors_see_no_reports() {
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await.unwrap();
    let token = app.admin_token.clone();
    for (query, field) in [
        ("from=2026-12-08&to=2026-12-01", "from"),
        ("from=yesterday", "from"),
        ("to=2026-13-01", "to"),
        ("tz=Nowhere/Town", "tz"),
        ("from=2020-01-01&to=2026-12-01", "from"),
    ] {
        for path in ["summary", "tickets.csv"] {
            let (status, body) = app
                .get(
                    &format!("/api/support/reports/{path}?{query}"),
                    Some(&token),
                )
                .await;
            assert_eq!(status, 400, "{path}?{query}: {body}");
            assert_eq!(body["error"]["field"], field, "{path}?{query}");
        }
    }
    let (status, _) = app.get("/api/support/reports/summary", None).await;
    assert_eq!(status, 401);
    let (status, body) = app.get("/api/support/reports/summary", Some(&token)).await;
    assert_eq!(status, 200, "the default range: {body}");
}

/// The store's report pages cover every ticket once, in (created_at, id)
/// order, tickets of one instant included (the keyset continues by id).
#[tokio::test]
async fn report_pages_cover_tickets_of_the_same_instant_once() {
    use livesupport::domain::{NewTicket, Priority};
    use livesupport::store::{PostgresStore, SqliteStore, Store};
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some((url, _dir)) = common::database(backend).await else {
            continue;
        };
        let clock = Clock::manual(at("2026-12-01T09:00:00Z"));
        let store: Box<dyn Store> = match backend {
            Backend::Sqlite => Box::new(
                SqliteStore::connect(&url, &StoreOptions::with_pool_size(2))
                    .await
                    .unwrap()
                    .with_clock(clock.clone()),
            ),
            Backend::Postgres => Box::new(
                PostgresStore::connect(&url, &StoreOptions::with_pool_size(4))
                    .await
                    .unwrap()
                    .with_clock(clock.clone()),
            ),
        };
        let mut created = Vec::new();
        for n in 0..7 {
            // Three at 09:00, four at 09:01.
            if n == 3 {
                clock.advance(Duration::minutes(1));
            }
            let new = NewTicket {
                session_id: uuid::Uuid::new_v4().to_string(),
                user_id: None,
                user_name: format!("Visitor {n}"),
                user_email: None,
                subject: "Paging".into(),
                priority: Priority::Medium,
                first_message: None,
            };
            created.push(store.create_ticket(&new).await.unwrap().0.id);
        }
        let (from, to) = (at("2026-12-01T00:00:00Z"), at("2026-12-02T00:00:00Z"));
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store.report_tickets(from, to, after, 2).await.unwrap();
            seen.extend(page.iter().map(|t| t.id));
            match page.last() {
                Some(last) if page.len() == 2 => after = Some((last.created_at, last.id)),
                _ => break,
            }
        }
        assert_eq!(seen, created, "{backend:?}");
    }
}
