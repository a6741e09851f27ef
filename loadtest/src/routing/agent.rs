//! The agents' side of a routing run: each agent's dashboard feed (which keeps
//! it online and tells the run who holds what), the handling of each chat the
//! agent is given (one reply, a hold, resolve), and the 200 ms REST sampler of
//! `open_chats`.

use super::api;
use super::report::Rng;
use super::tracker::{Observation, Stamp, Status};
use super::{Shared, until_stopped};
use crate::client::{self, Ws};
use crate::lock;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

/// How often the agents list is read for `open_chats` and free capacity.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(200);
/// How often each feed reports the agent's activity, as the dashboard does at
/// most once a minute: a run longer than `away_after_minutes` keeps its agents
/// `online`.
const ACTIVITY_EVERY: Duration = Duration::from_secs(60);
/// How long a handler waits for the visitor's POST to answer (and name the
/// visitor of a ticket) before treating the ticket as not the run's.
const VISITOR_REGISTRATION: Duration = Duration::from_secs(2);
/// How long an agent's reply may take to come back as its own copy.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// One agent of the run.
#[derive(Debug, Clone)]
pub struct Agent {
    pub id: i64,
    /// Its bearer token (never printed).
    pub token: String,
    /// Index of the node its feed, sockets and REST calls use.
    pub node: usize,
}

/// Reads agent `index`'s feed until the run stops: every ticket frame goes to
/// the tracker, `agent_updated` to the `open_chats` maximum, and each ticket
/// the feed shows given to this agent starts its handling.
pub async fn feed_loop(
    shared: Arc<Shared>,
    index: usize,
    mut ws: Ws,
    mut stop: watch::Receiver<bool>,
) {
    let activity_frame = json!({ "type": "activity" }).to_string();
    let mut activity = tokio::time::interval(ACTIVITY_EVERY);
    activity.tick().await;
    loop {
        tokio::select! {
            _ = activity.tick() => {
                if ws.send(Message::text(activity_frame.clone())).await.is_err() && !shared.stopped() {
                    shared.error("feed activity not sent");
                }
            }
            item = ws.next() => match item {
                Some(Ok(Message::Text(text))) => on_feed_frame(&shared, index, &text),
                Some(Ok(Message::Close(frame))) => {
                    if !shared.stopped() {
                        let code = frame.map(|f| u16::from(f.code)).unwrap_or(1005);
                        shared.error(&format!("feed closed {code}"));
                    }
                    return;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    if !shared.stopped() {
                        shared.error("feed ended");
                    }
                    return;
                }
            },
            _ = until_stopped(&mut stop) => {
                let _ = tokio::time::timeout(Duration::from_secs(5), ws.close(None)).await;
                return;
            }
        }
    }
}

fn on_feed_frame(shared: &Arc<Shared>, index: usize, text: &str) {
    let now = shared.now_ns();
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        shared.error("unreadable feed frame");
        return;
    };
    match frame["type"].as_str() {
        Some("ticket_created" | "ticket_updated") => {
            let ticket = &frame["ticket"];
            let (Some(ticket_id), Some(status), Some(updated_at)) = (
                ticket["id"].as_i64(),
                ticket["status"].as_str().and_then(Status::parse),
                ticket["updated_at"].as_str().and_then(Stamp::parse),
            ) else {
                shared.error("feed ticket without id, status or updated_at");
                return;
            };
            let supporter_id = ticket["supporter_id"].as_i64();
            lock(&shared.tracker).observe(Observation {
                ticket_id,
                status,
                supporter_id,
                updated_at,
            });
            let Some(agent_id) = supporter_id.filter(|_| status.holds()) else {
                return;
            };
            lock(&shared.feed_assigned)
                .entry(ticket_id)
                .or_insert((now, agent_id));
            let me = &shared.agents[index];
            if agent_id == me.id && lock(&shared.handling).insert((me.id, ticket_id)) {
                let session_id = ticket["session_id"].as_str().map(str::to_owned);
                let handler = tokio::spawn(handle_chat(
                    shared.clone(),
                    index,
                    ticket_id,
                    session_id,
                    now,
                ));
                lock(&shared.handlers).push(handler);
            }
        }
        Some("agent_updated") => {
            let agent = &frame["agent"];
            if let (Some(id), Some(open)) = (agent["id"].as_i64(), agent["open_chats"].as_u64()) {
                lock(&shared.tracker).sample_open_chats(id, open as u32);
            }
        }
        Some("resync_required") => shared.error("feed resync_required"),
        Some("error") => shared.error("feed error frame"),
        _ => {}
    }
}

