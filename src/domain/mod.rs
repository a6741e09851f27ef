//! The support domain: tickets, messages, agents and their rules. No I/O here:
//! the store persists these types, the chat layer applies the rules.

mod agent;
pub mod attachment;
pub mod desk;
pub mod email;
pub mod hours;
pub mod settings;
pub mod signed;
mod status;
mod ticket;
pub mod user_agent;
pub mod validation;
pub mod visitor;
pub mod webhook;

pub use agent::{Agent, AgentRole, AgentStatus, AgentWithHash, DEFAULT_MAX_CHATS, MAX_CHATS_LIMIT};
pub use attachment::Attachment;
pub use desk::{CannedResponse, CannedUpdate, LabelCount, NewCanned};
pub use settings::{AssignmentMode, Settings};
pub use status::{Priority, SenderType, TicketStatus, Visibility};
pub use ticket::{
    Message, MessageDraft, NewTicket, Note, PREVIEW_CHARS, Presence, Rating, StatusEffect, Ticket,
    TicketChange, TicketChangePlan, TransitionError, plan_change, status_after_message,
};
