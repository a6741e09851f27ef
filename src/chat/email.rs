//! Email (issue 18): follow-ups, transcripts, and the outbox's worker.
//!
//! Nothing is sent from a request. A transcript, or a follow-up found by the
//! periodic scan, is written to the outbox (`support_emails`) in the
//! transaction that decides it; each node's worker ([`run`]) claims due rows
//! with a lease, sends them over SMTP (`lettre`), and marks them sent, or
//! pending again after a backoff, or failed. Every attempt of an email carries
//! the `Message-ID` chosen when it was written, so a resend after a node died
//! mid-send is the same message to the receiving system.

use super::Chat;
use crate::domain::email::{
    self, Conversation, EmailContent, EmailKind, OutboxEmail, new_message_id,
};
use crate::domain::signed::{SignedIds, TokenError};
use crate::domain::validation;
use crate::domain::{Message, SenderType, Ticket, Visibility};
use crate::error::ApiError;
use crate::metrics::metrics;
use crate::store::{MessageRange, NewEmail, QueuedEmail, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Transcripts a visitor may ask for, per ticket and hour.
pub const VISITOR_TRANSCRIPTS_PER_HOUR: i64 = 3;
/// Only conversations active this recently get follow-ups.
const FOLLOW_UP_WINDOW: chrono::Duration = chrono::Duration::days(7);
/// Tickets one scan writes follow-ups for, at most (the next scan goes on).
const FOLLOW_UPS_PER_SCAN: u32 = 100;
/// Emails one claim takes.
const CLAIM_BATCH: u32 = 10;
/// The most messages an email holds (a transcript of a longer conversation
/// says where it stops).
const MAX_EMAIL_MESSAGES: usize = 2000;

/// How the worker paces itself (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct MailTiming {
    pub poll: Duration,
    pub retry_base: Duration,
    pub max_attempts: u32,
    pub lease: Duration,
}

/// Where email goes, and what it links to.
pub struct Mail {
    /// `None` without `SMTP_URL`: emails wait in the outbox.
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    /// The domain of `from`: Message-IDs and threads are named under it.
    domain: String,
    timing: MailTiming,
    resume: SignedIds,
    /// The service's origin, for links.
    origin: String,
    /// Rings the worker when this node queued an email.
    wake: Notify,
}

/// The chat page's path; `?resume=TOKEN` opens a conversation from an email.
pub const CHAT_PAGE_PATH: &str = "/support/chat";

impl Mail {
    /// `smtp_url` as `SMTP_URL` describes it; `from` an address or `Name <address>`.
    /// `smtp_ca`: PEM certificates of authorities to trust besides the public ones.
    pub fn new(
        smtp_url: Option<&str>,
        smtp_ca: Option<&[u8]>,
        from: &str,
        origin: String,
        token_secret: &[u8],
        resume_ttl_seconds: i64,
        timing: MailTiming,
    ) -> Result<Mail, String> {
        let from: Mailbox = from.parse().map_err(|_| {
            format!("MAIL_FROM must be an address or Name <address> (got {from:?})")
        })?;
        if timing.lease < Duration::from_secs(2) {
            return Err("EMAIL_LEASE_SECONDS must be at least 2".into());
        }
        if timing.max_attempts == 0 {
            return Err("EMAIL_MAX_ATTEMPTS must be at least 1".into());
        }
        let transport = smtp_url
            .map(|url| smtp_transport(url, smtp_ca, timing.lease / 2))
            .transpose()?;
        Ok(Mail {
            transport,
            domain: from.email.domain().to_owned(),
            from,
            timing: MailTiming {
                poll: timing.poll.max(Duration::from_millis(100)),
                ..timing
            },
            resume: SignedIds::new(
                token_secret,
                "livesupport resume links v1",
                resume_ttl_seconds,
            ),
            origin,
            wake: Notify::new(),
        })
    }

    pub fn smtp_configured(&self) -> bool {
        self.transport.is_some()
    }

    /// The link that opens the ticket's conversation in the chat page.
    pub fn resume_link(&self, ticket_id: i64, now: DateTime<Utc>) -> String {
        format!(
            "{}{CHAT_PAGE_PATH}?resume={}",
            self.origin,
            self.resume.issue(ticket_id, now.timestamp())
        )
    }

