//! PostgreSQL on this machine: typed values, caps, and faults (server-side timeout, a backend
//! killed mid-query, pool exhaustion, bad credentials) each ending in a clear error, with the
//! pool serving the next query afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "postgres")]

mod common;

use std::time::{Duration, Instant};

use aigis_core::connection::postgres::PostgresConnection;
use aigis_core::connection::{Connection, ConnectionConfig, ExecLimits};
use aigis_core::{DbErrorKind, Dialect, Error};
use common::*;
use serde_json::json;
use sqlx::{Connection as _, Row};

/// A query the guard allows that runs for minutes: 3,503³ rows.
const RUNAWAY: &str = "SELECT COUNT(*) FROM track a, track b, track c";

async fn chinook(max_connections: u32, acquire_ms: u64) -> Result<Option<PostgresConnection>, Box<dyn std::error::Error>> {
    let Some(dir) = chinook_dir() else { return Ok(None) };
    load_chinook_postgres(dir).await?;
    let config = ConnectionConfig::new(Dialect::Postgres, "127.0.0.1")
        .credentials("postgres", None)
        .database("chinook")
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_millis(acquire_ms));
    Ok(Some(PostgresConnection::open_config(&config).await?))
}

fn kind(result: &aigis_core::Result<impl std::fmt::Debug>) -> Option<DbErrorKind> {
    match result {
        Err(Error::Database { kind, .. }) => Some(*kind),
        _ => None,
    }
}

/// Backends whose last query mentions `marker` and that are still busy or inside a
/// transaction, seen from another session.
async fn busy_backends(marker: &str) -> Result<i64, Box<dyn std::error::Error>> {
    let mut admin = sqlx::PgConnection::connect(PG_ADMIN).await?;
    let row = sqlx::query(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'aigis' AND query LIKE '%' || $1 || '%' \
         AND (state <> 'idle' OR xact_start IS NOT NULL)",
    )
    .bind(marker)
    .fetch_one(&mut admin)
    .await?;
    Ok(row.try_get(0)?)
}

async fn still_serves(conn: &PostgresConnection) -> TestResult {
    let ok = conn.execute(&guarded(Dialect::Postgres, "SELECT COUNT(*) FROM genre")?, &ExecLimits::default()).await?;
    assert_eq!(ok.rows[0][0], json!(25));
    Ok(())
}

#[tokio::test]
async fn values_are_typed() -> TestResult {
    let conn = PostgresConnection::open("postgres://postgres@127.0.0.1:5432/test").await?;
    conn.ping().await?;
    let sql = guarded(
        Dialect::Postgres,
        "SELECT CAST(1 AS smallint) AS i2, 2 AS i4, CAST(3 AS bigint) AS i8, CAST(1.5 AS real) AS f4, \
         CAST(2.25 AS double precision) AS f8, CAST('12345678901234567890.125' AS numeric) AS num, true AS b, \
         'héllo' AS t, DATE '2024-02-29' AS d, TIME '13:14:15' AS tm, TIMESTAMP '2024-01-02 03:04:05.5' AS ts, \
         TIMESTAMPTZ '2024-01-02 03:04:05+02' AS tstz, INTERVAL '1 year 2 months 3 days 04:05:06' AS iv, \
         CAST('8a5c0d4e-1f2a-4b3c-9d8e-7f6a5b4c3d2e' AS uuid) AS u, CAST('{\"a\": [1, 2]}' AS jsonb) AS j, \
         ARRAY[1, 2, NULL] AS arr, ARRAY['x', 'y'] AS tarr, CAST('\\x0102' AS bytea) AS bin, CAST(NULL AS int) AS n",
    )?;
    let result = conn.execute(&sql, &ExecLimits::default()).await?;
    let expected = json!([
        1, 2, 3, 1.5, 2.25, "12345678901234567890.125", true, "héllo", "2024-02-29", "13:14:15",
        "2024-01-02T03:04:05.500", "2024-01-02T01:04:05Z", "P1Y2M3DT4H5M6S", "8a5c0d4e-1f2a-4b3c-9d8e-7f6a5b4c3d2e",
        {"a": [1, 2]}, [1, 2, null], ["x", "y"], "AQI=", null
    ]);
    assert_eq!(json!(result.rows[0]), expected);
    assert_eq!(result.columns[5].data_type, "NUMERIC");
    Ok(())
}

#[tokio::test]
async fn caps_cut_while_streaming() -> TestResult {
    let Some(conn) = chinook(5, 5000).await? else { return Ok(()) };
    let sql = guarded(Dialect::Postgres, "SELECT * FROM track ORDER BY track_id")?;
    let capped = conn.execute(&sql, &ExecLimits { max_rows: 7, ..ExecLimits::default() }).await?;
    assert_eq!((capped.row_count, capped.truncated), (7, true));
    assert_eq!(capped.rows[6][0], json!(7));
    let bytes = conn.execute(&sql, &ExecLimits { max_bytes: 1000, ..ExecLimits::default() }).await?;
    assert!(bytes.truncated && bytes.row_count > 0 && bytes.row_count < 10, "{}", bytes.row_count);
    still_serves(&conn).await
}

