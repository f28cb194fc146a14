//! Shared fixtures for the engine tests: a scripted in-process model and a small real SQLite
//! shop database.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use aigis_core::provider::{ChatChunk, ChatRequest, ChatResponse, ChatStream, FinishReason, LlmProvider, collect_stream};
use aigis_core::{AuditEvent, AuditSink, Event, Result, Usage};
use async_trait::async_trait;

/// One scripted model reply.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Stream this text in a few chunks.
    Text(String),
    /// Ask for a tool call.
    ToolCall { name: String, arguments: String },
    /// Stream one chunk, then never finish (for cancellation tests).
    Hang,
}

pub fn text(s: &str) -> Reply {
    Reply::Text(s.to_string())
}

/// A model that replies from a script and records what it was asked.
pub struct ScriptedModel {
    replies: Mutex<VecDeque<Reply>>,
    pub requests: Mutex<Vec<ChatRequest>>,
    pub hung_stream_dropped: Arc<AtomicBool>,
}

impl ScriptedModel {
    pub fn new(replies: Vec<Reply>) -> Arc<Self> {
        Arc::new(Self {
            replies: Mutex::new(replies.into()),
            requests: Mutex::new(Vec::new()),
            hung_stream_dropped: Arc::new(AtomicBool::new(false)),
        })
    }

    pub fn request_texts(&self, i: usize) -> String {
        let reqs = self.requests.lock().unwrap();
        reqs[i].messages.iter().map(|m| m.content.clone()).collect::<Vec<_>>().join("\n")
    }

    pub fn calls(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

struct DropFlag(Arc<AtomicBool>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[async_trait]
impl LlmProvider for ScriptedModel {
    fn name(&self) -> &str {
        "scripted"
    }
    fn default_model(&self) -> &str {
        "scripted-1"
    }
    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse> {
        let stream = self.stream(request).await?;
        collect_stream(stream, "scripted-1".into()).await
    }
    async fn stream(&self, request: ChatRequest) -> Result<ChatStream> {
        self.requests.lock().unwrap().push(request);
        let reply = self.replies.lock().unwrap().pop_front().unwrap_or(Reply::Text("(script exhausted)".into()));
        let usage = ChatChunk::Usage(Usage { prompt_tokens: 100, completion_tokens: 10 });
        match reply {
            Reply::Text(t) => {
                let mid = (0..=t.len() / 2).rev().find(|i| t.is_char_boundary(*i)).unwrap_or(0);
                let chunks = vec![
                    Ok(ChatChunk::Delta { text: t[..mid].to_string() }),
                    Ok(ChatChunk::Delta { text: t[mid..].to_string() }),
                    Ok(usage),
                    Ok(ChatChunk::Finish { reason: FinishReason::Stop }),
                ];
                Ok(Box::pin(futures::stream::iter(chunks)))
            }
            Reply::ToolCall { name, arguments } => {
                let half = arguments.len() / 2;
                let chunks = vec![
                    Ok(ChatChunk::ToolCallDelta { index: 0, id: Some("call_1".into()), name: Some(name), arguments: arguments[..half].to_string() }),
                    Ok(ChatChunk::ToolCallDelta { index: 0, id: None, name: None, arguments: arguments[half..].to_string() }),
                    Ok(usage),
                    Ok(ChatChunk::Finish { reason: FinishReason::ToolCalls }),
                ];
                Ok(Box::pin(futures::stream::iter(chunks)))
            }
            Reply::Hang => {
                let flag = DropFlag(self.hung_stream_dropped.clone());
                let first = futures::stream::iter(vec![Ok(ChatChunk::Delta { text: "SEL".into() })]);
                let never = futures::stream::once(async move {
                    let _flag = flag;
                    futures::future::pending::<()>().await;
                    Ok(ChatChunk::Delta { text: String::new() })
                });
                Ok(Box::pin(futures::StreamExt::chain(first, never)))
            }
        }
    }
}

/// Creates the small shop database of [`aigis_core::testing::shop_database`]: 3 stores, 6 orders.
pub async fn shop_db(dir: &Path) -> PathBuf {
    aigis_core::testing::shop_database(dir).await.unwrap()
}

pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// The event types of a stream, in order (status events as `status:<stage>`).
pub fn kinds(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            Event::Status { stage, .. } => format!("status:{}", stage.as_str()),
            other => other.kind().to_string(),
        })
        .collect()
}

pub async fn collect(stream: aigis_core::EventStream) -> Vec<Event> {
    use futures::StreamExt;
    stream.map(|e| e.unwrap()).collect().await
}

/// An audit sink that keeps every record in memory.
#[derive(Default)]
pub struct MemorySink(pub Mutex<Vec<AuditEvent>>);

#[async_trait]
impl AuditSink for MemorySink {
    async fn record(&self, event: &AuditEvent) -> Result<()> {
        self.0.lock().unwrap().push(event.clone());
        Ok(())
    }
}
