//! Things over real HTTP, on SQLite and PostgreSQL: registration, thing tokens, reading and
//! changing a thing, its status, its owners, its buckets, and the refusals on the way.

mod common;

use common::{Reply, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    register_and_read,
    registration_refusals,
    thing_tokens,
    update_status_and_delete,
    owners_and_permissions,
    thing_scope_buckets,
    another_apps_thing,
    server_code_things,
    thing_queries,
    a_thing_is_granted_what_it_creates,
);

const REG_TOKEN: &str = "application/vnd.kii.ThingRegistrationAndAuthorizationRequest+json";
const REG: &str = "application/vnd.kii.ThingRegistrationRequest+json";

async fn send(
    s: &TestServer,
    m: Method,
    path: &str,
    token: Option<&str>,
    ct: &str,
    body: Value,
) -> Reply {
    s.raw(m, path, token, Some(ct), body.to_string().into_bytes())
        .await
}

/// Registers `vendor` with a token in the answer; returns (thing ID, thing token).
async fn thing(s: &TestServer, vendor: &str) -> (String, String) {
    let r = send(
        s,
        Method::POST,
        "/apps/{app}/things",
        None,
        REG_TOKEN,
        json!({"_vendorThingID": vendor, "_password": "pw-1234"}),
    )
    .await;
    r.expect_status(201);
    (
        r.body["_thingID"].as_str().unwrap().to_owned(),
        r.body["_accessToken"].as_str().unwrap().to_owned(),
    )
}

async fn register_and_read(s: &TestServer) {
    let r = send(
        s,
        Method::POST,
        "/apps/{app}/things",
        None,
        REG_TOKEN,
        json!({
            "_vendorThingID": "cam-1", "_password": "pw-1234", "_thingType": "CAMERA",
            "_numberField1": 7, "_stringField2": "hello", "_layoutPosition": "GATEWAY",
            "_unknownSystemField": 1, "color": {"r": 1}, "tags": ["a"]
        }),
    )
    .await;
    r.expect_status(201);
    assert_eq!(
        r.headers["content-type"],
        "application/vnd.kii.ThingRegistrationAndAuthorizationResponse+json"
    );
    let id = r.body["_thingID"].as_str().unwrap().to_owned();
    assert!(id.starts_with("th."), "{id}");
    assert!(r.headers["location"].to_str().unwrap().ends_with(&id));
    let token = r.body["_accessToken"].as_str().unwrap().to_owned();
    assert_eq!(r.body["_vendorThingID"], "cam-1");
    assert!(r.body["_created"].is_i64());
    assert!(r.body.get("_password").is_none());
    assert!(r.body.get("_unknownSystemField").is_none());
    assert_eq!(r.body["color"], json!({"r": 1}));

    // Without a token in the answer.
    let r = send(
        s,
        Method::POST,
        "/apps/{app}/things",
        None,
        REG,
        json!({"_vendorThingID": "cam-2", "_password": "pw"}),
    )
    .await;
    r.expect_status(201);
    assert_eq!(
        r.headers["content-type"],
        "application/vnd.kii.ThingRegistrationResponse+json"
    );
    assert!(r.body.get("_accessToken").is_none());

    // The thing reads itself, by ID and by vendor thing ID; so does the admin.
    for path in [
        format!("/apps/{{app}}/things/{id}"),
        "/apps/{app}/things/VENDOR_THING_ID:cam-1".to_owned(),
    ] {
        let got = s.get(&path, Some(&token)).await;
        got.expect_status(200);
        assert_eq!(
            got.headers["content-type"],
            "application/vnd.kii.ThingRetrievalResponse+json"
        );
        assert_eq!(got.body["_thingID"], id.as_str());
        assert_eq!(got.body["_thingType"], "CAMERA");
        assert_eq!(got.body["_numberField1"], 7);
        assert_eq!(got.body["_disabled"], false);
        assert_eq!(got.body["tags"], json!(["a"]));
    }
    let admin = s.admin().await;
    s.get(&format!("/apps/{{app}}/things/{id}"), Some(&admin))
        .await
        .expect_status(200);

    let missing = s.get("/apps/{app}/things/th.nope", Some(&admin)).await;
    missing.expect_error(404, "THING_NOT_FOUND");
    assert_eq!(missing.body["field"], "thingID");
    assert_eq!(
        missing.headers["content-type"],
        "application/vnd.kii.ThingNotFoundException+json"
    );
    let missing = s
        .get("/apps/{app}/things/VENDOR_THING_ID:nope", Some(&admin))
        .await;
    missing.expect_error(404, "THING_NOT_FOUND");
    assert_eq!(missing.body["field"], "vendorThingID");
}

