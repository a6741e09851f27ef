use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a ticket is in its life. Stored as its snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Open,
    Assigned,
    InProgress,
    Resolved,
    Closed,
}

impl TicketStatus {
    pub const ALL: [TicketStatus; 5] = [
        TicketStatus::Open,
        TicketStatus::Assigned,
        TicketStatus::InProgress,
        TicketStatus::Resolved,
        TicketStatus::Closed,
    ];

    /// The statuses an agent's queue shows when no filter is given.
    pub const ACTIVE: [TicketStatus; 3] = [
        TicketStatus::Open,
        TicketStatus::Assigned,
        TicketStatus::InProgress,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Open => "open",
            TicketStatus::Assigned => "assigned",
            TicketStatus::InProgress => "in_progress",
            TicketStatus::Resolved => "resolved",
            TicketStatus::Closed => "closed",
        }
    }

    /// The transition table of the API contract; `closed` is final.
    pub fn can_become(self, next: TicketStatus) -> bool {
        use TicketStatus::*;
        matches!(
            (self, next),
            (Open, Assigned | Closed)
                | (Assigned, InProgress | Open | Resolved | Closed)
                | (InProgress, Assigned | Resolved | Closed)
                | (Resolved, InProgress | Closed)
        )
    }
}

impl fmt::Display for TicketStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TicketStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|v| v.as_str() == s).ok_or(())
    }
}

/// How urgent a ticket is; the queue shows urgent first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    #[default]
    Medium,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Medium,
        Priority::High,
        Priority::Urgent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    /// Sort key of the queue: higher comes first. The store keeps the queue's
    /// order in a generated column (`queue_rank`, migration 0014: 4 − rank).
    pub fn rank(self) -> i64 {
        match self {
            Priority::Low => 1,
            Priority::Medium => 2,
            Priority::High => 3,
            Priority::Urgent => 4,
        }
    }
}

impl FromStr for Priority {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|v| v.as_str() == s).ok_or(())
    }
}

/// Who may see a message: everyone on the ticket (`public`), or its agents only
/// (`internal`: private notes, and system notes such as priority and assignment
/// changes). Internal messages have no place in the visitor's stream: a visitor
/// numbers public messages only ([`crate::domain::Message::for_visitor`]).
///
/// Stored in the `audience` column as `all` / `agents` (its name and values from
/// migration 0005); JSON says `visibility`, and reads the old names too, so an
/// event from a node of the previous release is understood.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    #[default]
    #[serde(alias = "all")]
    Public,
    #[serde(alias = "agents")]
    Internal,
}

impl Visibility {
    /// The value of the `audience` column.
    pub fn as_db_str(self) -> &'static str {
        match self {
            Visibility::Public => "all",
            Visibility::Internal => "agents",
        }
    }

    pub fn is_internal(self) -> bool {
        self == Visibility::Internal
    }
}

impl std::str::FromStr for Visibility {
    type Err = ();
    /// Reads the `audience` column.
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "all" => Ok(Visibility::Public),
            "agents" => Ok(Visibility::Internal),
            _ => Err(()),
        }
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SenderType {
    User,
    Supporter,
    System,
}

impl SenderType {
    pub fn as_str(self) -> &'static str {
        match self {
            SenderType::User => "user",
            SenderType::Supporter => "supporter",
            SenderType::System => "system",
        }
    }

    /// The party whose messages count as unread for this reader.
    pub fn counterpart(self) -> SenderType {
        match self {
            SenderType::User => SenderType::Supporter,
            _ => SenderType::User,
        }
    }
}

impl FromStr for SenderType {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "user" => Ok(SenderType::User),
            "supporter" => Ok(SenderType::Supporter),
            "system" => Ok(SenderType::System),
            _ => Err(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_is_final_and_every_other_status_has_a_way_out() {
        for next in TicketStatus::ALL {
            assert!(!TicketStatus::Closed.can_become(next), "closed -> {next}");
        }
        for from in TicketStatus::ALL {
            assert!(
                !from.can_become(from),
                "{from} -> itself is not a transition"
            );
            if from != TicketStatus::Closed {
                assert!(from.can_become(TicketStatus::Closed), "{from} -> closed");
            }
        }
    }

    #[test]
    fn transition_table_matches_the_contract() {
        use TicketStatus::*;
        let allowed = [
            (Open, Assigned),
            (Assigned, InProgress),
            (Assigned, Open),
            (Assigned, Resolved),
            (InProgress, Assigned),
            (InProgress, Resolved),
            (Resolved, InProgress),
        ];
        for from in TicketStatus::ALL {
            for to in TicketStatus::ALL {
                let expected = to == Closed && from != Closed || allowed.contains(&(from, to));
                assert_eq!(from.can_become(to), expected, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for s in TicketStatus::ALL {
            assert_eq!(s.as_str().parse::<TicketStatus>(), Ok(s));
        }
        for p in Priority::ALL {
            assert_eq!(p.as_str().parse::<Priority>(), Ok(p));
        }
        assert!("Open".parse::<TicketStatus>().is_err());
    }
}
