//! Server-code versions and the developer log, on SQLite and on PostgreSQL.

mod common;

use kumo_storage::{
    App, CodeVersion, DevLogFilter, DevLogLevel, DevLogRecord, Entity, NewDevLogRecord, SqlStore,
    Storage, StorageError,
};
use serde_json::json;

on_both_backends!(
    versions_life_cycle,
    current_version_pointer,
    dev_log_filters_and_order,
    dev_log_is_bounded_by_age_and_size,
    dev_log_keeps_a_burst_in_order,
    dev_log_trims_across_bursts,
    dev_log_records_survive_the_chunk_migration,
    dev_log_chunks_use_lz4_where_postgres_has_it,
    dev_log_tail_reads_on_from_a_cursor,
    dev_log_appends_are_announced,
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

fn version(id: &str, source: &str, at: i64) -> CodeVersion {
    CodeVersion {
        version_id: id.into(),
        source: source.into(),
        environment_version: "16".into(),
        created_at: at,
        modified_at: at,
    }
}

async fn versions_life_cycle(s: std::sync::Arc<SqlStore>, _: String) {
    s.create_app(&app("a1")).await.unwrap();
    s.create_app(&app("a2")).await.unwrap();
    let source = "function main(p, c) {\r\n  return 'é';\r\n}\n";
    s.create_code_version("a1", &version("v1", source, 10))
        .await
        .unwrap();
    s.create_code_version("a1", &version("v2", "x", 20))
        .await
        .unwrap();
    assert!(matches!(
        s.create_code_version("a1", &version("v1", "y", 30)).await,
        Err(StorageError::Conflict(_))
    ));
    let got = s.get_code_version("a1", Some("v1")).await.unwrap().unwrap();
    assert_eq!(got.source, source, "byte-exact");
    assert_eq!(got.environment_version, "16");
    let listed = s.list_code_versions("a1").await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|v| v.version_id.as_str())
            .collect::<Vec<_>>(),
        ["v1", "v2"]
    );
    assert!(listed.iter().all(|v| !v.current));
    assert!(
        s.list_code_versions("a2").await.unwrap().is_empty(),
        "apps are isolated"
    );
    assert!(s
        .get_code_version("a2", Some("v1"))
        .await
        .unwrap()
        .is_none());
    assert!(s.delete_code_version("a1", "v1").await.unwrap());
    assert!(!s.delete_code_version("a1", "v1").await.unwrap());
    assert!(s
        .get_code_version("a1", Some("v1"))
        .await
        .unwrap()
        .is_none());
}

async fn current_version_pointer(s: std::sync::Arc<SqlStore>, _: String) {
    s.create_app(&app("a1")).await.unwrap();
    s.create_code_version("a1", &version("v1", "one", 10))
        .await
        .unwrap();
    s.create_code_version("a1", &version("v2", "two", 20))
        .await
        .unwrap();
    assert_eq!(
        s.get_current_version("a1").await.unwrap(),
        None,
        "deploy never sets current"
    );
    assert!(s.get_code_version("a1", None).await.unwrap().is_none());
    s.set_current_version("a1", Some("v2")).await.unwrap();
    assert_eq!(
        s.get_current_version("a1").await.unwrap().as_deref(),
        Some("v2")
    );
    assert_eq!(
        s.get_code_version("a1", None)
            .await
            .unwrap()
            .unwrap()
            .source,
        "two"
    );
    let listed = s.list_code_versions("a1").await.unwrap();
    assert_eq!(listed.iter().filter(|v| v.current).count(), 1);
    assert!(
        listed
            .iter()
            .find(|v| v.version_id == "v2")
            .unwrap()
            .current
    );
    assert!(matches!(
        s.set_current_version("a1", Some("nope")).await,
        Err(StorageError::NotFound(Entity::CodeVersion))
    ));
    assert_eq!(
        s.get_current_version("a1").await.unwrap().as_deref(),
        Some("v2"),
        "a failed switch changes nothing"
    );
    s.set_current_version("a1", Some("v1")).await.unwrap();
    assert_eq!(
        s.get_current_version("a1").await.unwrap().as_deref(),
        Some("v1")
    );
    s.set_current_version("a1", None).await.unwrap();
    assert_eq!(s.get_current_version("a1").await.unwrap(), None);
    s.set_current_version("a1", Some("v1")).await.unwrap();
    s.create_app(&app("a2")).await.unwrap();
    s.create_code_version("a2", &version("w1", "three", 30))
        .await
        .unwrap();
    s.set_current_version("a2", Some("w1")).await.unwrap();
    let all = s.current_versions().await.unwrap();
    assert_eq!(
        all.iter()
            .map(|(app, v)| (app.as_str(), v.version_id.as_str(), v.source.as_str()))
            .collect::<Vec<_>>(),
        [("a1", "v1", "one"), ("a2", "w1", "three")]
    );
    assert!(s.delete_code_version("a1", "v1").await.unwrap());
    assert_eq!(
        s.get_current_version("a1").await.unwrap(),
        None,
        "deleting the current version leaves none"
    );
}

