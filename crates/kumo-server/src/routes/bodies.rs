//! Object bodies (`…/objects/{id}/body` in the app, user and group scopes): whole uploads and
//! downloads streamed through chunk rows, uploads in pieces (`Content-Range`), ranged reads
//! (`Range` → 206), publication, and the published bodies' public route.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use futures_util::StreamExt;
use kumo_storage::BodyInfo;
use kumo_types::{now_ms, ErrorCode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::media::with_last_modified;
use super::objects::ScopedPath;
use super::{json_as, no_content};
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::http::{parse_object, read_body};
use crate::service::{body_stream, PieceRange};
use crate::AppState;

const UPLOAD_START: &str = "application/vnd.kii.StartObjectBodyUploadResponse+json";
const PUBLICATION: &str = "application/vnd.kii.ObjectBodyPublicationResponse+json";

pub fn routes(mut router: Router<AppState>) -> Router<AppState> {
    for prefix in [
        "/apps/{app}",
        "/apps/{app}/users/{user}",
        "/apps/{app}/groups/{group}",
        "/apps/{app}/things/{thing}",
    ] {
        let body = format!("{prefix}/buckets/{{bucket}}/objects/{{object}}/body");
        let uploads = format!("{body}/uploads");
        router = router
            .route(
                &body,
                get(download)
                    .head(head)
                    .put(upload)
                    .delete(delete)
                    .layer(DefaultBodyLimit::disable()),
            )
            .route(&format!("{body}/publish"), post(publish))
            .route(&uploads, post(start_upload))
            .route(
                &format!("{uploads}/{{upload}}/data"),
                put(upload_piece).layer(DefaultBodyLimit::disable()),
            )
            .route(
                &format!("{uploads}/{{upload}}/status/committed"),
                post(commit_upload),
            )
            .route(
                &format!("{uploads}/{{upload}}/status/cancelled"),
                post(cancel_upload),
            );
    }
    router.route("/public/bodies/{publication}", get(public_body))
}

#[derive(Deserialize)]
struct UploadPath {
    upload: String,
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).map(|v| v.to_str().unwrap_or("\u{0}"))
}

async fn upload(
    State(state): State<AppState>,
    Path(p): Path<ScopedPath>,
    caller: Caller,
    req: Request,
) -> Result<Response> {
    let headers = req.headers().clone();
    let declared = header_str(&headers, header::CONTENT_LENGTH).and_then(|v| v.parse().ok());
    let mut data = req.into_body().into_data_stream();
    let info = state
        .service
        .upload_body(
            &caller,
            &p.bucket(),
            p.object(),
            header_str(&headers, header::CONTENT_TYPE),
            declared,
            state.max_object_body_bytes,
            &mut data,
        )
        .await;
    let info = match info {
        Ok(info) => info,
        Err(e) => return Err(drained(data, p.naming(e)).await),
    };
    let res = json_as(
        StatusCode::OK,
        "application/json",
        json!({"modifiedAt": info.modified_at}),
    );
    Ok(with_etag(res, &info))
}

/// How much of a refused upload's remaining body is read (and dropped) before the error is
/// sent, so that a client still sending a small body reads the answer instead of a reset.
/// A larger rest is not waited for: the connection closes after the answer.
const DRAIN_AT_MOST: usize = 4 * 1024 * 1024;

async fn drained(mut data: axum::body::BodyDataStream, e: Error) -> Error {
    let mut seen = 0;
    while seen <= DRAIN_AT_MOST {
        match data.next().await {
            Some(Ok(b)) => seen += b.len(),
            _ => break,
        }
    }
    e
}

fn with_etag(mut res: Response, info: &BodyInfo) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", info.upload_id)) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

