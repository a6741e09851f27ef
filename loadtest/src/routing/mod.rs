//! A routing run (issue 16): `--agents` agents with `--max-chats` each come
//! online (one dashboard feed each), visitors arrive open loop at
//! `--visitor-rate` a second for `--duration` seconds, automatic assignment
//! gives each an agent, and each agent answers, holds the chat for an
//! exponential time of mean `--hold` seconds, and resolves it.
//!
//! It measures the time from a visitor's ticket POST to the `supporter_joined`
//! on its socket (cross-checked with the feed), and proves the bound: no agent
//! held more than `max_chats` at once (the feeds' history in `updated_at`
//! order, and the server's `open_chats` every 200 ms), no ticket had two
//! agents, and no visitor was left waiting while capacity was free.
//!
//! - [`tracker`]: who held what when, and the verdict (pure).
//! - [`report`]: visitors' clocks, arrivals, hold times, the report (pure).
//! - `api`: the REST calls; `setup`: agents, feeds, clean-up; `agent`: feeds,
//!   handling, sampler; `visitor`.

mod agent;
mod api;
pub mod report;
mod setup;
pub mod tracker;
mod visitor;

pub use report::{Arrivals, RoutingReport};

use crate::chat::http_client;
use crate::client::{self, Node};
use crate::lock;
use crate::{Details, LoadError, Mode, Options, Outcome, RoutingDetails, output, system};
use agent::Agent;
use report::{Rng, VisitorRecord};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracker::HoldTracker;

/// Most visitors one run schedules.
pub const MAX_VISITORS: usize = 100_000;
/// The drain after the last arrival lasts at least this long: the queue left
/// at the end needs agents to free capacity, a hold time or more.
pub const MIN_DRAIN_S: f64 = 30.0;
/// A visitor still waiting at the end after this long with capacity free all
/// along was starved: assignment runs on every change and every 2 s, and the
/// sampler sees capacity within 200 ms.
pub const STARVATION_GRACE: Duration = Duration::from_secs(6);
/// How long the run's agents get to show `online` after their feeds open.
const ONLINE_TIMEOUT: Duration = Duration::from_secs(15);
/// Time between the agents being online and the first arrival.
const LEAD_IN: Duration = Duration::from_millis(200);
/// How long sockets and handlers get to finish at the end.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// What every task of a routing run shares.
pub(crate) struct Shared {
    epoch: Instant,
    http: reqwest::Client,
    nodes: Vec<Node>,
    agents: Vec<Agent>,
    max_chats: u32,
    hold_mean_s: f64,
    seed: u64,
    /// Set once at the end: arrivals, handlers, sockets and the sampler stop.
    stop: watch::Sender<bool>,
    /// Every ticket's history from the feeds, and the `open_chats` maxima.
    tracker: Mutex<HoldTracker>,
    /// Per ticket, the first feed frame showing it with an agent (ns, agent).
    feed_assigned: Mutex<HashMap<i64, (u64, i64)>>,
    /// The run's visitors' session ids by ticket id, for a feed frame without one.
    sessions: Mutex<HashMap<i64, String>>,
    /// The run's visitors' numbers by ticket id: visitor `k`'s chat is held
    /// `holds[k]`, so that one seed gives every run the same work.
    visitor_of: Mutex<HashMap<i64, usize>>,
    /// Each visitor's hold time in seconds, drawn from `--seed` up front.
    holds: Vec<f64>,
    /// (agent, ticket) pairs whose handling started: each is handled once,
    /// however many frames show the assignment.
    handling: Mutex<HashSet<(i64, i64)>>,
    handlers: Mutex<Vec<JoinHandle<()>>>,
    /// One record per scheduled visitor.
    visitors: Vec<Mutex<VisitorRecord>>,
    arrived: AtomicU64,
    replies: AtomicU64,
    handled: AtomicU64,
    connections: AtomicU64,
    samples: AtomicU64,
    /// Since when the REST samples have shown free capacity without a break.
    free_since: Mutex<Option<u64>>,
    errors: AtomicU64,
    error_kinds: Mutex<BTreeMap<String, u64>>,
    warned: AtomicBool,
    progress: bool,
}

impl Shared {
    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    fn error(&self, kind: &str) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        *lock(&self.error_kinds).entry(kind.to_owned()).or_default() += 1;
    }

    /// The first failure's own words on stderr (later ones are only counted).
    fn warn_once(&self, message: &str) {
        if self.progress && !self.warned.swap(true, Ordering::Relaxed) {
            eprintln!("warning: {message}");
        }
    }

    /// Whether the run has ended (closes and failures after it are no errors).
    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    fn is_run_agent(&self, id: i64) -> bool {
        self.agents.iter().any(|a| a.id == id)
    }

    /// Whether visitor `k` has an agent by any clock.
    fn is_assigned(&self, k: usize) -> bool {
        let record = lock(&self.visitors[k]);
        record.joined.is_some()
            || record.assigned_before_ready.is_some()
            || record
                .ticket_id
                .is_some_and(|id| lock(&self.feed_assigned).contains_key(&id))
    }
}

