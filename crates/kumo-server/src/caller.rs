//! Who a request acts as, once resolved (see [`crate::auth`] for how).

use kumo_storage::App;
use kumo_types::acl::Subject;
use kumo_types::{ApiError, ErrorCode};

use crate::error::{Error, Result};

/// The identity a request acts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    User(String),
    /// A thing, with a token from its registration or `/oauth2/token`.
    Thing(String),
    Admin,
}

/// A resolved caller: the app it addresses and who it is.
#[derive(Debug, Clone)]
pub struct Caller {
    pub app: App,
    pub principal: Principal,
    /// The request was made by running server code (through the in-sandbox SDK).
    pub from_server_code: bool,
    /// That server code was started by a server hook (its writes fire no hooks).
    pub by_hook: bool,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.principal == Principal::Admin
    }

    pub fn thing_id(&self) -> Option<&str> {
        match &self.principal {
            Principal::Thing(id) => Some(id),
            _ => None,
        }
    }

    /// The ACL subject a user or thing caller is granted as when it creates something.
    pub fn subject(&self) -> Option<Subject> {
        match &self.principal {
            Principal::User(id) => Some(Subject::User(id.clone())),
            Principal::Thing(id) => Some(Subject::Thing(id.clone())),
            _ => None,
        }
    }

    pub fn user_id(&self) -> Option<&str> {
        match &self.principal {
            Principal::User(id) => Some(id),
            _ => None,
        }
    }

    /// `401 UNAUTHORIZED` as Kii's reference prints it: with the app and the principal the
    /// request was authenticated as (none for an anonymous caller; the admin is its client ID,
    /// which is also the `id` its token grant answers).
    pub fn unauthorized(&self, message: impl Into<String>) -> Error {
        let e = ApiError::new(ErrorCode::Unauthorized, message)
            .with("authenticatedAppID", self.app.id.as_str());
        Error(match &self.principal {
            Principal::User(id) | Principal::Thing(id) => {
                e.with("authenticatedPrincipalID", id.as_str())
            }
            Principal::Admin => e.with("authenticatedPrincipalID", self.app.client_id.as_str()),
            Principal::Anonymous => e,
        })
    }

    /// The caller must be logged in (as a user or the admin).
    pub fn require_authenticated(&self) -> Result<()> {
        if self.principal == Principal::Anonymous {
            return Err(
                self.unauthorized("This operation needs an access token (Authorization: Bearer …)")
            );
        }
        Ok(())
    }

    /// The caller must be `user_id` itself or the app admin.
    pub fn require_self_or_admin(&self, user_id: &str) -> Result<()> {
        self.require_authenticated()?;
        if self.is_admin() || self.user_id() == Some(user_id) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorCode::AccessDenied,
                "Only the user itself or the app admin may do this",
            ))
        }
    }
}