async fn registration_refusals(s: &TestServer) {
    let post = |ct: &'static str, body: Value| async move {
        send(s, Method::POST, "/apps/{app}/things", None, ct, body).await
    };
    post(
        "application/json",
        json!({"_vendorThingID": "v", "_password": "p"}),
    )
    .await
    .expect_error(415, "UNSUPPORTED_MEDIA_TYPE");
    post(REG, json!({"_password": "p"}))
        .await
        .expect_error(400, "INVALID_INPUT_DATA");
    post(REG, json!({"_vendorThingID": "v"}))
        .await
        .expect_error(400, "INVALID_INPUT_DATA");
    post(REG, json!({"_vendorThingID": "bad id!", "_password": "p"}))
        .await
        .expect_error(400, "INVALID_INPUT_DATA");
    post(
        REG,
        json!({"_vendorThingID": "x".repeat(201), "_password": "p"}),
    )
    .await
    .expect_error(400, "INVALID_INPUT_DATA");
    post(REG, json!({"_vendorThingID": 5, "_password": "p"}))
        .await
        .expect_error(400, "INVALID_INPUT_DATA");
    let r = post(
        REG,
        json!({"_vendorThingID": "v", "_password": "p", "_numberField1": "seven"}),
    )
    .await;
    r.expect_error(400, "INVALID_INPUT_DATA");
    assert_eq!(r.body["field"], "_numberField1");
    post(
        REG,
        json!({"_vendorThingID": "v", "_password": "p", "_layoutPosition": "ROOF"}),
    )
    .await
    .expect_error(400, "INVALID_INPUT_DATA");
    post(
        REG,
        json!({"_vendorThingID": "v", "_password": "p", "big": "x".repeat(64 * 1024)}),
    )
    .await
    .expect_error(400, "INVALID_INPUT_DATA");
    let r = s
        .raw(
            Method::POST,
            "/apps/{app}/things",
            None,
            Some(REG),
            b"{not json".to_vec(),
        )
        .await;
    r.expect_error(400, "INVALID_JSON");

    post(REG, json!({"_vendorThingID": "dup", "_password": "p"}))
        .await
        .expect_status(201);
    let r = post(
        REG_TOKEN,
        json!({"_vendorThingID": "dup", "_password": "q"}),
    )
    .await;
    r.expect_error(409, "THING_ALREADY_EXISTS");
    assert_eq!(
        r.headers["content-type"],
        "application/vnd.kii.ThingAlreadyExistsException+json"
    );
}

async fn thing_tokens(s: &TestServer) {
    let (id, _) = thing(s, "sensor-1").await;
    // The SDK's Kii.authenticateAsThing: /oauth2/token with VENDOR_THING_ID.
    let r = s
        .post(
            "/oauth2/token",
            None,
            json!({"username": "VENDOR_THING_ID:sensor-1", "password": "pw-1234"}),
        )
        .await;
    r.expect_status(200);
    assert_eq!(r.body["id"], id.as_str());
    let token = r.body["access_token"].as_str().unwrap().to_owned();
    s.get(&format!("/apps/{{app}}/things/{id}"), Some(&token))
        .await
        .expect_status(200);

    s.post(
        "/oauth2/token",
        None,
        json!({"username": "VENDOR_THING_ID:sensor-1", "password": "wrong"}),
    )
    .await
    .expect_error(400, "invalid_grant");
    s.post(
        "/oauth2/token",
        None,
        json!({"username": "VENDOR_THING_ID:nobody", "password": "pw-1234"}),
    )
    .await
    .expect_error(400, "invalid_grant");

    // A thing token on a user's data is refused, as is `me`.
    let (alice, ta) = s.user("alice", "secret123").await;
    s.post(
        &format!("/apps/{{app}}/users/{alice}/buckets/bb/objects"),
        Some(&ta),
        json!({"a": 1}),
    )
    .await
    .expect_status(201);
    s.post(
        &format!("/apps/{{app}}/users/{alice}/buckets/bb/query"),
        Some(&token),
        json!({"bucketQuery": {"clause": {"type": "all"}}}),
    )
    .await
    .expect_error(403, "ACCESS_DENIED");
    s.post(
        &format!("/apps/{{app}}/users/{alice}/buckets/bb/objects"),
        Some(&token),
        json!({"a": 2}),
    )
    .await
    .expect_error(403, "ACCESS_DENIED");
    s.delete(&format!("/apps/{{app}}/users/{alice}"), Some(&token))
        .await
        .expect_error(403, "ACCESS_DENIED");
    s.get("/apps/{app}/users/me", Some(&token))
        .await
        .expect_error(401, "UNAUTHORIZED");
    // A thing is not the admin: it may not create a group (for someone else or at all), nor
    // manage server code.
    s.post(
        "/apps/{app}/groups",
        Some(&token),
        json!({"name": "g", "owner": alice}),
    )
    .await
    .expect_error(403, "ACCESS_DENIED");
    s.post("/apps/{app}/groups", Some(&token), json!({"name": "g"}))
        .await
        .expect_error(403, "ACCESS_DENIED");
    let r = s
        .raw(
            Method::POST,
            "/apps/{app}/server-code",
            Some(&token),
            Some("application/javascript"),
            b"function f(){}".to_vec(),
        )
        .await;
    r.expect_error(401, "UNAUTHORIZED");
    assert_eq!(r.body["authenticatedPrincipalID"], id.as_str());

    // A disabled thing cannot log in, and its tokens stop working.
    let admin = s.admin().await;
    send(
        s,
        Method::PUT,
        &format!("/apps/{{app}}/things/{id}/status"),
        Some(&admin),
        "application/vnd.kii.ThingStatusUpdateRequest+json",
        json!({"disabled": true}),
    )
    .await
    .expect_status(204);
    s.get(&format!("/apps/{{app}}/things/{id}"), Some(&token))
        .await
        .expect_error(403, "WRONG_TOKEN");
    let r = s
        .post(
            "/oauth2/token",
            None,
            json!({"username": "VENDOR_THING_ID:sensor-1", "password": "pw-1234"}),
        )
        .await;
    r.expect_error(400, "invalid_grant");
    assert!(r.body["message"].as_str().unwrap().contains("disabled"));

    // The admin changes a thing's password; the thing itself may not.
    let pw = "application/vnd.kii.ChangeThingPasswordRequest+json";
    let path = format!("/apps/{{app}}/things/{id}/password");
    let (_, t2) = thing(s, "sensor-2").await;
    let path2 = "/apps/{app}/things/VENDOR_THING_ID:sensor-2/password";
    send(
        s,
        Method::PUT,
        path2,
        Some(&t2),
        pw,
        json!({"newPassword": "new-pw"}),
    )
    .await
    .expect_error(403, "ACCESS_DENIED");
    send(
        s,
        Method::PUT,
        path2,
        Some(&admin),
        pw,
        json!({"newPassword": 5}),
    )
    .await
    .expect_error(400, "INVALID_INPUT_DATA");
    send(
        s,
        Method::PUT,
        path2,
        Some(&admin),
        "application/json",
        json!({"newPassword": "new-pw"}),
    )
    .await
    .expect_error(415, "UNSUPPORTED_MEDIA_TYPE");
    send(
        s,
        Method::PUT,
        path2,
        Some(&admin),
        pw,
        json!({"newPassword": "new-pw"}),
    )
    .await
    .expect_status(204);
    s.post(
        "/oauth2/token",
        None,
        json!({"username": "VENDOR_THING_ID:sensor-2", "password": "pw-1234"}),
    )
    .await
    .expect_error(400, "invalid_grant");
    s.post(
        "/oauth2/token",
        None,
        json!({"username": "VENDOR_THING_ID:sensor-2", "password": "new-pw"}),
    )
    .await
    .expect_status(200);
    send(
        s,
        Method::PUT,
        &path,
        Some(&admin),
        pw,
        json!({"newPassword": "x"}),
    )
    .await
    .expect_status(204);
}

