//! `new Assistant(options)`: the core [`aigis_core::Assistant`] over a database URL and a model.

use std::sync::Arc;

use futures::StreamExt;
use aigis_core::{Answer, Error, LlmProvider, Policy, ProviderConfig, ProviderKind};
use napi::Env;
use napi::bindgen_prelude::PromiseRaw;
use napi_derive::napi;
use tokio::sync::OnceCell;

use crate::error::js_error;
use crate::guard::resolve_policy;
use crate::stream::EventStreamHandle;

/// Options of `new Assistant()`; the model settings default to `AIGIS_LLM_*` from the environment.
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
    /// Maximum rows a query may return; overrides the policy's `max_rows`.
    pub max_rows: Option<i64>,
    /// The guard policy, as the CLI and Python read it (snake_case keys), or its JSON text.
    #[napi(ts_type = "Policy | string")]
    pub policy: Option<serde_json::Value>,
}

/// What the assistant is built from; the database is opened on the first question, so the
/// constructor never blocks the event loop.
struct Lazy {
    db: String,
    provider: Arc<dyn LlmProvider>,
    policy: Policy,
    assistant: OnceCell<aigis_core::Assistant>,
}

impl Lazy {
    async fn get(&self) -> aigis_core::Result<aigis_core::Assistant> {
        let assistant = self
            .assistant
            .get_or_try_init(|| async {
                let db = aigis_core::connect(&self.db).await?;
                Ok::<_, Error>(aigis_core::Assistant::builder(self.provider.clone(), db).policy(self.policy.clone()).build())
            })
            .await?;
        Ok(assistant.clone())
    }
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
        let build = || -> aigis_core::Result<Self> {
            let mut config = ProviderConfig::from_env()?;
            if let Some(kind) = options.provider {
                config.kind = serde_json::from_value::<ProviderKind>(serde_json::Value::String(kind.clone()))
                    .map_err(|_| Error::Config(format!("unknown provider `{kind}` (expected openai, anthropic or gemini)")))?;
            }
            config.base_url = options.base_url.or(config.base_url);
            config.model = options.model.or(config.model);
            config.api_key = options.api_key.or(config.api_key);
            let policy = resolve_policy(options.policy, None, options.max_rows)?;
            Ok(Self {
                inner: Arc::new(Lazy { db: options.db, provider: config.build()?, policy, assistant: OnceCell::new() }),
            })
        };
        build().map_err(|e| js_error(env, e))
    }

    /// Answers a question; rejects with the `error` event's code when it cannot be answered.
    #[napi(ts_return_type = "Promise<Answer>")]
    pub fn ask<'env>(&self, env: &'env Env, question: String) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let inner = self.inner.clone();
        let answer = async move {
            let answered = async { Answer::collect(inner.get().await?.ask(question)).await }.await;
            Ok::<_, napi::Error>(answered)
        };
        env.spawn_future_with_callback(answer, |env, answered| {
            answered.and_then(|a| Ok(serde_json::to_value(a)?)).map_err(|e| js_error(env, e))
        })
    }

    /// Starts answering a question; `stream()` in the package entry iterates it.
    #[napi]
    pub fn open_stream(&self, question: String) -> EventStreamHandle {
        let inner = self.inner.clone();
        let events = futures::stream::once(async move {
            match inner.get().await {
                Ok(assistant) => assistant.ask(question),
                Err(err) => Box::pin(futures::stream::iter([Err(err)])) as aigis_core::EventStream,
            }
        })
        .flatten();
        EventStreamHandle::new(Box::pin(events))
    }
}
