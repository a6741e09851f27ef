//! Email (issue 18): the outbox's rows as admins see them, and what a
//! follow-up or a transcript says. No I/O here: the store keeps the outbox,
//! `chat::email` decides what to send and sends it.

use super::{Message, SenderType, Ticket};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use std::fmt::Write;

/// Why an email was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    /// Agents' replies the visitor has not seen (see `chat::email`).
    FollowUp,
    /// A conversation's whole public history, asked for by its visitor or an agent.
    Transcript,
}

impl EmailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::FollowUp => "follow_up",
            EmailKind::Transcript => "transcript",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "follow_up" => Some(EmailKind::FollowUp),
            "transcript" => Some(EmailKind::Transcript),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmailStatus {
    /// Waiting for its next attempt, or being sent.
    Pending,
    Sent,
    /// Given up: a permanent refusal, or out of attempts (see `last_error`).
    Failed,
}

impl EmailStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailStatus::Pending => "pending",
            EmailStatus::Sent => "sent",
            EmailStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(EmailStatus::Pending),
            "sent" => Some(EmailStatus::Sent),
            "failed" => Some(EmailStatus::Failed),
            _ => None,
        }
    }
}

/// An outbox row as `GET /api/support/outbox` shows it (no bodies).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OutboxEmail {
    pub id: i64,
    pub kind: EmailKind,
    pub ticket_id: Option<i64>,
    pub to: String,
    pub subject: String,
    pub status: EmailStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// When a pending email is tried next; `None` once sent or failed.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// What an email says: its subject and its two bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailContent {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A conversation to write an email about.
pub struct Conversation<'a> {
    pub ticket: &'a Ticket,
    /// Public messages, oldest first (private notes are never given here).
    pub messages: &'a [Message],
    /// The reader's time zone, for the messages' times.
    pub timezone: Tz,
    /// The service's origin, for the files' links (`https://support.example.com`).
    pub origin: &'a str,
    /// The link back into the conversation.
    pub link: &'a str,
}

/// The email about agents' replies the visitor has not seen.
pub fn follow_up(conversation: &Conversation<'_>) -> EmailContent {
    let replies = conversation.messages;
    let mut agents: Vec<&str> = replies.iter().map(sender_label_of_agent).collect();
    agents.dedup();
    let subject_line = one_line(&conversation.ticket.subject);
    let (subject, intro) = match (replies.len(), agents.as_slice()) {
        (1, [agent]) => (
            format!("New reply: {subject_line}"),
            format!("{agent} replied to your conversation “{subject_line}”:"),
        ),
        (n, [agent]) => (
            format!("{n} new replies: {subject_line}"),
            format!("{agent} replied to your conversation “{subject_line}”:"),
        ),
        (n, _) => (
            format!("{n} new replies: {subject_line}"),
            format!("You have new replies in your conversation “{subject_line}”:"),
        ),
    };
    render(conversation, subject, &intro, "Reply in the conversation")
}

/// The email holding a conversation's whole public history.
pub fn transcript(conversation: &Conversation<'_>) -> EmailContent {
    let subject_line = one_line(&conversation.ticket.subject);
    let started = conversation
        .ticket
        .created_at
        .with_timezone(&conversation.timezone)
        .format("%Y-%m-%d");
    let intro =
        format!("Here is the transcript of your conversation “{subject_line}” of {started}:");
    render(
        conversation,
        format!("Transcript: {subject_line}"),
        &intro,
        "Open the conversation",
    )
}

