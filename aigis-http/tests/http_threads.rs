//! `/v1/threads`: CRUD, streamed messages persisted with their events, `/sql` messages, the
//! per-thread model and connection, replay, isolation, and a client leaving mid-stream.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod http_support;

use std::time::Duration;

use aigis_core::testing::{FakeLlm, Reply};
use futures::StreamExt;
use http_support::{TestServer, assert_error, bearer, json, options, shop_db, sqlite_url, sse, with_llm};
use serde_json::{Value, json};

const SQL_REPLY: &str = "```sql\nSELECT s.name AS store, SUM(o.amount) AS revenue FROM orders o JOIN stores s ON s.id = o.store_id GROUP BY s.name ORDER BY revenue DESC\n```";

async fn server(replies: Vec<Reply>) -> (TestServer, FakeLlm, tempfile::TempDir) {
    let fake = FakeLlm::start(replies).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(&shop_db(dir.path()).await);
    let s = TestServer::start(with_llm(options().default_db(db), &fake)).await;
    (s, fake, dir)
}

async fn thread(s: &TestServer, token: &str, title: &str) -> String {
    let (status, t) = json(bearer(s.post("/v1/threads"), token).json(&json!({"title": title})).send().await.unwrap()).await;
    assert_eq!(status, 201, "{t}");
    t["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn crud_with_sanitised_titles() {
    let (s, _fake, _db) = server(vec![]).await;
    let alice = s.user("alice").await;
    let (status, t) = json(bearer(s.post("/v1/threads"), &alice).json(&json!({"title": "<img src=x onerror=alert(1)>\u{0}Q1 sales"})).send().await.unwrap()).await;
    assert_eq!(status, 201);
    assert_eq!(t["title"], "img src=x onerror=alert(1) Q1 sales");
    let id = t["id"].as_str().unwrap();
    let (status, t) = json(bearer(s.client.patch(s.url(&format!("/v1/threads/{id}"))), &alice).json(&json!({"title": "y".repeat(300)})).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(t["title"].as_str().unwrap().len(), 120);
    let (_, list) = json(bearer(s.get("/v1/threads"), &alice).send().await.unwrap()).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let resp = bearer(s.client.delete(s.url(&format!("/v1/threads/{id}"))), &alice).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let (status, _) = json(bearer(s.get(&format!("/v1/threads/{id}")), &alice).send().await.unwrap()).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_message_streams_and_the_thread_renders_again_from_its_events() {
    let (s, fake, _db) = server(vec![Reply::text(SQL_REPLY), Reply::text("North sold the most."), Reply::text(SQL_REPLY), Reply::text("Still North.")]).await;
    let alice = s.user("alice").await;
    let id = thread(&s, &alice, "sales").await;
    let events = sse(bearer(s.post(&format!("/v1/threads/{id}/messages")), &alice).json(&json!({"text": "Which store sold most?"})).send().await.unwrap()).await;
    assert_eq!(events.last().unwrap().0, "done", "{events:?}");

    let (status, t) = json(bearer(s.get(&format!("/v1/threads/{id}")), &alice).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let msgs = t["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!((msgs[0]["role"].as_str(), msgs[0]["content"].as_str()), (Some("user"), Some("Which store sold most?")));
    assert_eq!(msgs[1]["role"], "assistant");
    assert_eq!(msgs[1]["status"], "ok");
    assert_eq!(msgs[1]["content"], "North sold the most.");
    assert!(msgs[1]["sql"].as_str().unwrap().contains("SUM(o.amount)"));
    // The stored events are the streamed ones (deltas merged into one).
    let stored: Vec<&str> = msgs[1]["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    let streamed: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    let mut merged = streamed.clone();
    merged.dedup_by(|a, b| *a == "delta" && *b == "delta");
    assert_eq!(stored, merged);
    for kind in ["sql", "rows", "done"] {
        assert!(stored.contains(&kind), "{kind} stored");
    }

    // A follow-up carries the earlier exchange to the model.
    sse(bearer(s.post(&format!("/v1/threads/{id}/messages")), &alice).json(&json!({"text": "And the second?"})).send().await.unwrap()).await;
    let prompt = fake.requests()[2].body.to_string();
    assert!(prompt.contains("Which store sold most?"), "history reaches the model");
    let (_, t) = json(bearer(s.get(&format!("/v1/threads/{id}")), &alice).send().await.unwrap()).await;
    assert_eq!(t["messages"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn sql_messages_run_guarded_sql_and_replay_gives_a_fresh_limit() {
    let (s, fake, _db) = server(vec![]).await;
    let alice = s.user("alice").await;
    let id = thread(&s, &alice, "direct").await;
    let events = sse(bearer(s.post(&format!("/v1/threads/{id}/messages")), &alice).json(&json!({"text": "/sql SELECT id, name FROM stores ORDER BY id"})).send().await.unwrap()).await;
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["sql", "guard", "rows", "done"]);
    assert_eq!(fake.requests().len(), 0, "no model involved");
    let events = sse(bearer(s.post(&format!("/v1/threads/{id}/messages")), &alice).json(&json!({"text": "/sql DELETE FROM stores"})).send().await.unwrap()).await;
    assert_eq!(events.last().unwrap().0, "error");
    assert_eq!(events.last().unwrap().1["code"], "rejected");

    let (_, t) = json(bearer(s.get(&format!("/v1/threads/{id}")), &alice).send().await.unwrap()).await;
    let msgs = t["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 4);
    assert_eq!(msgs[3]["status"], "error");
    let mid = msgs[1]["id"].as_str().unwrap();
    let (status, replay) = json(bearer(s.post(&format!("/v1/threads/{id}/messages/{mid}/replay")), &alice).json(&json!({"max_rows": 2})).send().await.unwrap()).await;
    assert_eq!(status, 200, "{replay}");
    assert_eq!(replay["rows"], json!([[1, "North"], [2, "South"]]));
    assert!(replay["sql"].as_str().unwrap().contains("LIMIT 2"));
}

#[tokio::test]
async fn per_thread_model_with_the_availability_map() {
    let (s, fake, _db) = server(vec![Reply::text(SQL_REPLY), Reply::text("ok")]).await;
    let alice = s.user("alice").await;
    let id = thread(&s, &alice, "models").await;
    let path = format!("/v1/threads/{id}/model");
    let (status, m) = json(bearer(s.get(&path), &alice).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(m["model"], Value::Null);
    assert_eq!(m["default_model"], "fake-model");
    assert_eq!(m["available"], json!({"fake-model": true, "fake-large": true}));
    let (status, body) = json(bearer(s.client.put(s.url(&path)), &alice).json(&json!({"name": "gpt-unknown"})).send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_error(&body, "bad_request");
    let (status, m) = json(bearer(s.client.put(s.url(&path)), &alice).json(&json!({"name": "fake-large"})).send().await.unwrap()).await;
    assert_eq!((status, m["model"].as_str()), (200, Some("fake-large")));
    sse(bearer(s.post(&format!("/v1/threads/{id}/messages")), &alice).json(&json!({"text": "Which store?"})).send().await.unwrap()).await;
    assert_eq!(fake.requests()[0].body["model"], "fake-large", "the thread's model answers");
}

/// Registry models (`AIGIS_MODELS_FILE`): their own endpoint and key, aliases resolved, and
/// unavailable ones named with what they need.
#[tokio::test]
async fn registry_models_route_to_their_own_endpoint() {
    let (mut s, default_fake, _db) = server(vec![]).await;
    let fast = FakeLlm::start(vec![Reply::text(SQL_REPLY), Reply::text("North leads.")]).await.unwrap();
    let toml = format!(
        "[models.fast]\nprovider = \"openai\"\nmodel = \"fast-v2\"\nbase_url = \"{}\"\napi_key_env = \"FAST_KEY\"\naliases = [\"quick\"]\n\n\
         [models.cloud]\nprovider = \"anthropic\"\napi_key_env = \"NO_SUCH_KEY_SET\"\n",
        fast.base_url()
    );
    let mut registry = aigis_core::provider::ModelRegistry::empty()
        .with_vars(|k: &str| (k == "FAST_KEY").then(|| "sk-fast-123".to_string()));
    registry.load_toml(&toml).unwrap();
    let db = s.state.default_db().unwrap().to_string();
    let mut o = with_llm(options().default_db(db), &default_fake);
    o.model_registry = Some(registry);
    s = TestServer::start(o).await;

    let alice = s.user("alice").await;
    let id = thread(&s, &alice, "registry").await;
    let path = format!("/v1/threads/{id}/model");
    let (_, m) = json(bearer(s.get(&path), &alice).send().await.unwrap()).await;
    assert_eq!(m["available"], json!({"cloud": false, "fake-large": true, "fake-model": true, "fast": true}));
    let (status, body) = json(bearer(s.client.put(s.url(&path)), &alice).json(&json!({"name": "cloud"})).send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_error(&body, "model_unavailable");
    assert!(body["error"]["message"].as_str().unwrap().contains("NO_SUCH_KEY_SET"), "says what to set: {body}");
    let (status, m) = json(bearer(s.client.put(s.url(&path)), &alice).json(&json!({"name": "QUICK"})).send().await.unwrap()).await;
    assert_eq!((status, m["model"].as_str()), (200, Some("fast")), "aliases resolve to the entry's name");

    let events = sse(bearer(s.post(&format!("/v1/threads/{id}/messages")), &alice).json(&json!({"text": "Which store?"})).send().await.unwrap()).await;
    assert_eq!(events.last().unwrap().0, "done");
    assert!(default_fake.requests().is_empty(), "the default endpoint is not asked");
    let asked = fast.requests();
    assert_eq!(asked[0].body["model"], "fast-v2", "the entry's model id is sent");
    assert!(asked[0].headers.iter().any(|(k, v)| k == "authorization" && v == "Bearer sk-fast-123"), "with the entry's key");
}

#[tokio::test]
async fn other_users_threads_are_404_everywhere() {
    let (s, _fake, _db) = server(vec![]).await;
    let alice = s.user("alice").await;
    let bob = s.user("bob").await;
    let id = thread(&s, &alice, "private").await;
    let base = format!("/v1/threads/{id}");
    let requests = [
        s.get(&base),
        s.client.patch(s.url(&base)).json(&json!({"title": "mine"})),
        s.client.delete(s.url(&base)),
        s.get(&format!("{base}/model")),
        s.client.put(s.url(&format!("{base}/model"))).json(&json!({"name": null})),
        s.client.put(s.url(&format!("{base}/connection"))).json(&json!({"connection_id": null})),
        s.post(&format!("{base}/messages")).json(&json!({"text": "hi"})),
        s.post(&format!("{base}/messages/x/replay")).json(&json!({})),
    ];
    for rb in requests {
        let (status, body) = json(bearer(rb, &bob).send().await.unwrap()).await;
        assert_eq!(status, 404);
        assert_error(&body, "not_found");
    }
    let (status, _) = json(s.get(&base).send().await.unwrap()).await;
    assert_eq!(status, 401);
    let (status, _) = json(bearer(s.get(&base), &alice).send().await.unwrap()).await;
    assert_eq!(status, 200, "still there for Alice");
}

#[tokio::test]
async fn a_client_leaving_mid_stream_leaves_a_consistent_thread() {
    let slow = Reply::chunks(["North ", "sold ", "the ", "most ", "by ", "far."]).chunk_delay(Duration::from_millis(300));
    let (s, _fake, _db) = server(vec![Reply::text(SQL_REPLY), slow]).await;
    let alice = s.user("alice").await;
    let id = thread(&s, &alice, "leaving").await;
    let resp = bearer(s.post(&format!("/v1/threads/{id}/messages")), &alice).json(&json!({"text": "Which store?"})).send().await.unwrap();
    let mut body = resp.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("event: delta") {
        seen.push_str(&String::from_utf8_lossy(&body.next().await.unwrap().unwrap()));
    }
    drop(body);
    // The server notices on its next send, stops the answer and saves both messages.
    let mut msgs = Vec::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (_, t) = json(bearer(s.get(&format!("/v1/threads/{id}")), &alice).send().await.unwrap()).await;
        msgs = t["messages"].as_array().unwrap().clone();
        if !msgs.is_empty() {
            break;
        }
    }
    assert_eq!(msgs.len(), 2, "user and assistant messages saved together");
    assert_eq!(msgs[1]["status"], "cancelled");
    assert!(msgs[1]["events"].as_array().unwrap().iter().any(|e| e["type"] == "rows"));
}
