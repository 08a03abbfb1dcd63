//! Object bodies over REST on both backends: whole and piecewise uploads, ranged downloads,
//! HEAD, deletion, publication, ACLs, limits and every refusal; a body written through one
//! node read through another (PostgreSQL); the in-sandbox SDK's refusal.

mod common;

use common::TestServer;
use kumo_server::Config;
use kumo_storage::Dialect;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Raw {
    status: u16,
    headers: HeaderMap,
    bytes: Vec<u8>,
}

impl Raw {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or_else(|_| {
            panic!(
                "{}: not JSON: {}",
                self.status,
                String::from_utf8_lossy(&self.bytes)
            )
        })
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// A Kii error with this status and code.
    fn error(&self, status: u16, code: &str) -> &Self {
        assert_eq!(
            self.status,
            status,
            "body: {}",
            String::from_utf8_lossy(&self.bytes)
        );
        let body = self.json();
        assert_eq!(body["errorCode"], code, "body: {body}");
        assert!(body["message"].is_string(), "body: {body}");
        self
    }

    fn status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status,
            status,
            "body: {}",
            String::from_utf8_lossy(&self.bytes)
        );
        self
    }
}

async fn send_to(
    s: &TestServer,
    app_id: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Raw {
    let url = format!("{}{}", s.site(), path.replace("{app}", app_id));
    let mut req = s.client.request(method, url);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.body(body).send().await.expect("request");
    Raw {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        bytes: res.bytes().await.expect("body").to_vec(),
    }
}

async fn send(
    s: &TestServer,
    method: Method,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Raw {
    send_to(s, &s.app.app_id, method, path, token, headers, body).await
}

/// Bytes that differ at every offset near a chunk boundary (so a misplaced chunk shows).
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + i / 251) as u8).wrapping_add(seed))
        .collect()
}

/// Creates an object in `bucket` (a path under `/apps/{app}`) and returns its path.
async fn object(s: &TestServer, token: &str, bucket: &str) -> String {
    let r = s
        .post(
            &format!("/apps/{{app}}{bucket}/objects"),
            Some(token),
            json!({"k": 1}),
        )
        .await;
    r.expect_status(201);
    format!(
        "/apps/{{app}}{bucket}/objects/{}",
        r.body["objectID"].as_str().unwrap()
    )
}

async fn put_body(s: &TestServer, obj: &str, token: &str, ct: &str, data: Vec<u8>) -> Raw {
    send(
        s,
        Method::PUT,
        &format!("{obj}/body"),
        Some(token),
        &[("content-type", ct)],
        data,
    )
    .await
}

async fn get_body(s: &TestServer, obj: &str, token: Option<&str>, range: Option<&str>) -> Raw {
    let headers: Vec<(&str, &str)> = range.map(|r| ("range", r)).into_iter().collect();
    send(
        s,
        Method::GET,
        &format!("{obj}/body"),
        token,
        &headers,
        vec![],
    )
    .await
}

const MIB: usize = 1024 * 1024;

