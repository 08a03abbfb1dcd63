//! Kii's WebSocket log protocol at `/logs` (spec §8.3), spoken as Kii's log tools speak it:
//! one JSON request frame, answers that are JSON arrays of records, `{"err": …}` and a close
//! on any error.

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use futures_util::{SinkExt, StreamExt};
use kumo_server::Config;
use kumo_storage::Dialect;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const PATIENCE: Duration = Duration::from_secs(10);

const CODE: &str = "function say(params, context) {\n\
  for (var i = 0; i < params.n; i++) {\n\
    var text = params.text + ' ' + i;\n\
    if (params.level === 'error') { console.error(text); } else { console.log(text); }\n\
  }\n\
  return params.n;\n\
}\n";

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let s = super::TestServer::start_with(kumo_storage::Dialect::Sqlite, super::Config::default()).await;
                super::$name(&s).await;
                s.stop().await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let s = super::TestServer::start_with(kumo_storage::Dialect::Postgres, super::Config::default()).await;
                super::$name(&s).await;
                s.stop().await;
            })*
        }
    };
}

on_both!(
    cat_answers_the_latest_matching_records,
    tail_answers_the_latest_then_what_comes,
    every_error_is_one_err_frame_then_a_close,
);

/// `ws://HOST:PORT/logs` (or `/api/logs`).
async fn connect(s: &TestServer, path: &str) -> Socket {
    let root = s
        .site()
        .trim_end_matches("/api")
        .replacen("http://", "ws://", 1);
    let (socket, _) = tokio_tungstenite::connect_async(format!("{root}{path}"))
        .await
        .expect("WebSocket handshake");
    socket
}

