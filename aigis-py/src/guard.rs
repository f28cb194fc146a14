//! `aigis.guard` and its `Verdict`: thin wrappers over [`aigis_core::Guard`].

use std::path::{Path, PathBuf};

use aigis_core::guard::Note;
use aigis_core::{Dialect, Guard, GuardContext, Policy, Violation};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::error::{config_err, to_py_err};

/// Reads a policy given as a dict, a JSON or TOML string, or a path to a `.json`/`.toml` file
/// (a string naming an existing file is read as one).
pub fn policy_from_py(value: &Bound<'_, PyAny>) -> PyResult<Policy> {
    if value.is_instance_of::<PyDict>() {
        return pythonize::depythonize::<Policy>(value).map_err(|e| config_err(format!("invalid guard policy: {e}")));
    }
    if value.is_instance_of::<PyString>() {
        let text: String = value.extract()?;
        let parsed = if text.trim_start().starts_with('{') {
            Policy::from_json_str(&text)
        } else if !text.contains('\n') && Path::new(&text).is_file() {
            Policy::from_file(&text)
        } else {
            Policy::from_toml_str(&text)
        };
        return parsed.map_err(to_py_err);
    }
    // A path-like object (pathlib.Path).
    let path: PathBuf =
        value.extract().map_err(|_| config_err("policy must be a dict, a JSON or TOML string, or a path"))?;
    Policy::from_file(path).map_err(to_py_err)
}

/// Builds the policy for `guard()`/`Assistant()`: the given policy (or the default one), with
/// `dialect` and `max_rows` overriding it when passed.
pub fn resolve_policy(policy: Option<&Bound<'_, PyAny>>, dialect: Option<&str>, max_rows: Option<u64>) -> PyResult<Policy> {
    let mut resolved = match policy {
        Some(p) if !p.is_none() => policy_from_py(p)?,
        _ => Policy::default(),
    };
    if let Some(d) = dialect {
        resolved.dialect = d.parse::<Dialect>().map_err(to_py_err)?;
    }
    if let Some(n) = max_rows {
        resolved.max_rows = n;
    }
    Ok(resolved)
}

/// A rule the SQL broke.
#[pyclass(module = "aigis", name = "Violation", frozen, eq)]
#[derive(PartialEq)]
pub struct PyViolation(Violation);

#[pymethods]
impl PyViolation {
    /// Stable code, e.g. `not_a_query`.
    #[getter]
    fn code(&self) -> &str {
        &self.0.code
    }
    /// What is wrong and how to fix it.
    #[getter]
    fn message(&self) -> &str {
        &self.0.message
    }
    /// `{"code": ..., "message": ...}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(pythonize::pythonize(py, &self.0)?)
    }
    fn __repr__(&self) -> String {
        format!("Violation(code={:?}, message={:?})", self.0.code, self.0.message)
    }
}

/// Something the guard rewrote without rejecting (e.g. `limit_clamped`).
#[pyclass(module = "aigis", name = "Note", frozen, eq)]
#[derive(PartialEq)]
pub struct PyNote(Note);

#[pymethods]
impl PyNote {
    /// Stable code, e.g. `limit_added`.
    #[getter]
    fn code(&self) -> &str {
        &self.0.code
    }
    /// What was changed.
    #[getter]
    fn message(&self) -> &str {
        &self.0.message
    }
    /// `{"code": ..., "message": ...}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(pythonize::pythonize(py, &self.0)?)
    }
    fn __repr__(&self) -> String {
        format!("Note(code={:?}, message={:?})", self.0.code, self.0.message)
    }
}

/// The guard's decision about one SQL input.
#[pyclass(module = "aigis", name = "Verdict", frozen)]
pub struct PyVerdict(aigis_core::Verdict);

#[pymethods]
impl PyVerdict {
    /// Whether the SQL may run.
    #[getter]
    fn allowed(&self) -> bool {
        self.0.allowed
    }
    /// The rewritten SQL that would run (`None` when rejected).
    #[getter]
    fn sql(&self) -> Option<&str> {
        self.0.sql.as_deref()
    }
    /// Why it was rejected.
    #[getter]
    fn violations(&self) -> Vec<PyViolation> {
        self.0.violations.iter().cloned().map(PyViolation).collect()
    }
    /// What was rewritten.
    #[getter]
    fn notes(&self) -> Vec<PyNote> {
        self.0.notes.iter().cloned().map(PyNote).collect()
    }
    /// Base tables the query reads.
    #[getter]
    fn tables(&self) -> Vec<String> {
        self.0.tables.clone()
    }
    /// Columns the query references, as written.
    #[getter]
    fn columns(&self) -> Vec<String> {
        self.0.columns.clone()
    }
    /// The verdict as the core serialises it (the same JSON every surface returns).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(pythonize::pythonize(py, &self.0)?)
    }
    /// The verdict as a JSON string.
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.0).map_err(|e| to_py_err(e.into()))
    }
    fn __bool__(&self) -> bool {
        self.0.allowed
    }
    fn __repr__(&self) -> String {
        let codes: Vec<&str> = self.0.violations.iter().map(|v| v.code.as_str()).collect();
        format!("Verdict(allowed={}, sql={:?}, violations={:?})", if self.0.allowed { "True" } else { "False" }, self.0.sql, codes)
    }
}

/// Checks one SQL statement against a policy and returns the verdict; bad SQL is a rejected
/// verdict, an invalid policy raises `ConfigError`.
#[pyfunction]
#[pyo3(signature = (sql, dialect=None, max_rows=None, policy=None, params=None, views=None))]
pub fn guard(
    py: Python<'_>,
    sql: &str,
    dialect: Option<&str>,
    max_rows: Option<u64>,
    policy: Option<&Bound<'_, PyAny>>,
    params: Option<&Bound<'_, PyAny>>,
    views: Option<Vec<String>>,
) -> PyResult<PyVerdict> {
    let has_policy = policy.is_some_and(|p| !p.is_none());
    // Without a policy the dialect defaults to SQLite, as documented; a policy keeps its own.
    let dialect = dialect.or(if has_policy { None } else { Some("sqlite") });
    let policy = resolve_policy(policy, dialect, max_rows)?;
    let context = GuardContext {
        params: match params {
            Some(p) if !p.is_none() => {
                pythonize::depythonize(p).map_err(|e| config_err(format!("invalid guard params: {e}")))?
            }
            _ => Default::default(),
        },
        views: views.unwrap_or_default().into_iter().collect(),
    };
    let guard = Guard::try_new(policy).map_err(to_py_err)?;
    let verdict = py.allow_threads(|| guard.check(sql, &context));
    Ok(PyVerdict(verdict))
}
