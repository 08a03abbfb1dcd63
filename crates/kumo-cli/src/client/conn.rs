//! Where a client command connects and with which credentials: the flags Kii's
//! `kii-servercode.js` takes, each also read from an environment variable and from a profile.
//! A flag wins over its variable (clap reads both), and either wins over the profile.

use anyhow::{bail, Result};
use clap::Args;

use super::profile::{self, Profile};

/// The connection flags every client command takes.
#[derive(Args, Clone, Debug, Default)]
#[command(next_help_heading = "Connection")]
pub struct ConnArgs {
    /// Kii site: us, jp, cn, sg, cn3 or eu.
    #[arg(long, env = "KUMO_SITE")]
    pub site: Option<String>,
    /// API base URL (wins over --site), e.g. http://127.0.0.1:8080/api.
    #[arg(long, env = "KUMO_SITE_URL")]
    pub site_url: Option<String>,
    /// The app's ID.
    #[arg(long, env = "KUMO_APP_ID", allow_hyphen_values = true)]
    pub app_id: Option<String>,
    /// The app's key (Kii accepts any value).
    #[arg(
        long,
        env = "KUMO_APP_KEY",
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    pub app_key: Option<String>,
    /// Client ID, to obtain an app-admin token.
    #[arg(long, env = "KUMO_CLIENT_ID", allow_hyphen_values = true)]
    pub client_id: Option<String>,
    /// Client secret, to obtain an app-admin token.
    #[arg(
        long,
        env = "KUMO_CLIENT_SECRET",
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    pub client_secret: Option<String>,
    /// An app-admin token, instead of the client ID and secret.
    #[arg(
        long,
        env = "KUMO_TOKEN",
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    pub token: Option<String>,
    /// HTTP proxy, e.g. https://my.proxy:8080.
    #[arg(long, env = "KUMO_HTTP_PROXY")]
    pub http_proxy: Option<String>,
    /// Print each request and its status on stderr (never credentials).
    #[arg(long)]
    pub debug: bool,
    /// Profile to read missing settings from (a file in ~/.config/kumo/).
    #[arg(long, env = "KUMO_PROFILE")]
    pub profile: Option<String>,
}

/// Kii's API hosts per site.
pub const SITES: [(&str, &str); 6] = [
    ("us", "https://api.kii.com/api"),
    ("jp", "https://api-jp.kii.com/api"),
    ("cn", "https://api-cn2.kii.com/api"),
    ("sg", "https://api-sg.kii.com/api"),
    ("cn3", "https://api-cn3.kii.com/api"),
    ("eu", "https://api-eu.kii.com/api"),
];

/// How the admin token is had.
#[derive(Clone, Debug, PartialEq)]
pub enum Credentials {
    Token(String),
    Client { id: String, secret: String },
}

/// A checked connection: everything a request needs.
#[derive(Clone, Debug)]
pub struct Connection {
    /// The API base, without a trailing slash (ends in `/api` for Kii and Kumo).
    pub site_url: String,
    pub app_id: String,
    pub app_key: String,
    pub credentials: Credentials,
    pub http_proxy: Option<String>,
    pub debug: bool,
}

/// The settings before validation, from whichever layer gave them.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub site: Option<String>,
    pub site_url: Option<String>,
    pub app_id: Option<String>,
    pub app_key: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub token: Option<String>,
    pub http_proxy: Option<String>,
}

impl ConnArgs {
    /// The flags and variables laid over the profile. A `--site` replaces the profile's site
    /// URL too (which would otherwise win), and a client ID or secret its token.
    pub fn settings(&self) -> Result<Settings> {
        let base = match profile::load(self.profile.as_deref())? {
            Some(Profile { settings, .. }) => settings,
            None => Settings::default(),
        };
        Ok(self.over(base))
    }

