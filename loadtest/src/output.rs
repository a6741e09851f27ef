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
             (burst 20, then 1 a second by default). Start it with \
             MESSAGE_BURST=100000 MESSAGE_RATE_PER_SECOND=100000 for load runs."
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
    };
    let verdict = if r.is_clean() {
        "result: OK".to_owned()
    } else {
        "result: FAILED (lost, duplicated, out_of_order or errors is not zero)".to_owned()
    };
    let mut text = format!("{header}\n{out}{verdict}\n");
    for hint in hints(outcome) {
        let _ = writeln!(text, "hint: {hint}");
    }
    text
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
    };
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

    fn table_has(outcome: &Outcome, text: &str) -> bool {
        table(outcome).contains(text)
    }
}
