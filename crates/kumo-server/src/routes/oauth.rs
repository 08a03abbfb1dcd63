use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use kumo_types::ErrorCode;

use super::json;
use crate::auth::app_not_found;
use crate::error::{Error, Result};
use crate::http::JsonObject;
use crate::service::TokenRequest;
use crate::AppState;

/// `POST /oauth2/token`: the app comes from `X-Kii-AppID` (what the SDK sends) or from
/// `Authorization: Basic base64(appID:…)` (what the REST guide shows).
pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let app_id = app_from_headers(&headers).ok_or_else(|| {
        Error::new(
            ErrorCode::AppNotFound,
            "Name the app with the X-Kii-AppID header",
        )
    })?;
    issue(&state, &app_id, body).await
}

/// `POST /apps/{app}/oauth2/token`.
pub async fn token_for_app(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    issue(&state, &app_id, body).await
}

async fn issue(
    state: &AppState,
    app_id: &str,
    body: serde_json::Map<String, serde_json::Value>,
) -> Result<Response> {
    let app = state
        .service
        .app(app_id)
        .await?
        .ok_or_else(|| app_not_found(app_id))?;
    let request = TokenRequest::parse(&body)?;
    let grant = state.service.issue_token(&app, request).await?;
    Ok(json(
        StatusCode::OK,
        serde_json::to_value(grant).expect("grant serializes"),
    ))
}

fn app_from_headers(headers: &HeaderMap) -> Option<String> {
    if let Some(id) = headers.get("x-kii-appid").and_then(|v| v.to_str().ok()) {
        return Some(id.trim().to_owned());
    }
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, creds) = auth.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(creds.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    Some(decoded.split(':').next()?.to_owned())
}
