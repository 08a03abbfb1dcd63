//! Things (Kii's "Thing Management" and "Thing Ownership"): registration, a thing's own token,
//! reading and changing a thing by `thingID` or `VENDOR_THING_ID:…`, enabling and disabling,
//! and its owners (users and groups).
//!
//! Who may do what (Kii's thing reference): anyone may register a thing; the admin, the thing
//! itself and its owners (a user owner, or a member of a group owner) may read and update it;
//! the admin and its owners may delete, enable and disable it; owners are added by the admin,
//! by the thing, by a user for itself or by a member for its group (with the thing's password
//! when it is given), and removed by the admin, the thing or an owner.

use kumo_storage::{App, Thing, ThingKey, ThingOwner, Token};
use kumo_types::{ids, now_ms, ApiError, ErrorCode};
use serde_json::{Map, Value};

use super::tokens::{TokenGrant, TOKEN_TYPE};
use super::{actor_of, Service};
use crate::caller::{Caller, Principal};
use crate::error::{group_not_found, thing_not_found, user_not_found, Error, Result};
use crate::secrets::new_token;

/// Fields a client may set that are stored with the thing, and the rule of each.
const IDENT_FIELDS: [&str; 5] = [
    "_thingType",
    "_vendor",
    "_firmwareVersion",
    "_productName",
    "_lot",
];
const STRING_FIELDS: [&str; 5] = [
    "_stringField1",
    "_stringField2",
    "_stringField3",
    "_stringField4",
    "_stringField5",
];
const NUMBER_FIELDS: [&str; 5] = [
    "_numberField1",
    "_numberField2",
    "_numberField3",
    "_numberField4",
    "_numberField5",
];
const LAYOUT_POSITIONS: [&str; 3] = ["STANDALONE", "GATEWAY", "ENDNODE"];

/// Kii's bound on a thing's custom fields (names and values together).
const MAX_CUSTOM_BYTES: usize = 63 * 1024;
/// Longest vendor thing ID Kii accepts.
const MAX_VENDOR_ID: usize = 200;
const MAX_PASSWORD: usize = 200;
const MAX_STRING_FIELD: usize = 1024;

fn id_chars(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

fn invalid(field: &str, message: impl Into<String>) -> Error {
    ApiError::invalid_field(field, message).into()
}

/// The vendor thing ID of a registration: 1-200 of `[a-zA-Z0-9-_.]`.
fn vendor_thing_id(body: &Map<String, Value>) -> Result<String> {
    match body.get("_vendorThingID") {
        Some(Value::String(s)) if (1..=MAX_VENDOR_ID).contains(&s.len()) && id_chars(s) => {
            Ok(s.clone())
        }
        None | Some(Value::Null) => Err(invalid("_vendorThingID", "_vendorThingID is required")),
        Some(_) => Err(invalid(
            "_vendorThingID",
            "_vendorThingID must be 1-200 characters of [a-zA-Z0-9-_.]",
        )),
    }
}

fn password(body: &Map<String, Value>) -> Result<String> {
    match body.get("_password") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_PASSWORD => Ok(s.clone()),
        None | Some(Value::Null) => Err(invalid("_password", "_password is required")),
        Some(_) => Err(invalid(
            "_password",
            "_password must be a non-empty string of at most 200 bytes",
        )),
    }
}

