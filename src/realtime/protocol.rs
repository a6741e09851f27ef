//! The WebSocket frames of the contract: what clients send and what the server
//! sends back. Parsing never panics and names what is wrong.

use crate::chat::events::Notice;
use crate::domain::Presence;
use crate::domain::visitor::{RawPage, VisitedPage};
use crate::domain::{Agent, Message, Rating, SenderType, Ticket};
use crate::error::{ApiError, ErrorBody};
use serde::{Deserialize, Serialize};

/// A frame from a client, validated for shape (not yet for content limits).
#[derive(Debug, Clone, PartialEq)]
pub enum ClientFrame {
    Message {
        message: Option<String>,
        client_msg_id: Option<String>,
    },
    /// A private note (agents only): stored internal, never sent to the visitor.
    Note {
        message: Option<String>,
        client_msg_id: Option<String>,
    },
    Typing {
        is_typing: bool,
    },
    Read {
        up_to_seq: i64,
    },
    /// The client's liveness check; answered with `pong`.
    Ping,
    /// The agent used the dashboard (feed sockets only): keeps them from an
    /// automatic away, or brings them back from one. Answered with nothing.
    Activity,
    /// The host page the visitor is on (visitor sockets only), not yet validated.
    Page(RawPage),
    /// What the agent feed carries (feed sockets only).
    Scope(FeedScope),
}

/// What an agent feed carries (docs/API.md, "The feed"): the notices of every
/// ticket, or of the unassigned tickets and the agent's own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedScope {
    #[default]
    All,
    Mine,
}

impl FeedScope {
    /// Reads `all` or `mine`.
    pub fn parse(text: &str) -> Option<FeedScope> {
        match text {
            "all" => Some(FeedScope::All),
            "mine" => Some(FeedScope::Mine),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
struct RawFrame {
    #[serde(rename = "type")]
    kind: String,
    message: Option<String>,
    client_msg_id: Option<String>,
    data: Option<RawData>,
}

#[derive(Deserialize)]
struct RawData {
    is_typing: Option<bool>,
    up_to_seq: Option<i64>,
    url: Option<String>,
    title: Option<String>,
    referrer: Option<String>,
    locale: Option<String>,
    timezone: Option<String>,
    scope: Option<String>,
}

/// Parses a text frame. The error carries the client_msg_id when it could be read,
/// so the client can match the refusal to its send.
pub fn parse_client_frame(text: &str) -> Result<ClientFrame, (ApiError, Option<String>)> {
    let raw: RawFrame = serde_json::from_str(text).map_err(|e| {
        let error = if e.is_data() {
            let what = e.to_string();
            let field = [
                "type",
                "message",
                "client_msg_id",
                "data",
                "is_typing",
                "up_to_seq",
            ]
            .into_iter()
            .find(|f| what.contains(&format!("`{f}`")))
            .unwrap_or("frame");
            ApiError::validation(
                field,
                format!("frame field {field} is missing or of the wrong type"),
            )
        } else {
            ApiError::InvalidJson("the frame is not valid JSON".into())
        };
        (error, None)
    })?;
    let key = raw.client_msg_id.clone();
    match raw.kind.as_str() {
        "message" => Ok(ClientFrame::Message {
            message: raw.message,
            client_msg_id: raw.client_msg_id,
        }),
        "note" => Ok(ClientFrame::Note {
            message: raw.message,
            client_msg_id: raw.client_msg_id,
        }),
        "typing" => match raw.data.and_then(|d| d.is_typing) {
            Some(is_typing) => Ok(ClientFrame::Typing { is_typing }),
            None => Err((
                ApiError::validation("data.is_typing", "typing frames need data.is_typing"),
                key,
            )),
        },
        "read" => match raw.data.and_then(|d| d.up_to_seq) {
            Some(up_to_seq) if up_to_seq >= 0 => Ok(ClientFrame::Read { up_to_seq }),
            _ => Err((
                ApiError::validation(
                    "data.up_to_seq",
                    "read frames need data.up_to_seq, a seq number",
                ),
                key,
            )),
        },
        "ping" => Ok(ClientFrame::Ping),
        "activity" => Ok(ClientFrame::Activity),
        "scope" => match raw
            .data
            .and_then(|d| d.scope)
            .as_deref()
            .and_then(FeedScope::parse)
        {
            Some(scope) => Ok(ClientFrame::Scope(scope)),
            None => Err((
                ApiError::validation("data.scope", "scope frames need data.scope: all or mine"),
                key,
            )),
        },
        "page" => match raw.data {
            Some(d) => Ok(ClientFrame::Page(RawPage {
                url: d.url,
                title: d.title,
                referrer: d.referrer,
                locale: d.locale,
                timezone: d.timezone,
            })),
            None => Err((
                ApiError::validation("data.url", "page frames need data.url"),
                key,
            )),
        },
        other => Err((
            ApiError::validation(
                "type",
                format!(
                    "unknown frame type {other:?}; expected message, note, typing, read, page, ping, activity or scope"
                ),
            ),
            key,
        )),
    }
}

/// The type of a server frame, for routing and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameKind {
    Ready,
    Message,
    Note,
    System,
    SupporterJoined,
    Typing,
    Read,
    Presence,
    Page,
    Queue,
    AgentUpdated,
    RatingCreated,
    Notices,
    TicketCreated,
    TicketUpdated,
    ResyncRequired,
    Pong,
    Error,
}

impl FrameKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FrameKind::Ready => "ready",
            FrameKind::Message => "message",
            FrameKind::Note => "note",
            FrameKind::System => "system",
            FrameKind::SupporterJoined => "supporter_joined",
            FrameKind::Typing => "typing",
            FrameKind::Read => "read",
            FrameKind::Presence => "presence",
            FrameKind::Page => "page",
            FrameKind::Queue => "queue",
            FrameKind::AgentUpdated => "agent_updated",
            FrameKind::RatingCreated => "rating_created",
            FrameKind::Notices => "notices",
            FrameKind::TicketCreated => "ticket_created",
            FrameKind::TicketUpdated => "ticket_updated",
            FrameKind::ResyncRequired => "resync_required",
            FrameKind::Pong => "pong",
            FrameKind::Error => "error",
        }
    }
}

