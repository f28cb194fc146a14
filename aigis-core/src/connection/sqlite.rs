//! SQLite through sqlx, opened read-only.
//!
//! The file is opened with `SQLITE_OPEN_READONLY` and `PRAGMA query_only = ON`; a missing file
//! is an error, never silently created. SQLite has no server-side statement timeout, so each
//! pooled connection carries a progress handler (`sqlite3_progress_handler`, exposed by sqlx
//! through `lock_handle`) that interrupts the running statement once its deadline has passed;
//! a tokio timeout one second later is the backstop.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::Value;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{Sqlite, SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::{Column as _, Decode, Row, TypeInfo, ValueRef};

use crate::connection::errors::{Phase, map_sqlx_error};
use crate::connection::catalog::quoted_name;
use crate::connection::exec::{CancelOnDrop, sample_rows, stream_query};
use crate::connection::value::{bytes_to_json, float_to_json};
use crate::connection::{
    Column, Connection, ExecLimits, ForeignKey, IntrospectOptions, QueryResult, Schema, Table, TableKind,
};
use crate::dialect::Dialect;
use crate::error::DbErrorKind;
use crate::guard::GuardedSql;
use crate::{Error, Result};

/// Virtual-machine steps between two checks of the deadline (a few microseconds of work).
const PROGRESS_OPS: i32 = 10_000;
/// Deadline for catalog reads and sample rows.
const INTROSPECT_TIMEOUT: Duration = Duration::from_secs(60);

/// A read-only SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteConnection {
    pool: SqlitePool,
    path: PathBuf,
}

impl SqliteConnection {
    /// Opens the database at a URL read-only: `sqlite:///abs/path.db`, `sqlite://rel.db` or
    /// `sqlite:rel.db` (a `?query` part is ignored).
    pub async fn open(url: &str) -> Result<Self> {
        Self::open_path(&path_from_url(url)?).await
    }

    /// Opens the database file at `path` read-only.
    pub async fn open_path(path: &Path) -> Result<Self> {
        if !path.is_file() {
            return Err(Error::database(
                DbErrorKind::NotFound,
                format!("SQLite database file `{}` does not exist", path.display()),
            ));
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .create_if_missing(false)
            .pragma("query_only", "ON")
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(|e| map_sqlx_error(e, Phase::Connect, None))?;
        let conn = Self { pool, path: path.to_path_buf() };
        // Fails early on a file that is not a SQLite database.
        conn.ping().await?;
        Ok(conn)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A pooled connection whose statements are interrupted once `timeout` has passed.
    async fn acquire(&self, timeout: Duration) -> Result<(PoolConnection<Sqlite>, Watchdog)> {
        let mut conn = self.pool.acquire().await.map_err(|e| map_sqlx_error(e, Phase::Connect, None))?;
        let watchdog = Watchdog::armed(timeout);
        let check = watchdog.clone();
        conn.lock_handle()
            .await
            .map_err(|e| map_sqlx_error(e, Phase::Query, None))?
            .set_progress_handler(PROGRESS_OPS, move || check.may_continue());
        Ok((conn, watchdog))
    }

    async fn fetch_all(&self, conn: &mut PoolConnection<Sqlite>, sql: &'static str) -> Result<Vec<SqliteRow>> {
        sqlx::query(sql).fetch_all(&mut **conn).await.map_err(|e| map_sqlx_error(e, Phase::Query, None))
    }

    async fn run(&self, sql: &GuardedSql, limits: &ExecLimits) -> Result<QueryResult> {
        let (mut conn, watchdog) = self.acquire(limits.timeout).await?;
        // If this future is dropped mid-query, interrupt the statement at once.
        let trip = watchdog.clone();
        let mut cancel = CancelOnDrop::new(Box::new(move || {
            trip.trip();
            Box::pin(async { Ok(()) })
        }));
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| map_sqlx_error(e, Phase::Query, None))?;
        let outcome = stream_query::<Sqlite, _>(&mut tx, sql.sql(), limits, None, decode_row).await;
        // Disarm before rolling back so the rollback itself is never interrupted.
        let timed_out = watchdog.disarm();
        cancel.disarm();
        let rollback = tx.rollback().await;
        match outcome {
            Err(e) if timed_out => Err(timeout_error(limits.timeout, Some(e))),
            Err(e) => Err(e),
            Ok(result) => {
                rollback.map_err(|e| map_sqlx_error(e, Phase::Query, None))?;
                Ok(result)
            }
        }
    }
}

fn timeout_error(timeout: Duration, cause: Option<Error>) -> Error {
    let detail = cause.map(|e| format!(" ({})", e.user_message())).unwrap_or_default();
    Error::database(
        DbErrorKind::Timeout,
        format!("the query was interrupted after the {} ms timeout{detail}", timeout.as_millis()),
    )
}

/// Shared between a connection's progress handler and the call that armed it.
#[derive(Debug, Clone)]
struct Watchdog {
    start: Instant,
    /// Milliseconds after `start` when statements must stop; `u64::MAX` when disarmed.
    deadline_ms: Arc<AtomicU64>,
}

impl Watchdog {
    fn armed(timeout: Duration) -> Self {
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        Self { start: Instant::now(), deadline_ms: Arc::new(AtomicU64::new(ms)) }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn may_continue(&self) -> bool {
        self.elapsed_ms() < self.deadline_ms.load(Ordering::Relaxed)
    }

    /// Makes the running statement stop now, unless the watchdog was disarmed.
    fn trip(&self) {
        let _ = self.deadline_ms.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| (d != u64::MAX).then_some(0));
    }

