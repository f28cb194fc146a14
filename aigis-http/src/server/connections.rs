//! `/v1/connections`: each user's saved databases. The URL (with its password) is sealed with
//! the master key; answers never contain the password, and other users' connections are 404.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::answer::{connection_purpose, open_connection_url};
use super::auth::AuthUser;
use super::routes::ApiJson;
use super::store::connections::{ConnectionRow, ConnectionView};
use crate::error::ApiError;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/connections", post(create).get(list))
        .route("/v1/connections/{id}", get(read).put(update).delete(remove))
        .route("/v1/connections/{id}/test", post(test))
}

/// `{name, url}` or `{name, db_type, host, port, username, password, database}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionBody {
    name: String,
    url: Option<String>,
    db_type: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    username: Option<String>,
    password: Option<String>,
    database: Option<String>,
}

/// Percent-encodes a URL user-info or path part.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// The password in a `scheme://user:password@host…` URL, still encoded.
fn url_password(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let userinfo = rest.split(['/', '?']).next()?.rsplit_once('@')?.0;
    userinfo.split_once(':').map(|(_, p)| p)
}

/// Builds the row (URL not yet sealed) from a body; `old_password` fills a missing password on update.
fn row_of(user_id: &str, b: ConnectionBody, old_password: Option<&str>, is_admin: bool) -> Result<(ConnectionRow, String), ApiError> {
    let name = b.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 120 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request("`name` must have 1 to 120 printable characters"));
    }
    let mut row = ConnectionRow {
        id: String::new(),
        user_id: user_id.to_string(),
        name,
        db_type: String::new(),
        host: b.host.clone(),
        port: b.port.map(i64::from),
        username: b.username.clone(),
        database: b.database.clone(),
        url_sealed: String::new(),
        created_at: 0,
    };
    let url = match (b.url, b.db_type) {
        (Some(url), None) if b.host.is_none() && b.password.is_none() && b.username.is_none() && b.database.is_none() => {
            row.db_type = url.split(':').next().unwrap_or_default().to_ascii_lowercase().replace("postgresql", "postgres").replace("mariadb", "mysql");
            url
        }
        (None, Some(kind)) => {
            row.db_type = kind.to_ascii_lowercase();
            let db = b.database.as_deref().unwrap_or_default();
            if row.db_type == "sqlite" {
                format!("sqlite://{db}")
            } else {
                let host = b.host.as_deref().filter(|h| !h.is_empty() && !h.contains(['/', '@', '?', '#'])).ok_or_else(|| ApiError::bad_request("`host` is required"))?;
                let port = b.port.map(|p| format!(":{p}")).unwrap_or_default();
                let user = b.username.as_deref().map(enc).unwrap_or_default();
                let pass = match b.password.as_deref() {
                    Some(p) => Some(enc(p)),
                    None => old_password.map(str::to_string),
                };
                let auth = match (user.is_empty(), pass) {
                    (true, _) => String::new(),
                    (false, Some(p)) => format!("{user}:{p}@"),
                    (false, None) => format!("{user}@"),
                };
                format!("{}://{auth}{host}{port}/{}", row.db_type, enc(db))
            }
        }
        _ => return Err(ApiError::bad_request("give either `url` or `db_type` with `host`, `port`, `username`, `password`, `database`")),
    };
    if !matches!(row.db_type.as_str(), "postgres" | "mysql" | "sqlite") {
        return Err(ApiError::bad_request("`db_type` must be postgres, mysql or sqlite"));
    }
    // A file path on the server could name any SQLite file there, the app store included.
    if row.db_type == "sqlite" && !is_admin {
        return Err(ApiError::forbidden("only administrators may add SQLite files"));
    }
    Ok((row, url))
}

