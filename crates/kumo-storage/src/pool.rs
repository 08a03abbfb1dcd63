//! The connection pool.
//!
//! sqlx's pool pings every connection it takes back (and, by default, every one it hands out):
//! on PostgreSQL a second network round trip for every statement, on SQLite a second trip to
//! the connection's thread. This pool hands connections out and takes them back without one.
//! That is safe because sqlx connections recover on their own: a statement abandoned halfway
//! (its request was cancelled) is drained before the next one starts. A transaction dropped
//! without commit queues its rollback; on PostgreSQL that rollback is sent before the
//! connection goes back, so no idle connection sits in a transaction holding row locks.
//!
//! A connection that broke (the database restarted, the socket closed) is not detected by a
//! ping, then, but by its failure: any I/O-level error moves the pool's epoch on, and a
//! connection checked out before that is closed instead of taken back, together with every
//! idle one. The request that met the broken connection gets 503; the next ones get fresh
//! connections.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, ConnectOptions, Executor};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Moves on whenever any connection meets an I/O-level error.
static EPOCH: AtomicU64 = AtomicU64::new(0);

/// Called for errors that mean a connection may be unusable.
pub(crate) fn connection_failed() {
    EPOCH.fetch_add(1, Ordering::SeqCst);
}

#[derive(Clone)]
pub(crate) struct Pool {
    shared: Arc<Shared>,
}

struct Shared {
    options: AnyConnectOptions,
    /// SQL run on every new connection.
    init: Option<&'static str>,
    idle: Mutex<Idle>,
    slots: Arc<Semaphore>,
    acquire_timeout: Duration,
}

struct Idle {
    connections: Vec<AnyConnection>,
    /// The epoch the idle connections are known good in.
    epoch: u64,
}

/// A connection on loan from the pool; it goes back when dropped.
pub(crate) struct Conn {
    conn: Option<AnyConnection>,
    shared: Arc<Shared>,
    epoch: u64,
    slot: Option<OwnedSemaphorePermit>,
}

impl Pool {
    /// A pool of at most `max` connections; one is opened now, so a bad URL fails here.
    pub(crate) async fn connect(
        options: AnyConnectOptions,
        max: u32,
        init: Option<&'static str>,
        acquire_timeout: Duration,
    ) -> Result<Pool, sqlx::Error> {
        let pool = Pool {
            shared: Arc::new(Shared {
                options,
                init,
                idle: Mutex::new(Idle {
                    connections: Vec::new(),
                    epoch: EPOCH.load(Ordering::SeqCst),
                }),
                slots: Arc::new(Semaphore::new(max.max(1) as usize)),
                acquire_timeout,
            }),
        };
        drop(pool.get().await?);
        Ok(pool)
    }

    pub(crate) async fn get(&self) -> Result<Conn, sqlx::Error> {
        let shared = &self.shared;
        let slot =
            tokio::time::timeout(shared.acquire_timeout, shared.slots.clone().acquire_owned())
                .await
                .map_err(|_| sqlx::Error::PoolTimedOut)?
                .map_err(|_| sqlx::Error::PoolClosed)?;
        let epoch = EPOCH.load(Ordering::SeqCst);
        let idle = {
            let mut idle = shared.lock();
            if idle.epoch != epoch {
                // Something broke since these were last used: they may be broken too.
                idle.connections.clear();
                idle.epoch = epoch;
            }
            idle.connections.pop()
        };
        let conn = match idle {
            Some(conn) => conn,
            // An unreachable database must not hold the request longer than a busy pool would.
            None => tokio::time::timeout(shared.acquire_timeout, shared.open())
                .await
                .map_err(|_| sqlx::Error::PoolTimedOut)??,
        };
        Ok(Conn {
            conn: Some(conn),
            shared: shared.clone(),
            epoch,
            slot: Some(slot),
        })
    }

    /// Refuses new loans and closes the idle connections; loaned ones close when returned.
    pub(crate) async fn close(&self) {
        self.shared.slots.close();
        let idle = std::mem::take(&mut self.shared.lock().connections);
        for conn in idle {
            let _ = sqlx::Connection::close(conn).await;
        }
    }
}

impl Shared {
    async fn open(&self) -> Result<AnyConnection, sqlx::Error> {
        let mut conn = self.options.connect().await?;
        if let Some(init) = self.init {
            conn.execute(sqlx::raw_sql(init)).await?;
        }
        Ok(conn)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Idle> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a connection back, unless something broke since it was lent (it then closes).
    fn take_back(&self, conn: AnyConnection, epoch: u64) {
        if self.slots.is_closed() || EPOCH.load(Ordering::SeqCst) != epoch {
            return;
        }
        let mut idle = self.lock();
        if idle.epoch == epoch {
            idle.connections.push(conn);
        }
    }
}

impl Conn {
    pub(crate) async fn begin(&mut self) -> Result<sqlx::Transaction<'_, sqlx::Any>, sqlx::Error> {
        sqlx::Connection::begin(&mut **self).await
    }
}

