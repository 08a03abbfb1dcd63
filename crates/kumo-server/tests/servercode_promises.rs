//! Endpoints that return a promise, over real HTTP on SQLite and PostgreSQL: `async function`
//! endpoints and returned SDK chains answer their value once it is there, a rejected promise
//! is an uncaught exception (error body and developer log), and Kii's `done` style still works.

mod common;

use std::time::Duration;

use common::TestServer;
use serde_json::{json, Value};

on_both_backends!(
    awaited_sdk_writes_answer_their_value,
    rejected_promise_is_an_uncaught_exception,
    done_style_still_works,
);

const CODE: &str = r#"
async function saveAndRead(params, context) {
  var admin = context.getAppAdminContext();
  var obj = admin.bucketWithName('notes').createObject();
  obj.set('title', params.title);
  await obj.save();
  var again = admin.objectWithURI(obj.objectURI());
  await again.refresh();
  return { title: again.get('title'), id: obj.getUUID() };
}
function chained(params, context) {
  var obj = context.getAppAdminContext().bucketWithName('notes').createObject();
  obj.set('n', 41);
  return obj.save().then(function (saved) { return saved.get('n') + 1; });
}
async function rejects(params, context) {
  await Promise.resolve();
  throw new Error('rejected on purpose');
}
async function anonymousSave(params, context) {
  await Kii.bucketWithName('notes').createObject().save();
  return 'saved';
}
async function doneLater(params, context, done) {
  var obj = context.getAppAdminContext().bucketWithName('notes').createObject();
  obj.save().then(function (saved) { done('done: ' + saved.getUUID()); });
}
function doneFirst(params, context, done) {
  done('from done');
  return Promise.resolve('from the promise');
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

async fn awaited_sdk_writes_answer_their_value(s: &TestServer) {
    let admin = s.admin().await;
    s.deploy_current(&admin, CODE).await;

    let r = run(s, "saveAndRead", json!({"title": "kept"})).await;
    r.expect_status(200);
    assert_eq!(r.body["returnedValue"]["title"], "kept", "{}", r.body);
    let id = r.body["returnedValue"]["id"].as_str().unwrap();
    let stored = s
        .get(
            &format!("/apps/{{app}}/buckets/notes/objects/{id}"),
            Some(&admin),
        )
        .await;
    stored.expect_status(200);
    assert_eq!(stored.body["title"], "kept");

    let r = run(s, "chained", json!({})).await;
    r.expect_status(200);
    assert_eq!(r.body, json!({"returnedValue": 42}));
}

async fn rejected_promise_is_an_uncaught_exception(s: &TestServer) {
    let admin = s.admin().await;
    s.deploy_current(&admin, CODE).await;

    let r = run(s, "rejects", json!({})).await;
    r.expect_error(400, "ENDPOINT_INVOCATION_ERROR");
    assert_eq!(
        r.body["message"],
        "Error found while executing the developer-defined code"
    );
    assert_eq!(r.body["details"]["errorCode"], "UNCAUGHT_EXCEPTION");
    assert_eq!(r.body["details"]["message"], "Error: rejected on purpose");
    assert!(
        r.body["details"]["stack"]
            .as_str()
            .is_some_and(|s| s.contains("rejects")),
        "{}",
        r.body
    );

    // An awaited SDK call that fails (anonymous code may not write) fails the run with its
    // error, instead of answering 200.
    let r = run(s, "anonymousSave", json!({})).await;
    r.expect_error(400, "ENDPOINT_INVOCATION_ERROR");
    assert_eq!(r.body["details"]["errorCode"], "UNCAUGHT_EXCEPTION");

    let line = wait_for_log(s, &admin, "rejected on purpose").await;
    assert_eq!(line["level"], "ERROR", "{line}");
    assert_eq!(line["key"], "servercode.log");
    assert_eq!(line["entry-name"], "rejects");
    assert!(
        line["description"].as_str().unwrap().starts_with(
            "the promise the endpoint returned was rejected: Error: rejected on purpose"
        ),
        "{line}"
    );
}

async fn done_style_still_works(s: &TestServer) {
    let admin = s.admin().await;
    s.deploy_current(&admin, CODE).await;

    // The `async function` fulfils (with `undefined`) before the save's callback calls
    // `done`: the run waits for `done`.
    let r = run(s, "doneLater", json!({})).await;
    r.expect_status(200);
    let text = r.body["returnedValue"].as_str().unwrap();
    assert!(text.starts_with("done: ") && text.len() > 6, "{}", r.body);

    let r = run(s, "doneFirst", json!({})).await;
    r.expect_status(200);
    assert_eq!(r.body, json!({"returnedValue": "from done"}));
}

/// The developer-log record whose description contains `text` (records are written in
/// batches, shortly after the run).
async fn wait_for_log(s: &TestServer, admin: &str, text: &str) -> Value {
    for _ in 0..200 {
        let r = s.get("/apps/{app}/developer-log", Some(admin)).await;
        r.expect_status(200);
        let found = r.body["records"].as_array().unwrap().iter().find(|record| {
            record["description"]
                .as_str()
                .is_some_and(|d| d.contains(text))
        });
        if let Some(record) = found {
            return record.clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no developer-log record containing {text:?}");
}
