//! The real `kumo` binary killed with SIGKILL at random moments under a load of object creates
//! and updates and of server-code runs that write the developer log, then restarted on the same
//! store, a few times over, on SQLite and on PostgreSQL. After every restart:
//!
//! - every write answered 2xx is there, and a write never answered (in flight at the kill) is
//!   either wholly there or not at all; a write answered otherwise is not there;
//! - every object reads the same through GET and a query of all, and queries on its fields find
//!   exactly it (the field index agrees with the body);
//! - developer-log records are records that were written, none twice; every record a query
//!   showed before the kill is still there, and the log was being written while the load ran
//!   (records are batched, so the last moments before a kill may be lost: docs/server-code.md).
//!   How long before the kill the oldest lost record's run was answered is printed, not
//!   asserted: it measures the machine as much as the writer.
//!
//! Kill times and the choice of writes come from a seeded generator; the seed is printed and
//! `KUMO_CRASH_SEED=N` replays the same choices (the interleaving with the server still varies).

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kumo_storage::testing::TestDb;
use reqwest::Method;
use serde_json::{json, Map, Value};
use support::{temp_dir, Server};

const ROUNDS: u64 = 4;
const OBJECT_WRITERS: u64 = 6;
const LOGGERS: u64 = 2;
const BUCKET: &str = "crash";
/// Beyond this a writer only updates: the checks after each restart stay short.
const OBJECTS_PER_WRITER: usize = 40;
/// How long the developer log may show none of a round's records while the load runs before
/// the writer is taken for stuck (it writes every ~50 ms).
const DEVLOG_STUCK: Duration = Duration::from_secs(30);

const NOTE_CODE: &str = r#"
function note(params, context) { console.log("note " + params.n); return params.n; }
"#;

#[test]
fn sigkill_under_load_on_sqlite() {
    crash_and_restart(None);
}

#[test]
fn sigkill_under_load_on_postgres() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(TestDb::postgres());
    crash_and_restart(Some(&db.url));
    drop(db);
}

/// splitmix64: enough randomness for kill times and write choices, and no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn fork(&mut self) -> Rng {
        Rng(self.next())
    }
}

