//! The in-process broker of a single node: a publish is a delivery to this node's
//! own inbox when it is subscribed to the channel.

use super::{Broker, BrokerError, Delivery, Inbox};
use async_trait::async_trait;
use bytes::Bytes;
use std::collections::HashSet;
use std::sync::Mutex;
use tokio::sync::watch;

pub struct LocalBroker {
    /// Where deliveries go (the hub's inbox).
    inbox: Inbox,
    /// Channels this node listens to.
    subscribed: Mutex<HashSet<String>>,
    /// Never moves: there is no connection to lose.
    reconnects: watch::Sender<u64>,
}

impl LocalBroker {
    pub fn new(inbox: Inbox) -> Self {
        LocalBroker {
            inbox,
            subscribed: Mutex::new(HashSet::new()),
            reconnects: watch::Sender::new(0),
        }
    }

    fn channels(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.subscribed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl Broker for LocalBroker {
    async fn publish(&self, channel: &str, payload: Bytes) -> Result<(), BrokerError> {
        if self.channels().contains(channel) {
            self.inbox.deliver(Delivery {
                channel: channel.to_owned(),
                payload,
            });
        }
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> Result<(), BrokerError> {
        self.channels().insert(channel.to_owned());
        Ok(())
    }

    async fn unsubscribe(&self, channel: &str) -> Result<(), BrokerError> {
        self.channels().remove(channel);
        Ok(())
    }

    async fn subscribe_many(&self, channels: &[String]) -> Result<(), BrokerError> {
        self.channels().extend(channels.iter().cloned());
        Ok(())
    }

    async fn unsubscribe_many(&self, channels: &[String]) -> Result<(), BrokerError> {
        let mut subscribed = self.channels();
        for channel in channels {
            subscribed.remove(channel);
        }
        Ok(())
    }

    async fn listened(&self, channel: &str) -> Result<bool, BrokerError> {
        Ok(self.channels().contains(channel))
    }

    async fn ping(&self) -> Result<(), BrokerError> {
        Ok(())
    }

    fn reconnects(&self) -> watch::Receiver<u64> {
        self.reconnects.subscribe()
    }
}
