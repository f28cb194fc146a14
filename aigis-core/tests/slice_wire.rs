//! The whole slice over the wire: the OpenAI-compatible provider streaming from a fake server that
//! speaks the real SSE format, the guard, and a real SQLite database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod engine_support;

use aigis_core::testing::{FakeLlm, Reply};
use aigis_core::{Assistant, Event, ProviderConfig, connect};
use engine_support::{collect, kinds, shop_db, sqlite_url};

async fn run(replies: Vec<Reply>, max_repairs: u32) -> (Vec<Event>, FakeLlm) {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeLlm::start(replies).await.unwrap();
    let config = ProviderConfig {
        base_url: Some(fake.base_url()),
        model: Some("fake-model".into()),
        api_key: Some("sk-secret-123".into()),
        ..Default::default()
    };
    let llm = config.build().unwrap();
    let db = connect(&sqlite_url(&shop_db(dir.path()).await)).await.unwrap();
    let a = Assistant::builder(llm, db).max_repairs(max_repairs).build();
    (collect(a.ask("How much did each store sell?")).await, fake)
}

fn rows_of(events: &[Event]) -> Option<&Vec<Vec<serde_json::Value>>> {
    events.iter().find_map(|e| if let Event::Rows { rows, .. } = e { Some(rows) } else { None })
}

#[tokio::test]
async fn fenced_reply_streams_to_done() {
    let sql = "```sql\nSELECT store_id, SUM(amount) AS total FROM orders GROUP BY store_id ORDER BY store_id\n```";
    let (events, fake) = run(vec![Reply::text(sql).usage(50, 20), Reply::chunks(["Store 1 ", "sold 30."]).usage(30, 5)], 0).await;
    assert_eq!(kinds(&events).first().map(String::as_str), Some("meta"));
    assert_eq!(rows_of(&events).unwrap().len(), 3);
    let deltas: Vec<&str> = events.iter().filter_map(|e| if let Event::Delta { text } = e { Some(text.as_str()) } else { None }).collect();
    assert_eq!(deltas, ["Store 1 ", "sold 30."]);
    let Event::Done { answer, usage, model, .. } = events.last().unwrap() else { panic!("{events:?}") };
    assert_eq!(answer, "Store 1 sold 30.");
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (80, 25));
    assert_eq!(model, "fake-model");
    let first = &fake.requests()[0].body;
    assert_eq!(first["stream"], true);
    assert!(first["messages"][0]["content"].as_str().unwrap().contains("TABLE orders"));
}

#[tokio::test]
async fn prose_around_the_sql_is_ignored() {
    let reply = "Sure! Here is the query you need:\nSELECT name FROM stores ORDER BY name\nThis lists every store.";
    let (events, _) = run(vec![Reply::text(reply), Reply::text("Three stores.")], 0).await;
    // The trailing prose line is not SQL: the guard rejects the whole text, or the SQL runs alone.
    let sqls: Vec<String> = events.iter().filter_map(|e| if let Event::Sql { sql, .. } = e { Some(sql.clone()) } else { None }).collect();
    assert!(sqls[0].starts_with("SELECT name FROM stores"), "{sqls:?}");
    assert!(matches!(events.last().unwrap(), Event::Done { row_count: 3, .. }), "{events:?}");
}

#[tokio::test]
async fn two_statements_are_rejected_with_a_typed_violation() {
    let (events, _) = run(vec![Reply::text("```sql\nSELECT * FROM stores; DELETE FROM orders;\n```")], 0).await;
    let Some(Event::Guard { allowed: false, violations, .. }) = events.iter().find(|e| matches!(e, Event::Guard { .. })) else { panic!() };
    assert_eq!(violations[0].code, "multiple_statements");
    assert!(matches!(events.last().unwrap(), Event::Error { code, .. } if code == "rejected"));
    assert!(rows_of(&events).is_none());
}

#[tokio::test]
async fn dml_reply_is_rejected_and_nothing_runs() {
    let (events, _) = run(vec![Reply::text("UPDATE orders SET amount = 0")], 0).await;
    let Some(Event::Guard { allowed: false, violations, .. }) = events.iter().find(|e| matches!(e, Event::Guard { .. })) else { panic!() };
    assert_eq!(violations[0].code, "not_a_query");
    let Event::Error { message, .. } = events.last().unwrap() else { panic!() };
    assert!(message.contains("SELECT"), "the message says how to fix it: {message}");
}

#[tokio::test]
async fn missing_column_ends_in_a_database_error_without_repairs() {
    let (events, _) = run(vec![Reply::text("SELECT revenue FROM stores")], 0).await;
    let Event::Error { code, message } = events.last().unwrap() else { panic!("{events:?}") };
    assert_eq!(code, "db_error");
    assert!(message.contains("revenue"), "{message}");
}

#[tokio::test]
async fn missing_column_is_repaired_over_the_wire() {
    let (events, fake) = run(
        vec![Reply::text("SELECT revenue FROM stores"), Reply::text("SELECT name FROM stores"), Reply::text("ok")],
        2,
    )
    .await;
    assert!(matches!(events.last().unwrap(), Event::Done { row_count: 3, .. }), "{events:?}");
    let repair = fake.requests()[1].body["messages"].to_string();
    assert!(repair.contains("revenue"), "the repair prompt carries the database error: {repair}");
}

#[tokio::test]
async fn provider_failure_is_a_clean_error_event() {
    let (events, _) = run(vec![Reply::status(401, "{\"error\": {\"message\": \"Incorrect API key provided: sk-secret-123\"}}")], 0).await;
    let Event::Error { code, message } = events.last().unwrap() else { panic!("{events:?}") };
    assert_eq!(code, "llm_auth");
    assert!(!message.contains("sk-secret-123"), "the API key leaked: {message}");
}
