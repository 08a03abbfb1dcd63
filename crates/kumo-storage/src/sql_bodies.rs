//! Object bodies for [`SqlStore`]: uploads written chunk by chunk, committed in one
//! transaction that makes them the object's body and drops the one before.

use sqlx::{AnyConnection, Row};

use crate::body_model::{BodyChunk, BodyCommit, BodyInfo, BodyUpload, Publication, MAX_BODY_CHUNK};
use crate::object_rows::bucket_seq;
use crate::sql::SqlStore;
use crate::tx::in_transaction;
use crate::{BucketRef, Result};

/// The object's `seq`, if it exists (locked for the transaction on PostgreSQL).
async fn object_seq(
    conn: &mut AnyConnection,
    b: &BucketRef,
    id: &str,
    lock: &str,
) -> Result<Option<i64>> {
    let Some(bucket) = bucket_seq(&mut *conn, b).await? else {
        return Ok(None);
    };
    let sql = format!("SELECT seq FROM objects WHERE bucket_seq = $1 AND id = $2{lock}");
    let row = sqlx::query(&sql)
        .bind(bucket)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| r.try_get::<i64, _>(0)).transpose()?)
}

/// Joins an object named by bucket and ID; `$1..$4` are app, scope, bucket, object.
const OBJECT_JOIN: &str = "JOIN objects o ON o.seq = u.object_seq \
     JOIN buckets b ON b.seq = o.bucket_seq \
     WHERE b.app_id = $1 AND b.scope = $2 AND b.name = $3 AND o.id = $4";

fn body_from_row(r: &sqlx::any::AnyRow) -> Result<BodyInfo> {
    Ok(BodyInfo {
        upload_id: r.try_get("id")?,
        content_type: r
            .try_get::<Option<String>, _>("content_type")?
            .unwrap_or_else(|| "application/octet-stream".into()),
        length: r.try_get("length")?,
        modified_at: r.try_get("modified_at")?,
    })
}

impl SqlStore {
    pub(crate) async fn do_start_body_upload(
        &self,
        b: &BucketRef,
        object_id: &str,
        upload_id: &str,
        now: i64,
    ) -> Result<bool> {
        in_transaction(&self.write, async |tx| {
            let Some(seq) = object_seq(&mut *tx, b, object_id, "").await? else {
                return Ok(false);
            };
            sqlx::query(
                "INSERT INTO body_uploads (id, app_id, object_seq, committed, length, \
                 modified_at, created_at) VALUES ($1, $2, $3, 0, 0, $4, $4)",
            )
            .bind(upload_id)
            .bind(&b.app_id)
            .bind(seq)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            Ok(true)
        })
        .await
    }

    pub(crate) async fn do_get_body_upload(
        &self,
        b: &BucketRef,
        object_id: &str,
        upload_id: &str,
    ) -> Result<Option<BodyUpload>> {
        let mut conn = self.read.get().await?;
        let sql = format!(
            "SELECT u.id, u.content_type, u.total FROM body_uploads u {OBJECT_JOIN} \
             AND u.id = $5 AND u.committed = 0"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(&b.app_id)
            .bind(b.scope.key())
            .bind(&b.name)
            .bind(object_id)
            .bind(upload_id)
            .fetch_optional(&mut *conn)
            .await?
        else {
            return Ok(None);
        };
        let pieces =
            sqlx::query("SELECT start, len FROM body_chunks WHERE upload_id = $1 ORDER BY start")
                .bind(upload_id)
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(|r| Ok((r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)?)))
                .collect::<Result<Vec<_>>>()?;
        Ok(Some(BodyUpload {
            id: row.try_get("id")?,
            content_type: row.try_get("content_type")?,
            total: row.try_get("total")?,
            pieces,
        }))
    }

