//! `/metrics`, the Prometheus scrape. Where it is served is a deployment's
//! choice: on the main port by default (one node, `make run`), or with
//! `METRICS_BIND` on a listener of its own that only Prometheus reaches (the
//! main port, and so the Ingress, then answers 404 for it). With
//! `METRICS_TOKEN` it answers only `Authorization: Bearer <token>`, compared in
//! constant time; anything else gets 401 with the error body.

use crate::config::Secret;
use crate::error::ApiError;
use crate::metrics::metrics;
use axum::Router;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The route, mergeable into any router: open, or behind `token`.
pub fn router<S: Clone + Send + Sync + 'static>(token: Option<&Secret>) -> Router<S> {
    // Digests of equal length, so that the comparison does not leak the length.
    let expected: Option<Arc<[u8]>> = token.map(|t| digest(t.expose()).into());
    Router::new().route(
        "/metrics",
        get(move |headers: HeaderMap| {
            let expected = expected.clone();
            async move { scrape(expected.as_deref(), &headers) }
        }),
    )
}

/// `/metrics`'s part of the OpenAPI description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(metrics_route))]
pub struct Api;

/// What [`router`]'s closure answers, for the description only (a closure
/// cannot carry the annotation).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    summary = "The Prometheus scrape",
    description = "On the main port only while METRICS_BIND is unset (else 404 here). \
        With METRICS_TOKEN it needs `Authorization: Bearer` with that token.",
    responses(
        (status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
        (status = 401, description = "`unauthorized`: METRICS_TOKEN is set and not presented", body = crate::error::ErrorEnvelope,
            headers(("WWW-Authenticate" = String))),
        (status = 404, description = "`not_found`: served on METRICS_BIND's listener instead", body = crate::error::ErrorEnvelope),
    ),
    security((), ("metrics_token" = [])),
)]
#[allow(dead_code)]
fn metrics_route() {}

fn digest(text: &str) -> Vec<u8> {
    Sha256::digest(text.as_bytes()).to_vec()
}

fn scrape(expected: Option<&[u8]>, headers: &HeaderMap) -> Response {
    if let Some(expected) = expected
        && !presents(expected, headers)
    {
        return (
            [(header::WWW_AUTHENTICATE, "Bearer")],
            ApiError::Unauthorized,
        )
            .into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics().render(),
    )
        .into_response()
}

/// Whether the request carries `Authorization: Bearer` with the token whose
/// digest is `expected`.
fn presents(expected: &[u8], headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, token)) = value.split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer")
        && bool::from(digest(token.trim()).as_slice().ct_eq(expected))
}

/// The metrics listener of a node started with `METRICS_BIND`, serving until
/// [`MetricsServer::stop`].
pub struct MetricsServer {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl MetricsServer {
    /// Serves `/metrics` (and 404 for anything else) on `listener`.
    pub fn start(listener: TcpListener, token: Option<&Secret>) -> MetricsServer {
        let stop = CancellationToken::new();
        let app = router(token).fallback(|| async { ApiError::NotFound("route") });
        let served =
            axum::serve(listener, app).with_graceful_shutdown(stop.clone().cancelled_owned());
        let task = tokio::spawn(async move {
            if let Err(err) = served.await {
                tracing::error!(cause = %err, "the metrics listener failed");
            }
        });
        MetricsServer { stop, task }
    }

    /// Stops listening and waits for the scrapes in flight.
    pub async fn stop(mut self) {
        self.stop.cancel();
        let _ = (&mut self.task).await;
    }
}

/// A node whose serving ends any other way (its task aborted) stops listening too.
impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_authorization(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn only_the_exact_bearer_token_is_accepted() {
        let expected = digest("metrics-token-0123456789");
        let cases = [
            ("Bearer metrics-token-0123456789", true),
            ("bearer metrics-token-0123456789", true),
            ("Bearer metrics-token-012345678", false),
            ("Bearer metrics-token-01234567890", false),
            ("Basic metrics-token-0123456789", false),
            ("metrics-token-0123456789", false),
            ("Bearer ", false),
        ];
        for (value, accepted) in cases {
            assert_eq!(
                presents(&expected, &with_authorization(value)),
                accepted,
                "{value:?}"
            );
        }
        assert!(!presents(&expected, &HeaderMap::new()), "no header");
    }
}