async fn update_status_and_delete(s: &TestServer) {
    let (id, token) = thing(s, "lamp").await;
    let path = format!("/apps/{{app}}/things/{id}");
    let update = "application/vnd.kii.ThingUpdateRequest+json";
    send(
        s,
        Method::PATCH,
        &path,
        Some(&token),
        update,
        json!({"_firmwareVersion": "1.2", "note": "x", "_vendorThingID": "other"}),
    )
    .await
    .expect_status(204);
    send(
        s,
        Method::PATCH,
        &path,
        Some(&token),
        update,
        json!({"note": "y"}),
    )
    .await
    .expect_status(204);
    let got = s.get(&path, Some(&token)).await;
    assert_eq!(got.body["_firmwareVersion"], "1.2");
    assert_eq!(got.body["note"], "y");
    assert_eq!(got.body["_vendorThingID"], "lamp");
    send(
        s,
        Method::PATCH,
        &path,
        Some(&token),
        "application/json",
        json!({"note": "z"}),
    )
    .await
    .expect_error(415, "UNSUPPORTED_MEDIA_TYPE");
    send(
        s,
        Method::PATCH,
        &path,
        Some(&token),
        update,
        json!({"_numberField2": 1.5}),
    )
    .await
    .expect_error(400, "INVALID_INPUT_DATA");

    // Status: the thing reads it; it may not change it itself; the admin may.
    let status = s.get(&format!("{path}/status"), Some(&token)).await;
    status.expect_status(200);
    assert_eq!(status.body, json!({"disabled": false}));
    let st = "application/vnd.kii.ThingStatusUpdateRequest+json";
    send(
        s,
        Method::PUT,
        &format!("{path}/status"),
        Some(&token),
        st,
        json!({"disabled": true}),
    )
    .await
    .expect_error(403, "ACCESS_DENIED");
    let admin = s.admin().await;
    send(
        s,
        Method::PUT,
        &format!("{path}/status"),
        Some(&admin),
        st,
        json!({"disabled": "yes"}),
    )
    .await
    .expect_error(400, "INVALID_INPUT_DATA");
    send(
        s,
        Method::PUT,
        &format!("{path}/status"),
        Some(&admin),
        st,
        json!({"disabled": true}),
    )
    .await
    .expect_status(204);
    assert_eq!(s.get(&path, Some(&admin)).await.body["_disabled"], true);
    send(
        s,
        Method::PUT,
        &format!("{path}/status"),
        Some(&admin),
        st,
        json!({"disabled": false}),
    )
    .await
    .expect_status(204);
    // Enabled again, the old (non-persistent in name, kept here) token works again.
    s.get(&path, Some(&token)).await.expect_status(200);

    // Delete: not by the thing itself, nor anonymous; the admin may. Its buckets go with it.
    s.post(
        &format!("{path}/buckets/log/objects"),
        Some(&token),
        json!({"t": 1}),
    )
    .await
    .expect_status(201);
    s.delete(&path, Some(&token))
        .await
        .expect_error(403, "ACCESS_DENIED");
    s.delete(&path, None)
        .await
        .expect_error(401, "UNAUTHORIZED");
    s.delete(&path, Some(&admin)).await.expect_status(204);
    s.get(&path, Some(&admin))
        .await
        .expect_error(404, "THING_NOT_FOUND");
    s.get(&path, Some(&token))
        .await
        .expect_error(403, "WRONG_TOKEN");
    // Registered again under the same vendor ID, the new thing has no old buckets.
    let (id2, token2) = thing(s, "lamp").await;
    assert_ne!(id, id2);
    s.get(
        &format!("/apps/{{app}}/things/{id2}/buckets/log"),
        Some(&token2),
    )
    .await
    .expect_error(404, "BUCKET_NOT_FOUND");
}

