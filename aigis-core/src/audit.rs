//! The audit trail: every stage of every answer is one [`AuditEvent`] handed to an [`AuditSink`].
//!
//! Sinks: [`tracing_sink::TracingSink`] (structured log records), [`jsonl::JsonlSink`] (a JSON
//! lines file) and [`sql::SqlSink`] (tables `aigis_audit_logs` + `aigis_audit_events` on
//! PostgreSQL or SQLite). [`buffered::BufferedSink`] wraps any of them so a failing store never
//! costs an answer and never silently loses a record; [`from_spec`] builds a buffered sink from a
//! one-string configuration (`AIGIS_AUDIT`, `aigis ask --audit`).

pub mod buffered;
pub mod jsonl;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod sql;
pub mod tracing_sink;

pub use buffered::{BufferOptions, BufferedSink};
pub use jsonl::JsonlSink;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sql::SqlSink;
pub use tracing_sink::TracingSink;

use std::sync::Arc;

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

    /// Records several events, in order. The default records them one by one (if one fails,
    /// those before it stay written, so a retry may repeat them); a sink that can write them in
    /// one go (one transaction, one write call) should, and then all or none are written.
    /// [`BufferedSink`] hands over whatever queued up since its last write.
    async fn record_batch(&self, events: &[AuditEvent]) -> Result<()> {
        for event in events {
            self.record(event).await?;
        }
        Ok(())
    }

    /// Waits until every event recorded so far is written (buffered sinks drain their queue).
    ///
    /// Sinks that write synchronously in [`AuditSink::record`] need not override it.
    async fn flush(&self) -> Result<()> {
        Ok(())
    }
}

/// Builds a buffered audit sink from a one-string specification.
///
/// Accepted forms: `jsonl:PATH` (a JSON lines file, appended), a database URL
/// (`postgres://…`, `postgresql://…`, `sqlite://…`, `sqlite:PATH`) for the SQL tables, or
/// `tracing` (structured log records only). The returned sink is a [`BufferedSink`] with
/// default options (use it as `Arc<dyn AuditSink>`; keep the concrete type for
/// [`BufferedSink::dropped`]), so it must be created inside a Tokio runtime.
///
/// ```no_run
/// # async fn demo() -> aigis_core::Result<()> {
/// let sink = aigis_core::audit::from_spec("jsonl:/var/log/aigis/audit.jsonl")?;
/// # Ok(()) }
/// ```
pub fn from_spec(spec: &str) -> Result<Arc<BufferedSink>> {
    let inner = sink_for_spec(spec)?;
    Ok(Arc::new(BufferedSink::spawn(inner, buffered::BufferOptions::default())?))
}

/// The unbuffered sink a specification names.
fn sink_for_spec(spec: &str) -> Result<Arc<dyn AuditSink>> {
    let spec = spec.trim();
    if let Some(path) = spec.strip_prefix("jsonl:") {
        if path.is_empty() {
            return Err(crate::Error::Config("audit spec `jsonl:` needs a file path, e.g. `jsonl:audit.jsonl`".into()));
        }
        return Ok(Arc::new(JsonlSink::open(path)?));
    }
    if spec == "tracing" {
        return Ok(Arc::new(TracingSink));
    }
    let scheme = spec.split(':').next().unwrap_or_default().to_ascii_lowercase();
    match scheme.as_str() {
        #[cfg(any(feature = "sqlite", feature = "postgres"))]
        "sqlite" | "postgres" | "postgresql" => Ok(Arc::new(SqlSink::connect_lazy(spec)?)),
        // Only echo something that looks like a scheme: a mistyped spec may hold a password.
        _ if scheme.len() <= 16 && scheme.chars().all(|c| c.is_ascii_alphanumeric()) => Err(crate::Error::Config(format!(
            "unsupported audit spec (scheme `{scheme}`): expected `jsonl:PATH`, `tracing`, or a \
             postgres:// or sqlite: URL"
        ))),
        _ => Err(crate::Error::Config(
            "unrecognised audit spec: expected `jsonl:PATH`, `tracing`, or a postgres:// or sqlite: URL".into(),
        )),
    }
}
