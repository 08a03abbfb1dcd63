//! Server hooks across real `kumo` processes:
//!
//! - three nodes on one PostgreSQL database run a job every second for 30 s: every firing is
//!   recorded once and its code ran once, none is missed;
//! - a node killed with SIGKILL in the middle of a run leaves that firing FAILED (its lease ran
//!   out) and the survivor goes on running the next firings;
//! - a version switch on one node stops the old schedule on the others;
//! - a single SQLite node killed with SIGKILL with trigger events still pending delivers every
//!   one of them after its restart.

mod support;

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use kumo_storage::testing::TestDb;
use reqwest::Method;
use serde_json::{json, Value};
use support::{http_get, temp_dir, Server};

/// How long the three nodes share the every-second job.
const SHARED_RUN: Duration = Duration::from_secs(32);

const TICK_CODE: &str = r#"
function tick(params, context, done) {
  var o = context.getAppAdminContext().bucketWithName('ticks').createObject();
  o.set('at', Date.now());
  o.save().then(function () { done('tick'); });
}
function slow(params, context) {
  var until = Date.now() + params.ms;
  while (Date.now() < until) {}
  return 'slept';
}
function other(params, context) { return 'other'; }
"#;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A free port on 127.0.0.1 (bound and released: nodes need distinct, known addresses).
fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

/// A `kumo serve` node on the shared database (or its own SQLite file), short hook leases.
struct Node {
    server: Server,
    site: String,
}

impl Node {
    fn start(dir: &Path, addr: &str, database_url: Option<&str>) -> Node {
        let mut envs = vec![("KUMO_HOOK_LEASE_SECONDS", "2")];
        if let Some(url) = database_url {
            envs.push(("KUMO_DATABASE_URL", url));
        }
        let server = Server::start_on(addr, dir, &[], &envs);
        let site = format!("http://{addr}/api");
        let health = format!("http://{addr}/health");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !http_get(&health).is_ok_and(|b| b.contains("\"ok\"")) {
            assert!(Instant::now() < deadline, "{addr} never became healthy");
            std::thread::sleep(Duration::from_millis(20));
        }
        Node { server, site }
    }
}

struct Api {
    client: reqwest::Client,
    site: String,
    app_id: String,
    app_key: String,
    token: String,
}

impl Api {
    async fn admin(node: &Node) -> Api {
        let creds = &node.server.creds;
        let mut api = Api {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            site: node.site.clone(),
            app_id: creds["appID"].as_str().unwrap().to_owned(),
            app_key: creds["appKey"].as_str().unwrap().to_owned(),
            token: String::new(),
        };
        let r = api
            .call(
                Method::POST,
                "/oauth2/token",
                "application/json",
                json!({"client_id": creds["clientID"], "client_secret": creds["clientSecret"]})
                    .to_string(),
            )
            .await;
        api.token = r["access_token"]
            .as_str()
            .expect("an admin token")
            .to_owned();
        api
    }

    /// Sends a request and returns its JSON body (`null` when empty); panics on a non-2xx.
    async fn call(&self, method: Method, path: &str, content_type: &str, body: String) -> Value {
        let path = path.replace("{app}", &self.app_id);
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.site))
            .header("x-kii-appid", &self.app_id)
            .header("x-kii-appkey", &self.app_key)
            .header("content-type", content_type)
            .body(body);
        if !self.token.is_empty() {
            req = req.header("authorization", format!("Bearer {}", self.token));
        }
        let res = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = res.status();
        let text = res.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Deploys the code with `hooks` and makes it current; returns the version.
    async fn deploy(&self, hooks: Option<Value>) -> String {
        let r = self
            .call(
                Method::POST,
                "/apps/{app}/server-code",
                "application/javascript",
                TICK_CODE.to_owned(),
            )
            .await;
        let version = r["versionID"].as_str().unwrap().to_owned();
        if let Some(hooks) = hooks {
            self.call(
                Method::PUT,
                &format!("/apps/{{app}}/hooks/versions/{version}"),
                "application/vnd.kii.HooksDeploymentRequest+json",
                hooks.to_string(),
            )
            .await;
        }
        self.call(
            Method::PUT,
            "/apps/{app}/server-code/versions/current",
            "text/plain",
            version.clone(),
        )
        .await;
        version
    }

    /// Every execution of `job`, oldest firing first.
    async fn executions(&self, job: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut key: Option<String> = None;
        loop {
            let mut body = json!({"scheduleExecutionQuery": {
                "clause": {"type": "eq", "field": "name", "value": job},
                "orderBy": "startedAt"}, "bestEffortLimit": 200});
            if let Some(k) = &key {
                body["paginationKey"] = json!(k);
            }
            let r = self
                .call(
                    Method::POST,
                    "/apps/{app}/hooks/executions/query",
                    "application/vnd.kii.ScheduleExecutionQueryRequest+json",
                    body.to_string(),
                )
                .await;
            all.extend(r["results"].as_array().unwrap().iter().cloned());
            match r["nextPaginationKey"].as_str() {
                Some(k) => key = Some(k.to_owned()),
                None => break,
            }
        }
        all.sort_by_key(|e| e["scheduledAt"].as_i64());
        all
    }

    /// Every object of an app bucket.
    async fn objects(&self, bucket: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut key: Option<String> = None;
        loop {
            let mut body =
                json!({"bucketQuery": {"clause": {"type": "all"}}, "bestEffortLimit": 200});
            if let Some(k) = &key {
                body["paginationKey"] = json!(k);
            }
            let r = self
                .call(
                    Method::POST,
                    &format!("/apps/{{app}}/buckets/{bucket}/query"),
                    "application/json",
                    body.to_string(),
                )
                .await;
            all.extend(r["results"].as_array().unwrap().iter().cloned());
            match r["nextPaginationKey"].as_str() {
                Some(k) => key = Some(k.to_owned()),
                None => return all,
            }
        }
    }
}

