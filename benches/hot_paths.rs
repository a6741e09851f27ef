//! Criterion benchmarks of the in-process hot paths of one chat message:
//!
//! - `frame_parse/*`: a client's text frame → `ClientFrame`
//!   (`realtime::protocol::parse_client_frame`), for the frames clients send
//!   most and for a refused one;
//! - `envelope/*`: `Event::encode()` (a stored message serialised once into the
//!   versioned envelope its ticket and agents-feed channels share),
//!   `Decoded::decode` and `Frame::for_ticket` (what every node does once per
//!   delivery: read the event, render the frame its sockets share);
//! - `hub_fanout/*`: a message published through `Publisher` on a
//!   `LocalBroker`, until each of N sockets joined to the ticket (each with its
//!   own bounded queue, `OUTBOUND_QUEUE` deep, as a real socket) has the frame in
//!   its queue: decode, seq ordering, one `try_send` per socket.
//!
//! Run with `cargo bench --bench hot_paths` (add `-- --save-baseline main` /
//! `-- --baseline main` to compare a branch against main). The numbers depend on
//! the machine and on what else it runs: compare runs on the same machine, and
//! look at differences well above the spread criterion reports.

use chrono::Utc;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use livesupport::broker::{self, Broker, LocalBroker};
use livesupport::chat::events::{Decoded, Event};
use livesupport::chat::publisher::Publisher;
use livesupport::domain::{Message, NewTicket, Priority, SenderType};
use livesupport::realtime::credentials::Credentials;
use livesupport::realtime::frame::{Closer, Frame, SocketHandle};
use livesupport::realtime::hub::{Hub, HubConfig};
use livesupport::realtime::protocol::parse_client_frame;
use livesupport::realtime::session::OUTBOUND_QUEUE;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A typical chat line; its first 64 bytes are the load generator's default size.
const CHAT_LINE: &str = "Hello, I ordered a blue jacket last week and it has not arrived yet";

fn message_frame(text: &str) -> String {
    serde_json::json!({
        "type": "message",
        "message": text,
        "client_msg_id": "lt-12345-u-678901",
    })
    .to_string()
}

fn frame_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_parse");
    group.throughput(Throughput::Elements(1));
    let long_text = "x".repeat(1024);
    let cases = [
        ("message_64B", message_frame(&CHAT_LINE[..64])),
        ("message_1KiB", message_frame(&long_text)),
        (
            "typing",
            r#"{"type":"typing","data":{"is_typing":true}}"#.to_owned(),
        ),
        (
            "refused_wrong_type",
            r#"{"type":"message","message":5,"client_msg_id":"x"}"#.to_owned(),
        ),
    ];
    for (name, text) in &cases {
        group.bench_with_input(BenchmarkId::from_parameter(name), text, |b, text| {
            b.iter(|| {
                let parsed = parse_client_frame(black_box(text));
                black_box(parsed.is_ok())
            })
        });
    }
    group.finish();
}

/// A stored chat message as the store returns it.
fn stored_message(ticket_id: i64, seq: i64, text: &str) -> Message {
    Message {
        id: 1_000_000 + seq,
        ticket_id,
        seq,
        sender_type: SenderType::User,
        sender_id: None,
        sender_name: Some("Visitor 12345".to_owned()),
        message: text.to_owned(),
        is_read: false,
        created_at: Utc::now(),
        client_msg_id: Some(format!("lt-{ticket_id}-u-{seq}")),
        visibility: Default::default(),
        public_seq: Some(seq),
        attachments: Vec::new(),
    }
}

fn envelope(c: &mut Criterion) {
    let mut group = c.benchmark_group("envelope");
    group.throughput(Throughput::Elements(1));
    let event = Event::Message {
        message: stored_message(12345, 42, &CHAT_LINE[..64]),
    };
    group.bench_function("serialise_message_event", |b| {
        b.iter(|| black_box(black_box(&event).encode()))
    });
    let payload = event.encode();
    group.bench_function("decode_ticket_envelope", |b| {
        b.iter(|| {
            let decoded = Decoded::decode(black_box(&payload));
            let frame = match &decoded {
                Some(Decoded::Event(event)) => Frame::for_ticket(event),
                _ => None,
            };
            black_box(frame).is_some()
        })
    });
    group.finish();
}

