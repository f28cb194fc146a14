//! `aigis.Assistant` and `aigis.Answer`: newtypes over [`aigis_core::Assistant`] and
//! [`aigis_core::Answer`], configured one-to-one from `ProviderConfig` and `AssistantConfig`.

use std::time::Duration;

use aigis_core::provider::ResilienceConfig;
use aigis_core::{AskMode, AskRequest, AssistantConfig, GuardContext, ProviderConfig, ProviderKind};
use pyo3::prelude::*;
use serde::de::DeserializeOwned;

use crate::error::{config_err, to_py_err};
use crate::guard::policy_from_py;
use crate::runtime;
use crate::stream::{PyAsyncEventStream, PyEventStream};

/// Reads a Python value (a dict, or a string for enums) into a core config type.
fn from_py<T: DeserializeOwned>(what: &str, value: &Bound<'_, PyAny>) -> PyResult<T> {
    pythonize::depythonize(value).map_err(|e| config_err(format!("invalid {what}: {e}")))
}

/// A governed data assistant over one database and one model.
#[pyclass(module = "aigis", name = "Assistant", frozen)]
pub struct PyAssistant {
    inner: aigis_core::Assistant,
    db_scheme: String,
}

#[pymethods]
impl PyAssistant {
    /// Connects to `db` and configures the model; unset provider options come from the
    /// environment (`AIGIS_LLM_BASE_URL`, `AIGIS_LLM_MODEL`, `AIGIS_LLM_API_KEY`, `OPENAI_*`).
    #[new]
    #[pyo3(signature = (
        db, *, base_url=None, model=None, api_key=None, provider=None, fallback_models=None,
        max_rows=None, policy=None, max_repairs=None, charts=None, timeout=None, mode=None, config=None,
        resilience=None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        db: String,
        base_url: Option<String>,
        model: Option<String>,
        api_key: Option<String>,
        provider: Option<&Bound<'_, PyAny>>,
        fallback_models: Option<Vec<String>>,
        max_rows: Option<u64>,
        policy: Option<&Bound<'_, PyAny>>,
        max_repairs: Option<u32>,
        charts: Option<bool>,
        timeout: Option<f64>,
        mode: Option<&Bound<'_, PyAny>>,
        config: Option<&Bound<'_, PyAny>>,
        resilience: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let env = ProviderConfig::from_env().map_err(to_py_err)?;
        let provider_config = ProviderConfig {
            kind: match provider {
                Some(p) => from_py::<ProviderKind>("provider", p)?,
                None => env.kind,
            },
            base_url: base_url.or(env.base_url),
            model: model.or(env.model),
            api_key: api_key.or(env.api_key),
            fallback_models: fallback_models.unwrap_or(env.fallback_models),
        };
        let mut cfg: AssistantConfig = match config {
            Some(c) if !c.is_none() => from_py("config", c)?,
            _ => AssistantConfig::default(),
        };
        if let Some(p) = policy.filter(|p| !p.is_none()) {
            cfg.policy = policy_from_py(p)?;
        }
        // A policy that cannot compile (a row scope that does not parse) fails here, not per question.
        aigis_core::Guard::try_new(cfg.policy.clone()).map_err(to_py_err)?;
        if let Some(n) = max_rows {
            cfg.policy.max_rows = n;
            cfg.exec_limits.max_rows = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(n) = max_repairs {
            cfg.max_repairs = n;
        }
        if let Some(c) = charts {
            cfg.charts = c;
        }
        if let Some(secs) = timeout {
            cfg.exec_limits.timeout =
                Duration::try_from_secs_f64(secs).map_err(|_| config_err(format!("invalid timeout {secs} s")))?;
        }
        if let Some(m) = mode {
            cfg.mode = from_py::<AskMode>("mode", m)?;
        }
        let resilience: ResilienceConfig = match resilience {
            Some(r) if !r.is_none() => from_py("resilience", r)?,
            _ => ResilienceConfig::default(),
        };
        let db_scheme = db.split(':').next().unwrap_or_default().to_string();
        let inner = py.allow_threads(move || {
            runtime().block_on(async move {
                let connection = aigis_core::connect(&db).await?;
                let llm = provider_config.build_with(&resilience)?;
                Ok::<_, aigis_core::Error>(aigis_core::Assistant::builder(llm, connection).config(cfg).build())
            })
        });
        Ok(Self { inner: inner.map_err(to_py_err)?, db_scheme })
    }

