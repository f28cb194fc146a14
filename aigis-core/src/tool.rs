//! Tools the model (or an application) can call: the [`Tool`] trait and the built-ins
//! (`ask_database`, `run_sql`, `describe_schema`, `make_chart`) in [`builtin`].

pub mod builtin;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::connection::QueryResult;
use crate::engine::{Assistant, ExecutedQuery};
use crate::event::Event;
use crate::guard::GuardContext;
use crate::provider::ToolSpec;

/// What a tool sees when called.
#[derive(Clone)]
pub struct ToolContext {
    /// The request this call belongs to.
    pub request_id: String,
    /// The assistant (its database, guard, model and limits).
    pub assistant: Assistant,
    /// Scope parameters of the caller, applied by the guard to every query.
    pub guard_context: GuardContext,
    /// Model to use for nested calls.
    pub model: Option<String>,
    /// Queries run so far in this request (shared by the tools of one request).
    pub results: Arc<Mutex<Vec<ExecutedQuery>>>,
}

impl ToolContext {
    /// A context for calling tools outside a request (e.g. from an application).
    pub fn new(assistant: Assistant) -> Self {
        Self {
            request_id: uuid::Uuid::new_v4().to_string(),
            assistant,
            guard_context: GuardContext::default(),
            model: None,
            results: Arc::default(),
        }
    }

    /// Remembers a query's result for later tools (e.g. `make_chart`).
    pub fn record_result(&self, query: ExecutedQuery) {
        if let Ok(mut results) = self.results.lock() {
            results.push(query);
        }
    }

    /// The most recent result, if any.
    pub fn last_result(&self) -> Option<QueryResult> {
        self.results.lock().ok().and_then(|r| r.last().map(|q| q.result.clone()))
    }
}

/// What a tool returns.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ToolOutput {
    /// The result, as JSON, handed back to the model.
    pub content: serde_json::Value,
    /// Events to emit on the answer's stream (sql, guard, rows, chart...).
    #[serde(skip)]
    pub events: Vec<Event>,
}

/// A capability the model may call by name with JSON arguments.
///
/// Object-safe: hold it as `Arc<dyn Tool>`.
#[async_trait]
pub trait Tool: Send + Sync {
    /// Name the model uses.
    fn name(&self) -> &str;
    /// What it does, for the model.
    fn description(&self) -> &str;
    /// JSON Schema of the arguments (from `schemars::schema_for!`).
    fn parameters(&self) -> serde_json::Value;
    /// Runs the tool.
    async fn call(&self, args: serde_json::Value, ctx: &ToolContext) -> Result<ToolOutput>;

    /// The description handed to the model.
    fn spec(&self) -> ToolSpec {
        ToolSpec { name: self.name().to_string(), description: self.description().to_string(), parameters: self.parameters() }
    }
}