#[tokio::test]
async fn runaway_query_is_cancelled_by_the_server() -> TestResult {
    let Some(conn) = chinook(1, 5000).await? else { return Ok(()) };
    let started = Instant::now();
    let timeout = Duration::from_millis(500);
    let sql = guarded(Dialect::Postgres, "SELECT COUNT(*) AS runaway_probe FROM track a, track b, track c")?;
    let result = conn.execute(&sql, &ExecLimits { timeout, ..ExecLimits::default() }).await;
    let elapsed = started.elapsed();
    assert_eq!(kind(&result), Some(DbErrorKind::Timeout), "{result:?}");
    assert!(elapsed < timeout + Duration::from_secs(1), "took {elapsed:?}");
    // The single pooled connection is idle, outside any transaction, and answers.
    assert_eq!(busy_backends("runaway_probe").await?, 0);
    still_serves(&conn).await
}

#[tokio::test]
async fn backend_killed_mid_query_is_connection_lost() -> TestResult {
    let Some(conn) = chinook(2, 5000).await? else { return Ok(()) };
    let conn = std::sync::Arc::new(conn);
    let runner = {
        let conn = conn.clone();
        let sql = guarded(Dialect::Postgres, "SELECT COUNT(*) FROM track a, track b, track c, track d")?;
        tokio::spawn(async move { conn.execute(&sql, &ExecLimits { timeout: Duration::from_secs(30), ..ExecLimits::default() }).await })
    };
    let mut admin = sqlx::PgConnection::connect(PG_ADMIN).await?;
    let mut killed = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let n: i64 = sqlx::query(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = 'aigis' AND state = 'active' AND query LIKE '%track d%'",
        )
        .fetch_one(&mut admin)
        .await?
        .try_get(0)?;
        if n > 0 {
            killed = true;
            break;
        }
    }
    assert!(killed, "the query never showed up in pg_stat_activity");
    let result = runner.await?;
    assert_eq!(kind(&result), Some(DbErrorKind::ConnectionLost), "{result:?}");
    still_serves(&conn).await?;
    still_serves(&conn).await
}

#[tokio::test]
async fn pool_exhaustion_is_a_pool_timeout() -> TestResult {
    let Some(conn) = chinook(1, 1000).await? else { return Ok(()) };
    // Open the pool's one connection first, so the hog does not wait for it.
    still_serves(&conn).await?;
    let conn = std::sync::Arc::new(conn);
    let hog = {
        let conn = conn.clone();
        let sql = guarded(Dialect::Postgres, RUNAWAY)?;
        tokio::spawn(async move { conn.execute(&sql, &ExecLimits { timeout: Duration::from_secs(3), ..ExecLimits::default() }).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let starved = conn.execute(&guarded(Dialect::Postgres, "SELECT 1")?, &ExecLimits::default()).await;
    assert_eq!(kind(&starved), Some(DbErrorKind::PoolTimeout), "{starved:?}");
    assert_eq!(kind(&hog.await?), Some(DbErrorKind::Timeout));
    still_serves(&conn).await
}

#[tokio::test]
async fn connect_failures_are_clear_and_secret_free() -> TestResult {
    let cases = [
        ("postgres://nosuchuser:s3cr3t-pw@127.0.0.1:5432/test", DbErrorKind::Auth),
        ("postgres://postgres:s3cr3t-pw@127.0.0.1:5432/no_such_db_aigis", DbErrorKind::NotFound),
        ("postgres://postgres:s3cr3t-pw@127.0.0.1:1/test", DbErrorKind::Connect),
        ("postgres://postgres:s3cr3t-pw@no-such-host.invalid:5432/test", DbErrorKind::Connect),
    ];
    for (url, expected) in cases {
        let result = PostgresConnection::open(url).await;
        assert_eq!(kind(&result), Some(expected), "{url}: {result:?}");
        let message = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(!message.contains("s3cr3t-pw"), "{message}");
        println!("{expected:?}: {message}");
    }
    // A server without TLS and a client that requires it.
    let tls = PostgresConnection::open("postgres://postgres@127.0.0.1:5432/test?sslmode=require").await;
    if let Err(e) = &tls {
        println!("TLS required: {e}");
        assert_eq!(kind(&tls), Some(DbErrorKind::Tls), "{e}");
    } else {
        println!("the server offers TLS: nothing to refuse");
    }
    let config = ConnectionConfig::new(Dialect::Postgres, "127.0.0.1").credentials("nosuchuser", Some("s3cr3t-pw".into()));
    assert!(!format!("{config:?}").contains("s3cr3t-pw"));
    Ok(())
}
