//! Users: registration (regular and pseudo), lookup, attribute updates, password, deletion.

use kumo_storage::{Actor, App, User};
use kumo_types::{ids, now_ms, validate, ApiError, ErrorCode};
use serde_json::{Map, Value};

use super::{actor_of, anonymous_actor, Service};
use crate::caller::Caller;
use crate::error::{user_not_found, Error, Result};

/// A registration request body and whether it asked for a pseudo user
/// (`application/vnd.kii.RegistrationAndAuthorizationRequest+json`).
pub struct Registration {
    pub pseudo: bool,
    pub body: Map<String, Value>,
    /// Registered by running server code (marks the change event).
    pub from_server_code: bool,
    pub by_hook: bool,
}

/// Fields with a meaning of their own; everything else is a custom field.
const PREDEFINED: &[&str] = &[
    "loginName",
    "displayName",
    "emailAddress",
    "phoneNumber",
    "country",
    "locale",
    "password",
];

/// Keys Kumo itself writes into user documents, or that the SDK would misread as such
/// (its parser takes `id`/`created`/`modified` for system fields). Clients echo them back
/// after a refresh, so they are ignored on input rather than refused.
fn is_read_only(key: &str) -> bool {
    key.starts_with('_')
        || matches!(
            key,
            "userID"
                | "internalUserID"
                | "id"
                | "created"
                | "createdAt"
                | "modified"
                | "modifiedAt"
                | "emailAddressVerified"
                | "phoneNumberVerified"
        )
}

/// Splits a body into predefined fields and custom fields, dropping read-only echoes.
fn split_fields(body: &Map<String, Value>) -> Result<(Map<String, Value>, Map<String, Value>)> {
    let mut predefined = Map::new();
    let mut custom = Map::new();
    for (k, v) in body {
        if k == "errorCode" {
            // A 2xx body carrying `errorCode` is read as a failure by the Kii SDK.
            return Err(
                ApiError::invalid_field(k, "errorCode is reserved and cannot be a field").into(),
            );
        }
        if k.is_empty() {
            return Err(ApiError::invalid_field(k, "Field names must not be empty").into());
        }
        if PREDEFINED.contains(&k.as_str()) {
            predefined.insert(k.clone(), v.clone());
        } else if !is_read_only(k) {
            custom.insert(k.clone(), v.clone());
        }
    }
    Ok((predefined, custom))
}

/// A predefined field as `Some(Some(s))` (set), `Some(None)` (null: clear) or `None` (absent).
fn text_field(fields: &Map<String, Value>, key: &str) -> Result<Option<Option<String>>> {
    match fields.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(ApiError::invalid_field(key, format!("{key} must be a string")).into()),
    }
}

/// Applies predefined profile fields (not identifiers, not password) onto `user`.
fn apply_profile(user: &mut User, fields: &Map<String, Value>) -> Result<()> {
    if let Some(v) = text_field(fields, "displayName")? {
        if let Some(v) = &v {
            validate::display_name(v)?;
        }
        user.display_name = v;
    }
    if let Some(v) = text_field(fields, "country")? {
        if let Some(v) = &v {
            validate::country(v)?;
        }
        user.country = v;
    }
    if let Some(v) = text_field(fields, "locale")? {
        if let Some(v) = &v {
            validate::locale(v)?;
        }
        user.locale = v;
    }
    Ok(())
}

/// Applies identifier fields. Kumo has no address verification flow, so addresses count as
/// verified (as in a Kii app with verification turned off).
fn apply_identifiers(user: &mut User, fields: &Map<String, Value>) -> Result<()> {
    if let Some(v) = text_field(fields, "loginName")? {
        if let Some(v) = &v {
            validate::login_name(v)?;
        }
        user.login_name = v;
    }
    if let Some(v) = text_field(fields, "emailAddress")? {
        if let Some(v) = &v {
            validate::email(v)?;
        }
        user.email_verified = v.is_some();
        user.email = v;
    }
    if let Some(v) = text_field(fields, "phoneNumber")? {
        if let Some(v) = &v {
            validate::phone(v, user.country.is_some())?;
        }
        user.phone_verified = v.is_some();
        user.phone = v;
    }
    Ok(())
}