async fn whole_body_round_trip(s: &TestServer) {
    let (_, alice) = s.user("alice", "password1").await;
    let obj = object(s, &alice, "/buckets/photos").await;
    // Absent before any upload.
    get_body(s, &obj, Some(&alice), None)
        .await
        .error(404, "OBJECT_BODY_NOT_FOUND");
    send(
        s,
        Method::HEAD,
        &format!("{obj}/body"),
        Some(&alice),
        &[],
        vec![],
    )
    .await
    .status(404);

    let data = pattern(2 * MIB + 12_345, 7);
    let r = put_body(s, &obj, &alice, "image/png", data.clone()).await;
    r.status(200);
    assert!(r.json()["modifiedAt"].as_i64().unwrap() > 0);
    let etag = r.header("etag").unwrap().to_owned();

    let g = get_body(s, &obj, Some(&alice), None).await;
    g.status(200);
    assert_eq!(g.header("content-type"), Some("image/png"));
    assert_eq!(g.header("etag"), Some(etag.as_str()));
    assert_eq!(g.header("accept-ranges"), Some("bytes"));
    assert!(g.header("last-modified").is_some());
    assert_eq!(g.bytes.len(), data.len());
    assert!(g.bytes == data, "the body comes back byte for byte");

    let h = send(
        s,
        Method::HEAD,
        &format!("{obj}/body"),
        Some(&alice),
        &[],
        vec![],
    )
    .await;
    h.status(204);
    assert_eq!(h.header("content-type"), Some("image/png"));
    assert_eq!(h.header("etag"), Some(etag.as_str()));

    // Ranges, one across a chunk boundary.
    let r = get_body(s, &obj, Some(&alice), Some("bytes=1048570-1048589")).await;
    r.status(206);
    assert_eq!(r.bytes, &data[MIB - 6..MIB + 14]);
    assert_eq!(
        r.header("content-range").unwrap(),
        format!("bytes 1048570-1048589/{}", data.len())
    );
    let r = get_body(s, &obj, Some(&alice), Some("bytes=-10")).await;
    r.status(206);
    assert_eq!(r.bytes, &data[data.len() - 10..]);
    let r = get_body(s, &obj, Some(&alice), Some("bytes=2097150-")).await;
    r.status(206);
    assert_eq!(r.bytes, &data[2 * MIB - 2..]);
    let r = get_body(s, &obj, Some(&alice), Some("bytes=5-999999999")).await;
    r.status(206);
    assert_eq!(r.bytes, &data[5..]);
    for bad in [
        "bytes=999999999-",
        "bytes=10-5",
        "bytes=0-1,5-6",
        "items=0-5",
        "bytes=-0",
        "bytes=x-y",
    ] {
        let r = get_body(s, &obj, Some(&alice), Some(bad)).await;
        r.error(416, "OBJECT_BODY_RANGE_NOT_SATISFIABLE");
        assert_eq!(
            r.header("content-range").unwrap(),
            format!("bytes */{}", data.len()),
            "{bad}"
        );
    }

    // A new upload replaces the body (type included) and its entity tag.
    let r = put_body(
        s,
        &obj,
        &alice,
        "text/plain; charset=utf-8",
        b"hello".to_vec(),
    )
    .await;
    r.status(200);
    assert_ne!(r.header("etag"), Some(etag.as_str()));
    let g = get_body(s, &obj, Some(&alice), None).await;
    assert_eq!(g.bytes, b"hello");
    assert_eq!(g.header("content-type"), Some("text/plain; charset=utf-8"));

    // An empty body is a body.
    put_body(s, &obj, &alice, "application/octet-stream", vec![])
        .await
        .status(200);
    let g = get_body(s, &obj, Some(&alice), None).await;
    g.status(200);
    assert!(g.bytes.is_empty());
    get_body(s, &obj, Some(&alice), Some("bytes=0-0"))
        .await
        .error(416, "OBJECT_BODY_RANGE_NOT_SATISFIABLE");

    // Deleted, then gone; deleting again is refused.
    send(
        s,
        Method::DELETE,
        &format!("{obj}/body"),
        Some(&alice),
        &[],
        vec![],
    )
    .await
    .status(204);
    get_body(s, &obj, Some(&alice), None)
        .await
        .error(404, "OBJECT_BODY_NOT_FOUND");
    send(
        s,
        Method::DELETE,
        &format!("{obj}/body"),
        Some(&alice),
        &[],
        vec![],
    )
    .await
    .error(404, "OBJECT_BODY_NOT_FOUND");
    // The object itself is untouched.
    s.get(&obj, Some(&alice)).await.expect_status(200);
}