    /// Sends one email; `Err` says why and whether retrying can help.
    async fn send(&self, email: &QueuedEmail) -> Result<(), SendError> {
        let Some(transport) = &self.transport else {
            return Err(SendError::temporary("no SMTP_URL is configured"));
        };
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|_| SendError::permanent("the recipient is not a valid address"))?;
        let mut message = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .message_id(Some(email.message_id.clone()));
        if let Some(ticket_id) = email.ticket_id {
            message = message.references(email::thread_id(ticket_id, &self.domain));
        }
        let message = message
            .multipart(MultiPart::alternative_plain_html(
                email.body_text.clone(),
                email.body_html.clone(),
            ))
            .map_err(|err| SendError::permanent(format!("the email cannot be built: {err}")))?;
        transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|err| SendError {
                permanent: err.is_permanent(),
                reason: err.to_string(),
            })
    }

    /// When attempt `attempts` (1 = the first) failed: the next one, or `None`
    /// when it was the last.
    fn retry_at(&self, attempts: i64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if attempts >= i64::from(self.timing.max_attempts) {
            return None;
        }
        Some(now + super::outbox::retry_delay(self.timing.retry_base, attempts))
    }
}

#[derive(Debug)]
struct SendError {
    permanent: bool,
    reason: String,
}

impl SendError {
    fn temporary(reason: impl Into<String>) -> Self {
        SendError {
            permanent: false,
            reason: reason.into(),
        }
    }

    fn permanent(reason: impl Into<String>) -> Self {
        SendError {
            permanent: true,
            reason: reason.into(),
        }
    }
}

