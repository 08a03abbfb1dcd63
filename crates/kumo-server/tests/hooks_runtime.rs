//! Server hooks at work over real HTTP on SQLite and PostgreSQL: trigger hooks fire once per
//! change with Kii's params and the acting user, failing ones are retried and their final
//! failure logged, hook-made changes fire nothing, schedules fire every (seconds-field) firing
//! into the execution history, a version switch stops them, and a restart loses no event.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use common::TestServer;
use kumo_server::Config;
use kumo_storage::Dialect;
use reqwest::Method;
use serde_json::{json, Value};

/// Hook settings that make retries and leases quick enough for tests.
fn config() -> Config {
    let mut config = Config::default();
    let hooks = &mut config.server_code.hooks;
    hooks.max_attempts = 3;
    hooks.retry_backoff = Duration::from_millis(50);
    hooks.lease = Duration::from_secs(2);
    hooks.poll = Duration::from_millis(20);
    config
}

macro_rules! hook_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(kumo_storage::Dialect::Sqlite).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(kumo_storage::Dialect::Postgres).await;
            })*
        }
    };
}

hook_tests!(
    every_trigger_fires_once_with_kii_params,
    failing_hooks_are_retried_then_logged,
    hook_made_changes_fire_nothing,
    a_seconds_job_fires_every_second_into_the_history,
    a_version_switch_stops_the_old_schedule,
    a_restart_loses_no_pending_trigger_event,
    failing_jobs_are_recorded_failed,
);

/// Every hook endpoint records what it saw in the app bucket `hooklog`: the trigger, its
/// params, and the user `context.getAccessToken()` acts as.
const RECORDER: &str = r#"
function record(when, params, context, done) {
  var token = context.getAccessToken();
  var save = function (userID) {
    var o = context.getAppAdminContext().bucketWithName('hooklog').createObject();
    o.set('when', when);
    o.set('params', params);
    o.set('actingUser', userID);
    o.save().then(function () { done('recorded ' + when); }, function (e) { done('failed: ' + e.message); });
  };
  if (token === null) { save(null); return; }
  KiiUser.authenticateWithToken(token).then(function (u) { save(u.getID()); },
    function (e) { save('bad token: ' + e.message); });
}
"#;

const WHENS: [(&str, &str); 11] = [
    ("kiicloud://users", "USER_CREATED"),
    ("kiicloud://users", "USER_UPDATED"),
    ("kiicloud://users", "USER_PASSWORD_CHANGED"),
    ("kiicloud://users", "USER_DELETED"),
    ("kiicloud://groups", "GROUP_CREATED"),
    ("kiicloud://groups", "GROUP_MEMBERS_ADDED"),
    ("kiicloud://groups", "GROUP_MEMBERS_REMOVED"),
    ("kiicloud://groups", "GROUP_DELETED"),
    ("kiicloud://buckets/items", "DATA_OBJECT_CREATED"),
    ("kiicloud://buckets/items", "DATA_OBJECT_UPDATED"),
    ("kiicloud://buckets/items", "DATA_OBJECT_DELETED"),
];

/// Source and hook config: one recording endpoint per (path, trigger).
fn recording_hooks() -> (String, Value) {
    let mut source = RECORDER.to_owned();
    let mut config = serde_json::Map::new();
    let mut add = |path: &str, when: &str, tag: &str| {
        let endpoint = format!("on_{tag}_{when}");
        source.push_str(&format!(
            "function {endpoint}(params, context, done) {{ record('{tag}:{when}', params, context, done); }}\n"
        ));
        config
            .entry(path.to_owned())
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .unwrap()
            .push(json!({"when": when, "what": "EXECUTE_SERVER_CODE", "endpoint": endpoint}));
    };
    for (path, when) in WHENS {
        add(path, when, "app");
    }
    for when in [
        "DATA_OBJECT_CREATED",
        "DATA_OBJECT_UPDATED",
        "DATA_OBJECT_DELETED",
    ] {
        add("kiicloud://users/*/buckets/diary", when, "user");
        add("kiicloud://groups/*/buckets/board", when, "group");
    }
    (source, Value::Object(config))
}

