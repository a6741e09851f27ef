//! Chaos mode: during a chat run, cut one node's link to Redis and restore it,
//! several times, while the run checks every delivery as usual.
//!
//! The victim node is started with `REDIS_URL` pointing at `--chaos-redis`'s
//! LISTEN address; `loadtest` runs a [`FaultProxy`] there, forwarding to the
//! real Redis. A cut drops the victim's Redis connections and refuses new ones
//! until the restore, so it neither hears what the other nodes publish nor
//! reaches them with its own messages.
//!
//! - [`Schedule`]: when the cuts happen (pure, unit-tested).
//! - [`summarize`]: which cuts a node's `/api/support/health` noticed and how
//!   soon its broker check was ok again (pure, unit-tested).
//! - [`Chaos`]: the proxy, the cut task and the health watch of a run.

use crate::LoadError;
use crate::client::Node;
use faultproxy::FaultProxy;
use serde::Deserialize;
use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// How long the run waits, before its setup, for every node's health to say
/// the broker is ok (the victim reconnects to the proxy with a backoff of up
/// to 2 s; a node started before the proxy was listening needs that long).
pub const READY_WAIT: Duration = Duration::from_secs(30);
/// How often each node's `/api/support/health` is asked during the run. It is
/// also the resolution of "broker back after".
pub const HEALTH_POLL: Duration = Duration::from_millis(250);
/// How long one health request may take (the node's own checks time out after 2 s).
const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);

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

/// One cut: the link is down from `start_s` to `end_s`, in seconds after the
/// first due send of the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cut {
    pub start_s: f64,
    pub end_s: f64,
}

impl Cut {
    pub fn contains(&self, t_s: f64) -> bool {
        self.start_s <= t_s && t_s < self.end_s
    }
}

/// When the cuts of a run happen: cut *k* (k = 1, 2, …) starts `k × every`
/// seconds into the sending, once the load is steady, and lasts `cut` seconds.
/// Every cut is restored before the last send, so that the drain after it
/// decides what was lost; with no `cuts` count, as many as fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    cuts: Vec<Cut>,
}

impl Schedule {
    pub fn plan(
        duration_s: f64,
        cut_s: f64,
        every_s: f64,
        cuts: Option<u32>,
    ) -> Result<Schedule, LoadError> {
        if !(cut_s.is_finite() && cut_s > 0.0) {
            return Err(LoadError::new(
                "--chaos-cut must be a positive number of seconds",
            ));
        }
        if !(every_s.is_finite() && every_s > cut_s) {
            return Err(LoadError::new(format!(
                "--chaos-every ({every_s} s) must be longer than --chaos-cut ({cut_s} s): cuts must not overlap"
            )));
        }
        if cuts == Some(0) {
            return Err(LoadError::new("--chaos-cuts must be at least 1"));
        }
        let fits = |k: u32| f64::from(k) * every_s + cut_s <= duration_s;
        let wanted = match cuts {
            Some(n) => {
                if !fits(n) {
                    return Err(LoadError::new(format!(
                        "--chaos-cuts {n} with a {cut_s} s cut every {every_s} s needs --duration of at least {} s \
                         (cut k starts k × --chaos-every into the sending and must be restored before the last send)",
                        f64::from(n) * every_s + cut_s
                    )));
                }
                n
            }
            None => {
                let mut n = 0;
                while fits(n + 1) {
                    n += 1;
                }
                if n == 0 {
                    return Err(LoadError::new(format!(
                        "no cut fits in --duration {duration_s} s: the first cut starts at --chaos-every ({every_s} s) \
                         and lasts --chaos-cut ({cut_s} s), so --duration must be at least {} s",
                        every_s + cut_s
                    )));
                }
                n
            }
        };
        let cuts = (1..=wanted)
            .map(|k| {
                let start_s = f64::from(k) * every_s;
                Cut {
                    start_s,
                    end_s: start_s + cut_s,
                }
            })
            .collect();
        Ok(Schedule { cuts })
    }

    pub fn cuts(&self) -> &[Cut] {
        &self.cuts
    }

    /// Whether `t_s` (seconds after the first due send) falls in a cut.
    pub fn during_cut(&self, t_s: f64) -> bool {
        self.cuts.iter().any(|c| c.contains(t_s))
    }

