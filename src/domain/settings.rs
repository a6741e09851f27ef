//! The service's settings that admins change at run time (`GET/PUT
//! /api/support/settings`). They are one JSON document in the database, so every
//! node reads the same; each field has a default, so a row written by an older
//! release (or none at all) reads as a whole, and fields this release does not
//! know (written by a newer one) are kept as they are.

use super::hours::BusinessHours;
use serde::{Deserialize, Serialize};

/// Whether waiting tickets are given to agents by the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentMode {
    /// Tickets go to the online agent with the most room (issue 16).
    #[default]
    Auto,
    /// Tickets wait until an agent takes them (the behaviour before issue 16).
    Manual,
}

/// `away_after_minutes` when no setting is stored; also in the store's SQL.
pub const DEFAULT_AWAY_AFTER_MINUTES: i64 = 10;
/// The longest `away_after_minutes` (a day).
pub const MAX_AWAY_AFTER_MINUTES: i64 = 1440;

fn default_away_after_minutes() -> i64 {
    DEFAULT_AWAY_AFTER_MINUTES
}

/// `email_after_minutes` when no setting is stored (issue 18).
pub const DEFAULT_EMAIL_AFTER_MINUTES: i64 = 5;
/// The longest `email_after_minutes` (a week).
pub const MAX_EMAIL_AFTER_MINUTES: i64 = 10_080;
/// The longest greeting and offline message, in characters.
pub const MAX_NOTICE_CHARS: usize = 1000;

fn default_email_after_minutes() -> i64 {
    DEFAULT_EMAIL_AFTER_MINUTES
}

fn default_true() -> bool {
    true
}

/// The stored settings document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Settings {
    /// `auto` or `manual` assignment.
    #[serde(default)]
    pub assignment: AssignmentMode,
    /// Minutes without activity before a connected agent counts as away; 0 never.
    #[serde(default = "default_away_after_minutes")]
    pub away_after_minutes: i64,
    /// When the desk is open (issue 18); `None`: always.
    #[serde(default)]
    pub business_hours: Option<BusinessHours>,
    /// What the widget says above the chat while the desk is open; `""`: its own.
    #[serde(default)]
    pub greeting: String,
    /// What the widget says above the leave-a-message form while the desk is
    /// closed; `""`: its own.
    #[serde(default)]
    pub offline_message: String,
    /// Minutes without a visitor socket after which an agent's replies are
    /// emailed to the visitor (one email gathers them).
    #[serde(default = "default_email_after_minutes")]
    pub email_after_minutes: i64,
    /// Ask visitors to rate a conversation once it is resolved or closed.
    #[serde(default = "default_true")]
    pub csat: bool,
    /// Fields of a newer release, kept through this one's writes (never shown).
    #[serde(flatten, skip_serializing_if = "serde_json::Map::is_empty")]
    #[schema(ignore)]
    pub unknown: serde_json::Map<String, serde_json::Value>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            assignment: AssignmentMode::Auto,
            away_after_minutes: DEFAULT_AWAY_AFTER_MINUTES,
            business_hours: None,
            greeting: String::new(),
            offline_message: String::new(),
            email_after_minutes: DEFAULT_EMAIL_AFTER_MINUTES,
            csat: true,
            unknown: serde_json::Map::new(),
        }
    }
}

impl Settings {
    /// Reads a stored document; a broken one reads as the defaults (logged by
    /// the caller), since the service must keep routing.
    pub fn from_stored(body: &str) -> Result<Settings, serde_json::Error> {
        serde_json::from_str(body)
    }

    /// The document to store.
    pub fn to_stored(&self) -> String {
        // A struct of strings, numbers and JSON values always serialises.
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// What the API shows: the known fields only.
    pub fn public(&self) -> Settings {
        Settings {
            unknown: serde_json::Map::new(),
            ..self.clone()
        }
    }

    pub fn auto_assigns(&self) -> bool {
        self.assignment == AssignmentMode::Auto
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_document_reads_as_the_defaults() {
        assert_eq!(Settings::from_stored("{}").unwrap(), Settings::default());
    }

    #[test]
    fn fields_of_a_newer_release_survive_a_write() {
        let mut settings =
            Settings::from_stored(r#"{"assignment":"manual","canned_signature":"Hi"}"#).unwrap();
        assert_eq!(settings.assignment, AssignmentMode::Manual);
        settings.away_after_minutes = 5;
        let again = Settings::from_stored(&settings.to_stored()).unwrap();
        assert_eq!(
            again.unknown.get("canned_signature"),
            Some(&serde_json::json!("Hi"))
        );
        assert_eq!(again.away_after_minutes, 5);
    }
}
