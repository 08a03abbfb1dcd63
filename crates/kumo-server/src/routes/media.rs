//! What Kii's REST reference says a successful answer looks like beyond its body: the vendor
//! media type of each response, `Location` on creations, `Last-Modified` on objects. Handlers
//! name a constant here instead of spelling media types themselves, so the table is in one place.
//! Error bodies take theirs from `kumo_types::ErrorCode::spec`.

use std::io::Write;

use axum::http::{header, HeaderValue};
use axum::response::Response;

macro_rules! kii {
    ($name:literal) => {
        concat!("application/vnd.kii.", $name, "+json")
    };
}

pub const REGISTRATION: &str = kii!("RegistrationResponse");
pub const USER_DATA: &str = kii!("UserDataRetrievalResponse");
pub const USER_STATUS: &str = kii!("UserStatusRetrievalResponse");
pub const GROUP_CREATION: &str = kii!("GroupCreationResponse");
pub const GROUP: &str = kii!("GroupRetrievalResponse");
pub const GROUPS: &str = kii!("GroupsRetrievalResponse");
pub const MEMBERS: &str = kii!("MembersRetrievalResponse");
pub const OBJECT_CREATION: &str = kii!("ObjectCreationResponse");
pub const OBJECT_UPDATE: &str = kii!("ObjectUpdateResponse");
pub const BUCKET: &str = kii!("BucketRetrievalResponse");
pub const QUERY: &str = kii!("QueryResponse");
pub const ACL: &str = kii!("ACLRetrievalResponse");
pub const ACL_VERB: &str = kii!("ACLVerbRetrievalResponse");
pub const ACL_SUBJECT: &str = kii!("ACLSubjectRetrievalResponse");
pub const SERVER_CODE_DEPLOYMENT: &str = kii!("ServerCodeDeploymentResponse");
pub const THING_REGISTRATION: &str = kii!("ThingRegistrationResponse");
pub const THING_REGISTRATION_WITH_TOKEN: &str = kii!("ThingRegistrationAndAuthorizationResponse");
pub const THING: &str = kii!("ThingRetrievalResponse");
pub const THING_STATUS: &str = kii!("ThingStatusRetrievalResponse");
pub const THING_OWNERS: &str = kii!("ThingOwnershipRetrievalResponse");
pub const THING_QUERY: &str = kii!("ThingQueryResponse");

/// Sets `Location` to `path` (under `/api`, as the user registration always answered). Kii
/// prints absolute URIs; a path-absolute reference resolves to the same one against the request
/// and needs no guess about the public host behind a proxy.
pub fn with_location(mut res: Response, path: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("/api{path}")) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// Sets `Last-Modified` from epoch milliseconds.
pub fn with_last_modified(mut res: Response, epoch_ms: i64) -> Response {
    if let Some(v) = header_value(|out| write_http_date(out, epoch_ms)) {
        res.headers_mut().insert(header::LAST_MODIFIED, v);
    }
    res
}

/// Sets `Content-Type` to an object's own type, `application/vnd.{appID}.{type}+json`.
pub fn with_object_type(mut res: Response, app_id: &str, data_type: &str) -> Response {
    let v = header_value(|out| write!(out, "application/vnd.{app_id}.{data_type}+json"));
    if let Some(v) = v {
        res.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    res
}

/// A header value written into a stack buffer: every object GET sends two made-up values, and
/// this spares each a `String` of its own (the value itself still copies once).
fn header_value(
    write: impl FnOnce(&mut std::io::Cursor<&mut [u8]>) -> std::io::Result<()>,
) -> Option<HeaderValue> {
    // App IDs and data types are bounded (at most 64 characters each), so this is ample.
    let mut buf = [0u8; 192];
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    write(&mut cursor).ok()?;
    let len = cursor.position() as usize;
    HeaderValue::from_bytes(&buf[..len]).ok()
}

#[cfg(test)]
fn http_date(epoch_ms: i64) -> String {
    let mut out = Vec::new();
    write_http_date(&mut out, epoch_ms).unwrap();
    String::from_utf8(out).unwrap()
}

/// RFC 9110's IMF-fixdate (`Tue, 15 May 2012 00:03:03 GMT`), the form Kii's object guide shows.
/// Times before 1970 are clamped to the epoch: no object is older.
fn write_http_date(out: &mut impl std::io::Write, epoch_ms: i64) -> std::io::Result<()> {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = epoch_ms.max(0) / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    write!(
        out,
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        // The modification time in Kii's "getting a KiiObject" example.
        assert_eq!(
            http_date(1_337_040_183_711),
            "Tue, 15 May 2012 00:03:03 GMT"
        );
        assert_eq!(http_date(951_782_400_000), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(http_date(-5), "Thu, 01 Jan 1970 00:00:00 GMT");
    }
}
