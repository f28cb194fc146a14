//! `aigis guard`: one verdict per input line, in order, whatever the line holds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli_support;

use cli_support::{run, run_with};

const MIXED: &str = "SELECT * FROM orders\n\nDELETE FROM orders\nSELEC oops\nSELECT 1; DROP TABLE t\nWITH x AS (SELECT 1 AS n) SELECT n FROM x LIMIT 5\n";

#[test]
fn stdin_gets_one_verdict_per_line_in_order_including_blank_and_unparsable_lines() {
    let out = run_with(&["guard", "--dialect", "sqlite"], &[], MIXED.as_bytes());
    assert_eq!(out.code, 1, "a rejected line makes the exit code 1: {out:?}");
    let lines = out.lines();
    assert_eq!(lines.len(), 6, "{out:?}");
    assert_eq!(lines[0], "ALLOW\tSELECT * FROM orders LIMIT 1000");
    assert!(lines[1].starts_with("REJECT\t[empty]"), "{}", lines[1]);
    assert!(lines[2].starts_with("REJECT\t[not_a_query]"), "{}", lines[2]);
    assert!(lines[3].starts_with("REJECT\t[parse_error]"), "{}", lines[3]);
    assert!(lines[4].starts_with("REJECT\t[multiple_statements]"), "{}", lines[4]);
    assert!(lines[5].starts_with("ALLOW\t") && lines[5].ends_with("LIMIT 5"), "{}", lines[5]);
}

#[test]
fn json_prints_one_verdict_object_per_line() {
    let out = run_with(&["guard", "--dialect", "postgres", "--json", "--max-rows", "10"], &[], MIXED.as_bytes());
    let verdicts = out.json_lines();
    let allowed: Vec<bool> = verdicts.iter().map(|v| v["allowed"].as_bool().unwrap()).collect();
    assert_eq!(allowed, [true, false, false, false, false, true]);
    assert_eq!(verdicts[0]["sql"], "SELECT * FROM orders LIMIT 10");
    assert_eq!(verdicts[2]["violations"][0]["code"], "not_a_query");
    assert!(verdicts[0]["notes"].is_array() && verdicts[0]["tables"].is_array());
}

#[test]
fn crlf_invalid_utf8_and_a_missing_final_newline_still_pair_lines_with_verdicts() {
    let mut input = b"SELECT 1\r\n".to_vec();
    input.extend_from_slice(b"SELECT \xff\xfe FROM t\n");
    input.extend_from_slice(b"SELECT 2");
    let out = run_with(&["guard", "--json"], &[], &input);
    let verdicts = out.json_lines();
    assert_eq!(verdicts.len(), 3, "{out:?}");
    assert_eq!(verdicts[0]["sql"], "SELECT 1 LIMIT 1000");
    assert_eq!(verdicts[1]["allowed"], false);
    assert_eq!(verdicts[2]["sql"], "SELECT 2 LIMIT 1000");
}

#[test]
fn a_statement_argument_is_checked_alone_and_exit_code_says_the_verdict() {
    let ok = run(&["guard", "--dialect", "mysql", "SELECT id FROM customers LIMIT 5000"]);
    assert_eq!((ok.code, ok.stdout.as_str()), (0, "ALLOW\tSELECT id FROM customers LIMIT 1000\n"));
    let rejected = run(&["guard", "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d"]);
    assert_eq!(rejected.code, 1);
    assert!(rejected.stdout.starts_with("REJECT\t"), "{rejected:?}");
}

#[test]
fn a_policy_file_is_enforced_and_a_bad_one_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "max_rows = 7\n[tables]\ndeny = [\"staff_salaries\"]\n").unwrap();
    let p = policy.to_str().unwrap();
    let out = run_with(&["guard", "--policy", p, "--dialect", "postgres"], &[], b"SELECT * FROM orders\nSELECT * FROM staff_salaries\n");
    let lines = out.lines();
    assert_eq!(lines[0], "ALLOW\tSELECT * FROM orders LIMIT 7");
    assert!(lines[1].starts_with("REJECT\t"), "{out:?}");

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "no_such_rule = true\n").unwrap();
    let out = run(&["guard", "--policy", bad.to_str().unwrap(), "SELECT 1"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("policy"), "{out:?}");
    assert!(out.stdout.is_empty());
}

#[test]
fn usage_errors_exit_2() {
    let out = run(&["guard", "--dialect", "oracle", "SELECT 1"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("oracle"));
    assert_eq!(run(&["no-such-command"]).code, 2);
    assert_eq!(run(&["sql", "SELECT 1"]).code, 2, "--db is required");
    assert_eq!(run(&["--help"]).code, 0);
}
