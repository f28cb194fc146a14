//! HTTP plumbing shared by the providers: the API key wrapper, turning failed responses and
//! transport errors into typed [`Error::Llm`]s (with the key scrubbed), `Retry-After` parsing and
//! SSE decoding.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use eventsource_stream::{EventStreamError, Eventsource};
use futures::StreamExt;
use futures::stream::BoxStream;

use super::{ChatChunk, ChatRequest, ChatStream, ResponseFormat};
use crate::{Error, LlmErrorKind, Result};

/// Connect timeout used when none is configured.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of an error body we keep for the message.
const MAX_ERROR_BODY: usize = 2000;

/// An API key: never printed, and removed from every message built from a provider reply.
#[derive(Clone, Default)]
pub struct ApiKey(Option<String>);

impl ApiKey {
    /// Wraps a key; blank keys count as none.
    pub fn new(key: Option<String>) -> Self {
        Self(key.filter(|k| !k.trim().is_empty()))
    }

    /// The key, for building the request.
    pub(crate) fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// Whether a key is set.
    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }

    /// Removes the key from `text`.
    pub fn scrub(&self, text: &str) -> String {
        match &self.0 {
            // Very short keys would scrub ordinary words; real keys are long.
            Some(key) if key.len() >= 6 => text.replace(key.as_str(), "[REDACTED]"),
            _ => text.to_string(),
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "ApiKey([REDACTED])" } else { "ApiKey(None)" })
    }
}

/// A reqwest client with our connect timeout. Read and total timeouts are applied per stream
/// (see `resilience`), because a long streamed answer must not hit a whole-request timeout.
pub(crate) fn client(connect_timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .build()
        .map_err(|e| Error::Config(format!("cannot build the HTTP client: {}", e.without_url())))
}

/// Joins a base URL and a path with exactly one slash between them.
pub(crate) fn join_url(base: &str, path: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/'))
}

/// Maps a transport error (connect, reset, timeout) to a typed error without URL or key.
pub(crate) fn transport_error(err: reqwest::Error, key: &ApiKey, what: &str) -> Error {
    let kind = if err.is_timeout() { LlmErrorKind::Timeout } else { LlmErrorKind::Unavailable };
    let err = err.without_url();
    // reqwest's Display is terse ("error sending request"); the cause chain says what happened.
    let mut message = format!("{what}: {err}");
    let mut cause = std::error::Error::source(&err);
    while let Some(c) = cause {
        message.push_str(": ");
        message.push_str(&c.to_string());
        cause = c.source();
    }
    Error::llm(kind, key.scrub(&message))
}

/// Reads a failed response and maps its status and body to a typed error.
pub(crate) async fn status_error(response: reqwest::Response, key: &ApiKey, provider: &str) -> Error {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
    let body = response.text().await.unwrap_or_default();
    error_from_status(status, &body, retry_after, key, provider)
}

/// Maps an HTTP status and error body to a typed error (pure, for tests).
pub(crate) fn error_from_status(
    status: u16,
    body: &str,
    retry_after: Option<f64>,
    key: &ApiKey,
    provider: &str,
) -> Error {
    let detail = error_detail(body);
    let lower = detail.to_ascii_lowercase();
    let kind = match status {
        401 | 403 => LlmErrorKind::Auth,
        429 => LlmErrorKind::RateLimited,
        408 | 504 => LlmErrorKind::Timeout,
        413 => LlmErrorKind::ContextTooLong,
        s if s >= 500 => LlmErrorKind::Unavailable,
        _ if is_context_error(&lower) => LlmErrorKind::ContextTooLong,
        _ if is_filter_error(&lower) => LlmErrorKind::ContentFiltered,
        404 => LlmErrorKind::UnknownModel,
        _ => LlmErrorKind::BadResponse,
    };
    let message = key.scrub(&format!("{provider} answered HTTP {status}: {detail}"));
    Error::Llm { kind, message, retry_after }
}

fn is_context_error(lower: &str) -> bool {
    ["context_length", "context length", "context window", "too many tokens", "prompt is too long", "maximum context"]
        .iter()
        .any(|p| lower.contains(p))
}

fn is_filter_error(lower: &str) -> bool {
    ["content_filter", "content filter", "content management policy", "safety"].iter().any(|p| lower.contains(p))
}

