//! The routing run's figures, free of I/O: each visitor's clocks, the arrival
//! schedule and hold times, and the [`RoutingReport`] with its verdict.

use crate::accounting::{Latency, micros_histogram};
use serde::Serialize;
use std::collections::BTreeMap;

/// What one visitor saw, in nanoseconds since the run's epoch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VisitorRecord {
    /// Whether the visitor's arrival came before the run ended (a run stopped
    /// early by Ctrl-C leaves the later ones out of the figures).
    pub arrived: bool,
    /// The ticket, once `POST /api/support/ticket` answered.
    pub ticket_id: Option<i64>,
    /// When the visitor asked (the ticket's POST was sent): the clock's start.
    pub asked_ns: u64,
    /// The first `supporter_joined` on the visitor's socket, and its agent.
    pub joined: Option<(u64, i64)>,
    /// The agent the `ready` frame already named (assigned before the socket
    /// was up: the visitor's clock cannot tell when, the feed's can).
    pub assigned_before_ready: Option<i64>,
    /// The agent holding the ticket by the socket's frames (`ready`,
    /// `supporter_joined`, `ticket_updated`), `None` while it waits.
    pub current_agent: Option<i64>,
    /// `supporter_joined` frames that named another agent while the socket's
    /// frames still showed the ticket held (no return to the queue between).
    pub joined_while_held: u64,
    /// The first feed frame showing the ticket with an agent, and that agent.
    pub feed: Option<(u64, i64)>,
    /// `queue` frames received.
    pub queue_frames: u64,
    /// The highest position a `queue` frame (or `ready`) gave.
    pub max_position: Option<i64>,
}

impl VisitorRecord {
    /// Time to assignment by the visitor's socket, else by the feed.
    fn time_to_assignment_ns(&self) -> Option<u64> {
        self.joined
            .or(self.feed)
            .map(|(at, _)| at.saturating_sub(self.asked_ns))
    }

    fn agent(&self) -> Option<i64> {
        self.joined
            .map(|(_, agent)| agent)
            .or(self.assigned_before_ready)
            .or(self.feed.map(|(_, agent)| agent))
    }
}

/// The routing section of a report (`"routing"` in the JSON line).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RoutingReport {
    /// Agents the run created, each with one dashboard feed open.
    pub agents: u64,
    /// Their `max_chats`.
    pub max_chats: u32,
    /// Visitors that arrived (tickets asked for).
    pub visitors: u64,
    /// Visitors given an agent before the end.
    pub assigned: u64,
    /// Visitors without an agent at the end (ticket creation failures included).
    pub unassigned: u64,
    /// Of those, visitors left waiting although a run's agent was online below
    /// `max_chats` for the whole grace before the end: a failure.
    pub starved: u64,
    /// Ticket POST sent → `supporter_joined` on the visitor's socket (the
    /// feed's clock where the socket was opened after the assignment), in ms.
    pub time_to_assignment_ms: Latency,
    /// Ticket POST sent → the first feed frame showing an agent, in ms.
    pub feed_time_to_assignment_ms: Latency,
    /// Visitors whose socket's `ready` already named their agent.
    pub assigned_before_ready: u64,
    /// `queue` frames received, all visitors together.
    pub queue_frames: u64,
    /// Visitors who were given a queue position at some point.
    pub queued_visitors: u64,
    /// The highest queue position any visitor was given (0: none).
    pub max_queue_position: i64,
    /// Tickets the run's agents answered and resolved.
    pub handled: u64,
    /// Per agent id: the most tickets held at once, by the feed's history.
    pub max_concurrent: BTreeMap<i64, u32>,
    /// Per agent id: the highest `open_chats` the server reported (REST every
    /// 200 ms, and `agent_updated` frames).
    pub max_open_chats: BTreeMap<i64, u32>,
    /// Agents that held more than `max_chats` at once by either measure.
    pub over_capacity: u64,
    /// Tickets given to two agents (moved between agents without the queue,
    /// or a second agent announced to the visitor while the first held it).
    pub double_assigned: u64,
    /// Visitors whose socket and feed named different agents.
    pub agent_mismatch: u64,
    /// Places a run's agent freed while some ticket waited.
    pub refills: u64,
    /// For those: freed → a waiting ticket given to a run's agent, in ms, by
    /// the tickets' `updated_at` (the database's clock). How fast freed
    /// capacity is used while there is a queue.
    pub refill_ms: Latency,
}

impl RoutingReport {
    /// The bound held, nobody was given two agents, nobody starved.
    pub fn is_clean(&self) -> bool {
        self.over_capacity == 0
            && self.double_assigned == 0
            && self.starved == 0
            && self.agent_mismatch == 0
    }
}

