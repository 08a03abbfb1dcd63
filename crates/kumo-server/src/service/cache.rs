//! In-memory caches for the lookups most requests make: the app (apps never change once
//! created, so entries live forever), the access token and the bucket (seq and ACL) an object
//! request addresses (entries live a few seconds).
//!
//! A token revoked on this node (password change, user deletion) is dropped here at once; one
//! revoked through another node stays usable here for at most the TTL. The same holds for a
//! bucket's ACL changed or a bucket deleted through another node. `--token-cache-seconds 0`
//! turns both off.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use kumo_storage::{App, Bucket, BucketRef, Token};

/// Above this many cached tokens (or buckets) the cache starts over, bounding its memory.
const MAX_TOKENS: usize = 100_000;
const MAX_BUCKETS: usize = 100_000;

type BucketKey = (String, String, String);

pub struct AuthCache {
    apps: RwLock<HashMap<String, App>>,
    tokens: Mutex<HashMap<String, (Token, Instant)>>,
    buckets: Mutex<HashMap<BucketKey, (Bucket, Instant)>>,
    token_ttl: Duration,
}

fn bucket_key(b: &BucketRef) -> BucketKey {
    (b.app_id.clone(), b.scope.key(), b.name.clone())
}

impl AuthCache {
    pub fn new(token_ttl: Duration) -> Self {
        Self {
            apps: RwLock::default(),
            tokens: Mutex::default(),
            buckets: Mutex::default(),
            token_ttl,
        }
    }

    pub fn bucket(&self, b: &BucketRef) -> Option<Bucket> {
        let buckets = self.buckets.lock().ok()?;
        let (bucket, at) = buckets.get(&bucket_key(b))?;
        (at.elapsed() < self.token_ttl).then(|| bucket.clone())
    }

    pub fn put_bucket(&self, b: &BucketRef, bucket: &Bucket) {
        if self.token_ttl.is_zero() {
            return;
        }
        if let Ok(mut buckets) = self.buckets.lock() {
            if buckets.len() >= MAX_BUCKETS {
                buckets.clear();
            }
            buckets.insert(bucket_key(b), (bucket.clone(), Instant::now()));
        }
    }

    /// After this node changed a bucket's ACL or deleted it.
    pub fn forget_bucket(&self, b: &BucketRef) {
        if let Ok(mut buckets) = self.buckets.lock() {
            buckets.remove(&bucket_key(b));
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
