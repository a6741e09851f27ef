//! The SQL of email (issue 18), shared by both backends like `sql.rs`:
//! [`email_sql!`] stamps these functions out in a backend's module, and its
//! `Store` impl calls them.

macro_rules! email_sql {
    ($db:ty) => {
        mod email_queries {
            use crate::domain::email::{EmailKind, EmailStatus, OutboxEmail};
            use crate::store::{NewEmail, OutboxQuery, QueuedEmail, StoreError, StoreResult, NODE_STALE_AFTER};
            use chrono::{DateTime, Utc};
            use sqlx::Pool;

            const OUTBOX_COLUMNS: &str = "id, kind, ticket_id, to_address, subject, status, \
                CAST(attempts AS BIGINT) AS attempts, last_error, next_attempt_at, created_at, sent_at";

            #[derive(sqlx::FromRow)]
            struct OutboxRow {
                id: i64,
                kind: String,
                ticket_id: Option<i64>,
                to_address: String,
                subject: String,
                status: String,
                attempts: i64,
                last_error: Option<String>,
                next_attempt_at: DateTime<Utc>,
                created_at: DateTime<Utc>,
                sent_at: Option<DateTime<Utc>>,
            }

            impl TryFrom<OutboxRow> for OutboxEmail {
                type Error = StoreError;
                fn try_from(row: OutboxRow) -> StoreResult<OutboxEmail> {
                    let kind = EmailKind::parse(&row.kind)
                        .ok_or_else(|| StoreError::Corrupt(format!("email kind {:?}", row.kind)))?;
                    let status = EmailStatus::parse(&row.status)
                        .ok_or_else(|| StoreError::Corrupt(format!("email status {:?}", row.status)))?;
                    Ok(OutboxEmail {
                        id: row.id,
                        kind,
                        ticket_id: row.ticket_id,
                        to: row.to_address,
                        subject: row.subject,
                        status,
                        attempts: row.attempts,
                        last_error: row.last_error,
                        next_attempt_at: (status == EmailStatus::Pending).then_some(row.next_attempt_at),
                        created_at: row.created_at,
                        sent_at: row.sent_at,
                    })
                }
            }

            async fn insert<'c, E>(executor: E, email: &NewEmail) -> StoreResult<OutboxEmail>
            where
                E: sqlx::Executor<'c, Database = $db>,
            {
                let sql = format!(
                    "INSERT INTO support_emails (kind, ticket_id, to_address, subject, body_text, body_html, \
                     message_id, by_visitor, status, attempts, next_attempt_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $9, $9) RETURNING {OUTBOX_COLUMNS}"
                );
                let row: OutboxRow = sqlx::query_as(&sql)
                    .bind(email.kind.as_str())
                    .bind(email.ticket_id)
                    .bind(&email.to)
                    .bind(&email.subject)
                    .bind(&email.body_text)
                    .bind(&email.body_html)
                    .bind(&email.message_id)
                    .bind(email.by_visitor)
                    .bind(email.created_at)
                    .fetch_one(executor)
                    .await?;
                row.try_into()
            }

            pub async fn enqueue_email(pool: &Pool<$db>, email: &NewEmail) -> StoreResult<OutboxEmail> {
                insert(pool, email).await
            }

            #[derive(sqlx::FromRow)]
            struct QueuedRow {
                id: i64,
                kind: String,
                ticket_id: Option<i64>,
                to_address: String,
                subject: String,
                body_text: String,
                body_html: String,
                message_id: String,
                attempts: i64,
            }

            pub async fn claim_emails(
                pool: &Pool<$db>,
                node_id: &str,
                now: DateTime<Utc>,
                lease_until: DateTime<Utc>,
                limit: u32,
            ) -> StoreResult<Vec<QueuedEmail>> {
                let sql = format!(
                    "UPDATE support_emails SET locked_by = $1, locked_until = $2, attempts = attempts + 1 \
                     WHERE id IN (SELECT e.id FROM support_emails e WHERE e.status = 'pending' \
                     AND e.next_attempt_at <= $3 AND (e.locked_until IS NULL OR e.locked_until < $3) \
                     ORDER BY e.next_attempt_at, e.id LIMIT $4{}) \
                     RETURNING id, kind, ticket_id, to_address, subject, body_text, body_html, message_id, \
                     CAST(attempts AS BIGINT) AS attempts",
                    super::skip_locked_sql("e")
                );
                let rows: Vec<QueuedRow> = sqlx::query_as(&sql)
                    .bind(node_id)
                    .bind(lease_until)
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await?;
                let mut claimed = rows
                    .into_iter()
                    .map(|row| {
                        let kind = EmailKind::parse(&row.kind)
                            .ok_or_else(|| StoreError::Corrupt(format!("email kind {:?}", row.kind)))?;
                        Ok(QueuedEmail {
                            id: row.id,
                            kind,
                            ticket_id: row.ticket_id,
                            to: row.to_address,
                            subject: row.subject,
                            body_text: row.body_text,
                            body_html: row.body_html,
                            message_id: row.message_id,
                            attempts: row.attempts,
                        })
                    })
                    .collect::<StoreResult<Vec<_>>>()?;
                // RETURNING gives no order: oldest first.
                claimed.sort_by_key(|email| email.id);
                Ok(claimed)
            }

            pub async fn email_sent(pool: &Pool<$db>, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
                sqlx::query(
                    "UPDATE support_emails SET status = 'sent', sent_at = $2, locked_by = NULL, \
                     locked_until = NULL, last_error = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(at)
                .execute(pool)
                .await?;
                Ok(())
            }

            pub async fn email_failed(
                pool: &Pool<$db>,
                id: i64,
                error: &str,
                retry_at: Option<DateTime<Utc>>,
            ) -> StoreResult<()> {
                // A copy another node sent meanwhile stays sent.
                sqlx::query(
                    "UPDATE support_emails SET status = CASE WHEN $3 IS NULL THEN 'failed' ELSE 'pending' END, \
                     next_attempt_at = COALESCE($3, next_attempt_at), last_error = $2, locked_by = NULL, \
                     locked_until = NULL WHERE id = $1 AND status = 'pending'",
                )
                .bind(id)
                .bind(error)
                .bind(retry_at)
                .execute(pool)
                .await?;
                Ok(())
            }

            pub async fn outbox(pool: &Pool<$db>, query: &OutboxQuery) -> StoreResult<Vec<OutboxEmail>> {
                let sql = format!(
                    "SELECT {OUTBOX_COLUMNS} FROM support_emails WHERE ($1 IS NULL OR status = $1) \
                     AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
                );
                let rows: Vec<OutboxRow> = sqlx::query_as(&sql)
                    .bind(query.status.map(EmailStatus::as_str))
                    .bind(query.before)
                    .bind(i64::from(query.limit))
                    .fetch_all(pool)
                    .await?;
                rows.into_iter().map(OutboxEmail::try_from).collect()
            }

            pub async fn outbox_backlog(pool: &Pool<$db>) -> StoreResult<(i64, Option<DateTime<Utc>>)> {
                let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM support_emails WHERE status = 'pending'")
                    .fetch_one(pool)
                    .await?;
                let oldest: Option<DateTime<Utc>> = sqlx::query_scalar(
                    "SELECT created_at FROM support_emails WHERE status = 'pending' ORDER BY created_at LIMIT 1",
                )
                .fetch_optional(pool)
                .await?;
                Ok((count, oldest))
            }

            pub async fn count_visitor_emails(
                pool: &Pool<$db>,
                ticket_id: i64,
                kind: EmailKind,
                since: DateTime<Utc>,
            ) -> StoreResult<i64> {
                Ok(sqlx::query_scalar(
                    "SELECT COUNT(*) FROM support_emails WHERE ticket_id = $1 AND kind = $2 \
                     AND by_visitor = TRUE AND created_at > $3",
                )
                .bind(ticket_id)
                .bind(kind.as_str())
                .bind(since)
                .fetch_one(pool)
                .await?)
            }

            pub async fn follow_ups_due(
                pool: &Pool<$db>,
                quiet_since: DateTime<Utc>,
                active_after: DateTime<Utc>,
                limit: u32,
            ) -> StoreResult<Vec<(i64, i64)>> {
                // A visitor's sockets are the sessions without an agent; one
                // counts as open while its node's heartbeat is fresh (the
                // database's clock, as in `presence`). Only a conversation's
                // newest FOLLOW_UP_LOOKBACK messages are looked at (the
                // (ticket_id, seq) index, both bounds), so a long conversation
                // costs no more than a short one every round.
                let sql = format!(
                    "SELECT t.id, t.emailed_seq FROM support_tickets t \
                     WHERE t.updated_at > $2 AND t.user_email IS NOT NULL AND t.user_email <> '' \
                     AND t.last_seq > t.emailed_seq \
                     AND EXISTS (SELECT 1 FROM support_messages m WHERE m.ticket_id = t.id \
                         AND m.seq > t.emailed_seq AND m.seq > t.last_seq - {lookback} \
                         AND m.sender_type = 'supporter' AND m.audience = 'all' \
                         AND m.is_read = FALSE AND m.created_at <= $1) \
                     AND NOT EXISTS (SELECT 1 FROM support_sessions s WHERE s.ticket_id = t.id \
                         AND s.supporter_id IS NULL AND (s.ended_at > $1 OR (s.is_active = TRUE AND EXISTS (\
                         SELECT 1 FROM support_nodes n WHERE n.node_id = s.node_id AND n.heartbeat_at > {})))) \
                     ORDER BY t.updated_at LIMIT $4",
                    super::db_seconds_ago("$3"),
                    lookback = crate::store::FOLLOW_UP_LOOKBACK,
                );
                Ok(sqlx::query_as(&sql)
                    .bind(quiet_since)
                    .bind(active_after)
                    .bind(NODE_STALE_AFTER.as_secs() as i64)
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await?)
            }

            pub async fn enqueue_follow_up(
                pool: &Pool<$db>,
                ticket_id: i64,
                from_seq: i64,
                to_seq: i64,
                email: &NewEmail,
            ) -> StoreResult<Option<OutboxEmail>> {
                let mut tx = super::begin(pool).await?;
                let moved = sqlx::query("UPDATE support_tickets SET emailed_seq = $3 WHERE id = $1 AND emailed_seq = $2")
                    .bind(ticket_id)
                    .bind(from_seq)
                    .bind(to_seq)
                    .execute(&mut *tx)
                    .await?;
                if moved.rows_affected() != 1 {
                    return Ok(None);
                }
                let queued = insert(&mut *tx, email).await?;
                tx.commit().await?;
                Ok(Some(queued))
            }
        }
    };
}
pub(super) use email_sql;
