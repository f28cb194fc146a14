//! HS256 JSON Web Tokens: only HS256 is accepted, the signature is checked in constant time,
//! and expired tokens are refused.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// The user's token version when issued (bumped on password change and disable).
    pub ver: i64,
    /// Issued at (seconds).
    pub iat: i64,
    /// Expires at (seconds).
    pub exp: i64,
}

/// Why a token was refused (never shown in detail to clients).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts of JSON.
    #[error("malformed token")]
    Malformed,
    /// Not HS256 (e.g. `none`).
    #[error("unsupported algorithm")]
    Algorithm,
    /// The signature does not verify.
    #[error("bad signature")]
    Signature,
    /// Past `exp`.
    #[error("expired")]
    Expired,
    /// The key was refused by HMAC (cannot happen for HMAC-SHA256, kept typed rather than panicking).
    #[error("unusable key")]
    Key,
}

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

fn mac(secret: &[u8]) -> Result<Hmac<Sha256>, TokenError> {
    Hmac::<Sha256>::new_from_slice(secret).map_err(|_| TokenError::Key)
}

/// Signs claims.
pub fn sign(claims: &Claims, secret: &[u8]) -> Result<String, TokenError> {
    let payload = serde_json::to_vec(claims).map_err(|_| TokenError::Malformed)?;
    let signing_input = format!("{}.{}", B64.encode(HEADER), B64.encode(payload));
    let mut m = mac(secret)?;
    m.update(signing_input.as_bytes());
    Ok(format!("{signing_input}.{}", B64.encode(m.finalize().into_bytes())))
}

/// Verifies a token and returns its claims.
pub fn verify(token: &str, secret: &[u8], now_secs: i64) -> Result<Claims, TokenError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(TokenError::Malformed);
    };
    let header: serde_json::Value =
        serde_json::from_slice(&B64.decode(h).map_err(|_| TokenError::Malformed)?).map_err(|_| TokenError::Malformed)?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
        return Err(TokenError::Algorithm);
    }
    let sig = B64.decode(s).map_err(|_| TokenError::Malformed)?;
    let mut m = mac(secret)?;
    m.update(h.as_bytes());
    m.update(b".");
    m.update(p.as_bytes());
    m.verify_slice(&sig).map_err(|_| TokenError::Signature)?;
    let claims: Claims =
        serde_json::from_slice(&B64.decode(p).map_err(|_| TokenError::Malformed)?).map_err(|_| TokenError::Malformed)?;
    if claims.exp <= now_secs {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims { sub: "u1".into(), ver: 0, iat: 0, exp }
    }

    #[test]
    fn round_trip() {
        let t = sign(&claims(100), b"k").unwrap();
        assert_eq!(verify(&t, b"k", 50).unwrap(), claims(100));
    }

    #[test]
    fn refuses_expired_wrong_key_tampered_and_alg_none() {
        let t = sign(&claims(100), b"k").unwrap();
        assert_eq!(verify(&t, b"k", 100), Err(TokenError::Expired));
        assert_eq!(verify(&t, b"other", 50), Err(TokenError::Signature));
        let parts: Vec<&str> = t.split('.').collect();
        let forged = B64.encode(serde_json::to_vec(&Claims { sub: "admin".into(), ..claims(100) }).unwrap());
        assert_eq!(verify(&format!("{}.{}.{}", parts[0], forged, parts[2]), b"k", 50), Err(TokenError::Signature));
        let none = B64.encode(r#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(verify(&format!("{none}.{}.", parts[1]), b"k", 50), Err(TokenError::Algorithm));
        assert_eq!(verify("a.b", b"k", 50), Err(TokenError::Malformed));
    }
}
