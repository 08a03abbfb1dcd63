//! The storage suite: every behaviour of the `Storage` trait, run once on SQLite and once on
//! PostgreSQL (a scratch schema per test).

mod common;

use kumo_storage::testing::all_events;
use kumo_storage::{
    open, Actor, App, Entity, Group, SqlStore, Storage, StorageError, Token, Unique, User, UserKey,
};
use serde_json::json;

on_both_backends!(
    apps_round_trip,
    users_round_trip_and_lookup,
    user_identifiers_are_unique_per_app,
    update_user_rewrites_fields_and_keeps_uniqueness,
    password_change_revokes_tokens,
    delete_user_removes_tokens_and_memberships,
    tokens_round_trip,
    expired_tokens_are_purged,
    group_life_cycle,
    group_membership_errors,
    apps_are_isolated,
    reopening_keeps_data_and_skips_applied_migrations,
    concurrent_registrations_of_one_name_admit_one,
    user_and_group_changes_record_events,
);

fn actor() -> Actor {
    Actor {
        principal: "admin".into(),
        from_server_code: false,
        by_hook: false,
    }
}

fn app(id: &str) -> App {
    App {
        id: id.into(),
        key: format!("key-{id}"),
        name: format!("app {id}"),
        client_id: format!("cid-{id}"),
        client_secret_hash: "ab".repeat(32),
        created_at: 1_700_000_000_000,
    }
}

fn user(id: &str, login: &str) -> User {
    User {
        id: id.into(),
        login_name: Some(login.into()),
        password_hash: Some("$argon2id$fake".into()),
        created_at: 1,
        modified_at: 1,
        ..User::default()
    }
}

fn group(id: &str, owner: Option<&str>) -> Group {
    Group {
        id: id.into(),
        name: format!("group {id}"),
        owner: owner.map(str::to_owned),
        created_at: 5,
        modified_at: 5,
    }
}

async fn setup(s: &SqlStore, app_id: &str, users: &[&str]) {
    s.create_app(&app(app_id)).await.unwrap();
    for u in users {
        s.create_user(app_id, &user(u, &format!("login-{u}")), &actor())
            .await
            .unwrap();
    }
}

async fn apps_round_trip(s: std::sync::Arc<SqlStore>, _: String) {
    assert_eq!(s.count_apps().await.unwrap(), 0);
    s.create_app(&app("a1")).await.unwrap();
    assert_eq!(s.get_app("a1").await.unwrap(), Some(app("a1")));
    assert_eq!(s.get_app("nope").await.unwrap(), None);
    assert_eq!(s.count_apps().await.unwrap(), 1);
    let err = s.create_app(&app("a1")).await.unwrap_err();
    assert!(
        matches!(err, StorageError::Conflict(Unique::AppId)),
        "{err:?}"
    );
    s.ping().await.unwrap();
}

async fn users_round_trip_and_lookup(s: std::sync::Arc<SqlStore>, _: String) {
    s.create_app(&app("a1")).await.unwrap();
    let mut u = user("u-1", "Alice");
    u.email = Some("Alice@Example.com".into());
    u.email_verified = true;
    u.phone = Some("+819012345678".into());
    u.display_name = Some("Alice Ä".into());
    u.country = Some("JP".into());
    u.locale = Some("ja-JP".into());
    u.custom = json!({"age": 30, "tags": ["a", "b"], "nested": {"x": null, "emoji": "☁"}})
        .as_object()
        .unwrap()
        .clone();
    let created = s.create_user("a1", &u, &actor()).await.unwrap();
    assert!(created.internal_id > 0);
    let second = s
        .create_user("a1", &user("u-2", "bob"), &actor())
        .await
        .unwrap();
    assert!(second.internal_id > created.internal_id);

    let got = s.get_user("a1", "u-1").await.unwrap().unwrap();
    assert_eq!(
        got,
        User {
            internal_id: created.internal_id,
            ..u.clone()
        }
    );

    for key in [
        UserKey::LoginName("alice".into()),
        UserKey::LoginName("ALICE".into()),
        UserKey::Email("alice@example.COM".into()),
        UserKey::Phone("+819012345678".into()),
    ] {
        let found = s.find_user("a1", &key).await.unwrap();
        assert_eq!(found.map(|f| f.id), Some("u-1".to_owned()), "{key:?}");
    }
    assert!(s
        .find_user("a1", &UserKey::Email("bob@example.com".into()))
        .await
        .unwrap()
        .is_none());
    assert!(s.get_user("a1", "missing").await.unwrap().is_none());
}