/// The storable fields of a registration or update body: the predefined ones checked, other
/// `_` fields ignored (as Kii does), custom fields kept within Kii's size bound.
pub fn thing_fields(body: &Map<String, Value>) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    let mut custom_bytes = 0usize;
    for (key, value) in body {
        if value.is_null() && key.starts_with('_') {
            continue;
        }
        let k = key.as_str();
        if IDENT_FIELDS.contains(&k) {
            match value {
                Value::String(s) if s.len() <= 100 && id_chars(s) => {}
                _ => {
                    return Err(invalid(
                        k,
                        format!("{k} must be at most 100 characters of [a-zA-Z0-9-_.]"),
                    ))
                }
            }
        } else if STRING_FIELDS.contains(&k) {
            match value {
                Value::String(s) if s.len() <= MAX_STRING_FIELD => {}
                _ => return Err(invalid(k, format!("{k} must be a string"))),
            }
        } else if NUMBER_FIELDS.contains(&k) {
            if value.as_i64().is_none() {
                return Err(invalid(k, format!("{k} must be an integer")));
            }
        } else if k == "_layoutPosition" {
            match value {
                Value::String(s) if LAYOUT_POSITIONS.contains(&s.as_str()) => {}
                _ => {
                    return Err(invalid(
                        k,
                        "_layoutPosition must be STANDALONE, GATEWAY or ENDNODE",
                    ))
                }
            }
        } else if k.starts_with('_') {
            // Reserved or unknown system fields are not stored.
            continue;
        } else {
            custom_bytes += k.len() + value.to_string().len();
            if custom_bytes > MAX_CUSTOM_BYTES {
                return Err(invalid(
                    k,
                    "A thing's custom fields may not exceed 63 KB in all",
                ));
            }
        }
        out.insert(key.clone(), value.clone());
    }
    Ok(out)
}

/// A thing as Kii answers with it: its fields and `_thingID`, `_vendorThingID`, `_created`,
/// `_disabled`.
pub fn thing_document(t: &Thing) -> Value {
    let mut doc = t.fields.clone();
    doc.insert("_thingID".into(), t.id.clone().into());
    doc.insert("_vendorThingID".into(), t.vendor_thing_id.clone().into());
    doc.insert("_created".into(), t.created_at.into());
    doc.insert("_disabled".into(), t.disabled.into());
    Value::Object(doc)
}

/// How a path names a thing: `VENDOR_THING_ID:{id}` or the thing ID.
pub fn thing_key(ident: &str) -> ThingKey {
    match ident.strip_prefix("VENDOR_THING_ID:") {
        Some(v) => ThingKey::Vendor(v.to_owned()),
        None => ThingKey::Id(ident.to_owned()),
    }
}

/// `user:{id}` or `group:{id}` of an ownership path.
pub fn parse_owner(s: &str) -> Result<ThingOwner> {
    match s.split_once(':') {
        Some(("user", id)) if !id.is_empty() => Ok(ThingOwner::User(id.to_owned())),
        Some(("group", id)) if !id.is_empty() => Ok(ThingOwner::Group(id.to_owned())),
        _ => Err(invalid(
            "owner",
            "An owner is named user:{userID} or group:{groupID}",
        )),
    }
}

impl Service {
    /// Registers a thing; with `with_token`, also issues the thing's token (Kii's
    /// `ThingRegistrationAndAuthorizationRequest`).
    pub async fn register_thing(
        &self,
        caller: &Caller,
        body: &Map<String, Value>,
        with_token: bool,
    ) -> Result<(Thing, Option<String>)> {
        let vendor = vendor_thing_id(body)?;
        let password = password(body)?;
        let fields = thing_fields(body)?;
        let now = now_ms();
        let thing = Thing {
            id: ids::thing_id(),
            vendor_thing_id: vendor,
            password_hash: self.passwords.hash(&password).await?,
            fields,
            disabled: false,
            created_at: now,
            modified_at: now,
        };
        let app_id = &caller.app.id;
        self.storage
            .create_thing(app_id, &thing, &actor_of(caller))
            .await
            .map_err(|e| {
                let e = Error::from(e);
                if e.0.code == ErrorCode::ThingAlreadyExists {
                    Error(
                        ApiError::new(
                            ErrorCode::ThingAlreadyExists,
                            "A thing with this vendor thing ID already exists",
                        )
                        .with("field", "vendorThingID")
                        .with("value", thing.vendor_thing_id.as_str())
                        .with("appID", app_id.as_str()),
                    )
                } else {
                    e
                }
            })?;
        let token = match with_token {
            true => Some(self.thing_token(&caller.app, &thing.id, None).await?),
            false => None,
        };
        Ok((thing, token))
    }

