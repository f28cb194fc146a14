//! Cancellation: when the consumer goes away mid-query, the database query stops too
//! (checked on the real PostgreSQL server through `pg_stat_activity`).

#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod engine_support;

use std::time::{Duration, Instant};

use aigis_core::{Assistant, connect};
use engine_support::{ScriptedModel, text};
use futures::StreamExt;
use sqlx::Connection as _;

const PG: &str = "postgres://postgres@127.0.0.1:5432/test";
/// A query that runs for a long time and sends nothing until it ends; `marker` finds it.
fn slow_sql(marker: &str) -> String {
    format!("SELECT COUNT(*) AS n, '{marker}' AS marker FROM generate_series(1, 200000) a CROSS JOIN generate_series(1, 200000) b")
}

/// A marker no other run shares, so a query left over from another run (or another
/// checkout's CI on the same server) is never mistaken for this one's.
fn unique_marker() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("aigis-cancel-marker-{}-{nanos}", std::process::id())
}

async fn running_marker_queries(admin: &mut sqlx::PgConnection, marker: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE state = 'active' AND strpos(query, $1) > 0 AND query NOT LIKE '%pg_stat_activity%'",
    )
    .bind(marker)
    .fetch_one(admin)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_stream_stops_the_database_query() {
    let Ok(mut admin) = sqlx::PgConnection::connect(PG).await else {
        println!("SKIPPED: PostgreSQL is not reachable at {PG}");
        return;
    };
    let marker = unique_marker();
    let model = ScriptedModel::new(vec![text(&slow_sql(&marker))]);
    let db = connect(PG).await.unwrap();
    let assistant = Assistant::builder(model, db).build();
    // The pipeline runs as the consumer pulls, so a task keeps pulling until it is aborted.
    let mut stream = assistant.ask("count a lot");
    let consumer = tokio::spawn(async move { while stream.next().await.is_some() {} });
    // Wait until the server is really running it.
    let started = Instant::now();
    while running_marker_queries(&mut admin, &marker).await == 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "the slow query never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    consumer.abort();
    let _ = consumer.await;
    let dropped = Instant::now();
    while running_marker_queries(&mut admin, &marker).await > 0 {
        // Well inside the 30 s statement timeout, with room for a loaded machine (where the
        // cancel's fresh connection alone can take a second).
        assert!(dropped.elapsed() < Duration::from_secs(10), "the query kept running after the consumer left");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("query stopped {} ms after the stream was dropped", dropped.elapsed().as_millis());
}
