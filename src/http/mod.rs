//! The HTTP surface: one module per resource, each with its `router()`, merged
//! here with the layers every request passes (body limit, timeout, panic guard,
//! one tracing span per request named by its route template, never its path).

mod agents;
mod assets;
pub mod extract;
mod guest;
pub mod health;
mod sockets;
mod tickets;

use crate::auth::TokenKeys;
use crate::broker::Broker;
use crate::chat::Chat;
use crate::config::Cidr;
use crate::domain::Agent;
use crate::domain::validation::Limits;
use crate::error::ApiError;
use crate::metrics::metrics;
use crate::realtime::hub::Hub;
use crate::store::Store;
use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::Method;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use extract::BodyLimit;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// Settings fixed at start that handlers read.
#[derive(Debug, Clone)]
pub struct Settings {
    pub node_id: String,
    /// `scheme://host[:port]` of the service, for the WebSocket origin check.
    pub public_origin: String,
    /// More browser origins allowed to open sockets.
    pub allowed_origins: Vec<String>,
    pub trusted_proxies: Vec<Cidr>,
    pub limits: Limits,
    /// Mark the login cookie `Secure` (the service is reached over https).
    pub secure_cookie: bool,
    pub max_body_bytes: usize,
    pub max_frame_bytes: usize,
    pub request_timeout: Duration,
    /// Chat messages per socket: burst, then per second.
    pub message_burst: u32,
    pub message_rate_per_second: u32,
    /// Sockets of a draining node close at random moments within this window.
    pub drain_window: Duration,
    /// Every socket is pinged this often...
    pub ping_interval: Duration,
    /// ...and closed when silent this long.
    pub idle_timeout: Duration,
}

/// Keyed rate limiters of the REST API (governor's GCRA, in memory per node).
pub struct RateLimiters {
    pub tickets: DefaultKeyedRateLimiter<IpAddr>,
    pub logins: DefaultKeyedRateLimiter<(IpAddr, String)>,
    pub sockets: DefaultKeyedRateLimiter<IpAddr>,
}

impl RateLimiters {
    pub fn new(tickets_per_minute: u32, logins_per_minute: u32, sockets_per_minute: u32) -> Self {
        let per_minute = |n: u32| Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        RateLimiters {
            tickets: RateLimiter::keyed(per_minute(tickets_per_minute)),
            logins: RateLimiter::keyed(per_minute(logins_per_minute)),
            sockets: RateLimiter::keyed(per_minute(sockets_per_minute)),
        }
    }

    /// Forgets keys idle long enough to be full again, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.tickets.retain_recent();
        self.logins.retain_recent();
        self.sockets.retain_recent();
    }
}

/// Takes one unit from `limiter` for `key`, or says how long to wait.
pub fn check_rate<K: Hash + Eq + Clone>(
    limit: &'static str,
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
) -> Result<(), ApiError> {
    limiter.check_key(key).map_err(|not_until| {
        metrics().rate_limited.with_label_values(&[limit]).inc();
        ApiError::RateLimited {
            retry_after: not_until.wait_time_from(DefaultClock::default().now()),
        }
    })
}

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub chat: Chat,
    pub store: Arc<dyn Store>,
    pub broker: Arc<dyn Broker>,
    pub tokens: Arc<TokenKeys>,
    pub settings: Arc<Settings>,
    pub limiters: Arc<RateLimiters>,
    /// Set on SIGTERM: readiness turns false and no new sockets are accepted.
    pub draining: Arc<AtomicBool>,
    /// This node's sockets, by ticket.
    pub hub: Hub,
    /// Cancelled on SIGTERM: every socket closes (1012) within the drain window.
    pub shutdown: CancellationToken,
    /// Every socket task, so shutdown can wait for them.
    pub sockets: TaskTracker,
}

impl AppState {
    /// The agent a token belongs to, if the token is valid and the agent enabled.
    pub async fn authenticate(&self, token: &str) -> Result<Agent, ApiError> {
        let claims = self
            .tokens
            .verify(token)
            .map_err(|_| ApiError::Unauthorized)?;
        let agent_id = claims.agent_id().ok_or(ApiError::Unauthorized)?;
        match self.store.agent_by_id(agent_id).await? {
            Some(agent) if !agent.disabled && agent.token_generation == claims.generation => {
                Ok(agent)
            }
            _ => Err(ApiError::Unauthorized),
        }
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }
}

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

pub fn router(state: AppState) -> Router {
    let limit = state.settings.max_body_bytes;
    let timeout = state.settings.request_timeout;
    Router::new()
        .merge(guest::router())
        .merge(tickets::router())
        .merge(agents::router())
        .merge(health::router())
        .merge(sockets::router())
        .merge(assets::router())
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
                .layer(TraceLayer::new_for_http().make_span_with({
                    let node_id = state.settings.node_id.clone();
                    move |request: &Request| request_span(request, &node_id)
                }))
                .layer(axum::middleware::from_fn(record_request))
                .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                    ApiError::Unavailable
                }))
                .timeout(timeout)
                .layer(DefaultBodyLimit::max(limit))
                .layer(axum::Extension(BodyLimit(limit))),
        )
        .with_state(state)
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