/// The human part of an error body: `error.message`, `error` or `message`, else the raw text.
pub(crate) fn error_detail(body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let from_json = parsed.as_ref().and_then(|v| {
        // Gemini wraps errors in a one-element array when streaming.
        let v = v.as_array().and_then(|a| a.first()).unwrap_or(v);
        v.pointer("/error/message")
            .or_else(|| v.get("error").filter(|e| e.is_string()))
            .or_else(|| v.get("message"))
            .and_then(|m| m.as_str())
            .map(str::to_string)
    });
    let mut detail = from_json.unwrap_or_else(|| body.trim().to_string());
    if detail.is_empty() {
        detail = "(empty body)".into();
    }
    if detail.len() > MAX_ERROR_BODY {
        let mut cut = MAX_ERROR_BODY;
        while !detail.is_char_boundary(cut) {
            cut -= 1;
        }
        detail.truncate(cut);
        detail.push('…');
    }
    detail
}

/// Parses `Retry-After`: delta seconds (possibly fractional) or an HTTP date.
pub(crate) fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<f64> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then_some(secs);
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let secs = (date.with_timezone(&chrono::Utc) - now).num_milliseconds() as f64 / 1000.0;
    Some(secs.max(0.0))
}

/// Decodes a response body as server-sent events, mapping failures to typed errors.
pub(crate) fn sse_events(
    response: reqwest::Response,
    key: ApiKey,
) -> BoxStream<'static, Result<eventsource_stream::Event>> {
    response
        .bytes_stream()
        .eventsource()
        .map(move |item| {
            item.map_err(|e| match e {
                EventStreamError::Transport(e) => transport_error(e, &key, "connection lost mid-stream"),
                EventStreamError::Utf8(e) => Error::llm(LlmErrorKind::BadResponse, format!("stream is not UTF-8: {e}")),
                EventStreamError::Parser(e) => Error::llm(LlmErrorKind::BadResponse, format!("malformed SSE: {e}")),
            })
        })
        .boxed()
}

/// POSTs a JSON body with the auth header `(name, value)`; a non-2xx status becomes a typed error.
pub(crate) async fn post_json(
    client: &reqwest::Client,
    url: &str,
    auth: Option<(&str, String)>,
    extra_headers: &[(&str, &str)],
    body: &serde_json::Value,
    key: &ApiKey,
    provider: &str,
) -> Result<reqwest::Response> {
    let mut builder = client.post(url).json(body);
    if let Some((name, value)) = auth {
        builder = builder.header(name, value);
    }
    for (name, value) in extra_headers {
        builder = builder.header(*name, *value);
    }
    let response = builder.send().await.map_err(|e| transport_error(e, key, "request failed"))?;
    if response.status().is_success() { Ok(response) } else { Err(status_error(response, key, provider).await) }
}

/// Optional request features a server or model may reject; dropped one at a time on a 400 that
/// names them, which turns structured output into an instruction (the plain-text fallback).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Features {
    /// OpenAI `stream_options.include_usage`.
    pub(crate) stream_options: bool,
    /// Native structured output.
    pub(crate) response_format: bool,
    /// Native tools.
    pub(crate) tools: bool,
}

impl Features {
    pub(crate) fn all() -> Self {
        Self { stream_options: true, response_format: true, tools: true }
    }

    /// After a 400 naming a feature we sent, the same features minus that one.
    pub(crate) fn drop_rejected(self, err: &Error, request: &ChatRequest) -> Option<Self> {
        let Error::Llm { kind: LlmErrorKind::BadResponse, message, .. } = err else {
            return None;
        };
        let lower = message.to_ascii_lowercase();
        let mut next = self;
        let wants_format = self.response_format && request.response_format != ResponseFormat::Text;
        let names_format = ["response_format", "json_schema", "responseschema", "response_schema", "responsemimetype"]
            .iter()
            .any(|w| lower.contains(w));
        let names_tools = lower.contains("tool") || lower.contains("function");
        if self.stream_options && lower.contains("stream_options") {
            next.stream_options = false;
        } else if wants_format && names_format {
            next.response_format = false;
        } else if self.tools && !request.tools.is_empty() && names_tools {
            next.tools = false;
        } else if wants_format && names_tools {
            // Anthropic carries structured output in a forced tool.
            next.response_format = false;
        } else {
            return None;
        }
        Some(next)
    }
}

