//! Server code that hangs or spins cannot take the engine from everyone else, on SQLite and
//! PostgreSQL: a call that never answers ends at the run's deadline, `/health` tells when the
//! engine cannot start a run, and one app's spinning runs leave other apps fast answers.

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use kumo_server::{AppCredentials, Config};
use kumo_storage::Dialect;
use serde_json::{json, Value};

const CODE: &str = "function trivial(params, context) { return 'fine'; }\n\
function spin(params, context) { while (true) {} }\n";

fn config(workers: usize, app_share: usize, timeout_ms: u64) -> Config {
    let mut config = Config::default();
    config.server_code.limits.timeout = Duration::from_millis(timeout_ms);
    config.server_code.limits.max_steps = u64::MAX;
    config.server_code.engine.workers = workers;
    config.server_code.engine.queue = 256;
    config.server_code.engine.app_share = app_share;
    config
}

/// Deploys `source` to the server's app and makes it current.
async fn deploy(s: &TestServer, source: &str) {
    let admin = s.admin().await;
    s.deploy_current(&admin, source).await;
}

/// A second app on the same server, with `source` deployed and current.
async fn other_app(s: &mut TestServer, source: &str) -> AppCredentials {
    let other = kumo_server::create_app(s.store.as_ref(), "other", &s.site())
        .await
        .unwrap();
    let first = std::mem::replace(&mut s.app, other.clone());
    deploy(s, source).await;
    s.app = first;
    other
}

/// Runs `endpoint` of `app`'s current version in a task: (status, body).
fn spawn_run(
    s: &TestServer,
    app: &AppCredentials,
    endpoint: &str,
) -> tokio::task::JoinHandle<(u16, Value)> {
    let request = s
        .client
        .post(format!(
            "{}/apps/{}/server-code/versions/current/{endpoint}",
            s.site(),
            app.app_id
        ))
        .header("content-type", "application/json")
        .body("{}");
    tokio::spawn(async move {
        let res = request.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json::<Value>().await.unwrap())
    })
}

async fn health(s: &TestServer) -> (u16, Value) {
    let res = s
        .client
        .get(s.site().replace("/api", "/health"))
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

/// Polls `/health` (for at most two seconds) until `wanted` holds; the last answer.
async fn health_until(s: &TestServer, wanted: impl Fn(u16, &Value) -> bool) -> (u16, Value) {
    let mut last = health(s).await;
    for _ in 0..40 {
        if wanted(last.0, &last.1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        last = health(s).await;
    }
    last
}

fn assert_timed_out(status: u16, body: &Value) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["details"]["errorCode"], "EXECUTION_TIMEOUT", "{body}");
}

/// `$.ajax` to a server that accepts and never answers: the run ends at its deadline with the
/// timeout outcome (its `fail` handler never runs), and while such runs hold every thread the
/// engine may have, `/health` answers 503; afterwards the engine runs code again.
async fn a_call_that_never_answers_ends_at_the_deadline(dialect: Dialect) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    // One kept thread, so four hanging runs hold every thread the engine may lend.
    let mut config = config(1, 4, 2_000);
    config.server_code.ajax_hosts = vec!["127.0.0.1".into()];
    let s = TestServer::start_with(dialect, config).await;
    let code = format!(
        r#"{CODE}
function hang(params, context, done) {{
  $.ajax({{ url: "http://127.0.0.1:{port}/", type: "GET" }})
    .done(function () {{ done("answered"); }})
    .fail(function () {{ done("recovered"); }});
}}
"#
    );
    deploy(&s, &code).await;
    let app = s.app.clone();
    let hanging: Vec<_> = (0..4).map(|_| spawn_run(&s, &app, "hang")).collect();
    let (status, stalled) = health_until(&s, |status, _| status == 503).await;
    assert_eq!(
        status, 503,
        "/health said ok while every engine thread hung: {stalled}"
    );
    assert_eq!(
        stalled["errorCode"], "TEMPORARY_UNAVAILABLE_ERROR",
        "{stalled}"
    );
    assert_eq!(stalled["engine"]["saturated"], true, "{stalled}");
    for run in hanging {
        let (status, body) = run.await.unwrap();
        assert_timed_out(status, &body);
    }
    let (status, body) = health_until(&s, |status, _| status == 200).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = spawn_run(&s, &app, "trivial").await.unwrap();
    assert_eq!((status, body), (200, json!({"returnedValue": "fine"})));
    s.stop().await;
    silent.abort();
}

/// 32 spinning runs of app A (more than the engine's kept threads) do not slow app B's
/// trivial endpoint: its p99 stays far below the spinning runs' 3 s timeout (typically a few
/// milliseconds; printed; the bound leaves room for a stalled machine), `/health` says the engine is saturated, and
/// every spinning run, also those that waited beyond A's share, ends with the timeout.
async fn one_apps_spinning_runs_leave_the_engine_to_others(dialect: Dialect) {
    let mut s = TestServer::start_with(dialect, config(16, 0, 3_000)).await;
    deploy(&s, CODE).await;
    let b = other_app(&mut s, CODE).await;
    let a = s.app.clone();
    // Warm app B's version up so its first measured call does not compile anything.
    spawn_run(&s, &b, "trivial").await.unwrap();
    let started = Instant::now();
    let spinning: Vec<_> = (0..32).map(|_| spawn_run(&s, &a, "spin")).collect();
    let (status, body) = health_until(&s, |_, body| body["engine"]["saturated"] == true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["engine"]["saturated"], true, "{body}");
    let mut latencies = Vec::new();
    while latencies.len() < 100 {
        let sent = Instant::now();
        let (status, body) = spawn_run(&s, &b, "trivial").await.unwrap();
        latencies.push(sent.elapsed());
        assert_eq!((status, body), (200, json!({"returnedValue": "fine"})));
    }
    assert!(
        spinning.iter().any(|run| !run.is_finished()),
        "the measurement must overlap the spinning runs ({:?})",
        started.elapsed()
    );
    latencies.sort();
    let p99 = latencies[98];
    eprintln!("app B's trivial endpoint beside 32 spinning runs of app A: p99 {p99:?}");
    assert!(p99 < Duration::from_millis(1_000), "p99 {p99:?}");
    for run in spinning {
        let (status, body) = run.await.unwrap();
        assert_timed_out(status, &body);
    }
    let (status, body) = health_until(&s, |_, body| body["engine"]["saturated"] == false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["engine"]["saturated"], false, "{body}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_never_answers_sqlite() {
    a_call_that_never_answers_ends_at_the_deadline(Dialect::Sqlite).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_never_answers_postgres() {
    a_call_that_never_answers_ends_at_the_deadline(Dialect::Postgres).await;
}
/// One backend after the other: the latency bound must not measure the other backend's
/// spinning runs too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spinning_app_on_both_backends() {
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        one_apps_spinning_runs_leave_the_engine_to_others(dialect).await;
    }
}
