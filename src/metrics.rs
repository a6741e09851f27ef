//! Every Prometheus metric of the service, in one place. Names carry the
//! `livesupport_` prefix and their unit; labels take a small fixed set of values
//! (never ticket ids, session ids or paths).
//!
//! The metrics live in one process-wide registry: a process is one node.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::sync::LazyLock;

/// Latency buckets from 0.5 ms to 10 s: chat paths live in the low milliseconds,
/// and the alert thresholds (0.05, 0.1, 0.25 s) are bucket bounds.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Waits in the queue, from a second to an hour.
const WAIT_BUCKETS: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
];

/// Messages per batched append, up to the appender's largest batch (64).
const BATCH_SIZE_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

pub struct Metrics {
    registry: Registry,
    /// Open sockets by role: `user`, `supporter`, `agent` (the feed).
    pub connections_open: IntGaugeVec,
    /// Messages stored, by sender type (duplicates of a resend are not counted).
    pub messages_stored: IntCounterVec,
    /// Frames written to sockets, by frame type.
    pub frames_delivered: IntCounterVec,
    /// From a message's store to its write on a socket, per socket.
    pub delivery_latency: Histogram,
    /// Store calls by operation.
    pub store_duration: HistogramVec,
    /// Messages per append statement of PostgreSQL's appender (group commit).
    pub store_append_batch_size: Histogram,
    /// Broker calls by operation (`publish`, `subscribe`, `unsubscribe`).
    pub broker_duration: HistogramVec,
    pub broker_reconnects: IntCounter,
    /// Tickets refilled from the store after a broker reconnect.
    pub broker_resubscriptions: IntCounter,
    /// 1 while the broker answers with every subscription in place; 0 while the
    /// node runs degraded (delivery between nodes by reconciliation only).
    pub broker_up: IntGauge,
    /// Deliveries the hub's bounded inbox had no room for (each marks the inbox
    /// lagged: the hub then reconciles every ticket with the store).
    pub broker_inbox_overflows: IntCounter,
    /// Failed publishes queued to be published again after the broker reconnects,
    /// by outcome: `queued`, `republished`, `dropped` (the retry queue was full).
    pub publish_retries: IntCounterVec,
    /// Reconciliation rounds (one `last_seqs` query per 1,000 tickets), by
    /// trigger: `timer`, `reconnect`, `lagged`.
    pub reconciliations: IntCounterVec,
    /// Tickets a reconciliation found behind the store (their refill followed).
    pub reconcile_behind: IntCounter,
    /// Refills from the store waiting for a slot of the bounded refill pool.
    pub refills_queued: IntGauge,
    /// Refills that failed and were retried with backoff.
    pub refill_retries: IntCounter,
    /// Frames the dashboards' feed recovered from the store (`ticket`), or
    /// `resync_required` frames it sent instead (`resync`).
    pub feed_recoveries: IntCounterVec,
    /// Store calls that did not answer within the store timeout, by operation.
    pub store_timeouts: IntCounterVec,
    /// Heartbeats of this node's row that failed; sessions are rewritten after.
    pub heartbeat_failures: IntCounter,
    /// Gaps in a ticket's seq stream filled from the store.
    pub gap_refills: IntCounter,
    /// `resync_required` frames sent and streams closed as broken (1013).
    pub resyncs: IntCounter,
    /// Sockets closed for not keeping up (1013).
    pub slow_consumer_closes: IntCounter,
    /// Typing frames over the per-connection rate, not forwarded.
    pub typing_frames_dropped: IntCounter,
    /// Agent sockets closed with 4401, by reason: `revoked` (a revocation on
    /// the control channel), `swept` (a sweep found it), `expired` (its token's `exp`).
    pub agent_socket_closes: IntCounterVec,
    /// Sweeps of this node's agent sockets against the store (one query per
    /// 1,000 agents), by trigger: `timer`, `reconnect`, `lagged`.
    pub credential_sweeps: IntCounterVec,
    /// Requests and frames refused by a rate limit, by limit.
    pub rate_limited: IntCounterVec,
    /// Cookie-authenticated state changes refused as cross-site (403).
    pub csrf_refused: IntCounter,
    /// Open TCP connections of the HTTP port (WebSockets included), health
    /// reserve included.
    pub http_connections_open: IntGauge,
    /// Connections refused by a connection cap, by `reason`: `global` (the
    /// node's cap) or `per_ip` (the client address's).
    pub http_connections_refused: IntCounterVec,
    /// HTTP requests by route template, method and status.
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    /// Tickets by status, from the store (refreshed every few seconds).
    pub tickets: IntGaugeVec,
    /// 1 while the node is ready for traffic, 0 while not ready or draining.
    pub ready: IntGauge,
    /// Tickets given to an agent, by how: `auto` (auto-assignment), `join`,
    /// `assign` (to someone, or "Assign to me"), `transfer`.
    pub assignments: IntCounterVec,
    /// Tickets returned to the queue because their agent went offline.
    pub requeued: IntCounter,
    /// Agents by status, from the store (each node's last routing round).
    pub agents: IntGaugeVec,
    /// Tickets waiting in the queue (`open` without an agent).
    pub queue_waiting: IntGauge,
    /// From a ticket's creation to its assignment out of the queue.
    pub assignment_wait: Histogram,
    /// Uploads by `result`: `stored` (a message carries the file), `rejected`
    /// (the client's fault: type, size, dimensions, form), `failed` (the storage).
    pub uploads: IntCounterVec,
    /// Bytes of the files stored by uploads.
    pub upload_bytes: IntCounter,
    /// Attachment storage calls by operation: `put` (a whole upload), `get`
    /// (until the download's first byte), `delete`.
    pub storage_duration: HistogramVec,
    /// Attachment storage calls that failed, by operation.
    pub storage_errors: IntCounterVec,
    /// Stored files deleted by the sweep, by `reason`: `orphan` (an upload that
    /// never became a message), `retention` (`ATTACHMENT_RETENTION_DAYS`).
    pub attachments_swept: IntCounterVec,
    /// Emails written to the outbox, by `kind` (follow_up, transcript).
    pub emails_queued: IntCounterVec,
    /// Emails an SMTP server took, by `kind`.
    pub emails_sent: IntCounterVec,
    /// Failed attempts to send, by `kind` and `permanent` (true: given up).
    pub email_failures: IntCounterVec,
    /// Webhook delivery attempts, by `result` (delivered, retry, failed).
    pub webhook_attempts: IntCounterVec,
    /// Emails pending in the outbox (all nodes'), read every poll.
    pub emails_pending: IntGauge,
    /// Age of the oldest pending email, in seconds (0 when none waits).
    pub email_oldest_pending: IntGauge,
}

