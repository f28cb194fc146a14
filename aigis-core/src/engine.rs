//! The guarded NL→SQL state machine behind [`Assistant`].
//!
//! One question runs through: load schema → generate SQL → guard → execute → (on a rejection
//! or a database error: repair, up to `max_repairs` times) → summarize (streamed) → chart →
//! done. Every step is an [`Event`] on one stream; the stream always ends with `done` or
//! `error`. Dropping the stream cancels whatever is in flight (LLM request, database query).

mod agent;
pub mod extract;
mod plan;
mod prompt;
mod run;
mod state;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::audit::AuditSink;
use crate::connection::{Connection, ExecLimits, Schema};
use crate::event::{Event, EventStream, Usage};
use crate::guard::{Guard, GuardContext, Policy};
use crate::provider::LlmProvider;
use crate::dictionary::Dictionary;
use crate::knowledge::Retriever;
use crate::schema_prompt::{PreparedSchema, RenderOptions, SchemaRenderer};
use crate::tool::Tool;
use crate::{Error, Result};

/// How a question is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AskMode {
    /// One query, repaired as needed, then a streamed answer and a chart.
    #[default]
    Answer,
    /// Up to `plan_max_queries` queries, each its own step, then one synthesised answer.
    Plan,
    /// The model calls tools (`ask_database`, `run_sql`, `describe_schema`, `make_chart`, user tools).
    Agent,
    /// Generate, guard and execute only: no answer text, no chart.
    SqlOnly,
}

/// Per-request limits: when one runs out the request ends with `error` code `budget_exhausted`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Budget {
    /// LLM calls at most (generation, repairs, plan, summary, tool turns).
    pub max_llm_calls: u32,
    /// Prompt + completion tokens at most.
    pub max_tokens: u64,
    /// Wall time of the whole request.
    pub max_wall_time: Duration,
    /// Rows returned by all queries of the request together.
    pub max_rows: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Self { max_llm_calls: 12, max_tokens: 200_000, max_wall_time: Duration::from_secs(180), max_rows: 100_000 }
    }
}

/// A query that ran: the SQL as executed (rewritten by the guard) and its result.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutedQuery {
    /// The SQL that ran.
    pub sql: String,
    /// What it returned.
    pub result: crate::connection::QueryResult,
}

/// Plain configuration of an [`Assistant`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AssistantConfig {
    /// The guard policy; its dialect is replaced by the connection's.
    pub policy: Policy,
    /// Limits for each query.
    pub exec_limits: ExecLimits,
    /// Times the model may repair a rejected or failing query.
    pub max_repairs: u32,
    /// Rows shown to the answer-writing model at most.
    pub summary_rows: usize,
    /// Whether to build a chart.
    pub charts: bool,
    /// How long an introspected schema is reused.
    pub schema_ttl: Duration,
    /// Approximate token budget for the schema in prompts.
    pub schema_token_budget: usize,
    /// Sampling temperature for SQL generation.
    pub temperature: Option<f32>,
    /// Default answering mode (a request may override it).
    pub mode: AskMode,
    /// Queries a plan may have at most.
    pub plan_max_queries: usize,
    /// Per-request budgets.
    pub budget: Budget,
    /// Knowledge items retrieved per question.
    pub knowledge_items: usize,
    /// Approximate token budget for retrieved knowledge in prompts.
    pub knowledge_token_budget: usize,
}

impl Default for AssistantConfig {
    fn default() -> Self {
        Self {
            policy: Policy::default(),
            exec_limits: ExecLimits::default(),
            max_repairs: 2,
            summary_rows: 20,
            charts: true,
            schema_ttl: Duration::from_secs(300),
            schema_token_budget: 6000,
            temperature: Some(0.0),
            mode: AskMode::Answer,
            plan_max_queries: 3,
            budget: Budget::default(),
            knowledge_items: 5,
            knowledge_token_budget: 1500,
        }
    }
}

