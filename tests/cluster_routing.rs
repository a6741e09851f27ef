//! Presence, capacity and routing across three nodes on one PostgreSQL and one
//! Redis: an agent's status is the same on every node, a node that dies takes its
//! agents offline and their untouched tickets go back to the queue and to another
//! agent, and every waiting visitor, whatever node it is on, hears its true place
//! in the queue. Nothing here sends a later message to make something happen.
//!
//! Needs `LIVESUPPORT_TEST_POSTGRES_URL` and `LIVESUPPORT_TEST_REDIS_URL`; skipped
//! with a notice without them, failing instead under `LIVESUPPORT_REQUIRE_REDIS=1`.

mod common;

use common::ws::WsClient;
use common::{TestApp, spawn_cluster};
use livesupport::Config;
use livesupport::domain::AssignmentMode;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::Instant;

/// A node's agents are offline once its heartbeat is 30 s old; the 2 s rounds and
/// the 5 s heartbeat come on top.
const NODE_DEATH: Duration = Duration::from_secs(50);
/// Anything that needs no death to be noticed: a round or two of every node.
const SOON: Duration = Duration::from_secs(10);

/// A closed dashboard keeps its agent online this long (30 s by default).
fn short_grace(_: usize, config: &mut Config) {
    config.presence_grace_seconds = 2;
}

/// Starts `n` nodes with auto-assignment on (the test harness starts `manual`).
async fn routing_cluster(n: usize) -> Option<Vec<TestApp>> {
    let nodes = spawn_cluster(n, short_grace).await?;
    nodes[0].set_assignment(AssignmentMode::Auto).await;
    admin_takes_no_chats(&nodes[0]).await;
    Some(nodes)
}

/// Frames of `socket`, routing frames included, until `done` holds or `wait` ends.
async fn frames_until(
    socket: &mut WsClient,
    wait: Duration,
    done: impl FnMut(&Value) -> bool,
) -> (Vec<Value>, bool) {
    socket.frames_until_any(Instant::now() + wait, done).await
}

/// Every agent as `node` lists them.
async fn agents(node: &TestApp) -> Vec<Value> {
    let (status, body) = node
        .get("/api/support/agents", Some(&node.admin_token))
        .await;
    assert_eq!(status, 200, "GET /agents: {body}");
    body["agents"].as_array().expect("agents").clone()
}

async fn agent_on(node: &TestApp, id: i64) -> Value {
    agents(node)
        .await
        .into_iter()
        .find(|a| a["id"] == id)
        .expect("the agent is listed")
}

