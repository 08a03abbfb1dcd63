//! What Kii's REST reference prints around a body, on SQLite and PostgreSQL: the vendor media
//! type of each answer (success and error), `Location` on creations, `Last-Modified` on
//! objects, the fields each error carries, the documented statuses of group changes, and the
//! anonymous token.

mod common;

use common::{Reply, TestServer};
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    success_media_types_follow_the_reference,
    objects_carry_their_type_location_and_last_modified,
    errors_carry_their_exception_type_and_fields,
    group_changes_answer_the_documented_statuses,
    anonymous_tokens_act_as_the_anonymous_user,
    phone_logins_take_the_documented_forms,
    refresh_tokens_renew_expiring_user_tokens,
);

fn media_type(r: &Reply) -> &str {
    r.headers["content-type"].to_str().unwrap()
}

fn header<'a>(r: &'a Reply, name: &str) -> &'a str {
    r.headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

fn kii(name: &str) -> String {
    format!("application/vnd.kii.{name}+json")
}

async fn success_media_types_follow_the_reference(s: &TestServer) {
    let r = s
        .post(
            "/apps/{app}/users",
            None,
            json!({"loginName": "alice", "password": "secret123"}),
        )
        .await;
    assert_eq!(
        media_type(r.expect_status(201)),
        kii("RegistrationResponse")
    );
    let alice = r.body["userID"].as_str().unwrap().to_owned();
    let ta = s.login("alice", "secret123").await;
    let (bob, _) = s.user("bob", "secret123").await;

    let me = s.get("/apps/{app}/users/me", Some(&ta)).await;
    assert_eq!(
        media_type(me.expect_status(200)),
        kii("UserDataRetrievalResponse")
    );
    // The update's answer is typed the same way (the "modifying custom fields" guide).
    let r = s
        .post("/apps/{app}/users/me", Some(&ta), json!({"age": 28}))
        .await;
    assert_eq!(
        media_type(r.expect_status(200)),
        kii("UserDataRetrievalResponse")
    );

    let r = s
        .post(
            "/apps/{app}/groups",
            Some(&ta),
            json!({"name": "team", "owner": alice, "members": [bob]}),
        )
        .await;
    r.expect_status(201);
    assert_eq!(media_type(&r), kii("GroupCreationResponse"));
    let gid = r.body["groupID"].as_str().unwrap().to_owned();
    let app = &s.app.app_id;
    assert_eq!(
        header(&r, "location"),
        format!("/api/apps/{app}/groups/{gid}")
    );
    // PUT with a chosen ID answers the same way.
    let r = s
        .call(
            Method::PUT,
            "/apps/{app}/groups/my-team",
            Some(&ta),
            Some(json!({"name": "mine"})),
        )
        .await;
    r.expect_status(201);
    assert_eq!(media_type(&r), kii("GroupCreationResponse"));
    assert_eq!(
        header(&r, "location"),
        format!("/api/apps/{app}/groups/my-team")
    );

    let g = format!("/apps/{{app}}/groups/{gid}");
    let r = s.get(&g, Some(&ta)).await;
    assert_eq!(
        media_type(r.expect_status(200)),
        kii("GroupRetrievalResponse")
    );
    let r = s.get(&format!("{g}/members"), Some(&ta)).await;
    assert_eq!(
        media_type(r.expect_status(200)),
        kii("MembersRetrievalResponse")
    );
    let r = s
        .get(&format!("/apps/{{app}}/groups?owner={alice}"), Some(&ta))
        .await;
    assert_eq!(
        media_type(r.expect_status(200)),
        kii("GroupsRetrievalResponse")
    );

    let r = s.get("/apps/{app}/users/me/acl", Some(&ta)).await;
    assert_eq!(
        media_type(r.expect_status(200)),
        kii("ACLRetrievalResponse")
    );
    s.post(
        "/apps/{app}/users/me/buckets/b1/objects",
        Some(&ta),
        json!({"n": 1}),
    )
    .await
    .expect_status(201);
    for body in [
        json!({"bucketQuery": {"clause": {"type": "all"}}}),
        json!({"bucketQuery": {"clause": {"type": "all"},
            "aggregations": [{"type": "COUNT", "putAggregationInto": "c"}]}}),
    ] {
        let r = s
            .post("/apps/{app}/users/me/buckets/b1/query", Some(&ta), body)
            .await;
        assert_eq!(media_type(r.expect_status(200)), kii("QueryResponse"));
    }
    // Token grants stay plain JSON, as the sign-in guide shows.
    let r = s
        .post(
            "/oauth2/token",
            None,
            json!({"username": "alice", "password": "secret123"}),
        )
        .await;
    assert_eq!(media_type(r.expect_status(200)), "application/json");
    assert_eq!(r.body["token_type"], "bearer");
}

