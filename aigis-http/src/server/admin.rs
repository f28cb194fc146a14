//! `/v1/admin/*`: user management, roles and scopes, and audit browsing (admins only).
//!
//! No request body has an admin field: the admin flag belongs to the bootstrapped account alone.

use aigis_core::Policy;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;

use super::AppState;
use super::auth::routes::{check_email, check_username};
use super::auth::{AdminUser, password};
use super::routes::ApiJson;
use super::store::audit::{AuditFilter, AuditRow};
use super::store::roles::RoleRow;
use super::store::users::{NewUser, UserView};
use crate::error::ApiError;

/// `Query<T>` whose rejections are [`ApiError`]s.
#[derive(Debug, FromRequestParts)]
#[from_request(via(Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/users", get(list_users).post(create_user))
        .route("/v1/admin/users/{id}", get(get_user).delete(delete_user))
        .route("/v1/admin/users/{id}/disable", post(disable_user))
        .route("/v1/admin/users/{id}/enable", post(enable_user))
        .route("/v1/admin/users/{id}/role", put(assign_role))
        .route("/v1/admin/roles", get(list_roles).post(create_role))
        .route("/v1/admin/roles/{id}", get(get_role).put(update_role).delete(delete_role))
        .route("/v1/admin/audit", get(audit))
}

async fn list_users(State(state): State<AppState>, _admin: AdminUser) -> Result<Json<Vec<UserView>>, ApiError> {
    Ok(Json(state.store().users().await?.iter().map(UserView::from).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUserBody {
    username: String,
    #[serde(default)]
    email: String,
    /// A temporary password: the user must change it before getting a token.
    password: String,
}

async fn create_user(State(state): State<AppState>, AdminUser(admin): AdminUser, ApiJson(b): ApiJson<CreateUserBody>) -> Result<(StatusCode, Json<UserView>), ApiError> {
    check_username(&b.username)?;
    check_email(&b.email)?;
    password::check_strength(&b.password)?;
    let hash = password::hash(b.password).await?;
    let new = NewUser { username: &b.username, email: &b.email, password_hash: &hash, must_reset_password: true };
    let user = state.store().create_user(new).await?.ok_or_else(|| ApiError::conflict("username already taken"))?;
    tracing::info!(admin = %admin.id, user_id = %user.id, "user created by admin");
    Ok((StatusCode::CREATED, Json(UserView::from(&user))))
}

async fn get_user(State(state): State<AppState>, _admin: AdminUser, Path(id): Path<String>) -> Result<Json<UserView>, ApiError> {
    let user = state.store().user(&id).await?.ok_or_else(|| ApiError::not_found("user"))?;
    Ok(Json(UserView::from(&user)))
}

/// Refuses actions on the admin's own account (an admin locking themselves out).
fn not_self(admin: &super::store::users::UserRow, id: &str) -> Result<(), ApiError> {
    if admin.id == id {
        return Err(ApiError::bad_request("administrators cannot disable or delete their own account"));
    }
    Ok(())
}

async fn delete_user(State(state): State<AppState>, AdminUser(admin): AdminUser, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    not_self(&admin, &id)?;
    if !state.store().delete_user(&id).await? {
        return Err(ApiError::not_found("user"));
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn set_disabled(state: &AppState, admin: &super::store::users::UserRow, id: &str, disabled: bool) -> Result<Json<UserView>, ApiError> {
    not_self(admin, id)?;
    if !state.store().set_disabled(id, disabled).await? {
        return Err(ApiError::not_found("user"));
    }
    let user = state.store().user(id).await?.ok_or_else(|| ApiError::not_found("user"))?;
    Ok(Json(UserView::from(&user)))
}

async fn disable_user(State(state): State<AppState>, AdminUser(admin): AdminUser, Path(id): Path<String>) -> Result<Json<UserView>, ApiError> {
    set_disabled(&state, &admin, &id, true).await
}

async fn enable_user(State(state): State<AppState>, AdminUser(admin): AdminUser, Path(id): Path<String>) -> Result<Json<UserView>, ApiError> {
    set_disabled(&state, &admin, &id, false).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignRoleBody {
    role_id: Option<String>,
    #[serde(default)]
    scope_params: serde_json::Map<String, serde_json::Value>,
}

async fn assign_role(State(state): State<AppState>, _admin: AdminUser, Path(id): Path<String>, ApiJson(b): ApiJson<AssignRoleBody>) -> Result<Json<UserView>, ApiError> {
    if let Some(role_id) = &b.role_id {
        state.store().role(role_id).await?.ok_or_else(|| ApiError::not_found("role"))?;
    }
    let params = serde_json::Value::Object(b.scope_params);
    if !state.store().set_role(&id, b.role_id.as_deref(), &params).await? {
        return Err(ApiError::not_found("user"));
    }
    let user = state.store().user(&id).await?.ok_or_else(|| ApiError::not_found("user"))?;
    Ok(Json(UserView::from(&user)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    name: String,
    #[serde(default)]
    description: String,
    /// An `aigis_core::Policy` (allowed tables, row scopes, PII rules...).
    policy: serde_json::Value,
}

/// Validates a policy by reading it as the guard will.
fn checked_policy(value: serde_json::Value) -> Result<serde_json::Value, ApiError> {
    let policy: Policy = serde_json::from_value(value).map_err(|e| ApiError::bad_request(format!("invalid policy: {e}")))?;
    serde_json::to_value(policy).map_err(ApiError::internal)
}

async fn create_role(State(state): State<AppState>, _admin: AdminUser, ApiJson(b): ApiJson<RoleBody>) -> Result<(StatusCode, Json<RoleRow>), ApiError> {
    check_username(&b.name).map_err(|_| ApiError::bad_request("role names have 3 to 64 letters, digits, `.`, `_`, `-` or `@`"))?;
    let policy = checked_policy(b.policy)?;
    let role = state.store().create_role(&b.name, &b.description, &policy).await?.ok_or_else(|| ApiError::conflict("role name already taken"))?;
    Ok((StatusCode::CREATED, Json(role)))
}

async fn list_roles(State(state): State<AppState>, _admin: AdminUser) -> Result<Json<Vec<RoleRow>>, ApiError> {
    Ok(Json(state.store().roles().await?))
}

async fn get_role(State(state): State<AppState>, _admin: AdminUser, Path(id): Path<String>) -> Result<Json<RoleRow>, ApiError> {
    Ok(Json(state.store().role(&id).await?.ok_or_else(|| ApiError::not_found("role"))?))
}

async fn update_role(State(state): State<AppState>, _admin: AdminUser, Path(id): Path<String>, ApiJson(b): ApiJson<RoleBody>) -> Result<Json<RoleRow>, ApiError> {
    let policy = checked_policy(b.policy)?;
    if !state.store().update_role(&id, &b.description, &policy).await? {
        return Err(ApiError::not_found("role"));
    }
    Ok(Json(state.store().role(&id).await?.ok_or_else(|| ApiError::not_found("role"))?))
}

async fn delete_role(State(state): State<AppState>, _admin: AdminUser, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    if !state.store().delete_role(&id).await? {
        return Err(ApiError::not_found("role"));
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn audit(State(state): State<AppState>, _admin: AdminUser, ApiQuery(filter): ApiQuery<AuditFilter>) -> Result<Json<Vec<AuditRow>>, ApiError> {
    // Audit events are written in the background: show everything recorded before this request.
    state.flush_audit(std::time::Duration::from_secs(5)).await;
    Ok(Json(state.store().audit(&filter).await?))
}
