//! loadtest: an open-loop load generator for livesupport.
//!
//! A chat run creates `--tickets` tickets through the REST API, opens a visitor
//! socket and an agent socket on each (round-robin over the `--url` nodes, so the
//! two parties of a ticket sit on different nodes when there are several), sends
//! `--rate` chat messages a second in total, alternating sides, on a fixed
//! schedule for `--duration` seconds, and checks every delivery by seq. An idle
//! run (`--idle N`) opens N visitor sockets and holds them. A chaos run
//! (`--chaos-redis`) is a chat run during which one node's link to Redis is cut
//! and restored on a schedule. A routing run (`--routing`) creates agents with
//! a capacity, brings them online, lets visitors arrive, and measures automatic
//! assignment and proves its bound (issue 16). A storm run (`--storm N`)
//! primes N tickets, then reconnects N visitor sockets at once, each resuming
//! with `since`, and measures the time to `ready` (issue 20). A chat run with
//! `--dashboards N` also holds N agent feeds open and measures what they carry
//! (issue 20: coalesced `notices`).
//!
//! - [`accounting`]: seq checks, the per-message ledger, latency histograms and
//!   the [`Report`] (pure, unit-tested).
//! - [`client`]: REST calls and opening a socket up to `ready`.
//! - `chat`, `idle` and `storm`: the socket runs.
//! - [`dashboards`]: the agent feeds of a chat run's `--dashboards`.
//! - [`chaos`]: the cut schedule, the Redis proxy and the health watch of a
//!   chaos run.
//! - [`routing`]: the routing run, its held-ticket tracker and its report.
//! - [`output`]: the human table, the progress line and the JSON line.
//!
//! [`run`] is what the binary calls and what tests call in-process.

pub mod accounting;
pub mod chaos;
mod chat;
pub mod client;
pub mod dashboards;
mod idle;
pub mod output;
pub mod routing;
mod storm;
mod system;

pub use accounting::{ChaosReport, Latency, Report, StormReport};
pub use chaos::RedisLink;
pub use dashboards::DashboardsReport;

use clap::Parser;
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

/// Locks a mutex whose data stays usable after a panic elsewhere (the run's
/// counters are plain numbers: a poisoned lock loses nothing).
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Most messages one run schedules (the ledger keeps 16 bytes for each).
const MAX_MESSAGES: f64 = 50_000_000.0;

/// Most agents a routing run creates (each logs in once: see
/// `LOGIN_IP_RATE_PER_MINUTE` in docs/LOADTEST.md).
const MAX_ROUTING_AGENTS: usize = 500;

