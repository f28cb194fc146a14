//! Server-sent events: one SSE event per core [`Event`], named by its `type`.

use std::convert::Infallible;
use std::time::Duration;

use aigis_core::Event;
use axum::http::header;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};

/// How often an idle stream sends a keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The SSE form of one event: `event: <type>` and `data: <json>`.
pub fn to_sse(event: &Event) -> SseEvent {
    let data = serde_json::to_string(event)
        .unwrap_or_else(|_| r#"{"type":"error","code":"internal","message":"event encoding failed"}"#.to_string());
    SseEvent::default().event(event.kind()).data(data)
}

/// Streams events as an SSE response with the headers proxies need to pass it through unbuffered.
pub fn sse_response(events: impl Stream<Item = Event> + Send + 'static) -> Response {
    let stream = events.map(|e| Ok::<_, Infallible>(to_sse(&e)));
    let sse = Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE));
    ([(header::CACHE_CONTROL, "no-cache"), (header::HeaderName::from_static("x-accel-buffering"), "no")], sse)
        .into_response()
}

/// Turns a core event stream into plain events: an `Err` item becomes the terminal `error` event.
pub fn events_of(stream: aigis_core::EventStream) -> impl Stream<Item = Event> + Send + 'static {
    stream.map(|item| item.unwrap_or_else(|err| Event::from_error(&err)))
}
