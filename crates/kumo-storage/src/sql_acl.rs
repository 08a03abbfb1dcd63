//! Grants and revokes on stored ACLs, for [`SqlStore`].
//!
//! A change reads the ACL and writes it back inside one transaction on the write pool,
//! holding the row: PostgreSQL locks it (`FOR UPDATE`), and SQLite's single writer
//! connection admits one such transaction at a time. Reading it anywhere else (the read pool,
//! the inline reader) would let two changes start from the same ACL and lose one.

use kumo_types::acl::Acl;
use sqlx::{AnyConnection, Row};

use crate::dialect::Dialect;
use crate::sql::SqlStore;
use crate::tx::in_transaction;
use crate::{AclChange, AclHolder, Entity, Invalidation, Result, StorageError};

/// How the locked row is found again to write the ACL back.
enum RowKey<'a> {
    /// By app ID and scope key.
    Scope(&'a str, String),
    /// By `seq` in this table.
    Seq(&'static str, i64),
}

impl SqlStore {
    pub(crate) async fn do_change_acl(&self, holder: &AclHolder, change: &AclChange) -> Result<()> {
        in_transaction(&self.write, async |tx| {
            self.change_acl_in(tx, holder, change).await
        })
        .await
    }

    async fn change_acl_in(
        &self,
        conn: &mut AnyConnection,
        holder: &AclHolder,
        change: &AclChange,
    ) -> Result<()> {
        let lock = self.dialect().row_lock();
        // The key of the row to write back, and the ACL it holds now.
        let (row_key, text): (RowKey<'_>, String) = match holder {
            AclHolder::Scope {
                app_id,
                scope,
                default,
            } => {
                // A scope ACL row exists only once changed: insert the default first, so
                // there is a row to lock even for the first two changes arriving together.
                sqlx::query(
                    "INSERT INTO scope_acls (app_id, scope, acl) VALUES ($1, $2, $3) \
                     ON CONFLICT (app_id, scope) DO NOTHING",
                )
                .bind(app_id)
                .bind(scope.key())
                .bind(default)
                .execute(&mut *conn)
                .await?;
                let row = sqlx::query(&format!(
                    "SELECT acl FROM scope_acls WHERE app_id = $1 AND scope = $2{lock}"
                ))
                .bind(app_id)
                .bind(scope.key())
                .fetch_one(&mut *conn)
                .await?;
                (RowKey::Scope(app_id, scope.key()), row.try_get("acl")?)
            }
            AclHolder::Bucket(b) => {
                let row = sqlx::query(&format!(
                    "SELECT seq, acl FROM buckets WHERE app_id = $1 AND scope = $2 AND name = $3{lock}"
                ))
                .bind(&b.app_id)
                .bind(b.scope.key())
                .bind(&b.name)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(StorageError::NotFound(Entity::Bucket))?;
                (
                    RowKey::Seq("buckets", row.try_get("seq")?),
                    row.try_get("acl")?,
                )
            }
            AclHolder::Object(b, id) => {
                let lock = match self.dialect() {
                    Dialect::Postgres => " FOR UPDATE OF o",
                    Dialect::Sqlite => "",
                };
                let row = sqlx::query(&format!(
                    "SELECT o.seq, o.acl FROM objects o JOIN buckets b ON b.seq = o.bucket_seq \
                     WHERE b.app_id = $1 AND b.scope = $2 AND b.name = $3 AND o.id = $4{lock}"
                ))
                .bind(&b.app_id)
                .bind(b.scope.key())
                .bind(&b.name)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(StorageError::NotFound(Entity::Object))?;
                (
                    RowKey::Seq("objects", row.try_get("seq")?),
                    row.try_get("acl")?,
                )
            }
        };
        let mut acl = Acl::from_json(&text)
            .ok_or_else(|| StorageError::Backend("a stored ACL is corrupt".into()))?;
        let changed = if change.grant {
            let before = acl.subjects(change.action).len();
            acl.grant(change.action, change.subject.clone());
            acl.subjects(change.action).len() != before
        } else {
            acl.revoke(change.action, &change.subject)
        };
        if !changed {
            return Ok(());
        }
        let text = acl.to_json();
        let event = match holder {
            AclHolder::Scope { app_id, scope, .. } => Invalidation::ScopeAcl {
                app_id: app_id.clone(),
                scope: scope.clone(),
            },
            AclHolder::Bucket(b) => Invalidation::BucketAcl(b.clone()),
            AclHolder::Object(b, id) => Invalidation::ObjectAcl {
                bucket: b.clone(),
                object_id: id.clone(),
            },
        };
        match row_key {
            RowKey::Scope(app_id, scope) => {
                sqlx::query("UPDATE scope_acls SET acl = $1 WHERE app_id = $2 AND scope = $3")
                    .bind(text)
                    .bind(app_id)
                    .bind(scope)
                    .execute(&mut *conn)
                    .await?;
            }
            RowKey::Seq(table, seq) => {
                sqlx::query(&format!("UPDATE {table} SET acl = $1 WHERE seq = $2"))
                    .bind(text)
                    .bind(seq)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        self.notify(conn, event).await
    }
}