    /// Stops interrupting; returns whether the deadline had passed.
    fn disarm(&self) -> bool {
        let deadline = self.deadline_ms.swap(u64::MAX, Ordering::Relaxed);
        self.elapsed_ms() >= deadline
    }
}

#[async_trait]
impl Connection for SqliteConnection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn introspect(&self, options: &IntrospectOptions) -> Result<Schema> {
        let (mut conn, watchdog) = self.acquire(INTROSPECT_TIMEOUT).await?;
        let relations = self
            .fetch_all(
                &mut conn,
                "SELECT name, type FROM sqlite_master \
                 WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
            )
            .await?;
        let columns = self
            .fetch_all(
                &mut conn,
                "SELECT m.name AS tbl, p.name, p.type, p.\"notnull\", p.dflt_value, p.pk \
                 FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p \
                 WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
                 ORDER BY m.name, p.cid",
            )
            .await?;
        let foreign_keys = self
            .fetch_all(
                &mut conn,
                "SELECT m.name AS tbl, f.id, f.\"table\" AS ref, f.\"from\", f.\"to\" \
                 FROM sqlite_master AS m JOIN pragma_foreign_key_list(m.name) AS f \
                 WHERE m.type = 'table' ORDER BY m.name, f.id, f.seq",
            )
            .await?;
        let mut tables = build_tables(&relations, &columns, &foreign_keys)?;
        if options.sample_rows > 0 {
            for table in &mut tables {
                let quoted = quoted_name(&*table, '"');
                table.sample_rows = sample_rows::<Sqlite, _>(&mut conn, &quoted, options, None, decode_row).await?;
            }
        }
        watchdog.disarm();
        Ok(Schema { dialect: Dialect::Sqlite, tables })
    }

    async fn execute(&self, sql: &GuardedSql, limits: &ExecLimits) -> Result<QueryResult> {
        // The progress handler interrupts the statement at the deadline; this outer timeout only
        // catches a call stuck elsewhere (e.g. waiting on the worker thread).
        match tokio::time::timeout(limits.timeout + Duration::from_secs(1), self.run(sql, limits)).await {
            Ok(result) => result,
            Err(_) => Err(timeout_error(limits.timeout, None)),
        }
    }

    async fn ping(&self) -> Result<()> {
        let (mut conn, watchdog) = self.acquire(Duration::from_secs(5)).await?;
        self.fetch_all(&mut conn, "SELECT count(*) FROM sqlite_master").await?;
        watchdog.disarm();
        Ok(())
    }
}

fn get<'r, T: Decode<'r, Sqlite> + sqlx::Type<Sqlite>>(row: &'r SqliteRow, column: &str) -> Result<T> {
    row.try_get(column).map_err(|e| map_sqlx_error(e, Phase::Query, None))
}

