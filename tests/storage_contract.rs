//! The attachment storage contract: every rule of `Storage`, written once as an
//! async fn taking a [`Fixture`] and run against both backends. The filesystem
//! gets a temp folder; S3 gets a fresh bucket on a `moto_server` of its own
//! (`common::s3`), and its cases skip (with a notice) when moto is not installed,
//! unless `LIVESUPPORT_REQUIRE_S3=1`. The fixture looks into the folder or the
//! bucket behind the storage's back, so "leaves nothing" means no file, no
//! object and no unfinished multipart upload.

mod common;

use bytes::Bytes;
use futures_util::TryStreamExt;
use livesupport::metrics::metrics;
use livesupport::storage::{Storage, StorageError};
use std::path::PathBuf;
use std::time::Duration;
use tempfile::TempDir;

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;
/// Above one 5 MiB part: an upload of this size has sent a part before it ends.
const OVER_ONE_PART: usize = 6 * MIB;
/// How long a dropped upload's background abort may take.
const CLEANUP_WAIT: Duration = Duration::from_secs(20);

/// Generates one `#[tokio::test]` per backend for each contract fn.
macro_rules! storage_contract {
    ($($name:ident),* $(,)?) => {
        mod filesystem {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::$name(crate::Fixture::filesystem().await).await;
                }
            )*
        }
        mod s3 {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(fixture) = crate::Fixture::s3().await else {
                        return;
                    };
                    crate::$name(fixture).await;
                }
            )*
        }
    };
}

storage_contract!(
    an_object_written_in_chunks_reads_back_identical,
    a_large_object_round_trips_through_several_parts,
    a_chunk_larger_than_a_part_is_stored_whole,
    writing_a_key_again_replaces_its_object,
    an_aborted_upload_leaves_nothing,
    a_dropped_upload_is_cleaned_up_in_the_background,
    a_deleted_object_is_not_found,
    deleting_a_missing_key_is_fine,
    getting_a_missing_key_is_not_found,
    keys_with_folders_keep_their_neighbours,
    an_unfinished_object_cannot_be_read,
    calls_are_timed_in_the_storage_metrics,
);

/// A storage and a way to see what it keeps.
struct Fixture {
    storage: Storage,
    backing: Backing,
}

enum Backing {
    Folder(TempDir),
    Bucket {
        /// Dropped last: it holds the bucket.
        moto: common::s3::MotoServer,
        bucket: String,
        client: reqwest::Client,
    },
}

impl Fixture {
    async fn filesystem() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let storage = Storage::from_url(&format!("file://{}", dir.path().display()))
            .await
            .expect("the filesystem storage opens");
        Fixture {
            storage,
            backing: Backing::Folder(dir),
        }
    }

    async fn s3() -> Option<Fixture> {
        let moto = common::s3::MotoServer::start().await?;
        let bucket = format!("t-{}", uuid::Uuid::new_v4().simple());
        let url = moto.bucket_url(&bucket).await;
        let storage = Storage::from_url(&url).await.expect("the S3 storage opens");
        Some(Fixture {
            storage,
            backing: Backing::Bucket {
                moto,
                bucket,
                client: reqwest::Client::new(),
            },
        })
    }

    /// Everything the backend holds: files of the folder (staging files
    /// included), or the bucket's objects and unfinished multipart uploads.
    async fn leftovers(&self) -> Vec<String> {
        match &self.backing {
            Backing::Folder(dir) => files_under(dir.path().to_path_buf()),
            Backing::Bucket {
                moto,
                bucket,
                client,
            } => {
                let base = format!("{}/{bucket}", moto.endpoint());
                let objects = s3_listing(client, &format!("{base}?list-type=2")).await;
                let uploads = s3_listing(client, &format!("{base}?uploads")).await;
                objects
                    .into_iter()
                    .chain(uploads.into_iter().map(|key| format!("{key} (unfinished)")))
                    .collect()
            }
        }
    }

    /// Polls [`Fixture::leftovers`] until it is empty; the last listing once
    /// [`CLEANUP_WAIT`] has passed.
    async fn wait_for_nothing_left(&self) -> Result<(), Vec<String>> {
        let deadline = tokio::time::Instant::now() + CLEANUP_WAIT;
        loop {
            let left = self.leftovers().await;
            if left.is_empty() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(left);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Writes `data` to `key` in `chunk`-sized writes and finishes.
    async fn put(&self, key: &str, data: &[u8], chunk: usize) {
        let mut upload = self.storage.writer(key).await.expect("writer");
        for piece in data.chunks(chunk) {
            upload
                .write(Bytes::copy_from_slice(piece))
                .await
                .expect("write");
        }
        assert_eq!(upload.written(), data.len() as u64);
        upload.finish().await.expect("finish");
    }

    /// The object's announced size and its bytes.
    async fn read(&self, key: &str) -> Result<(u64, Vec<u8>), StorageError> {
        let download = self.storage.get(key).await?;
        let chunks: Vec<Bytes> = download.body.try_collect().await?;
        Ok((download.size, chunks.concat()))
    }

    async fn assert_not_found(&self, key: &str) {
        match self.storage.get(key).await {
            Err(StorageError::NotFound) => {}
            Err(other) => panic!("{key}: expected NotFound, got {other:?}"),
            Ok(download) => panic!("{key}: expected NotFound, got {} bytes", download.size),
        }
    }
}

/// Every file under `dir`, as paths relative to it.
fn files_under(dir: PathBuf) -> Vec<String> {
    let mut files = Vec::new();
    let mut folders = vec![dir.clone()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("read the folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path.strip_prefix(&dir).unwrap().display().to_string());
            }
        }
    }
    files
}

