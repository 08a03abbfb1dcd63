//! Object bodies: who may read and write them (as the object: READ for reading, WRITE for
//! everything that changes or exposes it), uploads streamed into chunk rows (whole, or in
//! pieces named by `Content-Range`), reads of a range, publication.

use futures_util::{Stream, StreamExt};
use kumo_storage::{BodyCommit, BodyInfo, Storage, MAX_BODY_CHUNK};
use kumo_types::{ids, now_ms, ErrorCode};
use std::sync::Arc;

use super::{BucketPath, Service};
use crate::caller::Caller;
use crate::error::{Error, Result};

/// How many chunks one read of a download fetches: a download holds at most this many
/// mebibytes, whatever the body's size.
const CHUNKS_PER_READ: i64 = 2;

/// Extra fields on an error body.
trait With {
    fn with(self, key: &str, value: impl Into<serde_json::Value>) -> Self;
}

impl With for Error {
    fn with(self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        Error(self.0.with(key, value))
    }
}

/// `Content-Range: bytes=START-END/TOTAL` of an upload piece (`END` inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PieceRange {
    pub start: u64,
    pub end: u64,
    pub total: u64,
}

impl PieceRange {
    /// Kii's form (`bytes=0-99/200`, as its guide writes it) and HTTP's (`bytes 0-99/200`).
    pub fn parse(v: &str) -> Option<PieceRange> {
        let v = v.trim();
        let rest = v
            .strip_prefix("bytes=")
            .or_else(|| v.strip_prefix("bytes "))?;
        let (range, total) = rest.split_once('/')?;
        let (start, end) = range.split_once('-')?;
        let num = |s: &str| -> Option<u64> {
            let s = s.trim();
            if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        };
        Some(PieceRange {
            start: num(start)?,
            end: num(end)?,
            total: num(total)?,
        })
    }
}

pub fn body_not_found() -> Error {
    Error::new(ErrorCode::ObjectBodyNotFound, "The object has no body")
}

fn upload_not_found() -> Error {
    Error::new(
        ErrorCode::ObjectBodyUploadNotFound,
        "No upload with this ID is in progress for the object",
    )
}

fn object_not_found() -> Error {
    Error::new(ErrorCode::ObjectNotFound, "The object was not found")
}

fn too_large(limit: u64) -> Error {
    Error::new(
        ErrorCode::RequestTooLarge,
        format!("An object body may hold at most {limit} bytes on this server"),
    )
    .with("maxBodyBytes", limit)
}

fn not_satisfiable(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::ObjectBodyRangeNotSatisfiable, message)
}

/// A body's media type as sent: `type/subtype` with optional parameters, printable ASCII,
/// at most 255 bytes.
pub fn check_content_type(ct: &str) -> Result<()> {
    let bare = ct.split(';').next().unwrap_or_default().trim();
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    let ok = ct.len() <= 255
        && ct.bytes().all(|b| (b' '..=b'~').contains(&b))
        && bare
            .split_once('/')
            .is_some_and(|(t, s)| token(t) && token(s));
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            ErrorCode::InvalidInputData,
            "Content-Type must be a media type (type/subtype)",
        )
        .with("field", "Content-Type"))
    }
}

/// What a stream of chunks ran into.
enum Overrun {
    /// The body went past the server's limit.
    Limit(u64),
    /// A piece went past its `Content-Range`.
    Piece(u64),
}

impl Service {
    /// The body of an object the caller may read.
    pub async fn body_to_read(
        &self,
        caller: &Caller,
        path: &BucketPath,
        object_id: &str,
    ) -> Result<BodyInfo> {
        self.get_object(caller, path, object_id).await?;
        let bucket = Self::bucket_ref(caller, path)?;
        self.storage
            .get_body(&bucket, object_id)
            .await?
            .ok_or_else(body_not_found)
    }

