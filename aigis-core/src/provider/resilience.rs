//! Timeouts and retries around any provider.
//!
//! [`ResilientProvider`] retries a request on 429, 5xx, connection resets and timeouts with
//! jittered exponential backoff, honouring `Retry-After` up to a cap. A request may be retried
//! only until the first piece of content reaches the caller; after that an error is passed on
//! as is, so no text is ever duplicated. The first-token timeout covers sending the request and
//! waiting for the first content; the total timeout covers the whole reply. The connect timeout
//! lives in the HTTP client of each provider.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::{ChatChunk, ChatRequest, ChatResponse, ChatStream, LlmProvider, collect_stream};
use crate::{Error, LlmErrorKind, Result};

/// Timeouts and retry policy (milliseconds, so bindings and `aigis.toml` map them directly).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResilienceConfig {
    /// TCP/TLS connect timeout.
    pub connect_timeout_ms: u64,
    /// From sending the request to the first content chunk.
    pub first_token_timeout_ms: u64,
    /// The whole reply, retries included.
    pub total_timeout_ms: u64,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff delay; doubles each retry, with jitter.
    pub base_delay_ms: u64,
    /// Cap of one backoff delay.
    pub max_delay_ms: u64,
    /// A `Retry-After` longer than this is not waited for: the error is returned.
    pub max_retry_after_ms: u64,
}

impl Default for ResilienceConfig {
    fn default() -> Self {
        Self {
            connect_timeout_ms: 10_000,
            first_token_timeout_ms: 60_000,
            total_timeout_ms: 300_000,
            max_retries: 2,
            base_delay_ms: 500,
            max_delay_ms: 10_000,
            max_retry_after_ms: 60_000,
        }
    }
}

impl ResilienceConfig {
    /// No retries (timeouts kept).
    pub fn no_retries(mut self) -> Self {
        self.max_retries = 0;
        self
    }

    /// The delay before retry number `attempt` (0-based) after `err`, or `None` to give up.
    pub fn backoff(&self, attempt: u32, err: &Error) -> Option<Duration> {
        if attempt >= self.max_retries || !is_retryable(err) {
            return None;
        }
        let exp = self.base_delay_ms.saturating_mul(1u64 << attempt.min(16)).min(self.max_delay_ms);
        // Full-range jitter in [exp/2, exp] keeps clients from retrying in lockstep.
        let jittered = exp / 2 + rand::random::<u64>() % (exp / 2 + 1);
        match err {
            Error::Llm { retry_after: Some(secs), .. } => {
                let asked = (secs * 1000.0).ceil() as u64;
                (asked <= self.max_retry_after_ms).then(|| Duration::from_millis(asked.max(jittered)))
            }
            _ => Some(Duration::from_millis(jittered)),
        }
    }
}

/// Whether another attempt (or another model) may succeed: rate limits, 5xx, broken
/// connections and timeouts.
pub fn is_retryable(err: &Error) -> bool {
    matches!(
        err,
        Error::Llm { kind: LlmErrorKind::RateLimited | LlmErrorKind::Unavailable | LlmErrorKind::Timeout, .. }
    )
}

/// A provider with timeouts and retries.
#[derive(Clone)]
pub struct ResilientProvider {
    inner: Arc<dyn LlmProvider>,
    config: ResilienceConfig,
}

impl std::fmt::Debug for ResilientProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResilientProvider").field("inner", &self.inner.name()).field("config", &self.config).finish()
    }
}

impl ResilientProvider {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn LlmProvider>, config: ResilienceConfig) -> Self {
        Self { inner, config }
    }
}

#[async_trait]
impl LlmProvider for ResilientProvider {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn default_model(&self) -> &str {
        self.inner.default_model()
    }

    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse> {
        let model = request.model.clone().unwrap_or_else(|| self.default_model().to_string());
        collect_stream(self.stream(request).await?, model).await
    }

    async fn stream(&self, request: ChatRequest) -> Result<ChatStream> {
        let deadline = Instant::now() + Duration::from_millis(self.config.total_timeout_ms);
        let first_token = Duration::from_millis(self.config.first_token_timeout_ms);
        let mut attempt = 0;
        loop {
            let started = open(self.inner.as_ref(), request.clone());
            let result = match tokio::time::timeout_at(deadline.min(Instant::now() + first_token), started).await {
                Ok(result) => result,
                Err(_) => Err(Error::llm(LlmErrorKind::Timeout, "no reply before the first-token timeout")),
            };
            let err = match result {
                Ok(stream) => return Ok(until_deadline(stream, deadline)),
                Err(err) => err,
            };
            match self.config.backoff(attempt, &err) {
                Some(delay) if Instant::now() + delay < deadline => {
                    tracing::debug!(attempt, delay_ms = delay.as_millis() as u64, error = %err, "retrying LLM request");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                _ => return Err(err),
            }
        }
    }
}

/// Starts a stream and reads it up to its first content chunk, so that an error before any
/// content counts as a failed attempt. The chunks read are replayed in front of the rest.
pub(crate) async fn open(provider: &dyn LlmProvider, request: ChatRequest) -> Result<ChatStream> {
    let mut stream = provider.stream(request).await?;
    let mut head = VecDeque::new();
    while let Some(item) = stream.next().await {
        let chunk = item?;
        let content =
            matches!(chunk, ChatChunk::Delta { .. } | ChatChunk::ToolCallDelta { .. } | ChatChunk::Finish { .. });
        head.push_back(Ok(chunk));
        if content {
            break;
        }
    }
    Ok(futures::stream::iter(head).chain(stream).boxed())
}

/// Ends the stream with a timeout error at `deadline`.
fn until_deadline(mut stream: ChatStream, deadline: Instant) -> ChatStream {
    async_stream::stream! {
        let sleep = tokio::time::sleep_until(deadline);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                item = stream.next() => match item {
                    Some(item) => yield item,
                    None => break,
                },
                () = &mut sleep => {
                    yield Err(Error::llm(LlmErrorKind::Timeout, "the reply took longer than the total timeout"));
                    break;
                }
            }
        }
    }
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        let c = ResilienceConfig { max_retries: 5, base_delay_ms: 100, max_delay_ms: 400, ..Default::default() };
        let unavailable = Error::llm(LlmErrorKind::Unavailable, "x");
        for attempt in 0..5 {
            let d = c.backoff(attempt, &unavailable).unwrap().as_millis() as u64;
            let exp = (100u64 << attempt).min(400);
            assert!(d >= exp / 2 && d <= exp, "attempt {attempt}: {d}");
        }
        assert!(c.backoff(5, &unavailable).is_none());
        let limited = Error::Llm { kind: LlmErrorKind::RateLimited, message: "x".into(), retry_after: Some(2.0) };
        assert_eq!(c.backoff(0, &limited), Some(Duration::from_secs(2)));
        let too_long = Error::Llm { kind: LlmErrorKind::RateLimited, message: "x".into(), retry_after: Some(3600.0) };
        assert!(c.backoff(0, &too_long).is_none());
        assert!(c.backoff(0, &Error::llm(LlmErrorKind::Auth, "x")).is_none());
    }
}
