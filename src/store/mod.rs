//! The record: tickets, messages, agents and socket sessions. One [`Store`] trait,
//! two backends chosen by the `DATABASE_URL` scheme: SQLite (the embedded default)
//! and PostgreSQL. Both share their SQL (see `sql.rs`) and pass one contract suite
//! (`tests/store_contract.rs`).

mod attachment_sql;
mod email_sql;
mod group_commit;
mod metered;
mod postgres;
mod routing_sql;
mod sql;
mod sqlite;
mod visitor_sql;
mod webhook_sql;

use crate::domain::email::{EmailKind, EmailStatus, OutboxEmail};
use crate::domain::visitor::{PageReport, VisitedPage, VisitorInfo};
use crate::domain::webhook::{Delivery, Webhook, WebhookEvent};
use crate::domain::{
    Agent, AgentRole, AgentWithHash, CannedResponse, CannedUpdate, LabelCount, Message,
    MessageDraft, NewCanned, NewTicket, Priority, SenderType, Ticket, TicketChange, TicketStatus,
    TransitionError,
};
use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use std::sync::Arc;
use std::time::Duration;

pub use crate::domain::Presence;
pub use metered::MeteredStore;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use visitor_sql::PREVIOUS_TICKETS_WHERE;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("the ticket is closed")]
    TicketClosed,
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// A sender's `client_msg_id` is stored with another text: not a resend.
    #[error("the client_msg_id was used for another message")]
    ClientMsgIdReused,
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The database did not answer within [`STORE_CALL_TIMEOUT`].
    #[error("the database did not answer in time")]
    Timeout,
}

impl StoreError {
    /// The database is unreachable, overloaded, shutting down or failing over:
    /// worth a retry later, and never a client's fault.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Timeout => true,
            StoreError::Database(err) => match err {
                sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_)
                | sqlx::Error::WorkerCrashed => true,
                // SQLSTATE class 08: connection exceptions; 57P01-57P03: the server
                // is shutting down or starting; 25006: a read-only standby (a
                // failover caught half-way).
                sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                    code.starts_with("08")
                        || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "25006")
                }),
                _ => false,
            },
            _ => false,
        }
    }
}

/// The longest any store call may take before it fails with
/// [`StoreError::Timeout`]: every caller, a socket's send included, gets an
/// answer even from a database that went silent. It is above the pool's acquire
/// timeout, so an unreachable database reports itself first.
pub const STORE_CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// A node's socket sessions count as live while its heartbeat row is younger
/// than this, by the database's clock (nodes write it every few seconds).
pub const NODE_STALE_AFTER: Duration = Duration::from_secs(30);

/// How many of a conversation's newest messages the follow-up scan looks at
/// for replies the visitor has not seen (issue 18).
pub const FOLLOW_UP_LOOKBACK: i64 = 200;

/// Most ids bound into one `IN (…)` list (SQLite's limit on variables is far above).
pub const MAX_IDS_PER_QUERY: usize = 1000;

/// A ticket's row in an agent's queue, without the rest of the ticket: what the
/// dashboards' notices carry ([`Store::ticket_summaries`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketSummary {
    pub ticket_id: i64,
    pub supporter_id: Option<i64>,
    /// The agents' unread count (the visitor's public messages not read).
    pub unread_count: i64,
    pub last_message_preview: Option<String>,
    pub waiting_since: Option<DateTime<Utc>>,
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which tickets an agent's queue shows, in priority-then-age order.
#[derive(Debug, Clone)]
pub struct TicketQuery {
    pub statuses: Vec<TicketStatus>,
    pub priorities: Vec<Priority>,
    pub assigned: AssignedFilter,
    /// Case-insensitive text search in subject, name, email and messages.
    pub text: Option<String>,
    /// Tickets carrying any of these labels; empty: no label filter.
    pub labels: Vec<String>,
    pub limit: u32,
    pub after: Option<TicketCursor>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignedFilter {
    Any,
    Unassigned,
    To(i64),
}

/// Where the previous page ended: the last ticket's priority rank and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketCursor {
    pub rank: i64,
    pub id: i64,
}

