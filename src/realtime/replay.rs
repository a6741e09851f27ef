//! What a ticket socket is sent first: `ready`, then with `since` the stored
//! messages after it up to where the hub's live stream takes over (at most
//! [`MAX_REPLAY`], then `resync_required`).
//!
//! What the opening reads (the ticket, where a visitor's `since` lies, a
//! waiting visitor's place in the queue) goes through [`Openings`], one query
//! for every socket opening meanwhile: a reconnect storm of N sockets costs a
//! few queries of each kind, not N (the queue's ranks every waiting ticket,
//! so one per socket made the storm quadratic).

use super::frame::Frame;
use super::protocol::{QueueData, ReadyData, ResyncData, ServerFrame};
use crate::batch::Batcher;
use crate::chat::routing::QueueState;
use crate::domain::SenderType;
use crate::domain::TicketStatus;
use crate::domain::{Message, Ticket};
use crate::error::ApiError;
use crate::metrics::metrics;
use crate::store::{MAX_IDS_PER_QUERY, Store, StoreError, StoreResult};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::Arc;

/// Most messages replayed after `since` before `resync_required`.
pub const MAX_REPLAY: u32 = 1000;

/// Queue reads that run at once (each for up to [`MAX_IDS_PER_QUERY`] tickets).
const QUEUE_READS: usize = 2;

/// Reads of each other kind (tickets by session, tickets by id in one view,
/// visitors' marks) that run at once, each for up to [`MAX_IDS_PER_QUERY`].
const TICKET_READS: usize = 2;

/// Replay ranges read in one query: each holds at most [`MAX_REPLAY`]
/// messages, so one query reads at most this many times that.
const REPLAYS_PER_QUERY: usize = 100;

/// A waiting visitor's place (`None`: the ticket does not wait) and the agents
/// online, as the `queue` frame tells them.
type QueuePlace = (Option<i64>, i64);

/// A failed batch read, shared by every request of the batch.
type Failure = Arc<StoreError>;

/// The reads of opening sockets, each batched across the sockets opening
/// meanwhile (a lone socket waits for nothing; see [`crate::batch`]): a
/// reconnect storm of N sockets makes a few queries of each kind, not N.
/// Every request is answered by a read that started after it was made, so a
/// socket's ticket is read after it joined the hub, as the opening needs.
/// Cheap to clone.
#[derive(Clone)]
pub struct Openings {
    queue: Batcher<i64, QueuePlace, Failure>,
    /// The visitor's view by session id: the upgrade's (and the guest
    /// routes') read.
    by_session: Batcher<String, Ticket, Failure>,
    /// By id, as the visitor sees it and as an agent sees it.
    visitor_view: Batcher<i64, Ticket, Failure>,
    agent_view: Batcher<i64, Ticket, Failure>,
    /// The seq of a visitor's `since`, by (ticket, public_seq).
    public_seqs: Batcher<(i64, i64), i64, Failure>,
    /// The messages a socket missed, by (ticket, after seq, up to seq).
    replays: Batcher<ReplayRange, Vec<Message>, Failure>,
}

/// A ticket's messages with seq in `(after, up_to]`.
type ReplayRange = (i64, i64, i64);

impl Openings {
    /// Starts the batchers (on the current runtime).
    pub fn start(store: Arc<dyn Store>) -> Openings {
        Openings {
            queue: read_queue(store.clone()),
            by_session: read_tickets(
                store.clone(),
                SenderType::User,
                |store, keys, viewer| {
                    Box::pin(async move { store.tickets_by_sessions(&keys, viewer).await })
                },
                |ticket| ticket.session_id.clone(),
            ),
            visitor_view: read_by_id(store.clone(), SenderType::User),
            agent_view: read_by_id(store.clone(), SenderType::Supporter),
            replays: read_replays(store.clone()),
            public_seqs: Batcher::start(
                TICKET_READS,
                MAX_IDS_PER_QUERY,
                move |places: Vec<(i64, i64)>| {
                    let store = store.clone();
                    async move {
                        let found = store.seqs_of_public(&places).await.map_err(Arc::new)?;
                        Ok(found
                            .into_iter()
                            .map(|(ticket_id, public_seq, seq)| ((ticket_id, public_seq), seq))
                            .collect())
                    }
                },
            ),
        }
    }

