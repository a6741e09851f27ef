//! The web front ends built into `web/dist`: the widget loader, the chat app the
//! loader frames, the agent dashboard and the demo storefront. Release builds
//! embed the files at compile time; debug builds read them from disk, so a
//! `npm run build` shows without recompiling.
//!
//! Every HTML page gets a strict Content-Security-Policy: scripts and styles only
//! from this origin, no inline script, sockets and fetches only to this origin.
//! Only the chat app may be framed, and only by this origin and `ALLOWED_ORIGINS`
//! (the storefronts that embed the widget).

use super::AppState;
use crate::error::ApiError;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "web/dist/"]
#[allow_missing = true]
struct WebDist;

/// Pages, by route, with who may frame them.
const CHAT_PAGE: &str = "chat.html";
const DASHBOARD_PAGE: &str = "dashboard.html";
const DEMO_PAGE: &str = "demo.html";

/// Hashed build outputs never change under one name.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The loader keeps its name across releases: cache it briefly.
const LOADER_CACHE: &str = "public, max-age=300";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/widget.js", get(widget_loader))
        .route("/support", get(|State(s): State<AppState>| async move { page(&s, DEMO_PAGE, Framing::SameOrigin) }))
        .route("/support/chat", get(|State(s): State<AppState>| async move { page(&s, CHAT_PAGE, Framing::Storefronts) }))
        .route(
            "/support/dashboard",
            get(|State(s): State<AppState>| async move { page(&s, DASHBOARD_PAGE, Framing::Never) }),
        )
        .route("/assets/{*path}", get(asset))
}

/// Who may put a page in a frame.
#[derive(Clone, Copy)]
enum Framing {
    Never,
    SameOrigin,
    /// This origin and the storefronts of `ALLOWED_ORIGINS`.
    Storefronts,
}

/// The Content-Security-Policy of an HTML page.
fn content_security_policy(state: &AppState, framing: Framing) -> String {
    let ancestors = match framing {
        Framing::Never => "'none'".to_owned(),
        Framing::SameOrigin => "'self'".to_owned(),
        Framing::Storefronts => std::iter::once("'self'".to_owned())
            .chain(state.settings.allowed_origins.iter().cloned())
            .collect::<Vec<_>>()
            .join(" "),
    };
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
         connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
         frame-src 'self'; frame-ancestors {ancestors}"
    )
}

fn page(state: &AppState, name: &str, framing: Framing) -> Response {
    let Some(file) = WebDist::get(name) else {
        return missing(name);
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        file.data.into_owned(),
    )
        .into_response();
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy(state, framing)) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    if matches!(framing, Framing::Never) {
        response
            .headers_mut()
            .insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

async fn widget_loader() -> Response {
    match WebDist::get("widget.js") {
        Some(file) => (
            [
                (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                (header::CACHE_CONTROL, LOADER_CACHE),
                // Any storefront may load the loader.
                (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            ],
            file.data.into_owned(),
        )
            .into_response(),
        None => missing("widget.js"),
    }
}

/// Whether a (percent-decoded) asset path names a file below `assets/`: no empty,
/// `.` or `..` segment, no backslash. An encoded separator (`..%2fdashboard.html`)
/// arrives decoded, so it is caught here too.
fn is_plain_asset_path(path: &str) -> bool {
    !path.contains('\\')
        && path
            .split('/')
            .all(|segment| !segment.is_empty() && segment != "." && segment != "..")
}

async fn asset(Path(path): Path<String>) -> Response {
    if !is_plain_asset_path(&path) {
        return ApiError::NotFound("asset").into_response();
    }
    let Some(file) = WebDist::get(&format!("assets/{path}")) else {
        return ApiError::NotFound("asset").into_response();
    };
    let mime = file.metadata.mimetype().to_owned();
    // Pages are served by their own routes, with their CSP and framing rules;
    // never one from here without them.
    if mime.starts_with("text/html") {
        return ApiError::NotFound("asset").into_response();
    }
    (
        [
            (header::CONTENT_TYPE, mime.as_str()),
            (header::CACHE_CONTROL, IMMUTABLE),
        ],
        file.data.into_owned(),
    )
        .into_response()
}

/// The web assets were not built into this binary.
fn missing(name: &str) -> Response {
    tracing::warn!(file = name, "web asset missing: build them with `make web`");
    ApiError::NotFound("web asset (build the front end with `make web`)").into_response()
}

#[cfg(test)]
mod tests {
    use super::is_plain_asset_path;

    #[test]
    fn only_plain_paths_below_assets_are_served() {
        assert!(is_plain_asset_path("index-3f2a.js"));
        assert!(is_plain_asset_path("fonts/a.woff2"));
        for bad in [
            "../dashboard.html",
            "a/../../x",
            "./a.js",
            "a//b.js",
            "",
            "..\\chat.html",
        ] {
            assert!(!is_plain_asset_path(bad), "{bad:?}");
        }
    }
}
