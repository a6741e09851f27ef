//! The store as the rest of the service sees it. It times every call of the
//! store it wraps into `livesupport_store_operation_duration_seconds{operation}`,
//! and bounds it by [`STORE_CALL_TIMEOUT`]: a database that stops answering (a
//! network that drops packets, a failover in progress) fails calls instead of
//! hanging them. And it gives every file of every message it returns a download
//! URL signed at that moment (issue 17): history, resume, refills and live
//! messages alike, so no reader of messages can forget to.

use super::*;
use crate::domain::attachment::AttachmentUrls;
use crate::metrics::{metrics, timed};

pub struct MeteredStore {
    inner: Arc<dyn Store>,
    urls: Option<AttachmentUrls>,
}

impl MeteredStore {
    /// `urls`: how download URLs are signed; `None` leaves them out (tools that
    /// serve no files: `migrate`, tests of the store).
    pub fn new(inner: Arc<dyn Store>, urls: Option<AttachmentUrls>) -> Self {
        MeteredStore { inner, urls }
    }

    fn sign(&self, messages: &mut [Message]) {
        if let Some(urls) = &self.urls
            && messages.iter().any(|m| !m.attachments.is_empty())
        {
            urls.sign(messages, Utc::now().timestamp());
        }
    }

    fn sign_slice(&self, mut slice: MessageSlice) -> MessageSlice {
        self.sign(&mut slice.messages);
        slice
    }

    fn sign_all(&self, mut messages: Vec<Message>) -> Vec<Message> {
        self.sign(&mut messages);
        messages
    }

    fn sign_one(&self, mut message: Message) -> Message {
        self.sign(std::slice::from_mut(&mut message));
        message
    }

    fn sign_appended(&self, mut appended: Appended) -> Appended {
        self.sign(std::slice::from_mut(&mut appended.message));
        appended
    }
}

/// Writes the delegating methods: each is timed under its own name; those
/// marked `=> f` pass their answer through `self.f`.
macro_rules! metered {
    ($(fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty $(=> $post:ident)?;)*) => {
        #[async_trait]
        impl Store for MeteredStore {
            fn now(&self) -> DateTime<Utc> {
                self.inner.now()
            }

            $(
                async fn $name(&self, $($arg: $ty),*) -> $ret {
                    let call = timed(&metrics().store_duration, stringify!($name), self.inner.$name($($arg),*));
                    match tokio::time::timeout(STORE_CALL_TIMEOUT, call).await {
                        Ok(answer) => answer$(.map(|value| self.$post(value)))?,
                        Err(_) => {
                            metrics().store_timeouts.with_label_values(&[stringify!($name)]).inc();
                            Err(StoreError::Timeout)
                        }
                    }
                }
            )*
        }
    };
}

