//! LLM providers: the [`LlmProvider`] trait and the chat types every provider speaks.
//!
//! A provider turns a [`ChatRequest`] into either one [`ChatResponse`] or a [`ChatStream`] of
//! [`ChatChunk`]s. Tools (function calling) and structured output are part of the request so
//! every provider fits the same trait; a provider whose API lacks them falls back to plain text.

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::event::Usage;

pub mod anthropic;
pub mod env;
pub mod fallback;
pub mod gemini;
pub mod http;
pub mod openai;
pub mod registry;
pub mod resilience;

pub use anthropic::AnthropicProvider;
pub use fallback::{FallbackModel, FallbackProvider};
pub use gemini::GeminiProvider;
pub use http::ApiKey;
pub use openai::OpenAiProvider;
pub use registry::{ModelEntry, ModelRegistry, SecretOpener};
pub use resilience::{ResilienceConfig, ResilientProvider};

/// A stream of chunks from a provider.
pub type ChatStream = BoxStream<'static, Result<ChatChunk>>;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions.
    System,
    /// The person (or the application on their behalf).
    User,
    /// The model.
    Assistant,
    /// The result of a tool call.
    Tool,
}

/// A tool call the model asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Provider-assigned id, echoed back in the tool result message.
    pub id: String,
    /// Tool name.
    pub name: String,
    /// Arguments as a JSON string (as the model wrote them).
    pub arguments: String,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Author.
    pub role: Role,
    /// Text content.
    pub content: String,
    /// Tool calls made by an assistant message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For `Role::Tool`: the id of the call this answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    fn new(role: Role, content: impl Into<String>) -> Self {
        Self { role, content: content.into(), tool_calls: Vec::new(), tool_call_id: None }
    }
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::new(Role::System, content)
    }
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, content)
    }
    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(Role::Assistant, content)
    }
    /// A tool result.
    pub fn tool(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self { tool_call_id: Some(call_id.into()), ..Self::new(Role::Tool, content) }
    }
}

/// A tool the model may call, described by a JSON Schema of its arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Name the model uses.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters: serde_json::Value,
}

/// The shape the reply must take.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseFormat {
    /// Free text.
    #[default]
    Text,
    /// Any JSON object.
    JsonObject,
    /// JSON matching a schema (e.g. from `schemars::schema_for!`).
    JsonSchema {
        /// Schema name.
        name: String,
        /// The JSON Schema.
        schema: serde_json::Value,
    },
}

/// A request to a chat model.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatRequest {
    /// Model id; `None` uses the provider's configured default.
    pub model: Option<String>,
    /// The conversation.
    pub messages: Vec<ChatMessage>,
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// Maximum tokens to generate.
    pub max_tokens: Option<u32>,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolSpec>,
    /// Required shape of the reply.
    #[serde(default)]
    pub response_format: ResponseFormat,
}

impl ChatRequest {
    /// A request with these messages and defaults elsewhere.
    pub fn new(messages: Vec<ChatMessage>) -> Self {
        Self { messages, ..Default::default() }
    }
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// Natural end.
    Stop,
    /// Hit `max_tokens`.
    Length,
    /// Wants tool results.
    ToolCalls,
    /// Refused by a content filter.
    ContentFilter,
    /// Anything else the provider said.
    Other(String),
}

/// A complete reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The model that answered.
    pub model: String,
    /// Text content.
    pub content: String,
    /// Tool calls requested.
    pub tool_calls: Vec<ToolCall>,
    /// Tokens used.
    pub usage: Usage,
    /// Why it stopped.
    pub finish_reason: Option<FinishReason>,
}

/// One piece of a streamed reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatChunk {
    /// Text to append.
    Delta {
        /// The text.
        text: String,
    },
    /// Part of a tool call; parts with the same `index` concatenate.
    ToolCallDelta {
        /// Position of the call in the reply.
        index: u32,
        /// Call id (first part only).
        id: Option<String>,
        /// Tool name (first part only).
        name: Option<String>,
        /// A piece of the JSON arguments.
        arguments: String,
    },
    /// Token usage (usually last).
    Usage(Usage),
    /// The model that is answering (providers may resolve aliases).
    Model {
        /// Model id.
        model: String,
    },
    /// End of the reply.
    Finish {
        /// Why.
        reason: FinishReason,
    },
}

/// A chat model behind an API.
///
/// Object-safe: hold it as `Arc<dyn LlmProvider>`.
#[async_trait]
pub trait LlmProvider: Send + Sync {
    /// Short provider name (`openai`, `anthropic`, `gemini`, ...).
    fn name(&self) -> &str;

    /// The model used when a request names none.
    fn default_model(&self) -> &str;

    /// Sends the request and waits for the whole reply.
    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse>;

    /// Sends the request and streams the reply. Dropping the stream cancels the request.
    async fn stream(&self, request: ChatRequest) -> Result<ChatStream>;
}

