//! The hub against a real SQLite store and the in-process broker: ordering,
//! gaps, refills, reconciliation without a later message, generations.

use super::*;
use crate::broker::{self, Inbox, LocalBroker, ticket_channel};
use crate::chat::events::Event;
use crate::domain::{MessageDraft, NewTicket, Priority, SenderType};
use crate::realtime::frame::Closer;
use crate::store::{self, Store};
use tempfile::TempDir;

/// Long enough for a delivery, a reorder window and a refill; short enough to
/// keep a failing test quick.
const WAIT: Duration = Duration::from_secs(5);

struct Setup {
    store: Arc<dyn Store>,
    inbox: Inbox,
    hub: Hub,
    stop: CancellationToken,
    _dir: TempDir,
}

impl Drop for Setup {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A hub whose reconciliation runs every `interval`.
async fn setup(interval: Duration) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/hub.db", dir.path().display());
    let store = store::connect(&url, 4).await.unwrap();
    let (inbox, inbox_rx) = broker::inbox(64);
    let broker: Arc<dyn Broker> = Arc::new(LocalBroker::new(inbox.clone()));
    let stop = CancellationToken::new();
    let (hub, _) = Hub::start(
        store.clone(),
        broker,
        inbox_rx,
        HubConfig {
            reconcile_interval: interval,
        },
        Credentials::default(),
        stop.clone(),
    );
    Setup {
        store,
        inbox,
        hub,
        stop,
        _dir: dir,
    }
}

async fn ticket(store: &dyn Store) -> i64 {
    let (ticket, _) = store
        .create_ticket(&NewTicket {
            session_id: uuid::Uuid::new_v4().to_string(),
            user_id: None,
            user_name: "John".into(),
            user_email: None,
            subject: "Order".into(),
            priority: Priority::Medium,
            first_message: None,
        })
        .await
        .unwrap();
    ticket.id
}

async fn append(store: &dyn Store, ticket_id: i64, text: &str) -> Message {
    let draft = MessageDraft {
        sender_type: SenderType::User,
        sender_id: None,
        sender_name: Some("John".into()),
        text: text.into(),
        client_msg_id: None,
        visibility: Default::default(),
        attachments: Vec::new(),
    };
    store
        .append_message(ticket_id, &draft)
        .await
        .unwrap()
        .message
}

/// Hands a stored message to the hub as the broker would.
fn publish(inbox: &Inbox, message: &Message) {
    let event = Event::Message {
        message: message.clone(),
    };
    inbox.deliver(Delivery {
        channel: ticket_channel(message.ticket_id),
        payload: event.encode(),
    });
}

struct Socket {
    handle: SocketHandle,
    queue: mpsc::Receiver<Arc<Frame>>,
}

fn socket(id: u64, capacity: usize) -> Socket {
    let (queue, rx) = mpsc::channel(capacity);
    Socket {
        handle: SocketHandle {
            id,
            role: SenderType::Supporter,
            queue,
            closer: Closer::new(),
        },
        queue: rx,
    }
}