/// The visitors' part of the report. `free_since_ns`: since when the REST
/// samples showed, without a break up to the end, a run's agent online below
/// its `max_chats`; a visitor still waiting at `end_ns` who waited through
/// `grace_ns` of that is starved.
pub fn summarize_visitors(
    visitors: &[VisitorRecord],
    end_ns: u64,
    free_since_ns: Option<u64>,
    grace_ns: u64,
) -> RoutingReport {
    let mut report = RoutingReport::default();
    let (mut primary, mut feed) = (micros_histogram(), micros_histogram());
    for v in visitors.iter().filter(|v| v.arrived) {
        report.visitors += 1;
        match v.time_to_assignment_ns() {
            Some(ns) => {
                report.assigned += 1;
                primary.saturating_record((ns / 1000).max(1));
            }
            None if v.assigned_before_ready.is_some() => report.assigned += 1,
            None => {
                report.unassigned += 1;
                let waiting_from = free_since_ns.map(|free| free.max(v.asked_ns));
                if v.ticket_id.is_some()
                    && waiting_from.is_some_and(|from| end_ns.saturating_sub(from) >= grace_ns)
                {
                    report.starved += 1;
                }
            }
        }
        if let Some((at, _)) = v.feed {
            feed.saturating_record((at.saturating_sub(v.asked_ns) / 1000).max(1));
        }
        if v.assigned_before_ready.is_some() {
            report.assigned_before_ready += 1;
        }
        if v.joined_while_held > 0 {
            report.double_assigned += 1;
        }
        if let (Some(agent), Some((_, by_feed))) = (v.agent(), v.feed)
            && v.joined_while_held == 0
            && agent != by_feed
        {
            report.agent_mismatch += 1;
        }
        report.queue_frames += v.queue_frames;
        if let Some(position) = v.max_position {
            report.queued_visitors += 1;
            report.max_queue_position = report.max_queue_position.max(position);
        }
    }
    report.time_to_assignment_ms = Latency::from_micros(&primary);
    report.feed_time_to_assignment_ms = Latency::from_micros(&feed);
    report
}

/// Percentiles of durations given in nanoseconds, in milliseconds.
pub fn latency_of_ns(durations: &[u64]) -> Latency {
    let mut h = micros_histogram();
    for ns in durations {
        h.saturating_record((ns / 1000).max(1));
    }
    Latency::from_micros(&h)
}

/// A small deterministic generator (SplitMix64): the run's arrivals and hold
/// times follow from `--seed`, so two runs offer the same load.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Exponentially distributed with this mean.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }
}

/// How visitors arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Arrivals {
    /// One every 1/rate seconds.
    Fixed,
    /// A Poisson process of that rate (exponential gaps).
    Poisson,
}

