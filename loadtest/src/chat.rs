//! A chat run: tickets, two sockets each, an open-loop schedule of messages,
//! every delivery checked by seq, then the drain, a check of each ticket's
//! stored `last_seq`, and the report. A chaos run also cuts one node's Redis
//! link on its schedule meanwhile (see [`crate::chaos`]); with `--dashboards N`
//! N agent feeds are read meanwhile (see [`crate::dashboards`]).

use crate::accounting::{
    Delivery, Ledger, PROMISED_DELIVERY_MS, Report, SeqEvent, SeqTracker, Side, client_msg_id,
    parse_client_msg_id,
};
use crate::chaos::Chaos;
use crate::client::{self, Node, TicketRef, Ws};
use crate::dashboards;
use crate::lock;
use crate::{
    ChaosDetails, ChaosReport, Details, LoadError, Mode, Options, Outcome, output, system,
};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt, TryStreamExt, stream};
use serde::Deserialize;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// Time between the sockets being ready and the first due send, so that every
/// task is running when the clock starts.
const LEAD_IN: Duration = Duration::from_millis(200);
/// How long the sockets get to close cleanly at the end.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// What every task of the run shares.
pub(crate) struct Shared {
    epoch: Instant,
    pub(crate) ledger: Ledger,
    /// Set when the run closes its sockets: closes after it are not errors.
    closing: AtomicBool,
    message_bytes: usize,
}

impl Shared {
    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }
}

/// One socket of the run.
struct SocketState {
    ticket_id: i64,
    side: Side,
    tracker: Mutex<SeqTracker>,
}

/// The parts of a server frame the checks read; everything else is ignored.
#[derive(Deserialize)]
struct Frame {
    #[serde(rename = "type")]
    kind: String,
    message: Option<FrameMessage>,
    error: Option<FrameError>,
    client_msg_id: Option<String>,
}

#[derive(Deserialize)]
struct FrameMessage {
    seq: i64,
    sender_type: Option<String>,
    client_msg_id: Option<String>,
}

#[derive(Deserialize)]
struct FrameError {
    code: String,
}

