//! Wire tests of the Gemini provider against the fake server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aigis_core::provider::{
    ChatChunk, ChatMessage, ChatRequest, FinishReason, GeminiProvider, LlmProvider, ResponseFormat, ToolSpec,
};
use aigis_core::testing::{FakeLlm, Reply, drain};
use aigis_core::{Error, LlmErrorKind, Usage};
use serde_json::json;

const KEY: &str = "AIza-test-0123456789";

fn ask() -> ChatRequest {
    ChatRequest::new(vec![ChatMessage::system("be brief"), ChatMessage::user("how many stores?")])
}

fn provider(fake: &FakeLlm) -> GeminiProvider {
    GeminiProvider::new(fake.gemini_base_url(), "gemini-test").unwrap().with_api_key(Some(KEY.into()))
}

#[tokio::test]
async fn streams_json_chunks_with_usage() {
    let fake = FakeLlm::start(vec![Reply::text("Three stores in total.").usage(9, 4)]).await.unwrap();
    let (chunks, err) = drain(provider(&fake).stream(ask()).await.unwrap()).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(chunks[0], ChatChunk::Model { model: "gemini-test".into() });
    let deltas = chunks.iter().filter(|c| matches!(c, ChatChunk::Delta { .. })).count();
    assert_eq!(deltas, 4);
    assert!(chunks.contains(&ChatChunk::Finish { reason: FinishReason::Stop }));
    assert_eq!(chunks.last(), Some(&ChatChunk::Usage(Usage { prompt_tokens: 9, completion_tokens: 4 })));

    let req = &fake.requests()[0];
    assert_eq!(req.path, "/v1beta/models/gemini-test:streamGenerateContent?alt=sse");
    assert_eq!(req.header("x-goog-api-key"), Some(KEY));
    assert!(!req.path.contains(KEY), "the key never goes in the URL");
    assert_eq!(req.body["systemInstruction"]["parts"][0]["text"], "be brief");
    assert_eq!(req.body["contents"][0]["parts"][0]["text"], "how many stores?");
}

#[tokio::test]
async fn function_calls_and_schema() {
    let fake =
        FakeLlm::start(vec![Reply::chunks(["Checking."]).tool_call("run_sql", r#"{"sql":"SELECT 1"}"#)]).await.unwrap();
    let mut req = ask();
    req.tools.push(ToolSpec {
        name: "run_sql".into(),
        description: "Run SQL".into(),
        parameters: json!({"type": "object", "additionalProperties": false}),
    });
    req.response_format = ResponseFormat::JsonSchema { name: "a".into(), schema: json!({"type": "object"}) };
    let r = provider(&fake).complete(req).await.unwrap();
    assert_eq!(r.content, "Checking.");
    assert_eq!(r.tool_calls[0].name, "run_sql");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&r.tool_calls[0].arguments).unwrap(),
        json!({"sql": "SELECT 1"})
    );
    assert_eq!(r.finish_reason, Some(FinishReason::ToolCalls));
    let body = &fake.requests()[0].body;
    assert_eq!(body["tools"][0]["functionDeclarations"][0]["parameters"], json!({"type": "object"}));
    assert_eq!(body["generationConfig"]["responseMimeType"], "application/json");
}

#[tokio::test]
async fn errors_are_typed_and_scrubbed() {
    let fake = FakeLlm::start(vec![
        Reply::status(403, format!(r#"{{"error":{{"code":403,"message":"API key {KEY} not valid","status":"PERMISSION_DENIED"}}}}"#)),
        Reply::rate_limited(2),
        Reply::status(500, r#"{"error":{"code":500,"message":"Internal error","status":"INTERNAL"}}"#),
        Reply::text("partial").then_malformed(),
        Reply::text("cut here").then_disconnect(),
        Reply::status(400, r#"{"error":{"code":400,"message":"The input token count exceeds the maximum number of tokens allowed (context length 1048576).","status":"INVALID_ARGUMENT"}}"#),
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
        LlmErrorKind::ContextTooLong,
    ];
    for expected in kinds {
        let e = llm.complete(ask()).await.unwrap_err();
        assert!(matches!(&e, Error::Llm { kind, .. } if *kind == expected), "{expected:?}: {e:?}");
        assert!(!format!("{e} {e:?}").contains(KEY));
    }
}
