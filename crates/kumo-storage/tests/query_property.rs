//! Property test: random objects and random queries, run on SQLite and PostgreSQL and compared
//! with the reference evaluator of `kumo_types::query` — same matches, same order, same
//! pages, same counts. Set `KUMO_PROPTEST_SEED` to replay a failure; the seed is printed.

mod common;

use std::sync::Arc;

use kumo_storage::{Actor, App, BucketRef, NewBucket, Object, Scope, SqlStore, Storage};
use kumo_types::query::{dot, matches, sort_key, BucketQuery, OrderBy, Point};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

on_both_backends!(random_queries_match_the_reference);

const OBJECTS: usize = 80;
const QUERIES: usize = 150;
const FIELDS: [&str; 4] = ["a", "b", "c", "loc"];

fn random_value(rng: &mut StdRng) -> Option<Value> {
    Some(match rng.gen_range(0..9) {
        0 => return None,
        1 => json!(rng.gen_range(-3..4)),
        2 => json!(rng.gen_range(-6..7) as f64 / 2.0),
        3 => json!(["", "a", "ab", "abc", "b", "B", "é", "5", "a\u{10FFFF}"][rng.gen_range(0..9)]),
        4 => json!(rng.gen_bool(0.5)),
        5 => json!(rng.gen_range(0..3)),
        6 => json!([1, 2]),
        7 => {
            json!({"_type": "point", "lat": rng.gen_range(-3.0..3.0), "lon": rng.gen_range(-3.0..3.0)})
        }
        _ => Value::Null,
    })
}

fn random_scalar(rng: &mut StdRng) -> Value {
    match rng.gen_range(0..4) {
        0 => json!(rng.gen_range(-3..4)),
        1 => json!(rng.gen_range(-6..7) as f64 / 2.0),
        2 => json!(["", "a", "ab", "b", "é", "5"][rng.gen_range(0..6)]),
        _ => json!(rng.gen_bool(0.5)),
    }
}

fn random_point(rng: &mut StdRng) -> Value {
    json!({"_type": "point", "lat": rng.gen_range(-3.0..3.0), "lon": rng.gen_range(-3.0..3.0)})
}

fn random_field(rng: &mut StdRng) -> String {
    [
        "a", "b", "c", "loc", "_id", "_owner", "_created", "_version", "missing",
    ][rng.gen_range(0..9)]
    .to_owned()
}

fn random_clause(rng: &mut StdRng, depth: u32) -> Value {
    let leaf = depth >= 3 || rng.gen_bool(0.55);
    if !leaf {
        let n = rng.gen_range(1..4);
        return match rng.gen_range(0..3) {
            0 => {
                json!({"type": "and", "clauses": (0..n).map(|_| random_clause(rng, depth + 1)).collect::<Vec<_>>()})
            }
            1 => {
                json!({"type": "or", "clauses": (0..n).map(|_| random_clause(rng, depth + 1)).collect::<Vec<_>>()})
            }
            _ => json!({"type": "not", "clause": random_clause(rng, depth + 1)}),
        };
    }
    let field = random_field(rng);
    match rng.gen_range(0..8) {
        0 => json!({"type": "all"}),
        1 => json!({"type": "eq", "field": field, "value": random_scalar(rng)}),
        2 => {
            let v = random_scalar(rng);
            let mut c = json!({"type": "range", "field": field});
            if rng.gen_bool(0.7) {
                c["lowerLimit"] = v.clone();
                c["lowerIncluded"] = json!(rng.gen_bool(0.5));
            }
            if rng.gen_bool(0.5) || c.get("lowerLimit").is_none() {
                // The upper limit must be of the lower limit's type.
                let u = match &v {
                    Value::String(_) => json!(["a", "b", "é"][rng.gen_range(0..3)]),
                    Value::Bool(_) => json!(rng.gen_bool(0.5)),
                    _ => json!(rng.gen_range(-3..4)),
                };
                c["upperLimit"] = u;
                c["upperIncluded"] = json!(rng.gen_bool(0.5));
            }
            c
        }
        3 => {
            json!({"type": "in", "field": field, "values": (0..rng.gen_range(1..4)).map(|_| random_scalar(rng)).collect::<Vec<_>>()})
        }
        4 => {
            let prefix = ["", "a", "ab", "é", "B"][rng.gen_range(0..5)];
            json!({"type": "prefix", "field": field, "prefix": prefix})
        }
        5 => {
            let t = ["STRING", "INTEGER", "DECIMAL", "BOOLEAN"][rng.gen_range(0..4)];
            json!({"type": "hasField", "field": field, "fieldType": t})
        }
        6 => {
            let (lat, lon) = (rng.gen_range(-3.0..2.0), rng.gen_range(-3.0..2.0));
            json!({"type": "geobox", "field": "loc", "box": {
                "sw": {"_type": "point", "lat": lat, "lon": lon},
                "ne": {"_type": "point", "lat": lat + rng.gen_range(0.0..3.0), "lon": lon + rng.gen_range(0.0..3.0)}}})
        }
        _ => json!({"type": "geodistance", "field": "loc", "center": random_point(rng),
                    "radius": rng.gen_range(1_000.0..400_000.0), "putDistanceInto": "d"}),
    }
}

struct Stored {
    seq: usize,
    fields: Map<String, Value>,
}

