//! Who is calling: credentials from the `Authorization` header resolved against an app.
//!
//! No `Authorization` header means an anonymous caller (the Kii SDK sends none for anonymous
//! calls); `Basic base64(appID:anything)` is anonymous too; `Bearer` (any case) carries a
//! token issued by `/oauth2/token`. Tokens are 256-bit random strings stored only as SHA-256
//! digests, so a leaked database holds no usable token.

use std::sync::Arc;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use axum::http::{header, HeaderMap};
use base64::Engine;
use kumo_storage::App;
use kumo_types::{now_ms, ErrorCode};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};
use crate::service::Service;
use crate::AppState;

/// The identity a request acts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    User(String),
    Admin,
}

/// A resolved caller: the app it addresses and who it is.
#[derive(Debug, Clone)]
pub struct Caller {
    pub app: App,
    pub principal: Principal,
    /// The request was made by running server code (through the in-sandbox SDK).
    pub from_server_code: bool,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.principal == Principal::Admin
    }

    pub fn user_id(&self) -> Option<&str> {
        match &self.principal {
            Principal::User(id) => Some(id),
            _ => None,
        }
    }

    /// The caller must be logged in (as a user or the admin).
    pub fn require_authenticated(&self) -> Result<()> {
        if self.principal == Principal::Anonymous {
            return Err(Error::new(
                ErrorCode::Unauthorized,
                "This operation needs an access token (Authorization: Bearer …)",
            ));
        }
        Ok(())
    }

    /// The caller must be `user_id` itself or the app admin.
    pub fn require_self_or_admin(&self, user_id: &str) -> Result<()> {
        self.require_authenticated()?;
        if self.is_admin() || self.user_id() == Some(user_id) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorCode::AccessDenied,
                "Only the user itself or the app admin may do this",
            ))
        }
    }
}

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

/// Marks a request that running server code made in-process (through the in-sandbox SDK).
///
/// It is a request extension, set only by the sandbox host: no header or anything else a client
/// sends can produce it, so no client can pass for server code, and server code cannot pass for
/// a client (whatever headers it sets).
#[derive(Debug, Clone, Copy)]
pub struct FromServerCode;

/// Whether `extensions` carry the in-process mark.
pub fn is_from_server_code(extensions: &axum::http::Extensions) -> bool {
    extensions.get::<FromServerCode>().is_some()
}

/// Every handler of an app's routes (`/apps/{app}/…`) takes its caller as an argument.
impl axum::extract::FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Caller> {
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| Error::new(ErrorCode::InternalError, "route has no app"))?;
        let app_id = params
            .iter()
            .find_map(|(name, value)| (name == "app").then_some(value))
            .ok_or_else(|| Error::new(ErrorCode::InternalError, "route has no app"))?;
        let from_server_code = is_from_server_code(&parts.extensions);
        authenticate(&state.service, app_id, &parts.headers, from_server_code).await
    }
}

/// Resolves the caller of a request addressed to `app_id`. Tokens of running server code
/// ([`crate::service::RunTokens`]) count only on its own in-process requests.
pub async fn authenticate(
    service: &Service,
    app_id: &str,
    headers: &HeaderMap,
    from_server_code: bool,
) -> Result<Caller> {
    let app = service
        .app(app_id)
        .await?
        .ok_or_else(|| app_not_found(app_id))?;
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(Caller {
            app,
            principal: Principal::Anonymous,
            from_server_code,
        });
    };
    let value = value
        .to_str()
        .map_err(|_| unauthorized("The Authorization header is not valid text"))?
        .trim();
    let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        let principal = match from_server_code
            .then(|| service.run_tokens.app_of(credentials))
            .flatten()
        {
            Some(owner) if owner == app.id => Principal::Admin,
            _ => principal_for_token(service, &app, credentials).await?,
        };
        Ok(Caller {
            app,
            principal,
            from_server_code,
        })
    } else if scheme.eq_ignore_ascii_case("basic") {
        // Kii's "Basic appID:anything" means anonymous access to that app.
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(credentials)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| unauthorized("Malformed Basic credentials"))?;
        let user = decoded.split(':').next().unwrap_or_default();
        if user != app.id {
            return Err(unauthorized("Basic credentials must name this app's ID"));
        }
        Ok(Caller {
            app,
            principal: Principal::Anonymous,
            from_server_code,
        })
    } else {
        Err(unauthorized("Unsupported Authorization scheme; use Bearer"))
    }
}

async fn principal_for_token(service: &Service, app: &App, token: &str) -> Result<Principal> {
    let wrong = || Error::new(ErrorCode::WrongToken, "The access token is invalid");
    if token.is_empty() || token.len() > 512 {
        return Err(wrong());
    }
    let record = service.token(&digest_hex(token)).await?.ok_or_else(wrong)?;
    if record.app_id != app.id {
        return Err(wrong());
    }
    if record.expires_at.is_some_and(|t| t <= now_ms()) {
        return Err(Error::new(
            ErrorCode::WrongToken,
            "The access token has expired",
        ));
    }
    Ok(match record.user_id {
        Some(id) => Principal::User(id),
        None => Principal::Admin,
    })
}

pub fn app_not_found(app_id: &str) -> Error {
    Error(
        kumo_types::ApiError::new(ErrorCode::AppNotFound, "The app was not found")
            .with("appID", app_id),
    )
}

fn unauthorized(message: &str) -> Error {
    Error::new(ErrorCode::Unauthorized, message)
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
