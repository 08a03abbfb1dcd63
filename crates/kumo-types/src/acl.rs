//! Access control lists: actions, subjects, and an ACL (a whitelist of grants).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::error::{ApiError, ErrorCode};

/// Where an ACL hangs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Scope,
    Bucket,
    Object,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    CreateNewBucket,
    QueryObjectsInBucket,
    CreateObjectsInBucket,
    ReadObjectsInBucket,
    DropBucketWithAllContent,
    ReadExistingObject,
    WriteExistingObject,
}

impl Action {
    pub const ALL: [Action; 7] = [
        Action::CreateNewBucket,
        Action::QueryObjectsInBucket,
        Action::CreateObjectsInBucket,
        Action::ReadObjectsInBucket,
        Action::DropBucketWithAllContent,
        Action::ReadExistingObject,
        Action::WriteExistingObject,
    ];

    pub fn wire(self) -> &'static str {
        match self {
            Action::CreateNewBucket => "CREATE_NEW_BUCKET",
            Action::QueryObjectsInBucket => "QUERY_OBJECTS_IN_BUCKET",
            Action::CreateObjectsInBucket => "CREATE_OBJECTS_IN_BUCKET",
            Action::ReadObjectsInBucket => "READ_OBJECTS_IN_BUCKET",
            Action::DropBucketWithAllContent => "DROP_BUCKET_WITH_ALL_CONTENT",
            Action::ReadExistingObject => "READ_EXISTING_OBJECT",
            Action::WriteExistingObject => "WRITE_EXISTING_OBJECT",
        }
    }

    pub fn level(self) -> Level {
        match self {
            Action::CreateNewBucket => Level::Scope,
            Action::ReadExistingObject | Action::WriteExistingObject => Level::Object,
            _ => Level::Bucket,
        }
    }

    /// Parses an action valid at `level`; anything else is `400 INVALID_INPUT_DATA`.
    pub fn parse(s: &str, level: Level) -> Result<Action, ApiError> {
        Action::ALL
            .into_iter()
            .find(|a| a.wire() == s && a.level() == level)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidInputData,
                    format!("'{s}' is not an ACL action here"),
                )
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    User(String),
    Group(String),
    Thing(String),
    AnyAuthenticatedUser,
    AnonymousUser,
}

impl Subject {
    /// `UserID:x`, `GroupID:x`, `ThingID:x`, `UserID:ANY_AUTHENTICATED_USER`, `UserID:ANONYMOUS_USER`.
    pub fn parse(s: &str) -> Result<Subject, ApiError> {
        let bad = || {
            ApiError::new(
                ErrorCode::InvalidInputData,
                format!("'{s}' is not an ACL subject"),
            )
        };
        let (kind, id) = s.split_once(':').ok_or_else(bad)?;
        if id.is_empty() {
            return Err(bad());
        }
        Ok(match (kind, id) {
            ("UserID", "ANY_AUTHENTICATED_USER") => Subject::AnyAuthenticatedUser,
            ("UserID", "ANONYMOUS_USER") => Subject::AnonymousUser,
            ("UserID", id) => Subject::User(id.to_owned()),
            ("GroupID", id) => Subject::Group(id.to_owned()),
            ("ThingID", id) => Subject::Thing(id.to_owned()),
            _ => return Err(bad()),
        })
    }

    pub fn wire(&self) -> String {
        match self {
            Subject::User(id) => format!("UserID:{id}"),
            Subject::Group(id) => format!("GroupID:{id}"),
            Subject::Thing(id) => format!("ThingID:{id}"),
            Subject::AnyAuthenticatedUser => "UserID:ANY_AUTHENTICATED_USER".into(),
            Subject::AnonymousUser => "UserID:ANONYMOUS_USER".into(),
        }
    }

    /// The JSON form in ACL listings.
    pub fn document(&self) -> Value {
        match self {
            Subject::User(id) => json!({ "userID": id }),
            Subject::Group(id) => json!({ "groupID": id }),
            Subject::Thing(id) => json!({ "thingID": id }),
            Subject::AnyAuthenticatedUser => json!({ "userID": "ANY_AUTHENTICATED_USER" }),
            Subject::AnonymousUser => json!({ "userID": "ANONYMOUS_USER" }),
        }
    }
}

