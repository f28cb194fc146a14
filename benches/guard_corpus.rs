//! The guard benchmark over the legitimate analytical corpus
//! (aigis-core/tests/corpus/legit.tsv) under the corpus policy (row scopes, masks, blocks,
//! allow-list): parse + check + rewrite + render per statement.
//!
//! Two bench binaries run it, one per global allocator: `guard` with the system allocator (what
//! a Rust program embedding aigis-core and the `aigis` binary use) and `guard_mimalloc` with
//! mimalloc (what the Python and Node packages ship with).
//! `cargo bench -p aigis-benches --bench guard` runs criterion; with `-- --report` it instead
//! prints the median microseconds per statement as one line (`guard_median_us=<x> n=<n> ...`),
//! which `scripts/bench-guard.sh` compares with Python sqlglot parsing the same statements.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use aigis_core::{Dialect, Guard, GuardContext, Policy};
use criterion::Criterion;
use sqlparser::parser::Parser;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../aigis-core/tests/corpus")
}

/// The legitimate corpus, each statement with a guard for its dialect under the corpus policy.
pub fn load() -> Vec<(Guard, String)> {
    let text = std::fs::read_to_string(corpus_dir().join("legit.tsv")).unwrap_or_default();
    let base = Policy::from_file(corpus_dir().join("policy.toml")).unwrap_or_default();
    let guard_for = |d: Dialect| Guard::new(Policy { dialect: d, ..base.clone() });
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .filter_map(|(d, sql)| Some((guard_for(d.parse().ok()?), sql.to_string())))
        .collect()
}

/// The caller context that binds the corpus policy's row-scope parameters.
pub fn context() -> GuardContext {
    let mut ctx = GuardContext::default();
    ctx.params.insert("store_ids".into(), serde_json::json!([1, 2]));
    ctx
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The median of 31 timings of `f`, in microseconds.
fn time_us(mut f: impl FnMut()) -> f64 {
    let mut runs: Vec<f64> = (0..31)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    median(&mut runs)
}

/// Per statement: the median of repeated timings; then the median over statements. Beside the
/// guard, sqlparser's parse alone of the same text, so the guard's own share is visible.
pub fn report(statements: &[(Guard, String)], allocator: &str) {
    let ctx = context();
    let (mut guard_us, mut parse_us) = (Vec::new(), Vec::new());
    let mut allowed = 0;
    for (guard, sql) in statements {
        allowed += usize::from(guard.check(sql, &ctx).allowed);
        guard_us.push(time_us(|| {
            black_box(guard.check(black_box(sql), &ctx));
        }));
        let dialect = guard.policy().dialect.parser_dialect();
        parse_us.push(time_us(|| {
            let _ = black_box(Parser::parse_sql(dialect, black_box(sql)));
        }));
    }
    println!(
        "guard_median_us={:.2} n={} allowed={allowed} sqlparser_parse_median_us={:.2} allocator={allocator}",
        median(&mut guard_us),
        statements.len(),
        median(&mut parse_us)
    );
}

/// The bench's entry point: the `--report` line, or criterion.
pub fn run(allocator: &str) {
    let statements = load();
    if std::env::args().any(|a| a == "--report") {
        report(&statements, allocator);
        return;
    }
    let ctx = context();
    let mut c = Criterion::default().configure_from_args();
    c.bench_function(&format!("guard/legit_corpus_per_statement/{allocator}"), |b| {
        let mut i = 0;
        b.iter(|| {
            let (guard, sql) = &statements[i % statements.len()];
            i += 1;
            black_box(guard.check(black_box(sql), &ctx))
        })
    });
    c.final_summary();
}
