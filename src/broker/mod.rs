//! Moves published envelopes between nodes. A broker knows channels and bytes,
//! nothing of tickets or the store. Two implementations, chosen at start:
//! [`LocalBroker`] (in-process, one node) and, with `REDIS_URL`, Redis pub/sub
//! ([`RedisBroker`]).
//!
//! Whatever a node is subscribed to arrives, as a [`Delivery`], in the bounded
//! [`Inbox`] given to the broker at construction (the hub's). A broker never
//! waits for room there: a full inbox drops the delivery and marks the inbox
//! lagged, which tells the hub to reconcile with the store. Every (re)connection
//! of a broker's connections moves its [`Broker::reconnects`] counter on, which
//! tells the hub to reconcile and the publisher to retry what failed.

mod local;
mod redis;

use async_trait::async_trait;
use bytes::Bytes;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::{Notify, mpsc, watch};

pub use local::LocalBroker;
pub use redis::RedisBroker;

use crate::metrics::metrics;

/// Deliveries the hub's inbox holds before it counts as lagged.
pub const INBOX_CAPACITY: usize = 16 * 1024;

/// One published envelope, as received on a subscribed channel.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub channel: String,
    pub payload: Bytes,
}

/// What the broker's end and the hub's end of an inbox share.
struct Signals {
    /// Set when a delivery was dropped (full inbox, or the broker's own reader
    /// fell behind); taken by the hub, which then reconciles.
    lagged: AtomicBool,
    /// Wakes the hub when `lagged` is set.
    wake: Notify,
}

/// The broker's end of the hub's inbox: bounded, never waited on.
#[derive(Clone)]
pub struct Inbox {
    deliveries: mpsc::Sender<Delivery>,
    signals: Arc<Signals>,
}

/// The hub's end of the inbox.
pub struct InboxReceiver {
    deliveries: mpsc::Receiver<Delivery>,
    signals: Arc<Signals>,
}

/// What the hub reads from its inbox.
#[derive(Debug)]
pub enum Received {
    Delivery(Delivery),
    /// Deliveries were lost on the way: whatever they carried is in the store.
    Lagged,
}

/// A bounded inbox of `capacity` deliveries.
pub fn inbox(capacity: usize) -> (Inbox, InboxReceiver) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let signals = Arc::new(Signals {
        lagged: AtomicBool::new(false),
        wake: Notify::new(),
    });
    (
        Inbox {
            deliveries: tx,
            signals: signals.clone(),
        },
        InboxReceiver {
            deliveries: rx,
            signals,
        },
    )
}

impl Inbox {
    /// Hands a delivery to the hub, or marks the inbox lagged when it is full.
    pub fn deliver(&self, delivery: Delivery) {
        match self.deliveries.try_send(delivery) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                metrics().broker_inbox_overflows.inc();
                self.lagged();
            }
            // The hub has stopped: nobody is left to tell.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// Says that deliveries were lost before they reached the inbox.
    pub fn lagged(&self) {
        self.signals.lagged.store(true, Ordering::Release);
        self.signals.wake.notify_one();
    }
}

impl InboxReceiver {
    /// The next delivery, or [`Received::Lagged`] once after deliveries were
    /// lost; `None` when every broker end is gone.
    pub async fn recv(&mut self) -> Option<Received> {
        loop {
            if self.signals.lagged.swap(false, Ordering::AcqRel) {
                return Some(Received::Lagged);
            }
            tokio::select! {
                biased;
                _ = self.signals.wake.notified() => continue,
                delivery = self.deliveries.recv() => return delivery.map(Received::Delivery),
            }
        }
    }
}

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
    /// Starts delivering every one of `channels`, in as few round trips as the
    /// broker allows (a reconnect storm subscribes thousands at once).
    async fn subscribe_many(&self, channels: &[String]) -> Result<(), BrokerError> {
        for channel in channels {
            self.subscribe(channel).await?;
        }
        Ok(())
    }
    /// Stops delivering every one of `channels`, batched like
    /// [`Broker::subscribe_many`].
    async fn unsubscribe_many(&self, channels: &[String]) -> Result<(), BrokerError> {
        for channel in channels {
            self.unsubscribe(channel).await?;
        }
        Ok(())
    }
    /// Whether any node listens to `channel` now, so that a publish there
    /// would reach someone. A broker that cannot tell says yes.
    async fn listened(&self, _channel: &str) -> Result<bool, BrokerError> {
        Ok(true)
    }
    /// Answers when the broker does, with every subscription in place.
    async fn ping(&self) -> Result<(), BrokerError>;
    /// Moves on after every (re)connection of any of the broker's connections,
    /// once its subscriptions are restored: anything published meanwhile may be
    /// lost, and publishes that failed may be retried.
    fn reconnects(&self) -> watch::Receiver<u64>;
}

