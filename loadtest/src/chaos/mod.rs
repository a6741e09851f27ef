//! Chaos mode: during a chat run, cut one node's link to Redis and restore it,
//! several times, while the run checks every delivery as usual.
//!
//! The victim node is started with `REDIS_URL` pointing at `--chaos-redis`'s
//! LISTEN address; `loadtest` runs a [`FaultProxy`] there, forwarding to the
//! real Redis. A cut drops the victim's Redis connections and refuses new ones
//! until the restore, so it neither hears what the other nodes publish nor
//! reaches them with its own messages.
//!
//! - [`schedule`]: when the cuts happen (pure, unit-tested).
//! - [`health`]: asking the nodes' `/api/support/health`, and which cuts they
//!   noticed and how soon their broker check was ok again (the summary is
//!   pure, unit-tested).
//! - [`Chaos`] (here): the proxy, the cut task and the health watch of a run.

pub mod health;
pub mod schedule;

pub use health::{CutSeen, HealthSample, wait_until_brokers_ok};
pub use schedule::{Cut, Schedule};

use crate::LoadError;
use crate::client::Node;
use crate::lock;
use faultproxy::FaultProxy;
use health::{HEALTH_POLL, broker_check, summarize};
use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// `--chaos-redis LISTEN=UPSTREAM`: where the proxy listens (the victim's
/// `REDIS_URL`) and the real Redis it forwards to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedisLink {
    pub listen: SocketAddr,
    pub upstream: SocketAddr,
}

impl FromStr for RedisLink {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (listen, upstream) = text.split_once('=').ok_or_else(|| {
            format!("{text:?} is not LISTEN=UPSTREAM, e.g. 127.0.0.1:6380=127.0.0.1:6379")
        })?;
        let resolve = |what: &str, addr: &str| -> Result<SocketAddr, String> {
            addr.trim()
                .to_socket_addrs()
                .map_err(|e| format!("{what} {addr:?}: {e} (want HOST:PORT)"))?
                .next()
                .ok_or_else(|| format!("{what} {addr:?} resolves to no address"))
        };
        Ok(RedisLink {
            listen: resolve("LISTEN", listen)?,
            upstream: resolve("UPSTREAM", upstream)?,
        })
    }
}

impl fmt::Display for RedisLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.listen, self.upstream)
    }
}

/// A cut as it was performed, in seconds after the first due send.
pub type PerformedCuts = Arc<Mutex<Vec<Cut>>>;

/// The chaos side of one run: the proxy, and once started, the cut task and
/// the health watch.
pub struct Chaos {
    /// The victim's way to Redis; dropped (and so cut for good) when the run ends.
    proxy: Arc<FaultProxy>,
    pub link: RedisLink,
    pub schedule: Schedule,
    /// The cuts as the cut task performed them (measured, not planned).
    performed: PerformedCuts,
    /// Every health answer of the run.
    samples: Arc<Mutex<Vec<HealthSample>>>,
    tasks: Vec<JoinHandle<()>>,
}

/// What a finished chaos run did and saw.
#[derive(Debug, Clone, PartialEq)]
pub struct ChaosOutcome {
    pub performed: Vec<Cut>,
    pub seen: Vec<CutSeen>,
}

impl Chaos {
    /// Starts the proxy on `link.listen` (the link is up until the first cut).
    pub async fn start(link: RedisLink, schedule: Schedule) -> Result<Chaos, LoadError> {
        let proxy = FaultProxy::start_on(link.listen, link.upstream)
            .await
            .map_err(|e| {
                LoadError::new(format!(
                    "--chaos-redis: cannot listen on {}: {e}",
                    link.listen
                ))
            })?;
        Ok(Chaos {
            proxy: Arc::new(proxy),
            link,
            schedule,
            performed: Arc::default(),
            samples: Arc::default(),
            tasks: Vec::new(),
        })
    }

    /// Starts cutting on the schedule and watching the nodes' health; `origin`
    /// is the instant of the first due send.
    pub fn run(&mut self, origin: Instant, http: reqwest::Client, nodes: &[Node], progress: bool) {
        let (proxy, performed) = (self.proxy.clone(), self.performed.clone());
        let planned = self.schedule.cuts().to_vec();
        self.tasks.push(tokio::spawn(async move {
            let since = |at: Instant| at.saturating_duration_since(origin).as_secs_f64();
            for cut in planned {
                tokio::time::sleep_until((origin + Duration::from_secs_f64(cut.start_s)).into())
                    .await;
                proxy.cut();
                let start_s = since(Instant::now());
                if progress {
                    eprintln!("[{start_s:>6.1} s] chaos: Redis link cut");
                }
                tokio::time::sleep_until((origin + Duration::from_secs_f64(cut.end_s)).into())
                    .await;
                proxy.restore();
                let end_s = since(Instant::now());
                if progress {
                    eprintln!("[{end_s:>6.1} s] chaos: Redis link restored");
                }
                lock(&performed).push(Cut { start_s, end_s });
            }
        }));
        for (n, node) in nodes.iter().enumerate() {
            let (http, node, samples) = (http.clone(), node.clone(), self.samples.clone());
            self.tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(HEALTH_POLL);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    let asked = Instant::now();
                    // Each request on its own task: a check that hangs for its
                    // timeout during a cut does not space out the next ones.
                    let (http, node, samples) = (http.clone(), node.clone(), samples.clone());
                    tokio::spawn(async move {
                        let check = broker_check(&http, &node).await;
                        // No answer at all says nothing about the broker.
                        if let Some(check) = check {
                            lock(&samples).push(HealthSample {
                                node: n,
                                t_s: asked.saturating_duration_since(origin).as_secs_f64(),
                                broker_ok: check == "ok",
                            });
                        }
                    });
                }
            }));
        }
    }

    /// Ends the cut task and the watch (the link is restored by then: every cut
    /// ends before the last send) and says what happened.
    pub fn finish(self) -> ChaosOutcome {
        for task in &self.tasks {
            task.abort();
        }
        // A run cut short still leaves the link up for what remains of it.
        self.proxy.restore();
        let performed = lock(&self.performed).clone();
        let samples = lock(&self.samples).clone();
        let seen = summarize(&performed, &samples);
        ChaosOutcome { performed, seen }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redis_link_is_listen_equals_upstream() {
        let link: RedisLink = "127.0.0.1:6380=127.0.0.1:6379".parse().unwrap();
        assert_eq!(link.listen, "127.0.0.1:6380".parse().unwrap());
        assert_eq!(link.upstream, "127.0.0.1:6379".parse().unwrap());
        assert_eq!(link.to_string(), "127.0.0.1:6380=127.0.0.1:6379");
        for bad in ["127.0.0.1:6380", "127.0.0.1=127.0.0.1:6379", "x:y=z"] {
            assert!(bad.parse::<RedisLink>().is_err(), "{bad}");
        }
    }
}
