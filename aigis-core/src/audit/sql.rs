//! An audit sink writing to SQL tables on PostgreSQL or SQLite (seed 003's query audit log).
//!
//! Two tables, created on first use:
//! - `aigis_audit_logs`: one row per request (who, question, final status, error stage and
//!   code, model, tokens, the last SQL proposed, the last guard verdict, the SQL executed, rows
//!   returned, total duration), updated as the request's stages arrive;
//! - `aigis_audit_events`: one row per stage (stage, status, duration, time, detail as JSON).
//!
//! The store has its own small read-write pool: it is never the guarded, read-only connection
//! questions run on. Each event is written in one transaction, so a retried write never leaves
//! half a record.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};
use tokio::sync::OnceCell;

use super::{AuditEvent, AuditSink, AuditStatus};
use crate::event::Stage;
use crate::{DbErrorKind, Error, Result};

/// Which engine holds the audit tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    #[cfg(feature = "sqlite")]
    Sqlite,
    #[cfg(feature = "postgres")]
    Postgres,
}

enum Pool {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
}

/// Writes audit events to `aigis_audit_logs` and `aigis_audit_events`.
pub struct SqlSink {
    pool: Pool,
    statements: Statements,
    ready: OnceCell<()>,
    /// The store without credentials, for messages.
    target: String,
}

impl std::fmt::Debug for SqlSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlSink").field("target", &self.target).finish_non_exhaustive()
    }
}

impl SqlSink {
    /// A sink for this database URL (`postgres://…` or `sqlite://…`). Nothing is connected
    /// until the first event; the tables are created then if missing. A SQLite file is
    /// created if it does not exist.
    pub fn connect_lazy(url: &str) -> Result<Self> {
        let scheme = url.split(':').next().unwrap_or_default().to_ascii_lowercase();
        let (pool, flavor, target) = match scheme.as_str() {
            #[cfg(feature = "sqlite")]
            "sqlite" => {
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                    .map_err(|err| Error::Config(format!("invalid SQLite audit URL: {err}")))?
                    .create_if_missing(true)
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(5));
                let target = format!("sqlite:{}", options.get_filename().display());
                // One writer: SQLite serialises writes anyway, and this avoids SQLITE_BUSY.
                (Pool::Sqlite(pool_options().max_connections(1).connect_lazy_with(options)), Flavor::Sqlite, target)
            }
            #[cfg(feature = "postgres")]
            "postgres" | "postgresql" => {
                let options = sqlx::postgres::PgConnectOptions::from_str(url)
                    .map_err(|_| Error::Config("invalid PostgreSQL audit URL".into()))?;
                let target = format!(
                    "postgres://{}:{}/{}",
                    options.get_host(),
                    options.get_port(),
                    options.get_database().unwrap_or_default()
                );
                (Pool::Postgres(pool_options().connect_lazy_with(options)), Flavor::Postgres, target)
            }
            _ => {
                return Err(Error::Unsupported(
                    "audit tables need a postgres:// or sqlite: URL (and aigis-core built with that feature)".into(),
                ));
            }
        };
        Ok(Self { pool, statements: Statements::new(flavor), ready: OnceCell::new(), target })
    }

    /// Like [`SqlSink::connect_lazy`], but connects and creates the tables now.
    pub async fn connect(url: &str) -> Result<Self> {
        let sink = Self::connect_lazy(url)?;
        sink.ensure_tables().await?;
        Ok(sink)
    }

    /// Where the events go, without credentials.
    pub fn target(&self) -> &str {
        &self.target
    }

    async fn ensure_tables(&self) -> Result<()> {
        self.ready
            .get_or_try_init(|| async {
                match &self.pool {
                    #[cfg(feature = "sqlite")]
                    Pool::Sqlite(pool) => create_tables(pool, &self.statements).await,
                    #[cfg(feature = "postgres")]
                    Pool::Postgres(pool) => create_tables(pool, &self.statements).await,
                }
                .map_err(|err| store_error(&self.target, err))
            })
            .await?;
        Ok(())
    }
}

#[async_trait]
impl AuditSink for SqlSink {
    async fn record(&self, event: &AuditEvent) -> Result<()> {
        self.record_batch(std::slice::from_ref(event)).await
    }

