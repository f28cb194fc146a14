//! `aigis ask` over the demo database with a wire-level fake OpenAI-compatible server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli_support;

use aigis_core::AuditEvent;
use aigis_core::testing::{FakeLlm, Reply};
use cli_support::{Run, demo_db, run, run_with};

const ANSWER: &str = "There are five stores, the first one is in its own city.";

/// Runs `aigis ask` with the model at `fake` configured the way a user would.
async fn ask(fake: &FakeLlm, args: &[&str]) -> Run {
    let base = fake.base_url();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_with(&args, &[("AIGIS_LLM_BASE_URL", base.as_str()), ("AIGIS_LLM_MODEL", "fake-model")], b"")
    })
    .await
    .unwrap()
}

fn answer_script() -> Vec<Reply> {
    vec![
        Reply::chunks(["Here you go:\n```sql\nSELECT name, city ", "FROM stores ORDER BY id\n```"]).usage(120, 14),
        Reply::chunks(["There are five stores, ", "the first one is in its own city."]).usage(80, 12),
    ]
}

#[test]
fn without_a_model_it_says_what_to_set_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let out = run(&["ask", "--db", &db, "How many stores?"]);
    assert_eq!(out.code, 2, "{out:?}");
    for var in ["AIGIS_LLM_BASE_URL", "AIGIS_LLM_MODEL", "OPENAI_API_KEY"] {
        assert!(out.stderr.contains(var), "stderr should name {var}: {}", out.stderr);
    }
    assert!(out.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn json_prints_exactly_one_event_per_line_from_meta_to_done() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let fake = FakeLlm::start(answer_script()).await.unwrap();
    let out = ask(&fake, &["ask", "--db", &db, "--json", "Which stores are there?"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let events = out.json_lines();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"meta"));
    assert_eq!(kinds.last(), Some(&"done"));
    for kind in ["status", "sql", "guard", "rows", "delta"] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    // Every line is a core Event.
    for e in &events {
        serde_json::from_value::<aigis_core::Event>(e.clone()).unwrap();
    }
    let sql = events.iter().find(|e| e["type"] == "sql").unwrap();
    assert_eq!(sql["sql"], "SELECT name, city FROM stores ORDER BY id");
    let rows = events.iter().find(|e| e["type"] == "rows").unwrap();
    assert_eq!(rows["row_count"], 5);
    let text: String = events.iter().filter(|e| e["type"] == "delta").map(|e| e["text"].as_str().unwrap()).collect();
    assert_eq!(text, ANSWER);
    let done = events.last().unwrap();
    assert_eq!(done["answer"], ANSWER);
    assert_eq!(done["usage"]["prompt_tokens"], 200);
    assert_eq!(done["sql"], "SELECT name, city FROM stores ORDER BY id LIMIT 1000");
}

