//! PostgreSQL's batches of the group commit ([`crate::store::group_commit`]).
//!
//! A batch is one autocommitted statement, hence one commit, and its callers
//! are answered only after it has committed. The batches in flight run on
//! connections of their own (`append_connections` of `postgres.rs`), one each.
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

use crate::domain::Message;
use crate::store::group_commit::{
    Answer, Batches, Request, no_status_rule, webhook_deliveries_sql,
};
use crate::store::sql::{MESSAGE_COLUMNS, MessageRow, has_sender_key};
use sqlx::{Pool, Postgres};
use std::sync::LazyLock;

/// SQL: moves ticket `id`'s two numberings on by one public message of
/// `sender_type` at `at`, keeping the reports' facts as `ALLOCATE_PLACE` of
/// `sql.rs` does, when no status rule applies and `condition` holds (each
/// argument an SQL expression).
fn bump_public_sql(id: &str, sender_type: &str, at: &str, condition: &str) -> String {
    format!(
        "UPDATE support_tickets SET last_seq = last_seq + 1, \
         last_public_seq = last_public_seq + 1, updated_at = {at}, \
         first_visitor_at = CASE WHEN {sender_type} = 'user' THEN COALESCE(first_visitor_at, {at}) ELSE first_visitor_at END, \
         first_response_at = CASE WHEN {sender_type} = 'supporter' AND first_visitor_at IS NOT NULL \
         THEN COALESCE(first_response_at, {at}) ELSE first_response_at END \
         WHERE id = {id} AND {} AND {condition}",
        no_status_rule("status", sender_type),
    )
}

/// One message in one statement (see [`append_one`]); built once, not per message.
/// It keeps the reports' facts as `ALLOCATE_PLACE` of `sql.rs` does.
static APPEND_ONE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH t AS ({} RETURNING last_seq, last_public_seq), \
         inserted AS (INSERT INTO support_messages (ticket_id, seq, public_seq, sender_type, sender_id, sender_name, message, is_read, created_at, client_msg_id) \
         SELECT $1, t.last_seq, t.last_public_seq, $2, $3, $4, $5, FALSE, $6, $7 FROM t RETURNING {}), \
         hooked AS ({}) \
         SELECT * FROM inserted",
        bump_public_sql(
            "$1",
            "$2",
            "$6",
            &format!(
                "($7::text IS NULL OR NOT EXISTS (SELECT 1 FROM support_messages WHERE {}))",
                has_sender_key("", "$1", "$2", "$3", "$7")
            )
        ),
        MESSAGE_COLUMNS,
        webhook_deliveries_sql("inserted", "TRUE")
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
        webhook_deliveries_sql("inserted", "TRUE")
    )
});

/// PostgreSQL's batches: one autocommitted statement each, on the pool.
pub(super) struct PgBatches {
    pub(super) pool: Pool<Postgres>,
}

impl Batches for PgBatches {
    async fn store_batch(&self, batch: &[Request]) -> Result<Vec<Answer>, sqlx::Error> {
        append_batch(&self.pool, batch).await
    }

    /// At low load (a batch of one): the one-message statement, a simpler plan
    /// for PostgreSQL.
    async fn store_one(&self, request: &Request) -> Answer {
        append_one(&self.pool, request).await
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
async fn append_one(pool: &Pool<Postgres>, request: &Request) -> Answer {
    let Request {
        ticket_id,
        draft,
        at,
        ..
    } = request;
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
