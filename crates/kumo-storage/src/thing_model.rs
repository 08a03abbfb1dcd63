use serde_json::{Map, Value};

/// A thing (a device) of one app. Its password is kept as an argon2 hash only.
#[derive(Debug, Clone, PartialEq)]
pub struct Thing {
    /// `th.` and a random part, made by the server.
    pub id: String,
    /// The vendor's own ID, unique per app.
    pub vendor_thing_id: String,
    pub password_hash: String,
    /// The predefined (`_thingType`, `_stringField1`, …) and free fields, as the client set
    /// them; never `_thingID`, `_vendorThingID`, `_password`, `_created`, `_disabled`.
    pub fields: Map<String, Value>,
    pub disabled: bool,
    pub created_at: i64,
    pub modified_at: i64,
}

/// How a request names a thing: by its ID or by its vendor thing ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThingKey {
    Id(String),
    Vendor(String),
}

/// An owner of a thing: a user, or a group (whose members then own it too).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ThingOwner {
    User(String),
    Group(String),
}

impl ThingOwner {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            ThingOwner::User(_) => "user",
            ThingOwner::Group(_) => "group",
        }
    }

    pub(crate) fn id(&self) -> &str {
        match self {
            ThingOwner::User(id) | ThingOwner::Group(id) => id,
        }
    }
}
