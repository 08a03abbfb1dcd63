//! Server-code REST: deploy and manage versions (admin), run endpoints (anyone), and read the
//! developer log (admin).

use std::collections::HashMap;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use kumo_engine::{FailureKind, Returned};
use kumo_storage::{DevLogFilter, DevLogLevel};
use kumo_types::{ApiError, ErrorCode};
use serde_json::{json, Value};

use super::{json, no_content};
use crate::auth::Caller;
use crate::error::{error_response, Error, Result};
use crate::http::read_body;
use crate::servercode::{devlog, multipart, RunRequest};
use crate::AppState;

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/apps/{app}/server-code", post(deploy))
        .route("/apps/{app}/server-code/versions", get(list))
        .route(
            "/apps/{app}/server-code/versions/current",
            get(get_current).put(set_current).delete(clear_current),
        )
        .route(
            "/apps/{app}/server-code/versions/{version}",
            get(download).delete(delete),
        )
        .route(
            "/apps/{app}/server-code/versions/{version}/{endpoint}",
            post(execute),
        )
        .route("/apps/{app}/developer-log", get(developer_log))
}

/// `POST /apps/{app}/server-code`: the raw source, or multipart with `metadata`
/// (`{"environmentVersion": …}`) and `server-code` parts.
async fn deploy(State(state): State<AppState>, caller: Caller, req: Request) -> Result<Response> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = read_body(req, &state).await?;
    let (source, environment_version) =
        if content_type.to_ascii_lowercase().starts_with("multipart/") {
            split_multipart(&content_type, &body)?
        } else {
            (body.to_vec(), None)
        };
    let version_id = state
        .server_code
        .deploy(&state.service, &caller, source, environment_version)
        .await?;
    let mut res = super::json_as(
        StatusCode::CREATED,
        super::media::SERVER_CODE_DEPLOYMENT,
        json!({ "versionID": version_id }),
    );
    let h = res.headers_mut();
    if let Ok(location) = HeaderValue::from_str(&format!(
        "/api/apps/{}/server-code/versions/{version_id}",
        caller.app.id
    )) {
        h.insert(header::LOCATION, location);
    }
    Ok(res)
}

fn split_multipart(content_type: &str, body: &[u8]) -> Result<(Vec<u8>, Option<String>)> {
    let malformed = || ApiError::invalid_field("server-code", "Malformed multipart body");
    let boundary = multipart::boundary(content_type).ok_or_else(malformed)?;
    let parts = multipart::parse(body, &boundary).ok_or_else(malformed)?;
    let code = parts
        .iter()
        .find(|p| p.name == "server-code")
        .ok_or_else(|| {
            ApiError::invalid_field("server-code", "The 'server-code' part is missing")
        })?;
    let environment_version = match parts.iter().find(|p| p.name == "metadata") {
        None => None,
        Some(meta) => {
            let meta: Value = serde_json::from_slice(meta.body).map_err(|_| {
                Error::new(
                    ErrorCode::InvalidJson,
                    "The 'metadata' part is not valid JSON",
                )
            })?;
            match meta.get("environmentVersion") {
                None | Some(Value::Null) => None,
                Some(Value::String(v)) => Some(v.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                Some(_) => {
                    return Err(ApiError::invalid_field(
                        "environmentVersion",
                        "environmentVersion must be a string such as \"16\"",
                    )
                    .into())
                }
            }
        }
    };
    Ok((code.body.to_vec(), environment_version))
}

async fn list(State(state): State<AppState>, caller: Caller) -> Result<Response> {
    let versions = state.server_code.list(&state.service, &caller).await?;
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| {
            json!({
                "versionID": v.version_id,
                "environmentVersion": v.environment_version,
                "createdAt": v.created_at,
                "modifiedAt": v.modified_at,
                "current": v.current,
            })
        })
        .collect();
    Ok(json(StatusCode::OK, json!({ "versions": versions })))
}

async fn download(
    State(state): State<AppState>,
    Path((_, version)): Path<(String, String)>,
    caller: Caller,
) -> Result<Response> {
    let source = state
        .server_code
        .download(&state.service, &caller, &version)
        .await?;
    let mut res = (StatusCode::OK, source).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/javascript"),
    );
    Ok(res)
}

async fn delete(
    State(state): State<AppState>,
    Path((_, version)): Path<(String, String)>,
    caller: Caller,
) -> Result<Response> {
    state
        .server_code
        .delete(&state.service, &caller, &version)
        .await?;
    Ok(no_content())
}

