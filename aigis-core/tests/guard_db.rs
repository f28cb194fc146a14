//! Row scopes and PII protection executed on the real databases: PostgreSQL and MariaDB on
//! this machine (127.0.0.1, database `test`) and SQLite in memory. Whatever an adversarial
//! query tries, every returned row is in scope and no protected value comes back.
//!
//! Tables are this test's own (`guard_t_*`), dropped and recreated at the start.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(all(feature = "postgres", feature = "mysql", feature = "sqlite"))]

use aigis_core::{Dialect, Guard, GuardContext, Policy};
use sqlx::{Column, Row};

const POLICY: &str = r#"
max_rows = 500
[columns.guard_t_customers]
email = "mask"
ssn = "block"
[row_scopes]
guard_t_orders = "store_id IN (:store_ids)"
guard_t_customers = "store_id IN (:store_ids)"
[params]
store_ids = "integer_list"
"#;

const IN_SCOPE: [i64; 2] = [1, 2];
const ORDERS_IN_SCOPE: i64 = 10;

fn setup_sql() -> Vec<String> {
    let mut s = vec![
        "DROP TABLE IF EXISTS guard_t_orders".to_string(),
        "DROP TABLE IF EXISTS guard_t_customers".to_string(),
        "DROP TABLE IF EXISTS guard_t_stores".to_string(),
        "CREATE TABLE guard_t_stores (id BIGINT PRIMARY KEY, name VARCHAR(50))".to_string(),
        "CREATE TABLE guard_t_customers (id BIGINT PRIMARY KEY, store_id BIGINT, name VARCHAR(50), email VARCHAR(100), ssn VARCHAR(20))".to_string(),
        "CREATE TABLE guard_t_orders (id BIGINT PRIMARY KEY, store_id BIGINT, customer_id BIGINT, amount BIGINT)".to_string(),
    ];
    for i in 1..=4 {
        s.push(format!("INSERT INTO guard_t_stores VALUES ({i}, 'store {i}')"));
    }
    for i in 1..=8 {
        s.push(format!(
            "INSERT INTO guard_t_customers VALUES ({i}, {}, 'customer {i}', 'c{i}@secret.example', '900-00-{i:04}')",
            (i % 4) + 1
        ));
    }
    for i in 1..=20 {
        s.push(format!("INSERT INTO guard_t_orders VALUES ({i}, {}, {}, {})", (i % 4) + 1, (i % 8) + 1, i * 10));
    }
    s
}

/// Adversarial queries the guard allows (rewritten); each is executed and its rows checked.
const ALLOWED: &[&str] = &[
    "SELECT id, store_id FROM guard_t_orders WHERE 1 = 1 OR 1 = 1",
    "SELECT o.id, o.store_id FROM guard_t_orders o WHERE o.store_id = 3 OR 1 = 1",
    "SELECT store_id FROM guard_t_orders UNION ALL SELECT store_id FROM guard_t_orders WHERE store_id IN (3, 4)",
    "SELECT t.store_id FROM (SELECT * FROM guard_t_orders WHERE 1 = 1) t",
    "WITH x AS (SELECT * FROM guard_t_orders) SELECT x.id, x.store_id FROM x",
    "WITH x AS (SELECT store_id FROM guard_t_orders), y AS (SELECT store_id FROM x UNION SELECT 3) SELECT store_id FROM y WHERE store_id IN (SELECT store_id FROM guard_t_orders)",
    "SELECT o.id, o.store_id FROM guard_t_orders o WHERE EXISTS (SELECT 1 FROM guard_t_orders o2 WHERE o2.id = o.id OR 1 = 1)",
    "SELECT a.id, b.store_id FROM guard_t_orders a JOIN guard_t_orders b ON 1 = 1",
    "SELECT o.store_id AS store_id FROM guard_t_orders AS o JOIN guard_t_stores s ON s.id = o.store_id",
    "SELECT (SELECT MAX(store_id) FROM guard_t_orders) AS store_id",
    "SELECT s.id AS store_id FROM guard_t_stores s WHERE s.id IN (SELECT store_id FROM guard_t_orders WHERE 1 = 1 OR store_id = 4)",
    "SELECT o.id, (SELECT c.store_id FROM guard_t_customers c WHERE c.id = o.customer_id) AS store_id FROM guard_t_orders o",
    "SELECT email, name, store_id FROM guard_t_customers",
    "SELECT c.name, c.email AS e FROM guard_t_customers c WHERE c.email LIKE '%secret%' OR 1 = 1",
    "SELECT UPPER(email) AS leak FROM guard_t_customers",
    "SELECT MAX(email) AS leak, MIN(email) AS leak2 FROM guard_t_customers",
    "SELECT name FROM guard_t_customers ORDER BY email",
    "WITH e AS (SELECT email AS x FROM guard_t_customers) SELECT x FROM e",
    "SELECT name AS leak FROM guard_t_customers UNION SELECT email FROM guard_t_customers",
    "SELECT (SELECT email FROM guard_t_customers c2 WHERE c2.id = c.id) AS leak FROM guard_t_customers c",
    "SELECT c.name, o.amount, o.store_id FROM guard_t_customers c JOIN guard_t_orders o ON o.customer_id = c.id",
];

