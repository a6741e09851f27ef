//! Field rules shared by REST and WebSocket input. Each failure names the field,
//! so the client can point at it.

use serde::Serialize;

/// Size limits on what visitors and agents send; defaults are the contract's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    pub message_chars: usize,
    pub name_chars: usize,
    pub subject_chars: usize,
    pub email_chars: usize,
    pub user_id_chars: usize,
    pub client_msg_id_chars: usize,
    pub password_min_chars: usize,
    pub password_max_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            message_chars: 8192,
            name_chars: 100,
            subject_chars: 200,
            email_chars: 254,
            user_id_chars: 128,
            client_msg_id_chars: 64,
            password_min_chars: 10,
            password_max_chars: 1024,
        }
    }
}

/// One invalid field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError {
            field: field.into(),
            message: message.into(),
        }
    }
}

type Checked<T> = Result<T, ValidationError>;

/// Unicode's default-ignorable code points (DerivedCoreProperties.txt,
/// `Default_Ignorable_Code_Point`): zero-width spaces and joiners, the byte order
/// mark, soft hyphen, variation selectors, tags… Nothing a reader sees: a text of
/// only these (and whitespace) counts as empty.
pub fn is_default_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Whether a text shows nothing: only whitespace and default-ignorable code points.
pub fn is_blank(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_whitespace() || is_default_ignorable(c))
}