impl Metrics {
    fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let histogram =
            |name: &str, help: &str, labels: &[&str]| -> Result<HistogramVec, prometheus::Error> {
                let h = HistogramVec::new(
                    HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec()),
                    labels,
                )?;
                registry.register(Box::new(h.clone()))?;
                Ok(h)
            };
        let counters =
            |name: &str, help: &str, labels: &[&str]| -> Result<IntCounterVec, prometheus::Error> {
                let c = IntCounterVec::new(Opts::new(name, help), labels)?;
                registry.register(Box::new(c.clone()))?;
                Ok(c)
            };
        let counter = |name: &str, help: &str| -> Result<IntCounter, prometheus::Error> {
            let c = IntCounter::new(name, help)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let gauge = |name: &str, help: &str| -> Result<IntGauge, prometheus::Error> {
            let g = IntGauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let gauges =
            |name: &str, help: &str, labels: &[&str]| -> Result<IntGaugeVec, prometheus::Error> {
                let g = IntGaugeVec::new(Opts::new(name, help), labels)?;
                registry.register(Box::new(g.clone()))?;
                Ok(g)
            };
        let build_info = gauges(
            "livesupport_build_info",
            "Build information; the value is 1.",
            &["version"],
        )?;
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        let delivery_latency = Histogram::with_opts(
            HistogramOpts::new(
                "livesupport_delivery_latency_seconds",
                "Time from a message's store to its write on a socket.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
        )?;
        registry.register(Box::new(delivery_latency.clone()))?;
        let store_append_batch_size = Histogram::with_opts(
            HistogramOpts::new(
                "livesupport_store_append_batch_size",
                "Messages per batched append statement (PostgreSQL group commit).",
            )
            .buckets(BATCH_SIZE_BUCKETS.to_vec()),
        )?;
        registry.register(Box::new(store_append_batch_size.clone()))?;
        let ready = IntGauge::new(
            "livesupport_ready",
            "1 while the node is ready for traffic.",
        )?;
        registry.register(Box::new(ready.clone()))?;
        let assignment_wait = Histogram::with_opts(
            HistogramOpts::new(
                "livesupport_assignment_wait_seconds",
                "Time from a ticket's creation to its assignment out of the queue.",
            )
            .buckets(WAIT_BUCKETS.to_vec()),
        )?;
        registry.register(Box::new(assignment_wait.clone()))?;
        Ok(Metrics {
            assignments: counters(
                "livesupport_assignments_total",
                "Tickets given to an agent, by how (auto, join, assign, transfer).",
                &["how"],
            )?,
            requeued: counter(
                "livesupport_requeued_total",
                "Tickets returned to the queue because their agent went offline.",
            )?,
            agents: gauges("livesupport_agents", "Agents by status.", &["status"])?,
            queue_waiting: gauge(
                "livesupport_queue_waiting",
                "Tickets waiting in the queue (open, without an agent).",
            )?,
            assignment_wait,
            uploads: counters(
                "livesupport_uploads_total",
                "Uploads by result (stored, rejected, failed).",
                &["result"],
            )?,
            upload_bytes: counter(
                "livesupport_upload_bytes_total",
                "Bytes of the files stored by uploads.",
            )?,
            storage_duration: histogram(
                "livesupport_storage_operation_duration_seconds",
                "Attachment storage latency, by operation (put, get, delete).",
                &["operation"],
            )?,
            storage_errors: counters(
                "livesupport_storage_errors_total",
                "Attachment storage calls that failed, by operation.",
                &["operation"],
            )?,
            attachments_swept: counters(
                "livesupport_attachments_swept_total",
                "Stored files deleted by the sweep, by reason (orphan, retention).",
                &["reason"],
            )?,
            emails_queued: counters(
                "livesupport_emails_queued_total",
                "Emails written to the outbox, by kind.",
                &["kind"],
            )?,
            emails_sent: counters(
                "livesupport_emails_sent_total",
                "Emails an SMTP server took, by kind.",
                &["kind"],
            )?,
            email_failures: counters(
                "livesupport_email_failures_total",
                "Failed attempts to send an email, by kind and whether it was given up.",
                &["kind", "permanent"],
            )?,
            webhook_attempts: counters(
                "livesupport_webhook_attempts_total",
                "Webhook delivery attempts, by result (delivered, retry, failed).",
                &["result"],
            )?,
            emails_pending: gauge(
                "livesupport_emails_pending",
                "Emails pending in the outbox.",
            )?,
            email_oldest_pending: gauge(
                "livesupport_email_oldest_pending_seconds",
                "Age of the oldest pending email in seconds (0 when none waits).",
            )?,
            connections_open: gauges(
                "livesupport_connections_open",
                "Open WebSocket connections by role.",
                &["role"],
            )?,
            messages_stored: counters(
                "livesupport_messages_stored_total",
                "Messages stored, by sender type.",
                &["sender_type"],
            )?,
            frames_delivered: counters(
                "livesupport_frames_delivered_total",
                "Frames written to sockets, by type.",
                &["type"],
            )?,
            delivery_latency,
            store_duration: histogram(
                "livesupport_store_operation_duration_seconds",
                "Store operation latency.",
                &["operation"],
            )?,
            store_append_batch_size,
            broker_duration: histogram(
                "livesupport_broker_operation_duration_seconds",
                "Broker operation latency.",
                &["operation"],
            )?,
            broker_reconnects: counter(
                "livesupport_broker_reconnects_total",
                "Broker reconnections.",
            )?,
            broker_resubscriptions: counter(
                "livesupport_broker_resubscriptions_total",
                "Tickets resubscribed and refilled after a broker reconnect.",
            )?,
            broker_up: {
                let g = IntGauge::new(
                    "livesupport_broker_up",
                    "1 while the broker answers with every subscription restored.",
                )?;
                registry.register(Box::new(g.clone()))?;
                g
            },
            broker_inbox_overflows: counter(
                "livesupport_broker_inbox_overflows_total",
                "Deliveries dropped by a full hub inbox (the hub reconciles after).",
            )?,
            publish_retries: counters(
                "livesupport_publish_retries_total",
                "Failed publishes queued, republished after a reconnect, or dropped.",
                &["outcome"],
            )?,
            reconciliations: counters(
                "livesupport_reconciliations_total",
                "Reconciliation rounds against the store, by trigger.",
                &["trigger"],
            )?,
            reconcile_behind: counter(
                "livesupport_reconcile_behind_total",
                "Tickets found behind the store by a reconciliation.",
            )?,
            refills_queued: {
                let g = IntGauge::new(
                    "livesupport_refills_queued",
                    "Refills waiting for a slot of the bounded refill pool.",
                )?;
                registry.register(Box::new(g.clone()))?;
                g
            },
            refill_retries: counter(
                "livesupport_refill_retries_total",
                "Failed refills retried with backoff.",
            )?,
            feed_recoveries: counters(
                "livesupport_feed_recoveries_total",
                "Feed frames recovered from the store, or resync_required sent instead.",
                &["kind"],
            )?,
            store_timeouts: counters(
                "livesupport_store_timeouts_total",
                "Store calls that timed out, by operation.",
                &["operation"],
            )?,
            heartbeat_failures: counter(
                "livesupport_heartbeat_failures_total",
                "Failed heartbeats of this node's row.",
            )?,
            gap_refills: counter(
                "livesupport_gap_refills_total",
                "Seq gaps refilled from the store.",
            )?,
            resyncs: counter(
                "livesupport_resyncs_total",
                "resync_required frames sent and broken streams closed.",
            )?,
            slow_consumer_closes: counter(
                "livesupport_slow_consumer_closes_total",
                "Sockets closed for not keeping up.",
            )?,
            typing_frames_dropped: counter(
                "livesupport_typing_frames_dropped_total",
                "Typing frames over the per-connection rate.",
            )?,
            agent_socket_closes: counters(
                "livesupport_agent_socket_closes_total",
                "Agent sockets closed because their token was revoked or expired, by reason.",
                &["reason"],
            )?,
            credential_sweeps: counters(
                "livesupport_credential_sweeps_total",
                "Sweeps of the node's agent sockets against the store, by trigger.",
                &["trigger"],
            )?,
            rate_limited: counters(
                "livesupport_rate_limited_total",
                "Requests and frames refused by a rate limit.",
                &["limit"],
            )?,
            csrf_refused: counter(
                "livesupport_csrf_refused_total",
                "Cookie-authenticated state changes refused as cross-site.",
            )?,
            http_connections_open: gauge(
                "livesupport_http_connections_open",
                "Open TCP connections of the HTTP port, WebSockets included.",
            )?,
            http_connections_refused: counters(
                "livesupport_http_connections_refused_total",
                "Connections refused by a connection cap, by reason (global, per_ip).",
                &["reason"],
            )?,
            http_requests: counters(
                "livesupport_http_requests_total",
                "HTTP requests by route template, method and status.",
                &["route", "method", "status"],
            )?,
            http_duration: histogram(
                "livesupport_http_request_duration_seconds",
                "HTTP request latency by route template and method.",
                &["route", "method"],
            )?,
            tickets: gauges("livesupport_tickets", "Tickets by status.", &["status"])?,
            ready,
            registry,
        })
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        // Encoding our own well-formed metrics into memory cannot fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8(buffer).unwrap_or_default()
    }
}

static METRICS: LazyLock<Metrics> =
    LazyLock::new(|| Metrics::new().expect("metric definitions are valid and registered once"));

/// The node's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

/// Times a future into a histogram with one label.
pub async fn timed<T>(histogram: &HistogramVec, label: &str, work: impl Future<Output = T>) -> T {
    let timer = histogram.with_label_values(&[label]).start_timer();
    let out = work.await;
    timer.observe_duration();
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_metric_is_exposed_with_its_prefix() {
        let m = super::metrics();
        m.gap_refills.inc();
        let text = m.render();
        assert!(text.contains("livesupport_gap_refills_total"));
        assert!(text.contains("livesupport_build_info{version="));
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            assert!(line.starts_with("livesupport_"), "{line}");
        }
    }
}
