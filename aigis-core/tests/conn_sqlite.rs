//! SQLite connection against the generated demo database: introspection, typed values, caps,
//! timeout, and a missing file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use aigis_core::connection::sqlite::SqliteConnection;
use aigis_core::connection::{Connection, ExecLimits, IntrospectOptions, TableKind};
use aigis_core::demo::create_demo_database;
use aigis_core::{DbErrorKind, Dialect, Error, Guard, GuardContext, GuardedSql, Policy};
use serde_json::json;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn guarded(sql: &str) -> aigis_core::Result<GuardedSql> {
    let mut policy = Policy::for_dialect(Dialect::Sqlite);
    policy.max_rows = 100_000;
    Guard::new(policy).check(sql, &GuardContext::default()).into_result()
}

async fn demo() -> Result<(tempfile::TempDir, SqliteConnection), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("demo.db");
    create_demo_database(&path).await?;
    let conn = SqliteConnection::open(&format!("sqlite://{}", path.display())).await?;
    Ok((dir, conn))
}

#[tokio::test]
async fn demo_database_introspects_with_keys_and_samples() -> TestResult {
    let (_dir, conn) = demo().await?;
    conn.ping().await?;
    let schema = conn.introspect(&IntrospectOptions { sample_rows: 2, value_truncate: 4, ..Default::default() }).await?;
    let names: Vec<&str> = schema.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["customers", "order_items", "order_totals", "orders", "products", "stores"]);
    assert_eq!(schema.table("order_totals").map(|t| t.kind), Some(TableKind::View));
    let items = schema.table("order_items").ok_or("order_items missing")?;
    assert_eq!(items.primary_key, ["order_id", "line"]);
    let mut fks: Vec<(String, String)> =
        items.foreign_keys.iter().map(|f| (f.columns.join(","), f.referred_table.clone())).collect();
    fks.sort();
    assert_eq!(fks, [("order_id".into(), "orders".into()), ("product_id".into(), "products".into())]);
    let active = schema.table("products").and_then(|t| t.column("active")).ok_or("products.active missing")?;
    assert_eq!((active.data_type.as_str(), active.nullable, active.default.as_deref()), ("BOOLEAN", false, Some("1")));
    let stores = schema.table("stores").ok_or("stores missing")?;
    assert_eq!(stores.sample_rows.len(), 2);
    // Long text is cut to 4 characters plus an ellipsis.
    assert_eq!(stores.sample_rows[0][1].as_str().map(|s| s.chars().count()), Some(5));
    Ok(())
}

#[tokio::test]
async fn demo_database_is_deterministic() -> TestResult {
    let (_a, first) = demo().await?;
    let (_b, second) = demo().await?;
    let sql = guarded(
        "SELECT s.name, COUNT(DISTINCT o.id) AS orders, ROUND(SUM(i.quantity * i.unit_price), 2) AS revenue \
         FROM stores s JOIN orders o ON o.store_id = s.id JOIN order_items i ON i.order_id = o.id \
         GROUP BY s.name ORDER BY s.name",
    )?;
    let a = first.execute(&sql, &ExecLimits::default()).await?;
    let b = second.execute(&sql, &ExecLimits::default()).await?;
    assert_eq!(a.rows, b.rows);
    assert_eq!(a.row_count, 5);
    let total: i64 = a.rows.iter().filter_map(|r| r[1].as_i64()).sum();
    assert_eq!(total, 300);
    Ok(())
}

#[tokio::test]
async fn values_are_typed() -> TestResult {
    let (_dir, conn) = demo().await?;
    let sql = guarded("SELECT 1 AS i, 2.5 AS r, 'x' AS t, x'0102' AS b, NULL AS n, active, ordered_at \
                       FROM products, orders WHERE products.id = 1 AND orders.id = 1")?;
    let result = conn.execute(&sql, &ExecLimits::default()).await?;
    let row = &result.rows[0];
    assert_eq!(&row[..5], &[json!(1), json!(2.5), json!("x"), json!("AQI="), json!(null)]);
    assert!(row[5].is_boolean(), "{:?}", row[5]);
    assert!(row[6].as_str().is_some_and(|s| s.len() == 19), "{:?}", row[6]);
    assert_eq!(result.column_names(), ["i", "r", "t", "b", "n", "active", "ordered_at"]);
    Ok(())
}

#[tokio::test]
async fn row_and_byte_caps_cut_while_streaming() -> TestResult {
    let (_dir, conn) = demo().await?;
    let sql = guarded("SELECT * FROM order_items")?;
    let all = conn.execute(&sql, &ExecLimits::default()).await?;
    assert!(!all.truncated && all.row_count > 300);
    let capped = conn.execute(&sql, &ExecLimits { max_rows: 10, ..ExecLimits::default() }).await?;
    assert_eq!((capped.row_count, capped.truncated), (10, true));
    let exact = conn.execute(&sql, &ExecLimits { max_rows: all.rows.len(), ..ExecLimits::default() }).await?;
    assert!(!exact.truncated, "a cap equal to the row count does not truncate");
    let small = conn.execute(&sql, &ExecLimits { max_bytes: 200, ..ExecLimits::default() }).await?;
    assert!(small.truncated && small.row_count > 0 && small.row_count < 20, "{}", small.row_count);
    Ok(())
}

#[tokio::test]
async fn runaway_query_is_interrupted_and_the_pool_recovers() -> TestResult {
    let (_dir, conn) = demo().await?;
    let runaway = guarded("SELECT COUNT(*) FROM order_items a, order_items b, order_items c, order_items d")?;
    let started = Instant::now();
    let err = conn.execute(&runaway, &ExecLimits { timeout: Duration::from_millis(300), ..ExecLimits::default() }).await;
    let elapsed = started.elapsed();
    assert!(matches!(err, Err(Error::Database { kind: DbErrorKind::Timeout, .. })), "{err:?}");
    assert!(elapsed < Duration::from_millis(1300), "took {elapsed:?}");
    // Every pooled connection still answers, with no transaction left open.
    for _ in 0..6 {
        let ok = conn.execute(&guarded("SELECT COUNT(*) FROM stores")?, &ExecLimits::default()).await?;
        assert_eq!(ok.rows[0][0], json!(5));
    }
    Ok(())
}

#[tokio::test]
async fn missing_and_bad_files_are_clear_errors() -> TestResult {
    let dir = tempfile::tempdir()?;
    let missing = dir.path().join("nope.db");
    let err = SqliteConnection::open(&format!("sqlite://{}", missing.display())).await.err();
    assert!(matches!(err, Some(Error::Database { kind: DbErrorKind::NotFound, .. })), "{err:?}");
    assert!(!missing.exists(), "opening must not create the file");
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"this is not a database, just some text that is long enough")?;
    let err = SqliteConnection::open(&format!("sqlite:{}", junk.display())).await.err();
    assert!(matches!(err, Some(Error::Database { .. })), "{err:?}");
    Ok(())
}

#[tokio::test]
async fn bad_query_is_a_query_error() -> TestResult {
    let (_dir, conn) = demo().await?;
    let err = conn.execute(&guarded("SELECT no_such_column FROM stores")?, &ExecLimits::default()).await;
    assert!(matches!(err, Err(Error::Database { kind: DbErrorKind::Query, .. })), "{err:?}");
    Ok(())
}
