//! The bookkeeping of a run, free of I/O so that it can be tested on its own:
//! the per-socket [`SeqTracker`] (gapless, in order, no duplicate), the
//! per-message [`Ledger`] (sent, acknowledged, delivered, refused; latency and
//! generator lag in HDR histograms), and the [`Report`] with its JSON shape.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

/// A send this much later than its due time counts as the generator falling
/// behind: its latency is then measured from the due time (no coordinated
/// omission). Below it, the real send instant is used, so that the timer's
/// granularity (tokio sleeps to the millisecond) does not inflate latencies.
pub const SEND_SLACK_NS: u64 = 1_000_000;

/// Most missing seqs remembered per socket (a wild jump is still counted).
const MAX_MISSING_TRACKED: i64 = 100_000;

/// What one `message`/`system`/`supporter_joined` frame's seq meant on its socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqEvent {
    /// The next seq, as promised.
    InOrder,
    /// Seqs were skipped: `missing` of them had not arrived before this one.
    Gap { missing: i64 },
    /// A seq that had been skipped arrived after all (late: out of order).
    Late,
    /// A seq this socket had already received.
    Duplicate,
}

/// Checks one socket's stream of seqs: it must be 1, 2, 3, … (or continue from
/// the `since` it was opened with), each exactly once.
#[derive(Debug, Clone)]
pub struct SeqTracker {
    next: i64,
    missing: BTreeSet<i64>,
    /// Frames whose seq had been received before on this socket.
    pub duplicates: u64,
    /// Frames that arrived after a gap, or late to fill one, plus a missing tail.
    pub out_of_order: u64,
}

impl SeqTracker {
    /// A socket opened with `since=after`: the first frame must carry `after + 1`.
    pub fn new(after: i64) -> Self {
        SeqTracker {
            next: after + 1,
            missing: BTreeSet::new(),
            duplicates: 0,
            out_of_order: 0,
        }
    }

    pub fn observe(&mut self, seq: i64) -> SeqEvent {
        if seq == self.next {
            self.next += 1;
            SeqEvent::InOrder
        } else if seq > self.next {
            let missing = seq - self.next;
            let upto = seq.min(self.next + MAX_MISSING_TRACKED);
            self.missing.extend(self.next..upto);
            self.next = seq + 1;
            self.out_of_order += 1;
            SeqEvent::Gap { missing }
        } else if self.missing.remove(&seq) {
            self.out_of_order += 1;
            SeqEvent::Late
        } else {
            self.duplicates += 1;
            SeqEvent::Duplicate
        }
    }

    /// The highest seq seen (or the starting point).
    pub fn highest(&self) -> i64 {
        self.next - 1
    }

    /// At the end: the ticket's stored `last_seq`. Seqs past what arrived are a
    /// missing tail, counted once as out of order.
    pub fn finish(&mut self, last_seq: i64) {
        if last_seq >= self.next {
            let upto = (last_seq + 1).min(self.next + MAX_MISSING_TRACKED);
            self.missing.extend(self.next..upto);
            self.next = last_seq + 1;
            self.out_of_order += 1;
        }
    }

    /// Seqs that never arrived (skipped and not filled later).
    pub fn missing(&self) -> usize {
        self.missing.len()
    }
}

/// The two parties of a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    User,
    Supporter,
}

impl Side {
    pub fn letter(self) -> char {
        match self {
            Side::User => 'u',
            Side::Supporter => 's',
        }
    }

    pub fn from_letter(c: char) -> Option<Side> {
        match c {
            'u' => Some(Side::User),
            's' => Some(Side::Supporter),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Side::User => "user",
            Side::Supporter => "supporter",
        }
    }
}

/// The unique key of message number `index` of the run, sent by `side` on
/// `ticket_id`: `lt-{ticket}-{u|s}-{index}`. The due time follows from the index.
pub fn client_msg_id(ticket_id: i64, side: Side, index: u64) -> String {
    format!("lt-{ticket_id}-{}-{index}", side.letter())
}

