//! Cache invalidations between processes sharing a PostgreSQL database: every write that
//! changes something a node caches is announced to the other stores on the database, only
//! once it committed, and a listener that lost its connection says `Everything` once it is
//! back. Two stores on one database stand for two nodes.

mod common;

use std::sync::Arc;
use std::time::Duration;

use kumo_storage::testing::{terminate_backend, TestDb};
use kumo_storage::{
    open, AclChange, AclHolder, Actor, App, BucketRef, CodeVersion, Invalidation, NewBucket,
    Object, Scope, SqlStore, Storage, StorageError, User,
};
use kumo_types::acl::{Action, Subject};
use tokio::sync::broadcast::Receiver;

/// Generous: it only bounds how long a missing notification takes to fail the test.
const PATIENCE: Duration = Duration::from_secs(10);

/// The database is shared with other tests (one schema each, but one NOTIFY channel), so
/// every test works in an app of its own and looks only at that app's events.
fn unique_app() -> String {
    kumo_types::ids::app_id()
}

/// A writing node and a listening node on one scratch database.
async fn two_nodes() -> (TestDb, Arc<SqlStore>, Arc<SqlStore>) {
    let db = TestDb::postgres().await;
    let writer = Arc::new(open(&db.url, 2).await.expect("open writer"));
    let listener = Arc::new(open(&db.url, 2).await.expect("open listener"));
    (db, writer, listener)
}

/// The next invalidation for `app_id` (or `Everything`), failing after [`PATIENCE`].
async fn next_for(rx: &mut Receiver<Invalidation>, app_id: &str) -> Invalidation {
    let wait = async {
        loop {
            let event = rx.recv().await.expect("subscription open");
            if event.app_id().is_none_or(|a| a == app_id) {
                return event;
            }
        }
    };
    tokio::time::timeout(PATIENCE, wait)
        .await
        .expect("an invalidation within the patience")
}

/// Like [`next_for`], skipping `Everything` (which a reconnect may add at any time).
async fn next_change(rx: &mut Receiver<Invalidation>, app_id: &str) -> Invalidation {
    loop {
        match next_for(rx, app_id).await {
            Invalidation::Everything => continue,
            event => return event,
        }
    }
}

fn actor() -> Actor {
    Actor {
        principal: "admin".into(),
        from_server_code: false,
        by_hook: false,
    }
}

fn version(id: &str) -> CodeVersion {
    CodeVersion {
        version_id: id.into(),
        source: "function f(params, context, done) { done(1); }".into(),
        environment_version: "16".into(),
        created_at: 1,
        modified_at: 1,
    }
}

fn bucket(app_id: &str) -> BucketRef {
    BucketRef {
        app_id: app_id.into(),
        scope: Scope::App,
        name: "notes".into(),
    }
}

async fn setup(s: &SqlStore, app_id: &str) {
    s.create_app(&App {
        id: app_id.into(),
        key: "k".into(),
        name: "n".into(),
        client_id: format!("c-{app_id}"),
        client_secret_hash: "h".into(),
        created_at: 1,
    })
    .await
    .unwrap();
    for u in ["u1", "u2"] {
        let user = User {
            id: u.into(),
            login_name: Some(format!("login-{u}")),
            created_at: 1,
            modified_at: 1,
            ..User::default()
        };
        s.create_user(app_id, &user, &actor()).await.unwrap();
    }
    for v in ["v1", "v2"] {
        s.create_code_version(app_id, &version(v)).await.unwrap();
    }
    let object = Object {
        id: "o1".into(),
        data: Default::default(),
        data_type: None,
        owner: None,
        acl: "{}".into(),
        version: 1,
        created_at: 1,
        modified_at: 1,
    };
    let new = NewBucket {
        creator: None,
        acl: "{}".into(),
    };
    s.create_object(&bucket(app_id), &new, &object, &actor())
        .await
        .unwrap();
}

