//! The hub: this node's sockets, keyed by ticket, and the fan-out of what the
//! broker delivers to them.
//!
//! The hub is one task that owns all of its state (no locks): sockets join and
//! leave, deliveries arrive, and slow work (subscribing, reading the store) runs
//! in helper tasks that report back with a command. Per ticket it keeps the seq
//! it has delivered up to: a message at the next seq goes straight out, an older
//! one is a duplicate and is dropped, a newer one waits in a short reorder window
//! and, if the gap is still open when the window ends, the gap is refilled from
//! the store. Sockets never wait on each other: each has a bounded queue, and a
//! socket whose queue is full is closed (1013) and resumes with `since`.

use super::events::{Audience, Envelope};
use super::protocol::{FrameKind, ServerFrame};
use crate::broker::{AGENTS_CHANNEL, Broker, Inbound, ticket_channel};
use crate::domain::{Message, SenderType};
use crate::metrics::{metrics, timed};
use crate::store::{MessageRange, Store};
use axum::extract::ws::Utf8Bytes;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// How long a message that arrived ahead of a gap waits for the gap to fill
/// itself before the hub reads the missing seqs from the store.
pub const REORDER_WINDOW: Duration = Duration::from_millis(100);
/// The most messages a refill reads; a wider gap closes the ticket's sockets
/// (1013) so that they resume from the store on their own.
pub const MAX_REFILL: u32 = 1000;

/// A frame ready to write: its JSON, shared by every socket it goes to.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Set for stored messages, which the writer keeps in seq order.
    pub seq: Option<i64>,
    pub kind: FrameKind,
    /// When the message was stored (Unix microseconds), for the latency metric.
    pub stored_at: Option<i64>,
    pub text: Utf8Bytes,
}

impl Frame {
    pub fn new(frame: &ServerFrame<'_>) -> Frame {
        Frame {
            seq: None,
            kind: frame.kind(),
            stored_at: None,
            text: frame.to_json().into(),
        }
    }

    /// A stored message read back from the store (replay, refill, resend).
    pub fn message(message: &Message) -> Frame {
        let frame = ServerFrame::for_message(message);
        Frame {
            seq: Some(message.seq),
            kind: frame.kind(),
            stored_at: None,
            text: frame.to_json().into(),
        }
    }
}

/// Something to write to one socket. A frame is shared by every socket it goes
/// to, which keeps each socket's queue slots small.
#[derive(Debug, Clone)]
pub enum Outbound {
    Frame(Arc<Frame>),
    /// Close the socket with this code and reason.
    Close(u16, &'static str),
}

impl Outbound {
    pub fn frame(frame: &ServerFrame<'_>) -> Outbound {
        Outbound::Frame(Arc::new(Frame::new(frame)))
    }

