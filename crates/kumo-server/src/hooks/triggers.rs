//! Trigger-based hooks: each app's change events, read in order from its cursor by the one
//! node that holds the cursor's lease, run the current version's matching endpoints; failed
//! runs are kept for later attempts before the cursor moves past their event.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kumo_storage::{App, DevLogLevel, HookRetry};
use kumo_types::now_ms;
use serde_json::json;
use tokio::task::JoinSet;

use super::events::{acting_user, trigger_of};
use super::live::LiveApp;
use super::outcome::ended;
use super::runner::{self, NotStarted};
use super::Shared;

/// Events one round of an app reads.
const BATCH: i64 = 512;
/// Retries one round of the retry loop takes.
const RETRY_BATCH: i64 = 32;
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Finds apps whose events wait for delivery and serves each (one task per app at a time).
pub(crate) async fn dispatch_loop(shared: Arc<Shared>) {
    let serving: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut ticks = tokio::time::interval(shared.config.poll);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let storage = &shared.service.storage;
        let apps = match storage.hook_cursors_with_work(&shared.node, now_ms()).await {
            Ok(apps) => apps,
            Err(e) => {
                tracing::warn!(error = %e, "could not look for change events to deliver");
                continue;
            }
        };
        for app_id in apps {
            if !lock(&serving).insert(app_id.clone()) {
                continue;
            }
            let (shared, serving) = (shared.clone(), serving.clone());
            tokio::spawn(async move {
                if let Err(e) = serve_app(&shared, &app_id).await {
                    tracing::warn!(app = app_id, error = %e, "delivering change events failed; retrying");
                }
                lock(&serving).remove(&app_id);
            });
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn lease_end(shared: &Shared) -> i64 {
    now_ms() + shared.config.lease.as_millis() as i64
}

/// Delivers the app's pending events, a batch at a time, while this node holds its cursor.
async fn serve_app(shared: &Arc<Shared>, app_id: &str) -> kumo_storage::Result<()> {
    let storage = &shared.service.storage;
    let Some(mut position) = storage
        .lease_hook_cursor(app_id, &shared.node, now_ms(), lease_end(shared))
        .await?
    else {
        return Ok(()); // another node serves it
    };
    loop {
        let events = storage.events_since(app_id, position, BATCH).await?;
        let Some(last) = events.last().map(|e| e.cursor()) else {
            return Ok(());
        };
        let live = live_hooks(shared, app_id).await;
        let app = runner::app(shared, app_id).await;
        let mut runs = JoinSet::new();
        if let (Some(live), Some(app)) = (live, app) {
            for event in &events {
                let Some(trigger) = trigger_of(app_id, event) else {
                    continue;
                };
                for hook in &live.config.triggers {
                    if hook.when != trigger.when || !trigger.subject.matches(&hook.path) {
                        continue;
                    }
                    let delivery = Delivery {
                        app: app.clone(),
                        retry: HookRetry {
                            id: 0,
                            app_id: app_id.to_owned(),
                            event_seq: event.seq,
                            version_id: live.version_id.clone(),
                            endpoint: hook.endpoint.clone(),
                            trigger: trigger.when.as_str().to_owned(),
                            params: trigger.params.to_string(),
                            actor: event.actor.clone(),
                            attempts: 0,
                        },
                    };
                    let shared = shared.clone();
                    runs.spawn(async move {
                        let retry = delivery.retry.clone();
                        match attempt(&shared, delivery).await {
                            Next::Again(not_before) => {
                                let retry = HookRetry {
                                    attempts: 1,
                                    ..retry
                                };
                                shared
                                    .service
                                    .storage
                                    .add_hook_retry(&retry, not_before)
                                    .await
                            }
                            Next::Done => Ok(()),
                        }
                    });
                }
            }
        }
        // The cursor moves only when every run of the batch ended and every failure is kept
        // for another attempt: a node dying before that leaves the batch to be delivered again.
        let mut kept = true;
        while let Some(done) = runs.join_next().await {
            kept &= matches!(done, Ok(Ok(())));
        }
        if !kept {
            return Err(kumo_storage::StorageError::Unavailable(
                "a failed hook run could not be kept for another attempt".into(),
            ));
        }
        if !storage
            .advance_hook_cursor(app_id, &shared.node, last, lease_end(shared))
            .await?
        {
            return Ok(()); // the lease was lost (this node stalled); the new holder goes on
        }
        position = last;
    }
}

/// The app's live hooks, checked against its current version: a switch made on any node is
/// seen here as soon as the current-version cache is.
async fn live_hooks(shared: &Shared, app_id: &str) -> Option<LiveApp> {
    let current = shared
        .server_code
        .current_version_id(&shared.service, app_id)
        .await
        .ok()
        .flatten();
    let live = shared.live.get(app_id);
    if live.as_ref().map(|l| &l.version_id) != current.as_ref() {
        if let Err(e) = shared.live.refresh(&shared.service).await {
            tracing::warn!(error = %e, "could not read the live hook configs");
        }
        return shared
            .live
            .get(app_id)
            .filter(|l| Some(&l.version_id) == current.as_ref());
    }
    live
}

/// One run of a trigger hook to make.
struct Delivery {
    app: App,
    /// What it is, and how many attempts were made before this one.
    retry: HookRetry,
}

/// What follows an attempt.
enum Next {
    /// Succeeded, or failed for the last time (logged as final).
    Done,
    /// Failed: try again at this time.
    Again(i64),
}

/// Makes one attempt and logs it.
async fn attempt(shared: &Shared, delivery: Delivery) -> Next {
    let Delivery { app, mut retry } = delivery;
    retry.attempts += 1;
    let user = acting_user(&retry.actor).map(str::to_owned);
    let ran = runner::run(
        shared,
        &shared.trigger_slots,
        &app,
        &retry.version_id,
        &retry.endpoint,
        &retry.params,
        user.as_deref(),
    )
    .await;
    let (ok, text, duration) = match &ran {
        Ok(ran) => {
            let end = ended(&ran.outcome);
            (end.ok, end.text, ran.duration.as_millis() as i64)
        }
        Err(NotStarted(why)) => (false, format!("not started: {why}"), 0),
    };
    let final_failure = !ok && retry.attempts >= shared.config.max_attempts;
    let mut fields = vec![
        ("description", json!("Server hook ran")),
        ("versionID", json!(retry.version_id)),
        ("endpoint", json!(retry.endpoint)),
        ("trigger", json!(retry.trigger)),
        ("eventID", json!(retry.event_seq.to_string())),
        ("attempt", json!(retry.attempts.to_string())),
        ("outcome", json!(if ok { "success" } else { "failure" })),
        ("durationMs", json!(duration.to_string())),
    ];
    if !ok {
        fields.push(("exception", json!(text)));
    }
    runner::log(
        shared,
        &app.id,
        DevLogLevel::Debug,
        "servercode.hook.run",
        user.as_deref(),
        fields.clone(),
    );
    if ok {
        return Next::Done;
    }
    if final_failure {
        fields[0] = ("description", json!("Server hook failed; no more attempts"));
        runner::log(
            shared,
            &app.id,
            DevLogLevel::Error,
            "servercode.hook.failed",
            user.as_deref(),
            fields,
        );
        return Next::Done;
    }
    Next::Again(now_ms() + backoff(shared, retry.attempts).as_millis() as i64)
}

/// The wait after the `attempts`-th failed attempt: the configured backoff, doubled for each
/// attempt after the first.
fn backoff(shared: &Shared, attempts: i64) -> Duration {
    let doublings = (attempts - 1).clamp(0, 20) as u32;
    shared
        .config
        .retry_backoff
        .saturating_mul(1 << doublings)
        .min(MAX_BACKOFF)
}

/// Runs the failed trigger runs that are due again, on whichever node claims them.
pub(crate) async fn retry_loop(shared: Arc<Shared>) {
    let mut ticks = tokio::time::interval(Duration::from_millis(250));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let storage = &shared.service.storage;
        let due = match storage
            .claim_hook_retries(&shared.node, now_ms(), lease_end(&shared), RETRY_BATCH)
            .await
        {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the hook retries");
                continue;
            }
        };
        let mut runs = JoinSet::new();
        for retry in due {
            let shared = shared.clone();
            runs.spawn(async move { retry_once(&shared, retry).await });
        }
        while runs.join_next().await.is_some() {}
    }
}

