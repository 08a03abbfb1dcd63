//! Hook configs over real HTTP on SQLite and PostgreSQL: upload, read back byte for byte,
//! `current` on reads, every validation error naming its part, admin only, content type and
//! size, and the config going live when put on the current version.

mod common;

use std::time::Duration;

use common::{Reply, TestServer};
use kumo_storage::Storage as _;
use reqwest::Method;

on_both_backends!(
    put_get_head_delete,
    current_is_an_alias_on_reads_only,
    versions_that_do_not_exist,
    validation_errors_name_the_bad_part,
    endpoints_are_the_versions_own,
    only_the_admin_manages_hooks,
    content_type_and_size,
    deleting_a_version_deletes_its_config,
    a_config_put_on_the_current_version_is_live_at_once,
);

const KII_TYPE: &str = "application/vnd.kii.HooksDeploymentRequest+json";

const CODE: &str = "function onUser(params, context, done) {\n\
  var obj = context.getAppAdminContext().bucketWithName('seen').createObjectWithID(params.userID);\n\
  obj.set('by', 'hook');\n\
  obj.saveAllFields({success: function () { done('ok'); }, failure: function (o, e) { done(e); }}, true);\n\
}\n\
function checkData(params, context) { return params; }\n";

/// A config with comments, as Kii's templates write them, and non-ASCII text.
const CONFIG: &str = "{\n\
  // Hooks of the test app (日本語)\n\
  \"kiicloud://users\": [\n\
    {\"when\": \"USER_CREATED\", \"what\": \"EXECUTE_SERVER_CODE\", \"endpoint\": \"onUser\"}\n\
    /* Other hooks */\n\
  ],\n\
  \"kiicloud://scheduler\": {\n\
    \"nightly\": {\"cron\": \"0 3 * * *\", \"endpoint\": \"checkData\", \"what\": \"EXECUTE_SERVER_CODE\",\n\
                \"parameters\": {\"k\": 1}, \"timezone\": \"Asia/Tokyo\"}\n\
  }\n\
}\n";

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
    r.body["versionID"].as_str().unwrap().to_owned()
}

async fn put(s: &TestServer, token: Option<&str>, version: &str, body: &str) -> Reply {
    s.raw(
        Method::PUT,
        &format!("/apps/{{app}}/hooks/versions/{version}"),
        token,
        Some(KII_TYPE),
        body.as_bytes().to_vec(),
    )
    .await
}

/// (status, content type, body text) of a GET or HEAD.
async fn read(
    s: &TestServer,
    method: Method,
    token: Option<&str>,
    version: &str,
) -> (u16, String, String) {
    let mut req = s.client.request(
        method,
        s.url(&format!("/apps/{{app}}/hooks/versions/{version}")),
    );
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, res.text().await.unwrap())
}

fn error_code(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    v["errorCode"].as_str().unwrap().to_owned()
}

async fn put_get_head_delete(s: &TestServer) {
    let admin = s.admin().await;
    let v = deploy(s, &admin, CODE).await;
    let path = format!("/apps/{{app}}/hooks/versions/{v}");

    let r = put(s, Some(&admin), &v, CONFIG).await;
    r.expect_status(204);
    assert_eq!(r.body, serde_json::Value::Null);
    let (status, content_type, body) = read(s, Method::GET, Some(&admin), &v).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/json");
    assert_eq!(body, CONFIG, "the bytes as uploaded, comments and all");
    let (status, _, body) = read(s, Method::HEAD, Some(&admin), &v).await;
    assert_eq!((status, body.as_str()), (200, ""));

    // Replaced, here as plain JSON.
    let replacement = r#"{"kiicloud://scheduler": {}}"#;
    s.raw(
        Method::PUT,
        &path,
        Some(&admin),
        Some("application/json; charset=utf-8"),
        replacement.as_bytes().to_vec(),
    )
    .await
    .expect_status(204);
    assert_eq!(read(s, Method::GET, Some(&admin), &v).await.2, replacement);

    s.delete(&path, Some(&admin)).await.expect_status(204);
    let (status, _, body) = read(s, Method::GET, Some(&admin), &v).await;
    assert_eq!(status, 404);
    assert_eq!(error_code(&body), "SERVER_CODE_HOOK_VERSION_NOT_FOUND");
    let (status, _, body) = read(s, Method::HEAD, Some(&admin), &v).await;
    assert_eq!((status, body.as_str()), (404, ""));
    s.delete(&path, Some(&admin))
        .await
        .expect_error(404, "SERVER_CODE_HOOK_VERSION_NOT_FOUND");
    // The code version itself stays.
    let source = s
        .store
        .get_code_version(&s.app.app_id, Some(&v))
        .await
        .unwrap();
    assert_eq!(source.unwrap().source, CODE);
}

