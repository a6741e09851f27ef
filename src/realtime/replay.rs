//! What a ticket socket is sent first: `ready`, then with `since` the stored
//! messages after it up to where the hub's live stream takes over (at most
//! [`MAX_REPLAY`], then `resync_required`).
//!
//! A waiting visitor's place in the queue is read through [`Openings`], in one
//! query for every socket opening meanwhile: the query ranks every waiting
//! ticket, so one per socket made a reconnect storm of N visitors quadratic.

use super::frame::Frame;
use super::protocol::{QueueData, ReadyData, ResyncData, ServerFrame};
use crate::batch::Batcher;
use crate::chat::routing::QueueState;
use crate::domain::SenderType;
use crate::domain::TicketStatus;
use crate::error::ApiError;
use crate::metrics::metrics;
use crate::store::{MAX_IDS_PER_QUERY, MessageRange, Store};
use std::collections::HashMap;
use std::sync::Arc;

/// Most messages replayed after `since` before `resync_required`.
pub const MAX_REPLAY: u32 = 1000;

/// Queue reads that run at once (each for up to [`MAX_IDS_PER_QUERY`] tickets).
const QUEUE_READS: usize = 2;

/// A waiting visitor's place (`None`: the ticket does not wait) and the agents
/// online, as the `queue` frame tells them.
type QueuePlace = (Option<i64>, i64);

/// The reads of opening sockets that are batched across sockets; cheap to clone.
#[derive(Clone)]
pub struct Openings {
    queue: Batcher<i64, QueuePlace, String>,
}

impl Openings {
    /// Starts the batchers (on the current runtime).
    pub fn start(store: Arc<dyn Store>) -> Openings {
        let queue = Batcher::start(QUEUE_READS, MAX_IDS_PER_QUERY, move |ids: Vec<i64>| {
            let store = store.clone();
            async move {
                let snapshot = store
                    .queue_snapshot(&ids)
                    .await
                    .map_err(|err| err.to_string())?;
                let positions: HashMap<i64, i64> = snapshot.positions.into_iter().collect();
                Ok(ids
                    .into_iter()
                    .map(|id| (id, (positions.get(&id).copied(), snapshot.agents_online)))
                    .collect())
            }
        });
        Openings { queue }
    }

    /// The queue place of `ticket_id`, read with those of the other sockets
    /// opening meanwhile.
    async fn queue_place(&self, ticket_id: i64) -> Result<QueuePlace, ApiError> {
        match self.queue.get(ticket_id).await {
            Ok(Some(place)) => Ok(place),
            Ok(None) | Err(None) => Err(ApiError::Unavailable),
            Err(Some(cause)) => {
                tracing::warn!(%cause, "cannot read the queue");
                Err(ApiError::Unavailable)
            }
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
    store: &dyn Store,
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
    let ticket = store.ticket_by_id(ticket_id, role).await?;
    let since_seq = match since {
        Some(since) if visitor && since > 0 => Some(store.seq_of_public(ticket_id, since).await?),
        other => other,
    };
    let mut last_sent = live_after;
    let mut replay = Vec::new();
    let mut truncated = false;
    if let Some(since) = since_seq {
        last_sent = since.max(live_after);
        if since < live_after {
            // Oldest first from `since`; what lies past `live_after` comes live.
            let slice = store
                .messages(
                    ticket_id,
                    MessageRange {
                        after_seq: since,
                        before_seq: None,
                        limit: MAX_REPLAY,
                    },
                )
                .await?;
            replay = slice.messages;
            replay.retain(|m| m.seq <= live_after);
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
