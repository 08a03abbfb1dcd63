//! Groups over real HTTP, on SQLite and PostgreSQL.

mod common;

use common::TestServer;
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    group_life_cycle,
    group_permissions,
    group_errors,
    admin_groups
);

fn ids(v: &Value, list: &str, key: &str) -> Vec<String> {
    v[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g[key].as_str().unwrap().to_owned())
        .collect()
}

async fn group_life_cycle(s: &TestServer) {
    let (alice, ta) = s.user("alice", "secret123").await;
    let (bob, tb) = s.user("bob", "secret123").await;
    let (carol, _) = s.user("carol", "secret123").await;

    let r = s
        .raw(
            Method::POST,
            "/apps/{app}/groups",
            Some(&ta),
            Some("application/vnd.kii.GroupCreationRequest+json"),
            json!({"name": "team", "owner": alice, "members": [bob, "ghost"]})
                .to_string()
                .into_bytes(),
        )
        .await;
    r.expect_status(201);
    let gid = r.body["groupID"].as_str().unwrap().to_owned();
    assert_eq!(r.body["notFoundUsers"], json!(["ghost"]));
    let g = |p: &str| format!("/apps/{{app}}/groups/{gid}{p}");

    let got = s.get(&g(""), Some(&tb)).await;
    got.expect_status(200);
    assert_eq!(got.body["name"], "team");
    assert_eq!(got.body["owner"], alice.as_str());
    let members = s.get(&g("/members"), Some(&tb)).await;
    assert_eq!(
        ids(&members.body, "members", "userID"),
        vec![alice.clone(), bob.clone()]
    );

    // Lists, with the trailing slash the SDK sends.
    let owned = s
        .get(
            &format!("/apps/{{app}}/groups/?owner={alice}&disable_cache=1"),
            Some(&ta),
        )
        .await;
    assert_eq!(ids(&owned.body, "groups", "groupID"), vec![gid.clone()]);
    assert_eq!(owned.body["groups"][0]["name"], "team");
    let member_of = s
        .get(&format!("/apps/{{app}}/groups/?is_member={bob}"), Some(&tb))
        .await;
    assert_eq!(ids(&member_of.body, "groups", "groupID"), vec![gid.clone()]);

    // Rename with a raw text/plain body.
    let r = s
        .raw(
            Method::PUT,
            &g("/name"),
            Some(&ta),
            Some("text/plain"),
            b"team2".to_vec(),
        )
        .await;
    r.expect_status(204);
    assert_eq!(s.get(&g(""), Some(&tb)).await.body["name"], "team2");

    // Members: add with an empty body, remove, remove again.
    s.raw(
        Method::PUT,
        &g(&format!("/members/{carol}")),
        Some(&ta),
        Some("application/json"),
        vec![],
    )
    .await
    .expect_status(204);
    s.raw(
        Method::PUT,
        &g(&format!("/members/{carol}")),
        Some(&ta),
        Some("application/json"),
        vec![],
    )
    .await
    .expect_status(204);
    s.delete(&g(&format!("/members/{bob}")), Some(&ta))
        .await
        .expect_status(204);
    s.delete(&g(&format!("/members/{bob}")), Some(&ta))
        .await
        .expect_error(404, "GROUP_MEMBER_NOT_FOUND");
    let members = s.get(&g("/members"), Some(&ta)).await;
    assert_eq!(
        ids(&members.body, "members", "userID"),
        vec![alice.clone(), carol.clone()]
    );

    // Owner change (200 with no content, as the reference answers): the new owner is a member
    // and may now rename; the old one may not.
    let r = s
        .raw(
            Method::PUT,
            &g("/owner"),
            Some(&ta),
            Some("application/vnd.kii.GroupOwnerChangeRequest+json"),
            json!({"owner": carol}).to_string().into_bytes(),
        )
        .await;
    r.expect_status(200);
    assert_eq!(s.get(&g(""), Some(&ta)).await.body["owner"], carol.as_str());
    s.raw(
        Method::PUT,
        &g("/name"),
        Some(&ta),
        Some("text/plain"),
        b"nope".to_vec(),
    )
    .await
    .expect_error(401, "UNAUTHORIZED");

    // Client-chosen ID, lower-case bearer as the SDK sends it.
    let r = s
        .client
        .put(s.url("/apps/{app}/groups/my-team.1"))
        .header("authorization", format!("bearer {ta}"))
        .header(
            "content-type",
            "application/vnd.kii.GroupCreationRequest+json",
        )
        .body(json!({"name": "Named", "owner": alice, "members": [bob]}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = s
        .call(
            Method::PUT,
            "/apps/{app}/groups/my-team.1",
            Some(&ta),
            Some(json!({"name": "again"})),
        )
        .await;
    r.expect_error(409, "GROUP_ALREADY_EXISTS");

    // Delete.
    let carol_token = s.login("carol", "secret123").await;
    s.delete(&g(""), Some(&carol_token))
        .await
        .expect_status(204);
    s.get(&g(""), Some(&ta))
        .await
        .expect_error(404, "GROUP_NOT_FOUND");
    let member_of = s
        .get(
            &format!("/apps/{{app}}/groups?is_member={alice}"),
            Some(&ta),
        )
        .await;
    assert_eq!(
        ids(&member_of.body, "groups", "groupID"),
        vec!["my-team.1".to_owned()]
    );
}

async fn group_permissions(s: &TestServer) {
    let (alice, ta) = s.user("alice", "secret123").await;
    let (bob, tb) = s.user("bob", "secret123").await;
    let (_, tc) = s.user("carol", "secret123").await;
    let r = s
        .post(
            "/apps/{app}/groups",
            Some(&ta),
            json!({"name": "team", "members": [bob]}),
        )
        .await;
    r.expect_status(201);
    let gid = r.body["groupID"].as_str().unwrap().to_owned();
    let g = |p: &str| format!("/apps/{{app}}/groups/{gid}{p}");

    // A user cannot create a group owned by someone else.
    s.post(
        "/apps/{app}/groups",
        Some(&tb),
        json!({"name": "x", "owner": alice}),
    )
    .await
    .expect_error(403, "ACCESS_DENIED");
    // Anonymous callers cannot do anything with groups.
    s.post("/apps/{app}/groups", None, json!({"name": "x"}))
        .await
        .expect_error(401, "UNAUTHORIZED");
    s.get(&g(""), None).await.expect_error(401, "UNAUTHORIZED");
    // A non-member may read the group and its members (Kii's group access control guide).
    s.get(&g(""), Some(&tc)).await.expect_status(200);
    s.get(&g("/members"), Some(&tc)).await.expect_status(200);
    // Members other than the owner cannot change the group or others' membership: the
    // reference's 401 UNAUTHORIZED...
    s.raw(
        Method::PUT,
        &g("/name"),
        Some(&tb),
        Some("text/plain"),
        b"x".to_vec(),
    )
    .await
    .expect_error(401, "UNAUTHORIZED");
    s.delete(&g(""), Some(&tb))
        .await
        .expect_error(401, "UNAUTHORIZED");
    s.delete(&g(&format!("/members/{alice}")), Some(&tb))
        .await
        .expect_error(401, "UNAUTHORIZED");
    // ...but may leave.
    s.delete(&g(&format!("/members/{bob}")), Some(&tb))
        .await
        .expect_status(204);
    // The owner cannot leave without handing the group over.
    s.delete(&g(&format!("/members/{alice}")), Some(&ta))
        .await
        .expect_error(400, "INVALID_INPUT_DATA");
    // Only oneself (or the admin) may list one's groups.
    s.get(&format!("/apps/{{app}}/groups?owner={alice}"), Some(&tb))
        .await
        .expect_error(401, "UNAUTHORIZED");
}

async fn group_errors(s: &TestServer) {
    let (_, ta) = s.user("alice", "secret123").await;
    s.post("/apps/{app}/groups", Some(&ta), json!({}))
        .await
        .expect_error(400, "INVALID_INPUT_DATA");
    s.post("/apps/{app}/groups", Some(&ta), json!({"name": ""}))
        .await
        .expect_error(400, "INVALID_INPUT_DATA");
    s.post(
        "/apps/{app}/groups",
        Some(&ta),
        json!({"name": "x", "members": "bob"}),
    )
    .await
    .expect_error(400, "INVALID_INPUT_DATA");
    s.call(
        Method::PUT,
        "/apps/{app}/groups/Bad%20ID",
        Some(&ta),
        Some(json!({"name": "x"})),
    )
    .await
    .expect_error(400, "INVALID_INPUT_DATA");
    s.get("/apps/{app}/groups/nope", Some(&ta))
        .await
        .expect_error(404, "GROUP_NOT_FOUND");
    s.get("/apps/{app}/groups", Some(&ta))
        .await
        .expect_error(400, "INVALID_INPUT_DATA");
    let r = s
        .post("/apps/{app}/groups", Some(&ta), json!({"name": "t"}))
        .await;
    let gid = r.body["groupID"].as_str().unwrap().to_owned();
    assert_eq!(gid.len(), 25);
    let g = |p: &str| format!("/apps/{{app}}/groups/{gid}{p}");
    s.call(Method::PUT, &g("/members/ghost"), Some(&ta), None)
        .await
        .expect_error(404, "USER_NOT_FOUND");
    s.call(
        Method::PUT,
        &g("/owner"),
        Some(&ta),
        Some(json!({"owner": "ghost"})),
    )
    .await
    .expect_error(404, "USER_NOT_FOUND");
    s.call(Method::PUT, &g("/owner"), Some(&ta), Some(json!({})))
        .await
        .expect_error(400, "INVALID_INPUT_DATA");
    s.raw(
        Method::PUT,
        &g("/name"),
        Some(&ta),
        Some("text/plain"),
        vec![],
    )
    .await
    .expect_error(400, "INVALID_INPUT_DATA");
    s.raw(
        Method::PUT,
        &g("/name"),
        Some(&ta),
        Some("text/plain"),
        vec![0xff, 0xfe],
    )
    .await
    .expect_error(400, "INVALID_INPUT_DATA");
    assert_eq!(
        s.get(&g(""), Some(&ta)).await.body["name"],
        "t",
        "failed renames changed nothing"
    );
}

async fn admin_groups(s: &TestServer) {
    let (alice, _) = s.user("alice", "secret123").await;
    let admin = s.admin().await;
    // The admin may create a group with no owner, or name any owner.
    let r = s
        .post(
            "/apps/{app}/groups",
            Some(&admin),
            json!({"name": "ownerless", "members": [alice]}),
        )
        .await;
    r.expect_status(201);
    let gid = r.body["groupID"].as_str().unwrap().to_owned();
    let got = s
        .get(&format!("/apps/{{app}}/groups/{gid}"), Some(&admin))
        .await;
    assert_eq!(got.body["owner"], Value::Null);
    let r = s
        .post(
            "/apps/{app}/groups",
            Some(&admin),
            json!({"name": "owned", "owner": alice}),
        )
        .await;
    r.expect_status(201);
    let owned = s
        .get(&format!("/apps/{{app}}/groups?owner={alice}"), Some(&admin))
        .await;
    assert_eq!(owned.body["groups"].as_array().unwrap().len(), 1);
    s.delete(&format!("/apps/{{app}}/groups/{gid}"), Some(&admin))
        .await
        .expect_status(204);
}