/// The channel of one ticket's traffic.
pub fn ticket_channel(ticket_id: i64) -> String {
    format!("ticket:{ticket_id}")
}

/// The dashboards' feed channel every feed reads: ticket frames, ratings, and
/// the notices of unassigned tickets (docs/API.md, "The feed").
pub const FEED_QUEUE_CHANNEL: &str = "feed:queue";

/// The notices of every assigned ticket: for feeds of scope `all`.
pub const FEED_TEAM_CHANNEL: &str = "feed:team";

/// The notices of the tickets assigned to one agent: for that agent's feeds of
/// scope `mine`.
pub fn feed_agent_channel(agent_id: i64) -> String {
    format!("{FEED_AGENT_PREFIX}{agent_id}")
}

/// The agent whose notices a channel carries, if it is a
/// [`feed_agent_channel`].
pub fn feed_agent_of(channel: &str) -> Option<i64> {
    channel.strip_prefix(FEED_AGENT_PREFIX)?.parse().ok()
}

const FEED_AGENT_PREFIX: &str = "feed:agent:";

/// Whether a channel is one of the dashboards' feed.
pub fn is_feed_channel(channel: &str) -> bool {
    channel.starts_with("feed:")
}

/// The channel of what nodes tell each other about the service rather than a
/// ticket (agent revocations): every node subscribes to it from its start.
pub const CONTROL_CHANNEL: &str = "control";

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(n: u8) -> Delivery {
        Delivery {
            channel: "ticket:1".into(),
            payload: Bytes::from(vec![n]),
        }
    }

    #[tokio::test]
    async fn a_full_inbox_drops_and_reports_lagged_before_what_is_queued() {
        let (inbox, mut hub) = inbox(2);
        for n in 0..3 {
            inbox.deliver(delivery(n));
        }
        assert!(matches!(hub.recv().await, Some(Received::Lagged)));
        for n in 0..2 {
            match hub.recv().await {
                Some(Received::Delivery(d)) => assert_eq!(d.payload[0], n),
                other => panic!("expected delivery {n}, got {other:?}"),
            }
        }
        inbox.deliver(delivery(9));
        assert!(matches!(hub.recv().await, Some(Received::Delivery(_))));
    }

    #[tokio::test]
    async fn lagged_wakes_a_waiting_hub() {
        let (inbox, mut hub) = inbox(2);
        let waiting = tokio::spawn(async move { hub.recv().await });
        tokio::task::yield_now().await;
        inbox.lagged();
        let got = tokio::time::timeout(std::time::Duration::from_secs(2), waiting)
            .await
            .expect("woken")
            .expect("joined");
        assert!(matches!(got, Some(Received::Lagged)));
    }

    #[test]
    fn an_agent_feed_channel_names_its_agent() {
        assert_eq!(feed_agent_of(&feed_agent_channel(42)), Some(42));
        assert!(is_feed_channel(&feed_agent_channel(42)));
        for other in [
            FEED_QUEUE_CHANNEL,
            FEED_TEAM_CHANNEL,
            "feed:agent:",
            "feed:agent:x",
            "ticket:42",
        ] {
            assert_eq!(feed_agent_of(other), None, "{other}");
        }
    }
}
