//! Buckets, objects, their field index, ACL columns and change events, for [`SqlStore`].

use kumo_types::query::{BucketQuery, Clause};
use serde_json::{json, Map, Value};
use sqlx::{AnyConnection, Row};

use crate::columns::Columns;
use crate::events::{bucket_target, record};
use crate::params::{bind_params, Param, Params};
use crate::query_sql::{build_count, build_page, index_rows, FieldRow};
use crate::sql::SqlStore;
use crate::sqlite_reader;
use crate::tx::in_transaction;
use crate::{
    Actor, Bucket, BucketRef, Entity, Event, Hit, NewBucket, Object, Precondition, Result, Scope,
    StorageError,
};
use kumo_types::now_ms;

const OBJECT_COLS: &str =
    "o.seq, o.id, o.data, o.data_type, o.owner, o.acl, o.version, o.created_at, o.modified_at";
/// Index rows are inserted this many at a time, well under every bind-parameter limit.
const FIELD_BATCH: usize = 100;

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

async fn bucket_seq(conn: &mut AnyConnection, b: &BucketRef) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT seq FROM buckets WHERE app_id = $1 AND scope = $2 AND name = $3")
        .bind(&b.app_id)
        .bind(b.scope.key())
        .bind(&b.name)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| r.try_get::<i64, _>(0)).transpose()?)
}

async fn ensure_bucket(conn: &mut AnyConnection, b: &BucketRef, new: &NewBucket) -> Result<i64> {
    if let Some(seq) = bucket_seq(&mut *conn, b).await? {
        return Ok(seq);
    }
    sqlx::query(
        "INSERT INTO buckets (app_id, scope, name, creator, acl, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (app_id, scope, name) DO NOTHING",
    )
    .bind(&b.app_id)
    .bind(b.scope.key())
    .bind(&b.name)
    .bind(&new.creator)
    .bind(&new.acl)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    bucket_seq(conn, b)
        .await?
        .ok_or(StorageError::NotFound(Entity::Bucket))
}

/// `INSERT INTO object_fields … VALUES (…), …` for `rows`; `object`, `bucket` and `created` are
/// SQL expressions (parameters or subqueries) shared by every row.
fn push_index_insert(
    sql: &mut String,
    p: &mut Params,
    rows: &[FieldRow],
    object: &str,
    bucket: &str,
    created: &str,
) {
    sql.push_str(
        "INSERT INTO object_fields \
         (object_seq, bucket_seq, field, kind, dec, num, str, lon, gx, gy, gz, created_at) VALUES ",
    );
    for (i, r) in rows.iter().enumerate() {
        let cols = [
            object.to_owned(),
            bucket.to_owned(),
            p.add(Param::S(r.field.clone())),
            p.add(Param::I(r.kind)),
            p.add(Param::I(r.dec)),
            p.add_opt(r.num.map(Param::F)),
            p.add_opt(r.str.clone().map(Param::S)),
            p.add_opt(r.lon.map(Param::F)),
            p.add_opt(r.g.map(|g| Param::F(g[0]))),
            p.add_opt(r.g.map(|g| Param::F(g[1]))),
            p.add_opt(r.g.map(|g| Param::F(g[2]))),
            created.to_owned(),
        ];
        sql.push_str(if i > 0 { ", (" } else { "(" });
        sql.push_str(&cols.join(", "));
        sql.push(')');
    }
}