fn seed() -> u64 {
    let seed = std::env::var("KUMO_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("crash test seed: {seed} (KUMO_CRASH_SEED={seed} replays it)");
    seed
}

struct Api {
    client: reqwest::Client,
    site: String,
    app_id: String,
    app_key: String,
    token: String,
}

struct Reply {
    status: u16,
    /// The `ETag` as a version.
    version: Option<i64>,
    body: Value,
}

impl Api {
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, String)>,
        if_match: Option<i64>,
    ) -> reqwest::Result<Reply> {
        let path = path.replace("{app}", &self.app_id);
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.site))
            .header("x-kii-appid", &self.app_id)
            .header("x-kii-appkey", &self.app_key)
            .header("authorization", format!("Bearer {}", self.token));
        if let Some((content_type, body)) = body {
            req = req.header("content-type", content_type).body(body);
        }
        if let Some(v) = if_match {
            req = req.header("if-match", format!("\"{v}\""));
        }
        let res = req.send().await?;
        let status = res.status().as_u16();
        let version = res
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim_matches('"').parse().ok());
        let text = res.text().await?;
        Ok(Reply {
            status,
            version,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        })
    }

    async fn json(&self, method: Method, path: &str, body: &Value) -> reqwest::Result<Reply> {
        self.send(
            method,
            path,
            Some(("application/json", body.to_string())),
            None,
        )
        .await
    }

    /// For checks after a restart, where every request must be answered.
    async fn must(&self, method: Method, path: &str, body: &Value) -> Reply {
        self.json(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    async fn query(&self, clause: Value) -> Vec<Value> {
        let mut out = Vec::new();
        let mut key: Option<String> = None;
        loop {
            let mut body = json!({"bucketQuery": {"clause": clause}, "bestEffortLimit": 200});
            if let Some(k) = &key {
                body["paginationKey"] = json!(k);
            }
            let path = format!("/apps/{{app}}/buckets/{BUCKET}/query");
            let r = self.must(Method::POST, &path, &body).await;
            assert_eq!(r.status, 200, "{}", r.body);
            out.extend(r.body["results"].as_array().unwrap().iter().cloned());
            match r.body["nextPaginationKey"].as_str() {
                Some(k) => key = Some(k.to_owned()),
                None => return out,
            }
        }
    }
}

/// One object a writer owns, as far as its answers tell.
struct Tracked {
    key: String,
    id: Option<String>,
    /// The last write answered 2xx: the body and the version it made.
    acked: Option<(Value, i64)>,
    /// A write sent but never answered (the server died under it): it happened or it did not.
    unanswered: Option<Value>,
    /// Bodies answered with an error: they must never show up.
    refused: Vec<Value>,
}

struct Writer {
    n: u64,
    rng: Rng,
    seq: u64,
    objects: Vec<Tracked>,
}

impl Writer {
    fn body(&mut self, key: &str) -> Value {
        self.seq += 1;
        let pad = "x".repeat(self.rng.below(400) as usize);
        json!({"k": key, "v": self.n * 1_000_000 + self.seq, "w": self.n, "pad": pad})
    }

    /// Creates and updates until the server stops answering.
    async fn run(mut self, api: Arc<Api>) -> Writer {
        loop {
            let updatable: Vec<usize> = (0..self.objects.len())
                .filter(|&i| self.objects[i].acked.is_some())
                .collect();
            let room = self.objects.len() < OBJECTS_PER_WRITER;
            if updatable.is_empty() || (room && self.rng.below(3) == 0) {
                let key = format!("w{}-{}", self.n, self.seq + 1);
                let body = self.body(&key);
                self.objects.push(Tracked {
                    key,
                    id: None,
                    acked: None,
                    unanswered: Some(body.clone()),
                    refused: Vec::new(),
                });
                let path = format!("/apps/{{app}}/buckets/{BUCKET}/objects");
                let Ok(r) = api.json(Method::POST, &path, &body).await else {
                    return self;
                };
                let t = self.objects.last_mut().unwrap();
                t.unanswered = None;
                if r.status == 201 {
                    t.id = Some(r.body["objectID"].as_str().unwrap().to_owned());
                    t.acked = Some((body, r.version.expect("a create's ETag")));
                } else {
                    t.refused.push(body);
                }
            } else {
                let i = updatable[self.rng.below(updatable.len() as u64) as usize];
                let key = self.objects[i].key.clone();
                let body = self.body(&key);
                let t = &mut self.objects[i];
                let version = t.acked.as_ref().unwrap().1;
                t.unanswered = Some(body.clone());
                let path = format!(
                    "/apps/{{app}}/buckets/{BUCKET}/objects/{}",
                    t.id.as_ref().unwrap()
                );
                let sent = api
                    .send(
                        Method::PUT,
                        &path,
                        Some(("application/json", body.to_string())),
                        Some(version),
                    )
                    .await;
                let Ok(r) = sent else {
                    return self;
                };
                t.unanswered = None;
                if r.status == 200 {
                    t.acked = Some((body, r.version.expect("an update's ETag")));
                } else {
                    t.refused.push(body);
                }
            }
        }
    }
}

/// One logger's notes in a round.
struct Notes {
    sent: HashSet<String>,
    /// The notes whose run was answered 2xx, and when.
    answered: Vec<(String, Instant)>,
}

/// Runs `note` until the server stops answering.
async fn log_notes(api: Arc<Api>, round: u64, logger: u64) -> Notes {
    let mut notes = Notes {
        sent: HashSet::new(),
        answered: Vec::new(),
    };
    for i in 0.. {
        let note = format!("r{round}-l{logger}-{i}");
        notes.sent.insert(note.clone());
        let path = "/apps/{app}/server-code/versions/current/note";
        let Ok(r) = api.json(Method::POST, path, &json!({ "n": note })).await else {
            break;
        };
        if r.status == 200 {
            notes.answered.push((note, Instant::now()));
        }
    }
    notes
}

fn user_fields(doc: &Value) -> Value {
    let fields: Map<String, Value> = doc
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| !k.starts_with('_'))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(fields)
}

