//! Settings resolved from [`ServeOptions`] and the environment, and the start-up safety rules.
//!
//! With `AIGIS_ENV=production` the server refuses to start on a missing or well-known JWT secret,
//! a missing or default admin password, or a missing master key. In development the same
//! problems are warnings and safe stand-ins are used (a random JWT secret, an ephemeral key).

use std::time::Duration;

use base64::Engine as _;
use rand::RngCore;

use super::ServeOptions;
use super::seal::Sealer;

/// JWT secrets and passwords seen in sample configurations: never acceptable in production.
const WELL_KNOWN: &[&str] = &["", "admin", "admin123", "password", "secret", "change-me", "changeme", "dev", "dev-secret", "jwt-secret"];

/// The bootstrapped admin.
#[derive(Clone)]
pub struct AdminSettings {
    /// Login name.
    pub username: String,
    /// Password (the development default `admin` when unset).
    pub password: String,
    /// Whether the password came from the configuration (then it overrides the stored one).
    pub explicit: bool,
}

/// Everything the server needs to know, resolved once at start.
pub struct Settings {
    /// `AIGIS_ENV=production`.
    pub production: bool,
    /// App store URL.
    pub store_url: String,
    /// HMAC key for tokens.
    pub jwt_secret: Vec<u8>,
    /// Token lifetime.
    pub token_ttl: Duration,
    /// Sealer over the master key.
    pub sealer: Sealer,
    /// The admin to bootstrap.
    pub admin: AdminSettings,
    /// Whether `POST /v1/auth/register` is open.
    pub allow_registration: bool,
    /// Whether questions without a token are answered (loopback development servers only).
    pub allow_anonymous: bool,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings").field("production", &self.production).finish_non_exhaustive()
    }
}

/// A variable's value, `None` when unset or blank.
pub(crate) fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

/// A comma-separated variable as its non-empty, trimmed items (none when unset).
pub(crate) fn env_list(key: &str) -> Vec<String> {
    env(key).map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()).unwrap_or_default()
}

fn env_bool(key: &str) -> Option<bool> {
    env(key).map(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
}

impl Settings {
    /// Resolves settings; in production, any unsafe default is an error listing every problem.
    pub fn resolve(o: &ServeOptions) -> anyhow::Result<Self> {
        let production = o.production.unwrap_or_else(|| env("AIGIS_ENV").is_some_and(|v| v.eq_ignore_ascii_case("production")));
        let mut problems = Vec::new();

        let jwt = o.jwt_secret.clone().or_else(|| env("AIGIS_JWT_SECRET"));
        let jwt_secret = match jwt {
            Some(s) if s.len() >= 32 && !WELL_KNOWN.contains(&s.to_ascii_lowercase().as_str()) => s.into_bytes(),
            other => {
                problems.push(if other.is_some() {
                    "AIGIS_JWT_SECRET is a well-known value or shorter than 32 characters"
                } else {
                    "AIGIS_JWT_SECRET is not set (tokens will not survive a restart)"
                });
                let mut key = vec![0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut key);
                key
            }
        };

        let username = o.admin_username.clone().or_else(|| env("ADMIN_USERNAME")).unwrap_or_else(|| "admin".into());
        let password = o.admin_password.clone().or_else(|| env("ADMIN_PASSWORD"));
        let explicit = password.is_some();
        if password.as_deref().is_none_or(|p| WELL_KNOWN.contains(&p.to_ascii_lowercase().as_str()) || p.len() < 8) {
            problems.push("ADMIN_PASSWORD is unset, a default, or shorter than 8 characters");
        }
        let admin = AdminSettings { username, password: password.unwrap_or_else(|| "admin".into()), explicit };

        let sealer = match o.master_key.clone().or_else(|| env("AIGIS_MASTER_KEY")) {
            Some(k) => Sealer::from_base64(&k)?,
            None => {
                problems.push("AIGIS_MASTER_KEY is not set (saved passwords and keys will not open after a restart)");
                Sealer::ephemeral()?
            }
        };

        if production && !problems.is_empty() {
            anyhow::bail!("refusing to start with AIGIS_ENV=production: {}", problems.join("; "));
        }
        for p in &problems {
            tracing::warn!("development mode: {p}");
        }

        let store_url = o.store_url.clone().or_else(|| env("AIGIS_DATABASE_URL")).unwrap_or_else(|| {
            let path = env("AIGIS_STORE_PATH").unwrap_or_else(|| "aigis-app.db".into());
            format!("sqlite://{path}")
        });
        let allow_registration = o.allow_registration.or_else(|| env_bool("AIGIS_ALLOW_REGISTRATION")).unwrap_or(true);
        let allow_anonymous = o
            .allow_anonymous
            .or_else(|| env_bool("AIGIS_ALLOW_ANONYMOUS"))
            .unwrap_or(!production && o.addr.ip().is_loopback());
        Ok(Self {
            production,
            store_url,
            jwt_secret,
            token_ttl: o.token_ttl,
            sealer,
            admin,
            allow_registration,
            allow_anonymous,
        })
    }
}

/// A fresh master key, base64 (printed by `aigis` helpers for set-up).
pub fn generate_master_key() -> String {
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    base64::engine::general_purpose::STANDARD.encode(key)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn opts() -> ServeOptions {
        let mut o = ServeOptions::new(([127, 0, 0, 1], 0).into());
        o.production = Some(true);
        o.store_url = Some("sqlite://x.db".into());
        o
    }

    #[test]
    fn production_refuses_missing_and_default_secrets() {
        let err = Settings::resolve(&opts()).unwrap_err().to_string();
        assert!(err.contains("AIGIS_JWT_SECRET") && err.contains("ADMIN_PASSWORD") && err.contains("AIGIS_MASTER_KEY"), "{err}");
        let mut o = opts();
        o.jwt_secret = Some("change-me".into());
        o.admin_password = Some("admin".into());
        o.master_key = Some(generate_master_key());
        let err = Settings::resolve(&o).unwrap_err().to_string();
        assert!(err.contains("AIGIS_JWT_SECRET") && err.contains("ADMIN_PASSWORD") && !err.contains("MASTER"), "{err}");
    }

    #[test]
    fn production_starts_with_real_secrets_and_no_anonymous_access() {
        let mut o = opts();
        o.jwt_secret = Some("x".repeat(40));
        o.admin_password = Some("a-long-admin-password".into());
        o.master_key = Some(generate_master_key());
        let s = Settings::resolve(&o).unwrap();
        assert!(s.production && !s.allow_anonymous);
    }

    #[test]
    fn development_only_warns() {
        let mut o = opts();
        o.production = Some(false);
        assert!(Settings::resolve(&o).is_ok());
    }
}
