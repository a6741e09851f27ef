//! Faults between the nodes and their dependencies, with no later message to
//! rescue anything: two nodes, a visitor on node A, the agent's chat socket and
//! its feed (`/ws/support/agent`) on node B. A message sent during a fault must
//! reach the other node's socket by itself, within [`RECOVERY_DEADLINE`] (the
//! nodes reconcile against the database every few seconds); a ticket created
//! during a fault must reach the other node's feed; every stream stays gapless,
//! in seq order, with no duplicate. A revocation a node missed while cut from
//! Redis closes the agent's socket there once the node reconnects.
//!
//! Each node reaches Redis and PostgreSQL through fault proxies of its own
//! ([`spawn_faulty_cluster`]); the Redis restart and freeze use a private
//! `redis-server`. Needs `LIVESUPPORT_TEST_POSTGRES_URL` and
//! `LIVESUPPORT_TEST_REDIS_URL`; skipped with a notice without them, failing
//! instead under `LIVESUPPORT_REQUIRE_POSTGRES=1` / `LIVESUPPORT_REQUIRE_REDIS=1`.
//!
//! What the product promises is recorded in [`Findings`] and reported together
//! at the end, so that a server lacking several recoveries shows all of them at
//! once; what the harness needs (the proxy really cut the link, the chat worked
//! before the fault) is asserted at once.

mod common;

use common::ws::{FRAME_TIMEOUT, RECOVERY_DEADLINE, WsClient, is_message, key, seq};
use common::{LastSeqs, PrivateRedis, TestApp, spawn_faulty_cluster};
use livesupport::Config;
use serde_json::Value;
use std::fmt::Display;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

const AGENT_EMAIL: &str = "alice@example.com";
/// How long a node may take to notice a broken link (its health check turning
/// non-`ok`): a check times out after 2 s, a reconnect is retried within 2 s.
const NOTICE_DEADLINE: Duration = Duration::from_secs(15);
/// How long node A's Redis link stays cut.
const REDIS_CUT: Duration = Duration::from_secs(5);
/// How long the private Redis stays dead before it is started again.
const REDIS_DOWN: Duration = Duration::from_secs(5);
/// How long the private Redis stays frozen (SIGSTOP).
const REDIS_FROZEN: Duration = Duration::from_secs(10);
/// How long PostgreSQL stays cut from every node: longer than the 60 s after
/// which a node's socket sessions count as stale, so presence must heal.
const POSTGRES_CUT: Duration = Duration::from_secs(70);
/// How long a send during a database outage may wait for its `error` frame:
/// the store's timeout (about 5 to 10 s) and a margin.
const STORE_ANSWER_DEADLINE: Duration = Duration::from_secs(20);
/// How long after the database is back the agent whose socket stayed open must
/// be listed online again.
const PRESENCE_DEADLINE: Duration = Duration::from_secs(15);
/// How long readiness may take to come back once the database answers again.
const READY_AGAIN_DEADLINE: Duration = Duration::from_secs(30);
/// The round trip added to every PostgreSQL exchange in the slow-database test.
const SLOW_ROUND_TRIP: Duration = Duration::from_millis(500);
/// Messages each side sends in the slow-database burst.
const BURST: usize = 10;
/// How long the slow burst may take to be acknowledged and delivered.
const BURST_DEADLINE: Duration = Duration::from_secs(60);
/// How long each socket is read on after its last expected frame, to see that
/// nothing comes twice: more than one reconciliation round (2 s).
const QUIET: Duration = Duration::from_secs(3);

/// Chat fast: the bursts here are over the default per-connection rate.
fn fast(_: usize, config: &mut Config) {
    config.message_burst = 10_000;
    config.message_rate_per_second = 10_000;
}

/// The product's promises, checked as the scenario goes and reported together.
#[derive(Default)]
struct Findings {
    failed: Vec<String>,
}

impl Findings {
    fn expect(&mut self, holds: bool, what: impl Display) {
        if !holds {
            eprintln!("EXPECTATION FAILED: {what}");
            self.failed.push(what.to_string());
        }
    }

    /// Panics with every failed expectation.
    fn verify(mut self) {
        let failed = std::mem::take(&mut self.failed);
        assert!(
            failed.is_empty(),
            "{} expectation(s) failed:\n- {}",
            failed.len(),
            failed.join("\n- ")
        );
    }
}

