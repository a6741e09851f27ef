//! Talking to a livesupport node: the REST calls a run needs (agent login,
//! ticket creation, a ticket's `last_seq`) and opening a ticket socket up to its
//! `ready` frame. Plain http/ws only.

use crate::LoadError;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// How much a socket reads at a time. tungstenite zeroes that much of its
/// buffer before every read: its default (128 KiB) made the load generator
/// spend a few percent of the machine on `memset` in a storm of 10,000
/// sockets, beside the node it measures. A larger frame grows the buffer.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// A ticket socket, ready for traffic.
pub type Ws = WebSocketStream<TcpStream>;

/// How long opening a socket (TCP, upgrade, `ready`) may take.
pub const OPEN_TIMEOUT: Duration = Duration::from_secs(15);

/// One target node.
#[derive(Debug, Clone)]
pub struct Node {
    /// `http://host:port` plus any path prefix, without a trailing slash.
    pub base: String,
    /// The same with `ws://`.
    pub ws_base: String,
    /// Where its sockets connect (IPv4 preferred when the name has both).
    pub addr: SocketAddr,
}

impl Node {
    /// Parses and resolves a base URL such as `http://127.0.0.1:5000`.
    pub async fn resolve(url: &str) -> Result<Node, LoadError> {
        let parsed = reqwest::Url::parse(url.trim())
            .map_err(|e| LoadError::new(format!("--url {url:?} is not a URL: {e}")))?;
        if parsed.scheme() != "http" {
            return Err(LoadError::new(format!(
                "--url {url:?}: only plain http:// nodes are supported (point at a node's own port, not a TLS proxy)"
            )));
        }
        let host = parsed
            .host_str()
            .ok_or_else(|| LoadError::new(format!("--url {url:?} has no host")))?
            .to_owned();
        let port = parsed.port_or_known_default().unwrap_or(80);
        let lookup_host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((lookup_host.as_str(), port))
            .await
            .map_err(|e| LoadError::new(format!("cannot resolve {host}: {e}")))?
            .collect();
        let addr = addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or_else(|| addrs.first())
            .copied()
            .ok_or_else(|| LoadError::new(format!("{host} resolves to no address")))?;
        let base = parsed.as_str().trim_end_matches('/').to_owned();
        let ws_base = format!("ws{}", base.strip_prefix("http").unwrap_or(&base));
        Ok(Node {
            base,
            ws_base,
            addr,
        })
    }
}

/// A created ticket.
#[derive(Debug, Clone, Deserialize)]
pub struct TicketRef {
    pub id: i64,
    pub session_id: String,
}

pub(crate) fn body_error(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(200).collect())
}

/// Logs the agent in on `node` and returns its bearer token.
pub async fn login(
    client: &reqwest::Client,
    node: &Node,
    email: &str,
    password: &str,
) -> Result<String, LoadError> {
    let response = client
        .post(format!("{}/api/support/auth/login", node.base))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .map_err(|e| LoadError::new(format!("cannot reach {}: {e}", node.base)))?;
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    match status {
        200 => serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["token"].as_str().map(str::to_owned))
            .ok_or_else(|| LoadError::new(format!("login on {} returned no token", node.base))),
        401 => Err(LoadError::new(format!(
            "login on {} refused (401): check --agent-email and --agent-password (start the node with ADMIN_EMAIL/ADMIN_PASSWORD to create that agent)",
            node.base
        ))),
        429 => Err(LoadError::new(format!(
            "login on {} was rate limited (429): wait a minute, or start the node with a higher LOGIN_RATE_PER_MINUTE",
            node.base
        ))),
        _ => Err(LoadError::new(format!(
            "login on {} failed with {status}: {}",
            node.base,
            body_error(&body)
        ))),
    }
}

