//! The state machine, transition by transition, with a scripted model and a real SQLite database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod engine_support;

use std::sync::Arc;
use std::time::Duration;

use aigis_core::{AskMode, AskRequest, Assistant, Budget, Conversation, Event, Stage, connect};
use engine_support::{MemorySink, Reply, ScriptedModel, collect, kinds, shop_db, sqlite_url, text};
use futures::StreamExt;

async fn assistant(model: Arc<ScriptedModel>, dir: &std::path::Path) -> Assistant {
    let db = connect(&sqlite_url(&shop_db(dir).await)).await.unwrap();
    Assistant::builder(model, db).build()
}

fn terminal(events: &[Event]) -> &Event {
    events.last().unwrap()
}

const GOOD_SQL: &str = "```sql\nSELECT s.name AS store, SUM(o.amount) AS revenue FROM orders o JOIN stores s ON s.id = o.store_id GROUP BY s.name ORDER BY revenue DESC\n```";

#[tokio::test]
async fn happy_path_emits_every_stage_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let model = ScriptedModel::new(vec![text(GOOD_SQL), text("North sold the most (30.0).")]);
    let events = collect(assistant(model.clone(), dir.path()).await.ask("Revenue per store?")).await;
    assert_eq!(
        kinds(&events),
        [
            "meta", "status:schema", "status:generate", "sql", "guard", "status:execute", "rows", "status:summarize",
            "delta", "delta", "status:chart", "chart", "done"
        ]
    );
    let Event::Rows { rows, row_count, .. } = &events[6] else { panic!() };
    assert_eq!(*row_count, 3);
    assert_eq!(rows[0][0], "North");
    let Event::Done { answer, sql, model: m, usage, .. } = terminal(&events) else { panic!() };
    assert_eq!(answer, "North sold the most (30.0).");
    assert!(sql.as_deref().unwrap().ends_with("LIMIT 1000"), "{sql:?}");
    assert_eq!(m, "scripted-1");
    assert_eq!(usage.prompt_tokens, 200);
    // The schema reached the prompt as delimited data.
    assert!(model.request_texts(0).contains("<data>") && model.request_texts(0).contains("TABLE orders"));
}

#[tokio::test]
async fn wrong_column_is_repaired_on_attempt_two() {
    let dir = tempfile::tempdir().unwrap();
    let model = ScriptedModel::new(vec![
        text("```sql\nSELECT store_name FROM stores\n```"),
        text("```sql\nSELECT name FROM stores\n```"),
        text("Three stores."),
    ]);
    let events = collect(assistant(model.clone(), dir.path()).await.ask("List stores")).await;
    let k = kinds(&events);
    assert!(k.contains(&"status:repair".to_string()), "{k:?}");
    let attempts: Vec<u32> = events.iter().filter_map(|e| if let Event::Sql { attempt, .. } = e { Some(*attempt) } else { None }).collect();
    assert_eq!(attempts, [1, 2]);
    assert!(matches!(terminal(&events), Event::Done { row_count: 3, .. }));
    // The model was shown the database's complaint about the column.
    assert!(model.request_texts(1).contains("store_name"), "{}", model.request_texts(1));
}

#[tokio::test]
async fn dml_is_rejected_then_repaired_into_a_select_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let model = ScriptedModel::new(vec![text("DELETE FROM orders"), text("SELECT COUNT(*) AS n FROM orders"), text("6 orders.")]);
    let a = assistant(model.clone(), dir.path()).await;
    let events = collect(a.ask("How many orders?")).await;
    let verdicts: Vec<(bool, Vec<String>)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Guard { allowed, violations, .. } => Some((*allowed, violations.iter().map(|v| v.code.clone()).collect())),
            _ => None,
        })
        .collect();
    assert_eq!(verdicts[0], (false, vec!["not_a_query".to_string()]));
    assert!(verdicts[1].0);
    let Event::Rows { rows, .. } = events.iter().find(|e| matches!(e, Event::Rows { .. })).unwrap() else { panic!() };
    assert_eq!(rows[0][0], 6);
    assert!(model.request_texts(1).contains("SELECT"));
}

#[tokio::test]
async fn two_statements_end_in_a_clear_error_when_repairs_run_out() {
    let dir = tempfile::tempdir().unwrap();
    let reply = "Sure:\nSELECT * FROM stores; DROP TABLE stores;";
    let model = ScriptedModel::new(vec![text(reply), text(reply), text(reply)]);
    let events = collect(assistant(model.clone(), dir.path()).await.ask("stores")).await;
    let Event::Error { code, message } = terminal(&events) else { panic!("{events:?}") };
    assert_eq!(code, "rejected");
    assert!(message.contains("multiple_statements"), "{message}");
    assert_eq!(model.calls(), 3, "first attempt + two repairs");

    // Collected into an Answer, the same end is Error::Rejected with the last verdict's
    // violations, as the guard itself would give them.
    let model = ScriptedModel::new(vec![text(reply), text(reply), text(reply)]);
    let dir = tempfile::tempdir().unwrap();
    let collected = aigis_core::Answer::collect(assistant(model, dir.path()).await.ask("stores")).await;
    let Err(aigis_core::Error::Rejected { violations }) = collected else { panic!("{collected:?}") };
    assert_eq!(violations.iter().map(|v| v.code.as_str()).collect::<Vec<_>>(), ["multiple_statements"]);
    assert_eq!(&aigis_core::Error::Rejected { violations }.user_message(), message);
}

