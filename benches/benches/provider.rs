//! The provider layer against a bare client reading the same stream.
//!
//! Both sides read the same fake OpenAI-compatible SSE stream from [`FakeLlm`]: the bare side
//! with reqwest + eventsource-stream, parsing each chunk's JSON for its text; the other through
//! `ProviderConfig::build()` (retries, timeouts, decoding into `ChatChunk`s). The difference is
//! what the layer adds: per request (a 1-token reply) and per token (a 256-token reply, minus
//! the per-request cost, over 255). Targets: < 50 µs per request, < 1 µs per token. The summary
//! at the end prints both figures from interleaved runs (medians).

// criterion_group! generates an undocumented function.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use aigis_core::provider::{ChatMessage, ChatRequest, LlmProvider, ProviderConfig};
use aigis_core::testing::{FakeLlm, Reply, drain};
use criterion::{Criterion, criterion_group, criterion_main};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde::Deserialize;

const LONG: usize = 256;

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Option<Delta>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
}

struct Setup {
    rt: tokio::runtime::Runtime,
    short: FakeLlm,
    long: FakeLlm,
    client: reqwest::Client,
    short_llm: Arc<dyn LlmProvider>,
    long_llm: Arc<dyn LlmProvider>,
}

fn setup() -> Setup {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (short, long) = rt.block_on(async {
        let short = FakeLlm::start(Vec::new()).await.unwrap();
        short.repeat(Reply::chunks(["tok"]).usage(10, 1));
        let long = FakeLlm::start(Vec::new()).await.unwrap();
        long.repeat(Reply::chunks(vec!["tok "; LONG]).usage(10, LONG as u64));
        (short, long)
    });
    let build = |fake: &FakeLlm| {
        ProviderConfig { base_url: Some(fake.base_url()), model: Some("bench".into()), ..Default::default() }
            .build()
            .unwrap()
    };
    let (short_llm, long_llm) = (build(&short), build(&long));
    Setup { rt, short, long, client: reqwest::Client::new(), short_llm, long_llm }
}

fn request() -> ChatRequest {
    ChatRequest::new(vec![ChatMessage::system("You write SQL."), ChatMessage::user("How many stores?")])
}

/// The bare client: same request body, SSE decoding, JSON parse of each chunk, text appended.
async fn bare(client: &reqwest::Client, base_url: &str) -> usize {
    let body = serde_json::json!({
        "model": "bench", "stream": true, "stream_options": {"include_usage": true},
        "messages": [{"role": "system", "content": "You write SQL."}, {"role": "user", "content": "How many stores?"}],
    });
    let response = client.post(format!("{base_url}/chat/completions")).json(&body).send().await.unwrap();
    let mut events = response.bytes_stream().eventsource();
    let mut text = String::new();
    while let Some(event) = events.next().await {
        let event = event.unwrap();
        if event.data == "[DONE]" {
            break;
        }
        let chunk: Chunk = serde_json::from_str(&event.data).unwrap();
        for c in chunk.choices {
            if let Some(t) = c.delta.and_then(|d| d.content) {
                text.push_str(&t);
            }
        }
    }
    text.len()
}

async fn layer(llm: &dyn LlmProvider) -> usize {
    let (chunks, err) = drain(llm.stream(request()).await.unwrap()).await;
    assert!(err.is_none());
    chunks.len()
}

fn bench(c: &mut Criterion) {
    let s = setup();
    let mut g = c.benchmark_group("provider");
    g.sample_size(30).measurement_time(Duration::from_secs(4));
    let (short_url, long_url) = (s.short.base_url(), s.long.base_url());
    g.bench_function("bare_1_token", |b| b.to_async(&s.rt).iter(|| bare(&s.client, &short_url)));
    g.bench_function("layer_1_token", |b| b.to_async(&s.rt).iter(|| layer(s.short_llm.as_ref())));
    g.bench_function("bare_256_tokens", |b| b.to_async(&s.rt).iter(|| bare(&s.client, &long_url)));
    g.bench_function("layer_256_tokens", |b| b.to_async(&s.rt).iter(|| layer(s.long_llm.as_ref())));
    g.finish();
    summary(&s);
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Interleaved runs of the four cases, so machine load hits them alike; prints the figures.
fn summary(s: &Setup) {
    let rounds = 400;
    let mut t = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    let (short_url, long_url) = (s.short.base_url(), s.long.base_url());
    s.rt.block_on(async {
        for round in 0..rounds {
            let start = Instant::now();
            bare(&s.client, &short_url).await;
            t[0].push(start.elapsed().as_secs_f64() * 1e6);
            let start = Instant::now();
            layer(s.short_llm.as_ref()).await;
            t[1].push(start.elapsed().as_secs_f64() * 1e6);
            let start = Instant::now();
            bare(&s.client, &long_url).await;
            t[2].push(start.elapsed().as_secs_f64() * 1e6);
            let start = Instant::now();
            layer(s.long_llm.as_ref()).await;
            t[3].push(start.elapsed().as_secs_f64() * 1e6);
            if round % 100 == 0 {
                s.short.clear_requests();
                s.long.clear_requests();
            }
        }
    });
    let [b1, l1, b256, l256] = t.map(median);
    let per_request = l1 - b1;
    let per_token = ((l256 - b256) - per_request) / (LONG as f64 - 1.0);
    println!("\nprovider layer vs bare reqwest + eventsource-stream (medians of {rounds} interleaved runs)");
    println!("  1 token:    bare {b1:8.1} µs   layer {l1:8.1} µs");
    println!("  256 tokens: bare {b256:8.1} µs   layer {l256:8.1} µs");
    println!("  added per request: {per_request:7.2} µs (target < 50)");
    println!("  added per token:   {per_token:7.3} µs (target < 1)");
}

criterion_group!(benches, bench);
criterion_main!(benches);