/// The parts of a key made by [`client_msg_id`]; `None` for anyone else's.
pub fn parse_client_msg_id(key: &str) -> Option<(i64, Side, u64)> {
    let mut parts = key.strip_prefix("lt-")?.splitn(3, '-');
    let ticket = parts.next()?.parse().ok()?;
    let mut letter = parts.next()?.chars();
    let side = Side::from_letter(letter.next()?)?;
    if letter.next().is_some() {
        return None;
    }
    let index = parts.next()?.parse().ok()?;
    Some((ticket, side, index))
}

const SENT: u8 = 1;
const ACKED: u8 = 2;
const DELIVERED: u8 = 4;
const REFUSED: u8 = 8;
const FAILED: u8 = 16;

#[derive(Default)]
struct Slot {
    /// Nanoseconds since the ledger's epoch when it was handed to the socket; 0 = not yet.
    sent_ns: AtomicU64,
    flags: AtomicU8,
}

/// What a delivery to the other party meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The first delivery: its latency in nanoseconds.
    First { latency_ns: u64 },
    /// The same message (same key) had been delivered already, under another seq.
    Duplicate,
    /// Not a message of this run's schedule.
    Unknown,
}

/// Every scheduled message of a run, shared by the generator, the socket writers
/// and readers. Times are nanoseconds since an epoch the caller chooses.
pub struct Ledger {
    slots: Vec<Slot>,
    start_ns: u64,
    interval_ns: f64,
    written: AtomicU64,
    acked: AtomicU64,
    delivered: AtomicU64,
    refused: AtomicU64,
    failed: AtomicU64,
    failed_written: AtomicU64,
    duplicated: AtomicU64,
    errors: AtomicU64,
    last_delivery_ns: AtomicU64,
    latency_us: Mutex<Histogram<u64>>,
    lag_us: Mutex<Histogram<u64>>,
    error_kinds: Mutex<BTreeMap<String, u64>>,
    /// Chaos runs: half-open windows (ns) in which the broker link was cut; a
    /// message due in one of them also counts in `cut_latency_us`.
    cut_windows: Vec<(u64, u64)>,
    cut_latency_us: Mutex<Histogram<u64>>,
}

/// An HDR histogram of microseconds from 1 µs to an hour, 3 significant digits.
pub fn micros_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

impl Ledger {
    /// `total` messages, message `i` due at `start_ns + i / rate` seconds.
    pub fn new(total: u64, start_ns: u64, rate_per_s: f64) -> Self {
        Ledger {
            slots: (0..total).map(|_| Slot::default()).collect(),
            start_ns,
            interval_ns: 1e9 / rate_per_s,
            written: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            failed_written: AtomicU64::new(0),
            duplicated: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            last_delivery_ns: AtomicU64::new(0),
            latency_us: Mutex::new(micros_histogram()),
            lag_us: Mutex::new(micros_histogram()),
            error_kinds: Mutex::new(BTreeMap::new()),
            cut_windows: Vec::new(),
            cut_latency_us: Mutex::new(micros_histogram()),
        }
    }

    /// Attributes the messages due in these half-open windows (ns, same epoch)
    /// to a cut of the broker link: their latency is also kept apart.
    pub fn with_cut_windows(mut self, windows: Vec<(u64, u64)>) -> Self {
        self.cut_windows = windows;
        self
    }

    /// Whether message `index` was due while the link was cut.
    pub fn due_during_cut(&self, index: u64) -> bool {
        let due = self.due_ns(index);
        self.cut_windows
            .iter()
            .any(|&(start, end)| start <= due && due < end)
    }

    /// Sent messages (as [`Ledger::sent`] counts) due while the link was cut.
    pub fn sent_during_cuts(&self) -> u64 {
        self.slots
            .iter()
            .enumerate()
            .filter(|(i, s)| {
                let f = s.flags.load(Ordering::Acquire);
                f & SENT != 0 && f & FAILED == 0 && self.due_during_cut(*i as u64)
            })
            .count() as u64
    }