#[tokio::test]
async fn a_reply_without_sql_is_repaired_then_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let model = ScriptedModel::new(vec![text("I am not sure."), text("Sorry."), text("No.")]);
    let events = collect(assistant(model, dir.path()).await.ask("stores")).await;
    assert!(matches!(terminal(&events), Event::Error { code, .. } if code == "no_sql"));
}

#[tokio::test]
async fn llm_call_budget_exhausted_is_a_clean_error() {
    let dir = tempfile::tempdir().unwrap();
    let model = ScriptedModel::new(vec![text("SELECT nope FROM stores"), text("SELECT nope FROM stores")]);
    let db = connect(&sqlite_url(&shop_db(dir.path()).await)).await.unwrap();
    let a = Assistant::builder(model.clone(), db).budget(Budget { max_llm_calls: 1, ..Budget::default() }).build();
    let events = collect(a.ask("stores")).await;
    assert!(matches!(terminal(&events), Event::Error { code, .. } if code == "budget_exhausted"), "{events:?}");
    assert_eq!(model.calls(), 1);
}

#[tokio::test]
async fn dropping_the_stream_cancels_the_model_call() {
    let dir = tempfile::tempdir().unwrap();
    let model = ScriptedModel::new(vec![Reply::Hang]);
    let a = assistant(model.clone(), dir.path()).await;
    let mut stream = a.ask("stores");
    // Read until the generate stage started, then walk away.
    while let Some(e) = stream.next().await {
        if matches!(e.unwrap(), Event::Status { stage: Stage::Generate, .. }) {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!model.hung_stream_dropped.load(std::sync::atomic::Ordering::SeqCst));
    drop(stream);
    assert!(model.hung_stream_dropped.load(std::sync::atomic::Ordering::SeqCst), "the LLM stream must be dropped with the consumer");
}

#[tokio::test]
async fn plan_mode_runs_each_step_with_its_own_events() {
    let dir = tempfile::tempdir().unwrap();
    let plan = r#"{"steps": [{"purpose": "orders per store", "sql": "SELECT store_id, COUNT(*) AS n FROM orders GROUP BY store_id"},
                             {"purpose": "countries", "sql": "SELECT country, COUNT(*) AS stores FROM stores GROUP BY country"}]}"#;
    let model = ScriptedModel::new(vec![text(plan), text("West has most orders; FR has two stores.")]);
    let db = connect(&sqlite_url(&shop_db(dir.path()).await)).await.unwrap();
    let a = Assistant::builder(model.clone(), db).mode(AskMode::Plan).build();
    let events = collect(a.ask("Compare stores and countries")).await;
    let k = kinds(&events);
    assert_eq!(k.iter().filter(|x| *x == "rows").count(), 2, "{k:?}");
    assert_eq!(k.iter().filter(|x| *x == "guard").count(), 2);
    assert!(matches!(terminal(&events), Event::Done { .. }));
    // The synthesis saw both results.
    let synth = model.request_texts(1);
    assert!(synth.contains("Query 1") && synth.contains("Query 2"), "{synth}");
}

