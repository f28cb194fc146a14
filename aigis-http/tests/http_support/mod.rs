//! Shared fixtures for the HTTP tests: a server on 127.0.0.1:0 and a small real SQLite shop.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use aigis_http::{AppState, ServeOptions};
use reqwest::{Client, RequestBuilder, Response};
use serde_json::Value;

pub const JWT_SECRET: &str = "test-secret-0123456789-0123456789-abcdef";
pub const ADMIN: &str = "root";
pub const ADMIN_PASSWORD: &str = "root-Pa55word-long";

/// A running server and a client for it.
pub struct TestServer {
    pub base: String,
    pub client: Client,
    pub state: AppState,
    /// Holds the app store (and any test database) until the test ends.
    pub dir: tempfile::TempDir,
    _task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    /// Starts a server with these options (address ignored: always 127.0.0.1:0); the app store
    /// is a fresh SQLite file unless the options name one.
    pub async fn start(mut options: ServeOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        if options.store_url.is_none() {
            options.store_url = Some(format!("sqlite://{}", dir.path().join("app.db").display()));
        }
        let state = AppState::new(&options).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // The same serving path as `aigis serve`.
        let serving = aigis_http::server::serve_on(listener, state.clone(), std::future::pending(), std::time::Duration::from_secs(1));
        let task = tokio::spawn(async move {
            serving.await.unwrap();
        });
        Self { base: format!("http://{addr}"), client: Client::new(), state, dir, _task: task }
    }

    /// Logs in and returns the token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let resp = self.post("/v1/auth/login").json(&serde_json::json!({"username": username, "password": password})).send().await.unwrap();
        let (status, body) = json(resp).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["token_type"], "bearer");
        body["access_token"].as_str().unwrap().to_string()
    }

    /// The admin's token.
    pub async fn admin(&self) -> String {
        self.login(ADMIN, ADMIN_PASSWORD).await
    }

    /// Registers a user and returns their token.
    pub async fn user(&self, username: &str) -> String {
        let body = serde_json::json!({"username": username, "email": format!("{username}@example.com"), "password": "user-Pa55word"});
        let (status, b) = json(self.post("/v1/auth/register").json(&body).send().await.unwrap()).await;
        assert_eq!(status, 201, "{b}");
        self.login(username, "user-Pa55word").await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(self.url(path))
    }

    pub fn post(&self, path: &str) -> RequestBuilder {
        self.client.post(self.url(path))
    }
}

/// Options for tests: loopback, no LLM unless given, fixed secrets, nothing read from the environment.
pub fn options() -> ServeOptions {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut o = ServeOptions::new(addr).llm(aigis_core::ProviderConfig::default());
    o.cors_origins = Some(Vec::new());
    o.production = Some(false);
    o.jwt_secret = Some(JWT_SECRET.into());
    o.master_key = Some(aigis_http::server::config::generate_master_key());
    o.admin_username = Some(ADMIN.into());
    o.admin_password = Some(ADMIN_PASSWORD.into());
    o.allow_registration = Some(true);
    o.allow_anonymous = Some(true);
    o.models = Some(vec!["fake-model".into(), "fake-large".into()]);
    o
}

/// Options with an LLM answered by a fake OpenAI-compatible server.
pub fn with_llm(o: ServeOptions, fake: &aigis_core::testing::FakeLlm) -> ServeOptions {
    o.llm(aigis_core::ProviderConfig {
        base_url: Some(fake.base_url()),
        model: Some("fake-model".into()),
        api_key: Some("sk-server".into()),
        ..Default::default()
    })
}

/// Sends a request with a bearer token.
pub fn bearer(rb: RequestBuilder, token: &str) -> RequestBuilder {
    rb.header("authorization", format!("Bearer {token}"))
}

/// Reads an SSE response to its end.
pub async fn sse(resp: Response) -> Vec<(String, Value)> {
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    assert_eq!(resp.headers()["cache-control"], "no-cache");
    assert_eq!(resp.headers()["x-accel-buffering"], "no");
    parse_sse(&resp.text().await.unwrap())
}

/// The demo shop database in `dir`.
pub async fn demo_db(dir: &Path) -> String {
    let path = dir.join("demo.db");
    aigis_core::demo::create_demo_database(&path).await.unwrap();
    sqlite_url(&path)
}

/// Status and JSON body of a response.
pub async fn json(resp: Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, body)
}

/// Creates the small shop database of [`aigis_core::testing::shop_database`]: 3 stores, 6 orders.
pub async fn shop_db(dir: &Path) -> PathBuf {
    aigis_core::testing::shop_database(dir).await.unwrap()
}

pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// Parses an SSE body into `(event name, JSON data)` pairs.
pub fn parse_sse(body: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for block in body.split("\n\n") {
        let mut name = None;
        let mut data = String::new();
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                name = Some(v.trim().to_string());
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.trim_start());
            }
        }
        if let Some(name) = name {
            out.push((name, serde_json::from_str(&data).unwrap()));
        }
    }
    out
}

/// Asserts a body is an API error with this code and leaks nothing internal.
pub fn assert_error(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    let text = body.to_string();
    for leak in ["sqlx", "panicked", "/tmp/", "src/", "argon2", "SQLITE_"] {
        assert!(!text.contains(leak), "error leaks `{leak}`: {text}");
    }
}
