//! Telling every process that shares the database what its caches must drop.
//!
//! Writes that change something a node caches (the current server-code version, a version,
//! a user's tokens, an ACL, a bucket) send an [`Invalidation`] with
//! `pg_notify('kumo_invalidate', …)` inside their own transaction, so it is delivered only if
//! the change commits, and only after it did. Each store keeps one dedicated connection that
//! LISTENs and fans what arrives out to its subscribers. PostgreSQL does not queue
//! notifications for a connection that is gone, so whenever LISTEN is established again the
//! subscribers get [`Invalidation::Everything`]: anything may have changed meanwhile.
//!
//! On SQLite one process owns the file and drops its own caches as it writes, so nothing is
//! sent and a subscription never yields.
//!
//! The same connection also LISTENs on a second channel, `kumo_devlog`: an append to an app's
//! developer log sends [`DevLogNews`] (the app and its newest record's `seq`) in its
//! transaction, and the live tails of every node wake up and read on from the database. On
//! SQLite the store announces its own appends in-process after they commit.

use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::AnyConnection;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::dialect::Dialect;
use crate::{BucketRef, Result, Scope};

const CHANNEL: &str = "kumo_invalidate";
const DEVLOG_CHANNEL: &str = "kumo_devlog";
/// How the listening connection shows up in `pg_stat_activity`.
const LISTENER_NAME: &str = "kumo-invalidation";
/// Events a slow subscriber may fall behind by before it is told it lagged (and must then
/// drop everything).
const CAPACITY: usize = 1_024;
/// How long a first subscriber waits for LISTEN before it goes on without it (it then gets
/// `Everything` once the listener is up).
const FIRST_LISTEN_WAIT: Duration = Duration::from_secs(5);
const RECONNECT_MIN: Duration = Duration::from_millis(50);
const RECONNECT_MAX: Duration = Duration::from_secs(2);

/// What changed, as precisely as the caches need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalidation {
    /// The app's current server-code version was set or cleared.
    CurrentVersion {
        app_id: String,
    },
    /// A server-code version is gone (and with it the current pointer, if it was current).
    VersionDeleted {
        app_id: String,
        version_id: String,
    },
    /// Every token of the user was revoked (password change, user deletion).
    UserTokens {
        app_id: String,
        user_id: String,
    },
    /// The bucket's ACL changed.
    BucketAcl(BucketRef),
    /// The bucket and its objects were dropped.
    BucketDropped(BucketRef),
    ObjectAcl {
        bucket: BucketRef,
        object_id: String,
    },
    ScopeAcl {
        app_id: String,
        scope: Scope,
    },
    /// Notifications may have been missed (the listener reconnected, or a subscriber fell
    /// behind): drop every cached thing.
    Everything,
}

impl Invalidation {
    /// The app it concerns; `None` for `Everything`.
    pub fn app_id(&self) -> Option<&str> {
        match self {
            Invalidation::CurrentVersion { app_id }
            | Invalidation::VersionDeleted { app_id, .. }
            | Invalidation::UserTokens { app_id, .. }
            | Invalidation::ScopeAcl { app_id, .. } => Some(app_id),
            Invalidation::BucketAcl(b)
            | Invalidation::BucketDropped(b)
            | Invalidation::ObjectAcl { bucket: b, .. } => Some(&b.app_id),
            Invalidation::Everything => None,
        }
    }

