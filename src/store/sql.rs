//! The SQL both backends share. The schema differs only in column types (see
//! `migrations/`), and every statement here is written in the common subset of
//! SQLite and PostgreSQL (`$n` parameters, `RETURNING`, `ON CONFLICT`), so one
//! implementation, stamped out per backend by [`impl_store!`], serves both.
//!
//! Every write transaction starts with the backend's `begin` (on SQLite
//! `BEGIN IMMEDIATE`: the write lock first, so a read is never upgraded, which
//! SQLite may refuse with SQLITE_BUSY), and a ticket's writes with an `UPDATE`
//! of its row: PostgreSQL's row lock, which serialises writers of one ticket
//! (and only of that ticket).

use crate::domain::{Agent, CannedResponse, Message, SenderType, Ticket};
use chrono::{DateTime, Utc};

use super::{NewSession, StoreError, StoreResult, TicketSummary};
use std::collections::HashMap;

/// The queue's order by priority in SQL, first to last: a column generated from
/// the priority (migration 0014: urgent 0, high 1, medium 2, low 3, that is
/// [`queue_rank`] of `Priority::rank`), indexed with the id in the queue's order.
pub(super) const QUEUE_RANK: &str = "t.queue_rank";

/// How many tickets of the queue a search checks one by one before it asks
/// the search indexes (see `list_tickets`).
pub(super) const SEARCH_WINDOW: u32 = 2000;

/// The `queue_rank` column's value for a `Priority::rank`.
pub(super) fn queue_rank(priority_rank: i64) -> i64 {
    4 - priority_rank
}

/// A ticket with its agent's name and the unread count of one viewer; the viewer's
/// counterpart (whose public messages count: an agent's private note is never
/// unread for anybody) is a literal so the text stays constant.
/// The preview is the newest visitor or agent line for everyone (`SUBSTR` counts
/// characters on both backends; 140 is [`crate::domain::PREVIEW_CHARS`]); the
/// visitor waits since their first message after the agents' last one. Each
/// subquery walks one ticket's messages by the (ticket_id, seq) index.
macro_rules! ticket_select {
    ($counterpart:literal) => {
        concat!(
            "SELECT t.id, t.session_id, t.user_id, t.supporter_id, a.name AS supporter_name, ",
            "t.subject, t.status, t.priority, t.user_email, t.user_name, t.created_at, ",
            "t.updated_at, t.closed_at, t.last_seq, t.last_public_seq, ",
            "CAST(t.rating_score AS BIGINT) AS rating_score, t.rating_comment, t.rating_at, ",
            $crate::store::sql::conversation_columns!($counterpart),
            "FROM support_tickets t LEFT JOIN support_agents a ON a.id = t.supporter_id "
        )
    };
}
pub(super) use ticket_select;

/// A ticket's conversation as its queue row shows it (see [`ticket_select`]):
/// `unread_count`, `last_message_preview` and `waiting_since`, of `t`.
macro_rules! conversation_columns {
    ($counterpart:literal) => {
        concat!(
            "(SELECT COUNT(*) FROM support_messages m WHERE m.ticket_id = t.id ",
            "AND m.sender_type = '",
            $counterpart,
            "' AND m.audience = 'all' AND m.is_read = FALSE) AS unread_count, ",
            "(SELECT SUBSTR(m.message, 1, 140) FROM support_messages m WHERE m.ticket_id = t.id ",
            "AND m.sender_type IN ('user', 'supporter') AND m.audience = 'all' ",
            "ORDER BY m.seq DESC LIMIT 1) AS last_message_preview, ",
            "(SELECT m.created_at FROM support_messages m WHERE m.ticket_id = t.id ",
            "AND m.sender_type = 'user' AND m.seq > COALESCE((SELECT MAX(s.seq) ",
            "FROM support_messages s WHERE s.ticket_id = t.id AND s.sender_type = 'supporter' ",
            "AND s.audience = 'all'), 0) ORDER BY m.seq LIMIT 1) AS waiting_since "
        )
    };
}
pub(super) use conversation_columns;

/// The feed's notices' query: an agent's queue row of each ticket, without the
/// rest of the ticket.
pub(super) const TICKET_SUMMARY: &str = concat!(
    "SELECT t.id AS ticket_id, t.supporter_id, ",
    conversation_columns!("user"),
    "FROM support_tickets t WHERE t.id IN ("
);

/// A session row as its multi-row INSERT returns it: the columns that tell
/// which of the inserted sessions it is.
#[derive(sqlx::FromRow)]
pub(super) struct SessionReturned {
    id: i64,
    ticket_id: i64,
    user_id: Option<String>,
    supporter_id: Option<i64>,
    user_connected: bool,
    node_id: String,
}

/// The ids of `sessions` in their order, from the rows their INSERT returned
/// (in an order neither database promises). Sessions equal in every column
/// are interchangeable: each gets one of their rows.
pub(super) fn match_sessions(
    sessions: &[NewSession],
    rows: Vec<SessionReturned>,
) -> StoreResult<Vec<i64>> {
    type Key<'a> = (i64, Option<&'a str>, Option<i64>, bool, &'a str);
    let mut returned: HashMap<Key, Vec<i64>> = HashMap::with_capacity(rows.len());
    for row in &rows {
        let key = (
            row.ticket_id,
            row.user_id.as_deref(),
            row.supporter_id,
            row.user_connected,
            row.node_id.as_str(),
        );
        returned.entry(key).or_default().push(row.id);
    }
    sessions
        .iter()
        .map(|session| {
            let key = (
                session.ticket_id,
                session.user_id.as_deref(),
                session.supporter_id,
                session.role == SenderType::User,
                session.node_id.as_str(),
            );
            returned.get_mut(&key).and_then(Vec::pop).ok_or_else(|| {
                StoreError::Corrupt("a session row was not returned by its insert".into())
            })
        })
        .collect()
}

#[derive(sqlx::FromRow)]
pub(super) struct TicketSummaryRow {
    ticket_id: i64,
    supporter_id: Option<i64>,
    unread_count: i64,
    last_message_preview: Option<String>,
    waiting_since: Option<DateTime<Utc>>,
}

impl From<TicketSummaryRow> for TicketSummary {
    fn from(r: TicketSummaryRow) -> Self {
        TicketSummary {
            ticket_id: r.ticket_id,
            supporter_id: r.supporter_id,
            unread_count: r.unread_count,
            last_message_preview: r.last_message_preview,
            waiting_since: r.waiting_since,
        }
    }
}

pub(super) const MESSAGE_COLUMNS: &str = "id, ticket_id, seq, sender_type, sender_id, sender_name, message, is_read, created_at, client_msg_id, audience, public_seq, attachments";

/// The unique index a message's `client_msg_id` belongs to: its sender's
/// (ticket, sender type, sender id). Visitors and system notes have no sender id,
/// and NULLs never conflict, so the index takes it as 0 (agent ids start at 1).
pub(super) const SENDER_KEY: &str =
    "(ticket_id, sender_type, (COALESCE(sender_id, 0)), client_msg_id)";

/// SQL: the message columns under `table` (`""` or `"m."`) hold this sender key,
/// each part an SQL expression (a parameter or another table's column).
pub(super) fn has_sender_key(
    table: &str,
    ticket_id: &str,
    sender_type: &str,
    sender_id: &str,
    key: &str,
) -> String {
    format!(
        "{table}ticket_id = {ticket_id} AND {table}sender_type = {sender_type} \
         AND COALESCE({table}sender_id, 0) = COALESCE({sender_id}, 0) AND {table}client_msg_id = {key}"
    )
}
/// An agent's status in SQL, for the agent row `a`: `offline` when disabled or
/// unless one of their dashboard sockets counts (on a node whose heartbeat is fresh, and open
/// or closed less than its grace ago), `away` when chosen or inactive for the
/// setting's minutes, else `online`. Every clock here is the database's.
/// `stale_cutoff` and `now` are the backend's SQL for the node cutoff and the
/// clock, `inactive_cutoff` the clock minus the away setting.
pub(super) fn agent_status_sql(
    stale_cutoff: &str,
    now: &str,
    away_minutes: &str,
    inactive_cutoff: &str,
) -> String {
    format!(
        "(CASE WHEN a.disabled OR NOT EXISTS (SELECT 1 FROM support_agent_sockets ds JOIN support_nodes dn ON dn.node_id = ds.node_id \
         WHERE ds.agent_id = a.id AND dn.heartbeat_at > {stale_cutoff} AND (ds.counts_until IS NULL OR ds.counts_until > {now})) \
         THEN 'offline' WHEN a.away_chosen THEN 'away' \
         WHEN {away_minutes} > 0 AND (a.last_activity_at IS NULL OR a.last_activity_at < {inactive_cutoff}) THEN 'away' \
         ELSE 'online' END)"
    )
}

/// The tickets agent `a` holds, in SQL: what `max_chats` bounds.
pub(super) const OPEN_CHATS_SQL: &str = "(SELECT COUNT(*) FROM support_tickets oc WHERE oc.supporter_id = a.id \
     AND oc.status IN ('assigned', 'in_progress'))";

/// An agent's columns with its computed status, from `support_agents a`.
pub(super) fn agent_select(status_sql: &str) -> String {
    format!(
        "SELECT a.id, a.email, a.name, a.role, a.disabled, a.created_at, a.token_generation, \
         CAST(a.max_chats AS BIGINT) AS max_chats, {status_sql} AS status, {OPEN_CHATS_SQL} AS open_chats \
         FROM support_agents a"
    )
}

