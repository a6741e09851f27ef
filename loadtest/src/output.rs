//! What a person or a script sees: a progress line a second on stderr, then a
//! human table, or with `--json` one JSON line on stdout (the last line).

use crate::{Details, Mode, Outcome};
use std::fmt::Write as _;

/// The chat run's progress line.
pub fn progress_line(
    seconds: f64,
    sent: u64,
    delivered: u64,
    in_flight: u64,
    errors: u64,
    p99_ms: f64,
    lag_max_ms: f64,
) {
    eprintln!(
        "[{seconds:>6.1} s] sent {sent:>8}  delivered {delivered:>8}  in flight {in_flight:>6}  errors {errors:>5}  p99 {p99_ms:>8.2} ms  behind {lag_max_ms:>7.1} ms"
    );
}

/// The idle run's progress line.
pub fn idle_progress_line(seconds: f64, open: u64, opened: u64, errors: u64) {
    eprintln!("[{seconds:>6.1} s] open {open:>7}/{opened}  errors {errors:>5}");
}

/// The routing run's progress line.
pub fn routing_progress_line(
    seconds: f64,
    arrived: u64,
    assigned: u64,
    held: u32,
    max_held: u32,
    handled: u64,
    errors: u64,
) {
    eprintln!(
        "[{seconds:>6.1} s] visitors {arrived:>6}  assigned {assigned:>6}  waiting {:>5}  held {held:>4} (max per agent {max_held})  resolved {handled:>6}  errors {errors:>5}",
        arrived.saturating_sub(assigned)
    );
}

/// Advice for the errors seen, if any is known.
pub fn hints(outcome: &Outcome) -> Vec<String> {
    let (report, details) = (&outcome.report, &outcome.details);
    let mut hints = Vec::new();
    if report.lost > 0 && report.latency_ms.p99 > details.drain_s * 1000.0 / 2.0 {
        hints.push(format!(
            "lost messages with a p99 latency of {:.0} ms: the node was overloaded and may \
             have delivered them after the {:.0} s drain; run again with a longer --drain to \
             tell late from lost",
            report.latency_ms.p99, details.drain_s
        ));
    }
    if details.error_kinds.contains_key("rate_limited") {
        hints.push(
            "rate_limited error frames: the node limits chat messages per connection \
             (burst 20, then 1 a second by default), and visitors' messages per ticket \
             and per client IP. Start it with MESSAGE_BURST=100000 \
             MESSAGE_RATE_PER_SECOND=100000 MESSAGE_TICKET_RATE_PER_MINUTE=1000000 \
             MESSAGE_IP_RATE_PER_MINUTE=1000000 for load runs."
                .to_owned(),
        );
    }
    if details.error_kinds.contains_key("closed 1013") {
        hints.push(
            "sockets closed with 1013: the node found them too slow (its outbound \
             queue filled) or could not keep the seq stream; lower --rate or add nodes."
                .to_owned(),
        );
    }
    if details.error_kinds.contains_key("closed 1012") {
        hints.push("sockets closed with 1012: the node was draining (restarting).".to_owned());
    }
    if let Some(chaos) = &report.chaos
        && chaos.cuts > 0
        && chaos.cuts_noticed < chaos.cuts
    {
        hints.push(format!(
            "{} of {} cuts went unnoticed by every node's /api/support/health: is the victim \
             node started with REDIS_URL=redis://LISTEN of --chaos-redis? A cut nobody \
             noticed tested nothing",
            chaos.cuts - chaos.cuts_noticed,
            chaos.cuts
        ));
    }
    if let Some(chaos) = &report.chaos
        && chaos.later_than_promise > 0
    {
        hints.push(format!(
            "{} deliveries took longer than the {} s a message is promised to take, \
             whatever the broker does (worst {:.0} ms)",
            chaos.later_than_promise,
            crate::accounting::PROMISED_DELIVERY_MS / 1000,
            chaos.latency_max_ms
        ));
    }
    if let Some(routing) = &report.routing
        && routing.starved > 0
    {
        hints.push(format!(
            "{} visitors waited through the last {} s without an agent while some agent of \
             the run was online below max_chats: automatic assignment left capacity unused",
            routing.starved,
            crate::routing::STARVATION_GRACE.as_secs()
        ));
    }
    if let Some(dash) = &report.dashboards {
        if dash.tickets_noticed < dash.tickets_written {
            let old = dash.other_kinds.get("message").copied().unwrap_or(0);
            hints.push(format!(
                "the dashboards got no chat notice for {} of the {} tickets written to{}",
                dash.tickets_written - dash.tickets_noticed,
                dash.tickets_written,
                if old > 0 {
                    format!(
                        ": the feeds carried {old} `message` frames, as a node before issue 20 \
                         does (no `notices`)"
                    )
                } else {
                    String::new()
                }
            ));
        }
        if dash.failed > 0 {
            hints.push(format!(
                "{} of {} dashboard feeds were closed or broke during the run{}",
                dash.failed,
                dash.feeds,
                kinds_note(&dash.failures)
            ));
        }
    }
    if details.error_kinds.contains_key("ticket creation failed") {
        hints.push(
            "ticket creation failed: start the node with TICKET_RATE_PER_MINUTE=1000000 \
             (all visitors come from one IP)"
                .to_owned(),
        );
    }
    if details.lag_ms.max > 100.0 {
        hints.push(format!(
            "the generator fell behind its schedule by up to {:.0} ms (latencies include \
             that wait): this machine may be short of CPU for the rate",
            details.lag_ms.max
        ));
    }
    hints
}

