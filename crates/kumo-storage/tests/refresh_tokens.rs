//! Refresh tokens on both backends: stored with their access token, exchanged at most once
//! (also when exchanges race), revoked with the user's tokens.

mod common;

use std::sync::Arc;

use kumo_storage::{Actor, App, RefreshToken, SqlStore, Storage, Token, User};

/// On a multi-threaded runtime, so that racing exchanges really overlap.
macro_rules! threaded_on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                $crate::common::with_store(kumo_storage::Dialect::Sqlite, |s, _| super::$name(s)).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                $crate::common::with_store(kumo_storage::Dialect::Postgres, |s, _| super::$name(s)).await;
            })*
        }
    };
}

threaded_on_both_backends!(
    an_exchange_replaces_the_pair_once,
    racing_exchanges_admit_one,
    revoked_with_the_users_tokens,
);

fn actor() -> Actor {
    Actor {
        principal: "admin".into(),
        from_server_code: false,
        by_hook: false,
    }
}

async fn setup(s: &SqlStore) {
    s.create_app(&App {
        id: "a1".into(),
        key: "k".into(),
        name: "n".into(),
        client_id: "c".into(),
        client_secret_hash: "h".into(),
        created_at: 1,
    })
    .await
    .unwrap();
    for id in ["u-1", "u-2"] {
        let user = User {
            id: id.into(),
            login_name: Some(format!("login-{id}")),
            created_at: 1,
            modified_at: 1,
            ..User::default()
        };
        s.create_user("a1", &user, &actor()).await.unwrap();
    }
}

/// Access token `access` for `user`, valid 60 s from t = 1000, with refresh token `refresh`.
async fn pair(s: &SqlStore, user: &str, access: &str, refresh: &str) {
    let token = Token {
        hash: access.into(),
        app_id: "a1".into(),
        user_id: Some(user.into()),
        thing_id: None,
        expires_at: Some(61_000),
        created_at: 1_000,
    };
    let refresh = RefreshToken {
        hash: refresh.into(),
        app_id: "a1".into(),
        user_id: user.into(),
        access_hash: access.into(),
        lifetime_ms: 60_000,
        created_at: 1_000,
    };
    s.insert_token_with_refresh(&token, &refresh).await.unwrap();
}

async fn an_exchange_replaces_the_pair_once(s: Arc<SqlStore>) {
    setup(&s).await;
    pair(&s, "u-1", "t1", "r1").await;
    assert!(s.get_token("t1").await.unwrap().is_some());
    // Another app cannot spend it.
    assert!(s
        .rotate_refresh_token("a2", "r1", "x", "y", 5_000)
        .await
        .unwrap()
        .is_none());
    let (token, refresh) = s
        .rotate_refresh_token("a1", "r1", "t2", "r2", 5_000)
        .await
        .unwrap()
        .expect("exchanged");
    assert_eq!(token.user_id.as_deref(), Some("u-1"));
    assert_eq!(
        token.expires_at,
        Some(65_000),
        "the same lifetime, from now"
    );
    assert_eq!(refresh.access_hash, "t2");
    assert!(
        s.get_token("t1").await.unwrap().is_none(),
        "old access token"
    );
    assert_eq!(s.get_token("t2").await.unwrap(), Some(token));
    assert!(s
        .rotate_refresh_token("a1", "r1", "t3", "r3", 6_000)
        .await
        .unwrap()
        .is_none());
    assert!(s.get_token("t3").await.unwrap().is_none());
    // The new refresh token works in turn.
    assert!(s
        .rotate_refresh_token("a1", "r2", "t4", "r4", 7_000)
        .await
        .unwrap()
        .is_some());
}

async fn racing_exchanges_admit_one(s: Arc<SqlStore>) {
    setup(&s).await;
    pair(&s, "u-1", "t1", "r1").await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.rotate_refresh_token("a1", "r1", &format!("t-{i}"), &format!("r-{i}"), 5_000)
                .await
                .unwrap()
                .is_some()
        }));
    }
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1);
}

async fn revoked_with_the_users_tokens(s: Arc<SqlStore>) {
    setup(&s).await;
    pair(&s, "u-1", "t1", "r1").await;
    pair(&s, "u-2", "t2", "r2").await;
    s.set_password("a1", "u-1", "$argon2id$new", 50, &actor())
        .await
        .unwrap();
    assert!(s
        .rotate_refresh_token("a1", "r1", "x1", "y1", 5_000)
        .await
        .unwrap()
        .is_none());
    // A disabled user cannot renew (and the refresh token is spent).
    let mut u2 = s.get_user("a1", "u-2").await.unwrap().unwrap();
    u2.disabled = true;
    s.update_user("a1", &u2, &actor()).await.unwrap();
    assert!(s
        .rotate_refresh_token("a1", "r2", "x2", "y2", 5_000)
        .await
        .unwrap()
        .is_none());
    assert!(s.get_token("x2").await.unwrap().is_none());
    // Deleting the user drops what it still has.
    u2.disabled = false;
    s.update_user("a1", &u2, &actor()).await.unwrap();
    pair(&s, "u-2", "t3", "r3").await;
    assert!(s.delete_user("a1", "u-2", &actor()).await.unwrap());
    assert!(s
        .rotate_refresh_token("a1", "r3", "x3", "y3", 5_000)
        .await
        .unwrap()
        .is_none());
}
