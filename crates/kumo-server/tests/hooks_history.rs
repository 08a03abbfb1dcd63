//! The schedule-execution history over REST: querying it (every clause, orders, paging), one
//! record, errors, who may read it, and its trimming in the background.

mod common;

use std::collections::HashSet;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use common::{Reply, TestServer};
use kumo_server::hooks::HooksConfig;
use kumo_server::Config;
use kumo_storage::testing::insert_schedule_execution;
use kumo_storage::{Dialect, ExecutionStatus, ScheduleExecution};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    a_record_shows_the_documented_fields,
    a_running_record_has_no_finish,
    unknown_records_are_404,
    only_app_admins_read_the_history,
    every_clause_selects_what_it_says,
    orders_and_directions,
    paging_with_a_small_limit_sees_every_record_once,
    bad_queries_are_400s_that_say_why,
    vendor_and_plain_json_content_types_are_accepted,
);

use ExecutionStatus::{Failed, Running, Success};

fn exec(
    s: &TestServer,
    id: &str,
    job: &str,
    status: ExecutionStatus,
    started_at: i64,
) -> ScheduleExecution {
    let running = status == Running;
    ScheduleExecution {
        id: id.into(),
        app_id: s.app.app_id.clone(),
        version_id: "ver1".into(),
        job: job.into(),
        scheduled_at: started_at - 2,
        by_hand: id.ends_with("hand"),
        status,
        started_at,
        finished_at: (!running).then_some(started_at + 480_000),
        result: (!running).then(|| format!("result of {id}")),
    }
}

async fn insert(s: &TestServer, e: ScheduleExecution) {
    insert_schedule_execution(&s.store, &e).await.unwrap();
}

/// The seed's table, a day apart, plus a run by hand.
async fn seed(s: &TestServer) {
    let t = *T;
    insert(
        s,
        exec(s, "ijj4uyd", "deleteInactiveUsers", Failed, t - DAY),
    )
    .await;
    insert(s, exec(s, "gdgyg5g", "cleanUpMessagesBucket", Success, t)).await;
    insert(
        s,
        exec(s, "w78eryy", "moveObjectsToUserBucket", Success, t + DAY),
    )
    .await;
    insert(
        s,
        exec(
            s,
            "wtwer8y",
            "moveObjectsToUserBucket",
            Running,
            t + 2 * DAY,
        ),
    )
    .await;
    insert(
        s,
        exec(s, "k2hand", "cleanUpMessagesBucket", Success, t + 3 * DAY),
    )
    .await;
}

/// Ten days ago, so that the default retention (30 days) keeps the whole seed.
static T: LazyLock<i64> = LazyLock::new(|| kumo_types::now_ms() - 10 * DAY);
const DAY: i64 = 86_400_000;

async fn query(s: &TestServer, admin: &str, body: Value) -> Reply {
    s.raw(
        Method::POST,
        "/apps/{app}/hooks/executions/query",
        Some(admin),
        Some("application/vnd.kii.ScheduleExecutionQueryRequest+json"),
        body.to_string().into_bytes(),
    )
    .await
}

/// The IDs a clause selects, in the default order (by start, oldest first).
async fn select(s: &TestServer, admin: &str, clause: Value) -> Vec<String> {
    let r = query(
        s,
        admin,
        json!({"scheduleExecutionQuery": {"clause": clause}}),
    )
    .await;
    r.expect_status(200);
    assert!(r.body.get("nextPaginationKey").is_none(), "{}", r.body);
    ids(&r.body)
}

