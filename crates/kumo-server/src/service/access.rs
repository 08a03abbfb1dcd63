//! Access control: the default ACLs of each scope (kii-acl-defaults), who a caller counts as,
//! and who may change which ACL.

use kumo_storage::{Group, Scope, ThingOwner};
use kumo_types::acl::{Acl, Action, Subject};
use kumo_types::ErrorCode;

use super::Service;
use crate::caller::{Caller, Principal};
use crate::error::{Error, Result};

/// A scope as resolved for one request: for a group, the group itself; for a thing, its
/// owners.
#[derive(Debug, Clone)]
pub struct ScopeInfo {
    pub scope: Scope,
    pub group: Option<Group>,
    pub thing_owners: Vec<ThingOwner>,
}

impl ScopeInfo {
    /// The user who owns the scope: the user of a user scope, the owner of a group.
    fn owner(&self) -> Option<&str> {
        match (&self.scope, &self.group) {
            (Scope::User(id), _) => Some(id),
            (Scope::Group(_), Some(g)) => g.owner.as_deref(),
            _ => None,
        }
    }

    fn owner_subject(&self) -> Option<Subject> {
        self.owner().map(|o| Subject::User(o.to_owned()))
    }

    fn group_subject(&self) -> Option<Subject> {
        match &self.scope {
            Scope::Group(id) => Some(Subject::Group(id.clone())),
            _ => None,
        }
    }

    /// A thing scope's thing: who has a thing's data. Its owners act as the thing when an ACL
    /// is checked ([`Identity::allowed`]), so owners added later see the data too.
    fn thing_subjects(&self) -> Vec<Subject> {
        match &self.scope {
            Scope::Thing(id) => vec![Subject::Thing(id.clone())],
            _ => Vec::new(),
        }
    }

    /// Whether `caller` is the thing of a thing scope or one of its user owners.
    fn is_thing_or_user_owner(&self, caller: &Caller) -> bool {
        let Scope::Thing(id) = &self.scope else {
            return false;
        };
        caller.thing_id() == Some(id.as_str())
            || caller.user_id().is_some_and(|u| {
                self.thing_owners
                    .iter()
                    .any(|o| matches!(o, ThingOwner::User(x) if x == u))
            })
    }

    /// CREATE_NEW_BUCKET when the scope's ACL was never changed.
    pub fn default_scope_acl(&self) -> Acl {
        let mut acl = Acl::default();
        let subjects: Vec<Subject> = match &self.scope {
            Scope::App => vec![Subject::AnyAuthenticatedUser],
            Scope::Group(_) => self
                .group_subject()
                .into_iter()
                .chain(self.owner_subject())
                .collect(),
            Scope::User(_) => self.owner_subject().into_iter().collect(),
            Scope::Thing(_) => self.thing_subjects(),
        };
        for s in subjects {
            acl.grant(Action::CreateNewBucket, s);
        }
        acl
    }

    /// The ACL a new bucket of this scope gets; `creator` is the user or thing creating it.
    pub fn default_bucket_acl(&self, creator: Option<Subject>) -> Acl {
        let mut acl = Acl::default();
        let bucket_actions = [
            Action::CreateObjectsInBucket,
            Action::QueryObjectsInBucket,
            Action::ReadObjectsInBucket,
            Action::DropBucketWithAllContent,
        ];
        match &self.scope {
            Scope::App => {
                for a in bucket_actions {
                    acl.grant(a, Subject::AnyAuthenticatedUser);
                }
                acl.grant(Action::QueryObjectsInBucket, Subject::AnonymousUser);
                acl.grant(Action::ReadObjectsInBucket, Subject::AnonymousUser);
            }
            Scope::Group(_) | Scope::User(_) => {
                for a in bucket_actions {
                    let members = if a == Action::DropBucketWithAllContent {
                        None
                    } else {
                        self.group_subject()
                    };
                    for s in members
                        .into_iter()
                        .chain(self.owner_subject())
                        .chain(creator.clone())
                    {
                        acl.grant(a, s);
                    }
                }
            }
            Scope::Thing(_) => {
                for a in bucket_actions {
                    for s in self.thing_subjects().into_iter().chain(creator.clone()) {
                        acl.grant(a, s);
                    }
                }
            }
        }
        acl
    }

    /// The ACL a new object of this scope gets; `creator` is the user or thing creating it.
    pub fn default_object_acl(&self, creator: Option<Subject>) -> Acl {
        let mut acl = Acl::default();
        match &self.scope {
            Scope::App => {
                acl.grant(Action::ReadExistingObject, Subject::AnyAuthenticatedUser);
                acl.grant(Action::ReadExistingObject, Subject::AnonymousUser);
                acl.grant(Action::WriteExistingObject, Subject::AnyAuthenticatedUser);
            }
            Scope::Group(_) | Scope::User(_) => {
                for a in [Action::ReadExistingObject, Action::WriteExistingObject] {
                    for s in self.group_subject().into_iter().chain(self.owner_subject()) {
                        acl.grant(a, s);
                    }
                }
            }
            Scope::Thing(_) => {
                for a in [Action::ReadExistingObject, Action::WriteExistingObject] {
                    for s in self.thing_subjects() {
                        acl.grant(a, s);
                    }
                }
            }
        }
        for a in [Action::ReadExistingObject, Action::WriteExistingObject] {
            if let Some(c) = &creator {
                acl.grant(a, c.clone());
            }
        }
        acl
    }