    /// Of the messages due during a cut, those lost (as [`Ledger::lost`] counts).
    pub fn lost_during_cuts(&self) -> u64 {
        self.slots
            .iter()
            .enumerate()
            .filter(|(i, s)| {
                let f = s.flags.load(Ordering::Acquire);
                f & SENT != 0
                    && f & (FAILED | DELIVERED | REFUSED) == 0
                    && self.due_during_cut(*i as u64)
            })
            .count() as u64
    }

    /// Deliveries (of any message) that took longer than `ms` milliseconds, to
    /// the histogram's 3 significant digits.
    pub fn deliveries_slower_than(&self, ms: u64) -> u64 {
        self.latency_us
            .lock()
            .map(|h| {
                let above = h.highest_equivalent(ms * 1000) + 1;
                if above > h.max() {
                    0
                } else {
                    h.count_between(above, h.max())
                }
            })
            .unwrap_or_default()
    }

    /// Latency of the messages due while the link was cut.
    pub fn latency_during_cuts(&self) -> Latency {
        self.cut_latency_us
            .lock()
            .map(|h| Latency::from_micros(&h))
            .unwrap_or_default()
    }

    pub fn total(&self) -> u64 {
        self.slots.len() as u64
    }

    pub fn start_ns(&self) -> u64 {
        self.start_ns
    }

    /// When message `index` is due (the open-loop schedule).
    pub fn due_ns(&self, index: u64) -> u64 {
        self.start_ns + (index as f64 * self.interval_ns) as u64
    }

    fn slot(&self, index: u64) -> Option<&Slot> {
        self.slots.get(usize::try_from(index).ok()?)
    }

    /// Message `index` is about to be written to its socket at `now_ns`.
    /// Called before the write, so that no receipt can precede it.
    pub fn mark_sent(&self, index: u64, now_ns: u64) {
        let Some(slot) = self.slot(index) else { return };
        slot.sent_ns.store(now_ns.max(1), Ordering::Release);
        if slot.flags.fetch_or(SENT, Ordering::AcqRel) & SENT == 0 {
            self.written.fetch_add(1, Ordering::Relaxed);
            let lag = now_ns.saturating_sub(self.due_ns(index));
            record(&self.lag_us, lag / 1000);
        }
    }

    /// The write of message `index` failed: it never left, and counts as an error.
    pub fn mark_failed(&self, index: u64) {
        let Some(slot) = self.slot(index) else { return };
        let before = slot.flags.fetch_or(FAILED, Ordering::AcqRel);
        if before & FAILED == 0 {
            self.failed.fetch_add(1, Ordering::Relaxed);
            if before & SENT != 0 {
                self.failed_written.fetch_add(1, Ordering::Relaxed);
            }
            self.error("send failed");
        }
    }