impl TicketCursor {
    pub fn encode(&self) -> String {
        format!("{}-{}", self.rank, self.id)
    }
    pub fn decode(s: &str) -> Option<TicketCursor> {
        let (rank, id) = s.split_once('-')?;
        Some(TicketCursor {
            rank: rank.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct TicketPage {
    pub tickets: Vec<Ticket>,
    pub next: Option<TicketCursor>,
}

/// A window of a ticket's messages by seq: `(after, before)`, exclusive, at most `limit`.
#[derive(Debug, Clone, Copy)]
pub struct MessageRange {
    pub after_seq: i64,
    pub before_seq: Option<i64>,
    pub limit: u32,
}

/// Messages in ascending seq order, and whether more lie beyond the window in the
/// direction of paging (newer for `after_seq`, older for `before_seq`).
#[derive(Debug, Clone)]
pub struct MessageSlice {
    pub messages: Vec<Message>,
    pub has_more: bool,
}

/// What appending a message did.
#[derive(Debug, Clone)]
pub struct Appended {
    pub message: Message,
    /// The client_msg_id was seen before: `message` is the first one, nothing was stored.
    pub duplicate: bool,
    /// The message moved the ticket on (e.g. assigned → in_progress): the system
    /// note stored right after it, and the ticket as it is now.
    pub status_change: Option<(Message, Ticket)>,
}

/// What a ticket change did: the ticket after it, the system notes it stored (none
/// for a no-op), and the agent it assigned, if any.
#[derive(Debug, Clone)]
pub struct Changed {
    pub ticket: Ticket,
    pub notes: Vec<Message>,
    pub assigned: Option<(i64, String)>,
    /// The change replaced the ticket's labels (no note, but a ticket update).
    pub relabelled: bool,
}

impl Changed {
    /// Whether anything was stored: then the ticket is pushed as updated.
    pub fn changed_anything(&self) -> bool {
        !self.notes.is_empty() || self.relabelled
    }
}

/// An agent account to create, with its password already hashed.
#[derive(Debug, Clone)]
pub struct NewAgent {
    pub email: String,
    pub name: String,
    pub role: AgentRole,
    pub password_hash: String,
}

/// Changes to an agent account; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AgentUpdate {
    pub name: Option<String>,
    pub role: Option<AgentRole>,
    pub disabled: Option<bool>,
    pub password_hash: Option<String>,
    /// The most tickets auto-assignment gives the agent (0 to [`crate::domain::MAX_CHATS_LIMIT`]).
    pub max_chats: Option<i64>,
    /// End every session of the agent (logout).
    pub revoke_tokens: bool,
}

impl AgentUpdate {
    /// Disabling, a new password and a logout all end the agent's sessions.
    pub fn revokes_tokens(&self) -> bool {
        self.revoke_tokens || self.disabled == Some(true) || self.password_hash.is_some()
    }
}

/// Whether an agent's tokens still stand: the generation a token must carry,
/// and whether the agent is disabled (then none does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct AgentStanding {
    #[sqlx(rename = "id")]
    pub agent_id: i64,
    pub token_generation: i64,
    pub disabled: bool,
}

/// One open socket, kept in `support_sessions` for presence and node liveness.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NewSession {
    pub ticket_id: i64,
    pub role: SenderType,
    pub user_id: Option<String>,
    pub supporter_id: Option<i64>,
    pub node_id: String,
}

/// The waiting queue as a node's visitor sockets need it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueSnapshot {
    /// `(ticket_id, position)` of the asked tickets that wait (1 = next);
    /// tickets that do not wait are left out.
    pub positions: Vec<(i64, i64)>,
    /// Agents whose status is `online`.
    pub agents_online: i64,
    /// Tickets waiting in all (`open` without an agent).
    pub waiting: i64,
}