/// Resolves once the run stops (at once if it has already).
async fn until_stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

pub(crate) async fn run(options: &Options, nodes: &[Node]) -> Result<Outcome, LoadError> {
    let setup_started = Instant::now();
    let progress = options.progress();
    let agents_n = options.agents;
    let max_chats = options.max_chats;
    system::ensure_fd_limit(agents_n * (max_chats as usize + 2) + 256)?;
    let http = http_client(options)?;
    let email = options.agent_email.as_deref().unwrap_or_default();
    let password = options.agent_password.as_deref().unwrap_or_default();
    let admin = client::login(&http, &nodes[0], email, password).await?;

    let before =
        api::put_settings(&http, &nodes[0], &admin, json!({ "assignment": "auto" })).await?;
    let restore_manual = before["assignment"].as_str() == Some("manual");

    let mut created = Vec::new();
    let agents = match setup::create_agents(options, &http, nodes, &admin, &mut created).await {
        Ok(agents) => agents,
        Err(err) => {
            setup::abandon(&http, &nodes[0], &admin, &created, restore_manual).await;
            return Err(err);
        }
    };

    let schedule = report::arrival_schedule(
        options.arrivals,
        options.visitor_rate,
        options.duration,
        options.seed,
        MAX_VISITORS,
    );
    let total = schedule.len();
    let (stop, _) = watch::channel(false);
    let capacity = agents.iter().map(|a| (a.id, max_chats)).collect();
    let shared = Arc::new(Shared {
        epoch: Instant::now(),
        http: http.clone(),
        nodes: nodes.to_vec(),
        agents,
        max_chats,
        hold_mean_s: options.hold,
        seed: options.seed,
        stop,
        tracker: Mutex::new(HoldTracker::new(capacity)),
        feed_assigned: Mutex::new(HashMap::new()),
        sessions: Mutex::new(HashMap::new()),
        visitor_of: Mutex::new(HashMap::new()),
        holds: {
            let mut rng = Rng::new(options.seed.rotate_left(32) ^ 0x686f_6c64);
            (0..total).map(|_| rng.exponential(options.hold)).collect()
        },
        handling: Mutex::new(HashSet::new()),
        handlers: Mutex::new(Vec::new()),
        visitors: (0..total)
            .map(|_| Mutex::new(VisitorRecord::default()))
            .collect(),
        arrived: AtomicU64::new(0),
        replies: AtomicU64::new(0),
        handled: AtomicU64::new(0),
        connections: AtomicU64::new(0),
        samples: AtomicU64::new(0),
        free_since: Mutex::new(None),
        errors: AtomicU64::new(0),
        error_kinds: Mutex::new(BTreeMap::new()),
        warned: AtomicBool::new(false),
        progress,
    });

    // The feeds bring the agents online; ticket frames start flowing at once.
    let mut background = Vec::new();
    if let Err(err) = setup::open_feeds(&shared, options, &admin, &mut background).await {
        shared.stop.send_replace(true);
        setup::abandon(&http, &nodes[0], &admin, &created, restore_manual).await;
        return Err(err);
    }
    background.push(tokio::spawn(agent::sample_loop(
        shared.clone(),
        admin.clone(),
        shared.stop.subscribe(),
    )));
    let setup_s = setup_started.elapsed().as_secs_f64();
    // Ctrl-C ends the run early but still reports and cleans up: a killed run
    // would leave its agents online for the presence grace, taking tickets.
    let interrupt = tokio::spawn({
        let shared = shared.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                shared.error("interrupted");
                shared.stop.send_replace(true);
            }
        }
    });

    if progress {
        eprintln!(
            "{total} visitors at {}/s ({:?}) for {} s, agents holding chats {} s on average…",
            options.visitor_rate, options.arrivals, options.duration, options.hold
        );
        background.push(tokio::spawn(progress_loop(
            shared.clone(),
            shared.stop.subscribe(),
        )));
    }
    let start_ns = shared.now_ns() + LEAD_IN.as_nanos() as u64;
    let visitors: Vec<JoinHandle<()>> = schedule
        .iter()
        .enumerate()
        .map(|(k, &due)| {
            tokio::spawn(visitor::visit(
                shared.clone(),
                k,
                total,
                start_ns + due,
                k % nodes.len(),
            ))
        })
        .collect();

    // Arrivals, then the drain: until every visitor has an agent, or the grace.
    let last_due_ns = start_ns + schedule.last().copied().unwrap_or(0);
    let drain_s = options.drain.max(MIN_DRAIN_S);
    let deadline =
        shared.epoch + Duration::from_nanos(last_due_ns) + Duration::from_secs_f64(drain_s);
    loop {
        let arrived = shared.arrived.load(Ordering::Relaxed) as usize;
        let all_settled = arrived == total
            && (0..total).all(|k| {
                shared.is_assigned(k)
                    || lock(&shared.visitors[k]).ticket_id.is_none() && visitors[k].is_finished()
            });
        if all_settled || Instant::now() >= deadline || shared.stopped() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    interrupt.abort();
    let end_ns = shared.now_ns();
    let free_since = *lock(&shared.free_since);
    // `send_replace`: the value must change even if no task listens any more.
    shared.stop.send_replace(true);
    finish(visitors, &shared).await;
    for task in background {
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, task).await;
    }

    let records: Vec<VisitorRecord> = (0..total)
        .map(|k| {
            let mut record = lock(&shared.visitors[k]).clone();
            record.feed = record
                .ticket_id
                .and_then(|id| lock(&shared.feed_assigned).get(&id).copied());
            record
        })
        .collect();
    let verdict = lock(&shared.tracker).verdict();
    let mut routing = report::summarize_visitors(
        &records,
        end_ns,
        free_since,
        STARVATION_GRACE.as_nanos() as u64,
    );
    routing.agents = agents_n as u64;
    routing.max_chats = max_chats;
    routing.handled = shared.handled.load(Ordering::Relaxed);
    routing.max_concurrent = verdict.max_held.clone();
    routing.max_open_chats = verdict.max_open_chats.clone();
    routing.over_capacity = verdict.over_capacity.len() as u64;
    routing.double_assigned += verdict.reassigned.len() as u64;
    routing.refills = verdict.refill_ns.len() as u64;
    routing.refill_ms = report::latency_of_ns(&verdict.refill_ns);

    setup::cleanup(&shared, &admin, restore_manual).await;

    let elapsed_s = end_ns.saturating_sub(start_ns) as f64 / 1e9;
    let report = crate::Report {
        tickets: records.iter().filter(|r| r.ticket_id.is_some()).count() as u64,
        connections: shared.connections.load(Ordering::Relaxed),
        errors: shared.errors.load(Ordering::Relaxed),
        routing: Some(routing),
        ..crate::Report::default()
    };
    let details = Details {
        mode: Mode::Routing,
        nodes: nodes.len(),
        rate: options.visitor_rate,
        duration_s: options.duration,
        acknowledged: shared.replies.load(Ordering::Relaxed),
        refused: 0,
        unacknowledged: 0,
        missing_seqs: 0,
        lag_ms: crate::Latency::default(),
        elapsed_s,
        error_kinds: lock(&shared.error_kinds).clone(),
        opened: shared.connections.load(Ordering::Relaxed),
        setup_s,
        drain_s,
        chaos: None,
        routing: Some(RoutingDetails {
            hold_s: options.hold,
            arrivals: options.arrivals,
            samples: shared.samples.load(Ordering::Relaxed),
            reassigned: verdict
                .reassigned
                .iter()
                .map(|r| (r.ticket_id, r.from, r.to))
                .collect(),
            over_capacity: verdict.over_capacity.iter().copied().collect(),
        }),
    };
    Ok(Outcome { report, details })
}

/// Lets the visitors close their sockets and the handlers see the stop, then
/// ends whatever is still running.
async fn finish(visitors: Vec<JoinHandle<()>>, shared: &Shared) {
    let handlers: Vec<_> = lock(&shared.handlers).drain(..).collect();
    let tasks: Vec<_> = visitors.into_iter().chain(handlers).collect();
    let deadline = Instant::now() + CLOSE_TIMEOUT;
    while Instant::now() < deadline && !tasks.iter().all(JoinHandle::is_finished) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for task in tasks {
        task.abort();
    }
}

/// One line a second on stderr, until the run stops.
async fn progress_loop(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let started = Instant::now();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = until_stopped(&mut stop) => return,
        }
        let arrived = shared.arrived.load(Ordering::Relaxed);
        let assigned = (0..shared.visitors.len())
            .filter(|&k| shared.is_assigned(k))
            .count() as u64;
        let held = lock(&shared.tracker).held_now();
        output::routing_progress_line(
            started.elapsed().as_secs_f64(),
            arrived,
            assigned,
            held.values().sum(),
            held.values().copied().max().unwrap_or(0),
            shared.handled.load(Ordering::Relaxed),
            shared.errors.load(Ordering::Relaxed),
        );
    }
}