/// A set of grants. Stored as JSON text `{"ACTION": ["UserID:x", …]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl(pub BTreeMap<Action, Vec<Subject>>);

impl Acl {
    pub fn grant(&mut self, action: Action, subject: Subject) {
        let list = self.0.entry(action).or_default();
        if !list.contains(&subject) {
            list.push(subject);
        }
    }

    pub fn revoke(&mut self, action: Action, subject: &Subject) -> bool {
        let Some(list) = self.0.get_mut(&action) else {
            return false;
        };
        let before = list.len();
        list.retain(|s| s != subject);
        before != list.len()
    }

    pub fn subjects(&self, action: Action) -> &[Subject] {
        self.0.get(&action).map_or(&[], Vec::as_slice)
    }

    /// The listing the Kii API answers with: every action of `level`, possibly empty.
    pub fn document(&self, level: Level) -> Value {
        let mut out = Map::new();
        for action in Action::ALL.into_iter().filter(|a| a.level() == level) {
            let subjects: Vec<Value> = self
                .subjects(action)
                .iter()
                .map(Subject::document)
                .collect();
            out.insert(action.wire().into(), Value::Array(subjects));
        }
        Value::Object(out)
    }

    pub fn to_json(&self) -> String {
        let map: Map<String, Value> = self
            .0
            .iter()
            .map(|(a, subs)| {
                (
                    a.wire().to_owned(),
                    Value::Array(subs.iter().map(|s| Value::String(s.wire())).collect()),
                )
            })
            .collect();
        Value::Object(map).to_string()
    }

    pub fn from_json(text: &str) -> Option<Acl> {
        let v: Value = serde_json::from_str(text).ok()?;
        let mut acl = Acl::default();
        for (k, subs) in v.as_object()? {
            let action = Action::ALL.into_iter().find(|a| a.wire() == k)?;
            for s in subs.as_array()? {
                acl.grant(action, Subject::parse(s.as_str()?).ok()?);
            }
        }
        Some(acl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_round_trip() {
        for s in [
            "UserID:u-1",
            "GroupID:g1",
            "ThingID:t",
            "UserID:ANY_AUTHENTICATED_USER",
            "UserID:ANONYMOUS_USER",
        ] {
            assert_eq!(Subject::parse(s).unwrap().wire(), s);
        }
        assert!(Subject::parse("Nobody:x").is_err());
        assert!(Subject::parse("UserID:").is_err());
        assert!(Subject::parse("plain").is_err());
    }

    #[test]
    fn actions_belong_to_levels() {
        assert!(Action::parse("READ_EXISTING_OBJECT", Level::Object).is_ok());
        assert!(Action::parse("READ_EXISTING_OBJECT", Level::Bucket).is_err());
        assert!(Action::parse("CREATE_NEW_BUCKET", Level::Scope).is_ok());
        assert!(Action::parse("EAT", Level::Bucket).is_err());
    }

    #[test]
    fn grants_are_idempotent_and_serialize() {
        let mut acl = Acl::default();
        acl.grant(Action::ReadExistingObject, Subject::User("u".into()));
        acl.grant(Action::ReadExistingObject, Subject::User("u".into()));
        acl.grant(Action::WriteExistingObject, Subject::AnonymousUser);
        assert_eq!(acl.subjects(Action::ReadExistingObject).len(), 1);
        let back = Acl::from_json(&acl.to_json()).unwrap();
        assert_eq!(back, acl);
        let doc = acl.document(Level::Object);
        assert_eq!(doc["READ_EXISTING_OBJECT"][0]["userID"], "u");
        assert_eq!(doc["WRITE_EXISTING_OBJECT"][0]["userID"], "ANONYMOUS_USER");
        assert!(acl.revoke(Action::ReadExistingObject, &Subject::User("u".into())));
        assert!(!acl.revoke(Action::ReadExistingObject, &Subject::User("u".into())));
    }
}
