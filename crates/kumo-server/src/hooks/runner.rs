//! Running one endpoint for a hook: within the hook work's own share of the engine, waiting
//! (not failing) while the engine's queue is full, and logging what happened.

use std::time::{Duration, Instant};

use kumo_engine::Outcome;
use kumo_storage::{App, DevLogLevel};
use kumo_types::ErrorCode;
use serde_json::{Map, Value};
use tokio::sync::Semaphore;

use super::Shared;
use crate::error::Error;
use crate::servercode::devlog;

/// How long a hook run waits for room in a full engine queue before it counts as failed.
const QUEUE_PATIENCE: Duration = Duration::from_secs(30);

/// A hook run that could not start (no such version or app any more, or the node stopping).
#[derive(Debug)]
pub(crate) struct NotStarted(pub String);

pub(crate) struct Ran {
    pub outcome: Outcome,
    pub duration: Duration,
}

/// Runs `endpoint` of `version_id` once a slot of `slots` is free.
pub(crate) async fn run(
    shared: &Shared,
    slots: &Semaphore,
    app: &App,
    version_id: &str,
    endpoint: &str,
    params_json: &str,
    user_id: Option<&str>,
) -> Result<Ran, NotStarted> {
    let _slot = slots
        .acquire()
        .await
        .map_err(|_| NotStarted("the node is stopping".into()))?;
    let patience = Instant::now() + QUEUE_PATIENCE;
    loop {
        let started = Instant::now();
        let attempt = shared
            .server_code
            .run_for_hook(
                &shared.service,
                app,
                version_id,
                endpoint,
                params_json.to_owned(),
                user_id,
            )
            .await;
        match attempt {
            Ok(outcome) => {
                return Ok(Ran {
                    outcome,
                    duration: started.elapsed(),
                })
            }
            // Manual calls filled the queue: hook work waits its turn rather than fail.
            Err(Error(e))
                if e.code == ErrorCode::TemporarilyUnavailable
                    && Instant::now() < patience
                    && !shared.stopping.load(std::sync::atomic::Ordering::SeqCst) =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(Error(e)) => return Err(NotStarted(e.message)),
        }
    }
}

/// The app a hook belongs to, if it still exists.
pub(crate) async fn app(shared: &Shared, app_id: &str) -> Option<App> {
    match shared.service.app(app_id).await {
        Ok(app) => app,
        Err(e) => {
            tracing::warn!(app = app_id, error = %e.0.message, "could not read the app of a hook");
            None
        }
    }
}

/// Writes one developer-log record of the hook machinery.
pub(crate) fn log(
    shared: &Shared,
    app_id: &str,
    level: DevLogLevel,
    key: &str,
    user_id: Option<&str>,
    fields: Vec<(&str, Value)>,
) {
    let fields: Map<String, Value> = fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    shared
        .server_code
        .devlog()
        .push(app_id, devlog::record(level, key, user_id, fields));
}