    /// All the events in one transaction: all or none are written.
    async fn record_batch(&self, events: &[AuditEvent]) -> Result<()> {
        self.ensure_tables().await?;
        let rows: Vec<Row> = events.iter().map(Row::from_event).collect();
        match &self.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => write_rows(pool, &self.statements, &rows).await,
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => write_rows(pool, &self.statements, &rows).await,
        }
        .map_err(|err| store_error(&self.target, err))
    }
}

/// A small pool: audit writes are short and sequential (one writer task per sink).
fn pool_options<DB: sqlx::Database>() -> sqlx::pool::PoolOptions<DB> {
    sqlx::pool::PoolOptions::new().max_connections(2).acquire_timeout(Duration::from_secs(5))
}

fn store_error(target: &str, err: sqlx::Error) -> Error {
    match &err {
        // The pool is ours and writes are sequential: a timeout means the store is unreachable.
        sqlx::Error::PoolTimedOut => {
            Error::database(DbErrorKind::Connect, format!("audit store {target} unreachable: no connection within 5 s"))
        }
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolClosed => {
            Error::database(DbErrorKind::Connect, format!("audit store {target}: {err}"))
        }
        _ => Error::database(DbErrorKind::Query, format!("audit store {target}: {err}")),
    }
}

/// The SQL for one flavor: DDL differs; DML differs only in casts (`$n` works on both).
struct Statements {
    create: Vec<SqlStr>,
    upsert_log: SqlStr,
    insert_event: SqlStr,
}

impl Statements {
    fn new(flavor: Flavor) -> Self {
        let (id, int, json, ts, json_cast, ts_cast) = match flavor {
            #[cfg(feature = "sqlite")]
            Flavor::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER", "TEXT", "TEXT", "", ""),
            #[cfg(feature = "postgres")]
            Flavor::Postgres => ("BIGSERIAL PRIMARY KEY", "BIGINT", "JSONB", "TIMESTAMPTZ", "::jsonb", "::timestamptz"),
        };
        let mut create = Vec::new();
        #[cfg(feature = "postgres")]
        if flavor == Flavor::Postgres {
            // Serialises concurrent first uses across processes (CREATE … IF NOT EXISTS races).
            create.push("SELECT pg_advisory_xact_lock(4715004153)".to_string());
        }
        create.push(format!(
            "CREATE TABLE IF NOT EXISTS aigis_audit_logs (
                request_id TEXT PRIMARY KEY,
                username TEXT,
                question TEXT NOT NULL,
                status TEXT NOT NULL,
                error_stage TEXT,
                error_code TEXT,
                error_message TEXT,
                model TEXT,
                prompt_tokens {int},
                completion_tokens {int},
                sql_proposed TEXT,
                guard_verdict {json},
                sql_executed TEXT,
                rows_returned {int},
                duration_ms {int},
                stages {int} NOT NULL DEFAULT 0,
                started_at {ts} NOT NULL,
                updated_at {ts} NOT NULL
            )"
        ));
        create.push(format!(
            "CREATE TABLE IF NOT EXISTS aigis_audit_events (
                id {id},
                request_id TEXT NOT NULL REFERENCES aigis_audit_logs (request_id),
                stage TEXT NOT NULL,
                status TEXT NOT NULL,
                duration_ms {int} NOT NULL,
                at {ts} NOT NULL,
                detail {json} NOT NULL
            )"
        ));
        create.push("CREATE INDEX IF NOT EXISTS aigis_audit_events_request ON aigis_audit_events (request_id)".into());
        create.push("CREATE INDEX IF NOT EXISTS aigis_audit_logs_started ON aigis_audit_logs (started_at)".into());

        // $17 = 1: this event ends the request (its status is final);
        // $18 = 1: the request succeeded, so no stage is left as the error stage.
        let upsert_log = format!(
            "INSERT INTO aigis_audit_logs AS l (request_id, username, question, status, error_stage, error_code,
                error_message, model, prompt_tokens, completion_tokens, sql_proposed, guard_verdict, sql_executed,
                rows_returned, duration_ms, stages, started_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12{json_cast}, $13, $14, $15, 1,
                $16{ts_cast}, $16{ts_cast})
             ON CONFLICT (request_id) DO UPDATE SET
                username = COALESCE(excluded.username, l.username),
                status = CASE WHEN $17 = 1 THEN excluded.status ELSE l.status END,
                error_stage = CASE WHEN $18 = 1 THEN NULL ELSE COALESCE(excluded.error_stage, l.error_stage) END,
                error_code = COALESCE(excluded.error_code, l.error_code),
                error_message = COALESCE(excluded.error_message, l.error_message),
                model = COALESCE(excluded.model, l.model),
                prompt_tokens = COALESCE(excluded.prompt_tokens, l.prompt_tokens),
                completion_tokens = COALESCE(excluded.completion_tokens, l.completion_tokens),
                sql_proposed = COALESCE(excluded.sql_proposed, l.sql_proposed),
                guard_verdict = COALESCE(excluded.guard_verdict, l.guard_verdict),
                sql_executed = COALESCE(excluded.sql_executed, l.sql_executed),
                rows_returned = COALESCE(excluded.rows_returned, l.rows_returned),
                duration_ms = COALESCE(excluded.duration_ms, l.duration_ms),
                stages = l.stages + 1,
                updated_at = excluded.updated_at"
        );
        let insert_event = format!(
            "INSERT INTO aigis_audit_events (request_id, stage, status, duration_ms, at, detail)
             VALUES ($1, $2, $3, $4, $5{ts_cast}, $6{json_cast})"
        );
        let sql = |s: String| AssertSqlSafe(s).into_sql_str();
        Self { create: create.into_iter().map(sql).collect(), upsert_log: sql(upsert_log), insert_event: sql(insert_event) }
    }
}

