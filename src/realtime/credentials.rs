//! This node's agent sockets by agent, and what closes them (4401) once their
//! token stops holding, without asking the store about each socket:
//!
//! - a revocation (a logout, a password reset, the agent disabled: wherever the
//!   token generation moves on) is published on the broker's control channel
//!   (`chat::control`); the hub hands it here and the agent's sockets with an
//!   older token close at once, on every node;
//! - a token's expiry closes its socket by a timer at `exp`
//!   (`connection::watch_credential`);
//! - a sweep, the safety net for a revocation the broker lost, re-checks every
//!   agent of this node's sockets in one store query (per 1,000 agents): every
//!   `CREDENTIAL_SWEEP_SECONDS`, after every broker reconnect, and whenever the
//!   hub's inbox dropped deliveries.
//!
//! The registry also remembers the newest generation each agent's revocations
//! announced, so that a socket authenticated just before a revocation, but
//! registered just after it, closes as it registers.

use super::frame::Closer;
use crate::auth::Credential;
use crate::broker::{Broker, CONTROL_CHANNEL};
use crate::chat::control::ControlEvent;
use crate::metrics::metrics;
use crate::store::{AgentStanding, MAX_IDS_PER_QUERY, Store};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The close code of a socket whose credential no longer holds.
pub const CREDENTIAL_CLOSE: u16 = 4401;

/// This node's agent sockets by agent; cheap to clone.
#[derive(Clone, Default)]
pub struct Credentials {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    registry: Mutex<Registry>,
    /// Wakes the sweeper for a sweep now (the hub's inbox lost deliveries).
    sweep_now: Notify,
    next_id: AtomicU64,
}

#[derive(Default)]
struct Registry {
    /// Open agent sockets: agent id → registration id → the socket.
    sockets: HashMap<i64, HashMap<u64, Watched>>,
    /// The newest token generation each agent's revocations announced: tokens
    /// older than it are revoked.
    valid_from: HashMap<i64, i64>,
}

/// One agent socket: the generation its token carries, and its close signal.
struct Watched {
    generation: i64,
    closer: Arc<Closer>,
}

/// Keeps one socket in the registry; dropping it (the socket ended) removes it.
pub struct Registration {
    inner: Arc<Inner>,
    agent_id: i64,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut registry = lock(&self.inner.registry);
        if let Some(sockets) = registry.sockets.get_mut(&self.agent_id) {
            sockets.remove(&self.id);
            if sockets.is_empty() {
                registry.sockets.remove(&self.agent_id);
            }
        }
    }
}

fn lock(registry: &Mutex<Registry>) -> MutexGuard<'_, Registry> {
    registry
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Counts an agent socket closed for its credential, in
/// `livesupport_agent_socket_closes_total{reason}`: `revoked` (told by the
/// control channel), `swept` (found by a sweep), `expired`.
pub fn count_close(reason: &'static str) {
    metrics()
        .agent_socket_closes
        .with_label_values(&[reason])
        .inc();
}

impl Credentials {
    /// Adds a socket with `credential`, closed with `closer`. A socket whose
    /// token a revocation already revoked closes at once.
    pub fn register(&self, credential: Credential, closer: Arc<Closer>) -> Registration {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let mut registry = lock(&self.inner.registry);
        let revoked = registry
            .valid_from
            .get(&credential.agent_id)
            .is_some_and(|from| credential.generation < *from);
        if revoked {
            count_close("revoked");
            closer.close(CREDENTIAL_CLOSE);
        }
        registry
            .sockets
            .entry(credential.agent_id)
            .or_default()
            .insert(
                id,
                Watched {
                    generation: credential.generation,
                    closer,
                },
            );
        Registration {
            inner: self.inner.clone(),
            agent_id: credential.agent_id,
            id,
        }
    }

    /// How many agent sockets this node holds.
    #[cfg(test)]
    fn sockets(&self) -> usize {
        lock(&self.inner.registry)
            .sockets
            .values()
            .map(HashMap::len)
            .sum()
    }

    /// Applies an envelope of the control channel.
    pub fn apply(&self, payload: &[u8]) {
        match ControlEvent::decode(payload) {
            Some(ControlEvent::AgentRevoked {
                agent_id,
                generation,
            }) => self.revoke(agent_id, generation),
            Some(ControlEvent::Unknown) | None => {}
        }
    }

    /// Closes the agent's sockets whose token is older than `generation`, and
    /// remembers it for sockets that register later.
    pub fn revoke(&self, agent_id: i64, generation: i64) {
        let mut registry = lock(&self.inner.registry);
        let from = registry.valid_from.entry(agent_id).or_insert(generation);
        *from = (*from).max(generation);
        let from = *from;
        let closed = close_where(&registry, agent_id, "revoked", |watched| {
            watched.generation < from
        });
        if closed > 0 {
            tracing::info!(agent_id, closed, "agent's sockets closed: tokens revoked");
        }
    }

    /// Asks the sweeper for a sweep now.
    pub fn sweep_soon(&self) {
        self.inner.sweep_now.notify_one();
    }