/// Writes the field-index rows of an object; `replace` first drops the old ones.
async fn write_index(
    conn: &mut AnyConnection,
    bucket: i64,
    object_seq: i64,
    created_at: i64,
    data: &Map<String, Value>,
    replace: bool,
) -> Result<()> {
    if replace {
        sqlx::query("DELETE FROM object_fields WHERE object_seq = $1")
            .bind(object_seq)
            .execute(&mut *conn)
            .await?;
    }
    let rows = index_rows(data);
    for chunk in rows.chunks(FIELD_BATCH) {
        let mut sql = String::new();
        let mut params = Params::default();
        let object = params.add(Param::I(object_seq));
        let bucket = params.add(Param::I(bucket));
        let created = params.add(Param::I(created_at));
        push_index_insert(&mut sql, &mut params, chunk, &object, &bucket, &created);
        bind_params(sqlx::query(&sql), &params.0)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
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

    async fn insert_object(&self, conn: &mut AnyConnection, bucket: i64, o: &Object) -> Result<()> {
        let row = sqlx::query(
            "INSERT INTO objects (bucket_seq, id, data, data_type, owner, acl, version, created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING seq",
        )
        .bind(bucket)
        .bind(&o.id)
        .bind(Value::Object(o.data.clone()).to_string())
        .bind(&o.data_type)
        .bind(&o.owner)
        .bind(&o.acl)
        .bind(o.version)
        .bind(o.created_at)
        .bind(o.modified_at)
        .fetch_one(&mut *conn)
        .await?;
        write_index(conn, bucket, row.try_get(0)?, o.created_at, &o.data, false).await
    }

    async fn update_object_row(
        &self,
        conn: &mut AnyConnection,
        bucket: i64,
        seq: i64,
        o: &Object,
    ) -> Result<()> {
        sqlx::query("UPDATE objects SET data = $1, data_type = $2, version = $3, modified_at = $4 WHERE seq = $5")
            .bind(Value::Object(o.data.clone()).to_string())
            .bind(&o.data_type)
            .bind(o.version)
            .bind(o.modified_at)
            .bind(seq)
            .execute(&mut *conn)
            .await?;
        write_index(conn, bucket, seq, o.created_at, &o.data, true).await
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
        in_transaction(&self.write, async |tx| {
            let bucket = ensure_bucket(tx, b, new).await?;
            self.insert_object(tx, bucket, o).await?;
            let target =
                json!({ "bucket": bucket_target(b), "objectID": o.id, "version": o.version });
            record(tx, &b.app_id, "object.created", target, actor).await?;
            Ok(())
        })
        .await
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
                    self.update_object_row(tx, bucket, seq, &updated)
                        .await?;
                    (updated, false)
                }
                None => {
                    if let Precondition::Version(_) = pre {
                        return Err(StorageError::NotFound(Entity::Object));
                    }
                    self.insert_object(tx, bucket, o).await?;
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
            self.update_object_row(tx, bucket, seq, &updated).await?;
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
            Ok(true)
        })
        .await
    }

    pub(crate) async fn do_set_bucket_acl(&self, b: &BucketRef, acl: &str) -> Result<()> {
        let done = sqlx::query(
            "UPDATE buckets SET acl = $1 WHERE app_id = $2 AND scope = $3 AND name = $4",
        )
        .bind(acl)
        .bind(&b.app_id)
        .bind(b.scope.key())
        .bind(&b.name)
        .execute(&mut *self.write.get().await?)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StorageError::NotFound(Entity::Bucket));
        }
        Ok(())
    }

    pub(crate) async fn do_set_object_acl(&self, b: &BucketRef, id: &str, acl: &str) -> Result<()> {
        let done = sqlx::query(
            "UPDATE objects SET acl = $1 WHERE id = $2 AND bucket_seq = \
             (SELECT seq FROM buckets WHERE app_id = $3 AND scope = $4 AND name = $5)",
        )
        .bind(acl)
        .bind(id)
        .bind(&b.app_id)
        .bind(b.scope.key())
        .bind(&b.name)
        .execute(&mut *self.write.get().await?)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StorageError::NotFound(Entity::Object));
        }
        Ok(())
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
        sqlx::query(
            "INSERT INTO scope_acls (app_id, scope, acl) VALUES ($1, $2, $3) \
             ON CONFLICT (app_id, scope) DO UPDATE SET acl = excluded.acl",
        )
        .bind(app_id)
        .bind(scope.key())
        .bind(acl)
        .execute(&mut *self.write.get().await?)
        .await?;
        Ok(())
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
        after: i64,
        limit: i64,
    ) -> Result<Vec<Event>> {
        let rows = sqlx::query(
            "SELECT seq, kind, target, actor, from_server_code, created_at FROM events \
             WHERE app_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(app_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *self.read.get().await?)
        .await?;
        rows.iter()
            .map(|r| {
                let target: String = r.try_get("target")?;
                Ok(Event {
                    seq: r.try_get("seq")?,
                    kind: r.try_get("kind")?,
                    target: serde_json::from_str(&target).unwrap_or(Value::Null),
                    actor: r.try_get("actor")?,
                    from_server_code: r.try_get::<i64, _>("from_server_code")? != 0,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }
}

/// Appends the statements that create one object (bucket if new, object, field index, change
/// event) to `sql`, with their parameters in `p`. No transaction control: the caller wraps them.
pub(crate) fn create_statements(
    sql: &mut String,
    p: &mut Params,
    b: &BucketRef,
    new: &NewBucket,
    o: &Object,
    actor: &Actor,
) {
    let (app, scope, name) = (
        p.add(Param::S(b.app_id.clone())),
        p.add(Param::S(b.scope.key())),
        p.add(Param::S(b.name.clone())),
    );
    let now = p.add(Param::I(now_ms()));
    let bucket = format!(
        "(SELECT seq FROM buckets WHERE app_id = {app} AND scope = {scope} AND name = {name})"
    );
    sql.push_str(&format!(
        "INSERT INTO buckets (app_id, scope, name, creator, acl, created_at) \
         VALUES ({app}, {scope}, {name}, {}, {}, {now}) \
         ON CONFLICT (app_id, scope, name) DO NOTHING; ",
        p.add_opt(new.creator.clone().map(Param::S)),
        p.add(Param::S(new.acl.clone())),
    ));
    let id = p.add(Param::S(o.id.clone()));
    let created = p.add(Param::I(o.created_at));
    sql.push_str(&format!(
        "INSERT INTO objects (bucket_seq, id, data, data_type, owner, acl, version, created_at, modified_at) \
         VALUES ({bucket}, {id}, {}, {}, {}, {}, {}, {created}, {}); ",
        p.add(Param::S(Value::Object(o.data.clone()).to_string())),
        p.add_opt(o.data_type.clone().map(Param::S)),
        p.add_opt(o.owner.clone().map(Param::S)),
        p.add(Param::S(o.acl.clone())),
        p.add(Param::I(o.version)),
        p.add(Param::I(o.modified_at)),
    ));
    let object = format!("(SELECT seq FROM objects WHERE bucket_seq = {bucket} AND id = {id})");
    let rows = index_rows(&o.data);
    if !rows.is_empty() {
        push_index_insert(sql, p, &rows, &object, &bucket, &created);
        sql.push_str("; ");
    }
    let target = json!({ "bucket": bucket_target(b), "objectID": o.id, "version": o.version });
    sql.push_str(&format!(
        "INSERT INTO events (app_id, kind, target, actor, from_server_code, created_at) \
         VALUES ({app}, 'object.created', {}, {}, {}, {now}); ",
        p.add(Param::S(target.to_string())),
        p.add(Param::S(actor.principal.clone())),
        p.add(Param::I(actor.from_server_code as i64)),
    ));
}
