//! A storm run (`--storm N`, issue 20): what a node sees when another one
//! drains and its sockets all reconnect here at once.
//!
//! Setup: N tickets, each with a visitor socket that sends one message, reads
//! its own copy back (its seq `s`) and closes. Storm: N visitor sockets opened
//! all at once, each resuming its ticket as a reconnecting widget does, with
//! `since = s - 1` (it missed its last message). Each socket is timed from the
//! storm's start to its `ready` frame, and must then get exactly the message it
//! missed (`ready.replayed` 1, then seq `s`). The sockets are held until every
//! one is ready or failed, then closed.

use crate::accounting::{Report, StormReport};
use crate::chat::{create_tickets, http_client};
use crate::client::{self, Node, TicketRef};
use crate::{Details, Latency, LoadError, Mode, Options, Outcome, lock, system};
use futures_util::{SinkExt, StreamExt, TryStreamExt, stream};
use hdrhistogram::Histogram;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// How long one storm socket may take from connect to `ready`: far longer than
/// a healthy node needs, so that a slow one is measured rather than cut off.
const STORM_OPEN_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the replayed message may take to follow `ready`.
const REPLAY_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between closing the setup sockets and the storm, for the node to
/// finish ending their sessions.
const SETTLE: Duration = Duration::from_secs(3);

/// The replay a storm socket must get: its ticket's last message, by seq.
struct Primed {
    ticket: TicketRef,
    seq: i64,
}

/// What one storm socket saw.
enum Seen {
    /// Ready after this long; whether the replay was exactly the missed message.
    Ready {
        after: Duration,
        replay_ok: bool,
        ws: Box<client::Ws>,
    },
    Failed(String),
}

pub(crate) async fn run(
    options: &Options,
    nodes: &[Node],
    sockets: usize,
) -> Result<Outcome, LoadError> {
    system::ensure_fd_limit(sockets)?;
    // The setup's closed connections may still hold their ports.
    system::ensure_ports(
        (2 * sockets).div_ceil(nodes.len()),
        options.source_ips.len(),
    )?;
    let setup_started = Instant::now();
    let http = http_client(options)?;
    let tickets = create_tickets(options, &http, nodes, sockets).await?;
    if options.progress() {
        eprintln!("priming {sockets} tickets (one message each)…");
    }
    let primed: Vec<Primed> = stream::iter(tickets.into_iter().enumerate())
        .map(|(k, ticket)| prime(options, &nodes[(k + 1) % nodes.len()], k, ticket))
        .buffer_unordered(options.concurrency)
        .try_collect()
        .await?;
    tokio::time::sleep(SETTLE).await;
    let setup_s = setup_started.elapsed().as_secs_f64();

    if options.progress() {
        eprintln!("storm: opening {sockets} sockets at once…");
    }
    let started = Instant::now();
    let tasks: Vec<_> = primed
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let node = nodes[k % nodes.len()].clone();
            let path = format!(
                "/ws/support/user/{}?since={}",
                p.ticket.session_id,
                p.seq - 1
            );
            let (source, seq) = (options.source_ip(k), p.seq);
            tokio::spawn(async move { reconnect(node, path, source, seq, started).await })
        })
        .collect();
    let mut held = Vec::with_capacity(sockets);
    let mut ready_us = Histogram::<u64>::new(3).expect("histogram");
    let (mut ready, mut replay_ok, mut last_ready) = (0u64, 0u64, Duration::ZERO);
    let kinds = Mutex::new(BTreeMap::<String, u64>::new());
    let error = |kind: String| *lock(&kinds).entry(kind).or_default() += 1;
    for task in tasks {
        match task.await {
            Ok(Seen::Ready {
                after,
                replay_ok: ok,
                ws,
            }) => {
                ready += 1;
                replay_ok += u64::from(ok);
                if !ok {
                    error("wrong replay".to_owned());
                }
                last_ready = last_ready.max(after);
                let _ = ready_us.record(after.as_micros() as u64);
                held.push(ws);
            }
            Ok(Seen::Failed(kind)) => error(kind),
            Err(_) => error("task failed".to_owned()),
        }
    }
    let wall_s = started.elapsed().as_secs_f64();
    if options.progress() {
        eprintln!("storm: {ready}/{sockets} ready in {wall_s:.2} s; closing");
    }
    let closing =
        stream::iter(held).for_each_concurrent(options.concurrency.max(256), |mut ws| async move {
            let _ = tokio::time::timeout(Duration::from_secs(5), (*ws).close(None)).await;
        });
    let _ = tokio::time::timeout(Duration::from_secs(30), closing).await;

    let error_kinds = kinds.into_inner().unwrap_or_default();
    let errors = error_kinds.values().sum();
    let storm = StormReport {
        sockets: sockets as u64,
        ready,
        replay_ok,
        ready_ms: Latency::from_micros(&ready_us),
        all_ready_s: (ready == sockets as u64).then_some(last_ready.as_secs_f64()),
    };
    let report = Report {
        tickets: sockets as u64,
        connections: ready,
        errors,
        storm: Some(storm),
        ..Report::default()
    };
    let details = Details {
        mode: Mode::Storm,
        nodes: nodes.len(),
        rate: 0.0,
        duration_s: 0.0,
        acknowledged: 0,
        refused: 0,
        unacknowledged: 0,
        missing_seqs: 0,
        lag_ms: Latency::default(),
        elapsed_s: wall_s,
        error_kinds,
        opened: ready,
        setup_s,
        drain_s: 0.0,
        chaos: None,
        routing: None,
    };
    Ok(Outcome { report, details })
}

