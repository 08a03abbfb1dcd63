//! The schedule-execution history (admin only): query it, read one record.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use kumo_storage::ScheduleExecution;
use serde_json::{json, Value};

use super::json;
use crate::auth::Caller;
use crate::error::Result;
use crate::hooks::history;
use crate::http::{parse_object, read_body};
use crate::servercode::require_admin;
use crate::AppState;

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/apps/{app}/hooks/executions/query", post(query))
        .route("/apps/{app}/hooks/executions/{id}", get(get_one))
}

/// `POST /apps/{app}/hooks/executions/query` (`ScheduleExecutionQueryRequest`). Like every Kii
/// query body, the content type is not checked. The caller is checked before the body is read.
async fn query(State(state): State<AppState>, caller: Caller, req: Request) -> Result<Response> {
    require_admin(&caller)?;
    let body = parse_object(&read_body(req, &state).await?)?;
    let request = history::parse_request(&body)?;
    let page = history::query(state.service.storage.as_ref(), &caller.app.id, &request).await?;
    let results: Vec<Value> = page.executions.iter().map(execution_json).collect();
    let mut body = json!({
        "queryDescription": "WHERE ( scheduleExecutionQuery )",
        "results": results,
    });
    if let Some(next) = page.next {
        body["nextPaginationKey"] = next.into();
    }
    Ok(json(StatusCode::OK, body))
}

/// `GET /apps/{app}/hooks/executions/{id}`.
async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path((_app, id)): Path<(String, String)>,
) -> Result<Response> {
    require_admin(&caller)?;
    let execution = history::get(state.service.storage.as_ref(), &caller.app.id, &id).await?;
    Ok(json(StatusCode::OK, execution_json(&execution)))
}

/// An execution record as every history response shows it. Times are epoch milliseconds.
/// Beside the clients' names (`scheduleExecutionID`, `startedAt`, `finishedAt`) it carries the
/// ones Kii's documentation prints (`scheduledExecutionID`, `started`, `finished`), so code
/// written from either works. `finishedAt` and `result` are absent while it runs.
pub(crate) fn execution_json(e: &ScheduleExecution) -> Value {
    let mut v = json!({
        "scheduleExecutionID": e.id,
        "scheduledExecutionID": e.id,
        "name": e.job,
        "versionID": e.version_id,
        "status": e.status.as_str(),
        "scheduledAt": e.scheduled_at,
        "startedAt": e.started_at,
        "started": e.started_at,
        "byHand": e.by_hand,
    });
    if let Some(finished) = e.finished_at {
        v["finishedAt"] = json!(finished);
        v["finished"] = json!(finished);
    }
    if let Some(result) = &e.result {
        v["result"] = json!(result);
    }
    v
}