/// One event, flattened into the columns of both tables.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    request_id: String,
    user: Option<String>,
    question: String,
    /// `running` until the final (`done`) event, then `ok`, `rejected` or `error`.
    log_status: String,
    is_final: bool,
    succeeded: bool,
    error_stage: Option<String>,
    error_code: Option<String>,
    error_message: Option<String>,
    model: Option<String>,
    prompt_tokens: Option<i64>,
    completion_tokens: Option<i64>,
    sql_proposed: Option<String>,
    guard_verdict: Option<String>,
    sql_executed: Option<String>,
    rows_returned: Option<i64>,
    /// The whole request's duration, known from the final event.
    total_ms: Option<i64>,
    stage: String,
    status: String,
    duration_ms: i64,
    at: String,
    detail: String,
}

impl Row {
    fn from_event(e: &AuditEvent) -> Self {
        let d = &e.detail;
        let text = |key: &str| d.get(key).and_then(Value::as_str).map(str::to_string);
        let int = |v: Option<&Value>| v.and_then(Value::as_u64).map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let status = match e.status {
            AuditStatus::Ok => "ok",
            AuditStatus::Rejected => "rejected",
            AuditStatus::Error => "error",
        };
        let is_final = e.stage == Stage::Done;
        let error_code = text("error_code");
        let log_status = match (is_final, e.status) {
            (false, _) => "running",
            (true, AuditStatus::Ok) => "ok",
            (true, _) if error_code.as_deref() == Some("rejected") => "rejected",
            (true, _) => "error",
        };
        // The stage that failed: named by the engine, or this stage when it did not go well.
        let error_stage = text("error_stage").or_else(|| match (is_final, e.status) {
            (false, AuditStatus::Rejected | AuditStatus::Error) => Some(e.stage.as_str().to_string()),
            _ => None,
        });
        let usage = d.get("usage");
        // Timestamps go to TIMESTAMPTZ columns: keep them parseable whatever a caller wrote.
        let at = chrono::DateTime::parse_from_rfc3339(&e.at)
            .map(|t| t.to_rfc3339())
            .unwrap_or_else(|_| chrono::Utc::now().to_rfc3339());
        Self {
            request_id: e.request_id.clone(),
            user: e.user.clone(),
            question: e.question.clone(),
            log_status: log_status.to_string(),
            is_final,
            succeeded: is_final && e.status == AuditStatus::Ok,
            error_stage,
            error_message: if e.status == AuditStatus::Ok { None } else { text("error") },
            error_code,
            model: text("model"),
            prompt_tokens: int(usage.and_then(|u| u.get("prompt_tokens"))),
            completion_tokens: int(usage.and_then(|u| u.get("completion_tokens"))),
            sql_proposed: text("sql_proposed"),
            guard_verdict: d.get("verdict").map(Value::to_string),
            sql_executed: text("sql_executed"),
            rows_returned: int(d.get("rows")),
            total_ms: is_final.then(|| i64::try_from(e.duration_ms).unwrap_or(i64::MAX)),
            stage: e.stage.as_str().to_string(),
            status: status.to_string(),
            duration_ms: i64::try_from(e.duration_ms).unwrap_or(i64::MAX),
            at,
            detail: d.to_string(),
        }
    }
}

