//! `kumo login`: checks credentials against a server and saves them as a profile, so that
//! later commands need no flags.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;

use super::api::Api;
use super::conn::{self, ConnArgs};
use super::profile;

/// Largest credentials file read.
const MAX_FILE_BYTES: u64 = 1 << 20;

#[derive(Args, Debug)]
pub struct Login {
    /// A Kumo data directory: its default-app.json holds the default app's credentials.
    #[arg(long, conflicts_with = "from_file")]
    pub data_dir: Option<PathBuf>,
    /// A credentials file (the JSON `kumo serve` and `kumo app create` print).
    #[arg(long)]
    pub from_file: Option<PathBuf>,
    #[command(flatten)]
    pub conn: ConnArgs,
}

pub async fn login(args: Login) -> Result<()> {
    let file = args
        .from_file
        .clone()
        .or_else(|| args.data_dir.as_ref().map(|d| d.join("default-app.json")));
    // The file's credentials, with any flag (or variable) laid over them; the profile being
    // written is not read.
    let base = match &file {
        Some(path) => {
            let meta = std::fs::metadata(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            if meta.len() > MAX_FILE_BYTES {
                bail!("{} is not a credentials file (too large)", path.display());
            }
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not valid JSON", path.display()))?;
            profile::from_json(&value)
        }
        None => conn::Settings::default(),
    };
    let settings = args.conn.over(base);
    let connection = conn::validate(&settings, args.conn.debug)?;
    let api = Api::new(connection)?;
    // The check: an admin token, and one admin call with it (a given token is checked too).
    api.admin_token().await?;
    api.admin(
        reqwest::Method::GET,
        "/server-code/versions",
        super::api::Body::None,
    )
    .await?;
    let name = args.conn.profile.as_deref().unwrap_or(profile::DEFAULT);
    let path = profile::save(name, &settings)?;
    println!(
        "Logged in to {} (app {}); profile {name:?} written to {}",
        api.conn.site_url,
        api.conn.app_id,
        path.display()
    );
    Ok(())
}
