//! Test helpers (cargo feature `testing`): a wire-level fake LLM server, and a tiny shop
//! database ([`shop_database`]) for tests that need real rows.
//!
//! [`FakeLlm`] listens on `127.0.0.1:0` and answers, one scripted [`Reply`] per request, in the
//! wire format the request path asks for:
//!
//! * `POST …/chat/completions` — OpenAI-compatible chat completions (SSE when `"stream": true`,
//!   with the usage chunk when `stream_options.include_usage` is set, then `data: [DONE]`);
//! * `POST …/messages` — Anthropic Messages (`message_start`, `content_block_*`, `ping`,
//!   `message_delta` with usage, `message_stop`);
//! * `POST …/models/{model}:streamGenerateContent?alt=sse` or `:generateContent` — Gemini.
//!
//! It records every request it received ([`FakeLlm::requests`]). Use it from another crate with
//! `aigis-core = { path = "…", features = ["testing"] }` under `[dev-dependencies]`.
//!
//! ```no_run
//! # async fn demo() -> aigis_core::Result<()> {
//! use aigis_core::testing::{FakeLlm, Reply};
//! use aigis_core::provider::{LlmProvider, OpenAiProvider, ChatRequest, ChatMessage};
//! let fake = FakeLlm::start(vec![
//!     Reply::text("```sql\nSELECT 1\n```").usage(12, 5),
//!     Reply::status(429, "slow down").header("retry-after", "1"),
//! ])
//! .await?;
//! let llm = OpenAiProvider::new(fake.base_url(), "fake-model")?;
//! let reply = llm.complete(ChatRequest::new(vec![ChatMessage::user("hi")])).await?;
//! assert_eq!(reply.content, "```sql\nSELECT 1\n```");
//! assert_eq!(fake.requests()[0].body["model"], "fake-model");
//! # Ok(()) }
//! ```

mod render;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use futures::StreamExt;

use crate::Result;
use crate::event::Usage;

/// One scripted answer of the fake server.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub(crate) pieces: Vec<String>,
    pub(crate) tool_calls: Vec<(String, String)>,
    pub(crate) usage: Option<Usage>,
    pub(crate) no_usage: bool,
    pub(crate) model: Option<String>,
    pub(crate) delay: Duration,
    pub(crate) chunk_delay: Duration,
    pub(crate) status: Option<(u16, String)>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) tail: Tail,
}

/// How a streamed reply ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Tail {
    /// Finish reason, usage, end marker.
    #[default]
    Complete,
    /// A chunk that is not valid JSON, then the normal end.
    Malformed,
    /// The connection is cut with no end marker.
    Disconnect,
}

impl Reply {
    /// A text reply, streamed one word (with its trailing space) per chunk.
    pub fn text(text: impl Into<String>) -> Self {
        let text = text.into();
        Self { pieces: text.split_inclusive(' ').map(str::to_string).collect(), ..Self::default() }
    }

    /// A text reply streamed in exactly these chunks.
    pub fn chunks<I, S>(chunks: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self { pieces: chunks.into_iter().map(Into::into).collect(), ..Self::default() }
    }

    /// An error reply: this HTTP status and body (add headers with [`Reply::header`]).
    pub fn status(status: u16, body: impl Into<String>) -> Self {
        Self { status: Some((status, body.into())), ..Self::default() }
    }

