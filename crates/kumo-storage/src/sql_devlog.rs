//! The developer log, for [`SqlStore`]: records are stored in chunks, one row per burst.
//!
//! Under load a busy app writes thousands of records a second and its budget (16 MB by default)
//! holds only seconds of them, so every record is soon written and deleted again. As one row
//! each, with its indexes, that cost more CPU than the runs that made the records. A chunk is
//! one row holding a burst as a JSON array: appending a burst is one insert, and trimming the
//! oldest records deletes whole chunks (by age, the chunk that straddles the limit is
//! rewritten without its old records).
//!
//! A record's `seq` is `chunk id * SEQ_STRIDE + its index in the burst`. Chunk ids only grow,
//! and a rewritten chunk keeps its records' indexes, so a record's `seq` never changes and
//! orders records as they were appended.
//!
//! Live tails follow an app's log by `seq`: each step reads the chunks after its cursor. That
//! needs an app's chunks to become visible in id order, which SQLite's single writer gives by
//! itself and PostgreSQL gets from a per-app advisory lock held from the insert to the commit
//! (appends of one app are a few a second per node, each a millisecond or two long). Each
//! append announces itself (`invalidation.rs`) so tails wake at once rather than poll.

use serde_json::{Map, Value};
use sqlx::Row;

use crate::dialect::Dialect;
use crate::invalidation::notify_dev_log;
use crate::sql::SqlStore;
use crate::tx::in_transaction;
use crate::{
    DevLogFilter, DevLogNews, DevLogPage, DevLogRecord, NewDevLogRecord, Result, StorageError,
};

/// Records per chunk at most (a longer burst is split).
const CHUNK_RECORDS: usize = 4096;
/// Room for one chunk's indexes in a record's `seq`.
const SEQ_STRIDE: i64 = CHUNK_RECORDS as i64;
/// Chunks read per step, newest first, while collecting the records a query asks for.
const QUERY_PAGE: i64 = 8;
/// Chunks read per step while finding how many old ones to drop.
const TRIM_PAGE: i64 = 1_000;
/// Chunks read per step of a live tail (a bound on what one step holds in memory).
const TAIL_PAGE: i64 = 4;
/// The first key of the advisory lock an append holds on PostgreSQL (the second is the app's).
const APPEND_LOCK_CLASS: i32 = 0x6b_75_6d_6f; // "kumo"

/// The largest `seq` a record of chunk `id` can have.
fn chunk_end(id: i64) -> i64 {
    id * SEQ_STRIDE + SEQ_STRIDE - 1
}

/// A burst encoded for one chunk row.
struct Chunk {
    body: String,
    records: i64,
    bytes: i64,
    first_time_ms: i64,
    last_time_ms: i64,
}

/// What a record counts against its app's log budget: its fields' JSON, its key and a fixed
/// allowance for the rest.
fn record_bytes(key: &str, fields_json_len: usize) -> i64 {
    (fields_json_len + key.len() + 64) as i64
}

/// Encodes `(index, record)` pairs as `[[index, time_ms, level, key, user_id, fields], …]`.
fn encode<'a>(entries: impl Iterator<Item = (i64, &'a NewDevLogRecord)>) -> Result<Chunk> {
    let mut chunk = Chunk {
        body: String::from("["),
        records: 0,
        bytes: 0,
        first_time_ms: i64::MAX,
        last_time_ms: i64::MIN,
    };
    let unwritable =
        |e: serde_json::Error| StorageError::Backend(format!("developer-log record: {e}"));
    for (index, record) in entries {
        if chunk.records > 0 {
            chunk.body.push(',');
        }
        let head = (
            index,
            record.time_ms,
            record.level as i64,
            &record.key,
            &record.user_id,
        );
        let head = serde_json::to_string(&head).map_err(unwritable)?;
        // The head's closing bracket makes room for the fields.
        chunk.body.push_str(&head[..head.len() - 1]);
        chunk.body.push(',');
        chunk.body.push_str(record.fields_json());
        chunk.bytes += record_bytes(&record.key, record.fields_json().len());
        chunk.body.push(']');
        chunk.records += 1;
        chunk.first_time_ms = chunk.first_time_ms.min(record.time_ms);
        chunk.last_time_ms = chunk.last_time_ms.max(record.time_ms);
    }
    chunk.body.push(']');
    Ok(chunk)
}

