//! The OpenAPI description (`GET /api/openapi.json`, issue 19) against the
//! router it describes.
//!
//! The routes are not listed here by hand: they are read from the `.route("…",
//! …)` calls of `src/http/*.rs`, and the live node says which methods each one
//! answers (405 `method_not_allowed` for the others). So a route added without a
//! `#[utoipa::path]` annotation — or with one its module's `Api` does not list —
//! fails `every_route_the_router_serves_is_described` until it is described or
//! put in [`UNDESCRIBED`] with a reason.

mod common;

use common::spawn_app;
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeSet;

/// Routes the description leaves out on purpose (see `src/http/openapi.rs`), as
/// `METHOD /path` with every path parameter written `{}`.
const UNDESCRIBED: &[(&str, &str)] = &[
    // WebSocket upgrades: a frame protocol OpenAPI cannot describe
    // (docs/API.md § WebSocket).
    ("GET /ws/support/user/{}", "WebSocket"),
    ("GET /ws/support/supporter/{}", "WebSocket"),
    ("GET /ws/support/agent", "WebSocket"),
    // Web pages and built assets for browsers, not an API.
    ("GET /widget.js", "web asset"),
    ("GET /support", "web page"),
    ("GET /support/product/{}", "web page"),
    ("GET /support/cart", "web page"),
    ("GET /support/chat", "web page"),
    ("GET /support/dashboard", "web page"),
    ("GET /assets/{}", "web asset"),
];

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// `/api/support/tickets/{ticket_id}` → `/api/support/tickets/{}`: parameter
/// names are the description's choice, the router's may differ.
fn template(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

/// The path of every `.route("…", …)` in `src/http/*.rs`. A route whose path is
/// not a string literal panics: write it as one so that this test sees it.
fn router_paths() -> BTreeSet<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http");
    let mut paths = BTreeSet::new();
    for entry in std::fs::read_dir(dir).expect("src/http") {
        let file = entry.expect("a directory entry").path();
        if file.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&file).expect("a source file");
        for (at, _) in source.match_indices(".route(") {
            let rest = source[at + ".route(".len()..].trim_start();
            let literal = rest
                .strip_prefix('"')
                .and_then(|r| r.split('"').next())
                .unwrap_or_else(|| {
                    panic!(
                        "{}: a .route( whose path is not a string literal; write the path out",
                        file.display()
                    )
                });
            paths.insert(literal.to_owned());
        }
    }
    paths
}

/// A concrete path for a template: every parameter `0`, which names nothing.
fn concrete(path: &str) -> String {
    template(path).replace("{}", "0")
}

/// The operations of the description as `METHOD /template`.
fn described(doc: &Value) -> BTreeSet<String> {
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "put", "post", "delete", "patch"] {
            if item.get(method).is_some() {
                operations.insert(format!("{} {}", method.to_uppercase(), template(path)));
            }
        }
    }
    operations
}

