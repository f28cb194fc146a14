//! The states of answering one question, and what a repairable failure carries.
//!
//! Transitions live in one place, [`super::run::Run::step`]: each state does its work and
//! names the next state. Every transition is one audit record.
//!
//! ```text
//! LoadSchema → Retrieve → Generate ─→ Guard ─→ Execute ─→ Summarize → Chart → Done
//!                  │          ↑   (no SQL)│(rejected)│(query error)
//!                  │          └── Repair ←┴──────────┘   (up to max_repairs, then Failed)
//!                  └→ Plan → (Guard → Execute)×K → Summarize        (plan mode)
//!                  └→ Agent (tool calls) → Done                      (agent mode)
//! ```

use crate::event::Stage;
use crate::guard::GuardedSql;

/// Where a run is.
#[derive(Debug)]
pub(crate) enum State {
    /// Load (or reuse) the schema.
    LoadSchema,
    /// Retrieve knowledge for the prompt.
    Retrieve,
    /// Ask the model for SQL.
    Generate { attempt: u32 },
    /// Ask the model for a multi-query plan.
    Plan,
    /// Let the model call tools.
    Agent,
    /// Check proposed SQL.
    Guard { sql: String, attempt: u32 },
    /// Run guarded SQL.
    Execute { guarded: GuardedSql, attempt: u32 },
    /// Ask the model to fix a problem.
    Repair { problem: Failure, attempt: u32 },
    /// Stream the answer.
    Summarize,
    /// Build the chart.
    Chart,
    /// Emit `done`.
    Done,
}

impl State {
    /// The stage reported for this state in events and the audit trail.
    pub(crate) fn stage(&self) -> Stage {
        match self {
            State::LoadSchema => Stage::Schema,
            State::Retrieve => Stage::Retrieve,
            State::Generate { .. } => Stage::Generate,
            State::Plan => Stage::Plan,
            State::Agent => Stage::Tool,
            State::Guard { .. } => Stage::Guard,
            State::Execute { .. } => Stage::Execute,
            State::Repair { .. } => Stage::Repair,
            State::Summarize => Stage::Summarize,
            State::Chart => Stage::Chart,
            State::Done => Stage::Done,
        }
    }
}

/// A problem the model may repair: a guard rejection, a query error, or no SQL at all.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub(crate) code: String,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(code: &str, message: &str) -> Self {
        Self { code: code.to_string(), message: message.to_string() }
    }
}
