//! A TCP proxy that stands between one client process and one dependency
//! (PostgreSQL, Redis) so that tests can break the link the way networks do:
//!
//! - [`FaultProxy::cut`] drops every open connection and refuses new ones (each
//!   is accepted and closed at once) until [`FaultProxy::restore`]: a lost link.
//! - [`FaultProxy::freeze`] keeps connections open but forwards nothing, in
//!   either direction, until [`FaultProxy::thaw`]: a link that silently drops
//!   packets. New connections are accepted and hang too.
//! - [`FaultProxy::set_latency`] delays every chunk, in each direction, by half
//!   the given round trip, keeping the byte order: a slow link.
//!
//! The dependency itself is untouched: only this proxy's clients see the fault.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Bytes read per chunk.
const CHUNK: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Link {
    cut: bool,
    frozen: bool,
    /// Added to every chunk in each direction.
    one_way: Duration,
}

/// A running proxy; it stops (and drops every connection) when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    link: watch::Sender<Link>,
    /// Cancelled by `cut`: every connection of the current generation ends.
    generation: Arc<Mutex<CancellationToken>>,
    stop: CancellationToken,
}

impl FaultProxy {
    /// Listens on 127.0.0.1 on a free port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> io::Result<FaultProxy> {
        FaultProxy::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), upstream).await
    }

    /// Listens on `listen` (port 0: a free one) and forwards to `upstream`.
    pub async fn start_on(listen: SocketAddr, upstream: SocketAddr) -> io::Result<FaultProxy> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let (link, _) = watch::channel(Link {
            cut: false,
            frozen: false,
            one_way: Duration::ZERO,
        });
        let proxy = FaultProxy {
            addr,
            upstream,
            link,
            generation: Arc::new(Mutex::new(CancellationToken::new())),
            stop: CancellationToken::new(),
        };
        tokio::spawn(accept_loop(
            listener,
            upstream,
            proxy.link.subscribe(),
            proxy.generation.clone(),
            proxy.stop.clone(),
        ));
        Ok(proxy)
    }

    /// Where clients connect instead of the dependency.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The dependency behind the proxy.
    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// Drops every open connection and refuses new ones until [`restore`](Self::restore).
    pub fn cut(&self) {
        self.link.send_modify(|l| l.cut = true);
        let mut generation = lock(&self.generation);
        generation.cancel();
        *generation = CancellationToken::new();
    }

    /// Ends a cut or a freeze: connections are accepted and forwarded again.
    pub fn restore(&self) {
        self.link.send_modify(|l| {
            l.cut = false;
            l.frozen = false;
        });
    }

    /// Holds every connection open but forwards nothing until [`thaw`](Self::thaw).
    pub fn freeze(&self) {
        self.link.send_modify(|l| l.frozen = true);
    }

    /// Forwards again what a freeze held back, in order.
    pub fn thaw(&self) {
        self.link.send_modify(|l| l.frozen = false);
    }

    /// Adds `round_trip` to every request/answer round trip (half each way);
    /// zero removes the delay.
    pub fn set_latency(&self, round_trip: Duration) {
        self.link.send_modify(|l| l.one_way = round_trip / 2);
    }

    pub fn is_cut(&self) -> bool {
        self.link.borrow().cut
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.cancel();
        lock(&self.generation).cancel();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    link: watch::Receiver<Link>,
    generation: Arc<Mutex<CancellationToken>>,
    stop: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((client, _)) = accepted else {
            continue;
        };
        if link.borrow().cut {
            drop(client); // refused: closed at once
            continue;
        }
        let _ = client.set_nodelay(true);
        let ended = lock(&generation).clone();
        tokio::spawn(serve(client, upstream, link.clone(), ended));
    }
}

async fn serve(
    client: TcpStream,
    upstream: SocketAddr,
    link: watch::Receiver<Link>,
    ended: CancellationToken,
) {
    let server = tokio::select! {
        _ = ended.cancelled() => return,
        server = TcpStream::connect(upstream) => match server {
            Ok(server) => server,
            Err(_) => return,
        },
    };
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = pipe(client_read, server_write, link.clone());
    let down = pipe(server_read, client_write, link);
    // Either direction ending (or a cut) ends the connection: both halves drop.
    tokio::select! {
        _ = ended.cancelled() => {}
        _ = up => {}
        _ = down => {}
    }
}

/// Copies one direction, each chunk held back by the link's delay and while the
/// link is frozen.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    link: watch::Receiver<Link>,
) {
    let (chunks, mut due) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = {
        let link = link.clone();
        async move {
            let mut buf = vec![0u8; CHUNK];
            loop {
                let n = match from.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let at = Instant::now() + link.borrow().one_way;
                if chunks.send((at, buf[..n].to_vec())).is_err() {
                    return;
                }
            }
        }
    };
    let writer = async move {
        let mut link = link;
        while let Some((at, chunk)) = due.recv().await {
            tokio::time::sleep_until(at).await;
            while link.borrow().frozen {
                if link.changed().await.is_err() {
                    return;
                }
            }
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    // The writer finishes what the reader queued before the reader's end is passed on.
    let (_, ()) = tokio::join!(reader, writer);
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = socket.read(&mut buf).await {
                        if n == 0 || socket.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn round_trip(stream: &mut TcpStream, text: &[u8]) -> io::Result<Vec<u8>> {
        stream.write_all(text).await?;
        let mut buf = vec![0u8; text.len()];
        stream.read_exact(&mut buf).await?;
        Ok(buf)
    }

    #[tokio::test]
    async fn forwards_cuts_and_restores() {
        let proxy = FaultProxy::start(echo_server().await).await.unwrap();
        let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut stream, b"hello").await.unwrap(), b"hello");

        proxy.cut();
        let mut buf = [0u8; 8];
        let read = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "an open connection is dropped by a cut"
        );
        let mut refused = TcpStream::connect(proxy.addr()).await.unwrap();
        let read = tokio::time::timeout(Duration::from_secs(2), refused.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "a new connection is closed at once while cut"
        );

        proxy.restore();
        let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut stream, b"again").await.unwrap(), b"again");
    }

    #[tokio::test]
    async fn freeze_holds_bytes_back_until_thawed() {
        let proxy = FaultProxy::start(echo_server().await).await.unwrap();
        let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut stream, b"warm").await.unwrap(), b"warm");
        proxy.freeze();
        let frozen =
            tokio::time::timeout(Duration::from_millis(300), round_trip(&mut stream, b"held"))
                .await;
        assert!(frozen.is_err(), "nothing gets through a frozen link");
        proxy.thaw();
        let mut buf = [0u8; 4];
        tokio::time::timeout(Duration::from_secs(2), stream.read_exact(&mut buf))
            .await
            .expect("thawed")
            .unwrap();
        assert_eq!(&buf, b"held");
    }

    #[tokio::test]
    async fn latency_delays_each_round_trip() {
        let proxy = FaultProxy::start(echo_server().await).await.unwrap();
        let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
        proxy.set_latency(Duration::from_millis(200));
        let started = std::time::Instant::now();
        assert_eq!(round_trip(&mut stream, b"slow").await.unwrap(), b"slow");
        assert!(
            started.elapsed() >= Duration::from_millis(200),
            "the round trip took {:?}",
            started.elapsed()
        );
    }
}