/// The headers every answer about a body carries.
fn described(mut res: Response, info: &BodyInfo) -> Response {
    let ct = HeaderValue::from_str(&info.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    res.headers_mut().insert(header::CONTENT_TYPE, ct);
    res.headers_mut()
        .insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    with_last_modified(with_etag(res, info), info.modified_at)
}

/// A `Range` header against a body of `len` bytes: `Ok(None)` for the whole body, the
/// half-open byte range otherwise. One range only (`bytes=a-b`, `bytes=a-`, `bytes=-n`);
/// anything else, or a range outside the body, cannot be satisfied.
fn byte_range(v: &str, len: u64) -> std::result::Result<(u64, u64), ()> {
    let spec = v.trim().strip_prefix("bytes=").ok_or(())?.trim();
    if spec.contains(',') {
        return Err(());
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let num = |s: &str| -> std::result::Result<u64, ()> {
        let s = s.trim();
        if s.is_empty() || s.len() > 19 || !s.bytes().all(|c| c.is_ascii_digit()) {
            return Err(());
        }
        s.parse().map_err(|_| ())
    };
    if a.trim().is_empty() {
        let n = num(b)?;
        if n == 0 || len == 0 {
            return Err(());
        }
        return Ok((len.saturating_sub(n), len));
    }
    let start = num(a)?;
    let end = if b.trim().is_empty() {
        len
    } else {
        num(b)?.saturating_add(1).min(len)
    };
    if start >= len || start >= end {
        return Err(());
    }
    Ok((start, end))
}

/// Streams `info`'s bytes, all of them or the requested range.
fn body_response(
    state: &AppState,
    app_id: &str,
    info: BodyInfo,
    range: Option<&str>,
) -> Result<Response> {
    let len = info.length as u64;
    let (status, from, to) = match range {
        None => (StatusCode::OK, 0, len),
        Some(r) => match byte_range(r, len) {
            Ok((a, b)) => (StatusCode::PARTIAL_CONTENT, a, b),
            Err(()) => {
                let mut res = crate::error::error_response(&kumo_types::ApiError::new(
                    ErrorCode::ObjectBodyRangeNotSatisfiable,
                    format!("The range {r:?} is not within the body's {len} bytes"),
                ));
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                    res.headers_mut().insert(header::CONTENT_RANGE, v);
                }
                return Ok(res);
            }
        },
    };
    let stream = body_stream(
        state.service.storage.clone(),
        app_id.to_owned(),
        info.upload_id.clone(),
        from,
        to,
    );
    let mut res = (status, Body::from_stream(stream)).into_response();
    res.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(to - from));
    if status == StatusCode::PARTIAL_CONTENT {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {}-{}/{len}", from, to - 1)) {
            res.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(described(res, &info))
}

async fn download(
    State(state): State<AppState>,
    Path(p): Path<ScopedPath>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response> {
    let info = state
        .service
        .body_to_read(&caller, &p.bucket(), p.object())
        .await
        .map_err(|e| p.naming(e))?;
    body_response(
        &state,
        &caller.app.id,
        info,
        header_str(&headers, header::RANGE),
    )
}

/// `HEAD …/body`: whether the object has a body, as Kii's reference answers it: `204` with
/// the body's type, entity tag and modification time.
async fn head(
    State(state): State<AppState>,
    Path(p): Path<ScopedPath>,
    caller: Caller,
) -> Result<Response> {
    let info = state
        .service
        .body_to_read(&caller, &p.bucket(), p.object())
        .await
        .map_err(|e| p.naming(e))?;
    let mut res = described(no_content(), &info);
    res.headers_mut().remove(header::ACCEPT_RANGES);
    Ok(res)
}

async fn delete(
    State(state): State<AppState>,
    Path(p): Path<ScopedPath>,
    caller: Caller,
) -> Result<Response> {
    state
        .service
        .delete_body(&caller, &p.bucket(), p.object())
        .await
        .map_err(|e| p.naming(e))?;
    Ok(no_content())
}

/// `expiresAt` (epoch ms, in the future) or `expiresIn` (seconds, positive); neither: never.
fn expiry(body: &serde_json::Map<String, Value>) -> Result<Option<i64>> {
    let bad = |field: &str, what: &str| {
        Error(
            kumo_types::ApiError::new(ErrorCode::InvalidInputData, format!("{field} {what}"))
                .with("field", field),
        )
    };
    let now = now_ms();
    if let Some(v) = body.get("expiresAt").filter(|v| !v.is_null()) {
        // The SDK's publishBodyExpiresAt sends the Date it is given, which JSON makes an
        // ISO 8601 string; epoch milliseconds are taken too.
        let at = v
            .as_i64()
            .or_else(|| {
                let text = v.as_str().filter(|t| t.len() <= 64)?;
                chrono::DateTime::parse_from_rfc3339(text)
                    .ok()
                    .map(|d| d.timestamp_millis())
            })
            .ok_or_else(|| {
                bad(
                    "expiresAt",
                    "must be a time: epoch milliseconds or an ISO 8601 date",
                )
            })?;
        if at <= now {
            return Err(bad("expiresAt", "must be in the future"));
        }
        return Ok(Some(at));
    }
    if let Some(v) = body.get("expiresIn").filter(|v| !v.is_null()) {
        let secs = v
            .as_i64()
            .filter(|&s| s > 0)
            .ok_or_else(|| bad("expiresIn", "must be a positive number of seconds"))?;
        return Ok(Some(
            secs.checked_mul(1000)
                .and_then(|ms| ms.checked_add(now))
                .unwrap_or(i64::MAX),
        ));
    }
    Ok(None)
}

/// Where this request came in: `scheme://host` (behind a proxy, `X-Forwarded-Proto` and
/// `X-Forwarded-Host` when it sets them).
fn origin(headers: &HeaderMap) -> String {
    let pick = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(',').next().unwrap_or("").trim().to_owned())
            .filter(|v| {
                !v.is_empty()
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
            })
    };
    let scheme = match pick("x-forwarded-proto").as_deref() {
        Some("https") => "https",
        _ => "http",
    };
    let host = pick("x-forwarded-host")
        .or_else(|| pick("host"))
        .unwrap_or_else(|| "localhost".into());
    format!("{scheme}://{host}")
}

