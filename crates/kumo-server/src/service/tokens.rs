//! `POST /oauth2/token`: user login, app-admin and anonymous tokens.

use kumo_storage::{App, RefreshToken, Token, User, UserKey};
use kumo_types::{now_ms, ApiError, ErrorCode};
use serde::Serialize;
use serde_json::{Map, Value};

use super::anonymous_token;
use super::phone_login::LocalPhone;
use super::Service;
use crate::error::{Error, Result};
use crate::secrets::{digest_hex, digests_equal, new_token};

/// Kii's `expires_in` for a token that never expires.
pub const NEVER_EXPIRES_IN: i64 = 2_147_483_647;

/// How Kii's sign-in guide spells `token_type` (the SDKs do not read it; OAuth 2 compares it
/// ignoring case).
pub const TOKEN_TYPE: &str = "bearer";

/// What the client asked for, parsed from the token request body.
#[derive(Debug, PartialEq)]
pub enum TokenRequest {
    Password {
        username: String,
        password: String,
        expires_at: Option<i64>,
    },
    ClientCredentials {
        client_id: String,
        client_secret: String,
        expires_at: Option<i64>,
    },
    /// Kii's refresh-token guide: a spent-once refresh token for a new pair.
    Refresh { refresh_token: String },
}

#[derive(Debug, Serialize)]
pub struct TokenGrant {
    /// The principal; an anonymous token has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub access_token: String,
    pub expires_in: i64,
    pub token_type: &'static str,
    /// Given with user tokens that expire (a token that never does needs no renewal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

fn string_field(body: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::invalid_field(key, format!("{key} must be a string")).into()),
    }
}

fn required(body: &Map<String, Value>, key: &str) -> Result<String> {
    string_field(body, key)?
        .ok_or_else(|| ApiError::invalid_field(key, format!("{key} is required")).into())
}

impl TokenRequest {
    /// Accepts the SDK's bodies (no `grant_type`) and the REST guide's (with one).
    pub fn parse(body: &Map<String, Value>) -> Result<Self> {
        let expires_at = match body.get("expiresAt") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_i64().filter(|t| *t > now_ms()).ok_or_else(|| {
                ApiError::invalid_field(
                    "expiresAt",
                    "expiresAt must be a future time in epoch milliseconds",
                )
            })?),
        };
        let grant = string_field(body, "grant_type")?;
        let client_grant = match grant.as_deref() {
            None => body.contains_key("client_id"),
            Some("client_credentials") => true,
            Some("password") => false,
            Some("refresh_token") => {
                return Ok(TokenRequest::Refresh {
                    refresh_token: required(body, "refresh_token")?,
                })
            }
            Some(other) => {
                return Err(ApiError::invalid_field(
                    "grant_type",
                    format!(
                        "Unsupported grant_type '{other}'; use password, client_credentials \
                         or refresh_token"
                    ),
                )
                .into())
            }
        };
        Ok(if client_grant {
            TokenRequest::ClientCredentials {
                client_id: required(body, "client_id")?,
                client_secret: required(body, "client_secret")?,
                expires_at,
            }
        } else {
            TokenRequest::Password {
                username: required(body, "username")?,
                password: required(body, "password")?,
                expires_at,
            }
        })
    }
}

/// Which identifier a login name denotes: explicit `EMAIL:`/`PHONE:`/`LOGIN_NAME:` prefixes
/// (the REST guide's forms), else the SDK's own classification.
pub fn login_keys(username: &str) -> Vec<UserKey> {
    if let Some(v) = username.strip_prefix("EMAIL:") {
        return vec![UserKey::Email(v.to_owned())];
    }
    if let Some(v) = username.strip_prefix("PHONE:") {
        return vec![UserKey::Phone(v.to_owned())];
    }
    if let Some(v) = username.strip_prefix("LOGIN_NAME:") {
        return vec![UserKey::LoginName(v.to_owned())];
    }
    if username.contains('@') {
        return vec![UserKey::Email(username.to_owned())];
    }
    let digits = username.strip_prefix('+').unwrap_or(username);
    if digits.len() >= 10 && digits.bytes().all(|b| b.is_ascii_digit()) {
        // A long all-digit string may still be somebody's login name.
        return vec![
            UserKey::Phone(username.to_owned()),
            UserKey::LoginName(username.to_owned()),
        ];
    }
    vec![UserKey::LoginName(username.to_owned())]
}

