//! Ticket and message validation on arbitrary input: never panics, and whatever it
//! accepts is within the limits it enforces.
#![no_main]

use libfuzzer_sys::fuzz_target;
use livesupport::domain::validation::{self, Limits};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let limits = Limits::default();
    let mut fields = text.split('\u{1f}');
    let name = fields.next().unwrap_or_default();
    let email = fields.next().unwrap_or_default();
    let message = fields.next().unwrap_or_default();
    let key = fields.next().unwrap_or_default();
    if let Ok(name) = validation::required_text("user_name", Some(name), limits.name_chars) {
        assert!(!name.is_empty() && name.chars().count() <= limits.name_chars);
        assert!(!name.chars().any(char::is_control));
    }
    if let Ok(Some(email)) = validation::optional_email("user_email", Some(email), &limits) {
        assert!(email.contains('@') && email.chars().count() <= limits.email_chars);
    }
    if let Ok(accepted) = validation::message_text("message", Some(message), &limits) {
        assert_eq!(accepted, message, "message text is kept as sent");
        let trimmed = accepted.trim().chars().count();
        assert!((1..=limits.message_chars).contains(&trimmed));
    }
    if let Ok(Some(key)) = validation::client_msg_id(Some(key), &limits) {
        assert!(key.chars().count() <= limits.client_msg_id_chars);
    }
});