#[tokio::test]
async fn agent_mode_calls_tools_through_the_guard() {
    let dir = tempfile::tempdir().unwrap();
    let model = ScriptedModel::new(vec![
        Reply::ToolCall { name: "run_sql".into(), arguments: r#"{"sql": "SELECT country, COUNT(*) AS n FROM stores GROUP BY country"}"#.into() },
        Reply::ToolCall { name: "run_sql".into(), arguments: r#"{"sql": "DROP TABLE stores"}"#.into() },
        Reply::ToolCall { name: "make_chart".into(), arguments: "{}".into() },
        text("FR has 2 stores, DE has 1."),
    ]);
    let db = connect(&sqlite_url(&shop_db(dir.path()).await)).await.unwrap();
    let a = Assistant::builder(model.clone(), db).mode(AskMode::Agent).build();
    let events = collect(a.ask("stores per country")).await;
    let k = kinds(&events);
    assert_eq!(k.iter().filter(|x| *x == "status:tool").count(), 3, "{k:?}");
    assert!(k.contains(&"chart".to_string()));
    let guards: Vec<bool> = events.iter().filter_map(|e| if let Event::Guard { allowed, .. } = e { Some(*allowed) } else { None }).collect();
    assert_eq!(guards, [true, false]);
    let Event::Done { answer, row_count, sql, .. } = terminal(&events) else { panic!() };
    assert_eq!(answer, "FR has 2 stores, DE has 1.");
    assert_eq!(*row_count, 2);
    assert!(sql.is_some());
    // The rejection went back to the model as data.
    assert!(model.request_texts(2).contains("not_a_query"));
}

#[tokio::test]
async fn follow_ups_carry_earlier_sql_and_result_shape_but_not_rows() {
    let dir = tempfile::tempdir().unwrap();
    let model = ScriptedModel::new(vec![
        text(GOOD_SQL),
        text("North leads."),
        text("```sql\nSELECT s.country, SUM(o.amount) AS revenue FROM orders o JOIN stores s ON s.id = o.store_id GROUP BY s.country\n```"),
        text("FR leads."),
    ]);
    let a = assistant(model.clone(), dir.path()).await;
    let mut conversation = Conversation::default();
    conversation.ask(&a, "Revenue per store?").await.unwrap();
    let second = conversation.ask(&a, "and by country?").await.unwrap();
    assert_eq!(second.row_count, 2);
    let prompt = model.request_texts(2);
    assert!(prompt.contains("Revenue per store?") && prompt.contains("GROUP BY s.name"), "{prompt}");
    assert!(prompt.contains("3 rows; columns: store, revenue"));
    assert!(!prompt.contains("30.0"), "rows must not be carried into the next prompt");
}


#[tokio::test]
async fn every_transition_is_one_audit_record() {
    let dir = tempfile::tempdir().unwrap();
    let model = ScriptedModel::new(vec![text("DELETE FROM orders"), text(GOOD_SQL), text("ok")]);
    let sink = Arc::new(MemorySink::default());
    let db = connect(&sqlite_url(&shop_db(dir.path()).await)).await.unwrap();
    let a = Assistant::builder(model, db).audit_sink(sink.clone()).build();
    let request = AskRequest { user: Some("alice".into()), ..AskRequest::new("Revenue per store?") };
    let events = collect(a.ask_with(request)).await;
    let Event::Meta { request_id, .. } = &events[0] else { panic!() };
    let records = sink.0.lock().unwrap().clone();
    let stages: Vec<&str> = records.iter().map(|r| r.stage.as_str()).collect();
    assert_eq!(stages, ["schema", "retrieve", "generate", "guard", "repair", "guard", "execute", "summarize", "chart", "done"]);
    assert!(records.iter().all(|r| &r.request_id == request_id && r.user.as_deref() == Some("alice")));
    assert_eq!(serde_json::to_value(records[3].status).unwrap(), "rejected");
    let done = records.last().unwrap();
    assert_eq!(done.detail["rows"], 3);
    assert!(done.detail["sql_executed"].as_str().unwrap().contains("LIMIT"));
    assert_eq!(done.detail["usage"]["prompt_tokens"], 300);
}

#[tokio::test]
async fn knowledge_is_retrieved_into_the_prompt_and_reported() {
    use aigis_core::knowledge::{Bm25Retriever, KnowledgeItem};
    let dir = tempfile::tempdir().unwrap();
    let retriever = Bm25Retriever::new(vec![
        KnowledgeItem::golden("g-revenue", "What is the revenue of each store?", "SELECT store_id, SUM(amount) FROM orders GROUP BY store_id"),
        KnowledgeItem::doc("d-fiscal", "Fiscal year", "The fiscal year starts in April."),
    ]);
    let model = ScriptedModel::new(vec![text(GOOD_SQL), text("ok")]);
    let db = connect(&sqlite_url(&shop_db(dir.path()).await)).await.unwrap();
    let a = Assistant::builder(model.clone(), db).retriever(Arc::new(retriever)).build();
    let events = collect(a.ask("revenue per store")).await;
    let used = events.iter().find_map(|e| match e {
        Event::Status { stage: Stage::Retrieve, message } if message.starts_with("knowledge used") => Some(message.clone()),
        _ => None,
    });
    assert!(used.as_deref().is_some_and(|m| m.contains("g-revenue")), "{events:?}");
    let prompt = model.request_texts(0);
    assert!(prompt.contains("SUM(amount) FROM orders GROUP BY store_id"), "{prompt}");
}

#[tokio::test]
async fn dictionary_pii_columns_never_leave_the_database() {
    use aigis_core::dictionary::Dictionary;
    let dir = tempfile::tempdir().unwrap();
    let yaml = "version: 1\ntable: stores\ntitle: Stores\ndescription: Shops\ncolumns:\n  - name: country\n    description: Country code\n    pii: true\n";
    std::fs::write(dir.path().join("stores.yml"), yaml).unwrap();
    let dictionary = Dictionary::load_dir(dir.path()).unwrap();
    let model = ScriptedModel::new(vec![text("SELECT name, country FROM stores"), text("ok")]);
    let db = connect(&sqlite_url(&shop_db(dir.path()).await)).await.unwrap();
    let a = Assistant::builder(model.clone(), db).dictionary(dictionary).build();
    let events = collect(a.ask("stores and countries")).await;
    let Some(Event::Rows { rows, .. }) = events.iter().find(|e| matches!(e, Event::Rows { .. })) else { panic!("{events:?}") };
    assert_eq!(rows.len(), 3);
    for row in rows {
        assert!(row[1] != "FR" && row[1] != "DE", "PII value leaked: {row:?}");
    }
    // The description reached the prompt.
    assert!(model.request_texts(0).contains("Country code"));
}
