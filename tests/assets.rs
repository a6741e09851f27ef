//! The web front ends as a browser fetches them (issue 14, point 10): compressed
//! as the request asks, cached for a year under hashed names, revalidated with an
//! `ETag` under the names that stay (the loader, the pages), and the WebSocket
//! upgrade untouched by the compression.

mod common;

use common::{TestApp, spawn_app};
use std::io::Read;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The files of one build: the loader, a page and the chat app's largest script
/// (its name read from the page), or `None` when the front end is not built here.
async fn built_files(app: &TestApp) -> Option<Vec<String>> {
    let page = app
        .client
        .get(app.url("/support/chat"))
        .send()
        .await
        .unwrap();
    if page.status() == 404 {
        assert!(
            std::env::var("LIVESUPPORT_REQUIRE_WEB").is_err(),
            "web assets missing"
        );
        eprintln!("\n*** SKIPPED: asset checks: web assets not built (make web) ***\n");
        return None;
    }
    let html = page.text().await.unwrap();
    let script = html
        .split('"')
        .find(|s| s.starts_with("/assets/") && s.ends_with(".js"))
        .expect("the chat page names its script")
        .to_owned();
    Some(vec!["/widget.js".into(), "/support/chat".into(), script])
}

async fn fetch(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

fn decode(encoding: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        "br" => brotli::Decompressor::new(body, 4096)
            .read_to_end(&mut out)
            .unwrap(),
        "gzip" => flate2::read::GzDecoder::new(body)
            .read_to_end(&mut out)
            .unwrap(),
        "" => return body.to_vec(),
        other => panic!("unexpected encoding {other}"),
    };
    out
}

#[tokio::test]
async fn every_asset_is_compressed_as_the_browser_asks() {
    let app = spawn_app().await;
    let Some(files) = built_files(&app).await else {
        return;
    };
    for path in &files {
        let plain = fetch(&app, path, &[]).await;
        assert_eq!(
            header(&plain, "content-encoding"),
            "",
            "{path}: no Accept-Encoding"
        );
        let plain = plain.bytes().await.unwrap();
        for (accept, expected) in [
            ("gzip, deflate, br, zstd", "br"),
            ("br", "br"),
            ("gzip", "gzip"),
            ("br;q=0.5, gzip;q=1", "gzip"),
            ("identity", ""),
            ("br;q=0, gzip;q=0", ""),
        ] {
            let response = fetch(&app, path, &[("accept-encoding", accept)]).await;
            assert_eq!(response.status(), 200, "{path} {accept}");
            assert_eq!(
                header(&response, "content-encoding"),
                expected,
                "{path}: Accept-Encoding {accept}"
            );
            assert!(
                header(&response, "vary").contains("accept-encoding"),
                "{path} {accept}: Vary {}",
                header(&response, "vary")
            );
            let body = response.bytes().await.unwrap();
            if !expected.is_empty() {
                assert!(
                    body.len() < plain.len(),
                    "{path} {accept}: {} of {} bytes",
                    body.len(),
                    plain.len()
                );
            }
            assert_eq!(
                decode(expected, &body),
                plain,
                "{path} {accept}: decoded body"
            );
        }
    }
}

#[tokio::test]
async fn hashed_assets_are_immutable_and_the_others_revalidate_with_an_etag() {
    let app = spawn_app().await;
    let Some(files) = built_files(&app).await else {
        return;
    };
    for path in &files {
        let hashed = path.starts_with("/assets/");
        let response = fetch(&app, path, &[("accept-encoding", "br")]).await;
        let expected = if hashed {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        assert_eq!(header(&response, "cache-control"), expected, "{path}");
        let etag = header(&response, "etag");
        assert!(
            etag.starts_with("W/\"") && etag.len() > 10,
            "{path}: ETag {etag:?}"
        );

        // The same file again: 304, no body, the same caching headers.
        for if_none_match in [etag.clone(), format!("\"other\", {etag}"), "*".to_owned()] {
            let again = fetch(
                &app,
                path,
                &[("accept-encoding", "br"), ("if-none-match", &if_none_match)],
            )
            .await;
            assert_eq!(again.status(), 304, "{path}: If-None-Match {if_none_match}");
            assert_eq!(header(&again, "etag"), etag, "{path}");
            assert_eq!(header(&again, "cache-control"), expected, "{path}");
            assert_eq!(header(&again, "content-encoding"), "", "{path}");
            assert!(again.bytes().await.unwrap().is_empty(), "{path}: 304 body");
        }
        // Another version: the whole file.
        let changed = fetch(&app, path, &[("if-none-match", "W/\"0000\"")]).await;
        assert_eq!(changed.status(), 200, "{path}: stale ETag");
    }
    // A page keeps its CSP on a 304.
    let page = fetch(&app, "/support/chat", &[]).await;
    let etag = header(&page, "etag");
    let again = fetch(&app, "/support/chat", &[("if-none-match", &etag)]).await;
    assert_eq!(again.status(), 304);
    assert!(header(&again, "content-security-policy").contains("frame-ancestors"));
}

#[tokio::test]
async fn the_api_and_the_websocket_upgrade_are_not_compressed() {
    let app = spawn_app().await;
    let ticket = app.simple_ticket().await;
    let session = ticket["session_id"].as_str().unwrap();

    let api = fetch(
        &app,
        &format!("/api/support/ticket/{session}/messages"),
        &[("accept-encoding", "gzip, br")],
    )
    .await;
    assert_eq!(api.status(), 200);
    assert_eq!(header(&api, "content-encoding"), "");

    // A browser's upgrade request asks for compression too; the 101 must not
    // claim any, or the socket's frames would be read as a compressed body.
    let mut tcp = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    let request = format!(
        "GET /ws/support/user/{session} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAccept-Encoding: gzip, deflate, br\r\n\r\n",
        port = app.port
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tcp.read(&mut buf).await.unwrap();
    let head = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(!head.contains("content-encoding"), "{head}");
}
