//! Files in the chat (issue 17), against a real node: uploads of visitors and
//! agents on both stores, the table of bad uploads (each refused with the
//! contract's error, leaving no message and no file behind), the signed download
//! URLs, resends, rate limits, the sweeps, the S3 backend (the moto server), and
//! a file sent on one node and downloaded through another.

mod common;

use common::ws::is_message;
use common::{Backend, TestApp, read, spawn_app_with};
use futures_util::StreamExt;
use livesupport::Config;
use livesupport::config::Secret;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// A PNG's signature and header chunk, then `extra` bytes of (unread) data:
/// what the server reads of an image is its type and dimensions.
fn png(width: u32, height: u32, extra: usize) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend_from_slice(&width.to_be_bytes());
    png.extend_from_slice(&height.to_be_bytes());
    png.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    png.extend((0..extra).map(|i| (i % 251) as u8));
    png
}

const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

fn file_part(bytes: &[u8], filename: &str, claimed_type: &str) -> Part {
    Part::bytes(bytes.to_vec())
        .file_name(filename.to_owned())
        .mime_str(claimed_type)
        .unwrap()
}

fn file_form(bytes: &[u8], filename: &str, claimed_type: &str) -> Form {
    Form::new().part("file", file_part(bytes, filename, claimed_type))
}

async fn guest_upload(app: &TestApp, session_id: &str, form: Form) -> (u16, Value) {
    let response = app
        .client
        .post(app.url(&format!("/api/support/ticket/{session_id}/attachments")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    read(response).await
}

async fn agent_upload(app: &TestApp, ticket_id: i64, form: Form) -> (u16, Value) {
    let response = app
        .client
        .post(app.url(&format!("/api/support/tickets/{ticket_id}/attachments")))
        .bearer_auth(&app.admin_token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    read(response).await
}

/// The files under a storage folder.
fn stored_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// Waits (up to 10 s) until the storage folder holds `n` files: a refused
/// upload's file is deleted in the background, a swept one by the next sweep.
async fn until_stored_files(app: &TestApp, n: usize) {
    for _ in 0..200 {
        if stored_files(app.files.path()).len() == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "expected {n} stored files, found {:?}",
        stored_files(app.files.path())
    );
}

async fn download(app: &TestApp, url: &str) -> reqwest::Response {
    assert!(url.starts_with("/api/support/attachments/"), "{url}");
    app.client.get(app.url(url)).send().await.unwrap()
}

async fn on_both(test: impl AsyncFn(TestApp)) {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if let Some(app) = spawn_app_with(backend, |_| {}).await {
            test(app).await;
        }
    }
}

#[tokio::test]
async fn a_visitors_image_reaches_the_agent_and_an_agents_pdf_the_visitor() {
    on_both(async |app: TestApp| {
        let ticket = app.simple_ticket().await;
        let session = ticket["session_id"].as_str().unwrap().to_owned();
        let ticket_id = ticket["id"].as_i64().unwrap();
        let mut agent = app.supporter_socket(&session, &app.admin_token, "").await;
        let mut visitor = app.user_socket(&session, "").await;
        let image = png(1280, 720, 40_000);

        let form = Form::new()
            .text("client_msg_id", "file-1")
            .text("caption", "  This is what I see  ")
            .part("file", file_part(&image, "screen shot.png", "image/png"));
        let (status, message) = guest_upload(&app, &session, form).await;
        assert_eq!(status, 201, "{message}");
        assert_eq!(message["message"], "This is what I see");
        assert_eq!(message["sender_type"], "user");
        assert_eq!(message["client_msg_id"], "file-1");
        let file = &message["attachments"][0];
        assert_eq!(file["filename"], "screen shot.png");
        assert_eq!(file["content_type"], "image/png");
        assert_eq!(file["size"], image.len());
        assert_eq!(
            (file["width"].as_i64(), file["height"].as_i64()),
            (Some(1280), Some(720))
        );
        let url = file["url"].as_str().unwrap();
        assert!(!url.contains(&session), "the URL is not the session id");
        assert!(!url.contains(&app.admin_token));

        // The ordinary path: both sockets get the message, file and URL included.
        for socket in [&mut agent, &mut visitor] {
            let frame = loop {
                let frame = socket.next().await;
                if is_message(&frame) && frame["message"]["client_msg_id"] == "file-1" {
                    break frame;
                }
            };
            assert_eq!(frame["message"]["attachments"][0]["id"], file["id"]);
            assert!(frame["message"]["attachments"][0]["url"].is_string());
        }

        // The agent's history carries it, with a URL of its own; it downloads.
        let (_, history) = app
            .get(
                &format!("/api/support/tickets/{ticket_id}/messages"),
                Some(&app.admin_token),
            )
            .await;
        let stored = history["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["client_msg_id"] == "file-1")
            .unwrap()
            .clone();
        assert_eq!(stored["attachments"][0]["filename"], "screen shot.png");
        let response = download(&app, stored["attachments"][0]["url"].as_str().unwrap()).await;
        assert_eq!(response.status(), 200);
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], "image/png");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .starts_with("sandbox")
        );
        assert_eq!(
            headers["content-disposition"],
            "inline; filename=\"screen shot.png\"; filename*=UTF-8''screen%20shot.png"
        );
        assert_eq!(response.bytes().await.unwrap().as_ref(), image.as_slice());

        // The agent answers with a PDF; the visitor's history has it, downloadable.
        let (status, reply) = agent_upload(
            &app,
            ticket_id,
            file_form(PDF, "Invoice 42.pdf", "application/pdf"),
        )
        .await;
        assert_eq!(status, 201, "{reply}");
        assert_eq!(reply["sender_type"], "supporter");
        assert_eq!(reply["message"], "");
        let (_, history) = app
            .get(&format!("/api/support/ticket/{session}/messages"), None)
            .await;
        let pdf = history["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|m| {
                m["attachments"]
                    .get(0)
                    .filter(|f| f["content_type"] == "application/pdf")
            })
            .expect("the visitor's history holds the PDF")
            .clone();
        let response = download(&app, pdf["url"].as_str().unwrap()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-disposition"],
            "attachment; filename=\"Invoice 42.pdf\"; filename*=UTF-8''Invoice%2042.pdf"
        );
        assert_eq!(response.bytes().await.unwrap().as_ref(), PDF);
        until_stored_files(&app, 2).await;
        assert!(
            app.metric("livesupport_uploads_total{result=\"stored\"}")
                .await
                >= 2.0
        );
    })
    .await;
}

