//! Kii's REST addressing as its reference documents it, on SQLite and PostgreSQL: `users/me`
//! and `LOGIN_NAME:` / `EMAIL:` / `PHONE:` wherever a user ID may stand, `GET` on a bucket
//! (its object count), and the per-action ACL reads `…/acl/{ACTION}` and
//! `…/acl/{ACTION}/{subject}`.

mod common;

use common::TestServer;
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    me_and_addresses_name_the_user_everywhere,
    me_needs_a_user_token,
    unknown_addresses_are_user_not_found,
    group_paths_take_addresses,
    bucket_retrieval_counts_readable_objects,
    acl_verb_lists_subjects,
    acl_entry_answers_whether_granted,
);

/// Registers `login` with an email address and a phone number too; returns (ID, token).
async fn user_with_addresses(s: &TestServer, login: &str, phone: &str) -> (String, String) {
    let r = s
        .post(
            "/apps/{app}/users",
            None,
            json!({
                "loginName": login,
                "emailAddress": format!("{login}@example.com"),
                "phoneNumber": phone,
                "password": "secret123",
            }),
        )
        .await;
    r.expect_status(201);
    let id = r.body["userID"].as_str().unwrap().to_owned();
    (id, s.login(login, "secret123").await)
}

async fn put(s: &TestServer, path: &str, token: &str) -> common::Reply {
    s.call(Method::PUT, path, Some(token), None).await
}

fn media_type(r: &common::Reply) -> &str {
    r.headers["content-type"].to_str().unwrap()
}

async fn me_and_addresses_name_the_user_everywhere(s: &TestServer) {
    let (alice, ta) = user_with_addresses(s, "alice", "+819011112222").await;
    let (bob, tb) = s.user("bob", "secret123").await;
    // Alice writes into her own scope through `me`: it is the scope of her ID.
    let r = s
        .post(
            "/apps/{app}/users/me/buckets/notes/objects",
            Some(&ta),
            json!({"n": 1}),
        )
        .await;
    r.expect_status(201);
    let obj = r.body["objectID"].as_str().unwrap().to_owned();
    let by_id = format!("/apps/{{app}}/users/{alice}/buckets/notes/objects/{obj}");
    assert_eq!(
        s.get(&by_id, Some(&ta)).await.expect_status(200).body["n"],
        1
    );
    let mine = format!("/apps/{{app}}/users/me/buckets/notes/objects/{obj}");
    s.get(&mine, Some(&ta)).await.expect_status(200);
    let q = s
        .post(
            "/apps/{app}/users/me/buckets/notes/query",
            Some(&ta),
            json!({"bucketQuery": {"clause": {"type": "all"}}}),
        )
        .await;
    assert_eq!(q.expect_status(200).body["results"][0]["_id"], obj.as_str());
    let acl = s.get("/apps/{app}/users/me/acl", Some(&ta)).await;
    assert_eq!(
        acl.expect_status(200).body["CREATE_NEW_BUCKET"],
        json!([{ "userID": alice }])
    );
    s.get("/apps/{app}/users/me/buckets/notes/acl", Some(&ta))
        .await
        .expect_status(200);
    s.get(&format!("{mine}/acl"), Some(&ta))
        .await
        .expect_status(200);
    // Grants through `me` land on her bucket: Bob then reads it by each of her addresses.
    put(
        s,
        &format!("/apps/{{app}}/users/me/buckets/notes/acl/READ_OBJECTS_IN_BUCKET/UserID:{bob}"),
        &ta,
    )
    .await
    .expect_status(204);
    for address in [
        "LOGIN_NAME:alice",
        "LOGIN_NAME%3Aalice",
        "EMAIL:alice@example.com",
        "EMAIL:alice%40example.com",
        "PHONE:+819011112222",
    ] {
        let path = format!("/apps/{{app}}/users/{address}/buckets/notes/objects/{obj}");
        let r = s.get(&path, Some(&tb)).await;
        assert_eq!(r.expect_status(200).body["_id"], obj.as_str(), "{address}");
    }
    // The documented `GET /users/LOGIN_NAME:{name}/acl`.
    let acl = s
        .get("/apps/{app}/users/LOGIN_NAME:alice/acl", Some(&ta))
        .await;
    assert_eq!(
        acl.expect_status(200).body["CREATE_NEW_BUCKET"],
        json!([{ "userID": alice }])
    );
    // Bob's `me` is Bob, not Alice.
    s.get(&mine, Some(&tb))
        .await
        .expect_error(404, "OBJECT_NOT_FOUND");
    // The user record through `me` and an address.
    s.post(
        "/apps/{app}/users/me",
        Some(&ta),
        json!({"displayName": "Al"}),
    )
    .await
    .expect_status(200);
    let doc = s
        .get("/apps/{app}/users/PHONE:+819011112222", Some(&ta))
        .await;
    assert_eq!(doc.expect_status(200).body["displayName"], "Al");
    s.call(
        Method::PUT,
        "/apps/{app}/users/me/password",
        Some(&tb),
        Some(json!({"oldPassword": "secret123", "newPassword": "secret456"})),
    )
    .await
    .expect_status(204);
    // The change revoked Bob's tokens.
    let tb = s.login("bob", "secret456").await;
    // Another user's address opens nothing the ACL does not grant.
    s.post(
        "/apps/{app}/users/LOGIN_NAME:alice/buckets/notes/objects",
        Some(&tb),
        json!({"n": 2}),
    )
    .await
    .expect_error(403, "ACCESS_DENIED");
    s.delete("/apps/{app}/users/LOGIN_NAME:alice", Some(&tb))
        .await
        .expect_error(403, "ACCESS_DENIED");
    s.delete("/apps/{app}/users/me", Some(&ta))
        .await
        .expect_status(204);
    s.get(&by_id, Some(&s.admin().await))
        .await
        .expect_error(404, "USER_NOT_FOUND");
}