    async fn thing_token(
        &self,
        app: &App,
        thing_id: &str,
        expires_at: Option<i64>,
    ) -> Result<String> {
        let (secret, hash) = new_token();
        self.storage
            .insert_token(&Token {
                hash,
                app_id: app.id.clone(),
                user_id: None,
                thing_id: Some(thing_id.to_owned()),
                expires_at,
                created_at: now_ms(),
            })
            .await?;
        Ok(secret)
    }

    /// `/oauth2/token` with `username: VENDOR_THING_ID:{id}`: the thing's own token.
    pub(super) async fn thing_login(
        &self,
        app: &App,
        vendor: &str,
        password: &str,
        expires_at: Option<i64>,
    ) -> Result<TokenGrant> {
        let found = self
            .storage
            .get_thing(&app.id, &ThingKey::Vendor(vendor.to_owned()))
            .await?;
        let hash = found.as_ref().map(|t| t.password_hash.as_str());
        let ok = self.passwords.verify(password, hash).await?;
        let thing = found.filter(|_| ok).ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidGrant,
                "The thing was not found or a wrong password was provided",
            )
        })?;
        if thing.disabled {
            return Err(Error::new(ErrorCode::InvalidGrant, "The thing is disabled"));
        }
        let token = self.thing_token(app, &thing.id, expires_at).await?;
        let now = now_ms();
        Ok(TokenGrant {
            id: Some(thing.id),
            access_token: token,
            expires_in: expires_at.map_or(super::tokens::NEVER_EXPIRES_IN, |t| {
                ((t - now) / 1000).max(0)
            }),
            token_type: TOKEN_TYPE,
            refresh_token: None,
        })
    }

    /// The thing `ident` names, or `THING_NOT_FOUND` naming how it was looked up.
    async fn load_thing(&self, caller: &Caller, ident: &str) -> Result<Thing> {
        let key = thing_key(ident);
        let app = &caller.app.id;
        self.storage
            .get_thing(app, &key)
            .await?
            .ok_or_else(|| match &key {
                ThingKey::Id(id) => thing_not_found(app, "thingID", id),
                ThingKey::Vendor(v) => thing_not_found(app, "vendorThingID", v),
            })
    }

    /// Whether `caller` owns `thing`: a user owner, or a member of a group owner.
    async fn owns(&self, caller: &Caller, thing: &Thing) -> Result<bool> {
        let Some(user) = caller.user_id() else {
            return Ok(false);
        };
        let owners = self.storage.thing_owners(&caller.app.id, &thing.id).await?;
        if owners
            .iter()
            .any(|o| matches!(o, ThingOwner::User(u) if u == user))
        {
            return Ok(true);
        }
        if !owners.iter().any(|o| matches!(o, ThingOwner::Group(_))) {
            return Ok(false);
        }
        let groups = self
            .storage
            .groups_with_member(&caller.app.id, user)
            .await?;
        Ok(owners.iter().any(|o| match o {
            ThingOwner::Group(g) => groups.iter().any(|x| x.id == *g),
            ThingOwner::User(_) => false,
        }))
    }

    /// The admin, the thing itself or an owner; else 401 for anonymous callers, 403 for others.
    async fn require_thing_access(
        &self,
        caller: &Caller,
        thing: &Thing,
        thing_itself: bool,
    ) -> Result<()> {
        let allowed = match &caller.principal {
            Principal::Admin => true,
            Principal::Thing(id) => thing_itself && *id == thing.id,
            Principal::User(_) => self.owns(caller, thing).await?,
            Principal::Anonymous => false,
        };
        if allowed {
            return Ok(());
        }
        let message = "Only the app admin, the thing or its owners may do this";
        Err(match caller.principal {
            Principal::Anonymous => caller.unauthorized(message),
            _ => Error::new(ErrorCode::AccessDenied, message),
        })
    }

    pub async fn get_thing(&self, caller: &Caller, ident: &str) -> Result<Thing> {
        let thing = self.load_thing(caller, ident).await?;
        self.require_thing_access(caller, &thing, true).await?;
        Ok(thing)
    }

    /// Kii's `ThingUpdateRequest`: the fields given replace the stored ones of the same name;
    /// `_vendorThingID` and `_password` cannot be changed this way.
    pub async fn update_thing(
        &self,
        caller: &Caller,
        ident: &str,
        body: &Map<String, Value>,
    ) -> Result<()> {
        let fields = thing_fields(body)?;
        let thing = self.load_thing(caller, ident).await?;
        self.require_thing_access(caller, &thing, true).await?;
        let mut merged = thing.fields.clone();
        merged.extend(fields);
        self.storage
            .update_thing(
                &caller.app.id,
                &thing.id,
                &merged,
                now_ms(),
                &actor_of(caller),
            )
            .await?;
        Ok(())
    }

    /// Kii's `ChangeThingPasswordRequest`: the admin only. The thing's tokens stay valid.
    pub async fn set_thing_password(
        &self,
        caller: &Caller,
        ident: &str,
        body: &Map<String, Value>,
    ) -> Result<()> {
        let new = match body.get("newPassword") {
            Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_PASSWORD => s.clone(),
            _ => {
                return Err(invalid(
                    "newPassword",
                    "newPassword must be a non-empty string of at most 200 bytes",
                ))
            }
        };
        let thing = self.load_thing(caller, ident).await?;
        if !caller.is_admin() {
            let message = "Only the app admin may change a thing's password";
            return Err(match caller.principal {
                Principal::Anonymous => caller.unauthorized(message),
                _ => Error::new(ErrorCode::AccessDenied, message),
            });
        }
        let hash = self.passwords.hash(&new).await?;
        self.storage
            .set_thing_password(
                &caller.app.id,
                &thing.id,
                &hash,
                now_ms(),
                &actor_of(caller),
            )
            .await?;
        Ok(())
    }

    pub async fn delete_thing(&self, caller: &Caller, ident: &str) -> Result<()> {
        let thing = self.load_thing(caller, ident).await?;
        self.require_thing_access(caller, &thing, false).await?;
        self.storage
            .delete_thing(&caller.app.id, &thing.id, &actor_of(caller))
            .await?;
        Ok(())
    }

    pub async fn thing_disabled(&self, caller: &Caller, ident: &str) -> Result<bool> {
        Ok(self.get_thing(caller, ident).await?.disabled)
    }

    pub async fn set_thing_disabled(
        &self,
        caller: &Caller,
        ident: &str,
        disabled: bool,
    ) -> Result<()> {
        let thing = self.load_thing(caller, ident).await?;
        self.require_thing_access(caller, &thing, false).await?;
        self.storage
            .set_thing_disabled(
                &caller.app.id,
                &thing.id,
                disabled,
                now_ms(),
                &actor_of(caller),
            )
            .await?;
        Ok(())
    }

    /// Adds an owner. `password` is the thing's password when the request gave one (Kii's
    /// `ThingOwnershipRequest`): a wrong one is refused whoever asks.
    pub async fn add_thing_owner(
        &self,
        caller: &Caller,
        ident: &str,
        owner: &ThingOwner,
        password: Option<&str>,
    ) -> Result<()> {
        let thing = self.load_thing(caller, ident).await?;
        let app = &caller.app.id;
        if let Some(p) = password {
            if !self.passwords.verify(p, Some(&thing.password_hash)).await? {
                return Err(Error::new(
                    ErrorCode::Unauthorized,
                    "The thing password is wrong",
                ));
            }
        }
        let allowed = match (&caller.principal, owner) {
            (Principal::Admin, _) => true,
            (Principal::Thing(id), _) => *id == thing.id,
            (Principal::User(me), ThingOwner::User(u)) => me == u,
            (Principal::User(me), ThingOwner::Group(g)) => self
                .storage
                .groups_with_member(app, me)
                .await?
                .iter()
                .any(|x| x.id == *g),
            (Principal::Anonymous, _) => false,
        };
        if !allowed {
            let message = "Only the app admin, the thing, a user for itself or a member for its group may add an owner";
            return Err(match caller.principal {
                Principal::Anonymous => caller.unauthorized(message),
                _ => Error::new(ErrorCode::AccessDenied, message),
            });
        }
        let added = self
            .storage
            .add_thing_owner(app, &thing.id, owner, &actor_of(caller))
            .await
            .map_err(|e| match (Error::from(e), owner) {
                (e, ThingOwner::User(u)) if e.0.code == ErrorCode::UserNotFound => {
                    user_not_found(app, "userID", u)
                }
                (e, ThingOwner::Group(g)) if e.0.code == ErrorCode::GroupNotFound => {
                    group_not_found(app, g)
                }
                (e, _) => e,
            })?;
        if !added {
            let mut e = ApiError::new(
                ErrorCode::ThingOwnershipAlreadyExists,
                "This owner already owns the thing",
            )
            .with("appID", app.as_str())
            .with("thingID", thing.id.as_str());
            e = match owner {
                ThingOwner::User(u) => e.with("userID", u.as_str()),
                ThingOwner::Group(g) => e.with("groupID", g.as_str()),
            };
            return Err(Error(e));
        }
        Ok(())
    }

    pub async fn remove_thing_owner(
        &self,
        caller: &Caller,
        ident: &str,
        owner: &ThingOwner,
    ) -> Result<()> {
        let thing = self.load_thing(caller, ident).await?;
        self.require_thing_access(caller, &thing, true).await?;
        let removed = self
            .storage
            .remove_thing_owner(&caller.app.id, &thing.id, owner, &actor_of(caller))
            .await?;
        if !removed {
            return Err(ownership_not_found(&caller.app.id, &thing.id));
        }
        Ok(())
    }

    /// Whether `owner` owns the thing directly (`HEAD` on its ownership).
    pub async fn is_thing_owner(
        &self,
        caller: &Caller,
        ident: &str,
        owner: &ThingOwner,
    ) -> Result<()> {
        let thing = self.load_thing(caller, ident).await?;
        self.require_thing_access(caller, &thing, true).await?;
        let owners = self.storage.thing_owners(&caller.app.id, &thing.id).await?;
        if owners.contains(owner) {
            Ok(())
        } else {
            Err(ownership_not_found(&caller.app.id, &thing.id))
        }
    }

    pub async fn list_thing_owners(&self, caller: &Caller, ident: &str) -> Result<Vec<ThingOwner>> {
        let thing = self.load_thing(caller, ident).await?;
        self.require_thing_access(caller, &thing, true).await?;
        Ok(self.storage.thing_owners(&caller.app.id, &thing.id).await?)
    }
}

