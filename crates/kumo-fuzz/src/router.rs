//! Target `router`: any request body sent to any route that takes one, as anonymous, a user or
//! the app admin. The answer is never a 5xx and never a panic; an error is a Kii body
//! (`errorCode` and `message` strings) and a success carries no `errorCode`.
//!
//! Input layout: byte 0 picks the route, byte 1 the content type, the rest is the body. The
//! server runs in-process over a SQLite scratch database, made once per process.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request};
use axum::Router;
use kumo_server::{create_app, AppCredentials, Config};
use kumo_storage::testing::TestDb;
use serde_json::{json, Value};
use tower::Service;

#[derive(Clone, Copy)]
enum Who {
    Anonymous,
    User,
    /// A second user, whose password the fuzzer may change (that revokes its tokens).
    OtherUser,
    Admin,
}

/// `{app}`, `{user}` and `{group}` are filled in from the fixture.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/oauth2/token"),
    ("POST", "/apps/{app}/oauth2/token"),
    ("POST", "/apps/{app}/users"),
    ("POST", "/apps/{app}/users/{user}"),
    ("PUT", "/apps/{app}/users/{other}/password"),
    ("POST", "/apps/{app}/groups"),
    ("PUT", "/apps/{app}/groups/fuzzgroup1"),
    ("PUT", "/apps/{app}/groups/{group}/name"),
    ("PUT", "/apps/{app}/groups/{group}/owner"),
    ("POST", "/apps/{app}/buckets/fuzz/objects"),
    ("PUT", "/apps/{app}/buckets/fuzz/objects/o1"),
    ("POST", "/apps/{app}/buckets/fuzz/objects/o1"),
    ("PATCH", "/apps/{app}/buckets/fuzz/objects/o1"),
    ("POST", "/apps/{app}/buckets/fuzz/query"),
    ("POST", "/apps/{app}/users/{user}/buckets/mine/objects"),
    ("POST", "/apps/{app}/users/{user}/buckets/mine/query"),
    ("POST", "/apps/{app}/groups/{group}/buckets/shared/query"),
    ("POST", "/apps/{app}/server-code"),
    ("PUT", "/apps/{app}/server-code/versions/current"),
    ("POST", "/apps/{app}/server-code/versions/current/main"),
    ("POST", "/apps/{app}/server-code/versions/current/save"),
    ("POST", "/apps/{app}/things/x/y"),
    ("POST", "/apps/{app}/things"),
    ("PATCH", "/apps/{app}/things/VENDOR_THING_ID:v1"),
    ("PUT", "/apps/{app}/things/x/status"),
    ("POST", "/apps/{app}/things/x/ownership"),
    ("PUT", "/apps/{app}/things/x/password"),
    ("PUT", "/apps/{app}/buckets/fuzz/objects/o1/body"),
    ("POST", "/apps/{app}/buckets/fuzz/objects/o1/body/uploads"),
    (
        "PUT",
        "/apps/{app}/buckets/fuzz/objects/o1/body/uploads/u1/data",
    ),
    ("POST", "/apps/{app}/buckets/fuzz/objects/o1/body/publish"),
];

pub const CONTENT_TYPES: &[Option<&str>] = &[
    Some("application/json"),
    Some("application/vnd.kii.QueryRequest+json"),
    Some("application/vnd.kii.ThingRegistrationAndAuthorizationRequest+json"),
    Some("application/vnd.fuzz.thing+json"),
    Some("text/plain"),
    None,
    Some("multipart/form-data; boundary=b"),
];

/// Who calls each route: the role that gets furthest into it.
fn who(route: usize) -> Who {
    match ROUTES[route].1 {
        "/oauth2/token" | "/apps/{app}/oauth2/token" | "/apps/{app}/users" => Who::Anonymous,
        "/apps/{app}/users/{other}/password" => Who::OtherUser,
        p if p.contains("server-code") && !p.ends_with("/main") && !p.ends_with("/save") => {
            Who::Admin
        }
        "/apps/{app}/groups/{group}/owner" | "/apps/{app}/buckets/fuzz/objects/o1" => Who::Admin,
        _ => Who::User,
    }
}

