use serde_json::{Map, Value};

/// A tenant. The client secret is kept only as a SHA-256 hex digest.
#[derive(Debug, Clone, PartialEq)]
pub struct App {
    pub id: String,
    pub key: String,
    pub name: String,
    pub client_id: String,
    pub client_secret_hash: String,
    pub created_at: i64,
}

/// A user of one app. `*_key` columns (lower-cased identifiers) are derived by the store.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct User {
    pub id: String,
    /// Assigned by the store on insert; Kii exposes it as `internalUserID`.
    pub internal_id: i64,
    pub login_name: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub display_name: Option<String>,
    pub country: Option<String>,
    pub locale: Option<String>,
    /// PHC-format argon2 hash; `None` for a pseudo user.
    pub password_hash: Option<String>,
    pub disabled: bool,
    /// Custom top-level fields, as set by the client.
    pub custom: Map<String, Value>,
    pub created_at: i64,
    pub modified_at: i64,
}

/// The identifiers a user can be looked up by. Comparison ignores ASCII case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserKey {
    LoginName(String),
    Email(String),
    Phone(String),
}

impl UserKey {
    pub(crate) fn column(&self) -> &'static str {
        match self {
            UserKey::LoginName(_) => "login_key",
            UserKey::Email(_) => "email_key",
            UserKey::Phone(_) => "phone_key",
        }
    }

    pub(crate) fn normalized(&self) -> String {
        match self {
            UserKey::LoginName(v) | UserKey::Email(v) | UserKey::Phone(v) => normalize(v),
        }
    }
}

pub(crate) fn normalize(v: &str) -> String {
    v.to_ascii_lowercase()
}

/// An access token, stored by the hash of its secret only.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub hash: String,
    pub app_id: String,
    /// The user it acts for; `None` (and no `thing_id`) means the app administrator.
    pub user_id: Option<String>,
    /// The thing it acts for (a thing token has no `user_id`).
    pub thing_id: Option<String>,
    /// Epoch ms after which it is refused; `None` means never.
    pub expires_at: Option<i64>,
    pub created_at: i64,
}

/// A refresh token (stored as the digest of its secret): exchanged once for a new access token
/// of the same lifetime and a new refresh token. Only access tokens that expire have one.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshToken {
    pub hash: String,
    pub app_id: String,
    pub user_id: String,
    /// The access token it was issued with, revoked by the exchange.
    pub access_hash: String,
    /// How long each access token it yields lives.
    pub lifetime_ms: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub owner: Option<String>,
    pub created_at: i64,
    pub modified_at: i64,
}