/// Kii's `expires_in`: seconds left, or [`NEVER_EXPIRES_IN`].
fn expires_in(expires_at: Option<i64>, now: i64) -> i64 {
    expires_at.map_or(NEVER_EXPIRES_IN, |t| ((t - now) / 1000).max(0))
}

fn invalid_grant(message: &str) -> Error {
    Error::new(ErrorCode::InvalidGrant, message)
}

/// Whether `client_id` and `client_secret` are the app's (its admin credentials).
pub fn check_client(app: &App, client_id: &str, client_secret: &str) -> Result<()> {
    let secret_ok = digests_equal(&digest_hex(client_secret), &app.client_secret_hash);
    if client_id != app.client_id || !secret_ok {
        return Err(invalid_grant(
            "The client was not found or a wrong secret was provided",
        ));
    }
    Ok(())
}

impl Service {
    pub async fn issue_token(&self, app: &App, request: TokenRequest) -> Result<TokenGrant> {
        match request {
            TokenRequest::Password {
                username,
                password,
                expires_at,
            } => {
                if let Some(vendor) = username.strip_prefix("VENDOR_THING_ID:") {
                    return self.thing_login(app, vendor, &password, expires_at).await;
                }
                let found = self.find_login(app, &username).await?;
                let hash = found.as_ref().and_then(|u| u.password_hash.as_deref());
                let ok = self.passwords.verify(&password, hash).await?;
                let user = found.filter(|_| ok).ok_or_else(|| {
                    invalid_grant("The user was not found or a wrong password was provided")
                })?;
                if user.disabled {
                    return Err(Error::new(ErrorCode::UserDisabled, "The user is disabled"));
                }
                if expires_at.is_some() {
                    return self.grant_with_refresh(app, user.id, expires_at).await;
                }
                self.grant(app, Some(user.id), expires_at).await
            }
            TokenRequest::ClientCredentials {
                client_id,
                client_secret,
                expires_at,
            } => {
                // Kii's anonymous guide: the app ID as client ID, with any secret (Kii no longer
                // checks app keys), asks for an anonymous user's token.
                if client_id == app.id && client_id != app.client_id {
                    return Ok(TokenGrant {
                        id: None,
                        access_token: anonymous_token::issue(&app.id, expires_at),
                        expires_in: expires_in(expires_at, now_ms()),
                        token_type: TOKEN_TYPE,
                        refresh_token: None,
                    });
                }
                check_client(app, &client_id, &client_secret)?;
                self.grant(app, None, expires_at).await
            }
            TokenRequest::Refresh { refresh_token } => self.refresh(app, &refresh_token).await,
        }
    }

    /// A user token that expires, with the refresh token that renews it.
    async fn grant_with_refresh(
        &self,
        app: &App,
        user_id: String,
        expires_at: Option<i64>,
    ) -> Result<TokenGrant> {
        let now = now_ms();
        let (secret, hash) = new_token();
        let (refresh_secret, refresh_hash) = new_token();
        let token = Token {
            hash: hash.clone(),
            app_id: app.id.clone(),
            user_id: Some(user_id.clone()),
            thing_id: None,
            expires_at,
            created_at: now,
        };
        let refresh = RefreshToken {
            hash: refresh_hash,
            app_id: app.id.clone(),
            user_id: user_id.clone(),
            access_hash: hash,
            lifetime_ms: expires_at.map_or(0, |t| t - now),
            created_at: now,
        };
        self.storage
            .insert_token_with_refresh(&token, &refresh)
            .await?;
        Ok(TokenGrant {
            id: Some(user_id),
            access_token: secret,
            expires_in: expires_in(expires_at, now),
            token_type: TOKEN_TYPE,
            refresh_token: Some(refresh_secret),
        })
    }

