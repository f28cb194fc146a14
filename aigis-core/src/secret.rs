//! Secrets at rest (connection passwords, LLM API keys): [`SecretBox`] seals them with
//! AES-256-GCM.
//!
//! Each key is derived with HKDF-SHA256 from a 32-byte master key and a key id, a fresh random
//! 96-bit nonce is drawn for every seal, and the sealed text names its key id, so keys can rotate:
//! a box holds the current key (used to seal) and older keys (still able to open). The sealed
//! form is one line of text, `aigis:v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`; the prefix
//! is bound to the ciphertext as associated data, so changing the key id or version fails to open.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hkdf::Hkdf;
use rand::RngCore;
use sha2::Sha256;

use crate::{Error, Result};

const VERSION: &str = "aigis:v1";
const NONCE_LEN: usize = 12;
const HKDF_SALT: &[u8] = b"aigis-secretbox-v1";

/// A new random master key, base64-encoded (store it outside the data it protects).
pub fn generate_master_key() -> String {
    let mut key = [0u8; 32];
    OsRng.fill_bytes(&mut key);
    B64.encode(key)
}

/// Decodes a base64 master key, which must be exactly 32 bytes.
pub fn master_key_from_base64(text: &str) -> Result<[u8; 32]> {
    let bytes = B64.decode(text.trim()).map_err(|_| Error::Secret("the master key is not valid base64".into()))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| Error::Secret(format!("the master key must be 32 bytes, not {}", bytes.len())))
}

struct SealingKey {
    id: String,
    cipher: Aes256Gcm,
}

/// Seals and opens secrets under a current key, opening older ones too. Never prints keys.
pub struct SecretBox {
    /// The first key seals; all of them open.
    keys: Vec<SealingKey>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretBox").field("key_ids", &self.key_ids()).finish()
    }
}

fn check_key_id(id: &str) -> Result<()> {
    let ok = !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok { Ok(()) } else { Err(Error::Secret(format!("invalid key id `{id}` (use 1-64 of A-Z a-z 0-9 - _)"))) }
}

fn derive(id: &str, master: &[u8; 32]) -> Result<SealingKey> {
    check_key_id(id)?;
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(Some(HKDF_SALT), master)
        .expand(id.as_bytes(), &mut key)
        .map_err(|_| Error::Secret("key derivation failed".into()))?;
    Ok(SealingKey { id: id.to_string(), cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key)) })
}

impl SecretBox {
    /// A box sealing with the key derived from `master` for `key_id`.
    pub fn new(key_id: &str, master: &[u8; 32]) -> Result<Self> {
        Ok(Self { keys: vec![derive(key_id, master)?] })
    }

    /// A box from a base64 master key (e.g. the `AIGIS_MASTER_KEY` environment variable).
    pub fn from_base64(key_id: &str, master_base64: &str) -> Result<Self> {
        Self::new(key_id, &master_key_from_base64(master_base64)?)
    }

    /// Adds an older key that can still open what it sealed (but no longer seals).
    pub fn with_previous_key(mut self, key_id: &str, master: &[u8; 32]) -> Result<Self> {
        if self.keys.iter().any(|k| k.id == key_id) {
            return Err(Error::Secret(format!("key id `{key_id}` is already in the box")));
        }
        self.keys.push(derive(key_id, master)?);
        Ok(self)
    }

    /// Key ids, the sealing one first.
    pub fn key_ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    /// Seals `plaintext` with the current key and a fresh random nonce.
    pub fn seal(&self, plaintext: &str) -> Result<String> {
        self.seal_for("", plaintext)
    }

    /// Seals `plaintext` bound to a context (e.g. `connection:<owner id>`): it opens only with
    /// [`SecretBox::open_for`] and the same context, so a sealed value copied elsewhere is useless.
    pub fn seal_for(&self, context: &str, plaintext: &str) -> Result<String> {
        let key = self.keys.first().ok_or_else(|| Error::Secret("the box holds no key".into()))?;
        let prefix = format!("{VERSION}:{}", key.id);
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = associated_data(&prefix, context);
        let sealed = key
            .cipher
            .encrypt(&nonce, Payload { msg: plaintext.as_bytes(), aad: &aad })
            .map_err(|_| Error::Secret("encryption failed".into()))?;
        let mut body = nonce.to_vec();
        body.extend_from_slice(&sealed);
        Ok(format!("{prefix}:{}", B64.encode(body)))
    }

    /// The key id a sealed text names (without opening it).
    pub fn key_id_of(sealed: &str) -> Result<&str> {
        let rest = sealed
            .strip_prefix(VERSION)
            .and_then(|r| r.strip_prefix(':'))
            .ok_or_else(|| Error::Secret("not a sealed secret (expected the `aigis:v1:` prefix)".into()))?;
        rest.split_once(':').map(|(id, _)| id).ok_or_else(|| Error::Secret("sealed secret has no body".into()))
    }

    /// Whether `sealed` was sealed with an older key and should be sealed again.
    pub fn needs_reseal(&self, sealed: &str) -> bool {
        Self::key_id_of(sealed).is_ok_and(|id| self.keys.first().is_some_and(|k| k.id != id))
    }