/// Opens ticket number `k` of the run as a visitor.
pub async fn create_ticket(
    client: &reqwest::Client,
    node: &Node,
    k: usize,
    total: usize,
) -> Result<TicketRef, LoadError> {
    let response = client
        .post(format!("{}/api/support/ticket", node.base))
        .json(&json!({
            "user_name": format!("Load test {k}"),
            "subject": format!("loadtest ticket {k}"),
        }))
        .send()
        .await
        .map_err(|e| LoadError::new(format!("cannot reach {}: {e}", node.base)))?;
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    match status {
        201 | 200 => serde_json::from_str(&body)
            .map_err(|e| LoadError::new(format!("ticket creation on {} answered {e}", node.base))),
        429 => Err(LoadError::new(format!(
            "ticket creation on {} was rate limited (429) while creating {total} tickets: \
             start the node with a high TICKET_RATE_PER_MINUTE (e.g. 1000000) for load runs; \
             the default allows 10 tickets a minute per client IP",
            node.base
        ))),
        _ => Err(LoadError::new(format!(
            "ticket creation on {} failed with {status}: {}",
            node.base,
            body_error(&body)
        ))),
    }
}

/// The ticket's stored `last_seq` and `last_public_seq` (where the visitor's own
/// numbering ends: it counts public messages only), read as the agent. A server
/// without the second gives `last_seq` for both.
pub async fn last_seq(
    client: &reqwest::Client,
    node: &Node,
    token: &str,
    ticket_id: i64,
) -> Result<(i64, i64), LoadError> {
    let response = client
        .get(format!("{}/api/support/tickets/{ticket_id}", node.base))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| LoadError::new(format!("cannot reach {}: {e}", node.base)))?;
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    if status != 200 {
        return Err(LoadError::new(format!(
            "reading ticket {ticket_id} failed with {status}: {}",
            body_error(&body)
        )));
    }
    serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| {
            let last = v["last_seq"].as_i64()?;
            Some((last, v["last_public_seq"].as_i64().unwrap_or(last)))
        })
        .ok_or_else(|| LoadError::new(format!("ticket {ticket_id} has no last_seq")))
}

/// The `ready` frame's data that a run uses.
#[derive(Debug, Clone, Copy)]
pub struct Ready {
    pub last_seq: i64,
    /// The ticket's agent already (`ready.data.ticket.supporter_id`).
    pub supporter_id: Option<i64>,
    /// The ticket's place in the queue (`ready.data.queue_position`; issue 16).
    pub queue_position: Option<i64>,
    /// Messages replayed after `since` behind the `ready` frame (`ready.data.replayed`).
    pub replayed: i64,
}

/// Opens `path` (e.g. `/ws/support/user/{sid}?since=0`) on `node`, from `source`
/// when given, with the agent's bearer token when given, and reads up to `ready`.
pub async fn open_socket(
    node: &Node,
    path: &str,
    bearer: Option<&str>,
    source: Option<IpAddr>,
) -> Result<(Ws, Ready), LoadError> {
    open_socket_within(node, path, bearer, source, OPEN_TIMEOUT).await
}

/// [`open_socket`] with its own time limit (a storm run waits longer).
pub async fn open_socket_within(
    node: &Node,
    path: &str,
    bearer: Option<&str>,
    source: Option<IpAddr>,
    limit: Duration,
) -> Result<(Ws, Ready), LoadError> {
    tokio::time::timeout(limit, open_socket_inner(node, path, bearer, source))
        .await
        .map_err(|_| {
            LoadError::new(format!(
                "opening a socket on {} took over {} s",
                node.base,
                limit.as_secs()
            ))
        })?
}

/// Opens the agent feed (`/ws/support/agent`) of the agent whose token this
/// is. The feed sends no `ready` frame: it is live once upgraded.
pub async fn open_feed(node: &Node, bearer: &str, source: Option<IpAddr>) -> Result<Ws, LoadError> {
    tokio::time::timeout(
        OPEN_TIMEOUT,
        upgrade(node, "/ws/support/agent", Some(bearer), source),
    )
    .await
    .map_err(|_| {
        LoadError::new(format!(
            "opening the feed on {} took over {} s",
            node.base,
            OPEN_TIMEOUT.as_secs()
        ))
    })?
}

