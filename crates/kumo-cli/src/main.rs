//! `kumo`: run the server, manage apps.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use kumo_server::{create_app, AppCredentials, Config};
use kumo_storage::Storage;
use tokio::net::TcpListener;

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
    /// Seconds a looked-up access token is trusted without asking the database again (a token
    /// revoked through another node stays usable here that long; 0 disables the cache).
    #[arg(long, env = "KUMO_TOKEN_CACHE_SECONDS", default_value_t = 5)]
    token_cache_seconds: u64,
}

fn main() -> Result<()> {
    let started = Instant::now();
    let cli = Cli::parse();
    init_logging(&cli.log)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve(args, started).await,
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
                Ok(())
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
    let config = Config {
        max_body_bytes: args.max_body_bytes,
        token_cache_ttl: std::time::Duration::from_secs(args.token_cache_seconds),
        ..Config::default()
    };
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
