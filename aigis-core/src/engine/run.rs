//! Running one request through the state machine and turning it into an [`EventStream`].

use std::time::Instant;

use futures::{StreamExt, stream};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::state::{Failure, State};
use super::{AskMode, AskRequest, Assistant, ExecutedQuery, plan, prompt};
use crate::audit::{AuditEvent, AuditStatus};
use crate::chart::auto_chart;
use crate::engine::extract::extract_sql;
use crate::event::{Event, EventStream, Stage, Usage};
use crate::guard::GuardedSql;
use crate::provider::{ChatChunk, ChatMessage, ChatRequest, ChatResponse, ToolSpec};
use crate::{DbErrorKind, Error, Result};

/// Runs the pipeline alongside the consumer: dropping the stream drops the pipeline future,
/// which cancels the in-flight LLM request or database query.
pub(super) fn event_stream(assistant: Assistant, request: AskRequest) -> EventStream {
    let (tx, rx) = mpsc::channel::<Event>(64);
    let pipeline = async move {
        let mut run = Run::new(assistant, request, tx);
        let wall = run.assistant.inner.config.budget.max_wall_time;
        let outcome = match tokio::time::timeout(wall, run.drive()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Error::BudgetExhausted(format!("the answer took longer than {} s", wall.as_secs()))),
        };
        if let Err(err) = outcome {
            run.fail(&err).await;
        }
        None
    };
    let mut rx = rx;
    let events = stream::poll_fn(move |cx| rx.poll_recv(cx)).map(Some);
    let merged = stream::select(events, stream::once(pipeline));
    Box::pin(merged.filter_map(|e| async move { e.map(Ok) }))
}

/// What one step did: the next state, and how to record it.
struct Transition {
    next: State,
    status: AuditStatus,
    detail: Value,
}

impl Transition {
    fn ok(next: State, detail: Value) -> Self {
        Self { next, status: AuditStatus::Ok, detail }
    }
}

