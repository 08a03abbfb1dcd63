//! The boundary between tenant code and the server, over real HTTP on SQLite and PostgreSQL:
//! no token leaves a run by any path (returned, nested, stringified, thrown, rejected, logged,
//! in a timeout response), a run's admin token opens nothing outside the run, server code
//! cannot pass for a client whatever headers it sets, and a rejection nobody handled is an
//! uncaught exception.

mod common;

use std::time::Duration;

use common::{Reply, TestServer};
use kumo_storage::Storage;
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    no_token_leaves_a_run,
    a_run_token_opens_nothing_outside_the_run,
    server_code_cannot_pass_for_a_client,
    rejections_are_uncaught_exceptions,
    deep_input_is_refused_and_the_server_keeps_serving,
);

/// Every endpoint also hands out its admin token reversed (`rev`), so the test knows which
/// string must appear nowhere.
const LEAKY: &str = r#"
function rev(s) { return s.split('').reverse().join(''); }
function admin(c) { return c.getAppAdminContext(); }
function retObj(p, c) {
  var o = admin(c).bucketWithName('bb').createObject();
  o.set('n', 1);
  return { value: o, rev: rev(admin(c)._token) };
}
function retSaved(p, c, done) {
  var o = admin(c).bucketWithName('bb').createObject();
  o.set('n', 2);
  o.save().then(function (saved) { done({ value: saved, rev: rev(admin(c)._token) }); },
    function (e) { done('failed: ' + e.message); });
}
function retCtx(p, c) { return { value: admin(c), rev: rev(admin(c)._token) }; }
function retUser(p, c) { return { value: admin(c).userWithID('abc'), rev: rev(admin(c)._token) }; }
function retGroupAcl(p, c) {
  var g = admin(c).groupWithID('g1');
  return { value: [g, { acl: admin(c).bucketWithName('bb').acl() }, g.bucketWithName('x')], rev: rev(admin(c)._token) };
}
function retNested(p, c) {
  var o = admin(c).bucketWithName('bb').createObject();
  return { value: [[o], { deep: { ctx: admin(c) } }], rev: rev(admin(c)._token) };
}
function retStringified(p, c) {
  var o = admin(c).bucketWithName('bb').createObject();
  return { value: JSON.stringify([o, admin(c)]), rev: rev(admin(c)._token) };
}
function retToken(p, c) { return { value: admin(c)._token, rev: rev(admin(c)._token) }; }
function thrown(p, c) {
  var o = admin(c).bucketWithName('bb').createObject();
  throw new Error('rev:' + rev(admin(c)._token) + ' ' + JSON.stringify(o) + ' ' + admin(c)._token);
}
function thrownValue(p, c) {
  throw { rev: rev(admin(c)._token), ctx: admin(c), raw: admin(c)._token };
}
function rejected(p, c, done) {
  Promise.reject(new Error('rev:' + rev(admin(c)._token) + ' ' + admin(c)._token));
}
function logged(p, c) {
  var o = admin(c).bucketWithName('bb').createObject();
  console.log('leak-probe', o, [o], { ctx: admin(c) }, admin(c)._token);
  return { value: 'logged', rev: rev(admin(c)._token) };
}
function timedOut(p, c, done) {
  c._timeoutResponse = { value: admin(c), token: admin(c)._token, rev: rev(admin(c)._token) };
}
"#;

async fn run(s: &TestServer, endpoint: &str, token: Option<&str>) -> Reply {
    s.post(
        &format!("/apps/{{app}}/server-code/versions/current/{endpoint}"),
        token,
        json!({}),
    )
    .await
}

/// The token behind a `rev:` marker or `rev` field anywhere in `text`.
fn token_in(text: &str) -> String {
    // As a message (`rev:`), a JSON field, or a JSON field inside a JSON string.
    let start = ["rev:", "\"rev\":\"", "rev\\\":\\\""]
        .iter()
        .find_map(|marker| text.find(marker).map(|i| i + marker.len()))
        .unwrap_or_else(|| panic!("no rev marker in {text}"));
    let reversed: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert_eq!(reversed.len(), 43, "a token is 43 characters: {text}");
    reversed.chars().rev().collect()
}