fn has_identifier(user: &User) -> bool {
    user.login_name.is_some() || user.email.is_some() || user.phone.is_some()
}

fn no_identifier() -> Error {
    Error(ApiError::invalid_field(
        "loginName",
        "A user with a password needs a loginName, emailAddress or phoneNumber",
    ))
}

/// The JSON document of a user. `full` is for the user itself and the app admin; others see
/// only the ID, login name and display name (Kii's default visibility).
pub fn user_document(user: &User, full: bool) -> Value {
    let mut doc = Map::new();
    doc.insert("userID".into(), user.id.clone().into());
    if let Some(v) = &user.login_name {
        doc.insert("loginName".into(), v.clone().into());
    }
    if let Some(v) = &user.display_name {
        doc.insert("displayName".into(), v.clone().into());
    }
    if !full {
        return Value::Object(doc);
    }
    doc.insert("internalUserID".into(), user.internal_id.into());
    if let Some(v) = &user.email {
        doc.insert("emailAddress".into(), v.clone().into());
        doc.insert("emailAddressVerified".into(), user.email_verified.into());
    }
    if let Some(v) = &user.phone {
        doc.insert("phoneNumber".into(), v.clone().into());
        doc.insert("phoneNumberVerified".into(), user.phone_verified.into());
    }
    if let Some(v) = &user.country {
        doc.insert("country".into(), v.clone().into());
    }
    if let Some(v) = &user.locale {
        doc.insert("locale".into(), v.clone().into());
    }
    doc.insert("_hasPassword".into(), user.password_hash.is_some().into());
    doc.insert("_disabled".into(), user.disabled.into());
    doc.insert("_created".into(), user.created_at.into());
    doc.insert("_modified".into(), user.modified_at.into());
    for (k, v) in &user.custom {
        doc.entry(k.clone()).or_insert_with(|| v.clone());
    }
    Value::Object(doc)
}

impl Service {
    /// Registers a user. Returns the user and, for a pseudo user, its new access token.
    pub async fn register(&self, app: &App, reg: Registration) -> Result<(User, Option<String>)> {
        let (predefined, custom) = split_fields(&reg.body)?;
        let now = now_ms();
        let mut user = User {
            id: ids::user_id(),
            custom,
            created_at: now,
            modified_at: now,
            ..User::default()
        };
        apply_profile(&mut user, &predefined)?;
        if reg.pseudo {
            if let Some(k) = ["loginName", "emailAddress", "phoneNumber", "password"]
                .into_iter()
                .find(|k| predefined.contains_key(*k))
            {
                return Err(ApiError::invalid_field(
                    k,
                    format!("A pseudo user has no {k}; add it later with an update"),
                )
                .into());
            }
        } else {
            apply_identifiers(&mut user, &predefined)?;
            if !has_identifier(&user) {
                return Err(no_identifier());
            }
            let password = match text_field(&predefined, "password")? {
                Some(Some(p)) => p,
                _ => return Err(ApiError::invalid_field("password", "password is required").into()),
            };
            validate::password("password", &password)?;
            user.password_hash = Some(self.passwords.hash(&password).await?);
        }
        let user = self
            .storage
            .create_user(
                &app.id,
                &user,
                &Actor {
                    from_server_code: reg.from_server_code,
                    by_hook: reg.by_hook,
                    ..anonymous_actor()
                },
            )
            .await?;
        let token = if reg.pseudo {
            Some(
                self.grant(app, Some(user.id.clone()), None)
                    .await?
                    .access_token,
            )
        } else {
            None
        };
        Ok((user, token))
    }

    /// The user a path names. Addresses (`me`, `LOGIN_NAME:…`) were turned into IDs before
    /// routing (`crate::user_paths`), so every path reaches the service with an ID.
    pub async fn resolve_user(&self, caller: &Caller, user_id: &str) -> Result<User> {
        self.storage
            .get_user(&caller.app.id, user_id)
            .await?
            .ok_or_else(|| user_not_found(&caller.app.id, "userID", user_id))
    }