/// One bad upload: what is sent, and the error it must get.
struct Bad {
    what: &'static str,
    form: fn() -> Form,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
}

#[tokio::test]
async fn bad_uploads_are_refused_and_leave_nothing_behind() {
    let table = [
        Bad {
            what: "too large",
            form: || file_form(&png(100, 100, 70 * 1024), "big.png", "image/png"),
            status: 413,
            code: "payload_too_large",
            field: None,
        },
        Bad {
            what: "a program named .pdf and sent as application/pdf",
            form: || {
                file_form(
                    b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0\xb8\0\0\0",
                    "invoice.pdf",
                    "application/pdf",
                )
            },
            status: 415,
            code: "unsupported_media_type",
            field: None,
        },
        Bad {
            what: "HTML named .png and sent as image/png",
            form: || {
                file_form(
                    b"<!DOCTYPE html><script>alert(1)</script>",
                    "cat.png",
                    "image/png",
                )
            },
            status: 415,
            code: "unsupported_media_type",
            field: None,
        },
        Bad {
            what: "a ZIP sent as text/plain",
            form: || file_form(b"PK\x03\x04\x14\0\0\0\x08\0", "notes.txt", "text/plain"),
            status: 415,
            code: "unsupported_media_type",
            field: None,
        },
        Bad {
            what: "zero bytes",
            form: || file_form(b"", "empty.txt", "text/plain"),
            status: 400,
            code: "validation_failed",
            field: Some("file"),
        },
        Bad {
            what: "a PNG decompression bomb (100,000 × 100,000 pixels)",
            form: || file_form(&png(100_000, 100_000, 100), "bomb.png", "image/png"),
            status: 400,
            code: "validation_failed",
            field: Some("file"),
        },
        Bad {
            what: "no file",
            form: || Form::new().text("caption", "hello"),
            status: 400,
            code: "validation_failed",
            field: Some("file"),
        },
        Bad {
            what: "two files",
            form: || {
                file_form(PDF, "a.pdf", "application/pdf")
                    .part("file", file_part(PDF, "b.pdf", "application/pdf"))
            },
            status: 400,
            code: "validation_failed",
            field: Some("file"),
        },
        Bad {
            what: "an unknown field after the file",
            form: || file_form(PDF, "a.pdf", "application/pdf").text("priority", "high"),
            status: 400,
            code: "validation_failed",
            field: Some("priority"),
        },
        Bad {
            what: "a caption over the message limit",
            form: || file_form(PDF, "a.pdf", "application/pdf").text("caption", "x".repeat(8193)),
            status: 400,
            code: "validation_failed",
            field: Some("caption"),
        },
        Bad {
            what: "a client_msg_id over 64 characters",
            form: || {
                Form::new()
                    .text("client_msg_id", "k".repeat(65))
                    .part("file", file_part(PDF, "a.pdf", "application/pdf"))
            },
            status: 400,
            code: "validation_failed",
            field: Some("client_msg_id"),
        },
    ];
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app_with(backend, |config| config.max_upload_bytes = 64 * 1024).await
        else {
            continue;
        };
        let (ticket_id, session) = app.bare_ticket().await;
        for bad in &table {
            let (status, body) = guest_upload(&app, &session, (bad.form)()).await;
            assert_eq!(status, bad.status, "{}: {body}", bad.what);
            assert_eq!(body["error"]["code"], bad.code, "{}: {body}", bad.what);
            assert_eq!(
                body["error"]["field"].as_str(),
                bad.field,
                "{}: {body}",
                bad.what
            );
            let (status, body) = agent_upload(&app, ticket_id, (bad.form)()).await;
            assert_eq!(status, bad.status, "agent, {}: {body}", bad.what);
        }
        // Not a form at all.
        let response = app
            .client
            .post(app.url(&format!("/api/support/ticket/{session}/attachments")))
            .json(&json!({"file": "x"}))
            .send()
            .await
            .unwrap();
        let (status, body) = read(response).await;
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (400, Some("file")),
            "{body}"
        );
        assert_eq!(app.last_seq(&session).await, 0, "no message was stored");
        until_stored_files(&app, 0).await;
        assert!(
            app.metric("livesupport_uploads_total{result=\"rejected\"}")
                .await
                >= 10.0
        );
    }
}

