//! Google Gemini (`POST {base_url}/models/{model}:streamGenerateContent?alt=sse`).
//!
//! Each SSE event is a whole `GenerateContentResponse`: `candidates[0].content.parts` (text or a
//! complete `functionCall`), `finishReason` on the last one, and `usageMetadata`. There is no end
//! marker: the body just ends. The key goes in the `x-goog-api-key` header, never in the URL.

use std::collections::{HashMap, VecDeque};

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::{self, ApiKey, Decoder, Features};
use super::{
    ChatChunk, ChatRequest, ChatResponse, ChatStream, FinishReason, LlmProvider, ResponseFormat, Role, collect_stream,
};
use crate::event::Usage;
use crate::{Error, LlmErrorKind, Result};

/// Default base URL.
pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com/v1beta";

/// A provider speaking Gemini generateContent.
#[derive(Debug, Clone)]
pub struct GeminiProvider {
    client: reqwest::Client,
    base_url: String,
    model: String,
    key: ApiKey,
}

impl GeminiProvider {
    /// A provider for `base_url` (e.g. [`DEFAULT_BASE_URL`]) answering with `model` by default.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Result<Self> {
        Ok(Self {
            client: http::client(http::DEFAULT_CONNECT_TIMEOUT)?,
            base_url: base_url.into(),
            model: model.into(),
            key: ApiKey::default(),
        })
    }

    /// Sets the API key (sent as `x-goog-api-key`).
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
impl LlmProvider for GeminiProvider {
    fn name(&self) -> &str {
        "gemini"
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
        let path = format!("models/{}:streamGenerateContent?alt=sse", model.trim_start_matches("models/"));
        let url = http::join_url(&self.base_url, &path);
        let response = http::send_with_fallback(&request, |features| {
            let body = request_body(&request, features);
            let (url, key, client) = (&url, &self.key, &self.client);
            async move {
                let auth = key.get().map(|k| ("x-goog-api-key", k.to_string()));
                http::post_json(client, url, auth, &[], &body, key, "gemini").await
            }
        })
        .await?;
        Ok(http::decode_stream(response, self.key.clone(), StreamState::new(model)))
    }
}

fn request_body(request: &ChatRequest, features: Features) -> Value {
    let mut system: Vec<String> =
        request.messages.iter().filter(|m| m.role == Role::System).map(|m| m.content.clone()).collect();
    // Gemini answers a function call by name, so remember which name each call id had.
    let names: HashMap<&str, &str> =
        request.messages.iter().flat_map(|m| m.tool_calls.iter().map(|c| (c.id.as_str(), c.name.as_str()))).collect();
    let contents: Vec<Value> = request
        .messages
        .iter()
        .filter(|m| m.role != Role::System)
        .map(|m| match m.role {
            Role::Tool => {
                let id = m.tool_call_id.as_deref().unwrap_or_default();
                let name = names.get(id).copied().unwrap_or(id);
                json!({"role": "user", "parts": [{"functionResponse": {"name": name,
                    "response": {"content": m.content}}}]})
            }
            Role::Assistant => {
                let mut parts = Vec::new();
                if !m.content.is_empty() {
                    parts.push(json!({"text": m.content}));
                }
                for c in &m.tool_calls {
                    let args: Value = serde_json::from_str(&c.arguments).unwrap_or_else(|_| json!({}));
                    parts.push(json!({"functionCall": {"name": c.name, "args": args}}));
                }
                json!({"role": "model", "parts": parts})
            }
            Role::User | Role::System => json!({"role": "user", "parts": [{"text": m.content}]}),
        })
        .collect();
    let mut config = serde_json::Map::new();
    if let Some(t) = request.temperature {
        config.insert("temperature".into(), json!(t));
    }
    if let Some(m) = request.max_tokens {
        config.insert("maxOutputTokens".into(), json!(m));
    }
    match (&request.response_format, features.response_format) {
        (ResponseFormat::Text, _) => {}
        (ResponseFormat::JsonObject, true) => {
            config.insert("responseMimeType".into(), json!("application/json"));
        }
        (ResponseFormat::JsonSchema { schema, .. }, true) if !has_ref(schema) => {
            config.insert("responseMimeType".into(), json!("application/json"));
            config.insert("responseSchema".into(), openapi_schema(schema));
        }
        // `$ref`s are outside the OpenAPI subset Gemini reads; an instruction carries the schema.
        (format, _) => system.push(super::format_instruction(format)),
    }
    let mut body = json!({ "contents": contents });
    if !system.is_empty() {
        body["systemInstruction"] = json!({"parts": [{"text": system.join("\n\n")}]});
    }
    if !config.is_empty() {
        body["generationConfig"] = Value::Object(config);
    }
    if features.tools && !request.tools.is_empty() {
        let decls: Vec<Value> = request
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "parameters": openapi_schema(&t.parameters)}))
            .collect();
        body["tools"] = json!([{ "functionDeclarations": decls }]);
    }
    body
}

fn has_ref(schema: &Value) -> bool {
    match schema {
        Value::Object(o) => o.contains_key("$ref") || o.values().any(has_ref),
        Value::Array(a) => a.iter().any(has_ref),
        _ => false,
    }
}

