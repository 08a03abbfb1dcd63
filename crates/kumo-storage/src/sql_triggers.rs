//! Trigger delivery for [`SqlStore`]: one cursor per app over the change events, held by one
//! node at a time under a lease, and the failed runs waiting for another attempt.

use sqlx::Row;

use crate::delivery_model::HookRetry;
use crate::sql::SqlStore;
use crate::{Dialect, EventCursor, Result};

impl SqlStore {
    pub(crate) async fn do_ensure_hook_cursor(&self, app_id: &str) -> Result<()> {
        // A new cursor starts after the app's newest event: hooks fire for changes from now on.
        // (Both maxima: a position no existing event is after, whatever its transaction.)
        sqlx::query(
            "INSERT INTO hook_cursors (app_id, last_txid, last_seq, node, lease_until) \
             SELECT $1, COALESCE((SELECT MAX(txid) FROM events WHERE app_id = $1), 0), \
             COALESCE((SELECT MAX(seq) FROM events WHERE app_id = $1), 0), NULL, 0 \
             WHERE EXISTS (SELECT 1 FROM apps WHERE id = $1) \
             ON CONFLICT (app_id) DO NOTHING",
        )
        .bind(app_id)
        .execute(&mut *self.write.get().await?)
        .await?;
        Ok(())
    }

    pub(crate) async fn do_hook_cursors_with_work(
        &self,
        node: &str,
        now: i64,
    ) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT c.app_id FROM hook_cursors c \
             WHERE (c.node = $1 OR c.lease_until < $2) \
             AND EXISTS (SELECT 1 FROM events e WHERE e.app_id = c.app_id \
             AND (e.txid, e.seq) > (c.last_txid, c.last_seq))",
        )
        .bind(node)
        .bind(now)
        .fetch_all(&mut *self.read.get().await?)
        .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>("app_id")?))
            .collect()
    }

    pub(crate) async fn do_lease_hook_cursor(
        &self,
        app_id: &str,
        node: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<EventCursor>> {
        let row = sqlx::query(
            "UPDATE hook_cursors SET node = $2, lease_until = $4 \
             WHERE app_id = $1 AND (node = $2 OR lease_until < $3) RETURNING last_txid, last_seq",
        )
        .bind(app_id)
        .bind(node)
        .bind(now)
        .bind(lease_until)
        .fetch_optional(&mut *self.write.get().await?)
        .await?;
        Ok(match row {
            Some(r) => Some(EventCursor {
                txid: r.try_get("last_txid")?,
                seq: r.try_get("last_seq")?,
            }),
            None => None,
        })
    }

    pub(crate) async fn do_advance_hook_cursor(
        &self,
        app_id: &str,
        node: &str,
        to: EventCursor,
        lease_until: i64,
    ) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE hook_cursors SET last_txid = $3, last_seq = $4, lease_until = $5 \
             WHERE app_id = $1 AND node = $2 AND (last_txid, last_seq) <= ($3, $4)",
        )
        .bind(app_id)
        .bind(node)
        .bind(to.txid)
        .bind(to.seq)
        .bind(lease_until)
        .execute(&mut *self.write.get().await?)
        .await?
        .rows_affected()
            == 1)
    }

    pub(crate) async fn do_release_hook_cursors(&self, node: &str) -> Result<()> {
        sqlx::query("UPDATE hook_cursors SET lease_until = 0 WHERE node = $1")
            .bind(node)
            .execute(&mut *self.write.get().await?)
            .await?;
        Ok(())
    }

    pub(crate) async fn do_trim_events(&self, before_ms: i64, limit: i64) -> Result<u64> {
        // Oldest first by seq (the primary key): the scan stops after one batch.
        Ok(sqlx::query(
            "DELETE FROM events WHERE seq IN (SELECT e.seq FROM events e \
             LEFT JOIN hook_cursors c ON c.app_id = e.app_id \
             WHERE e.created_at < $1 \
             AND (c.app_id IS NULL OR (e.txid, e.seq) <= (c.last_txid, c.last_seq)) \
             ORDER BY e.seq LIMIT $2)",
        )
        .bind(before_ms)
        .bind(limit)
        .execute(&mut *self.write.get().await?)
        .await?
        .rows_affected())
    }

    pub(crate) async fn do_add_hook_retry(&self, retry: &HookRetry, not_before: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO hook_retries (app_id, event_seq, version_id, endpoint, trigger_name, \
             params, actor, attempts, not_before, node, lease_until) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, 0)",
        )
        .bind(&retry.app_id)
        .bind(retry.event_seq)
        .bind(&retry.version_id)
        .bind(&retry.endpoint)
        .bind(&retry.trigger)
        .bind(&retry.params)
        .bind(&retry.actor)
        .bind(retry.attempts)
        .bind(not_before)
        .execute(&mut *self.write.get().await?)
        .await?;
        Ok(())
    }

    pub(crate) async fn do_claim_hook_retries(
        &self,
        node: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<HookRetry>> {
        // Several nodes may claim at once: PostgreSQL skips the rows another is claiming;
        // SQLite has one writer, so the statement alone is enough.
        let lock = match self.dialect() {
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let rows = sqlx::query(&format!(
            "UPDATE hook_retries SET node = $1, lease_until = $3 WHERE id IN \
             (SELECT id FROM hook_retries WHERE not_before <= $2 AND lease_until < $2 \
              ORDER BY not_before LIMIT $4{lock}) \
             RETURNING id, app_id, event_seq, version_id, endpoint, trigger_name, params, actor, attempts"
        ))
        .bind(node)
        .bind(now)
        .bind(lease_until)
        .bind(limit)
        .fetch_all(&mut *self.write.get().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(HookRetry {
                    id: r.try_get("id")?,
                    app_id: r.try_get("app_id")?,
                    event_seq: r.try_get("event_seq")?,
                    version_id: r.try_get("version_id")?,
                    endpoint: r.try_get("endpoint")?,
                    trigger: r.try_get("trigger_name")?,
                    params: r.try_get("params")?,
                    actor: r.try_get("actor")?,
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect()
    }

    pub(crate) async fn do_finish_hook_retry(
        &self,
        id: i64,
        node: &str,
        next: Option<(i64, i64)>,
    ) -> Result<()> {
        let mut conn = self.write.get().await?;
        match next {
            None => {
                sqlx::query("DELETE FROM hook_retries WHERE id = $1 AND node = $2")
                    .bind(id)
                    .bind(node)
                    .execute(&mut *conn)
                    .await?;
            }
            Some((attempts, not_before)) => {
                sqlx::query(
                    "UPDATE hook_retries SET attempts = $3, not_before = $4, node = NULL, \
                     lease_until = 0 WHERE id = $1 AND node = $2",
                )
                .bind(id)
                .bind(node)
                .bind(attempts)
                .bind(not_before)
                .execute(&mut *conn)
                .await?;
            }
        }
        Ok(())
    }
}
