//! Buckets, objects, queries and ACLs: the checks of kii-acl-defaults and the Kii wire shapes.

use kumo_storage::{AclChange, AclHolder, BucketRef, NewBucket, Object, Precondition, Scope};
use kumo_types::acl::{Acl, Action, Level, Subject};
use kumo_types::query::BucketQuery;
use kumo_types::{now_ms, validate, ApiError, ErrorCode};
use serde_json::{json, Map, Value};

use super::access::{denied, parse_acl, Identity, ScopeInfo};
use super::{actor_of, Service};
use crate::caller::Caller;
use crate::error::{group_not_found, thing_not_found, user_not_found, Error, Result};

/// Page size when the client gives no `bestEffortLimit`, and the most one page returns.
pub const MAX_PAGE: i64 = 200;
/// How many objects a query examines per request when ACLs hide some, before it returns a
/// shorter page (with a key to go on): `bestEffortLimit` is a best effort.
const MAX_SCAN: usize = 2000;

/// A bucket as a request names it, validated.
#[derive(Debug, Clone)]
pub struct BucketPath {
    pub scope: Scope,
    pub name: String,
}

/// Whose ACL a request addresses.
#[derive(Debug, Clone)]
pub enum AclTarget {
    Scope(Scope),
    Bucket(BucketPath),
    Object(BucketPath, String),
}

impl AclTarget {
    fn level(&self) -> Level {
        match self {
            AclTarget::Scope(_) => Level::Scope,
            AclTarget::Bucket(_) => Level::Bucket,
            AclTarget::Object(..) => Level::Object,
        }
    }
}

/// What a write of object fields carries besides them.
pub struct ObjectWrite {
    pub data: Map<String, Value>,
    /// From `Content-Type: application/vnd.{appID}.{type}+json`.
    pub data_type: Option<String>,
}

/// The fields of an object body: `_`-prefixed keys are system fields (the SDK echoes some
/// back) and are dropped; `errorCode` is refused, since a 2xx body carrying it reads as an
/// error to the SDK.
pub fn object_fields(body: Map<String, Value>) -> Result<Map<String, Value>> {
    if body.contains_key("errorCode") {
        return Err(ApiError::invalid_field(
            "errorCode",
            "errorCode is reserved and cannot be a field",
        )
        .into());
    }
    Ok(body
        .into_iter()
        .filter(|(k, _)| !k.starts_with('_') && !k.is_empty())
        .collect())
}

/// The object document: custom fields plus the system fields, `_version` as a string.
pub fn object_document(o: &Object) -> Value {
    let mut doc = o.data.clone();
    doc.insert("_id".into(), o.id.clone().into());
    doc.insert("_created".into(), o.created_at.into());
    doc.insert("_modified".into(), o.modified_at.into());
    if let Some(owner) = &o.owner {
        doc.insert("_owner".into(), owner.clone().into());
    }
    doc.insert("_version".into(), o.version.to_string().into());
    if let Some(t) = &o.data_type {
        doc.insert("_dataType".into(), t.clone().into());
    }
    Value::Object(doc)
}

/// `If-Match` as a version: quotes and a `W/` prefix removed; `*` means any.
pub fn parse_if_match(v: &str) -> Result<Option<i64>> {
    let v = v.trim();
    let v = v.strip_prefix("W/").unwrap_or(v).trim_matches('"');
    if v == "*" {
        return Ok(None);
    }
    v.parse::<i64>().map(Some).map_err(|_| {
        Error::new(
            ErrorCode::ObjectVersionIsStale,
            "If-Match does not name a version of this object",
        )
    })
}

/// The answer to a query request.
pub enum QueryAnswer {
    Page {
        results: Vec<Value>,
        next: Option<String>,
    },
    Count {
        into: String,
        count: i64,
    },
}

