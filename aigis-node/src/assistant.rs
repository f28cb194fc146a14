//! `new Assistant(options)`: the core [`aigis_core::Assistant`] over a database URL and a model,
//! configured one-to-one from [`ProviderConfig`] and [`AssistantConfig`].

use std::sync::Arc;
use std::time::Duration;

use aigis_core::{Answer, AskMode, AskRequest, AssistantConfig, Error, LlmProvider, ProviderConfig, ProviderKind};
use futures::StreamExt;
use napi::Env;
use napi::bindgen_prelude::PromiseRaw;
use napi_derive::napi;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use crate::error::js_error;
use crate::guard::{policy_from_js, positive_rows};
use crate::stream::EventStreamHandle;

/// Options of `new Assistant()`; unset model settings come from the environment
/// (`AIGIS_LLM_BASE_URL`, `AIGIS_LLM_MODEL`, `AIGIS_LLM_API_KEY`, `OPENAI_*`).
#[napi(object)]
pub struct AssistantOptions {
    /// Database URL as sqlx reads it (`sqlite:///abs/path.db`, `postgres://…`, `mysql://…`).
    pub db: String,
    /// Base URL of the model API (e.g. `http://127.0.0.1:8089/v1`).
    pub base_url: Option<String>,
    /// Model id.
    pub model: Option<String>,
    /// API key (never logged, never in errors).
    pub api_key: Option<String>,
    /// `openai` (any OpenAI-compatible API, the default), `anthropic` or `gemini`.
    pub provider: Option<String>,
    /// Models tried in order when the first fails with a retryable error.
    pub fallback_models: Option<Vec<String>>,
    /// Maximum rows a query may return; overrides the policy's `max_rows`.
    pub max_rows: Option<i64>,
    /// The guard policy: an object with the CLI's and Python's (snake_case) keys, or its JSON or TOML text.
    #[napi(ts_type = "Policy | string")]
    pub policy: Option<serde_json::Value>,
    /// Times the model may repair a rejected or failing query (default 2).
    pub max_repairs: Option<u32>,
    /// Whether to build a chart (default true).
    pub charts: Option<bool>,
    /// Statement timeout in seconds.
    pub timeout: Option<f64>,
    /// Default answering mode.
    #[napi(ts_type = "'answer' | 'plan' | 'agent' | 'sql_only'")]
    pub mode: Option<String>,
}

/// Per-question options of `ask()` and `stream()`.
#[napi(object)]
pub struct AskOptions {
    /// Model to use instead of the default.
    pub model: Option<String>,
    /// Who asks (for the audit trail).
    pub user: Option<String>,
    /// Named parameters bound into the policy's row scopes (e.g. `{ store_ids: [1, 2] }`).
    #[napi(ts_type = "Record<string, unknown>")]
    pub params: Option<serde_json::Map<String, serde_json::Value>>,
    /// Answering mode for this question.
    #[napi(ts_type = "'answer' | 'plan' | 'agent' | 'sql_only'")]
    pub mode: Option<String>,
}

/// Reads a JS string into a core enum by its serde name (`openai`, `sql_only`, ...).
fn from_js<T: DeserializeOwned>(what: &str, value: String) -> aigis_core::Result<T> {
    serde_json::from_value(serde_json::Value::String(value.clone()))
        .map_err(|_| Error::Config(format!("invalid {what} `{value}`")))
}

fn request(question: String, options: Option<AskOptions>) -> aigis_core::Result<AskRequest> {
    let mut request = AskRequest::new(question);
    if let Some(o) = options {
        request.model = o.model;
        request.user = o.user;
        request.context.params.extend(o.params.unwrap_or_default());
        request.mode = o.mode.map(|m| from_js::<AskMode>("mode", m)).transpose()?;
    }
    Ok(request)
}

/// What the assistant is built from; the database opens on the first question, so the
/// constructor never blocks the event loop.
struct Lazy {
    db: String,
    provider: Arc<dyn LlmProvider>,
    config: AssistantConfig,
    assistant: OnceCell<aigis_core::Assistant>,
}