/// A read mark in both of a ticket's numberings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadUpTo {
    /// Messages newly marked read.
    pub marked: u64,
    /// The mark in `seq` (the agents' stream).
    pub seq: i64,
    /// The mark in `public_seq` (the visitor's stream).
    pub public_seq: i64,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Answers when the database does.
    async fn ping(&self) -> StoreResult<()>;
    /// The time the store writes for "now" (see [`Clock`]).
    fn now(&self) -> DateTime<Utc> {
        now()
    }

    /// Opens a ticket, with its first user message (seq 1) when the visitor wrote one.
    /// The ticket is the agents' view: the opening message counts as unread.
    async fn create_ticket(&self, new: &NewTicket) -> StoreResult<(Ticket, Option<Message>)>;
    /// The ticket as `viewer` sees it (unread counts are the viewer's).
    async fn ticket_by_session(&self, session_id: &str, viewer: SenderType) -> StoreResult<Ticket>;
    /// Tickets by session id (up to [`MAX_IDS_PER_QUERY`]), as `viewer` sees
    /// them, in one query; unknown session ids are left out.
    async fn tickets_by_sessions(
        &self,
        session_ids: &[String],
        viewer: SenderType,
    ) -> StoreResult<Vec<Ticket>>;
    async fn ticket_by_id(&self, id: i64, viewer: SenderType) -> StoreResult<Ticket>;
    /// Tickets by id (up to [`MAX_IDS_PER_QUERY`]), as `viewer` sees them,
    /// ordered by id; unknown ids are left out.
    async fn tickets_by_ids(&self, ids: &[i64], viewer: SenderType) -> StoreResult<Vec<Ticket>>;
    /// What an agent's queue row shows of each ticket's conversation, by id (up
    /// to [`MAX_IDS_PER_QUERY`]; unknown ids are left out): the feed's notices.
    async fn ticket_summaries(&self, ids: &[i64]) -> StoreResult<Vec<TicketSummary>>;
    /// A verified storefront user's tickets, newest first, as the guest sees them.
    async fn tickets_of_user(&self, user_id: &str, limit: u32) -> StoreResult<Vec<Ticket>>;
    /// The agent queue, as an agent sees it.
    async fn list_tickets(&self, query: &TicketQuery) -> StoreResult<TicketPage>;
    /// How many tickets have each of `statuses` (a status with none is left out).
    async fn ticket_counts_by_status(
        &self,
        statuses: &[TicketStatus],
    ) -> StoreResult<Vec<(TicketStatus, i64)>>;

    /// Messages by `seq`: the agents' stream, internal messages included.
    async fn messages(&self, ticket_id: i64, range: MessageRange) -> StoreResult<MessageSlice>;
    /// The visitor's stream: public messages only, the range in their
    /// `public_seq` (render each with [`Message::for_visitor`]).
    async fn public_messages(
        &self,
        ticket_id: i64,
        range: MessageRange,
    ) -> StoreResult<MessageSlice>;
    /// The seq of the visitor's message number `public_seq` (the newest one at or
    /// below it; 0 before the first): where a visitor's `since` lies in seq.
    async fn seq_of_public(&self, ticket_id: i64, public_seq: i64) -> StoreResult<i64>;
    /// [`Store::seq_of_public`] of each `(ticket_id, public_seq)` (up to
    /// [`MAX_IDS_PER_QUERY`]) in one query, as `(ticket_id, public_seq, seq)`.
    async fn seqs_of_public(&self, places: &[(i64, i64)]) -> StoreResult<Vec<(i64, i64, i64)>>;
    /// The messages of each `(ticket_id, after_seq, up_to_seq)` range, seq in
    /// `(after_seq, up_to_seq]` (up to [`MAX_IDS_PER_QUERY`] ranges), in one
    /// query: each message once, by ticket then seq. A ticket's seqs have no
    /// gaps, so a range holds at most `up_to_seq - after_seq` messages: the
    /// caller bounds what it reads by the ranges it asks for.
    async fn messages_in_ranges(&self, ranges: &[(i64, i64, i64)]) -> StoreResult<Vec<Message>>;
    /// Stores a message under the ticket's next seq, in one transaction with the
    /// seq allocation; idempotent on the sender's (ticket, sender type, sender id,
    /// client_msg_id): a resend of the same text answers with the stored message,
    /// another text under a stored key is [`StoreError::ClientMsgIdReused`]. The
    /// acknowledgement point.
    async fn append_message(&self, ticket_id: i64, draft: &MessageDraft) -> StoreResult<Appended>;
    /// Applies a status/priority/assignment/labels change with the contract's rules
    /// and stores one system note per status, priority or assignment change,
    /// atomically. A label change replaces the set and moves `updated_at`.
    async fn change_ticket(&self, ticket_id: i64, change: &TicketChange) -> StoreResult<Changed>;
    /// Marks the other party's public messages up to `up_to_seq` read, in the
    /// reader's numbering (a visitor's `public_seq`, an agent's `seq`); returns
    /// how many changed and the mark in both numberings.
    async fn mark_read(
        &self,
        ticket_id: i64,
        reader: SenderType,
        up_to_seq: i64,
    ) -> StoreResult<ReadUpTo>;

    /// Fails with `Conflict` when the email is taken.
    async fn create_agent(&self, agent: &NewAgent) -> StoreResult<Agent>;
    async fn agent_by_email(&self, email: &str) -> StoreResult<Option<AgentWithHash>>;
    async fn agent_by_id(&self, id: i64) -> StoreResult<Option<Agent>>;
    async fn list_agents(&self) -> StoreResult<Vec<Agent>>;
    async fn count_agents(&self) -> StoreResult<i64>;
    /// Applies `update`; moves the token generation on when it revokes tokens.
    async fn update_agent(&self, id: i64, update: &AgentUpdate) -> StoreResult<Agent>;
    /// The standing of each of `agent_ids` that exists, in one query (up to
    /// [`MAX_IDS_PER_QUERY`] ids; callers chunk): what a node's sweep of its
    /// agent sockets compares their tokens with.
    async fn agent_standings(&self, agent_ids: &[i64]) -> StoreResult<Vec<AgentStanding>>;

    /// The stored `last_seq` of each of `ticket_ids` that exists, in one query
    /// (up to [`MAX_IDS_PER_QUERY`] ids; callers chunk): what reconciliation
    /// compares with what a node has delivered.
    async fn last_seqs(&self, ticket_ids: &[i64]) -> StoreResult<Vec<(i64, i64)>>;
    /// Tickets whose `updated_at` lies in `(after, until]`, oldest change first, at
    /// most `limit`, as `(id, updated_at)`: what the dashboards' feed may have missed.
    async fn changed_tickets(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<(i64, DateTime<Utc>)>>;

    /// Records an open socket; returns the session row's id.
    async fn open_session(&self, session: &NewSession) -> StoreResult<i64>;
    /// Records open sockets in one statement per thousand; returns their
    /// session rows' ids in the order of `sessions`.
    async fn open_sessions(&self, sessions: &[NewSession]) -> StoreResult<Vec<i64>>;
    async fn end_session(&self, id: i64) -> StoreResult<()>;
    /// Writes this node's heartbeat row with the database's clock.
    async fn heartbeat(&self, node_id: &str) -> StoreResult<()>;
    /// Marks these sessions of a node active again, each with its side connected:
    /// after an outage another node may have taken the node for dead and ended them.
    async fn revive_sessions(&self, sessions: &[(i64, SenderType)]) -> StoreResult<u64>;
    /// Ends the active sessions of nodes whose heartbeat is older than `stale_after`
    /// by the database's clock (or that never wrote one).
    async fn end_stale_sessions(&self, stale_after: Duration) -> StoreResult<u64>;
    /// Deletes sessions that ended more than `retention` ago, and the heartbeat rows
    /// of nodes silent as long.
    async fn prune_sessions(&self, retention: Duration) -> StoreResult<u64>;
    /// Who is connected, counting the sessions of live nodes only ([`NODE_STALE_AFTER`]).
    async fn presence(&self, ticket_id: i64) -> StoreResult<Presence>;
    /// The presence of each of these tickets (at most [`MAX_IDS_PER_QUERY`]),
    /// read in one query; a ticket nobody is connected to is left out.
    async fn presences(&self, ticket_ids: &[i64]) -> StoreResult<Vec<(i64, Presence)>>;
    /// Agents with at least one active socket on a live node.
    async fn online_agent_ids(&self) -> StoreResult<Vec<i64>>;

    /// Records a dashboard socket (the agents' feed) of `agent_id` on `node_id`,
    /// which is activity too; returns its row id. The agent counts as connected
    /// while the node's heartbeat is fresh and the socket open (or closed within
    /// its grace). `NotFound` for an unknown agent.
    async fn open_agent_socket(&self, agent_id: i64, node_id: &str) -> StoreResult<i64>;
    /// Closes a dashboard socket: it keeps its agent connected `grace` longer, by
    /// the database's clock (a reload is not going offline).
    async fn close_agent_socket(&self, id: i64, grace: Duration) -> StoreResult<()>;
    /// Makes these dashboard sockets open again (a node writing its live sockets
    /// back after an outage, when closes may have been written meanwhile).
    async fn revive_agent_sockets(&self, ids: &[i64]) -> StoreResult<u64>;
    /// Stamps the agent's last activity with the database's clock (what the
    /// automatic away counts from).
    async fn record_activity(&self, agent_id: i64) -> StoreResult<()>;
    /// Stores the agent's chosen away (`true`) or online (`false`, which is
    /// activity too); returns the agent as it is now.
    async fn set_away(&self, agent_id: i64, away: bool) -> StoreResult<Agent>;
    /// The service's settings; defaults for what the row does not hold.
    async fn settings(&self) -> StoreResult<crate::domain::Settings>;
    /// Stores the whole settings document.
    async fn save_settings(&self, settings: &crate::domain::Settings) -> StoreResult<()>;
    /// One automatic assignment in one transaction: the waiting ticket that goes
    /// first (priority, then age, then id) to the `online`, enabled agent with the
    /// fewest open tickets below their `max_chats` (then least recently assigned,
    /// then lowest id), exactly as that agent's Join would (status `assigned`,
    /// the public note "Alice joined the chat"), moving the agent's
    /// `last_assigned_at`. The agent's row is locked and their open tickets
    /// counted again under the lock, the ticket's row locked (PostgreSQL: `FOR
    /// UPDATE SKIP LOCKED`; SQLite: its write lock), so racing nodes never give
    /// an agent more than `max_chats` nor a ticket two agents. `None`: nothing to
    /// assign (no waiting ticket, no agent with room, or the candidate filled up
    /// meanwhile: the caller tries again later). `Changed::assigned` names the agent.
    async fn assign_next(&self) -> StoreResult<Option<Changed>>;
    /// Returns to the queue (up to 100 per call) the tickets still `assigned`
    /// (their agent has not written publicly since getting them) whose agent is
    /// `offline`: status `open`, no agent, the agents-only note "Returned to the
    /// queue: Alice went offline". Each in its own transaction, checked again
    /// under the ticket's lock.
    async fn requeue_abandoned(&self) -> StoreResult<Vec<Changed>>;
    /// Gives a ticket that is not closed to agent `to` (id, name), asked by `by`:
    /// an `open` ticket becomes `assigned`; the agents-only note "Transferred
    /// from A to B by C" (or "Transferred to B by C") and the public "B joined the
    /// chat", in that order; `Changed::assigned` is `to`. To its current agent:
    /// no change, no note. `TicketClosed`, `NotFound` for an unknown ticket.
    async fn transfer_ticket(
        &self,
        ticket_id: i64,
        to: (i64, &str),
        by: (i64, &str),
    ) -> StoreResult<Changed>;
    /// The queue positions of those of `ticket_ids` that wait, the number of
    /// `online` agents and of waiting tickets, in one round of queries.
    async fn queue_snapshot(&self, ticket_ids: &[i64]) -> StoreResult<QueueSnapshot>;

    /// Canned responses, most used first, then by shortcut; with `text`, only those
    /// holding it (case-insensitive) in their shortcut, title or body.
    async fn list_canned(&self, text: Option<&str>) -> StoreResult<Vec<CannedResponse>>;
    /// Fails with `Conflict` when the shortcut is taken.
    async fn create_canned(&self, new: &NewCanned) -> StoreResult<CannedResponse>;
    /// `NotFound` for an unknown id, `Conflict` for a shortcut another one has.
    async fn update_canned(&self, id: i64, update: &CannedUpdate) -> StoreResult<CannedResponse>;
    async fn delete_canned(&self, id: i64) -> StoreResult<()>;
    /// Counts one insertion of the canned response into a reply.
    async fn record_canned_use(&self, id: i64) -> StoreResult<()>;
    /// Every label on at least one ticket (of any status), with how many tickets
    /// carry it: the most used first, then by name.
    async fn label_counts(&self) -> StoreResult<Vec<LabelCount>>;
    /// Stores a page the ticket's visitor is on, at `at`, with the locale and time
    /// zone the report carries (when it does), and prunes the ticket's pages to
    /// the newest `keep`, in one transaction. `NotFound` for an unknown ticket.
    /// The page the visitor is on already (the newest stored has the same URL and
    /// title: a reconnect's report again, a reload) stores no page: `false`.
    async fn record_page(
        &self,
        ticket_id: i64,
        page: &PageReport,
        at: DateTime<Utc>,
        keep: u32,
    ) -> StoreResult<bool>;
    /// Records the visitor's browser when its socket opens: the user agent (the
    /// newest wins), and the locale of its `Accept-Language`, kept only while the
    /// chat app has reported none.
    async fn record_visitor_browser(
        &self,
        ticket_id: i64,
        user_agent: Option<&str>,
        fallback_locale: Option<&str>,
    ) -> StoreResult<()>;
    /// The ticket's newest `limit` pages, newest first.
    async fn visitor_pages(&self, ticket_id: i64, limit: u32) -> StoreResult<Vec<VisitedPage>>;
    /// What the ticket's visitor's browser told; `NotFound` for an unknown ticket.
    async fn visitor_info(&self, ticket_id: i64) -> StoreResult<VisitorInfo>;
    /// Other tickets of the same verified `user_id`, or of the same `user_email`
    /// (case-insensitive), newest first, at most `limit`, as an agent sees them.
    async fn previous_tickets(
        &self,
        ticket_id: i64,
        user_id: Option<&str>,
        user_email: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Ticket>>;

    /// Stores the visitor's rating of a `resolved` or `closed` ticket that has
    /// none, moving `updated_at`; returns the ticket as agents see it. `None`:
    /// nothing stored (rated already, not resolved or closed, or no such ticket).
    async fn rate_ticket(
        &self,
        ticket_id: i64,
        score: i64,
        comment: Option<&str>,
    ) -> StoreResult<Option<Ticket>>;
    /// For the tickets opened since `since` (the newest `limit`) that an agent
    /// answered: when the visitor first wrote, and when an agent first answered
    /// in public after that (issue 18: "usually replies in").
    async fn first_replies(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<(DateTime<Utc>, DateTime<Utc>)>>;

    /// Registers an upload whose type is known, before its file is written to
    /// `storage_key`: a pending attachment of the ticket, which a message takes
    /// in `append_message` (its draft's `attachments`, by id, with the size).
    /// `NotFound` for an unknown ticket.
    async fn create_attachment(&self, new: &NewAttachment) -> StoreResult<i64>;
    /// An attachment by id, whatever its state; `NotFound` when there is none.
    async fn attachment(&self, id: i64) -> StoreResult<StoredAttachment>;
    /// Gives up a pending upload: no message can take it from here on (it is
    /// marked deleted). `false` when a message took it already (or it was given
    /// up before): then its file must stay.
    async fn abandon_attachment(&self, id: i64) -> StoreResult<bool>;
    /// Deletes the row of an upload no message took, once its file is gone.
    async fn forget_attachment(&self, id: i64) -> StoreResult<()>;
    /// Up to `limit` files to delete, oldest first: uploads no message took,
    /// registered before `orphaned_before`, and, when given, the messages'
    /// files registered before `retained_after` (the retention).
    async fn attachments_to_sweep(
        &self,
        orphaned_before: DateTime<Utc>,
        retained_after: Option<DateTime<Utc>>,
        limit: u32,
    ) -> StoreResult<Vec<SweepItem>>;
    /// Marks a file deleted by the retention (its message stays).
    async fn mark_attachment_deleted(&self, id: i64) -> StoreResult<()>;

    // Email (issue 18): the outbox, and the tickets' follow-up mark. The SQL
    // is in `email_sql.rs`.

    /// Writes an email to the outbox, due at once.
    async fn enqueue_email(&self, email: &NewEmail) -> StoreResult<OutboxEmail>;
    /// Claims up to `limit` due emails for `node_id` until `lease_until`, oldest
    /// due first, counting an attempt on each: pending, due at `now`, and not
    /// held by a lease still running. Racing nodes never claim one email both
    /// (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: its write lock).
    async fn claim_emails(
        &self,
        node_id: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<QueuedEmail>>;
    /// Marks an email sent (whoever held it).
    async fn email_sent(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()>;
    /// Records a failed attempt: pending again from `retry_at`, or `failed`
    /// for good when `None`; the lease ends.
    async fn email_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()>;
    /// The outbox, newest first.
    async fn outbox(&self, query: &OutboxQuery) -> StoreResult<Vec<OutboxEmail>>;
    /// How many emails are pending, and since when the oldest is.
    async fn outbox_backlog(&self) -> StoreResult<(i64, Option<DateTime<Utc>>)>;
    /// A ticket's emails of `kind` its visitor asked for since `since`.
    async fn count_visitor_emails(
        &self,
        ticket_id: i64,
        kind: EmailKind,
        since: DateTime<Utc>,
    ) -> StoreResult<i64>;
    /// Tickets (at most `limit`, updated after `active_after`, with a visitor
    /// email) holding a public agent message above their emailed mark, among
    /// their newest [`FOLLOW_UP_LOOKBACK`], that the visitor has not read,
    /// written at or before `quiet_since`, whose visitor
    /// has no socket on a live node and closed none after `quiet_since`: as
    /// `(ticket_id, emailed_seq)`.
    async fn follow_ups_due(
        &self,
        quiet_since: DateTime<Utc>,
        active_after: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<(i64, i64)>>;
    /// Moves the ticket's emailed mark from `from_seq` to `to_seq` and writes
    /// the follow-up, in one transaction; `None` (nothing written) when the
    /// mark is no longer `from_seq`: another node wrote this follow-up.
    async fn enqueue_follow_up(
        &self,
        ticket_id: i64,
        from_seq: i64,
        to_seq: i64,
        email: &NewEmail,
    ) -> StoreResult<Option<OutboxEmail>>;

    // Webhooks (issue 19): the receivers and the outbox of deliveries, whose
    // rows the writes of tickets and messages add in their own transactions.
    // The SQL is in `webhook_sql.rs`.

    /// Registers a webhook; `None` when `max` exist already.
    async fn create_webhook(&self, new: &NewWebhook, max: u32) -> StoreResult<Option<Webhook>>;
    /// Every webhook, oldest first.
    async fn webhooks(&self) -> StoreResult<Vec<Webhook>>;
    /// Removes a webhook and its deliveries; `false` for an unknown id.
    async fn delete_webhook(&self, id: i64) -> StoreResult<bool>;
    /// A webhook's deliveries, newest first.
    async fn deliveries(&self, query: &DeliveryQuery) -> StoreResult<Vec<Delivery>>;
    /// Claims up to `limit` due deliveries for `node_id` until `lease_until`,
    /// counting an attempt on each: pending, due at `now`, not held by a lease
    /// still running, and the oldest pending one of their webhook and ticket
    /// (so each ticket's events go in order).
    async fn claim_deliveries(
        &self,
        node_id: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>>;
    /// Records an attempt's outcome: delivered (`retry_at` unused), or pending
    /// again from `retry_at`, or `failed` for good when `retry_at` is `None`.
    async fn delivery_attempted(&self, id: i64, outcome: &DeliveryOutcome) -> StoreResult<()>;
    /// Deletes delivered and failed deliveries created before `before`.
    async fn prune_deliveries(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    /// One message by id, as agents see it (a delivery's body).
    async fn message_by_id(&self, id: i64) -> StoreResult<Message>;

    // Reports (issue 19).

    /// Up to `limit` tickets created in `[from, to)`, oldest first, after
    /// `after` (the last one of the previous page).
    async fn report_tickets(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<(DateTime<Utc>, i64)>,
        limit: u32,
    ) -> StoreResult<Vec<ReportTicket>>;
    /// How many tickets were first resolved (or closed) in `[from, to)`.
    async fn count_resolved(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<i64>;
}

/// An email to write to the outbox (see [`Store::enqueue_email`]).
#[derive(Debug, Clone)]
pub struct NewEmail {
    pub kind: EmailKind,
    pub ticket_id: Option<i64>,
    pub to: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    /// The `Message-ID` header, angle brackets included.
    pub message_id: String,
    /// The ticket's visitor asked for it.
    pub by_visitor: bool,
    pub created_at: DateTime<Utc>,
}

/// A claimed email, as the worker sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedEmail {
    pub id: i64,
    pub kind: EmailKind,
    pub ticket_id: Option<i64>,
    pub to: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub message_id: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
}

/// A webhook to register (see [`Store::create_webhook`]).
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<WebhookEvent>,
    pub secret: String,
    pub created_at: DateTime<Utc>,
}

/// A page of a webhook's delivery log.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryQuery {
    pub webhook_id: i64,
    pub limit: u32,
    /// Only deliveries with a smaller id.
    pub before: Option<i64>,
}

/// A claimed delivery, as the sender posts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub webhook_id: i64,
    pub url: String,
    pub secret: String,
    pub event_id: String,
    pub event: WebhookEvent,
    pub ticket_id: i64,
    /// A message's event: its body is rendered from the message.
    pub message_id: Option<i64>,
    /// Any other event: its `data`, as JSON.
    pub payload: Option<String>,
    /// Attempts so far, this one included.
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
}

/// What an attempt to deliver came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryOutcome {
    pub at: DateTime<Utc>,
    pub delivered: bool,
    /// The receiver's status; `None` when none came.
    pub status_code: Option<i64>,
    pub error: Option<String>,
    /// Not delivered: when to try again (`None`: never, it failed).
    pub retry_at: Option<DateTime<Utc>>,
}

/// A ticket's facts as the reports read them.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportTicket {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub status: TicketStatus,
    pub priority: Priority,
    pub subject: String,
    pub user_name: String,
    pub user_email: Option<String>,
    pub supporter_id: Option<i64>,
    pub supporter_name: Option<String>,
    pub labels: Vec<String>,
    pub first_visitor_at: Option<DateTime<Utc>>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub first_assigned_at: Option<DateTime<Utc>>,
    pub first_resolved_at: Option<DateTime<Utc>>,
    pub rating: Option<i64>,
}

/// A page of the outbox.
#[derive(Debug, Clone, Copy)]
pub struct OutboxQuery {
    pub status: Option<EmailStatus>,
    pub limit: u32,
    /// Only emails with a smaller id (the page after the one that ended there).
    pub before: Option<i64>,
}

/// An upload to register before its file is written (see [`Store::create_attachment`]).
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub ticket_id: i64,
    pub storage_key: String,
    pub filename: String,
    pub content_type: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub created_at: DateTime<Utc>,
}

/// An attachment as the download and the sweeps need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAttachment {
    pub id: i64,
    pub ticket_id: i64,
    /// `None` while the upload has not become a message.
    pub message_id: Option<i64>,
    pub storage_key: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    /// Its file was deleted by the retention.
    pub deleted: bool,
}