/// Records as they are appended.
fn new(records: &[DevLogRecord]) -> Vec<NewDevLogRecord> {
    records.iter().map(NewDevLogRecord::from).collect()
}

fn record(time_ms: i64, level: DevLogLevel, key: &str, user: Option<&str>) -> DevLogRecord {
    let mut fields = serde_json::Map::new();
    fields.insert("description".into(), json!(format!("{key} at {time_ms}")));
    DevLogRecord {
        seq: 0,
        time_ms,
        level,
        key: key.into(),
        user_id: user.map(str::to_owned),
        fields,
    }
}

async fn dev_log_filters_and_order(s: std::sync::Arc<SqlStore>, _: String) {
    let records = vec![
        record(100, DevLogLevel::Debug, "servercode.invoke", Some("u1")),
        record(200, DevLogLevel::Info, "servercode.log", Some("u1")),
        record(300, DevLogLevel::Warn, "servercode.log", None),
        record(400, DevLogLevel::Error, "servercode.log", Some("u2")),
    ];
    s.append_dev_logs("a1", &new(&records)).await.unwrap();
    s.append_dev_logs("a2", &new(&records[..1])).await.unwrap();
    let all = s
        .query_dev_logs(
            "a1",
            &DevLogFilter {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|r| r.time_ms).collect::<Vec<_>>(),
        [100, 200, 300, 400]
    );
    assert_eq!(
        all[0].fields["description"],
        json!("servercode.invoke at 100")
    );
    assert_eq!(all[0].level, DevLogLevel::Debug);
    let newest_two = s
        .query_dev_logs(
            "a1",
            &DevLogFilter {
                limit: 2,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        newest_two.iter().map(|r| r.time_ms).collect::<Vec<_>>(),
        [300, 400]
    );
    let warn_up = s
        .query_dev_logs(
            "a1",
            &DevLogFilter {
                min_level: Some(DevLogLevel::Warn),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(warn_up.len(), 2);
    let window = s
        .query_dev_logs(
            "a1",
            &DevLogFilter {
                since_ms: Some(150),
                until_ms: Some(300),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        window.iter().map(|r| r.time_ms).collect::<Vec<_>>(),
        [200, 300]
    );
    let u1 = s
        .query_dev_logs(
            "a1",
            &DevLogFilter {
                user_id: Some("u1".into()),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(u1.len(), 2);
    let other = s
        .query_dev_logs(
            "a2",
            &DevLogFilter {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(other.len(), 1, "apps are isolated");
}

async fn dev_log_is_bounded_by_age_and_size(s: std::sync::Arc<SqlStore>, _: String) {
    let records: Vec<_> = (0..50)
        .map(|i| record(1_000 + i, DevLogLevel::Info, "servercode.log", None))
        .collect();
    s.append_dev_logs("a1", &new(&records)).await.unwrap();
    s.append_dev_logs("a2", &new(&records)).await.unwrap();
    // Age: everything before t=1010 goes.
    assert_eq!(s.trim_dev_logs("a1", i64::MAX, 1_010).await.unwrap(), 10);
    assert_eq!(all_records(&s, "a1").await.first().unwrap().time_ms, 1_010);
    // Size: whole bursts go, oldest first, until the rest fits.
    let one = all_records(&s, "a1").await.len() as i64;
    assert_eq!(one, 40);
    for burst in 0..2 {
        let more: Vec<_> = (0..10)
            .map(|i| {
                record(
                    1_050 + burst * 10 + i,
                    DevLogLevel::Info,
                    "servercode.log",
                    None,
                )
            })
            .collect();
        s.append_dev_logs("a1", &new(&more)).await.unwrap();
    }
    let per_record = {
        let r = &records[0];
        (serde_json::Value::Object(r.fields.clone())
            .to_string()
            .len()
            + r.key.len()
            + 64) as i64
    };
    // 60 records held, room for 25: the 40-record burst goes, the two newer ones stay.
    assert_eq!(s.trim_dev_logs("a1", per_record * 25, 0).await.unwrap(), 40);
    let kept = all_records(&s, "a1").await;
    assert_eq!(kept.len(), 20);
    assert_eq!(kept.first().unwrap().time_ms, 1_050);
    assert_eq!(kept.last().unwrap().time_ms, 1_069, "the newest stay");
    assert_eq!(
        all_records(&s, "a2").await.len(),
        50,
        "other apps untouched"
    );
}

/// A burst is written in one statement; its records keep their order (same timestamp) and
/// every column, including text that needs escaping and a missing user.
async fn dev_log_keeps_a_burst_in_order(s: std::sync::Arc<SqlStore>, _: String) {
    let records: Vec<DevLogRecord> = (0..250)
        .map(|i| {
            let mut r = record(
                7,
                DevLogLevel::Info,
                "servercode.log",
                (i % 2 == 0).then_some("u1"),
            );
            r.fields.insert(
                "message".into(),
                json!(format!("line {i} \"quoted\" \u{e9}")),
            );
            r
        })
        .collect();
    s.append_dev_logs("a1", &new(&records)).await.unwrap();
    let all = s
        .query_dev_logs(
            "a1",
            &DevLogFilter {
                limit: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(all.len(), 250);
    for (i, r) in all.iter().enumerate() {
        assert_eq!(
            r.fields["message"],
            json!(format!("line {i} \"quoted\" \u{e9}"))
        );
        assert_eq!(r.user_id.as_deref(), (i % 2 == 0).then_some("u1"));
        assert_eq!((r.time_ms, r.level), (7, DevLogLevel::Info));
        assert_eq!(r.key, "servercode.log");
    }
}

async fn all_records(s: &SqlStore, app: &str) -> Vec<DevLogRecord> {
    s.query_dev_logs(
        app,
        &DevLogFilter {
            limit: 1_000,
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// Bursts are stored apart; trimming by age cuts into the burst the limit falls in, trimming
/// by size drops whole bursts, and the records left keep their `seq`.
async fn dev_log_trims_across_bursts(s: std::sync::Arc<SqlStore>, _: String) {
    for burst in 0..5 {
        let records: Vec<_> = (0..10)
            .map(|i| {
                let t = 2_000 + burst * 10 + i;
                record(t, DevLogLevel::Info, "servercode.log", Some("u1"))
            })
            .collect();
        s.append_dev_logs("a1", &new(&records)).await.unwrap();
    }
    let before = all_records(&s, "a1").await;
    assert_eq!(before.len(), 50);
    assert!(
        before.windows(2).all(|w| w[0].seq < w[1].seq),
        "seq orders records"
    );
    let newest = s
        .query_dev_logs(
            "a1",
            &DevLogFilter {
                limit: 15,
                user_id: Some("u1".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        newest.iter().map(|r| r.time_ms).collect::<Vec<_>>(),
        (2_035..2_050).collect::<Vec<_>>(),
        "the newest span two bursts"
    );
    // Age: the first burst and three records of the second go.
    assert_eq!(s.trim_dev_logs("a1", i64::MAX, 2_013).await.unwrap(), 13);
    let aged = all_records(&s, "a1").await;
    assert_eq!(aged.len(), 37);
    assert_eq!(aged[0].time_ms, 2_013);
    assert_eq!(
        aged,
        before[13..],
        "what is left is unchanged, seq included"
    );
    // Size: room for 25 records of the 37: the 7 left of the second burst and the third go.
    let per_record = before[0].fields["description"].to_string().len() as i64
        + "{\"description\":}".len() as i64
        + "servercode.log".len() as i64
        + 64;
    assert_eq!(s.trim_dev_logs("a1", per_record * 25, 0).await.unwrap(), 17);
    let kept = all_records(&s, "a1").await;
    assert_eq!(kept, before[30..]);
}

/// A log written before records were kept in chunks comes through the migration whole.
async fn dev_log_records_survive_the_chunk_migration(s: std::sync::Arc<SqlStore>, url: String) {
    use sqlx::Connection;
    let postgres = s.dialect() == kumo_storage::Dialect::Postgres;
    s.close().await;
    // Put the database back to how migration 5 left it, with records in the old table.
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    let (serial, int) = if postgres {
        ("BIGSERIAL", "BIGINT")
    } else {
        ("INTEGER", "INTEGER")
    };
    let autoincrement = if postgres { "" } else { "AUTOINCREMENT" };
    sqlx::raw_sql(&format!(
        "DROP TABLE dev_log_chunks;
         DELETE FROM kumo_migrations WHERE version = 6;
         CREATE TABLE dev_logs (seq {serial} PRIMARY KEY {autoincrement}, app_id TEXT NOT NULL,
             time_ms {int} NOT NULL, level {int} NOT NULL, log_key TEXT NOT NULL, user_id TEXT,
             fields TEXT NOT NULL, bytes {int} NOT NULL);
         INSERT INTO dev_logs (app_id, time_ms, level, log_key, user_id, fields, bytes) VALUES
             ('a1', 30, 1, 'servercode.invoke', 'u1', '{{\"description\":\"Invoked \\u00e9\"}}', 99),
             ('a2', 10, 3, 'servercode.log', NULL, '{{\"description\":\"other app\"}}', 99),
             ('a1', 20, 2, 'servercode.log', NULL, '{{\"description\":\"later, older clock\"}}', 99);"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let s = kumo_storage::open(&url, 2)
        .await
        .expect("reopen and migrate");
    let a1 = all_records(&s, "a1").await;
    assert_eq!(
        a1.iter()
            .map(|r| (r.time_ms, r.level, r.key.as_str(), r.user_id.as_deref()))
            .collect::<Vec<_>>(),
        [
            (30, DevLogLevel::Info, "servercode.invoke", Some("u1")),
            (20, DevLogLevel::Warn, "servercode.log", None)
        ],
        "in the order they were written"
    );
    assert_eq!(a1[0].fields["description"], json!("Invoked \u{e9}"));
    assert_eq!(all_records(&s, "a2").await.len(), 1);
    // Appending and trimming work on the migrated log.
    s.append_dev_logs(
        "a1",
        &new(&[record(40, DevLogLevel::Error, "servercode.log", None)]),
    )
    .await
    .unwrap();
    assert_eq!(s.trim_dev_logs("a1", i64::MAX, 25).await.unwrap(), 1);
    assert_eq!(
        all_records(&s, "a1")
            .await
            .iter()
            .map(|r| r.time_ms)
            .collect::<Vec<_>>(),
        [30, 40]
    );
    s.close().await;
}

/// On PostgreSQL the chunks are compressed with lz4 when the server supports it (pglz cost more
/// CPU than the inserts); elsewhere nothing changes.
async fn dev_log_chunks_use_lz4_where_postgres_has_it(s: std::sync::Arc<SqlStore>, url: String) {
    use sqlx::{Connection, Row};
    if s.dialect() != kumo_storage::Dialect::Postgres {
        return;
    }
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    let supported = sqlx::raw_sql("CREATE TEMP TABLE lz4_probe (b TEXT COMPRESSION lz4)")
        .execute(&mut conn)
        .await
        .is_ok();
    let method: String = sqlx::query(
        "SELECT CAST(attcompression AS TEXT) FROM pg_attribute \
         WHERE attrelid = CAST('dev_log_chunks' AS regclass) AND attname = 'body'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap()
    .get(0);
    assert_eq!(method, if supported { "l" } else { "" });
    conn.close().await.unwrap();
    // The log still works, compressed.
    let big: Vec<_> = (0..200)
        .map(|i| record(i, DevLogLevel::Info, "servercode.log", None))
        .collect();
    s.append_dev_logs("a1", &new(&big)).await.unwrap();
    assert_eq!(all_records(&s, "a1").await.len(), 200);
}

/// Follows `app`'s log from `after` to its end, step by step, as a live tail does.
async fn follow(
    s: &SqlStore,
    app: &str,
    mut after: i64,
    filter: &DevLogFilter,
) -> Vec<DevLogRecord> {
    let mut seen = Vec::new();
    loop {
        let page = s.dev_logs_after(app, after, filter).await.unwrap();
        assert!(page.cursor >= after, "a cursor never goes back");
        let done = page.cursor == after && !page.more;
        after = page.cursor;
        seen.extend(page.records);
        if done {
            return seen;
        }
    }
}

async fn dev_log_tail_reads_on_from_a_cursor(s: std::sync::Arc<SqlStore>, _: String) {
    assert_eq!(s.dev_log_end("a1").await.unwrap(), -1, "an empty log");
    let all = DevLogFilter::default();
    assert!(follow(&s, "a1", -1, &all).await.is_empty());
    // Many bursts (more than a step reads), one longer than a chunk, and another app between.
    let mut written = Vec::new();
    for burst in 0..9 {
        let n = if burst == 4 { 5000 } else { 3 };
        let records: Vec<_> = (0..n)
            .map(|i| {
                let user = (i % 2 == 0).then_some("u1");
                record(
                    burst * 10_000 + i,
                    DevLogLevel::Info,
                    "servercode.log",
                    user,
                )
            })
            .collect();
        s.append_dev_logs("a1", &new(&records)).await.unwrap();
        s.append_dev_logs("a2", &new(&records[..1])).await.unwrap();
        written.extend(records.iter().map(|r| r.time_ms));
    }
    let seen = follow(&s, "a1", -1, &all).await;
    assert_eq!(seen.iter().map(|r| r.time_ms).collect::<Vec<_>>(), written);
    assert!(seen.windows(2).all(|w| w[0].seq < w[1].seq));
    let end = s.dev_log_end("a1").await.unwrap();
    assert!(end >= seen.last().unwrap().seq);
    assert!(
        follow(&s, "a1", end, &all).await.is_empty(),
        "nothing after the end"
    );
    // From the middle of a chunk: exactly the records after that one.
    let middle = &seen[4000];
    let rest = follow(&s, "a1", middle.seq, &all).await;
    assert_eq!(rest.len(), seen.len() - 4001);
    assert_eq!(rest[0].seq, seen[4001].seq);
    // Filters apply; the cursor still passes the records they reject.
    let u1 = DevLogFilter {
        user_id: Some("u1".into()),
        min_level: Some(DevLogLevel::Info),
        ..Default::default()
    };
    let seen_u1 = follow(&s, "a1", -1, &u1).await;
    assert_eq!(
        seen_u1.len(),
        seen.iter().filter(|r| r.user_id.is_some()).count()
    );
    let errors = DevLogFilter {
        min_level: Some(DevLogLevel::Error),
        ..Default::default()
    };
    assert!(follow(&s, "a1", -1, &errors).await.is_empty());
    // A new append lands after the old end, and only it follows.
    s.append_dev_logs("a1", &new(&[record(1, DevLogLevel::Error, "k", None)]))
        .await
        .unwrap();
    let after_end = follow(&s, "a1", end, &all).await;
    assert_eq!(after_end.len(), 1);
    assert_eq!(after_end[0].key, "k");
    assert!(s.dev_log_end("a1").await.unwrap() >= after_end[0].seq);
}

async fn dev_log_appends_are_announced(s: std::sync::Arc<SqlStore>, _: String) {
    use kumo_storage::DevLogNews;
    // The database may be shared with other tests: look only at this test's app.
    let app = kumo_types::ids::app_id();
    let mut news = s.subscribe_dev_log().await;
    s.append_dev_logs(&app, &new(&[record(1, DevLogLevel::Info, "k", None)]))
        .await
        .unwrap();
    let last = s.dev_log_end(&app).await.unwrap();
    let wait = async {
        loop {
            match news.recv().await.expect("subscription open") {
                DevLogNews::Appended { app_id, last_seq } if app_id == app => return last_seq,
                _ => continue,
            }
        }
    };
    let announced = tokio::time::timeout(std::time::Duration::from_secs(10), wait)
        .await
        .expect("an announcement");
    let seen = follow(&s, &app, -1, &DevLogFilter::default()).await;
    assert_eq!(announced, seen.last().unwrap().seq);
    assert!(announced <= last);
}