async fn objects_carry_their_type_location_and_last_modified(s: &TestServer) {
    let (alice, ta) = s.user("alice", "secret123").await;
    let app = s.app.app_id.clone();
    let typed = format!("application/vnd.{app}.mydata+json");
    let r = s
        .raw(
            Method::POST,
            "/apps/{app}/users/me/buckets/scores/objects",
            Some(&ta),
            Some(&typed),
            br#"{"score": 1800}"#.to_vec(),
        )
        .await;
    r.expect_status(201);
    assert_eq!(media_type(&r), kii("ObjectCreationResponse"));
    let id = r.body["objectID"].as_str().unwrap().to_owned();
    // The object's URI, with `me` already the user's ID.
    let uri = format!("/apps/{app}/users/{alice}/buckets/scores/objects/{id}");
    assert_eq!(header(&r, "location"), format!("/api{uri}"));

    let r = s.get(&uri, Some(&ta)).await;
    r.expect_status(200);
    assert_eq!(media_type(&r), typed);
    assert_eq!(header(&r, "etag"), "\"1\"");
    let modified = r.body["_modified"].as_i64().unwrap();
    let last_modified = header(&r, "last-modified");
    assert!(last_modified.ends_with(" GMT"), "{last_modified}");
    // Whole seconds of the object's modification time, in HTTP's date form.
    let secs = modified / 1000;
    let clock = format!(
        "{:02}:{:02}:{:02} GMT",
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60
    );
    assert!(
        last_modified.ends_with(&clock),
        "{last_modified} vs {clock}"
    );

    // An object without a data type is plain JSON.
    let r = s
        .post(
            "/apps/{app}/buckets/open/objects",
            Some(&ta),
            json!({"n": 1}),
        )
        .await;
    let plain = r.expect_status(201).body["objectID"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        header(&r, "location"),
        format!("/api/apps/{app}/buckets/open/objects/{plain}")
    );
    let r = s
        .get(
            &format!("/apps/{{app}}/buckets/open/objects/{plain}"),
            Some(&ta),
        )
        .await;
    assert_eq!(media_type(r.expect_status(200)), "application/json");
    assert!(r.headers.contains_key("last-modified"));

    // Updates answer ObjectUpdateResponse; a PUT that creates also names the new URI.
    let r = s
        .call(Method::PUT, &uri, Some(&ta), Some(json!({"score": 1})))
        .await;
    assert_eq!(
        media_type(r.expect_status(200)),
        kii("ObjectUpdateResponse")
    );
    assert!(!r.headers.contains_key("location"));
    let chosen = "/apps/{app}/groups/none/buckets/xx/objects/obj-1";
    s.call(Method::PUT, chosen, Some(&ta), Some(json!({})))
        .await
        .expect_error(404, "GROUP_NOT_FOUND");
    let chosen = "/apps/{app}/users/me/buckets/scores/objects/obj-1";
    let r = s
        .call(Method::PUT, chosen, Some(&ta), Some(json!({"score": 2})))
        .await;
    assert_eq!(
        media_type(r.expect_status(201)),
        kii("ObjectUpdateResponse")
    );
    assert_eq!(
        header(&r, "location"),
        format!("/api/apps/{app}/users/{alice}/buckets/scores/objects/obj-1")
    );
    let r = s
        .get("/apps/{app}/users/me/buckets/scores", Some(&ta))
        .await;
    assert_eq!(
        media_type(r.expect_status(200)),
        kii("BucketRetrievalResponse")
    );
}