/// Deployed at start: one endpoint echoes, one writes through the SDK.
const SERVER_CODE: &str = r#"
function main(params, context) { return params; }
function save(params, context, done) {
  var o = context.getAppAdminContext().bucketWithName('fromcode').createObject();
  for (var k in params) { o.set(k, params[k]); }
  o.save({ success: function (x) { done(x.getUUID()); }, failure: function (x, e) { done(String(e)); } });
}
"#;

struct Fixture {
    router: Router,
    app: AppCredentials,
    user_id: String,
    other_id: String,
    group_id: String,
    user_token: String,
    other_token: String,
    admin_token: String,
    _db: TestDb,
}

struct Reply {
    status: u16,
    body: Vec<u8>,
}

async fn send(
    router: &Router,
    app: &AppCredentials,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Reply {
    let mut req = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).expect("method"))
        .uri(format!("/api{path}"))
        .header("x-kii-appid", &app.app_id)
        .header("x-kii-appkey", &app.app_key);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let req = req.body(Body::from(body)).expect("request");
    let res = router.clone().call(req).await.expect("infallible router");
    let status = res.status().as_u16();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .expect("response body")
        .to_vec();
    Reply { status, body }
}

async fn expect_json(reply: Reply, what: &str) -> Value {
    assert!(
        reply.status < 300,
        "{what}: {} {}",
        reply.status,
        String::from_utf8_lossy(&reply.body)
    );
    serde_json::from_slice(&reply.body).unwrap_or(Value::Null)
}

async fn setup() -> Fixture {
    let db = TestDb::sqlite();
    let store = Arc::new(kumo_storage::open(&db.url, 2).await.expect("open store"));
    let mut config = Config {
        hash_parallelism: 1,
        ..Config::default()
    };
    config.server_code.limits.timeout = Duration::from_millis(200);
    let router = kumo_server::router(store.clone(), &config).expect("router");
    let app = create_app(store.as_ref(), "fuzz", "http://127.0.0.1/api")
        .await
        .expect("create app");
    let r = &router;
    let post = |path: &'static str, token: Option<String>, body: Value| {
        let app = app.clone();
        async move {
            let reply = send(
                r,
                &app,
                "POST",
                &path.replace("{app}", &app.app_id),
                token.as_deref(),
                Some("application/json"),
                body.to_string().into_bytes(),
            )
            .await;
            expect_json(reply, path).await
        }
    };
    let mut ids = Vec::new();
    let mut tokens = Vec::new();
    for login in ["fuzzuser", "fuzzother"] {
        let user = post(
            "/apps/{app}/users",
            None,
            json!({"loginName": login, "password": "secret123"}),
        )
        .await;
        ids.push(user["userID"].as_str().expect("userID").to_owned());
        let token = post(
            "/oauth2/token",
            None,
            json!({"username": login, "password": "secret123"}),
        )
        .await;
        tokens.push(token["access_token"].as_str().expect("token").to_owned());
    }
    let admin = post(
        "/oauth2/token",
        None,
        json!({"client_id": app.client_id, "client_secret": app.client_secret}),
    )
    .await;
    let admin_token = admin["access_token"].as_str().expect("token").to_owned();
    let group = post(
        "/apps/{app}/groups",
        Some(tokens[0].clone()),
        json!({"name": "fuzzers", "owner": ids[0]}),
    )
    .await;
    let group_id = group["groupID"].as_str().expect("groupID").to_owned();
    let deploy = |ct: &'static str, body: Vec<u8>, path: &'static str| {
        let (app, token) = (app.clone(), admin_token.clone());
        async move {
            let path = path.replace("{app}", &app.app_id);
            expect_json(
                send(
                    r,
                    &app,
                    if path.ends_with("current") {
                        "PUT"
                    } else {
                        "POST"
                    },
                    &path,
                    Some(&token),
                    Some(ct),
                    body,
                )
                .await,
                "deploy",
            )
            .await
        }
    };
    let version = deploy(
        "application/javascript",
        SERVER_CODE.as_bytes().to_vec(),
        "/apps/{app}/server-code",
    )
    .await;
    let version = version["versionID"].as_str().expect("versionID").to_owned();
    deploy(
        "text/plain",
        version.into_bytes(),
        "/apps/{app}/server-code/versions/current",
    )
    .await;
    Fixture {
        router,
        app,
        user_id: ids.remove(0),
        other_id: ids.remove(0),
        group_id,
        user_token: tokens.remove(0),
        other_token: tokens.remove(0),
        admin_token,
        _db: db,
    }
}

