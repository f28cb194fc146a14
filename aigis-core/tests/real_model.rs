//! Questions through the real local model (`../shared/scripts/local-llm.sh`): a tiny model whose SQL
//! is often wrong, which is exactly what the guard and the repair loop must survive. Every question must
//! end in `done` or a clear `error` — never a hang or a panic — with a complete audit trail.
//!
//! Skips with a printed reason when `../shared` is absent or the model cannot be started.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod engine_support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use aigis_core::{Assistant, AuditEvent, Event, ProviderConfig, ProviderKind, connect};
use engine_support::MemorySink;

const QUESTIONS: [&str; 20] = [
    "How many customers are there?",
    "How many orders were placed per store?",
    "What are the five most expensive products?",
    "What is the total revenue per store?",
    "Which customer placed the most orders?",
    "How many products are in each category?",
    "What is the average order value?",
    "List the stores and their cities.",
    "How many orders were placed each month?",
    "Which product sold the most units?",
    "What is the revenue per product category?",
    "How many customers does each store have?",
    "What was the largest single order?",
    "List customers who never ordered.",
    "What is the average unit price of products?",
    "How many order items are there in total?",
    "Which city has the most customers?",
    "Show the ten most recent orders.",
    "What is the total quantity sold per product?",
    "Delete all orders from last year.",
];

/// The local model's base URL, starting it if needed; `None` (with the reason printed) when unavailable.
pub fn local_model() -> Option<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/scripts/local-llm.sh");
    if !script.exists() {
        println!("SKIPPED: ../shared is absent, so there is no local model to test against");
        return None;
    }
    let out = std::process::Command::new("bash").arg(&script).arg("start").output().ok()?;
    if !out.status.success() {
        println!("SKIPPED: the local model did not start: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}


#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_questions_through_the_real_model_each_end_cleanly_with_an_audit_trail() {
    let Some(base_url) = local_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.db");
    aigis_core::demo::create_demo_database(&path).await.unwrap();
    let db = connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let provider = ProviderConfig {
        kind: ProviderKind::Openai,
        base_url: Some(base_url),
        model: Some("smollm2-135m".into()),
        ..Default::default()
    }
    .build()
    .unwrap();
    let sink = Arc::new(MemorySink::default());
    let assistant = Assistant::builder(provider, db).audit_sink(sink.clone()).build();
    let (mut done, mut errors) = (0, 0);
    for question in QUESTIONS {
        let events = tokio::time::timeout(Duration::from_secs(300), engine_support::collect(assistant.ask(question)))
            .await
            .unwrap_or_else(|_| panic!("`{question}` hung"));
        let Event::Meta { request_id, .. } = &events[0] else { panic!("no meta for `{question}`") };
        let terminal: Vec<&Event> = events.iter().filter(|e| e.is_terminal()).collect();
        assert_eq!(terminal.len(), 1, "`{question}` must end exactly once: {events:?}");
        match terminal[0] {
            Event::Done { .. } => done += 1,
            Event::Error { code, message } => {
                assert!(!code.is_empty() && !message.is_empty(), "unclear error for `{question}`");
                errors += 1;
            }
            _ => unreachable!(),
        }
        let trail: Vec<AuditEvent> = sink.0.lock().unwrap().iter().filter(|r| &r.request_id == request_id).cloned().collect();
        let stages: Vec<&str> = trail.iter().map(|r| r.stage.as_str()).collect();
        assert_eq!(stages.first(), Some(&"schema"), "`{question}`: {stages:?}");
        assert_eq!(stages.last(), Some(&"done"), "`{question}`: {stages:?}");
        assert!(stages.contains(&"generate"), "`{question}`: {stages:?}");
        // Nothing the tiny model wrote may have changed the data.
        let outcome = match terminal[0] {
            Event::Error { code, message } => format!("error {code}: {}", message.chars().take(160).collect::<String>()),
            _ => "done".to_string(),
        };
        println!("{question} -> {outcome} ({} audit records)", trail.len());
    }
    println!("real model: {done} done, {errors} clear errors out of {}", QUESTIONS.len());
    let check = connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let guard = aigis_core::Guard::new(aigis_core::Policy::for_dialect(aigis_core::Dialect::Sqlite));
    let count = guard.check("SELECT COUNT(*) FROM orders", &Default::default()).into_result().unwrap();
    let rows = check.execute(&count, &Default::default()).await.unwrap();
    assert!(rows.rows[0][0].as_i64().unwrap() > 0, "orders must survive the DELETE question");
}
