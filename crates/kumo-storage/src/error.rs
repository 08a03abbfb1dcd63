use std::fmt;

/// Which unique identifier a write collided with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unique {
    AppId,
    LoginName,
    Email,
    Phone,
    UserId,
    GroupId,
    ObjectId,
    VersionId,
    VendorThingId,
}

/// Which kind of row was missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    App,
    User,
    Group,
    Bucket,
    Object,
    CodeVersion,
    Thing,
}

/// What can go wrong below the service layer. `Conflict` and `NotFound` describe the data;
/// `Unavailable` and `Backend` are faults of the store and must reach clients as 5xx.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{0} already exists")]
    Conflict(Unique),
    #[error("{0:?} not found")]
    NotFound(Entity),
    #[error("the object's version is not the expected one")]
    StaleVersion,
    #[error("the pagination key is not valid for this query")]
    InvalidCursor,
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("storage failure: {0}")]
    Backend(String),
}

impl fmt::Display for Unique {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unique::AppId => "app ID",
            Unique::LoginName => "login name",
            Unique::Email => "email address",
            Unique::Phone => "phone number",
            Unique::UserId => "user ID",
            Unique::GroupId => "group ID",
            Unique::ObjectId => "object ID",
            Unique::VersionId => "server code version ID",
            Unique::VendorThingId => "vendor thing ID",
        })
    }
}

impl From<sqlx::Error> for StorageError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                // SQLite names the columns in its message, PostgreSQL the index; both name a
                // column we chose to be distinctive.
                let text = format!("{} {}", db.message(), db.constraint().unwrap_or_default());
                let which = [
                    ("server_code_versions", Unique::VersionId),
                    ("vendor_thing_id", Unique::VendorThingId),
                    ("login_key", Unique::LoginName),
                    ("email_key", Unique::Email),
                    ("phone_key", Unique::Phone),
                    ("user_groups", Unique::GroupId),
                    ("objects", Unique::ObjectId),
                    ("users", Unique::UserId),
                    ("apps", Unique::AppId),
                ]
                .into_iter()
                .find(|(needle, _)| text.contains(needle));
                match which {
                    Some((_, u)) => StorageError::Conflict(u),
                    None => StorageError::Backend(e.to_string()),
                }
            }
            // PostgreSQL ending the session (shut down, restarted, killed by an administrator)
            // or the connection failing: this connection is gone, the next may work.
            sqlx::Error::Database(db)
                if db
                    .code()
                    .is_some_and(|c| c.starts_with("57P") || c.starts_with("08")) =>
            {
                crate::pool::connection_failed();
                StorageError::Unavailable(e.to_string())
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => {
                StorageError::Unavailable(e.to_string())
            }
            sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed => {
                crate::pool::connection_failed();
                StorageError::Unavailable(e.to_string())
            }
            sqlx::Error::Protocol(_) | sqlx::Error::Tls(_) => {
                crate::pool::connection_failed();
                StorageError::Backend(e.to_string())
            }
            _ => StorageError::Backend(e.to_string()),
        }
    }
}

/// Errors of the inline SQLite reader (`sqlite_reader.rs`).
impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode::*;
        match e.sqlite_error_code() {
            Some(DatabaseBusy | DatabaseLocked | CannotOpen | SystemIoFailure | OutOfMemory) => {
                StorageError::Unavailable(e.to_string())
            }
            _ => StorageError::Backend(e.to_string()),
        }
    }
}
