//! The in-process broker of a single node: a publish is a delivery to this node's
//! own inbox when it is subscribed to the channel.

use super::{Broker, BrokerError, Delivery, Inbound, Inbox};
use async_trait::async_trait;
use bytes::Bytes;
use std::collections::HashSet;
use std::sync::Mutex;

pub struct LocalBroker {
    /// Where deliveries go (the hub's inbox).
    inbox: Inbox,
    /// Channels this node listens to.
    subscribed: Mutex<HashSet<String>>,
}

impl LocalBroker {
    pub fn new(inbox: Inbox) -> Self {
        LocalBroker {
            inbox,
            subscribed: Mutex::new(HashSet::new()),
        }
    }
}

#[async_trait]
impl Broker for LocalBroker {
    async fn publish(&self, channel: &str, payload: Bytes) -> Result<(), BrokerError> {
        let listening = self
            .subscribed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .contains(channel);
        if listening {
            // The receiver lives as long as the hub; after shutdown there is nobody to tell.
            let _ = self.inbox.send(Inbound::Delivery(Delivery {
                channel: channel.to_owned(),
                payload,
            }));
        }
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> Result<(), BrokerError> {
        self.subscribed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(channel.to_owned());
        Ok(())
    }

    async fn unsubscribe(&self, channel: &str) -> Result<(), BrokerError> {
        self.subscribed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(channel);
        Ok(())
    }

    async fn ping(&self) -> Result<(), BrokerError> {
        Ok(())
    }
}
