//! The one request frame of Kii's WebSocket log protocol (spec §8.3), read strictly: a field
//! of the wrong type is an error, not ignored. Kii's clients send every field, the unused ones
//! as `""` (the Go client) or not at all (`kii-logs.js`): both mean absent.

use chrono::NaiveDateTime;
use kumo_storage::{DevLogFilter, DevLogLevel};
use serde_json::{Map, Value};

use crate::servercode::MAX_DEVLOG_PAGE;

/// Records a `cat` (or a `tail`'s first answer) brings without a `limit`.
const DEFAULT_LIMIT: i64 = 100;

#[derive(Debug, PartialEq)]
pub enum Command {
    /// The latest records, once.
    Cat,
    /// The latest records, then every new one until the client closes.
    Tail,
}

#[derive(Debug, PartialEq)]
pub enum Credentials {
    /// An app-admin token.
    Token(String),
    /// The app's client ID and secret.
    Client { id: String, secret: String },
}

#[derive(Debug)]
pub struct LogRequest {
    pub app_id: String,
    pub app_key: String,
    pub credentials: Credentials,
    pub command: Command,
    /// Its `limit` is that of the first answer.
    pub filter: DevLogFilter,
}

impl LogRequest {
    /// Reads the frame's text; the error is the message for the client.
    pub fn parse(text: &str) -> Result<LogRequest, String> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| format!("The request is not valid JSON: {e}"))?;
        let Value::Object(fields) = value else {
            return Err("The request must be a JSON object".into());
        };
        let text = |name: &str| optional_text(&fields, name);
        let app_id = text("appID")?.ok_or("appID is required")?;
        let app_key = text("appKey")?.ok_or("appKey is required")?;
        let credentials = match (text("token")?, text("clientID")?, text("clientSecret")?) {
            (Some(token), _, _) => Credentials::Token(token),
            (None, Some(id), Some(secret)) => Credentials::Client { id, secret },
            _ => return Err("Give either token or clientID and clientSecret".into()),
        };
        let command = match text("command")?.as_deref() {
            Some("cat") => Command::Cat,
            Some("tail") => Command::Tail,
            Some(other) => {
                return Err(format!(
                    "Unknown command '{other}': use \"cat\" or \"tail\""
                ))
            }
            None => return Err("command is required (\"cat\" or \"tail\")".into()),
        };
        let limit = match fields.get("limit") {
            None | Some(Value::Null) => DEFAULT_LIMIT,
            Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
            Some(Value::String(s)) if s.is_empty() => DEFAULT_LIMIT,
            Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
            Some(_) => return Err("limit must be a number".into()),
        };
        if !(1..=MAX_DEVLOG_PAGE).contains(&limit) {
            return Err(format!("limit must be between 1 and {MAX_DEVLOG_PAGE}"));
        }
        let min_level = text("level")?
            .map(|level| {
                DevLogLevel::parse(&level).ok_or_else(|| {
                    format!("Unknown level '{level}': use DEBUG, INFO, WARN or ERROR")
                })
            })
            .transpose()?;
        let since_ms = text("dateFrom")?
            .map(|d| date("dateFrom", &d))
            .transpose()?;
        // A date names a whole second: its records are in.
        let until_ms = text("dateTo")?
            .map(|d| date("dateTo", &d).map(|ms| ms + 999))
            .transpose()?;
        if let (Some(from), Some(to)) = (since_ms, until_ms) {
            if from > to {
                return Err("dateFrom is after dateTo".into());
            }
        }
        Ok(LogRequest {
            app_id,
            app_key,
            credentials,
            command,
            filter: DevLogFilter {
                min_level,
                since_ms,
                until_ms,
                user_id: text("userID")?,
                limit,
            },
        })
    }
}

/// A string field; absent, `null` and `""` are all `None`.
fn optional_text(fields: &Map<String, Value>, name: &str) -> Result<Option<String>, String> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{name} must be a string")),
    }
}

/// `YYYY-MM-DD:HH:mm:ss`, UTC, as epoch milliseconds.
fn date(name: &str, text: &str) -> Result<i64, String> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d:%H:%M:%S")
        .map(|t| t.and_utc().timestamp_millis())
        .map_err(|_| format!("{name} must be a UTC time as YYYY-MM-DD:HH:mm:ss, not '{text}'"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<LogRequest, String> {
        LogRequest::parse(&v.to_string())
    }

    #[test]
    fn the_go_clients_frame_with_empty_fields() {
        let r = parse(
            json!({"appID": "a1", "appKey": "k", "clientID": "c", "clientSecret": "s",
            "token": "", "command": "tail", "userID": "", "level": "", "limit": 100,
            "dateFrom": "", "dateTo": ""}),
        )
        .unwrap();
        assert_eq!(r.command, Command::Tail);
        assert_eq!(
            r.credentials,
            Credentials::Client {
                id: "c".into(),
                secret: "s".into()
            }
        );
        assert_eq!(r.filter.limit, 100);
        assert!(r.filter.min_level.is_none() && r.filter.user_id.is_none());
        assert!(r.filter.since_ms.is_none() && r.filter.until_ms.is_none());
    }

    #[test]
    fn dates_levels_and_limits() {
        let r = parse(
            json!({"appID": "a1", "appKey": "k", "token": "t", "command": "cat",
            "level": "error", "limit": "1500", "userID": "u1",
            "dateFrom": "2015-01-08:07:40:00", "dateTo": "2015-01-09:00:00:00"}),
        )
        .unwrap();
        assert_eq!(r.credentials, Credentials::Token("t".into()));
        assert_eq!(r.filter.min_level, Some(DevLogLevel::Error));
        assert_eq!(r.filter.limit, 1500);
        assert_eq!(r.filter.since_ms, Some(1_420_702_800_000));
        assert_eq!(r.filter.until_ms, Some(1_420_761_600_999));
        assert_eq!(r.filter.user_id.as_deref(), Some("u1"));
    }

    #[test]
    fn every_mistake_has_its_message() {
        let base = json!({"appID": "a1", "appKey": "k", "token": "t", "command": "cat"});
        let with = |key: &str, value: Value| {
            let mut v = base.clone();
            v[key] = value;
            parse(v).unwrap_err()
        };
        assert!(LogRequest::parse("not json").unwrap_err().contains("JSON"));
        assert!(LogRequest::parse("[1]").unwrap_err().contains("object"));
        assert!(with("command", json!("rm")).contains("Unknown command"));
        assert!(with("limit", json!(0)).contains("between"));
        assert!(with("limit", json!(1501)).contains("between"));
        assert!(with("limit", json!(true)).contains("number"));
        assert!(with("level", json!("LOUD")).contains("level"));
        assert!(with("dateFrom", json!("2015-01-08 07:40")).contains("dateFrom"));
        assert!(with("dateTo", json!("2015-13-01:00:00:00")).contains("dateTo"));
        assert!(with("appID", json!(5)).contains("appID must be a string"));
        let mut v = base.clone();
        v["dateFrom"] = json!("2015-01-09:00:00:00");
        v["dateTo"] = json!("2015-01-08:00:00:00");
        assert!(parse(v).unwrap_err().contains("after"));
        let mut v = base.clone();
        v.as_object_mut().unwrap().remove("token");
        v["clientID"] = json!("c");
        assert!(parse(v).unwrap_err().contains("clientSecret"));
    }
}
