//! The one mapping from [`aigis_core::Error`] to JS errors.

use napi::bindgen_prelude::JsObjectValue;
use napi::{Env, JsError, JsValue, Unknown};

/// A JS `Error` whose `code` is the core's stable [`aigis_core::Error::code`] (e.g. `config`,
/// `db_connect`, `llm_auth`, `rejected`) and whose `message` is safe to show (no secrets). A
/// guard rejection also carries its `violations`, as Python's `GuardRejected` does.
///
/// It is built on the JS thread and handed back as a [`napi::Error`] that refers to it, so the
/// same object is thrown from sync calls and rejects promises from async ones.
pub(crate) fn js_error(env: &Env, err: aigis_core::Error) -> napi::Error {
    let error = napi::Error::new(err.code().to_string(), err.user_message());
    let value = JsError::from(error).into_unknown(*env);
    if let aigis_core::Error::Rejected { violations } = &err
        && let Err(e) = attach(env, value, "violations", violations)
    {
        return e;
    }
    napi::Error::from(value)
}

/// Sets `name` on the error object to the JS value of `data`.
fn attach(env: &Env, error: Unknown<'_>, name: &str, data: &impl serde::Serialize) -> napi::Result<()> {
    let mut object = error.coerce_to_object()?;
    object.set_named_property(name, env.to_js_value(data)?)
}
