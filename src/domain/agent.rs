use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// What an agent may do: admins also manage agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentRole {
    Admin,
    Agent,
}

impl AgentRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentRole::Admin => "admin",
            AgentRole::Agent => "agent",
        }
    }
}

impl FromStr for AgentRole {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "admin" => Ok(AgentRole::Admin),
            "agent" => Ok(AgentRole::Agent),
            _ => Err(()),
        }
    }
}

/// Whether an agent can take chats now, computed by the store from the
/// database's clock (the same on every node): see `docs/API.md`, "Presence".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// A dashboard is connected and the agent is not away: gets new tickets.
    Online,
    /// Connected, but chose away or was inactive too long: keeps their tickets,
    /// gets no new ones.
    Away,
    /// No dashboard on a live node (beyond a short grace): their untouched
    /// tickets go back to the queue.
    Offline,
}

impl AgentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Online => "online",
            AgentStatus::Away => "away",
            AgentStatus::Offline => "offline",
        }
    }

    pub const ALL: [AgentStatus; 3] =
        [AgentStatus::Online, AgentStatus::Away, AgentStatus::Offline];
}

impl FromStr for AgentStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "online" => Ok(AgentStatus::Online),
            "away" => Ok(AgentStatus::Away),
            "offline" => Ok(AgentStatus::Offline),
            _ => Err(()),
        }
    }
}

/// The most tickets auto-assignment may give one agent at once (`max_chats`).
pub const MAX_CHATS_LIMIT: i64 = 50;
/// `max_chats` of a new agent.
pub const DEFAULT_MAX_CHATS: i64 = 3;

/// A support agent as the API shows it (never with the password hash).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Agent {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: AgentRole,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    /// Online, away or offline as of the read.
    pub status: AgentStatus,
    /// The most tickets auto-assignment gives the agent at once (0: never).
    pub max_chats: i64,
    /// Tickets the agent holds in status `assigned` or `in_progress`.
    pub open_chats: i64,
    /// Tokens issued under an older generation are revoked (never shown).
    #[serde(skip)]
    pub token_generation: i64,
}

/// An agent with the argon2 hash, only for checking a password at login.
#[derive(Clone)]
pub struct AgentWithHash {
    pub agent: Agent,
    pub password_hash: String,
}

impl std::fmt::Debug for AgentWithHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentWithHash")
            .field("agent", &self.agent)
            .field("password_hash", &"[redacted]")
            .finish()
    }
}
