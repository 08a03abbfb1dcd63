//! Schedule firings (claims, leases, fencing) and trigger delivery (cursors, retries), on
//! SQLite and on PostgreSQL.

mod common;

use std::sync::Arc;

use kumo_storage::testing::all_events;
use kumo_storage::{
    Actor, App, Claim, CodeVersion, EventCursor, ExecutionStatus, HookRetry, NewFiring, SqlStore,
    Storage, User,
};

on_both_backends!(
    a_firing_is_claimed_once_and_only_for_the_current_version,
    completion_needs_the_claims_fence,
    expired_leases_are_failed_and_renewed_ones_kept,
    overlap_skip_records_failed_while_the_previous_runs,
    cursor_lease_is_held_by_one_node,
    new_cursor_starts_after_the_newest_event,
    retries_are_leased_rescheduled_and_finished,
    delivered_events_are_trimmed_and_pending_ones_kept,
);

fn app(id: &str) -> App {
    App {
        id: id.into(),
        key: format!("key-{id}"),
        name: format!("app {id}"),
        client_id: format!("cid-{id}"),
        client_secret_hash: "ab".repeat(32),
        created_at: 1,
    }
}

async fn with_versions(s: &SqlStore, app_id: &str, current: &str) {
    s.create_app(&app(app_id)).await.unwrap();
    for v in ["v1", "v2"] {
        let version = CodeVersion {
            version_id: v.into(),
            source: "function f(){}".into(),
            environment_version: "6".into(),
            created_at: 1,
            modified_at: 1,
        };
        s.create_code_version(app_id, &version).await.unwrap();
    }
    s.set_current_version(app_id, Some(current)).await.unwrap();
}

fn firing(id: &str, version: &str, job: &str, at: i64) -> NewFiring {
    NewFiring {
        id: id.into(),
        app_id: "a1".into(),
        version_id: version.into(),
        job: job.into(),
        scheduled_at: at,
        by_hand: false,
        started_at: at + 3,
        skip_if_running: false,
        fence: 42,
    }
}

async fn a_firing_is_claimed_once_and_only_for_the_current_version(s: Arc<SqlStore>, _: String) {
    with_versions(&s, "a1", "v1").await;
    // Three nodes race for the same firings; each firing goes to exactly one.
    let batch = |node: &'static str| {
        let s = s.clone();
        async move {
            let firings: Vec<_> = (0..20)
                .map(|i| firing(&format!("{node}-{i}"), "v1", "job", 1_000 * i))
                .collect();
            s.claim_firings(&firings, node, i64::MAX).await.unwrap()
        }
    };
    let (a, b, c) = tokio::join!(batch("n1"), batch("n2"), batch("n3"));
    for i in 0..20 {
        let won = [&a, &b, &c]
            .iter()
            .filter(|claims| claims[i] == Claim::Run)
            .count();
        assert_eq!(won, 1, "firing {i} claimed {won} times");
    }
    // Not the current version: nobody runs it.
    let old = firing("old", "v2", "job", 5);
    assert_eq!(
        s.claim_firings(&[old], "n1", i64::MAX).await.unwrap(),
        vec![Claim::Lost]
    );
    // Runs by hand are firings of their own, even at the same time.
    let mut h1 = firing("h1", "v1", "job", 7);
    h1.by_hand = true;
    let mut h2 = firing("h2", "v1", "job", 7);
    h2.by_hand = true;
    assert_eq!(
        s.claim_firings(&[h1, h2], "n1", i64::MAX).await.unwrap(),
        vec![Claim::Run, Claim::Run]
    );
    let e = s.get_schedule_execution("a1", "h2").await.unwrap().unwrap();
    assert!(e.by_hand);
    assert_eq!(e.status, ExecutionStatus::Running);
    assert_eq!((e.scheduled_at, e.started_at, e.finished_at), (7, 10, None));
}