/// The instruction that replaces `response_format` for a model that lacks structured output.
pub(crate) fn format_instruction(format: &ResponseFormat) -> String {
    match format {
        ResponseFormat::Text => String::new(),
        ResponseFormat::JsonObject => "Reply with exactly one JSON object and nothing else.".into(),
        ResponseFormat::JsonSchema { name, schema } => format!(
            "Reply with exactly one JSON object and nothing else (no prose, no code fence). \
             It must match this JSON Schema (named {name}): {schema}"
        ),
    }
}

impl ChatResponse {
    /// An empty response from `model`, to fill chunk by chunk.
    pub fn empty(model: impl Into<String>) -> Self {
        Self { model: model.into(), content: String::new(), tool_calls: Vec::new(), usage: Usage::default(), finish_reason: None }
    }

    /// Folds one streamed chunk into the response (tool-call parts join by index).
    pub fn push_chunk(&mut self, chunk: ChatChunk) {
        match chunk {
            ChatChunk::Delta { text } => self.content.push_str(&text),
            ChatChunk::ToolCallDelta { index, id, name, arguments } => {
                let index = index as usize;
                while self.tool_calls.len() <= index {
                    self.tool_calls.push(ToolCall { id: String::new(), name: String::new(), arguments: String::new() });
                }
                let call = &mut self.tool_calls[index];
                if let Some(id) = id {
                    call.id = id;
                }
                if let Some(name) = name {
                    call.name.push_str(&name);
                }
                call.arguments.push_str(&arguments);
            }
            ChatChunk::Usage(usage) => self.usage = usage,
            ChatChunk::Model { model } => self.model = model,
            ChatChunk::Finish { reason } => self.finish_reason = Some(reason),
        }
    }
}

/// Collects a stream into a complete response (text, tool calls, usage).
pub async fn collect_stream(mut stream: ChatStream, model: String) -> Result<ChatResponse> {
    use futures::StreamExt;
    let mut response = ChatResponse::empty(model);
    while let Some(chunk) = stream.next().await {
        response.push_chunk(chunk?);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn collect_joins_split_tool_call_deltas() {
        let chunks = vec![
            Ok(ChatChunk::ToolCallDelta {
                index: 0,
                id: Some("c1".into()),
                name: Some("run_sql".into()),
                arguments: "{\"sql\":".into(),
            }),
            Ok(ChatChunk::ToolCallDelta { index: 0, id: None, name: None, arguments: "\"SELECT 1\"}".into() }),
            Ok(ChatChunk::Usage(Usage { prompt_tokens: 3, completion_tokens: 4 })),
            Ok(ChatChunk::Finish { reason: FinishReason::ToolCalls }),
        ];
        let stream: ChatStream = Box::pin(futures::stream::iter(chunks));
        let r = collect_stream(stream, "m".into()).await.unwrap();
        assert_eq!(r.tool_calls[0].arguments, "{\"sql\":\"SELECT 1\"}");
        assert_eq!(r.tool_calls[0].name, "run_sql");
        assert_eq!(r.usage.total(), 7);
        assert_eq!(r.finish_reason, Some(FinishReason::ToolCalls));
    }
}

/// Which provider API to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// OpenAI-compatible chat completions (OpenAI, DeepSeek, OpenRouter, vLLM, llama.cpp, Ollama...).
    #[default]
    Openai,
    /// Anthropic Messages.
    Anthropic,
    /// Google Gemini generateContent.
    Gemini,
}

/// Plain configuration of one provider: what each binding maps its options onto.
///
/// `Debug` hides the API key.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ProviderConfig {
    /// Which API.
    pub kind: ProviderKind,
    /// Base URL (e.g. `https://api.openai.com/v1`, `http://127.0.0.1:8089/v1`).
    pub base_url: Option<String>,
    /// Default model id.
    pub model: Option<String>,
    /// API key (never logged, never in errors).
    pub api_key: Option<String>,
    /// Models tried in order when the first fails with a retryable error.
    pub fallback_models: Vec<String>,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &ApiKey::new(self.api_key.clone()))
            .field("fallback_models", &self.fallback_models)
            .finish()
    }
}

impl ProviderConfig {
    /// Reads `AIGIS_LLM_*` (and the usual provider variables) from the process environment.
    ///
    /// See [`env`] for the variables and their precedence. Succeeds even when nothing is set;
    /// [`ProviderConfig::build`] then says what to set.
    pub fn from_env() -> crate::Result<Self> {
        env::from_vars(|k| std::env::var(k).ok())
    }

    /// Like [`ProviderConfig::from_env`], reading variables through `get` (tests pass a map).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> crate::Result<Self> {
        env::from_vars(get)
    }

    /// Builds the provider, with default timeouts and retries, and the fallback chain when
    /// `fallback_models` is set.
    pub fn build(&self) -> crate::Result<std::sync::Arc<dyn LlmProvider>> {
        env::build(self)
    }

    /// Like [`ProviderConfig::build`] with these timeouts and retries.
    pub fn build_with(&self, resilience: &ResilienceConfig) -> crate::Result<std::sync::Arc<dyn LlmProvider>> {
        env::build_with(self, resilience)
    }
}
