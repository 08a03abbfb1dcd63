//! A version's hook config (admin): `PUT`, `GET` (and `HEAD`), `DELETE`
//! `/apps/{app}/hooks/versions/{versionID}`.

use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use kumo_types::ErrorCode;

use super::no_content;
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::hooks::config::MAX_CONFIG_BYTES;
use crate::http::read_body;
use crate::servercode::require_admin;
use crate::AppState;

/// The content types a hook config is accepted in: Kii's, and plain JSON for curl users.
const CONTENT_TYPES: &[&str] = &[
    "application/vnd.kii.hooksdeploymentrequest+json",
    "application/json",
];

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    router.route(
        "/apps/{app}/hooks/versions/{version}",
        // GET also answers HEAD, without the body.
        get(get_config)
            .put(put_config)
            .delete(delete_config)
            // Refused from its Content-Length (or once this much was read), not after
            // reading the server's general body limit.
            .layer(DefaultBodyLimit::max(MAX_CONFIG_BYTES)),
    )
}

async fn put_config(
    State(state): State<AppState>,
    Path((_, version)): Path<(String, String)>,
    caller: Caller,
    req: Request,
) -> Result<Response> {
    require_admin(&caller)?;
    check_content_type(req.headers())?;
    let body = read_body(req, &state).await?;
    state
        .server_code
        .put_hook_config(&state.service, &caller, &version, body)
        .await?;
    Ok(no_content())
}

async fn get_config(
    State(state): State<AppState>,
    Path((_, version)): Path<(String, String)>,
    caller: Caller,
) -> Result<Response> {
    let text = state
        .server_code
        .get_hook_config(&state.service, &caller, &version)
        .await?;
    let mut res = (StatusCode::OK, text).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(res)
}

async fn delete_config(
    State(state): State<AppState>,
    Path((_, version)): Path<(String, String)>,
    caller: Caller,
) -> Result<Response> {
    state
        .server_code
        .delete_hook_config(&state.service, &caller, &version)
        .await?;
    Ok(no_content())
}

fn check_content_type(headers: &axum::http::HeaderMap) -> Result<()> {
    let sent = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media_type = sent.split(';').next().unwrap_or_default().trim();
    if CONTENT_TYPES
        .iter()
        .any(|t| media_type.eq_ignore_ascii_case(t))
    {
        return Ok(());
    }
    Err(Error::new(
        ErrorCode::UnsupportedMediaType,
        format!(
            "Send a hook config as application/vnd.kii.HooksDeploymentRequest+json (or application/json), not '{}'",
            media_type.chars().take(100).collect::<String>()
        ),
    ))
}
