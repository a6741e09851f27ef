//! This node's socket sessions, as the store and the other nodes see them.
//!
//! Every open socket is a row in `support_sessions`; presence ("is an agent on
//! this ticket?") and the agents' `online` flag read those rows, counting only
//! the rows of nodes whose heartbeat row is fresh by the database's clock
//! ([`crate::store::NODE_STALE_AFTER`]). The node keeps its live sessions in
//! memory too, so that after a database outage it can write them back: rows it
//! could not insert are inserted, rows another node ended (taking this one for
//! dead) are made active again, and ends it could not write are written. Nodes
//! that stop heart-beating for good have their sessions ended, and ended
//! sessions are deleted after [`SESSION_RETENTION`]. The rows of sockets that
//! open together are inserted together ([`crate::batch`]): a reconnect storm
//! writes a few statements, not one per socket.

use super::Chat;
use super::events::Event;
use crate::batch::Batcher;
use crate::domain::{Presence, SenderType};
use crate::metrics::metrics;
use crate::store::{MAX_IDS_PER_QUERY, NODE_STALE_AFTER, NewSession, Store};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How often this node writes its heartbeat row.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// How soon a failed heartbeat is tried again (the database may be back).
const HEARTBEAT_RETRY: Duration = Duration::from_secs(1);
/// How often sessions of dead nodes are ended and old ones deleted.
const PRUNE_INTERVAL: Duration = Duration::from_secs(60);
/// Ended sessions are kept this long, then deleted.
pub const SESSION_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
/// Session inserts that run at once, each of the sockets that opened while
/// the others ran (a reconnect storm's thousands of rows in a few statements).
const SESSION_INSERTS: usize = 2;

/// Presence reads that run at once, each of the tickets whose sockets opened
/// or closed while the others ran.
const PRESENCE_READS: usize = 2;

/// Inserts session rows of sockets opening together, each request keyed by
/// its socket's key (so equal sessions still get a row each).
type Inserts = Batcher<(u64, NewSession), i64, String>;
/// Reads the presence of tickets whose sockets change together.
type Presences = Batcher<i64, Presence, String>;

/// One live socket's session.
#[derive(Debug)]
struct Live {
    session: NewSession,
    /// Its row, once inserted.
    row: Option<i64>,
}

/// This node's live sessions.
#[derive(Debug, Default)]
pub struct LiveSessions {
    live: Mutex<HashMap<u64, Live>>,
    /// Rows of closed sockets whose end could not be written yet.
    unended: Mutex<Vec<i64>>,
    next_key: AtomicU64,
    /// A write failed: the next good heartbeat writes the sessions back.
    dirty: AtomicBool,
    /// Started with the first socket (they need the runtime).
    inserts: OnceLock<Inserts>,
    presences: OnceLock<Presences>,
}

/// The batcher of session inserts into `store`.
fn start_inserts(store: Arc<dyn Store>) -> Inserts {
    Batcher::start(
        SESSION_INSERTS,
        MAX_IDS_PER_QUERY,
        move |keys: Vec<(u64, NewSession)>| {
            let store = store.clone();
            async move {
                let sessions: Vec<NewSession> = keys.iter().map(|(_, s)| s.clone()).collect();
                let ids = store
                    .open_sessions(&sessions)
                    .await
                    .map_err(|err| err.to_string())?;
                Ok(keys.into_iter().zip(ids).collect())
            }
        },
    )
}

/// The batcher of presence reads from `store`. A request is answered by a
/// read that started after it, so it sees every session written before.
fn start_presences(store: Arc<dyn Store>) -> Presences {
    Batcher::start(PRESENCE_READS, MAX_IDS_PER_QUERY, move |ids: Vec<i64>| {
        let store = store.clone();
        async move {
            let found: HashMap<i64, Presence> = store
                .presences(&ids)
                .await
                .map_err(|err| err.to_string())?
                .into_iter()
                .collect();
            Ok(ids
                .into_iter()
                .map(|id| (id, found.get(&id).copied().unwrap_or_default()))
                .collect())
        }
    })
}

/// A session row and the side of its socket.
type SessionRow = (i64, SenderType);
/// A live session whose row could not be inserted yet, by its key.
type Unwritten = (u64, NewSession);

