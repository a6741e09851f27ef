//! The SQL of webhooks and reports (issue 19), shared by both backends like
//! `sql.rs`: [`webhook_sql!`] stamps these functions out in a backend's
//! module. The `record_*` functions run inside the transactions of `sql.rs`
//! and `routing_sql.rs` (and the PostgreSQL appender has its own statement):
//! an event is written with what it reports, or not at all.

macro_rules! webhook_sql {
    ($db:ty) => {
        mod webhook_queries {
            use crate::domain::webhook::{
                message_event_id, rating_event_id, ticket_created_event_id, ticket_updated_event_id,
                Delivery, DeliveryStatus, Webhook, WebhookEvent,
            };
            use crate::domain::{Message, SenderType, Ticket, Visibility};
            use crate::store::{
                ClaimedDelivery, DeliveryOutcome, DeliveryQuery, NewWebhook, ReportTicket, StoreError,
                StoreResult,
            };
            use chrono::{DateTime, Utc};
            use serde_json::{json, Map, Value};
            use sqlx::{Pool, QueryBuilder};

            type Conn = <$db as sqlx::Database>::Connection;

            /// Whether any webhook asked for `event`: the writers skip
            /// building a body nobody wants.
            pub async fn subscribed(conn: &mut Conn, event: WebhookEvent) -> StoreResult<bool> {
                let found: Option<i64> =
                    sqlx::query_scalar("SELECT webhook_id FROM support_webhook_events WHERE event = $1 LIMIT 1")
                        .bind(event.as_str())
                        .fetch_optional(&mut *conn)
                        .await?;
                Ok(found.is_some())
            }

            /// Writes one delivery of the event for each webhook that asked
            /// for it (none: nothing written).
            async fn record(
                conn: &mut Conn,
                event: WebhookEvent,
                event_id: &str,
                ticket_id: i64,
                message_id: Option<i64>,
                payload: Option<&str>,
                at: DateTime<Utc>,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO support_webhook_deliveries (webhook_id, event_id, event_type, ticket_id, message_id, \
                     payload, status, attempts, next_attempt_at, created_at) \
                     SELECT e.webhook_id, $1, $2, $3, $4, $5, 'pending', 0, $6, $6 \
                     FROM support_webhook_events e WHERE e.event = $2 ORDER BY e.webhook_id",
                )
                .bind(event_id)
                .bind(event.as_str())
                .bind(ticket_id)
                .bind(message_id)
                .bind(payload)
                .bind(at)
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            /// The event of a stored message: `message.created` for what
            /// everyone sees, `note.created` for an agent's private note; the
            /// system's internal notes are reported as `ticket.updated`.
            pub fn message_event(message: &Message) -> Option<WebhookEvent> {
                match (message.visibility, message.sender_type) {
                    (Visibility::Public, _) => Some(WebhookEvent::MessageCreated),
                    (Visibility::Internal, SenderType::Supporter) => Some(WebhookEvent::NoteCreated),
                    (Visibility::Internal, _) => None,
                }
            }

            pub async fn record_message(conn: &mut Conn, message: &Message) -> StoreResult<()> {
                let Some(event) = message_event(message) else { return Ok(()) };
                record(
                    conn,
                    event,
                    &message_event_id(message.id),
                    message.ticket_id,
                    Some(message.id),
                    None,
                    message.created_at,
                )
                .await
            }

            pub async fn record_ticket_created(conn: &mut Conn, ticket: &Ticket) -> StoreResult<()> {
                if !subscribed(conn, WebhookEvent::TicketCreated).await? {
                    return Ok(());
                }
                let payload = json!({ "ticket": ticket }).to_string();
                let event_id = ticket_created_event_id(ticket.id);
                record(conn, WebhookEvent::TicketCreated, &event_id, ticket.id, None, Some(&payload), ticket.created_at)
                    .await
            }

            /// `ticket.updated` with what changed from `before` to `after`;
            /// nothing when neither status, priority, agent nor labels did.
            pub async fn record_ticket_updated(
                conn: &mut Conn,
                before: &Ticket,
                after: &Ticket,
                at: DateTime<Utc>,
            ) -> StoreResult<()> {
                let changes = ticket_changes(before, after);
                if changes.is_empty() || !subscribed(conn, WebhookEvent::TicketUpdated).await? {
                    return Ok(());
                }
                let payload = json!({ "ticket": after, "changes": changes }).to_string();
                let event_id = ticket_updated_event_id();
                record(conn, WebhookEvent::TicketUpdated, &event_id, after.id, None, Some(&payload), at).await
            }

            fn ticket_changes(before: &Ticket, after: &Ticket) -> Map<String, Value> {
                let mut changes = Map::new();
                let mut diff = |name: &str, from: Value, to: Value| {
                    if from != to {
                        changes.insert(name.into(), json!({ "from": from, "to": to }));
                    }
                };
                diff("status", json!(before.status), json!(after.status));
                diff("priority", json!(before.priority), json!(after.priority));
                diff("supporter_id", json!(before.supporter_id), json!(after.supporter_id));
                diff("labels", json!(before.labels), json!(after.labels));
                changes
            }

            pub async fn record_rating(conn: &mut Conn, ticket: &Ticket) -> StoreResult<()> {
                let Some(rating) = &ticket.rating else { return Ok(()) };
                if !subscribed(conn, WebhookEvent::RatingCreated).await? {
                    return Ok(());
                }
                let payload = json!({ "ticket_id": ticket.id, "rating": rating }).to_string();
                let event_id = rating_event_id(ticket.id);
                record(conn, WebhookEvent::RatingCreated, &event_id, ticket.id, None, Some(&payload), rating.created_at)
                    .await
            }

            pub async fn create_webhook(pool: &Pool<$db>, new: &NewWebhook, max: u32) -> StoreResult<Option<Webhook>> {
                let mut tx = super::begin(pool).await?;
                // Counted and inserted in one statement, under PostgreSQL's
                // table lock (SQLite has one writer): two admins at once
                // cannot pass the limit together.
                if let Some(lock) = super::lock_table_sql("support_webhooks") {
                    sqlx::query(&lock).execute(&mut *tx).await?;
                }
                let id: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO support_webhooks (url, secret, created_at) SELECT $1, $2, $3 \
                     WHERE (SELECT COUNT(*) FROM support_webhooks) < $4 RETURNING id",
                )
                .bind(&new.url)
                .bind(&new.secret)
                .bind(new.created_at)
                .bind(i64::from(max))
                .fetch_optional(&mut *tx)
                .await?;
                let Some(id) = id else { return Ok(None) };
                let mut events = new.events.clone();
                events.sort();
                events.dedup();
                for event in &events {
                    sqlx::query("INSERT INTO support_webhook_events (webhook_id, event) VALUES ($1, $2)")
                        .bind(id)
                        .bind(event.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(Some(Webhook { id, url: new.url.clone(), events, created_at: new.created_at }))
            }

            pub async fn webhooks(pool: &Pool<$db>) -> StoreResult<Vec<Webhook>> {
                let rows: Vec<(i64, String, DateTime<Utc>)> =
                    sqlx::query_as("SELECT id, url, created_at FROM support_webhooks ORDER BY id")
                        .fetch_all(pool)
                        .await?;
                let events: Vec<(i64, String)> =
                    sqlx::query_as("SELECT webhook_id, event FROM support_webhook_events ORDER BY webhook_id")
                        .fetch_all(pool)
                        .await?;
                rows.into_iter()
                    .map(|(id, url, created_at)| {
                        let mut wanted = events
                            .iter()
                            .filter(|(of, _)| *of == id)
                            .map(|(_, e)| WebhookEvent::parse(e).ok_or_else(|| StoreError::Corrupt(format!("webhook event {e:?}"))))
                            .collect::<StoreResult<Vec<_>>>()?;
                        wanted.sort();
                        Ok(Webhook { id, url, events: wanted, created_at })
                    })
                    .collect()
            }

            pub async fn delete_webhook(pool: &Pool<$db>, id: i64) -> StoreResult<bool> {
                // The foreign keys cascade to its events and deliveries; on
                // SQLite only with `foreign_keys` on, which the store sets.
                let done = sqlx::query("DELETE FROM support_webhooks WHERE id = $1").bind(id).execute(pool).await?;
                Ok(done.rows_affected() > 0)
            }

            #[derive(sqlx::FromRow)]
            struct DeliveryRow {
                id: i64,
                event_id: String,
                event_type: String,
                ticket_id: i64,
                status: String,
                attempts: i64,
                last_status_code: Option<i64>,
                last_error: Option<String>,
                next_attempt_at: DateTime<Utc>,
                created_at: DateTime<Utc>,
                delivered_at: Option<DateTime<Utc>>,
            }

            fn event_of(name: &str) -> StoreResult<WebhookEvent> {
                WebhookEvent::parse(name).ok_or_else(|| StoreError::Corrupt(format!("webhook event {name:?}")))
            }

            impl TryFrom<DeliveryRow> for Delivery {
                type Error = StoreError;
                fn try_from(row: DeliveryRow) -> StoreResult<Delivery> {
                    let status = DeliveryStatus::parse(&row.status)
                        .ok_or_else(|| StoreError::Corrupt(format!("delivery status {:?}", row.status)))?;
                    Ok(Delivery {
                        id: row.id,
                        event_id: row.event_id,
                        event: event_of(&row.event_type)?,
                        ticket_id: row.ticket_id,
                        status,
                        attempts: row.attempts,
                        last_status_code: row.last_status_code,
                        last_error: row.last_error,
                        next_attempt_at: (status == DeliveryStatus::Pending).then_some(row.next_attempt_at),
                        created_at: row.created_at,
                        delivered_at: row.delivered_at,
                    })
                }
            }

            pub async fn deliveries(pool: &Pool<$db>, query: &DeliveryQuery) -> StoreResult<Vec<Delivery>> {
                let rows: Vec<DeliveryRow> = sqlx::query_as(
                    "SELECT id, event_id, event_type, ticket_id, status, CAST(attempts AS BIGINT) AS attempts, \
                     CAST(last_status_code AS BIGINT) AS last_status_code, last_error, next_attempt_at, created_at, delivered_at \
                     FROM support_webhook_deliveries WHERE webhook_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
                )
                .bind(query.webhook_id)
                .bind(query.before.unwrap_or(i64::MAX))
                .bind(i64::from(query.limit))
                .fetch_all(pool)
                .await?;
                rows.into_iter().map(Delivery::try_from).collect()
            }

            #[derive(sqlx::FromRow)]
            struct ClaimedRow {
                id: i64,
                webhook_id: i64,
                event_id: String,
                event_type: String,
                ticket_id: i64,
                message_id: Option<i64>,
                payload: Option<String>,
                attempts: i64,
                created_at: DateTime<Utc>,
            }

            pub async fn claim_deliveries(
                pool: &Pool<$db>,
                node_id: &str,
                now: DateTime<Utc>,
                lease_until: DateTime<Utc>,
                limit: u32,
            ) -> StoreResult<Vec<ClaimedDelivery>> {
                // The head of each (webhook, ticket) line only: a later event
                // waits while an earlier one is pending, retried or held.
                let sql = format!(
                    "UPDATE support_webhook_deliveries SET locked_by = $1, locked_until = $2, attempts = attempts + 1 \
                     WHERE id IN (SELECT d.id FROM support_webhook_deliveries d WHERE d.status = 'pending' \
                     AND d.next_attempt_at <= $3 AND (d.locked_until IS NULL OR d.locked_until < $3) \
                     AND NOT EXISTS (SELECT 1 FROM support_webhook_deliveries p WHERE p.webhook_id = d.webhook_id \
                       AND p.ticket_id = d.ticket_id AND p.status = 'pending' AND p.id < d.id) \
                     ORDER BY d.next_attempt_at, d.id LIMIT $4{}) \
                     RETURNING id, webhook_id, event_id, event_type, ticket_id, message_id, payload, \
                     CAST(attempts AS BIGINT) AS attempts, created_at",
                    super::skip_locked_sql("d")
                );
                let rows: Vec<ClaimedRow> = sqlx::query_as(&sql)
                    .bind(node_id)
                    .bind(lease_until)
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await?;
                if rows.is_empty() {
                    return Ok(Vec::new());
                }
                let receivers: Vec<(i64, String, String)> =
                    sqlx::query_as("SELECT id, url, secret FROM support_webhooks").fetch_all(pool).await?;
                let mut claimed = Vec::with_capacity(rows.len());
                for row in rows {
                    // A webhook deleted meanwhile took its deliveries with it.
                    let Some((_, url, secret)) = receivers.iter().find(|(id, _, _)| *id == row.webhook_id) else {
                        continue;
                    };
                    claimed.push(ClaimedDelivery {
                        id: row.id,
                        webhook_id: row.webhook_id,
                        url: url.clone(),
                        secret: secret.clone(),
                        event_id: row.event_id,
                        event: event_of(&row.event_type)?,
                        ticket_id: row.ticket_id,
                        message_id: row.message_id,
                        payload: row.payload,
                        attempts: row.attempts,
                        created_at: row.created_at,
                    });
                }
                claimed.sort_by_key(|delivery| delivery.id);
                Ok(claimed)
            }

            pub async fn delivery_attempted(pool: &Pool<$db>, id: i64, outcome: &DeliveryOutcome) -> StoreResult<()> {
                let status = match (outcome.delivered, outcome.retry_at) {
                    (true, _) => DeliveryStatus::Delivered,
                    (false, Some(_)) => DeliveryStatus::Pending,
                    (false, None) => DeliveryStatus::Failed,
                };
                sqlx::query(
                    "UPDATE support_webhook_deliveries SET status = $2, last_status_code = $3, last_error = $4, \
                     next_attempt_at = COALESCE($5, next_attempt_at), delivered_at = $6, locked_by = NULL, locked_until = NULL \
                     WHERE id = $1 AND status = 'pending'",
                )
                .bind(id)
                .bind(status.as_str())
                .bind(outcome.status_code)
                .bind(outcome.error.as_deref())
                .bind(outcome.retry_at)
                .bind(outcome.delivered.then_some(outcome.at))
                .execute(pool)
                .await?;
                Ok(())
            }

            pub async fn prune_deliveries(pool: &Pool<$db>, before: DateTime<Utc>) -> StoreResult<u64> {
                let done = sqlx::query(
                    "DELETE FROM support_webhook_deliveries WHERE created_at < $1 AND status IN ('delivered', 'failed')",
                )
                .bind(before)
                .execute(pool)
                .await?;
                Ok(done.rows_affected())
            }

            #[derive(sqlx::FromRow)]
            struct ReportRow {
                id: i64,
                created_at: DateTime<Utc>,
                status: String,
                priority: String,
                subject: String,
                user_name: String,
                user_email: Option<String>,
                supporter_id: Option<i64>,
                supporter_name: Option<String>,
                first_visitor_at: Option<DateTime<Utc>>,
                first_response_at: Option<DateTime<Utc>>,
                first_assigned_at: Option<DateTime<Utc>>,
                first_resolved_at: Option<DateTime<Utc>>,
                rating_score: Option<i64>,
            }

            pub async fn report_tickets(
                pool: &Pool<$db>,
                from: DateTime<Utc>,
                to: DateTime<Utc>,
                after: Option<(DateTime<Utc>, i64)>,
                limit: u32,
            ) -> StoreResult<Vec<ReportTicket>> {
                // By the created_at index, in (created_at, id) order: a page
                // starts where the last one ended. `created_at >= $3` keeps the
                // index range starting there (the OR alone is only a filter,
                // and each page would scan the range from its start).
                let (after_at, after_id) = after.unwrap_or((from, 0));
                let rows: Vec<ReportRow> = sqlx::query_as(
                    "SELECT t.id, t.created_at, t.status, t.priority, t.subject, t.user_name, t.user_email, \
                     t.supporter_id, a.name AS supporter_name, t.first_visitor_at, t.first_response_at, \
                     t.first_assigned_at, t.first_resolved_at, CAST(t.rating_score AS BIGINT) AS rating_score \
                     FROM support_tickets t LEFT JOIN support_agents a ON a.id = t.supporter_id \
                     WHERE t.created_at >= $1 AND t.created_at < $2 AND t.created_at >= $3 \
                       AND (t.created_at > $3 OR t.id > $4) \
                     ORDER BY t.created_at, t.id LIMIT $5",
                )
                .bind(from)
                .bind(to)
                .bind(after_at)
                .bind(after_id)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
                let mut tickets = Vec::with_capacity(rows.len());
                for row in rows {
                    tickets.push(ReportTicket {
                        id: row.id,
                        created_at: row.created_at,
                        status: row.status.parse().map_err(|_| StoreError::Corrupt(format!("status {:?}", row.status)))?,
                        priority: row.priority.parse().map_err(|_| StoreError::Corrupt(format!("priority {:?}", row.priority)))?,
                        subject: row.subject,
                        user_name: row.user_name,
                        user_email: row.user_email,
                        supporter_id: row.supporter_id,
                        supporter_name: row.supporter_name,
                        labels: Vec::new(),
                        first_visitor_at: row.first_visitor_at,
                        first_response_at: row.first_response_at,
                        first_assigned_at: row.first_assigned_at,
                        first_resolved_at: row.first_resolved_at,
                        rating: row.rating_score,
                    });
                }
                if !tickets.is_empty() {
                    let mut qb = QueryBuilder::<$db>::new(
                        "SELECT ticket_id, label FROM support_ticket_labels WHERE ticket_id IN (",
                    );
                    let mut list = qb.separated(", ");
                    for ticket in &tickets {
                        list.push_bind(ticket.id);
                    }
                    qb.push(") ORDER BY ticket_id, label");
                    let labels: Vec<(i64, String)> = qb.build_query_as().fetch_all(pool).await?;
                    let index: std::collections::HashMap<i64, usize> =
                        tickets.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
                    for (ticket_id, label) in labels {
                        if let Some(&i) = index.get(&ticket_id) {
                            tickets[i].labels.push(label);
                        }
                    }
                }
                Ok(tickets)
            }

            pub async fn count_resolved(pool: &Pool<$db>, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<i64> {
                Ok(sqlx::query_scalar(
                    "SELECT COUNT(*) FROM support_tickets WHERE first_resolved_at >= $1 AND first_resolved_at < $2",
                )
                .bind(from)
                .bind(to)
                .fetch_one(pool)
                .await?)
            }
        }
    };
}

pub(super) use webhook_sql;
