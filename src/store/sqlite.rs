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
//!
//! Checkpoints (the WAL's pages copied into the database file, and both
//! synced) run every [`CHECKPOINT_INTERVAL`] on a connection of their own,
//! PASSIVE, so they never block the writer: SQLite's default would run one
//! inside the commit of whichever batch filled the WAL past 1,000 pages,
//! holding up that batch and every append queued behind it. A connection
//! checkpoints at its commit only as a backstop, past
//! [`BACKSTOP_CHECKPOINT_PAGES`].

mod appender;

use super::group_commit::GroupCommit;
use super::{SqliteSync, StoreOptions};
use appender::SqliteBatches;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Pool, Sqlite, SqliteConnection};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;
use tokio_util::sync::{CancellationToken, DropGuard};

pub struct SqliteStore {
    /// sqlx's pool; writers queue on SQLite's lock with a busy timeout.
    pool: Pool<Sqlite>,
    /// Group commit: stores the common appends several to a transaction.
    appends: GroupCommit,
    /// The times it writes (see [`super::Clock`]).
    clock: super::Clock,
    /// Stops the checkpoints when the store is dropped.
    _checkpoints: DropGuard,
}

/// How long a writer waits for SQLite's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// How often the WAL is checkpointed (see the module doc). A longer interval
/// writes a page changed many times once; with `SQLITE_SYNCHRONOUS=normal` it
/// is also about how old the last commits a power loss may take can be.
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// WAL pages (4 KiB) past which a connection checkpoints at its commit itself
/// (SQLite's default is 1,000): only should the checkpoints fall that far behind.
const BACKSTOP_CHECKPOINT_PAGES: &str = "10000";

/// The writer's page cache (SQLite's unit: negative is KiB): 16 MiB, the
/// index pages a few thousand busy tickets' appends touch (SQLite's default
/// is 2 MiB).
const WRITER_CACHE: &str = "-16384";

/// Prepared statements the writer keeps: a batch's statements are built for
/// its size (up to 64 messages) and its tickets, a few hundred texts in all.
const WRITER_STATEMENTS: usize = 512;

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
            .foreign_keys(true)
            .pragma("wal_autocheckpoint", BACKSTOP_CHECKPOINT_PAGES);
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
        // The writer's own connection: appends never wait for the pool. A
        // batch's multi-row statements keep their statement journals (what
        // undoes one failed statement of the transaction) in memory rather
        // than in a temporary file written, and closed, at every commit; the
        // index pages of the busy tickets stay in its page cache instead of
        // being read back from the WAL; and its statements, whose text
        // follows the batch's size, stay prepared.
        let writer = connect
            .clone()
            .pragma("temp_store", "memory")
            .pragma("cache_size", WRITER_CACHE)
            .statement_cache_capacity(WRITER_STATEMENTS)
            .connect()
            .await?;
        let checkpointer = connect.connect().await?;
        let stop = CancellationToken::new();
        tokio::spawn(checkpoint_every(
            CHECKPOINT_INTERVAL,
            checkpointer,
            stop.clone(),
        ));
        Ok(SqliteStore {
            pool,
            appends: GroupCommit::start(
                SqliteBatches {
                    writer: tokio::sync::Mutex::new(writer),
                },
                1,
            ),
            clock: super::Clock::default(),
            _checkpoints: stop.drop_guard(),
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

/// Checkpoints the WAL every `interval` on `connection` (PASSIVE: it copies
/// what no reader still needs and never waits for the writer) until `stop`.
async fn checkpoint_every(
    interval: Duration,
    mut connection: SqliteConnection,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Warn once per run of failures, not every second.
    let mut failing = false;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&mut connection)
            .await
        {
            Ok(_) => failing = false,
            Err(err) => {
                if !failing {
                    tracing::warn!(cause = %err, "WAL checkpoint failed; the writer checkpoints past its backstop");
                }
                failing = true;
            }
        }
    }
}

/// SQLite has one writer (taken first, see [`begin`]): no row locks.
fn skip_locked_sql(_table: &str) -> String {
    String::new()
}

/// The waiting queue's tickets as `t`, read through the index of their order
/// (migration 0016): without statistics SQLite's planner takes the status
/// index and sorts every waiting ticket. Only for the queue's own `WHERE`
/// (`t.status = 'open' AND t.supporter_id IS NULL`): SQLite refuses a query
/// the named index cannot serve.
const WAITING_TICKETS: &str = "support_tickets t INDEXED BY idx_support_tickets_waiting_by_rank";

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

#[cfg(test)]
mod tests {
    use super::*;

    /// The WAL index's (`-shm`) frames in the WAL and frames checkpointed: its
    /// header's `mxFrame` and, after the header's two copies, `nBackfill`
    /// (native byte order; sqlite.org/walformat.html).
    fn wal_frames(database: &Path) -> (u32, u32) {
        let shm = std::fs::read(database.with_extension("sqlite-shm")).unwrap();
        let word = |at: usize| u32::from_ne_bytes(shm[at..at + 4].try_into().unwrap());
        (word(16), word(96))
    }