async fn get_current(State(state): State<AppState>, caller: Caller) -> Result<Response> {
    let version = state
        .server_code
        .get_current(&state.service, &caller)
        .await?;
    let mut res = (StatusCode::OK, version).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(res)
}

/// `PUT …/versions/current` with the version ID as the plain-text body (a JSON string works too).
async fn set_current(
    State(state): State<AppState>,
    caller: Caller,
    req: Request,
) -> Result<Response> {
    let body = read_body(req, &state).await?;
    let text = std::str::from_utf8(&body).unwrap_or_default().trim();
    let version = serde_json::from_str::<String>(text).unwrap_or_else(|_| text.to_owned());
    state
        .server_code
        .set_current(&state.service, &caller, Some(&version))
        .await?;
    Ok(no_content())
}

async fn clear_current(State(state): State<AppState>, caller: Caller) -> Result<Response> {
    state
        .server_code
        .set_current(&state.service, &caller, None)
        .await?;
    Ok(no_content())
}

/// `POST …/versions/{current|id}/{endpoint}[?environment-version=…]`.
async fn execute(
    State(state): State<AppState>,
    Path((_, version, endpoint)): Path<(String, String, String)>,
    caller: Caller,
    Query(query): Query<HashMap<String, String>>,
    req: Request,
) -> Result<Response> {
    let token = bearer_token(req.headers());
    let params = read_body(req, &state).await?;
    let run = state
        .server_code
        .execute(
            &state.service,
            &caller,
            RunRequest {
                token,
                version,
                endpoint,
                params,
                environment_override: query.get("environment-version").cloned(),
            },
        )
        .await?;
    let mut res = match run.outcome.result {
        Ok(Returned::Value(Some(value))) => success(format!("{{\"returnedValue\":{value}}}")),
        // `undefined` has no JSON form: the key is left out, as JSON.stringify does.
        Ok(Returned::Value(None)) => success("{}".to_owned()),
        Ok(Returned::TimeoutResponse(value)) => success(format!(
            "{{\"returnedValue\":{{\"_timeoutResponse\":{value}}}}}"
        )),
        Err(failure) => {
            let (message, details_message) = match failure.kind {
                FailureKind::EndpointNotFound => (
                    "The endpoint is not defined in this server code version",
                    failure.message,
                ),
                _ => (
                    "Error found while executing the developer-defined code",
                    failure.message,
                ),
            };
            let mut details = json!({"errorCode": failure.kind.code(), "message": details_message});
            if let Some(stack) = failure.stack {
                details["stack"] = json!(stack);
            }
            let error =
                ApiError::new(ErrorCode::EndpointInvocationError, message).with("details", details);
            error_response(&error)
        }
    };
    let h = res.headers_mut();
    h.insert("x-step-count", HeaderValue::from(run.outcome.steps));
    if let Ok(v) = HeaderValue::from_str(&run.environment_version) {
        h.insert("x-environment-version", v);
    }
    Ok(res)
}

fn success(body: String) -> Response {
    let mut res = (StatusCode::OK, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    res
}

fn bearer_token(headers: &axum::http::HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// `GET /apps/{app}/developer-log?level=&since=&until=&userID=&limit=`: the newest matching
/// records, oldest first. `level` keeps that level and more severe ones; times are epoch ms.
async fn developer_log(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response> {
    let number = |key: &str| -> Result<Option<i64>> {
        query
            .get(key)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    ApiError::invalid_field(key, format!("{key} must be epoch milliseconds")).into()
                })
            })
            .transpose()
    };
    let min_level = query
        .get("level")
        .map(|v| {
            DevLogLevel::parse(v).ok_or_else(|| {
                ApiError::invalid_field("level", "level must be DEBUG, INFO, WARN or ERROR")
            })
        })
        .transpose()?;
    let filter = DevLogFilter {
        min_level,
        since_ms: number("since")?,
        until_ms: number("until")?,
        user_id: query.get("userID").cloned(),
        limit: number("limit")?.unwrap_or(100),
    };
    let records = state
        .server_code
        .developer_log(&state.service, &caller, &filter)
        .await?;
    let records: Vec<Value> = records
        .iter()
        .map(|r| devlog::wire(&caller.app.id, r))
        .collect();
    Ok(json(StatusCode::OK, json!({ "records": records })))
}
