//! Keeps this node's caches true to changes made through other nodes sharing the database.
//!
//! Storage announces every committed change a cache may hold (`kumo_storage::Invalidation`);
//! this task drops exactly what each one names, so another node's version switch, token
//! revocation, ACL change or bucket drop takes effect here within the notification's delay
//! (milliseconds), not the cache's TTL. When notifications may have been missed (the
//! listener reconnected, or this task fell behind) everything cached is dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use kumo_storage::Invalidation;
use tokio::sync::broadcast::{error::RecvError, Receiver};
use tokio::task::JoinHandle;

use crate::servercode::ServerCode;
use crate::service::Service;

/// What the task has applied, for `/health` (and the tests that wait on it).
#[derive(Default)]
pub struct Counters {
    applied: AtomicU64,
    flushes: AtomicU64,
}

impl Counters {
    /// Invalidations applied, `Everything` included.
    pub fn applied(&self) -> u64 {
        self.applied.load(Ordering::Relaxed)
    }

    /// Times everything was dropped.
    pub fn flushes(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }
}

/// Applies what `events` brings until the subscription ends or the task is aborted.
pub(crate) fn spawn(
    mut events: Receiver<Invalidation>,
    service: Service,
    server_code: Arc<ServerCode>,
    counters: Arc<Counters>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let event = match events.recv().await {
                Ok(event) => event,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "fell behind the cache invalidations; dropping all");
                    Invalidation::Everything
                }
                Err(RecvError::Closed) => return,
            };
            apply(&event, &service, &server_code, &counters);
        }
    })
}

fn apply(event: &Invalidation, service: &Service, server_code: &ServerCode, counters: &Counters) {
    tracing::debug!(?event, "cache invalidation");
    match event {
        Invalidation::CurrentVersion { app_id } => server_code.flush_cached_code(app_id, None),
        Invalidation::VersionDeleted { app_id, version_id } => {
            server_code.flush_cached_code(app_id, Some(version_id))
        }
        Invalidation::UserTokens { app_id, user_id } => service.cache.forget_user(app_id, user_id),
        Invalidation::BucketAcl(bucket) | Invalidation::BucketDropped(bucket) => {
            service.cache.forget_bucket(bucket)
        }
        // Object and scope ACLs are read from the database on every request: nothing to drop.
        Invalidation::ObjectAcl { .. } | Invalidation::ScopeAcl { .. } => {}
        Invalidation::Everything => {
            service.cache.forget_all();
            server_code.flush_all_cached_code();
            counters.flushes.fetch_add(1, Ordering::Relaxed);
        }
    }
    counters.applied.fetch_add(1, Ordering::Relaxed);
}