fn assert_no_token(text: &str, token: &str) {
    assert!(!text.contains(token), "the admin token leaked: {text}");
    for secret in ["\"_tok\"", "\"_token\"", "\"_accessToken\""] {
        assert!(!text.contains(secret), "{secret} serialised: {text}");
    }
}

async fn no_token_leaves_a_run(s: &TestServer) {
    let admin = s.admin().await;
    s.deploy_current(&admin, LEAKY).await;
    for endpoint in [
        "retObj",
        "retSaved",
        "retCtx",
        "retUser",
        "retGroupAcl",
        "retNested",
        "retStringified",
        "retToken",
    ] {
        // Anonymous callers: nobody who calls the endpoint may get the app's keys.
        let r = run(s, endpoint, None).await;
        r.expect_status(200);
        let text = r.body.to_string();
        let token = token_in(&text);
        assert_no_token(&text, &token);
        assert!(r.body["returnedValue"]["value"] != Value::Null, "{text}");
    }
    let r = run(s, "retToken", None).await;
    assert_eq!(r.body["returnedValue"]["value"], "***", "{}", r.body);
    // A timeout response is handed out too.
    let r = run(s, "timedOut", None).await;
    r.expect_status(200);
    let text = r.body.to_string();
    assert_no_token(&text, &token_in(&text));
    assert_eq!(
        r.body["returnedValue"]["_timeoutResponse"]["token"], "***",
        "{text}"
    );

    for endpoint in ["thrown", "thrownValue", "rejected"] {
        let r = run(s, endpoint, None).await;
        r.expect_error(400, "ENDPOINT_INVOCATION_ERROR");
        assert_eq!(
            r.body["details"]["errorCode"], "UNCAUGHT_EXCEPTION",
            "{}",
            r.body
        );
        let text = r.body.to_string();
        assert_no_token(&text, &token_in(&text));
    }

    let r = run(s, "logged", None).await;
    r.expect_status(200);
    let token = token_in(&r.body.to_string());
    let mut log = String::new();
    for _ in 0..200 {
        let r = s.get("/apps/{app}/developer-log", Some(&admin)).await;
        log = r.body.to_string();
        if log.contains("leak-probe") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(log.contains("leak-probe"), "{log}");
    assert_no_token(&log, &token);
}

async fn a_run_token_opens_nothing_outside_the_run(s: &TestServer) {
    let admin = s.admin().await;
    s.deploy_current(&admin, LEAKY).await;
    let r = run(s, "retToken", None).await;
    r.expect_status(200);
    let token = token_in(&r.body.to_string());
    // The captured token is no admin token anywhere outside its run.
    s.get("/apps/{app}/server-code/versions", Some(&token))
        .await
        .expect_error(403, "WRONG_TOKEN");
    s.get("/apps/{app}/server-code/versions", Some(&admin))
        .await
        .expect_status(200);
    s.post(
        "/apps/{app}/buckets/bb/objects",
        Some(&token),
        json!({"x": 1}),
    )
    .await
    .expect_error(403, "WRONG_TOKEN");
    // Nor is it stored: the tokens table never sees it.
    let stored = s
        .store
        .get_token(&kumo_server::auth::digest_hex(&token))
        .await
        .unwrap();
    assert!(stored.is_none(), "a run token was stored: {stored:?}");
}

async fn server_code_cannot_pass_for_a_client(s: &TestServer) {
    let admin = s.admin().await;
    let code = r#"
var FORGED = { 'x-kumo-server-code-origin': 'forged', 'x-kii-appid': 'someone-else', 'x-kii-appkey': 'k' };
function selfCall(p, c, done) {
  Kii.setAdditionalHeaders(FORGED);
  Kii.serverCodeEntry('selfCall').execute({ a: 1 }).then(function () { done('ran'); },
    function (e) { done(String(e.message || e)); });
}
function forgedWrite(p, c, done) {
  Kii.setAdditionalHeaders(FORGED);
  var o = c.getAppAdminContext().bucketWithName('forged').createObject();
  o.save().then(function (saved) { done(saved.getUUID()); }, function (e) { done('failed: ' + e.message); });
}
"#;
    s.deploy_current(&admin, code).await;
    let r = run(s, "selfCall", None).await;
    r.expect_status(200);
    let text = r.body["returnedValue"].as_str().unwrap();
    assert!(
        text.contains("OPERATION_NOT_ALLOWED") || text.contains("409"),
        "server code called server code: {text}"
    );
    let r = run(s, "forgedWrite", None).await;
    r.expect_status(200);
    let id = r.body["returnedValue"].as_str().unwrap().to_owned();
    assert!(!id.starts_with("failed"), "{id}");
    let events = kumo_storage::testing::all_events(&s.store, &s.app.app_id).await;
    let created = events
        .iter()
        .rev()
        .find(|e| e.target.to_string().contains(&id))
        .expect("an event for the object");
    assert!(created.from_server_code, "{created:?}");
}

async fn rejections_are_uncaught_exceptions(s: &TestServer) {
    let admin = s.admin().await;
    let code = r#"
function a(p, c, done) { Promise.resolve().then(function () { throw new Error("boom"); }).then(done); }
function b(p, c, done) { Promise.reject(new Error("no")); }
function str(p, c, done) { Promise.reject("x"); }
function obj(p, c, done) { Promise.reject({ a: 1 }); }
function sdk(p, c, done) {
  // A failing save in a chain without catch (anonymous callers may not write here).
  Kii.bucketWithName('private').createObject().save().then(function () { done('saved'); });
}
function syncThenReject(p, c) { Promise.reject(new Error("after")); return 'answered'; }
"#;
    s.deploy_current(&admin, code).await;
    for (endpoint, message) in [
        ("a", "Error: boom"),
        ("b", "Error: no"),
        ("str", "thrown: x"),
        ("obj", "thrown: {\"a\":1}"),
        ("sdk", "Error: "),
    ] {
        let r = run(s, endpoint, None).await;
        r.expect_error(400, "ENDPOINT_INVOCATION_ERROR");
        assert_eq!(
            r.body["details"]["errorCode"], "UNCAUGHT_EXCEPTION",
            "{endpoint}: {}",
            r.body
        );
        let got = r.body["details"]["message"].as_str().unwrap_or_default();
        assert!(got.contains(message), "{endpoint}: {}", r.body);
    }
    // The SDK's own error names what failed.
    let r = run(s, "sdk", None).await;
    let got = r.body["details"]["message"].as_str().unwrap();
    assert!(
        got.contains("UNAUTHORIZED") || got.contains("ACCESS"),
        "{got}"
    );
    // A synchronous endpoint has answered before its promise is rejected.
    let r = run(s, "syncThenReject", None).await;
    r.expect_status(200);
    assert_eq!(r.body["returnedValue"], "answered");
}

fn nested(open: &str, inner: &str, close: &str, depth: usize) -> String {
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
}

/// The server still answers, and still runs code.
async fn still_serving(s: &TestServer) {
    let r = s
        .client
        .get(s.url("/health").replace("/api", ""))
        .send()
        .await;
    let r = match r {
        Ok(r) => r,
        Err(e) => panic!("the server is gone: {e}"),
    };
    assert_eq!(r.status(), 200);
    let r = run(s, "ok", None).await;
    r.expect_status(200);
    assert_eq!(r.body["returnedValue"], 1);
}

async fn deep_input_is_refused_and_the_server_keeps_serving(s: &TestServer) {
    let admin = s.admin().await;
    let code = r#"
function ok(p, c) { return 1; }
function deepResult(p, c) { var a = []; for (var i = 0; i < 20000; i++) { a = [a]; } return a; }
"#;
    s.deploy_current(&admin, code).await;
    // Deploys: each nesting kind, up to the body limit. The first used to abort the process.
    let deep_sources = [
        format!("function f() {{ return {}; }}", nested("[", "", "]", 1_500)),
        nested("{", "", "}", 5_000),
        format!(
            "function f() {{ return {}; }}",
            nested("(", "1", ")", 100_000)
        ),
        format!(
            "function f() {{ return {}; }}",
            nested("!", "x", "", 500_000)
        ),
        format!(
            "function f() {{ return {}; }}",
            nested("a+", "a", "", 500_000)
        ),
        format!(
            "function f() {{ return {}; }}",
            nested("`${", "1", "}`", 100_000)
        ),
        format!(
            "function f() {{ return {}; }}",
            nested("function(){return ", "1", "}", 40_000)
        ),
    ];
    for source in &deep_sources {
        let r = s
            .raw(
                Method::POST,
                "/apps/{app}/server-code",
                Some(&admin),
                Some("application/javascript"),
                source.as_bytes().to_vec(),
            )
            .await;
        if r.status.as_u16() != 201 {
            r.expect_error(400, "SERVER_CODE_VERIFICATION_ERROR");
            assert!(r.body["line"].as_u64().unwrap() >= 1, "{}", r.body);
            assert!(r.body["column"].as_u64().unwrap() >= 1, "{}", r.body);
        }
        still_serving(s).await;
    }
    // JSON bodies, query clauses and run parameters nested past what is parsed.
    let deep_json = nested("{\"a\":", "1", "}", 100_000);
    for path in [
        "/apps/{app}/buckets/deep/objects",
        "/apps/{app}/server-code/versions/current/ok",
    ] {
        let r = s
            .raw(
                Method::POST,
                path,
                Some(&admin),
                Some("application/json"),
                deep_json.clone().into_bytes(),
            )
            .await;
        assert_eq!(r.status.as_u16(), 400, "{path}: {}", r.body);
        assert!(r.body["errorCode"].is_string(), "{}", r.body);
    }
    s.post(
        "/apps/{app}/buckets/deep/objects",
        Some(&admin),
        json!({"a": 1}),
    )
    .await
    .expect_status(201);
    for depth in [50, 120, 20_000] {
        let clause = nested(
            "{\"type\":\"not\",\"clause\":",
            "{\"type\":\"eq\",\"field\":\"a\",\"value\":1}",
            "}",
            depth,
        );
        let body = format!("{{\"bucketQuery\":{{\"clause\":{clause}}}}}");
        let r = s
            .raw(
                Method::POST,
                "/apps/{app}/buckets/deep/query",
                Some(&admin),
                Some("application/vnd.kii.QueryRequest+json"),
                body.into_bytes(),
            )
            .await;
        // Clauses nest at most 10 deep; deeper JSON is not even parsed.
        r.expect_error(
            400,
            if depth < 128 {
                "QUERY_NOT_SUPPORTED"
            } else {
                "INVALID_JSON"
            },
        );
    }
    // A value nested deeper than JSON can hold, built at run time.
    let r = run(s, "deepResult", None).await;
    assert!(
        r.status.as_u16() == 200 || r.status.as_u16() == 400,
        "{}",
        r.body
    );
    still_serving(s).await;
}

/// A server that accepts bodies larger than a server-code file may be still refuses the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_over_the_limit_is_refused() {
    let config = kumo_server::Config {
        max_body_bytes: 8 << 20,
        ..Default::default()
    };
    let s = TestServer::start_with(kumo_storage::Dialect::Sqlite, config).await;
    let admin = s.admin().await;
    let mut source = String::from("function f() { return 1; }\n");
    source.push_str(&"// padding padding padding padding\n".repeat((4 << 20) / 35 + 1));
    let r = s
        .raw(
            Method::POST,
            "/apps/{app}/server-code",
            Some(&admin),
            Some("application/javascript"),
            source.into_bytes(),
        )
        .await;
    r.expect_error(413, "REQUEST_ENTITY_TOO_LARGE");
    assert!(
        r.body["message"].as_str().unwrap().contains("4194304"),
        "{}",
        r.body
    );
    s.stop().await;
}
