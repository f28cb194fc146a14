//! Graceful shutdown: a stream open when shutdown starts still ends with `done`, and the thread
//! is saved; new connections are refused afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod http_support;

use std::time::Duration;

use aigis_core::testing::{FakeLlm, Reply};
use aigis_http::{AppState, serve_on};
use futures::StreamExt;
use http_support::{bearer, json, options, parse_sse, shop_db, sqlite_url, with_llm};
use serde_json::json;

const SQL_REPLY: &str = "```sql\nSELECT name FROM stores ORDER BY id\n```";

#[tokio::test]
async fn open_streams_finish_after_shutdown_starts() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(&shop_db(dir.path()).await);
    let slow = Reply::chunks(["North ", "is ", "first."]).chunk_delay(Duration::from_millis(300));
    let fake = FakeLlm::start(vec![Reply::text(SQL_REPLY), slow]).await.unwrap();
    let mut o = with_llm(options().default_db(db), &fake);
    o.store_url = Some(format!("sqlite://{}", dir.path().join("app.db").display()));
    let state = AppState::new(&o).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_on(listener, state, async { let _ = stopped.await; }, Duration::from_secs(30)));

    let client = reqwest::Client::new();
    let login = client.post(format!("{base}/v1/auth/login")).json(&json!({"username": http_support::ADMIN, "password": http_support::ADMIN_PASSWORD})).send().await.unwrap();
    let token = json(login).await.1["access_token"].as_str().unwrap().to_string();
    let (_, t) = json(bearer(client.post(format!("{base}/v1/threads")), &token).json(&json!({})).send().await.unwrap()).await;
    let id = t["id"].as_str().unwrap().to_string();
    let resp = bearer(client.post(format!("{base}/v1/threads/{id}/messages")), &token).json(&json!({"text": "First store?"})).send().await.unwrap();
    let mut body = resp.bytes_stream();
    let mut text = String::new();
    while !text.contains("event: delta") {
        text.push_str(&String::from_utf8_lossy(&body.next().await.unwrap().unwrap()));
    }
    stop.send(()).unwrap();
    while let Some(chunk) = body.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
    }
    let events = parse_sse(&text);
    assert_eq!(events.last().unwrap().0, "done", "{text}");
    tokio::time::timeout(Duration::from_secs(10), server).await.unwrap().unwrap().unwrap();
    assert!(reqwest::Client::new().get(format!("{base}/health")).send().await.is_err(), "no longer listening");

    // The exchange was saved before the stream closed.
    let mut o2 = options();
    o2.store_url = o.store_url.clone();
    let state = AppState::new(&o2).await.unwrap();
    let user = state.store().user_by_name(http_support::ADMIN).await.unwrap().unwrap();
    let thread = state.store().thread(&user.id, &id).await.unwrap().unwrap();
    assert_eq!(state.store().messages(&thread.id).await.unwrap().len(), 2);
}
