//! Audit sinks without a database: the buffered wrapper's retry and reporting, JSON lines files
//! shared by concurrent writers, and `from_spec`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aigis_core::audit::{AuditSink, BufferOptions, BufferedSink, JsonlSink, from_spec};
use aigis_core::{AuditEvent, AuditStatus, Error, Result, Stage};
use async_trait::async_trait;
use tokio::sync::Notify;

fn event(request_id: &str, n: u64) -> AuditEvent {
    AuditEvent {
        request_id: request_id.to_string(),
        user: Some("ana".into()),
        question: "How many orders per store?".into(),
        stage: Stage::Execute,
        status: AuditStatus::Ok,
        duration_ms: n,
        at: "2026-11-21T05:00:00Z".into(),
        detail: serde_json::json!({"seq": n, "sql_executed": "SELECT 1", "rows": 1}),
    }
}

fn fast_retries(max_attempts: u32) -> BufferOptions {
    BufferOptions {
        max_attempts,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(4),
        ..BufferOptions::default()
    }
}

/// Fails its first `failures` writes, then keeps every event.
struct Flaky {
    failures: u32,
    calls: AtomicU32,
    kept: Mutex<Vec<AuditEvent>>,
}

impl Flaky {
    fn new(failures: u32) -> Arc<Self> {
        Arc::new(Self { failures, calls: AtomicU32::new(0), kept: Mutex::new(Vec::new()) })
    }
}

#[async_trait]
impl AuditSink for Flaky {
    async fn record(&self, event: &AuditEvent) -> Result<()> {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.failures {
            return Err(Error::database(aigis_core::DbErrorKind::Connect, "store down"));
        }
        self.kept.lock().unwrap().push(event.clone());
        Ok(())
    }
}

#[tokio::test]
async fn a_sink_failing_n_times_then_recovering_loses_nothing_and_keeps_order() {
    let flaky = Flaky::new(5);
    let sink = BufferedSink::spawn(flaky.clone(), fast_retries(10)).unwrap();
    for n in 0..20 {
        sink.record(&event("r1", n)).await.unwrap();
    }
    tokio::time::timeout(Duration::from_secs(10), sink.flush()).await.unwrap().unwrap();
    let kept = flaky.kept.lock().unwrap();
    let seqs: Vec<u64> = kept.iter().map(|e| e.duration_ms).collect();
    assert_eq!(seqs, (0..20).collect::<Vec<_>>(), "every event, in order");
    assert_eq!(sink.retries(), 5);
    assert_eq!(sink.dropped(), 0);
    assert_eq!(sink.written(), 20);
    assert_eq!(sink.pending(), 0);
}

#[tokio::test]
async fn a_sink_that_never_recovers_is_reported_not_silently_dropped() {
    let broken = Flaky::new(u32::MAX);
    let sink = BufferedSink::spawn(broken.clone(), fast_retries(3)).unwrap();
    for n in 0..4 {
        sink.record(&event("r2", n)).await.unwrap();
    }
    tokio::time::timeout(Duration::from_secs(10), sink.flush()).await.unwrap().unwrap();
    // The four queued together: 3 attempts as one batch, then 3 for each event alone, so one
    // refused event can never take the others down with it.
    assert_eq!(broken.calls.load(Ordering::SeqCst), 3 + 4 * 3, "3 attempts for the batch, then 3 per event");
    assert_eq!(sink.dropped(), 4);
    assert_eq!(sink.written(), 0);
}

/// Refuses one event for good (say, a value the store's schema rejects) and keeps the rest.
struct Picky {
    refused: u64,
    kept: Mutex<Vec<u64>>,
}

#[async_trait]
impl AuditSink for Picky {
    async fn record(&self, event: &AuditEvent) -> Result<()> {
        if event.duration_ms == self.refused {
            return Err(Error::database(aigis_core::DbErrorKind::Query, "value rejected"));
        }
        self.kept.lock().unwrap().push(event.duration_ms);
        Ok(())
    }

    /// All or none, like a transaction.
    async fn record_batch(&self, events: &[AuditEvent]) -> Result<()> {
        if events.iter().any(|e| e.duration_ms == self.refused) {
            return Err(Error::database(aigis_core::DbErrorKind::Query, "value rejected"));
        }
        self.kept.lock().unwrap().extend(events.iter().map(|e| e.duration_ms));
        Ok(())
    }
}

#[tokio::test]
async fn one_refused_event_in_a_batch_does_not_take_the_others_down() {
    let picky = Arc::new(Picky { refused: 2, kept: Mutex::new(Vec::new()) });
    let sink = BufferedSink::spawn(picky.clone(), fast_retries(2)).unwrap();
    for n in 0..5 {
        sink.record(&event("r3", n)).await.unwrap();
    }
    tokio::time::timeout(Duration::from_secs(10), sink.flush()).await.unwrap().unwrap();
    assert_eq!(*picky.kept.lock().unwrap(), vec![0, 1, 3, 4], "written in order, the refused one left out");
    assert_eq!((sink.dropped(), sink.written()), (1, 4));
}

