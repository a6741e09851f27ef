//! The SQL of presence, capacity and routing (issue 16), shared by both backends
//! like `sql.rs`: [`routing_sql!`] stamps these functions out in a backend's
//! module, next to [`super::sql::impl_store!`], whose helpers they use (the
//! ticket change of a join, system notes), and its `Store` impl calls them.
//!
//! Races between nodes are settled by the database: an auto-assignment is one
//! transaction that locks the agent's row, counts the agent's open tickets
//! again under that lock, and locks the ticket's row; on PostgreSQL both locks
//! are `FOR UPDATE SKIP LOCKED` (a node racing for the same agent or ticket
//! takes the next one instead of waiting), and SQLite takes its one write lock
//! first. No statement here waits on a lock while holding another one that a
//! ticket writer takes first, so they cannot deadlock with the ticket paths.

macro_rules! routing_sql {
    ($db:ty) => {
        mod routing_queries {
            use super::*;
            use crate::domain::Settings;
            use crate::store::QueueSnapshot;
            use crate::store::sql::OPEN_CHATS_SQL;
            use sqlx::Pool;
            use std::sync::LazyLock;

            /// The status expression of this backend, built once.
            static STATUS_SQL: LazyLock<String> = LazyLock::new(|| {
                let away = db_away_minutes();
                agent_status_sql(
                    &db_seconds_ago(&NODE_STALE_AFTER.as_secs().to_string()),
                    db_now(),
                    &away,
                    &db_seconds_ago(&format!("({away} * 60)")),
                )
            });

            pub fn status_sql() -> &'static str {
                &STATUS_SQL
            }

            /// Starts a write transaction; on SQLite it takes the write lock at
            /// once (see `begin` of `sqlite.rs`), so its reads are never upgraded.
            async fn begin_write(pool: &Pool<$db>) -> StoreResult<Tx> {
                Ok(begin(pool).await?)
            }

            pub async fn open_agent_socket(pool: &Pool<$db>, agent_id: i64, node_id: &str) -> StoreResult<i64> {
                let mut tx = begin(pool).await?;
                // A socket opening is activity; the update also takes the locks first.
                let touched = sqlx::query(&format!(
                    "UPDATE support_agents SET last_activity_at = {} WHERE id = $1",
                    db_now()
                ))
                .bind(agent_id)
                .execute(&mut *tx)
                .await?;
                if touched.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                let id: i64 = sqlx::query_scalar(&format!(
                    "INSERT INTO support_agent_sockets (agent_id, node_id, opened_at) VALUES ($1, $2, {}) RETURNING id",
                    db_now()
                ))
                .bind(agent_id)
                .bind(node_id)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(id)
            }

            pub async fn close_agent_socket(pool: &Pool<$db>, id: i64, grace: std::time::Duration) -> StoreResult<()> {
                sqlx::query(&format!(
                    "UPDATE support_agent_sockets SET counts_until = {} WHERE id = $1",
                    db_seconds_ahead("$2")
                ))
                .bind(id)
                .bind(grace.as_secs() as i64)
                .execute(pool)
                .await?;
                Ok(())
            }

            pub async fn revive_agent_sockets(pool: &Pool<$db>, ids: &[i64]) -> StoreResult<u64> {
                let mut revived = 0;
                for chunk in ids.chunks(MAX_IDS_PER_QUERY) {
                    let mut qb = QueryBuilder::<$db>::new("UPDATE support_agent_sockets SET counts_until = NULL WHERE id IN (");
                    let mut list = qb.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    qb.push(")");
                    revived += qb.build().execute(pool).await?.rows_affected();
                }
                Ok(revived)
            }

            pub async fn prune_agent_sockets(pool: &Pool<$db>, retention: std::time::Duration) -> StoreResult<u64> {
                // Closed long ago, or opened long ago on a node silent as long (one
                // that died with its dashboards open never closes them).
                let sql = format!(
                    "DELETE FROM support_agent_sockets WHERE counts_until < {cutoff} \
                     OR (opened_at < {cutoff} AND NOT EXISTS (SELECT 1 FROM support_nodes n \
                     WHERE n.node_id = support_agent_sockets.node_id AND n.heartbeat_at > {cutoff}))",
                    cutoff = db_seconds_ago("$1")
                );
                Ok(sqlx::query(&sql)
                    .bind(retention.as_secs() as i64)
                    .execute(pool)
                    .await?
                    .rows_affected())
            }

            pub async fn record_activity(pool: &Pool<$db>, agent_id: i64) -> StoreResult<()> {
                sqlx::query(&format!("UPDATE support_agents SET last_activity_at = {} WHERE id = $1", db_now()))
                    .bind(agent_id)
                    .execute(pool)
                    .await?;
                Ok(())
            }

            pub async fn set_away(pool: &Pool<$db>, agent_id: i64, away: bool) -> StoreResult<()> {
                let done = sqlx::query(&format!(
                    "UPDATE support_agents SET away_chosen = $2, \
                     last_activity_at = CASE WHEN $2 THEN last_activity_at ELSE {} END WHERE id = $1",
                    db_now()
                ))
                .bind(agent_id)
                .bind(away)
                .execute(pool)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            pub async fn settings(pool: &Pool<$db>) -> StoreResult<Settings> {
                let body: Option<String> = sqlx::query_scalar("SELECT body FROM support_settings WHERE id = 1")
                    .fetch_optional(pool)
                    .await?;
                match body {
                    None => Ok(Settings::default()),
                    Some(body) => Settings::from_stored(&body)
                        .map_err(|err| StoreError::Corrupt(format!("the settings row: {err}"))),
                }
            }

            pub async fn save_settings(pool: &Pool<$db>, settings: &Settings) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO support_settings (id, body, updated_at) VALUES (1, $1, $2) \
                     ON CONFLICT (id) DO UPDATE SET body = $1, updated_at = $2",
                )
                .bind(settings.to_stored())
                .bind(now())
                .execute(pool)
                .await?;
                Ok(())
            }

            pub async fn assign_next(pool: &Pool<$db>) -> StoreResult<Option<Changed>> {
                let mut tx = begin_write(pool).await?;
                // The agent with the most room, least recently assigned: its row
                // locked, or the next one's while another node holds it.
                let sql = format!(
                    "SELECT a.id, a.name, CAST(a.max_chats AS BIGINT) FROM support_agents a \
                     WHERE a.disabled = FALSE AND a.max_chats > 0 AND {status} = 'online' \
                     AND {OPEN_CHATS_SQL} < a.max_chats \
                     AND EXISTS (SELECT 1 FROM support_tickets w WHERE w.status = 'open' AND w.supporter_id IS NULL) \
                     ORDER BY {OPEN_CHATS_SQL}, a.last_assigned_at NULLS FIRST, a.id LIMIT 1{lock}",
                    status = status_sql(),
                    lock = skip_locked_sql("a"),
                );
                let candidate: Option<(i64, String, i64)> = sqlx::query_as(&sql).fetch_optional(&mut *tx).await?;
                let Some((agent_id, name, max_chats)) = candidate else {
                    tx.rollback().await?;
                    return Ok(None);
                };
                // Counted again under the agent's lock: each statement of a READ
                // COMMITTED transaction sees what other assignments committed.
                let open: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM support_tickets WHERE supporter_id = $1 AND status IN ('assigned', 'in_progress')",
                )
                .bind(agent_id)
                .fetch_one(&mut *tx)
                .await?;
                if open >= max_chats {
                    tx.rollback().await?;
                    return Ok(None);
                }
                let sql = format!(
                    "SELECT t.id FROM {WAITING_TICKETS} WHERE t.status = 'open' AND t.supporter_id IS NULL \
                     ORDER BY {QUEUE_RANK}, t.created_at, t.id LIMIT 1{}",
                    skip_locked_sql("t")
                );
                let ticket_id: Option<i64> = sqlx::query_scalar(&sql).fetch_optional(&mut *tx).await?;
                let Some(ticket_id) = ticket_id else {
                    tx.rollback().await?;
                    return Ok(None);
                };
                // Exactly an agent's Join: the same plan, note and numbering.
                let join = TicketChange {
                    assign_to: Some((agent_id, name)),
                    join: true,
                    ..TicketChange::default()
                };
                let changed = apply_change(&mut tx, ticket_id, &join, now()).await?;
                if !changed.changed_anything() {
                    tx.rollback().await?;
                    return Ok(None);
                }
                sqlx::query(&format!("UPDATE support_agents SET last_assigned_at = {} WHERE id = $1", db_now()))
                    .bind(agent_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Some(changed))
            }

            /// Most tickets one call returns to the queue (the next round does the rest).
            const REQUEUE_BATCH: i64 = 100;

            pub async fn requeue_abandoned(pool: &Pool<$db>) -> StoreResult<Vec<Changed>> {
                // A ticket still `assigned` has had no public message of its agent:
                // their first one moves it to `in_progress`. The status is judged
                // once per agent (the `IN` list), not once per assigned ticket.
                let sql = format!(
                    "SELECT t.id, h.id, h.name FROM support_tickets t JOIN support_agents h ON h.id = t.supporter_id \
                     WHERE t.status = 'assigned' AND h.id IN (SELECT a.id FROM support_agents a WHERE {} = 'offline') \
                     ORDER BY t.id LIMIT $1",
                    status_sql()
                );
                let abandoned: Vec<(i64, i64, String)> = sqlx::query_as(&sql)
                    .bind(REQUEUE_BATCH)
                    .fetch_all(pool)
                    .await?;
                let mut requeued = Vec::with_capacity(abandoned.len());
                for (ticket_id, agent_id, name) in abandoned {
                    let at = now();
                    let mut tx = begin(pool).await?;
                    // Checked again under the ticket's lock: the agent may be back,
                    // or may have answered or passed the ticket on meanwhile.
                    let sql = format!(
                        "UPDATE support_tickets SET status = 'open', supporter_id = NULL, updated_at = $3 \
                         WHERE id = $1 AND status = 'assigned' AND supporter_id = $2 \
                         AND (SELECT {} FROM support_agents a WHERE a.id = $2) = 'offline'",
                        status_sql()
                    );
                    let done = sqlx::query(&sql)
                        .bind(ticket_id)
                        .bind(agent_id)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        tx.rollback().await?;
                        continue;
                    }
                    let note = Note::agents(format!("Returned to the queue: {name} went offline"));
                    let notes = system_notes(&mut tx, ticket_id, &[note], at).await?;
                    let ticket = fetch_ticket(&mut *tx, ticket_id, SenderType::Supporter).await?;
                    let before = Ticket {
                        status: TicketStatus::Assigned,
                        supporter_id: Some(agent_id),
                        ..ticket.clone()
                    };
                    super::webhook_queries::record_ticket_updated(&mut *tx, &before, &ticket, at).await?;
                    tx.commit().await?;
                    requeued.push(Changed { ticket, notes, assigned: None, relabelled: false });
                }
                Ok(requeued)
            }

            pub async fn transfer_ticket(
                pool: &Pool<$db>,
                ticket_id: i64,
                to: (i64, &str),
                by: (i64, &str),
            ) -> StoreResult<Changed> {
                let at = now();
                let mut tx = begin(pool).await?;
                let locked = sqlx::query("UPDATE support_tickets SET last_seq = last_seq WHERE id = $1")
                    .bind(ticket_id)
                    .execute(&mut *tx)
                    .await?;
                if locked.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                let ticket = fetch_ticket(&mut *tx, ticket_id, SenderType::Supporter).await?;
                if ticket.status == TicketStatus::Closed {
                    return Err(StoreError::TicketClosed);
                }
                if ticket.supporter_id == Some(to.0) {
                    tx.rollback().await?;
                    return Ok(Changed { ticket, notes: Vec::new(), assigned: None, relabelled: false });
                }
                let status = if ticket.status == TicketStatus::Open { TicketStatus::Assigned } else { ticket.status };
                sqlx::query(
                    "UPDATE support_tickets SET supporter_id = $2, status = $3, updated_at = $4, \
                     first_assigned_at = COALESCE(first_assigned_at, $4) WHERE id = $1",
                )
                    .bind(ticket_id)
                    .bind(to.0)
                    .bind(status.as_str())
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                let (to_name, by_name) = (to.1, by.1);
                let moved = match (&ticket.supporter_id, &ticket.supporter_name) {
                    (Some(_), Some(from)) => format!("Transferred from {from} to {to_name} by {by_name}"),
                    _ => format!("Transferred to {to_name} by {by_name}"),
                };
                let notes = [Note::agents(moved), Note::all(format!("{to_name} joined the chat"))];
                let notes = system_notes(&mut tx, ticket_id, &notes, at).await?;
                let before = ticket;
                let ticket = fetch_ticket(&mut *tx, ticket_id, SenderType::Supporter).await?;
                super::webhook_queries::record_ticket_updated(&mut *tx, &before, &ticket, at).await?;
                tx.commit().await?;
                Ok(Changed { ticket, notes, assigned: Some((to.0, to_name.to_owned())), relabelled: false })
            }

            pub async fn queue_snapshot(pool: &Pool<$db>, ticket_ids: &[i64]) -> StoreResult<QueueSnapshot> {
                let mut positions = Vec::new();
                for chunk in ticket_ids.chunks(MAX_IDS_PER_QUERY) {
                    let mut qb = QueryBuilder::<$db>::new(format!(
                        "SELECT q.id, q.position FROM (SELECT t.id, ROW_NUMBER() OVER \
                         (ORDER BY {QUEUE_RANK}, t.created_at, t.id) AS position FROM {WAITING_TICKETS} \
                         WHERE t.status = 'open' AND t.supporter_id IS NULL) q WHERE q.id IN ("
                    ));
                    let mut list = qb.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    qb.push(")");
                    let rows: Vec<(i64, i64)> = qb.build_query_as().fetch_all(pool).await?;
                    positions.extend(rows);
                }
                let sql = format!(
                    "SELECT (SELECT COUNT(*) FROM support_agents a WHERE a.disabled = FALSE AND {} = 'online'), \
                     (SELECT COUNT(*) FROM support_tickets t WHERE t.status = 'open' AND t.supporter_id IS NULL)",
                    status_sql()
                );
                let (agents_online, waiting): (i64, i64) = sqlx::query_as(&sql).fetch_one(pool).await?;
                Ok(QueueSnapshot { positions, agents_online, waiting })
            }
        }
    };
}
pub(super) use routing_sql;
