//! TEMPORARY until the history branch merges (it replaces `tmp_get_schedule_execution`).
use crate::sql::SqlStore;
use crate::{ExecutionStatus, Result, ScheduleExecution};
use sqlx::Row;

impl SqlStore {
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