#[tokio::test]
async fn filenames_are_sanitised() {
    let app = common::spawn_app().await;
    let (_, session) = app.bare_ticket().await;
    for (sent, kept) in [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\me\\notes.txt", "notes.txt"),
        ("evil\u{202E}txt.exe", "eviltxt.exe"),
        ("Grüße – März.txt", "Grüße – März.txt"),
        ("..", "file.txt"),
    ] {
        let (status, message) = guest_upload(
            &app,
            &session,
            file_form(b"plain words\n", sent, "text/plain"),
        )
        .await;
        assert_eq!(status, 201, "{sent:?}: {message}");
        let file = &message["attachments"][0];
        assert_eq!(file["filename"], kept, "{sent:?}");
        assert_eq!(file["content_type"], "text/plain");
        let response = download(&app, file["url"].as_str().unwrap()).await;
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; charset=utf-8"
        );
        assert!(
            response.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment; ")
        );
    }
    // Nothing was written outside the storage folder.
    for file in stored_files(app.files.path()) {
        assert!(file.starts_with(app.files.path()));
    }
}

#[tokio::test]
async fn download_urls_are_signed_and_expire() {
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.attachment_url_ttl = "2s".into();
    })
    .await
    .unwrap();
    let (_, session) = app.bare_ticket().await;
    let (_, message) =
        guest_upload(&app, &session, file_form(PDF, "a.pdf", "application/pdf")).await;
    let url = message["attachments"][0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(download(&app, &url).await.status(), 200);

    // Altered anywhere: the id, the expiry, the signature.
    let token = url.trim_start_matches("/api/support/attachments/");
    for at in [0, 15, 20, token.len() - 1] {
        let mut altered = token.as_bytes().to_vec();
        altered[at] = if altered[at] == b'a' { b'b' } else { b'a' };
        let altered = format!(
            "/api/support/attachments/{}",
            String::from_utf8(altered).unwrap()
        );
        let (status, body) = read(download(&app, &altered).await).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("not_found")),
            "at {at}"
        );
    }
    let (status, _) = read(download(&app, "/api/support/attachments/nonsense").await).await;
    assert_eq!(status, 404);

    // Another service's key signs nothing here.
    let foreign = livesupport::domain::attachment::AttachmentUrls::new(b"another secret", 3600);
    let id = message["attachments"][0]["id"].as_i64().unwrap();
    let (status, _) =
        read(download(&app, &foreign.url(id, chrono::Utc::now().timestamp())).await).await;
    assert_eq!(status, 404);

    // Expired: 403, and reading the history again gives a fresh URL.
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let (status, body) = read(download(&app, &url).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    let (_, history) = app
        .get(&format!("/api/support/ticket/{session}/messages"), None)
        .await;
    let fresh = history["messages"][0]["attachments"][0]["url"]
        .as_str()
        .unwrap();
    assert_ne!(fresh, url);
    assert_eq!(download(&app, fresh).await.status(), 200);
}

