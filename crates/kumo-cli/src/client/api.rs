//! The wire: Kii's REST calls as the official tools make them (`x-kii-appid`, `x-kii-appkey`,
//! `authorization: Bearer` with an app-admin token from `POST {site}/oauth2/token`), and the
//! failures a user reads: the server's `errorCode` and message, or one line saying the server
//! cannot be reached.

use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use tokio::sync::OnceCell;

use super::conn::{Connection, Credentials};

/// A request that does not answer within this long has failed (a live-log stream has its own
/// idle deadline instead).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest error body quoted back to the user.
const MAX_QUOTED: usize = 2000;

pub struct Api {
    http: reqwest::Client,
    pub conn: Connection,
    token: OnceCell<String>,
}

/// A 2xx answer.
pub struct Reply {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Result<Value> {
        serde_json::from_slice(&self.body).context("the server's answer is not JSON")
    }
}

/// A non-2xx answer, kept whole for commands that show the body.
#[derive(Debug)]
pub struct ServerError {
    pub status: StatusCode,
    pub body: Value,
    pub raw: String,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = self.body.get("errorCode").and_then(Value::as_str);
        let message = self
            .body
            .get("message")
            .or_else(|| self.body.get("error_description"))
            .and_then(Value::as_str);
        match (code, message) {
            (Some(code), Some(message)) => {
                write!(f, "{code}: {message} (HTTP {})", self.status.as_u16())
            }
            (Some(code), None) => write!(f, "{code} (HTTP {})", self.status.as_u16()),
            _ => {
                let mut raw = self.raw.trim().to_owned();
                if raw.len() > MAX_QUOTED {
                    let mut cut = MAX_QUOTED;
                    while !raw.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    raw.truncate(cut);
                    raw.push('…');
                }
                if raw.is_empty() {
                    write!(f, "HTTP {}", self.status.as_u16())
                } else {
                    write!(f, "HTTP {}: {raw}", self.status.as_u16())
                }
            }
        }
    }
}

impl std::error::Error for ServerError {}

impl Api {
    pub fn new(conn: Connection) -> Result<Api> {
        let mut b = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("kumo/", env!("CARGO_PKG_VERSION")));
        if let Some(proxy) = &conn.http_proxy {
            b = b.proxy(
                reqwest::Proxy::all(proxy).map_err(|_| anyhow!("Invalid --http-proxy: {proxy}"))?,
            );
        }
        Ok(Api {
            http: b.build().context("cannot set up the HTTP client")?,
            conn,
            token: OnceCell::new(),
        })
    }

    /// `{site}/apps/{app}{rest}`.
    pub fn app_url(&self, rest: &str) -> String {
        format!(
            "{}/apps/{}{rest}",
            self.conn.site_url,
            encode(&self.conn.app_id)
        )
    }

    fn base(&self, method: Method, url: &str) -> RequestBuilder {
        self.http
            .request(method, url)
            .header("x-kii-appid", &self.conn.app_id)
            .header("x-kii-appkey", &self.conn.app_key)
    }

    /// The app-admin token: the given one, or one obtained once per command.
    pub async fn admin_token(&self) -> Result<String> {
        self.token
            .get_or_try_init(|| async {
                match &self.conn.credentials {
                    Credentials::Token(t) => Ok(t.clone()),
                    Credentials::Client { id, secret } => {
                        let url = format!("{}/oauth2/token", self.conn.site_url);
                        let req = self
                            .base(Method::POST, &url)
                            .json(&json!({"client_id": id, "client_secret": secret}));
                        let reply = self.send(req, &url).await.map_err(|e| {
                            match e.downcast_ref::<ServerError>() {
                                Some(se) => anyhow!("cannot get an app-admin token: {se}"),
                                None => e,
                            }
                        })?;
                        let body = reply.json()?;
                        body.get("access_token")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                            .ok_or_else(|| anyhow!("the token answer has no access_token"))
                    }
                }
            })
            .await
            .cloned()
    }

    /// An admin request to `{site}/apps/{app}{rest}`.
    pub async fn admin(&self, method: Method, rest: &str, body: Body) -> Result<Reply> {
        let token = self.admin_token().await?;
        self.call(method, rest, body, Some(&token)).await
    }

    /// A request to `{site}/apps/{app}{rest}` with the given bearer token (or none).
    pub async fn call(
        &self,
        method: Method,
        rest: &str,
        body: Body,
        token: Option<&str>,
    ) -> Result<Reply> {
        let url = self.app_url(rest);
        let mut req = self.base(method, &url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req = match body {
            Body::None => req,
            Body::Json(v) => req.json(&v),
            Body::Raw { content_type, data } => req.header(CONTENT_TYPE, content_type).body(data),
        };
        self.send(req, &url).await
    }

    /// Sends with the normal deadline and turns failures into one readable error.
    pub async fn send(&self, req: RequestBuilder, url: &str) -> Result<Reply> {
        let res = self.open(req.timeout(REQUEST_TIMEOUT), url).await?;
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.bytes().await.map_err(|e| self.transport(e))?.to_vec();
        if status.is_success() {
            return Ok(Reply { headers, body });
        }
        let raw = String::from_utf8_lossy(&body).into_owned();
        let value = serde_json::from_str(&raw).unwrap_or(Value::Null);
        Err(ServerError {
            status,
            body: value,
            raw,
        }
        .into())
    }

    /// Sends and returns the response as it starts, whatever its status (the live log reads
    /// its body as it comes).
    pub async fn open(&self, req: RequestBuilder, url: &str) -> Result<reqwest::Response> {
        let started = Instant::now();
        let req = req.build().map_err(|e| self.transport(e))?;
        let method = req.method().clone();
        if self.conn.debug {
            eprintln!("> {method} {url}");
        }
        let res = self
            .http
            .execute(req)
            .await
            .map_err(|e| self.transport(e))?;
        if self.conn.debug {
            eprintln!(
                "< {} {method} {url} ({} ms)",
                res.status(),
                started.elapsed().as_millis()
            );
        }
        Ok(res)
    }

    /// A streaming GET with the admin token and no overall deadline.
    pub fn stream_request(&self, url: &str, token: &str) -> RequestBuilder {
        self.base(Method::GET, url).bearer_auth(token)
    }

    /// One line for a failure below HTTP: what could not be reached and the innermost reason.
    pub fn transport(&self, e: reqwest::Error) -> anyhow::Error {
        let reason = if e.is_timeout() {
            "timed out".to_owned()
        } else {
            innermost(&e)
        };
        anyhow!("cannot reach {}: {reason}", self.conn.site_url)
    }
}

/// The deepest cause's text, lower-cased at the start, without OS error numbers.
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    if let Some(io) = cur.downcast_ref::<std::io::Error>() {
        if io.kind() == std::io::ErrorKind::ConnectionRefused {
            return "connection refused".into();
        }
    }
    let text = cur.to_string();
    let text = match text.find(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => "failed".into(),
    }
}

pub enum Body {
    None,
    Json(Value),
    Raw {
        content_type: HeaderValue,
        data: Vec<u8>,
    },
}

impl Body {
    pub fn raw(content_type: &str, data: impl Into<Vec<u8>>) -> Body {
        Body::Raw {
            content_type: HeaderValue::from_str(content_type).expect("a valid content type"),
            data: data.into(),
        }
    }
}

/// Percent-encodes a path segment (IDs and names a user typed).
pub fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-encodes a query value.
pub fn encode_query(value: &str) -> String {
    encode(value)
}
