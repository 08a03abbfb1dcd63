//! Groups: creation (server or client ID), lookup, rename, owner change, membership.
//!
//! Who may do what (Kii's group access control guide): any logged-in caller may read a group,
//! its owner and its members; the owner and the admin may change a group; a member may also
//! remove itself. Anyone else changing a group is `401 UNAUTHORIZED`, the status Kii's
//! reference documents for it.

use kumo_storage::Group;
use kumo_types::{ids, now_ms, validate, ApiError, ErrorCode};
use serde_json::{json, Map, Value};

use super::{actor_of, Service};
use crate::caller::Caller;
use crate::error::{group_not_found, user_not_found, Error, Naming, Result};

/// The body of a group creation request.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupInput {
    pub name: String,
    pub owner: Option<String>,
    pub members: Vec<String>,
}

impl GroupInput {
    pub fn parse(body: &Map<String, Value>) -> Result<Self> {
        let name = match body.get("name") {
            Some(Value::String(s)) => s.clone(),
            _ => {
                return Err(ApiError::invalid_field(
                    "name",
                    "name is required and must be a string",
                )
                .into())
            }
        };
        validate::group_name(&name)?;
        let owner = match body.get("owner") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(ApiError::invalid_field("owner", "owner must be a user ID").into())
            }
        };
        let members = match body.get("members") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    ApiError::invalid_field("members", "members must be an array of user IDs")
                })?,
            Some(_) => {
                return Err(ApiError::invalid_field(
                    "members",
                    "members must be an array of user IDs",
                )
                .into())
            }
        };
        if members.len() > 1000 {
            return Err(
                ApiError::invalid_field("members", "at most 1000 members per request").into(),
            );
        }
        Ok(Self {
            name,
            owner,
            members,
        })
    }
}

pub fn group_document(g: &Group) -> Value {
    json!({
        "groupID": g.id,
        "name": g.name,
        "owner": g.owner,
        "createdAt": g.created_at,
        "modifiedAt": g.modified_at,
    })
}

impl Service {
    /// Creates a group; with `id` the client chose it, else the server does. Returns the ID
    /// and the member IDs that name no user.
    pub async fn create_group(
        &self,
        caller: &Caller,
        id: Option<&str>,
        input: GroupInput,
    ) -> Result<(String, Vec<String>)> {
        caller.require_authenticated()?;
        if caller.thing_id().is_some() {
            // Below, no user means the admin: a thing must not pass for it.
            return Err(Error::new(
                ErrorCode::AccessDenied,
                "A thing may not create groups",
            ));
        }
        let app = &caller.app.id;
        let owner = match (caller.user_id(), input.owner) {
            (Some(me), None) => Some(me.to_owned()),
            (Some(me), Some(o)) if o == me => Some(o),
            (Some(_), Some(o)) => {
                // Kii's guide: an owner that does not exist is USER_NOT_FOUND, whoever asks.
                if self.storage.get_user(app, &o).await?.is_none() {
                    return Err(user_not_found(app, "userID", &o));
                }
                return Err(Error::new(
                    ErrorCode::AccessDenied,
                    "A user may only create groups it owns",
                ));
            }
            (None, owner) => owner, // the admin may name any owner, or none
        };
        let id = match id {
            Some(id) => {
                validate::group_id(id)?;
                id.to_owned()
            }
            None => ids::group_id(),
        };
        let now = now_ms();
        let group = Group {
            id: id.clone(),
            name: input.name,
            owner,
            created_at: now,
            modified_at: now,
        };
        let owner = group.owner.clone().unwrap_or_default();
        let not_found = self
            .storage
            .create_group(app, &group, &input.members, &actor_of(caller))
            .await
            .naming_group(app, &id)
            .naming_user(app, &owner)?;
        Ok((id, not_found))
    }

    async fn load_group(&self, caller: &Caller, group_id: &str) -> Result<Group> {
        self.storage
            .get_group(&caller.app.id, group_id)
            .await?
            .ok_or_else(|| group_not_found(&caller.app.id, group_id))
    }

    fn require_owner(caller: &Caller, group: &Group, what: &str) -> Result<()> {
        caller.require_authenticated()?;
        if caller.is_admin()
            || (caller.user_id().is_some() && caller.user_id() == group.owner.as_deref())
        {
            Ok(())
        } else {
            Err(caller.unauthorized(format!("Only the group owner or the app admin may {what}")))
        }
    }

    pub async fn get_group(&self, caller: &Caller, group_id: &str) -> Result<Group> {
        caller.require_authenticated()?;
        self.load_group(caller, group_id).await
    }

