//! Hook configs, for [`SqlStore`]: the text of a version's config lives on its version row
//! (`server_code_versions.hook_config`, NULL when it has none), so deleting a version deletes
//! its config with it.

use sqlx::Row;

use crate::sql::SqlStore;
use crate::{Entity, Result, StorageError};

impl SqlStore {
    pub(crate) async fn do_put_hook_config(
        &self,
        app_id: &str,
        version_id: &str,
        config: &str,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE server_code_versions SET hook_config = $3 \
             WHERE app_id = $1 AND version_id = $2",
        )
        .bind(app_id)
        .bind(version_id)
        .bind(config)
        .execute(&mut *self.write.get().await?)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StorageError::NotFound(Entity::CodeVersion));
        }
        Ok(())
    }

    /// The config of `version_id`, or of the current version when `None`.
    pub(crate) async fn do_get_hook_config(
        &self,
        app_id: &str,
        version_id: Option<&str>,
    ) -> Result<Option<String>> {
        let mut conn = self.read.get().await?;
        let row = match version_id {
            Some(id) => {
                sqlx::query(
                    "SELECT hook_config FROM server_code_versions \
                     WHERE app_id = $1 AND version_id = $2",
                )
                .bind(app_id)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT v.hook_config FROM server_code_current c \
                     JOIN server_code_versions v \
                       ON v.app_id = c.app_id AND v.version_id = c.version_id \
                     WHERE c.app_id = $1",
                )
                .bind(app_id)
                .fetch_optional(&mut *conn)
                .await?
            }
        };
        let row = row.ok_or(StorageError::NotFound(Entity::CodeVersion))?;
        Ok(row.try_get("hook_config")?)
    }

    pub(crate) async fn do_delete_hook_config(
        &self,
        app_id: &str,
        version_id: &str,
    ) -> Result<bool> {
        let mut conn = self.write.get().await?;
        let done = sqlx::query(
            "UPDATE server_code_versions SET hook_config = NULL \
             WHERE app_id = $1 AND version_id = $2 AND hook_config IS NOT NULL",
        )
        .bind(app_id)
        .bind(version_id)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() > 0 {
            return Ok(true);
        }
        // Nothing removed: tell a version without a config from no version at all.
        let exists = sqlx::query(
            "SELECT 1 AS one FROM server_code_versions WHERE app_id = $1 AND version_id = $2",
        )
        .bind(app_id)
        .bind(version_id)
        .fetch_optional(&mut *conn)
        .await?;
        match exists {
            Some(_) => Ok(false),
            None => Err(StorageError::NotFound(Entity::CodeVersion)),
        }
    }

    pub(crate) async fn do_live_hook_configs(&self) -> Result<Vec<(String, String, String)>> {
        let rows = sqlx::query(
            "SELECT v.app_id, v.version_id, v.hook_config FROM server_code_current c \
             JOIN server_code_versions v \
               ON v.app_id = c.app_id AND v.version_id = c.version_id \
             WHERE v.hook_config IS NOT NULL",
        )
        .fetch_all(&mut *self.read.get().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("app_id")?,
                    r.try_get("version_id")?,
                    r.try_get("hook_config")?,
                ))
            })
            .collect()
    }
}