    pub fn message(message: &Message) -> Outbound {
        Outbound::Frame(Arc::new(Frame::message(message)))
    }
}

/// The hub's end of one socket.
#[derive(Debug, Clone)]
pub struct SocketHandle {
    pub id: u64,
    /// `User` or `Supporter`; feed sockets are supporters.
    pub role: SenderType,
    pub queue: mpsc::Sender<Outbound>,
    /// Cancelled when the socket must close because it fell behind.
    pub overflow: CancellationToken,
}

impl SocketHandle {
    /// Queues a frame without waiting; a full queue marks the socket too slow.
    fn push(&self, out: Outbound) -> bool {
        match self.queue.try_send(out) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                metrics().slow_consumer_closes.inc();
                tracing::warn!(
                    socket = self.id,
                    "socket queue full: closing it as too slow"
                );
                self.overflow.cancel();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

enum Command {
    Join {
        ticket_id: i64,
        socket: SocketHandle,
        /// Answered with the seq the socket's live stream continues after.
        reply: oneshot::Sender<i64>,
    },
    Leave {
        ticket_id: i64,
        socket_id: u64,
    },
    JoinFeed {
        socket: SocketHandle,
    },
    LeaveFeed {
        socket_id: u64,
    },
    Broker(Inbound),
    /// The broker subscription of a ticket is in place; `last_seq` is the store's.
    Subscribed {
        ticket_id: i64,
        generation: u64,
        last_seq: Option<i64>,
    },
    CheckGap {
        ticket_id: i64,
    },
    Refilled {
        ticket_id: i64,
        messages: Option<Vec<Message>>,
        complete: bool,
    },
}

/// A handle to the hub task; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    commands: mpsc::UnboundedSender<Command>,
    next_socket_id: Arc<AtomicU64>,
}

impl Hub {
    /// Starts the hub task. It reads broker deliveries from `inbox` and runs until
    /// `shutdown` is cancelled.
    pub fn start(
        store: Arc<dyn Store>,
        broker: Arc<dyn Broker>,
        mut inbox: mpsc::UnboundedReceiver<Inbound>,
        shutdown: CancellationToken,
    ) -> (Hub, tokio::task::JoinHandle<()>) {
        let (commands, mut rx) = mpsc::unbounded_channel();
        let hub = Hub {
            commands: commands.clone(),
            next_socket_id: Arc::new(AtomicU64::new(1)),
        };
        let subscriptions =
            SubscriptionWorker::start(broker, store.clone(), commands.clone(), shutdown.clone());
        let mut state = HubState {
            tickets: HashMap::new(),
            feed: HashMap::new(),
            store,
            commands: commands.clone(),
            subscriptions,
            next_generation: 0,
        };
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    Some(command) = rx.recv() => state.handle(command),
                    Some(inbound) = inbox.recv() => state.handle(Command::Broker(inbound)),
                    else => break,
                }
            }
        });
        (hub, task)
    }

    pub fn next_socket_id(&self) -> u64 {
        self.next_socket_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Adds a socket to a ticket. Returns the seq after which the socket's live
    /// stream starts: the caller replays from the store up to it. `None` when the
    /// hub has stopped.
    pub async fn join(&self, ticket_id: i64, socket: SocketHandle) -> Option<i64> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Join {
                ticket_id,
                socket,
                reply,
            })
            .ok()?;
        answer.await.ok()
    }

    pub fn leave(&self, ticket_id: i64, socket_id: u64) {
        let _ = self.commands.send(Command::Leave {
            ticket_id,
            socket_id,
        });
    }

    pub fn join_feed(&self, socket: SocketHandle) {
        let _ = self.commands.send(Command::JoinFeed { socket });
    }

    pub fn leave_feed(&self, socket_id: u64) {
        let _ = self.commands.send(Command::LeaveFeed { socket_id });
    }
}

/// One ticket's sockets on this node and its place in the ticket's seq stream.
struct TicketFanout {
    /// Which subscription this entry waits for: a ticket left and joined again
    /// must not take the answer of its earlier subscription.
    generation: u64,
    sockets: HashMap<u64, SocketHandle>,
    /// Joins waiting for the broker subscription.
    waiting: Vec<(SocketHandle, oneshot::Sender<i64>)>,
    /// Highest seq delivered in order; `None` until subscribed.
    delivered: Option<i64>,
    /// Messages that arrived ahead of a gap (or before the subscription was in place).
    held: BTreeMap<i64, Frame>,
    gap_check_pending: bool,
    refill_in_flight: bool,
    /// A broker reconnect asked for a full refill while another refill was in
    /// flight: that one may have read the store before the outage's messages
    /// were stored, so a full refill follows it.
    refill_again: bool,
}

struct HubState {
    tickets: HashMap<i64, TicketFanout>,
    feed: HashMap<u64, SocketHandle>,
    store: Arc<dyn Store>,
    commands: mpsc::UnboundedSender<Command>,
    subscriptions: mpsc::UnboundedSender<Subscription>,
    next_generation: u64,
}