impl Service {
    /// Checks that the scope exists and loads what ACL decisions need.
    pub async fn resolve_scope(&self, caller: &Caller, scope: &Scope) -> Result<ScopeInfo> {
        let app = &caller.app.id;
        let group = match scope {
            Scope::App => None,
            Scope::User(id) => {
                if self.storage.get_user(app, id).await?.is_none() {
                    return Err(user_not_found(app, "userID", id));
                }
                None
            }
            Scope::Group(id) => Some(
                self.storage
                    .get_group(app, id)
                    .await?
                    .ok_or_else(|| group_not_found(app, id))?,
            ),
            Scope::Thing(id) => {
                let key = kumo_storage::ThingKey::Id(id.clone());
                if self.storage.get_thing(app, &key).await?.is_none() {
                    return Err(thing_not_found(app, "thingID", id));
                }
                let owners = self.storage.thing_owners(app, id).await?;
                return Ok(ScopeInfo {
                    scope: scope.clone(),
                    group: None,
                    thing_owners: owners,
                });
            }
        };
        Ok(ScopeInfo {
            scope: scope.clone(),
            group,
            thing_owners: Vec::new(),
        })
    }

    pub(super) fn bucket_ref(caller: &Caller, path: &BucketPath) -> Result<BucketRef> {
        validate::bucket_name(&path.name)?;
        Ok(BucketRef {
            app_id: caller.app.id.clone(),
            scope: path.scope.clone(),
            name: path.name.clone(),
        })
    }

    async fn scope_acl(&self, caller: &Caller, info: &ScopeInfo) -> Result<Acl> {
        match self
            .storage
            .get_scope_acl(&caller.app.id, &info.scope)
            .await?
        {
            Some(text) => parse_acl(&text),
            None => Ok(info.default_scope_acl()),
        }
    }

    /// A bucket by path, cached for the token-cache time (see `cache.rs`). A bucket that does
    /// not exist is not cached: its first object creates it.
    async fn bucket(&self, bucket: &BucketRef) -> Result<Option<kumo_storage::Bucket>> {
        if let Some(b) = self.cache.bucket(bucket) {
            return Ok(Some(b));
        }
        let seen = self.cache.generation();
        let found = self.storage.get_bucket(bucket).await?;
        if let Some(b) = &found {
            self.cache.put_bucket(bucket, b, seen);
        }
        Ok(found)
    }

    /// The ACL of an existing bucket, or of the bucket as it would be created.
    async fn bucket_acl(
        &self,
        caller: &Caller,
        info: &ScopeInfo,
        bucket: &BucketRef,
    ) -> Result<(Option<i64>, Acl)> {
        Ok(match self.bucket(bucket).await? {
            Some(b) => (Some(b.seq), parse_acl(&b.acl)?),
            None => (None, info.default_bucket_acl(caller.subject())),
        })
    }

    /// May the caller put a new object into this bucket (creating the bucket if needed)?
    async fn check_create(
        &self,
        id: &mut Identity<'_>,
        info: &ScopeInfo,
        bucket: &BucketRef,
    ) -> Result<NewBucket> {
        let caller = id.caller().clone();
        match self.bucket(bucket).await? {
            Some(b) => {
                id.require(self, &parse_acl(&b.acl)?, Action::CreateObjectsInBucket)
                    .await?
            }
            None => {
                id.require(
                    self,
                    &self.scope_acl(&caller, info).await?,
                    Action::CreateNewBucket,
                )
                .await?
            }
        }
        Ok(NewBucket {
            creator: caller.user_id().map(str::to_owned),
            acl: info.default_bucket_acl(caller.subject()).to_json(),
        })
    }

    fn new_object(caller: &Caller, info: &ScopeInfo, id: String, write: ObjectWrite) -> Object {
        let now = now_ms();
        Object {
            id,
            data: write.data,
            data_type: write.data_type,
            owner: caller.user_id().map(str::to_owned),
            acl: info.default_object_acl(caller.subject()).to_json(),
            version: 1,
            created_at: now,
            modified_at: now,
        }
    }