pub(crate) async fn run(options: &Options, nodes: &[Node]) -> Result<Outcome, LoadError> {
    let tickets = options.tickets;
    let email = options.agent_email.as_deref().unwrap_or_default();
    let password = options.agent_password.as_deref().unwrap_or_default();
    let sockets_needed = tickets * 2 + options.dashboards;
    system::ensure_fd_limit(sockets_needed)?;
    system::ensure_ports(
        sockets_needed.div_ceil(nodes.len()),
        options.source_ips.len(),
    )?;
    let setup_started = Instant::now();
    let http = http_client(options)?;

    // The proxy first: the victim reaches Redis only through it.
    let schedule = options.chaos_schedule()?;
    let mut chaos = match (options.chaos_redis, schedule) {
        (Some(link), Some(schedule)) => {
            let chaos = Chaos::start(link, schedule).await?;
            if options.progress() {
                eprintln!(
                    "chaos: proxy on {} → Redis {}; waiting for every node's broker check…",
                    link.listen, link.upstream
                );
            }
            crate::chaos::wait_until_brokers_ok(&http, nodes).await?;
            Some(chaos)
        }
        _ => None,
    };

    let mut tokens = Vec::with_capacity(nodes.len());
    for node in nodes {
        tokens.push(client::login(&http, node, email, password).await?);
    }
    let refs = create_tickets(options, &http, nodes, tickets).await?;

    if options.progress() {
        eprintln!("opening {} sockets…", tickets * 2);
    }
    let user_node = |k: usize| k % nodes.len();
    let agent_node = |k: usize| (k + 1) % nodes.len();
    let mut opened: Vec<(usize, Ws, Ws)> = stream::iter(refs.iter().enumerate())
        .map(|(k, ticket)| {
            let tokens = &tokens;
            async move {
                let (user, _) = client::open_socket(
                    &nodes[user_node(k)],
                    &format!("/ws/support/user/{}?since=0", ticket.session_id),
                    None,
                    options.source_ip(2 * k),
                )
                .await?;
                let (agent, _) = client::open_socket(
                    &nodes[agent_node(k)],
                    &format!("/ws/support/supporter/{}?since=0", ticket.session_id),
                    Some(&tokens[agent_node(k)]),
                    options.source_ip(2 * k + 1),
                )
                .await?;
                Ok::<_, LoadError>((k, user, agent))
            }
        })
        .buffer_unordered(options.concurrency)
        .try_collect()
        .await?;
    opened.sort_by_key(|(k, _, _)| *k);
    // The dashboards last, so that they are open when the clock starts.
    let feeds = if options.dashboards > 0 {
        if options.progress() {
            eprintln!("opening {} dashboard feeds…", options.dashboards);
        }
        let feeds =
            dashboards::open(options, nodes, &tokens, options.dashboards, 2 * tickets).await?;
        Some(dashboards::Readers::start(feeds, Instant::now()))
    } else {
        None
    };
    let setup_s = setup_started.elapsed().as_secs_f64();

    let total = ((options.rate * options.duration).round() as u64).max(1);
    let epoch = Instant::now();
    let start_ns = LEAD_IN.as_nanos() as u64;
    let mut ledger = Ledger::new(total, start_ns, options.rate);
    if let Some(chaos) = &chaos {
        ledger = ledger.with_cut_windows(chaos.schedule.windows_ns(start_ns));
    }
    let shared = Arc::new(Shared {
        epoch,
        ledger,
        closing: AtomicBool::new(false),
        message_bytes: options.message_bytes,
    });

    let mut senders = Vec::with_capacity(tickets);
    let mut sockets = Vec::with_capacity(tickets * 2);
    let mut writers = Vec::with_capacity(tickets * 2);
    let mut readers = Vec::with_capacity(tickets * 2);
    for ((_, user, agent), ticket) in opened.into_iter().zip(&refs) {
        let mut pair = Vec::with_capacity(2);
        for (side, ws) in [(Side::User, user), (Side::Supporter, agent)] {
            let state = Arc::new(SocketState {
                ticket_id: ticket.id,
                side,
                tracker: Mutex::new(SeqTracker::new(0)),
            });
            let (sink, stream) = ws.split();
            let (tx, rx) = mpsc::unbounded_channel();
            writers.push(tokio::spawn(write_loop(
                sink,
                rx,
                shared.clone(),
                state.clone(),
            )));
            readers.push(tokio::spawn(read_loop(
                stream,
                shared.clone(),
                state.clone(),
            )));
            sockets.push(state);
            pair.push(tx);
        }
        senders.push(pair);
    }

    let progress = options
        .progress()
        .then(|| tokio::spawn(progress_loop(shared.clone())));
    if options.progress() {
        eprintln!(
            "sending {total} messages at {} msg/s over {tickets} tickets on {} node(s)…",
            options.rate,
            nodes.len()
        );
    }
    if let Some(chaos) = &mut chaos {
        if options.progress() {
            let cuts = chaos.schedule.cuts();
            eprintln!(
                "chaos: {} cut(s) of {} s, the first at {} s, every {} s",
                cuts.len(),
                options.chaos_cut,
                cuts.first().map_or(0.0, |c| c.start_s),
                options.chaos_every
            );
        }
        chaos.run(epoch + LEAD_IN, http.clone(), nodes, options.progress());
    }
    generate(&shared, &senders).await;
    drain(&shared, Duration::from_secs_f64(options.drain_grace())).await;
    let drained = Instant::now();

    // Every stored message must have reached both sockets of its ticket.
    let last_seqs: Vec<Result<(i64, i64), LoadError>> = stream::iter(refs.iter().enumerate())
        .map(|(k, ticket)| {
            let (http, tokens) = (&http, &tokens);
            async move {
                client::last_seq(
                    http,
                    &nodes[agent_node(k)],
                    &tokens[agent_node(k)],
                    ticket.id,
                )
                .await
            }
        })
        .buffered(options.concurrency)
        .collect()
        .await;
    for (k, last_seq) in last_seqs.into_iter().enumerate() {
        match last_seq {
            Ok((last_seq, last_public_seq)) => {
                // The visitor's socket counts in its own numbering.
                lock(&sockets[2 * k].tracker).finish(last_public_seq);
                lock(&sockets[2 * k + 1].tracker).finish(last_seq);
            }
            Err(err) => {
                shared.ledger.error("ticket check failed");
                if options.progress() {
                    eprintln!("warning: {err}");
                }
            }
        }
    }

    // The feeds first (their rates run up to here), once the Notices of the
    // last messages have had time to come.
    let dashboards = match feeds {
        Some(feeds) => {
            tokio::time::sleep_until((drained + dashboards::NOTICE_GRACE).into()).await;
            Some(feeds.finish(&tickets_written(&shared.ledger, &refs)).await)
        }
        None => None,
    };

    // Close: dropping the senders ends each writer with a close frame.
    shared.closing.store(true, Ordering::SeqCst);
    drop(senders);
    finish_tasks(writers, readers).await;
    if let Some(progress) = progress {
        progress.abort();
    }

    let chaos = chaos.map(|chaos| {
        let link = chaos.link;
        (link, chaos.finish())
    });

    let ledger = &shared.ledger;
    let (mut duplicated, mut out_of_order, mut missing) = (0, 0, 0);
    for state in &sockets {
        let tracker = lock(&state.tracker);
        duplicated += tracker.duplicates;
        out_of_order += tracker.out_of_order;
        missing += tracker.missing() as u64;
    }
    let schedule_s = total as f64 / options.rate;
    let elapsed_s =
        (ledger.last_delivery_ns().saturating_sub(ledger.start_ns()) as f64 / 1e9).max(schedule_s);
    let delivered = ledger.delivered();
    let report = Report {
        tickets: tickets as u64,
        connections: sockets.len() as u64,
        sent: ledger.sent(),
        delivered,
        lost: ledger.lost(),
        duplicated: duplicated + ledger.duplicated(),
        out_of_order,
        errors: ledger.errors(),
        throughput_per_s: (delivered as f64 / elapsed_s * 10.0).round() / 10.0,
        latency_ms: ledger.latency(),
        chaos: chaos.as_ref().map(|(_, done)| chaos_report(ledger, done)),
        routing: None,
        storm: None,
        dashboards,
    };
    let details = Details {
        mode: Mode::Chat,
        nodes: nodes.len(),
        rate: options.rate,
        duration_s: options.duration,
        acknowledged: ledger.acked(),
        refused: ledger.refused(),
        unacknowledged: ledger.unacknowledged(),
        missing_seqs: missing,
        lag_ms: ledger.lag(),
        elapsed_s,
        error_kinds: ledger.error_kinds(),
        opened: sockets.len() as u64,
        setup_s,
        drain_s: options.drain_grace(),
        chaos: chaos.map(|(link, done)| ChaosDetails {
            link,
            cut_s: options.chaos_cut,
            every_s: options.chaos_every,
            cuts: done.performed.into_iter().zip(done.seen).collect(),
        }),
        routing: None,
    };
    Ok(Outcome { report, details })
}

