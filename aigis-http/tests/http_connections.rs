//! `/v1/connections`: CRUD, test, isolation between users, and secrets never stored in plaintext.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod http_support;

use http_support::{TestServer, assert_error, bearer, json, options};
use serde_json::json;

fn pg(password: &str) -> serde_json::Value {
    json!({"name": "warehouse", "db_type": "postgres", "host": "127.0.0.1", "port": 5432, "username": "postgres", "password": password, "database": "test"})
}

#[tokio::test]
async fn crud_never_returns_the_password_and_other_users_get_404() {
    let s = TestServer::start(options()).await;
    let alice = s.user("alice").await;
    let bob = s.user("bob").await;
    let (status, c) = json(bearer(s.post("/v1/connections"), &alice).json(&pg("s3cret-Pa55")).send().await.unwrap()).await;
    assert_eq!(status, 201, "{c}");
    assert!(!c.to_string().contains("s3cret"));
    assert_eq!(c["host"], "127.0.0.1");
    let id = c["id"].as_str().unwrap().to_string();
    let path = format!("/v1/connections/{id}");

    let (status, list) = json(bearer(s.get("/v1/connections"), &alice).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains("s3cret"));
    let (status, _) = json(bearer(s.get(&path), &alice).send().await.unwrap()).await;
    assert_eq!(status, 200);

    // Bob sees nothing of Alice's, whatever he tries.
    let (_, list) = json(bearer(s.get("/v1/connections"), &bob).send().await.unwrap()).await;
    assert_eq!(list, json!([]));
    for rb in [s.get(&path), s.client.put(s.url(&path)).json(&pg("x-x-x-x-x")), s.client.delete(s.url(&path)), s.post(&format!("{path}/test"))] {
        let (status, body) = json(bearer(rb, &bob).send().await.unwrap()).await;
        assert_eq!(status, 404);
        assert_error(&body, "not_found");
    }

    let mut renamed = pg("s3cret-Pa55");
    renamed["name"] = json!("renamed");
    renamed.as_object_mut().unwrap().remove("password");
    let (status, c) = json(bearer(s.client.put(s.url(&path)), &alice).json(&renamed).send().await.unwrap()).await;
    assert_eq!((status, c["name"].as_str()), (200, Some("renamed")));

    let resp = bearer(s.client.delete(s.url(&path)), &alice).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let (status, _) = json(bearer(s.get(&path), &alice).send().await.unwrap()).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn no_token_and_bad_bodies_are_refused() {
    let s = TestServer::start(options()).await;
    let (status, body) = json(s.post("/v1/connections").json(&pg("p")).send().await.unwrap()).await;
    assert_eq!(status, 401);
    assert_error(&body, "unauthorized");
    let alice = s.user("alice").await;
    let (status, _) = json(bearer(s.post("/v1/connections"), &alice).json(&json!({"name": "x", "db_type": "oracle", "host": "h"})).send().await.unwrap()).await;
    assert_eq!(status, 400);
    let (status, _) = json(bearer(s.post("/v1/connections"), &alice).json(&json!({"name": "x", "url": "sqlite:///etc/app.db"})).send().await.unwrap()).await;
    assert_eq!(status, 403, "users cannot open server-side SQLite files");
    let (status, _) = json(bearer(s.post("/v1/connections"), &alice).header("content-type", "application/json").body("{").send().await.unwrap()).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn test_reports_a_live_database_and_a_clean_failure() {
    let s = TestServer::start(options()).await;
    // Admins may save a server-side SQLite file.
    let admin = s.admin().await;
    let shop = http_support::sqlite_url(&http_support::shop_db(s.dir.path()).await);
    let (_, good) = json(bearer(s.post("/v1/connections"), &admin).json(&json!({"name": "shop", "url": shop})).send().await.unwrap()).await;
    let (status, res) = json(bearer(s.post(&format!("/v1/connections/{}/test", good["id"].as_str().unwrap())), &admin).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(res["ok"], true, "{res}");
    let alice = s.user("alice").await;

    let mut bad = pg("s3cret-Pa55");
    bad["port"] = json!(1);
    let (_, bad) = json(bearer(s.post("/v1/connections"), &alice).json(&bad).send().await.unwrap()).await;
    let (status, res) = json(bearer(s.post(&format!("/v1/connections/{}/test", bad["id"].as_str().unwrap())), &alice).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(res["ok"], false);
    assert!(!res.to_string().contains("s3cret"), "{res}");
}

#[tokio::test]
async fn saved_passwords_and_llm_keys_never_reach_the_store_files_in_plaintext() {
    let s = TestServer::start(options()).await;
    let alice = s.user("alice").await;
    let (status, _) = json(bearer(s.post("/v1/connections"), &alice).json(&pg("s3cret-Pa55")).send().await.unwrap()).await;
    assert_eq!(status, 201);
    let url_form = json!({"name": "by-url", "url": "postgres://postgres:s3cret-Pa55@127.0.0.1:5432/test"});
    let (status, c) = json(bearer(s.post("/v1/connections"), &alice).json(&url_form).send().await.unwrap()).await;
    assert_eq!(status, 201);
    assert!(!c.to_string().contains("s3cret"));
    let resp = bearer(s.client.put(s.url("/v1/auth/me/llm")), &alice)
        .json(&json!({"base_url": "http://127.0.0.1:9/v1", "model": "m", "api_key": "sk-test-123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let (_, me) = json(bearer(s.get("/v1/auth/me"), &alice).send().await.unwrap()).await;
    assert_eq!(me["has_llm_key"], true);
    assert!(!me.to_string().contains("sk-test-123"));

    // Everything SQLite keeps: the database, its WAL and shared memory.
    let mut checked = 0;
    for entry in std::fs::read_dir(s.dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("s3cret-Pa55") && !text.contains("sk-test-123"));
        checked += bytes.len();
    }
    assert!(checked > 0);
    // The secrets are there, sealed: they round-trip through the master key.
    let rows = s.state.store().connections(me["id"].as_str().unwrap()).await.unwrap();
    let url = aigis_http::server::answer::open_connection_url(&s.state, &rows[1]).unwrap();
    assert!(url.contains("s3cret-Pa55"));
}
