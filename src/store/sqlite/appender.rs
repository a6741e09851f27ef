//! SQLite's batches of the group commit ([`crate::store::group_commit`]).
//!
//! A batch is one `BEGIN IMMEDIATE` transaction on the writer's own connection,
//! answered after its `COMMIT`, and it runs the same few statements whatever
//! its size. That count is what a batch costs: sqlx runs a SQLite statement on
//! the connection's worker thread, and handing it over and back (two thread
//! wake-ups) costs more than SQLite's own work for a message. Per batch:
//!
//! 1. the batch's tickets: status, numbering, the reports' facts;
//! 2. which of the batch's `client_msg_id`s are stored already (if it has any);
//! 3. in Rust: which messages the batch stores, and their places;
//! 4. one `INSERT` of those messages;
//! 5. one `UPDATE` moving each ticket's numbering on;
//! 6. their webhook deliveries.
//!
//! `BEGIN IMMEDIATE` takes the write lock first, so nothing else writes while
//! the batch runs: what 1 and 2 read still holds at 4 and 5.

use crate::domain::{Message, SenderType};
use crate::store::group_commit::{Answer, Batches, Request, webhook_deliveries_sql};
use chrono::{DateTime, Utc};
use sqlx::{Connection, QueryBuilder, Sqlite, SqliteConnection};
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// The writer's connection; one batch at a time.
pub(super) struct SqliteBatches {
    pub(super) writer: tokio::sync::Mutex<SqliteConnection>,
}

/// What a batch needs of a ticket, and what it changes.
struct TicketState {
    status: String,
    last_seq: i64,
    last_public_seq: i64,
    has_visitor: bool,
    has_response: bool,
    /// Set when the batch stores a message of the ticket.
    updated_at: Option<DateTime<Utc>>,
    first_visitor_at: Option<DateTime<Utc>>,
    first_response_at: Option<DateTime<Utc>>,
}

/// A message's sender key: (ticket, sender type, sender id or 0, client_msg_id).
type SenderKey = (i64, String, i64, String);

fn sender_key(request: &Request) -> Option<SenderKey> {
    let draft = &request.draft;
    Some((
        request.ticket_id,
        draft.sender_type.as_str().to_owned(),
        draft.sender_id.unwrap_or(0),
        draft.client_msg_id.clone()?,
    ))
}

/// The statuses where no status rule applies to a public message of `sender`:
/// the same list as [`crate::store::group_commit::no_status_rule`] in SQL.
fn no_status_rule(status: &str, sender: SenderType) -> bool {
    match status {
        "open" | "in_progress" => true,
        "assigned" => sender == SenderType::User,
        "resolved" => sender == SenderType::Supporter,
        _ => false,
    }
}

/// The webhook deliveries of the batch's messages: the ids from `$1` to `$2`,
/// all this transaction's (it holds the write lock, so no other message was
/// stored meanwhile).
static HOOKED: LazyLock<String> =
    LazyLock::new(|| webhook_deliveries_sql("support_messages", "i.id BETWEEN $1 AND $2"));

/// The message a batch stored for `request`, as the row reads back: a public
/// message without files, unread, at the request's time.
fn stored_message(request: &Request, id: i64, seq: i64, public_seq: i64) -> Message {
    let draft = &request.draft;
    Message {
        id,
        ticket_id: request.ticket_id,
        seq,
        sender_type: draft.sender_type,
        sender_id: draft.sender_id,
        sender_name: draft.sender_name.clone(),
        message: draft.text.clone(),
        is_read: false,
        created_at: request.at,
        client_msg_id: draft.client_msg_id.clone(),
        visibility: draft.visibility,
        public_seq: Some(public_seq),
        attachments: Vec::new(),
    }
}