    /// Writes `data` as chunks from byte `start` on, at most `max` bytes; returns how many
    /// were written. Holds one chunk in memory at a time.
    async fn write_chunks<S, B, E>(
        &self,
        app_id: &str,
        upload_id: &str,
        start: u64,
        max: Overrun,
        mut data: S,
    ) -> Result<u64>
    where
        S: Stream<Item = std::result::Result<B, E>> + Unpin + Send,
        B: AsRef<[u8]> + Send,
    {
        let limit = match max {
            Overrun::Limit(n) | Overrun::Piece(n) => n,
        };
        let mut buf: Vec<u8> = Vec::with_capacity(MAX_BODY_CHUNK);
        let mut written = 0u64;
        let flush = async |buf: &mut Vec<u8>, at: u64| -> Result<()> {
            if !self
                .storage
                .put_body_chunk(app_id, upload_id, at as i64, buf)
                .await?
            {
                return Err(not_satisfiable(
                    "Another piece of this upload already holds these bytes",
                ));
            }
            buf.clear();
            Ok(())
        };
        while let Some(frame) = data.next().await {
            let frame = frame.map_err(|_| {
                Error::new(
                    ErrorCode::InvalidInputData,
                    "The body could not be read to its end",
                )
            })?;
            let mut bytes = frame.as_ref();
            while !bytes.is_empty() {
                let take = (MAX_BODY_CHUNK - buf.len()).min(bytes.len());
                if written + (buf.len() + take) as u64 > limit {
                    return Err(match max {
                        Overrun::Limit(n) => too_large(n),
                        Overrun::Piece(n) => Error::new(
                            ErrorCode::InvalidInputData,
                            format!(
                                "The piece holds more than the {n} bytes its Content-Range names"
                            ),
                        ),
                    });
                }
                buf.extend_from_slice(&bytes[..take]);
                bytes = &bytes[take..];
                if buf.len() == MAX_BODY_CHUNK {
                    let n = buf.len() as u64;
                    flush(&mut buf, start + written).await?;
                    written += n;
                }
            }
        }
        if !buf.is_empty() {
            let n = buf.len() as u64;
            flush(&mut buf, start + written).await?;
            written += n;
        }
        Ok(written)
    }

