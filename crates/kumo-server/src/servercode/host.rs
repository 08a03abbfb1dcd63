//! What running server code can reach: Kumo's own API, served in-process through the same
//! router (and so the same service layer, ACLs and change events) as REST, marked as coming
//! from server code; an admin token; outbound HTTP for `$.ajax`; the developer log.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Request};
use axum::Router;
use kumo_engine::{Host, HostRequest, HostResponse, LogLevel, LogLine};
use kumo_storage::{App, DevLogLevel};
use serde_json::{json, Map};
use tower::ServiceExt;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::devlog::{self, DevLog};
use crate::service::{Service, SERVER_CODE_ORIGIN};

/// Largest response body the sandbox receives from an in-process call.
const MAX_RESPONSE_BYTES: usize = 16 << 20;
/// Admin tokens minted for `context.getAppAdminContext()` live this long and are reused until
/// the last ten minutes of their life.
const ADMIN_TOKEN_LIFETIME_MS: i64 = 3_600_000;
const ADMIN_TOKEN_RENEW_MS: i64 = 600_000;

/// What the hosts of all runs share, made once when the router exists.
pub struct HostShared {
    pub router: Router,
    pub service: Service,
    pub devlog: DevLog,
    pub ajax_hosts: Vec<String>,
    /// Outbound HTTP for `$.ajax` (shared, so connections are reused across runs).
    pub http: reqwest::Client,
    /// No outbound request outlives a run's own time limit.
    pub fetch_timeout: std::time::Duration,
    /// Admin tokens minted for runs, per app: (token, expires at).
    pub admin_tokens: Mutex<HashMap<String, (String, i64)>>,
}

/// The host of one run.
pub struct SandboxHost {
    pub shared: Arc<HostShared>,
    pub app: App,
    /// The caller, for filtering the developer log by user.
    pub user_id: Option<String>,
    pub endpoint: String,
    pub runtime: tokio::runtime::Handle,
}

/// Largest response body `$.ajax` hands to user code.
const MAX_FETCH_BYTES: usize = 8 << 20;

/// The host name of an `http(s)` URL (without port, user info or brackets).
fn url_host(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next();
    }
    authority.split(':').next()
}

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
            let value = HeaderValue::from_str(value).map_err(|e| e.to_string())?;
            builder = builder.header(name, value);
        }
        builder = builder
            .header("x-kii-appid", self.app.id.as_str())
            .header("x-kii-appkey", self.app.key.as_str())
            .header(SERVER_CODE_ORIGIN, self.shared.service.server_code_origin());
        builder
            .body(Body::from(request.body.unwrap_or_default()))
            .map_err(|e| e.to_string())
    }
}

impl Host for SandboxHost {
    fn kii(&self, request: HostRequest, deadline: Instant) -> HostResponse {
        let request = match self.build(request) {
            Ok(request) => request,
            Err(message) => return error_response(400, "INVALID_INPUT_DATA", &message),
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
                Err(e) => error_response(500, "UNDEFINED_ERROR", &e.to_string()),
            }
        })
        .unwrap_or_else(|TimedOut| {
            error_response(503, "TEMPORARY_UNAVAILABLE_ERROR", TimedOut::MESSAGE)
        })
    }

    fn fetch(
        &self,
        url: &str,
        request: HostRequest,
        deadline: Instant,
    ) -> Result<HostResponse, String> {
        let host = url_host(url).ok_or_else(|| format!("not an http(s) URL: {url}"))?;
        let allowed = self
            .shared
            .ajax_hosts
            .iter()
            .any(|h| h == "*" || h.eq_ignore_ascii_case(host));
        if !allowed {
            return Err(format!(
                "outbound HTTP to {host} is not allowed (the server's --ajax-allow-host)"
            ));
        }
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
            let mut response = builder.send().await.map_err(|e| e.to_string())?;
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

    /// Mints (or reuses) an admin token for the run's app, on the engine thread that asks.
    fn admin_token(&self, deadline: Instant) -> Result<String, String> {
        let tokens = &self.shared.admin_tokens;
        let now = kumo_types::now_ms();
        let cached = tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&self.app.id)
            .filter(|(_, expires)| expires - now > ADMIN_TOKEN_RENEW_MS)
            .map(|(token, _)| token.clone());
        if let Some(token) = cached {
            return Ok(token);
        }
        let expires_at = now + ADMIN_TOKEN_LIFETIME_MS;
        let token = self
            .wait_until(
                deadline,
                self.shared.service.grant_admin(&self.app, expires_at),
            )
            .map_err(|TimedOut| TimedOut::MESSAGE.to_owned())?
            .map_err(|e| format!("could not obtain an admin token: {}", e.0.message))?;
        tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(self.app.id.clone(), (token.clone(), expires_at));
        Ok(token)
    }

    fn finished(&self, logs: Vec<LogLine>) {
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

fn error_response(status: u16, code: &str, message: &str) -> HostResponse {
    HostResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: json!({"errorCode": code, "message": message}).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::url_host;

    #[test]
    fn hosts_of_urls() {
        assert_eq!(
            url_host("https://api.example.com/x?y"),
            Some("api.example.com")
        );
        assert_eq!(url_host("http://127.0.0.1:8080/"), Some("127.0.0.1"));
        assert_eq!(url_host("http://user:pw@evil.test:1/"), Some("evil.test"));
        assert_eq!(url_host("http://[::1]:80/"), Some("::1"));
        assert_eq!(url_host("file:///etc/passwd"), None);
    }
}
