//! Python bindings of Aigis: the `aigis._aigis` extension module behind the `aigis` package.
//!
//! No logic lives here: newtypes over the core types, one error mapping ([`error::to_py_err`]),
//! and event streams exposed as sync and async iterators of dicts in the core event schema.
//! Blocking calls release the GIL and run on the shared tokio runtime of pyo3-async-runtimes.

mod assistant;
mod error;
mod guard;
mod stream;

use pyo3::prelude::*;

/// mimalloc instead of the system allocator: parsing and guarding SQL allocate many small,
/// short-lived AST nodes, and mimalloc makes a guard check about a fifth faster
/// (`scripts/bench-guard.sh` measures both). The `aigis` server keeps the system allocator:
/// under 1,000 concurrent streams its p99 was three times worse with mimalloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The tokio runtime every blocking and async call runs on.
fn runtime() -> &'static tokio::runtime::Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

/// The JSON Schema of the events every surface emits, as a dict.
#[pyfunction]
fn event_schema(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    Ok(pythonize::pythonize(py, &aigis_core::event_schema())?)
}

/// Creates the demo shop database (SQLite) at `path` unless it exists, and returns its path;
/// without `path`, at the same place `aigis demo` uses.
#[pyfunction]
#[pyo3(signature = (path=None))]
fn demo_database(py: Python<'_>, path: Option<std::path::PathBuf>) -> PyResult<String> {
    let path = path.unwrap_or_else(aigis_core::demo::default_demo_path);
    let created = py.allow_threads(move || runtime().block_on(aigis_core::demo::ensure_demo_database(&path)));
    Ok(created.map_err(error::to_py_err)?.to_string_lossy().into_owned())
}

/// The `aigis._aigis` module.
#[pymodule]
fn _aigis(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(guard::guard, m)?)?;
    m.add_function(wrap_pyfunction!(event_schema, m)?)?;
    m.add_function(wrap_pyfunction!(demo_database, m)?)?;
    m.add_class::<guard::PyVerdict>()?;
    m.add_class::<guard::PyViolation>()?;
    m.add_class::<guard::PyNote>()?;
    m.add_class::<assistant::PyAssistant>()?;
    m.add_class::<assistant::PyAnswer>()?;
    m.add_class::<stream::PyEventStream>()?;
    m.add_class::<stream::PyAsyncEventStream>()?;
    error::register(m)?;
    Ok(())
}
