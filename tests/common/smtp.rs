//! A real SMTP server for the tests: `tests/common/smtp_sink.py` (aiosmtpd,
//! `pip install aiosmtpd`) of the test's own, on a free port, which writes
//! every email it takes to a folder as JSON. Without aiosmtpd the email
//! cases skip with a loud notice, unless `LIVESUPPORT_REQUIRE_SMTP=1` (CI),
//! where that fails.
//!
//! ```ignore
//! let Some(sink) = SmtpSink::start().await else { return };
//! // SMTP_URL = sink.url(); … then:
//! let emails = sink.wait_for(1, Duration::from_secs(10)).await;
//! ```

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tempfile::TempDir;

/// How long the sink may take to listen (a Python start on a busy machine).
const STARTUP_WAIT: Duration = Duration::from_secs(30);

pub struct SmtpSink {
    child: Option<Child>,
    pub port: u16,
    folder: TempDir,
    /// `[mode, certificate, key]` of a TLS sink (`starttls` or `smtps`).
    tls: Vec<String>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An email as the sink took it.
#[derive(Debug, Clone)]
pub struct Received {
    pub message_id: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub json: Value,
}

/// Whether the SMTP suites must run (CI).
pub fn smtp_required() -> bool {
    std::env::var("LIVESUPPORT_REQUIRE_SMTP").is_ok_and(|v| v == "1" || v == "true")
}

fn script() -> String {
    format!("{}/tests/common/smtp_sink.py", env!("CARGO_MANIFEST_DIR"))
}

impl SmtpSink {
    /// Starts the sink on a free port; `None` (with a notice) without aiosmtpd.
    pub async fn start() -> Option<SmtpSink> {
        Self::start_with(Vec::new()).await
    }

    /// A sink speaking TLS with the certificate and key (PEM files): `starttls`
    /// (offered, and required before MAIL) or `smtps` (from the first byte).
    pub async fn start_tls(
        mode: &str,
        cert: &std::path::Path,
        key: &std::path::Path,
    ) -> Option<SmtpSink> {
        let files = [cert, key].map(|p| p.display().to_string());
        Self::start_with(vec![mode.to_owned(), files[0].clone(), files[1].clone()]).await
    }

    async fn start_with(tls: Vec<String>) -> Option<SmtpSink> {
        let available = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !available {
            let reason = "python3 cannot import aiosmtpd";
            if smtp_required() {
                panic!("LIVESUPPORT_REQUIRE_SMTP=1 but {reason}");
            }
            eprintln!(
                "\n*** SKIPPED: SMTP test ({reason}; install it with `python3 -m pip install aiosmtpd` to run it) ***\n"
            );
            return None;
        }
        let mut sink = SmtpSink {
            child: None,
            port: super::s3::free_port(),
            folder: tempfile::tempdir().expect("temp dir"),
            tls,
        };
        sink.restart().await;
        Some(sink)
    }

    /// `SMTP_URL` of the sink.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Stops the server: connections to its port are refused until `restart`.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on its port, with the emails taken so far.
    pub async fn restart(&mut self) {
        self.stop();
        let deadline = tokio::time::Instant::now() + STARTUP_WAIT;
        loop {
            let mut child = Command::new("python3")
                .arg(script())
                .arg(self.port.to_string())
                .arg(self.folder.path())
                .args(&self.tls)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("python3 runs");
            let stdout = child.stdout.take().expect("piped stdout");
            let ready = tokio::task::spawn_blocking(move || {
                let mut line = String::new();
                BufReader::new(stdout).read_line(&mut line).ok();
                line.trim() == "ready"
            })
            .await
            .unwrap_or(false);
            if ready {
                self.child = Some(child);
                return;
            }
            // The port is still held by the old one, or taken: try again.
            let _ = child.kill();
            let _ = child.wait();
            assert!(
                tokio::time::Instant::now() < deadline,
                "the SMTP sink did not start on port {} within {STARTUP_WAIT:?}",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Makes the sink wait `seconds` after writing each email before it
    /// answers that it took it.
    pub fn set_reply_delay(&self, seconds: f64) {
        std::fs::write(self.folder.path().join("delay"), seconds.to_string())
            .expect("write the delay");
    }

    /// Every email taken so far, in the order taken.
    pub fn received(&self) -> Vec<Received> {
        let mut names: Vec<_> = std::fs::read_dir(self.folder.path())
            .expect("the sink's folder")
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".json") && !name.starts_with('.'))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|name| {
                let raw =
                    std::fs::read_to_string(self.folder.path().join(&name)).expect("an email");
                let json: Value = serde_json::from_str(&raw).expect("the sink's JSON");
                let field = |key: &str| json[key].as_str().unwrap_or_default().to_owned();
                Received {
                    message_id: field("message_id"),
                    to: field("to"),
                    subject: field("subject"),
                    text: field("text"),
                    html: field("html"),
                    json: json.clone(),
                }
            })
            .collect()
    }

    /// Waits until at least `count` emails were taken; panics after `wait`.
    pub async fn wait_for(&self, count: usize, wait: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the SMTP sink took {} emails, not {count}, within {wait:?}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
