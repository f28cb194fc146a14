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

/// Creates the demo shop database (SQLite) at `path` unless it exists, and resolves to its path;
/// without `path`, at the same place `aigis demo` uses.
#[napi(ts_return_type = "Promise<string>")]
pub fn demo_database(env: &napi::Env, path: Option<String>) -> napi::Result<napi::bindgen_prelude::PromiseRaw<'_, String>> {
    let path = path.map_or_else(aigis_core::demo::default_demo_path, std::path::PathBuf::from);
    let created = async move { Ok::<_, napi::Error>(aigis_core::demo::ensure_demo_database(&path).await) };
    env.spawn_future_with_callback(created, |env, created| {
        created.map(|p| p.to_string_lossy().into_owned()).map_err(|e| error::js_error(env, e))
    })
}

/// The JSON Schema of the events every surface emits.
#[napi(ts_return_type = "Record<string, unknown>")]
pub fn event_schema() -> serde_json::Value {
    aigis_core::event_schema()
}