    /// The sender's own copy came back: the message is stored.
    pub fn mark_acked(&self, index: u64) {
        let Some(slot) = self.slot(index) else { return };
        if slot.flags.fetch_or(ACKED, Ordering::AcqRel) & ACKED == 0 {
            self.acked.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// An `error` frame answered message `index`: nothing was stored.
    pub fn mark_refused(&self, index: u64) {
        let Some(slot) = self.slot(index) else { return };
        if slot.flags.fetch_or(REFUSED, Ordering::AcqRel) & REFUSED == 0 {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The other party received message `index` at `now_ns`. Latency runs from the
    /// send, or from the due time when the send was more than [`SEND_SLACK_NS`] late.
    pub fn mark_delivered(&self, index: u64, now_ns: u64) -> Delivery {
        let Some(slot) = self.slot(index) else {
            return Delivery::Unknown;
        };
        if slot.flags.fetch_or(DELIVERED, Ordering::AcqRel) & DELIVERED != 0 {
            self.duplicated.fetch_add(1, Ordering::Relaxed);
            return Delivery::Duplicate;
        }
        self.delivered.fetch_add(1, Ordering::Relaxed);
        self.last_delivery_ns.fetch_max(now_ns, Ordering::Relaxed);
        let latency_ns = now_ns.saturating_sub(self.send_origin_ns(index, slot));
        record(&self.latency_us, latency_ns / 1000);
        if self.due_during_cut(index) {
            record(&self.cut_latency_us, latency_ns / 1000);
        }
        Delivery::First { latency_ns }
    }

    fn send_origin_ns(&self, index: u64, slot: &Slot) -> u64 {
        let due = self.due_ns(index);
        match slot.sent_ns.load(Ordering::Acquire) {
            0 => due,
            sent if sent.saturating_sub(due) > SEND_SLACK_NS => due,
            sent => sent,
        }
    }

    /// Whether message `index` is known to be stored: its sender got its own
    /// copy back, or the other party received it.
    pub fn stored(&self, index: u64) -> bool {
        self.slot(index)
            .is_some_and(|s| s.flags.load(Ordering::Acquire) & (ACKED | DELIVERED) != 0)
    }

    /// A duplicate seen by a socket's seq check (same seq twice).
    pub fn add_duplicates(&self, n: u64) {
        self.duplicated.fetch_add(n, Ordering::Relaxed);
    }

    /// Anything that went wrong that is not a message's fate: an `error` frame,
    /// a `resync_required`, a socket closed by the server, an unreadable frame.
    pub fn error(&self, kind: &str) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut kinds) = self.error_kinds.lock() {
            *kinds.entry(kind.to_owned()).or_default() += 1;
        }
    }

    /// Messages written to their socket (a failed write does not count).
    pub fn sent(&self) -> u64 {
        self.written.load(Ordering::Relaxed) - self.failed_written.load(Ordering::Relaxed)
    }
    /// Scheduled messages the writers are done with: written, or failed.
    pub fn handled(&self) -> u64 {
        self.written.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed)
            - self.failed_written.load(Ordering::Relaxed)
    }
    pub fn acked(&self) -> u64 {
        self.acked.load(Ordering::Relaxed)
    }
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
    pub fn duplicated(&self) -> u64 {
        self.duplicated.load(Ordering::Relaxed)
    }
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }
    pub fn last_delivery_ns(&self) -> u64 {
        self.last_delivery_ns.load(Ordering::Relaxed)
    }

    /// Sent messages whose fate is not known yet (neither delivered to the other
    /// party and acknowledged to the sender, nor refused).
    pub fn in_flight(&self) -> u64 {
        let settled_refused = self.refused();
        let sent = self.sent();
        let delivered = self.delivered().min(self.acked());
        sent.saturating_sub(delivered + settled_refused)
    }

    /// Sent messages that the other party never received and that were not
    /// refused with an `error` frame.
    pub fn lost(&self) -> u64 {
        self.slots
            .iter()
            .filter(|s| {
                let f = s.flags.load(Ordering::Acquire);
                f & SENT != 0 && f & (FAILED | DELIVERED | REFUSED) == 0
            })
            .count() as u64
    }

    /// Sent messages whose sender never saw its own copy nor an `error` frame.
    pub fn unacknowledged(&self) -> u64 {
        self.slots
            .iter()
            .filter(|s| {
                let f = s.flags.load(Ordering::Acquire);
                f & SENT != 0 && f & (FAILED | ACKED | REFUSED) == 0
            })
            .count() as u64
    }

    pub fn latency(&self) -> Latency {
        self.latency_us
            .lock()
            .map(|h| Latency::from_micros(&h))
            .unwrap_or_default()
    }

    /// How late the sends were against the schedule.
    pub fn lag(&self) -> Latency {
        self.lag_us
            .lock()
            .map(|h| Latency::from_micros(&h))
            .unwrap_or_default()
    }

    pub fn error_kinds(&self) -> BTreeMap<String, u64> {
        self.error_kinds
            .lock()
            .map(|k| k.clone())
            .unwrap_or_default()
    }
}