fn ids(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {body}"))
        .iter()
        .map(|e| e["scheduleExecutionID"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_record_shows_the_documented_fields(s: &TestServer) {
    seed(s).await;
    let admin = s.admin().await;
    let r = s
        .get("/apps/{app}/hooks/executions/ijj4uyd", Some(&admin))
        .await;
    r.expect_status(200);
    assert_eq!(
        r.body,
        json!({
            "scheduleExecutionID": "ijj4uyd",
            "scheduledExecutionID": "ijj4uyd",
            "name": "deleteInactiveUsers",
            "versionID": "ver1",
            "status": "FAILED",
            "scheduledAt": *T - DAY - 2,
            "startedAt": *T - DAY,
            "started": *T - DAY,
            "finishedAt": *T - DAY + 480_000,
            "finished": *T - DAY + 480_000,
            "result": "result of ijj4uyd",
            "byHand": false,
        })
    );
    // A query shows each record exactly as a GET does.
    let all = query(s, &admin, json!({})).await;
    all.expect_status(200);
    assert_eq!(all.body["results"][0], r.body);
    let by_hand = s
        .get("/apps/{app}/hooks/executions/k2hand", Some(&admin))
        .await;
    assert_eq!(by_hand.body["byHand"], true);
}

async fn a_running_record_has_no_finish(s: &TestServer) {
    seed(s).await;
    let admin = s.admin().await;
    let r = s
        .get("/apps/{app}/hooks/executions/wtwer8y", Some(&admin))
        .await;
    r.expect_status(200);
    assert_eq!(r.body["status"], "RUNNING");
    assert_eq!(r.body["startedAt"], *T + 2 * DAY);
    for absent in ["finishedAt", "finished", "result"] {
        assert!(r.body.get(absent).is_none(), "{absent} in {}", r.body);
    }
}

async fn unknown_records_are_404(s: &TestServer) {
    seed(s).await;
    let admin = s.admin().await;
    s.get("/apps/{app}/hooks/executions/nosuchid", Some(&admin))
        .await
        .expect_error(404, "SCHEDULE_EXECUTION_NOT_FOUND");
    // Another app's record is not this app's to read, nor to find in a query.
    let other = kumo_server::create_app(s.store.as_ref(), "other", &s.site())
        .await
        .unwrap();
    let mut foreign = exec(s, "foreign1", "cleanUp", Success, *T);
    foreign.app_id = other.app_id.clone();
    insert(s, foreign).await;
    s.get("/apps/{app}/hooks/executions/foreign1", Some(&admin))
        .await
        .expect_error(404, "SCHEDULE_EXECUTION_NOT_FOUND");
    let all = select(s, &admin, json!({"type": "all"})).await;
    assert!(!all.contains(&"foreign1".to_owned()));
    assert_eq!(all.len(), 5);
}

async fn only_app_admins_read_the_history(s: &TestServer) {
    seed(s).await;
    let (_, user) = s.user("alice", "password1").await;
    for token in [Some(user.as_str()), None] {
        s.get("/apps/{app}/hooks/executions/ijj4uyd", token)
            .await
            .expect_error(401, "UNAUTHORIZED");
        s.post("/apps/{app}/hooks/executions/query", token, json!({}))
            .await
            .expect_error(401, "UNAUTHORIZED");
        // Refused before the body is looked at.
        s.raw(
            Method::POST,
            "/apps/{app}/hooks/executions/query",
            token,
            Some("application/json"),
            b"{not json".to_vec(),
        )
        .await
        .expect_error(401, "UNAUTHORIZED");
    }
}

async fn every_clause_selects_what_it_says(s: &TestServer) {
    seed(s).await;
    let admin = s.admin().await;
    let (a, b, c, d, e) = ("ijj4uyd", "gdgyg5g", "w78eryy", "wtwer8y", "k2hand");
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"type": "all"}), vec![a, b, c, d, e]),
        // The spec's example: a window of start times, both ends included.
        (
            json!({"type": "range", "field": "startedAt", "lowerLimit": *T, "lowerIncluded": true,
                   "upperLimit": *T + DAY, "upperIncluded": true}),
            vec![b, c],
        ),
        (
            json!({"type": "range", "field": "startedAt", "lowerLimit": *T, "lowerIncluded": false,
                   "upperLimit": *T + 2 * DAY, "upperIncluded": false}),
            vec![c],
        ),
        // Either end may be left out; an end without `…Included` includes it.
        (
            json!({"type": "range", "field": "startedAt", "upperLimit": *T}),
            vec![a, b],
        ),
        (
            json!({"type": "range", "field": "startedAt", "lowerLimit": *T + 2 * DAY}),
            vec![d, e],
        ),
        // A running execution has not finished by any time.
        (
            json!({"type": "range", "field": "finishedAt", "lowerLimit": 0}),
            vec![a, b, c, e],
        ),
        (
            json!({"type": "range", "field": "finishedAt", "upperLimit": *T + 480_000,
                   "upperIncluded": true}),
            vec![a, b],
        ),
        (
            json!({"type": "not", "clause": {"type": "range", "field": "finishedAt",
                   "upperLimit": *T + 480_000}}),
            vec![c, d, e],
        ),
        (
            json!({"type": "eq", "field": "name", "value": "moveObjectsToUserBucket"}),
            vec![c, d],
        ),
        (
            json!({"type": "prefix", "field": "name", "prefix": "clean"}),
            vec![b, e],
        ),
        (
            json!({"type": "prefix", "field": "name", "prefix": "Clean"}),
            vec![],
        ),
        (
            json!({"type": "in", "field": "name",
                   "values": ["deleteInactiveUsers", "cleanUpMessagesBucket", "nothing"]}),
            vec![a, b, e],
        ),
        (
            json!({"type": "eq", "field": "status", "value": "FAILED"}),
            vec![a],
        ),
        (
            json!({"type": "eq", "field": "status", "value": "RUNNING"}),
            vec![d],
        ),
        (
            json!({"type": "in", "field": "status", "values": ["RUNNING", "FAILED"]}),
            vec![a, d],
        ),
        (
            json!({"type": "eq", "field": "scheduleExecutionID", "value": c}),
            vec![c],
        ),
        (
            json!({"type": "in", "field": "scheduleExecutionID", "values": [a, e, "zzz"]}),
            vec![a, e],
        ),
        (
            json!({"type": "and", "clauses": [
                {"type": "prefix", "field": "name", "prefix": "move"},
                {"type": "eq", "field": "status", "value": "SUCCESS"}]}),
            vec![c],
        ),
        (
            json!({"type": "or", "clauses": [
                {"type": "eq", "field": "status", "value": "FAILED"},
                {"type": "eq", "field": "name", "value": "moveObjectsToUserBucket"}]}),
            vec![a, c, d],
        ),
        (
            json!({"type": "not", "clause": {"type": "eq", "field": "status", "value": "SUCCESS"}}),
            vec![a, d],
        ),
        // Nested: (started after T and not a clean-up) or (failed and not by its name).
        (
            json!({"type": "or", "clauses": [
                {"type": "and", "clauses": [
                    {"type": "range", "field": "startedAt", "lowerLimit": *T, "lowerIncluded": false},
                    {"type": "not", "clause": {"type": "prefix", "field": "name", "prefix": "clean"}}]},
                {"type": "and", "clauses": [
                    {"type": "eq", "field": "status", "value": "FAILED"},
                    {"type": "not", "clause": {"type": "eq", "field": "name", "value": "x"}}]}]}),
            vec![a, c, d],
        ),
    ];
    for (clause, expected) in cases {
        assert_eq!(
            select(s, &admin, clause.clone()).await,
            expected,
            "{clause}"
        );
    }
    // No query at all, or no clause, is everything.
    let r = query(s, &admin, json!({"scheduleExecutionQuery": {}})).await;
    assert_eq!(ids(&r.body), [a, b, c, d, e]);
}

