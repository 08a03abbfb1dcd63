//! Kumo's Server Code engine: deploy-time verification and instrumentation of user JavaScript,
//! bytecode compilation, and running one endpoint per invocation under limits (wall clock,
//! steps, memory, stack, log bytes) on a bounded pool of threads, in a QuickJS realm that is
//! built once per thread and kind and put back to its saved state after every run, so each run
//! finds it exactly as the first one did.
//!
//! The engine knows nothing about HTTP or storage: everything user code may reach (the Kii API,
//! outbound HTTP, an admin token, the developer log) goes through the [`Host`] trait.

mod bytecode;
mod node;
mod parts;
mod pool;
mod realm;
mod region;
mod sandbox;
mod scheduler;
mod sdk;
pub mod verify;

use std::sync::Arc;
use std::time::{Duration, Instant};

pub use bytecode::{check, compile, CompileError, Program};
pub use pool::{Busy, Engine, EngineConfig};
pub use scheduler::Load;

/// Limits applied to every invocation. Each one, when hit, ends the run with its own error code.
#[derive(Debug, Clone)]
pub struct Limits {
    pub timeout: Duration,
    pub max_steps: u64,
    pub memory_bytes: usize,
    pub stack_bytes: usize,
    pub log_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_millis(20_000),
            max_steps: 1_000,
            memory_bytes: 64 << 20,
            stack_bytes: 512 << 10,
            log_bytes: 64 << 10,
        }
    }
}

/// The app a run belongs to, as `Kii` and `context` report it.
#[derive(Debug, Clone)]
pub struct AppEnv {
    pub app_id: String,
    pub app_key: String,
    pub base_url: String,
}

/// One run of one endpoint.
pub struct Invocation {
    pub program: Arc<Program>,
    pub endpoint: String,
    /// The request body: a JSON object.
    pub params_json: String,
    /// The caller's bearer token (`context.getAccessToken()`), `None` when anonymous.
    pub caller_token: Option<String>,
    pub env: AppEnv,
    pub limits: Limits,
    pub host: Arc<dyn Host>,
}

/// How a run ended, as far as the caller is concerned.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub result: Result<Returned, Failure>,
    /// Executed steps (one per executed statement of user code).
    pub steps: u64,
}

/// A successful result.
#[derive(Debug, Clone, PartialEq)]
pub enum Returned {
    /// The JSON text of the returned value; `None` when it was `undefined` (or a function).
    Value(Option<String>),
    /// The run timed out and the code had set `context._timeoutResponse` (this JSON).
    TimeoutResponse(String),
}

/// Why a run failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    /// One line (Kii's SDK parses it with a single-line pattern).
    pub message: String,
    /// Where user code threw, when it threw an `Error`.
    pub stack: Option<String>,
}

impl Failure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
            stack: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The version defines no function of that name.
    EndpointNotFound,
    /// User code threw (or a promise it left behind was rejected and nothing else could happen).
    Exception,
    Timeout,
    StepLimit,
    MemoryLimit,
    StackOverflow,
    LogLimit,
    /// The result could not be turned into JSON (a cycle, a BigInt).
    ResultNotSerializable,
}

impl FailureKind {
    /// The `details.errorCode` of the Kii error body.
    pub fn code(self) -> &'static str {
        match self {
            FailureKind::EndpointNotFound => "ENDPOINT_NOT_FOUND",
            FailureKind::Exception => "UNCAUGHT_EXCEPTION",
            FailureKind::Timeout => "EXECUTION_TIMEOUT",
            FailureKind::StepLimit => "STEP_LIMIT_EXCEEDED",
            FailureKind::MemoryLimit => "MEMORY_LIMIT_EXCEEDED",
            FailureKind::StackOverflow => "STACK_LIMIT_EXCEEDED",
            FailureKind::LogLimit => "LOG_LIMIT_EXCEEDED",
            FailureKind::ResultNotSerializable => "RESULT_NOT_SERIALIZABLE",
        }
    }
}

/// A line of `console` output or a runtime warning, for the developer log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub time_ms: i64,
    pub level: LogLevel,
    pub message: String,
    /// A warning from the runtime itself (e.g. an extra `done` call) rather than `console`.
    pub runtime: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
        }
    }
}

/// A Kii REST request made by the in-sandbox SDK.
#[derive(Debug, Clone)]
pub struct HostRequest {
    pub method: String,
    /// Relative to the API root, e.g. `/apps/{app}/buckets/b/objects?x=1`.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

#[derive(Debug, Clone)]
pub struct HostResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Everything user code can reach outside its realm. Calls block the engine thread that makes
/// them, never the HTTP reactor.
///
/// Each blocking call gets the run's deadline and must return by it (with any error: the run
/// then ends as a timeout whatever the call returned). The engine cannot take a thread back
/// from a call that ignores it.
pub trait Host: Send + Sync {
    /// Serve a Kii REST request in-process, marked as coming from server code.
    fn kii(&self, request: HostRequest, deadline: Instant) -> HostResponse;
    /// Outbound HTTP for `$.ajax`; `Err` carries the message user code sees.
    fn fetch(
        &self,
        url: &str,
        request: HostRequest,
        deadline: Instant,
    ) -> Result<HostResponse, String>;
    /// An app-admin token for `context.getAppAdminContext()`.
    fn admin_token(&self, deadline: Instant) -> Result<String, String>;
    /// The lines a run logged until its answer, handed over just before the answer goes out:
    /// a caller that got the answer finds them in the log, and runs answered one after
    /// another log in that order.
    fn answering(&self, logs: Vec<LogLine>);
    /// Called once per run when nothing more can happen, with the lines logged after the
    /// answer (code keeps running after it, as on Kii).
    fn finished(&self, logs: Vec<LogLine>);
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
