//! Group commit of message appends on PostgreSQL.
//!
//! An autocommitted append is one PostgreSQL commit, and a commit costs this
//! machine's PostgreSQL about 1/8,000 s whatever it carries: past ~8,000
//! messages/s the commits alone would fill it. The [`Appender`] stores several
//! messages with one statement, hence one commit, and answers each caller only
//! after that statement has committed.
//!
//! How batches form: callers queue their message ([`Appender::append`]) for one
//! task, which takes the first queued message plus whatever else is queued then,
//! up to [`MAX_BATCH`], and runs them as one statement, with at most
//! [`MAX_BATCHES_IN_FLIGHT`] statements running at once. There is no timer and no
//! waiting for a batch to fill: at low load a batch is the one message and starts
//! at once, so batching adds no latency; under load, messages queue while the
//! statements in flight run, and the next batch takes them all. The batch size
//! follows the load by itself.
//!
//! It stores public messages only: each takes its ticket's next `seq` and next
//! `public_seq` (the visitor's numbering). Private notes, numbered in `seq`
//! alone, take the transaction of `append_message`.
//!
//! Why one statement rather than a transaction of several: a transaction would
//! hold its tickets' row locks across round trips (`BEGIN`, statements,
//! `COMMIT`) while other batches wait on them; one autocommitted statement is one
//! round trip, and its locks live only as long as PostgreSQL executes it.
//!
//! Why no deadlock: every writer of a ticket's messages holds the ticket's row
//! lock. The single-ticket writers (the transaction of `append_message`,
//! `change_ticket`, the one-message statement) lock one ticket row only, and a
//! batch locks all its tickets first, in ascending id order, before it updates
//! any of them. Two batches, of this node or of another node sharing the
//! database, therefore take their common tickets in the same order, and a
//! single-ticket writer never waits for a second ticket while holding one.

use crate::domain::{Message, MessageDraft};
use crate::metrics::metrics;
use crate::store::sql::{MESSAGE_COLUMNS, MessageRow, has_sender_key};
use crate::store::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use sqlx::error::{DatabaseError, ErrorKind};
use sqlx::{Pool, Postgres};
use std::borrow::Cow;
use std::sync::LazyLock;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

/// The most messages one statement stores. It bounds a statement's size and the
/// row locks it holds (one per ticket in it); past a few dozen messages the
/// commit is no longer what a message costs.
const MAX_BATCH: usize = 64;

/// The most batch statements running at once. More than one, so a batch waiting
/// on a ticket's row lock (held by a status change, say) does not hold up the
/// others; few, so that under load messages queue and batches grow.
const MAX_BATCHES_IN_FLIGHT: u32 = 4;

/// Pool connections the appender leaves to everything else (reads, the
/// transactions of the other writes) when the pool is small.
const CONNECTIONS_LEFT_TO_OTHERS: u32 = 2;

/// Messages waiting for a batch. Every one has a caller waiting for its answer,
/// so the queue is as long as the concurrent appends; when it is full, callers
/// wait to queue (back-pressure).
const QUEUE_CAPACITY: usize = 4096;

/// What a caller gets: the stored message, or `None` when the statement did not
/// store it (a status rule applies, the ticket is closed or unknown, or the
/// sender's `client_msg_id` is taken), which leaves it to the transaction of
/// `append_message`.
type Answer = StoreResult<Option<Message>>;

/// The statuses where `crate::domain::status_after_message` changes nothing for
/// a message of this sender: the messages both statements may store without the
/// transaction of `append_message`.
fn no_status_rule(status: &str, sender_type: &str) -> String {
    format!(
        "({status} IN ('open', 'in_progress') OR ({status} = 'assigned' AND {sender_type} = 'user') \
         OR ({status} = 'resolved' AND {sender_type} = 'supporter'))"
    )
}

