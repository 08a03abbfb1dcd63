//! Buckets, objects, versions, ACL columns and change events, on both backends.

mod common;

use std::sync::Arc;

use kumo_storage::testing::all_events;
use kumo_storage::{
    Actor, App, BucketRef, Entity, EventCursor, NewBucket, Object, Precondition, Scope, SqlStore,
    Storage, StorageError, Unique,
};
use kumo_types::query::BucketQuery;
use serde_json::{json, Map, Value};

on_both_backends!(
    object_life_cycle_and_versions,
    preconditions,
    buckets_are_per_scope_and_deleted_with_content,
    acl_columns,
    events_are_recorded_with_each_change,
    pages_stay_correct_while_objects_come_and_go,
    count_and_bad_cursor,
    equality_by_creation_matches_the_general_path,
    concurrent_creates_fail_alone,
    concurrent_creates_into_a_new_bucket,
    concurrent_creates_into_several_buckets,
    deletes_leave_no_index_rows,
);

fn app() -> App {
    App {
        id: "a1".into(),
        key: "k".into(),
        name: "n".into(),
        client_id: "c".into(),
        client_secret_hash: "h".into(),
        created_at: 1,
    }
}

fn bucket(scope: Scope, name: &str) -> BucketRef {
    BucketRef {
        app_id: "a1".into(),
        scope,
        name: name.into(),
    }
}

fn nb() -> NewBucket {
    NewBucket {
        creator: Some("u1".into()),
        acl: "{}".into(),
    }
}

fn actor() -> Actor {
    Actor {
        principal: "user:u1".into(),
        from_server_code: false,
        by_hook: false,
    }
}

