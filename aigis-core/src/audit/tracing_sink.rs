//! An audit sink that emits each event as a structured `tracing` record (target `aigis::audit`).

use async_trait::async_trait;

use super::{AuditEvent, AuditSink, AuditStatus};
use crate::Result;

/// Emits every audit event as a `tracing` event on the target `aigis::audit`.
///
/// Successful stages log at INFO, rejections and failures at WARN; the stage detail is logged
/// as one JSON field, so a JSON subscriber keeps it structured. It cannot fail, which makes it
/// a sensible companion to a store that can.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingSink;

#[async_trait]
impl AuditSink for TracingSink {
    async fn record(&self, event: &AuditEvent) -> Result<()> {
        let detail = event.detail.to_string();
        let user = event.user.as_deref().unwrap_or("");
        match event.status {
            AuditStatus::Ok => tracing::info!(
                target: "aigis::audit",
                request_id = %event.request_id,
                user,
                stage = event.stage.as_str(),
                status = "ok",
                duration_ms = event.duration_ms,
                at = %event.at,
                question = %event.question,
                detail = %detail,
                "audit"
            ),
            status => tracing::warn!(
                target: "aigis::audit",
                request_id = %event.request_id,
                user,
                stage = event.stage.as_str(),
                status = if status == AuditStatus::Rejected { "rejected" } else { "error" },
                duration_ms = event.duration_ms,
                at = %event.at,
                question = %event.question,
                detail = %detail,
                "audit"
            ),
        }
        Ok(())
    }
}