/// The arrival instants (ns from the start) of `rate` visitors a second for
/// `duration_s` seconds, open loop, at most `max` of them.
pub fn arrival_schedule(
    arrivals: Arrivals,
    rate: f64,
    duration_s: f64,
    seed: u64,
    max: usize,
) -> Vec<u64> {
    let end_s = duration_s;
    let mut at = Vec::new();
    match arrivals {
        Arrivals::Fixed => {
            let count = ((rate * duration_s).round() as usize).min(max);
            at.extend((0..count).map(|k| (k as f64 / rate * 1e9) as u64));
        }
        Arrivals::Poisson => {
            let mut rng = Rng::new(seed);
            let mut t = 0.0;
            loop {
                t += rng.exponential(1.0 / rate);
                if t >= end_s || at.len() >= max {
                    break;
                }
                at.push((t * 1e9) as u64);
            }
        }
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn assigned(asked_s: u64, after_ms: u64, agent: i64) -> VisitorRecord {
        let at = asked_s * S + after_ms * 1_000_000;
        VisitorRecord {
            arrived: true,
            ticket_id: Some(asked_s as i64),
            asked_ns: asked_s * S,
            joined: Some((at, agent)),
            current_agent: Some(agent),
            feed: Some((at - 1_000_000, agent)),
            ..VisitorRecord::default()
        }
    }

    #[test]
    fn time_to_assignment_percentiles_come_from_the_visitors_clock() {
        let visitors: Vec<_> = (1..=100).map(|ms| assigned(1, ms, 1)).collect();
        let r = summarize_visitors(&visitors, 60 * S, None, 5 * S);
        assert_eq!((r.visitors, r.assigned, r.unassigned), (100, 100, 0));
        let l = r.time_to_assignment_ms;
        assert!((l.p50 - 50.0).abs() < 0.1, "{l:?}");
        assert!((l.p90 - 90.0).abs() < 0.1, "{l:?}");
        assert!((l.p99 - 99.0).abs() < 0.1, "{l:?}");
        assert!((l.max - 100.0).abs() < 0.1, "{l:?}");
        // The feed saw each a millisecond earlier.
        assert!((r.feed_time_to_assignment_ms.max - 99.0).abs() < 0.1);
        assert!(r.is_clean());
    }

    #[test]
    fn an_assignment_before_the_socket_was_up_is_timed_by_the_feed() {
        let v = VisitorRecord {
            arrived: true,
            ticket_id: Some(1),
            asked_ns: S,
            assigned_before_ready: Some(3),
            feed: Some((S + 7_000_000, 3)),
            ..VisitorRecord::default()
        };
        let r = summarize_visitors(std::slice::from_ref(&v), 10 * S, None, 5 * S);
        assert_eq!((r.assigned, r.assigned_before_ready), (1, 1));
        assert!((r.time_to_assignment_ms.max - 7.0).abs() < 0.01);
        // Without the feed it still counts as assigned, untimed.
        let untimed = VisitorRecord { feed: None, ..v };
        let r = summarize_visitors(&[untimed], 10 * S, None, 5 * S);
        assert_eq!((r.assigned, r.unassigned), (1, 0));
        assert_eq!(r.time_to_assignment_ms, Latency::default());
    }

    #[test]
    fn waiting_while_capacity_was_free_through_the_grace_is_starving() {
        let waiting = |asked_s: u64| VisitorRecord {
            arrived: true,
            ticket_id: Some(asked_s as i64),
            asked_ns: asked_s * S,
            ..VisitorRecord::default()
        };
        let visitors = [waiting(10), waiting(57), waiting(40)];
        // Capacity free since second 50, run ends at 60, grace 5 s: the
        // visitors who arrived at 10 and 40 waited through 10 s of it, the one
        // of 57 only 3 s.
        let r = summarize_visitors(&visitors, 60 * S, Some(50 * S), 5 * S);
        assert_eq!((r.unassigned, r.starved), (3, 2));
        assert!(!r.is_clean());
        // No free capacity at the end: waiting is load, not a fault.
        let r = summarize_visitors(&visitors, 60 * S, None, 5 * S);
        assert_eq!((r.unassigned, r.starved), (3, 0));
        assert!(r.is_clean());
        // A visitor whose ticket was never created cannot be starved.
        let failed = VisitorRecord {
            ticket_id: None,
            ..waiting(1)
        };
        let r = summarize_visitors(&[failed], 60 * S, Some(0), 5 * S);
        assert_eq!((r.unassigned, r.starved), (1, 0));
    }

    #[test]
    fn a_second_agent_announced_while_the_first_held_it_is_a_double_assignment() {
        let mut v = assigned(1, 5, 1);
        v.joined_while_held = 1;
        let r = summarize_visitors(&[v], 10 * S, None, 5 * S);
        assert_eq!(r.double_assigned, 1);
        assert!(!r.is_clean());
        let mut other = assigned(1, 5, 1);
        other.feed = Some((S, 2));
        let r = summarize_visitors(&[other], 10 * S, None, 5 * S);
        assert_eq!((r.double_assigned, r.agent_mismatch), (0, 1));
        assert!(!r.is_clean());
    }

    #[test]
    fn queue_frames_and_positions_are_summed() {
        let mut a = assigned(1, 5, 1);
        a.queue_frames = 3;
        a.max_position = Some(4);
        let mut b = assigned(2, 5, 1);
        b.queue_frames = 1;
        b.max_position = Some(1);
        let r = summarize_visitors(&[a, b, assigned(3, 5, 1)], 10 * S, None, 5 * S);
        assert_eq!(
            (r.queue_frames, r.queued_visitors, r.max_queue_position),
            (4, 2, 4)
        );
    }

    #[test]
    fn visitors_due_after_an_early_stop_are_left_out() {
        let due_later = VisitorRecord::default();
        let r = summarize_visitors(&[assigned(1, 5, 1), due_later], 10 * S, Some(0), 5 * S);
        assert_eq!(
            (r.visitors, r.assigned, r.unassigned, r.starved),
            (1, 1, 0, 0)
        );
    }

    #[test]
    fn arrivals_are_open_loop_and_reproducible() {
        let fixed = arrival_schedule(Arrivals::Fixed, 2.0, 3.0, 1, 1000);
        assert_eq!(fixed, [0, S / 2, S, 3 * S / 2, 2 * S, 5 * S / 2]);
        let poisson = arrival_schedule(Arrivals::Poisson, 50.0, 100.0, 7, 100_000);
        assert_eq!(
            poisson,
            arrival_schedule(Arrivals::Poisson, 50.0, 100.0, 7, 100_000)
        );
        assert!(poisson.windows(2).all(|w| w[0] <= w[1]));
        assert!(poisson.iter().all(|&t| t < 100 * S));
        // 5000 expected; a Poisson count's standard deviation is about 71.
        assert!((4700..5300).contains(&poisson.len()), "{}", poisson.len());
        assert_eq!(arrival_schedule(Arrivals::Fixed, 10.0, 10.0, 1, 5).len(), 5);
    }

    #[test]
    fn exponential_hold_times_have_the_requested_mean() {
        let mut rng = Rng::new(42);
        let n = 100_000;
        let mean = (0..n).map(|_| rng.exponential(5.0)).sum::<f64>() / n as f64;
        assert!((mean - 5.0).abs() < 0.1, "{mean}");
        let mut unit = Rng::new(1);
        assert!(
            (0..1000)
                .map(|_| unit.unit())
                .all(|u| (0.0..1.0).contains(&u))
        );
    }
}
