//! Kumo's persistence: one [`Storage`] trait and its SQL implementation, which runs on
//! embedded SQLite (the default) and on PostgreSQL (for many nodes).
//!
//! This is the only crate that contains SQL. It knows nothing of HTTP or JavaScript: callers
//! hand it validated models and get models back. Timestamps are milliseconds since the epoch.

mod body_model;
mod columns;
mod create_plan;
mod delivery_model;
mod dialect;
mod error;
mod events;
mod execution_query;
mod executions_sql;
mod group_commit;
mod hooks_model;
mod invalidation;
mod migrations;
mod model;
mod object_model;
mod object_rows;
mod params;
mod pool;
mod query_sql;
mod servercode_model;
mod sql;
mod sql_acl;
mod sql_bodies;
mod sql_console;
mod sql_devlog;
mod sql_executions;
mod sql_firings;
mod sql_hook_configs;
mod sql_objects;
mod sql_refresh;
mod sql_servercode;
mod sql_things;
mod sql_triggers;
mod sqlite_reader;
#[cfg(feature = "testing")]
pub mod testing;
mod thing_model;
mod tx;

use async_trait::async_trait;
use kumo_types::query::{BucketQuery, Clause};
use serde_json::{Map, Value};

pub use body_model::{BodyChunk, BodyCommit, BodyInfo, BodyUpload, Publication, MAX_BODY_CHUNK};
pub use delivery_model::{Claim, HookRetry, NewFiring};
pub use dialect::Dialect;
pub use error::{Entity, StorageError, Unique};
pub use execution_query::{
    ExecutionClause, ExecutionOrder, ExecutionPage, ExecutionQuery, ExecutionTime, TextTest,
    TimeBound,
};
pub use hooks_model::{ExecutionStatus, ScheduleExecution};
pub use invalidation::{DevLogNews, Invalidation};
pub use model::{App, Group, RefreshToken, Token, User, UserKey};
pub use object_model::{
    AclChange, AclHolder, Actor, Bucket, BucketRef, Event, EventCursor, Hit, NewBucket, Object,
    Precondition, Scope,
};
pub use servercode_model::{
    CodeVersion, CodeVersionInfo, DevLogFilter, DevLogLevel, DevLogPage, DevLogRecord,
    NewDevLogRecord,
};
pub use sql::{open, SqlStore};
pub use sql_console::{BucketSummary, ListPage};
pub use thing_model::{Thing, ThingKey, ThingOwner};

pub type Result<T> = std::result::Result<T, StorageError>;

