//! Shared helpers for the Aigis benchmarks.

pub mod guard_corpus;
