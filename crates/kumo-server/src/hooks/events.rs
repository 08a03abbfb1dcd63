//! What a change event means to trigger hooks: its trigger, the paths it matches, and the
//! `params` its runs get.

use kumo_storage::Event;
use serde_json::{json, Map, Value};

use super::config::{TriggerPath, When};

/// Where an event happened, as hook paths name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Subject {
    Users,
    Groups,
    Things,
    Bucket { scope: BucketScope, bucket: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BucketScope {
    App,
    User,
    Group,
    Thing,
}

/// An event that trigger hooks can fire on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Trigger {
    pub when: When,
    pub subject: Subject,
    /// The `params` of every run it causes.
    pub params: Value,
}

impl Subject {
    pub fn matches(&self, path: &TriggerPath) -> bool {
        match (self, path) {
            (Subject::Users, TriggerPath::Users)
            | (Subject::Groups, TriggerPath::Groups)
            | (Subject::Things, TriggerPath::Things) => true,
            (Subject::Bucket { scope, bucket }, path) => match (scope, path) {
                (BucketScope::App, TriggerPath::AppBucket(b))
                | (BucketScope::User, TriggerPath::UserBuckets(b))
                | (BucketScope::Group, TriggerPath::GroupBuckets(b))
                | (BucketScope::Thing, TriggerPath::ThingBuckets(b)) => b == bucket,
                _ => false,
            },
            _ => false,
        }
    }
}

/// The user who caused an event, if a user did (not an admin or an anonymous caller).
pub(crate) fn acting_user(actor: &str) -> Option<&str> {
    actor.strip_prefix("user:")
}

/// The trigger an event fires, if any. Events of hook-run code fire nothing.
pub(crate) fn trigger_of(app_id: &str, event: &Event) -> Option<Trigger> {
    if event.by_hook {
        return None;
    }
    let t = &event.target;
    let str_of = |key: &str| t.get(key).and_then(Value::as_str).map(str::to_owned);
    let user = |when| {
        let id = str_of("userID")?;
        Some(Trigger {
            when,
            subject: Subject::Users,
            params: json!({ "userID": id, "uri": format!("kiicloud://users/{id}") }),
        })
    };
    let group = |when, member: bool| {
        let id = str_of("groupID")?;
        let mut params = Map::new();
        params.insert("groupID".into(), json!(id));
        params.insert("uri".into(), json!(format!("kiicloud://groups/{id}")));
        if member {
            params.insert("members".into(), json!([str_of("userID")?]));
        }
        Some(Trigger {
            when,
            subject: Subject::Groups,
            params: Value::Object(params),
        })
    };
    let thing = |when| {
        let id = str_of("thingID")?;
        let mut params = Map::new();
        params.insert("thingID".into(), json!(id));
        params.insert("uri".into(), json!(format!("kiicloud://things/{id}")));
        if let Some(owner) = str_of("owner") {
            let (kind, owner_id) = owner.split_once(':')?;
            let key = if kind == "group" { "groupID" } else { "userID" };
            params.insert(key.into(), json!(owner_id));
        }
        Some(Trigger {
            when,
            subject: Subject::Things,
            params: Value::Object(params),
        })
    };
    let owner_is_group = || str_of("owner").is_some_and(|o| o.starts_with("group:"));
    match event.kind.as_str() {
        "thing.created" => thing(When::ThingCreated),
        "thing.deleted" => thing(When::ThingDeleted),
        "thing.enabled" => thing(When::ThingEnabled),
        "thing.disabled" => thing(When::ThingDisabled),
        "thing.updated" => thing(When::ThingFieldsUpdated),
        "thing.owner_added" if owner_is_group() => thing(When::ThingGroupOwnerAdded),
        "thing.owner_added" => thing(When::ThingUserOwnerAdded),
        "thing.owner_removed" if owner_is_group() => thing(When::ThingGroupOwnerRemoved),
        "thing.owner_removed" => thing(When::ThingUserOwnerRemoved),
        "user.created" => user(When::UserCreated),
        "user.updated" => user(When::UserUpdated),
        "user.password_changed" => user(When::UserPasswordChanged),
        "user.deleted" => user(When::UserDeleted),
        "group.created" => group(When::GroupCreated, false),
        "group.deleted" => group(When::GroupDeleted, false),
        "group.member_added" => group(When::GroupMembersAdded, true),
        "group.member_removed" => group(When::GroupMembersRemoved, true),
        "object.created" => object(app_id, t, When::DataObjectCreated),
        "object.updated" => object(app_id, t, When::DataObjectUpdated),
        "object.deleted" => object(app_id, t, When::DataObjectDeleted),
        // Renames, owner changes and bucket drops have no Kii trigger.
        _ => None,
    }
}

