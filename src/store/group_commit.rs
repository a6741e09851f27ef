//! Group commit of message appends, for both stores.
//!
//! A commit costs a database about the same whatever it carries: PostgreSQL's is
//! a round trip and a WAL flush (about 1/8,000 s on this machine), SQLite's is
//! its one write lock taken and given back (and an `fsync` with
//! `synchronous = FULL`). Past a few thousand messages a second the commits
//! alone would fill the database, and on SQLite the writers that wait for the
//! lock sleep in its busy handler. So the common appends are stored several to a
//! commit: callers queue their message ([`GroupCommit::append`]) for one task,
//! which takes the first queued message plus whatever else is queued then, up
//! to [`MAX_BATCH`], and hands them to the backend's [`Batches`] as one batch;
//! each caller is answered only after its batch has committed.
//!
//! There is no timer and no waiting for a batch to fill: at low load a batch is
//! the one message and starts at once, so batching adds no latency; under load,
//! messages queue while the batches in flight run, and the next batch takes them
//! all. The batch size follows the load by itself.
//!
//! The batches store public messages without files whose ticket's status no
//! rule changes and whose `client_msg_id` is new: each takes its ticket's next
//! `seq` and next `public_seq`. Anything else (a private note, files, a status
//! rule, a resend, a closed or unknown ticket) is answered `None`, and
//! `append_message` decides it in a transaction of its own.

use crate::domain::{Message, MessageDraft};
use crate::metrics::metrics;
use crate::store::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use sqlx::error::{DatabaseError, ErrorKind};
use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

/// The most messages one batch stores. It bounds a statement's (or a write
/// transaction's) size and the locks it holds; past a few dozen messages the
/// commit is no longer what a message costs.
pub(super) const MAX_BATCH: usize = 64;

/// Messages waiting for a batch. Every one has a caller waiting for its answer,
/// so the queue is as long as the concurrent appends; when it is full, callers
/// wait to queue (back-pressure).
const QUEUE_CAPACITY: usize = 4096;

/// What a caller gets: the stored message, or `None` when the batch did not
/// store it, which leaves it to the transaction of `append_message`.
pub(super) type Answer = StoreResult<Option<Message>>;

/// One message waiting for a batch.
pub(super) struct Request {
    pub ticket_id: i64,
    pub draft: MessageDraft,
    /// Stored as the message's `created_at` (and the ticket's `updated_at`).
    pub at: DateTime<Utc>,
    reply: oneshot::Sender<Answer>,
}

/// How a backend stores a batch.
pub(super) trait Batches: Send + Sync + 'static {
    /// Stores the batch in one commit; one answer per message, in the batch's
    /// order. An error means nothing of the batch was stored.
    fn store_batch(
        &self,
        batch: &[Request],
    ) -> impl Future<Output = Result<Vec<Answer>, sqlx::Error>> + Send;

    /// Stores one message in one commit: a batch of one, and each message of a
    /// batch the database refused as a whole.
    fn store_one(&self, request: &Request) -> impl Future<Output = Answer> + Send;
}

/// The handle of the batching task, owned by the store.
pub(super) struct GroupCommit {
    /// The queue to the batching task; dropping it (with the store) ends the
    /// task once the batches in flight have answered.
    requests: mpsc::Sender<Request>,
}

impl GroupCommit {
    /// Starts the batching task on the current runtime, running at most
    /// `max_in_flight` batches at once, each on a task of its own.
    pub(super) fn start(batches: impl Batches, max_in_flight: usize) -> GroupCommit {
        let (requests, queue) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(run(Arc::new(batches), queue, max_in_flight.max(1)));
        GroupCommit { requests }
    }

    /// Appends in the next batch and answers once the batch has committed;
    /// `None` for a message the batches do not store (see the module doc).
    pub(super) async fn append(
        &self,
        ticket_id: i64,
        draft: &MessageDraft,
        at: DateTime<Utc>,
    ) -> Answer {
        // The batches number public messages only; a private note takes the
        // transaction of `append_message`, and so does a message with files,
        // which it gives to the message.
        if draft.visibility.is_internal() || !draft.attachments.is_empty() {
            return Ok(None);
        }
        let (reply, answer) = oneshot::channel();
        let request = Request {
            ticket_id,
            draft: draft.clone(),
            at,
            reply,
        };
        if self.requests.send(request).await.is_err() {
            // The task is gone (its runtime is shutting down). Nothing was
            // queued: the transaction of `append_message` stores it once.
            return Ok(None);
        }
        // A dropped reply means the batch's task ended without answering (its
        // runtime shut down, or it panicked), maybe after its commit: retrying
        // could store the message twice, so the caller gets an error, and a
        // resend with the same client_msg_id finds the message if it was stored.
        answer
            .await
            .unwrap_or(Err(StoreError::Database(sqlx::Error::WorkerCrashed)))
    }
}

