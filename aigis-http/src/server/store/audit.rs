//! The audit trail in the app store: an [`AuditSink`] and the admin's filtered browsing.

use aigis_core::{AuditEvent, AuditSink};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{Store, json_col, new_id};

/// One stored audit event.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRow {
    /// Request id.
    pub request_id: String,
    /// User id.
    pub user_id: Option<String>,
    /// The question.
    pub question: String,
    /// Stage.
    pub stage: String,
    /// `ok`, `rejected` or `error`.
    pub status: String,
    /// Duration.
    pub duration_ms: i64,
    /// End time (ms).
    pub at: i64,
    /// Stage detail.
    pub detail: serde_json::Value,
}

/// Rows per audit `INSERT`: 9 parameters each, so 64 rows stay far below every engine's
/// parameter limit (SQLite's oldest default is 999).
const AUDIT_ROWS_PER_INSERT: usize = 64;

/// Columns of one audit row, in the order [`Store::record_audit`] binds them.
const AUDIT_COLUMNS: usize = 9;

/// `INSERT INTO audit_events … VALUES ($1, …, $9), ($10, …)` for `rows` rows.
fn insert_audit_rows(rows: usize) -> String {
    let mut sql = String::with_capacity(120 + rows * 50);
    sql.push_str("INSERT INTO audit_events (id, request_id, user_id, question, stage, status, duration_ms, at, detail) VALUES ");
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for col in 0..AUDIT_COLUMNS {
            if col > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(row * AUDIT_COLUMNS + col + 1).to_string());
        }
        sql.push(')');
    }
    sql
}

/// Filters for browsing the audit trail.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditFilter {
    /// Only this user.
    pub user_id: Option<String>,
    /// Only this status.
    pub status: Option<String>,
    /// Only this stage.
    pub stage: Option<String>,
    /// From this time (ms, inclusive).
    pub since: Option<i64>,
    /// Until this time (ms, exclusive).
    pub until: Option<i64>,
    /// Rows at most (default 100, max 1000).
    pub limit: Option<i64>,
}

impl Store {
    /// Stores audit events in one transaction (each under its own `user` id).
    ///
    /// Rows go in [`AUDIT_ROWS_PER_INSERT`] at a time, one statement each: on SQLite the batch
    /// holds the store's single writer, and one round trip per row made every thread message
    /// saved meanwhile wait behind the whole batch (the load test's p99).
    pub async fn record_audit(&self, events: &[AuditEvent]) -> Result<(), sqlx::Error> {
        let mut tx = self.writer().begin().await?;
        for chunk in events.chunks(AUDIT_ROWS_PER_INSERT) {
            let sql = insert_audit_rows(chunk.len());
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for e in chunk {
                let at = chrono::DateTime::parse_from_rfc3339(&e.at)
                    .map(|t| t.timestamp_millis())
                    .unwrap_or_else(|_| super::now_ms());
                let status =
                    serde_json::to_value(e.status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
                query = query
                    .bind(new_id())
                    .bind(&e.request_id)
                    .bind(e.user.as_deref())
                    .bind(&e.question)
                    .bind(e.stage.as_str())
                    .bind(status)
                    .bind(i64::try_from(e.duration_ms).unwrap_or(i64::MAX))
                    .bind(at)
                    .bind(e.detail.to_string());
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await
    }

    /// Audit events matching a filter, newest first.
    pub async fn audit(&self, f: &AuditFilter) -> Result<Vec<AuditRow>, sqlx::Error> {
        // Each filter is a fixed clause that is always present; a NULL parameter switches it off.
        let rows = sqlx::query(
            "SELECT request_id, user_id, question, stage, status, duration_ms, at, detail FROM audit_events \
             WHERE ($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR stage = $3) \
             AND ($4 IS NULL OR at >= $4) AND ($5 IS NULL OR at < $5) ORDER BY at DESC LIMIT $6",
        )
        .bind(&f.user_id)
        .bind(&f.status)
        .bind(&f.stage)
        .bind(f.since)
        .bind(f.until)
        .bind(f.limit.unwrap_or(100).clamp(1, 1000))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditRow {
                    request_id: r.try_get("request_id")?,
                    user_id: r.try_get("user_id")?,
                    question: r.try_get("question")?,
                    stage: r.try_get("stage")?,
                    status: r.try_get("status")?,
                    duration_ms: r.try_get("duration_ms")?,
                    at: r.try_get("at")?,
                    detail: json_col(r, "detail")?,
                })
            })
            .collect()
    }
}