/// The tickets on which the run stored at least one chat message (message
/// `i` goes to ticket `i mod tickets`).
fn tickets_written(ledger: &Ledger, refs: &[TicketRef]) -> HashSet<i64> {
    if refs.is_empty() {
        return HashSet::new();
    }
    (0..ledger.total())
        .filter(|&i| ledger.stored(i))
        .map(|i| refs[(i % refs.len() as u64) as usize].id)
        .collect()
}

fn chaos_report(ledger: &Ledger, done: &crate::chaos::ChaosOutcome) -> ChaosReport {
    let noticed: Vec<_> = done
        .seen
        .iter()
        .filter(|seen| !seen.noticed_by.is_empty())
        .collect();
    // The slowest recovery, unless some noticing node never came back.
    let broker_back_max_s = noticed
        .iter()
        .map(|seen| seen.back_after_s)
        .try_fold(None, |worst: Option<f64>, back| {
            back.map(|b| Some(worst.map_or(b, |w| w.max(b))))
        })
        .flatten()
        .map(|s| (s * 1000.0).round() / 1000.0);
    let cut_seconds: f64 = done.performed.iter().map(|c| c.end_s - c.start_s).sum();
    ChaosReport {
        cuts: done.performed.len() as u64,
        cut_seconds: (cut_seconds * 1000.0).round() / 1000.0,
        cuts_noticed: noticed.len() as u64,
        broker_back_max_s,
        latency_max_ms: ledger.latency().max,
        later_than_promise: ledger.deliveries_slower_than(PROMISED_DELIVERY_MS),
        sent_during_cuts: ledger.sent_during_cuts(),
        lost_during_cuts: ledger.lost_during_cuts(),
        during_cuts_latency_ms: ledger.latency_during_cuts(),
    }
}

