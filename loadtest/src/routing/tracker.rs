//! Who held which ticket when, from the feed's ticket frames, and the proof of
//! the bound: no agent of the run held more than its `max_chats` at once, and no
//! ticket went from one agent to another without going back to the queue.
//!
//! Pure: the run feeds it [`Observation`]s from every agent's feed socket (the
//! same change arrives once per feed, and frames from several nodes may arrive
//! out of order) and REST samples of `open_chats`; [`HoldTracker::verdict`]
//! orders each ticket's history by its `updated_at` (the database's order of
//! changes, not the order of arrival) and sweeps the holding intervals.

use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A ticket's status as the feed names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Open,
    Assigned,
    InProgress,
    Resolved,
    Closed,
}

impl Status {
    pub fn parse(text: &str) -> Option<Status> {
        Some(match text {
            "open" => Status::Open,
            "assigned" => Status::Assigned,
            "in_progress" => Status::InProgress,
            "resolved" => Status::Resolved,
            "closed" => Status::Closed,
            _ => return None,
        })
    }

    /// Whether a ticket in this status counts in its agent's `open_chats`.
    pub fn holds(self) -> bool {
        matches!(self, Status::Assigned | Status::InProgress)
    }
}

/// An RFC 3339 timestamp of the server's, ordered as the instant it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp(DateTime<Utc>);

impl Stamp {
    /// `None` for anything but an RFC 3339 time (`2026-12-06T22:00:00.5Z`).
    pub fn parse(text: &str) -> Option<Stamp> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|at| Stamp(at.to_utc()))
    }

    /// Nanoseconds since 1970-01-01T00:00:00Z.
    pub fn nanos(&self) -> i128 {
        let seconds = i128::from(self.0.timestamp());
        seconds * 1_000_000_000 + i128::from(self.0.timestamp_subsec_nanos())
    }
}

/// One ticket frame of the feed (`ticket_created` or `ticket_updated`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub ticket_id: i64,
    pub status: Status,
    pub supporter_id: Option<i64>,
    pub updated_at: Stamp,
}

impl Observation {
    /// The agent counting this ticket in its `open_chats`, if any.
    fn holder(&self) -> Option<i64> {
        self.supporter_id.filter(|_| self.status.holds())
    }
}

/// A ticket that went from one agent straight to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reassignment {
    pub ticket_id: i64,
    pub from: i64,
    pub to: i64,
    pub at: Stamp,
}

/// What the tracker proves at the end of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Per agent of the run: the most tickets held at once by the feed's
    /// history (`updated_at` order).
    pub max_held: BTreeMap<i64, u32>,
    /// Per agent of the run: the highest `open_chats` any REST sample or
    /// `agent_updated` frame showed.
    pub max_open_chats: BTreeMap<i64, u32>,
    /// Agents of the run above their `max_chats` by either measure.
    pub over_capacity: BTreeSet<i64>,
    /// Tickets handed from one agent to another without going back to the
    /// queue between (a run does no transfer, so each is a double assignment).
    pub reassigned: Vec<Reassignment>,
    /// For each place a run's agent freed while some ticket was waiting: the
    /// nanoseconds (database clock) until a waiting ticket was given to a run's
    /// agent. How fast freed capacity is used when there is a queue.
    pub refill_ns: Vec<u64>,
}

impl Verdict {
    pub fn is_clean(&self) -> bool {
        self.over_capacity.is_empty() && self.reassigned.is_empty()
    }
}

/// Every ticket's history as the feeds told it, and the run's agents' bounds.
#[derive(Debug, Clone, Default)]
pub struct HoldTracker {
    /// The run's agents and their `max_chats`; other agents are not judged.
    capacity: BTreeMap<i64, u32>,
    /// Per ticket, each distinct state by `updated_at` (a frame seen on several
    /// feeds, or sent again by a node's reconciliation, is kept once).
    history: HashMap<i64, BTreeMap<Stamp, (Status, Option<i64>)>>,
    /// Per ticket, the newest state: what is held right now (progress only).
    latest: HashMap<i64, Observation>,
    max_open_chats: BTreeMap<i64, u32>,
}

impl HoldTracker {
    pub fn new(capacity: BTreeMap<i64, u32>) -> Self {
        HoldTracker {
            capacity,
            ..HoldTracker::default()
        }
    }