    /// A 429 with `Retry-After: {secs}`.
    pub fn rate_limited(secs: u64) -> Self {
        Self::status(429, r#"{"error":{"message":"Rate limit reached","type":"rate_limit_error"}}"#)
            .header("retry-after", secs.to_string())
    }

    /// A reply whose connection is cut before any content.
    pub fn disconnect() -> Self {
        Self { tail: Tail::Disconnect, ..Self::default() }
    }

    /// Adds a tool call; its arguments are streamed split across several chunks.
    pub fn tool_call(mut self, name: impl Into<String>, arguments: impl Into<String>) -> Self {
        self.tool_calls.push((name.into(), arguments.into()));
        self
    }

    /// Token usage to report (default: prompt = words in the request's messages, completion =
    /// number of streamed pieces).
    pub fn usage(mut self, prompt_tokens: u64, completion_tokens: u64) -> Self {
        self.usage = Some(Usage { prompt_tokens, completion_tokens });
        self
    }

    /// Reports no usage at all (like a server without `include_usage` support).
    pub fn no_usage(mut self) -> Self {
        self.no_usage = true;
        self
    }

    /// The model name the reply claims (default: the model asked for).
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Waits this long before sending the response headers.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Waits this long before each streamed chunk.
    pub fn chunk_delay(mut self, delay: Duration) -> Self {
        self.chunk_delay = delay;
        self
    }

    /// Adds a response header (e.g. `retry-after`).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// After the text, sends a chunk that is not valid JSON.
    pub fn then_malformed(mut self) -> Self {
        self.tail = Tail::Malformed;
        self
    }

    /// After the text, cuts the connection (no finish reason, no end marker).
    pub fn then_disconnect(mut self) -> Self {
        self.tail = Tail::Disconnect;
        self
    }

    /// The whole text of the reply.
    pub fn full_text(&self) -> String {
        self.pieces.concat()
    }
}

/// A request the fake server received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path and query (e.g. `/v1/chat/completions`).
    pub path: String,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The JSON body (`Null` when it was not JSON).
    pub body: serde_json::Value,
}

impl RecordedRequest {
    /// The first header with this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    replies: Mutex<VecDeque<Reply>>,
    repeat: Mutex<Option<Reply>>,
    requests: Mutex<Vec<RecordedRequest>>,
    abandoned: AtomicUsize,
}

/// A running fake LLM server; stops when dropped.
pub struct FakeLlm {
    addr: std::net::SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeLlm {
    /// Starts a server on `127.0.0.1:0` that answers with `script`, one reply per request, in
    /// order. When the script is exhausted it answers HTTP 500 `fake script exhausted`.
    pub async fn start(script: Vec<Reply>) -> Result<Self> {
        let state = Arc::new(State { replies: Mutex::new(script.into()), ..State::default() });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = state.clone();
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            handle(shared.clone(), method, uri, headers, body)
        });
        let task = tokio::spawn(async move {
            // The server ends only when the task is aborted; an accept error just stops it.
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, state, task })
    }

    /// `http://127.0.0.1:{port}/v1`: the base URL for the OpenAI and Anthropic providers.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// `http://127.0.0.1:{port}/v1beta`: the base URL for the Gemini provider.
    pub fn gemini_base_url(&self) -> String {
        format!("http://{}/v1beta", self.addr)
    }

    /// The requests received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Appends replies to the script.
    pub fn push(&self, replies: impl IntoIterator<Item = Reply>) {
        if let Ok(mut queue) = self.state.replies.lock() {
            queue.extend(replies);
        }
    }

    /// Answers with `reply` whenever the script is exhausted (for benchmarks and load tests).
    pub fn repeat(&self, reply: Reply) {
        if let Ok(mut r) = self.state.repeat.lock() {
            *r = Some(reply);
        }
    }

    /// Forgets the recorded requests (a long benchmark would otherwise keep them all).
    pub fn clear_requests(&self) {
        if let Ok(mut r) = self.state.requests.lock() {
            r.clear();
        }
    }

    /// Replies still waiting in the script.
    pub fn remaining(&self) -> usize {
        self.state.replies.lock().map(|r| r.len()).unwrap_or(0)
    }

    /// How many streamed responses the client abandoned before their end (dropped streams).
    pub fn abandoned(&self) -> usize {
        self.state.abandoned.load(Ordering::SeqCst)
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for FakeLlm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeLlm").field("addr", &self.addr).finish_non_exhaustive()
    }
}

