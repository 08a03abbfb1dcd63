//! The admin calls under `/apps/{app}/console/` that the web console needs and Kii's API
//! lacks, on SQLite and PostgreSQL: a version's hook config as the server parsed it, each
//! job with its next firings; the listings of an app's buckets, users and groups.

mod common;

use common::TestServer;
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    hooks_summary_lists_triggers_and_jobs_with_next_firings,
    hooks_summary_is_admin_only_and_says_what_is_missing,
    listings_page_through_buckets_users_and_groups,
    listings_are_admin_only_and_refuse_bad_pages,
    listings_show_only_the_apps_own_rows,
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

/// Every item of a listing, read a page of `limit` at a time by following
/// `nextPaginationKey`; also the number of pages read.
async fn read_all(
    s: &TestServer,
    admin: &str,
    path: &str,
    field: &str,
    limit: usize,
) -> (Vec<Value>, usize) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut key: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut url = format!("{path}{sep}limit={limit}");
        if let Some(k) = &key {
            url.push_str(&format!("&paginationKey={k}"));
        }
        let r = s.get(&url, Some(admin)).await;
        r.expect_status(200);
        let page = r.body[field].as_array().unwrap().clone();
        assert!(page.len() <= limit, "{}", r.body);
        pages += 1;
        items.extend(page);
        match r.body["nextPaginationKey"].as_str() {
            Some(k) => key = Some(k.to_owned()),
            None => break,
        }
        assert!(pages < 100, "the listing never ends");
    }
    (items, pages)
}

fn strings(items: &[Value], field: &str) -> Vec<String> {
    items
        .iter()
        .map(|v| v[field].as_str().unwrap().to_owned())
        .collect()
}

async fn create_object(s: &TestServer, token: &str, scope: &str, bucket: &str) {
    s.post(
        &format!("/apps/{{app}}{scope}/buckets/{bucket}/objects"),
        Some(token),
        json!({"v": 1}),
    )
    .await
    .expect_status(201);
}

async fn listings_page_through_buckets_users_and_groups(s: &TestServer) {
    let admin = s.admin().await;
    let mut buckets = vec!["notes", "alpha", "zeta-1", "m_2", "beta"];
    for b in &buckets {
        create_object(s, &admin, "", b).await;
    }
    // A user's bucket is not an app bucket.
    let (alice, alice_token) = s.user("alice", "secret123").await;
    create_object(s, &alice_token, "/users/me", "private").await;
    buckets.sort();

    let (all, pages) = read_all(s, &admin, "/apps/{app}/console/buckets", "buckets", 2).await;
    assert_eq!(strings(&all, "bucketID"), buckets);
    assert_eq!(pages, 3);
    assert!(all[0]["createdAt"].as_i64().unwrap() > 0);
    // The default page holds them all, and says no more follow.
    let r = s.get("/apps/{app}/console/buckets", Some(&admin)).await;
    r.expect_status(200);
    assert_eq!(r.body["buckets"].as_array().unwrap().len(), 5);
    assert!(r.body.get("nextPaginationKey").is_none(), "{}", r.body);

    let (mine, _) = read_all(
        s,
        &admin,
        &format!("/apps/{{app}}/console/buckets?userID={alice}"),
        "buckets",
        10,
    )
    .await;
    assert_eq!(strings(&mine, "bucketID"), ["private"]);
    assert_eq!(mine[0]["creator"], alice.as_str());
    s.get("/apps/{app}/console/buckets?userID=nobody", Some(&admin))
        .await
        .expect_error(404, "USER_NOT_FOUND");

    // Users: every one once, in ID order, with the full document.
    let mut ids = vec![alice.clone()];
    for name in ["bob", "carol", "dave", "erin"] {
        ids.push(s.user(name, "secret123").await.0);
    }
    ids.sort();
    let (users, pages) = read_all(s, &admin, "/apps/{app}/console/users", "users", 2).await;
    assert_eq!(strings(&users, "userID"), ids);
    assert_eq!(pages, 3);
    let a = users
        .iter()
        .find(|u| u["userID"] == alice.as_str())
        .unwrap();
    assert_eq!(a["loginName"], "alice");
    assert_eq!(a["_hasPassword"], true);

    // Groups, and a group's buckets.
    let mut groups = Vec::new();
    for name in ["one", "two", "three"] {
        let r = s
            .post(
                "/apps/{app}/groups",
                Some(&alice_token),
                json!({"name": name, "owner": alice}),
            )
            .await;
        r.expect_status(201);
        groups.push(r.body["groupID"].as_str().unwrap().to_owned());
    }
    groups.sort();
    let (listed, pages) = read_all(s, &admin, "/apps/{app}/console/groups", "groups", 1).await;
    assert_eq!(strings(&listed, "groupID"), groups);
    assert_eq!(pages, 3);
    assert!(listed.iter().all(|g| g["owner"] == alice.as_str()));
    create_object(s, &admin, &format!("/groups/{}", groups[0]), "shared").await;
    let (shared, _) = read_all(
        s,
        &admin,
        &format!("/apps/{{app}}/console/buckets?groupID={}", groups[0]),
        "buckets",
        5,
    )
    .await;
    assert_eq!(strings(&shared, "bucketID"), ["shared"]);
    s.get("/apps/{app}/console/buckets?groupID=nothere", Some(&admin))
        .await
        .expect_error(404, "GROUP_NOT_FOUND");
}

