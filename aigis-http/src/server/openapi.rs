//! `GET /v1/openapi.json`: the OpenAPI 3.1 document, generated from the route table below.
//!
//! The table is the single list of operations; a test requests each one to prove it is routed.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use super::AppState;

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// A signed-in user (anonymous callers too on loopback development servers).
    Open,
    /// A signed-in user.
    User,
    /// An administrator.
    Admin,
}

/// One operation: method, path, access, summary, and whether it answers with SSE.
pub type Operation = (&'static str, &'static str, Access, &'static str, bool);

/// Every operation the server routes.
pub const OPERATIONS: &[Operation] = &[
    ("get", "/health", Access::Public, "Liveness, app store and LLM availability", false),
    ("get", "/v1/openapi.json", Access::Public, "This document", false),
    ("post", "/v1/ask", Access::Open, "Answer a question as server-sent events {question, db?, connection_id?, model?}", true),
    ("post", "/v1/sql", Access::Open, "Run guarded SQL {sql, db?, connection_id?, max_rows?}", false),
    ("post", "/v1/guard", Access::Public, "Check SQL against a policy {sql, dialect?, policy?}", false),
    ("post", "/v1/auth/register", Access::Public, "Create an account {username, email, password} (can be disabled)", false),
    ("post", "/v1/auth/login", Access::Public, "Get a token {username, password} -> {access_token, token_type}", false),
    ("post", "/v1/auth/reset-password", Access::Public, "Set a new password when PASSWORD_RESET_REQUIRED {username, current_password, new_password}", false),
    ("get", "/v1/auth/me", Access::User, "The signed-in user", false),
    ("put", "/v1/auth/me", Access::User, "Update the signed-in user {email}", false),
    ("post", "/v1/auth/change-password", Access::User, "Change the password {current_password, new_password} -> a fresh token", false),
    ("put", "/v1/auth/me/llm", Access::User, "Save your own LLM key, sealed {kind?, base_url?, model?, api_key}", false),
    ("delete", "/v1/auth/me/llm", Access::User, "Forget your own LLM key", false),
    ("post", "/v1/connections", Access::User, "Save a connection {name, url} or {name, db_type, host, port, username, password, database}", false),
    ("get", "/v1/connections", Access::User, "Your connections (never with passwords)", false),
    ("get", "/v1/connections/{id}", Access::User, "One of your connections", false),
    ("put", "/v1/connections/{id}", Access::User, "Replace a connection (a missing password keeps the saved one)", false),
    ("delete", "/v1/connections/{id}", Access::User, "Delete a connection", false),
    ("post", "/v1/connections/{id}/test", Access::User, "Check that a connection answers -> {ok, error?}", false),
    ("post", "/v1/threads", Access::User, "Start a thread {title?}", false),
    ("get", "/v1/threads", Access::User, "Your threads", false),
    ("get", "/v1/threads/{id}", Access::User, "A thread with its messages and their events", false),
    ("patch", "/v1/threads/{id}", Access::User, "Rename a thread {title}", false),
    ("delete", "/v1/threads/{id}", Access::User, "Delete a thread", false),
    ("get", "/v1/threads/{id}/model", Access::User, "The thread's model and the availability map", false),
    ("put", "/v1/threads/{id}/model", Access::User, "Choose the thread's model {name | null}", false),
    ("put", "/v1/threads/{id}/connection", Access::User, "Choose the thread's connection {connection_id | null}", false),
    ("post", "/v1/threads/{id}/messages", Access::User, "Ask in a thread {text, connection_id?} (`/sql …` runs SQL) as server-sent events", true),
    ("post", "/v1/threads/{id}/messages/{message_id}/replay", Access::User, "Run a message's SQL again with a fresh LIMIT {max_rows?}", false),
    ("get", "/v1/admin/users", Access::Admin, "All users", false),
    ("post", "/v1/admin/users", Access::Admin, "Create a user who must reset the password {username, email?, password}", false),
    ("get", "/v1/admin/users/{id}", Access::Admin, "One user", false),
    ("delete", "/v1/admin/users/{id}", Access::Admin, "Delete a user and their data", false),
    ("post", "/v1/admin/users/{id}/disable", Access::Admin, "Disable a user (their tokens stop working)", false),
    ("post", "/v1/admin/users/{id}/enable", Access::Admin, "Enable a user", false),
    ("put", "/v1/admin/users/{id}/role", Access::Admin, "Assign a role and scope parameters {role_id, scope_params}", false),
    ("get", "/v1/admin/roles", Access::Admin, "All roles", false),
    ("post", "/v1/admin/roles", Access::Admin, "Create a role {name, description?, policy}", false),
    ("get", "/v1/admin/roles/{id}", Access::Admin, "One role", false),
    ("put", "/v1/admin/roles/{id}", Access::Admin, "Replace a role's description and policy", false),
    ("delete", "/v1/admin/roles/{id}", Access::Admin, "Delete a role", false),
    ("get", "/v1/admin/audit", Access::Admin, "Audit events filtered by user_id, status, stage, since, until, limit", false),
];

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/openapi.json", get(document))
}

async fn document(State(_state): State<AppState>) -> Json<Value> {
    Json(build())
}

fn operation(access: Access, summary: &str, sse: bool, path: &str) -> Value {
    let mut op = json!({ "summary": summary, "responses": {} });
    let ok = if sse {
        json!({ "description": "One SSE event per Event (event name = its type)", "content": { "text/event-stream": { "schema": { "$ref": "#/components/schemas/Event" } } } })
    } else {
        json!({ "description": "Success", "content": { "application/json": {} } })
    };
    op["responses"]["200"] = ok;
    op["responses"]["default"] = json!({ "description": "Error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    match access {
        Access::Public => op["security"] = json!([]),
        Access::Open => op["security"] = json!([{ "bearer": [] }, {}]),
        Access::User | Access::Admin => op["security"] = json!([{ "bearer": [] }]),
    }
    if access == Access::Admin {
        op["tags"] = json!(["admin"]);
    }
    let params: Vec<Value> = path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect();
    if !params.is_empty() {
        op["parameters"] = Value::Array(params);
    }
    op
}

/// The OpenAPI 3.1 document.
pub fn build() -> Value {
    let mut paths = Map::new();
    for (method, path, access, summary, sse) in OPERATIONS {
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[*method] = operation(*access, summary, *sse, path);
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": "Aigis", "version": env!("CARGO_PKG_VERSION"), "description": "Governed data assistant: questions in plain language, guarded SQL, streamed answers." },
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" } },
            "schemas": {
                "Event": aigis_core::event_schema(),
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": { "code": { "type": "string" }, "message": { "type": "string" } } } }
                }
            }
        }
    })
}