/// The batching task: forms batches from the queue and runs at most
/// `max_in_flight` of them at once. Ends when the store is dropped and the
/// batches in flight have answered.
async fn run<B: Batches>(
    batches: Arc<B>,
    mut queue: mpsc::Receiver<Request>,
    max_in_flight: usize,
) {
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
                in_flight.spawn(run_batch(batches.clone(), batch));
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
async fn run_batch<B: Batches>(batches: Arc<B>, batch: Vec<Request>) {
    metrics()
        .store_append_batch_size
        .observe(batch.len() as f64);
    if batch.len() == 1 {
        return store_each(batches.as_ref(), batch).await;
    }
    match batches.store_batch(&batch).await {
        Ok(answers) => {
            for (request, answer) in batch.into_iter().zip(answers) {
                // A caller that stopped waiting has its message stored all the same.
                let _ = request.reply.send(answer);
            }
        }
        // The batch broke a constraint and stored nothing: the same
        // client_msg_id twice in the batch, a resend that committed while the
        // batch waited for its locks, or anything else one message can break.
        // One commit per message gives each message its own verdict.
        Err(sqlx::Error::Database(err)) if is_integrity_violation(err.as_ref()) => {
            tracing::debug!(
                cause = %err,
                messages = batch.len(),
                "batch refused; appending one by one"
            );
            store_each(batches.as_ref(), batch).await;
        }
        Err(err) => {
            tracing::warn!(cause = %err, messages = batch.len(), "batch of appends failed");
            for request in batch {
                let _ = request.reply.send(Err(copy_error(&err).into()));
            }
        }
    }
}

/// Stores the messages one commit each, in the batch's order.
async fn store_each<B: Batches>(batches: &B, batch: Vec<Request>) {
    for request in batch {
        let answer = batches.store_one(&request).await;
        let _ = request.reply.send(answer);
    }
}

/// SQL: the statuses where `crate::domain::status_after_message` changes
/// nothing for a message of this sender: the messages a batch may store.
pub(super) fn no_status_rule(status: &str, sender_type: &str) -> String {
    format!(
        "({status} IN ('open', 'in_progress') OR ({status} = 'assigned' AND {sender_type} = 'user') \
         OR ({status} = 'resolved' AND {sender_type} = 'supporter'))"
    )
}

/// SQL: the webhook deliveries of the messages `i` of `from` (a CTE, or the
/// messages table with a `where` condition): one per webhook that asked for
/// `message.created` (the batches store public messages only), in the ticket's
/// order, as `webhook_sql.rs` writes them for the other paths (the event id is
/// [`crate::domain::webhook::message_event_id`]). No webhook: the join is empty
/// and nothing is written.
pub(super) fn webhook_deliveries_sql(from: &str, condition: &str) -> String {
    format!(
        "INSERT INTO support_webhook_deliveries (webhook_id, event_id, event_type, ticket_id, message_id, \
         status, attempts, next_attempt_at, created_at) \
         SELECT e.webhook_id, 'evt_m_' || i.id, 'message.created', i.ticket_id, i.id, 'pending', 0, i.created_at, i.created_at \
         FROM {from} i JOIN support_webhook_events e ON e.event = 'message.created' WHERE {condition} \
         ORDER BY i.ticket_id, i.seq, e.webhook_id"
    )
}

/// SQLSTATE class 23 (SQLite: a constraint's extended code): the statement
/// broke a unique, foreign-key, not-null or check constraint.
fn is_integrity_violation(err: &dyn DatabaseError) -> bool {
    matches!(
        err.kind(),
        ErrorKind::UniqueViolation
            | ErrorKind::ForeignKeyViolation
            | ErrorKind::NotNullViolation
            | ErrorKind::CheckViolation
    ) || err.code().is_some_and(|code| code.starts_with("23"))
}

/// The error of a failed batch, for each of its callers (`sqlx::Error` is not
/// `Clone`). It keeps what callers tell apart: the pool and I/O failures that
/// mean "unavailable", and a database error's message and code.
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
