//! Shared helpers for the Aigis benchmarks.