fn data(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn object(id: &str, v: Value) -> Object {
    Object {
        id: id.into(),
        data: data(v),
        data_type: None,
        owner: Some("u1".into()),
        acl: "{}".into(),
        version: 1,
        created_at: 100,
        modified_at: 100,
    }
}

async fn object_life_cycle_and_versions(s: Arc<SqlStore>, _: String) {
    s.create_app(&app()).await.unwrap();
    let b = bucket(Scope::App, "scores");
    assert!(s.get_bucket(&b).await.unwrap().is_none());
    s.create_object(
        &b,
        &nb(),
        &object(
            "o1",
            json!({"score": 10, "name": "a", "nested": {"x": [1]}}),
        ),
        &actor(),
    )
    .await
    .unwrap();
    let bk = s
        .get_bucket(&b)
        .await
        .unwrap()
        .expect("the first object creates the bucket");
    assert_eq!(bk.creator.as_deref(), Some("u1"));
    let got = s.get_object(&b, "o1").await.unwrap().unwrap();
    assert_eq!(
        got,
        object(
            "o1",
            json!({"score": 10, "name": "a", "nested": {"x": [1]}})
        )
    );
    let e = s
        .create_object(&b, &nb(), &object("o1", json!({})), &actor())
        .await
        .unwrap_err();
    assert!(
        matches!(e, StorageError::Conflict(Unique::ObjectId)),
        "{e:?}"
    );
    // The failed create left nothing behind and the writer is usable again.
    let events = all_events(&s, "a1").await;
    assert_eq!(
        events.iter().filter(|e| e.kind == "object.created").count(),
        1
    );
    let wide: Map<String, Value> = (0..150).map(|i| (format!("f{i}"), json!(i))).collect();
    s.create_object(
        &b,
        &nb(),
        &object("wide", Value::Object(wide.clone())),
        &actor(),
    )
    .await
    .unwrap();
    assert_eq!(s.get_object(&b, "wide").await.unwrap().unwrap().data, wide);
    assert!(s.delete_object(&b, "wide", None, &actor()).await.unwrap());

    let patched = s
        .patch_object(
            &b,
            "o1",
            &data(json!({"score": 11, "extra": true})),
            None,
            200,
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(patched.version, 2);
    assert_eq!(
        Value::Object(patched.data.clone()),
        json!({"score": 11, "name": "a", "nested": {"x": [1]}, "extra": true})
    );
    assert_eq!((patched.created_at, patched.modified_at), (100, 200));

    let mut full = object("o1", json!({"only": 1}));
    full.modified_at = 300;
    let (replaced, created) = s
        .replace_object(&b, &nb(), &full, Precondition::None, &actor())
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(replaced.version, 3);
    assert_eq!(Value::Object(replaced.data), json!({"only": 1}));
    assert_eq!(
        replaced.created_at, 100,
        "a replace keeps the creation time"
    );

    assert!(s.delete_object(&b, "o1", None, &actor()).await.unwrap());
    assert!(!s.delete_object(&b, "o1", None, &actor()).await.unwrap());
    assert!(s.get_object(&b, "o1").await.unwrap().is_none());
    let e = s
        .patch_object(&b, "o1", &data(json!({})), None, 1, &actor())
        .await
        .unwrap_err();
    assert!(matches!(e, StorageError::NotFound(Entity::Object)));
}

async fn preconditions(s: Arc<SqlStore>, url: String) {
    s.create_app(&app()).await.unwrap();
    let b = bucket(Scope::App, "b1");
    let (o, created) = s
        .replace_object(
            &b,
            &nb(),
            &object("x1", json!({"v": 1})),
            Precondition::Absent,
            &actor(),
        )
        .await
        .unwrap();
    assert!(created);
    assert_eq!(o.version, 1);
    let e = s
        .replace_object(
            &b,
            &nb(),
            &object("x1", json!({"v": 2})),
            Precondition::Absent,
            &actor(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, StorageError::Conflict(Unique::ObjectId)),
        "{e:?}"
    );
    let e = s
        .replace_object(
            &b,
            &nb(),
            &object("x1", json!({"v": 2})),
            Precondition::Version(7),
            &actor(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StorageError::StaleVersion), "{e:?}");
    let (o, _) = s
        .replace_object(
            &b,
            &nb(),
            &object("x1", json!({"v": 2})),
            Precondition::Version(1),
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(o.version, 2);
    let e = s
        .patch_object(&b, "x1", &data(json!({"v": 3})), Some(1), 5, &actor())
        .await
        .unwrap_err();
    assert!(matches!(e, StorageError::StaleVersion));
    let e = s
        .delete_object(&b, "x1", Some(1), &actor())
        .await
        .unwrap_err();
    assert!(matches!(e, StorageError::StaleVersion));
    assert_eq!(
        s.get_object(&b, "x1").await.unwrap().unwrap().data["v"],
        2,
        "failed writes changed nothing"
    );
    let e = s
        .replace_object(
            &b,
            &nb(),
            &object("nope", json!({})),
            Precondition::Version(1),
            &actor(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StorageError::NotFound(Entity::Object)));
    assert!(s.get_object(&b, "nope").await.unwrap().is_none());
    // The failed write had created a bucket inside its transaction; the rollback took it away.
    let fresh = bucket(Scope::App, "fresh");
    let e = s
        .replace_object(
            &fresh,
            &nb(),
            &object("nope", json!({})),
            Precondition::Version(1),
            &actor(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StorageError::NotFound(Entity::Object)));
    assert!(
        s.get_bucket(&fresh).await.unwrap().is_none(),
        "a failed write left its bucket behind"
    );
    // Failed writes hold no locks afterwards: another connection can write every object.
    use sqlx::{Connection, Executor};
    let mut other = sqlx::AnyConnection::connect(&url).await.unwrap();
    if url.starts_with("postgres") {
        other.execute("SET lock_timeout = '2s'").await.unwrap();
    } else {
        other.execute("PRAGMA busy_timeout = 2000").await.unwrap();
    }
    // The write fails after locking the object's row…
    let e = s
        .patch_object(&b, "x1", &data(json!({"v": 9})), Some(99), 5, &actor())
        .await
        .unwrap_err();
    assert!(matches!(e, StorageError::StaleVersion));
    // …and that lock is gone at once.
    other
        .execute("UPDATE objects SET version = version")
        .await
        .expect("no lingering locks");
    other.close().await.unwrap();
}

async fn buckets_are_per_scope_and_deleted_with_content(s: Arc<SqlStore>, _: String) {
    s.create_app(&app()).await.unwrap();
    let app_b = bucket(Scope::App, "same");
    let user_b = bucket(Scope::User("u1".into()), "same");
    let group_b = bucket(Scope::Group("g1".into()), "same");
    for (i, b) in [&app_b, &user_b, &group_b].into_iter().enumerate() {
        s.create_object(b, &nb(), &object("o1", json!({"i": i})), &actor())
            .await
            .unwrap();
    }
    assert_eq!(
        s.get_object(&user_b, "o1").await.unwrap().unwrap().data["i"],
        1
    );
    assert!(s.delete_bucket(&user_b, &actor()).await.unwrap());
    assert!(!s.delete_bucket(&user_b, &actor()).await.unwrap());
    assert!(s.get_object(&user_b, "o1").await.unwrap().is_none());
    assert!(s.get_bucket(&user_b).await.unwrap().is_none());
    assert_eq!(
        s.get_object(&app_b, "o1").await.unwrap().unwrap().data["i"],
        0
    );
    assert_eq!(
        s.get_object(&group_b, "o1").await.unwrap().unwrap().data["i"],
        2
    );
    // A recreated bucket starts empty.
    s.create_object(&user_b, &nb(), &object("o2", json!({})), &actor())
        .await
        .unwrap();
    let bk = s.get_bucket(&user_b).await.unwrap().unwrap();
    let q = BucketQuery::parse(&json!({"clause": {"type": "all"}})).unwrap();
    let hits = s.query_objects(bk.seq, &q, None, 10).await.unwrap();
    assert_eq!(
        hits.iter()
            .map(|h| h.object.id.as_str())
            .collect::<Vec<_>>(),
        ["o2"]
    );
}

async fn acl_columns(s: Arc<SqlStore>, _: String) {
    s.create_app(&app()).await.unwrap();
    let b = bucket(Scope::App, "b1");
    s.create_object(&b, &nb(), &object("o1", json!({})), &actor())
        .await
        .unwrap();
    s.set_bucket_acl(&b, r#"{"READ_OBJECTS_IN_BUCKET":["UserID:u2"]}"#)
        .await
        .unwrap();
    assert_eq!(
        s.get_bucket(&b).await.unwrap().unwrap().acl,
        r#"{"READ_OBJECTS_IN_BUCKET":["UserID:u2"]}"#
    );
    s.set_object_acl(&b, "o1", r#"{"READ_EXISTING_OBJECT":[]}"#)
        .await
        .unwrap();
    assert_eq!(
        s.get_object(&b, "o1").await.unwrap().unwrap().acl,
        r#"{"READ_EXISTING_OBJECT":[]}"#
    );
    let e = s.set_object_acl(&b, "nope", "{}").await.unwrap_err();
    assert!(matches!(e, StorageError::NotFound(Entity::Object)));
    let e = s
        .set_bucket_acl(&bucket(Scope::App, "none"), "{}")
        .await
        .unwrap_err();
    assert!(matches!(e, StorageError::NotFound(Entity::Bucket)));
    assert!(s.get_scope_acl("a1", &Scope::App).await.unwrap().is_none());
    s.set_scope_acl("a1", &Scope::App, "{\"x\":1}")
        .await
        .unwrap();
    s.set_scope_acl("a1", &Scope::App, "{\"x\":2}")
        .await
        .unwrap();
    assert_eq!(
        s.get_scope_acl("a1", &Scope::App).await.unwrap().as_deref(),
        Some("{\"x\":2}")
    );
}

async fn events_are_recorded_with_each_change(s: Arc<SqlStore>, _: String) {
    s.create_app(&app()).await.unwrap();
    let b = bucket(Scope::User("u1".into()), "b1");
    let sc = Actor {
        principal: "admin".into(),
        from_server_code: true,
        by_hook: false,
    };
    s.create_object(&b, &nb(), &object("o1", json!({})), &actor())
        .await
        .unwrap();
    s.patch_object(&b, "o1", &data(json!({"a": 1})), None, 5, &sc)
        .await
        .unwrap();
    s.delete_object(&b, "o1", None, &actor()).await.unwrap();
    s.delete_bucket(&b, &actor()).await.unwrap();
    // A failed write records nothing.
    let _ = s
        .patch_object(&b, "o1", &data(json!({})), None, 5, &actor())
        .await
        .unwrap_err();
    let events = all_events(&s, "a1").await;
    let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "object.created",
            "object.updated",
            "object.deleted",
            "bucket.deleted"
        ]
    );
    assert_eq!(events[1].actor, "admin");
    assert!(events[1].from_server_code);
    assert!(!events[0].from_server_code);
    assert_eq!(events[0].target["objectID"], "o1");
    assert_eq!(events[0].target["bucket"]["scope"], "user:u1");
    assert_eq!(events[1].target["version"], 2);
    let later = s.events_since("a1", events[1].cursor(), 100).await.unwrap();
    assert_eq!(later.len(), 2);
    assert!(s
        .events_since("other", EventCursor::START, 100)
        .await
        .unwrap()
        .is_empty());
}

async fn pages_stay_correct_while_objects_come_and_go(s: Arc<SqlStore>, _: String) {
    s.create_app(&app()).await.unwrap();
    let b = bucket(Scope::App, "pages");
    for i in 0..20 {
        s.create_object(
            &b,
            &nb(),
            &object(&format!("o{i:02}"), json!({"n": i})),
            &actor(),
        )
        .await
        .unwrap();
    }
    let seq = s.get_bucket(&b).await.unwrap().unwrap().seq;
    let q = BucketQuery::parse(
        &json!({"clause": {"type": "all"}, "orderBy": "n", "descending": false}),
    )
    .unwrap();
    let page1 = s.query_objects(seq, &q, None, 5).await.unwrap();
    let ids =
        |hits: &[kumo_storage::Hit]| hits.iter().map(|h| h.object.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&page1), ["o00", "o01", "o02", "o03", "o04"]);
    // Between pages: delete a seen object and an unseen one, insert one before and one after.
    s.delete_object(&b, "o01", None, &actor()).await.unwrap();
    s.delete_object(&b, "o06", None, &actor()).await.unwrap();
    s.create_object(&b, &nb(), &object("early", json!({"n": -1})), &actor())
        .await
        .unwrap();
    s.create_object(&b, &nb(), &object("late", json!({"n": 100})), &actor())
        .await
        .unwrap();
    let page2 = s
        .query_objects(seq, &q, Some(&page1[4].cursor), 5)
        .await
        .unwrap();
    assert_eq!(ids(&page2), ["o05", "o07", "o08", "o09", "o10"]);
    let mut rest = Vec::new();
    let mut cursor = page2[4].cursor.clone();
    loop {
        let page = s.query_objects(seq, &q, Some(&cursor), 5).await.unwrap();
        if page.is_empty() {
            break;
        }
        cursor = page.last().unwrap().cursor.clone();
        rest.extend(ids(&page));
    }
    let expected: Vec<String> = (11..20)
        .map(|i| format!("o{i}"))
        .chain(["late".to_owned()])
        .collect();
    assert_eq!(rest, expected);
}

async fn count_and_bad_cursor(s: Arc<SqlStore>, _: String) {
    s.create_app(&app()).await.unwrap();
    let b = bucket(Scope::App, "c1");
    for i in 0..7 {
        s.create_object(
            &b,
            &nb(),
            &object(&format!("o{i}"), json!({"even": i % 2 == 0})),
            &actor(),
        )
        .await
        .unwrap();
    }
    let seq = s.get_bucket(&b).await.unwrap().unwrap().seq;
    let q = BucketQuery::parse(&json!({"clause": {"type": "eq", "field": "even", "value": true}}))
        .unwrap();
    assert_eq!(s.count_objects(seq, &q.clause).await.unwrap(), 4);
    for bad in ["garbage!", "W10", "WyJ4Il0"] {
        let e = s.query_objects(seq, &q, Some(bad), 5).await.unwrap_err();
        assert!(matches!(e, StorageError::InvalidCursor), "{bad}: {e:?}");
    }
}

async fn equality_by_creation_matches_the_general_path(s: Arc<SqlStore>, _: String) {
    s.create_app(&app()).await.unwrap();
    let b = bucket(Scope::App, "eqc");
    for i in 0..40 {
        let mut o = object(
            &format!("o{i:02}"),
            json!({"owner": format!("w{}", i % 3), "n": i % 2}),
        );
        o.created_at = 1000 + (i * 7 % 11); // ties on purpose
        s.create_object(&b, &nb(), &o, &actor()).await.unwrap();
    }
    let seq = s.get_bucket(&b).await.unwrap().unwrap().seq;
    for (value, descending) in [(json!("w1"), true), (json!("w2"), false), (json!(1), true)] {
        let field = if value.is_string() { "owner" } else { "n" };
        let eq = json!({"type": "eq", "field": field, "value": value});
        // `and` of one clause takes the general path; the bare clause the index-only one.
        let fast = BucketQuery::parse(
            &json!({"clause": eq, "orderBy": "_created", "descending": descending}),
        )
        .unwrap();
        let general = BucketQuery::parse(
            &json!({"clause": {"type": "and", "clauses": [eq]}, "orderBy": "_created", "descending": descending}),
        )
        .unwrap();
        let all = |hits: Vec<kumo_storage::Hit>| {
            hits.into_iter()
                .map(|h| (h.object.id, h.cursor))
                .collect::<Vec<_>>()
        };
        let a = all(s.query_objects(seq, &fast, None, 100).await.unwrap());
        let g = all(s.query_objects(seq, &general, None, 100).await.unwrap());
        assert!(!a.is_empty());
        assert_eq!(a, g, "same order and same cursors");
        // Pages of 4 through the fast path, continuing with cursors from either path.
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = s
                .query_objects(seq, &fast, cursor.as_deref(), 4)
                .await
                .unwrap();
            ids.extend(page.iter().map(|h| h.object.id.clone()));
            match page.last() {
                Some(last) if page.len() == 4 => cursor = Some(last.cursor.clone()),
                _ => break,
            }
        }
        assert_eq!(ids, a.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>());
    }
}

/// Creates that arrive together (committed as a group) succeed or fail each on its own: a taken
/// object ID fails that create only.
async fn concurrent_creates_fail_alone(s: Arc<SqlStore>, _: String) {
    s.create_app(&app()).await.unwrap();
    let b = bucket(Scope::App, "together");
    s.create_object(&b, &nb(), &object("taken", json!({"v": 0})), &actor())
        .await
        .unwrap();
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let s = s.clone();
            let b = b.clone();
            tokio::spawn(async move {
                let id = if i == 17 {
                    "taken".to_owned()
                } else {
                    format!("o{i}")
                };
                s.create_object(
                    &b,
                    &nb(),
                    &object(&id, json!({"v": i, "tag": "t"})),
                    &actor(),
                )
                .await
            })
        })
        .collect();
    let mut failed = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        if let Err(e) = t.await.unwrap() {
            assert!(
                matches!(e, StorageError::Conflict(Unique::ObjectId)),
                "{e:?}"
            );
            failed.push(i);
        }
    }
    assert_eq!(failed, [17]);
    for i in (0..40).filter(|i| *i != 17) {
        let got = s.get_object(&b, &format!("o{i}")).await.unwrap().unwrap();
        assert_eq!(got.data["v"], json!(i));
    }
    assert_eq!(
        s.get_object(&b, "taken").await.unwrap().unwrap().data["v"],
        json!(0),
        "the existing object is untouched"
    );
    assert_eq!(
        objects_created(&s).await,
        40,
        "one event per object actually created"
    );
    let q = kumo_types::query::BucketQuery::parse(
        &json!({"clause": {"type": "eq", "field": "tag", "value": "t"}}),
    )
    .unwrap();
    let bk = s.get_bucket(&b).await.unwrap().unwrap();
    assert_eq!(
        s.count_objects(bk.seq, &q.clause).await.unwrap(),
        39,
        "the index has every created object"
    );
}