    /// `GET /users/{id}`: any logged-in caller; full document for oneself and the admin.
    pub async fn get_user(&self, caller: &Caller, user_id: &str) -> Result<Value> {
        caller.require_authenticated()?;
        let user = self.resolve_user(caller, user_id).await?;
        let full = caller.is_admin() || caller.user_id() == Some(user.id.as_str());
        Ok(user_document(&user, full))
    }

    /// `POST /users/{id}`: predefined fields present are set, absent ones kept; the custom
    /// fields are replaced by those in the body. Returns the new modification time.
    pub async fn update_user(
        &self,
        caller: &Caller,
        user_id: &str,
        body: &Map<String, Value>,
    ) -> Result<i64> {
        caller.require_authenticated()?;
        let mut user = self.resolve_user(caller, user_id).await?;
        caller.require_self_or_admin(&user.id)?;
        let (predefined, custom) = split_fields(body)?;
        apply_profile(&mut user, &predefined)?;
        apply_identifiers(&mut user, &predefined)?;
        if let Some(p) = text_field(&predefined, "password")? {
            // Only a pseudo user gets a password this way (Kii's putIdentity); others use
            // the password endpoint, which checks the old one.
            if user.password_hash.is_some() {
                return Err(ApiError::invalid_field(
                    "password",
                    "Change the password with PUT /users/{id}/password",
                )
                .into());
            }
            let p =
                p.ok_or_else(|| ApiError::invalid_field("password", "password must be a string"))?;
            validate::password("password", &p)?;
            user.password_hash = Some(self.passwords.hash(&p).await?);
        }
        if user.password_hash.is_some() && !has_identifier(&user) {
            return Err(no_identifier());
        }
        user.custom = custom;
        user.modified_at = now_ms();
        self.storage
            .update_user(&caller.app.id, &user, &actor_of(caller))
            .await?;
        Ok(user.modified_at)
    }

    /// `PUT /users/{id}/password`. The admin needs no old password. Every token of the user
    /// is revoked, as Kii documents.
    pub async fn change_password(
        &self,
        caller: &Caller,
        user_id: &str,
        body: &Map<String, Value>,
    ) -> Result<()> {
        caller.require_authenticated()?;
        let user = self.resolve_user(caller, user_id).await?;
        caller.require_self_or_admin(&user.id)?;
        let new = match text_field(body, "newPassword")? {
            Some(Some(p)) => p,
            _ => {
                return Err(
                    ApiError::invalid_field("newPassword", "newPassword is required").into(),
                )
            }
        };
        if new.len() < 4 {
            return Err(Error(
                ApiError::new(
                    ErrorCode::PasswordTooShort,
                    "The new password must have at least 4 characters",
                )
                .with("field", "newPassword")
                .with("minimumLength", 4),
            ));
        }
        validate::password("newPassword", &new)?;
        if !caller.is_admin() && user.password_hash.is_some() {
            let old = match text_field(body, "oldPassword")? {
                Some(Some(p)) => p,
                _ => {
                    return Err(
                        ApiError::invalid_field("oldPassword", "oldPassword is required").into(),
                    )
                }
            };
            if !self
                .passwords
                .verify(&old, user.password_hash.as_deref())
                .await?
            {
                // Kii's reference names the app, the principal whose password it was and
                // "the address used for identifying the principal": the one it signs in with
                // (login name, else email address, else phone number).
                let mut e = ApiError::new(ErrorCode::WrongPassword, "The old password is wrong")
                    .with("appID", caller.app.id.as_str())
                    .with("principalID", user.id.as_str());
                if let Some(address) = user
                    .login_name
                    .as_deref()
                    .or(user.email.as_deref())
                    .or(user.phone.as_deref())
                {
                    e = e.with("address", address);
                }
                return Err(Error(e));
            }
        }
        let hash = self.passwords.hash(&new).await?;
        self.storage
            .set_password(&caller.app.id, &user.id, &hash, now_ms(), &actor_of(caller))
            .await?;
        self.cache.forget_user(&caller.app.id, &user.id);
        Ok(())
    }