async fn ordered(
    s: &TestServer,
    admin: &str,
    order_by: Option<&str>,
    descending: bool,
) -> Vec<String> {
    let mut q = json!({"clause": {"type": "all"}, "descending": descending});
    if let Some(o) = order_by {
        q["orderBy"] = json!(o);
    }
    let r = query(s, admin, json!({"scheduleExecutionQuery": q})).await;
    r.expect_status(200);
    ids(&r.body)
}

async fn orders_and_directions(s: &TestServer) {
    seed(s).await;
    let admin = s.admin().await;
    let (a, b, c, d, e) = ("ijj4uyd", "gdgyg5g", "w78eryy", "wtwer8y", "k2hand");
    assert_eq!(ordered(s, &admin, None, false).await, [a, b, c, d, e]);
    assert_eq!(
        ordered(s, &admin, Some("startedAt"), true).await,
        [e, d, c, b, a]
    );
    // Still running: after every finished one, or first when the newest finish comes first.
    assert_eq!(
        ordered(s, &admin, Some("finishedAt"), false).await,
        [a, b, c, e, d]
    );
    assert_eq!(
        ordered(s, &admin, Some("finishedAt"), true).await,
        [d, e, c, b, a]
    );
    // By name, then by ID.
    assert_eq!(
        ordered(s, &admin, Some("name"), false).await,
        [b, e, a, c, d]
    );
}

