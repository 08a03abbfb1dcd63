//! An object create, planned once and written three ways: on its own in a transaction
//! ([`CreatePlan::write`], objects with very many fields), as plain statements in a SQLite
//! group ([`CreatePlan::push_statements`]), or as rows of the one PostgreSQL group statement
//! ([`postgres_group`]). Every way writes what the plan holds (the data text, the field-index
//! rows, the event), so they cannot drift apart.

use serde_json::{json, Value};
use sqlx::AnyConnection;

use crate::events::{bucket_target, record};
use crate::object_rows::{ensure_bucket, insert_object, push_index_insert};
use crate::params::{Param, Params};
use crate::query_sql::{index_rows, FieldRow};
use crate::{Actor, BucketRef, NewBucket, Object, Result};
use kumo_types::now_ms;

pub(crate) struct CreatePlan<'a> {
    pub bucket: &'a BucketRef,
    pub new: &'a NewBucket,
    pub object: &'a Object,
    pub actor: &'a Actor,
    /// `objects.data`: the fields as JSON text.
    pub data: String,
    /// The object's `object_fields` rows.
    pub fields: Vec<FieldRow>,
    /// The `target` of its `object.created` event.
    pub target: Value,
    /// When a new bucket and the event are created.
    pub now: i64,
}

impl<'a> CreatePlan<'a> {
    pub fn new(
        bucket: &'a BucketRef,
        new: &'a NewBucket,
        object: &'a Object,
        actor: &'a Actor,
    ) -> Self {
        CreatePlan {
            bucket,
            new,
            object,
            actor,
            data: Value::Object(object.data.clone()).to_string(),
            fields: index_rows(&object.data),
            target: json!({
                "bucket": bucket_target(bucket), "objectID": object.id, "version": object.version
            }),
            now: now_ms(),
        }
    }

    /// Writes the create on `conn`, inside the caller's transaction.
    pub async fn write(&self, conn: &mut AnyConnection) -> Result<()> {
        let bucket = ensure_bucket(conn, self.bucket, self.new).await?;
        self.insert_object(conn, bucket).await?;
        self.record(conn).await
    }

    /// The object row and its field-index rows, into an existing bucket.
    pub async fn insert_object(&self, conn: &mut AnyConnection, bucket: i64) -> Result<()> {
        insert_object(conn, bucket, self.object, &self.data, &self.fields).await
    }

    /// Its `object.created` event.
    pub async fn record(&self, conn: &mut AnyConnection) -> Result<()> {
        let (app_id, target) = (&self.bucket.app_id, self.target.clone());
        record(conn, app_id, "object.created", target, self.actor).await
    }

    /// SQLite group: appends the statements that create the object (bucket if new, object,
    /// field index, change event) to `sql`, with their parameters in `p`. No transaction
    /// control: the caller wraps them.
    pub fn push_statements(&self, sql: &mut String, p: &mut Params) {
        let (b, new, o, actor) = (self.bucket, self.new, self.object, self.actor);
        let (app, scope, name) = (
            p.add(Param::S(b.app_id.clone())),
            p.add(Param::S(b.scope.key())),
            p.add(Param::S(b.name.clone())),
        );
        let now = p.add(Param::I(self.now));
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
            p.add(Param::S(self.data.clone())),
            p.add_opt(o.data_type.clone().map(Param::S)),
            p.add_opt(o.owner.clone().map(Param::S)),
            p.add(Param::S(o.acl.clone())),
            p.add(Param::I(o.version)),
            p.add(Param::I(o.modified_at)),
        ));
        let object = format!("(SELECT seq FROM objects WHERE bucket_seq = {bucket} AND id = {id})");
        if !self.fields.is_empty() {
            push_index_insert(sql, p, &self.fields, &object, &bucket, &created);
            sql.push_str("; ");
        }
        sql.push_str(&format!(
            "INSERT INTO events (app_id, kind, target, actor, from_server_code, created_at) \
             VALUES ({app}, 'object.created', {}, {}, {}, {now}); ",
            p.add(Param::S(self.target.to_string())),
            p.add(Param::S(actor.principal.clone())),
            p.add(Param::I(actor.origin())),
        ));
    }

    /// PostgreSQL group: the object's element of [`PG_CREATE`]'s `$1`.
    fn postgres_object(&self) -> Value {
        let o = self.object;
        json!({
            "id": o.id,
            "data": self.data,
            "data_type": o.data_type,
            "owner": o.owner,
            "acl": o.acl,
            "version": o.version,
            "created_at": o.created_at,
            "modified_at": o.modified_at,
            "target": self.target.to_string(),
            "actor": self.actor.principal,
            "from_server_code": self.actor.origin(),
        })
    }

    /// PostgreSQL group: the object's elements of [`PG_CREATE`]'s `$7`.
    fn postgres_fields(&self, out: &mut Vec<Value>) {
        for r in &self.fields {
            let (gx, gy, gz) = match r.g {
                Some([x, y, z]) => (Some(x), Some(y), Some(z)),
                None => (None, None, None),
            };
            out.push(json!({
                "id": self.object.id, "field": r.field, "kind": r.kind, "dec": r.dec,
                "num": r.num, "str": r.str, "lon": r.lon, "gx": gx, "gy": gy, "gz": gz,
            }));
        }
    }
}

