//! Provider configuration from environment variables, and building a provider from a
//! [`ProviderConfig`].
//!
//! | Variable | Meaning |
//! |---|---|
//! | `AIGIS_LLM_PROVIDER` | `openai` (default, any OpenAI-compatible server), `anthropic` or `gemini` |
//! | `AIGIS_LLM_BASE_URL` | Base URL of the API (wins over every preset below) |
//! | `AIGIS_LLM_MODEL` | Default model id |
//! | `AIGIS_LLM_API_KEY` | API key (wins over the provider-specific keys) |
//! | `AIGIS_LLM_FALLBACK_MODELS` | Comma-separated models tried in order on retryable errors |
//! | `OPENAI_API_KEY`, `OPENAI_BASE_URL` | OpenAI (or any compatible server) |
//! | `ANTHROPIC_API_KEY` | Anthropic (with `AIGIS_LLM_PROVIDER=anthropic`) |
//! | `GEMINI_API_KEY` / `GOOGLE_API_KEY` | Gemini (with `AIGIS_LLM_PROVIDER=gemini`) |
//! | `DEEPSEEK_API_KEY` | DeepSeek (`https://api.deepseek.com/v1`, model `deepseek-chat`) |
//! | `OPENROUTER_API_KEY` | OpenRouter (`https://openrouter.ai/api/v1`) |
//! | `LM_STUDIO_ENDPOINT` | LM Studio server, e.g. `http://localhost:1234` (`/v1` is added) |
//! | `OLLAMA_HOST` | Ollama, e.g. `127.0.0.1:11434` (its OpenAI-compatible `/v1` is used) |
//!
//! With `AIGIS_LLM_PROVIDER=openai` and no `AIGIS_LLM_BASE_URL`, the first configured of OpenAI,
//! DeepSeek, OpenRouter, LM Studio, Ollama is used.

use std::sync::Arc;
use std::time::Duration;

use super::fallback::FallbackProvider;
use super::resilience::{ResilienceConfig, ResilientProvider};
use super::{AnthropicProvider, GeminiProvider, LlmProvider, OpenAiProvider, ProviderConfig, ProviderKind};
use crate::{Error, Result};

/// Default models per provider when none is configured.
pub const DEFAULT_OPENAI_MODEL: &str = "gpt-4o-mini";
/// Default Anthropic model.
pub const DEFAULT_ANTHROPIC_MODEL: &str = "claude-sonnet-4-5";
/// Default Gemini model.
pub const DEFAULT_GEMINI_MODEL: &str = "gemini-2.5-flash";

/// DeepSeek's OpenAI-compatible endpoint.
pub const DEEPSEEK_BASE_URL: &str = "https://api.deepseek.com/v1";
/// OpenRouter's OpenAI-compatible endpoint.
pub const OPENROUTER_BASE_URL: &str = "https://openrouter.ai/api/v1";

/// What to tell a user who configured nothing.
const HOW_TO_CONFIGURE: &str = "no LLM configured: set AIGIS_LLM_BASE_URL (and AIGIS_LLM_MODEL, AIGIS_LLM_API_KEY) \
     for any OpenAI-compatible server, or one of OPENAI_API_KEY, DEEPSEEK_API_KEY, OPENROUTER_API_KEY, \
     LM_STUDIO_ENDPOINT, OLLAMA_HOST; or AIGIS_LLM_PROVIDER=anthropic with ANTHROPIC_API_KEY, or \
     AIGIS_LLM_PROVIDER=gemini with GEMINI_API_KEY";