async fn owners_and_permissions(s: &TestServer) {
    let (id, token) = thing(s, "door").await;
    let path = format!("/apps/{{app}}/things/{id}");
    let (alice, ta) = s.user("alice", "secret123").await;
    let (bob, tb) = s.user("bob", "secret123").await;
    let (_carol, tc) = s.user("carol", "secret123").await;
    let admin = s.admin().await;

    // Not an owner yet: alice can neither read nor change it.
    s.get(&path, Some(&ta))
        .await
        .expect_error(403, "ACCESS_DENIED");
    s.get(&path, None).await.expect_error(401, "UNAUTHORIZED");
    // A user may not make someone else an owner.
    s.call(
        Method::PUT,
        &format!("{path}/ownership/user:{bob}"),
        Some(&ta),
        None,
    )
    .await
    .expect_error(403, "ACCESS_DENIED");
    // Alice makes herself an owner.
    s.call(
        Method::PUT,
        &format!("{path}/ownership/user:{alice}"),
        Some(&ta),
        None,
    )
    .await
    .expect_status(204);
    s.call(
        Method::PUT,
        &format!("{path}/ownership/user:{alice}"),
        Some(&ta),
        None,
    )
    .await
    .expect_error(409, "THING_OWNERSHIP_ALREADY_EXISTS");
    s.get(&path, Some(&ta)).await.expect_status(200);
    s.call(
        Method::HEAD,
        &format!("{path}/ownership/user:{alice}"),
        Some(&ta),
        None,
    )
    .await
    .expect_status(204);
    let r = s
        .call(
            Method::HEAD,
            &format!("{path}/ownership/user:{bob}"),
            Some(&ta),
            None,
        )
        .await;
    assert_eq!(r.status.as_u16(), 404);
    s.call(
        Method::PUT,
        &format!("{path}/ownership/user:ghost"),
        Some(&admin),
        None,
    )
    .await
    .expect_error(404, "USER_NOT_FOUND");
    s.call(
        Method::PUT,
        &format!("{path}/ownership/robot:1"),
        Some(&admin),
        None,
    )
    .await
    .expect_error(400, "INVALID_INPUT_DATA");

    // A group owner: its members own the thing.
    let r = s
        .post(
            "/apps/{app}/groups",
            Some(&tb),
            json!({"name": "fam", "owner": bob, "members": []}),
        )
        .await;
    r.expect_status(201);
    let gid = r.body["groupID"].as_str().unwrap().to_owned();
    s.get(&path, Some(&tb))
        .await
        .expect_error(403, "ACCESS_DENIED");
    // With the thing's password (POST ownership): a wrong one is refused.
    let own = "application/vnd.kii.ThingOwnershipRequest+json";
    send(
        s,
        Method::POST,
        &format!("{path}/ownership"),
        Some(&tb),
        own,
        json!({"groupID": gid, "thingPassword": "nope"}),
    )
    .await
    .expect_error(401, "UNAUTHORIZED");
    send(
        s,
        Method::POST,
        &format!("{path}/ownership"),
        Some(&tb),
        own,
        json!({"groupID": gid}),
    )
    .await
    .expect_error(400, "INVALID_INPUT_DATA");
    send(
        s,
        Method::POST,
        &format!("{path}/ownership"),
        Some(&tb),
        "application/json",
        json!({"groupID": gid, "thingPassword": "pw-1234"}),
    )
    .await
    .expect_error(415, "UNSUPPORTED_MEDIA_TYPE");
    send(
        s,
        Method::POST,
        &format!("{path}/ownership"),
        Some(&tc),
        own,
        json!({"groupID": gid, "thingPassword": "pw-1234"}),
    )
    .await
    .expect_error(403, "ACCESS_DENIED");
    send(
        s,
        Method::POST,
        &format!("{path}/ownership"),
        Some(&tb),
        own,
        json!({"groupID": gid, "thingPassword": "pw-1234"}),
    )
    .await
    .expect_status(204);
    s.get(&path, Some(&tb)).await.expect_status(200);
    s.get(&path, Some(&tc))
        .await
        .expect_error(403, "ACCESS_DENIED");

    let owners = s.get(&format!("{path}/ownership"), Some(&token)).await;
    owners.expect_status(200);
    assert_eq!(owners.body, json!({"users": [alice], "groups": [gid]}));

    // An owner may delete it after all; first alice gives up her ownership.
    s.delete(&format!("{path}/ownership/user:{alice}"), Some(&ta))
        .await
        .expect_status(204);
    s.delete(&format!("{path}/ownership/user:{alice}"), Some(&admin))
        .await
        .expect_error(404, "THING_OWNERSHIP_NOT_FOUND");
    s.get(&path, Some(&ta))
        .await
        .expect_error(403, "ACCESS_DENIED");
    s.delete(&path, Some(&tb)).await.expect_status(204);
}

