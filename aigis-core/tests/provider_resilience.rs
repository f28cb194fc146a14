//! Retries, timeouts, fallbacks and cancellation, over the wire against the fake server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use aigis_core::provider::{
    ChatChunk, ChatMessage, ChatRequest, FallbackModel, FallbackProvider, LlmProvider, OpenAiProvider, ProviderConfig,
    ProviderKind, ResilienceConfig, ResilientProvider,
};
use aigis_core::testing::{FakeLlm, Reply, drain};
use aigis_core::{Error, LlmErrorKind};
use futures::StreamExt;

fn ask() -> ChatRequest {
    ChatRequest::new(vec![ChatMessage::user("how many stores?")])
}

fn fast() -> ResilienceConfig {
    ResilienceConfig { base_delay_ms: 10, max_delay_ms: 40, ..ResilienceConfig::default() }
}

fn raw(fake: &FakeLlm, model: &str) -> Arc<dyn LlmProvider> {
    Arc::new(OpenAiProvider::new(fake.base_url(), model).unwrap())
}

fn kind(e: &Error) -> Option<LlmErrorKind> {
    if let Error::Llm { kind, .. } = e { Some(*kind) } else { None }
}

#[tokio::test]
async fn retries_5xx_and_resets_then_answers() {
    let fake =
        FakeLlm::start(vec![Reply::status(503, "busy"), Reply::disconnect(), Reply::text("ok then")]).await.unwrap();
    let llm = ResilientProvider::new(raw(&fake, "m"), fast());
    let r = llm.complete(ask()).await.unwrap();
    assert_eq!(r.content, "ok then");
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn honours_retry_after() {
    let fake = FakeLlm::start(vec![Reply::rate_limited(1), Reply::text("done")]).await.unwrap();
    let llm = ResilientProvider::new(raw(&fake, "m"), fast());
    let started = Instant::now();
    assert_eq!(llm.complete(ask()).await.unwrap().content, "done");
    assert!(started.elapsed() >= Duration::from_secs(1), "waited {:?}", started.elapsed());
}

#[tokio::test]
async fn gives_up_after_max_retries_and_never_retries_auth() {
    let fake =
        FakeLlm::start(vec![Reply::status(500, "a"), Reply::status(500, "b"), Reply::status(500, "c")]).await.unwrap();
    let llm = ResilientProvider::new(raw(&fake, "m"), fast());
    assert_eq!(kind(&llm.complete(ask()).await.unwrap_err()), Some(LlmErrorKind::Unavailable));
    assert_eq!(fake.requests().len(), 3, "one attempt and two retries");

    fake.push([Reply::status(401, "bad key"), Reply::text("never")]);
    assert_eq!(kind(&llm.complete(ask()).await.unwrap_err()), Some(LlmErrorKind::Auth));
    assert_eq!(fake.remaining(), 1);
}

#[tokio::test]
async fn first_token_and_total_timeouts() {
    let fake = FakeLlm::start(vec![Reply::text("late").delay(Duration::from_millis(800))]).await.unwrap();
    let config = ResilienceConfig { first_token_timeout_ms: 100, ..fast().no_retries() };
    let llm = ResilientProvider::new(raw(&fake, "m"), config);
    assert_eq!(kind(&llm.complete(ask()).await.unwrap_err()), Some(LlmErrorKind::Timeout));

    fake.push([Reply::text("a b c d e f g h").chunk_delay(Duration::from_millis(60))]);
    let config = ResilienceConfig { total_timeout_ms: 250, ..fast().no_retries() };
    let llm = ResilientProvider::new(raw(&fake, "m"), config);
    let (chunks, err) = drain(llm.stream(ask()).await.unwrap()).await;
    assert!(chunks.iter().any(|c| matches!(c, ChatChunk::Delta { .. })), "some text arrived first");
    assert_eq!(kind(&err.unwrap()), Some(LlmErrorKind::Timeout));
}

#[tokio::test]
async fn fallback_answers_from_the_next_model_and_says_which() {
    let fake = FakeLlm::start(vec![
        Reply::status(500, r#"{"error":{"message":"model crashed"}}"#),
        Reply::text("answer from the backup").model("backup-model"),
    ])
    .await
    .unwrap();
    let config = ProviderConfig {
        kind: ProviderKind::Openai,
        base_url: Some(fake.base_url()),
        model: Some("primary-model".into()),
        api_key: Some("sk-fallback-secret-1234".into()),
        fallback_models: vec!["backup-model".into()],
    };
    let llm = config.build_with(&fast().no_retries()).unwrap();
    let (chunks, err) = drain(llm.stream(ask()).await.unwrap()).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(chunks[0], ChatChunk::Model { model: "backup-model".into() });
    let models: Vec<_> = fake.requests().iter().map(|r| r.body["model"].as_str().unwrap().to_string()).collect();
    assert_eq!(models, ["primary-model", "backup-model"]);

    // Every model failing keeps the last kind, and never shows the key.
    fake.push([Reply::status(500, "x"), Reply::rate_limited(1)]);
    let e = llm.complete(ask()).await.unwrap_err();
    assert_eq!(kind(&e), Some(LlmErrorKind::RateLimited));
    assert!(!format!("{e} {e:?} {config:?}").contains("sk-fallback-secret-1234"));
}

#[tokio::test]
async fn fallback_chain_across_providers_injects_the_model() {
    let a = FakeLlm::start(vec![Reply::status(429, "limited")]).await.unwrap();
    let b = FakeLlm::start(vec![Reply::text("hello").no_usage()]).await.unwrap();
    let chain = FallbackProvider::new(vec![
        FallbackModel { provider: raw(&a, "a"), model: "model-a".into() },
        FallbackModel { provider: raw(&b, "b"), model: "model-b".into() },
    ])
    .unwrap();
    let r = chain.complete(ask()).await.unwrap();
    assert_eq!((r.model.as_str(), r.content.as_str()), ("model-b", "hello"));
}

#[tokio::test]
async fn dropping_the_stream_cancels_the_request() {
    let words: Vec<String> = (0..50).map(|i| format!("w{i} ")).collect();
    let fake = FakeLlm::start(vec![Reply::chunks(words).chunk_delay(Duration::from_millis(20))]).await.unwrap();
    let llm = ResilientProvider::new(raw(&fake, "m"), fast());
    let mut stream = llm.stream(ask()).await.unwrap();
    let mut seen = 0;
    while let Some(chunk) = stream.next().await {
        if matches!(chunk.unwrap(), ChatChunk::Delta { .. }) {
            seen += 1;
            if seen == 2 {
                break;
            }
        }
    }
    drop(stream);
    let deadline = Instant::now() + Duration::from_secs(3);
    while fake.abandoned() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(fake.abandoned(), 1, "the server saw the client go away");
}
