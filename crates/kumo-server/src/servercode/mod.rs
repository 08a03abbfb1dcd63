//! Server Code: versions, the current-version pointer, running endpoints on the engine, and
//! the developer log. Handlers in `routes::servercode` call this; the engine reaches the rest of
//! Kumo only through [`host::SandboxHost`].

mod ajax_allow;
pub mod devlog;
mod hook_config;
mod host;
pub mod multipart;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use kumo_engine::{
    AppEnv, CompileError, Engine, EngineConfig, Invocation, Limits, Outcome, Program,
};
use kumo_storage::{App, CodeVersion, CodeVersionInfo, DevLogFilter, DevLogLevel, DevLogRecord};
use kumo_types::{ids, now_ms, ApiError, ErrorCode};
use serde_json::{json, Map};

use crate::auth::{Caller, RunUser};
use crate::error::{Error, Result};
use crate::service::Service;
pub use devlog::{DevLog, DevLogConfig};

/// The JavaScript environments Kii offered (Node.js major lines). All run on Kumo's engine.
pub const ENVIRONMENT_VERSIONS: &[&str] = &["0", "6", "16"];
/// What a deploy without metadata gets: Kii's default since 2017.
pub const DEFAULT_ENVIRONMENT_VERSION: &str = "6";
/// Largest accepted parameters of a run (Kii: under 100 KB).
pub const MAX_PARAMS_BYTES: usize = 100 * 1024;
/// Most developer-log records one request reads.
pub const MAX_DEVLOG_PAGE: i64 = 1_500;
/// Largest accepted server-code file.
pub const MAX_SOURCE_BYTES: usize = 4 << 20;

#[derive(Debug, Clone)]
pub struct ServerCodeConfig {
    pub limits: Limits,
    pub engine: EngineConfig,
    pub devlog: DevLogConfig,
    /// Hosts `$.ajax` may reach (exact names, or `*` for any); empty: none.
    pub ajax_hosts: Vec<String>,
    /// What `Kii.getBaseURL()` reports inside server code (the public API URL).
    pub base_url: String,
    /// How server hooks run.
    pub hooks: crate::hooks::HooksConfig,
}

impl Default for ServerCodeConfig {
    fn default() -> Self {
        ServerCodeConfig {
            limits: Limits::default(),
            engine: EngineConfig::default(),
            devlog: DevLogConfig::default(),
            ajax_hosts: Vec::new(),
            base_url: "http://127.0.0.1:8080/api".into(),
            hooks: crate::hooks::HooksConfig::default(),
        }
    }
}

/// A version ready to run.
struct Loaded {
    program: Arc<Program>,
    version_id: String,
    environment_version: String,
}

pub struct ServerCode {
    engine: Arc<Engine>,
    config: ServerCodeConfig,
    devlog: DevLog,
    /// What every run's host needs, the in-process router among it; set once the router
    /// exists, cleared at shutdown (the router holds this struct, so keeping it would be a
    /// cycle).
    hosts: Mutex<Option<Arc<host::HostShared>>>,
    /// Versions never change, so a compiled one is kept by (app, version) until the version
    /// is deleted (here, or on another node: `crate::invalidation`).
    loaded: Mutex<HashMap<(String, String), Arc<Loaded>>>,
    /// The current-version pointer per app, trusted for the token-cache time at most: this
    /// node's changes drop it at once, other nodes' when their invalidation arrives.
    current: Mutex<HashMap<String, (Option<String>, Instant)>>,
    current_ttl: Duration,
    /// Bumped by every invalidation: a version or pointer read before one is not cached
    /// (it may be what the invalidation dropped).
    generation: std::sync::atomic::AtomicU64,
    /// Told whenever an app's current version may have changed (here or, through an
    /// invalidation, on another node), so the scheduler reads the live jobs at once.
    versions_changed: tokio::sync::Notify,
    ajax_hosts: ajax_allow::AjaxAllowList,
    http: reqwest::Client,
    /// This process's name in the leases of schedule firings and trigger cursors.
    node: String,
}

/// One call of an endpoint.
pub struct RunRequest {
    /// The caller's bearer token, handed to the code as `context.getAccessToken()`.
    pub token: Option<String>,
    /// `current` or a version ID.
    pub version: String,
    pub endpoint: String,
    /// The request body: a JSON object (or nothing), as sent.
    pub params: axum::body::Bytes,
    /// `?environment-version=`, as sent.
    pub environment_override: Option<String>,
}