    /// Subscribes the control channel, then runs the sweeper until `stop`: a
    /// sweep every `every`, after every broker reconnect and when asked.
    pub async fn start(
        &self,
        store: Arc<dyn Store>,
        broker: Arc<dyn Broker>,
        every: Duration,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        if let Err(err) = broker.subscribe(CONTROL_CHANNEL).await {
            // The broker subscribes it with the rest when it reconnects, and the
            // sweep after that reconnect covers what was missed meanwhile.
            tracing::warn!(cause = %err, "cannot subscribe the control channel yet");
        }
        let credentials = self.clone();
        let mut reconnects = broker.reconnects();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            let mut reconnects_open = true;
            loop {
                let trigger = tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tick.tick() => "timer",
                    _ = credentials.inner.sweep_now.notified() => "lagged",
                    changed = reconnects.changed(), if reconnects_open => match changed {
                        Ok(()) => "reconnect",
                        Err(_) => { reconnects_open = false; continue }
                    },
                };
                credentials.sweep(store.as_ref(), trigger).await;
            }
        })
    }

    /// Re-checks every agent of this node's sockets against the store, in one
    /// query per [`MAX_IDS_PER_QUERY`] agents, and closes the sockets whose token
    /// no longer holds. A store that does not answer closes nothing.
    pub async fn sweep(&self, store: &dyn Store, trigger: &'static str) {
        let agents: Vec<i64> = lock(&self.inner.registry).sockets.keys().copied().collect();
        if agents.is_empty() {
            return;
        }
        metrics()
            .credential_sweeps
            .with_label_values(&[trigger])
            .inc();
        for chunk in agents.chunks(MAX_IDS_PER_QUERY) {
            match store.agent_standings(chunk).await {
                Ok(standings) => self.close_revoked(chunk, &standings),
                Err(err) => {
                    tracing::warn!(cause = %err, trigger, "credential sweep: the store did not answer");
                    return;
                }
            }
        }
    }

    /// Closes the sockets of `agents` whose token does not match the agent's
    /// standing: a generation moved on, the agent disabled or gone.
    fn close_revoked(&self, agents: &[i64], standings: &[AgentStanding]) {
        let registry = lock(&self.inner.registry);
        for agent_id in agents {
            let standing = standings
                .iter()
                .find(|s| s.agent_id == *agent_id)
                .filter(|s| !s.disabled);
            let closed = close_where(&registry, *agent_id, "swept", |watched| {
                standing.is_none_or(|s| s.token_generation != watched.generation)
            });
            if closed > 0 {
                tracing::info!(
                    agent_id,
                    closed,
                    "agent's sockets closed by the sweep: a revocation was missed"
                );
            }
        }
    }
}

/// Closes the agent's sockets that `revoked` picks, counted under `reason`;
/// how many it closed.
fn close_where(
    registry: &Registry,
    agent_id: i64,
    reason: &'static str,
    revoked: impl Fn(&Watched) -> bool,
) -> usize {
    let Some(sockets) = registry.sockets.get(&agent_id) else {
        return 0;
    };
    let mut closed = 0;
    for watched in sockets
        .values()
        .filter(|w| !w.closer.is_asked() && revoked(w))
    {
        watched.closer.close(CREDENTIAL_CLOSE);
        count_close(reason);
        closed += 1;
    }
    closed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential(agent_id: i64, generation: i64) -> Credential {
        Credential {
            agent_id,
            generation,
            expires_at: u64::MAX,
        }
    }

    #[test]
    fn a_revocation_closes_only_older_tokens_of_its_agent() {
        let credentials = Credentials::default();
        let (old, new, other) = (Closer::new(), Closer::new(), Closer::new());
        let _a = credentials.register(credential(1, 0), old.clone());
        let _b = credentials.register(credential(1, 1), new.clone());
        let _c = credentials.register(credential(2, 0), other.clone());
        credentials.revoke(1, 1);
        assert_eq!(old.code(), Some(CREDENTIAL_CLOSE));
        assert_eq!(new.code(), None);
        assert_eq!(other.code(), None);
    }

    #[test]
    fn a_socket_registered_after_its_revocation_closes_at_once() {
        let credentials = Credentials::default();
        credentials.revoke(1, 2);
        credentials.revoke(1, 1);
        let late = Closer::new();
        let _late = credentials.register(credential(1, 1), late.clone());
        assert_eq!(late.code(), Some(CREDENTIAL_CLOSE));
        let fresh = Closer::new();
        let _fresh = credentials.register(credential(1, 2), fresh.clone());
        assert_eq!(fresh.code(), None, "the highest generation heard counts");
    }

    #[test]
    fn an_ended_socket_leaves_the_registry() {
        let credentials = Credentials::default();
        let registration = credentials.register(credential(1, 0), Closer::new());
        assert_eq!(credentials.sockets(), 1);
        drop(registration);
        assert_eq!(credentials.sockets(), 0);
    }
}
