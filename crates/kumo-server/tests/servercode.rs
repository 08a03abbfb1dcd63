//! Server code over real HTTP on SQLite and PostgreSQL: deploying and managing versions, every
//! error of running an endpoint, limits, the in-process SDK's identity, and the developer log.

mod common;

use std::time::Duration;

use common::TestServer;
use kumo_server::Config;
use kumo_storage::{Dialect, Storage};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    deploy_and_manage_versions,
    management_needs_the_admin,
    deploy_time_verification,
    run_results_and_headers,
    run_errors,
    sandbox_identity_and_events,
    developer_log_records_runs,
);

const CODE: &str = "function echo(params, context) { return params; }\r\n\
function hello(params, context) { console.log('héllo', params.name); return 'hi ' + params.name; }\n\
function later(params, context, done) { Promise.resolve(2).then(function (v) { done(v * 21); }); }\n\
function fails(params, context) { null.boom; }\n\
function token(params, context) { return context.getAccessToken(); }\n\
function loop(params, context) { while (true) {} }\n\
function spin(params, context) { var i = 0; while (true) { i++; } }\n";

async fn deploy(s: &TestServer, admin: &str, source: &str) -> String {
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
    assert_eq!(
        r.headers["content-type"],
        "application/vnd.kii.ServerCodeDeploymentResponse+json"
    );
    let id = r.body["versionID"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 25);
    assert!(id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    id
}

async fn set_current(s: &TestServer, admin: &str, version: &str) {
    let r = s
        .raw(
            Method::PUT,
            "/apps/{app}/server-code/versions/current",
            Some(admin),
            Some("text/plain"),
            version.as_bytes().to_vec(),
        )
        .await;
    r.expect_status(204);
}

/// A request whose answer is text, not JSON.
async fn text(s: &TestServer, method: Method, path: &str, token: Option<&str>) -> (u16, String) {
    let mut req = s.client.request(method, s.url(path));
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn run(
    s: &TestServer,
    version: &str,
    endpoint: &str,
    token: Option<&str>,
    body: Value,
) -> common::Reply {
    s.post(
        &format!("/apps/{{app}}/server-code/versions/{version}/{endpoint}"),
        token,
        body,
    )
    .await
}

async fn deploy_and_manage_versions(s: &TestServer) {
    let admin = s.admin().await;
    let v1 = deploy(s, &admin, CODE).await;
    // Multipart, as Kii's CLI sends it, with an environment version.
    let body = format!(
        "--b0undary\r\nContent-Disposition: form-data; name=\"metadata\"\r\nContent-Type: application/vnd.kii.ServerCodeMetadataRequest+json\r\n\r\n{{\"environmentVersion\":\"16\"}}\r\n--b0undary\r\nContent-Disposition: form-data; name=\"server-code\"; filename=\"c.js\"\r\nContent-Type: application/javascript\r\n\r\n{CODE}\r\n--b0undary--\r\n"
    );
    let r = s
        .raw(
            Method::POST,
            "/apps/{app}/server-code",
            Some(&admin),
            Some("multipart/form-data; boundary=b0undary"),
            body.into_bytes(),
        )
        .await;
    r.expect_status(201);
    let v2 = r.body["versionID"].as_str().unwrap().to_owned();

    let list = s
        .get("/apps/{app}/server-code/versions", Some(&admin))
        .await;
    list.expect_status(200);
    let versions = list.body["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    let find = |id: &str| {
        versions
            .iter()
            .find(|v| v["versionID"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(find(&v1)["environmentVersion"], "6", "the default engine");
    assert_eq!(find(&v2)["environmentVersion"], "16");
    assert_eq!(find(&v1)["current"], false, "deploy never sets current");
    assert!(find(&v1)["createdAt"].is_i64() && find(&v1)["modifiedAt"].is_i64());

    // Byte-exact download, CRLF and non-ASCII included.
    let (status, source) = text(
        s,
        Method::GET,
        &format!("/apps/{{app}}/server-code/versions/{v1}"),
        Some(&admin),
    )
    .await;
    assert_eq!((status, source.as_str()), (200, CODE));

    let (status, _) = text(
        s,
        Method::GET,
        "/apps/{app}/server-code/versions/current",
        Some(&admin),
    )
    .await;
    assert_eq!(status, 404, "no current version yet");
    run(s, "current", "echo", None, json!({}))
        .await
        .expect_error(404, "SERVER_CODE_VERSION_NOT_FOUND");
    set_current(s, &admin, &v2).await;
    let (status, current) = text(
        s,
        Method::GET,
        "/apps/{app}/server-code/versions/current",
        Some(&admin),
    )
    .await;
    assert_eq!((status, current.as_str()), (200, v2.as_str()));
    let r = run(s, "current", "echo", None, json!({"a": 1})).await;
    r.expect_status(200);
    assert_eq!(r.headers["x-environment-version"], "16");
    // A version that is not current runs when named.
    let r = run(s, &v1, "echo", None, json!({"a": 1})).await;
    r.expect_status(200);
    assert_eq!(r.headers["x-environment-version"], "6");

    s.raw(
        Method::PUT,
        "/apps/{app}/server-code/versions/current",
        Some(&admin),
        Some("text/plain"),
        b"nosuchversion".to_vec(),
    )
    .await
    .expect_error(404, "SERVER_CODE_VERSION_NOT_FOUND");
    s.delete("/apps/{app}/server-code/versions/current", Some(&admin))
        .await
        .expect_status(204);
    run(s, "current", "echo", None, json!({}))
        .await
        .expect_error(404, "SERVER_CODE_VERSION_NOT_FOUND");

    s.delete(
        &format!("/apps/{{app}}/server-code/versions/{v1}"),
        Some(&admin),
    )
    .await
    .expect_status(204);
    s.delete(
        &format!("/apps/{{app}}/server-code/versions/{v1}"),
        Some(&admin),
    )
    .await
    .expect_error(404, "SERVER_CODE_VERSION_NOT_FOUND");
    run(s, &v1, "echo", None, json!({}))
        .await
        .expect_error(404, "SERVER_CODE_VERSION_NOT_FOUND");
    // Deleting the current version leaves none.
    set_current(s, &admin, &v2).await;
    s.delete(
        &format!("/apps/{{app}}/server-code/versions/{v2}"),
        Some(&admin),
    )
    .await
    .expect_status(204);
    let (status, _) = text(
        s,
        Method::GET,
        "/apps/{app}/server-code/versions/current",
        Some(&admin),
    )
    .await;
    assert_eq!(status, 404);
}

async fn management_needs_the_admin(s: &TestServer) {
    let (_, user) = s.user("mallory", "secret123").await;
    for token in [Some(user.as_str()), None] {
        let r = s
            .raw(
                Method::POST,
                "/apps/{app}/server-code",
                token,
                Some("application/javascript"),
                CODE.as_bytes().to_vec(),
            )
            .await;
        r.expect_error(401, "UNAUTHORIZED");
        assert_eq!(r.body["authenticatedAppID"], s.app.app_id.as_str());
        s.get("/apps/{app}/server-code/versions", token)
            .await
            .expect_error(401, "UNAUTHORIZED");
        s.delete("/apps/{app}/server-code/versions/current", token)
            .await
            .expect_error(401, "UNAUTHORIZED");
        s.get("/apps/{app}/developer-log", token)
            .await
            .expect_error(401, "UNAUTHORIZED");
    }
    s.raw(
        Method::POST,
        "/apps/{app}/server-code",
        Some("bogus-token"),
        Some("application/javascript"),
        CODE.as_bytes().to_vec(),
    )
    .await
    .expect_error(403, "WRONG_TOKEN");
    assert!(s
        .store
        .list_code_versions(&s.app.app_id)
        .await
        .unwrap()
        .is_empty());
}

async fn deploy_time_verification(s: &TestServer) {
    let admin = s.admin().await;
    let cases = [
        ("function f(p, c) {\n  return eval('1');\n}", 2, 10, "eval"),
        (
            "function f(p, c) {\n  setTimeout(function () {}, 1);\n}",
            2,
            3,
            "setTimeout",
        ),
        (
            "function f(p, c) { setInterval(f, 1); }",
            1,
            20,
            "setInterval",
        ),
        ("function f(p, c) { return new Array(3); }", 1, 27, "Array"),
        ("var __kii_x = 1;", 1, 5, "__kii_"),
        (
            "function f() { return __filename + __dirname; }",
            1,
            23,
            "__filename",
        ),
        ("function f( {\n}", 2, 2, "syntax error"),
    ];
    for (source, line, column, word) in cases {
        let r = s
            .raw(
                Method::POST,
                "/apps/{app}/server-code",
                Some(&admin),
                Some("application/javascript"),
                source.as_bytes().to_vec(),
            )
            .await;
        r.expect_error(400, "SERVER_CODE_VERIFICATION_ERROR");
        assert_eq!(
            (r.body["line"].as_i64(), r.body["column"].as_i64()),
            (Some(line), Some(column)),
            "{source}: {}",
            r.body
        );
        assert!(
            r.body["message"].as_str().unwrap().contains(word),
            "{}",
            r.body
        );
    }
    let bad = [
        (Some("application/javascript"), b"   ".to_vec(), 400, "INVALID_INPUT_DATA"),
        (Some("application/javascript"), vec![0xff, 0xfe, 0x41], 400, "INVALID_INPUT_DATA"),
        (Some("multipart/form-data; boundary=x"), b"nonsense".to_vec(), 400, "INVALID_INPUT_DATA"),
        (
            Some("multipart/form-data; boundary=x"),
            b"--x\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{\"environmentVersion\":\"8\"}\r\n--x\r\nContent-Disposition: form-data; name=\"server-code\"\r\n\r\nfunction f(){}\r\n--x--\r\n".to_vec(),
            400,
            "INVALID_INPUT_DATA",
        ),
    ];
    for (content_type, body, status, code) in bad {
        s.raw(
            Method::POST,
            "/apps/{app}/server-code",
            Some(&admin),
            content_type,
            body,
        )
        .await
        .expect_error(status, code);
    }
    assert!(
        s.store
            .list_code_versions(&s.app.app_id)
            .await
            .unwrap()
            .is_empty(),
        "nothing half-written"
    );
}

async fn run_results_and_headers(s: &TestServer) {
    let admin = s.admin().await;
    let v = deploy(s, &admin, CODE).await;
    set_current(s, &admin, &v).await;
    let r = run(
        s,
        "current",
        "echo",
        None,
        json!({"n": [1, 2.5, null, "x"], "o": {"k": true}}),
    )
    .await;
    r.expect_status(200);
    assert_eq!(
        r.body,
        json!({"returnedValue": {"n": [1, 2.5, null, "x"], "o": {"k": true}}})
    );
    assert_eq!(r.headers["x-step-count"], "1");
    assert_eq!(r.headers["x-environment-version"], "6");
    assert!(r.headers["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .contains("X-Step-count"));
    let r = run(s, "current", "later", None, json!({})).await;
    r.expect_status(200);
    assert_eq!(r.body, json!({"returnedValue": 42}));
    // Credentials: anonymous (none or Basic) and a user's Bearer token.
    let r = run(s, "current", "token", None, json!({})).await;
    assert_eq!(r.body, json!({"returnedValue": null}));
    let (_, user) = s.user("carol", "secret123").await;
    let r = run(s, "current", "token", Some(&user), json!({})).await;
    assert_eq!(r.body, json!({"returnedValue": user}));
    let basic = format!(
        "Basic {}",
        base64_encode(format!("{}:{}", s.app.app_id, s.app.app_key).as_bytes())
    );
    let res = s
        .client
        .post(s.url("/apps/{app}/server-code/versions/current/token"))
        .header("authorization", basic)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"returnedValue": null})
    );
    // An empty body is `{}`; the environment can be chosen per call.
    let r = s
        .raw(
            Method::POST,
            "/apps/{app}/server-code/versions/current/echo?environment-version=0",
            None,
            None,
            Vec::new(),
        )
        .await;
    r.expect_status(200);
    assert_eq!(r.body, json!({"returnedValue": {}}));
    assert_eq!(r.headers["x-environment-version"], "0");
}

async fn run_errors(s: &TestServer) {
    let admin = s.admin().await;
    let v = deploy(s, &admin, CODE).await;
    set_current(s, &admin, &v).await;
    let r = run(s, "current", "nothere", None, json!({})).await;
    r.expect_error(400, "ENDPOINT_INVOCATION_ERROR");
    assert_eq!(r.body["details"]["errorCode"], "ENDPOINT_NOT_FOUND");
    // The exception type Kii's "invoke endpoints" reference names.
    assert_eq!(
        r.headers["content-type"],
        "application/vnd.kii.EndpointInvocationErrorException+json"
    );
    assert_eq!(r.headers["x-step-count"], "0");
    run(s, "current", "bad-name", None, json!({}))
        .await
        .expect_error(400, "INVALID_INPUT_DATA");
    let r = run(s, "current", "fails", None, json!({})).await;
    r.expect_error(400, "ENDPOINT_INVOCATION_ERROR");
    assert_eq!(
        r.body["message"],
        "Error found while executing the developer-defined code"
    );
    assert_eq!(r.body["details"]["errorCode"], "UNCAUGHT_EXCEPTION");
    assert!(
        r.body["details"]["message"]
            .as_str()
            .unwrap()
            .contains("TypeError"),
        "{}",
        r.body
    );
    assert_eq!(
        r.headers["x-step-count"], "1",
        "steps are reported on errors too"
    );
    for body in [&b"[1,2]"[..], b"\"x\"", b"42"] {
        s.raw(
            Method::POST,
            "/apps/{app}/server-code/versions/current/echo",
            None,
            Some("application/json"),
            body.to_vec(),
        )
        .await
        .expect_error(400, "INVALID_INPUT_DATA");
    }
    s.raw(
        Method::POST,
        "/apps/{app}/server-code/versions/current/echo",
        None,
        Some("application/json"),
        b"{nope".to_vec(),
    )
    .await
    .expect_error(400, "INVALID_JSON");
    let big = json!({"blob": "x".repeat(100 * 1024)});
    run(s, "current", "echo", None, big)
        .await
        .expect_error(400, "INVALID_INPUT_DATA");
    s.raw(
        Method::POST,
        "/apps/{app}/server-code/versions/current/echo?environment-version=8",
        None,
        Some("application/json"),
        b"{}".to_vec(),
    )
    .await
    .expect_error(400, "INVALID_INPUT_DATA");
    run(s, "current", "echo", Some("bogus"), json!({}))
        .await
        .expect_error(403, "WRONG_TOKEN");
    // A client cannot pass for server code by sending the internal header.
    let r = s
        .client
        .post(s.url("/apps/{app}/server-code/versions/current/echo"))
        .header("x-kumo-server-code-origin", "guess")
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

async fn sandbox_identity_and_events(s: &TestServer) {
    let admin = s.admin().await;
    let code = r#"
function anonWrite(params, context, done) {
  Kii.bucketWithName('notes').createObject().save().then(function () { done('saved'); },
    function (e) { done('refused: ' + e.message); });
}
function adminWrite(params, context, done) {
  var obj = context.getAppAdminContext().bucketWithName('notes').createObject();
  obj.set('text', params.text);
  obj.save().then(function (o) { done(o.getUUID()); }, function (e) { done('failed: ' + e.message); });
}
function asCaller(params, context, done) {
  KiiUser.authenticateWithToken(context.getAccessToken()).then(function (user) {
    var obj = user.bucketWithName('mine').createObject();
    obj.set('v', 1);
    return obj.save();
  }).then(function (o) { done(o.objectURI()); }, function (e) { done('failed: ' + e.message); });
}
function nested(params, context, done) {
  Kii.serverCodeEntry('anonWrite').execute({a: 1}).then(function () { done('ran'); },
    function (e) { done(String(e.message || e)); });
}
"#;
    let v = deploy(s, &admin, code).await;
    set_current(s, &admin, &v).await;
    let r = run(s, "current", "anonWrite", None, json!({})).await;
    r.expect_status(200);
    assert!(
        r.body["returnedValue"]
            .as_str()
            .unwrap()
            .starts_with("refused"),
        "{}",
        r.body
    );

    let r = run(
        s,
        "current",
        "adminWrite",
        None,
        json!({"text": "by admin"}),
    )
    .await;
    r.expect_status(200);
    let id = r.body["returnedValue"].as_str().unwrap().to_owned();
    let got = s
        .get(
            &format!("/apps/{{app}}/buckets/notes/objects/{id}"),
            Some(&admin),
        )
        .await;
    got.expect_status(200);
    assert_eq!(got.body["text"], "by admin");
    let events = kumo_storage::testing::all_events(&s.store, &s.app.app_id).await;
    let created = events
        .iter()
        .rev()
        .find(|e| e.target.to_string().contains(&id))
        .expect("an event for the object");
    assert!(created.from_server_code, "{created:?}");

    let (uid, user) = s.user("dave", "secret123").await;
    let r = run(s, "current", "asCaller", Some(&user), json!({})).await;
    r.expect_status(200);
    let uri = r.body["returnedValue"].as_str().unwrap();
    assert!(uri.contains(&uid) && uri.contains("mine"), "{uri}");

    let r = run(s, "current", "nested", None, json!({})).await;
    r.expect_status(200);
    let text = r.body["returnedValue"].as_str().unwrap();
    assert!(
        text.contains("OPERATION_NOT_ALLOWED") || text.contains("409"),
        "{text}"
    );
}

async fn developer_log_records_runs(s: &TestServer) {
    let admin = s.admin().await;
    let v = deploy(s, &admin, CODE).await;
    set_current(s, &admin, &v).await;
    let (uid, user) = s.user("erin", "secret123").await;
    run(s, "current", "hello", Some(&user), json!({"name": "Kii"}))
        .await
        .expect_status(200);
    let mut records = Vec::new();
    for _ in 0..100 {
        let r = s.get("/apps/{app}/developer-log", Some(&admin)).await;
        r.expect_status(200);
        records = r.body["records"].as_array().unwrap().clone();
        if records.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let keys: Vec<&str> = records.iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert!(keys.contains(&"servercode.file.deploy"), "{keys:?}");
    let invoke = records
        .iter()
        .find(|r| r["key"] == "servercode.invoke")
        .expect("invoke record");
    assert_eq!(invoke["level"], "DEBUG");
    assert_eq!(invoke["versionID"], v.as_str());
    assert_eq!(invoke["endpoint"], "hello");
    assert_eq!(invoke["args"], r#"{"name":"Kii"}"#);
    assert_eq!(invoke["responseStep"], "2");
    assert_eq!(invoke["environmentVersion"], "6");
    assert_eq!(invoke["userID"], uid.as_str());
    let log = records
        .iter()
        .find(|r| r["key"] == "servercode.log")
        .expect("console record");
    assert_eq!(log["description"], "héllo Kii");
    assert_eq!(log["level"], "INFO");
    assert!(log["time"].as_str().unwrap().ends_with('Z'));
    let r = s
        .get("/apps/{app}/developer-log?level=INFO", Some(&admin))
        .await;
    assert!(r.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["level"] != "DEBUG"));
    let r = s
        .get(
            &format!("/apps/{{app}}/developer-log?userID={uid}"),
            Some(&admin),
        )
        .await;
    assert!(r.body["records"].as_array().unwrap().len() >= 2);
    let r = s
        .get("/apps/{app}/developer-log?limit=1", Some(&admin))
        .await;
    assert_eq!(r.body["records"].as_array().unwrap().len(), 1);
    for bad in ["level=LOUD", "limit=0", "limit=99999", "since=yesterday"] {
        s.get(&format!("/apps/{{app}}/developer-log?{bad}"), Some(&admin))
            .await
            .expect_error(400, "INVALID_INPUT_DATA");
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Limits that need their own server configuration (short timeout, tiny pool).
mod limits {
    use super::*;

    fn config(workers: usize, queue: usize, timeout_ms: u64) -> Config {
        let mut config = Config::default();
        config.server_code.limits.timeout = Duration::from_millis(timeout_ms);
        config.server_code.limits.max_steps = u64::MAX;
        config.server_code.engine.workers = workers;
        config.server_code.engine.queue = queue;
        config
    }

    async fn timeout_and_queue(dialect: Dialect) {
        let s = TestServer::start_with(dialect, config(1, 1, 400)).await;
        let admin = s.admin().await;
        let v = deploy(&s, &admin, CODE).await;
        set_current(&s, &admin, &v).await;
        let r = run(&s, "current", "loop", None, json!({})).await;
        r.expect_error(400, "ENDPOINT_INVOCATION_ERROR");
        assert_eq!(
            r.body,
            json!({"errorCode": "ENDPOINT_INVOCATION_ERROR",
                   "message": "Error found while executing the developer-defined code",
                   "details": {"errorCode": "EXECUTION_TIMEOUT", "message": "execution timeout. limit=400ms"}})
        );
        // One thread, one queue slot: a third concurrent run is turned away.
        let calls: Vec<_> = (0..3).map(|_| spawn_run(&s, "spin")).collect();
        let mut statuses = Vec::new();
        for call in calls {
            let (status, retry_after, body) = call.await.unwrap();
            if status == 503 {
                assert_eq!(body["errorCode"], "TEMPORARY_UNAVAILABLE_ERROR", "{body}");
                assert_eq!(retry_after.as_deref(), Some("1"));
            }
            statuses.push(status);
        }
        assert!(statuses.contains(&503), "{statuses:?}");
        s.stop().await;
    }

    /// While every engine thread spins, the rest of the API answers, and a trivial run that
    /// waits for a thread still completes once the spinning runs time out.
    async fn runaway_runs_do_not_stop_the_server(dialect: Dialect) {
        let s = TestServer::start_with(dialect, config(32, 256, 1_500)).await;
        let admin = s.admin().await;
        let v = deploy(&s, &admin, CODE).await;
        set_current(&s, &admin, &v).await;
        let loops: Vec<_> = (0..32).map(|_| spawn_run(&s, "loop")).collect();
        tokio::time::sleep(Duration::from_millis(200)).await;
        // The API keeps answering while 32 runs spin.
        let (uid, _) = s.user("frank", "secret123").await;
        assert!(!uid.is_empty());
        let echo = run(&s, "current", "echo", None, json!({"still": "alive"})).await;
        echo.expect_status(200);
        for l in loops {
            let (_, _, body) = l.await.unwrap();
            assert_eq!(body["details"]["errorCode"], "EXECUTION_TIMEOUT", "{body}");
        }
        s.stop().await;
    }

    /// Runs `endpoint` of the current version in a task: (status, Retry-After, body).
    fn spawn_run(
        s: &TestServer,
        endpoint: &str,
    ) -> tokio::task::JoinHandle<(u16, Option<String>, Value)> {
        let client = s.client.clone();
        let url = s.url(&format!(
            "/apps/{{app}}/server-code/versions/current/{endpoint}"
        ));
        tokio::spawn(async move {
            let res = client
                .post(url)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let retry = res
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, retry, res.json::<Value>().await.unwrap())
        })
    }

    /// `$.ajax` reaches the hosts the server allows, and only those.
    async fn ajax_allow_list(dialect: Dialect) {
        use axum::routing::{get, post};
        let target = axum::Router::new()
            .route(
                "/hello",
                get(|| async { axum::Json(json!({"hello": "world"})) }),
            )
            .route(
                "/echo",
                post(|body: String| async move { format!("got {body}") }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, target).await });

        let mut config = config(4, 16, 5_000);
        config.server_code.ajax_hosts = vec!["127.0.0.1".into()];
        let s = TestServer::start_with(dialect, config).await;
        let admin = s.admin().await;
        let code = format!(
            r#"
function get(params, context, done) {{
  $.ajax({{ url: "http://127.0.0.1:{port}/hello", type: "GET", dataType: "json" }})
    .done(function (data) {{ done(data); }})
    .fail(function (xhr, status, error) {{ done("failed: " + status + " " + error); }});
}}
function send(params, context, done) {{
  $.ajax({{ url: "http://127.0.0.1:{port}/echo", type: "POST", contentType: "application/json",
           data: JSON.stringify({{a: 1}}) }})
    .done(function (text) {{ done(text); }})
    .fail(function (xhr, status, error) {{ done("failed: " + status + " " + error); }});
}}
function refused(params, context, done) {{
  $.ajax({{ url: "http://localhost:{port}/hello", type: "GET" }})
    .done(function () {{ done("reached"); }})
    .fail(function (xhr, status, error) {{ done("refused: " + (error && error.message || error)); }});
}}
"#
        );
        let v = deploy(&s, &admin, &code).await;
        set_current(&s, &admin, &v).await;
        let r = run(&s, "current", "get", None, json!({})).await;
        assert_eq!(r.body, json!({"returnedValue": {"hello": "world"}}));
        let r = run(&s, "current", "send", None, json!({})).await;
        assert_eq!(r.body, json!({"returnedValue": "got {\"a\":1}"}));
        let r = run(&s, "current", "refused", None, json!({})).await;
        let text = r.body["returnedValue"].as_str().unwrap().to_owned();
        assert!(
            text.contains("not allowed") && text.contains("localhost"),
            "{text}"
        );
        s.stop().await;
    }

    /// A graceful stop writes the developer-log records still queued.
    async fn shutdown_flushes_the_developer_log(dialect: Dialect) {
        let mut s = TestServer::start_with(dialect, config(2, 8, 2_000)).await;
        let admin = s.admin().await;
        let v = deploy(&s, &admin, CODE).await;
        set_current(&s, &admin, &v).await;
        run(&s, "current", "hello", None, json!({"name": "last"}))
            .await
            .expect_status(200);
        s.stop_server().await;
        let filter = kumo_storage::DevLogFilter {
            limit: 100,
            ..Default::default()
        };
        let records = s
            .store
            .query_dev_logs(&s.app.app_id, &filter)
            .await
            .unwrap();
        assert!(
            records
                .iter()
                .any(|r| r.key == "servercode.log" && r.fields["description"] == "héllo last"),
            "{records:?}"
        );
        s.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutdown_flushes_the_developer_log_sqlite() {
        shutdown_flushes_the_developer_log(Dialect::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutdown_flushes_the_developer_log_postgres() {
        shutdown_flushes_the_developer_log(Dialect::Postgres).await;
    }

    /// A starting server compiles every current version before any request needs it.
    async fn current_versions_are_compiled_at_start(dialect: Dialect) {
        let s = TestServer::start_with(dialect, config(2, 8, 2_000)).await;
        let admin = s.admin().await;
        let v = deploy(&s, &admin, CODE).await;
        set_current(&s, &admin, &v).await;
        let other = deploy(&s, &admin, "function f(p, c) { return 2; }").await;
        // A second server over the same store, as after a restart.
        let service =
            kumo_server::Service::new(s.store.clone(), kumo_server::auth::Passwords::new(1));
        let restarted = kumo_server::servercode::ServerCode::start(
            &service,
            Default::default(),
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(restarted.precompile_current(&service).await.unwrap(), 1);
        assert!(restarted.is_compiled(&s.app.app_id, &v));
        assert!(
            !restarted.is_compiled(&s.app.app_id, &other),
            "only current versions"
        );
        s.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn current_versions_are_compiled_at_start_sqlite() {
        current_versions_are_compiled_at_start(Dialect::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn current_versions_are_compiled_at_start_postgres() {
        current_versions_are_compiled_at_start(Dialect::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ajax_allow_list_sqlite() {
        ajax_allow_list(Dialect::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ajax_allow_list_postgres() {
        ajax_allow_list(Dialect::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn timeout_and_queue_sqlite() {
        timeout_and_queue(Dialect::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn timeout_and_queue_postgres() {
        timeout_and_queue(Dialect::Postgres).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runaway_runs_sqlite() {
        runaway_runs_do_not_stop_the_server(Dialect::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runaway_runs_postgres() {
        runaway_runs_do_not_stop_the_server(Dialect::Postgres).await;
    }
}