async fn current_is_an_alias_on_reads_only(s: &TestServer) {
    let admin = s.admin().await;
    let (status, _, body) = read(s, Method::GET, Some(&admin), "current").await;
    assert_eq!(status, 404);
    assert_eq!(error_code(&body), "SERVER_CODE_VERSION_NOT_FOUND");

    let v1 = deploy(s, &admin, CODE).await;
    let v2 = s.deploy_current(&admin, CODE).await;
    put(s, Some(&admin), &v1, CONFIG).await.expect_status(204);
    // The current version (v2) has none.
    let (status, _, body) = read(s, Method::GET, Some(&admin), "current").await;
    assert_eq!(status, 404);
    assert_eq!(error_code(&body), "SERVER_CODE_HOOK_VERSION_NOT_FOUND");
    assert_eq!(read(s, Method::HEAD, Some(&admin), "current").await.0, 404);

    put(s, Some(&admin), &v2, "{}").await.expect_status(204);
    assert_eq!(
        read(s, Method::GET, Some(&admin), "current").await,
        (200, "application/json".to_owned(), "{}".to_owned())
    );
    assert_eq!(read(s, Method::HEAD, Some(&admin), "current").await.0, 200);

    let r = put(s, Some(&admin), "current", CONFIG).await;
    r.expect_error(400, "INVALID_INPUT_DATA");
    assert!(r.body["message"]
        .as_str()
        .unwrap()
        .contains("`current` is accepted only when reading"));
    s.delete("/apps/{app}/hooks/versions/current", Some(&admin))
        .await
        .expect_error(400, "INVALID_INPUT_DATA");
    assert_eq!(read(s, Method::GET, Some(&admin), &v2).await.2, "{}");
}

async fn versions_that_do_not_exist(s: &TestServer) {
    let admin = s.admin().await;
    let missing = "abcdefghijklmnopqrstuvwxy";
    put(s, Some(&admin), missing, "{}")
        .await
        .expect_error(404, "SERVER_CODE_VERSION_NOT_FOUND");
    let (status, _, body) = read(s, Method::GET, Some(&admin), missing).await;
    assert_eq!(status, 404);
    assert_eq!(error_code(&body), "SERVER_CODE_VERSION_NOT_FOUND");
    assert_eq!(read(s, Method::HEAD, Some(&admin), missing).await.0, 404);
    s.delete(
        &format!("/apps/{{app}}/hooks/versions/{missing}"),
        Some(&admin),
    )
    .await
    .expect_error(404, "SERVER_CODE_VERSION_NOT_FOUND");
}

