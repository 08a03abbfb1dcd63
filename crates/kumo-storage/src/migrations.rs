//! Schema migrations, one list per dialect, applied in order on every start.
//!
//! A migration is never edited once released; changes go in a new entry. The applied
//! versions are recorded in `kumo_migrations`, and the whole run holds the database's write
//! lock (SQLite `BEGIN IMMEDIATE`, PostgreSQL advisory transaction lock) so two processes
//! starting at once cannot both apply the same step.

use crate::dialect::Dialect;

pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

impl Migration {
    pub fn sql(&self, dialect: Dialect) -> &'static str {
        match dialect {
            Dialect::Sqlite => self.sqlite,
            Dialect::Postgres => self.postgres,
        }
    }
}

pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "apps, users, tokens, groups",
        sqlite: r#"
CREATE TABLE apps (
    id TEXT PRIMARY KEY,
    app_key TEXT NOT NULL,
    name TEXT NOT NULL,
    client_id TEXT NOT NULL UNIQUE,
    client_secret_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE users (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    login_name TEXT, login_key TEXT,
    email TEXT, email_key TEXT, email_verified INTEGER NOT NULL DEFAULT 0,
    phone TEXT, phone_key TEXT, phone_verified INTEGER NOT NULL DEFAULT 0,
    display_name TEXT, country TEXT, locale TEXT,
    password_hash TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    custom TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    modified_at INTEGER NOT NULL,
    UNIQUE (app_id, id)
);
CREATE UNIQUE INDEX users_login_key_idx ON users(app_id, login_key);
CREATE UNIQUE INDEX users_email_key_idx ON users(app_id, email_key);
CREATE UNIQUE INDEX users_phone_key_idx ON users(app_id, phone_key);
CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    user_id TEXT,
    expires_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX tokens_user_idx ON tokens(app_id, user_id);
CREATE TABLE user_groups (
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    owner TEXT,
    created_at INTEGER NOT NULL,
    modified_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, id)
);
CREATE INDEX user_groups_owner_idx ON user_groups(app_id, owner);
CREATE TABLE group_members (
    app_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (app_id, group_id, user_id),
    FOREIGN KEY (app_id, group_id) REFERENCES user_groups(app_id, id) ON DELETE CASCADE
);
CREATE INDEX group_members_user_idx ON group_members(app_id, user_id);
"#,
        postgres: r#"
CREATE TABLE apps (
    id TEXT PRIMARY KEY,
    app_key TEXT NOT NULL,
    name TEXT NOT NULL,
    client_id TEXT NOT NULL UNIQUE,
    client_secret_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE users (
    seq BIGSERIAL PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    login_name TEXT, login_key TEXT,
    email TEXT, email_key TEXT, email_verified BIGINT NOT NULL DEFAULT 0,
    phone TEXT, phone_key TEXT, phone_verified BIGINT NOT NULL DEFAULT 0,
    display_name TEXT, country TEXT, locale TEXT,
    password_hash TEXT,
    disabled BIGINT NOT NULL DEFAULT 0,
    custom TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    CONSTRAINT users_app_id_id_key UNIQUE (app_id, id)
);
CREATE UNIQUE INDEX users_login_key_idx ON users(app_id, login_key);
CREATE UNIQUE INDEX users_email_key_idx ON users(app_id, email_key);
CREATE UNIQUE INDEX users_phone_key_idx ON users(app_id, phone_key);
CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    user_id TEXT,
    expires_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX tokens_user_idx ON tokens(app_id, user_id);
CREATE TABLE user_groups (
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    owner TEXT,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, id)
);
CREATE INDEX user_groups_owner_idx ON user_groups(app_id, owner);
CREATE TABLE group_members (
    app_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    seq BIGSERIAL NOT NULL,
    PRIMARY KEY (app_id, group_id, user_id),
    FOREIGN KEY (app_id, group_id) REFERENCES user_groups(app_id, id) ON DELETE CASCADE
);
CREATE INDEX group_members_user_idx ON group_members(app_id, user_id);
"#,
    },
    Migration {
        version: 2,
        name: "buckets, objects, indexed fields, scope ACLs, change events",
        sqlite: r#"
CREATE TABLE buckets (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    name TEXT NOT NULL,
    creator TEXT,
    acl TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (app_id, scope, name)
);
CREATE TABLE objects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket_seq INTEGER NOT NULL REFERENCES buckets(seq) ON DELETE CASCADE,
    id TEXT NOT NULL,
    data TEXT NOT NULL,
    data_type TEXT,
    owner TEXT,
    acl TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    modified_at INTEGER NOT NULL,
    UNIQUE (bucket_seq, id)
);
CREATE INDEX objects_created_idx ON objects(bucket_seq, created_at, seq);
CREATE INDEX objects_modified_idx ON objects(bucket_seq, modified_at, seq);
CREATE TABLE object_fields (
    object_seq INTEGER NOT NULL REFERENCES objects(seq) ON DELETE CASCADE,
    bucket_seq INTEGER NOT NULL,
    field TEXT NOT NULL,
    kind INTEGER NOT NULL,
    dec INTEGER NOT NULL DEFAULT 0,
    num REAL,
    str TEXT,
    lon REAL, gx REAL, gy REAL, gz REAL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (object_seq, field)
);
CREATE INDEX object_fields_num_idx ON object_fields(bucket_seq, field, kind, num, created_at, object_seq);
CREATE INDEX object_fields_str_idx ON object_fields(bucket_seq, field, kind, str, created_at, object_seq);
CREATE TABLE scope_acls (
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    acl TEXT NOT NULL,
    PRIMARY KEY (app_id, scope)
);
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    actor TEXT NOT NULL,
    from_server_code INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX events_app_idx ON events(app_id, seq);
