//! Listings for the web console's admin calls, for [`SqlStore`]: an app's buckets in one
//! scope, its users, its groups. Each is a keyset page over a unique index that starts with
//! the app ID (`buckets (app_id, scope, name)`, `users (app_id, id)`, `user_groups (app_id,
//! id)`), so a page costs its own rows however large the app, and a cursor is the last key
//! read, opaque and tagged with the listing it belongs to.

use base64::Engine;
use serde_json::{json, Value};
use sqlx::Row;

use crate::sql::{group_from_row, user_from_row, SqlStore, GROUP_COLS, USER_COLS};
use crate::{Group, Result, Scope, StorageError, User};

/// One page of a listing and the cursor of the next, if more follow.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// A bucket as the console lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketSummary {
    pub name: String,
    pub creator: Option<String>,
    pub created_at: i64,
}

fn encode(tag: &str, key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json!([tag, key]).to_string())
}

/// The key a cursor of listing `tag` carries; `InvalidCursor` for anything else.
fn decode(tag: &str, cursor: &str) -> Result<String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StorageError::InvalidCursor)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| StorageError::InvalidCursor)?;
    match value.as_array().map(Vec::as_slice) {
        Some([Value::String(t), Value::String(key)]) if t == tag => Ok(key.clone()),
        _ => Err(StorageError::InvalidCursor),
    }
}

/// Keeps `limit` of `limit + 1` rows read; the last kept one's key is the next cursor.
fn page_of<T>(mut items: Vec<T>, limit: i64, tag: &str, key: impl Fn(&T) -> &str) -> ListPage<T> {
    let limit = limit as usize;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|last| encode(tag, key(last)))
    } else {
        None
    };
    ListPage { items, next }
}

impl SqlStore {
    pub(crate) async fn do_list_buckets(
        &self,
        app_id: &str,
        scope: &Scope,
        after: Option<&str>,
        limit: i64,
    ) -> Result<ListPage<BucketSummary>> {
        let limit = limit.max(1);
        let after = after.map(|c| decode("buckets", c)).transpose()?;
        let rows = sqlx::query(
            "SELECT name, creator, created_at FROM buckets \
             WHERE app_id = $1 AND scope = $2 AND name > $3 ORDER BY name LIMIT $4",
        )
        .bind(app_id)
        .bind(scope.key())
        .bind(after.unwrap_or_default())
        .bind(limit + 1)
        .fetch_all(&mut *self.read.get().await?)
        .await?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(BucketSummary {
                    name: r.try_get("name")?,
                    creator: r.try_get("creator")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, limit, "buckets", |b| &b.name))
    }

    pub(crate) async fn do_list_users(
        &self,
        app_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<ListPage<User>> {
        let limit = limit.max(1);
        let after = after.map(|c| decode("users", c)).transpose()?;
        let sql = format!(
            "SELECT {USER_COLS} FROM users WHERE app_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(app_id)
            .bind(after.unwrap_or_default())
            .bind(limit + 1)
            .fetch_all(&mut *self.read.get().await?)
            .await?;
        let items = rows.iter().map(user_from_row).collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, limit, "users", |u| &u.id))
    }

    pub(crate) async fn do_list_groups(
        &self,
        app_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<ListPage<Group>> {
        let limit = limit.max(1);
        let after = after.map(|c| decode("groups", c)).transpose()?;
        let sql = format!(
            "SELECT {GROUP_COLS} FROM user_groups WHERE app_id = $1 AND id > $2 \
             ORDER BY id LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(app_id)
            .bind(after.unwrap_or_default())
            .bind(limit + 1)
            .fetch_all(&mut *self.read.get().await?)
            .await?;
        let items = rows
            .iter()
            .map(group_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, limit, "groups", |g| &g.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_belongs_to_its_listing() {
        let c = encode("users", "abc");
        assert_eq!(decode("users", &c).unwrap(), "abc");
        assert!(matches!(
            decode("groups", &c),
            Err(StorageError::InvalidCursor)
        ));
        for bad in ["", "!!", "bm90IGpzb24", &encode("users", "x")[1..]] {
            assert!(decode("users", bad).is_err(), "{bad}");
        }
    }
}