/// One question, with who asks and in what context.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AskRequest {
    /// The question in plain language.
    pub question: String,
    /// Model to use instead of the provider's default.
    pub model: Option<String>,
    /// Who asks (for the audit trail).
    pub user: Option<String>,
    /// Scope parameters for the guard's row scopes.
    pub context: GuardContext,
    /// Earlier turns of the conversation.
    pub history: Vec<Turn>,
    /// Answering mode; `None` uses the assistant's default.
    pub mode: Option<AskMode>,
}

impl AskRequest {
    /// A request with just a question.
    pub fn new(question: impl Into<String>) -> Self {
        Self { question: question.into(), ..Default::default() }
    }
}

/// An earlier question of the same conversation, described compactly (no rows).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Turn {
    /// What was asked.
    pub question: String,
    /// The SQL that answered it.
    pub sql: Option<String>,
    /// The answer given.
    pub answer: String,
    /// Result shape, e.g. `12 rows; columns: country, total`.
    pub result_summary: Option<String>,
}

impl Turn {
    /// Describes an answered question compactly for the next question's prompt (no rows).
    pub fn from_answer(question: impl Into<String>, answer: &Answer) -> Self {
        Self {
            question: question.into(),
            sql: answer.sql.clone(),
            answer: answer.answer.clone(),
            result_summary: Some(format!("{} rows; columns: {}", answer.row_count, answer.columns.join(", "))),
        }
    }
}

/// A conversation: follow-up questions ("and by country?") carry the earlier turns.
///
/// ```no_run
/// # async fn demo(assistant: aigis_core::Assistant) -> aigis_core::Result<()> {
/// let mut conversation = aigis_core::engine::Conversation::default();
/// conversation.ask(&assistant, "Revenue per store?").await?;
/// let follow_up = conversation.ask(&assistant, "and per country?").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// Earlier turns, oldest first.
    pub turns: Vec<Turn>,
    /// Turns kept in prompts at most.
    pub max_turns: Option<usize>,
}

impl Conversation {
    /// A request for `question` carrying the recent turns.
    pub fn request(&self, question: impl Into<String>) -> AskRequest {
        let keep = self.max_turns.unwrap_or(6);
        let start = self.turns.len().saturating_sub(keep);
        AskRequest { question: question.into(), history: self.turns[start..].to_vec(), ..Default::default() }
    }

    /// Records an answered question.
    pub fn record(&mut self, question: impl Into<String>, answer: &Answer) {
        self.turns.push(Turn::from_answer(question, answer));
    }

    /// Asks a question in this conversation and records the answer.
    pub async fn ask(&mut self, assistant: &Assistant, question: &str) -> Result<Answer> {
        let answer = Answer::collect(assistant.ask_with(self.request(question))).await?;
        self.record(question, &answer);
        Ok(answer)
    }
}

/// A complete answer, collected from the event stream.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Answer {
    /// The answer text.
    pub answer: String,
    /// The SQL that ran.
    pub sql: Option<String>,
    /// Result columns.
    pub columns: Vec<String>,
    /// Result rows.
    pub rows: Vec<Vec<serde_json::Value>>,
    /// Rows returned.
    pub row_count: u64,
    /// The chart, if one was built.
    pub chart: Option<serde_json::Value>,
    /// The model that answered.
    pub model: String,
    /// Tokens used.
    pub usage: Usage,
    /// Wall time, in milliseconds to the microsecond.
    pub elapsed_ms: f64,
    /// Every event, in order.
    pub events: Vec<Event>,
}