impl HubState {
    fn handle(&mut self, command: Command) {
        match command {
            Command::Join {
                ticket_id,
                socket,
                reply,
            } => self.join(ticket_id, socket, reply),
            Command::Leave {
                ticket_id,
                socket_id,
            } => self.leave(ticket_id, socket_id),
            Command::JoinFeed { socket } => {
                if self.feed.is_empty() {
                    let _ = self.subscriptions.send(Subscription::Feed(true));
                }
                self.feed.insert(socket.id, socket);
            }
            Command::LeaveFeed { socket_id } => {
                if self.feed.remove(&socket_id).is_some() && self.feed.is_empty() {
                    let _ = self.subscriptions.send(Subscription::Feed(false));
                }
            }
            Command::Broker(Inbound::Delivery(delivery)) => {
                let Some(envelope) = Envelope::decode(delivery.payload) else {
                    tracing::warn!(channel = delivery.channel, "undecodable envelope dropped");
                    return;
                };
                let Ok(text) = Utf8Bytes::try_from(envelope.frame) else {
                    return;
                };
                let header = envelope.header;
                let frame = Frame {
                    seq: header.seq,
                    kind: header.kind,
                    stored_at: header.at,
                    text,
                };
                if delivery.channel == AGENTS_CHANNEL {
                    let frame = Arc::new(Frame { seq: None, ..frame });
                    self.feed
                        .retain(|_, socket| socket.push(Outbound::Frame(frame.clone())));
                } else {
                    self.deliver(header.ticket_id, header.to, frame);
                }
            }
            Command::Broker(Inbound::Reconnected) => {
                metrics().broker_reconnects.inc();
                metrics()
                    .broker_resubscriptions
                    .inc_by(self.tickets.len() as u64);
                // Whatever was published while the broker was away is in the store.
                let ids: Vec<i64> = self.tickets.keys().copied().collect();
                for ticket_id in ids {
                    self.refill(ticket_id, None);
                }
            }
            Command::Subscribed {
                ticket_id,
                generation,
                last_seq,
            } => self.subscribed(ticket_id, generation, last_seq),
            Command::CheckGap { ticket_id } => {
                let Some(fanout) = self.tickets.get_mut(&ticket_id) else {
                    return;
                };
                fanout.gap_check_pending = false;
                let first_held = fanout.held.keys().next().copied();
                if let (Some(delivered), Some(first_held)) = (fanout.delivered, first_held)
                    && first_held > delivered + 1
                {
                    self.refill(ticket_id, Some(first_held));
                }
            }
            Command::Refilled {
                ticket_id,
                messages,
                complete,
            } => self.refilled(ticket_id, messages, complete),
        }
    }

    fn join(&mut self, ticket_id: i64, socket: SocketHandle, reply: oneshot::Sender<i64>) {
        let generation = &mut self.next_generation;
        let subscriptions = &self.subscriptions;
        let fanout = self.tickets.entry(ticket_id).or_insert_with(|| {
            *generation += 1;
            let _ = subscriptions.send(Subscription::Ticket(ticket_id, Some(*generation)));
            TicketFanout {
                generation: *generation,
                sockets: HashMap::new(),
                waiting: Vec::new(),
                delivered: None,
                held: BTreeMap::new(),
                gap_check_pending: false,
                refill_in_flight: false,
                refill_again: false,
            }
        });
        match fanout.delivered {
            Some(delivered) => {
                fanout.sockets.insert(socket.id, socket);
                let _ = reply.send(delivered);
            }
            None => fanout.waiting.push((socket, reply)),
        }
    }

    fn leave(&mut self, ticket_id: i64, socket_id: u64) {
        let Some(fanout) = self.tickets.get_mut(&ticket_id) else {
            return;
        };
        fanout.sockets.remove(&socket_id);
        fanout.waiting.retain(|(s, _)| s.id != socket_id);
        if fanout.sockets.is_empty() && fanout.waiting.is_empty() {
            self.tickets.remove(&ticket_id);
            let _ = self
                .subscriptions
                .send(Subscription::Ticket(ticket_id, None));
        }
    }

