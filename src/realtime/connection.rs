//! The two halves of one socket: a reader that hands text frames on and a
//! writer that drains the socket's queue. The writer keeps the delivery promise
//! for its connection: message frames go out in seq order, a seq already sent is
//! skipped, and a hole (which the hub should never leave) is filled from the store
//! before the frame after it. When either half ends, the other does.
//!
//! Closes are never lost: whoever wants the socket closed (the hub for a slow or
//! broken stream, the reader for an oversized frame, the credential watcher) asks
//! its [`Closer`], which the writer waits on beside its queue; the writer then
//! sends the close frame with a timeout of its own, and the reader goes on
//! reading until the peer answers it, so the connection is not reset under it.

use super::Realtime;
use super::credentials::{self, CREDENTIAL_CLOSE};
use super::frame::{Closer, Frame};
use super::replay::MAX_REPLAY;
use crate::auth::Credential;
use crate::metrics::metrics;
use crate::store::MessageRange;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How long one write may block before the peer counts as not reading: the
/// socket is then closed as too slow (1013).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the close frame may take to get out behind what is still buffered
/// for a slow peer, before the connection is dropped without it.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a socket that the server closed waits for the peer's close reply
/// before dropping the connection (dropping with unread input would reset it and
/// could lose the close frame on the way).
const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// Ends both halves of a socket when either ends.
pub(super) struct Lifetime {
    /// Cancelled when either half is done (after the close frame, if any).
    pub(super) ended: CancellationToken,
    /// Asks the writer to close with a code.
    pub(super) closer: Arc<Closer>,
    /// Milliseconds since `started` at which the peer was last heard.
    last_heard: AtomicU64,
    started: Instant,
}

