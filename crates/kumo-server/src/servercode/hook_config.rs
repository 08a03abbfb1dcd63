//! A version's hook config (admin): checked against the version's own endpoints when it is
//! uploaded, stored as the exact bytes sent, read back the same.

use kumo_storage::{DevLogLevel, Entity, StorageError};
use kumo_types::{ApiError, ErrorCode};
use serde_json::{json, Map};

use super::{devlog, require_admin, ServerCode};
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::hooks::config;
use crate::service::Service;

/// The version alias accepted when reading a hook config.
const CURRENT: &str = "current";

impl ServerCode {
    /// Validates `body` against `version_id`'s endpoints and makes it that version's config.
    /// When the version is the current one, its trigger hooks take effect for the changes
    /// made from now on.
    pub async fn put_hook_config(
        &self,
        service: &Service,
        caller: &Caller,
        version_id: &str,
        body: axum::body::Bytes,
    ) -> Result<()> {
        require_admin(caller)?;
        refuse_current(version_id, "Upload")?;
        let app = &caller.app;
        let loaded = self.load(service, app, version_id).await?;
        // A thousand jobs' schedules take a while to check: off the reactor.
        let checked = {
            let body = body.clone();
            tokio::task::spawn_blocking(move || {
                let defines = |name: &str| loaded.program.endpoints.contains_key(name);
                config::parse(&body, &defines).map(|_| ())
            })
        };
        checked.await.map_err(|_| {
            Error::new(ErrorCode::InternalError, "checking the hook config failed")
        })??;
        let text = std::str::from_utf8(&body)
            .map_err(|_| Error::new(ErrorCode::InvalidJson, "The hook config is not UTF-8"))?;
        let storage = &service.storage;
        storage.put_hook_config(&app.id, version_id, text).await?;
        // Read from storage, not the per-node cache: a cursor made late loses the events
        // between the switch and it. `set_current` does the same from the other side.
        if storage.get_current_version(&app.id).await?.as_deref() == Some(version_id) {
            storage.ensure_hook_cursor(&app.id).await?;
            // This node's scheduler takes the new jobs in now (others within a second).
            self.versions_changed.notify_one();
        }
        self.log_hook_change(
            &app.id,
            "servercode.hook.deploy",
            "Server hook config deployed",
            version_id,
        );
        Ok(())
    }

    /// The config text as uploaded; `version` may be `current`.
    pub async fn get_hook_config(
        &self,
        service: &Service,
        caller: &Caller,
        version: &str,
    ) -> Result<String> {
        require_admin(caller)?;
        let version_id = (version != CURRENT).then_some(version);
        let stored = service
            .storage
            .get_hook_config(&caller.app.id, version_id)
            .await
            .map_err(|e| match (e, version_id) {
                (StorageError::NotFound(Entity::CodeVersion), None) => Error::new(
                    ErrorCode::ServerCodeVersionNotFound,
                    "No server code version is current",
                ),
                (e, _) => e.into(),
            })?;
        stored.ok_or_else(no_hook_config)
    }

    pub async fn delete_hook_config(
        &self,
        service: &Service,
        caller: &Caller,
        version_id: &str,
    ) -> Result<()> {
        require_admin(caller)?;
        refuse_current(version_id, "Delete")?;
        if !service
            .storage
            .delete_hook_config(&caller.app.id, version_id)
            .await?
        {
            return Err(no_hook_config());
        }
        self.log_hook_change(
            &caller.app.id,
            "servercode.hook.delete",
            "Server hook config deleted",
            version_id,
        );
        Ok(())
    }

    fn log_hook_change(&self, app_id: &str, key: &str, description: &str, version_id: &str) {
        let mut fields = Map::new();
        fields.insert("description".into(), json!(description));
        fields.insert("versionID".into(), json!(version_id));
        self.devlog
            .push(app_id, devlog::record(DevLogLevel::Info, key, None, fields));
    }
}

/// Writes name the version: `current` changes meaning whenever another version is made
/// current, and Kii's own tool refuses it for the same reason.
fn refuse_current(version_id: &str, what: &str) -> Result<()> {
    if version_id == CURRENT {
        return Err(ApiError::invalid_field(
            "versionID",
            format!(
                "{what} a hook config with the ID of its version; `current` is accepted only when reading one"
            ),
        )
        .into());
    }
    Ok(())
}

fn no_hook_config() -> Error {
    Error::new(
        ErrorCode::ServerCodeHookVersionNotFound,
        "The server code version has no hook config",
    )
}
