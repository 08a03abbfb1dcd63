use serde_json::json;

use super::*;

fn defines(name: &str) -> bool {
    [
        "userCreated",
        "highScoreCreated",
        "highScoreDeleted",
        "checkData",
        "onAny",
    ]
    .contains(&name)
}

fn ok(text: &str) -> HookConfig {
    match parse(text.as_bytes(), &defines) {
        Ok(config) => config,
        Err(e) => panic!("refused: {}", e.message),
    }
}

/// Parses `text`, which must be refused with `code`; returns the message.
fn refused(text: &str, code: ErrorCode) -> String {
    match parse(text.as_bytes(), &defines) {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => {
            assert_eq!(e.code, code, "{}", e.message);
            e.message
        }
    }
}

fn bad(text: &str) -> String {
    refused(text, ErrorCode::InvalidInputData)
}

fn hook(path: &str, when: &str) -> String {
    json!({path: [{"when": when, "what": "EXECUTE_SERVER_CODE", "endpoint": "onAny"}]}).to_string()
}

fn job(fields: serde_json::Value) -> String {
    let mut job =
        json!({"cron": "0 * * * *", "endpoint": "checkData", "what": "EXECUTE_SERVER_CODE"});
    for (k, v) in fields.as_object().unwrap() {
        if v.is_null() {
            job.as_object_mut().unwrap().remove(k);
        } else {
            job[k] = v.clone();
        }
    }
    json!({"kiicloud://scheduler": {"nightly": job}}).to_string()
}

const SPEC_EXAMPLE: &str = r#"{
  "kiicloud://users": [
    {"when": "USER_CREATED", "what": "EXECUTE_SERVER_CODE", "endpoint": "userCreated"}
  ],
  "kiicloud://buckets/highScore": [
    {"when": "DATA_OBJECT_CREATED", "what": "EXECUTE_SERVER_CODE", "endpoint": "highScoreCreated"},
    {"when": "DATA_OBJECT_DELETED", "what": "EXECUTE_SERVER_CODE", "endpoint": "highScoreDeleted"}
  ],
  "kiicloud://scheduler": {
    "HourlyCheck": {
      "what": "EXECUTE_SERVER_CODE", "cron": "0 * * * *", "endpoint": "checkData",
      "parameters": {"executionType": "hourly", "target": "user"}
    },
    "DailyCheck": {
      "what": "EXECUTE_SERVER_CODE", "cron": "30 2 * * *", "endpoint": "checkData",
      "parameters": {"executionType": "daily", "target": "all"}
    }
  }
}"#;

#[test]
fn the_specs_example_defines_five_hooks() {
    let config = ok(SPEC_EXAMPLE);
    assert_eq!(
        config.triggers,
        vec![
            TriggerHook {
                path: TriggerPath::AppBucket("highScore".into()),
                when: When::DataObjectCreated,
                endpoint: "highScoreCreated".into()
            },
            TriggerHook {
                path: TriggerPath::AppBucket("highScore".into()),
                when: When::DataObjectDeleted,
                endpoint: "highScoreDeleted".into()
            },
            TriggerHook {
                path: TriggerPath::Users,
                when: When::UserCreated,
                endpoint: "userCreated".into()
            },
        ]
    );
    let mut jobs: Vec<_> = config
        .jobs
        .iter()
        .map(|j| (j.name.as_str(), j.schedule.text(), j.parameters.clone()))
        .collect();
    jobs.sort_by_key(|j| j.0);
    assert_eq!(
        jobs,
        vec![
            (
                "DailyCheck",
                "30 2 * * *",
                json!({"executionType": "daily", "target": "all"})
            ),
            (
                "HourlyCheck",
                "0 * * * *",
                json!({"executionType": "hourly", "target": "user"})
            ),
        ]
    );
    assert!(config.jobs.iter().all(|j| j.overlap == Overlap::Allow));
    assert_eq!(config.source_hash, 0);
}

