//! The question endpoints: `GET /health`, `POST /v1/ask` (SSE), `POST /v1/sql`, `POST /v1/guard`.

use aigis_core::{Dialect, ExecLimits, Guard, GuardContext, Policy, Verdict};
use axum::extract::{FromRequest, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::answer::{assistant_for, keyed_connection_for, policy_for};
use super::auth::Caller;
use super::sse::{events_of, sse_response};
use crate::error::ApiError;

/// `Json<T>` whose rejections (malformed JSON, wrong content type, body too large) are [`ApiError`]s.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/v1/ask", post(ask))
        .route("/v1/sql", post(sql))
        .route("/v1/guard", post(guard))
}

async fn health(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "llm": { "available": state.llm_available(), "model": state.default_model() },
        "default_db": state.default_db().is_some(),
        "store": if state.store().ping().await { "ok" } else { "unavailable" },
    }))
}

/// Body of `POST /v1/ask`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AskBody {
    /// The question.
    pub question: String,
    /// Database URL (anonymous development servers and admins only); the default when absent.
    pub db: Option<String>,
    /// One of the caller's saved connections.
    pub connection_id: Option<String>,
    /// Model instead of the default one.
    pub model: Option<String>,
}

async fn ask(State(state): State<AppState>, caller: Caller, ApiJson(body): ApiJson<AskBody>) -> Result<Response, ApiError> {
    if body.question.trim().is_empty() {
        return Err(ApiError::bad_request("`question` must not be empty"));
    }
    let user = caller.user();
    // Fail before opening anything when no LLM can answer.
    super::answer::llm_for(&state, user)?;
    let (key, conn) = connection_of(&state, &caller, body.db.as_deref(), body.connection_id.as_deref()).await?;
    let (assistant, request) = assistant_for(&state, user, &key, conn, body.question, body.model).await?;
    Ok(sse_response(events_of(assistant.ask_with(request))))
}

/// The connection a question or query names: a raw URL (anonymous or admin callers only), a
/// saved connection, or the default database.
async fn connection_of(
    state: &AppState,
    caller: &Caller,
    db: Option<&str>,
    connection_id: Option<&str>,
) -> Result<(String, std::sync::Arc<dyn aigis_core::Connection>), ApiError> {
    let may_name_url = match caller {
        Caller::Anonymous => true,
        Caller::User(u) => u.is_admin,
    };
    match db {
        Some(url) if may_name_url => Ok((url.to_string(), state.connection(url).await?)),
        Some(_) => Err(ApiError::forbidden("only administrators may name a database URL; use `connection_id`")),
        None => keyed_connection_for(state, caller.user(), connection_id).await,
    }
}

/// Body of `POST /v1/sql`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlBody {
    /// The SQL to guard and run.
    pub sql: String,
    /// Database URL (anonymous development servers and admins only); the default when absent.
    pub db: Option<String>,
    /// One of the caller's saved connections.
    pub connection_id: Option<String>,
    /// Row cap (at most the server's).
    pub max_rows: Option<u64>,
}

/// Answer of `POST /v1/sql`.
#[derive(Debug, Serialize)]
pub struct SqlAnswer {
    /// The SQL that ran, as the guard rendered it.
    pub sql: String,
    /// Column names.
    pub columns: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<Value>>,
    /// Rows returned.
    pub row_count: u64,
    /// Whether a cap cut the result.
    pub truncated: bool,
}

async fn sql(State(state): State<AppState>, caller: Caller, ApiJson(body): ApiJson<SqlBody>) -> Result<Json<SqlAnswer>, ApiError> {
    let (_, conn) = connection_of(&state, &caller, body.db.as_deref(), body.connection_id.as_deref()).await?;
    let (policy, ctx) = policy_for(&state, caller.user()).await?;
    let answer = run_sql(&state, conn.as_ref(), &body.sql, body.max_rows, policy, &ctx).await?;
    Ok(Json(answer))
}

/// Guards and runs SQL on a connection under a policy (its dialect and row cap are set here).
pub async fn run_sql(
    state: &AppState,
    conn: &dyn aigis_core::Connection,
    sql: &str,
    max_rows: Option<u64>,
    mut policy: Policy,
    ctx: &GuardContext,
) -> Result<SqlAnswer, ApiError> {
    let server_max = state.assistant_config().policy.max_rows;
    policy.dialect = conn.dialect();
    // The caller may lower the cap, never raise it above the server's or the role's.
    let cap = server_max.min(policy.max_rows).max(1);
    policy.max_rows = max_rows.unwrap_or(cap).clamp(1, cap);
    let limits = ExecLimits {
        max_rows: usize::try_from(policy.max_rows).unwrap_or(usize::MAX),
        ..state.assistant_config().exec_limits.clone()
    };
    let guarded = Guard::new(policy).check(sql, ctx).into_result()?;
    let result = conn.execute(&guarded, &limits).await?;
    Ok(SqlAnswer {
        sql: guarded.sql().to_string(),
        columns: result.column_names(),
        rows: result.rows,
        row_count: result.row_count,
        truncated: result.truncated,
    })
}

/// Body of `POST /v1/guard`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardBody {
    /// The SQL to check.
    pub sql: String,
    /// Dialect to parse with (`postgres`, `mysql`, `sqlite`, `generic`).
    pub dialect: Option<Dialect>,
    /// Policy to enforce; the default one when absent.
    pub policy: Option<Policy>,
}

async fn guard(ApiJson(body): ApiJson<GuardBody>) -> Json<Verdict> {
    let mut policy = body.policy.unwrap_or_default();
    if let Some(d) = body.dialect {
        policy.dialect = d;
    }
    Json(Guard::new(policy).check(&body.sql, &GuardContext::default()))
}