    /// `POST …/objects`: a new object with a server-chosen ID.
    pub async fn create_object(
        &self,
        caller: &Caller,
        path: &BucketPath,
        write: ObjectWrite,
    ) -> Result<Object> {
        let bucket = Self::bucket_ref(caller, path)?;
        let info = self.resolve_scope(caller, &path.scope).await?;
        let mut id = Identity::new(caller);
        let new_bucket = self.check_create(&mut id, &info, &bucket).await?;
        let object = Self::new_object(caller, &info, kumo_types::ids::object_id(), write);
        self.storage
            .create_object(&bucket, &new_bucket, &object, &actor_of(caller))
            .await?;
        Ok(object)
    }

    /// Loads an object the caller may see (bucket READ or object READ).
    pub async fn get_object(
        &self,
        caller: &Caller,
        path: &BucketPath,
        object_id: &str,
    ) -> Result<Object> {
        let bucket = Self::bucket_ref(caller, path)?;
        let info = self.resolve_scope(caller, &path.scope).await?;
        let (_, bucket_acl) = self.bucket_acl(caller, &info, &bucket).await?;
        let object = self
            .storage
            .get_object(&bucket, object_id)
            .await?
            .ok_or_else(object_not_found)?;
        let mut id = Identity::new(caller);
        if !id
            .allowed(self, &bucket_acl, Action::ReadObjectsInBucket)
            .await?
            && !id
                .allowed(self, &parse_acl(&object.acl)?, Action::ReadExistingObject)
                .await?
        {
            return Err(denied(caller, Action::ReadExistingObject));
        }
        Ok(object)
    }

    /// `PUT …/objects/{id}`: create with a client ID, or replace all custom fields.
    pub async fn put_object(
        &self,
        caller: &Caller,
        path: &BucketPath,
        object_id: &str,
        write: ObjectWrite,
        pre: Precondition,
    ) -> Result<(Object, bool)> {
        validate::object_id(object_id)?;
        let bucket = Self::bucket_ref(caller, path)?;
        let info = self.resolve_scope(caller, &path.scope).await?;
        let mut id = Identity::new(caller);
        let new_bucket = match self.storage.get_object(&bucket, object_id).await? {
            Some(existing) => {
                id.require(
                    self,
                    &parse_acl(&existing.acl)?,
                    Action::WriteExistingObject,
                )
                .await?;
                // Used only if the bucket vanishes before the write (a concurrent drop).
                NewBucket {
                    creator: caller.user_id().map(str::to_owned),
                    acl: info.default_bucket_acl(caller.subject()).to_json(),
                }
            }
            None => self.check_create(&mut id, &info, &bucket).await?,
        };
        let object = Self::new_object(caller, &info, object_id.to_owned(), write);
        Ok(self
            .storage
            .replace_object(&bucket, &new_bucket, &object, pre, &actor_of(caller))
            .await?)
    }

    /// Checks that the object exists and that the caller may write it (WRITE_EXISTING_OBJECT).
    pub(super) async fn writable_object(
        &self,
        caller: &Caller,
        path: &BucketPath,
        object_id: &str,
    ) -> Result<BucketRef> {
        let bucket = Self::bucket_ref(caller, path)?;
        self.resolve_scope(caller, &path.scope).await?;
        let existing = self
            .storage
            .get_object(&bucket, object_id)
            .await?
            .ok_or_else(object_not_found)?;
        Identity::new(caller)
            .require(
                self,
                &parse_acl(&existing.acl)?,
                Action::WriteExistingObject,
            )
            .await?;
        Ok(bucket)
    }

    /// `POST …/objects/{id}` with `X-HTTP-Method-Override: PATCH`: merge fields.
    pub async fn patch_object(
        &self,
        caller: &Caller,
        path: &BucketPath,
        object_id: &str,
        fields: Map<String, Value>,
        if_match: Option<i64>,
    ) -> Result<Object> {
        let bucket = self.writable_object(caller, path, object_id).await?;
        Ok(self
            .storage
            .patch_object(
                &bucket,
                object_id,
                &fields,
                if_match,
                now_ms(),
                &actor_of(caller),
            )
            .await?)
    }

