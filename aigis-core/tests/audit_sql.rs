//! The SQL audit sink against real stores: SQLite files and the PostgreSQL of this machine
//! (127.0.0.1:5432, db `test`; run with `--features postgres`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aigis_core::audit::{AuditSink, BufferOptions, BufferedSink, SqlSink, from_spec};
use aigis_core::{AuditEvent, AuditStatus, Error, Result, Stage};
use async_trait::async_trait;
use serde_json::{Value, json};

fn ev(request_id: &str, stage: Stage, status: AuditStatus, duration_ms: u64, detail: Value) -> AuditEvent {
    AuditEvent {
        request_id: request_id.to_string(),
        user: Some("manager_store1".into()),
        question: "Revenue per store?".into(),
        stage,
        status,
        duration_ms,
        at: "2026-11-21T05:10:00.123+00:00".into(),
        detail,
    }
}

/// A request that succeeds after one repair: rejected DML, then a SELECT.
fn repaired_request(id: &str) -> Vec<AuditEvent> {
    vec![
        ev(id, Stage::Schema, AuditStatus::Ok, 3, json!({"tables": 5})),
        ev(id, Stage::Generate, AuditStatus::Ok, 40, json!({"sql_proposed": "DELETE FROM orders", "model": "m1"})),
        ev(id, Stage::Guard, AuditStatus::Rejected, 1, json!({"sql_proposed": "DELETE FROM orders", "verdict": {"allowed": false, "violations": [{"code": "not_a_query"}]}})),
        ev(id, Stage::Repair, AuditStatus::Ok, 35, json!({"sql_proposed": "SELECT store_id, SUM(amount) FROM orders GROUP BY store_id", "model": "m1"})),
        ev(id, Stage::Guard, AuditStatus::Ok, 1, json!({"sql_proposed": "SELECT store_id, SUM(amount) FROM orders GROUP BY store_id", "verdict": {"allowed": true}})),
        ev(id, Stage::Execute, AuditStatus::Ok, 7, json!({"sql_executed": "SELECT store_id, SUM(amount) FROM orders GROUP BY store_id LIMIT 1000", "rows": 3})),
        ev(id, Stage::Summarize, AuditStatus::Ok, 50, json!({"chars": 80, "model": "m1"})),
        ev(id, Stage::Done, AuditStatus::Ok, 140, json!({"model": "m1", "usage": {"prompt_tokens": 900, "completion_tokens": 60}, "sql_executed": "SELECT store_id, SUM(amount) FROM orders GROUP BY store_id LIMIT 1000", "rows": 3})),
    ]
}

/// A request whose query fails on the database and is not repaired.
fn failed_request(id: &str) -> Vec<AuditEvent> {
    vec![
        ev(id, Stage::Schema, AuditStatus::Ok, 3, json!({"tables": 5})),
        ev(id, Stage::Generate, AuditStatus::Ok, 40, json!({"sql_proposed": "SELECT nope FROM orders", "model": "m1"})),
        ev(id, Stage::Guard, AuditStatus::Ok, 1, json!({"sql_proposed": "SELECT nope FROM orders", "verdict": {"allowed": true}})),
        ev(id, Stage::Execute, AuditStatus::Error, 2, json!({"sql_executed": "SELECT nope FROM orders LIMIT 1000", "error": "no such column: nope"})),
        ev(id, Stage::Done, AuditStatus::Error, 60, json!({"error_code": "db_error", "error": "no such column: nope", "model": "m1", "usage": {"prompt_tokens": 400, "completion_tokens": 20}})),
    ]
}

/// Fails its first `failures` writes, then writes through to the real store.
struct FailsFirst {
    failures: u32,
    calls: AtomicU32,
    inner: SqlSink,
}

#[async_trait]
impl AuditSink for FailsFirst {
    async fn record(&self, event: &AuditEvent) -> Result<()> {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.failures {
            return Err(Error::database(aigis_core::DbErrorKind::Connect, "store unreachable"));
        }
        self.inner.record(event).await
    }
}

