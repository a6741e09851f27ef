//! The SQL of visitor context (pages, the visitor's browser, previous
//! conversations), shared by both backends like `sql.rs`: [`visitor_sql!`]
//! stamps these functions out in a backend's module, and its `Store` impl calls
//! them.

/// Which tickets are a visitor's previous conversations (`$1` this ticket, `$2`
/// its `user_id`, `$3` its email): written so that each side of the `OR` has an
/// index (`idx_support_tickets_user_id`, `idx_support_tickets_user_email_lower`);
/// public for the test that reads both backends' query plans.
pub const PREVIOUS_TICKETS_WHERE: &str =
    "t.id <> $1 AND (t.user_id = $2 OR LOWER(t.user_email) = LOWER($3))";

macro_rules! visitor_sql {
    ($db:ty) => {
        mod visitor_queries {
            use crate::domain::Ticket;
            use crate::domain::visitor::{PageReport, VisitedPage, VisitorInfo};
            use crate::store::sql::{TicketRow, convert, ticket_select};
            use crate::store::{StoreError, StoreResult};
            use chrono::{DateTime, Utc};
            use sqlx::Pool;

            const SELECT_FOR_AGENT: &str = ticket_select!("user");

            /// Takes the ticket's row lock first (see `sql.rs`), so two writers of
            /// one ticket's pages never prune each other's rows half-way.
            pub async fn record_page(
                pool: &Pool<$db>,
                ticket_id: i64,
                page: &PageReport,
                at: DateTime<Utc>,
                keep: u32,
            ) -> StoreResult<bool> {
                let mut tx = super::begin(pool).await?;
                sqlx::query_scalar::<_, i64>(
                    "UPDATE support_tickets SET visitor_locale = COALESCE($2, visitor_locale), \
                     visitor_timezone = COALESCE($3, visitor_timezone) WHERE id = $1 RETURNING id",
                )
                .bind(ticket_id)
                .bind(page.locale.as_deref())
                .bind(page.timezone.as_deref())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
                let newest: Option<(String, String)> = sqlx::query_as(
                    "SELECT url, title FROM support_visitor_pages WHERE ticket_id = $1 ORDER BY id DESC LIMIT 1",
                )
                .bind(ticket_id)
                .fetch_optional(&mut *tx)
                .await?;
                if newest.is_some_and(|(url, title)| url == page.url && title == page.title) {
                    tx.commit().await?;
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO support_visitor_pages (ticket_id, url, title, referrer, visited_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(ticket_id)
                .bind(&page.url)
                .bind(&page.title)
                .bind(page.referrer.as_deref())
                .bind(at)
                .execute(&mut *tx)
                .await?;
                // Everything at or below the (keep+1)-th newest row goes; with fewer
                // rows the subquery is NULL and nothing does.
                sqlx::query(
                    "DELETE FROM support_visitor_pages WHERE ticket_id = $1 AND id <= \
                     (SELECT id FROM support_visitor_pages WHERE ticket_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
                )
                .bind(ticket_id)
                .bind(i64::from(keep))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }

            pub async fn record_visitor_browser(
                pool: &Pool<$db>,
                ticket_id: i64,
                user_agent: Option<&str>,
                fallback_locale: Option<&str>,
            ) -> StoreResult<()> {
                // Only a change is written: a browser reconnecting (a storm of
                // them) reads the row and leaves it as it was.
                sqlx::query(
                    "UPDATE support_tickets SET visitor_user_agent = COALESCE($2, visitor_user_agent), \
                     visitor_locale = COALESCE(visitor_locale, $3) WHERE id = $1 \
                     AND (($2 IS NOT NULL AND (visitor_user_agent IS NULL OR visitor_user_agent <> $2)) \
                     OR ($3 IS NOT NULL AND visitor_locale IS NULL))",
                )
                .bind(ticket_id)
                .bind(user_agent)
                .bind(fallback_locale)
                .execute(pool)
                .await?;
                Ok(())
            }

            pub async fn visitor_pages(
                pool: &Pool<$db>,
                ticket_id: i64,
                limit: u32,
            ) -> StoreResult<Vec<VisitedPage>> {
                let rows: Vec<(String, String, Option<String>, DateTime<Utc>)> = sqlx::query_as(
                    "SELECT url, title, referrer, visited_at FROM support_visitor_pages \
                     WHERE ticket_id = $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(ticket_id)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(url, title, referrer, at)| VisitedPage {
                        url,
                        title,
                        referrer,
                        at,
                    })
                    .collect())
            }

            pub async fn visitor_info(pool: &Pool<$db>, ticket_id: i64) -> StoreResult<VisitorInfo> {
                let row: Option<(Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
                    "SELECT visitor_user_agent, visitor_locale, visitor_timezone FROM support_tickets WHERE id = $1",
                )
                .bind(ticket_id)
                .fetch_optional(pool)
                .await?;
                let (user_agent, locale, timezone) = row.ok_or(StoreError::NotFound)?;
                Ok(VisitorInfo {
                    user_agent,
                    locale,
                    timezone,
                })
            }

            /// One query over two indexes: `user_id`, and `LOWER(user_email)`.
            pub async fn previous_tickets(
                pool: &Pool<$db>,
                ticket_id: i64,
                user_id: Option<&str>,
                user_email: Option<&str>,
                limit: u32,
            ) -> StoreResult<Vec<Ticket>> {
                if user_id.is_none() && user_email.is_none() {
                    return Ok(Vec::new());
                }
                let sql = format!(
                    "{SELECT_FOR_AGENT} WHERE {} ORDER BY t.id DESC LIMIT $4",
                    crate::store::PREVIOUS_TICKETS_WHERE
                );
                let rows: Vec<TicketRow> = sqlx::query_as(&sql)
                    .bind(ticket_id)
                    .bind(user_id)
                    .bind(user_email)
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await?;
                convert(rows)
            }
        }
    };
}
pub(super) use visitor_sql;