    /// `GET /users/{id}/status`: `{"disabled": …}`, for the admin only (Kii's reference: 401
    /// `UNAUTHORIZED` for anyone else).
    pub async fn user_status(&self, caller: &Caller, user_id: &str) -> Result<Value> {
        Self::require_admin_for_status(caller)?;
        let user = self.resolve_user(caller, user_id).await?;
        Ok(Value::Object(Map::from_iter([(
            "disabled".to_owned(),
            Value::Bool(user.disabled),
        )])))
    }

    /// `PUT /users/{id}/status` with `{"disabled": true|false}`, the admin only. Disabling
    /// revokes every token of the user (Kii's "disabling users" guide); a disabled user cannot
    /// log in or renew a token until enabled again.
    pub async fn set_user_status(
        &self,
        caller: &Caller,
        user_id: &str,
        body: &Map<String, Value>,
    ) -> Result<()> {
        Self::require_admin_for_status(caller)?;
        let disabled = match body.get("disabled") {
            Some(Value::Bool(b)) => *b,
            _ => {
                return Err(
                    ApiError::invalid_field("disabled", "disabled must be true or false").into(),
                )
            }
        };
        let user = self.resolve_user(caller, user_id).await?;
        self.storage
            .set_user_disabled(
                &caller.app.id,
                &user.id,
                disabled,
                now_ms(),
                &actor_of(caller),
            )
            .await?;
        self.cache.forget_user(&caller.app.id, &user.id);
        Ok(())
    }

    fn require_admin_for_status(caller: &Caller) -> Result<()> {
        if caller.is_admin() {
            Ok(())
        } else {
            Err(caller.unauthorized("Only the app admin may read or change a user's status"))
        }
    }

    /// `DELETE /users/{id}`: the user itself or the admin.
    pub async fn delete_user(&self, caller: &Caller, user_id: &str) -> Result<()> {
        caller.require_authenticated()?;
        let user = self.resolve_user(caller, user_id).await?;
        caller.require_self_or_admin(&user.id)?;
        if !self
            .storage
            .delete_user(&caller.app.id, &user.id, &actor_of(caller))
            .await?
        {
            return Err(user_not_found(&caller.app.id, "userID", &user.id));
        }
        self.cache.forget_user(&caller.app.id, &user.id);
        Ok(())
    }
}

/// The registration response: the full user document, plus `_accessToken` for pseudo users.
pub fn registration_document(user: &User, token: Option<String>) -> Value {
    let mut doc = user_document(user, true);
    if let (Some(t), Some(map)) = (token, doc.as_object_mut()) {
        map.insert("_accessToken".into(), t.into());
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn echoed_fields_are_dropped_and_error_code_refused() {
        let body = json!({"internalUserID": 1, "_accessToken": "x", "id": "u", "score": 5, "displayName": "A"});
        let (pre, custom) = split_fields(body.as_object().unwrap()).unwrap();
        assert_eq!(Value::Object(custom), json!({"score": 5}));
        assert_eq!(Value::Object(pre), json!({"displayName": "A"}));
        let bad = json!({"errorCode": 1});
        assert!(split_fields(bad.as_object().unwrap()).is_err());
    }

    #[test]
    fn others_see_only_public_fields() {
        let u = User {
            id: "u1".into(),
            login_name: Some("alice".into()),
            email: Some("a@example.com".into()),
            custom: json!({"secret": 1}).as_object().unwrap().clone(),
            ..User::default()
        };
        assert_eq!(
            user_document(&u, false),
            json!({"userID": "u1", "loginName": "alice"})
        );
        let full = user_document(&u, true);
        assert_eq!(full["emailAddress"], "a@example.com");
        assert_eq!(full["secret"], 1);
        assert_eq!(full["_hasPassword"], false);
    }
}
