//! Running a schedule job by hand (a Kumo extension; admin only).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum::Router;

use super::executions::execution_json;
use super::json;
use crate::auth::Caller;
use crate::error::Result;
use crate::servercode::require_admin;
use crate::AppState;

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    router.route(
        "/apps/{app}/hooks/versions/current/jobs/{job}/run",
        post(run_now),
    )
}

/// `POST /apps/{app}/hooks/versions/current/jobs/{job}/run`: runs the current version's job
/// once, now, and answers its execution record when it ends.
async fn run_now(
    State(state): State<AppState>,
    caller: Caller,
    Path((_app, job)): Path<(String, String)>,
) -> Result<Response> {
    require_admin(&caller)?;
    let execution =
        crate::hooks::run_job_now(&state.service, &state.server_code, &caller.app, &job).await?;
    Ok(json(StatusCode::OK, execution_json(&execution)))
}
