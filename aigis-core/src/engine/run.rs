//! Running one request through the state machine and turning it into an [`EventStream`].

use std::time::Instant;

use futures::{StreamExt, stream};
use tokio::sync::mpsc;

use super::{AskRequest, Assistant, prompt};
use crate::audit::{AuditEvent, AuditStatus};
use crate::connection::QueryResult;
use crate::engine::extract::extract_sql;
use crate::event::{Event, EventStream, Stage, Usage};
use crate::guard::GuardedSql;
use crate::provider::{ChatChunk, ChatMessage, ChatRequest};
use crate::{Error, Result};

/// Runs the pipeline alongside the consumer: dropping the stream drops the pipeline future,
/// which cancels the in-flight LLM request or database query.
pub(super) fn event_stream(assistant: Assistant, request: AskRequest) -> EventStream {
    let (tx, rx) = mpsc::channel::<Event>(64);
    let pipeline = async move {
        let mut run = Run::new(assistant, request, tx);
        let outcome = run.execute().await;
        if let Err(err) = outcome {
            run.fail(&err).await;
        }
        None
    };
    let events = tokio_stream_from(rx).map(Some);
    let merged = stream::select(events, stream::once(pipeline));
    Box::pin(merged.filter_map(|e| async move { e.map(Ok) }))
}

fn tokio_stream_from(mut rx: mpsc::Receiver<Event>) -> impl futures::Stream<Item = Event> {
    stream::poll_fn(move |cx| rx.poll_recv(cx))
}

struct Run {
    assistant: Assistant,
    request: AskRequest,
    tx: mpsc::Sender<Event>,
    request_id: String,
    started: Instant,
    usage: Usage,
    model: String,
}

impl Run {
    fn new(assistant: Assistant, request: AskRequest, tx: mpsc::Sender<Event>) -> Self {
        let model =
            request.model.clone().unwrap_or_else(|| assistant.inner.provider.default_model().to_string());
        Self {
            assistant,
            request,
            tx,
            request_id: uuid::Uuid::new_v4().to_string(),
            started: Instant::now(),
            usage: Usage::default(),
            model,
        }
    }

    async fn emit(&self, event: Event) -> Result<()> {
        self.tx.send(event).await.map_err(|_| Error::Cancelled)
    }

    async fn fail(&self, err: &Error) {
        self.audit(Stage::Done, AuditStatus::Error, self.started, serde_json::json!({"error": err.code()})).await;
        let _ = self.emit(Event::Error { code: err.code().to_string(), message: err.user_message() }).await;
    }

    async fn audit(&self, stage: Stage, status: AuditStatus, since: Instant, detail: serde_json::Value) {
        if self.assistant.inner.audit.is_empty() {
            return;
        }
        let event = AuditEvent {
            request_id: self.request_id.clone(),
            user: self.request.user.clone(),
            question: self.request.question.clone(),
            stage,
            status,
            duration_ms: since.elapsed().as_millis() as u64,
            at: chrono::Utc::now().to_rfc3339(),
            detail,
        };
        for sink in &self.assistant.inner.audit {
            if let Err(err) = sink.record(&event).await {
                tracing::warn!(request_id = %self.request_id, error = %err, "audit sink failed");
            }
        }
    }

    async fn execute(&mut self) -> Result<()> {
        let inner = self.assistant.inner.clone();
        let dialect = inner.connection.dialect();
        self.emit(Event::Meta {
            request_id: self.request_id.clone(),
            model: self.model.clone(),
            dialect: dialect.to_string(),
        })
        .await?;
        if self.request.question.trim().is_empty() {
            return Err(Error::InvalidInput("the question is empty".into()));
        }

        let t = Instant::now();
        self.emit(Event::status(Stage::Schema, "loading schema")).await?;
        let schema = self.assistant.schema().await?;
        self.audit(Stage::Schema, AuditStatus::Ok, t, serde_json::json!({"tables": schema.tables.len()})).await;

        let mut messages = prompt::generation_messages(
            dialect,
            &schema,
            &self.request.question,
            &self.request.history,
            inner.guard.policy().max_rows,
            inner.config.schema_token_budget,
        );
        let (guarded, result) = self.generate_and_run(&mut messages).await?;

        let t = Instant::now();
        self.emit(Event::status(Stage::Summarize, "writing the answer")).await?;
        let answer = self.summarize(guarded.sql(), &result).await?;
        self.audit(Stage::Summarize, AuditStatus::Ok, t, serde_json::json!({"chars": answer.len()})).await;

        self.audit(
            Stage::Done,
            AuditStatus::Ok,
            self.started,
            serde_json::json!({"model": self.model, "usage": self.usage, "sql_executed": guarded.sql(), "rows": result.row_count}),
        )
        .await;
        self.emit(Event::Done {
            answer,
            sql: Some(guarded.sql().to_string()),
            row_count: result.row_count,
            model: self.model.clone(),
            usage: self.usage,
            elapsed_ms: self.started.elapsed().as_millis() as u64,
        })
        .await
    }

