//! Server-code versions, as `kii-servercode.js` manages them: deploy a file (with its hook
//! config), list, download, delete, make current.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use reqwest::Method;
use serde_json::{json, Value};

use super::api::{encode, Api, Body, ServerError};
use super::conn::ConnArgs;
use super::out;

#[derive(Args, Debug)]
pub struct DeployFile {
    /// The server-code file (JavaScript).
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// A hook config (JSON) to attach to the new version.
    #[arg(long)]
    pub hook_config: Option<PathBuf>,
    /// Make the new version current (the default; kept for Kii's scripts).
    #[arg(long, conflicts_with = "no_set_current")]
    pub set_current: bool,
    /// Leave the current version as it is.
    #[arg(long)]
    pub no_set_current: bool,
    /// JavaScript engine version the code runs on, e.g. 6.
    #[arg(long)]
    pub environment_version: Option<String>,
    #[command(flatten)]
    pub conn: ConnArgs,
}

#[derive(Args, Debug)]
pub struct List {
    /// Show times in UTC instead of local time.
    #[arg(long)]
    pub utc_time: bool,
    /// Print the versions as one JSON array.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub conn: ConnArgs,
}

#[derive(Args, Debug)]
pub struct Version {
    /// The version ID (`current` is not accepted, as in Kii's tool).
    #[arg(long)]
    pub code_version: Option<String>,
    #[command(flatten)]
    pub conn: ConnArgs,
}

#[derive(Args, Debug)]
pub struct Download {
    /// The version ID (`current` is not accepted, as in Kii's tool).
    #[arg(long)]
    pub code_version: Option<String>,
    /// Write to this file instead of printing.
    #[arg(long)]
    pub output_file: Option<PathBuf>,
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// `--code-version`, present and not `current`.
fn code_version(v: &Option<String>) -> Result<String> {
    match v.as_deref() {
        None | Some("") => bail!("Missing param --code-version"),
        Some("current") => bail!("`current' as version identifer is not supported"),
        Some(v) => Ok(v.to_owned()),
    }
}

fn read(path: &PathBuf) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

pub async fn deploy_file(args: DeployFile) -> Result<()> {
    let Some(file) = &args.file else {
        bail!("Missing param --file");
    };
    let source = read(file)?;
    let hooks = args.hook_config.as_ref().map(read).transpose()?;
    let api = Api::new(args.conn.connection()?)?;
    out::log("Deploying file...");
    let body = match &args.environment_version {
        Some(env) => multipart(env, source),
        None => {
            eprintln!(
                "Deployment without environment-version is deprecated. Please specify --environment-version"
            );
            Body::raw("application/javascript", source)
        }
    };
    let reply = api.admin(Method::POST, "/server-code", body).await?;
    let version = reply
        .json()?
        .get("versionID")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .context("the deploy answer has no versionID")?;
    out::log(&format!("File deployed as version {version}"));
    if let Some(hooks) = hooks {
        out::log("Deploying hook config...");
        api.admin(
            Method::PUT,
            &format!("/hooks/versions/{}", encode(&version)),
            Body::raw("application/vnd.kii.HooksDeploymentRequest+json", hooks),
        )
        .await?;
        out::log(&format!("Hook Config deployed at version {version}"));
    }
    if !args.no_set_current {
        set_current_to(&api, &version).await?;
    }
    Ok(())
}

/// Kii's deploy with an engine: a `metadata` part and a `server-code` part.
fn multipart(environment_version: &str, source: Vec<u8>) -> Body {
    let boundary = format!("kumo-{:016x}", rand_u64());
    let mut data = Vec::with_capacity(source.len() + 512);
    let metadata = json!({ "environmentVersion": environment_version }).to_string();
    data.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\
             Content-Type: application/vnd.kii.ServerCodeMetadataRequest+json\r\n\r\n{metadata}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"server-code\"; filename=\"server-code.js\"\r\n\
             Content-Type: application/javascript\r\n\r\n"
        )
        .as_bytes(),
    );
    data.extend_from_slice(&source);
    data.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Body::raw(&format!("multipart/form-data; boundary={boundary}"), data)
}