/// Waits until `node` lists agent `id` with `status`.
async fn wait_status(node: &TestApp, id: i64, status: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let agent = agent_on(node, id).await;
        if agent["status"] == status {
            assert_eq!(
                agent["online"],
                status != "offline",
                "online agrees: {agent}"
            );
            return;
        }
        assert!(
            Instant::now() < deadline,
            "agent {id} is still {} on {} after {within:?}, not {status}",
            agent["status"],
            node.address
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn set_max_chats(node: &TestApp, id: i64, max_chats: i64) {
    let (status, body) = node
        .send_json(
            "PATCH",
            &format!("/api/support/agents/{id}"),
            Some(&node.admin_token),
            json!({ "max_chats": max_chats }),
        )
        .await;
    assert_eq!(status, 200, "max_chats {max_chats}: {body}");
}

/// The admin of the test cluster takes no chat: only the test's agents do.
async fn admin_takes_no_chats(node: &TestApp) {
    let (_, me) = node
        .get("/api/support/agents/me", Some(&node.admin_token))
        .await;
    set_max_chats(node, me["id"].as_i64().expect("admin id"), 0).await;
}

/// A ticket of `priority` opened on `node` with its visitor's socket there; the
/// socket's `ready` frame is returned with it.
async fn waiting_visitor(node: &TestApp, name: &str, priority: &str) -> (i64, WsClient, Value) {
    let ticket = node
        .create_ticket(json!({
            "user_name": name,
            "subject": format!("{name}'s question"),
            "priority": priority,
            "message": "Is anybody there?"
        }))
        .await;
    let mut socket = node
        .user_socket(ticket["session_id"].as_str().expect("session id"), "")
        .await;
    let ready = socket.next_of("ready").await;
    (ticket["id"].as_i64().expect("ticket id"), socket, ready)
}

/// Reads `socket` until a `queue` frame with `position` (a number or null)
/// arrives, within `wait`; the frame's data.
async fn queue_frame(socket: &mut WsClient, position: Value, wait: Duration) -> Value {
    let (frames, met) = frames_until(socket, wait, |f| {
        f["type"] == "queue" && f["data"]["position"] == position
    })
    .await;
    assert!(
        met,
        "no queue frame with position {position} within {wait:?}: {frames:?}"
    );
    frames.last().expect("the frame")["data"].clone()
}

/// Reads `socket` until `supporter_joined` names agent `id`, within `wait`.
async fn joined_by(socket: &mut WsClient, id: i64, wait: Duration) {
    let (frames, met) = frames_until(socket, wait, |f| {
        f["type"] == "supporter_joined" && f["data"]["supporter_id"] == id
    })
    .await;
    assert!(met, "agent {id} did not join within {wait:?}: {frames:?}");
}

/// The visitor whose socket opened with `ready` got agent `id`: at once (the
/// ticket was assigned before the socket opened) or by a `supporter_joined`.
async fn got_agent(socket: &mut WsClient, ready: &Value, id: i64) {
    if ready["data"]["ticket"]["supporter_id"] != id {
        joined_by(socket, id, SOON).await;
    }
}

#[tokio::test]
async fn an_agents_presence_is_the_same_on_every_node() {
    let Some(nodes) = routing_cluster(3).await else {
        return;
    };
    let [a, b, c] = &nodes[..] else {
        unreachable!()
    };
    let (alice, alice_token) = a.create_agent("alice@example.com", "Alice", "agent").await;
    let (watcher, watcher_token) = a
        .create_agent("watcher@example.com", "Watcher", "agent")
        .await;
    set_max_chats(a, watcher, 0).await;
    let mut watching = c.feed_socket(&watcher_token).await;
    for node in [a, b, c] {
        assert_eq!(agent_on(node, alice).await["status"], "offline");
    }

    // Alice opens her dashboard on B: online everywhere, and C's dashboards hear it.
    let dashboard = b.feed_socket(&alice_token).await;
    for node in [a, b, c] {
        wait_status(node, alice, "online", SOON).await;
    }
    let (frames, met) = frames_until(&mut watching, SOON, |f| {
        f["type"] == "agent_updated"
            && f["agent"]["id"] == alice
            && f["agent"]["status"] == "online"
    })
    .await;
    assert!(met, "C's dashboard heard of Alice online: {frames:?}");

    // She chooses away on A: away everywhere.
    let (status, body) = a
        .send_json(
            "PUT",
            "/api/support/agents/me/status",
            Some(&alice_token),
            json!({ "status": "away" }),
        )
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("away")),
        "{body}"
    );
    for node in [a, b, c] {
        wait_status(node, alice, "away", SOON).await;
    }
    let (frames, met) = frames_until(&mut watching, SOON, |f| {
        f["type"] == "agent_updated" && f["agent"]["id"] == alice && f["agent"]["status"] == "away"
    })
    .await;
    assert!(met, "C's dashboard heard of Alice away: {frames:?}");

    // Closing her only dashboard takes her offline everywhere after the grace
    // (2 s here).
    dashboard.close().await;
    for node in [a, b, c] {
        wait_status(node, alice, "offline", SOON).await;
    }
}

