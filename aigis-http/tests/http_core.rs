//! `GET /health`, `POST /v1/ask`, `POST /v1/sql`, `POST /v1/guard` against a server on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod http_support;

use aigis_core::testing::{FakeLlm, Reply};
use http_support::{TestServer, assert_error, bearer, json, options, shop_db, sqlite_url, sse, with_llm};
use serde_json::json;

#[tokio::test]
async fn health_answers_with_a_request_id() {
    let s = TestServer::start(options()).await;
    let resp = s.get("/health").send().await.unwrap();
    assert!(resp.headers().get("x-request-id").is_some());
    let (status, body) = json(resp).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["llm"]["available"], false);
}

#[tokio::test]
async fn guard_allows_a_select_and_renders_a_limit() {
    let s = TestServer::start(options()).await;
    let resp = s.post("/v1/guard").json(&json!({"sql": "select name from stores", "dialect": "sqlite"})).send().await.unwrap();
    let (status, body) = json(resp).await;
    assert_eq!(status, 200);
    assert_eq!(body["allowed"], true);
    assert!(body["sql"].as_str().unwrap().contains("LIMIT 1000"), "{body}");
}

#[tokio::test]
async fn guard_rejects_writes_with_typed_violations() {
    let s = TestServer::start(options()).await;
    let body = json!({"sql": "DROP TABLE stores", "policy": {"max_rows": 10}});
    let (status, body) = json(s.post("/v1/guard").json(&body).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body["allowed"], false);
    assert!(!body["violations"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn malformed_json_is_a_400_in_the_error_shape() {
    let s = TestServer::start(options()).await;
    let resp = s.post("/v1/guard").header("content-type", "application/json").body("{\"sql\": ").send().await.unwrap();
    let (status, body) = json(resp).await;
    assert_eq!(status, 400);
    assert_error(&body, "invalid_json");
}

#[tokio::test]
async fn unknown_fields_and_wrong_types_are_refused() {
    let s = TestServer::start(options()).await;
    let (status, body) = json(s.post("/v1/guard").json(&json!({"sql": 1})).send().await.unwrap()).await;
    assert_eq!(status, 422);
    assert_error(&body, "invalid_json");
    let (status, _) = json(s.post("/v1/sql").json(&json!({"sql": "select 1", "evil": true})).send().await.unwrap()).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn oversized_bodies_are_a_413() {
    let mut o = options();
    o.body_limit = 4096;
    let s = TestServer::start(o).await;
    let big = "x".repeat(10_000);
    let resp = s.post("/v1/guard").json(&json!({"sql": big})).send().await.unwrap();
    let (status, body) = json(resp).await;
    assert_eq!(status, 413);
    assert_error(&body, "payload_too_large");
}

#[tokio::test]
async fn ask_without_an_llm_is_a_503_saying_what_to_set() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(&shop_db(dir.path()).await);
    let s = TestServer::start(options().default_db(db)).await;
    let (status, body) = json(s.post("/v1/ask").json(&json!({"question": "How many stores?"})).send().await.unwrap()).await;
    assert_eq!(status, 503);
    assert_error(&body, "llm_not_configured");
    assert!(body["error"]["message"].as_str().unwrap().contains("AIGIS_LLM_BASE_URL"));
}

#[tokio::test]
async fn sql_without_any_database_is_a_400() {
    let s = TestServer::start(options()).await;
    let (status, body) = json(s.post("/v1/sql").json(&json!({"sql": "select 1"})).send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_error(&body, "bad_request");
}

#[tokio::test]
async fn sql_with_an_unknown_scheme_is_a_400() {
    let s = TestServer::start(options()).await;
    let body = json!({"sql": "select 1", "db": "oracle://scott:tiger@db/x"});
    let (status, body) = json(s.post("/v1/sql").json(&body).send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_error(&body, "config");
    assert!(!body.to_string().contains("tiger"));
}

#[tokio::test]
async fn sql_rejections_are_422_with_violations_and_run_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(&shop_db(dir.path()).await);
    let s = TestServer::start(options().default_db(db)).await;
    let (status, body) = json(s.post("/v1/sql").json(&json!({"sql": "DELETE FROM stores"})).send().await.unwrap()).await;
    assert_eq!(status, 422, "{body}");
    assert_error(&body, "rejected");
    assert!(!body["error"]["violations"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn sql_runs_guarded_with_the_cap_applied() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(&shop_db(dir.path()).await);
    let s = TestServer::start(options()).await;
    let body = json!({"sql": "SELECT id, name FROM stores ORDER BY id", "db": db, "max_rows": 2});
    let (status, body) = json(s.post("/v1/sql").json(&body).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["columns"], json!(["id", "name"]));
    assert_eq!(body["rows"], json!([[1, "North"], [2, "South"]]));
    assert!(body["sql"].as_str().unwrap().contains("LIMIT 2"));
}

const SQL_REPLY: &str = "```sql\nSELECT s.name AS store, SUM(o.amount) AS revenue FROM orders o JOIN stores s ON s.id = o.store_id GROUP BY s.name ORDER BY revenue DESC\n```";

#[tokio::test]
async fn ask_streams_one_sse_event_per_core_event() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(&shop_db(dir.path()).await);
    let fake = FakeLlm::start(vec![Reply::text(SQL_REPLY), Reply::text("North sold the most.")]).await.unwrap();
    let s = TestServer::start(with_llm(options().default_db(db), &fake)).await;
    let events = sse(s.post("/v1/ask").json(&json!({"question": "Which store sold most?"})).send().await.unwrap()).await;
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"meta"));
    assert_eq!(names.last(), Some(&"done"), "{events:?}");
    for (name, data) in &events {
        assert_eq!(data["type"], name.as_str(), "SSE event name is the event type");
    }
    let rows = events.iter().find(|(n, _)| n == "rows").unwrap();
    assert_eq!(rows.1["rows"][0], json!(["North", 30.0]));
}

#[tokio::test]
async fn ask_model_errors_end_in_an_error_event_without_internals() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(&shop_db(dir.path()).await);
    let fake = FakeLlm::start(vec![Reply::status(401, "invalid api key sk-server")]).await.unwrap();
    let s = TestServer::start(with_llm(options().default_db(db), &fake)).await;
    let events = sse(s.post("/v1/ask").json(&json!({"question": "Which store sold most?"})).send().await.unwrap()).await;
    let (name, data) = events.last().unwrap();
    assert_eq!(name, "error");
    assert!(!data.to_string().contains("sk-server"), "{data}");
}

#[tokio::test]
async fn anonymous_questions_are_refused_when_not_allowed_and_users_cannot_name_urls() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(&shop_db(dir.path()).await);
    let mut o = options().default_db(db.clone());
    o.allow_anonymous = Some(false);
    let s = TestServer::start(o).await;
    let (status, body) = json(s.post("/v1/sql").json(&json!({"sql": "SELECT 1"})).send().await.unwrap()).await;
    assert_eq!(status, 401);
    assert_error(&body, "unauthorized");
    let token = s.user("alice").await;
    let (status, body) = json(bearer(s.post("/v1/sql"), &token).json(&json!({"sql": "SELECT 1", "db": db})).send().await.unwrap()).await;
    assert_eq!(status, 403);
    assert_error(&body, "forbidden");
    let (status, body) = json(bearer(s.post("/v1/sql"), &token).json(&json!({"sql": "SELECT name FROM stores"})).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
}