/// The records of chunk `id`, in the order they were appended, with their `seq`.
fn decode(id: i64, body: &str) -> Result<Vec<DevLogRecord>> {
    type Entry = (i64, i64, i64, String, Option<String>, Map<String, Value>);
    let entries: Vec<Entry> = serde_json::from_str(body)
        .map_err(|e| StorageError::Backend(format!("corrupt developer-log chunk {id}: {e}")))?;
    Ok(entries
        .into_iter()
        .map(
            |(index, time_ms, level, key, user_id, fields)| DevLogRecord {
                seq: id * SEQ_STRIDE + index,
                time_ms,
                level: DevLogRecord::level_from_rank(level),
                key,
                user_id,
                fields,
            },
        )
        .collect())
}

/// Whether `record` passes `filter` (the limit aside).
fn matches(record: &DevLogRecord, filter: &DevLogFilter) -> bool {
    filter.min_level.is_none_or(|min| record.level >= min)
        && filter.since_ms.is_none_or(|since| record.time_ms >= since)
        && filter.until_ms.is_none_or(|until| record.time_ms <= until)
        && filter
            .user_id
            .as_deref()
            .is_none_or(|user| record.user_id.as_deref() == Some(user))
}

/// Whether a chunk's raw body can be skipped without decoding: it cannot hold a record of
/// `user` if the user's ID, which JSON writes unescaped, is not in it.
fn cannot_hold_user(body: &str, user: &str) -> bool {
    let plain = user
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.:@".contains(&b));
    plain && !body.contains(&format!("\"{user}\""))
}

impl SqlStore {
    pub(crate) async fn do_append_dev_logs(
        &self,
        app_id: &str,
        records: &[NewDevLogRecord],
    ) -> Result<i64> {
        let chunks = records
            .chunks(CHUNK_RECORDS)
            .map(|burst| encode(burst.iter().enumerate().map(|(i, r)| (i as i64, r))))
            .collect::<Result<Vec<_>>>()?;
        if chunks.is_empty() {
            return Ok(0);
        }
        let postgres = self.dialect() == Dialect::Postgres;
        let (bytes, last_seq) = in_transaction(&self.write, async |tx| {
            if postgres {
                // Ids come from one sequence, drawn at insert time, but transactions commit
                // in any order: without this lock a tail could see chunk 11 before chunk 10
                // commits, and pass 10 by. Held to the commit, it makes an app's chunks
                // visible in id order (SQLite's single writer does the same by itself).
                sqlx::query(
                    "SELECT COUNT(*) FROM (SELECT pg_advisory_xact_lock($1, hashtext($2))) AS l",
                )
                .bind(APPEND_LOCK_CLASS)
                .bind(app_id)
                .execute(&mut *tx)
                .await?;
            }
            let mut bytes = 0;
            let mut last_id = 0;
            for chunk in &chunks {
                last_id = sqlx::query(
                    "INSERT INTO dev_log_chunks \
                     (app_id, first_time_ms, last_time_ms, records, bytes, body) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(app_id)
                .bind(chunk.first_time_ms)
                .bind(chunk.last_time_ms)
                .bind(chunk.records)
                .bind(chunk.bytes)
                .bind(chunk.body.as_str())
                .fetch_one(&mut *tx)
                .await?
                .try_get::<i64, _>(0)?;
                bytes += chunk.bytes;
            }
            let last_seq = last_id * SEQ_STRIDE + chunks.last().map_or(0, |c| c.records - 1);
            if postgres {
                notify_dev_log(tx, app_id, last_seq).await?;
            }
            Ok((bytes, last_seq))
        })
        .await?;
        if !postgres {
            self.announce_dev_log(DevLogNews::Appended {
                app_id: app_id.to_owned(),
                last_seq,
            });
        }
        Ok(bytes)
    }

    pub(crate) async fn do_dev_log_end(&self, app_id: &str) -> Result<i64> {
        let last: Option<i64> = sqlx::query("SELECT MAX(id) FROM dev_log_chunks WHERE app_id = $1")
            .bind(app_id)
            .fetch_one(&mut *self.read.get().await?)
            .await?
            .try_get(0)?;
        Ok(last.map_or(-1, chunk_end))
    }

    pub(crate) async fn do_dev_logs_after(
        &self,
        app_id: &str,
        after: i64,
        filter: &DevLogFilter,
    ) -> Result<DevLogPage> {
        // The chunk that holds `after + 1`, and those after it.
        let first_chunk = after.saturating_add(1).max(0) / SEQ_STRIDE;
        let rows = sqlx::query(
            "SELECT id, body FROM dev_log_chunks WHERE app_id = $1 AND id >= $2 \
             ORDER BY id LIMIT $3",
        )
        .bind(app_id)
        .bind(first_chunk)
        .bind(TAIL_PAGE)
        .fetch_all(&mut *self.read.get().await?)
        .await?;
        let mut page = DevLogPage {
            records: Vec::new(),
            cursor: after,
            more: rows.len() as i64 == TAIL_PAGE,
        };
        for row in &rows {
            let id: i64 = row.try_get(0)?;
            let body: String = row.try_get(1)?;
            // A chunk never grows once written, so all of it has now been looked at.
            page.cursor = page.cursor.max(chunk_end(id));
            if let Some(user) = &filter.user_id {
                if cannot_hold_user(&body, user) {
                    continue;
                }
            }
            page.records.extend(
                decode(id, &body)?
                    .into_iter()
                    .filter(|r| r.seq > after && matches(r, filter)),
            );
        }
        Ok(page)
    }

    pub(crate) async fn do_query_dev_logs(
        &self,
        app_id: &str,
        filter: &DevLogFilter,
    ) -> Result<Vec<DevLogRecord>> {
        let limit = usize::try_from(filter.limit).unwrap_or(0);
        let mut found = Vec::new();
        let mut before = i64::MAX;
        while found.len() < limit {
            let rows = sqlx::query(
                "SELECT id, body FROM dev_log_chunks \
                 WHERE app_id = $1 AND id < $2 AND last_time_ms >= $3 AND first_time_ms <= $4 \
                 ORDER BY id DESC LIMIT $5",
            )
            .bind(app_id)
            .bind(before)
            .bind(filter.since_ms.unwrap_or(i64::MIN))
            .bind(filter.until_ms.unwrap_or(i64::MAX))
            .bind(QUERY_PAGE)
            .fetch_all(&mut *self.read.get().await?)
            .await?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let id: i64 = row.try_get(0)?;
                let body: String = row.try_get(1)?;
                before = id;
                if let Some(user) = &filter.user_id {
                    if cannot_hold_user(&body, user) {
                        continue;
                    }
                }
                let newest_first = decode(id, &body)?.into_iter().rev();
                found.extend(newest_first.filter(|r| matches(r, filter)));
                if found.len() >= limit {
                    break;
                }
            }
        }
        found.truncate(limit);
        found.reverse();
        Ok(found)
    }