#[tokio::test]
async fn a_resend_answers_the_first_message_and_keeps_one_file() {
    on_both(async |app: TestApp| {
        let (_, session) = app.bare_ticket().await;
        let form = || {
            Form::new()
                .text("client_msg_id", "same-key")
                .part("file", file_part(PDF, "a.pdf", "application/pdf"))
        };
        let (status, first) = guest_upload(&app, &session, form()).await;
        assert_eq!(status, 201);
        let (status, again) = guest_upload(&app, &session, form()).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(again["id"], first["id"]);
        assert_eq!(again["attachments"][0]["id"], first["attachments"][0]["id"]);
        assert_eq!(app.last_seq(&session).await, 1);
        until_stored_files(&app, 1).await;
    })
    .await;
}

#[tokio::test]
async fn closed_tickets_and_unknown_ones_take_no_file() {
    let app = common::spawn_app().await;
    let (_, session) = app.bare_ticket().await;
    let response = app
        .client
        .post(app.url(&format!("/api/support/ticket/{session}/close")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (status, body) =
        guest_upload(&app, &session, file_form(PDF, "a.pdf", "application/pdf")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("ticket_closed"))
    );
    let unknown = uuid::Uuid::new_v4();
    let (status, _) = guest_upload(
        &app,
        &unknown.to_string(),
        file_form(PDF, "a.pdf", "application/pdf"),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = agent_upload(&app, 999_999, file_form(PDF, "a.pdf", "application/pdf")).await;
    assert_eq!(status, 404);
    let response = app
        .client
        .post(app.url("/api/support/tickets/1/attachments"))
        .multipart(file_form(PDF, "a.pdf", "application/pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "agents' route needs a token");
    until_stored_files(&app, 0).await;
}

#[tokio::test]
async fn uploads_are_rate_limited_per_ticket_and_per_ip() {
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.upload_rate_per_minute = 2;
        config.upload_ip_rate_per_minute = 3;
    })
    .await
    .unwrap();
    let (_, first) = app.bare_ticket().await;
    for _ in 0..2 {
        let (status, _) =
            guest_upload(&app, &first, file_form(PDF, "a.pdf", "application/pdf")).await;
        assert_eq!(status, 201);
    }
    let response = app
        .client
        .post(app.url(&format!("/api/support/ticket/{first}/attachments")))
        .multipart(file_form(PDF, "a.pdf", "application/pdf"))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("retry-after"));
    let (status, body) = read(response).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("rate_limited"))
    );
    // Another ticket from the same IP: one more, then the IP's limit.
    let (_, second) = app.bare_ticket().await;
    let (status, _) = guest_upload(&app, &second, file_form(PDF, "a.pdf", "application/pdf")).await;
    assert_eq!(status, 201);
    let (status, _) = guest_upload(&app, &second, file_form(PDF, "a.pdf", "application/pdf")).await;
    assert_eq!(status, 429);
    assert_eq!(app.last_seq(&first).await, 2);
    until_stored_files(&app, 3).await;
}

