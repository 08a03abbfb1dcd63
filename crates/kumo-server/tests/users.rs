//! Users and tokens over real HTTP, on SQLite and PostgreSQL.

mod common;

use common::TestServer;
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    register_login_and_me,
    registration_errors,
    token_errors,
    expired_tokens_are_refused,
    admin_tokens,
    lookups_and_visibility,
    update_semantics,
    password_change,
    delete_user,
    pseudo_users,
    apps_are_isolated,
    disabling_users,
);

async fn register_login_and_me(s: &TestServer) {
    let r = s
        .post(
            "/apps/{app}/users?disable_cache=1795367609364",
            None,
            json!({"loginName": "alice", "password": "secret123", "displayName": "Alice",
                   "emailAddress": "Alice@Example.com", "phoneNumber": "+819012345678", "age": 30}),
        )
        .await;
    r.expect_status(201);
    let id = r.body["userID"].as_str().unwrap().to_owned();
    assert_eq!(r.body["loginName"], "alice");
    assert_eq!(r.body["age"], 30);
    assert!(r.body["internalUserID"].is_i64());
    assert!(r.headers["location"].to_str().unwrap().ends_with(&id));
    assert!(r.body.get("password").is_none());

    // Every identifier logs in: login name (any case), email, phone, and the REST prefixes.
    for name in [
        "alice",
        "ALICE",
        "alice@example.com",
        "+819012345678",
        "EMAIL:alice@example.com",
        "PHONE:+819012345678",
    ] {
        let r = s
            .post(
                "/oauth2/token",
                None,
                json!({"username": name, "password": "secret123"}),
            )
            .await;
        r.expect_status(200);
        assert_eq!(r.body["id"], id.as_str(), "{name}");
        assert_eq!(r.body["token_type"], "bearer");
        assert_eq!(r.body["expires_in"], 2147483647);
        assert!(r.body["access_token"].as_str().unwrap().len() >= 43);
    }
    // The app-scoped token path with grant_type works too, and `//` is collapsed.
    let r = s
        .post(
            "//apps/{app}/oauth2/token",
            None,
            json!({"grant_type": "password", "username": "alice", "password": "secret123"}),
        )
        .await;
    r.expect_status(200);

    let token = s.login("alice", "secret123").await;
    let me = s
        .get("/apps/{app}/users/me?disable_cache=1", Some(&token))
        .await;
    me.expect_status(200);
    assert_eq!(me.body["userID"], id.as_str());
    assert_eq!(me.body["emailAddress"], "Alice@Example.com");
    assert_eq!(me.body["emailAddressVerified"], true);
    assert_eq!(me.body["_hasPassword"], true);
    assert_eq!(me.body["age"], 30);

    // Lower-case scheme, as registerGroupWithID sends it.
    let r = s
        .client
        .get(s.url("/apps/{app}/users/me"))
        .header("authorization", format!("bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

async fn registration_errors(s: &TestServer) {
    s.user("taken", "secret123").await;
    let cases = [
        (
            json!({"loginName": "taken", "password": "secret123"}),
            409,
            "USER_ALREADY_EXISTS",
            "loginName",
        ),
        (
            json!({"loginName": "TAKEN", "password": "secret123"}),
            409,
            "USER_ALREADY_EXISTS",
            "loginName",
        ),
        (
            json!({"password": "secret123"}),
            400,
            "INVALID_INPUT_DATA",
            "loginName",
        ),
        (
            json!({"loginName": "ab", "password": "secret123"}),
            400,
            "INVALID_INPUT_DATA",
            "loginName",
        ),
        (
            json!({"loginName": "fine", "password": "abc"}),
            400,
            "INVALID_INPUT_DATA",
            "password",
        ),
        (
            json!({"loginName": "fine"}),
            400,
            "INVALID_INPUT_DATA",
            "password",
        ),
        (
            json!({"loginName": "fine", "password": 1234}),
            400,
            "INVALID_INPUT_DATA",
            "password",
        ),
        (
            json!({"emailAddress": "not-an-email", "password": "secret123"}),
            400,
            "INVALID_INPUT_DATA",
            "emailAddress",
        ),
        (
            json!({"phoneNumber": "09012345678", "password": "secret123"}),
            400,
            "INVALID_INPUT_DATA",
            "phoneNumber",
        ),
        (
            json!({"loginName": "fine", "password": "secret123", "country": "japan"}),
            400,
            "INVALID_INPUT_DATA",
            "country",
        ),
        (
            json!({"loginName": "fine", "password": "secret123", "errorCode": "x"}),
            400,
            "INVALID_INPUT_DATA",
            "errorCode",
        ),
    ];
    for (body, status, code, field) in cases {
        let r = s.post("/apps/{app}/users", None, body.clone()).await;
        r.expect_error(status, code);
        assert_eq!(r.body["field"], field, "{body}");
    }
    // A second user with the same email (any case) is refused.
    s.post(
        "/apps/{app}/users",
        None,
        json!({"emailAddress": "x@example.com", "password": "secret123"}),
    )
    .await
    .expect_status(201);
    s.post(
        "/apps/{app}/users",
        None,
        json!({"emailAddress": "X@EXAMPLE.com", "password": "secret123"}),
    )
    .await
    .expect_error(409, "USER_ALREADY_EXISTS");
    // Malformed bodies.
    let r = s
        .raw(
            Method::POST,
            "/apps/{app}/users",
            None,
            Some("application/json"),
            b"{\"loginName\":".to_vec(),
        )
        .await;
    r.expect_error(400, "INVALID_JSON");
    let r = s
        .raw(
            Method::POST,
            "/apps/{app}/users",
            None,
            Some("application/json"),
            b"[1,2]".to_vec(),
        )
        .await;
    r.expect_error(400, "INVALID_INPUT_DATA");
    let r = s
        .raw(Method::POST, "/apps/{app}/users", None, None, Vec::new())
        .await;
    r.expect_error(400, "INVALID_JSON");
    // Nothing half-written: the failed registrations left no user behind.
    let admin = s.admin().await;
    s.get("/apps/{app}/users/LOGIN_NAME:fine", Some(&admin))
        .await
        .expect_error(404, "USER_NOT_FOUND");
}

async fn token_errors(s: &TestServer) {
    s.user("bob", "secret123").await;
    let r = s
        .post(
            "/oauth2/token",
            None,
            json!({"username": "bob", "password": "wrong"}),
        )
        .await;
    r.expect_error(400, "invalid_grant");
    assert_eq!(r.body["error"], "invalid_grant");
    assert!(r.body["error_description"]
        .as_str()
        .unwrap()
        .contains("wrong password"));
    s.post(
        "/oauth2/token",
        None,
        json!({"username": "nobody", "password": "x1234"}),
    )
    .await
    .expect_error(400, "invalid_grant");
    s.post("/oauth2/token", None, json!({"username": "bob"}))
        .await
        .expect_error(400, "INVALID_INPUT_DATA");
    s.post(
        "/oauth2/token",
        None,
        json!({"grant_type": "refresh_token"}),
    )
    .await
    .expect_error(400, "INVALID_INPUT_DATA");
    let past = json!({"username": "bob", "password": "secret123", "expiresAt": 1000});
    s.post("/oauth2/token", None, past)
        .await
        .expect_error(400, "INVALID_INPUT_DATA");

    // No app header, an unknown app.
    let r = s
        .client
        .post(s.url("/oauth2/token"))
        .body(r#"{"username":"bob","password":"secret123"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["errorCode"], "APP_NOT_FOUND");
    s.post(
        "/apps/nosuchapp/oauth2/token",
        None,
        json!({"username": "bob", "password": "secret123"}),
    )
    .await
    .expect_error(404, "APP_NOT_FOUND");
    s.get("/apps/nosuchapp/users/me", None)
        .await
        .expect_error(404, "APP_NOT_FOUND");

    // Bad tokens and schemes.
    s.get("/apps/{app}/users/me", Some("not-a-token"))
        .await
        .expect_error(403, "WRONG_TOKEN");
    s.get("/apps/{app}/users/me", None)
        .await
        .expect_error(401, "UNAUTHORIZED");
    let r = s
        .client
        .get(s.url("/apps/{app}/users/me"))
        .header("authorization", "Digest abc")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

async fn expired_tokens_are_refused(s: &TestServer) {
    s.user("carol", "secret123").await;
    let soon = kumo_types::now_ms() + 1200;
    let r = s
        .post(
            "/oauth2/token",
            None,
            json!({"username": "carol", "password": "secret123", "expiresAt": soon}),
        )
        .await;
    r.expect_status(200);
    assert!(r.body["expires_in"].as_i64().unwrap() <= 2);
    let token = r.body["access_token"].as_str().unwrap().to_owned();
    s.get("/apps/{app}/users/me", Some(&token))
        .await
        .expect_status(200);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let r = s.get("/apps/{app}/users/me", Some(&token)).await;
    r.expect_error(403, "WRONG_TOKEN");
    assert!(r.body["message"].as_str().unwrap().contains("expired"));
}

async fn admin_tokens(s: &TestServer) {
    let (uid, _) = s.user("dave", "secret123").await;
    let r = s
        .post(
            "/oauth2/token",
            None,
            json!({"client_id": s.app.client_id, "client_secret": s.app.client_secret}),
        )
        .await;
    r.expect_status(200);
    assert_eq!(r.body["id"], s.app.client_id.as_str());
    let admin = r.body["access_token"].as_str().unwrap().to_owned();
    let doc = s
        .get(&format!("/apps/{{app}}/users/{uid}"), Some(&admin))
        .await;
    doc.expect_status(200);
    assert_eq!(
        doc.body["_hasPassword"], true,
        "admin sees the full document"
    );
    // Kii: `me` cannot be used with a non-user token (UnauthorizedAccessException).
    s.get("/apps/{app}/users/me", Some(&admin))
        .await
        .expect_error(401, "UNAUTHORIZED");

    s.post(
        "/oauth2/token",
        None,
        json!({"client_id": s.app.client_id, "client_secret": "wrong"}),
    )
    .await
    .expect_error(400, "invalid_grant");
    s.post(
        "/oauth2/token",
        None,
        json!({"client_id": "wrong", "client_secret": s.app.client_secret}),
    )
    .await
    .expect_error(400, "invalid_grant");

    // The REST guide's form: Basic app credentials, grant_type, app-scoped path.
    use base64::Engine;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:anything", s.app.app_id));
    let r = s
        .client
        .post(s.url("/apps/{app}/oauth2/token"))
        .header("authorization", format!("Basic {basic}"))
        .json(&json!({"grant_type": "client_credentials", "client_id": s.app.client_id, "client_secret": s.app.client_secret}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

async fn lookups_and_visibility(s: &TestServer) {
    let r = s
        .post(
            "/apps/{app}/users",
            None,
            json!({"loginName": "erin", "password": "secret123", "displayName": "Erin",
                   "emailAddress": "erin+tag@example.com", "phoneNumber": "+15550001111", "secret": 1}),
        )
        .await;
    r.expect_status(201);
    let erin = r.body["userID"].as_str().unwrap().to_owned();
    let (_, frank) = s.user("frank", "secret123").await;

    // Raw `@`, `+` and `:` in the path, and the same percent-encoded.
    for path in [
        "/apps/{app}/users/LOGIN_NAME:erin",
        "/apps/{app}/users/EMAIL:erin+tag@example.com",
        "/apps/{app}/users/PHONE:+15550001111",
        "/apps/{app}/users/EMAIL%3Aerin%2Btag%40example.com",
    ] {
        let r = s.get(path, Some(&frank)).await;
        r.expect_status(200);
        assert_eq!(r.body["userID"], erin.as_str(), "{path}");
        // Another user sees only the public fields.
        assert_eq!(r.body["displayName"], "Erin");
        assert!(r.body.get("emailAddress").is_none(), "{}", r.body);
        assert!(r.body.get("secret").is_none());
    }
    s.get("/apps/{app}/users/LOGIN_NAME:nobody", Some(&frank))
        .await
        .expect_error(404, "USER_NOT_FOUND");
    s.get("/apps/{app}/users/no-such-id", Some(&frank))
        .await
        .expect_error(404, "USER_NOT_FOUND");
    s.get(&format!("/apps/{{app}}/users/{erin}"), None)
        .await
        .expect_error(401, "UNAUTHORIZED");
}

async fn update_semantics(s: &TestServer) {
    let r = s
        .post("/apps/{app}/users", None, json!({"loginName": "gina", "password": "secret123", "a": 1, "b": 2, "displayName": "G"}))
        .await;
    let id = r.body["userID"].as_str().unwrap().to_owned();
    let internal_id = r.body["internalUserID"].clone();
    let token = s.login("gina", "secret123").await;
    let path = format!("/apps/{{app}}/users/{id}");
    // Echoed read-only fields are tolerated; absent custom fields are deleted; absent
    // predefined fields stay.
    let r = s
        .post(&path, Some(&token), json!({"internalUserID": 1, "_accessToken": "x", "_hasPassword": true, "a": 10, "c": [1, 2], "country": "JP"}))
        .await;
    r.expect_status(200);
    assert!(r.body["modifiedAt"].is_i64());
    let me = s.get(&path, Some(&token)).await;
    assert_eq!(me.body["a"], 10);
    assert_eq!(me.body["c"], json!([1, 2]));
    assert!(me.body.get("b").is_none());
    assert_eq!(me.body["displayName"], "G");
    assert_eq!(me.body["country"], "JP");
    assert_eq!(
        me.body["internalUserID"], internal_id,
        "the echoed internalUserID changed nothing"
    );

    s.post(&path, Some(&token), json!({"country": "Japan"}))
        .await
        .expect_error(400, "INVALID_INPUT_DATA");
    s.post(&path, Some(&token), json!({"errorCode": "x"}))
        .await
        .expect_error(400, "INVALID_INPUT_DATA");
    s.post(&path, Some(&token), json!({"password": "newpass1"}))
        .await
        .expect_error(400, "INVALID_INPUT_DATA");
    s.user("henry", "secret123").await;
    s.post(&path, Some(&token), json!({"loginName": "HENRY"}))
        .await
        .expect_error(409, "USER_ALREADY_EXISTS");
    let (_, other) = s.user("ivan", "secret123").await;
    s.post(&path, Some(&other), json!({"a": 1}))
        .await
        .expect_error(403, "ACCESS_DENIED");
    s.post(&path, None, json!({"a": 1}))
        .await
        .expect_error(401, "UNAUTHORIZED");
    // The failed updates changed nothing.
    assert_eq!(s.get(&path, Some(&token)).await.body["a"], 10);
    // The admin may update anyone.
    let admin = s.admin().await;
    s.post(&path, Some(&admin), json!({"displayName": "By admin"}))
        .await
        .expect_status(200);
    assert_eq!(
        s.get(&path, Some(&token)).await.body["displayName"],
        "By admin"
    );
}

async fn password_change(s: &TestServer) {
    let (id, token) = s.user("judy", "secret123").await;
    let path = format!("/apps/{{app}}/users/{id}/password");
    let put = |body: serde_json::Value, t: String| {
        let path = path.clone();
        async move { s.call(Method::PUT, &path, Some(&t), Some(body)).await }
    };
    put(
        json!({"oldPassword": "wrong", "newPassword": "newpass1"}),
        token.clone(),
    )
    .await
    .expect_error(401, "WRONG_PASSWORD");
    put(
        json!({"oldPassword": "secret123", "newPassword": "abc"}),
        token.clone(),
    )
    .await
    .expect_error(400, "PASSWORD_TOO_SHORT");
    put(json!({"newPassword": "newpass1"}), token.clone())
        .await
        .expect_error(400, "INVALID_INPUT_DATA");
    let r = put(
        json!({"oldPassword": "secret123", "newPassword": "newpass1"}),
        token.clone(),
    )
    .await;
    r.expect_status(204);
    // Every old token is revoked; the new password works, the old one does not.
    s.get("/apps/{app}/users/me", Some(&token))
        .await
        .expect_error(403, "WRONG_TOKEN");
    s.post(
        "/oauth2/token",
        None,
        json!({"username": "judy", "password": "secret123"}),
    )
    .await
    .expect_error(400, "invalid_grant");
    s.login("judy", "newpass1").await;
    // The admin needs no old password.
    let admin = s.admin().await;
    put(json!({"newPassword": "adminset1"}), admin)
        .await
        .expect_status(204);
    s.login("judy", "adminset1").await;
}

async fn delete_user(s: &TestServer) {
    let (id, token) = s.user("kate", "secret123").await;
    let (_, other) = s.user("leo", "secret123").await;
    let path = format!("/apps/{{app}}/users/{id}");
    s.delete(&path, Some(&other))
        .await
        .expect_error(403, "ACCESS_DENIED");
    s.delete(&path, Some(&token)).await.expect_status(204);
    s.post(
        "/oauth2/token",
        None,
        json!({"username": "kate", "password": "secret123"}),
    )
    .await
    .expect_error(400, "invalid_grant");
    s.get("/apps/{app}/users/me", Some(&token))
        .await
        .expect_error(403, "WRONG_TOKEN");
    s.get(&path, Some(&other))
        .await
        .expect_error(404, "USER_NOT_FOUND");
}

async fn pseudo_users(s: &TestServer) {
    let r = s
        .raw(
            Method::POST,
            "/apps/{app}/users",
            None,
            Some("application/vnd.kii.RegistrationAndAuthorizationRequest+json"),
            br#"{"nickname":"anon"}"#.to_vec(),
        )
        .await;
    r.expect_status(201);
    assert_eq!(r.body["_hasPassword"], false);
    assert_eq!(r.body["nickname"], "anon");
    let token = r.body["_accessToken"].as_str().unwrap().to_owned();
    let id = r.body["userID"].as_str().unwrap().to_owned();
    let me = s.get("/apps/{app}/users/me", Some(&token)).await;
    assert_eq!(me.body["userID"], id.as_str());
    // putIdentity: a pseudo user gains a login name and a password by update.
    let path = format!("/apps/{{app}}/users/{id}");
    s.post(&path, Some(&token), json!({"password": "secret123"}))
        .await
        .expect_error(400, "INVALID_INPUT_DATA");
    s.post(
        &path,
        Some(&token),
        json!({"loginName": "mallory", "password": "secret123"}),
    )
    .await
    .expect_status(200);
    s.login("mallory", "secret123").await;
    // Pseudo registration with identifiers is refused.
    let r = s
        .raw(
            Method::POST,
            "/apps/{app}/users",
            None,
            Some("application/vnd.kii.RegistrationAndAuthorizationRequest+json"),
            br#"{"loginName":"x123"}"#.to_vec(),
        )
        .await;
    r.expect_error(400, "INVALID_INPUT_DATA");
}

async fn apps_are_isolated(s: &TestServer) {
    let other = kumo_server::create_app(s.store.as_ref(), "other", &s.site())
        .await
        .unwrap();
    let (id, token) = s.user("nina", "secret123").await;
    let other_path = |p: &str| p.replace("{app}", &other.app_id);
    // A token of one app is worthless in another, and users do not cross.
    s.get(&other_path("/apps/{app}/users/me"), Some(&token))
        .await
        .expect_error(403, "WRONG_TOKEN");
    let r = s
        .client
        .post(s.url("/oauth2/token"))
        .header("x-kii-appid", &other.app_id)
        .json(&json!({"username": "nina", "password": "secret123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = s
        .client
        .post(s.url("/oauth2/token"))
        .header("x-kii-appid", &other.app_id)
        .json(&json!({"client_id": other.client_id, "client_secret": other.client_secret}))
        .send()
        .await
        .unwrap();
    let other_admin = r.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    s.get(
        &other_path(&format!("/apps/{{app}}/users/{id}")),
        Some(&other_admin),
    )
    .await
    .expect_error(404, "USER_NOT_FOUND");
    // The admin of one app is not the admin of another.
    s.get(&format!("/apps/{{app}}/users/{id}"), Some(&other_admin))
        .await
        .expect_error(403, "WRONG_TOKEN");
}

/// Kii's "disabling users" guide and the `…/status` reference: the admin disables and enables;
/// disabling ends the user's tokens and its logins until enabled again; anyone else is 401.
async fn disabling_users(s: &TestServer) {
    let (id, token) = s.user("mallory", "secret123").await;
    let (_, other) = s.user("nina", "secret123").await;
    let admin = s.admin().await;
    let status = format!("/apps/{{app}}/users/{id}/status");

    let r = s.get(&status, Some(&admin)).await;
    r.expect_status(200);
    assert_eq!(r.body, json!({"disabled": false}));
    assert_eq!(
        r.headers["content-type"].to_str().unwrap(),
        "application/vnd.kii.UserStatusRetrievalResponse+json"
    );

    // Only the admin: the user itself and others are 401, as is anonymous.
    for token in [Some(token.as_str()), Some(other.as_str()), None] {
        s.get(&status, token)
            .await
            .expect_error(401, "UNAUTHORIZED");
        s.call(Method::PUT, &status, token, Some(json!({"disabled": true})))
            .await
            .expect_error(401, "UNAUTHORIZED");
    }
    s.call(
        Method::PUT,
        &status,
        Some(&admin),
        Some(json!({"disabled": "yes"})),
    )
    .await
    .expect_error(400, "INVALID_INPUT_DATA");
    s.call(
        Method::PUT,
        "/apps/{app}/users/nobody-here/status",
        Some(&admin),
        Some(json!({"disabled": true})),
    )
    .await
    .expect_error(404, "USER_NOT_FOUND");

    s.call(
        Method::PUT,
        &status,
        Some(&admin),
        Some(json!({"disabled": true})),
    )
    .await
    .expect_status(204);
    let r = s.get(&status, Some(&admin)).await;
    assert_eq!(r.body, json!({"disabled": true}));
    // Its token is gone, and it cannot log in.
    s.get("/apps/{app}/users/me", Some(&token))
        .await
        .expect_error(403, "WRONG_TOKEN");
    s.post(
        "/oauth2/token",
        None,
        json!({"username": "mallory", "password": "secret123"}),
    )
    .await
    .expect_error(401, "USER_DISABLED");
    // The admin still sees it as disabled; enabling lets it log in again.
    let r = s
        .get(&format!("/apps/{{app}}/users/{id}"), Some(&admin))
        .await;
    assert_eq!(r.body["_disabled"], true);
    s.call(
        Method::PUT,
        &status,
        Some(&admin),
        Some(json!({"disabled": false})),
    )
    .await
    .expect_status(204);
    let token = s.login("mallory", "secret123").await;
    s.get("/apps/{app}/users/me", Some(&token))
        .await
        .expect_status(200);
}