async fn listings_are_admin_only_and_refuse_bad_pages(s: &TestServer) {
    let admin = s.admin().await;
    let (_, user) = s.user("someone", "secret123").await;
    for path in ["buckets", "users", "groups"] {
        let url = format!("/apps/{{app}}/console/{path}");
        s.get(&url, None).await.expect_error(401, "UNAUTHORIZED");
        s.get(&url, Some(&user))
            .await
            .expect_error(403, "ACCESS_DENIED");
        // As everywhere in the API, a token the server does not know.
        s.get(&url, Some("not-a-token"))
            .await
            .expect_error(403, "WRONG_TOKEN");
        for bad in ["0", "-3", "many", "1.5"] {
            s.get(&format!("{url}?limit={bad}"), Some(&admin))
                .await
                .expect_error(400, "INVALID_INPUT_DATA");
        }
        // A key this listing did not make, another listing's key, a huge one.
        let long = "A".repeat(5000);
        for key in ["garbage", "WyJ4Il0", long.as_str()] {
            s.get(&format!("{url}?paginationKey={key}"), Some(&admin))
                .await
                .expect_error(400, "INVALID_INPUT_DATA");
        }
        // A limit over the most a page holds is lowered to it.
        s.get(&format!("{url}?limit=100000"), Some(&admin))
            .await
            .expect_status(200);
    }
    // A users key does not page groups.
    s.user("another", "secret123").await;
    let r = s
        .get("/apps/{app}/console/users?limit=1", Some(&admin))
        .await;
    r.expect_status(200);
    let key = r.body["nextPaginationKey"].as_str().unwrap().to_owned();
    s.get(
        &format!("/apps/{{app}}/console/groups?paginationKey={key}"),
        Some(&admin),
    )
    .await
    .expect_error(400, "INVALID_INPUT_DATA");
    s.get(
        &format!("/apps/{{app}}/console/users?paginationKey={key}"),
        Some(&admin),
    )
    .await
    .expect_status(200);
    s.get(
        "/apps/{app}/console/buckets?userID=a&groupID=b",
        Some(&admin),
    )
    .await
    .expect_error(400, "INVALID_INPUT_DATA");
}

async fn listings_show_only_the_apps_own_rows(s: &TestServer) {
    let other = kumo_server::create_app(s.store.as_ref(), "other", &s.site())
        .await
        .unwrap();
    let r = s
        .client
        .post(s.url(&format!("/apps/{}/oauth2/token", other.app_id)))
        .json(&json!({"client_id": other.client_id, "client_secret": other.client_secret}))
        .send()
        .await
        .unwrap();
    let other_admin = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let on_other = |p: &str| p.replace("{app}", &other.app_id);

    let admin = s.admin().await;
    let (_, token) = s.user("mine", "secret123").await;
    create_object(s, &admin, "", "mine").await;
    s.post("/apps/{app}/groups", Some(&token), json!({"name": "mine"}))
        .await
        .expect_status(201);

    for (path, field) in [
        ("buckets", "buckets"),
        ("users", "users"),
        ("groups", "groups"),
    ] {
        let url = on_other(&format!("/apps/{{app}}/console/{path}"));
        let r = s.get(&url, Some(&other_admin)).await;
        r.expect_status(200);
        assert_eq!(r.body[field], json!([]), "{path}: {}", r.body);
        // This app's admin token opens nothing in the other app.
        let r = s.get(&url, Some(&admin)).await;
        assert!(r.status.is_client_error(), "{path}: {}", r.body);
        assert!(r.body["errorCode"].is_string());
        let mine = s
            .get(&format!("/apps/{{app}}/console/{path}"), Some(&admin))
            .await;
        mine.expect_status(200);
        assert_eq!(mine.body[field].as_array().unwrap().len(), 1, "{path}");
    }
}
