use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// What an agent may do: admins also manage agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// A support agent as the API shows it (never with the password hash).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agent {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: AgentRole,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
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
