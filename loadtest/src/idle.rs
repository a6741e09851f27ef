//! An idle run: N tickets, one visitor socket each, held open for the duration
//! while reading (tungstenite answers the server's pings as it reads). It
//! reports how many sockets were held to the end and what went wrong; the
//! node's memory per socket is measured from outside (docs/LOADTEST.md).

use crate::accounting::Report;
use crate::chat::{create_tickets, http_client};
use crate::client::{self, Node};
use crate::{Details, Latency, LoadError, Mode, Options, Outcome, output, system};
use futures_util::{StreamExt, TryStreamExt, stream};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

#[derive(Default)]
struct Counters {
    open: AtomicU64,
    errors: AtomicU64,
    kinds: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    fn error(&self, kind: &str) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut kinds) = self.kinds.lock() {
            *kinds.entry(kind.to_owned()).or_default() += 1;
        }
    }
}

pub(crate) async fn run(
    options: &Options,
    nodes: &[Node],
    sockets: usize,
) -> Result<Outcome, LoadError> {
    system::ensure_fd_limit(sockets)?;
    system::ensure_ports(sockets.div_ceil(nodes.len()), options.source_ips.len())?;
    let setup_started = Instant::now();
    let http = http_client(options)?;
    let tickets = create_tickets(options, &http, nodes, sockets).await?;

    let counters = Arc::new(Counters::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    if options.progress() {
        eprintln!("opening {sockets} sockets…");
    }
    let opened_at = Instant::now();
    let readers: Vec<_> = stream::iter(tickets.iter().enumerate())
        .map(|(k, ticket)| {
            let (counters, stop_rx) = (counters.clone(), stop_rx.clone());
            async move {
                let (ws, _) = client::open_socket(
                    &nodes[k % nodes.len()],
                    &format!("/ws/support/user/{}", ticket.session_id),
                    None,
                    options.source_ip(k),
                )
                .await?;
                let open = counters.open.fetch_add(1, Ordering::Relaxed) + 1;
                if options.progress() && (open % 1000 == 0 || open as usize == sockets) {
                    eprintln!(
                        "  {open}/{sockets} open ({:.1} s)",
                        opened_at.elapsed().as_secs_f64()
                    );
                }
                Ok::<_, LoadError>(tokio::spawn(hold(ws, counters, stop_rx)))
            }
        })
        .buffer_unordered(options.concurrency)
        .try_collect()
        .await?;
    let setup_s = setup_started.elapsed().as_secs_f64();
    let opened = readers.len() as u64;

    let held_from = Instant::now();
    let hold_for = Duration::from_secs_f64(options.duration);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    while held_from.elapsed() < hold_for {
        let left = hold_for.saturating_sub(held_from.elapsed());
        tokio::select! {
            _ = tick.tick() => {
                if options.progress() {
                    output::idle_progress_line(
                        held_from.elapsed().as_secs_f64(),
                        counters.open.load(Ordering::Relaxed),
                        opened,
                        counters.errors.load(Ordering::Relaxed),
                    );
                }
            }
            _ = tokio::time::sleep(left) => break,
        }
    }
    let held = counters.open.load(Ordering::Relaxed);
    let _ = stop_tx.send(true);
    let all = async {
        for reader in readers {
            let _ = reader.await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), all).await;

    let errors = counters.errors.load(Ordering::Relaxed);
    let report = Report {
        tickets: tickets.len() as u64,
        connections: held,
        errors,
        ..Report::default()
    };
    let details = Details {
        mode: Mode::Idle,
        nodes: nodes.len(),
        rate: 0.0,
        duration_s: options.duration,
        acknowledged: 0,
        refused: 0,
        unacknowledged: 0,
        missing_seqs: 0,
        lag_ms: Latency::default(),
        elapsed_s: held_from.elapsed().as_secs_f64(),
        error_kinds: counters.kinds.lock().map(|k| k.clone()).unwrap_or_default(),
        opened,
        setup_s,
        drain_s: options.drain,
        chaos: None,
        routing: None,
    };
    Ok(Outcome { report, details })
}

/// Reads one socket until told to stop (then closes it) or until the server
/// ends it (an error: the socket was not held).
async fn hold(mut ws: client::Ws, counters: Arc<Counters>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            item = ws.next() => match item {
                Some(Ok(Message::Text(text))) => {
                    if text.contains("\"type\":\"error\"") || text.contains("\"type\":\"resync_required\"") {
                        counters.error("error frame");
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.map(|f| u16::from(f.code)).unwrap_or(1005);
                    counters.error(&format!("closed {code}"));
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    counters.error("socket ended");
                    break;
                }
            },
            _ = stop.changed() => {
                let _ = tokio::time::timeout(Duration::from_secs(5), ws.close(None)).await;
                return;
            }
        }
    }
    counters.open.fetch_sub(1, Ordering::Relaxed);
}
