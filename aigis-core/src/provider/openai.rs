//! OpenAI-compatible chat completions (`POST {base_url}/chat/completions`): OpenAI, DeepSeek,
//! OpenRouter, Groq, Together, vLLM, LM Studio, Ollama's `/v1`, llama.cpp server.
//!
//! Streams with `stream_options.include_usage` so the last chunk carries token usage. When a
//! server rejects an optional feature (`stream_options`, `response_format`, `tools`) with a 400,
//! the request is retried once without it: structured output then becomes an instruction in the
//! prompt, which is the plain-text fallback for models that lack it.

use std::collections::VecDeque;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::{self, ApiKey, Decoder, Features};
use super::{
    ChatChunk, ChatRequest, ChatResponse, ChatStream, FinishReason, LlmProvider, ResponseFormat, Role, collect_stream,
};
use crate::event::Usage;
use crate::{Error, LlmErrorKind, Result};

/// Default base URL (OpenAI itself).
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// A provider speaking OpenAI-compatible chat completions.
#[derive(Debug, Clone)]
pub struct OpenAiProvider {
    client: reqwest::Client,
    base_url: String,
    model: String,
    key: ApiKey,
    name: String,
}

impl OpenAiProvider {
    /// A provider for `base_url` (e.g. `http://127.0.0.1:8089/v1`) answering with `model` by default.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Result<Self> {
        Ok(Self {
            client: http::client(http::DEFAULT_CONNECT_TIMEOUT)?,
            base_url: base_url.into(),
            model: model.into(),
            key: ApiKey::default(),
            name: "openai".into(),
        })
    }

    /// Sets the API key (sent as `Authorization: Bearer`).
    pub fn with_api_key(mut self, key: Option<String>) -> Self {
        self.key = ApiKey::new(key);
        self
    }

    /// Uses this HTTP client (e.g. with other timeouts or a proxy).
    pub fn with_client(mut self, client: reqwest::Client) -> Self {
        self.client = client;
        self
    }

    /// Sets the connect timeout.
    pub fn with_connect_timeout(mut self, timeout: std::time::Duration) -> Result<Self> {
        self.client = http::client(timeout)?;
        Ok(self)
    }

    /// Sets the name reported by [`LlmProvider::name`] (e.g. `deepseek`, `openrouter`).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    async fn send(&self, body: &Value) -> Result<reqwest::Response> {
        let url = http::join_url(&self.base_url, "chat/completions");
        let auth = self.key.get().map(|k| ("authorization", format!("Bearer {k}")));
        http::post_json(&self.client, &url, auth, &[], body, &self.key, &self.name).await
    }
}

#[async_trait]
impl LlmProvider for OpenAiProvider {
    fn name(&self) -> &str {
        &self.name
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
        let response = http::send_with_fallback(&request, |features| {
            let body = request_body(&request, &model, features);
            async move { self.send(&body).await }
        })
        .await?;
        Ok(http::decode_stream(response, self.key.clone(), StreamState::new(model, estimate_prompt_tokens(&request))))
    }
}

/// The JSON body of a streamed chat-completions request.
fn request_body(request: &ChatRequest, model: &str, features: Features) -> Value {
    let mut messages: Vec<Value> = request.messages.iter().map(message_json).collect();
    let mut body = json!({ "model": model, "stream": true });
    if features.stream_options {
        body["stream_options"] = json!({ "include_usage": true });
    }
    if let Some(t) = request.temperature {
        body["temperature"] = json!(t);
    }
    if let Some(m) = request.max_tokens {
        body["max_tokens"] = json!(m);
    }
    if features.tools && !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|t| {
                json!({"type": "function", "function": {
                    "name": t.name, "description": t.description, "parameters": t.parameters }})
            })
            .collect();
        body["tools"] = Value::Array(tools);
    }
    match (&request.response_format, features.response_format) {
        (ResponseFormat::Text, _) => {}
        (ResponseFormat::JsonObject, true) => body["response_format"] = json!({"type": "json_object"}),
        (ResponseFormat::JsonSchema { name, schema }, true) => {
            body["response_format"] =
                json!({"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": false}});
        }
        (format, false) => messages.push(json!({"role": "system", "content": super::format_instruction(format)})),
    }
    body["messages"] = Value::Array(messages);
    body
}

fn message_json(m: &super::ChatMessage) -> Value {
    let role = match m.role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    };
    let mut v = json!({ "role": role, "content": m.content });
    if !m.tool_calls.is_empty() {
        let calls: Vec<Value> = m
            .tool_calls
            .iter()
            .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
            .collect();
        v["tool_calls"] = Value::Array(calls);
        if m.content.is_empty() {
            v["content"] = Value::Null;
        }
    }
    if let Some(id) = &m.tool_call_id {
        v["tool_call_id"] = json!(id);
    }
    v
}

