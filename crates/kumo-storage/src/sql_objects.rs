//! Buckets, objects, their field index, ACL columns and change events, for [`SqlStore`].

use kumo_types::query::{BucketQuery, Clause};
use serde_json::{json, Map, Value};
use sqlx::{AnyConnection, Row};

use crate::columns::Columns;
use crate::create_plan::CreatePlan;
use crate::events::{bucket_target, record};
use crate::object_rows::{bucket_seq, ensure_bucket, update_object, FIELD_BATCH};
use crate::params::{bind_params, Param};
use crate::query_sql::{build_count, build_page};
use crate::sql::SqlStore;
use crate::sqlite_reader;
use crate::tx::in_transaction;
use crate::{
    Actor, Bucket, BucketRef, Dialect, Entity, Event, EventCursor, Hit, Invalidation, NewBucket,
    Object, Precondition, Result, Scope, StorageError,
};

const OBJECT_COLS: &str =
    "o.seq, o.id, o.data, o.data_type, o.owner, o.acl, o.version, o.created_at, o.modified_at";

fn object_from_row(row: &dyn Columns) -> Result<Object> {
    let data = row.text("data")?;
    let data: Map<String, Value> = serde_json::from_str(&data)
        .map_err(|e| StorageError::Backend(format!("corrupt object data: {e}")))?;
    Ok(Object {
        id: row.text("id")?,
        data,
        data_type: row.opt_text("data_type")?,
        owner: row.opt_text("owner")?,
        acl: row.text("acl")?,
        version: row.int("version")?,
        created_at: row.int("created_at")?,
        modified_at: row.int("modified_at")?,
    })
}

impl SqlStore {
    async fn locked_object(
        &self,
        conn: &mut AnyConnection,
        bucket: i64,
        id: &str,
    ) -> Result<Option<(i64, Object)>> {
        let sql = format!(
            "SELECT {OBJECT_COLS} FROM objects o WHERE o.bucket_seq = $1 AND o.id = $2{}",
            self.dialect().row_lock()
        );
        let row = sqlx::query(&sql)
            .bind(bucket)
            .bind(id)
            .fetch_optional(conn)
            .await?;
        row.map(|r| Ok((r.try_get::<i64, _>("seq")?, object_from_row(&r)?)))
            .transpose()
    }

    /// Runs a read on the inline SQLite reader when there is one (`sqlite_reader.rs`), else
    /// on the read pool.
    async fn read_rows<T>(
        &self,
        sql: &str,
        params: &[Param],
        map: impl Fn(&dyn Columns) -> Result<T> + Send,
    ) -> Result<Vec<T>> {
        if let Some(reader) = &self.reader {
            return reader.read(|c| sqlite_reader::fetch_all(c, sql, params, |r| map(r)));
        }
        let rows = bind_params(sqlx::query(sql), params)
            .fetch_all(&mut *self.read.get().await?)
            .await?;
        rows.iter().map(|r| map(r)).collect()
    }

    pub(crate) async fn do_get_bucket(&self, b: &BucketRef) -> Result<Option<Bucket>> {
        let params = [
            Param::S(b.app_id.clone()),
            Param::S(b.scope.key()),
            Param::S(b.name.clone()),
        ];
        let rows = self
            .read_rows(
                "SELECT seq, creator, acl, created_at FROM buckets WHERE app_id = $1 AND scope = $2 AND name = $3",
                &params,
                |r| {
                    Ok(Bucket {
                        seq: r.int("seq")?,
                        creator: r.opt_text("creator")?,
                        acl: r.text("acl")?,
                        created_at: r.int("created_at")?,
                    })
                },
            )
            .await?;
        Ok(rows.into_iter().next())
    }

    pub(crate) async fn do_get_object(&self, b: &BucketRef, id: &str) -> Result<Option<Object>> {
        let sql = format!(
            "SELECT {OBJECT_COLS} FROM objects o JOIN buckets b ON b.seq = o.bucket_seq \
             WHERE b.app_id = $1 AND b.scope = $2 AND b.name = $3 AND o.id = $4"
        );
        let params = [
            Param::S(b.app_id.clone()),
            Param::S(b.scope.key()),
            Param::S(b.name.clone()),
            Param::S(id.to_owned()),
        ];
        let rows = self.read_rows(&sql, &params, object_from_row).await?;
        Ok(rows.into_iter().next())
    }

    pub(crate) async fn do_create_object(
        &self,
        b: &BucketRef,
        new: &NewBucket,
        o: &Object,
        actor: &Actor,
    ) -> Result<()> {
        // (Objects with very many fields take the general path, whose index inserts are
        // chunked under SQLite's bind-parameter limit.)
        if o.data.len() <= FIELD_BATCH {
            return self.create_object_grouped(b, new, o, actor).await;
        }
        let plan = CreatePlan::new(b, new, o, actor);
        in_transaction(&self.write, async |tx| plan.write(tx).await).await
    }