impl Lifetime {
    pub(super) fn new(closer: Arc<Closer>) -> Arc<Self> {
        Arc::new(Lifetime {
            ended: CancellationToken::new(),
            closer,
            last_heard: AtomicU64::new(0),
            started: Instant::now(),
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

/// Reads until the peer closes or errs, handing text frames to `on_text`. Once
/// the socket is closing, reading goes on (ignoring frames) to take the peer's
/// close reply: until the writer is done, then [`CLOSE_LINGER`] more.
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
        // A socket closed for being slow (1013) or draining (1012) still takes
        // what its client sends until the close frame is out: a message stored
        // then is acknowledged on reconnect, by its resend. One closed for what
        // the client did (1009) or for its credential (4401) takes nothing more.
        if lifetime.ended.is_cancelled() || lifetime.closer.code().is_some_and(refuses_frames) {
            continue;
        }
        if text.len() > max_frame {
            lifetime.closer.close(1009);
            continue;
        }
        // Boxed: one small allocation per frame, where inline the handling's
        // future would be part of every idle socket's task for its whole life.
        Box::pin(on_text(text)).await;
    }
}

/// Close codes after which a socket's frames are no longer handled.
fn refuses_frames(code: u16) -> bool {
    matches!(code, 1009 | 4401)
}

pub(super) struct WriterContext {
    pub(super) realtime: Realtime,
    /// The ticket whose messages this socket streams (`None` for the feed).
    pub(super) ticket_id: Option<i64>,
    pub(super) lifetime: Arc<Lifetime>,
    /// A visitor's socket: frames go out as the visitor sees them (its own
    /// numbering, no internal message); ordering stays by the agents' seq.
    pub(super) visitor: bool,
}

/// Sends the opening frames, then the queue, keeping message frames in seq order;
/// pings the peer; closes when asked (1013 slow or broken, 1009, 4401), on drain
/// (1012), on silence (1001), or when the reader ends.
pub(super) async fn write_loop(
    mut sink: SplitSink<WebSocket, WsMessage>,
    mut queue: mpsc::Receiver<Arc<Frame>>,
    opening: Vec<Arc<Frame>>,
    mut last_sent: i64,
    ctx: WriterContext,
) {
    let lifetime = &ctx.lifetime;
    let closer = &lifetime.closer;
    let settings = &ctx.realtime.settings;
    let mut code = None;
    for frame in opening {
        match write_frame(&mut sink, &frame, closer, ctx.visitor).await {
            Sent::Ok => last_sent = frame.seq.map_or(last_sent, |seq| last_sent.max(seq)),
            Sent::Interrupted | Sent::TimedOut => {
                code = Some(closer.code().unwrap_or(1013));
                break;
            }
            Sent::Broken => {
                lifetime.ended.cancel();
                return;
            }
        }
    }
    let mut ping = tokio::time::interval(settings.ping_interval);
    ping.tick().await;
    let drain = ctx.realtime.shutdown.clone();
    let code = match code {
        Some(code) => Some(code),
        None => loop {
            let frame = tokio::select! {
                biased;
                _ = closer.asked() => break closer.code(),
                _ = lifetime.ended.cancelled() => break None,
                _ = drain.cancelled() => {
                    // Spread the reconnects of a draining node over the drain window.
                    let delay = settings.drain_window.mul_f64(rand::random::<f64>());
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => break Some(1012),
                        _ = closer.asked() => break closer.code(),
                    }
                }
                _ = ping.tick() => {
                    if lifetime.silent_for() > settings.idle_timeout {
                        break Some(1001);
                    }
                    match send(&mut sink, WsMessage::Ping(Default::default())).await {
                        Ok(()) => continue,
                        Err(Failure::TimedOut) => break Some(1013),
                        Err(Failure::Broken) => break None,
                    }
                }
                frame = queue.recv() => match frame {
                    None => break None,
                    Some(frame) => frame,
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
            match write_frame(&mut sink, &frame, closer, ctx.visitor).await {
                Sent::Ok => last_sent = frame.seq.unwrap_or(last_sent),
                Sent::Interrupted => break closer.code(),
                Sent::TimedOut => {
                    metrics().slow_consumer_closes.inc();
                    break Some(1013);
                }
                Sent::Broken => break None,
            }
        },
    };
    if let Some(code) = code {
        let _ = close(&mut sink, code, close_reason(code)).await;
    }
    lifetime.ended.cancel();
}

/// Writes one frame and counts it, with its delivery latency when it carries
/// the time its message was stored. A close asked for while the write is
/// blocked (the peer stopped reading) interrupts it: the frame stays buffered
/// ahead of the close frame that follows.
async fn write_frame(
    sink: &mut SplitSink<WebSocket, WsMessage>,
    frame: &Frame,
    closer: &Closer,
    visitor: bool,
) -> Sent {
    let Some(text) = frame.text_for(visitor) else {
        // Nothing of it for this socket (an internal message to a visitor).
        return Sent::Ok;
    };
    let sent = tokio::select! {
        sent = send(sink, WsMessage::Text(text.clone())) => match sent {
            Ok(()) => Sent::Ok,
            Err(Failure::TimedOut) => Sent::TimedOut,
            Err(Failure::Broken) => Sent::Broken,
        },
        _ = closer.asked() => Sent::Interrupted,
    };
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
    let Ok(slice) = ctx.realtime.chat.store.messages(ticket_id, range).await else {
        return false;
    };
    if slice.has_more || slice.messages.len() as i64 != before - after - 1 {
        return false;
    }
    metrics().gap_refills.inc();
    for message in &slice.messages {
        if write_frame(
            sink,
            &Frame::message(message),
            &ctx.lifetime.closer,
            ctx.visitor,
        )
        .await
            != Sent::Ok
        {
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
    /// A close was asked for while the write waited.
    Interrupted,
    /// The peer did not take the frame within [`WRITE_TIMEOUT`].
    TimedOut,
    /// The connection is gone.
    Broken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    TimedOut,
    Broken,
}

async fn send(
    sink: &mut SplitSink<WebSocket, WsMessage>,
    message: WsMessage,
) -> Result<(), Failure> {
    send_within(sink, message, WRITE_TIMEOUT).await
}

async fn send_within(
    sink: &mut SplitSink<WebSocket, WsMessage>,
    message: WsMessage,
    timeout: Duration,
) -> Result<(), Failure> {
    match tokio::time::timeout(timeout, sink.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(Failure::Broken),
        Err(_) => Err(Failure::TimedOut),
    }
}

/// Sends a close frame, behind whatever is still buffered for the peer.
pub(super) async fn close(
    sink: &mut SplitSink<WebSocket, WsMessage>,
    code: u16,
    reason: &'static str,
) -> Result<(), ()> {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    send_within(sink, WsMessage::Close(Some(frame)), CLOSE_TIMEOUT)
        .await
        .map_err(|_| ())
}

/// Closes the socket with 4401 once its agent token stops being valid: by a
/// timer at its expiry, or through the node's credential registry when it is
/// revoked (a logout, a password reset or its agent disabled), which holds the
/// socket while this runs: until the socket ends.
pub(super) async fn watch_credential(
    realtime: Realtime,
    credential: Credential,
    lifetime: Arc<Lifetime>,
) {
    let _registration = realtime
        .credentials
        .register(credential, lifetime.closer.clone());
    tokio::select! {
        _ = lifetime.ended.cancelled() => {}
        _ = tokio::time::sleep(credential.remaining()) => {
            if !lifetime.closer.is_asked() {
                credentials::count_close("expired");
            }
            lifetime.closer.close(CREDENTIAL_CLOSE);
        }
    }
}