"#,
        postgres: r#"
CREATE TABLE buckets (
    seq BIGSERIAL PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    name TEXT NOT NULL,
    creator TEXT,
    acl TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (app_id, scope, name)
);
CREATE TABLE objects (
    seq BIGSERIAL PRIMARY KEY,
    bucket_seq BIGINT NOT NULL REFERENCES buckets(seq) ON DELETE CASCADE,
    id TEXT NOT NULL,
    data TEXT NOT NULL,
    data_type TEXT,
    owner TEXT,
    acl TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    UNIQUE (bucket_seq, id)
);
CREATE INDEX objects_created_idx ON objects(bucket_seq, created_at, seq);
CREATE INDEX objects_modified_idx ON objects(bucket_seq, modified_at, seq);
CREATE TABLE object_fields (
    object_seq BIGINT NOT NULL REFERENCES objects(seq) ON DELETE CASCADE,
    bucket_seq BIGINT NOT NULL,
    field TEXT NOT NULL,
    kind BIGINT NOT NULL,
    dec BIGINT NOT NULL DEFAULT 0,
    num DOUBLE PRECISION,
    str TEXT COLLATE "C",
    lon DOUBLE PRECISION, gx DOUBLE PRECISION, gy DOUBLE PRECISION, gz DOUBLE PRECISION,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (object_seq, field)
);
CREATE INDEX object_fields_num_idx ON object_fields(bucket_seq, field, kind, num, created_at, object_seq);
CREATE INDEX object_fields_str_idx ON object_fields(bucket_seq, field, kind, str, created_at, object_seq);
CREATE TABLE scope_acls (
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    acl TEXT NOT NULL,
    PRIMARY KEY (app_id, scope)
);
CREATE TABLE events (
    seq BIGSERIAL PRIMARY KEY,
    app_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    actor TEXT NOT NULL,
    from_server_code BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_app_idx ON events(app_id, seq);
"#,
    },
    Migration {
        version: 3,
        name: "server code versions and developer log",
        sqlite: r#"
CREATE TABLE server_code_versions (
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    version_id TEXT NOT NULL,
    source TEXT NOT NULL,
    environment_version TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    modified_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, version_id)
);
CREATE TABLE server_code_current (
    app_id TEXT PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
    version_id TEXT NOT NULL,
    FOREIGN KEY (app_id, version_id) REFERENCES server_code_versions(app_id, version_id) ON DELETE CASCADE
);
CREATE TABLE dev_logs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    level INTEGER NOT NULL,
    log_key TEXT NOT NULL,
    user_id TEXT,
    fields TEXT NOT NULL,
    bytes INTEGER NOT NULL
);
CREATE INDEX dev_logs_app_idx ON dev_logs(app_id, seq);
CREATE INDEX dev_logs_time_idx ON dev_logs(app_id, time_ms);
"#,
        postgres: r#"
