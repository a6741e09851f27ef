//! The production store: PostgreSQL, shared by every node.

mod appender;

use super::StoreOptions;
use super::group_commit::GroupCommit;
use appender::PgBatches;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Pool, Postgres};
use std::str::FromStr;
use std::time::Duration;

pub struct PostgresStore {
    /// sqlx's pool for everything but the group commit; appends to different
    /// tickets run in parallel, one ticket's appends queue on its row lock.
    pool: Pool<Postgres>,
    /// Group commit: stores the common appends several to a statement, on
    /// connections of their own.
    appends: GroupCommit,
    /// The times it writes (see [`super::Clock`]).
    clock: super::Clock,
}

/// How long a request waits for a pooled connection before the store reports
/// itself unavailable (PostgreSQL down or overloaded).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The most connections kept for the group commit (its batches in flight).
/// More than one, so a batch waiting on a ticket's row lock (held by a status
/// change, say) does not hold up the others; few, so that under load messages
/// queue and batches grow.
const MAX_APPEND_CONNECTIONS: u32 = 4;

/// Of a node's `pool_size` connections, those kept for the group commit: a
/// quarter, 1 to [`MAX_APPEND_CONNECTIONS`]. A burst of searches or reports
/// can take every other connection and appends still find theirs.
fn append_connections(pool_size: u32) -> u32 {
    (pool_size / 4).clamp(1, MAX_APPEND_CONNECTIONS)
}

impl PostgresStore {
    /// Writes its times by `clock` (tests: a manual one).
    pub fn with_clock(mut self, clock: super::Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Connects and migrates. The pool gets `pool_size` minus the group
    /// commit's share (see [`append_connections`]), and every connection the
    /// statement timeout; the migrations run on a connection without it.
    pub async fn connect(url: &str, options: &StoreOptions) -> super::StoreResult<Self> {
        let connect = PgConnectOptions::from_str(url)?;
        // (A pool of one: `Migrator::run` on a bare connection makes this
        // future's `Send` depend on lifetimes the compiler cannot prove.)
        let migrator = Self::pool(1, &connect).await?;
        sqlx::migrate!("./migrations/postgres")
            .run(&migrator)
            .await?;
        migrator.close().await;
        let connect = match options.statement_timeout {
            Some(timeout) => connect.options([(
                "statement_timeout",
                format!("{}ms", timeout.as_millis().max(1)),
            )]),
            None => connect,
        };
        let appending = append_connections(options.pool_size);
        let pool = Self::pool(options.pool_size.saturating_sub(appending), &connect).await?;
        let append_pool = Self::pool(appending, &connect).await?;
        Ok(PostgresStore {
            pool,
            appends: GroupCommit::start(PgBatches { pool: append_pool }, appending as usize),
            clock: super::Clock::default(),
        })
    }

    async fn pool(size: u32, connect: &PgConnectOptions) -> super::StoreResult<Pool<Postgres>> {
        Ok(PgPoolOptions::new()
            .max_connections(size.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // sqlx pings a connection before every acquire by default: a round
            // trip on every statement. A connection that died is reported by the
            // statement instead (and dropped by the pool).
            .test_before_acquire(false)
            .connect_with(connect.clone())
            .await?)
    }

    /// Appends in one autocommitted statement, batched with the other appends
    /// of the moment (see [`super::group_commit`] and [`appender`]), when no
    /// status rule applies and the `client_msg_id` is new. `None` leaves the
    /// message to the transaction of `append_message`, which decides
    /// everything else (closed, unknown ticket, status rules, resends).
    async fn append_plain(
        &self,
        ticket_id: i64,
        draft: &MessageDraft,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Message>> {
        self.appends.append(ticket_id, draft, at).await
    }
}

/// SQL: the ids of the tickets whose subject, visitor name or email, or any
/// message, holds `text` (case-insensitive; `%` and `_` literal), by the
/// trigram indexes of migration 0014.
fn push_search(qb: &mut sqlx::QueryBuilder<'_, Postgres>, text: &str) {
    let pattern = super::sql::contains_pattern(text);
    qb.push("SELECT s.ticket_id FROM support_ticket_search s WHERE s.subject ILIKE ")
        .push_bind(pattern.clone())
        .push(" ESCAPE '\\' OR s.user_name ILIKE ")
        .push_bind(pattern.clone())
        .push(" ESCAPE '\\' OR s.user_email ILIKE ")
        .push_bind(pattern.clone())
        .push(
            " ESCAPE '\\' UNION SELECT m.ticket_id FROM support_messages m WHERE m.message ILIKE ",
        )
        .push_bind(pattern)
        .push(" ESCAPE '\\'");
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

/// The waiting queue's tickets as `t` (the planner finds the index of their
/// order, migration 0016, itself).
const WAITING_TICKETS: &str = "support_tickets t";

/// Starts a transaction; PostgreSQL locks rows, not the database, as they are
/// written.
async fn begin(pool: &Pool<Postgres>) -> sqlx::Result<sqlx::Transaction<'static, Postgres>> {
    pool.begin().await
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
