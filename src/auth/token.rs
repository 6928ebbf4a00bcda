//! Access tokens (HS256 JWT, api.md §2 and §13.2) and opaque refresh tokens.

use chrono::{DateTime, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::JwtSecret;

pub const ISSUER: &str = "reintegra";
pub const AUDIENCE: &str = "reintegra-api";
/// Clock skew tolerated on `nbf` (the contract allows at most 5 s).
pub const NBF_LEEWAY_SECS: i64 = 5;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    pub roles: Vec<String>,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
    pub jti: String,
    /// The staff member's token version: bumped by deactivation, role changes, logout-all and
    /// password changes, which makes every older token invalid at once.
    pub ver: i64,
}

pub fn issue_access(
    secret: &JwtSecret,
    now: DateTime<Utc>,
    ttl_secs: u32,
    staff_id: &str,
    roles: Vec<String>,
    token_version: i64,
) -> Result<String, jsonwebtoken::errors::Error> {
    let iat = now.timestamp();
    let claims = Claims {
        sub: staff_id.to_owned(),
        roles,
        iat,
        nbf: iat,
        exp: iat + i64::from(ttl_secs),
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        jti: uuid::Uuid::new_v4().to_string(),
        ver: token_version,
    };
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.expose()),
    )
}

/// Why an access token was refused (logged and audited; the client only sees 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    Malformed,
    Expired,
    NotYetValid,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::Malformed => "invalid",
            Rejection::Expired => "expired",
            Rejection::NotYetValid => "not_yet_valid",
        }
    }
}

/// Verifies signature (HS256 only: `alg: none` and every other algorithm fail), `iss`, `aud` and
/// the presence of every claim, then `exp` and `nbf` against the service's clock — the library
/// would read the system time instead.
pub fn verify_access(
    secret: &JwtSecret,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Claims, Rejection> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.algorithms = vec![Algorithm::HS256];
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.leeway = 0;
    let claims = decode::<Claims>(
        token,
        &DecodingKey::from_secret(secret.expose()),
        &validation,
    )
    .map_err(|_| Rejection::Malformed)?
    .claims;
    let now = now.timestamp();
    if now >= claims.exp {
        return Err(Rejection::Expired);
    }
    if claims.nbf > now + NBF_LEEWAY_SECS {
        return Err(Rejection::NotYetValid);
    }
    Ok(claims)
}

/// A new opaque refresh token (256 random bits) — only its hash is stored.
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}

pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn secret() -> JwtSecret {
        JwtSecret::new(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap()
    }

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        let t = issue_access(&secret(), now, 900, "s1", vec!["manager".into()], 3).unwrap();
        let c = verify_access(&secret(), &t, now).unwrap();
        assert_eq!((c.sub.as_str(), c.ver, c.exp - c.iat), ("s1", 3, 900));
        assert_eq!(
            verify_access(&secret(), &t, now + chrono::Duration::seconds(900)),
            Err(Rejection::Expired)
        );
        assert_eq!(
            verify_access(&secret(), &t, now - chrono::Duration::seconds(6)),
            Err(Rejection::NotYetValid)
        );
        assert!(verify_access(&secret(), &t, now - chrono::Duration::seconds(5)).is_ok());
        let other = JwtSecret::new(b"another-secret-another-secret-xx".to_vec()).unwrap();
        assert_eq!(verify_access(&other, &t, now), Err(Rejection::Malformed));
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_hashed() {
        let a = new_refresh_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, new_refresh_token());
        assert_eq!(hash_refresh_token(&a).len(), 64);
        assert_ne!(hash_refresh_token(&a), a);
    }
}