/// Queries that must be rejected before reaching the database.
const REJECTED: &[&str] = &[
    "SELECT ssn FROM guard_t_customers",
    "SELECT * FROM guard_t_customers",
    "SELECT c.* FROM guard_t_customers c",
    "SELECT name FROM guard_t_customers WHERE ssn LIKE '900%'",
    "SELECT MAX(ssn) FROM guard_t_customers",
    "SELECT x FROM (SELECT ssn AS x FROM guard_t_customers) t",
    "WITH guard_t_orders AS (SELECT * FROM guard_t_orders) SELECT * FROM guard_t_orders",
    "SELECT 1; SELECT * FROM guard_t_orders",
];

fn context() -> GuardContext {
    let mut ctx = GuardContext::default();
    ctx.params.insert("store_ids".into(), serde_json::json!(IN_SCOPE));
    ctx
}

fn guard(dialect: Dialect) -> Guard {
    let mut policy = Policy::from_toml_str(POLICY).unwrap();
    policy.dialect = dialect;
    Guard::try_new(policy).unwrap()
}

type Cells = Vec<(String, Option<String>)>;

macro_rules! decode_row {
    ($row:expr) => {{
        let row = $row;
        let mut cells: Cells = Vec::new();
        for (i, col) in row.columns().iter().enumerate() {
            let value = if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                v.map(|v| v.to_string())
            } else if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                v
            } else if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
                v.map(|v| v.to_string())
            } else {
                panic!("column {} could not be decoded", col.name())
            };
            cells.push((col.name().to_string(), value));
        }
        cells
    }};
}

fn assert_safe(dialect: Dialect, sql: &str, rewritten: &str, rows: &[Cells]) {
    for row in rows {
        for (name, value) in row {
            if let Some(v) = value {
                assert!(!v.contains("@secret.example") && !v.starts_with("900-00-"), "[{dialect}] {sql}\n  -> {rewritten}\n  leaked {name}={v}");
                if name == "store_id" {
                    let id: i64 = v.parse().unwrap();
                    assert!(IN_SCOPE.contains(&id), "[{dialect}] {sql}\n  -> {rewritten}\n  row out of scope: store_id={id}");
                }
            }
        }
    }
}

/// Runs the battery with `fetch` executing rewritten SQL.
async fn battery<F, Fut>(dialect: Dialect, fetch: F)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Vec<Cells>>,
{
    let g = guard(dialect);
    let ctx = context();
    for sql in ALLOWED {
        let v = g.check(sql, &ctx);
        let rewritten = v.sql.clone().unwrap_or_default();
        assert!(v.allowed, "[{dialect}] {sql}: {:?}", v.violations);
        let rows = fetch(v.into_result().unwrap().sql().to_string()).await;
        assert_safe(dialect, sql, &rewritten, &rows);
    }
    for sql in REJECTED {
        assert!(!g.check(sql, &ctx).allowed, "[{dialect}] {sql} was allowed");
    }
    // The scope neither leaks nor over-filters: exactly the in-scope orders come back.
    let v = g.check("SELECT COUNT(*) AS n FROM guard_t_orders WHERE 1 = 1 OR 1 = 1", &ctx);
    let rows = fetch(v.into_result().unwrap().sql().to_string()).await;
    assert_eq!(rows[0][0].1.as_deref(), Some(ORDERS_IN_SCOPE.to_string().as_str()), "[{dialect}] scoped count");
    // Masked columns still come back under their own name, as NULL.
    let v = g.check("SELECT email FROM guard_t_customers", &ctx);
    let rows = fetch(v.into_result().unwrap().sql().to_string()).await;
    assert!(!rows.is_empty() && rows.iter().all(|r| r[0].0 == "email" && r[0].1.is_none()), "[{dialect}] {rows:?}");
}

#[tokio::test]
async fn postgres_scopes_and_masks_hold() {
    let pool = sqlx::PgPool::connect("postgres://postgres@127.0.0.1:5432/test").await.unwrap();
    for s in setup_sql() {
        sqlx::query(sqlx::AssertSqlSafe(s.clone())).execute(&pool).await.unwrap();
    }
    battery(Dialect::Postgres, |sql| {
        let pool = pool.clone();
        async move {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).fetch_all(&pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            rows.iter().map(|r| decode_row!(r)).collect()
        }
    })
    .await;
}

#[tokio::test]
async fn mariadb_scopes_and_masks_hold() {
    let pool = sqlx::MySqlPool::connect("mysql://root@127.0.0.1:3306/test").await.unwrap();
    for s in setup_sql() {
        sqlx::query(sqlx::AssertSqlSafe(s.clone())).execute(&pool).await.unwrap();
    }
    battery(Dialect::Mysql, |sql| {
        let pool = pool.clone();
        async move {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).fetch_all(&pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            rows.iter().map(|r| decode_row!(r)).collect()
        }
    })
    .await;
}

#[tokio::test]
async fn sqlite_scopes_and_masks_hold() {
    let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
    for s in setup_sql() {
        sqlx::query(sqlx::AssertSqlSafe(s.clone())).execute(&pool).await.unwrap();
    }
    battery(Dialect::Sqlite, |sql| {
        let pool = pool.clone();
        async move {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).fetch_all(&pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            rows.iter().map(|r| decode_row!(r)).collect()
        }
    })
    .await;
}
