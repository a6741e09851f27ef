//! The hub: this node's sockets, keyed by ticket, and the fan-out of what the
//! broker delivers to them.
//!
//! The hub is one task that owns all of its state (no locks): sockets join and
//! leave, deliveries arrive, and slow work (subscribing, reading the store) runs
//! in helper tasks that report back with a command. Per ticket it keeps a
//! [`stream::SeqStream`]: a message at the next seq goes straight out, an older
//! one is a duplicate and is dropped, a newer one waits in a short reorder
//! window and, if the gap is still open when the window ends, the gap is
//! refilled from the store. Sockets never wait on each other: each has a bounded
//! queue, and a socket whose queue is full is closed (1013) and resumes with
//! `since`.
//!
//! Recovery never waits for a later message (`recovery.rs`): every
//! reconciliation interval, after every broker reconnect and whenever the inbox
//! lagged, the hub compares in one query (per 1,000 tickets) the stored
//! `last_seq` of every ticket it holds sockets of with what it delivered, and
//! refills the tickets that stay behind, through a bounded pool of refills with
//! retries. The dashboards' feed checks the store for changes it missed the same
//! way (`feed.rs`).

mod feed;
mod recovery;
mod stream;
mod subscriptions;

use super::credentials::Credentials;
use super::frame::{Frame, SocketHandle, ticket_version};
use super::protocol::FeedScope;
use crate::broker::{Broker, CONTROL_CHANNEL, Delivery, InboxReceiver, Received, is_feed_channel};
use crate::chat::events::{Decoded, Event};
use crate::domain::{Message, SenderType, Ticket};
use crate::store::Store;
use chrono::{DateTime, Utc};
use feed::{Feed, FeedSocket};
use recovery::{Behind, RefillOutcome, RefillState};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use stream::SeqStream;
use subscriptions::Subscription;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// How long a message that arrived ahead of a gap waits for the gap to fill
/// itself before the hub reads the missing seqs from the store.
pub const REORDER_WINDOW: Duration = Duration::from_millis(100);
/// The most messages a refill reads; a wider gap closes the ticket's sockets
/// (1013) so that they resume from the store on their own.
pub const MAX_REFILL: u32 = 1000;

/// How the hub runs.
#[derive(Debug, Clone, Copy)]
pub struct HubConfig {
    /// How often the hub reconciles its tickets (and its feed) with the store.
    pub reconcile_interval: Duration,
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
        agent_id: i64,
        scope: FeedScope,
    },
    LeaveFeed {
        socket_id: u64,
    },
    SetFeedScope {
        socket_id: u64,
        scope: FeedScope,
    },
    /// The broker subscription of a ticket is in place; `last_seq` is the store's.
    Subscribed {
        ticket_id: i64,
        generation: u64,
        last_seq: Option<i64>,
    },
    CheckGap {
        ticket_id: i64,
        generation: u64,
    },
    Refilled {
        ticket_id: i64,
        generation: u64,
        outcome: RefillOutcome,
    },
    RetryRefill {
        ticket_id: i64,
        generation: u64,
    },
    /// A reconciliation's answer: each ticket's stored `last_seq` (`None`: the
    /// store did not answer).
    Reconciled {
        positions: Option<Vec<(i64, i64)>>,
    },
    /// Tickets a reconciliation found behind: refilled unless they caught up.
    CheckBehind {
        tickets: Vec<(i64, u64)>,
    },
    /// The feed check's answer: the changes in its window.
    FeedChanged {
        until: DateTime<Utc>,
        changes: Option<Vec<(i64, DateTime<Utc>)>>,
    },
    /// The tickets the feed missed, read from the store.
    FeedRecovered {
        tickets: Option<Vec<Ticket>>,
    },
    /// Frames for every dashboard here (the router's `agent_updated`).
    FeedFrames {
        frames: Vec<Arc<Frame>>,
    },
    /// A frame for the visitor sockets of one ticket only (the router's `queue`).
    VisitorFrame {
        ticket_id: i64,
        frame: Arc<Frame>,
    },
    /// Answered with the tickets that have visitor sockets here.
    VisitorTickets {
        reply: oneshot::Sender<Vec<i64>>,
    },
}

/// A handle to the hub task; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    commands: mpsc::UnboundedSender<Command>,
    next_socket_id: Arc<AtomicU64>,
}