    fn subscribed(&mut self, ticket_id: i64, generation: u64, last_seq: Option<i64>) {
        let Some(fanout) = self
            .tickets
            .get_mut(&ticket_id)
            .filter(|f| f.generation == generation)
        else {
            return;
        };
        let Some(last_seq) = last_seq else {
            // The store did not answer: nobody can be promised a gapless stream.
            for (socket, _) in fanout.waiting.drain(..) {
                let _ = socket
                    .queue
                    .try_send(Outbound::Close(1011, "store unavailable"));
            }
            if fanout.sockets.is_empty() {
                self.tickets.remove(&ticket_id);
                let _ = self
                    .subscriptions
                    .send(Subscription::Ticket(ticket_id, None));
            }
            return;
        };
        if fanout.delivered.is_some() {
            return;
        }
        fanout.delivered = Some(last_seq);
        for (socket, reply) in fanout.waiting.drain(..) {
            if reply.send(last_seq).is_ok() {
                fanout.sockets.insert(socket.id, socket);
            }
        }
        // Anything that came in while subscribing: older is in the store already.
        fanout.held = fanout.held.split_off(&(last_seq + 1));
        self.flush(ticket_id);
    }

    /// Routes one frame of a ticket: ephemeral frames go out at once, messages in
    /// seq order.
    fn deliver(&mut self, ticket_id: i64, to: Audience, frame: Frame) {
        let Some(fanout) = self.tickets.get_mut(&ticket_id) else {
            return;
        };
        let Some(seq) = frame.seq else {
            if fanout.delivered.is_some() {
                let frame = Arc::new(frame);
                fanout
                    .sockets
                    .retain(|_, s| !to.includes(s.role) || s.push(Outbound::Frame(frame.clone())));
            }
            return;
        };
        match fanout.delivered {
            Some(delivered) if seq <= delivered => {}
            _ => {
                fanout.held.insert(seq, frame);
            }
        }
        self.flush(ticket_id);
    }

    /// Sends every held message that continues the stream; schedules a gap check
    /// when one is left waiting behind a gap.
    fn flush(&mut self, ticket_id: i64) {
        let Some(fanout) = self.tickets.get_mut(&ticket_id) else {
            return;
        };
        let Some(mut delivered) = fanout.delivered else {
            return;
        };
        while let Some(entry) = fanout.held.first_entry() {
            if *entry.key() != delivered + 1 {
                break;
            }
            let (seq, frame) = entry.remove_entry();
            let frame = Arc::new(frame);
            fanout
                .sockets
                .retain(|_, s| s.push(Outbound::Frame(frame.clone())));
            delivered = seq;
        }
        fanout.delivered = Some(delivered);
        if !fanout.held.is_empty() && !fanout.gap_check_pending && !fanout.refill_in_flight {
            fanout.gap_check_pending = true;
            let commands = self.commands.clone();
            tokio::spawn(async move {
                tokio::time::sleep(REORDER_WINDOW).await;
                let _ = commands.send(Command::CheckGap { ticket_id });
            });
        }
    }

    /// Reads the ticket's messages after what was delivered, up to `before` (or
    /// everything stored, after a broker reconnect), in a helper task.
    fn refill(&mut self, ticket_id: i64, before: Option<i64>) {
        let Some(fanout) = self.tickets.get_mut(&ticket_id) else {
            return;
        };
        let Some(after) = fanout.delivered else {
            return;
        };
        if fanout.refill_in_flight {
            fanout.refill_again |= before.is_none();
            return;
        }
        fanout.refill_in_flight = true;
        metrics().gap_refills.inc();
        tracing::debug!(ticket_id, after, "refilling a gap from the store");
        let store = self.store.clone();
        let commands = self.commands.clone();
        tokio::spawn(async move {
            let range = MessageRange {
                after_seq: after,
                before_seq: before,
                limit: MAX_REFILL,
            };
            let (messages, complete) = match store.messages(ticket_id, range).await {
                Ok(slice) => (Some(slice.messages), !slice.has_more),
                Err(err) => {
                    tracing::warn!(cause = %err, ticket_id, "gap refill failed");
                    (None, false)
                }
            };
            let _ = commands.send(Command::Refilled {
                ticket_id,
                messages,
                complete,
            });
        });
    }