/// The webhook deliveries of the messages in the CTE `{from}`: one per webhook
/// that asked for `message.created` (the appender stores public messages
/// only), in the ticket's order, as `webhook_sql.rs` writes them for the other
/// paths (the event id is [`crate::domain::webhook::message_event_id`]). No
/// webhook: the join is empty and nothing is written.
fn webhook_deliveries(from: &str) -> String {
    format!(
        "INSERT INTO support_webhook_deliveries (webhook_id, event_id, event_type, ticket_id, message_id, \
         status, attempts, next_attempt_at, created_at) \
         SELECT e.webhook_id, 'evt_m_' || i.id, 'message.created', i.ticket_id, i.id, 'pending', 0, i.created_at, i.created_at \
         FROM {from} i JOIN support_webhook_events e ON e.event = 'message.created' ORDER BY i.ticket_id, i.seq, e.webhook_id"
    )
}

/// One message in one statement (see [`append_one`]); built once, not per message.
/// It keeps the reports' facts as `ALLOCATE_PLACE` of `sql.rs` does.
static APPEND_ONE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH t AS (UPDATE support_tickets SET last_seq = last_seq + 1, \
         last_public_seq = last_public_seq + 1, updated_at = $6, \
         first_visitor_at = CASE WHEN $2 = 'user' THEN COALESCE(first_visitor_at, $6) ELSE first_visitor_at END, \
         first_response_at = CASE WHEN $2 = 'supporter' AND first_visitor_at IS NOT NULL \
         THEN COALESCE(first_response_at, $6) ELSE first_response_at END \
         WHERE id = $1 AND {} \
         AND ($7::text IS NULL OR NOT EXISTS \
         (SELECT 1 FROM support_messages WHERE {})) \
         RETURNING last_seq, last_public_seq), \
         inserted AS (INSERT INTO support_messages (ticket_id, seq, public_seq, sender_type, sender_id, sender_name, message, is_read, created_at, client_msg_id) \
         SELECT $1, t.last_seq, t.last_public_seq, $2, $3, $4, $5, FALSE, $6, $7 FROM t RETURNING {}), \
         hooked AS ({}) \
         SELECT * FROM inserted",
        no_status_rule("status", "$2"),
        has_sender_key("", "$1", "$2", "$3", "$7"),
        MESSAGE_COLUMNS,
        webhook_deliveries("inserted")
    )
});

/// A batch in one statement (see [`append_batch`]); built once, not per batch.
static APPEND_BATCH: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH batch AS (\
             SELECT * FROM unnest($1::int8[], $2::text[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::timestamptz[]) \
             WITH ORDINALITY AS b(ticket_id, sender_type, sender_id, sender_name, message, client_msg_id, created_at, ordinal)), \
         locked AS MATERIALIZED (\
             SELECT id, status FROM support_tickets WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE), \
         accepted AS (\
             SELECT b.*, row_number() OVER (PARTITION BY b.ticket_id ORDER BY b.ordinal) AS rank, \
             MIN(b.ordinal) FILTER (WHERE b.sender_type = 'user') OVER (PARTITION BY b.ticket_id) AS first_user_ordinal \
             FROM batch b JOIN locked l ON l.id = b.ticket_id \
             WHERE {} \
             AND NOT EXISTS (SELECT 1 FROM support_messages m WHERE {})), \
         bumped AS (\
             UPDATE support_tickets t SET last_seq = t.last_seq + a.n, last_public_seq = t.last_public_seq + a.n, updated_at = a.at, \
             first_visitor_at = COALESCE(t.first_visitor_at, a.first_user_at), \
             first_response_at = COALESCE(t.first_response_at, \
                 CASE WHEN t.first_visitor_at IS NOT NULL THEN a.first_reply_at ELSE a.reply_after_user_at END) \
             FROM (SELECT ticket_id, COUNT(*) AS n, MAX(created_at) AS at, \
                   MIN(created_at) FILTER (WHERE sender_type = 'user') AS first_user_at, \
                   MIN(created_at) FILTER (WHERE sender_type = 'supporter') AS first_reply_at, \
                   MIN(created_at) FILTER (WHERE sender_type = 'supporter' AND ordinal > first_user_ordinal) AS reply_after_user_at \
                   FROM accepted GROUP BY ticket_id) a \
             WHERE t.id = a.ticket_id RETURNING t.id, t.last_seq - a.n AS seq_before, t.last_public_seq - a.n AS public_before), \
         inserted AS (\
             INSERT INTO support_messages (ticket_id, seq, public_seq, sender_type, sender_id, sender_name, message, is_read, created_at, client_msg_id) \
             SELECT a.ticket_id, s.seq_before + a.rank, s.public_before + a.rank, a.sender_type, a.sender_id, a.sender_name, a.message, FALSE, a.created_at, a.client_msg_id \
             FROM accepted a JOIN bumped s ON s.id = a.ticket_id RETURNING {}), \
         hooked AS ({}) \
         SELECT i.*, a.ordinal FROM inserted i JOIN bumped s ON s.id = i.ticket_id \
         JOIN accepted a ON a.ticket_id = i.ticket_id AND a.rank = i.seq - s.seq_before",
        no_status_rule("l.status", "b.sender_type"),
        has_sender_key(
            "m.",
            "b.ticket_id",
            "b.sender_type",
            "b.sender_id",
            "b.client_msg_id"
        ),
        MESSAGE_COLUMNS,
        webhook_deliveries("inserted")
    )
});