#[test]
fn comments_as_kiis_templates_write_them() {
    let config = ok(r#"
        // Hooks of the chat app
        {
          "kiicloud://groups/*/buckets/chat": [ /* placeholder: "kiicloud://x" */
            {"when": "DATA_OBJECT_CREATED", "what": "EXECUTE_SERVER_CODE", "endpoint": "onAny"}
            /* Other hooks */
          ],
          /* Other paths with hooks */
          "kiicloud://scheduler": {} // no jobs yet
        }
    "#);
    assert_eq!(
        config.triggers,
        vec![TriggerHook {
            path: TriggerPath::GroupBuckets("chat".into()),
            when: When::DataObjectCreated,
            endpoint: "onAny".into()
        }]
    );
    assert!(config.jobs.is_empty());
}

#[test]
fn every_path_takes_its_triggers() {
    let cases = [
        ("kiicloud://users", "USER_CREATED", TriggerPath::Users),
        (
            "kiicloud://users",
            "USER_EMAIL_VERIFIED",
            TriggerPath::Users,
        ),
        (
            "kiicloud://users",
            "USER_PHONE_VERIFIED",
            TriggerPath::Users,
        ),
        (
            "kiicloud://users",
            "USER_PASSWORD_RESET_COMPLETED",
            TriggerPath::Users,
        ),
        (
            "kiicloud://users",
            "USER_PASSWORD_CHANGED",
            TriggerPath::Users,
        ),
        ("kiicloud://users", "USER_UPDATED", TriggerPath::Users),
        ("kiicloud://users", "USER_DELETED", TriggerPath::Users),
        ("kiicloud://groups", "GROUP_CREATED", TriggerPath::Groups),
        ("kiicloud://groups", "GROUP_DELETED", TriggerPath::Groups),
        (
            "kiicloud://groups",
            "GROUP_MEMBERS_ADDED",
            TriggerPath::Groups,
        ),
        (
            "kiicloud://groups",
            "GROUP_MEMBERS_REMOVED",
            TriggerPath::Groups,
        ),
        (
            "kiicloud://installations",
            "INSTALLATION_CREATED",
            TriggerPath::Installations,
        ),
        (
            "kiicloud://installations",
            "INSTALLATION_DELETED",
            TriggerPath::Installations,
        ),
        (
            "kiicloud://buckets/b1",
            "DATA_OBJECT_CREATED",
            TriggerPath::AppBucket("b1".into()),
        ),
        (
            "kiicloud://buckets/b1",
            "DATA_OBJECT_UPDATED",
            TriggerPath::AppBucket("b1".into()),
        ),
        (
            "kiicloud://buckets/b1",
            "DATA_OBJECT_DELETED",
            TriggerPath::AppBucket("b1".into()),
        ),
        (
            "kiicloud://users/*/buckets/b1",
            "DATA_OBJECT_BODY_UPDATED",
            TriggerPath::UserBuckets("b1".into()),
        ),
        (
            "kiicloud://groups/*/buckets/b1",
            "DATA_OBJECT_BODY_DELETED",
            TriggerPath::GroupBuckets("b1".into()),
        ),
        (
            "kiicloud://things/*/buckets/b1",
            "DATA_OBJECT_BODY_PUBLISHED",
            TriggerPath::ThingBuckets("b1".into()),
        ),
    ];
    for (path, when, expected) in cases {
        let config = ok(&hook(path, when));
        assert_eq!(config.triggers[0].path, expected, "{path}");
        assert_eq!(config.triggers[0].when.as_str(), when);
    }
}

#[test]
fn empty_configs_and_paths_are_fine() {
    assert!(ok("{}").triggers.is_empty());
    assert!(ok(r#"{"kiicloud://users": []}"#).triggers.is_empty());
}

#[test]
fn job_extensions_seconds_timezone_overlap() {
    let config = ok(&job(json!({
        "cron": "*/15 0 9 * * MON-FRI",
        "timezone": "Asia/Tokyo",
        "overlap": "skip",
        "parameters": null
    })));
    let j = &config.jobs[0];
    assert_eq!(j.name, "nightly");
    assert_eq!(j.endpoint, "checkData");
    assert_eq!(j.schedule.text(), "*/15 0 9 * * MON-FRI");
    assert_eq!(j.schedule.timezone(), Some(chrono_tz::Asia::Tokyo));
    assert_eq!(j.overlap, Overlap::Skip);
    assert_eq!(j.parameters, json!({}));
    assert_eq!(
        ok(&job(json!({"overlap": "allow"}))).jobs[0].overlap,
        Overlap::Allow
    );
}

#[test]
fn a_repeated_job_name_keeps_the_last_one() {
    let config = ok(r#"{"kiicloud://scheduler": {
        "j": {"cron": "0 * * * *", "endpoint": "checkData", "what": "EXECUTE_SERVER_CODE"},
        "j": {"cron": "5 * * * *", "endpoint": "checkData", "what": "EXECUTE_SERVER_CODE"}
    }}"#);
    assert_eq!(config.jobs.len(), 1);
    assert_eq!(config.jobs[0].schedule.text(), "5 * * * *");
}

#[test]
fn not_json() {
    let m = refused("{\"kiicloud://users\": [", ErrorCode::InvalidJson);
    assert!(m.starts_with("The hook config is not JSON"), "{m}");
    refused("", ErrorCode::InvalidJson);
    refused("{'a': 1}", ErrorCode::InvalidJson);
    let m = refused("{} /* open", ErrorCode::InvalidJson);
    assert!(
        m.contains("comment opened on line 1 is never closed"),
        "{m}"
    );
    assert!(bad("[]").contains("must be a JSON object of paths"));
    let m = refused("{} /* \0 */", ErrorCode::InvalidJson);
    assert!(m.contains("NUL byte"), "{m}");
}

#[test]
fn a_byte_order_mark_is_allowed() {
    let text = format!("\u{FEFF}{}", hook("kiicloud://users", "USER_CREATED"));
    assert_eq!(ok(&text).triggers.len(), 1);
}

#[test]
fn size_depth_and_count_are_bounded() {
    let huge = format!(
        "{{\"kiicloud://users\": [], \"x\": \"{}\"}}",
        "a".repeat(MAX_CONFIG_BYTES)
    );
    refused(&huge, ErrorCode::RequestTooLarge);
    let deep = job(json!({"parameters": {"a": "[".repeat(0)}})).replace(
        "\"a\":\"\"",
        &format!("\"a\":{}{}", "[".repeat(40), "]".repeat(40)),
    );
    assert!(bad(&deep).contains("deeper than 32 levels"));
    let many: Vec<_> = (0..=MAX_ENTRIES)
        .map(
            |_| json!({"when": "USER_CREATED", "what": "EXECUTE_SERVER_CODE", "endpoint": "onAny"}),
        )
        .collect();
    let m = bad(&json!({"kiicloud://users": many}).to_string());
    assert!(m.contains("at most 1000 trigger hooks and jobs"), "{m}");
    let hooks: Vec<_> = many[..600].to_vec();
    let jobs: serde_json::Map<String, serde_json::Value> = (0..401)
        .map(|i| (format!("j{i}"), json!({"cron": "0 * * * *", "endpoint": "checkData", "what": "EXECUTE_SERVER_CODE"})))
        .collect();
    let m = bad(&json!({"kiicloud://users": hooks, "kiicloud://scheduler": jobs}).to_string());
    assert!(m.contains("at most 1000 trigger hooks and jobs"), "{m}");
}

#[test]
fn unknown_paths() {
    for path in [
        "kiicloud://userz",
        "kiicloud://users/abc/buckets/b1",
        "kiicloud://objects",
        "users",
    ] {
        let m = bad(&hook(path, "USER_CREATED"));
        assert!(
            m.starts_with(&format!(
                "{path}: unknown path; hooks listen on kiicloud://users"
            )),
            "{m}"
        );
    }
    let m = bad(&hook("kiicloud://buckets/b", "DATA_OBJECT_CREATED"));
    assert!(
        m.starts_with("kiicloud://buckets/b: invalid bucket name: Bucket names are 2 to 64"),
        "{m}"
    );
    let long = format!("kiicloud://{}", "x".repeat(5000));
    let m = bad(&hook(&long, "USER_CREATED"));
    assert!(m.len() < 1000, "the message quotes the whole key");
}

#[test]
fn trigger_path_values_and_hooks_have_a_shape() {
    let m = bad(r#"{"kiicloud://users": {"when": "USER_CREATED"}}"#);
    assert!(m.starts_with("kiicloud://users: must be an array"), "{m}");
    let m = bad(r#"{"kiicloud://users": ["USER_CREATED"]}"#);
    assert!(
        m.starts_with("kiicloud://users[0]: must be an object"),
        "{m}"
    );
    let m = bad(
        r#"{"kiicloud://users": [{"when": "USER_CREATED", "what": "EXECUTE_SERVER_CODE", "endpoint": "onAny", "enpoint": "x"}]}"#,
    );
    assert!(
        m.starts_with("kiicloud://users[0]: unknown key \"enpoint\""),
        "{m}"
    );
}

#[test]
fn unknown_and_misplaced_triggers() {
    let text = r#"{"kiicloud://users": [
        {"when": "USER_CREATED", "what": "EXECUTE_SERVER_CODE", "endpoint": "onAny"},
        {"when": "USER_DELETED", "what": "EXECUTE_SERVER_CODE", "endpoint": "onAny"},
        {"when": "USER_EXPLODED", "what": "EXECUTE_SERVER_CODE", "endpoint": "onAny"}
    ]}"#;
    let m = bad(text);
    assert!(m.starts_with("kiicloud://users[2].when: unknown trigger \"USER_EXPLODED\"; user triggers are USER_CREATED,"), "{m}");
    let m = bad(&hook("kiicloud://users", "GROUP_CREATED"));
    assert!(m.starts_with("kiicloud://users[0].when: \"GROUP_CREATED\" is a trigger for groups, not for kiicloud://users"), "{m}");
    let m = bad(&hook("kiicloud://users", "DATA_OBJECT_CREATED"));
    assert!(m.contains("is a trigger for buckets"), "{m}");
    let m = bad(&hook("kiicloud://buckets/b1", "USER_CREATED"));
    assert!(m.contains("bucket triggers are DATA_OBJECT_CREATED"), "{m}");
    let m = bad(&hook("kiicloud://groups", "INSTALLATION_CREATED"));
    assert!(m.contains("is a trigger for installations, not for kiicloud://groups; group triggers are GROUP_CREATED"), "{m}");
    let m = bad(&hook("kiicloud://things", "USER_CREATED"));
    assert!(m.contains("thing triggers are THING_CREATED"), "{m}");
    let m = bad(&hook("kiicloud://users", "user_created"));
    assert!(m.contains("unknown trigger \"user_created\""), "{m}");
}

#[test]
fn what_and_endpoint() {
    let m = bad(
        r#"{"kiicloud://users": [{"when": "USER_CREATED", "what": "SEND_EMAIL", "endpoint": "onAny"}]}"#,
    );
    assert!(m.starts_with("kiicloud://users[0].what: \"SEND_EMAIL\" is not an action; the only one is \"EXECUTE_SERVER_CODE\""), "{m}");
    let m = bad(r#"{"kiicloud://users": [{"when": "USER_CREATED", "endpoint": "onAny"}]}"#);
    assert_eq!(m, "kiicloud://users[0]: \"what\" is missing");
    let m =
        bad(r#"{"kiicloud://users": [{"when": "USER_CREATED", "what": "EXECUTE_SERVER_CODE"}]}"#);
    assert_eq!(m, "kiicloud://users[0]: \"endpoint\" is missing");
    let m = bad(r#"{"kiicloud://users": [{"what": "EXECUTE_SERVER_CODE", "endpoint": "onAny"}]}"#);
    assert_eq!(m, "kiicloud://users[0]: \"when\" is missing");
    let m = bad(
        r#"{"kiicloud://users": [{"when": "USER_CREATED", "what": "EXECUTE_SERVER_CODE", "endpoint": 3}]}"#,
    );
    assert_eq!(m, "kiicloud://users[0].endpoint: must be a string");
    let m = bad(
        r#"{"kiicloud://users": [{"when": "USER_CREATED", "what": "EXECUTE_SERVER_CODE", "endpoint": "foo"}]}"#,
    );
    assert_eq!(
        m,
        "kiicloud://users[0].endpoint: \"foo\" is not defined by this version"
    );
}

#[test]
fn scheduler_shapes() {
    let m = bad(r#"{"kiicloud://scheduler": []}"#);
    assert_eq!(m, "kiicloud://scheduler: must be an object of named jobs");
    let m = bad(r#"{"kiicloud://scheduler": {"nightly": "0 * * * *"}}"#);
    assert!(
        m.starts_with("kiicloud://scheduler: job \"nightly\": must be an object"),
        "{m}"
    );
    let m = bad(
        r#"{"kiicloud://scheduler": {"": {"cron": "0 * * * *", "endpoint": "checkData", "what": "EXECUTE_SERVER_CODE"}}}"#,
    );
    assert!(m.contains("a job name is 1 to 256 bytes"), "{m}");
    let m = bad(&job(json!({"crons": "1 * * * *"})));
    assert!(
        m.starts_with("kiicloud://scheduler: job \"nightly\": unknown key \"crons\""),
        "{m}"
    );
}

#[test]
fn job_fields() {
    let at = "kiicloud://scheduler: job \"nightly\"";
    assert_eq!(
        bad(&job(json!({"cron": null}))),
        format!("{at}: \"cron\" is missing")
    );
    let m = bad(&job(json!({"cron": "61 * * * *"})));
    assert!(
        m.starts_with(&format!("{at}: invalid cron \"61 * * * *\": ")),
        "{m}"
    );
    let m = bad(&job(json!({"cron": "0 0 0 1 1 * 2030"})));
    assert!(
        m.starts_with(&format!("{at}: invalid cron \"0 0 0 1 1 * 2030\": ")),
        "{m}"
    );
    let m = bad(&job(json!({"cron": "0 0 31 2 *"})));
    assert_eq!(
        m,
        format!("{at}: cron \"0 0 31 2 *\" does not fire within 28 years")
    );
    assert_eq!(
        bad(&job(json!({"endpoint": null}))),
        format!("{at}: \"endpoint\" is missing")
    );
    assert_eq!(
        bad(&job(json!({"endpoint": "gone"}))),
        format!("{at}.endpoint: \"gone\" is not defined by this version")
    );
    assert_eq!(
        bad(&job(json!({"what": null}))),
        format!("{at}: \"what\" is missing")
    );
    assert!(bad(&job(json!({"what": "RUN"})))
        .starts_with(&format!("{at}.what: \"RUN\" is not an action")));
    let m = bad(&job(json!({"timezone": "Mars/Olympus"})));
    assert!(
        m.starts_with(&format!(
            "{at}.timezone: \"Mars/Olympus\" is not an IANA time zone name"
        )),
        "{m}"
    );
    assert_eq!(
        bad(&job(json!({"timezone": 9}))),
        format!("{at}.timezone: must be a string")
    );
    let m = bad(&job(json!({"overlap": "queue"})));
    assert_eq!(
        m,
        format!("{at}.overlap: must be \"allow\" (the default) or \"skip\"")
    );
    let m = bad(&job(json!({"parameters": [1, 2]})));
    assert!(
        m.starts_with(&format!("{at}.parameters: must be an object")),
        "{m}"
    );
    let m = bad(&job(
        json!({"parameters": {"blob": "x".repeat(101 * 1024)}}),
    ));
    assert!(
        m.starts_with(&format!("{at}.parameters: must be under")),
        "{m}"
    );
}
