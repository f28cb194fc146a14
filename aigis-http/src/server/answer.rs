//! Builds the assistant that answers one user: their LLM (own key or the server's), their
//! connection (or the default database), their role's guard policy and scope parameters, and
//! an audit sink writing to the app store.

use std::sync::Arc;

use aigis_core::{AskRequest, Assistant, Connection, GuardContext, LlmProvider, Policy, ProviderConfig};

use super::AppState;
use super::auth::routes::llm_purpose;
use super::store::connections::ConnectionRow;
use super::store::users::UserRow;
use crate::error::ApiError;

/// The purpose a connection URL is sealed for.
pub fn connection_purpose(user_id: &str) -> String {
    format!("connection:{user_id}")
}

/// The plain URL of a saved connection.
pub fn open_connection_url(state: &AppState, c: &ConnectionRow) -> Result<String, ApiError> {
    state.sealer().open(&connection_purpose(&c.user_id), &c.url_sealed).map_err(|e| {
        ApiError::internal(format!("connection {} does not open: {e}", c.id))
    })
}

/// The LLM for a user: their own sealed settings when saved, else the server's.
pub fn llm_for(state: &AppState, user: Option<&UserRow>) -> Result<Arc<dyn LlmProvider>, ApiError> {
    let Some(sealed) = user.and_then(|u| u.llm_config_sealed.as_ref().map(|s| (u, s))) else {
        return state.llm();
    };
    let (user, sealed) = sealed;
    let plain = state.sealer().open(&llm_purpose(&user.id), sealed).map_err(ApiError::internal)?;
    let config: ProviderConfig = serde_json::from_str(&plain).map_err(ApiError::internal)?;
    config.build().map_err(|e| {
        ApiError::new(axum::http::StatusCode::BAD_REQUEST, "llm_config", format!("your saved LLM settings are not usable ({})", e.code()))
    })
}

/// The guard policy and context for a user: their role's policy with their scope parameters.
pub async fn policy_for(state: &AppState, user: Option<&UserRow>) -> Result<(Policy, GuardContext), ApiError> {
    let mut policy = state.assistant_config().policy.clone();
    let mut ctx = GuardContext::default();
    if let Some(user) = user {
        if let Some(role_id) = &user.role_id {
            let role = state.store().role(role_id).await?.ok_or_else(|| ApiError::internal(format!("role {role_id} missing")))?;
            policy = serde_json::from_value(role.policy).map_err(|e| ApiError::internal(format!("role {role_id} policy: {e}")))?;
        }
        if let serde_json::Value::Object(params) = &user.scope_params {
            ctx.params = params.clone().into_iter().collect();
        }
    }
    Ok((policy, ctx))
}

/// The connection for a question: a saved one of the user's, or the server's default database.
pub async fn connection_for(state: &AppState, user: Option<&UserRow>, connection_id: Option<&str>) -> Result<Arc<dyn Connection>, ApiError> {
    Ok(keyed_connection_for(state, user, connection_id).await?.1)
}

/// Like [`connection_for`], with the URL it was opened from (a cache key; never shown).
pub async fn keyed_connection_for(
    state: &AppState,
    user: Option<&UserRow>,
    connection_id: Option<&str>,
) -> Result<(String, Arc<dyn Connection>), ApiError> {
    match (user, connection_id) {
        (Some(user), Some(id)) => {
            let c = state.store().connection(&user.id, id).await?.ok_or_else(|| ApiError::not_found("connection"))?;
            let url = open_connection_url(state, &c)?;
            let conn = state.connection(&url).await?;
            Ok((url, conn))
        }
        (None, Some(_)) => Err(ApiError::unauthorized("saved connections need a signed-in user")),
        (_, None) => {
            let url = state.default_db().ok_or_else(|| {
                ApiError::bad_request("no database: choose one of your connections or start the server with a default database")
            })?;
            Ok((url.to_string(), state.connection(url).await?))
        }
    }
}

/// An assistant and request for a user's question.
///
/// Assistants are reused (they cache the introspected schema) for the same connection, guard
/// policy and LLM settings; who asks and their scope parameters travel in the request.
pub async fn assistant_for(
    state: &AppState,
    user: Option<&UserRow>,
    conn_key: &str,
    conn: Arc<dyn Connection>,
    question: String,
    model: Option<String>,
) -> Result<(Assistant, AskRequest), ApiError> {
    let (policy, context) = policy_for(state, user).await?;
    let policy_json = serde_json::to_string(&policy).map_err(ApiError::internal)?;
    let own_llm = user.and_then(|u| u.llm_config_sealed.as_deref());
    // A registry model has its own endpoint and key (unless the user brings their own LLM);
    // any other name is asked of the default endpoint.
    let registry_llm = match (own_llm, model.as_deref()) {
        (None, Some(name)) => state.registry_provider(name).transpose()?.map(|p| (name.to_string(), p)),
        _ => None,
    };
    let llm_key = match &registry_llm {
        Some((name, _)) => format!("model:{name}"),
        None => own_llm.unwrap_or("server").to_string(),
    };
    let key = cache_key(&[conn_key, &policy_json, &llm_key]);
    let assistant = match state.cached_assistant(&key) {
        Some(a) => a,
        None => {
            let llm = match &registry_llm {
                Some((_, provider)) => provider.clone(),
                None => llm_for(state, user)?,
            };
            let mut builder =
                Assistant::builder(llm, conn).config(state.assistant_config().clone()).policy(policy).audit_sink(state.store_audit());
            if let Some(extra) = state.extra_audit() {
                builder = builder.audit_sink(extra);
            }
            let a = builder.build();
            state.cache_assistant(key, a.clone());
            a
        }
    };
    // The registry's provider already asks for its own model id.
    let model = if registry_llm.is_some() { None } else { model };
    // The audit trail records the user id, so admins can filter by it.
    let request = AskRequest { question, model, user: user.map(|u| u.id.clone()), context, ..Default::default() };
    Ok((assistant, request))
}

/// A digest of the parts, so cache keys never hold URLs or sealed values in clear.
fn cache_key(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
