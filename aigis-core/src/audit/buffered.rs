//! A wrapper that makes any [`AuditSink`] safe to put on the answer path.
//!
//! [`BufferedSink::record`] only enqueues: a background task writes each event to the wrapped
//! sink in order, retrying failures with exponential backoff. A record is given up only after
//! every attempt failed (or when the bounded queue is full), and then it is *reported*, never
//! silently lost: the whole record is logged with `tracing::error!` on target `aigis::audit`
//! (so it can be recovered from the logs) and counted in [`BufferedSink::dropped`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc};

use super::{AuditEvent, AuditSink};
use crate::{Error, Result};

/// How a [`BufferedSink`] queues and retries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BufferOptions {
    /// Events queued at most; beyond this, new events are reported and dropped.
    pub capacity: usize,
    /// Attempts per event (the first write plus retries).
    pub max_attempts: u32,
    /// Wait before the first retry; doubles after each failure.
    pub initial_backoff: Duration,
    /// Longest wait between retries.
    pub max_backoff: Duration,
    /// One write attempt that takes longer than this counts as failed.
    pub attempt_timeout: Duration,
    /// Events handed to the wrapped sink in one write at most. Larger batches write faster
    /// under load; smaller ones hold a shared store (a SQLite file's single writer) for less time.
    pub max_batch: usize,
}

impl Default for BufferOptions {
    fn default() -> Self {
        Self {
            capacity: 10_000,
            max_attempts: 10,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(10),
            max_batch: 64,
        }
    }
}

#[derive(Default)]
struct Counters {
    /// Events accepted but not yet written or given up.
    pending: AtomicUsize,
    dropped: AtomicU64,
    retries: AtomicU64,
    written: AtomicU64,
    idle: Notify,
}

impl Counters {
    fn settle_one(&self) {
        if self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify_waiters();
        }
    }
}

/// Queues events for a wrapped sink and writes them in the background, in order.
pub struct BufferedSink {
    tx: mpsc::Sender<AuditEvent>,
    inner: Arc<dyn AuditSink>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for BufferedSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufferedSink")
            .field("pending", &self.pending())
            .field("dropped", &self.dropped())
            .field("retries", &self.retries())
            .finish_non_exhaustive()
    }
}

impl BufferedSink {
    /// Wraps `inner` and starts the writer task on the current Tokio runtime.
    ///
    /// Fails with [`Error::Config`] when called outside a Tokio runtime.
    pub fn spawn(inner: Arc<dyn AuditSink>, options: BufferOptions) -> Result<Self> {
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::Config("a buffered audit sink must be created inside a Tokio runtime".into()))?;
        let (tx, rx) = mpsc::channel(options.capacity.max(1));
        let counters = Arc::new(Counters::default());
        handle.spawn(write_loop(rx, inner.clone(), counters.clone(), options));
        Ok(Self { tx, inner, counters })
    }

    /// Events given up (queue full, or every attempt failed); each was reported via `tracing::error!`.
    pub fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Acquire)
    }

    /// Failed attempts that were retried.
    pub fn retries(&self) -> u64 {
        self.counters.retries.load(Ordering::Acquire)
    }

    /// Events written to the wrapped sink.
    pub fn written(&self) -> u64 {
        self.counters.written.load(Ordering::Acquire)
    }

    /// Events accepted and not yet written or given up.
    pub fn pending(&self) -> usize {
        self.counters.pending.load(Ordering::Acquire)
    }
}

#[async_trait]
impl AuditSink for BufferedSink {
    /// Enqueues the event and returns at once; it never waits for the wrapped sink.
    async fn record(&self, event: &AuditEvent) -> Result<()> {
        self.counters.pending.fetch_add(1, Ordering::AcqRel);
        match self.tx.try_send(event.clone()) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(event) | mpsc::error::TrySendError::Closed(event)) => {
                give_up(&self.counters, &event, "the audit queue is full");
                self.counters.settle_one();
                Ok(())
            }
        }
    }

    /// Waits until every event accepted so far is written or given up, then flushes the
    /// wrapped sink. Bound it with `tokio::time::timeout` when the store may be down.
    async fn flush(&self) -> Result<()> {
        loop {
            let idle = self.counters.idle.notified();
            tokio::pin!(idle);
            // Register interest before checking, so a notification in between is not missed.
            idle.as_mut().enable();
            if self.pending() == 0 {
                break;
            }
            idle.await;
        }
        self.inner.flush().await
    }
}

async fn write_loop(
    mut rx: mpsc::Receiver<AuditEvent>,
    inner: Arc<dyn AuditSink>,
    counters: Arc<Counters>,
    options: BufferOptions,
) {
    // Whatever queued while the last write ran goes in the next one: under load a database
    // sink writes one transaction per batch instead of one per event.
    let max_batch = options.max_batch.max(1);
    let mut batch = Vec::with_capacity(max_batch);
    while rx.recv_many(&mut batch, max_batch).await > 0 {
        let outcome = write_with_retries(inner.as_ref(), &batch, &counters, &options).await;
        match outcome {
            Ok(()) => {
                counters.written.fetch_add(batch.len() as u64, Ordering::AcqRel);
            }
            // One event the store refuses must not take the others down with it: alone, each
            // gets its own attempts, and only those that still fail are given up.
            Err(_) if batch.len() > 1 => {
                for event in &batch {
                    match write_with_retries(inner.as_ref(), std::slice::from_ref(event), &counters, &options).await {
                        Ok(()) => {
                            counters.written.fetch_add(1, Ordering::AcqRel);
                        }
                        Err(why) => give_up(&counters, event, &why),
                    }
                }
            }
            Err(why) => {
                for event in &batch {
                    give_up(&counters, event, &why);
                }
            }
        }
        for _ in batch.drain(..) {
            counters.settle_one();
        }
    }
}

/// Writes the events with retries and backoff; the reason for giving up when every attempt failed.
async fn write_with_retries(
    inner: &dyn AuditSink,
    events: &[AuditEvent],
    counters: &Counters,
    options: &BufferOptions,
) -> std::result::Result<(), String> {
    let mut backoff = options.initial_backoff;
    let mut attempt = 1;
    loop {
        let outcome = match tokio::time::timeout(options.attempt_timeout, inner.record_batch(events)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Error::Internal(format!("audit write timed out after {:?}", options.attempt_timeout))),
        };
        match outcome {
            Ok(()) => return Ok(()),
            Err(err) if attempt < options.max_attempts => {
                counters.retries.fetch_add(1, Ordering::AcqRel);
                tracing::warn!(
                    target: "aigis::audit",
                    request_id = %events.first().map(|e| e.request_id.as_str()).unwrap_or_default(),
                    events = events.len(),
                    attempt,
                    error = %err,
                    "audit write failed; retrying in {backoff:?}"
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(options.max_backoff);
                attempt += 1;
            }
            Err(err) => return Err(format!("{attempt} attempts failed, last: {err}")),
        }
    }
}

/// Reports a record that could not be written, with its full content so it can be recovered.
fn give_up(counters: &Counters, event: &AuditEvent, why: &str) {
    counters.dropped.fetch_add(1, Ordering::AcqRel);
    let record = serde_json::to_string(event).unwrap_or_else(|err| format!("<unserialisable: {err}>"));
    tracing::error!(
        target: "aigis::audit",
        request_id = %event.request_id,
        stage = event.stage.as_str(),
        record = %record,
        "audit record not written: {why}"
    );
}
