//! The SQL of attachments (issue 17), shared by both backends like `sql.rs`:
//! [`attachment_sql!`] stamps these functions out in a backend's module, and its
//! `Store` impl calls them. Messages take their files in `sql.rs`
//! (`link_attachments`, in the message's transaction).

macro_rules! attachment_sql {
    ($db:ty) => {
        mod attachment_queries {
            use crate::store::{NewAttachment, StoreError, StoreResult, StoredAttachment, SweepItem, SweepReason};
            use chrono::{DateTime, Utc};
            use sqlx::Pool;

            pub async fn create_attachment(pool: &Pool<$db>, new: &NewAttachment) -> StoreResult<i64> {
                let inserted = sqlx::query_scalar::<_, i64>(
                    "INSERT INTO support_attachments (ticket_id, storage_key, filename, content_type, width, height, created_at) \
                     SELECT id, $2, $3, $4, $5, $6, $7 FROM support_tickets WHERE id = $1 RETURNING id",
                )
                .bind(new.ticket_id)
                .bind(&new.storage_key)
                .bind(&new.filename)
                .bind(&new.content_type)
                .bind(new.width.map(i64::from))
                .bind(new.height.map(i64::from))
                .bind(new.created_at)
                .fetch_optional(pool)
                .await?;
                inserted.ok_or(StoreError::NotFound)
            }

            #[derive(sqlx::FromRow)]
            struct AttachmentRow {
                id: i64,
                ticket_id: i64,
                message_id: Option<i64>,
                storage_key: String,
                filename: String,
                content_type: String,
                size: i64,
                deleted_at: Option<DateTime<Utc>>,
            }

            pub async fn attachment(pool: &Pool<$db>, id: i64) -> StoreResult<StoredAttachment> {
                let row: AttachmentRow = sqlx::query_as(
                    "SELECT id, ticket_id, message_id, storage_key, filename, content_type, size, deleted_at \
                     FROM support_attachments WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(pool)
                .await?
                .ok_or(StoreError::NotFound)?;
                Ok(StoredAttachment {
                    id: row.id,
                    ticket_id: row.ticket_id,
                    message_id: row.message_id,
                    storage_key: row.storage_key,
                    filename: row.filename,
                    content_type: row.content_type,
                    size: row.size,
                    deleted: row.deleted_at.is_some(),
                })
            }

            pub async fn abandon_attachment(pool: &Pool<$db>, id: i64, at: DateTime<Utc>) -> StoreResult<bool> {
                let claimed = sqlx::query(
                    "UPDATE support_attachments SET deleted_at = $2 \
                     WHERE id = $1 AND message_id IS NULL AND deleted_at IS NULL",
                )
                .bind(id)
                .bind(at)
                .execute(pool)
                .await?;
                Ok(claimed.rows_affected() == 1)
            }

            pub async fn forget_attachment(pool: &Pool<$db>, id: i64) -> StoreResult<()> {
                sqlx::query("DELETE FROM support_attachments WHERE id = $1 AND message_id IS NULL")
                    .bind(id)
                    .execute(pool)
                    .await?;
                Ok(())
            }

            pub async fn attachments_to_sweep(
                pool: &Pool<$db>,
                orphaned_before: DateTime<Utc>,
                retained_after: Option<DateTime<Utc>>,
                limit: u32,
            ) -> StoreResult<Vec<SweepItem>> {
                // Both sides of the OR use the index on created_at; a NULL `$2`
                // (no retention) matches no message's file. An upload abandoned
                // whose file could not be deleted then is an orphan too.
                let rows: Vec<(i64, String, Option<i64>)> = sqlx::query_as(
                    "SELECT id, storage_key, message_id FROM support_attachments \
                     WHERE (message_id IS NULL AND created_at < $1) \
                        OR (message_id IS NOT NULL AND deleted_at IS NULL AND created_at < $2) \
                     ORDER BY created_at LIMIT $3",
                )
                .bind(orphaned_before)
                .bind(retained_after)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, storage_key, message_id)| SweepItem {
                        id,
                        storage_key,
                        reason: if message_id.is_some() { SweepReason::Retention } else { SweepReason::Orphan },
                    })
                    .collect())
            }

            pub async fn mark_attachment_deleted(pool: &Pool<$db>, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
                sqlx::query("UPDATE support_attachments SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL")
                    .bind(id)
                    .bind(at)
                    .execute(pool)
                    .await?;
                Ok(())
            }
        }
    };
}
pub(super) use attachment_sql;