async fn validation_errors_name_the_bad_part(s: &TestServer) {
    let admin = s.admin().await;
    let v = deploy(s, &admin, CODE).await;
    put(s, Some(&admin), &v, CONFIG).await.expect_status(204);
    let hook = |when: &str, what: &str| {
        format!(
            r#"{{"kiicloud://users": [{{"when": "{when}", "what": "{what}", "endpoint": "onUser"}}]}}"#
        )
    };
    let job = |fields: &str| {
        format!(
            r#"{{"kiicloud://scheduler": {{"nightly": {{"what": "EXECUTE_SERVER_CODE"{fields}}}}}}}"#
        )
    };
    let cases: Vec<(String, &str, &str)> = vec![
        ("{\"kiicloud://users\": [".into(), "INVALID_JSON", "The hook config is not JSON"),
        ("[]".into(), "INVALID_INPUT_DATA", "must be a JSON object of paths"),
        (
            r#"{"kiicloud://userz": []}"#.into(),
            "INVALID_INPUT_DATA",
            "kiicloud://userz: unknown path",
        ),
        (
            r#"{"kiicloud://users": [
                {"when": "USER_CREATED", "what": "EXECUTE_SERVER_CODE", "endpoint": "onUser"},
                {"when": "USER_DELETED", "what": "EXECUTE_SERVER_CODE", "endpoint": "onUser"},
                {"when": "USER_EXPLODED", "what": "EXECUTE_SERVER_CODE", "endpoint": "onUser"}]}"#
                .into(),
            "INVALID_INPUT_DATA",
            "kiicloud://users[2].when: unknown trigger \"USER_EXPLODED\"",
        ),
        (
            hook("GROUP_CREATED", "EXECUTE_SERVER_CODE"),
            "INVALID_INPUT_DATA",
            "kiicloud://users[0].when: \"GROUP_CREATED\" is a trigger for groups",
        ),
        (
            hook("USER_CREATED", "SEND_MAIL"),
            "INVALID_INPUT_DATA",
            "kiicloud://users[0].what: \"SEND_MAIL\" is not an action",
        ),
        (
            r#"{"kiicloud://users": [{"when": "USER_CREATED", "what": "EXECUTE_SERVER_CODE"}]}"#
                .into(),
            "INVALID_INPUT_DATA",
            "kiicloud://users[0]: \"endpoint\" is missing",
        ),
        (
            job(r#", "endpoint": "checkData""#),
            "INVALID_INPUT_DATA",
            "kiicloud://scheduler: job \"nightly\": \"cron\" is missing",
        ),
        (
            job(r#", "endpoint": "checkData", "cron": "61 * * * *""#),
            "INVALID_INPUT_DATA",
            "kiicloud://scheduler: job \"nightly\": invalid cron \"61 * * * *\": ",
        ),
        (
            job(r#", "endpoint": "nope", "cron": "0 * * * *""#),
            "INVALID_INPUT_DATA",
            "kiicloud://scheduler: job \"nightly\".endpoint: \"nope\" is not defined by this version",
        ),
        (
            job(r#", "endpoint": "checkData", "cron": "0 * * * *", "timezone": "Mars/Base""#),
            "INVALID_INPUT_DATA",
            "kiicloud://scheduler: job \"nightly\".timezone: \"Mars/Base\" is not an IANA time zone",
        ),
    ];
    for (body, code, message) in cases {
        let r = put(s, Some(&admin), &v, &body).await;
        r.expect_error(400, code);
        let got = r.body["message"].as_str().unwrap();
        assert!(got.contains(message), "{body}\n→ {got}");
    }
    // Nothing refused replaced the config that was there.
    assert_eq!(read(s, Method::GET, Some(&admin), &v).await.2, CONFIG);

    // Repeated job names are accepted (the JSON keeps one).
    let repeated = r#"{"kiicloud://scheduler": {
        "j": {"cron": "0 * * * *", "endpoint": "checkData", "what": "EXECUTE_SERVER_CODE"},
        "j": {"cron": "5 * * * *", "endpoint": "checkData", "what": "EXECUTE_SERVER_CODE"}}}"#;
    put(s, Some(&admin), &v, repeated).await.expect_status(204);
    assert_eq!(read(s, Method::GET, Some(&admin), &v).await.2, repeated);
}

async fn endpoints_are_the_versions_own(s: &TestServer) {
    let admin = s.admin().await;
    let v1 = deploy(s, &admin, "function onUser(p, c) {}\n").await;
    let v2 = deploy(
        s,
        &admin,
        "function other(p, c) {}\nvar onUserLater = function (p, c) {};\n",
    )
    .await;
    let config = r#"{"kiicloud://users": [{"when": "USER_CREATED", "what": "EXECUTE_SERVER_CODE", "endpoint": "onUser"}]}"#;
    put(s, Some(&admin), &v1, config).await.expect_status(204);
    let r = put(s, Some(&admin), &v2, config).await;
    r.expect_error(400, "INVALID_INPUT_DATA");
    assert_eq!(
        r.body["message"],
        "kiicloud://users[0].endpoint: \"onUser\" is not defined by this version"
    );
}