    /// Queued for the group committer (`group_commit.rs`), which writes the creates waiting at
    /// that moment together.
    async fn create_object_grouped(
        &self,
        b: &BucketRef,
        new: &NewBucket,
        o: &Object,
        actor: &Actor,
    ) -> Result<()> {
        let create = crate::group_commit::Create {
            bucket: b.clone(),
            new: new.clone(),
            object: o.clone(),
            actor: actor.clone(),
        };
        self.creates.submit(create).await
    }

    pub(crate) async fn do_replace_object(
        &self,
        b: &BucketRef,
        new: &NewBucket,
        o: &Object,
        pre: Precondition,
        actor: &Actor,
    ) -> Result<(Object, bool)> {
        in_transaction(&self.write, async |tx| {
            let bucket = ensure_bucket(tx, b, new).await?;
            let existing = self.locked_object(tx, bucket, &o.id).await?;
            let (stored, created) = match existing {
                Some((seq, old)) => {
                    match pre {
                        Precondition::Absent => {
                            return Err(StorageError::Conflict(crate::Unique::ObjectId))
                        }
                        Precondition::Version(v) if v != old.version => {
                            return Err(StorageError::StaleVersion)
                        }
                        _ => {}
                    }
                    let updated = Object {
                        data: o.data.clone(),
                        data_type: o.data_type.clone(),
                        version: old.version + 1,
                        modified_at: o.modified_at,
                        ..old
                    };
                    update_object(tx, bucket, seq, &updated).await?;
                    (updated, false)
                }
                None => {
                    if let Precondition::Version(_) = pre {
                        return Err(StorageError::NotFound(Entity::Object));
                    }
                    let plan = CreatePlan::new(b, new, o, actor);
                    plan.insert_object(tx, bucket).await?;
                    (o.clone(), true)
                }
            };
            let kind = if created {
                "object.created"
            } else {
                "object.updated"
            };
            let target =
                json!({ "bucket": bucket_target(b), "objectID": stored.id, "version": stored.version });
            record(tx, &b.app_id, kind, target, actor).await?;
            Ok((stored, created))
        })
        .await
    }

    pub(crate) async fn do_patch_object(
        &self,
        b: &BucketRef,
        id: &str,
        fields: &Map<String, Value>,
        if_match: Option<i64>,
        modified_at: i64,
        actor: &Actor,
    ) -> Result<Object> {
        in_transaction(&self.write, async |tx| {
            let bucket = bucket_seq(tx, b)
                .await?
                .ok_or(StorageError::NotFound(Entity::Object))?;
            let (seq, old) = self
                .locked_object(tx, bucket, id)
                .await?
                .ok_or(StorageError::NotFound(Entity::Object))?;
            if if_match.is_some_and(|v| v != old.version) {
                return Err(StorageError::StaleVersion);
            }
            let mut data = old.data.clone();
            for (k, v) in fields {
                data.insert(k.clone(), v.clone());
            }
            let updated = Object {
                data,
                version: old.version + 1,
                modified_at,
                ..old
            };
            update_object(tx, bucket, seq, &updated).await?;
            let target =
                json!({ "bucket": bucket_target(b), "objectID": id, "version": updated.version });
            record(tx, &b.app_id, "object.updated", target, actor).await?;
            Ok(updated)
        })
        .await
    }

    pub(crate) async fn do_delete_object(
        &self,
        b: &BucketRef,
        id: &str,
        if_match: Option<i64>,
        actor: &Actor,
    ) -> Result<bool> {
        in_transaction(&self.write, async |tx| {
            let Some(bucket) = bucket_seq(tx, b).await? else {
                return Ok(false);
            };
            let Some((seq, old)) = self.locked_object(tx, bucket, id).await? else {
                return Ok(false);
            };
            if if_match.is_some_and(|v| v != old.version) {
                return Err(StorageError::StaleVersion);
            }
            sqlx::query("DELETE FROM object_fields WHERE object_seq = $1")
                .bind(seq)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM objects WHERE seq = $1")
                .bind(seq)
                .execute(&mut *tx)
                .await?;
            let target =
                json!({ "bucket": bucket_target(b), "objectID": id, "version": old.version });
            record(tx, &b.app_id, "object.deleted", target, actor).await?;
            Ok(true)
        })
        .await
    }

    pub(crate) async fn do_delete_bucket(&self, b: &BucketRef, actor: &Actor) -> Result<bool> {
        in_transaction(&self.write, async |tx| {
            let Some(bucket) = bucket_seq(tx, b).await? else {
                return Ok(false);
            };
            // The objects go by ON DELETE CASCADE; their index rows have no foreign key.
            sqlx::query("DELETE FROM object_fields WHERE bucket_seq = $1")
                .bind(bucket)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM buckets WHERE seq = $1")
                .bind(bucket)
                .execute(&mut *tx)
                .await?;
            record(tx, &b.app_id, "bucket.deleted", bucket_target(b), actor).await?;
            self.notify(tx, Invalidation::BucketDropped(b.clone()))
                .await?;
            Ok(true)
        })
        .await
    }