async fn publish(
    State(state): State<AppState>,
    Path(p): Path<ScopedPath>,
    caller: Caller,
    req: Request,
) -> Result<Response> {
    let headers = req.headers().clone();
    let bytes = read_body(req, &state).await?;
    let body = if bytes.iter().all(u8::is_ascii_whitespace) {
        serde_json::Map::new()
    } else {
        parse_object(&bytes)?
    };
    let expires_at = expiry(&body)?;
    let id = state
        .service
        .publish_body(&caller, &p.bucket(), p.object(), expires_at)
        .await
        .map_err(|e| p.naming(e))?;
    let url = match &state.public_url {
        Some(base) => format!("{base}/public/bodies/{id}"),
        None => format!("{}/api/public/bodies/{id}", origin(&headers)),
    };
    Ok(json_as(
        StatusCode::CREATED,
        PUBLICATION,
        json!({"url": url, "expiresAt": expires_at}),
    ))
}

/// `GET /api/public/bodies/{id}`: a published body, for anyone holding its URL (no token,
/// no app headers), until the publication expires.
async fn public_body(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let (app_id, info) = state.service.published_body(&id).await?;
    body_response(&state, &app_id, info, header_str(&headers, header::RANGE))
}

async fn start_upload(
    State(state): State<AppState>,
    Path(p): Path<ScopedPath>,
    caller: Caller,
    req: Request,
) -> Result<Response> {
    // The body (`{}` or `{"clientHash": …}`) must be JSON if there is one; nothing in it
    // changes what happens.
    let bytes = read_body(req, &state).await?;
    if !bytes.iter().all(u8::is_ascii_whitespace) {
        parse_object(&bytes)?;
    }
    let id = state
        .service
        .start_body_upload(&caller, &p.bucket(), p.object())
        .await
        .map_err(|e| p.naming(e))?;
    Ok(json_as(
        StatusCode::OK,
        UPLOAD_START,
        json!({"uploadID": id}),
    ))
}

async fn upload_piece(
    State(state): State<AppState>,
    Path(p): Path<ScopedPath>,
    Path(u): Path<UploadPath>,
    caller: Caller,
    req: Request,
) -> Result<Response> {
    let headers = req.headers().clone();
    let range = header_str(&headers, header::CONTENT_RANGE)
        .and_then(PieceRange::parse)
        .ok_or_else(|| {
            Error(
                kumo_types::ApiError::new(
                    ErrorCode::InvalidInputData,
                    "Content-Range is required, as bytes=START-END/TOTAL",
                )
                .with("field", "Content-Range"),
            )
        })?;
    let mut data = req.into_body().into_data_stream();
    let done = state
        .service
        .upload_piece(
            &caller,
            &p.bucket(),
            p.object(),
            &u.upload,
            header_str(&headers, header::CONTENT_TYPE),
            range,
            state.max_object_body_bytes,
            &mut data,
        )
        .await;
    match done {
        Ok(()) => Ok(no_content()),
        Err(e) => Err(drained(data, p.naming(e)).await),
    }
}

async fn commit_upload(
    State(state): State<AppState>,
    Path(p): Path<ScopedPath>,
    Path(u): Path<UploadPath>,
    caller: Caller,
) -> Result<Response> {
    state
        .service
        .commit_body_upload(&caller, &p.bucket(), p.object(), &u.upload)
        .await
        .map_err(|e| p.naming(e))?;
    Ok(no_content())
}

async fn cancel_upload(
    State(state): State<AppState>,
    Path(p): Path<ScopedPath>,
    Path(u): Path<UploadPath>,
    caller: Caller,
) -> Result<Response> {
    state
        .service
        .cancel_body_upload(&caller, &p.bucket(), p.object(), &u.upload)
        .await
        .map_err(|e| p.naming(e))?;
    Ok(no_content())
}