impl Answer {
    /// Collects an event stream; an `error` event becomes `Err`. When the guard rejected the
    /// last query, that is [`Error::Rejected`] with the guard's violations, so a caller of
    /// `ask` learns why as a caller of the guard does.
    pub async fn collect(mut stream: EventStream) -> Result<Answer> {
        let mut answer = Answer::default();
        let mut last_rejection = None;
        while let Some(event) = stream.next().await {
            let event = event?;
            match &event {
                Event::Guard { allowed, violations, .. } => {
                    last_rejection = (!allowed && !violations.is_empty()).then(|| violations.clone());
                }
                Event::Rows { columns, rows, .. } => {
                    answer.columns = columns.clone();
                    answer.rows = rows.clone();
                }
                Event::Chart { spec } => answer.chart = Some(spec.clone()),
                Event::Done { answer: text, sql, row_count, model, usage, elapsed_ms } => {
                    answer.answer = text.clone();
                    answer.sql = sql.clone();
                    answer.row_count = *row_count;
                    answer.model = model.clone();
                    answer.usage = *usage;
                    answer.elapsed_ms = *elapsed_ms;
                }
                Event::Error { code, message } => {
                    return Err(match last_rejection {
                        Some(violations) if code == "rejected" => Error::Rejected { violations },
                        _ => Error::Answer { code: code.clone(), message: message.clone() },
                    });
                }
                _ => {}
            }
            answer.events.push(event);
        }
        Ok(answer)
    }
}

struct CachedSchema {
    loaded: Instant,
    schema: Arc<Schema>,
    // Indexed once per schema load: rendering a question's prompt from it is cheap.
    prepared: Arc<PreparedSchema>,
}

struct Inner {
    provider: Arc<dyn LlmProvider>,
    connection: Arc<dyn Connection>,
    guard: Arc<Guard>,
    config: AssistantConfig,
    audit: Vec<Arc<dyn AuditSink>>,
    tools: Vec<Arc<dyn Tool>>,
    retriever: Option<Arc<dyn Retriever>>,
    dictionary: Option<Dictionary>,
    schema: Mutex<Option<CachedSchema>>,
}

/// A governed data assistant over one database and one model.
///
/// ```no_run
/// # async fn demo() -> aigis_core::Result<()> {
/// use aigis_core::{Assistant, connect, ProviderConfig};
/// let db = connect("sqlite://demo.db").await?;
/// let llm = ProviderConfig::from_env()?.build()?;
/// let assistant = Assistant::builder(llm, db).build();
/// let answer = assistant.answer("How many customers per store?").await?;
/// println!("{}", answer.answer);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Assistant {
    inner: Arc<Inner>,
}

/// Builds an [`Assistant`].
pub struct AssistantBuilder {
    provider: Arc<dyn LlmProvider>,
    connection: Arc<dyn Connection>,
    config: AssistantConfig,
    audit: Vec<Arc<dyn AuditSink>>,
    tools: Vec<Arc<dyn Tool>>,
    retriever: Option<Arc<dyn Retriever>>,
    dictionary: Option<Dictionary>,
}

