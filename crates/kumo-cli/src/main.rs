//! `kumo`: run the server, manage apps, and (in `client/`) manage an app's server code and
//! read its developer log over the REST API, as Kii's command-line tools do.

mod client;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use kumo_server::{create_app, AppCredentials, Config};
use kumo_storage::Storage;
use tokio::net::TcpListener;

/// Under load glibc's malloc took a third of the server's own CPU (fastbin consolidation on
/// every large free); with mimalloc the object benchmarks run 20-45% faster.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc keeps freed memory for a while before returning it; with our many threads that
/// doubled the resident size under load. Returning it at once costs no measurable throughput.
/// Arenas are also committed on demand, which has to be decided before `main`
/// (`.cargo/config.toml`). (The option's value comes from mimalloc.h of the pinned mimalloc
/// v3; the -sys crate does not name it.)
fn tune_allocator() {
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: a plain setter of a process-wide option, valid at any time.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 0) };
}

#[derive(Parser)]
#[command(
    name = "kumo",
    version,
    about = "A self-hosted backend that speaks Kii Cloud's REST API"
)]
struct Cli {
    /// Log filter, e.g. `info`, `debug`, or `kumo_server=debug,info`.
    #[arg(long, env = "KUMO_LOG", default_value = "info", global = true)]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API under /api (and /health). Creates a default app on an empty store.
    Serve(ServeArgs),
    /// Manage apps (tenants).
    App {
        #[command(subcommand)]
        command: AppCommand,
    },
    #[command(flatten)]
    Client(client::Command),
}

#[derive(Subcommand)]
enum AppCommand {
    /// Create an app and print its credentials as JSON (the client secret is shown only once).
    Create {
        /// A human name for the app.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        store: StoreArgs,
        /// The API base URL clients should use, printed as siteURL.
        #[arg(
            long,
            env = "KUMO_PUBLIC_URL",
            default_value = "http://127.0.0.1:8080/api"
        )]
        public_url: String,
    },
}

#[derive(Args, Clone)]
struct StoreArgs {
    /// Directory for the embedded SQLite database and default-app.json.
    #[arg(long, env = "KUMO_DATA_DIR", default_value = "./kumo-data")]
    data_dir: PathBuf,
    /// Use PostgreSQL instead of SQLite, e.g. postgres://user@host:5432/kumo.
    #[arg(long, env = "KUMO_DATABASE_URL")]
    database_url: Option<String>,
    /// Most database connections to hold open.
    #[arg(long, env = "KUMO_DB_MAX_CONNECTIONS", default_value_t = 16)]
    db_max_connections: u32,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "KUMO_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    store: StoreArgs,
    /// The API base URL clients should use (printed as siteURL); defaults to http://LISTEN/api.
    #[arg(long, env = "KUMO_PUBLIC_URL")]
    public_url: Option<String>,
    /// Largest accepted request body in bytes.
    #[arg(long, env = "KUMO_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    max_body_bytes: usize,
    /// Largest object body (`…/objects/{id}/body`, whole or in pieces) in bytes; larger ones
    /// get `413`. Bodies are streamed into the database, never held in memory.
    #[arg(long, env = "KUMO_MAX_OBJECT_BODY_BYTES", default_value_t = kumo_server::DEFAULT_MAX_OBJECT_BODY_BYTES)]
    max_object_body_bytes: u64,
    /// Seconds a looked-up access token, bucket ACL or current server-code version is trusted
    /// without asking the database again (a change made through another node shows here within
    /// that time; 0 disables these caches).
    #[arg(long, env = "KUMO_TOKEN_CACHE_SECONDS", default_value_t = 5)]
    token_cache_seconds: u64,
    /// Do not serve the web console at /console/.
    #[arg(long, env = "KUMO_NO_CONSOLE")]
    no_console: bool,
    #[command(flatten)]
    server_code: ServerCodeArgs,
    #[command(flatten)]
    hooks: HookArgs,
}

/// How server hooks (triggers and schedules) run.
#[derive(Args)]
struct HookArgs {
    /// Trigger runs this node keeps on the engine at once, and as many schedule runs (hook
    /// work waits beyond that, so manual calls always find room in the engine's queue).
    #[arg(long, env = "KUMO_HOOK_CONCURRENCY", default_value_t = 8)]
    hook_concurrency: usize,
    /// Attempts of a failing trigger run, the first included, before it is given up and
    /// logged as failed.
    #[arg(long, env = "KUMO_HOOK_MAX_ATTEMPTS", default_value_t = 5)]
    hook_max_attempts: i64,
    /// Wait before a failed trigger run's second attempt, in milliseconds; doubled for each
    /// further attempt.
    #[arg(long, env = "KUMO_HOOK_RETRY_MS", default_value_t = 1_000)]
    hook_retry_ms: u64,
    /// When a node starts, a job's latest firing missed while no node ran still runs if it fell
    /// due within this many seconds; older missed firings are skipped.
    #[arg(long, env = "KUMO_HOOK_MISFIRE_GRACE_SECONDS", default_value_t = 60)]
    hook_misfire_grace_seconds: u64,
    /// Seconds a schedule firing or trigger cursor stays with a node that stopped renewing it
    /// (a node that dies: its running firings are recorded FAILED after this).
    #[arg(long, env = "KUMO_HOOK_LEASE_SECONDS", default_value_t = 10)]
    hook_lease_seconds: u64,
    /// Days a finished schedule execution stays in the history (trimmed every minute).
    #[arg(long, env = "KUMO_SC_HISTORY_DAYS", default_value_t = 30)]
    sc_history_days: u64,
    /// Most schedule executions each app's history keeps: the newest by start time. Running
    /// executions are never trimmed.
    #[arg(long, env = "KUMO_SC_HISTORY_MAX", default_value_t = 10_000)]
    sc_history_max: i64,
    /// Hours a change event (the record of a write that trigger hooks are fired from) is kept
    /// after it was delivered; undelivered events are kept until delivered.
    #[arg(long, env = "KUMO_EVENT_RETENTION_HOURS", default_value_t = 24)]
    event_retention_hours: u64,
}