async fn handle(state: Arc<State>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    let path = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let recorded = RecordedRequest {
        method: method.to_string(),
        path: path.clone(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        body: body.clone(),
    };
    if let Ok(mut r) = state.requests.lock() {
        r.push(recorded);
    }
    let reply = state
        .replies
        .lock()
        .ok()
        .and_then(|mut q| q.pop_front())
        .or_else(|| state.repeat.lock().ok().and_then(|r| r.clone()));
    let Some(reply) = reply else {
        return plain(500, "fake script exhausted", &[]);
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    if let Some((status, text)) = &reply.status {
        return plain(*status, text, &reply.headers);
    }
    let Some(wire) = render::Wire::of(uri.path()) else {
        return plain(404, "unknown path", &[]);
    };
    let ctx = render::Context::new(wire, &path, &body, &reply);
    if !ctx.streaming {
        let mut response = plain(200, &render::whole(&ctx, &reply).to_string(), &reply.headers);
        response.headers_mut().insert("content-type", axum::http::HeaderValue::from_static("application/json"));
        return response;
    }
    let chunk_delay = reply.chunk_delay;
    let frames = render::frames(&ctx, &reply);
    // Without a delay, frames ready together go out in one write, as a busy server sends them
    // (the client must split events itself; tiny writes would only measure TCP).
    let frames = if chunk_delay.is_zero() { coalesce(frames) } else { frames };
    let guard = AbandonGuard { state: state.clone(), finished: false };
    let stream = async_stream::stream! {
        let mut guard = guard;
        for frame in frames {
            match frame {
                render::Frame::Data(bytes) => {
                    if !chunk_delay.is_zero() {
                        tokio::time::sleep(chunk_delay).await;
                    }
                    yield Ok::<Bytes, std::io::Error>(Bytes::from(bytes));
                }
                render::Frame::Cut => {
                    // Let the server flush what was sent so far: a real drop happens mid-stream,
                    // after the client has seen the headers and the first chunks.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    guard.finished = true;
                    yield Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "fake: connection cut"));
                    return;
                }
            }
        }
        guard.finished = true;
    };
    let mut response = Response::new(Body::from_stream(stream.boxed()));
    let h = response.headers_mut();
    h.insert("content-type", axum::http::HeaderValue::from_static("text/event-stream"));
    h.insert("cache-control", axum::http::HeaderValue::from_static("no-cache"));
    response
}

/// Joins consecutive data frames.
fn coalesce(frames: Vec<render::Frame>) -> Vec<render::Frame> {
    let mut out = Vec::new();
    let mut buf = String::new();
    for frame in frames {
        match frame {
            render::Frame::Data(d) => buf.push_str(&d),
            render::Frame::Cut => {
                out.push(render::Frame::Data(std::mem::take(&mut buf)));
                out.push(render::Frame::Cut);
            }
        }
    }
    if !buf.is_empty() {
        out.push(render::Frame::Data(buf));
    }
    out
}

/// Counts streams dropped (by the client going away) before they were fully sent.
struct AbandonGuard {
    state: Arc<State>,
    finished: bool,
}

impl Drop for AbandonGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.state.abandoned.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn plain(status: u16, body: &str, headers: &[(String, String)]) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in headers {
        if let (Ok(name), Ok(value)) =
            (axum::http::HeaderName::try_from(k.as_str()), axum::http::HeaderValue::try_from(v.as_str()))
        {
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// Creates `dir/shop.db`, a SQLite shop small enough to check answers by hand: `stores` (3
/// rows: North and South in FR, West in DE) and `orders` (6 rows with `store_id`, `amount` and
/// `ordered_at`).
#[cfg(feature = "sqlite")]
pub async fn shop_database(dir: &std::path::Path) -> Result<std::path::PathBuf> {
    use sqlx::Connection as _;
    let fail = |e: sqlx::Error| crate::Error::Internal(format!("shop database: {e}"));
    let path = dir.join("shop.db");
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", path.display())).await.map_err(fail)?;
    for stmt in [
        "CREATE TABLE stores (id INTEGER PRIMARY KEY, name TEXT NOT NULL, country TEXT NOT NULL)",
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, store_id INTEGER NOT NULL REFERENCES stores(id), amount REAL NOT NULL, ordered_at TEXT NOT NULL)",
        "INSERT INTO stores VALUES (1,'North','FR'),(2,'South','FR'),(3,'West','DE')",
        "INSERT INTO orders VALUES (1,1,10.0,'2024-01-03'),(2,1,20.0,'2024-01-09'),(3,2,5.5,'2024-02-01'),(4,3,7.0,'2024-02-11'),(5,3,8.0,'2024-03-05'),(6,3,9.0,'2024-03-15')",
    ] {
        sqlx::query(stmt).execute(&mut conn).await.map_err(fail)?;
    }
    conn.close().await.map_err(fail)?;
    Ok(path)
}

/// Reads a whole chat stream: every chunk until the end or the first error, and that error.
pub async fn drain(mut stream: crate::provider::ChatStream) -> (Vec<crate::provider::ChatChunk>, Option<crate::Error>) {
    let mut chunks = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(chunk) => chunks.push(chunk),
            Err(err) => return (chunks, Some(err)),
        }
    }
    (chunks, None)
}
