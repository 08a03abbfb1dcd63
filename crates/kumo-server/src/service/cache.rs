//! In-memory caches for the two lookups every request makes: the app (apps never change
//! once created, so entries live forever) and the access token (entries live a few seconds).
//!
//! A token revoked on this node (password change, user deletion) is dropped here at once; one
//! revoked through another node stays usable here for at most the TTL. `--token-cache-seconds
//! 0` turns token caching off.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use kumo_storage::{App, Token};

/// Above this many cached tokens the cache starts over, bounding its memory.
const MAX_TOKENS: usize = 100_000;

pub struct AuthCache {
    apps: RwLock<HashMap<String, App>>,
    tokens: Mutex<HashMap<String, (Token, Instant)>>,
    token_ttl: Duration,
}

impl AuthCache {
    pub fn new(token_ttl: Duration) -> Self {
        Self {
            apps: RwLock::default(),
            tokens: Mutex::default(),
            token_ttl,
        }
    }

    pub fn app(&self, id: &str) -> Option<App> {
        self.apps.read().ok()?.get(id).cloned()
    }

    pub fn put_app(&self, app: &App) {
        if let Ok(mut apps) = self.apps.write() {
            apps.insert(app.id.clone(), app.clone());
        }
    }

    pub fn token(&self, hash: &str) -> Option<Token> {
        let tokens = self.tokens.lock().ok()?;
        let (token, at) = tokens.get(hash)?;
        (at.elapsed() < self.token_ttl).then(|| token.clone())
    }

    pub fn put_token(&self, token: &Token) {
        if self.token_ttl.is_zero() {
            return;
        }
        if let Ok(mut tokens) = self.tokens.lock() {
            if tokens.len() >= MAX_TOKENS {
                tokens.clear();
            }
            tokens.insert(token.hash.clone(), (token.clone(), Instant::now()));
        }
    }

    /// Drops every cached token of a user (after its tokens were revoked).
    pub fn forget_user(&self, app_id: &str, user_id: &str) {
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens
                .retain(|_, (t, _)| !(t.app_id == app_id && t.user_id.as_deref() == Some(user_id)));
        }
    }
}
