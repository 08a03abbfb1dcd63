//! How client commands print: Kii's log-line prefix (Node's `util.log`, `5 Dec 19:02:30 - `),
//! Kii's fixed-width tables, JSON in a stable order, and colour only where it helps.

use std::io::IsTerminal;

use chrono::{DateTime, Local, TimeZone, Utc};
use serde_json::Value;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A line as Kii's tools print progress: local time, ` - `, the message.
pub fn log(message: &str) {
    println!("{} - {message}", util_log_time(&Local::now()));
}

/// Node's `util.log` time: day without padding, month name, `HH:MM:SS`.
pub fn util_log_time<Tz: TimeZone>(t: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    use chrono::{Datelike, Timelike};
    format!(
        "{} {} {:02}:{:02}:{:02}",
        t.day(),
        MONTHS[t.month0() as usize],
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `YYYY-MM-DD HH:mm:ss` of epoch milliseconds, in UTC or local time.
pub fn date_time(ms: i64, utc: bool) -> String {
    let Some(t) = Utc.timestamp_millis_opt(ms).single() else {
        return String::new();
    };
    if utc {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        t.with_timezone(&Local)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    }
}

/// `(LOCAL)` or `(UTC)`, as column headers say.
pub fn zone_label(utc: bool) -> &'static str {
    if utc {
        "(UTC)"
    } else {
        "(LOCAL)"
    }
}

/// The rule under a table header: as long as the header, all dashes.
pub fn rule(header: &str) -> String {
    "-".repeat(header.chars().count())
}

/// A JSON object pretty-printed with `first` keys in that order, then the rest (sorted).
pub fn ordered_json(v: &Value, first: &[&str]) -> String {
    let Value::Object(map) = v else {
        return serde_json::to_string_pretty(v).unwrap_or_default();
    };
    let mut keys: Vec<&String> = Vec::with_capacity(map.len());
    for k in first {
        if let Some((key, _)) = map.get_key_value(*k) {
            keys.push(key);
        }
    }
    for k in map.keys() {
        if !first.contains(&k.as_str()) {
            keys.push(k);
        }
    }
    if keys.is_empty() {
        return "{}".into();
    }
    let mut out = String::from("{\n");
    for (i, k) in keys.iter().enumerate() {
        let value = serde_json::to_string_pretty(&map[k.as_str()]).unwrap_or_default();
        let value = value.replace('\n', "\n  ");
        out.push_str(&format!("  {}: {value}", Value::String((*k).clone())));
        out.push_str(if i + 1 < keys.len() { ",\n" } else { "\n" });
    }
    out.push('}');
    out
}

/// Whether stderr may carry colour: a terminal, and `NO_COLOR` unset or empty.
pub fn colour_stderr() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Prints a failure: `error: …` on stderr, `error` in red on a terminal.
pub fn error(message: &str) {
    if colour_stderr() {
        eprintln!("\x1b[31merror\x1b[0m: {message}");
    } else {
        eprintln!("error: {message}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn util_log_time_is_nodes() {
        let t = Utc.with_ymd_and_hms(2026, 12, 5, 9, 2, 3).unwrap();
        assert_eq!(util_log_time(&t), "5 Dec 09:02:03");
    }

    #[test]
    fn ordered_json_keeps_the_given_order() {
        let v = json!({"b": 1, "a": {"x": [1]}, "z": "s"});
        assert_eq!(
            ordered_json(&v, &["z", "missing", "b"]),
            "{\n  \"z\": \"s\",\n  \"b\": 1,\n  \"a\": {\n    \"x\": [\n      1\n    ]\n  }\n}"
        );
    }
}