/// livesupport load generator: opens tickets, chats on both sides at a fixed
/// rate, and checks every delivery by seq.
///
/// The target nodes must be started with high rate limits, e.g.
/// TICKET_RATE_PER_MINUTE=1000000 MESSAGE_BURST=100000 MESSAGE_RATE_PER_SECOND=100000
/// MESSAGE_TICKET_RATE_PER_MINUTE=1000000 MESSAGE_IP_RATE_PER_MINUTE=1000000
/// MAX_SOCKETS_PER_IP=100000 (see docs/LOADTEST.md). Exit status: 0 when nothing was lost, duplicated,
/// out of order and no error happened; 1 otherwise; 2 when the run could not start.
#[derive(Debug, Clone, Parser)]
#[command(name = "loadtest", version, about, long_about)]
pub struct Options {
    /// Base URL of each node (comma list), e.g. http://127.0.0.1:5000,http://127.0.0.1:5001.
    #[arg(long, env = "LOADTEST_URL", value_delimiter = ',', required = true)]
    pub url: Vec<String>,
    /// Email of the agent whose supporter sockets answer (needed for chat runs).
    #[arg(long, env = "LOADTEST_AGENT_EMAIL")]
    pub agent_email: Option<String>,
    /// That agent's password.
    #[arg(long, env = "LOADTEST_AGENT_PASSWORD", hide_env_values = true)]
    pub agent_password: Option<String>,
    /// Tickets to create; each gets a visitor socket and an agent socket.
    #[arg(long, env = "LOADTEST_TICKETS", default_value_t = 10)]
    pub tickets: usize,
    /// Chat messages a second, in total over all tickets and both sides.
    #[arg(long, env = "LOADTEST_RATE", default_value_t = 100.0)]
    pub rate: f64,
    /// Seconds to send for (chat), or to hold the sockets (idle).
    #[arg(long, env = "LOADTEST_DURATION", default_value_t = 10.0)]
    pub duration: f64,
    /// Idle run: open this many visitor sockets (one ticket each) and hold them
    /// for --duration seconds, sending nothing.
    #[arg(long, env = "LOADTEST_IDLE")]
    pub idle: Option<usize>,
    /// Seconds to wait after the last send for deliveries still on the way;
    /// a message not delivered by then is lost.
    #[arg(long, env = "LOADTEST_DRAIN", default_value_t = 5.0)]
    pub drain: f64,
    /// Tickets created and sockets opened at once while setting up.
    #[arg(long, env = "LOADTEST_CONCURRENCY", default_value_t = 32)]
    pub concurrency: usize,
    /// Length of each chat message's text, in bytes.
    #[arg(long, env = "LOADTEST_MESSAGE_BYTES", default_value_t = 64)]
    pub message_bytes: usize,
    /// Local addresses to spread the sockets over (comma list), e.g.
    /// 127.0.0.1,127.0.0.2: each gives ~28k more ports to one target port.
    #[arg(long, env = "LOADTEST_SOURCE_IPS", value_delimiter = ',')]
    pub source_ips: Vec<IpAddr>,
    /// Chaos run: LISTEN=UPSTREAM, e.g. 127.0.0.1:6380=127.0.0.1:6379. loadtest
    /// runs a TCP proxy on LISTEN to the Redis at UPSTREAM and cuts it on the
    /// schedule below; start ONE node (the victim) with REDIS_URL=redis://LISTEN
    /// and the others with the real Redis. Needs at least 2 --url nodes.
    #[arg(long, env = "LOADTEST_CHAOS_REDIS", value_name = "LISTEN=UPSTREAM")]
    pub chaos_redis: Option<RedisLink>,
    /// Chaos run: seconds each cut of the Redis link lasts.
    #[arg(long, env = "LOADTEST_CHAOS_CUT", default_value_t = 5.0)]
    pub chaos_cut: f64,
    /// Chaos run: seconds from one cut's start to the next; the first cut
    /// starts this long after the first send.
    #[arg(long, env = "LOADTEST_CHAOS_EVERY", default_value_t = 15.0)]
    pub chaos_every: f64,
    /// Chaos run: cuts to perform (default: as many as fit in --duration, each
    /// restored before the last send).
    #[arg(long, env = "LOADTEST_CHAOS_CUTS")]
    pub chaos_cuts: Option<u32>,
    /// Chaos run: the drain after the last send lasts at least this many
    /// seconds (the larger of it and --drain), so that the last restore is
    /// followed by more than the 5 s in which every message is promised.
    #[arg(long, env = "LOADTEST_CHAOS_DRAIN", default_value_t = 10.0)]
    pub chaos_drain: f64,
    /// Routing run (issue 16): create --agents agents with --max-chats each,
    /// bring them online, let visitors arrive at --visitor-rate a second for
    /// --duration seconds, and check automatic assignment. --agent-email must
    /// be an admin.
    #[arg(long, env = "LOADTEST_ROUTING")]
    pub routing: bool,
    /// Routing run: agents to create, each with a dashboard feed open.
    #[arg(long, env = "LOADTEST_AGENTS", default_value_t = 5)]
    pub agents: usize,
    /// Routing run: each agent's max_chats (1 to 50).
    #[arg(long, env = "LOADTEST_MAX_CHATS", default_value_t = 3)]
    pub max_chats: u32,
    /// Routing run: visitors arriving a second (each opens a ticket).
    #[arg(long, env = "LOADTEST_VISITOR_RATE", default_value_t = 2.0)]
    pub visitor_rate: f64,
    /// Routing run: how visitors arrive, `fixed` (every 1/rate s) or `poisson`.
    #[arg(long, env = "LOADTEST_ARRIVALS", value_enum, default_value_t = routing::Arrivals::Fixed)]
    pub arrivals: routing::Arrivals,
    /// Routing run: mean seconds an agent holds a chat before resolving it
    /// (exponentially distributed; 0 resolves at once after the reply).
    #[arg(long, env = "LOADTEST_HOLD", default_value_t = 5.0)]
    pub hold: f64,
    /// Routing run: seed of the Poisson arrivals and of each visitor's hold time.
    #[arg(long, env = "LOADTEST_SEED", default_value_t = 1)]
    pub seed: u64,
    /// Storm run (issue 20): prime N tickets (a visitor socket each sends one
    /// message and closes), then open N visitor sockets at once, each resuming
    /// its ticket with `since` just before that message, and time each one
    /// from the storm's start to `ready`.
    #[arg(long, env = "LOADTEST_STORM")]
    pub storm: Option<usize>,
    /// Chat run (issue 20): also open N agent feeds (`/ws/support/agent`, as
    /// the run's agent, round-robin over the nodes) before the first send,
    /// read them through the run, and report their frames, `notices` and the
    /// notices' lag. 0: none.
    #[arg(long, env = "LOADTEST_DASHBOARDS", default_value_t = 0)]
    pub dashboards: usize,
    /// Print only the report as one JSON line (no progress, no table).
    #[arg(long)]
    pub json: bool,
}