async fn user_identifiers_are_unique_per_app(s: std::sync::Arc<SqlStore>, _: String) {
    s.create_app(&app("a1")).await.unwrap();
    let mut u = user("u-1", "alice");
    u.email = Some("a@example.com".into());
    u.phone = Some("+10000000001".into());
    s.create_user("a1", &u, &actor()).await.unwrap();

    let clash = |id: &str| {
        let mut c = user(id, &format!("other-{id}"));
        c.email = Some(format!("{id}@example.com"));
        c
    };
    let mut c = clash("u-2");
    c.login_name = Some("ALICE".into());
    let e = s.create_user("a1", &c, &actor()).await.unwrap_err();
    assert!(
        matches!(e, StorageError::Conflict(Unique::LoginName)),
        "{e:?}"
    );

    let mut c = clash("u-3");
    c.email = Some("A@EXAMPLE.COM".into());
    let e = s.create_user("a1", &c, &actor()).await.unwrap_err();
    assert!(matches!(e, StorageError::Conflict(Unique::Email)), "{e:?}");

    let mut c = clash("u-4");
    c.phone = Some("+10000000001".into());
    let e = s.create_user("a1", &c, &actor()).await.unwrap_err();
    assert!(matches!(e, StorageError::Conflict(Unique::Phone)), "{e:?}");

    let e = s
        .create_user("a1", &user("u-1", "fresh"), &actor())
        .await
        .unwrap_err();
    assert!(matches!(e, StorageError::Conflict(Unique::UserId)), "{e:?}");

    // Users without an email or phone never collide on the missing values.
    s.create_user("a1", &user("u-5", "carol"), &actor())
        .await
        .unwrap();
    s.create_user("a1", &user("u-6", "dave"), &actor())
        .await
        .unwrap();
}

async fn update_user_rewrites_fields_and_keeps_uniqueness(s: std::sync::Arc<SqlStore>, _: String) {
    setup(&s, "a1", &["u-1", "u-2"]).await;
    let mut u = s.get_user("a1", "u-1").await.unwrap().unwrap();
    u.display_name = Some("New".into());
    u.custom = json!({"score": 5}).as_object().unwrap().clone();
    u.email = Some("new@example.com".into());
    u.modified_at = 99;
    s.update_user("a1", &u, &actor()).await.unwrap();
    let got = s.get_user("a1", "u-1").await.unwrap().unwrap();
    assert_eq!(got, u);
    assert!(s
        .find_user("a1", &UserKey::Email("NEW@example.com".into()))
        .await
        .unwrap()
        .is_some());

    let mut other = s.get_user("a1", "u-2").await.unwrap().unwrap();
    other.login_name = Some("LOGIN-U-1".into());
    let e = s.update_user("a1", &other, &actor()).await.unwrap_err();
    assert!(
        matches!(e, StorageError::Conflict(Unique::LoginName)),
        "{e:?}"
    );
    // The failed update left u-2 as it was.
    assert_eq!(
        s.get_user("a1", "u-2")
            .await
            .unwrap()
            .unwrap()
            .login_name
            .as_deref(),
        Some("login-u-2")
    );

    let ghost = user("ghost", "ghost");
    let e = s.update_user("a1", &ghost, &actor()).await.unwrap_err();
    assert!(matches!(e, StorageError::NotFound(Entity::User)), "{e:?}");
}

fn token(hash: &str, app_id: &str, user_id: Option<&str>) -> Token {
    Token {
        hash: hash.into(),
        app_id: app_id.into(),
        user_id: user_id.map(str::to_owned),
        thing_id: None,
        expires_at: None,
        created_at: 10,
    }
}

