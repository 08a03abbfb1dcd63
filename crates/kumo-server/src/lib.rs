//! Kumo's HTTP server: the Kii REST API under `/api`, health under `/health`, the web
//! console under `/console/`.
//!
//! [`router`] builds the whole HTTP surface over a [`Storage`]; [`serve`] runs it until a
//! shutdown signal, letting in-flight requests finish. Handlers live in `routes`, rules in
//! `service`, and every error leaves through `error`.

pub mod auth;
mod caller;
pub mod console;
pub mod error;
pub mod hooks;
mod http;
pub mod invalidation;
pub mod live_log;
mod routes;
mod secrets;
pub mod servercode;
pub mod service;
mod thing_paths;
mod token_purge;
mod user_paths;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use kumo_storage::Storage;
use serde_json::json;
use tokio::net::TcpListener;

pub use service::{create_app, AppCredentials, Service};

/// Server settings; the CLI fills them from flags and `KUMO_*` variables.
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest accepted request body, in bytes (object bodies aside).
    pub max_body_bytes: usize,
    /// Largest object body (`…/objects/{id}/body`), in bytes.
    pub max_object_body_bytes: u64,
    /// How many password hashes may be computed at once.
    pub hash_parallelism: usize,
    /// How long a looked-up access token is trusted without asking the database again.
    pub token_cache_ttl: std::time::Duration,
    pub server_code: servercode::ServerCodeConfig,
    /// How often expired access tokens are deleted.
    pub token_purge_interval: std::time::Duration,
    /// Live developer-log tails (`live_log`).
    pub live_log: live_log::LiveLogConfig,
    /// Whether the web console is served under `/console/`.
    pub console: bool,
    /// The API's public base URL (`--public-url`, e.g. `https://kumo.example.com/api`): links
    /// the server hands out (published bodies) start with it. Unset, they are built from the
    /// request's forwarded or `Host` headers.
    pub public_url: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_object_body_bytes: DEFAULT_MAX_OBJECT_BODY_BYTES,
            hash_parallelism: std::thread::available_parallelism().map_or(2, |n| n.get()),
            token_cache_ttl: std::time::Duration::from_secs(5),
            server_code: servercode::ServerCodeConfig::default(),
            token_purge_interval: std::time::Duration::from_secs(300),
            live_log: live_log::LiveLogConfig::default(),
            console: true,
            public_url: None,
        }
    }
}

/// The default largest object body: 1 GiB.
pub const DEFAULT_MAX_OBJECT_BODY_BYTES: u64 = 1024 * 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    pub server_code: Arc<servercode::ServerCode>,
    /// What this node applied of other nodes' changes (`invalidation.rs`).
    pub invalidations: Arc<invalidation::Counters>,
    /// The developer log's live tails.
    pub live_log: live_log::LiveLog,
    /// Largest object body, in bytes.
    pub max_object_body_bytes: u64,
    /// The API's public base URL, without a trailing `/` (see [`Config::public_url`]).
    pub public_url: Option<Arc<str>>,
}

/// The complete HTTP application. Starts the server-code engine's threads and the developer
/// log writer (on the current Tokio runtime). It does not follow other nodes' changes (nor
/// run hooks): [`serve`] does.
pub fn router(storage: Arc<dyn Storage>, config: &Config) -> std::io::Result<Router> {
    build(storage, config).map(|(router, _)| router)
}