/// The `<Key>` values of an S3 listing (objects or multipart uploads).
async fn s3_listing(client: &reqwest::Client, url: &str) -> Vec<String> {
    let response = client.get(url).send().await.expect("moto answers");
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    let xml = response.text().await.expect("a listing");
    xml.split("<Key>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</Key>").map(|(key, _)| key.to_owned()))
        .collect()
}

/// `len` bytes that differ from one offset to the next (a part stored twice or
/// out of order shows), different for each `seed`.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            // xorshift64
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn new_key() -> String {
    format!("tickets/42/{}", uuid::Uuid::new_v4())
}

async fn an_object_written_in_chunks_reads_back_identical(fixture: Fixture) {
    let key = new_key();
    let data = pattern(100 * KIB + 17, 1);
    fixture.put(&key, &data, 7 * KIB).await;

    let (size, read) = fixture.read(&key).await.expect("the object reads back");
    assert_eq!(size, data.len() as u64, "announced size");
    assert_eq!(read.len(), data.len(), "bytes read");
    assert!(
        read == data,
        "the bytes read back differ from those written"
    );
}

async fn a_large_object_round_trips_through_several_parts(fixture: Fixture) {
    let key = new_key();
    // 12 MiB: two full 5 MiB parts and a last one of 2 MiB.
    let data = pattern(12 * MIB, 2);
    fixture.put(&key, &data, 64 * KIB).await;

    let (size, read) = fixture.read(&key).await.expect("the object reads back");
    assert_eq!(size, data.len() as u64);
    assert!(
        read == data,
        "the 12 MiB read back differ from those written"
    );
    assert_eq!(
        fixture.leftovers().await,
        vec![key],
        "one object, no upload left"
    );
}

async fn a_chunk_larger_than_a_part_is_stored_whole(fixture: Fixture) {
    let key = new_key();
    let data = pattern(11 * MIB + 3, 3);
    let mut upload = fixture.storage.writer(&key).await.expect("writer");
    upload
        .write(Bytes::from(data[..10].to_vec()))
        .await
        .unwrap();
    upload
        .write(Bytes::from(data[10..].to_vec()))
        .await
        .unwrap();
    upload.finish().await.expect("finish");

    let (size, read) = fixture.read(&key).await.expect("the object reads back");
    assert_eq!(size, data.len() as u64);
    assert!(
        read == data,
        "the bytes read back differ from those written"
    );
}

async fn writing_a_key_again_replaces_its_object(fixture: Fixture) {
    let key = new_key();
    fixture.put(&key, &pattern(300 * KIB, 4), 64 * KIB).await;
    let second = pattern(1000, 5);
    fixture.put(&key, &second, 64 * KIB).await;

    let (size, read) = fixture.read(&key).await.expect("the object reads back");
    assert_eq!(size, second.len() as u64);
    assert!(read == second, "the second object replaced the first");
}