impl Drop for Findings {
    fn drop(&mut self) {
        if std::thread::panicking() && !self.failed.is_empty() {
            eprintln!(
                "expectations that had failed before the panic:\n- {}",
                self.failed.join("\n- ")
            );
        }
    }
}

/// A socket and every frame it has received, in order.
struct Recorded {
    who: &'static str,
    client: WsClient,
    frames: Vec<Value>,
}

impl Recorded {
    fn new(who: &'static str, client: WsClient) -> Recorded {
        Recorded {
            who,
            client,
            frames: Vec::new(),
        }
    }

    /// Reads until `done` holds for everything received so far, or `deadline`.
    async fn wait_until(&mut self, deadline: Instant, done: impl Fn(&[Value]) -> bool) -> bool {
        while !done(&self.frames) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.client.try_next(left).await {
                Some(frame) => self.frames.push(frame),
                None => return false,
            }
        }
        true
    }

    /// Reads until a frame (received now or before) satisfies `wanted`, or `deadline`.
    async fn wait_for(&mut self, deadline: Instant, wanted: impl Fn(&Value) -> bool) -> bool {
        self.wait_until(deadline, |frames| frames.iter().any(&wanted))
            .await
    }

    /// Reads until the stream has reached seq `last`, or `deadline`.
    async fn wait_seq(&mut self, last: i64, deadline: Instant) -> bool {
        self.wait_for(deadline, |f| is_message(f) && seq(f) >= last)
            .await
    }

    /// Reads whatever arrives until `deadline` (keeping the socket answered).
    async fn listen(&mut self, deadline: Instant) {
        self.wait_until(deadline, |_| false).await;
    }

    fn seqs(&self) -> Vec<i64> {
        self.frames
            .iter()
            .filter(|f| is_message(f))
            .map(seq)
            .collect()
    }

    /// Message-like frames carrying `client_msg_id`.
    fn carrying(&self, client_msg_id: &str) -> usize {
        self.frames
            .iter()
            .filter(|f| is_message(f) && key(f) == Some(client_msg_id))
            .count()
    }

    /// `error` frames answering `client_msg_id`.
    fn errors_for(&self, client_msg_id: &str) -> usize {
        self.frames
            .iter()
            .filter(|f| f["type"] == "error" && f["client_msg_id"] == client_msg_id)
            .count()
    }

    /// Expects the seqs `1..=last`, each once, in order.
    fn expect_gapless(&self, findings: &mut Findings, last: i64) {
        let seqs = self.seqs();
        findings.expect(
            seqs == (1..=last).collect::<Vec<_>>(),
            format!(
                "{} sees every seq 1..={last} once, in order; it saw {seqs:?}",
                self.who
            ),
        );
    }
}

/// The two nodes' chat: the visitor on A, the agent and its feed on B.
struct Chat {
    visitor: Recorded,
    agent: Recorded,
    feed: Recorded,
    session: String,
    agent_id: i64,
    agent_token: String,
}

/// Opens the chat and checks that it works before any fault: the agent's join
/// note (seq 1) reaches both sockets, the ticket reaches the feed, both nodes
/// are ready and healthy.
async fn open_chat(a: &TestApp, b: &TestApp) -> Chat {
    for node in [a, b] {
        let health = node
            .wait_health_check("broker", true, NOTICE_DEADLINE)
            .await
            .unwrap_or_else(|h| panic!("{} starts without its broker: {h}", node.address));
        assert_eq!(
            health["status"], "ok",
            "{} starts healthy: {health}",
            node.address
        );
        assert_eq!(node.readiness().await, 200, "{} starts ready", node.address);
    }
    let (agent_id, agent_token) = a.create_agent(AGENT_EMAIL, "Alice", "agent").await;
    let mut feed = Recorded::new("the feed on node B", b.feed_socket(&agent_token).await);
    let (ticket_id, session) = a.bare_ticket().await;
    let mut visitor_socket = a.user_socket(&session, "").await;
    visitor_socket.next_of("ready").await;
    let mut visitor = Recorded::new("the visitor on node A", visitor_socket);
    let agent = b.supporter_socket(&session, &agent_token, "").await;
    let mut agent = Recorded::new("the agent on node B", agent);
    let deadline = Instant::now() + FRAME_TIMEOUT;
    assert!(
        visitor.wait_seq(1, deadline).await,
        "the visitor hears the join"
    );
    assert!(agent.wait_seq(1, deadline).await, "the agent sees its join");
    assert!(
        feed.wait_for(deadline, |f| f["type"] == "ticket_created"
            && f["ticket"]["id"] == ticket_id)
            .await,
        "the feed works before the fault"
    );
    Chat {
        visitor,
        agent,
        feed,
        session,
        agent_id,
        agent_token,
    }
}