impl Lazy {
    async fn get(&self) -> aigis_core::Result<aigis_core::Assistant> {
        let assistant = self
            .assistant
            .get_or_try_init(|| async {
                let db = aigis_core::connect(&self.db).await?;
                Ok::<_, Error>(aigis_core::Assistant::builder(self.provider.clone(), db).config(self.config.clone()).build())
            })
            .await?;
        Ok(assistant.clone())
    }
}

fn build(options: AssistantOptions) -> aigis_core::Result<Lazy> {
    let env = ProviderConfig::from_env()?;
    let provider = ProviderConfig {
        kind: options.provider.map(|p| from_js::<ProviderKind>("provider", p)).transpose()?.unwrap_or(env.kind),
        base_url: options.base_url.or(env.base_url),
        model: options.model.or(env.model),
        api_key: options.api_key.or(env.api_key),
        fallback_models: options.fallback_models.unwrap_or(env.fallback_models),
    };
    let mut config = AssistantConfig::default();
    if let Some(p) = options.policy {
        config.policy = policy_from_js(p)?;
    }
    if let Some(n) = options.max_rows {
        let n = positive_rows(n)?;
        config.policy.max_rows = n;
        config.exec_limits.max_rows = usize::try_from(n).unwrap_or(usize::MAX);
    }
    if let Some(n) = options.max_repairs {
        config.max_repairs = n;
    }
    if let Some(c) = options.charts {
        config.charts = c;
    }
    if let Some(secs) = options.timeout {
        config.exec_limits.timeout =
            Duration::try_from_secs_f64(secs).map_err(|_| Error::Config(format!("invalid timeout {secs} s")))?;
    }
    if let Some(m) = options.mode {
        config.mode = from_js("mode", m)?;
    }
    Ok(Lazy { db: options.db, provider: provider.build()?, config, assistant: OnceCell::new() })
}

/// A governed data assistant over one database and one model.
#[napi]
pub struct Assistant {
    inner: Arc<Lazy>,
}

#[napi]
impl Assistant {
    /// Checks the options and builds the model client; the database opens on the first question.
    #[napi(constructor)]
    pub fn new(env: &Env, options: AssistantOptions) -> napi::Result<Self> {
        let inner = build(options).map_err(|e| js_error(env, e))?;
        Ok(Self { inner: Arc::new(inner) })
    }

    /// Answers a question; rejects with the `error` event's code when it cannot be answered.
    #[napi(ts_return_type = "Promise<Answer>")]
    pub fn ask<'env>(
        &self,
        env: &'env Env,
        question: String,
        options: Option<AskOptions>,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let request = request(question, options).map_err(|e| js_error(env, e))?;
        let inner = self.inner.clone();
        let answer = async move {
            let answered = async { Answer::collect(inner.get().await?.ask_with(request)).await }.await;
            Ok::<_, napi::Error>(answered)
        };
        env.spawn_future_with_callback(answer, |env, answered| {
            answered.and_then(|a| Ok(serde_json::to_value(a)?)).map_err(|e| js_error(env, e))
        })
    }

    /// The database schema the model is shown (tables, columns, keys, sample rows), as
    /// Python's `schema()` gives it; opens the database if no question has yet.
    #[napi(ts_return_type = "Promise<Record<string, unknown>>")]
    pub fn schema<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let inner = self.inner.clone();
        let schema = async move {
            let loaded = async { inner.get().await?.schema().await }.await;
            Ok::<_, napi::Error>(loaded)
        };
        env.spawn_future_with_callback(schema, |env, loaded| {
            loaded.and_then(|s| Ok(serde_json::to_value(s.as_ref())?)).map_err(|e| js_error(env, e))
        })
    }

    /// Starts answering a question; the package entry's `stream()` iterates it.
    #[napi]
    pub fn open_stream(&self, env: &Env, question: String, options: Option<AskOptions>) -> napi::Result<EventStreamHandle> {
        let request = request(question, options).map_err(|e| js_error(env, e))?;
        let inner = self.inner.clone();
        let events = futures::stream::once(async move {
            match inner.get().await {
                Ok(assistant) => assistant.ask_with(request),
                Err(err) => Box::pin(futures::stream::iter([Err(err)])) as aigis_core::EventStream,
            }
        })
        .flatten();
        Ok(EventStreamHandle::new(Box::pin(events)))
    }
}