#[tokio::test]
async fn the_retention_deletes_old_files_and_keeps_their_messages() {
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.attachment_retention_seconds = Some(1);
        config.attachment_sweep_seconds = 1;
    })
    .await
    .unwrap();
    let (_, session) = app.bare_ticket().await;
    let (_, message) =
        guest_upload(&app, &session, file_form(PDF, "a.pdf", "application/pdf")).await;
    until_stored_files(&app, 1).await;
    // Within a few sweeps the file goes; the message stays.
    until_stored_files(&app, 0).await;
    let (_, history) = app
        .get(&format!("/api/support/ticket/{session}/messages"), None)
        .await;
    let kept = &history["messages"][0];
    assert_eq!(kept["id"], message["id"]);
    let (status, body) =
        read(download(&app, kept["attachments"][0]["url"].as_str().unwrap()).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    assert!(
        app.metric("livesupport_attachments_swept_total{reason=\"retention\"}")
            .await
            >= 1.0
    );
}

#[tokio::test]
async fn closing_a_ticket_keeps_its_files() {
    let app = common::spawn_app().await;
    let (_, session) = app.bare_ticket().await;
    let (_, message) =
        guest_upload(&app, &session, file_form(PDF, "a.pdf", "application/pdf")).await;
    app.client
        .post(app.url(&format!("/api/support/ticket/{session}/close")))
        .send()
        .await
        .unwrap();
    let response = download(&app, message["attachments"][0]["url"].as_str().unwrap()).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn an_upload_that_never_became_a_message_is_swept() {
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.upload_timeout_seconds = 1;
        config.attachment_orphan_seconds = 2;
        config.attachment_sweep_seconds = 1;
    })
    .await
    .unwrap();
    let (ticket_id, _) = app.bare_ticket().await;
    // As a node that died between writing a file and storing its message leaves it.
    let state = &app.state;
    let id = state
        .store
        .create_attachment(&livesupport::store::NewAttachment {
            ticket_id,
            storage_key: format!("tickets/{ticket_id}/orphan"),
            filename: "a.pdf".into(),
            content_type: "application/pdf".into(),
            width: None,
            height: None,
            created_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    let storage = &state.chat.attachments.storage;
    let mut upload = storage
        .writer(&format!("tickets/{ticket_id}/orphan"))
        .await
        .unwrap();
    upload.write(bytes::Bytes::from_static(PDF)).await.unwrap();
    upload.finish().await.unwrap();
    until_stored_files(&app, 1).await;
    until_stored_files(&app, 0).await;
    // The sweep forgets the row and counts it just after the file goes.
    let swept = "livesupport_attachments_swept_total{reason=\"orphan\"}";
    for _ in 0..100 {
        if app.metric(swept).await >= 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.metric(swept).await, 1.0);
    assert!(matches!(
        state.store.attachment(id).await,
        Err(livesupport::store::StoreError::NotFound)
    ));
}

#[tokio::test]
async fn the_s3_backend_serves_uploads_and_fails_cleanly_when_down() {
    let Some((moto, url)) = common::s3::s3_storage_url().await else {
        return;
    };
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.storage_url = Some(Secret::new(&url));
    })
    .await
    .unwrap();
    let (_, session) = app.bare_ticket().await;
    let image = png(64, 64, 6 * 1024 * 1024);
    let (status, message) =
        guest_upload(&app, &session, file_form(&image, "big.png", "image/png")).await;
    assert_eq!(status, 201, "{message}");
    let response = download(&app, message["attachments"][0]["url"].as_str().unwrap()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().len(), image.len());

    // The store gone: the upload fails (503) and no message is stored.
    drop(moto);
    let (status, body) =
        guest_upload(&app, &session, file_form(PDF, "a.pdf", "application/pdf")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("unavailable")),
        "{body}"
    );
    assert_eq!(app.last_seq(&session).await, 1);
    assert!(
        app.metric("livesupport_uploads_total{result=\"failed\"}")
            .await
            >= 1.0
    );
}