/// Opens ticket `k`'s visitor socket, sends one message, reads its own copy
/// back and closes: the ticket's last message is the one the storm's socket
/// missed.
async fn prime(
    options: &Options,
    node: &Node,
    k: usize,
    ticket: TicketRef,
) -> Result<Primed, LoadError> {
    let path = format!("/ws/support/user/{}?since=0", ticket.session_id);
    let (mut ws, _) = client::open_socket(node, &path, None, options.source_ip(k)).await?;
    let client_msg_id = format!("storm-{}", ticket.id);
    let frame = serde_json::json!({
        "type": "message",
        "message": format!("storm {k}"),
        "client_msg_id": client_msg_id,
    });
    ws.send(Message::text(frame.to_string()))
        .await
        .map_err(|e| LoadError::new(format!("priming ticket {}: {e}", ticket.id)))?;
    let seq = tokio::time::timeout(client::OPEN_TIMEOUT, async {
        while let Some(Ok(item)) = ws.next().await {
            if let Message::Text(text) = item {
                let frame: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                if frame["type"] == "message"
                    && frame["message"]["client_msg_id"] == client_msg_id.as_str()
                {
                    return frame["message"]["seq"].as_i64();
                }
                if frame["type"] == "error" {
                    return None;
                }
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .ok_or_else(|| {
        LoadError::new(format!(
            "priming ticket {}: its message was not acknowledged",
            ticket.id
        ))
    })?;
    let _ = tokio::time::timeout(Duration::from_secs(5), ws.close(None)).await;
    // Read the close reply, so that the node sees a clean close.
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
    Ok(Primed { ticket, seq })
}

/// One reconnecting socket of the storm.
async fn reconnect(
    node: Node,
    path: String,
    source: Option<std::net::IpAddr>,
    seq: i64,
    started: Instant,
) -> Seen {
    let (mut ws, ready) =
        match client::open_socket_within(&node, &path, None, source, STORM_OPEN_TIMEOUT).await {
            Ok(opened) => opened,
            Err(err) => return Seen::Failed(error_kind(&err.to_string())),
        };
    let after = started.elapsed();
    let replayed = tokio::time::timeout(REPLAY_TIMEOUT, async {
        while let Some(Ok(item)) = ws.next().await {
            if let Message::Text(text) = item {
                let frame: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                if frame["type"] == "message" {
                    return frame["message"]["seq"].as_i64();
                }
            }
        }
        None
    })
    .await
    .ok()
    .flatten();
    Seen::Ready {
        after,
        replay_ok: ready.replayed == 1 && replayed == Some(seq),
        ws: Box::new(ws),
    }
}

/// A short name for why a socket did not get ready.
fn error_kind(message: &str) -> String {
    if message.contains("took over") {
        "timed out before ready".to_owned()
    } else if let Some(rest) = message.split("closed before ready: ").nth(1) {
        format!("closed {}", rest.split(' ').next().unwrap_or(""))
    } else if let Some(rest) = message.split("refused with ").nth(1) {
        format!("refused {}", rest.split(':').next().unwrap_or(""))
    } else if message.contains("cannot connect") {
        "connect failed".to_owned()
    } else if message.contains("error before ready") {
        "error frame".to_owned()
    } else {
        "socket failed".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_named_by_kind() {
        assert_eq!(
            error_kind("the socket closed before ready: 1011 store unavailable"),
            "closed 1011"
        );
        assert_eq!(
            error_kind("the socket /ws/support/user/… on http://x was refused with 503: busy"),
            "refused 503"
        );
        assert_eq!(
            error_kind("opening a socket on http://x took over 60 s"),
            "timed out before ready"
        );
    }
}