impl AssistantBuilder {
    /// Retrieves golden queries, documents and dictionary entries for each question.
    pub fn retriever(mut self, retriever: Arc<dyn Retriever>) -> Self {
        self.retriever = Some(retriever);
        self
    }
    /// Merges a data dictionary onto the live schema; its `pii: true` columns join the
    /// guard's PII policy.
    pub fn dictionary(mut self, dictionary: Dictionary) -> Self {
        self.dictionary = Some(dictionary);
        self
    }
    /// Sets the default answering mode.
    pub fn mode(mut self, mode: AskMode) -> Self {
        self.config.mode = mode;
        self
    }
    /// Sets the per-request budgets.
    pub fn budget(mut self, budget: Budget) -> Self {
        self.config.budget = budget;
        self
    }
    /// Registers a tool for agent mode (under the same budgets as the built-ins).
    pub fn tool(mut self, tool: Arc<dyn Tool>) -> Self {
        self.tools.push(tool);
        self
    }
    /// Replaces the whole configuration.
    pub fn config(mut self, config: AssistantConfig) -> Self {
        self.config = config;
        self
    }
    /// Sets the guard policy.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.config.policy = policy;
        self
    }
    /// Sets the per-query limits.
    pub fn exec_limits(mut self, limits: ExecLimits) -> Self {
        self.config.exec_limits = limits;
        self
    }
    /// Sets how many repairs the model gets.
    pub fn max_repairs(mut self, n: u32) -> Self {
        self.config.max_repairs = n;
        self
    }
    /// Adds an audit sink.
    pub fn audit_sink(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.audit.push(sink);
        self
    }
    /// Builds the assistant.
    pub fn build(self) -> Assistant {
        let mut policy = self.config.policy.clone();
        policy.dialect = self.connection.dialect();
        if let Some(dictionary) = &self.dictionary {
            policy = policy.with_pii_columns(dictionary.pii_columns().into_iter().map(|c| (c.table, c.column)));
        }
        Assistant {
            inner: Arc::new(Inner {
                provider: self.provider,
                guard: Arc::new(Guard::new(policy)),
                connection: self.connection,
                config: self.config,
                audit: self.audit,
                tools: self.tools,
                retriever: self.retriever,
                dictionary: self.dictionary,
                schema: Mutex::new(None),
            }),
        }
    }
}

impl Assistant {
    /// Starts building an assistant over this model and database.
    pub fn builder(provider: Arc<dyn LlmProvider>, connection: Arc<dyn Connection>) -> AssistantBuilder {
        AssistantBuilder { provider, connection, config: AssistantConfig::default(), audit: Vec::new(), tools: Vec::new(), retriever: None, dictionary: None }
    }

    /// The database.
    pub fn connection(&self) -> &Arc<dyn Connection> {
        &self.inner.connection
    }

    /// The guard in force.
    pub fn guard(&self) -> &Arc<Guard> {
        &self.inner.guard
    }

    /// The configuration.
    pub fn config(&self) -> &AssistantConfig {
        &self.inner.config
    }

    /// Answers a question as a stream of events.
    pub fn ask(&self, question: impl Into<String>) -> EventStream {
        self.ask_with(AskRequest::new(question))
    }

    /// Answers a request as a stream of events.
    pub fn ask_with(&self, request: AskRequest) -> EventStream {
        run::event_stream(self.clone(), request)
    }

    /// Answers a question and collects the whole answer.
    pub async fn answer(&self, question: impl Into<String>) -> Result<Answer> {
        Answer::collect(self.ask(question)).await
    }

    /// The schema, from the cache while it is fresh.
    pub async fn schema(&self) -> Result<Arc<Schema>> {
        Ok(self.cached_schema().await?.0)
    }

    /// The schema and its prompt index, introspected (and merged with the data dictionary)
    /// when the cache is empty or older than `schema_ttl`.
    pub(crate) async fn cached_schema(&self) -> Result<(Arc<Schema>, Arc<PreparedSchema>)> {
        let mut cached = self.inner.schema.lock().await;
        if let Some(c) = cached.as_ref()
            && c.loaded.elapsed() < self.inner.config.schema_ttl
        {
            return Ok((c.schema.clone(), c.prepared.clone()));
        }
        let mut schema = self.inner.connection.introspect(&Default::default()).await?;
        if let Some(dictionary) = &self.inner.dictionary {
            for warning in dictionary.apply(&mut schema) {
                tracing::warn!(?warning, "data dictionary entry does not match the live schema");
            }
        }
        let options = RenderOptions::default().budget_tokens(self.inner.config.schema_token_budget);
        let prepared = Arc::new(SchemaRenderer::new(options).prepare(&schema));
        let schema = Arc::new(schema);
        *cached = Some(CachedSchema { loaded: Instant::now(), schema: schema.clone(), prepared: prepared.clone() });
        Ok((schema, prepared))
    }

    /// Forgets the cached schema so the next question introspects again.
    pub async fn refresh_schema(&self) {
        *self.inner.schema.lock().await = None;
    }
}