    /// The NOTIFY payload. Every ID in it is bounded by its field rule (at most a few hundred
    /// bytes), far below PostgreSQL's 8000-byte payload limit.
    fn to_payload(&self) -> String {
        let v = match self {
            Invalidation::CurrentVersion { app_id } => json!({"k": "current", "app": app_id}),
            Invalidation::VersionDeleted { app_id, version_id } => {
                json!({"k": "version", "app": app_id, "version": version_id})
            }
            Invalidation::UserTokens { app_id, user_id } => {
                json!({"k": "tokens", "app": app_id, "user": user_id})
            }
            Invalidation::BucketAcl(b) => bucket_json("bucketAcl", b),
            Invalidation::BucketDropped(b) => bucket_json("bucketDropped", b),
            Invalidation::ObjectAcl { bucket, object_id } => {
                let mut v = bucket_json("objectAcl", bucket);
                v["object"] = json!(object_id);
                v
            }
            Invalidation::ScopeAcl { app_id, scope } => {
                json!({"k": "scopeAcl", "app": app_id, "scope": scope.key()})
            }
            Invalidation::Everything => json!({"k": "everything"}),
        };
        v.to_string()
    }

    /// `None` for a payload this version of Kumo does not understand.
    fn from_payload(text: &str) -> Option<Invalidation> {
        let v: Value = serde_json::from_str(text).ok()?;
        let s = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
        let bucket = || {
            Some(BucketRef {
                app_id: s("app")?,
                scope: Scope::from_key(&s("scope")?)?,
                name: s("bucket")?,
            })
        };
        Some(match v.get("k")?.as_str()? {
            "current" => Invalidation::CurrentVersion { app_id: s("app")? },
            "version" => Invalidation::VersionDeleted {
                app_id: s("app")?,
                version_id: s("version")?,
            },
            "tokens" => Invalidation::UserTokens {
                app_id: s("app")?,
                user_id: s("user")?,
            },
            "bucketAcl" => Invalidation::BucketAcl(bucket()?),
            "bucketDropped" => Invalidation::BucketDropped(bucket()?),
            "objectAcl" => Invalidation::ObjectAcl {
                bucket: bucket()?,
                object_id: s("object")?,
            },
            "scopeAcl" => Invalidation::ScopeAcl {
                app_id: s("app")?,
                scope: Scope::from_key(&s("scope")?)?,
            },
            "everything" => Invalidation::Everything,
            _ => return None,
        })
    }
}

/// That an app's developer log grew: a wake-up for its live tails, which then read the new
/// records from the database (a notification carries no records: the payload limit is 8000
/// bytes, and the database stays the one source of order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevLogNews {
    Appended {
        app_id: String,
        /// The `seq` of the newest record appended.
        last_seq: i64,
    },
    /// News may have been lost (the listener reconnected, or a receiver lagged): every tail
    /// should look again.
    MaybeMissed,
}

impl DevLogNews {
    fn to_payload(app_id: &str, last_seq: i64) -> String {
        json!({"app": app_id, "last": last_seq}).to_string()
    }

    fn from_payload(text: &str) -> DevLogNews {
        let v: Option<Value> = serde_json::from_str(text).ok();
        let app = v.as_ref().and_then(|v| v.get("app")?.as_str());
        let last = v.as_ref().and_then(|v| v.get("last")?.as_i64());
        match (app, last) {
            (Some(app), Some(last)) => DevLogNews::Appended {
                app_id: app.to_owned(),
                last_seq: last,
            },
            _ => DevLogNews::MaybeMissed,
        }
    }
}

/// Announces an append from inside its transaction on `conn` (PostgreSQL only; SQLite's store
/// announces in-process once the append committed).
pub(crate) async fn notify_dev_log(
    conn: &mut AnyConnection,
    app_id: &str,
    last_seq: i64,
) -> Result<()> {
    sqlx::query("SELECT COUNT(*) FROM (SELECT pg_notify($1, $2)) AS sent")
        .bind(DEVLOG_CHANNEL)
        .bind(DevLogNews::to_payload(app_id, last_seq))
        .execute(conn)
        .await?;
    Ok(())
}

fn bucket_json(kind: &str, b: &BucketRef) -> Value {
    json!({"k": kind, "app": b.app_id, "scope": b.scope.key(), "bucket": b.name})
}