/// Deploys `source`, attaches `hooks` to the new version, and makes it current.
async fn deploy_with_hooks(s: &TestServer, admin: &str, source: &str, hooks: &Value) -> String {
    let r = s
        .raw(
            Method::POST,
            "/apps/{app}/server-code",
            Some(admin),
            Some("application/javascript"),
            source.as_bytes().to_vec(),
        )
        .await;
    r.expect_status(201);
    let version = r.body["versionID"].as_str().unwrap().to_owned();
    let r = s
        .raw(
            Method::PUT,
            &format!("/apps/{{app}}/hooks/versions/{version}"),
            Some(admin),
            Some("application/vnd.kii.HooksDeploymentRequest+json"),
            hooks.to_string().into_bytes(),
        )
        .await;
    assert!(r.status.is_success(), "hook config refused: {}", r.body);
    set_current(s, admin, &version).await;
    version
}

async fn set_current(s: &TestServer, admin: &str, version: &str) {
    s.raw(
        Method::PUT,
        "/apps/{app}/server-code/versions/current",
        Some(admin),
        Some("text/plain"),
        version.as_bytes().to_vec(),
    )
    .await
    .expect_status(204);
}

/// Every object of an app bucket (admin).
async fn objects(s: &TestServer, admin: &str, bucket: &str) -> Vec<Value> {
    let r = s
        .post(
            &format!("/apps/{{app}}/buckets/{bucket}/query"),
            Some(admin),
            json!({"bucketQuery": {"clause": {"type": "all"}}, "bestEffortLimit": 1000}),
        )
        .await;
    r.expect_status(200);
    r.body["results"].as_array().unwrap().clone()
}

/// Polls until `done` holds for what `fetch` returns (up to 20 s), and returns that.
async fn eventually<T, F, Fut>(what: &str, mut fetch: F, done: impl Fn(&T) -> bool) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
    T: std::fmt::Debug,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let value = fetch().await;
        if done(&value) {
            return value;
        }
        if Instant::now() > deadline {
            panic!("gave up waiting for {what}: {value:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Lets any run that should not happen have its chance to happen.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(800)).await;
}

async fn dev_log(s: &TestServer, admin: &str, key: &str) -> Vec<Value> {
    let r = s
        .get("/apps/{app}/developer-log?limit=1000", Some(admin))
        .await;
    r.expect_status(200);
    r.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["key"] == key)
        .cloned()
        .collect()
}

