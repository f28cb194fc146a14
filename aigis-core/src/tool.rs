//! Tools the model (or an application) can call: the [`Tool`] trait.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::connection::Connection;
use crate::event::Event;
use crate::guard::{Guard, GuardContext};

/// What a tool sees when called.
#[derive(Clone)]
pub struct ToolContext {
    /// The request this call belongs to.
    pub request_id: String,
    /// The database of the request.
    pub connection: Arc<dyn Connection>,
    /// The guard every SQL must pass.
    pub guard: Arc<Guard>,
    /// Scope parameters of the caller.
    pub guard_context: GuardContext,
}

/// What a tool returns.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ToolOutput {
    /// The result, as JSON, handed back to the model.
    pub content: serde_json::Value,
    /// Events to emit on the answer's stream (rows, chart...).
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
}
