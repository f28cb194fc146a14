//! The one error type of the HTTP API.
//!
//! Every handler returns [`ApiError`] on failure. It renders as
//! `{"error": {"code", "message"}}` with the right status. Internal details (database errors of
//! the app store, I/O, bugs) are logged with the request's span and replaced by a generic
//! message, so nothing about the server's internals reaches a client.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered to an HTTP client (boxed: handlers return it on every `Err` path).
#[derive(Debug)]
pub struct ApiError(Box<Inner>);

#[derive(Debug)]
struct Inner {
    status: StatusCode,
    code: String,
    message: String,
    /// Extra public fields (e.g. guard violations).
    extra: Option<serde_json::Value>,
    /// What really happened; logged, never sent.
    internal: Option<String>,
}

impl ApiError {
    /// An error with a status, a stable code and a message safe to show.
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self(Box::new(Inner { status, code: code.into(), message: message.into(), extra: None, internal: None }))
    }

    /// 400 with code `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401: no token, or a token that does not verify.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: authenticated but not allowed.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404; also answered for other users' resources, so their existence does not leak.
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    /// 409: the resource already exists.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 500 whose cause is logged but not shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let mut e = Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal server error");
        e.0.internal = Some(cause.to_string());
        e
    }

    /// Adds public fields next to `code` and `message`.
    pub fn with_extra(mut self, extra: serde_json::Value) -> Self {
        self.0.extra = Some(extra);
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// The stable code.
    pub fn code(&self) -> &str {
        &self.0.code
    }

    /// The message a client may see (generic for internal errors).
    pub fn public_message(&self) -> &str {
        &self.0.message
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.0.status.as_u16(), self.0.code, self.0.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let this = *self.0;
        if let Some(internal) = &this.internal {
            tracing::error!(code = %this.code, status = this.status.as_u16(), cause = %internal, "request failed");
        } else if this.status.is_server_error() {
            tracing::warn!(code = %this.code, status = this.status.as_u16(), message = %this.message, "request failed");
        }
        let mut error = json!({ "code": this.code, "message": this.message });
        if let (Some(serde_json::Value::Object(extra)), Some(obj)) = (this.extra, error.as_object_mut()) {
            obj.extend(extra);
        }
        (this.status, Json(json!({ "error": error }))).into_response()
    }
}

impl From<aigis_core::Error> for ApiError {
    fn from(err: aigis_core::Error) -> Self {
        use aigis_core::Error as E;
        let code = err.code().to_string();
        match err {
            E::InvalidInput(_) | E::Config(_) => Self::new(StatusCode::BAD_REQUEST, code, err.user_message()),
            E::Rejected { ref violations } => {
                let extra = json!({ "violations": violations });
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, err.user_message()).with_extra(extra)
            }
            // Core sanitises database and LLM messages (no credentials, no URLs with passwords).
            E::Database { .. } => Self::new(StatusCode::BAD_REQUEST, code, err.user_message()),
            E::Llm { .. } => Self::new(StatusCode::BAD_GATEWAY, code, err.user_message()),
            E::BudgetExhausted(_) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, err.user_message()),
            E::NotFound(_) => Self::new(StatusCode::NOT_FOUND, code, err.user_message()),
            E::Unsupported(_) => Self::new(StatusCode::NOT_IMPLEMENTED, code, err.user_message()),
            E::Answer { .. } => Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, err.user_message()),
            other => Self::internal(other),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        Self::internal(format!("app store: {err}"))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            _ => "invalid_json",
        };
        // The rejection text describes the client's input (serde position and field), not the server.
        Self::new(status, code, rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_query", rejection.body_text())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_cause() {
        let e = ApiError::internal("disk /var/lib/aigis.db is full");
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.to_string().contains("/var/lib"));
    }

    #[test]
    fn core_errors_map_to_statuses() {
        let e: ApiError = aigis_core::Error::InvalidInput("x".into()).into();
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        let e: ApiError = aigis_core::Error::Internal("secret path".into()).into();
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.to_string().contains("secret path"));
    }
}