async fn paging_with_a_small_limit_sees_every_record_once(s: &TestServer) {
    let admin = s.admin().await;
    // Four records per start time, so pages end inside ties.
    for i in 0..30 {
        let status = [Success, Failed, Running][i % 3];
        let e = exec(
            s,
            &format!("p{i:02}"),
            &format!("job{}", i % 5),
            status,
            *T + (i as i64 / 4),
        );
        insert(s, e).await;
    }
    let orders = [
        (None, false),
        (Some("startedAt"), true),
        (Some("finishedAt"), false),
        (Some("name"), true),
    ];
    for (order_by, descending) in orders {
        let whole = ordered(s, &admin, order_by, descending).await;
        assert_eq!(whole.len(), 30);
        let mut q = json!({"clause": {"type": "all"}, "descending": descending});
        if let Some(o) = order_by {
            q["orderBy"] = json!(o);
        }
        let mut seen = Vec::new();
        let mut key: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut body = json!({"scheduleExecutionQuery": q, "bestEffortLimit": 4});
            if let Some(k) = &key {
                body["paginationKey"] = json!(k);
            }
            let r = query(s, &admin, body).await;
            r.expect_status(200);
            let page = ids(&r.body);
            assert!(page.len() <= 4, "{}", r.body);
            seen.extend(page);
            pages += 1;
            match r.body.get("nextPaginationKey") {
                Some(Value::String(k)) => key = Some(k.clone()),
                None => break,
                Some(other) => panic!("nextPaginationKey {other}"),
            }
            assert!(pages < 20, "paging does not end");
        }
        assert_eq!(pages, 8, "{order_by:?}");
        assert_eq!(seen, whole, "{order_by:?} {descending}");
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 30);
    }
    // A clause pages too.
    let failed = json!({"clause": {"type": "eq", "field": "status", "value": "FAILED"}});
    let first = query(
        s,
        &admin,
        json!({"scheduleExecutionQuery": failed, "bestEffortLimit": 6}),
    )
    .await;
    let key = first.body["nextPaginationKey"].as_str().unwrap().to_owned();
    let second = query(
        s,
        &admin,
        json!({"scheduleExecutionQuery": failed, "bestEffortLimit": 6, "paginationKey": key}),
    )
    .await;
    assert!(second.body.get("nextPaginationKey").is_none());
    let mut both = ids(&first.body);
    both.extend(ids(&second.body));
    assert_eq!(both.len(), 10);
    assert!(both.iter().all(|id| {
        let n: usize = id[1..].parse().unwrap();
        n % 3 == 1
    }));
}

