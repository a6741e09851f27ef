//! The embedded default: one SQLite file in WAL mode.

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

pub struct SqliteStore {
    /// sqlx's pool; writers queue on SQLite's lock with a busy timeout.
    pool: Pool<Sqlite>,
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
    pub async fn connect(url: &str, pool_size: u32) -> super::StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        if let Some(dir) = options
            .get_filename()
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            && !Path::new(dir).exists()
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| super::StoreError::Database(sqlx::Error::Io(e)))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(pool_size.max(1))
            .acquire_timeout(Duration::from_secs(10))
            // The file is in this process: there is no connection to find dead.
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore {
            pool,
            clock: super::Clock::default(),
        })
    }

    /// SQLite appends in the transaction of `append_message` (there are no
    /// round trips to save here, and no data-modifying `WITH`).
    async fn append_plain(
        &self,
        _ticket_id: i64,
        _draft: &MessageDraft,
        _at: DateTime<Utc>,
    ) -> StoreResult<Option<Message>> {
        Ok(None)
    }
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

/// SQLite has one writer (taken first, see [`write_lock_sql`]): no row locks.
fn skip_locked_sql(_table: &str) -> String {
    String::new()
}

/// A write that takes SQLite's write lock at the start of a transaction that
/// reads before it writes, so the read is never upgraded (SQLITE_BUSY).
fn write_lock_sql() -> Option<&'static str> {
    Some("UPDATE support_settings SET id = id WHERE id = 1")
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