#[tokio::test]
async fn an_image_sent_on_one_node_downloads_through_another() {
    let Some((_moto, url)) = common::s3::s3_storage_url().await else {
        return;
    };
    let Some(nodes) = common::spawn_cluster(2, |_, config: &mut Config| {
        config.storage_url = Some(Secret::new(&url));
    })
    .await
    else {
        return;
    };
    let (a, b) = (&nodes[0], &nodes[1]);
    let ticket = a.simple_ticket().await;
    let session = ticket["session_id"].as_str().unwrap().to_owned();
    // The agent watches on node B.
    let mut agent = b.supporter_socket(&session, &b.admin_token, "").await;
    let image = png(800, 600, 20_000);
    let (status, message) =
        guest_upload(a, &session, file_form(&image, "parcel.png", "image/png")).await;
    assert_eq!(status, 201, "{message}");
    let frame = loop {
        let frame = agent.next().await;
        if is_message(&frame) && frame["message"]["attachments"].is_array() {
            break frame;
        }
    };
    let url = frame["message"]["attachments"][0]["url"].as_str().unwrap();
    let response = download(b, url).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().as_ref(), image.as_slice());
}

#[tokio::test]
async fn uploads_beyond_the_nodes_cap_are_told_to_retry() {
    let app = spawn_app_with(Backend::Sqlite, |config| config.max_uploads_in_progress = 1)
        .await
        .unwrap();
    let (_, session) = app.bare_ticket().await;
    // A slow upload holds the node's one slot: its first part, then a pause.
    let (more, rest) = tokio::sync::oneshot::channel::<()>();
    let first = png(32, 32, 300 * 1024);
    let (head, tail) = first.split_at(300 * 1024);
    let (head, tail) = (head.to_vec(), tail.to_vec());
    let body = futures_util::stream::once(async move { Ok::<_, std::io::Error>(head) }).chain(
        futures_util::stream::once(async move {
            let _ = rest.await;
            Ok(tail)
        }),
    );
    let part = Part::stream(reqwest::Body::wrap_stream(body))
        .file_name("slow.png")
        .mime_str("image/png")
        .unwrap();
    let slow = tokio::spawn({
        let (client, url) = (
            app.client.clone(),
            app.url(&format!("/api/support/ticket/{session}/attachments")),
        );
        async move {
            let form = Form::new().part("file", part);
            client
                .post(url)
                .multipart(form)
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    // The slow upload holds the slot once its first part is in the storage.
    until_stored_files(&app, 1).await;
    let mut refused = None;
    for _ in 0..100 {
        let response = app
            .client
            .post(app.url(&format!("/api/support/ticket/{session}/attachments")))
            .multipart(file_form(PDF, "a.pdf", "application/pdf"))
            .send()
            .await
            .unwrap();
        if response.status() == 503 {
            refused = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let refused = refused.expect("a second upload is refused while the first holds the slot");
    assert_eq!(refused.headers()["retry-after"], "1");
    let (_, body) = read(refused).await;
    assert_eq!(body["error"]["code"], "unavailable");
    let _ = more.send(());
    assert_eq!(slow.await.unwrap(), 201);
}