/// Reads the configuration through `get` (a variable lookup; blank values count as unset).
pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<ProviderConfig> {
    let var = |k: &str| get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let kind = match var("AIGIS_LLM_PROVIDER").map(|p| p.to_ascii_lowercase()).as_deref() {
        None | Some("openai") => ProviderKind::Openai,
        Some("anthropic") => ProviderKind::Anthropic,
        Some("gemini") | Some("google") => ProviderKind::Gemini,
        Some(other) => {
            return Err(Error::Config(format!(
                "AIGIS_LLM_PROVIDER={other} is not known; use openai, anthropic or gemini"
            )));
        }
    };
    let fallback_models = var("AIGIS_LLM_FALLBACK_MODELS")
        .map(|v| v.split(',').map(str::trim).filter(|m| !m.is_empty()).map(str::to_string).collect())
        .unwrap_or_default();
    let explicit_key = var("AIGIS_LLM_API_KEY");
    let explicit_base = var("AIGIS_LLM_BASE_URL");
    let (base_url, api_key, preset_model) = match kind {
        ProviderKind::Anthropic => (explicit_base, explicit_key.or_else(|| var("ANTHROPIC_API_KEY")), None),
        ProviderKind::Gemini => {
            (explicit_base, explicit_key.or_else(|| var("GEMINI_API_KEY")).or_else(|| var("GOOGLE_API_KEY")), None)
        }
        ProviderKind::Openai if explicit_base.is_some() => {
            (explicit_base, explicit_key.or_else(|| var("OPENAI_API_KEY")), None)
        }
        ProviderKind::Openai => openai_preset(&var, explicit_key),
    };
    Ok(ProviderConfig { kind, base_url, model: var("AIGIS_LLM_MODEL").or(preset_model), api_key, fallback_models })
}

/// The first configured OpenAI-compatible service: (base URL, key, default model).
fn openai_preset(
    var: &impl Fn(&str) -> Option<String>,
    explicit_key: Option<String>,
) -> (Option<String>, Option<String>, Option<String>) {
    if var("OPENAI_BASE_URL").is_some() || var("OPENAI_API_KEY").is_some() {
        return (var("OPENAI_BASE_URL"), explicit_key.or_else(|| var("OPENAI_API_KEY")), None);
    }
    if let Some(key) = var("DEEPSEEK_API_KEY") {
        return (Some(DEEPSEEK_BASE_URL.into()), Some(explicit_key.unwrap_or(key)), Some("deepseek-chat".into()));
    }
    if let Some(key) = var("OPENROUTER_API_KEY") {
        return (Some(OPENROUTER_BASE_URL.into()), Some(explicit_key.unwrap_or(key)), None);
    }
    if let Some(endpoint) = var("LM_STUDIO_ENDPOINT") {
        return (Some(local_v1_url(&endpoint, 1234)), explicit_key, None);
    }
    if let Some(host) = var("OLLAMA_HOST") {
        return (Some(local_v1_url(&host, 11434)), explicit_key, None);
    }
    (None, explicit_key, None)
}

/// `host`, `host:port` or a URL → a base URL ending in `/v1` (a bind-all address means this machine).
pub(crate) fn local_v1_url(value: &str, default_port: u16) -> String {
    let value = value.trim().trim_end_matches('/');
    let (scheme, rest, had_scheme) = match value.split_once("://") {
        Some((s, r)) => (s.to_string(), r.to_string(), true),
        None => ("http".to_string(), value.to_string(), false),
    };
    let (authority, path) = match rest.split_once('/') {
        Some((a, p)) => (a.to_string(), format!("/{p}")),
        None => (rest.clone(), String::new()),
    };
    let authority = authority.replacen("0.0.0.0", "127.0.0.1", 1);
    // A full URL keeps its scheme's port; a bare host gets the server's usual port.
    let authority =
        if authority.contains(':') || had_scheme { authority } else { format!("{authority}:{default_port}") };
    let path = if path.ends_with("/v1") { path } else { format!("{path}/v1") };
    format!("{scheme}://{authority}{path}")
}

/// Builds the bare provider described by `config` (no retries, no fallbacks).
pub fn build_raw(config: &ProviderConfig, connect_timeout: Duration) -> Result<Arc<dyn LlmProvider>> {
    let key = config.api_key.clone();
    let client = super::http::client(connect_timeout)?;
    let base = |default: &str, needs: &str| match (&config.base_url, &key) {
        (Some(base), _) => Ok(base.clone()),
        (None, Some(_)) => Ok(default.to_string()),
        (None, None) => Err(Error::Config(needs.to_string())),
    };
    let model = |default: &str| config.model.clone().unwrap_or_else(|| default.to_string());
    Ok(match config.kind {
        ProviderKind::Openai => {
            let base = base(super::openai::DEFAULT_BASE_URL, HOW_TO_CONFIGURE)?;
            let provider = OpenAiProvider::new(base.clone(), model(DEFAULT_OPENAI_MODEL))?;
            Arc::new(provider.with_client(client).with_api_key(key).with_name(openai_name(&base)))
        }
        ProviderKind::Anthropic => {
            let base = base(super::anthropic::DEFAULT_BASE_URL, "set ANTHROPIC_API_KEY (or AIGIS_LLM_API_KEY)")?;
            Arc::new(
                AnthropicProvider::new(base, model(DEFAULT_ANTHROPIC_MODEL))?.with_client(client).with_api_key(key),
            )
        }
        ProviderKind::Gemini => {
            let needs = "set GEMINI_API_KEY or GOOGLE_API_KEY (or AIGIS_LLM_API_KEY)";
            let base = base(super::gemini::DEFAULT_BASE_URL, needs)?;
            Arc::new(GeminiProvider::new(base, model(DEFAULT_GEMINI_MODEL))?.with_client(client).with_api_key(key))
        }
    })
}

