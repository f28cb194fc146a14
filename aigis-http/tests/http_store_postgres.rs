//! The app store on PostgreSQL (127.0.0.1:5432, trust auth): the same migrations and flows as
//! on SQLite. Skips with a printed reason when PostgreSQL is not reachable.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod http_support;

use http_support::{TestServer, bearer, json, options, shop_db, sqlite_url, sse};
use serde_json::json;
use sqlx::Connection as _;

const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[tokio::test]
async fn users_connections_and_threads_on_a_postgres_store() {
    let Ok(mut admin_conn) = sqlx::PgConnection::connect(ADMIN_URL).await else {
        eprintln!("skipping: PostgreSQL not reachable at {ADMIN_URL}");
        return;
    };
    let db = format!("aigis_store_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}"))).execute(&mut admin_conn).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut o = options().default_db(sqlite_url(&shop_db(dir.path()).await));
    o.store_url = Some(format!("postgres://postgres@127.0.0.1:5432/{db}"));
    let s = TestServer::start(o).await;
    let alice = s.user("alice").await;
    let (status, c) = json(bearer(s.post("/v1/connections"), &alice).json(&json!({"name": "pg", "url": "postgres://u:s3cret-Pa55@127.0.0.1/x"})).send().await.unwrap()).await;
    assert_eq!(status, 201, "{c}");
    let (status, t) = json(bearer(s.post("/v1/threads"), &alice).json(&json!({"title": "on pg"})).send().await.unwrap()).await;
    assert_eq!(status, 201);
    // Two exchanges: each saves its question and answer in one statement, numbered in order.
    let tid = t["id"].as_str().unwrap();
    for text in ["/sql SELECT id FROM stores ORDER BY id", "/sql SELECT name FROM stores ORDER BY id"] {
        let events = sse(bearer(s.post(&format!("/v1/threads/{tid}/messages")), &alice).json(&json!({"text": text})).send().await.unwrap()).await;
        assert_eq!(events.last().unwrap().0, "done", "{events:?}");
    }
    let (status, got) = json(bearer(s.get(&format!("/v1/threads/{tid}")), &alice).send().await.unwrap()).await;
    assert_eq!((status, got["thread"]["title"].as_str()), (200, Some("on pg")));
    let messages = got["messages"].as_array().unwrap();
    let roles: Vec<&str> = messages.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant"]);
    assert_eq!(messages[2]["content"], "/sql SELECT name FROM stores ORDER BY id");
    assert!(messages[3]["sql"].as_str().unwrap().contains("name"), "{}", messages[3]);
    assert_eq!(messages[3]["events"].as_array().unwrap().last().unwrap()["type"], "done");
    let admin = s.admin().await;
    let (status, users) = json(bearer(s.get("/v1/admin/users"), &admin).send().await.unwrap()).await;
    assert_eq!((status, users.as_array().unwrap().len()), (200, 2));
    let (status, audit) = json(bearer(s.get("/v1/admin/audit?stage=execute"), &admin).send().await.unwrap()).await;
    assert_eq!((status, audit), (200, json!([])));
    // A restart re-runs the migrations without harm and keeps the data.
    let mut o = options();
    o.store_url = Some(format!("postgres://postgres@127.0.0.1:5432/{db}"));
    let again = TestServer::start(o).await;
    again.login("alice", "user-Pa55word").await;

    drop((s, again));
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {db} WITH (FORCE)"))).execute(&mut admin_conn).await;
}
