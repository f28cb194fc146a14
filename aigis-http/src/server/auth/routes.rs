//! `/v1/auth/*`: register, login, reset-password, me, change-password, the user's own LLM key.

use aigis_core::{ProviderConfig, ProviderKind};
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AuthUser, ClientAddr, issue_token, password};
use crate::error::ApiError;
use crate::server::AppState;
use crate::server::routes::ApiJson;
use crate::server::store::users::{NewUser, UserView};

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/register", post(register))
        .route("/v1/auth/login", post(login))
        .route("/v1/auth/reset-password", post(reset_password))
        .route("/v1/auth/me", get(me).put(update_me))
        .route("/v1/auth/change-password", post(change_password))
        .route("/v1/auth/me/llm", put(set_llm).delete(clear_llm))
}

/// Checks a user name: 3 to 64 letters, digits, `.`, `_`, `-` or `@`.
pub fn check_username(name: &str) -> Result<(), ApiError> {
    let ok = (3..=64).contains(&name.chars().count())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok { Ok(()) } else { Err(ApiError::bad_request("usernames have 3 to 64 letters, digits, `.`, `_`, `-` or `@`")) }
}

/// Checks an email loosely (it is informational).
pub fn check_email(email: &str) -> Result<(), ApiError> {
    if email.len() > 254 || email.chars().any(|c| c.is_control() || c.is_whitespace()) || (!email.is_empty() && !email.contains('@')) {
        return Err(ApiError::bad_request("invalid email"));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    username: String,
    #[serde(default)]
    email: String,
    password: String,
}

async fn register(State(state): State<AppState>, ApiJson(b): ApiJson<RegisterBody>) -> Result<(StatusCode, Json<UserView>), ApiError> {
    if !state.settings().allow_registration {
        return Err(ApiError::forbidden("registration is disabled on this server"));
    }
    check_username(&b.username)?;
    check_email(&b.email)?;
    password::check_strength(&b.password)?;
    let hash = password::hash(b.password).await?;
    let new = NewUser { username: &b.username, email: &b.email, password_hash: &hash, must_reset_password: false };
    let user = state.store().create_user(new).await?.ok_or_else(|| ApiError::conflict("username already taken"))?;
    tracing::info!(user_id = %user.id, "user registered");
    Ok((StatusCode::CREATED, Json(UserView::from(&user))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    username: String,
    password: String,
}

fn token_answer(state: &AppState, token: String) -> Json<Value> {
    Json(json!({ "access_token": token, "token_type": "bearer", "expires_in": state.settings().token_ttl.as_secs() }))
}

/// Checks a user name and password under the throttle; the user when they match.
async fn authenticate(state: &AppState, addr: &str, username: &str, pw: String) -> Result<crate::server::store::users::UserRow, ApiError> {
    if !state.throttle().allowed(username, addr) {
        return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", "too many failed attempts; try again later"));
    }
    let user = state.store().user_by_name(username).await?;
    // Verify against a dummy hash for unknown users so both cases take as long.
    let hash = user.as_ref().map_or_else(|| state.dummy_hash().to_string(), |u| u.password_hash.clone());
    let ok = password::verify(pw, hash).await;
    match user {
        Some(u) if ok => {
            state.throttle().succeeded(username);
            Ok(u)
        }
        _ => {
            state.throttle().failed(username, addr);
            tracing::info!(addr = %addr, "failed login");
            Err(ApiError::unauthorized("invalid username or password"))
        }
    }
}

async fn login(State(state): State<AppState>, ClientAddr(addr): ClientAddr, ApiJson(b): ApiJson<LoginBody>) -> Result<Json<Value>, ApiError> {
    let user = authenticate(&state, &addr, &b.username, b.password).await?;
    if user.disabled {
        return Err(ApiError::forbidden("this account is disabled"));
    }
    if user.must_reset_password {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "PASSWORD_RESET_REQUIRED",
            "choose a new password with POST /v1/auth/reset-password before signing in",
        ));
    }
    Ok(token_answer(&state, issue_token(&state, &user)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetBody {
    username: String,
    current_password: String,
    new_password: String,
}

async fn reset_password(State(state): State<AppState>, ClientAddr(addr): ClientAddr, ApiJson(b): ApiJson<ResetBody>) -> Result<Json<Value>, ApiError> {
    password::check_strength(&b.new_password)?;
    if b.new_password == b.current_password {
        return Err(ApiError::bad_request("the new password must differ from the current one"));
    }
    let user = authenticate(&state, &addr, &b.username, b.current_password).await?;
    if user.disabled {
        return Err(ApiError::forbidden("this account is disabled"));
    }
    let hash = password::hash(b.new_password).await?;
    state.store().set_password(&user.id, &hash).await?;
    let user = state.store().user(&user.id).await?.ok_or_else(|| ApiError::not_found("user"))?;
    Ok(token_answer(&state, issue_token(&state, &user)?))
}

async fn me(AuthUser(user): AuthUser) -> Json<UserView> {
    Json(UserView::from(&user))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateMeBody {
    email: Option<String>,
}

async fn update_me(State(state): State<AppState>, AuthUser(user): AuthUser, ApiJson(b): ApiJson<UpdateMeBody>) -> Result<Json<UserView>, ApiError> {
    if let Some(email) = b.email {
        check_email(&email)?;
        state.store().set_email(&user.id, &email).await?;
    }
    let user = state.store().user(&user.id).await?.ok_or_else(|| ApiError::not_found("user"))?;
    Ok(Json(UserView::from(&user)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangePasswordBody {
    current_password: String,
    new_password: String,
}

async fn change_password(State(state): State<AppState>, ClientAddr(addr): ClientAddr, AuthUser(user): AuthUser, ApiJson(b): ApiJson<ChangePasswordBody>) -> Result<Json<Value>, ApiError> {
    password::check_strength(&b.new_password)?;
    let user = authenticate(&state, &addr, &user.username, b.current_password).await?;
    let hash = password::hash(b.new_password).await?;
    state.store().set_password(&user.id, &hash).await?;
    let user = state.store().user(&user.id).await?.ok_or_else(|| ApiError::not_found("user"))?;
    // Older tokens stopped working with the change; hand out a fresh one.
    Ok(token_answer(&state, issue_token(&state, &user)?))
}

/// A user's own LLM settings (bring your own key).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LlmBody {
    #[serde(default)]
    kind: ProviderKind,
    base_url: Option<String>,
    model: Option<String>,
    api_key: String,
}

/// The purpose a user's LLM settings are sealed for.
pub fn llm_purpose(user_id: &str) -> String {
    format!("llm:{user_id}")
}

async fn set_llm(State(state): State<AppState>, AuthUser(user): AuthUser, ApiJson(b): ApiJson<LlmBody>) -> Result<StatusCode, ApiError> {
    if b.api_key.trim().is_empty() {
        return Err(ApiError::bad_request("`api_key` must not be empty"));
    }
    let config = ProviderConfig { kind: b.kind, base_url: b.base_url, model: b.model, api_key: Some(b.api_key), fallback_models: Vec::new() };
    let plain = serde_json::to_string(&config).map_err(ApiError::internal)?;
    let sealed = state.sealer().seal(&llm_purpose(&user.id), &plain).map_err(ApiError::internal)?;
    state.store().set_llm_config(&user.id, Some(&sealed)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn clear_llm(State(state): State<AppState>, AuthUser(user): AuthUser) -> Result<StatusCode, ApiError> {
    state.store().set_llm_config(&user.id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}
