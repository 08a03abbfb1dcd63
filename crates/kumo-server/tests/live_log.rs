//! The live developer log as Server-Sent Events: `GET /apps/{app}/developer-log/stream`.

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use kumo_server::live_log::LiveLogConfig;
use kumo_server::Config;
use kumo_storage::Dialect;
use serde_json::{json, Value};

/// Bounds how long a missing event takes to fail a test.
const PATIENCE: Duration = Duration::from_secs(10);

const CODE: &str = "function say(params, context) {\n\
  var n = params.n || 1;\n\
  for (var i = 0; i < n; i++) {\n\
    var text = params.text + ' ' + i;\n\
    if (params.level === 'error') { console.error(text); }\n\
    else if (params.level === 'warn') { console.warn(text); }\n\
    else { console.log(text); }\n\
  }\n\
  return n;\n\
}\n";

/// Each test on SQLite and on PostgreSQL, on a server whose runs may take the steps of a
/// 2 000-line loop.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let s = super::TestServer::start_with(kumo_storage::Dialect::Sqlite, super::config()).await;
                super::$name(&s).await;
                s.stop().await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let s = super::TestServer::start_with(kumo_storage::Dialect::Postgres, super::config()).await;
                super::$name(&s).await;
                s.stop().await;
            })*
        }
    };
}

on_both!(
    only_the_admin_may_stream,
    a_record_written_after_opening_arrives_as_an_event,
    level_and_user_filters_apply,
    after_and_last_event_id_resume_with_nothing_twice_or_missed,
    a_burst_of_two_thousand_lines_arrives_in_order,
);

fn config() -> Config {
    let mut config = Config::default();
    config.server_code.limits.max_steps = 100_000;
    config
}

/// What the stream carried: an event, or a comment line.
#[derive(Debug)]
enum Block {
    Event {
        id: String,
        event: String,
        data: Value,
    },
    Comment(String),
}

/// A client end of an event stream.
struct Stream {
    res: reqwest::Response,
    buf: String,
}

impl Stream {
    /// The next event or comment, or `None` if nothing came within `within` or the stream
    /// ended.
    async fn next_block(&mut self, within: Duration) -> Option<Block> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                return Some(parse_block(block.trim_end_matches('\n')));
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            let chunk = tokio::time::timeout(left, self.res.chunk()).await.ok()?;
            let chunk = chunk.expect("stream readable")?;
            self.buf
                .push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        }
    }

    /// The next event (skipping comments).
    async fn next_event(&mut self, within: Duration) -> Option<(String, Value)> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.next_block(left).await? {
                Block::Event { id, event, data } => {
                    assert_eq!(event, "log");
                    assert_eq!(data["_id"], id.as_str(), "the id line is the record's _id");
                    return Some((id, data));
                }
                Block::Comment(_) => continue,
            }
        }
    }

    /// The next `n` events.
    async fn events(&mut self, n: usize) -> Vec<Value> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            match self.next_event(PATIENCE).await {
                Some((_, data)) => out.push(data),
                None => panic!("only {} of {n} events arrived: {out:?}", out.len()),
            }
        }
        out
    }

    /// Asserts that no event arrives within `within`.
    async fn quiet_for(&mut self, within: Duration) {
        if let Some(event) = self.next_event(within).await {
            panic!("unexpected event {event:?}");
        }
    }
}

fn parse_block(block: &str) -> Block {
    if let Some(comment) = block.strip_prefix(':') {
        assert!(!comment.contains('\n'), "one comment line: {block:?}");
        return Block::Comment(comment.trim().to_owned());
    }
    let lines: Vec<&str> = block.split('\n').collect();
    assert_eq!(lines.len(), 3, "id, event and data lines: {block:?}");
    let field = |line: &str, name: &str| -> String {
        line.strip_prefix(&format!("{name}: "))
            .unwrap_or_else(|| panic!("{name} line expected: {block:?}"))
            .to_owned()
    };
    Block::Event {
        id: field(lines[0], "id"),
        event: field(lines[1], "event"),
        data: serde_json::from_str(&field(lines[2], "data")).expect("data is JSON"),
    }
}