/// What a `ThingQueryRequest` asks for: the things owned by these owners, of this type.
struct ThingQuery {
    owners: Vec<ThingOwner>,
    thing_type: Option<String>,
}

/// The most owners one query may name.
const MAX_QUERY_OWNERS: usize = 20;

fn unsupported(message: &str) -> Error {
    Error::new(ErrorCode::QueryNotSupported, message)
}

/// Kii's thing query clause: `contains` on `userOwners` / `groupOwners`, an `or` of those, and
/// optionally `and` with `eq` on `_thingType` (what the SDK's `KiiThingQuery` sends).
fn thing_query(clause: &Value) -> Result<ThingQuery> {
    let kind = |c: &Value| {
        c.get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let owner = |c: &Value| -> Result<ThingOwner> {
        let value = c
            .get("value")
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty());
        match (
            kind(c).as_str(),
            c.get("field").and_then(Value::as_str),
            value,
        ) {
            ("contains", Some("userOwners"), Some(v)) => Ok(ThingOwner::User(v.to_owned())),
            ("contains", Some("groupOwners"), Some(v)) => Ok(ThingOwner::Group(v.to_owned())),
            _ => Err(unsupported(
                "A thing query names owners with contains on userOwners or groupOwners",
            )),
        }
    };
    let owners = |c: &Value| -> Result<Vec<ThingOwner>> {
        if kind(c) != "or" {
            return Ok(vec![owner(c)?]);
        }
        let list = c
            .get("clauses")
            .and_then(Value::as_array)
            .ok_or_else(|| unsupported("An or clause needs clauses"))?;
        if list.is_empty() || list.len() > MAX_QUERY_OWNERS {
            return Err(unsupported("A thing query names 1 to 20 owners"));
        }
        list.iter().map(owner).collect()
    };
    if kind(clause) != "and" {
        return Ok(ThingQuery {
            owners: owners(clause)?,
            thing_type: None,
        });
    }
    let list = clause
        .get("clauses")
        .and_then(Value::as_array)
        .filter(|l| l.len() == 2)
        .ok_or_else(|| unsupported("An and clause of a thing query has two clauses"))?;
    let is_type =
        |c: &Value| kind(c) == "eq" && c.get("field").and_then(Value::as_str) == Some("_thingType");
    let (t, o) = match (is_type(&list[0]), is_type(&list[1])) {
        (true, false) => (&list[0], &list[1]),
        (false, true) => (&list[1], &list[0]),
        _ => {
            return Err(unsupported(
                "An and clause of a thing query is _thingType and the owners",
            ))
        }
    };
    let thing_type = t
        .get("value")
        .and_then(Value::as_str)
        .ok_or_else(|| unsupported("_thingType is compared with a string"))?;
    Ok(ThingQuery {
        owners: owners(o)?,
        thing_type: Some(thing_type.to_owned()),
    })
}

