//! Sealing secrets (connection URLs with passwords, users' LLM keys) with the master key.
//!
//! A thin wrapper over [`aigis_core::secret::SecretBox`] (AES-256-GCM, HKDF-derived key, random
//! nonces, key ids): the purpose and owner are bound as context, so a sealed value copied onto
//! another user's row does not open.

use aigis_core::secret::SecretBox;
use rand::RngCore;

/// The key id of the server's master key in sealed values.
const KEY_ID: &str = "master";

/// Seals and opens secrets with the server's master key.
#[derive(Clone)]
pub struct Sealer {
    secrets: std::sync::Arc<SecretBox>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// A sealer over a 32-byte key given as base64.
    pub fn from_base64(key: &str) -> anyhow::Result<Self> {
        let secrets = SecretBox::from_base64(KEY_ID, key.trim())
            .map_err(|_| anyhow::anyhow!("AIGIS_MASTER_KEY must be 32 bytes, base64-encoded"))?;
        Ok(Self { secrets: std::sync::Arc::new(secrets) })
    }

    /// A sealer over a 32-byte key.
    pub fn from_bytes(key: &[u8]) -> anyhow::Result<Self> {
        let key: &[u8; 32] = key.try_into().map_err(|_| anyhow::anyhow!("AIGIS_MASTER_KEY must be 32 bytes"))?;
        let secrets = SecretBox::new(KEY_ID, key).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Self { secrets: std::sync::Arc::new(secrets) })
    }

    /// A sealer over a fresh random key (development only: sealed values die with the process).
    pub fn ephemeral() -> anyhow::Result<Self> {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self::from_bytes(&key)
    }

    /// Seals `plaintext` for a purpose (e.g. `connection:<user id>`).
    pub fn seal(&self, purpose: &str, plaintext: &str) -> Result<String, SealError> {
        self.secrets.seal_for(purpose, plaintext).map_err(|_| SealError)
    }

    /// Opens a sealed value for the same purpose.
    pub fn open(&self, purpose: &str, sealed: &str) -> Result<String, SealError> {
        self.secrets.open_for(purpose, sealed).map_err(|_| SealError)
    }
}

/// A sealed value did not open (wrong key, wrong purpose, tampered).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("sealed value does not open with this master key")]
pub struct SealError;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    #[test]
    fn round_trips_and_binds_the_purpose() {
        let s = Sealer::ephemeral().unwrap();
        let sealed = s.seal("connection:u1", "postgres://a:s3cret-Pa55@h/db").unwrap();
        assert!(!sealed.contains("s3cret"));
        assert_eq!(s.open("connection:u1", &sealed).unwrap(), "postgres://a:s3cret-Pa55@h/db");
        assert!(s.open("connection:u2", &sealed).is_err());
        assert!(Sealer::ephemeral().unwrap().open("connection:u1", &sealed).is_err());
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(Sealer::from_base64("not base64!").is_err());
        assert!(Sealer::from_base64(&STANDARD.encode([1u8; 16])).is_err());
        assert!(Sealer::from_base64(&STANDARD.encode([1u8; 32])).is_ok());
    }
}