fn crash_and_restart(database_url: Option<&str>) {
    let mut rng = Rng(seed());
    let dir = temp_dir("crash");
    let envs: Vec<(&str, &str)> = database_url
        .map(|url| vec![("KUMO_DATABASE_URL", url)])
        .unwrap_or_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut server = Server::start(&dir, &[], &envs);
    let addr = server.listen_addr();
    let token = rt.block_on(setup(&server));

    let mut writers: Vec<Writer> = (0..OBJECT_WRITERS)
        .map(|n| Writer {
            n,
            rng: rng.fork(),
            seq: 0,
            objects: Vec::new(),
        })
        .collect();
    let mut worst_loss = Duration::ZERO;
    let mut lost_records = 0;
    for round in 0..ROUNDS {
        let api = Arc::new(connect(&server, &token));
        let round_started_ms = now_ms();
        let object_load: Vec<_> = writers
            .drain(..)
            .map(|w| rt.spawn(w.run(api.clone())))
            .collect();
        let log_load: Vec<_> = (0..LOGGERS)
            .map(|l| rt.spawn(log_notes(api.clone(), round, l)))
            .collect();
        // The writer writes while the load runs, not only at shutdown.
        rt.block_on(first_note_logged(&api, round_started_ms));
        std::thread::sleep(Duration::from_millis(rng.below(1_200)));
        let seen_before_kill = rt.block_on(logged_notes(&api, round_started_ms));
        let killed_at = Instant::now();
        server.kill();
        writers = object_load
            .into_iter()
            .map(|t| rt.block_on(t).unwrap())
            .collect();
        let notes: Vec<_> = log_load
            .into_iter()
            .map(|t| rt.block_on(t).unwrap())
            .collect();

        server = Server::start_on(&addr, &dir, &[], &envs);
        let api = connect(&server, &token);
        let written = rt.block_on(check_objects(&api, &mut writers));
        let (lost, oldest) = rt.block_on(check_developer_log(
            &api,
            round_started_ms,
            &notes,
            &seen_before_kill,
            killed_at,
        ));
        eprintln!(
            "round {round}: {} objects checked, {} of {} writes in flight at the kill stored; \
             developer log: {lost} records lost, answered at most {oldest:?} before the kill",
            written.stored, written.landed, written.unanswered
        );
        worst_loss = worst_loss.max(oldest);
        lost_records += lost;
    }
    eprintln!("developer log over {ROUNDS} kills: {lost_records} records lost, the oldest answered {worst_loss:?} before its kill");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn connect(server: &Server, token: &str) -> Api {
    Api {
        // A fresh client per server: pooled connections died with the last one.
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
        site: server.site(),
        app_id: server.creds["appID"].as_str().unwrap().to_owned(),
        app_key: server.creds["appKey"].as_str().unwrap().to_owned(),
        token: token.to_owned(),
    }
}

/// An admin token, and `note` deployed as the current version.
async fn setup(server: &Server) -> String {
    let mut api = connect(server, "");
    let r = api
        .must(
            Method::POST,
            "/oauth2/token",
            &json!({"client_id": server.creds["clientID"], "client_secret": server.creds["clientSecret"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    api.token = r.body["access_token"].as_str().unwrap().to_owned();
    let r = api
        .send(
            Method::POST,
            "/apps/{app}/server-code",
            Some(("application/javascript", NOTE_CODE.to_owned())),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.body);
    let version = r.body["versionID"].as_str().unwrap().to_owned();
    let r = api
        .send(
            Method::PUT,
            "/apps/{app}/server-code/versions/current",
            Some(("text/plain", version)),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 204, "{}", r.body);
    api.token
}

/// Every object, once nothing changes them any more. A COMMIT the killed process sent just
/// before it died is still carried out by PostgreSQL, and on a busy machine (its WAL flush
/// waiting for the disk) it may land after the new server has started; two reads of one
/// object could then see it before and after. So wait until two reads 300 ms apart agree.
async fn settled(api: &Api) -> Vec<Value> {
    let mut last = api.query(json!({"type": "all"})).await;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = api.query(json!({"type": "all"})).await;
        if now == last {
            return now;
        }
        last = now;
    }
    panic!("objects still change 15 s after the restart, with no writer running");
}

/// How a round's objects came through.
struct ObjectsChecked {
    stored: usize,
    /// Writes in flight at the kill, and how many of those were stored.
    unanswered: usize,
    landed: usize,
}

/// Checks every object against what its writer was told, and that GET and queries agree;
/// then takes what is there as the writers' new starting point.
async fn check_objects(api: &Api, writers: &mut [Writer]) -> ObjectsChecked {
    let mut stored: HashMap<String, (String, Value, i64)> = HashMap::new();
    for doc in settled(api).await {
        let id = doc["_id"].as_str().unwrap().to_owned();
        let version: i64 = doc["_version"].as_str().unwrap().parse().unwrap();
        let fields = user_fields(&doc);
        let key = fields["k"].as_str().unwrap().to_owned();
        let earlier = stored.insert(key.clone(), (id.clone(), fields.clone(), version));
        assert!(earlier.is_none(), "two objects with key {key}");

        let path = format!("/apps/{{app}}/buckets/{BUCKET}/objects/{id}");
        let r = api.must(Method::GET, &path, &Value::Null).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            user_fields(&r.body),
            fields,
            "GET and query disagree on {id}"
        );
        assert_eq!(
            r.version,
            Some(version),
            "GET and query disagree on {id}'s version"
        );
        for field in ["k", "v"] {
            let found = api
                .query(json!({"type": "eq", "field": field, "value": fields[field]}))
                .await;
            let ids: Vec<&str> = found.iter().map(|d| d["_id"].as_str().unwrap()).collect();
            assert_eq!(ids, [id.as_str()], "query on {field} of {fields}");
        }
    }
    let mut checked = ObjectsChecked {
        stored: stored.len(),
        unanswered: 0,
        landed: 0,
    };

    for writer in writers.iter_mut() {
        for t in &mut writer.objects {
            let found = stored.remove(&t.key);
            let state = found
                .as_ref()
                .map(|(_, fields, version)| (fields, *version));
            for refused in &t.refused {
                assert_ne!(
                    state.map(|s| s.0),
                    Some(refused),
                    "a refused write of {} is there",
                    t.key
                );
            }
            match (&t.acked, &t.unanswered, state) {
                (Some((body, v)), _, Some((fields, version))) if fields == body => {
                    assert_eq!(
                        version, *v,
                        "{}: the acknowledged body under another version",
                        t.key
                    )
                }
                (Some((_, v)), Some(body), Some((fields, version))) if fields == body => {
                    assert!(
                        version > *v,
                        "{}: the unanswered write did not make a new version",
                        t.key
                    )
                }
                (None, Some(body), Some((fields, _))) if fields == body => {}
                (None, _, None) => {}
                (acked, unanswered, state) => panic!(
                    "{}: acknowledged {acked:?}, unanswered {unanswered:?}, but stored {state:?}",
                    t.key
                ),
            }
            if let Some(body) = t.unanswered.take() {
                checked.unanswered += 1;
                checked.landed += usize::from(state.is_some_and(|(fields, _)| *fields == body));
            }
            t.refused.clear();
            if let Some((id, fields, version)) = found {
                t.id = Some(id);
                t.acked = Some((fields, version));
            }
        }
        writer.objects.retain(|t| t.acked.is_some());
    }
    assert!(
        stored.is_empty(),
        "objects no writer created: {:?}",
        stored.keys().collect::<Vec<_>>()
    );
    checked
}

/// The notes the developer log holds for a round (which began at `since_ms`).
async fn logged_notes(api: &Api, since_ms: i64) -> HashSet<String> {
    let path = format!(
        "/apps/{{app}}/developer-log?level=INFO&limit=1500&since={}",
        since_ms - 1
    );
    let r = api.must(Method::GET, &path, &Value::Null).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut logged = HashSet::new();
    for record in r.body["records"].as_array().unwrap() {
        if record["key"] != "servercode.log" {
            continue;
        }
        let note = record["description"]
            .as_str()
            .and_then(|d| d.strip_prefix("note "))
            .unwrap_or_else(|| panic!("not a record that was written: {record}"));
        assert_eq!(record["entry-name"], "note", "{record}");
        assert!(logged.insert(note.to_owned()), "written twice: {record}");
    }
    logged
}

/// Waits until a record of the round is in the developer log.
async fn first_note_logged(api: &Api, since_ms: i64) {
    let started = Instant::now();
    while logged_notes(api, since_ms).await.is_empty() {
        assert!(
            started.elapsed() < DEVLOG_STUCK,
            "the developer log showed no record of a run for {DEVLOG_STUCK:?} under load"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Checks the round's `note` records; returns how many answered runs lost theirs, and how long
/// before the kill the oldest such run was answered.
async fn check_developer_log(
    api: &Api,
    since_ms: i64,
    notes: &[Notes],
    seen_before_kill: &HashSet<String>,
    killed_at: Instant,
) -> (usize, Duration) {
    let logged = logged_notes(api, since_ms).await;
    for note in &logged {
        assert!(
            notes.iter().any(|n| n.sent.contains(note)),
            "not a record that was written: {note}"
        );
    }
    for note in seen_before_kill {
        assert!(
            logged.contains(note),
            "{note} was in the log before the kill and is gone after it"
        );
    }
    let total: usize = notes.iter().map(|n| n.answered.len()).sum();
    assert!(total < 1500, "more notes than one page of the log");
    let mut lost = 0;
    let mut oldest = Duration::ZERO;
    for (note, answered_at) in notes.iter().flat_map(|n| &n.answered) {
        if !logged.contains(note) {
            lost += 1;
            oldest = oldest.max(killed_at.saturating_duration_since(*answered_at));
        }
    }
    (lost, oldest)
}