    #[tokio::test]
    async fn the_wal_is_checkpointed_in_the_background_without_a_commit_filling_it() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("db.sqlite");
        let url = format!("sqlite://{}", database.display());
        let store = SqliteStore::connect(&url, &StoreOptions::with_pool_size(2))
            .await
            .unwrap();
        sqlx::query("CREATE TABLE scratch (n INTEGER, filler TEXT)")
            .execute(&store.pool)
            .await
            .unwrap();
        // Far below the backstop of 10,000 pages: no commit checkpoints.
        for n in 0..50 {
            sqlx::query("INSERT INTO scratch VALUES ($1, $2)")
                .bind(n)
                .bind("x".repeat(3000))
                .execute(&store.pool)
                .await
                .unwrap();
        }
        let (written, _) = wal_frames(&database);
        assert!(written >= 50, "{written} frames in the WAL");
        let deadline = tokio::time::Instant::now() + CHECKPOINT_INTERVAL * 5;
        loop {
            let (written, checkpointed) = wal_frames(&database);
            if written > 0 && checkpointed == written {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{checkpointed} of {written} frames checkpointed"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    #[tokio::test]
    async fn a_tickets_presence_is_an_index_search_whatever_the_active_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let store = one_connection_store(&dir).await;
        // The WHERE of `Store::presences` (literal ids: the plan is the same
        // with binds).
        let query = "SELECT s.ticket_id, COUNT(*) FROM support_sessions s \
             WHERE s.is_active = TRUE AND s.ticket_id IN (1, 2, 3) GROUP BY s.ticket_id";
        let steps = plan(&store, query).await;
        assert!(
            steps.iter().any(|step| step
                .contains("idx_support_sessions_ticket_active (ticket_id=? AND is_active=?)")),
            "{query}: {steps:?}"
        );
    }

    /// A store in `dir` with one reader connection.
    async fn one_connection_store(dir: &tempfile::TempDir) -> SqliteStore {
        let url = format!("sqlite://{}", dir.path().join("db.sqlite").display());
        SqliteStore::connect(&url, &StoreOptions::with_pool_size(1))
            .await
            .unwrap()
    }

    /// The steps of SQLite's plan for `query`.
    async fn plan(store: &SqliteStore, query: &str) -> Vec<String> {
        let plan: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(&format!("EXPLAIN QUERY PLAN {query}"))
                .fetch_all(&store.pool)
                .await
                .unwrap();
        plan.into_iter().map(|(.., step)| step).collect()
    }

    /// What a reconnect storm reads of the messages for many sockets at once
    /// (`Store::seqs_of_public`, `Store::messages_in_ranges`) is an index
    /// search per socket, never a walk of the table or of a ticket's messages;
    /// the queue places walk the waiting tickets in their order, unsorted.
    #[tokio::test]
    async fn the_storms_batched_reads_are_index_searches() {
        let dir = tempfile::tempdir().unwrap();
        let store = one_connection_store(&dir).await;
        let seqs = "WITH asked (ticket_id, public_seq) AS (VALUES (1, 2), (3, 4)) \
             SELECT a.ticket_id, a.public_seq, COALESCE((SELECT m.seq FROM support_messages m \
             WHERE m.ticket_id = a.ticket_id AND m.public_seq <= a.public_seq \
             ORDER BY m.public_seq DESC LIMIT 1), 0) FROM asked a";
        let ranges = format!(
            "WITH asked (asked_ticket, asked_after, asked_up_to) AS (VALUES (1, 0, 5), (2, 3, 9)) \
             SELECT {MESSAGE_COLUMNS} FROM asked JOIN support_messages \
             ON ticket_id = asked_ticket AND seq > asked_after AND seq <= asked_up_to ORDER BY ticket_id, seq"
        );
        let places = format!(
            "SELECT q.id, q.position FROM (SELECT t.id, ROW_NUMBER() OVER \
             (ORDER BY t.queue_rank, t.created_at, t.id) AS position FROM {WAITING_TICKETS} \
             WHERE t.status = 'open' AND t.supporter_id IS NULL) q WHERE q.id IN (1, 2)"
        );
        let steps = plan(&store, &places).await;
        assert!(
            steps
                .iter()
                .any(|step| step.contains("idx_support_tickets_waiting_by_rank")),
            "{steps:?}"
        );
        assert!(
            !steps.iter().any(|step| step.contains("TEMP B-TREE")),
            "{steps:?}"
        );
        for (query, index) in [
            (
                seqs,
                "support_messages_ticket_public_seq_key (ticket_id=? AND public_seq<?)",
            ),
            (ranges.as_str(), "(ticket_id=? AND seq>? AND seq<?)"),
        ] {
            let steps = plan(&store, query).await;
            assert!(
                steps.iter().any(|step| step.contains(index)),
                "{query}: {steps:?}"
            );
            assert!(
                !steps
                    .iter()
                    .any(|step| step.starts_with("SCAN support_messages")
                        || step.starts_with("SCAN m")),
                "{query}: {steps:?}"
            );
        }
    }
}
