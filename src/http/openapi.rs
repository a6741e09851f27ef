//! The OpenAPI 3.1 description of the REST API (issue 19), served at
//! `GET /api/openapi.json`. It is derived from the code: each handler carries a
//! `#[utoipa::path]` annotation, each resource module lists its annotated
//! handlers in an `Api` struct beside its `router()`, and [`document`] merges
//! those parts. `tests/openapi.rs` fails when the router answers on a route the
//! description does not hold; `scripts/schemathesis.sh` checks a running node's
//! answers against it.
//!
//! Not described, on purpose:
//! - the WebSocket upgrades (`/ws/support/…`): OpenAPI has no words for a frame
//!   protocol; docs/API.md § WebSocket is their contract;
//! - the web pages and built assets (`/support/…`, `/widget.js`, `/assets/…`):
//!   HTML and JavaScript for browsers, not an API.
//!
//! The operations routes (`/healthz`, `/readyz`, `/metrics`) are described, as
//! plain text: load balancers and Prometheus are clients too.
//!
//! The answers every operation can give are added here rather than on each
//! handler ([`CommonAnswers`]): 500 and 503 anywhere (the time-out, draining, the
//! database), 401 on the agent routes, 403 on every change (the cross-site guard
//! of cookie-authenticated requests), and 400, 413 and 415 wherever a JSON body
//! is read. The annotations name the rest: 403, 404, 409, 429 and the 400s of
//! parameters and bodies.

use crate::error::{ErrorBody, ErrorEnvelope};
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Router, response::Response};
use std::sync::LazyLock;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, ObjectBuilder, OpenApi as Document, Ref, RefOr, ResponseBuilder,
    Type,
};
use utoipa::{Modify, OpenApi};

use super::AppState;

/// The name of the agents' security scheme in the description.
pub const BEARER: &str = "bearer";

pub fn router() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(openapi_json))
}

/// The description, serialized once (it never changes while the process runs).
static DOCUMENT_JSON: LazyLock<String> = LazyLock::new(|| {
    // A document of strings, maps and numbers always serializes.
    document().to_json().unwrap_or_else(|_| "{}".to_owned())
});

#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "meta",
    summary = "This description",
    description = "The OpenAPI 3.1 description of every REST route, generated from the code.",
    responses((status = 200, description = "The description", content_type = "application/json", body = serde_json::Value)),
)]
async fn openapi_json() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        DOCUMENT_JSON.as_str(),
    )
        .into_response()
}

/// The parts that are not a resource's: the document's head, the error schema,
/// the security scheme and this route.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "livesupport",
        description = "The REST API of livesupport, a live support chat service. \
            docs/API.md is the contract in prose (rules, limits, decisions); the WebSocket \
            protocol is described there only.\n\n\
            Agents authenticate with `Authorization: Bearer TOKEN` from \
            `POST /api/support/auth/login` (or the `livesupport_token` cookie it sets, \
            for the dashboard). Guests hold a ticket's `session_id`, returned once at its \
            creation: it is the capability in the path of the guest routes. \
            Every error answer is `{\"error\": {\"code\", \"message\", \"field\"?, \"retry_after\"?}}`."
    ),
    paths(openapi_json),
    components(schemas(ErrorEnvelope, ErrorBody)),
    tags(
        (name = "guest", description = "The visitor's routes: the session id in the path is the capability"),
        (name = "agent", description = "The support team's routes: `Authorization: Bearer`"),
        (name = "admin", description = "Agent routes that need the admin role (others get 403)"),
        (name = "public", description = "Routes without credentials"),
        (name = "operations", description = "Health and metrics for orchestrators"),
        (name = "meta", description = "This description"),
    ),
)]
struct Head;

/// The whole description: the head, each resource module's part, and the
/// answers every operation shares. A new resource module adds its `Api` here.
pub fn document() -> Document {
    let mut doc = Head::openapi();
    for part in [
        super::guest::Api::openapi(),
        super::tickets::Api::openapi(),
        super::notes::Api::openapi(),
        super::context::Api::openapi(),
        super::agents::Api::openapi(),
        super::routing::Api::openapi(),
        super::desk::Api::openapi(),
        super::email::Api::openapi(),
        super::webhooks::Api::openapi(),
        super::reports::Api::openapi(),
        super::attachments::Api::openapi(),
        super::health::Api::openapi(),
        super::scrape::Api::openapi(),
    ] {
        doc.merge(part);
    }
    SecuritySchemes.modify(&mut doc);
    CommonAnswers.modify(&mut doc);
    doc
}