/// A JSON Schema trimmed to the OpenAPI subset Gemini accepts (no `$schema`, `title`,
/// `additionalProperties`, `default`, `examples`, `$defs`).
fn openapi_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| {
                    !matches!(
                        k.as_str(),
                        "$schema" | "title" | "additionalProperties" | "default" | "examples" | "$defs" | "definitions"
                    )
                })
                .map(|(k, v)| (k.clone(), if k == "properties" { map_values(v) } else { openapi_schema(v) }))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(openapi_schema).collect()),
        other => other.clone(),
    }
}

/// Under `properties` the keys are field names (a field may be called `title`), not keywords.
fn map_values(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), openapi_schema(v))).collect()),
        other => openapi_schema(other),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireResponse {
    #[serde(default)]
    candidates: Vec<WireCandidate>,
    #[serde(default)]
    usage_metadata: Option<WireUsage>,
    #[serde(default)]
    model_version: Option<String>,
    #[serde(default)]
    prompt_feedback: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireCandidate {
    #[serde(default)]
    content: Option<WireContent>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireContent {
    #[serde(default)]
    parts: Vec<WirePart>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePart {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    thought: Option<bool>,
    #[serde(default)]
    function_call: Option<WireCall>,
}

#[derive(Deserialize)]
struct WireCall {
    name: String,
    #[serde(default)]
    args: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireUsage {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
    #[serde(default)]
    thoughts_token_count: u64,
}

/// Decodes the Gemini SSE stream.
pub(crate) struct StreamState {
    requested_model: String,
    model_sent: bool,
    calls: u32,
    finished: bool,
    usage: Option<Usage>,
}

impl StreamState {
    pub(crate) fn new(requested_model: String) -> Self {
        Self { requested_model, model_sent: false, calls: 0, finished: false, usage: None }
    }

    fn finish(&mut self, reason: FinishReason, out: &mut VecDeque<ChatChunk>) {
        self.finished = true;
        out.push_back(ChatChunk::Finish { reason });
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
        let r: WireResponse = serde_json::from_str(data).map_err(|e| http::bad_chunk("gemini", data, &e, key))?;
        if let Some(err) = r.error {
            let detail = http::error_detail(&json!({ "error": err }).to_string());
            let kind = match err["code"].as_u64() {
                Some(429) => LlmErrorKind::RateLimited,
                Some(401) | Some(403) => LlmErrorKind::Auth,
                _ => LlmErrorKind::Unavailable,
            };
            return Err(Error::llm(kind, key.scrub(&format!("gemini error in stream: {detail}"))));
        }
        if !self.model_sent {
            self.model_sent = true;
            let model = r.model_version.filter(|m| !m.is_empty()).unwrap_or_else(|| self.requested_model.clone());
            out.push_back(ChatChunk::Model { model });
        }
        if let Some(u) = r.usage_metadata {
            // Each chunk repeats the running totals; the last one is final.
            self.usage = Some(Usage {
                prompt_tokens: u.prompt_token_count,
                completion_tokens: u.candidates_token_count + u.thoughts_token_count,
            });
        }
        if r.prompt_feedback.as_ref().is_some_and(|f| f.get("blockReason").is_some()) && r.candidates.is_empty() {
            self.finish(FinishReason::ContentFilter, out);
        }
        if let Some(candidate) = r.candidates.into_iter().next() {
            for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
                if part.thought == Some(true) {
                    continue;
                }
                if let Some(text) = part.text.filter(|t| !t.is_empty()) {
                    out.push_back(ChatChunk::Delta { text });
                }
                if let Some(call) = part.function_call {
                    let index = self.calls;
                    self.calls += 1;
                    out.push_back(ChatChunk::ToolCallDelta {
                        index,
                        id: Some(format!("call_{index}")),
                        name: Some(call.name),
                        arguments: if call.args.is_null() { "{}".into() } else { call.args.to_string() },
                    });
                }
            }
            if let Some(reason) = candidate.finish_reason {
                let reason = match reason.as_str() {
                    "STOP" if self.calls > 0 => FinishReason::ToolCalls,
                    "STOP" => FinishReason::Stop,
                    "MAX_TOKENS" => FinishReason::Length,
                    "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" => {
                        FinishReason::ContentFilter
                    }
                    other => FinishReason::Other(other.to_string()),
                };
                self.finish(reason, out);
            }
        }
        Ok(false)
    }

    fn on_end(&mut self, out: &mut VecDeque<ChatChunk>) -> Result<()> {
        if !self.finished {
            return Err(Error::llm(LlmErrorKind::Unavailable, "the stream ended before a finish reason"));
        }
        if let Some(u) = self.usage {
            out.push_back(ChatChunk::Usage(u));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ChatMessage;

    #[test]
    fn schema_is_trimmed_but_field_names_survive() {
        let mut req = ChatRequest::new(vec![ChatMessage::system("s"), ChatMessage::user("u")]);
        let schema = json!({"$schema": "x", "title": "T", "type": "object", "additionalProperties": false,
            "properties": {"title": {"type": "string", "title": "Title"}}});
        req.response_format = ResponseFormat::JsonSchema { name: "n".into(), schema };
        let body = request_body(&req, Features::all());
        let s = &body["generationConfig"]["responseSchema"];
        assert_eq!(body["generationConfig"]["responseMimeType"], "application/json");
        assert!(s.get("$schema").is_none() && s.get("additionalProperties").is_none());
        assert_eq!(s["properties"]["title"], json!({"type": "string"}));
        assert_eq!(body["systemInstruction"]["parts"][0]["text"], "s");
    }
}