async fn bad_queries_are_400s_that_say_why(s: &TestServer) {
    seed(s).await;
    let admin = s.admin().await;
    let mut deep = json!({"type": "all"});
    for _ in 0..40 {
        deep = json!({"type": "not", "clause": deep});
    }
    let many: Vec<Value> = (0..250)
        .map(|i| json!({"type": "eq", "field": "name", "value": format!("j{i}")}))
        .collect();
    let cases: Vec<(Value, &str, &str)> = vec![
        (deep, "QUERY_NOT_SUPPORTED", "deep"),
        (
            json!({"type": "or", "clauses": many}),
            "QUERY_NOT_SUPPORTED",
            "200",
        ),
        (
            json!({"type": "eq", "field": "color", "value": "red"}),
            "QUERY_NOT_SUPPORTED",
            "color",
        ),
        (
            json!({"type": "and", "clauses": [{"type": "all"},
                   {"type": "range", "field": "createdAt", "lowerLimit": 1}]}),
            "QUERY_NOT_SUPPORTED",
            "createdAt",
        ),
        (
            json!({"type": "geobox", "field": "name"}),
            "QUERY_NOT_SUPPORTED",
            "geobox",
        ),
        (
            json!({"type": "prefix", "field": "status", "prefix": "RUN"}),
            "QUERY_NOT_SUPPORTED",
            "status",
        ),
        (
            json!({"type": "range", "field": "name", "lowerLimit": 1}),
            "QUERY_NOT_SUPPORTED",
            "name",
        ),
        (
            json!({"type": "eq", "field": "status", "value": "DONE"}),
            "INVALID_INPUT_DATA",
            "DONE",
        ),
        (
            json!({"type": "range", "field": "startedAt", "lowerLimit": "yesterday"}),
            "INVALID_INPUT_DATA",
            "lowerLimit",
        ),
        (
            json!({"type": "range", "field": "startedAt"}),
            "INVALID_INPUT_DATA",
            "range",
        ),
        (
            json!({"type": "and", "clauses": []}),
            "INVALID_INPUT_DATA",
            "clauses",
        ),
        (json!({"field": "name"}), "INVALID_INPUT_DATA", "type"),
        (json!("all"), "INVALID_INPUT_DATA", "object"),
    ];
    for (clause, code, says) in cases {
        let r = query(
            s,
            &admin,
            json!({"scheduleExecutionQuery": {"clause": clause}}),
        )
        .await;
        r.expect_error(400, code);
        let message = r.body["message"].as_str().unwrap();
        assert!(message.contains(says), "{message:?} should name {says:?}");
    }
    let unknown_field = query(
        s,
        &admin,
        json!({"scheduleExecutionQuery": {"clause": {"type": "eq", "field": "color", "value": "x"}}}),
    )
    .await;
    assert_eq!(unknown_field.body["field"], "color");

    for (body, code) in [
        (
            json!({"scheduleExecutionQuery": {"orderBy": "color"}}),
            "QUERY_NOT_SUPPORTED",
        ),
        (
            json!({"scheduleExecutionQuery": {"descending": "yes"}}),
            "INVALID_INPUT_DATA",
        ),
        (json!({"scheduleExecutionQuery": []}), "INVALID_INPUT_DATA"),
        (json!({"bestEffortLimit": "ten"}), "INVALID_INPUT_DATA"),
        (json!({"paginationKey": 5}), "INVALID_INPUT_DATA"),
        (
            json!({"paginationKey": "bm90IGEga2V5"}),
            "INVALID_INPUT_DATA",
        ),
    ] {
        query(s, &admin, body).await.expect_error(400, code);
    }
    // A key from one order does not page another.
    let asc = query(s, &admin, json!({"bestEffortLimit": 2})).await;
    let key = asc.body["nextPaginationKey"].as_str().unwrap();
    query(
        s,
        &admin,
        json!({"scheduleExecutionQuery": {"descending": true}, "paginationKey": key}),
    )
    .await
    .expect_error(400, "INVALID_INPUT_DATA");
    for bad in [&b"{"[..], b"[1]", b""] {
        let r = s
            .raw(
                Method::POST,
                "/apps/{app}/hooks/executions/query",
                Some(&admin),
                Some("application/vnd.kii.ScheduleExecutionQueryRequest+json"),
                bad.to_vec(),
            )
            .await;
        assert_eq!(r.status.as_u16(), 400, "{}", r.body);
        assert!(r.body["errorCode"].is_string());
    }
}