/// Whom a run acts for.
struct RunAs {
    /// `context.getAccessToken()`.
    token: Option<String>,
    /// For filtering the developer log by user.
    user_id: Option<String>,
    run_user: Option<RunUser>,
    by_hook: bool,
}

/// What a run produced, ready to render.
pub struct RunResult {
    pub outcome: Outcome,
    pub environment_version: String,
}

const LOADED_CAPACITY: usize = 1_024;
/// How long a stopping server waits for runs still in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

impl ServerCode {
    pub fn start(
        service: &Service,
        config: ServerCodeConfig,
        current_ttl: Duration,
    ) -> std::io::Result<Arc<Self>> {
        let engine = Arc::new(Engine::start(config.engine.clone())?);
        let devlog = DevLog::start(service.storage.clone(), config.devlog.clone());
        let ajax_hosts = ajax_allow::AjaxAllowList::new(&config.ajax_hosts);
        let http = reqwest::Client::builder()
            .user_agent("kumo-server-code")
            .redirect(ajax_hosts.clone().redirect_policy())
            .build()
            .map_err(std::io::Error::other)?;
        let server_code = Arc::new(ServerCode {
            engine,
            config,
            devlog,
            hosts: Mutex::new(None),
            loaded: Mutex::new(HashMap::new()),
            current: Mutex::new(HashMap::new()),
            current_ttl,
            generation: Default::default(),
            versions_changed: tokio::sync::Notify::new(),
            ajax_hosts,
            http,
            node: ids::version_id(),
        });
        // Current versions are compiled now, in the background, so that after a restart no
        // request pays for compiling them either.
        let warm = server_code.clone();
        let service = service.clone();
        tokio::spawn(async move {
            match warm.precompile_current(&service).await {
                Ok(n) => tracing::debug!(versions = n, "current server-code versions compiled"),
                Err(e) => tracing::warn!(error = %e.0, "could not precompile server code"),
            }
        });
        Ok(server_code)
    }

    /// Compiles every app's current version into the cache; returns how many.
    pub async fn precompile_current(self: &Arc<Self>, service: &Service) -> Result<usize> {
        let seen = self.generation();
        let versions = service.storage.current_versions().await?;
        let mut compiled = 0;
        for (app_id, version) in versions {
            let this = self.clone();
            let source = version.source;
            let compiled_program =
                tokio::task::spawn_blocking(move || this.engine.program(&source)).await;
            let program = match compiled_program {
                Ok(Ok(program)) => program,
                Ok(Err(e)) => {
                    tracing::warn!(app = app_id, version = version.version_id, error = %e, "a stored version no longer compiles");
                    continue;
                }
                Err(_) => continue,
            };
            let loaded = Arc::new(Loaded {
                program,
                version_id: version.version_id,
                environment_version: version.environment_version,
            });
            if self.remember_if_unchanged(&app_id, loaded, seen) {
                compiled += 1;
            }
        }
        Ok(compiled)
    }

    /// Whether a version is compiled and cached (for tests and diagnostics).
    /// How busy the engine's threads are, for `/health`.
    pub fn engine_load(&self) -> kumo_engine::Load {
        self.engine.load()
    }

    pub fn is_compiled(&self, app_id: &str, version_id: &str) -> bool {
        self.lock_loaded()
            .contains_key(&(app_id.to_owned(), version_id.to_owned()))
    }