async fn password_change_revokes_tokens(s: std::sync::Arc<SqlStore>, _: String) {
    setup(&s, "a1", &["u-1", "u-2"]).await;
    s.insert_token(&token("t1", "a1", Some("u-1")))
        .await
        .unwrap();
    s.insert_token(&token("t2", "a1", Some("u-1")))
        .await
        .unwrap();
    s.insert_token(&token("t3", "a1", Some("u-2")))
        .await
        .unwrap();
    s.set_password("a1", "u-1", "$argon2id$new", 50, &actor())
        .await
        .unwrap();
    let u = s.get_user("a1", "u-1").await.unwrap().unwrap();
    assert_eq!(u.password_hash.as_deref(), Some("$argon2id$new"));
    assert_eq!(u.modified_at, 50);
    assert!(s.get_token("t1").await.unwrap().is_none());
    assert!(s.get_token("t2").await.unwrap().is_none());
    assert!(
        s.get_token("t3").await.unwrap().is_some(),
        "other users keep theirs"
    );
    let e = s
        .set_password("a1", "ghost", "x", 1, &actor())
        .await
        .unwrap_err();
    assert!(matches!(e, StorageError::NotFound(Entity::User)));
}

async fn delete_user_removes_tokens_and_memberships(s: std::sync::Arc<SqlStore>, _: String) {
    setup(&s, "a1", &["u-1", "u-2"]).await;
    s.insert_token(&token("t1", "a1", Some("u-1")))
        .await
        .unwrap();
    s.create_group("a1", &group("g1", Some("u-1")), &["u-2".into()], &actor())
        .await
        .unwrap();
    s.create_group("a1", &group("g2", Some("u-2")), &["u-1".into()], &actor())
        .await
        .unwrap();
    assert!(s.delete_user("a1", "u-1", &actor()).await.unwrap());
    assert!(!s.delete_user("a1", "u-1", &actor()).await.unwrap());
    assert!(s.get_user("a1", "u-1").await.unwrap().is_none());
    assert!(s.get_token("t1").await.unwrap().is_none());
    assert_eq!(s.list_members("a1", "g2").await.unwrap(), vec!["u-2"]);
    assert_eq!(s.list_members("a1", "g1").await.unwrap(), vec!["u-2"]);
    assert_eq!(s.get_group("a1", "g1").await.unwrap().unwrap().owner, None);
    // The login name is free again.
    s.create_user("a1", &user("u-9", "login-u-1"), &actor())
        .await
        .unwrap();
}

async fn tokens_round_trip(s: std::sync::Arc<SqlStore>, _: String) {
    setup(&s, "a1", &["u-1"]).await;
    let mut t = token("h1", "a1", Some("u-1"));
    t.expires_at = Some(123);
    s.insert_token(&t).await.unwrap();
    s.insert_token(&token("h2", "a1", None)).await.unwrap();
    assert_eq!(s.get_token("h1").await.unwrap(), Some(t));
    assert_eq!(s.get_token("h2").await.unwrap().unwrap().user_id, None);
    assert!(s.get_token("h3").await.unwrap().is_none());
}

async fn expired_tokens_are_purged(s: std::sync::Arc<SqlStore>, _: String) {
    setup(&s, "a1", &["u-1"]).await;
    setup(&s, "a2", &["u-1"]).await;
    let expiring = |hash: &str, app_id: &str, at: Option<i64>| Token {
        expires_at: at,
        ..token(hash, app_id, Some("u-1"))
    };
    for t in [
        expiring("old", "a1", Some(100)),
        expiring("at-the-limit", "a1", Some(200)),
        expiring("other-app-old", "a2", Some(150)),
        expiring("fresh", "a1", Some(201)),
        expiring("never", "a1", None),
        token("admin", "a2", None),
    ] {
        s.insert_token(&t).await.unwrap();
    }
    // A token is refused once `expires_at <= now`, so "expired by 200" includes 200.
    assert_eq!(s.purge_expired_tokens(200).await.unwrap(), 3);
    for gone in ["old", "at-the-limit", "other-app-old"] {
        assert!(s.get_token(gone).await.unwrap().is_none(), "{gone} purged");
    }
    for kept in ["fresh", "never", "admin"] {
        assert!(s.get_token(kept).await.unwrap().is_some(), "{kept} kept");
    }
    assert_eq!(
        s.purge_expired_tokens(200).await.unwrap(),
        0,
        "nothing left"
    );
}

