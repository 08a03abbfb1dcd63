//! Target `query_sql`: a `bucketQuery` (any bytes; JSON ones get further) is either refused by
//! the clause parser with a 400, or gives the same hits in the same order, page after page, and
//! the same count on SQLite and on PostgreSQL, matching the reference evaluator of
//! `kumo_types::query`. Both databases hold the same fixed objects, made once per process.

use std::sync::{Arc, Mutex};

use kumo_storage::testing::TestDb;
use kumo_storage::{
    open, Actor, App, BucketRef, Dialect, NewBucket, Object, Scope, SqlStore, Storage,
};
use kumo_types::query::{dot, matches, sort_key, BucketQuery, OrderBy, Point};
use serde_json::{json, Map, Value};

/// Small enough that a full answer is a few pages, large enough to hold every kind of value.
const OBJECTS: usize = 48;
const PAGE: i64 = 7;

struct Backend {
    store: Arc<SqlStore>,
    bucket_seq: i64,
    // Kept so the scratch database lives as long as the process.
    _db: TestDb,
}

struct Fixture {
    backends: Vec<(Dialect, Backend)>,
    /// Every object's fields as queries see them (custom and system), in insertion order.
    objects: Vec<Map<String, Value>>,
}

/// Values of every class the query language distinguishes, edge cases included.
fn value(n: u64) -> Option<Value> {
    Some(match n % 23 {
        0 => return None,
        1 => json!(0),
        2 => json!(-1),
        3 => json!(2),
        4 => json!(2.5),
        5 => json!(-0.5),
        6 => json!(9007199254740993_i64),
        7 => json!(""),
        8 => json!("a"),
        9 => json!("ab"),
        10 => json!("B"),
        11 => json!("é"),
        12 => json!("5"),
        13 => json!("a\u{10FFFF}"),
        14 => json!("%_"),
        15 => json!(true),
        16 => json!(false),
        17 => Value::Null,
        18 => json!([1, 2]),
        19 => json!({"x": 1}),
        20 => json!({"_type": "point", "lat": 0.5, "lon": -1.0}),
        21 => json!(1e300),
        _ => json!(-2),
    })
}

fn point(n: u64) -> Value {
    let lat = (n % 61) as f64 / 10.0 - 3.0;
    let lon = (n / 61 % 61) as f64 / 10.0 - 3.0;
    json!({"_type": "point", "lat": lat, "lon": lon})
}

fn objects() -> Vec<(Object, Map<String, Value>)> {
    // A fixed linear congruential sequence: the same objects in every process.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        state >> 33
    };
    (0..OBJECTS)
        .map(|i| {
            let mut data = Map::new();
            for field in ["a", "b", "c"] {
                if let Some(v) = value(next()) {
                    data.insert(field.to_owned(), v);
                }
            }
            let n = next();
            if n % 4 != 0 {
                data.insert("loc".to_owned(), point(n));
            }
            let created = 1000 + (next() % 10) as i64;
            let owner = ["u1", "u2", "U3"][(next() % 3) as usize];
            let object = Object {
                id: format!("o{i:03}"),
                data: data.clone(),
                data_type: None,
                owner: (i % 9 != 0).then(|| owner.to_owned()),
                acl: "{}".into(),
                version: 1,
                created_at: created,
                modified_at: created,
            };
            let mut fields = data;
            fields.insert("_id".into(), json!(object.id));
            if let Some(o) = &object.owner {
                fields.insert("_owner".into(), json!(o));
            }
            fields.insert("_created".into(), json!(created));
            fields.insert("_modified".into(), json!(created));
            fields.insert("_version".into(), json!(1));
            (object, fields)
        })
        .collect()
}

async fn backend(dialect: Dialect, objects: &[(Object, Map<String, Value>)]) -> Backend {
    let db = TestDb::new(dialect).await;
    let store = Arc::new(open(&db.url, 2).await.expect("open store"));
    store
        .create_app(&App {
            id: "fz".into(),
            key: "k".into(),
            name: "fuzz".into(),
            client_id: "c".into(),
            client_secret_hash: "h".into(),
            created_at: 1,
        })
        .await
        .expect("create app");
    let bucket = BucketRef {
        app_id: "fz".into(),
        scope: Scope::App,
        name: "fuzz".into(),
    };
    let actor = Actor {
        principal: "admin".into(),
        from_server_code: false,
        by_hook: false,
    };
    let new = NewBucket {
        creator: None,
        acl: "{}".into(),
    };
    for (object, _) in objects {
        store
            .create_object(&bucket, &new, object, &actor)
            .await
            .expect("seed object");
    }
    let bucket_seq = store
        .get_bucket(&bucket)
        .await
        .expect("bucket")
        .expect("bucket exists")
        .seq;
    Backend {
        store,
        bucket_seq,
        _db: db,
    }
}

