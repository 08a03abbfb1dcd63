//! Things on both backends: the vendor thing ID unique per app, lookups by either ID, owners,
//! a thing token, deletion with everything that is the thing's, and the events of each write.

mod common;

use std::sync::Arc;

use kumo_storage::{
    Actor, App, BucketRef, Entity, Group, NewBucket, Object, Scope, SqlStore, Storage,
    StorageError, Thing, ThingKey, ThingOwner, Token, Unique, User,
};
use serde_json::{json, Map};

on_both_backends!(things_and_their_owners, deleting_a_thing_takes_what_is_its);

fn actor() -> Actor {
    Actor {
        principal: "admin".into(),
        from_server_code: false,
        by_hook: false,
    }
}

async fn app(s: &SqlStore, id: &str) {
    s.create_app(&App {
        id: id.into(),
        key: "k".into(),
        name: "n".into(),
        client_id: format!("c-{id}"),
        client_secret_hash: "h".into(),
        created_at: 1,
    })
    .await
    .unwrap();
}

fn thing(id: &str, vendor: &str) -> Thing {
    let mut fields = Map::new();
    fields.insert("_thingType".into(), json!("LAMP"));
    fields.insert("free".into(), json!({"a": [1]}));
    Thing {
        id: id.into(),
        vendor_thing_id: vendor.into(),
        password_hash: "hash".into(),
        fields,
        disabled: false,
        created_at: 5,
        modified_at: 5,
    }
}

