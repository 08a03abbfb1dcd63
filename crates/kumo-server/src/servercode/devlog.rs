//! The developer log: records queued by requests and runs, written in batches by one task, and
//! kept within a size and age budget per app.
//!
//! Writing one row per record from the request path would make every server-code call a
//! database write; batching turns thousands of records a second into a few transactions. The
//! queue is bounded: when the database cannot keep up, records are dropped (and counted in the
//! server log) rather than slowing runs down.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kumo_storage::{DevLogLevel, DevLogRecord, NewDevLogRecord, Storage};
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

/// Records waiting to be written, across all apps.
const QUEUE: usize = 65_536;
/// Records written per transaction at most.
const BATCH: usize = 4096;
/// How long records wait in memory before they are written.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(50);
/// An app's log is trimmed after this many bytes were appended to it (or a quarter of its
/// budget, if that is less).
const TRIM_EVERY_BYTES: i64 = 4 << 20;

#[derive(Debug, Clone)]
pub struct DevLogConfig {
    /// Per app; the oldest records are dropped first.
    pub max_bytes: i64,
    pub max_age: Duration,
}

impl Default for DevLogConfig {
    fn default() -> Self {
        DevLogConfig {
            max_bytes: 16 << 20,
            max_age: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

#[derive(Clone)]
pub struct DevLog {
    sender: mpsc::Sender<(String, NewDevLogRecord)>,
    flushes: mpsc::Sender<tokio::sync::oneshot::Sender<()>>,
}

impl DevLog {
    /// Starts the writer task on the current runtime.
    pub fn start(storage: Arc<dyn Storage>, config: DevLogConfig) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let (flushes, flush_requests) = mpsc::channel(8);
        tokio::spawn(write_loop(storage, config, receiver, flush_requests));
        DevLog { sender, flushes }
    }

    /// Writes everything queued so far (at shutdown, before the database closes).
    pub async fn flush(&self) {
        let (done, written) = tokio::sync::oneshot::channel();
        if self.flushes.send(done).await.is_ok() {
            let _ = written.await;
        }
    }

    pub fn push(&self, app_id: &str, record: NewDevLogRecord) {
        if self.sender.try_send((app_id.to_owned(), record)).is_err() {
            tracing::warn!(app = app_id, "developer log queue full; record dropped");
        }
    }
}

async fn write_loop(
    storage: Arc<dyn Storage>,
    config: DevLogConfig,
    mut receiver: mpsc::Receiver<(String, NewDevLogRecord)>,
    mut flush_requests: mpsc::Receiver<tokio::sync::oneshot::Sender<()>>,
) {
    let mut appended: HashMap<String, i64> = HashMap::new();
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        // Collect for a moment rather than waking per record: under load that is one write
        // per tick instead of a thread wake-up per run.
        let mut flushed = None;
        tokio::select! {
            n = receiver.recv_many(&mut batch, BATCH) => {
                if n == 0 {
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep(FLUSH_EVERY) => {}
                    Some(reply) = flush_requests.recv() => flushed = Some(reply),
                }
            }
            Some(reply) = flush_requests.recv() => flushed = Some(reply),
        }
        // A flush takes everything queued; a tick at most one batch.
        while flushed.is_some() || batch.len() < BATCH {
            match receiver.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let mut by_app: HashMap<String, Vec<NewDevLogRecord>> = HashMap::new();
        for (app, record) in batch.drain(..) {
            by_app.entry(app).or_default().push(record);
        }
        for (app, records) in by_app {
            let bytes = match storage.append_dev_logs(&app, &records).await {
                Ok(bytes) => bytes,
                Err(e) => {
                    tracing::warn!(app, error = %e, dropped = records.len(), "developer log write failed");
                    continue;
                }
            };
            let total = appended.entry(app.clone()).or_default();
            *total += bytes;
            if *total >= TRIM_EVERY_BYTES.min(config.max_bytes / 4).max(1) {
                *total = 0;
                let oldest = kumo_types::now_ms() - config.max_age.as_millis() as i64;
                if let Err(e) = storage.trim_dev_logs(&app, config.max_bytes, oldest).await {
                    tracing::warn!(app, error = %e, "developer log trim failed");
                }
            }
        }
        if let Some(reply) = flushed {
            let _ = reply.send(());
        }
    }
}

/// A record stamped now.
pub fn record(
    level: DevLogLevel,
    key: &str,
    user_id: Option<&str>,
    fields: Map<String, Value>,
) -> NewDevLogRecord {
    record_at(kumo_types::now_ms(), level, key, user_id, fields)
}

/// A record, its fields written as JSON here, on the thread that made it.
pub fn record_at(
    time_ms: i64,
    level: DevLogLevel,
    key: &str,
    user_id: Option<&str>,
    fields: Map<String, Value>,
) -> NewDevLogRecord {
    NewDevLogRecord::new(time_ms, level, key, user_id, &fields)
}

/// The wire shape of a record (Kii's developer-log JSON): fixed keys, then the record's fields.
pub fn wire(app_id: &str, record: &DevLogRecord) -> Value {
    let mut out = Map::new();
    out.insert("_id".into(), json!(record.seq.to_string()));
    out.insert("appID".into(), json!(app_id));
    out.insert("key".into(), json!(record.key));
    out.insert("level".into(), json!(record.level.as_str()));
    out.insert("time".into(), json!(iso_time(record.time_ms)));
    if let Some(user) = &record.user_id {
        out.insert("userID".into(), json!(user));
    }
    for (key, value) in &record.fields {
        out.entry(key.clone()).or_insert_with(|| value.clone());
    }
    Value::Object(out)
}

/// `2015-01-08T23:14:52.229Z`.
pub fn iso_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_render_like_kii() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_time(1_420_758_892_229), "2015-01-08T23:14:52.229Z");
        assert_eq!(iso_time(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
