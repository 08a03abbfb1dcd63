//! Buckets, objects, queries and ACLs over real HTTP, on SQLite and PostgreSQL: the wire
//! details and the bad-input paths (the Kii SDK suite covers the happy paths end to end).

mod common;

use common::TestServer;
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    object_wire_details,
    conditional_writes,
    bad_object_requests,
    query_wire_details,
    bad_queries,
    acl_endpoints,
    concurrent_acl_grants_are_all_kept,
    scopes_must_exist,
    bucket_changes_apply_at_once,
);

async fn object_wire_details(s: &TestServer) {
    let (uid, t) = s.user("alice", "secret123").await;
    let typed = format!("application/vnd.{}.score+json", s.app.app_id);
    let r = s
        .raw(
            Method::POST,
            "/apps/{app}/buckets/scores/objects",
            Some(&t),
            Some(&typed),
            br#"{"score":1,"_id":"ignored","_owner":"x"}"#.to_vec(),
        )
        .await;
    r.expect_status(201);
    assert_eq!(r.headers["etag"], "\"1\"");
    assert_eq!(r.body["dataType"], typed.as_str());
    let id = r.body["objectID"].as_str().unwrap().to_owned();
    let path = format!("/apps/{{app}}/buckets/scores/objects/{id}");
    let got = s.get(&path, Some(&t)).await;
    got.expect_status(200);
    assert_eq!(got.headers["etag"], "\"1\"");
    assert_eq!(got.body["_version"], "1", "_version is a string");
    assert_eq!(got.body["_dataType"], "score");
    assert_eq!(
        got.body["_owner"],
        uid.as_str(),
        "system fields in the body are ignored"
    );
    assert_eq!(got.body["_id"], id.as_str());
    // PATCH through the method override answers the merged document.
    let r = s
        .client
        .post(s.url(&path))
        .header("authorization", format!("Bearer {t}"))
        .header("x-http-method-override", "PATCH")
        .json(&json!({"extra": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], "\"2\"");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (
            body["score"].clone(),
            body["extra"].clone(),
            body["_version"].clone()
        ),
        (json!(1), json!(true), json!("2"))
    );
    // A plain POST to an object is not an update.
    s.post(&path, Some(&t), json!({}))
        .await
        .expect_error(405, "METHOD_NOT_ALLOWED");
    // PUT replaces; 200 for an existing object, 201 for a new one.
    let r = s
        .call(Method::PUT, &path, Some(&t), Some(json!({"only": 1})))
        .await;
    r.expect_status(200);
    assert!(r.body["createdAt"].is_i64() && r.body["modifiedAt"].is_i64());
    assert_eq!(r.headers["etag"], "\"3\"");
    assert!(s.get(&path, Some(&t)).await.body.get("score").is_none());
    let r = s
        .call(
            Method::PUT,
            "/apps/{app}/buckets/scores/objects/my-id.1",
            Some(&t),
            Some(json!({"v": 1})),
        )
        .await;
    r.expect_status(201);
    s.delete(&path, Some(&t)).await.expect_status(204);
    s.get(&path, Some(&t))
        .await
        .expect_error(404, "OBJECT_NOT_FOUND");
    s.delete(&path, Some(&t))
        .await
        .expect_error(404, "OBJECT_NOT_FOUND");
    s.delete("/apps/{app}/buckets/scores", Some(&t))
        .await
        .expect_status(204);
    s.delete("/apps/{app}/buckets/scores", Some(&t))
        .await
        .expect_error(404, "BUCKET_NOT_FOUND");
}