impl Hub {
    /// Starts the hub task. It reads broker deliveries from `inbox` (those of
    /// the control channel go to `credentials`), reconciles every
    /// `config.reconcile_interval` and after every broker reconnect, and runs
    /// until `shutdown` is cancelled.
    pub fn start(
        store: Arc<dyn Store>,
        broker: Arc<dyn Broker>,
        mut inbox: InboxReceiver,
        config: HubConfig,
        credentials: Credentials,
        shutdown: CancellationToken,
    ) -> (Hub, tokio::task::JoinHandle<()>) {
        let (commands, mut rx) = mpsc::unbounded_channel();
        let hub = Hub {
            commands: commands.clone(),
            next_socket_id: Arc::new(AtomicU64::new(1)),
        };
        let mut reconnects = broker.reconnects();
        let subscriptions =
            subscriptions::start(broker, store.clone(), commands.clone(), shutdown.clone());
        let mut state = HubState::new(store, commands, subscriptions, credentials);
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(config.reconcile_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let (mut inbox_open, mut reconnects_open) = (true, true);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    Some(command) = rx.recv() => state.handle(command),
                    received = inbox.recv(), if inbox_open => match received {
                        Some(Received::Delivery(delivery)) => state.delivery(delivery),
                        Some(Received::Lagged) => {
                            // A lost delivery may have been a revocation too.
                            state.credentials.sweep_soon();
                            state.reconcile("lagged");
                        }
                        None => inbox_open = false,
                    },
                    changed = reconnects.changed(), if reconnects_open => match changed {
                        Ok(()) => state.reconcile("reconnect"),
                        Err(_) => reconnects_open = false,
                    },
                    _ = tick.tick() => {
                        state.reconcile("timer");
                        state.check_feed();
                    }
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

    /// Adds a dashboard's feed socket: agent `agent_id`'s, carrying `scope`.
    pub fn join_feed(&self, socket: SocketHandle, agent_id: i64, scope: FeedScope) {
        let _ = self.commands.send(Command::JoinFeed {
            socket,
            agent_id,
            scope,
        });
    }

    pub fn leave_feed(&self, socket_id: u64) {
        let _ = self.commands.send(Command::LeaveFeed { socket_id });
    }

    /// Changes what a feed socket carries.
    pub fn set_feed_scope(&self, socket_id: u64, scope: FeedScope) {
        let _ = self
            .commands
            .send(Command::SetFeedScope { socket_id, scope });
    }

    /// Sends frames to every dashboard (feed socket) of this node.
    pub fn send_to_dashboards(&self, frames: Vec<Arc<Frame>>) {
        let _ = self.commands.send(Command::FeedFrames { frames });
    }

    /// Sends a frame to the visitor sockets of `ticket_id` on this node only
    /// (not through the broker: every node sends its own visitors theirs).
    pub fn send_to_visitors(&self, ticket_id: i64, frame: Arc<Frame>) {
        let _ = self
            .commands
            .send(Command::VisitorFrame { ticket_id, frame });
    }

    /// The tickets with visitor sockets on this node; `None` when the hub stopped.
    pub async fn visitor_tickets(&self) -> Option<Vec<i64>> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(Command::VisitorTickets { reply }).ok()?;
        answer.await.ok()
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
    stream: SeqStream,
    /// The newest ticket version sent in a `ticket_updated` frame.
    version: Option<DateTime<Utc>>,
    gap_check_pending: bool,
    refill: RefillState,
    /// What a reconciliation saw while this node was behind the store.
    behind: Option<Behind>,
}

struct HubState {
    tickets: HashMap<i64, TicketFanout>,
    feed: Feed,
    store: Arc<dyn Store>,
    commands: mpsc::UnboundedSender<Command>,
    subscriptions: mpsc::UnboundedSender<Subscription>,
    next_generation: u64,
    /// Refills waiting for a slot of the pool, in order of request.
    refill_queue: VecDeque<(i64, u64)>,
    refills_running: usize,
    reconcile_in_flight: bool,
    /// A reconciliation was asked for while one ran: its trigger, run after it.
    reconcile_again: Option<&'static str>,
    /// Where the control channel's revocations go.
    credentials: Credentials,
}

impl HubState {
    fn new(
        store: Arc<dyn Store>,
        commands: mpsc::UnboundedSender<Command>,
        subscriptions: mpsc::UnboundedSender<Subscription>,
        credentials: Credentials,
    ) -> Self {
        HubState {
            tickets: HashMap::new(),
            feed: Feed::default(),
            store,
            commands,
            subscriptions,
            next_generation: 0,
            refill_queue: VecDeque::new(),
            refills_running: 0,
            reconcile_in_flight: false,
            reconcile_again: None,
            credentials,
        }
    }

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
            Command::JoinFeed {
                socket,
                agent_id,
                scope,
            } => {
                let socket = FeedSocket {
                    handle: socket,
                    agent_id,
                    scope,
                };
                self.feed.join(socket, Utc::now());
                self.sync_feed_channels();
            }
            Command::LeaveFeed { socket_id } => {
                self.feed.leave(socket_id);
                self.sync_feed_channels();
            }
            Command::SetFeedScope { socket_id, scope } => {
                self.feed.set_scope(socket_id, scope);
                self.sync_feed_channels();
            }
            Command::Subscribed {
                ticket_id,
                generation,
                last_seq,
            } => self.subscribed(ticket_id, generation, last_seq),
            Command::CheckGap {
                ticket_id,
                generation,
            } => {
                let Some(fanout) = self.fanout(ticket_id, generation) else {
                    return;
                };
                fanout.gap_check_pending = false;
                if fanout.stream.has_gap() {
                    self.request_refill(ticket_id);
                }
            }
            Command::Refilled {
                ticket_id,
                generation,
                outcome,
            } => self.refilled(ticket_id, generation, outcome),
            Command::RetryRefill {
                ticket_id,
                generation,
            } => self.retry_refill(ticket_id, generation),
            Command::Reconciled { positions } => self.reconciled(positions),
            Command::CheckBehind { tickets } => self.check_behind(tickets),
            Command::FeedChanged { until, changes } => self.feed_changed(until, changes),
            Command::FeedRecovered { tickets } => self.feed_recovered(tickets),
            Command::FeedFrames { frames } => {
                for frame in frames {
                    self.feed.send(frame);
                }
            }
            Command::VisitorFrame { ticket_id, frame } => {
                if let Some(fanout) = self.tickets.get_mut(&ticket_id) {
                    fanout
                        .sockets
                        .retain(|_, s| s.role != SenderType::User || s.push(frame.clone()));
                }
            }
            Command::VisitorTickets { reply } => {
                let tickets = self
                    .tickets
                    .iter()
                    .filter(|(_, f)| f.sockets.values().any(|s| s.role == SenderType::User))
                    .map(|(id, _)| *id)
                    .collect();
                let _ = reply.send(tickets);
            }
        }
    }

