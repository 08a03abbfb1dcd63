//! The one table that maps Kumo's error kinds to Kii's wire errors.
//!
//! Every error a client can see is an [`ApiError`]: a [`ErrorCode`] (which fixes the HTTP
//! status and the `errorCode` string) plus a human message. The server renders it as
//! `{"errorCode": …, "message": …}`; nothing else decides statuses.

use serde_json::{Map, Value};

/// Every error code Kumo answers with. The HTTP status and wire string of each live in
/// [`ErrorCode::spec`], so adding a code means adding one row there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    // 400
    InvalidJson,
    InvalidInputData,
    InvalidGrant,
    PasswordTooShort,
    QueryNotSupported,
    InvalidBucket,
    InvalidObjectId,
    EndpointInvocationError,
    ServerCodeVerificationError,
    // 401
    Unauthorized,
    WrongPassword,
    UserDisabled,
    // 403
    WrongToken,
    AccessDenied,
    // 404
    AppNotFound,
    UserNotFound,
    GroupNotFound,
    MemberNotFound,
    BucketNotFound,
    ObjectNotFound,
    AclNotFound,
    ThingNotFound,
    ThingOwnershipNotFound,
    ServerCodeVersionNotFound,
    ServerCodeHookVersionNotFound,
    ScheduleExecutionNotFound,
    ObjectBodyNotFound,
    ObjectBodyUploadNotFound,
    PublicationNotFound,
    NotFound,
    // 405
    MethodNotAllowed,
    // 409
    UserAlreadyExists,
    GroupAlreadyExists,
    ObjectAlreadyExists,
    ObjectVersionIsStale,
    OperationNotAllowed,
    ThingAlreadyExists,
    ThingOwnershipAlreadyExists,
    // 410
    PublicationExpired,
    // 412
    ObjectBodyIntegrityNotAssured,
    // 413
    RequestTooLarge,
    // 415
    UnsupportedMediaType,
    // 416
    ObjectBodyRangeNotSatisfiable,
    // 500
    InternalError,
    // 503
    TemporarilyUnavailable,
}

/// How one [`ErrorCode`] looks on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorSpec {
    pub status: u16,
    pub wire: &'static str,
    /// The `Content-Type` of the error body: the exception type Kii's reference names for this
    /// code, or plain JSON where it names none.
    pub media_type: &'static str,
}

/// Kii's media type for an exception class: `application/vnd.kii.{class}+json`.
macro_rules! kii_exception {
    ($class:literal) => {
        concat!("application/vnd.kii.", $class, "+json")
    };
}

