//! Moves published envelopes between nodes. A broker knows channels and bytes,
//! nothing of tickets or the store. Two implementations, chosen at start:
//! [`LocalBroker`] (in-process, one node) and, with `REDIS_URL`, Redis pub/sub
//! ([`RedisBroker`]).
//!
//! Whatever a node is subscribed to arrives, as a [`Delivery`], in the inbox
//! given to the broker at construction (the hub's).

mod local;
mod redis;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::mpsc;

pub use local::LocalBroker;
pub use redis::RedisBroker;

/// One published envelope, as received on a subscribed channel.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub channel: String,
    pub payload: Bytes,
}

/// What a broker tells its node besides deliveries.
#[derive(Debug, Clone)]
pub enum Inbound {
    Delivery(Delivery),
    /// The connection was lost and is back, subscriptions restored: anything
    /// published meanwhile was missed and must be refilled from the store.
    Reconnected,
}

pub type Inbox = mpsc::UnboundedSender<Inbound>;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("broker unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Broker: Send + Sync + 'static {
    /// Sends `payload` to every node subscribed to `channel`, this one included.
    async fn publish(&self, channel: &str, payload: Bytes) -> Result<(), BrokerError>;
    /// Starts delivering `channel` to the inbox. Callers reference-count.
    async fn subscribe(&self, channel: &str) -> Result<(), BrokerError>;
    async fn unsubscribe(&self, channel: &str) -> Result<(), BrokerError>;
    /// Answers when the broker does (readiness).
    async fn ping(&self) -> Result<(), BrokerError>;
}

/// The channel of one ticket's traffic.
pub fn ticket_channel(ticket_id: i64) -> String {
    format!("ticket:{ticket_id}")
}

/// The channel of the agents' feed: every ticket event, for dashboards.
pub const AGENTS_CHANNEL: &str = "agents";
