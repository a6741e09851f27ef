//! The broker of a cluster of nodes: Redis pub/sub through fred.
//!
//! - Publishing goes through one client whose commands, from every task, are
//!   pipelined on its connection: concurrent chat sends share round trips
//!   instead of each waiting for its own.
//! - Subscribing goes through a second client: the node's one subscriber
//!   connection. The hub subscribes a ticket's channel while the node holds a
//!   socket of the ticket (it counts the sockets, so each channel is subscribed
//!   once); this broker keeps the set of channels it was asked for and, after
//!   every reconnect, subscribes them all again and moves
//!   [`Broker::reconnects`] on, so that the hub reconciles with the store:
//!   whatever was published meanwhile is lost in Redis, never in the store. A
//!   reconnect of the publishing connection moves it on too (the publisher then
//!   retries what failed).
//! - While Redis is unreachable every call fails fast with
//!   [`BrokerError::Unavailable`] instead of queueing: a chat send is stored
//!   before it is published, and must not wait for Redis to come back.
//! - With `REDIS_CLUSTER=true` it uses sharded pub/sub (SPUBLISH/SSUBSCRIBE):
//!   a channel lives on the shard that owns its hash slot, so pub/sub traffic
//!   grows with the shards instead of being broadcast to every one of them.
//!
//! Channel names are `{prefix}ticket:{id}`, the feed's `{prefix}feed:queue`,
//! `{prefix}feed:team` and `{prefix}feed:agent:{id}`, and `{prefix}control`; the prefix
//! (`REDIS_CHANNEL_PREFIX`, empty by default) lets deployments share a Redis.

use super::{Broker, BrokerError, Delivery, Inbox};
use async_trait::async_trait;
use bytes::Bytes;
use fred::prelude::{
    ClientLike, Config as RedisConfig, EventInterface, Options, PubsubInterface, ReconnectPolicy,
    Value,
};
use fred::types::Builder;
use fred::types::RespVersion;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, mpsc, watch};
use tokio_util::sync::CancellationToken;
use upkeep::{
    count_reconnects, forward_deliveries, heartbeat, log_connection_errors, notify_on,
    restore_after_reconnects,
};

mod upkeep;

/// How long a publish, subscribe or ping may take before it counts as failed.
/// A live Redis answers in a millisecond; this bounds a chat send's wait on a
/// silent one.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(1);
/// How long restoring every subscription after a reconnect may take.
const RESTORE_TIMEOUT: Duration = Duration::from_secs(10);
/// Channels per SUBSCRIBE or UNSUBSCRIBE: a restore, or one batch of the hub's
/// changes (plain pub/sub takes many at once).
const RESTORE_BATCH: usize = 500;
/// How long one connection attempt (TCP, TLS, HELLO/AUTH) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Reconnect backoff: the first retry after this many milliseconds, doubling…
const RECONNECT_MIN_DELAY_MS: u32 = 100;
/// …up to this many, forever (a node never gives up on Redis).
const RECONNECT_MAX_DELAY_MS: u32 = 2_000;
/// Random extra delay per attempt, so that nodes do not reconnect in lockstep.
const RECONNECT_JITTER_MS: u32 = 100;
/// A command unanswered for this long makes fred drop the connection and
/// reconnect (the heartbeat keeps one in flight on the idle subscriber).
const UNRESPONSIVE_AFTER: Duration = Duration::from_secs(5);
/// How long start-up waits for the first connection before going on without it
/// (the node then starts not ready, and becomes ready when Redis answers).
const FIRST_CONNECT_WAIT: Duration = Duration::from_secs(5);
/// Deliveries buffered between fred's reader and the forwarding task; a reader
/// that falls further behind loses some, and the hub reconciles every ticket.
const DELIVERY_BUFFER: usize = 16 * 1024;

