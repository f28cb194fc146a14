//! Anthropic Messages (`POST {base_url}/messages`, streamed).
//!
//! Events: `message_start` (model, input tokens), `content_block_start` (text or `tool_use`),
//! `content_block_delta` (`text_delta`, `input_json_delta`), `content_block_stop`,
//! `message_delta` (stop reason, output tokens), `message_stop`, `ping` and `error`.
//! Structured output uses a forced tool whose input is the JSON reply; its input deltas are
//! streamed as text, so the caller sees the JSON as the reply content.

use std::collections::{HashMap, VecDeque};

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::{self, ApiKey, Decoder, Features};
use super::{
    ChatChunk, ChatMessage, ChatRequest, ChatResponse, ChatStream, FinishReason, LlmProvider, ResponseFormat, Role,
    collect_stream,
};
use crate::event::Usage;
use crate::{Error, LlmErrorKind, Result};

/// Default base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com/v1";
/// The API version header sent with every request.
pub const API_VERSION: &str = "2023-06-01";
/// `max_tokens` is required by the API; used when the request sets none.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// A provider speaking Anthropic Messages.
#[derive(Debug, Clone)]
pub struct AnthropicProvider {
    client: reqwest::Client,
    base_url: String,
    model: String,
    key: ApiKey,
}

impl AnthropicProvider {
    /// A provider for `base_url` (e.g. [`DEFAULT_BASE_URL`]) answering with `model` by default.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Result<Self> {
        Ok(Self {
            client: http::client(http::DEFAULT_CONNECT_TIMEOUT)?,
            base_url: base_url.into(),
            model: model.into(),
            key: ApiKey::default(),
        })
    }

    /// Sets the API key (sent as `x-api-key`).
    pub fn with_api_key(mut self, key: Option<String>) -> Self {
        self.key = ApiKey::new(key);
        self
    }

    /// Uses this HTTP client.
    pub fn with_client(mut self, client: reqwest::Client) -> Self {
        self.client = client;
        self
    }
}

#[async_trait]
impl LlmProvider for AnthropicProvider {
    fn name(&self) -> &str {
        "anthropic"
    }

    fn default_model(&self) -> &str {
        &self.model
    }

    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse> {
        let model = request.model.clone().unwrap_or_else(|| self.model.clone());
        collect_stream(self.stream(request).await?, model).await
    }

    async fn stream(&self, request: ChatRequest) -> Result<ChatStream> {
        let model = request.model.clone().unwrap_or_else(|| self.model.clone());
        let url = http::join_url(&self.base_url, "messages");
        let mut forced = None;
        let response = http::send_with_fallback(&request, |features| {
            let (body, tool) = request_body(&request, &model, features);
            forced = tool;
            let (url, key, client) = (&url, &self.key, &self.client);
            async move {
                let auth = key.get().map(|k| ("x-api-key", k.to_string()));
                http::post_json(client, url, auth, &[("anthropic-version", API_VERSION)], &body, key, "anthropic").await
            }
        })
        .await?;
        Ok(http::decode_stream(response, self.key.clone(), StreamState::new(model, forced)))
    }
}

/// The request body, and the name of the forced tool that carries structured output.
fn request_body(request: &ChatRequest, model: &str, features: Features) -> (Value, Option<String>) {
    let mut system: Vec<String> =
        request.messages.iter().filter(|m| m.role == Role::System).map(|m| m.content.clone()).collect();
    let messages: Vec<Value> = request.messages.iter().filter(|m| m.role != Role::System).map(message_json).collect();
    let mut body = json!({
        "model": model,
        "max_tokens": request.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        "messages": messages,
        "stream": true,
    });
    if let Some(t) = request.temperature {
        body["temperature"] = json!(t);
    }
    let mut tools: Vec<Value> = Vec::new();
    if features.tools {
        tools.extend(
            request
                .tools
                .iter()
                .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters})),
        );
    }
    let mut forced = None;
    match (&request.response_format, features.response_format) {
        (ResponseFormat::Text, _) => {}
        (ResponseFormat::JsonSchema { name, schema }, true) => {
            tools.push(json!({"name": name, "description": "Give the reply as this tool's input.",
                "input_schema": schema}));
            body["tool_choice"] = json!({"type": "tool", "name": name});
            forced = Some(name.clone());
        }
        // No native JSON mode: the instruction is the fallback.
        (format, _) => system.push(super::format_instruction(format)),
    }
    if !tools.is_empty() {
        body["tools"] = Value::Array(tools);
    }
    if !system.is_empty() {
        body["system"] = json!(system.join("\n\n"));
    }
    (body, forced)
}

