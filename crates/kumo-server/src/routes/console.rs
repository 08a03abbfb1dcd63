//! Admin-only calls the web console needs and Kii's REST API lacks, all under
//! `/apps/{app}/console/` (docs/console.md). They read what other calls can change; any
//! client with an admin token may use them, so the console has no privilege of its own.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use kumo_types::{ApiError, ErrorCode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::json;
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::hooks::config::{self, HookConfig, Overlap};
use crate::servercode::require_admin;
use crate::service::console::{BucketOwner, PageRequest};
use crate::AppState;

/// Firings listed per job: enough to see a schedule's rhythm.
const NEXT_FIRINGS: usize = 5;

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/apps/{app}/console/hooks/{version}", get(hooks_summary))
        .route("/apps/{app}/console/buckets", get(buckets))
        .route("/apps/{app}/console/users", get(users))
        .route("/apps/{app}/console/groups", get(groups))
}

/// The query string of the listings: a page, and for buckets whose scope.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ListingQuery {
    limit: Option<String>,
    pagination_key: Option<String>,
    #[serde(rename = "userID")]
    user_id: Option<String>,
    #[serde(rename = "groupID")]
    group_id: Option<String>,
}

impl ListingQuery {
    fn page(&self) -> PageRequest {
        PageRequest {
            limit: self.limit.clone(),
            pagination_key: self.pagination_key.clone(),
        }
    }
}

/// `GET /apps/{app}/console/buckets[?userID=|groupID=]`: a page of the app's buckets (or a
/// user's or group's), by name.
async fn buckets(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListingQuery>,
) -> Result<Response> {
    let owner = match (q.user_id.clone(), q.group_id.clone()) {
        (None, None) => BucketOwner::App,
        (Some(u), None) => BucketOwner::User(u),
        (None, Some(g)) => BucketOwner::Group(g),
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                ErrorCode::InvalidInputData,
                "Give at most one of userID and groupID",
            )
            .into())
        }
    };
    let body = state
        .service
        .console_buckets(&caller, owner, &q.page())
        .await?;
    Ok(json(StatusCode::OK, body))
}

/// `GET /apps/{app}/console/users`: a page of the app's users, by ID.
async fn users(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListingQuery>,
) -> Result<Response> {
    let body = state.service.console_users(&caller, &q.page()).await?;
    Ok(json(StatusCode::OK, body))
}

/// `GET /apps/{app}/console/groups`: a page of the app's groups, by ID.
async fn groups(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListingQuery>,
) -> Result<Response> {
    let body = state.service.console_groups(&caller, &q.page()).await?;
    Ok(json(StatusCode::OK, body))
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