#[tokio::test(flavor = "multi_thread")]
async fn text_output_shows_status_sql_table_and_streamed_answer() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let fake = FakeLlm::start(answer_script()).await.unwrap();
    let out = ask(&fake, &["ask", "--db", &db, "--max-rows", "3", "Which stores are there?"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let s = &out.stdout;
    assert!(s.contains("· schema: "), "{s}");
    assert!(s.contains("SQL (attempt 1):\n  SELECT name, city FROM stores ORDER BY id"), "{s}");
    assert!(s.contains("guard: allowed → SELECT name, city FROM stores ORDER BY id LIMIT 3"), "{s}");
    assert!(s.contains("name ") && s.contains("| city"), "table header: {s}");
    assert!(s.contains("(3 rows)"), "--max-rows caps the rows: {s}");
    assert!(s.contains(&format!("\n{ANSWER}\n")), "{s}");
    assert!(s.lines().last().unwrap().starts_with("done · 3 rows · "), "{s}");
    assert_eq!(fake.requests()[0].body["model"], "fake-model");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unrepairable_answer_ends_in_an_error_event_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let dml = || Reply::text("```sql\nDELETE FROM orders\n```");
    let fake = FakeLlm::start(vec![dml(), dml(), dml()]).await.unwrap();
    let out = ask(&fake, &["ask", "--db", &db, "--json", "--model", "other-model", "Delete everything"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    let events = out.json_lines();
    let last = events.last().unwrap();
    assert_eq!(last["type"], "error", "{events:?}");
    assert_eq!(last["code"], "rejected");
    assert_eq!(events.iter().filter(|e| e["type"] == "guard" && e["allowed"] == false).count(), 3);
    assert!(!events.iter().any(|e| e["type"] == "rows"));
    assert_eq!(fake.requests()[0].body["model"], "other-model", "--model picks the model");
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_writes_the_whole_trail_as_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let audit = dir.path().join("audit.jsonl");
    let fake = FakeLlm::start(answer_script()).await.unwrap();
    let out = ask(&fake, &["ask", "--db", &db, "--json", "--audit", audit.to_str().unwrap(), "Which stores?"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let request_id = out.json_lines()[0]["request_id"].as_str().unwrap().to_string();
    let trail: Vec<AuditEvent> =
        std::fs::read_to_string(&audit).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(trail.iter().all(|e| e.request_id == request_id && e.question == "Which stores?"));
    let stages: Vec<&str> = trail.iter().map(|e| e.stage.as_str()).collect();
    for stage in ["schema", "generate", "guard", "execute", "summarize", "done"] {
        assert!(stages.contains(&stage), "{stage} missing from {stages:?}");
    }
    let done = trail.last().unwrap();
    assert_eq!(done.stage.as_str(), "done");
    assert_eq!(done.detail["model"], "fake-model");
    assert_eq!(done.detail["rows"], 5);
    let guard = trail.iter().find(|e| e.stage.as_str() == "guard").unwrap();
    assert_eq!(guard.detail["sql_proposed"], "SELECT name, city FROM stores ORDER BY id");
    assert_eq!(guard.detail["verdict"]["allowed"], true);

    // A second question appends to the same file.
    fake.push(answer_script());
    let again = ask(&fake, &["ask", "--db", &db, "--audit", &format!("jsonl:{}", audit.display()), "Which stores?"]).await;
    assert_eq!(again.code, 0, "{again:?}");
    let lines = std::fs::read_to_string(&audit).unwrap().lines().count();
    assert_eq!(lines, trail.len() * 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_to_sqlite_tables() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let store = format!("sqlite://{}", dir.path().join("audit.db").display());
    let fake = FakeLlm::start(answer_script()).await.unwrap();
    let out = ask(&fake, &["ask", "--db", &db, "--json", "--audit", &store, "Which stores?"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let request_id = out.json_lines()[0]["request_id"].as_str().unwrap().to_string();
    // Read it back through the CLI itself: the audit tables are ordinary SQLite tables.
    let check = run(&["sql", "--db", &store, "--json", "SELECT status, rows_returned, model FROM aigis_audit_logs"]);
    let rows = &check.json_lines()[1]["rows"];
    assert_eq!(rows, &serde_json::json!([["ok", 5, "fake-model"]]), "{check:?}");
    let check = run(&["sql", "--db", &store, "--json", "SELECT COUNT(*), MIN(request_id) FROM aigis_audit_events"]);
    let row = &check.json_lines()[1]["rows"][0];
    assert!(row[0].as_u64().unwrap() >= 6);
    assert_eq!(row[1], request_id.as_str());
}

#[test]
fn an_unusable_audit_target_is_a_usage_error_before_asking() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let out = run_with(
        &["ask", "--db", &db, "--audit", "/nonexistent/dir/audit.jsonl", "q"],
        &[("AIGIS_LLM_BASE_URL", "http://127.0.0.1:9/v1")],
        b"",
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("audit"), "{out:?}");
}
