//! The model registry: named models users pick per request, with aliases and availability.
//!
//! Each [`ModelEntry`] says which API serves a model, its id there, where the base URL and the
//! key come from (an environment variable, or a sealed secret opened by a [`SecretOpener`]),
//! its context window and aliases. A model is *available* when what it needs is configured;
//! [`ModelRegistry::availability`] is the map a UI shows (seed 001). Entries load from the
//! `[models]` table of `aigis.toml`:
//!
//! ```toml
//! [models.qwen3-8b]
//! provider = "openai"              # openai | anthropic | gemini
//! model = "qwen/qwen3-8b"          # id sent to the API (default: the entry name)
//! base_url_env = "LM_STUDIO_ENDPOINT"
//! aliases = ["qwen"]
//! context_window = 32768
//!
//! [models.claude]
//! provider = "anthropic"
//! model = "claude-sonnet-4-5"
//! api_key_sealed = "…"             # or api_key_env = "ANTHROPIC_API_KEY" (a list is fine too)
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::env::{build_with, local_v1_url};
use super::{LlmProvider, ProviderConfig, ProviderKind, ResilienceConfig};
use crate::{Error, LlmErrorKind, Result};

/// Opens a sealed API key (the secret box lives elsewhere; the registry only needs this).
pub trait SecretOpener: Send + Sync {
    /// The plain key sealed in `sealed`.
    fn open(&self, sealed: &str) -> Result<String>;
}

impl<F> SecretOpener for F
where
    F: Fn(&str) -> Result<String> + Send + Sync,
{
    fn open(&self, sealed: &str) -> Result<String> {
        self(sealed)
    }
}

/// One named model.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelEntry {
    /// The name users pick (the table key in `aigis.toml`).
    #[serde(skip_deserializing)]
    pub name: String,
    /// Which API.
    pub provider: ProviderKind,
    /// Model id sent to the API; empty means the entry name.
    pub model: String,
    /// Fixed base URL (default: the provider's public endpoint).
    pub base_url: Option<String>,
    /// Variable holding the base URL (e.g. `LM_STUDIO_ENDPOINT`); the model is unavailable while
    /// it is unset. A bare host or a URL without `/v1` is completed for OpenAI-compatible servers.
    pub base_url_env: Option<String>,
    /// Variables holding the key, first set wins.
    #[serde(deserialize_with = "one_or_many")]
    pub api_key_env: Vec<String>,
    /// The key sealed by the secret box.
    pub api_key_sealed: Option<String>,
    /// Context window in tokens.
    pub context_window: Option<u32>,
    /// Other names accepted for this model.
    pub aliases: Vec<String>,
}

impl std::fmt::Debug for ModelEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelEntry")
            .field("name", &self.name)
            .field("provider", &self.provider)
            .field("model", &self.model)
            .field("base_url", &self.base_url)
            .field("base_url_env", &self.base_url_env)
            .field("api_key_env", &self.api_key_env)
            .field("api_key_sealed", &self.api_key_sealed.as_ref().map(|_| "[SEALED]"))
            .field("context_window", &self.context_window)
            .field("aliases", &self.aliases)
            .finish()
    }
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

impl ModelEntry {
    /// An entry named `name` served by `provider` under the same id.
    pub fn new(name: impl Into<String>, provider: ProviderKind) -> Self {
        Self { name: name.into(), provider, ..Self::default() }
    }

    /// Sets the API model id.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// Sets a fixed base URL.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Reads the base URL from this variable.
    pub fn base_url_env(mut self, var: impl Into<String>) -> Self {
        self.base_url_env = Some(var.into());
        self
    }

    /// Reads the key from this variable (call again for alternatives).
    pub fn api_key_env(mut self, var: impl Into<String>) -> Self {
        self.api_key_env.push(var.into());
        self
    }

    /// Uses a sealed key.
    pub fn api_key_sealed(mut self, sealed: impl Into<String>) -> Self {
        self.api_key_sealed = Some(sealed.into());
        self
    }

    /// Sets the context window.
    pub fn context_window(mut self, tokens: u32) -> Self {
        self.context_window = Some(tokens);
        self
    }

