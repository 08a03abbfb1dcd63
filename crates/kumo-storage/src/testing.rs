//! Scratch databases for tests: a temporary SQLite file, or a fresh PostgreSQL schema in the
//! database named by `KUMO_TEST_DATABASE_URL` (default: the local server on 127.0.0.1:5432).
//! Both are removed when the [`TestDb`] is dropped. PostgreSQL being unreachable is a test
//! failure, never a skip.

use std::path::PathBuf;

use rand::Rng;
use sqlx::{AnyConnection, Connection, Executor};

use crate::Dialect;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn postgres_base_url() -> String {
    std::env::var("KUMO_TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned())
}

/// A scratch database. `url` opens it with [`crate::open`].
pub struct TestDb {
    pub url: String,
    pub dialect: Dialect,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(PathBuf),
    Schema { base_url: String, schema: String },
}

fn suffix() -> String {
    let n: u64 = rand::thread_rng().gen();
    format!("{n:016x}")
}

impl TestDb {
    pub async fn new(dialect: Dialect) -> Self {
        match dialect {
            Dialect::Sqlite => Self::sqlite(),
            Dialect::Postgres => Self::postgres().await,
        }
    }

    pub fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("kumo-test-{}", suffix()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TestDb {
            url: format!("sqlite://{}?mode=rwc", dir.join("kumo.db").display()),
            dialect: Dialect::Sqlite,
            cleanup: Cleanup::Dir(dir),
        }
    }

    pub async fn postgres() -> Self {
        sqlx::any::install_default_drivers();
        let base_url = postgres_base_url();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let schema = format!("kumo_test_{now}_{}", suffix());
        let mut conn = AnyConnection::connect(&base_url).await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL tests need a server: could not connect to {base_url} ({e}). \
                 Set KUMO_TEST_DATABASE_URL to a database where schemas may be created."
            )
        });
        drop_stale_schemas(&mut conn, now).await;
        conn.execute(format!("CREATE SCHEMA {schema}").as_str())
            .await
            .expect("create scratch schema");
        let _ = conn.close().await;
        let sep = if base_url.contains('?') { '&' } else { '?' };
        TestDb {
            url: format!("{base_url}{sep}options=-c%20search_path%3D{schema}"),
            dialect: Dialect::Postgres,
            cleanup: Cleanup::Schema { base_url, schema },
        }
    }
}

/// Schemas that were not dropped (a killed run, or a drop that timed out because a failed
/// test left a connection mid-transaction) are removed by a later run once they are ten
/// minutes old; the creation time is in the name.
async fn drop_stale_schemas(conn: &mut AnyConnection, now: u64) {
    use sqlx::Row;
    let Ok(rows) = sqlx::query(
        "SELECT schema_name::text FROM information_schema.schemata WHERE schema_name LIKE 'kumo_test_%'",
    )
    .fetch_all(&mut *conn)
    .await
    else {
        return;
    };
    for row in rows {
        let Ok(name) = row.try_get::<String, _>(0) else {
            continue;
        };
        let created = name.split('_').nth(2).and_then(|t| t.parse::<u64>().ok());
        // Names without a timestamp come from an older layout: stale too.
        if created.is_none_or(|t| t + 600 < now) {
            let _ = conn
                .execute(format!("DROP SCHEMA IF EXISTS {name} CASCADE").as_str())
                .await;
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Schema { base_url, schema } => {
                let (base_url, schema) = (base_url.clone(), schema.clone());
                // Drop may run inside a runtime, which must not block; a thread with its own
                // runtime can.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    rt.block_on(async {
                        if let Ok(mut conn) = AnyConnection::connect(&base_url).await {
                            // A lock timeout turns a stuck drop (a connection left in a
                            // transaction by a failed test) into a leftover, not a hang.
                            let _ = conn.execute("SET lock_timeout = '5s'").await;
                            let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
                            let _ = conn.execute(sql.as_str()).await;
                            let _ = conn.close().await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// Ends the PostgreSQL backend `pid` as an administrator would (`pg_terminate_backend`), e.g.
/// a store's invalidation listener, to test what a lost connection does.
pub async fn terminate_backend(url: &str, pid: i32) {
    let mut conn = AnyConnection::connect(url).await.expect("connect");
    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .execute(&mut conn)
        .await
        .expect("terminate backend");
    let _ = conn.close().await;
}

/// Deletes a user's tokens behind Kumo's back: no invalidation is sent, as for a change whose
/// notification a node missed.
pub async fn delete_tokens_silently(url: &str, app_id: &str, user_id: &str) {
    let mut conn = AnyConnection::connect(url).await.expect("connect");
    sqlx::query("DELETE FROM tokens WHERE app_id = $1 AND user_id = $2")
        .bind(app_id)
        .bind(user_id)
        .execute(&mut conn)
        .await
        .expect("delete tokens");
    let _ = conn.close().await;
}

/// Writes a schedule execution exactly as given (times, status, result), outside any firing,
/// so that history tests need not wait for a clock. A RUNNING one stays running: no lease
/// check ever fails it.
pub async fn insert_schedule_execution(
    store: &crate::SqlStore,
    execution: &crate::ScheduleExecution,
) -> crate::Result<()> {
    store.insert_schedule_execution(execution).await
}

/// All of the app's change events, in delivery order, once delivery shows every committed
/// one: on PostgreSQL an event shows only when every transaction older than its own has ended,
/// in any database of the server (and tests beside the caller write too).
pub async fn all_events(store: &crate::SqlStore, app_id: &str) -> Vec<crate::Event> {
    use crate::Storage;
    for _ in 0..1_000 {
        let committed: i64 = sqlx::query("SELECT COUNT(*) FROM events WHERE app_id = $1")
            .bind(app_id)
            .fetch_one(&mut *store.read.get().await.expect("connection"))
            .await
            .and_then(|r| sqlx::Row::try_get(&r, 0))
            .expect("count events");
        let events = store
            .events_since(app_id, crate::EventCursor::START, i64::MAX)
            .await
            .expect("events");
        if events.len() as i64 == committed {
            return events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the app's events did not all become deliverable within 10 s");
}