/// The human table.
pub fn table(outcome: &Outcome) -> String {
    let (r, d) = (&outcome.report, &outcome.details);
    let mut out = String::new();
    let mut row = |name: &str, value: String, note: &str| {
        let line = format!("  {name:<18} {value:>12}  {note}");
        let _ = writeln!(out, "{}", line.trim_end());
    };
    row("tickets", r.tickets.to_string(), "");
    match d.mode {
        Mode::Chat => {
            row(
                "connections",
                r.connections.to_string(),
                "visitor + agent sockets",
            );
            row(
                "sent",
                r.sent.to_string(),
                "chat messages written, both sides",
            );
            row(
                "delivered",
                r.delivered.to_string(),
                "received by the other party",
            );
            row(
                "acknowledged",
                d.acknowledged.to_string(),
                "own copy back to the sender",
            );
            row(
                "refused",
                d.refused.to_string(),
                "answered with an error frame",
            );
            row(
                "lost",
                r.lost.to_string(),
                "sent, never delivered, not refused",
            );
            row(
                "duplicated",
                r.duplicated.to_string(),
                "same seq or message twice",
            );
            row(
                "out_of_order",
                r.out_of_order.to_string(),
                &format!("gaps or late seqs ({} seqs missing)", d.missing_seqs),
            );
            row("errors", r.errors.to_string(), &error_note(d));
            row(
                "throughput_per_s",
                format!("{:.1}", r.throughput_per_s),
                &format!("deliveries a second over {:.1} s", d.elapsed_s),
            );
            let l = &r.latency_ms;
            row(
                "latency p50",
                format!("{:.3}", l.p50),
                "ms, send → other party",
            );
            row("latency p90", format!("{:.3}", l.p90), "ms");
            row("latency p99", format!("{:.3}", l.p99), "ms");
            row("latency max", format!("{:.3}", l.max), "ms");
            row(
                "behind schedule",
                format!("{:.3}", d.lag_ms.p99),
                &format!("ms p99 (max {:.3} ms)", d.lag_ms.max),
            );
            if let (Some(c), Some(cd)) = (&r.chaos, &d.chaos) {
                row(
                    "chaos cuts",
                    c.cuts.to_string(),
                    &format!(
                        "of the Redis link {} → {}, {} s each, every {} s",
                        cd.link.listen, cd.link.upstream, cd.cut_s, cd.every_s
                    ),
                );
                row("seconds cut", format!("{:.1}", c.cut_seconds), "in all");
                row(
                    "cuts noticed",
                    c.cuts_noticed.to_string(),
                    &format!("broker check not ok during the cut: {}", noticed_note(cd)),
                );
                row(
                    "broker back",
                    c.broker_back_max_s
                        .map_or_else(|| "-".to_owned(), |s| format!("{s:.2}")),
                    "s after a restore, slowest (health polled every 0.25 s)",
                );
                row(
                    "sent during cuts",
                    c.sent_during_cuts.to_string(),
                    &format!("due while cut; {} of them lost", c.lost_during_cuts),
                );
                let l = &c.during_cuts_latency_ms;
                row(
                    "during cuts p99",
                    format!("{:.3}", l.p99),
                    &format!("ms (p50 {:.3} ms)", l.p50),
                );
                row("during cuts max", format!("{:.3}", l.max), "ms");
                row(
                    "worst delay",
                    format!("{:.3}", c.latency_max_ms),
                    "ms, any message of the run",
                );
                row(
                    "later than 5 s",
                    c.later_than_promise.to_string(),
                    "deliveries slower than the promise (late, not lost)",
                );
            }
            if let Some(dash) = &r.dashboards {
                dashboard_rows(dash, &mut row);
            }
        }
        Mode::Routing => routing_rows(outcome, &mut row),
        Mode::Storm => {
            let storm = r.storm.clone().unwrap_or_default();
            row("sockets", storm.sockets.to_string(), "reconnecting at once");
            row("ready", storm.ready.to_string(), "got their ready frame");
            row(
                "replay ok",
                storm.replay_ok.to_string(),
                "then exactly the message they missed",
            );
            let l = &storm.ready_ms;
            row(
                "ready p50",
                format!("{:.1}", l.p50),
                "ms, storm start → ready",
            );
            row("ready p99", format!("{:.1}", l.p99), "ms");
            row("ready max", format!("{:.1}", l.max), "ms");
            row(
                "all ready",
                storm
                    .all_ready_s
                    .map_or_else(|| "-".to_owned(), |s| format!("{s:.2}")),
                "s until the last socket was ready",
            );
            row("errors", r.errors.to_string(), &error_note(d));
        }
        Mode::Idle => {
            row("opened", d.opened.to_string(), "visitor sockets opened");
            row(
                "connections",
                r.connections.to_string(),
                &format!("held for {:.1} s", d.elapsed_s),
            );
            row("errors", r.errors.to_string(), &error_note(d));
        }
    }
    let header = match d.mode {
        Mode::Chat => format!(
            "loadtest: {} msg/s for {} s over {} tickets on {} node(s), open loop (setup {:.1} s)",
            d.rate, d.duration_s, r.tickets, d.nodes, d.setup_s
        ),
        Mode::Idle => format!(
            "loadtest: {} idle sockets on {} node(s) for {} s (setup {:.1} s)",
            d.opened, d.nodes, d.duration_s, d.setup_s
        ),
        Mode::Storm => format!(
            "loadtest: storm of {} reconnecting visitor sockets on {} node(s) (setup {:.1} s)",
            r.tickets, d.nodes, d.setup_s
        ),
        Mode::Routing => {
            let routing = r.routing.clone().unwrap_or_default();
            let (hold, arrivals) = d
                .routing
                .as_ref()
                .map_or((0.0, "fixed"), |rd| (rd.hold_s, arrivals_name(rd)));
            format!(
                "loadtest: routing, {} agents × max_chats {}, {} visitors/s ({arrivals}) for {} s, \
                 mean hold {hold} s, on {} node(s) (setup {:.1} s)",
                routing.agents, routing.max_chats, d.rate, d.duration_s, d.nodes, d.setup_s
            )
        }
    };
    let verdict = if r.is_clean() {
        "result: OK".to_owned()
    } else if d.mode == Mode::Routing {
        "result: FAILED (an agent above max_chats, a ticket with two agents, a starved visitor, \
         an agent mismatch or errors)"
            .to_owned()
    } else if d.mode == Mode::Storm {
        "result: FAILED (a socket not ready, a wrong replay or errors)".to_owned()
    } else {
        "result: FAILED (lost, duplicated, out_of_order or errors is not zero)".to_owned()
    };
    let mut text = format!("{header}\n{out}{verdict}\n");
    for hint in hints(outcome) {
        let _ = writeln!(text, "hint: {hint}");
    }
    text
}

