//! What running server code can reach: Kumo's own API, served in-process through the same
//! router (and so the same service layer, ACLs and change events) as REST, marked as coming
//! from server code; an admin token that lives as long as the run; outbound HTTP for `$.ajax`;
//! the developer log.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Request};
use axum::Router;
use kumo_engine::{Host, HostRequest, HostResponse, LogLevel, LogLine};
use kumo_storage::{App, DevLogLevel};
use kumo_types::{ApiError, ErrorCode};
use serde_json::{json, Map};
use tower::ServiceExt;

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use super::ajax_allow::AjaxAllowList;
use super::devlog::{self, DevLog};
use crate::auth::{FromServerCode, RunAdmin, RunUser};

/// Largest response body the sandbox receives from an in-process call.
const MAX_RESPONSE_BYTES: usize = 16 << 20;
/// Headers the host sets itself on in-process requests, whatever the code asked for.
const RESERVED_HEADERS: &[&str] = &[
    "x-kii-appid",
    "x-kii-appkey",
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
];

/// What the hosts of all runs share, made once when the router exists.
pub struct HostShared {
    pub router: Router,
    pub devlog: DevLog,
    pub ajax_hosts: AjaxAllowList,
    /// Outbound HTTP for `$.ajax` (shared, so connections are reused across runs); it
    /// follows only redirects `ajax_hosts` allows.
    pub http: reqwest::Client,
    /// No outbound request outlives a run's own time limit.
    pub fetch_timeout: std::time::Duration,
}

/// The host of one run.
pub struct SandboxHost {
    pub shared: Arc<HostShared>,
    pub app: App,
    /// The caller, for filtering the developer log by user.
    pub user_id: Option<String>,
    pub endpoint: String,
    pub runtime: tokio::runtime::Handle,
    /// The run's own admin token, made on its first `getAppAdminContext()`. Only this run's
    /// requests carry it, so it opens nothing elsewhere and nothing once the run is over.
    pub admin_token: OnceLock<RunAdmin>,
    /// A trigger run's stand-in token for the user who caused the event.
    pub run_user: Option<RunUser>,
    /// Started by a server hook: the run's writes fire no hooks.
    pub by_hook: bool,
}

/// Largest response body `$.ajax` hands to user code.
const MAX_FETCH_BYTES: usize = 8 << 20;

/// A host call was still waiting at the run's deadline.
struct TimedOut;

impl TimedOut {
    const MESSAGE: &'static str = "the run's time limit ran out during this call";
}

impl SandboxHost {
    /// Blocks the engine thread on `work` until it completes or the run's deadline passes; the
    /// work is dropped (cancelled) at the deadline, so a call that never answers cannot hold the
    /// thread past the run.
    fn wait_until<T>(
        &self,
        deadline: Instant,
        work: impl std::future::Future<Output = T>,
    ) -> Result<T, TimedOut> {
        // The timer is made inside the runtime: it needs the runtime's clock.
        self.runtime
            .block_on(async move { tokio::time::timeout_at(deadline.into(), work).await })
            .map_err(|_| TimedOut)
    }

    fn build(&self, request: HostRequest) -> Result<Request<Body>, String> {
        if !request.path.starts_with('/') {
            return Err(format!("not an API path: {}", request.path));
        }
        let mut builder = Request::builder()
            .method(request.method.as_str())
            .uri(format!("/api{}", request.path));
        for (name, value) in &request.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
            if RESERVED_HEADERS.contains(&name.as_str()) || name.as_str().starts_with("x-kumo-") {
                continue;
            }
            let value = HeaderValue::from_str(value).map_err(|e| e.to_string())?;
            builder = builder.header(name, value);
        }
        builder = builder
            .header("x-kii-appid", self.app.id.as_str())
            .header("x-kii-appkey", self.app.key.as_str())
            .extension(FromServerCode {
                admin: self.admin_token.get().cloned(),
                user: self.run_user.clone(),
                by_hook: self.by_hook,
            });
        builder
            .body(Body::from(request.body.unwrap_or_default()))
            .map_err(|e| e.to_string())
    }
}