/// The next text frame as JSON, skipping pings; `None` on a close (or the end).
async fn next_json(socket: &mut Socket) -> Option<Value> {
    loop {
        let frame = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("a frame within the patience")?;
        match frame.ok()? {
            Message::Text(text) => return Some(serde_json::from_str(&text).expect("JSON frame")),
            Message::Close(_) => return None,
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// Asserts the server closes next.
async fn expect_close(socket: &mut Socket) {
    if let Some(frame) = next_json(socket).await {
        panic!("expected a close, got {frame}");
    }
}

/// The records of the next frame (an array).
async fn next_batch(socket: &mut Socket) -> Vec<Value> {
    let frame = next_json(socket).await.expect("an answer");
    frame
        .as_array()
        .unwrap_or_else(|| panic!("an array of records, got {frame}"))
        .clone()
}

/// A request with the app's client ID and secret.
fn with_client(s: &TestServer, fields: Value) -> Value {
    let mut request = json!({
        "appID": s.app.app_id, "appKey": s.app.app_key,
        "clientID": s.app.client_id, "clientSecret": s.app.client_secret,
    });
    for (k, v) in fields.as_object().unwrap() {
        request[k] = v.clone();
    }
    request
}

/// A request with a token (as the Go client sends it: every field, unused ones empty).
fn with_token(s: &TestServer, token: &str, fields: Value) -> Value {
    let mut request = json!({
        "appID": s.app.app_id, "appKey": s.app.app_key, "clientID": "", "clientSecret": "",
        "token": token, "command": "cat", "userID": "", "level": "", "limit": 100,
        "dateFrom": "", "dateTo": "",
    });
    for (k, v) in fields.as_object().unwrap() {
        request[k] = v.clone();
    }
    request
}

async fn ask(s: &TestServer, path: &str, request: &Value) -> Socket {
    let mut socket = connect(s, path).await;
    socket
        .send(Message::Text(request.to_string().into()))
        .await
        .unwrap();
    socket
}

fn descriptions(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .filter(|r| r["key"] == "servercode.log")
        .map(|r| r["description"].as_str().unwrap().to_owned())
        .collect()
}

async fn say(s: &TestServer, token: Option<&str>, text: &str, n: usize, level: &str) {
    s.post(
        "/apps/{app}/server-code/versions/current/say",
        token,
        json!({"text": text, "n": n, "level": level}),
    )
    .await
    .expect_status(200);
}

/// Waits until the log holds `n` `servercode.log` records and `runs` `servercode.invoke` ones.
async fn logged(s: &TestServer, admin: &str, n: usize, runs: usize) -> Vec<Value> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let r = s
            .get("/apps/{app}/developer-log?limit=1500", Some(admin))
            .await;
        let records = r.body["records"].as_array().unwrap().clone();
        let invokes = records
            .iter()
            .filter(|r| r["key"] == "servercode.invoke")
            .count();
        if descriptions(&records).len() >= n && invokes >= runs {
            return records;
        }
        assert!(Instant::now() < deadline, "only {records:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `YYYY-MM-DD:HH:mm:ss`, UTC, `seconds` from now.
fn kii_date(seconds: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(seconds))
        .format("%Y-%m-%d:%H:%M:%S")
        .to_string()
}

async fn cat_answers_the_latest_matching_records(s: &TestServer) {
    let admin = s.admin().await;
    s.deploy_current(&admin, CODE).await;
    let (alice, alice_token) = s.user("alice", "secret123").await;
    say(s, Some(&alice_token), "a", 3, "log").await;
    say(s, None, "anon", 2, "error").await;
    say(s, Some(&alice_token), "a-err", 1, "error").await;
    let all = logged(s, &admin, 6, 3).await;

    // Everything (limit 100), oldest first, in the wire shape, then the server closes.
    let mut socket = ask(s, "/logs", &with_client(s, json!({"command": "cat"}))).await;
    let got = next_batch(&mut socket).await;
    assert_eq!(got, all, "the records GET …/developer-log returns");
    expect_close(&mut socket).await;

    // The latest `limit`, through the /api alias, with a token.
    let mut socket = ask(s, "/api/logs", &with_token(s, &admin, json!({"limit": 2}))).await;
    let got = next_batch(&mut socket).await;
    assert_eq!(got, all[all.len() - 2..].to_vec());
    expect_close(&mut socket).await;

    let cases = [
        (
            json!({"level": "ERROR"}),
            vec!["anon 0", "anon 1", "a-err 0"],
        ),
        (
            json!({"userID": alice}),
            vec!["a 0", "a 1", "a 2", "a-err 0"],
        ),
        (json!({"userID": alice, "level": "ERROR"}), vec!["a-err 0"]),
        (
            json!({"level": "ERROR", "limit": 2}),
            vec!["anon 1", "a-err 0"],
        ),
        (
            json!({"dateFrom": kii_date(-3600), "dateTo": kii_date(3600)}),
            vec!["a 0", "a 1", "a 2", "anon 0", "anon 1", "a-err 0"],
        ),
        (json!({"dateFrom": kii_date(3600)}), vec![]),
        (json!({"dateTo": kii_date(-3600)}), vec![]),
    ];
    for (filter, expected) in cases {
        let mut socket = ask(s, "/logs", &with_token(s, &admin, filter.clone())).await;
        let got = next_batch(&mut socket).await;
        assert_eq!(descriptions(&got), expected, "{filter}");
        expect_close(&mut socket).await;
    }
}

async fn tail_answers_the_latest_then_what_comes(s: &TestServer) {
    let admin = s.admin().await;
    s.deploy_current(&admin, CODE).await;
    say(s, None, "old", 3, "log").await;
    logged(s, &admin, 3, 1).await;
    let request = with_client(s, json!({"command": "tail", "limit": 2, "level": "INFO"}));
    let mut socket = ask(s, "/logs", &request).await;
    let first = next_batch(&mut socket).await;
    assert_eq!(descriptions(&first), ["old 1", "old 2"]);

    say(s, None, "new", 3, "log").await;
    let mut later = Vec::new();
    while descriptions(&later).len() < 3 {
        later.extend(next_batch(&mut socket).await);
    }
    assert_eq!(descriptions(&later), ["new 0", "new 1", "new 2"]);
    let ids: Vec<i64> = first
        .iter()
        .chain(&later)
        .map(|r| r["_id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order, none twice");
    // An error-level record passes the INFO filter; a DEBUG one (the invoke) never came.
    assert!(later.iter().all(|r| r["level"] != "DEBUG"));

    // A tail with a token works the same; it ends when the client closes.
    let mut other = ask(
        s,
        "/logs",
        &with_token(s, &admin, json!({"command": "tail", "limit": 1})),
    )
    .await;
    let first = next_batch(&mut other).await;
    assert_eq!(first.len(), 1);
    other.close(None).await.unwrap();
    // The server answers the close (a clean closing handshake, not a dropped connection).
    match tokio::time::timeout(PATIENCE, other.next()).await.unwrap() {
        Some(Ok(Message::Close(_))) | None => {}
        unexpected => panic!("expected the server's close, got {unexpected:?}"),
    }
    say(s, None, "after", 1, "error").await;
    let got = next_batch(&mut socket).await;
    assert_eq!(descriptions(&got), ["after 0"]);
    socket.close(None).await.unwrap();
}

async fn every_error_is_one_err_frame_then_a_close(s: &TestServer) {
    let admin = s.admin().await;
    let (_, user) = s.user("mallory", "secret123").await;
    let mut wrong_secret = with_client(s, json!({"command": "cat"}));
    wrong_secret["clientSecret"] = json!("nope");
    let mut wrong_key = with_client(s, json!({"command": "cat"}));
    wrong_key["appKey"] = json!("nope");
    let mut unknown_app = with_client(s, json!({"command": "cat"}));
    unknown_app["appID"] = json!("nosuchapp");
    let cases: Vec<(Message, &str)> = vec![
        (Message::Text("not json".into()), "JSON"),
        (Message::Binary(b"{}".to_vec().into()), "text frame"),
        (
            text(&with_client(s, json!({"command": "rm"}))),
            "Unknown command",
        ),
        (text(&with_client(s, json!({}))), "command is required"),
        (text(&wrong_secret), "wrong secret"),
        (text(&wrong_key), "app key"),
        (text(&unknown_app), "not found"),
        (text(&with_token(s, "not-a-token", json!({}))), "invalid"),
        (text(&with_token(s, &user, json!({}))), "app-admin"),
        (
            text(&with_token(
                s,
                &admin,
                json!({"dateFrom": "2015-01-08 07:40"}),
            )),
            "dateFrom",
        ),
        (text(&with_token(s, &admin, json!({"limit": 0}))), "between"),
        (
            text(&with_token(s, &admin, json!({"limit": 1501}))),
            "between",
        ),
        (
            text(&with_token(s, &admin, json!({"level": "LOUD"}))),
            "level",
        ),
        (Message::Text("x".repeat(20 << 10).into()), "at most"),
    ];
    for (request, expected) in cases {
        let mut socket = connect(s, "/logs").await;
        let shown = format!("{request:?}").chars().take(120).collect::<String>();
        // A frame too large may end the connection while it is being sent.
        let _ = socket.send(request).await;
        let answer = next_json(&mut socket)
            .await
            .unwrap_or_else(|| panic!("no answer to {shown}"));
        let err = answer["err"]
            .as_str()
            .unwrap_or_else(|| panic!("{{\"err\": …}} expected, got {answer}"));
        assert!(err.contains(expected), "{shown}: {err}");
        assert_eq!(answer.as_object().unwrap().len(), 1, "{answer}");
        expect_close(&mut socket).await;
    }
    // Not a WebSocket request at all: a Kii error, in JSON.
    let r = s
        .client
        .get(format!("{}/logs", s.site().trim_end_matches("/api")))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    let body: Value = r.json().await.unwrap();
    assert!(body["errorCode"].is_string(), "{body}");
}

fn text(request: &Value) -> Message {
    Message::Text(request.to_string().into())
}

/// A client that says nothing is told so and closed after 10 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_is_closed_after_ten_seconds() {
    let s = TestServer::start(Dialect::Sqlite).await;
    let mut socket = connect(&s, "/logs").await;
    let started = Instant::now();
    let frame = tokio::time::timeout(Duration::from_secs(15), socket.next())
        .await
        .expect("an answer before 15 s")
        .expect("a frame")
        .expect("readable");
    let waited = started.elapsed();
    let Message::Text(text) = frame else {
        panic!("expected the err frame, got {frame:?}");
    };
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert!(
        answer["err"].as_str().unwrap().contains("10 seconds"),
        "{answer}"
    );
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(13),
        "{waited:?}"
    );
    expect_close(&mut socket).await;
    drop(socket);
    s.stop().await;
}

/// Shutting down ends a WebSocket tail with a close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_websocket_tails() {
    let s = TestServer::start_with(Dialect::Sqlite, Config::default()).await;
    let mut socket = ask(&s, "/logs", &with_client(&s, json!({"command": "tail"}))).await;
    next_batch(&mut socket).await;
    let stopped = tokio::time::timeout(PATIENCE, s.stop()).await;
    assert!(stopped.is_ok(), "the server waited for the tail");
    expect_close(&mut socket).await;
}
