//! Node's globals in deployed server code, over real HTTP on SQLite and PostgreSQL: Kii's
//! tutorial pattern (a Basic-auth header built with `new Buffer(…)`), data written through the
//! SDK from `Buffer`, `URL` and `TextEncoder` results and read back over REST, and hostile sizes
//! that end the run with its own error while the server keeps answering.

mod common;

use common::TestServer;
use serde_json::{json, Value};

on_both_backends!(
    buffer_and_url_results_are_stored,
    detached_sdk_methods_work_in_deployed_code,
    hostile_sizes_end_the_run_not_the_server,
);

const CODE: &str = r#"
function basicAuth(params, context) {
  return 'Basic ' + new Buffer(params.id + ':' + params.secret).toString('base64');
}
async function store(params, context) {
  var u = new URL(params.url);
  var obj = context.getAppAdminContext().bucketWithName('parsed').createObject();
  obj.set('host', u.hostname);
  obj.set('q', u.searchParams.get('q'));
  obj.set('b64', Buffer.from(params.text).toString('base64'));
  obj.set('bytes', new TextEncoder().encode(params.text).length);
  await obj.save();
  return obj.getUUID();
}
function detached(params, context) {
  var target = context.getAppAdminContext().bucketWithName('parsed').createObject();
  var save = target.save;
  return save().then(function () { return (target.objectACL || target.acl)().listACLEntries(); })
    .then(function (r) { return r[1].length > 0; })
    .catch(function () { return 'caught'; });
}
function huge(params, context) {
  try { Buffer.alloc(1e12); } catch (e) { return [e.name, e.code]; }
}
function tooMuch(params, context) {
  return Buffer.alloc(200 * 1024 * 1024).length;
}
"#;

async fn run(s: &TestServer, endpoint: &str, body: Value) -> common::Reply {
    s.post(
        &format!("/apps/{{app}}/server-code/versions/current/{endpoint}"),
        None,
        body,
    )
    .await
}

async fn buffer_and_url_results_are_stored(s: &TestServer) {
    let admin = s.admin().await;
    s.deploy_current(&admin, CODE).await;

    let r = run(s, "basicAuth", json!({"id": "app", "secret": "s3cret"})).await;
    r.expect_status(200);
    assert_eq!(r.body, json!({"returnedValue": "Basic YXBwOnMzY3JldA=="}));

    let r = run(
        s,
        "store",
        json!({"url": "https://API.example.com/p?q=a+b", "text": "héllo"}),
    )
    .await;
    r.expect_status(200);
    let id = r.body["returnedValue"].as_str().expect("an object ID");
    let stored = s
        .get(
            &format!("/apps/{{app}}/buckets/parsed/objects/{id}"),
            Some(&admin),
        )
        .await;
    stored.expect_status(200);
    assert_eq!(stored.body["host"], "api.example.com");
    assert_eq!(stored.body["q"], "a b");
    assert_eq!(stored.body["b64"], "aMOpbGxv");
    assert_eq!(stored.body["bytes"], 6);
}

async fn detached_sdk_methods_work_in_deployed_code(s: &TestServer) {
    let admin = s.admin().await;
    s.deploy_current(&admin, CODE).await;
    let r = run(s, "detached", json!({})).await;
    r.expect_status(200);
    assert_eq!(r.body, json!({"returnedValue": true}));
}

async fn hostile_sizes_end_the_run_not_the_server(s: &TestServer) {
    let admin = s.admin().await;
    s.deploy_current(&admin, CODE).await;

    let r = run(s, "huge", json!({})).await;
    r.expect_status(200);
    assert_eq!(
        r.body,
        json!({"returnedValue": ["RangeError", "ERR_OUT_OF_RANGE"]})
    );

    let r = run(s, "tooMuch", json!({})).await;
    r.expect_error(400, "ENDPOINT_INVOCATION_ERROR");
    assert_eq!(r.body["details"]["errorCode"], "MEMORY_LIMIT_EXCEEDED");

    let r = run(s, "basicAuth", json!({"id": "a", "secret": "b"})).await;
    r.expect_status(200);
}