fn render(
    conversation: &Conversation<'_>,
    subject: String,
    intro: &str,
    action: &str,
) -> EmailContent {
    let ticket = conversation.ticket;
    let greeting = format!("Hi {},", one_line(&ticket.user_name));
    let zone = conversation.timezone.name();
    let footer = format!("Times are in {zone}.");

    let mut text = format!("{greeting}\n\n{intro}\n\n");
    let mut html = String::from(
        "<!DOCTYPE html>\n<html><body style=\"font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1f2937;line-height:1.45\">\n",
    );
    let _ = writeln!(
        html,
        "<p>{}</p>\n<p>{}</p>",
        escape_html(&greeting),
        escape_html(intro)
    );
    for message in conversation.messages {
        let at = message
            .created_at
            .with_timezone(&conversation.timezone)
            .format("%Y-%m-%d %H:%M");
        let files: Vec<(String, Option<String>)> = message
            .attachments
            .iter()
            .map(|file| {
                let url = file
                    .url
                    .as_ref()
                    .map(|path| format!("{}{path}", conversation.origin));
                (file.filename.clone(), url)
            })
            .collect();
        match sender_label(ticket, message) {
            Some(sender) => {
                let _ = writeln!(text, "{sender} · {at}");
                if !message.message.is_empty() {
                    let _ = writeln!(text, "{}", message.message);
                }
                let _ = writeln!(
                    html,
                    "<div style=\"border-left:3px solid #d1d5db;padding-left:12px;margin:14px 0\">\
                     <div style=\"color:#6b7280;font-size:13px\"><strong style=\"color:#111827\">{}</strong> · {at}</div>",
                    escape_html(&sender)
                );
                if !message.message.is_empty() {
                    let _ = writeln!(
                        html,
                        "<div style=\"white-space:pre-wrap;margin-top:4px\">{}</div>",
                        escape_html(&message.message)
                    );
                }
            }
            None => {
                let _ = writeln!(text, "— {} ({at})", message.message);
                let _ = writeln!(
                    html,
                    "<div style=\"color:#6b7280;font-style:italic;margin:14px 0\">{} · {at}",
                    escape_html(&message.message)
                );
            }
        }
        for (name, url) in &files {
            match url {
                Some(url) => {
                    let _ = writeln!(text, "[file] {name}: {url}");
                    let _ = writeln!(
                        html,
                        "<div>📎 <a href=\"{}\">{}</a></div>",
                        escape_html(url),
                        escape_html(name)
                    );
                }
                None => {
                    let _ = writeln!(text, "[file] {name}");
                    let _ = writeln!(html, "<div>📎 {}</div>", escape_html(name));
                }
            }
        }
        text.push('\n');
        html.push_str("</div>\n");
    }
    let _ = write!(text, "{action}: {}\n\n{footer}\n", conversation.link);
    let _ = write!(
        html,
        "<p style=\"margin-top:20px\"><a href=\"{}\" style=\"background:#2563eb;color:#ffffff;padding:10px 16px;border-radius:6px;text-decoration:none;display:inline-block\">{}</a></p>\n\
         <p style=\"color:#6b7280;font-size:12px\">{}</p>\n</body></html>\n",
        escape_html(conversation.link),
        escape_html(action),
        escape_html(&footer)
    );
    EmailContent {
        subject,
        text,
        html,
    }
}

/// Who wrote a message, as the visitor reads it; `None` for a system note.
fn sender_label(ticket: &Ticket, message: &Message) -> Option<String> {
    match message.sender_type {
        SenderType::User => Some(one_line(&ticket.user_name)),
        SenderType::Supporter => Some(sender_label_of_agent(message).to_owned()),
        SenderType::System => None,
    }
}

fn sender_label_of_agent(message: &Message) -> &str {
    message
        .sender_name
        .as_deref()
        .filter(|name| !name.trim().is_empty())
        .unwrap_or("Support")
}