fn retry_fast() -> BufferOptions {
    BufferOptions { initial_backoff: Duration::from_millis(1), max_backoff: Duration::from_millis(5), ..BufferOptions::default() }
}

async fn record_all(sink: &dyn AuditSink, events: &[AuditEvent]) {
    for e in events {
        sink.record(e).await.unwrap();
    }
    tokio::time::timeout(Duration::from_secs(30), sink.flush()).await.unwrap().unwrap();
}

/// The log row of a request: (status, error_stage, error_code, model, prompt_tokens, sql_proposed,
/// sql_executed, rows_returned, duration_ms, stages, username).
type LogRow = (String, Option<String>, Option<String>, Option<String>, Option<i64>, Option<String>, Option<String>, Option<i64>, Option<i64>, i64, Option<String>);

const LOG_QUERY: &str = "SELECT status, error_stage, error_code, model, prompt_tokens, sql_proposed, sql_executed, \
     rows_returned, duration_ms, stages, username FROM aigis_audit_logs WHERE request_id = $1";

fn check_repaired(row: &LogRow) {
    assert_eq!(row.0, "ok");
    assert_eq!(row.1, None, "a repaired request has no error stage");
    assert_eq!(row.3.as_deref(), Some("m1"));
    assert_eq!(row.4, Some(900));
    assert_eq!(row.5.as_deref(), Some("SELECT store_id, SUM(amount) FROM orders GROUP BY store_id"));
    assert_eq!(row.6.as_deref(), Some("SELECT store_id, SUM(amount) FROM orders GROUP BY store_id LIMIT 1000"));
    assert_eq!((row.7, row.8, row.9), (Some(3), Some(140), 8));
    assert_eq!(row.10.as_deref(), Some("manager_store1"));
}

fn check_failed(row: &LogRow) {
    assert_eq!(row.0, "error");
    assert_eq!(row.1.as_deref(), Some("execute"));
    assert_eq!(row.2.as_deref(), Some("db_error"));
    assert_eq!((row.8, row.9), (Some(60), 5));
}

mod sqlite {
    use super::*;
    use sqlx::Connection as _;

    async fn open(path: &std::path::Path) -> sqlx::SqliteConnection {
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap()
    }

    #[tokio::test]
    async fn creates_tables_on_first_use_and_keeps_one_log_row_per_request() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.db");
        let sink = from_spec(&format!("sqlite://{}", path.display())).unwrap();
        assert!(!path.exists(), "nothing is created before the first event");
        record_all(sink.as_ref(), &[repaired_request("req-ok"), failed_request("req-err")].concat()).await;
        assert_eq!(sink.dropped(), 0);

