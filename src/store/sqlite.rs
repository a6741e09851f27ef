//! The embedded default: one SQLite file in WAL mode.
//!
//! Writes: SQLite has one write lock for the whole file. The common appends
//! take it through the group commit ([`super::group_commit`]): one task owns a
//! connection of its own and stores each batch in one `BEGIN IMMEDIATE`
//! transaction of a few statements (see [`appender`]), so appends never sleep
//! in SQLite's busy handler behind each other and a commit carries up to 64
//! messages. Every other write (and an
//! append the batches leave to `append_message`) runs on the pool and waits for
//! the lock with a busy timeout.
//!
//! Durability (`SQLITE_SYNCHRONOUS`): with `full` (the default) every commit is
//! on disk (`fsync` of the WAL) before its callers hear of it, so an
//! acknowledged message survives a power loss; the group commit makes that one
//! `fsync` per batch. With `normal` a commit is in the WAL file, not yet on
//! disk: it survives the process crashing, but a power loss or an OS crash may
//! take the last commits since the WAL was last synced (at a checkpoint).

mod appender;

use super::group_commit::GroupCommit;
use super::{SqliteSync, StoreOptions};
use appender::SqliteBatches;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Pool, Sqlite};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

pub struct SqliteStore {
    /// sqlx's pool; writers queue on SQLite's lock with a busy timeout.
    pool: Pool<Sqlite>,
    /// Group commit: stores the common appends several to a transaction.
    appends: GroupCommit,
    /// The times it writes (see [`super::Clock`]).
    clock: super::Clock,
}

/// How long a writer waits for SQLite's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

impl SqliteStore {
    /// Writes its times by `clock` (tests: a manual one).
    pub fn with_clock(mut self, clock: super::Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Opens (creating the file and its directory if missing) and migrates.
    pub async fn connect(url: &str, options: &StoreOptions) -> super::StoreResult<Self> {
        let connect = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match options.sqlite_synchronous {
                SqliteSync::Full => SqliteSynchronous::Full,
                SqliteSync::Normal => SqliteSynchronous::Normal,
            })
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        if let Some(dir) = connect
            .get_filename()
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            && !Path::new(dir).exists()
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| super::StoreError::Database(sqlx::Error::Io(e)))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(options.pool_size.max(1))
            .acquire_timeout(Duration::from_secs(10))
            // The file is in this process: there is no connection to find dead.
            .test_before_acquire(false)
            .connect_with(connect.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        // The writer's own connection: appends never wait for the pool.
        let writer = connect.connect().await?;
        Ok(SqliteStore {
            pool,
            appends: GroupCommit::start(
                SqliteBatches {
                    writer: tokio::sync::Mutex::new(writer),
                },
                1,
            ),
            clock: super::Clock::default(),
        })
    }

    /// Appends in the next batch of the group commit (see the module doc).
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
/// message, holds `text` (case-insensitive), by the FTS5 trigram indexes of
/// migration 0014: a phrase of 3 characters or more matches wherever it occurs.
/// A shorter text has no trigram to look up: it is found by a scan, as `LIKE`
/// (case-insensitive for ASCII letters only).
fn push_search(qb: &mut sqlx::QueryBuilder<'_, Sqlite>, text: &str) {
    if text.chars().count() >= 3 {
        let phrase = format!("\"{}\"", text.replace('"', "\"\""));
        qb.push("SELECT rowid FROM support_tickets_search WHERE support_tickets_search MATCH ")
            .push_bind(phrase.clone())
            .push(
                " UNION SELECT m.ticket_id FROM support_messages m WHERE m.id IN \
                 (SELECT rowid FROM support_messages_search WHERE support_messages_search MATCH ",
            )
            .push_bind(phrase)
            .push(")");
        return;
    }
    let pattern = super::sql::contains_pattern(text);
    qb.push("SELECT id FROM support_tickets WHERE LOWER(subject) LIKE LOWER(")
        .push_bind(pattern.clone())
        .push(") ESCAPE '\\' OR LOWER(user_name) LIKE LOWER(")
        .push_bind(pattern.clone())
        .push(") ESCAPE '\\' OR LOWER(COALESCE(user_email, '')) LIKE LOWER(")
        .push_bind(pattern.clone())
        .push(") ESCAPE '\\' UNION SELECT ticket_id FROM support_messages WHERE LOWER(message) LIKE LOWER(")
        .push_bind(pattern)
        .push(") ESCAPE '\\'");
}

/// The database's clock, in SQL.
fn db_now() -> &'static str {
    "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')"
}

/// The database's clock minus the seconds bound at `param` (`$2`), in SQL.
fn db_seconds_ago(param: &str) -> String {
    format!("strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', '-' || {param} || ' seconds')")
}

/// The database's clock plus the seconds bound at `param`, in SQL.
fn db_seconds_ahead(param: &str) -> String {
    format!("strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', '+' || {param} || ' seconds')")
}

/// The `away_after_minutes` setting, read from the settings row in SQL.
fn db_away_minutes() -> String {
    format!(
        "COALESCE((SELECT json_extract(body, '$.away_after_minutes') FROM support_settings WHERE id = 1), {})",
        crate::domain::settings::DEFAULT_AWAY_AFTER_MINUTES
    )
}

/// SQLite has one writer (taken first, see [`begin`]): no row locks.
fn skip_locked_sql(_table: &str) -> String {
    String::new()
}

/// Starts a write transaction with SQLite's write lock taken at once
/// (`BEGIN IMMEDIATE`, waiting for it with the busy timeout). A deferred
/// transaction would take it at its first write, and one that has read before
/// (a trigger's search index reads its own tables, say) cannot be upgraded
/// once another writer has committed: SQLite answers `SQLITE_BUSY` at once.
async fn begin(pool: &Pool<Sqlite>) -> sqlx::Result<sqlx::Transaction<'static, Sqlite>> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// SQLite's writers are serialised already.
fn lock_table_sql(_table: &str) -> Option<String> {
    None
}

// Also brings the domain and row types used above into scope.
super::sql::impl_store!(SqliteStore, Sqlite);
super::routing_sql::routing_sql!(sqlx::Sqlite);
super::visitor_sql::visitor_sql!(sqlx::Sqlite);
super::attachment_sql::attachment_sql!(sqlx::Sqlite);
super::email_sql::email_sql!(sqlx::Sqlite);
super::webhook_sql::webhook_sql!(sqlx::Sqlite);