async fn every_trigger_fires_once_with_kii_params(dialect: Dialect) {
    let s = TestServer::start_with(dialect, config()).await;
    let admin = s.admin().await;
    let (source, hooks) = recording_hooks();
    deploy_with_hooks(&s, &admin, &source, &hooks).await;
    let app = s.app.app_id.clone();

    // Users: an anonymous sign-up, a user's own update and password change, an admin delete.
    let (alice, ta) = s.user("alice", "secret123").await;
    let (bob, _) = s.user("bob", "secret123").await;
    s.post(
        &format!("/apps/{{app}}/users/{alice}"),
        Some(&ta),
        json!({"displayName": "Alice"}),
    )
    .await
    .expect_status(200);
    // Groups, by alice.
    let r = s
        .post(
            "/apps/{app}/groups",
            Some(&ta),
            json!({"name": "team", "owner": alice}),
        )
        .await;
    r.expect_status(201);
    let group = r.body["groupID"].as_str().unwrap().to_owned();
    let member = format!("/apps/{{app}}/groups/{group}/members/{bob}");
    s.call(Method::PUT, &member, Some(&ta), None)
        .await
        .expect_status(204);
    s.call(Method::DELETE, &member, Some(&ta), None)
        .await
        .expect_status(204);
    // Objects in an app bucket (admin), a user bucket and a group bucket (alice).
    for (base, token) in [
        ("/apps/{app}/buckets/items".to_owned(), &admin),
        (format!("/apps/{{app}}/users/{alice}/buckets/diary"), &ta),
        (format!("/apps/{{app}}/groups/{group}/buckets/board"), &ta),
    ] {
        let r = s
            .post(&format!("{base}/objects"), Some(token), json!({"v": 1}))
            .await;
        r.expect_status(201);
        let id = r.body["objectID"].as_str().unwrap().to_owned();
        let object = format!("{base}/objects/{id}");
        s.call(Method::PUT, &object, Some(token), Some(json!({"v": 2})))
            .await
            .expect_status(200);
        s.delete(&object, Some(token)).await.expect_status(204);
    }
    // Changes without a Kii trigger fire nothing.
    s.call(
        Method::PUT,
        &format!("/apps/{{app}}/groups/{group}/name"),
        Some(&ta),
        Some(json!("renamed")),
    )
    .await;
    s.delete(&format!("/apps/{{app}}/groups/{group}"), Some(&ta))
        .await
        .expect_status(204);
    s.call(
        Method::PUT,
        &format!("/apps/{{app}}/users/{alice}/password"),
        Some(&ta),
        Some(json!({"oldPassword": "secret123", "newPassword": "secret456"})),
    )
    .await
    .expect_status(204);
    s.delete(&format!("/apps/{{app}}/users/{bob}"), Some(&admin))
        .await
        .expect_status(204);

    // Every app trigger once but USER_CREATED twice (two sign-ups), and the user and group
    // buckets' three each.
    let expected = 10 + 2 + 2 * 3;
    eventually(
        "every hook run",
        || objects(&s, &admin, "hooklog"),
        |o| o.len() >= expected,
    )
    .await;
    settle().await;
    let log = objects(&s, &admin, "hooklog").await;
    let mut by_when: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for o in &log {
        by_when
            .entry(o["when"].as_str().unwrap().to_owned())
            .or_default()
            .push(o.clone());
    }
    assert_eq!(log.len(), expected, "{by_when:#?}");
    let one = |when: &str| -> Value {
        let runs = by_when
            .get(when)
            .unwrap_or_else(|| panic!("{when} never fired"));
        assert_eq!(runs.len(), 1, "{when}: {runs:?}");
        runs[0].clone()
    };
    let created = by_when.get("app:USER_CREATED").expect("USER_CREATED fired");
    let created: HashSet<&str> = created
        .iter()
        .map(|o| o["params"]["userID"].as_str().unwrap())
        .collect();
    assert_eq!(created, HashSet::from([alice.as_str(), bob.as_str()]));

    let updated = one("app:USER_UPDATED");
    assert_eq!(
        updated["params"],
        json!({"userID": alice, "uri": format!("kiicloud://users/{alice}")})
    );
    assert_eq!(updated["actingUser"], alice.as_str());
    assert_eq!(
        one("app:USER_PASSWORD_CHANGED")["params"]["userID"],
        alice.as_str()
    );
    let deleted = one("app:USER_DELETED");
    assert_eq!(deleted["params"]["userID"], bob.as_str());
    assert_eq!(deleted["actingUser"], Value::Null, "an admin deleted bob");

    let g = one("app:GROUP_CREATED");
    assert_eq!(
        g["params"],
        json!({"groupID": group, "uri": format!("kiicloud://groups/{group}")})
    );
    assert_eq!(g["actingUser"], alice.as_str());
    for when in ["app:GROUP_MEMBERS_ADDED", "app:GROUP_MEMBERS_REMOVED"] {
        let m = one(when);
        assert_eq!(m["params"]["members"], json!([bob]), "{when}");
        assert_eq!(m["params"]["groupID"], group.as_str(), "{when}");
    }
    one("app:GROUP_DELETED");

    for when in [
        "DATA_OBJECT_CREATED",
        "DATA_OBJECT_UPDATED",
        "DATA_OBJECT_DELETED",
    ] {
        let a = one(&format!("app:{when}"));
        assert_eq!(a["params"]["objectScope"], json!({"appID": app}));
        assert_eq!(a["params"]["bucketID"], "items");
        let id = a["params"]["objectID"].as_str().unwrap();
        assert_eq!(
            a["params"]["uri"],
            format!("kiicloud://buckets/items/objects/{id}")
        );
        assert_eq!(a["actingUser"], Value::Null);

        let u = one(&format!("user:{when}"));
        assert_eq!(
            u["params"]["objectScope"],
            json!({"appID": app, "userID": alice})
        );
        assert_eq!(u["params"]["bucketID"], "diary");
        assert!(u["params"]["uri"]
            .as_str()
            .unwrap()
            .starts_with(&format!("kiicloud://users/{alice}/buckets/diary/objects/")));
        assert_eq!(u["actingUser"], alice.as_str());

        let gr = one(&format!("group:{when}"));
        assert_eq!(
            gr["params"]["objectScope"],
            json!({"appID": app, "groupID": group})
        );
        assert_eq!(gr["actingUser"], alice.as_str());
    }

    // Each run left a DEBUG record saying what ran and how it went.
    let runs = dev_log(&s, &admin, "servercode.hook.run").await;
    assert_eq!(runs.len(), expected, "{runs:#?}");
    let r = runs
        .iter()
        .find(|r| r["trigger"] == "USER_UPDATED")
        .unwrap();
    assert_eq!(r["level"], "DEBUG");
    assert_eq!(r["endpoint"], "on_app_USER_UPDATED");
    assert_eq!(r["outcome"], "success");
    assert_eq!(r["attempt"], "1");
    assert!(r["eventID"].as_str().unwrap().parse::<i64>().is_ok());
    assert!(r["durationMs"].as_str().unwrap().parse::<i64>().is_ok());
    s.stop().await;
}

