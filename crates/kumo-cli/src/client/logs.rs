//! `kumo logs`: the developer log with `kii-logs.js`'s options and line format, from
//! `GET /apps/{app}/developer-log`; with `-t`, then the live stream (`tail.rs`).

use anyhow::{bail, Context, Result};
use clap::Args;
use reqwest::Method;
use serde_json::Value;

use super::api::{encode_query, Api, Body};
use super::conn::ConnArgs;
use super::{dates, tail};

/// `-n` at most, as in Kii's tool.
pub const MAX_NUM: u32 = 1500;

#[derive(Args, Debug)]
pub struct Logs {
    /// Keep printing new records as they are written (Ctrl-C ends).
    #[arg(short = 't', long)]
    pub tail: bool,
    /// How many of the latest records (at most 1500).
    #[arg(short = 'n', long, default_value_t = 100)]
    pub num: u32,
    /// Only this level and more severe ones: DEBUG, INFO, WARN or ERROR.
    #[arg(long)]
    pub level: Option<String>,
    /// Only records of this user.
    #[arg(long)]
    pub user_id: Option<String>,
    /// Records from this time on (YYYY-MM-DD, YYYY-MM-DD HH:mm or YYYY-MM-DD HH:mm:ss).
    #[arg(long)]
    pub date_from: Option<String>,
    /// Records up to this time (same forms).
    #[arg(long)]
    pub date_to: Option<String>,
    /// Read and show times in UTC instead of local time.
    #[arg(long)]
    pub use_utc: bool,
    /// Print records as JSON: one array, or with -t one record per line.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// The filters both the read and the stream take.
pub struct Filter {
    pub level: Option<String>,
    pub user_id: Option<String>,
}

impl Filter {
    /// `level=…&userID=…` for what is set.
    pub fn query(&self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        if let Some(l) = &self.level {
            q.push(("level".into(), l.clone()));
        }
        if let Some(u) = &self.user_id {
            q.push(("userID".into(), u.clone()));
        }
        q
    }
}

pub fn query_string(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode_query(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn date_param(name: &str, value: &Option<String>, utc: bool) -> Result<Option<i64>> {
    value
        .as_deref()
        .map(|v| {
            dates::parse(v, utc)
                .with_context(|| format!("Invalid date format for param `--{name}': {v}"))
        })
        .transpose()
}

pub async fn logs(args: Logs) -> Result<()> {
    if args.num == 0 || args.num > MAX_NUM {
        bail!("--num must be between 1 and {MAX_NUM}");
    }
    let level = match args.level.as_deref() {
        None => None,
        Some(l) => match l.to_ascii_uppercase().as_str() {
            l @ ("DEBUG" | "INFO" | "WARN" | "ERROR") => Some(l.to_owned()),
            _ => bail!("Invalid --level: {l} (DEBUG, INFO, WARN or ERROR)"),
        },
    };
    let since = date_param("date-from", &args.date_from, args.use_utc)?;
    let until = date_param("date-to", &args.date_to, args.use_utc)?;
    if let (Some(s), Some(u)) = (since, until) {
        if s > u {
            bail!(
                "Invalid date range: {} - {}. Lower limit exceeds upper limit",
                dates::with_zone(s, args.use_utc),
                dates::with_zone(u, args.use_utc)
            );
        }
    }
    let filter = Filter {
        level,
        user_id: args.user_id.clone().filter(|u| !u.is_empty()),
    };
    let api = Api::new(args.conn.connection()?)?;
    let mut q = filter.query();
    if let Some(s) = since {
        q.push(("since".into(), s.to_string()));
    }
    if let Some(u) = until {
        q.push(("until".into(), u.to_string()));
    }
    q.push(("limit".into(), args.num.to_string()));
    let body = api
        .admin(
            Method::GET,
            &format!("/developer-log?{}", query_string(&q)),
            Body::None,
        )
        .await?
        .json()?;
    let records = body
        .get("records")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let printer = Printer {
        utc: args.use_utc,
        json: args.json,
    };
    if args.json && !args.tail {
        println!("{}", serde_json::to_string_pretty(&records)?);
        return Ok(());
    }
    for r in &records {
        printer.print(r);
    }
    if !args.tail {
        return Ok(());
    }
    let after = records
        .last()
        .and_then(|r| r.get("_id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    tail::follow(&api, &filter, after, &printer).await
}

/// How records are shown.
pub struct Printer {
    pub utc: bool,
    pub json: bool,
}

impl Printer {
    pub fn print(&self, record: &Value) {
        if self.json {
            println!("{record}");
        } else {
            println!("{}", format_record(record, self.utc));
        }
    }
}

/// Fields never printed: bookkeeping, or printed elsewhere on the line.
const HIDDEN: [&str; 8] = [
    "_id",
    "appID",
    "exception",
    "internalUserID",
    "time",
    "level",
    "key",
    "description",
];

/// `time [LEVEL] key description:… name:value …`, then the stack trace's frames, one a line.
pub fn format_record(r: &Value, utc: bool) -> String {
    let text = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let time = r
        .get("time")
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| super::out::date_time(t.timestamp_millis(), utc))
        .unwrap_or_else(|| text("time"));
    let mut line = format!("{time} [{}] {}", text("level"), text("key"));
    let full_description = text("description");
    let (description, frames) = split_stack(&full_description);
    if !description.is_empty() && description != "null" {
        line.push_str(&format!(" description:{description}"));
    }
    if let Some(fields) = r.as_object() {
        for (name, value) in fields {
            if HIDDEN.contains(&name.as_str()) {
                continue;
            }
            let value = match value {
                Value::Null => continue,
                Value::String(s) if s.is_empty() || s == "null" => continue,
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            line.push_str(&format!(" {}:{value}", hyphenate(name)));
        }
    }
    for frame in frames {
        line.push_str("\n    ");
        line.push_str(frame.trim());
    }
    line
}

/// `message$STACK_TRACE{frame1,frame2}` → the message and its frames.
fn split_stack(description: &str) -> (String, Vec<&str>) {
    const MARK: &str = "$STACK_TRACE{";
    match description.find(MARK) {
        Some(i) => {
            let rest = &description[i + MARK.len()..];
            let rest = rest.strip_suffix('}').unwrap_or(rest);
            let frames = rest.split(',').filter(|f| !f.trim().is_empty()).collect();
            (description[..i].to_owned(), frames)
        }
        None => (description.to_owned(), Vec::new()),
    }
}

/// `responseType` → `response-type`, `versionID` → `version-id`; names already hyphenated stay.
pub fn hyphenate(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                out.push('-');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_hyphenated() {
        assert_eq!(hyphenate("dataType"), "data-type");
        assert_eq!(hyphenate("authHeader"), "auth-header");
        assert_eq!(hyphenate("versionID"), "version-id");
        assert_eq!(hyphenate("entry-name"), "entry-name");
        assert_eq!(hyphenate("loginName"), "login-name");
        assert_eq!(hyphenate("HTTPStatus"), "http-status");
    }

    #[test]
    fn a_record_reads_like_kiis_tool() {
        let r = json!({
            "_id": "7", "appID": "a", "key": "servercode.log", "level": "ERROR",
            "time": "2015-01-08T23:14:52.229Z",
            "description": "boom$STACK_TRACE{at f (main.js:3),at g (main.js:9)}",
            "entry-name": "main", "exception": "x", "internalUserID": "i",
            "responseType": "null", "authHeader": "", "responseStep": "7"
        });
        assert_eq!(
            format_record(&r, true),
            "2015-01-08 23:14:52 [ERROR] servercode.log description:boom entry-name:main \
             response-step:7\n    at f (main.js:3)\n    at g (main.js:9)"
        );
    }
}