/// Opens `…/developer-log/stream?query` with `token`, and `Last-Event-ID` if given.
async fn try_open(
    s: &TestServer,
    query: &str,
    token: Option<&str>,
    last_event_id: Option<&str>,
) -> reqwest::Response {
    let mut req = s
        .client
        .get(s.url(&format!("/apps/{{app}}/developer-log/stream{query}")))
        .header("x-kii-appid", &s.app.app_id);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id);
    }
    req.send().await.expect("request")
}

async fn open(s: &TestServer, query: &str, admin: &str, last_event_id: Option<&str>) -> Stream {
    let res = try_open(s, query, Some(admin), last_event_id).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut stream = Stream {
        res,
        buf: String::new(),
    };
    // A keep-alive comes at once: the stream is open (and its tail counted) from here on.
    match stream.next_block(PATIENCE).await {
        Some(Block::Comment(c)) => assert_eq!(c, "keep-alive"),
        other => panic!("expected the first keep-alive, got {other:?}"),
    }
    stream
}

/// A refusal: the status, and the Kii error body in JSON (plain, or Kii's exception type).
async fn refused(res: reqwest::Response, status: u16, code: &str) -> reqwest::header::HeaderMap {
    assert_eq!(res.status().as_u16(), status);
    let headers = res.headers().clone();
    let media_type = headers["content-type"].to_str().unwrap();
    assert!(
        media_type.starts_with("application/json") || media_type.ends_with("Exception+json"),
        "{media_type}"
    );
    let body: Value = res.json().await.expect("JSON error body");
    assert_eq!(body["errorCode"], code, "{body}");
    assert!(body["message"].is_string());
    headers
}

/// Runs `say` (deployed by [`setup`]) on `s` as `token`, logging `n` lines `text i`.
async fn say(s: &TestServer, token: Option<&str>, text: &str, n: usize, level: &str) {
    s.post(
        "/apps/{app}/server-code/versions/current/say",
        token,
        json!({"text": text, "n": n, "level": level}),
    )
    .await
    .expect_status(200);
}

/// The admin token, with `say` deployed and current, and the deploy's record written (so
/// that it is history for the streams a test opens next).
async fn setup(s: &TestServer) -> String {
    let admin = s.admin().await;
    s.deploy_current(&admin, CODE).await;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let r = s.get("/apps/{app}/developer-log", Some(&admin)).await;
        let records = r.body["records"].as_array().unwrap();
        if records.iter().any(|r| r["key"] == "servercode.file.deploy") {
            return admin;
        }
        assert!(Instant::now() < deadline, "the deploy was never logged");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The `servercode.log` descriptions among `events`.
fn lines(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["key"] == "servercode.log")
        .map(|e| e["description"].as_str().unwrap().to_owned())
        .collect()
}

/// Reads events until `n` `servercode.log` records came; returns all events read.
async fn until_lines(stream: &mut Stream, n: usize) -> Vec<Value> {
    let mut events = Vec::new();
    while lines(&events).len() < n {
        match stream.next_event(PATIENCE).await {
            Some((_, data)) => events.push(data),
            None => panic!("only {:?} of {n} lines arrived", lines(&events)),
        }
    }
    events
}

fn ids(events: &[Value]) -> Vec<i64> {
    events
        .iter()
        .map(|e| e["_id"].as_str().unwrap().parse().unwrap())
        .collect()
}