async fn errors_carry_their_exception_type_and_fields(s: &TestServer) {
    let (alice, ta) = s.user("alice", "secret123").await;
    let app = s.app.app_id.clone();

    // USER_NOT_FOUND names the field it looked in, the value and the app.
    let r = s.get("/apps/{app}/users/nobody-here", Some(&ta)).await;
    r.expect_error(404, "USER_NOT_FOUND");
    assert_eq!(media_type(&r), kii("UserNotFoundException"));
    assert_eq!(r.body["field"], "userID");
    assert_eq!(r.body["value"], "nobody-here");
    assert_eq!(r.body["appID"], app.as_str());
    let r = s
        .get("/apps/{app}/users/EMAIL:ghost@example.com", Some(&ta))
        .await;
    r.expect_error(404, "USER_NOT_FOUND");
    assert_eq!(r.body["field"], "emailAddress");
    assert_eq!(r.body["value"], "ghost@example.com");
    let r = s
        .get(
            "/apps/{app}/users/LOGIN_NAME:ghost/buckets/b/objects/o",
            Some(&ta),
        )
        .await;
    assert_eq!(
        r.expect_error(404, "USER_NOT_FOUND").body["field"],
        "loginName"
    );

    // OBJECT_NOT_FOUND and BUCKET_NOT_FOUND name the scope, the bucket and the object.
    s.post(
        "/apps/{app}/users/me/buckets/b1/objects",
        Some(&ta),
        json!({"n": 1}),
    )
    .await
    .expect_status(201);
    let r = s
        .get("/apps/{app}/users/me/buckets/b1/objects/nope", Some(&ta))
        .await;
    r.expect_error(404, "OBJECT_NOT_FOUND");
    assert_eq!(media_type(&r), kii("ObjectNotFoundException"));
    assert_eq!(
        r.body["objectScope"],
        json!({"appID": app, "type": "APP_AND_USER", "userID": alice})
    );
    assert_eq!(r.body["bucketID"], "b1");
    assert_eq!(r.body["objectID"], "nope");
    let r = s.get("/apps/{app}/buckets/none", Some(&ta)).await;
    r.expect_error(404, "BUCKET_NOT_FOUND");
    assert_eq!(r.body["objectScope"], json!({"appID": app, "type": "APP"}));
    assert_eq!(r.body["bucketID"], "none");
    assert!(r.body.get("objectID").is_none());

    // GROUP_NOT_FOUND and GROUP_ALREADY_EXISTS name the group and the app.
    let r = s.get("/apps/{app}/groups/no-such", Some(&ta)).await;
    r.expect_error(404, "GROUP_NOT_FOUND");
    assert_eq!(media_type(&r), kii("GroupNotFoundException"));
    assert_eq!(r.body["groupID"], "no-such");
    assert_eq!(r.body["appID"], app.as_str());
    let twice = || {
        s.call(
            Method::PUT,
            "/apps/{app}/groups/twice",
            Some(&ta),
            Some(json!({"name": "g"})),
        )
    };
    twice().await.expect_status(201);
    let r = twice().await;
    r.expect_error(409, "GROUP_ALREADY_EXISTS");
    assert_eq!(media_type(&r), kii("GroupAlreadyExistsException"));
    assert_eq!(r.body["groupID"], "twice");
    assert_eq!(r.body["appID"], app.as_str());

    // Password changes: PASSWORD_TOO_SHORT with the minimum, WRONG_PASSWORD naming the user.
    let pw = "/apps/{app}/users/me/password";
    let r = s
        .call(
            Method::PUT,
            pw,
            Some(&ta),
            Some(json!({"oldPassword": "secret123", "newPassword": "abc"})),
        )
        .await;
    r.expect_error(400, "PASSWORD_TOO_SHORT");
    assert_eq!(media_type(&r), kii("PasswordTooShortException"));
    assert_eq!(r.body["minimumLength"], 4);
    let r = s
        .call(
            Method::PUT,
            pw,
            Some(&ta),
            Some(json!({"oldPassword": "wrong-one", "newPassword": "abcdefg"})),
        )
        .await;
    r.expect_error(401, "WRONG_PASSWORD");
    assert_eq!(media_type(&r), kii("WrongPasswordException"));
    assert_eq!(r.body["appID"], app.as_str());
    assert_eq!(r.body["principalID"], alice.as_str());
    assert_eq!(r.body["address"], "alice");

    // UNAUTHORIZED names who the request was authenticated as.
    let r = s.get("/apps/{app}/users/me", None).await;
    r.expect_error(401, "UNAUTHORIZED");
    assert_eq!(media_type(&r), kii("UnauthorizedAccessException"));
    assert_eq!(r.body["authenticatedAppID"], app.as_str());

    // Validation errors are Kii's ValidationException; codes Kii's pages give no class keep
    // plain JSON.
    let r = s.post("/apps/{app}/groups", Some(&ta), json!({})).await;
    r.expect_error(400, "INVALID_INPUT_DATA");
    assert_eq!(media_type(&r), kii("ValidationException"));
    let r = s
        .post(
            "/oauth2/token",
            None,
            json!({"username": "alice", "password": "nope-nope"}),
        )
        .await;
    assert_eq!(
        media_type(r.expect_error(400, "invalid_grant")),
        "application/json"
    );
}

