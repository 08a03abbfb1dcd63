//! The SQL implementation of [`Storage`], shared by SQLite and PostgreSQL.
//!
//! Both backends run the same statements through sqlx's `Any` driver (`$n` placeholders work
//! in both); the few places where the dialects differ branch on [`Dialect`]. SQLite gets two
//! pools: one connection for writes (SQLite has one writer anyway, and a single writer never
//! meets `SQLITE_BUSY` from a lock upgrade) and several for reads, which WAL never blocks.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Map, Value};
use sqlx::any::{AnyConnectOptions, AnyRow};
use sqlx::{AnyConnection, Executor, Row};

use crate::dialect::Dialect;
use crate::params::AnyQuery;
use crate::pool::Pool;
use crate::tx::in_transaction;
use crate::RefreshToken;
use crate::{BucketSummary, ListPage};
use kumo_types::now_ms;

use crate::events::record;
use crate::migrations::MIGRATIONS;
use crate::model::normalize;
use crate::{
    AclChange, AclHolder, Actor, App, Bucket, BucketRef, Claim, CodeVersion, CodeVersionInfo,
    DevLogFilter, DevLogNews, DevLogPage, DevLogRecord, Entity, Event, EventCursor, ExecutionPage,
    ExecutionQuery, ExecutionStatus, Group, Hit, HookRetry, Invalidation, NewBucket,
    NewDevLogRecord, NewFiring, Object, Precondition, Result, ScheduleExecution, Scope, Storage,
    StorageError, Thing, ThingKey, ThingOwner, Token, User, UserKey,
};
use kumo_types::query::{BucketQuery, Clause};

pub struct SqlStore {
    dialect: Dialect,
    pub(crate) read: Pool,
    pub(crate) write: Pool,
    /// Object creates are committed in groups (see `group_commit.rs`).
    pub(crate) creates: crate::group_commit::GroupCommit,
    /// The hot SQLite reads, on the calling thread (`sqlite_reader.rs`); `None` on PostgreSQL
    /// and for an in-memory SQLite database.
    pub(crate) reader: Option<crate::sqlite_reader::SqliteReader>,
    invalidations: crate::invalidation::Invalidations,
}

const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;";

/// Opens (creating if needed) the store at `url` (`sqlite://PATH` or `postgres://…`) and
/// brings its schema up to date. `max_connections` bounds the pool (the read pool on SQLite).
pub async fn open(url: &str, max_connections: u32) -> Result<SqlStore> {
    sqlx::any::install_default_drivers();

    let dialect = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Dialect::Postgres
    } else if url.starts_with("sqlite:") {
        Dialect::Sqlite
    } else {
        return Err(StorageError::Backend(format!(
            "unsupported database URL (expected sqlite: or postgres://): {}",
            redact(url)
        )));
    };
    let options = AnyConnectOptions::from_str(url)
        .map_err(|e| StorageError::Backend(format!("bad database URL {}: {e}", redact(url))))?;
    let init = (dialect == Dialect::Sqlite).then_some(SQLITE_PRAGMAS);
    let timeout = Duration::from_secs(10);
    let writers = match dialect {
        Dialect::Sqlite => 1,
        Dialect::Postgres => max_connections,
    };
    let write = Pool::connect(options.clone(), writers, init, timeout).await?;
    let read = match dialect {
        Dialect::Sqlite => Pool::connect(options, max_connections, init, timeout).await?,
        Dialect::Postgres => write.clone(),
    };
    let creates = crate::group_commit::GroupCommit::start(write.clone(), dialect);
    let store = SqlStore {
        dialect,
        read,
        write,
        creates,
        reader: match dialect {
            Dialect::Sqlite => crate::sqlite_reader::SqliteReader::for_url(url),
            Dialect::Postgres => None,
        },
        invalidations: crate::invalidation::Invalidations::new(dialect, url),
    };
    store.migrate().await?;
    Ok(store)
}

/// Hides a password in a URL before it reaches an error message or a log.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl SqlStore {
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The backend process of the connection that listens for invalidations, while it does
    /// (PostgreSQL, after the first subscription; for diagnostics and tests).
    pub fn invalidation_listener_pid(&self) -> Option<i32> {
        self.invalidations.listener_pid()
    }

    /// Tells this process's developer-log subscribers, right after an append committed, on
    /// SQLite (on PostgreSQL the append's `pg_notify` reaches every process, this one too).
    pub(crate) fn announce_dev_log(&self, news: DevLogNews) {
        self.invalidations.announce_dev_log(news);
    }

    /// Sends `event` from the write transaction on `conn` (`invalidation.rs`).
    pub(crate) async fn notify(&self, conn: &mut AnyConnection, event: Invalidation) -> Result<()> {
        crate::invalidation::notify(conn, self.dialect, &event).await
    }

    async fn migrate(&self) -> Result<()> {
        let mut conn = self.write.get().await?;
        let conn: &mut AnyConnection = &mut conn;
        match self.dialect {
            // IMMEDIATE takes the write lock now, so a second process waits instead of racing.
            Dialect::Sqlite => {
                conn.execute("BEGIN IMMEDIATE").await?;
            }
            Dialect::Postgres => {
                conn.execute("BEGIN").await?;
                conn.execute("SELECT pg_advisory_xact_lock(7446381027)")
                    .await?;
            }
        }
        let outcome = apply_migrations(conn, self.dialect).await;
        match outcome {
            Ok(()) => {
                conn.execute("COMMIT").await?;
                Ok(())
            }
            Err(e) => {
                let _ = conn.execute("ROLLBACK").await;
                Err(e)
            }
        }
    }

    fn member_order(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "m.rowid",
            Dialect::Postgres => "m.seq",
        }
    }
}

