//! TEMPORARY until the hook-config and history branches merge.
use crate::sql::SqlStore;
use crate::Result;
use sqlx::Row;

impl SqlStore {
    pub(crate) async fn tmp_live_hook_configs(&self) -> Result<Vec<(String, String, String)>> {
        let rows = sqlx::query("SELECT v.app_id, v.version_id, v.hook_config FROM server_code_current c JOIN server_code_versions v ON v.app_id = c.app_id AND v.version_id = c.version_id WHERE v.hook_config IS NOT NULL")
            .fetch_all(&mut *self.read.get().await?).await?;
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
    pub(crate) async fn tmp_get_hook_config(
        &self,
        app_id: &str,
        version_id: Option<&str>,
    ) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT hook_config FROM server_code_versions WHERE app_id = $1 AND version_id = $2",
        )
        .bind(app_id)
        .bind(version_id.unwrap_or_default())
        .fetch_optional(&mut *self.read.get().await?)
        .await?;
        Ok(match row {
            Some(r) => r.try_get("hook_config")?,
            None => None,
        })
    }
    pub(crate) async fn tmp_put_hook_config(
        &self,
        app_id: &str,
        version_id: &str,
        config: &str,
    ) -> Result<()> {
        sqlx::query("UPDATE server_code_versions SET hook_config = $3 WHERE app_id = $1 AND version_id = $2")
            .bind(app_id).bind(version_id).bind(config)
            .execute(&mut *self.write.get().await?).await?;
        Ok(())
    }
}