/// Sends `body(features)`, retrying once per optional feature the server rejects.
pub(crate) async fn send_with_fallback<F, Fut>(request: &ChatRequest, mut send: F) -> Result<reqwest::Response>
where
    F: FnMut(Features) -> Fut,
    Fut: std::future::Future<Output = Result<reqwest::Response>>,
{
    let mut features = Features::all();
    loop {
        match send(features).await {
            Ok(response) => return Ok(response),
            Err(err) => match features.drop_rejected(&err, request) {
                Some(fewer) => features = fewer,
                None => return Err(err),
            },
        }
    }
}

/// Turns one provider's SSE events into [`ChatChunk`]s.
pub(crate) trait Decoder: Send + 'static {
    /// Handles one event, pushing chunks to `out`; returns `true` at the end marker.
    fn on_event(
        &mut self,
        event: &eventsource_stream::Event,
        key: &ApiKey,
        out: &mut VecDeque<ChatChunk>,
    ) -> Result<bool>;

    /// The body ended without an end marker: fine if the reply was complete, else an error.
    fn on_end(&mut self, out: &mut VecDeque<ChatChunk>) -> Result<()>;
}

/// The chunk stream of a streamed response. Dropping it drops the response, which closes the
/// connection: that is how a consumer cancels.
pub(crate) fn decode_stream<D: Decoder>(response: reqwest::Response, key: ApiKey, mut decoder: D) -> ChatStream {
    let mut events = sse_events(response, key.clone());
    let stream = async_stream::try_stream! {
        let mut out = VecDeque::new();
        let mut ended = false;
        while let Some(event) = events.next().await {
            ended = decoder.on_event(&event?, &key, &mut out)?;
            while let Some(chunk) = out.pop_front() {
                yield chunk;
            }
            if ended {
                break;
            }
        }
        if !ended {
            decoder.on_end(&mut out)?;
            while let Some(chunk) = out.pop_front() {
                yield chunk;
            }
        }
    };
    stream.boxed()
}

/// A `BadResponse` error for a chunk that is not the JSON we expect (the chunk is shortened).
pub(crate) fn bad_chunk(provider: &str, data: &str, err: &serde_json::Error, key: &ApiKey) -> Error {
    let mut shown: String = data.chars().take(200).collect();
    if shown.len() < data.len() {
        shown.push('…');
    }
    Error::llm(LlmErrorKind::BadResponse, key.scrub(&format!("{provider} sent a malformed chunk ({err}): {shown}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = chrono::DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z").unwrap().with_timezone(&chrono::Utc);
        assert_eq!(parse_retry_after("3", now), Some(3.0));
        assert_eq!(parse_retry_after("0.5", now), Some(0.5));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:07 GMT", now), Some(7.0));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now), Some(0.0));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn status_maps_to_kinds_and_scrubs_key() {
        let key = ApiKey::new(Some("sk-secret-123456".into()));
        let e = error_from_status(
            401,
            r#"{"error":{"message":"Incorrect API key sk-secret-123456"}}"#,
            None,
            &key,
            "openai",
        );
        assert!(matches!(e, Error::Llm { kind: LlmErrorKind::Auth, .. }));
        assert!(!e.to_string().contains("sk-secret-123456"), "{e}");
        let e = error_from_status(
            400,
            r#"{"error":{"message":"This model's maximum context length is 8192"}}"#,
            None,
            &key,
            "x",
        );
        assert!(matches!(e, Error::Llm { kind: LlmErrorKind::ContextTooLong, .. }));
        let e = error_from_status(429, "slow down", Some(2.0), &key, "x");
        assert!(matches!(e, Error::Llm { kind: LlmErrorKind::RateLimited, retry_after: Some(2.0), .. }));
        let e = error_from_status(503, "", None, &key, "x");
        assert!(matches!(e, Error::Llm { kind: LlmErrorKind::Unavailable, .. }));
    }

    #[test]
    fn debug_hides_key() {
        let key = ApiKey::new(Some("sk-secret-123456".into()));
        assert!(!format!("{key:?}").contains("secret"));
    }
}
