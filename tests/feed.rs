//! The dashboards' feed (issue 20, point 2): notices instead of messages,
//! coalesced per ticket, and routed by scope so that a node subscribes only
//! the feed channels its dashboards need. Real sockets; the cluster case runs
//! on real PostgreSQL and Redis.

mod common;

use common::ws::{WsClient, connect};
use common::{TestApp, redis_url, spawn_app, spawn_cluster};
use livesupport::chat::notices::NOTICE_WINDOW;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A ticket (no first message), its id and session id.
async fn ticket(app: &TestApp, subject: &str) -> (i64, String) {
    let t = app
        .create_ticket(json!({"user_name": "John Doe", "subject": subject}))
        .await;
    (
        t["id"].as_i64().unwrap(),
        t["session_id"].as_str().unwrap().to_owned(),
    )
}

async fn assign(app: &TestApp, ticket_id: i64, agent_id: i64) {
    let (status, body) = app
        .send_json(
            "POST",
            &format!("/api/support/tickets/{ticket_id}/assign"),
            Some(&app.admin_token),
            json!({ "supporter_id": agent_id }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// The visitor says `text` on a socket of its own and waits for the ack.
async fn visitor_says(app: &TestApp, session: &str, text: &str) {
    let mut user = app.user_socket(session, "").await;
    user.next_of("ready").await;
    user.say(text, &format!("k-{text}")).await;
    common::ws::until_key(&mut user, &format!("k-{text}")).await;
    user.close().await;
}

/// Reads the feed for `wait` and returns every notice it carried, by ticket.
async fn notices_within(feed: &mut WsClient, wait: Duration) -> HashMap<i64, Vec<Value>> {
    let mut by_ticket: HashMap<i64, Vec<Value>> = HashMap::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Some(frame) = feed
        .try_next_any(deadline.saturating_duration_since(tokio::time::Instant::now()))
        .await
    {
        assert_ne!(
            frame["type"], "message",
            "the feed carries no message: {frame}"
        );
        if frame["type"] == "notices" {
            for notice in frame["data"]["notices"].as_array().unwrap() {
                by_ticket
                    .entry(notice["ticket_id"].as_i64().unwrap())
                    .or_default()
                    .push(notice.clone());
            }
        }
    }
    by_ticket
}

#[tokio::test]
async fn a_burst_of_messages_reaches_the_feed_as_a_few_notices_counting_every_one() {
    let app = spawn_app().await;
    let mut feed = app.feed_socket(&app.admin_token).await;
    let (ticket_id, session) = ticket(&app, "Many questions").await;
    let mut user = app.user_socket(&session, "").await;
    user.next_of("ready").await;
    // 20 at once: the socket's burst. None waits for the one before.
    for n in 1..=20 {
        user.say(&format!("Question {n}"), &format!("q{n}")).await;
    }
    common::ws::until_key(&mut user, "q20").await;

    let mut notices = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while notices.last().is_none_or(|n: &Value| n["seq"] != 20) {
        let frame = feed
            .try_next_any(deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await
            .unwrap_or_else(|| panic!("no notice up to seq 20: {notices:?}"));
        assert_ne!(frame["type"], "message", "the feed carries no message");
        if frame["type"] != "notices" {
            continue;
        }
        let of_ticket = frame["data"]["notices"].as_array().unwrap().iter();
        let of_ticket: Vec<&Value> = of_ticket.filter(|n| n["ticket_id"] == ticket_id).collect();
        assert!(
            of_ticket.len() <= 1,
            "one notice per ticket in a frame: {frame}"
        );
        notices.extend(of_ticket.into_iter().cloned());
    }
    let counted: i64 = notices
        .iter()
        .map(|n| n["visitor_messages"].as_i64().unwrap())
        .sum();
    assert_eq!(
        counted, 20,
        "every visitor message counted once: {notices:?}"
    );
    assert!(
        notices.len() < 20,
        "coalesced: {} notices for 20 messages",
        notices.len()
    );
    let seqs: Vec<i64> = notices.iter().map(|n| n["seq"].as_i64().unwrap()).collect();
    assert!(seqs.is_sorted(), "in seq order: {seqs:?}");
    let last = notices.last().unwrap();
    assert_eq!(last["preview"], "Question 20");
    assert_eq!(last["unread"], 20);
    assert_eq!(last["sender_type"], "user");
    assert!(last["waiting_since"].is_string() && last["at"].is_string());
}

/// How many windows' rows the node has read for notices.
async fn notice_reads(app: &TestApp) -> f64 {
    app.metric("livesupport_store_operation_duration_seconds_count{operation=\"ticket_summaries\"}")
        .await
}

#[tokio::test]
async fn no_notice_is_read_while_no_dashboard_is_open() {
    let app = spawn_app().await;
    let (ticket_id, session) = ticket(&app, "Nobody watching").await;
    visitor_says(&app, &session, "Anyone there?").await;
    // Three windows close with the ticket noted and no feed open anywhere.
    tokio::time::sleep(NOTICE_WINDOW * 3).await;
    assert_eq!(notice_reads(&app).await, 0.0, "nobody to tell");

    let mut feed = app.feed_socket(&app.admin_token).await;
    visitor_says(&app, &session, "Hello?").await;
    let notice = feed.notice_of(ticket_id, 2).await;
    assert_eq!(notice["preview"], "Hello?");
    assert_eq!(notice["unread"], 2);
    assert!(notice_reads(&app).await >= 1.0);
}

#[tokio::test]
async fn a_mine_feed_carries_the_queue_and_the_agents_own_tickets_only() {
    let app = spawn_app().await;
    let (alice, alice_token) = app
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let (bob, _) = app.create_agent("bob@example.com", "Bob", "agent").await;
    let mut alices = app.feed_socket_with(&alice_token, "?scope=mine").await;
    let mut everything = app.feed_socket(&app.admin_token).await;

    let (unassigned, s1) = ticket(&app, "Nobody has it").await;
    let (hers, s2) = ticket(&app, "Alice has it").await;
    let (his, s3) = ticket(&app, "Bob has it").await;
    assign(&app, hers, alice).await;
    assign(&app, his, bob).await;
    for session in [&s1, &s2, &s3] {
        visitor_says(&app, session, "Hello?").await;
    }

    let seen = notices_within(&mut alices, Duration::from_secs(2)).await;
    assert!(
        seen.contains_key(&unassigned),
        "the queue's ticket: {seen:?}"
    );
    assert!(seen.contains_key(&hers), "her own ticket: {seen:?}");
    assert!(!seen.contains_key(&his), "not Bob's: {seen:?}");
    let all = notices_within(&mut everything, Duration::from_millis(500)).await;
    for id in [unassigned, hers, his] {
        assert!(all.contains_key(&id), "scope all sees ticket {id}: {all:?}");
    }

    // She widens her feed on the open socket: Bob's ticket now reaches her.
    alices
        .send(json!({"type": "scope", "data": {"scope": "all"}}))
        .await;
    // The scope change and the message may cross: say it until she hears it.
    let mut heard = false;
    for n in 0..10 {
        visitor_says(&app, &s3, &format!("Still there? {n}")).await;
        if notices_within(&mut alices, Duration::from_millis(500))
            .await
            .contains_key(&his)
        {
            heard = true;
            break;
        }
    }
    assert!(heard, "scope all carries Bob's ticket");

    alices
        .send(json!({"type": "scope", "data": {"scope": "everything"}}))
        .await;
    let refused = alices.next_of("error").await;
    assert_eq!(refused["error"]["code"], "validation_failed");
    assert_eq!(refused["error"]["field"], "data.scope");
}

#[tokio::test]
async fn a_feed_with_an_unknown_scope_is_refused_before_the_upgrade() {
    let app = spawn_app().await;
    let auth = format!("Bearer {}", app.admin_token);
    let refused = connect(
        &app.ws_url("/ws/support/agent?scope=everyone"),
        &[("authorization", auth.as_str())],
    )
    .await;
    assert_eq!(refused.err(), Some(400));
}

/// `PUBSUB NUMSUB` of `channels` on the test Redis: subscribers of each.
async fn subscribers(channels: &[String]) -> Vec<i64> {
    let url = redis_url().expect("Redis is configured");
    let address = url.trim_start_matches("redis://").trim_end_matches('/');
    let mut conn = tokio::net::TcpStream::connect(address)
        .await
        .expect("Redis answers");
    let mut command = format!(
        "*{}\r\n$6\r\nPUBSUB\r\n$6\r\nNUMSUB\r\n",
        channels.len() + 2
    );
    for channel in channels {
        command.push_str(&format!("${}\r\n{channel}\r\n", channel.len()));
    }
    conn.write_all(command.as_bytes()).await.unwrap();
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    // The reply ends with the last channel's count line.
    loop {
        let n = conn.read(&mut buf).await.unwrap();
        assert!(n > 0, "Redis closed the connection");
        reply.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&reply);
        let counts: Vec<i64> = text
            .split("\r\n")
            .filter_map(|line| line.strip_prefix(':')?.parse().ok())
            .collect();
        if counts.len() == channels.len() && text.ends_with("\r\n") {
            return counts;
        }
    }
}

/// Waits until the channels have these subscriber counts.
async fn wait_subscribers(channels: &[String], want: &[i64]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = subscribers(channels).await;
        if got == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{channels:?}: {got:?}, not {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_node_subscribes_only_the_feed_channels_its_dashboards_need() {
    let prefix = Mutex::new(String::new());
    let Some(nodes) = spawn_cluster(2, |_, config| {
        *prefix.lock().unwrap() = config.redis_channel_prefix.clone();
    })
    .await
    else {
        return;
    };
    let prefix = prefix.into_inner().unwrap();
    let [a, b] = &nodes[..] else { unreachable!() };
    let (alice, alice_token) = a.create_agent("alice@example.com", "Alice", "agent").await;
    let (bob, _) = a.create_agent("bob@example.com", "Bob", "agent").await;
    let channels: Vec<String> = [
        "feed:queue".to_owned(),
        "feed:team".to_owned(),
        format!("feed:agent:{alice}"),
        format!("feed:agent:{bob}"),
    ]
    .iter()
    .map(|c| format!("{prefix}{c}"))
    .collect();
    wait_subscribers(&channels, &[0, 0, 0, 0]).await;

    // No dashboard on either node: neither reads a window's rows.
    let (quiet, s0) = ticket(a, "Before any dashboard").await;
    visitor_says(a, &s0, "Unwatched").await;
    visitor_says(b, &s0, "Unwatched too").await;
    tokio::time::sleep(NOTICE_WINDOW * 3).await;
    assert_eq!(notice_reads(a).await, 0.0, "nobody to tell (both nodes)");

    // Alice's dashboard on B, scope mine: B takes the queue and her channel only.
    let mut alices = b.feed_socket_with(&alice_token, "?scope=mine").await;
    wait_subscribers(&channels, &[1, 0, 1, 0]).await;

    // Her ticket's messages, stored on A, reach her on B; Bob's never do.
    let (hers, s1) = ticket(a, "Alice has it").await;
    let (his, s2) = ticket(a, "Bob has it").await;
    assign(a, hers, alice).await;
    assign(a, his, bob).await;
    visitor_says(a, &s1, "For Alice").await;
    visitor_says(a, &s2, "For Bob").await;
    // The assignment's note and her message may fall in two windows.
    let mut notice = alices.notice_of(hers, 1).await;
    while notice["preview"] != "For Alice" {
        let seq = notice["seq"].as_i64().unwrap();
        notice = alices.notice_of(hers, seq + 1).await;
    }
    let seen = notices_within(&mut alices, Duration::from_millis(700)).await;
    assert!(!seen.contains_key(&his), "not Bob's ticket: {seen:?}");
    assert!(
        !seen.contains_key(&quiet),
        "its windows were dropped: {seen:?}"
    );

    // An admin's dashboard of every ticket on B adds the team's channel; gone, it
    // is dropped again.
    let everything = b.feed_socket(&a.admin_token).await;
    wait_subscribers(&channels, &[1, 1, 1, 0]).await;
    everything.close().await;
    wait_subscribers(&channels, &[1, 0, 1, 0]).await;
    alices.close().await;
    wait_subscribers(&channels, &[0, 0, 0, 0]).await;
}