impl Options {
    fn validate(&self) -> Result<(), LoadError> {
        if self.url.iter().all(|u| u.trim().is_empty()) {
            return Err(LoadError::new("--url needs at least one node"));
        }
        if !(self.duration.is_finite() && self.duration > 0.0) {
            return Err(LoadError::new(
                "--duration must be a positive number of seconds",
            ));
        }
        if !(self.drain.is_finite() && self.drain >= 0.0) {
            return Err(LoadError::new("--drain must be zero or more seconds"));
        }
        if self.concurrency == 0 {
            return Err(LoadError::new("--concurrency must be at least 1"));
        }
        if self.dashboards > 0 && (self.routing || self.storm.is_some() || self.idle.is_some()) {
            return Err(LoadError::new(
                "--dashboards is for chat runs: drop --routing, --storm and --idle",
            ));
        }
        if self.routing {
            return self.validate_routing();
        }
        if let Some(storm) = self.storm {
            if self.idle.is_some() || self.chaos_redis.is_some() {
                return Err(LoadError::new(
                    "--storm is a run of its own: drop --idle and --chaos-redis",
                ));
            }
            if storm == 0 {
                return Err(LoadError::new("--storm must be at least 1"));
            }
            return Ok(());
        }
        if self.chaos_redis.is_some() {
            if self.idle.is_some() {
                return Err(LoadError::new(
                    "--chaos-redis is for chat runs: drop --idle",
                ));
            }
            let nodes = self.url.iter().filter(|u| !u.trim().is_empty()).count();
            if nodes < 2 {
                return Err(LoadError::new(format!(
                    "--chaos-redis needs at least 2 --url nodes (got {nodes}): the victim behind the proxy \
                     and at least one node on the real Redis, so that messages cross the broker"
                )));
            }
            if !(self.chaos_drain.is_finite() && self.chaos_drain >= 0.0) {
                return Err(LoadError::new("--chaos-drain must be zero or more seconds"));
            }
            self.chaos_schedule()?;
        }
        match self.idle {
            Some(0) => Err(LoadError::new("--idle must be at least 1")),
            Some(_) => Ok(()),
            None => {
                if self.tickets == 0 {
                    return Err(LoadError::new("--tickets must be at least 1"));
                }
                if !(self.rate.is_finite() && self.rate > 0.0) {
                    return Err(LoadError::new("--rate must be a positive number"));
                }
                if self.rate * self.duration > MAX_MESSAGES {
                    return Err(LoadError::new(format!(
                        "--rate × --duration is over {MAX_MESSAGES} messages: split the run"
                    )));
                }
                if self.agent_email.is_none() || self.agent_password.is_none() {
                    return Err(LoadError::new(
                        "a chat run needs --agent-email and --agent-password (or LOADTEST_AGENT_EMAIL / LOADTEST_AGENT_PASSWORD)",
                    ));
                }
                if !(1..=1000).contains(&self.message_bytes) {
                    return Err(LoadError::new("--message-bytes must be 1 to 1000"));
                }
                Ok(())
            }
        }
    }