    /// Answers a question and returns the whole answer; raises if it ends in an `error` event.
    #[pyo3(signature = (question, *, model=None, user=None, params=None, mode=None))]
    fn ask(
        &self,
        py: Python<'_>,
        question: String,
        model: Option<String>,
        user: Option<String>,
        params: Option<&Bound<'_, PyAny>>,
        mode: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyAnswer> {
        let stream = self.inner.ask_with(request(question, model, user, params, mode)?);
        let answer = py.allow_threads(move || runtime().block_on(aigis_core::Answer::collect(stream)));
        Ok(PyAnswer(answer.map_err(to_py_err)?))
    }

    /// Answers a question; awaitable version of `ask`.
    #[pyo3(signature = (question, *, model=None, user=None, params=None, mode=None))]
    fn aask<'py>(
        &self,
        py: Python<'py>,
        question: String,
        model: Option<String>,
        user: Option<String>,
        params: Option<&Bound<'py, PyAny>>,
        mode: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let stream = self.inner.ask_with(request(question, model, user, params, mode)?);
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            aigis_core::Answer::collect(stream).await.map(PyAnswer).map_err(to_py_err)
        })
    }

    /// Answers a question as an iterator of event dicts (the core event schema).
    #[pyo3(signature = (question, *, model=None, user=None, params=None, mode=None))]
    fn stream(
        &self,
        question: String,
        model: Option<String>,
        user: Option<String>,
        params: Option<&Bound<'_, PyAny>>,
        mode: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyEventStream> {
        Ok(PyEventStream::new(self.inner.ask_with(request(question, model, user, params, mode)?)))
    }

    /// Answers a question as an async iterator of event dicts (the core event schema).
    #[pyo3(signature = (question, *, model=None, user=None, params=None, mode=None))]
    fn astream(
        &self,
        question: String,
        model: Option<String>,
        user: Option<String>,
        params: Option<&Bound<'_, PyAny>>,
        mode: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyAsyncEventStream> {
        Ok(PyAsyncEventStream::new(self.inner.ask_with(request(question, model, user, params, mode)?)))
    }

    /// The database schema (tables, columns, keys) as a dict; cached for the schema TTL.
    fn schema<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let inner = self.inner.clone();
        let schema = py.allow_threads(move || runtime().block_on(async move { inner.schema().await }));
        Ok(pythonize::pythonize(py, schema.map_err(to_py_err)?.as_ref())?)
    }

    /// The SQL dialect of the database.
    #[getter]
    fn dialect(&self) -> &'static str {
        self.inner.connection().dialect().as_str()
    }

    fn __repr__(&self) -> String {
        // Only the scheme: the URL may hold a password, the provider an API key.
        format!("Assistant(db={}:…, dialect={})", self.db_scheme, self.dialect())
    }
}

fn request(
    question: String,
    model: Option<String>,
    user: Option<String>,
    params: Option<&Bound<'_, PyAny>>,
    mode: Option<&Bound<'_, PyAny>>,
) -> PyResult<AskRequest> {
    let context = match params {
        Some(p) if !p.is_none() => GuardContext { params: from_py("params", p)?, ..Default::default() },
        _ => GuardContext::default(),
    };
    let mode = match mode {
        Some(m) if !m.is_none() => Some(from_py::<AskMode>("mode", m)?),
        _ => None,
    };
    Ok(AskRequest { question, model, user, context, mode, ..AskRequest::default() })
}

/// A complete answer.
#[pyclass(module = "aigis", name = "Answer", frozen)]
pub struct PyAnswer(aigis_core::Answer);

#[pymethods]
impl PyAnswer {
    /// The answer text.
    #[getter]
    fn answer(&self) -> &str {
        &self.0.answer
    }
    /// The SQL that ran (as rewritten by the guard).
    #[getter]
    fn sql(&self) -> Option<&str> {
        self.0.sql.as_deref()
    }
    /// Result column names.
    #[getter]
    fn columns(&self) -> Vec<String> {
        self.0.columns.clone()
    }
    /// Result rows, one list of values per row.
    #[getter]
    fn rows<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(pythonize::pythonize(py, &self.0.rows)?)
    }
    /// Rows returned.
    #[getter]
    fn row_count(&self) -> u64 {
        self.0.row_count
    }
    /// The Vega-Lite spec, if a chart was built.
    #[getter]
    fn chart<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(pythonize::pythonize(py, &self.0.chart)?)
    }
    /// The model that answered.
    #[getter]
    fn model(&self) -> &str {
        &self.0.model
    }
    /// `{"prompt_tokens": ..., "completion_tokens": ...}`.
    #[getter]
    fn usage<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(pythonize::pythonize(py, &self.0.usage)?)
    }
    /// Wall time of the request, in milliseconds to the microsecond.
    #[getter]
    fn elapsed_ms(&self) -> f64 {
        self.0.elapsed_ms
    }
    /// Every event, in order, as dicts in the core event schema.
    #[getter]
    fn events<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(pythonize::pythonize(py, &self.0.events)?)
    }
    /// The whole answer as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(pythonize::pythonize(py, &self.0)?)
    }
    fn __repr__(&self) -> String {
        format!("Answer(row_count={}, sql={:?}, answer={:?})", self.0.row_count, self.0.sql, self.0.answer)
    }
}