    /// Subscribes the feed channels the feeds here need, and only those.
    fn sync_feed_channels(&mut self) {
        for (channel, on) in self.feed.sync_channels() {
            let _ = self.subscriptions.send(Subscription::Channel(channel, on));
        }
    }

    /// The entry of `ticket_id`, if it is still the one of `generation`.
    fn fanout(&mut self, ticket_id: i64, generation: u64) -> Option<&mut TicketFanout> {
        self.tickets
            .get_mut(&ticket_id)
            .filter(|f| f.generation == generation)
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
                stream: SeqStream::default(),
                version: None,
                gap_check_pending: false,
                refill: RefillState::default(),
                behind: None,
            }
        });
        match fanout.stream.delivered() {
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
            self.drop_ticket(ticket_id);
        }
    }

    /// Forgets a ticket and unsubscribes its channel.
    fn drop_ticket(&mut self, ticket_id: i64) {
        self.tickets.remove(&ticket_id);
        let _ = self
            .subscriptions
            .send(Subscription::Ticket(ticket_id, None));
    }

    /// Closes every socket of a ticket with `code` (they resume on their own)
    /// and forgets the ticket.
    fn close_ticket(&mut self, ticket_id: i64, code: u16) {
        if let Some(fanout) = self.tickets.get(&ticket_id) {
            for socket in fanout.sockets.values() {
                socket.close(code);
            }
            for (socket, _) in &fanout.waiting {
                socket.close(code);
            }
        }
        self.drop_ticket(ticket_id);
    }

    fn subscribed(&mut self, ticket_id: i64, generation: u64, last_seq: Option<i64>) {
        let Some(fanout) = self.fanout(ticket_id, generation) else {
            return;
        };
        let Some(last_seq) = last_seq else {
            // The store did not answer: nobody can be promised a gapless stream.
            for (socket, _) in fanout.waiting.drain(..) {
                socket.close(1011);
            }
            if fanout.sockets.is_empty() {
                self.drop_ticket(ticket_id);
            }
            return;
        };
        let ready = fanout.stream.start(last_seq);
        for (socket, reply) in fanout.waiting.drain(..) {
            if reply.send(last_seq).is_ok() {
                fanout.sockets.insert(socket.id, socket);
            }
        }
        self.send_ready(ticket_id, ready);
    }

    fn delivery(&mut self, delivery: Delivery) {
        if delivery.channel == CONTROL_CHANNEL {
            self.credentials.apply(&delivery.payload);
            return;
        }
        let Some(decoded) = Decoded::decode(&delivery.payload) else {
            tracing::warn!(channel = delivery.channel, "undecodable envelope dropped");
            return;
        };
        let on_feed = is_feed_channel(&delivery.channel);
        match decoded {
            Decoded::Event(event) if on_feed => self.deliver_feed(&delivery.channel, &event),
            Decoded::Event(event) => self.deliver_ticket(&event),
            // A stored message this node cannot read: read it from the store.
            Decoded::Marker {
                ticket_id,
                seq: Some(seq),
            } if !on_feed => {
                if self
                    .tickets
                    .get(&ticket_id)
                    .is_some_and(|f| f.stream.is_behind(seq))
                {
                    self.request_refill(ticket_id);
                }
            }
            Decoded::Marker { .. } => {}
        }
    }

    /// Routes one event to a ticket's sockets: ephemeral frames go out at once
    /// (ticket versions never backwards), messages in seq order.
    fn deliver_ticket(&mut self, event: &Event) {
        let Some(ticket_id) = event.ticket_id() else {
            return;
        };
        let Some(fanout) = self.tickets.get_mut(&ticket_id) else {
            return;
        };
        let Some((to, frame)) = Frame::for_ticket(event) else {
            return;
        };
        let Some(seq) = frame.seq else {
            if fanout.stream.delivered().is_none() {
                return;
            }
            if let Some(version) = ticket_version(event) {
                if fanout.version.is_some_and(|sent| version < sent) {
                    return;
                }
                fanout.version = Some(version);
            }
            let frame = Arc::new(frame);
            fanout
                .sockets
                .retain(|_, s| !to.includes(s.role) || s.push(frame.clone()));
            return;
        };
        let ready = fanout.stream.offer(seq, Arc::new(frame));
        self.send_ready(ticket_id, ready);
    }

    fn deliver_feed(&mut self, channel: &str, event: &Event) {
        if self.feed.is_empty() || !self.feed.admit(event) {
            return;
        }
        if let Some(frame) = Frame::for_feed(event) {
            self.feed.send_on(channel, Arc::new(frame));
        }
    }

    /// Sends frames that continue a ticket's stream to its sockets; schedules a
    /// gap check when a frame is left waiting behind a gap.
    fn send_ready(&mut self, ticket_id: i64, ready: Vec<Arc<Frame>>) {
        let Some(fanout) = self.tickets.get_mut(&ticket_id) else {
            return;
        };
        for frame in ready {
            fanout.sockets.retain(|_, s| s.push(frame.clone()));
        }
        if fanout.stream.has_gap() && !fanout.gap_check_pending && !fanout.refill.queued {
            fanout.gap_check_pending = true;
            let commands = self.commands.clone();
            let generation = fanout.generation;
            tokio::spawn(async move {
                tokio::time::sleep(REORDER_WINDOW).await;
                let _ = commands.send(Command::CheckGap {
                    ticket_id,
                    generation,
                });
            });
        }
    }

    /// A ticket's current version, read after a refill that brought system notes
    /// (a status change whose `ticket_updated` frame was lost with them).
    fn send_ticket(&mut self, ticket: &Ticket) {
        self.deliver_ticket(&Event::TicketUpdated {
            ticket: ticket.clone(),
        });
    }
}

/// Refilled messages as live frames.
fn live_frames(messages: &[Message]) -> impl Iterator<Item = (i64, Arc<Frame>)> + '_ {
    messages
        .iter()
        .map(|m| (m.seq, Arc::new(Frame::live_message(m))))
}

#[cfg(test)]
mod tests;