/// Polls `node`'s health until its `check` is not `ok`: proof that the fault
/// reached the node. Returns that health.
async fn noticed(node: &TestApp, check: &str) -> Value {
    node.wait_health_check(check, false, NOTICE_DEADLINE)
        .await
        .unwrap_or_else(|h| {
            panic!(
                "harness: {} never saw its {check} go away within {NOTICE_DEADLINE:?}: {h}",
                node.address
            )
        })
}

/// Whether `feed` (on `node`) learns of `ticket_id` by `deadline`: a
/// `ticket_created` or `ticket_updated` frame for it, or a `resync_required`
/// after which the dashboard's reload (`GET /api/support/tickets`) lists it.
async fn feed_learns_of(
    feed: &mut Recorded,
    node: &TestApp,
    token: &str,
    ticket_id: i64,
    deadline: Instant,
) -> Result<&'static str, String> {
    let about_it = |f: &Value| {
        matches!(
            f["type"].as_str(),
            Some("ticket_created" | "ticket_updated")
        ) && f["ticket"]["id"] == ticket_id
    };
    if !feed
        .wait_for(deadline, |f| about_it(f) || f["type"] == "resync_required")
        .await
    {
        let kinds: Vec<&str> = feed
            .frames
            .iter()
            .filter_map(|f| f["type"].as_str())
            .collect();
        return Err(format!(
            "{} got neither ticket_created/ticket_updated for ticket {ticket_id} nor \
             resync_required by the deadline; its frames: {kinds:?}",
            feed.who
        ));
    }
    if feed.frames.iter().any(about_it) {
        return Ok("a ticket frame");
    }
    let (status, body) = node
        .get("/api/support/tickets?status=all&limit=200", Some(token))
        .await;
    let listed = status == 200
        && body["tickets"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["id"] == ticket_id));
    if listed {
        Ok("resync_required and a reload that lists it")
    } else {
        Err(format!(
            "after resync_required, GET /api/support/tickets on {} does not list ticket \
             {ticket_id}: {status} {body}",
            node.address
        ))
    }
}

/// Reads both chat sockets on for [`QUIET`] (a duplicate would show up), then
/// expects each to have seen seqs `1..=last` exactly once, in order.
/// Each side's stream is whole up to its own last seq (the visitor numbers
/// public messages only; the agent every message).
async fn expect_streams_whole(chat: &mut Chat, findings: &mut Findings, last: LastSeqs) {
    let quiet = Instant::now() + QUIET;
    tokio::join!(chat.visitor.listen(quiet), chat.agent.listen(quiet));
    chat.visitor.expect_gapless(findings, last.visitor);
    chat.agent.expect_gapless(findings, last.agent);
}