async fn thing_scope_buckets(s: &TestServer) {
    let (id, token) = thing(s, "meter").await;
    let (_other, other_token) = thing(s, "meter-2").await;
    let (alice, ta) = s.user("alice", "secret123").await;
    let b = format!("/apps/{{app}}/things/{id}/buckets/readings");

    let r = s
        .post(&format!("{b}/objects"), Some(&token), json!({"kwh": 3}))
        .await;
    r.expect_status(201);
    let oid = r.body["objectID"].as_str().unwrap().to_owned();
    assert!(r.headers["location"]
        .to_str()
        .unwrap()
        .contains(&format!("/things/{id}/buckets/readings/objects/")));
    s.post(&format!("{b}/objects"), Some(&token), json!({"kwh": 9}))
        .await
        .expect_status(201);
    let q = s
        .post(
            &format!("{b}/query"),
            Some(&token),
            json!({"bucketQuery": {"clause": {"type": "range", "field": "kwh", "lowerLimit": 5}}}),
        )
        .await;
    q.expect_status(200);
    assert_eq!(q.body["results"].as_array().unwrap().len(), 1);

    // Another thing and a user who does not own it see nothing.
    s.get(&format!("{b}/objects/{oid}"), Some(&other_token))
        .await
        .expect_error(403, "ACCESS_DENIED");
    s.get(&format!("{b}/objects/{oid}"), Some(&ta))
        .await
        .expect_error(403, "ACCESS_DENIED");
    s.get(&format!("{b}/objects/{oid}"), None)
        .await
        .expect_error(401, "UNAUTHORIZED");
    let missing = s.get(&format!("{b}/objects/nope"), Some(&token)).await;
    missing.expect_error(404, "OBJECT_NOT_FOUND");
    assert_eq!(missing.body["objectScope"]["type"], "APP_AND_THING");
    assert_eq!(missing.body["objectScope"]["thingID"], id.as_str());
    s.post(
        "/apps/{app}/things/th.none/buckets/xx/objects",
        Some(&token),
        json!({}),
    )
    .await
    .expect_error(404, "THING_NOT_FOUND");

    // The same bucket by vendor thing ID.
    let q = s
        .post(
            "/apps/{app}/things/VENDOR_THING_ID:meter/buckets/readings/query",
            Some(&token),
            json!({"bucketQuery": {"clause": {"type": "all"}}}),
        )
        .await;
    q.expect_status(200);
    assert_eq!(q.body["results"].as_array().unwrap().len(), 2);
    s.get(
        "/apps/{app}/things/VENDOR_THING_ID%3Ameter/buckets/readings/acl",
        Some(&token),
    )
    .await
    .expect_status(200);
    s.get(
        "/apps/{app}/things/VENDOR_THING_ID:nope/buckets/readings",
        Some(&token),
    )
    .await
    .expect_error(404, "THING_NOT_FOUND");

    // A `ThingID:` grant lets the other thing read that object.
    s.call(
        Method::PUT,
        &format!("{b}/objects/{oid}/acl/READ_EXISTING_OBJECT/ThingID:{_other}"),
        Some(&token),
        None,
    )
    .await
    .expect_status(204);
    s.get(&format!("{b}/objects/{oid}"), Some(&other_token))
        .await
        .expect_status(200);
    let acl = s.get(&format!("{b}/objects/{oid}/acl"), Some(&token)).await;
    acl.expect_status(200);
    assert!(
        acl.body["READ_EXISTING_OBJECT"]
            .as_array()
            .unwrap()
            .contains(&json!({"thingID": _other})),
        "{}",
        acl.body
    );

    // Once alice owns the thing, she reads its data too.
    let admin = s.admin().await;
    s.call(
        Method::PUT,
        &format!("/apps/{{app}}/things/{id}/ownership/user:{alice}"),
        Some(&admin),
        None,
    )
    .await
    .expect_status(204);
    let q = s
        .post(
            &format!("{b}/query"),
            Some(&ta),
            json!({"bucketQuery": {"clause": {"type": "all"}}}),
        )
        .await;
    q.expect_status(200);
    assert_eq!(q.body["results"].as_array().unwrap().len(), 2);

    // A thing token in the app scope acts as an authenticated caller.
    s.post(
        "/apps/{app}/buckets/shared/objects",
        Some(&token),
        json!({"from": "thing"}),
    )
    .await
    .expect_status(201);
}