/// The state of one request.
pub(super) struct Run {
    pub(super) assistant: Assistant,
    request: AskRequest,
    tx: mpsc::Sender<Event>,
    pub(super) request_id: String,
    started: Instant,
    usage: Usage,
    llm_calls: u32,
    model: String,
    schema_text: String,
    messages: Vec<ChatMessage>,
    knowledge: String,
    /// Every successful query of this request, in order (several in plan mode).
    results: Vec<ExecutedQuery>,
    answer: String,
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
            llm_calls: 0,
            model,
            schema_text: String::new(),
            messages: Vec::new(),
            knowledge: String::new(),
            results: Vec::new(),
            answer: String::new(),
        }
    }

    pub(super) async fn emit(&self, event: Event) -> Result<()> {
        self.tx.send(event).await.map_err(|_| Error::Cancelled)
    }

    async fn fail(&self, err: &Error) {
        let detail = json!({"error_code": err.code(), "error": err.user_message(), "model": self.model, "usage": self.usage});
        self.audit(Stage::Done, AuditStatus::Error, self.started, detail).await;
        let _ = self.emit(Event::Error { code: err.code().to_string(), message: err.user_message() }).await;
    }

    async fn audit(&self, stage: Stage, status: AuditStatus, since: Instant, detail: Value) {
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

    /// Drives the machine from `LoadSchema` to `Done`, one audited transition at a time.
    async fn drive(&mut self) -> Result<()> {
        self.emit(Event::Meta {
            request_id: self.request_id.clone(),
            model: self.model.clone(),
            dialect: self.assistant.inner.connection.dialect().to_string(),
        })
        .await?;
        if self.request.question.trim().is_empty() {
            return Err(Error::InvalidInput("the question is empty".into()));
        }
        let mut state = State::LoadSchema;
        loop {
            let stage = state.stage();
            if matches!(state, State::Done) {
                return self.finish().await;
            }
            let t = Instant::now();
            match self.step(state).await {
                Ok(transition) => {
                    self.audit(stage, transition.status, t, transition.detail).await;
                    state = transition.next;
                }
                Err(err) => {
                    let detail = json!({"error_code": err.code(), "error": err.user_message(), "error_stage": stage});
                    self.audit(stage, AuditStatus::Error, t, detail).await;
                    return Err(err);
                }
            }
        }
    }

    /// Every state's work and its transitions, in one place.
    async fn step(&mut self, state: State) -> Result<Transition> {
        let inner = self.assistant.inner.clone();
        let config = &inner.config;
        match state {
            State::LoadSchema => {
                self.emit(Event::status(Stage::Schema, "loading schema")).await?;
                let (schema, prepared) = self.assistant.cached_schema().await?;
                self.schema_text = prepared.render(&self.request.question).text;
                Ok(Transition::ok(State::Retrieve, json!({"tables": schema.tables.len()})))
            }
            State::Retrieve => {
                let used = self.retrieve().await?;
                let next = match self.request.mode.unwrap_or(config.mode) {
                    AskMode::Plan => State::Plan,
                    AskMode::Agent => State::Agent,
                    AskMode::Answer | AskMode::SqlOnly => State::Generate { attempt: 1 },
                };
                self.messages = prompt::generation_messages(
                    &prompt::PromptInput {
                        dialect: inner.connection.dialect(),
                        schema_text: &self.schema_text,
                        question: &self.request.question,
                        history: &self.request.history,
                        knowledge: &self.knowledge,
                        max_rows: inner.guard.policy().max_rows,
                    },
                );
                Ok(Transition::ok(next, json!({"knowledge_used": used})))
            }
            State::Generate { attempt } => {
                self.emit(Event::status(Stage::Generate, "asking the model for SQL")).await?;
                self.propose_sql(attempt).await
            }
            State::Repair { problem, attempt } => {
                self.emit(Event::status(Stage::Repair, format!("repairing the query (attempt {attempt}): {}", problem.message)))
                    .await?;
                self.messages.push(prompt::repair_message(&problem.message));
                let mut t = self.propose_sql(attempt).await?;
                t.detail["repairing"] = json!({"code": problem.code, "message": problem.message});
                Ok(t)
            }
            State::Guard { sql, attempt } => {
                let (outcome, detail) = self.guard_sql(&sql).await?;
                match outcome {
                    Ok(guarded) => Ok(Transition::ok(State::Execute { guarded, attempt }, detail)),
                    Err(failure) => Ok(Transition {
                        next: self.repair_or_fail(failure, attempt)?,
                        status: AuditStatus::Rejected,
                        detail,
                    }),
                }
            }
            State::Execute { guarded, attempt } => {
                self.emit(Event::status(Stage::Execute, "running the query")).await?;
                match self.execute(&guarded).await? {
                    Ok(rows) => {
                        let next = if self.request.mode.unwrap_or(config.mode) == AskMode::SqlOnly {
                            State::Done
                        } else {
                            State::Summarize
                        };
                        Ok(Transition::ok(next, json!({"sql_executed": guarded.sql(), "rows": rows})))
                    }
                    Err(failure) => Ok(Transition {
                        next: self.repair_or_fail(failure.clone(), attempt)?,
                        status: AuditStatus::Error,
                        detail: json!({"sql_executed": guarded.sql(), "error": failure.message}),
                    }),
                }
            }
            State::Plan => plan::run_plan(self).await.map(|detail| Transition::ok(State::Summarize, detail)),
            State::Agent => super::agent::run_agent(self).await.map(|detail| Transition::ok(State::Done, detail)),
            State::Summarize => {
                self.emit(Event::status(Stage::Summarize, "writing the answer")).await?;
                let messages = prompt::summary_messages(&self.request.question, &self.results, config.summary_rows);
                self.answer = self.chat(messages, &[], true).await?.content;
                let next = if config.charts { State::Chart } else { State::Done };
                Ok(Transition::ok(next, json!({"chars": self.answer.len(), "model": self.model})))
            }
            State::Chart => {
                let spec = self.results.last().and_then(|q| auto_chart(&q.result, Some(&self.request.question)));
                let mark = spec.as_ref().map(|s| s["mark"]["type"].clone());
                if let Some(spec) = spec {
                    self.emit(Event::status(Stage::Chart, "drawing the chart")).await?;
                    self.emit(Event::Chart { spec }).await?;
                }
                Ok(Transition::ok(State::Done, json!({"mark": mark})))
            }
            State::Done => Ok(Transition::ok(State::Done, Value::Null)),
        }
    }

    /// Retrieves knowledge for the prompt; says which items were used.
    async fn retrieve(&mut self) -> Result<Vec<String>> {
        let inner = self.assistant.inner.clone();
        let Some(retriever) = &inner.retriever else { return Ok(Vec::new()) };
        self.emit(Event::status(Stage::Retrieve, "retrieving knowledge")).await?;
        let hits = retriever.retrieve(&self.request.question, inner.config.knowledge_items).await?;
        let rendered = crate::knowledge::render_knowledge(&hits, inner.config.knowledge_token_budget);
        self.knowledge = rendered.text;
        let message = if rendered.used.is_empty() {
            "no knowledge matched".to_string()
        } else {
            format!("knowledge used: {}", rendered.used.join(", "))
        };
        self.emit(Event::status(Stage::Retrieve, message)).await?;
        Ok(rendered.used)
    }

    /// Asks the model for SQL; the reply goes to the guard, or back for repair when it has none.
    async fn propose_sql(&mut self, attempt: u32) -> Result<Transition> {
        let reply = self.chat(self.messages.clone(), &[], false).await?.content;
        self.messages.push(ChatMessage::assistant(reply.clone()));
        match extract_sql(&reply) {
            Some(sql) => {
                self.emit(Event::Sql { sql: sql.clone(), attempt }).await?;
                Ok(Transition::ok(State::Guard { sql: sql.clone(), attempt }, json!({"sql_proposed": sql, "model": self.model})))
            }
            None => Ok(Transition {
                next: self.repair_or_fail(Failure::new("no_sql", "the reply contained no SQL query"), attempt)?,
                status: AuditStatus::Error,
                detail: json!({"error": "no_sql", "reply_chars": reply.len()}),
            }),
        }
    }

    /// Checks SQL and emits the verdict; a rejection is a repairable [`Failure`].
    pub(super) async fn guard_sql(&mut self, sql: &str) -> Result<(std::result::Result<GuardedSql, Failure>, Value)> {
        let verdict = self.assistant.inner.guard.check(sql, &self.request.context);
        self.emit(Event::Guard {
            allowed: verdict.allowed,
            sql: verdict.sql.clone().unwrap_or_default(),
            violations: verdict.violations.clone(),
        })
        .await?;
        let detail = json!({"sql_proposed": sql, "verdict": verdict});
        let outcome = verdict.into_result().map_err(|err| Failure::new("rejected", &err.user_message()));
        Ok((outcome, detail))
    }

    /// The next attempt, or the end when repairs are used up.
    fn repair_or_fail(&self, problem: Failure, attempt: u32) -> Result<State> {
        if attempt > self.assistant.inner.config.max_repairs {
            return Err(Error::Answer { code: problem.code, message: problem.message });
        }
        Ok(State::Repair { problem, attempt: attempt + 1 })
    }

    /// Runs guarded SQL and emits its rows. Query errors are the model's to repair;
    /// connection and timeout failures are not.
    pub(super) async fn execute(&mut self, guarded: &GuardedSql) -> Result<std::result::Result<u64, Failure>> {
        let inner = self.assistant.inner.clone();
        let returned: u64 = self.results.iter().map(|q| q.result.row_count).sum();
        let mut limits = inner.config.exec_limits.clone();
        let rows_left = inner.config.budget.max_rows.saturating_sub(returned);
        if rows_left == 0 {
            return Err(Error::BudgetExhausted("the row budget of this request is used up".into()));
        }
        limits.max_rows = limits.max_rows.min(usize::try_from(rows_left).unwrap_or(usize::MAX));
        match inner.connection.execute(guarded, &limits).await {
            Ok(result) => {
                self.emit(Event::Rows {
                    columns: result.column_names(),
                    rows: result.rows.clone(),
                    row_count: result.row_count,
                    truncated: result.truncated,
                })
                .await?;
                let n = result.row_count;
                self.results.push(ExecutedQuery { sql: guarded.sql().to_string(), result });
                Ok(Ok(n))
            }
            Err(err @ Error::Database { kind: DbErrorKind::Query, .. }) => Ok(Err(Failure::new("db_error", &err.user_message()))),
            Err(err) => Err(err),
        }
    }

    /// One LLM call under the request's budgets; `stream_text` turns text into `delta` events.
    pub(super) async fn chat(&mut self, messages: Vec<ChatMessage>, tools: &[ToolSpec], stream_text: bool) -> Result<ChatResponse> {
        let inner = self.assistant.inner.clone();
        let budget = &inner.config.budget;
        if self.llm_calls >= budget.max_llm_calls {
            return Err(Error::BudgetExhausted(format!("more than {} model calls", budget.max_llm_calls)));
        }
        if self.usage.total() >= budget.max_tokens {
            return Err(Error::BudgetExhausted(format!("more than {} tokens", budget.max_tokens)));
        }
        self.llm_calls += 1;
        let request = ChatRequest {
            model: self.request.model.clone(),
            messages,
            temperature: inner.config.temperature,
            tools: tools.to_vec(),
            ..Default::default()
        };
        let mut stream = inner.provider.stream(request).await?;
        let mut response = ChatResponse::empty(self.model.clone());
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            match &chunk {
                ChatChunk::Delta { text } if stream_text && !text.is_empty() => {
                    self.emit(Event::Delta { text: text.clone() }).await?;
                }
                ChatChunk::Usage(u) => self.usage.add(*u),
                ChatChunk::Model { model } => self.model = model.clone(),
                _ => {}
            }
            response.push_chunk(chunk);
        }
        Ok(response)
    }

    async fn finish(&mut self) -> Result<()> {
        let sql = self.results.last().map(|q| q.sql.clone());
        let row_count = self.results.last().map(|q| q.result.row_count).unwrap_or(0);
        let detail = json!({
            "model": self.model, "usage": self.usage, "llm_calls": self.llm_calls,
            "sql_executed": sql, "rows": row_count, "queries": self.results.len(),
        });
        self.audit(Stage::Done, AuditStatus::Ok, self.started, detail).await;
        let answer = std::mem::take(&mut self.answer);
        self.emit(Event::Done {
            answer,
            sql,
            row_count,
            model: self.model.clone(),
            usage: self.usage,
            elapsed_ms: crate::event::elapsed_ms(self.started),
        })
        .await
    }

    /// Accessors for the plan and agent modes.
    pub(super) fn question(&self) -> &str {
        &self.request.question
    }
    pub(super) fn messages(&self) -> &[ChatMessage] {
        &self.messages
    }
    pub(super) fn set_answer(&mut self, answer: String) {
        self.answer = answer;
    }
    pub(super) fn request(&self) -> &AskRequest {
        &self.request
    }
    pub(super) fn push_results(&mut self, results: Vec<ExecutedQuery>) {
        self.results.extend(results);
    }
    pub(super) fn results(&self) -> &[ExecutedQuery] {
        &self.results
    }
}
