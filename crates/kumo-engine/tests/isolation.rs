//! Nothing a run does is visible to the next one, even on the same thread and runtime.

use std::sync::Arc;

use kumo_engine::{
    AppEnv, Engine, EngineConfig, Host, HostRequest, HostResponse, Invocation, Limits, LogLine,
    Returned,
};

struct NoHost;

impl Host for NoHost {
    fn kii(&self, _: HostRequest) -> HostResponse {
        HostResponse {
            status: 500,
            headers: Vec::new(),
            body: String::new(),
        }
    }
    fn fetch(&self, _: &str, _: HostRequest) -> Result<HostResponse, String> {
        Err("no".into())
    }
    fn admin_token(&self) -> Result<String, String> {
        Err("no".into())
    }
    fn finished(&self, _: Vec<LogLine>) {}
}

fn run(engine: &Engine, source: &str) -> Returned {
    let invocation = Invocation {
        program: engine.program(source).unwrap(),
        endpoint: "main".into(),
        params_json: "{}".into(),
        caller_token: None,
        env: AppEnv {
            app_id: "a".into(),
            app_key: "k".into(),
            base_url: "http://x/api".into(),
        },
        limits: Limits {
            max_steps: 1_000_000,
            ..Limits::default()
        },
        host: Arc::new(NoHost),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let outcome = rt.block_on(engine.invoke(invocation).unwrap_or_else(|_| panic!("busy")));
    outcome.result.expect("the run succeeds")
}

#[test]
fn runs_share_no_state() {
    // One thread: both runs use the same QuickJS runtime.
    let engine = Engine::start(EngineConfig {
        workers: 1,
        queue: 4,
    })
    .unwrap();
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
    let engine = Engine::start(EngineConfig {
        workers: 1,
        queue: 4,
    })
    .unwrap();
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
