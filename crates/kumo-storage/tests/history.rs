//! The schedule-execution history: reading one record, query pages (clauses, orders,
//! cursors) and trimming, on SQLite and on PostgreSQL.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use kumo_storage::testing::insert_schedule_execution;
use kumo_storage::{
    App, ExecutionClause as C, ExecutionOrder, ExecutionQuery, ExecutionStatus, ExecutionTime,
    ScheduleExecution, SqlStore, Storage, StorageError, TextTest, TimeBound,
};

on_both_backends!(
    one_record_is_read_within_its_app_only,
    clauses_select_what_they_say,
    not_and_ranges_on_finished_at_treat_running_ones_as_unfinished,
    orders_and_directions,
    pages_have_no_gaps_or_duplicates_even_as_records_are_added,
    a_cursor_from_another_order_is_refused,
    tenant_text_is_data_never_sql,
    trim_by_age_and_count_spares_running_records,
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

/// A record of app `a1`; finished one second after it started unless it is running.
fn exec(id: &str, job: &str, status: ExecutionStatus, started_at: i64) -> ScheduleExecution {
    let running = status == ExecutionStatus::Running;
    ScheduleExecution {
        id: id.into(),
        app_id: "a1".into(),
        version_id: "v1".into(),
        job: job.into(),
        scheduled_at: started_at - 5,
        by_hand: false,
        status,
        started_at,
        finished_at: (!running).then_some(started_at + 1_000),
        result: (!running).then(|| format!("result of {id}")),
    }
}

use ExecutionStatus::{Failed, Running, Success};

/// e1..e6 in `a1`, started 1000 apart; one record in `a2`.
async fn seed(s: &SqlStore) {
    s.create_app(&app("a1")).await.unwrap();
    s.create_app(&app("a2")).await.unwrap();
    for e in [
        exec("e1", "cleanUp", Success, 1_000),
        exec("e2", "cleanUpMessages", Failed, 2_000),
        exec("e3", "moveObjects", Success, 3_000),
        exec("e4", "deleteUsers", Failed, 4_000),
        exec("e5", "moveObjects", Running, 5_000),
        exec("e6", "cleanUp", Success, 6_000),
    ] {
        insert_schedule_execution(s, &e).await.unwrap();
    }
    let mut other = exec("x1", "cleanUp", Success, 3_500);
    other.app_id = "a2".into();
    insert_schedule_execution(s, &other).await.unwrap();
}

async fn ids(s: &SqlStore, clause: C) -> Vec<String> {
    let q = ExecutionQuery {
        clause,
        ..ExecutionQuery::default()
    };
    let page = s
        .query_schedule_executions("a1", &q, None, 100)
        .await
        .unwrap();
    assert!(page.next.is_none());
    page.executions.into_iter().map(|e| e.id).collect()
}

fn range(field: ExecutionTime, lower: Option<(i64, bool)>, upper: Option<(i64, bool)>) -> C {
    let b = |(at, included)| TimeBound { at, included };
    C::Range {
        field,
        lower: lower.map(b),
        upper: upper.map(b),
    }
}

async fn one_record_is_read_within_its_app_only(s: Arc<SqlStore>, _url: String) {
    seed(&s).await;
    let e = s.get_schedule_execution("a1", "e2").await.unwrap().unwrap();
    assert_eq!(e, exec("e2", "cleanUpMessages", Failed, 2_000));
    let running = s.get_schedule_execution("a1", "e5").await.unwrap().unwrap();
    assert_eq!(running.finished_at, None);
    assert_eq!(running.result, None);
    assert_eq!(s.get_schedule_execution("a1", "x1").await.unwrap(), None);
    assert_eq!(s.get_schedule_execution("a2", "e2").await.unwrap(), None);
    assert_eq!(s.get_schedule_execution("a1", "nope").await.unwrap(), None);
    let apps: HashSet<String> = s
        .schedule_execution_apps()
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(apps, HashSet::from(["a1".to_owned(), "a2".to_owned()]));
}

async fn clauses_select_what_they_say(s: Arc<SqlStore>, _url: String) {
    use ExecutionTime::StartedAt;
    seed(&s).await;
    let all = ["e1", "e2", "e3", "e4", "e5", "e6"];
    assert_eq!(ids(&s, C::All).await, all);
    assert_eq!(
        ids(
            &s,
            range(StartedAt, Some((2_000, true)), Some((4_000, true)))
        )
        .await,
        ["e2", "e3", "e4"]
    );
    assert_eq!(
        ids(
            &s,
            range(StartedAt, Some((2_000, false)), Some((4_000, false)))
        )
        .await,
        ["e3"]
    );
    assert_eq!(
        ids(&s, range(StartedAt, None, Some((2_000, true)))).await,
        ["e1", "e2"]
    );
    assert_eq!(
        ids(&s, range(StartedAt, Some((5_000, true)), None)).await,
        ["e5", "e6"]
    );
    assert_eq!(
        ids(&s, C::Name(TextTest::Eq("cleanUp".into()))).await,
        ["e1", "e6"]
    );
    assert_eq!(
        ids(&s, C::Name(TextTest::Prefix("cleanUp".into()))).await,
        ["e1", "e2", "e6"]
    );
    assert_eq!(ids(&s, C::Name(TextTest::Prefix(String::new()))).await, all);
    assert_eq!(
        ids(&s, C::Name(TextTest::Prefix("clean%".into()))).await,
        Vec::<String>::new()
    );
    assert_eq!(
        ids(
            &s,
            C::Name(TextTest::In(vec![
                "moveObjects".into(),
                "deleteUsers".into()
            ]))
        )
        .await,
        ["e3", "e4", "e5"]
    );
    assert_eq!(ids(&s, C::Status(vec![Failed])).await, ["e2", "e4"]);
    assert_eq!(ids(&s, C::Status(vec![Running])).await, ["e5"]);
    assert_eq!(
        ids(&s, C::Id(TextTest::In(vec!["e6".into(), "x1".into()]))).await,
        ["e6"]
    );
    assert_eq!(
        ids(
            &s,
            C::And(vec![
                C::Name(TextTest::Prefix("clean".into())),
                C::Status(vec![Success]),
                range(StartedAt, Some((1_500, true)), None),
            ])
        )
        .await,
        ["e6"]
    );
    assert_eq!(
        ids(
            &s,
            C::Or(vec![
                C::Status(vec![Running]),
                C::Id(TextTest::Eq("e1".into())),
                C::And(vec![
                    C::Name(TextTest::Eq("deleteUsers".into())),
                    C::Not(Box::new(C::Status(vec![Success]))),
                ]),
            ])
        )
        .await,
        ["e1", "e4", "e5"]
    );
    assert_eq!(
        ids(&s, C::Not(Box::new(C::Name(TextTest::Prefix("c".into()))))).await,
        ["e3", "e4", "e5"]
    );
}

async fn not_and_ranges_on_finished_at_treat_running_ones_as_unfinished(
    s: Arc<SqlStore>,
    _url: String,
) {
    seed(&s).await;
    let finished_by_5000 = range(ExecutionTime::FinishedAt, None, Some((5_000, true)));
    assert_eq!(
        ids(&s, finished_by_5000.clone()).await,
        ["e1", "e2", "e3", "e4"]
    );
    // e5 has not finished, so it is not among those that finished by then.
    assert_eq!(
        ids(&s, C::Not(Box::new(finished_by_5000))).await,
        ["e5", "e6"]
    );
    assert_eq!(
        ids(&s, range(ExecutionTime::FinishedAt, Some((0, true)), None)).await,
        ["e1", "e2", "e3", "e4", "e6"]
    );
}

async fn page_ids(s: &SqlStore, order_by: ExecutionOrder, descending: bool) -> Vec<String> {
    let q = ExecutionQuery {
        clause: C::All,
        order_by,
        descending,
    };
    let page = s
        .query_schedule_executions("a1", &q, None, 100)
        .await
        .unwrap();
    page.executions.into_iter().map(|e| e.id).collect()
}

async fn orders_and_directions(s: Arc<SqlStore>, _url: String) {
    seed(&s).await;
    // Same start, so the ID breaks the tie.
    insert_schedule_execution(&s, &exec("e0", "aaa", Success, 6_000))
        .await
        .unwrap();
    assert_eq!(
        page_ids(&s, ExecutionOrder::StartedAt, false).await,
        ["e1", "e2", "e3", "e4", "e5", "e0", "e6"]
    );
    assert_eq!(
        page_ids(&s, ExecutionOrder::StartedAt, true).await,
        ["e6", "e0", "e5", "e4", "e3", "e2", "e1"]
    );
    // A running record has not finished yet: it comes after every finished one.
    assert_eq!(
        page_ids(&s, ExecutionOrder::FinishedAt, false).await,
        ["e1", "e2", "e3", "e4", "e0", "e6", "e5"]
    );
    assert_eq!(
        page_ids(&s, ExecutionOrder::FinishedAt, true).await,
        ["e5", "e6", "e0", "e4", "e3", "e2", "e1"]
    );
    // Code-point order on both backends: upper case before lower case.
    insert_schedule_execution(&s, &exec("e7", "Zed", Success, 7_000))
        .await
        .unwrap();
    assert_eq!(
        page_ids(&s, ExecutionOrder::Name, false).await,
        ["e7", "e0", "e1", "e6", "e2", "e4", "e3", "e5"]
    );
}

async fn all_pages(s: &SqlStore, q: &ExecutionQuery, limit: i64) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s
            .query_schedule_executions("a1", q, after.as_deref(), limit)
            .await
            .unwrap();
        assert!(page.executions.len() as i64 <= limit);
        seen.extend(page.executions.into_iter().map(|e| e.id));
        match page.next {
            Some(next) => after = Some(next),
            None => return seen,
        }
        assert!(seen.len() < 1_000, "paging does not end");
    }
}