/// Sends `event` from inside the write's transaction on `conn`: PostgreSQL delivers it when
/// (and only if) that transaction commits.
pub(crate) async fn notify(
    conn: &mut AnyConnection,
    dialect: Dialect,
    event: &Invalidation,
) -> Result<()> {
    if dialect == Dialect::Postgres {
        // pg_notify returns void, which the Any driver cannot decode: count its one row.
        sqlx::query("SELECT COUNT(*) FROM (SELECT pg_notify($1, $2)) AS sent")
            .bind(CHANNEL)
            .bind(event.to_payload())
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// A store's end of the invalidations: the subscribers, and on PostgreSQL the listening task,
/// started by the first subscription and stopped with the store.
pub(crate) struct Invalidations {
    sender: broadcast::Sender<Invalidation>,
    dev_log: broadcast::Sender<DevLogNews>,
    /// The database to LISTEN on; `None` on SQLite.
    url: Option<String>,
    listener: Mutex<Option<Listening>>,
}

struct Listening {
    task: JoinHandle<()>,
    /// The listening connection's backend process while LISTEN is in force.
    pid: watch::Receiver<Option<i32>>,
}

impl Invalidations {
    pub(crate) fn new(dialect: Dialect, url: &str) -> Self {
        Invalidations {
            sender: broadcast::channel(CAPACITY).0,
            dev_log: broadcast::channel(CAPACITY).0,
            url: (dialect == Dialect::Postgres).then(|| url.to_owned()),
            listener: Mutex::new(None),
        }
    }

    /// A receiver of every invalidation from now on. On PostgreSQL the first call starts the
    /// listener and waits (boundedly) until it listens, so that a server that subscribes
    /// before it caches anything misses nothing.
    pub(crate) async fn subscribe(&self) -> broadcast::Receiver<Invalidation> {
        self.listening().await;
        self.sender.subscribe()
    }

    /// A receiver of every developer-log append from now on (the same listener).
    pub(crate) async fn subscribe_dev_log(&self) -> broadcast::Receiver<DevLogNews> {
        self.listening().await;
        self.dev_log.subscribe()
    }

    /// An append committed in this process (SQLite).
    pub(crate) fn announce_dev_log(&self, news: DevLogNews) {
        // No subscriber is not an error: nobody tails then.
        let _ = self.dev_log.send(news);
    }

    /// On PostgreSQL, starts the listener if it is not running and waits (boundedly) until it
    /// listens.
    async fn listening(&self) {
        let Some(url) = &self.url else {
            return;
        };
        let mut pid = {
            let mut listener = self.listener.lock().unwrap_or_else(|e| e.into_inner());
            let listening = listener.get_or_insert_with(|| {
                let (pid_tx, pid_rx) = watch::channel(None);
                let senders = Senders {
                    invalidations: self.sender.clone(),
                    dev_log: self.dev_log.clone(),
                };
                let task = tokio::spawn(listen(url.clone(), senders, pid_tx));
                Listening { task, pid: pid_rx }
            });
            listening.pid.clone()
        };
        // Subscribing after the first LISTEN skips its `Everything` (nothing is cached yet);
        // if the wait times out, the receiver gets it once the listener is up.
        let _ = tokio::time::timeout(FIRST_LISTEN_WAIT, pid.wait_for(Option::is_some)).await;
    }

    /// The backend process of the listening connection while it listens (diagnostics, tests).
    pub(crate) fn listener_pid(&self) -> Option<i32> {
        let listener = self.listener.lock().unwrap_or_else(|e| e.into_inner());
        listener.as_ref().and_then(|l| *l.pid.borrow())
    }

    pub(crate) fn stop(&self) {
        if let Some(l) = self
            .listener
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            l.task.abort();
        }
    }
}

impl Drop for Invalidations {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where the listener relays what arrives on each channel.
struct Senders {
    invalidations: broadcast::Sender<Invalidation>,
    dev_log: broadcast::Sender<DevLogNews>,
}

/// LISTENs until aborted, reconnecting with backoff whenever the connection is lost.
async fn listen(url: String, senders: Senders, pid: watch::Sender<Option<i32>>) {
    let mut backoff = RECONNECT_MIN;
    loop {
        match connect(&url).await {
            Ok((mut listener, backend)) => {
                backoff = RECONNECT_MIN;
                // Whatever was sent while no connection listened is lost. Sent before the pid
                // is published, so a first subscriber (which waits for the pid) skips it.
                let _ = senders.invalidations.send(Invalidation::Everything);
                let _ = senders.dev_log.send(DevLogNews::MaybeMissed);
                pid.send_replace(Some(backend));
                relay(&mut listener, &senders).await;
                pid.send_replace(None);
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for cache invalidations; retrying")
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(RECONNECT_MAX);
    }
}

async fn connect(url: &str) -> std::result::Result<(PgListener, i32), sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?.application_name(LISTENER_NAME);
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?;
    let mut listener = PgListener::connect_with(&pool).await?;
    // Reconnecting is `listen`'s job, so it can flush once LISTEN is back.
    listener.eager_reconnect(false);
    listener.listen_all([CHANNEL, DEVLOG_CHANNEL]).await?;
    let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut listener)
        .await?;
    Ok((listener, backend))
}

/// Forwards notifications until the connection is lost.
async fn relay(listener: &mut PgListener, senders: &Senders) {
    loop {
        match listener.try_recv().await {
            Ok(Some(n)) if n.channel() == DEVLOG_CHANNEL => {
                let _ = senders.dev_log.send(DevLogNews::from_payload(n.payload()));
            }
            Ok(Some(n)) => {
                let event = Invalidation::from_payload(n.payload()).unwrap_or_else(|| {
                    // From a newer Kumo on the same database: dropping everything is safe.
                    tracing::warn!(payload = n.payload(), "unknown invalidation");
                    Invalidation::Everything
                });
                // No subscriber is not an error: nothing is cached then.
                let _ = senders.invalidations.send(event);
            }
            Ok(None) => {
                tracing::warn!("lost the invalidation listener's connection; reconnecting");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "the invalidation listener failed; reconnecting");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        let b = BucketRef {
            app_id: "a1".into(),
            scope: Scope::User("u-1".into()),
            name: "notes".into(),
        };
        for event in [
            Invalidation::CurrentVersion {
                app_id: "a1".into(),
            },
            Invalidation::VersionDeleted {
                app_id: "a1".into(),
                version_id: "v1".into(),
            },
            Invalidation::UserTokens {
                app_id: "a1".into(),
                user_id: "u-1".into(),
            },
            Invalidation::BucketAcl(b.clone()),
            Invalidation::BucketDropped(BucketRef {
                scope: Scope::App,
                ..b.clone()
            }),
            Invalidation::ObjectAcl {
                bucket: BucketRef {
                    scope: Scope::Group("g".into()),
                    ..b.clone()
                },
                object_id: "o1".into(),
            },
            Invalidation::ScopeAcl {
                app_id: "a1".into(),
                scope: Scope::App,
            },
            Invalidation::Everything,
        ] {
            assert_eq!(
                Invalidation::from_payload(&event.to_payload()),
                Some(event.clone())
            );
        }
        assert_eq!(Invalidation::from_payload(r#"{"k":"new-kind"}"#), None);
        assert_eq!(Invalidation::from_payload("not json"), None);
    }

    #[test]
    fn dev_log_payloads_round_trip() {
        assert_eq!(
            DevLogNews::from_payload(&DevLogNews::to_payload("a1", 8193)),
            DevLogNews::Appended {
                app_id: "a1".into(),
                last_seq: 8193
            }
        );
        assert_eq!(
            DevLogNews::from_payload(r#"{"app":"a1"}"#),
            DevLogNews::MaybeMissed
        );
    }
}