async fn retry_once(shared: &Shared, retry: HookRetry) {
    let storage = &shared.service.storage;
    let (id, app_id) = (retry.id, retry.app_id.clone());
    let current = shared
        .server_code
        .current_version_id(&shared.service, &app_id)
        .await
        .ok()
        .flatten();
    let app = runner::app(shared, &app_id).await;
    let (Some(app), true) = (app, current.as_deref() == Some(&retry.version_id)) else {
        // Only the current version's hooks are live: a switch drops the old one's retries.
        runner::log(
            shared,
            &app_id,
            DevLogLevel::Debug,
            "servercode.hook.dropped",
            None,
            vec![
                (
                    "description",
                    json!("Server hook retry dropped: its version is no longer current"),
                ),
                ("versionID", json!(retry.version_id)),
                ("endpoint", json!(retry.endpoint)),
                ("eventID", json!(retry.event_seq.to_string())),
            ],
        );
        let _ = storage.finish_hook_retry(id, &shared.node, None).await;
        return;
    };
    let attempts = retry.attempts + 1;
    let next = match attempt(shared, Delivery { app, retry }).await {
        Next::Done => None,
        Next::Again(not_before) => Some((attempts, not_before)),
    };
    // Should this fail, the row comes back when its lease runs out: one more attempt.
    if let Err(e) = storage.finish_hook_retry(id, &shared.node, next).await {
        tracing::warn!(error = %e, "could not finish a hook retry");
    }
}
