//! Presence, capacity and routing (issue 16), the chat layer's part: this
//! node's dashboard sockets (the agents' feed) as presence rows, the settings
//! cache, and the operations that give tickets to agents and publish them
//! exactly as a Join is published. The per-node round that runs them is
//! `realtime::router`; the transactions that settle races between nodes are the
//! store's (`assign_next`, `requeue_abandoned`).
//!
//! Presence heals like socket sessions (`sessions.rs`): every live dashboard
//! socket is kept in memory with its row, and after a failed write (the
//! database was down) the heartbeat writes them back: missing rows inserted,
//! rows closed meanwhile opened again, closes that failed written.

use super::Chat;
use crate::domain::{Agent, Settings, Ticket};
use crate::error::ApiError;
use crate::metrics::metrics;
use crate::store::{Changed, StoreError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Duration;
use tokio::sync::Notify;

/// The most assignments one routing round makes; the next round goes on.
pub const MAX_ASSIGNMENTS_PER_ROUND: usize = 200;

/// What a visitor socket of a waiting ticket was last told: its position
/// (`None` once it left the queue) and the agents online.
pub type QueueState = (Option<i64>, i64);

/// This node's routing state, shared by the chat layer and the router task.
#[derive(Debug)]
pub struct Routing {
    /// Wakes the router task: something may be assignable now.
    wake: Notify,
    /// The settings as last read (the router re-reads them every round), and
    /// how many times this node saved them: a read that started before a save
    /// must not put back what the save replaced.
    settings: RwLock<(Settings, u64)>,
    /// How long a closed dashboard socket keeps its agent connected.
    pub grace: Duration,
    /// How often the router runs a round when nothing wakes it.
    pub interval: Duration,
    /// This node's dashboard sockets, to write back after an outage.
    dashboards: Mutex<HashMap<u64, LiveDashboard>>,
    /// Rows of closed dashboard sockets whose close could not be written yet.
    unclosed: Mutex<Vec<i64>>,
    next_key: AtomicU64,
    /// A dashboard write failed: the next good heartbeat writes them back.
    dirty: AtomicBool,
    /// Per ticket with visitor sockets here: what they were told last.
    pub queue_sent: Mutex<HashMap<i64, QueueState>>,
    /// Set while this node's heartbeat fails, and until it has been healthy
    /// long enough after: when it may take other nodes' agents for offline.
    judging: Mutex<Judging>,
    /// Agents `online` at the router's last round; -1 before the first.
    agents_online: AtomicI64,
}

/// Whether this node may judge other nodes' agents offline (and return their
/// tickets to the queue). After an outage the other nodes' heartbeats are as
/// stale as this one's was: it waits until every live node has written one
/// again, as the pruning of sessions does (`sessions::keep_alive`).
#[derive(Debug, Default, Clone, Copy)]
enum Judging {
    #[default]
    Yes,
    /// The heartbeat fails.
    Outage,
    /// Back since then; judges from that instant on.
    After(tokio::time::Instant),
}

#[derive(Debug)]
struct LiveDashboard {
    agent_id: i64,
    /// Its row, once inserted.
    row: Option<i64>,
}

/// A dashboard socket's presence, to close when the socket ends.
#[derive(Debug)]
pub struct DashboardKey {
    key: u64,
    pub agent_id: i64,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Routing {
    pub fn new(grace: Duration, interval: Duration) -> Self {
        Routing {
            wake: Notify::new(),
            settings: RwLock::new((Settings::default(), 0)),
            grace,
            interval,
            dashboards: Mutex::new(HashMap::new()),
            unclosed: Mutex::new(Vec::new()),
            next_key: AtomicU64::new(1),
            dirty: AtomicBool::new(false),
            queue_sent: Mutex::new(HashMap::new()),
            judging: Mutex::new(Judging::Yes),
            agents_online: AtomicI64::new(-1),
        }
    }

    /// Records how many agents were `online` at a round.
    pub fn note_agents_online(&self, n: usize) {
        self.agents_online.store(n as i64, Ordering::Relaxed);
    }

    /// Agents `online` at the last round; `None` before the first.
    pub fn agents_online(&self) -> Option<usize> {
        usize::try_from(self.agents_online.load(Ordering::Relaxed)).ok()
    }

    /// The node's heartbeat failed (the database is away from this node).
    pub(super) fn heartbeat_failed(&self) {
        *lock(&self.judging) = Judging::Outage;
    }

    /// The node's heartbeat was written; after an outage, other nodes are
    /// judged once they all had the time to write theirs again.
    pub(super) fn heartbeat_written(&self) {
        let mut judging = lock(&self.judging);
        if matches!(*judging, Judging::Outage) {
            let settle = crate::store::NODE_STALE_AFTER + super::sessions::HEARTBEAT_INTERVAL;
            *judging = Judging::After(tokio::time::Instant::now() + settle);
        }
    }

    /// Whether agents may be taken for offline now (see [`Judging`]).
    pub fn may_judge_presence(&self) -> bool {
        let mut judging = lock(&self.judging);
        match *judging {
            Judging::Yes => true,
            Judging::Outage => false,
            Judging::After(at) if tokio::time::Instant::now() >= at => {
                *judging = Judging::Yes;
                true
            }
            Judging::After(_) => false,
        }
    }

    /// Asks the router for a round now (a ticket opened, room was freed, an
    /// agent came online…). Wakes coalesce: a round reads everything fresh.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Resolves when [`Routing::wake`] was called since the last time.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    pub fn settings(&self) -> Settings {
        self.settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .clone()
    }

    /// Uses the settings this node just saved.
    pub fn cache_settings(&self, settings: Settings) {
        let mut cached = self.settings.write().unwrap_or_else(|p| p.into_inner());
        *cached = (settings, cached.1 + 1);
    }

    /// A mark to take before reading the settings from the store.
    pub fn settings_saves(&self) -> u64 {
        self.settings.read().unwrap_or_else(|p| p.into_inner()).1
    }

    /// Uses settings read from the store, unless this node saved newer ones
    /// since `saves_before` was taken (the read may predate that save).
    pub fn cache_read_settings(&self, settings: Settings, saves_before: u64) {
        let mut cached = self.settings.write().unwrap_or_else(|p| p.into_inner());
        if cached.1 == saves_before {
            cached.0 = settings;
        }
    }

    /// Records what a visitor socket of `ticket_id` was sent on opening.
    pub fn queue_told(&self, ticket_id: i64, state: QueueState) {
        lock(&self.queue_sent).insert(ticket_id, state);
    }
}

impl Chat {
    /// A dashboard socket opened: the agent is connected (and active), on
    /// every node; the router may have a ticket for them.
    pub async fn open_dashboard(&self, agent_id: i64) -> DashboardKey {
        let routing = &self.routing;
        let key = routing.next_key.fetch_add(1, Ordering::Relaxed);
        let row = match self.store.open_agent_socket(agent_id, &self.node_id).await {
            Ok(row) => Some(row),
            Err(err) => {
                tracing::warn!(cause = %err, agent_id, "cannot record the dashboard socket; written back later");
                routing.dirty.store(true, Ordering::Relaxed);
                None
            }
        };
        lock(&routing.dashboards).insert(key, LiveDashboard { agent_id, row });
        routing.wake();
        DashboardKey { key, agent_id }
    }

    /// A dashboard socket closed: it keeps the agent connected for the grace.
    pub async fn close_dashboard(&self, key: DashboardKey) {
        let routing = &self.routing;
        let live = lock(&routing.dashboards).remove(&key.key);
        if let Some(row) = live.and_then(|l| l.row)
            && let Err(err) = self.store.close_agent_socket(row, routing.grace).await
        {
            tracing::warn!(cause = %err, agent_id = key.agent_id, "cannot close the dashboard socket; closed later");
            lock(&routing.unclosed).push(row);
        }
        routing.wake();
    }

    /// The dashboard's `activity` frame (throttled by the socket): brings an
    /// agent back from an automatic away.
    pub async fn record_activity(&self, agent_id: i64) {
        match self.store.record_activity(agent_id).await {
            Ok(()) => self.routing.wake(),
            Err(err) => {
                tracing::warn!(cause = %err, agent_id, "cannot record the agent's activity")
            }
        }
    }

    /// The heartbeat failed: another node may take this one for dead meanwhile
    /// (its rows stop counting, and nothing else changes them), so the rows are
    /// written back once the database answers again.
    pub(super) fn mark_dashboards_dirty(&self) {
        self.routing.dirty.store(true, Ordering::Relaxed);
    }

    /// Whether dashboard presence must be written back (a write failed).
    pub(super) fn dashboards_dirty(&self) -> bool {
        self.routing.dirty.load(Ordering::Relaxed) || !lock(&self.routing.unclosed).is_empty()
    }

    /// Writes this node's dashboard sockets back after writes failed: inserts
    /// the rows that are missing, opens the others again, writes the closes.
    pub(super) async fn write_back_dashboards(&self) -> Result<(), StoreError> {
        let routing = &self.routing;
        routing.dirty.store(false, Ordering::Relaxed);
        let result = self.write_back_dashboard_rows().await;
        if result.is_err() {
            routing.dirty.store(true, Ordering::Relaxed);
        }
        result
    }

    async fn write_back_dashboard_rows(&self) -> Result<(), StoreError> {
        let routing = &self.routing;
        let (rows, missing): (Vec<i64>, Vec<(u64, i64)>) = {
            let live = lock(&routing.dashboards);
            (
                live.values().filter_map(|l| l.row).collect(),
                live.iter()
                    .filter(|(_, l)| l.row.is_none())
                    .map(|(key, l)| (*key, l.agent_id))
                    .collect(),
            )
        };
        self.store.revive_agent_sockets(&rows).await?;
        for (key, agent_id) in missing {
            let row = self
                .store
                .open_agent_socket(agent_id, &self.node_id)
                .await?;
            let mut live = lock(&routing.dashboards);
            match live.get_mut(&key) {
                Some(l) => l.row = Some(row),
                // The socket closed meanwhile: its row must not stay open.
                None => lock(&routing.unclosed).push(row),
            }
        }
        let unclosed = std::mem::take(&mut *lock(&routing.unclosed));
        for (i, row) in unclosed.iter().enumerate() {
            if let Err(err) = self.store.close_agent_socket(*row, routing.grace).await {
                lock(&routing.unclosed).extend_from_slice(&unclosed[i..]);
                return Err(err);
            }
        }
        routing.wake();
        tracing::info!(
            revived = rows.len(),
            closed = unclosed.len(),
            "dashboard sockets written back after a database outage"
        );
        Ok(())
    }

    /// The agent's chosen status (`away: true`) or back `online`; every
    /// dashboard hears of it from its node's next comparison (this one's now).
    pub async fn set_away(&self, agent_id: i64, away: bool) -> Result<Agent, ApiError> {
        let agent = self.store.set_away(agent_id, away).await?;
        self.routing.wake();
        Ok(agent)
    }

    /// Stores the settings and uses them at once on this node (the others
    /// read them within a round).
    pub async fn save_settings(&self, settings: Settings) -> Result<Settings, ApiError> {
        self.store.save_settings(&settings).await?;
        self.routing.cache_settings(settings.clone());
        self.routing.wake();
        Ok(settings)
    }

    /// One auto-assignment, published exactly as a Join: `supporter_joined` to
    /// the ticket, `ticket_updated` to the feed. `None`: nothing to assign.
    pub async fn assign_next(&self) -> Result<Option<Ticket>, StoreError> {
        let Some(changed) = self.store.assign_next().await? else {
            return Ok(None);
        };
        count_assignment("auto", &changed);
        if let Some((agent_id, _)) = &changed.assigned {
            tracing::info!(
                ticket_id = changed.ticket.id,
                agent_id,
                "ticket auto-assigned"
            );
        }
        self.publish_changed(&changed, Some(0)).await;
        Ok(Some(changed.ticket))
    }

    /// Returns the untouched tickets of agents gone offline to the queue and
    /// publishes each (its agents-only note, `ticket_updated`).
    pub async fn requeue_abandoned(&self) -> Result<usize, StoreError> {
        let requeued = self.store.requeue_abandoned().await?;
        for changed in &requeued {
            metrics().requeued.inc();
            tracing::info!(
                ticket_id = changed.ticket.id,
                "ticket returned to the queue: its agent went offline"
            );
            self.publish_changed(changed, None).await;
        }
        Ok(requeued.len())
    }

    /// Gives a ticket to `to`, asked by `by`: the agents-only note, then the
    /// public join (`supporter_joined`), then `ticket_updated`.
    pub async fn transfer(
        &self,
        ticket_id: i64,
        to: &Agent,
        by: &Agent,
    ) -> Result<Ticket, ApiError> {
        let changed = self
            .store
            .transfer_ticket(ticket_id, (to.id, &to.name), (by.id, &by.name))
            .await?;
        if !changed.changed_anything() {
            return Ok(changed.ticket);
        }
        count_assignment("transfer", &changed);
        tracing::info!(
            ticket_id,
            agent_id = to.id,
            by = by.id,
            "ticket transferred"
        );
        let last = changed.notes.len().checked_sub(1);
        self.publish_changed(&changed, last).await;
        // The previous agent has room now.
        self.routing.wake();
        Ok(changed.ticket)
    }
}

/// Counts an assignment by how it was made; auto-assignment and a Join take a
/// ticket out of the queue, so they also record how long it waited there.
pub(super) fn count_assignment(how: &str, changed: &Changed) {
    let m = metrics();
    m.assignments.with_label_values(&[how]).inc();
    if matches!(how, "auto" | "join") {
        let waited = (crate::store::now() - changed.ticket.created_at)
            .to_std()
            .unwrap_or_default();
        m.assignment_wait.observe(waited.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::Routing;
    use crate::domain::Settings;
    use std::time::Duration;

    #[test]
    fn a_read_that_started_before_a_save_does_not_undo_it() {
        let routing = Routing::new(Duration::from_secs(30), Duration::from_secs(2));
        let stale = routing.settings();
        let before = routing.settings_saves();
        let saved = Settings {
            csat: !stale.csat,
            ..stale.clone()
        };
        routing.cache_settings(saved.clone());
        routing.cache_read_settings(stale.clone(), before);
        assert_eq!(
            routing.settings().csat,
            saved.csat,
            "the older read is dropped"
        );
        // A read that starts after the save is used (another node's change).
        let after = routing.settings_saves();
        routing.cache_read_settings(stale.clone(), after);
        assert_eq!(routing.settings().csat, stale.csat);
    }

    #[test]
    fn after_an_outage_other_nodes_agents_are_not_judged_at_once() {
        let routing = Routing::new(Duration::from_secs(30), Duration::from_secs(2));
        assert!(
            routing.may_judge_presence(),
            "a node that just started judges"
        );
        routing.heartbeat_written();
        assert!(
            routing.may_judge_presence(),
            "heartbeats alone change nothing"
        );
        routing.heartbeat_failed();
        assert!(!routing.may_judge_presence(), "not during its own outage");
        routing.heartbeat_written();
        assert!(
            !routing.may_judge_presence(),
            "nor until every live node could write a heartbeat again"
        );
    }
}
