//! Attachment storage: one interface, two backends, chosen by `STORAGE_URL`
//! (docs/API.md § "Attachments"): the local filesystem (`file://…`, the embedded
//! default) or any S3-compatible object store (`s3://BUCKET?endpoint=…`), both
//! through the `object_store` crate.
//!
//! Keys are chosen by the caller (`tickets/{ticket_id}/{uuid}`); an upload
//! streams in parts and holds at most one part in memory.
//!
//! An `s3://` URL's query takes any option of object_store's `AmazonS3ConfigKey`
//! (`endpoint`, `region`, `access_key_id`, `allow_http`, `timeout`,
//! `connect_timeout`, …) on top of the `AWS_*` variables, and two of ours:
//! `max_retries` (default 3) and `retry_timeout` (default 10s) per request.
//!
//! `location` parses the URL; this file opens the backend and runs the calls,
//! timing them into `livesupport_storage_operation_duration_seconds` and counting
//! failures into `livesupport_storage_errors_total` (a missing object is no failure).

mod location;

use crate::metrics::metrics;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use location::{Location, S3Location};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// The size of an upload's parts: S3's smallest (all but the last part must
/// reach it). The filesystem writes its staging file in the same steps.
const PART_SIZE: usize = 5 * 1024 * 1024;
/// Parts of one upload being sent at once. One: while it is sent, `write` waits,
/// so an upload holds one part (and the chunk being written) at most. Two would
/// overlap reading the client with sending, at twice the memory.
const PARTS_IN_FLIGHT: usize = 1;

/// The `operation` label of the storage metrics.
const PUT: &str = "put";
const GET: &str = "get";
const DELETE: &str = "delete";

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// `STORAGE_URL` cannot be used (said at start).
    #[error("STORAGE_URL: {0}")]
    Config(String),
    #[error("no such object")]
    NotFound,
    /// The storage failed or did not answer; the cause, never a credential.
    #[error("storage: {0}")]
    Backend(String),
}

/// Where attachments are kept; cheap to clone.
#[derive(Clone)]
pub struct Storage {
    /// The backend every call goes through.
    store: Arc<dyn ObjectStore>,
    /// What [`Storage::describe`] says: the folder, or the bucket and endpoint.
    description: Arc<str>,
    /// The credential values of the S3 client, blanked out of every error text.
    credentials: Arc<[String]>,
}

/// An object being written; finished, aborted, or (dropped) aborted in the background.
pub struct Upload {
    /// The parts being sent; `None` once finished or aborted (the drop then has
    /// nothing to clean).
    parts: Option<WriteMultipart>,
    /// Bytes given to `write` so far.
    written: u64,
    key: Path,
    /// When `writer` was called: the `put` duration runs to `finish`.
    started: Instant,
    credentials: Arc<[String]>,
}

/// An object being read.
pub struct Download {
    pub size: u64,
    pub body: BoxStream<'static, Result<Bytes, StorageError>>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Storage").field(&self.description).finish()
    }
}

impl Storage {
    /// Opens the storage `url` names (creating a filesystem folder).
    pub async fn from_url(url: &str) -> Result<Storage, StorageError> {
        match location::parse(url)? {
            Location::Filesystem(path) => Self::filesystem(path).await,
            Location::S3(s3) => Self::s3(*s3),
        }
    }

    async fn filesystem(path: PathBuf) -> Result<Storage, StorageError> {
        let shown = path.display();
        tokio::fs::create_dir_all(&path)
            .await
            .map_err(|e| StorageError::Config(format!("cannot create the folder {shown}: {e}")))?;
        let root = tokio::fs::canonicalize(&path)
            .await
            .map_err(|e| StorageError::Config(format!("cannot open the folder {shown}: {e}")))?;
        let store = LocalFileSystem::new_with_prefix(&root)
            .map_err(|e| StorageError::Config(format!("cannot open the folder {shown}: {e}")))?
            // A `201` promises the file: it is on the disk before `finish` returns.
            .with_fsync(true)
            // Deleting the last file of a ticket removes its folder too.
            .with_automatic_cleanup(true);
        Ok(Storage {
            store: Arc::new(store),
            description: format!("filesystem {}", root.display()).into(),
            credentials: Arc::new([]),
        })
    }

    fn s3(location: S3Location) -> Result<Storage, StorageError> {
        let credentials: Arc<[String]> = location.credentials().into();
        let endpoint = location
            .option(object_store::aws::AmazonS3ConfigKey::S3Endpoint)
            .or_else(|| location.option(object_store::aws::AmazonS3ConfigKey::Endpoint))
            .map_or_else(|| "AWS".to_owned(), |e| without_userinfo(&e));
        let region = location
            .option(object_store::aws::AmazonS3ConfigKey::Region)
            .unwrap_or_default();
        let description = format!(
            "s3 bucket {} at {endpoint} ({region}; {} retries within {:?})",
            location.bucket, location.retry.max_retries, location.retry.retry_timeout
        );
        let store = location.builder.build().map_err(|e| {
            StorageError::Config(format!(
                "the S3 client: {}",
                redact(&credentials, &with_causes(&e))
            ))
        })?;
        Ok(Storage {
            store: Arc::new(store),
            description: description.into(),
            credentials,
        })
    }