async fn me_needs_a_user_token(s: &TestServer) {
    let (alice, ta) = s.user("alice", "secret123").await;
    let admin = s.admin().await;
    for path in [
        "/apps/{app}/users/me",
        "/apps/{app}/users/me/acl",
        "/apps/{app}/users/me/buckets/notes",
        "/apps/{app}/users/me/buckets/notes/acl/READ_OBJECTS_IN_BUCKET",
    ] {
        s.get(path, None).await.expect_error(401, "UNAUTHORIZED");
        s.get(path, Some(&admin))
            .await
            .expect_error(401, "UNAUTHORIZED");
        s.get(path, Some("not-a-token"))
            .await
            .expect_error(403, "WRONG_TOKEN");
    }
    s.post(
        "/apps/{app}/users/me/buckets/notes/objects",
        None,
        json!({"n": 1}),
    )
    .await
    .expect_error(401, "UNAUTHORIZED");
    // The admin names users by ID or address instead, and nothing was created above.
    let acl = s
        .get("/apps/{app}/users/LOGIN_NAME:alice/acl", Some(&admin))
        .await;
    assert_eq!(
        acl.expect_status(200).body["CREATE_NEW_BUCKET"],
        json!([{ "userID": alice }])
    );
    s.get(
        &format!("/apps/{{app}}/users/{alice}/buckets/notes"),
        Some(&admin),
    )
    .await
    .expect_error(404, "BUCKET_NOT_FOUND");
    // A `me` path answers errors in Kii's shape with CORS headers, like any other.
    let r = s.get("/apps/{app}/users/me/acl", None).await;
    assert_eq!(r.headers["access-control-allow-origin"], "*");
    s.get("/apps/{app}/users/me/acl", Some(&ta))
        .await
        .expect_status(200);
}