impl Host for SandboxHost {
    fn kii(&self, request: HostRequest, deadline: Instant) -> HostResponse {
        let request = match self.build(request) {
            Ok(request) => request,
            Err(message) => return error_response(ErrorCode::InvalidInputData, &message),
        };
        let router = self.shared.router.clone();
        self.wait_until(deadline, async move {
            let response = match router.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let status = response.status().as_u16();
            let headers = header_pairs(response.headers());
            match axum::body::to_bytes(response.into_body(), MAX_RESPONSE_BYTES).await {
                Ok(bytes) => HostResponse {
                    status,
                    headers,
                    body: String::from_utf8_lossy(&bytes).into_owned(),
                },
                Err(e) => error_response(ErrorCode::InternalError, &e.to_string()),
            }
        })
        .unwrap_or_else(|TimedOut| {
            error_response(ErrorCode::TemporarilyUnavailable, TimedOut::MESSAGE)
        })
    }

    fn fetch(
        &self,
        url: &str,
        request: HostRequest,
        deadline: Instant,
    ) -> Result<HostResponse, String> {
        // The parsed URL is what is sent, so the host checked is the host connected to.
        let url = self.shared.ajax_hosts.check(url)?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| format!("invalid HTTP method {}", request.method))?;
        let mut builder = self
            .shared
            .http
            .request(method, url)
            .timeout(self.shared.fetch_timeout);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        self.wait_until(deadline, async move {
            let mut response = builder.send().await.map_err(|e| with_causes(&e))?;
            let status = response.status().as_u16();
            let headers = header_pairs(response.headers());
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
                if body.len() + chunk.len() > MAX_FETCH_BYTES {
                    return Err(format!(
                        "the response from {host} is larger than {MAX_FETCH_BYTES} bytes"
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(HostResponse {
                status,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            })
        })
        .unwrap_or_else(|TimedOut| Err(TimedOut::MESSAGE.to_owned()))
    }

    /// The run's admin token, made on first use (no storage, nothing to wait for).
    fn admin_token(&self, _deadline: Instant) -> Result<String, String> {
        let admin = self.admin_token.get_or_init(|| RunAdmin::new(&self.app.id));
        Ok(admin.token.to_string())
    }

    fn answering(&self, logs: Vec<LogLine>) {
        self.log(logs);
    }

    fn finished(&self, logs: Vec<LogLine>) {
        self.log(logs);
    }
}

impl SandboxHost {
    /// Queues a run's console lines for the developer log.
    fn log(&self, logs: Vec<LogLine>) {
        for line in logs {
            let level = match line.level {
                LogLevel::Debug => DevLogLevel::Debug,
                LogLevel::Info => DevLogLevel::Info,
                LogLevel::Warn => DevLogLevel::Warn,
                LogLevel::Error => DevLogLevel::Error,
            };
            let mut fields = Map::new();
            fields.insert("description".into(), json!(line.message));
            fields.insert("entry-name".into(), json!(self.endpoint));
            if line.runtime {
                // Warnings of the runtime itself (an extra `done` call), not console output.
                fields.insert("source".into(), json!("runtime"));
            }
            self.shared.devlog.push(
                &self.app.id,
                devlog::record_at(
                    line.time_ms,
                    level,
                    "servercode.log",
                    self.user_id.as_deref(),
                    fields,
                ),
            );
        }
    }
}

fn header_pairs(headers: &axum::http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect()
}

/// An error with its causes: the client's own message for a refused redirect ("error following
/// redirect") does not say why.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        message.push_str(": ");
        message.push_str(&e.to_string());
        cause = e.source();
    }
    message
}

/// A Kii error answered to the sandbox without reaching the router.
fn error_response(code: ErrorCode, message: &str) -> HostResponse {
    HostResponse {
        status: code.status(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: ApiError::new(code, message).body().to_string(),
    }
}
