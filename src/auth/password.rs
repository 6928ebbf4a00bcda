//! Passwords: argon2id PHC strings, hashed on the blocking pool behind a concurrency cap so a
//! login storm cannot starve other requests, and the password rules of api.md §13.2.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::config::Argon2Params;
use crate::http::rules::rule;
use crate::http::AppError;
use validator::ValidationError;

pub const MIN_PASSWORD_CHARS: usize = 12;
/// Long enough for any passphrase; bounded so a megabyte "password" costs nothing to refuse.
pub const MAX_PASSWORD_CHARS: usize = 1024;

pub struct Passwords {
    params: Argon2Params,
    permits: Semaphore,
    /// Verified against when the e-mail is unknown, so both answers take the same time.
    dummy_hash: String,
}

/// The outcome of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub matches: bool,
    /// The stored hash used weaker parameters than configured: store a new one.
    pub needs_rehash: bool,
}

impl Passwords {
    pub fn new(params: Argon2Params) -> Result<Arc<Passwords>, String> {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let dummy_hash = hash_with(&params, "reintegra timing equaliser")?;
        Ok(Arc::new(Passwords {
            params,
            permits: Semaphore::new(cores.max(1)),
            dummy_hash,
        }))
    }

    pub fn params(&self) -> Argon2Params {
        self.params
    }

    pub async fn hash(self: &Arc<Self>, password: String) -> Result<String, AppError> {
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        let params = self.params;
        actix_web::web::block(move || hash_with(&params, &password))
            .await?
            .map_err(AppError::Internal)
    }

    /// Checks `password` against `stored`, or against a dummy hash when there is no account, so
    /// an unknown e-mail and a wrong password take the same time.
    pub async fn verify(
        self: &Arc<Self>,
        password: String,
        stored: Option<String>,
    ) -> Result<Verified, AppError> {
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| self.dummy_hash.clone());
        let params = self.params;
        let verified =
            actix_web::web::block(move || verify_with(&params, &password, &stored)).await?;
        Ok(Verified {
            matches: known && verified.matches,
            needs_rehash: known && verified.needs_rehash,
        })
    }
}

fn argon2(params: &Argon2Params) -> Result<Argon2<'static>, String> {
    let p = Params::new(params.m_kib, params.t, params.p, None)
        .map_err(|e| format!("argon2 parameters: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, p))
}

pub fn hash_with(params: &Argon2Params, password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    rand::fill(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| format!("salt: {e}"))?;
    argon2(params)?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("argon2: {e}"))
}

/// Verifies with the parameters stored in the PHC string, so old hashes keep working.
pub fn verify_with(configured: &Argon2Params, password: &str, stored: &str) -> Verified {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verified {
            matches: false,
            needs_rehash: false,
        };
    };
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    let needs_rehash = match Params::try_from(&parsed) {
        Ok(stored) => {
            parsed.algorithm.as_str() != "argon2id"
                || stored.m_cost() < configured.m_kib
                || stored.t_cost() < configured.t
                || stored.p_cost() < configured.p
        }
        Err(_) => true,
    };
    Verified {
        matches,
        needs_rehash,
    }
}

/// The rules for a new password (`new_password`, `initial_password`, `create-admin`).
pub fn check_new_password(
    password: &str,
    email: &str,
    old: Option<&str>,
) -> Result<(), ValidationError> {
    check_password_length(password)?;
    let local = email.split('@').next().unwrap_or("").to_lowercase();
    if local.chars().count() >= 3 && password.to_lowercase().contains(&local) {
        return Err(rule("contains_email", "must not contain your e-mail name"));
    }
    if old == Some(password) {
        return Err(rule("unchanged", "must differ from the current password"));
    }
    Ok(())
}

/// The length rule alone: it needs nothing but the password.
pub fn check_password_length(password: &str) -> Result<(), ValidationError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(rule(
            "too_short",
            format!("at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(rule(
            "too_long",
            format!("at most {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: Argon2Params = Argon2Params {
        m_kib: 64,
        t: 1,
        p: 1,
    };

    #[test]
    fn hashes_verify_and_weaker_ones_ask_for_a_rehash() {
        let h = hash_with(&CHEAP, "correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        let v = verify_with(&CHEAP, "correct horse battery", &h);
        assert!(v.matches && !v.needs_rehash);
        assert!(!verify_with(&CHEAP, "wrong horse battery", &h).matches);
        let stronger = Argon2Params {
            m_kib: 128,
            t: 2,
            p: 1,
        };
        let v = verify_with(&stronger, "correct horse battery", &h);
        assert!(v.matches && v.needs_rehash);
        assert!(!verify_with(&CHEAP, "x", "not a phc string").matches);
    }

    #[test]
    fn default_parameters_hash_and_verify() {
        // The one test with the production parameters (m = 19 MiB, t = 2, p = 1).
        let params = Argon2Params::default();
        let h = hash_with(&params, "a long enough password").unwrap();
        assert!(h.contains("m=19456,t=2,p=1"));
        assert!(verify_with(&params, "a long enough password", &h).matches);
    }

    #[test]
    fn password_rules() {
        assert_eq!(
            check_new_password("short", "a@b.pl", None)
                .unwrap_err()
                .code,
            "too_short"
        );
        assert_eq!(
            check_new_password("my-anna.kowalska-pass", "Anna.Kowalska@club.pl", None)
                .unwrap_err()
                .code,
            "contains_email"
        );
        assert_eq!(
            check_new_password("same old password", "x@y.pl", Some("same old password"))
                .unwrap_err()
                .code,
            "unchanged"
        );
        assert!(
            check_new_password("twelve chars!", "anna@club.pl", Some("other one here")).is_ok()
        );
    }
}