    /// Records a ticket frame. Returns true when it was news (not a state of
    /// that ticket already known at that `updated_at`).
    pub fn observe(&mut self, seen: Observation) -> bool {
        let states = self.history.entry(seen.ticket_id).or_default();
        let fresh = states
            .insert(seen.updated_at, (seen.status, seen.supporter_id))
            .is_none();
        let newer = self
            .latest
            .get(&seen.ticket_id)
            .is_none_or(|known| known.updated_at < seen.updated_at);
        if newer {
            self.latest.insert(seen.ticket_id, seen);
        }
        fresh
    }

    /// Records an agent's `open_chats` as the server counted it (REST sample or
    /// `agent_updated` frame).
    pub fn sample_open_chats(&mut self, agent_id: i64, open_chats: u32) {
        if self.capacity.contains_key(&agent_id) {
            let max = self.max_open_chats.entry(agent_id).or_default();
            *max = (*max).max(open_chats);
        }
    }

    /// Tickets each agent of the run holds now, by the newest frames.
    pub fn held_now(&self) -> BTreeMap<i64, u32> {
        let mut held: BTreeMap<i64, u32> = self.capacity.keys().map(|&a| (a, 0)).collect();
        for seen in self.latest.values() {
            if let Some(count) = seen.holder().and_then(|a| held.get_mut(&a)) {
                *count += 1;
            }
        }
        held
    }

    /// The agent holding `ticket_id` by its newest frame.
    pub fn holder_now(&self, ticket_id: i64) -> Option<i64> {
        self.latest.get(&ticket_id).and_then(Observation::holder)
    }

    /// Sweeps every ticket's holding intervals in `updated_at` order.
    pub fn verdict(&self) -> Verdict {
        // Per agent: (instant, +1 take / -1 release).
        let mut events: BTreeMap<i64, Vec<(Stamp, i32)>> = BTreeMap::new();
        let mut reassigned = Vec::new();
        for (&ticket_id, states) in &self.history {
            let mut holder: Option<i64> = None;
            for (at, &(status, supporter_id)) in states {
                let now = supporter_id.filter(|_| status.holds());
                if now == holder {
                    continue;
                }
                if let (Some(from), Some(to)) = (holder, now) {
                    reassigned.push(Reassignment {
                        ticket_id,
                        from,
                        to,
                        at: *at,
                    });
                }
                if let Some(from) = holder {
                    events.entry(from).or_default().push((*at, -1));
                }
                if let Some(to) = now {
                    events.entry(to).or_default().push((*at, 1));
                }
                holder = now;
            }
        }
        reassigned.sort_by(|a, b| (&a.at, a.ticket_id).cmp(&(&b.at, b.ticket_id)));
        let refill_ns = self.refills(&events);

        let mut verdict = Verdict {
            max_open_chats: self.max_open_chats.clone(),
            reassigned,
            refill_ns,
            ..Verdict::default()
        };
        for (&agent, &max_chats) in &self.capacity {
            let mut agent_events = events.remove(&agent).unwrap_or_default();
            // At the same instant a release goes first: one transaction's
            // release and another's take cannot share a microsecond by chance,
            // and the sweep must not invent an overlap.
            agent_events.sort();
            let (mut held, mut max) = (0i32, 0i32);
            for (_, step) in agent_events {
                held += step;
                max = max.max(held);
            }
            let max = max.max(0) as u32;
            verdict.max_held.insert(agent, max);
            let rest = self.max_open_chats.get(&agent).copied().unwrap_or(0);
            if max > max_chats || rest > max_chats {
                verdict.over_capacity.insert(agent);
            }
        }
        verdict
    }
}