    fn validate_routing(&self) -> Result<(), LoadError> {
        if self.idle.is_some() || self.chaos_redis.is_some() {
            return Err(LoadError::new(
                "--routing is a run of its own: drop --idle and --chaos-redis",
            ));
        }
        if !(1..=MAX_ROUTING_AGENTS).contains(&self.agents) {
            return Err(LoadError::new(format!(
                "--agents must be 1 to {MAX_ROUTING_AGENTS}"
            )));
        }
        if !(1..=50).contains(&self.max_chats) {
            return Err(LoadError::new(
                "--max-chats must be 1 to 50 (0 would never auto-assign)",
            ));
        }
        if !(self.visitor_rate.is_finite() && self.visitor_rate > 0.0) {
            return Err(LoadError::new("--visitor-rate must be a positive number"));
        }
        if self.visitor_rate * self.duration > routing::MAX_VISITORS as f64 {
            return Err(LoadError::new(format!(
                "--visitor-rate × --duration is over {} visitors: split the run",
                routing::MAX_VISITORS
            )));
        }
        if !(self.hold.is_finite() && self.hold >= 0.0) {
            return Err(LoadError::new("--hold must be zero or more seconds"));
        }
        if self.agent_email.is_none() || self.agent_password.is_none() {
            return Err(LoadError::new(
                "a routing run needs an admin's --agent-email and --agent-password (it creates the agents)",
            ));
        }
        Ok(())
    }

    /// The cut schedule of a chaos run (`None` for other runs).
    fn chaos_schedule(&self) -> Result<Option<chaos::Schedule>, LoadError> {
        if self.chaos_redis.is_none() {
            return Ok(None);
        }
        chaos::Schedule::plan(
            self.duration,
            self.chaos_cut,
            self.chaos_every,
            self.chaos_cuts,
        )
        .map(Some)
    }

    /// Seconds of drain after the last send: `--drain`, and in a chaos run at
    /// least `--chaos-drain`.
    fn drain_grace(&self) -> f64 {
        if self.chaos_redis.is_some() {
            self.drain.max(self.chaos_drain)
        } else {
            self.drain
        }
    }

    /// The local address for the `n`th socket, if any were given.
    fn source_ip(&self, n: usize) -> Option<IpAddr> {
        if self.source_ips.is_empty() {
            None
        } else {
            Some(self.source_ips[n % self.source_ips.len()])
        }
    }

    fn progress(&self) -> bool {
        !self.json
    }
}

/// Why a run could not be done (exit status 2).
#[derive(Debug, Clone)]
pub struct LoadError(String);

