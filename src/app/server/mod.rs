//! The accept loop: HTTP/1.1 (keep-alive, WebSocket upgrades) on hyper, with
//! what `axum::serve` lacks against slow and idle clients.
//!
//! - Every connection is admitted under the [`caps`] first: over the per-address
//!   cap, or over the node's cap with its health reserve full, it is closed at
//!   once without a response; in the health reserve only `/healthz`, `/readyz`
//!   and `/metrics` are answered, anything else gets 503 and a close.
//! - Each connection then runs on its [`clock`]: headers within the header-read
//!   timeout (else closed without a response), and an idle keep-alive connection
//!   closed after the idle timeout. A WebSocket is no longer under either once
//!   upgraded, and stays under the caps while open.
//! - Handlers get `ConnectInfo<SocketAddr>`, as with `axum::serve`.
//! - Shutdown: the loop stops accepting, every connection finishes the request
//!   in flight and closes, and [`serve`] returns once all have (a client slow
//!   with its headers holds it up to the header-read timeout at most).
//!
//! HTTP/2 is not served (`axum::serve` did not either without axum's `http2`
//! feature): browsers reach the node over HTTP/1.1 through the load balancer.

pub mod caps;
mod clock;

use crate::error::ApiError;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, header};
use axum::response::IntoResponse;
use caps::{Admission, ConnectionCaps, Permit, Refusal};
use clock::{Clock, ClockedIo, GuardedBody};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// The only paths answered on a connection of the health reserve.
const HEALTH_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// The header-read timeout of a connection in the health reserve: a probe sends
/// its request at once, and a reserve slot must not be held for long.
const RESERVE_HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// How long the loop waits after an accept error that is not the client's
/// (out of descriptors, most likely) before accepting again.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// How the node treats connections.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// A request's headers must be complete this long after its first byte (or
    /// after the connection opened).
    pub header_read_timeout: Duration,
    /// A keep-alive connection with nothing in flight closes after this long.
    pub keepalive_idle: Duration,
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains (see
/// the module docs).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: ServerSettings,
    caps: Arc<ConnectionCaps>,
    shutdown: impl Future<Output = ()>,
) {
    let stop = CancellationToken::new();
    let connections = TaskTracker::new();
    let server = Arc::new(Server {
        router,
        settings,
        stop: stop.clone(),
    });
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    pause_after(err).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        match caps.admit(peer.ip()) {
            Admission::Full(permit) => {
                connections.spawn(server.clone().connection(stream, peer, permit, false));
            }
            Admission::HealthOnly(permit) => {
                connections.spawn(server.clone().connection(stream, peer, permit, true));
            }
            // Dropping the stream closes it: no byte is read or written.
            Admission::Refused(refusal) => refusal.count(),
        }
    }
    drop(listener);
    stop.cancel();
    connections.close();
    connections.wait().await;
}

/// What every connection task shares.
struct Server {
    router: Router,
    settings: ServerSettings,
    /// Cancelled on shutdown: each connection then closes after its request.
    stop: CancellationToken,
}

impl Server {
    /// Serves one connection until it closes, its clock expires, or shutdown.
    async fn connection(
        self: Arc<Self>,
        stream: TcpStream,
        peer: SocketAddr,
        permit: Permit,
        health_only: bool,
    ) {
        let header_timeout = if health_only {
            self.settings
                .header_read_timeout
                .min(RESERVE_HEADER_TIMEOUT)
        } else {
            self.settings.header_read_timeout
        };
        send_at_once(&stream);
        let clock = Clock::start(header_timeout, self.settings.keepalive_idle);
        let io = TokioIo::new(ClockedIo::new(stream, clock.clone(), permit));
        let router = self.router.clone();
        let service_clock = clock.clone();
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let finish = service_clock.request_started();
            let router = router.clone();
            async move {
                let response = answer(router, request, peer, health_only).await;
                Ok::<_, Infallible>(response.map(|body| GuardedBody::wrap(body, finish)))
            }
        });
        let mut builder = http1::Builder::new();
        // The clock keeps the header deadline (see its module docs).
        builder.header_read_timeout(None).keep_alive(!health_only);
        let connection = builder.serve_connection(io, service).with_upgrades();
        tokio::pin!(connection);
        let expired = clock.expired();
        tokio::pin!(expired);
        let mut stopping = false;
        loop {
            tokio::select! {
                served = connection.as_mut() => {
                    if let Err(err) = served {
                        tracing::debug!(cause = %err, "connection ended with an error");
                    }
                    return;
                }
                // Dropping the connection closes it, without a response.
                _ = &mut expired => return,
                _ = self.stop.cancelled(), if !stopping => {
                    stopping = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Turns Nagle's algorithm off (TCP_NODELAY). A chat frame is small and
/// wanted now; with Nagle on, a frame written while the one before is not yet
/// acknowledged waits for that ACK, which a peer that delays its ACKs (Linux:
/// up to 40 ms) sends late: once a socket carries a frame every 40 ms or so,
/// most frames waited there (p50 20 ms at 8,000 msg/s on one node).
fn send_at_once(stream: &TcpStream) {
    if let Err(err) = stream.set_nodelay(true) {
        tracing::debug!(cause = %err, "cannot set TCP_NODELAY");
    }
}

/// The router's answer, with the peer's address for `ClientIp`; on a health
/// reserve connection, 503 for anything but a health check.
async fn answer(
    router: Router,
    mut request: Request<Incoming>,
    peer: SocketAddr,
    health_only: bool,
) -> Response<Body> {
    if health_only && !HEALTH_PATHS.contains(&request.uri().path()) {
        Refusal::Global.count();
        let mut response = ApiError::Unavailable.into_response();
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    request.extensions_mut().insert(ConnectInfo(peer));
    match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// Accept errors of one client (it reset before we accepted) need no pause;
/// others (out of descriptors) get a short one, so the loop does not spin.
async fn pause_after(err: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        err.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::warn!(cause = %err, "cannot accept a connection");
    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_accepted_connection_sends_without_waiting_for_acks() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        let (stream, _) = accepted.unwrap();
        assert!(!stream.nodelay().unwrap(), "off by default");
        send_at_once(&stream);
        assert!(stream.nodelay().unwrap());
        drop(client);
    }
}
