//! The parsing of request headers an attacker controls: the bearer token and the
//! login cookie, `Origin` (and the cross-site rule built on it), `X-Forwarded-For`
//! behind a trusted proxy, and CIDRs. Never panics, and what it accepts holds the
//! invariants the handlers rely on.
#![no_main]

use http::{HeaderMap, HeaderValue, Method};
use libfuzzer_sys::fuzz_target;
use livesupport::config::{Cidr, origin_of};
use livesupport::http::csrf::is_cross_site;
use livesupport::http::extract::{bearer_token, client_ip};
use std::net::IpAddr;

const OWN_ORIGIN: &str = "https://support.example.com";

fuzz_target!(|data: &[u8]| {
    let mut fields = data.split(|b| *b == 0x1f);
    let mut headers = HeaderMap::new();
    for name in [
        "authorization",
        "cookie",
        "origin",
        "sec-fetch-site",
        "x-forwarded-for",
    ] {
        if let Some(value) = fields
            .next()
            .and_then(|raw| HeaderValue::from_bytes(raw).ok())
        {
            headers.insert(name, value);
        }
    }
    let cidr = fields
        .next()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();

    if let Some(token) = bearer_token(&headers) {
        assert!(!token.is_empty() && token.trim() == token);
    }
    if let Some(origin) = headers
        .get("origin")
        .and_then(|o| o.to_str().ok())
        .and_then(origin_of)
    {
        assert!(origin.starts_with("http://") || origin.starts_with("https://"));
        assert_eq!(
            origin_of(&origin).as_deref(),
            Some(origin.as_str()),
            "normalising is idempotent"
        );
    }
    for method in [Method::GET, Method::POST] {
        let refused = is_cross_site(&method, &headers, OWN_ORIGIN);
        assert!(
            !(refused && method == Method::GET),
            "reads are never refused"
        );
        assert!(
            !(refused && headers.contains_key("authorization")),
            "bearer requests are never refused"
        );
    }
    let peer: IpAddr = [198, 51, 100, 7].into();
    if let Ok(net) = cidr.parse::<Cidr>() {
        let trusted = [net];
        let ip = client_ip(peer, &headers, &trusted);
        if !net.contains(peer) {
            assert_eq!(
                ip, peer,
                "X-Forwarded-For is believed only from a trusted peer"
            );
        }
    }
});