    /// Adds aliases.
    pub fn aliases<I: IntoIterator<Item = S>, S: Into<String>>(mut self, aliases: I) -> Self {
        self.aliases.extend(aliases.into_iter().map(Into::into));
        self
    }

    /// The id sent to the API.
    pub fn model_id(&self) -> &str {
        if self.model.is_empty() { &self.name } else { &self.model }
    }

    fn needs_key(&self) -> bool {
        !self.api_key_env.is_empty() || self.api_key_sealed.is_some()
    }
}

/// The models of seed 001: LM Studio's `qwen3-8b` and `gpt-oss-20b`, `deepseek-chat`,
/// `gemini-2.5-pro` and `gpt-5`, with their aliases.
pub fn seed_models() -> Vec<ModelEntry> {
    use ProviderKind::*;
    vec![
        ModelEntry::new("qwen3-8b", Openai)
            .model("qwen/qwen3-8b")
            .base_url_env("LM_STUDIO_ENDPOINT")
            .context_window(32_768)
            .aliases(["qwen"]),
        ModelEntry::new("gpt-oss-20b", Openai)
            .model("openai/gpt-oss-20b")
            .base_url_env("LM_STUDIO_ENDPOINT")
            .context_window(131_072)
            .aliases(["gpt_oss", "gpt-oss"]),
        ModelEntry::new("deepseek-chat", Openai)
            .base_url(super::env::DEEPSEEK_BASE_URL)
            .api_key_env("DEEPSEEK_API_KEY")
            .context_window(65_536)
            .aliases(["deepseek"]),
        ModelEntry::new("gemini-2.5-pro", Gemini)
            .api_key_env("GEMINI_API_KEY")
            .api_key_env("GOOGLE_API_KEY")
            .context_window(1_048_576)
            .aliases(["gemini", "gemini-pro"]),
        ModelEntry::new("gpt-5", Openai).api_key_env("OPENAI_API_KEY").context_window(400_000).aliases(["gpt5"]),
    ]
}

type Vars = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;
/// Built providers by cache key, with the configuration they were built from.
type Built = Arc<Mutex<HashMap<String, (ProviderConfig, Arc<dyn LlmProvider>)>>>;

/// Named models, their availability, and the providers that serve them.
#[derive(Clone)]
pub struct ModelRegistry {
    entries: Vec<ModelEntry>,
    default: Option<ProviderConfig>,
    vars: Vars,
    opener: Option<Arc<dyn SecretOpener>>,
    resilience: ResilienceConfig,
    built: Built,
}

impl std::fmt::Debug for ModelRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelRegistry").field("entries", &self.entries).field("default", &self.default).finish()
    }
}

impl Default for ModelRegistry {
    fn default() -> Self {
        Self::empty()
    }
}

impl ModelRegistry {
    /// No models; variables read from the process environment.
    pub fn empty() -> Self {
        Self {
            entries: Vec::new(),
            default: None,
            vars: Arc::new(|k: &str| std::env::var(k).ok()),
            opener: None,
            resilience: ResilienceConfig::default(),
            built: Arc::default(),
        }
    }

    /// The seed models ([`seed_models`]).
    pub fn seeded() -> Self {
        let mut registry = Self::empty();
        for entry in seed_models() {
            registry.add(entry);
        }
        registry
    }

    /// Reads variables through `get` instead of the process environment (tests pass a map).
    pub fn with_vars(mut self, get: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        self.vars = Arc::new(get);
        self.built = Arc::default();
        self
    }

    /// Opens sealed keys with `opener`.
    pub fn with_secret_opener(mut self, opener: impl SecretOpener + 'static) -> Self {
        self.opener = Some(Arc::new(opener));
        self
    }

    /// Timeouts and retries of the providers built.
    pub fn with_resilience(mut self, config: ResilienceConfig) -> Self {
        self.resilience = config;
        self.built = Arc::default();
        self
    }

    /// The provider used when a request names no model, or a model the registry does not know
    /// (it is then asked for that model id, e.g. any OpenRouter model).
    pub fn with_default(mut self, config: ProviderConfig) -> Self {
        self.default = Some(config);
        self
    }