async fn fetch_description(app: &common::TestApp) -> Value {
    let response = app
        .client
        .get(format!("{}/api/openapi.json", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "the description is JSON"
    );
    response.json().await.unwrap()
}

/// Which methods the live router answers on `path`, asked without credentials
/// or a body (so nothing changes): all but the 405s. A path that answers the
/// fallback's 404 "route not found" to every method is not routed at all.
async fn served_methods(app: &common::TestApp, path: &str) -> Vec<Method> {
    let mut served = Vec::new();
    let mut routed = false;
    for method in METHODS {
        let response = app
            .client
            .request(method.clone(), format!("{}{}", app.address, concrete(path)))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let unrouted = status == 404 && body["error"]["message"] == "route not found";
        routed |= !unrouted;
        if status != 405 && !unrouted {
            served.push(method);
        }
    }
    assert!(
        routed,
        "{path}: in the source, but the router does not serve it"
    );
    served
}

#[tokio::test]
async fn every_route_the_router_serves_is_described() {
    let app = spawn_app().await;
    let doc = fetch_description(&app).await;
    let described = described(&doc);
    let undescribed: BTreeSet<String> = UNDESCRIBED.iter().map(|(r, _)| r.to_string()).collect();
    let mut missing = Vec::new();
    let mut served_all = BTreeSet::new();
    for path in router_paths() {
        for method in served_methods(&app, &path).await {
            let operation = format!("{method} {}", template(&path));
            if !described.contains(&operation) && !undescribed.contains(&operation) {
                missing.push(operation.clone());
            }
            served_all.insert(operation);
        }
    }
    assert!(
        missing.is_empty(),
        "routes the router serves that /api/openapi.json does not describe \
         (annotate the handler with #[utoipa::path] and list it in its module's Api, \
         or add it to UNDESCRIBED with a reason): {missing:#?}"
    );
    let phantom: Vec<&String> = described.difference(&served_all).collect();
    assert!(
        phantom.is_empty(),
        "operations the description holds that the router does not serve: {phantom:#?}"
    );
    let stale: Vec<&String> = undescribed.difference(&served_all).collect();
    assert!(
        stale.is_empty(),
        "UNDESCRIBED names routes the router does not serve: {stale:#?}"
    );
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(target)) => found.push(target),
                    _ => refs(inner, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, found)),
        _ => {}
    }
}

#[tokio::test]
async fn the_description_is_openapi_3_1_and_consistent() {
    let app = spawn_app().await;
    let doc = fetch_description(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    // (scripts/schemathesis.sh also validates it against the OpenAPI 3.1 schema
    // with openapi-spec-validator.)

    let mut targets = Vec::new();
    refs(&doc, &mut targets);
    for target in targets {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{target}: a reference outside the schemas"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{target} names no schema"
        );
    }

    let schemes = &doc["components"]["securitySchemes"];
    let mut operation_ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let at = format!("{} {path}", method.to_uppercase());
            let id = operation["operationId"].as_str().expect("an operationId");
            assert!(operation_ids.insert(id), "{at}: operationId {id} is taken");
            let responses = operation["responses"].as_object().expect("responses");
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{at}: no success answer"
            );
            for status in ["500", "503"] {
                assert!(responses.contains_key(status), "{at}: no {status}");
            }
            for (status, response) in responses {
                if status.starts_with('4') || status == "500" {
                    assert!(
                        response["content"].is_object(),
                        "{at}: {status} without a body"
                    );
                }
            }
            if operation["responses"].get("429").is_some() {
                assert!(
                    operation["responses"]["429"]["headers"]["Retry-After"].is_object(),
                    "{at}: 429 without Retry-After"
                );
            }
            // Parameters are unique by name and place.
            let mut places = BTreeSet::new();
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let place = (parameter["name"].as_str(), parameter["in"].as_str());
                assert!(places.insert(place), "{at}: parameter {place:?} twice");
            }
            // Every parameter of the path template is declared, in the path.
            let declared: BTreeSet<&str> = operation["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .filter_map(|p| p["name"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            let in_template: BTreeSet<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            assert_eq!(declared, in_template, "{at}: path parameters");
            for requirement in operation["security"].as_array().into_iter().flatten() {
                for scheme in requirement.as_object().unwrap().keys() {
                    assert!(schemes[scheme].is_object(), "{at}: unknown scheme {scheme}");
                }
            }
        }
    }
    // Agents' routes say how to authenticate; the guests' never ask for a token.
    let security_of = |path: &str, method: &str| doc["paths"][path][method]["security"].clone();
    assert_eq!(
        security_of("/api/support/tickets", "get"),
        serde_json::json!([{"bearer": []}])
    );
    assert!(security_of("/api/support/ticket/{session_id}", "get").is_null());
    assert!(doc["components"]["schemas"]["Error"]["properties"]["error"].is_object());
}