    /// The cuts as half-open windows of nanoseconds since `origin_ns`.
    pub fn windows_ns(&self, origin_ns: u64) -> Vec<(u64, u64)> {
        let ns = |s: f64| origin_ns + (s * 1e9) as u64;
        self.cuts
            .iter()
            .map(|c| (ns(c.start_s), ns(c.end_s)))
            .collect()
    }
}

/// One answer of a node's `/api/support/health`: asked at `t_s` (seconds after
/// the first due send), `broker_ok` when its broker check said "ok".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthSample {
    pub node: usize,
    pub t_s: f64,
    pub broker_ok: bool,
}

/// What the nodes' health said about one performed cut.
#[derive(Debug, Clone, PartialEq)]
pub struct CutSeen {
    /// Nodes (index in `--url`) whose broker check was not ok during the cut.
    pub noticed_by: Vec<usize>,
    /// Seconds from the restore to the first health answer, from each node that
    /// noticed, that said the broker was ok again (the slowest node); `None`
    /// when nobody noticed the cut, or one of them was never ok again before
    /// the next cut or the end.
    pub back_after_s: Option<f64>,
}

/// For each cut as performed, which nodes noticed it and how soon they were
/// ok again. A sample belongs to a cut when it was asked while the link was
/// down; recovery is looked for between the restore and the next cut.
pub fn summarize(cuts: &[Cut], samples: &[HealthSample]) -> Vec<CutSeen> {
    cuts.iter()
        .enumerate()
        .map(|(i, cut)| {
            let mut noticed_by: Vec<usize> = samples
                .iter()
                .filter(|s| cut.contains(s.t_s) && !s.broker_ok)
                .map(|s| s.node)
                .collect();
            noticed_by.sort_unstable();
            noticed_by.dedup();
            let next_start = cuts.get(i + 1).map_or(f64::INFINITY, |c| c.start_s);
            let back = |node: usize| {
                samples
                    .iter()
                    .filter(|s| s.node == node && s.broker_ok)
                    .filter(|s| s.t_s >= cut.end_s && s.t_s < next_start)
                    .map(|s| s.t_s - cut.end_s)
                    .reduce(f64::min)
            };
            let back_after_s = if noticed_by.is_empty() {
                None
            } else {
                noticed_by
                    .iter()
                    .map(|&n| back(n))
                    .try_fold(0.0_f64, |worst, b| b.map(|b| worst.max(b)))
            };
            CutSeen {
                noticed_by,
                back_after_s,
            }
        })
        .collect()
}

#[derive(Deserialize)]
struct Health {
    checks: HealthChecks,
}

#[derive(Deserialize)]
struct HealthChecks {
    broker: String,
}

/// The broker check of a node's `/api/support/health` (answered 200 or 503);
/// `None` when the node did not answer with a health body.
pub async fn broker_check(http: &reqwest::Client, node: &Node) -> Option<String> {
    let response = http
        .get(format!("{}/api/support/health", node.base))
        .timeout(HEALTH_TIMEOUT)
        .send()
        .await
        .ok()?;
    let health: Health = response.json().await.ok()?;
    Some(health.checks.broker)
}

