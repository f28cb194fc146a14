//! The native event stream handle behind `Assistant.stream()`.
//!
//! `next()` resolves to the next event (a plain object in the core event JSON) or `null` at
//! the end; `close()` drops the core stream, which cancels the in-flight LLM request and
//! database query. The package entry wraps both in an `async function*`, so leaving a
//! `for await` loop early closes the stream.

use std::sync::Arc;

use aigis_core::EventStream;
use futures::StreamExt;
use napi::Env;
use napi::bindgen_prelude::{PromiseRaw, within_runtime_if_available};
use napi_derive::napi;
use tokio::runtime::Handle;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::error::js_error;

/// A running answer: pull events with `next()`, stop it with `close()`.
#[napi]
pub struct EventStreamHandle {
    events: Arc<Mutex<Option<EventStream>>>,
    closed: CancellationToken,
    /// The runtime the stream runs on: dropping database futures needs its context, also when
    /// the handle is garbage-collected after Node shut the runtime down.
    runtime: Handle,
}

impl EventStreamHandle {
    pub(crate) fn new(events: EventStream) -> Self {
        Self {
            events: Arc::new(Mutex::new(Some(events))),
            closed: CancellationToken::new(),
            runtime: within_runtime_if_available(Handle::current),
        }
    }
}

#[napi]
impl EventStreamHandle {
    /// The next event, or `null` once the stream has ended or was closed.
    #[napi(ts_return_type = "Promise<AigisEvent | null>")]
    pub fn next<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, Option<serde_json::Value>>> {
        let events = self.events.clone();
        let closed = self.closed.clone();
        let pull = async move {
            let mut slot = events.lock().await;
            let item = match slot.as_mut() {
                None => None,
                Some(stream) => tokio::select! {
                    biased;
                    () = closed.cancelled() => None,
                    item = stream.next() => item,
                },
            };
            if item.is_none() {
                // Ended or closed: drop the core stream here, inside the runtime.
                slot.take();
            }
            Ok::<_, napi::Error>(item.transpose())
        };
        env.spawn_future_with_callback(pull, |env, item| match item {
            Ok(Some(event)) => serde_json::to_value(&event).map(Some).map_err(|e| js_error(env, e.into())),
            Ok(None) => Ok(None),
            Err(err) => Err(js_error(env, err)),
        })
    }

    /// Stops the answer: cancels the LLM request and the database query; `next()` then gives `null`.
    #[napi]
    pub fn close(&self) {
        self.closed.cancel();
        // A pending `next()` holds the lock and drops the stream itself once it sees the
        // cancellation; otherwise drop it now, inside the runtime's context.
        if let Ok(mut slot) = self.events.try_lock() {
            let stream = slot.take();
            let _context = self.runtime.enter();
            drop(stream);
        }
    }
}

impl Drop for EventStreamHandle {
    fn drop(&mut self) {
        self.close();
    }
}
