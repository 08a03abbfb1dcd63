//! How runs share the engine: host calls end by the run's deadline, a panicking host call does
//! not break the engine, one app's spinning runs leave threads for other apps, and a run that
//! waited in the queue for its whole time limit ends as a timeout without running.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kumo_engine::{
    AppEnv, Engine, EngineConfig, FailureKind, Host, HostRequest, HostResponse, Invocation, Limits,
    LogLine, Outcome, Returned,
};

/// How a test host behaves in its blocking calls.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Answers at once.
    Prompt,
    /// Waits for an answer that never comes, giving up at the run's deadline as a host must.
    NeverAnswers,
    /// Panics.
    Panics,
}

struct TestHost(Behaviour);

impl TestHost {
    fn wait(&self, deadline: Instant) {
        match self.0 {
            Behaviour::Prompt => {}
            Behaviour::NeverAnswers => {
                std::thread::sleep(deadline.saturating_duration_since(Instant::now()))
            }
            Behaviour::Panics => panic!("the host call failed"),
        }
    }
}

impl Host for TestHost {
    fn kii(&self, _: HostRequest, deadline: Instant) -> HostResponse {
        self.wait(deadline);
        HostResponse {
            status: 503,
            headers: vec![("content-type".into(), "application/json".into())],
            body: r#"{"errorCode":"TEMPORARY_UNAVAILABLE_ERROR","message":"gave up"}"#.into(),
        }
    }
    fn fetch(&self, _: &str, _: HostRequest, deadline: Instant) -> Result<HostResponse, String> {
        self.wait(deadline);
        Err("gave up".into())
    }
    fn admin_token(&self, deadline: Instant) -> Result<String, String> {
        self.wait(deadline);
        Err("gave up".into())
    }
    fn answering(&self, _: Vec<LogLine>) {}
    fn finished(&self, _: Vec<LogLine>) {}
}

const CODE: &str = r#"
function trivial(params, context) { return "fine"; }
function spin(params, context) { while (true) {} }
function admin(params, context) {
  try { context.getAppAdminContext(); } catch (e) { return "recovered"; }
  return "no error";
}
function save(params, context, done) {
  Kii.bucketWithName("b").createObject().save({
    success: function () { done("saved"); },
    failure: function () { done("recovered"); }
  });
}
function ajax(params, context, done) {
  $.ajax({ url: "http://127.0.0.1:9/", type: "GET" })
    .done(function () { done("reached"); })
    .fail(function () { done("recovered"); });
}
"#;

fn engine(workers: usize, app_share: usize) -> Engine {
    engine_with_queue(workers, app_share, 64)
}