async fn failing_hooks_are_retried_then_logged(dialect: Dialect) {
    let s = TestServer::start_with(dialect, config()).await;
    let admin = s.admin().await;
    let source = "function boom(params, context) { throw new Error('no ' + params.objectID); }\n";
    let hooks = json!({"kiicloud://buckets/fragile": [
        {"when": "DATA_OBJECT_CREATED", "what": "EXECUTE_SERVER_CODE", "endpoint": "boom"}]});
    deploy_with_hooks(&s, &admin, source, &hooks).await;
    let r = s
        .post(
            "/apps/{app}/buckets/fragile/objects",
            Some(&admin),
            json!({}),
        )
        .await;
    r.expect_status(201);
    let id = r.body["objectID"].as_str().unwrap().to_owned();

    let failed = eventually(
        "the final failure",
        || dev_log(&s, &admin, "servercode.hook.failed"),
        |f| !f.is_empty(),
    )
    .await;
    settle().await;
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(failed[0]["level"], "ERROR");
    assert_eq!(failed[0]["endpoint"], "boom");
    assert_eq!(failed[0]["attempt"], "3");
    let exception = failed[0]["exception"].as_str().unwrap();
    assert!(exception.contains(&format!("no {id}")), "{exception}");

    let mut attempts: Vec<String> = dev_log(&s, &admin, "servercode.hook.run")
        .await
        .iter()
        .map(|r| {
            assert_eq!(r["outcome"], "failure");
            r["attempt"].as_str().unwrap().to_owned()
        })
        .collect();
    attempts.sort();
    assert_eq!(attempts, ["1", "2", "3"], "three attempts, then no more");
    s.stop().await;
}

