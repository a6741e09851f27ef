//! The production store: PostgreSQL, shared by every node.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Pool, Postgres};
use std::str::FromStr;
use std::time::Duration;

pub struct PostgresStore {
    /// sqlx's pool; appends to different tickets run in parallel, one ticket's
    /// appends queue on its row lock.
    pool: Pool<Postgres>,
}

/// How long a request waits for a pooled connection before the store reports
/// itself unavailable (PostgreSQL down or overloaded).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

impl PostgresStore {
    /// Connects and migrates.
    pub async fn connect(url: &str, pool_size: u32) -> super::StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(pool_size.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // sqlx pings a connection before every acquire by default: a round
            // trip on every statement. A connection that died is reported by the
            // statement instead (and dropped by the pool).
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PostgresStore { pool })
    }

    /// Appends in one autocommitted statement when no status rule applies and the
    /// `client_msg_id` is new: one round trip instead of a transaction's four.
    /// `None` leaves the message to the transaction of `append_message`, which
    /// decides everything else (closed, unknown ticket, status rules, resends);
    /// the statement is atomic, so a refused one has taken no seq.
    async fn append_plain(
        &self,
        ticket_id: i64,
        draft: &MessageDraft,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Message>> {
        // The statuses where `status_after_message` changes nothing for this sender.
        let sql = format!(
            "WITH t AS (UPDATE support_tickets SET last_seq = last_seq + 1, updated_at = $6 \
             WHERE id = $1 AND (status IN ('open', 'in_progress') \
             OR (status = 'assigned' AND $2 = 'user') OR (status = 'resolved' AND $2 = 'supporter')) \
             AND ($7::text IS NULL OR NOT EXISTS \
             (SELECT 1 FROM support_messages WHERE ticket_id = $1 AND client_msg_id = $7)) \
             RETURNING last_seq) \
             INSERT INTO support_messages (ticket_id, seq, sender_type, sender_id, sender_name, message, is_read, created_at, client_msg_id) \
             SELECT $1, t.last_seq, $2, $3, $4, $5, FALSE, $6, $7 FROM t RETURNING {MESSAGE_COLUMNS}"
        );
        let row: Result<Option<MessageRow>, sqlx::Error> = sqlx::query_as(&sql)
            .bind(ticket_id)
            .bind(draft.sender_type.as_str())
            .bind(draft.sender_id)
            .bind(draft.sender_name.as_deref())
            .bind(&draft.text)
            .bind(at)
            .bind(draft.client_msg_id.as_deref())
            .fetch_optional(&self.pool)
            .await;
        match row {
            Ok(row) => row.map(Message::try_from).transpose(),
            // A resend racing its first copy: the transaction answers with it.
            Err(sqlx::Error::Database(err)) if err.is_unique_violation() => Ok(None),
            Err(err) => Err(err.into()),
        }
    }
}

// Also brings the domain and row types used above into scope.
super::sql::impl_store!(PostgresStore, Postgres);
