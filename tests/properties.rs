//! Properties over generated input: parsing and validation never panic, and what
//! is stored comes back byte for byte.

mod common;

use livesupport::domain::validation::{self, Limits};
use livesupport::domain::{MessageDraft, NewTicket, Priority, SenderType};
use livesupport::realtime::protocol::parse_client_frame;
use livesupport::store::{self, MessageRange};
use proptest::prelude::*;

fn frame_like() -> impl Strategy<Value = String> {
    let kind = prop_oneof![
        Just("message".to_owned()),
        Just("typing".to_owned()),
        Just("read".to_owned()),
        ".{0,12}"
    ];
    let value = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        ".{0,40}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        Just("{\"is_typing\":true}".to_owned()),
        Just("{\"up_to_seq\":3}".to_owned()),
        Just("[1,2]".to_owned()),
    ];
    (kind, value.clone(), value.clone(), value).prop_map(|(kind, message, key, data)| {
        format!(
            r#"{{"type":{},"message":{message},"client_msg_id":{key},"data":{data}}}"#,
            serde_json::to_string(&kind).unwrap()
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn frame_parsing_never_panics_on_any_text(text in ".{0,300}") {
        let _ = parse_client_frame(&text);
    }

    #[test]
    fn frame_parsing_never_panics_on_frame_shaped_json(text in frame_like()) {
        match parse_client_frame(&text) {
            Ok(_) => {}
            Err((error, _)) => prop_assert!(matches!(error.code(), "invalid_json" | "validation_failed")),
        }
    }

    #[test]
    fn validation_never_panics_and_enforces_its_limits(text in "\\PC{0,300}|[ \\t\\n]{0,5}") {
        let limits = Limits { message_chars: 50, ..Limits::default() };
        if let Ok(accepted) = validation::message_text("message", Some(&text), &limits) {
            prop_assert_eq!(&accepted, &text);
            let trimmed = accepted.trim().chars().count();
            prop_assert!((1..=50).contains(&trimmed));
        }
        if let Ok(name) = validation::required_text("user_name", Some(&text), 100) {
            prop_assert!(!name.is_empty() && name.chars().count() <= 100);
        }
        let _ = validation::optional_email("user_email", Some(&text), &limits);
        let _ = validation::client_msg_id(Some(&text), &limits);
        let _ = validation::password("password", Some(&text), &limits);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_stored_message_comes_back_byte_identical(text in "\\PC{0,200}[a-zA-Z0-9\\PC]\\PC{0,200}") {
        prop_assume!(!text.trim().is_empty() && !text.contains('\0'));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let (url, _dir) = common::sqlite_database();
            let store = store::connect(&url, 1).await.unwrap();
            let (ticket, _) = store
                .create_ticket(&NewTicket {
                    session_id: uuid::Uuid::new_v4().to_string(),
                    user_id: None,
                    user_name: "P".into(),
                    user_email: None,
                    subject: "property".into(),
                    priority: Priority::Low,
                    first_message: None,
                })
                .await
                .unwrap();
            let draft = MessageDraft {
                sender_type: SenderType::User,
                sender_id: None,
                sender_name: Some("P".into()),
                text: validation::message_text("message", Some(&text), &Limits::default()).unwrap(),
                client_msg_id: None,
                visibility: Default::default(),
                attachments: Vec::new(),
            };
            let appended = store.append_message(ticket.id, &draft).await.unwrap();
            let read = store
                .messages(ticket.id, MessageRange { after_seq: 0, before_seq: None, limit: 10 })
                .await
                .unwrap();
            assert_eq!(appended.message.message.as_bytes(), text.as_bytes());
            assert_eq!(read.messages[0].message.as_bytes(), text.as_bytes());
        });
    }
}
