//! Expired access tokens are purged in the background, and a failing database does not take
//! the server down with the purge.

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use kumo_server::Config;
use kumo_storage::{Dialect, Storage, Token};

fn purging_often() -> Config {
    Config {
        token_purge_interval: Duration::from_millis(50),
        ..Config::default()
    }
}

fn token(s: &TestServer, hash: &str, expires_at: Option<i64>) -> Token {
    Token {
        hash: hash.into(),
        app_id: s.app.app_id.clone(),
        user_id: None,
        thing_id: None,
        expires_at,
        created_at: 1,
    }
}

async fn expired_tokens_are_purged(dialect: Dialect) {
    let s = TestServer::start_with(dialect, purging_often()).await;
    let far_future = kumo_types::now_ms() + 3_600_000;
    s.store
        .insert_token(&token(&s, "expired", Some(1)))
        .await
        .unwrap();
    s.store
        .insert_token(&token(&s, "valid", Some(far_future)))
        .await
        .unwrap();
    // Generous and bounded: the purge runs every 50 ms.
    let deadline = Instant::now() + Duration::from_secs(20);
    while s.store.get_token("expired").await.unwrap().is_some() {
        assert!(
            Instant::now() < deadline,
            "the expired token was never purged"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(s.store.get_token("valid").await.unwrap().is_some());
    // Tokens the server issued still work.
    let admin = s.admin().await;
    s.get("/apps/{app}/buckets/none/acl", Some(&admin))
        .await
        .expect_error(404, "BUCKET_NOT_FOUND");
    s.stop().await;
}

async fn a_failing_database_does_not_stop_the_server(dialect: Dialect) {
    let mut s = TestServer::start_with(dialect, purging_often()).await;
    // Every purge from now on fails.
    s.store.close().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The server still answers, and says the storage is unreachable.
    let health = s
        .client
        .get(s.site().replace("/api", "/health"))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(health.status().as_u16(), 503);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["errorCode"], "TEMPORARY_UNAVAILABLE_ERROR");
    s.stop_server().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_expired_tokens_are_purged() {
    expired_tokens_are_purged(Dialect::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_expired_tokens_are_purged() {
    expired_tokens_are_purged(Dialect::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_failing_database_does_not_stop_the_server() {
    a_failing_database_does_not_stop_the_server(Dialect::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_failing_database_does_not_stop_the_server() {
    a_failing_database_does_not_stop_the_server(Dialect::Postgres).await;
}
