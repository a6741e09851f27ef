//! What nodes tell each other about the service rather than about a ticket, on
//! the broker's control channel (`{prefix}control`), which every node listens to
//! from its start. The envelope is versioned like the tickets' (`events.rs`):
//!
//! ```text
//! {"v":1,"event":{"type":"agent_revoked","agent_id":7,"generation":3}}
//! ```
//!
//! An event type this node does not know (a newer release's) is ignored.

use super::events::ENVELOPE_VERSION;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ControlEvent {
    /// Every token of the agent issued before its token generation reached
    /// `generation` is revoked: a logout, a password reset or the agent disabled.
    /// Idempotent and order-free: a node keeps the highest generation it heard.
    AgentRevoked { agent_id: i64, generation: i64 },
    /// An event of a newer release that this node does not know.
    #[serde(other)]
    Unknown,
}

impl ControlEvent {
    /// The event's envelope.
    pub fn encode(&self) -> Bytes {
        #[derive(Serialize)]
        struct Out<'a> {
            v: u32,
            event: &'a ControlEvent,
        }
        let out = Out {
            v: ENVELOPE_VERSION,
            event: self,
        };
        // A plain struct with string keys: serialising cannot fail.
        Bytes::from(serde_json::to_vec(&out).unwrap_or_default())
    }

    /// Reads an envelope; `None` for bytes that are none, or an unknown event.
    pub fn decode(payload: &[u8]) -> Option<ControlEvent> {
        #[derive(Deserialize)]
        struct In {
            event: ControlEvent,
        }
        match serde_json::from_slice::<In>(payload).ok()?.event {
            ControlEvent::Unknown => None,
            event => Some(event),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revocation_round_trips_and_unknown_events_are_ignored() {
        let event = ControlEvent::AgentRevoked {
            agent_id: 7,
            generation: 3,
        };
        let payload = event.encode();
        assert_eq!(
            std::str::from_utf8(&payload).unwrap(),
            r#"{"v":1,"event":{"type":"agent_revoked","agent_id":7,"generation":3}}"#
        );
        assert_eq!(ControlEvent::decode(&payload), Some(event));
        let newer = br#"{"v":2,"event":{"type":"maintenance","at":1}}"#;
        assert_eq!(ControlEvent::decode(newer), None);
        assert_eq!(ControlEvent::decode(b"garbage"), None);
    }
}
