//! The two halves of one socket: a reader that hands text frames on and a
//! writer that drains the socket's queue. The writer keeps the delivery promise
//! for its connection: message frames go out in seq order, a seq already sent is
//! skipped, and a hole (which the hub should never leave) is filled from the store
//! before the frame after it. When either half ends, the other does.

use super::hub::{Frame, Outbound};
use super::session::MAX_REPLAY;
use crate::error::ApiError;
use crate::http::AppState;
use crate::metrics::metrics;
use crate::store::MessageRange;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How often an agent's socket checks that its credential still holds.
pub const CREDENTIAL_RECHECK: Duration = Duration::from_secs(2);

/// How long one write may block before the peer counts as not reading.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Ends both halves of a socket when either ends.
pub(super) struct Lifetime {
    pub(super) ended: CancellationToken,
    /// Milliseconds since `started` at which the peer was last heard.
    pub(super) last_heard: AtomicU64,
    pub(super) started: Instant,
    /// A close code the reader asks the writer to send (0: none).
    pub(super) close_code: AtomicU32,
}

impl Lifetime {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Lifetime {
            ended: CancellationToken::new(),
            last_heard: AtomicU64::new(0),
            started: Instant::now(),
            close_code: AtomicU32::new(0),
        })
    }
    fn heard(&self) {
        self.last_heard
            .store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
    fn silent_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_heard.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last)
    }
}

/// How long a socket that the server closed waits for the peer's close reply
/// before dropping the connection (dropping with unread input would reset it and
/// could lose the close frame on the way).
const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// Reads until the peer closes or errs, handing text frames to `on_text`. When the
/// writer ends the socket first, reading goes on briefly (ignoring frames) to take
/// the peer's close reply.
pub(super) async fn read_loop<F, Fut>(
    stream: SplitStream<WebSocket>,
    lifetime: Arc<Lifetime>,
    max_frame: usize,
    on_text: F,
) where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let reading = read_frames(stream, &lifetime, max_frame, on_text);
    tokio::pin!(reading);
    tokio::select! {
        _ = &mut reading => {}
        _ = lifetime.ended.cancelled() => {
            let _ = tokio::time::timeout(CLOSE_LINGER, &mut reading).await;
        }
    }
    lifetime.ended.cancel();
}