impl HookArgs {
    fn config(&self) -> kumo_server::hooks::HooksConfig {
        kumo_server::hooks::HooksConfig {
            concurrency: self.hook_concurrency.max(1),
            max_attempts: self.hook_max_attempts.max(1),
            retry_backoff: std::time::Duration::from_millis(self.hook_retry_ms),
            misfire_grace: std::time::Duration::from_secs(self.hook_misfire_grace_seconds),
            lease: std::time::Duration::from_secs(self.hook_lease_seconds.max(1)),
            history_max_age: std::time::Duration::from_secs(
                self.sc_history_days.saturating_mul(24 * 3600),
            ),
            history_max_per_app: self.sc_history_max.max(0),
            events_max_age: std::time::Duration::from_secs(
                self.event_retention_hours.saturating_mul(3600),
            ),
            ..kumo_server::hooks::HooksConfig::default()
        }
    }
}

/// Limits and resources of server code.
#[derive(Args)]
struct ServerCodeArgs {
    /// Wall-clock limit of one server-code run, in milliseconds.
    #[arg(long, env = "KUMO_SC_TIMEOUT_MS", default_value_t = 20_000)]
    sc_timeout_ms: u64,
    /// Executed steps (statements) allowed per run; the run fails when it reaches this many.
    #[arg(long, env = "KUMO_SC_MAX_STEPS", default_value_t = 1_000)]
    sc_max_steps: u64,
    /// Memory one run may allocate, in MiB.
    #[arg(long, env = "KUMO_SC_MEMORY_MB", default_value_t = 64)]
    sc_memory_mb: usize,
    /// JavaScript stack of one run, in KiB (deep recursion fails beyond it).
    #[arg(long, env = "KUMO_SC_STACK_KB", default_value_t = 512)]
    sc_stack_kb: usize,
    /// console output one run may write to the developer log, in KiB.
    #[arg(long, env = "KUMO_SC_LOG_KB", default_value_t = 64)]
    sc_log_kb: usize,
    /// Engine threads kept: runs waiting in a host call (a database write, $.ajax) each hold
    /// one, and at most one per core executes JavaScript at a time; while runs wait or spin,
    /// up to four times as many are lent; 0 picks 8 per core.
    #[arg(long, env = "KUMO_SC_WORKERS", default_value_t = 0)]
    sc_workers: usize,
    /// Engine threads one app's runs may hold at once (its further runs wait in the queue
    /// while other apps' runs go first); 0 means as many as --sc-workers.
    #[arg(long, env = "KUMO_SC_APP_SHARE", default_value_t = 0)]
    sc_app_share: usize,
    /// Runs that may wait for a thread; beyond that, callers get 503 with Retry-After.
    #[arg(long, env = "KUMO_SC_QUEUE", default_value_t = 256)]
    sc_queue: usize,
    /// Hosts server code may reach with $.ajax (repeatable; `*` for any).
    #[arg(
        long = "ajax-allow-host",
        env = "KUMO_AJAX_ALLOW_HOSTS",
        value_delimiter = ','
    )]
    ajax_allow_hosts: Vec<String>,
    /// Developer-log budget per app, in MiB; the oldest records go first.
    #[arg(long, env = "KUMO_DEVLOG_MB", default_value_t = 16)]
    devlog_mb: i64,
    /// Developer-log records older than this many days are dropped.
    #[arg(long, env = "KUMO_DEVLOG_DAYS", default_value_t = 30)]
    devlog_days: u64,
}