    pub fn over(&self, mut base: Settings) -> Settings {
        let given = |v: &Option<String>| v.as_ref().filter(|s| !s.is_empty()).cloned();
        if let Some(url) = given(&self.site_url) {
            base.site_url = Some(url);
        } else if let Some(site) = given(&self.site) {
            base.site = Some(site);
            base.site_url = None;
        }
        if let Some(token) = given(&self.token) {
            base.token = Some(token);
        } else if self.client_id.is_some() || self.client_secret.is_some() {
            base.token = None;
            base.client_id = given(&self.client_id).or(base.client_id);
            base.client_secret = given(&self.client_secret).or(base.client_secret);
        }
        base.app_id = given(&self.app_id).or(base.app_id);
        base.app_key = given(&self.app_key).or(base.app_key);
        base.http_proxy = given(&self.http_proxy).or(base.http_proxy);
        base
    }

    /// The connection, checked with Kii's messages, in Kii's order.
    pub fn connection(&self) -> Result<Connection> {
        let s = self.settings()?;
        validate(&s, self.debug)
    }
}

pub fn validate(s: &Settings, debug: bool) -> Result<Connection> {
    let site_url = match (&s.site_url, &s.site) {
        (Some(url), _) => {
            let lower = url.to_ascii_lowercase();
            if !(lower.starts_with("http://") || lower.starts_with("https://")) {
                bail!("Invalid --site-url: {url} (only http:// and https:// URLs are supported)");
            }
            url.trim_end_matches('/').to_owned()
        }
        (None, Some(site)) => match SITES.iter().find(|(name, _)| name == site) {
            Some((_, url)) => (*url).to_owned(),
            None => bail!("Undefined site found: {site}"),
        },
        (None, None) => bail!("Either --site or --site-url is required"),
    };
    let Some(app_id) = s.app_id.clone() else {
        bail!("Missing param --app-id");
    };
    let Some(app_key) = s.app_key.clone() else {
        bail!("Missing param --app-key");
    };
    let credentials = match (&s.token, &s.client_id, &s.client_secret) {
        (Some(token), _, _) => Credentials::Token(token.clone()),
        (None, Some(id), Some(secret)) => Credentials::Client {
            id: id.clone(),
            secret: secret.clone(),
        },
        _ => bail!("Either --token or --client-id / --client-secret pair are required"),
    };
    Ok(Connection {
        site_url,
        app_id,
        app_key,
        credentials,
        http_proxy: s.http_proxy.clone(),
        debug,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Settings {
        Settings {
            site_url: Some("http://h:1/api/".into()),
            app_id: Some("a".into()),
            app_key: Some("k".into()),
            client_id: Some("c".into()),
            client_secret: Some("s".into()),
            ..Settings::default()
        }
    }

    #[test]
    fn kii_messages_in_kii_order() {
        let err = |s: Settings| validate(&s, false).unwrap_err().to_string();
        assert_eq!(
            err(Settings::default()),
            "Either --site or --site-url is required"
        );
        let mut s = full();
        s.site_url = None;
        s.site = Some("mars".into());
        assert_eq!(err(s), "Undefined site found: mars");
        let mut s = full();
        s.app_id = None;
        assert_eq!(err(s), "Missing param --app-id");
        let mut s = full();
        s.app_key = None;
        assert_eq!(err(s), "Missing param --app-key");
        let mut s = full();
        s.client_secret = None;
        assert_eq!(
            err(s),
            "Either --token or --client-id / --client-secret pair are required"
        );
    }

    #[test]
    fn sites_map_to_kii_hosts_and_site_url_wins() {
        let mut s = full();
        s.site_url = None;
        s.site = Some("jp".into());
        assert_eq!(
            validate(&s, false).unwrap().site_url,
            "https://api-jp.kii.com/api"
        );
        s.site_url = Some("http://x/api/".into());
        assert_eq!(validate(&s, false).unwrap().site_url, "http://x/api");
    }

    #[test]
    fn flags_replace_what_the_profile_gives() {
        let flags = ConnArgs {
            site: Some("eu".into()),
            token: Some("t".into()),
            ..ConnArgs::default()
        };
        let s = flags.over(full());
        assert_eq!(s.site_url, None);
        let c = validate(&s, false).unwrap();
        assert_eq!(c.site_url, "https://api-eu.kii.com/api");
        assert_eq!(c.credentials, Credentials::Token("t".into()));
        assert_eq!(c.app_id, "a");
    }
}