    pub async fn delete_object(
        &self,
        caller: &Caller,
        path: &BucketPath,
        object_id: &str,
        if_match: Option<i64>,
    ) -> Result<()> {
        let bucket = self.writable_object(caller, path, object_id).await?;
        if !self
            .storage
            .delete_object(&bucket, object_id, if_match, &actor_of(caller))
            .await?
        {
            return Err(object_not_found());
        }
        Ok(())
    }

    pub async fn delete_bucket(&self, caller: &Caller, path: &BucketPath) -> Result<()> {
        let bucket = Self::bucket_ref(caller, path)?;
        self.resolve_scope(caller, &path.scope).await?;
        let Some(b) = self.storage.get_bucket(&bucket).await? else {
            return Err(bucket_not_found());
        };
        Identity::new(caller)
            .require(self, &parse_acl(&b.acl)?, Action::DropBucketWithAllContent)
            .await?;
        let deleted = self
            .storage
            .delete_bucket(&bucket, &actor_of(caller))
            .await?;
        self.cache.forget_bucket(&bucket);
        if !deleted {
            return Err(bucket_not_found());
        }
        Ok(())
    }

    /// `GET` on a bucket: how many objects it holds that the caller may read, as the count
    /// query counts them (Kii's guide to counting objects says both count what the caller may
    /// access), so it needs QUERY_OBJECTS_IN_BUCKET. Unlike a query, a bucket that does not
    /// exist is `BUCKET_NOT_FOUND`, as Kii's bucket reference lists.
    pub async fn bucket_size(&self, caller: &Caller, path: &BucketPath) -> Result<i64> {
        let bucket = Self::bucket_ref(caller, path)?;
        self.resolve_scope(caller, &path.scope).await?;
        if self.bucket(&bucket).await?.is_none() {
            return Err(bucket_not_found());
        }
        let all = BucketQuery::parse(&json!({
            "clause": {"type": "all"},
            "aggregations": [{"type": "COUNT", "putAggregationInto": "size"}],
        }))?;
        match self.query(caller, path, &all, None, None).await? {
            QueryAnswer::Count { count, .. } => Ok(count),
            QueryAnswer::Page { .. } => Err(Error::new(
                ErrorCode::InternalError,
                "a count query answered a page",
            )),
        }
    }

