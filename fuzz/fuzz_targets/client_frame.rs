//! The WebSocket frame parser takes any text a client sends: it must never panic,
//! and a refusal is always one of the two codes a client can act on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use livesupport::realtime::protocol::parse_client_frame;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Err((error, _)) = parse_client_frame(&text) {
        assert!(matches!(error.code(), "invalid_json" | "validation_failed"));
    }
});
