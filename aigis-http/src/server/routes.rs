//! The question endpoints: `GET /health`, `POST /v1/ask` (SSE), `POST /v1/sql`, `POST /v1/guard`.

use aigis_core::{AskRequest, Assistant, Dialect, ExecLimits, Guard, GuardContext, Policy, Verdict};
use axum::extract::{FromRequest, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
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
    }))
}

/// Body of `POST /v1/ask`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AskBody {
    /// The question.
    pub question: String,
    /// Database URL; the server's default when absent.
    pub db: Option<String>,
    /// Model instead of the default one.
    pub model: Option<String>,
}

async fn ask(State(state): State<AppState>, ApiJson(body): ApiJson<AskBody>) -> Result<Response, ApiError> {
    if body.question.trim().is_empty() {
        return Err(ApiError::bad_request("`question` must not be empty"));
    }
    let llm = state.llm()?;
    let url = db_url(&state, body.db.as_deref())?;
    let conn = state.connection(&url).await?;
    let assistant = Assistant::builder(llm, conn).config(state.assistant_config().clone()).build();
    let request = AskRequest { question: body.question, model: body.model, ..Default::default() };
    Ok(sse_response(events_of(assistant.ask_with(request))))
}

fn db_url(state: &AppState, requested: Option<&str>) -> Result<String, ApiError> {
    requested
        .or(state.default_db())
        .map(str::to_string)
        .ok_or_else(|| ApiError::bad_request("no database: pass `db` or start the server with a default database"))
}

/// Body of `POST /v1/sql`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlBody {
    /// The SQL to guard and run.
    pub sql: String,
    /// Database URL; the server's default when absent.
    pub db: Option<String>,
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

async fn sql(State(state): State<AppState>, ApiJson(body): ApiJson<SqlBody>) -> Result<Json<SqlAnswer>, ApiError> {
    let url = db_url(&state, body.db.as_deref())?;
    let conn = state.connection(&url).await?;
    let answer = run_sql(&state, conn.as_ref(), &body.sql, body.max_rows, Policy::default(), &GuardContext::default()).await?;
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