/// Assembles tables from the three catalog result sets (each ordered by table name).
fn build_tables(relations: &[SqliteRow], columns: &[SqliteRow], foreign_keys: &[SqliteRow]) -> Result<Vec<Table>> {
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    for row in relations {
        let name: String = get(row, "name")?;
        let kind = if get::<String>(row, "type")? == "view" { TableKind::View } else { TableKind::Table };
        tables.insert(name.clone(), Table { name, kind, ..Table::default() });
    }
    let mut pk_positions: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    for row in columns {
        let table_name: String = get(row, "tbl")?;
        let Some(table) = tables.get_mut(&table_name) else { continue };
        let name: String = get(row, "name")?;
        let pk: i64 = get(row, "pk")?;
        if pk > 0 {
            pk_positions.entry(table_name).or_default().push((pk, name.clone()));
        }
        table.columns.push(Column {
            name,
            data_type: get(row, "type")?,
            // SQLite lets a primary-key column hold NULL unless declared NOT NULL, except INTEGER
            // PRIMARY KEY (the rowid); we report what the declaration says.
            nullable: get::<i64>(row, "notnull")? == 0,
            default: get(row, "dflt_value")?,
            ..Column::default()
        });
    }
    for (table_name, mut positions) in pk_positions {
        positions.sort();
        if let Some(table) = tables.get_mut(&table_name) {
            table.primary_key = positions.into_iter().map(|(_, n)| n).collect();
        }
    }
    let mut grouped: BTreeMap<(String, i64), ForeignKey> = BTreeMap::new();
    for row in foreign_keys {
        let key = (get::<String>(row, "tbl")?, get::<i64>(row, "id")?);
        let fk = grouped.entry(key).or_default();
        fk.referred_table = get(row, "ref")?;
        fk.columns.push(get(row, "from")?);
        if let Some(to) = get::<Option<String>>(row, "to")? {
            fk.referred_columns.push(to);
        }
    }
    for ((table_name, _), mut fk) in grouped {
        // `REFERENCES t` without columns means t's primary key.
        if fk.referred_columns.is_empty()
            && let Some(target) = tables.values().find(|t| t.name.eq_ignore_ascii_case(&fk.referred_table))
        {
            fk.referred_columns = target.primary_key.clone();
        }
        if let Some(table) = tables.get_mut(&table_name) {
            table.foreign_keys.push(fk);
        }
    }
    Ok(tables.into_values().collect())
}

/// Decodes a row by each value's storage class; a 0/1 integer in a column declared BOOLEAN
/// becomes a JSON boolean. Dates stay as the text (or number) SQLite stored.
fn decode_row(row: &SqliteRow) -> Result<Vec<Value>> {
    let decode_err = |e: sqlx::error::BoxDynError| Error::database(DbErrorKind::Decode, format!("could not decode a value: {e}"));
    let mut values = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i).map_err(|e| map_sqlx_error(e, Phase::Query, None))?;
        if raw.is_null() {
            values.push(Value::Null);
            continue;
        }
        let storage = raw.type_info().name().to_string();
        let value = match storage.as_str() {
            "INTEGER" => {
                let n = <i64 as Decode<Sqlite>>::decode(raw).map_err(decode_err)?;
                if column.type_info().name() == "BOOLEAN" && (n == 0 || n == 1) {
                    Value::Bool(n == 1)
                } else {
                    Value::from(n)
                }
            }
            "REAL" => float_to_json(<f64 as Decode<Sqlite>>::decode(raw).map_err(decode_err)?),
            "BLOB" => bytes_to_json(&<Vec<u8> as Decode<Sqlite>>::decode(raw).map_err(decode_err)?),
            _ => Value::String(<String as Decode<Sqlite>>::decode(raw).map_err(decode_err)?),
        };
        values.push(value);
    }
    Ok(values)
}

/// The file path of a `sqlite:` URL.
fn path_from_url(url: &str) -> Result<PathBuf> {
    let rest = url
        .strip_prefix("sqlite:")
        .ok_or_else(|| Error::Config(format!("not a sqlite: URL: `{url}`")))?;
    let rest = rest.split_once('?').map_or(rest, |(path, _)| path);
    // `sqlite:///abs` → `/abs`; `sqlite://rel` → `rel`; `sqlite:rel` → `rel`.
    let path = rest.strip_prefix("//").unwrap_or(rest);
    if path.is_empty() || path == ":memory:" {
        return Err(Error::Config(format!("`{url}` names no database file (in-memory databases are not supported)")));
    }
    Ok(PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms() {
        assert_eq!(path_from_url("sqlite:///abs/path.db").ok(), Some(PathBuf::from("/abs/path.db")));
        assert_eq!(path_from_url("sqlite://rel.db").ok(), Some(PathBuf::from("rel.db")));
        assert_eq!(path_from_url("sqlite:rel.db?mode=ro").ok(), Some(PathBuf::from("rel.db")));
        assert!(path_from_url("sqlite::memory:").is_err());
        assert!(path_from_url("postgres://x").is_err());
    }

    #[tokio::test]
    async fn missing_file_is_not_found_and_not_created() {
        let dir = tempfile::tempdir().map_err(Error::Io);
        let Ok(dir) = dir else { return };
        let path = dir.path().join("absent.db");
        let err = SqliteConnection::open_path(&path).await.err();
        assert!(matches!(err, Some(Error::Database { kind: DbErrorKind::NotFound, .. })), "{err:?}");
        assert!(!path.exists());
    }
}
