//! Several nodes on one PostgreSQL and one Redis, as behind a load balancer with
//! no sticky sessions: a visitor on one node chats with an agent on another
//! exactly as on one node, and no acknowledged message is lost when a node is
//! killed or Redis restarts: what was sent while Redis was away arrives by
//! itself, with no later message to trigger a refill, and the nodes stay ready.
//!
//! Needs `LIVESUPPORT_TEST_POSTGRES_URL` and `LIVESUPPORT_TEST_REDIS_URL` (the
//! Redis restart test runs a private `redis-server` of its own); skipped with a
//! notice without them, failing instead under `LIVESUPPORT_REQUIRE_REDIS=1`.

mod common;

use common::ws::{
    Ended, RECOVERY_DEADLINE, WsClient, assert_gapless, key, seq, until_key, until_seq,
};
use common::{PrivateRedis, TestApp, spawn_cluster, spawn_cluster_on};
use futures_util::StreamExt;
use livesupport::Config;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::future::Future;
use std::process::Command;
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const AGENT_PASSWORD: &str = "agent-password-123";
/// The longest any single wait in these tests may take.
const WAIT: Duration = Duration::from_secs(20);

/// Chat fast: the bursts here are far over the default per-connection rate.
fn fast(_: usize, config: &mut Config) {
    config.message_burst = 10_000;
    config.message_rate_per_second = 10_000;
}

