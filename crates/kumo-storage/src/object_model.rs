use serde_json::{Map, Value};

/// Whose buckets: the app's, a user's, a group's or a thing's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    App,
    User(String),
    Group(String),
    Thing(String),
}

impl Scope {
    /// The stored form: `""`, `user:{id}`, `group:{id}`, `thing:{id}`.
    pub fn key(&self) -> String {
        match self {
            Scope::App => String::new(),
            Scope::User(id) => format!("user:{id}"),
            Scope::Group(id) => format!("group:{id}"),
            Scope::Thing(id) => format!("thing:{id}"),
        }
    }

    /// The scope a stored key names; `None` if it names none.
    pub fn from_key(key: &str) -> Option<Scope> {
        if key.is_empty() {
            Some(Scope::App)
        } else if let Some(id) = key.strip_prefix("user:") {
            Some(Scope::User(id.to_owned()))
        } else if let Some(id) = key.strip_prefix("group:") {
            Some(Scope::Group(id.to_owned()))
        } else {
            key.strip_prefix("thing:")
                .map(|id| Scope::Thing(id.to_owned()))
        }
    }
}

/// A bucket as its path names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketRef {
    pub app_id: String,
    pub scope: Scope,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub seq: i64,
    pub creator: Option<String>,
    /// The bucket ACL as JSON text (`kumo_types::acl::Acl`).
    pub acl: String,
    pub created_at: i64,
}

/// What a write needs to create the bucket if it does not exist yet.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBucket {
    pub creator: Option<String>,
    pub acl: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub id: String,
    /// Custom fields only; system fields are columns.
    pub data: Map<String, Value>,
    /// Bare type name (`score` of `application/vnd.{app}.score+json`).
    pub data_type: Option<String>,
    pub owner: Option<String>,
    /// Object ACL as JSON text.
    pub acl: String,
    pub version: i64,
    pub created_at: i64,
    pub modified_at: i64,
}

/// The precondition of a whole-object write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    None,
    /// `If-Match`: the stored version must be this one.
    Version(i64),
    /// `If-None-Match: *`: the object must not exist.
    Absent,
}

/// Who caused a change, recorded with its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `anonymous`, `admin` or `user:{id}`.
    pub principal: String,
    pub from_server_code: bool,
    /// The write was made by code a server hook ran (a trigger or a schedule): its events
    /// fire no hooks (Kii's loop prevention).
    pub by_hook: bool,
}

impl Actor {
    /// What the events table's `from_server_code` column holds: 0 a client, 1 server code run
    /// by hand, 2 server code run by a hook.
    pub fn origin(&self) -> i64 {
        match (self.from_server_code, self.by_hook) {
            (_, true) => 2,
            (true, false) => 1,
            (false, false) => 0,
        }
    }
}

/// One durable change event (the outbox trigger hooks consume).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub seq: i64,
    /// The writing transaction's ID on PostgreSQL (0 on SQLite): events are delivered in
    /// (transaction, seq) order, see [`EventCursor`].
    pub txid: i64,
    pub kind: String,
    pub target: Value,
    pub actor: String,
    pub from_server_code: bool,
    /// Made by hook-run code: fires no hooks.
    pub by_hook: bool,
    pub created_at: i64,
}

impl Event {
    /// The position just past this event.
    pub fn cursor(&self) -> EventCursor {
        EventCursor {
            txid: self.txid,
            seq: self.seq,
        }
    }
}

/// A position in an app's change events. Sequence numbers are drawn when a row is written but
/// become visible when its transaction commits, in any order: a reader that moved past seq 11
/// while seq 10's transaction was still open would never see 10. So on PostgreSQL events are
/// read only from transactions older than every open one (`txid < xmin` of the reader's
/// snapshot), ordered by (transaction, seq): nothing can ever appear behind such a position.
/// SQLite commits one transaction at a time, in seq order; its `txid` is always 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventCursor {
    pub txid: i64,
    pub seq: i64,
}

impl EventCursor {
    /// Before every event.
    pub const START: EventCursor = EventCursor { txid: 0, seq: 0 };
}

/// One query result with its position, for the next page's key.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub object: Object,
    /// Opaque position of this object in the query's order.
    pub cursor: String,
}

/// Where an ACL is stored: a scope's, a bucket's or an object's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AclHolder {
    /// `default` is the scope's ACL (JSON text) until it is first changed.
    Scope {
        app_id: String,
        scope: Scope,
        default: String,
    },
    Bucket(BucketRef),
    Object(BucketRef, String),
}

/// One grant or revoke of one action to one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclChange {
    pub action: kumo_types::acl::Action,
    pub subject: kumo_types::acl::Subject,
    pub grant: bool,
}
