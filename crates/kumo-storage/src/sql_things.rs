//! Things (devices), their owners and their buckets. Every write records its event in its own
//! transaction, like users' and groups'.

use serde_json::{json, Map, Value};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::events::record;
use crate::sql::SqlStore;
use crate::tx::in_transaction;
use crate::{
    Actor, BucketRef, Entity, Invalidation, Result, Scope, StorageError, Thing, ThingKey,
    ThingOwner,
};

const THING_COLS: &str =
    "id, vendor_thing_id, password_hash, fields, disabled, created_at, modified_at";

fn thing_from_row(row: &AnyRow) -> Result<Thing> {
    let fields: String = row.try_get("fields")?;
    let fields: Map<String, Value> = serde_json::from_str(&fields)
        .map_err(|e| StorageError::Backend(format!("corrupt thing fields: {e}")))?;
    Ok(Thing {
        id: row.try_get("id")?,
        vendor_thing_id: row.try_get("vendor_thing_id")?,
        password_hash: row.try_get("password_hash")?,
        fields,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        created_at: row.try_get("created_at")?,
        modified_at: row.try_get("modified_at")?,
    })
}

fn target(thing_id: &str) -> Value {
    json!({ "thingID": thing_id })
}

async fn thing_exists(conn: &mut AnyConnection, app_id: &str, thing_id: &str) -> Result<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM things WHERE app_id = $1 AND id = $2")
            .bind(app_id)
            .bind(thing_id)
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}

impl SqlStore {
    pub(crate) async fn do_create_thing(
        &self,
        app_id: &str,
        thing: &Thing,
        actor: &Actor,
    ) -> Result<()> {
        in_transaction(&self.write, async |tx| {
            sqlx::query(&format!(
                "INSERT INTO things (app_id, {THING_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ))
            .bind(app_id)
            .bind(&thing.id)
            .bind(&thing.vendor_thing_id)
            .bind(&thing.password_hash)
            .bind(Value::Object(thing.fields.clone()).to_string())
            .bind(thing.disabled as i64)
            .bind(thing.created_at)
            .bind(thing.modified_at)
            .execute(&mut *tx)
            .await?;
            record(tx, app_id, "thing.created", target(&thing.id), actor).await
        })
        .await
    }

    pub(crate) async fn do_get_thing(&self, app_id: &str, key: &ThingKey) -> Result<Option<Thing>> {
        let (column, value) = match key {
            ThingKey::Id(id) => ("id", id),
            ThingKey::Vendor(v) => ("vendor_thing_id", v),
        };
        let sql = format!("SELECT {THING_COLS} FROM things WHERE app_id = $1 AND {column} = $2");
        sqlx::query(&sql)
            .bind(app_id)
            .bind(value)
            .fetch_optional(&mut *self.read.get().await?)
            .await?
            .as_ref()
            .map(thing_from_row)
            .transpose()
    }

    pub(crate) async fn do_update_thing(
        &self,
        app_id: &str,
        thing_id: &str,
        fields: &Map<String, Value>,
        modified_at: i64,
        actor: &Actor,
    ) -> Result<()> {
        in_transaction(&self.write, async |tx| {
            let done = sqlx::query(
                "UPDATE things SET fields = $1, modified_at = $2 WHERE app_id = $3 AND id = $4",
            )
            .bind(Value::Object(fields.clone()).to_string())
            .bind(modified_at)
            .bind(app_id)
            .bind(thing_id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StorageError::NotFound(Entity::Thing));
            }
            record(tx, app_id, "thing.updated", target(thing_id), actor).await
        })
        .await
    }

    pub(crate) async fn do_set_thing_disabled(
        &self,
        app_id: &str,
        thing_id: &str,
        disabled: bool,
        modified_at: i64,
        actor: &Actor,
    ) -> Result<()> {
        in_transaction(&self.write, async |tx| {
            let done = sqlx::query(
                "UPDATE things SET disabled = $1, modified_at = $2 WHERE app_id = $3 AND id = $4",
            )
            .bind(disabled as i64)
            .bind(modified_at)
            .bind(app_id)
            .bind(thing_id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StorageError::NotFound(Entity::Thing));
            }
            let kind = if disabled {
                "thing.disabled"
            } else {
                "thing.enabled"
            };
            record(tx, app_id, kind, target(thing_id), actor).await
        })
        .await
    }