async fn only_the_admin_may_stream(s: &TestServer) {
    let admin = setup(s).await;
    let (_, user) = s.user("mallory", "secret123").await;
    refused(try_open(s, "", None, None).await, 401, "UNAUTHORIZED").await;
    refused(
        try_open(s, "", Some(&user), None).await,
        401,
        "UNAUTHORIZED",
    )
    .await;
    refused(
        try_open(s, "", Some("not-a-token"), None).await,
        403,
        "WRONG_TOKEN",
    )
    .await;
    refused(
        try_open(s, "?level=LOUD", Some(&admin), None).await,
        400,
        "INVALID_INPUT_DATA",
    )
    .await;
    refused(
        try_open(s, "?after=x", Some(&admin), None).await,
        400,
        "INVALID_INPUT_DATA",
    )
    .await;
    refused(
        try_open(s, "", Some(&admin), Some("-3")).await,
        400,
        "INVALID_INPUT_DATA",
    )
    .await;
    // Another app's admin token is no admin here.
    let other = kumo_server::create_app(s.store.as_ref(), "other", &s.site())
        .await
        .unwrap();
    let other_admin: Value = s
        .client
        .post(format!("{}/oauth2/token", s.site()))
        .header("x-kii-appid", &other.app_id)
        .json(&json!({"client_id": other.client_id, "client_secret": other.client_secret}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = other_admin["access_token"].as_str().unwrap();
    refused(try_open(s, "", Some(token), None).await, 403, "WRONG_TOKEN").await;
}

async fn a_record_written_after_opening_arrives_as_an_event(s: &TestServer) {
    let admin = setup(s).await;
    // The deploy's record was written before the stream opened: it is not sent.
    let mut stream = open(s, "", &admin, None).await;
    let (uid, user) = s.user("erin", "secret123").await;
    let sent = Instant::now();
    say(s, Some(&user), "héllo\nworld", 1, "log").await;
    let events = until_lines(&mut stream, 1).await;
    let took = sent.elapsed();
    for e in &events {
        assert_ne!(
            e["key"], "servercode.file.deploy",
            "written before opening: {e}"
        );
    }
    let line = events
        .iter()
        .find(|e| e["key"] == "servercode.log")
        .unwrap();
    assert_eq!(line["description"], "héllo\nworld 0");
    assert_eq!(line["userID"], uid.as_str());
    assert_eq!(line["appID"], s.app.app_id.as_str());
    // Exactly the record GET …/developer-log returns.
    let r = s.get("/apps/{app}/developer-log", Some(&admin)).await;
    let listed = r.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["_id"] == line["_id"])
        .expect("the record is in the log")
        .clone();
    assert_eq!(&listed, line);
    // From the run's answer: the writer's ~50 ms batching, the write, the wake-up and a read
    // (typically 50-70 ms here). The bound only catches a stream that waits for something
    // other than the write (a keep-alive tick, a poll); a stalled disk can hold one commit
    // for about a second.
    eprintln!("a record reached the stream {took:?} after its run answered");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

async fn level_and_user_filters_apply(s: &TestServer) {
    let admin = setup(s).await;
    let (alice, alice_token) = s.user("alice", "secret123").await;
    let (_, bob_token) = s.user("bob", "secret123").await;
    let mut alice_warn = open(s, &format!("?level=WARN&userID={alice}"), &admin, None).await;
    let mut errors = open(s, "?level=error", &admin, None).await;
    for (token, level, text) in [
        (&alice_token, "log", "alice-info"),
        (&bob_token, "warn", "bob-warn"),
        (&alice_token, "warn", "alice-warn"),
        (&bob_token, "error", "bob-error"),
        (&alice_token, "error", "alice-error"),
    ] {
        say(s, Some(token), text, 1, level).await;
    }
    let got = alice_warn.events(2).await;
    assert_eq!(lines(&got), ["alice-warn 0", "alice-error 0"]);
    assert!(got.iter().all(|e| e["userID"] == alice.as_str()));
    alice_warn.quiet_for(Duration::from_millis(300)).await;
    let got = errors.events(2).await;
    assert_eq!(lines(&got), ["bob-error 0", "alice-error 0"]);
    assert!(got.iter().all(|e| e["level"] == "ERROR"));
    errors.quiet_for(Duration::from_millis(300)).await;
}

async fn after_and_last_event_id_resume_with_nothing_twice_or_missed(s: &TestServer) {
    let admin = setup(s).await;
    // INFO and up: the runs' `servercode.invoke` records (DEBUG) may come before or after
    // their lines.
    let mut live = open(s, "?level=INFO", &admin, None).await;
    say(s, None, "r", 5, "log").await;
    let first = until_lines(&mut live, 5).await;
    let logged: Vec<&Value> = first
        .iter()
        .filter(|e| e["key"] == "servercode.log")
        .collect();
    let id = |i: usize| logged[i]["_id"].as_str().unwrap().to_owned();

    // `after`: right after that record, the history first, then what comes live.
    let mut resumed = open(s, &format!("?level=INFO&after={}", id(1)), &admin, None).await;
    let got = until_lines(&mut resumed, 3).await;
    assert_eq!(lines(&got), ["r 2", "r 3", "r 4"]);
    // `Last-Event-ID` wins over `after`.
    let mut by_header = open(
        s,
        &format!("?level=INFO&after={}", id(0)),
        &admin,
        Some(&id(3)),
    )
    .await;
    let got = until_lines(&mut by_header, 1).await;
    assert_eq!(lines(&got), ["r 4"]);

    say(s, None, "more", 3, "log").await;
    for stream in [&mut live, &mut resumed, &mut by_header] {
        let got = until_lines(stream, 3).await;
        assert_eq!(lines(&got), ["more 0", "more 1", "more 2"]);
        let ids = ids(&got);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        stream.quiet_for(Duration::from_millis(300)).await;
    }
    // Resuming from the last event seen brings nothing again.
    let mut again = open(s, &format!("?level=INFO&after={}", id(4)), &admin, None).await;
    let last = ids(&until_lines(&mut again, 3).await);
    let mut caught_up = open(s, "?level=INFO", &admin, Some(&last[2].to_string())).await;
    caught_up.quiet_for(Duration::from_millis(300)).await;
}

async fn a_burst_of_two_thousand_lines_arrives_in_order(s: &TestServer) {
    let admin = setup(s).await;
    let mut stream = open(s, "?level=INFO", &admin, None).await;
    say(s, None, "burst", 2000, "log").await;
    // (2 000 lines fit the run's 64 KiB log budget.)
    let got = until_lines(&mut stream, 2000).await;
    let expected: Vec<String> = (0..2000).map(|i| format!("burst {i}")).collect();
    assert_eq!(lines(&got), expected);
    let ids = ids(&got);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    stream.quiet_for(Duration::from_millis(300)).await;
}

fn capped(per_app: usize, total: usize) -> Config {
    Config {
        live_log: LiveLogConfig {
            per_app,
            total,
            keep_alive: Duration::from_millis(200),
        },
        ..Config::default()
    }
}

/// Waits until opening a stream succeeds again (the server noticed a client left).
async fn reopens(s: &TestServer, admin: &str) -> Stream {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let res = try_open(s, "", Some(admin), None).await;
        if res.status() == 200 {
            return Stream {
                res,
                buf: String::new(),
            };
        }
        assert!(
            Instant::now() < deadline,
            "the closed stream was never freed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Caps per app and in all: the stream beyond is a 503 with `Retry-After`, and a stream
/// whose client went away stops counting; an idle stream sends keep-alives.
async fn caps_refuse_and_closed_streams_free(dialect: Dialect) {
    let s = TestServer::start_with(dialect, capped(2, 3)).await;
    let admin = setup(&s).await;
    let mut one = open(&s, "", &admin, None).await;
    let two = open(&s, "", &admin, None).await;
    let headers = refused(
        try_open(&s, "", Some(&admin), None).await,
        503,
        "TEMPORARY_UNAVAILABLE_ERROR",
    )
    .await;
    assert!(headers.contains_key("retry-after"));
    // Keep-alives while idle (200 ms here).
    for _ in 0..2 {
        match one.next_block(PATIENCE).await {
            Some(Block::Comment(c)) => assert_eq!(c, "keep-alive"),
            other => panic!("expected a keep-alive, got {other:?}"),
        }
    }
    drop(two);
    let _two_again = reopens(&s, &admin).await;

    // In all: another app's first stream fills the node, its second is refused.
    let other = kumo_server::create_app(s.store.as_ref(), "other", &s.site())
        .await
        .unwrap();
    let other_admin: Value = s
        .client
        .post(format!("{}/oauth2/token", s.site()))
        .header("x-kii-appid", &other.app_id)
        .json(&json!({"client_id": other.client_id, "client_secret": other.client_secret}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let other_admin = other_admin["access_token"].as_str().unwrap();
    let other_stream = |s: &TestServer| {
        s.client
            .get(format!(
                "{}/apps/{}/developer-log/stream",
                s.site(),
                other.app_id
            ))
            .bearer_auth(other_admin)
            .send()
    };
    let third = other_stream(&s).await.unwrap();
    assert_eq!(third.status(), 200);
    refused(
        other_stream(&s).await.unwrap(),
        503,
        "TEMPORARY_UNAVAILABLE_ERROR",
    )
    .await;
    drop(third);
    drop(one);
    drop(_two_again);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caps_refuse_and_closed_streams_free_sqlite() {
    caps_refuse_and_closed_streams_free(Dialect::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caps_refuse_and_closed_streams_free_postgres() {
    caps_refuse_and_closed_streams_free(Dialect::Postgres).await;
}

/// Shutting down ends open streams (with a last comment) rather than waiting for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_open_streams() {
    let s = TestServer::start(Dialect::Sqlite).await;
    let admin = setup(&s).await;
    let mut stream = open(&s, "", &admin, None).await;
    let stopped = tokio::time::timeout(PATIENCE, s.stop()).await;
    assert!(stopped.is_ok(), "the server waited for the stream");
    match stream.next_block(PATIENCE).await {
        Some(Block::Comment(c)) => assert_eq!(c, "the server is shutting down"),
        other => panic!("expected the last comment, got {other:?}"),
    }
    assert!(stream.next_block(Duration::from_secs(2)).await.is_none());
}

/// Two nodes on one PostgreSQL database, both writing: a tail on node A gets every record,
/// node B's included, in the log's order, none twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tail_on_one_node_receives_what_every_node_writes() {
    let a = TestServer::start(Dialect::Postgres).await;
    let admin = setup(&a).await;
    let b = a.another_node(Config::default()).await;
    let mut stream = open(&a, "?level=INFO", &admin, None).await;
    let runs = 8;
    let per_run = 25;
    let write = |node: &'static str, s: &TestServer| {
        let client = s.client.clone();
        let url = s.url("/apps/{app}/server-code/versions/current/say");
        let app = s.app.app_id.clone();
        async move {
            for run in 0..runs {
                let r = client
                    .post(&url)
                    .header("x-kii-appid", &app)
                    .json(&json!({"text": format!("{node}{run}"), "n": per_run}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
            }
        }
    };
    tokio::join!(write("a", &a), write("b", &b));
    let got = until_lines(&mut stream, 2 * runs * per_run).await;
    let ids = ids(&got);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order, none twice");
    // Every line of every run on either node, each run's in order. (Runs' records reach the
    // log in the order their runs handed them over, which need not be the order in which
    // their responses came back, so runs are not compared with each other.)
    let got_lines = lines(&got);
    for node in ["a", "b"] {
        for run in 0..runs {
            let prefix = format!("{node}{run} ");
            let mine: Vec<&String> = got_lines
                .iter()
                .filter(|l| l.starts_with(&prefix))
                .collect();
            let expected: Vec<String> = (0..per_run).map(|i| format!("{prefix}{i}")).collect();
            assert_eq!(mine, expected.iter().collect::<Vec<_>>(), "run {prefix}");
        }
    }
    // The same as the log holds, read after the fact.
    let r = a
        .get(
            "/apps/{app}/developer-log?level=INFO&limit=1500",
            Some(&admin),
        )
        .await;
    let logged: Vec<Value> = r.body["records"].as_array().unwrap().clone();
    let logged_ids: Vec<i64> = logged
        .iter()
        .filter(|e| e["key"] == "servercode.log")
        .map(|e| e["_id"].as_str().unwrap().parse().unwrap())
        .collect();
    let streamed: Vec<i64> = got
        .iter()
        .filter(|e| e["key"] == "servercode.log")
        .map(|e| e["_id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(streamed, logged_ids);
    stream.quiet_for(Duration::from_millis(300)).await;
    drop(stream);
    b.stop().await;
    a.stop().await;
}