/// Never finishes a write (a hung store); says when the first write started.
struct Hung {
    started: Notify,
}

#[async_trait]
impl AuditSink for Hung {
    async fn record(&self, _event: &AuditEvent) -> Result<()> {
        self.started.notify_one();
        futures::future::pending::<()>().await;
        Ok(())
    }
}

#[tokio::test]
async fn recording_never_waits_for_a_hung_store_and_a_full_queue_is_counted() {
    let hung = Arc::new(Hung { started: Notify::new() });
    let options = BufferOptions { capacity: 2, attempt_timeout: Duration::from_secs(3600), ..BufferOptions::default() };
    let sink = BufferedSink::spawn(hung.clone(), options).unwrap();
    // The first event is taken by the writer, which then hangs on it.
    sink.record(&event("r3", 0)).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), hung.started.notified()).await.unwrap();
    // Two fit in the queue; the next two are reported and counted. None of this may block.
    for n in 1..5 {
        tokio::time::timeout(Duration::from_secs(10), sink.record(&event("r3", n))).await.unwrap().unwrap();
    }
    assert_eq!(sink.dropped(), 2);
    assert_eq!(sink.pending(), 3);
    // flush cannot finish while the store hangs; callers bound it with a timeout.
    assert!(tokio::time::timeout(Duration::from_millis(50), sink.flush()).await.is_err());
}

#[tokio::test]
async fn a_hung_write_times_out_and_is_retried() {
    struct SlowThenFine {
        calls: AtomicU32,
        kept: AtomicU32,
    }
    #[async_trait]
    impl AuditSink for SlowThenFine {
        async fn record(&self, _event: &AuditEvent) -> Result<()> {
            if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
                futures::future::pending::<()>().await;
            }
            self.kept.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }
    let inner = Arc::new(SlowThenFine { calls: AtomicU32::new(0), kept: AtomicU32::new(0) });
    let options = BufferOptions { attempt_timeout: Duration::from_millis(20), ..fast_retries(3) };
    let sink = BufferedSink::spawn(inner.clone(), options).unwrap();
    sink.record(&event("r4", 0)).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), sink.flush()).await.unwrap().unwrap();
    assert_eq!(inner.kept.load(Ordering::SeqCst), 1);
    assert_eq!((sink.retries(), sink.dropped()), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_jsonl_writers_on_one_file_never_interleave_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    // Two independent sinks (as two processes would have) plus many concurrent tasks each.
    let sinks = [Arc::new(JsonlSink::open(&path).unwrap()), Arc::new(JsonlSink::open(&path).unwrap())];
    let big = "x".repeat(20_000);
    let mut tasks = Vec::new();
    for (s, sink) in sinks.iter().enumerate() {
        for t in 0..4 {
            let sink = sink.clone();
            let big = big.clone();
            tasks.push(tokio::spawn(async move {
                for n in 0..50u64 {
                    let mut e = event(&format!("s{s}-t{t}"), n);
                    e.detail["padding"] = serde_json::json!(big);
                    sink.record(&e).await.unwrap();
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let mut seen = HashSet::new();
    for line in text.lines() {
        let e: AuditEvent = serde_json::from_str(line).expect("every line is one whole JSON object");
        assert!(seen.insert((e.request_id, e.duration_ms)), "no line written twice");
    }
    assert_eq!(seen.len(), 2 * 4 * 50);
}

#[tokio::test]
async fn from_spec_builds_a_buffered_jsonl_sink() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.jsonl");
    let sink = from_spec(&format!("jsonl:{}", path.display())).unwrap();
    sink.record(&event("r5", 1)).await.unwrap();
    sink.record(&event("r5", 2)).await.unwrap();
    sink.flush().await.unwrap();
    let lines: Vec<AuditEvent> =
        std::fs::read_to_string(&path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines, vec![event("r5", 1), event("r5", 2)]);
}

#[tokio::test]
async fn from_spec_rejects_unknown_specs_without_echoing_secrets() {
    for spec in ["jsonl:", "ftp://x", "mysql://root:hunter2@127.0.0.1/test", "hunter2-the-password-for-prod"] {
        let err = from_spec(spec).unwrap_err();
        assert!(matches!(err, Error::Config(_) | Error::Unsupported(_)), "{spec}: {err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}

#[test]
fn buffered_sink_outside_a_runtime_is_a_config_error() {
    let err = BufferedSink::spawn(Flaky::new(0), BufferOptions::default()).unwrap_err();
    assert_eq!(err.code(), "config");
}
