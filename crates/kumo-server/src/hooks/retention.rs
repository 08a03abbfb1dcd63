//! Keeps each app's execution history bounded (by age and by count) and the change events
//! (the outbox) too, trimmed in the background. Every node trims; trimming twice removes
//! nothing more, so nodes need not agree on who does.

use std::sync::Arc;
use std::time::Duration;

use kumo_storage::Storage;
use kumo_types::now_ms;

use super::{HooksConfig, Shared};

/// Trims at once and then every `history_trim_every` until the task is aborted.
pub(crate) async fn retention_loop(shared: Arc<Shared>) {
    // A zero period would make `interval` panic.
    let every = shared
        .config
        .history_trim_every
        .max(Duration::from_millis(10));
    let mut ticks = tokio::time::interval(every);
    // After a stall one trim catches up; a burst of them would find nothing more to do.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        trim_once(shared.service.storage.as_ref(), &shared.config, now_ms()).await;
        trim_events(shared.service.storage.as_ref(), &shared.config, now_ms()).await;
    }
}

/// Change events deleted per statement: a short write, so other writers barely wait.
const EVENT_TRIM_BATCH: i64 = 5_000;

/// Deletes delivered change events older than the configured age, a batch at a time.
async fn trim_events(storage: &dyn Storage, config: &HooksConfig, now: i64) {
    let before = now.saturating_sub(millis(config.events_max_age));
    let mut trimmed = 0;
    loop {
        match storage.trim_events(before, EVENT_TRIM_BATCH).await {
            Ok(n) => {
                trimmed += n;
                if n < EVENT_TRIM_BATCH as u64 {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "trimming change events failed; retrying later");
                break;
            }
        }
        tokio::task::yield_now().await;
    }
    if trimmed > 0 {
        tracing::debug!(trimmed, "trimmed delivered change events");
    }
}

/// One round over every app with a history. A failure is logged and left for the next round.
async fn trim_once(storage: &dyn Storage, config: &HooksConfig, now: i64) {
    let apps = match storage.schedule_execution_apps().await {
        Ok(apps) => apps,
        Err(e) => {
            tracing::warn!(error = %e, "listing execution histories failed; retrying later");
            return;
        }
    };
    let finished_before = now.saturating_sub(millis(config.history_max_age));
    for app in apps {
        match storage
            .trim_schedule_executions(&app, finished_before, config.history_max_per_app)
            .await
        {
            Ok(0) => {}
            Ok(trimmed) => tracing::debug!(app = %app, trimmed, "trimmed the execution history"),
            Err(e) => {
                tracing::warn!(app = %app, error = %e, "trimming the execution history failed")
            }
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
