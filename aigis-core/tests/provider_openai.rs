//! Wire tests of the OpenAI-compatible provider against the fake server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aigis_core::provider::{ChatChunk, ChatMessage, ChatRequest, FinishReason, LlmProvider, OpenAiProvider};
use aigis_core::testing::{FakeLlm, Reply};
use aigis_core::{Error, LlmErrorKind, Usage};
use futures::StreamExt;

fn ask() -> ChatRequest {
    ChatRequest::new(vec![ChatMessage::system("be brief"), ChatMessage::user("how many stores?")])
}

async fn provider(fake: &FakeLlm) -> OpenAiProvider {
    OpenAiProvider::new(fake.base_url(), "fake-model").unwrap().with_api_key(Some("sk-test-key-0123456789".into()))
}

#[tokio::test]
async fn streams_text_usage_and_model() {
    let fake = FakeLlm::start(vec![Reply::text("There are three stores.").usage(11, 4).model("fake-model-2025")])
        .await
        .unwrap();
    let llm = provider(&fake).await;
    let mut stream = llm.stream(ask()).await.unwrap();
    let mut chunks = Vec::new();
    while let Some(c) = stream.next().await {
        chunks.push(c.unwrap());
    }
    assert_eq!(chunks[0], ChatChunk::Model { model: "fake-model-2025".into() });
    let deltas: Vec<&ChatChunk> = chunks.iter().filter(|c| matches!(c, ChatChunk::Delta { .. })).collect();
    assert_eq!(deltas.len(), 4, "one chunk per word: {chunks:?}");
    assert_eq!(chunks.last(), Some(&ChatChunk::Usage(Usage { prompt_tokens: 11, completion_tokens: 4 })));
    assert!(chunks.contains(&ChatChunk::Finish { reason: FinishReason::Stop }));

    let req = &fake.requests()[0];
    assert_eq!(req.path, "/v1/chat/completions");
    assert_eq!(req.header("authorization"), Some("Bearer sk-test-key-0123456789"));
    assert_eq!(req.body["stream"], true);
    assert_eq!(req.body["stream_options"]["include_usage"], true);
    assert_eq!(req.body["messages"][1]["content"], "how many stores?");
}

#[tokio::test]
async fn tool_call_split_across_chunks_is_joined() {
    let args = r#"{"sql":"SELECT count(*) FROM stores"}"#;
    let fake = FakeLlm::start(vec![Reply::text("").tool_call("run_sql", args)]).await.unwrap();
    let r = provider(&fake).await.complete(ask()).await.unwrap();
    assert_eq!(r.tool_calls.len(), 1);
    assert_eq!(r.tool_calls[0].name, "run_sql");
    assert_eq!(r.tool_calls[0].id, "call_0");
    assert_eq!(r.tool_calls[0].arguments, args);
    assert_eq!(r.finish_reason, Some(FinishReason::ToolCalls));
    assert!(r.usage.prompt_tokens > 0);
}

fn llm_kind(e: &Error) -> Option<LlmErrorKind> {
    match e {
        Error::Llm { kind, .. } => Some(*kind),
        _ => None,
    }
}

#[tokio::test]
async fn http_errors_are_typed_and_never_contain_the_key() {
    let fake = FakeLlm::start(vec![
        Reply::status(401, r#"{"error":{"message":"Incorrect API key provided: sk-test-key-0123456789"}}"#),
        Reply::rate_limited(7),
        Reply::status(500, "boom"),
    ])
    .await
    .unwrap();
    let llm = provider(&fake).await;
    let e = llm.complete(ask()).await.unwrap_err();
    assert_eq!(llm_kind(&e), Some(LlmErrorKind::Auth));
    assert!(!e.to_string().contains("sk-test-key-0123456789"), "{e}");
    assert!(!format!("{e:?}").contains("sk-test-key-0123456789"), "{e:?}");
    assert!(!format!("{llm:?}").contains("sk-test-key-0123456789"));
    let e = llm.complete(ask()).await.unwrap_err();
    assert!(matches!(e, Error::Llm { kind: LlmErrorKind::RateLimited, retry_after: Some(s), .. } if s == 7.0), "{e:?}");
    let e = llm.complete(ask()).await.unwrap_err();
    assert_eq!(llm_kind(&e), Some(LlmErrorKind::Unavailable));
}

#[tokio::test]
async fn malformed_chunk_and_dropped_connection() {
    let fake =
        FakeLlm::start(vec![Reply::text("partial answer").then_malformed(), Reply::text("cut off").then_disconnect()])
            .await
            .unwrap();
    let llm = provider(&fake).await;
    let e = llm.complete(ask()).await.unwrap_err();
    assert_eq!(llm_kind(&e), Some(LlmErrorKind::BadResponse), "{e}");
    let mut stream = llm.stream(ask()).await.unwrap();
    let mut text = String::new();
    let mut err = None;
    while let Some(c) = stream.next().await {
        match c {
            Ok(ChatChunk::Delta { text: t }) => text.push_str(&t),
            Ok(_) => {}
            Err(e) => err = Some(e),
        }
    }
    assert_eq!(text, "cut off", "text before the cut is delivered");
    assert_eq!(llm_kind(&err.unwrap()), Some(LlmErrorKind::Unavailable));
}