    /// Adds an entry, replacing one of the same name.
    pub fn add(&mut self, entry: ModelEntry) {
        self.entries.retain(|e| !e.name.eq_ignore_ascii_case(&entry.name));
        self.entries.push(entry);
    }

    /// Adds the entries of the `[models]` table of an `aigis.toml` text (other tables are ignored).
    pub fn load_toml(&mut self, text: &str) -> Result<()> {
        #[derive(Deserialize)]
        struct File {
            #[serde(default)]
            models: BTreeMap<String, ModelEntry>,
        }
        let file: File = toml::from_str(text).map_err(|e| Error::Config(format!("aigis.toml [models]: {e}")))?;
        for (name, mut entry) in file.models {
            entry.name = name;
            self.add(entry);
        }
        Ok(())
    }

    /// The entries, in the order added.
    pub fn entries(&self) -> &[ModelEntry] {
        &self.entries
    }

    /// The entry for a name, an alias or an API model id (case-insensitive).
    pub fn resolve(&self, name_or_alias: &str) -> Result<&ModelEntry> {
        let wanted = name_or_alias.trim();
        let found = self.entries.iter().find(|e| e.name.eq_ignore_ascii_case(wanted)).or_else(|| {
            self.entries.iter().find(|e| {
                e.aliases.iter().any(|a| a.eq_ignore_ascii_case(wanted)) || e.model_id().eq_ignore_ascii_case(wanted)
            })
        });
        found.ok_or_else(|| {
            let known: Vec<&str> = self.entries.iter().map(|e| e.name.as_str()).collect();
            Error::llm(
                LlmErrorKind::UnknownModel,
                format!("unknown model '{wanted}'; known models: {}", known.join(", ")),
            )
        })
    }

    /// Whether each model can be used now (seed 001's availability map).
    pub fn availability(&self) -> BTreeMap<String, bool> {
        self.entries.iter().map(|e| (e.name.clone(), self.config_for_entry(e).is_ok())).collect()
    }

    /// The provider configuration of a model, or a `Config` error saying what to set.
    pub fn config(&self, name_or_alias: &str) -> Result<ProviderConfig> {
        self.config_for_entry(self.resolve(name_or_alias)?)
    }

