//! Cross-site request forgery: a browser sends the login cookie with every request
//! to the service, whatever page made it — and `SameSite=Strict` lets through pages
//! of sibling hosts (a storefront on the same registrable domain). So a
//! state-changing request that the cookie authenticates must show that the
//! dashboard made it: an `Origin` equal to the service's own, or, from a browser
//! that sends no `Origin`, `Sec-Fetch-Site: same-origin`. Requests carrying
//! `Authorization` (API clients, the load tester) do not rely on the cookie and
//! pass untouched; so do reads (`GET`, `HEAD`, `OPTIONS`), which change nothing.
//!
//! The other half of the defence is in [`super::extract::JsonBody`]: a body that
//! is not `application/json` is refused (415), so an HTML form, which cannot send
//! that type, cannot post JSON.

use super::AppState;
use crate::auth::TOKEN_COOKIE;
use crate::config::origin_of;
use crate::error::ApiError;
use crate::metrics::metrics;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;

/// Refuses a cookie-authenticated, state-changing request that no page of the
/// service's own origin made (403 `forbidden`).
pub async fn same_origin_guard(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let own_origin = &state.settings.public_origin;
    if is_cross_site(request.method(), request.headers(), own_origin) {
        metrics().csrf_refused.inc();
        return ApiError::Forbidden(
            "a request authenticated by the login cookie must come from the dashboard's own origin",
        )
        .into_response();
    }
    next.run(request).await
}

/// Whether a request is a state change that the cookie authenticates and that
/// no page of `own_origin` made. Reads, requests without the cookie and requests
/// with `Authorization` are never cross-site here.
pub fn is_cross_site(method: &Method, headers: &HeaderMap, own_origin: &str) -> bool {
    let changes_state = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !changes_state || !authenticated_by_cookie(headers) {
        return false;
    }
    let from_own_pages = match headers.get(header::ORIGIN) {
        Some(origin) => origin
            .to_str()
            .ok()
            .and_then(origin_of)
            .is_some_and(|origin| origin == own_origin),
        None => headers
            .get("sec-fetch-site")
            .is_some_and(|site| site.as_bytes() == b"same-origin"),
    };
    !from_own_pages
}

/// The cookie authenticates a request only when no `Authorization` header does
/// (see [`super::extract::bearer_token`]).
fn authenticated_by_cookie(headers: &HeaderMap) -> bool {
    !headers.contains_key(header::AUTHORIZATION)
        && CookieJar::from_headers(headers).get(TOKEN_COOKIE).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: &str = "https://support.example.com";

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, value.parse().unwrap());
        }
        headers
    }

    fn refused(pairs: &[(&'static str, &'static str)]) -> bool {
        is_cross_site(&Method::POST, &headers(pairs), OWN)
    }

    const COOKIE: (&str, &str) = ("cookie", "livesupport_token=t");

    #[test]
    fn cookie_requests_from_other_origins_are_refused() {
        assert!(refused(&[COOKIE, ("origin", "https://shop.example.com")]));
        assert!(refused(&[COOKIE, ("origin", "null")]));
        assert!(refused(&[COOKIE, ("sec-fetch-site", "same-site")]));
        assert!(refused(&[COOKIE]));
    }

    #[test]
    fn the_dashboards_own_requests_pass() {
        assert!(!refused(&[COOKIE, ("origin", OWN)]));
        assert!(!refused(&[
            COOKIE,
            ("origin", "https://SUPPORT.example.com:443")
        ]));
        assert!(!refused(&[COOKIE, ("sec-fetch-site", "same-origin")]));
    }

    #[test]
    fn an_origin_header_wins_over_sec_fetch_site() {
        let forged = [
            COOKIE,
            ("origin", "https://shop.example.com"),
            ("sec-fetch-site", "same-origin"),
        ];
        assert!(refused(&forged));
    }

    #[test]
    fn reads_bearer_requests_and_cookieless_requests_pass() {
        let cross = ("origin", "https://shop.example.com");
        assert!(!is_cross_site(
            &Method::GET,
            &headers(&[COOKIE, cross]),
            OWN
        ));
        assert!(!refused(&[COOKIE, cross, ("authorization", "Bearer t")]));
        assert!(!refused(&[cross]));
        assert!(!refused(&[("cookie", "other=1"), cross]));
    }
}