/// A boundary that the source is most unlikely to contain: clock and address bits mixed.
fn rand_u64() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let local = 0u8;
    nanos.rotate_left(17) ^ (&local as *const u8 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

async fn set_current_to(api: &Api, version: &str) -> Result<()> {
    out::log(&format!("Setting current version to {version}..."));
    api.admin(
        Method::PUT,
        "/server-code/versions/current",
        Body::raw("text/plain", version.as_bytes().to_vec()),
    )
    .await?;
    out::log(&format!("Current version set to {version}"));
    Ok(())
}

pub async fn set_current(args: Version) -> Result<()> {
    let version = code_version(&args.code_version)?;
    let api = Api::new(args.conn.connection()?)?;
    set_current_to(&api, &version).await
}

pub async fn list(args: List) -> Result<()> {
    let api = Api::new(args.conn.connection()?)?;
    if !args.json {
        out::log("Listing available versions...");
    }
    let body = api
        .admin(Method::GET, "/server-code/versions", Body::None)
        .await?
        .json()?;
    let mut versions = body
        .get("versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // Newest first, as the developer portal shows them.
    versions.sort_by_key(|v| std::cmp::Reverse(v.get("createdAt").and_then(Value::as_i64)));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&versions)?);
        return Ok(());
    }
    out::log(&format!("Found {} versions: ", versions.len()));
    let header = format!(
        "{:<26.26}{:<20.20}{}",
        "ID",
        format!("CREATED {}", out::zone_label(args.utc_time)),
        "STATUS"
    );
    println!("{header}");
    println!("{}", out::rule(&header));
    for v in &versions {
        let id = v.get("versionID").and_then(Value::as_str).unwrap_or("");
        // Kii's tool shows modifiedAt under CREATED; a version is never modified after its
        // deploy, so the two are the same instant.
        let at = v
            .get("modifiedAt")
            .or_else(|| v.get("createdAt"))
            .and_then(Value::as_i64)
            .map(|ms| out::date_time(ms, args.utc_time))
            .unwrap_or_default();
        let status = if v.get("current").and_then(Value::as_bool) == Some(true) {
            "active"
        } else {
            "inactive"
        };
        println!("{id:<26.26}{at:<20.20}{status}");
    }
    Ok(())
}

pub async fn get(args: Download) -> Result<()> {
    let version = code_version(&args.code_version)?;
    let api = Api::new(args.conn.connection()?)?;
    out::log(&format!("Downloading code version {version}..."));
    let reply = api
        .admin(
            Method::GET,
            &format!("/server-code/versions/{}", encode(&version)),
            Body::None,
        )
        .await?;
    deliver(&reply.body, args.output_file.as_ref(), "Code version")
}

pub async fn get_hook_config(args: Download) -> Result<()> {
    let version = code_version(&args.code_version)?;
    let api = Api::new(args.conn.connection()?)?;
    out::log(&format!("Downloading hook config version {version}..."));
    let reply = api
        .admin(
            Method::GET,
            &format!("/hooks/versions/{}", encode(&version)),
            Body::None,
        )
        .await?;
    let text = match serde_json::from_slice::<Value>(&reply.body) {
        Ok(v) => serde_json::to_string_pretty(&v)?.into_bytes(),
        Err(_) => reply.body.clone(),
    };
    deliver(&text, args.output_file.as_ref(), "Hook config")
}

fn deliver(content: &[u8], file: Option<&PathBuf>, what: &str) -> Result<()> {
    match file {
        Some(path) => {
            std::fs::write(path, content)
                .with_context(|| format!("cannot write {}", path.display()))?;
            out::log(&format!("{what} written to {}", path.display()));
        }
        None => {
            out::log("Downloaded content: ");
            println!("{}", String::from_utf8_lossy(content));
        }
    }
    Ok(())
}

pub async fn delete(args: Version) -> Result<()> {
    let version = code_version(&args.code_version)?;
    let api = Api::new(args.conn.connection()?)?;
    out::log(&format!("Removing code version {version}..."));
    api.admin(
        Method::DELETE,
        &format!("/server-code/versions/{}", encode(&version)),
        Body::None,
    )
    .await?;
    out::log(&format!("Version {version} removed"));
    out::log(&format!(
        "Trying to remove hook config version {version}..."
    ));
    match api
        .admin(
            Method::DELETE,
            &format!("/hooks/versions/{}", encode(&version)),
            Body::None,
        )
        .await
    {
        Ok(_) => out::log(&format!("Hook config for version {version} removed")),
        Err(e) if e.downcast_ref::<ServerError>().map(|s| s.status.as_u16()) == Some(404) => {
            out::log(&format!("No hook config for version {version} found."))
        }
        Err(e) => return Err(e),
    }
    Ok(())
}
