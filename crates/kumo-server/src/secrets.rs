//! Secrets and their digests: access tokens (256-bit random strings stored only as SHA-256
//! digests, so a leaked database holds no usable token) and passwords (argon2id).

use std::sync::Arc;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use base64::Engine;
use kumo_types::ErrorCode;
use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};

/// A new token secret (32 random bytes, base64url) and the digest that is stored.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let digest = digest_hex(&secret);
    (secret, digest)
}

/// SHA-256 hex digest. Fine for high-entropy secrets (tokens, client secrets); passwords
/// go through argon2 instead.
pub fn digest_hex(secret: &str) -> String {
    let d = Sha256::digest(secret.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two digests without an early exit, so timing reveals nothing.
pub fn digests_equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Argon2id hashing on the blocking pool, with a bound on how many run at once: each hash
/// takes ~19 MiB and tens of milliseconds, and a login storm must not exhaust memory or
/// starve the reactor.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
}

/// Verified when a login names no user, so that timing does not reveal which users exist.
/// Made on first use (on the blocking pool), not at start-up.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_now("decoy password").expect("argon2 with default parameters"))
}

impl Passwords {
    pub fn new(max_parallel: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max_parallel.max(1))),
        }
    }

    pub async fn hash(&self, password: &str) -> Result<String> {
        let password = password.to_owned();
        self.blocking(move || hash_now(&password)).await?
    }

    /// True if `password` matches `hash`; with `None`, burns the same time and says false.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool> {
        let (password, real) = (password.to_owned(), hash.is_some());
        let hash = hash.map(str::to_owned);
        let ok = self
            .blocking(move || {
                let phc: &str = match &hash {
                    Some(h) => h,
                    None => decoy_hash(),
                };
                let verified = PasswordHash::new(phc).map(|h| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &h)
                        .is_ok()
                });
                verified.unwrap_or(false)
            })
            .await?;
        Ok(ok && real)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let _permit =
            self.permits.acquire().await.map_err(|_| {
                Error::new(ErrorCode::InternalError, "password hashing is shut down")
            })?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|_| Error::new(ErrorCode::InternalError, "password hashing failed"))
    }
}

fn hash_now(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| {
            Error::new(
                ErrorCode::InternalError,
                format!("password hashing failed: {e}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_stored_hashed() {
        let (a, da) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43, "32 bytes base64url");
        assert_eq!(da.len(), 64);
        assert_ne!(a, da);
        assert_eq!(digest_hex(&a), da);
    }

    #[test]
    fn digest_comparison() {
        assert!(digests_equal("abc", "abc"));
        assert!(!digests_equal("abc", "abd"));
        assert!(!digests_equal("abc", "ab"));
    }

    #[tokio::test]
    async fn passwords_verify_and_decoy_never_matches() {
        let p = Passwords::new(2);
        let h = p.hash("secret123").await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(p.verify("secret123", Some(&h)).await.unwrap());
        assert!(!p.verify("secret124", Some(&h)).await.unwrap());
        assert!(!p.verify("decoy password", None).await.unwrap());
        assert!(!p.verify("x", Some("not a phc string")).await.unwrap());
    }
}
