use super::{Attachment, Priority, SenderType, TicketStatus, Visibility};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A support conversation between one visitor and the support team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Ticket {
    pub id: i64,
    /// The guest's capability: whoever holds it can read and write this ticket.
    pub session_id: String,
    /// The storefront's own user id, present only when identity was verified.
    pub user_id: Option<String>,
    pub supporter_id: Option<i64>,
    pub supporter_name: Option<String>,
    pub subject: String,
    pub status: TicketStatus,
    pub priority: Priority,
    pub user_email: Option<String>,
    pub user_name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The seq of the newest message; 0 for a ticket without messages. In the
    /// visitor's view ([`Ticket::for_visitor`]) the newest public message's.
    pub last_seq: i64,
    /// The newest public message's number in the visitor's stream.
    #[serde(default)]
    pub last_public_seq: i64,
    /// Messages of the other party the caller has not read yet.
    pub unread_count: i64,
    /// The start (up to [`PREVIEW_CHARS`] characters) of the newest visitor or
    /// agent line everyone may see, for queue rows; `None` before the first.
    #[serde(default)]
    pub last_message_preview: Option<String>,
    /// When the oldest visitor message no agent has answered yet was written:
    /// the visitor has been waiting since then. `None` when an agent had the
    /// last word or the visitor has not written.
    #[serde(default)]
    pub waiting_since: Option<DateTime<Utc>>,
    /// The team's labels, sorted; always empty in the visitor's view (they are
    /// the agents' words about the conversation).
    #[serde(default)]
    pub labels: Vec<String>,
    /// The visitor's rating of the conversation (issue 18), once given.
    #[serde(default)]
    pub rating: Option<Rating>,
}

/// How the visitor found a conversation: 1 (bad) to 5 (great), with a comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rating {
    pub score: i64,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Ticket {
    /// The ticket as the visitor sees it: `last_seq` in the visitor's numbering,
    /// and no labels (the team's words about the visitor).
    pub fn for_visitor(&self) -> Ticket {
        Ticket {
            last_seq: self.last_public_seq,
            labels: Vec::new(),
            ..self.clone()
        }
    }
}

/// How much of the newest message a ticket carries as its preview (characters).
pub const PREVIEW_CHARS: usize = 140;

/// One stored chat line, numbered gaplessly per ticket by `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Message {
    pub id: i64,
    pub ticket_id: i64,
    pub seq: i64,
    pub sender_type: SenderType,
    pub sender_id: Option<i64>,
    pub sender_name: Option<String>,
    pub message: String,
    pub is_read: bool,
    pub created_at: DateTime<Utc>,
    pub client_msg_id: Option<String>,
    /// Who may see it: `internal` for private notes and the agents' system
    /// notes (older stored rows and peers without the field read as public).
    #[serde(default, alias = "audience")]
    pub visibility: Visibility,
    /// Its number in the visitor's stream, which counts public messages only;
    /// `None` for internal messages. (Rows stored before migration 0006 kept
    /// `seq` here, agents-only notes included: see [`Message::for_visitor`].)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_seq: Option<i64>,
    /// The file the message carries (issue 17); absent on the wire when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

impl Message {
    /// What a visitor is shown of this message, numbered in the visitor's own
    /// stream (`seq` = `public_seq`), or `None` for an internal message, which
    /// the visitor never gets in any form. An agents-only system note stored
    /// before migration 0006 holds a place in the visitor's numbering (it was
    /// sent as a placeholder then): it stays an empty system line there, so a
    /// visitor's `since` from before the upgrade still means the same.
    pub fn for_visitor(&self) -> Option<Message> {
        let public_seq = self.public_seq?;
        let mut view = Message {
            seq: public_seq,
            public_seq: None,
            ..self.clone()
        };
        if self.visibility.is_internal() {
            view = Message {
                sender_type: SenderType::System,
                sender_id: None,
                sender_name: None,
                message: String::new(),
                client_msg_id: None,
                visibility: Visibility::Public,
                ..view
            };
        }
        Some(view)
    }

    /// A private note an agent wrote (not an internal system note).
    pub fn is_note(&self) -> bool {
        self.visibility.is_internal() && self.sender_type == SenderType::Supporter
    }
}

/// Who is connected to a ticket right now, on any node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    pub user_connected: bool,
    pub supporter_connected: bool,
}