async fn another_apps_thing(s: &TestServer) {
    let (id, token) = thing(s, "far").await;
    let other = kumo_server::create_app(s.store.as_ref(), "other", &s.site())
        .await
        .unwrap();
    let path = format!("/apps/{}/things/{id}", other.app_id);
    // The thing's token names another app: refused. The other app's admin does not find it.
    let r = s.get(&path, Some(&token)).await;
    r.expect_error(403, "WRONG_TOKEN");
    let admin = s
        .post(
            &format!("/apps/{}/oauth2/token", other.app_id),
            None,
            json!({"client_id": other.client_id, "client_secret": other.client_secret}),
        )
        .await;
    let admin = admin.body["access_token"].as_str().unwrap().to_owned();
    s.get(&path, Some(&admin))
        .await
        .expect_error(404, "THING_NOT_FOUND");
    s.get(
        &format!("/apps/{}/things/VENDOR_THING_ID:far", other.app_id),
        Some(&admin),
    )
    .await
    .expect_error(404, "THING_NOT_FOUND");
    // The vendor thing ID is unique per app only.
    let r = s
        .raw(
            Method::POST,
            &format!("/apps/{}/things", other.app_id),
            None,
            Some(REG),
            json!({"_vendorThingID": "far", "_password": "p"})
                .to_string()
                .into_bytes(),
        )
        .await;
    r.expect_status(201);
}

/// The in-sandbox SDK's KiiThing and the admin context's thing methods, against the same REST
/// rules.
const THING_CODE: &str = r#"
function adminFlow(params, context, done) {
  var admin = context.getAppAdminContext();
  var out = {};
  admin.registerThing({_vendorThingID: params.vendor, _password: 'pw-1', _thingType: 'LAMP', room: 'hall'})
    .then(function (thing) {
      out.registered = thing.getThingID().indexOf('th.') === 0;
      out.token = typeof thing.getAccessToken() === 'string';
      out.fields = thing.fields;
      return admin.loadThingWithVendorThingID(params.vendor);
    })
    .then(function (thing) {
      out.loadedType = thing.fields._thingType;
      out.disabled = thing.getDisabled();
      thing.fields._firmwareVersion = '3';
      return thing.update();
    })
    .then(function (thing) {
      return admin.loadThingWithThingID(thing.getThingID());
    })
    .then(function (thing) {
      out.firmware = thing.fields._firmwareVersion;
      var user = admin.userWithID(params.user);
      return thing.registerOwner(user).then(function (r) {
        out.ownerResult = [r[0] === thing, r[1] === user];
        return thing.isOwner(user);
      }).then(function (r) {
        out.isOwner = r[2];
        var o = thing.bucketWithName('readings').createObject();
        o.set('v', 42);
        return o.save();
      }).then(function (o) {
        out.objectURI = o.objectURI();
        return thing.disable();
      }).then(function (t) {
        out.disabledNow = t.getDisabled();
        return admin.loadThingWithVendorThingID('no-such-thing');
      });
    })
    .then(function () { done({unexpected: 'loaded a missing thing'}); },
      function (e) { out.missing = e.message; done(out); });
}
function userFlow(params, context, done) {
  KiiUser.authenticateWithToken(context.getAccessToken()).then(function () {
    return KiiThing.loadWithThingID(params.thing);
  }).then(
    function (t) { done({loaded: t.getVendorThingID()}); },
    function (e) { done({refused: e.message}); });
}
function leak(params, context, done) {
  context.getAppAdminContext().registerThing({_vendorThingID: 'leaky', _password: 'pw-1'})
    .then(function (thing) {
      return Kii.authenticateAsThing('leaky', 'pw-1').then(function (ctx) {
        done({thing: thing, context: ctx, me: ctx.getAuthenticatedThing(), keys: Object.keys(thing),
          hasToken: typeof thing.getAccessToken() === 'string' && typeof ctx.getAuthenticatedThing().getAccessToken() === 'string'});
      });
    }, function (e) { done(e.message); });
}
function detached(params, context, done) {
  var t = KiiThing.thingWithID(params.thing);
  var refresh = t.refresh;
  refresh().then(function () { done('no'); }, function (e) { done(e.message); });
}
"#;

