//! Wire tests of the Anthropic Messages provider against the fake server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aigis_core::provider::{
    AnthropicProvider, ChatChunk, ChatMessage, ChatRequest, FinishReason, LlmProvider, ResponseFormat, ToolSpec,
};
use aigis_core::testing::{FakeLlm, Reply, drain};
use aigis_core::{Error, LlmErrorKind, Usage};
use serde_json::json;

const KEY: &str = "sk-ant-test-0123456789";

fn ask() -> ChatRequest {
    ChatRequest::new(vec![ChatMessage::system("be brief"), ChatMessage::user("how many stores?")])
}

fn provider(fake: &FakeLlm) -> AnthropicProvider {
    AnthropicProvider::new(fake.base_url(), "claude-test").unwrap().with_api_key(Some(KEY.into()))
}

#[tokio::test]
async fn streams_text_with_pings_and_usage() {
    let fake = FakeLlm::start(vec![Reply::text("Three stores.").usage(20, 3).model("claude-test-2025")]).await.unwrap();
    let (chunks, err) = drain(provider(&fake).stream(ask()).await.unwrap()).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(chunks[0], ChatChunk::Model { model: "claude-test-2025".into() });
    let text: String = chunks
        .iter()
        .filter_map(|c| if let ChatChunk::Delta { text } = c { Some(text.as_str()) } else { None })
        .collect();
    assert_eq!(text, "Three stores.");
    assert!(chunks.contains(&ChatChunk::Finish { reason: FinishReason::Stop }));
    assert_eq!(chunks.last(), Some(&ChatChunk::Usage(Usage { prompt_tokens: 20, completion_tokens: 3 })));

    let req = &fake.requests()[0];
    assert_eq!(req.path, "/v1/messages");
    assert_eq!(req.header("x-api-key"), Some(KEY));
    assert_eq!(req.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(req.body["system"], "be brief");
    assert_eq!(req.body["messages"][0], json!({"role": "user", "content": "how many stores?"}));
    assert_eq!(req.body["max_tokens"], 4096);
}

#[tokio::test]
async fn tool_use_input_json_deltas_are_joined() {
    let args = r#"{"sql":"SELECT count(*) FROM stores"}"#;
    let fake = FakeLlm::start(vec![Reply::text("Let me check. ").tool_call("run_sql", args)]).await.unwrap();
    let mut req = ask();
    req.tools.push(ToolSpec {
        name: "run_sql".into(),
        description: "Run SQL".into(),
        parameters: json!({"type": "object"}),
    });
    let r = provider(&fake).complete(req).await.unwrap();
    assert_eq!(r.content, "Let me check. ");
    assert_eq!(r.tool_calls.len(), 1);
    assert_eq!((r.tool_calls[0].id.as_str(), r.tool_calls[0].name.as_str()), ("toolu_0", "run_sql"));
    assert_eq!(r.tool_calls[0].arguments, args);
    assert_eq!(r.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(fake.requests()[0].body["tools"][0]["input_schema"], json!({"type": "object"}));
}

#[tokio::test]
async fn structured_output_uses_a_forced_tool_and_reads_as_text() {
    let answer = r#"{"count":3}"#;
    let fake = FakeLlm::start(vec![Reply::chunks(Vec::<String>::new()).tool_call("answer", answer)]).await.unwrap();
    let mut req = ask();
    req.response_format = ResponseFormat::JsonSchema { name: "answer".into(), schema: json!({"type": "object"}) };
    let r = provider(&fake).complete(req).await.unwrap();
    assert_eq!(r.content, answer);
    assert!(r.tool_calls.is_empty());
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    assert_eq!(fake.requests()[0].body["tool_choice"], json!({"type": "tool", "name": "answer"}));
}

#[tokio::test]
async fn unsupported_tools_fall_back_to_plain_text() {
    let fake = FakeLlm::start(vec![
        Reply::status(400, r#"{"type":"error","error":{"type":"invalid_request_error","message":"tools: this model does not support tool use"}}"#),
        Reply::text(r#"{"count":3}"#),
    ])
    .await
    .unwrap();
    let mut req = ask();
    req.response_format = ResponseFormat::JsonSchema { name: "answer".into(), schema: json!({"type": "object"}) };
    let r = provider(&fake).complete(req).await.unwrap();
    assert_eq!(r.content, r#"{"count":3}"#);
    let second = &fake.requests()[1].body;
    assert!(second.get("tools").is_none());
    assert!(second["system"].as_str().unwrap().contains("JSON Schema"));
}

#[tokio::test]
async fn errors_are_typed_and_scrubbed() {
    let fake = FakeLlm::start(vec![
        Reply::status(
            401,
            format!(
                r#"{{"type":"error","error":{{"type":"authentication_error","message":"invalid x-api-key {KEY}"}}}}"#
            ),
        ),
        Reply::rate_limited(3),
        Reply::status(529, r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#),
        Reply::text("partial").then_malformed(),
        Reply::text("cut here").then_disconnect(),
    ])
    .await
    .unwrap();
    let llm = provider(&fake);
    let kinds = [
        LlmErrorKind::Auth,
        LlmErrorKind::RateLimited,
        LlmErrorKind::Unavailable,
        LlmErrorKind::BadResponse,
        LlmErrorKind::Unavailable,
    ];
    for expected in kinds {
        let e = llm.complete(ask()).await.unwrap_err();
        assert!(matches!(&e, Error::Llm { kind, .. } if *kind == expected), "{expected:?}: {e:?}");
        assert!(!format!("{e} {e:?}").contains(KEY));
        if expected == LlmErrorKind::RateLimited {
            assert!(matches!(e, Error::Llm { retry_after: Some(s), .. } if s == 3.0));
        }
    }
}