    pub(crate) async fn do_set_thing_password(
        &self,
        app_id: &str,
        thing_id: &str,
        password_hash: &str,
        modified_at: i64,
        actor: &Actor,
    ) -> Result<()> {
        in_transaction(&self.write, async |tx| {
            let done = sqlx::query(
                "UPDATE things SET password_hash = $1, modified_at = $2 WHERE app_id = $3 AND id = $4",
            )
            .bind(password_hash)
            .bind(modified_at)
            .bind(app_id)
            .bind(thing_id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StorageError::NotFound(Entity::Thing));
            }
            record(tx, app_id, "thing.password_changed", target(thing_id), actor).await
        })
        .await
    }

    pub(crate) async fn do_delete_thing(
        &self,
        app_id: &str,
        thing_id: &str,
        actor: &Actor,
    ) -> Result<bool> {
        in_transaction(&self.write, async |tx| {
            if !thing_exists(tx, app_id, thing_id).await? {
                return Ok(false);
            }
            let scope = Scope::Thing(thing_id.to_owned());
            let buckets: Vec<(i64, String)> =
                sqlx::query("SELECT seq, name FROM buckets WHERE app_id = $1 AND scope = $2")
                    .bind(app_id)
                    .bind(scope.key())
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| Ok((r.try_get("seq")?, r.try_get("name")?)))
                    .collect::<Result<_>>()?;
            for (seq, name) in &buckets {
                // The objects go by ON DELETE CASCADE; their index rows have no foreign key.
                sqlx::query("DELETE FROM object_fields WHERE bucket_seq = $1")
                    .bind(seq)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM buckets WHERE seq = $1")
                    .bind(seq)
                    .execute(&mut *tx)
                    .await?;
                let b = BucketRef {
                    app_id: app_id.to_owned(),
                    scope: scope.clone(),
                    name: name.clone(),
                };
                self.notify(tx, Invalidation::BucketDropped(b)).await?;
            }
            for sql in [
                "DELETE FROM scope_acls WHERE app_id = $1 AND scope = $2",
                "DELETE FROM tokens WHERE app_id = $1 AND thing_id = $2",
                "DELETE FROM thing_owners WHERE app_id = $1 AND thing_id = $2",
                "DELETE FROM things WHERE app_id = $1 AND id = $2",
            ] {
                let key = if sql.contains("scope_acls") {
                    scope.key()
                } else {
                    thing_id.to_owned()
                };
                sqlx::query(sql)
                    .bind(app_id)
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
            }
            self.notify(
                tx,
                Invalidation::ScopeAcl {
                    app_id: app_id.to_owned(),
                    scope,
                },
            )
            .await?;
            record(tx, app_id, "thing.deleted", target(thing_id), actor).await?;
            Ok(true)
        })
        .await
    }

    pub(crate) async fn do_add_thing_owner(
        &self,
        app_id: &str,
        thing_id: &str,
        owner: &ThingOwner,
        actor: &Actor,
    ) -> Result<bool> {
        in_transaction(&self.write, async |tx| {
            if !thing_exists(tx, app_id, thing_id).await? {
                return Err(StorageError::NotFound(Entity::Thing));
            }
            let (sql, missing) = match owner {
                ThingOwner::User(_) => ("SELECT 1 FROM users WHERE app_id = $1 AND id = $2", Entity::User),
                ThingOwner::Group(_) => (
                    "SELECT 1 FROM user_groups WHERE app_id = $1 AND id = $2",
                    Entity::Group,
                ),
            };
            let exists = sqlx::query(sql)
                .bind(app_id)
                .bind(owner.id())
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            if !exists {
                return Err(StorageError::NotFound(missing));
            }
            let done = sqlx::query(
                "INSERT INTO thing_owners (app_id, thing_id, kind, owner_id) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(app_id)
            .bind(thing_id)
            .bind(owner.kind())
            .bind(owner.id())
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            let t = json!({ "thingID": thing_id, "owner": format!("{}:{}", owner.kind(), owner.id()) });
            record(tx, app_id, "thing.owner_added", t, actor).await?;
            Ok(true)
        })
        .await
    }

    pub(crate) async fn do_remove_thing_owner(
        &self,
        app_id: &str,
        thing_id: &str,
        owner: &ThingOwner,
        actor: &Actor,
    ) -> Result<bool> {
        in_transaction(&self.write, async |tx| {
            let done = sqlx::query(
                "DELETE FROM thing_owners WHERE app_id = $1 AND thing_id = $2 AND kind = $3 AND owner_id = $4",
            )
            .bind(app_id)
            .bind(thing_id)
            .bind(owner.kind())
            .bind(owner.id())
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            let t = json!({ "thingID": thing_id, "owner": format!("{}:{}", owner.kind(), owner.id()) });
            record(tx, app_id, "thing.owner_removed", t, actor).await?;
            Ok(true)
        })
        .await
    }

    pub(crate) async fn do_things_owned_by(
        &self,
        app_id: &str,
        owners: &[ThingOwner],
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Thing>> {
        if owners.is_empty() {
            return Ok(Vec::new());
        }
        // $1 app, $2 after ('' for none), $3 limit, then kind and ID per owner.
        let tests: Vec<String> = (0..owners.len())
            .map(|i| format!("(o.kind = ${} AND o.owner_id = ${})", 4 + 2 * i, 5 + 2 * i))
            .collect();
        let cols: Vec<String> = THING_COLS.split(", ").map(|c| format!("t.{c}")).collect();
        let sql = format!(
            "SELECT {} FROM things t WHERE t.app_id = $1 AND t.id > $2 AND EXISTS (\
             SELECT 1 FROM thing_owners o WHERE o.app_id = t.app_id AND o.thing_id = t.id \
             AND ({})) ORDER BY t.id LIMIT $3",
            cols.join(", "),
            tests.join(" OR ")
        );
        let mut query = sqlx::query(&sql)
            .bind(app_id)
            .bind(after.unwrap_or(""))
            .bind(limit);
        for o in owners {
            query = query.bind(o.kind()).bind(o.id());
        }
        query
            .fetch_all(&mut *self.read.get().await?)
            .await?
            .iter()
            .map(thing_from_row)
            .collect()
    }

    pub(crate) async fn do_thing_owners(
        &self,
        app_id: &str,
        thing_id: &str,
    ) -> Result<Vec<ThingOwner>> {
        let rows = sqlx::query(
            "SELECT kind, owner_id FROM thing_owners WHERE app_id = $1 AND thing_id = $2 \
             ORDER BY kind DESC, owner_id",
        )
        .bind(app_id)
        .bind(thing_id)
        .fetch_all(&mut *self.read.get().await?)
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                let id: String = r.try_get("owner_id")?;
                Ok(if kind == "group" {
                    ThingOwner::Group(id)
                } else {
                    ThingOwner::User(id)
                })
            })
            .collect()
    }
}