async fn server_code_things(s: &TestServer) {
    let admin = s.admin().await;
    let (alice, ta) = s.user("alice", "secret123").await;
    let version = s.deploy_current(&admin, THING_CODE).await;
    let run = |endpoint: &str, token: Option<String>, body: Value| {
        let path = format!("/apps/{{app}}/server-code/versions/{version}/{endpoint}");
        async move { s.post(&path, token.as_deref(), body).await }
    };
    let r = run(
        "adminFlow",
        None,
        json!({"vendor": "sc-lamp", "user": alice}),
    )
    .await;
    r.expect_status(200);
    let out = &r.body["returnedValue"];
    assert_eq!(out["registered"], true, "{out}");
    assert_eq!(out["token"], true, "{out}");
    assert_eq!(
        out["fields"],
        json!({"_thingType": "LAMP", "room": "hall"}),
        "{out}"
    );
    assert_eq!(out["loadedType"], "LAMP", "{out}");
    assert_eq!(out["disabled"], false, "{out}");
    assert_eq!(out["firmware"], "3", "{out}");
    assert_eq!(out["ownerResult"], json!([true, true]), "{out}");
    assert_eq!(out["isOwner"], true, "{out}");
    assert!(
        out["objectURI"]
            .as_str()
            .unwrap()
            .starts_with("kiicloud://things/th."),
        "{out}"
    );
    assert_eq!(out["disabledNow"], true, "{out}");
    assert_eq!(
        out["missing"],
        "refresh thing failed. statusCode: 404 error code: THING_NOT_FOUND message: The thing was not found",
        "{out}"
    );

    // Over REST, the thing is as the code left it.
    let got = s
        .get("/apps/{app}/things/VENDOR_THING_ID:sc-lamp", Some(&admin))
        .await;
    got.expect_status(200);
    assert_eq!(got.body["_disabled"], true);
    assert_eq!(got.body["_firmwareVersion"], "3");
    let id = got.body["_thingID"].as_str().unwrap().to_owned();

    // As a user: alice owns it, bob does not.
    let r = run("userFlow", Some(ta.clone()), json!({"thing": id})).await;
    assert_eq!(
        r.body["returnedValue"],
        json!({"loaded": "sc-lamp"}),
        "{}",
        r.body
    );
    let (_, tb) = s.user("bob", "secret123").await;
    let r = run("userFlow", Some(tb), json!({"thing": id})).await;
    let refused = r.body["returnedValue"]["refused"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        refused.starts_with("load thing failed. statusCode: 403 error code: ACCESS_DENIED"),
        "{}",
        r.body
    );
    // No token leaves a run in what it returns, though the code could read both.
    let r = run("leak", None, json!({})).await;
    r.expect_status(200);
    let out = &r.body["returnedValue"];
    assert_eq!(out["hasToken"], true, "{out}");
    let text = out.to_string();
    assert!(
        !text.contains("ccessToken") && !text.contains("\"_token\""),
        "{text}"
    );
    assert!(
        !out["keys"]
            .as_array()
            .unwrap()
            .contains(&json!("_accessToken")),
        "{out}"
    );
    // A detached method still works (and fails as a rejection, anonymous here).
    let r = run("detached", None, json!({"thing": id})).await;
    let message = r.body["returnedValue"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.starts_with("refresh thing failed. statusCode: 401"),
        "{}",
        r.body
    );
}