/// A short name for an OpenAI-compatible service, from its host.
fn openai_name(base_url: &str) -> &'static str {
    if base_url.contains("deepseek.com") {
        "deepseek"
    } else if base_url.contains("openrouter.ai") {
        "openrouter"
    } else {
        "openai"
    }
}

/// Builds the provider described by `config`: retries and timeouts from `resilience`, and the
/// fallback chain when `fallback_models` is set.
pub fn build_with(config: &ProviderConfig, resilience: &ResilienceConfig) -> Result<Arc<dyn LlmProvider>> {
    let raw = build_raw(config, Duration::from_millis(resilience.connect_timeout_ms))?;
    let resilient: Arc<dyn LlmProvider> = Arc::new(ResilientProvider::new(raw, resilience.clone()));
    if config.fallback_models.is_empty() {
        return Ok(resilient);
    }
    let primary = resilient.default_model().to_string();
    Ok(Arc::new(FallbackProvider::models(resilient, primary, &config.fallback_models)?))
}

/// [`build_with`] with the default [`ResilienceConfig`].
pub fn build(config: &ProviderConfig) -> Result<Arc<dyn LlmProvider>> {
    build_with(config, &ResilienceConfig::default())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn cfg(vars: &[(&str, &str)]) -> ProviderConfig {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        from_vars(|k| map.get(k).cloned()).unwrap()
    }

    #[test]
    fn explicit_variables_win() {
        let c = cfg(&[
            ("AIGIS_LLM_BASE_URL", "http://h/v1"),
            ("AIGIS_LLM_MODEL", "m"),
            ("AIGIS_LLM_API_KEY", "k1"),
            ("OPENAI_API_KEY", "k2"),
            ("AIGIS_LLM_FALLBACK_MODELS", "a, b,,c "),
        ]);
        assert_eq!(c.base_url.as_deref(), Some("http://h/v1"));
        assert_eq!(c.api_key.as_deref(), Some("k1"));
        assert_eq!(c.fallback_models, vec!["a", "b", "c"]);
    }

    #[test]
    fn presets_in_order() {
        let c = cfg(&[("DEEPSEEK_API_KEY", "d"), ("OLLAMA_HOST", "0.0.0.0")]);
        assert_eq!(c.base_url.as_deref(), Some(DEEPSEEK_BASE_URL));
        assert_eq!(c.model.as_deref(), Some("deepseek-chat"));
        let c = cfg(&[("OLLAMA_HOST", "0.0.0.0")]);
        assert_eq!(c.base_url.as_deref(), Some("http://127.0.0.1:11434/v1"));
        let c = cfg(&[("LM_STUDIO_ENDPOINT", "http://localhost:1234/v1")]);
        assert_eq!(c.base_url.as_deref(), Some("http://localhost:1234/v1"));
        let c = cfg(&[("AIGIS_LLM_PROVIDER", "Gemini"), ("GOOGLE_API_KEY", "g")]);
        assert_eq!((c.kind, c.api_key.as_deref()), (ProviderKind::Gemini, Some("g")));
    }

    #[test]
    fn nothing_configured_says_what_to_set() {
        let err = build(&cfg(&[])).err().unwrap();
        assert!(err.to_string().contains("AIGIS_LLM_BASE_URL"), "{err}");
        let map: HashMap<String, String> = [("AIGIS_LLM_PROVIDER".to_string(), "bogus".to_string())].into();
        assert!(from_vars(|k| map.get(k).cloned()).is_err());
    }

    #[test]
    fn debug_hides_the_key() {
        let c = cfg(&[("OPENAI_API_KEY", "sk-very-secret")]);
        assert!(!format!("{c:?}").contains("sk-very-secret"));
    }
}