/// A validated request to open a ticket.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub session_id: String,
    pub user_id: Option<String>,
    pub user_name: String,
    pub user_email: Option<String>,
    pub subject: String,
    pub priority: Priority,
    /// Stored as the ticket's first user message (seq 1) when present.
    pub first_message: Option<String>,
}

/// A validated message about to be appended to a ticket.
#[derive(Debug, Clone)]
pub struct MessageDraft {
    pub sender_type: SenderType,
    pub sender_id: Option<i64>,
    pub sender_name: Option<String>,
    pub text: String,
    pub client_msg_id: Option<String>,
    pub visibility: Visibility,
    /// Files already in the storage, registered by `Store::create_attachment`;
    /// the message takes them in its transaction.
    pub attachments: Vec<Attachment>,
}

impl MessageDraft {
    pub fn system(note: &Note) -> Self {
        MessageDraft {
            sender_type: SenderType::System,
            sender_id: None,
            sender_name: None,
            text: note.text.clone(),
            client_msg_id: None,
            visibility: note.visibility,
            attachments: Vec::new(),
        }
    }
}

/// A system note a change leaves, with who may see it. Status changes that
/// concern the visitor are worded for them; assignment, priority and the
/// steps of the agents' own workflow are for agents only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    pub visibility: Visibility,
}

impl Note {
    pub fn all(text: impl Into<String>) -> Note {
        Note {
            text: text.into(),
            visibility: Visibility::Public,
        }
    }

    pub fn agents(text: impl Into<String>) -> Note {
        Note {
            text: text.into(),
            visibility: Visibility::Internal,
        }
    }

    /// The note of a status change: plain words for the visitor where the
    /// visitor is concerned, the workflow step for agents otherwise.
    pub fn status(from: TicketStatus, to: TicketStatus, by: &str, visitor: Option<&str>) -> Note {
        match to {
            TicketStatus::Resolved => {
                Note::all("This conversation was marked as resolved \u{2014} write to reopen it")
            }
            TicketStatus::Closed => match visitor {
                Some(name) => Note::all(format!("{name} ended the chat")),
                None => Note::all("This chat has ended"),
            },
            _ => Note::agents(format!("Status changed from {from} to {to}{by}")),
        }
    }
}

impl PartialEq<&str> for Note {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

/// A status change that a chat message causes by itself, with its system note.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusEffect {
    pub status: TicketStatus,
    pub note: Note,
}

/// The automatic transitions of the contract: the assigned agent's first message
/// starts the work, and a visitor writing on a resolved ticket reopens it.
pub fn status_after_message(
    status: TicketStatus,
    supporter_id: Option<i64>,
    draft: &MessageDraft,
) -> Option<StatusEffect> {
    if draft.visibility.is_internal() {
        return None;
    }
    let next = match (draft.sender_type, status) {
        (SenderType::Supporter, TicketStatus::Assigned)
            if draft.sender_id.is_some() && draft.sender_id == supporter_id =>
        {
            TicketStatus::InProgress
        }
        (SenderType::User, TicketStatus::Resolved) => TicketStatus::InProgress,
        _ => return None,
    };
    Some(StatusEffect {
        status: next,
        note: Note::status(status, next, "", None),
    })
}

/// What somebody asks to change on a ticket (PATCH, assign, join, guest close).
#[derive(Debug, Clone, Default)]
pub struct TicketChange {
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    /// Assign to this agent (id, display name).
    pub assign_to: Option<(i64, String)>,
    /// The assignment comes from an agent opening the chat: it applies only to
    /// an `open` ticket and is announced as a join.
    pub join: bool,
    /// Who asks, for the system notes; `None` for the visitor.
    pub actor: Option<(i64, String)>,
    /// The visitor's name when the visitor asks (ending the chat), for the note.
    pub visitor: Option<String>,
    /// Replace the ticket's labels with this validated set (sorted, unique).
    pub labels: Option<Vec<String>>,
}

/// The outcome of applying a `TicketChange` to a ticket: the new column values and
/// one system note per change, in the order they happened.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketChangePlan {
    pub status: TicketStatus,
    pub priority: Priority,
    pub supporter_id: Option<i64>,
    pub closed: bool,
    pub notes: Vec<Note>,
    /// Set when the change assigned an agent (for `supporter_joined`).
    pub assigned: Option<(i64, String)>,
    /// The ticket's new label set, when it differs from the current one. A label
    /// change leaves no note (it is the team's bookkeeping, not a conversation
    /// event) but moves `updated_at` and is pushed as `ticket_updated`.
    pub labels: Option<Vec<String>>,
}