async fn unknown_addresses_are_user_not_found(s: &TestServer) {
    let admin = s.admin().await;
    let (_, ta) = s.user("alice", "secret123").await;
    // Carol lives in another app of the same server: her addresses name nobody here.
    let other = kumo_server::create_app(s.store.as_ref(), "other", &s.site())
        .await
        .unwrap();
    let r = s
        .client
        .post(format!("{}/apps/{}/users", s.site(), other.app_id))
        .json(&json!({"loginName": "carol", "emailAddress": "carol@example.com", "password": "secret123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    for path in [
        "/apps/{app}/users/LOGIN_NAME:carol",
        "/apps/{app}/users/EMAIL:carol@example.com/acl",
        "/apps/{app}/users/LOGIN_NAME:nobody/buckets/b",
        "/apps/{app}/users/PHONE:+10000000000/buckets/b/objects/o",
        "/apps/{app}/users/LOGIN_NAME:",
        "/apps/{app}/users/login_name:alice",
    ] {
        s.get(path, Some(&admin))
            .await
            .expect_error(404, "USER_NOT_FOUND");
    }
    let long = format!("/apps/{{app}}/users/LOGIN_NAME:{}", "x".repeat(5000));
    s.get(&long, Some(&admin))
        .await
        .expect_error(404, "USER_NOT_FOUND");
    // Carol's token is no token here, `me` or not.
    let carol = s
        .client
        .post(format!("{}/apps/{}/oauth2/token", s.site(), other.app_id))
        .json(&json!({"username": "carol", "password": "secret123"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    s.get("/apps/{app}/users/me", Some(&carol))
        .await
        .expect_error(403, "WRONG_TOKEN");
    s.post(
        "/apps/{app}/users/EMAIL:carol@example.com/buckets/b/objects",
        Some(&ta),
        json!({}),
    )
    .await
    .expect_error(404, "USER_NOT_FOUND");
}

async fn group_paths_take_addresses(s: &TestServer) {
    let (alice, ta) = s.user("alice", "secret123").await;
    let (bob, tb) = s.user("bob", "secret123").await;
    let r = s
        .post(
            "/apps/{app}/groups",
            Some(&ta),
            json!({"name": "g", "owner": alice}),
        )
        .await;
    let g = r.expect_status(201).body["groupID"]
        .as_str()
        .unwrap()
        .to_owned();
    put(
        s,
        &format!("/apps/{{app}}/groups/{g}/members/LOGIN_NAME:bob"),
        &ta,
    )
    .await
    .expect_status(204);
    let members = s
        .get(&format!("/apps/{{app}}/groups/{g}/members"), Some(&ta))
        .await;
    assert!(members.body["members"]
        .as_array()
        .unwrap()
        .contains(&json!({ "userID": bob })));
    let mine = s.get("/apps/{app}/groups?is_member=me", Some(&tb)).await;
    assert_eq!(
        mine.expect_status(200).body["groups"][0]["groupID"],
        g.as_str()
    );
    let owned = s
        .get("/apps/{app}/groups?owner=LOGIN_NAME%3Aalice", Some(&ta))
        .await;
    assert_eq!(
        owned.expect_status(200).body["groups"][0]["groupID"],
        g.as_str()
    );
    s.get("/apps/{app}/groups?owner=LOGIN_NAME:nobody", Some(&tb))
        .await
        .expect_error(404, "USER_NOT_FOUND");
    s.get("/apps/{app}/groups?is_member=me", None)
        .await
        .expect_error(401, "UNAUTHORIZED");
    put(
        s,
        &format!("/apps/{{app}}/groups/{g}/members/LOGIN_NAME:nobody"),
        &ta,
    )
    .await
    .expect_error(404, "USER_NOT_FOUND");
    // Alice's `me` is the owner, who may not leave; Bob's address is a member she may remove.
    s.delete(&format!("/apps/{{app}}/groups/{g}/members/me"), Some(&ta))
        .await
        .expect_error(400, "INVALID_INPUT_DATA");
    s.delete(
        &format!("/apps/{{app}}/groups/{g}/members/LOGIN_NAME:bob"),
        Some(&ta),
    )
    .await
    .expect_status(204);
    s.delete(
        &format!("/apps/{{app}}/groups/{g}/members/LOGIN_NAME:bob"),
        Some(&ta),
    )
    .await
    .expect_error(404, "GROUP_MEMBER_NOT_FOUND");
    s.delete(
        &format!("/apps/{{app}}/groups/{g}/members/EMAIL:none@x.y"),
        Some(&ta),
    )
    .await
    .expect_error(404, "USER_NOT_FOUND");
}

async fn bucket_retrieval_counts_readable_objects(s: &TestServer) {
    let (alice, ta) = s.user("alice", "secret123").await;
    let (bob, tb) = s.user("bob", "secret123").await;
    for n in 0..3 {
        s.post(
            "/apps/{app}/buckets/scores/objects",
            Some(&ta),
            json!({"n": n}),
        )
        .await
        .expect_status(201);
    }
    let r = s.get("/apps/{app}/buckets/scores", Some(&tb)).await;
    r.expect_status(200);
    assert_eq!(
        media_type(&r),
        "application/vnd.kii.BucketRetrievalResponse+json"
    );
    assert_eq!(r.body, json!({"bucketType": "rw", "size": 3}));
    // App buckets let anonymous callers query and read by default.
    assert_eq!(
        s.get("/apps/{app}/buckets/scores", None).await.body["size"],
        3
    );
    s.get("/apps/{app}/buckets/nothing", Some(&ta))
        .await
        .expect_error(404, "BUCKET_NOT_FOUND");
    s.get("/apps/{app}/buckets/x", Some(&ta))
        .await
        .expect_error(400, "INVALID_BUCKET");
    // Alice's own bucket: Bob may query it but read only one object, so he counts one.
    let mut ids = vec![];
    for n in 0..2 {
        let r = s
            .post(
                "/apps/{app}/users/me/buckets/diary/objects",
                Some(&ta),
                json!({"n": n}),
            )
            .await;
        ids.push(r.body["objectID"].as_str().unwrap().to_owned());
    }
    s.get("/apps/{app}/users/me/buckets/diary", Some(&tb))
        .await
        .expect_error(404, "BUCKET_NOT_FOUND");
    let diary = format!("/apps/{{app}}/users/{alice}/buckets/diary");
    s.get(&diary, Some(&tb))
        .await
        .expect_error(403, "ACCESS_DENIED");
    s.get(&diary, None).await.expect_error(401, "UNAUTHORIZED");
    put(
        s,
        &format!("{diary}/acl/QUERY_OBJECTS_IN_BUCKET/UserID:{bob}"),
        &ta,
    )
    .await
    .expect_status(204);
    put(
        s,
        &format!(
            "{diary}/objects/{}/acl/READ_EXISTING_OBJECT/UserID:{bob}",
            ids[0]
        ),
        &ta,
    )
    .await
    .expect_status(204);
    assert_eq!(
        s.get(&diary, Some(&tb)).await.expect_status(200).body["size"],
        1
    );
    assert_eq!(
        s.get("/apps/{app}/users/me/buckets/diary", Some(&ta))
            .await
            .body["size"],
        2
    );
    // A dropped bucket is gone.
    s.delete(&diary, Some(&ta)).await.expect_status(204);
    s.get(&diary, Some(&ta))
        .await
        .expect_error(404, "BUCKET_NOT_FOUND");
}

async fn acl_verb_lists_subjects(s: &TestServer) {
    let (alice, ta) = s.user("alice", "secret123").await;
    let (_, tb) = s.user("bob", "secret123").await;
    let admin = s.admin().await;
    let r = s
        .get("/apps/{app}/acl/CREATE_NEW_BUCKET", Some(&admin))
        .await;
    r.expect_status(200);
    assert_eq!(
        media_type(&r),
        "application/vnd.kii.ACLVerbRetrievalResponse+json"
    );
    assert_eq!(r.body, json!([{ "userID": "ANY_AUTHENTICATED_USER" }]));
    s.get("/apps/{app}/acl/CREATE_NEW_BUCKET", Some(&ta))
        .await
        .expect_error(401, "UNAUTHORIZED");
    let r = s
        .get("/apps/{app}/users/me/acl/CREATE_NEW_BUCKET", Some(&ta))
        .await;
    assert_eq!(r.expect_status(200).body, json!([{ "userID": alice }]));
    let g = s
        .post(
            "/apps/{app}/groups",
            Some(&ta),
            json!({"name": "g", "owner": alice}),
        )
        .await
        .body["groupID"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s
        .get(
            &format!("/apps/{{app}}/groups/{g}/acl/CREATE_NEW_BUCKET"),
            Some(&ta),
        )
        .await;
    let subjects = r.expect_status(200).body.as_array().unwrap().clone();
    assert!(subjects.contains(&json!({ "groupID": g })), "{subjects:?}");
    assert!(
        subjects.contains(&json!({ "userID": alice })),
        "{subjects:?}"
    );
    let obj = s
        .post(
            "/apps/{app}/users/me/buckets/notes/objects",
            Some(&ta),
            json!({}),
        )
        .await
        .body["objectID"]
        .as_str()
        .unwrap()
        .to_owned();
    let bucket = "/apps/{app}/users/me/buckets/notes";
    let r = s
        .get(
            &format!("{bucket}/acl/DROP_BUCKET_WITH_ALL_CONTENT"),
            Some(&ta),
        )
        .await;
    assert_eq!(r.expect_status(200).body, json!([{ "userID": alice }]));
    let r = s
        .get(
            &format!("{bucket}/objects/{obj}/acl/WRITE_EXISTING_OBJECT"),
            Some(&ta),
        )
        .await;
    assert_eq!(r.expect_status(200).body, json!([{ "userID": alice }]));
    // Bob may not read Alice's ACLs; unknown actions and actions of another level are 400.
    s.get(
        &format!("/apps/{{app}}/users/{alice}/buckets/notes/acl/READ_OBJECTS_IN_BUCKET"),
        Some(&tb),
    )
    .await
    .expect_error(401, "UNAUTHORIZED");
    let alice_bucket = format!("/apps/{{app}}/users/{alice}/buckets/notes");
    for path in [
        "/apps/{app}/acl/EAT".to_owned(),
        "/apps/{app}/acl/READ_OBJECTS_IN_BUCKET".to_owned(),
        "/apps/{app}/acl/create_new_bucket".to_owned(),
        format!("{alice_bucket}/acl/CREATE_NEW_BUCKET"),
        format!("{alice_bucket}/objects/{obj}/acl/READ_OBJECTS_IN_BUCKET"),
        format!("/apps/{{app}}/acl/{}", "A".repeat(3000)),
    ] {
        s.get(&path, Some(&admin))
            .await
            .expect_error(400, "INVALID_INPUT_DATA");
    }
    s.get(
        &format!("{bucket}/objects/nope/acl/READ_EXISTING_OBJECT"),
        Some(&ta),
    )
    .await
    .expect_error(404, "OBJECT_NOT_FOUND");
    s.get(
        "/apps/{app}/users/me/buckets/none/acl/READ_OBJECTS_IN_BUCKET",
        Some(&ta),
    )
    .await
    .expect_error(404, "BUCKET_NOT_FOUND");
}

async fn acl_entry_answers_whether_granted(s: &TestServer) {
    let (alice, ta) = s.user("alice", "secret123").await;
    let (bob, tb) = s.user("bob", "secret123").await;
    let admin = s.admin().await;
    let r = s
        .get(
            &format!("/apps/{{app}}/users/me/acl/CREATE_NEW_BUCKET/UserID:{alice}"),
            Some(&ta),
        )
        .await;
    r.expect_status(200);
    assert_eq!(
        media_type(&r),
        "application/vnd.kii.ACLSubjectRetrievalResponse+json"
    );
    assert_eq!(r.body, json!({ "userID": alice }));
    let r = s
        .get(
            "/apps/{app}/acl/CREATE_NEW_BUCKET/UserID:ANY_AUTHENTICATED_USER",
            Some(&admin),
        )
        .await;
    assert_eq!(
        r.expect_status(200).body,
        json!({ "userID": "ANY_AUTHENTICATED_USER" })
    );
    s.get(
        "/apps/{app}/acl/CREATE_NEW_BUCKET/UserID:ANONYMOUS_USER",
        Some(&admin),
    )
    .await
    .expect_error(404, "ACL_NOT_FOUND");
    // Grant, check, revoke, check: the entry's life through the same path.
    s.post(
        "/apps/{app}/users/me/buckets/notes/objects",
        Some(&ta),
        json!({}),
    )
    .await
    .expect_status(201);
    let entry =
        format!("/apps/{{app}}/users/me/buckets/notes/acl/READ_OBJECTS_IN_BUCKET/UserID:{bob}");
    s.get(&entry, Some(&ta))
        .await
        .expect_error(404, "ACL_NOT_FOUND");
    put(s, &entry, &ta).await.expect_status(204);
    assert_eq!(
        s.get(&entry, Some(&ta)).await.expect_status(200).body,
        json!({ "userID": bob })
    );
    s.delete(&entry, Some(&ta)).await.expect_status(204);
    s.get(&entry, Some(&ta))
        .await
        .expect_error(404, "ACL_NOT_FOUND");
    // Groups as subjects.
    let g = s
        .post(
            "/apps/{app}/groups",
            Some(&ta),
            json!({"name": "g", "owner": alice}),
        )
        .await
        .body["groupID"]
        .as_str()
        .unwrap()
        .to_owned();
    let group_entry =
        format!("/apps/{{app}}/users/me/buckets/notes/acl/QUERY_OBJECTS_IN_BUCKET/GroupID:{g}");
    s.get(&group_entry, Some(&ta))
        .await
        .expect_error(404, "ACL_NOT_FOUND");
    put(s, &group_entry, &ta).await.expect_status(204);
    assert_eq!(
        s.get(&group_entry, Some(&ta)).await.expect_status(200).body,
        json!({ "groupID": g })
    );
    // Subjects that do not exist, and subjects that are not subjects.
    let bucket_acl = "/apps/{app}/users/me/buckets/notes/acl/READ_OBJECTS_IN_BUCKET";
    s.get(&format!("{bucket_acl}/UserID:nobody"), Some(&ta))
        .await
        .expect_error(404, "USER_NOT_FOUND");
    s.get(&format!("{bucket_acl}/GroupID:nogroup"), Some(&ta))
        .await
        .expect_error(404, "GROUP_NOT_FOUND");
    for subject in ["bob", "Nobody:x", "UserID:", "GroupID:", ":", "%ff"] {
        let r = s.get(&format!("{bucket_acl}/{subject}"), Some(&ta)).await;
        assert_eq!(r.status.as_u16(), 400, "{subject}: {}", r.body);
        assert!(r.body["errorCode"].is_string(), "{subject}: {}", r.body);
    }
    s.get(
        &format!("/apps/{{app}}/users/me/acl/EAT/UserID:{alice}"),
        Some(&ta),
    )
    .await
    .expect_error(400, "INVALID_INPUT_DATA");
    // Only who may read the ACL may ask.
    s.get(
        &format!("/apps/{{app}}/users/{alice}/acl/CREATE_NEW_BUCKET/UserID:{alice}"),
        Some(&tb),
    )
    .await
    .expect_error(401, "UNAUTHORIZED");
}