async fn pages_have_no_gaps_or_duplicates_even_as_records_are_added(
    s: Arc<SqlStore>,
    _url: String,
) {
    s.create_app(&app("a1")).await.unwrap();
    // Many records share a start time, so pages split inside a tie.
    for i in 0..23 {
        let e = exec(
            &format!("r{i:02}"),
            &format!("job{}", i % 4),
            Success,
            1_000 + (i / 3) * 10,
        );
        insert_schedule_execution(&s, &e).await.unwrap();
    }
    for order_by in [
        ExecutionOrder::StartedAt,
        ExecutionOrder::FinishedAt,
        ExecutionOrder::Name,
    ] {
        for descending in [false, true] {
            let q = ExecutionQuery {
                clause: C::All,
                order_by,
                descending,
            };
            let whole = page_ids(&s, order_by, descending).await;
            assert_eq!(whole.len(), 23);
            for limit in [1, 2, 5, 23, 50] {
                assert_eq!(
                    all_pages(&s, &q, limit).await,
                    whole,
                    "{order_by:?} {limit}"
                );
            }
        }
    }
    // A page exactly as long as what is left says there is no next page.
    let q = ExecutionQuery::default();
    let last = s
        .query_schedule_executions("a1", &q, None, 23)
        .await
        .unwrap();
    assert_eq!(last.next, None);

    // Records that start later while a client pages through appear after it, once each.
    let first = s
        .query_schedule_executions("a1", &q, None, 10)
        .await
        .unwrap();
    for i in 0..4 {
        let e = exec(&format!("n{i}"), "late", Success, 9_000 + i);
        insert_schedule_execution(&s, &e).await.unwrap();
    }
    let mut seen: Vec<String> = first.executions.into_iter().map(|e| e.id).collect();
    let mut after = first.next;
    while let Some(key) = after {
        let page = s
            .query_schedule_executions("a1", &q, Some(&key), 10)
            .await
            .unwrap();
        seen.extend(page.executions.into_iter().map(|e| e.id));
        after = page.next;
    }
    assert_eq!(seen.len(), 27);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 27);
    assert_eq!(&seen[23..], ["n0", "n1", "n2", "n3"]);
}