pub struct RedisBroker {
    /// Publishes and pings; fred pipelines concurrent commands on its connection.
    publisher: fred::clients::Client,
    /// The subscriber connection and the channels it must hold.
    subscriptions: Arc<Subscriptions>,
    /// Sharded pub/sub (Redis Cluster): SPUBLISH instead of PUBLISH.
    sharded: bool,
    /// Prepended to every channel name.
    prefix: String,
    /// The hub's inbox, for what this node publishes while Redis is away.
    inbox: Inbox,
    /// Moves on after every (re)connection of either connection.
    reconnects: watch::Sender<u64>,
    /// Ends the background tasks when the broker is dropped.
    stop: CancellationToken,
}

/// The node's subscriber connection and what it listens to.
struct Subscriptions {
    client: fred::clients::Client,
    sharded: bool,
    /// Channels (prefixed) this node listens to, subscribed again after every
    /// reconnect. The lock is held across the command that applies a change, so
    /// that Redis sees the changes in the order the set made them.
    listening: Mutex<BTreeSet<String>>,
    /// True once the connection is up with every channel restored; false from a
    /// reconnect until the restore is done (readiness).
    restored: AtomicBool,
}

impl RedisBroker {
    /// Connects to `url` (`redis://` or `rediss://`; with `cluster`, any node of a
    /// Redis Cluster), and starts forwarding deliveries to `inbox`. Fails only on
    /// a URL that cannot work; an unreachable Redis is retried in the background
    /// (the node is not ready meanwhile).
    pub async fn connect(
        url: &str,
        cluster: bool,
        prefix: &str,
        inbox: Inbox,
    ) -> Result<Self, BrokerError> {
        let config = if cluster {
            RedisConfig::from_url_clustered(url)
        } else {
            RedisConfig::from_url(url)
        }
        .map_err(|err| BrokerError::Unavailable(format!("REDIS_URL: {err}")))?;
        let publisher = client(config.clone(), RespVersion::RESP2)?;
        // RESP3 lets the subscriber connection answer PING (the heartbeat) while
        // it holds subscriptions.
        let subscriber = client(config, RespVersion::RESP3)?;
        let subscriptions = Arc::new(Subscriptions {
            client: subscriber.clone(),
            sharded: cluster,
            listening: Mutex::new(BTreeSet::new()),
            restored: AtomicBool::new(false),
        });
        let stop = CancellationToken::new();
        let reconnects = watch::Sender::new(0u64);

        // Listen before connecting: the first connection is announced like a
        // reconnect, and restores whatever was subscribed before it came up.
        let (reconnected, reconnects_rx) = mpsc::unbounded_channel();
        tokio::spawn(notify_on(
            subscriber.reconnect_rx(),
            reconnected.clone(),
            stop.clone(),
        ));
        if cluster {
            // A changed topology may have moved channels to other shards.
            tokio::spawn(notify_on(
                subscriber.cluster_change_rx(),
                reconnected,
                stop.clone(),
            ));
        }
        tokio::spawn(forward_deliveries(
            subscriber.message_rx(),
            prefix.to_owned(),
            inbox.clone(),
            stop.clone(),
        ));
        tokio::spawn(restore_after_reconnects(
            subscriptions.clone(),
            reconnects_rx,
            reconnects.clone(),
            stop.clone(),
        ));
        tokio::spawn(count_reconnects(
            publisher.reconnect_rx(),
            reconnects.clone(),
            stop.clone(),
        ));
        tokio::spawn(heartbeat(subscriber.clone(), stop.clone()));
        for (client, role) in [(&publisher, "publisher"), (&subscriber, "subscriber")] {
            tokio::spawn(log_connection_errors(client.error_rx(), role, stop.clone()));
            client.connect();
        }
        let first = async {
            let (p, s) = tokio::join!(publisher.wait_for_connect(), subscriber.wait_for_connect());
            p.and(s)
        };
        match tokio::time::timeout(FIRST_CONNECT_WAIT, first).await {
            Ok(Ok(())) => tracing::info!(cluster, "connected to Redis"),
            Ok(Err(err)) => {
                tracing::warn!(cause = %err, "Redis is not reachable yet: starting not ready")
            }
            Err(_) => tracing::warn!("Redis is not reachable yet: starting not ready"),
        }
        Ok(RedisBroker {
            publisher,
            subscriptions,
            sharded: cluster,
            prefix: prefix.to_owned(),
            inbox,
            reconnects,
            stop,
        })
    }

