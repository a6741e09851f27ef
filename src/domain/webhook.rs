//! Webhooks (issue 19): what a receiver subscribes to, what it is sent, and how
//! the body is signed. The outbox and its sender are in `chat/webhooks.rs` and
//! `store/webhook_sql.rs`.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;

/// The events a webhook can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
pub enum WebhookEvent {
    #[serde(rename = "ticket.created")]
    TicketCreated,
    #[serde(rename = "ticket.updated")]
    TicketUpdated,
    #[serde(rename = "message.created")]
    MessageCreated,
    #[serde(rename = "note.created")]
    NoteCreated,
    #[serde(rename = "rating.created")]
    RatingCreated,
}

impl WebhookEvent {
    pub const ALL: [WebhookEvent; 5] = [
        WebhookEvent::TicketCreated,
        WebhookEvent::TicketUpdated,
        WebhookEvent::MessageCreated,
        WebhookEvent::NoteCreated,
        WebhookEvent::RatingCreated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::TicketCreated => "ticket.created",
            WebhookEvent::TicketUpdated => "ticket.updated",
            WebhookEvent::MessageCreated => "message.created",
            WebhookEvent::NoteCreated => "note.created",
            WebhookEvent::RatingCreated => "rating.created",
        }
    }

    pub fn parse(s: &str) -> Option<WebhookEvent> {
        WebhookEvent::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// A registered receiver, as admins see it (never its secret, after the
/// answer that created it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub events: Vec<WebhookEvent>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Delivered,
            DeliveryStatus::Failed,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// One event for one webhook, as the delivery log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: i64,
    pub event_id: String,
    #[serde(rename = "type")]
    pub event: WebhookEvent,
    pub ticket_id: i64,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    /// When a pending delivery is tried next; `None` otherwise.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// The ids of events, the same in every delivery and on every attempt:
/// receivers deduplicate by them.
pub fn message_event_id(message_id: i64) -> String {
    format!("evt_m_{message_id}")
}

pub fn ticket_created_event_id(ticket_id: i64) -> String {
    format!("evt_t_{ticket_id}")
}

pub fn rating_event_id(ticket_id: i64) -> String {
    format!("evt_r_{ticket_id}")
}

pub fn ticket_updated_event_id() -> String {
    format!("evt_u_{}", uuid::Uuid::new_v4().simple())
}

/// The body of a delivery.
pub fn envelope(id: &str, event: WebhookEvent, created_at: DateTime<Utc>, data: Value) -> String {
    serde_json::json!({ "id": id, "type": event, "created_at": created_at, "data": data })
        .to_string()
}

/// The `X-Livesupport-Signature` header: `t=UNIX,v1=HEX`, HEX the HMAC-SHA256
/// of `"{t}.{body}"` under the webhook's secret.
pub fn signature(secret: &str, unix: i64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(format!("{unix}.").as_bytes());
    mac.update(body.as_bytes());
    format!("t={unix},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// A new webhook's secret: `whsec_` and 32 random bytes in hex.
pub fn new_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("whsec_{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_by_name() {
        for event in WebhookEvent::ALL {
            assert_eq!(WebhookEvent::parse(event.as_str()), Some(event));
            assert_eq!(serde_json::json!(event), event.as_str());
        }
        assert_eq!(WebhookEvent::parse("message.deleted"), None);
    }

    #[test]
    fn the_signature_is_the_documented_hmac() {
        // The documented example: HMAC-SHA256("whsec_test", "1700000000.{}")
        // computed independently (Python's hmac module).
        assert_eq!(
            signature("whsec_test", 1_700_000_000, "{}"),
            "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
    }

    #[test]
    fn secrets_are_new_each_time() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), "whsec_".len() + 64);
    }
}
