//! Authentication: tokens, the `AuthUser`/`AdminUser`/`Caller` extractors and `/v1/auth/*`.

pub mod jwt;
pub mod password;
pub mod routes;
pub mod throttle;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::header;

use super::AppState;
use super::store::users::UserRow;
use crate::error::ApiError;

pub use routes::routes;

/// Issues a token for a user.
pub fn issue_token(state: &AppState, user: &UserRow) -> Result<String, ApiError> {
    let now = chrono::Utc::now().timestamp();
    let ttl = i64::try_from(state.settings().token_ttl.as_secs()).unwrap_or(i64::MAX / 2);
    let claims = jwt::Claims { sub: user.id.clone(), ver: user.token_version, iat: now, exp: now.saturating_add(ttl) };
    jwt::sign(&claims, &state.settings().jwt_secret).map_err(ApiError::internal)
}

/// A signed-in, enabled user whose token is current.
#[derive(Debug, Clone)]
pub struct AuthUser(pub UserRow);

/// A signed-in admin.
#[derive(Debug, Clone)]
pub struct AdminUser(pub UserRow);

/// Who calls an endpoint open to anonymous callers on development servers.
#[derive(Debug, Clone)]
pub enum Caller {
    /// No token, on a server that allows it.
    Anonymous,
    /// A signed-in user.
    User(Box<UserRow>),
}

impl Caller {
    /// The user, when signed in.
    pub fn user(&self) -> Option<&UserRow> {
        match self {
            Caller::Anonymous => None,
            Caller::User(u) => Some(u.as_ref()),
        }
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

async fn user_of_token(state: &AppState, token: &str) -> Result<UserRow, ApiError> {
    let invalid = || ApiError::unauthorized("invalid or expired token");
    let claims = jwt::verify(token, &state.settings().jwt_secret, chrono::Utc::now().timestamp()).map_err(|e| {
        tracing::debug!(reason = %e, "token refused");
        invalid()
    })?;
    let user = state.store().user(&claims.sub).await?.ok_or_else(invalid)?;
    if user.disabled || user.token_version != claims.ver || user.must_reset_password {
        return Err(invalid());
    }
    Ok(user)
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
        Ok(AuthUser(user_of_token(state, token).await?))
    }
}

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let AuthUser(user) = AuthUser::from_request_parts(parts, state).await?;
        if !user.is_admin {
            return Err(ApiError::forbidden("administrators only"));
        }
        Ok(AdminUser(user))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match bearer(parts) {
            Some(token) => Ok(Caller::User(Box::new(user_of_token(state, token).await?))),
            None if state.settings().allow_anonymous => Ok(Caller::Anonymous),
            None => Err(ApiError::unauthorized("missing bearer token")),
        }
    }
}

/// The client's address: the socket's peer, or behind a trusted proxy the address it forwards
/// (`unknown` when not served with connect info).
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let forwarded = parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
        let addr = state.client_ip(peer, forwarded).map(|ip| ip.to_string());
        Ok(ClientAddr(addr.unwrap_or_else(|| "unknown".into())))
    }
}