fn build(storage: Arc<dyn Storage>, config: &Config) -> std::io::Result<(Router, AppState)> {
    let service = Service::with_token_cache(
        storage,
        auth::Passwords::new(config.hash_parallelism),
        config.token_cache_ttl,
    );
    let server_code = servercode::ServerCode::start(
        &service,
        config.server_code.clone(),
        config.token_cache_ttl,
    )?;
    let state = AppState {
        service: service.clone(),
        server_code: server_code.clone(),
        invalidations: Arc::default(),
        live_log: live_log::LiveLog::new(service.storage.clone(), config.live_log.clone()),
        max_object_body_bytes: config.max_object_body_bytes,
        public_url: config
            .public_url
            .as_deref()
            .map(|u| Arc::from(u.trim_end_matches('/'))),
    };
    let api = routes::api()
        .fallback(http::not_found)
        .method_not_allowed_fallback(http::method_not_allowed);
    let mut routed = Router::new();
    if config.console {
        routed = routed.merge(console::routes());
    }
    let routed = routed
        .route("/health", get(health))
        // Kii's log tool is pointed at `ws://HOST:PORT/logs` (its own site has no `/api`).
        .route("/logs", get(live_log::ws::logs))
        .nest("/api", api)
        .fallback(http::not_found)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .with_state(state.clone());
    // `edge` wraps `routed` from outside (a layer on `routed` would run after routing), so
    // that it can turn `users/me` and user addresses into IDs before the route is chosen.
    let router = Router::new()
        .fallback_service(routed)
        .layer(from_fn_with_state(state.clone(), http::edge));
    // The in-sandbox SDK is served by this same router, in-process.
    server_code.set_router(router.clone());
    Ok((router, state))
}

async fn health(State(state): State<AppState>) -> Response {
    let storage = &state.service.storage;
    let load = state.server_code.engine_load();
    let engine = json!({
        "threads": load.threads,
        "idle": load.idle,
        "queued": load.queued,
        "saturated": load.saturated(),
    });
    if let Err(e) = storage.ping().await {
        tracing::warn!(error = %e, "health check failed");
        return unhealthy("storage unreachable", engine);
    }
    if load.stalled() {
        // Every engine thread holds a run and no more may be lent: server code cannot run.
        return unhealthy("the server-code engine has no free thread", engine);
    }
    let invalidations = json!({
        "applied": state.invalidations.applied(),
        "flushes": state.invalidations.flushes(),
    });
    (
        StatusCode::OK,
        axum::Json(json!({
            "status": "ok",
            "storage": storage.backend(),
            "engine": engine,
            "invalidations": invalidations,
        })),
    )
        .into_response()
}

fn unhealthy(message: &str, engine: serde_json::Value) -> Response {
    let error = kumo_types::ApiError::new(kumo_types::ErrorCode::TemporarilyUnavailable, message)
        .with("engine", engine);
    error::error_response(&error)
}

/// Serves on `listener` until `shutdown` resolves, then waits for in-flight requests.
pub async fn serve(
    listener: TcpListener,
    storage: Arc<dyn Storage>,
    config: &Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    use axum::ServiceExt;
    // Subscribed before anything is cached, so no other node's change can slip past.
    let invalidations = storage.subscribe_invalidations().await;
    let (router, state) = build(storage.clone(), config)?;
    let invalidating = invalidation::spawn(
        invalidations,
        state.service.clone(),
        state.server_code.clone(),
        state.invalidations.clone(),
    );
    let purge = token_purge::spawn(storage, config.token_purge_interval);
    let hooks = hooks::Hooks::start(state.service.clone(), state.server_code.clone());
    let app = router;
    // Live tails never end by themselves: they must end for the connections to drain.
    let live_log = state.live_log.clone();
    let shutdown = async move {
        shutdown.await;
        live_log.close();
    };
    // Responses leave at once rather than waiting on Nagle's algorithm for the client's ACK.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let served = axum::serve(
        listener,
        ServiceExt::<axum::extract::Request>::into_make_service(app),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    purge.abort();
    invalidating.abort();
    hooks.stop().await;
    state.server_code.shutdown().await;
    served
}

/// A server running in the background on an ephemeral port (tests, embedding).
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    pub async fn start(
        addr: SocketAddr,
        storage: Arc<dyn Storage>,
        config: Config,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            serve(listener, storage, &config, async {
                let _ = stopped.await;
            })
            .await
        });
        Ok(Self {
            addr,
            stop: Some(stop),
            task,
        })
    }

    /// The base URL clients use, ending in `/api`.
    pub fn site_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.unwrap_or(Ok(()))
    }
}
