//! Server-code versions and the current-version pointer, for [`SqlStore`].

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::sql::SqlStore;
use crate::tx::in_transaction;
use crate::{CodeVersion, CodeVersionInfo, Invalidation, Result, StorageError};

impl SqlStore {
    pub(crate) async fn do_create_code_version(
        &self,
        app_id: &str,
        version: &CodeVersion,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO server_code_versions \
             (app_id, version_id, source, environment_version, created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(app_id)
        .bind(&version.version_id)
        .bind(&version.source)
        .bind(&version.environment_version)
        .bind(version.created_at)
        .bind(version.modified_at)
        .execute(&mut *self.write.get().await?)
        .await?;
        Ok(())
    }

    pub(crate) async fn do_list_code_versions(&self, app_id: &str) -> Result<Vec<CodeVersionInfo>> {
        let rows = sqlx::query(
            "SELECT v.version_id, v.environment_version, v.created_at, v.modified_at, \
             CASE WHEN c.version_id IS NULL THEN 0 ELSE 1 END AS is_current \
             FROM server_code_versions v \
             LEFT JOIN server_code_current c ON c.app_id = v.app_id AND c.version_id = v.version_id \
             WHERE v.app_id = $1 ORDER BY v.created_at, v.version_id",
        )
        .bind(app_id)
        .fetch_all(&mut *self.read.get().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CodeVersionInfo {
                    version_id: r.try_get("version_id")?,
                    environment_version: r.try_get("environment_version")?,
                    created_at: r.try_get("created_at")?,
                    modified_at: r.try_get("modified_at")?,
                    current: r.try_get::<i32, _>("is_current")? != 0,
                })
            })
            .collect()
    }

    /// A version by ID, or the current one when `version_id` is `None`.
    pub(crate) async fn do_get_code_version(
        &self,
        app_id: &str,
        version_id: Option<&str>,
    ) -> Result<Option<CodeVersion>> {
        const COLS: &str =
            "v.version_id, v.source, v.environment_version, v.created_at, v.modified_at";
        let row = match version_id {
            Some(id) => {
                sqlx::query(&format!(
                    "SELECT {COLS} FROM server_code_versions v \
                     WHERE v.app_id = $1 AND v.version_id = $2"
                ))
                .bind(app_id)
                .bind(id)
                .fetch_optional(&mut *self.read.get().await?)
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {COLS} FROM server_code_current c \
                     JOIN server_code_versions v ON v.app_id = c.app_id AND v.version_id = c.version_id \
                     WHERE c.app_id = $1"
                ))
                .bind(app_id)
                .fetch_optional(&mut *self.read.get().await?)
                .await?
            }
        };
        row.map(|r| version_from_row(&r)).transpose()
    }

    pub(crate) async fn do_delete_code_version(
        &self,
        app_id: &str,
        version_id: &str,
    ) -> Result<bool> {
        in_transaction(&self.write, async |tx| {
            // Deleting the current version leaves the app without one.
            sqlx::query("DELETE FROM server_code_current WHERE app_id = $1 AND version_id = $2")
                .bind(app_id)
                .bind(version_id)
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query(
                "DELETE FROM server_code_versions WHERE app_id = $1 AND version_id = $2",
            )
            .bind(app_id)
            .bind(version_id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            let event = Invalidation::VersionDeleted {
                app_id: app_id.to_owned(),
                version_id: version_id.to_owned(),
            };
            self.notify(tx, event).await?;
            Ok(true)
        })
        .await
    }

    pub(crate) async fn do_current_versions(&self) -> Result<Vec<(String, CodeVersion)>> {
        let rows = sqlx::query(
            "SELECT c.app_id, v.version_id, v.source, v.environment_version, v.created_at, \
             v.modified_at FROM server_code_current c \
             JOIN server_code_versions v ON v.app_id = c.app_id AND v.version_id = c.version_id \
             ORDER BY c.app_id",
        )
        .fetch_all(&mut *self.read.get().await?)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("app_id")?, version_from_row(r)?)))
            .collect()
    }

    pub(crate) async fn do_get_current_version(&self, app_id: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT version_id FROM server_code_current WHERE app_id = $1")
            .bind(app_id)
            .fetch_optional(&mut *self.read.get().await?)
            .await?;
        row.map(|r| Ok(r.try_get::<String, _>(0)?)).transpose()
    }

    /// Points `current` at `version_id` (`None` clears it). `NotFound` if there is no such version.
    pub(crate) async fn do_set_current_version(
        &self,
        app_id: &str,
        version_id: Option<&str>,
    ) -> Result<()> {
        in_transaction(&self.write, async |tx| {
            sqlx::query("DELETE FROM server_code_current WHERE app_id = $1")
                .bind(app_id)
                .execute(&mut *tx)
                .await?;
            // Sent before the new pointer is checked: when there is no such version the whole
            // transaction rolls back, and the notification with it.
            let event = Invalidation::CurrentVersion {
                app_id: app_id.to_owned(),
            };
            self.notify(tx, event).await?;
            if let Some(id) = version_id {
                let inserted = sqlx::query(
                    "INSERT INTO server_code_current (app_id, version_id) \
                     SELECT app_id, version_id FROM server_code_versions \
                     WHERE app_id = $1 AND version_id = $2",
                )
                .bind(app_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                if inserted.rows_affected() == 0 {
                    return Err(StorageError::NotFound(crate::Entity::CodeVersion));
                }
            }
            Ok(())
        })
        .await
    }
}

fn version_from_row(r: &AnyRow) -> Result<CodeVersion> {
    Ok(CodeVersion {
        version_id: r.try_get("version_id")?,
        source: r.try_get("source")?,
        environment_version: r.try_get("environment_version")?,
        created_at: r.try_get("created_at")?,
        modified_at: r.try_get("modified_at")?,
    })
}