    fn prefixed(&self, channel: &str) -> String {
        format!("{}{channel}", self.prefix)
    }
}

/// A client that reconnects forever with a short capped backoff, and whose
/// silent connections are detected and replaced.
fn client(
    mut config: RedisConfig,
    version: RespVersion,
) -> Result<fred::clients::Client, BrokerError> {
    // Keep retrying the first connection too: nodes may start before Redis.
    config.fail_fast = false;
    config.version = version;
    let mut policy =
        ReconnectPolicy::new_exponential(0, RECONNECT_MIN_DELAY_MS, RECONNECT_MAX_DELAY_MS, 2);
    policy.set_jitter(RECONNECT_JITTER_MS);
    Builder::from_config(config)
        .set_policy(policy)
        .with_connection_config(|connection| {
            connection.connection_timeout = CONNECT_TIMEOUT;
            connection.internal_command_timeout = CONNECT_TIMEOUT;
            connection.unresponsive.max_timeout = Some(UNRESPONSIVE_AFTER);
            connection.unresponsive.interval = Duration::from_secs(1);
            connection.tcp.nodelay = Some(true);
        })
        .with_performance_config(|performance| {
            performance.broadcast_channel_capacity = DELIVERY_BUFFER;
        })
        .build()
        .map_err(|err| BrokerError::Unavailable(format!("REDIS_URL: {err}")))
}

/// Options of a call on the chat path: fail at once while disconnected, and
/// after [`COMMAND_TIMEOUT`] on a connection that does not answer.
fn fail_fast() -> Options {
    Options {
        fail_fast: true,
        timeout: Some(COMMAND_TIMEOUT),
        ..Options::default()
    }
}

fn unavailable(err: fred::error::Error) -> BrokerError {
    BrokerError::Unavailable(err.to_string())
}

impl Subscriptions {
    /// SUBSCRIBE (or UNSUBSCRIBE) `channels`, sharded when in a cluster.
    async fn send(
        &self,
        channels: Vec<String>,
        subscribe: bool,
        options: &Options,
    ) -> Result<(), fred::error::Error> {
        let client = self.client.with_options(options);
        if self.sharded {
            // One command per channel: the channels of one SSUBSCRIBE must share
            // a hash slot.
            let commands = channels.into_iter().map(|channel| {
                let client = &client;
                async move {
                    if subscribe {
                        client.ssubscribe(channel).await
                    } else {
                        client.sunsubscribe(channel).await
                    }
                }
            });
            futures_util::future::join_all(commands)
                .await
                .into_iter()
                .collect()
        } else {
            for batch in channels.chunks(RESTORE_BATCH) {
                if subscribe {
                    client.subscribe(batch.to_vec()).await?;
                } else {
                    client.unsubscribe(batch.to_vec()).await?;
                }
            }
            Ok(())
        }
    }

    /// Starts or stops listening to `channels`, the ones that change in one
    /// command (per [`RESTORE_BATCH`]; per channel, pipelined, when sharded). The
    /// set changes even when Redis is down: a channel subscribed meanwhile is
    /// subscribed by the restore.
    async fn change(&self, channels: Vec<String>, subscribe: bool) -> Result<(), BrokerError> {
        let mut listening = self.listening.lock().await;
        let changed: Vec<String> = channels
            .into_iter()
            .filter(|channel| {
                if subscribe {
                    listening.insert(channel.clone())
                } else {
                    listening.remove(channel)
                }
            })
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        if !self.client.is_connected() {
            // A fresh connection starts with no subscription; the restore after it
            // subscribes the set.
            return if subscribe {
                Err(BrokerError::Unavailable(
                    "subscriber connection down; subscribed on reconnect".into(),
                ))
            } else {
                Ok(())
            };
        }
        self.send(changed, subscribe, &fail_fast())
            .await
            .map_err(unavailable)
    }