    /// Opens a sealed text; a wrong key, an unknown key id or any tampering is [`Error::Secret`].
    pub fn open(&self, sealed: &str) -> Result<String> {
        self.open_for("", sealed)
    }

    /// Opens a text sealed with [`SecretBox::seal_for`] and the same context.
    pub fn open_for(&self, context: &str, sealed: &str) -> Result<String> {
        let id = Self::key_id_of(sealed)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| Error::Secret(format!("no key with id `{id}` to open this secret")))?;
        let prefix = format!("{VERSION}:{id}");
        let body = B64
            .decode(&sealed[prefix.len() + 1..])
            .map_err(|_| Error::Secret("sealed secret is not valid base64".into()))?;
        if body.len() < NONCE_LEN + 16 {
            return Err(Error::Secret("sealed secret is too short".into()));
        }
        let (nonce, ciphertext) = body.split_at(NONCE_LEN);
        let aad = associated_data(&prefix, context);
        let plain = key
            .cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: &aad })
            .map_err(|_| Error::Secret(format!("cannot open the secret: wrong key or context for id `{id}`, or tampered data")))?;
        String::from_utf8(plain).map_err(|_| Error::Secret("opened secret is not UTF-8 text".into()))
    }
}

/// The prefix (version and key id) and the caller's context, both authenticated.
fn associated_data(prefix: &str, context: &str) -> Vec<u8> {
    if context.is_empty() { prefix.as_bytes().to_vec() } else { format!("{prefix}\n{context}").into_bytes() }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: [u8; 32] = [7; 32];
    const B: [u8; 32] = [9; 32];

    fn is_secret_err(r: Result<String>) -> bool {
        matches!(r, Err(Error::Secret(_)))
    }

    #[test]
    fn round_trip_with_fresh_nonces() -> Result<()> {
        let sb = SecretBox::new("k1", &A)?;
        let one = sb.seal("hunter2")?;
        let two = sb.seal("hunter2")?;
        assert_ne!(one, two, "a fresh nonce each time");
        assert!(one.starts_with("aigis:v1:k1:") && !one.contains("hunter2"));
        assert_eq!(sb.open(&one)?, "hunter2");
        assert_eq!(sb.open(&sb.seal("")?)?, "");
        Ok(())
    }

    #[test]
    fn context_binds_the_secret_to_its_owner() -> Result<()> {
        let sb = SecretBox::new("k1", &A)?;
        let sealed = sb.seal_for("connection:alice", "s3cret")?;
        assert_eq!(sb.open_for("connection:alice", &sealed)?, "s3cret");
        assert!(is_secret_err(sb.open_for("connection:bob", &sealed)));
        assert!(is_secret_err(sb.open(&sealed)));
        Ok(())
    }

    #[test]
    fn wrong_key_and_tampering_are_typed_errors() -> Result<()> {
        let sealed = SecretBox::new("k1", &A)?.seal("hunter2")?;
        assert!(is_secret_err(SecretBox::new("k1", &B)?.open(&sealed)));
        assert!(is_secret_err(SecretBox::new("k2", &A)?.open(&sealed)), "unknown key id");
        // Flip one bit of the ciphertext body.
        let (prefix, body) = sealed.rsplit_once(':').ok_or(Error::Internal("format".into()))?;
        let mut bytes = B64.decode(body).map_err(|_| Error::Internal("b64".into()))?;
        bytes[NONCE_LEN] ^= 1;
        assert!(is_secret_err(SecretBox::new("k1", &A)?.open(&format!("{prefix}:{}", B64.encode(&bytes)))));
        // Re-label the ciphertext with another key id that the box also holds: the AAD catches it.
        let both = SecretBox::new("k2", &A)?.with_previous_key("k1", &A)?;
        assert!(is_secret_err(both.open(&sealed.replacen(":k1:", ":k2:", 1))));
        for junk in ["", "aigis:v1:k1", "aigis:v1:k1:!!!", "aigis:v2:k1:AAAA", "aigis:v1:k1:AAAA"] {
            assert!(is_secret_err(both.open(junk)), "{junk}");
        }
        Ok(())
    }

    #[test]
    fn keys_rotate() -> Result<()> {
        let old = SecretBox::new("2025", &A)?;
        let sealed_old = old.seal("api-key")?;
        let rotated = SecretBox::new("2026", &B)?.with_previous_key("2025", &A)?;
        assert_eq!(rotated.open(&sealed_old)?, "api-key");
        assert!(rotated.needs_reseal(&sealed_old));
        let resealed = rotated.seal(&rotated.open(&sealed_old)?)?;
        assert_eq!(SecretBox::key_id_of(&resealed)?, "2026");
        assert!(!rotated.needs_reseal(&resealed));
        assert!(is_secret_err(old.open(&resealed)));
        assert!(SecretBox::new("k1", &A)?.with_previous_key("k1", &B).is_err());
        Ok(())
    }

    #[test]
    fn master_keys_and_debug() -> Result<()> {
        let text = generate_master_key();
        let sb = SecretBox::from_base64("k", &text)?;
        assert_eq!(sb.open(&sb.seal("x")?)?, "x");
        assert!(!format!("{sb:?}").contains(&text));
        assert!(master_key_from_base64("c2hvcnQ=").is_err());
        assert!(SecretBox::new("bad id!", &A).is_err());
        Ok(())
    }
}