/// A required text field, trimmed, of 1 to `max` characters; one that shows
/// nothing (whitespace and invisible characters only) is missing.
pub fn required_text(field: &str, value: Option<&str>, max: usize) -> Checked<String> {
    let value = value
        .map(str::trim)
        .filter(|v| !is_blank(v))
        .ok_or_else(|| ValidationError::new(field, format!("{field} is required")))?;
    let chars = value.chars().count();
    if chars > max {
        return Err(ValidationError::new(
            field,
            format!("{field} must be at most {max} characters (got {chars})"),
        ));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(ValidationError::new(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(value.to_owned())
}

/// Chat text: 1 to `limits.message_chars` characters after trimming. The text is
/// kept as sent (a stored message comes back byte-identical); only its trimmed
/// length is checked, and a text that shows nothing (whitespace and invisible
/// characters only) is empty.
pub fn message_text(field: &str, value: Option<&str>, limits: &Limits) -> Checked<String> {
    let raw = value.ok_or_else(|| ValidationError::new(field, format!("{field} is required")))?;
    let chars = raw.trim().chars().count();
    if chars == 0 || is_blank(raw) {
        return Err(ValidationError::new(
            field,
            format!("{field} must not be empty"),
        ));
    }
    if chars > limits.message_chars {
        return Err(ValidationError::new(
            field,
            format!(
                "{field} must be at most {} characters (got {chars})",
                limits.message_chars
            ),
        ));
    }
    if raw.contains('\0') {
        return Err(ValidationError::new(
            field,
            format!("{field} must not contain NUL characters"),
        ));
    }
    Ok(raw.to_owned())
}

/// An optional email: blank means absent; otherwise it must look like an address.
pub fn optional_email(
    field: &str,
    value: Option<&str>,
    limits: &Limits,
) -> Checked<Option<String>> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > limits.email_chars {
        return Err(ValidationError::new(
            field,
            format!("{field} must be at most {} characters", limits.email_chars),
        ));
    }
    if !looks_like_email(value) {
        return Err(ValidationError::new(
            field,
            format!("{field} is not a valid email address"),
        ));
    }
    Ok(Some(value.to_owned()))
}

/// A required email (agent accounts), lower-cased so logins ignore case.
pub fn required_email(field: &str, value: Option<&str>, limits: &Limits) -> Checked<String> {
    optional_email(field, value, limits)?
        .map(|e| e.to_lowercase())
        .ok_or_else(|| ValidationError::new(field, format!("{field} is required")))
}

/// Deliberately loose: one `@`, something before it, a dotted domain after it, no
/// spaces. Real verification is the mail server's job.
fn looks_like_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The sender's idempotency key: 1 to `limits.client_msg_id_chars` printable characters.
/// A file's caption: like a message's text, but optional (blank is `""`), and
/// stored trimmed.
pub fn caption_text(field: &str, raw: &str, limits: &Limits) -> Checked<String> {
    if is_blank(raw) {
        return Ok(String::new());
    }
    let text = message_text(field, Some(raw), limits)?;
    Ok(text.trim().to_owned())
}

pub fn client_msg_id(value: Option<&str>, limits: &Limits) -> Checked<Option<String>> {
    let Some(value) = value else { return Ok(None) };
    let chars = value.chars().count();
    if chars == 0 || chars > limits.client_msg_id_chars {
        return Err(ValidationError::new(
            "client_msg_id",
            format!(
                "client_msg_id must be 1 to {} characters",
                limits.client_msg_id_chars
            ),
        ));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(ValidationError::new(
            "client_msg_id",
            "client_msg_id must not contain control characters",
        ));
    }
    Ok(Some(value.to_owned()))
}

/// A new password: long enough to resist guessing, short enough to hash cheaply.
pub fn password(field: &str, value: Option<&str>, limits: &Limits) -> Checked<String> {
    let value = value.ok_or_else(|| ValidationError::new(field, format!("{field} is required")))?;
    let chars = value.chars().count();
    if chars < limits.password_min_chars || chars > limits.password_max_chars {
        return Err(ValidationError::new(
            field,
            format!(
                "{field} must be {} to {} characters",
                limits.password_min_chars, limits.password_max_chars
            ),
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_fields_are_named_and_explained() {
        let limits = Limits::default();
        let long_name = "x".repeat(101);
        let cases: [(&str, Checked<String>, &str); 5] = [
            (
                "missing name",
                required_text("user_name", None, 100),
                "user_name is required",
            ),
            (
                "blank name",
                required_text("user_name", Some("   "), 100),
                "user_name is required",
            ),
            (
                "long name",
                required_text("user_name", Some(&long_name), 100),
                "user_name must be at most 100 characters (got 101)",
            ),
            (
                "blank message",
                message_text("message", Some(" \n "), &limits),
                "message must not be empty",
            ),
            (
                "bad email",
                required_email("user_email", Some("john@"), &limits),
                "user_email is not a valid email address",
            ),
        ];
        for (case, result, expected) in cases {
            let err = result.expect_err(case);
            assert_eq!(err.message, expected, "{case}");
        }
    }

    #[test]
    fn a_text_of_only_invisible_characters_is_empty_and_a_visible_one_kept_as_sent() {
        let limits = Limits::default();
        for invisible in [
            "\u{200B}",
            "\u{FEFF}\u{2060}",
            " \u{200D}\u{00AD} ",
            "\u{E0041}",
        ] {
            assert!(
                message_text("message", Some(invisible), &limits).is_err(),
                "{invisible:?} is empty"
            );
            assert!(
                required_text("user_name", Some(invisible), 100).is_err(),
                "{invisible:?} is no name"
            );
        }
        let joined = "\u{200B}hi\u{200D}";
        assert_eq!(
            message_text("message", Some(joined), &limits).unwrap(),
            joined
        );
        assert_eq!(
            required_text("user_name", Some("Zoë\u{200B}"), 100).unwrap(),
            "Zoë\u{200B}"
        );
    }

    #[test]
    fn message_text_is_kept_as_sent_and_measured_trimmed() {
        let limits = Limits {
            message_chars: 3,
            ..Limits::default()
        };
        assert_eq!(
            message_text("message", Some("  abc  "), &limits).unwrap(),
            "  abc  "
        );
        assert!(message_text("message", Some("abcd"), &limits).is_err());
        // Characters, not bytes: three emoji fit in three.
        assert!(message_text("message", Some("🙂🙂🙂"), &limits).is_ok());
    }

    #[test]
    fn emails_that_look_right_pass() {
        let limits = Limits::default();
        for ok in ["john@example.com", "a.b+c@sub.example.co.uk"] {
            assert!(
                optional_email("e", Some(ok), &limits).unwrap().is_some(),
                "{ok}"
            );
        }
        for bad in [
            "john",
            "@example.com",
            "john@example",
            "jo hn@example.com",
            "a@b@c.com",
            "a@.com",
        ] {
            assert!(optional_email("e", Some(bad), &limits).is_err(), "{bad}");
        }
        assert_eq!(optional_email("e", Some("  "), &limits).unwrap(), None);
    }
}