pub(crate) fn http_client(options: &Options) -> Result<reqwest::Client, LoadError> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(options.concurrency)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| LoadError::new(format!("cannot build the HTTP client: {e}")))
}

/// Creates `count` tickets round-robin over the nodes, `--concurrency` at once,
/// in the order of their number.
pub(crate) async fn create_tickets(
    options: &Options,
    http: &reqwest::Client,
    nodes: &[Node],
    count: usize,
) -> Result<Vec<TicketRef>, LoadError> {
    if options.progress() {
        eprintln!("creating {count} tickets…");
    }
    stream::iter(0..count)
        .map(|k| client::create_ticket(http, &nodes[k % nodes.len()], k, count))
        .buffered(options.concurrency)
        .try_collect()
        .await
}

/// The open-loop schedule: message `i` is due at `start + i / rate`, goes to
/// ticket `i % tickets`, and the sides alternate on each ticket (user first).
/// Sends never wait for anything but the clock; a writer behind its schedule
/// does not hold the others back.
async fn generate(shared: &Shared, senders: &[Vec<mpsc::UnboundedSender<u64>>]) {
    let ledger = &shared.ledger;
    let tickets = senders.len() as u64;
    let mut next = 0;
    while next < ledger.total() {
        let now = shared.now_ns();
        while next < ledger.total() && ledger.due_ns(next) <= now {
            let ticket = (next % tickets) as usize;
            let side = ((next / tickets) % 2) as usize;
            // A closed writer has ended; its messages simply stay unsent.
            let _ = senders[ticket][side].send(next);
            next += 1;
        }
        if next < ledger.total() {
            let due = shared.epoch + Duration::from_nanos(ledger.due_ns(next));
            tokio::time::sleep_until(due.into()).await;
        }
    }
}

/// Waits until every sent message has been delivered and acknowledged (or
/// refused), or `grace` after the last due send.
async fn drain(shared: &Shared, grace: Duration) {
    let ledger = &shared.ledger;
    let last_due = ledger.due_ns(ledger.total() - 1);
    let deadline = shared.epoch + Duration::from_nanos(last_due) + grace;
    loop {
        let settled = ledger.handled() >= ledger.total()
            && ledger.in_flight() == 0
            && ledger.unacknowledged() == 0;
        if settled || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn finish_tasks(writers: Vec<JoinHandle<()>>, readers: Vec<JoinHandle<()>>) {
    let all = async {
        for writer in writers {
            let _ = writer.await;
        }
        for reader in readers.iter() {
            while !reader.is_finished() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, all).await;
    for reader in readers {
        reader.abort();
    }
}

/// Sends what the schedule hands this socket; the send instant is noted before
/// the write so that no receipt can come before it.
async fn write_loop(
    mut sink: SplitSink<Ws, Message>,
    mut queue: mpsc::UnboundedReceiver<u64>,
    shared: Arc<Shared>,
    state: Arc<SocketState>,
) {
    let mut broken = false;
    while let Some(index) = queue.recv().await {
        if broken {
            shared.ledger.mark_failed(index);
            continue;
        }
        let text = frame_text(state.ticket_id, state.side, index, shared.message_bytes);
        shared.ledger.mark_sent(index, shared.now_ns());
        if sink.send(Message::text(text)).await.is_err() {
            shared.ledger.mark_failed(index);
            broken = true;
        }
    }
    if !broken {
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code: CloseCode::Normal,
                reason: "load test done".into(),
            })))
            .await;
    }
}

/// A chat frame of `bytes` characters of text.
fn frame_text(ticket_id: i64, side: Side, index: u64, bytes: usize) -> String {
    let mut text = format!("lt {index} ");
    while text.len() < bytes {
        text.push('x');
    }
    text.truncate(bytes);
    serde_json::json!({
        "type": "message",
        "message": text,
        "client_msg_id": client_msg_id(ticket_id, side, index),
    })
    .to_string()
}