/// Waits until every node's health says the broker is ok, up to [`READY_WAIT`].
pub async fn wait_until_brokers_ok(
    http: &reqwest::Client,
    nodes: &[Node],
) -> Result<(), LoadError> {
    let deadline = Instant::now() + READY_WAIT;
    loop {
        let mut not_ok = Vec::new();
        for (n, node) in nodes.iter().enumerate() {
            let check = broker_check(http, node).await;
            if check.as_deref() != Some("ok") {
                not_ok.push(format!(
                    "node {} ({}): broker {}",
                    n + 1,
                    node.base,
                    check.as_deref().unwrap_or("(no health answer)")
                ));
            }
        }
        if not_ok.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(LoadError::new(format!(
                "before the chaos run, /api/support/health did not say the broker is ok within {} s: {}. \
                 Is the victim node started with REDIS_URL=redis://LISTEN of --chaos-redis, and is Redis up?",
                READY_WAIT.as_secs(),
                not_ok.join("; ")
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
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

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starts(schedule: &Schedule) -> Vec<(f64, f64)> {
        schedule
            .cuts()
            .iter()
            .map(|c| (c.start_s, c.end_s))
            .collect()
    }

    #[test]
    fn the_first_cut_starts_one_period_in_and_as_many_as_fit_follow() {
        let s = Schedule::plan(60.0, 5.0, 15.0, None).unwrap();
        assert_eq!(starts(&s), [(15.0, 20.0), (30.0, 35.0), (45.0, 50.0)]);
        // A cut ending exactly at the last send still fits.
        let s = Schedule::plan(15.0, 2.0, 5.0, None).unwrap();
        assert_eq!(starts(&s), [(5.0, 7.0), (10.0, 12.0)]);
        let s = Schedule::plan(12.0, 2.0, 5.0, None).unwrap();
        assert_eq!(starts(&s), [(5.0, 7.0), (10.0, 12.0)]);
        let s = Schedule::plan(11.9, 2.0, 5.0, None).unwrap();
        assert_eq!(starts(&s), [(5.0, 7.0)]);
    }

    #[test]
    fn a_cut_count_is_kept_or_refused_with_the_duration_it_needs() {
        let s = Schedule::plan(60.0, 5.0, 15.0, Some(2)).unwrap();
        assert_eq!(starts(&s), [(15.0, 20.0), (30.0, 35.0)]);
        let err = Schedule::plan(40.0, 5.0, 15.0, Some(3)).unwrap_err();
        assert!(err.to_string().contains("at least 50 s"), "{err}");
    }

    #[test]
    fn schedules_that_cannot_work_are_refused() {
        let cases: &[(f64, f64, f64, Option<u32>, &str)] = &[
            (10.0, 5.0, 15.0, None, "at least 20 s"),
            (60.0, 0.0, 15.0, None, "--chaos-cut must be"),
            (60.0, f64::NAN, 15.0, None, "--chaos-cut must be"),
            (60.0, 5.0, 5.0, None, "must not overlap"),
            (60.0, 5.0, 2.0, None, "must not overlap"),
            (60.0, 5.0, 15.0, Some(0), "at least 1"),
        ];
        for &(duration, cut, every, count, expected) in cases {
            let err = Schedule::plan(duration, cut, every, count)
                .expect_err(&format!("{duration} {cut} {every} {count:?} is refused"));
            assert!(
                err.to_string().contains(expected),
                "{duration} {cut} {every} {count:?}: {err}"
            );
        }
    }

    #[test]
    fn messages_are_attributed_to_a_cut_by_a_half_open_window() {
        let s = Schedule::plan(15.0, 2.0, 5.0, None).unwrap();
        for (t, during) in [
            (4.999, false),
            (5.0, true),
            (6.9, true),
            (7.0, false),
            (10.5, true),
            (14.0, false),
        ] {
            assert_eq!(s.during_cut(t), during, "t = {t}");
        }
        assert_eq!(
            s.windows_ns(200_000_000),
            [
                (5_200_000_000, 7_200_000_000),
                (10_200_000_000, 12_200_000_000)
            ]
        );
    }

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

    fn sample(node: usize, t_s: f64, broker_ok: bool) -> HealthSample {
        HealthSample {
            node,
            t_s,
            broker_ok,
        }
    }

    #[test]
    fn a_cut_is_noticed_by_the_nodes_whose_broker_check_failed_during_it() {
        let cuts = [
            Cut {
                start_s: 5.0,
                end_s: 7.0,
            },
            Cut {
                start_s: 10.0,
                end_s: 12.0,
            },
        ];
        let samples = [
            sample(0, 4.5, true),
            sample(1, 4.5, true),
            sample(1, 5.5, false), // the victim, during cut 1
            sample(0, 5.5, true),
            sample(1, 7.25, false), // still reconnecting
            sample(1, 7.5, true),   // back 0.5 s after the restore
            sample(1, 9.0, true),
            sample(0, 10.0, true),  // cut 2: the victim's checks never answered
            sample(1, 13.0, false), // after cut 2: not back before the end
        ];
        let seen = summarize(&cuts, &samples);
        assert_eq!(
            seen[0],
            CutSeen {
                noticed_by: vec![1],
                back_after_s: Some(0.5)
            }
        );
        assert_eq!(
            seen[1],
            CutSeen {
                noticed_by: vec![],
                back_after_s: None
            },
            "nobody noticed"
        );
        let late = [sample(1, 11.0, false), sample(1, 13.0, false)];
        assert_eq!(summarize(&cuts, &late)[1].back_after_s, None);
    }
}
