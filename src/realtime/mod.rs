//! Real-time chat: the frames of the protocol, the hub that fans the chat
//! layer's events out to this node's sockets, and the loop of one socket.
//!
//! - [`protocol`]: the WebSocket frames of the contract (a leaf: no I/O).
//! - [`frame`]: frames rendered once per node, and a socket's handle.
//! - [`hub`]: this node's sockets by ticket, ordering, recovery from the store.
//! - [`credentials`]: this node's agent sockets by agent, closed (4401) when a
//!   revocation arrives, at their token's expiry, or by a sweep of the store.
//! - [`session`]: one socket's life; [`reader`] handles what a client sends,
//!   [`replay`] what a socket is sent first, [`connection`] the two halves.
//! - [`batch`]: group commit of the reads that opening sockets make, so that a
//!   reconnect storm costs a query per batch of tickets, not per socket.
//!
//! The socket engine runs on its own context, [`Realtime`]: the chat layer, the
//! hub, the credential registry and the settings sockets need; it knows nothing of
//! the HTTP application around it.

pub mod connection;
pub mod credentials;
pub mod frame;
pub mod hub;
pub mod protocol;
pub mod reader;
pub mod replay;
pub mod router;
pub mod session;

use crate::chat::Chat;
use crate::domain::validation::Limits;
use credentials::Credentials;
use hub::Hub;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What every socket of a node runs on; cheap to clone.
#[derive(Clone)]
pub struct Realtime {
    /// The operations a socket performs (send, read, join) and its session rows.
    pub chat: Chat,
    /// This node's sockets by ticket.
    pub hub: Hub,
    /// This node's agent sockets by agent, closed when their token stops holding.
    pub credentials: Credentials,
    /// The batched reads of opening sockets.
    pub openings: replay::Openings,
    pub settings: Arc<SocketSettings>,
    /// Cancelled on SIGTERM: every socket closes (1012) within the drain window.
    pub shutdown: CancellationToken,
}

/// Settings fixed at start that sockets read.
#[derive(Debug, Clone)]
pub struct SocketSettings {
    pub node_id: String,
    pub limits: Limits,
    pub max_frame_bytes: usize,
    /// Chat messages per socket: burst, then per second.
    pub message_burst: u32,
    pub message_rate_per_second: u32,
    /// Sockets of a draining node close at random moments within this window.
    pub drain_window: Duration,
    /// Every socket is pinged this often...
    pub ping_interval: Duration,
    /// ...and closed when silent this long.
    pub idle_timeout: Duration,
    /// Keep query strings and fragments of the visitor's pages (`TRACK_QUERY_STRINGS`).
    pub track_query_strings: bool,
}