impl ServerCodeArgs {
    fn config(&self, base_url: &str) -> kumo_server::servercode::ServerCodeConfig {
        use kumo_server::servercode::{DevLogConfig, ServerCodeConfig};
        let defaults = ServerCodeConfig::default();
        ServerCodeConfig {
            limits: kumo_engine::Limits {
                timeout: std::time::Duration::from_millis(self.sc_timeout_ms.max(1)),
                max_steps: self.sc_max_steps.max(1),
                memory_bytes: self.sc_memory_mb.max(1) << 20,
                stack_bytes: self.sc_stack_kb.max(64) << 10,
                log_bytes: self.sc_log_kb << 10,
            },
            engine: kumo_engine::EngineConfig {
                workers: if self.sc_workers == 0 {
                    defaults.engine.workers
                } else {
                    self.sc_workers
                },
                queue: self.sc_queue,
                app_share: self.sc_app_share,
            },
            devlog: DevLogConfig {
                max_bytes: self.devlog_mb.max(1) << 20,
                max_age: std::time::Duration::from_secs(self.devlog_days.max(1) * 86_400),
            },
            ajax_hosts: self.ajax_allow_hosts.clone(),
            base_url: base_url.to_owned(),
            ..defaults
        }
    }
}

fn main() -> Result<ExitCode> {
    tune_allocator();
    let started = Instant::now();
    let cli = Cli::parse();
    init_logging(&cli.log)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        match cli.command {
            Command::Client(command) => Ok(client::run(command).await),
            Command::Serve(args) => serve(args, started).await.map(|()| ExitCode::SUCCESS),
            Command::App {
                command:
                    AppCommand::Create {
                        name,
                        store,
                        public_url,
                    },
            } => {
                let storage = open_store(&store).await?;
                let creds = create_app(storage.as_ref(), &name, &public_url)
                    .await
                    .map_err(|e| anyhow::anyhow!("{}", e.0))?;
                storage.close().await;
                println!("{}", serde_json::to_string_pretty(&creds)?);
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

fn init_logging(filter: &str) -> Result<()> {
    let targets: tracing_subscriber::filter::Targets = filter
        .parse()
        .with_context(|| format!("invalid log filter {filter:?}"))?;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(targets)
        .init();
    Ok(())
}

async fn open_store(args: &StoreArgs) -> Result<Arc<dyn Storage>> {
    let url = match &args.database_url {
        Some(url) => url.clone(),
        None => {
            std::fs::create_dir_all(&args.data_dir)
                .with_context(|| format!("creating data directory {}", args.data_dir.display()))?;
            sqlite_url(&args.data_dir.join("kumo.db"))
        }
    };
    let store = kumo_storage::open(&url, args.db_max_connections)
        .await
        .context("opening the database")?;
    Ok(Arc::new(store))
}

/// `sqlite://PATH?mode=rwc`, with the characters that URL parsing would misread escaped.
fn sqlite_url(path: &Path) -> String {
    let mut escaped = String::new();
    for c in path.display().to_string().chars() {
        match c {
            '%' => escaped.push_str("%25"),
            '?' => escaped.push_str("%3F"),
            '#' => escaped.push_str("%23"),
            ' ' => escaped.push_str("%20"),
            c => escaped.push(c),
        }
    }
    format!("sqlite://{escaped}?mode=rwc")
}

async fn serve(args: ServeArgs, started: Instant) -> Result<()> {
    let storage = open_store(&args.store).await?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let site_url = args.public_url.clone().unwrap_or_else(|| {
        let host = if addr.ip().is_unspecified() {
            SocketAddr::new([127, 0, 0, 1].into(), addr.port())
        } else {
            addr
        };
        format!("http://{host}/api")
    });
    if storage.count_apps().await? == 0 {
        let creds = create_app(storage.as_ref(), "default", &site_url)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.0))?;
        let file = args.store.data_dir.join("default-app.json");
        write_private(&file, &creds)?;
        println!(
            "Created the default app. Its credentials (shown once; also in {}):",
            file.display()
        );
        println!("{}", serde_json::to_string_pretty(&creds)?);
    }
    if !args.no_console {
        println!("Console: {}", console_url(&site_url));
    }
    let mut config = Config {
        console: !args.no_console,
        max_body_bytes: args.max_body_bytes,
        max_object_body_bytes: args.max_object_body_bytes,
        public_url: args.public_url.clone(),
        token_cache_ttl: std::time::Duration::from_secs(args.token_cache_seconds),
        server_code: args.server_code.config(&site_url),
        ..Config::default()
    };
    config.server_code.hooks = args.hooks.config();
    tracing::info!(
        %addr,
        storage = storage.backend(),
        ready_ms = started.elapsed().as_secs_f64() * 1000.0,
        "kumo is ready"
    );
    kumo_server::serve(listener, storage.clone(), &config, shutdown_signal()).await?;
    tracing::info!("shutting down: in-flight requests finished, closing storage");
    storage.close().await;
    Ok(())
}

/// The console sits beside the API on the same origin: `…/api` becomes `…/console/`.
fn console_url(site_url: &str) -> String {
    let base = site_url.trim_end_matches('/');
    let base = base.strip_suffix("/api").unwrap_or(base);
    format!("{base}/console/")
}

/// Writes the credentials file readable by its owner only.
fn write_private(path: &Path, creds: &AppCredentials) -> Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(serde_json::to_string_pretty(creds)?.as_bytes())?;
    f.write_all(b"\n")?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received"),
        _ = term => tracing::info!("SIGTERM received"),
    }
}