fn reference(objects: &[Stored], q: &BucketQuery) -> Vec<String> {
    let mut hits: Vec<&Stored> = objects
        .iter()
        .filter(|o| matches(&q.clause, &o.fields))
        .collect();
    hits.sort_by(|x, y| {
        let ord = match &q.order_by {
            OrderBy::Natural => std::cmp::Ordering::Equal,
            OrderBy::Distance => {
                let center = q.distance.clone().unwrap().center;
                let key = |o: &Stored| {
                    o.fields
                        .get("loc")
                        .and_then(Point::from_json)
                        .map_or(3.0, |p| -dot(&p, &center))
                };
                key(x).partial_cmp(&key(y)).unwrap()
            }
            OrderBy::Field(f) => {
                let (a, b) = (sort_key(x.fields.get(f)), sort_key(y.fields.get(f)));
                a.0.cmp(&b.0)
                    .then(a.1.partial_cmp(&b.1).unwrap())
                    .then(a.2.as_bytes().cmp(b.2.as_bytes()))
            }
        };
        let ord = ord.then(x.seq.cmp(&y.seq));
        if q.descending {
            ord.reverse()
        } else {
            ord
        }
    });
    hits.iter()
        .map(|o| o.fields["_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn random_queries_match_the_reference(s: Arc<SqlStore>, _: String) {
    let seed: u64 = std::env::var("KUMO_PROPTEST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    println!("KUMO_PROPTEST_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    s.create_app(&App {
        id: "a1".into(),
        key: "k".into(),
        name: "n".into(),
        client_id: "c".into(),
        client_secret_hash: "h".into(),
        created_at: 1,
    })
    .await
    .unwrap();
    let bucket = BucketRef {
        app_id: "a1".into(),
        scope: Scope::App,
        name: "prop".into(),
    };
    let actor = Actor {
        principal: "admin".into(),
        from_server_code: false,
        by_hook: false,
    };
    let mut stored = Vec::new();
    for i in 0..OBJECTS {
        let mut data = Map::new();
        for f in FIELDS {
            let v = if f == "loc" && rng.gen_bool(0.6) {
                Some(random_point(&mut rng))
            } else {
                random_value(&mut rng)
            };
            if let Some(v) = v {
                data.insert(f.to_owned(), v);
            }
        }
        let owner = ["u1", "u2", "U3"][rng.gen_range(0..3)];
        let created = rng.gen_range(1000..1010);
        let object = Object {
            id: format!("o{:03}", rng.gen_range(0..1000) * 1000 + i),
            data: data.clone(),
            data_type: None,
            owner: rng.gen_bool(0.9).then(|| owner.to_owned()),
            acl: "{}".into(),
            version: 1,
            created_at: created,
            modified_at: created,
        };
        s.create_object(
            &bucket,
            &NewBucket {
                creator: None,
                acl: "{}".into(),
            },
            &object,
            &actor,
        )
        .await
        .unwrap();
        let mut fields = data;
        fields.insert("_id".into(), json!(object.id));
        if let Some(o) = &object.owner {
            fields.insert("_owner".into(), json!(o));
        }
        fields.insert("_created".into(), json!(created));
        fields.insert("_modified".into(), json!(created));
        fields.insert("_version".into(), json!(1));
        stored.push(Stored { seq: i, fields });
    }
    let seq = s.get_bucket(&bucket).await.unwrap().unwrap().seq;

    for n in 0..QUERIES {
        let clause = random_clause(&mut rng, 0);
        let mut body = json!({"clause": clause});
        match rng.gen_range(0..5) {
            0 => {}
            1 if body.to_string().contains("putDistanceInto") => {
                body["orderBy"] = json!("_calculated.d")
            }
            _ => {
                body["orderBy"] =
                    json!(["a", "b", "c", "_created", "_id", "_owner", "loc"][rng.gen_range(0..7)]);
                body["descending"] = json!(rng.gen_bool(0.5));
            }
        }
        let q = match BucketQuery::parse(&body) {
            Ok(q) => q,
            Err(_) => continue, // e.g. a distance sort whose clause sits under a `not`
        };
        let expected = reference(&stored, &q);
        let limit = rng.gen_range(1..30);
        let mut got = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = s
                .query_objects(seq, &q, cursor.as_deref(), limit)
                .await
                .unwrap();
            got.extend(page.iter().map(|h| h.object.id.clone()));
            if (page.len() as i64) < limit {
                break;
            }
            cursor = Some(page.last().unwrap().cursor.clone());
            assert!(
                got.len() <= OBJECTS,
                "seed {seed}: paging does not end for {body}"
            );
        }
        if got != expected {
            let show = |ids: &[String]| {
                ids.iter()
                    .map(|id| {
                        format!(
                            "{id}={}",
                            Value::Object(
                                stored
                                    .iter()
                                    .find(|o| o.fields["_id"] == id.as_str())
                                    .unwrap()
                                    .fields
                                    .clone()
                            )
                        )
                    })
                    .collect::<Vec<_>>()
            };
            let missing: Vec<String> = expected
                .iter()
                .filter(|i| !got.contains(i))
                .cloned()
                .collect();
            let extra: Vec<String> = got
                .iter()
                .filter(|i| !expected.contains(i))
                .cloned()
                .collect();
            panic!(
                "seed {seed}, query {n}: {body}\ngot      {got:?}\nexpected {expected:?}\nmissing {:#?}\nextra {:#?}",
                show(&missing),
                show(&extra)
            );
        }
        let count = s.count_objects(seq, &q.clause).await.unwrap();
        assert_eq!(
            count as usize,
            expected.len(),
            "seed {seed}, query {n}: count of {body}"
        );
    }
}
