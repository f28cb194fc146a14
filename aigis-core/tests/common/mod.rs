//! Helpers shared by the connection tests: the local servers, guarded SQL, and Chinook loaded
//! once into PostgreSQL and MariaDB (under a server-wide lock, marked done by a database comment,
//! so parallel test binaries never load it twice or read a half-loaded copy).
#![allow(dead_code)]

use std::path::PathBuf;

use aigis_core::{Dialect, Guard, GuardContext, GuardedSql, Policy};

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

pub const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";
pub const PG_CHINOOK: &str = "postgres://postgres@127.0.0.1:5432/chinook";
pub const MY_ADMIN: &str = "mysql://root@127.0.0.1:3306/test";
pub const MY_CHINOOK: &str = "mysql://root@127.0.0.1:3306/chinook";
const MARKER: &str = "aigis-chinook-loaded-v1";

/// SQL that passed the guard (large row cap so the tests control caps through ExecLimits).
pub fn guarded(dialect: Dialect, sql: &str) -> aigis_core::Result<GuardedSql> {
    let mut policy = Policy::for_dialect(dialect);
    policy.max_rows = 1_000_000;
    Guard::new(policy).check(sql, &GuardContext::default()).into_result()
}

/// `../shared/data/chinook` relative to the workspace root (or one level further up, for a
/// worktree under `wt/`), or `None` with a printed reason.
pub fn chinook_dir() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let found = ["../shared/data/chinook", "../../shared/data/chinook"]
        .iter()
        .map(|rel| root.join(rel))
        .find(|dir| dir.join("Chinook_Sqlite.sqlite").is_file());
    if found.is_none() {
        println!("SKIP: Chinook not found under ../shared/data/chinook");
    }
    found
}

/// The script after its `marker` line (which drops, creates and selects the database).
fn script_after(path: PathBuf, marker: &str) -> Result<String, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)?;
    let start = text.find(marker).ok_or("marker line missing from the Chinook script")? + marker.len();
    Ok(text[start..].to_string())
}

/// Loads Chinook into the PostgreSQL database `chinook` unless already loaded.
#[cfg(feature = "postgres")]
pub async fn load_chinook_postgres(dir: PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    use sqlx::{Connection, Executor, Row};
    let mut admin = sqlx::PgConnection::connect(PG_ADMIN).await?;
    admin.execute("SELECT pg_advisory_lock(7426001)").await?;
    let loaded: Option<String> = sqlx::query(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'chinook'",
    )
    .fetch_optional(&mut admin)
    .await?
    .and_then(|r| r.try_get(0).ok());
    let result = if loaded.as_deref() == Some(MARKER) {
        Ok(())
    } else {
        async {
            admin.execute("DROP DATABASE IF EXISTS chinook WITH (FORCE)").await?;
            admin.execute("CREATE DATABASE chinook").await?;
            let mut db = sqlx::PgConnection::connect(PG_CHINOOK).await?;
            let script = script_after(dir.join("Chinook_PostgreSql.sql"), "\\c chinook;")?;
            let mut tx = db.begin().await?;
            tx.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(script))).await?;
            tx.execute("ANALYZE").await?;
            tx.commit().await?;
            db.close().await?;
            admin.execute(sqlx::AssertSqlSafe(format!("COMMENT ON DATABASE chinook IS '{MARKER}'"))).await?;
            Ok::<(), Box<dyn std::error::Error>>(())
        }
        .await
    };
    admin.execute("SELECT pg_advisory_unlock(7426001)").await?;
    result
}

/// Loads Chinook into the MariaDB/MySQL database `chinook` unless already loaded.
#[cfg(feature = "mysql")]
pub async fn load_chinook_mysql(dir: PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    use sqlx::{Connection, Executor, Row};
    let mut admin = sqlx::MySqlConnection::connect(MY_ADMIN).await?;
    admin.execute("SELECT GET_LOCK('aigis_chinook', 600)").await?;
    let loaded: Option<String> = sqlx::query(
        "SELECT CAST(SCHEMA_COMMENT AS CHAR) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'chinook'",
    )
    .fetch_optional(&mut admin)
    .await?
    .and_then(|r| r.try_get(0).ok());
    let result = if loaded.as_deref() == Some(MARKER) {
        Ok(())
    } else {
        async {
            admin.execute("DROP DATABASE IF EXISTS chinook").await?;
            admin.execute("CREATE DATABASE chinook CHARACTER SET utf8mb4").await?;
            let mut db = sqlx::MySqlConnection::connect(MY_CHINOOK).await?;
            let script = script_after(dir.join("Chinook_MySql.sql"), "USE `Chinook`;")?;
            db.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(script))).await?;
            db.execute("ANALYZE TABLE Album, Artist, Customer, Employee, Genre, Invoice, InvoiceLine, MediaType, Playlist, PlaylistTrack, Track").await?;
            db.close().await?;
            admin.execute(sqlx::AssertSqlSafe(format!("ALTER DATABASE chinook COMMENT '{MARKER}'"))).await?;
            Ok::<(), Box<dyn std::error::Error>>(())
        }
        .await
    };
    admin.execute("SELECT RELEASE_LOCK('aigis_chinook')").await?;
    result
}