/// The rows of a chat run's `--dashboards` feeds.
fn dashboard_rows(g: &crate::DashboardsReport, row: &mut impl FnMut(&str, String, &str)) {
    row(
        "dashboards",
        g.feeds.to_string(),
        &format!(
            "agent feeds read for {:.1} s; {} closed or failed{}",
            g.seconds,
            g.failed,
            kinds_note(&g.failures)
        ),
    );
    let per = &g.frames_per_s_per_feed;
    row(
        "feed frames/s",
        format!("{:.1}", g.frames_per_s),
        &format!(
            "all feeds; per feed {:.1} (min {:.1}, max {:.1})",
            per.mean, per.min, per.max
        ),
    );
    row(
        "feed bytes/s",
        format!("{:.0}", g.bytes_per_s),
        &format!("all feeds ({} bytes in {} frames)", g.bytes, g.frames),
    );
    row(
        "notices frames",
        g.notices_frames.to_string(),
        &format!("with {} notices ({} unreadable)", g.notices, g.bad_notices),
    );
    row(
        "other frames",
        g.other_frames.to_string(),
        kinds_note(&g.other_kinds).trim_start_matches(": "),
    );
    let l = &g.lag_ms;
    row(
        "notice lag p50",
        format!("{:.3}", l.p50),
        "ms, receipt − the notice's at (this machine's clock − the node's)",
    );
    row(
        "notice lag p99",
        format!("{:.3}", l.p99),
        &if g.lag_negative > 0 {
            format!(
                "ms ({} notices dated after their receipt, left out)",
                g.lag_negative
            )
        } else {
            "ms".to_owned()
        },
    );
    row("notice lag max", format!("{:.3}", l.max), "ms");
    row(
        "tickets noticed",
        format!("{}/{}", g.tickets_noticed, g.tickets_written),
        "tickets written to that some feed got a chat notice for",
    );
}