/// One message waiting for a batch.
struct Request {
    ticket_id: i64,
    draft: MessageDraft,
    /// Stored as the message's `created_at` (and the ticket's `updated_at`).
    at: DateTime<Utc>,
    reply: oneshot::Sender<Answer>,
}

/// The handle of the batching task, owned by `PostgresStore`.
pub(super) struct Appender {
    /// The queue to the batching task; dropping it (with the store) ends the
    /// task once the batches in flight have answered.
    requests: mpsc::Sender<Request>,
    /// To append directly when the task is gone.
    pool: Pool<Postgres>,
}

impl Appender {
    /// Starts the batching task on the current runtime. `pool_size` caps the
    /// batches in flight, so they never take every connection of the pool.
    pub(super) fn start(pool: Pool<Postgres>, pool_size: u32) -> Appender {
        let (requests, queue) = mpsc::channel(QUEUE_CAPACITY);
        let in_flight = MAX_BATCHES_IN_FLIGHT
            .min(pool_size.saturating_sub(CONNECTIONS_LEFT_TO_OTHERS))
            .max(1);
        tokio::spawn(run(pool.clone(), queue, in_flight as usize));
        Appender { requests, pool }
    }

    /// Appends in the next batch and answers once the batch has committed.
    pub(super) async fn append(
        &self,
        ticket_id: i64,
        draft: &MessageDraft,
        at: DateTime<Utc>,
    ) -> Answer {
        let (reply, answer) = oneshot::channel();
        let request = Request {
            ticket_id,
            draft: draft.clone(),
            at,
            reply,
        };
        if let Err(mpsc::error::SendError(request)) = self.requests.send(request).await {
            // The task is gone (its runtime is shutting down). Nothing was
            // queued, so appending here cannot store the message twice.
            return append_one(&self.pool, request.ticket_id, &request.draft, request.at).await;
        }
        // A dropped reply means the batch's task ended without answering (its
        // runtime shut down, or it panicked), maybe after its statement
        // committed: retrying could store the message twice, so the caller gets
        // an error, and a resend with the same client_msg_id finds the message
        // if it was stored.
        answer
            .await
            .unwrap_or(Err(StoreError::Database(sqlx::Error::WorkerCrashed)))
    }
}

/// The batching task: forms batches from the queue and runs at most `max_in_flight`
/// of them at once, each on a task of its own (so a batch's encoding and decoding
/// run in parallel with the others'). Ends when the store is dropped and the
/// batches in flight have answered.
async fn run(pool: Pool<Postgres>, mut queue: mpsc::Receiver<Request>, max_in_flight: usize) {
    let mut in_flight = JoinSet::new();
    loop {
        tokio::select! {
            // While `max_in_flight` batches run, messages stay in the queue: that
            // is where the next batch grows.
            first = queue.recv(), if in_flight.len() < max_in_flight => {
                let Some(first) = first else { break };
                let mut batch = Vec::with_capacity((queue.len() + 1).min(MAX_BATCH));
                batch.push(first);
                while batch.len() < MAX_BATCH {
                    match queue.try_recv() {
                        Ok(request) => batch.push(request),
                        Err(_) => break,
                    }
                }
                in_flight.spawn(run_batch(pool.clone(), batch));
            }
            Some(done) = in_flight.join_next() => log_panic(done),
        }
    }
    while let Some(done) = in_flight.join_next().await {
        log_panic(done);
    }
}

