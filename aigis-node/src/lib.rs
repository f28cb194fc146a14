//! Node.js bindings of Aigis (napi-rs): `guard()`, `Assistant`, `eventSchema()`.
//!
//! No logic lives here: thin wrappers over the core types, one error mapping
//! ([`error::js_error`]) that gives every JS error the core's stable `code`, and events handed
//! to JS as plain objects that are exactly the core [`aigis_core::Event`] JSON. The package
//! entry (`index.js`) turns the native stream handle into an `AsyncIterable`.

mod assistant;
mod error;
mod guard;
mod stream;

use napi_derive::napi;

/// mimalloc instead of the system allocator: parsing and guarding SQL allocate many small,
/// short-lived AST nodes, and mimalloc makes a guard check about a fifth faster
/// (`scripts/bench-guard.sh` measures both). The `aigis` server keeps the system allocator:
/// under 1,000 concurrent streams its p99 was three times worse with mimalloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The JSON Schema of the events every surface emits.
#[napi(ts_return_type = "Record<string, unknown>")]
pub fn event_schema() -> serde_json::Value {
    aigis_core::event_schema()
}
