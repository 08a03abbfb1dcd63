//! Types shared by every Kumo crate: the Kii error-code table, identifier formats and
//! field rules. No I/O lives here.

pub mod acl;
pub mod error;
pub mod ids;
pub mod query;
pub mod validate;

pub use error::{ApiError, ErrorCode};

/// Milliseconds since the Unix epoch, the unit of every Kii timestamp.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