fn grant(action: Action) -> AclChange {
    AclChange {
        action,
        subject: Subject::User("u1".into()),
        grant: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_a_cache_depends_on_is_announced_to_the_other_node() {
    let (_db, writer, listener) = two_nodes().await;
    let app = unique_app();
    setup(&writer, &app).await;
    let mut rx = listener.subscribe_invalidations().await;
    let b = bucket(&app);
    let object_acl = || Invalidation::ObjectAcl {
        bucket: b.clone(),
        object_id: "o1".into(),
    };
    let scope_acl = || Invalidation::ScopeAcl {
        app_id: app.clone(),
        scope: Scope::App,
    };
    let tokens = |user: &str| Invalidation::UserTokens {
        app_id: app.clone(),
        user_id: user.into(),
    };

    writer.set_current_version(&app, Some("v1")).await.unwrap();
    let current = Invalidation::CurrentVersion {
        app_id: app.clone(),
    };
    assert_eq!(next_change(&mut rx, &app).await, current);
    writer.set_current_version(&app, None).await.unwrap();
    assert_eq!(next_change(&mut rx, &app).await, current);
    assert!(writer.delete_code_version(&app, "v2").await.unwrap());
    let deleted = Invalidation::VersionDeleted {
        app_id: app.clone(),
        version_id: "v2".into(),
    };
    assert_eq!(next_change(&mut rx, &app).await, deleted);

    writer
        .set_password(&app, "u1", "$argon2id$new", 2, &actor())
        .await
        .unwrap();
    assert_eq!(next_change(&mut rx, &app).await, tokens("u1"));
    assert!(writer.delete_user(&app, "u2", &actor()).await.unwrap());
    assert_eq!(next_change(&mut rx, &app).await, tokens("u2"));

    let holder = AclHolder::Bucket(b.clone());
    writer
        .change_acl(&holder, &grant(Action::QueryObjectsInBucket))
        .await
        .unwrap();
    assert_eq!(
        next_change(&mut rx, &app).await,
        Invalidation::BucketAcl(b.clone())
    );
    let holder = AclHolder::Object(b.clone(), "o1".into());
    writer
        .change_acl(&holder, &grant(Action::ReadExistingObject))
        .await
        .unwrap();
    assert_eq!(next_change(&mut rx, &app).await, object_acl());
    let holder = AclHolder::Scope {
        app_id: app.clone(),
        scope: Scope::App,
        default: "{}".into(),
    };
    writer
        .change_acl(&holder, &grant(Action::CreateNewBucket))
        .await
        .unwrap();
    assert_eq!(next_change(&mut rx, &app).await, scope_acl());

    writer.set_bucket_acl(&b, "{}").await.unwrap();
    assert_eq!(
        next_change(&mut rx, &app).await,
        Invalidation::BucketAcl(b.clone())
    );
    writer.set_object_acl(&b, "o1", "{}").await.unwrap();
    assert_eq!(next_change(&mut rx, &app).await, object_acl());
    writer.set_scope_acl(&app, &Scope::App, "{}").await.unwrap();
    assert_eq!(next_change(&mut rx, &app).await, scope_acl());

    assert!(writer.delete_bucket(&b, &actor()).await.unwrap());
    assert_eq!(
        next_change(&mut rx, &app).await,
        Invalidation::BucketDropped(b.clone())
    );
    writer.close().await;
    listener.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_and_rolled_back_writes_announce_nothing() {
    let (_db, writer, listener) = two_nodes().await;
    let app = unique_app();
    setup(&writer, &app).await;
    let mut rx = listener.subscribe_invalidations().await;
    let b = bucket(&app);

    // The pointer was already cleared and the notification sent in this transaction when
    // the missing version failed it: both are rolled back.
    let missing = writer.set_current_version(&app, Some("nope")).await;
    assert!(
        matches!(missing, Err(StorageError::NotFound(_))),
        "{missing:?}"
    );
    assert!(!writer.delete_code_version(&app, "nope").await.unwrap());
    let no_user = writer.set_password(&app, "nobody", "h", 2, &actor()).await;
    assert!(no_user.is_err());
    assert!(!writer.delete_user(&app, "nobody", &actor()).await.unwrap());
    // Revoking what was never granted changes nothing, so nothing is announced.
    let revoke = AclChange {
        grant: false,
        ..grant(Action::QueryObjectsInBucket)
    };
    writer
        .change_acl(&AclHolder::Bucket(b.clone()), &revoke)
        .await
        .unwrap();
    let elsewhere = BucketRef {
        name: "absent".into(),
        ..b.clone()
    };
    assert!(!writer.delete_bucket(&elsewhere, &actor()).await.unwrap());
    assert!(writer.set_bucket_acl(&elsewhere, "{}").await.is_err());

    // Notifications arrive in commit order: if any of the above had sent one, it would come
    // before this one.
    writer.set_current_version(&app, Some("v1")).await.unwrap();
    assert_eq!(
        next_change(&mut rx, &app).await,
        Invalidation::CurrentVersion {
            app_id: app.clone()
        }
    );
    assert_eq!(
        writer.get_current_version(&app).await.unwrap().as_deref(),
        Some("v1")
    );
    writer.close().await;
    listener.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_that_lost_its_connection_comes_back_and_says_everything() {
    let (db, writer, listener) = two_nodes().await;
    let app = unique_app();
    setup(&writer, &app).await;
    let mut rx = listener.subscribe_invalidations().await;
    let first = listener
        .invalidation_listener_pid()
        .expect("listening once subscribed");

    terminate_backend(&db.url, first).await;
    assert_eq!(next_for(&mut rx, &app).await, Invalidation::Everything);
    // The new connection's pid is published just after `Everything` is sent.
    let relisten = async {
        loop {
            match listener.invalidation_listener_pid() {
                Some(pid) if pid != first => return,
                _ => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    };
    tokio::time::timeout(PATIENCE, relisten)
        .await
        .expect("a new connection listens");

    // And it relays again.
    writer.set_current_version(&app, Some("v1")).await.unwrap();
    assert_eq!(
        next_change(&mut rx, &app).await,
        Invalidation::CurrentVersion {
            app_id: app.clone()
        }
    );
    writer.close().await;
    listener.close().await;
}

#[tokio::test]
async fn on_sqlite_a_subscription_stays_silent() {
    common::with_store(kumo_storage::Dialect::Sqlite, |s, _| async move {
        let app = unique_app();
        setup(&s, &app).await;
        let mut rx = s.subscribe_invalidations().await;
        s.set_current_version(&app, Some("v1")).await.unwrap();
        assert!(s.delete_bucket(&bucket(&app), &actor()).await.unwrap());
        // SQLite has one process: it drops its own caches as it writes, nothing is sent.
        assert!(matches!(
            rx.try_recv(),
            Err(tokio::sync::broadcast::error::TryRecvError::Empty)
        ));
    })
    .await;
}

/// Two nodes append to one app's log at once, each in many small bursts, while a third
/// follows it by cursor woken by the announcements: it sees every record once, in `seq`
/// order, and every burst of each node in the order that node wrote them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tail_on_a_third_node_sees_concurrent_appends_in_order_none_missed() {
    use kumo_storage::{DevLogFilter, DevLogLevel, DevLogNews, NewDevLogRecord};
    let (db, a, b) = two_nodes().await;
    let tail = Arc::new(open(&db.url, 2).await.expect("open tail"));
    let app = unique_app();
    let mut news = tail.subscribe_dev_log().await;
    let mut cursor = tail.dev_log_end(&app).await.unwrap();
    const BURSTS: i64 = 150;
    let write = |store: Arc<SqlStore>, node: &'static str| {
        let app = app.clone();
        tokio::spawn(async move {
            for burst in 0..BURSTS {
                let records: Vec<_> = (0..3)
                    .map(|i| {
                        let mut fields = serde_json::Map::new();
                        fields.insert("node".into(), node.into());
                        fields.insert("n".into(), (burst * 3 + i).into());
                        NewDevLogRecord::new(1, DevLogLevel::Info, "k", None, &fields)
                    })
                    .collect();
                store.append_dev_logs(&app, &records).await.unwrap();
            }
        })
    };
    let writers = [write(a.clone(), "a"), write(b.clone(), "b")];
    let mut seen = Vec::new();
    let filter = DevLogFilter::default();
    while seen.len() < (2 * BURSTS * 3) as usize {
        let page = tail.dev_logs_after(&app, cursor, &filter).await.unwrap();
        cursor = page.cursor;
        let idle = page.records.is_empty() && !page.more;
        seen.extend(page.records);
        if idle {
            let woke = async {
                loop {
                    match news.recv().await {
                        Ok(DevLogNews::Appended { app_id, .. }) if app_id != app => continue,
                        _ => return,
                    }
                }
            };
            tokio::time::timeout(PATIENCE, woke)
                .await
                .expect("an announcement while records are missing");
        }
    }
    for w in writers {
        w.await.unwrap();
    }
    assert!(
        seen.windows(2).all(|w| w[0].seq < w[1].seq),
        "in seq order, none twice"
    );
    for node in ["a", "b"] {
        let ns: Vec<i64> = seen
            .iter()
            .filter(|r| r.fields["node"] == node)
            .map(|r| r.fields["n"].as_i64().unwrap())
            .collect();
        assert_eq!(ns, (0..BURSTS * 3).collect::<Vec<_>>(), "node {node}");
    }
    // Read again from the start once all committed: the same records, so the tail passed
    // none by (no older chunk committed after a newer one it had read).
    let mut again = Vec::new();
    let mut from = -1;
    loop {
        let page = tail.dev_logs_after(&app, from, &filter).await.unwrap();
        let done = page.cursor == from && !page.more;
        from = page.cursor;
        again.extend(page.records.into_iter().map(|r| r.seq));
        if done {
            break;
        }
    }
    assert_eq!(again, seen.iter().map(|r| r.seq).collect::<Vec<_>>());
    for s in [a, b, tail] {
        s.close().await;
    }
}