fn is_ack(client_msg_id: &str) -> impl Fn(&Value) -> bool + '_ {
    move |f| is_message(f) && key(f) == Some(client_msg_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_cut_from_redis_still_delivers_its_messages_and_new_tickets_to_the_other() {
    let Some(redis) = common::redis_url() else {
        return;
    };
    let Some(cluster) = spawn_faulty_cluster(2, &redis, fast).await else {
        return;
    };
    let [a, b] = &cluster.nodes[..] else {
        unreachable!()
    };
    let mut chat = open_chat(a, b).await;
    let mut findings = Findings::default();

    let cut_at = Instant::now();
    cluster.links[0].redis.cut();
    let health = noticed(a, "broker").await;
    findings.expect(
        health["status"] == "degraded",
        format!("node A's health says degraded while its Redis is cut: {health}"),
    );
    let b_health = b.health().await;
    assert_eq!(
        b_health["checks"]["broker"], "ok",
        "harness: only node A is cut: {b_health}"
    );
    findings.expect(
        a.readiness().await == 200,
        "node A stays ready while only its Redis is cut",
    );

    chat.visitor.client.say("sent while cut", "u-cut").await;
    let acked = chat
        .visitor
        .wait_for(Instant::now() + FRAME_TIMEOUT, is_ack("u-cut"))
        .await;
    findings.expect(
        acked,
        "the visitor's message sent during the cut is acknowledged on node A",
    );
    let (ticket_during, _) = a.bare_ticket().await;

    // The agent and the feed are read all along; the cut ends at REDIS_CUT.
    let restore_at = cut_at + REDIS_CUT;
    let deadline = restore_at + RECOVERY_DEADLINE;
    let restore = async {
        tokio::time::sleep_until(restore_at).await;
        let during = (a.readiness().await, a.health().await);
        cluster.links[0].redis.restore();
        during
    };
    let (agent, feed, token) = (&mut chat.agent, &mut chat.feed, &chat.agent_token);
    let delivered = async {
        let arrived = agent.wait_for(deadline, is_ack("u-cut")).await;
        arrived.then(Instant::now)
    };
    let fed = feed_learns_of(feed, b, token, ticket_during, deadline);
    let ((ready_during, health_during), delivered, fed) = tokio::join!(restore, delivered, fed);

    assert_ne!(
        health_during["checks"]["broker"], "ok",
        "harness: node A's Redis was still cut at the end: {health_during}"
    );
    findings.expect(
        health_during["status"] == "degraded",
        format!("node A's health says degraded all through the cut: {health_during}"),
    );
    findings.expect(
        ready_during == 200,
        format!("node A is ready at the end of the cut (answered {ready_during})"),
    );
    match delivered {
        Some(at) if at < restore_at => eprintln!("u-cut reached node B during the cut"),
        Some(at) => eprintln!(
            "u-cut reached node B {:?} after the restore",
            at - restore_at
        ),
        None => {}
    }
    findings.expect(
        delivered.is_some(),
        format!(
            "the agent on node B gets the message sent during the cut within \
             {RECOVERY_DEADLINE:?} of the restore, with no later message"
        ),
    );
    if let Err(why) = &fed {
        findings.expect(
            false,
            format!("a ticket created on node A during the cut: {why}"),
        );
    }

    let after = a.wait_health_check("broker", true, RECOVERY_DEADLINE).await;
    findings.expect(
        after.as_ref().is_ok_and(|h| h["status"] == "ok"),
        format!("node A's health is ok again after the restore: {after:?}"),
    );
    let last = a.last_seqs(&chat.session).await;
    expect_streams_whole(&mut chat, &mut findings, last).await;
    findings.verify();
}

/// How the private Redis fails in [`a_redis_outage_loses_nothing`].
#[derive(Clone, Copy, Debug)]
enum Outage {
    /// SIGKILL, then a new `redis-server` on the same port.
    Killed,
    /// SIGSTOP, then SIGCONT: connections stay open and nothing answers.
    Frozen,
}

/// Both nodes lose the one Redis; both sides of the chat keep talking, a ticket
/// is created on node A, and once Redis is back everything reaches the other
/// node by itself.
async fn a_redis_outage_loses_nothing(outage: Outage) {
    if common::redis_url().is_none() {
        return;
    }
    let Some(mut redis) = PrivateRedis::start(&[]).await else {
        return;
    };
    let Some(cluster) = spawn_faulty_cluster(2, &redis.url(), fast).await else {
        return;
    };
    let [a, b] = &cluster.nodes[..] else {
        unreachable!()
    };
    let mut chat = open_chat(a, b).await;
    let mut findings = Findings::default();

    let (lasts, label) = match outage {
        Outage::Killed => {
            redis.kill();
            (REDIS_DOWN, "while Redis is down")
        }
        Outage::Frozen => {
            redis.signal("-STOP");
            (REDIS_FROZEN, "while Redis is frozen")
        }
    };
    let started = Instant::now();
    for (name, node) in [("A", a), ("B", b)] {
        let health = noticed(node, "broker").await;
        findings.expect(
            health["status"] == "degraded" && health["checks"]["database"] == "ok",
            format!("node {name}'s health says degraded {label}: {health}"),
        );
        let ready = node.readiness().await;
        findings.expect(
            ready == 200,
            format!("node {name} stays ready {label} (answered {ready})"),
        );
    }

    const SENT: usize = 3;
    for i in 0..SENT {
        let (u, s) = (format!("u-out-{i}"), format!("s-out-{i}"));
        chat.visitor.client.say(label, &u).await;
        chat.agent.client.say(label, &s).await;
        let deadline = Instant::now() + FRAME_TIMEOUT;
        let (user_acked, agent_acked) = tokio::join!(
            chat.visitor.wait_for(deadline, is_ack(&u)),
            chat.agent.wait_for(deadline, is_ack(&s)),
        );
        findings.expect(
            user_acked,
            format!("the visitor's {u} is acknowledged {label}"),
        );
        findings.expect(
            agent_acked,
            format!("the agent's {s} is acknowledged {label}"),
        );
    }
    let (ticket_during, _) = a.bare_ticket().await;

    let ends = started + lasts;
    tokio::join!(
        chat.visitor.listen(ends),
        chat.agent.listen(ends),
        chat.feed.listen(ends)
    );
    for (name, node) in [("A", a), ("B", b)] {
        let ready = node.readiness().await;
        findings.expect(
            ready == 200,
            format!("node {name} is ready at the end of the outage (answered {ready})"),
        );
    }
    match outage {
        Outage::Killed => redis.restart().await.expect("redis-server restarts"),
        Outage::Frozen => redis.signal("-CONT"),
    }
    let back = Instant::now();

    // Nothing more is sent: the outage's messages must arrive by themselves.
    let last = a.last_seqs(&chat.session).await;
    let deadline = back + RECOVERY_DEADLINE;
    let (to_visitor, to_agent, fed) = tokio::join!(
        chat.visitor.wait_seq(last.visitor, deadline),
        chat.agent.wait_seq(last.agent, deadline),
        feed_learns_of(
            &mut chat.feed,
            b,
            &chat.agent_token,
            ticket_during,
            deadline
        ),
    );
    for (who, arrived) in [
        ("visitor on node A", to_visitor),
        ("agent on node B", to_agent),
    ] {
        findings.expect(
            arrived,
            format!(
                "the {who} gets everything sent {label} (seqs up to {last:?}) within \
                 {RECOVERY_DEADLINE:?} of Redis coming back, with no later message"
            ),
        );
    }
    if let Err(why) = &fed {
        findings.expect(false, format!("a ticket created on node A {label}: {why}"));
    }
    for (name, node) in [("A", a), ("B", b)] {
        let after = node
            .wait_health_check("broker", true, RECOVERY_DEADLINE)
            .await;
        findings.expect(
            after.as_ref().is_ok_and(|h| h["status"] == "ok"),
            format!("node {name}'s health is ok again once Redis is back: {after:?}"),
        );
    }
    expect_streams_whole(&mut chat, &mut findings, last).await;
    for i in 0..SENT {
        let (u, s) = (format!("u-out-{i}"), format!("s-out-{i}"));
        findings.expect(
            chat.agent.carrying(&u) == 1 && chat.visitor.carrying(&s) == 1,
            format!("{u} reached the agent and {s} the visitor, once each"),
        );
    }
    findings.verify();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_redis_loses_nothing_sent_during_the_outage_and_needs_no_later_message() {
    a_redis_outage_loses_nothing(Outage::Killed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_redis_loses_nothing_sent_during_the_silence_and_needs_no_later_message() {
    a_redis_outage_loses_nothing(Outage::Frozen).await;
}

/// Whether `GET /api/support/agents` on `node` lists `agent_id` as online.
async fn listed_online(node: &TestApp, agent_id: i64) -> bool {
    let (status, body) = node
        .get("/api/support/agents", Some(&node.admin_token))
        .await;
    status == 200
        && body["agents"].as_array().is_some_and(|agents| {
            agents
                .iter()
                .any(|agent| agent["id"] == agent_id && agent["online"] == true)
        })
}

/// Polls until the agent is listed online on `node`, or `deadline`.
async fn becomes_online(node: &TestApp, agent_id: i64, deadline: Instant) -> bool {
    loop {
        if listed_online(node, agent_id).await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Polls until the agent is no longer listed online on `node`, or `deadline`.
async fn becomes_offline(node: &TestApp, agent_id: i64, deadline: Instant) -> bool {
    loop {
        if !listed_online(node, agent_id).await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs `work` while reading every socket of the chat, so that they answer the
/// server's pings and nothing they receive is missed.
async fn keep_reading<T>(chat: &mut Chat, work: impl Future<Output = T>) -> T {
    let mut work = std::pin::pin!(work);
    loop {
        let slice = Instant::now() + Duration::from_millis(200);
        tokio::select! {
            out = &mut work => return out,
            _ = async {
                tokio::join!(
                    chat.visitor.listen(slice),
                    chat.agent.listen(slice),
                    chat.feed.listen(slice),
                )
            } => {}
        }
    }
}

/// Whether `node` is ready within [`RECOVERY_DEADLINE`] of `since` (the
/// product's promise); a node not ready within [`READY_AGAIN_DEADLINE`] at all
/// fails the test at once.
async fn ready_again(node: &TestApp, name: &str, since: Instant) -> bool {
    let soon = becomes_ready(node, since + RECOVERY_DEADLINE).await;
    if !soon {
        assert!(
            becomes_ready(node, since + READY_AGAIN_DEADLINE).await,
            "node {name} never became ready again after the database came back"
        );
    }
    soon
}

/// Polls `/readyz` until it answers 200, or `deadline`.
async fn becomes_ready(node: &TestApp, deadline: Instant) -> bool {
    loop {
        if node.readiness().await == 200 {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_refuses_sends_with_errors_and_then_chat_and_presence_heal() {
    let Some(redis) = common::redis_url() else {
        return;
    };
    let Some(cluster) = spawn_faulty_cluster(2, &redis, fast).await else {
        return;
    };
    let [a, b] = &cluster.nodes[..] else {
        unreachable!()
    };
    let mut chat = open_chat(a, b).await;
    let mut findings = Findings::default();
    assert!(
        becomes_online(a, chat.agent_id, Instant::now() + FRAME_TIMEOUT).await,
        "harness: the agent is listed online before the outage"
    );

    let cut_at = Instant::now();
    for links in &cluster.links {
        links.postgres.cut();
    }
    for (name, node) in [("A", a), ("B", b)] {
        let health = noticed(node, "database").await;
        assert_eq!(
            health["checks"]["broker"], "ok",
            "harness: only the database is cut from node {name}: {health}"
        );
        let ready = node.readiness().await;
        findings.expect(
            ready == 503,
            format!("node {name} is not ready without its database (answered {ready})"),
        );
    }

    // Two rounds of sends, early and late in the outage: each is refused.
    let mut refused = Vec::new();
    for (round, at) in [(1, cut_at), (2, cut_at + POSTGRES_CUT / 2)] {
        let listen_until = at.max(Instant::now());
        tokio::join!(
            chat.visitor.listen(listen_until),
            chat.agent.listen(listen_until),
            chat.feed.listen(listen_until),
        );
        let (u, s) = (format!("u-pg-{round}"), format!("s-pg-{round}"));
        chat.visitor
            .client
            .say("while the database is away", &u)
            .await;
        chat.agent
            .client
            .say("while the database is away", &s)
            .await;
        let deadline = Instant::now() + STORE_ANSWER_DEADLINE;
        let answered = |k: &str| {
            let k = k.to_owned();
            move |f: &Value| {
                (f["type"] == "error" && f["client_msg_id"] == k.as_str())
                    || (is_message(f) && key(f) == Some(k.as_str()))
            }
        };
        tokio::join!(
            chat.visitor.wait_for(deadline, answered(&u)),
            chat.agent.wait_for(deadline, answered(&s)),
            chat.feed.listen(deadline.min(cut_at + POSTGRES_CUT)),
        );
        for (who, socket, k) in [("visitor", &chat.visitor, &u), ("agent", &chat.agent, &s)] {
            findings.expect(
                socket.errors_for(k) == 1,
                format!(
                    "the {who}'s {k}, sent while the database is cut, is answered with an \
                     error frame carrying its client_msg_id within {STORE_ANSWER_DEADLINE:?}"
                ),
            );
        }
        refused.extend([u, s]);
        for (name, node) in [("A", a), ("B", b)] {
            let ready = node.readiness().await;
            findings.expect(
                ready == 503,
                format!("node {name} is not ready during the outage, round {round} ({ready})"),
            );
        }
    }
    let restore_at = cut_at + POSTGRES_CUT;
    tokio::join!(
        chat.visitor.listen(restore_at),
        chat.agent.listen(restore_at),
        chat.feed.listen(restore_at),
    );
    // Node A (the visitor's) comes back first, and its first heartbeats end the
    // sessions they find stale: node B's too, the agent's among them, as if node
    // B had died. Which node comes back first would otherwise be a race, and a
    // server that never heals presence would pass whenever node B won it.
    let agent_id = chat.agent_id;
    cluster.links[0].postgres.restore();
    let a_back = Instant::now();
    let (a_ready_soon, seen_offline) = keep_reading(&mut chat, async {
        let soon = ready_again(a, "A", a_back).await;
        (
            soon,
            becomes_offline(a, agent_id, a_back + PRESENCE_DEADLINE).await,
        )
    })
    .await;
    findings.expect(
        a_ready_soon,
        format!("node A is ready within {RECOVERY_DEADLINE:?} of the database's return"),
    );
    eprintln!(
        "with only node A back, the agent was {}listed offline",
        if seen_offline { "" } else { "never " }
    );
    cluster.links[1].postgres.restore();
    let restored = Instant::now();
    let (b_ready_soon, online) = keep_reading(&mut chat, async {
        let soon = ready_again(b, "B", restored).await;
        (
            soon,
            becomes_online(a, agent_id, restored + PRESENCE_DEADLINE).await,
        )
    })
    .await;
    findings.expect(
        b_ready_soon,
        format!("node B is ready within {RECOVERY_DEADLINE:?} of the database's return"),
    );
    // The agent's socket stayed open all along (a close would have failed the
    // reads above and in keep_reading): its presence comes back without a reconnect.
    findings.expect(
        online,
        format!(
            "the agent whose socket stayed open is listed online within {PRESENCE_DEADLINE:?} \
             of node B's database's return, without reconnecting"
        ),
    );
    for k in &refused {
        findings.expect(
            chat.visitor.carrying(k) == 0 && chat.agent.carrying(k) == 0,
            format!("{k} was refused and is never delivered as a message"),
        );
    }

    // The clients resend the first round with the same keys: now acknowledged
    // and delivered, once. The second round is given up.
    chat.visitor
        .client
        .say("while the database is away", "u-pg-1")
        .await;
    chat.agent
        .client
        .say("while the database is away", "s-pg-1")
        .await;
    let deadline = Instant::now() + RECOVERY_DEADLINE;
    let both = |a: &'static str, b: &'static str| {
        move |frames: &[Value]| {
            [a, b]
                .iter()
                .all(|k| frames.iter().any(|f| is_message(f) && key(f) == Some(*k)))
        }
    };
    let (visitor_has, agent_has) = tokio::join!(
        chat.visitor.wait_until(deadline, both("u-pg-1", "s-pg-1")),
        chat.agent.wait_until(deadline, both("u-pg-1", "s-pg-1")),
    );
    findings.expect(
        visitor_has && agent_has,
        "after the outage, resends with the same keys are acknowledged and delivered",
    );
    let (ticket_after, _) = a.bare_ticket().await;
    let fed = feed_learns_of(
        &mut chat.feed,
        b,
        &chat.agent_token,
        ticket_after,
        Instant::now() + RECOVERY_DEADLINE,
    )
    .await;
    if let Err(why) = &fed {
        findings.expect(false, format!("a ticket created after the outage: {why}"));
    }

    let last = a.last_seqs(&chat.session).await;
    expect_streams_whole(&mut chat, &mut findings, last).await;
    for k in ["u-pg-1", "s-pg-1"] {
        findings.expect(
            chat.visitor.carrying(k) == 1 && chat.agent.carrying(k) == 1,
            format!("{k} is delivered exactly once on each socket, after its resend"),
        );
    }
    for k in ["u-pg-2", "s-pg-2"] {
        findings.expect(
            chat.visitor.carrying(k) == 0 && chat.agent.carrying(k) == 0,
            format!("{k}, refused and never resent, is never acknowledged"),
        );
    }
    let (status, stored) = a
        .get(
            &format!("/api/support/ticket/{}/messages?limit=500", chat.session),
            None,
        )
        .await;
    assert_eq!(status, 200, "{stored}");
    let stored: Vec<&str> = stored["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["client_msg_id"].as_str())
        .collect();
    findings.expect(
        stored == ["u-pg-1", "s-pg-1"] || stored == ["s-pg-1", "u-pg-1"],
        format!("only the resent messages are stored, once each: {stored:?}"),
    );
    findings.verify();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_database_acknowledges_and_delivers_bursts_gapless_without_duplicates() {
    let Some(redis) = common::redis_url() else {
        return;
    };
    let Some(cluster) = spawn_faulty_cluster(2, &redis, fast).await else {
        return;
    };
    let [a, b] = &cluster.nodes[..] else {
        unreachable!()
    };
    let mut chat = open_chat(a, b).await;
    let mut findings = Findings::default();

    for links in &cluster.links {
        links.postgres.set_latency(SLOW_ROUND_TRIP);
    }
    for node in [a, b] {
        let started = Instant::now();
        let health = node.health().await;
        assert!(
            started.elapsed() >= SLOW_ROUND_TRIP,
            "harness: {}'s database answers slowly (health in {:?}: {health})",
            node.address,
            started.elapsed()
        );
    }

    let started = Instant::now();
    let keys = |prefix: &'static str| (0..BURST).map(move |i| format!("{prefix}{i}"));
    for (u, s) in keys("u").zip(keys("s")) {
        chat.visitor.client.say("slow", &u).await;
        chat.agent.client.say("slow", &s).await;
    }
    let (ticket_during, _) = a.bare_ticket().await;
    let deadline = started + BURST_DEADLINE;
    let everything: Vec<String> = keys("u").chain(keys("s")).collect();
    let settled = |frames: &[Value]| {
        everything.iter().all(|k| {
            frames.iter().any(|f| {
                (is_message(f) && key(f) == Some(k.as_str()))
                    || (f["type"] == "error" && f["client_msg_id"] == k.as_str())
            })
        })
    };
    let (visitor_settled, agent_settled, fed) = tokio::join!(
        chat.visitor.wait_until(deadline, settled),
        chat.agent.wait_until(deadline, settled),
        feed_learns_of(
            &mut chat.feed,
            b,
            &chat.agent_token,
            ticket_during,
            deadline
        ),
    );
    eprintln!("the slow burst settled after {:?}", started.elapsed());
    findings.expect(
        visitor_settled && agent_settled,
        format!(
            "both sockets hear of all {} messages within {BURST_DEADLINE:?}",
            2 * BURST
        ),
    );
    for (who, socket) in [("visitor", &chat.visitor), ("agent", &chat.agent)] {
        let refused: Vec<&String> = everything
            .iter()
            .filter(|k| socket.errors_for(k) > 0)
            .collect();
        findings.expect(
            refused.is_empty(),
            format!("no send is refused on a slow database; the {who} got errors for {refused:?}"),
        );
    }
    if let Err(why) = &fed {
        findings.expect(false, format!("a ticket created on a slow database: {why}"));
    }

    let last = a.last_seqs(&chat.session).await;
    // The join note, the burst and the in_progress note (internal: the
    // visitor's numbering has the join and the burst).
    findings.expect(
        last.agent == 2 + 2 * BURST as i64 && last.visitor == 1 + 2 * BURST as i64,
        format!("every message of the burst is stored once (last seqs {last:?})"),
    );
    expect_streams_whole(&mut chat, &mut findings, last).await;
    for k in &everything {
        findings.expect(
            chat.visitor.carrying(k) == 1 && chat.agent.carrying(k) == 1,
            format!("{k} arrives exactly once on each socket"),
        );
    }
    findings.verify();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_missed_while_cut_from_redis_closes_the_agents_socket_after_the_reconnect() {
    let Some(redis) = common::redis_url() else {
        return;
    };
    // No timed sweep within the test: only the sweep after the reconnect can
    // close the socket whose revocation the cut swallowed.
    let no_timed_sweep = |_: usize, config: &mut Config| config.credential_sweep_seconds = 3600;
    let Some(cluster) = spawn_faulty_cluster(2, &redis, no_timed_sweep).await else {
        return;
    };
    let [a, b] = &cluster.nodes[..] else {
        unreachable!()
    };
    let (_, token) = a.create_agent(AGENT_EMAIL, "Alice", "agent").await;
    let mut feed = b.feed_socket(&token).await;
    feed.send(serde_json::json!({"type": "ping"})).await;
    feed.next_of("pong").await;

    cluster.links[1].redis.cut();
    noticed(b, "broker").await;
    let (status, _) = a
        .send_json(
            "POST",
            "/api/support/auth/logout",
            Some(&token),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, 204, "the agent logs out on node A");
    // `try_next` fails the test if the socket closes meanwhile.
    assert!(
        feed.try_next(QUIET).await.is_none(),
        "harness: node B, cut from Redis, cannot have heard of the logout"
    );

    cluster.links[1].redis.restore();
    assert_eq!(
        feed.ended(RECOVERY_DEADLINE).await,
        common::ws::Ended::Closed(4401),
        "node B's sweep after its reconnect closes the socket of the logged-out agent"
    );
}