    /// What the storage is, for the start-up log: no credential.
    pub fn describe(&self) -> String {
        self.description.to_string()
    }

    /// Starts writing `key` (replacing an object there).
    pub async fn writer(&self, key: &str) -> Result<Upload, StorageError> {
        let started = Instant::now();
        let result = async {
            let path = parse_key(key)?;
            let upload = self
                .store
                .put_multipart(&path)
                .await
                .map_err(|e| self.error(e))?;
            Ok((path, upload))
        }
        .await;
        match result {
            Ok((key, upload)) => Ok(Upload {
                parts: Some(WriteMultipart::new_with_chunk_size(upload, PART_SIZE)),
                written: 0,
                key,
                started,
                credentials: Arc::clone(&self.credentials),
            }),
            Err(e) => {
                failed(PUT);
                Err(e)
            }
        }
    }

    /// Reads `key`; `NotFound` when there is none.
    pub async fn get(&self, key: &str) -> Result<Download, StorageError> {
        let path = parse_key(key).inspect_err(|_| failed(GET))?;
        let result = timed(GET, self.store.get(&path)).await;
        let object = result.map_err(|e| self.error(e)).inspect_err(count(GET))?;
        let size = object.meta.size;
        let credentials = Arc::clone(&self.credentials);
        let body = object
            .into_stream()
            .map_err(move |e| {
                failed(GET);
                to_storage_error(&credentials, e)
            })
            .boxed();
        Ok(Download { size, body })
    }

    /// Deletes `key`; an object that is not there is fine.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let path = parse_key(key).inspect_err(|_| failed(DELETE))?;
        match timed(DELETE, self.store.delete(&path)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => {
                failed(DELETE);
                Err(self.error(e))
            }
        }
    }

    fn error(&self, error: object_store::Error) -> StorageError {
        to_storage_error(&self.credentials, error)
    }
}

impl Upload {
    /// Appends a chunk; waits when the parts in flight are at their bound.
    pub async fn write(&mut self, mut chunk: Bytes) -> Result<(), StorageError> {
        let Some(parts) = self.parts.as_mut() else {
            return Err(StorageError::Backend("the upload has ended".into()));
        };
        // Fed up to each part boundary in turn: `WriteMultipart::put` of a chunk
        // spanning several parts would send them all at once.
        while !chunk.is_empty() {
            if let Err(e) = parts.wait_for_capacity(PARTS_IN_FLIGHT).await {
                failed(PUT);
                return Err(to_storage_error(&self.credentials, e));
            }
            let to_boundary = PART_SIZE - (self.written % PART_SIZE as u64) as usize;
            let piece = chunk.split_to(to_boundary.min(chunk.len()));
            self.written += piece.len() as u64;
            parts.put(piece);
        }
        Ok(())
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Completes the object: readable from here on.
    pub async fn finish(mut self) -> Result<(), StorageError> {
        let Some(parts) = self.parts.take() else {
            return Err(StorageError::Backend("the upload has ended".into()));
        };
        // On failure `WriteMultipart::finish` aborts the upload itself.
        let result = parts.finish().await;
        metrics()
            .storage_duration
            .with_label_values(&[PUT])
            .observe(self.started.elapsed().as_secs_f64());
        result
            .map(|_| ())
            .map_err(|e| to_storage_error(&self.credentials, e))
            .inspect_err(count(PUT))
    }

    /// Gives the object up: nothing of it stays.
    pub async fn abort(mut self) {
        if let Some(parts) = self.parts.take() {
            abort(parts, self.key.clone(), Arc::clone(&self.credentials)).await;
        }
    }
}

impl Drop for Upload {
    /// An upload dropped unfinished (its request cancelled by a client that went
    /// away) is aborted by a task of its own: `Drop` cannot wait.
    fn drop(&mut self) {
        let Some(parts) = self.parts.take() else {
            return;
        };
        let key = self.key.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(abort(parts, key, Arc::clone(&self.credentials)));
            }
            // No runtime left (the process is ending): S3 keeps the parts until
            // the bucket's lifecycle rule for incomplete uploads removes them.
            Err(_) => {
                tracing::warn!(%key, "an unfinished upload was dropped outside a runtime: its parts may stay")
            }
        }
    }
}

