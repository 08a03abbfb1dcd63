//! `kumo invoke`: run an endpoint as a client would, and show what came back.

use anyhow::{Context, Result};
use clap::Args;
use reqwest::Method;
use serde_json::{json, Value};

use super::api::{encode, encode_query, Api, Body, ServerError};
use super::conn::{ConnArgs, Credentials};

/// Largest `--params` file read.
const MAX_PARAMS_BYTES: u64 = 16 << 20;

#[derive(Args, Debug)]
pub struct Invoke {
    /// The endpoint (a function the version exports).
    pub endpoint: String,
    /// The endpoint's params: JSON, or @FILE to read them from a file.
    #[arg(long, default_value = "{}")]
    pub params: String,
    /// Version to run (default: the current one).
    #[arg(long, default_value = "current")]
    pub code_version: String,
    /// Run on this engine version instead of the version's own.
    #[arg(long)]
    pub environment_version: Option<String>,
    /// Print one JSON document: returnedValue, steps, environmentVersion.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub conn: ConnArgs,
}

fn params(text: &str) -> Result<Value> {
    let text = match text.strip_prefix('@') {
        Some(path) => {
            let meta = std::fs::metadata(path).with_context(|| format!("cannot read {path}"))?;
            anyhow::ensure!(
                meta.len() <= MAX_PARAMS_BYTES,
                "{path} is larger than {MAX_PARAMS_BYTES} bytes"
            );
            std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?
        }
        None => text.to_owned(),
    };
    serde_json::from_str(&text).context("--params is not valid JSON")
}

pub async fn invoke(args: Invoke) -> Result<()> {
    let params = params(&args.params)?;
    let api = Api::new(args.conn.connection()?)?;
    // With --token the run acts as that token's owner (a user, or the admin); with the client
    // credentials, as the app admin.
    let token = match &api.conn.credentials {
        Credentials::Token(t) => t.clone(),
        Credentials::Client { .. } => api.admin_token().await?,
    };
    let mut path = format!(
        "/server-code/versions/{}/{}",
        encode(&args.code_version),
        encode(&args.endpoint)
    );
    if let Some(env) = &args.environment_version {
        path.push_str(&format!("?environment-version={}", encode_query(env)));
    }
    let result = api
        .call(Method::POST, &path, Body::Json(params), Some(&token))
        .await;
    let reply = match result {
        Ok(reply) => reply,
        Err(e) => {
            // A failed run: its body says why, in full.
            if let Some(se) = e.downcast_ref::<ServerError>() {
                if se.body.is_object() {
                    eprintln!("{}", serde_json::to_string_pretty(&se.body)?);
                }
            }
            return Err(e);
        }
    };
    let header = |name: &str| {
        reply
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let steps = header("x-step-count");
    let environment = header("x-environment-version");
    let body = reply.json()?;
    let returned = body.get("returnedValue");
    if args.json {
        let steps = steps.as_deref().and_then(|s| s.parse::<u64>().ok());
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "returnedValue": returned,
                "steps": steps,
                "environmentVersion": environment,
            }))?
        );
        return Ok(());
    }
    match returned {
        Some(v) => println!("{}", serde_json::to_string_pretty(v)?),
        None => println!("undefined"),
    }
    println!("steps: {}", steps.as_deref().unwrap_or("?"));
    println!(
        "environment version: {}",
        environment.as_deref().unwrap_or("?")
    );
    Ok(())
}