async fn vendor_and_plain_json_content_types_are_accepted(s: &TestServer) {
    seed(s).await;
    let admin = s.admin().await;
    let body = json!({"scheduleExecutionQuery": {"clause": {"type": "eq", "field": "status", "value": "FAILED"}}});
    for ct in [
        "application/vnd.kii.ScheduleExecutionQueryRequest+json",
        "application/json",
    ] {
        let r = s
            .raw(
                Method::POST,
                "/apps/{app}/hooks/executions/query",
                Some(&admin),
                Some(ct),
                body.to_string().into_bytes(),
            )
            .await;
        r.expect_status(200);
        assert_eq!(ids(&r.body), ["ijj4uyd"]);
        assert!(r.body["queryDescription"].is_string());
    }
}

// ---- retention ---------------------------------------------------------------------------------

fn trimming_often(max_per_app: i64) -> Config {
    let mut config = Config::default();
    config.server_code.hooks = HooksConfig {
        history_max_age: Duration::from_secs(30 * 24 * 3600),
        history_max_per_app: max_per_app,
        history_trim_every: Duration::from_millis(50),
        ..HooksConfig::default()
    };
    config
}

async fn history(s: &TestServer) -> Vec<String> {
    let admin = s.admin().await;
    select(s, &admin, json!({"type": "all"})).await
}

/// Polls until the history is `expected`; generous and bounded, the trim runs every 50 ms.
async fn wait_for_history(s: &TestServer, expected: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = history(s).await;
        if now == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "history stayed {now:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn old_records_are_trimmed_but_never_running_ones(dialect: Dialect) {
    let s = TestServer::start_with(dialect, trimming_often(1_000)).await;
    let now = kumo_types::now_ms();
    let old = now - 40 * DAY;
    insert(&s, exec(&s, "old-ok", "j", Success, old)).await;
    insert(&s, exec(&s, "old-failed", "j", Failed, old + 1)).await;
    insert(&s, exec(&s, "old-running", "j", Running, old + 2)).await;
    insert(&s, exec(&s, "recent", "j", Success, now - DAY)).await;
    wait_for_history(&s, &["old-running", "recent"]).await;
    s.stop().await;
}

async fn the_count_limit_keeps_the_newest(dialect: Dialect) {
    let s = TestServer::start_with(dialect, trimming_often(3)).await;
    let now = kumo_types::now_ms();
    // Inserted oldest last, so what is kept depends on start times, not on insertion.
    for i in (0..6).rev() {
        insert(
            &s,
            exec(&s, &format!("n{i}"), "j", Success, now - 60_000 + i),
        )
        .await;
    }
    // Older than the newest three, so it would go were it finished; running, it stays.
    insert(&s, exec(&s, "runner", "j", Running, now - 120_000)).await;
    wait_for_history(&s, &["runner", "n3", "n4", "n5"]).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_old_records_are_trimmed_but_never_running_ones() {
    old_records_are_trimmed_but_never_running_ones(Dialect::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_old_records_are_trimmed_but_never_running_ones() {
    old_records_are_trimmed_but_never_running_ones(Dialect::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_the_count_limit_keeps_the_newest() {
    the_count_limit_keeps_the_newest(Dialect::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_count_limit_keeps_the_newest() {
    the_count_limit_keeps_the_newest(Dialect::Postgres).await;
}
