//! A node's periodic upkeep besides the hub's reconciliation and the session
//! heartbeat (`chat::sessions`): gauges, rate-limiter sweeps, and the sweep of
//! stored files (orphaned uploads, the retention).

use super::AppState;
use crate::chat;
use crate::domain::TicketStatus;
use crate::http::health;
use crate::metrics::metrics;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often idle rate-limiter keys are forgotten.
const LIMITER_SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// How often the ticket gauges of the live statuses are refreshed (one grouped
/// count of their rows, by the status index).
const TICKET_GAUGE_INTERVAL: Duration = Duration::from_secs(15);
/// Every how many refreshes the closed tickets are counted too: they are
/// nearly every ticket, and their count only grows slowly.
const CLOSED_GAUGE_EVERY: u64 = 40;
/// How often readiness and the broker's state are refreshed into their gauges.
const HEALTH_GAUGE_INTERVAL: Duration = Duration::from_secs(2);

/// Refreshes the ticket gauges from one grouped count of the live statuses'
/// rows, so it stays cheap however many tickets were closed; the closed ones
/// are counted at start and every [`CLOSED_GAUGE_EVERY`] refreshes (10 minutes).
pub(super) async fn refresh_ticket_gauges(state: AppState, stop: CancellationToken) {
    let mut tick = tokio::time::interval(TICKET_GAUGE_INTERVAL);
    let live: Vec<TicketStatus> = TicketStatus::ALL
        .into_iter()
        .filter(|s| *s != TicketStatus::Closed)
        .collect();
    for round in 0u64.. {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let m = metrics();
        let statuses = if round % CLOSED_GAUGE_EVERY == 0 {
            &TicketStatus::ALL[..]
        } else {
            &live[..]
        };
        if let Ok(counts) = state.store.ticket_counts_by_status(statuses).await {
            for &status in statuses {
                let n = counts
                    .iter()
                    .find(|(s, _)| *s == status)
                    .map_or(0, |(_, n)| *n);
                m.tickets.with_label_values(&[status.as_str()]).set(n);
            }
        }
    }
}

/// Keeps `livesupport_ready` and `livesupport_broker_up` current, so that an
/// alert sees a node running degraded within seconds.
pub(super) async fn refresh_health_gauges(state: AppState, stop: CancellationToken) {
    let mut tick = tokio::time::interval(HEALTH_GAUGE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        health::record(&health::checks(&state).await, &state);
    }
}

pub(super) async fn sweep_limiters(state: AppState, stop: CancellationToken) {
    let mut tick = tokio::time::interval(LIMITER_SWEEP_INTERVAL);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {
                state.limiters.forget_idle();
                state.chat.message_limits.forget_idle();
            }
        }
    }
}

/// Deletes orphaned uploads and, with a retention, old files, every
/// `attachment_sweep.interval` (the first round a minute after start, or at
/// once when the interval is shorter).
pub(super) async fn sweep_attachments(state: AppState, stop: CancellationToken) {
    let sweep = state.settings.attachment_sweep;
    let first = sweep.interval.min(Duration::from_secs(60));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + first, sweep.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let attachments = &state.chat.attachments;
        match chat::attachments::sweep(
            state.store.as_ref(),
            &attachments.storage,
            sweep.orphan_after,
            sweep.retention,
        )
        .await
        {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "attachment sweep deleted files"),
            Err(err) => tracing::warn!(cause = %err, "attachment sweep failed; retried next round"),
        }
    }
}
