//! Cross-cutting HTTP behaviour: CORS, unknown routes, body limits, and that no malformed
//! request gets anything but a Kii error body.

mod common;

use common::TestServer;
use kumo_server::Config;
use kumo_storage::{Dialect, Storage};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn health_reports_the_backend() {
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let s = TestServer::start(dialect).await;
        let r = s
            .client
            .get(s.site().replace("/api", "/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["status"], "ok");
        assert_eq!(
            body["storage"],
            if dialect == Dialect::Sqlite {
                "sqlite"
            } else {
                "postgres"
            }
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn cors_preflight_and_headers_on_every_response() {
    let s = TestServer::start(Dialect::Sqlite).await;
    let r = s
        .client
        .request(Method::OPTIONS, s.url("/apps/{app}/buckets/b/objects/o1"))
        .header("origin", "http://example.com")
        .header("access-control-request-method", "PUT")
        .header(
            "access-control-request-headers",
            "x-kii-appid, if-match, x-custom",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("PUT"));
    assert_eq!(
        h["access-control-allow-headers"],
        "x-kii-appid, if-match, x-custom"
    );
    // Errors carry CORS headers too, with ETag and the server-code headers exposed.
    let r = s.get("/apps/{app}/users/me", None).await;
    r.expect_error(401, "UNAUTHORIZED");
    assert_eq!(r.headers["access-control-allow-origin"], "*");
    let exposed = r.headers["access-control-expose-headers"].to_str().unwrap();
    for name in ["ETag", "X-Step-count", "X-Environment-version"] {
        assert!(exposed.contains(name), "{exposed}");
    }
    s.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_are_kii_errors() {
    let s = TestServer::start(Dialect::Sqlite).await;
    s.get("/no/such/thing", None)
        .await
        .expect_error(404, "NOT_FOUND");
    let r = s
        .client
        .get(s.site().replace("/api", "/elsewhere"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    s.call(Method::PATCH, "/apps/{app}/users", None, None)
        .await
        .expect_error(405, "METHOD_NOT_ALLOWED");
    s.call(Method::GET, "/oauth2/token", None, None)
        .await
        .expect_error(405, "METHOD_NOT_ALLOWED");
    s.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let config = Config {
        max_body_bytes: 4096,
        ..Config::default()
    };
    let s = TestServer::start_with(Dialect::Sqlite, config).await;
    let big = json!({"loginName": "big", "password": "secret123", "blob": "x".repeat(5000)});
    s.post("/apps/{app}/users", None, big)
        .await
        .expect_error(413, "REQUEST_ENTITY_TOO_LARGE");
    let admin = s.admin().await;
    s.get("/apps/{app}/users/LOGIN_NAME:big", Some(&admin))
        .await
        .expect_error(404, "USER_NOT_FOUND");
    s.stop().await;
}

/// Throws malformed input at every endpoint: each answer must be a 4xx Kii error, and the
/// server must still serve afterwards.
#[tokio::test]
async fn malformed_requests_never_escape_as_anything_but_kii_errors() {
    let s = TestServer::start(Dialect::Sqlite).await;
    let (uid, token) = s.user("fuzz", "secret123").await;
    let r = s
        .post("/apps/{app}/groups", Some(&token), json!({"name": "g"}))
        .await;
    let gid = r.body["groupID"].as_str().unwrap().to_owned();
    let endpoints = [
        (Method::POST, "/oauth2/token".to_owned()),
        (Method::POST, "/apps/{app}/oauth2/token".to_owned()),
        (Method::POST, "/apps/{app}/users".to_owned()),
        (Method::POST, format!("/apps/{{app}}/users/{uid}")),
        (Method::PUT, format!("/apps/{{app}}/users/{uid}/password")),
        (Method::POST, "/apps/{app}/groups".to_owned()),
        (Method::PUT, "/apps/{app}/groups/newgroup".to_owned()),
        (Method::PUT, format!("/apps/{{app}}/groups/{gid}/owner")),
    ];
    // (The rename endpoint takes any text as the new name; its errors are in the groups tests.)
    let bodies: [&[u8]; 9] = [
        b"",
        b"null",
        b"[]",
        b"\"str\"",
        b"{\"a\":",
        b"{\"loginName\":5,\"password\":[],\"name\":{},\"owner\":1,\"members\":{},\"newPassword\":7}",
        b"\xff\xfe\x00garbage",
        b"{\"username\":null,\"password\":null,\"client_id\":null,\"expiresAt\":\"soon\"}",
        b"{\"name\":\"\\u0000\",\"loginName\":\"\\ud800\"}",
    ];
    for (method, path) in &endpoints {
        for body in bodies {
            let r = s
                .raw(
                    method.clone(),
                    path,
                    Some(&token),
                    Some("application/json"),
                    body.to_vec(),
                )
                .await;
            let status = r.status.as_u16();
            assert!(
                (400..500).contains(&status) && r.body["errorCode"].is_string(),
                "{method} {path} with {:?} gave {status} {}",
                String::from_utf8_lossy(body),
                r.body
            );
        }
    }
    // Odd paths and headers.
    s.get("/apps/{app}/users/%ff%fe", Some(&token)).await;
    let r = s
        .client
        .get(s.url("/apps/{app}/users/me"))
        .header("authorization", "Bearer ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = s
        .client
        .get(s.url("/apps/{app}/users/me"))
        .header("authorization", "Basic !!!")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    s.get("/apps/{app}/users/me", Some(&token))
        .await
        .expect_status(200);
    s.stop().await;
}

/// When the database goes away, clients get 503 with `Retry-After` (never a 4xx), and
/// `/health` says so.
#[tokio::test]
async fn storage_outage_is_a_5xx_not_a_client_error() {
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let s = TestServer::start(dialect).await;
        let (_, token) = s.user("outage", "secret123").await;
        s.store.close().await;
        let r = s.get("/apps/{app}/users/me", Some(&token)).await;
        r.expect_error(503, "TEMPORARY_UNAVAILABLE_ERROR");
        assert_eq!(r.headers["retry-after"], "1");
        let r = s
            .post(
                "/oauth2/token",
                None,
                json!({"username": "outage", "password": "secret123"}),
            )
            .await;
        assert_eq!(r.status.as_u16(), 503, "{}", r.body);
        let r = s
            .client
            .get(s.site().replace("/api", "/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503);
        s.stop().await;
    }
}
