//! `kumo logs -t`: the live developer log over Server-Sent Events
//! (`GET /apps/{app}/developer-log/stream?level=&userID=&after=`, admin). Each record is an
//! event `id: <_id>`, `event: log`, `data: <record>`; idle streams carry `: keep-alive`
//! comments. A dropped connection is reopened with `Last-Event-ID` after a growing pause, so a
//! server restart loses nothing and does not end the tail; Ctrl-C ends it.

use std::time::Duration;

use anyhow::{anyhow, Result};
use reqwest::StatusCode;
use serde_json::Value;

use super::api::{Api, ServerError};
use super::logs::{query_string, Filter, Printer};

/// A stream that says nothing (not even a keep-alive) for this long is taken for dead.
const IDLE: Duration = Duration::from_secs(90);
/// The largest event accepted; a longer one means the stream is not what it claims.
const MAX_EVENT_BYTES: usize = 4 << 20;
const FIRST_PAUSE: Duration = Duration::from_millis(250);
const MAX_PAUSE: Duration = Duration::from_secs(10);

/// Follows the stream until Ctrl-C, resuming after `after`.
pub async fn follow(
    api: &Api,
    filter: &Filter,
    mut after: Option<String>,
    printer: &Printer,
) -> Result<()> {
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    let mut pause = FIRST_PAUSE;
    loop {
        let session = session(api, filter, &mut after, printer);
        let ended = tokio::select! {
            _ = &mut stop => return Ok(()),
            ended = session => ended,
        };
        match ended {
            // The stream was open and delivered: start the backoff afresh.
            Ok(true) => pause = FIRST_PAUSE,
            Ok(false) => {}
            Err(Fatal(e)) => return Err(e),
        }
        if api.conn.debug {
            eprintln!("live log: reconnecting in {} ms", pause.as_millis());
        }
        tokio::select! {
            _ = &mut stop => return Ok(()),
            _ = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// An error that retrying cannot mend (wrong credentials, no such endpoint).
struct Fatal(anyhow::Error);

/// One connection. `Ok(true)` if it opened and then ended, `Ok(false)` if it could not be
/// opened for a reason that may pass (unreachable, 5xx).
async fn session(
    api: &Api,
    filter: &Filter,
    after: &mut Option<String>,
    printer: &Printer,
) -> std::result::Result<bool, Fatal> {
    let token = match api.admin_token().await {
        Ok(t) => t,
        Err(e) if e.downcast_ref::<ServerError>().is_some() => return Err(Fatal(e)),
        Err(e) => {
            if api.conn.debug {
                eprintln!("live log: {e}");
            }
            return Ok(false);
        }
    };
    let mut q = filter.query();
    if let Some(a) = after.as_ref() {
        q.push(("after".into(), a.clone()));
    }
    let mut url = api.app_url("/developer-log/stream");
    if !q.is_empty() {
        url.push('?');
        url.push_str(&query_string(&q));
    }
    let mut req = api
        .stream_request(&url, &token)
        .header("accept", "text/event-stream");
    if let Some(a) = after.as_ref() {
        req = req.header("last-event-id", a.as_str());
    }
    let mut res = match tokio::time::timeout(IDLE, api.open(req, &url)).await {
        Ok(Ok(res)) => res,
        Ok(Err(e)) => {
            if api.conn.debug {
                eprintln!("live log: {e}");
            }
            return Ok(false);
        }
        Err(_) => return Ok(false),
    };
    let status = res.status();
    if !status.is_success() {
        let raw = res.text().await.unwrap_or_default();
        let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
        let error = anyhow!(ServerError { status, body, raw });
        let passing = status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT;
        if passing {
            if api.conn.debug {
                eprintln!("live log: {error}");
            }
            return Ok(false);
        }
        return Err(Fatal(error));
    }
    let mut parser = Parser::default();
    loop {
        let chunk = match tokio::time::timeout(IDLE, res.chunk()).await {
            Ok(Ok(Some(chunk))) => chunk,
            // Ended, broken or silent too long: reconnect from the last record seen.
            Ok(Ok(None)) | Ok(Err(_)) | Err(_) => return Ok(true),
        };
        let events = match parser.feed(&chunk) {
            Some(events) => events,
            None => return Ok(true),
        };
        for event in events {
            if event.name != "log" && event.name != "message" {
                continue;
            }
            let Ok(record) = serde_json::from_str::<Value>(&event.data) else {
                continue;
            };
            printer.print(&record);
            if let Some(id) = event
                .id
                .or_else(|| record.get("_id").and_then(Value::as_str).map(str::to_owned))
            {
                *after = Some(id);
            }
        }
    }
}

#[derive(Debug, PartialEq)]
pub struct Event {
    pub id: Option<String>,
    pub name: String,
    pub data: String,
}

/// The event-stream format, fed in whatever pieces the network delivers.
#[derive(Default)]
pub struct Parser {
    pending: Vec<u8>,
    id: Option<String>,
    name: Option<String>,
    data: Option<String>,
}

impl Parser {
    /// The events completed by `bytes`; `None` when a line or event grows past the limit.
    pub fn feed(&mut self, bytes: &[u8]) -> Option<Vec<Event>> {
        self.pending.extend_from_slice(bytes);
        let mut events = Vec::new();
        let mut start = 0;
        while let Some(end) = self.pending[start..].iter().position(|&b| b == b'\n') {
            let mut line = &self.pending[start..start + end];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            let line = String::from_utf8_lossy(line).into_owned();
            start += end + 1;
            if let Some(event) = self.line(&line) {
                events.push(event);
            }
        }
        self.pending.drain(..start);
        let held = self.pending.len() + self.data.as_ref().map_or(0, String::len);
        (held <= MAX_EVENT_BYTES).then_some(events)
    }

    fn line(&mut self, line: &str) -> Option<Event> {
        if line.is_empty() {
            let data = self.data.take()?;
            return Some(Event {
                id: self.id.take(),
                name: self.name.take().unwrap_or_else(|| "message".into()),
                data,
            });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => self.id = Some(value.to_owned()),
            "event" => self.name = Some(value.to_owned()),
            "data" => match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_anywhere_are_put_together() {
        let stream = b": keep-alive\n\nid: 7\nevent: log\ndata: {\"a\":1}\n\nid: 8\r\nevent: log\r\ndata: {\"b\":\r\ndata: 2}\r\n\r\n";
        for cut in 0..stream.len() {
            let mut p = Parser::default();
            let mut got = p.feed(&stream[..cut]).unwrap();
            got.extend(p.feed(&stream[cut..]).unwrap());
            assert_eq!(
                got,
                vec![
                    Event {
                        id: Some("7".into()),
                        name: "log".into(),
                        data: "{\"a\":1}".into()
                    },
                    Event {
                        id: Some("8".into()),
                        name: "log".into(),
                        data: "{\"b\":\n2}".into()
                    },
                ],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn an_endless_line_is_refused() {
        let mut p = Parser::default();
        let big = vec![b'x'; MAX_EVENT_BYTES + 1];
        assert!(p.feed(&big).is_none());
    }
}