#[derive(sqlx::FromRow)]
pub(super) struct TicketRow {
    id: i64,
    session_id: String,
    user_id: Option<String>,
    supporter_id: Option<i64>,
    supporter_name: Option<String>,
    subject: String,
    status: String,
    priority: String,
    user_email: Option<String>,
    user_name: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    last_seq: i64,
    last_public_seq: i64,
    unread_count: i64,
    last_message_preview: Option<String>,
    waiting_since: Option<DateTime<Utc>>,
    rating_score: Option<i64>,
    rating_comment: Option<String>,
    rating_at: Option<DateTime<Utc>>,
}

impl TryFrom<TicketRow> for Ticket {
    type Error = StoreError;
    fn try_from(r: TicketRow) -> StoreResult<Ticket> {
        Ok(Ticket {
            id: r.id,
            session_id: r.session_id,
            user_id: r.user_id,
            supporter_id: r.supporter_id,
            supporter_name: r.supporter_name,
            subject: r.subject,
            status: parse_column("status", &r.status)?,
            priority: parse_column("priority", &r.priority)?,
            user_email: r.user_email,
            user_name: r.user_name,
            created_at: r.created_at,
            updated_at: r.updated_at,
            closed_at: r.closed_at,
            last_seq: r.last_seq,
            last_public_seq: r.last_public_seq,
            unread_count: r.unread_count,
            last_message_preview: r.last_message_preview,
            waiting_since: r.waiting_since,
            labels: Vec::new(),
            rating: match (r.rating_score, r.rating_at) {
                (Some(score), Some(created_at)) => Some(crate::domain::Rating {
                    score,
                    comment: r.rating_comment,
                    created_at,
                }),
                _ => None,
            },
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct MessageRow {
    pub(super) id: i64,
    pub(super) ticket_id: i64,
    pub(super) seq: i64,
    sender_type: String,
    sender_id: Option<i64>,
    sender_name: Option<String>,
    message: String,
    is_read: bool,
    created_at: DateTime<Utc>,
    client_msg_id: Option<String>,
    audience: String,
    public_seq: Option<i64>,
    /// JSON array of the message's files; NULL when it has none.
    attachments: Option<String>,
}

impl TryFrom<MessageRow> for Message {
    type Error = StoreError;
    fn try_from(r: MessageRow) -> StoreResult<Message> {
        Ok(Message {
            id: r.id,
            ticket_id: r.ticket_id,
            seq: r.seq,
            sender_type: parse_column("sender_type", &r.sender_type)?,
            sender_id: r.sender_id,
            sender_name: r.sender_name,
            message: r.message,
            is_read: r.is_read,
            created_at: r.created_at,
            client_msg_id: r.client_msg_id,
            visibility: parse_column("audience", &r.audience)?,
            public_seq: r.public_seq,
            attachments: match r.attachments {
                None => Vec::new(),
                Some(json) => serde_json::from_str(&json)
                    .map_err(|err| StoreError::Corrupt(format!("message attachments: {err}")))?,
            },
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct AgentRow {
    id: i64,
    email: String,
    name: String,
    role: String,
    disabled: bool,
    created_at: DateTime<Utc>,
    token_generation: i64,
    max_chats: i64,
    status: String,
    open_chats: i64,
}

impl TryFrom<AgentRow> for Agent {
    type Error = StoreError;
    fn try_from(r: AgentRow) -> StoreResult<Agent> {
        Ok(Agent {
            id: r.id,
            email: r.email,
            name: r.name,
            role: parse_column("role", &r.role)?,
            disabled: r.disabled,
            created_at: r.created_at,
            token_generation: r.token_generation,
            status: parse_column("agent status", &r.status)?,
            max_chats: r.max_chats,
            open_chats: r.open_chats,
        })
    }
}

pub(super) const CANNED_COLUMNS: &str = "id, shortcut, title, body, uses, updated_at";

#[derive(sqlx::FromRow)]
pub(super) struct CannedRow {
    id: i64,
    shortcut: String,
    title: String,
    body: String,
    uses: i64,
    updated_at: DateTime<Utc>,
}

impl TryFrom<CannedRow> for CannedResponse {
    type Error = StoreError;
    fn try_from(r: CannedRow) -> StoreResult<CannedResponse> {
        Ok(CannedResponse {
            id: r.id,
            shortcut: r.shortcut,
            title: r.title,
            body: r.body,
            uses: r.uses,
            updated_at: r.updated_at,
        })
    }
}

/// The unique constraint on canned-response shortcuts, named the same in both
/// schemas.
pub(super) const CANNED_SHORTCUT_KEY: &str = "support_canned_responses_shortcut_key";

/// Whether `err` broke the unique constraint `constraint` on `table.column`.
/// PostgreSQL names the constraint; SQLite names only the table and column, in
/// its message ("UNIQUE constraint failed: table.column"), so both are checked:
/// any other failure stays an error, never a conflict by accident.
pub(super) fn breaks_unique(err: &sqlx::Error, constraint: &str, table_column: &str) -> bool {
    match err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            db.constraint() == Some(constraint) || db.message().contains(table_column)
        }
        _ => false,
    }
}

/// Maps a write's error: breaking the shortcut's unique key is a conflict.
pub(super) fn canned_write_error(err: sqlx::Error) -> StoreError {
    if breaks_unique(
        &err,
        CANNED_SHORTCUT_KEY,
        "support_canned_responses.shortcut",
    ) {
        StoreError::Conflict("a canned response with this shortcut")
    } else {
        err.into()
    }
}

fn parse_column<T: std::str::FromStr>(column: &str, value: &str) -> StoreResult<T> {
    value
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("unknown {column} {value:?}")))
}

/// The `attachments` column of a message: NULL without files, else their JSON
/// (without URLs, which are signed when read).
pub(super) fn attachments_json(
    attachments: &[crate::domain::Attachment],
) -> StoreResult<Option<String>> {
    if attachments.is_empty() {
        return Ok(None);
    }
    let stored: Vec<_> = attachments
        .iter()
        .map(|a| crate::domain::Attachment {
            url: None,
            ..a.clone()
        })
        .collect();
    serde_json::to_string(&stored)
        .map(Some)
        .map_err(|err| StoreError::Corrupt(format!("message attachments: {err}")))
}

pub(super) fn convert<R, T: TryFrom<R, Error = StoreError>>(rows: Vec<R>) -> StoreResult<Vec<T>> {
    rows.into_iter().map(T::try_from).collect()
}

/// `LIKE` pattern matching `text` anywhere, with `\` escaping the wildcards. The
/// case is left as typed: the query lowers pattern and column with the same SQL
/// `LOWER`, because SQLite's lowers ASCII only, and a pattern lowered here by Rust
/// would then miss non-ASCII text searched exactly as written ("Ärger").
pub(super) fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Implements [`super::Store`] for a struct with a `pool: sqlx::Pool<$db>` field.
/// The backend's module supplies `db_now()` and `db_seconds_ago(param)`: the
/// database's clock in its SQL, which heartbeats are written and judged by.
macro_rules! impl_store {
    ($store:ty, $db:ty) => {
        use crate::domain::{
            Agent, AgentWithHash, CannedResponse, CannedUpdate, LabelCount, Message, MessageDraft, NewCanned,
            NewTicket, Note, SenderType, Ticket, TicketChange, TicketStatus, Visibility, plan_change,
            status_after_message,
        };
        use crate::store::sql::{
            AgentRow, agent_select, agent_status_sql, CANNED_COLUMNS, CannedRow, MESSAGE_COLUMNS, MessageRow, QUEUE_RANK, SEARCH_WINDOW, queue_rank,
            SENDER_KEY, TICKET_SUMMARY, TicketRow, TicketSummaryRow, attachments_json, canned_write_error, contains_pattern, convert,
            SessionReturned, has_sender_key, match_sessions, ticket_select,
        };
        use crate::store::{
            AgentStanding, AgentUpdate, AssignedFilter, Appended, Changed, MessageRange, MessageSlice, NewAgent, NewSession,
            Presence, ReadUpTo, Store, StoreError, StoreResult, TicketCursor, TicketPage, TicketQuery, TicketSummary,
            now, MAX_IDS_PER_QUERY, NODE_STALE_AFTER,
        };
        use chrono::{DateTime, Utc};
        use sqlx::{QueryBuilder, Transaction};

        type Tx = Transaction<'static, $db>;

        const SELECT_FOR_AGENT: &str = ticket_select!("user");
        const SELECT_FOR_GUEST: &str = ticket_select!("supporter");

        fn ticket_select_for(viewer: SenderType) -> &'static str {
            match viewer {
                SenderType::User => SELECT_FOR_GUEST,
                _ => SELECT_FOR_AGENT,
            }
        }

        /// A ticket row as `viewer` sees it: the visitor in its own numbering.
        fn ticket_for(row: TicketRow, viewer: SenderType) -> StoreResult<Ticket> {
            let ticket = Ticket::try_from(row)?;
            Ok(if viewer == SenderType::User { ticket.for_visitor() } else { ticket })
        }

        async fn fetch_ticket(
            conn: &mut <$db as sqlx::Database>::Connection,
            id: i64,
            viewer: SenderType,
        ) -> StoreResult<Ticket> {
            let sql = format!("{} WHERE t.id = $1", ticket_select_for(viewer));
            let row: Option<TicketRow> = sqlx::query_as(&sql).bind(id).fetch_optional(&mut *conn).await?;
            let mut ticket = ticket_for(row.ok_or(StoreError::NotFound)?, viewer)?;
            if viewer != SenderType::User {
                attach_labels(conn, std::slice::from_mut(&mut ticket)).await?;
            }
            Ok(ticket)
        }

        /// Fills in the labels of `tickets` (the agents' view) in one query per
        /// [`MAX_IDS_PER_QUERY`] tickets, by the (ticket_id, label) primary key: a
        /// portable alternative to each backend's own string aggregation.
        async fn attach_labels(
            conn: &mut <$db as sqlx::Database>::Connection,
            tickets: &mut [Ticket],
        ) -> StoreResult<()> {
            for chunk in tickets.chunks_mut(MAX_IDS_PER_QUERY) {
                let mut qb = QueryBuilder::<$db>::new(
                    "SELECT ticket_id, label FROM support_ticket_labels WHERE ticket_id IN (",
                );
                let mut list = qb.separated(", ");
                for ticket in chunk.iter() {
                    list.push_bind(ticket.id);
                }
                qb.push(") ORDER BY ticket_id, label");
                let rows: Vec<(i64, String)> = qb.build_query_as().fetch_all(&mut *conn).await?;
                let mut by_ticket: std::collections::HashMap<i64, Vec<String>> = std::collections::HashMap::new();
                for (ticket_id, label) in rows {
                    by_ticket.entry(ticket_id).or_default().push(label);
                }
                for ticket in chunk.iter_mut() {
                    ticket.labels = by_ticket.remove(&ticket.id).unwrap_or_default();
                }
            }
            Ok(())
        }

        /// Tickets as agents see them, with their labels.
        async fn agent_tickets(pool: &sqlx::Pool<$db>, rows: Vec<TicketRow>) -> StoreResult<Vec<Ticket>> {
            let mut tickets: Vec<Ticket> = convert(rows)?;
            if !tickets.is_empty() {
                let mut conn = pool.acquire().await?;
                attach_labels(&mut *conn, &mut tickets).await?;
            }
            Ok(tickets)
        }

        /// The tickets whose `column` is one of `keys` (up to
        /// [`MAX_IDS_PER_QUERY`]), by id, as `viewer` sees them.
        async fn tickets_where_in<'k, K>(
            pool: &sqlx::Pool<$db>,
            column: &str,
            keys: &'k [K],
            viewer: SenderType,
        ) -> StoreResult<Vec<Ticket>>
        where
            &'k K: sqlx::Encode<'k, $db> + sqlx::Type<$db> + Send,
        {
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            let mut qb = QueryBuilder::<$db>::new(ticket_select_for(viewer));
            qb.push(format_args!(" WHERE {column} IN ("));
            let mut list = qb.separated(", ");
            for key in keys.iter().take(MAX_IDS_PER_QUERY) {
                list.push_bind(key);
            }
            qb.push(") ORDER BY t.id");
            let rows: Vec<TicketRow> = qb.build_query_as().fetch_all(pool).await?;
            tickets_as(pool, rows, viewer).await
        }

        /// Tickets as `viewer` sees them (an agent's with their labels).
        async fn tickets_as(pool: &sqlx::Pool<$db>, rows: Vec<TicketRow>, viewer: SenderType) -> StoreResult<Vec<Ticket>> {
            if viewer == SenderType::User {
                return rows.into_iter().map(|row| ticket_for(row, viewer)).collect();
            }
            agent_tickets(pool, rows).await
        }

        /// Where a message goes in the ticket's two streams: its seq (every
        /// message) and, for a public one, its number in the visitor's stream.
        #[derive(Clone, Copy)]
        struct Place {
            seq: i64,
            public_seq: Option<i64>,
        }

        /// SQL: the ticket update that allocates the next place, for `$3` = 1 (a
        /// public message) or 0 (internal) of sender type `$4`; returns
        /// `last_seq, last_public_seq`. It also keeps the reports' facts: the
        /// visitor's first message, and the first public agent message after it.
        const ALLOCATE_PLACE: &str = "UPDATE support_tickets SET last_seq = last_seq + 1, \
             last_public_seq = last_public_seq + $3, updated_at = $2, \
             first_visitor_at = CASE WHEN $4 = 'user' THEN COALESCE(first_visitor_at, $2) ELSE first_visitor_at END, \
             first_response_at = CASE WHEN $4 = 'supporter' AND $3 = 1 AND first_visitor_at IS NOT NULL \
             THEN COALESCE(first_response_at, $2) ELSE first_response_at END WHERE id = $1";

        fn place_of((seq, last_public): (i64, i64), visibility: Visibility) -> Place {
            Place { seq, public_seq: (!visibility.is_internal()).then_some(last_public) }
        }

        /// Takes the ticket's write lock and allocates its next place.
        async fn next_place(tx: &mut Tx, ticket_id: i64, draft: &MessageDraft, at: DateTime<Utc>) -> StoreResult<Place> {
            let visibility = draft.visibility;
            let row: Option<(i64, i64)> = sqlx::query_as(&format!("{ALLOCATE_PLACE} RETURNING last_seq, last_public_seq"))
                .bind(ticket_id)
                .bind(at)
                .bind(i64::from(!visibility.is_internal()))
                .bind(draft.sender_type.as_str())
                .fetch_optional(&mut **tx)
                .await?;
            Ok(place_of(row.ok_or(StoreError::NotFound)?, visibility))
        }

        async fn insert_message(
            tx: &mut Tx,
            ticket_id: i64,
            place: Place,
            draft: &MessageDraft,
            at: DateTime<Utc>,
        ) -> StoreResult<Option<Message>> {
            // `None`: the sender's client_msg_id is taken, this is a resend.
            let sql = format!(
                "INSERT INTO support_messages (ticket_id, seq, sender_type, sender_id, sender_name, message, is_read, created_at, client_msg_id, audience, public_seq, attachments) \
                 VALUES ($1, $2, $3, $4, $5, $6, FALSE, $7, $8, $9, $10, $11) \
                 ON CONFLICT {SENDER_KEY} DO NOTHING RETURNING {MESSAGE_COLUMNS}"
            );
            let row: Option<MessageRow> = sqlx::query_as(&sql)
                .bind(ticket_id)
                .bind(place.seq)
                .bind(draft.sender_type.as_str())
                .bind(draft.sender_id)
                .bind(draft.sender_name.as_deref())
                .bind(&draft.text)
                .bind(at)
                .bind(draft.client_msg_id.as_deref())
                .bind(draft.visibility.as_db_str())
                .bind(place.public_seq)
                .bind(attachments_json(&draft.attachments)?)
                .fetch_optional(&mut **tx)
                .await?;
            let Some(message) = row.map(Message::try_from).transpose()? else {
                return Ok(None);
            };
            link_attachments(tx, ticket_id, message.id, &draft.attachments).await?;
            webhook_queries::record_message(&mut **tx, &message).await?;
            Ok(Some(message))
        }

        /// Gives the draft's uploaded files to their message: each must be a
        /// pending upload of the same ticket.
        async fn link_attachments(tx: &mut Tx, ticket_id: i64, message_id: i64, attachments: &[crate::domain::Attachment]) -> StoreResult<()> {
            for attachment in attachments {
                let linked = sqlx::query(
                    "UPDATE support_attachments SET message_id = $1, size = $2 \
                     WHERE id = $3 AND ticket_id = $4 AND message_id IS NULL AND deleted_at IS NULL",
                )
                .bind(message_id)
                .bind(attachment.size)
                .bind(attachment.id)
                .bind(ticket_id)
                .execute(&mut **tx)
                .await?;
                if linked.rows_affected() != 1 {
                    return Err(StoreError::Corrupt(format!("attachment {} is not a pending upload of the ticket", attachment.id)));
                }
            }
            Ok(())
        }

        /// A message without a client_msg_id cannot conflict: it is always inserted.
        fn expect_inserted(message: Option<Message>) -> StoreResult<Message> {
            message.ok_or_else(|| StoreError::Corrupt("a message without client_msg_id was refused".into()))
        }

        async fn system_notes(
            tx: &mut Tx,
            ticket_id: i64,
            notes: &[Note],
            at: DateTime<Utc>,
        ) -> StoreResult<Vec<Message>> {
            let mut stored = Vec::with_capacity(notes.len());
            for note in notes {
                let draft = MessageDraft::system(note);
                let place = next_place(tx, ticket_id, &draft, at).await?;
                stored.push(expect_inserted(insert_message(tx, ticket_id, place, &draft, at).await?)?);
            }
            Ok(stored)
        }

        /// A page of a ticket's messages by `numbering` (`seq`: the agents'
        /// stream; `public_seq`: the visitor's, which holds public messages only).
        async fn page_of_messages(
            pool: &sqlx::Pool<$db>,
            numbering: &str,
            ticket_id: i64,
            range: MessageRange,
        ) -> StoreResult<MessageSlice> {
            let limit = i64::from(range.limit);
            // Scrolling back reads newest-first from `before_seq`; the page is
            // turned around before it is returned.
            let backwards = range.before_seq.is_some();
            let sql = format!(
                "SELECT {MESSAGE_COLUMNS} FROM support_messages WHERE ticket_id = $1 AND {numbering} > $2 AND {numbering} < $3 \
                 ORDER BY {numbering} {} LIMIT $4",
                if backwards { "DESC" } else { "ASC" }
            );
            let rows: Vec<MessageRow> = sqlx::query_as(&sql)
                .bind(ticket_id)
                .bind(range.after_seq)
                .bind(range.before_seq.unwrap_or(i64::MAX))
                .bind(limit + 1)
                .fetch_all(pool)
                .await?;
            let mut messages: Vec<Message> = convert(rows)?;
            let has_more = messages.len() as i64 > limit;
            messages.truncate(limit as usize);
            if backwards {
                messages.reverse();
            }
            Ok(MessageSlice { messages, has_more })
        }

    /// A ticket change inside the caller's transaction: takes the ticket's
    /// lock first, plans with the contract's rules, writes the ticket and
    /// its notes. A no-op writes nothing (the caller rolls back).
    async fn apply_change(tx: &mut Tx, ticket_id: i64, change: &TicketChange, at: DateTime<Utc>) -> StoreResult<Changed> {
        let locked = sqlx::query("UPDATE support_tickets SET last_seq = last_seq WHERE id = $1")
            .bind(ticket_id)
            .execute(&mut **tx)
            .await?;
        if locked.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let ticket = fetch_ticket(&mut **tx, ticket_id, SenderType::Supporter).await?;
        let plan = plan_change(&ticket, change)?;
        if plan.is_noop() {
            return Ok(Changed { ticket, notes: Vec::new(), assigned: None, relabelled: false });
        }
        sqlx::query(
            "UPDATE support_tickets SET status = $2, priority = $3, supporter_id = $4, updated_at = $5, \
             closed_at = CASE WHEN $6 THEN $5 ELSE closed_at END, \
             first_assigned_at = CASE WHEN $4 IS NULL THEN first_assigned_at ELSE COALESCE(first_assigned_at, $5) END, \
             first_resolved_at = CASE WHEN $2 IN ('resolved', 'closed') THEN COALESCE(first_resolved_at, $5) \
             ELSE first_resolved_at END WHERE id = $1",
        )
        .bind(ticket_id)
        .bind(plan.status.as_str())
        .bind(plan.priority.as_str())
        .bind(plan.supporter_id)
        .bind(at)
        .bind(plan.closed)
        .execute(&mut **tx)
        .await?;
        if let Some(labels) = &plan.labels {
            sqlx::query("DELETE FROM support_ticket_labels WHERE ticket_id = $1")
                .bind(ticket_id)
                .execute(&mut **tx)
                .await?;
            if !labels.is_empty() {
                let mut qb = QueryBuilder::<$db>::new("INSERT INTO support_ticket_labels (ticket_id, label) ");
                qb.push_values(labels, |mut row, label| {
                    row.push_bind(ticket_id).push_bind(label.as_str());
                });
                qb.build().execute(&mut **tx).await?;
            }
        }
        let notes = system_notes(tx, ticket_id, &plan.notes, at).await?;
        let before = ticket;
        let ticket = fetch_ticket(&mut **tx, ticket_id, SenderType::Supporter).await?;
        webhook_queries::record_ticket_updated(&mut **tx, &before, &ticket, at).await?;
        Ok(Changed { ticket, notes, assigned: plan.assigned, relabelled: plan.labels.is_some() })
        }

        fn push_list_filters(qb: &mut QueryBuilder<'_, $db>, query: &TicketQuery) {
            qb.push(" WHERE 1 = 1");
            if !query.statuses.is_empty() {
                qb.push(" AND t.status IN (");
                let mut list = qb.separated(", ");
                for status in &query.statuses {
                    list.push_bind(status.as_str());
                }
                qb.push(")");
            }
            if !query.priorities.is_empty() {
                qb.push(" AND t.priority IN (");
                let mut list = qb.separated(", ");
                for priority in &query.priorities {
                    list.push_bind(priority.as_str());
                }
                qb.push(")");
            }
            match query.assigned {
                AssignedFilter::Any => {}
                AssignedFilter::Unassigned => {
                    qb.push(" AND t.supporter_id IS NULL");
                }
                AssignedFilter::To(agent_id) => {
                    qb.push(" AND t.supporter_id = ").push_bind(agent_id);
                }
            }
            if !query.labels.is_empty() {
                // By the label index; a ticket with two of the labels is listed once.
                qb.push(" AND t.id IN (SELECT l.ticket_id FROM support_ticket_labels l WHERE l.label IN (");
                let mut list = qb.separated(", ");
                for label in &query.labels {
                    list.push_bind(label.clone());
                }
                qb.push("))");
            }
            if let Some(text) = &query.text {
                qb.push(" AND t.id IN (");
                push_search(qb, text);
                qb.push(")");
            }
            if let Some(cursor) = query.after {
                // One row comparison: the queue index's range starts at the cursor.
                qb.push(format_args!(" AND ({QUEUE_RANK}, t.id) > ("))
                    .push_bind(queue_rank(cursor.rank))
                    .push(", ")
                    .push_bind(cursor.id)
                    .push(")");
            }
        }

        /// The queue's order for `query`: the queue index's with no status
        /// filter, or with one status (the (status, queue_rank, id) index).
        /// With several, their rows are found by status and sorted: a walk of
        /// the queue index would pass every closed ticket before the live ones.
        fn queue_order(query: &TicketQuery) -> &'static str {
            if query.statuses.len() > 1 { "t.queue_rank + 0" } else { QUEUE_RANK }
        }

        /// The ticket `t` holds `text` in its subject, visitor name or email,
        /// or in a message: checked ticket by ticket (see `list_tickets`).
        fn push_ticket_holds(qb: &mut QueryBuilder<'_, $db>, text: &str) {
            let pattern = contains_pattern(text);
            qb.push("(LOWER(t.subject) LIKE LOWER(").push_bind(pattern.clone());
            qb.push(") ESCAPE '\\' OR LOWER(t.user_name) LIKE LOWER(").push_bind(pattern.clone());
            qb.push(") ESCAPE '\\' OR LOWER(COALESCE(t.user_email, '')) LIKE LOWER(").push_bind(pattern.clone());
            qb.push(") ESCAPE '\\' OR EXISTS (SELECT 1 FROM support_messages sm WHERE sm.ticket_id = t.id AND LOWER(sm.message) LIKE LOWER(")
                .push_bind(pattern);
            qb.push(") ESCAPE '\\'))");
        }

        #[async_trait::async_trait]
        impl Store for $store {
            fn now(&self) -> DateTime<Utc> {
                self.clock.now()
            }

            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn create_ticket(&self, new: &NewTicket) -> StoreResult<(Ticket, Option<Message>)> {
                let at = self.clock.now();
                let mut tx = begin(&self.pool).await?;
                let ticket_id: i64 = sqlx::query_scalar(
                    "INSERT INTO support_tickets (user_id, subject, status, priority, session_id, user_email, user_name, created_at, updated_at, last_seq) \
                     VALUES ($1, $2, 'open', $3, $4, $5, $6, $7, $7, 0) RETURNING id",
                )
                .bind(new.user_id.as_deref())
                .bind(&new.subject)
                .bind(new.priority.as_str())
                .bind(&new.session_id)
                .bind(new.user_email.as_deref())
                .bind(&new.user_name)
                .bind(at)
                .fetch_one(&mut *tx)
                .await?;
                // Before the first message's event: a receiver hears of the
                // ticket first.
                if webhook_queries::subscribed(&mut *tx, crate::domain::webhook::WebhookEvent::TicketCreated).await? {
                    let ticket = fetch_ticket(&mut *tx, ticket_id, SenderType::Supporter).await?;
                    webhook_queries::record_ticket_created(&mut *tx, &ticket).await?;
                }
                let first = match &new.first_message {
                    Some(text) => {
                        let draft = MessageDraft {
                            sender_type: SenderType::User,
                            sender_id: None,
                            sender_name: Some(new.user_name.clone()),
                            text: text.clone(),
                            client_msg_id: None,
                            visibility: Visibility::Public,
                            attachments: Vec::new(),
                        };
                        let place = next_place(&mut tx, ticket_id, &draft, at).await?;
                        Some(expect_inserted(insert_message(&mut tx, ticket_id, place, &draft, at).await?)?)
                    }
                    None => None,
                };
                let ticket = fetch_ticket(&mut *tx, ticket_id, SenderType::Supporter).await?;
                tx.commit().await?;
                Ok((ticket, first))
            }

            async fn ticket_by_session(&self, session_id: &str, viewer: SenderType) -> StoreResult<Ticket> {
                let mut tickets = self.tickets_by_sessions(&[session_id.to_owned()], viewer).await?;
                tickets.pop().ok_or(StoreError::NotFound)
            }

            async fn tickets_by_sessions(&self, session_ids: &[String], viewer: SenderType) -> StoreResult<Vec<Ticket>> {
                tickets_where_in(&self.pool, "t.session_id", session_ids, viewer).await
            }

            async fn ticket_by_id(&self, id: i64, viewer: SenderType) -> StoreResult<Ticket> {
                let mut conn = self.pool.acquire().await?;
                fetch_ticket(&mut *conn, id, viewer).await
            }

            async fn tickets_by_ids(&self, ids: &[i64], viewer: SenderType) -> StoreResult<Vec<Ticket>> {
                tickets_where_in(&self.pool, "t.id", ids, viewer).await
            }

            async fn ticket_summaries(&self, ids: &[i64]) -> StoreResult<Vec<TicketSummary>> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut qb = QueryBuilder::<$db>::new(TICKET_SUMMARY);
                let mut list = qb.separated(", ");
                for id in ids.iter().take(MAX_IDS_PER_QUERY) {
                    list.push_bind(*id);
                }
                qb.push(") ORDER BY t.id");
                let rows: Vec<TicketSummaryRow> = qb.build_query_as().fetch_all(&self.pool).await?;
                Ok(rows.into_iter().map(TicketSummary::from).collect())
            }

            async fn tickets_of_user(&self, user_id: &str, limit: u32) -> StoreResult<Vec<Ticket>> {
                let sql = format!("{SELECT_FOR_GUEST} WHERE t.user_id = $1 ORDER BY t.id DESC LIMIT $2");
                let rows: Vec<TicketRow> = sqlx::query_as(&sql)
                    .bind(user_id)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(|row| ticket_for(row, SenderType::User)).collect()
            }

            async fn list_tickets(&self, query: &TicketQuery) -> StoreResult<TicketPage> {
                let page = i64::from(query.limit) + 1;
                // A search first looks among the first SEARCH_WINDOW tickets of
                // the queue, ticket by ticket: a common text fills the page
                // there, and those are the first matches of the whole queue. A
                // rarer one is looked up in the search indexes, which find its
                // few tickets at once (but every ticket of a common one).
                let mut rows: Vec<TicketRow> = Vec::new();
                if let Some(text) = &query.text {
                    let unsearched = TicketQuery { text: None, ..query.clone() };
                    let mut qb = QueryBuilder::<$db>::new(SELECT_FOR_AGENT);
                    push_list_filters(&mut qb, &unsearched);
                    qb.push(" AND t.id IN (SELECT t.id FROM support_tickets t");
                    push_list_filters(&mut qb, &unsearched);
                    qb.push(format_args!(" ORDER BY {}, t.id LIMIT {SEARCH_WINDOW}) AND ", queue_order(query)));
                    push_ticket_holds(&mut qb, text);
                    qb.push(format_args!(" ORDER BY {}, t.id LIMIT ", queue_order(query))).push_bind(page);
                    rows = qb.build_query_as().fetch_all(&self.pool).await?;
                }
                if query.text.is_none() || rows.len() < page as usize {
                    let mut qb = QueryBuilder::<$db>::new(SELECT_FOR_AGENT);
                    push_list_filters(&mut qb, query);
                    qb.push(format_args!(" ORDER BY {}, t.id LIMIT ", queue_order(query))).push_bind(page);
                    rows = qb.build_query_as().fetch_all(&self.pool).await?;
                }
                let mut tickets = agent_tickets(&self.pool, rows).await?;
                let next = if tickets.len() > query.limit as usize {
                    tickets.truncate(query.limit as usize);
                    tickets.last().map(|t| TicketCursor { rank: t.priority.rank(), id: t.id })
                } else {
                    None
                };
                Ok(TicketPage { tickets, next })
            }

            async fn ticket_counts_by_status(&self, statuses: &[TicketStatus]) -> StoreResult<Vec<(TicketStatus, i64)>> {
                if statuses.is_empty() {
                    return Ok(Vec::new());
                }
                // By the (status, …) index: only the rows of these statuses.
                let mut qb = QueryBuilder::<$db>::new("SELECT status, COUNT(*) FROM support_tickets WHERE status IN (");
                let mut list = qb.separated(", ");
                for status in statuses {
                    list.push_bind(status.as_str());
                }
                qb.push(") GROUP BY status");
                let rows: Vec<(String, i64)> = qb.build_query_as().fetch_all(&self.pool).await?;
                Ok(rows
                    .into_iter()
                    .filter_map(|(status, n)| Some((status.parse().ok()?, n)))
                    .collect())
            }

            async fn messages(&self, ticket_id: i64, range: MessageRange) -> StoreResult<MessageSlice> {
                page_of_messages(&self.pool, "seq", ticket_id, range).await
            }

            async fn public_messages(&self, ticket_id: i64, range: MessageRange) -> StoreResult<MessageSlice> {
                page_of_messages(&self.pool, "public_seq", ticket_id, range).await
            }

            async fn seq_of_public(&self, ticket_id: i64, public_seq: i64) -> StoreResult<i64> {
                let found = self.seqs_of_public(&[(ticket_id, public_seq)]).await?;
                Ok(found.first().map_or(0, |&(_, _, seq)| seq))
            }

            async fn seqs_of_public(&self, places: &[(i64, i64)]) -> StoreResult<Vec<(i64, i64, i64)>> {
                if places.is_empty() {
                    return Ok(Vec::new());
                }
                // Seq and public_seq grow together within a ticket: the newest
                // public message at or below the mark is one step down the
                // (ticket_id, public_seq) index, however long the ticket.
                let mut qb = QueryBuilder::<$db>::new("WITH asked (ticket_id, public_seq) AS (");
                qb.push_values(places.iter().take(MAX_IDS_PER_QUERY), |mut row, &(ticket_id, public_seq)| {
                    row.push_bind(ticket_id).push_bind(public_seq);
                });
                qb.push(
                    ") SELECT a.ticket_id, a.public_seq, COALESCE((SELECT m.seq FROM support_messages m \
                     WHERE m.ticket_id = a.ticket_id AND m.public_seq <= a.public_seq \
                     ORDER BY m.public_seq DESC LIMIT 1), 0) FROM asked a",
                );
                Ok(qb.build_query_as().fetch_all(&self.pool).await?)
            }

            async fn messages_in_ranges(&self, ranges: &[(i64, i64, i64)]) -> StoreResult<Vec<Message>> {
                if ranges.is_empty() {
                    return Ok(Vec::new());
                }
                // A range scan of the (ticket_id, seq) index per range.
                let mut qb = QueryBuilder::<$db>::new("WITH asked (asked_ticket, asked_after, asked_up_to) AS (");
                qb.push_values(ranges.iter().take(MAX_IDS_PER_QUERY), |mut row, &(ticket_id, after, up_to)| {
                    row.push_bind(ticket_id).push_bind(after).push_bind(up_to);
                });
                qb.push(format_args!(
                    ") SELECT {MESSAGE_COLUMNS} FROM asked JOIN support_messages \
                     ON ticket_id = asked_ticket AND seq > asked_after AND seq <= asked_up_to ORDER BY ticket_id, seq"
                ));
                let rows: Vec<MessageRow> = qb.build_query_as().fetch_all(&self.pool).await?;
                let mut messages: Vec<Message> = convert(rows)?;
                // Ranges of one ticket may overlap: a message they share came once per range.
                messages.dedup_by_key(|m| m.id);
                Ok(messages)
            }

            async fn append_message(&self, ticket_id: i64, draft: &MessageDraft) -> StoreResult<Appended> {
                let at = self.clock.now();
                // The common case, where the backend can do it in one statement.
                if let Some(message) = self.append_plain(ticket_id, draft, at).await? {
                    return Ok(Appended { message, duplicate: false, status_change: None });
                }
                let mut tx = begin(&self.pool).await?;
                // One statement takes the ticket's lock, allocates the seq and reads
                // what the status rules need.
                let locked: Option<(i64, i64, String, Option<i64>)> =
                    sqlx::query_as(&format!("{ALLOCATE_PLACE} RETURNING last_seq, last_public_seq, status, supporter_id"))
                        .bind(ticket_id)
                        .bind(at)
                        .bind(i64::from(!draft.visibility.is_internal()))
                        .bind(draft.sender_type.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                let (seq, last_public, status, supporter_id) = locked.ok_or(StoreError::NotFound)?;
                let place = place_of((seq, last_public), draft.visibility);
                let status: TicketStatus = status
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("unknown status {status:?}")))?;
                if status == TicketStatus::Closed {
                    tx.rollback().await?;
                    return Err(StoreError::TicketClosed);
                }
                let Some(message) = insert_message(&mut tx, ticket_id, place, draft, at).await? else {
                    // A resend: the seq taken above is given back with the rollback
                    // (no gap), and the first message answers, if it says the same.
                    tx.rollback().await?;
                    let sql = format!(
                        "SELECT {MESSAGE_COLUMNS} FROM support_messages WHERE {}",
                        has_sender_key("", "$1", "$2", "$3", "$4")
                    );
                    let first: Message = sqlx::query_as::<_, MessageRow>(&sql)
                        .bind(ticket_id)
                        .bind(draft.sender_type.as_str())
                        .bind(draft.sender_id)
                        .bind(draft.client_msg_id.as_deref())
                        .fetch_one(&self.pool)
                        .await?
                        .try_into()?;
                    if first.message != draft.text {
                        return Err(StoreError::ClientMsgIdReused);
                    }
                    return Ok(Appended { message: first, duplicate: true, status_change: None });
                };
                let status_change = match status_after_message(status, supporter_id, draft) {
                    Some(effect) => {
                        sqlx::query("UPDATE support_tickets SET status = $2, updated_at = $3 WHERE id = $1")
                            .bind(ticket_id)
                            .bind(effect.status.as_str())
                            .bind(at)
                            .execute(&mut *tx)
                            .await?;
                        let mut notes = system_notes(&mut tx, ticket_id, &[effect.note], at).await?;
                        let ticket = fetch_ticket(&mut *tx, ticket_id, SenderType::Supporter).await?;
                        let before = Ticket { status, ..ticket.clone() };
                        webhook_queries::record_ticket_updated(&mut *tx, &before, &ticket, at).await?;
                        notes.pop().map(|note| (note, ticket))
                    }
                    None => None,
                };
                tx.commit().await?;
                Ok(Appended { message, duplicate: false, status_change })
            }

            async fn change_ticket(&self, ticket_id: i64, change: &TicketChange) -> StoreResult<Changed> {
                let mut tx = begin(&self.pool).await?;
                let changed = apply_change(&mut tx, ticket_id, change, self.clock.now()).await?;
                if changed.changed_anything() {
                    tx.commit().await?;
                } else {
                    tx.rollback().await?;
                }
                Ok(changed)
            }

            async fn mark_read(&self, ticket_id: i64, reader: SenderType, up_to_seq: i64) -> StoreResult<ReadUpTo> {
                // The visitor reads in its own numbering; the agents in seq. Only
                // public messages are ever unread.
                let (column, other) = if reader == SenderType::User { ("public_seq", "seq") } else { ("seq", "public_seq") };
                let marked = sqlx::query(&format!(
                    "UPDATE support_messages SET is_read = TRUE \
                     WHERE ticket_id = $1 AND sender_type = $2 AND audience = 'all' AND {column} <= $3 AND is_read = FALSE",
                ))
                .bind(ticket_id)
                .bind(reader.counterpart().as_str())
                .bind(up_to_seq)
                .execute(&self.pool)
                .await?
                .rows_affected();
                let translated: Option<i64> = sqlx::query_scalar(&format!(
                    "SELECT MAX({other}) FROM support_messages WHERE ticket_id = $1 AND {column} <= $2",
                ))
                .bind(ticket_id)
                .bind(up_to_seq)
                .fetch_one(&self.pool)
                .await?;
                let translated = translated.unwrap_or(0);
                let (seq, public_seq) = if reader == SenderType::User { (translated, up_to_seq) } else { (up_to_seq, translated) };
                Ok(ReadUpTo { marked, seq, public_seq })
            }

            async fn create_agent(&self, agent: &NewAgent) -> StoreResult<Agent> {
                let id: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO support_agents (email, name, password_hash, role, disabled, created_at) \
                     VALUES ($1, $2, $3, $4, FALSE, $5) ON CONFLICT (email) DO NOTHING RETURNING id",
                )
                .bind(&agent.email)
                .bind(&agent.name)
                .bind(&agent.password_hash)
                .bind(agent.role.as_str())
                .bind(now())
                .fetch_optional(&self.pool)
                .await?;
                let id = id.ok_or(StoreError::Conflict("an agent with this email"))?;
                self.agent_by_id(id).await?.ok_or(StoreError::NotFound)
            }