async fn completion_needs_the_claims_fence(s: Arc<SqlStore>, _: String) {
    with_versions(&s, "a1", "v1").await;
    let f = firing("e1", "v1", "job", 100);
    s.claim_firings(std::slice::from_ref(&f), "n1", i64::MAX)
        .await
        .unwrap();
    assert!(!s
        .finish_firing("a1", "e1", 41, ExecutionStatus::Success, 200, "ok")
        .await
        .unwrap());
    assert!(!s
        .finish_firing("other", "e1", 42, ExecutionStatus::Success, 200, "ok")
        .await
        .unwrap());
    assert!(s
        .finish_firing("a1", "e1", 42, ExecutionStatus::Success, 200, "done!")
        .await
        .unwrap());
    // Finished once: a second completion changes nothing.
    assert!(!s
        .finish_firing("a1", "e1", 42, ExecutionStatus::Failed, 300, "late")
        .await
        .unwrap());
    let e = s.get_schedule_execution("a1", "e1").await.unwrap().unwrap();
    assert_eq!(e.status, ExecutionStatus::Success);
    assert_eq!(e.finished_at, Some(200));
    assert_eq!(e.result.as_deref(), Some("done!"));
}

async fn expired_leases_are_failed_and_renewed_ones_kept(s: Arc<SqlStore>, _: String) {
    with_versions(&s, "a1", "v1").await;
    s.claim_firings(&[firing("dies", "v1", "j", 1)], "dead", 1_000)
        .await
        .unwrap();
    s.claim_firings(&[firing("lives", "v1", "j", 2)], "alive", 1_000)
        .await
        .unwrap();
    assert_eq!(s.renew_firing_leases("alive", 5_000).await.unwrap(), 1);
    let lost = s.fail_expired_firings(2_000, "node lost").await.unwrap();
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0].id, "dies");
    let dead = s
        .get_schedule_execution("a1", "dies")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dead.status, ExecutionStatus::Failed);
    assert_eq!(dead.result.as_deref(), Some("node lost"));
    assert_eq!(dead.finished_at, Some(2_000));
    // The dead node's late completion is fenced out.
    assert!(!s
        .finish_firing("a1", "dies", 42, ExecutionStatus::Success, 3_000, "ok")
        .await
        .unwrap());
    let alive = s
        .get_schedule_execution("a1", "lives")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alive.status, ExecutionStatus::Running);
}

async fn overlap_skip_records_failed_while_the_previous_runs(s: Arc<SqlStore>, _: String) {
    with_versions(&s, "a1", "v1").await;
    let mut first = firing("f1", "v1", "slow", 1_000);
    first.skip_if_running = true;
    let mut second = firing("f2", "v1", "slow", 2_000);
    second.skip_if_running = true;
    assert_eq!(
        s.claim_firings(&[first], "n", i64::MAX).await.unwrap(),
        vec![Claim::Run]
    );
    assert_eq!(
        s.claim_firings(std::slice::from_ref(&second), "n", i64::MAX)
            .await
            .unwrap(),
        vec![Claim::Skipped]
    );
    let skipped = s.get_schedule_execution("a1", "f2").await.unwrap().unwrap();
    assert_eq!(skipped.status, ExecutionStatus::Failed);
    assert!(skipped.result.unwrap().contains("still running"));
    // Another job is not held back.
    let mut other = firing("o1", "v1", "other", 2_000);
    other.skip_if_running = true;
    assert_eq!(
        s.claim_firings(&[other], "n", i64::MAX).await.unwrap(),
        vec![Claim::Run]
    );
}