/// The parameters of [`PG_CREATE`] for `plans`, which all create into the first one's bucket.
pub(crate) fn postgres_group(plans: &[CreatePlan<'_>]) -> Params {
    let first = &plans[0];
    let (mut objects, mut fields) = (Vec::new(), Vec::new());
    for plan in plans {
        objects.push(plan.postgres_object());
        plan.postgres_fields(&mut fields);
    }
    let mut p = Params::default();
    p.add(Param::S(Value::Array(objects).to_string()));
    p.add(Param::S(first.bucket.app_id.clone()));
    p.add(Param::S(first.bucket.scope.key()));
    p.add(Param::S(first.bucket.name.clone()));
    p.add(Param::S(
        json!({ "creator": first.new.creator, "acl": first.new.acl }).to_string(),
    ));
    p.add(Param::I(first.now));
    p.add(Param::S(Value::Array(fields).to_string()));
    p
}

/// Creates the bucket if it is new, then the objects, their field-index rows and their change
/// events: one statement of data-modifying CTEs, atomic on its own.
pub(crate) const PG_CREATE: &str = "\
WITH x AS (SELECT * FROM json_to_recordset(CAST($1 AS json)) AS x(id TEXT, data TEXT, \
    data_type TEXT, owner TEXT, acl TEXT, version BIGINT, created_at BIGINT, modified_at BIGINT, \
    target TEXT, actor TEXT, from_server_code BIGINT)), \
nb AS (INSERT INTO buckets (app_id, scope, name, creator, acl, created_at) \
    SELECT $2, $3, $4, b.creator, b.acl, $6 \
    FROM json_to_record(CAST($5 AS json)) AS b(creator TEXT, acl TEXT) \
    ON CONFLICT (app_id, scope, name) DO NOTHING RETURNING seq), \
bk AS (SELECT seq FROM nb UNION ALL \
    SELECT seq FROM buckets WHERE app_id = $2 AND scope = $3 AND name = $4 LIMIT 1), \
ob AS (INSERT INTO objects \
    (bucket_seq, id, data, data_type, owner, acl, version, created_at, modified_at) \
    SELECT bk.seq, x.id, x.data, x.data_type, x.owner, x.acl, x.version, x.created_at, \
    x.modified_at FROM bk CROSS JOIN x RETURNING seq, bucket_seq, id, created_at), \
fi AS (INSERT INTO object_fields \
    (object_seq, bucket_seq, field, kind, dec, num, str, lon, gx, gy, gz, created_at) \
    SELECT ob.seq, ob.bucket_seq, f.field, f.kind, f.dec, f.num, f.str, f.lon, f.gx, f.gy, \
    f.gz, ob.created_at \
    FROM json_to_recordset(CAST($7 AS json)) AS f(id TEXT, field TEXT, kind BIGINT, dec BIGINT, \
    num DOUBLE PRECISION, str TEXT, lon DOUBLE PRECISION, gx DOUBLE PRECISION, \
    gy DOUBLE PRECISION, gz DOUBLE PRECISION) JOIN ob ON ob.id = f.id), \
ev AS (INSERT INTO events (app_id, kind, target, actor, from_server_code, created_at) \
    SELECT $2, 'object.created', x.target, x.actor, x.from_server_code, $6 \
    FROM ob JOIN x ON x.id = ob.id) \
SELECT COUNT(*) FROM ob";