impl HoldTracker {
    /// Walks every change in `updated_at` order with the number of tickets
    /// waiting (`open` without an agent): each release by a run's agent while
    /// one waited is answered by the next take by a run's agent.
    fn refills(&self, events: &BTreeMap<i64, Vec<(Stamp, i32)>>) -> Vec<u64> {
        // (instant, change of the waiting count, take by a run's agent,
        // release by a run's agent)
        let mut timeline: Vec<(&Stamp, i32, bool, bool)> = Vec::new();
        for states in self.history.values() {
            let mut waiting = false;
            for (at, &(status, supporter_id)) in states {
                let now = status == Status::Open && supporter_id.is_none();
                if now != waiting {
                    timeline.push((at, if now { 1 } else { -1 }, false, false));
                    waiting = now;
                }
            }
        }
        for (agent, agent_events) in events {
            if self.capacity.contains_key(agent) {
                for (at, step) in agent_events {
                    timeline.push((at, 0, *step > 0, *step < 0));
                }
            }
        }
        // Releases before takes at one instant, as in the sweep; a ticket
        // leaving the queue at the instant of its take counts as still waiting
        // for the release just before.
        timeline.sort_by(|a, b| a.0.cmp(b.0).then(b.3.cmp(&a.3)).then(a.1.cmp(&b.1)));
        let (mut waiting, mut pending, mut refills) = (0i64, Vec::<&Stamp>::new(), Vec::new());
        for (at, change, take, release) in timeline {
            if release && waiting > 0 {
                pending.push(at);
            }
            if take && !pending.is_empty() {
                let freed = pending.remove(0);
                refills.push((at.nanos() - freed.nanos()).max(0) as u64);
            }
            waiting += i64::from(change);
        }
        refills
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(second: u32, micros: u32) -> Stamp {
        Stamp::parse(&format!("2026-12-06T22:00:{second:02}.{micros:06}Z")).unwrap()
    }

    fn seen(ticket_id: i64, status: &str, supporter_id: Option<i64>, at: Stamp) -> Observation {
        Observation {
            ticket_id,
            status: Status::parse(status).unwrap(),
            supporter_id,
            updated_at: at,
        }
    }

    fn tracker(agents: &[(i64, u32)]) -> HoldTracker {
        HoldTracker::new(agents.iter().copied().collect())
    }

    #[test]
    fn stamps_order_as_instants_whatever_the_fraction_digits() {
        let half = Stamp::parse("2026-12-06T22:00:00.5Z").unwrap();
        assert_eq!(half, Stamp::parse("2026-12-06T22:00:00.500000Z").unwrap());
        assert_eq!(half, Stamp::parse("2026-12-06T22:00:00.5+00:00").unwrap());
        assert!(Stamp::parse("2026-12-06T22:00:00Z").unwrap() < half);
        assert!(half < Stamp::parse("2026-12-06T22:00:00.500001Z").unwrap());
        assert!(half < Stamp::parse("2026-12-06T22:00:01Z").unwrap());
        // Another offset names the same instant.
        assert_eq!(half, Stamp::parse("2026-12-06T23:00:00.5+01:00").unwrap());
        for bad in [
            "",
            "yesterday",
            "2026-12-06T22:00:00.5xZ",
            "2026-12-06T22:00Z",
        ] {
            assert_eq!(Stamp::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn an_agent_within_its_capacity_passes() {
        let mut t = tracker(&[(1, 2)]);
        t.observe(seen(10, "assigned", Some(1), stamp(1, 0)));
        t.observe(seen(11, "assigned", Some(1), stamp(2, 0)));
        t.observe(seen(10, "in_progress", Some(1), stamp(3, 0)));
        t.observe(seen(10, "resolved", Some(1), stamp(4, 0)));
        t.observe(seen(12, "assigned", Some(1), stamp(5, 0)));
        assert_eq!(t.held_now(), BTreeMap::from([(1, 2)]));
        let v = t.verdict();
        assert_eq!(v.max_held, BTreeMap::from([(1, 2)]));
        assert!(v.is_clean(), "{v:?}");
    }

    #[test]
    fn holding_more_than_max_chats_at_once_is_over_capacity() {
        let mut t = tracker(&[(1, 2), (2, 2)]);
        for (ticket, second) in [(10, 1), (11, 2), (12, 3)] {
            t.observe(seen(ticket, "assigned", Some(1), stamp(second, 0)));
        }
        t.observe(seen(13, "assigned", Some(2), stamp(4, 0)));
        let v = t.verdict();
        assert_eq!(v.max_held, BTreeMap::from([(1, 3), (2, 1)]));
        assert_eq!(v.over_capacity, BTreeSet::from([1]));
        assert!(!v.is_clean());
    }

    #[test]
    fn frames_arriving_out_of_order_are_judged_in_updated_at_order() {
        // Ticket 10 was resolved (second 3) before ticket 12 was given to the
        // same agent (second 4), but another node's frame about 12 came first:
        // at no instant did the agent hold three.
        let mut t = tracker(&[(1, 2)]);
        t.observe(seen(10, "assigned", Some(1), stamp(1, 0)));
        t.observe(seen(11, "assigned", Some(1), stamp(2, 0)));
        t.observe(seen(12, "assigned", Some(1), stamp(4, 0)));
        t.observe(seen(10, "resolved", Some(1), stamp(3, 0)));
        // The same frames again from the other feeds change nothing.
        assert!(!t.observe(seen(12, "assigned", Some(1), stamp(4, 0))));
        assert!(!t.observe(seen(10, "resolved", Some(1), stamp(3, 0))));
        let v = t.verdict();
        assert_eq!(v.max_held, BTreeMap::from([(1, 2)]));
        assert!(v.is_clean(), "{v:?}");
        // The newest frame wins for "now", whatever the arrival order.
        assert_eq!(t.holder_now(10), None);
        assert_eq!(t.holder_now(12), Some(1));
    }

    #[test]
    fn a_release_and_a_take_at_the_same_instant_do_not_overlap() {
        let mut t = tracker(&[(1, 1)]);
        t.observe(seen(10, "assigned", Some(1), stamp(1, 0)));
        t.observe(seen(11, "assigned", Some(1), stamp(2, 7)));
        t.observe(seen(10, "closed", Some(1), stamp(2, 7)));
        assert_eq!(t.verdict().max_held, BTreeMap::from([(1, 1)]));
    }

    #[test]
    fn a_ticket_moving_between_agents_without_the_queue_is_a_double_assignment() {
        let mut t = tracker(&[(1, 3), (2, 3)]);
        t.observe(seen(10, "assigned", Some(1), stamp(1, 0)));
        t.observe(seen(10, "in_progress", Some(2), stamp(2, 0)));
        // Back to the queue between two agents is fine.
        t.observe(seen(11, "assigned", Some(1), stamp(1, 0)));
        t.observe(seen(11, "open", None, stamp(2, 0)));
        t.observe(seen(11, "assigned", Some(2), stamp(3, 0)));
        // A resolved ticket no longer counts, so a later holder is no double.
        t.observe(seen(12, "assigned", Some(1), stamp(1, 0)));
        t.observe(seen(12, "resolved", Some(1), stamp(2, 0)));
        t.observe(seen(12, "in_progress", Some(2), stamp(3, 0)));
        let v = t.verdict();
        assert_eq!(
            v.reassigned,
            vec![Reassignment {
                ticket_id: 10,
                from: 1,
                to: 2,
                at: stamp(2, 0)
            }]
        );
        assert!(!v.is_clean());
        assert!(v.over_capacity.is_empty());
    }

    #[test]
    fn the_servers_own_count_above_max_chats_fails_too() {
        let mut t = tracker(&[(1, 3), (2, 3)]);
        t.sample_open_chats(1, 2);
        t.sample_open_chats(1, 3);
        t.sample_open_chats(2, 4);
        t.sample_open_chats(99, 40); // not an agent of the run
        let v = t.verdict();
        assert_eq!(v.max_open_chats, BTreeMap::from([(1, 3), (2, 4)]));
        assert_eq!(v.over_capacity, BTreeSet::from([2]));
    }

    #[test]
    fn stamps_give_nanoseconds_since_the_epoch() {
        let at = |text: &str| Stamp::parse(text).unwrap().nanos();
        assert_eq!(at("1970-01-01T00:00:00Z"), 0);
        assert_eq!(at("1970-01-02T00:00:01.5Z"), 86_401_500_000_000);
        // 2026-12-06T22:00:00Z is 1,796,594,400 s after the epoch.
        assert_eq!(at("2026-12-06T22:00:00Z"), 1_796_594_400_000_000_000);
        assert_eq!(
            at("2024-02-29T23:59:59.000000001Z") + 999_999_999,
            at("2024-03-01T00:00:00Z")
        );
    }

    #[test]
    fn a_freed_place_is_timed_until_the_next_waiting_ticket_takes_it() {
        let mut t = tracker(&[(1, 1)]);
        t.observe(seen(10, "assigned", Some(1), stamp(1, 0)));
        // Ticket 11 waits from second 2; the place frees at 3 and 11 gets it
        // 40 ms later.
        t.observe(seen(11, "open", None, stamp(2, 0)));
        t.observe(seen(10, "resolved", Some(1), stamp(3, 0)));
        t.observe(seen(11, "assigned", Some(1), stamp(3, 40_000)));
        // Freed with nobody waiting: nothing to time.
        t.observe(seen(11, "resolved", Some(1), stamp(5, 0)));
        t.observe(seen(12, "open", None, stamp(6, 0)));
        t.observe(seen(12, "assigned", Some(1), stamp(6, 5_000)));
        assert_eq!(t.verdict().refill_ns, vec![40_000_000]);
    }

    #[test]
    fn tickets_of_other_agents_are_not_judged() {
        let mut t = tracker(&[(1, 1)]);
        for (ticket, second) in [(10, 1), (11, 2), (12, 3)] {
            t.observe(seen(ticket, "assigned", Some(7), stamp(second, 0)));
        }
        let v = t.verdict();
        assert_eq!(v.max_held, BTreeMap::from([(1, 0)]));
        assert!(v.is_clean());
    }
}
