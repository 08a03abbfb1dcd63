//! Cross-cutting HTTP behaviour: path normalisation, CORS, request logging, the JSON body
//! extractor, and a safety net that turns any bare error response into a Kii error body.

use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kumo_types::{ApiError, ErrorCode};
use serde_json::{Map, Value};

use crate::error::{code_for_status, error_response, Error};
use crate::AppState;

/// Collapses `//` (the SDK produces `/api//oauth2/token` when the site URL ends in `/`) and
/// drops a trailing slash (`/groups/?owner=…`), so routes match either spelling.
fn normalize_path(req: &mut Request) {
    let path = req.uri().path();
    // The console's index is `/console/`: relative URLs in it resolve against that slash.
    if path.starts_with("/console/") {
        return;
    }
    if path.contains("//") || (path.len() > 1 && path.ends_with('/')) {
        let mut clean = String::with_capacity(path.len());
        for seg in path.split('/').filter(|s| !s.is_empty()) {
            clean.push('/');
            clean.push_str(seg);
        }
        if clean.is_empty() {
            clean.push('/');
        }
        if let Some(q) = req.uri().query() {
            clean.push('?');
            clean.push_str(q);
        }
        if let Ok(uri) = clean.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
}

const EXPOSED: &str = "ETag, X-Step-count, X-Environment-version";
const ALLOWED_METHODS: &str = "GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS";
const DEFAULT_ALLOWED_HEADERS: &str = "accept, authorization, content-type, if-match, \
     if-none-match, x-http-method-override, x-kii-appid, x-kii-appkey, x-kii-sdk";

/// Every request's way in and every response's way out, in one layer around the router (each
/// layer costs a boxed future per request): the path is normalised and user addresses become
/// IDs before the route is chosen; browsers get every preflight answered without
/// authentication and can read every response cross-origin (errors included), with the headers
/// the SDK needs exposed; a bare error response becomes a Kii error body; and the request is
/// logged at debug level.
pub async fn edge(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    normalize_path(&mut req);
    if req.method() == Method::OPTIONS {
        return preflight(&req);
    }
    let logged = tracing::enabled!(tracing::Level::DEBUG).then(|| {
        (
            Instant::now(),
            req.method().clone(),
            req.uri().path().to_owned(),
        )
    });
    // One middleware for both: each layer costs every request a boxed future.
    // Addresses in paths (`users/me`, `LOGIN_NAME:…`, `VENDOR_THING_ID:…`) become IDs before
    // routing, so no route sees anything else.
    let req = crate::thing_paths::resolve(&state, req).await;
    let res = match crate::user_paths::resolve(&state, req).await {
        Ok(req) => next.run(req).await,
        Err(refused) => refused,
    };
    let mut res = kii_errors(res).await;
    if let Some((started, method, path)) = logged {
        tracing::debug!(%method, %path, status = res.status().as_u16(), micros = started.elapsed().as_micros() as u64, "request");
    }
    add_cors_headers(res.headers_mut());
    res
}

fn preflight(req: &Request) -> Response {
    let allow_headers = req
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or(HeaderValue::from_static(DEFAULT_ALLOWED_HEADERS));
    let mut res = StatusCode::NO_CONTENT.into_response();
    let h = res.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOWED_METHODS),
    );
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allow_headers);
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    add_cors_headers(h);
    res
}

fn add_cors_headers(h: &mut HeaderMap) {
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED),
    );
}

/// Any error response that is not already a JSON body (an extractor's rejection, the
/// router's 404/405) is rewritten into `{"errorCode", "message"}`. Kii bodies are plain JSON
/// or one of Kii's `application/vnd.kii.…+json` exception types.
async fn kii_errors(res: Response) -> Response {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.starts_with("application/json")
                || (ct.starts_with("application/vnd.kii.") && ct.ends_with("+json"))
        });
    if is_json {
        return res;
    }
    let text = axum::body::to_bytes(res.into_body(), 4096)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    // The SDK passes error bodies through decodeURIComponent; a raw `%` would garble them.
    let text = text.replace('%', " percent");
    error_response(&ApiError::new(code_for_status(status), text))
}

/// Answers unknown paths.
pub async fn not_found(uri: Uri) -> Error {
    Error::new(
        ErrorCode::NotFound,
        format!("No such resource: {}", uri.path()),
    )
}

/// Answers a known path with the wrong method.
pub async fn method_not_allowed(method: Method) -> Error {
    Error::new(
        ErrorCode::MethodNotAllowed,
        format!("Method {method} is not allowed here"),
    )
}

/// A request body that must be a JSON object. Content types are not checked: Kii clients
/// send vendor types (`application/vnd.kii.*+json`) and sometimes none at all.
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = Error;

    async fn from_request(req: Request<Body>, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state).await?;
        parse_object(&bytes).map(JsonObject)
    }
}

pub async fn read_body<S: Send + Sync>(req: Request<Body>, state: &S) -> Result<Bytes, Error> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::new(ErrorCode::RequestTooLarge, "The request body is too large")
        } else {
            Error::new(
                ErrorCode::InvalidInputData,
                "The request body could not be read",
            )
        }
    })
}

pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::new(
            ErrorCode::InvalidJson,
            "A JSON object body is required",
        ));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::new(
            ErrorCode::InvalidInputData,
            "The body must be a JSON object",
        )),
        Err(e) => Err(Error::new(
            ErrorCode::InvalidJson,
            format!("The body is not valid JSON: {e}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies() {
        assert!(parse_object(br#"{"a":1}"#).is_ok());
        assert_eq!(
            parse_object(b"").unwrap_err().0.code,
            ErrorCode::InvalidJson
        );
        assert_eq!(
            parse_object(b"{").unwrap_err().0.code,
            ErrorCode::InvalidJson
        );
        assert_eq!(
            parse_object(b"[1]").unwrap_err().0.code,
            ErrorCode::InvalidInputData
        );
        assert_eq!(
            parse_object(b"\"s\"").unwrap_err().0.code,
            ErrorCode::InvalidInputData
        );
    }
}