            async fn agent_by_email(&self, email: &str) -> StoreResult<Option<AgentWithHash>> {
                let sql = format!("{}, a.password_hash FROM support_agents a WHERE a.email = $1",
                    agent_select(routing_queries::status_sql()).trim_end_matches(" FROM support_agents a"));
                let row = sqlx::query(&sql).bind(email).fetch_optional(&self.pool).await?;
                let Some(row) = row else { return Ok(None) };
                use sqlx::{FromRow, Row};
                let agent: Agent = AgentRow::from_row(&row)?.try_into()?;
                let password_hash: String = row.try_get("password_hash")?;
                Ok(Some(AgentWithHash { agent, password_hash }))
            }

            async fn agent_by_id(&self, id: i64) -> StoreResult<Option<Agent>> {
                let sql = format!("{} WHERE a.id = $1", agent_select(routing_queries::status_sql()));
                let row: Option<AgentRow> = sqlx::query_as(&sql).bind(id).fetch_optional(&self.pool).await?;
                row.map(Agent::try_from).transpose()
            }

            async fn list_agents(&self) -> StoreResult<Vec<Agent>> {
                let sql = format!("{} ORDER BY a.id", agent_select(routing_queries::status_sql()));
                let rows: Vec<AgentRow> = sqlx::query_as(&sql).fetch_all(&self.pool).await?;
                convert(rows)
            }