async fn read_frames<F, Fut>(
    mut stream: SplitStream<WebSocket>,
    lifetime: &Lifetime,
    max_frame: usize,
    on_text: F,
) where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    while let Some(next) = stream.next().await {
        lifetime.heard();
        let text = match next {
            Ok(WsMessage::Text(text)) => text.to_string(),
            // Some clients send their JSON as binary frames.
            Ok(WsMessage::Binary(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
            Ok(WsMessage::Ping(_) | WsMessage::Pong(_)) => continue,
            Ok(WsMessage::Close(_)) => return,
            Err(err) => {
                tracing::debug!(cause = %err, "socket read ended");
                return;
            }
        };
        if lifetime.ended.is_cancelled() {
            continue;
        }
        if text.len() > max_frame {
            lifetime.close_code.store(1009, Ordering::Relaxed);
            lifetime.ended.cancel();
            continue;
        }
        // Boxed: one small allocation per frame, where inline the handling's
        // future would be part of every idle socket's task for its whole life.
        Box::pin(on_text(text)).await;
    }
}

pub(super) struct WriterContext {
    pub(super) state: AppState,
    /// The ticket whose messages this socket streams (`None` for the feed).
    pub(super) ticket_id: Option<i64>,
    pub(super) lifetime: Arc<Lifetime>,
    pub(super) overflow: CancellationToken,
}

/// Sends the opening frames, then the queue, keeping message frames in seq order;
/// pings the peer; closes on overflow (1013), drain (1012), silence, or when the
/// reader ends.
pub(super) async fn write_loop(
    mut sink: SplitSink<WebSocket, WsMessage>,
    mut queue: mpsc::Receiver<Outbound>,
    opening: Vec<Outbound>,
    mut last_sent: i64,
    ctx: WriterContext,
) {
    let lifetime = &ctx.lifetime;
    for out in opening {
        if let Outbound::Frame(frame) = out {
            let seq = frame.seq;
            if write_frame(&mut sink, &frame, &ctx.overflow).await != Sent::Ok {
                lifetime.ended.cancel();
                return;
            }
            if let Some(seq) = seq {
                last_sent = last_sent.max(seq);
            }
        }
    }
    let mut ping = tokio::time::interval(ctx.state.settings.ping_interval);
    ping.tick().await;
    let drain = ctx.state.shutdown.clone();
    let code = loop {
        let frame = tokio::select! {
            _ = lifetime.ended.cancelled() => {
                let requested = lifetime.close_code.load(Ordering::Relaxed);
                break u16::try_from(requested).ok().filter(|code| *code != 0);
            }
            _ = ctx.overflow.cancelled() => break Some(1013),
            _ = drain.cancelled() => {
                // Spread the reconnects of a draining node over the drain window.
                let window = ctx.state.settings.drain_window;
                let delay = window.mul_f64(rand::random::<f64>());
                tokio::time::sleep(delay).await;
                break Some(1012);
            }
            _ = ping.tick() => {
                if lifetime.silent_for() > ctx.state.settings.idle_timeout {
                    break Some(1001);
                }
                if send(&mut sink, WsMessage::Ping(Default::default())).await.is_err() {
                    break None;
                }
                continue;
            }
            out = queue.recv() => match out {
                None => break None,
                Some(Outbound::Close(code, _)) => break Some(code),
                Some(Outbound::Frame(frame)) => frame,
            }
        };
        if let Some(seq) = frame.seq {
            if seq <= last_sent {
                continue;
            }
            if seq > last_sent + 1 && !fill_hole(&mut sink, &ctx, last_sent, seq).await {
                metrics().resyncs.inc();
                break Some(1013);
            }
        }
        let seq = frame.seq;
        match write_frame(&mut sink, &frame, &ctx.overflow).await {
            Sent::Ok => last_sent = seq.unwrap_or(last_sent),
            Sent::Overflow => break Some(1013),
            Sent::Failed => break None,
        }
    };
    if let Some(code) = code {
        let _ = close(&mut sink, code, close_reason(code)).await;
    }
    lifetime.ended.cancel();
}

/// Writes one frame and counts it, with its delivery latency when it carries
/// the time its message was stored.
async fn write_frame(
    sink: &mut SplitSink<WebSocket, WsMessage>,
    frame: &Frame,
    overflow: &CancellationToken,
) -> Sent {
    let sent = send_unless(sink, WsMessage::Text(frame.text.clone()), overflow).await;
    if sent == Sent::Ok {
        let m = metrics();
        m.frames_delivered
            .with_label_values(&[frame.kind.as_str()])
            .inc();
        if let Some(stored_at) = frame.stored_at {
            let micros = chrono::Utc::now().timestamp_micros() - stored_at;
            m.delivery_latency
                .observe(micros.max(0) as f64 / 1_000_000.0);
        }
    }
    sent
}

/// Sends the stored messages strictly between `after` and `before`.
async fn fill_hole(
    sink: &mut SplitSink<WebSocket, WsMessage>,
    ctx: &WriterContext,
    after: i64,
    before: i64,
) -> bool {
    let Some(ticket_id) = ctx.ticket_id else {
        return true;
    };
    let range = MessageRange {
        after_seq: after,
        before_seq: Some(before),
        limit: MAX_REPLAY,
    };
    let Ok(slice) = ctx.state.store.messages(ticket_id, range).await else {
        return false;
    };
    if slice.has_more || slice.messages.len() as i64 != before - after - 1 {
        return false;
    }
    metrics().gap_refills.inc();
    for message in &slice.messages {
        if write_frame(sink, &Frame::message(message), &ctx.overflow).await != Sent::Ok {
            return false;
        }
    }
    true
}

fn close_reason(code: u16) -> &'static str {
    match code {
        1001 => "no answer to pings",
        1009 => "frame too large",
        1011 => "internal error",
        1012 => "server draining; reconnect with since",
        1013 => "too slow to keep up; reconnect with since",
        4401 => "credential expired or revoked",
        _ => "",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Ok,
    Overflow,
    Failed,
}

/// Sends unless the socket is declared too slow while the write is blocked (the
/// peer stopped reading). The frame stays buffered ahead of the close that follows.
async fn send_unless(
    sink: &mut SplitSink<WebSocket, WsMessage>,
    message: WsMessage,
    overflow: &CancellationToken,
) -> Sent {
    tokio::select! {
        sent = send(sink, message) => if sent.is_ok() { Sent::Ok } else { Sent::Failed },
        _ = overflow.cancelled() => Sent::Overflow,
    }
}

async fn send(sink: &mut SplitSink<WebSocket, WsMessage>, message: WsMessage) -> Result<(), ()> {
    match tokio::time::timeout(WRITE_TIMEOUT, sink.send(message)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

pub(super) async fn close(
    sink: &mut SplitSink<WebSocket, WsMessage>,
    code: u16,
    reason: &'static str,
) -> Result<(), ()> {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    send(sink, WsMessage::Close(Some(frame))).await
}

/// Closes the socket with 4401 once its agent token stops being valid: expired,
/// revoked by a logout or a password reset, or its agent disabled.
pub(super) async fn watch_credential(state: AppState, token: String, lifetime: Arc<Lifetime>) {
    let mut tick = tokio::time::interval(CREDENTIAL_RECHECK);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = lifetime.ended.cancelled() => return,
            _ = tick.tick() => {}
        }
        // Only a refusal ends the socket; a database hiccup does not.
        if let Err(ApiError::Unauthorized) = state.authenticate(&token).await {
            lifetime.close_code.store(4401, Ordering::Relaxed);
            lifetime.ended.cancel();
            return;
        }
    }
}
