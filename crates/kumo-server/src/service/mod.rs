//! The service layer: every operation Kumo offers, with its checks, independent of HTTP.
//! REST handlers call it today; the in-sandbox SDK of server code will call the same methods,
//! so both paths share one set of rules.

mod access;
pub(crate) mod anonymous_token;
mod apps;
mod bodies;
mod cache;
pub mod console;
mod groups;
mod objects;
mod phone_login;
mod things;
mod tokens;
mod user_address;
mod users;

use std::sync::Arc;
use std::time::Duration;

use kumo_storage::{Actor, App, Storage, Token};

pub use apps::{create_app, AppCredentials};
pub use bodies::{body_stream, check_content_type, PieceRange};
pub use groups::{group_document, GroupInput};
pub use objects::{
    object_document, object_fields, parse_if_match, AclTarget, BucketPath, ObjectWrite, QueryAnswer,
};
pub use things::{parse_owner, thing_document, ThingPage};
pub use tokens::{check_client, TokenGrant, TokenRequest};
pub use user_address::UserAddress;
pub use users::{registration_document, Registration};

use crate::caller::{Caller, Principal};
use crate::error::Result;
use crate::secrets::Passwords;

#[derive(Clone)]
pub struct Service {
    pub storage: Arc<dyn Storage>,
    pub passwords: Passwords,
    pub(crate) cache: Arc<cache::AuthCache>,
}

impl Service {
    pub fn new(storage: Arc<dyn Storage>, passwords: Passwords) -> Self {
        Self::with_token_cache(storage, passwords, Duration::from_secs(5))
    }

    pub fn with_token_cache(
        storage: Arc<dyn Storage>,
        passwords: Passwords,
        token_ttl: Duration,
    ) -> Self {
        Self {
            storage,
            passwords,
            cache: Arc::new(cache::AuthCache::new(token_ttl)),
        }
    }

    /// The app with this ID (cached: apps never change once created).
    pub async fn app(&self, app_id: &str) -> Result<Option<App>> {
        if let Some(app) = self.cache.app(app_id) {
            return Ok(Some(app));
        }
        let app = self.storage.get_app(app_id).await?;
        if let Some(app) = &app {
            self.cache.put_app(app);
        }
        Ok(app)
    }

    /// A token record by the digest of its secret (cached for a few seconds).
    pub async fn token(&self, hash: &str) -> Result<Option<Token>> {
        if let Some(t) = self.cache.token(hash) {
            return Ok(Some(t));
        }
        let seen = self.cache.generation();
        let token = self.storage.get_token(hash).await?;
        if let Some(t) = &token {
            self.cache.put_token(t, seen);
        }
        Ok(token)
    }
}

/// Who a REST request acts as, for change events.
pub fn actor_of(caller: &Caller) -> Actor {
    let principal = match &caller.principal {
        Principal::Anonymous => "anonymous".to_owned(),
        Principal::Admin => "admin".to_owned(),
        Principal::User(id) => format!("user:{id}"),
        Principal::Thing(id) => format!("thing:{id}"),
    };
    Actor {
        principal,
        from_server_code: caller.from_server_code,
        by_hook: caller.by_hook,
    }
}

/// Registration has no caller yet: it is anonymous.
pub fn anonymous_actor() -> Actor {
    Actor {
        principal: "anonymous".to_owned(),
        from_server_code: false,
        by_hook: false,
    }
}