impl TicketChangePlan {
    pub fn is_noop(&self) -> bool {
        self.notes.is_empty() && self.labels.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TransitionError {
    #[error("a ticket cannot go from {from} to {to}")]
    Invalid {
        from: TicketStatus,
        to: TicketStatus,
    },
    #[error("the ticket is closed")]
    Closed,
}

/// Applies the contract's rules to `change` against the current `ticket`.
pub fn plan_change(
    ticket: &Ticket,
    change: &TicketChange,
) -> Result<TicketChangePlan, TransitionError> {
    let mut plan = TicketChangePlan {
        status: ticket.status,
        priority: ticket.priority,
        supporter_id: ticket.supporter_id,
        closed: false,
        notes: Vec::new(),
        assigned: None,
        // Labels may change on a closed ticket too: teams label conversations
        // after the fact (for reports and search).
        labels: change.labels.clone().filter(|l| *l != ticket.labels),
    };
    let wants_something_else = change.assign_to.is_some()
        || change.priority.is_some_and(|p| p != ticket.priority)
        || change.status.is_some_and(|s| s != ticket.status);
    if ticket.status == TicketStatus::Closed {
        // Leaving `closed` is a transition the table does not have; any other
        // change to a closed ticket is refused because the ticket is closed.
        if let Some(to) = change.status.filter(|s| *s != TicketStatus::Closed) {
            return Err(TransitionError::Invalid {
                from: TicketStatus::Closed,
                to,
            });
        }
        return if wants_something_else && !change.join {
            Err(TransitionError::Closed)
        } else {
            Ok(plan)
        };
    }
    let by = change
        .actor
        .as_ref()
        .map(|(_, name)| format!(" by {name}"))
        .unwrap_or_default();

    let mut assign_to = change.assign_to.clone();
    // Moving a ticket to `assigned` without saying to whom assigns the caller.
    if change.status == Some(TicketStatus::Assigned) && ticket.supporter_id.is_none() {
        assign_to = assign_to.or_else(|| change.actor.clone());
    }
    if let Some((agent_id, name)) = assign_to {
        let joins_open = ticket.status == TicketStatus::Open;
        if change.join && !joins_open {
            // An agent opening a chat that is already taken does not take it over.
        } else if ticket.supporter_id != Some(agent_id) {
            plan.supporter_id = Some(agent_id);
            let by_someone_else = change
                .actor
                .as_ref()
                .filter(|(id, _)| *id != agent_id)
                .map(|_| by.as_str());
            plan.notes.push(if change.join {
                Note::all(format!("{name} joined the chat"))
            } else {
                Note::agents(format!(
                    "Ticket assigned to {name}{}",
                    by_someone_else.unwrap_or_default()
                ))
            });
            plan.assigned = Some((agent_id, name));
            if plan.status == TicketStatus::Open {
                plan.status = TicketStatus::Assigned;
            }
        }
    }

    if let Some(next) = change.status.filter(|s| *s != plan.status) {
        if !plan.status.can_become(next) {
            return Err(TransitionError::Invalid {
                from: plan.status,
                to: next,
            });
        }
        plan.notes.push(Note::status(
            plan.status,
            next,
            &by,
            change.visitor.as_deref(),
        ));
        if next == TicketStatus::Open {
            // Back to the queue: nobody holds it any more.
            plan.supporter_id = None;
        }
        if next == TicketStatus::Closed {
            plan.closed = true;
        }
        plan.status = next;
    }

    if let Some(priority) = change.priority.filter(|p| *p != plan.priority) {
        plan.notes.push(Note::agents(format!(
            "Priority changed from {} to {}{by}",
            plan.priority.as_str(),
            priority.as_str()
        )));
        plan.priority = priority;
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(status: TicketStatus, supporter_id: Option<i64>) -> Ticket {
        let now = Utc::now();
        Ticket {
            id: 1,
            session_id: "s".into(),
            user_id: None,
            supporter_id,
            supporter_name: None,
            subject: "Help".into(),
            status,
            priority: Priority::Medium,
            user_email: None,
            user_name: "John".into(),
            created_at: now,
            updated_at: now,
            closed_at: None,
            last_seq: 0,
            last_public_seq: 0,
            unread_count: 0,
            last_message_preview: None,
            waiting_since: None,
            labels: Vec::new(),
            rating: None,
        }
    }

    fn alice() -> Option<(i64, String)> {
        Some((3, "Alice".into()))
    }

    #[test]
    fn assigning_an_open_ticket_makes_it_assigned() {
        let change = TicketChange {
            assign_to: alice(),
            actor: alice(),
            ..Default::default()
        };
        let plan = plan_change(&ticket(TicketStatus::Open, None), &change).unwrap();
        assert_eq!(plan.status, TicketStatus::Assigned);
        assert_eq!(plan.supporter_id, Some(3));
        assert_eq!(plan.notes, ["Ticket assigned to Alice"]);
    }

    #[test]
    fn joining_a_ticket_taken_by_someone_else_changes_nothing() {
        let change = TicketChange {
            assign_to: alice(),
            join: true,
            ..Default::default()
        };
        let plan = plan_change(&ticket(TicketStatus::Assigned, Some(9)), &change).unwrap();
        assert!(plan.is_noop());
        assert_eq!(plan.supporter_id, Some(9));
    }

    #[test]
    fn invalid_transitions_are_refused() {
        let change = TicketChange {
            status: Some(TicketStatus::InProgress),
            ..Default::default()
        };
        let err = plan_change(&ticket(TicketStatus::Open, None), &change).unwrap_err();
        assert_eq!(
            err,
            TransitionError::Invalid {
                from: TicketStatus::Open,
                to: TicketStatus::InProgress
            }
        );
    }

    #[test]
    fn a_closed_ticket_accepts_no_change_but_a_repeated_close() {
        let closed = ticket(TicketStatus::Closed, None);
        let close_again = TicketChange {
            status: Some(TicketStatus::Closed),
            ..Default::default()
        };
        assert!(plan_change(&closed, &close_again).unwrap().is_noop());
        let reprioritise = TicketChange {
            priority: Some(Priority::High),
            ..Default::default()
        };
        assert_eq!(
            plan_change(&closed, &reprioritise),
            Err(TransitionError::Closed)
        );
    }

    #[test]
    fn leaving_closed_is_an_invalid_transition() {
        let closed = ticket(TicketStatus::Closed, None);
        for to in [
            TicketStatus::Open,
            TicketStatus::Assigned,
            TicketStatus::InProgress,
            TicketStatus::Resolved,
        ] {
            let change = TicketChange {
                status: Some(to),
                priority: Some(Priority::High),
                ..Default::default()
            };
            assert_eq!(
                plan_change(&closed, &change),
                Err(TransitionError::Invalid {
                    from: TicketStatus::Closed,
                    to
                }),
                "closed -> {to}"
            );
        }
    }

    #[test]
    fn labels_change_without_a_note_even_on_a_closed_ticket() {
        let change = TicketChange {
            labels: Some(vec!["vip".into()]),
            ..Default::default()
        };
        let plan = plan_change(&ticket(TicketStatus::Closed, None), &change).unwrap();
        assert_eq!(plan.labels, Some(vec!["vip".to_owned()]));
        assert!(plan.notes.is_empty() && !plan.is_noop());
        let mut labelled = ticket(TicketStatus::Open, None);
        labelled.labels = vec!["vip".into()];
        assert!(plan_change(&labelled, &change).unwrap().is_noop());
    }

    #[test]
    fn back_to_open_releases_the_agent() {
        let change = TicketChange {
            status: Some(TicketStatus::Open),
            ..Default::default()
        };
        let plan = plan_change(&ticket(TicketStatus::Assigned, Some(3)), &change).unwrap();
        assert_eq!(plan.supporter_id, None);
    }

    #[test]
    fn the_assigned_agents_first_message_starts_the_work() {
        let t = ticket(TicketStatus::Assigned, Some(3));
        let mut draft = MessageDraft::system(&Note::all("x"));
        draft.sender_type = SenderType::Supporter;
        draft.sender_id = Some(3);
        assert_eq!(
            status_after_message(t.status, t.supporter_id, &draft)
                .unwrap()
                .status,
            TicketStatus::InProgress
        );
        draft.sender_id = Some(4);
        assert_eq!(status_after_message(t.status, t.supporter_id, &draft), None);
    }

    #[test]
    fn a_visitor_message_reopens_a_resolved_ticket() {
        let t = ticket(TicketStatus::Resolved, Some(3));
        let mut draft = MessageDraft::system(&Note::all("x"));
        draft.sender_type = SenderType::User;
        assert_eq!(
            status_after_message(t.status, t.supporter_id, &draft)
                .unwrap()
                .status,
            TicketStatus::InProgress
        );
    }
}