async fn hook_made_changes_fire_nothing(dialect: Dialect) {
    let s = TestServer::start_with(dialect, config()).await;
    let admin = s.admin().await;
    // Writing into the bucket that triggers it would loop forever if hook writes fired hooks.
    let source = r#"
function echoObject(params, context, done) {
  var o = context.getAppAdminContext().bucketWithName('loop').createObject();
  o.set('copyOf', params.objectID);
  o.save().then(function () { done('copied'); });
}
"#;
    let hooks = json!({"kiicloud://buckets/loop": [
        {"when": "DATA_OBJECT_CREATED", "what": "EXECUTE_SERVER_CODE", "endpoint": "echoObject"}]});
    deploy_with_hooks(&s, &admin, source, &hooks).await;
    let r = s
        .post("/apps/{app}/buckets/loop/objects", Some(&admin), json!({}))
        .await;
    r.expect_status(201);
    let id = r.body["objectID"].as_str().unwrap().to_owned();
    eventually("the copy", || objects(&s, &admin, "loop"), |o| o.len() >= 2).await;
    settle().await;
    let all = objects(&s, &admin, "loop").await;
    assert_eq!(all.len(), 2, "{all:#?}");
    assert!(all.iter().any(|o| o["copyOf"] == id.as_str()));
    assert_eq!(dev_log(&s, &admin, "servercode.hook.run").await.len(), 1);
    s.stop().await;
}

/// The job's executions, oldest first.
async fn executions(s: &TestServer, admin: &str, job: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut key: Option<String> = None;
    loop {
        let mut body = json!({"scheduleExecutionQuery": {
            "clause": {"type": "eq", "field": "name", "value": job},
            "orderBy": "startedAt", "descending": false}, "bestEffortLimit": 100});
        if let Some(k) = &key {
            body["paginationKey"] = json!(k);
        }
        let r = s
            .raw(
                Method::POST,
                "/apps/{app}/hooks/executions/query",
                Some(admin),
                Some("application/vnd.kii.ScheduleExecutionQueryRequest+json"),
                body.to_string().into_bytes(),
            )
            .await;
        r.expect_status(200);
        all.extend(r.body["results"].as_array().unwrap().iter().cloned());
        match r.body["nextPaginationKey"].as_str() {
            Some(k) => key = Some(k.to_owned()),
            None => return all,
        }
    }
}

fn finished(runs: &[Value]) -> Vec<Value> {
    runs.iter()
        .filter(|r| r["status"] != "RUNNING")
        .cloned()
        .collect()
}