    pub(crate) async fn do_set_bucket_acl(&self, b: &BucketRef, acl: &str) -> Result<()> {
        in_transaction(&self.write, async |tx| {
            let done = sqlx::query(
                "UPDATE buckets SET acl = $1 WHERE app_id = $2 AND scope = $3 AND name = $4",
            )
            .bind(acl)
            .bind(&b.app_id)
            .bind(b.scope.key())
            .bind(&b.name)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StorageError::NotFound(Entity::Bucket));
            }
            self.notify(tx, Invalidation::BucketAcl(b.clone())).await
        })
        .await
    }

    pub(crate) async fn do_set_object_acl(&self, b: &BucketRef, id: &str, acl: &str) -> Result<()> {
        in_transaction(&self.write, async |tx| {
            let done = sqlx::query(
                "UPDATE objects SET acl = $1 WHERE id = $2 AND bucket_seq = \
                 (SELECT seq FROM buckets WHERE app_id = $3 AND scope = $4 AND name = $5)",
            )
            .bind(acl)
            .bind(id)
            .bind(&b.app_id)
            .bind(b.scope.key())
            .bind(&b.name)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StorageError::NotFound(Entity::Object));
            }
            let event = Invalidation::ObjectAcl {
                bucket: b.clone(),
                object_id: id.to_owned(),
            };
            self.notify(tx, event).await
        })
        .await
    }

    pub(crate) async fn do_get_scope_acl(
        &self,
        app_id: &str,
        scope: &Scope,
    ) -> Result<Option<String>> {
        let row = sqlx::query("SELECT acl FROM scope_acls WHERE app_id = $1 AND scope = $2")
            .bind(app_id)
            .bind(scope.key())
            .fetch_optional(&mut *self.read.get().await?)
            .await?;
        Ok(row.map(|r| r.try_get::<String, _>(0)).transpose()?)
    }

    pub(crate) async fn do_set_scope_acl(
        &self,
        app_id: &str,
        scope: &Scope,
        acl: &str,
    ) -> Result<()> {
        in_transaction(&self.write, async |tx| {
            sqlx::query(
                "INSERT INTO scope_acls (app_id, scope, acl) VALUES ($1, $2, $3) \
                 ON CONFLICT (app_id, scope) DO UPDATE SET acl = excluded.acl",
            )
            .bind(app_id)
            .bind(scope.key())
            .bind(acl)
            .execute(&mut *tx)
            .await?;
            let event = Invalidation::ScopeAcl {
                app_id: app_id.to_owned(),
                scope: scope.clone(),
            };
            self.notify(tx, event).await
        })
        .await
    }

    pub(crate) async fn do_query_objects(
        &self,
        bucket: i64,
        q: &BucketQuery,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Hit>> {
        let built = build_page(self.dialect(), bucket, q, after, limit)
            .ok_or(StorageError::InvalidCursor)?;
        self.read_rows(&built.sql, &built.params, |r| {
            Ok(Hit {
                object: object_from_row(r)?,
                cursor: built.cursor_of(r)?,
            })
        })
        .await
    }

    pub(crate) async fn do_count_objects(&self, bucket: i64, clause: &Clause) -> Result<i64> {
        let (sql, params) = build_count(self.dialect(), bucket, clause);
        let counts = self.read_rows(&sql, &params, |r| r.int("n")).await?;
        counts
            .into_iter()
            .next()
            .ok_or_else(|| StorageError::Backend("COUNT(*) returned no row".into()))
    }

    pub(crate) async fn do_events_since(
        &self,
        app_id: &str,
        after: EventCursor,
        limit: i64,
    ) -> Result<Vec<Event>> {
        // See `EventCursor`: on PostgreSQL only transactions older than every open one.
        let settled = match self.dialect() {
            Dialect::Postgres => " AND txid < txid_snapshot_xmin(txid_current_snapshot())",
            Dialect::Sqlite => "",
        };
        let rows = sqlx::query(&format!(
            "SELECT seq, txid, kind, target, actor, from_server_code, created_at FROM events \
             WHERE app_id = $1 AND (txid, seq) > ($2, $3){settled} ORDER BY txid, seq LIMIT $4"
        ))
        .bind(app_id)
        .bind(after.txid)
        .bind(after.seq)
        .bind(limit)
        .fetch_all(&mut *self.read.get().await?)
        .await?;
        rows.iter()
            .map(|r| {
                let target: String = r.try_get("target")?;
                Ok(Event {
                    seq: r.try_get("seq")?,
                    txid: r.try_get("txid")?,
                    kind: r.try_get("kind")?,
                    target: serde_json::from_str(&target).unwrap_or(Value::Null),
                    actor: r.try_get("actor")?,
                    from_server_code: r.try_get::<i64, _>("from_server_code")? != 0,
                    by_hook: r.try_get::<i64, _>("from_server_code")? == 2,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }
}
