//! The one error type of Aigis.
//!
//! Every fallible function in the crate returns [`Result<T>`]. Each variant maps to a stable
//! machine-readable [`Error::code`] that the `error` event, the HTTP API and the bindings expose,
//! so callers can branch on the kind of failure without parsing messages. Messages never contain
//! secrets (API keys, passwords): constructors that wrap foreign errors scrub them first.

use crate::guard::Violation;

/// Result alias used throughout Aigis.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong with a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DbErrorKind {
    /// The server could not be reached (refused, unknown host, network).
    Connect,
    /// Wrong user or password, or access denied.
    Auth,
    /// The database named in the URL does not exist.
    NotFound,
    /// TLS was required or failed.
    Tls,
    /// The server cancelled the statement because it ran past the timeout.
    Timeout,
    /// No pooled connection became free in time.
    PoolTimeout,
    /// The statement failed (unknown column, type error, syntax...).
    Query,
    /// The connection was lost while the statement ran.
    ConnectionLost,
    /// A value could not be decoded into JSON.
    Decode,
}

/// What went wrong with an LLM provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LlmErrorKind {
    /// The provider rejected the credentials (401/403).
    Auth,
    /// Too many requests (429); `retry_after` may say when to come back.
    RateLimited,
    /// The prompt does not fit the model's context window.
    ContextTooLong,
    /// The provider refused the content.
    ContentFiltered,
    /// The reply could not be understood (malformed JSON or SSE).
    BadResponse,
    /// The provider failed (5xx) or the connection broke.
    Unavailable,
    /// A connect, first-token or total timeout elapsed.
    Timeout,
    /// The model asked for does not exist or is not configured.
    UnknownModel,
}

/// The root error of Aigis.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Missing or invalid configuration (an environment variable, a URL, a policy file).
    #[error("configuration error: {0}")]
    Config(String),
    /// The caller passed something malformed.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The SQL guard rejected a statement.
    #[error("SQL rejected: {}", summarize_violations(.violations))]
    Rejected {
        /// Why, one entry per rule broken.
        violations: Vec<Violation>,
    },
    /// A database operation failed.
    #[error("database error ({kind:?}): {message}")]
    Database {
        /// The kind of failure.
        kind: DbErrorKind,
        /// A sanitised message, safe to show to users and to the model.
        message: String,
    },
    /// An LLM provider call failed.
    #[error("LLM error ({kind:?}): {message}")]
    Llm {
        /// The kind of failure.
        kind: LlmErrorKind,
        /// A message with any API key removed.
        message: String,
        /// Seconds the provider asked us to wait, when it said so.
        retry_after: Option<f64>,
    },
    /// A per-request budget (LLM calls, tokens, time, rows) ran out.
    #[error("budget exhausted: {0}")]
    BudgetExhausted(String),
    /// The consumer went away or cancelled.
    #[error("cancelled")]
    Cancelled,
    /// Sealing or opening a secret failed (wrong key, tampered ciphertext).
    #[error("secret error: {0}")]
    Secret(String),
    /// Something asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A feature is not compiled in or not supported by this backend.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// File-system failure.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// JSON (de)serialisation failure.
    #[error("JSON error: {0}")]
    Json(#[from] serde_json::Error),
    /// The assistant ended a question with an `error` event (collected by [`crate::Answer::collect`]).
    #[error("{message}")]
    Answer {
        /// The event's code.
        code: String,
        /// The event's message.
        message: String,
    },
    /// A bug or an invariant broken inside Aigis.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// A stable, machine-readable code for this error (used by the `error` event and bindings).
    pub fn code(&self) -> &str {
        match self {
            Error::Config(_) => "config",
            Error::InvalidInput(_) => "invalid_input",
            Error::Rejected { .. } => "rejected",
            Error::Database { kind, .. } => match kind {
                DbErrorKind::Timeout => "db_timeout",
                DbErrorKind::PoolTimeout => "db_pool_timeout",
                DbErrorKind::Auth => "db_auth",
                DbErrorKind::Connect | DbErrorKind::Tls | DbErrorKind::NotFound => "db_connect",
                DbErrorKind::ConnectionLost => "db_connection_lost",
                DbErrorKind::Query | DbErrorKind::Decode => "db_error",
            },
            Error::Llm { kind, .. } => match kind {
                LlmErrorKind::Auth => "llm_auth",
                LlmErrorKind::RateLimited => "llm_rate_limited",
                LlmErrorKind::ContextTooLong => "llm_context_too_long",
                LlmErrorKind::ContentFiltered => "llm_content_filtered",
                LlmErrorKind::BadResponse => "llm_bad_response",
                LlmErrorKind::Unavailable => "llm_unavailable",
                LlmErrorKind::Timeout => "llm_timeout",
                LlmErrorKind::UnknownModel => "llm_unknown_model",
            },
            Error::BudgetExhausted(_) => "budget_exhausted",
            Error::Cancelled => "cancelled",
            Error::Secret(_) => "secret",
            Error::NotFound(_) => "not_found",
            Error::Unsupported(_) => "unsupported",
            Error::Io(_) => "io",
            Error::Json(_) => "json",
            Error::Answer { code, .. } => code,
            Error::Internal(_) => "internal",
        }
    }

    /// The message to show: for guard rejections and answers, without the kind prefix.
    pub fn user_message(&self) -> String {
        match self {
            Error::Answer { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }

    /// Shorthand for a database error.
    pub fn database(kind: DbErrorKind, message: impl Into<String>) -> Self {
        Error::Database { kind, message: message.into() }
    }

    /// Shorthand for an LLM error.
    pub fn llm(kind: LlmErrorKind, message: impl Into<String>) -> Self {
        Error::Llm { kind, message: message.into(), retry_after: None }
    }
}

fn summarize_violations(violations: &[Violation]) -> String {
    violations.iter().map(|v| format!("[{}] {}", v.code, v.message)).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        assert_eq!(Error::Cancelled.code(), "cancelled");
        assert_eq!(Error::database(DbErrorKind::Timeout, "x").code(), "db_timeout");
        assert_eq!(Error::llm(LlmErrorKind::RateLimited, "x").code(), "llm_rate_limited");
    }
}
