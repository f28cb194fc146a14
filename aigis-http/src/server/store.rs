//! The app store: users, roles, connections, threads, messages and audit events.
//!
//! A SQLite file by default (created on first start), PostgreSQL when the URL says so; the
//! migrations in `migrations/{sqlite,postgres}` (the same schema) are applied at start. Queries go
//! through sqlx's `Any` driver with `$n` placeholders, which both engines accept.

pub mod audit;
pub mod connections;
pub mod roles;
pub mod threads;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Row};

/// The app store's pools.
#[derive(Clone, Debug)]
pub struct Store {
    /// Reads (and, on PostgreSQL, writes).
    pool: AnyPool,
    /// Writes. SQLite has one writer at a time: a second writer waits in SQLite's busy handler,
    /// which sleeps in steps of up to 100 ms, so under load writes queue here instead, on one
    /// connection, in order, without sleeping. On PostgreSQL this is the same pool.
    writer: AnyPool,
    postgres: bool,
    /// Stops the SQLite checkpoint task when the last clone of the store is dropped.
    _checkpoints: Option<Arc<CheckpointTask>>,
}

/// Cancels the background checkpoint task on drop.
struct CheckpointTask {
    _guard: tokio_util::sync::DropGuard,
}

impl std::fmt::Debug for CheckpointTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CheckpointTask")
    }
}

/// How often the WAL is copied back into the SQLite file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(30);

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Opens (creating a SQLite file if needed) and migrates the store at `url`.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        install_default_drivers();
        let postgres = url.starts_with("postgres:") || url.starts_with("postgresql:");
        let sqlite = url.starts_with("sqlite:");
        if !postgres && !sqlite {
            anyhow::bail!("the app store must be a sqlite: or postgres: URL");
        }
        let url = if sqlite && !url.contains("mode=") {
            format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
        } else {
            url.to_string()
        };
        if !sqlite {
            let pool = AnyPoolOptions::new().max_connections(16).connect(&url).await?;
            POSTGRES_MIGRATIONS.run(&pool).await?;
            return Ok(Self { writer: pool.clone(), pool, postgres, _checkpoints: None });
        }
        // WAL lets readers go on while the writer writes. With WAL, `synchronous = NORMAL`
        // syncs at checkpoints rather than on every commit: a power cut may lose the last
        // commits but never corrupts the file, and a commit no longer waits for the disk.
        // Checkpoints (which do wait for the disk) run in the background instead of inside
        // whichever commit crosses the WAL's size threshold: they were the load test's p99.
        let options = AnyPoolOptions::new().after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::Executor::execute(&mut *conn, "PRAGMA synchronous = NORMAL").await?;
                sqlx::Executor::execute(&mut *conn, "PRAGMA busy_timeout = 10000").await?;
                sqlx::Executor::execute(&mut *conn, "PRAGMA wal_autocheckpoint = 0").await?;
                Ok(())
            })
        });
        let writer = options.clone().max_connections(1).connect(&url).await?;
        sqlx::query("PRAGMA journal_mode=WAL").execute(&writer).await?;
        SQLITE_MIGRATIONS.run(&writer).await?;
        let pool = options.max_connections(8).connect(&url).await?;
        let checkpoints = Arc::new(CheckpointTask { _guard: spawn_checkpoints(pool.clone()).drop_guard() });
        Ok(Self { pool, writer, postgres, _checkpoints: Some(checkpoints) })
    }

    /// The pool for reads.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The pool for writes and transactions.
    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// Whether the store is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.postgres
    }

    /// Checks that the store answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await.is_ok()
    }
}

/// Copies the WAL back into the database file every [`CHECKPOINT_EVERY`], from a reader
/// connection: a passive checkpoint never blocks the writer or the readers.
fn spawn_checkpoints(pool: AnyPool) -> tokio_util::sync::CancellationToken {
    let token = tokio_util::sync::CancellationToken::new();
    let stop = token.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(CHECKPOINT_EVERY) => {}
            }
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
                tracing::warn!(cause = %e, "app store checkpoint failed");
            }
        }
        pool.close().await;
    });
    token
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A new random id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Reads a 0/1 integer column as a flag.
pub(crate) fn flag(row: &sqlx::any::AnyRow, col: &str) -> Result<bool, sqlx::Error> {
    Ok(row.try_get::<i64, _>(col)? != 0)
}

/// Reads a JSON text column.
pub(crate) fn json_col(row: &sqlx::any::AnyRow, col: &str) -> Result<serde_json::Value, sqlx::Error> {
    let text: String = row.try_get(col)?;
    serde_json::from_str(&text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// Stores for the store's own tests: a SQLite file, and a fresh PostgreSQL database when the
/// server at 127.0.0.1:5432 answers.
#[cfg(test)]
pub(crate) mod test_stores {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use sqlx::Connection as _;

    use super::Store;

    const POSTGRES_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/test";

    /// A store in a SQLite file under `dir`.
    pub async fn sqlite(dir: &tempfile::TempDir) -> Store {
        Store::open(&format!("sqlite://{}", dir.path().join("store.db").display())).await.unwrap()
    }

    /// A store in a new PostgreSQL database, handed to `test` and dropped afterwards; `None`
    /// (with the reason printed) when PostgreSQL is not reachable.
    pub async fn with_postgres<F: AsyncFnOnce(&Store)>(test: F) -> Option<()> {
        let Ok(mut admin) = sqlx::PgConnection::connect(POSTGRES_ADMIN).await else {
            println!("SKIPPED: PostgreSQL is not reachable at {POSTGRES_ADMIN}");
            return None;
        };
        let db = format!("aigis_store_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}"))).execute(&mut admin).await.unwrap();
        let store = Store::open(&format!("postgres://postgres@127.0.0.1:5432/{db}")).await.unwrap();
        test(&store).await;
        store.pool().close().await;
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {db} WITH (FORCE)"))).execute(&mut admin).await;
        Some(())
    }
}