fn message_json(m: &ChatMessage) -> Value {
    match m.role {
        Role::Tool => json!({"role": "user", "content": [{"type": "tool_result",
            "tool_use_id": m.tool_call_id.clone().unwrap_or_default(), "content": m.content}]}),
        Role::Assistant if !m.tool_calls.is_empty() => {
            let mut content = Vec::new();
            if !m.content.is_empty() {
                content.push(json!({"type": "text", "text": m.content}));
            }
            for c in &m.tool_calls {
                let input: Value = serde_json::from_str(&c.arguments).unwrap_or_else(|_| json!({}));
                content.push(json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input}));
            }
            json!({"role": "assistant", "content": content})
        }
        Role::Assistant => json!({"role": "assistant", "content": m.content}),
        Role::User | Role::System => json!({"role": "user", "content": m.content}),
    }
}

#[derive(Deserialize)]
struct WireEvent {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    message: Option<WireMessage>,
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    content_block: Option<WireBlock>,
    #[serde(default)]
    delta: Option<WireDelta>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireBlock {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct WireDelta {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    partial_json: Option<String>,
    #[serde(default)]
    stop_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
}

/// How a content block's deltas are passed on.
enum Block {
    /// Text, or the forced structured-output tool (its JSON is the reply text).
    Text,
    /// A tool call, at this position among the reply's tool calls.
    Tool(u32),
}

/// Decodes the Anthropic event stream.
pub(crate) struct StreamState {
    requested_model: String,
    forced_tool: Option<String>,
    blocks: HashMap<u32, Block>,
    tools: u32,
    usage: Usage,
}

impl StreamState {
    pub(crate) fn new(requested_model: String, forced_tool: Option<String>) -> Self {
        Self { requested_model, forced_tool, blocks: HashMap::new(), tools: 0, usage: Usage::default() }
    }
}

impl Decoder for StreamState {
    fn on_event(
        &mut self,
        event: &eventsource_stream::Event,
        key: &ApiKey,
        out: &mut VecDeque<ChatChunk>,
    ) -> Result<bool> {
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(false);
        }
        let ev: WireEvent = serde_json::from_str(data).map_err(|e| http::bad_chunk("anthropic", data, &e, key))?;
        match ev.kind.as_str() {
            "message_start" => {
                let message = ev.message.unwrap_or(WireMessage { model: None, usage: None });
                let model = message.model.filter(|m| !m.is_empty()).unwrap_or_else(|| self.requested_model.clone());
                out.push_back(ChatChunk::Model { model });
                self.add_usage(message.usage.unwrap_or_default());
            }
            "content_block_start" => {
                let index = ev.index.unwrap_or(0);
                let block = ev.content_block.unwrap_or(WireBlock { kind: "text".into(), id: None, name: None });
                if block.kind == "tool_use" && block.name != self.forced_tool {
                    let at = self.tools;
                    self.tools += 1;
                    self.blocks.insert(index, Block::Tool(at));
                    out.push_back(ChatChunk::ToolCallDelta {
                        index: at,
                        id: block.id,
                        name: block.name,
                        arguments: String::new(),
                    });
                } else {
                    self.blocks.insert(index, Block::Text);
                }
            }
            "content_block_delta" => {
                let delta = ev
                    .delta
                    .ok_or_else(|| Error::llm(LlmErrorKind::BadResponse, "content_block_delta without delta"))?;
                let piece = match delta.kind.as_deref() {
                    Some("input_json_delta") => delta.partial_json.unwrap_or_default(),
                    Some("text_delta") => delta.text.unwrap_or_default(),
                    // Thinking and signature deltas are not part of the reply.
                    _ => return Ok(false),
                };
                match self.blocks.get(&ev.index.unwrap_or(0)) {
                    Some(Block::Tool(at)) => {
                        out.push_back(ChatChunk::ToolCallDelta { index: *at, id: None, name: None, arguments: piece })
                    }
                    _ if !piece.is_empty() => out.push_back(ChatChunk::Delta { text: piece }),
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(reason) = ev.delta.and_then(|d| d.stop_reason) {
                    out.push_back(ChatChunk::Finish { reason: self.finish_reason(&reason) });
                }
                self.add_usage(ev.usage.unwrap_or_default());
            }
            "message_stop" => {
                out.push_back(ChatChunk::Usage(self.usage));
                return Ok(true);
            }
            "error" => {
                let err = ev.error.unwrap_or(Value::Null);
                let kind = match err["type"].as_str() {
                    Some("rate_limit_error") => LlmErrorKind::RateLimited,
                    Some("overloaded_error") | Some("api_error") => LlmErrorKind::Unavailable,
                    Some("authentication_error") | Some("permission_error") => LlmErrorKind::Auth,
                    _ => LlmErrorKind::BadResponse,
                };
                let detail = http::error_detail(&json!({ "error": err }).to_string());
                return Err(Error::llm(kind, key.scrub(&format!("anthropic error in stream: {detail}"))));
            }
            // `ping`, `content_block_stop` and event types added later carry nothing we need.
            _ => {}
        }
        Ok(false)
    }

    fn on_end(&mut self, _out: &mut VecDeque<ChatChunk>) -> Result<()> {
        Err(Error::llm(LlmErrorKind::Unavailable, "the stream ended before message_stop"))
    }
}

impl StreamState {
    fn add_usage(&mut self, u: WireUsage) {
        // `output_tokens` in message_delta is cumulative, so the latest value wins.
        if let Some(i) = u.input_tokens {
            self.usage.prompt_tokens = i;
        }
        if let Some(o) = u.output_tokens {
            self.usage.completion_tokens = o;
        }
    }

    fn finish_reason(&self, reason: &str) -> FinishReason {
        match reason {
            "end_turn" | "stop_sequence" | "pause_turn" => FinishReason::Stop,
            "tool_use" if self.forced_tool.is_some() && self.tools == 0 => FinishReason::Stop,
            "tool_use" => FinishReason::ToolCalls,
            "max_tokens" => FinishReason::Length,
            "refusal" => FinishReason::ContentFilter,
            other => FinishReason::Other(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_becomes_forced_tool_and_system_is_separate() {
        let mut req = ChatRequest::new(vec![ChatMessage::system("rules"), ChatMessage::user("q")]);
        req.response_format = ResponseFormat::JsonSchema { name: "answer".into(), schema: json!({"type": "object"}) };
        let (body, forced) = request_body(&req, "claude", Features::all());
        assert_eq!(forced.as_deref(), Some("answer"));
        assert_eq!(body["tool_choice"]["name"], "answer");
        assert_eq!(body["system"], "rules");
        assert_eq!(body["messages"].as_array().map(Vec::len), Some(1));
        let (plain, forced) = request_body(&req, "claude", Features { response_format: false, ..Features::all() });
        assert!(forced.is_none() && plain.get("tools").is_none());
        assert!(plain["system"].as_str().unwrap_or("").contains("JSON Schema"));
    }
}