/// An [`AuditSink`] writing to the app store; the event's `user` is the asking user's id.
pub struct StoreAuditSink {
    /// The store.
    pub store: Store,
}

#[async_trait]
impl AuditSink for StoreAuditSink {
    async fn record(&self, event: &AuditEvent) -> aigis_core::Result<()> {
        self.record_batch(std::slice::from_ref(event)).await
    }

    /// One transaction for all the events.
    async fn record_batch(&self, events: &[AuditEvent]) -> aigis_core::Result<()> {
        self.store.record_audit(events).await.map_err(|e| aigis_core::Error::Internal(format!("audit store: {e}")))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use aigis_core::{AuditStatus, Stage};

    use super::*;
    use crate::server::store::test_stores;

    fn event(i: usize) -> AuditEvent {
        AuditEvent {
            request_id: format!("req-{i:03}"),
            user: i.is_multiple_of(2).then(|| format!("user-{i}")),
            question: format!("question {i} with 'quotes' and $1"),
            stage: if i.is_multiple_of(3) { Stage::Execute } else { Stage::Guard },
            status: if i.is_multiple_of(5) { AuditStatus::Rejected } else { AuditStatus::Ok },
            duration_ms: i as u64,
            at: format!("2026-01-01T00:{:02}:{:02}Z", i / 60, i % 60),
            detail: serde_json::json!({ "n": i }),
        }
    }

    /// A batch longer than one statement's rows lands whole, every field in its place.
    async fn batch_round_trips(store: &Store) {
        let events: Vec<AuditEvent> = (0..2 * AUDIT_ROWS_PER_INSERT + 22).map(event).collect();
        store.record_audit(&events).await.unwrap();
        let mut rows = store.audit(&AuditFilter { limit: Some(1000), ..AuditFilter::default() }).await.unwrap();
        rows.sort_by(|a, b| a.request_id.cmp(&b.request_id));
        assert_eq!(rows.len(), events.len());
        for (row, e) in rows.iter().zip(&events) {
            assert_eq!(row.request_id, e.request_id);
            assert_eq!(row.user_id, e.user);
            assert_eq!(row.question, e.question);
            assert_eq!(row.stage, e.stage.as_str());
            assert_eq!(row.status, if e.status == AuditStatus::Rejected { "rejected" } else { "ok" });
            assert_eq!(row.duration_ms, e.duration_ms as i64);
            assert_eq!(row.at, chrono::DateTime::parse_from_rfc3339(&e.at).unwrap().timestamp_millis());
            assert_eq!(row.detail, e.detail);
        }
    }

    /// PostgreSQL refuses a NUL in text: one such row, in the second statement of a batch,
    /// fails the whole batch and leaves nothing of it behind.
    async fn a_bad_row_fails_the_whole_batch(store: &Store) {
        let all = AuditFilter { limit: Some(1000), ..AuditFilter::default() };
        let before = store.audit(&all).await.unwrap().len();
        let mut bad: Vec<AuditEvent> = (1000..1000 + AUDIT_ROWS_PER_INSERT + 5).map(event).collect();
        bad[AUDIT_ROWS_PER_INSERT + 2].question = "\0".into();
        assert!(store.record_audit(&bad).await.is_err());
        assert_eq!(store.audit(&all).await.unwrap().len(), before, "a failed batch left rows behind");
    }

    #[tokio::test]
    async fn audit_batches_land_whole_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        batch_round_trips(&test_stores::sqlite(&dir).await).await;
    }

    #[tokio::test]
    async fn audit_batches_land_whole_on_postgres() {
        test_stores::with_postgres(async |store| {
            batch_round_trips(store).await;
            a_bad_row_fails_the_whole_batch(store).await;
        })
        .await;
    }
}