/// Reads the socket to its end, checking every seq and settling every message.
async fn read_loop(mut stream: SplitStream<Ws>, shared: Arc<Shared>, state: Arc<SocketState>) {
    let ledger = &shared.ledger;
    loop {
        let Some(item) = stream.next().await else {
            if !shared.closing.load(Ordering::SeqCst) {
                ledger.error("socket ended");
            }
            return;
        };
        let now = shared.now_ns();
        match item {
            Ok(Message::Text(text)) => on_frame(&shared, &state, &text, now),
            Ok(Message::Close(frame)) => {
                if !shared.closing.load(Ordering::SeqCst) {
                    let code = frame.map(|f| u16::from(f.code)).unwrap_or(1005);
                    ledger.error(&format!("closed {code}"));
                }
                return;
            }
            Ok(_) => {}
            Err(_) => {
                if !shared.closing.load(Ordering::SeqCst) {
                    ledger.error("socket failed");
                }
                return;
            }
        }
    }
}

fn on_frame(shared: &Shared, state: &SocketState, text: &str, now: u64) {
    let ledger = &shared.ledger;
    let Ok(frame) = serde_json::from_str::<Frame>(text) else {
        // A shape this tool does not know only matters for the frames it checks.
        let kind = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v["type"].as_str().map(str::to_owned));
        if matches!(
            kind.as_deref(),
            None | Some("message" | "system" | "supporter_joined" | "error" | "resync_required")
        ) {
            ledger.error("unreadable frame");
        }
        return;
    };
    match frame.kind.as_str() {
        "message" | "system" | "supporter_joined" => {
            let Some(message) = frame.message else {
                ledger.error("frame without message");
                return;
            };
            let event = lock(&state.tracker).observe(message.seq);
            if event == SeqEvent::Duplicate || frame.kind != "message" {
                return;
            }
            let Some((ticket, side, index)) = message
                .client_msg_id
                .as_deref()
                .and_then(parse_client_msg_id)
            else {
                return;
            };
            if ticket != state.ticket_id {
                ledger.error("message of another ticket");
                return;
            }
            let expected_sender = match side {
                Side::User => "user",
                Side::Supporter => "supporter",
            };
            if message.sender_type.as_deref() != Some(expected_sender) {
                ledger.error("wrong sender_type");
            }
            if side == state.side {
                ledger.mark_acked(index);
            } else if ledger.mark_delivered(index, now) == Delivery::Unknown {
                ledger.error("unknown message index");
            }
        }
        "error" => {
            let code = frame.error.map(|e| e.code).unwrap_or_default();
            ledger.error(&code);
            if let Some((_, side, index)) =
                frame.client_msg_id.as_deref().and_then(parse_client_msg_id)
                && side == state.side
            {
                ledger.mark_refused(index);
            }
        }
        "resync_required" => ledger.error("resync_required"),
        _ => {}
    }
}

/// One line a second on stderr: what has been sent, delivered, is on the way,
/// and the latency so far.
async fn progress_loop(shared: Arc<Shared>) {
    let first =
        shared.epoch + Duration::from_nanos(shared.ledger.start_ns()) + Duration::from_secs(1);
    let mut tick = tokio::time::interval_at(first.into(), Duration::from_secs(1));
    loop {
        tick.tick().await;
        let ledger = &shared.ledger;
        let seconds = shared.now_ns().saturating_sub(ledger.start_ns()) as f64 / 1e9;
        output::progress_line(
            seconds,
            ledger.sent(),
            ledger.delivered(),
            ledger.in_flight(),
            ledger.errors(),
            ledger.latency().p99,
            ledger.lag().max,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_the_key_and_the_requested_length() {
        let frame: serde_json::Value =
            serde_json::from_str(&frame_text(7, Side::User, 42, 64)).unwrap();
        assert_eq!(frame["type"], "message");
        assert_eq!(frame["client_msg_id"], "lt-7-u-42");
        let text = frame["message"].as_str().unwrap();
        assert_eq!(text.len(), 64);
        assert!(text.starts_with("lt 42 "));
        let short: serde_json::Value =
            serde_json::from_str(&frame_text(7, Side::Supporter, 123456, 3)).unwrap();
        assert_eq!(short["message"], "lt ");
    }
}