/// The transport `SMTP_URL` names: `smtp://` tries STARTTLS when the server
/// offers it (`?tls=required` insists, `?tls=none` never tries), `smtps://`
/// speaks TLS from the first byte; credentials from the URL's user part.
fn smtp_transport(
    url: &str,
    ca: Option<&[u8]>,
    timeout: Duration,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let bad =
        |why: &str| format!("SMTP_URL {why}: use smtp://[user:pass@]host[:port] or smtps://…");
    let url = url::Url::parse(url.trim()).map_err(|_| bad("is not a URL"))?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("has no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let tls_choice = url
        .query_pairs()
        .find(|(key, _)| key == "tls")
        .map(|(_, value)| value.into_owned());
    let mut tls_params = TlsParameters::builder(host.clone());
    if let Some(pem) = ca {
        let roots = Certificate::from_pem(pem).map_err(|err| format!("SMTP_CA_FILE: {err}"))?;
        tls_params = tls_params.add_root_certificate(roots);
    }
    let params = tls_params
        .build()
        .map_err(|err| format!("SMTP_URL: TLS for {host}: {err}"))?;
    let (tls, default_port) = match (url.scheme(), tls_choice.as_deref()) {
        ("smtps", None) => (Tls::Wrapper(params), 465),
        ("smtp", None | Some("opportunistic")) => (Tls::Opportunistic(params), 25),
        ("smtp", Some("required")) => (Tls::Required(params), 25),
        ("smtp", Some("none")) => (Tls::None, 25),
        ("smtp", Some(_)) => {
            return Err(bad("has a tls= other than required, opportunistic or none"));
        }
        ("smtps", Some(_)) => return Err(bad("smtps:// takes no tls=")),
        _ => return Err(bad("has another scheme")),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(url.port().unwrap_or(default_port))
        .tls(tls)
        .timeout(Some(timeout));
    if !url.username().is_empty() {
        let decode = |part: &str| {
            percent_decode(part)
                .ok_or_else(|| bad("has a user or password that is not valid UTF-8"))
        };
        builder = builder.credentials(Credentials::new(
            decode(url.username())?,
            decode(url.password().unwrap_or_default())?,
        ));
    }
    Ok(builder.build())
}

fn percent_decode(part: &str) -> Option<String> {
    url::form_urlencoded::parse(format!("x={}", part.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
}

impl Chat {
    /// Queues the conversation's whole public history to `to` (or the
    /// ticket's visitor email). A visitor may ask [`VISITOR_TRANSCRIPTS_PER_HOUR`]
    /// times an hour per ticket.
    pub async fn email_transcript(
        &self,
        ticket: &Ticket,
        to: Option<&str>,
        by_visitor: bool,
    ) -> Result<OutboxEmail, ApiError> {
        let to = validation::optional_email("email", to, &self.limits)?
            .or_else(|| ticket.user_email.clone())
            .ok_or_else(|| {
                ApiError::validation(
                    "email",
                    "email is required: the conversation has no visitor email",
                )
            })?;
        let now = crate::store::now();
        if by_visitor {
            let hour_ago = now - chrono::Duration::hours(1);
            let asked = self
                .store
                .count_visitor_emails(ticket.id, EmailKind::Transcript, hour_ago)
                .await?;
            if asked >= VISITOR_TRANSCRIPTS_PER_HOUR {
                metrics()
                    .rate_limited
                    .with_label_values(&["transcript"])
                    .inc();
                return Err(ApiError::RateLimited {
                    retry_after: Duration::from_secs(3600),
                });
            }
        }
        let mut messages = Vec::new();
        let mut after = 0;
        loop {
            let slice = self
                .store
                .public_messages(
                    ticket.id,
                    MessageRange {
                        after_seq: after,
                        before_seq: None,
                        limit: 500,
                    },
                )
                .await?;
            after = slice.messages.last().map_or(after, |m| m.seq);
            messages.extend(slice.messages.iter().filter_map(Message::for_visitor));
            if !slice.has_more || slice.messages.is_empty() || messages.len() >= MAX_EMAIL_MESSAGES
            {
                break;
            }
        }
        messages.truncate(MAX_EMAIL_MESSAGES);
        let content = self
            .write_email(ticket, &messages, now, email::transcript)
            .await?;
        let email = NewEmail {
            by_visitor,
            ..self.new_email(EmailKind::Transcript, ticket.id, to, content, now)
        };
        let queued = self.store.enqueue_email(&email).await?;
        self.queued(EmailKind::Transcript);
        Ok(queued)
    }

    /// Writes the follow-ups due at `now` (see docs/API.md, "Follow-ups");
    /// returns how many this node wrote. Every node scans; a ticket's
    /// emailed mark decides which one writes each follow-up.
    pub async fn write_follow_ups(&self, now: DateTime<Utc>) -> StoreResult<usize> {
        let minutes = self.routing.settings().email_after_minutes;
        let quiet_since = now - chrono::Duration::minutes(minutes);
        let due = self
            .store
            .follow_ups_due(quiet_since, now - FOLLOW_UP_WINDOW, FOLLOW_UPS_PER_SCAN)
            .await?;
        let mut written = 0;
        for (ticket_id, emailed_seq) in due {
            match self.write_follow_up(ticket_id, emailed_seq, now).await {
                Ok(true) => written += 1,
                Ok(false) => {}
                Err(err) => {
                    tracing::warn!(ticket_id, cause = %err, "follow-up not written; tried again next scan")
                }
            }
        }
        Ok(written)
    }

    async fn write_follow_up(
        &self,
        ticket_id: i64,
        emailed_seq: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, ApiError> {
        let ticket = self.store.ticket_by_id(ticket_id, SenderType::User).await?;
        let Some(to) = ticket.user_email.clone() else {
            return Ok(false);
        };
        let mut replies = Vec::new();
        let mut after = emailed_seq;
        loop {
            let slice = self
                .store
                .messages(
                    ticket_id,
                    MessageRange {
                        after_seq: after,
                        before_seq: None,
                        limit: 500,
                    },
                )
                .await?;
            after = slice.messages.last().map_or(after, |m| m.seq);
            replies.extend(slice.messages.into_iter().filter(|m| {
                m.sender_type == SenderType::Supporter
                    && m.visibility == Visibility::Public
                    && !m.is_read
            }));
            if !slice.has_more || replies.len() >= MAX_EMAIL_MESSAGES {
                break;
            }
        }
        replies.truncate(MAX_EMAIL_MESSAGES);
        // Read meanwhile: nothing to write (the next scan finds nothing either).
        let Some(up_to) = replies.last().map(|m| m.seq) else {
            return Ok(false);
        };
        let visible: Vec<Message> = replies.iter().filter_map(Message::for_visitor).collect();
        let content = self
            .write_email(&ticket, &visible, now, email::follow_up)
            .await?;
        let new = self.new_email(EmailKind::FollowUp, ticket_id, to, content, now);
        let written = self
            .store
            .enqueue_follow_up(ticket_id, emailed_seq, up_to, &new)
            .await?
            .is_some();
        if written {
            self.queued(EmailKind::FollowUp);
        }
        Ok(written)
    }

    /// The ticket a resume link's token names, with its session id.
    pub async fn resume_from_link(&self, token: &str) -> Result<Ticket, ApiError> {
        let ticket_id = match self
            .mail
            .resume
            .verify(token.trim(), Utc::now().timestamp())
        {
            Ok(id) => id,
            Err(TokenError::Invalid) => return Err(ApiError::NotFound("link")),
            Err(TokenError::Expired) => return Err(ApiError::Forbidden("this link has expired")),
        };
        match self.store.ticket_by_id(ticket_id, SenderType::User).await {
            Err(StoreError::NotFound) => Err(ApiError::NotFound("link")),
            other => Ok(other?),
        }
    }

    /// The email's text, in the visitor's time zone when known, else the desk's.
    async fn write_email(
        &self,
        ticket: &Ticket,
        messages: &[Message],
        now: DateTime<Utc>,
        render: fn(&Conversation<'_>) -> EmailContent,
    ) -> Result<EmailContent, ApiError> {
        let visitor_zone = match self.store.visitor_info(ticket.id).await {
            Ok(info) => info.timezone,
            Err(StoreError::NotFound) => None,
            Err(err) => return Err(err.into()),
        };
        let desk_zone = self.routing.settings().business_hours.map(|h| h.timezone);
        let timezone = [visitor_zone, desk_zone]
            .into_iter()
            .flatten()
            .find_map(|zone| zone.parse::<Tz>().ok())
            .unwrap_or(Tz::UTC);
        let link = self.mail.resume_link(ticket.id, now);
        Ok(render(&Conversation {
            ticket,
            messages,
            timezone,
            origin: &self.mail.origin,
            link: &link,
        }))
    }

    fn new_email(
        &self,
        kind: EmailKind,
        ticket_id: i64,
        to: String,
        content: EmailContent,
        now: DateTime<Utc>,
    ) -> NewEmail {
        NewEmail {
            kind,
            ticket_id: Some(ticket_id),
            to,
            subject: content.subject,
            body_text: content.text,
            body_html: content.html,
            message_id: new_message_id(kind, Some(ticket_id), &self.mail.domain),
            by_visitor: false,
            created_at: now,
        }
    }

    fn queued(&self, kind: EmailKind) {
        metrics()
            .emails_queued
            .with_label_values(&[kind.as_str()])
            .inc();
        self.mail.wake.notify_one();
    }

    /// Sends what is due until nothing is; returns how many were sent.
    pub async fn send_due_emails(&self) -> StoreResult<usize> {
        if !self.mail.smtp_configured() {
            return Ok(0);
        }
        let mut sent = 0;
        loop {
            let now = crate::store::now();
            let lease_until =
                now + chrono::Duration::from_std(self.mail.timing.lease).unwrap_or_default();
            let claimed = self
                .store
                .claim_emails(&self.node_id, now, lease_until, CLAIM_BATCH)
                .await?;
            if claimed.is_empty() {
                return Ok(sent);
            }
            for email in &claimed {
                sent += usize::from(self.send_one(email).await?);
            }
        }
    }

    async fn send_one(&self, email: &QueuedEmail) -> StoreResult<bool> {
        let kind = email.kind.as_str();
        match self.mail.send(email).await {
            Ok(()) => {
                self.store.email_sent(email.id, crate::store::now()).await?;
                metrics().emails_sent.with_label_values(&[kind]).inc();
                tracing::info!(
                    email_id = email.id,
                    kind,
                    attempts = email.attempts,
                    "email sent"
                );
                Ok(true)
            }
            Err(err) => {
                let retry_at = if err.permanent {
                    None
                } else {
                    self.mail.retry_at(email.attempts, crate::store::now())
                };
                self.store
                    .email_failed(email.id, &err.reason, retry_at)
                    .await?;
                let given_up = retry_at.is_none();
                metrics()
                    .email_failures
                    .with_label_values(&[kind, if given_up { "true" } else { "false" }])
                    .inc();
                tracing::warn!(
                    email_id = email.id,
                    kind,
                    attempts = email.attempts,
                    given_up,
                    cause = %err.reason,
                    "email not sent"
                );
                Ok(false)
            }
        }
    }

    /// Whether this node can send (it has an `SMTP_URL`).
    pub fn smtp_configured(&self) -> bool {
        self.mail.smtp_configured()
    }
}

/// The node's mail worker: every `EMAIL_POLL_SECONDS`, or at once when this
/// node queued an email, it writes the follow-ups due, sends what is due, and
/// reads the outbox's backlog into the gauges.
pub async fn run(chat: Chat, stop: CancellationToken) {
    if !chat.mail.smtp_configured() {
        tracing::warn!(
            "SMTP_URL is not set: emails (follow-ups, transcripts) wait in the outbox, unsent"
        );
    }
    let mut tick = tokio::time::interval(chat.mail.timing.poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let woken = tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => false,
            _ = chat.mail.wake.notified() => true,
        };
        if !woken && let Err(err) = chat.write_follow_ups(crate::store::now()).await {
            tracing::warn!(cause = %err, "follow-up scan failed; retried next round");
        }
        let sending = chat.send_due_emails();
        tokio::select! {
            _ = stop.cancelled() => return,
            sent = sending => if let Err(err) = sent {
                tracing::warn!(cause = %err, "sending emails failed; retried next round");
            },
        }
        if let Ok((pending, oldest)) = chat.store.outbox_backlog().await {
            let m = metrics();
            m.emails_pending.set(pending);
            let age = oldest.map_or(0, |at| (Utc::now() - at).num_seconds().max(0));
            m.email_oldest_pending.set(age);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing() -> MailTiming {
        MailTiming {
            poll: Duration::from_secs(10),
            retry_base: Duration::from_secs(30),
            max_attempts: 12,
            lease: Duration::from_secs(120),
        }
    }

    fn mail(smtp: Option<&str>) -> Result<Mail, String> {
        Mail::new(
            smtp,
            None,
            "Shop <help@shop.example>",
            "https://support.shop.example".into(),
            b"secret",
            3600,
            timing(),
        )
    }

    // The pooled transport starts its pool's task on the runtime.
    #[tokio::test]
    async fn smtp_urls_are_checked_at_start() {
        assert!(mail(None).is_ok_and(|m| !m.smtp_configured()));
        assert!(mail(Some("smtp://mail.example:2525")).is_ok_and(|m| m.smtp_configured()));
        assert!(mail(Some("smtps://user:p%40ss@mail.example")).is_ok());
        assert!(mail(Some("smtp://mail.example?tls=required")).is_ok());
        assert!(mail(Some("smtp://mail.example?tls=none")).is_ok());
        for bad in [
            "http://mail.example",
            "smtp://",
            "smtp://mail.example?tls=maybe",
            "not a url",
        ] {
            let err = mail(Some(bad))
                .err()
                .unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(err.starts_with("SMTP_URL"), "{err}");
        }
        let err = Mail::new(
            None,
            None,
            "not an address",
            "https://x".into(),
            b"s",
            60,
            timing(),
        )
        .err();
        assert!(err.is_some_and(|e| e.starts_with("MAIL_FROM")));
        assert_eq!(percent_decode("p%40ss+word").as_deref(), Some("p@ss+word"));
    }

    #[test]
    fn retries_double_up_to_an_hour_and_stop_after_the_last_attempt() {
        let mail = mail(None).unwrap();
        let now = Utc::now();
        let delay = |attempts| {
            mail.retry_at(attempts, now)
                .map(|at| (at - now).num_seconds())
        };
        assert_eq!(delay(1), Some(30));
        assert_eq!(delay(2), Some(60));
        assert_eq!(delay(3), Some(120));
        assert_eq!(delay(8), Some(3600));
        assert_eq!(delay(11), Some(3600));
        assert_eq!(delay(12), None);
    }

    #[test]
    fn resume_links_carry_a_token_never_the_session() {
        let mail = mail(None).unwrap();
        let link = mail.resume_link(45, Utc::now());
        let token = link
            .strip_prefix("https://support.shop.example/support/chat?resume=")
            .expect("the chat page's link");
        assert_eq!(mail.resume.verify(token, Utc::now().timestamp()), Ok(45));
        assert_eq!(mail.domain, "shop.example");
    }
}
