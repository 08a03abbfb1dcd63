//! The ways Kii lets a path name a user besides its ID: `me` (the caller's own user) and the
//! `LOGIN_NAME:`, `EMAIL:` and `PHONE:` addresses. `crate::user_paths` finds them in a request
//! path; this module says what they mean.

use kumo_storage::UserKey;

use super::Service;
use crate::caller::{Caller, Principal};
use crate::error::{user_not_found, Result};

/// A path segment that names a user by something other than its ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserAddress {
    Me,
    Key(UserKey),
}

impl UserAddress {
    /// `None` when the (percent-decoded) segment is a plain user ID. The prefixes are matched
    /// as Kii spells them, upper case.
    pub fn parse(segment: &str) -> Option<UserAddress> {
        if segment == "me" {
            return Some(UserAddress::Me);
        }
        let (kind, value) = segment.split_once(':')?;
        let key = match kind {
            "LOGIN_NAME" => UserKey::LoginName(value.to_owned()),
            "EMAIL" => UserKey::Email(value.to_owned()),
            "PHONE" => UserKey::Phone(value.to_owned()),
            _ => return None,
        };
        Some(UserAddress::Key(key))
    }
}

impl Service {
    /// The ID of the user `address` names in the caller's app. `me` needs a user token: Kii's
    /// "me literal" guide says it cannot be used with any other token, and its `users/me`
    /// reference answers such callers with `UNAUTHORIZED`.
    pub async fn user_id_for(&self, caller: &Caller, address: &UserAddress) -> Result<String> {
        match address {
            UserAddress::Me => match &caller.principal {
                Principal::User(id) => Ok(id.clone()),
                Principal::Admin | Principal::Anonymous | Principal::Thing(_) => Err(caller
                    .unauthorized(
                        "'me' names the user of a user access token; this request has none",
                    )),
            },
            UserAddress::Key(key) => self
                .storage
                .find_user(&caller.app.id, key)
                .await?
                .map(|u| u.id)
                .ok_or_else(|| {
                    let (field, value) = match key {
                        UserKey::LoginName(v) => ("loginName", v),
                        UserKey::Email(v) => ("emailAddress", v),
                        UserKey::Phone(v) => ("phoneNumber", v),
                    };
                    user_not_found(&caller.app.id, field, value)
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(UserAddress::parse("me"), Some(UserAddress::Me));
        assert_eq!(
            UserAddress::parse("EMAIL:a@b.c"),
            Some(UserAddress::Key(UserKey::Email("a@b.c".into())))
        );
        assert_eq!(
            UserAddress::parse("PHONE:+81"),
            Some(UserAddress::Key(UserKey::Phone("+81".into())))
        );
        assert_eq!(
            UserAddress::parse("LOGIN_NAME:bob"),
            Some(UserAddress::Key(UserKey::LoginName("bob".into())))
        );
        assert_eq!(UserAddress::parse("abc-123"), None);
        assert_eq!(UserAddress::parse("ME"), None);
        assert_eq!(UserAddress::parse("login_name:bob"), None);
    }
}