    /// `POST …/query`: a page of results or a count. Objects the caller may not read are
    /// left out unless the bucket ACL grants it READ_OBJECTS_IN_BUCKET.
    pub async fn query(
        &self,
        caller: &Caller,
        path: &BucketPath,
        query: &BucketQuery,
        limit: Option<i64>,
        after: Option<&str>,
    ) -> Result<QueryAnswer> {
        let bucket = Self::bucket_ref(caller, path)?;
        let info = self.resolve_scope(caller, &path.scope).await?;
        let (seq, acl) = self.bucket_acl(caller, &info, &bucket).await?;
        let mut id = Identity::new(caller);
        id.require(self, &acl, Action::QueryObjectsInBucket).await?;
        let read_all = id.allowed(self, &acl, Action::ReadObjectsInBucket).await?;
        let Some(seq) = seq else {
            // A bucket that does not exist yet is empty.
            return Ok(match &query.count_into {
                Some(into) => QueryAnswer::Count {
                    into: into.clone(),
                    count: 0,
                },
                None => QueryAnswer::Page {
                    results: vec![],
                    next: None,
                },
            });
        };
        if let Some(into) = &query.count_into {
            let count = if read_all {
                self.storage.count_objects(seq, &query.clause).await?
            } else {
                let mut count = 0;
                let mut cursor: Option<String> = None;
                loop {
                    let hits = self
                        .storage
                        .query_objects(seq, query, cursor.as_deref(), MAX_PAGE)
                        .await?;
                    for h in &hits {
                        if id
                            .allowed(self, &parse_acl(&h.object.acl)?, Action::ReadExistingObject)
                            .await?
                        {
                            count += 1;
                        }
                    }
                    match hits.last() {
                        Some(last) if hits.len() as i64 == MAX_PAGE => {
                            cursor = Some(last.cursor.clone())
                        }
                        _ => break,
                    }
                }
                count
            };
            return Ok(QueryAnswer::Count {
                into: into.clone(),
                count,
            });
        }
        let limit = limit.filter(|l| *l > 0).unwrap_or(MAX_PAGE).min(MAX_PAGE);
        let mut results = Vec::new();
        let mut cursor = after.map(str::to_owned);
        let mut scanned = 0;
        loop {
            // One extra row tells whether another page exists.
            let batch = self
                .storage
                .query_objects(seq, query, cursor.as_deref(), limit + 1)
                .await?;
            let more = batch.len() as i64 > limit;
            let batch = &batch[..batch.len().min(limit as usize)];
            for (i, hit) in batch.iter().enumerate() {
                scanned += 1;
                cursor = Some(hit.cursor.clone());
                if !read_all
                    && !id
                        .allowed(
                            self,
                            &parse_acl(&hit.object.acl)?,
                            Action::ReadExistingObject,
                        )
                        .await?
                {
                    continue;
                }
                let mut doc = object_document(&hit.object);
                if let Some(distance) = &query.distance {
                    if let Some(meters) = distance.of(&hit.object.data) {
                        doc["_calculated"] = json!({ distance.name.as_str(): meters });
                    }
                }
                results.push(doc);
                if results.len() as i64 == limit {
                    let next = (more || i + 1 < batch.len()).then(|| hit.cursor.clone());
                    return Ok(QueryAnswer::Page { results, next });
                }
            }
            if !more {
                return Ok(QueryAnswer::Page {
                    results,
                    next: None,
                });
            }
            if scanned >= MAX_SCAN {
                return Ok(QueryAnswer::Page {
                    results,
                    next: cursor,
                });
            }
        }
    }

    // ---- ACLs -----------------------------------------------------------------------------

    /// Loads an ACL and checks that the caller may read or change it (the admin, the scope
    /// owner, and for objects their owner). Returns the ACL, its level and its scope.
    async fn acl_of(&self, caller: &Caller, target: &AclTarget) -> Result<(Acl, Level, ScopeInfo)> {
        let scope = match target {
            AclTarget::Scope(scope) => scope,
            AclTarget::Bucket(path) | AclTarget::Object(path, _) => &path.scope,
        };
        let info = self.resolve_scope(caller, scope).await?;
        let (acl, level, allowed) = match target {
            AclTarget::Scope(_) => (
                self.scope_acl(caller, &info).await?,
                Level::Scope,
                info.may_modify_scope_or_bucket_acl(caller),
            ),
            AclTarget::Bucket(path) => {
                let b = self
                    .storage
                    .get_bucket(&Self::bucket_ref(caller, path)?)
                    .await?
                    .ok_or_else(bucket_not_found)?;
                (
                    parse_acl(&b.acl)?,
                    Level::Bucket,
                    info.may_modify_scope_or_bucket_acl(caller),
                )
            }
            AclTarget::Object(path, id) => {
                let bucket = Self::bucket_ref(caller, path)?;
                let o = self
                    .storage
                    .get_object(&bucket, id)
                    .await?
                    .ok_or_else(object_not_found)?;
                (
                    parse_acl(&o.acl)?,
                    Level::Object,
                    info.may_modify_object_acl(caller, o.owner.as_deref()),
                )
            }
        };
        // Kii's ACL reference, at every scope and for reading and changing alike: "Not
        // authorized to read the ACL of the target resource", 401 UnauthorizedAccessException.
        if !allowed {
            return Err(caller.unauthorized(
                "Only the app admin, the scope owner or (for objects) the object's owner may read or change this ACL",
            ));
        }
        Ok((acl, level, info))
    }