CREATE TABLE server_code_versions (
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    version_id TEXT NOT NULL,
    source TEXT NOT NULL,
    environment_version TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, version_id)
);
CREATE TABLE server_code_current (
    app_id TEXT PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
    version_id TEXT NOT NULL,
    FOREIGN KEY (app_id, version_id) REFERENCES server_code_versions(app_id, version_id) ON DELETE CASCADE
);
CREATE TABLE dev_logs (
    seq BIGSERIAL PRIMARY KEY,
    app_id TEXT NOT NULL,
    time_ms BIGINT NOT NULL,
    level BIGINT NOT NULL,
    log_key TEXT NOT NULL,
    user_id TEXT,
    fields TEXT NOT NULL,
    bytes BIGINT NOT NULL
);
CREATE INDEX dev_logs_app_idx ON dev_logs(app_id, seq);
CREATE INDEX dev_logs_time_idx ON dev_logs(app_id, time_ms);
"#,
    },
    Migration {
        version: 4,
        name: "object index rows without a foreign key (deleted with their objects explicitly)",
        // Checking the key cost PostgreSQL a lookup and a row lock per index row of every
        // created object. SQLite's check is a cheap lookup in the same file; it keeps it.
        sqlite: "SELECT 1;",
        postgres:
            "ALTER TABLE object_fields DROP CONSTRAINT IF EXISTS object_fields_object_seq_fkey;",
    },
    Migration {
        version: 5,
        name: "the numeric field index holds only rows with a number",
        // A string field's row went into both value indexes, the numeric one under a NULL key
        // no query asks for: one index write per string field of every create, for nothing.
        // Every numeric test (`=`, ranges, `in`, geo, booleans) implies `num IS NOT NULL`, so
        // both planners still use the index; tests on the kind alone (`hasField`) and bucket
        // deletes use the string index, which keeps every row.
        sqlite: PARTIAL_NUM_INDEX,
        postgres: PARTIAL_NUM_INDEX,
    },
    Migration {
        version: 6,
        name: "developer-log records are kept in chunks, one row per burst",
        // A row per record, written and soon deleted again with two index entries each, cost a
        // busy server more CPU than the runs that made the records (see sql_devlog.rs). Each
        // existing record becomes a chunk of its own, in order.
        sqlite: r#"
CREATE TABLE dev_log_chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id TEXT NOT NULL,
    first_time_ms INTEGER NOT NULL,
    last_time_ms INTEGER NOT NULL,
    records INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX dev_log_chunks_app_idx ON dev_log_chunks(app_id, id);
INSERT INTO dev_log_chunks (app_id, first_time_ms, last_time_ms, records, bytes, body)
    SELECT app_id, time_ms, time_ms, 1, bytes,
           json_array(json_array(0, time_ms, level, log_key, user_id, json(fields)))
    FROM dev_logs ORDER BY seq;
DROP TABLE dev_logs;
"#,
        postgres: r#"
CREATE TABLE dev_log_chunks (
    id BIGSERIAL PRIMARY KEY,
    app_id TEXT NOT NULL,
    first_time_ms BIGINT NOT NULL,
    last_time_ms BIGINT NOT NULL,
    records BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX dev_log_chunks_app_idx ON dev_log_chunks(app_id, id);
INSERT INTO dev_log_chunks (app_id, first_time_ms, last_time_ms, records, bytes, body)
    SELECT app_id, time_ms, time_ms, 1, bytes,
           json_build_array(json_build_array(0, time_ms, level, log_key, user_id, fields::json))::text
    FROM dev_logs ORDER BY seq;
DROP TABLE dev_logs;
"#,
    },
    Migration {
        version: 7,
        name: "developer-log chunks compressed with lz4 on PostgreSQL",
        // A busy server writes megabytes of log a second; PostgreSQL's default compression
        // (pglz) cost its backend more CPU than the inserts themselves. Servers built without
        // lz4 (or older than 14) keep the default: this is an optimisation, never a failure.
        sqlite: "SELECT 1;",
        postgres: r#"
DO $$
BEGIN
    EXECUTE 'ALTER TABLE dev_log_chunks ALTER COLUMN body SET COMPRESSION lz4';
EXCEPTION WHEN OTHERS THEN
    NULL;
END $$;
"#,
    },
    Migration {
        version: 8,
        name: "tokens indexed by expiry",
        // The periodic purge of expired tokens finds them through this index instead of
        // scanning every token; tokens that never expire are left out of it.
        sqlite: TOKEN_EXPIRY_INDEX,
        postgres: TOKEN_EXPIRY_INDEX,
    },
    Migration {
        version: 9,
        name: "server hooks: hook configs, schedule executions, trigger delivery",
        sqlite: HOOKS_SQLITE,
        postgres: HOOKS_POSTGRES,
    },
    Migration {
        version: 10,
        name: "schedule-execution history indexed for queries and trimming",
        // Ranges on `finishedAt` and the age trim read the first; clauses on a job's name (and
        // the overlap check of a claim, by job) the second. Ranges on and pages by `startedAt`
        // already have `schedule_executions_started_idx`.
        sqlite: EXECUTION_INDEXES,
        postgres: EXECUTION_INDEXES,
    },
    Migration {
        version: 11,
        name: "change events delivered in (transaction, seq) order",
        // Existing rows get 0: they were all committed, before any new transaction.
        sqlite: "ALTER TABLE events ADD COLUMN txid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE hook_cursors ADD COLUMN last_txid BIGINT NOT NULL DEFAULT 0;
CREATE INDEX events_delivery_idx ON events(app_id, txid, seq);",
        postgres: "ALTER TABLE events ADD COLUMN txid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE events ALTER COLUMN txid SET DEFAULT txid_current();
ALTER TABLE hook_cursors ADD COLUMN last_txid BIGINT NOT NULL DEFAULT 0;
CREATE INDEX events_delivery_idx ON events(app_id, txid, seq);",
    },
    Migration {
        version: 12,
        name: "refresh tokens",
        sqlite: REFRESH_TOKENS,
        postgres: REFRESH_TOKENS,
    },
    Migration {
        version: 13,
        name: "things, their owners, thing tokens",
        sqlite: THINGS,
        postgres: THINGS,
    },
    Migration {
        version: 14,
        name: "object bodies: uploads, their chunks, publications",
        sqlite: BODIES_SQLITE,
        postgres: BODIES_POSTGRES,
    },
];

