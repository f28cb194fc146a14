//! The audit trail: every stage of every answer is one [`AuditEvent`] handed to an [`AuditSink`].

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::event::Stage;

/// Outcome of a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditStatus {
    /// The stage succeeded.
    Ok,
    /// The guard rejected the SQL.
    Rejected,
    /// The stage failed.
    Error,
}

/// One stage of one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// The request this belongs to.
    pub request_id: String,
    /// Who asked, when known.
    pub user: Option<String>,
    /// The question.
    pub question: String,
    /// The stage.
    pub stage: Stage,
    /// How it went.
    pub status: AuditStatus,
    /// How long it took.
    pub duration_ms: u64,
    /// When it ended (RFC 3339, UTC).
    pub at: String,
    /// Stage-specific detail (model, tokens, SQL proposed, verdict, SQL executed, rows, error).
    pub detail: serde_json::Value,
}

/// Where audit events go.
///
/// Object-safe: hold it as `Arc<dyn AuditSink>`.
#[async_trait]
pub trait AuditSink: Send + Sync {
    /// Records one event durably (or returns an error so the caller can buffer and retry).
    async fn record(&self, event: &AuditEvent) -> Result<()>;
}
