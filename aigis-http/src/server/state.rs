//! Shared server state: the default LLM, cached database connections, limits.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use aigis_core::AuditSink;
use aigis_core::audit::{BufferOptions, BufferedSink};
use aigis_core::provider::ModelRegistry;

use aigis_core::{Assistant, AssistantConfig, Connection, LlmProvider, ProviderConfig};

use super::ServeOptions;
use super::auth::throttle::Throttle;
use super::config::{Settings, env, env_list};
use super::net::TrustedNet;
use super::seal::Sealer;
use super::store::Store;
use super::store::audit::StoreAuditSink;
use crate::error::ApiError;

/// Connections kept open at most; past this the cache is emptied (connections are cheap to reopen).
const MAX_CACHED_CONNECTIONS: usize = 256;

/// What every handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    llm: Result<Arc<dyn LlmProvider>, String>,
    default_db: Option<String>,
    connections: Mutex<HashMap<String, Arc<dyn Connection>>>,
    assistants: Mutex<HashMap<String, Assistant>>,
    assistant_config: AssistantConfig,
    body_limit: usize,
    cors_origins: Vec<String>,
    store: Store,
    settings: Settings,
    throttle: Throttle,
    /// Models served by the default LLM's endpoint that users may pick for a thread.
    models: Vec<String>,
    /// Named models with endpoints and keys of their own.
    registry: ModelRegistry,
    /// Proxies whose `X-Forwarded-For` is believed.
    trusted_proxies: Vec<TrustedNet>,
    /// A hash verified against when the user does not exist, so both cases take as long.
    dummy_hash: String,
    /// An extra audit trail from `AIGIS_AUDIT` (`jsonl:PATH` or a database URL), beside the app store's.
    audit: Option<Arc<dyn AuditSink>>,
    /// The app store's audit trail, written off the answer path by a background task.
    store_audit: Arc<BufferedSink>,
}

/// The message given when no LLM is configured.
pub const LLM_NOT_CONFIGURED: &str = "no LLM is configured: set AIGIS_LLM_BASE_URL (or OPENAI_BASE_URL), \
AIGIS_LLM_MODEL and AIGIS_LLM_API_KEY (or OPENAI_API_KEY), then restart the server";

