//! The service layer: every operation Kumo offers, with its checks, independent of HTTP.
//! REST handlers call it today; the in-sandbox SDK of server code will call the same methods,
//! so both paths share one set of rules.

mod access;
mod apps;
mod groups;
mod objects;
mod tokens;
mod users;

use std::sync::Arc;

use kumo_storage::{Actor, Storage};

pub use apps::{create_app, AppCredentials};
pub use groups::{group_document, GroupInput};
pub use objects::{
    object_document, object_fields, parse_if_match, BucketPath, ObjectWrite, QueryAnswer, MAX_PAGE,
};
pub use tokens::{TokenGrant, TokenRequest};
pub use users::{registration_document, user_document, Registration, UserRef};

use crate::auth::{Caller, Passwords, Principal};

#[derive(Clone)]
pub struct Service {
    pub storage: Arc<dyn Storage>,
    pub passwords: Passwords,
}

impl Service {
    pub fn new(storage: Arc<dyn Storage>, passwords: Passwords) -> Self {
        Self { storage, passwords }
    }
}

/// Who a REST request acts as, for change events.
pub fn actor_of(caller: &Caller) -> Actor {
    let principal = match &caller.principal {
        Principal::Anonymous => "anonymous".to_owned(),
        Principal::Admin => "admin".to_owned(),
        Principal::User(id) => format!("user:{id}"),
    };
    Actor {
        principal,
        from_server_code: false,
    }
}

/// Registration has no caller yet: it is anonymous.
pub fn anonymous_actor() -> Actor {
    Actor {
        principal: "anonymous".to_owned(),
        from_server_code: false,
    }
}