fn record(histogram: &Mutex<Histogram<u64>>, micros: u64) {
    if let Ok(mut h) = histogram.lock() {
        h.saturating_record(micros.max(1));
    }
}

/// Percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latency {
    /// From a histogram of microseconds; all zero when it is empty.
    pub fn from_micros(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Latency {
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
        }
    }
}

/// The report of a run; with `--json` it is printed as the last line, with
/// exactly these keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub tickets: u64,
    pub connections: u64,
    pub sent: u64,
    pub delivered: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub out_of_order: u64,
    pub errors: u64,
    pub throughput_per_s: f64,
    pub latency_ms: Latency,
    /// Chaos runs only (the key is absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chaos: Option<ChaosReport>,
    /// Routing runs only (the key is absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing: Option<crate::routing::RoutingReport>,
    /// Storm runs only (the key is absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storm: Option<StormReport>,
    /// Chat runs with `--dashboards N` only (the key is absent otherwise).
    /// Not part of the verdict: a feed that failed is counted there, not fatal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dashboards: Option<crate::dashboards::DashboardsReport>,
}

/// The storm section of a report (`--storm N`): N visitor sockets reconnecting
/// to the node(s) at once, each resuming its ticket with `since`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StormReport {
    /// Sockets opened at once.
    pub sockets: u64,
    /// Of those, how many got their `ready` frame.
    pub ready: u64,
    /// Of those, how many were then replayed exactly the message they missed.
    pub replay_ok: u64,
    /// Time from the storm's start (its first connect) to each socket's
    /// `ready`, in ms.
    pub ready_ms: Latency,
    /// Seconds from the storm's start until every socket was ready; `null`
    /// when some never were.
    pub all_ready_s: Option<f64>,
}

impl StormReport {
    /// Every socket ready, and every replay right.
    pub fn is_clean(&self) -> bool {
        self.ready == self.sockets && self.replay_ok == self.sockets
    }
}

/// The product's promise: an acknowledged message reaches every connected
/// socket of its ticket within this many milliseconds, whatever the broker did.
pub const PROMISED_DELIVERY_MS: u64 = 5_000;

/// The chaos section of a report: what was done to the broker link and the
/// worst delivery delays. Lost, duplicated and out of order stay in the
/// report's own keys, counted as in any run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChaosReport {
    /// Cuts performed (each restored).
    pub cuts: u64,
    /// Seconds the link was down, all cuts together (measured).
    pub cut_seconds: f64,
    /// Cuts during which some node's `/api/support/health` said its broker was
    /// not ok: the proof that the cut reached a node.
    pub cuts_noticed: u64,
    /// The slowest return of a noticing node's broker check to ok after a
    /// restore, in seconds (to the health poll's resolution); `null` when no
    /// cut was noticed or a node was not back before the next cut or the end.
    pub broker_back_max_s: Option<f64>,
    /// The worst delivery delay of the run (send → other party), in ms.
    pub latency_max_ms: f64,
    /// Deliveries that took longer than the product's promise
    /// ([`PROMISED_DELIVERY_MS`]): late, though not lost.
    pub later_than_promise: u64,
    /// Messages due while the link was cut.
    pub sent_during_cuts: u64,
    /// Of those, lost (included in the report's `lost`).
    pub lost_during_cuts: u64,
    /// Latency of the messages due while the link was cut, in ms.
    pub during_cuts_latency_ms: Latency,
}

