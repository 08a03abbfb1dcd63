//! Schedule firings for [`SqlStore`]: claimed once per firing key whatever the number of nodes,
//! held under a lease the claiming node renews, completed only with the claim's fence.

use sqlx::Row;

use crate::delivery_model::{Claim, NewFiring};
use crate::sql::SqlStore;
use crate::tx::in_transaction;
use crate::{ExecutionStatus, Result, ScheduleExecution};

/// What a skipped firing's record says.
const SKIPPED: &str = "Skipped: the job's previous firing was still running (overlap: skip)";

impl SqlStore {
    pub(crate) async fn do_claim_firings(
        &self,
        firings: &[NewFiring],
        node: &str,
        lease_until: i64,
    ) -> Result<Vec<Claim>> {
        in_transaction(&self.write, async |tx| {
            let mut claims = Vec::with_capacity(firings.len());
            for f in firings {
                let running = if f.skip_if_running {
                    sqlx::query(
                        "SELECT 1 FROM schedule_executions \
                         WHERE app_id = $1 AND job = $2 AND status = 'RUNNING' LIMIT 1",
                    )
                    .bind(&f.app_id)
                    .bind(&f.job)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some()
                } else {
                    false
                };
                let (status, finished_at, result) = if running {
                    ("FAILED", Some(f.started_at), Some(SKIPPED))
                } else {
                    ("RUNNING", None, None)
                };
                // Only the current version's jobs fire: the check and the insert are one
                // statement, so a firing cannot slip in after a version switch committed.
                let inserted = sqlx::query(
                    "INSERT INTO schedule_executions (id, app_id, firing, version_id, job, \
                     scheduled_at, by_hand, status, started_at, finished_at, result, node, fence, \
                     lease_until) \
                     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 \
                     WHERE EXISTS (SELECT 1 FROM server_code_current c \
                                   WHERE c.app_id = $2 AND c.version_id = $4) \
                     ON CONFLICT (app_id, firing) DO NOTHING",
                )
                .bind(&f.id)
                .bind(&f.app_id)
                .bind(f.key())
                .bind(&f.version_id)
                .bind(&f.job)
                .bind(f.scheduled_at)
                .bind(f.by_hand as i64)
                .bind(status)
                .bind(f.started_at)
                .bind(finished_at)
                .bind(result)
                .bind(node)
                .bind(f.fence)
                .bind(lease_until)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                claims.push(match (inserted, running) {
                    (0, _) => Claim::Lost,
                    (_, true) => Claim::Skipped,
                    (_, false) => Claim::Run,
                });
            }
            Ok(claims)
        })
        .await
    }

    pub(crate) async fn do_renew_firing_leases(&self, node: &str, lease_until: i64) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE schedule_executions SET lease_until = $2 \
             WHERE node = $1 AND status = 'RUNNING' AND lease_until < $2",
        )
        .bind(node)
        .bind(lease_until)
        .execute(&mut *self.write.get().await?)
        .await?
        .rows_affected())
    }

    pub(crate) async fn do_finish_firing(
        &self,
        app_id: &str,
        id: &str,
        fence: i64,
        status: ExecutionStatus,
        finished_at: i64,
        result: &str,
    ) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE schedule_executions SET status = $4, finished_at = $5, result = $6 \
             WHERE app_id = $1 AND id = $2 AND fence = $3 AND status = 'RUNNING'",
        )
        .bind(app_id)
        .bind(id)
        .bind(fence)
        .bind(status.as_str())
        .bind(finished_at)
        .bind(result)
        .execute(&mut *self.write.get().await?)
        .await?
        .rows_affected()
            == 1)
    }

    pub(crate) async fn do_fail_expired_firings(
        &self,
        now: i64,
        result: &str,
    ) -> Result<Vec<ScheduleExecution>> {
        let rows = sqlx::query(
            "UPDATE schedule_executions SET status = 'FAILED', finished_at = $1, result = $2 \
             WHERE status = 'RUNNING' AND lease_until < $1 \
             RETURNING id, app_id, version_id, job, scheduled_at, by_hand, started_at",
        )
        .bind(now)
        .bind(result)
        .fetch_all(&mut *self.write.get().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ScheduleExecution {
                    id: r.try_get("id")?,
                    app_id: r.try_get("app_id")?,
                    version_id: r.try_get("version_id")?,
                    job: r.try_get("job")?,
                    scheduled_at: r.try_get("scheduled_at")?,
                    by_hand: r.try_get::<i64, _>("by_hand")? != 0,
                    status: ExecutionStatus::Failed,
                    started_at: r.try_get("started_at")?,
                    finished_at: Some(now),
                    result: Some(result.to_owned()),
                })
            })
            .collect()
    }
}
