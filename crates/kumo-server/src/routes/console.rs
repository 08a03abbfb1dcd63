//! Admin-only calls the web console needs and Kii's REST API lacks, all under
//! `/apps/{app}/console/` (docs/console.md). They read what other calls can change; any
//! client with an admin token may use them, so the console has no privilege of its own.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use kumo_types::{ApiError, ErrorCode};
use serde_json::{json, Value};

use super::json;
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::hooks::config::{self, HookConfig, Overlap};
use crate::servercode::require_admin;
use crate::AppState;

/// Firings listed per job: enough to see a schedule's rhythm.
const NEXT_FIRINGS: usize = 5;

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    router.route("/apps/{app}/console/hooks/{version}", get(hooks_summary))
}

/// `GET /apps/{app}/console/hooks/{current|id}`: the version's hook config as parsed by the
/// server (the same parser the hooks run on): its trigger hooks, and its jobs each with its
/// next firing times.
async fn hooks_summary(
    State(state): State<AppState>,
    Path((_app, version)): Path<(String, String)>,
    caller: Caller,
) -> Result<Response> {
    require_admin(&caller)?;
    let text = state
        .server_code
        .get_hook_config(&state.service, &caller, &version)
        .await?;
    let now = kumo_types::now_ms();
    // Up to a thousand jobs' schedules are evaluated: not on an async worker thread.
    let summary = tokio::task::spawn_blocking(move || {
        config::parse(text.as_bytes(), &|_| true).map(|parsed| summarise(&parsed, now))
    })
    .await
    .map_err(|e| {
        Error::from(ApiError::new(
            ErrorCode::InternalError,
            format!("reading the hook config failed: {e}"),
        ))
    })??;
    Ok(json(StatusCode::OK, summary))
}

fn summarise(parsed: &HookConfig, now_ms: i64) -> Value {
    let triggers: Vec<Value> = parsed
        .triggers
        .iter()
        .map(|t| json!({"path": t.path.uri(), "when": t.when.as_str(), "endpoint": t.endpoint}))
        .collect();
    let jobs: Vec<Value> = parsed
        .jobs
        .iter()
        .map(|job| {
            let mut next = Vec::with_capacity(NEXT_FIRINGS);
            let mut after = now_ms;
            while next.len() < NEXT_FIRINGS {
                let Some(at) = job.schedule.next_after(after) else {
                    break;
                };
                next.push(at);
                after = at;
            }
            json!({
                "name": job.name,
                "endpoint": job.endpoint,
                "cron": job.schedule.text(),
                "timezone": job.schedule.timezone().map(|tz| tz.name()),
                "overlap": match job.overlap {
                    Overlap::Allow => "allow",
                    Overlap::Skip => "skip",
                },
                "parameters": job.parameters,
                "nextFirings": next,
            })
        })
        .collect();
    json!({"triggers": triggers, "jobs": jobs})
}