async fn apply_migrations(conn: &mut AnyConnection, dialect: Dialect) -> Result<()> {
    conn.execute(
        "CREATE TABLE IF NOT EXISTS kumo_migrations \
         (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .await?;
    let applied: Vec<i64> = sqlx::query("SELECT version FROM kumo_migrations")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect::<std::result::Result<_, _>>()?;
    for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        tracing::info!(version = m.version, name = m.name, "applying migration");
        conn.execute(sqlx::raw_sql(m.sql(dialect))).await?;
        sqlx::query("INSERT INTO kumo_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(m.version)
            .bind(m.name)
            .bind(now_ms())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

fn user_tokens(app_id: &str, user_id: &str) -> Invalidation {
    Invalidation::UserTokens {
        app_id: app_id.to_owned(),
        user_id: user_id.to_owned(),
    }
}

pub(crate) const USER_COLS: &str =
    "seq, id, login_name, email, email_verified, phone, phone_verified, \
     display_name, country, locale, password_hash, disabled, custom, created_at, modified_at";
pub(crate) const GROUP_COLS: &str = "id, name, owner, created_at, modified_at";

pub(crate) fn user_from_row(row: &AnyRow) -> Result<User> {
    let custom: String = row.try_get("custom")?;
    let custom: Map<String, Value> = serde_json::from_str(&custom)
        .map_err(|e| StorageError::Backend(format!("corrupt custom fields: {e}")))?;
    Ok(User {
        internal_id: row.try_get("seq")?,
        id: row.try_get("id")?,
        login_name: row.try_get("login_name")?,
        email: row.try_get("email")?,
        email_verified: row.try_get::<i64, _>("email_verified")? != 0,
        phone: row.try_get("phone")?,
        phone_verified: row.try_get::<i64, _>("phone_verified")? != 0,
        display_name: row.try_get("display_name")?,
        country: row.try_get("country")?,
        locale: row.try_get("locale")?,
        password_hash: row.try_get("password_hash")?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        custom,
        created_at: row.try_get("created_at")?,
        modified_at: row.try_get("modified_at")?,
    })
}

pub(crate) fn group_from_row(row: &AnyRow) -> Result<Group> {
    Ok(Group {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        owner: row.try_get("owner")?,
        created_at: row.try_get("created_at")?,
        modified_at: row.try_get("modified_at")?,
    })
}

/// The mutable user columns, in the order [`bind_user_fields`] binds them (15 values).
const USER_FIELDS: &str = "login_name, login_key, email, email_key, email_verified, phone, \
     phone_key, phone_verified, display_name, country, locale, password_hash, disabled, custom, \
     modified_at";

fn bind_user_fields<'q>(query: AnyQuery<'q>, user: &'q User) -> AnyQuery<'q> {
    query
        .bind(&user.login_name)
        .bind(user.login_name.as_deref().map(normalize))
        .bind(&user.email)
        .bind(user.email.as_deref().map(normalize))
        .bind(user.email_verified as i64)
        .bind(&user.phone)
        .bind(user.phone.as_deref().map(normalize))
        .bind(user.phone_verified as i64)
        .bind(&user.display_name)
        .bind(&user.country)
        .bind(&user.locale)
        .bind(&user.password_hash)
        .bind(user.disabled as i64)
        .bind(Value::Object(user.custom.clone()).to_string())
        .bind(user.modified_at)
}

async fn user_exists(conn: &mut AnyConnection, app_id: &str, user_id: &str) -> Result<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM users WHERE app_id = $1 AND id = $2")
            .bind(app_id)
            .bind(user_id)
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}

async fn insert_member(
    conn: &mut AnyConnection,
    app_id: &str,
    group_id: &str,
    user_id: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO group_members (app_id, group_id, user_id) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(app_id)
    .bind(group_id)
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(())
}

#[async_trait]
impl Storage for SqlStore {
    fn backend(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&mut *self.read.get().await?)
            .await?;
        Ok(())
    }

    async fn subscribe_invalidations(&self) -> tokio::sync::broadcast::Receiver<Invalidation> {
        self.invalidations.subscribe().await
    }

    async fn close(&self) {
        self.invalidations.stop();
        self.write.close().await;
        self.read.close().await;
    }

    async fn create_app(&self, app: &App) -> Result<()> {
        sqlx::query(
            "INSERT INTO apps (id, app_key, name, client_id, client_secret_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&app.id)
        .bind(&app.key)
        .bind(&app.name)
        .bind(&app.client_id)
        .bind(&app.client_secret_hash)
        .bind(app.created_at)
        .execute(&mut *self.write.get().await?)
        .await?;
        Ok(())
    }

    async fn get_app(&self, app_id: &str) -> Result<Option<App>> {
        let row = sqlx::query(
            "SELECT id, app_key, name, client_id, client_secret_hash, created_at \
             FROM apps WHERE id = $1",
        )
        .bind(app_id)
        .fetch_optional(&mut *self.read.get().await?)
        .await?;
        row.map(|r| {
            Ok(App {
                id: r.try_get("id")?,
                key: r.try_get("app_key")?,
                name: r.try_get("name")?,
                client_id: r.try_get("client_id")?,
                client_secret_hash: r.try_get("client_secret_hash")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }

    async fn count_apps(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) FROM apps")
            .fetch_one(&mut *self.read.get().await?)
            .await?;
        Ok(row.try_get::<i64, _>(0)?)
    }

    async fn create_user(&self, app_id: &str, user: &User, actor: &Actor) -> Result<User> {
        let sql = format!(
            "INSERT INTO users (app_id, id, created_at, {USER_FIELDS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
             RETURNING {USER_COLS}"
        );
        let query = sqlx::query(&sql)
            .bind(app_id)
            .bind(&user.id)
            .bind(user.created_at);
        in_transaction(&self.write, async |tx| {
            let row = bind_user_fields(query, user).fetch_one(&mut *tx).await?;
            record(
                tx,
                app_id,
                "user.created",
                json!({ "userID": user.id }),
                actor,
            )
            .await?;
            user_from_row(&row)
        })
        .await
    }

    async fn get_user(&self, app_id: &str, user_id: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE app_id = $1 AND id = $2");
        sqlx::query(&sql)
            .bind(app_id)
            .bind(user_id)
            .fetch_optional(&mut *self.read.get().await?)
            .await?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    async fn find_user(&self, app_id: &str, key: &UserKey) -> Result<Option<User>> {
        let sql = format!(
            "SELECT {USER_COLS} FROM users WHERE app_id = $1 AND {} = $2",
            key.column()
        );
        sqlx::query(&sql)
            .bind(app_id)
            .bind(key.normalized())
            .fetch_optional(&mut *self.read.get().await?)
            .await?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    async fn update_user(&self, app_id: &str, user: &User, actor: &Actor) -> Result<()> {
        let assignments: Vec<String> = USER_FIELDS
            .split(", ")
            .enumerate()
            .map(|(i, col)| format!("{col} = ${}", i + 1))
            .collect();
        let sql = format!(
            "UPDATE users SET {} WHERE app_id = $16 AND id = $17",
            assignments.join(", ")
        );
        in_transaction(&self.write, async |tx| {
            let done = bind_user_fields(sqlx::query(&sql), user)
                .bind(app_id)
                .bind(&user.id)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StorageError::NotFound(Entity::User));
            }
            record(
                tx,
                app_id,
                "user.updated",
                json!({ "userID": user.id }),
                actor,
            )
            .await?;
            Ok(())
        })
        .await
    }

    async fn set_password(
        &self,
        app_id: &str,
        user_id: &str,
        password_hash: &str,
        modified_at: i64,
        actor: &Actor,
    ) -> Result<()> {
        in_transaction(&self.write, async |tx| {
            let done = sqlx::query(
                "UPDATE users SET password_hash = $1, modified_at = $2 WHERE app_id = $3 AND id = $4",
            )
            .bind(password_hash)
            .bind(modified_at)
            .bind(app_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StorageError::NotFound(Entity::User));
            }
            for sql in [
                "DELETE FROM tokens WHERE app_id = $1 AND user_id = $2",
                "DELETE FROM refresh_tokens WHERE app_id = $1 AND user_id = $2",
            ] {
                sqlx::query(sql)
                    .bind(app_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
            }
            let target = json!({ "userID": user_id });
            record(tx, app_id, "user.password_changed", target, actor).await?;
            self.notify(tx, user_tokens(app_id, user_id)).await
        })
        .await
    }

    async fn set_user_disabled(
        &self,
        app_id: &str,
        user_id: &str,
        disabled: bool,
        modified_at: i64,
        actor: &Actor,
    ) -> Result<()> {
        in_transaction(&self.write, async |tx| {
            let done = sqlx::query(
                "UPDATE users SET disabled = $1, modified_at = $2 WHERE app_id = $3 AND id = $4",
            )
            .bind(disabled as i64)
            .bind(modified_at)
            .bind(app_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StorageError::NotFound(Entity::User));
            }
            if disabled {
                for sql in [
                    "DELETE FROM tokens WHERE app_id = $1 AND user_id = $2",
                    "DELETE FROM refresh_tokens WHERE app_id = $1 AND user_id = $2",
                ] {
                    sqlx::query(sql)
                        .bind(app_id)
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            // No Kii hook fires on a status change (the events list has no trigger for it).
            let target = json!({ "userID": user_id, "disabled": disabled });
            record(tx, app_id, "user.status_changed", target, actor).await?;
            self.notify(tx, user_tokens(app_id, user_id)).await
        })
        .await
    }

    async fn delete_user(&self, app_id: &str, user_id: &str, actor: &Actor) -> Result<bool> {
        in_transaction(&self.write, async |tx| {
            for sql in [
                "DELETE FROM tokens WHERE app_id = $1 AND user_id = $2",
                "DELETE FROM refresh_tokens WHERE app_id = $1 AND user_id = $2",
                "DELETE FROM group_members WHERE app_id = $1 AND user_id = $2",
                "UPDATE user_groups SET owner = NULL WHERE app_id = $1 AND owner = $2",
            ] {
                sqlx::query(sql)
                    .bind(app_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
            }
            let done = sqlx::query("DELETE FROM users WHERE app_id = $1 AND id = $2")
                .bind(app_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            record(
                tx,
                app_id,
                "user.deleted",
                json!({ "userID": user_id }),
                actor,
            )
            .await?;
            self.notify(tx, user_tokens(app_id, user_id)).await?;
            Ok(true)
        })
        .await
    }

    async fn insert_token(&self, token: &Token) -> Result<()> {
        sqlx::query(
            "INSERT INTO tokens (hash, app_id, user_id, thing_id, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&token.hash)
        .bind(&token.app_id)
        .bind(&token.user_id)
        .bind(&token.thing_id)
        .bind(token.expires_at)
        .bind(token.created_at)
        .execute(&mut *self.write.get().await?)
        .await?;
        Ok(())
    }

    async fn get_token(&self, hash: &str) -> Result<Option<Token>> {
        let row = sqlx::query(
            "SELECT hash, app_id, user_id, thing_id, expires_at, created_at FROM tokens WHERE hash = $1",
        )
        .bind(hash)
        .fetch_optional(&mut *self.read.get().await?)
        .await?;
        row.map(|r| {
            Ok(Token {
                hash: r.try_get("hash")?,
                app_id: r.try_get("app_id")?,
                user_id: r.try_get("user_id")?,
                thing_id: r.try_get("thing_id")?,
                expires_at: r.try_get("expires_at")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }

    async fn insert_token_with_refresh(&self, token: &Token, refresh: &RefreshToken) -> Result<()> {
        self.do_insert_token_with_refresh(token, refresh).await
    }

    async fn rotate_refresh_token(
        &self,
        app_id: &str,
        hash: &str,
        access_hash: &str,
        refresh_hash: &str,
        now_ms: i64,
    ) -> Result<Option<(Token, RefreshToken)>> {
        self.do_rotate_refresh_token(app_id, hash, access_hash, refresh_hash, now_ms)
            .await
    }

    async fn purge_expired_tokens(&self, now_ms: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM tokens WHERE expires_at <= $1")
            .bind(now_ms)
            .execute(&mut *self.write.get().await?)
            .await?;
        Ok(done.rows_affected())
    }

    async fn create_group(
        &self,
        app_id: &str,
        group: &Group,
        members: &[String],
        actor: &Actor,
    ) -> Result<Vec<String>> {
        in_transaction(&self.write, async |tx| {
            if let Some(owner) = &group.owner {
                if !user_exists(tx, app_id, owner).await? {
                    return Err(StorageError::NotFound(Entity::User));
                }
            }
            sqlx::query(
                "INSERT INTO user_groups (app_id, id, name, owner, created_at, modified_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(app_id)
            .bind(&group.id)
            .bind(&group.name)
            .bind(&group.owner)
            .bind(group.created_at)
            .bind(group.modified_at)
            .execute(&mut *tx)
            .await?;
            if let Some(owner) = &group.owner {
                insert_member(tx, app_id, &group.id, owner).await?;
            }
            let mut not_found = Vec::new();
            for member in members {
                if user_exists(tx, app_id, member).await? {
                    insert_member(tx, app_id, &group.id, member).await?;
                } else if !not_found.contains(member) {
                    not_found.push(member.clone());
                }
            }
            record(
                tx,
                app_id,
                "group.created",
                json!({ "groupID": group.id }),
                actor,
            )
            .await?;
            Ok(not_found)
        })
        .await
    }

    async fn get_group(&self, app_id: &str, group_id: &str) -> Result<Option<Group>> {
        let sql = format!("SELECT {GROUP_COLS} FROM user_groups WHERE app_id = $1 AND id = $2");
        sqlx::query(&sql)
            .bind(app_id)
            .bind(group_id)
            .fetch_optional(&mut *self.read.get().await?)
            .await?
            .as_ref()
            .map(group_from_row)
            .transpose()
    }

    async fn rename_group(
        &self,
        app_id: &str,
        group_id: &str,
        name: &str,
        modified_at: i64,
        actor: &Actor,
    ) -> Result<()> {
        in_transaction(&self.write, async |tx| {
            let done = sqlx::query(
                "UPDATE user_groups SET name = $1, modified_at = $2 WHERE app_id = $3 AND id = $4",
            )
            .bind(name)
            .bind(modified_at)
            .bind(app_id)
            .bind(group_id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StorageError::NotFound(Entity::Group));
            }
            let target = json!({ "groupID": group_id, "name": name });
            record(tx, app_id, "group.renamed", target, actor).await?;
            Ok(())
        })
        .await
    }

    async fn set_group_owner(
        &self,
        app_id: &str,
        group_id: &str,
        owner: &str,
        modified_at: i64,
        actor: &Actor,
    ) -> Result<()> {
        in_transaction(&self.write, async |tx| {
            if !user_exists(tx, app_id, owner).await? {
                return Err(StorageError::NotFound(Entity::User));
            }
            let done = sqlx::query(
                "UPDATE user_groups SET owner = $1, modified_at = $2 WHERE app_id = $3 AND id = $4",
            )
            .bind(owner)
            .bind(modified_at)
            .bind(app_id)
            .bind(group_id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StorageError::NotFound(Entity::Group));
            }
            insert_member(tx, app_id, group_id, owner).await?;
            let target = json!({ "groupID": group_id, "owner": owner });
            record(tx, app_id, "group.owner_changed", target, actor).await?;
            Ok(())
        })
        .await
    }

    async fn delete_group(&self, app_id: &str, group_id: &str, actor: &Actor) -> Result<bool> {
        in_transaction(&self.write, async |tx| {
            // Members go with the group through ON DELETE CASCADE.
            let done = sqlx::query("DELETE FROM user_groups WHERE app_id = $1 AND id = $2")
                .bind(app_id)
                .bind(group_id)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            record(
                tx,
                app_id,
                "group.deleted",
                json!({ "groupID": group_id }),
                actor,
            )
            .await?;
            Ok(true)
        })
        .await
    }

    async fn add_member(
        &self,
        app_id: &str,
        group_id: &str,
        user_id: &str,
        actor: &Actor,
    ) -> Result<()> {
        in_transaction(&self.write, async |tx| {
            let group = sqlx::query("SELECT 1 FROM user_groups WHERE app_id = $1 AND id = $2")
                .bind(app_id)
                .bind(group_id)
                .fetch_optional(&mut *tx)
                .await?;
            if group.is_none() {
                return Err(StorageError::NotFound(Entity::Group));
            }
            if !user_exists(tx, app_id, user_id).await? {
                return Err(StorageError::NotFound(Entity::User));
            }
            insert_member(tx, app_id, group_id, user_id).await?;
            let target = json!({ "groupID": group_id, "userID": user_id });
            record(tx, app_id, "group.member_added", target, actor).await?;
            Ok(())
        })
        .await
    }

    async fn remove_member(
        &self,
        app_id: &str,
        group_id: &str,
        user_id: &str,
        actor: &Actor,
    ) -> Result<bool> {
        in_transaction(&self.write, async |tx| {
            let done = sqlx::query(
                "DELETE FROM group_members WHERE app_id = $1 AND group_id = $2 AND user_id = $3",
            )
            .bind(app_id)
            .bind(group_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            let target = json!({ "groupID": group_id, "userID": user_id });
            record(tx, app_id, "group.member_removed", target, actor).await?;
            Ok(true)
        })
        .await
    }

    async fn list_members(&self, app_id: &str, group_id: &str) -> Result<Vec<String>> {
        let sql = format!(
            "SELECT m.user_id FROM group_members m WHERE m.app_id = $1 AND m.group_id = $2 \
             ORDER BY {}",
            self.member_order()
        );
        let rows = sqlx::query(&sql)
            .bind(app_id)
            .bind(group_id)
            .fetch_all(&mut *self.read.get().await?)
            .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>(0)?))
            .collect()
    }

    async fn groups_owned_by(&self, app_id: &str, user_id: &str) -> Result<Vec<Group>> {
        let sql = format!(
            "SELECT {GROUP_COLS} FROM user_groups WHERE app_id = $1 AND owner = $2 \
             ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(app_id)
            .bind(user_id)
            .fetch_all(&mut *self.read.get().await?)
            .await?;
        rows.iter().map(group_from_row).collect()
    }

    async fn groups_with_member(&self, app_id: &str, user_id: &str) -> Result<Vec<Group>> {
        let rows = sqlx::query(
            "SELECT g.id, g.name, g.owner, g.created_at, g.modified_at FROM user_groups g \
             JOIN group_members m ON m.app_id = g.app_id AND m.group_id = g.id \
             WHERE m.app_id = $1 AND m.user_id = $2 ORDER BY g.created_at, g.id",
        )
        .bind(app_id)
        .bind(user_id)
        .fetch_all(&mut *self.read.get().await?)
        .await?;
        rows.iter().map(group_from_row).collect()
    }

    async fn list_buckets(
        &self,
        app_id: &str,
        scope: &Scope,
        after: Option<&str>,
        limit: i64,
    ) -> Result<ListPage<BucketSummary>> {
        self.do_list_buckets(app_id, scope, after, limit).await
    }

    async fn list_users(
        &self,
        app_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<ListPage<User>> {
        self.do_list_users(app_id, after, limit).await
    }

    async fn list_groups(
        &self,
        app_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<ListPage<Group>> {
        self.do_list_groups(app_id, after, limit).await
    }

    async fn get_bucket(&self, bucket: &BucketRef) -> Result<Option<Bucket>> {
        self.do_get_bucket(bucket).await
    }

    async fn create_object(
        &self,
        bucket: &BucketRef,
        new: &NewBucket,
        object: &Object,
        actor: &Actor,
    ) -> Result<()> {
        self.do_create_object(bucket, new, object, actor).await
    }

    async fn get_object(&self, bucket: &BucketRef, id: &str) -> Result<Option<Object>> {
        self.do_get_object(bucket, id).await
    }

    async fn replace_object(
        &self,
        bucket: &BucketRef,
        new: &NewBucket,
        object: &Object,
        pre: Precondition,
        actor: &Actor,
    ) -> Result<(Object, bool)> {
        self.do_replace_object(bucket, new, object, pre, actor)
            .await
    }

    async fn patch_object(
        &self,
        bucket: &BucketRef,
        id: &str,
        fields: &Map<String, Value>,
        if_match: Option<i64>,
        modified_at: i64,
        actor: &Actor,
    ) -> Result<Object> {
        self.do_patch_object(bucket, id, fields, if_match, modified_at, actor)
            .await
    }

    async fn delete_object(
        &self,
        bucket: &BucketRef,
        id: &str,
        if_match: Option<i64>,
        actor: &Actor,
    ) -> Result<bool> {
        self.do_delete_object(bucket, id, if_match, actor).await
    }

    async fn delete_bucket(&self, bucket: &BucketRef, actor: &Actor) -> Result<bool> {
        self.do_delete_bucket(bucket, actor).await
    }

    async fn set_bucket_acl(&self, bucket: &BucketRef, acl: &str) -> Result<()> {
        self.do_set_bucket_acl(bucket, acl).await
    }

    async fn set_object_acl(&self, bucket: &BucketRef, id: &str, acl: &str) -> Result<()> {
        self.do_set_object_acl(bucket, id, acl).await
    }

    async fn change_acl(&self, holder: &AclHolder, change: &AclChange) -> Result<()> {
        self.do_change_acl(holder, change).await
    }

    async fn get_scope_acl(&self, app_id: &str, scope: &Scope) -> Result<Option<String>> {
        self.do_get_scope_acl(app_id, scope).await
    }

    async fn set_scope_acl(&self, app_id: &str, scope: &Scope, acl: &str) -> Result<()> {
        self.do_set_scope_acl(app_id, scope, acl).await
    }

    async fn query_objects(
        &self,
        bucket_seq: i64,
        query: &BucketQuery,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Hit>> {
        self.do_query_objects(bucket_seq, query, after, limit).await
    }

    async fn count_objects(&self, bucket_seq: i64, clause: &Clause) -> Result<i64> {
        self.do_count_objects(bucket_seq, clause).await
    }

    async fn create_thing(&self, app_id: &str, thing: &Thing, actor: &Actor) -> Result<()> {
        self.do_create_thing(app_id, thing, actor).await
    }

    async fn get_thing(&self, app_id: &str, key: &ThingKey) -> Result<Option<Thing>> {
        self.do_get_thing(app_id, key).await
    }

    async fn update_thing(
        &self,
        app_id: &str,
        thing_id: &str,
        fields: &Map<String, Value>,
        modified_at: i64,
        actor: &Actor,
    ) -> Result<()> {
        self.do_update_thing(app_id, thing_id, fields, modified_at, actor)
            .await
    }

    async fn set_thing_disabled(
        &self,
        app_id: &str,
        thing_id: &str,
        disabled: bool,
        modified_at: i64,
        actor: &Actor,
    ) -> Result<()> {
        self.do_set_thing_disabled(app_id, thing_id, disabled, modified_at, actor)
            .await
    }

    async fn set_thing_password(
        &self,
        app_id: &str,
        thing_id: &str,
        password_hash: &str,
        modified_at: i64,
        actor: &Actor,
    ) -> Result<()> {
        self.do_set_thing_password(app_id, thing_id, password_hash, modified_at, actor)
            .await
    }

    async fn delete_thing(&self, app_id: &str, thing_id: &str, actor: &Actor) -> Result<bool> {
        self.do_delete_thing(app_id, thing_id, actor).await
    }

    async fn add_thing_owner(
        &self,
        app_id: &str,
        thing_id: &str,
        owner: &ThingOwner,
        actor: &Actor,
    ) -> Result<bool> {
        self.do_add_thing_owner(app_id, thing_id, owner, actor)
            .await
    }

    async fn remove_thing_owner(
        &self,
        app_id: &str,
        thing_id: &str,
        owner: &ThingOwner,
        actor: &Actor,
    ) -> Result<bool> {
        self.do_remove_thing_owner(app_id, thing_id, owner, actor)
            .await
    }

    async fn things_owned_by(
        &self,
        app_id: &str,
        owners: &[ThingOwner],
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Thing>> {
        self.do_things_owned_by(app_id, owners, after, limit).await
    }

    async fn thing_owners(&self, app_id: &str, thing_id: &str) -> Result<Vec<ThingOwner>> {
        self.do_thing_owners(app_id, thing_id).await
    }

    async fn events_since(
        &self,
        app_id: &str,
        after: EventCursor,
        limit: i64,
    ) -> Result<Vec<Event>> {
        self.do_events_since(app_id, after, limit).await
    }

    async fn create_code_version(&self, app_id: &str, version: &CodeVersion) -> Result<()> {
        self.do_create_code_version(app_id, version).await
    }
    async fn list_code_versions(&self, app_id: &str) -> Result<Vec<CodeVersionInfo>> {
        self.do_list_code_versions(app_id).await
    }
    async fn get_code_version(
        &self,
        app_id: &str,
        version_id: Option<&str>,
    ) -> Result<Option<CodeVersion>> {
        self.do_get_code_version(app_id, version_id).await
    }
    async fn delete_code_version(&self, app_id: &str, version_id: &str) -> Result<bool> {
        self.do_delete_code_version(app_id, version_id).await
    }
    async fn get_current_version(&self, app_id: &str) -> Result<Option<String>> {
        self.do_get_current_version(app_id).await
    }
    async fn current_versions(&self) -> Result<Vec<(String, CodeVersion)>> {
        self.do_current_versions().await
    }
    async fn set_current_version(&self, app_id: &str, version_id: Option<&str>) -> Result<()> {
        self.do_set_current_version(app_id, version_id).await
    }
    async fn append_dev_logs(&self, app_id: &str, records: &[NewDevLogRecord]) -> Result<i64> {
        self.do_append_dev_logs(app_id, records).await
    }
    async fn query_dev_logs(
        &self,
        app_id: &str,
        filter: &DevLogFilter,
    ) -> Result<Vec<DevLogRecord>> {
        self.do_query_dev_logs(app_id, filter).await
    }
    async fn dev_log_end(&self, app_id: &str) -> Result<i64> {
        self.do_dev_log_end(app_id).await
    }
    async fn dev_logs_after(
        &self,
        app_id: &str,
        after: i64,
        filter: &DevLogFilter,
    ) -> Result<DevLogPage> {
        self.do_dev_logs_after(app_id, after, filter).await
    }
    async fn subscribe_dev_log(&self) -> tokio::sync::broadcast::Receiver<DevLogNews> {
        self.invalidations.subscribe_dev_log().await
    }
    async fn trim_dev_logs(&self, app_id: &str, max_bytes: i64, min_time_ms: i64) -> Result<u64> {
        self.do_trim_dev_logs(app_id, max_bytes, min_time_ms).await
    }

    // ---- hook configs (sql_hook_configs.rs) ---------------------------------------------------
    async fn put_hook_config(&self, app_id: &str, version_id: &str, config: &str) -> Result<()> {
        self.do_put_hook_config(app_id, version_id, config).await
    }

    async fn get_hook_config(
        &self,
        app_id: &str,
        version_id: Option<&str>,
    ) -> Result<Option<String>> {
        self.do_get_hook_config(app_id, version_id).await
    }

    async fn delete_hook_config(&self, app_id: &str, version_id: &str) -> Result<bool> {
        self.do_delete_hook_config(app_id, version_id).await
    }

    async fn live_hook_configs(&self) -> Result<Vec<(String, String, String)>> {
        self.do_live_hook_configs().await
    }

    // ---- schedule executions: claiming, leases, completing (sql_firings.rs) -------------------
    async fn claim_firings(
        &self,
        firings: &[NewFiring],
        node: &str,
        lease_until: i64,
    ) -> Result<Vec<Claim>> {
        self.do_claim_firings(firings, node, lease_until).await
    }

    async fn renew_firing_leases(&self, node: &str, lease_until: i64) -> Result<u64> {
        self.do_renew_firing_leases(node, lease_until).await
    }

    async fn finish_firing(
        &self,
        app_id: &str,
        id: &str,
        fence: i64,
        status: ExecutionStatus,
        finished_at: i64,
        result: &str,
    ) -> Result<bool> {
        self.do_finish_firing(app_id, id, fence, status, finished_at, result)
            .await
    }

    async fn fail_expired_firings(&self, now: i64, result: &str) -> Result<Vec<ScheduleExecution>> {
        self.do_fail_expired_firings(now, result).await
    }

    // ---- schedule executions: reading and retention (sql_executions.rs) -----------------------
    async fn get_schedule_execution(
        &self,
        app_id: &str,
        id: &str,
    ) -> Result<Option<ScheduleExecution>> {
        self.do_get_schedule_execution(app_id, id).await
    }

    async fn query_schedule_executions(
        &self,
        app_id: &str,
        query: &ExecutionQuery,
        after: Option<&str>,
        limit: i64,
    ) -> Result<ExecutionPage> {
        self.do_query_schedule_executions(app_id, query, after, limit)
            .await
    }

    async fn trim_schedule_executions(
        &self,
        app_id: &str,
        finished_before: i64,
        keep_at_most: i64,
    ) -> Result<u64> {
        self.do_trim_schedule_executions(app_id, finished_before, keep_at_most)
            .await
    }

    async fn schedule_execution_apps(&self) -> Result<Vec<String>> {
        self.do_schedule_execution_apps().await
    }

    // ---- trigger delivery (sql_triggers.rs) ---------------------------------------------------
    async fn ensure_hook_cursor(&self, app_id: &str) -> Result<()> {
        self.do_ensure_hook_cursor(app_id).await
    }

    async fn hook_cursors_with_work(&self, node: &str, now: i64) -> Result<Vec<String>> {
        self.do_hook_cursors_with_work(node, now).await
    }

    async fn lease_hook_cursor(
        &self,
        app_id: &str,
        node: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<EventCursor>> {
        self.do_lease_hook_cursor(app_id, node, now, lease_until)
            .await
    }

    async fn advance_hook_cursor(
        &self,
        app_id: &str,
        node: &str,
        to: EventCursor,
        lease_until: i64,
    ) -> Result<bool> {
        self.do_advance_hook_cursor(app_id, node, to, lease_until)
            .await
    }

    async fn release_hook_cursors(&self, node: &str) -> Result<()> {
        self.do_release_hook_cursors(node).await
    }

    async fn trim_events(&self, before_ms: i64, limit: i64) -> Result<u64> {
        self.do_trim_events(before_ms, limit).await
    }

    async fn add_hook_retry(&self, retry: &HookRetry, not_before: i64) -> Result<()> {
        self.do_add_hook_retry(retry, not_before).await
    }

    async fn claim_hook_retries(
        &self,
        node: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<HookRetry>> {
        self.do_claim_hook_retries(node, now, lease_until, limit)
            .await
    }

    async fn finish_hook_retry(&self, id: i64, node: &str, next: Option<(i64, i64)>) -> Result<()> {
        self.do_finish_hook_retry(id, node, next).await
    }

    async fn start_body_upload(
        &self,
        bucket: &BucketRef,
        object_id: &str,
        upload_id: &str,
        now: i64,
    ) -> Result<bool> {
        self.do_start_body_upload(bucket, object_id, upload_id, now)
            .await
    }

    async fn get_body_upload(
        &self,
        bucket: &BucketRef,
        object_id: &str,
        upload_id: &str,
    ) -> Result<Option<crate::BodyUpload>> {
        self.do_get_body_upload(bucket, object_id, upload_id).await
    }

    async fn shape_body_upload(
        &self,
        app_id: &str,
        upload_id: &str,
        content_type: Option<&str>,
        total: Option<i64>,
    ) -> Result<()> {
        self.do_shape_body_upload(app_id, upload_id, content_type, total)
            .await
    }

    async fn put_body_chunk(
        &self,
        app_id: &str,
        upload_id: &str,
        start: i64,
        data: &[u8],
    ) -> Result<bool> {
        self.do_put_body_chunk(app_id, upload_id, start, data).await
    }

    async fn drop_body_chunks(
        &self,
        app_id: &str,
        upload_id: &str,
        from: i64,
        to: i64,
    ) -> Result<()> {
        self.do_drop_body_chunks(app_id, upload_id, from, to).await
    }

    async fn commit_body_upload(
        &self,
        bucket: &BucketRef,
        object_id: &str,
        upload_id: &str,
        now: i64,
    ) -> Result<crate::BodyCommit> {
        self.do_commit_body_upload(bucket, object_id, upload_id, now)
            .await
    }

    async fn cancel_body_upload(&self, app_id: &str, upload_id: &str) -> Result<bool> {
        self.do_cancel_body_upload(app_id, upload_id).await
    }

    async fn get_body(
        &self,
        bucket: &BucketRef,
        object_id: &str,
    ) -> Result<Option<crate::BodyInfo>> {
        self.do_get_body(bucket, object_id).await
    }

    async fn read_body_chunks(
        &self,
        app_id: &str,
        upload_id: &str,
        from: i64,
        to: i64,
        limit: i64,
    ) -> Result<Vec<crate::BodyChunk>> {
        self.do_read_body_chunks(app_id, upload_id, from, to, limit)
            .await
    }

    async fn delete_body(&self, bucket: &BucketRef, object_id: &str) -> Result<bool> {
        self.do_delete_body(bucket, object_id).await
    }

    async fn publish_body(
        &self,
        bucket: &BucketRef,
        object_id: &str,
        publication_id: &str,
        expires_at: Option<i64>,
        now: i64,
    ) -> Result<bool> {
        self.do_publish_body(bucket, object_id, publication_id, expires_at, now)
            .await
    }

    async fn published_body(&self, publication_id: &str) -> Result<Option<crate::Publication>> {
        self.do_published_body(publication_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redacts_passwords_in_urls() {
        assert_eq!(
            redact("postgres://kumo:s3cret@db:5432/kumo"),
            "postgres://kumo:***@db:5432/kumo"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert_eq!(redact("sqlite://./kumo.db"), "sqlite://./kumo.db");
    }
}

#[cfg(all(test, feature = "testing"))]
mod pragma_tests {
    use sqlx::Row;

    #[tokio::test]
    async fn sqlite_connections_use_wal_and_normal_sync() {
        let db = crate::testing::TestDb::sqlite();
        let store = super::open(&db.url, 2).await.unwrap();
        for pool in [&store.write, &store.read] {
            let mode: String = sqlx::query("PRAGMA journal_mode")
                .fetch_one(&mut *pool.get().await.unwrap())
                .await
                .unwrap()
                .get(0);
            assert_eq!(mode, "wal");
            let sync: i64 = sqlx::query("PRAGMA synchronous")
                .fetch_one(&mut *pool.get().await.unwrap())
                .await
                .unwrap()
                .get(0);
            assert_eq!(sync, 1, "synchronous = NORMAL");
            let fk: i64 = sqlx::query("PRAGMA foreign_keys")
                .fetch_one(&mut *pool.get().await.unwrap())
                .await
                .unwrap()
                .get(0);
            assert_eq!(fk, 1);
        }
        store.write.close().await;
        store.read.close().await;
    }
}
