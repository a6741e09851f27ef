//! The two deadlines of an HTTP/1.1 connection, kept by its own [`Clock`]:
//!
//! - **headers**: from the connection's start, or from the first byte of a
//!   next request, its headers must be complete within the header-read timeout;
//! - **idle**: a keep-alive connection with no request in flight and nothing
//!   arriving is closed after the idle timeout.
//!
//! While a request is in flight neither runs (the request timeout bounds the
//! handler). hyper's own `header_read_timeout` is not used: its timer also runs
//! while a keep-alive connection waits for its next request, so it would close
//! idle connections after 10 s, before a load balancer's usual 60 s idle
//! timeout, and the balancer would then send requests on closed connections.
//!
//! [`ClockedIo`] tells the clock when bytes arrive and [`FinishGuard`] when a
//! response has been written; the connection's task races [`Clock::expired`].
//! Once a connection is upgraded to a WebSocket that task has ended, and with it
//! the clock's say: the socket's own ping and idle timeout take over.

use axum::body::{Body, Bytes, HttpBody};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// A request's headers are awaited since then.
    AwaitingHeaders(Instant),
    /// A request is being handled or its response written.
    InFlight,
    /// Nothing in flight and nothing arrived since then.
    Idle(Instant),
}

/// One connection's phase and deadlines.
pub struct Clock {
    phase: Mutex<Phase>,
    /// Wakes [`Clock::expired`] when the phase changes.
    changed: Notify,
    header_timeout: Duration,
    idle_timeout: Duration,
}

impl Clock {
    /// A clock for a connection just accepted: its headers are awaited.
    pub fn start(header_timeout: Duration, idle_timeout: Duration) -> Arc<Self> {
        Arc::new(Clock {
            phase: Mutex::new(Phase::AwaitingHeaders(Instant::now())),
            changed: Notify::new(),
            header_timeout,
            idle_timeout,
        })
    }

    /// Bytes arrived: on an idle connection, a next request has begun.
    fn bytes_arrived(&self) {
        let mut phase = self.lock();
        if let Phase::Idle(_) = *phase {
            *phase = Phase::AwaitingHeaders(Instant::now());
            self.changed.notify_one();
        }
    }

    /// A request's headers are complete; until the returned guard drops (with
    /// the response's body, once written) no deadline runs.
    pub fn request_started(self: &Arc<Self>) -> FinishGuard {
        self.set(Phase::InFlight);
        FinishGuard(self.clone())
    }

    fn set(&self, phase: Phase) {
        *self.lock() = phase;
        self.changed.notify_one();
    }

    fn deadline(&self) -> Option<Instant> {
        match *self.lock() {
            Phase::AwaitingHeaders(since) => Some(since + self.header_timeout),
            Phase::InFlight => None,
            Phase::Idle(since) => Some(since + self.idle_timeout),
        }
    }

    /// Resolves once the connection's current deadline has passed.
    pub async fn expired(&self) {
        loop {
            match self.deadline() {
                Some(deadline) if deadline <= Instant::now() => return,
                Some(deadline) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(deadline) => {}
                        _ = self.changed.notified() => {}
                    }
                }
                None => self.changed.notified().await,
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Phase> {
        self.phase
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Marks the end of a request when dropped: the connection turns idle.
pub struct FinishGuard(Arc<Clock>);

impl Drop for FinishGuard {
    fn drop(&mut self) {
        self.0.set(Phase::Idle(Instant::now()));
    }
}

/// A response body that holds its request's [`FinishGuard`] until hyper has
/// written it whole and drops it.
pub struct GuardedBody {
    inner: Body,
    _finish: FinishGuard,
}

impl GuardedBody {
    pub fn wrap(inner: Body, finish: FinishGuard) -> Body {
        Body::new(GuardedBody {
            inner,
            _finish: finish,
        })
    }
}

impl HttpBody for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// A connection's stream, telling its clock when bytes arrive, and holding
/// whatever must live as long as the connection (its place under the caps),
/// through a WebSocket upgrade too.
pub struct ClockedIo<S, Held> {
    stream: S,
    clock: Arc<Clock>,
    _held: Held,
}

impl<S, Held> ClockedIo<S, Held> {
    pub fn new(stream: S, clock: Arc<Clock>, held: Held) -> Self {
        ClockedIo {
            stream,
            clock,
            _held: held,
        }
    }
}

impl<S: AsyncRead + Unpin, Held: Unpin> AsyncRead for ClockedIo<S, Held> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.clock.bytes_arrived();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin, Held: Unpin> AsyncWrite for ClockedIo<S, Held> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The clock's deadline is `timeout` after a moment within `[before, now]`.
    fn assert_deadline_after(clock: &Clock, before: Instant, timeout: Duration, what: &str) {
        let deadline = clock
            .deadline()
            .unwrap_or_else(|| panic!("{what}: no deadline"));
        assert!(
            deadline >= before + timeout && deadline <= Instant::now() + timeout,
            "{what}"
        );
    }

    #[tokio::test]
    async fn deadlines_follow_the_phase() {
        let (header, idle) = (Duration::from_secs(10), Duration::from_secs(75));
        let before = Instant::now();
        let clock = Clock::start(header, idle);
        assert_deadline_after(&clock, before, header, "headers awaited from the start");
        let finish = clock.request_started();
        assert_eq!(clock.deadline(), None, "no deadline while in flight");
        clock.bytes_arrived();
        assert_eq!(
            clock.deadline(),
            None,
            "a request body's bytes change nothing"
        );
        let before = Instant::now();
        drop(finish);
        assert_deadline_after(&clock, before, idle, "idle once the response is written");
        let before = Instant::now();
        clock.bytes_arrived();
        assert_deadline_after(&clock, before, header, "a next request's headers");
    }

    #[tokio::test]
    async fn expiry_waits_out_a_request_in_flight_then_the_idle_timeout() {
        let (header, idle) = (Duration::from_millis(20), Duration::from_millis(50));
        let clock = Clock::start(header, idle);
        let finish = clock.request_started();
        let expired = tokio::time::timeout(Duration::from_millis(200), clock.expired()).await;
        assert!(expired.is_err(), "no expiry while in flight");
        let idle_from = Instant::now();
        drop(finish);
        clock.expired().await;
        assert!(Instant::now() >= idle_from + idle);
    }
}
