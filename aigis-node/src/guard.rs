//! `guard(sql, options)`: the core [`Guard`] over a policy given as an object or as JSON or TOML text.

use aigis_core::{Dialect, Error, Guard, GuardContext, Policy};
use napi::Env;
use napi_derive::napi;

use crate::error::js_error;

/// Options of `guard()`.
#[napi(object)]
pub struct GuardOptions {
    /// `postgres`, `mysql`, `sqlite` or `generic`; overrides the policy's dialect (default `sqlite`
    /// when no policy is given).
    pub dialect: Option<String>,
    /// Maximum rows (LIMIT added or clamped); overrides the policy's `max_rows`.
    pub max_rows: Option<i64>,
    /// The guard policy: an object with the CLI's and Python's (snake_case) keys, or its JSON or TOML text.
    #[napi(ts_type = "Policy | string")]
    pub policy: Option<serde_json::Value>,
    /// Named parameters bound into the policy's row scopes (e.g. `{ store_ids: [1, 2] }`).
    #[napi(ts_type = "Record<string, unknown>")]
    pub params: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Checks one SQL statement against a policy and returns the verdict.
#[napi(ts_return_type = "Verdict")]
pub fn guard(env: &Env, sql: String, options: Option<GuardOptions>) -> napi::Result<serde_json::Value> {
    let run = || -> aigis_core::Result<serde_json::Value> {
        let options = options.unwrap_or(GuardOptions { dialect: None, max_rows: None, policy: None, params: None });
        // Without a policy the dialect defaults to SQLite, as in Python; a policy keeps its own.
        let dialect = options.dialect.as_deref().or(if options.policy.is_some() { None } else { Some("sqlite") });
        let policy = resolve_policy(options.policy, dialect, options.max_rows)?;
        let mut context = GuardContext::default();
        context.params.extend(options.params.unwrap_or_default());
        Ok(serde_json::to_value(Guard::new(policy).check(&sql, &context))?)
    };
    run().map_err(|e| js_error(env, e))
}

/// The policy from its JS form: an object with the core's (snake_case) keys, or JSON or TOML text.
pub(crate) fn policy_from_js(policy: serde_json::Value) -> aigis_core::Result<Policy> {
    match policy {
        serde_json::Value::Null => Ok(Policy::default()),
        serde_json::Value::String(text) if text.trim_start().starts_with('{') => Policy::from_json_str(&text),
        serde_json::Value::String(text) => Policy::from_toml_str(&text),
        value => serde_json::from_value(value).map_err(|e| Error::Config(format!("invalid guard policy: {e}"))),
    }
}

/// The policy from its JS form, with `dialect` and `maxRows` overriding it when given.
fn resolve_policy(policy: Option<serde_json::Value>, dialect: Option<&str>, max_rows: Option<i64>) -> aigis_core::Result<Policy> {
    let mut resolved = policy_from_js(policy.unwrap_or_default())?;
    if let Some(d) = dialect {
        resolved.dialect = d.parse::<Dialect>()?;
    }
    if let Some(n) = max_rows {
        resolved.max_rows = positive_rows(n)?;
    }
    Ok(resolved)
}

/// `maxRows` from JS, which must be a positive integer.
pub(crate) fn positive_rows(n: i64) -> aigis_core::Result<u64> {
    u64::try_from(n)
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| Error::InvalidInput(format!("maxRows must be a positive integer, got {n}")))
}
