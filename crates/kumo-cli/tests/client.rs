//! The client commands of the real `kumo` binary against a real `kumo serve`: Kii's output
//! formats in local time (fixed non-UTC zones, one with DST) and UTC, profiles and their
//! precedence, paging, the developer log, and the error paths.

mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kumo_storage::testing::TestDb;
use serde_json::Value;
use support::{kumo, temp_dir, Server};

const CODE: &str = r#"
function main(params, context) { console.log("hello " + params.name); return {hi: params.name}; }
function traced(params, context) {
  console.log("oops$STACK_TRACE{at f (a.js:1),at g (a.js:2)}");
  return 1;
}
function job(params, context, done) { done("job done"); }
function boom(params, context) { throw new Error("bad thing"); }
"#;

const HOOKS: &str = r#"{
  // a comment, as Kii's configs may have
  "kiicloud://scheduler": {
    "nightly": {"what": "EXECUTE_SERVER_CODE", "cron": "0 3 1 1 *", "endpoint": "job"}
  }
}"#;

/// A server, a config directory for profiles, and files to deploy.
struct Env {
    server: Server,
    dir: PathBuf,
    config: PathBuf,
}

impl Env {
    fn start(tag: &str, envs: &[(&str, &str)]) -> Env {
        let dir = temp_dir(tag);
        let server = Server::start(&dir.join("data"), &[], envs);
        let config = dir.join("config");
        std::fs::write(dir.join("code.js"), CODE).unwrap();
        std::fs::write(dir.join("hooks.json"), HOOKS).unwrap();
        Env {
            server,
            dir,
            config,
        }
    }

    /// `kumo ARGS` with this env's config directory, in zone `tz`, no connection variables.
    fn cmd(&self, tz: &str, args: &[&str]) -> Command {
        let mut c = kumo();
        c.args(args)
            .current_dir(&self.dir)
            .env("XDG_CONFIG_HOME", &self.config)
            .env("TZ", tz)
            .env("NO_COLOR", "1");
        for v in [
            "KUMO_SITE",
            "KUMO_SITE_URL",
            "KUMO_APP_ID",
            "KUMO_APP_KEY",
            "KUMO_CLIENT_ID",
            "KUMO_CLIENT_SECRET",
            "KUMO_TOKEN",
            "KUMO_PROFILE",
        ] {
            c.env_remove(v);
        }
        c
    }

    fn run(&self, tz: &str, args: &[&str]) -> Output {
        self.cmd(tz, args).output().unwrap()
    }

