//! The one event schema every surface (Rust, HTTP SSE, CLI, Python, Node) emits.
//!
//! Serialised as `{"type": "<name>", ...fields}`; [`event_schema`] exports the JSON Schema.
//! A stream of answers always ends with exactly one terminal event: [`Event::Done`] or
//! [`Event::Error`].

use futures::stream::BoxStream;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::guard::Violation;
use crate::{Error, Result};

/// A stream of events, as returned by [`crate::Assistant::ask`].
pub type EventStream = BoxStream<'static, Result<Event>>;

/// Where in answering a question the assistant is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Loading (or reusing) the database schema.
    Schema,
    /// Retrieving knowledge (golden queries, documents, dictionary) for the prompt.
    Retrieve,
    /// Asking the model for SQL.
    Generate,
    /// Checking and rewriting the SQL.
    Guard,
    /// Running the SQL.
    Execute,
    /// Asking the model to fix a rejected or failing query.
    Repair,
    /// Writing the answer from the rows.
    Summarize,
    /// Building the chart.
    Chart,
    /// Planning several queries.
    Plan,
    /// Calling a tool.
    Tool,
    /// Finished.
    Done,
}

impl Stage {
    /// The snake_case name of the stage.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Schema => "schema",
            Stage::Retrieve => "retrieve",
            Stage::Generate => "generate",
            Stage::Guard => "guard",
            Stage::Execute => "execute",
            Stage::Repair => "repair",
            Stage::Summarize => "summarize",
            Stage::Chart => "chart",
            Stage::Plan => "plan",
            Stage::Tool => "tool",
            Stage::Done => "done",
        }
    }
}

/// Token usage, summed over every LLM call of one answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Usage {
    /// Tokens sent.
    pub prompt_tokens: u64,
    /// Tokens received.
    pub completion_tokens: u64,
}

impl Usage {
    /// Adds another call's usage to this one.
    pub fn add(&mut self, other: Usage) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
    }

    /// Total tokens.
    pub fn total(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}

/// One step of answering a question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// First event: who is answering, against what.
    Meta {
        /// Unique id of this request (also in the audit trail).
        request_id: String,
        /// The model asked for.
        model: String,
        /// The dialect of the connection.
        dialect: String,
    },
    /// Progress: the assistant entered a stage.
    Status {
        /// The stage.
        stage: Stage,
        /// A human-readable message.
        message: String,
    },
    /// The SQL the model proposed, before the guard.
    Sql {
        /// The SQL as extracted from the reply.
        sql: String,
        /// 1 for the first attempt, 2 for the first repair...
        attempt: u32,
    },
    /// The guard's verdict on the proposed SQL.
    Guard {
        /// Whether it may run.
        allowed: bool,
        /// The rewritten SQL that runs (empty when rejected).
        sql: String,
        /// Why it was rejected (empty when allowed).
        violations: Vec<Violation>,
    },
    /// The rows the query returned.
    Rows {
        /// Column names.
        columns: Vec<String>,
        /// Rows of JSON values, one value per column.
        rows: Vec<Vec<serde_json::Value>>,
        /// Number of rows returned.
        row_count: u64,
        /// Whether a row or byte cap cut the result.
        truncated: bool,
    },
    /// A piece of the streamed answer.
    Delta {
        /// Text to append.
        text: String,
    },
    /// A Vega-Lite v5 chart of the result.
    Chart {
        /// The Vega-Lite spec, data inlined.
        spec: serde_json::Value,
    },
    /// Terminal: the question could not be answered.
    Error {
        /// A stable code (see [`crate::Error::code`] and the guard's violation codes).
        code: String,
        /// A message safe to show to a user.
        message: String,
    },
    /// Terminal: the answer is complete.
    Done {
        /// The full answer text.
        answer: String,
        /// The SQL that ran (rewritten by the guard), if any.
        sql: Option<String>,
        /// Rows returned.
        row_count: u64,
        /// The model that answered.
        model: String,
        /// Tokens used.
        usage: Usage,
        /// Wall time of the whole request, in milliseconds to the microsecond (see
        /// [`elapsed_ms`]): whole milliseconds would hide up to 1 ms from anyone timing around it.
        elapsed_ms: f64,
    },
}

/// Milliseconds since `started`, rounded to the microsecond: the `elapsed_ms` of [`Event::Done`].
pub fn elapsed_ms(started: std::time::Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 1e6).round() / 1e3
}

impl Event {
    /// The `type` tag of this event.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Meta { .. } => "meta",
            Event::Status { .. } => "status",
            Event::Sql { .. } => "sql",
            Event::Guard { .. } => "guard",
            Event::Rows { .. } => "rows",
            Event::Delta { .. } => "delta",
            Event::Chart { .. } => "chart",
            Event::Error { .. } => "error",
            Event::Done { .. } => "done",
        }
    }

    /// Whether this event ends a stream.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Event::Done { .. } | Event::Error { .. })
    }

    /// The terminal event for an error.
    pub fn from_error(err: &Error) -> Self {
        Event::Error { code: err.code().to_string(), message: err.to_string() }
    }

    /// A status event.
    pub fn status(stage: Stage, message: impl Into<String>) -> Self {
        Event::Status { stage, message: message.into() }
    }
}

/// The JSON Schema of [`Event`], as published to every surface.
pub fn event_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Event)).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_with_type_tag() {
        let e = Event::Delta { text: "hi".into() };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v, serde_json::json!({"type": "delta", "text": "hi"}));
        let back: Event = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn schema_names_every_event_type() {
        let schema = event_schema().to_string();
        for t in ["meta", "status", "sql", "guard", "rows", "delta", "chart", "error", "done"] {
            assert!(schema.contains(&format!("\"{t}\"")), "schema lacks {t}");
        }
    }
}
