//! A real S3 API for the tests: `moto_server` (`pip install 'moto[server]'`) of
//! the test's own, on a free port, killed when dropped. Without `moto_server` the
//! S3 cases skip with a loud notice, unless `LIVESUPPORT_REQUIRE_S3=1` (CI), where
//! that fails.
//!
//! ```ignore
//! let Some(moto) = MotoServer::start().await else { return };
//! let url = moto.fresh_bucket_url().await; // s3://t-…?endpoint=http://127.0.0.1:PORT&…
//! ```

use std::fs::File;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tempfile::TempDir;

/// How long `moto_server` may take to answer (a Python start on a busy machine).
const STARTUP_WAIT: Duration = Duration::from_secs(60);
/// Starts tried when another process takes the chosen port first.
const START_ATTEMPTS: usize = 3;

/// A running `moto_server`; every bucket of it lives in its memory.
pub struct MotoServer {
    child: Child,
    pub port: u16,
    client: reqwest::Client,
    /// Its log, shown when it fails to start.
    _log_dir: TempDir,
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the S3 suites must run (CI): a missing `moto_server` then fails the test.
pub fn s3_required() -> bool {
    std::env::var("LIVESUPPORT_REQUIRE_S3").is_ok_and(|v| v == "1" || v == "true")
}

/// A fresh bucket on a moto of its own: the server (keep it alive) and the
/// `STORAGE_URL` of the bucket. `None` (with a notice) without `moto_server`.
pub async fn s3_storage_url() -> Option<(MotoServer, String)> {
    let moto = MotoServer::start().await?;
    let url = moto.fresh_bucket_url().await;
    Some((moto, url))
}

impl MotoServer {
    /// Starts `moto_server` on a free port and waits until it answers; `None`
    /// (with a notice) when it is not installed here.
    pub async fn start() -> Option<MotoServer> {
        let mut last_log = String::new();
        for _ in 0..START_ATTEMPTS {
            match Self::try_start().await {
                Ok(server) => return Some(server),
                Err(Start::Missing(reason)) => return skip(&reason),
                Err(Start::Exited(log)) => last_log = log,
            }
        }
        skip(&format!("moto_server did not start:\n{last_log}"))
    }

    async fn try_start() -> Result<MotoServer, Start> {
        let port = free_port();
        let log_dir = tempfile::tempdir().expect("temp dir");
        let log_path = log_dir.path().join("moto.log");
        let log = File::create(&log_path).expect("moto log file");
        let spawned = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("moto log file"))
            .stderr(log)
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) => return Err(Start::Missing(format!("cannot run moto_server: {e}"))),
        };
        let mut server = MotoServer {
            child,
            port,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("HTTP client"),
            _log_dir: log_dir,
        };
        let deadline = tokio::time::Instant::now() + STARTUP_WAIT;
        loop {
            if server.client.get(server.endpoint()).send().await.is_ok() {
                return Ok(server);
            }
            // Exited: the port was taken, or the command is a shim of a Python
            // without moto.
            if let Ok(Some(_)) = server.child.try_wait() {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                return Err(if log.contains("ddress already in use") {
                    Start::Exited(log)
                } else {
                    Start::Missing(format!("moto_server exited at once:\n{log}"))
                });
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "moto_server did not answer on port {port} within {STARTUP_WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates `bucket` (a plain `PUT /bucket`: moto takes any request) and
    /// returns its `STORAGE_URL`.
    pub async fn bucket_url(&self, bucket: &str) -> String {
        let response = self
            .client
            .put(format!("{}/{bucket}", self.endpoint()))
            .send()
            .await
            .expect("moto answers");
        assert!(
            response.status().is_success(),
            "create bucket {bucket}: {}",
            response.status()
        );
        storage_url(bucket, &self.endpoint())
    }

    /// [`MotoServer::bucket_url`] of a new bucket with a unique name.
    pub async fn fresh_bucket_url(&self) -> String {
        self.bucket_url(&format!("t-{}", uuid::Uuid::new_v4().simple()))
            .await
    }
}

/// The `STORAGE_URL` of `bucket` at `endpoint`, with moto's dummy credentials
/// (so that no test reads a real AWS credential from the environment or the
/// instance metadata).
pub fn storage_url(bucket: &str, endpoint: &str) -> String {
    format!(
        "s3://{bucket}?endpoint={endpoint}&region=us-east-1&access_key_id=test&secret_access_key=test"
    )
}

/// A port nothing listens on (just freed by the OS).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

enum Start {
    /// Not installed or not runnable here.
    Missing(String),
    /// Exited for a reason another attempt may not meet (the port taken).
    Exited(String),
}

fn skip<T>(reason: &str) -> Option<T> {
    if s3_required() {
        panic!("LIVESUPPORT_REQUIRE_S3=1 but {reason}");
    }
    eprintln!(
        "\n*** SKIPPED: S3 test ({reason}; install it with `python3 -m pip install 'moto[server]'` to run it) ***\n"
    );
    None
}