async fn group_life_cycle(s: std::sync::Arc<SqlStore>, _: String) {
    setup(&s, "a1", &["u-1", "u-2", "u-3"]).await;
    let not_found = s
        .create_group(
            "a1",
            &group("g1", Some("u-1")),
            &["u-2".into(), "nobody".into(), "u-2".into(), "nobody".into()],
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(not_found, vec!["nobody"]);
    assert_eq!(
        s.list_members("a1", "g1").await.unwrap(),
        vec!["u-1", "u-2"]
    );
    let e = s
        .create_group("a1", &group("g1", Some("u-2")), &[], &actor())
        .await
        .unwrap_err();
    assert!(
        matches!(e, StorageError::Conflict(Unique::GroupId)),
        "{e:?}"
    );

    s.rename_group("a1", "g1", "Renamed", 7, &actor())
        .await
        .unwrap();
    let g = s.get_group("a1", "g1").await.unwrap().unwrap();
    assert_eq!(
        (g.name.as_str(), g.modified_at, g.created_at),
        ("Renamed", 7, 5)
    );

    s.add_member("a1", "g1", "u-3", &actor()).await.unwrap();
    s.add_member("a1", "g1", "u-3", &actor()).await.unwrap(); // idempotent
    assert_eq!(
        s.list_members("a1", "g1").await.unwrap(),
        vec!["u-1", "u-2", "u-3"]
    );
    assert!(s.remove_member("a1", "g1", "u-2", &actor()).await.unwrap());
    assert!(!s.remove_member("a1", "g1", "u-2", &actor()).await.unwrap());

    s.set_group_owner("a1", "g1", "u-2", 8, &actor())
        .await
        .unwrap();
    let g = s.get_group("a1", "g1").await.unwrap().unwrap();
    assert_eq!(g.owner.as_deref(), Some("u-2"));
    assert!(s
        .list_members("a1", "g1")
        .await
        .unwrap()
        .contains(&"u-2".to_owned()));

    s.create_group("a1", &group("g2", Some("u-3")), &[], &actor())
        .await
        .unwrap();
    let owned: Vec<_> = s.groups_owned_by("a1", "u-2").await.unwrap();
    assert_eq!(
        owned.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(),
        ["g1"]
    );
    let member: Vec<_> = s.groups_with_member("a1", "u-3").await.unwrap();
    assert_eq!(
        member.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(),
        ["g1", "g2"]
    );

    assert!(s.delete_group("a1", "g1", &actor()).await.unwrap());
    assert!(!s.delete_group("a1", "g1", &actor()).await.unwrap());
    assert!(s.get_group("a1", "g1").await.unwrap().is_none());
    assert!(s.list_members("a1", "g1").await.unwrap().is_empty());
    let member: Vec<_> = s.groups_with_member("a1", "u-3").await.unwrap();
    assert_eq!(member.len(), 1);

    // A group may exist without an owner (created by the app admin).
    s.create_group("a1", &group("g3", None), &["u-1".into()], &actor())
        .await
        .unwrap();
    assert_eq!(s.list_members("a1", "g3").await.unwrap(), vec!["u-1"]);
}

async fn group_membership_errors(s: std::sync::Arc<SqlStore>, _: String) {
    setup(&s, "a1", &["u-1"]).await;
    let e = s
        .create_group("a1", &group("g1", Some("ghost")), &[], &actor())
        .await
        .unwrap_err();
    assert!(matches!(e, StorageError::NotFound(Entity::User)), "{e:?}");
    assert!(
        s.get_group("a1", "g1").await.unwrap().is_none(),
        "nothing half-written"
    );

    s.create_group("a1", &group("g1", Some("u-1")), &[], &actor())
        .await
        .unwrap();
    let e = s
        .add_member("a1", "g1", "ghost", &actor())
        .await
        .unwrap_err();
    assert!(matches!(e, StorageError::NotFound(Entity::User)), "{e:?}");
    let e = s
        .add_member("a1", "nog", "u-1", &actor())
        .await
        .unwrap_err();
    assert!(matches!(e, StorageError::NotFound(Entity::Group)), "{e:?}");
    let e = s
        .set_group_owner("a1", "nog", "u-1", 1, &actor())
        .await
        .unwrap_err();
    assert!(matches!(e, StorageError::NotFound(Entity::Group)), "{e:?}");
    let e = s
        .set_group_owner("a1", "g1", "ghost", 1, &actor())
        .await
        .unwrap_err();
    assert!(matches!(e, StorageError::NotFound(Entity::User)), "{e:?}");
    let e = s
        .rename_group("a1", "nog", "x", 1, &actor())
        .await
        .unwrap_err();
    assert!(matches!(e, StorageError::NotFound(Entity::Group)), "{e:?}");
}

async fn apps_are_isolated(s: std::sync::Arc<SqlStore>, _: String) {
    setup(&s, "a1", &["u-1"]).await;
    setup(&s, "a2", &[]).await;
    // The same login name and user ID may exist in another app.
    s.create_user("a2", &user("u-1", "login-u-1"), &actor())
        .await
        .unwrap();
    s.create_group("a1", &group("g1", Some("u-1")), &[], &actor())
        .await
        .unwrap();
    assert!(s.get_group("a2", "g1").await.unwrap().is_none());
    assert!(!s.delete_group("a2", "g1", &actor()).await.unwrap());
    let e = s.add_member("a2", "g1", "u-1", &actor()).await.unwrap_err();
    assert!(matches!(e, StorageError::NotFound(Entity::Group)));
    assert!(s.groups_owned_by("a2", "u-1").await.unwrap().is_empty());
    assert!(s.delete_user("a2", "u-1", &actor()).await.unwrap());
    assert!(s.get_user("a1", "u-1").await.unwrap().is_some());
    assert!(s
        .find_user("a2", &UserKey::LoginName("login-u-1".into()))
        .await
        .unwrap()
        .is_none());
}

async fn reopening_keeps_data_and_skips_applied_migrations(
    s: std::sync::Arc<SqlStore>,
    url: String,
) {
    setup(&s, "a1", &["u-1"]).await;
    s.close().await;
    let again = open(&url, 2).await.expect("reopen");
    assert!(again.get_user("a1", "u-1").await.unwrap().is_some());
    again.close().await;
}

async fn concurrent_registrations_of_one_name_admit_one(s: std::sync::Arc<SqlStore>, _: String) {
    s.create_app(&app("a1")).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                s.create_user("a1", &user(&format!("u-{i}"), "same"), &actor())
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StorageError::Conflict(Unique::LoginName)) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok, 1);
}