async fn group_changes_answer_the_documented_statuses(s: &TestServer) {
    let (alice, ta) = s.user("alice", "secret123").await;
    let (bob, tb) = s.user("bob", "secret123").await;
    let (carol, tc) = s.user("carol", "secret123").await;
    let app = s.app.app_id.clone();
    let r = s
        .post(
            "/apps/{app}/groups",
            Some(&ta),
            json!({"name": "team", "owner": alice, "members": [bob]}),
        )
        .await;
    let gid = r.expect_status(201).body["groupID"]
        .as_str()
        .unwrap()
        .to_owned();
    let g = |p: &str| format!("/apps/{{app}}/groups/{gid}{p}");

    // Anyone but the owner and the admin changing the group: 401 UNAUTHORIZED, naming the
    // caller, for a member and a non-member alike.
    for (who, token) in [(&bob, &tb), (&carol, &tc)] {
        let r = s
            .raw(
                Method::PUT,
                &g("/name"),
                Some(token),
                Some("text/plain"),
                b"hijacked".to_vec(),
            )
            .await;
        r.expect_error(401, "UNAUTHORIZED");
        assert_eq!(r.body["authenticatedAppID"], app.as_str());
        assert_eq!(r.body["authenticatedPrincipalID"], who.as_str());
        s.call(
            Method::PUT,
            &g(&format!("/members/{carol}")),
            Some(token),
            None,
        )
        .await
        .expect_error(401, "UNAUTHORIZED");
        s.call(
            Method::PUT,
            &g("/owner"),
            Some(token),
            Some(json!({"owner": who})),
        )
        .await
        .expect_error(401, "UNAUTHORIZED");
    }
    assert_eq!(s.get(&g(""), Some(&ta)).await.body["name"], "team");
    // Any logged-in user may check the members.
    s.get(&g("/members"), Some(&tc)).await.expect_status(200);

    // Creating a group for an owner who does not exist is USER_NOT_FOUND, for users and the
    // admin.
    let r = s
        .post(
            "/apps/{app}/groups",
            Some(&ta),
            json!({"name": "x", "owner": "ghost"}),
        )
        .await;
    r.expect_error(404, "USER_NOT_FOUND");
    assert_eq!(r.body["value"], "ghost");
    let admin = s.admin().await;
    let r = s
        .post(
            "/apps/{app}/groups",
            Some(&admin),
            json!({"name": "x", "owner": "ghost"}),
        )
        .await;
    r.expect_error(404, "USER_NOT_FOUND");
    assert_eq!(r.body["field"], "userID");
    assert_eq!(r.body["value"], "ghost");
    // The admin asking for the groups of a user who is not there.
    s.get("/apps/{app}/groups?is_member=ghost", Some(&admin))
        .await
        .expect_error(404, "USER_NOT_FOUND");

    // The owner change answers 200 with no content.
    let r = s
        .call(
            Method::PUT,
            &g("/owner"),
            Some(&ta),
            Some(json!({"owner": carol})),
        )
        .await;
    r.expect_status(200);
    assert!(r.body.is_null(), "{}", r.body);
    assert_eq!(s.get(&g(""), Some(&tc)).await.body["owner"], carol.as_str());
}

