//! The HTTP surface: one module per resource, each with its `router()`, merged
//! here (`/metrics` only when it has no listener of its own, see [`scrape`]) with the layers every request passes (body limit, timeout, panic guard,
//! one tracing span per request named by its route template, never its path).

mod agents;
mod assets;
mod attachments;
mod context;
pub mod csrf;
mod desk;
mod email;
pub mod extract;
mod guest;
pub mod health;
pub mod limits;
mod notes;
pub mod openapi;
mod reports;
mod routing;
pub mod scrape;
pub mod socket_caps;
mod sockets;
mod tickets;
mod webhooks;

pub use crate::app::{AppState, Settings};
pub use limits::{RateLimiters, check_rate};

use crate::error::ApiError;
use crate::metrics::metrics;
use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::Method;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use extract::BodyLimit;
use std::time::Duration;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// Browsers on the storefronts of `ALLOWED_ORIGINS` may call the API (without
/// credentials: agents use the dashboard on the service's own origin).
fn cors(settings: &Settings) -> CorsLayer {
    let origins: Vec<HeaderValue> = std::iter::once(&settings.public_origin)
        .chain(&settings.allowed_origins)
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PATCH])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
        .max_age(Duration::from_secs(600))
}

/// `Strict-Transport-Security` of a service reached over https: browsers then use
/// https only, for a year. Without `includeSubDomains`: sibling hosts of the
/// storefront's domain are not ours to decide for.
const HSTS: &str = "max-age=31536000";

pub fn router(state: AppState) -> Router {
    let limit = state.settings.max_body_bytes;
    let timeout = state.settings.request_timeout;
    let hsts = state
        .settings
        .secure_cookie
        .then(|| HeaderValue::from_static(HSTS));
    let scrape = if state.settings.metrics_on_main_port {
        scrape::router(state.settings.metrics_token.as_ref())
    } else {
        Router::new()
    };
    // Every route but the uploads is answered within the request time-out;
    // uploads, whose bodies take longer to arrive, have their own.
    let routes = Router::new()
        .merge(scrape)
        .merge(guest::router())
        .merge(tickets::router())
        .merge(notes::router())
        .merge(context::router())
        .merge(agents::router())
        .merge(routing::router())
        .merge(desk::router())
        .merge(email::router())
        .merge(webhooks::router())
        .merge(reports::router())
        .merge(health::router())
        .merge(sockets::router())
        .merge(assets::router())
        .merge(attachments::router())
        .merge(openapi::router());
    let timed = with_timeout(routes, timeout);
    let uploads = attachments::upload_router(
        state.chat.attachments.max_bytes,
        state.settings.upload_timeout,
    );
    Router::new()
        .merge(timed)
        .merge(uploads)
        .fallback(|| async { ApiError::NotFound("route") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(cors(&state.settings))
        .layer(
            ServiceBuilder::new()
                .layer(CatchPanicLayer::custom(|_| {
                    ApiError::Internal.into_response()
                }))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("strict-origin-when-cross-origin"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::STRICT_TRANSPORT_SECURITY,
                    move |_: &_| hsts.clone(),
                ))
                .layer(TraceLayer::new_for_http().make_span_with({
                    let node_id = state.settings.node_id.clone();
                    move |request: &Request| request_span(request, &node_id)
                }))
                .layer(axum::middleware::from_fn(record_request))
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    csrf::same_origin_guard,
                ))
                .layer(DefaultBodyLimit::max(limit))
                .layer(axum::Extension(BodyLimit(limit))),
        )
        .with_state(state)
}

/// `router` answering 503 `unavailable` for a request not answered within `timeout`.
fn with_timeout<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    timeout: Duration,
) -> Router<S> {
    router.layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                ApiError::Unavailable
            }))
            .timeout(timeout),
    )
}

/// A request's span names the route template (`/api/support/ticket/{key}`), never
/// the path itself, which may hold a guest's session id.
/// `ticket_id` is filled in by the handler once it knows the ticket
/// ([`record_ticket`]).
fn request_span(request: &Request, node_id: &str) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        .unwrap_or("unmatched");
    tracing::info_span!(
        "request",
        method = %request.method(),
        route,
        node_id,
        ticket_id = tracing::field::Empty
    )
}

/// Names the ticket a request is about in its span (and so in its log lines).
pub fn record_ticket(ticket_id: i64) {
    tracing::Span::current().record("ticket_id", ticket_id);
}

/// Counts and times every request by route template, method and status.
async fn record_request(
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let m = metrics();
    m.http_duration
        .with_label_values(&[route.as_str(), method.as_str()])
        .observe(started.elapsed().as_secs_f64());
    m.http_requests
        .with_label_values(&[route.as_str(), method.as_str(), response.status().as_str()])
        .inc();
    response
}
