//! The admin calls under `/apps/{app}/console/` that the web console needs and Kii's API
//! lacks, on SQLite and PostgreSQL: a version's hook config as the server parsed it, each
//! job with its next firings.

mod common;

use common::TestServer;
use reqwest::Method;

on_both_backends!(
    hooks_summary_lists_triggers_and_jobs_with_next_firings,
    hooks_summary_is_admin_only_and_says_what_is_missing,
);

const CODE: &str = "function hello(params, context) { return params; }\n";
const CONFIG: &str = "{\n\
  // comments are allowed\n\
  \"kiicloud://users/*/buckets/notes\": [\n\
    {\"when\": \"DATA_OBJECT_CREATED\", \"what\": \"EXECUTE_SERVER_CODE\", \"endpoint\": \"hello\"}\n\
  ],\n\
  \"kiicloud://scheduler\": {\n\
    \"tokyo\": {\"cron\": \"30 9 * * *\", \"endpoint\": \"hello\", \"what\": \"EXECUTE_SERVER_CODE\",\n\
              \"parameters\": {\"k\": 1}, \"timezone\": \"Asia/Tokyo\", \"overlap\": \"skip\"},\n\
    \"often\": {\"cron\": \"*/10 * * * * *\", \"endpoint\": \"hello\", \"what\": \"EXECUTE_SERVER_CODE\"}\n\
  }\n\
}\n";

async fn deploy(s: &TestServer, admin: &str) -> String {
    let r = s
        .raw(
            Method::POST,
            "/apps/{app}/server-code",
            Some(admin),
            Some("application/javascript"),
            CODE.as_bytes().to_vec(),
        )
        .await;
    r.expect_status(201);
    r.body["versionID"].as_str().unwrap().to_owned()
}

async fn make_current(s: &TestServer, admin: &str, version: &str) {
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

async fn put_config(s: &TestServer, admin: &str, version: &str) {
    s.raw(
        Method::PUT,
        &format!("/apps/{{app}}/hooks/versions/{version}"),
        Some(admin),
        Some("application/json"),
        CONFIG.as_bytes().to_vec(),
    )
    .await
    .expect_status(204);
}

async fn hooks_summary_lists_triggers_and_jobs_with_next_firings(s: &TestServer) {
    let admin = s.admin().await;
    let version = deploy(s, &admin).await;
    put_config(s, &admin, &version).await;
    make_current(s, &admin, &version).await;
    let before = kumo_types::now_ms();

    for path in ["current", version.as_str()] {
        let r = s
            .get(&format!("/apps/{{app}}/console/hooks/{path}"), Some(&admin))
            .await;
        r.expect_status(200);
        assert_eq!(
            r.body["triggers"],
            serde_json::json!([{
                "path": "kiicloud://users/*/buckets/notes",
                "when": "DATA_OBJECT_CREATED",
                "endpoint": "hello"
            }])
        );
        let jobs = r.body["jobs"].as_array().unwrap();
        let tokyo = jobs.iter().find(|j| j["name"] == "tokyo").unwrap();
        assert_eq!(tokyo["cron"], "30 9 * * *");
        assert_eq!(tokyo["timezone"], "Asia/Tokyo");
        assert_eq!(tokyo["overlap"], "skip");
        assert_eq!(tokyo["parameters"], serde_json::json!({"k": 1}));
        let next: Vec<i64> = tokyo["nextFirings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        assert_eq!(next.len(), 5);
        assert!(next[0] > before - 1000, "{next:?}");
        for pair in next.windows(2) {
            // 09:30 in Tokyo (no DST) is 00:30 UTC, every day.
            assert_eq!(pair[1] - pair[0], 86_400_000, "{next:?}");
        }
        assert_eq!(next[0].rem_euclid(86_400_000), 30 * 60 * 1000, "{next:?}");

        let often = jobs.iter().find(|j| j["name"] == "often").unwrap();
        assert!(often["timezone"].is_null());
        let next = often["nextFirings"].as_array().unwrap();
        assert_eq!(next.len(), 5);
        assert_eq!(
            next[1].as_i64().unwrap() - next[0].as_i64().unwrap(),
            10_000
        );
    }
}

async fn hooks_summary_is_admin_only_and_says_what_is_missing(s: &TestServer) {
    let admin = s.admin().await;
    s.get("/apps/{app}/console/hooks/current", Some(&admin))
        .await
        .expect_error(404, "SERVER_CODE_VERSION_NOT_FOUND");
    let version = deploy(s, &admin).await;
    make_current(s, &admin, &version).await;
    s.get("/apps/{app}/console/hooks/current", Some(&admin))
        .await
        .expect_error(404, "SERVER_CODE_HOOK_VERSION_NOT_FOUND");
    put_config(s, &admin, &version).await;

    // As for every server-code management call (Kii's answer there).
    let (_, user) = s.user("console-user", "secret123").await;
    s.get("/apps/{app}/console/hooks/current", Some(&user))
        .await
        .expect_error(401, "UNAUTHORIZED");
    s.get("/apps/{app}/console/hooks/current", None)
        .await
        .expect_error(401, "UNAUTHORIZED");
}