    /// May `caller` change the scope's or a bucket's ACL? (Kii: the admin for the app scope,
    /// the group owner, the user; for a thing scope the thing and its user owners.)
    pub fn may_modify_scope_or_bucket_acl(&self, caller: &Caller) -> bool {
        caller.is_admin()
            || (caller.user_id().is_some() && caller.user_id() == self.owner())
            || self.is_thing_or_user_owner(caller)
    }

    /// May `caller` change an object's ACL? The admin, the scope owner, the object's creator.
    pub fn may_modify_object_acl(&self, caller: &Caller, object_owner: Option<&str>) -> bool {
        self.may_modify_scope_or_bucket_acl(caller)
            || (caller.user_id().is_some() && caller.user_id() == object_owner)
    }
}

/// Who a caller counts as when matching ACL subjects. Group memberships are looked up only
/// when an ACL names a group.
pub struct Identity<'a> {
    caller: &'a Caller,
    groups: Option<Vec<String>>,
    /// Things whose ownership was looked up, and whether the caller owns each.
    things: Vec<(String, bool)>,
}

impl<'a> Identity<'a> {
    pub fn new(caller: &'a Caller) -> Self {
        Self {
            caller,
            groups: None,
            things: Vec::new(),
        }
    }

    async fn load_groups(&mut self, service: &Service, me: &str) -> Result<()> {
        if self.groups.is_none() {
            let groups = service
                .storage
                .groups_with_member(&self.caller.app.id, me)
                .await?;
            self.groups = Some(groups.into_iter().map(|g| g.id).collect());
        }
        Ok(())
    }

    /// Whether the user `me` owns `thing`: as a user owner or a member of a group owner.
    async fn owns_thing(&mut self, service: &Service, me: &str, thing: &str) -> Result<bool> {
        if let Some((_, owns)) = self.things.iter().find(|(t, _)| t == thing) {
            return Ok(*owns);
        }
        let owners = service
            .storage
            .thing_owners(&self.caller.app.id, thing)
            .await?;
        let mut owns = owners
            .iter()
            .any(|o| matches!(o, ThingOwner::User(u) if u == me));
        if !owns && owners.iter().any(|o| matches!(o, ThingOwner::Group(_))) {
            self.load_groups(service, me).await?;
            let groups = self.groups.as_deref().unwrap_or_default();
            owns = owners
                .iter()
                .any(|o| matches!(o, ThingOwner::Group(g) if groups.contains(g)));
        }
        self.things.push((thing.to_owned(), owns));
        Ok(owns)
    }

    pub fn caller(&self) -> &Caller {
        self.caller
    }

    /// Does `acl` grant `action` to this caller? The admin is always allowed.
    pub async fn allowed(&mut self, service: &Service, acl: &Acl, action: Action) -> Result<bool> {
        let me = match &self.caller.principal {
            Principal::Admin => return Ok(true),
            Principal::Anonymous => {
                return Ok(acl.subjects(action).contains(&Subject::AnonymousUser));
            }
            // A thing is an authenticated principal, and itself; it is no user and belongs to
            // no group.
            Principal::Thing(id) => {
                return Ok(acl.subjects(action).iter().any(|s| match s {
                    Subject::AnyAuthenticatedUser => true,
                    Subject::Thing(t) => t == id,
                    _ => false,
                }));
            }
            Principal::User(id) => id.clone(),
        };
        for s in acl.subjects(action) {
            match s {
                Subject::AnyAuthenticatedUser => return Ok(true),
                Subject::User(id) if *id == me => return Ok(true),
                Subject::Group(g) => {
                    self.load_groups(service, &me).await?;
                    if self.groups.as_ref().is_some_and(|gs| gs.contains(g)) {
                        return Ok(true);
                    }
                }
                // A thing's owners have what the thing has.
                Subject::Thing(t) => {
                    let owns = self.owns_thing(service, &me, t).await?;
                    if owns {
                        return Ok(true);
                    }
                }
                _ => {}
            }
        }
        Ok(false)
    }

    /// Like [`Self::allowed`], but an error when not: 401 for anonymous callers (log in and
    /// retry), 403 for everyone else.
    pub async fn require(&mut self, service: &Service, acl: &Acl, action: Action) -> Result<()> {
        if self.allowed(service, acl, action).await? {
            return Ok(());
        }
        Err(denied(self.caller, action))
    }
}

pub fn denied(caller: &Caller, action: Action) -> Error {
    let message = format!("The ACL does not grant {} to this caller", action.wire());
    if caller.principal == Principal::Anonymous {
        caller.unauthorized(message)
    } else {
        Error::new(ErrorCode::AccessDenied, message)
    }
}

/// Parses a stored ACL; a corrupt one is a storage fault, not the client's.
pub fn parse_acl(text: &str) -> Result<Acl> {
    Acl::from_json(text)
        .ok_or_else(|| Error::new(ErrorCode::InternalError, "A stored ACL is corrupt"))
}