/// Many creates racing to make the same new bucket all land in it.
async fn concurrent_creates_into_a_new_bucket(s: Arc<SqlStore>, _: String) {
    s.create_app(&app()).await.unwrap();
    let b = bucket(Scope::App, "fresh");
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let s = s.clone();
            let b = b.clone();
            tokio::spawn(async move {
                s.create_object(
                    &b,
                    &nb(),
                    &object(&format!("n{i}"), json!({"i": i})),
                    &actor(),
                )
                .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let bk = s.get_bucket(&b).await.unwrap().unwrap();
    let all = kumo_types::query::Clause::All;
    assert_eq!(s.count_objects(bk.seq, &all).await.unwrap(), 24);
}

/// Creates arriving together for different buckets and scopes each land in their own bucket,
/// with their field index and change event.
async fn concurrent_creates_into_several_buckets(s: Arc<SqlStore>, _: String) {
    s.create_app(&app()).await.unwrap();
    let buckets = [
        bucket(Scope::App, "one"),
        bucket(Scope::App, "two"),
        bucket(Scope::User("u-1".into()), "one"),
    ];
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let s = s.clone();
            let b = buckets[i % 3].clone();
            tokio::spawn(async move {
                let data =
                    json!({"i": i, "name": format!("n{i}"), "at": {"lat": 35.0, "lon": 139.0}});
                s.create_object(&b, &nb(), &object(&format!("o{i}"), data), &actor())
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    for (k, b) in buckets.iter().enumerate() {
        let bk = s.get_bucket(b).await.unwrap().unwrap();
        let all = kumo_types::query::Clause::All;
        assert_eq!(s.count_objects(bk.seq, &all).await.unwrap(), 20, "{b:?}");
        for i in (k..60).step_by(3) {
            let got = s.get_object(b, &format!("o{i}")).await.unwrap().unwrap();
            assert_eq!(got.data["name"], json!(format!("n{i}")));
            let q = kumo_types::query::BucketQuery::parse(
                &json!({"clause": {"type": "eq", "field": "i", "value": i}}),
            )
            .unwrap();
            assert_eq!(s.count_objects(bk.seq, &q.clause).await.unwrap(), 1);
        }
        assert!(s
            .get_object(b, &format!("o{}", (k + 1) % 3))
            .await
            .unwrap()
            .is_none());
    }
    assert_eq!(objects_created(&s).await, 60);
}

/// How many `object.created` events app `a1` has recorded.
async fn objects_created(s: &SqlStore) -> usize {
    all_events(s, "a1")
        .await
        .iter()
        .filter(|e| e.kind == "object.created")
        .count()
}

/// Deleting an object, or a bucket with its objects, also deletes their field-index rows.
async fn deletes_leave_no_index_rows(s: Arc<SqlStore>, url: String) {
    use sqlx::{Connection, Row};
    s.create_app(&app()).await.unwrap();
    let (a, b) = (bucket(Scope::App, "a"), bucket(Scope::App, "b"));
    for (bk, id) in [(&a, "a1"), (&a, "a2"), (&b, "b1"), (&b, "b2")] {
        let data = json!({"n": 1, "s": "x"});
        s.create_object(bk, &nb(), &object(id, data), &actor())
            .await
            .unwrap();
    }
    let mut db = sqlx::AnyConnection::connect(&url).await.unwrap();
    let mut rows =
        async |sql: &str| -> i64 { sqlx::query(sql).fetch_one(&mut db).await.unwrap().get(0) };
    let all = "SELECT COUNT(*) FROM object_fields";
    let before = rows(all).await;
    assert_eq!(before, 8, "4 objects of 2 fields");
    assert!(s.delete_object(&a, "a1", None, &actor()).await.unwrap());
    assert_eq!(rows(all).await, before * 3 / 4);
    assert!(s.delete_bucket(&b, &actor()).await.unwrap());
    assert_eq!(rows(all).await, before / 4, "only a2's rows are left");
}