#[derive(Deserialize)]
struct WireChunk {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct WireChoice {
    #[serde(default)]
    delta: Option<WireDelta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireDelta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<WireToolCall>,
}

#[derive(Deserialize)]
struct WireToolCall {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<WireFunction>,
}

#[derive(Deserialize)]
struct WireFunction {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

/// Turns SSE `data` payloads into chunks; kept apart from I/O so it can be tested and benched.
pub(crate) struct StreamState {
    requested_model: String,
    model_sent: bool,
    finished: bool,
    usage_seen: bool,
    prompt_estimate: u64,
    pieces: u64,
}

impl StreamState {
    /// `prompt_estimate` is reported when the server sends no usage (see [`estimate_prompt_tokens`]).
    pub(crate) fn new(requested_model: String, prompt_estimate: u64) -> Self {
        Self { requested_model, model_sent: false, finished: false, usage_seen: false, prompt_estimate, pieces: 0 }
    }

    /// Handles one `data` payload; returns `true` at `[DONE]`.
    pub(crate) fn on_data(&mut self, data: &str, key: &ApiKey, out: &mut VecDeque<ChatChunk>) -> Result<bool> {
        let data = data.trim();
        if data == "[DONE]" {
            // llama.cpp-python interrupts a stream with a bare [DONE] when another request
            // waits; without a finish reason the reply is cut short, so it is retryable.
            if !self.finished {
                return Err(Error::llm(
                    LlmErrorKind::Unavailable,
                    "the server ended the stream without a finish reason",
                ));
            }
            self.end(out);
            return Ok(true);
        }
        if data.is_empty() {
            return Ok(false);
        }
        let chunk: WireChunk = serde_json::from_str(data).map_err(|e| http::bad_chunk("openai", data, &e, key))?;
        if let Some(err) = chunk.error {
            let detail = http::error_detail(&json!({ "error": err }).to_string());
            let lower = detail.to_ascii_lowercase();
            let kind = if lower.contains("context") {
                LlmErrorKind::ContextTooLong
            } else if lower.contains("rate") {
                LlmErrorKind::RateLimited
            } else {
                LlmErrorKind::Unavailable
            };
            return Err(Error::llm(kind, key.scrub(&format!("error in stream: {detail}"))));
        }
        self.announce_model(chunk.model, out);
        for choice in chunk.choices {
            if let Some(delta) = choice.delta {
                if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                    self.pieces += 1;
                    out.push_back(ChatChunk::Delta { text });
                }
                for call in delta.tool_calls {
                    let (name, arguments) = match call.function {
                        Some(f) => (f.name, f.arguments.unwrap_or_default()),
                        None => (None, String::new()),
                    };
                    self.pieces += 1;
                    out.push_back(ChatChunk::ToolCallDelta { index: call.index, id: call.id, name, arguments });
                }
            }
            if let Some(reason) = choice.finish_reason {
                self.finished = true;
                out.push_back(ChatChunk::Finish { reason: finish_reason(&reason) });
            }
        }
        if let Some(u) = chunk.usage {
            self.usage_seen = true;
            out.push_back(ChatChunk::Usage(Usage {
                prompt_tokens: u.prompt_tokens,
                completion_tokens: u.completion_tokens,
            }));
        }
        Ok(false)
    }
}

impl Decoder for StreamState {
    fn on_event(
        &mut self,
        event: &eventsource_stream::Event,
        key: &ApiKey,
        out: &mut VecDeque<ChatChunk>,
    ) -> Result<bool> {
        self.on_data(&event.data, key, out)
    }

    /// The body ended without `[DONE]`: fine after a finish reason, else the connection broke.
    fn on_end(&mut self, out: &mut VecDeque<ChatChunk>) -> Result<()> {
        if self.finished {
            self.end(out);
            Ok(())
        } else {
            Err(Error::llm(LlmErrorKind::Unavailable, "the stream ended before the reply was complete"))
        }
    }
}

impl StreamState {
    /// At the end: name the model if no chunk did, and estimate usage if the server sent none
    /// (llama-cpp-python ignores `include_usage`; servers stream about one token per delta).
    fn end(&mut self, out: &mut VecDeque<ChatChunk>) {
        self.announce_model(None, out);
        if !self.usage_seen {
            self.usage_seen = true;
            tracing::debug!(model = %self.requested_model, "no usage in the stream; reporting an estimate");
            out.push_back(ChatChunk::Usage(Usage {
                prompt_tokens: self.prompt_estimate,
                completion_tokens: self.pieces,
            }));
        }
    }