    fn var(&self, k: &str) -> Option<String> {
        (self.vars)(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }

    fn config_for_entry(&self, e: &ModelEntry) -> Result<ProviderConfig> {
        let base_url = match (&e.base_url_env, &e.base_url) {
            (Some(var), _) => {
                let value = self
                    .var(var)
                    .ok_or_else(|| Error::Config(format!("model '{}' needs {var} (its server's address)", e.name)))?;
                Some(if e.provider == ProviderKind::Openai { local_v1_url(&value, 1234) } else { value })
            }
            (None, base) => base.clone(),
        };
        let api_key = match (e.api_key_env.iter().find_map(|k| self.var(k)), &e.api_key_sealed, &self.opener) {
            (Some(key), _, _) => Some(key),
            (None, Some(sealed), Some(opener)) => Some(opener.open(sealed)?),
            (None, Some(_), None) => {
                return Err(Error::Config(format!("model '{}' has a sealed key but no secret opener", e.name)));
            }
            (None, None, _) if e.needs_key() => {
                return Err(Error::Config(format!("model '{}' needs {}", e.name, e.api_key_env.join(" or "))));
            }
            (None, None, _) => None,
        };
        Ok(ProviderConfig {
            kind: e.provider,
            base_url,
            model: Some(e.model_id().to_string()),
            api_key,
            fallback_models: Vec::new(),
        })
    }

    /// The provider for a request's model: `None` uses the default; a registry name or alias
    /// uses its entry; another id goes to the default provider. Providers are built once and
    /// reused while their configuration is unchanged.
    pub fn provider(&self, model: Option<&str>) -> Result<Arc<dyn LlmProvider>> {
        let (cache_key, config) = match (model, &self.default) {
            (None, Some(default)) => ("\0default".to_string(), default.clone()),
            (None, None) => return Err(Error::Config("no model chosen and no default LLM configured".into())),
            (Some(name), default) => match (self.resolve(name), default) {
                (Ok(entry), _) => (entry.name.clone(), self.config_for_entry(entry)?),
                (Err(_), Some(default)) => {
                    (format!("\0default:{name}"), ProviderConfig { model: Some(name.to_string()), ..default.clone() })
                }
                (Err(err), None) => return Err(err),
            },
        };
        let mut built = self.built.lock().map_err(|_| Error::Internal("model registry lock poisoned".into()))?;
        if let Some((cached, provider)) = built.get(&cache_key)
            && *cached == config
        {
            return Ok(provider.clone());
        }
        let provider = build_with(&config, &self.resilience)?;
        built.insert(cache_key, (config, provider.clone()));
        Ok(provider)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn seed_aliases_resolve() {
        let r = ModelRegistry::seeded();
        for (alias, name) in [
            ("qwen", "qwen3-8b"),
            ("gpt_oss", "gpt-oss-20b"),
            ("GPT-OSS", "gpt-oss-20b"),
            ("deepseek", "deepseek-chat"),
            ("gemini", "gemini-2.5-pro"),
            ("gemini-pro", "gemini-2.5-pro"),
            ("gpt5", "gpt-5"),
            ("qwen/qwen3-8b", "qwen3-8b"),
        ] {
            assert_eq!(r.resolve(alias).unwrap().name, name, "{alias}");
        }
        assert_eq!(r.resolve("nope").unwrap_err().code(), "llm_unknown_model");
    }

    #[test]
    fn availability_follows_configured_keys() {
        let r = ModelRegistry::seeded()
            .with_vars(vars(&[("LM_STUDIO_ENDPOINT", "http://localhost:1234"), ("GOOGLE_API_KEY", "g")]));
        let a = r.availability();
        assert_eq!(a["qwen3-8b"], true);
        assert_eq!(a["gpt-oss-20b"], true);
        assert_eq!(a["gemini-2.5-pro"], true);
        assert_eq!(a["deepseek-chat"], false);
        assert_eq!(a["gpt-5"], false);
        let c = r.config("qwen").unwrap();
        assert_eq!(c.base_url.as_deref(), Some("http://localhost:1234/v1"));
        assert_eq!(c.model.as_deref(), Some("qwen/qwen3-8b"));
        assert!(r.config("gpt5").unwrap_err().to_string().contains("OPENAI_API_KEY"));
    }

    #[test]
    fn toml_entries_and_sealed_keys() {
        let mut r = ModelRegistry::seeded().with_vars(vars(&[])).with_secret_opener(|s: &str| {
            s.strip_prefix("sealed:").map(str::to_string).ok_or_else(|| Error::Secret("bad seal".into()))
        });
        r.load_toml(
            r#"
            [server]
            addr = "ignored"
            [models.claude]
            provider = "anthropic"
            model = "claude-sonnet-4-5"
            api_key_sealed = "sealed:sk-ant-123456"
            aliases = ["sonnet"]
            context_window = 200000
            [models.local]
            base_url = "http://127.0.0.1:8089/v1"
            "#,
        )
        .unwrap();
        let c = r.config("sonnet").unwrap();
        assert_eq!((c.kind, c.api_key.as_deref()), (ProviderKind::Anthropic, Some("sk-ant-123456")));
        assert!(!format!("{:?}", r.resolve("claude").unwrap()).contains("sk-ant"));
        assert_eq!(r.availability()["local"], true);
        assert!(r.load_toml("[models.x]\nprovder = \"openai\"").is_err(), "typos are reported");
    }

    #[test]
    fn providers_are_built_once_and_unknown_ids_go_to_the_default() {
        let default = ProviderConfig { base_url: Some("http://127.0.0.1:9/v1".into()), ..Default::default() };
        let r = ModelRegistry::seeded().with_vars(vars(&[("OPENAI_API_KEY", "k")])).with_default(default);
        let a = r.provider(Some("gpt5")).unwrap();
        let b = r.provider(Some("gpt-5")).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.default_model(), "gpt-5");
        assert_eq!(r.provider(Some("google/gemma-2-9b-it:free")).unwrap().default_model(), "google/gemma-2-9b-it:free");
        assert!(r.provider(Some("deepseek")).is_err(), "unavailable models say so");
    }
}
