//! Trigger paths (spec §6.2.1) and the trigger names that fit each (§6.2.2).

use super::{TriggerPath, When};

/// What a trigger path listens to; decides which `when`s fit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Users,
    Groups,
    Things,
    Installations,
    Bucket,
}

/// Every trigger Kumo accepts, with its wire name and the kind of path it fits.
const WHENS: &[(When, &str, Kind)] = &[
    (When::DataObjectCreated, "DATA_OBJECT_CREATED", Kind::Bucket),
    (When::DataObjectUpdated, "DATA_OBJECT_UPDATED", Kind::Bucket),
    (When::DataObjectDeleted, "DATA_OBJECT_DELETED", Kind::Bucket),
    (
        When::DataObjectBodyUpdated,
        "DATA_OBJECT_BODY_UPDATED",
        Kind::Bucket,
    ),
    (
        When::DataObjectBodyDeleted,
        "DATA_OBJECT_BODY_DELETED",
        Kind::Bucket,
    ),
    (
        When::DataObjectBodyPublished,
        "DATA_OBJECT_BODY_PUBLISHED",
        Kind::Bucket,
    ),
    (When::UserCreated, "USER_CREATED", Kind::Users),
    (When::UserEmailVerified, "USER_EMAIL_VERIFIED", Kind::Users),
    (When::UserPhoneVerified, "USER_PHONE_VERIFIED", Kind::Users),
    (
        When::UserPasswordResetCompleted,
        "USER_PASSWORD_RESET_COMPLETED",
        Kind::Users,
    ),
    (
        When::UserPasswordChanged,
        "USER_PASSWORD_CHANGED",
        Kind::Users,
    ),
    (When::UserDeleted, "USER_DELETED", Kind::Users),
    (When::UserUpdated, "USER_UPDATED", Kind::Users),
    (When::GroupCreated, "GROUP_CREATED", Kind::Groups),
    (When::GroupDeleted, "GROUP_DELETED", Kind::Groups),
    (When::GroupMembersAdded, "GROUP_MEMBERS_ADDED", Kind::Groups),
    (
        When::GroupMembersRemoved,
        "GROUP_MEMBERS_REMOVED",
        Kind::Groups,
    ),
    (
        When::InstallationCreated,
        "INSTALLATION_CREATED",
        Kind::Installations,
    ),
    (
        When::InstallationDeleted,
        "INSTALLATION_DELETED",
        Kind::Installations,
    ),
    (When::ThingCreated, "THING_CREATED", Kind::Things),
    (When::ThingDeleted, "THING_DELETED", Kind::Things),
    (When::ThingEnabled, "THING_ENABLED", Kind::Things),
    (When::ThingDisabled, "THING_DISABLED", Kind::Things),
    (
        When::ThingFieldsUpdated,
        "THING_FIELDS_UPDATED",
        Kind::Things,
    ),
    (
        When::ThingUserOwnerAdded,
        "THING_USER_OWNER_ADDED",
        Kind::Things,
    ),
    (
        When::ThingGroupOwnerAdded,
        "THING_GROUP_OWNER_ADDED",
        Kind::Things,
    ),
    (
        When::ThingUserOwnerRemoved,
        "THING_USER_OWNER_REMOVED",
        Kind::Things,
    ),
    (
        When::ThingGroupOwnerRemoved,
        "THING_GROUP_OWNER_REMOVED",
        Kind::Things,
    ),
];

impl TriggerPath {
    /// The path as a config names it, e.g. `kiicloud://users/*/buckets/notes`.
    pub fn uri(&self) -> String {
        match self {
            TriggerPath::Users => "kiicloud://users".to_owned(),
            TriggerPath::Groups => "kiicloud://groups".to_owned(),
            TriggerPath::Things => "kiicloud://things".to_owned(),
            TriggerPath::Installations => "kiicloud://installations".to_owned(),
            TriggerPath::AppBucket(b) => format!("kiicloud://buckets/{b}"),
            TriggerPath::UserBuckets(b) => format!("kiicloud://users/*/buckets/{b}"),
            TriggerPath::GroupBuckets(b) => format!("kiicloud://groups/*/buckets/{b}"),
            TriggerPath::ThingBuckets(b) => format!("kiicloud://things/*/buckets/{b}"),
        }
    }
}

impl When {
    /// The wire name, e.g. `DATA_OBJECT_CREATED`.
    pub fn as_str(self) -> &'static str {
        WHENS
            .iter()
            .find(|(w, _, _)| *w == self)
            .map(|(_, name, _)| *name)
            .unwrap_or("")
    }

    pub(super) fn parse(name: &str) -> Option<(When, Kind)> {
        WHENS
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(w, _, k)| (*w, *k))
    }
}