/// A file the sweep deletes, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepItem {
    pub id: i64,
    pub storage_key: String,
    pub reason: SweepReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepReason {
    /// An upload that never became a message.
    Orphan,
    /// A message's file older than the retention.
    Retention,
}

impl SweepReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SweepReason::Orphan => "orphan",
            SweepReason::Retention => "retention",
        }
    }
}

/// How a node uses its database (the `DATABASE_*` and `SQLITE_*` settings).
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Connections to the database. PostgreSQL: a quarter of them (1 to 4) is
    /// kept for the group commit of messages, the rest is the pool of everything
    /// else. SQLite: the pool of readers and of the other writes; the group
    /// commit has a connection of its own besides.
    pub pool_size: u32,
    /// PostgreSQL cancels a statement that runs longer (`None`: never).
    /// Migrations run without it.
    pub statement_timeout: Option<std::time::Duration>,
    /// SQLite: when a commit is on disk (see `sqlite.rs`).
    pub sqlite_synchronous: SqliteSync,
}

impl StoreOptions {
    /// The defaults with a pool of `pool_size` connections.
    pub fn with_pool_size(pool_size: u32) -> StoreOptions {
        StoreOptions {
            pool_size,
            statement_timeout: Some(DEFAULT_STATEMENT_TIMEOUT),
            sqlite_synchronous: SqliteSync::Full,
        }
    }
}