impl Report {
    /// Nothing lost, duplicated, reordered, no error, and in a routing run the
    /// bound held: the exit status is 0.
    pub fn is_clean(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.out_of_order == 0
            && self.errors == 0
            && self.routing.as_ref().is_none_or(|r| r.is_clean())
            && self.storm.as_ref().is_none_or(StormReport::is_clean)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a report always serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gapless_stream_is_in_order() {
        let mut t = SeqTracker::new(0);
        for seq in 1..=5 {
            assert_eq!(t.observe(seq), SeqEvent::InOrder);
        }
        t.finish(5);
        assert_eq!((t.duplicates, t.out_of_order, t.missing()), (0, 0, 0));
        assert_eq!(t.highest(), 5);
    }

    #[test]
    fn a_stream_resumed_after_since_starts_past_it() {
        let mut t = SeqTracker::new(7);
        assert_eq!(t.observe(8), SeqEvent::InOrder);
        assert_eq!(t.observe(1), SeqEvent::Duplicate);
    }

    #[test]
    fn a_repeated_seq_is_a_duplicate() {
        let mut t = SeqTracker::new(0);
        t.observe(1);
        t.observe(2);
        assert_eq!(t.observe(2), SeqEvent::Duplicate);
        assert_eq!(t.observe(1), SeqEvent::Duplicate);
        assert_eq!(t.observe(3), SeqEvent::InOrder);
        assert_eq!((t.duplicates, t.out_of_order), (2, 0));
    }

    #[test]
    fn a_gap_is_out_of_order_and_stays_missing() {
        let mut t = SeqTracker::new(0);
        t.observe(1);
        assert_eq!(t.observe(4), SeqEvent::Gap { missing: 2 });
        assert_eq!(t.observe(5), SeqEvent::InOrder);
        t.finish(5);
        assert_eq!((t.duplicates, t.out_of_order, t.missing()), (0, 1, 2));
    }

    #[test]
    fn a_reordered_pair_counts_the_jump_and_the_late_one() {
        let mut t = SeqTracker::new(0);
        t.observe(1);
        assert_eq!(t.observe(3), SeqEvent::Gap { missing: 1 });
        assert_eq!(t.observe(2), SeqEvent::Late);
        assert_eq!(t.observe(2), SeqEvent::Duplicate);
        assert_eq!(t.observe(4), SeqEvent::InOrder);
        assert_eq!((t.duplicates, t.out_of_order, t.missing()), (1, 2, 0));
    }

    #[test]
    fn a_missing_tail_is_found_at_the_end() {
        let mut t = SeqTracker::new(0);
        t.observe(1);
        t.observe(2);
        t.finish(5);
        assert_eq!((t.out_of_order, t.missing()), (1, 3));
        // Nothing more when the ticket ends where the socket did.
        let mut u = SeqTracker::new(0);
        u.observe(1);
        u.finish(1);
        assert_eq!(u.out_of_order, 0);
    }

    #[test]
    fn a_wild_jump_is_counted_without_unbounded_memory() {
        let mut t = SeqTracker::new(0);
        assert_eq!(t.observe(10_000_000), SeqEvent::Gap { missing: 9_999_999 });
        assert_eq!(t.missing() as i64, MAX_MISSING_TRACKED);
    }

    #[test]
    fn keys_round_trip_and_foreign_keys_are_ignored() {
        let key = client_msg_id(45, Side::Supporter, 1234);
        assert_eq!(key, "lt-45-s-1234");
        assert_eq!(parse_client_msg_id(&key), Some((45, Side::Supporter, 1234)));
        assert_eq!(parse_client_msg_id("lt-1-u-0"), Some((1, Side::User, 0)));
        for foreign in [
            "c0ffee",
            "lt-x-u-1",
            "lt-1-q-1",
            "lt-1-us-1",
            "lt-1-u-",
            "lt-1-u",
        ] {
            assert_eq!(parse_client_msg_id(foreign), None, "{foreign}");
        }
        assert!(client_msg_id(i64::MAX, Side::User, u64::MAX).len() <= 64);
    }

    #[test]
    fn percentiles_come_from_the_histogram_in_milliseconds() {
        let mut h = micros_histogram();
        for us in 1..=1000u64 {
            h.record(us * 10).unwrap(); // 10 µs … 10 ms
        }
        let l = Latency::from_micros(&h);
        assert!((l.p50 - 5.0).abs() < 0.01, "{l:?}");
        assert!((l.p90 - 9.0).abs() < 0.01, "{l:?}");
        assert!((l.p99 - 9.9).abs() < 0.01, "{l:?}");
        assert!((l.max - 10.0).abs() < 0.01, "{l:?}");
        assert_eq!(
            Latency::from_micros(&micros_histogram()),
            Latency::default()
        );
    }

    #[test]
    fn the_ledger_measures_from_the_send_or_from_the_due_time_when_late() {
        // 1000 msg/s from t = 1 s: message i is due at 1 s + i ms.
        let ledger = Ledger::new(3, 1_000_000_000, 1000.0);
        assert_eq!(ledger.due_ns(2), 1_002_000_000);
        // On time (0.2 ms after due): latency from the send.
        ledger.mark_sent(0, 1_000_200_000);
        assert_eq!(
            ledger.mark_delivered(0, 1_003_200_000),
            Delivery::First {
                latency_ns: 3_000_000
            }
        );
        // 50 ms behind: latency from the due time, so the wait counts.
        ledger.mark_sent(1, 1_051_000_000);
        assert_eq!(
            ledger.mark_delivered(1, 1_052_000_000),
            Delivery::First {
                latency_ns: 51_000_000
            }
        );
        assert_eq!(ledger.mark_delivered(1, 1_053_000_000), Delivery::Duplicate);
        assert_eq!(ledger.mark_delivered(99, 1), Delivery::Unknown);
        assert_eq!(ledger.lag().max, 50.015, "lag max in ms, 3 digits");
        let latency = ledger.latency();
        assert!((latency.max - 51.0).abs() < 0.1, "{latency:?}");
    }

    #[test]
    fn the_ledger_tells_lost_refused_and_failed_apart() {
        let ledger = Ledger::new(5, 0, 100.0);
        for i in 0..5 {
            ledger.mark_sent(i, ledger.due_ns(i) + 1);
        }
        ledger.mark_acked(0);
        ledger.mark_delivered(0, 100_000_000);
        ledger.mark_refused(1);
        ledger.error("rate_limited");
        ledger.mark_failed(2);
        ledger.mark_acked(3); // stored, but the other party never got it: lost
        // 4: neither acknowledged nor delivered: lost
        assert_eq!(ledger.sent(), 4);
        assert_eq!(ledger.handled(), 5);
        assert_eq!(ledger.delivered(), 1);
        assert_eq!(ledger.lost(), 2);
        assert_eq!(ledger.unacknowledged(), 1);
        assert_eq!(ledger.errors(), 2);
        assert_eq!(ledger.in_flight(), 2);
        let kinds = ledger.error_kinds();
        assert_eq!(kinds.get("rate_limited"), Some(&1));
        assert_eq!(kinds.get("send failed"), Some(&1));
        // Stored: acknowledged or delivered (what `--dashboards` expects a
        // Notice for).
        let stored: Vec<u64> = (0..6).filter(|&i| ledger.stored(i)).collect();
        assert_eq!(stored, [0, 3]);

        // A write that never happened (its socket had broken) is not sent.
        let broken = Ledger::new(2, 0, 100.0);
        broken.mark_sent(0, 1);
        broken.mark_failed(0);
        broken.mark_failed(1);
        assert_eq!((broken.sent(), broken.handled(), broken.lost()), (0, 2, 0));
        assert_eq!(broken.errors(), 2);
    }

    #[test]
    fn messages_due_during_a_cut_are_counted_and_timed_apart() {
        // 1000 msg/s from t = 0: message i is due at i ms; the link is cut from
        // 2 ms to 4 ms (half open), so messages 2 and 3 are due during the cut.
        let ledger = Ledger::new(6, 0, 1000.0).with_cut_windows(vec![(2_000_000, 4_000_000)]);
        let during: Vec<bool> = (0..6).map(|i| ledger.due_during_cut(i)).collect();
        assert_eq!(during, [false, false, true, true, false, false]);
        for i in 0..6 {
            ledger.mark_sent(i, ledger.due_ns(i));
        }
        ledger.mark_delivered(0, 1_000_000); // 1 ms
        ledger.mark_delivered(2, 3_002_000_000); // 3 s: held back by the cut
        ledger.mark_delivered(4, 4_000_000 + 5_000_000); // 5 ms
        // 3 (during the cut) and 1, 5 (outside) are never delivered.
        assert_eq!(ledger.sent_during_cuts(), 2);
        assert_eq!(ledger.lost_during_cuts(), 1);
        assert_eq!(ledger.lost(), 3);
        let cut = ledger.latency_during_cuts();
        assert!((cut.max - 3000.0).abs() < 5.0, "{cut:?}");
        assert!(
            (cut.p50 - 3000.0).abs() < 5.0,
            "only message 2 counts: {cut:?}"
        );
        assert!((ledger.latency().max - 3000.0).abs() < 5.0);
        assert!(ledger.latency().p50 < 10.0);
        assert_eq!(ledger.deliveries_slower_than(2_000), 1);
        assert_eq!(ledger.deliveries_slower_than(3_000), 0);
        assert_eq!(ledger.deliveries_slower_than(1), 2);
        // Without windows nothing is attributed.
        let plain = Ledger::new(2, 0, 1000.0);
        assert!(!plain.due_during_cut(0));
        assert_eq!(plain.latency_during_cuts(), Latency::default());
    }

    #[test]
    fn a_chaos_report_adds_one_key_and_keeps_the_verdict_rule() {
        let report = Report {
            sent: 10,
            delivered: 10,
            chaos: Some(ChaosReport {
                cuts: 2,
                cut_seconds: 4.0,
                cuts_noticed: 2,
                broker_back_max_s: Some(0.5),
                latency_max_ms: 1500.0,
                ..ChaosReport::default()
            }),
            ..Report::default()
        };
        let value: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(value["chaos"]["cuts"], 2);
        assert_eq!(value["chaos"]["broker_back_max_s"], 0.5);
        assert!(value["chaos"]["during_cuts_latency_ms"]["max"].is_number());
        assert!(report.is_clean(), "cuts alone do not fail a run");
        assert!(!Report { lost: 1, ..report }.is_clean());
    }

    #[test]
    fn a_dashboards_section_adds_one_key_and_does_not_judge_the_run() {
        let report = Report {
            dashboards: Some(crate::DashboardsReport {
                feeds: 3,
                failed: 1,
                tickets_written: 10,
                tickets_noticed: 9,
                ..crate::DashboardsReport::default()
            }),
            ..Report::default()
        };
        let value: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(value["dashboards"]["feeds"], 3);
        assert_eq!(value["dashboards"]["tickets_noticed"], 9);
        assert!(value["dashboards"]["lag_ms"]["p99"].is_number());
        assert!(report.is_clean(), "feeds are measured, not judged");
    }

    #[test]
    fn the_report_has_exactly_the_documented_keys() {
        let report = Report {
            tickets: 10,
            connections: 20,
            sent: 300,
            delivered: 300,
            throughput_per_s: 99.5,
            latency_ms: Latency {
                p50: 1.5,
                p90: 2.0,
                p99: 3.25,
                max: 4.0,
            },
            ..Report::default()
        };
        let value: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        let mut expected = vec![
            "tickets",
            "connections",
            "sent",
            "delivered",
            "lost",
            "duplicated",
            "out_of_order",
            "errors",
            "throughput_per_s",
            "latency_ms",
        ];
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        expected.sort_unstable();
        assert_eq!(sorted, expected);
        let latency: Vec<&str> = value["latency_ms"]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        let mut latency_sorted = latency.clone();
        latency_sorted.sort_unstable();
        assert_eq!(latency_sorted, ["max", "p50", "p90", "p99"]);
        assert_eq!(value["latency_ms"]["p99"], 3.25);
        assert_eq!(value["sent"], 300);
        assert!(report.is_clean());
        assert!(
            !Report {
                out_of_order: 1,
                ..report.clone()
            }
            .is_clean()
        );
        assert!(
            !Report {
                errors: 1,
                ..report
            }
            .is_clean()
        );
    }
}