    /// Spends `refresh_token` for a new access token of the same lifetime and a new refresh
    /// token; the old access token stops working. A refresh token works once.
    async fn refresh(&self, app: &App, refresh_token: &str) -> Result<TokenGrant> {
        let spent = || invalid_grant("The refresh token is unknown, spent or revoked");
        if refresh_token.is_empty() || refresh_token.len() > 512 {
            return Err(spent());
        }
        let (secret, hash) = new_token();
        let (refresh_secret, refresh_hash) = new_token();
        let now = now_ms();
        let (token, _) = self
            .storage
            .rotate_refresh_token(
                &app.id,
                &digest_hex(refresh_token),
                &hash,
                &refresh_hash,
                now,
            )
            .await?
            .ok_or_else(spent)?;
        if let Some(user) = &token.user_id {
            self.cache.forget_user(&app.id, user);
        }
        Ok(TokenGrant {
            id: token.user_id,
            access_token: secret,
            expires_in: expires_in(token.expires_at, now),
            token_type: TOKEN_TYPE,
            refresh_token: Some(refresh_secret),
        })
    }

    /// The user a login name denotes, trying each stored identifier it may be.
    async fn find_login(&self, app: &App, username: &str) -> Result<Option<User>> {
        let local = username.strip_prefix("PHONE:").and_then(LocalPhone::parse);
        let keys = match &local {
            Some(p) => p.keys(),
            None => login_keys(username),
        };
        for key in keys {
            if let Some(u) = self.storage.find_user(&app.id, &key).await? {
                if local
                    .as_ref()
                    .is_none_or(|p| p.admits_country(&key, u.country.as_deref()))
                {
                    return Ok(Some(u));
                }
            }
        }
        Ok(None)
    }

    pub(super) async fn grant(
        &self,
        app: &App,
        user_id: Option<String>,
        expires_at: Option<i64>,
    ) -> Result<TokenGrant> {
        let (secret, hash) = new_token();
        let now = now_ms();
        self.storage
            .insert_token(&Token {
                hash,
                app_id: app.id.clone(),
                user_id: user_id.clone(),
                thing_id: None,
                expires_at,
                created_at: now,
            })
            .await?;
        Ok(TokenGrant {
            id: Some(user_id.unwrap_or_else(|| app.client_id.clone())),
            access_token: secret,
            expires_in: expires_in(expires_at, now),
            token_type: TOKEN_TYPE,
            refresh_token: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<TokenRequest> {
        TokenRequest::parse(v.as_object().unwrap())
    }

    #[test]
    fn sdk_bodies_without_grant_type() {
        assert!(matches!(
            parse(json!({"username": "a", "password": "b"})).unwrap(),
            TokenRequest::Password { .. }
        ));
        assert!(matches!(
            parse(json!({"client_id": "a", "client_secret": "b"})).unwrap(),
            TokenRequest::ClientCredentials { .. }
        ));
        assert!(matches!(
            parse(
                json!({"grant_type": "client_credentials", "client_id": "a", "client_secret": "b"})
            )
            .unwrap(),
            TokenRequest::ClientCredentials { .. }
        ));
    }

    #[test]
    fn bad_token_requests() {
        let code = |v| parse(v).unwrap_err().0.extra["field"].clone();
        assert_eq!(code(json!({"password": "b"})), "username");
        assert_eq!(code(json!({"username": 5, "password": "b"})), "username");
        assert_eq!(code(json!({"grant_type": "magic"})), "grant_type");
        assert_eq!(
            code(json!({"username": "a", "password": "b", "expiresAt": 5})),
            "expiresAt"
        );
        assert_eq!(
            code(json!({"username": "a", "password": "b", "expiresAt": "x"})),
            "expiresAt"
        );
    }

    #[test]
    fn login_identifier_classification() {
        assert_eq!(
            login_keys("bob@example.com"),
            vec![UserKey::Email("bob@example.com".into())]
        );
        assert_eq!(
            login_keys("EMAIL:bob@x.io"),
            vec![UserKey::Email("bob@x.io".into())]
        );
        assert_eq!(
            login_keys("PHONE:+8190"),
            vec![UserKey::Phone("+8190".into())]
        );
        assert_eq!(
            login_keys("alice"),
            vec![UserKey::LoginName("alice".into())]
        );
        assert_eq!(
            login_keys("+819012345678")[0],
            UserKey::Phone("+819012345678".into())
        );
        assert_eq!(login_keys("12345")[0], UserKey::LoginName("12345".into()));
    }
}
