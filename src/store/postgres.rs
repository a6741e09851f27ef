//! The production store: PostgreSQL, shared by every node.

mod appender;

use appender::Appender;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Pool, Postgres};
use std::str::FromStr;
use std::time::Duration;

pub struct PostgresStore {
    /// sqlx's pool; appends to different tickets run in parallel, one ticket's
    /// appends queue on its row lock.
    pool: Pool<Postgres>,
    /// Group commit: stores the common appends several to a statement.
    appender: Appender,
    /// The times it writes (see [`super::Clock`]).
    clock: super::Clock,
}

/// How long a request waits for a pooled connection before the store reports
/// itself unavailable (PostgreSQL down or overloaded).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

impl PostgresStore {
    /// Writes its times by `clock` (tests: a manual one).
    pub fn with_clock(mut self, clock: super::Clock) -> Self {
        self.clock = clock;
        self
    }

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
        let appender = Appender::start(pool.clone(), pool_size);
        Ok(PostgresStore {
            pool,
            appender,
            clock: super::Clock::default(),
        })
    }

    /// Appends in one autocommitted statement, batched with the other appends
    /// of the moment (see [`appender`]), when no status rule applies and the
    /// `client_msg_id` is new. `None` leaves the message to the transaction of
    /// `append_message`, which decides everything else (closed, unknown ticket,
    /// status rules, resends).
    async fn append_plain(
        &self,
        ticket_id: i64,
        draft: &MessageDraft,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Message>> {
        // The batches number public messages only; a private note takes the
        // transaction of `append_message`, and so does a message with files,
        // which it gives to the message.
        if draft.visibility.is_internal() || !draft.attachments.is_empty() {
            return Ok(None);
        }
        self.appender.append(ticket_id, draft, at).await
    }
}

/// The database's clock, in SQL.
fn db_now() -> &'static str {
    "NOW()"
}

/// The database's clock minus the seconds bound at `param` (`$2`), in SQL.
fn db_seconds_ago(param: &str) -> String {
    format!("(NOW() - {param} * INTERVAL '1 second')")
}

/// The database's clock plus the seconds bound at `param`, in SQL.
fn db_seconds_ahead(param: &str) -> String {
    format!("(NOW() + {param} * INTERVAL '1 second')")
}

/// The `away_after_minutes` setting, read from the settings row in SQL.
fn db_away_minutes() -> String {
    format!(
        "COALESCE((SELECT CAST(CAST(body AS JSONB) ->> 'away_after_minutes' AS INTEGER) \
         FROM support_settings WHERE id = 1), {})",
        crate::domain::settings::DEFAULT_AWAY_AFTER_MINUTES
    )
}

/// Row locks of `table` that a racing transaction skips instead of waiting for.
fn skip_locked_sql(table: &str) -> String {
    format!(" FOR UPDATE OF {table} SKIP LOCKED")
}

/// PostgreSQL locks rows, not the database: nothing to take first.
fn write_lock_sql() -> Option<&'static str> {
    None
}

/// Serialises the writers of a small table for a count-then-insert.
fn lock_table_sql(table: &str) -> Option<String> {
    Some(format!("LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"))
}

// Also brings the domain and row types used above into scope.
super::sql::impl_store!(PostgresStore, Postgres);
super::routing_sql::routing_sql!(sqlx::Postgres);
super::visitor_sql::visitor_sql!(sqlx::Postgres);
super::attachment_sql::attachment_sql!(sqlx::Postgres);
super::email_sql::email_sql!(sqlx::Postgres);
super::webhook_sql::webhook_sql!(sqlx::Postgres);
