//! Sealing secrets (connection URLs with passwords, users' LLM keys) with the master key.
//!
//! AES-256-GCM with a random nonce; the purpose and owner are bound as associated data, so a
//! sealed value copied onto another user's row does not open. Stored as `v1:<base64(nonce|ct)>`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;

/// Seals and opens secrets with the server's master key.
#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// A sealer over a 32-byte key given as base64.
    pub fn from_base64(key: &str) -> anyhow::Result<Self> {
        let bytes = STANDARD.decode(key.trim()).map_err(|_| anyhow::anyhow!("AIGIS_MASTER_KEY is not valid base64"))?;
        Self::from_bytes(&bytes)
    }

    /// A sealer over a 32-byte key.
    pub fn from_bytes(key: &[u8]) -> anyhow::Result<Self> {
        let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| anyhow::anyhow!("AIGIS_MASTER_KEY must be 32 bytes"))?;
        Ok(Self { cipher })
    }

    /// A sealer over a fresh random key (development only: sealed values die with the process).
    pub fn ephemeral() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self { cipher: Aes256Gcm::new((&key).into()) }
    }

    /// Seals `plaintext` for a purpose (e.g. `connection:<user id>`).
    pub fn seal(&self, purpose: &str, plaintext: &str) -> Result<String, SealError> {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext.as_bytes(), aad: purpose.as_bytes() })
            .map_err(|_| SealError)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(format!("v1:{}", STANDARD.encode(out)))
    }

    /// Opens a sealed value for the same purpose.
    pub fn open(&self, purpose: &str, sealed: &str) -> Result<String, SealError> {
        let raw = sealed.strip_prefix("v1:").and_then(|b| STANDARD.decode(b).ok()).ok_or(SealError)?;
        if raw.len() < 12 {
            return Err(SealError);
        }
        let (nonce, ct) = raw.split_at(12);
        let pt = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: purpose.as_bytes() })
            .map_err(|_| SealError)?;
        String::from_utf8(pt).map_err(|_| SealError)
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

    #[test]
    fn round_trips_and_binds_the_purpose() {
        let s = Sealer::ephemeral();
        let sealed = s.seal("connection:u1", "postgres://a:s3cret-Pa55@h/db").unwrap();
        assert!(!sealed.contains("s3cret"));
        assert_eq!(s.open("connection:u1", &sealed).unwrap(), "postgres://a:s3cret-Pa55@h/db");
        assert!(s.open("connection:u2", &sealed).is_err());
        assert!(Sealer::ephemeral().open("connection:u1", &sealed).is_err());
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(Sealer::from_base64("not base64!").is_err());
        assert!(Sealer::from_base64(&STANDARD.encode([1u8; 16])).is_err());
        assert!(Sealer::from_base64(&STANDARD.encode([1u8; 32])).is_ok());
    }
}