#[tokio::test]
async fn a_killed_nodes_agent_goes_offline_and_their_untouched_tickets_go_to_another() {
    let Some(mut nodes) = routing_cluster(3).await else {
        return;
    };
    let (alice, alice_token) = nodes[0]
        .create_agent("alice@example.com", "Alice", "agent")
        .await;
    let (bob, bob_token) = nodes[0]
        .create_agent("bob@example.com", "Bob", "agent")
        .await;

    // Alice, on node 1, is the only one online: both visitors (node 0) get her.
    let _alice_dashboard = nodes[1].feed_socket(&alice_token).await;
    wait_status(&nodes[0], alice, "online", SOON).await;
    let (_, mut first, ready) = waiting_visitor(&nodes[0], "Ann", "medium").await;
    got_agent(&mut first, &ready, alice).await;
    let (_, mut second, ready) = waiting_visitor(&nodes[0], "Ben", "high").await;
    got_agent(&mut second, &ready, alice).await;
    assert_eq!(agent_on(&nodes[0], alice).await["open_chats"], 2);

    // Bob comes online on node 2; Alice's tickets stay hers while she lives.
    let _bob_dashboard = nodes[2].feed_socket(&bob_token).await;
    wait_status(&nodes[0], bob, "online", SOON).await;

    // Node 1 dies with Alice's dashboard on it, before she answered anybody.
    let killed = nodes.remove(1);
    killed.kill();
    wait_status(&nodes[0], alice, "offline", NODE_DEATH).await;
    wait_status(&nodes[1], alice, "offline", SOON).await;
    joined_by(&mut first, bob, SOON).await;
    joined_by(&mut second, bob, SOON).await;
    assert_eq!(agent_on(&nodes[0], alice).await["open_chats"], 0);
    assert_eq!(agent_on(&nodes[1], bob).await["open_chats"], 2);
}

#[tokio::test]
async fn every_waiting_visitor_hears_its_place_in_the_queue_on_any_node() {
    let Some(nodes) = routing_cluster(3).await else {
        return;
    };
    let [a, b, c] = &nodes[..] else {
        unreachable!()
    };
    let (alice, alice_token) = a.create_agent("alice@example.com", "Alice", "agent").await;
    set_max_chats(a, alice, 1).await;

    // Nobody is online: three visitors on three nodes wait, the urgent one first.
    let (_, mut oldest, ready) = waiting_visitor(a, "Ann", "medium").await;
    assert_eq!(ready["data"]["queue_position"], 1, "{ready}");
    let (_, mut urgent, ready) = waiting_visitor(b, "Ben", "urgent").await;
    assert_eq!(ready["data"]["queue_position"], 1, "{ready}");
    let (_, mut newest, ready) = waiting_visitor(c, "Cai", "medium").await;
    assert_eq!(ready["data"]["queue_position"], 3, "{ready}");

    let data = queue_frame(&mut oldest, json!(2), SOON).await;
    assert_eq!(data["agents_online"], 0, "nobody is online: {data}");
    let data = queue_frame(&mut urgent, json!(1), SOON).await;
    assert_eq!(data["agents_online"], 0);
    let data = queue_frame(&mut newest, json!(3), SOON).await;
    assert_eq!(data["agents_online"], 0);

    // Alice (room for one) comes online on B: she gets the urgent ticket, and the
    // others move up on their own nodes.
    let _dashboard = b.feed_socket(&alice_token).await;
    let (mut joined, mut left_queue) = (false, false);
    let (frames, met) = frames_until(&mut urgent, SOON, |f| {
        joined |= f["type"] == "supporter_joined" && f["data"]["supporter_id"] == alice;
        left_queue |= f["type"] == "queue" && f["data"]["position"].is_null();
        joined && left_queue
    })
    .await;
    assert!(
        met,
        "the urgent visitor got Alice and left the queue: {frames:?}"
    );
    let data = queue_frame(&mut oldest, json!(1), SOON).await;
    assert_eq!(data["agents_online"], 1, "{data}");
    let data = queue_frame(&mut newest, json!(2), SOON).await;
    assert_eq!(data["agents_online"], 1, "{data}");
}
