//! Writing buckets, object rows and their field-index rows inside a caller's transaction:
//! the steps that object creates, replaces and patches share.

use serde_json::Value;
use sqlx::{AnyConnection, Row};

use crate::params::{bind_params, Param, Params};
use crate::query_sql::{index_rows, FieldRow};
use crate::{BucketRef, Entity, NewBucket, Object, Result, StorageError};
use kumo_types::now_ms;

/// Index rows are inserted this many at a time, well under every bind-parameter limit.
pub(crate) const FIELD_BATCH: usize = 100;

pub(crate) async fn bucket_seq(conn: &mut AnyConnection, b: &BucketRef) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT seq FROM buckets WHERE app_id = $1 AND scope = $2 AND name = $3")
        .bind(&b.app_id)
        .bind(b.scope.key())
        .bind(&b.name)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|r| r.try_get::<i64, _>(0)).transpose()?)
}

pub(crate) async fn ensure_bucket(
    conn: &mut AnyConnection,
    b: &BucketRef,
    new: &NewBucket,
) -> Result<i64> {
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
pub(crate) fn push_index_insert(
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
    rows: &[FieldRow],
    replace: bool,
) -> Result<()> {
    if replace {
        sqlx::query("DELETE FROM object_fields WHERE object_seq = $1")
            .bind(object_seq)
            .execute(&mut *conn)
            .await?;
    }
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

/// Inserts an object row and its field-index rows; `data` is `o.data` as JSON text and
/// `fields` its index rows (a create plan has both already).
pub(crate) async fn insert_object(
    conn: &mut AnyConnection,
    bucket: i64,
    o: &Object,
    data: &str,
    fields: &[FieldRow],
) -> Result<()> {
    let row = sqlx::query(
        "INSERT INTO objects (bucket_seq, id, data, data_type, owner, acl, version, created_at, modified_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING seq",
    )
    .bind(bucket)
    .bind(&o.id)
    .bind(data)
    .bind(&o.data_type)
    .bind(&o.owner)
    .bind(&o.acl)
    .bind(o.version)
    .bind(o.created_at)
    .bind(o.modified_at)
    .fetch_one(&mut *conn)
    .await?;
    write_index(conn, bucket, row.try_get(0)?, o.created_at, fields, false).await
}

/// Rewrites an object row's data, type, version and time, and its field-index rows.
pub(crate) async fn update_object(
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
    write_index(conn, bucket, seq, o.created_at, &index_rows(&o.data), true).await
}