fn every_second(endpoint: &str, parameters: Value) -> Value {
    json!({"kiicloud://scheduler": {"job": {"cron": "* * * * * *", "endpoint": endpoint,
        "parameters": parameters, "what": "EXECUTE_SERVER_CODE"}}})
}

/// Polls `check` for up to `limit`; panics with `what` if it never holds.
fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn three_nodes_run_each_firing_exactly_once() {
    let rt = runtime();
    let db = rt.block_on(TestDb::postgres());
    let dir = temp_dir("hooks-3");
    let nodes: Vec<Node> = (0..3)
        .map(|_| Node::start(&dir, &free_addr(), Some(&db.url)))
        .collect();
    let api = rt.block_on(Api::admin(&nodes[0]));
    rt.block_on(api.deploy(Some(every_second("tick", json!({})))));
    std::thread::sleep(SHARED_RUN);
    // A version without hooks stops the job; what was claimed by then finishes.
    rt.block_on(api.deploy(None));
    std::thread::sleep(Duration::from_secs(3));
    let runs = rt.block_on(api.executions("job"));
    let ticks = rt.block_on(api.objects("ticks"));
    drop(nodes);

    assert!(runs.len() >= 28, "{} firings in {SHARED_RUN:?}", runs.len());
    let times: Vec<i64> = runs
        .iter()
        .map(|r| r["scheduledAt"].as_i64().unwrap())
        .collect();
    let missed: Vec<_> = times.windows(2).filter(|w| w[1] - w[0] != 1000).collect();
    assert!(missed.is_empty(), "missed or doubled firings: {missed:?}");
    let not_ok: Vec<_> = runs.iter().filter(|r| r["status"] != "SUCCESS").collect();
    assert!(not_ok.is_empty(), "{not_ok:#?}");
    // The code ran once per firing: one object per recorded firing.
    assert_eq!(
        ticks.len(),
        runs.len(),
        "the endpoint ran more often than it fired"
    );
    eprintln!(
        "three nodes: {} firings over {SHARED_RUN:?}, none missed, none twice",
        runs.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
    rt.block_on(async move { drop(db) });
}

#[test]
fn a_node_killed_mid_run_leaves_a_failed_record_and_the_survivor_goes_on() {
    let rt = runtime();
    let db = rt.block_on(TestDb::postgres());
    let dir = temp_dir("hooks-kill");
    let mut doomed = Node::start(&dir, &free_addr(), Some(&db.url));
    let api = rt.block_on(Api::admin(&doomed));
    // Every firing runs 4 s: whatever the doomed node claimed is still running when it dies.
    rt.block_on(api.deploy(Some(every_second("slow", json!({"ms": 4000})))));
    wait_until(
        "a firing running on the doomed node",
        Duration::from_secs(20),
        || {
            rt.block_on(api.executions("job"))
                .iter()
                .any(|r| r["status"] == "RUNNING")
        },
    );
    let survivor = Node::start(&dir, &free_addr(), Some(&db.url));
    let api = rt.block_on(Api::admin(&survivor));
    doomed.server.kill();
    let killed_at = now_ms();
    let before: Vec<Value> = rt
        .block_on(api.executions("job"))
        .into_iter()
        .filter(|r| r["startedAt"].as_i64().unwrap() < killed_at && r["status"] == "RUNNING")
        .collect();
    assert!(!before.is_empty());
    // Within the lease (2 s) plus the reaper's beat, each one the dead node held is FAILED;
    // later firings succeed on the survivor.
    wait_until(
        "lost firings recorded FAILED and later firings succeeding",
        Duration::from_secs(30),
        || {
            let runs = rt.block_on(api.executions("job"));
            let lost = runs.iter().any(|r| {
                r["status"] == "FAILED"
                    && r["result"].as_str().unwrap_or("").contains("node")
                    && r["startedAt"].as_i64().unwrap() < killed_at
            });
            let later = runs.iter().any(|r| {
                r["status"] == "SUCCESS" && r["startedAt"].as_i64().unwrap() > killed_at + 1000
            });
            lost && later
        },
    );
    let runs = rt.block_on(api.executions("job"));
    // Every firing the dead node held ended one way or another; none stays RUNNING forever.
    for held in &before {
        let now = runs
            .iter()
            .find(|r| r["scheduleExecutionID"] == held["scheduleExecutionID"])
            .unwrap();
        assert_ne!(now["status"], "RUNNING", "{now}");
    }
    drop(survivor);
    let _ = std::fs::remove_dir_all(&dir);
    rt.block_on(async move { drop(db) });
}

#[test]
fn a_version_switch_on_one_node_stops_the_schedule_on_the_others() {
    let rt = runtime();
    let db = rt.block_on(TestDb::postgres());
    let dir = temp_dir("hooks-switch");
    let a = Node::start(&dir, &free_addr(), Some(&db.url));
    let b = Node::start(&dir, &free_addr(), Some(&db.url));
    let on_a = rt.block_on(Api::admin(&a));
    let on_b = rt.block_on(Api::admin(&b));
    let old = rt.block_on(on_a.deploy(Some(every_second("tick", json!({})))));
    wait_until("the job firing", Duration::from_secs(20), || {
        rt.block_on(on_b.executions("job")).len() >= 2
    });
    // Switched through node B; node A must stop too (it may be the one claiming firings).
    rt.block_on(on_b.deploy(None));
    let switched_at = now_ms();
    std::thread::sleep(Duration::from_secs(4));
    let runs = rt.block_on(on_a.executions("job"));
    let late: Vec<_> = runs
        .iter()
        .filter(|r| r["scheduledAt"].as_i64().unwrap() > switched_at + 1500)
        .collect();
    assert!(
        late.is_empty(),
        "the old schedule fired after the switch: {late:#?}"
    );
    assert!(runs.iter().all(|r| r["versionID"] == old.as_str()));
    drop((a, b));
    let _ = std::fs::remove_dir_all(&dir);
    rt.block_on(async move { drop(db) });
}

#[test]
fn a_sqlite_node_killed_with_pending_trigger_events_delivers_them_after_restart() {
    let rt = runtime();
    let dir = temp_dir("hooks-sqlite-kill");
    let addr = free_addr();
    let mut node = Node::start(&dir, &addr, None);
    let api = rt.block_on(Api::admin(&node));
    let version = rt.block_on(api.deploy(None));
    // Each delivery takes 150 ms, so most of the burst is still pending at the kill.
    let source = r#"
function copy(params, context, done) {
  var until = Date.now() + 150;
  while (Date.now() < until) {}
  var o = context.getAppAdminContext().bucketWithName('copies').createObject();
  o.set('of', params.objectID);
  o.save().then(function () { done('copied'); });
}
"#;
    let r = rt.block_on(api.call(
        Method::POST,
        "/apps/{app}/server-code",
        "application/javascript",
        source.to_owned(),
    ));
    let v2 = r["versionID"].as_str().unwrap().to_owned();
    assert_ne!(v2, version);
    rt.block_on(
        api.call(
            Method::PUT,
            &format!("/apps/{{app}}/hooks/versions/{v2}"),
            "application/vnd.kii.HooksDeploymentRequest+json",
            json!({"kiicloud://buckets/inbox": [
            {"when": "DATA_OBJECT_CREATED", "what": "EXECUTE_SERVER_CODE", "endpoint": "copy"}]})
            .to_string(),
        ),
    );
    rt.block_on(api.call(
        Method::PUT,
        "/apps/{app}/server-code/versions/current",
        "text/plain",
        v2,
    ));
    let mut ids = HashSet::new();
    for i in 0..40 {
        let r = rt.block_on(api.call(
            Method::POST,
            "/apps/{app}/buckets/inbox/objects",
            "application/json",
            json!({"i": i}).to_string(),
        ));
        ids.insert(r["objectID"].as_str().unwrap().to_owned());
    }
    let copied_before = rt.block_on(api.objects("copies")).len();
    node.server.kill();
    assert!(
        copied_before < ids.len(),
        "the kill came too late to test anything"
    );
    let node = Node::start(&dir, &addr, None);
    let api = rt.block_on(Api::admin(&node));
    wait_until("a copy of every object", Duration::from_secs(60), || {
        let copied: HashSet<String> = rt
            .block_on(api.objects("copies"))
            .iter()
            .map(|o| o["of"].as_str().unwrap().to_owned())
            .collect();
        copied == ids
    });
    drop(node);
    let _ = std::fs::remove_dir_all(&dir);
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