    pub fn set_router(&self, router: Router) {
        let shared = host::HostShared {
            router,
            devlog: self.devlog.clone(),
            ajax_hosts: self.ajax_hosts.clone(),
            http: self.http.clone(),
            fetch_timeout: self.config.limits.timeout,
        };
        *self.hosts.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(shared));
    }

    /// Drops the in-process router so the server (and the engine's threads) can be freed, and
    /// writes the developer-log records still queued.
    pub async fn shutdown(&self) {
        // Runs still draining their callbacks have logs to hand over; give them a moment.
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        while self.engine.active_runs() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.hosts.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.devlog.flush().await;
    }

    /// Verifies, compiles and stores a new version; `current` does not change.
    pub async fn deploy(
        &self,
        service: &Service,
        caller: &Caller,
        source: Vec<u8>,
        environment_version: Option<String>,
    ) -> Result<String> {
        require_admin(caller)?;
        // Bounded before anything looks at it.
        if source.len() > MAX_SOURCE_BYTES {
            return Err(Error::new(
                ErrorCode::RequestTooLarge,
                format!("A server-code file may have at most {MAX_SOURCE_BYTES} bytes"),
            ));
        }
        let source = String::from_utf8(source)
            .map_err(|_| ApiError::invalid_field("server-code", "The server code must be UTF-8"))?;
        if source.trim().is_empty() {
            return Err(ApiError::invalid_field("server-code", "The server code is empty").into());
        }
        let environment_version = match environment_version {
            Some(v) => check_environment_version(&v)?,
            None => DEFAULT_ENVIRONMENT_VERSION.to_owned(),
        };
        let (program, source) = self.compile(source).await?;
        let now = now_ms();
        let version = CodeVersion {
            version_id: ids::version_id(),
            source,
            environment_version: environment_version.clone(),
            created_at: now,
            modified_at: now,
        };
        service
            .storage
            .create_code_version(&caller.app.id, &version)
            .await?;
        self.remember(
            &caller.app.id,
            Arc::new(Loaded {
                program,
                version_id: version.version_id.clone(),
                environment_version,
            }),
        );
        let mut fields = Map::new();
        fields.insert("description".into(), json!("Server Code File deployed"));
        fields.insert("dataType".into(), json!("application/javascript"));
        fields.insert("versionID".into(), json!(version.version_id));
        self.devlog.push(
            &caller.app.id,
            devlog::record(DevLogLevel::Info, "servercode.file.deploy", None, fields),
        );
        Ok(version.version_id)
    }

    pub async fn list(&self, service: &Service, caller: &Caller) -> Result<Vec<CodeVersionInfo>> {
        require_admin(caller)?;
        Ok(service.storage.list_code_versions(&caller.app.id).await?)
    }

    pub async fn download(
        &self,
        service: &Service,
        caller: &Caller,
        version_id: &str,
    ) -> Result<String> {
        require_admin(caller)?;
        let version = service
            .storage
            .get_code_version(&caller.app.id, Some(version_id))
            .await?
            .ok_or_else(version_not_found)?;
        Ok(version.source)
    }

    pub async fn delete(&self, service: &Service, caller: &Caller, version_id: &str) -> Result<()> {
        require_admin(caller)?;
        if !service
            .storage
            .delete_code_version(&caller.app.id, version_id)
            .await?
        {
            return Err(version_not_found());
        }
        self.flush_cached_code(&caller.app.id, Some(version_id));
        let mut fields = Map::new();
        fields.insert("description".into(), json!("Server Code deleted"));
        fields.insert("versionID".into(), json!(version_id));
        self.devlog.push(
            &caller.app.id,
            devlog::record(DevLogLevel::Info, "servercode.delete", None, fields),
        );
        Ok(())
    }

    pub async fn get_current(&self, service: &Service, caller: &Caller) -> Result<String> {
        require_admin(caller)?;
        service
            .storage
            .get_current_version(&caller.app.id)
            .await?
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::ServerCodeVersionNotFound,
                    "No server code version is current",
                )
            })
    }

    pub async fn set_current(
        &self,
        service: &Service,
        caller: &Caller,
        version_id: Option<&str>,
    ) -> Result<()> {
        require_admin(caller)?;
        if matches!(version_id, Some("" | "current")) {
            return Err(ApiError::invalid_field(
                "versionID",
                "Send the ID of the version to make current as the request body",
            )
            .into());
        }
        let storage = &service.storage;
        storage
            .set_current_version(&caller.app.id, version_id)
            .await?;
        self.forget_current(&caller.app.id);
        // Its trigger hooks fire for changes from now on, not only once a hook loop notices.
        if let Some(version_id) = version_id {
            if storage
                .get_hook_config(&caller.app.id, Some(version_id))
                .await?
                .is_some()
            {
                storage.ensure_hook_cursor(&caller.app.id).await?;
            }
        }
        Ok(())
    }

    /// Runs `run.endpoint` of `run.version` for `caller`.
    pub async fn execute(
        &self,
        service: &Service,
        caller: &Caller,
        run: RunRequest,
    ) -> Result<RunResult> {
        let RunRequest {
            token,
            version,
            endpoint,
            params,
            environment_override,
        } = run;
        if caller.from_server_code {
            return Err(Error::new(
                ErrorCode::OperationNotAllowed,
                "Server code cannot call server code",
            ));
        }
        if !valid_endpoint_name(&endpoint) {
            return Err(ApiError::invalid_field(
                "endpoint",
                format!("'{endpoint}' is not a valid endpoint name (letters, digits and _, starting with a letter)"),
            )
            .into());
        }
        let environment_override = environment_override
            .map(|v| {
                check_environment_version(&v).map_err(|_| {
                    Error::from(ApiError::invalid_field(
                        "environment-version",
                        format!("Unsupported environment version '{v}'; use 0, 6 or 16"),
                    ))
                })
            })
            .transpose()?;
        let params_json = run_parameters(&params)?;
        let (version, endpoint) = (version.as_str(), endpoint.as_str());
        let app = &caller.app;
        let loaded = self.load(service, app, version).await?;
        let environment_version = match environment_override {
            Some(v) => v,
            None => loaded.environment_version.clone(),
        };
        let outcome = self
            .run(
                &loaded,
                app,
                endpoint,
                params_json.clone(),
                RunAs {
                    token: token.clone(),
                    user_id: caller.user_id().map(str::to_owned),
                    run_user: None,
                    by_hook: false,
                },
            )?
            .await;
        let mut fields = Map::new();
        fields.insert("description".into(), json!("Invoked Server Code"));
        fields.insert("versionID".into(), json!(loaded.version_id));
        fields.insert("args".into(), json!(params_json));
        fields.insert("endpoint".into(), json!(endpoint));
        fields.insert(
            "authHeader".into(),
            json!(token.map(|_| "Bearer ***").unwrap_or_default()),
        );
        fields.insert("responseType".into(), json!("application/json"));
        fields.insert("responseStep".into(), json!(outcome.steps.to_string()));
        fields.insert("environmentVersion".into(), json!(environment_version));
        self.devlog.push(
            &app.id,
            devlog::record(
                DevLogLevel::Debug,
                "servercode.invoke",
                caller.user_id(),
                fields,
            ),
        );
        Ok(RunResult {
            outcome,
            environment_version,
        })
    }

    /// Queues a run of `endpoint` on the engine; the future is its outcome. `Busy` (503) when
    /// the engine's queue is full.
    fn run(
        &self,
        loaded: &Loaded,
        app: &App,
        endpoint: &str,
        params_json: String,
        run_as: RunAs,
    ) -> Result<impl std::future::Future<Output = Outcome> + Send + 'static> {
        let shared = self
            .hosts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| Error::new(ErrorCode::TemporarilyUnavailable, "shutting down"))?;
        let host = Arc::new(host::SandboxHost {
            shared,
            app: app.clone(),
            user_id: run_as.user_id,
            endpoint: endpoint.to_owned(),
            runtime: tokio::runtime::Handle::current(),
            admin_token: std::sync::OnceLock::new(),
            run_user: run_as.run_user,
            by_hook: run_as.by_hook,
        });
        let invocation = Invocation {
            program: loaded.program.clone(),
            endpoint: endpoint.to_owned(),
            params_json,
            caller_token: run_as.token,
            env: AppEnv {
                app_id: app.id.clone(),
                app_key: app.key.clone(),
                base_url: self.config.base_url.clone(),
            },
            limits: self.config.limits.clone(),
            host,
        };
        // 503 carries Retry-After (error.rs).
        self.engine.invoke(invocation).map_err(|_| {
            Error::new(
                ErrorCode::TemporarilyUnavailable,
                "Too many server code runs are waiting; retry shortly",
            )
        })
    }

    /// Runs `endpoint` of `version_id` for a server hook: its writes fire no hooks, and
    /// `context.getAccessToken()` acts as `user_id` (the user whose change fired a trigger;
    /// `None` for schedules and for changes an admin or anonymous caller made). Errs only when
    /// the run could not start (no such version, engine queue full, shutting down).
    pub async fn run_for_hook(
        &self,
        service: &Service,
        app: &App,
        version_id: &str,
        endpoint: &str,
        params_json: String,
        user_id: Option<&str>,
    ) -> Result<Outcome> {
        let loaded = self.load(service, app, version_id).await?;
        let run_user = user_id.map(|id| RunUser::new(&app.id, id));
        let run = self.run(
            &loaded,
            app,
            endpoint,
            params_json,
            RunAs {
                token: run_user.as_ref().map(|u| u.token.to_string()),
                user_id: user_id.map(str::to_owned),
                run_user,
                by_hook: true,
            },
        )?;
        Ok(run.await)
    }

    /// This process's name in hook leases.
    pub fn node(&self) -> &str {
        &self.node
    }

    pub fn hooks_config(&self) -> &crate::hooks::HooksConfig {
        &self.config.hooks
    }

    /// The developer log's writer (hook runs record their own lines).
    pub fn devlog(&self) -> &DevLog {
        &self.devlog
    }

    /// The app's current version ID, as cached for runs of `current`.
    pub async fn current_version_id(
        &self,
        service: &Service,
        app_id: &str,
    ) -> Result<Option<String>> {
        self.current_version(service, app_id).await
    }

    /// The newest developer-log records that match `filter`, oldest first (admin only).
    pub async fn developer_log(
        &self,
        service: &Service,
        caller: &Caller,
        filter: &DevLogFilter,
    ) -> Result<Vec<DevLogRecord>> {
        if !caller.is_admin() {
            return Err(caller.unauthorized("Reading the developer log needs an app-admin token"));
        }
        if !(1..=MAX_DEVLOG_PAGE).contains(&filter.limit) {
            return Err(ApiError::invalid_field(
                "limit",
                format!("limit must be between 1 and {MAX_DEVLOG_PAGE}"),
            )
            .into());
        }
        Ok(service
            .storage
            .query_dev_logs(&caller.app.id, filter)
            .await?)
    }

    async fn load(&self, service: &Service, app: &App, version: &str) -> Result<Arc<Loaded>> {
        let version_id = if version == "current" {
            self.current_version(service, &app.id)
                .await?
                .ok_or_else(|| {
                    Error::new(
                        ErrorCode::ServerCodeVersionNotFound,
                        "No server code version is current",
                    )
                })?
        } else {
            version.to_owned()
        };
        if let Some(loaded) = self
            .lock_loaded()
            .get(&(app.id.clone(), version_id.clone()))
        {
            return Ok(loaded.clone());
        }
        let seen = self.generation();
        let stored = service
            .storage
            .get_code_version(&app.id, Some(&version_id))
            .await?
            .ok_or_else(version_not_found)?;
        let (program, _) = self.compile(stored.source).await?;
        let loaded = Arc::new(Loaded {
            program,
            version_id: stored.version_id,
            environment_version: stored.environment_version,
        });
        // This run may still use it: it started before the version was deleted.
        self.remember_if_unchanged(&app.id, loaded.clone(), seen);
        Ok(loaded)
    }

    /// The compiled program of `source` (and `source` back). Verifying and compiling take
    /// milliseconds, so they run on the blocking pool, never on the HTTP reactor.
    async fn compile(&self, source: String) -> Result<(Arc<Program>, String)> {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || {
            let program = engine.program(&source).map_err(verification_error)?;
            Ok((program, source))
        })
        .await
        .map_err(|_| Error::new(ErrorCode::InternalError, "compiling the server code failed"))?
    }

    async fn current_version(&self, service: &Service, app_id: &str) -> Result<Option<String>> {
        if let Some((id, at)) = self.lock_current().get(app_id) {
            if at.elapsed() < self.current_ttl {
                return Ok(id.clone());
            }
        }
        let seen = self.generation();
        let id = service.storage.get_current_version(app_id).await?;
        let mut current = self.lock_current();
        if self.generation() == seen {
            current.insert(app_id.to_owned(), (id.clone(), Instant::now()));
        }
        Ok(id)
    }

    fn remember(&self, app_id: &str, loaded: Arc<Loaded>) {
        let mut cache = self.lock_loaded();
        if cache.len() >= LOADED_CAPACITY {
            cache.clear();
        }
        cache.insert((app_id.to_owned(), loaded.version_id.clone()), loaded);
    }

    /// Like `remember`, unless an invalidation arrived since `seen`; says whether it did.
    fn remember_if_unchanged(&self, app_id: &str, loaded: Arc<Loaded>, seen: u64) -> bool {
        let mut cache = self.lock_loaded();
        if self.generation() != seen {
            return false;
        }
        if cache.len() >= LOADED_CAPACITY {
            cache.clear();
        }
        cache.insert((app_id.to_owned(), loaded.version_id.clone()), loaded);
        true
    }

    fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn forget_current(&self, app_id: &str) {
        let mut current = self.lock_current();
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        current.remove(app_id);
        self.versions_changed.notify_one();
    }

    /// Resolves after an app's current version may have changed (a permit is kept when no
    /// one waits, so a change between two waits is not missed).
    pub(crate) async fn versions_changed(&self) {
        self.versions_changed.notified().await
    }

    /// Drops what is cached of the app's server code: its current-version pointer, and the
    /// compiled `version` if one is named (it was deleted). The next run reads both again.
    pub fn flush_cached_code(&self, app_id: &str, version: Option<&str>) {
        if let Some(version) = version {
            let mut loaded = self.lock_loaded();
            self.generation
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            loaded.remove(&(app_id.to_owned(), version.to_owned()));
        }
        self.forget_current(app_id);
    }

    /// Drops every pointer and compiled version (notifications may have been missed).
    /// Reloading is a database read each: the engine keeps programs by their source's hash,
    /// so nothing is compiled again.
    pub fn flush_all_cached_code(&self) {
        let (mut loaded, mut current) = (self.lock_loaded(), self.lock_current());
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        loaded.clear();
        current.clear();
        self.versions_changed.notify_one();
    }

    fn lock_loaded(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Arc<Loaded>>> {
        self.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_current(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (Option<String>, Instant)>> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub(crate) fn require_admin(caller: &Caller) -> Result<()> {
    if caller.is_admin() {
        return Ok(());
    }
    let principal = caller
        .user_id()
        .or(caller.thing_id())
        .unwrap_or("anonymous")
        .to_owned();
    Err(ApiError::new(
        ErrorCode::Unauthorized,
        "Managing server code needs an app-admin token",
    )
    .with("authenticatedAppID", caller.app.id.clone())
    .with("authenticatedPrincipalID", principal)
    .into())
}

pub fn check_environment_version(v: &str) -> Result<String> {
    if ENVIRONMENT_VERSIONS.contains(&v) {
        Ok(v.to_owned())
    } else {
        Err(ApiError::invalid_field(
            "environmentVersion",
            format!(
                "Unsupported environment version '{v}'; use one of {}",
                ENVIRONMENT_VERSIONS.join(", ")
            ),
        )
        .into())
    }
}

/// The official SDK's rule for endpoint names.
fn valid_endpoint_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A run's parameters: a JSON object under the size limit, kept as sent (key order included:
/// it is what the developer log shows as `args`); an empty body is `{}`.
fn run_parameters(body: &[u8]) -> Result<String> {
    if body.len() >= MAX_PARAMS_BYTES {
        return Err(ApiError::invalid_field(
            "params",
            format!("The parameters must be smaller than {MAX_PARAMS_BYTES} bytes"),
        )
        .into());
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok("{}".to_owned());
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(_)) => Ok(String::from_utf8_lossy(body).into_owned()),
        Ok(_) => {
            Err(ApiError::invalid_field("params", "The parameters must be a JSON object").into())
        }
        Err(_) => Err(Error::new(
            ErrorCode::InvalidJson,
            "The parameters are not valid JSON",
        )),
    }
}

fn version_not_found() -> Error {
    Error::new(
        ErrorCode::ServerCodeVersionNotFound,
        "The server code version was not found",
    )
}

fn verification_error(e: CompileError) -> Error {
    match e {
        CompileError::Refused(v) => ApiError::new(
            ErrorCode::ServerCodeVerificationError,
            format!("The server code was refused: {v}"),
        )
        .with("line", v.line)
        .with("column", v.column)
        .into(),
        CompileError::Engine(message) => Error::new(ErrorCode::InternalError, message),
    }
}
