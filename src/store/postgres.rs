//! The production store: PostgreSQL, shared by every node.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Pool, Postgres};
use std::str::FromStr;
use std::time::Duration;

pub struct PostgresStore {
    /// sqlx's pool; appends to different tickets run in parallel, one ticket's
    /// appends queue on its row lock.
    pool: Pool<Postgres>,
}

/// How long a request waits for a pooled connection before the store reports
/// itself unavailable (PostgreSQL down or overloaded).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

impl PostgresStore {
    /// Connects and migrates.
    pub async fn connect(url: &str, pool_size: u32) -> super::StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(pool_size.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PostgresStore { pool })
    }
}

super::sql::impl_store!(PostgresStore, Postgres);
