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

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Row};

/// The app store's pool.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    postgres: bool,
}

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
        let max = if sqlite { 8 } else { 16 };
        let pool = AnyPoolOptions::new().max_connections(max).connect(&url).await?;
        if sqlite {
            // WAL lets readers go on while one stream writes its messages.
            sqlx::query("PRAGMA journal_mode=WAL").execute(&pool).await?;
            SQLITE_MIGRATIONS.run(&pool).await?;
        } else {
            POSTGRES_MIGRATIONS.run(&pool).await?;
        }
        Ok(Self { pool, postgres })
    }

    /// The pool, for transactions spanning several tables.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
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
