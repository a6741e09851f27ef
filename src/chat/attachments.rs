//! Files in the chat (issue 17): an upload streams to the storage, then the
//! message that carries it takes the ordinary path ([`super::Chat::append_message`]).
//!
//! The order keeps every file accounted for: the upload is registered in the
//! store once its first bytes say what it is (a pending row), then written to
//! the storage, then given to its message in the message's transaction. An
//! upload that does not become a message (refused, a resend, a failure, a client
//! gone mid-way) is deleted at once by [`UploadedFile`]'s drop; one whose node
//! died is found by [`sweep`] an hour later, through its pending row.

use crate::domain::Attachment;
use crate::domain::attachment::{
    AttachmentUrls, SNIFF_BYTES, SniffError, UploadRules, sanitize_filename,
};
use crate::error::ApiError;
use crate::metrics::metrics;
use crate::storage::{Storage, StorageError, Upload};
use crate::store::{NewAttachment, Store, StoreError, SweepReason};
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The attachment settings and the storage, shared by a node's handlers.
pub struct Attachments {
    pub storage: Storage,
    pub rules: UploadRules,
    /// `MAX_UPLOAD_BYTES`.
    pub max_bytes: u64,
    /// Signs and checks download URLs (the store signs the messages' own).
    pub urls: AttachmentUrls,
    /// Uploads in progress on this node (`MAX_UPLOADS_IN_PROGRESS`).
    in_progress: Semaphore,
}

/// A file written to the storage and registered, not yet a message's: deleted
/// (object and row, in the background) when dropped before [`UploadedFile::keep`].
pub struct UploadedFile {
    pub attachment: Attachment,
    storage_key: String,
    cleanup: Option<(Storage, Arc<dyn Store>)>,
}

impl UploadedFile {
    /// The message took the file: it stays.
    pub fn keep(mut self) {
        self.cleanup = None;
    }
}

impl Drop for UploadedFile {
    fn drop(&mut self) {
        let Some((storage, store)) = self.cleanup.take() else {
            return;
        };
        let key = std::mem::take(&mut self.storage_key);
        let id = self.attachment.id;
        // Given up first, so that a message whose transaction is still in
        // flight (a store call that timed out) cannot take it afterwards; when
        // one took it, the file stays. What fails here (or a runtime already
        // gone), the sweep finishes.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            if matches!(store.abandon_attachment(id).await, Ok(true))
                && storage.delete(&key).await.is_ok()
            {
                let _ = store.forget_attachment(id).await;
            }
        });
    }
}

impl Attachments {
    pub fn new(
        storage: Storage,
        rules: UploadRules,
        urls: AttachmentUrls,
        max_bytes: u64,
        max_in_progress: u32,
    ) -> Self {
        Attachments {
            storage,
            rules,
            urls,
            max_bytes,
            in_progress: Semaphore::new(max_in_progress.max(1) as usize),
        }
    }

    /// Streams one file of ticket `ticket_id` to the storage: its first bytes
    /// are sniffed and checked ([`UploadRules::check`]) before anything is
    /// written, its size is bounded by `max_bytes` as it arrives. Errors are the
    /// contract's: 400 (empty, unreadable or too large an image), 413, 415, 503.
    pub async fn receive<S>(
        &self,
        store: &Arc<dyn Store>,
        ticket_id: i64,
        client_filename: &str,
        mut chunks: S,
    ) -> Result<UploadedFile, ApiError>
    where
        S: Stream<Item = Result<Bytes, ApiError>> + Unpin + Send,
    {
        let _slot = self.in_progress.try_acquire().map_err(|_| {
            metrics()
                .rate_limited
                .with_label_values(&["uploads_in_progress"])
                .inc();
            ApiError::Busy(Duration::from_secs(1))
        })?;
        let result = self
            .stream(store, ticket_id, client_filename, &mut chunks)
            .await;
        let outcome = match &result {
            Ok(_) => None,
            Err(ApiError::Unavailable | ApiError::Internal) => Some("failed"),
            Err(_) => Some("rejected"),
        };
        if let Some(outcome) = outcome {
            metrics().uploads.with_label_values(&[outcome]).inc();
        }
        result
    }