            async fn count_agents(&self) -> StoreResult<i64> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM support_agents").fetch_one(&self.pool).await?)
            }

            async fn update_agent(&self, id: i64, update: &AgentUpdate) -> StoreResult<Agent> {
                let updated: Option<i64> = sqlx::query_scalar(
                    "UPDATE support_agents SET name = COALESCE($2, name), role = COALESCE($3, role), \
                     disabled = COALESCE($4, disabled), password_hash = COALESCE($5, password_hash), \
                     token_generation = token_generation + $6, max_chats = COALESCE($7, max_chats) \
                     WHERE id = $1 RETURNING id",
                )
                .bind(id)
                .bind(update.name.as_deref())
                .bind(update.role.map(|r| r.as_str()))
                .bind(update.disabled)
                .bind(update.password_hash.as_deref())
                .bind(i64::from(update.revokes_tokens()))
                .bind(update.max_chats.map(|m| m as i32))
                .fetch_optional(&self.pool)
                .await?;
                updated.ok_or(StoreError::NotFound)?;
                self.agent_by_id(id).await?.ok_or(StoreError::NotFound)
            }

            async fn agent_standings(&self, agent_ids: &[i64]) -> StoreResult<Vec<AgentStanding>> {
                if agent_ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut qb = QueryBuilder::<$db>::new(
                    "SELECT id, token_generation, disabled FROM support_agents WHERE id IN (",
                );
                let mut list = qb.separated(", ");
                for id in agent_ids.iter().take(MAX_IDS_PER_QUERY) {
                    list.push_bind(*id);
                }
                qb.push(")");
                Ok(qb.build_query_as().fetch_all(&self.pool).await?)
            }

            async fn open_session(&self, session: &NewSession) -> StoreResult<i64> {
                let ids = self.open_sessions(std::slice::from_ref(session)).await?;
                ids.first().copied().ok_or(StoreError::NotFound)
            }

            async fn open_sessions(&self, sessions: &[NewSession]) -> StoreResult<Vec<i64>> {
                let at = now();
                let mut ids = Vec::with_capacity(sessions.len());
                for chunk in sessions.chunks(MAX_IDS_PER_QUERY) {
                    let mut qb = QueryBuilder::<$db>::new(
                        "INSERT INTO support_sessions (ticket_id, user_id, supporter_id, is_active, started_at, \
                         user_connected, supporter_connected, node_id, last_seen_at) ",
                    );
                    qb.push_values(chunk, |mut row, session| {
                        row.push_bind(session.ticket_id)
                            .push_bind(session.user_id.as_deref())
                            .push_bind(session.supporter_id)
                            .push("TRUE")
                            .push_bind(at)
                            .push_bind(session.role == SenderType::User)
                            .push_bind(session.role == SenderType::Supporter)
                            .push_bind(&session.node_id)
                            .push_bind(at);
                    });
                    qb.push(" RETURNING id, ticket_id, user_id, supporter_id, user_connected, node_id");
                    let rows: Vec<SessionReturned> = qb.build_query_as().fetch_all(&self.pool).await?;
                    ids.extend(match_sessions(chunk, rows)?);
                }
                Ok(ids)
            }

            async fn end_session(&self, id: i64) -> StoreResult<()> {
                sqlx::query(
                    "UPDATE support_sessions SET is_active = FALSE, ended_at = $2, user_connected = FALSE, \
                     supporter_connected = FALSE WHERE id = $1",
                )
                .bind(id)
                .bind(now())
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn last_seqs(&self, ticket_ids: &[i64]) -> StoreResult<Vec<(i64, i64)>> {
                if ticket_ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut qb = QueryBuilder::<$db>::new("SELECT id, last_seq FROM support_tickets WHERE id IN (");
                let mut list = qb.separated(", ");
                for id in ticket_ids.iter().take(MAX_IDS_PER_QUERY) {
                    list.push_bind(*id);
                }
                qb.push(")");
                Ok(qb.build_query_as().fetch_all(&self.pool).await?)
            }

            async fn changed_tickets(
                &self,
                after: DateTime<Utc>,
                until: DateTime<Utc>,
                limit: u32,
            ) -> StoreResult<Vec<(i64, DateTime<Utc>)>> {
                Ok(sqlx::query_as(
                    "SELECT id, updated_at FROM support_tickets WHERE updated_at > $1 AND updated_at <= $2 \
                     ORDER BY updated_at LIMIT $3",
                )
                .bind(after)
                .bind(until)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?)
            }

            async fn heartbeat(&self, node_id: &str) -> StoreResult<()> {
                let sql = format!(
                    "INSERT INTO support_nodes (node_id, heartbeat_at) VALUES ($1, {now}) \
                     ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = {now}",
                    now = db_now()
                );
                sqlx::query(&sql).bind(node_id).execute(&self.pool).await?;
                Ok(())
            }

            async fn revive_sessions(&self, sessions: &[(i64, SenderType)]) -> StoreResult<u64> {
                let mut revived = 0;
                for chunk in sessions.chunks(MAX_IDS_PER_QUERY) {
                    let mut qb = QueryBuilder::<$db>::new("UPDATE support_sessions SET is_active = TRUE, ended_at = NULL, last_seen_at = ");
                    qb.push_bind(now());
                    qb.push(", user_connected = CASE id");
                    for (id, role) in chunk {
                        qb.push(" WHEN ").push_bind(*id).push(" THEN ").push_bind(*role == SenderType::User);
                    }
                    qb.push(" END, supporter_connected = CASE id");
                    for (id, role) in chunk {
                        qb.push(" WHEN ").push_bind(*id).push(" THEN ").push_bind(*role == SenderType::Supporter);
                    }
                    qb.push(" END WHERE id IN (");
                    let mut list = qb.separated(", ");
                    for (id, _) in chunk {
                        list.push_bind(*id);
                    }
                    qb.push(")");
                    revived += qb.build().execute(&self.pool).await?.rows_affected();
                }
                Ok(revived)
            }

            async fn end_stale_sessions(&self, stale_after: std::time::Duration) -> StoreResult<u64> {
                let sql = format!(
                    "UPDATE support_sessions SET is_active = FALSE, ended_at = $1, user_connected = FALSE, \
                     supporter_connected = FALSE WHERE is_active = TRUE AND NOT EXISTS (\
                     SELECT 1 FROM support_nodes n WHERE n.node_id = support_sessions.node_id \
                     AND n.heartbeat_at > {cutoff})",
                    cutoff = db_seconds_ago("$2")
                );
                let done = sqlx::query(&sql)
                    .bind(now())
                    .bind(stale_after.as_secs() as i64)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn prune_sessions(&self, retention: std::time::Duration) -> StoreResult<u64> {
                let ended_before = now() - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
                let done = sqlx::query("DELETE FROM support_sessions WHERE is_active = FALSE AND ended_at < $1")
                    .bind(ended_before)
                    .execute(&self.pool)
                    .await?;
                let sql = format!("DELETE FROM support_nodes WHERE heartbeat_at < {}", db_seconds_ago("$1"));
                sqlx::query(&sql)
                    .bind(retention.as_secs() as i64)
                    .execute(&self.pool)
                    .await?;
                let dashboards = routing_queries::prune_agent_sockets(&self.pool, retention).await?;
                Ok(done.rows_affected() + dashboards)
            }

            async fn presence(&self, ticket_id: i64) -> StoreResult<Presence> {
                let found = self.presences(&[ticket_id]).await?;
                Ok(found.first().map(|&(_, presence)| presence).unwrap_or_default())
            }

            async fn presences(&self, ticket_ids: &[i64]) -> StoreResult<Vec<(i64, Presence)>> {
                if ticket_ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut qb = QueryBuilder::<$db>::new(
                    "SELECT s.ticket_id, COUNT(CASE WHEN s.user_connected THEN 1 END), \
                     COUNT(CASE WHEN s.supporter_connected THEN 1 END) \
                     FROM support_sessions s JOIN support_nodes n ON n.node_id = s.node_id \
                     WHERE s.is_active = TRUE AND s.ticket_id IN (",
                );
                let mut list = qb.separated(", ");
                for id in ticket_ids.iter().take(MAX_IDS_PER_QUERY) {
                    list.push_bind(*id);
                }
                let stale = db_seconds_ago(&NODE_STALE_AFTER.as_secs().to_string());
                qb.push(format!(") AND n.heartbeat_at > {stale} GROUP BY s.ticket_id"));
                let rows: Vec<(i64, i64, i64)> = qb.build_query_as().fetch_all(&self.pool).await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, user, supporter)| {
                        (id, Presence { user_connected: user > 0, supporter_connected: supporter > 0 })
                    })
                    .collect())
            }

            async fn online_agent_ids(&self) -> StoreResult<Vec<i64>> {
                let sql = format!(
                    "SELECT DISTINCT s.supporter_id FROM support_sessions s JOIN support_nodes n ON n.node_id = s.node_id \
                     WHERE s.is_active = TRUE AND s.supporter_id IS NOT NULL AND n.heartbeat_at > {}",
                    db_seconds_ago("$1")
                );
                Ok(sqlx::query_scalar(&sql)
                    .bind(NODE_STALE_AFTER.as_secs() as i64)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn list_canned(&self, text: Option<&str>) -> StoreResult<Vec<CannedResponse>> {
                let mut qb = QueryBuilder::<$db>::new(format!("SELECT {CANNED_COLUMNS} FROM support_canned_responses"));
                if let Some(text) = text {
                    let pattern = contains_pattern(text);
                    qb.push(" WHERE LOWER(shortcut) LIKE LOWER(").push_bind(pattern.clone());
                    qb.push(") ESCAPE '\\' OR LOWER(title) LIKE LOWER(").push_bind(pattern.clone());
                    qb.push(") ESCAPE '\\' OR LOWER(body) LIKE LOWER(").push_bind(pattern);
                    qb.push(") ESCAPE '\\'");
                }
                qb.push(" ORDER BY uses DESC, shortcut ASC");
                let rows: Vec<CannedRow> = qb.build_query_as().fetch_all(&self.pool).await?;
                convert(rows)
            }

            async fn create_canned(&self, new: &NewCanned) -> StoreResult<CannedResponse> {
                let sql = format!(
                    "INSERT INTO support_canned_responses (shortcut, title, body, uses, created_at, updated_at) \
                     VALUES ($1, $2, $3, 0, $4, $4) RETURNING {CANNED_COLUMNS}"
                );
                let row: CannedRow = sqlx::query_as(&sql)
                    .bind(&new.shortcut)
                    .bind(&new.title)
                    .bind(&new.body)
                    .bind(now())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(canned_write_error)?;
                row.try_into()
            }

            async fn update_canned(&self, id: i64, update: &CannedUpdate) -> StoreResult<CannedResponse> {
                let sql = format!(
                    "UPDATE support_canned_responses SET shortcut = COALESCE($2, shortcut), \
                     title = COALESCE($3, title), body = COALESCE($4, body), updated_at = $5 \
                     WHERE id = $1 RETURNING {CANNED_COLUMNS}"
                );
                let row: Option<CannedRow> = sqlx::query_as(&sql)
                    .bind(id)
                    .bind(update.shortcut.as_deref())
                    .bind(update.title.as_deref())
                    .bind(update.body.as_deref())
                    .bind(now())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(canned_write_error)?;
                row.ok_or(StoreError::NotFound)?.try_into()
            }

            async fn delete_canned(&self, id: i64) -> StoreResult<()> {
                let done = sqlx::query("DELETE FROM support_canned_responses WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn record_canned_use(&self, id: i64) -> StoreResult<()> {
                let done = sqlx::query("UPDATE support_canned_responses SET uses = uses + 1 WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn label_counts(&self) -> StoreResult<Vec<LabelCount>> {
                let rows: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT label, COUNT(*) FROM support_ticket_labels GROUP BY label ORDER BY 2 DESC, 1 ASC",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(|(name, count)| LabelCount { name, count }).collect())
            }

            // Presence, capacity and routing: the SQL is in `routing_sql.rs`.
            async fn open_agent_socket(&self, agent_id: i64, node_id: &str) -> StoreResult<i64> {
                routing_queries::open_agent_socket(&self.pool, agent_id, node_id).await
            }

            async fn close_agent_socket(&self, id: i64, grace: std::time::Duration) -> StoreResult<()> {
                routing_queries::close_agent_socket(&self.pool, id, grace).await
            }

            async fn revive_agent_sockets(&self, ids: &[i64]) -> StoreResult<u64> {
                routing_queries::revive_agent_sockets(&self.pool, ids).await
            }

            async fn record_activity(&self, agent_id: i64) -> StoreResult<()> {
                routing_queries::record_activity(&self.pool, agent_id).await
            }

            async fn set_away(&self, agent_id: i64, away: bool) -> StoreResult<Agent> {
                routing_queries::set_away(&self.pool, agent_id, away).await?;
                self.agent_by_id(agent_id).await?.ok_or(StoreError::NotFound)
            }

            async fn settings(&self) -> StoreResult<crate::domain::Settings> {
                routing_queries::settings(&self.pool).await
            }

            async fn save_settings(&self, settings: &crate::domain::Settings) -> StoreResult<()> {
                routing_queries::save_settings(&self.pool, settings).await
            }

            async fn assign_next(&self) -> StoreResult<Option<Changed>> {
                routing_queries::assign_next(&self.pool).await
            }

            async fn requeue_abandoned(&self) -> StoreResult<Vec<Changed>> {
                routing_queries::requeue_abandoned(&self.pool).await
            }

            async fn transfer_ticket(&self, ticket_id: i64, to: (i64, &str), by: (i64, &str)) -> StoreResult<Changed> {
                routing_queries::transfer_ticket(&self.pool, ticket_id, to, by).await
            }

            async fn queue_snapshot(&self, ticket_ids: &[i64]) -> StoreResult<crate::store::QueueSnapshot> {
                routing_queries::queue_snapshot(&self.pool, ticket_ids).await
            }

            // Visitor context: the SQL is in `visitor_sql.rs`.
            async fn record_page(
                &self,
                ticket_id: i64,
                page: &crate::domain::visitor::PageReport,
                at: DateTime<Utc>,
                keep: u32,
            ) -> StoreResult<bool> {
                visitor_queries::record_page(&self.pool, ticket_id, page, at, keep).await
            }

            async fn record_visitor_browser(
                &self,
                ticket_id: i64,
                user_agent: Option<&str>,
                fallback_locale: Option<&str>,
            ) -> StoreResult<()> {
                visitor_queries::record_visitor_browser(&self.pool, ticket_id, user_agent, fallback_locale).await
            }

            async fn visitor_pages(&self, ticket_id: i64, limit: u32) -> StoreResult<Vec<crate::domain::visitor::VisitedPage>> {
                visitor_queries::visitor_pages(&self.pool, ticket_id, limit).await
            }

            async fn visitor_info(&self, ticket_id: i64) -> StoreResult<crate::domain::visitor::VisitorInfo> {
                visitor_queries::visitor_info(&self.pool, ticket_id).await
            }

            async fn previous_tickets(
                &self,
                ticket_id: i64,
                user_id: Option<&str>,
                user_email: Option<&str>,
                limit: u32,
            ) -> StoreResult<Vec<Ticket>> {
                visitor_queries::previous_tickets(&self.pool, ticket_id, user_id, user_email, limit).await
            }

            async fn rate_ticket(&self, ticket_id: i64, score: i64, comment: Option<&str>) -> StoreResult<Option<Ticket>> {
                let at = self.clock.now();
                let mut tx = begin(&self.pool).await?;
                let rated = sqlx::query(
                    "UPDATE support_tickets SET rating_score = $2, rating_comment = $3, rating_at = $4, updated_at = $4 \
                     WHERE id = $1 AND rating_score IS NULL AND status IN ('resolved', 'closed')",
                )
                .bind(ticket_id)
                .bind(score)
                .bind(comment)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                if rated.rows_affected() == 0 {
                    tx.rollback().await?;
                    return Ok(None);
                }
                let ticket = fetch_ticket(&mut *tx, ticket_id, SenderType::Supporter).await?;
                webhook_queries::record_rating(&mut *tx, &ticket).await?;
                tx.commit().await?;
                Ok(Some(ticket))
            }

            async fn first_replies(&self, since: DateTime<Utc>, limit: u32) -> StoreResult<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
                // Per ticket opened since `since` (the newest `limit`): the
                // visitor's first message, and the first public agent message
                // at or after it.
                let rows: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> = sqlx::query_as(
                    "SELECT u.first_at, (SELECT MIN(a.created_at) FROM support_messages a \
                       WHERE a.ticket_id = u.ticket_id AND a.sender_type = 'supporter' AND a.audience = 'all' \
                         AND a.created_at >= u.first_at) \
                     FROM (SELECT m.ticket_id, MIN(m.created_at) AS first_at \
                           FROM support_tickets t JOIN support_messages m ON m.ticket_id = t.id \
                           WHERE t.created_at >= $1 AND m.sender_type = 'user' \
                           GROUP BY m.ticket_id ORDER BY m.ticket_id DESC LIMIT $2) u",
                )
                .bind(since)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().filter_map(|(asked, answered)| Some((asked, answered?))).collect())
            }

            async fn create_attachment(&self, new: &crate::store::NewAttachment) -> StoreResult<i64> {
                attachment_queries::create_attachment(&self.pool, new).await
            }

            async fn attachment(&self, id: i64) -> StoreResult<crate::store::StoredAttachment> {
                attachment_queries::attachment(&self.pool, id).await
            }

            async fn abandon_attachment(&self, id: i64) -> StoreResult<bool> {
                attachment_queries::abandon_attachment(&self.pool, id, now()).await
            }

            async fn forget_attachment(&self, id: i64) -> StoreResult<()> {
                attachment_queries::forget_attachment(&self.pool, id).await
            }

            async fn attachments_to_sweep(
                &self,
                orphaned_before: DateTime<Utc>,
                retained_after: Option<DateTime<Utc>>,
                limit: u32,
            ) -> StoreResult<Vec<crate::store::SweepItem>> {
                attachment_queries::attachments_to_sweep(&self.pool, orphaned_before, retained_after, limit).await
            }

            async fn mark_attachment_deleted(&self, id: i64) -> StoreResult<()> {
                attachment_queries::mark_attachment_deleted(&self.pool, id, now()).await
            }

            // Email: the SQL is in `email_sql.rs`.
            async fn enqueue_email(&self, email: &crate::store::NewEmail) -> StoreResult<crate::domain::email::OutboxEmail> {
                email_queries::enqueue_email(&self.pool, email).await
            }

            async fn claim_emails(
                &self,
                node_id: &str,
                now: DateTime<Utc>,
                lease_until: DateTime<Utc>,
                limit: u32,
            ) -> StoreResult<Vec<crate::store::QueuedEmail>> {
                email_queries::claim_emails(&self.pool, node_id, now, lease_until, limit).await
            }

            async fn email_sent(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
                email_queries::email_sent(&self.pool, id, at).await
            }

            async fn email_failed(&self, id: i64, error: &str, retry_at: Option<DateTime<Utc>>) -> StoreResult<()> {
                email_queries::email_failed(&self.pool, id, error, retry_at).await
            }

            async fn outbox(&self, query: &crate::store::OutboxQuery) -> StoreResult<Vec<crate::domain::email::OutboxEmail>> {
                email_queries::outbox(&self.pool, query).await
            }

            async fn outbox_backlog(&self) -> StoreResult<(i64, Option<DateTime<Utc>>)> {
                email_queries::outbox_backlog(&self.pool).await
            }

            async fn count_visitor_emails(
                &self,
                ticket_id: i64,
                kind: crate::domain::email::EmailKind,
                since: DateTime<Utc>,
            ) -> StoreResult<i64> {
                email_queries::count_visitor_emails(&self.pool, ticket_id, kind, since).await
            }

            async fn follow_ups_due(
                &self,
                quiet_since: DateTime<Utc>,
                active_after: DateTime<Utc>,
                limit: u32,
            ) -> StoreResult<Vec<(i64, i64)>> {
                email_queries::follow_ups_due(&self.pool, quiet_since, active_after, limit).await
            }

            async fn enqueue_follow_up(
                &self,
                ticket_id: i64,
                from_seq: i64,
                to_seq: i64,
                email: &crate::store::NewEmail,
            ) -> StoreResult<Option<crate::domain::email::OutboxEmail>> {
                email_queries::enqueue_follow_up(&self.pool, ticket_id, from_seq, to_seq, email).await
            }

            // Webhooks and reports: the SQL is in `webhook_sql.rs`.

            async fn create_webhook(&self, new: &crate::store::NewWebhook, max: u32) -> StoreResult<Option<crate::domain::webhook::Webhook>> {
                webhook_queries::create_webhook(&self.pool, new, max).await
            }

            async fn webhooks(&self) -> StoreResult<Vec<crate::domain::webhook::Webhook>> {
                webhook_queries::webhooks(&self.pool).await
            }

            async fn delete_webhook(&self, id: i64) -> StoreResult<bool> {
                webhook_queries::delete_webhook(&self.pool, id).await
            }

            async fn deliveries(&self, query: &crate::store::DeliveryQuery) -> StoreResult<Vec<crate::domain::webhook::Delivery>> {
                webhook_queries::deliveries(&self.pool, query).await
            }

            async fn claim_deliveries(
                &self,
                node_id: &str,
                now: DateTime<Utc>,
                lease_until: DateTime<Utc>,
                limit: u32,
            ) -> StoreResult<Vec<crate::store::ClaimedDelivery>> {
                webhook_queries::claim_deliveries(&self.pool, node_id, now, lease_until, limit).await
            }

            async fn delivery_attempted(&self, id: i64, outcome: &crate::store::DeliveryOutcome) -> StoreResult<()> {
                webhook_queries::delivery_attempted(&self.pool, id, outcome).await
            }

            async fn prune_deliveries(&self, before: DateTime<Utc>) -> StoreResult<u64> {
                webhook_queries::prune_deliveries(&self.pool, before).await
            }

            async fn message_by_id(&self, id: i64) -> StoreResult<Message> {
                let sql = format!("SELECT {MESSAGE_COLUMNS} FROM support_messages WHERE id = $1");
                let row: Option<MessageRow> = sqlx::query_as(&sql).bind(id).fetch_optional(&self.pool).await?;
                row.ok_or(StoreError::NotFound)?.try_into()
            }

            async fn report_tickets(
                &self,
                from: DateTime<Utc>,
                to: DateTime<Utc>,
                after: Option<(DateTime<Utc>, i64)>,
                limit: u32,
            ) -> StoreResult<Vec<crate::store::ReportTicket>> {
                webhook_queries::report_tickets(&self.pool, from, to, after, limit).await
            }

            async fn count_resolved(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<i64> {
                webhook_queries::count_resolved(&self.pool, from, to).await
            }
        }
    };
}
pub(super) use impl_store;