async fn anonymous_tokens_act_as_the_anonymous_user(s: &TestServer) {
    let (_, ta) = s.user("alice", "secret123").await;
    // Kii's anonymous guide: the app ID as client ID and any secret.
    let r = s
        .post(
            "/apps/{app}/oauth2/token",
            None,
            json!({"grant_type": "client_credentials", "client_id": s.app.app_id,
                   "client_secret": "anything"}),
        )
        .await;
    r.expect_status(200);
    assert!(r.body.get("id").is_none(), "{}", r.body);
    assert_eq!(r.body["token_type"], "bearer");
    assert_eq!(r.body["expires_in"], 2_147_483_647_i64);
    let anon = r.body["access_token"].as_str().unwrap().to_owned();

    // It reads what ANONYMOUS_USER may read, and nothing a user token would open.
    let o = s
        .post(
            "/apps/{app}/users/me/buckets/pub/objects",
            Some(&ta),
            json!({"n": 1}),
        )
        .await;
    let id = o.expect_status(201).body["objectID"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = header(&o, "location").trim_start_matches("/api").to_owned();
    // Anonymous callers the ACL refuses are asked to log in, as with no token at all.
    s.get(&path, Some(&anon))
        .await
        .expect_error(401, "UNAUTHORIZED");
    s.call(
        Method::PUT,
        &format!("{path}/acl/READ_EXISTING_OBJECT/UserID:ANONYMOUS_USER"),
        Some(&ta),
        None,
    )
    .await
    .expect_status(204);
    assert_eq!(
        s.get(&path, Some(&anon)).await.expect_status(200).body["_id"],
        id.as_str()
    );
    s.get("/apps/{app}/users/me", Some(&anon))
        .await
        .expect_error(401, "UNAUTHORIZED");
    s.post("/apps/{app}/groups", Some(&anon), json!({"name": "g"}))
        .await
        .expect_error(401, "UNAUTHORIZED");

    // With an expiry, expires_in counts down to it.
    let r = s
        .post(
            "/oauth2/token",
            None,
            json!({"client_id": s.app.app_id, "client_secret": "x",
                   "expiresAt": kumo_types::now_ms() + 3_600_000}),
        )
        .await;
    let expires_in = r.expect_status(200).body["expires_in"].as_i64().unwrap();
    assert!((3000..=3600).contains(&expires_in), "{expires_in}");
    // An anonymous token names its app: another app refuses it.
    let other = kumo_server::create_app(s.store.as_ref(), "other", &s.site())
        .await
        .unwrap();
    let r = s
        .client
        .get(format!("{}/apps/{}/users/me", s.site(), other.app_id))
        .bearer_auth(&anon)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // A wrong client ID is still refused.
    s.post(
        "/oauth2/token",
        None,
        json!({"client_id": "not-this-app", "client_secret": "x"}),
    )
    .await
    .expect_error(400, "invalid_grant");
}

async fn phone_logins_take_the_documented_forms(s: &TestServer) {
    let intl = s
        .post(
            "/apps/{app}/users",
            None,
            json!({"phoneNumber": "+819012341234", "password": "secret123"}),
        )
        .await;
    let intl = intl.expect_status(201).body["userID"]
        .as_str()
        .unwrap()
        .to_owned();
    let local = s
        .post(
            "/apps/{app}/users",
            None,
            json!({"phoneNumber": "0312345678", "country": "GB", "password": "secret123"}),
        )
        .await;
    let local = local.expect_status(201).body["userID"]
        .as_str()
        .unwrap()
        .to_owned();
    let login = |name: &str| {
        s.post(
            "/apps/{app}/oauth2/token",
            None,
            json!({"grant_type": "password", "username": name, "password": "secret123"}),
        )
    };
    // The sign-in guide's forms: international, PHONE:+…, PHONE:{country}-{local}.
    for name in [
        "+819012341234",
        "PHONE:+819012341234",
        "PHONE:JP-9012341234",
        "PHONE:JP-09012341234",
    ] {
        let r = login(name).await;
        assert_eq!(r.expect_status(200).body["id"], intl.as_str(), "{name}");
    }
    // A local number registered with its country, asked for with that country only.
    assert_eq!(
        login("PHONE:GB-0312345678").await.expect_status(200).body["id"],
        local.as_str()
    );
    login("PHONE:US-0312345678")
        .await
        .expect_error(400, "invalid_grant");
}

async fn refresh_tokens_renew_expiring_user_tokens(s: &TestServer) {
    let (alice, _) = s.user("alice", "secret123").await;
    let hour = || kumo_types::now_ms() + 3_600_000;
    let login = |expires_at: Option<i64>| {
        let mut body = json!({"grant_type": "password", "username": "alice",
                              "password": "secret123"});
        if let Some(t) = expires_at {
            body["expiresAt"] = t.into();
        }
        s.post("/apps/{app}/oauth2/token", None, body)
    };
    // A token that never expires needs no renewal: no refresh token.
    let r = login(None).await;
    assert!(r.expect_status(200).body.get("refresh_token").is_none());
    let r = login(Some(hour())).await;
    r.expect_status(200);
    let first = r.body["access_token"].as_str().unwrap().to_owned();
    let refresh = r.body["refresh_token"].as_str().unwrap().to_owned();

    let renew = |token: &str| {
        s.post(
            "/apps/{app}/oauth2/token",
            None,
            json!({"grant_type": "refresh_token", "refresh_token": token}),
        )
    };
    let r = renew(&refresh).await;
    r.expect_status(200);
    assert_eq!(r.body["id"], alice.as_str());
    assert_eq!(r.body["token_type"], "bearer");
    let expires_in = r.body["expires_in"].as_i64().unwrap();
    assert!((3000..=3600).contains(&expires_in), "{expires_in}");
    let second = r.body["access_token"].as_str().unwrap().to_owned();
    let refresh2 = r.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(refresh2, refresh);
    // The new token works, the old one no longer, and a refresh token works once.
    s.get("/apps/{app}/users/me", Some(&second))
        .await
        .expect_status(200);
    s.get("/apps/{app}/users/me", Some(&first))
        .await
        .expect_error(403, "WRONG_TOKEN");
    renew(&refresh).await.expect_error(400, "invalid_grant");
    renew("").await.expect_error(400, "invalid_grant");
    s.post(
        "/apps/{app}/oauth2/token",
        None,
        json!({"grant_type": "refresh_token"}),
    )
    .await
    .expect_error(400, "INVALID_INPUT_DATA");

    // A password change revokes refresh tokens with the access tokens.
    s.call(
        Method::PUT,
        "/apps/{app}/users/me/password",
        Some(&second),
        Some(json!({"oldPassword": "secret123", "newPassword": "secret456"})),
    )
    .await
    .expect_status(204);
    renew(&refresh2).await.expect_error(400, "invalid_grant");

    // Admin and anonymous tokens come without one.
    let r = s
        .post(
            "/oauth2/token",
            None,
            json!({"client_id": s.app.client_id, "client_secret": s.app.client_secret,
                   "expiresAt": hour()}),
        )
        .await;
    assert!(r.expect_status(200).body.get("refresh_token").is_none());
}