    /// Drops records older than `min_time_ms`, then the oldest ones until the app's log holds
    /// at most `max_bytes`. Returns how many were dropped.
    pub(crate) async fn do_trim_dev_logs(
        &self,
        app_id: &str,
        max_bytes: i64,
        min_time_ms: i64,
    ) -> Result<u64> {
        let mut dropped = self.drop_aged_dev_logs(app_id, min_time_ms).await?;
        let total: i64 = sqlx::query(
            "SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) FROM dev_log_chunks WHERE app_id = $1",
        )
        .bind(app_id)
        .fetch_one(&mut *self.read.get().await?)
        .await?
        .try_get(0)?;
        let mut excess = total - max_bytes;
        // Whole chunks go, oldest first, until the rest fits: the last one may take up to a
        // burst more than strictly needed, which spares decoding and rewriting a chunk (as
        // large as a busy second's fiftieth) several times a second under load.
        let mut after = i64::MIN;
        let mut cut = None;
        'walk: while excess > 0 {
            let rows = sqlx::query(
                "SELECT id, bytes, records FROM dev_log_chunks WHERE app_id = $1 AND id > $2 \
                 ORDER BY id LIMIT $3",
            )
            .bind(app_id)
            .bind(after)
            .bind(TRIM_PAGE)
            .fetch_all(&mut *self.read.get().await?)
            .await?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let id: i64 = row.try_get(0)?;
                let bytes: i64 = row.try_get(1)?;
                let records: i64 = row.try_get(2)?;
                after = id;
                excess -= bytes;
                cut = Some(id);
                dropped += records as u64;
                if excess <= 0 {
                    break 'walk;
                }
            }
        }
        if let Some(cut) = cut {
            sqlx::query("DELETE FROM dev_log_chunks WHERE app_id = $1 AND id <= $2")
                .bind(app_id)
                .bind(cut)
                .execute(&mut *self.write.get().await?)
                .await?;
        }
        Ok(dropped)
    }

    /// Drops the records older than `min_time_ms`: whole chunks when all of theirs are, else
    /// the chunk is rewritten without them.
    async fn drop_aged_dev_logs(&self, app_id: &str, min_time_ms: i64) -> Result<u64> {
        let gone = sqlx::query(
            "DELETE FROM dev_log_chunks WHERE app_id = $1 AND last_time_ms < $2 RETURNING records",
        )
        .bind(app_id)
        .bind(min_time_ms)
        .fetch_all(&mut *self.write.get().await?)
        .await?;
        let mut dropped = 0;
        for row in &gone {
            dropped += row.try_get::<i64, _>(0)? as u64;
        }
        let straddling = sqlx::query(
            "SELECT id, body FROM dev_log_chunks WHERE app_id = $1 AND first_time_ms < $2",
        )
        .bind(app_id)
        .bind(min_time_ms)
        .fetch_all(&mut *self.read.get().await?)
        .await?;
        for row in &straddling {
            let id: i64 = row.try_get(0)?;
            let mut records = decode(id, &row.try_get::<String, _>(1)?)?;
            let before = records.len();
            records.retain(|r| r.time_ms >= min_time_ms);
            dropped += (before - records.len()) as u64;
            self.rewrite_chunk(id, &records).await?;
        }
        Ok(dropped)
    }

    /// Replaces chunk `id` with `records` (taken from it, so they keep their `seq`), or
    /// deletes it when none are left.
    async fn rewrite_chunk(&self, id: i64, records: &[DevLogRecord]) -> Result<()> {
        let mut conn = self.write.get().await?;
        if records.is_empty() {
            sqlx::query("DELETE FROM dev_log_chunks WHERE id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            return Ok(());
        }
        let kept: Vec<_> = records
            .iter()
            .map(|r| (r.seq - id * SEQ_STRIDE, NewDevLogRecord::from(r)))
            .collect();
        let chunk = encode(kept.iter().map(|(index, r)| (*index, r)))?;
        sqlx::query(
            "UPDATE dev_log_chunks SET first_time_ms = $1, last_time_ms = $2, records = $3, \
             bytes = $4, body = $5 WHERE id = $6",
        )
        .bind(chunk.first_time_ms)
        .bind(chunk.last_time_ms)
        .bind(chunk.records)
        .bind(chunk.bytes)
        .bind(chunk.body)
        .bind(id)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DevLogLevel;

    fn record(time_ms: i64, user: Option<&str>, message: &str) -> DevLogRecord {
        let mut fields = Map::new();
        fields.insert("description".into(), Value::from(message));
        DevLogRecord {
            seq: 0,
            time_ms,
            level: DevLogLevel::Warn,
            key: "servercode.log".into(),
            user_id: user.map(str::to_owned),
            fields,
        }
    }

    #[test]
    fn a_chunk_decodes_to_what_was_encoded() {
        let records = [
            record(5, Some("u1"), "a \"quoted\" line\nand \u{e9}"),
            record(3, None, ""),
        ];
        let new: Vec<NewDevLogRecord> = records.iter().map(NewDevLogRecord::from).collect();
        let chunk = encode(new.iter().enumerate().map(|(i, r)| (i as i64 + 7, r))).unwrap();
        assert_eq!((chunk.first_time_ms, chunk.last_time_ms), (3, 5));
        assert_eq!(chunk.records, 2);
        let decoded = decode(2, &chunk.body).unwrap();
        assert_eq!(decoded.len(), 2);
        for (i, (got, sent)) in decoded.iter().zip(&records).enumerate() {
            assert_eq!(got.seq, 2 * SEQ_STRIDE + 7 + i as i64);
            assert_eq!(
                (got.time_ms, got.level, &got.key, &got.user_id, &got.fields),
                (
                    sent.time_ms,
                    sent.level,
                    &sent.key,
                    &sent.user_id,
                    &sent.fields
                )
            );
        }
        let fields_len = |r: &DevLogRecord| serde_json::to_string(&r.fields).unwrap().len();
        assert_eq!(
            chunk.bytes,
            records
                .iter()
                .map(|r| record_bytes(&r.key, fields_len(r)))
                .sum::<i64>()
        );
    }

    #[test]
    fn a_corrupt_chunk_is_a_backend_error_naming_it() {
        for body in [
            "not json",
            "[[1, 2]]",
            "[[0, 1, 2, \"k\", null, \"not an object\"]]",
        ] {
            match decode(7, body) {
                Err(StorageError::Backend(message)) => {
                    assert!(message.contains("chunk 7"), "{message}")
                }
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn user_prefilter_never_skips_a_chunk_that_holds_the_user() {
        let one = NewDevLogRecord::from(&record(1, Some("u-1.x"), "hi"));
        let chunk = encode([(0, &one)].into_iter()).unwrap();
        assert!(!cannot_hold_user(&chunk.body, "u-1.x"));
        assert!(cannot_hold_user(&chunk.body, "u-2"));
        // IDs JSON might escape are never judged from the raw text.
        assert!(!cannot_hold_user(&chunk.body, "a\"b"));
        // A user named like a field value still needs decoding, which the filter then rejects.
        assert!(!cannot_hold_user(&chunk.body, "servercode.log"));
    }
}
