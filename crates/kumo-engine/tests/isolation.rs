//! Nothing a run does is visible to the next one, even on the same thread and runtime.

use std::sync::Arc;
use std::time::Instant;

use kumo_engine::{
    AppEnv, Engine, EngineConfig, Host, HostRequest, HostResponse, Invocation, Limits, LogLine,
    Returned,
};

struct NoHost;

impl Host for NoHost {
    fn kii(&self, _: HostRequest, _: Instant) -> HostResponse {
        HostResponse {
            status: 500,
            headers: Vec::new(),
            body: String::new(),
        }
    }
    fn fetch(&self, _: &str, _: HostRequest, _: Instant) -> Result<HostResponse, String> {
        Err("no".into())
    }
    fn admin_token(&self, _: Instant) -> Result<String, String> {
        Err("no".into())
    }
    fn answering(&self, _: Vec<LogLine>) {}
    fn finished(&self, _: Vec<LogLine>) {}
}

fn run(engine: &Engine, source: &str) -> Returned {
    try_run(engine, source, "a", Limits::default()).expect("the run succeeds")
}

fn try_run(
    engine: &Engine,
    source: &str,
    app: &str,
    limits: Limits,
) -> Result<Returned, kumo_engine::Failure> {
    let invocation = Invocation {
        program: engine.program(source).unwrap(),
        endpoint: "main".into(),
        params_json: "{}".into(),
        caller_token: None,
        env: AppEnv {
            app_id: app.into(),
            app_key: format!("key-{app}"),
            base_url: "http://x/api".into(),
        },
        limits: Limits {
            max_steps: 1_000_000,
            ..limits
        },
        host: Arc::new(NoHost),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let outcome = rt.block_on(engine.invoke(invocation).unwrap_or_else(|_| panic!("busy")));
    outcome.result
}

fn one_thread() -> Engine {
    Engine::start(EngineConfig {
        workers: 1,
        queue: 4,
        app_share: 0,
    })
    .unwrap()
}

/// A realm is built once per thread and put back after each run: a run that tears down the
/// natives and the SDK leaves the next run (same thread, same kind of realm) whole, and each
/// run sees its own app.
#[test]
fn the_sdk_and_natives_survive_a_hostile_run() {
    let engine = one_thread();
    // Both programs name the SDK and reach the global object: the same kind of realm.
    let hostile = r#"
        function main(params, context) {
          var g = globalThis;
          Kii.getAppID = function () { return "evil"; };
          KiiObject.prototype.set = null;
          Kii.setCurrentUser(null);
          var fns = [console.log, context.getAppID, g["__kii" + "_http"]];
          delete g.console;
          delete g.Kii;
          delete g["__kii" + "_http"];
          delete g["__kii" + "_sdk"];
          for (var i = 0; i < 2000; i++) { var garbage = { n: i, s: "x".repeat(1000) }; }
          return fns.length;
        }"#;
    assert_eq!(
        try_run(&engine, hostile, "a", Limits::default()),
        Ok(Returned::Value(Some("3".into())))
    );
    let observer = r#"
        function main(params, context) {
          var g = globalThis;
          console.log("still here");
          var o = Kii.bucketWithName("b").createObject();
          o.set("n", 1);
          return [Kii.getAppID(), context.getAppID(), typeof g.console, o.get("n"),
                  Kii.getCurrentUser() === null];
        }"#;
    for app in ["a", "b"] {
        assert_eq!(
            try_run(&engine, observer, app, Limits::default()),
            Ok(Returned::Value(Some(format!(
                r#"["{app}","{app}","object",1,true]"#
            ))))
        );
    }
}

/// A run stopped by its memory limit leaves nothing behind for the next one.
#[test]
fn a_run_after_a_memory_failure_starts_clean() {
    let engine = one_thread();
    let small = Limits {
        memory_bytes: 8 << 20,
        ..Limits::default()
    };
    let hog = r#"
        function main(params, context) {
          globalThis.marker = 1;
          var keep = [];
          while (true) { keep.push("y".repeat(100000) + keep.length); }
        }"#;
    let failed = try_run(&engine, hog, "a", small.clone()).unwrap_err();
    assert_eq!(
        failed.kind,
        kumo_engine::FailureKind::MemoryLimit,
        "{failed:?}"
    );
    let after = r#"
        function main(params, context) {
          var s = "z".repeat(4000000);
          return [typeof globalThis.marker, s.length];
        }"#;
    assert_eq!(
        try_run(&engine, after, "a", small),
        Ok(Returned::Value(Some(r#"["undefined",4000000]"#.into())))
    );
}

#[test]
fn runs_share_no_state() {
    // One thread: both runs use the same QuickJS runtime.
    let engine = one_thread();
    let polluter = r#"
        var leaked = "top-level";
        function main(params, context) {
          Object.prototype.polluted = "yes";
          Array.prototype.push = function () { return "hijacked"; };
          JSON.stringify = function () { return "hijacked"; };
          globalThis.shared = 42;
          Math.random = function () { return 4; };
          return "polluted";
        }"#;
    assert_eq!(
        run(&engine, polluter),
        Returned::Value(Some("\"polluted\"".into()))
    );
    let observer = r#"
        function main(params, context) {
          var a = [];
          a.push(1);
          return {
            polluted: typeof ({}).polluted,
            push: a.length,
            shared: typeof globalThis.shared,
            leaked: typeof leaked,
            random: Math.random() !== 4,
            json: JSON.stringify({ok: true})
          };
        }"#;
    assert_eq!(
        run(&engine, observer),
        Returned::Value(Some(
            r#"{"polluted":"undefined","push":1,"shared":"undefined","leaked":"undefined","random":true,"json":"{\"ok\":true}"}"#.into()
        ))
    );
}

#[test]
fn memory_left_by_a_run_does_not_count_against_the_next() {
    let engine = one_thread();
    // About 40 MiB of a 64 MiB limit, kept alive until the run ends, in cycles the reference
    // counts alone cannot free.
    let hog = r#"
        function main(params, context) {
          var keep = [];
          for (var i = 0; i < 400; i++) {
            var a = { big: "x".repeat(100000) + i }; var b = { a: a }; a.b = b;
            keep.push(a);
          }
          return keep.length;
        }"#;
    for _ in 0..3 {
        assert_eq!(run(&engine, hog), Returned::Value(Some("400".into())));
    }
}

/// A thread keeps a few kinds of realm; runs of more kinds than that, in turn, each get the
/// realm they need (older kinds are dropped and built again).
#[test]
fn many_kinds_of_realm_on_one_thread() {
    let engine = one_thread();
    let programs = [
        ("typeof new Date().getTime()", "\"number\""),
        ("/a+/.test('caa')", "true"),
        ("new Map([[1, 2]]).get(1)", "2"),
        ("new Uint8Array(3).length", "3"),
        ("typeof new Proxy({}, {})", "\"object\""),
        ("String(BigInt(7))", "\"7\""),
        ("1 + 1", "2"),
    ];
    for _ in 0..2 {
        for (expression, expected) in programs {
            let source = format!("function main(params, context) {{ return {expression}; }}");
            assert_eq!(
                run(&engine, &source),
                Returned::Value(Some(expected.into())),
                "{expression}"
            );
        }
    }
}

/// A run with a larger memory limit than the thread's realm was built for gets a realm with
/// room for it.
#[test]
fn a_larger_memory_limit_gets_a_larger_realm() {
    let engine = one_thread();
    let grow = r#"
        function main(params, context) {
          var keep = [];
          for (var i = 0; i < 800; i++) { keep.push("x".repeat(100000) + i); }
          return keep.length;
        }"#;
    let small = try_run(&engine, grow, "a", Limits::default()).unwrap_err();
    assert_eq!(
        small.kind,
        kumo_engine::FailureKind::MemoryLimit,
        "{small:?}"
    );
    let large = Limits {
        memory_bytes: 256 << 20,
        ..Limits::default()
    };
    assert_eq!(
        try_run(&engine, grow, "a", large),
        Ok(Returned::Value(Some("800".into())))
    );
}
