//! Runs of a trivial endpoint straight through the engine (no HTTP, no storage), 32 at a time:
//! `cargo run --release -p kumo-engine --example engine_bench [RUNS]`.

use std::sync::Arc;
use std::time::Instant;

use kumo_engine::{
    AppEnv, Engine, EngineConfig, Host, HostRequest, HostResponse, Invocation, Limits, LogLine,
};

struct NullHost;

impl Host for NullHost {
    fn kii(&self, _: HostRequest, _: std::time::Instant) -> HostResponse {
        HostResponse {
            status: 200,
            headers: Vec::new(),
            body: "{}".into(),
        }
    }
    fn fetch(
        &self,
        _: &str,
        _: HostRequest,
        _: std::time::Instant,
    ) -> Result<HostResponse, String> {
        Err("no".into())
    }
    fn admin_token(&self, _: std::time::Instant) -> Result<String, String> {
        Ok("t".into())
    }
    fn answering(&self, _: Vec<LogLine>) {}
    fn finished(&self, _: Vec<LogLine>) {}
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let workers = std::env::var("WORKERS").ok().and_then(|w| w.parse().ok());
    let mut config = EngineConfig::default();
    if let Some(w) = workers {
        config.workers = w;
    }
    let engine = Arc::new(Engine::start(config).unwrap());
    // CODE overrides the endpoint `echo`, e.g. one that touches the SDK.
    let code = std::env::var("CODE")
        .unwrap_or_else(|_| "function echo(params, context) { return params; }".into());
    let program = engine.program(&code).unwrap();
    let host: Arc<dyn Host> = Arc::new(NullHost);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    rt.block_on(async {
        let per_task = runs / 32;
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let engine = engine.clone();
                let program = program.clone();
                let host = host.clone();
                tokio::spawn(async move {
                    for i in 0..per_task {
                        let run = engine
                            .invoke(Invocation {
                                program: program.clone(),
                                endpoint: "echo".into(),
                                params_json: format!("{{\"n\":{i}}}"),
                                caller_token: None,
                                env: AppEnv {
                                    app_id: "a".into(),
                                    app_key: "k".into(),
                                    base_url: "u".into(),
                                },
                                limits: Limits::default(),
                                host: host.clone(),
                            })
                            .unwrap_or_else(|_| panic!("busy"));
                        let outcome = run.await;
                        assert!(outcome.result.is_ok());
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{runs} runs in {secs:.2} s: {:.0} runs/s, {:.1} µs CPU-ish each on 2 cores",
        runs as f64 / secs,
        2e6 * secs / runs as f64
    );
}
