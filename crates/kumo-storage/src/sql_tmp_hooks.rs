//! TEMPORARY until the hook-config and history branches merge.
use crate::sql::SqlStore;
use crate::{ExecutionStatus, Result, ScheduleExecution};
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
    pub(crate) async fn tmp_get_schedule_execution(
        &self,
        app_id: &str,
        id: &str,
    ) -> Result<Option<ScheduleExecution>> {
        let row = sqlx::query("SELECT * FROM schedule_executions WHERE app_id = $1 AND id = $2")
            .bind(app_id)
            .bind(id)
            .fetch_optional(&mut *self.read.get().await?)
            .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(ScheduleExecution {
            id: r.try_get("id")?,
            app_id: r.try_get("app_id")?,
            version_id: r.try_get("version_id")?,
            job: r.try_get("job")?,
            scheduled_at: r.try_get("scheduled_at")?,
            by_hand: r.try_get::<i64, _>("by_hand")? != 0,
            status: ExecutionStatus::parse(&r.try_get::<String, _>("status")?)
                .unwrap_or(ExecutionStatus::Failed),
            started_at: r.try_get("started_at")?,
            finished_at: r.try_get("finished_at")?,
            result: r.try_get("result")?,
        }))
    }
}