/// Aborts `parts`: a failure is logged and counted, as nobody waits for it.
async fn abort(parts: WriteMultipart, key: Path, credentials: Arc<[String]>) {
    if let Err(e) = parts.abort().await {
        failed(PUT);
        let cause = to_storage_error(&credentials, e);
        tracing::warn!(%key, %cause, "could not abort an upload: its parts may stay");
    }
}

/// A key as object_store takes it: `/`-separated, no empty, `.` or `..` segment.
fn parse_key(key: &str) -> Result<Path, StorageError> {
    Path::parse(key).map_err(|e| StorageError::Backend(format!("invalid key {key:?}: {e}")))
}

fn to_storage_error(credentials: &[String], error: object_store::Error) -> StorageError {
    match error {
        object_store::Error::NotFound { .. } => StorageError::NotFound,
        other => StorageError::Backend(redact(credentials, &with_causes(&other))),
    }
}

/// The error and the causes its text leaves out ("error sending request:
/// connection refused").
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        let said = error.to_string();
        if !text.contains(&said) {
            text = format!("{text}: {said}");
        }
        cause = error.source();
    }
    text
}

/// `text` with every credential value blanked out (belt and braces: object_store
/// does not print them, and this keeps it so).
fn redact(credentials: &[String], text: &str) -> String {
    credentials.iter().fold(text.to_owned(), |text, secret| {
        text.replace(secret.as_str(), "***")
    })
}

/// `endpoint` without any `user:password@` part.
fn without_userinfo(endpoint: &str) -> String {
    match url::Url::parse(endpoint) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.to_string().trim_end_matches('/').to_owned()
        }
        Err(_) => "an endpoint that is not a URL".to_owned(),
    }
}

/// Times `work` into the storage duration of `operation`.
async fn timed<T>(operation: &str, work: impl Future<Output = T>) -> T {
    crate::metrics::timed(&metrics().storage_duration, operation, work).await
}

fn failed(operation: &str) {
    metrics()
        .storage_errors
        .with_label_values(&[operation])
        .inc();
}

/// Counts a failure of `operation`; a missing object is none.
fn count(operation: &'static str) -> impl Fn(&StorageError) {
    move |error| {
        if !matches!(error, StorageError::NotFound) {
            failed(operation);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_relative_file_url_creates_its_folder_under_the_working_directory() {
        let relative = format!("target/storage-test-{}/attachments", uuid::Uuid::new_v4());
        let storage = Storage::from_url(&format!("file://./{relative}"))
            .await
            .expect("a filesystem storage");
        let folder = std::env::current_dir().unwrap().join(&relative);
        assert!(folder.is_dir(), "{} was created", folder.display());
        assert!(
            storage.describe().ends_with(&relative),
            "{}",
            storage.describe()
        );
        std::fs::remove_dir_all(folder.parent().unwrap()).unwrap();
    }

    #[tokio::test]
    async fn describe_names_the_bucket_and_endpoint_and_no_credential() {
        let storage = Storage::from_url(
            "s3://files?endpoint=http://user:pw@127.0.0.1:9000&region=eu-west-1\
             &access_key_id=AKIDEXAMPLE&secret_access_key=VERYSECRET",
        )
        .await
        .expect("an S3 storage");
        let described = storage.describe();
        assert!(described.contains("files"), "{described}");
        assert!(described.contains("http://127.0.0.1:9000"), "{described}");
        assert!(described.contains("eu-west-1"), "{described}");
        for secret in ["AKIDEXAMPLE", "VERYSECRET", "user", "pw@"] {
            assert!(!described.contains(secret), "{described} shows {secret}");
            assert!(!format!("{storage:?}").contains(secret));
        }
    }

    #[tokio::test]
    async fn an_unknown_scheme_is_a_config_error() {
        let error = Storage::from_url("gcs://bucket").await.unwrap_err();
        assert!(matches!(error, StorageError::Config(_)), "{error:?}");
    }

    /// Axum handlers need `Send` futures: what they hold across an await must be.
    #[test]
    fn handlers_can_hold_storage_uploads_and_downloads_across_awaits() {
        fn send<T: Send>(_: &T) {}
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Storage>();
        send_sync::<StorageError>();
        // Never called: only the types of the futures are checked.
        fn futures(storage: &Storage, mut upload: Upload, other: Upload) {
            send(&storage.writer("k"));
            send(&storage.get("k"));
            send(&storage.delete("k"));
            send(&upload.write(Bytes::new()));
            send(&other.finish());
            send(&upload.abort());
        }
        let _ = futures;
    }

    #[test]
    fn error_texts_never_show_a_credential() {
        let credentials = ["AKIDEXAMPLE".to_owned(), "VERYSECRET".to_owned()];
        let text = redact(&credentials, "signed with AKIDEXAMPLE/VERYSECRET");
        assert_eq!(text, "signed with ***/***");
    }
}
