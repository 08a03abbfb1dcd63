use kumo_storage::{App, Storage};
use kumo_types::{ids, now_ms, validate};
use serde::Serialize;

use crate::error::Result;
use crate::secrets::digest_hex;

/// What a new app's owner needs to know; the secret is shown once and stored only hashed.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppCredentials {
    #[serde(rename = "appID")]
    pub app_id: String,
    pub app_key: String,
    #[serde(rename = "clientID")]
    pub client_id: String,
    pub client_secret: String,
    #[serde(rename = "siteURL")]
    pub site_url: String,
}

/// Creates an app with fresh credentials. `site_url` is the API base clients should use.
pub async fn create_app(
    storage: &dyn Storage,
    name: &str,
    site_url: &str,
) -> Result<AppCredentials> {
    validate::app_name(name)?;
    let secret = ids::client_secret();
    let app = App {
        id: ids::app_id(),
        key: ids::app_key(),
        name: name.to_owned(),
        client_id: ids::client_id(),
        client_secret_hash: digest_hex(&secret),
        created_at: now_ms(),
    };
    storage.create_app(&app).await?;
    Ok(AppCredentials {
        app_id: app.id,
        app_key: app.key,
        client_id: app.client_id,
        client_secret: secret,
        site_url: site_url.to_owned(),
    })
}
