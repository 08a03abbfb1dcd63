//! Where every failure becomes a Kii error body. Storage errors are mapped here, once.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kumo_storage::{Entity, StorageError, Unique};
use kumo_types::{ApiError, ErrorCode};

/// The error type of every handler and service call.
#[derive(Debug)]
pub struct Error(pub ApiError);

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error(ApiError::new(code, message))
    }
}

/// `404 USER_NOT_FOUND` with the fields Kii's reference prints: which field the user was
/// looked up by (`userID`, `loginName`, `emailAddress`, `phoneNumber`), its value and the app.
pub fn user_not_found(app_id: &str, field: &str, value: &str) -> Error {
    Error(
        ApiError::new(ErrorCode::UserNotFound, "The user was not found")
            .with("field", field)
            .with("value", value)
            .with("appID", app_id),
    )
}

/// `404 GROUP_NOT_FOUND` with Kii's `groupID` and `appID`.
pub fn group_not_found(app_id: &str, group_id: &str) -> Error {
    Error(
        ApiError::new(ErrorCode::GroupNotFound, "The group was not found")
            .with("groupID", group_id)
            .with("appID", app_id),
    )
}

/// `404 THING_NOT_FOUND` with Kii's `field` (`thingID` or `vendorThingID`), `value` and `appID`.
pub fn thing_not_found(app_id: &str, field: &str, value: &str) -> Error {
    Error(
        ApiError::new(ErrorCode::ThingNotFound, "The thing was not found")
            .with("field", field)
            .with("value", value)
            .with("appID", app_id),
    )
}

/// Fills in what a storage-level "not found" or "already exists" cannot know: which user or
/// group the call was about. Errors that already name it, and every other error, pass as they
/// are; this runs only on the error path.
pub trait Naming<T> {
    fn naming_user(self, app_id: &str, user_id: &str) -> Result<T>;
    fn naming_group(self, app_id: &str, group_id: &str) -> Result<T>;
}

impl<T, E: Into<Error>> Naming<T> for std::result::Result<T, E> {
    fn naming_user(self, app_id: &str, user_id: &str) -> Result<T> {
        self.map_err(|e| {
            let e = e.into();
            if e.0.code == ErrorCode::UserNotFound && !e.0.extra.contains_key("value") {
                user_not_found(app_id, "userID", user_id)
            } else {
                e
            }
        })
    }

    fn naming_group(self, app_id: &str, group_id: &str) -> Result<T> {
        self.map_err(|e| {
            let mut e = e.into();
            match e.0.code {
                ErrorCode::GroupNotFound if !e.0.extra.contains_key("groupID") => {
                    group_not_found(app_id, group_id)
                }
                ErrorCode::GroupAlreadyExists => {
                    e.0.extra.insert("groupID".into(), group_id.into());
                    e.0.extra.insert("appID".into(), app_id.into());
                    e
                }
                _ => e,
            }
        })
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error(e)
    }
}

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Self {
        let api = match e {
            StorageError::Conflict(u) => {
                let (code, field) = match u {
                    Unique::LoginName => (ErrorCode::UserAlreadyExists, "loginName"),
                    Unique::Email => (ErrorCode::UserAlreadyExists, "emailAddress"),
                    Unique::Phone => (ErrorCode::UserAlreadyExists, "phoneNumber"),
                    Unique::UserId => (ErrorCode::UserAlreadyExists, "userID"),
                    Unique::GroupId => (ErrorCode::GroupAlreadyExists, "groupID"),
                    Unique::ObjectId => (ErrorCode::ObjectAlreadyExists, "objectID"),
                    Unique::VendorThingId => (ErrorCode::ThingAlreadyExists, "_vendorThingID"),
                    // Version IDs are random too.
                    Unique::VersionId => {
                        return Error::new(ErrorCode::InternalError, "version ID collision; retry")
                    }
                    // App IDs are random; a clash is a fault, not something a client caused.
                    Unique::AppId => {
                        return Error::new(ErrorCode::InternalError, "app ID collision; retry")
                    }
                };
                ApiError::new(code, format!("A resource with this {u} already exists"))
                    .with("field", field)
            }
            StorageError::NotFound(entity) => match entity {
                Entity::App => ApiError::new(ErrorCode::AppNotFound, "The app was not found"),
                Entity::User => ApiError::new(ErrorCode::UserNotFound, "The user was not found"),
                Entity::Group => ApiError::new(ErrorCode::GroupNotFound, "The group was not found"),
                Entity::Bucket => {
                    ApiError::new(ErrorCode::BucketNotFound, "The bucket was not found")
                }
                Entity::Object => {
                    ApiError::new(ErrorCode::ObjectNotFound, "The object was not found")
                }
                Entity::Thing => ApiError::new(ErrorCode::ThingNotFound, "The thing was not found"),
                Entity::CodeVersion => ApiError::new(
                    ErrorCode::ServerCodeVersionNotFound,
                    "The server code version was not found",
                ),
            },
            StorageError::StaleVersion => ApiError::new(
                ErrorCode::ObjectVersionIsStale,
                "The object was changed since the given version",
            ),
            StorageError::InvalidCursor => ApiError::invalid_field(
                "paginationKey",
                "The pagination key does not belong to this query",
            ),
            StorageError::Unavailable(detail) => {
                tracing::error!(%detail, "storage unavailable");
                ApiError::new(
                    ErrorCode::TemporarilyUnavailable,
                    "The storage is temporarily unavailable; retry later",
                )
            }
            StorageError::Backend(detail) => {
                tracing::error!(%detail, "storage failure");
                ApiError::new(
                    ErrorCode::InternalError,
                    "An internal storage error occurred",
                )
            }
        };
        Error(api)
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        error_response(&self.0)
    }
}

pub fn error_response(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = (status, e.body().to_string()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(e.code.media_type()),
    );
    if status == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    res
}

/// The code Kumo answers with when something below it (the router, an extractor) produced a
/// bare status. Used by the response safety net in `http.rs`.
pub fn code_for_status(status: StatusCode) -> ErrorCode {
    match status.as_u16() {
        401 => ErrorCode::Unauthorized,
        403 => ErrorCode::AccessDenied,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        413 => ErrorCode::RequestTooLarge,
        415 => ErrorCode::UnsupportedMediaType,
        503 => ErrorCode::TemporarilyUnavailable,
        400..=499 => ErrorCode::InvalidInputData,
        _ => ErrorCode::InternalError,
    }
}
