//! Target `engine_run`: arbitrary code deployed and run under tight limits. Whatever the code
//! does, the process survives and the run ends with an outcome (a value or a failure), within
//! a bound well past its own time limit. The host answers every SDK request with an empty
//! object, so runs exercise the SDK and bridge without a server.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use kumo_engine::{
    AppEnv, Engine, EngineConfig, Host, HostRequest, HostResponse, Invocation, Limits, LogLine,
};

/// Short enough that a fuzzer gets many runs a second even from code that spins.
fn limits() -> Limits {
    Limits {
        timeout: Duration::from_millis(100),
        max_steps: 5_000,
        memory_bytes: 16 << 20,
        stack_bytes: 256 << 10,
        log_bytes: 4 << 10,
    }
}

/// How long past its own timeout a run may take to report before it counts as hung.
const REPORT_BOUND: Duration = Duration::from_secs(10);

struct NullHost;

impl Host for NullHost {
    fn kii(&self, _request: HostRequest, _deadline: Instant) -> HostResponse {
        HostResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: "{}".into(),
        }
    }
    fn fetch(
        &self,
        url: &str,
        _request: HostRequest,
        _deadline: Instant,
    ) -> Result<HostResponse, String> {
        Err(format!("outbound HTTP to {url} is not allowed"))
    }
    fn admin_token(&self, _deadline: Instant) -> Result<String, String> {
        Ok("admin-token".into())
    }
    fn answering(&self, _logs: Vec<LogLine>) {}
    fn finished(&self, _logs: Vec<LogLine>) {}
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::start(EngineConfig {
            workers: 2,
            queue: 8,
            ..EngineConfig::default()
        })
        .expect("engine")
    })
}

pub fn run(data: &[u8]) {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    // Verified and compiled once, as a deploy is; refused code is the verifier target's business.
    let Ok(program) = engine().program(source) else {
        return;
    };
    // `main` when the code has one, else its first function: every accepted input runs.
    let endpoint = if program.endpoints.contains_key("main") {
        "main".to_owned()
    } else {
        program
            .endpoints
            .keys()
            .min()
            .map_or("main".to_owned(), |e| e.to_string())
    };
    let invocation = Invocation {
        program,
        endpoint,
        params_json: r#"{"a":1,"s":"x"}"#.into(),
        caller_token: None,
        env: AppEnv {
            app_id: "fuzzapp".into(),
            app_key: "fuzzkey".into(),
            base_url: "http://127.0.0.1:1/api".into(),
        },
        limits: limits(),
        host: Arc::new(NullHost),
    };
    let outcome = engine()
        .invoke(invocation)
        .unwrap_or_else(|_| panic!("the engine refused a run with nothing else queued"));
    crate::runtime().block_on(async {
        tokio::time::timeout(limits().timeout + REPORT_BOUND, outcome)
            .await
            .unwrap_or_else(|_| panic!("no outcome within the bound for {source:?}"))
    });
}