/// A thing's predefined and free fields are one JSON document (`fields`); the vendor thing ID
/// is unique per app. Owners are users or groups (`kind` `user` / `group`). A token with a
/// `thing_id` acts as that thing (`user_id` is then NULL).
const THINGS: &str = "CREATE TABLE things (
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    vendor_thing_id TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    fields TEXT NOT NULL,
    disabled BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, id)
);
CREATE UNIQUE INDEX things_vendor_thing_id_idx ON things(app_id, vendor_thing_id);
CREATE TABLE thing_owners (
    app_id TEXT NOT NULL,
    thing_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    PRIMARY KEY (app_id, thing_id, kind, owner_id),
    FOREIGN KEY (app_id, thing_id) REFERENCES things(app_id, id) ON DELETE CASCADE
);
CREATE INDEX thing_owners_owner_idx ON thing_owners(app_id, kind, owner_id);
ALTER TABLE tokens ADD COLUMN thing_id TEXT;
CREATE INDEX tokens_thing_idx ON tokens(app_id, thing_id) WHERE thing_id IS NOT NULL;";

/// An object's body is the chunks of its one committed upload; other uploads are in progress.
/// Uploads and publications go with their object (and so with its bucket) by foreign key, and
/// chunks with their upload, so no object path pays a statement for bodies.
const BODIES_SQLITE: &str = r#"
CREATE TABLE body_uploads (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL,
    object_seq INTEGER NOT NULL REFERENCES objects(seq) ON DELETE CASCADE,
    content_type TEXT,
    total INTEGER,
    committed INTEGER NOT NULL DEFAULT 0,
    length INTEGER NOT NULL DEFAULT 0,
    modified_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX body_uploads_object_idx ON body_uploads(object_seq);
CREATE UNIQUE INDEX body_uploads_current_idx ON body_uploads(object_seq) WHERE committed = 1;
CREATE TABLE body_chunks (
    upload_id TEXT NOT NULL REFERENCES body_uploads(id) ON DELETE CASCADE,
    start INTEGER NOT NULL,
    len INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (upload_id, start)
);
CREATE TABLE body_publications (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL,
    object_seq INTEGER NOT NULL REFERENCES objects(seq) ON DELETE CASCADE,
    expires_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX body_publications_object_idx ON body_publications(object_seq);
"#;

const BODIES_POSTGRES: &str = r#"
CREATE TABLE body_uploads (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL,
    object_seq BIGINT NOT NULL REFERENCES objects(seq) ON DELETE CASCADE,
    content_type TEXT,
    total BIGINT,
    committed BIGINT NOT NULL DEFAULT 0,
    length BIGINT NOT NULL DEFAULT 0,
    modified_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX body_uploads_object_idx ON body_uploads(object_seq);
CREATE UNIQUE INDEX body_uploads_current_idx ON body_uploads(object_seq) WHERE committed = 1;
CREATE TABLE body_chunks (
    upload_id TEXT NOT NULL REFERENCES body_uploads(id) ON DELETE CASCADE,
    start BIGINT NOT NULL,
    len BIGINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (upload_id, start)
);
-- Bodies are mostly compressed media already: TOAST them out of line without trying to
-- compress them again.
ALTER TABLE body_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE TABLE body_publications (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL,
    object_seq BIGINT NOT NULL REFERENCES objects(seq) ON DELETE CASCADE,
    expires_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX body_publications_object_idx ON body_publications(object_seq);
"#;

/// One row per refresh token not yet exchanged; the user index serves revocation (password
/// change, user deletion).
const REFRESH_TOKENS: &str = "CREATE TABLE refresh_tokens (
    hash TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    access_hash TEXT NOT NULL,
    lifetime_ms BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens(app_id, user_id);";

const EXECUTION_INDEXES: &str =
    "CREATE INDEX schedule_executions_finished_idx ON schedule_executions(app_id, finished_at);
CREATE INDEX schedule_executions_job_idx ON schedule_executions(app_id, job, started_at);";

/// A version's hook config is kept as uploaded (GET returns the same bytes) and goes with the
/// version. A firing is recorded once per `firing` key: `{version}/{job}/{scheduled_at}` for a
/// cron firing, so nodes racing for it insert one row; `hand/{id}` for a run by hand. `node`,
/// `fence` and `lease_until` fence a RUNNING record to the node that claimed it. Trigger
/// delivery keeps one cursor per app over `events` (held by one node at a time under a lease)
/// and the failed runs waiting for another attempt.
const HOOKS_SQLITE: &str = r#"
ALTER TABLE server_code_versions ADD COLUMN hook_config TEXT;
CREATE TABLE schedule_executions (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    firing TEXT NOT NULL,
    version_id TEXT NOT NULL,
    job TEXT NOT NULL,
    scheduled_at BIGINT NOT NULL,
    by_hand BIGINT NOT NULL,
    status TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    result TEXT,
    node TEXT NOT NULL,
    fence BIGINT NOT NULL,
    lease_until BIGINT NOT NULL,
    UNIQUE (app_id, firing)
);
CREATE INDEX schedule_executions_started_idx ON schedule_executions(app_id, started_at, id);
CREATE INDEX schedule_executions_running_idx ON schedule_executions(lease_until) WHERE status = 'RUNNING';
CREATE TABLE hook_cursors (
    app_id TEXT PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
    last_seq BIGINT NOT NULL,
    node TEXT,
    lease_until BIGINT NOT NULL
);
CREATE TABLE hook_retries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    event_seq BIGINT NOT NULL,
    version_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    trigger_name TEXT NOT NULL,
    params TEXT NOT NULL,
    actor TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    not_before BIGINT NOT NULL,
    node TEXT,
    lease_until BIGINT NOT NULL
);
CREATE INDEX hook_retries_due_idx ON hook_retries(not_before);
"#;

const HOOKS_POSTGRES: &str = r#"
ALTER TABLE server_code_versions ADD COLUMN hook_config TEXT;
CREATE TABLE schedule_executions (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    firing TEXT NOT NULL,
    version_id TEXT NOT NULL,
    job TEXT NOT NULL,
    scheduled_at BIGINT NOT NULL,
    by_hand BIGINT NOT NULL,
    status TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    result TEXT,
    node TEXT NOT NULL,
    fence BIGINT NOT NULL,
    lease_until BIGINT NOT NULL,
    UNIQUE (app_id, firing)
);
CREATE INDEX schedule_executions_started_idx ON schedule_executions(app_id, started_at, id);
CREATE INDEX schedule_executions_running_idx ON schedule_executions(lease_until) WHERE status = 'RUNNING';
CREATE TABLE hook_cursors (
    app_id TEXT PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
    last_seq BIGINT NOT NULL,
    node TEXT,
    lease_until BIGINT NOT NULL
);
CREATE TABLE hook_retries (
    id BIGSERIAL PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    event_seq BIGINT NOT NULL,
    version_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    trigger_name TEXT NOT NULL,
    params TEXT NOT NULL,
    actor TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    not_before BIGINT NOT NULL,
    node TEXT,
    lease_until BIGINT NOT NULL
);
CREATE INDEX hook_retries_due_idx ON hook_retries(not_before);
"#;

const TOKEN_EXPIRY_INDEX: &str =
    "CREATE INDEX tokens_expiry_idx ON tokens(expires_at) WHERE expires_at IS NOT NULL;";

const PARTIAL_NUM_INDEX: &str = "DROP INDEX object_fields_num_idx;
CREATE INDEX object_fields_num_idx ON object_fields(bucket_seq, field, kind, num, created_at, object_seq)
    WHERE num IS NOT NULL;";