async fn a_seconds_job_fires_every_second_into_the_history(dialect: Dialect) {
    let s = TestServer::start_with(dialect, config()).await;
    let admin = s.admin().await;
    let source = r#"
function tick(params, context) {
  if (context.getAccessToken() !== null) { throw new Error('a schedule has no user'); }
  return {label: params.label, admin: typeof context.getAppAdminContext()};
}
function tock(params, context) { return 'tock'; }
"#;
    let hooks = json!({"kiicloud://scheduler": {
        "everySecond": {"cron": "* * * * * *", "endpoint": "tick",
                        "parameters": {"label": "hi"}, "what": "EXECUTE_SERVER_CODE"},
        "yearly": {"cron": "0 0 1 1 *", "endpoint": "tock", "what": "EXECUTE_SERVER_CODE"}}});
    let version = deploy_with_hooks(&s, &admin, source, &hooks).await;
    let runs = eventually(
        "three finished firings",
        || executions(&s, &admin, "everySecond"),
        |r| finished(r).len() >= 3,
    )
    .await;
    let done = finished(&runs);
    for run in &done {
        assert_eq!(run["status"], "SUCCESS", "{run}");
        assert_eq!(run["name"], "everySecond");
        assert_eq!(run["versionID"], version.as_str());
        assert_eq!(run["result"], r#"{"label":"hi","admin":"object"}"#);
        assert_eq!(run["byHand"], false);
        let scheduled = run["scheduledAt"].as_i64().unwrap();
        assert_eq!(scheduled % 1000, 0, "a firing is on its second: {run}");
        assert!(run["startedAt"].as_i64().unwrap() >= scheduled, "{run}");
        assert!(run["finishedAt"].as_i64().unwrap() >= run["startedAt"].as_i64().unwrap());
    }
    // Consecutive firings, none missed and none twice.
    let times: Vec<i64> = runs
        .iter()
        .map(|r| r["scheduledAt"].as_i64().unwrap())
        .collect();
    for pair in times.windows(2) {
        assert_eq!(pair[1] - pair[0], 1000, "{times:?}");
    }
    // The single-execution call answers the same record, with the seed's field names too.
    let id = done[0]["scheduleExecutionID"].as_str().unwrap();
    let r = s
        .get(
            &format!("/apps/{{app}}/hooks/executions/{id}"),
            Some(&admin),
        )
        .await;
    r.expect_status(200);
    assert_eq!(r.body["started"], done[0]["startedAt"]);
    assert_eq!(r.body["finished"], done[0]["finishedAt"]);
    assert_eq!(r.body["result"], done[0]["result"]);

    // A job run by hand is recorded like a firing, marked as such.
    let r = s
        .post(
            "/apps/{app}/hooks/versions/current/jobs/yearly/run",
            Some(&admin),
            json!({}),
        )
        .await;
    r.expect_status(200);
    assert_eq!(r.body["status"], "SUCCESS");
    assert_eq!(r.body["result"], "tock");
    assert_eq!(r.body["byHand"], true);
    let by_hand = executions(&s, &admin, "yearly").await;
    assert_eq!(by_hand.len(), 1);
    assert_eq!(
        by_hand[0]["scheduleExecutionID"],
        r.body["scheduleExecutionID"]
    );
    s.post(
        "/apps/{app}/hooks/versions/current/jobs/nosuch/run",
        Some(&admin),
        json!({}),
    )
    .await
    .expect_error(404, "NOT_FOUND");
    let (_, user) = s.user("mallory", "secret123").await;
    let r = s
        .post(
            "/apps/{app}/hooks/versions/current/jobs/yearly/run",
            Some(&user),
            json!({}),
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.body);

    // The schedule's result is in the developer log too.
    let logged = dev_log(&s, &admin, "servercode.schedule").await;
    assert!(
        logged
            .iter()
            .any(|l| l["jobName"] == "everySecond" || l.to_string().contains("everySecond")),
        "{logged:#?}"
    );
    s.stop().await;
}

async fn a_version_switch_stops_the_old_schedule(dialect: Dialect) {
    let s = TestServer::start_with(dialect, config()).await;
    let admin = s.admin().await;
    let source = "function tick(params, context) { return 1; }\n";
    let hooks = json!({"kiicloud://scheduler": {"t": {"cron": "* * * * * *", "endpoint": "tick",
        "what": "EXECUTE_SERVER_CODE"}}, "kiicloud://buckets/watched": [
        {"when": "DATA_OBJECT_CREATED", "what": "EXECUTE_SERVER_CODE", "endpoint": "tick"}]});
    let old = deploy_with_hooks(&s, &admin, source, &hooks).await;
    eventually(
        "a firing",
        || executions(&s, &admin, "t"),
        |r| !finished(r).is_empty(),
    )
    .await;
    s.deploy_current(&admin, "function other(params, context) { return 2; }\n")
        .await;
    // The switch reaches the hook loops within their refresh (a second); then nothing more.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let before = executions(&s, &admin, "t").await;
    assert!(before.iter().all(|r| r["versionID"] == old.as_str()));
    s.post(
        "/apps/{app}/buckets/watched/objects",
        Some(&admin),
        json!({}),
    )
    .await
    .expect_status(201);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = executions(&s, &admin, "t").await;
    assert_eq!(before.len(), after.len(), "the old schedule still fires");
    let triggered = dev_log(&s, &admin, "servercode.hook.run").await;
    assert!(triggered.is_empty(), "{triggered:#?}");
    s.stop().await;
}

async fn a_restart_loses_no_pending_trigger_event(dialect: Dialect) {
    let mut s = TestServer::start_with(dialect, config()).await;
    let admin = s.admin().await;
    let source = r#"
function copy(params, context, done) {
  var o = context.getAppAdminContext().bucketWithName('copies').createObject();
  o.set('of', params.objectID);
  o.save().then(function () { done('ok'); });
}
"#;
    let hooks = json!({"kiicloud://buckets/inbox": [
        {"when": "DATA_OBJECT_CREATED", "what": "EXECUTE_SERVER_CODE", "endpoint": "copy"}]});
    deploy_with_hooks(&s, &admin, source, &hooks).await;
    let mut ids = HashSet::new();
    for i in 0..40 {
        let r = s
            .post(
                "/apps/{app}/buckets/inbox/objects",
                Some(&admin),
                json!({"i": i}),
            )
            .await;
        r.expect_status(201);
        ids.insert(r.body["objectID"].as_str().unwrap().to_owned());
    }
    // Stopped with events still pending or running; they are delivered after the restart.
    s.stop_server().await;
    s.restart_server(config()).await;
    let admin = s.admin().await;
    let copies = eventually(
        "a copy of every object",
        || objects(&s, &admin, "copies"),
        |c| {
            let copied: HashSet<String> = c
                .iter()
                .map(|o| o["of"].as_str().unwrap().to_owned())
                .collect();
            copied == ids
        },
    )
    .await;
    assert!(copies.len() >= ids.len());
    s.stop().await;
}

/// A job that throws, returns a rejected promise or runs out of time is FAILED in the history
/// with the reason as its result, whether it fired on schedule or was run by hand.
async fn failing_jobs_are_recorded_failed(dialect: Dialect) {
    let mut config = config();
    config.server_code.limits.timeout = Duration::from_millis(300);
    config.server_code.limits.max_steps = 1 << 40;
    let s = TestServer::start_with(dialect, config).await;
    let admin = s.admin().await;
    let source = r#"
function throws(params, context) { throw new Error('boom ' + params.n); }
function rejects(params, context) { return Promise.reject(new Error('rejected ' + params.n)); }
function spins(params, context) { for (;;) {} }
"#;
    let job = |endpoint: &str, cron: &str| {
        json!({"cron": cron, "endpoint": endpoint, "parameters": {"n": 7},
               "what": "EXECUTE_SERVER_CODE"})
    };
    let hooks = json!({"kiicloud://scheduler": {
        "rejectsEverySecond": job("rejects", "* * * * * *"),
        "throwsYearly": job("throws", "0 0 1 1 *"),
        "spinsYearly": job("spins", "0 0 1 1 *")}});
    deploy_with_hooks(&s, &admin, source, &hooks).await;

    let runs = eventually(
        "a finished firing of the rejecting job",
        || executions(&s, &admin, "rejectsEverySecond"),
        |r| !finished(r).is_empty(),
    )
    .await;
    let fired = &finished(&runs)[0];
    assert_eq!(fired["status"], "FAILED", "{fired}");
    assert!(
        fired["result"].as_str().unwrap().contains("rejected 7"),
        "{fired}"
    );

    for (name, expected) in [
        ("throwsYearly", "boom 7"),
        ("spinsYearly", "EXECUTION_TIMEOUT"),
    ] {
        let r = s
            .post(
                &format!("/apps/{{app}}/hooks/versions/current/jobs/{name}/run"),
                Some(&admin),
                json!({}),
            )
            .await;
        r.expect_status(200);
        assert_eq!(r.body["status"], "FAILED", "{name}: {}", r.body);
        assert!(
            r.body["result"].as_str().unwrap().contains(expected),
            "{name}: {}",
            r.body
        );
        let recorded = executions(&s, &admin, name).await;
        assert_eq!(recorded.len(), 1, "{name}");
        assert_eq!(recorded[0]["status"], "FAILED");
    }
    // The server still answers manual runs afterwards.
    let (_, user) = s.user("after", "secret123").await;
    assert!(!user.is_empty());
    s.stop().await;
}