async fn thing_queries(s: &TestServer) {
    let (alice, ta) = s.user("alice", "secret123").await;
    let (bob, tb) = s.user("bob", "secret123").await;
    let admin = s.admin().await;
    let r = s
        .post(
            "/apps/{app}/groups",
            Some(&tb),
            json!({"name": "fam", "owner": bob, "members": [alice]}),
        )
        .await;
    let gid = r.body["groupID"].as_str().unwrap().to_owned();
    let mut mine = Vec::new();
    for (i, kind) in ["LAMP", "CAMERA", "LAMP", "LAMP", "CAMERA"]
        .iter()
        .enumerate()
    {
        let r = send(
            s,
            Method::POST,
            "/apps/{app}/things",
            None,
            REG,
            json!({"_vendorThingID": format!("q{i}"), "_password": "p", "_thingType": kind}),
        )
        .await;
        let id = r.body["_thingID"].as_str().unwrap().to_owned();
        let owner = if i == 4 {
            format!("group:{gid}")
        } else {
            format!("user:{alice}")
        };
        s.call(
            Method::PUT,
            &format!("/apps/{{app}}/things/{id}/ownership/{owner}"),
            Some(&admin),
            None,
        )
        .await
        .expect_status(204);
        mine.push(id);
    }
    // Someone else's thing is not in alice's results.
    let (other, _) = thing(s, "not-hers").await;

    let q = "application/vnd.kii.ThingQueryRequest+json";
    let query = |token: &str, body: Value| {
        let token = token.to_owned();
        async move {
            send(
                s,
                Method::POST,
                "/apps/{app}/things/query",
                Some(&token),
                q,
                body,
            )
            .await
        }
    };
    let owners = json!({"type": "or", "clauses": [
        {"type": "contains", "field": "userOwners", "value": alice},
        {"type": "contains", "field": "groupOwners", "value": gid}]});
    let r = query(&ta, json!({"thingQuery": {"clause": owners}})).await;
    r.expect_status(200);
    assert_eq!(
        r.headers["content-type"],
        "application/vnd.kii.ThingQueryResponse+json"
    );
    let mut got: Vec<String> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["_thingID"].as_str().unwrap().to_owned())
        .collect();
    got.sort();
    let mut want = mine.clone();
    want.sort();
    assert_eq!(got, want);
    assert!(!got.contains(&other));
    assert!(r.body.get("nextPaginationKey").is_none());

    // Pages of two, all of them, none twice.
    let mut seen = Vec::new();
    let mut key: Option<String> = None;
    for _ in 0..5 {
        let mut body = json!({"thingQuery": {"clause": owners}, "bestEffortLimit": 2});
        if let Some(k) = &key {
            body["paginationKey"] = json!(k);
        }
        let r = query(&ta, body).await;
        r.expect_status(200);
        for t in r.body["results"].as_array().unwrap() {
            seen.push(t["_thingID"].as_str().unwrap().to_owned());
        }
        key = r.body["nextPaginationKey"].as_str().map(str::to_owned);
        if key.is_none() {
            break;
        }
    }
    seen.sort();
    assert_eq!(seen, want);

    // By type, the type clause first or last.
    let lamps = json!({"thingQuery": {"clause": {"type": "and", "clauses": [
        {"type": "eq", "field": "_thingType", "value": "LAMP"},
        {"type": "contains", "field": "userOwners", "value": alice}]}}});
    let r = query(&ta, lamps).await;
    assert_eq!(r.body["results"].as_array().unwrap().len(), 3, "{}", r.body);

    // Bob may not ask for alice's things; a thing and anonymous callers may not query.
    let hers = json!({"thingQuery": {"clause": {"type": "contains", "field": "userOwners", "value": alice}}});
    query(&tb, hers.clone())
        .await
        .expect_error(401, "UNAUTHORIZED");
    let (_, thing_token) = thing(s, "asker").await;
    query(&thing_token, hers.clone())
        .await
        .expect_error(401, "UNAUTHORIZED");
    send(
        s,
        Method::POST,
        "/apps/{app}/things/query",
        None,
        q,
        hers.clone(),
    )
    .await
    .expect_error(401, "UNAUTHORIZED");
    // The admin may.
    let r = query(&admin, hers).await;
    assert_eq!(r.body["results"].as_array().unwrap().len(), 4);

    // Bad queries.
    query(&ta, json!({"thingQuery": {"clause": {"type": "all"}}}))
        .await
        .expect_error(400, "QUERY_NOT_SUPPORTED");
    query(&ta, json!({"nothing": 1}))
        .await
        .expect_error(400, "INVALID_INPUT_DATA");
    query(
        &ta,
        json!({"thingQuery": {"clause": owners}, "bestEffortLimit": 0}),
    )
    .await
    .expect_error(400, "INVALID_INPUT_DATA");
    let many: Vec<Value> = (0..21)
        .map(|i| json!({"type": "contains", "field": "userOwners", "value": format!("u{i}")}))
        .collect();
    query(
        &admin,
        json!({"thingQuery": {"clause": {"type": "or", "clauses": many}}}),
    )
    .await
    .expect_error(400, "QUERY_NOT_SUPPORTED");
    send(
        s,
        Method::POST,
        "/apps/{app}/things/query",
        Some(&ta),
        "application/json",
        json!({}),
    )
    .await
    .expect_error(415, "UNSUPPORTED_MEDIA_TYPE");
}

/// A thing that creates an object (here in an app bucket) is granted read and write on it as
/// its creator, as a user is: the grant names the thing, so it still reads the object once
/// neither the object's nor the bucket's ACL grants `ANY_AUTHENTICATED_USER`.
async fn a_thing_is_granted_what_it_creates(s: &TestServer) {
    let (id, token) = thing(s, "creator-1").await;
    let r = s
        .post(
            "/apps/{app}/buckets/readings/objects",
            Some(&token),
            json!({"t": 21.5}),
        )
        .await;
    r.expect_status(201);
    let obj = format!(
        "/apps/{{app}}/buckets/readings/objects/{}",
        r.body["objectID"].as_str().unwrap()
    );
    let admin = s.admin().await;
    let acl = s.get(&format!("{obj}/acl"), Some(&admin)).await;
    acl.expect_status(200);
    for action in ["READ_EXISTING_OBJECT", "WRITE_EXISTING_OBJECT"] {
        assert!(
            acl.body[action]
                .as_array()
                .unwrap()
                .contains(&json!({"thingID": id})),
            "{action}: {}",
            acl.body
        );
    }
    for action in ["READ_EXISTING_OBJECT", "WRITE_EXISTING_OBJECT"] {
        s.call(
            Method::DELETE,
            &format!("{obj}/acl/{action}/UserID:ANY_AUTHENTICATED_USER"),
            Some(&admin),
            None,
        )
        .await
        .expect_status(204);
    }
    // The bucket's own grant would let any user read every object in it.
    s.call(
        Method::DELETE,
        "/apps/{app}/buckets/readings/acl/READ_OBJECTS_IN_BUCKET/UserID:ANY_AUTHENTICATED_USER",
        Some(&admin),
        None,
    )
    .await
    .expect_status(204);
    s.get(&obj, Some(&token)).await.expect_status(200);
    let (_, alice) = s.user("alice", "password1").await;
    s.get(&obj, Some(&alice)).await.expect_status(403);
}
