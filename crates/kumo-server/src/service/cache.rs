//! In-memory caches for the lookups most requests make: the app (apps never change once
//! created, so entries live forever), the access token and the bucket (seq and ACL) an object
//! request addresses (entries live `--token-cache-seconds`).
//!
//! A token revoked or a bucket changed on this node is dropped here at once. One changed
//! through another node sharing the PostgreSQL database is dropped when its invalidation
//! arrives (`crate::invalidation`, well within a second); the TTL only bounds what a lost
//! notification could leave behind. `--token-cache-seconds 0` turns both off.
//!
//! A lookup that raced an invalidation must not put back what the invalidation dropped: a
//! reader notes the [`AuthCache::generation`] before it asks the database, and its answer is
//! cached only if no invalidation came in between.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
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
    generation: AtomicU64,
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
            generation: AtomicU64::new(0),
        }
    }

    /// Changes whenever something is dropped; see the module comment.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    fn invalidated(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    pub fn bucket(&self, b: &BucketRef) -> Option<Bucket> {
        let buckets = self.buckets.lock().ok()?;
        let (bucket, at) = buckets.get(&bucket_key(b))?;
        (at.elapsed() < self.token_ttl).then(|| bucket.clone())
    }

    /// Caches what was read after [`AuthCache::generation`] returned `seen`.
    pub fn put_bucket(&self, b: &BucketRef, bucket: &Bucket, seen: u64) {
        if self.token_ttl.is_zero() {
            return;
        }
        if let Ok(mut buckets) = self.buckets.lock() {
            // Checked under the lock that invalidations take too, so none slips in between.
            if self.generation() != seen {
                return;
            }
            if buckets.len() >= MAX_BUCKETS {
                buckets.clear();
            }
            buckets.insert(bucket_key(b), (bucket.clone(), Instant::now()));
        }
    }

    /// After a bucket's ACL changed or it was deleted.
    pub fn forget_bucket(&self, b: &BucketRef) {
        if let Ok(mut buckets) = self.buckets.lock() {
            self.invalidated();
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

    /// Caches what was read after [`AuthCache::generation`] returned `seen`.
    pub fn put_token(&self, token: &Token, seen: u64) {
        if self.token_ttl.is_zero() {
            return;
        }
        if let Ok(mut tokens) = self.tokens.lock() {
            if self.generation() != seen {
                return;
            }
            if tokens.len() >= MAX_TOKENS {
                tokens.clear();
            }
            tokens.insert(token.hash.clone(), (token.clone(), Instant::now()));
        }
    }

    /// Drops every cached token of a user (after its tokens were revoked).
    pub fn forget_user(&self, app_id: &str, user_id: &str) {
        if let Ok(mut tokens) = self.tokens.lock() {
            self.invalidated();
            tokens
                .retain(|_, (t, _)| !(t.app_id == app_id && t.user_id.as_deref() == Some(user_id)));
        }
    }

    /// Drops every token and bucket (notifications may have been missed). Apps stay: they
    /// never change.
    pub fn forget_all(&self) {
        let (Ok(mut tokens), Ok(mut buckets)) = (self.tokens.lock(), self.buckets.lock()) else {
            return;
        };
        self.invalidated();
        tokens.clear();
        buckets.clear();
    }
}
