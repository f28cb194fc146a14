//! The one mapping from [`aigis_core::Error`] to JS errors.

use napi::{Env, JsError};

/// A JS `Error` whose `code` is the core's stable [`aigis_core::Error::code`] (e.g. `config`,
/// `db_connect`, `llm_auth`, `rejected`) and whose `message` is safe to show (no secrets).
///
/// It is built on the JS thread and handed back as a [`napi::Error`] that refers to it, so the
/// same object is thrown from sync calls and rejects promises from async ones.
pub(crate) fn js_error(env: &Env, err: aigis_core::Error) -> napi::Error {
    let error = napi::Error::new(err.code().to_string(), err.user_message());
    napi::Error::from(JsError::from(error).into_unknown(*env))
}
