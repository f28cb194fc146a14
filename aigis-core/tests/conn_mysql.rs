//! MariaDB (MySQL protocol) on this machine: typed values, caps, and faults (server-side timeout,
//! a connection killed mid-query, pool exhaustion, bad credentials) each ending in a clear error,
//! with the pool serving the next query afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "mysql")]

mod common;

use std::time::{Duration, Instant};

use aigis_core::connection::mysql::MysqlConnection;
use aigis_core::connection::{Connection, ConnectionConfig, ExecLimits};
use aigis_core::{DbErrorKind, Dialect, Error};
use common::*;
use serde_json::json;
use sqlx::{Connection as _, Executor as _, Row};

async fn chinook(max_connections: u32, acquire_ms: u64) -> Result<Option<MysqlConnection>, Box<dyn std::error::Error>> {
    let Some(dir) = chinook_dir() else { return Ok(None) };
    load_chinook_mysql(dir).await?;
    let config = ConnectionConfig::new(Dialect::Mysql, "127.0.0.1")
        .credentials("root", None)
        .database("chinook")
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_millis(acquire_ms));
    Ok(Some(MysqlConnection::open_config(&config).await?))
}

fn kind(result: &aigis_core::Result<impl std::fmt::Debug>) -> Option<DbErrorKind> {
    match result {
        Err(Error::Database { kind, .. }) => Some(*kind),
        _ => None,
    }
}

/// Sessions running a statement that mentions `marker`, seen from another session.
async fn running(marker: &str) -> Result<Vec<i64>, Box<dyn std::error::Error>> {
    let mut admin = sqlx::MySqlConnection::connect(MY_ADMIN).await?;
    let rows = sqlx::query(
        "SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST \
         WHERE COMMAND = 'Execute' AND INFO LIKE CONCAT('%', ?, '%') AND ID <> CONNECTION_ID()",
    )
    .bind(marker)
    .fetch_all(&mut admin)
    .await?;
    Ok(rows.iter().filter_map(|r| r.try_get(0).ok()).collect())
}

async fn still_serves(conn: &MysqlConnection) -> TestResult {
    let ok = conn.execute(&guarded(Dialect::Mysql, "SELECT COUNT(*) FROM Genre")?, &ExecLimits::default()).await?;
    assert_eq!(ok.rows[0][0], json!(25));
    Ok(())
}

#[tokio::test]
async fn values_are_typed() -> TestResult {
    let conn = MysqlConnection::open(MY_ADMIN).await?;
    conn.ping().await?;
    let sql = guarded(
        Dialect::Mysql,
        "SELECT 1 AS i, CAST(2 AS UNSIGNED) AS u, CAST(1.5 AS DOUBLE) AS f, \
         CAST('12345678901234567890.125' AS DECIMAL(30, 3)) AS num, 'héllo' AS t, DATE '2024-02-29' AS d, \
         TIME '13:14:15' AS tm, TIMESTAMP '2024-01-02 03:04:05.5' AS ts, x'0102' AS bin, NULL AS n",
    )?;
    let result = conn.execute(&sql, &ExecLimits::default()).await?;
    let expected = json!([
        1, 2, 1.5, "12345678901234567890.125", "héllo", "2024-02-29", "13:14:15", "2024-01-02T03:04:05.500",
        "AQI=", null
    ]);
    assert_eq!(json!(result.rows[0]), expected);
    Ok(())
}

#[tokio::test]
async fn caps_cut_while_streaming() -> TestResult {
    let Some(conn) = chinook(5, 5000).await? else { return Ok(()) };
    let sql = guarded(Dialect::Mysql, "SELECT * FROM Track ORDER BY TrackId")?;
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
    let timeout = Duration::from_millis(500);
    let sql = guarded(Dialect::Mysql, "SELECT COUNT(*) AS runaway_probe FROM Track a, Track b, Track c")?;
    let started = Instant::now();
    let result = conn.execute(&sql, &ExecLimits { timeout, ..ExecLimits::default() }).await;
    let elapsed = started.elapsed();
    assert_eq!(kind(&result), Some(DbErrorKind::Timeout), "{result:?}");
    assert!(elapsed < timeout + Duration::from_secs(1), "took {elapsed:?}");
    assert!(running("runaway_probe").await?.is_empty(), "the statement still runs on the server");
    still_serves(&conn).await
}

#[tokio::test]
async fn connection_killed_mid_query_is_connection_lost() -> TestResult {
    let Some(conn) = chinook(2, 5000).await? else { return Ok(()) };
    let conn = std::sync::Arc::new(conn);
    let runner = {
        let conn = conn.clone();
        let sql = guarded(Dialect::Mysql, "SELECT COUNT(*) AS kill_probe FROM Track a, Track b, Track c, Track d")?;
        tokio::spawn(async move { conn.execute(&sql, &ExecLimits { timeout: Duration::from_secs(30), ..ExecLimits::default() }).await })
    };
    let mut admin = sqlx::MySqlConnection::connect(MY_ADMIN).await?;
    let mut killed = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Some(id) = running("kill_probe").await?.first() {
            admin.execute(sqlx::AssertSqlSafe(format!("KILL CONNECTION {id}"))).await?;
            killed = true;
            break;
        }
    }
    assert!(killed, "the query never showed up in the process list");
    let result = runner.await?;
    assert_eq!(kind(&result), Some(DbErrorKind::ConnectionLost), "{result:?}");
    still_serves(&conn).await?;
    still_serves(&conn).await
}

#[tokio::test]
async fn pool_exhaustion_is_a_pool_timeout() -> TestResult {
    let Some(conn) = chinook(1, 1000).await? else { return Ok(()) };
    still_serves(&conn).await?;
    let conn = std::sync::Arc::new(conn);
    let hog = {
        let conn = conn.clone();
        let sql = guarded(Dialect::Mysql, "SELECT COUNT(*) FROM Track a, Track b, Track c")?;
        tokio::spawn(async move { conn.execute(&sql, &ExecLimits { timeout: Duration::from_secs(3), ..ExecLimits::default() }).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let starved = conn.execute(&guarded(Dialect::Mysql, "SELECT 1")?, &ExecLimits::default()).await;
    assert_eq!(kind(&starved), Some(DbErrorKind::PoolTimeout), "{starved:?}");
    assert_eq!(kind(&hog.await?), Some(DbErrorKind::Timeout));
    still_serves(&conn).await
}

#[tokio::test]
async fn connect_failures_are_clear_and_secret_free() -> TestResult {
    let cases = [
        ("mysql://root:s3cr3t-pw@127.0.0.1:3306/test", DbErrorKind::Auth),
        ("mysql://root@127.0.0.1:3306/no_such_db_aigis", DbErrorKind::NotFound),
        ("mysql://root:s3cr3t-pw@127.0.0.1:1/test", DbErrorKind::Connect),
        ("mariadb://root:s3cr3t-pw@no-such-host.invalid:3306/test", DbErrorKind::Connect),
    ];
    for (url, expected) in cases {
        let result = MysqlConnection::open(url).await;
        assert_eq!(kind(&result), Some(expected), "{url}: {result:?}");
        let message = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(!message.contains("s3cr3t-pw"), "{message}");
        println!("{expected:?}: {message}");
    }
    let tls = MysqlConnection::open("mysql://root@127.0.0.1:3306/test?ssl-mode=required").await;
    match &tls {
        Err(e) => {
            println!("TLS required: {e}");
            assert_eq!(kind(&tls), Some(DbErrorKind::Tls), "{e}");
        }
        Ok(_) => println!("the server offers TLS: nothing to refuse"),
    }
    Ok(())
}