/// Agent `index` handles a chat it was given at `given_ns`: one reply over a
/// supporter socket (the ticket becomes `in_progress`), then, a hold time
/// after it was given, `resolved`, which frees the capacity.
async fn handle_chat(
    shared: Arc<Shared>,
    index: usize,
    ticket_id: i64,
    session_id: Option<String>,
    given_ns: u64,
) {
    let agent = &shared.agents[index];
    let node = &shared.nodes[agent.node];
    let mut stop = shared.stop.subscribe();

    let session_id = session_id.or_else(|| lock(&shared.sessions).get(&ticket_id).cloned());
    if let Some(session_id) = session_id {
        match reply(
            &shared,
            node,
            &agent.token,
            &session_id,
            ticket_id,
            agent.id,
        )
        .await
        {
            Ok(()) => {
                shared.replies.fetch_add(1, Ordering::Relaxed);
            }
            Err(kind) => {
                if !shared.stopped() {
                    shared.error(kind);
                }
            }
        }
    }

    let hold = Duration::from_secs_f64(hold_s(&shared, ticket_id).await);
    let until = shared.epoch + Duration::from_nanos(given_ns) + hold;
    tokio::select! {
        _ = tokio::time::sleep_until(until.into()) => {}
        _ = until_stopped(&mut stop) => return,
    }
    match api::set_ticket_status(&shared.http, node, &agent.token, ticket_id, "resolved").await {
        Ok(()) => {
            shared.handled.fetch_add(1, Ordering::Relaxed);
        }
        // The visitor may have closed it meanwhile: nothing to free then.
        Err(err) if err.to_string().contains("409") => {}
        Err(_) => {
            if !shared.stopped() {
                shared.error("resolve failed");
            }
        }
    }
}

/// How long the chat of `ticket_id` is held: its visitor's draw, or for a
/// ticket that is not the run's (left in the queue before it), one seeded by
/// its id. The assignment may come before the visitor's POST has answered, so
/// the visitor gets a moment to register its ticket.
async fn hold_s(shared: &Shared, ticket_id: i64) -> f64 {
    let deadline = tokio::time::Instant::now() + VISITOR_REGISTRATION;
    loop {
        if let Some(&k) = lock(&shared.visitor_of).get(&ticket_id) {
            return shared.holds[k];
        }
        if tokio::time::Instant::now() >= deadline {
            let mut rng =
                Rng::new(shared.seed ^ (ticket_id as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
            return rng.exponential(shared.hold_mean_s);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Sends one chat message on a supporter socket and waits for its own copy.
async fn reply(
    shared: &Shared,
    node: &client::Node,
    token: &str,
    session_id: &str,
    ticket_id: i64,
    agent_id: i64,
) -> Result<(), &'static str> {
    let (mut ws, _) = client::open_socket(
        node,
        &format!("/ws/support/supporter/{session_id}"),
        Some(token),
        None,
    )
    .await
    .map_err(|_| "supporter socket refused")?;
    shared.connections.fetch_add(1, Ordering::Relaxed);
    let key = format!("lt-route-{ticket_id}-{agent_id}");
    let frame = json!({
        "type": "message",
        "message": "Hello, this is the load test's agent: how can I help?",
        "client_msg_id": key,
    });
    ws.send(Message::text(frame.to_string()))
        .await
        .map_err(|_| "reply not sent")?;
    let acknowledged = tokio::time::timeout(REPLY_TIMEOUT, async {
        while let Some(Ok(message)) = ws.next().await {
            let Message::Text(text) = message else {
                continue;
            };
            let frame: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            match frame["type"].as_str() {
                Some("message") if frame["message"]["client_msg_id"] == key.as_str() => {
                    return Ok(());
                }
                Some("error") => return Err("reply refused"),
                _ => {}
            }
        }
        Err("supporter socket ended")
    })
    .await
    .unwrap_or(Err("reply not acknowledged"));
    let _ = tokio::time::timeout(Duration::from_secs(5), ws.close(None)).await;
    acknowledged
}

/// Reads the agents list every [`SAMPLE_EVERY`], over the nodes in turn: each
/// run agent's `open_chats` goes to the tracker, and whether some run agent is
/// online below its `max_chats` (free capacity) to `free_since`.
pub async fn sample_loop(shared: Arc<Shared>, admin: String, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut turn = 0usize;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = until_stopped(&mut stop) => return,
        }
        let node = &shared.nodes[turn % shared.nodes.len()];
        turn += 1;
        let rows = match api::list_agents(&shared.http, node, &admin).await {
            Ok(rows) => rows,
            Err(_) => {
                if !shared.stopped() {
                    shared.error("agents sample failed");
                }
                continue;
            }
        };
        let now = shared.now_ns();
        let mut free = false;
        {
            let mut tracker = lock(&shared.tracker);
            for row in rows.iter().filter(|r| shared.is_run_agent(r.id)) {
                let open = row.open_chats.unwrap_or(0);
                tracker.sample_open_chats(row.id, open);
                let max = row.max_chats.unwrap_or(shared.max_chats);
                if row.status.as_deref() == Some("online") && open < max {
                    free = true;
                }
            }
        }
        shared.samples.fetch_add(1, Ordering::Relaxed);
        let mut free_since = lock(&shared.free_since);
        *free_since = if free {
            Some(free_since.unwrap_or(now))
        } else {
            None
        };
    }
}
