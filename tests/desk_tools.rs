//! The agents' tools of issue 15 through real HTTP and sockets against a real
//! server on port 0 with its own database: canned responses (admins write, every
//! agent reads and counts a use) and ticket labels (set by PATCH, listed with
//! counts, filtered in the queue, pushed live to every dashboard, never shown to
//! the visitor).

mod common;

use common::{Backend, TestApp, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use std::time::Duration;

// ---------------------------------------------------------------------------
// Helpers

/// Asserts an error response: status, code, the field of a validation error, and
/// no database internals in the body.
#[track_caller]
fn assert_error(case: &str, response: &(u16, Value), status: u16, code: &str, field: Option<&str>) {
    let (got_status, body) = response;
    assert_eq!(*got_status, status, "{case}: status (body {body})");
    assert_eq!(body["error"]["code"], code, "{case}: code (body {body})");
    if let Some(field) = field {
        assert_eq!(body["error"]["field"], field, "{case}: field (body {body})");
    }
    let text = body.to_string().to_lowercase();
    for leak in ["sqlx", "sqlite", "postgres", "constraint", "support_"] {
        assert!(!text.contains(leak), "{case}: {leak:?} leaked in {body}");
    }
}

async fn create_canned(app: &TestApp, shortcut: &str, title: &str, body: &str) -> Value {
    let (status, created) = app
        .send_json(
            "POST",
            "/api/support/canned",
            Some(&app.admin_token),
            json!({"shortcut": shortcut, "title": title, "body": body}),
        )
        .await;
    assert_eq!(status, 201, "create canned {shortcut}: {created}");
    created
}

async fn shortcuts(app: &TestApp, query: &str, token: &str) -> Vec<String> {
    let (status, body) = app
        .get(&format!("/api/support/canned{query}"), Some(token))
        .await;
    assert_eq!(status, 200, "list canned {query}: {body}");
    body["canned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["shortcut"].as_str().unwrap().to_owned())
        .collect()
}

async fn set_labels(app: &TestApp, ticket_id: i64, labels: Value) -> (u16, Value) {
    app.send_json(
        "PATCH",
        &format!("/api/support/tickets/{ticket_id}"),
        Some(&app.admin_token),
        json!({ "labels": labels }),
    )
    .await
}

async fn queue_ids(app: &TestApp, query: &str) -> Vec<i64> {
    let (status, body) = app
        .get(
            &format!("/api/support/tickets{query}"),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(status, 200, "list tickets {query}: {body}");
    body["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect()
}

// ---------------------------------------------------------------------------
// Canned responses

async fn admins_create_update_and_delete_canned_responses(app: TestApp) {
    let created = create_canned(
        &app,
        "hello",
        "Greeting",
        "Hi {{visitor.name}}, I am {{agent.name}}.",
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["shortcut"], "hello");
    assert_eq!(created["title"], "Greeting");
    assert_eq!(
        created["body"], "Hi {{visitor.name}}, I am {{agent.name}}.",
        "placeholders stay as written"
    );
    assert_eq!(created["uses"], 0);
    assert!(created["updated_at"].is_string());

    let (status, listed) = app.get("/api/support/canned", Some(&app.admin_token)).await;
    assert_eq!(status, 200);
    assert_eq!(listed["canned"], json!([created]));

    let (status, patched) = app
        .send_json(
            "PATCH",
            &format!("/api/support/canned/{id}"),
            Some(&app.admin_token),
            json!({"title": "  Hello  "}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["title"], "Hello", "titles are trimmed");
    assert_eq!(patched["body"], created["body"], "an absent field is kept");

    let path = format!("/api/support/canned/{id}");
    let deleted = app
        .client
        .delete(app.url(&path))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert!(shortcuts(&app, "", &app.admin_token).await.is_empty());

    for (case, method, path) in [
        ("patch a deleted one", "PATCH", path.clone()),
        ("delete it again", "DELETE", path.clone()),
        ("count a use of it", "POST", format!("{path}/use")),
        (
            "a non-numeric id",
            "PATCH",
            "/api/support/canned/hello".to_owned(),
        ),
    ] {
        let response = app
            .send_json(method, &path, Some(&app.admin_token), json!({"title": "x"}))
            .await;
        assert_error(case, &response, 404, "not_found", None);
    }
}

async fn plain_agents_read_and_use_canned_responses_but_cannot_write_them(app: TestApp) {
    let created = create_canned(&app, "refund", "Refunds", "We refund within 5 days.").await;
    let id = created["id"].as_i64().unwrap();
    let (_, agent) = app.create_agent("bea@example.com", "Bea", "agent").await;
    assert_eq!(shortcuts(&app, "", &agent).await, ["refund"]);
    let used = app
        .send_json(
            "POST",
            &format!("/api/support/canned/{id}/use"),
            Some(&agent),
            json!({}),
        )
        .await;
    assert_eq!(used.0, 204, "any agent counts a use: {:?}", used.1);

    for (case, method, path) in [
        ("create", "POST", "/api/support/canned".to_owned()),
        ("update", "PATCH", format!("/api/support/canned/{id}")),
        ("delete", "DELETE", format!("/api/support/canned/{id}")),
    ] {
        let body = json!({"shortcut": "mine", "title": "Mine", "body": "Mine"});
        let response = app.send_json(method, &path, Some(&agent), body).await;
        assert_error(case, &response, 403, "forbidden", None);
    }
    let listed = app.get("/api/support/canned", Some(&agent)).await.1;
    assert_eq!(listed["canned"][0]["title"], "Refunds", "nothing changed");
    assert_eq!(listed["canned"][0]["uses"], 1);

    let anonymous = app.get("/api/support/canned", None).await;
    assert_error("no token", &anonymous, 401, "unauthorized", None);
    let anonymous = app
        .send_json(
            "POST",
            &format!("/api/support/canned/{id}/use"),
            None,
            json!({}),
        )
        .await;
    assert_error("no token, use", &anonymous, 401, "unauthorized", None);
}

async fn a_duplicate_shortcut_is_409_conflict(app: TestApp) {
    create_canned(&app, "refund", "Refunds", "Body").await;
    let other = create_canned(&app, "hello", "Hello", "Body").await;
    let again = app
        .send_json(
            "POST",
            "/api/support/canned",
            Some(&app.admin_token),
            json!({"shortcut": "refund", "title": "T", "body": "B"}),
        )
        .await;
    assert_error("create", &again, 409, "conflict", None);
    let renamed = app
        .send_json(
            "PATCH",
            &format!("/api/support/canned/{}", other["id"]),
            Some(&app.admin_token),
            json!({"shortcut": "refund"}),
        )
        .await;
    assert_error("rename", &renamed, 409, "conflict", None);
    assert_eq!(
        shortcuts(&app, "", &app.admin_token).await,
        ["hello", "refund"]
    );
}

async fn bad_canned_inputs_are_refused_naming_the_field(app: TestApp) {
    let long_body = "x".repeat(8193);
    let long_title = "t".repeat(101);
    let long_shortcut = "s".repeat(33);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "missing shortcut",
            json!({"title": "T", "body": "B"}),
            "shortcut",
        ),
        (
            "empty shortcut",
            json!({"shortcut": "", "title": "T", "body": "B"}),
            "shortcut",
        ),
        (
            "too long shortcut",
            json!({"shortcut": long_shortcut, "title": "T", "body": "B"}),
            "shortcut",
        ),
        (
            "uppercase shortcut",
            json!({"shortcut": "Refund", "title": "T", "body": "B"}),
            "shortcut",
        ),
        (
            "shortcut with a space",
            json!({"shortcut": "re fund", "title": "T", "body": "B"}),
            "shortcut",
        ),
        (
            "shortcut with a slash",
            json!({"shortcut": "/refund", "title": "T", "body": "B"}),
            "shortcut",
        ),
        (
            "shortcut not a string",
            json!({"shortcut": 7, "title": "T", "body": "B"}),
            "shortcut",
        ),
        (
            "missing title",
            json!({"shortcut": "ok", "body": "B"}),
            "title",
        ),
        (
            "blank title",
            json!({"shortcut": "ok", "title": "   ", "body": "B"}),
            "title",
        ),
        (
            "too long title",
            json!({"shortcut": "ok", "title": long_title, "body": "B"}),
            "title",
        ),
        (
            "missing body",
            json!({"shortcut": "ok", "title": "T"}),
            "body",
        ),
        (
            "blank body",
            json!({"shortcut": "ok", "title": "T", "body": " \n "}),
            "body",
        ),
        (
            "too long body",
            json!({"shortcut": "ok", "title": "T", "body": long_body}),
            "body",
        ),
    ];
    for (case, body, field) in &cases {
        let response = app
            .send_json(
                "POST",
                "/api/support/canned",
                Some(&app.admin_token),
                body.clone(),
            )
            .await;
        assert_error(case, &response, 400, "validation_failed", Some(field));
    }
    let created = create_canned(&app, "ok", "T", &"x".repeat(8192)).await;
    let path = format!("/api/support/canned/{}", created["id"]);
    for (case, body, field) in [
        ("nothing to change", json!({}), "shortcut"),
        ("uppercase shortcut", json!({"shortcut": "OK"}), "shortcut"),
        ("blank title", json!({"title": ""}), "title"),
        ("too long body", json!({"body": "y".repeat(8193)}), "body"),
    ] {
        let response = app
            .send_json("PATCH", &path, Some(&app.admin_token), body)
            .await;
        assert_error(
            &format!("patch: {case}"),
            &response,
            400,
            "validation_failed",
            Some(field),
        );
    }
    let too_long_q = format!("/api/support/canned?q={}", "q".repeat(201));
    let response = app.get(&too_long_q, Some(&app.admin_token)).await;
    assert_error(
        "a too long q",
        &response,
        400,
        "validation_failed",
        Some("q"),
    );
}

async fn canned_responses_are_searched_and_sorted_by_use(app: TestApp) {
    let refund = create_canned(&app, "refund", "Money back", "We refund within 5 days.").await;
    create_canned(&app, "hello", "Greeting", "Hi {{visitor.name}}!").await;
    create_canned(&app, "shipping", "Parcels", "Parcels leave daily.").await;
    let token = app.admin_token.clone();
    assert_eq!(
        shortcuts(&app, "", &token).await,
        ["hello", "refund", "shipping"],
        "unused: by shortcut"
    );
    for _ in 0..2 {
        let used = app
            .send_json(
                "POST",
                &format!("/api/support/canned/{}/use", refund["id"]),
                Some(&token),
                json!({}),
            )
            .await;
        assert_eq!(used.0, 204);
    }
    assert_eq!(
        shortcuts(&app, "", &token).await,
        ["refund", "hello", "shipping"],
        "most used first"
    );
    assert_eq!(
        shortcuts(&app, "?q=PARCEL", &token).await,
        ["shipping"],
        "title and body, any case"
    );
    assert_eq!(
        shortcuts(&app, "?q=ref", &token).await,
        ["refund"],
        "shortcut"
    );
    assert_eq!(
        shortcuts(&app, "?q=e", &token).await,
        ["refund", "hello", "shipping"],
        "search keeps the order"
    );
    assert_eq!(
        shortcuts(&app, "?q=%20%20", &token).await.len(),
        3,
        "a blank q is no filter"
    );
}

// ---------------------------------------------------------------------------
// Labels

async fn labels_are_set_by_patch_normalised_and_counted(app: TestApp) {
    let (ticket_id, _) = app.bare_ticket().await;
    let (other_id, _) = app.bare_ticket().await;
    let before = app
        .get(
            &format!("/api/support/tickets/{ticket_id}"),
            Some(&app.admin_token),
        )
        .await
        .1;
    assert_eq!(before["labels"], json!([]), "a new ticket has none");

    let (status, ticket) = set_labels(&app, ticket_id, json!([" VIP", "billing", "vip"])).await;
    assert_eq!(status, 200, "{ticket}");
    assert_eq!(
        ticket["labels"],
        json!(["billing", "vip"]),
        "trimmed, lowercased, unique, sorted"
    );
    assert!(ticket["updated_at"].as_str().unwrap() > before["updated_at"].as_str().unwrap());
    assert_eq!(ticket["last_seq"], before["last_seq"], "no system note");

    // Combined with a status change in one request.
    let (status, both) = app
        .send_json(
            "PATCH",
            &format!("/api/support/tickets/{other_id}"),
            Some(&app.admin_token),
            json!({"status": "closed", "labels": ["billing"]}),
        )
        .await;
    assert_eq!(status, 200, "{both}");
    assert_eq!(
        (both["status"].as_str(), &both["labels"]),
        (Some("closed"), &json!(["billing"]))
    );

    let by_id = app
        .get(
            &format!("/api/support/tickets/{ticket_id}"),
            Some(&app.admin_token),
        )
        .await
        .1;
    assert_eq!(by_id["labels"], json!(["billing", "vip"]));
    let (status, labels) = app.get("/api/support/labels", Some(&app.admin_token)).await;
    assert_eq!(status, 200);
    assert_eq!(
        labels,
        json!({"labels": [{"name": "billing", "count": 2}, {"name": "vip", "count": 1}]}),
        "tickets of any status count"
    );

    let (status, cleared) = set_labels(&app, ticket_id, json!([])).await;
    assert_eq!(
        (status, &cleared["labels"]),
        (200, &json!([])),
        "[] removes every label"
    );
    let anonymous = app.get("/api/support/labels", None).await;
    assert_error(
        "labels without a token",
        &anonymous,
        401,
        "unauthorized",
        None,
    );
}

async fn bad_labels_are_refused_naming_the_field(app: TestApp) {
    let (ticket_id, _) = app.bare_ticket().await;
    let too_many: Vec<String> = (0..21).map(|i| format!("l{i}")).collect();
    for (case, labels, field) in [
        ("an empty label", json!([""]), "labels"),
        ("a blank label", json!(["  "]), "labels"),
        ("a space inside", json!(["two words"]), "labels"),
        ("a dot", json!(["a.b"]), "labels"),
        ("non-ASCII", json!(["größe"]), "labels"),
        ("33 characters", json!(["x".repeat(33)]), "labels"),
        ("21 labels", json!(too_many), "labels"),
        ("not a list", json!("vip"), "labels"),
        ("a number in the list", json!([7]), "labels[0]"),
    ] {
        let response = set_labels(&app, ticket_id, labels).await;
        assert_error(case, &response, 400, "validation_failed", Some(field));
    }
    let listed = app
        .get(
            &format!("/api/support/tickets/{ticket_id}"),
            Some(&app.admin_token),
        )
        .await
        .1;
    assert_eq!(listed["labels"], json!([]), "nothing was stored");
    let response = app
        .get("/api/support/tickets?label=a.b", Some(&app.admin_token))
        .await;
    assert_error(
        "a bad label filter",
        &response,
        400,
        "validation_failed",
        Some("label"),
    );
}

async fn the_queue_filters_by_any_of_the_labels(app: TestApp) {
    let (billing, _) = app.bare_ticket().await;
    let (vip, _) = app.bare_ticket().await;
    let (plain, _) = app.bare_ticket().await;
    set_labels(&app, billing, json!(["billing"])).await;
    set_labels(&app, vip, json!(["vip", "billing"])).await;
    assert_eq!(queue_ids(&app, "?label=billing").await, [billing, vip]);
    assert_eq!(queue_ids(&app, "?label=vip").await, [vip]);
    assert_eq!(
        queue_ids(&app, "?label=vip,nobody").await,
        [vip],
        "any of them"
    );
    assert_eq!(
        queue_ids(&app, "?label=VIP").await,
        [vip],
        "the filter is lowercased too"
    );
    assert_eq!(
        queue_ids(&app, "?label=").await,
        [billing, vip, plain],
        "empty: no filter"
    );
    let rows = app
        .get("/api/support/tickets?label=billing", Some(&app.admin_token))
        .await
        .1;
    assert_eq!(
        rows["tickets"][1]["labels"],
        json!(["billing", "vip"]),
        "queue rows carry their labels"
    );
}

async fn a_label_change_reaches_every_dashboard_live_and_never_the_visitor(app: TestApp) {
    let (ticket_id, session) = app.bare_ticket().await;
    let (_, bea) = app.create_agent("bea@example.com", "Bea", "agent").await;
    let mut admin_feed = app.feed_socket(&app.admin_token).await;
    let mut bea_feed = app.feed_socket(&bea).await;
    let mut visitor = app.user_socket(&session, "").await;
    visitor.next_of("ready").await;
    // Let the feeds start before the change.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let (status, _) = set_labels(&app, ticket_id, json!(["vip"])).await;
    assert_eq!(status, 200);
    for feed in [&mut admin_feed, &mut bea_feed] {
        let updated = feed.next_of("ticket_updated").await;
        assert_eq!(updated["ticket"]["id"], ticket_id);
        assert_eq!(updated["ticket"]["labels"], json!(["vip"]));
    }
    let seen = visitor.next_of("ticket_updated").await;
    assert_eq!(seen["ticket"]["id"], ticket_id);
    assert_eq!(
        seen["ticket"]["labels"],
        json!([]),
        "the visitor's socket gets no labels"
    );
    let guest_view = app
        .get(&format!("/api/support/ticket/{session}"), None)
        .await
        .1;
    assert_eq!(guest_view["labels"], json!([]), "nor does the guest route");

    // A supporter socket opened afterwards starts with them.
    let mut watcher = app.watching_socket(&session, &bea, "").await;
    let ready = watcher.next_of("ready").await;
    assert_eq!(ready["data"]["ticket"]["labels"], json!(["vip"]));
}

// ---------------------------------------------------------------------------
// Every case on SQLite; the whole set again on PostgreSQL when it is configured.

macro_rules! desk_tools {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    crate::$name(crate::spawn_app().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(app) = crate::spawn_app_with(crate::Backend::Postgres, |_| {}).await else {
                        return;
                    };
                    crate::$name(app).await;
                }
            )*
        }
    };
}

desk_tools!(
    admins_create_update_and_delete_canned_responses,
    plain_agents_read_and_use_canned_responses_but_cannot_write_them,
    a_duplicate_shortcut_is_409_conflict,
    bad_canned_inputs_are_refused_naming_the_field,
    canned_responses_are_searched_and_sorted_by_use,
    labels_are_set_by_patch_normalised_and_counted,
    bad_labels_are_refused_naming_the_field,
    the_queue_filters_by_any_of_the_labels,
    a_label_change_reaches_every_dashboard_live_and_never_the_visitor,
);
