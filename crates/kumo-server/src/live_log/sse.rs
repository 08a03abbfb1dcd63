//! `GET /apps/{app}/developer-log/stream` (app admin): the log as Server-Sent Events.
//!
//! Each record is one event: `id: <_id>`, `event: log`, `data: <its wire JSON on one line>`
//! (exactly a record of `GET …/developer-log`). `level` and `userID` filter as there;
//! `after=<_id>` or the `Last-Event-ID` header (which wins) resume right after that record,
//! and without either the stream carries what is written after it opened. A `: keep-alive`
//! comment goes out at once and whenever the stream was silent for the keep-alive interval.
//! Every refusal (credentials, parameters, the caps) is a Kii error in JSON, before any event.

use std::collections::HashMap;
use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use kumo_storage::{DevLogFilter, DevLogLevel, DevLogRecord};
use kumo_types::ApiError;

use super::{Step, Tail};
use crate::auth::Caller;
use crate::error::Result;
use crate::servercode::devlog;
use crate::AppState;

const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";
const SHUTTING_DOWN: &[u8] = b": the server is shutting down\n\n";

pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response> {
    if !caller.is_admin() {
        return Err(caller.unauthorized("Reading the developer log needs an app-admin token"));
    }
    let filter = filter(&query)?;
    let after = match headers.get("last-event-id") {
        Some(v) if !v.as_bytes().is_empty() => Some(record_id(
            "Last-Event-ID",
            v.to_str().unwrap_or("not text"),
        )?),
        _ => query
            .get("after")
            .map(|v| record_id("after", v))
            .transpose()?,
    };
    let tail = state.live_log.tail(&caller.app.id, filter, after).await?;
    let mut res = Response::new(Body::from_stream(events(tail)));
    *res.status_mut() = StatusCode::OK;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Reverse proxies that buffer responses (nginx) would hold the events back.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(res)
}

/// `level` (that level and the more severe) and `userID`, as `GET …/developer-log` takes them.
fn filter(query: &HashMap<String, String>) -> Result<DevLogFilter> {
    let min_level = query
        .get("level")
        .map(|v| {
            DevLogLevel::parse(v).ok_or_else(|| {
                ApiError::invalid_field("level", "level must be DEBUG, INFO, WARN or ERROR")
            })
        })
        .transpose()?;
    Ok(DevLogFilter {
        min_level,
        user_id: query.get("userID").cloned(),
        ..DevLogFilter::default()
    })
}

/// A record's `_id` (a non-negative integer).
fn record_id(name: &str, value: &str) -> Result<i64> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id >= 0)
        .ok_or_else(|| {
            ApiError::invalid_field(name, format!("{name} must be a record's _id")).into()
        })
}

/// The body: a keep-alive at once (so the client sees the stream open), then events as the
/// tail brings them. Dropped with the connection, and the tail with it.
fn events(tail: Tail) -> impl futures_util::Stream<Item = std::result::Result<Bytes, Infallible>> {
    let first = futures_util::stream::iter([Ok(Bytes::from_static(KEEP_ALIVE))]);
    let rest = futures_util::stream::unfold(Some(tail), |tail| async move {
        let mut tail = tail?;
        let chunk = match tail.next().await {
            Step::Records(records) => Bytes::from(render(tail.app_id(), &records)),
            Step::Idle => Bytes::from_static(KEEP_ALIVE),
            Step::Closed => return Some((Ok(Bytes::from_static(SHUTTING_DOWN)), None)),
        };
        Some((Ok(chunk), Some(tail)))
    });
    futures_util::StreamExt::chain(first, rest)
}

/// `records` as events, one after the other.
fn render(app_id: &str, records: &[DevLogRecord]) -> String {
    let mut out = String::new();
    for record in records {
        // serde_json writes no raw line breaks (they are escaped inside strings), so the
        // record stays on its one `data:` line.
        let data = devlog::wire(app_id, record).to_string();
        out.push_str("id: ");
        out.push_str(&record.seq.to_string());
        out.push_str("\nevent: log\ndata: ");
        out.push_str(&data);
        out.push_str("\n\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_one_event_on_three_lines() {
        let mut fields = serde_json::Map::new();
        fields.insert("description".into(), "two\nlines\r\u{2028}".into());
        let record = DevLogRecord {
            seq: 8195,
            time_ms: 0,
            level: DevLogLevel::Info,
            key: "servercode.log".into(),
            user_id: None,
            fields,
        };
        let text = render("a1", &[record.clone(), record]);
        let events: Vec<&str> = text.split_terminator("\n\n").collect();
        assert_eq!(events.len(), 2);
        for event in events {
            let lines: Vec<&str> = event.split('\n').collect();
            assert_eq!(lines[0], "id: 8195");
            assert_eq!(lines[1], "event: log");
            let data: serde_json::Value =
                serde_json::from_str(lines[2].strip_prefix("data: ").unwrap()).unwrap();
            assert_eq!(data["description"], "two\nlines\r\u{2028}");
            assert_eq!(data["_id"], "8195");
            assert!(!lines[2].contains('\r'));
        }
    }

    #[test]
    fn record_ids_are_non_negative_integers() {
        assert_eq!(record_id("after", " 42 ").unwrap(), 42);
        for bad in ["-1", "x", "", "1.5", "99999999999999999999"] {
            assert!(record_id("after", bad).is_err(), "{bad}");
        }
    }
}
