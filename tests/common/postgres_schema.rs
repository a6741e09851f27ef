//! What a test schema of PostgreSQL needs besides itself, shared by these
//! tests and loadtest's chaos test (which includes this file by path).

use sqlx::{Pool, Postgres};

/// Where the test schemas find the extensions the migrations need: an
/// extension lives in one schema per database, and a test schema is dropped
/// with what is in it.
pub const EXTENSIONS_SCHEMA: &str = "test_extensions";

/// Creates, once for the database, the extensions of the migrations (0014's
/// `pg_trgm`) in [`EXTENSIONS_SCHEMA`], moving them there if an earlier run
/// created them elsewhere. Tests racing to create them see a unique violation
/// from the one that won.
pub async fn add_extensions(admin: &Pool<Postgres>) {
    for sql in [
        format!("CREATE SCHEMA IF NOT EXISTS {EXTENSIONS_SCHEMA}"),
        format!("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA {EXTENSIONS_SCHEMA}"),
    ] {
        if let Err(err) = sqlx::query(&sql).execute(admin).await {
            assert!(
                err.as_database_error()
                    .is_some_and(|e| e.is_unique_violation()),
                "{sql}: {err}"
            );
        }
    }
    let home: String = sqlx::query_scalar(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'",
    )
    .fetch_one(admin)
    .await
    .expect("pg_trgm's schema");
    if home != EXTENSIONS_SCHEMA {
        let _ = sqlx::query(&format!(
            "ALTER EXTENSION pg_trgm SET SCHEMA {EXTENSIONS_SCHEMA}"
        ))
        .execute(admin)
        .await;
    }
}

/// `base` with `schema`, then [`EXTENSIONS_SCHEMA`], as its search path.
pub fn schema_url(base: &str, schema: &str) -> String {
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}options=-c%20search_path%3D{schema},{EXTENSIONS_SCHEMA}")
}