impl AppState {
    /// Builds the state from options, reading the environment for what they leave unset.
    pub async fn new(options: &ServeOptions) -> anyhow::Result<Self> {
        let llm_config = match &options.llm {
            Some(c) => c.clone(),
            None => ProviderConfig::from_env()?,
        };
        let cors_origins = options.cors_origins.clone().unwrap_or_else(|| env_list("AIGIS_CORS_ORIGINS"));
        let settings = Settings::resolve(options)?;
        let store = Store::open(&settings.store_url).await?;
        let admin = &settings.admin;
        let admin_hash = super::auth::password::hash(admin.password.clone()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let reset = admin.explicit.then_some(admin_hash.as_str());
        store.bootstrap_admin(&admin.username, &admin_hash, reset).await?;
        let llm = build_llm(&llm_config);
        let mut models: Vec<String> = Vec::new();
        if let Ok(p) = &llm {
            models.push(p.default_model().to_string());
        }
        let extra = options.models.clone().unwrap_or_else(|| env_list("AIGIS_LLM_MODELS"));
        for m in llm_config.fallback_models.iter().chain(extra.iter()) {
            if !m.is_empty() && !models.contains(m) {
                models.push(m.clone());
            }
        }
        let registry = match &options.model_registry {
            Some(r) => r.clone(),
            None => registry_from_env()?,
        };
        let trusted_proxies = options.trusted_proxies.clone().unwrap_or_else(|| env_list("AIGIS_TRUSTED_PROXIES"));
        let trusted_proxies =
            trusted_proxies.iter().map(|t| t.parse()).collect::<Result<Vec<TrustedNet>, _>>().map_err(|e| anyhow::anyhow!("AIGIS_TRUSTED_PROXIES: {e}"))?;
        let audit = match std::env::var("AIGIS_AUDIT") {
            Ok(spec) if !spec.trim().is_empty() => {
                Some(aigis_core::audit::from_spec(spec.trim()).map_err(|e| anyhow::anyhow!("AIGIS_AUDIT: {e}"))? as Arc<dyn AuditSink>)
            }
            _ => None,
        };
        // Large batches: under load, fewer transactions keep the app store's one writer (which
        // also saves every answered message) freer than short ones (measured with the load test).
        let audit_options = BufferOptions { max_batch: 256, ..BufferOptions::default() };
        let store_audit = Arc::new(BufferedSink::spawn(Arc::new(StoreAuditSink { store: store.clone() }), audit_options)?);
        Ok(Self {
            inner: Arc::new(Inner {
                audit,
                store_audit,
                models,
                registry,
                trusted_proxies,
                store,
                settings,
                throttle: Throttle::new(options.login_window, options.login_max_per_user, options.login_max_per_addr),
                dummy_hash: admin_hash,
                llm,
                default_db: options.default_db.clone(),
                connections: Mutex::new(HashMap::new()),
                assistants: Mutex::new(HashMap::new()),
                assistant_config: AssistantConfig::default(),
                body_limit: options.body_limit,
                cors_origins,
            }),
        })
    }

    /// Models users may pick for a thread (the default first), each with whether it can answer
    /// now: those of the default endpoint when it is configured (or the user brings a key), and
    /// the registry's when what they need is set.
    pub fn model_availability(&self, has_own_key: bool) -> BTreeMap<String, bool> {
        let mut map = self.inner.registry.availability();
        let simple = self.llm_available() || has_own_key;
        for m in &self.inner.models {
            map.insert(m.clone(), simple);
        }
        map
    }

    /// The name a thread stores for a requested model: a registry entry's own name (aliases
    /// resolved), or a model of the default endpoint. With their own key a user may name any
    /// model of their provider.
    pub fn choose_model(&self, requested: &str, has_own_key: bool) -> Result<String, ApiError> {
        if let Ok(entry) = self.inner.registry.resolve(requested) {
            return match self.inner.registry.config(&entry.name) {
                Ok(_) => Ok(entry.name.clone()),
                Err(e) => Err(model_unavailable(axum::http::StatusCode::BAD_REQUEST, &entry.name, &e)),
            };
        }
        if self.inner.models.iter().any(|m| m == requested) || has_own_key {
            return Ok(requested.to_string());
        }
        let names: Vec<String> = self.model_availability(false).into_keys().collect();
        Err(ApiError::bad_request(format!(
            "unknown model `{}`; available: {}",
            requested.chars().take(80).collect::<String>(),
            names.join(", ")
        )))
    }

    /// The provider of a registry model, `None` for models of the default endpoint.
    pub fn registry_provider(&self, model: &str) -> Option<Result<Arc<dyn LlmProvider>, ApiError>> {
        let entry = self.inner.registry.resolve(model).ok()?;
        Some(
            self.inner
                .registry
                .provider(Some(&entry.name))
                .map_err(|e| model_unavailable(axum::http::StatusCode::SERVICE_UNAVAILABLE, &entry.name, &e)),
        )
    }

    /// The client's address: the peer, or, when the peer is a trusted proxy, the last address
    /// in `X-Forwarded-For` that is not itself a trusted proxy.
    pub fn client_ip(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> Option<IpAddr> {
        let peer = peer?;
        let trusted = |ip: &IpAddr| self.inner.trusted_proxies.iter().any(|n| n.contains(ip));
        if !trusted(&peer) {
            return Some(peer);
        }
        let hops = forwarded_for.unwrap_or_default().split(',').rev().map(str::trim);
        for hop in hops {
            match hop.parse::<IpAddr>() {
                Ok(ip) if trusted(&ip) => continue,
                Ok(ip) => return Some(ip),
                // A malformed hop: nothing before it can be believed.
                Err(_) => return Some(peer),
            }
        }
        Some(peer)
    }

    /// The app store's audit trail (buffered: recording never waits for the store).
    pub fn store_audit(&self) -> Arc<dyn AuditSink> {
        self.inner.store_audit.clone()
    }

    /// Waits (at most `limit`) until every audit event recorded so far is written, so a reader
    /// of the trail sees what happened before it asked.
    pub async fn flush_audit(&self, limit: std::time::Duration) {
        let all = async {
            let _ = self.inner.store_audit.flush().await;
            if let Some(extra) = &self.inner.audit {
                let _ = extra.flush().await;
            }
        };
        if tokio::time::timeout(limit, all).await.is_err() {
            tracing::warn!(pending = self.inner.store_audit.pending(), "audit events still unwritten after {limit:?}");
        }
    }

    /// The audit trail configured with `AIGIS_AUDIT`, if any.
    pub fn extra_audit(&self) -> Option<Arc<dyn AuditSink>> {
        self.inner.audit.clone()
    }

    /// The app store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Resolved settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The master-key sealer.
    pub fn sealer(&self) -> &Sealer {
        &self.inner.settings.sealer
    }

    /// Login throttle.
    pub fn throttle(&self) -> &Throttle {
        &self.inner.throttle
    }

    /// A valid argon2id hash of nothing anyone knows.
    pub fn dummy_hash(&self) -> &str {
        &self.inner.dummy_hash
    }

    /// The server's default LLM, or a 503 saying what to configure.
    pub fn llm(&self) -> Result<Arc<dyn LlmProvider>, ApiError> {
        self.inner.llm.clone().map_err(|why| {
            ApiError::new(axum::http::StatusCode::SERVICE_UNAVAILABLE, "llm_not_configured", why)
        })
    }

    /// Whether a default LLM is configured.
    pub fn llm_available(&self) -> bool {
        self.inner.llm.is_ok()
    }

    /// The default model name, when an LLM is configured.
    pub fn default_model(&self) -> Option<String> {
        self.inner.llm.as_ref().ok().map(|p| p.default_model().to_string())
    }

    /// The database URL used when a request names none.
    pub fn default_db(&self) -> Option<&str> {
        self.inner.default_db.as_deref()
    }

    /// Engine settings for questions.
    pub fn assistant_config(&self) -> &AssistantConfig {
        &self.inner.assistant_config
    }

    /// Largest request body.
    pub fn body_limit(&self) -> usize {
        self.inner.body_limit
    }

    /// CORS origins allowed.
    pub fn cors_origins(&self) -> &[String] {
        &self.inner.cors_origins
    }

    /// An open connection to `url`, reused across requests.
    pub async fn connection(&self, url: &str) -> Result<Arc<dyn Connection>, ApiError> {
        if let Some(c) = self.lock_connections().get(url) {
            return Ok(c.clone());
        }
        let conn = aigis_core::connect(url).await?;
        let mut cache = self.lock_connections();
        if cache.len() >= MAX_CACHED_CONNECTIONS {
            cache.clear();
        }
        Ok(cache.entry(url.to_string()).or_insert(conn).clone())
    }

    /// Closes a cached connection (after its settings changed or it was deleted).
    pub fn forget_connection(&self, url: &str) {
        self.lock_connections().remove(url);
        // Assistants hold their connection: drop them all rather than track which.
        self.inner.assistants.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// A reusable assistant under this key.
    pub fn cached_assistant(&self, key: &str) -> Option<Assistant> {
        self.inner.assistants.lock().unwrap_or_else(|e| e.into_inner()).get(key).cloned()
    }

    /// Keeps an assistant for reuse.
    pub fn cache_assistant(&self, key: String, assistant: Assistant) {
        let mut cache = self.inner.assistants.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_CACHED_CONNECTIONS {
            cache.clear();
        }
        cache.insert(key, assistant);
    }

    fn lock_connections(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<dyn Connection>>> {
        // A panic while holding this lock cannot leave the map inconsistent: recover it.
        self.inner.connections.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A registry model that cannot answer now, saying what it needs: 400 when choosing it, 503
/// when asking it.
fn model_unavailable(status: axum::http::StatusCode, name: &str, e: &aigis_core::Error) -> ApiError {
    ApiError::new(status, "model_unavailable", format!("model `{name}` is not available now: {}", e.user_message()))
}

/// The registry in the file `AIGIS_MODELS_FILE` names, else an empty one.
fn registry_from_env() -> anyhow::Result<ModelRegistry> {
    let mut registry = ModelRegistry::empty();
    if let Some(path) = env("AIGIS_MODELS_FILE") {
        let text = std::fs::read_to_string(path.trim()).map_err(|e| anyhow::anyhow!("AIGIS_MODELS_FILE {path}: {e}"))?;
        registry.load_toml(&text).map_err(|e| anyhow::anyhow!("AIGIS_MODELS_FILE {path}: {e}"))?;
    }
    Ok(registry)
}

fn build_llm(config: &ProviderConfig) -> Result<Arc<dyn LlmProvider>, String> {
    if config.base_url.is_none() && config.api_key.is_none() {
        return Err(LLM_NOT_CONFIGURED.to_string());
    }
    config.build().map_err(|e| format!("the LLM configuration is not usable ({}); {LLM_NOT_CONFIGURED}", e.code()))
}