/// A frame from the server.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    Ready {
        data: ReadyData<'a>,
    },
    Message {
        message: &'a Message,
    },
    /// An agent's private note, to the ticket's agent sockets only.
    Note {
        message: &'a Message,
    },
    System {
        message: &'a Message,
    },
    SupporterJoined {
        message: &'a Message,
        data: JoinedData<'a>,
    },
    Typing {
        data: TypingData<'a>,
    },
    Read {
        data: ReadData,
    },
    Presence {
        data: Presence,
    },
    /// The page a ticket's visitor is on, to the ticket's agent sockets.
    Page {
        data: &'a VisitedPage,
    },
    /// The visitor's place in the queue (visitor sockets only).
    Queue {
        data: QueueData,
    },
    /// An agent's status, capacity or account changed (the feed only).
    AgentUpdated {
        agent: &'a Agent,
    },
    TicketCreated {
        ticket: &'a Ticket,
    },
    TicketUpdated {
        ticket: &'a Ticket,
    },
    /// The feed's notice of a new rating (issue 18), after the `ticket_updated`
    /// that carries it.
    RatingCreated {
        data: RatingData<'a>,
    },
    /// The feed's notices of new messages (issue 20).
    Notices {
        data: NoticesData<'a>,
    },
    ResyncRequired {
        data: ResyncData,
    },
    /// The feed's `resync_required`: reload the queue through REST.
    #[serde(rename = "resync_required")]
    QueueResync {
        data: QueueResyncData,
    },
    /// The answer to a client's `ping`.
    Pong,
    Error {
        error: ErrorBody,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_msg_id: Option<&'a str>,
    },
}

impl ServerFrame<'_> {
    /// The frame of a stored message on a ticket's sockets.
    pub fn for_message(message: &Message) -> ServerFrame<'_> {
        if message.sender_type == SenderType::System {
            ServerFrame::System { message }
        } else if message.is_note() {
            ServerFrame::Note { message }
        } else {
            ServerFrame::Message { message }
        }
    }

    pub fn kind(&self) -> FrameKind {
        match self {
            ServerFrame::Ready { .. } => FrameKind::Ready,
            ServerFrame::Message { .. } => FrameKind::Message,
            ServerFrame::Note { .. } => FrameKind::Note,
            ServerFrame::System { .. } => FrameKind::System,
            ServerFrame::SupporterJoined { .. } => FrameKind::SupporterJoined,
            ServerFrame::Typing { .. } => FrameKind::Typing,
            ServerFrame::Read { .. } => FrameKind::Read,
            ServerFrame::Presence { .. } => FrameKind::Presence,
            ServerFrame::Page { .. } => FrameKind::Page,
            ServerFrame::Queue { .. } => FrameKind::Queue,
            ServerFrame::AgentUpdated { .. } => FrameKind::AgentUpdated,
            ServerFrame::RatingCreated { .. } => FrameKind::RatingCreated,
            ServerFrame::Notices { .. } => FrameKind::Notices,
            ServerFrame::TicketCreated { .. } => FrameKind::TicketCreated,
            ServerFrame::TicketUpdated { .. } => FrameKind::TicketUpdated,
            ServerFrame::ResyncRequired { .. } | ServerFrame::QueueResync { .. } => {
                FrameKind::ResyncRequired
            }
            ServerFrame::Pong => FrameKind::Pong,
            ServerFrame::Error { .. } => FrameKind::Error,
        }
    }

    pub fn to_json(&self) -> String {
        // Serialising these plain structs cannot fail: no maps with non-string keys.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[derive(Debug, Serialize)]
pub struct NoticesData<'a> {
    pub notices: &'a [Notice],
}

