//! The per-node router (issue 16): a task that, every round, reads the
//! settings, returns abandoned tickets to the queue and auto-assigns waiting
//! tickets (both only with `"assignment": "auto"`), then tells this node's
//! sockets what changed: `agent_updated` to its dashboards, `queue` to the
//! visitor sockets of waiting tickets.
//!
//! A round runs every routing interval (the reconciliation interval, 2 s) and
//! whenever something wakes it ([`crate::chat::routing::Routing::wake`]: a
//! ticket opened, room was freed, an agent came online…), at most once per
//! [`MIN_ROUND_SPACING`]. Every node runs rounds: the database settles their
//! races (`Store::assign_next`), and the timer covers events of a node that
//! died. Dashboards and visitors are told by the node they are connected to,
//! from what it last told them, so no frame goes through the broker.

use super::Realtime;
use super::frame::Frame;
use super::protocol::{QueueData, ServerFrame};
use crate::chat::routing::{MAX_ASSIGNMENTS_PER_ROUND, QueueState};
use crate::domain::{Agent, AgentRole, AgentStatus};
use crate::metrics::metrics;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The least time between two rounds: a burst of wake-ups (a hundred tickets
/// opening at once) makes a round every this, not one per wake-up.
pub const MIN_ROUND_SPACING: Duration = Duration::from_millis(100);

/// What an agent's `agent_updated` frame shows that can change.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AgentView {
    status: AgentStatus,
    max_chats: i64,
    open_chats: i64,
    name: String,
    role: AgentRole,
    disabled: bool,
}

impl From<&Agent> for AgentView {
    fn from(agent: &Agent) -> Self {
        AgentView {
            status: agent.status,
            max_chats: agent.max_chats,
            open_chats: agent.open_chats,
            name: agent.name.clone(),
            role: agent.role,
            disabled: agent.disabled,
        }
    }
}

/// Runs rounds until `stop`.
pub async fn run(realtime: Realtime, stop: CancellationToken) {
    let routing = realtime.chat.routing.clone();
    let mut tick = tokio::time::interval(routing.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut told: HashMap<i64, AgentView> = HashMap::new();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
            _ = routing.woken() => {}
        }
        round(&realtime, &mut told).await;
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(MIN_ROUND_SPACING) => {}
        }
    }
}

/// One round; every step logs its own failure and the next round tries again.
async fn round(realtime: &Realtime, told: &mut HashMap<i64, AgentView>) {
    let chat = &realtime.chat;
    let saves_before = chat.routing.settings_saves();
    match chat.store.settings().await {
        Ok(settings) => chat.routing.cache_read_settings(settings, saves_before),
        Err(err) => tracing::warn!(cause = %err, "cannot read the settings; using the last ones"),
    }
    if chat.routing.settings().auto_assigns() {
        if chat.routing.may_judge_presence()
            && let Err(err) = chat.requeue_abandoned().await
        {
            tracing::warn!(cause = %err, "cannot return abandoned tickets to the queue");
        }
        for _ in 0..MAX_ASSIGNMENTS_PER_ROUND {
            match chat.assign_next().await {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(err) => {
                    tracing::warn!(cause = %err, "auto-assignment failed");
                    break;
                }
            }
        }
    }
    tell_dashboards(realtime, told).await;
    tell_visitors(realtime).await;
}

/// Sends this node's dashboards `agent_updated` for every agent that changed
/// since the last round (all of them the first time), and counts agents by status.
async fn tell_dashboards(realtime: &Realtime, told: &mut HashMap<i64, AgentView>) {
    let agents = match realtime.chat.store.list_agents().await {
        Ok(agents) => agents,
        Err(err) => {
            tracing::warn!(cause = %err, "cannot read the agents for presence");
            return;
        }
    };
    let m = metrics();
    for status in AgentStatus::ALL {
        let n = agents.iter().filter(|a| a.status == status).count();
        m.agents.with_label_values(&[status.as_str()]).set(n as i64);
        if status == AgentStatus::Online {
            realtime.chat.routing.note_agents_online(n);
        }
    }
    let mut frames = Vec::new();
    for agent in &agents {
        let view = AgentView::from(agent);
        if told.get(&agent.id) != Some(&view) {
            frames.push(Arc::new(Frame::new(&ServerFrame::AgentUpdated { agent })));
            told.insert(agent.id, view);
        }
    }
    if !frames.is_empty() {
        realtime.hub.send_to_dashboards(frames);
    }
}

/// Whether a ticket's visitor sockets need a `queue` frame: while it waits,
/// whenever the position or the agents online differ from what they were told;
/// once it left the queue, one `position: null` if they were told it waits.
fn queue_frame_due(told: Option<QueueState>, now: QueueState) -> bool {
    match (now.0, told) {
        (Some(_), told) => told != Some(now),
        (None, Some((Some(_), _))) => true,
        (None, _) => false,
    }
}

/// Sends the visitor sockets of waiting tickets here their `queue` frame when
/// their position or the agents online changed, and once `position: null`
/// when their ticket left the queue.
async fn tell_visitors(realtime: &Realtime) {
    let Some(tickets) = realtime.hub.visitor_tickets().await else {
        return;
    };
    let snapshot = match realtime.chat.store.queue_snapshot(&tickets).await {
        Ok(snapshot) => snapshot,
        Err(err) => {
            tracing::warn!(cause = %err, "cannot read the queue positions");
            return;
        }
    };
    metrics().queue_waiting.set(snapshot.waiting);
    let positions: HashMap<i64, i64> = snapshot.positions.iter().copied().collect();
    let agents_online = snapshot.agents_online;
    let mut sent = realtime
        .chat
        .routing
        .queue_sent
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // Tickets without visitor sockets here are forgotten.
    let here: HashSet<i64> = tickets.iter().copied().collect();
    sent.retain(|id, _| here.contains(id));
    for ticket_id in tickets {
        let now = (positions.get(&ticket_id).copied(), agents_online);
        if queue_frame_due(sent.get(&ticket_id).copied(), now) {
            let position = now.0;
            sent.insert(ticket_id, (position, agents_online));
            let frame = Frame::new(&ServerFrame::Queue {
                data: QueueData {
                    position,
                    agents_online,
                },
            });
            realtime.hub.send_to_visitors(ticket_id, Arc::new(frame));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::queue_frame_due;

    #[test]
    fn a_waiting_visitor_is_told_only_what_changed_and_leaving_the_queue_once() {
        assert!(
            queue_frame_due(None, (Some(3), 0)),
            "first sight while waiting"
        );
        assert!(
            !queue_frame_due(Some((Some(3), 0)), (Some(3), 0)),
            "nothing changed"
        );
        assert!(
            queue_frame_due(Some((Some(3), 0)), (Some(2), 0)),
            "moved up"
        );
        assert!(
            queue_frame_due(Some((Some(2), 0)), (Some(2), 1)),
            "an agent came online"
        );
        assert!(
            queue_frame_due(Some((Some(1), 1)), (None, 1)),
            "left the queue"
        );
        assert!(!queue_frame_due(Some((None, 1)), (None, 2)), "told once");
        assert!(!queue_frame_due(None, (None, 1)), "never waited here");
        assert!(
            queue_frame_due(Some((None, 1)), (Some(4), 1)),
            "back in the queue"
        );
    }
}