/// The triggers that fit a kind of path, comma-separated (for error messages).
pub(super) fn whens_of(kind: Kind) -> String {
    let names: Vec<&str> = WHENS
        .iter()
        .filter(|(_, _, k)| *k == kind)
        .map(|(_, n, _)| *n)
        .collect();
    names.join(", ")
}

impl Kind {
    pub(super) fn of(path: &TriggerPath) -> Kind {
        match path {
            TriggerPath::Users => Kind::Users,
            TriggerPath::Groups => Kind::Groups,
            TriggerPath::Things => Kind::Things,
            TriggerPath::Installations => Kind::Installations,
            TriggerPath::AppBucket(_)
            | TriggerPath::UserBuckets(_)
            | TriggerPath::GroupBuckets(_)
            | TriggerPath::ThingBuckets(_) => Kind::Bucket,
        }
    }

    pub(super) fn noun(self) -> &'static str {
        match self {
            Kind::Users => "user",
            Kind::Groups => "group",
            Kind::Things => "thing",
            Kind::Installations => "installation",
            Kind::Bucket => "bucket",
        }
    }
}

/// Where hooks may listen, for error messages.
pub(super) const KNOWN_PATHS: &str = "kiicloud://users, kiicloud://groups, kiicloud://things, \
     kiicloud://installations, kiicloud://buckets/{bucket}, kiicloud://users/*/buckets/{bucket}, \
     kiicloud://groups/*/buckets/{bucket}, kiicloud://things/*/buckets/{bucket} and \
     kiicloud://scheduler";

/// Reads a trigger path. `Err(None)`: not a path form Kumo knows; `Err(Some(why))`: the form
/// is known but its bucket name is not valid.
pub(super) fn parse_path(key: &str) -> Result<TriggerPath, Option<String>> {
    let rest = key.strip_prefix("kiicloud://").ok_or(None)?;
    let bucket = |name: &str, make: fn(String) -> TriggerPath| {
        kumo_types::validate::bucket_name(name)
            .map(|()| make(name.to_owned()))
            .map_err(|e| Some(e.message))
    };
    match rest {
        "users" => Ok(TriggerPath::Users),
        "groups" => Ok(TriggerPath::Groups),
        "things" => Ok(TriggerPath::Things),
        "installations" => Ok(TriggerPath::Installations),
        _ => {
            if let Some(b) = rest.strip_prefix("buckets/") {
                bucket(b, TriggerPath::AppBucket)
            } else if let Some(b) = rest.strip_prefix("users/*/buckets/") {
                bucket(b, TriggerPath::UserBuckets)
            } else if let Some(b) = rest.strip_prefix("groups/*/buckets/") {
                bucket(b, TriggerPath::GroupBuckets)
            } else if let Some(b) = rest.strip_prefix("things/*/buckets/") {
                bucket(b, TriggerPath::ThingBuckets)
            } else {
                Err(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_when_round_trips_through_its_name() {
        for (when, name, kind) in WHENS {
            assert_eq!(when.as_str(), *name);
            assert_eq!(When::parse(name), Some((*when, *kind)));
        }
        assert_eq!(When::parse("data_object_created"), None);
    }

    #[test]
    fn every_path_round_trips_through_its_uri() {
        for uri in [
            "kiicloud://users",
            "kiicloud://groups",
            "kiicloud://things",
            "kiicloud://installations",
            "kiicloud://buckets/notes",
            "kiicloud://users/*/buckets/CRYPTO:diary",
            "kiicloud://groups/*/buckets/shared",
            "kiicloud://things/*/buckets/readings",
        ] {
            assert_eq!(parse_path(uri).unwrap().uri(), uri);
        }
    }

    #[test]
    fn paths() {
        assert_eq!(parse_path("kiicloud://users"), Ok(TriggerPath::Users));
        assert_eq!(
            parse_path("kiicloud://installations"),
            Ok(TriggerPath::Installations)
        );
        assert_eq!(
            parse_path("kiicloud://buckets/high-Score_1"),
            Ok(TriggerPath::AppBucket("high-Score_1".into()))
        );
        assert_eq!(
            parse_path("kiicloud://groups/*/buckets/chat"),
            Ok(TriggerPath::GroupBuckets("chat".into()))
        );
        assert_eq!(
            parse_path("kiicloud://things/*/buckets/readings"),
            Ok(TriggerPath::ThingBuckets("readings".into()))
        );
        for unknown in [
            "kiicloud://user",
            "kiicloud://users/",
            "kiicloud://users/abc/buckets/x1",
            "kiicloud://buckets",
            "http://users",
            "kiicloud://scheduler/x",
        ] {
            assert_eq!(parse_path(unknown), Err(None), "{unknown}");
        }
        for bad_bucket in ["kiicloud://buckets/x", "kiicloud://users/*/buckets/a b"] {
            assert!(
                matches!(parse_path(bad_bucket), Err(Some(_))),
                "{bad_bucket}"
            );
        }
    }
}