/// A socket's session, to close when the socket ends.
#[derive(Debug)]
pub struct SessionKey {
    key: u64,
    ticket_id: i64,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl LiveSessions {
    /// How many sockets of this node have a session.
    pub fn len(&self) -> usize {
        lock(&self.live).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Chat {
    /// Records an open socket and tells the ticket's sockets who is there.
    pub async fn open_session(&self, session: NewSession) -> SessionKey {
        let sessions = &self.sessions;
        let key = sessions.next_key.fetch_add(1, Ordering::Relaxed);
        let ticket_id = session.ticket_id;
        let inserts = sessions
            .inserts
            .get_or_init(|| start_inserts(self.store.clone()));
        let row = match inserts.get((key, session.clone())).await {
            Ok(Some(row)) => Some(row),
            failed => {
                let cause = match failed {
                    Err(Some(cause)) => cause,
                    _ => "the session inserts stopped".to_owned(),
                };
                tracing::warn!(%cause, "cannot record the socket session; written back later");
                sessions.dirty.store(true, Ordering::Relaxed);
                None
            }
        };
        lock(&sessions.live).insert(key, Live { session, row });
        self.publish_presence(ticket_id).await;
        SessionKey { key, ticket_id }
    }

    /// Ends a socket's session and tells the ticket's sockets who is left.
    pub async fn close_session(&self, key: SessionKey) {
        let live = lock(&self.sessions.live).remove(&key.key);
        if let Some(row) = live.and_then(|l| l.row)
            && let Err(err) = self.store.end_session(row).await
        {
            tracing::warn!(cause = %err, "cannot end the socket session; ended later");
            lock(&self.sessions.unended).push(row);
        }
        self.publish_presence(key.ticket_id).await;
    }

    /// Publishes who is connected to the ticket now, on any node.
    /// The read is shared with the other sockets opening or closing meanwhile.
    pub async fn publish_presence(&self, ticket_id: i64) {
        let presences = self
            .sessions
            .presences
            .get_or_init(|| start_presences(self.store.clone()));
        match presences.get(ticket_id).await {
            Ok(Some(presence)) => {
                self.publisher
                    .publish(Event::Presence {
                        ticket_id,
                        presence,
                    })
                    .await
            }
            Ok(None) | Err(None) => tracing::warn!("cannot read presence: the reads stopped"),
            Err(Some(cause)) => tracing::warn!(%cause, "cannot read presence"),
        }
    }

    /// Writes this node's sessions back after writes failed: inserts the rows
    /// that are missing, makes the others active again, ends what could not be.
    async fn write_back_sessions(&self) -> Result<(), crate::store::StoreError> {
        let sessions = &self.sessions;
        sessions.dirty.store(false, Ordering::Relaxed);
        let (rows, missing): (Vec<SessionRow>, Vec<Unwritten>) = {
            let live = lock(&sessions.live);
            let rows = live
                .values()
                .filter_map(|l| l.row.map(|row| (row, l.session.role)))
                .collect();
            let missing = live
                .iter()
                .filter(|(_, l)| l.row.is_none())
                .map(|(key, l)| (*key, l.session.clone()))
                .collect();
            (rows, missing)
        };
        let result = self.write_back(rows, missing).await;
        if result.is_err() {
            sessions.dirty.store(true, Ordering::Relaxed);
        }
        result
    }

    async fn write_back(
        &self,
        rows: Vec<SessionRow>,
        missing: Vec<Unwritten>,
    ) -> Result<(), crate::store::StoreError> {
        let sessions = &self.sessions;
        let revived = self.store.revive_sessions(&rows).await?;
        for (key, session) in missing {
            let row = self.store.open_session(&session).await?;
            let mut live = lock(&sessions.live);
            match live.get_mut(&key) {
                Some(l) => l.row = Some(row),
                // The socket closed meanwhile: its row must not stay active.
                None => lock(&sessions.unended).push(row),
            }
        }
        let unended = std::mem::take(&mut *lock(&sessions.unended));
        for (i, row) in unended.iter().enumerate() {
            if let Err(err) = self.store.end_session(*row).await {
                lock(&sessions.unended).extend_from_slice(&unended[i..]);
                return Err(err);
            }
        }
        tracing::info!(
            revived,
            ended = unended.len(),
            "socket sessions written back after a database outage"
        );
        Ok(())
    }
}

/// The node's heartbeat: writes its row every [`HEARTBEAT_INTERVAL`] (every
/// second while that fails), writes the sessions back after a failure, and,
/// once it has been healthy for longer than a node may be silent, ends the
/// sessions of dead nodes and deletes old ones. Ends with `stop`.
pub async fn keep_alive(chat: Chat, stop: CancellationToken) {
    let mut healthy_since: Option<Instant> = None;
    let mut last_prune: Option<Instant> = None;
    loop {
        let ok = match chat.store.heartbeat(&chat.node_id).await {
            Ok(()) => true,
            Err(err) => {
                if healthy_since.is_some() {
                    tracing::warn!(cause = %err, "node heartbeat failed; retrying every second");
                }
                metrics().heartbeat_failures.inc();
                chat.sessions.dirty.store(true, Ordering::Relaxed);
                chat.mark_dashboards_dirty();
                chat.routing.heartbeat_failed();
                healthy_since = None;
                false
            }
        };
        if ok {
            chat.routing.heartbeat_written();
            let since = *healthy_since.get_or_insert_with(Instant::now);
            let must_write = chat.sessions.dirty.load(Ordering::Relaxed)
                || !lock(&chat.sessions.unended).is_empty();
            if must_write && let Err(err) = chat.write_back_sessions().await {
                tracing::warn!(cause = %err, "cannot write the socket sessions back yet");
            }
            if chat.dashboards_dirty()
                && let Err(err) = chat.write_back_dashboards().await
            {
                tracing::warn!(cause = %err, "cannot write the dashboard sockets back yet");
            }
            // A node judges others only after it has itself been up long enough
            // for every live node to have written a heartbeat since the outage.
            let settled = since.elapsed() > NODE_STALE_AFTER + HEARTBEAT_INTERVAL;
            if settled && last_prune.is_none_or(|at| at.elapsed() >= PRUNE_INTERVAL) {
                last_prune = Some(Instant::now());
                prune(&chat).await;
            }
        }
        let pause = if ok {
            HEARTBEAT_INTERVAL
        } else {
            HEARTBEAT_RETRY
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

async fn prune(chat: &Chat) {
    match chat.store.end_stale_sessions(NODE_STALE_AFTER).await {
        Ok(0) => {}
        Ok(ended) => tracing::info!(ended, "ended the sessions of nodes that stopped"),
        Err(err) => tracing::warn!(cause = %err, "cannot end stale sessions"),
    }
    match chat.store.prune_sessions(SESSION_RETENTION).await {
        Ok(0) => {}
        Ok(deleted) => tracing::debug!(deleted, "deleted old socket sessions"),
        Err(err) => tracing::warn!(cause = %err, "cannot delete old sessions"),
    }
}