async fn event_kinds(s: &SqlStore, app_id: &str) -> Vec<String> {
    kumo_storage::testing::all_events(s, app_id)
        .await
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

async fn things_and_their_owners(s: Arc<SqlStore>, _: String) {
    app(&s, "a1").await;
    app(&s, "a2").await;
    s.create_thing("a1", &thing("th.1", "v1"), &actor())
        .await
        .unwrap();
    let dup = s.create_thing("a1", &thing("th.2", "v1"), &actor()).await;
    assert!(
        matches!(dup, Err(StorageError::Conflict(Unique::VendorThingId))),
        "{dup:?}"
    );
    // The same vendor thing ID in another app is another thing.
    s.create_thing("a2", &thing("th.3", "v1"), &actor())
        .await
        .unwrap();

    let by_vendor = s
        .get_thing("a1", &ThingKey::Vendor("v1".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_vendor, thing("th.1", "v1"));
    assert_eq!(
        s.get_thing("a1", &ThingKey::Id("th.1".into()))
            .await
            .unwrap(),
        Some(by_vendor)
    );
    assert!(s
        .get_thing("a2", &ThingKey::Id("th.1".into()))
        .await
        .unwrap()
        .is_none());

    let mut fields = Map::new();
    fields.insert("_firmwareVersion".into(), json!("2"));
    s.update_thing("a1", "th.1", &fields, 9, &actor())
        .await
        .unwrap();
    s.set_thing_disabled("a1", "th.1", true, 10, &actor())
        .await
        .unwrap();
    s.set_thing_password("a1", "th.1", "hash2", 11, &actor())
        .await
        .unwrap();
    let t = s
        .get_thing("a1", &ThingKey::Id("th.1".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.fields, fields);
    assert!(t.disabled);
    assert_eq!(t.password_hash, "hash2");
    assert_eq!((t.created_at, t.modified_at), (5, 11));
    for missing in [
        s.update_thing("a2", "th.1", &fields, 9, &actor()).await,
        s.set_thing_disabled("a1", "th.9", true, 9, &actor()).await,
    ] {
        assert!(
            matches!(missing, Err(StorageError::NotFound(Entity::Thing))),
            "{missing:?}"
        );
    }

    // Owners: users and groups of the same app only.
    let user = User {
        id: "u1".into(),
        login_name: Some("u1".into()),
        created_at: 1,
        modified_at: 1,
        ..User::default()
    };
    s.create_user("a1", &user, &actor()).await.unwrap();
    let group = Group {
        id: "g1".into(),
        name: "g".into(),
        owner: Some("u1".into()),
        created_at: 1,
        modified_at: 1,
    };
    s.create_group("a1", &group, &[], &actor()).await.unwrap();
    let u = ThingOwner::User("u1".into());
    let g = ThingOwner::Group("g1".into());
    assert!(s.add_thing_owner("a1", "th.1", &g, &actor()).await.unwrap());
    assert!(s.add_thing_owner("a1", "th.1", &u, &actor()).await.unwrap());
    assert!(!s.add_thing_owner("a1", "th.1", &u, &actor()).await.unwrap());
    assert_eq!(
        s.thing_owners("a1", "th.1").await.unwrap(),
        vec![u.clone(), g.clone()]
    );
    let ghost = s
        .add_thing_owner("a1", "th.1", &ThingOwner::User("ghost".into()), &actor())
        .await;
    assert!(matches!(ghost, Err(StorageError::NotFound(Entity::User))));
    let ghost = s
        .add_thing_owner("a1", "th.1", &ThingOwner::Group("ghost".into()), &actor())
        .await;
    assert!(matches!(ghost, Err(StorageError::NotFound(Entity::Group))));
    let other_app = s.add_thing_owner("a2", "th.3", &u, &actor()).await;
    assert!(matches!(
        other_app,
        Err(StorageError::NotFound(Entity::User))
    ));
    let no_thing = s.add_thing_owner("a1", "th.9", &u, &actor()).await;
    assert!(matches!(
        no_thing,
        Err(StorageError::NotFound(Entity::Thing))
    ));
    assert!(s
        .remove_thing_owner("a1", "th.1", &u, &actor())
        .await
        .unwrap());
    assert!(!s
        .remove_thing_owner("a1", "th.1", &u, &actor())
        .await
        .unwrap());
    assert_eq!(s.thing_owners("a1", "th.1").await.unwrap(), vec![g]);

    let kinds = event_kinds(&s, "a1").await;
    let things: Vec<&str> = kinds
        .iter()
        .map(String::as_str)
        .filter(|k| k.starts_with("thing."))
        .collect();
    assert_eq!(
        things,
        [
            "thing.created",
            "thing.updated",
            "thing.disabled",
            "thing.password_changed",
            "thing.owner_added",
            "thing.owner_added",
            "thing.owner_removed",
        ]
    );
}

async fn deleting_a_thing_takes_what_is_its(s: Arc<SqlStore>, _: String) {
    app(&s, "a1").await;
    s.create_thing("a1", &thing("th.1", "v1"), &actor())
        .await
        .unwrap();
    s.create_thing("a1", &thing("th.2", "v2"), &actor())
        .await
        .unwrap();
    let token = |hash: &str, thing: &str| Token {
        hash: hash.into(),
        app_id: "a1".into(),
        user_id: None,
        thing_id: Some(thing.into()),
        expires_at: None,
        created_at: 1,
    };
    s.insert_token(&token("t1", "th.1")).await.unwrap();
    s.insert_token(&token("t2", "th.2")).await.unwrap();
    assert_eq!(
        s.get_token("t1")
            .await
            .unwrap()
            .unwrap()
            .thing_id
            .as_deref(),
        Some("th.1")
    );
    let bucket = |thing: &str| BucketRef {
        app_id: "a1".into(),
        scope: Scope::Thing(thing.into()),
        name: "readings".into(),
    };
    let object = Object {
        id: "o1".into(),
        data: json!({"v": 1}).as_object().unwrap().clone(),
        data_type: None,
        owner: None,
        acl: "{}".into(),
        version: 1,
        created_at: 1,
        modified_at: 1,
    };
    let nb = NewBucket {
        creator: None,
        acl: "{}".into(),
    };
    for t in ["th.1", "th.2"] {
        s.create_object(&bucket(t), &nb, &object, &actor())
            .await
            .unwrap();
    }

    assert!(s.delete_thing("a1", "th.1", &actor()).await.unwrap());
    assert!(!s.delete_thing("a1", "th.1", &actor()).await.unwrap());
    assert!(s
        .get_thing("a1", &ThingKey::Id("th.1".into()))
        .await
        .unwrap()
        .is_none());
    assert!(s.get_token("t1").await.unwrap().is_none());
    assert!(s.get_bucket(&bucket("th.1")).await.unwrap().is_none());
    // The other thing keeps its token and its data.
    assert!(s.get_token("t2").await.unwrap().is_some());
    assert!(s.get_object(&bucket("th.2"), "o1").await.unwrap().is_some());
    // A thing registered again under the vendor ID starts empty.
    s.create_thing("a1", &thing("th.3", "v1"), &actor())
        .await
        .unwrap();
    assert!(event_kinds(&s, "a1")
        .await
        .contains(&"thing.deleted".to_owned()));
}