impl ErrorCode {
    /// The table. Wire strings follow Kii where Kii has one (the SDK's `KiiErrorParser` table);
    /// the few Kumo-only ones are documented in the README. Media types are the exception
    /// classes Kii's REST reference prints beside each code; a code whose class no page names
    /// answers `application/json` rather than a guessed name (docs/rest-compat.md).
    pub const fn spec(self) -> ErrorSpec {
        use ErrorCode::*;
        let (status, wire, exception) = match self {
            InvalidJson => (400, "INVALID_JSON", None),
            InvalidInputData => (
                400,
                "INVALID_INPUT_DATA",
                Some(kii_exception!("ValidationException")),
            ),
            InvalidGrant => (400, "invalid_grant", None),
            PasswordTooShort => (
                400,
                "PASSWORD_TOO_SHORT",
                Some(kii_exception!("PasswordTooShortException")),
            ),
            QueryNotSupported => (400, "QUERY_NOT_SUPPORTED", None),
            InvalidBucket => (400, "INVALID_BUCKET", None),
            InvalidObjectId => (400, "INVALID_OBJECT_ID", None),
            EndpointInvocationError => (
                400,
                "ENDPOINT_INVOCATION_ERROR",
                Some(kii_exception!("EndpointInvocationErrorException")),
            ),
            ServerCodeVerificationError => (400, "SERVER_CODE_VERIFICATION_ERROR", None),
            Unauthorized => (
                401,
                "UNAUTHORIZED",
                Some(kii_exception!("UnauthorizedAccessException")),
            ),
            WrongPassword => (
                401,
                "WRONG_PASSWORD",
                Some(kii_exception!("WrongPasswordException")),
            ),
            UserDisabled => (401, "USER_DISABLED", None),
            WrongToken => (403, "WRONG_TOKEN", None),
            AccessDenied => (403, "ACCESS_DENIED", None),
            AppNotFound => (404, "APP_NOT_FOUND", None),
            UserNotFound => (
                404,
                "USER_NOT_FOUND",
                Some(kii_exception!("UserNotFoundException")),
            ),
            GroupNotFound => (
                404,
                "GROUP_NOT_FOUND",
                Some(kii_exception!("GroupNotFoundException")),
            ),
            MemberNotFound => (404, "GROUP_MEMBER_NOT_FOUND", None),
            BucketNotFound => (
                404,
                "BUCKET_NOT_FOUND",
                Some(kii_exception!("BucketNotFoundException")),
            ),
            ObjectNotFound => (
                404,
                "OBJECT_NOT_FOUND",
                Some(kii_exception!("ObjectNotFoundException")),
            ),
            AclNotFound => (404, "ACL_NOT_FOUND", None),
            ThingNotFound => (
                404,
                "THING_NOT_FOUND",
                Some(kii_exception!("ThingNotFoundException")),
            ),
            ThingOwnershipNotFound => (
                404,
                "THING_OWNERSHIP_NOT_FOUND",
                Some(kii_exception!("ThingOwnershipNotFoundException")),
            ),
            ServerCodeVersionNotFound => (404, "SERVER_CODE_VERSION_NOT_FOUND", None),
            ServerCodeHookVersionNotFound => (404, "SERVER_CODE_HOOK_VERSION_NOT_FOUND", None),
            ScheduleExecutionNotFound => (404, "SCHEDULE_EXECUTION_NOT_FOUND", None),
            ObjectBodyNotFound => (404, "OBJECT_BODY_NOT_FOUND", None),
            ObjectBodyUploadNotFound => (404, "OBJECT_BODY_UPLOAD_NOT_FOUND", None),
            PublicationNotFound => (404, "PUBLICATION_NOT_FOUND", None),
            PublicationExpired => (410, "PUBLICATION_EXPIRED", None),
            ObjectBodyIntegrityNotAssured => (412, "OBJECT_BODY_INTEGRITY_NOT_ASSURED", None),
            ObjectBodyRangeNotSatisfiable => (416, "OBJECT_BODY_RANGE_NOT_SATISFIABLE", None),
            NotFound => (404, "NOT_FOUND", None),
            MethodNotAllowed => (405, "METHOD_NOT_ALLOWED", None),
            UserAlreadyExists => (409, "USER_ALREADY_EXISTS", None),
            GroupAlreadyExists => (
                409,
                "GROUP_ALREADY_EXISTS",
                Some(kii_exception!("GroupAlreadyExistsException")),
            ),
            ObjectAlreadyExists => (409, "OBJECT_ALREADY_EXISTS", None),
            ThingAlreadyExists => (
                409,
                "THING_ALREADY_EXISTS",
                Some(kii_exception!("ThingAlreadyExistsException")),
            ),
            ThingOwnershipAlreadyExists => (
                409,
                "THING_OWNERSHIP_ALREADY_EXISTS",
                Some(kii_exception!("ThingOwnershipAlreadyExistsException")),
            ),
            ObjectVersionIsStale => (409, "OBJECT_VERSION_IS_STALE", None),
            OperationNotAllowed => (
                409,
                "OPERATION_NOT_ALLOWED",
                Some(kii_exception!("OperationNotAllowedException")),
            ),
            RequestTooLarge => (413, "REQUEST_ENTITY_TOO_LARGE", None),
            UnsupportedMediaType => (415, "UNSUPPORTED_MEDIA_TYPE", None),
            InternalError => (500, "UNDEFINED_ERROR", None),
            TemporarilyUnavailable => (503, "TEMPORARY_UNAVAILABLE_ERROR", None),
        };
        let media_type = match exception {
            Some(t) => t,
            None => "application/json",
        };
        ErrorSpec {
            status,
            wire,
            media_type,
        }
    }

    pub const fn status(self) -> u16 {
        self.spec().status
    }

    pub const fn wire(self) -> &'static str {
        self.spec().wire
    }

    pub const fn media_type(self) -> &'static str {
        self.spec().media_type
    }
}

/// An error as a client sees it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {message}", code.wire())]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// Extra top-level fields Kii puts beside `errorCode` (e.g. `field`, `userID`).
    pub extra: Map<String, Value>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            extra: Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    /// `400 INVALID_INPUT_DATA` naming the offending field, as Kii does.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInputData, message).with("field", field)
    }

    /// The JSON body. OAuth errors also carry the standard `error`/`error_description` pair
    /// because the SDK falls back to `error_description` when building its message.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("errorCode".into(), self.code.wire().into());
        body.insert("message".into(), self.message.clone().into());
        if self.code == ErrorCode::InvalidGrant {
            body.insert("error".into(), "invalid_grant".into());
            body.insert("error_description".into(), self.message.clone().into());
        }
        for (k, v) in &self.extra {
            body.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_errors_carry_error_code_and_description() {
        let body = ApiError::new(ErrorCode::InvalidGrant, "wrong password").body();
        assert_eq!(body["errorCode"], "invalid_grant");
        assert_eq!(body["error_description"], "wrong password");
        assert_eq!(body["error"], "invalid_grant");
        assert_eq!(ErrorCode::InvalidGrant.status(), 400);
    }

    #[test]
    fn error_media_types_follow_kii_exception_classes() {
        assert_eq!(
            ErrorCode::UserNotFound.media_type(),
            "application/vnd.kii.UserNotFoundException+json"
        );
        assert_eq!(
            ErrorCode::InvalidInputData.media_type(),
            "application/vnd.kii.ValidationException+json"
        );
        assert_eq!(ErrorCode::InvalidGrant.media_type(), "application/json");
    }

    #[test]
    fn extra_fields_never_override_the_code() {
        let body = ApiError::new(ErrorCode::UserNotFound, "gone")
            .with("errorCode", "NOPE")
            .with("userID", "u1")
            .body();
        assert_eq!(body["errorCode"], "USER_NOT_FOUND");
        assert_eq!(body["userID"], "u1");
    }
}