/// A batch task that panicked has dropped its replies: its callers got an error.
fn log_panic(done: Result<(), tokio::task::JoinError>) {
    if let Err(err) = done {
        tracing::error!(cause = %err, "a batch of appends ended without answering");
    }
}

/// Runs one batch and answers each of its callers.
async fn run_batch(pool: Pool<Postgres>, batch: Vec<Request>) {
    metrics()
        .store_append_batch_size
        .observe(batch.len() as f64);
    if batch.len() == 1 {
        // At low load: the one-message statement, a simpler plan for PostgreSQL.
        return append_each(&pool, batch).await;
    }
    match append_batch(&pool, &batch).await {
        Ok(answers) => {
            for (request, answer) in batch.into_iter().zip(answers) {
                // A caller that stopped waiting has its message stored all the same.
                let _ = request.reply.send(answer);
            }
        }
        // The statement broke a constraint and stored nothing: the same
        // client_msg_id twice in the batch, a resend that committed while the
        // batch waited for its locks, or anything else one message can break.
        // One statement per message gives each message its own verdict.
        Err(sqlx::Error::Database(err)) if is_integrity_violation(err.as_ref()) => {
            tracing::debug!(
                cause = %err,
                messages = batch.len(),
                "batch refused; appending one by one"
            );
            append_each(&pool, batch).await;
        }
        Err(err) => {
            tracing::warn!(cause = %err, messages = batch.len(), "batch of appends failed");
            for request in batch {
                let _ = request.reply.send(Err(copy_error(&err).into()));
            }
        }
    }
}

/// Appends the messages one statement each, in the batch's order.
async fn append_each(pool: &Pool<Postgres>, batch: Vec<Request>) {
    for request in batch {
        let answer = append_one(pool, request.ticket_id, &request.draft, request.at).await;
        let _ = request.reply.send(answer);
    }
}

/// A stored row of a batch and which message of the batch it is (1-based).
#[derive(sqlx::FromRow)]
struct BatchRow {
    #[sqlx(flatten)]
    message: MessageRow,
    ordinal: i64,
}

/// Stores a batch with one autocommitted statement; returns one answer per
/// message, in the batch's order.
///
/// The statement, step by step:
/// - `batch`: the messages, numbered by their place in the batch (`ordinal`);
/// - `locked`: locks the batch's tickets in ascending id order (see the module
///   doc). `FOR NO KEY UPDATE` is the lock an `UPDATE` of the row takes, so it
///   serialises with every other writer of the ticket, yet leaves the key-share
///   locks of foreign-key checks (a socket's session row) free to pass;
/// - `accepted`: the messages the one-message statement would store: the
///   ticket's status is one where no status rule applies to the sender (the
///   same list as there), and the sender's client_msg_id is new (a NULL one never
///   matches). Each is ranked within its ticket by arrival;
/// - `bumped`: moves each ticket's `last_seq` on by its accepted messages;
/// - `inserted`: stores them at the seqs that frees: gapless, in arrival order.
///
/// A message the statement did not store gets `None`: `append_message` decides
/// it in a transaction. Reads under `FOR NO KEY UPDATE` and the `UPDATE` see a
/// ticket as the last writer left it; the client_msg_id check sees the
/// statement's snapshot, so a resend committed meanwhile makes the insert fail
/// with a unique violation (handled by the caller).
async fn append_batch(
    pool: &Pool<Postgres>,
    batch: &[Request],
) -> Result<Vec<Answer>, sqlx::Error> {
    let rows: Vec<BatchRow> = sqlx::query_as(&APPEND_BATCH)
        .bind(column(batch, |r| r.ticket_id))
        .bind(column(batch, |r| r.draft.sender_type.as_str()))
        .bind(column(batch, |r| r.draft.sender_id))
        .bind(column(batch, |r| r.draft.sender_name.as_deref()))
        .bind(column(batch, |r| r.draft.text.as_str()))
        .bind(column(batch, |r| r.draft.client_msg_id.as_deref()))
        .bind(column(batch, |r| r.at))
        // `fetch_all` returns after PostgreSQL's ReadyForQuery, that is after the
        // statement's commit.
        .fetch_all(pool)
        .await?;
    let mut stored: Vec<Option<MessageRow>> = batch.iter().map(|_| None).collect();
    for row in rows {
        let slot = usize::try_from(row.ordinal - 1)
            .ok()
            .and_then(|i| stored.get_mut(i))
            .ok_or_else(|| {
                sqlx::Error::Protocol(format!("batch row of ordinal {}", row.ordinal))
            })?;
        *slot = Some(row.message);
    }
    Ok(stored
        .into_iter()
        .map(|row| row.map(Message::try_from).transpose())
        .collect())
}