impl Socket {
    /// The seqs of the next `n` message frames.
    async fn seqs(&mut self, n: usize) -> Vec<i64> {
        let mut seqs = Vec::new();
        while seqs.len() < n {
            let frame = tokio::time::timeout(WAIT, self.queue.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out after seqs {seqs:?}"))
                .expect("socket queue open");
            seqs.extend(frame.seq);
        }
        seqs
    }

    async fn nothing_for(&mut self, wait: Duration) {
        if let Ok(Some(frame)) = tokio::time::timeout(wait, self.queue.recv()).await {
            panic!("unexpected frame {:?}", frame.text);
        }
    }
}

#[tokio::test]
async fn messages_that_arrive_out_of_order_are_sent_in_seq_order_once() {
    let setup = setup(Duration::from_secs(60)).await;
    let ticket_id = ticket(setup.store.as_ref()).await;
    let mut socket = socket(1, 16);
    assert_eq!(
        setup.hub.join(ticket_id, socket.handle.clone()).await,
        Some(0)
    );
    let mut stored = Vec::new();
    for text in ["one", "two", "three"] {
        stored.push(append(setup.store.as_ref(), ticket_id, text).await);
    }
    for i in [2, 0, 0, 1, 2] {
        publish(&setup.inbox, &stored[i]);
    }
    assert_eq!(socket.seqs(3).await, [1, 2, 3]);
    socket.nothing_for(REORDER_WINDOW * 3).await;
}

#[tokio::test]
async fn a_gap_still_open_after_the_reorder_window_is_read_from_the_store() {
    let setup = setup(Duration::from_secs(60)).await;
    let ticket_id = ticket(setup.store.as_ref()).await;
    let mut socket = socket(1, 16);
    setup.hub.join(ticket_id, socket.handle.clone()).await;
    let mut last = None;
    for text in ["lost", "lost too", "delivered"] {
        last = Some(append(setup.store.as_ref(), ticket_id, text).await);
    }
    publish(&setup.inbox, &last.unwrap());
    assert_eq!(socket.seqs(3).await, [1, 2, 3]);
}

#[tokio::test]
async fn a_message_whose_publish_was_lost_arrives_by_reconciliation_without_a_later_one() {
    let setup = setup(Duration::from_millis(200)).await;
    let ticket_id = ticket(setup.store.as_ref()).await;
    let mut socket = socket(1, 16);
    setup.hub.join(ticket_id, socket.handle.clone()).await;
    // Stored and acknowledged, never published: nothing else will ever arrive.
    append(setup.store.as_ref(), ticket_id, "order #123 is missing").await;
    assert_eq!(socket.seqs(1).await, [1]);
}

#[tokio::test]
async fn a_lagged_inbox_reconciles_at_once() {
    // No timer within the test's wait: only the lagged inbox can trigger it.
    let setup = setup(Duration::from_secs(3600)).await;
    let ticket_id = ticket(setup.store.as_ref()).await;
    let mut socket = socket(1, 16);
    setup.hub.join(ticket_id, socket.handle.clone()).await;
    // The interval's first tick fires at once; let it pass before storing.
    tokio::time::sleep(Duration::from_millis(200)).await;
    append(setup.store.as_ref(), ticket_id, "dropped by a full inbox").await;
    socket.nothing_for(Duration::from_millis(500)).await;
    setup.inbox.lagged();
    assert_eq!(socket.seqs(1).await, [1]);
}

#[tokio::test]
async fn an_undecodable_envelope_with_a_seq_is_read_from_the_store() {
    let setup = setup(Duration::from_secs(3600)).await;
    let ticket_id = ticket(setup.store.as_ref()).await;
    let mut socket = socket(1, 16);
    setup.hub.join(ticket_id, socket.handle.clone()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    append(setup.store.as_ref(), ticket_id, "from a newer release").await;
    let payload =
        format!(r#"{{"v":2,"ticket_id":{ticket_id},"seq":1,"event":{{"type":"message_v2"}}}}"#);
    setup.inbox.deliver(Delivery {
        channel: ticket_channel(ticket_id),
        payload: payload.into(),
    });
    assert_eq!(socket.seqs(1).await, [1]);
}

#[tokio::test]
async fn a_socket_whose_queue_is_full_is_closed_with_1013_and_others_carry_on() {
    let setup = setup(Duration::from_secs(60)).await;
    let ticket_id = ticket(setup.store.as_ref()).await;
    let slow = socket(1, 1);
    let mut fast = socket(2, 16);
    setup.hub.join(ticket_id, slow.handle.clone()).await;
    setup.hub.join(ticket_id, fast.handle.clone()).await;
    for text in ["a", "b", "c"] {
        let message = append(setup.store.as_ref(), ticket_id, text).await;
        publish(&setup.inbox, &message);
    }
    assert_eq!(fast.seqs(3).await, [1, 2, 3]);
    assert_eq!(slow.handle.closer.code(), Some(1013));
}

/// The hub's state alone, driven command by command (its helper tasks report
/// to `commands`, which the tests read or ignore).
async fn bare_state() -> (
    HubState,
    mpsc::UnboundedReceiver<Subscription>,
    mpsc::UnboundedReceiver<Command>,
    TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/bare.db", dir.path().display());
    let store = store::connect(&url, 1).await.unwrap();
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let (subscriptions, subscriptions_rx) = mpsc::unbounded_channel();
    (
        HubState::new(store, commands, subscriptions, Credentials::default()),
        subscriptions_rx,
        commands_rx,
        dir,
    )
}

/// Joins `socket` to `ticket_id` and starts the ticket's stream at seq 0, as the
/// subscription worker's answer would. Returns the entry's generation and the
/// join's answer (while it is kept, the socket stays in the entry).
fn join_started(
    state: &mut HubState,
    ticket_id: i64,
    socket: SocketHandle,
) -> (u64, oneshot::Receiver<i64>) {
    let (reply, answer) = oneshot::channel();
    state.handle(Command::Join {
        ticket_id,
        socket,
        reply,
    });
    let generation = state.tickets[&ticket_id].generation;
    state.handle(Command::Subscribed {
        ticket_id,
        generation,
        last_seq: Some(0),
    });
    (generation, answer)
}

#[tokio::test]
async fn the_answer_of_an_earlier_subscription_does_not_start_a_rejoined_ticket() {
    let (mut state, mut subscriptions, _commands, _dir) = bare_state().await;
    let first = socket(1, 4);
    let (reply, _first_answer) = oneshot::channel();
    state.handle(Command::Join {
        ticket_id: 7,
        socket: first.handle.clone(),
        reply,
    });
    assert!(matches!(
        subscriptions.try_recv(),
        Ok(Subscription::Ticket(7, Some(1)))
    ));
    state.handle(Command::Leave {
        ticket_id: 7,
        socket_id: 1,
    });
    assert!(matches!(
        subscriptions.try_recv(),
        Ok(Subscription::Ticket(7, None))
    ));
    let second = socket(2, 4);
    let (reply, mut second_answer) = oneshot::channel();
    state.handle(Command::Join {
        ticket_id: 7,
        socket: second.handle.clone(),
        reply,
    });
    assert!(matches!(
        subscriptions.try_recv(),
        Ok(Subscription::Ticket(7, Some(2)))
    ));
    // The first subscription answers late, from before the second one existed.
    state.handle(Command::Subscribed {
        ticket_id: 7,
        generation: 1,
        last_seq: Some(3),
    });
    assert!(
        second_answer.try_recv().is_err(),
        "not started by a stale answer"
    );
    state.handle(Command::Subscribed {
        ticket_id: 7,
        generation: 2,
        last_seq: Some(5),
    });
    assert_eq!(second_answer.try_recv().ok(), Some(5));
}

#[tokio::test]
async fn refills_run_a_bounded_number_at_a_time() {
    let (mut state, _subscriptions, _commands, _dir) = bare_state().await;
    let sockets: Vec<Socket> = (0..(REFILL_POOL_PROBE as u64))
        .map(|i| socket(i, 4))
        .collect();
    for (i, s) in sockets.iter().enumerate() {
        let ticket_id = i as i64 + 100;
        join_started(&mut state, ticket_id, s.handle.clone());
        state.request_refill(ticket_id);
    }
    assert_eq!(state.refills_running, recovery::REFILL_CONCURRENCY);
    assert_eq!(
        state.refill_queue.len(),
        REFILL_POOL_PROBE - recovery::REFILL_CONCURRENCY
    );
    // Asking again for a queued ticket does not queue it twice.
    state.request_refill(100 + REFILL_POOL_PROBE as i64 - 1);
    assert_eq!(
        state.refill_queue.len(),
        REFILL_POOL_PROBE - recovery::REFILL_CONCURRENCY
    );
}

/// Tickets the pool test asks refills for: more than the pool runs at once.
const REFILL_POOL_PROBE: usize = recovery::REFILL_CONCURRENCY + 5;

#[tokio::test]
async fn a_reconnect_on_a_big_node_refills_only_the_tickets_that_moved() {
    let (mut state, _subscriptions, mut commands, _dir) = bare_state().await;
    let store = state.store.clone();
    let moved = ticket(store.as_ref()).await;
    let quiet = ticket(store.as_ref()).await;
    // Thousands of tickets held: reconciliation reads them 1,000 to a query.
    let held: Vec<i64> = [moved, quiet]
        .into_iter()
        .chain(1_000_000..1_002_500)
        .collect();
    for (i, ticket_id) in held.iter().enumerate() {
        join_started(&mut state, *ticket_id, socket(i as u64, 4).handle);
    }
    append(store.as_ref(), moved, "stored while Redis was away").await;

    state.reconcile("reconnect");
    let answer = tokio::time::timeout(WAIT, commands.recv())
        .await
        .unwrap()
        .unwrap();
    let Command::Reconciled { positions } = &answer else {
        panic!("expected the reconciliation's answer");
    };
    assert_eq!(
        positions.as_ref().map(Vec::len),
        Some(2),
        "every held ticket asked for; the two that exist answered"
    );
    state.handle(answer);
    let behind = tokio::time::timeout(WAIT, commands.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(&behind, Command::CheckBehind { tickets } if tickets.len() == 1));
    state.handle(behind);
    assert_eq!(
        state.refills_running, 1,
        "one refill, for the ticket that moved"
    );
    assert!(state.refill_queue.is_empty());
}

#[tokio::test]
async fn a_refill_that_fails_is_retried_before_the_sockets_are_closed() {
    let (mut state, _subscriptions, mut commands, _dir) = bare_state().await;
    let s = socket(1, 4);
    let (generation, _answer) = join_started(&mut state, 9, s.handle.clone());
    state.request_refill(9);
    for failure in 1..recovery::REFILL_ATTEMPTS {
        state.handle(Command::Refilled {
            ticket_id: 9,
            generation,
            outcome: Err(()),
        });
        assert_eq!(
            s.handle.closer.code(),
            None,
            "still open after failure {failure}"
        );
        // The retry comes back after a pause, and runs again.
        let retry = tokio::time::timeout(WAIT, async {
            loop {
                match commands.recv().await {
                    Some(command @ Command::RetryRefill { .. }) => return command,
                    Some(_) => continue,
                    None => panic!("hub commands closed"),
                }
            }
        })
        .await
        .expect("a retry is scheduled");
        state.handle(retry);
        assert_eq!(state.refills_running, 1, "the retry runs");
    }
    state.handle(Command::Refilled {
        ticket_id: 9,
        generation,
        outcome: Err(()),
    });
    assert_eq!(
        s.handle.closer.code(),
        Some(1013),
        "closed to resume by itself once the retries are spent"
    );
    assert!(!state.tickets.contains_key(&9));
}
