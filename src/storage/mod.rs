//! Attachment storage: one interface, two backends, chosen by `STORAGE_URL`
//! (docs/API.md § "Attachments"): the local filesystem (`file://…`, the embedded
//! default) or any S3-compatible object store (`s3://BUCKET?endpoint=…`), both
//! through the `object_store` crate.
//!
//! Keys are chosen by the caller (`tickets/{ticket_id}/{uuid}`); an upload
//! streams in parts and holds at most one part in memory.

use bytes::Bytes;
use futures_util::stream::BoxStream;

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
pub struct Storage {}

/// An object being written; finished, aborted, or (dropped) aborted in the background.
pub struct Upload {}

/// An object being read.
pub struct Download {
    pub size: u64,
    pub body: BoxStream<'static, Result<Bytes, StorageError>>,
}

impl Storage {
    /// Opens the storage `url` names (creating a filesystem folder).
    pub async fn from_url(_url: &str) -> Result<Storage, StorageError> {
        todo!()
    }

    /// What the storage is, for the start-up log: no credential.
    pub fn describe(&self) -> String {
        todo!()
    }

    /// Starts writing `key` (replacing an object there).
    pub async fn writer(&self, _key: &str) -> Result<Upload, StorageError> {
        todo!()
    }

    /// Reads `key`; `NotFound` when there is none.
    pub async fn get(&self, _key: &str) -> Result<Download, StorageError> {
        todo!()
    }

    /// Deletes `key`; an object that is not there is fine.
    pub async fn delete(&self, _key: &str) -> Result<(), StorageError> {
        todo!()
    }
}

impl Upload {
    /// Appends a chunk; waits when the parts in flight are at their bound.
    pub async fn write(&mut self, _chunk: Bytes) -> Result<(), StorageError> {
        todo!()
    }

    /// Completes the object: readable from here on.
    pub async fn finish(self) -> Result<(), StorageError> {
        todo!()
    }

    /// Gives the object up: nothing of it stays.
    pub async fn abort(self) {
        todo!()
    }
}
