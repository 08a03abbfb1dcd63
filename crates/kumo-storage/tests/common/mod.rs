//! Shared helpers of the storage tests: run a test body on both backends.
#![allow(dead_code)]

use std::sync::Arc;

use kumo_storage::testing::TestDb;
use kumo_storage::{open, Dialect, SqlStore, Storage};

pub async fn with_store<F, Fut>(dialect: Dialect, f: F)
where
    F: FnOnce(Arc<SqlStore>, String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let db = TestDb::new(dialect).await;
    let store = Arc::new(open(&db.url, 4).await.expect("open store"));
    f(store.clone(), db.url.clone()).await;
    // Close before the scratch database is dropped, so no pooled connection still holds locks.
    store.close().await;
}

/// Generates `mod sqlite` and `mod postgres` with one test per named function.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                $crate::common::with_store(kumo_storage::Dialect::Sqlite, |s, url| super::$name(s, url)).await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                $crate::common::with_store(kumo_storage::Dialect::Postgres, |s, url| super::$name(s, url)).await;
            })*
        }
    };
}