/// The server of every input (made on first use); [`release`] drops it.
static FIXTURE: Mutex<Option<Arc<Fixture>>> = Mutex::new(None);

fn fixture() -> Arc<Fixture> {
    let mut held = FIXTURE.lock().unwrap_or_else(|e| e.into_inner());
    held.get_or_insert_with(|| Arc::new(crate::runtime().block_on(setup())))
        .clone()
}

/// Drops the server and its scratch database once no input runs any more.
pub fn release() {
    let fixture = FIXTURE.lock().unwrap_or_else(|e| e.into_inner()).take();
    drop(fixture);
}

pub fn run(data: &[u8]) {
    let [route, content_type, body @ ..] = data else {
        return;
    };
    let route = *route as usize % ROUTES.len();
    let content_type = CONTENT_TYPES[*content_type as usize % CONTENT_TYPES.len()];
    let (method, path) = ROUTES[route];
    let f = fixture();
    let path = path
        .replace("{app}", &f.app.app_id)
        .replace("{user}", &f.user_id)
        .replace("{other}", &f.other_id)
        .replace("{group}", &f.group_id);
    let token = match who(route) {
        Who::Anonymous => None,
        Who::User => Some(f.user_token.as_str()),
        Who::OtherUser => Some(f.other_token.as_str()),
        Who::Admin => Some(f.admin_token.as_str()),
    };
    let reply = crate::runtime().block_on(send(
        &f.router,
        &f.app,
        method,
        &path,
        token,
        content_type,
        body.to_vec(),
    ));
    if let Err(problem) = check_reply(reply.status, &reply.body) {
        panic!(
            "{problem}: {method} {path} ({content_type:?}) -> {} {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        );
    }
}

/// What a client may get back: never a 5xx; an error is a Kii body with `errorCode` and
/// `message` strings; a success is empty or JSON without `errorCode`.
pub fn check_reply(status: u16, body: &[u8]) -> Result<(), &'static str> {
    if status >= 500 {
        return Err("a server error");
    }
    if body.is_empty() {
        return if status >= 400 {
            Err("an error without a body")
        } else {
            Ok(())
        };
    }
    let answer: Value = serde_json::from_slice(body).map_err(|_| "a body that is not JSON")?;
    if status >= 400 {
        if !(answer["errorCode"].is_string() && answer["message"].is_string()) {
            return Err("an error that is not Kii-shaped");
        }
    } else if answer.get("errorCode").is_some() {
        return Err("a success with errorCode");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_reply;

    #[test]
    fn only_kii_shaped_answers_pass() {
        assert!(check_reply(201, br#"{"userID":"u"}"#).is_ok());
        assert!(check_reply(204, b"").is_ok());
        assert!(check_reply(400, br#"{"errorCode":"INVALID_INPUT_DATA","message":"m"}"#).is_ok());
        assert!(check_reply(500, br#"{"errorCode":"UNDEFINED_ERROR","message":"m"}"#).is_err());
        assert!(check_reply(503, b"").is_err());
        assert!(check_reply(404, b"").is_err());
        assert!(check_reply(400, b"Bad Request").is_err());
        assert!(check_reply(422, br#"{"error":"x"}"#).is_err());
        assert!(check_reply(200, br#"{"errorCode":"X","message":"m"}"#).is_err());
    }
}