    pub(crate) async fn do_shape_body_upload(
        &self,
        app_id: &str,
        upload_id: &str,
        content_type: Option<&str>,
        total: Option<i64>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE body_uploads SET content_type = COALESCE(content_type, $3), \
             total = COALESCE(total, $4) WHERE id = $1 AND app_id = $2 AND committed = 0",
        )
        .bind(upload_id)
        .bind(app_id)
        .bind(content_type)
        .bind(total)
        .execute(&mut *self.write.get().await?)
        .await?;
        Ok(())
    }

    pub(crate) async fn do_put_body_chunk(
        &self,
        app_id: &str,
        upload_id: &str,
        start: i64,
        data: &[u8],
    ) -> Result<bool> {
        debug_assert!(data.len() <= MAX_BODY_CHUNK);
        let done = sqlx::query(
            "INSERT INTO body_chunks (upload_id, start, len, data) \
             SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM body_uploads \
             WHERE id = $1 AND app_id = $5 AND committed = 0) \
             ON CONFLICT (upload_id, start) DO NOTHING",
        )
        .bind(upload_id)
        .bind(start)
        .bind(data.len() as i64)
        .bind(data)
        .bind(app_id)
        .execute(&mut *self.write.get().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn do_drop_body_chunks(
        &self,
        app_id: &str,
        upload_id: &str,
        from: i64,
        to: i64,
    ) -> Result<()> {
        sqlx::query(
            "DELETE FROM body_chunks WHERE upload_id = $1 AND start >= $2 AND start < $3 \
             AND EXISTS (SELECT 1 FROM body_uploads WHERE id = $1 AND app_id = $4 \
             AND committed = 0)",
        )
        .bind(upload_id)
        .bind(from)
        .bind(to)
        .bind(app_id)
        .execute(&mut *self.write.get().await?)
        .await?;
        Ok(())
    }

    pub(crate) async fn do_commit_body_upload(
        &self,
        b: &BucketRef,
        object_id: &str,
        upload_id: &str,
        now: i64,
    ) -> Result<BodyCommit> {
        let lock = self.dialect().row_lock();
        in_transaction(&self.write, async |tx| {
            let Some(seq) = object_seq(&mut *tx, b, object_id, lock).await? else {
                return Ok(BodyCommit::NoUpload);
            };
            let Some(row) = sqlx::query(
                "SELECT id, content_type, total FROM body_uploads \
                 WHERE id = $1 AND app_id = $2 AND object_seq = $3 AND committed = 0",
            )
            .bind(upload_id)
            .bind(&b.app_id)
            .bind(seq)
            .fetch_optional(&mut *tx)
            .await?
            else {
                return Ok(BodyCommit::NoUpload);
            };
            let total: Option<i64> = row.try_get("total")?;
            let content_type: Option<String> = row.try_get("content_type")?;
            let pieces = sqlx::query(
                "SELECT start, len FROM body_chunks WHERE upload_id = $1 ORDER BY start",
            )
            .bind(upload_id)
            .fetch_all(&mut *tx)
            .await?;
            let (mut end, mut received, mut gap) = (0i64, 0i64, false);
            for p in &pieces {
                let (start, len): (i64, i64) = (p.try_get(0)?, p.try_get(1)?);
                gap |= start != end;
                end = start + len;
                received += len;
            }
            if gap || total.is_some_and(|t| t != end) {
                return Ok(BodyCommit::Incomplete { received, total });
            }
            sqlx::query("DELETE FROM body_uploads WHERE object_seq = $1 AND committed = 1")
                .bind(seq)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE body_uploads SET committed = 1, length = $2, modified_at = $3 \
                 WHERE id = $1",
            )
            .bind(upload_id)
            .bind(end)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            Ok(BodyCommit::Done(BodyInfo {
                upload_id: upload_id.to_owned(),
                content_type: content_type.unwrap_or_else(|| "application/octet-stream".into()),
                length: end,
                modified_at: now,
            }))
        })
        .await
    }

    pub(crate) async fn do_cancel_body_upload(
        &self,
        app_id: &str,
        upload_id: &str,
    ) -> Result<bool> {
        // The chunks go by ON DELETE CASCADE.
        let done =
            sqlx::query("DELETE FROM body_uploads WHERE id = $1 AND app_id = $2 AND committed = 0")
                .bind(upload_id)
                .bind(app_id)
                .execute(&mut *self.write.get().await?)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn do_get_body(
        &self,
        b: &BucketRef,
        object_id: &str,
    ) -> Result<Option<BodyInfo>> {
        let sql = format!(
            "SELECT u.id, u.content_type, u.length, u.modified_at FROM body_uploads u \
             {OBJECT_JOIN} AND u.committed = 1"
        );
        let row = sqlx::query(&sql)
            .bind(&b.app_id)
            .bind(b.scope.key())
            .bind(&b.name)
            .bind(object_id)
            .fetch_optional(&mut *self.read.get().await?)
            .await?;
        row.as_ref().map(body_from_row).transpose()
    }

    pub(crate) async fn do_read_body_chunks(
        &self,
        app_id: &str,
        upload_id: &str,
        from: i64,
        to: i64,
        limit: i64,
    ) -> Result<Vec<BodyChunk>> {
        let rows = sqlx::query(
            "SELECT c.start, c.data FROM body_chunks c JOIN body_uploads u ON u.id = c.upload_id \
             WHERE c.upload_id = $1 AND u.app_id = $2 AND c.start > $3 AND c.start < $4 \
             AND c.start + c.len > $5 ORDER BY c.start LIMIT $6",
        )
        .bind(upload_id)
        .bind(app_id)
        .bind(from - MAX_BODY_CHUNK as i64)
        .bind(to)
        .bind(from)
        .bind(limit)
        .fetch_all(&mut *self.read.get().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BodyChunk {
                    start: r.try_get(0)?,
                    data: r.try_get(1)?,
                })
            })
            .collect()
    }

    pub(crate) async fn do_delete_body(&self, b: &BucketRef, object_id: &str) -> Result<bool> {
        in_transaction(&self.write, async |tx| {
            let Some(seq) = object_seq(&mut *tx, b, object_id, "").await? else {
                return Ok(false);
            };
            let done =
                sqlx::query("DELETE FROM body_uploads WHERE object_seq = $1 AND committed = 1")
                    .bind(seq)
                    .execute(&mut *tx)
                    .await?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    pub(crate) async fn do_publish_body(
        &self,
        b: &BucketRef,
        object_id: &str,
        publication_id: &str,
        expires_at: Option<i64>,
        now: i64,
    ) -> Result<bool> {
        in_transaction(&self.write, async |tx| {
            let Some(seq) = object_seq(&mut *tx, b, object_id, "").await? else {
                return Ok(false);
            };
            let has_body =
                sqlx::query("SELECT 1 FROM body_uploads WHERE object_seq = $1 AND committed = 1")
                    .bind(seq)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some();
            if !has_body {
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO body_publications (id, app_id, object_seq, expires_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(publication_id)
            .bind(&b.app_id)
            .bind(seq)
            .bind(expires_at)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            Ok(true)
        })
        .await
    }

    pub(crate) async fn do_published_body(
        &self,
        publication_id: &str,
    ) -> Result<Option<Publication>> {
        let row = sqlx::query(
            "SELECT p.app_id, p.expires_at, u.id, u.content_type, u.length, u.modified_at \
             FROM body_publications p LEFT JOIN body_uploads u \
             ON u.object_seq = p.object_seq AND u.committed = 1 WHERE p.id = $1",
        )
        .bind(publication_id)
        .fetch_optional(&mut *self.read.get().await?)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let has_body = row.try_get::<Option<String>, _>("id")?.is_some();
        Ok(Some(Publication {
            app_id: row.try_get("app_id")?,
            expires_at: row.try_get("expires_at")?,
            body: if has_body {
                Some(body_from_row(&row)?)
            } else {
                None
            },
        }))
    }
}