#[derive(Debug, Serialize)]
pub struct RatingData<'a> {
    pub ticket_id: i64,
    pub rating: &'a Rating,
}

#[derive(Debug, Serialize)]
pub struct ReadyData<'a> {
    pub ticket: &'a Ticket,
    pub last_seq: i64,
    pub replayed: usize,
    /// Visitor sockets only: the ticket's place in the queue while it waits,
    /// else `null` (`Some(None)`); left out on agent sockets (`None`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_position: Option<Option<i64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QueueData {
    /// 1 = next; `null` once the ticket left the queue.
    pub position: Option<i64>,
    /// Agents whose status is `online`.
    pub agents_online: i64,
}

#[derive(Debug, Serialize)]
pub struct JoinedData<'a> {
    pub supporter_id: i64,
    pub supporter_name: &'a str,
}

#[derive(Debug, Serialize)]
pub struct TypingData<'a> {
    pub sender_type: SenderType,
    pub sender_name: &'a str,
    pub is_typing: bool,
}

#[derive(Debug, Serialize)]
pub struct ReadData {
    pub reader_type: SenderType,
    pub up_to_seq: i64,
}

#[derive(Debug, Serialize)]
pub struct ResyncData {
    pub after_seq: i64,
}

#[derive(Debug, Serialize)]
pub struct QueueResyncData {
    /// What to reload: `queue`, the ticket list.
    pub scope: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_frames_are_refused_with_a_reason() {
        let cases = [
            ("not json", "{", "invalid_json"),
            ("no type", r#"{"message":"x"}"#, "validation_failed"),
            ("unknown type", r#"{"type":"shout"}"#, "validation_failed"),
            (
                "typing without data",
                r#"{"type":"typing"}"#,
                "validation_failed",
            ),
            (
                "read with negative seq",
                r#"{"type":"read","data":{"up_to_seq":-1}}"#,
                "validation_failed",
            ),
            (
                "message of wrong type",
                r#"{"type":"message","message":5}"#,
                "validation_failed",
            ),
        ];
        for (case, text, code) in cases {
            let (err, _) = parse_client_frame(text).expect_err(case);
            assert_eq!(err.code(), code, "{case}");
        }
    }

    #[test]
    fn the_original_frames_parse() {
        assert_eq!(
            parse_client_frame(r#"{"type":"message","message":"Hello!"}"#).unwrap(),
            ClientFrame::Message {
                message: Some("Hello!".into()),
                client_msg_id: None
            }
        );
        assert_eq!(
            parse_client_frame(r#"{"type":"typing","data":{"is_typing":true}}"#).unwrap(),
            ClientFrame::Typing { is_typing: true }
        );
        assert_eq!(
            parse_client_frame(r#"{"type":"read","data":{"up_to_seq":7}}"#).unwrap(),
            ClientFrame::Read { up_to_seq: 7 }
        );
        assert_eq!(
            parse_client_frame(r#"{"type":"ping"}"#).unwrap(),
            ClientFrame::Ping
        );
        assert_eq!(
            parse_client_frame(r#"{"type":"note","message":"VIP","client_msg_id":"n1"}"#).unwrap(),
            ClientFrame::Note {
                message: Some("VIP".into()),
                client_msg_id: Some("n1".into())
            }
        );
    }

    #[test]
    fn the_server_s_liveness_and_resync_frames_read_as_documented() {
        assert_eq!(ServerFrame::Pong.to_json(), r#"{"type":"pong"}"#);
        let resync = ServerFrame::QueueResync {
            data: QueueResyncData { scope: "queue" },
        };
        assert_eq!(
            resync.to_json(),
            r#"{"type":"resync_required","data":{"scope":"queue"}}"#
        );
    }
}