async fn conditional_writes(s: &TestServer) {
    let (_, t) = s.user("bob", "secret123").await;
    let path = "/apps/{app}/buckets/b1/objects/obj-1";
    let put = |headers: Vec<(&'static str, &'static str)>, body: Value| {
        let mut req = s
            .client
            .put(s.url(path))
            .header("authorization", format!("Bearer {t}"))
            .json(&body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req.send()
    };
    assert_eq!(
        put(vec![("if-none-match", "*")], json!({"v": 1}))
            .await
            .unwrap()
            .status(),
        201
    );
    let r = put(vec![("if-none-match", "*")], json!({"v": 2}))
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(
        r.json::<Value>().await.unwrap()["errorCode"],
        "OBJECT_ALREADY_EXISTS"
    );
    // If-Match with quotes, without, and weak; a stale one is refused and changes nothing.
    assert_eq!(
        put(vec![("if-match", "\"1\"")], json!({"v": 2}))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        put(vec![("if-match", "2")], json!({"v": 3}))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        put(vec![("if-match", "W/\"3\"")], json!({"v": 4}))
            .await
            .unwrap()
            .status(),
        200
    );
    let r = put(vec![("if-match", "3")], json!({"v": 99}))
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(
        r.json::<Value>().await.unwrap()["errorCode"],
        "OBJECT_VERSION_IS_STALE"
    );
    let r = put(vec![("if-match", "banana")], json!({"v": 99}))
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(s.get(path, Some(&t)).await.body["v"], 4);
    let r = s
        .client
        .delete(s.url(path))
        .header("authorization", format!("Bearer {t}"))
        .header("if-match", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let r = s
        .client
        .delete(s.url(path))
        .header("authorization", format!("Bearer {t}"))
        .header("if-match", "\"4\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

async fn bad_object_requests(s: &TestServer) {
    let (_, t) = s.user("carol", "secret123").await;
    s.post("/apps/{app}/buckets/x/objects", Some(&t), json!({}))
        .await
        .expect_error(400, "INVALID_BUCKET");
    s.post(
        "/apps/{app}/buckets/has%20space/objects",
        Some(&t),
        json!({}),
    )
    .await
    .expect_error(400, "INVALID_BUCKET");
    s.post(
        &format!("/apps/{{app}}/buckets/{}/objects", "b".repeat(65)),
        Some(&t),
        json!({}),
    )
    .await
    .expect_error(400, "INVALID_BUCKET");
    s.call(
        Method::PUT,
        "/apps/{app}/buckets/ok/objects/a",
        Some(&t),
        Some(json!({})),
    )
    .await
    .expect_error(400, "INVALID_OBJECT_ID");
    s.post(
        "/apps/{app}/buckets/ok/objects",
        Some(&t),
        json!({"errorCode": 1}),
    )
    .await
    .expect_error(400, "INVALID_INPUT_DATA");
    let r = s
        .raw(
            Method::POST,
            "/apps/{app}/buckets/ok/objects",
            Some(&t),
            Some("application/json"),
            b"[1]".to_vec(),
        )
        .await;
    r.expect_error(400, "INVALID_INPUT_DATA");
    let r = s
        .raw(
            Method::POST,
            "/apps/{app}/buckets/ok/objects",
            Some(&t),
            Some("application/json"),
            b"{".to_vec(),
        )
        .await;
    r.expect_error(400, "INVALID_JSON");
    s.get("/apps/{app}/buckets/ok/objects/nope", Some(&t))
        .await
        .expect_error(404, "OBJECT_NOT_FOUND");
    s.get("/apps/{app}/things/th1/buckets/ok/objects/nope", Some(&t))
        .await
        .expect_error(404, "THING_NOT_FOUND");
    // None of it created the bucket.
    let admin = s.admin().await;
    s.get("/apps/{app}/buckets/ok/acl", Some(&admin))
        .await
        .expect_error(404, "BUCKET_NOT_FOUND");
}

async fn query_wire_details(s: &TestServer) {
    let (_, t) = s.user("dave", "secret123").await;
    for i in 0..5 {
        s.post(
            "/apps/{app}/buckets/q1/objects",
            Some(&t),
            json!({"n": i, "even": i % 2 == 0}),
        )
        .await
        .expect_status(201);
    }
    let q = |body: Value| s.post("/apps/{app}/buckets/q1/query", None, body);
    let r = q(json!({"bucketQuery": {"clause": {"type": "all"}, "orderBy": "n", "descending": true}, "bestEffortLimit": 2})).await;
    r.expect_status(200);
    let ns: Vec<i64> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["n"].as_i64().unwrap())
        .collect();
    assert_eq!(ns, [4, 3]);
    assert!(r.body["results"][0]["_version"].is_string());
    let key = r.body["nextPaginationKey"].as_str().unwrap().to_owned();
    let r = q(json!({"bucketQuery": {"clause": {"type": "all"}, "orderBy": "n", "descending": true}, "bestEffortLimit": 2, "paginationKey": key})).await;
    let ns: Vec<i64> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["n"].as_i64().unwrap())
        .collect();
    assert_eq!(ns, [2, 1]);
    let r =
        q(json!({"bucketQuery": {"clause": {"type": "eq", "field": "even", "value": true}}})).await;
    assert_eq!(r.body["results"].as_array().unwrap().len(), 3);
    assert!(r.body.get("nextPaginationKey").is_none());
    let r = q(json!({"bucketQuery": {"clause": {"type": "all"}, "aggregations": [{"type": "COUNT", "putAggregationInto": "count_field"}]}})).await;
    assert_eq!(r.body, json!({"aggregations": {"count_field": 5}}));
    // A bucket that does not exist yet is empty, not an error.
    let r = s
        .post(
            "/apps/{app}/buckets/never/query",
            None,
            json!({"bucketQuery": {"clause": {"type": "all"}}}),
        )
        .await;
    assert_eq!(r.body["results"], json!([]));
}

async fn bad_queries(s: &TestServer) {
    let (_, t) = s.user("erin", "secret123").await;
    s.post("/apps/{app}/buckets/q2/objects", Some(&t), json!({"n": 1}))
        .await
        .expect_status(201);
    let q = |body: Value| s.post("/apps/{app}/buckets/q2/query", Some(&t), body);
    q(json!({})).await.expect_error(400, "INVALID_INPUT_DATA");
    q(json!({"bucketQuery": {"clause": {"type": "regex", "field": "n"}}}))
        .await
        .expect_error(400, "QUERY_NOT_SUPPORTED");
    q(json!({"bucketQuery": {"clause": {"type": "eq", "field": "n", "value": {"a": 1}}}}))
        .await
        .expect_error(400, "INVALID_INPUT_DATA");
    q(json!({"bucketQuery": {"clause": {"type": "all"}}, "bestEffortLimit": "ten"}))
        .await
        .expect_error(400, "INVALID_INPUT_DATA");
    q(json!({"bucketQuery": {"clause": {"type": "all"}}, "paginationKey": "not-a-key"}))
        .await
        .expect_error(400, "INVALID_INPUT_DATA");
    q(json!({"bucketQuery": {"clause": {"type": "all"}, "orderBy": "_calculated.d"}}))
        .await
        .expect_error(400, "QUERY_NOT_SUPPORTED");
    q(json!({"bucketQuery": {"clause": {"type": "all"}, "aggregations": [{"type": "MAX"}]}}))
        .await
        .expect_error(400, "QUERY_NOT_SUPPORTED");
}

async fn acl_endpoints(s: &TestServer) {
    let (alice, ta) = s.user("alice", "secret123").await;
    let (bob, tb) = s.user("bob", "secret123").await;
    let path = format!("/apps/{{app}}/users/{alice}/buckets/private/objects");
    let r = s.post(&path, Some(&ta), json!({"secret": 1})).await;
    let obj = format!("{path}/{}", r.body["objectID"].as_str().unwrap());
    s.get(&obj, Some(&tb))
        .await
        .expect_error(403, "ACCESS_DENIED");
    s.get(&obj, None).await.expect_error(401, "UNAUTHORIZED");
    // Bob may neither read nor change the ACL; Alice may.
    s.get(&format!("{obj}/acl"), Some(&tb))
        .await
        .expect_error(401, "UNAUTHORIZED");
    s.call(
        Method::PUT,
        &format!("{obj}/acl/READ_EXISTING_OBJECT/UserID:{bob}"),
        Some(&tb),
        None,
    )
    .await
    .expect_error(401, "UNAUTHORIZED");
    let grant = format!("{obj}/acl/READ_EXISTING_OBJECT/UserID:{bob}");
    s.call(Method::PUT, &grant, Some(&ta), None)
        .await
        .expect_status(204);
    s.call(Method::PUT, &grant, Some(&ta), None)
        .await
        .expect_status(204);
    let acl = s.get(&format!("{obj}/acl"), Some(&ta)).await;
    assert!(acl.body["READ_EXISTING_OBJECT"]
        .as_array()
        .unwrap()
        .contains(&json!({"userID": bob})));
    s.get(&obj, Some(&tb)).await.expect_status(200);
    s.delete(&grant, Some(&ta)).await.expect_status(204);
    s.get(&obj, Some(&tb))
        .await
        .expect_error(403, "ACCESS_DENIED");
    // Bad actions and subjects.
    s.call(
        Method::PUT,
        &format!("{obj}/acl/READ_OBJECTS_IN_BUCKET/UserID:{bob}"),
        Some(&ta),
        None,
    )
    .await
    .expect_error(400, "INVALID_INPUT_DATA");
    s.call(
        Method::PUT,
        &format!("{obj}/acl/READ_EXISTING_OBJECT/Nobody:{bob}"),
        Some(&ta),
        None,
    )
    .await
    .expect_error(400, "INVALID_INPUT_DATA");
    // Scope ACL: Alice lets Bob create buckets in her scope.
    let scope_grant = format!("/apps/{{app}}/users/{alice}/acl/CREATE_NEW_BUCKET/UserID:{bob}");
    s.post(
        &format!("/apps/{{app}}/users/{alice}/buckets/shared/objects"),
        Some(&tb),
        json!({}),
    )
    .await
    .expect_error(403, "ACCESS_DENIED");
    s.call(Method::PUT, &scope_grant, Some(&ta), None)
        .await
        .expect_status(204);
    s.post(
        &format!("/apps/{{app}}/users/{alice}/buckets/shared/objects"),
        Some(&tb),
        json!({}),
    )
    .await
    .expect_status(201);
    let scope = s
        .get(&format!("/apps/{{app}}/users/{alice}/acl"), Some(&ta))
        .await;
    assert!(scope.body["CREATE_NEW_BUCKET"]
        .as_array()
        .unwrap()
        .contains(&json!({"userID": bob})));
    // The app scope's ACL is the admin's.
    s.call(
        Method::PUT,
        "/apps/{app}/acl/CREATE_NEW_BUCKET/UserID:ANONYMOUS_USER",
        Some(&ta),
        None,
    )
    .await
    .expect_error(401, "UNAUTHORIZED");
    let admin = s.admin().await;
    s.call(
        Method::PUT,
        "/apps/{app}/acl/CREATE_NEW_BUCKET/UserID:ANONYMOUS_USER",
        Some(&admin),
        None,
    )
    .await
    .expect_status(204);
    s.post("/apps/{app}/buckets/anon/objects", None, json!({}))
        .await
        .expect_status(201);
}

async fn scopes_must_exist(s: &TestServer) {
    let (_, t) = s.user("frank", "secret123").await;
    s.post(
        "/apps/{app}/users/no-such-user/buckets/b1/objects",
        Some(&t),
        json!({}),
    )
    .await
    .expect_error(404, "USER_NOT_FOUND");
    s.post(
        "/apps/{app}/groups/nogroup/buckets/b1/objects",
        Some(&t),
        json!({}),
    )
    .await
    .expect_error(404, "GROUP_NOT_FOUND");
}

/// Buckets are cached, but a change made on this node applies to the very next request: a
/// bucket ACL grant and revoke, and a bucket deleted and made again under the same name.
async fn bucket_changes_apply_at_once(s: &TestServer) {
    let (bob, tb) = s.user("bob1", "secret123").await;
    let admin = s.admin().await;
    let objects = "/apps/{app}/buckets/shared/objects";
    s.post(objects, Some(&admin), json!({"n": 1}))
        .await
        .expect_status(201);
    let query = "/apps/{app}/buckets/shared/query";
    let all = json!({"bucketQuery": {"clause": {"type": "all"}}});
    // Warm the cache with the bucket as it is, then change its ACL.
    s.post(query, Some(&tb), all.clone())
        .await
        .expect_status(200);
    let grant =
        "/apps/{app}/buckets/shared/acl/QUERY_OBJECTS_IN_BUCKET/UserID:ANY_AUTHENTICATED_USER";
    s.delete(grant, Some(&admin)).await.expect_status(204);
    s.post(query, Some(&tb), all.clone())
        .await
        .expect_error(403, "ACCESS_DENIED");
    let for_bob = format!("/apps/{{app}}/buckets/shared/acl/QUERY_OBJECTS_IN_BUCKET/UserID:{bob}");
    s.call(Method::PUT, &for_bob, Some(&admin), None)
        .await
        .expect_status(204);
    s.post(query, Some(&tb), all.clone())
        .await
        .expect_status(200);
    // Deleted and made again: the query sees the new bucket's object, not the old bucket.
    s.delete("/apps/{app}/buckets/shared", Some(&admin))
        .await
        .expect_status(204);
    s.post(objects, Some(&admin), json!({"n": 2}))
        .await
        .expect_status(201);
    let r = s.post(query, Some(&admin), all).await;
    r.expect_status(200);
    let results = r.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{}", r.body);
    assert_eq!(results[0]["n"], 2);
}

/// 50 grants to different users sent at once on one object and on one bucket: every one is
/// in the ACL afterwards (a read-modify-write would lose some).
async fn concurrent_acl_grants_are_all_kept(s: &TestServer) {
    let admin = s.admin().await;
    let bucket = "/apps/{app}/buckets/contended";
    let r = s
        .post(&format!("{bucket}/objects"), Some(&admin), json!({}))
        .await;
    r.expect_status(201);
    let obj = format!("{bucket}/objects/{}", r.body["objectID"].as_str().unwrap());
    for (target, action) in [
        (obj.as_str(), "READ_EXISTING_OBJECT"),
        (bucket, "READ_OBJECTS_IN_BUCKET"),
    ] {
        let users: Vec<String> = (0..50).map(|i| format!("user-{i}")).collect();
        // Each request on its own task, so they really overlap on the server.
        let grants: Vec<_> = users
            .iter()
            .map(|u| {
                let request = s
                    .client
                    .put(s.url(&format!("{target}/acl/{action}/UserID:{u}")))
                    .header("x-kii-appid", &s.app.app_id)
                    .header("x-kii-appkey", &s.app.app_key)
                    .bearer_auth(&admin);
                tokio::spawn(async move { request.send().await.expect("request").status() })
            })
            .collect();
        for g in grants {
            assert_eq!(g.await.unwrap().as_u16(), 204);
        }
        let acl = s.get(&format!("{target}/acl"), Some(&admin)).await;
        acl.expect_status(200);
        let granted: Vec<&str> = acl.body[action]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["userID"].as_str())
            .collect();
        let missing: Vec<&String> = users
            .iter()
            .filter(|u| !granted.contains(&u.as_str()))
            .collect();
        assert!(missing.is_empty(), "{action}: lost grants for {missing:?}");
    }
}