async fn create_tables<DB>(pool: &sqlx::Pool<DB>, statements: &Statements) -> std::result::Result<(), sqlx::Error>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
{
    let mut tx = pool.begin().await?;
    for statement in &statements.create {
        sqlx::query::<DB>(statement.clone()).execute(&mut *tx).await?;
    }
    tx.commit().await
}

async fn write_rows<DB>(pool: &sqlx::Pool<DB>, statements: &Statements, rows: &[Row]) -> std::result::Result<(), sqlx::Error>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut tx = pool.begin().await?;
    for r in rows.iter().cloned() {
        sqlx::query::<DB>(statements.upsert_log.clone())
            .bind(r.request_id.clone())
            .bind(r.user)
            .bind(r.question)
            .bind(r.log_status)
            .bind(r.error_stage)
            .bind(r.error_code)
            .bind(r.error_message)
            .bind(r.model)
            .bind(r.prompt_tokens)
            .bind(r.completion_tokens)
            .bind(r.sql_proposed)
            .bind(r.guard_verdict)
            .bind(r.sql_executed)
            .bind(r.rows_returned)
            .bind(r.total_ms)
            .bind(r.at.clone())
            .bind(i64::from(r.is_final))
            .bind(i64::from(r.succeeded))
            .execute(&mut *tx)
            .await?;
        sqlx::query::<DB>(statements.insert_event.clone())
            .bind(r.request_id)
            .bind(r.stage)
            .bind(r.status)
            .bind(r.duration_ms)
            .bind(r.at)
            .bind(r.detail)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(stage: Stage, status: AuditStatus, detail: Value) -> AuditEvent {
        AuditEvent {
            request_id: "r1".into(),
            user: Some("ana".into()),
            question: "q".into(),
            stage,
            status,
            duration_ms: 12,
            at: "2026-11-21T05:00:00Z".into(),
            detail,
        }
    }

    #[test]
    fn rejected_guard_stage_names_itself_as_error_stage() {
        let row = Row::from_event(&event(
            Stage::Guard,
            AuditStatus::Rejected,
            serde_json::json!({"sql_proposed": "DELETE FROM t", "verdict": {"allowed": false}}),
        ));
        assert_eq!(row.log_status, "running");
        assert_eq!(row.error_stage.as_deref(), Some("guard"));
        assert_eq!(row.sql_proposed.as_deref(), Some("DELETE FROM t"));
        assert_eq!(row.guard_verdict.as_deref(), Some("{\"allowed\":false}"));
        assert_eq!(row.total_ms, None);
    }

    #[test]
    fn final_event_carries_model_tokens_and_status() {
        let ok = Row::from_event(&event(
            Stage::Done,
            AuditStatus::Ok,
            serde_json::json!({"model": "m", "usage": {"prompt_tokens": 7, "completion_tokens": 3}, "rows": 4, "sql_executed": "SELECT 1"}),
        ));
        assert_eq!((ok.log_status.as_str(), ok.succeeded, ok.is_final), ("ok", true, true));
        assert_eq!((ok.prompt_tokens, ok.completion_tokens, ok.rows_returned), (Some(7), Some(3), Some(4)));
        assert_eq!(ok.total_ms, Some(12));
        let rejected = Row::from_event(&event(Stage::Done, AuditStatus::Error, serde_json::json!({"error_code": "rejected", "error": "no"})));
        assert_eq!(rejected.log_status, "rejected");
        assert_eq!(rejected.error_message.as_deref(), Some("no"));
        assert!(!rejected.succeeded);
    }
}