impl Batches for SqliteBatches {
    async fn store_batch(&self, batch: &[Request]) -> Result<Vec<Answer>, sqlx::Error> {
        let mut writer = self.writer.lock().await;
        let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;

        // 1. The tickets.
        let mut qb = QueryBuilder::<Sqlite>::new(
            "SELECT id, status, last_seq, last_public_seq, first_visitor_at IS NOT NULL, \
             first_response_at IS NOT NULL FROM support_tickets WHERE id IN (",
        );
        let mut list = qb.separated(", ");
        for id in batch.iter().map(|r| r.ticket_id).collect::<HashSet<_>>() {
            list.push_bind(id);
        }
        qb.push(")");
        let rows: Vec<(i64, String, i64, i64, bool, bool)> =
            qb.build_query_as().fetch_all(&mut *tx).await?;
        let mut tickets: HashMap<i64, TicketState> = rows
            .into_iter()
            .map(
                |(id, status, last_seq, last_public_seq, has_visitor, has_response)| {
                    let state = TicketState {
                        status,
                        last_seq,
                        last_public_seq,
                        has_visitor,
                        has_response,
                        updated_at: None,
                        first_visitor_at: None,
                        first_response_at: None,
                    };
                    (id, state)
                },
            )
            .collect();

        // 2. The client_msg_ids stored already, each by the unique sender-key index.
        let keys: Vec<SenderKey> = batch.iter().filter_map(sender_key).collect();
        let mut taken: HashSet<SenderKey> = HashSet::new();
        if !keys.is_empty() {
            let mut qb = QueryBuilder::<Sqlite>::new(
                "SELECT ticket_id, sender_type, COALESCE(sender_id, 0), client_msg_id \
                 FROM support_messages WHERE ",
            );
            let mut terms = qb.separated(" OR ");
            for (ticket_id, sender_type, sender_id, key) in &keys {
                terms
                    .push("(ticket_id = ")
                    .push_bind_unseparated(*ticket_id)
                    .push_unseparated(" AND sender_type = ")
                    .push_bind_unseparated(sender_type.as_str())
                    .push_unseparated(" AND COALESCE(sender_id, 0) = ")
                    .push_bind_unseparated(*sender_id)
                    .push_unseparated(" AND client_msg_id = ")
                    .push_bind_unseparated(key.as_str())
                    .push_unseparated(")");
            }
            taken = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
        }

        // 3. What the batch stores, where. Anything else is left to the
        // transaction of `append_message` (`None`): an unknown ticket, a status
        // rule (or a closed ticket), a client_msg_id stored already or sent
        // twice in this batch (the second send is a resend of the first).
        let mut places: Vec<Option<(i64, i64)>> = Vec::with_capacity(batch.len());
        for request in batch {
            let draft = &request.draft;
            let place = tickets.get_mut(&request.ticket_id).and_then(|ticket| {
                if !no_status_rule(&ticket.status, draft.sender_type) {
                    return None;
                }
                if let Some(key) = sender_key(request)
                    && (taken.contains(&key) || !taken.insert(key))
                {
                    return None;
                }
                ticket.last_seq += 1;
                ticket.last_public_seq += 1;
                ticket.updated_at = Some(request.at);
                match draft.sender_type {
                    SenderType::User if !ticket.has_visitor => {
                        ticket.has_visitor = true;
                        ticket.first_visitor_at = Some(request.at);
                    }
                    SenderType::Supporter if ticket.has_visitor && !ticket.has_response => {
                        ticket.has_response = true;
                        ticket.first_response_at = Some(request.at);
                    }
                    _ => {}
                }
                Some((ticket.last_seq, ticket.last_public_seq))
            });
            places.push(place);
        }
        let stored: Vec<(&Request, (i64, i64))> = batch
            .iter()
            .zip(&places)
            .filter_map(|(request, place)| Some((request, (*place)?)))
            .collect();
        if stored.is_empty() {
            tx.commit().await?;
            return Ok(batch.iter().map(|_| Ok(None)).collect());
        }

        // 4. The messages.
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO support_messages (ticket_id, seq, public_seq, sender_type, sender_id, \
             sender_name, message, is_read, created_at, client_msg_id) ",
        );
        qb.push_values(&stored, |mut row, (request, (seq, public_seq))| {
            let draft = &request.draft;
            row.push_bind(request.ticket_id)
                .push_bind(*seq)
                .push_bind(*public_seq)
                .push_bind(draft.sender_type.as_str())
                .push_bind(draft.sender_id)
                .push_bind(draft.sender_name.as_deref())
                .push_bind(draft.text.as_str())
                .push_bind(false)
                .push_bind(request.at)
                .push_bind(draft.client_msg_id.as_deref());
        });
        // Only the ids are new: the rest of each message is the request's.
        qb.push(" RETURNING id, ticket_id, seq");
        let rows: Vec<(i64, i64, i64)> = qb.build_query_as().fetch_all(&mut *tx).await?;
        let (first_id, last_id) = rows
            .iter()
            .fold((i64::MAX, i64::MIN), |(lo, hi), &(id, ..)| {
                (lo.min(id), hi.max(id))
            });
        let ids: HashMap<(i64, i64), i64> = rows
            .into_iter()
            .map(|(id, ticket_id, seq)| ((ticket_id, seq), id))
            .collect();

        // 5. The tickets' numbering, and the reports' facts.
        let mut qb = QueryBuilder::<Sqlite>::new(
            "UPDATE support_tickets SET last_seq = v.last_seq, last_public_seq = v.last_public_seq, \
             updated_at = v.updated_at, \
             first_visitor_at = COALESCE(support_tickets.first_visitor_at, v.first_visitor_at), \
             first_response_at = COALESCE(support_tickets.first_response_at, v.first_response_at) FROM (",
        );
        let mut first = true;
        for (id, ticket) in tickets.iter().filter(|(_, t)| t.updated_at.is_some()) {
            qb.push(if first {
                "SELECT "
            } else {
                " UNION ALL SELECT "
            });
            qb.push_bind(*id)
                .push(if first { " AS id, " } else { ", " });
            qb.push_bind(ticket.last_seq)
                .push(if first { " AS last_seq, " } else { ", " });
            qb.push_bind(ticket.last_public_seq).push(if first {
                " AS last_public_seq, "
            } else {
                ", "
            });
            qb.push_bind(ticket.updated_at)
                .push(if first { " AS updated_at, " } else { ", " });
            qb.push_bind(ticket.first_visitor_at).push(if first {
                " AS first_visitor_at, "
            } else {
                ", "
            });
            qb.push_bind(ticket.first_response_at).push(if first {
                " AS first_response_at"
            } else {
                ""
            });
            first = false;
        }
        qb.push(") AS v WHERE support_tickets.id = v.id");
        qb.build().execute(&mut *tx).await?;

        // 6. The webhook deliveries.
        sqlx::query(&HOOKED)
            .bind(first_id)
            .bind(last_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;

        Ok(batch
            .iter()
            .zip(places)
            .map(|(request, place)| {
                Ok(place.and_then(|(seq, public_seq)| {
                    let id = *ids.get(&(request.ticket_id, seq))?;
                    Some(stored_message(request, id, seq, public_seq))
                }))
            })
            .collect())
    }

    async fn store_one(&self, request: &Request) -> Answer {
        match self.store_batch(std::slice::from_ref(request)).await {
            Ok(mut answers) => answers.pop().unwrap_or(Ok(None)),
            Err(err) => Err(err.into()),
        }
    }
}
