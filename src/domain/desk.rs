//! The agents' tools around a conversation: canned responses (saved replies an
//! agent inserts with `/`) and ticket labels. Their shapes and field rules; the
//! store keeps them, the dashboard fills a canned body's placeholders in.

use super::validation::{self, ValidationError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Longest canned-response shortcut and ticket label (characters of `a-z 0-9 _ -`).
pub const SLUG_CHARS: usize = 32;
/// Longest canned-response title, in characters after trimming.
pub const CANNED_TITLE_CHARS: usize = 100;
/// Longest canned-response body, in characters after trimming.
pub const CANNED_BODY_CHARS: usize = 8192;
/// Most labels one ticket carries.
pub const MAX_LABELS: usize = 20;

/// A saved reply. `uses` counts insertions into the composer; lists are sorted
/// by it (most used first), then by shortcut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CannedResponse {
    pub id: i64,
    pub shortcut: String,
    pub title: String,
    /// The text, with `{{visitor.name}}`-style placeholders left as written.
    pub body: String,
    pub uses: i64,
    pub updated_at: DateTime<Utc>,
}

/// A validated canned response to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCanned {
    pub shortcut: String,
    pub title: String,
    pub body: String,
}

/// Validated changes to a canned response; `None` keeps a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CannedUpdate {
    pub shortcut: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
}

impl CannedUpdate {
    pub fn is_empty(&self) -> bool {
        self.shortcut.is_none() && self.title.is_none() && self.body.is_none()
    }
}

fn is_slug_char(c: char) -> bool {
    matches!(c, 'a'..='z' | '0'..='9' | '_' | '-')
}

/// A canned response's shortcut, taken exactly as sent: 1 to [`SLUG_CHARS`] of
/// `a-z 0-9 _ -` (no trimming, no lowercasing: it is typed after `/`).
pub fn shortcut(field: &str, value: Option<&str>) -> Result<String, ValidationError> {
    let value = value.ok_or_else(|| ValidationError::new(field, format!("{field} is required")))?;
    let chars = value.chars().count();
    if chars == 0 || chars > SLUG_CHARS || !value.chars().all(is_slug_char) {
        return Err(ValidationError::new(
            field,
            format!("{field} must be 1 to {SLUG_CHARS} of a-z, 0-9, _ and -"),
        ));
    }
    Ok(value.to_owned())
}

/// A canned response's title: trimmed, 1 to [`CANNED_TITLE_CHARS`] characters.
pub fn canned_title(value: Option<&str>) -> Result<String, ValidationError> {
    validation::required_text("title", value, CANNED_TITLE_CHARS)
}

/// A canned response's body: kept as written (line breaks and all), 1 to
/// [`CANNED_BODY_CHARS`] characters after trimming.
pub fn canned_body(value: Option<&str>) -> Result<String, ValidationError> {
    let limits = validation::Limits {
        message_chars: CANNED_BODY_CHARS,
        ..validation::Limits::default()
    };
    validation::message_text("body", value, &limits)
}

/// A ticket's label set: each label trimmed and lowercased, then 1 to
/// [`SLUG_CHARS`] of `a-z 0-9 _ -`; duplicates collapse; at most [`MAX_LABELS`].
/// Returned sorted, the order every ticket carries them in.
pub fn labels(values: &[String]) -> Result<Vec<String>, ValidationError> {
    let mut set = std::collections::BTreeSet::new();
    for raw in values {
        let label = raw.trim().to_lowercase();
        let chars = label.chars().count();
        if chars == 0 || chars > SLUG_CHARS || !label.chars().all(is_slug_char) {
            return Err(ValidationError::new(
                "labels",
                format!("each label must be 1 to {SLUG_CHARS} of a-z, 0-9, _ and - (got {raw:?})"),
            ));
        }
        set.insert(label);
    }
    if set.len() > MAX_LABELS {
        return Err(ValidationError::new(
            "labels",
            format!("a ticket carries at most {MAX_LABELS} labels"),
        ));
    }
    Ok(set.into_iter().collect())
}

/// One label in use, and on how many tickets (of any status).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LabelCount {
    pub name: String,
    pub count: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_trimmed_lowercased_deduplicated_and_sorted() {
        let given = [" VIP ".to_owned(), "billing".into(), "vip".into()];
        assert_eq!(labels(&given).unwrap(), ["billing", "vip"]);
    }

    #[test]
    fn bad_labels_are_refused() {
        for bad in [
            "",
            "two words",
            "ünïcode",
            &"x".repeat(SLUG_CHARS + 1),
            "a.b",
        ] {
            assert!(labels(&[bad.to_owned()]).is_err(), "{bad:?}");
        }
        let many: Vec<String> = (0..=MAX_LABELS).map(|i| format!("l{i}")).collect();
        assert!(labels(&many).is_err());
    }

    #[test]
    fn shortcuts_are_taken_exactly() {
        assert_eq!(
            shortcut("shortcut", Some("re-fund_2")).unwrap(),
            "re-fund_2"
        );
        for bad in [
            "",
            "Refund",
            " refund",
            "re fund",
            &"x".repeat(SLUG_CHARS + 1),
        ] {
            assert!(shortcut("shortcut", Some(bad)).is_err(), "{bad:?}");
        }
    }
}