async fn create(State(state): State<AppState>, AuthUser(user): AuthUser, ApiJson(b): ApiJson<ConnectionBody>) -> Result<(StatusCode, Json<ConnectionView>), ApiError> {
    let (mut row, url) = row_of(&user.id, b, None, user.is_admin)?;
    row.url_sealed = state.sealer().seal(&connection_purpose(&user.id), &url).map_err(ApiError::internal)?;
    let row = state.store().insert_connection(row).await?;
    tracing::info!(connection_id = %row.id, db_type = %row.db_type, "connection saved");
    Ok((StatusCode::CREATED, Json(ConnectionView::from(&row))))
}

async fn list(State(state): State<AppState>, AuthUser(user): AuthUser) -> Result<Json<Vec<ConnectionView>>, ApiError> {
    Ok(Json(state.store().connections(&user.id).await?.iter().map(ConnectionView::from).collect()))
}

async fn owned(state: &AppState, user_id: &str, id: &str) -> Result<ConnectionRow, ApiError> {
    state.store().connection(user_id, id).await?.ok_or_else(|| ApiError::not_found("connection"))
}

async fn read(State(state): State<AppState>, AuthUser(user): AuthUser, Path(id): Path<String>) -> Result<Json<ConnectionView>, ApiError> {
    Ok(Json(ConnectionView::from(&owned(&state, &user.id, &id).await?)))
}

async fn update(State(state): State<AppState>, AuthUser(user): AuthUser, Path(id): Path<String>, ApiJson(b): ApiJson<ConnectionBody>) -> Result<Json<ConnectionView>, ApiError> {
    let old = owned(&state, &user.id, &id).await?;
    let old_url = open_connection_url(&state, &old)?;
    let (mut row, url) = row_of(&user.id, b, url_password(&old_url), user.is_admin)?;
    row.id = old.id;
    row.created_at = old.created_at;
    row.url_sealed = state.sealer().seal(&connection_purpose(&user.id), &url).map_err(ApiError::internal)?;
    state.store().update_connection(&row).await?;
    state.forget_connection(&old_url);
    Ok(Json(ConnectionView::from(&row)))
}

async fn remove(State(state): State<AppState>, AuthUser(user): AuthUser, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let old = owned(&state, &user.id, &id).await?;
    if let Ok(url) = open_connection_url(&state, &old) {
        state.forget_connection(&url);
    }
    state.store().delete_connection(&user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn test(State(state): State<AppState>, AuthUser(user): AuthUser, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let row = owned(&state, &user.id, &id).await?;
    let url = open_connection_url(&state, &row)?;
    let outcome = match state.connection(&url).await {
        Ok(conn) => conn.ping().await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    Ok(Json(match outcome {
        Ok(()) => json!({ "ok": true }),
        Err(e) => {
            state.forget_connection(&url);
            json!({ "ok": false, "error": { "code": e.code(), "message": e.public_message() } })
        }
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn parts(password: Option<&str>) -> ConnectionBody {
        ConnectionBody {
            name: "warehouse".into(),
            url: None,
            db_type: Some("postgres".into()),
            host: Some("db.internal".into()),
            port: Some(5432),
            username: Some("ana".into()),
            password: password.map(str::to_string),
            database: Some("sales".into()),
        }
    }

    #[test]
    fn parts_build_an_encoded_url_and_keep_the_old_password() {
        let (_, url) = row_of("u", parts(Some("p@ss:/w")), None, false).unwrap();
        assert_eq!(url, "postgres://ana:p%40ss%3A%2Fw@db.internal:5432/sales");
        assert_eq!(url_password(&url), Some("p%40ss%3A%2Fw"));
        let (_, again) = row_of("u", parts(None), url_password(&url), false).unwrap();
        assert_eq!(again, url);
    }

    #[test]
    fn sqlite_files_are_for_admins_only() {
        let b = ConnectionBody { url: Some("sqlite:///var/lib/aigis/aigis-app.db".into()), db_type: None, host: None, port: None, username: None, password: None, database: None, name: "x".into() };
        assert_eq!(row_of("u", b, None, false).unwrap_err().status(), StatusCode::FORBIDDEN);
    }
}