    /// Generate → guard → execute, repairing on a rejection or a database error.
    async fn generate_and_run(&mut self, messages: &mut Vec<ChatMessage>) -> Result<(GuardedSql, QueryResult)> {
        let inner = self.assistant.inner.clone();
        let max_attempts = inner.config.max_repairs + 1;
        let mut attempt = 1;
        loop {
            let stage = if attempt == 1 { Stage::Generate } else { Stage::Repair };
            let t = Instant::now();
            self.emit(Event::status(stage, format!("asking the model for SQL (attempt {attempt})"))).await?;
            let reply = self.chat(messages.clone()).await?;
            messages.push(ChatMessage::assistant(reply.clone()));
            let problem = match extract_sql(&reply) {
                None => {
                    self.audit(stage, AuditStatus::Error, t, serde_json::json!({"error": "no_sql"})).await;
                    Failure::new("no_sql", "the reply contained no SQL query")
                }
                Some(sql) => {
                    self.audit(stage, AuditStatus::Ok, t, serde_json::json!({"sql_proposed": sql})).await;
                    self.emit(Event::Sql { sql: sql.clone(), attempt }).await?;
                    match self.guard_and_execute(&sql).await? {
                        Ok(done) => return Ok(done),
                        Err(failure) => failure,
                    }
                }
            };
            if attempt >= max_attempts {
                return Err(Error::Answer { code: problem.code, message: problem.message });
            }
            messages.push(prompt::repair_message(&problem.message));
            attempt += 1;
        }
    }

    /// Guards and runs one SQL; a rejection or a query error is a repairable [`Failure`].
    async fn guard_and_execute(&mut self, sql: &str) -> Result<std::result::Result<(GuardedSql, QueryResult), Failure>> {
        let inner = self.assistant.inner.clone();
        let t = Instant::now();
        let verdict = inner.guard.check(sql, &self.request.context);
        self.emit(Event::Guard {
            allowed: verdict.allowed,
            sql: verdict.sql.clone().unwrap_or_default(),
            violations: verdict.violations.clone(),
        })
        .await?;
        let status = if verdict.allowed { AuditStatus::Ok } else { AuditStatus::Rejected };
        self.audit(Stage::Guard, status, t, serde_json::to_value(&verdict)?).await;
        let guarded = match verdict.into_result() {
            Ok(g) => g,
            Err(err) => return Ok(Err(Failure::new("rejected", &err.user_message()))),
        };

        let t = Instant::now();
        self.emit(Event::status(Stage::Execute, "running the query")).await?;
        match inner.connection.execute(&guarded, &inner.config.exec_limits).await {
            Ok(result) => {
                self.audit(
                    Stage::Execute,
                    AuditStatus::Ok,
                    t,
                    serde_json::json!({"sql_executed": guarded.sql(), "rows": result.row_count}),
                )
                .await;
                self.emit(Event::Rows {
                    columns: result.column_names(),
                    rows: result.rows.clone(),
                    row_count: result.row_count,
                    truncated: result.truncated,
                })
                .await?;
                Ok(Ok((guarded, result)))
            }
            // Query errors are the model's to fix; connection or timeout failures are not.
            Err(err @ Error::Database { kind: crate::DbErrorKind::Query, .. }) => {
                self.audit(Stage::Execute, AuditStatus::Error, t, serde_json::json!({"error": err.to_string()})).await;
                Ok(Err(Failure::new("db_error", &err.user_message())))
            }
            Err(err) => {
                self.audit(Stage::Execute, AuditStatus::Error, t, serde_json::json!({"error": err.to_string()})).await;
                Err(err)
            }
        }
    }

    /// Streams a chat completion, collecting the text and counting usage.
    async fn chat(&mut self, messages: Vec<ChatMessage>) -> Result<String> {
        let inner = self.assistant.inner.clone();
        let request = ChatRequest {
            model: self.request.model.clone(),
            messages,
            temperature: inner.config.temperature,
            ..Default::default()
        };
        let mut stream = inner.provider.stream(request).await?;
        let mut text = String::new();
        while let Some(chunk) = stream.next().await {
            match chunk? {
                ChatChunk::Delta { text: t } => text.push_str(&t),
                ChatChunk::Usage(u) => self.usage.add(u),
                ChatChunk::Model { model } => self.model = model,
                _ => {}
            }
        }
        Ok(text)
    }

    /// Streams the answer as `delta` events.
    async fn summarize(&mut self, sql: &str, result: &QueryResult) -> Result<String> {
        let inner = self.assistant.inner.clone();
        let request = ChatRequest {
            model: self.request.model.clone(),
            messages: prompt::summary_messages(&self.request.question, sql, result, inner.config.summary_rows),
            temperature: Some(0.2),
            ..Default::default()
        };
        let mut stream = inner.provider.stream(request).await?;
        let mut answer = String::new();
        while let Some(chunk) = stream.next().await {
            match chunk? {
                ChatChunk::Delta { text } if !text.is_empty() => {
                    answer.push_str(&text);
                    self.emit(Event::Delta { text }).await?;
                }
                ChatChunk::Usage(u) => self.usage.add(u),
                ChatChunk::Model { model } => self.model = model,
                _ => {}
            }
        }
        Ok(answer)
    }
}

/// A problem the model may repair.
struct Failure {
    code: String,
    message: String,
}

impl Failure {
    fn new(code: &str, message: &str) -> Self {
        Self { code: code.to_string(), message: message.to_string() }
    }
}
