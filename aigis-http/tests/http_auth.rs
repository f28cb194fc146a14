//! `/v1/auth/*` and `/v1/admin/users`: happy paths and the refusals (no token, bad or expired
//! token, forged algorithm, disabled users, forced reset, throttling, admin-only routes).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod http_support;

use aigis_http::server::auth::jwt;
use http_support::{ADMIN, ADMIN_PASSWORD, JWT_SECRET, TestServer, assert_error, bearer, json, options};
use serde_json::json;

#[tokio::test]
async fn register_login_me_update_and_change_password() {
    let s = TestServer::start(options()).await;
    let token = s.user("alice").await;
    let (status, me) = json(bearer(s.get("/v1/auth/me"), &token).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(me["username"], "alice");
    assert_eq!(me["is_admin"], false);
    assert!(me.get("password_hash").is_none() && !me.to_string().contains("argon2"));

    let (status, me) = json(bearer(s.client.put(s.url("/v1/auth/me")), &token).json(&json!({"email": "a@b.c"})).send().await.unwrap()).await;
    assert_eq!((status, me["email"].as_str()), (200, Some("a@b.c")));

    let body = json!({"current_password": "user-Pa55word", "new_password": "new-Pa55word"});
    let (status, fresh) = json(bearer(s.post("/v1/auth/change-password"), &token).json(&body).send().await.unwrap()).await;
    assert_eq!(status, 200, "{fresh}");
    // The old token died with the old password; the new one works, and so does the new password.
    let (status, _) = json(bearer(s.get("/v1/auth/me"), &token).send().await.unwrap()).await;
    assert_eq!(status, 401);
    let (status, _) = json(bearer(s.get("/v1/auth/me"), fresh["access_token"].as_str().unwrap()).send().await.unwrap()).await;
    assert_eq!(status, 200);
    s.login("alice", "new-Pa55word").await;
}

#[tokio::test]
async fn wrong_current_password_cannot_change_it() {
    let s = TestServer::start(options()).await;
    let token = s.user("alice").await;
    let body = json!({"current_password": "guess-guess", "new_password": "new-Pa55word"});
    let (status, body) = json(bearer(s.post("/v1/auth/change-password"), &token).json(&body).send().await.unwrap()).await;
    assert_eq!(status, 401);
    assert_error(&body, "unauthorized");
}

#[tokio::test]
async fn missing_bad_expired_and_forged_tokens_are_401() {
    let s = TestServer::start(options()).await;
    let token = s.user("alice").await;
    let (_, me) = json(bearer(s.get("/v1/auth/me"), &token).send().await.unwrap()).await;
    let id = me["id"].as_str().unwrap().to_string();
    let now = chrono::Utc::now().timestamp();

    let expired = jwt::sign(&jwt::Claims { sub: id.clone(), ver: 0, iat: now - 7200, exp: now - 3600 }, JWT_SECRET.as_bytes()).unwrap();
    let other_key = jwt::sign(&jwt::Claims { sub: id.clone(), ver: 0, iat: now, exp: now + 3600 }, b"another-secret-another-secret-00").unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let none_alg = format!("{}.{}.", base64_url(r#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    for bad in [expired.as_str(), other_key.as_str(), none_alg.as_str(), "garbage", ""] {
        let (status, body) = json(bearer(s.get("/v1/auth/me"), bad).send().await.unwrap()).await;
        assert_eq!(status, 401, "{bad}");
        assert_error(&body, "unauthorized");
    }
    let (status, body) = json(s.get("/v1/auth/me").send().await.unwrap()).await;
    assert_eq!(status, 401);
    assert_error(&body, "unauthorized");
}

fn base64_url(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_get_the_same_401_then_429() {
    let mut o = options();
    o.login_max_per_user = 3;
    let s = TestServer::start(o).await;
    s.user("alice").await;
    let (s1, b1) = json(s.post("/v1/auth/login").json(&json!({"username": "alice", "password": "nope-nope"})).send().await.unwrap()).await;
    let (s2, b2) = json(s.post("/v1/auth/login").json(&json!({"username": "nobody", "password": "nope-nope"})).send().await.unwrap()).await;
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(b1, b2, "no user enumeration");
    for _ in 0..2 {
        s.post("/v1/auth/login").json(&json!({"username": "alice", "password": "nope-nope"})).send().await.unwrap();
    }
    // Even the right password is refused while throttled.
    let (status, body) = json(s.post("/v1/auth/login").json(&json!({"username": "alice", "password": "user-Pa55word"})).send().await.unwrap()).await;
    assert_eq!(status, 429);
    assert_error(&body, "too_many_attempts");
}

/// Behind a trusted proxy the throttle counts the forwarded client, not the proxy; from an
/// untrusted peer the header is ignored, so a client cannot dodge it by inventing addresses.
#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let fail = |s: &TestServer, user: &str, xff: &str| {
        s.post("/v1/auth/login").header("x-forwarded-for", xff).json(&json!({"username": user, "password": "nope-nope"})).send()
    };
    let mut o = options();
    o.login_max_per_addr = 3;
    o.trusted_proxies = Some(vec!["127.0.0.0/8".into()]);
    let s = TestServer::start(o).await;
    for i in 0..3 {
        assert_eq!(fail(&s, &format!("u{i}"), "198.51.100.1, 203.0.113.5").await.unwrap().status(), 401);
    }
    assert_eq!(fail(&s, "u9", "203.0.113.5").await.unwrap().status(), 429, "the forwarded client is throttled");
    assert_eq!(fail(&s, "u9", "203.0.113.6").await.unwrap().status(), 401, "another client behind the proxy is not");

    let mut o = options();
    o.login_max_per_addr = 3;
    let s = TestServer::start(o).await;
    for i in 0..3 {
        assert_eq!(fail(&s, &format!("u{i}"), &format!("203.0.113.{i}")).await.unwrap().status(), 401);
    }
    assert_eq!(fail(&s, "u9", "203.0.113.77").await.unwrap().status(), 429, "an untrusted peer's header is ignored");
}

#[tokio::test]
async fn duplicate_names_weak_passwords_and_disabled_registration_are_refused() {
    let s = TestServer::start(options()).await;
    s.user("alice").await;
    let (status, _) = json(s.post("/v1/auth/register").json(&json!({"username": "alice", "password": "other-Pa55word"})).send().await.unwrap()).await;
    assert_eq!(status, 409);
    let (status, _) = json(s.post("/v1/auth/register").json(&json!({"username": "bob", "password": "short"})).send().await.unwrap()).await;
    assert_eq!(status, 400);
    let (status, _) = json(s.post("/v1/auth/register").json(&json!({"username": "<b>", "password": "long-enough-1"})).send().await.unwrap()).await;
    assert_eq!(status, 400);

    let mut o = options();
    o.allow_registration = Some(false);
    let closed = TestServer::start(o).await;
    let (status, body) = json(closed.post("/v1/auth/register").json(&json!({"username": "bob", "password": "long-enough-1"})).send().await.unwrap()).await;
    assert_eq!(status, 403);
    assert_error(&body, "forbidden");
}

#[tokio::test]
async fn the_admin_flag_cannot_be_granted_through_the_api() {
    let s = TestServer::start(options()).await;
    let body = json!({"username": "mallory", "password": "mallory-Pa55", "is_admin": true});
    let (status, _) = json(s.post("/v1/auth/register").json(&body).send().await.unwrap()).await;
    assert_eq!(status, 422, "unknown fields are refused, so is_admin is never read");
    let admin = s.admin().await;
    let (status, _) = json(bearer(s.post("/v1/admin/users"), &admin).json(&body).send().await.unwrap()).await;
    assert_eq!(status, 422);
    let token = s.user("mallory").await;
    let (status, _) = json(bearer(s.client.put(s.url("/v1/auth/me")), &token).json(&json!({"is_admin": true})).send().await.unwrap()).await;
    assert_eq!(status, 422);
    let (_, me) = json(bearer(s.get("/v1/auth/me"), &token).send().await.unwrap()).await;
    assert_eq!(me["is_admin"], false);
}

#[tokio::test]
async fn non_admins_get_403_on_every_admin_route() {
    let s = TestServer::start(options()).await;
    let token = s.user("alice").await;
    for (method, path) in [("GET", "/v1/admin/users"), ("POST", "/v1/admin/users"), ("GET", "/v1/admin/users/x"), ("DELETE", "/v1/admin/users/x"), ("POST", "/v1/admin/users/x/disable"), ("GET", "/v1/admin/roles"), ("POST", "/v1/admin/roles"), ("GET", "/v1/admin/audit")] {
        let rb = s.client.request(method.parse().unwrap(), s.url(path)).json(&json!({}));
        let (status, body) = json(bearer(rb, &token).send().await.unwrap()).await;
        assert_eq!(status, 403, "{method} {path}");
        assert_error(&body, "forbidden");
        let rb = s.client.request(method.parse().unwrap(), s.url(path)).json(&json!({}));
        let (status, _) = json(rb.send().await.unwrap()).await;
        assert_eq!(status, 401, "{method} {path} without a token");
    }
}

#[tokio::test]
async fn admin_created_users_must_reset_before_a_token_then_admin_disables_and_deletes() {
    let s = TestServer::start(options()).await;
    let admin = s.admin().await;
    let body = json!({"username": "carol", "email": "carol@example.com", "password": "temp-Pa55word"});
    let (status, carol) = json(bearer(s.post("/v1/admin/users"), &admin).json(&body).send().await.unwrap()).await;
    assert_eq!(status, 201, "{carol}");
    assert_eq!(carol["must_reset_password"], true);
    let id = carol["id"].as_str().unwrap().to_string();

    let (status, body) = json(s.post("/v1/auth/login").json(&json!({"username": "carol", "password": "temp-Pa55word"})).send().await.unwrap()).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "PASSWORD_RESET_REQUIRED");
    let reset = json!({"username": "carol", "current_password": "temp-Pa55word", "new_password": "carol-own-Pa55"});
    let (status, body) = json(s.post("/v1/auth/reset-password").json(&reset).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let token = s.login("carol", "carol-own-Pa55").await;

    let (status, list) = json(bearer(s.get("/v1/admin/users"), &admin).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 2);
    let (status, one) = json(bearer(s.get(&format!("/v1/admin/users/{id}")), &admin).send().await.unwrap()).await;
    assert_eq!((status, one["username"].as_str()), (200, Some("carol")));

    let (status, _) = json(bearer(s.post(&format!("/v1/admin/users/{id}/disable")), &admin).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let (status, _) = json(bearer(s.get("/v1/auth/me"), &token).send().await.unwrap()).await;
    assert_eq!(status, 401, "a disabled user's token stops working");
    let (status, body) = json(s.post("/v1/auth/login").json(&json!({"username": "carol", "password": "carol-own-Pa55"})).send().await.unwrap()).await;
    assert_eq!(status, 403);
    assert_error(&body, "forbidden");

    let (status, _) = json(bearer(s.post(&format!("/v1/admin/users/{id}/enable")), &admin).send().await.unwrap()).await;
    assert_eq!(status, 200);
    s.login("carol", "carol-own-Pa55").await;

    let resp = bearer(s.client.delete(s.url(&format!("/v1/admin/users/{id}"))), &admin).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let (status, body) = json(bearer(s.get(&format!("/v1/admin/users/{id}")), &admin).send().await.unwrap()).await;
    assert_eq!(status, 404);
    assert_error(&body, "not_found");
}

#[tokio::test]
async fn admins_cannot_lock_themselves_out() {
    let s = TestServer::start(options()).await;
    let admin = s.admin().await;
    let (_, me) = json(bearer(s.get("/v1/auth/me"), &admin).send().await.unwrap()).await;
    assert_eq!(me["is_admin"], true);
    let id = me["id"].as_str().unwrap();
    let (status, _) = json(bearer(s.post(&format!("/v1/admin/users/{id}/disable")), &admin).send().await.unwrap()).await;
    assert_eq!(status, 400);
    let _ = (ADMIN, ADMIN_PASSWORD);
}