    async fn stream<S>(
        &self,
        store: &Arc<dyn Store>,
        ticket_id: i64,
        client_filename: &str,
        chunks: &mut S,
    ) -> Result<UploadedFile, ApiError>
    where
        S: Stream<Item = Result<Bytes, ApiError>> + Unpin + Send,
    {
        // The head: what the type and an image's dimensions are read from.
        let mut head = BytesMut::new();
        let mut ended = false;
        while head.len() < SNIFF_BYTES {
            match chunks.next().await {
                Some(chunk) => head.extend_from_slice(&chunk?),
                None => {
                    ended = true;
                    break;
                }
            }
        }
        self.check_size(head.len() as u64)?;
        let sniffed = self
            .rules
            .check(&head, client_filename)
            .map_err(sniff_error)?;
        let filename = sanitize_filename(client_filename, &sniffed.content_type);
        let storage_key = format!("tickets/{ticket_id}/{}", uuid::Uuid::new_v4().simple());
        let id = store
            .create_attachment(&NewAttachment {
                ticket_id,
                storage_key: storage_key.clone(),
                filename: filename.clone(),
                content_type: sniffed.content_type.clone(),
                width: sniffed.dimensions.map(|(w, _)| w),
                height: sniffed.dimensions.map(|(_, h)| h),
                created_at: crate::store::now(),
            })
            .await
            .map_err(|err| match err {
                StoreError::NotFound => ApiError::NotFound("ticket"),
                other => other.into(),
            })?;
        let mut file = UploadedFile {
            attachment: Attachment {
                id,
                filename,
                content_type: sniffed.content_type,
                size: 0,
                width: sniffed.dimensions.map(|(w, _)| w),
                height: sniffed.dimensions.map(|(_, h)| h),
                url: None,
            },
            storage_key,
            cleanup: Some((self.storage.clone(), store.clone())),
        };
        let mut upload = self
            .storage
            .writer(&file.storage_key)
            .await
            .map_err(storage_error)?;
        let written = self
            .write_all(&mut upload, head.freeze(), ended, chunks)
            .await;
        match written {
            Ok(size) => {
                upload.finish().await.map_err(storage_error)?;
                file.attachment.size = size as i64;
                Ok(file)
            }
            Err(err) => {
                upload.abort().await;
                Err(err)
            }
        }
    }

    /// Writes the head and the rest of the chunks; the file's size.
    async fn write_all<S>(
        &self,
        upload: &mut Upload,
        head: Bytes,
        ended: bool,
        chunks: &mut S,
    ) -> Result<u64, ApiError>
    where
        S: Stream<Item = Result<Bytes, ApiError>> + Unpin + Send,
    {
        let mut size = head.len() as u64;
        upload.write(head).await.map_err(storage_error)?;
        if ended {
            return Ok(size);
        }
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            size += chunk.len() as u64;
            self.check_size(size)?;
            upload.write(chunk).await.map_err(storage_error)?;
        }
        Ok(size)
    }

    fn check_size(&self, size: u64) -> Result<(), ApiError> {
        if size > self.max_bytes {
            Err(ApiError::FileTooLarge(self.max_bytes))
        } else {
            Ok(())
        }
    }
}

/// Counts a file its message took.
pub fn count_stored(file: &UploadedFile) {
    metrics().uploads.with_label_values(&["stored"]).inc();
    metrics()
        .upload_bytes
        .inc_by(u64::try_from(file.attachment.size).unwrap_or_default());
}

fn sniff_error(err: SniffError) -> ApiError {
    match err {
        SniffError::TypeNotAllowed(_) => ApiError::FileTypeNotAllowed(err.to_string()),
        other => ApiError::validation("file", other.to_string()),
    }
}

fn storage_error(err: StorageError) -> ApiError {
    tracing::warn!(cause = %err, "attachment storage failed");
    ApiError::Unavailable
}

/// At most this many files are deleted per sweep round; the next round goes on.
const SWEEP_BATCH: u32 = 500;

/// One sweep: deletes the files of uploads that did not become a message within
/// `orphan_after`, and, with a `retention`, the files older than it (their
/// messages stay; the row is marked deleted). Returns how many were deleted.
/// Several nodes may sweep at once: deleting twice is harmless.
pub async fn sweep(
    store: &dyn Store,
    storage: &Storage,
    orphan_after: Duration,
    retention: Option<Duration>,
) -> Result<u64, StoreError> {
    let now = crate::store::now();
    let ago = |d: Duration| {
        chrono::Duration::from_std(d)
            .ok()
            .and_then(|d| now.checked_sub_signed(d))
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
    };
    let due = store
        .attachments_to_sweep(ago(orphan_after), retention.map(ago), SWEEP_BATCH)
        .await?;
    let mut deleted = 0;
    for item in due {
        // An orphan is older than any upload may take (`UPLOAD_TIMEOUT_SECONDS`
        // is below `orphan_after`); giving it up first still keeps any message
        // from taking it while its file goes.
        if item.reason == SweepReason::Orphan {
            store.abandon_attachment(item.id).await?;
        }
        if let Err(err) = storage.delete(&item.storage_key).await {
            tracing::warn!(cause = %err, attachment_id = item.id, "sweep: deleting a file failed; retried next round");
            continue;
        }
        match item.reason {
            SweepReason::Orphan => store.forget_attachment(item.id).await?,
            SweepReason::Retention => store.mark_attachment_deleted(item.id).await?,
        }
        metrics()
            .attachments_swept
            .with_label_values(&[item.reason.as_str()])
            .inc();
        deleted += 1;
    }
    Ok(deleted)
}