fn object(app_id: &str, target: &Value, when: When) -> Option<Trigger> {
    let bucket = target.get("bucket")?;
    let name = bucket.get("bucket")?.as_str()?.to_owned();
    let scope_key = bucket.get("scope")?.as_str()?;
    let object_id = target.get("objectID")?.as_str()?;
    let mut scope = Map::new();
    scope.insert("appID".into(), json!(app_id));
    let (kind, prefix) = if let Some(id) = scope_key.strip_prefix("user:") {
        scope.insert("userID".into(), json!(id));
        (BucketScope::User, format!("kiicloud://users/{id}/"))
    } else if let Some(id) = scope_key.strip_prefix("group:") {
        scope.insert("groupID".into(), json!(id));
        (BucketScope::Group, format!("kiicloud://groups/{id}/"))
    } else if let Some(id) = scope_key.strip_prefix("thing:") {
        scope.insert("thingID".into(), json!(id));
        (BucketScope::Thing, format!("kiicloud://things/{id}/"))
    } else {
        (BucketScope::App, "kiicloud://".to_owned())
    };
    Some(Trigger {
        when,
        params: json!({
            "objectScope": scope,
            "bucketID": name,
            "objectID": object_id,
            "uri": format!("{prefix}buckets/{name}/objects/{object_id}"),
        }),
        subject: Subject::Bucket {
            scope: kind,
            bucket: name,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, target: Value, actor: &str, by_hook: bool) -> Event {
        Event {
            seq: 7,
            txid: 0,
            kind: kind.into(),
            target,
            actor: actor.into(),
            from_server_code: by_hook,
            by_hook,
            created_at: 0,
        }
    }

    #[test]
    fn object_events_carry_kii_params_per_scope() {
        let e = event(
            "object.created",
            json!({"bucket": {"scope": "user:u1", "bucket": "photos"}, "objectID": "o1", "version": 1}),
            "user:u1",
            false,
        );
        let t = trigger_of("app1", &e).unwrap();
        assert_eq!(t.when, When::DataObjectCreated);
        assert_eq!(
            t.params,
            json!({"objectScope": {"appID": "app1", "userID": "u1"}, "bucketID": "photos",
                   "objectID": "o1", "uri": "kiicloud://users/u1/buckets/photos/objects/o1"})
        );
        assert!(t
            .subject
            .matches(&TriggerPath::UserBuckets("photos".into())));
        assert!(!t.subject.matches(&TriggerPath::AppBucket("photos".into())));
        assert!(!t.subject.matches(&TriggerPath::UserBuckets("other".into())));

        let app = event(
            "object.deleted",
            json!({"bucket": {"scope": "", "bucket": "scores"}, "objectID": "o2"}),
            "admin",
            false,
        );
        let t = trigger_of("app1", &app).unwrap();
        assert_eq!(t.params["uri"], "kiicloud://buckets/scores/objects/o2");
        assert_eq!(t.params["objectScope"], json!({"appID": "app1"}));
        assert!(t.subject.matches(&TriggerPath::AppBucket("scores".into())));
    }

    #[test]
    fn thing_events_fire_thing_triggers() {
        let e = event(
            "thing.created",
            json!({"thingID": "th.1"}),
            "anonymous",
            false,
        );
        let t = trigger_of("a", &e).unwrap();
        assert_eq!(t.when, When::ThingCreated);
        assert_eq!(
            t.params,
            json!({"thingID": "th.1", "uri": "kiicloud://things/th.1"})
        );
        assert!(t.subject.matches(&TriggerPath::Things));
        assert!(!t.subject.matches(&TriggerPath::Users));
        let e = event(
            "thing.owner_added",
            json!({"thingID": "th.1", "owner": "group:g1"}),
            "admin",
            false,
        );
        let t = trigger_of("a", &e).unwrap();
        assert_eq!(t.when, When::ThingGroupOwnerAdded);
        assert_eq!(t.params["groupID"], "g1");
        let e = event(
            "thing.owner_removed",
            json!({"thingID": "th.1", "owner": "user:u1"}),
            "admin",
            false,
        );
        assert_eq!(
            trigger_of("a", &e).unwrap().when,
            When::ThingUserOwnerRemoved
        );

        let e = event(
            "object.updated",
            json!({"bucket": {"scope": "thing:th.1", "bucket": "readings"}, "objectID": "o1"}),
            "thing:th.1",
            false,
        );
        let t = trigger_of("a", &e).unwrap();
        assert_eq!(
            t.params["uri"],
            "kiicloud://things/th.1/buckets/readings/objects/o1"
        );
        assert_eq!(
            t.params["objectScope"],
            json!({"appID": "a", "thingID": "th.1"})
        );
        assert!(t
            .subject
            .matches(&TriggerPath::ThingBuckets("readings".into())));
        assert!(!t
            .subject
            .matches(&TriggerPath::UserBuckets("readings".into())));
    }

    #[test]
    fn member_events_name_the_member() {
        let e = event(
            "group.member_added",
            json!({"groupID": "g1", "userID": "u2"}),
            "user:u1",
            false,
        );
        let t = trigger_of("a", &e).unwrap();
        assert_eq!(t.when, When::GroupMembersAdded);
        assert_eq!(t.params["members"], json!(["u2"]));
        assert_eq!(acting_user(&e.actor), Some("u1"));
        assert_eq!(acting_user("admin"), None);
    }

    #[test]
    fn hook_made_changes_and_unknown_kinds_fire_nothing() {
        let e = event("user.created", json!({"userID": "u"}), "admin", true);
        assert!(trigger_of("a", &e).is_none());
        let e = event("group.renamed", json!({"groupID": "g"}), "admin", false);
        assert!(trigger_of("a", &e).is_none());
    }
}