/// The body of `GET /api/support/availability`, as the description shows it: a
/// copy of `chat::availability::Availability`, whose module this one does not
/// reach into. The schemathesis run checks the two agree.
#[derive(utoipa::ToSchema)]
#[schema(as = Availability)]
#[allow(dead_code)] // Read by the description only.
pub struct AvailabilityBody {
    /// Within business hours with an agent online.
    online: bool,
    /// Why not: `outside_hours` or `no_agents`; null when online.
    reason: Option<String>,
    /// When the desk opens next, while it is outside its hours.
    next_open_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The desk's time zone when business hours are set.
    timezone: Option<String>,
    greeting: String,
    offline_message: String,
    /// Whether the widget asks for a rating after the chat.
    csat: bool,
    /// The median time to an agent's first answer over the last 7 days, in seconds.
    typical_reply_seconds: Option<i64>,
}

/// `bearer`: the agents' token; `metrics_token`: METRICS_TOKEN for `/metrics`.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An agent's token from POST /api/support/auth/login. The dashboard \
                         sends the livesupport_token cookie instead; a request that changes \
                         something with the cookie alone must come from the service's own origin.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "metrics_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("METRICS_TOKEN, when the node has one"))
                    .build(),
            ),
        );
    }
}

/// The `Retry-After` header of 429s and of a busy node's 503s.
fn retry_after() -> utoipa::openapi::Header {
    HeaderBuilder::new()
        .schema(ObjectBuilder::new().schema_type(Type::Integer))
        .description(Some("Whole seconds to wait before trying again"))
        .build()
}

/// The answers shared by many operations (see the module's documentation).
struct CommonAnswers;

impl CommonAnswers {
    fn error(description: &str) -> RefOr<utoipa::openapi::Response> {
        let mut response = ResponseBuilder::new().description(description).content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Error")))
                .build(),
        );
        if description.contains("Retry-After") {
            response = response.header("Retry-After", retry_after());
        }
        RefOr::T(response.build())
    }

    fn add(operation: &mut Operation, status: &str, description: &str) {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| Self::error(description));
    }
}

impl Modify for CommonAnswers {
    fn modify(&self, doc: &mut Document) {
        for item in doc.paths.paths.values_mut() {
            let changes = [
                (false, &mut item.get),
                (true, &mut item.put),
                (true, &mut item.post),
                (true, &mut item.delete),
                (true, &mut item.patch),
            ];
            for (changes_something, operation) in changes {
                let Some(operation) = operation else {
                    continue;
                };
                if changes_something {
                    Self::add(
                        operation,
                        "403",
                        "`forbidden`: authenticated by the login cookie alone, from another origin \
                         than the service's own",
                    );
                }
                let json_body = operation
                    .request_body
                    .as_ref()
                    .is_some_and(|body| body.content.contains_key("application/json"));
                if json_body {
                    Self::add(
                        operation,
                        "400",
                        "`invalid_json` (the body is not a JSON object) or `validation_failed` (`field` names the field)",
                    );
                    Self::add(
                        operation,
                        "413",
                        "`payload_too_large`: the body is over MAX_BODY_BYTES",
                    );
                    Self::add(
                        operation,
                        "415",
                        "`unsupported_media_type`: a body not sent as application/json",
                    );
                }
                let bearer = operation.security.as_ref().is_some_and(|requirements| {
                    serde_json::to_value(requirements)
                        .is_ok_and(|v| v.to_string().contains(&format!("\"{BEARER}\"")))
                });
                if bearer {
                    Self::add(
                        operation,
                        "401",
                        "`unauthorized`: no, expired, revoked or forged token, or a disabled agent",
                    );
                }
                Self::add(
                    operation,
                    "500",
                    "`internal`: details are logged, never returned",
                );
                if let Some(RefOr::T(limited)) = operation.responses.responses.get_mut("429") {
                    limited
                        .headers
                        .entry("Retry-After".to_owned())
                        .or_insert_with(retry_after);
                }
                Self::add(
                    operation,
                    "503",
                    "`unavailable`: the database does not answer, the request timed out, the node \
                     is draining or at its connection cap (a busy node sends Retry-After)",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_is_openapi_3_1_with_the_bearer_scheme() {
        let doc: serde_json::Value = serde_json::from_str(&DOCUMENT_JSON).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(
            doc["components"]["securitySchemes"][BEARER]["scheme"],
            "bearer"
        );
        assert!(doc["components"]["schemas"]["Error"].is_object());
    }
}
