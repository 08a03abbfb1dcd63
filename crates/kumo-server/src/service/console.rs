//! The listings behind the web console's admin calls (`routes/console.rs`): an app's buckets
//! in a scope, its users, its groups. Kii's REST API has no call for these. Admin only, one
//! bounded page at a time.

use kumo_storage::{ListPage, Scope};
use kumo_types::{ApiError, ErrorCode};
use serde_json::{json, Value};

use super::groups::group_document;
use super::users::user_document;
use super::Service;
use crate::caller::Caller;
use crate::error::{Error, Result};

/// Rows in a page when the request names no limit.
pub const DEFAULT_LIMIT: i64 = 50;
/// The most rows a page holds; a larger limit is lowered to this (as Kii's `bestEffortLimit`).
pub const MAX_LIMIT: i64 = 200;
/// A longer pagination key was not made by these listings.
const MAX_KEY_LEN: usize = 1024;

/// A page request as the query string gave it.
#[derive(Debug, Default, Clone)]
pub struct PageRequest {
    pub limit: Option<String>,
    pub pagination_key: Option<String>,
}

impl PageRequest {
    fn limit(&self) -> Result<i64> {
        let Some(raw) = self.limit.as_deref() else {
            return Ok(DEFAULT_LIMIT);
        };
        match raw.trim().parse::<i64>() {
            Ok(n) if n >= 1 => Ok(n.min(MAX_LIMIT)),
            _ => {
                Err(ApiError::invalid_field("limit", "limit must be a whole number from 1").into())
            }
        }
    }

    fn key(&self) -> Result<Option<&str>> {
        match self.pagination_key.as_deref() {
            None | Some("") => Ok(None),
            Some(k) if k.len() > MAX_KEY_LEN => Err(ApiError::invalid_field(
                "paginationKey",
                "The pagination key does not belong to this query",
            )
            .into()),
            Some(k) => Ok(Some(k)),
        }
    }
}

/// Whose buckets to list.
#[derive(Debug, Clone)]
pub enum BucketOwner {
    App,
    User(String),
    Group(String),
}

/// The console's listings answer only the app admin: `401` without a token, `403` for a user.
fn require_admin(caller: &Caller) -> Result<()> {
    caller.require_authenticated()?;
    if caller.is_admin() {
        Ok(())
    } else {
        Err(Error::new(
            ErrorCode::AccessDenied,
            "The console's listings need an app-admin token",
        ))
    }
}

fn with_next(mut body: Value, next: Option<String>) -> Value {
    if let Some(next) = next {
        body["nextPaginationKey"] = next.into();
    }
    body
}

impl Service {
    /// `GET …/console/buckets`: one page of the scope's buckets by name.
    pub async fn console_buckets(
        &self,
        caller: &Caller,
        owner: BucketOwner,
        page: &PageRequest,
    ) -> Result<Value> {
        require_admin(caller)?;
        let (limit, key) = (page.limit()?, page.key()?);
        let scope = match owner {
            BucketOwner::App => Scope::App,
            BucketOwner::User(id) => {
                // A user who does not exist has no buckets: say so rather than list nothing.
                let user = self.resolve_user(caller, &id).await?;
                Scope::User(user.id)
            }
            BucketOwner::Group(id) => {
                self.get_group(caller, &id).await?;
                Scope::Group(id)
            }
        };
        let ListPage { items, next } = self
            .storage
            .list_buckets(&caller.app.id, &scope, key, limit)
            .await?;
        let buckets: Vec<Value> = items
            .iter()
            .map(|b| json!({"bucketID": b.name, "createdAt": b.created_at, "creator": b.creator}))
            .collect();
        Ok(with_next(json!({ "buckets": buckets }), next))
    }

    /// `GET …/console/users`: one page of the app's users by ID, full documents.
    pub async fn console_users(&self, caller: &Caller, page: &PageRequest) -> Result<Value> {
        require_admin(caller)?;
        let (limit, key) = (page.limit()?, page.key()?);
        let ListPage { items, next } = self.storage.list_users(&caller.app.id, key, limit).await?;
        let users: Vec<Value> = items.iter().map(|u| user_document(u, true)).collect();
        Ok(with_next(json!({ "users": users }), next))
    }

    /// `GET …/console/groups`: one page of the app's groups by ID.
    pub async fn console_groups(&self, caller: &Caller, page: &PageRequest) -> Result<Value> {
        require_admin(caller)?;
        let (limit, key) = (page.limit()?, page.key()?);
        let ListPage { items, next } = self.storage.list_groups(&caller.app.id, key, limit).await?;
        let groups: Vec<Value> = items.iter().map(group_document).collect();
        Ok(with_next(json!({ "groups": groups }), next))
    }
}
