//! Dates a user types (`--from`, `--to`, `--date-from`, `--date-to`): ISO-8601,
//! `YYYY-MM-DD`, `YYYY-MM-DD HH:mm` or `YYYY-MM-DD HH:mm:ss`, read in local time unless UTC is
//! asked for (an ISO-8601 date with an offset carries its own zone).

use chrono::{
    DateTime, Duration, FixedOffset, Local, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc,
};

/// Epoch milliseconds of `text`, or `None` when it is no date in an accepted form.
pub fn parse(text: &str, utc: bool) -> Option<i64> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis());
    }
    // ISO-8601 with an offset but without seconds, or with a `+hhmm` offset.
    for f in [
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
    ] {
        if let Ok(t) = DateTime::<FixedOffset>::parse_from_str(text, f) {
            return Some(t.timestamp_millis());
        }
    }
    let naive = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })?;
    Some(resolve(naive, utc))
}

/// A wall-clock time in UTC or local time. In a DST gap the clock is read an hour later (as
/// the clocks show it), in a fold the earlier instant.
fn resolve(naive: NaiveDateTime, utc: bool) -> i64 {
    if utc {
        return Utc.from_utc_datetime(&naive).timestamp_millis();
    }
    match Local.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.timestamp_millis(),
        LocalResult::Ambiguous(early, _) => early.timestamp_millis(),
        LocalResult::None => match Local.from_local_datetime(&(naive + Duration::hours(1))) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.timestamp_millis(),
            LocalResult::None => Utc.from_utc_datetime(&naive).timestamp_millis(),
        },
    }
}

/// `YYYY-MM-DD HH:mm:ss +hhmm` (moment's `ZZ`), as the tool echoes a range.
pub fn with_zone(ms: i64, utc: bool) -> String {
    let Some(t) = Utc.timestamp_millis_opt(ms).single() else {
        return ms.to_string();
    };
    if utc {
        t.format("%Y-%m-%d %H:%M:%S +0000").to_string()
    } else {
        t.with_timezone(&Local)
            .format("%Y-%m-%d %H:%M:%S %z")
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms_in_utc() {
        let day = 1_391_817_600_000; // 2014-02-08T00:00:00Z
        assert_eq!(parse("2014-02-08", true), Some(day));
        assert_eq!(parse("2014-02-08 00:00", true), Some(day));
        assert_eq!(parse("2014-02-08 00:00:01", true), Some(day + 1000));
        assert_eq!(parse("2014-02-08T09:00:00+09:00", true), Some(day));
        assert_eq!(parse("2014-02-08T09:00:00+09:00", false), Some(day));
        assert_eq!(parse("2014-02-08T00:00:00.250Z", false), Some(day + 250));
        assert_eq!(parse("2014-02-08T00:00", true), Some(day));
        for bad in [
            "",
            "yesterday",
            "2014-13-01",
            "2014-02-30",
            "08/02/2014",
            "2014-02-08 25:00",
        ] {
            assert_eq!(parse(bad, true), None, "{bad}");
        }
    }
}