    /// The ticket of a visitor's session, as the visitor sees it.
    pub async fn ticket_of_session(&self, session_id: &str) -> Result<Ticket, ApiError> {
        answered(self.by_session.get(session_id.to_owned()).await, "ticket")
    }

    /// The ticket as `viewer` sees it.
    async fn ticket(&self, ticket_id: i64, viewer: SenderType) -> Result<Ticket, ApiError> {
        let view = match viewer {
            SenderType::User => &self.visitor_view,
            _ => &self.agent_view,
        };
        answered(view.get(ticket_id).await, "ticket")
    }

    /// Where the visitor's message number `public_seq` lies in seq
    /// ([`Store::seq_of_public`]).
    async fn seq_of_public(&self, ticket_id: i64, public_seq: i64) -> Result<i64, ApiError> {
        answered(
            self.public_seqs.get((ticket_id, public_seq)).await,
            "ticket",
        )
    }

    /// The messages of `ticket_id` with seq in `(after, up_to]`.
    async fn replay(
        &self,
        ticket_id: i64,
        after: i64,
        up_to: i64,
    ) -> Result<Vec<Message>, ApiError> {
        answered(self.replays.get((ticket_id, after, up_to)).await, "ticket")
    }

    /// The queue place of `ticket_id`.
    async fn queue_place(&self, ticket_id: i64) -> Result<QueuePlace, ApiError> {
        answered(self.queue.get(ticket_id).await, "ticket")
    }
}

/// The batcher of queue places.
fn read_queue(store: Arc<dyn Store>) -> Batcher<i64, QueuePlace, Failure> {
    Batcher::start(QUEUE_READS, MAX_IDS_PER_QUERY, move |ids: Vec<i64>| {
        let store = store.clone();
        async move {
            let snapshot = store.queue_snapshot(&ids).await.map_err(Arc::new)?;
            let positions: HashMap<i64, i64> = snapshot.positions.into_iter().collect();
            Ok(ids
                .into_iter()
                .map(|id| (id, (positions.get(&id).copied(), snapshot.agents_online)))
                .collect())
        }
    })
}

/// The batcher of ticket reads by id in `viewer`'s view.
fn read_by_id(store: Arc<dyn Store>, viewer: SenderType) -> Batcher<i64, Ticket, Failure> {
    read_tickets(
        store,
        viewer,
        |store, keys, viewer| Box::pin(async move { store.tickets_by_ids(&keys, viewer).await }),
        |ticket| ticket.id,
    )
}

/// The batcher of replays: one query for the ranges of many sockets, each
/// range answered with its own messages.
fn read_replays(store: Arc<dyn Store>) -> Batcher<ReplayRange, Vec<Message>, Failure> {
    Batcher::start(
        TICKET_READS,
        REPLAYS_PER_QUERY,
        move |ranges: Vec<ReplayRange>| {
            let store = store.clone();
            async move {
                let found = store.messages_in_ranges(&ranges).await.map_err(Arc::new)?;
                let by_place: BTreeMap<(i64, i64), Message> = found
                    .into_iter()
                    .map(|m| ((m.ticket_id, m.seq), m))
                    .collect();
                Ok(ranges
                    .into_iter()
                    .map(|range @ (ticket_id, after, up_to)| {
                        let messages = by_place
                            .range((ticket_id, after + 1)..=(ticket_id, up_to))
                            .map(|(_, m)| m.clone())
                            .collect();
                        (range, messages)
                    })
                    .collect())
            }
        },
    )
}

/// A batch read of tickets in `viewer`'s view by keys of type `K`.
type TicketsRead<K> = fn(
    Arc<dyn Store>,
    Vec<K>,
    SenderType,
) -> Pin<Box<dyn Future<Output = StoreResult<Vec<Ticket>>> + Send>>;

/// The batcher of ticket reads by `read`, each ticket answering the key `key_of` gives it.
fn read_tickets<K>(
    store: Arc<dyn Store>,
    viewer: SenderType,
    read: TicketsRead<K>,
    key_of: fn(&Ticket) -> K,
) -> Batcher<K, Ticket, Failure>
where
    K: Eq + Hash + Clone + Send + 'static,
{
    Batcher::start(TICKET_READS, MAX_IDS_PER_QUERY, move |keys: Vec<K>| {
        let found = read(store.clone(), keys, viewer);
        async move {
            let tickets = found.await.map_err(Arc::new)?;
            Ok(tickets.into_iter().map(|t| (key_of(&t), t)).collect())
        }
    })
}

