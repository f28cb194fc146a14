//! Introspection of 1,000 tables × 20 columns on the local PostgreSQL (target: under 2 s),
//! against the peer a naive tool uses: one columns query and one keys query per table.
//!
//! The tables live in the dedicated schema `aigis_bench` of database `test`, created once
//! (under an advisory lock, marked done by a schema comment). Skips with a printed reason when
//! PostgreSQL is not reachable. Run: `cargo bench -p aigis-benches --bench introspect`.

#![allow(missing_docs)]

use std::time::{Duration, Instant};

use aigis_core::connection::postgres::PostgresConnection;
use aigis_core::connection::{Connection, ConnectionConfig, IntrospectOptions};
use aigis_core::Dialect;
use criterion::{Criterion, criterion_group, criterion_main};
use sqlx::{Connection as _, Executor as _, Row as _};

const URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const SCHEMA: &str = "aigis_bench";
const TABLES: usize = 1000;
const MARKER: &str = "aigis-bench-1000x20-v1";

type BoxError = Box<dyn std::error::Error>;

/// Creates `aigis_bench` with 1,000 tables of 20 columns each (a key, a foreign key to the
/// previous table, 18 columns of assorted types with comments on some), unless already there.
async fn ensure_schema() -> Result<(), BoxError> {
    let mut conn = sqlx::PgConnection::connect(URL).await?;
    conn.execute("SELECT pg_advisory_lock(7426002)").await?;
    let done: Option<String> = sqlx::query("SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = $1")
        .bind(SCHEMA)
        .fetch_optional(&mut conn)
        .await?
        .and_then(|r| r.try_get(0).ok());
    if done.as_deref() != Some(MARKER) {
        let types = ["integer", "bigint", "text", "varchar(80)", "numeric(12,2)", "timestamptz", "date", "boolean", "jsonb"];
        let mut ddl = format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA};");
        for t in 0..TABLES {
            let mut cols = vec!["id integer PRIMARY KEY".to_string()];
            cols.push(if t == 0 { "parent_id integer".into() } else { format!("parent_id integer REFERENCES {SCHEMA}.t{:04}(id)", t - 1) });
            for c in 0..18 {
                let not_null = if c % 3 == 0 { " NOT NULL" } else { "" };
                cols.push(format!("c{c:02} {}{not_null}", types[(t + c) % types.len()]));
            }
            ddl.push_str(&format!("CREATE TABLE {SCHEMA}.t{t:04} ({});", cols.join(", ")));
            ddl.push_str(&format!("COMMENT ON TABLE {SCHEMA}.t{t:04} IS 'bench table {t}';"));
        }
        ddl.push_str(&format!("COMMENT ON SCHEMA {SCHEMA} IS '{MARKER}';"));
        let mut tx = conn.begin().await?;
        tx.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(ddl))).await?;
        tx.commit().await?;
    }
    conn.execute("SELECT pg_advisory_unlock(7426002)").await?;
    Ok(())
}

/// The peer: list tables, then per table one columns query and one keys query
/// (information_schema, as many tools do).
async fn naive_introspect(conn: &mut sqlx::PgConnection) -> Result<usize, BoxError> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1",
    )
    .bind(SCHEMA)
    .fetch_all(&mut *conn)
    .await?;
    let mut columns = 0;
    for table in &tables {
        columns += sqlx::query(
            "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns \
             WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
        )
        .bind(SCHEMA)
        .bind(table)
        .fetch_all(&mut *conn)
        .await?
        .len();
        sqlx::query(
            "SELECT tc.constraint_type, kcu.column_name, ccu.table_name AS ref_table, ccu.column_name AS ref_column \
             FROM information_schema.table_constraints tc \
             JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema \
             LEFT JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = tc.constraint_name AND tc.constraint_type = 'FOREIGN KEY' \
             WHERE tc.table_schema = $1 AND tc.table_name = $2 AND tc.constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY')",
        )
        .bind(SCHEMA)
        .bind(table)
        .fetch_all(&mut *conn)
        .await?;
    }
    Ok(columns)
}

fn bench(c: &mut Criterion) {
    let Ok(rt) = tokio::runtime::Runtime::new() else { return };
    let setup = rt.block_on(async {
        ensure_schema().await?;
        let config = ConnectionConfig::new(Dialect::Postgres, "127.0.0.1").credentials("postgres", None).database("test").schema(SCHEMA);
        let aigis = PostgresConnection::open_config(&config).await?;
        let naive = sqlx::PgConnection::connect(URL).await?;
        Ok::<_, BoxError>((aigis, naive))
    });
    let (aigis, naive) = match setup {
        Ok(pair) => pair,
        Err(e) => {
            println!("SKIP introspect bench: PostgreSQL not usable at {URL}: {e}");
            return;
        }
    };
    let naive = tokio::sync::Mutex::new(naive);
    let options = IntrospectOptions::default();

    // One timed pass of each first, printed side by side.
    let (aigis_time, naive_time) = rt.block_on(async {
        let started = Instant::now();
        let schema = aigis.introspect(&options).await;
        let aigis_time = started.elapsed();
        let columns: usize = schema.as_ref().map(|s| s.tables.iter().map(|t| t.columns.len()).sum()).unwrap_or(0);
        let fks: usize = schema.as_ref().map(|s| s.tables.iter().map(|t| t.foreign_keys.len()).sum()).unwrap_or(0);
        println!("aigis catalog introspection: {} tables, {columns} columns, {fks} foreign keys in {aigis_time:?}",
            schema.as_ref().map(|s| s.tables.len()).unwrap_or(0));
        let started = Instant::now();
        let naive_columns = naive_introspect(&mut *naive.lock().await).await.unwrap_or(0);
        let naive_time = started.elapsed();
        println!("naive per-table loop:        {naive_columns} columns in {naive_time:?}");
        (aigis_time, naive_time)
    });
    println!(
        "ratio naive/aigis: {:.1}x; target < 2 s: {}",
        naive_time.as_secs_f64() / aigis_time.as_secs_f64().max(1e-9),
        if aigis_time < Duration::from_secs(2) { "met" } else { "MISSED" }
    );

    let mut group = c.benchmark_group("introspect_1000x20");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    group.bench_function("aigis_catalog_queries", |b| b.to_async(&rt).iter(|| aigis.introspect(&options)));
    // The naive loop takes about a minute per pass here (information_schema joins per table), so
    // it is timed once above rather than sampled ten times by criterion.
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