async fn a_cursor_from_another_order_is_refused(s: Arc<SqlStore>, _url: String) {
    seed(&s).await;
    let q = ExecutionQuery::default();
    let page = s
        .query_schedule_executions("a1", &q, None, 2)
        .await
        .unwrap();
    let key = page.next.expect("more pages");
    let desc = ExecutionQuery {
        descending: true,
        ..ExecutionQuery::default()
    };
    for (query, after) in [(&desc, key.as_str()), (&q, "garbage"), (&q, "")] {
        match s
            .query_schedule_executions("a1", query, Some(after), 2)
            .await
        {
            Err(StorageError::InvalidCursor) => {}
            other => panic!("expected InvalidCursor for {after:?}, got {other:?}"),
        }
    }
}

async fn tenant_text_is_data_never_sql(s: Arc<SqlStore>, _url: String) {
    seed(&s).await;
    let evil = "x' OR '1'='1";
    insert_schedule_execution(&s, &exec("q1", evil, Success, 7_000))
        .await
        .unwrap();
    for clause in [
        C::Name(TextTest::Eq(evil.into())),
        C::Name(TextTest::Prefix("x' OR".into())),
        C::Name(TextTest::In(vec![evil.into(), "nothing".into()])),
    ] {
        assert_eq!(ids(&s, clause).await, ["q1"]);
    }
}

async fn trim_by_age_and_count_spares_running_records(s: Arc<SqlStore>, _url: String) {
    seed(&s).await;
    // Finished before 3 500: e1 (2 000) and e2 (3 000) go; e5 runs and stays.
    assert_eq!(
        s.trim_schedule_executions("a1", 3_500, 100).await.unwrap(),
        2
    );
    assert_eq!(ids(&s, C::All).await, ["e3", "e4", "e5", "e6"]);
    // The other app's history is not touched.
    assert!(s
        .get_schedule_execution("a2", "x1")
        .await
        .unwrap()
        .is_some());

    // Keep the newest two (e6, e5): e4 and e3 go.
    assert_eq!(s.trim_schedule_executions("a1", 0, 2).await.unwrap(), 2);
    assert_eq!(ids(&s, C::All).await, ["e5", "e6"]);
    // Nothing finished and old is left; a running record survives even a limit of none.
    assert_eq!(
        s.trim_schedule_executions("a1", i64::MAX, 0).await.unwrap(),
        1
    );
    assert_eq!(ids(&s, C::All).await, ["e5"]);
    assert_eq!(
        s.trim_schedule_executions("a1", i64::MAX, 0).await.unwrap(),
        0
    );
}