impl std::ops::Deref for Conn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        self.conn.as_ref().expect("a loaned connection")
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.conn.as_mut().expect("a loaned connection")
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let (Some(mut conn), Some(slot)) = (self.conn.take(), self.slot.take()) else {
            return;
        };
        if !sqlx::Connection::should_flush(&conn) {
            self.shared.take_back(conn, self.epoch);
            return;
        }
        // A rollback (or other message) waits in the connection's buffer: send it first. The
        // slot stays taken until then. Outside a runtime the connection is just closed.
        let (shared, epoch) = (self.shared.clone(), self.epoch);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if sqlx::Connection::flush(&mut conn).await.is_ok() {
                    shared.take_back(conn, epoch);
                }
                drop(slot);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use sqlx::{Connection, Row};

    use super::*;
    use crate::testing::TestDb;
    use crate::Dialect;

    async fn pool(db: &TestDb) -> Pool {
        let options = AnyConnectOptions::from_str(&db.url).unwrap();
        let init = (db.dialect == Dialect::Sqlite).then_some("PRAGMA journal_mode = WAL;");
        Pool::connect(options, 1, init, Duration::from_secs(5))
            .await
            .unwrap()
    }

    /// A request cancelled inside a transaction (its future dropped) leaves neither locks nor
    /// an open transaction behind on the connection the next request gets.
    async fn abandoned_transaction_is_rolled_back(dialect: Dialect) {
        let db = TestDb::new(dialect).await;
        let pool = pool(&db).await;
        let setup = "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)";
        sqlx::query(setup)
            .execute(&mut *pool.get().await.unwrap())
            .await
            .unwrap();
        sqlx::query("INSERT INTO t (id, v) VALUES (1, 0)")
            .execute(&mut *pool.get().await.unwrap())
            .await
            .unwrap();
        {
            let mut conn = pool.get().await.unwrap();
            let mut tx = conn.begin().await.unwrap();
            sqlx::query("UPDATE t SET v = 1 WHERE id = 1")
                .execute(&mut *tx)
                .await
                .unwrap();
            // Dropped here without commit, as when a request's future is dropped.
        }
        if dialect == Dialect::Postgres {
            // Another connection can take the row's lock at once.
            let mut other = AnyConnection::connect(&db.url).await.unwrap();
            other.execute("SET lock_timeout = '3s'").await.unwrap();
            sqlx::query("UPDATE t SET v = 2 WHERE id = 1")
                .execute(&mut other)
                .await
                .expect("no lock left behind");
            other.close().await.unwrap();
        }
        // The pool's only connection is usable and not inside a transaction.
        let mut conn = pool.get().await.unwrap();
        let mut tx = conn.begin().await.expect("a fresh transaction");
        let v: i64 = sqlx::query("SELECT v FROM t WHERE id = 1")
            .fetch_one(&mut *tx)
            .await
            .unwrap()
            .get(0);
        assert_eq!(v, if dialect == Dialect::Postgres { 2 } else { 0 });
        tx.rollback().await.unwrap();
        drop(conn);
        pool.close().await;
    }

    #[tokio::test]
    async fn abandoned_transaction_is_rolled_back_sqlite() {
        abandoned_transaction_is_rolled_back(Dialect::Sqlite).await;
    }

    #[tokio::test]
    async fn abandoned_transaction_is_rolled_back_postgres() {
        abandoned_transaction_is_rolled_back(Dialect::Postgres).await;
    }

    /// Connections the server killed (a restart, an administrator) cost at most the one
    /// statement that meets a dead connection; the pool then opens fresh ones.
    #[tokio::test]
    async fn killed_connections_are_replaced() {
        let db = TestDb::new(Dialect::Postgres).await;
        let name = format!("kumo_pool_test_{}", std::process::id());
        let pool = Pool::connect(
            AnyConnectOptions::from_str(&format!("{}&application_name={name}", db.url)).unwrap(),
            4,
            None,
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        // Four connections in the pool, all idle.
        let held: Vec<Conn> = hold(&pool, 4).await;
        drop(held);
        let mut admin = AnyConnection::connect(&db.url).await.unwrap();
        let killed: i64 = sqlx::query(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = $1",
        )
        .bind(&name)
        .fetch_one(&mut admin)
        .await
        .unwrap()
        .get(0);
        assert_eq!(killed, 4);
        let mut failures = 0;
        for _ in 0..6 {
            let conn = pool.get().await;
            let outcome = match conn {
                Ok(mut conn) => sqlx::query("SELECT 1")
                    .execute(&mut *conn)
                    .await
                    .map(|_| ()),
                Err(e) => Err(e),
            };
            if let Err(e) = outcome {
                failures += 1;
                // As every storage method does with its errors (`?`), which is what tells the
                // pool that connections may be broken.
                let _ = crate::StorageError::from(e);
            }
        }
        assert!(failures <= 1, "{failures} statements failed");
        admin.close().await.unwrap();
        pool.close().await;
    }

    /// A database that accepts connections but never answers costs the acquire timeout, not a
    /// hung request.
    #[tokio::test]
    async fn a_silent_database_times_out() {
        sqlx::any::install_default_drivers();
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("postgres://kumo@{}/x", silent.local_addr().unwrap());
        let connect = Pool::connect(
            AnyConnectOptions::from_str(&url).unwrap(),
            2,
            None,
            Duration::from_millis(300),
        );
        // (The outer bound only turns a hang into a failure.)
        let outcome = tokio::time::timeout(Duration::from_secs(60), connect)
            .await
            .expect("the pool's own timeout ends the wait");
        assert!(
            matches!(outcome, Err(sqlx::Error::PoolTimedOut)),
            "{:?}",
            outcome.err()
        );
        drop(silent);
    }

    async fn hold(pool: &Pool, n: usize) -> Vec<Conn> {
        let mut held = Vec::new();
        for _ in 0..n {
            held.push(pool.get().await.unwrap());
        }
        held
    }
}