/// One field of every message of the batch: an array parameter of the statement.
fn column<'a, T>(batch: &'a [Request], field: impl Fn(&'a Request) -> T) -> Vec<T> {
    batch.iter().map(field).collect()
}

/// Appends one message in one autocommitted statement when no status rule
/// applies and the `client_msg_id` is new: one round trip instead of a
/// transaction's four. `None` leaves the message to the transaction of
/// `append_message`, which decides everything else (closed, unknown ticket,
/// status rules, resends); the statement is atomic, so a refused one has taken
/// no seq. Used for a batch of one, and one by one for a batch PostgreSQL refused.
async fn append_one(
    pool: &Pool<Postgres>,
    ticket_id: i64,
    draft: &MessageDraft,
    at: DateTime<Utc>,
) -> Answer {
    let row: Result<Option<MessageRow>, sqlx::Error> = sqlx::query_as(&APPEND_ONE)
        .bind(ticket_id)
        .bind(draft.sender_type.as_str())
        .bind(draft.sender_id)
        .bind(draft.sender_name.as_deref())
        .bind(&draft.text)
        .bind(at)
        .bind(draft.client_msg_id.as_deref())
        .fetch_optional(pool)
        .await;
    match row {
        Ok(row) => row.map(Message::try_from).transpose(),
        // A resend racing its first copy: the transaction answers with it.
        Err(sqlx::Error::Database(err)) if err.is_unique_violation() => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// SQLSTATE class 23: the statement broke a unique, foreign-key, not-null or
/// check constraint.
fn is_integrity_violation(err: &dyn DatabaseError) -> bool {
    err.code().is_some_and(|code| code.starts_with("23"))
}

/// The error of a failed batch, for each of its callers (`sqlx::Error` is not
/// `Clone`). It keeps what callers tell apart: the pool and I/O failures that
/// mean "unavailable", and a database error's message and SQLSTATE code.
fn copy_error(err: &sqlx::Error) -> sqlx::Error {
    match err {
        sqlx::Error::Database(err) => sqlx::Error::Database(Box::new(BatchError {
            message: err.message().to_owned(),
            code: err.code().map(Cow::into_owned),
        })),
        sqlx::Error::Io(err) => sqlx::Error::Io(std::io::Error::new(err.kind(), err.to_string())),
        sqlx::Error::PoolTimedOut => sqlx::Error::PoolTimedOut,
        sqlx::Error::PoolClosed => sqlx::Error::PoolClosed,
        sqlx::Error::WorkerCrashed => sqlx::Error::WorkerCrashed,
        // Rows of a committed statement that do not decode, and the like.
        other => sqlx::Error::Protocol(other.to_string()),
    }
}

/// A copy of the database error that failed a whole batch.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct BatchError {
    message: String,
    code: Option<String>,
}

impl DatabaseError for BatchError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        self.code.as_deref().map(Cow::Borrowed)
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    /// Constraint violations never get here: they are retried one by one.
    fn kind(&self) -> ErrorKind {
        ErrorKind::Other
    }
}
