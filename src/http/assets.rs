//! The web front ends built into `web/dist`: the widget loader, the chat app the
//! loader frames, the agent dashboard and the demo storefront (a small shop: home,
//! product pages and a cart). Release builds
//! embed the files at compile time; debug builds read them from disk, so a
//! `npm run build` shows without recompiling.
//!
//! Every HTML page gets a strict Content-Security-Policy: scripts and styles only
//! from this origin, no inline script, sockets and fetches only to this origin.
//! Only the chat app may be framed, and only by this origin and `ALLOWED_ORIGINS`
//! (the storefronts that embed the widget).
//!
//! Every file goes out compressed as the browser asks (brotli or gzip, by
//! `Accept-Encoding`; images and fonts as they are) by a compression layer on
//! these routes only: the API and the WebSocket upgrades never pass through it.
//! Hashed names under `/assets/` are cached for a year, immutably; the loader
//! and the pages keep their names across releases, so a browser revalidates
//! them on each use (`no-cache` with an `ETag`: a `304` without a body when
//! nothing changed).

use super::AppState;
use crate::error::ApiError;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::{EmbeddedFile, RustEmbed};
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::compression::{CompressionLayer, CompressionLevel};

#[derive(RustEmbed)]
#[folder = "web/dist/"]
#[allow_missing = true]
struct WebDist;

/// Pages, by route, with who may frame them.
const CHAT_PAGE: &str = "chat.html";
const DASHBOARD_PAGE: &str = "dashboard.html";
const DEMO_PAGE: &str = "demo.html";
/// The demo shop's product page (any slug: the page's script reads it from the
/// path, and switches product without a page load) and its cart.
const DEMO_PRODUCT_PAGE: &str = "demo-product.html";
const DEMO_CART_PAGE: &str = "demo-cart.html";

/// Hashed build outputs never change under one name.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The loader and the pages keep their names across releases: a browser may
/// keep them, but asks (with the `ETag`) before each use, so a release shows at
/// once and an unchanged file costs a `304` without a body.
const REVALIDATE: &str = "no-cache";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/widget.js", get(widget_loader))
        .route(
            "/support",
            get(|State(s): State<AppState>, h: HeaderMap| async move {
                page(&s, &h, DEMO_PAGE, Framing::SameOrigin)
            }),
        )
        .route(
            "/support/product/{slug}",
            get(|State(s): State<AppState>, h: HeaderMap| async move {
                page(&s, &h, DEMO_PRODUCT_PAGE, Framing::SameOrigin)
            }),
        )
        .route(
            "/support/cart",
            get(|State(s): State<AppState>, h: HeaderMap| async move {
                page(&s, &h, DEMO_CART_PAGE, Framing::SameOrigin)
            }),
        )
        .route(
            "/support/chat",
            get(|State(s): State<AppState>, h: HeaderMap| async move {
                page(&s, &h, CHAT_PAGE, Framing::Storefronts)
            }),
        )
        .route(
            "/support/dashboard",
            get(|State(s): State<AppState>, h: HeaderMap| async move {
                page(&s, &h, DASHBOARD_PAGE, Framing::Never)
            }),
        )
        .route("/assets/{*path}", get(asset))
        .layer(compression())
}

/// Brotli or gzip, as the request's `Accept-Encoding` prefers, at each
/// codec's on-the-fly default (brotli quality 4, gzip 6): a tenth of brotli's
/// best-quality CPU for a few percent more bytes. Not for bodies under 32
/// bytes, images (but SVG) or fonts, which are compressed already.
fn compression() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new()
        .quality(CompressionLevel::Default)
        .compress_when(DefaultPredicate::new().and(NotForContentType::const_new("font/")))
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

/// The body of `file` with its type and caching headers, or `304 Not
/// Modified` (the same headers, no body) when the request's `If-None-Match`
/// names its `ETag` already.
fn file_response(
    file: EmbeddedFile,
    content_type: &str,
    cache_control: &'static str,
    request: &HeaderMap,
) -> Response {
    let etag = entity_tag(&file);
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| etag_matches(v, &etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        file.data.into_owned().into_response()
    };
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    // The compression layer says so on the responses it compresses; a `304`
    // (no body) says it too, for caches between us and the browser.
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

/// A weak `ETag` from the file's SHA-256: weak because the bytes sent differ
/// by `Content-Encoding` while the file is the same.
fn entity_tag(file: &EmbeddedFile) -> String {
    let hash: String = file.metadata.sha256_hash()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("W/\"{hash}\"")
}

/// Whether an `If-None-Match` value names `etag` (weak comparison, RFC 9110
/// 13.1.2): `*`, or one of a comma-separated list, `W/` or not.
fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let ours = opaque(etag);
    if_none_match.trim() == "*" || if_none_match.split(',').any(|tag| opaque(tag) == ours)
}

fn page(state: &AppState, request: &HeaderMap, name: &str, framing: Framing) -> Response {
    let Some(file) = WebDist::get(name) else {
        return missing(name);
    };
    let mut response = file_response(file, "text/html; charset=utf-8", REVALIDATE, request);
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

async fn widget_loader(request: HeaderMap) -> Response {
    let Some(file) = WebDist::get("widget.js") else {
        return missing("widget.js");
    };
    let mut response = file_response(file, "text/javascript; charset=utf-8", REVALIDATE, &request);
    // Any storefront may load the loader.
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
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

async fn asset(Path(path): Path<String>, request: HeaderMap) -> Response {
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
    file_response(file, &mime, IMMUTABLE, &request)
}

/// The web assets were not built into this binary.
fn missing(name: &str) -> Response {
    tracing::warn!(file = name, "web asset missing: build them with `make web`");
    ApiError::NotFound("web asset (build the front end with `make web`)").into_response()
}

#[cfg(test)]
mod tests {
    use super::{etag_matches, is_plain_asset_path};

    #[test]
    fn if_none_match_compares_entity_tags_weakly() {
        let ours = "W/\"abc\"";
        for (header, fresh) in [
            ("W/\"abc\"", true),
            ("\"abc\"", true),
            ("\"x\", W/\"abc\"", true),
            (" * ", true),
            ("W/\"abd\"", false),
            ("abc", false),
            ("", false),
        ] {
            assert_eq!(etag_matches(header, ours), fresh, "{header:?}");
        }
    }

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
