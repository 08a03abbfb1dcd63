//! Data-driven engine tests: every `cases/*.js` file is a server-code source whose leading
//! `// key: value` comment lines say how to call it and what must come out.
//!
//! Directives: `endpoint` (default `main`), `params` (JSON, default `{}`), `token`, `timeout_ms`,
//! `max_steps`, `memory_mb`, `log_bytes`; expectations: `returns` (the JSON of the returned
//! value, or `undefined`), `timeout_response` (JSON), `fails` (a `details.errorCode`),
//! `message` (a substring of the failure message), `steps`, `log` (repeatable, `LEVEL text`,
//! matched in order as substrings), `no_log`, `refused` (a substring of the deploy error),
//! `never` (repeatable: text that appears nowhere in the outcome or the logs).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kumo_engine::{
    AppEnv, Engine, EngineConfig, Host, HostRequest, HostResponse, Invocation, Limits, LogLine,
    Returned,
};

#[derive(Default)]
struct RecordingHost {
    /// Lines handed over with the answer, until the run finishes.
    early: Mutex<Vec<LogLine>>,
    logs: Mutex<Option<Vec<LogLine>>>,
    requests: Mutex<Vec<HostRequest>>,
}

impl Host for RecordingHost {
    fn kii(&self, request: HostRequest, _: Instant) -> HostResponse {
        let body = serde_json::json!({
            "method": request.method,
            "path": request.path,
            "body": request.body,
        })
        .to_string();
        self.requests.lock().unwrap().push(request);
        HostResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body,
        }
    }
    fn fetch(&self, url: &str, _request: HostRequest, _: Instant) -> Result<HostResponse, String> {
        Err(format!("outbound HTTP to {url} is not allowed"))
    }
    fn admin_token(&self, _: Instant) -> Result<String, String> {
        Ok("admin-token".into())
    }
    fn answering(&self, logs: Vec<LogLine>) {
        self.early.lock().unwrap().extend(logs);
    }
    fn finished(&self, logs: Vec<LogLine>) {
        let mut all = std::mem::take(&mut *self.early.lock().unwrap());
        all.extend(logs);
        *self.logs.lock().unwrap() = Some(all);
    }
}

impl RecordingHost {
    fn wait_logs(&self) -> Vec<LogLine> {
        for _ in 0..500 {
            if let Some(logs) = self.logs.lock().unwrap().take() {
                return logs;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the run never finished");
    }
}

struct Case {
    directives: Vec<(String, String)>,
    source: String,
}

impl Case {
    fn get(&self, key: &str) -> Option<&str> {
        self.directives
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    fn all(&self, key: &str) -> Vec<&str> {
        self.directives
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

fn parse(source: String) -> Case {
    let mut directives = Vec::new();
    for line in source.lines() {
        let Some(rest) = line.strip_prefix("// ") else {
            break;
        };
        if let Some((key, value)) = rest.split_once(": ") {
            directives.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    Case { directives, source }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    })
}

fn engine() -> &'static Engine {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::start(EngineConfig {
            workers: 4,
            queue: 64,
            app_share: 0,
        })
        .unwrap()
    })
}

fn run_case(path: &Path) -> Result<(), String> {
    let case = parse(std::fs::read_to_string(path).unwrap());
    let program = match engine().program(&case.source) {
        Ok(program) => program,
        Err(e) => {
            return match case.get("refused") {
                Some(expected) if e.to_string().contains(expected) => Ok(()),
                _ => Err(format!("deploy refused: {e}")),
            }
        }
    };
    if let Some(expected) = case.get("refused") {
        return Err(format!(
            "deploy accepted, expected refusal containing {expected:?}"
        ));
    }
    let mut limits = Limits::default();
    if let Some(ms) = case.get("timeout_ms") {
        limits.timeout = Duration::from_millis(ms.parse().unwrap());
    }
    if let Some(steps) = case.get("max_steps") {
        limits.max_steps = steps.parse().unwrap();
    }
    if let Some(mb) = case.get("memory_mb") {
        limits.memory_bytes = mb.parse::<usize>().unwrap() << 20;
    }
    if let Some(bytes) = case.get("log_bytes") {
        limits.log_bytes = bytes.parse().unwrap();
    }
    let host = Arc::new(RecordingHost::default());
    let invocation = Invocation {
        program,
        endpoint: case.get("endpoint").unwrap_or("main").to_string(),
        params_json: case.get("params").unwrap_or("{}").to_string(),
        caller_token: case.get("token").map(str::to_string),
        env: AppEnv {
            app_id: "app1".into(),
            app_key: "key1".into(),
            base_url: "http://kumo.test/api".into(),
        },
        limits,
        host: host.clone(),
    };
    let outcome = runtime().block_on(engine().invoke(invocation).map_err(|_| "busy")?);
    let logs = host.wait_logs();
    let mut problems = Vec::new();
    match (
        &outcome.result,
        case.get("returns"),
        case.get("timeout_response"),
        case.get("fails"),
    ) {
        (Ok(Returned::Value(got)), Some(expected), None, None) => {
            let got_value = got
                .as_deref()
                .map(|g| serde_json::from_str::<serde_json::Value>(g).unwrap());
            let expected_value = (expected != "undefined")
                .then(|| serde_json::from_str::<serde_json::Value>(expected).unwrap());
            if got_value != expected_value {
                problems.push(format!("returned {got:?}, expected {expected}"));
            }
        }
        (Ok(Returned::TimeoutResponse(got)), None, Some(expected), None) => {
            let got: serde_json::Value = serde_json::from_str(got).unwrap();
            let expected: serde_json::Value = serde_json::from_str(expected).unwrap();
            if got != expected {
                problems.push(format!("timeout response {got}, expected {expected}"));
            }
        }
        (Err(failure), None, None, Some(code)) => {
            if failure.kind.code() != code {
                problems.push(format!(
                    "failed with {} ({}), expected {code}",
                    failure.kind.code(),
                    failure.message
                ));
            }
            if let Some(message) = case.get("message") {
                if !failure.message.contains(message) {
                    problems.push(format!("message {:?} lacks {message:?}", failure.message));
                }
            }
        }
        (result, ..) => problems.push(format!("unexpected outcome {result:?}")),
    }
    if let Some(steps) = case.get("steps") {
        if outcome.steps.to_string() != steps {
            problems.push(format!("steps {}, expected {steps}", outcome.steps));
        }
    }
    let mut remaining = logs.iter();
    for expected in case.all("log") {
        let (level, text) = expected.split_once(' ').unwrap_or((expected, ""));
        if !remaining.any(|line| line.level.as_str() == level && line.message.contains(text)) {
            problems.push(format!("no log line {expected:?} (in order) in {logs:?}"));
        }
    }
    for text in case.all("never") {
        let everything = format!("{outcome:?} {logs:?}");
        if everything.contains(text) {
            problems.push(format!("{text:?} leaked: {everything}"));
        }
    }
    if case.get("no_log").is_some() && !logs.is_empty() {
        problems.push(format!("expected no log lines, got {logs:?}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

#[test]
fn cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "js"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 10, "cases missing in {}", dir.display());
    let failures: Vec<String> = paths
        .iter()
        .filter_map(|path| {
            run_case(path)
                .err()
                .map(|e| format!("{}: {e}", path.file_name().unwrap().to_string_lossy()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        paths.len(),
        failures.join("\n")
    );
}
