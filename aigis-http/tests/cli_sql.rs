//! `aigis sql` and `aigis schema` against the project's demo SQLite database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli_support;

use cli_support::{demo_db, run};

#[test]
fn sql_guards_then_prints_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let out = run(&["sql", "--db", &db, "SELECT id, name FROM stores ORDER BY id"]);
    assert_eq!(out.code, 0, "{out:?}");
    let lines = out.lines();
    assert_eq!(lines[0], "guard: allowed → SELECT id, name FROM stores ORDER BY id LIMIT 1000");
    assert!(lines.iter().any(|l| l.starts_with("id | name")), "{out:?}");
    assert!(lines.iter().any(|l| l.starts_with(" 1 | ")), "numbers right-aligned: {out:?}");
    assert_eq!(*lines.last().unwrap(), "(5 rows)");
}

#[test]
fn sql_json_prints_the_guard_then_the_rows_event() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let out = run(&["sql", "--db", &db, "--json", "--max-rows", "2", "SELECT id FROM customers ORDER BY id"]);
    assert_eq!(out.code, 0, "{out:?}");
    let events = out.json_lines();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["type"], "guard");
    assert_eq!(events[0]["sql"], "SELECT id FROM customers ORDER BY id LIMIT 2");
    assert_eq!(events[1]["type"], "rows");
    assert_eq!(events[1]["columns"], serde_json::json!(["id"]));
    assert_eq!(events[1]["rows"], serde_json::json!([[1], [2]]));
    assert_eq!(events[1]["row_count"], 2);
}

#[test]
fn a_rejected_statement_never_runs_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let out = run(&["sql", "--db", &db, "--json", "DELETE FROM orders"]);
    assert_eq!(out.code, 1, "{out:?}");
    let events = out.json_lines();
    assert_eq!(events.len(), 1, "no rows after a rejection");
    assert_eq!(events[0]["allowed"], false);
    assert_eq!(events[0]["violations"][0]["code"], "not_a_query");
    let count = run(&["sql", "--db", &db, "--json", "SELECT COUNT(*) AS n FROM orders"]);
    assert_eq!(count.json_lines()[1]["rows"][0][0], 300, "the orders are all still there");
}

#[test]
fn database_errors_and_timeouts_are_error_events_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let out = run(&["sql", "--db", &db, "--json", "SELECT no_such_column FROM orders"]);
    assert_eq!(out.code, 1, "{out:?}");
    let events = out.json_lines();
    assert_eq!(events[1]["type"], "error");
    assert_eq!(events[1]["code"], "db_error");

    // A cross join big enough to run for minutes, stopped by --timeout-ms.
    let slow = "SELECT COUNT(*) FROM order_items a, order_items b, order_items c";
    let out = run(&["sql", "--db", &db, "--json", "--timeout-ms", "300", slow]);
    assert_eq!(out.code, 1, "{out:?}");
    let events = out.json_lines();
    assert_eq!(events[1]["code"], "db_timeout", "{out:?}");
}

#[test]
fn schema_json_is_the_core_schema_with_keys() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let out = run(&["schema", "--db", &db, "--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let schema: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let tables = schema["tables"].as_array().unwrap();
    let names: Vec<&str> = tables.iter().map(|t| t["name"].as_str().unwrap()).collect();
    for t in ["stores", "customers", "products", "orders", "order_items", "order_totals"] {
        assert!(names.contains(&t), "{t} missing from {names:?}");
    }
    let orders = tables.iter().find(|t| t["name"] == "orders").unwrap();
    assert_eq!(orders["primary_key"], serde_json::json!(["id"]));
    let referred: Vec<&str> =
        orders["foreign_keys"].as_array().unwrap().iter().map(|fk| fk["referred_table"].as_str().unwrap()).collect();
    assert!(referred.contains(&"customers") && referred.contains(&"stores"), "{referred:?}");
    assert!(orders["columns"].as_array().unwrap().iter().any(|c| c["name"] == "store_id"));
}

#[test]
fn schema_text_lists_columns_and_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let out = run(&["schema", "--db", &db]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("\norders (table"), "{}", out.stdout);
    assert!(out.stdout.contains("order_totals (view"), "{}", out.stdout);
    assert!(out.stdout.contains("FK (store_id) → stores(id)"), "{}", out.stdout);
}

#[test]
fn bad_urls_are_usage_errors_and_missing_files_are_failures() {
    let out = run(&["sql", "--db", "oracle://x/y", "SELECT 1"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("oracle"), "{out:?}");
    let out = run(&["schema", "--db", "sqlite:///nonexistent/dir/none.db"]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(!out.stderr.is_empty());
}
