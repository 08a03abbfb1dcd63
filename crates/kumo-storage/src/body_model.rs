//! The rows of object bodies: uploads (one of them an object's committed body), their chunks
//! and publications.

/// The largest chunk row. A body is stored as chunks of at most this many bytes, keyed by the
/// offset of their first byte, so a read of any range touches only the chunks it needs.
pub const MAX_BODY_CHUNK: usize = 1024 * 1024;

/// An object's committed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyInfo {
    /// The upload that wrote it; also its entity tag (each upload has a new one).
    pub upload_id: String,
    pub content_type: String,
    pub length: i64,
    pub modified_at: i64,
}

/// An upload that has not been committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyUpload {
    pub id: String,
    /// The type the pieces named (the first one that named one).
    pub content_type: Option<String>,
    /// The body's length the pieces announced (`Content-Range: …/total`).
    pub total: Option<i64>,
    /// The stored byte ranges, `(start, length)` in order of their start.
    pub pieces: Vec<(i64, i64)>,
}

/// One stored chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyChunk {
    pub start: i64,
    pub data: Vec<u8>,
}

/// What committing an upload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyCommit {
    /// The upload is now the object's body; the one before it is gone.
    Done(BodyInfo),
    /// No such upload in progress for this object.
    NoUpload,
    /// The pieces do not cover `0..total` (a gap, or fewer bytes than announced); the upload
    /// is kept, so the missing pieces can still come.
    Incomplete { received: i64, total: Option<i64> },
}

/// A published body, by its publication ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    pub app_id: String,
    pub expires_at: Option<i64>,
    /// The object's body now; `None` if it has none any more.
    pub body: Option<BodyInfo>,
}