/// One page of a thing query.
pub struct ThingPage {
    pub things: Vec<Thing>,
    pub next: Option<String>,
}

impl Service {
    /// `POST /things/query`: things owned by the caller or by groups it belongs to (the admin:
    /// by anyone). `bestEffortLimit` 1-200 (default 100); `paginationKey` from the last page.
    pub async fn query_things(
        &self,
        caller: &Caller,
        body: &Map<String, Value>,
    ) -> Result<ThingPage> {
        let clause = body
            .get("thingQuery")
            .and_then(|q| q.get("clause"))
            .ok_or_else(|| invalid("thingQuery", "thingQuery.clause is required"))?;
        let query = thing_query(clause)?;
        let limit = match body.get("bestEffortLimit") {
            None | Some(Value::Null) => 100,
            Some(v) => v
                .as_i64()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    invalid(
                        "bestEffortLimit",
                        "bestEffortLimit must be a positive integer",
                    )
                })?
                .min(200),
        };
        let after = match body.get("paginationKey") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.len() <= 256 => Some(s.as_str()),
            Some(_) => return Err(invalid("paginationKey", "paginationKey must be a string")),
        };
        let app = &caller.app.id;
        match &caller.principal {
            Principal::Admin => {}
            Principal::User(me) => {
                let mut groups = None;
                for o in &query.owners {
                    let allowed = match o {
                        ThingOwner::User(u) => u == me,
                        ThingOwner::Group(g) => {
                            if groups.is_none() {
                                groups = Some(self.storage.groups_with_member(app, me).await?);
                            }
                            groups
                                .as_ref()
                                .is_some_and(|gs| gs.iter().any(|x| x.id == *g))
                        }
                    };
                    if !allowed {
                        return Err(caller.unauthorized(
                            "A thing query may name only the caller and groups it belongs to",
                        ));
                    }
                }
            }
            Principal::Thing(_) | Principal::Anonymous => {
                return Err(caller.unauthorized("Only users and the app admin query things"));
            }
        }
        let scanned = self
            .storage
            .things_owned_by(app, &query.owners, after, limit + 1)
            .await?;
        let next = (scanned.len() as i64 > limit).then(|| scanned[limit as usize - 1].id.clone());
        let things = scanned
            .into_iter()
            .take(limit as usize)
            .filter(|t| {
                query.thing_type.as_deref().is_none_or(|want| {
                    t.fields.get("_thingType").and_then(Value::as_str) == Some(want)
                })
            })
            .collect();
        Ok(ThingPage { things, next })
    }
}

fn ownership_not_found(app_id: &str, thing_id: &str) -> Error {
    Error(
        ApiError::new(
            ErrorCode::ThingOwnershipNotFound,
            "The owner does not own the thing",
        )
        .with("appID", app_id)
        .with("thingID", thing_id),
    )
}