async fn open_socket_inner(
    node: &Node,
    path: &str,
    bearer: Option<&str>,
    source: Option<IpAddr>,
) -> Result<(Ws, Ready), LoadError> {
    let ws = upgrade(node, path, bearer, source).await?;
    wait_for_ready(ws).await
}

/// TCP connect (from `source` when given) and the WebSocket upgrade.
async fn upgrade(
    node: &Node,
    path: &str,
    bearer: Option<&str>,
    source: Option<IpAddr>,
) -> Result<Ws, LoadError> {
    let socket = if node.addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| LoadError::new(format!("cannot make a socket: {e}")))?;
    if let Some(ip) = source {
        socket
            .bind(SocketAddr::new(ip, 0))
            .map_err(|e| LoadError::new(format!("cannot bind the source address {ip}: {e}")))?;
    }
    let stream = socket.connect(node.addr).await.map_err(|e| {
        LoadError::new(format!(
            "cannot connect to {} ({}): {e}{}",
            node.base,
            node.addr,
            if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) {
                " (out of local ports: spread the sockets over --source-ips 127.0.0.1,127.0.0.2,…)"
            } else if e.raw_os_error() == Some(libc::EMFILE) {
                " (out of file descriptors: raise ulimit -n)"
            } else {
                ""
            }
        ))
    })?;
    let _ = stream.set_nodelay(true);
    let url = format!("{}{path}", node.ws_base);
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| LoadError::new(format!("bad socket URL {url}: {e}")))?;
    if let Some(token) = bearer {
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| LoadError::new("the agent token is not a valid header value"))?;
        request.headers_mut().insert("authorization", value);
    }
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER_BYTES);
    let (ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(config))
        .await
        .map_err(|e| match e {
            WsError::Http(response) => {
                let status = response.status().as_u16();
                let body = response
                    .body()
                    .as_deref()
                    .map(|b| body_error(&String::from_utf8_lossy(b)))
                    .unwrap_or_default();
                let hint = match status {
                    429 => {
                        " (socket upgrades are rate limited per client IP, and visitor sockets \
                         capped per ticket and per IP: start the node with a high \
                         SOCKET_RATE_PER_MINUTE, e.g. 1000000, and MAX_SOCKETS_PER_IP, e.g. \
                         100000, for load runs)"
                    }
                    401 => " (the agent token was not accepted)",
                    403 => " (the node refused the origin)",
                    503 => " (the node is draining or its database does not answer)",
                    _ => "",
                };
                LoadError::new(format!(
                    "the socket {} on {} was refused with {status}: {body}{hint}",
                    redact(path),
                    node.base
                ))
            }
            other => LoadError::new(format!(
                "the socket upgrade on {} failed: {other}",
                node.base
            )),
        })?;
    Ok(ws)
}

/// Reads frames up to `ready` (or the error that refused the socket).
async fn wait_for_ready(mut ws: Ws) -> Result<(Ws, Ready), LoadError> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                let frame: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                match frame["type"].as_str() {
                    Some("ready") => {
                        let data = &frame["data"];
                        let ready = Ready {
                            last_seq: data["last_seq"].as_i64().unwrap_or(0),
                            supporter_id: data["ticket"]["supporter_id"].as_i64(),
                            queue_position: data["queue_position"].as_i64(),
                            replayed: data["replayed"].as_i64().unwrap_or(0),
                        };
                        return Ok((ws, ready));
                    }
                    Some("error") => {
                        return Err(LoadError::new(format!(
                            "the socket answered an error before ready: {}",
                            frame["error"]
                        )));
                    }
                    _ => {}
                }
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(LoadError::new(format!(
                    "the socket closed before ready: {}",
                    frame
                        .map(|f| format!("{} {}", u16::from(f.code), f.reason))
                        .unwrap_or_default()
                )));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                return Err(LoadError::new(format!(
                    "the socket failed before ready: {e}"
                )));
            }
            None => return Err(LoadError::new("the socket ended before ready")),
        }
    }
}

/// A socket path without the session id (the guest's capability).
fn redact(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((prefix, _)) => format!("{prefix}/…"),
        None => path.to_owned(),
    }
}