/// Everything Kumo persists. Each method is one atomic unit: either all of it is written or
/// none of it is. Every write of a user, group or object also records a change [`Event`]
/// naming its [`Actor`], in the same transaction (the outbox hooks will consume). Every method is scoped by app ID, so no call can touch another app's rows.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Which backend this is, for logs and `/health`.
    fn backend(&self) -> &'static str;

    /// Checks that the database answers.
    async fn ping(&self) -> Result<()>;

    /// Releases connections; pending writes finish first.
    async fn close(&self);

    /// What other processes sharing the database changed that a cache may hold, from now on
    /// (see `invalidation.rs`). `Everything` when some may have been missed; a receiver that
    /// lags behind must treat that as `Everything` too. Never yields on SQLite, where one
    /// process owns the database.
    async fn subscribe_invalidations(&self) -> tokio::sync::broadcast::Receiver<Invalidation>;

    // ---- apps -----------------------------------------------------------------------------
    async fn create_app(&self, app: &App) -> Result<()>;
    async fn get_app(&self, app_id: &str) -> Result<Option<App>>;
    async fn count_apps(&self) -> Result<i64>;

    // ---- users ----------------------------------------------------------------------------
    /// Inserts a user; `Conflict` names the identifier already taken. `internal_id` is assigned.
    async fn create_user(&self, app_id: &str, user: &User, actor: &Actor) -> Result<User>;
    async fn get_user(&self, app_id: &str, user_id: &str) -> Result<Option<User>>;
    async fn find_user(&self, app_id: &str, key: &UserKey) -> Result<Option<User>>;
    /// Rewrites every mutable column of an existing user (not the password).
    async fn update_user(&self, app_id: &str, user: &User, actor: &Actor) -> Result<()>;
    /// Sets a new password hash and drops every token of the user, atomically.
    async fn set_password(
        &self,
        app_id: &str,
        user_id: &str,
        password_hash: &str,
        modified_at: i64,
        actor: &Actor,
    ) -> Result<()>;
    /// Deletes the user with its tokens and group memberships; false if there was none.
    async fn delete_user(&self, app_id: &str, user_id: &str, actor: &Actor) -> Result<bool>;
    /// Enables or disables a user (Kii's `…/status`); disabling drops every token of the
    /// user, atomically. `NotFound(User)` if there is none.
    async fn set_user_disabled(
        &self,
        app_id: &str,
        user_id: &str,
        disabled: bool,
        modified_at: i64,
        actor: &Actor,
    ) -> Result<()>;

    // ---- tokens ---------------------------------------------------------------------------
    async fn insert_token(&self, token: &Token) -> Result<()>;
    /// Looks a token up by the hash of its secret. Expiry is the caller's to judge.
    async fn get_token(&self, hash: &str) -> Result<Option<Token>>;
    /// Deletes every token of every app that has expired by `now_ms` (`expires_at <= now_ms`,
    /// the rule that refuses a token); returns how many went.
    async fn purge_expired_tokens(&self, now_ms: i64) -> Result<u64>;
    /// Stores an access token and the refresh token that may replace it, together.
    async fn insert_token_with_refresh(&self, token: &Token, refresh: &RefreshToken) -> Result<()>;
    /// Exchanges the refresh token `hash` of `app_id`, once: deletes it and the access token it
    /// came with, and stores a new pair under `access_hash` / `refresh_hash` for the same user
    /// and lifetime, atomically. `None` if there is no such refresh token, or its user is
    /// disabled or gone (the token is spent either way).
    async fn rotate_refresh_token(
        &self,
        app_id: &str,
        hash: &str,
        access_hash: &str,
        refresh_hash: &str,
        now_ms: i64,
    ) -> Result<Option<(Token, RefreshToken)>>;

    // ---- groups ---------------------------------------------------------------------------
    /// Inserts a group, makes the owner a member, and adds each of `members` that exists.
    /// Returns the member IDs that name no user. `Conflict(GroupId)` if the ID is taken.
    async fn create_group(
        &self,
        app_id: &str,
        group: &Group,
        members: &[String],
        actor: &Actor,
    ) -> Result<Vec<String>>;
    async fn get_group(&self, app_id: &str, group_id: &str) -> Result<Option<Group>>;
    async fn rename_group(
        &self,
        app_id: &str,
        group_id: &str,
        name: &str,
        modified_at: i64,
        actor: &Actor,
    ) -> Result<()>;
    /// Changes the owner, who becomes a member too. `NotFound(User)` if no such user.
    async fn set_group_owner(
        &self,
        app_id: &str,
        group_id: &str,
        owner: &str,
        modified_at: i64,
        actor: &Actor,
    ) -> Result<()>;
    async fn delete_group(&self, app_id: &str, group_id: &str, actor: &Actor) -> Result<bool>;
    /// Adds a member (idempotent). `NotFound(User)` / `NotFound(Group)` as the case may be.
    async fn add_member(
        &self,
        app_id: &str,
        group_id: &str,
        user_id: &str,
        actor: &Actor,
    ) -> Result<()>;
    /// Removes a member; false if the user was not one.
    async fn remove_member(
        &self,
        app_id: &str,
        group_id: &str,
        user_id: &str,
        actor: &Actor,
    ) -> Result<bool>;
    /// Member IDs in the order they joined.
    async fn list_members(&self, app_id: &str, group_id: &str) -> Result<Vec<String>>;
    async fn groups_owned_by(&self, app_id: &str, user_id: &str) -> Result<Vec<Group>>;
    async fn groups_with_member(&self, app_id: &str, user_id: &str) -> Result<Vec<Group>>;

    // ---- listings for the console's admin calls (keyset pages; `InvalidCursor` for a cursor
    // another listing made) ------------------------------------------------------------------
    /// The buckets of one scope, by name.
    async fn list_buckets(
        &self,
        app_id: &str,
        scope: &Scope,
        after: Option<&str>,
        limit: i64,
    ) -> Result<ListPage<BucketSummary>>;
    /// The app's users, by ID.
    async fn list_users(
        &self,
        app_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<ListPage<User>>;
    /// The app's groups, by ID.
    async fn list_groups(
        &self,
        app_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<ListPage<Group>>;

    // ---- buckets and objects --------------------------------------------------------------
    async fn get_bucket(&self, bucket: &BucketRef) -> Result<Option<Bucket>>;
    /// Inserts an object (and its bucket if it is the first), recording `object.created`.
    /// `Conflict(ObjectId)` if the ID is taken.
    async fn create_object(
        &self,
        bucket: &BucketRef,
        new: &NewBucket,
        object: &Object,
        actor: &Actor,
    ) -> Result<()>;
    async fn get_object(&self, bucket: &BucketRef, id: &str) -> Result<Option<Object>>;
    /// Creates or replaces the custom fields of an object under `pre`. Returns the stored
    /// object and whether it was created. `StaleVersion`, `Conflict(ObjectId)` or
    /// `NotFound(Object)` when the precondition fails.
    async fn replace_object(
        &self,
        bucket: &BucketRef,
        new: &NewBucket,
        object: &Object,
        pre: Precondition,
        actor: &Actor,
    ) -> Result<(Object, bool)>;
    /// Merges `fields` into an object, bumping its version.
    async fn patch_object(
        &self,
        bucket: &BucketRef,
        id: &str,
        fields: &Map<String, Value>,
        if_match: Option<i64>,
        modified_at: i64,
        actor: &Actor,
    ) -> Result<Object>;
    async fn delete_object(
        &self,
        bucket: &BucketRef,
        id: &str,
        if_match: Option<i64>,
        actor: &Actor,
    ) -> Result<bool>;
    /// Deletes a bucket with all its objects.
    async fn delete_bucket(&self, bucket: &BucketRef, actor: &Actor) -> Result<bool>;
    async fn set_bucket_acl(&self, bucket: &BucketRef, acl: &str) -> Result<()>;
    async fn set_object_acl(&self, bucket: &BucketRef, id: &str, acl: &str) -> Result<()>;
    /// A scope's customised ACL, if it was ever changed.
    async fn get_scope_acl(&self, app_id: &str, scope: &Scope) -> Result<Option<String>>;
    async fn set_scope_acl(&self, app_id: &str, scope: &Scope, acl: &str) -> Result<()>;
    /// Applies one grant or revoke to a stored ACL. Concurrent changes of one ACL never lose
    /// each other. Granting twice or revoking what is not granted changes nothing.
    /// `NotFound(Bucket)` / `NotFound(Object)` when the holder does not exist; `Backend` when
    /// the stored ACL does not parse.
    async fn change_acl(&self, holder: &AclHolder, change: &AclChange) -> Result<()>;
    /// One page of a query, `limit` hits after the cursor `after`, in the query's order.
    /// `InvalidCursor` if `after` was not made by this query.
    async fn query_objects(
        &self,
        bucket_seq: i64,
        query: &BucketQuery,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Hit>>;
    async fn count_objects(&self, bucket_seq: i64, clause: &Clause) -> Result<i64>;

    // ---- things ---------------------------------------------------------------------------
    /// Inserts a thing, recording `thing.created`. `Conflict(VendorThingId)` if its vendor
    /// thing ID is taken in the app.
    async fn create_thing(&self, app_id: &str, thing: &Thing, actor: &Actor) -> Result<()>;
    async fn get_thing(&self, app_id: &str, key: &ThingKey) -> Result<Option<Thing>>;
    /// Replaces a thing's fields. `NotFound(Thing)` if there is none.
    async fn update_thing(
        &self,
        app_id: &str,
        thing_id: &str,
        fields: &Map<String, Value>,
        modified_at: i64,
        actor: &Actor,
    ) -> Result<()>;
    /// Enables or disables a thing. `NotFound(Thing)` if there is none.
    async fn set_thing_disabled(
        &self,
        app_id: &str,
        thing_id: &str,
        disabled: bool,
        modified_at: i64,
        actor: &Actor,
    ) -> Result<()>;
    /// Sets a thing's password hash. `NotFound(Thing)` if there is none.
    async fn set_thing_password(
        &self,
        app_id: &str,
        thing_id: &str,
        password_hash: &str,
        modified_at: i64,
        actor: &Actor,
    ) -> Result<()>;
    /// Deletes a thing with its owners, its tokens and its buckets; false if there was none.
    async fn delete_thing(&self, app_id: &str, thing_id: &str, actor: &Actor) -> Result<bool>;
    /// Adds an owner; false if it already was one. `NotFound(Thing)`, `NotFound(User)` or
    /// `NotFound(Group)` as the case may be.
    async fn add_thing_owner(
        &self,
        app_id: &str,
        thing_id: &str,
        owner: &ThingOwner,
        actor: &Actor,
    ) -> Result<bool>;
    /// Removes an owner; false if it was not one.
    async fn remove_thing_owner(
        &self,
        app_id: &str,
        thing_id: &str,
        owner: &ThingOwner,
        actor: &Actor,
    ) -> Result<bool>;
    /// Up to `limit` things owned directly by any of `owners`, in thing ID order, after the
    /// thing ID `after`.
    async fn things_owned_by(
        &self,
        app_id: &str,
        owners: &[ThingOwner],
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Thing>>;
    /// The thing's owners, users first, each kind in ID order.
    async fn thing_owners(&self, app_id: &str, thing_id: &str) -> Result<Vec<ThingOwner>>;

    // ---- change events --------------------------------------------------------------------
    /// The app's events after `after` in delivery order (see [`EventCursor`]): only those
    /// that no open transaction can still precede.
    async fn events_since(
        &self,
        app_id: &str,
        after: EventCursor,
        limit: i64,
    ) -> Result<Vec<Event>>;

    // ---- server code ------------------------------------------------------------------------
    /// `Conflict` if the version ID is taken.
    async fn create_code_version(&self, app_id: &str, version: &CodeVersion) -> Result<()>;
    /// Oldest first.
    async fn list_code_versions(&self, app_id: &str) -> Result<Vec<CodeVersionInfo>>;
    /// A version by ID, or the current one when `version_id` is `None`.
    async fn get_code_version(
        &self,
        app_id: &str,
        version_id: Option<&str>,
    ) -> Result<Option<CodeVersion>>;
    /// Deleting the current version leaves the app without a current version.
    async fn delete_code_version(&self, app_id: &str, version_id: &str) -> Result<bool>;
    async fn get_current_version(&self, app_id: &str) -> Result<Option<String>>;
    /// Every app's current version (to compile them when a server starts).
    async fn current_versions(&self) -> Result<Vec<(String, CodeVersion)>>;
    /// `None` clears it; `NotFound(CodeVersion)` if the version does not exist.
    async fn set_current_version(&self, app_id: &str, version_id: Option<&str>) -> Result<()>;

    // ---- developer log ----------------------------------------------------------------------
    /// Returns the bytes the records count against the app's budget.
    async fn append_dev_logs(&self, app_id: &str, records: &[NewDevLogRecord]) -> Result<i64>;
    async fn query_dev_logs(
        &self,
        app_id: &str,
        filter: &DevLogFilter,
    ) -> Result<Vec<DevLogRecord>>;
    /// The `seq` of the app's newest record (`-1` if it has none): a tail that starts after it
    /// gets exactly the records appended from now on. Within an app, records become visible
    /// in `seq` order (appends of one app commit one at a time), so no record older than one
    /// already seen can appear later.
    async fn dev_log_end(&self, app_id: &str) -> Result<i64>;
    /// A bounded step of a tail: the records with `seq > after` that pass `filter` (its limit
    /// aside), oldest first.
    async fn dev_logs_after(
        &self,
        app_id: &str,
        after: i64,
        filter: &DevLogFilter,
    ) -> Result<DevLogPage>;
    /// Which apps' logs grew, from now on, on every process sharing the database (see
    /// `invalidation.rs`); `MaybeMissed` when some news may have been lost, and a receiver
    /// that lags must take it so too.
    async fn subscribe_dev_log(&self) -> tokio::sync::broadcast::Receiver<DevLogNews>;
    /// Drops records older than `min_time_ms`, then the oldest until at most `max_bytes` remain.
    async fn trim_dev_logs(&self, app_id: &str, max_bytes: i64, min_time_ms: i64) -> Result<u64>;

    // ---- hook configs -----------------------------------------------------------------------
    /// Sets a version's hook config text (kept byte for byte); `NotFound(CodeVersion)` if the
    /// version does not exist.
    async fn put_hook_config(&self, app_id: &str, version_id: &str, config: &str) -> Result<()>;
    /// A version's hook config, or the current version's when `version_id` is `None`; `None`
    /// when it has none, `NotFound(CodeVersion)` when there is no such version (or no current
    /// one).
    async fn get_hook_config(
        &self,
        app_id: &str,
        version_id: Option<&str>,
    ) -> Result<Option<String>>;
    /// Removes a version's hook config: false if it had none, `NotFound(CodeVersion)` if the
    /// version does not exist.
    async fn delete_hook_config(&self, app_id: &str, version_id: &str) -> Result<bool>;
    /// (app, version, config text) of every app whose current version has a hook config.
    async fn live_hook_configs(&self) -> Result<Vec<(String, String, String)>>;

    // ---- schedule executions: claiming, leases, completing ------------------------------------
    /// Records each firing once per firing key and only while its version is the app's
    /// current one (RUNNING under `node`'s lease, or FAILED at once when it is to be skipped),
    /// all in one transaction; says for each what happened. Any number of nodes may claim the
    /// same firings: exactly one records each.
    async fn claim_firings(
        &self,
        firings: &[NewFiring],
        node: &str,
        lease_until: i64,
    ) -> Result<Vec<Claim>>;
    /// Extends the lease of every RUNNING firing `node` holds; returns how many.
    async fn renew_firing_leases(&self, node: &str, lease_until: i64) -> Result<u64>;
    /// Completes a RUNNING firing if `fence` is still its claim's; false if it is not (its
    /// lease expired and it was recorded FAILED meanwhile).
    async fn finish_firing(
        &self,
        app_id: &str,
        id: &str,
        fence: i64,
        status: ExecutionStatus,
        finished_at: i64,
        result: &str,
    ) -> Result<bool>;
    /// Records FAILED (with `result`) every RUNNING firing whose lease ran out by `now`:
    /// its node died. Returns them.
    async fn fail_expired_firings(&self, now: i64, result: &str) -> Result<Vec<ScheduleExecution>>;

    // ---- schedule executions: reading and retention -------------------------------------------
    async fn get_schedule_execution(
        &self,
        app_id: &str,
        id: &str,
    ) -> Result<Option<ScheduleExecution>>;
    /// One page of the app's history: up to `limit` records after the cursor `after`, in the
    /// query's order, and the cursor of the next page if there is one. Records added later
    /// neither repeat nor hide records on the following pages. `InvalidCursor` if `after` was
    /// not made for this query's order.
    async fn query_schedule_executions(
        &self,
        app_id: &str,
        query: &ExecutionQuery,
        after: Option<&str>,
        limit: i64,
    ) -> Result<ExecutionPage>;
    /// Deletes the app's finished records that ended before `finished_before`, and the finished
    /// ones beyond its `keep_at_most` newest (by start). Never a RUNNING one. Returns how many
    /// went.
    async fn trim_schedule_executions(
        &self,
        app_id: &str,
        finished_before: i64,
        keep_at_most: i64,
    ) -> Result<u64>;
    /// The apps that have any history (to trim each).
    async fn schedule_execution_apps(&self) -> Result<Vec<String>>;

    // ---- trigger delivery -------------------------------------------------------------------
    /// Gives the app a trigger cursor if it has none, starting after its newest event.
    async fn ensure_hook_cursor(&self, app_id: &str) -> Result<()>;
    /// Apps whose cursor is behind their newest event and free for `node` (held by it, or
    /// its lease ran out).
    async fn hook_cursors_with_work(&self, node: &str, now: i64) -> Result<Vec<String>>;
    /// Takes or renews the lease on the app's cursor for `node`; the cursor's position if
    /// `node` holds it now, `None` if another node does.
    async fn lease_hook_cursor(
        &self,
        app_id: &str,
        node: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<EventCursor>>;
    /// Moves the cursor to `to` and renews the lease, if `node` still holds it.
    async fn advance_hook_cursor(
        &self,
        app_id: &str,
        node: &str,
        to: EventCursor,
        lease_until: i64,
    ) -> Result<bool>;
    /// Gives up every cursor lease `node` holds (a node stopping).
    async fn release_hook_cursors(&self, node: &str) -> Result<()>;
    /// Deletes up to `limit` change events written before `before_ms` that no trigger cursor
    /// still has to deliver (behind their app's cursor, or of an app without one: a cursor
    /// made later starts after the newest event). Returns how many went.
    async fn trim_events(&self, before_ms: i64, limit: i64) -> Result<u64>;
    /// Keeps a failed trigger run for another attempt at `not_before`.
    async fn add_hook_retry(&self, retry: &HookRetry, not_before: i64) -> Result<()>;
    /// Leases up to `limit` retries that are due, for `node`.
    async fn claim_hook_retries(
        &self,
        node: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<HookRetry>>;
    /// Ends a leased retry: gone (`None`), or back in the queue with its attempt count and
    /// next time.
    async fn finish_hook_retry(&self, id: i64, node: &str, next: Option<(i64, i64)>) -> Result<()>;

    // ---- object bodies ------------------------------------------------------------------------
    // A body is written as an upload: chunks of at most `MAX_BODY_CHUNK` bytes keyed by their
    // first byte's offset, which becomes the object's body only when committed (replacing the
    // one before in the same transaction). Uploads, chunks and publications go with their
    // object by foreign key.
    /// Starts an upload for the object; false if there is no such object.
    async fn start_body_upload(
        &self,
        bucket: &BucketRef,
        object_id: &str,
        upload_id: &str,
        now: i64,
    ) -> Result<bool>;
    /// An upload in progress for the object, with the ranges it holds.
    async fn get_body_upload(
        &self,
        bucket: &BucketRef,
        object_id: &str,
        upload_id: &str,
    ) -> Result<Option<BodyUpload>>;
    /// Records the upload's content type and announced length, unless already set.
    async fn shape_body_upload(
        &self,
        app_id: &str,
        upload_id: &str,
        content_type: Option<&str>,
        total: Option<i64>,
    ) -> Result<()>;
    /// Stores one chunk; false if the upload is not in progress or a chunk starts there.
    async fn put_body_chunk(
        &self,
        app_id: &str,
        upload_id: &str,
        start: i64,
        data: &[u8],
    ) -> Result<bool>;
    /// Drops the chunks of an upload in progress that start in `from..to` (a failed piece).
    async fn drop_body_chunks(
        &self,
        app_id: &str,
        upload_id: &str,
        from: i64,
        to: i64,
    ) -> Result<()>;
    /// Makes the upload the object's body if its chunks cover `0..length` without a gap (and
    /// `length` is the announced total, if any), dropping the previous body, atomically.
    async fn commit_body_upload(
        &self,
        bucket: &BucketRef,
        object_id: &str,
        upload_id: &str,
        now: i64,
    ) -> Result<BodyCommit>;
    /// Drops an upload in progress with its chunks; false if there was none.
    async fn cancel_body_upload(&self, app_id: &str, upload_id: &str) -> Result<bool>;
    /// The object's committed body.
    async fn get_body(&self, bucket: &BucketRef, object_id: &str) -> Result<Option<BodyInfo>>;
    /// Up to `limit` chunks of an upload that hold bytes of `from..to`, in order.
    async fn read_body_chunks(
        &self,
        app_id: &str,
        upload_id: &str,
        from: i64,
        to: i64,
        limit: i64,
    ) -> Result<Vec<BodyChunk>>;
    /// Deletes the object's body; false if it had none (or there is no such object).
    async fn delete_body(&self, bucket: &BucketRef, object_id: &str) -> Result<bool>;
    /// Records a publication of the object's body; false if the object has no body.
    async fn publish_body(
        &self,
        bucket: &BucketRef,
        object_id: &str,
        publication_id: &str,
        expires_at: Option<i64>,
        now: i64,
    ) -> Result<bool>;
    /// A publication by its ID, with the body it shows now. Any app's: the ID is the secret.
    async fn published_body(&self, publication_id: &str) -> Result<Option<Publication>>;
}