    fn announce_model(&mut self, model: Option<String>, out: &mut VecDeque<ChatChunk>) {
        if !self.model_sent {
            self.model_sent = true;
            let model = model.filter(|m| !m.is_empty()).unwrap_or_else(|| self.requested_model.clone());
            out.push_back(ChatChunk::Model { model });
        }
    }
}

/// A rough prompt size for servers that report no usage: about four characters per token plus
/// a few tokens of chat template per message.
pub(crate) fn estimate_prompt_tokens(request: &ChatRequest) -> u64 {
    request.messages.iter().map(|m| (m.content.len() as u64).div_ceil(4) + 4).sum()
}

/// Maps an OpenAI finish reason.
fn finish_reason(reason: &str) -> FinishReason {
    match reason {
        "stop" | "end_turn" => FinishReason::Stop,
        "length" => FinishReason::Length,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{ChatMessage, ToolSpec};

    #[test]
    fn parses_text_tool_calls_usage_and_done() {
        let key = ApiKey::default();
        let mut s = StreamState::new("m".into(), 0);
        let lines = [
            r#"{"model":"gpt-x","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"content":"lo"}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"run_sql","arguments":"{\"sql\":"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"SELECT 1\"}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}"#,
        ];
        let mut out = VecDeque::new();
        for l in lines {
            assert!(!s.on_data(l, &key, &mut out).unwrap());
        }
        assert!(s.on_data("[DONE]", &key, &mut out).unwrap());
        let chunks: Vec<ChatChunk> = out.into_iter().collect();
        assert_eq!(chunks.iter().filter(|c| matches!(c, ChatChunk::Usage(_))).count(), 1, "no estimate on top");
        assert_eq!(chunks[0], ChatChunk::Model { model: "gpt-x".into() });
        assert_eq!(chunks[1], ChatChunk::Delta { text: "Hel".into() });
        assert!(chunks.contains(&ChatChunk::Finish { reason: FinishReason::ToolCalls }));
        assert_eq!(chunks.last(), Some(&ChatChunk::Usage(Usage { prompt_tokens: 5, completion_tokens: 7 })));
    }

    #[test]
    fn missing_usage_is_estimated() {
        let mut s = StreamState::new("m".into(), 9);
        let mut out = VecDeque::new();
        for piece in ["a", "b", "c"] {
            s.on_data(&format!(r#"{{"choices":[{{"delta":{{"content":"{piece}"}}}}]}}"#), &ApiKey::default(), &mut out)
                .unwrap();
        }
        s.on_data(r#"{"choices":[{"delta":{},"finish_reason":"stop"}]}"#, &ApiKey::default(), &mut out).unwrap();
        s.on_data("[DONE]", &ApiKey::default(), &mut out).unwrap();
        assert_eq!(out.back(), Some(&ChatChunk::Usage(Usage { prompt_tokens: 9, completion_tokens: 3 })));
    }

    #[test]
    fn malformed_chunk_is_bad_response() {
        let mut s = StreamState::new("m".into(), 0);
        let err = s.on_data("{not json", &ApiKey::default(), &mut VecDeque::new()).unwrap_err();
        assert_eq!(err.code(), "llm_bad_response");
    }

    #[test]
    fn end_without_finish_is_unavailable() {
        let mut s = StreamState::new("m".into(), 0);
        let mut out = VecDeque::new();
        s.on_data(r#"{"choices":[{"delta":{"content":"x"}}]}"#, &ApiKey::default(), &mut out).unwrap();
        assert_eq!(s.on_end(&mut out).unwrap_err().code(), "llm_unavailable");
    }

    #[test]
    fn body_carries_tools_schema_and_usage_option() {
        let mut req = ChatRequest::new(vec![ChatMessage::system("s"), ChatMessage::user("u")]);
        req.tools.push(ToolSpec { name: "t".into(), description: "d".into(), parameters: json!({"type":"object"}) });
        req.response_format = ResponseFormat::JsonSchema { name: "n".into(), schema: json!({"type":"object"}) };
        let body = request_body(&req, "m", Features::all());
        assert_eq!(body["stream_options"]["include_usage"], json!(true));
        assert_eq!(body["tools"][0]["function"]["name"], json!("t"));
        assert_eq!(body["response_format"]["type"], json!("json_schema"));
        let plain = request_body(&req, "m", Features { response_format: false, ..Features::all() });
        assert!(plain.get("response_format").is_none());
        let last = plain["messages"].as_array().unwrap().last().unwrap().clone();
        assert!(last["content"].as_str().unwrap().contains("JSON"));
    }
}
