//! End to end: the real Kii JavaScript SDK (`kii-cloud-sdk@2.4.19`, unmodified, under Node)
//! runs the suite in `e2e/test/` against the real `kumo` binary, once per backend.
//! Needs `npm ci --prefix e2e` first (the README's test command does it). The console's
//! browser test (`e2e/test/console.test.js`) runs in the same suite, on an app of its own.

mod support;

use std::path::PathBuf;
use std::process::Command;

use kumo_storage::testing::TestDb;
use serde_json::Value;
use support::{kumo, temp_dir, Server};

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Another app in the server's store (`kumo app create`, which a running server serves at
/// once), for a test that moves the current server-code version, which the SDK suite's
/// server-code tests own in the default app: the console test, and the REST replay's
/// current-version cases.
fn extra_app(name: &str, store: &[&str]) -> Value {
    let out = kumo()
        .args(["app", "create", "--name", name])
        .args(store)
        .output()
        .expect("run kumo app create");
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).expect("app create prints JSON")
}

fn run_sdk_suite(server: &Server, console: &Value, replay: &Value) {
    let root = workspace_root();
    assert!(
        root.join("e2e/node_modules/kii-cloud-sdk").exists(),
        "the Kii SDK is not installed: run `npm ci --prefix e2e` (the README's test command does)"
    );
    let c = &server.creds;
    let out = Command::new("node")
        .args([
            "--test",
            "--test-reporter=spec",
            "e2e/test/",
            "e2e/sandbox-sdk/",
        ])
        .current_dir(&root)
        .env("KUMO_SITE", server.site())
        .env("KUMO_APP_ID", c["appID"].as_str().unwrap())
        .env("KUMO_APP_KEY", c["appKey"].as_str().unwrap())
        .env("KUMO_CLIENT_ID", c["clientID"].as_str().unwrap())
        .env("KUMO_CLIENT_SECRET", c["clientSecret"].as_str().unwrap())
        .env("KUMO_CONSOLE_APP_ID", console["appID"].as_str().unwrap())
        .env(
            "KUMO_CONSOLE_CLIENT_ID",
            console["clientID"].as_str().unwrap(),
        )
        .env(
            "KUMO_CONSOLE_CLIENT_SECRET",
            console["clientSecret"].as_str().unwrap(),
        )
        .env("KUMO_REPLAY_APP_ID", replay["appID"].as_str().unwrap())
        .env(
            "KUMO_REPLAY_CLIENT_ID",
            replay["clientID"].as_str().unwrap(),
        )
        .env(
            "KUMO_REPLAY_CLIENT_SECRET",
            replay["clientSecret"].as_str().unwrap(),
        )
        .output()
        .expect("run node (is Node.js installed?)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Shown by `cargo test -- --nocapture`, and on failure.
    println!("{stdout}\n{stderr}");
    assert!(
        out.status.success(),
        "the SDK suite failed:\n{stdout}\n{stderr}"
    );
    // The spec reporter closes with "ℹ pass N".
    let passed = stdout.lines().find_map(|l| {
        l.trim()
            .strip_prefix("ℹ pass ")
            .and_then(|n| n.trim().parse::<u32>().ok())
    });
    assert!(
        passed.is_some_and(|n| n > 0),
        "the SDK suite ran no test:\n{stdout}"
    );
}

#[test]
fn kii_sdk_suite_on_sqlite() {
    let dir = temp_dir("e2e-sqlite");
    let server = Server::start(&dir, &[], &[]);
    let store = ["--data-dir", dir.to_str().unwrap()];
    let console = extra_app("console-e2e", &store);
    let replay = extra_app("replay-e2e", &store);
    run_sdk_suite(&server, &console, &replay);
    assert!(server.terminate().status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kii_sdk_suite_on_postgres() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(TestDb::postgres());
    let dir = temp_dir("e2e-postgres");
    let server = Server::start(&dir, &["--database-url", db.url.as_str()], &[]);
    let store = ["--database-url", db.url.as_str()];
    let console = extra_app("console-e2e", &store);
    let replay = extra_app("replay-e2e", &store);
    run_sdk_suite(&server, &console, &replay);
    assert!(server.terminate().status.success());
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}
