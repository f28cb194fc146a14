//! `/v1/threads`: conversations. A message streams the answer as SSE and, in one transaction,
//! persists the user message and the assistant message with its events, also when the client
//! goes away mid-stream (then the answer is stopped and saved as `cancelled`).

mod exchange;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth::AuthUser;
use super::routes::{ApiJson, SqlAnswer, run_sql};
use super::store::threads::ThreadRow;
use crate::error::ApiError;

/// Longest title kept.
pub const TITLE_MAX: usize = 120;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/threads", post(create).get(list))
        .route("/v1/threads/{id}", get(read).patch(update).delete(remove))
        .route("/v1/threads/{id}/model", get(get_model).put(set_model))
        .route("/v1/threads/{id}/connection", put(set_connection))
        .route("/v1/threads/{id}/messages", post(exchange::post_message))
        .route("/v1/threads/{id}/messages/{message_id}/replay", post(replay))
}

/// Removes angle brackets, turns control characters into spaces (so words stay apart),
/// collapses whitespace, and cuts to [`TITLE_MAX`] characters.
pub fn sanitize_title(raw: &str) -> String {
    let cleaned: String = raw.chars().filter(|c| *c != '<' && *c != '>').map(|c| if c.is_control() { ' ' } else { c }).collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(TITLE_MAX).collect()
}

pub(crate) async fn owned(state: &AppState, user_id: &str, id: &str) -> Result<ThreadRow, ApiError> {
    state.store().thread(user_id, id).await?.ok_or_else(|| ApiError::not_found("thread"))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    title: Option<String>,
}

async fn create(State(state): State<AppState>, AuthUser(user): AuthUser, ApiJson(body): ApiJson<CreateBody>) -> Result<(StatusCode, Json<ThreadRow>), ApiError> {
    let title = body.title.map(|t| sanitize_title(&t)).filter(|t| !t.is_empty());
    let thread = state.store().create_thread(&user.id, &title.unwrap_or_else(|| "New thread".into())).await?;
    Ok((StatusCode::CREATED, Json(thread)))
}

async fn list(State(state): State<AppState>, AuthUser(user): AuthUser) -> Result<Json<Vec<ThreadRow>>, ApiError> {
    Ok(Json(state.store().threads(&user.id).await?))
}

async fn read(State(state): State<AppState>, AuthUser(user): AuthUser, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let thread = owned(&state, &user.id, &id).await?;
    let messages = state.store().messages(&thread.id).await?;
    Ok(Json(json!({ "thread": thread, "messages": messages })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    title: Option<String>,
}

async fn update(State(state): State<AppState>, AuthUser(user): AuthUser, Path(id): Path<String>, ApiJson(b): ApiJson<UpdateBody>) -> Result<Json<ThreadRow>, ApiError> {
    let mut thread = owned(&state, &user.id, &id).await?;
    if let Some(t) = b.title {
        let t = sanitize_title(&t);
        if t.is_empty() {
            return Err(ApiError::bad_request("`title` is empty once sanitised"));
        }
        thread.title = t;
    }
    state.store().update_thread(&thread).await?;
    Ok(Json(thread))
}

async fn remove(State(state): State<AppState>, AuthUser(user): AuthUser, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    if !state.store().delete_thread(&user.id, &id).await? {
        return Err(ApiError::not_found("thread"));
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn get_model(State(state): State<AppState>, AuthUser(user): AuthUser, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let thread = owned(&state, &user.id, &id).await?;
    let has_key = user.llm_config_sealed.is_some();
    Ok(Json(json!({
        "model": thread.model,
        "default_model": state.default_model(),
        "available": state.model_availability(has_key),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelBody {
    /// A model name, or `null` to use the server default.
    name: Option<String>,
}

async fn set_model(State(state): State<AppState>, AuthUser(user): AuthUser, Path(id): Path<String>, ApiJson(b): ApiJson<ModelBody>) -> Result<Json<Value>, ApiError> {
    let mut thread = owned(&state, &user.id, &id).await?;
    let has_key = user.llm_config_sealed.is_some();
    thread.model = match &b.name {
        Some(name) => Some(state.choose_model(name, has_key)?),
        None => None,
    };
    state.store().update_thread(&thread).await?;
    Ok(Json(json!({ "model": thread.model, "default_model": state.default_model(), "available": state.model_availability(has_key) })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectionChoice {
    /// One of the user's connections, or `null` for the server default.
    connection_id: Option<String>,
}

async fn set_connection(State(state): State<AppState>, AuthUser(user): AuthUser, Path(id): Path<String>, ApiJson(b): ApiJson<ConnectionChoice>) -> Result<Json<ThreadRow>, ApiError> {
    let mut thread = owned(&state, &user.id, &id).await?;
    if let Some(cid) = &b.connection_id {
        state.store().connection(&user.id, cid).await?.ok_or_else(|| ApiError::not_found("connection"))?;
    }
    thread.connection_id = b.connection_id;
    state.store().update_thread(&thread).await?;
    Ok(Json(thread))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReplayBody {
    max_rows: Option<u64>,
}

/// Runs a message's SQL again, through the guard, with a fresh LIMIT (the dataset behind an answer).
async fn replay(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((id, message_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<ReplayBody>,
) -> Result<Json<SqlAnswer>, ApiError> {
    let thread = owned(&state, &user.id, &id).await?;
    let message = state.store().message(&thread.id, &message_id).await?.ok_or_else(|| ApiError::not_found("message"))?;
    let sql = message.sql.ok_or_else(|| ApiError::bad_request("this message has no SQL to replay"))?;
    let conn = super::answer::connection_for(&state, Some(&user), thread.connection_id.as_deref()).await?;
    let (policy, ctx) = super::answer::policy_for(&state, Some(&user)).await?;
    let max_rows = body.max_rows;
    Ok(Json(run_sql(&state, conn.as_ref(), &sql, max_rows, policy, &ctx).await?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn titles_lose_markup_and_control_characters_and_are_capped() {
        assert_eq!(sanitize_title("<script>alert(1)</script>\u{0007} Sales\n2024"), "scriptalert(1)/script Sales 2024");
        assert_eq!(sanitize_title(&"x".repeat(500)).chars().count(), TITLE_MAX);
    }
}