/// The app's events after `after`, once `n` are there. On PostgreSQL an event shows only when
/// every transaction older than its own has ended, in any database of the server (the tests
/// running beside this one write too).
async fn settled_events(s: &SqlStore, after: EventCursor, n: usize) -> Vec<kumo_storage::Event> {
    for _ in 0..500 {
        let events = s.events_since("a1", after, 10).await.unwrap();
        if events.len() >= n {
            assert_eq!(events.len(), n, "{events:?}");
            return events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("{n} events were not delivered within 10 s");
}

fn admin() -> Actor {
    Actor {
        principal: "admin".into(),
        from_server_code: false,
        by_hook: false,
    }
}

fn user(id: &str) -> User {
    User {
        id: id.into(),
        login_name: Some(format!("login-{id}")),
        created_at: 1,
        modified_at: 1,
        ..User::default()
    }
}

fn position(seq: i64) -> EventCursor {
    EventCursor { txid: 7, seq }
}

async fn cursor_lease_is_held_by_one_node(s: Arc<SqlStore>, _: String) {
    s.create_app(&app("a1")).await.unwrap();
    s.ensure_hook_cursor("a1").await.unwrap();
    s.ensure_hook_cursor("nope").await.unwrap(); // no such app: nothing, no error
    assert_eq!(
        s.lease_hook_cursor("a1", "n1", 100, 1_000).await.unwrap(),
        Some(EventCursor::START)
    );
    assert_eq!(
        s.lease_hook_cursor("a1", "n2", 500, 2_000).await.unwrap(),
        None
    );
    assert!(!s
        .advance_hook_cursor("a1", "n2", position(5), 2_000)
        .await
        .unwrap());
    assert!(s
        .advance_hook_cursor("a1", "n1", position(5), 1_500)
        .await
        .unwrap());
    // The lease runs out: another node takes over where the cursor stands.
    assert_eq!(
        s.lease_hook_cursor("a1", "n2", 1_600, 3_000).await.unwrap(),
        Some(position(5))
    );
    assert!(!s
        .advance_hook_cursor("a1", "n1", position(9), 9_000)
        .await
        .unwrap());
    s.release_hook_cursors("n2").await.unwrap();
    assert_eq!(
        s.lease_hook_cursor("a1", "n3", 1_700, 3_000).await.unwrap(),
        Some(position(5))
    );
}

async fn new_cursor_starts_after_the_newest_event(s: Arc<SqlStore>, _: String) {
    s.create_app(&app("a1")).await.unwrap();
    let admin = admin();
    s.create_user("a1", &user("u1"), &admin).await.unwrap();
    s.ensure_hook_cursor("a1").await.unwrap();
    assert!(s.hook_cursors_with_work("n1", 10).await.unwrap().is_empty());
    s.create_user("a1", &user("u2"), &admin).await.unwrap();
    assert_eq!(
        s.hook_cursors_with_work("n1", 10).await.unwrap(),
        vec!["a1".to_owned()]
    );
    let at = s
        .lease_hook_cursor("a1", "n1", 10, 1_000)
        .await
        .unwrap()
        .unwrap();
    let pending = settled_events(&s, at, 1).await;
    assert_eq!(pending[0].target["userID"], "u2");
    // Held by n1: not work for n2 until the lease runs out.
    assert!(s
        .hook_cursors_with_work("n2", 500)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        s.hook_cursors_with_work("n2", 1_001).await.unwrap().len(),
        1
    );
    // An existing cursor is never moved back by ensuring it again.
    s.advance_hook_cursor("a1", "n1", pending[0].cursor(), 1_000)
        .await
        .unwrap();
    s.ensure_hook_cursor("a1").await.unwrap();
    assert!(s.hook_cursors_with_work("n1", 20).await.unwrap().is_empty());
    // Events of hook-run code are marked so.
    let by_hook = Actor {
        by_hook: true,
        from_server_code: true,
        ..admin
    };
    s.create_user("a1", &user("u3"), &by_hook).await.unwrap();
    let e = settled_events(&s, pending[0].cursor(), 1).await;
    assert!(e[0].by_hook && e[0].from_server_code);
}

async fn retries_are_leased_rescheduled_and_finished(s: Arc<SqlStore>, _: String) {
    s.create_app(&app("a1")).await.unwrap();
    let retry = HookRetry {
        id: 0,
        app_id: "a1".into(),
        event_seq: 9,
        version_id: "v1".into(),
        endpoint: "onCreate".into(),
        trigger: "USER_CREATED".into(),
        params: r#"{"userID":"u1"}"#.into(),
        actor: "user:u1".into(),
        attempts: 1,
    };
    s.add_hook_retry(&retry, 1_000).await.unwrap();
    assert!(s
        .claim_hook_retries("n1", 999, 5_000, 10)
        .await
        .unwrap()
        .is_empty());
    let got = s.claim_hook_retries("n1", 1_000, 5_000, 10).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        HookRetry {
            id: 0,
            ..got[0].clone()
        },
        retry,
        "kept as given"
    );
    // Leased: no other node gets it meanwhile.
    assert!(s
        .claim_hook_retries("n2", 2_000, 6_000, 10)
        .await
        .unwrap()
        .is_empty());
    s.finish_hook_retry(got[0].id, "n1", Some((2, 3_000)))
        .await
        .unwrap();
    assert!(s
        .claim_hook_retries("n2", 2_999, 6_000, 10)
        .await
        .unwrap()
        .is_empty());
    let again = s.claim_hook_retries("n2", 3_000, 6_000, 10).await.unwrap();
    assert_eq!(again[0].attempts, 2);
    // A node whose lease ran out cannot finish it.
    s.finish_hook_retry(again[0].id, "n1", None).await.unwrap();
    let stolen = s.claim_hook_retries("n3", 6_001, 9_000, 10).await.unwrap();
    assert_eq!(stolen.len(), 1);
    s.finish_hook_retry(stolen[0].id, "n3", None).await.unwrap();
    assert!(s
        .claim_hook_retries("n3", 99_999, 100_000, 10)
        .await
        .unwrap()
        .is_empty());
}

/// PostgreSQL draws an event's seq when the row is written but shows it when the transaction
/// commits, in any order: a reader must not pass an event whose transaction is still open
/// (moving its cursor past a later event that committed first would lose it for good).
#[tokio::test]
async fn an_open_transaction_holds_back_the_events_after_it() {
    common::with_store(kumo_storage::Dialect::Postgres, |s, url| async move {
        use sqlx::Connection;
        s.create_app(&app("a1")).await.unwrap();
        let admin = admin();
        let mut slow = sqlx::AnyConnection::connect(&url).await.unwrap();
        sqlx::raw_sql("BEGIN").execute(&mut slow).await.unwrap();
        let write =
            "INSERT INTO events (app_id, kind, target, actor, from_server_code, created_at) \
                     VALUES ('a1', 'user.created', '{\"userID\":\"slow\"}', 'admin', 0, 1)";
        sqlx::raw_sql(write).execute(&mut slow).await.unwrap();
        // A later write commits first: nothing is delivered while the first is open.
        s.create_user("a1", &user("fast"), &admin).await.unwrap();
        let seen = s.events_since("a1", EventCursor::START, 10).await.unwrap();
        assert!(seen.is_empty(), "passed an open transaction: {seen:?}");
        // The same transaction writes again, after the other committed: a higher seq.
        sqlx::raw_sql(write).execute(&mut slow).await.unwrap();
        sqlx::raw_sql("COMMIT").execute(&mut slow).await.unwrap();
        let seen = settled_events(&s, EventCursor::START, 3).await;
        let users: Vec<_> = seen.iter().map(|e| e.target["userID"].clone()).collect();
        assert_eq!(users, ["slow", "slow", "fast"], "{seen:?}");
        assert!(seen[0].seq < seen[2].seq && seen[2].seq < seen[1].seq);
        // Read in two steps, nothing is lost or repeated.
        let first = s.events_since("a1", EventCursor::START, 2).await.unwrap();
        let rest = s.events_since("a1", first[1].cursor(), 10).await.unwrap();
        assert_eq!(rest, seen[2..]);
        assert!(s
            .events_since("a1", seen[2].cursor(), 10)
            .await
            .unwrap()
            .is_empty());
    })
    .await;
}

async fn delivered_events_are_trimmed_and_pending_ones_kept(s: Arc<SqlStore>, _: String) {
    let admin = admin();
    s.create_app(&app("a1")).await.unwrap();
    s.create_app(&app("a2")).await.unwrap();
    s.create_user("a1", &user("u1"), &admin).await.unwrap();
    s.ensure_hook_cursor("a1").await.unwrap(); // after u1
    s.create_user("a1", &user("u2"), &admin).await.unwrap();
    for u in ["v1", "v2", "v3"] {
        s.create_user("a2", &user(u), &admin).await.unwrap(); // a2 has no cursor
    }
    all_events(&s, "a1").await;
    all_events(&s, "a2").await;
    // Nothing was written before the epoch.
    assert_eq!(s.trim_events(0, 100).await.unwrap(), 0);
    // Everything is old now: a1's delivered event and a2's go, a batch at a time.
    assert_eq!(s.trim_events(i64::MAX, 2).await.unwrap(), 2);
    assert_eq!(s.trim_events(i64::MAX, 100).await.unwrap(), 2);
    let pending = all_events(&s, "a1").await;
    let users: Vec<_> = pending.iter().map(|e| e.target["userID"].clone()).collect();
    assert_eq!(users, ["u2"], "the undelivered event stays");
    assert!(all_events(&s, "a2").await.is_empty());
    // Once delivered, it goes too.
    s.lease_hook_cursor("a1", "n1", 10, 1_000).await.unwrap();
    assert!(s
        .advance_hook_cursor("a1", "n1", pending[0].cursor(), 1_000)
        .await
        .unwrap());
    assert_eq!(s.trim_events(i64::MAX, 100).await.unwrap(), 1);
    assert!(all_events(&s, "a1").await.is_empty());
}