/// The default of `DATABASE_STATEMENT_TIMEOUT_SECONDS`.
pub const DEFAULT_STATEMENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// SQLite's `synchronous` setting in WAL mode (`SQLITE_SYNCHRONOUS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SqliteSync {
    /// Every commit is on disk before it is acknowledged (one `fsync` per
    /// group commit): an acknowledged message survives a power loss.
    Full,
    /// A commit is in the WAL file, on disk at the next checkpoint: it survives
    /// the process crashing, not a power loss or an OS crash.
    Normal,
}

/// Connects to the store the URL names and brings its schema up to date.
pub async fn connect(database_url: &str, pool_size: u32) -> StoreResult<Arc<dyn Store>> {
    connect_signing(
        database_url,
        &StoreOptions::with_pool_size(pool_size),
        None,
        Clock::default(),
    )
    .await
}

/// [`connect`], with `options`, and messages' files given download URLs signed
/// by `urls`.
pub async fn connect_signing(
    database_url: &str,
    options: &StoreOptions,
    urls: Option<crate::domain::attachment::AttachmentUrls>,
    clock: Clock,
) -> StoreResult<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if database_url.starts_with("sqlite:") {
        Arc::new(
            SqliteStore::connect(database_url, options)
                .await?
                .with_clock(clock),
        )
    } else {
        Arc::new(
            PostgresStore::connect(database_url, options)
                .await?
                .with_clock(clock),
        )
    };
    Ok(Arc::new(MeteredStore::new(store, urls)))
}

/// Runs pending migrations only (the `migrate` command).
pub async fn migrate(database_url: &str) -> StoreResult<()> {
    connect(database_url, 1).await.map(|_| ())
}

/// The store's clock for the times it writes: the system's, or a clock a test
/// sets and moves (issue 19: the reports' scripted scenario with known
/// timings). Cloning shares it.
#[derive(Clone, Default)]
pub struct Clock {
    manual: Option<Arc<std::sync::Mutex<DateTime<Utc>>>>,
}

impl Clock {
    /// A clock that stands at `start` until moved.
    pub fn manual(start: DateTime<Utc>) -> Clock {
        Clock {
            manual: Some(Arc::new(std::sync::Mutex::new(start.trunc_subsecs(6)))),
        }
    }

    /// Moves a manual clock on by `by` (a system clock ignores it).
    pub fn advance(&self, by: chrono::Duration) {
        if let Some(at) = &self.manual {
            let mut at = at.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            *at += by;
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.manual {
            Some(at) => *at.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
            None => now(),
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.manual.is_some() {
            "Clock(manual)"
        } else {
            "Clock(system)"
        })
    }
}

/// Timestamps are kept to the microsecond, the precision both backends store, so a
/// value reads back exactly as it was written.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