    /// Subscribes every channel of the set on the (new) connection.
    async fn restore(&self) -> Result<usize, fred::error::Error> {
        let listening = self.listening.lock().await;
        let channels: Vec<String> = listening.iter().cloned().collect();
        let count = channels.len();
        // Not fail-fast: the restore starts while the connection is being set up,
        // and its commands wait for it.
        let options = Options {
            timeout: Some(RESTORE_TIMEOUT),
            ..Options::default()
        };
        self.send(channels, true, &options).await?;
        Ok(count)
    }
}

#[async_trait]
impl Broker for RedisBroker {
    /// On failure the envelope still reaches this node's own sockets (the hub
    /// ignores tickets it does not hold): a sender is acknowledged, and the other
    /// sockets of the ticket here carry on. Other nodes find the message by
    /// reconciling with the store; the publisher retries it after a reconnect.
    async fn publish(&self, channel: &str, payload: Bytes) -> Result<(), BrokerError> {
        let client = self.publisher.with_options(&fail_fast());
        let prefixed = self.prefixed(channel);
        let published: Result<i64, _> = if self.sharded {
            client.spublish(prefixed, payload.clone()).await
        } else {
            client.publish(prefixed, payload.clone()).await
        };
        published.map(|_| ()).map_err(|err| {
            self.inbox.deliver(Delivery {
                channel: channel.to_owned(),
                payload,
            });
            unavailable(err)
        })
    }

    async fn subscribe(&self, channel: &str) -> Result<(), BrokerError> {
        self.subscriptions
            .change(vec![self.prefixed(channel)], true)
            .await
    }

    async fn unsubscribe(&self, channel: &str) -> Result<(), BrokerError> {
        self.subscriptions
            .change(vec![self.prefixed(channel)], false)
            .await
    }

    async fn subscribe_many(&self, channels: &[String]) -> Result<(), BrokerError> {
        let prefixed = channels.iter().map(|c| self.prefixed(c)).collect();
        self.subscriptions.change(prefixed, true).await
    }

    async fn unsubscribe_many(&self, channels: &[String]) -> Result<(), BrokerError> {
        let prefixed = channels.iter().map(|c| self.prefixed(c)).collect();
        self.subscriptions.change(prefixed, false).await
    }

    /// PUBSUB NUMSUB (SHARDNUMSUB in a cluster, asked of the channel's shard):
    /// the subscriber connections of every node, this one's included.
    async fn listened(&self, channel: &str) -> Result<bool, BrokerError> {
        let client = self.publisher.with_options(&fail_fast());
        let prefixed = self.prefixed(channel);
        // [channel, count]
        let counts: Result<Vec<Value>, _> = if self.sharded {
            client.pubsub_shardnumsub(prefixed).await
        } else {
            client.pubsub_numsub(prefixed).await
        };
        let counts = counts.map_err(unavailable)?;
        Ok(counts.get(1).and_then(Value::as_i64).is_some_and(|n| n > 0))
    }

    /// Ready when both connections answer and every subscription is restored.
    async fn ping(&self) -> Result<(), BrokerError> {
        if !self.subscriptions.restored.load(Ordering::Acquire) {
            return Err(BrokerError::Unavailable(
                "subscriptions not restored yet".into(),
            ));
        }
        let options = fail_fast();
        let publisher = self.publisher.with_options(&options);
        let subscriber = self.subscriptions.client.with_options(&options);
        let (publisher, subscriber) = tokio::join!(
            publisher.ping::<Value>(None),
            subscriber.ping::<Value>(None)
        );
        publisher.and(subscriber).map(|_| ()).map_err(unavailable)
    }

    fn reconnects(&self) -> watch::Receiver<u64> {
        self.reconnects.subscribe()
    }
}

impl Drop for RedisBroker {
    fn drop(&mut self) {
        self.stop.cancel();
        // Close both connections; without a runtime (process exit) they just drop.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let publisher = self.publisher.clone();
            let subscriber = self.subscriptions.client.clone();
            runtime.spawn(async move {
                let _ = tokio::join!(publisher.quit(), subscriber.quit());
            });
        }
    }
}