async fn bad_requests(s: &TestServer) {
    let (_, alice) = s.user("alice", "password1").await;
    let (_, bob) = s.user("bob", "password1").await;
    let obj = object(s, &alice, "/buckets/photos").await;
    put_body(s, &obj, &alice, "text/plain", b"first".to_vec())
        .await
        .status(200);

    // Missing and malformed content types.
    send(
        s,
        Method::PUT,
        &format!("{obj}/body"),
        Some(&alice),
        &[],
        b"x".to_vec(),
    )
    .await
    .error(400, "INVALID_INPUT_DATA");
    for ct in ["nonsense", "text/", "/plain", "a b/c"] {
        put_body(s, &obj, &alice, ct, b"x".to_vec())
            .await
            .error(400, "INVALID_INPUT_DATA");
    }
    // A missing object or bucket.
    let missing = "/apps/{app}/buckets/photos/objects/no-such-object";
    let r = put_body(s, missing, &alice, "text/plain", b"x".to_vec()).await;
    r.error(404, "OBJECT_NOT_FOUND");
    assert_eq!(r.json()["objectID"], "no-such-object");
    get_body(s, missing, Some(&alice), None)
        .await
        .error(404, "OBJECT_NOT_FOUND");
    get_body(
        s,
        "/apps/{app}/buckets/nobucket/objects/x1",
        Some(&alice),
        None,
    )
    .await
    .error(404, "OBJECT_NOT_FOUND");
    // Bob may read Alice's app-scope object (the bucket lets anyone read) and, by the app
    // scope's default object ACL, write it; a user-scope body is Alice's alone.
    get_body(s, &obj, Some(&bob), None).await.status(200);
    get_body(s, &obj, None, None).await.status(200);
    put_body(s, &obj, "not-a-token", "text/plain", b"x".to_vec())
        .await
        .error(403, "WRONG_TOKEN");
    let private = object(s, &alice, "/users/me/buckets/diary").await;
    put_body(s, &private, &alice, "text/plain", b"secret".to_vec())
        .await
        .status(200);
    let bobs_view = private.replace(
        "/users/me/",
        &format!("/users/{}/", alice_id(s, &alice).await),
    );
    get_body(s, &bobs_view, Some(&bob), None)
        .await
        .error(403, "ACCESS_DENIED");
    get_body(s, &bobs_view, None, None)
        .await
        .error(401, "UNAUTHORIZED");
    put_body(s, &bobs_view, &bob, "text/plain", b"mine".to_vec())
        .await
        .error(403, "ACCESS_DENIED");
    send(
        s,
        Method::DELETE,
        &format!("{bobs_view}/body"),
        Some(&bob),
        &[],
        vec![],
    )
    .await
    .error(403, "ACCESS_DENIED");
    send(
        s,
        Method::POST,
        &format!("{bobs_view}/body/publish"),
        Some(&bob),
        &[(
            "content-type",
            "application/vnd.kii.ObjectBodyPublicationRequest+json",
        )],
        b"{}".to_vec(),
    )
    .await
    .error(403, "ACCESS_DENIED");
    assert_eq!(
        get_body(s, &private, Some(&alice), None).await.bytes,
        b"secret"
    );

    // Another app: its token opens nothing here, and this app's object is not there.
    let other = kumo_server::create_app(s.store.as_ref(), "other", &s.site())
        .await
        .unwrap();
    let r = send_to(
        s,
        &other.app_id,
        Method::POST,
        "/apps/{app}/users",
        None,
        &[("content-type", "application/json")],
        br#"{"loginName":"carol","password":"password1"}"#.to_vec(),
    )
    .await;
    r.status(201);
    let r = send_to(
        s,
        &other.app_id,
        Method::POST,
        "/apps/{app}/oauth2/token",
        None,
        &[("content-type", "application/json")],
        br#"{"username":"carol","password":"password1"}"#.to_vec(),
    )
    .await;
    let carol = r.json()["access_token"].as_str().unwrap().to_owned();
    let r = put_body(s, &obj, &carol, "text/plain", b"x".to_vec()).await;
    assert!(matches!(r.status, 401 | 403), "{}", r.status);
    let other_path = obj.replace("{app}", &other.app_id);
    let r = send_to(
        s,
        &other.app_id,
        Method::GET,
        &format!("{other_path}/body"),
        Some(&carol),
        &[],
        vec![],
    )
    .await;
    r.error(404, "OBJECT_NOT_FOUND");
    // Nothing above changed the body.
    assert_eq!(get_body(s, &obj, Some(&alice), None).await.bytes, b"first");
}