#[cfg(test)]
mod tests {
    #[test]
    fn search_patterns_escape_wildcards() {
        assert_eq!(super::contains_pattern("50%_Off\\"), "%50\\%\\_Off\\\\%");
    }

    #[test]
    fn inserted_sessions_are_matched_to_their_rows_in_any_order() {
        use super::{NewSession, SenderType, SessionReturned, match_sessions};
        let session = |ticket_id, role, supporter_id| NewSession {
            ticket_id,
            role,
            user_id: None,
            supporter_id,
            node_id: "n".into(),
        };
        let sessions = [
            session(1, SenderType::User, None),
            session(1, SenderType::Supporter, Some(7)),
            session(2, SenderType::User, None),
            session(1, SenderType::User, None),
        ];
        let row = |id, ticket_id, supporter_id: Option<i64>| SessionReturned {
            id,
            ticket_id,
            user_id: None,
            supporter_id,
            user_connected: supporter_id.is_none(),
            node_id: "n".into(),
        };
        // Returned backwards: ids 10..13 were inserted in the sessions' order.
        let rows = vec![
            row(13, 1, None),
            row(12, 2, None),
            row(11, 1, Some(7)),
            row(10, 1, None),
        ];
        let ids = match_sessions(&sessions, rows).unwrap();
        assert_eq!((ids[1], ids[2]), (11, 12));
        // The visitor's two equal sessions get the two rows, one each.
        let mut equal = [ids[0], ids[3]];
        equal.sort_unstable();
        assert_eq!(equal, [10, 13]);
        // A row short is an error, never a shared id.
        let short = vec![row(12, 2, None), row(11, 1, Some(7)), row(10, 1, None)];
        assert!(match_sessions(&sessions, short).is_err());
    }
}