    pub async fn rename_group(&self, caller: &Caller, group_id: &str, name: &str) -> Result<()> {
        let group = self.load_group(caller, group_id).await?;
        Self::require_owner(caller, &group, "rename it")?;
        validate::group_name(name)?;
        Ok(self
            .storage
            .rename_group(&caller.app.id, group_id, name, now_ms(), &actor_of(caller))
            .await?)
    }

    pub async fn change_group_owner(
        &self,
        caller: &Caller,
        group_id: &str,
        owner: &str,
    ) -> Result<()> {
        let group = self.load_group(caller, group_id).await?;
        Self::require_owner(caller, &group, "change its owner")?;
        self.storage
            .set_group_owner(&caller.app.id, group_id, owner, now_ms(), &actor_of(caller))
            .await
            .naming_user(&caller.app.id, owner)
    }

    pub async fn delete_group(&self, caller: &Caller, group_id: &str) -> Result<()> {
        let group = self.load_group(caller, group_id).await?;
        Self::require_owner(caller, &group, "delete it")?;
        if !self
            .storage
            .delete_group(&caller.app.id, group_id, &actor_of(caller))
            .await?
        {
            return Err(group_not_found(&caller.app.id, group_id));
        }
        Ok(())
    }

    pub async fn add_group_member(
        &self,
        caller: &Caller,
        group_id: &str,
        user_id: &str,
    ) -> Result<()> {
        let group = self.load_group(caller, group_id).await?;
        Self::require_owner(caller, &group, "add members")?;
        self.storage
            .add_member(&caller.app.id, group_id, user_id, &actor_of(caller))
            .await
            .naming_user(&caller.app.id, user_id)
    }

    pub async fn remove_group_member(
        &self,
        caller: &Caller,
        group_id: &str,
        user_id: &str,
    ) -> Result<()> {
        let group = self.load_group(caller, group_id).await?;
        if caller.user_id() != Some(user_id) {
            Self::require_owner(caller, &group, "remove other members")?;
        }
        if group.owner.as_deref() == Some(user_id) {
            return Err(ApiError::new(
                ErrorCode::InvalidInputData,
                "The owner cannot leave the group; change the owner first",
            )
            .into());
        }
        if !self
            .storage
            .remove_member(&caller.app.id, group_id, user_id, &actor_of(caller))
            .await
            .naming_user(&caller.app.id, user_id)?
        {
            return Err(Error(
                ApiError::new(
                    ErrorCode::MemberNotFound,
                    "The user is not a member of the group",
                )
                .with("userID", user_id),
            ));
        }
        Ok(())
    }

    /// Kii's access control guide lets any logged-in user check a group's members.
    pub async fn group_members(&self, caller: &Caller, group_id: &str) -> Result<Vec<String>> {
        caller.require_authenticated()?;
        self.load_group(caller, group_id).await?;
        Ok(self.storage.list_members(&caller.app.id, group_id).await?)
    }

    /// Groups a user owns (`owner = true`) or belongs to; the user itself or the admin only.
    /// Another user asking is 401 `UNAUTHORIZED`, Kii's "Not authorized to query for groups".
    pub async fn list_groups(
        &self,
        caller: &Caller,
        user_id: &str,
        owner: bool,
    ) -> Result<Vec<Group>> {
        caller.require_authenticated()?;
        if !caller.is_admin() && caller.user_id() != Some(user_id) {
            return Err(caller.unauthorized("A user may list only its own groups"));
        }
        let app = &caller.app.id;
        // A user asking about itself exists; the admin may name anyone, and the reference
        // answers a user that is not there with USER_NOT_FOUND rather than an empty list.
        if caller.is_admin() && self.storage.get_user(app, user_id).await?.is_none() {
            return Err(user_not_found(app, "userID", user_id));
        }
        Ok(if owner {
            self.storage.groups_owned_by(app, user_id).await?
        } else {
            self.storage.groups_with_member(app, user_id).await?
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> Result<GroupInput> {
        GroupInput::parse(v.as_object().unwrap())
    }

    #[test]
    fn group_bodies() {
        let g = parse(json!({"name": "team", "owner": "u1", "members": ["u2"]})).unwrap();
        assert_eq!(
            g,
            GroupInput {
                name: "team".into(),
                owner: Some("u1".into()),
                members: vec!["u2".into()]
            }
        );
        let field = |v| parse(v).unwrap_err().0.extra["field"].clone();
        assert_eq!(field(json!({})), "name");
        assert_eq!(field(json!({"name": ""})), "name");
        assert_eq!(field(json!({"name": "a", "owner": 3})), "owner");
        assert_eq!(field(json!({"name": "a", "members": "u1"})), "members");
        assert_eq!(field(json!({"name": "a", "members": [1]})), "members");
    }
}