async fn alice_id(s: &TestServer, token: &str) -> String {
    s.get("/apps/{app}/users/me", Some(token)).await.body["userID"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Sends `request` as is over a new connection and returns what comes back until it closes.
async fn raw_http(s: &TestServer, request: &[u8]) -> String {
    let addr = s
        .site()
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    tcp.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// A request whose body ends before its `Content-Length`: the upload is dropped and the
/// previous body stays.
async fn truncated_upload(s: &TestServer) {
    let (_, alice) = s.user("alice", "password1").await;
    let obj = object(s, &alice, "/buckets/photos").await;
    put_body(s, &obj, &alice, "text/plain", b"before".to_vec())
        .await
        .status(200);
    let addr = s
        .site()
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let path = format!("/api{}/body", obj.replace("{app}", &s.app.app_id));
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {alice}\r\n\
         Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
        3 * MIB
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(&pattern(MIB + 100, 1)).await.unwrap();
    tcp.shutdown().await.unwrap();
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer).await;
    // Whatever the server managed to answer, the old body is still the body...
    let g = get_body(s, &obj, Some(&alice), None).await;
    g.status(200);
    assert_eq!(g.bytes, b"before");
    // ...and a complete upload after it works.
    put_body(s, &obj, &alice, "text/plain", b"after".to_vec())
        .await
        .status(200);
    assert_eq!(get_body(s, &obj, Some(&alice), None).await.bytes, b"after");
}

async fn upload_in_pieces(s: &TestServer) {
    let (_, alice) = s.user("alice", "password1").await;
    let obj = object(s, &alice, "/buckets/videos").await;
    let start = |token: String| {
        let obj = obj.clone();
        async move {
            let r = send(
                s,
                Method::POST,
                &format!("{obj}/body/uploads"),
                Some(&token),
                &[(
                    "content-type",
                    "application/vnd.kii.StartObjectBodyUploadRequest+json",
                )],
                b"{}".to_vec(),
            )
            .await;
            r.status(200);
            assert_eq!(
                r.header("content-type"),
                Some("application/vnd.kii.StartObjectBodyUploadResponse+json")
            );
            r.json()["uploadID"].as_str().unwrap().to_owned()
        }
    };
    let upload = start(alice.clone()).await;
    let total = MIB + 500_000;
    let data = pattern(total, 3);
    let piece = |range: String, bytes: Vec<u8>, upload: String| {
        let obj = obj.clone();
        let alice = alice.clone();
        async move {
            let headers: Vec<(&str, &str)> = if range.is_empty() {
                vec![("content-type", "video/mp4")]
            } else {
                vec![
                    ("content-type", "video/mp4"),
                    ("content-range", range.as_str()),
                ]
            };
            send(
                s,
                Method::PUT,
                &format!("{obj}/body/uploads/{upload}/data"),
                Some(&alice),
                &headers,
                bytes,
            )
            .await
        }
    };
    let first = 1_000_000;
    // Out of order: the first piece must start at 0.
    piece(
        format!("bytes={first}-{}/{total}", total - 1),
        data[first..].to_vec(),
        upload.clone(),
    )
    .await
    .error(416, "OBJECT_BODY_RANGE_NOT_SATISFIABLE");
    // Missing or malformed Content-Range.
    piece(String::new(), data[..10].to_vec(), upload.clone())
        .await
        .error(400, "INVALID_INPUT_DATA");
    piece("bytes=a-b/c".into(), data[..10].to_vec(), upload.clone())
        .await
        .error(400, "INVALID_INPUT_DATA");
    // A range outside the total.
    piece(
        format!("bytes=0-{total}/{total}"),
        data.clone(),
        upload.clone(),
    )
    .await
    .error(416, "OBJECT_BODY_RANGE_NOT_SATISFIABLE");
    // A piece shorter than its range leaves nothing behind.
    piece(
        format!("bytes=0-{}/{total}", first - 1),
        data[..first - 7].to_vec(),
        upload.clone(),
    )
    .await
    .error(400, "INVALID_INPUT_DATA");
    // ...and so does a longer one.
    piece(
        format!("bytes=0-{}/{total}", first - 1),
        data[..first + 7].to_vec(),
        upload.clone(),
    )
    .await
    .error(400, "INVALID_INPUT_DATA");
    // Committing now: nothing is stored.
    let commit = |upload: String| {
        let obj = obj.clone();
        let alice = alice.clone();
        async move {
            send(
                s,
                Method::POST,
                &format!("{obj}/body/uploads/{upload}/status/committed"),
                Some(&alice),
                &[],
                vec![],
            )
            .await
        }
    };
    commit(upload.clone())
        .await
        .error(412, "OBJECT_BODY_INTEGRITY_NOT_ASSURED");
    // The first piece, in the form Kii's guide writes.
    piece(
        format!("bytes=0-{}/{total}", first - 1),
        data[..first].to_vec(),
        upload.clone(),
    )
    .await
    .status(204);
    // Overlapping what is stored.
    piece(
        format!("bytes={}-{}/{total}", first - 10, total - 1),
        data[first - 10..].to_vec(),
        upload.clone(),
    )
    .await
    .error(416, "OBJECT_BODY_RANGE_NOT_SATISFIABLE");
    // Another total than the first piece named.
    piece(
        format!("bytes={first}-{}/{}", total - 1, total + 1),
        data[first..].to_vec(),
        upload.clone(),
    )
    .await
    .error(416, "OBJECT_BODY_RANGE_NOT_SATISFIABLE");
    // Incomplete: 412 with what is there.
    let r = commit(upload.clone()).await;
    r.error(412, "OBJECT_BODY_INTEGRITY_NOT_ASSURED");
    assert_eq!(r.json()["receivedBytes"], first);
    // Nothing is visible until the commit.
    get_body(s, &obj, Some(&alice), None)
        .await
        .error(404, "OBJECT_BODY_NOT_FOUND");
    // The rest, in HTTP's own spelling.
    piece(
        format!("bytes {first}-{}/{total}", total - 1),
        data[first..].to_vec(),
        upload.clone(),
    )
    .await
    .status(204);
    commit(upload.clone()).await.status(204);
    let g = get_body(s, &obj, Some(&alice), None).await;
    g.status(200);
    assert_eq!(g.header("content-type"), Some("video/mp4"));
    assert!(g.bytes == data);
    // A committed upload is over.
    commit(upload.clone())
        .await
        .error(404, "OBJECT_BODY_UPLOAD_NOT_FOUND");
    piece(
        format!("bytes=0-9/{total}"),
        data[..10].to_vec(),
        upload.clone(),
    )
    .await
    .error(404, "OBJECT_BODY_UPLOAD_NOT_FOUND");
    commit("nosuchupload".into())
        .await
        .error(404, "OBJECT_BODY_UPLOAD_NOT_FOUND");

    // Cancelled: gone, and the body stays what it was.
    let second = start(alice.clone()).await;
    piece(
        format!("bytes=0-9/{total}"),
        data[..10].to_vec(),
        second.clone(),
    )
    .await
    .status(204);
    let cancel = |upload: String| {
        let obj = obj.clone();
        let alice = alice.clone();
        async move {
            send(
                s,
                Method::POST,
                &format!("{obj}/body/uploads/{upload}/status/cancelled"),
                Some(&alice),
                &[],
                vec![],
            )
            .await
        }
    };
    cancel(second.clone()).await.status(204);
    cancel(second.clone())
        .await
        .error(404, "OBJECT_BODY_UPLOAD_NOT_FOUND");
    commit(second.clone())
        .await
        .error(404, "OBJECT_BODY_UPLOAD_NOT_FOUND");
    assert!(get_body(s, &obj, Some(&alice), None).await.bytes == data);

    // An upload of one object cannot be committed through another.
    let third = start(alice.clone()).await;
    let other = object(s, &alice, "/buckets/videos").await;
    send(
        s,
        Method::POST,
        &format!("{other}/body/uploads/{third}/status/committed"),
        Some(&alice),
        &[],
        vec![],
    )
    .await
    .error(404, "OBJECT_BODY_UPLOAD_NOT_FOUND");
    // Others may not start uploads on what they may not write.
    let (_, bob) = s.user("bob", "password1").await;
    let private = object(s, &alice, "/users/me/buckets/private").await;
    let private = private.replace(
        "/users/me/",
        &format!("/users/{}/", alice_id(s, &alice).await),
    );
    send(
        s,
        Method::POST,
        &format!("{private}/body/uploads"),
        Some(&bob),
        &[],
        b"{}".to_vec(),
    )
    .await
    .error(403, "ACCESS_DENIED");
    send(
        s,
        Method::POST,
        "/apps/{app}/buckets/videos/objects/nope/body/uploads",
        Some(&alice),
        &[],
        b"{}".to_vec(),
    )
    .await
    .error(404, "OBJECT_NOT_FOUND");
}

async fn publication(s: &TestServer) {
    let (_, alice) = s.user("alice", "password1").await;
    let obj = object(s, &alice, "/users/me/buckets/shared").await;
    let publish = |body: &'static str| {
        let obj = obj.clone();
        let alice = alice.clone();
        async move {
            send(
                s,
                Method::POST,
                &format!("{obj}/body/publish"),
                Some(&alice),
                &[(
                    "content-type",
                    "application/vnd.kii.ObjectBodyPublicationRequest+json",
                )],
                body.as_bytes().to_vec(),
            )
            .await
        }
    };
    publish("{}").await.error(404, "OBJECT_BODY_NOT_FOUND");
    let data = pattern(MIB + 3, 9);
    put_body(s, &obj, &alice, "audio/ogg", data.clone())
        .await
        .status(200);
    let r = publish("{}").await;
    r.status(201);
    let url = r.json()["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&s.site().replace("/api", "")), "{url}");
    // No token, no app headers.
    let g = s.client.get(&url).send().await.unwrap();
    assert_eq!(g.status(), 200);
    assert_eq!(g.headers()["content-type"], "audio/ogg");
    assert!(g.bytes().await.unwrap() == data);
    let g = s
        .client
        .get(&url)
        .header("range", "bytes=0-1")
        .send()
        .await
        .unwrap();
    assert_eq!(g.status(), 206);
    assert_eq!(&g.bytes().await.unwrap()[..], &data[..2]);
    // Bad expiries.
    for bad in [
        r#"{"expiresAt": 1000}"#,
        r#"{"expiresAt": "tomorrow"}"#,
        r#"{"expiresAt": "2001-01-01T00:00:00Z"}"#,
        r#"{"expiresIn": 0}"#,
        r#"{"expiresIn": -5}"#,
        r#"[1]"#,
        r#"{"#,
    ] {
        let r = publish(bad).await;
        assert_eq!(r.status, 400, "{bad}");
        assert!(r.json()["errorCode"].is_string());
    }
    // An ISO 8601 date, as the SDK's publishBodyExpiresAt sends a Date.
    publish(r#"{"expiresAt": "2100-01-01T00:00:00.000Z"}"#)
        .await
        .status(201);
    // One that expires: it works until then, and then answers 410.
    let r = publish(r#"{"expiresIn": 1}"#).await;
    r.status(201);
    let short = r.json()["url"].as_str().unwrap().to_owned();
    assert!(r.json()["expiresAt"].as_i64().unwrap() > 0);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let g = s.client.get(&short).send().await.unwrap();
    assert_eq!(g.status(), 410);
    let body: Value = g.json().await.unwrap();
    assert_eq!(body["errorCode"], "PUBLICATION_EXPIRED");
    // Unknown publications.
    for id in ["nosuchpublication", "a%2Fb", &"x".repeat(200)] {
        let g = s
            .client
            .get(format!("{}/public/bodies/{id}", s.site()))
            .send()
            .await
            .unwrap();
        assert_eq!(g.status(), 404, "{id}");
        let body: Value = g.json().await.unwrap();
        assert_eq!(body["errorCode"], "PUBLICATION_NOT_FOUND");
    }
    // The body deleted: the URL finds none; the object deleted: no publication either.
    send(
        s,
        Method::DELETE,
        &format!("{obj}/body"),
        Some(&alice),
        &[],
        vec![],
    )
    .await
    .status(204);
    let g = s.client.get(&url).send().await.unwrap();
    assert_eq!(g.status(), 404);
    let body: Value = g.json().await.unwrap();
    assert_eq!(body["errorCode"], "OBJECT_BODY_NOT_FOUND");
    s.delete(&obj, Some(&alice)).await.expect_status(204);
    let g = s.client.get(&url).send().await.unwrap();
    let body: Value = g.json().await.unwrap();
    assert_eq!(body["errorCode"], "PUBLICATION_NOT_FOUND");
}

/// The body goes with its object and with its bucket: an object made again under the same ID
/// has none.
async fn body_goes_with_object_and_bucket(s: &TestServer) {
    let (_, alice) = s.user("alice", "password1").await;
    let obj = "/apps/{app}/buckets/box/objects/fixed-id";
    s.call(Method::PUT, obj, Some(&alice), Some(json!({"a": 1})))
        .await
        .expect_status(201);
    put_body(s, obj, &alice, "text/plain", pattern(MIB + 1, 2))
        .await
        .status(200);
    s.delete(obj, Some(&alice)).await.expect_status(204);
    get_body(s, obj, Some(&alice), None)
        .await
        .error(404, "OBJECT_NOT_FOUND");
    s.call(Method::PUT, obj, Some(&alice), Some(json!({"a": 2})))
        .await
        .expect_status(201);
    get_body(s, obj, Some(&alice), None)
        .await
        .error(404, "OBJECT_BODY_NOT_FOUND");
    put_body(s, obj, &alice, "text/plain", b"again".to_vec())
        .await
        .status(200);
    s.delete("/apps/{app}/buckets/box", Some(&alice))
        .await
        .expect_status(204);
    s.call(Method::PUT, obj, Some(&alice), Some(json!({"a": 3})))
        .await
        .expect_status(201);
    get_body(s, obj, Some(&alice), None)
        .await
        .error(404, "OBJECT_BODY_NOT_FOUND");
}

async fn user_and_group_scopes(s: &TestServer) {
    let (alice_id, alice) = s.user("alice", "password1").await;
    let (bob_id, bob) = s.user("bob", "password1").await;
    let own = object(s, &alice, "/users/me/buckets/mine").await;
    put_body(s, &own, &alice, "text/plain", b"user scope".to_vec())
        .await
        .status(200);
    let by_id = own.replace("/users/me/", &format!("/users/{alice_id}/"));
    assert_eq!(
        get_body(s, &by_id, Some(&alice), None).await.bytes,
        b"user scope"
    );
    let r = s
        .post(
            "/apps/{app}/groups",
            Some(&alice),
            json!({"name": "team", "owner": alice_id}),
        )
        .await;
    r.expect_status(201);
    let group = r.body["groupID"].as_str().unwrap().to_owned();
    s.call(
        Method::PUT,
        &format!("/apps/{{app}}/groups/{group}/members/{bob_id}"),
        Some(&alice),
        None,
    )
    .await
    .expect_status(204);
    let shared = object(s, &alice, &format!("/groups/{group}/buckets/docs")).await;
    put_body(s, &shared, &alice, "application/pdf", b"%PDF".to_vec())
        .await
        .status(200);
    // A member reads it through the bucket's ACL.
    let g = get_body(s, &shared, Some(&bob), None).await;
    g.status(200);
    assert_eq!(g.bytes, b"%PDF");
    assert_eq!(g.header("content-type"), Some("application/pdf"));
    let (_, carol) = s.user("carol", "password1").await;
    get_body(s, &shared, Some(&carol), None)
        .await
        .error(403, "ACCESS_DENIED");
    let r = get_body(
        s,
        "/apps/{app}/groups/nosuchgroup/buckets/docs/objects/x1",
        Some(&alice),
        None,
    )
    .await;
    r.error(404, "GROUP_NOT_FOUND");
}

/// Server code cannot upload or download bodies, as on Kii: the calls fail as SDK calls
/// fail (a rejected promise, the failure callback), with a message that says so.
async fn sandbox_refuses_transfers(s: &TestServer) {
    let admin = s.admin().await;
    let source = r#"
function transfer(params, context, done) {
  var obj = Kii.bucketWithName('b').createObject();
  var out = {};
  obj.uploadBody(null).then(function () { out.upload = 'resolved'; }, function (e) {
    out.upload = e.message;
    return obj.downloadBody();
  }).then(function () { out.download = 'resolved'; }, function (e) {
    out.download = e.message;
  }).then(function () {
    obj.downloadBody({ success: function () { out.cb = 'success'; done(out); },
                       failure: function (o, msg) { out.cb = msg; done(out); } });
  });
}
"#;
    s.deploy_current(&admin, source).await;
    let r = s
        .post(
            "/apps/{app}/server-code/versions/current/transfer",
            Some(&admin),
            json!({}),
        )
        .await;
    r.expect_status(200);
    let out = &r.body["returnedValue"];
    for key in ["upload", "download", "cb"] {
        let msg = out[key].as_str().unwrap_or_else(|| panic!("{key}: {out}"));
        assert!(msg.contains("not available in server code"), "{key}: {msg}");
    }
    assert!(out["upload"].as_str().unwrap().contains("uploadBody"));
    assert!(out["download"].as_str().unwrap().contains("downloadBody"));
}

/// A thing's own bucket holds bodies like any other scope: the thing's token writes and
/// reads them, a user without a grant is refused.
async fn thing_scope(s: &TestServer) {
    let r = s
        .raw(
            Method::POST,
            "/apps/{app}/things",
            None,
            Some("application/vnd.kii.ThingRegistrationAndAuthorizationRequest+json"),
            json!({"_vendorThingID": "sensor-1", "_password": "pw-1234"})
                .to_string()
                .into_bytes(),
        )
        .await;
    r.expect_status(201);
    let thing = r.body["_thingID"].as_str().unwrap().to_owned();
    let token = r.body["_accessToken"].as_str().unwrap().to_owned();
    let obj = object(s, &token, &format!("/things/{thing}/buckets/readings")).await;
    put_body(
        s,
        &obj,
        &token,
        "application/octet-stream",
        pattern(3000, 7),
    )
    .await
    .status(200);
    let g = get_body(s, &obj, Some(&token), Some("bytes=10-19")).await;
    g.status(206);
    assert_eq!(g.bytes, pattern(3000, 7)[10..20].to_vec());
    let by_vendor = obj.replace(&thing, "VENDOR_THING_ID:sensor-1");
    assert_eq!(
        get_body(s, &by_vendor, Some(&token), None).await.bytes,
        pattern(3000, 7)
    );
    let (_, stranger) = s.user("stranger", "password1").await;
    get_body(s, &obj, Some(&stranger), None)
        .await
        .error(403, "ACCESS_DENIED");
}

on_both_backends!(
    whole_body_round_trip,
    bad_requests,
    truncated_upload,
    upload_in_pieces,
    publication,
    body_goes_with_object_and_bucket,
    user_and_group_scopes,
    sandbox_refuses_transfers,
    thing_scope,
);

/// The size limit: a declared length over it is refused before anything is stored, a
/// streamed body (no length) when it passes it; pieces by the total they announce.
mod limits {
    use super::*;

    async fn limited(dialect: Dialect) {
        let config = Config {
            max_object_body_bytes: 1000,
            ..Config::default()
        };
        let s = TestServer::start_with(dialect, config).await;
        let (_, alice) = s.user("alice", "password1").await;
        let obj = object(&s, &alice, "/buckets/small").await;
        put_body(&s, &obj, &alice, "text/plain", vec![b'a'; 1000])
            .await
            .status(200);
        let r = put_body(&s, &obj, &alice, "text/plain", vec![b'b'; 1001]).await;
        r.error(413, "REQUEST_ENTITY_TOO_LARGE");
        assert_eq!(r.json()["maxBodyBytes"], 1000);
        // Without a length (chunked): refused once it passes the limit.
        let path = format!("/api{}/body", obj.replace("{app}", &s.app.app_id));
        let mut request = format!(
            "PUT {path} HTTP/1.1\r\nHost: kumo\r\nAuthorization: Bearer {alice}\r\n\
             Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        .into_bytes();
        for _ in 0..4 {
            request.extend_from_slice(format!("{:x}\r\n", 400).as_bytes());
            request.extend_from_slice(&[b'c'; 400]);
            request.extend_from_slice(b"\r\n");
        }
        request.extend_from_slice(b"0\r\n\r\n");
        let answer = raw_http(&s, &request).await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(answer.contains("REQUEST_ENTITY_TOO_LARGE"), "{answer}");
        // The body is still the one that fitted.
        assert_eq!(
            get_body(&s, &obj, Some(&alice), None).await.bytes,
            vec![b'a'; 1000]
        );
        // Pieces: by the announced total.
        let r = send(
            &s,
            Method::POST,
            &format!("{obj}/body/uploads"),
            Some(&alice),
            &[],
            b"{}".to_vec(),
        )
        .await;
        let upload = r.json()["uploadID"].as_str().unwrap().to_owned();
        send(
            &s,
            Method::PUT,
            &format!("{obj}/body/uploads/{upload}/data"),
            Some(&alice),
            &[("content-range", "bytes=0-9/1001")],
            vec![b'd'; 10],
        )
        .await
        .error(413, "REQUEST_ENTITY_TOO_LARGE");
        s.stop().await;
    }

    /// Behind a proxy that sends no forwarded headers, `--public-url` is what a published
    /// URL starts with, whatever `Host` the request carried.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn published_urls_start_with_the_public_url() {
        let config = Config {
            public_url: Some("https://files.example.com/kumo/api/".into()),
            ..Config::default()
        };
        let s = TestServer::start_with(Dialect::Sqlite, config).await;
        let (_, alice) = s.user("alice", "password1").await;
        let obj = object(&s, &alice, "/buckets/pub").await;
        put_body(&s, &obj, &alice, "text/plain", b"hi".to_vec())
            .await
            .status(200);
        let r = send(
            &s,
            Method::POST,
            &format!("{obj}/body/publish"),
            Some(&alice),
            &[
                ("content-type", "application/json"),
                ("host", "evil.example"),
            ],
            b"{}".to_vec(),
        )
        .await;
        r.status(201);
        let url = r.json()["url"].as_str().unwrap().to_owned();
        let id = url
            .strip_prefix("https://files.example.com/kumo/api/public/bodies/")
            .unwrap_or_else(|| panic!("{url}"));
        // The same publication answers on this server's own address.
        let local = format!("{}/public/bodies/{id}", s.site());
        let g = s.client.get(&local).send().await.unwrap();
        assert_eq!(g.status(), 200);
        assert_eq!(g.bytes().await.unwrap().as_ref(), b"hi");
        s.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        limited(Dialect::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        limited(Dialect::Postgres).await;
    }
}

/// Two nodes on one PostgreSQL database: a body written through one is read through the
/// other, and a replacement through the second is what the first serves next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_node_serves_the_same_body() {
    let a = TestServer::start(Dialect::Postgres).await;
    let b = a.another_node(Config::default()).await;
    let (_, alice) = a.user("alice", "password1").await;
    let obj = object(&a, &alice, "/buckets/shared").await;
    let data = pattern(2 * MIB + 77, 5);
    put_body(&a, &obj, &alice, "application/zip", data.clone())
        .await
        .status(200);
    let g = get_body(&b, &obj, Some(&alice), None).await;
    g.status(200);
    assert_eq!(g.header("content-type"), Some("application/zip"));
    assert!(g.bytes == data);
    let r = get_body(&b, &obj, Some(&alice), Some("bytes=2097150-2097155")).await;
    r.status(206);
    assert_eq!(r.bytes, &data[2 * MIB - 2..2 * MIB + 4]);
    put_body(&b, &obj, &alice, "text/plain", b"from b".to_vec())
        .await
        .status(200);
    assert_eq!(
        get_body(&a, &obj, Some(&alice), None).await.bytes,
        b"from b"
    );
    b.stop().await;
    a.stop().await;
}