/// Text for a header or a heading: line breaks and other controls as spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Text made safe inside HTML elements and quoted attributes.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The `Message-ID` of a new email (angle brackets included): unique, and
/// kept for every attempt to send it.
pub fn new_message_id(kind: EmailKind, ticket_id: Option<i64>, domain: &str) -> String {
    let ticket = ticket_id.map_or_else(|| "0".to_owned(), |id| id.to_string());
    format!(
        "<livesupport.{}.{ticket}.{}@{domain}>",
        kind.as_str(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The `References` every email of a conversation carries, so mail programs
/// thread them.
pub fn thread_id(ticket_id: i64, domain: &str) -> String {
    format!("<livesupport.ticket.{ticket_id}@{domain}>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Attachment, Visibility};
    use chrono::TimeZone;

    fn ticket() -> Ticket {
        let at = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
        serde_json::from_value(serde_json::json!({
            "id": 45, "session_id": "s", "user_id": null, "supporter_id": 1,
            "supporter_name": "Alice", "subject": "Where is\nmy order?", "status": "in_progress",
            "priority": "medium", "user_email": "ada@example.com", "user_name": "Ada <script>",
            "created_at": at, "updated_at": at, "closed_at": null, "last_seq": 3,
            "unread_count": 0
        }))
        .expect("a ticket")
    }

    fn message(seq: i64, sender_type: SenderType, name: Option<&str>, text: &str) -> Message {
        Message {
            id: seq,
            ticket_id: 45,
            seq,
            sender_type,
            sender_id: None,
            sender_name: name.map(str::to_owned),
            message: text.into(),
            is_read: false,
            created_at: Utc
                .with_ymd_and_hms(2026, 12, 7, 13, seq as u32, 0)
                .unwrap(),
            client_msg_id: None,
            visibility: Visibility::Public,
            public_seq: Some(seq),
            attachments: vec![],
        }
    }

    fn conversation<'a>(ticket: &'a Ticket, messages: &'a [Message]) -> Conversation<'a> {
        Conversation {
            ticket,
            messages,
            timezone: chrono_tz::Europe::Berlin,
            origin: "https://support.example.com",
            link: "https://support.example.com/support/chat?resume=abc&x=\"1\"",
        }
    }

    #[test]
    fn a_follow_up_names_the_agent_and_escapes_everything_in_html() {
        let ticket = ticket();
        let replies = [
            message(
                2,
                SenderType::Supporter,
                Some("Alice"),
                "It ships <b>today</b> & \"tomorrow\"",
            ),
            message(
                3,
                SenderType::Supporter,
                Some("Alice"),
                "Line one\nline two",
            ),
        ];
        let email = follow_up(&conversation(&ticket, &replies));
        assert_eq!(email.subject, "2 new replies: Where is my order?");
        assert!(
            email
                .text
                .contains("Alice replied to your conversation “Where is my order?”")
        );
        assert!(
            email
                .text
                .contains("Alice · 2026-12-07 14:02\nIt ships <b>today</b> & \"tomorrow\"")
        );
        assert!(email.text.contains("Line one\nline two"));
        assert!(
            email
                .text
                .contains("https://support.example.com/support/chat?resume=abc")
        );
        assert!(email.text.contains("Times are in Europe/Berlin."));
        assert!(
            email
                .html
                .contains("It ships &lt;b&gt;today&lt;/b&gt; &amp; &quot;tomorrow&quot;")
        );
        assert!(email.html.contains("Hi Ada &lt;script&gt;,"));
        assert!(!email.html.contains("<script>"));
        assert!(!email.html.contains("<b>today"));
        assert!(email.html.contains(
            "href=\"https://support.example.com/support/chat?resume=abc&amp;x=&quot;1&quot;\""
        ));
    }

    #[test]
    fn one_reply_is_a_new_reply_and_several_agents_are_not_named_in_the_intro() {
        let ticket = ticket();
        let one = [message(2, SenderType::Supporter, Some("Bob"), "Hi")];
        let email = follow_up(&conversation(&ticket, &one));
        assert_eq!(email.subject, "New reply: Where is my order?");
        assert!(email.text.contains("Bob replied"));
        let two = [
            message(2, SenderType::Supporter, Some("Bob"), "Hi"),
            message(3, SenderType::Supporter, None, "Hello"),
        ];
        let email = follow_up(&conversation(&ticket, &two));
        assert!(email.text.contains("You have new replies"));
        assert!(email.text.contains("Support · 2026-12-07 14:03"));
    }

    #[test]
    fn a_transcript_holds_every_side_system_notes_and_files_with_absolute_links() {
        let ticket = ticket();
        let mut with_file = message(3, SenderType::User, None, "");
        with_file.attachments = vec![Attachment {
            id: 7,
            filename: "receipt <1>.pdf".into(),
            content_type: "application/pdf".into(),
            size: 10,
            width: None,
            height: None,
            url: Some("/api/support/attachments/tok".into()),
        }];
        let messages = [
            message(1, SenderType::User, None, "Where is it?"),
            message(2, SenderType::System, None, "Alice joined the chat"),
            with_file,
        ];
        let email = transcript(&conversation(&ticket, &messages));
        assert_eq!(email.subject, "Transcript: Where is my order?");
        assert!(email.text.contains("of 2026-12-07:"));
        assert!(
            email
                .text
                .contains("Ada <script> · 2026-12-07 14:01\nWhere is it?")
        );
        assert!(
            email
                .text
                .contains("— Alice joined the chat (2026-12-07 14:02)")
        );
        assert!(email.text.contains(
            "[file] receipt <1>.pdf: https://support.example.com/api/support/attachments/tok"
        ));
        assert!(email.html.contains("<a href=\"https://support.example.com/api/support/attachments/tok\">receipt &lt;1&gt;.pdf</a>"));
    }

    #[test]
    fn message_ids_are_unique_and_threads_stable() {
        let a = new_message_id(EmailKind::FollowUp, Some(45), "shop.example");
        let b = new_message_id(EmailKind::FollowUp, Some(45), "shop.example");
        assert_ne!(a, b);
        assert!(a.starts_with("<livesupport.follow_up.45.") && a.ends_with("@shop.example>"));
        assert_eq!(
            thread_id(45, "shop.example"),
            "<livesupport.ticket.45@shop.example>"
        );
        assert_eq!(EmailKind::parse("transcript"), Some(EmailKind::Transcript));
        assert_eq!(EmailStatus::parse("sent"), Some(EmailStatus::Sent));
        assert_eq!(EmailStatus::parse("other"), None);
    }
}