/// A hub on a SQLite store with one ticket and `sockets` sockets joined to it,
/// the receiving end of every socket's queue, and a publisher on the same
/// in-process broker.
struct Fanout {
    _dir: tempfile::TempDir,
    shutdown: CancellationToken,
    publisher: Publisher,
    queues: Vec<mpsc::Receiver<Arc<Frame>>>,
    ticket_id: i64,
    next_seq: i64,
}

impl Fanout {
    async fn start(sockets: usize) -> Fanout {
        let dir = tempfile::tempdir().expect("a temp dir");
        let url = format!("sqlite://{}/b.db", dir.path().display());
        let store = livesupport::store::connect(&url, 4)
            .await
            .expect("a SQLite store");
        let (ticket, _) = store
            .create_ticket(&NewTicket {
                session_id: "bench-session".to_owned(),
                user_id: None,
                user_name: "Visitor 12345".to_owned(),
                user_email: None,
                subject: "Where is my order?".to_owned(),
                priority: Priority::default(),
                first_message: None,
            })
            .await
            .expect("a ticket");
        let (inbox_tx, inbox) = broker::inbox(broker::INBOX_CAPACITY);
        let broker: Arc<dyn Broker> = Arc::new(LocalBroker::new(inbox_tx));
        let shutdown = CancellationToken::new();
        // Reconciliation off the measured path: once a minute.
        let config = HubConfig {
            reconcile_interval: Duration::from_secs(60),
        };
        let (hub, _task) = Hub::start(
            store.clone(),
            broker.clone(),
            inbox,
            config,
            Credentials::default(),
            shutdown.clone(),
        );
        let mut queues = Vec::with_capacity(sockets);
        let mut last_seq = 0;
        for n in 0..sockets {
            let (queue, rx) = mpsc::channel(OUTBOUND_QUEUE);
            let socket = SocketHandle {
                id: hub.next_socket_id(),
                role: if n % 2 == 0 {
                    SenderType::User
                } else {
                    SenderType::Supporter
                },
                queue,
                closer: Closer::new(),
            };
            last_seq = hub.join(ticket.id, socket).await.expect("the hub runs");
            queues.push(rx);
        }
        Fanout {
            _dir: dir,
            publisher: Publisher::start(broker, store, shutdown.clone()).0,
            shutdown,
            queues,
            ticket_id: ticket.id,
            next_seq: last_seq + 1,
        }
    }

    /// Publishes the next message and waits until every queue holds it.
    async fn one_message(&mut self, template: &Message) {
        let mut message = template.clone();
        message.ticket_id = self.ticket_id;
        message.seq = self.next_seq;
        self.next_seq += 1;
        self.publisher.publish(Event::Message { message }).await;
        for queue in &mut self.queues {
            match queue.recv().await {
                Some(frame) => {
                    black_box(frame);
                }
                None => panic!("a socket's queue closed instead of getting the frame"),
            }
        }
    }
}

fn hub_fanout(c: &mut Criterion) {
    // One thread: the hub task and the draining bench take turns on it, so the
    // figure is the CPU work of a fan-out, without cross-thread wake-up noise.
    let runtime: Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let template = stored_message(0, 0, &CHAT_LINE[..64]);
    let mut group = c.benchmark_group("hub_fanout");
    group.measurement_time(Duration::from_secs(5));
    for sockets in [1usize, 1000] {
        let mut fanout = runtime.block_on(Fanout::start(sockets));
        group.throughput(Throughput::Elements(sockets as u64));
        group.bench_function(BenchmarkId::new("sockets", sockets), |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let started = Instant::now();
                    for _ in 0..iters {
                        fanout.one_message(&template).await;
                    }
                    started.elapsed()
                })
            })
        });
        fanout.shutdown.cancel();
    }
    group.finish();
}

criterion_group!(benches, frame_parse, envelope, hub_fanout);
criterion_main!(benches);
