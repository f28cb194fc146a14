//! # Aigis core
//!
//! A governed data assistant you embed: a person asks a question in plain language, an LLM
//! writes SQL against *your* database, the [`Guard`] checks and rewrites that SQL in code, a
//! [`Connection`] runs it read-only, and the [`Assistant`] streams the answer as one typed
//! [`Event`] stream, recording every step to an [`AuditSink`].
//!
//! ```no_run
//! # async fn demo() -> aigis_core::Result<()> {
//! use futures::StreamExt;
//! let db = aigis_core::connect("sqlite://demo.db").await?;
//! let llm = aigis_core::ProviderConfig::from_env()?.build()?;
//! let assistant = aigis_core::Assistant::builder(llm, db).build();
//! let mut events = assistant.ask("Which store sold the most last month?");
//! while let Some(event) = events.next().await {
//!     println!("{}", serde_json::to_string(&event?)?);
//! }
//! # Ok(()) }
//! ```

pub mod audit;
pub mod chart;
pub mod connection;
#[cfg(feature = "sqlite")]
pub mod demo;
pub mod dialect;
pub mod dictionary;
pub mod engine;
pub mod error;
pub mod event;
pub mod guard;
pub mod knowledge;
pub mod provider;
pub mod schema_prompt;
pub mod tool;
#[cfg(feature = "testing")]
pub mod testing;

pub use audit::{AuditEvent, AuditSink, AuditStatus};
pub use connection::{Connection, ExecLimits, IntrospectOptions, QueryResult, Schema, connect};
pub use dialect::Dialect;
pub use dictionary::{Dictionary, DictionaryWarning, PiiColumn};
pub use engine::{Answer, AskMode, AskRequest, Assistant, AssistantBuilder, AssistantConfig, Budget, Conversation, ExecutedQuery, Turn};
pub use error::{DbErrorKind, Error, LlmErrorKind, Result};
pub use event::{Event, EventStream, Stage, Usage, event_schema};
pub use guard::{Guard, GuardContext, GuardedSql, Policy, Verdict, Violation};
pub use knowledge::{Bm25Retriever, KnowledgeBase, KnowledgeHit, KnowledgeItem, Retriever, render_knowledge};
pub use provider::{
    ChatChunk, ChatMessage, ChatRequest, ChatResponse, ChatStream, LlmProvider, ProviderConfig, ProviderKind,
};
pub use schema_prompt::{PreparedSchema, RenderOptions, RenderedSchema, SchemaRenderer};
pub use tool::{Tool, ToolContext, ToolOutput};
