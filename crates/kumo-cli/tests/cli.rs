//! The `kumo` binary as an operator uses it.

mod support;

use std::os::unix::fs::PermissionsExt;

use kumo_storage::testing::TestDb;
use serde_json::{json, Value};
use support::{http_get, kumo, temp_dir, Server};

#[test]
fn first_start_creates_a_default_app_and_later_starts_reuse_it() {
    let dir = temp_dir("first");
    let server = Server::start(&dir, &[], &[]);
    let file = dir.join("default-app.json");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "credentials must be private");
    for key in ["appID", "appKey", "clientID", "clientSecret", "siteURL"] {
        assert!(
            server.creds[key].as_str().is_some_and(|v| !v.is_empty()),
            "{key}"
        );
    }
    assert!(server.site().starts_with("http://127.0.0.1:") && server.site().ends_with("/api"));
    assert!(http_get(&server.health_url()).unwrap().contains("sqlite"));

    // `app create` against the same data dir while the server runs.
    let out = kumo()
        .args(["app", "create", "--name", "second", "--data-dir"])
        .arg(&dir)
        .args(["--public-url", &server.site()])
        .env("KUMO_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let second: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_ne!(second["appID"], server.creds["appID"]);
    assert_eq!(second["siteURL"], server.site().as_str());
    // The running server serves the new app at once.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{}/oauth2/token", server.site()))
            .header("x-kii-appid", second["appID"].as_str().unwrap())
            .json(
                &json!({"client_id": second["clientID"], "client_secret": second["clientSecret"]}),
            )
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);

    let addr = server.listen_addr();
    let first_out = server.terminate();
    assert!(
        first_out.status.success(),
        "SIGTERM must be a clean exit: {:?}",
        first_out.status
    );
    let printed = String::from_utf8_lossy(&first_out.stdout);
    assert!(
        printed.contains("clientSecret"),
        "the first start prints the credentials"
    );
    assert!(
        printed.contains(&format!("Console: http://{addr}/console/")),
        "the console's URL is printed next to the credentials: {printed}"
    );

    // A restart on the same data dir keeps the app and prints no new credentials.
    let before = std::fs::read_to_string(&file).unwrap();
    let again = Server::start_on(&addr, &dir, &[], &[]);
    let out = again.terminate();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("clientSecret"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serves_postgres_configured_through_environment_variables() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(TestDb::postgres());
    let dir = temp_dir("pg");
    let server = Server::start(&dir, &[], &[("KUMO_DATABASE_URL", db.url.as_str())]);
    assert!(http_get(&server.health_url()).unwrap().contains("postgres"));
    assert!(
        !dir.join("kumo.db").exists(),
        "no SQLite file when PostgreSQL is used"
    );
    let out = server.terminate();
    assert!(out.status.success());
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn no_console_turns_the_console_off() {
    let dir = temp_dir("no-console");
    let server = Server::start(&dir, &["--no-console"], &[]);
    let base = server.health_url().trim_end_matches("/health").to_owned();
    let page = http_get(&format!("{base}/console/")).unwrap();
    assert!(page.starts_with("HTTP/1.1 404"), "{page}");
    let out = server.terminate();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Console:"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_texts_exist_for_every_command() {
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["app", "--help"],
        &["app", "create", "--help"],
    ] {
        let out = kumo().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage"), "{args:?}: {text}");
    }
    let out = kumo().args(["serve", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--listen",
        "--data-dir",
        "--database-url",
        "KUMO_LISTEN",
        "KUMO_DATABASE_URL",
        "--event-retention-hours",
        "KUMO_EVENT_RETENTION_HOURS",
        "--no-console",
        "KUMO_NO_CONSOLE",
    ] {
        assert!(text.contains(flag), "serve --help lacks {flag}");
    }
}

#[test]
fn bad_configuration_fails_with_a_clear_message() {
    let dir = temp_dir("bad");
    let out = kumo()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "mysql://x/y",
            "--data-dir",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported database URL"));
    let out = kumo()
        .args(["serve", "--listen", "not-an-address"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = kumo()
        .args(["app", "create", "--name", "", "--data-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let _ = std::fs::remove_dir_all(&dir);
}
