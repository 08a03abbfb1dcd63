//! The background purge of expired access tokens. They are refused anyway (`auth.rs`), but
//! every login leaves one behind, so without a purge the table only grows.

use std::sync::Arc;
use std::time::Duration;

use kumo_storage::Storage;
use kumo_types::now_ms;
use tokio::task::JoinHandle;

/// Purges now and then every `interval` until the returned task is aborted.
pub(crate) fn spawn(storage: Arc<dyn Storage>, interval: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        // After a stall (a slow database) one purge catches up; a burst would not help.
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            purge_once(storage.as_ref()).await;
        }
    })
}

/// One purge. A failure is logged and left for the next round: the database being away is
/// no reason to stop serving (or purging once it is back).
async fn purge_once(storage: &dyn Storage) {
    match storage.purge_expired_tokens(now_ms()).await {
        Ok(0) => tracing::debug!("no expired access tokens to purge"),
        Ok(purged) => tracing::info!(purged, "purged expired access tokens"),
        Err(e) => {
            tracing::warn!(error = %e, "purging expired access tokens failed; retrying later")
        }
    }
}