    /// Runs and expects success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        self.ok_in("Asia/Tokyo", args)
    }

    fn ok_in(&self, tz: &str, args: &[&str]) -> String {
        let out = self.run(tz, args);
        assert!(
            out.status.success(),
            "kumo {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs and expects failure; returns stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run("Asia/Tokyo", args);
        assert!(!out.status.success(), "kumo {args:?} succeeded");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.starts_with("error: "), "{err}");
        err
    }

    fn creds(&self, key: &str) -> String {
        self.server.creds[key].as_str().unwrap().to_owned()
    }

    fn login(&self) {
        let data = self.server.data_dir.to_str().unwrap().to_owned();
        let out = self.ok(&["login", "--data-dir", &data]);
        assert!(out.contains("profile \"default\" written to"), "{out}");
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `5 Dec 19:02:30 - ` (Node's util.log) removed from a line; panics if it lacks one.
fn strip_log_prefix(line: &str) -> &str {
    let (stamp, rest) = line.split_once(" - ").expect("a log line");
    let parts: Vec<&str> = stamp.split(' ').collect();
    assert_eq!(parts.len(), 3, "{line}");
    assert!(parts[0].parse::<u8>().is_ok(), "{line}");
    assert_eq!(parts[1].len(), 3, "{line}");
    assert_eq!(parts[2].len(), 8, "{line}");
    rest
}

fn version_of(deploy_out: &str) -> String {
    deploy_out
        .lines()
        .find_map(|l| strip_log_prefix(l).strip_prefix("File deployed as version "))
        .expect("a version line")
        .to_owned()
}

/// Adds `h` hours to a `YYYY-MM-DD HH:mm:ss` time.
fn shift(t: &str, h: i64) -> String {
    let t = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").unwrap();
    (t + chrono::Duration::hours(h))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn session(envs: &[(&str, &str)], tag: &str) {
    let env = Env::start(tag, envs);
    // Before login, nothing says where to connect.
    assert_eq!(
        env.fails(&["list"]),
        "error: Either --site or --site-url is required\n"
    );
    env.login();
    let mode = std::fs::metadata(env.config.join("kumo/default.json"))
        .unwrap()
        .permissions();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.mode() & 0o777, 0o600);

    // deploy-file: code, hooks, current; Kii's lines in order.
    let out = env.ok(&[
        "deploy-file",
        "--file",
        "code.js",
        "--hook-config",
        "hooks.json",
        "--environment-version",
        "6",
    ]);
    let v1 = version_of(&out);
    let lines: Vec<&str> = out.lines().map(strip_log_prefix).collect();
    assert_eq!(
        lines,
        [
            "Deploying file...".to_owned(),
            format!("File deployed as version {v1}"),
            "Deploying hook config...".to_owned(),
            format!("Hook Config deployed at version {v1}"),
            format!("Setting current version to {v1}..."),
            format!("Current version set to {v1}"),
        ]
    );
    let v2 = version_of(&env.ok(&["deploy-file", "--file", "code.js", "--no-set-current"]));

    // list: the table in UTC and in Tokyo time (UTC+9).
    let utc = env.ok(&["list", "--utc-time"]);
    let lines: Vec<&str> = utc.lines().collect();
    assert_eq!(strip_log_prefix(lines[0]), "Listing available versions...");
    assert_eq!(strip_log_prefix(lines[1]), "Found 2 versions: ");
    assert_eq!(
        lines[2],
        format!("{:<26}{:<20}STATUS", "ID", "CREATED (UTC)")
    );
    assert_eq!(lines[3], "-".repeat(52));
    assert_eq!(&lines[4][..26], format!("{v2:<26}"));
    assert!(lines[4].ends_with(" inactive"), "{}", lines[4]);
    assert_eq!(&lines[5][..26], format!("{v1:<26}"));
    assert!(lines[5].ends_with(" active"), "{}", lines[5]);
    let utc_time = lines[5][26..45].to_owned();
    let local = env.ok(&["list"]);
    let local: Vec<&str> = local.lines().collect();
    assert_eq!(
        local[2],
        format!("{:<26}{:<20}STATUS", "ID", "CREATED (LOCAL)")
    );
    assert_eq!(local[5][26..45], shift(&utc_time, 9));
    let json: Value = serde_json::from_str(&env.ok(&["list", "--json"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);

    // get and get-hook-config.
    let got = env.ok(&["get", "--code-version", &v1]);
    assert!(got.ends_with(&format!("{CODE}\n")), "{got}");
    env.ok(&["get", "--code-version", &v1, "--output-file", "back.js"]);
    assert_eq!(
        std::fs::read_to_string(env.dir.join("back.js")).unwrap(),
        CODE
    );
    let hooks = env.ok(&["get-hook-config", "--code-version", &v1]);
    assert!(hooks.contains("\"nightly\""), "{hooks}");

    // Executions: more than one page (50) of hand-run jobs.
    let first: Value = serde_json::from_str(&env.ok(&["run-job", "nightly"])).unwrap();
    assert_eq!(first["status"], "SUCCESS");
    assert_eq!(first["name"], "nightly");
    let id = first["scheduleExecutionID"].as_str().unwrap().to_owned();
    for _ in 0..54 {
        env.ok(&["run-job", "nightly"]);
    }
    let out = env.ok(&[
        "list-scheduled-execution",
        "--from",
        "2020-01-01",
        "--utc-time",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        strip_log_prefix(lines[0])
            .starts_with("Listing hook executions from 2020-01-01 00:00:00 +0000 to "),
        "{}",
        lines[0]
    );
    assert_eq!(
        lines[1],
        "ID                        STARTED (UTC)       FINISHED (UTC)      STATUS  JOB NAME"
    );
    assert_eq!(lines[2], "-".repeat(82));
    assert_eq!(lines.len(), 3 + 55 + 1);
    let row = lines[3];
    assert_eq!(&row[..26], format!("{id:<26}"));
    assert_eq!(&row[66..], "SUCCESS nightly");
    assert_eq!(
        strip_log_prefix(lines[58]),
        "Total of 55 hook(s) were found."
    );
    let started_utc = row[26..45].to_owned();
    // Local (Tokyo) input and output.
    let out = env.ok(&["list-scheduled-execution", "--from", "2020-01-01 09:00"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].contains("from 2020-01-01 09:00:00 +0900 to "),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains("STARTED (LOCAL)     FINISHED (LOCAL)"));
    assert_eq!(lines[3][26..45], shift(&started_utc, 9));
    // A range before every execution finds none.
    let out = env.ok(&[
        "list-scheduled-execution",
        "--from",
        "2020-01-01",
        "--to",
        "2020-01-02T00:00:00Z",
    ]);
    assert!(
        out.trim_end().ends_with("Total of 0 hook(s) were found."),
        "{out}"
    );
    let json: Value = serde_json::from_str(&env.ok(&[
        "list-scheduled-execution",
        "--from",
        "2020-01-01",
        "--json",
    ]))
    .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 55);
    // get-scheduled-execution: the JSON, keys in the order of Kii's documentation.
    let out = env.ok(&["get-scheduled-execution", "--id", &id]);
    let keys: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("  \"")?.split('"').next())
        .collect();
    assert_eq!(
        &keys[..6],
        [
            "scheduledExecutionID",
            "started",
            "finished",
            "status",
            "name",
            "result"
        ]
    );
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["result"],
        "job done"
    );

    // invoke: the value, the steps, the engine.
    let out = env.ok(&["invoke", "main", "--params", r#"{"name":"kumo"}"#]);
    assert!(
        out.starts_with("{\n  \"hi\": \"kumo\"\n}\nsteps: "),
        "{out}"
    );
    assert!(out.ends_with("environment version: 6\n"), "{out}");
    std::fs::write(env.dir.join("p.json"), r#"{"name":"file"}"#).unwrap();
    let out = env.ok(&["invoke", "main", "--params", "@p.json", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["returnedValue"]["hi"], "file");
    assert_eq!(v["environmentVersion"], "6");
    env.ok(&["invoke", "traced"]);
    let out = env.run("UTC", &["invoke", "boom"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"UNCAUGHT_EXCEPTION\"") && err.contains("bad thing"),
        "{err}"
    );
    assert!(err.contains("error: ENDPOINT_INVOCATION_ERROR: "), "{err}");

    // logs: Kii's line format, hyphenated names, hidden fields, stack trace split.
    // The log is written in batches: wait for the last run's lines.
    let deadline = Instant::now() + Duration::from_secs(10);
    let logs = loop {
        let logs = env.ok_in("UTC", &["logs", "-n", "1500"]);
        if logs.contains("endpoint:boom") || Instant::now() > deadline {
            break logs;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let hello = logs
        .lines()
        .find(|l| l.contains("description:hello kumo"))
        .expect(&logs);
    assert!(
        hello.contains(" [INFO] servercode.log description:hello kumo entry-name:main"),
        "{hello}"
    );
    let invoke = logs
        .lines()
        .find(|l| l.contains("servercode.invoke") && l.contains("endpoint:main"))
        .unwrap();
    assert!(
        invoke.contains(" response-type:application/json"),
        "{invoke}"
    );
    assert!(invoke.contains(" environment-version:6"), "{invoke}");
    assert!(!logs.contains("appID") && !logs.contains("_id"), "{logs}");
    let at = logs
        .find("description:oops entry-name:traced\n")
        .expect(&logs);
    assert!(
        logs[at..].contains("traced\n    at f (a.js:1)\n    at g (a.js:2)\n"),
        "{logs}"
    );
    // The time is UTC here, Tokyo's is nine hours later.
    let first_line = logs.lines().next().unwrap();
    let tokyo = env.ok_in("Asia/Tokyo", &["logs", "-n", "1500"]);
    assert_eq!(
        tokyo.lines().next().unwrap()[..19],
        shift(&first_line[..19], 9)
    );
    let tokyo_utc = env.ok_in("Asia/Tokyo", &["logs", "-n", "1500", "--use-utc"]);
    assert_eq!(tokyo_utc.lines().next(), Some(first_line));
    // Filters.
    let errors_only = env.ok(&["logs", "--level", "ERROR"]);
    assert!(
        !errors_only.contains("[INFO]") && !errors_only.contains("[DEBUG]"),
        "{errors_only}"
    );
    let two = env.ok(&["logs", "-n", "2"]);
    assert_eq!(
        two.lines().filter(|l| !l.starts_with("    ")).count(),
        2,
        "{two}"
    );
    assert_eq!(env.ok(&["logs", "--date-to", "2020-01-01"]), "");
    assert_eq!(env.ok(&["logs", "--user-id", "nobody"]), "");
    let json: Value = serde_json::from_str(&env.ok(&["logs", "-n", "3", "--json"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 3);

    // set-current, delete (and its hook config), then the unknown version.
    let out = env.ok(&["set-current", "--code-version", &v2]);
    assert_eq!(
        out.lines().map(strip_log_prefix).collect::<Vec<_>>(),
        [
            format!("Setting current version to {v2}..."),
            format!("Current version set to {v2}")
        ]
    );
    let out = env.ok(&["delete", "--code-version", &v1]);
    let lines: Vec<&str> = out.lines().map(strip_log_prefix).collect();
    assert_eq!(lines[0], format!("Removing code version {v1}..."));
    assert_eq!(lines[1], format!("Version {v1} removed"));
    assert_eq!(
        lines[2],
        format!("Trying to remove hook config version {v1}...")
    );
    assert!(
        lines[3] == format!("Hook config for version {v1} removed")
            || lines[3] == format!("No hook config for version {v1} found."),
        "{}",
        lines[3]
    );
    let out = env.ok(&["delete", "--code-version", &v2]);
    assert!(
        out.contains(&format!("No hook config for version {v2} found.")),
        "{out}"
    );
    let err = env.fails(&["get", "--code-version", &v1]);
    assert!(err.contains("SERVER_CODE_VERSION_NOT_FOUND"), "{err}");
    let err = env.fails(&["get-scheduled-execution", "--id", "nosuchexecution"]);
    assert!(
        err.contains("SCHEDULE_EXECUTION_NOT_FOUND") && err.contains("(HTTP 404)"),
        "{err}"
    );
}

#[test]
fn a_session_on_sqlite() {
    session(&[], "session-sqlite");
}

#[test]
fn a_session_on_postgres() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(TestDb::postgres());
    session(&[("KUMO_DATABASE_URL", db.url.as_str())], "session-pg");
    drop(db);
}

#[test]
fn flags_win_over_variables_and_variables_over_profiles() {
    let env = Env::start("precedence", &[]);
    env.login();
    let site = env.server.site();
    let dead = "http://127.0.0.1:1/api";
    // The profile alone works.
    assert!(env.ok(&["list"]).contains("Found 0 versions"));
    // A variable beats the profile.
    let out = env
        .cmd("UTC", &["list"])
        .env("KUMO_SITE_URL", dead)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("error: cannot reach {dead}: connection refused\n")
    );
    // A flag beats the variable.
    let out = env
        .cmd("UTC", &["list", "--site-url", &site])
        .env("KUMO_SITE_URL", dead)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Wrong credentials from a variable beat the profile's right ones.
    let out = env
        .cmd("UTC", &["list"])
        .env("KUMO_CLIENT_SECRET", "s3cr3t-wr0ng")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.starts_with("error: cannot get an app-admin token: "),
        "{err}"
    );
    assert!(
        !err.contains("s3cr3t-wr0ng"),
        "no secret in messages: {err}"
    );
    // Everything from variables, no profile.
    std::fs::remove_file(env.config.join("kumo/default.json")).unwrap();
    let out = env
        .cmd("UTC", &["list", "--json"])
        .env("KUMO_SITE_URL", &site)
        .env("KUMO_APP_ID", env.creds("appID"))
        .env("KUMO_APP_KEY", env.creds("appKey"))
        .env("KUMO_CLIENT_ID", env.creds("clientID"))
        .env("KUMO_CLIENT_SECRET", env.creds("clientSecret"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
    // A named profile, written from flags, chosen by variable.
    let app_id = env.creds("appID");
    let app_key = env.creds("appKey");
    let client_id = env.creds("clientID");
    let secret = env.creds("clientSecret");
    env.ok(&[
        "login",
        "--site-url",
        &site,
        "--app-id",
        &app_id,
        "--app-key",
        &app_key,
        "--client-id",
        &client_id,
        "--client-secret",
        &secret,
        "--profile",
        "staging",
    ]);
    let out = env
        .cmd("UTC", &["list"])
        .env("KUMO_PROFILE", "staging")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = env.fails(&["list", "--profile", "nope"]);
    assert!(err.contains("profile \"nope\" not found"), "{err}");
    // An admin token instead of client credentials.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let token: Value = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{site}/oauth2/token"))
            .header("x-kii-appid", &app_id)
            .json(&serde_json::json!({"client_id": client_id, "client_secret": secret}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let token = token["access_token"].as_str().unwrap();
    let out = env.ok(&["list", "--token", token, "--profile", "staging", "--json"]);
    assert_eq!(out.trim(), "[]");
}

#[test]
fn errors_are_kiis_messages_on_one_line() {
    let env = Env::start("errors", &[]);
    let site = env.server.site();
    let app_id = env.creds("appID");
    let base = [
        "--site-url",
        site.as_str(),
        "--app-id",
        app_id.as_str(),
        "--app-key",
        "k",
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        env.fails(&args)
    };
    assert_eq!(
        run(vec![
            "list".into(),
            "--site".into(),
            "mars".into(),
            "--app-id".into(),
            "a".into()
        ]),
        "error: Undefined site found: mars\n"
    );
    assert_eq!(
        env.fails(&["list", "--site", "jp"]),
        "error: Missing param --app-id\n"
    );
    assert_eq!(
        env.fails(&["list", "--site", "jp", "--app-id", "a"]),
        "error: Missing param --app-key\n"
    );
    let mut a = vec!["list".to_owned()];
    a.extend(with(&[]));
    assert_eq!(
        run(a),
        "error: Either --token or --client-id / --client-secret pair are required\n"
    );
    let mut a = vec!["list".to_owned()];
    a.extend(with(&["--client-id", "x", "--client-secret", "y"]));
    let err = run(a);
    assert!(
        err.starts_with("error: cannot get an app-admin token: invalid_grant: "),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
    // Tokens and secrets are base64url: one may start with '-' and is still a value.
    for token in ["not-a-token", "-not-a-token"] {
        let mut a = vec!["list".to_owned()];
        a.extend(with(&["--token", token]));
        let err = run(a);
        assert!(
            err.contains("(HTTP 401)") || err.contains("(HTTP 403)"),
            "{err}"
        );
    }
    let mut a = vec!["list".to_owned()];
    a.extend(with(&["--client-id", "-x", "--client-secret", "-y"]));
    let err = run(a);
    assert!(err.contains("invalid_grant"), "{err}");
    // Unreachable: one line.
    assert_eq!(
        env.fails(&[
            "list",
            "--site-url",
            "http://127.0.0.1:1/api",
            "--app-id",
            "a",
            "--app-key",
            "k",
            "--token",
            "t",
        ]),
        "error: cannot reach http://127.0.0.1:1/api: connection refused\n"
    );
    // Command flags, checked before any connection.
    let t = ["--token", "t"];
    let cmd = |c: &[&str]| {
        let mut v: Vec<String> = c.iter().map(|s| s.to_string()).collect();
        v.extend(with(&t));
        run(v)
    };
    assert_eq!(cmd(&["deploy-file"]), "error: Missing param --file\n");
    assert_eq!(cmd(&["get"]), "error: Missing param --code-version\n");
    for c in ["get", "get-hook-config", "delete", "set-current"] {
        assert_eq!(
            cmd(&[c, "--code-version", "current"]),
            "error: `current' as version identifer is not supported\n"
        );
    }
    assert_eq!(
        cmd(&["list-scheduled-execution"]),
        "error: Missing param --from\n"
    );
    assert_eq!(
        cmd(&["get-scheduled-execution"]),
        "error: Missing param --id\n"
    );
    assert_eq!(
        cmd(&["list-scheduled-execution", "--from", "2014-02-30"]),
        "error: Invalid date format for param `--from': 2014-02-30\n"
    );
    assert_eq!(
        cmd(&[
            "list-scheduled-execution",
            "--from",
            "2014-01-01",
            "--to",
            "soon"
        ]),
        "error: Invalid date format for param `--to': soon\n"
    );
    assert_eq!(
        cmd(&[
            "list-scheduled-execution",
            "--from",
            "2014-05-01",
            "--to",
            "2014-04-30 12:00",
            "--utc-time"
        ]),
        "error: Invalid date range: 2014-05-01 00:00:00 +0000 - 2014-04-30 12:00:00 +0000. \
         Lower limit exceeds upper limit\n"
    );
    assert_eq!(
        cmd(&["logs", "-n", "1501"]),
        "error: --num must be between 1 and 1500\n"
    );
    assert_eq!(
        cmd(&["logs", "--date-from", "2015-01-08 7"]),
        "error: Invalid date format for param `--date-from': 2015-01-08 7\n"
    );
    let err = cmd(&["deploy-file", "--file", "missing.js"]);
    assert!(err.starts_with("error: cannot read missing.js: "), "{err}");
}

#[test]
fn dates_follow_the_local_zone_and_its_daylight_saving_time() {
    let env = Env::start("dst", &[]);
    env.login();
    let from = |tz: &str, date: &str| {
        let out = env.ok_in(
            tz,
            &["list-scheduled-execution", "--from", date, "--to", date],
        );
        strip_log_prefix(out.lines().next().unwrap()).to_owned()
    };
    assert_eq!(
        from("America/New_York", "2026-01-15 08:30"),
        "Listing hook executions from 2026-01-15 08:30:00 -0500 to 2026-01-15 08:30:00 -0500..."
    );
    assert_eq!(
        from("America/New_York", "2026-07-15"),
        "Listing hook executions from 2026-07-15 00:00:00 -0400 to 2026-07-15 00:00:00 -0400..."
    );
    assert_eq!(
        from("Asia/Tokyo", "2026-07-15T00:00:00Z"),
        "Listing hook executions from 2026-07-15 09:00:00 +0900 to 2026-07-15 09:00:00 +0900..."
    );
    // An execution's local time: New York's winter offset.
    env.ok(&[
        "deploy-file",
        "--file",
        "code.js",
        "--hook-config",
        "hooks.json",
    ]);
    env.ok(&["run-job", "nightly"]);
    let utc = env.ok_in("UTC", &["list-scheduled-execution", "--from", "2020-01-01"]);
    let ny = env.ok_in(
        "America/New_York",
        &["list-scheduled-execution", "--from", "2020-01-01"],
    );
    let started = |out: &str| out.lines().nth(3).unwrap()[26..45].to_owned();
    // The range ends now, so its offset is New York's offset of today.
    let offset = if ny.lines().next().unwrap().ends_with("-0400...") {
        -4
    } else {
        -5
    };
    assert_eq!(started(&ny), shift(&started(&utc), offset));
}

#[test]
fn help_has_an_example_for_every_client_command() {
    for c in [
        "login",
        "deploy-file",
        "list",
        "get",
        "get-hook-config",
        "delete",
        "set-current",
        "list-scheduled-execution",
        "get-scheduled-execution",
        "run-job",
        "invoke",
        "logs",
    ] {
        let out = kumo().args([c, "--help"]).output().unwrap();
        assert!(out.status.success(), "{c}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Example:") && text.contains(&format!("kumo {c}")),
            "{c}: {text}"
        );
        assert!(
            text.contains("--site-url") && text.contains("KUMO_SITE_URL"),
            "{c}"
        );
    }
}

/// `kumo logs -t` prints what is written after it started, and ends cleanly on Ctrl-C.
#[test]
fn logs_tail_receives_a_line_written_after_it_started() {
    let env = Env::start("tail", &[]);
    env.login();
    env.ok(&["deploy-file", "--file", "code.js"]);
    env.ok(&["invoke", "main", "--params", r#"{"name":"before"}"#]);
    // The run's log lines are written in batches after it answered: wait until the log holds
    // them, so that the tail's first batch has them.
    let deadline = Instant::now() + Duration::from_secs(15);
    while !env.ok(&["logs", "-n", "5"]).contains("hello before") {
        assert!(
            Instant::now() < deadline,
            "the run's log line never arrived"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut child = env
        .cmd("UTC", &["logs", "-t", "-n", "5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait_for = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!("no line with {needle:?}"),
            }
        }
    };
    wait_for("description:hello before");
    // Give the stream a moment to open, then write through the server.
    std::thread::sleep(Duration::from_millis(300));
    env.ok(&["invoke", "main", "--params", r#"{"name":"after"}"#]);
    let line = wait_for("description:hello after");
    assert!(line.contains("[INFO] servercode.log"), "{line}");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "Ctrl-C ends the tail cleanly: {:?}",
        out.status
    );
}

/// A stand-in for a server's live log, to see the tail resume where it left off: the first
/// stream connection sends one record and drops, the second must ask for what follows it.
fn fake_log_server(seen: mpsc::Sender<String>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let record = |id: &str, msg: &str| {
            format!(
                r#"{{"_id":"{id}","appID":"a","key":"servercode.log","level":"INFO","time":"2015-01-08T23:14:52.229Z","description":"{msg}","entry-name":"main"}}"#
            )
        };
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            let mut buf = vec![0u8; 8192];
            let n = conn.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).into_owned();
            let first = head.lines().next().unwrap_or("").to_owned();
            let _ = seen.send(head.clone());
            let json = |body: String| {
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
            };
            if first.starts_with("POST ") && first.contains("/api/oauth2/token ") {
                let _ = conn.write_all(json(r#"{"access_token":"tok"}"#.into()).as_bytes());
            } else if first.contains("/developer-log/stream") {
                let sse = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
                let _ = conn.write_all(sse.as_bytes());
                if first.contains("after=5") {
                    let ev = format!(
                        ": keep-alive\n\nid: 6\nevent: log\ndata: {}\n\n",
                        record("6", "six")
                    );
                    let _ = conn.write_all(ev.as_bytes());
                    // Dropped: the tail must come back.
                } else {
                    let ev = format!("id: 7\nevent: log\ndata: {}\n\n", record("7", "seven"));
                    let _ = conn.write_all(ev.as_bytes());
                    let _ = conn.flush();
                    std::thread::sleep(Duration::from_secs(30));
                }
            } else if first.contains("/developer-log") {
                let body = format!(r#"{{"records":[{}]}}"#, record("5", "five"));
                let _ = conn.write_all(json(body).as_bytes());
            } else {
                let _ = conn.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
            }
        }
    });
    format!("http://{addr}/api")
}

#[test]
fn logs_tail_resumes_after_a_dropped_stream_and_ends_on_ctrl_c() {
    let (tx, seen) = mpsc::channel();
    let site = fake_log_server(tx);
    let mut child = kumo()
        .args([
            "logs",
            "-t",
            "-n",
            "1",
            "--use-utc",
            "--site-url",
            &site,
            "--app-id",
            "a",
            "--app-key",
            "k",
            "--client-id",
            "c",
            "--client-secret",
            "s",
        ])
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("kumo-cli-no-config"),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (ltx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if ltx.send(line).is_err() {
                break;
            }
        }
    });
    let mut got = Vec::new();
    while got.len() < 3 {
        match lines.recv_timeout(Duration::from_secs(10)) {
            Ok(line) => got.push(line),
            Err(_) => panic!("only {got:?}"),
        }
    }
    assert_eq!(
        got,
        [
            "2015-01-08 23:14:52 [INFO] servercode.log description:five entry-name:main",
            "2015-01-08 23:14:52 [INFO] servercode.log description:six entry-name:main",
            "2015-01-08 23:14:52 [INFO] servercode.log description:seven entry-name:main",
        ]
    );
    let requests: Vec<String> = seen.try_iter().collect();
    let streams: Vec<&String> = requests
        .iter()
        .filter(|r| r.contains("/developer-log/stream"))
        .collect();
    assert_eq!(streams.len(), 2, "{requests:?}");
    assert!(streams[0].contains("after=5"), "{}", streams[0]);
    assert!(streams[1].contains("after=6"), "{}", streams[1]);
    assert!(
        streams[1].to_ascii_lowercase().contains("last-event-id: 6"),
        "{}",
        streams[1]
    );
    assert!(streams[1]
        .to_ascii_lowercase()
        .contains("authorization: bearer tok"));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "Ctrl-C ends the tail cleanly: {:?}",
        out.status
    );
}

#[test]
fn requests_go_through_the_http_proxy() {
    let (tx, seen) = mpsc::channel();
    let proxy = fake_log_server(tx).trim_end_matches("/api").to_owned();
    // The site's host does not exist: only the proxy can answer.
    let out = kumo()
        .args([
            "logs",
            "-n",
            "1",
            "--use-utc",
            "--site-url",
            "http://kumo.invalid:9/api",
            "--app-id",
            "a",
            "--app-key",
            "k",
            "--client-id",
            "c",
            "--client-secret",
            "s",
            "--http-proxy",
            &proxy,
        ])
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("kumo-cli-no-config"),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "2015-01-08 23:14:52 [INFO] servercode.log description:five entry-name:main\n"
    );
    let first_lines: Vec<String> = seen
        .try_iter()
        .map(|r| r.lines().next().unwrap_or("").to_owned())
        .collect();
    assert_eq!(first_lines.len(), 2, "{first_lines:?}");
    assert!(first_lines[0].starts_with("POST http://kumo.invalid:9/api/oauth2/token "));
    assert!(
        first_lines[1].starts_with("GET http://kumo.invalid:9/api/apps/a/developer-log?limit=1 ")
    );
}
