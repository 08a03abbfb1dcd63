//! Thing writes fire server hooks, on SQLite and PostgreSQL: `kiicloud://things` triggers with
//! the thing's params, and `kiicloud://things/*/buckets/…` object triggers.

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use kumo_server::Config;
use kumo_storage::Dialect;
use reqwest::Method;
use serde_json::{json, Value};

fn config() -> Config {
    let mut config = Config::default();
    config.server_code.hooks.poll = Duration::from_millis(20);
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thing_writes_fire_hooks_sqlite() {
    thing_writes_fire_hooks(Dialect::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thing_writes_fire_hooks_postgres() {
    thing_writes_fire_hooks(Dialect::Postgres).await;
}

const SOURCE: &str = r#"
function record(when, params, context, done) {
  var o = context.getAppAdminContext().bucketWithName('hooklog').createObject();
  o.set('when', when);
  o.set('params', params);
  o.save().then(function () { done('ok'); }, function (e) { done('failed: ' + e.message); });
}
function onCreated(params, context, done) { record('THING_CREATED', params, context, done); }
function onUpdated(params, context, done) { record('THING_FIELDS_UPDATED', params, context, done); }
function onDisabled(params, context, done) { record('THING_DISABLED', params, context, done); }
function onOwner(params, context, done) { record('THING_USER_OWNER_ADDED', params, context, done); }
function onDeleted(params, context, done) { record('THING_DELETED', params, context, done); }
function onReading(params, context, done) { record('DATA_OBJECT_CREATED', params, context, done); }
"#;

async fn records(s: &TestServer, admin: &str) -> Vec<Value> {
    let r = s
        .post(
            "/apps/{app}/buckets/hooklog/query",
            Some(admin),
            json!({"bucketQuery": {"clause": {"type": "all"}}, "bestEffortLimit": 1000}),
        )
        .await;
    if r.status.as_u16() == 404 {
        return Vec::new();
    }
    r.expect_status(200);
    r.body["results"].as_array().unwrap().clone()
}

async fn thing_writes_fire_hooks(dialect: Dialect) {
    let s = TestServer::start_with(dialect, config()).await;
    let admin = s.admin().await;
    let hook = |when: &str, endpoint: &str| json!({"when": when, "what": "EXECUTE_SERVER_CODE", "endpoint": endpoint});
    let hooks = json!({
        "kiicloud://things": [
            hook("THING_CREATED", "onCreated"),
            hook("THING_FIELDS_UPDATED", "onUpdated"),
            hook("THING_DISABLED", "onDisabled"),
            hook("THING_USER_OWNER_ADDED", "onOwner"),
            hook("THING_DELETED", "onDeleted"),
        ],
        "kiicloud://things/*/buckets/readings": [hook("DATA_OBJECT_CREATED", "onReading")],
    });
    let r = s
        .raw(
            Method::POST,
            "/apps/{app}/server-code",
            Some(&admin),
            Some("application/javascript"),
            SOURCE.as_bytes().to_vec(),
        )
        .await;
    r.expect_status(201);
    let version = r.body["versionID"].as_str().unwrap().to_owned();
    let r = s
        .raw(
            Method::PUT,
            &format!("/apps/{{app}}/hooks/versions/{version}"),
            Some(&admin),
            Some("application/vnd.kii.HooksDeploymentRequest+json"),
            hooks.to_string().into_bytes(),
        )
        .await;
    assert!(r.status.is_success(), "hook config refused: {}", r.body);
    s.raw(
        Method::PUT,
        "/apps/{app}/server-code/versions/current",
        Some(&admin),
        Some("text/plain"),
        version.into_bytes(),
    )
    .await
    .expect_status(204);

    let r = s
        .raw(
            Method::POST,
            "/apps/{app}/things",
            None,
            Some("application/vnd.kii.ThingRegistrationAndAuthorizationRequest+json"),
            json!({"_vendorThingID": "hooked", "_password": "pw"})
                .to_string()
                .into_bytes(),
        )
        .await;
    r.expect_status(201);
    let id = r.body["_thingID"].as_str().unwrap().to_owned();
    let token = r.body["_accessToken"].as_str().unwrap().to_owned();
    let thing = format!("/apps/{{app}}/things/{id}");
    s.raw(
        Method::PATCH,
        &thing,
        Some(&token),
        Some("application/vnd.kii.ThingUpdateRequest+json"),
        json!({"_firmwareVersion": "2"}).to_string().into_bytes(),
    )
    .await
    .expect_status(204);
    let r = s
        .post(
            &format!("{thing}/buckets/readings/objects"),
            Some(&token),
            json!({"v": 1}),
        )
        .await;
    r.expect_status(201);
    let object = r.body["objectID"].as_str().unwrap().to_owned();
    let (alice, _) = s.user("alice", "secret123").await;
    s.call(
        Method::PUT,
        &format!("{thing}/ownership/user:{alice}"),
        Some(&admin),
        None,
    )
    .await
    .expect_status(204);
    s.raw(
        Method::PUT,
        &format!("{thing}/status"),
        Some(&admin),
        Some("application/vnd.kii.ThingStatusUpdateRequest+json"),
        json!({"disabled": true}).to_string().into_bytes(),
    )
    .await
    .expect_status(204);
    s.delete(&thing, Some(&admin)).await.expect_status(204);

    let deadline = Instant::now() + Duration::from_secs(30);
    let got = loop {
        let got = records(&s, &admin).await;
        if got.len() >= 6 || Instant::now() > deadline {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let by = |when: &str| -> Value {
        got.iter()
            .find(|r| r["when"] == when)
            .unwrap_or_else(|| panic!("no {when} run: {got:#?}"))["params"]
            .clone()
    };
    let uri = format!("kiicloud://things/{id}");
    for when in [
        "THING_CREATED",
        "THING_FIELDS_UPDATED",
        "THING_DISABLED",
        "THING_DELETED",
    ] {
        assert_eq!(by(when), json!({"thingID": id, "uri": uri}), "{when}");
    }
    assert_eq!(
        by("THING_USER_OWNER_ADDED"),
        json!({"thingID": id, "uri": uri, "userID": alice})
    );
    let reading = by("DATA_OBJECT_CREATED");
    assert_eq!(
        reading["uri"],
        format!("kiicloud://things/{id}/buckets/readings/objects/{object}")
    );
    assert_eq!(reading["objectScope"]["thingID"], id.as_str());
    assert_eq!(got.len(), 6, "one run per write: {got:#?}");
    s.stop().await;
}