/// A batched read's answer as the API tells it: a key the read did not find
/// is `what` not found; a database that cannot answer (or batches that
/// stopped) is unavailable.
fn answered<V>(
    answer: Result<Option<V>, Option<Failure>>,
    what: &'static str,
) -> Result<V, ApiError> {
    match answer {
        Ok(Some(value)) => Ok(value),
        Ok(None) => Err(ApiError::NotFound(what)),
        Err(None) => Err(ApiError::Unavailable),
        Err(Some(err)) if err.is_unavailable() => {
            tracing::warn!(cause = %err, "store unavailable");
            Err(ApiError::Unavailable)
        }
        Err(Some(err)) => {
            tracing::error!(cause = %err, "store read failed");
            Err(ApiError::Internal)
        }
    }
}

pub(super) struct Opening {
    pub(super) frames: Vec<Arc<Frame>>,
    /// The seq the socket has been sent up to once the opening is out.
    pub(super) last_sent: i64,
    /// A visitor of a waiting ticket: the `queue` frame it was sent.
    pub(super) queue: Option<QueueState>,
}

/// `ready`, then the replay after `since` up to `live_after`, where the live
/// stream starts.
pub(super) async fn opening_frames(
    openings: &Openings,
    ticket_id: i64,
    role: SenderType,
    since: Option<i64>,
    live_after: i64,
) -> Result<Opening, ApiError> {
    // The visitor's ticket and `since` are in its own numbering (public
    // messages only); the replay and the writer go by seq, so `since` is taken
    // over to seq, and what the visitor may not see is left out as it is sent.
    let visitor = role == SenderType::User;
    let ticket = openings.ticket(ticket_id, role).await?;
    let since_seq = match since {
        Some(since) if visitor && since > 0 => {
            Some(openings.seq_of_public(ticket_id, since).await?)
        }
        other => other,
    };
    let mut last_sent = live_after;
    let mut replay = Vec::new();
    let mut truncated = false;
    if let Some(since) = since_seq {
        last_sent = since.max(live_after);
        if since < live_after {
            // Oldest first from `since`; what lies past `live_after` comes
            // live. Seqs have no gaps: at most MAX_REPLAY, then a resync.
            let up_to = live_after.min(since + i64::from(MAX_REPLAY));
            replay = openings.replay(ticket_id, since, up_to).await?;
            truncated = (replay.len() as i64) < live_after - since;
        }
    }
    let replayed = replay
        .iter()
        .filter(|m| !visitor || m.public_seq.is_some())
        .count();
    // A waiting visitor learns their place at once, and the router goes on
    // from what they were told (`chat::routing`).
    let queue = if visitor && ticket.status == TicketStatus::Open && ticket.supporter_id.is_none() {
        Some(openings.queue_place(ticket_id).await?)
    } else {
        None
    };
    let mut frames = vec![Arc::new(Frame::new(&ServerFrame::Ready {
        data: ReadyData {
            ticket: &ticket,
            last_seq: ticket.last_seq,
            replayed,
            queue_position: visitor.then_some(queue.and_then(|(position, _)| position)),
        },
    }))];
    frames.extend(replay.iter().map(|m| Arc::new(Frame::message(m))));
    if truncated {
        metrics().resyncs.inc();
        let replayed_up_to = if visitor {
            replay.iter().rev().find_map(|m| m.public_seq)
        } else {
            replay.last().map(|m| m.seq)
        };
        let after_seq = replayed_up_to.unwrap_or(since.unwrap_or(0));
        frames.push(Arc::new(Frame::new(&ServerFrame::ResyncRequired {
            data: ResyncData { after_seq },
        })));
    }
    if let Some((position, agents_online)) = queue {
        frames.push(Arc::new(Frame::new(&ServerFrame::Queue {
            data: QueueData {
                position,
                agents_online,
            },
        })));
    }
    Ok(Opening {
        frames,
        last_sent,
        queue,
    })
}