    /// `PUT …/body`: the whole body in one request. The body becomes the object's only once
    /// all of it is stored; until then (and if it fails) the previous one stays.
    #[allow(clippy::too_many_arguments)]
    pub async fn upload_body<S, B, E>(
        &self,
        caller: &Caller,
        path: &BucketPath,
        object_id: &str,
        content_type: Option<&str>,
        declared_length: Option<u64>,
        limit: u64,
        data: S,
    ) -> Result<BodyInfo>
    where
        S: Stream<Item = std::result::Result<B, E>> + Unpin + Send,
        B: AsRef<[u8]> + Send,
    {
        let bucket = self.writable_object(caller, path, object_id).await?;
        let content_type = content_type.ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidInputData,
                "Content-Type is required: it is the body's type when it is downloaded",
            )
            .with("field", "Content-Type")
        })?;
        check_content_type(content_type)?;
        if declared_length.is_some_and(|n| n > limit) {
            return Err(too_large(limit));
        }
        let app = &caller.app.id;
        let upload = ids::upload_id();
        if !self
            .storage
            .start_body_upload(&bucket, object_id, &upload, now_ms())
            .await?
        {
            return Err(object_not_found());
        }
        let outcome = async {
            self.storage
                .shape_body_upload(app, &upload, Some(content_type), None)
                .await?;
            self.write_chunks(app, &upload, 0, Overrun::Limit(limit), data)
                .await?;
            match self
                .storage
                .commit_body_upload(&bucket, object_id, &upload, now_ms())
                .await?
            {
                BodyCommit::Done(info) => Ok(info),
                BodyCommit::NoUpload => Err(object_not_found()),
                BodyCommit::Incomplete { .. } => Err(Error::new(
                    ErrorCode::InternalError,
                    "The stored body has a gap",
                )),
            }
        }
        .await;
        if outcome.is_err() {
            // Best effort: an upload that is never committed is invisible, and goes with its
            // object at the latest.
            let _ = self.storage.cancel_body_upload(app, &upload).await;
        }
        outcome
    }

    /// `POST …/body/uploads`: starts an upload in pieces.
    pub async fn start_body_upload(
        &self,
        caller: &Caller,
        path: &BucketPath,
        object_id: &str,
    ) -> Result<String> {
        let bucket = self.writable_object(caller, path, object_id).await?;
        let upload = ids::upload_id();
        if !self
            .storage
            .start_body_upload(&bucket, object_id, &upload, now_ms())
            .await?
        {
            return Err(object_not_found());
        }
        Ok(upload)
    }

    /// `PUT …/body/uploads/{id}/data`: one piece. Pieces come in order (each starts where the
    /// stored ones end), all naming the same total; a piece that overlaps what is stored, skips
    /// ahead or leaves its range is refused, and a piece that fails leaves nothing behind.
    #[allow(clippy::too_many_arguments)]
    pub async fn upload_piece<S, B, E>(
        &self,
        caller: &Caller,
        path: &BucketPath,
        object_id: &str,
        upload_id: &str,
        content_type: Option<&str>,
        range: PieceRange,
        limit: u64,
        data: S,
    ) -> Result<()>
    where
        S: Stream<Item = std::result::Result<B, E>> + Unpin + Send,
        B: AsRef<[u8]> + Send,
    {
        let bucket = self.writable_object(caller, path, object_id).await?;
        if let Some(ct) = content_type {
            check_content_type(ct)?;
        }
        let upload = self
            .storage
            .get_body_upload(&bucket, object_id, upload_id)
            .await?
            .ok_or_else(upload_not_found)?;
        if range.total > limit {
            return Err(too_large(limit));
        }
        if range.start > range.end || range.end >= range.total {
            return Err(not_satisfiable(format!(
                "bytes {}-{} are not within a body of {} bytes",
                range.start, range.end, range.total
            )));
        }
        if let Some(total) = upload.total.filter(|&t| t as u64 != range.total) {
            return Err(not_satisfiable(format!(
                "The upload's earlier pieces named a total of {total} bytes, not {}",
                range.total
            )));
        }
        let stored = upload.pieces.last().map_or(0, |&(s, l)| (s + l) as u64);
        if range.start != stored {
            return Err(not_satisfiable(format!(
                "Pieces come in order: the upload holds bytes up to {stored}, so the next \
                 piece starts there, not at {}",
                range.start
            ))
            .with("receivedBytes", stored));
        }
        let app = &caller.app.id;
        self.storage
            .shape_body_upload(app, upload_id, content_type, Some(range.total as i64))
            .await?;
        let want = range.end - range.start + 1;
        let written = self
            .write_chunks(app, upload_id, range.start, Overrun::Piece(want), data)
            .await;
        let outcome = match written {
            Ok(n) if n == want => Ok(()),
            Ok(n) => Err(Error::new(
                ErrorCode::InvalidInputData,
                format!("The piece holds {n} bytes, but its Content-Range names {want}"),
            )),
            Err(e) => Err(e),
        };
        if outcome.is_err() {
            let _ = self
                .storage
                .drop_body_chunks(app, upload_id, range.start as i64, (range.end + 1) as i64)
                .await;
        }
        outcome
    }

    /// `POST …/body/uploads/{id}/status/committed`.
    pub async fn commit_body_upload(
        &self,
        caller: &Caller,
        path: &BucketPath,
        object_id: &str,
        upload_id: &str,
    ) -> Result<BodyInfo> {
        let bucket = self.writable_object(caller, path, object_id).await?;
        match self
            .storage
            .commit_body_upload(&bucket, object_id, upload_id, now_ms())
            .await?
        {
            BodyCommit::Done(info) => Ok(info),
            BodyCommit::NoUpload => Err(upload_not_found()),
            BodyCommit::Incomplete { received, total } => {
                let mut e = Error::new(
                    ErrorCode::ObjectBodyIntegrityNotAssured,
                    match total {
                        Some(t) => format!("The upload holds {received} of its {t} bytes"),
                        None => "The upload holds no data".to_owned(),
                    },
                )
                .with("receivedBytes", received);
                if let Some(t) = total {
                    e = e.with("totalBytes", t);
                }
                Err(e)
            }
        }
    }

    /// `POST …/body/uploads/{id}/status/cancelled`.
    pub async fn cancel_body_upload(
        &self,
        caller: &Caller,
        path: &BucketPath,
        object_id: &str,
        upload_id: &str,
    ) -> Result<()> {
        let bucket = self.writable_object(caller, path, object_id).await?;
        self.storage
            .get_body_upload(&bucket, object_id, upload_id)
            .await?
            .ok_or_else(upload_not_found)?;
        if !self
            .storage
            .cancel_body_upload(&caller.app.id, upload_id)
            .await?
        {
            return Err(upload_not_found());
        }
        Ok(())
    }

    /// `DELETE …/body`.
    pub async fn delete_body(
        &self,
        caller: &Caller,
        path: &BucketPath,
        object_id: &str,
    ) -> Result<()> {
        let bucket = self.writable_object(caller, path, object_id).await?;
        if !self.storage.delete_body(&bucket, object_id).await? {
            return Err(body_not_found());
        }
        Ok(())
    }

    /// `POST …/body/publish`: a publication ID for the body, valid until `expires_at` (never
    /// expiring when `None`). Publishing exposes the body to anyone with the URL, so it takes
    /// the right to write the object.
    pub async fn publish_body(
        &self,
        caller: &Caller,
        path: &BucketPath,
        object_id: &str,
        expires_at: Option<i64>,
    ) -> Result<String> {
        let bucket = self.writable_object(caller, path, object_id).await?;
        let id = ids::publication_id();
        if !self
            .storage
            .publish_body(&bucket, object_id, &id, expires_at, now_ms())
            .await?
        {
            return Err(body_not_found());
        }
        Ok(id)
    }

    /// A published body by its publication ID, for anyone: (app ID, body).
    pub async fn published_body(&self, publication_id: &str) -> Result<(String, BodyInfo)> {
        let not_found = || {
            Error::new(
                ErrorCode::PublicationNotFound,
                "No body is published under this URL",
            )
        };
        if publication_id.len() > 64 || !publication_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(not_found());
        }
        let p = self
            .storage
            .published_body(publication_id)
            .await?
            .ok_or_else(not_found)?;
        if p.expires_at.is_some_and(|t| t <= now_ms()) {
            return Err(Error::new(
                ErrorCode::PublicationExpired,
                "The publication of this body has expired",
            ));
        }
        Ok((p.app_id, p.body.ok_or_else(body_not_found)?))
    }
}