impl LoadError {
    pub fn new(message: impl Into<String>) -> Self {
        LoadError(message.into())
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoadError {}

/// What kind of run it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Chat,
    Idle,
    Routing,
    Storm,
}

/// What the report's fixed keys leave out; shown in the human table (and on
/// stderr with `--json`).
#[derive(Debug, Clone, PartialEq)]
pub struct Details {
    pub mode: Mode,
    pub nodes: usize,
    pub rate: f64,
    pub duration_s: f64,
    /// Sends the sender saw come back as its own copy (stored).
    pub acknowledged: u64,
    /// Sends answered with an `error` frame (not stored).
    pub refused: u64,
    /// Sends neither acknowledged nor refused by the end.
    pub unacknowledged: u64,
    /// Seqs that never arrived, summed over the sockets.
    pub missing_seqs: u64,
    /// How late the sends were against the schedule (ms).
    pub lag_ms: Latency,
    /// Seconds from the first due send to the last delivery.
    pub elapsed_s: f64,
    /// Errors by kind (error frame code, `closed 1013`, `resync_required`, …).
    pub error_kinds: BTreeMap<String, u64>,
    /// Idle runs: sockets opened, and still open at the end.
    pub opened: u64,
    /// Seconds the setup (tickets, sockets) took.
    pub setup_s: f64,
    /// The drain grace after the last send, in seconds.
    pub drain_s: f64,
    /// Chaos runs: what was cut, how, and what the nodes' health said.
    pub chaos: Option<ChaosDetails>,
    /// Routing runs: what the report's routing section leaves out.
    pub routing: Option<RoutingDetails>,
}

/// The routing run's figures that the report's routing section leaves out.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingDetails {
    /// Mean hold time, seconds.
    pub hold_s: f64,
    pub arrivals: routing::Arrivals,
    /// REST samples of the agents list taken.
    pub samples: u64,
    /// Tickets moved between agents without the queue: (ticket, from, to).
    pub reassigned: Vec<(i64, i64, i64)>,
    /// Agents above their max_chats.
    pub over_capacity: Vec<i64>,
}

/// The chaos run's figures that the report's chaos section leaves out.
#[derive(Debug, Clone, PartialEq)]
pub struct ChaosDetails {
    pub link: RedisLink,
    pub cut_s: f64,
    pub every_s: f64,
    /// Each cut as performed, and what the nodes' health said about it.
    pub cuts: Vec<(chaos::Cut, chaos::CutSeen)>,
}

/// A finished run.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub report: Report,
    pub details: Details,
}

/// Runs the load as `options` say and returns the report. Progress goes to
/// stderr unless `--json`.
pub async fn run(options: &Options) -> Result<Outcome, LoadError> {
    options.validate()?;
    let mut nodes = Vec::new();
    for url in options.url.iter().filter(|u| !u.trim().is_empty()) {
        nodes.push(client::Node::resolve(url).await?);
    }
    if options.routing {
        return routing::run(options, &nodes).await;
    }
    if let Some(sockets) = options.storm {
        return storm::run(options, &nodes, sockets).await;
    }
    match options.idle {
        Some(sockets) => idle::run(options, &nodes, sockets).await,
        None => chat::run(options, &nodes).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(extra: &[&str]) -> Options {
        let mut args = vec![
            "loadtest",
            "--url",
            "http://127.0.0.1:5000",
            "--agent-email",
            "a@example.com",
            "--agent-password",
            "secret",
        ];
        args.extend_from_slice(extra);
        Options::parse_from(args)
    }

    #[test]
    fn dashboards_default_to_none_and_belong_to_chat_runs() {
        assert_eq!(options(&[]).dashboards, 0);
        assert!(options(&["--dashboards", "3"]).validate().is_ok());
        for other in [
            &["--idle", "5"][..],
            &["--storm", "5"][..],
            &["--routing"][..],
        ] {
            let mut args = vec!["--dashboards", "3"];
            args.extend_from_slice(other);
            let err = options(&args).validate().unwrap_err();
            assert!(err.to_string().contains("--dashboards is for chat runs"));
            // Without --dashboards those runs are as before.
            assert!(
                !options(other)
                    .validate()
                    .is_err_and(|e| e.to_string().contains("dashboards"))
            );
        }
    }
}