/// `: a ×1, b ×2`, or nothing when empty.
fn kinds_note(kinds: &std::collections::BTreeMap<String, u64>) -> String {
    if kinds.is_empty() {
        return String::new();
    }
    let list = kinds
        .iter()
        .map(|(kind, n)| format!("{kind} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(": {list}")
}

fn arrivals_name(details: &crate::RoutingDetails) -> &'static str {
    match details.arrivals {
        crate::routing::Arrivals::Fixed => "fixed interval",
        crate::routing::Arrivals::Poisson => "Poisson",
    }
}

/// The routing run's rows of the table.
fn routing_rows(outcome: &Outcome, row: &mut impl FnMut(&str, String, &str)) {
    let (r, d) = (&outcome.report, &outcome.details);
    let Some(g) = &r.routing else { return };
    row("visitors", g.visitors.to_string(), "tickets asked for");
    row(
        "assigned",
        g.assigned.to_string(),
        &format!(
            "given an agent ({} before their socket was ready)",
            g.assigned_before_ready
        ),
    );
    row(
        "unassigned",
        g.unassigned.to_string(),
        &format!("waiting at the end; {} of them starved", g.starved),
    );
    let l = &g.time_to_assignment_ms;
    row(
        "assignment p50",
        format!("{:.3}", l.p50),
        "ms, ticket POST → supporter_joined on the visitor's socket",
    );
    row("assignment p90", format!("{:.3}", l.p90), "ms");
    row("assignment p99", format!("{:.3}", l.p99), "ms");
    row("assignment max", format!("{:.3}", l.max), "ms");
    let f = &g.feed_time_to_assignment_ms;
    row(
        "by the feed p50",
        format!("{:.3}", f.p50),
        &format!(
            "ms (p99 {:.3} ms): ticket POST → first feed frame with the agent",
            f.p99
        ),
    );
    row(
        "refill p50",
        format!("{:.3}", g.refill_ms.p50),
        &format!(
            "ms (p99 {:.3}, max {:.3} ms): a place freed while a visitor waited → given again ({}×)",
            g.refill_ms.p99, g.refill_ms.max, g.refills
        ),
    );
    row(
        "queue frames",
        g.queue_frames.to_string(),
        &format!(
            "{} visitors were given a position, the highest {}",
            g.queued_visitors, g.max_queue_position
        ),
    );
    row(
        "resolved",
        g.handled.to_string(),
        &format!(
            "answered ({} replies) and resolved by the agents",
            d.acknowledged
        ),
    );
    let per_agent = |m: &std::collections::BTreeMap<i64, u32>| {
        m.iter()
            .map(|(agent, n)| format!("#{agent}:{n}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    row(
        "max concurrent",
        g.max_concurrent
            .values()
            .max()
            .copied()
            .unwrap_or(0)
            .to_string(),
        &format!("per agent by the feed: {}", per_agent(&g.max_concurrent)),
    );
    row(
        "max open_chats",
        g.max_open_chats
            .values()
            .max()
            .copied()
            .unwrap_or(0)
            .to_string(),
        &format!(
            "per agent by the server: {} ({} REST samples)",
            per_agent(&g.max_open_chats),
            d.routing.as_ref().map_or(0, |rd| rd.samples)
        ),
    );
    row(
        "over capacity",
        g.over_capacity.to_string(),
        &format!("agents above max_chats {}", g.max_chats),
    );
    row(
        "double assigned",
        g.double_assigned.to_string(),
        "tickets given to two agents",
    );
    row(
        "agent mismatch",
        g.agent_mismatch.to_string(),
        "visitor's socket and feed named different agents",
    );
    row("errors", r.errors.to_string(), &error_note(d));
}

/// Per cut, the nodes (numbered as in `--url`, from 1) that noticed it.
fn noticed_note(chaos: &crate::ChaosDetails) -> String {
    chaos
        .cuts
        .iter()
        .enumerate()
        .map(|(i, (_, seen))| {
            let nodes = if seen.noticed_by.is_empty() {
                "nobody".to_owned()
            } else {
                seen.noticed_by
                    .iter()
                    .map(|n| format!("node {}", n + 1))
                    .collect::<Vec<_>>()
                    .join("+")
            };
            format!("cut {} {nodes}", i + 1)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn error_note(details: &Details) -> String {
    if details.error_kinds.is_empty() {
        return String::new();
    }
    details
        .error_kinds
        .iter()
        .map(|(kind, n)| format!("{kind} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// With `--json`: what the fixed keys leave out, as one stderr line.
pub fn json_side_note(outcome: &Outcome) -> String {
    let d = &outcome.details;
    let mut note = match d.mode {
        Mode::Chat => format!(
            "loadtest: acknowledged {}, refused {}, missing seqs {}, behind schedule p99 {:.3} ms max {:.3} ms",
            d.acknowledged, d.refused, d.missing_seqs, d.lag_ms.p99, d.lag_ms.max
        ),
        Mode::Idle => format!(
            "loadtest: opened {}, held {}",
            d.opened, outcome.report.connections
        ),
        Mode::Storm => format!(
            "loadtest: storm, {} ready in {:.2} s",
            d.opened, d.elapsed_s
        ),
        Mode::Routing => {
            let rd = d.routing.as_ref();
            format!(
                "loadtest: routing, {} REST samples, {} replies, reassigned {:?}, over capacity {:?}",
                rd.map_or(0, |rd| rd.samples),
                d.acknowledged,
                rd.map(|rd| rd.reassigned.clone()).unwrap_or_default(),
                rd.map(|rd| rd.over_capacity.clone()).unwrap_or_default()
            )
        }
    };
    if let Some(chaos) = &d.chaos {
        let _ = write!(note, "; chaos: {}", noticed_note(chaos));
    }
    if let Some(dash) = &outcome.report.dashboards {
        let _ = write!(
            note,
            "; dashboards: {} feeds, {:.1} frames/s, notice lag p99 {:.3} ms, tickets noticed {}/{}",
            dash.feeds,
            dash.frames_per_s,
            dash.lag_ms.p99,
            dash.tickets_noticed,
            dash.tickets_written
        );
    }
    if !d.error_kinds.is_empty() {
        let _ = write!(note, "; errors: {}", error_note(d));
    }
    for hint in hints(outcome) {
        let _ = write!(note, "\nhint: {hint}");
    }
    note
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Latency, Report};
    use std::collections::BTreeMap;

    fn outcome(report: Report, kinds: &[(&str, u64)]) -> Outcome {
        Outcome {
            report,
            details: Details {
                mode: Mode::Chat,
                nodes: 1,
                rate: 200.0,
                duration_s: 10.0,
                acknowledged: 0,
                refused: 0,
                unacknowledged: 0,
                missing_seqs: 0,
                lag_ms: Latency::default(),
                elapsed_s: 10.0,
                error_kinds: kinds
                    .iter()
                    .map(|(k, n)| (k.to_string(), *n))
                    .collect::<BTreeMap<_, _>>(),
                opened: 40,
                setup_s: 0.5,
                drain_s: 5.0,
                chaos: None,
                routing: None,
            },
        }
    }

    #[test]
    fn a_clean_run_says_ok_without_hints() {
        let clean = outcome(Report::default(), &[]);
        let table = table(&clean);
        assert!(table.contains("result: OK"), "{table}");
        assert!(!table.contains("hint:"), "{table}");
        assert!(
            table.lines().all(|l| l == l.trim_end()),
            "no trailing spaces"
        );
    }

    #[test]
    fn rate_limits_and_overload_get_a_hint() {
        let limited = outcome(
            Report {
                errors: 16,
                ..Report::default()
            },
            &[("rate_limited", 16)],
        );
        let table = table(&limited);
        assert!(table.contains("FAILED"), "{table}");
        assert!(table.contains("rate_limited ×16"), "{table}");
        assert!(table.contains("MESSAGE_BURST=100000"), "{table}");
        assert!(json_side_note(&limited).contains("MESSAGE_RATE_PER_SECOND"));

        let overloaded = outcome(
            Report {
                lost: 3,
                latency_ms: Latency {
                    p99: 9000.0,
                    ..Latency::default()
                },
                ..Report::default()
            },
            &[],
        );
        assert!(table_has(&overloaded, "--drain"));
    }

    #[test]
    fn a_chaos_run_shows_its_cuts_and_warns_when_nobody_noticed_one() {
        use crate::chaos::{Cut, CutSeen};
        let cut = |start_s: f64| Cut {
            start_s,
            end_s: start_s + 2.0,
        };
        let mut chaotic = outcome(
            Report {
                chaos: Some(crate::ChaosReport {
                    cuts: 2,
                    cut_seconds: 4.0,
                    cuts_noticed: 1,
                    latency_max_ms: 6234.5,
                    later_than_promise: 3,
                    ..crate::ChaosReport::default()
                }),
                ..Report::default()
            },
            &[],
        );
        chaotic.details.chaos = Some(crate::ChaosDetails {
            link: "127.0.0.1:6380=127.0.0.1:6379".parse().unwrap(),
            cut_s: 2.0,
            every_s: 5.0,
            cuts: vec![
                (
                    cut(5.0),
                    CutSeen {
                        noticed_by: vec![1],
                        back_after_s: Some(0.5),
                    },
                ),
                (
                    cut(10.0),
                    CutSeen {
                        noticed_by: vec![],
                        back_after_s: None,
                    },
                ),
            ],
        });
        let table = table(&chaotic);
        assert!(table.contains("chaos cuts"), "{table}");
        assert!(table.contains("cut 1 node 2, cut 2 nobody"), "{table}");
        assert!(table.contains("6234.500"), "{table}");
        assert!(
            table.contains("3 deliveries took longer than the 5 s"),
            "{table}"
        );
        assert!(table.contains("1 of 2 cuts went unnoticed"), "{table}");
        assert!(table.contains("result: OK"), "{table}");
        assert!(json_side_note(&chaotic).contains("chaos: cut 1 node 2"));
        assert!(!table_has(&outcome(Report::default(), &[]), "chaos"));
    }

    #[test]
    fn a_routing_run_shows_assignment_and_fails_on_an_agent_over_capacity() {
        use crate::routing::{Arrivals, RoutingReport};
        let mut routed = outcome(
            Report {
                tickets: 120,
                routing: Some(RoutingReport {
                    agents: 2,
                    max_chats: 3,
                    visitors: 120,
                    assigned: 120,
                    time_to_assignment_ms: Latency {
                        p50: 12.5,
                        p90: 20.0,
                        p99: 2100.0,
                        max: 2400.0,
                    },
                    queue_frames: 40,
                    queued_visitors: 12,
                    max_queue_position: 4,
                    max_concurrent: BTreeMap::from([(5, 3), (6, 3)]),
                    max_open_chats: BTreeMap::from([(5, 3), (6, 3)]),
                    ..RoutingReport::default()
                }),
                ..Report::default()
            },
            &[],
        );
        routed.details.mode = Mode::Routing;
        routed.details.routing = Some(crate::RoutingDetails {
            hold_s: 5.0,
            arrivals: Arrivals::Poisson,
            samples: 300,
            reassigned: vec![],
            over_capacity: vec![],
        });
        let text = table(&routed);
        assert!(text.contains("routing, 2 agents × max_chats 3"), "{text}");
        assert!(text.contains("(Poisson)"), "{text}");
        assert!(text.contains("2100.000"), "{text}");
        assert!(text.contains("#5:3 #6:3"), "{text}");
        assert!(
            text.contains("12 visitors were given a position, the highest 4"),
            "{text}"
        );
        assert!(text.contains("result: OK"), "{text}");
        assert!(
            text.lines().all(|l| l == l.trim_end()),
            "no trailing spaces"
        );

        let mut over = routed.clone();
        if let Some(r) = over.report.routing.as_mut() {
            r.max_open_chats.insert(6, 4);
            r.over_capacity = 1;
        }
        let text = table(&over);
        assert!(text.contains("FAILED (an agent above max_chats"), "{text}");
        let json: serde_json::Value = serde_json::from_str(&over.report.to_json()).unwrap();
        assert_eq!(json["routing"]["over_capacity"], 1);
        assert_eq!(json["routing"]["max_open_chats"]["6"], 4);
        assert_eq!(json["routing"]["time_to_assignment_ms"]["p99"], 2100.0);

        let mut starved = routed;
        if let Some(r) = starved.report.routing.as_mut() {
            r.unassigned = 2;
            r.starved = 2;
        }
        assert!(!starved.report.is_clean());
        assert!(table_has(
            &starved,
            "automatic assignment left capacity unused"
        ));
    }

    #[test]
    fn a_chat_run_with_dashboards_shows_the_feeds_and_warns_when_a_ticket_went_unnoticed() {
        let dash = crate::DashboardsReport {
            feeds: 4,
            seconds: 12.5,
            frames: 500,
            frames_per_s: 40.0,
            frames_per_s_per_feed: crate::dashboards::PerFeed {
                mean: 10.0,
                min: 9.8,
                max: 10.2,
            },
            bytes: 250_000,
            bytes_per_s: 20_000.0,
            notices_frames: 480,
            notices: 1900,
            other_frames: 20,
            other_kinds: BTreeMap::from([("ticket_updated".to_owned(), 20)]),
            lag_ms: Latency {
                p50: 105.5,
                p90: 120.0,
                p99: 180.25,
                max: 240.0,
            },
            tickets_written: 20,
            tickets_noticed: 20,
            ..crate::DashboardsReport::default()
        };
        let watched = outcome(
            Report {
                dashboards: Some(dash.clone()),
                ..Report::default()
            },
            &[],
        );
        let text = table(&watched);
        assert!(
            text.contains("agent feeds read for 12.5 s; 0 closed"),
            "{text}"
        );
        assert!(text.contains("per feed 10.0 (min 9.8, max 10.2)"), "{text}");
        assert!(text.contains("with 1900 notices"), "{text}");
        assert!(text.contains("ticket_updated ×20"), "{text}");
        assert!(text.contains("180.250"), "{text}");
        assert!(text.contains("20/20"), "{text}");
        assert!(text.contains("result: OK"), "{text}");
        assert!(!text.contains("hint:"), "{text}");
        assert!(
            text.lines().all(|l| l == l.trim_end()),
            "no trailing spaces"
        );
        assert!(json_side_note(&watched).contains("tickets noticed 20/20"));

        // A node before issue 20: `message` frames, no notices; one feed cut.
        let old = outcome(
            Report {
                dashboards: Some(crate::DashboardsReport {
                    notices_frames: 0,
                    notices: 0,
                    other_kinds: BTreeMap::from([("message".to_owned(), 480)]),
                    tickets_noticed: 0,
                    failed: 1,
                    failures: BTreeMap::from([("closed 1011".to_owned(), 1)]),
                    ..dash
                }),
                ..Report::default()
            },
            &[],
        );
        let text = table(&old);
        assert!(text.contains("result: OK"), "feeds do not judge: {text}");
        assert!(
            text.contains("no chat notice for 20 of the 20 tickets"),
            "{text}"
        );
        assert!(text.contains("480 `message` frames"), "{text}");
        assert!(
            text.contains(
                "1 of 4 dashboard feeds were closed or broke during the run: closed 1011 ×1"
            ),
            "{text}"
        );
        // Without --dashboards nothing of it shows.
        assert!(!table_has(&outcome(Report::default(), &[]), "dashboards"));
        assert!(!table_has(&outcome(Report::default(), &[]), "notice"));
    }

    fn table_has(outcome: &Outcome, text: &str) -> bool {
        table(outcome).contains(text)
    }
}