async fn only_the_admin_manages_hooks(s: &TestServer) {
    let admin = s.admin().await;
    let v = deploy(s, &admin, CODE).await;
    put(s, Some(&admin), &v, CONFIG).await.expect_status(204);
    let (_, user) = s.user("hooker", "password1").await;
    for token in [Some(user.as_str()), None] {
        put(s, token, &v, "{}")
            .await
            .expect_error(401, "UNAUTHORIZED");
        let (status, _, body) = read(s, Method::GET, token, &v).await;
        assert_eq!(status, 401);
        assert_eq!(error_code(&body), "UNAUTHORIZED");
        assert_eq!(read(s, Method::HEAD, token, &v).await.0, 401);
        s.delete(&format!("/apps/{{app}}/hooks/versions/{v}"), token)
            .await
            .expect_error(401, "UNAUTHORIZED");
    }
    assert_eq!(read(s, Method::GET, Some(&admin), &v).await.2, CONFIG);
}

async fn content_type_and_size(s: &TestServer) {
    let admin = s.admin().await;
    let v = deploy(s, &admin, CODE).await;
    let path = format!("/apps/{{app}}/hooks/versions/{v}");
    for content_type in [Some("text/plain"), Some("application/javascript"), None] {
        s.raw(
            Method::PUT,
            &path,
            Some(&admin),
            content_type,
            b"{}".to_vec(),
        )
        .await
        .expect_error(415, "UNSUPPORTED_MEDIA_TYPE");
    }
    // Kii's type in any case.
    s.raw(
        Method::PUT,
        &path,
        Some(&admin),
        Some("Application/VND.kii.hooksdeploymentrequest+JSON"),
        b"{}".to_vec(),
    )
    .await
    .expect_status(204);
    let huge = format!(
        r#"{{"kiicloud://users": [], "pad": "{}"}}"#,
        " ".repeat(300 * 1024)
    );
    put(s, Some(&admin), &v, &huge)
        .await
        .expect_error(413, "REQUEST_ENTITY_TOO_LARGE");
    assert_eq!(read(s, Method::GET, Some(&admin), &v).await.2, "{}");
}

async fn deleting_a_version_deletes_its_config(s: &TestServer) {
    let admin = s.admin().await;
    let v = deploy(s, &admin, CODE).await;
    put(s, Some(&admin), &v, CONFIG).await.expect_status(204);
    s.delete(
        &format!("/apps/{{app}}/server-code/versions/{v}"),
        Some(&admin),
    )
    .await
    .expect_status(204);
    let (status, _, body) = read(s, Method::GET, Some(&admin), &v).await;
    assert_eq!(status, 404);
    assert_eq!(error_code(&body), "SERVER_CODE_VERSION_NOT_FOUND");
}

/// Put on the current version, the config's trigger fires for the very next change (the
/// trigger cursor is made with the config, not at the hook loop's next look).
async fn a_config_put_on_the_current_version_is_live_at_once(s: &TestServer) {
    let admin = s.admin().await;
    s.deploy_current(&admin, CODE).await;
    let version = s
        .store
        .get_current_version(&s.app.app_id)
        .await
        .unwrap()
        .unwrap();
    put(s, Some(&admin), &version, CONFIG)
        .await
        .expect_status(204);
    let (user_id, _) = s.user("fresh", "password1").await;
    let path = format!("/apps/{{app}}/buckets/seen/objects/{user_id}");
    // Waits for the hook's write; a hook that never runs fails the test when the wait ends.
    for _ in 0..300 {
        let r = s.get(&path, Some(&admin)).await;
        if r.status == 200 {
            assert_eq!(r.body["by"], "hook");
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the USER_CREATED hook did not run within 30 s");
}