/// The bytes `from..to` of a stored body, fetched a few chunks at a time as the response is
/// sent. A chunk that is gone (the body was replaced or deleted meanwhile) ends the stream
/// with an error, so the client sees a broken transfer, never a mix of two bodies.
pub fn body_stream(
    storage: Arc<dyn Storage>,
    app_id: String,
    upload_id: String,
    from: u64,
    to: u64,
) -> impl Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static {
    futures_util::stream::unfold(
        (storage, app_id, upload_id, from, Vec::<Vec<u8>>::new()),
        move |(storage, app, upload, pos, mut ready)| async move {
            if let Some(next) = ready.pop() {
                return Some((Ok(next), (storage, app, upload, pos, ready)));
            }
            if pos >= to {
                return None;
            }
            let chunks = match storage
                .read_body_chunks(&app, &upload, pos as i64, to as i64, CHUNKS_PER_READ)
                .await
            {
                Ok(c) => c,
                Err(e) => {
                    let err = std::io::Error::other(e.to_string());
                    return Some((Err(err), (storage, app, upload, to, ready)));
                }
            };
            let mut at = pos;
            let mut out = Vec::new();
            for c in chunks {
                let (start, len) = (c.start as u64, c.data.len() as u64);
                if start > at || start + len <= at {
                    break;
                }
                let lo = (at - start) as usize;
                let hi = ((to.min(start + len)) - start) as usize;
                let mut data = c.data;
                data.truncate(hi);
                if lo > 0 {
                    data.drain(..lo);
                }
                at = start + hi as u64;
                out.push(data);
            }
            if out.is_empty() {
                let err = std::io::Error::other("the body changed while it was being read");
                return Some((Err(err), (storage, app, upload, to, ready)));
            }
            out.reverse();
            let first = out.pop().expect("not empty");
            Some((Ok(first), (storage, app, upload, at, out)))
        },
    )
}