/// The databases of every input (made on first use); [`release`] drops them.
static FIXTURE: Mutex<Option<Arc<Fixture>>> = Mutex::new(None);

fn fixture() -> Arc<Fixture> {
    let mut held = FIXTURE.lock().unwrap_or_else(|e| e.into_inner());
    held.get_or_insert_with(|| {
        Arc::new(crate::runtime().block_on(async {
            let seeded = objects();
            let mut backends = Vec::new();
            for dialect in [Dialect::Sqlite, Dialect::Postgres] {
                backends.push((dialect, backend(dialect, &seeded).await));
            }
            Fixture {
                backends,
                objects: seeded.into_iter().map(|(_, fields)| fields).collect(),
            }
        }))
    })
    .clone()
}

/// Drops the scratch databases (the PostgreSQL schema included) once no input runs any more.
pub fn release() {
    let fixture = FIXTURE.lock().unwrap_or_else(|e| e.into_inner()).take();
    drop(fixture);
}

/// The IDs the reference evaluator says a query returns, in order.
fn reference(objects: &[Map<String, Value>], q: &BucketQuery) -> Vec<String> {
    let mut hits: Vec<(usize, &Map<String, Value>)> = objects
        .iter()
        .enumerate()
        .filter(|(_, o)| matches(&q.clause, o))
        .collect();
    hits.sort_by(|(xs, x), (ys, y)| {
        let ord = match &q.order_by {
            OrderBy::Natural => std::cmp::Ordering::Equal,
            OrderBy::Distance => {
                let distance = q.distance.as_ref().expect("a distance order has a center");
                let key = |o: &Map<String, Value>| {
                    o.get(&distance.field)
                        .and_then(Point::from_json)
                        .map_or(3.0, |p| -dot(&p, &distance.center))
                };
                key(x).total_cmp(&key(y))
            }
            OrderBy::Field(f) => {
                let (a, b) = (sort_key(x.get(f)), sort_key(y.get(f)));
                a.0.cmp(&b.0)
                    .then(a.1.total_cmp(&b.1))
                    .then(a.2.as_bytes().cmp(b.2.as_bytes()))
            }
        };
        let ord = ord.then(xs.cmp(ys));
        if q.descending {
            ord.reverse()
        } else {
            ord
        }
    });
    hits.iter()
        .map(|(_, o)| o["_id"].as_str().expect("string _id").to_owned())
        .collect()
}

/// Every hit of `q`, page by page, and the count; a storage error is the bug it reports.
async fn answer(backend: &Backend, q: &BucketQuery) -> Result<(Vec<String>, i64), String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = backend
            .store
            .query_objects(backend.bucket_seq, q, cursor.as_deref(), PAGE)
            .await
            .map_err(|e| format!("query failed: {e}"))?;
        ids.extend(page.iter().map(|h| h.object.id.clone()));
        match page.last() {
            Some(last) if page.len() as i64 == PAGE => cursor = Some(last.cursor.clone()),
            _ => break,
        }
        if ids.len() > OBJECTS {
            return Err(format!("paging does not end: {ids:?}"));
        }
    }
    let count = backend
        .store
        .count_objects(backend.bucket_seq, &q.clause)
        .await
        .map_err(|e| format!("count failed: {e}"))?;
    Ok((ids, count))
}

pub fn run(data: &[u8]) {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let query = match BucketQuery::parse(&body) {
        Ok(query) => query,
        Err(e) => {
            assert_eq!(e.code.status(), 400, "{body} refused with {e:?}");
            return;
        }
    };
    let fixture = fixture();
    let expected = reference(&fixture.objects, &query);
    crate::runtime().block_on(async {
        for (dialect, backend) in &fixture.backends {
            let (ids, count) = answer(backend, &query)
                .await
                .unwrap_or_else(|e| panic!("{dialect:?}: {e}\nquery: {body}"));
            assert_eq!(
                ids, expected,
                "{dialect:?} differs from the reference for {body}"
            );
            assert_eq!(
                count as usize,
                expected.len(),
                "{dialect:?} counts differently for {body}"
            );
        }
    });
}