fn engine_with_queue(workers: usize, app_share: usize, queue: usize) -> Engine {
    Engine::start(EngineConfig {
        workers,
        queue,
        app_share,
    })
    .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// Queues `endpoint` of [`CODE`] for `app`; the future resolves with its outcome.
fn start(
    engine: &Engine,
    app: &str,
    endpoint: &str,
    timeout: Duration,
    behaviour: Behaviour,
) -> impl std::future::Future<Output = Outcome> + Send + use<> {
    try_start(engine, app, endpoint, timeout, behaviour)
        .unwrap_or_else(|_| panic!("the engine is busy"))
}

/// `count` runs of `app`'s endpoint that loops until its `timeout`, started on the runtime.
fn spinning_runs(
    engine: &Engine,
    app: &str,
    count: usize,
    timeout: Duration,
) -> Vec<tokio::task::JoinHandle<Outcome>> {
    (0..count)
        .map(|_| tokio::spawn(start(engine, app, "spin", timeout, Behaviour::Prompt)))
        .collect()
}

fn try_start(
    engine: &Engine,
    app: &str,
    endpoint: &str,
    timeout: Duration,
    behaviour: Behaviour,
) -> Result<impl std::future::Future<Output = Outcome> + Send + use<>, kumo_engine::Busy> {
    let invocation = Invocation {
        program: engine.program(CODE).unwrap(),
        endpoint: endpoint.into(),
        params_json: "{}".into(),
        caller_token: None,
        env: AppEnv {
            app_id: app.into(),
            app_key: format!("key-{app}"),
            base_url: "http://x/api".into(),
        },
        limits: Limits {
            timeout,
            max_steps: u64::MAX,
            ..Limits::default()
        },
        host: Arc::new(TestHost(behaviour)),
    };
    engine.invoke(invocation)
}

/// Waits for a run that must end well within `within` (a bound against hanging, not a latency
/// assertion).
async fn outcome_within(
    within: Duration,
    run: impl std::future::Future<Output = Outcome>,
) -> Outcome {
    tokio::time::timeout(within, run)
        .await
        .expect("the run never answered")
}

fn failure_kind(outcome: &Outcome) -> Option<FailureKind> {
    outcome.result.as_ref().err().map(|f| f.kind)
}

/// A host call that waits until the run's deadline ends the run as a timeout, whatever the
/// code does with the call's error: no JavaScript runs past the deadline.
#[test]
fn host_calls_end_with_the_run_timeout() {
    let engine = engine(2, 0);
    let rt = runtime();
    for endpoint in ["admin", "save", "ajax"] {
        let run = start(
            &engine,
            "a",
            endpoint,
            Duration::from_millis(300),
            Behaviour::NeverAnswers,
        );
        let outcome = rt.block_on(outcome_within(Duration::from_secs(10), run));
        assert_eq!(
            failure_kind(&outcome),
            Some(FailureKind::Timeout),
            "{endpoint}: {outcome:?}"
        );
    }
}

/// A host call that panics fails its run; the engine keeps its count of running runs, so the
/// next run on the same (single) thread still starts.
#[test]
fn a_panicking_host_call_leaves_the_engine_working() {
    let engine = engine(1, 0);
    let rt = runtime();
    for _ in 0..3 {
        let run = start(
            &engine,
            "a",
            "save",
            Duration::from_secs(5),
            Behaviour::Panics,
        );
        let outcome = rt.block_on(outcome_within(Duration::from_secs(10), run));
        assert!(outcome.result.is_err(), "{outcome:?}");
    }
    // The answer goes out while the run unwinds; let the thread get back to the queue first.
    std::thread::sleep(Duration::from_millis(200));
    let run = start(
        &engine,
        "a",
        "trivial",
        Duration::from_secs(5),
        Behaviour::Prompt,
    );
    let outcome = rt.block_on(outcome_within(Duration::from_secs(10), run));
    assert_eq!(outcome.result, Ok(Returned::Value(Some("\"fine\"".into()))));
}

/// With every kept thread held by one app's spinning runs, another app's run gets a lent
/// thread and answers while they still spin.
#[test]
fn spinning_runs_of_one_app_leave_threads_for_another() {
    let engine = engine(2, 0);
    let rt = runtime();
    rt.block_on(async {
        let spinning = spinning_runs(&engine, "a", 2, Duration::from_secs(4));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(engine.load().saturated(), "{:?}", engine.load());
        let trivial = start(
            &engine,
            "b",
            "trivial",
            Duration::from_secs(4),
            Behaviour::Prompt,
        );
        let outcome = outcome_within(Duration::from_secs(10), trivial).await;
        assert_eq!(outcome.result, Ok(Returned::Value(Some("\"fine\"".into()))));
        assert!(
            spinning.iter().all(|run| !run.is_finished()),
            "the other app's run waited for the spinning runs to end"
        );
        for run in spinning {
            let outcome = run.await.unwrap();
            assert_eq!(failure_kind(&outcome), Some(FailureKind::Timeout));
        }
    });
}

/// An app holds at most its share of the threads: its further runs wait in the queue, and a
/// run whose whole time limit goes by there ends as a timeout without running.
#[test]
fn an_app_beyond_its_share_waits_and_a_run_expires_in_the_queue() {
    let engine = engine(1, 2);
    let rt = runtime();
    rt.block_on(async {
        let spinning = spinning_runs(&engine, "a", 2, Duration::from_millis(1_500));
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Over app a's share: queued behind its spinning runs, its time runs out there.
        let queued = start(
            &engine,
            "a",
            "trivial",
            Duration::from_millis(300),
            Behaviour::Prompt,
        );
        // Another app's run goes ahead of it.
        let other = start(
            &engine,
            "b",
            "trivial",
            Duration::from_secs(4),
            Behaviour::Prompt,
        );
        let other = outcome_within(Duration::from_secs(10), other).await;
        assert!(other.result.is_ok(), "{other:?}");
        let queued = outcome_within(Duration::from_secs(10), queued).await;
        assert_eq!(
            failure_kind(&queued),
            Some(FailureKind::Timeout),
            "{queued:?}"
        );
        assert_eq!(queued.steps, 0);
        for run in spinning {
            run.await.unwrap();
        }
    });
    assert!(!engine.load().saturated());
}

/// Runs of one app waiting beyond its share fill at most three quarters of the queue: another
/// app can still queue a run when that app is answered busy.
#[test]
fn one_app_cannot_fill_the_whole_queue() {
    let engine = engine_with_queue(1, 1, 8);
    let rt = runtime();
    rt.block_on(async {
        let timeout = Duration::from_millis(1_000);
        let mut runs = vec![tokio::spawn(start(
            &engine,
            "a",
            "spin",
            timeout,
            Behaviour::Prompt,
        ))];
        let mut refused = false;
        for _ in 0..8 {
            match try_start(&engine, "a", "trivial", timeout, Behaviour::Prompt) {
                Ok(run) => runs.push(tokio::spawn(run)),
                Err(_) => {
                    refused = true;
                    break;
                }
            }
        }
        assert!(refused, "app a queued more than its part of the queue");
        let other = try_start(&engine, "b", "trivial", timeout, Behaviour::Prompt)
            .unwrap_or_else(|_| panic!("app b was refused because of app a"));
        let other = outcome_within(Duration::from_secs(10), other).await;
        assert!(other.result.is_ok(), "{other:?}");
        for run in runs {
            run.await.unwrap();
        }
    });
}
