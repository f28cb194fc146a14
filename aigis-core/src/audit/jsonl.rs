//! An audit sink that appends one JSON object per line to a file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{AuditEvent, AuditSink};
use crate::{Error, Result};

/// Appends each [`AuditEvent`] as one JSON line to a file.
///
/// The file is opened in append mode and each line is written with a single `write` call, so
/// several sinks (in this process or others) can share one file without interleaving lines.
/// Every line is handed to the operating system before [`AuditSink::record`] returns; with
/// [`JsonlSink::fsync`] it is also forced to disk.
#[derive(Debug, Clone)]
pub struct JsonlSink {
    path: PathBuf,
    file: Arc<Mutex<File>>,
    fsync: bool,
}

impl JsonlSink {
    /// Opens (creating if needed) the file at `path` for appending.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = OpenOptions::new().create(true).append(true).open(&path).map_err(|err| {
            Error::Config(format!("cannot open audit file {}: {err}", path.display()))
        })?;
        Ok(Self { path, file: Arc::new(Mutex::new(file)), fsync: false })
    }

    /// Whether each record is forced to disk (`fdatasync`) before `record` returns.
    pub fn fsync(mut self, on: bool) -> Self {
        self.fsync = on;
        self
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait]
impl AuditSink for JsonlSink {
    async fn record(&self, event: &AuditEvent) -> Result<()> {
        self.record_batch(std::slice::from_ref(event)).await
    }

    /// All the events' lines in one write.
    async fn record_batch(&self, events: &[AuditEvent]) -> Result<()> {
        let mut lines = Vec::new();
        for event in events {
            serde_json::to_writer(&mut lines, event)?;
            lines.push(b'\n');
        }
        let file = self.file.clone();
        let fsync = self.fsync;
        tokio::task::spawn_blocking(move || -> Result<()> {
            let mut file = file.lock().map_err(|_| Error::Internal("audit file lock poisoned".into()))?;
            // One write_all of whole lines: with O_APPEND the kernel places it at the end, so
            // concurrent writers never interleave within a line.
            file.write_all(&lines)?;
            file.flush()?;
            if fsync {
                file.sync_data()?;
            }
            Ok(())
        })
        .await
        .map_err(|err| Error::Internal(format!("audit writer task failed: {err}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditStatus;
    use crate::event::Stage;

    #[tokio::test]
    async fn appends_one_parseable_line_per_event() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        std::fs::write(&path, "{\"existing\":true}\n").unwrap();
        let sink = JsonlSink::open(&path).unwrap().fsync(true);
        for i in 0..3 {
            let event = AuditEvent {
                request_id: format!("r{i}"),
                user: None,
                question: "q\nwith newline".into(),
                stage: Stage::Guard,
                status: AuditStatus::Rejected,
                duration_ms: i,
                at: "2026-01-01T00:00:00Z".into(),
                detail: serde_json::json!({"sql_proposed": "DELETE FROM t"}),
            };
            sink.record(&event).await.unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "existing content kept, three lines appended");
        let last: AuditEvent = serde_json::from_str(lines[3]).unwrap();
        assert_eq!(last.request_id, "r2");
        assert_eq!(last.question, "q\nwith newline");
    }

    #[test]
    fn unopenable_path_is_a_config_error() {
        let err = JsonlSink::open("/nonexistent-dir/x/audit.jsonl").unwrap_err();
        assert_eq!(err.code(), "config");
    }
}
