//! Reading the schedule-execution history for [`SqlStore`] (one record, query pages) and
//! trimming it. Writing records is `sql_firings.rs`'s.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::execution_query::{ExecutionPage, ExecutionQuery};
use crate::executions_sql::{self, COLUMNS};
use crate::params::bind_params;
use crate::sql::SqlStore;
use crate::{ExecutionStatus, Result, ScheduleExecution, StorageError};

fn execution_of(r: &AnyRow) -> Result<ScheduleExecution> {
    let status: String = r.try_get("status")?;
    Ok(ScheduleExecution {
        id: r.try_get("id")?,
        app_id: r.try_get("app_id")?,
        version_id: r.try_get("version_id")?,
        job: r.try_get("job")?,
        scheduled_at: r.try_get("scheduled_at")?,
        by_hand: r.try_get::<i64, _>("by_hand")? != 0,
        status: ExecutionStatus::parse(&status).ok_or_else(|| {
            StorageError::Backend(format!("schedule execution with status {status:?}"))
        })?,
        started_at: r.try_get("started_at")?,
        finished_at: r.try_get("finished_at")?,
        result: r.try_get("result")?,
    })
}

impl SqlStore {
    pub(crate) async fn do_get_schedule_execution(
        &self,
        app_id: &str,
        id: &str,
    ) -> Result<Option<ScheduleExecution>> {
        let sql =
            format!("SELECT {COLUMNS} FROM schedule_executions WHERE app_id = $1 AND id = $2");
        let row = sqlx::query(&sql)
            .bind(app_id)
            .bind(id)
            .fetch_optional(&mut *self.read.get().await?)
            .await?;
        row.as_ref().map(execution_of).transpose()
    }

    pub(crate) async fn do_query_schedule_executions(
        &self,
        app_id: &str,
        query: &ExecutionQuery,
        after: Option<&str>,
        limit: i64,
    ) -> Result<ExecutionPage> {
        let limit = limit.max(1);
        // One row more than asked tells whether another page follows.
        let built = executions_sql::page(self.dialect(), app_id, query, after, limit + 1)
            .ok_or(StorageError::InvalidCursor)?;
        let rows = bind_params(sqlx::query(&built.sql), &built.params)
            .fetch_all(&mut *self.read.get().await?)
            .await?;
        let mut executions = rows.iter().map(execution_of).collect::<Result<Vec<_>>>()?;
        let next = if executions.len() as i64 > limit {
            executions.truncate(limit as usize);
            executions.last().map(|e| {
                let key =
                    executions_sql::key_value(query.order_by, e.started_at, e.finished_at, &e.job);
                executions_sql::cursor(query, key, &e.id)
            })
        } else {
            None
        };
        Ok(ExecutionPage { executions, next })
    }

    /// Drops the app's finished records that ended before `finished_before`, and those older
    /// (by start) than its newest `keep_at_most`. Running ones stay whatever their age: their
    /// node still owns them.
    pub(crate) async fn do_trim_schedule_executions(
        &self,
        app_id: &str,
        finished_before: i64,
        keep_at_most: i64,
    ) -> Result<u64> {
        Ok(sqlx::query(
            "DELETE FROM schedule_executions \
             WHERE app_id = $1 AND status <> 'RUNNING' AND (finished_at < $2 \
               OR (started_at, id) <= (SELECT started_at, id FROM schedule_executions \
                                       WHERE app_id = $1 \
                                       ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET $3))",
        )
        .bind(app_id)
        .bind(finished_before)
        .bind(keep_at_most.max(0))
        .execute(&mut *self.write.get().await?)
        .await?
        .rows_affected())
    }

    pub(crate) async fn do_schedule_execution_apps(&self) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT DISTINCT app_id FROM schedule_executions")
            .fetch_all(&mut *self.read.get().await?)
            .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>("app_id")?))
            .collect()
    }

    /// Writes `e` as it is, outside any firing: for tests that need a history with chosen
    /// times and statuses. A running one is never failed by a lease check (its lease never
    /// runs out).
    #[cfg(feature = "testing")]
    pub(crate) async fn insert_schedule_execution(&self, e: &ScheduleExecution) -> Result<()> {
        sqlx::query(
            "INSERT INTO schedule_executions (id, app_id, firing, version_id, job, \
             scheduled_at, by_hand, status, started_at, finished_at, result, node, fence, \
             lease_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&e.id)
        .bind(&e.app_id)
        .bind(format!("test/{}", e.id))
        .bind(&e.version_id)
        .bind(&e.job)
        .bind(e.scheduled_at)
        .bind(e.by_hand as i64)
        .bind(e.status.as_str())
        .bind(e.started_at)
        .bind(e.finished_at)
        .bind(e.result.as_deref())
        .bind("test")
        .bind(0_i64)
        .bind(i64::MAX)
        .execute(&mut *self.write.get().await?)
        .await?;
        Ok(())
    }
}