async fn an_aborted_upload_leaves_nothing(fixture: Fixture) {
    let key = new_key();
    let mut upload = fixture.storage.writer(&key).await.expect("writer");
    // A part has gone out before the abort.
    for piece in pattern(OVER_ONE_PART, 6).chunks(64 * KIB) {
        upload.write(Bytes::copy_from_slice(piece)).await.unwrap();
    }
    upload.abort().await;

    fixture.assert_not_found(&key).await;
    assert_eq!(fixture.leftovers().await, Vec::<String>::new(), "leftovers");
}

async fn a_dropped_upload_is_cleaned_up_in_the_background(fixture: Fixture) {
    let key = new_key();
    let mut upload = fixture.storage.writer(&key).await.expect("writer");
    for piece in pattern(OVER_ONE_PART, 7).chunks(64 * KIB) {
        upload.write(Bytes::copy_from_slice(piece)).await.unwrap();
    }
    // As an HTTP handler cancelled by a client that went away.
    drop(upload);

    fixture.assert_not_found(&key).await;
    if let Err(left) = fixture.wait_for_nothing_left().await {
        panic!("still there {CLEANUP_WAIT:?} after the drop: {left:?}");
    }
}

async fn a_deleted_object_is_not_found(fixture: Fixture) {
    let key = new_key();
    fixture.put(&key, &pattern(10 * KIB, 8), 4 * KIB).await;
    fixture.storage.delete(&key).await.expect("delete");

    fixture.assert_not_found(&key).await;
    assert_eq!(fixture.leftovers().await, Vec::<String>::new(), "leftovers");
}

async fn deleting_a_missing_key_is_fine(fixture: Fixture) {
    let key = new_key();
    fixture.storage.delete(&key).await.expect("never written");
    fixture.put(&key, b"x", 1).await;
    fixture
        .storage
        .delete(&key)
        .await
        .expect("the first delete");
    fixture
        .storage
        .delete(&key)
        .await
        .expect("the second delete");
}

async fn getting_a_missing_key_is_not_found(fixture: Fixture) {
    fixture.assert_not_found(&new_key()).await;
    fixture.assert_not_found("tickets/does-not-exist").await;
}

async fn keys_with_folders_keep_their_neighbours(fixture: Fixture) {
    let first = new_key();
    let second = new_key();
    let other_ticket = format!("tickets/43/{}", uuid::Uuid::new_v4());
    fixture.put(&first, &pattern(1000, 9), 100).await;
    fixture.put(&second, &pattern(2000, 10), 100).await;
    fixture.put(&other_ticket, &pattern(3000, 11), 100).await;

    fixture.storage.delete(&first).await.expect("delete");
    fixture.assert_not_found(&first).await;
    let (_, read) = fixture.read(&second).await.expect("the neighbour stays");
    assert!(read == pattern(2000, 10));
    let (_, read) = fixture
        .read(&other_ticket)
        .await
        .expect("the other ticket's stays");
    assert!(read == pattern(3000, 11));
    // The ticket's folder is not a readable object.
    assert!(fixture.storage.get("tickets/42").await.is_err());
}

async fn an_unfinished_object_cannot_be_read(fixture: Fixture) {
    let key = new_key();
    let mut upload = fixture.storage.writer(&key).await.expect("writer");
    for piece in pattern(OVER_ONE_PART, 12).chunks(64 * KIB) {
        upload.write(Bytes::copy_from_slice(piece)).await.unwrap();
    }
    fixture.assert_not_found(&key).await;
    upload.finish().await.expect("finish");
    let (size, _) = fixture.read(&key).await.expect("readable once finished");
    assert_eq!(size, OVER_ONE_PART as u64);
}

