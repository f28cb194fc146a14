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
    pub async fn record_audit(&self, events: &[AuditEvent]) -> Result<(), sqlx::Error> {
        let mut tx = self.writer().begin().await?;
        for e in events {
            let at = chrono::DateTime::parse_from_rfc3339(&e.at).map(|t| t.timestamp_millis()).unwrap_or_else(|_| super::now_ms());
            let status = serde_json::to_value(e.status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            sqlx::query(
                "INSERT INTO audit_events (id, request_id, user_id, question, stage, status, duration_ms, at, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(new_id())
            .bind(&e.request_id)
            .bind(e.user.as_deref())
            .bind(&e.question)
            .bind(e.stage.as_str())
            .bind(status)
            .bind(i64::try_from(e.duration_ms).unwrap_or(i64::MAX))
            .bind(at)
            .bind(e.detail.to_string())
            .execute(&mut *tx)
            .await?;
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
