//! Grants and revokes on stored ACLs, on both backends: concurrent changes of one ACL must
//! never lose each other.

mod common;

use std::sync::Arc;

use kumo_storage::{
    AclChange, AclHolder, Actor, App, BucketRef, Entity, NewBucket, Object, Scope, SqlStore,
    Storage, StorageError,
};
use kumo_types::acl::{Acl, Action, Subject};

/// Like `on_both_backends!`, but on a multi-threaded runtime, as the server runs: the
/// concurrent changes then really overlap.
macro_rules! threaded_on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                $crate::common::with_store(kumo_storage::Dialect::Sqlite, |s, url| super::$name(s, url)).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                $crate::common::with_store(kumo_storage::Dialect::Postgres, |s, url| super::$name(s, url)).await;
            })*
        }
    };
}

threaded_on_both_backends!(
    concurrent_object_grants_are_all_kept,
    concurrent_bucket_grants_and_revokes_are_all_kept,
    concurrent_scope_grants_are_all_kept,
    changes_are_idempotent_and_missing_holders_are_not_found,
);

/// Enough concurrent changes that a read-modify-write loses some on either backend.
const USERS: usize = 50;

fn bucket() -> BucketRef {
    BucketRef {
        app_id: "a1".into(),
        scope: Scope::App,
        name: "b1".into(),
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
    let new = NewBucket {
        creator: None,
        acl: "{}".into(),
    };
    let object = Object {
        id: "o1".into(),
        data: Default::default(),
        data_type: None,
        owner: None,
        acl: "{}".into(),
        version: 1,
        created_at: 1,
        modified_at: 1,
    };
    let actor = Actor {
        principal: "admin".into(),
        from_server_code: false,
        by_hook: false,
    };
    s.create_object(&bucket(), &new, &object, &actor)
        .await
        .unwrap();
}

fn user(i: usize) -> Subject {
    Subject::User(format!("u{i}"))
}

/// Runs every change at once, each on its own task.
async fn concurrently(s: &Arc<SqlStore>, holder: &AclHolder, changes: Vec<AclChange>) {
    let tasks: Vec<_> = changes
        .into_iter()
        .map(|change| {
            let (s, holder) = (s.clone(), holder.clone());
            tokio::spawn(async move { s.change_acl(&holder, &change).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
}

fn grants(action: Action, users: impl Iterator<Item = usize>) -> Vec<AclChange> {
    users
        .map(|i| AclChange {
            action,
            subject: user(i),
            grant: true,
        })
        .collect()
}

fn parse(text: &str) -> Acl {
    Acl::from_json(text).expect("a stored ACL parses")
}

fn sorted(subjects: &[Subject]) -> Vec<Subject> {
    let mut v = subjects.to_vec();
    v.sort();
    v
}

async fn concurrent_object_grants_are_all_kept(s: Arc<SqlStore>, _: String) {
    setup(&s).await;
    let holder = AclHolder::Object(bucket(), "o1".into());
    concurrently(&s, &holder, grants(Action::ReadExistingObject, 0..USERS)).await;
    let acl = parse(&s.get_object(&bucket(), "o1").await.unwrap().unwrap().acl);
    assert_eq!(
        sorted(acl.subjects(Action::ReadExistingObject)),
        sorted(&(0..USERS).map(user).collect::<Vec<_>>())
    );
}

async fn concurrent_bucket_grants_and_revokes_are_all_kept(s: Arc<SqlStore>, _: String) {
    setup(&s).await;
    let holder = AclHolder::Bucket(bucket());
    // Half the users are granted first; then the other half are granted while the first
    // half are revoked, all at once.
    concurrently(
        &s,
        &holder,
        grants(Action::ReadObjectsInBucket, 0..USERS / 2),
    )
    .await;
    let mut changes = grants(Action::ReadObjectsInBucket, USERS / 2..USERS);
    for (i, revoke) in (0..USERS / 2).enumerate() {
        changes.insert(
            2 * i + 1,
            AclChange {
                action: Action::ReadObjectsInBucket,
                subject: user(revoke),
                grant: false,
            },
        );
    }
    concurrently(&s, &holder, changes).await;
    let acl = parse(&s.get_bucket(&bucket()).await.unwrap().unwrap().acl);
    assert_eq!(
        sorted(acl.subjects(Action::ReadObjectsInBucket)),
        sorted(&(USERS / 2..USERS).map(user).collect::<Vec<_>>())
    );
}

async fn concurrent_scope_grants_are_all_kept(s: Arc<SqlStore>, _: String) {
    setup(&s).await;
    let mut default = Acl::default();
    default.grant(Action::CreateNewBucket, Subject::AnyAuthenticatedUser);
    let holder = AclHolder::Scope {
        app_id: "a1".into(),
        scope: Scope::App,
        default: default.to_json(),
    };
    concurrently(&s, &holder, grants(Action::CreateNewBucket, 0..USERS)).await;
    let stored = s.get_scope_acl("a1", &Scope::App).await.unwrap().unwrap();
    let mut expected: Vec<Subject> = (0..USERS).map(user).collect();
    expected.push(Subject::AnyAuthenticatedUser);
    assert_eq!(
        sorted(parse(&stored).subjects(Action::CreateNewBucket)),
        sorted(&expected),
        "the default is kept and every grant added"
    );
}

async fn changes_are_idempotent_and_missing_holders_are_not_found(s: Arc<SqlStore>, _: String) {
    setup(&s).await;
    let holder = AclHolder::Object(bucket(), "o1".into());
    let grant = AclChange {
        action: Action::WriteExistingObject,
        subject: Subject::AnonymousUser,
        grant: true,
    };
    s.change_acl(&holder, &grant).await.unwrap();
    s.change_acl(&holder, &grant).await.unwrap();
    let acl = parse(&s.get_object(&bucket(), "o1").await.unwrap().unwrap().acl);
    assert_eq!(
        acl.subjects(Action::WriteExistingObject),
        [Subject::AnonymousUser]
    );
    let revoke = AclChange {
        grant: false,
        ..grant.clone()
    };
    s.change_acl(&holder, &revoke).await.unwrap();
    s.change_acl(&holder, &revoke).await.unwrap();
    let acl = parse(&s.get_object(&bucket(), "o1").await.unwrap().unwrap().acl);
    assert!(acl.subjects(Action::WriteExistingObject).is_empty());

    let e = s
        .change_acl(&AclHolder::Object(bucket(), "nope".into()), &grant)
        .await
        .unwrap_err();
    assert!(matches!(e, StorageError::NotFound(Entity::Object)), "{e:?}");
    let other = BucketRef {
        name: "none".into(),
        ..bucket()
    };
    let e = s
        .change_acl(&AclHolder::Bucket(other.clone()), &grant)
        .await
        .unwrap_err();
    assert!(matches!(e, StorageError::NotFound(Entity::Bucket)), "{e:?}");
    let e = s
        .change_acl(&AclHolder::Object(other, "o1".into()), &grant)
        .await
        .unwrap_err();
    assert!(matches!(e, StorageError::NotFound(Entity::Object)), "{e:?}");
}