    /// `GET …/acl`: `{ACTION: [subjects]}` with every action of the level.
    pub async fn acl_document(&self, caller: &Caller, target: &AclTarget) -> Result<Value> {
        let (acl, level, _) = self.acl_of(caller, target).await?;
        Ok(acl.document(level))
    }

    /// `GET …/acl/{ACTION}`: the subjects granted one action (Kii's `ACLVerbRetrievalResponse`,
    /// an array). Who may read it is who may read the whole ACL.
    pub async fn acl_verb_document(
        &self,
        caller: &Caller,
        target: &AclTarget,
        action: &str,
    ) -> Result<Value> {
        let action = Action::parse(action, target.level())?;
        let (acl, _, _) = self.acl_of(caller, target).await?;
        Ok(Value::Array(
            acl.subjects(action).iter().map(Subject::document).collect(),
        ))
    }

    /// `GET …/acl/{ACTION}/{SUBJECT}`: the subject's document when the ACL holds that entry.
    /// It asks about the entry, not about effective access (a member of a granted group has no
    /// entry of its own), as the entry is what `PUT` and `DELETE` on the same path change.
    /// Without the entry: `USER_NOT_FOUND` / `GROUP_NOT_FOUND` for a subject that does not
    /// exist (Kii's reference lists both), else `ACL_NOT_FOUND`.
    pub async fn acl_entry_document(
        &self,
        caller: &Caller,
        target: &AclTarget,
        action: &str,
        subject: &str,
    ) -> Result<Value> {
        let (action, subject) = (
            Action::parse(action, target.level())?,
            Subject::parse(subject)?,
        );
        let (acl, _, _) = self.acl_of(caller, target).await?;
        if acl.subjects(action).contains(&subject) {
            return Ok(subject.document());
        }
        let app = &caller.app.id;
        match &subject {
            Subject::User(id) if self.storage.get_user(app, id).await?.is_none() => {
                Err(user_not_found(app, "userID", id))
            }
            Subject::Group(id) if self.storage.get_group(app, id).await?.is_none() => {
                Err(group_not_found(app, id))
            }
            _ => Err(Error::new(
                ErrorCode::AclNotFound,
                format!(
                    "The ACL does not grant {} to {}",
                    action.wire(),
                    subject.wire()
                ),
            )),
        }
    }

    /// `PUT`/`DELETE …/acl/{ACTION}/{SUBJECT}`. Grants and revokes are idempotent (the SDK
    /// special-cases neither `ACL_ALREADY_EXISTS` nor `ACL_NOT_FOUND`, so a retried save works).
    pub async fn change_acl(
        &self,
        caller: &Caller,
        target: &AclTarget,
        action: &str,
        subject: &str,
        grant: bool,
    ) -> Result<()> {
        let (action, subject) = (
            Action::parse(action, target.level())?,
            Subject::parse(subject)?,
        );
        let (_, _, info) = self.acl_of(caller, target).await?;
        // One atomic change in storage: concurrent grants and revokes never lose each other.
        let holder = match target {
            AclTarget::Scope(scope) => AclHolder::Scope {
                app_id: caller.app.id.clone(),
                scope: scope.clone(),
                default: info.default_scope_acl().to_json(),
            },
            AclTarget::Bucket(path) => AclHolder::Bucket(Self::bucket_ref(caller, path)?),
            AclTarget::Object(path, id) => {
                AclHolder::Object(Self::bucket_ref(caller, path)?, id.clone())
            }
        };
        let change = AclChange {
            action,
            subject,
            grant,
        };
        self.storage.change_acl(&holder, &change).await?;
        if let AclHolder::Bucket(bucket) = &holder {
            self.cache.forget_bucket(bucket);
        }
        Ok(())
    }
}

fn object_not_found() -> Error {
    Error::new(ErrorCode::ObjectNotFound, "The object was not found")
}

fn bucket_not_found() -> Error {
    Error::new(ErrorCode::BucketNotFound, "The bucket was not found")
}
