//! Shared server state: the default LLM, cached database connections, limits.

use aigis_core::AuditSink;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aigis_core::{Assistant, AssistantConfig, Connection, LlmProvider, ProviderConfig};

use super::ServeOptions;
use super::auth::throttle::Throttle;
use super::config::Settings;
use super::seal::Sealer;
use super::store::Store;
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
    /// Models users may pick for a thread.
    models: Vec<String>,
    /// A hash verified against when the user does not exist, so both cases take as long.
    dummy_hash: String,
    /// An extra audit trail from `AIGIS_AUDIT` (`jsonl:PATH` or a database URL), beside the app store's.
    audit: Option<Arc<dyn AuditSink>>,
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
        let cors_origins = match &options.cors_origins {
            Some(o) => o.clone(),
            None => std::env::var("AIGIS_CORS_ORIGINS")
                .map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
                .unwrap_or_default(),
        };
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
        let extra = options.models.clone().unwrap_or_else(|| {
            std::env::var("AIGIS_LLM_MODELS").map(|v| v.split(',').map(|m| m.trim().to_string()).collect()).unwrap_or_default()
        });
        for m in llm_config.fallback_models.iter().chain(extra.iter()) {
            if !m.is_empty() && !models.contains(m) {
                models.push(m.clone());
            }
        }
        let audit = match std::env::var("AIGIS_AUDIT") {
            Ok(spec) if !spec.trim().is_empty() => {
                Some(aigis_core::audit::from_spec(spec.trim()).map_err(|e| anyhow::anyhow!("AIGIS_AUDIT: {e}"))? as Arc<dyn AuditSink>)
            }
            _ => None,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                audit,
                models,
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

    /// Models users may pick for a thread (the default first).
    pub fn models(&self) -> &[String] {
        &self.inner.models
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

fn build_llm(config: &ProviderConfig) -> Result<Arc<dyn LlmProvider>, String> {
    if config.base_url.is_none() && config.api_key.is_none() {
        return Err(LLM_NOT_CONFIGURED.to_string());
    }
    config.build().map_err(|e| format!("the LLM configuration is not usable ({}); {LLM_NOT_CONFIGURED}", e.code()))
}