    fn refilled(&mut self, ticket_id: i64, messages: Option<Vec<Message>>, complete: bool) {
        let Some(fanout) = self.tickets.get_mut(&ticket_id) else {
            return;
        };
        fanout.refill_in_flight = false;
        let Some(messages) = messages.filter(|_| complete) else {
            // The promise cannot be kept from here: the sockets resume on their own.
            metrics().resyncs.inc();
            for socket in fanout.sockets.values() {
                let _ = socket
                    .queue
                    .try_send(Outbound::Close(1013, "stream broken; resume with since"));
            }
            self.tickets.remove(&ticket_id);
            let _ = self
                .subscriptions
                .send(Subscription::Ticket(ticket_id, None));
            return;
        };
        for message in &messages {
            let frame = Frame {
                stored_at: Some(message.created_at.timestamp_micros()),
                ..Frame::message(message)
            };
            fanout.held.entry(message.seq).or_insert(frame);
        }
        if let Some(delivered) = fanout.delivered {
            fanout.held = fanout.held.split_off(&(delivered + 1));
        }
        let again = std::mem::take(&mut fanout.refill_again);
        self.flush(ticket_id);
        if again {
            self.refill(ticket_id, None);
        }
    }
}

/// A change of this node's broker subscriptions: subscribe a ticket (with the
/// generation of the hub entry that waits for it) or unsubscribe it (`None`).
enum Subscription {
    Ticket(i64, Option<u64>),
    Feed(bool),
}

/// Applies subscription changes to the broker one at a time, in order, so that an
/// unsubscribe never overtakes the subscribe before it.
struct SubscriptionWorker;

impl SubscriptionWorker {
    fn start(
        broker: Arc<dyn Broker>,
        store: Arc<dyn Store>,
        hub: mpsc::UnboundedSender<Command>,
        shutdown: CancellationToken,
    ) -> mpsc::UnboundedSender<Subscription> {
        let (tx, mut rx) = mpsc::unbounded_channel::<Subscription>();
        tokio::spawn(async move {
            loop {
                let change = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    change = rx.recv() => match change { Some(c) => c, None => break },
                };
                match change {
                    Subscription::Ticket(ticket_id, Some(generation)) => {
                        let channel = ticket_channel(ticket_id);
                        let subscribed = timed(
                            &metrics().broker_duration,
                            "subscribe",
                            broker.subscribe(&channel),
                        )
                        .await;
                        if let Err(err) = subscribed {
                            // The hub still serves from the store: gap refills and
                            // the resubscription after reconnect cover the rest.
                            tracing::warn!(cause = %err, ticket_id, "subscribe failed");
                        }
                        let last_seq = match store
                            .ticket_by_id(ticket_id, SenderType::Supporter)
                            .await
                        {
                            Ok(ticket) => Some(ticket.last_seq),
                            Err(err) => {
                                tracing::warn!(cause = %err, ticket_id, "cannot read the ticket's last seq");
                                None
                            }
                        };
                        let _ = hub.send(Command::Subscribed {
                            ticket_id,
                            generation,
                            last_seq,
                        });
                    }
                    Subscription::Ticket(ticket_id, None) => {
                        let channel = ticket_channel(ticket_id);
                        let unsubscribed = timed(
                            &metrics().broker_duration,
                            "unsubscribe",
                            broker.unsubscribe(&channel),
                        )
                        .await;
                        if let Err(err) = unsubscribed {
                            tracing::warn!(cause = %err, ticket_id, "unsubscribe failed");
                        }
                    }
                    Subscription::Feed(on) => {
                        let result = if on {
                            broker.subscribe(AGENTS_CHANNEL).await
                        } else {
                            broker.unsubscribe(AGENTS_CHANNEL).await
                        };
                        if let Err(err) = result {
                            tracing::warn!(cause = %err, "agent feed subscription change failed");
                        }
                    }
                }
            }
        });
        tx
    }
}