        let mut db = open(&path).await;
        let ok: LogRow = sqlx::query_as(LOG_QUERY).bind("req-ok").fetch_one(&mut db).await.unwrap();
        check_repaired(&ok);
        let failed: LogRow = sqlx::query_as(LOG_QUERY).bind("req-err").fetch_one(&mut db).await.unwrap();
        check_failed(&failed);
        let stages: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT stage, status, duration_ms FROM aigis_audit_events WHERE request_id = 'req-ok' ORDER BY id",
        )
        .fetch_all(&mut db)
        .await
        .unwrap();
        let names: Vec<&str> = stages.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(names, ["schema", "generate", "guard", "repair", "guard", "execute", "summarize", "done"]);
        assert_eq!(stages[2].1, "rejected");
        let verdict: String = sqlx::query_scalar("SELECT guard_verdict FROM aigis_audit_logs WHERE request_id = 'req-ok'")
            .fetch_one(&mut db)
            .await
            .unwrap();
        assert_eq!(serde_json::from_str::<Value>(&verdict).unwrap()["allowed"], json!(true), "the last verdict");
    }

    #[tokio::test]
    async fn a_store_failing_then_recovering_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("flaky.db").display());
        let flaky = Arc::new(FailsFirst { failures: 4, calls: AtomicU32::new(0), inner: SqlSink::connect_lazy(&url).unwrap() });
        let sink = BufferedSink::spawn(flaky, retry_fast()).unwrap();
        record_all(&sink, &repaired_request("flaky-1")).await;
        assert_eq!((sink.retries(), sink.dropped(), sink.written()), (4, 0, 8));
        let mut db = open(&dir.path().join("flaky.db")).await;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM aigis_audit_events WHERE request_id = 'flaky-1'")
            .fetch_one(&mut db)
            .await
            .unwrap();
        assert_eq!(n, 8);
        check_repaired(&sqlx::query_as(LOG_QUERY).bind("flaky-1").fetch_one(&mut db).await.unwrap());
    }

    #[tokio::test]
    async fn two_sinks_on_one_file_create_the_tables_once_and_both_write() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("shared.db").display());
        let (a, b) = (from_spec(&url).unwrap(), from_spec(&url).unwrap());
        let (ra, rb) = (repaired_request("a"), failed_request("b"));
        tokio::join!(record_all(a.as_ref(), &ra), record_all(b.as_ref(), &rb));
        assert_eq!(a.dropped() + b.dropped(), 0);
        let mut db = open(&dir.path().join("shared.db")).await;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM aigis_audit_events").fetch_one(&mut db).await.unwrap();
        assert_eq!(n, 13);
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;

    const URL: &str = "postgres://postgres@127.0.0.1:5432/test";

    async fn pool() -> sqlx::PgPool {
        sqlx::PgPool::connect(URL).await.expect("PostgreSQL on 127.0.0.1:5432 (db test) is required for this test")
    }

    #[tokio::test]
    async fn writes_logs_and_events_with_native_types() {
        let id_ok = format!("pg-ok-{}", uuid::Uuid::new_v4());
        let id_err = format!("pg-err-{}", uuid::Uuid::new_v4());
        let sink = from_spec(URL).unwrap();
        record_all(sink.as_ref(), &[repaired_request(&id_ok), failed_request(&id_err)].concat()).await;
        assert_eq!(sink.dropped(), 0);
        let pool = pool().await;
        check_repaired(&sqlx::query_as(LOG_QUERY).bind(&id_ok).fetch_one(&pool).await.unwrap());
        check_failed(&sqlx::query_as(LOG_QUERY).bind(&id_err).fetch_one(&pool).await.unwrap());
        // detail is JSONB and at is TIMESTAMPTZ: both queryable natively.
        let (rows, millis): (i64, f64) = sqlx::query_as(
            "SELECT (detail->>'rows')::bigint, EXTRACT(MILLISECONDS FROM at)::float8
             FROM aigis_audit_events WHERE request_id = $1 AND stage = 'execute'",
        )
        .bind(&id_ok)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(rows, 3);
        assert!((millis - 123.0).abs() < 0.5, "sub-second time kept: {millis}");
        let allowed: bool =
            sqlx::query_scalar("SELECT (guard_verdict->>'allowed')::boolean FROM aigis_audit_logs WHERE request_id = $1")
                .bind(&id_ok)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert!(allowed);
    }

    #[tokio::test]
    async fn a_store_failing_then_recovering_loses_nothing() {
        let id = format!("pg-flaky-{}", uuid::Uuid::new_v4());
        let flaky = Arc::new(FailsFirst { failures: 6, calls: AtomicU32::new(0), inner: SqlSink::connect_lazy(URL).unwrap() });
        let sink = BufferedSink::spawn(flaky, retry_fast()).unwrap();
        record_all(&sink, &repaired_request(&id)).await;
        assert_eq!((sink.retries(), sink.dropped()), (6, 0));
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM aigis_audit_events WHERE request_id = $1")
            .bind(&id)
            .fetch_one(&pool().await)
            .await
            .unwrap();
        assert_eq!(n, 8);
    }

    #[tokio::test]
    async fn an_unreachable_store_is_a_typed_error_without_the_password() {
        let sink = SqlSink::connect_lazy("postgres://postgres:s3cret-pw@127.0.0.1:1/test").unwrap();
        assert!(!format!("{sink:?}").contains("s3cret"));
        let err = sink.record(&repaired_request("x")[0]).await.unwrap_err();
        assert_eq!(err.code(), "db_connect");
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }
}
