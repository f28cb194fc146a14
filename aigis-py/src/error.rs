//! The one mapping from [`aigis_core::Error`] to Python exceptions.
//!
//! Every exception derives from `aigis.AigisError` and carries the core error's stable `.code`
//! and its `.message`; the class is chosen from the code, so an error raised directly and the
//! same error arriving as an `error` event (through `Assistant.ask`) raise the same class.

use aigis_core::Error;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyType;

create_exception!(_aigis, AigisError, PyException, "Base class of every Aigis error; `.code` is the stable error code.");
create_exception!(_aigis, ConfigError, AigisError, "Missing or invalid configuration (URL, policy, provider options).");
create_exception!(_aigis, InvalidInputError, AigisError, "Something passed in was malformed.");
create_exception!(_aigis, GuardRejected, AigisError, "The SQL guard rejected the query; `.violations` says why.");
create_exception!(_aigis, DatabaseError, AigisError, "A database operation failed.");
create_exception!(_aigis, LlmError, AigisError, "An LLM provider call failed; `.retry_after` is set when the provider said.");
create_exception!(_aigis, AigisTimeout, AigisError, "A database statement, pool or LLM call timed out.");
create_exception!(_aigis, BudgetExhausted, AigisError, "A per-request budget (LLM calls, tokens, wall time, rows) ran out.");
create_exception!(_aigis, AigisCancelled, AigisError, "The request was cancelled.");
create_exception!(_aigis, NotFoundError, AigisError, "Something asked for does not exist.");
create_exception!(_aigis, UnsupportedError, AigisError, "A feature is not compiled in or not supported.");
create_exception!(_aigis, InternalError, AigisError, "A bug inside Aigis.");

/// The exception class for a core error code.
fn class_for_code<'py>(py: Python<'py>, code: &str) -> Bound<'py, PyType> {
    match code {
        "config" => py.get_type::<ConfigError>(),
        "invalid_input" | "json" => py.get_type::<InvalidInputError>(),
        "rejected" => py.get_type::<GuardRejected>(),
        "db_timeout" | "db_pool_timeout" | "llm_timeout" => py.get_type::<AigisTimeout>(),
        "budget_exhausted" => py.get_type::<BudgetExhausted>(),
        "cancelled" => py.get_type::<AigisCancelled>(),
        "not_found" => py.get_type::<NotFoundError>(),
        "unsupported" => py.get_type::<UnsupportedError>(),
        "internal" => py.get_type::<InternalError>(),
        c if c.starts_with("db_") => py.get_type::<DatabaseError>(),
        c if c.starts_with("llm_") => py.get_type::<LlmError>(),
        _ => py.get_type::<AigisError>(),
    }
}

/// Converts a core error into the matching Python exception, with `.code`, `.message` and,
/// when the core error has them, `.violations` and `.retry_after`.
pub fn to_py_err(err: Error) -> PyErr {
    Python::with_gil(|py| {
        let code = err.code().to_string();
        let message = err.user_message();
        let built = (|| -> PyResult<PyErr> {
            let exc = class_for_code(py, &code).call1((message.clone(),))?;
            exc.setattr("code", &code)?;
            exc.setattr("message", &message)?;
            let violations = match &err {
                Error::Rejected { violations } => pythonize::pythonize(py, violations)?,
                _ => pyo3::types::PyList::empty(py).into_any(),
            };
            exc.setattr("violations", violations)?;
            let retry_after = match &err {
                Error::Llm { retry_after, .. } => *retry_after,
                _ => None,
            };
            exc.setattr("retry_after", retry_after)?;
            Ok(PyErr::from_value(exc))
        })();
        built.unwrap_or_else(|e| e)
    })
}

/// Shorthand: a configuration error raised from the bindings' own argument handling.
pub fn config_err(message: impl Into<String>) -> PyErr {
    to_py_err(Error::Config(message.into()))
}

/// Registers the exception classes on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("AigisError", py.get_type::<AigisError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("InvalidInputError", py.get_type::<InvalidInputError>())?;
    m.add("GuardRejected", py.get_type::<GuardRejected>())?;
    m.add("DatabaseError", py.get_type::<DatabaseError>())?;
    m.add("LlmError", py.get_type::<LlmError>())?;
    m.add("AigisTimeout", py.get_type::<AigisTimeout>())?;
    m.add("BudgetExhausted", py.get_type::<BudgetExhausted>())?;
    m.add("AigisCancelled", py.get_type::<AigisCancelled>())?;
    m.add("NotFoundError", py.get_type::<NotFoundError>())?;
    m.add("UnsupportedError", py.get_type::<UnsupportedError>())?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    Ok(())
}
