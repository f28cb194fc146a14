//! Event streams as Python iterators: `EventStream` (sync) and `AsyncEventStream` (async).
//!
//! Both hold the core [`EventStream`]; the engine's pipeline only runs while the stream is
//! polled and dropping it cancels the in-flight LLM request and database query. So `close()`,
//! `aclose()`, leaving a `with` block, breaking out of a loop (the iterator is then freed) all
//! cancel the request.

use std::sync::Arc;
use std::time::Duration;

use aigis_core::{Event, EventStream};
use futures::StreamExt;
use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration};
use pyo3::prelude::*;
use tokio::sync::Mutex;

use crate::error::to_py_err;
use crate::runtime;

/// How often a blocked `__next__` wakes up to let Ctrl-C through.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// The core stream; `None` once finished or closed. Dropped inside the runtime, because what
/// it cancels (a pooled database connection, an HTTP body) may need one to clean up.
struct Slot(Option<EventStream>);

impl Slot {
    fn close(&mut self) {
        if let Some(stream) = self.0.take() {
            let _entered = runtime().enter();
            drop(stream);
        }
    }

    /// The next event; closes the slot after a terminal event or an error.
    async fn next(&mut self) -> Option<aigis_core::Result<Event>> {
        let item = self.0.as_mut()?.next().await;
        if !matches!(&item, Some(Ok(e)) if !e.is_terminal()) {
            self.close();
        }
        item
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.close();
    }
}

type Shared = Arc<Mutex<Slot>>;

fn shared(stream: EventStream) -> Shared {
    Arc::new(Mutex::new(Slot(Some(stream))))
}

fn event_to_py(py: Python<'_>, event: &Event) -> PyResult<PyObject> {
    Ok(pythonize::pythonize(py, event)?.unbind())
}

/// Events of one answer, as dicts in the core event schema (iterate with `for`).
#[pyclass(module = "aigis", name = "EventStream")]
pub struct PyEventStream {
    slot: Shared,
}

impl PyEventStream {
    /// Wraps a core stream.
    pub fn new(stream: EventStream) -> Self {
        Self { slot: shared(stream) }
    }
}

#[pymethods]
impl PyEventStream {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<PyObject> {
        loop {
            let slot = self.slot.clone();
            let polled = py.allow_threads(move || {
                runtime().block_on(async move {
                    let mut slot = slot.lock().await;
                    tokio::time::timeout(SIGNAL_CHECK, slot.next()).await
                })
            });
            match polled {
                Ok(Some(Ok(event))) => return event_to_py(py, &event),
                Ok(Some(Err(err))) => return Err(to_py_err(err)),
                Ok(None) => return Err(PyStopIteration::new_err(())),
                // Timed out waiting: a pending Ctrl-C is raised here, else keep waiting.
                Err(_) => py.check_signals()?,
            }
        }
    }

    /// Stops the answer: cancels the LLM request and the database query in flight.
    fn close(&self, py: Python<'_>) {
        let slot = self.slot.clone();
        py.allow_threads(move || runtime().block_on(async move { slot.lock().await.close() }));
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close(py);
        false
    }
}

/// Events of one answer for `async for`, as dicts in the core event schema.
#[pyclass(module = "aigis", name = "AsyncEventStream")]
pub struct PyAsyncEventStream {
    slot: Shared,
}

impl PyAsyncEventStream {
    /// Wraps a core stream.
    pub fn new(stream: EventStream) -> Self {
        Self { slot: shared(stream) }
    }
}

#[pymethods]
impl PyAsyncEventStream {
    fn __aiter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let slot = self.slot.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let item = slot.lock().await.next().await;
            match item {
                Some(Ok(event)) => Python::with_gil(|py| event_to_py(py, &event)),
                Some(Err(err)) => Err(to_py_err(err)),
                None => Err(PyStopAsyncIteration::new_err(())),
            }
        })
    }

    /// Stops the answer: cancels the LLM request and the database query in flight.
    fn aclose<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let slot = self.slot.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            slot.lock().await.close();
            Ok(())
        })
    }

    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let this: PyObject = slf.clone().into_any().unbind();
        pyo3_async_runtimes::tokio::future_into_py(slf.py(), async move { Ok(this) })
    }

    #[pyo3(signature = (*_args))]
    fn __aexit__<'py>(&self, py: Python<'py>, _args: &Bound<'py, pyo3::types::PyTuple>) -> PyResult<Bound<'py, PyAny>> {
        let slot = self.slot.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            slot.lock().await.close();
            Ok(false)
        })
    }
}