metered! {
    fn ping() -> StoreResult<()>;
    fn create_ticket(new: &NewTicket) -> StoreResult<(Ticket, Option<Message>)>;
    fn ticket_by_session(session_id: &str, viewer: SenderType) -> StoreResult<Ticket>;
    fn ticket_by_id(id: i64, viewer: SenderType) -> StoreResult<Ticket>;
    fn tickets_by_sessions(session_ids: &[String], viewer: SenderType) -> StoreResult<Vec<Ticket>>;
    fn tickets_by_ids(ids: &[i64], viewer: SenderType) -> StoreResult<Vec<Ticket>>;
    fn ticket_summaries(ids: &[i64]) -> StoreResult<Vec<TicketSummary>>;
    fn tickets_of_user(user_id: &str, limit: u32) -> StoreResult<Vec<Ticket>>;
    fn list_tickets(query: &TicketQuery) -> StoreResult<TicketPage>;
    fn ticket_counts_by_status(statuses: &[TicketStatus]) -> StoreResult<Vec<(TicketStatus, i64)>>;
    fn messages(ticket_id: i64, range: MessageRange) -> StoreResult<MessageSlice> => sign_slice;
    fn public_messages(ticket_id: i64, range: MessageRange) -> StoreResult<MessageSlice> => sign_slice;
    fn seq_of_public(ticket_id: i64, public_seq: i64) -> StoreResult<i64>;
    fn seqs_of_public(places: &[(i64, i64)]) -> StoreResult<Vec<(i64, i64, i64)>>;
    fn messages_in_ranges(ranges: &[(i64, i64, i64)]) -> StoreResult<Vec<Message>> => sign_all;
    fn append_message(ticket_id: i64, draft: &MessageDraft) -> StoreResult<Appended> => sign_appended;
    fn change_ticket(ticket_id: i64, change: &TicketChange) -> StoreResult<Changed>;
    fn mark_read(ticket_id: i64, reader: SenderType, up_to_seq: i64) -> StoreResult<ReadUpTo>;
    fn create_agent(agent: &NewAgent) -> StoreResult<Agent>;
    fn agent_by_email(email: &str) -> StoreResult<Option<AgentWithHash>>;
    fn agent_by_id(id: i64) -> StoreResult<Option<Agent>>;
    fn list_agents() -> StoreResult<Vec<Agent>>;
    fn count_agents() -> StoreResult<i64>;
    fn update_agent(id: i64, update: &AgentUpdate) -> StoreResult<Agent>;
    fn agent_standings(agent_ids: &[i64]) -> StoreResult<Vec<AgentStanding>>;
    fn last_seqs(ticket_ids: &[i64]) -> StoreResult<Vec<(i64, i64)>>;
    fn changed_tickets(after: DateTime<Utc>, until: DateTime<Utc>, limit: u32) -> StoreResult<Vec<(i64, DateTime<Utc>)>>;
    fn open_session(session: &NewSession) -> StoreResult<i64>;
    fn open_sessions(sessions: &[NewSession]) -> StoreResult<Vec<i64>>;
    fn end_session(id: i64) -> StoreResult<()>;
    fn heartbeat(node_id: &str) -> StoreResult<()>;
    fn revive_sessions(sessions: &[(i64, SenderType)]) -> StoreResult<u64>;
    fn end_stale_sessions(stale_after: Duration) -> StoreResult<u64>;
    fn prune_sessions(retention: Duration) -> StoreResult<u64>;
    fn presence(ticket_id: i64) -> StoreResult<Presence>;
    fn presences(ticket_ids: &[i64]) -> StoreResult<Vec<(i64, Presence)>>;
    fn online_agent_ids() -> StoreResult<Vec<i64>>;
    fn open_agent_socket(agent_id: i64, node_id: &str) -> StoreResult<i64>;
    fn close_agent_socket(id: i64, grace: Duration) -> StoreResult<()>;
    fn revive_agent_sockets(ids: &[i64]) -> StoreResult<u64>;
    fn record_activity(agent_id: i64) -> StoreResult<()>;
    fn set_away(agent_id: i64, away: bool) -> StoreResult<Agent>;
    fn settings() -> StoreResult<crate::domain::Settings>;
    fn save_settings(settings: &crate::domain::Settings) -> StoreResult<()>;
    fn assign_next() -> StoreResult<Option<Changed>>;
    fn requeue_abandoned() -> StoreResult<Vec<Changed>>;
    fn transfer_ticket(ticket_id: i64, to: (i64, &str), by: (i64, &str)) -> StoreResult<Changed>;
    fn queue_snapshot(ticket_ids: &[i64]) -> StoreResult<QueueSnapshot>;
    fn list_canned(text: Option<&str>) -> StoreResult<Vec<CannedResponse>>;
    fn create_canned(new: &NewCanned) -> StoreResult<CannedResponse>;
    fn update_canned(id: i64, update: &CannedUpdate) -> StoreResult<CannedResponse>;
    fn delete_canned(id: i64) -> StoreResult<()>;
    fn record_canned_use(id: i64) -> StoreResult<()>;
    fn label_counts() -> StoreResult<Vec<LabelCount>>;
    fn record_page(ticket_id: i64, page: &PageReport, at: DateTime<Utc>, keep: u32) -> StoreResult<bool>;
    fn record_visitor_browser(ticket_id: i64, user_agent: Option<&str>, fallback_locale: Option<&str>) -> StoreResult<()>;
    fn visitor_pages(ticket_id: i64, limit: u32) -> StoreResult<Vec<VisitedPage>>;
    fn visitor_info(ticket_id: i64) -> StoreResult<VisitorInfo>;
    fn previous_tickets(ticket_id: i64, user_id: Option<&str>, user_email: Option<&str>, limit: u32) -> StoreResult<Vec<Ticket>>;
    fn rate_ticket(ticket_id: i64, score: i64, comment: Option<&str>) -> StoreResult<Option<Ticket>>;
    fn first_replies(since: DateTime<Utc>, limit: u32) -> StoreResult<Vec<(DateTime<Utc>, DateTime<Utc>)>>;
    fn create_attachment(new: &NewAttachment) -> StoreResult<i64>;
    fn attachment(id: i64) -> StoreResult<StoredAttachment>;
    fn abandon_attachment(id: i64) -> StoreResult<bool>;
    fn forget_attachment(id: i64) -> StoreResult<()>;
    fn attachments_to_sweep(orphaned_before: DateTime<Utc>, retained_after: Option<DateTime<Utc>>, limit: u32) -> StoreResult<Vec<SweepItem>>;
    fn mark_attachment_deleted(id: i64) -> StoreResult<()>;
    fn enqueue_email(email: &NewEmail) -> StoreResult<OutboxEmail>;
    fn create_webhook(new: &NewWebhook, max: u32) -> StoreResult<Option<Webhook>>;
    fn webhooks() -> StoreResult<Vec<Webhook>>;
    fn delete_webhook(id: i64) -> StoreResult<bool>;
    fn deliveries(query: &DeliveryQuery) -> StoreResult<Vec<Delivery>>;
    fn claim_deliveries(node_id: &str, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: u32) -> StoreResult<Vec<ClaimedDelivery>>;
    fn delivery_attempted(id: i64, outcome: &DeliveryOutcome) -> StoreResult<()>;
    fn prune_deliveries(before: DateTime<Utc>) -> StoreResult<u64>;
    fn message_by_id(id: i64) -> StoreResult<Message> => sign_one;
    fn report_tickets(from: DateTime<Utc>, to: DateTime<Utc>, after: Option<(DateTime<Utc>, i64)>, limit: u32) -> StoreResult<Vec<ReportTicket>>;
    fn count_resolved(from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<i64>;
    fn claim_emails(node_id: &str, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: u32) -> StoreResult<Vec<QueuedEmail>>;
    fn email_sent(id: i64, at: DateTime<Utc>) -> StoreResult<()>;
    fn email_failed(id: i64, error: &str, retry_at: Option<DateTime<Utc>>) -> StoreResult<()>;
    fn outbox(query: &OutboxQuery) -> StoreResult<Vec<OutboxEmail>>;
    fn outbox_backlog() -> StoreResult<(i64, Option<DateTime<Utc>>)>;
    fn count_visitor_emails(ticket_id: i64, kind: EmailKind, since: DateTime<Utc>) -> StoreResult<i64>;
    fn follow_ups_due(quiet_since: DateTime<Utc>, active_after: DateTime<Utc>, limit: u32) -> StoreResult<Vec<(i64, i64)>>;
    fn enqueue_follow_up(ticket_id: i64, from_seq: i64, to_seq: i64, email: &NewEmail) -> StoreResult<Option<OutboxEmail>>;
}
