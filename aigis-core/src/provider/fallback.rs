//! A chain of models tried in order.
//!
//! [`FallbackProvider`] sends the request to the first model; when it fails with a retryable
//! error (or the model is unknown) before any content arrived, the next model is tried. The
//! stream starts with [`ChatChunk::Model`] naming the model that answered, which the engine puts
//! in the `done` event.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;

use super::resilience::{is_retryable, open};
use super::{ChatChunk, ChatRequest, ChatResponse, ChatStream, LlmProvider, collect_stream};
use crate::{Error, LlmErrorKind, Result};

/// One link of the chain: a provider and the model to ask it for.
#[derive(Clone)]
pub struct FallbackModel {
    /// The provider.
    pub provider: Arc<dyn LlmProvider>,
    /// The model id sent to it.
    pub model: String,
}

/// Tries models in order on retryable errors.
#[derive(Clone)]
pub struct FallbackProvider {
    chain: Vec<FallbackModel>,
}

impl std::fmt::Debug for FallbackProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.chain.iter().map(|m| (m.provider.name(), &m.model))).finish()
    }
}

impl FallbackProvider {
    /// A chain; the first model is the default.
    pub fn new(chain: Vec<FallbackModel>) -> Result<Self> {
        if chain.is_empty() {
            return Err(Error::Config("a fallback chain needs at least one model".into()));
        }
        Ok(Self { chain })
    }

    /// The same provider asked for `primary`, then each of `fallbacks`.
    pub fn models(provider: Arc<dyn LlmProvider>, primary: String, fallbacks: &[String]) -> Result<Self> {
        let chain = std::iter::once(primary)
            .chain(fallbacks.iter().cloned())
            .map(|model| FallbackModel { provider: provider.clone(), model })
            .collect();
        Self::new(chain)
    }
}

#[async_trait]
impl LlmProvider for FallbackProvider {
    fn name(&self) -> &str {
        self.chain.first().map(|m| m.provider.name()).unwrap_or("fallback")
    }

    fn default_model(&self) -> &str {
        self.chain.first().map(|m| m.model.as_str()).unwrap_or_default()
    }

    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse> {
        let model = request.model.clone().unwrap_or_else(|| self.default_model().to_string());
        collect_stream(self.stream(request).await?, model).await
    }

    async fn stream(&self, request: ChatRequest) -> Result<ChatStream> {
        // A request naming a model not in the chain asks for it first, then the chain.
        let asked = request.model.clone().filter(|m| !self.chain.iter().any(|c| &c.model == m));
        let first = self.chain.iter().position(|c| Some(&c.model) == request.model.as_ref()).unwrap_or(0);
        let mut order: Vec<(Arc<dyn LlmProvider>, String)> = Vec::new();
        if let Some(model) = asked {
            order.push((self.chain[0].provider.clone(), model));
        }
        order.extend(self.chain[first..].iter().map(|c| (c.provider.clone(), c.model.clone())));
        let mut failures = Vec::new();
        let mut last = None;
        for (provider, model) in order {
            let attempt = ChatRequest { model: Some(model.clone()), ..request.clone() };
            match open(provider.as_ref(), attempt).await {
                Ok(stream) => {
                    if !failures.is_empty() {
                        tracing::warn!(model, failed = ?failures, "answered by a fallback model");
                    }
                    return Ok(announce(stream, model));
                }
                Err(err)
                    if is_retryable(&err) || matches!(err, Error::Llm { kind: LlmErrorKind::UnknownModel, .. }) =>
                {
                    failures.push(format!("{model}: {err}"));
                    last = Some(err);
                }
                Err(err) => return Err(err),
            }
        }
        let (kind, retry_after) = match last {
            Some(Error::Llm { kind, retry_after, .. }) => (kind, retry_after),
            _ => (LlmErrorKind::Unavailable, None),
        };
        Err(Error::Llm { kind, message: format!("every model failed: {}", failures.join("; ")), retry_after })
    }
}

/// Makes sure the stream names its model before any content.
fn announce(stream: ChatStream, model: String) -> ChatStream {
    let mut announced = false;
    stream
        .flat_map(move |item| {
            let mut out = Vec::with_capacity(2);
            match &item {
                Ok(ChatChunk::Model { .. }) => announced = true,
                Ok(_) if !announced => {
                    announced = true;
                    out.push(Ok(ChatChunk::Model { model: model.clone() }));
                }
                _ => {}
            }
            out.push(item);
            futures::stream::iter(out)
        })
        .boxed()
}