async fn within<T>(what: &str, work: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, work)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// Polls `/readyz` until it answers `status`.
async fn wait_readiness(app: &TestApp, status: u16) {
    within(&format!("/readyz answering {status}"), async {
        while app.readiness().await != status {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_visitor_and_an_agent_on_different_nodes_chat_as_on_one() {
    let Some(nodes) = spawn_cluster(3, |_, _| {}).await else {
        return;
    };
    let [a, b, c] = &nodes[..] else {
        unreachable!()
    };
    // An agent created through one node logs in on another; the token works on all.
    let (agent_id, _) = b.create_agent("alice@example.com", "Alice", "agent").await;
    let token = c.login("alice@example.com", AGENT_PASSWORD).await;
    for node in &nodes {
        let (status, me) = node.get("/api/support/agents/me", Some(&token)).await;
        assert_eq!(status, 200, "a token of node C works on {}", node.address);
        assert_eq!(me["id"], agent_id);
    }

    let mut feed = c.feed_socket(&a.admin_token).await;
    let (ticket_id, session) = a.bare_ticket().await;
    let created = within("ticket_created on the feed", feed.next_of("ticket_created")).await;
    assert_eq!(created["ticket"]["id"], ticket_id);

    let mut user = a.user_socket(&session, "").await;
    user.next_of("ready").await;
    let mut supporter = b.supporter_socket(&session, &token, "").await;
    while user.next_of("presence").await["data"]["supporter_connected"] != true {}
    let joined = user.next_of("supporter_joined").await;
    assert_eq!(joined["data"]["supporter_id"], agent_id);
    assert_eq!(joined["data"]["supporter_name"], "Alice");
    assert_eq!(seq(&joined), 1);
    assert_eq!(seq(&supporter.next_of("supporter_joined").await), 1);
    let updated = feed.next_of("ticket_updated").await;
    assert_eq!(updated["ticket"]["status"], "assigned");

    user.send(json!({"type": "typing", "data": {"is_typing": true}}))
        .await;
    let typing = supporter.next_of("typing").await;
    assert_eq!(typing["data"]["sender_type"], "user");
    assert_eq!(typing["data"]["is_typing"], true);
    supporter
        .send(json!({"type": "typing", "data": {"is_typing": true}}))
        .await;
    let typing = user.next_of("typing").await;
    assert_eq!(typing["data"]["sender_type"], "supporter");
    assert_eq!(typing["data"]["sender_name"], "Alice");

    user.say("Where is my order?", "u1").await;
    let heard = until_key(&mut supporter, "u1").await;
    assert_eq!(
        heard.last().unwrap()["message"]["message"],
        "Where is my order?"
    );
    assert_eq!(seq(&until_key(&mut user, "u1").await[0]), 2, "the ack");
    // The dashboards get a notice (its row), never the text.
    let on_feed = feed.notice_of(ticket_id, 2).await;
    assert_eq!(on_feed["sender_type"], "user");
    assert_eq!(on_feed["preview"], "Where is my order?");

    supporter.say("It left the warehouse today.", "s1").await;
    let reply = until_key(&mut user, "s1").await;
    let reply = reply.last().unwrap();
    assert_eq!(reply["message"]["sender_type"], "supporter");
    assert_eq!(reply["message"]["sender_name"], "Alice");
    assert_eq!(seq(reply), 3);
    // A workflow step is for agents: the agent gets it (seq 4); the visitor's
    // numbering (on another node) never counts it, as the tab below shows.
    let note = supporter.next_of("system").await;
    assert_eq!(note["message"]["visibility"], "internal");
    assert_eq!(seq(&note), 4);

    // A second tab of the visitor, on the third node, replays and then goes live.
    let mut tab = c.user_socket(&session, "?since=0").await;
    let ready = tab.next_of("ready").await;
    let last = ready["data"]["last_seq"].as_i64().unwrap();
    assert_eq!(ready["data"]["replayed"], last);
    assert_gapless("the new tab", &until_seq(&mut tab, last).await, 1, last);
    supporter.say("Anything else?", "s2").await;
    let live = tab.next_message().await;
    assert_eq!(key(&live), Some("s2"));
    assert_eq!(seq(&live), last + 1);
}

#[tokio::test]
async fn interleaved_bursts_from_both_sides_arrive_in_seq_order_on_every_node() {
    let Some(nodes) = spawn_cluster(3, fast).await else {
        return;
    };
    let [a, b, c] = &nodes[..] else {
        unreachable!()
    };
    let (_, token) = b.create_agent("alice@example.com", "Alice", "agent").await;
    let (_, session) = a.bare_ticket().await;
    let mut watcher = c.user_socket(&session, "").await;
    watcher.next_of("ready").await;
    let mut user = a.user_socket(&session, "").await;
    user.next_of("ready").await;
    let mut supporter = b.supporter_socket(&session, &token, "").await;
    supporter.next_of("supporter_joined").await;

    const EACH: usize = 100;
    // The join note, 200 chat messages and the in_progress note; the visitors'
    // numbering leaves out the in_progress note (internal).
    let total = 2 + 2 * EACH as i64;
    let public_total = 1 + 2 * EACH as i64;
    let side = |mut client: WsClient, prefix: &'static str, total: i64| {
        tokio::spawn(async move {
            for i in 0..EACH {
                client
                    .say(&format!("{prefix}{i}"), &format!("{prefix}{i}"))
                    .await;
                if i % 10 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            within("the burst comes back", until_seq(&mut client, total)).await
        })
    };
    let from_user = side(user, "u", public_total);
    let from_supporter = side(supporter, "s", total);
    let watched = within(
        "the watcher sees the burst",
        until_seq(&mut watcher, public_total),
    )
    .await;
    let seen_by_user = from_user.await.unwrap();
    let seen_by_supporter = from_supporter.await.unwrap();

    assert_gapless("the visitor on node A", &seen_by_user, 1, public_total);
    // The agent's started after the join note it caused.
    assert_gapless("the agent on node B", &seen_by_supporter, 2, total);
    assert_gapless("a watcher on node C", &watched, 1, public_total);
    for (who, frames) in [
        ("A", &seen_by_user),
        ("B", &seen_by_supporter),
        ("C", &watched),
    ] {
        let keys: Vec<&str> = frames.iter().filter_map(key).collect();
        assert_eq!(keys.len(), 2 * EACH, "node {who} got every chat message");
        for prefix in ["u", "s"] {
            let order: Vec<usize> = keys
                .iter()
                .filter_map(|k| k.strip_prefix(prefix)?.parse().ok())
                .collect();
            assert_eq!(
                order,
                (0..EACH).collect::<Vec<_>>(),
                "node {who} keeps each sender's order"
            );
        }
    }
    let summary = |frames: &[Value]| -> Vec<(i64, Option<String>)> {
        frames
            .iter()
            .map(|f| (seq(f), key(f).map(str::to_owned)))
            .collect()
    };
    assert_eq!(
        summary(&seen_by_user),
        summary(&watched),
        "two nodes tell the same story"
    );
    assert_eq!(
        a.stored_count(&session).await as i64,
        public_total,
        "the visitor's history"
    );
}

/// Reads a socket until its connection drops, keeping the message-like frames.
async fn frames_until_dropped(client: &mut WsClient) -> Vec<Value> {
    let mut frames = Vec::new();
    within("the killed node's socket drops", async {
        loop {
            match client.stream.next().await {
                Some(Ok(WsMessage::Text(text))) => {
                    let frame: Value = serde_json::from_str(&text).unwrap();
                    if frame["message"]["seq"].is_i64() {
                        frames.push(frame);
                    }
                }
                Some(Ok(WsMessage::Close(frame))) => {
                    panic!("a killed node sends no close frame: {frame:?}")
                }
                Some(Ok(_)) => {}
                None | Some(Err(_)) => return,
            }
        }
    })
    .await;
    frames
}

#[tokio::test]
async fn a_killed_node_loses_nothing_its_agent_resumes_on_another() {
    let Some(mut nodes) = spawn_cluster(3, fast).await else {
        return;
    };
    let c = nodes.pop().unwrap();
    let b = nodes.pop().unwrap();
    let a = nodes.pop().unwrap();
    let (_, token) = a.create_agent("alice@example.com", "Alice", "agent").await;
    let (ticket_id, session) = a.bare_ticket().await;
    let mut supporter = b.supporter_socket(&session, &token, "").await;
    let mut before = vec![supporter.next_of("supporter_joined").await];
    let mut user = a.user_socket(&session, "").await;
    user.next_of("ready").await;

    // The visitor keeps talking while the agent's node dies under it.
    const SENT: usize = 40;
    let talking = tokio::spawn(async move {
        for i in 0..SENT {
            user.say(&format!("message {i}"), &format!("u{i}")).await;
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
        let acked = within("every message is acknowledged", async {
            let mut acked = HashSet::new();
            while acked.len() < SENT {
                let frame = user.next_message().await;
                if let Some(k) = key(&frame) {
                    acked.insert(k.to_owned());
                }
            }
            acked
        })
        .await;
        (user, acked)
    });
    while before.iter().filter(|f| key(f).is_some()).count() < 10 {
        before.push(within("the agent hears the visitor", supporter.next_message()).await);
    }
    b.kill();
    before.extend(frames_until_dropped(&mut supporter).await);
    let (mut user, acked) = talking.await.unwrap();
    assert_eq!(acked.len(), SENT);

    // The agent's client reconnects through the load balancer: now node C.
    let since = seq(before.last().unwrap());
    assert_gapless("the agent before the kill", &before, 1, since);
    let mut resumed = c
        .supporter_socket(&session, &token, &format!("?since={since}"))
        .await;
    let ready = resumed.next_of("ready").await;
    let last = ready["data"]["last_seq"].as_i64().unwrap();
    assert_eq!(ready["data"]["replayed"].as_i64().unwrap(), last - since);
    let replayed = within("the replay", until_seq(&mut resumed, last)).await;
    assert_gapless("the agent after resuming", &replayed, since + 1, last);
    let heard: HashSet<&str> = before.iter().chain(&replayed).filter_map(key).collect();
    assert_eq!(heard.len(), SENT, "the agent got every message");

    user.say("still there?", "after").await;
    let live = within("live again", until_key(&mut resumed, "after")).await;
    assert_eq!(seq(live.last().unwrap()), last + 1);

    // The killed node's sessions stay open until its heartbeat row is stale (by
    // the database's clock); from then on they count for nobody's presence, and a
    // survivor ends them. The test ages the row instead of waiting, then runs the
    // survivor's pruning step on its store.
    let db = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&a.database_url)
        .await
        .unwrap();
    let open_on_b = || {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM support_sessions WHERE node_id = 'node-1' AND is_active",
        )
        .fetch_one(&db)
    };
    assert!(open_on_b().await.unwrap() > 0, "a killed node ends nothing");
    sqlx::query(
        "UPDATE support_nodes SET heartbeat_at = NOW() - INTERVAL '10 minutes' \
         WHERE node_id = 'node-1'",
    )
    .execute(&db)
    .await
    .unwrap();
    let ended = a
        .state
        .store
        .end_stale_sessions(livesupport::store::NODE_STALE_AFTER)
        .await
        .unwrap();
    assert!(ended > 0, "the dead node's sessions end");
    assert_eq!(open_on_b().await.unwrap(), 0);
    let presence = a.state.store.presence(ticket_id).await.unwrap();
    assert!(
        presence.user_connected && presence.supporter_connected,
        "the survivors' own sessions still count"
    );
}

#[tokio::test]
async fn a_redis_restart_loses_no_acknowledged_message() {
    // Skip before starting anything when PostgreSQL or Redis is not configured.
    if common::redis_url().is_none() {
        return;
    }
    let Some(mut redis) = PrivateRedis::start(&[]).await else {
        return;
    };
    let Some(nodes) = spawn_cluster_on(&redis.url(), 2, fast).await else {
        return;
    };
    let [a, b] = &nodes[..] else { unreachable!() };
    let (_, token) = a.create_agent("alice@example.com", "Alice", "agent").await;
    let (_, session) = a.bare_ticket().await;
    let mut user = a.user_socket(&session, "").await;
    user.next_of("ready").await;
    let mut supporter = b.supporter_socket(&session, &token, "").await;
    let mut user_frames = Vec::new();
    let mut supporter_frames = Vec::new();
    supporter_frames.push(supporter.next_of("supporter_joined").await);
    user.say("hello", "u-before").await;
    supporter_frames.extend(until_key(&mut supporter, "u-before").await);
    user_frames.extend(until_key(&mut user, "u-before").await);
    for node in [a, b] {
        wait_readiness(node, 200).await;
    }

    redis.kill();
    assert_degraded_but_ready(&[a, b]).await;
    // Both sides keep talking: each send is stored and acknowledged on its node.
    for i in 0..5 {
        let (u, s) = (format!("u-out-{i}"), format!("s-out-{i}"));
        user.say("during the outage", &u).await;
        supporter.say("during the outage", &s).await;
        user_frames.extend(within("the visitor's ack", until_key(&mut user, &u)).await);
        supporter_frames.extend(within("the agent's ack", until_key(&mut supporter, &s)).await);
    }
    for node in [a, b] {
        assert_eq!(node.readiness().await, 200, "ready all through the outage");
    }

    redis.restart().await.expect("redis-server restarts");
    let restarted = Instant::now();
    // Nothing more is sent: the outage's messages must arrive by themselves.
    let last = a.last_seqs(&session).await;
    arrives_by_itself(
        "the visitor",
        &mut user,
        &mut user_frames,
        last.visitor,
        restarted,
    )
    .await;
    arrives_by_itself(
        "the agent",
        &mut supporter,
        &mut supporter_frames,
        last.agent,
        restarted,
    )
    .await;
    assert_healthy_again(&[a, b]).await;

    assert_gapless("the visitor", &user_frames, 1, last.visitor);
    assert_gapless("the agent", &supporter_frames, 1, last.agent);
    for (who, frames) in [("visitor", &user_frames), ("agent", &supporter_frames)] {
        let keys: HashSet<&str> = frames.iter().filter_map(key).collect();
        for i in 0..5 {
            assert!(
                keys.contains(format!("u-out-{i}").as_str()),
                "{who} got u-out-{i}"
            );
            assert!(
                keys.contains(format!("s-out-{i}").as_str()),
                "{who} got s-out-{i}"
            );
        }
    }
}

/// While Redis is away each node notices (its health's broker check is not
/// `ok`), says it is degraded, and stays ready: its database answers.
async fn assert_degraded_but_ready(nodes: &[&TestApp]) {
    for node in nodes {
        let health = node
            .wait_health_check("broker", false, WAIT)
            .await
            .unwrap_or_else(|h| panic!("{} never noticed Redis is gone: {h}", node.address));
        assert_eq!(
            health["status"], "degraded",
            "{}: health without Redis: {health}",
            node.address
        );
        assert_eq!(health["checks"]["database"], "ok", "{health}");
        assert_eq!(
            node.readiness().await,
            200,
            "{} stays ready without Redis",
            node.address
        );
    }
}

/// Once Redis is back, every node's health says `ok` again and it is ready.
async fn assert_healthy_again(nodes: &[&TestApp]) {
    for node in nodes {
        let health = node
            .wait_health_check("broker", true, RECOVERY_DEADLINE)
            .await
            .unwrap_or_else(|h| panic!("{}: the broker check stays down: {h}", node.address));
        assert_eq!(health["status"], "ok", "{}: {health}", node.address);
        assert_eq!(node.readiness().await, 200, "{} is ready", node.address);
    }
}

/// Reads on, with no later message sent, until `frames` reach seq `last`; fails
/// if that takes longer than [`RECOVERY_DEADLINE`] from `since`.
async fn arrives_by_itself(
    who: &str,
    client: &mut WsClient,
    frames: &mut Vec<Value>,
    last: i64,
    since: Instant,
) {
    if frames.last().is_some_and(|f| seq(f) >= last) {
        return;
    }
    match client
        .messages_through(last, since + RECOVERY_DEADLINE)
        .await
    {
        Ok(more) => frames.extend(more),
        Err(got) => {
            frames.extend(got);
            panic!(
                "{who} did not get seqs up to {last} within {RECOVERY_DEADLINE:?} with no later \
                 message; it has {:?}",
                frames.iter().map(seq).collect::<Vec<_>>()
            )
        }
    }
}

/// Three private cluster-enabled `redis-server`s made into one Redis Cluster.
async fn private_redis_cluster() -> Option<Vec<PrivateRedis>> {
    let mut shards = Vec::new();
    for _ in 0..3 {
        shards.push(PrivateRedis::start(&["--cluster-enabled", "yes"]).await?);
    }
    let mut create = Command::new("redis-cli");
    create.arg("--cluster").arg("create");
    for shard in &shards {
        create.arg(format!("127.0.0.1:{}", shard.port));
    }
    let created = create
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .output()
        .expect("redis-cli runs");
    assert!(
        created.status.success(),
        "redis-cli --cluster create: {}",
        String::from_utf8_lossy(&created.stdout)
    );
    within("the Redis Cluster is up", async {
        while !shards
            .iter()
            .all(|s| s.cli(&["cluster", "info"]).contains("cluster_state:ok"))
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    Some(shards)
}

#[tokio::test]
async fn on_a_redis_cluster_the_nodes_chat_over_sharded_pub_sub() {
    if common::redis_url().is_none() {
        return;
    }
    let Some(shards) = private_redis_cluster().await else {
        return;
    };
    let Some(nodes) = spawn_cluster_on(&shards[0].url(), 2, |index, config| {
        fast(index, config);
        config.redis_cluster = true;
    })
    .await
    else {
        return;
    };
    let [a, b] = &nodes[..] else { unreachable!() };
    let (_, token) = a.create_agent("alice@example.com", "Alice", "agent").await;
    let mut feed = b.feed_socket(&token).await;
    // Several tickets, so that their channels land on different shards.
    let mut chats = Vec::new();
    for _ in 0..4 {
        let (ticket_id, session) = a.bare_ticket().await;
        let mut user = a.user_socket(&session, "").await;
        user.next_of("ready").await;
        let mut supporter = b.supporter_socket(&session, &token, "").await;
        supporter.next_of("supporter_joined").await;
        user.next_of("supporter_joined").await;
        chats.push((ticket_id, user, supporter));
    }
    for (_, user, supporter) in &mut chats {
        for i in 0..10 {
            user.say("from node A", &format!("u{i}")).await;
            supporter.say("from node B", &format!("s{i}")).await;
        }
        // The join note, 20 chat messages and the in_progress note (which the
        // visitor's numbering leaves out: it is internal).
        let total = 22;
        let heard_by_user = within("the visitor's stream", until_seq(user, total - 1)).await;
        assert_gapless("the visitor on node A", &heard_by_user, 2, total - 1);
        let heard_by_agent = within("the agent's stream", until_seq(supporter, total)).await;
        assert_gapless("the agent on node B", &heard_by_agent, 2, total);
    }
    // Each ticket's creation reached the dashboard on node B; tickets on
    // different shards arrive in no set order.
    let mut created = std::collections::BTreeSet::new();
    while created.len() < chats.len() {
        let on_feed = feed.next_of("ticket_created").await;
        created.insert(on_feed["ticket"]["id"].as_i64().unwrap());
    }
    let opened: std::collections::BTreeSet<i64> = chats.iter().map(|(id, _, _)| *id).collect();
    assert_eq!(created, opened);
    let stats: Vec<String> = shards
        .iter()
        .map(|s| s.cli(&["info", "commandstats"]))
        .collect();
    assert!(
        stats.iter().any(|s| s.contains("cmdstat_spublish")),
        "published with SPUBLISH"
    );
    assert!(
        stats.iter().all(|s| !s.contains("cmdstat_publish:")),
        "never with PUBLISH, which a cluster broadcasts to every shard"
    );
    for node in [a, b] {
        assert_eq!(node.readiness().await, 200);
    }
}

#[tokio::test]
async fn a_redis_that_goes_silent_is_noticed_and_the_chat_recovers() {
    if common::redis_url().is_none() {
        return;
    }
    let Some(redis) = PrivateRedis::start(&[]).await else {
        return;
    };
    let Some(nodes) = spawn_cluster_on(&redis.url(), 2, fast).await else {
        return;
    };
    let [a, b] = &nodes[..] else { unreachable!() };
    let (_, token) = a.create_agent("alice@example.com", "Alice", "agent").await;
    let (_, session) = a.bare_ticket().await;
    let mut user = a.user_socket(&session, "").await;
    user.next_of("ready").await;
    let mut supporter = b.supporter_socket(&session, &token, "").await;
    let mut user_frames = vec![user.next_of("supporter_joined").await];
    let mut supporter_frames = vec![supporter.next_of("supporter_joined").await];
    for node in [a, b] {
        wait_readiness(node, 200).await;
    }

    redis.signal("-STOP");
    assert_degraded_but_ready(&[a, b]).await;
    for i in 0..3 {
        let (u, s) = (format!("u-silent-{i}"), format!("s-silent-{i}"));
        user.say("into the void", &u).await;
        supporter.say("into the void", &s).await;
        user_frames.extend(within("the visitor's ack", until_key(&mut user, &u)).await);
        supporter_frames.extend(within("the agent's ack", until_key(&mut supporter, &s)).await);
    }
    // Long enough for the silent connections to be given up and replaced.
    tokio::time::sleep(Duration::from_secs(6)).await;
    for node in [a, b] {
        assert_eq!(node.readiness().await, 200, "ready all through the silence");
    }
    redis.signal("-CONT");
    let resumed = Instant::now();
    // Nothing more is sent: the silence's messages must arrive by themselves.
    let last = a.last_seqs(&session).await;
    arrives_by_itself(
        "the visitor",
        &mut user,
        &mut user_frames,
        last.visitor,
        resumed,
    )
    .await;
    arrives_by_itself(
        "the agent",
        &mut supporter,
        &mut supporter_frames,
        last.agent,
        resumed,
    )
    .await;
    assert_healthy_again(&[a, b]).await;
    assert_gapless("the visitor", &user_frames, 1, last.visitor);
    assert_gapless("the agent", &supporter_frames, 1, last.agent);
    for (who, frames) in [("visitor", &user_frames), ("agent", &supporter_frames)] {
        let keys: HashSet<&str> = frames.iter().filter_map(key).collect();
        for i in 0..3 {
            for k in [format!("u-silent-{i}"), format!("s-silent-{i}")] {
                assert!(keys.contains(k.as_str()), "{who} got {k}");
            }
        }
    }
}

/// How long a revocation made on one node may take to close the agent's
/// sockets on another: it is pushed over Redis at once; the rest is margin for
/// a loaded machine. Far below the sweep of [`push_only`].
const REVOCATION_DEADLINE: Duration = Duration::from_secs(5);

/// Nodes whose credential sweep never runs within a test: only the revocation
/// pushed over the broker can close a socket.
fn push_only(_: usize, config: &mut Config) {
    config.credential_sweep_seconds = 3600;
}

#[tokio::test]
async fn a_logout_a_disabling_and_a_password_reset_on_one_node_close_the_agents_sockets_on_another()
{
    let Some(nodes) = spawn_cluster(2, push_only).await else {
        return;
    };
    let [a, b] = &nodes[..] else { unreachable!() };
    for (i, revocation) in ["logout", "disabling", "password reset"]
        .into_iter()
        .enumerate()
    {
        let email = format!("agent{i}@example.com");
        let (agent_id, token) = a.create_agent(&email, "Agent", "agent").await;
        let (_, session) = a.bare_ticket().await;
        let mut supporter = b.supporter_socket(&session, &token, "").await;
        supporter.next_of("ready").await;
        let mut feed = b.feed_socket(&token).await;
        feed.send(json!({"type": "ping"})).await;
        feed.next_of("pong").await;
        let (status, body) = match revocation {
            "logout" => {
                a.send_json("POST", "/api/support/auth/logout", Some(&token), json!({}))
                    .await
            }
            "disabling" => {
                let path = format!("/api/support/agents/{agent_id}");
                a.send_json(
                    "PATCH",
                    &path,
                    Some(&a.admin_token),
                    json!({"disabled": true}),
                )
                .await
            }
            _ => {
                let path = format!("/api/support/agents/{agent_id}/password");
                let password = json!({"password": "a-brand-new-password"});
                a.send_json("POST", &path, Some(&a.admin_token), password)
                    .await
            }
        };
        assert!(status < 300, "{revocation} on node A: {status} {body}");
        for (socket, client) in [("chat", &mut supporter), ("feed", &mut feed)] {
            assert_eq!(
                client.ended(REVOCATION_DEADLINE).await,
                Ended::Closed(4401),
                "{revocation} on node A closes the agent's {socket} socket on node B"
            );
        }
    }
}
