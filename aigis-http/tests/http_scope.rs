//! Roles and row scopes on the demo shop: a user scoped to store 1 never receives an order of
//! another store, whatever they ask, directly or through the model.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod http_support;

use aigis_core::testing::{FakeLlm, Reply};
use http_support::{TestServer, bearer, demo_db, json, options, sse, with_llm};
use serde_json::{Value, json};

fn store_policy() -> Value {
    json!({
        "tables": {"allow": ["orders", "stores", "order_items", "products"]},
        "row_scopes": {"orders": "store_id IN (:store_ids)", "stores": "id IN (:store_ids)"},
        "params": {"store_ids": "integer_list"}
    })
}

/// A server over the demo shop with a user scoped to store 1; returns (server, admin, user token).
async fn scoped(fake: Option<&FakeLlm>) -> (TestServer, tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path()).await;
    let o = options().default_db(db);
    let s = TestServer::start(match fake { Some(f) => with_llm(o, f), None => o }).await;
    let admin = s.admin().await;
    let (status, role) = json(bearer(s.post("/v1/admin/roles"), &admin).json(&json!({"name": "store_manager", "policy": store_policy()})).send().await.unwrap()).await;
    assert_eq!(status, 201, "{role}");
    let token = s.user("manager1").await;
    let (_, me) = json(bearer(s.get("/v1/auth/me"), &token).send().await.unwrap()).await;
    let body = json!({"role_id": role["id"], "scope_params": {"store_ids": [1]}});
    let (status, u) = json(bearer(s.client.put(s.url(&format!("/v1/admin/users/{}/role", me["id"].as_str().unwrap()))), &admin).json(&body).send().await.unwrap()).await;
    assert_eq!(status, 200, "{u}");
    (s, dir, token)
}

#[tokio::test]
async fn a_store_scoped_user_never_receives_another_stores_rows() {
    let (s, _dir, token) = scoped(None).await;
    // The unscoped database has orders in several stores.
    let admin = s.admin().await;
    let (_, all) = json(bearer(s.post("/v1/sql"), &admin).json(&json!({"sql": "SELECT DISTINCT store_id FROM orders"})).send().await.unwrap()).await;
    assert!(all["rows"].as_array().unwrap().len() > 1, "{all}");

    let attacks = [
        "SELECT store_id, COUNT(*) AS n FROM orders GROUP BY store_id",
        "SELECT store_id FROM orders WHERE store_id = 2",
        "SELECT store_id FROM orders WHERE 1 = 1 OR store_id <> 1",
        "SELECT t.store_id FROM (SELECT * FROM orders) AS t",
        "WITH x AS (SELECT * FROM orders) SELECT store_id FROM x",
        "SELECT o.store_id FROM orders o JOIN stores s ON s.id = o.store_id",
        "SELECT store_id FROM orders WHERE id IN (SELECT id FROM orders WHERE store_id = 3)",
        "SELECT id AS store_id FROM stores",
    ];
    for sql in attacks {
        let (status, body) = json(bearer(s.post("/v1/sql"), &token).json(&json!({"sql": sql})).send().await.unwrap()).await;
        if status == 200 {
            for row in body["rows"].as_array().unwrap() {
                assert_eq!(row[0], json!(1), "{sql} leaked {row}");
            }
        } else {
            assert_eq!(status, 422, "{sql}: {body}");
        }
    }
    let (status, _) = json(bearer(s.post("/v1/sql"), &token).json(&json!({"sql": "SELECT email FROM customers"})).send().await.unwrap()).await;
    assert_eq!(status, 422, "tables outside the role are refused");
}

#[tokio::test]
async fn model_written_sql_is_scoped_too_and_audited() {
    let unscoped = "```sql\nSELECT store_id, COUNT(*) AS orders FROM orders GROUP BY store_id\n```";
    let fake = FakeLlm::start(vec![Reply::text(unscoped), Reply::text("Here you go."), Reply::text(unscoped), Reply::text("Again.")]).await.unwrap();
    let (s, _dir, token) = scoped(Some(&fake)).await;
    let events = sse(bearer(s.post("/v1/ask"), &token).json(&json!({"question": "Orders per store?"})).send().await.unwrap()).await;
    let rows = &events.iter().find(|(n, _)| n == "rows").expect("rows").1["rows"];
    assert!(!rows.as_array().unwrap().is_empty());
    for row in rows.as_array().unwrap() {
        assert_eq!(row[0], json!(1), "leaked {row}");
    }

    let (_, t) = json(bearer(s.post("/v1/threads"), &token).json(&json!({})).send().await.unwrap()).await;
    let events = sse(bearer(s.post(&format!("/v1/threads/{}/messages", t["id"].as_str().unwrap())), &token).json(&json!({"text": "Orders per store?"})).send().await.unwrap()).await;
    let rows = &events.iter().find(|(n, _)| n == "rows").expect("rows").1["rows"];
    for row in rows.as_array().unwrap() {
        assert_eq!(row[0], json!(1), "leaked {row}");
    }

    // Each stage went to the audit trail, under this user.
    let admin = s.admin().await;
    let (_, me) = json(bearer(s.get("/v1/auth/me"), &token).send().await.unwrap()).await;
    let uid = me["id"].as_str().unwrap();
    let (status, audit) = json(bearer(s.get(&format!("/v1/admin/audit?user_id={uid}&stage=execute&status=ok")), &admin).send().await.unwrap()).await;
    assert_eq!(status, 200, "{audit}");
    let audit = audit.as_array().unwrap();
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert!(audit.iter().all(|e| e["user_id"] == uid && e["stage"] == "execute"));
    let (_, none) = json(bearer(s.get("/v1/admin/audit?user_id=nobody"), &admin).send().await.unwrap()).await;
    assert_eq!(none, json!([]));
    let (status, _) = json(bearer(s.get("/v1/admin/audit?limit=abc"), &admin).send().await.unwrap()).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn roles_crud_validates_the_policy() {
    let s = TestServer::start(options()).await;
    let admin = s.admin().await;
    let (status, body) = json(bearer(s.post("/v1/admin/roles"), &admin).json(&json!({"name": "bad", "policy": {"tabels": {}}})).send().await.unwrap()).await;
    assert_eq!(status, 400, "{body}");
    let (status, role) = json(bearer(s.post("/v1/admin/roles"), &admin).json(&json!({"name": "finance", "policy": store_policy()})).send().await.unwrap()).await;
    assert_eq!(status, 201);
    let (status, _) = json(bearer(s.post("/v1/admin/roles"), &admin).json(&json!({"name": "finance", "policy": {}})).send().await.unwrap()).await;
    assert_eq!(status, 409);
    let path = format!("/v1/admin/roles/{}", role["id"].as_str().unwrap());
    let (status, r) = json(bearer(s.client.put(s.url(&path)), &admin).json(&json!({"name": "finance", "description": "money", "policy": {"max_rows": 10}})).send().await.unwrap()).await;
    assert_eq!((status, r["policy"]["max_rows"].as_u64()), (200, Some(10)));
    let (_, list) = json(bearer(s.get("/v1/admin/roles"), &admin).send().await.unwrap()).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let resp = bearer(s.client.delete(s.url(&path)), &admin).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let (status, _) = json(bearer(s.get(&path), &admin).send().await.unwrap()).await;
    assert_eq!(status, 404);
}