async fn calls_are_timed_in_the_storage_metrics(fixture: Fixture) {
    // Other tests of this process may add to the metrics too: only a rise is checked.
    let count = |operation: &str| {
        metrics()
            .storage_duration
            .with_label_values(&[operation])
            .get_sample_count()
    };
    let before = [count("put"), count("get"), count("delete")];

    let key = new_key();
    fixture.put(&key, b"metrics", 3).await;
    fixture.read(&key).await.expect("read");
    fixture.storage.delete(&key).await.expect("delete");
    fixture.assert_not_found(&key).await;

    assert!(count("put") > before[0], "put timed");
    assert!(count("get") >= before[1] + 2, "both gets timed");
    assert!(count("delete") > before[2], "delete timed");
}

/// An S3 endpoint where nothing listens: every call fails with `Backend` in
/// bounded time, with the default retries and with the URL's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_s3_endpoint_fails_with_backend_in_bounded_time() {
    let endpoint = format!("http://127.0.0.1:{}", common::s3::free_port());
    let defaults = format!(
        "s3://nowhere?endpoint={endpoint}&access_key_id={ACCESS_KEY}&secret_access_key={SECRET_KEY}"
    );
    let quick = format!("{defaults}&max_retries=0&connect_timeout=1s&timeout=2s");
    for (url, bound) in [
        (defaults, Duration::from_secs(15)),
        (quick, Duration::from_secs(3)),
    ] {
        let storage = Storage::from_url(&url).await.expect("opens without a call");
        let errors_before = metrics().storage_errors.with_label_values(&["put"]).get();

        let started = std::time::Instant::now();
        let error = match storage.writer("tickets/1/a").await {
            Ok(_) => panic!("{url}: an upload started on a closed port"),
            Err(e) => e,
        };
        assert_backend(&url, "writer", error, started.elapsed(), bound);
        assert!(
            metrics().storage_errors.with_label_values(&["put"]).get() > errors_before,
            "the failed put is counted"
        );

        let started = std::time::Instant::now();
        let error = match storage.get("tickets/1/a").await {
            Ok(_) => panic!("{url}: a get answered from a closed port"),
            Err(e) => e,
        };
        assert_backend(&url, "get", error, started.elapsed(), bound);

        let started = std::time::Instant::now();
        let error = storage.delete("tickets/1/a").await.unwrap_err();
        assert_backend(&url, "delete", error, started.elapsed(), bound);
    }
}

/// An S3 endpoint that accepts connections and never answers (a frozen store):
/// the URL's `timeout` bounds every call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_s3_endpoint_fails_with_backend_within_the_urls_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    // Accepts, holds every connection, reads nothing and answers nothing.
    let frozen = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let url = format!(
        "s3://frozen?endpoint={endpoint}&access_key_id={ACCESS_KEY}&secret_access_key={SECRET_KEY}\
         &timeout=1s&max_retries=1&retry_timeout=1s"
    );
    let storage = Storage::from_url(&url).await.expect("opens without a call");
    let bound = Duration::from_secs(5);

    let started = std::time::Instant::now();
    let error = match storage.writer("tickets/1/a").await {
        Ok(_) => panic!("an upload started on a frozen store"),
        Err(e) => e,
    };
    assert_backend(&url, "writer", error, started.elapsed(), bound);

    let started = std::time::Instant::now();
    let error = match storage.get("tickets/1/a").await {
        Ok(_) => panic!("a get answered from a frozen store"),
        Err(e) => e,
    };
    assert_backend(&url, "get", error, started.elapsed(), bound);

    let started = std::time::Instant::now();
    let error = storage.delete("tickets/1/a").await.unwrap_err();
    assert_backend(&url, "delete", error, started.elapsed(), bound);
    frozen.abort();
}

/// Credentials of the unreachable store, to look for in its errors.
const ACCESS_KEY: &str = "AKIDUNREACHABLE";
const SECRET_KEY: &str = "SECRETUNREACHABLE";

fn assert_backend(url: &str, call: &str, error: StorageError, took: Duration, bound: Duration) {
    let StorageError::Backend(text) = &error else {
        panic!("{url}: {call}: expected Backend, got {error:?}");
    };
    assert!(
        took < bound,
        "{url}: {call} took {took:?} (bound {bound:?})"
    );
    assert!(
        !text.contains(ACCESS_KEY) && !text.contains(SECRET_KEY),
        "{url}: {call}: the error shows a credential: {text}"
    );
    eprintln!("{call}: {text} ({took:?})");
}
