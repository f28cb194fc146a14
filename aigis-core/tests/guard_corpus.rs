//! The attack and legitimate corpora (tests/corpus/), checked under tests/corpus/policy.toml.
//!
//! Every attack must be rejected with its expected code, or allowed only with the note that
//! proves it was neutralised (`scope_applied`, `column_masked`, `limit_clamped`, ...). Every
//! legitimate analytical query must be allowed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use aigis_core::{Dialect, Guard, GuardContext, Policy};

const NOTE_CODES: &[&str] = &["scope_applied", "column_masked", "limit_clamped", "limit_added"];

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("corpus")
}

fn guard(dialect: Dialect) -> Guard {
    let mut policy = Policy::from_file(corpus_dir().join("policy.toml")).unwrap();
    policy.dialect = dialect;
    Guard::try_new(policy).unwrap()
}

fn context() -> GuardContext {
    let mut ctx = GuardContext::default();
    ctx.params.insert("store_ids".into(), serde_json::json!([1, 2]));
    ctx
}

fn dialects(name: &str) -> Vec<Dialect> {
    match name {
        "all" => vec![Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite],
        other => vec![other.parse().unwrap()],
    }
}

/// Lines of a TSV corpus file, without comments and blank lines.
fn lines(file: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(corpus_dir().join(file)).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

#[test]
fn every_attack_is_rejected_or_neutralised() {
    let ctx = context();
    let mut failures = Vec::new();
    let mut count = 0;
    for file in ["attacks-manual.tsv", "attacks-generated.tsv"] {
        for row in lines(file) {
            let [dialect, expected, sql] = row.as_slice() else { panic!("bad corpus line {row:?}") };
            for d in dialects(dialect) {
                count += 1;
                let v = guard(d).check(sql, &ctx);
                let codes: Vec<&str> = expected.split('|').collect();
                let ok = codes.iter().any(|code| {
                    if NOTE_CODES.contains(code) {
                        v.allowed && v.notes.iter().any(|n| n.code == *code)
                    } else {
                        !v.allowed && v.violations.iter().any(|x| x.code == *code)
                    }
                });
                if !ok {
                    failures.push(format!("[{d}] expected {expected}: {sql}\n    got allowed={} violations={:?} notes={:?} sql={:?}",
                        v.allowed, v.violations.iter().map(|x| &x.code).collect::<Vec<_>>(),
                        v.notes.iter().map(|x| &x.code).collect::<Vec<_>>(), v.sql));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {count} attacks not stopped:\n{}", failures.len(), failures.join("\n"));
    assert!(count >= 150, "the attack corpus has {count} cases, fewer than 150");
    println!("{count} attacks rejected or neutralised");
}

#[test]
fn every_legitimate_query_is_allowed() {
    let ctx = context();
    let mut failures = Vec::new();
    let mut count = 0;
    for row in lines("legit.tsv") {
        let [dialect, sql] = row.as_slice() else { panic!("bad corpus line {row:?}") };
        for d in dialects(dialect) {
            count += 1;
            let v = guard(d).check(sql, &ctx);
            if !v.allowed {
                failures.push(format!("[{d}] {sql}\n    {:?}", v.violations));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {count} legitimate queries rejected:\n{}", failures.len(), failures.join("\n"));
    assert!(count >= 300, "the legitimate corpus has {count} queries, fewer than 300");
    println!("{count} legitimate queries allowed");
}
