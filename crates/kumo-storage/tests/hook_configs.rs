//! Hook configs on their versions, on SQLite and on PostgreSQL.

mod common;

use std::sync::Arc;

use kumo_storage::{App, CodeVersion, Entity, SqlStore, Storage, StorageError};

on_both_backends!(
    a_config_is_kept_byte_for_byte_and_replaced,
    missing_versions_and_missing_configs_differ,
    current_alias_reads_the_current_versions_config,
    delete_removes_only_the_config,
    deleting_a_version_deletes_its_config,
    live_configs_are_the_current_versions_per_app,
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

async fn with_versions(s: &SqlStore, app_id: &str, versions: &[&str]) {
    s.create_app(&app(app_id)).await.unwrap();
    for v in versions {
        let version = CodeVersion {
            version_id: (*v).into(),
            source: "function f(){}".into(),
            environment_version: "6".into(),
            created_at: 1,
            modified_at: 1,
        };
        s.create_code_version(app_id, &version).await.unwrap();
    }
}

fn is_version_not_found<T: std::fmt::Debug>(r: kumo_storage::Result<T>) -> bool {
    matches!(r, Err(StorageError::NotFound(Entity::CodeVersion)))
}

const TEXT: &str = "{\n  // 日本語 comment\n  \"kiicloud://users\": [] /* none yet */\n}\n";

async fn a_config_is_kept_byte_for_byte_and_replaced(s: Arc<SqlStore>, _: String) {
    with_versions(&s, "a1", &["v1"]).await;
    s.put_hook_config("a1", "v1", TEXT).await.unwrap();
    assert_eq!(
        s.get_hook_config("a1", Some("v1"))
            .await
            .unwrap()
            .as_deref(),
        Some(TEXT)
    );
    s.put_hook_config("a1", "v1", "{}").await.unwrap();
    assert_eq!(
        s.get_hook_config("a1", Some("v1"))
            .await
            .unwrap()
            .as_deref(),
        Some("{}")
    );
}

async fn missing_versions_and_missing_configs_differ(s: Arc<SqlStore>, _: String) {
    with_versions(&s, "a1", &["v1"]).await;
    with_versions(&s, "a2", &["v2"]).await;
    assert_eq!(s.get_hook_config("a1", Some("v1")).await.unwrap(), None);
    assert!(is_version_not_found(
        s.get_hook_config("a1", Some("nope")).await
    ));
    assert!(is_version_not_found(
        s.put_hook_config("a1", "nope", TEXT).await
    ));
    // Another app's version is not this app's.
    assert!(is_version_not_found(
        s.put_hook_config("a1", "v2", TEXT).await
    ));
    assert!(is_version_not_found(
        s.get_hook_config("a1", Some("v2")).await
    ));
    assert_eq!(s.get_hook_config("a2", Some("v2")).await.unwrap(), None);
}

async fn current_alias_reads_the_current_versions_config(s: Arc<SqlStore>, _: String) {
    with_versions(&s, "a1", &["v1", "v2"]).await;
    s.put_hook_config("a1", "v1", TEXT).await.unwrap();
    assert!(is_version_not_found(s.get_hook_config("a1", None).await));
    s.set_current_version("a1", Some("v1")).await.unwrap();
    assert_eq!(
        s.get_hook_config("a1", None).await.unwrap().as_deref(),
        Some(TEXT)
    );
    s.set_current_version("a1", Some("v2")).await.unwrap();
    assert_eq!(s.get_hook_config("a1", None).await.unwrap(), None);
}

async fn delete_removes_only_the_config(s: Arc<SqlStore>, _: String) {
    with_versions(&s, "a1", &["v1", "v2"]).await;
    s.put_hook_config("a1", "v1", TEXT).await.unwrap();
    s.put_hook_config("a1", "v2", "{}").await.unwrap();
    assert!(s.delete_hook_config("a1", "v1").await.unwrap());
    assert_eq!(s.get_hook_config("a1", Some("v1")).await.unwrap(), None);
    assert!(!s.delete_hook_config("a1", "v1").await.unwrap());
    assert!(is_version_not_found(
        s.delete_hook_config("a1", "nope").await
    ));
    // The version and the other version's config are untouched.
    assert!(s
        .get_code_version("a1", Some("v1"))
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        s.get_hook_config("a1", Some("v2"))
            .await
            .unwrap()
            .as_deref(),
        Some("{}")
    );
}

async fn deleting_a_version_deletes_its_config(s: Arc<SqlStore>, _: String) {
    with_versions(&s, "a1", &["v1"]).await;
    s.put_hook_config("a1", "v1", TEXT).await.unwrap();
    s.set_current_version("a1", Some("v1")).await.unwrap();
    assert!(s.delete_code_version("a1", "v1").await.unwrap());
    assert!(is_version_not_found(
        s.get_hook_config("a1", Some("v1")).await
    ));
    assert!(s.live_hook_configs().await.unwrap().is_empty());
    // A version made again under the same ID starts without one.
    with_versions_again(&s, "a1", "v1").await;
    assert_eq!(s.get_hook_config("a1", Some("v1")).await.unwrap(), None);
}

async fn with_versions_again(s: &SqlStore, app_id: &str, v: &str) {
    let version = CodeVersion {
        version_id: v.into(),
        source: "function g(){}".into(),
        environment_version: "6".into(),
        created_at: 2,
        modified_at: 2,
    };
    s.create_code_version(app_id, &version).await.unwrap();
}

async fn live_configs_are_the_current_versions_per_app(s: Arc<SqlStore>, _: String) {
    with_versions(&s, "a1", &["v1", "v2"]).await;
    with_versions(&s, "a2", &["w1"]).await;
    with_versions(&s, "a3", &["x1"]).await;
    s.put_hook_config("a1", "v1", "{\"a1\":1}").await.unwrap();
    s.put_hook_config("a1", "v2", "{\"a1\":2}").await.unwrap();
    s.put_hook_config("a2", "w1", "{\"a2\":1}").await.unwrap();
    // a3's current version has no config; a2 has no current version yet.
    s.set_current_version("a1", Some("v2")).await.unwrap();
    s.set_current_version("a3", Some("x1")).await.unwrap();
    let live = |s: Arc<SqlStore>| async move {
        let mut live = s.live_hook_configs().await.unwrap();
        live.sort();
        live
    };
    assert_eq!(
        live(s.clone()).await,
        vec![("a1".into(), "v2".into(), "{\"a1\":2}".into())]
    );
    s.set_current_version("a2", Some("w1")).await.unwrap();
    s.set_current_version("a1", Some("v1")).await.unwrap();
    assert_eq!(
        live(s.clone()).await,
        vec![
            ("a1".into(), "v1".into(), "{\"a1\":1}".into()),
            ("a2".into(), "w1".into(), "{\"a2\":1}".into()),
        ]
    );
    s.delete_hook_config("a2", "w1").await.unwrap();
    s.set_current_version("a1", None).await.unwrap();
    assert!(live(s.clone()).await.is_empty());
}