async fn user_and_group_changes_record_events(s: std::sync::Arc<SqlStore>, _: String) {
    setup(&s, "a1", &["u-1", "u-2"]).await;
    let by_code = Actor {
        principal: "user:u-1".into(),
        from_server_code: true,
        by_hook: false,
    };
    let mut u = s.get_user("a1", "u-1").await.unwrap().unwrap();
    u.display_name = Some("x".into());
    s.update_user("a1", &u, &by_code).await.unwrap();
    s.set_password("a1", "u-1", "h", 2, &actor()).await.unwrap();
    s.create_group("a1", &group("g1", Some("u-1")), &[], &actor())
        .await
        .unwrap();
    s.add_member("a1", "g1", "u-2", &actor()).await.unwrap();
    s.rename_group("a1", "g1", "n", 3, &actor()).await.unwrap();
    s.set_group_owner("a1", "g1", "u-2", 4, &actor())
        .await
        .unwrap();
    s.remove_member("a1", "g1", "u-1", &actor()).await.unwrap();
    // Failed or empty changes record nothing.
    assert!(!s.remove_member("a1", "g1", "u-1", &actor()).await.unwrap());
    let _ = s
        .rename_group("a1", "nope", "n", 3, &actor())
        .await
        .unwrap_err();
    s.delete_group("a1", "g1", &actor()).await.unwrap();
    s.delete_user("a1", "u-1", &actor()).await.unwrap();
    assert!(!s.delete_user("a1", "u-1", &actor()).await.unwrap());
    let events = all_events(&s, "a1").await;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "user.created",
            "user.created",
            "user.updated",
            "user.password_changed",
            "group.created",
            "group.member_added",
            "group.renamed",
            "group.owner_changed",
            "group.member_removed",
            "group.deleted",
            "user.deleted",
        ]
    );
    assert!(events[2].from_server_code);
    assert_eq!(events[2].actor, "user:u-1");
    assert_eq!(events[5].target, json!({"groupID": "g1", "userID": "u-2"}));
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
}
