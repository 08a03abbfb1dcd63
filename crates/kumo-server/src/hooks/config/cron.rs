//! A job's schedule: Kii's 5-field cron (minute hour day-of-month month day-of-week) in UTC,
//! plus Kumo's extensions: a leading seconds field and an IANA time zone.
//!
//! Parsing and matching are croner's, with Vixie cron's rules: a day matches when the
//! day-of-month OR the day-of-week field does (when both are restricted). Around DST changes
//! in a job's time zone, croner's rules apply too, and `next_after` keeps every answer strictly
//! after its argument:
//! - a fixed time (single second, minute and hour) that does not exist (spring forward) fires
//!   once, at the first instant after the gap; one that occurs twice (fall back) fires once,
//!   at its first occurrence;
//! - a job with a wildcard, range, list or step in those fields fires by the wall clock: its
//!   times inside a gap are skipped, its times inside a repeated hour fire in both passes.

use chrono::{DateTime, Datelike, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::{Cron, JobType};

/// A cron schedule: 5 fields (or 6 with leading seconds), in UTC or the job's `timezone`.
#[derive(Debug, Clone)]
pub struct Schedule {
    text: String,
    timezone: Option<Tz>,
    cron: Cron,
    fixed_time: bool,
}

/// How far a fall-back transition can lie from an instant in its repeated hour (the largest
/// DST shifts are two hours).
const MAX_REPEAT_SECS: i64 = 6 * 3600;

impl Schedule {
    /// Parses `text` (5 or 6 fields, or `@yearly`, `@monthly`, `@weekly`, `@daily`,
    /// `@hourly`); a year field is refused. The message says what is wrong.
    pub fn parse(text: &str, timezone: Option<Tz>) -> Result<Schedule, String> {
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build()
            .parse(text)
            .map_err(|e| e.to_string())?;
        let fixed_time = cron.determine_job_type() == JobType::FixedTime;
        Ok(Schedule {
            text: text.to_owned(),
            timezone,
            cron,
            fixed_time,
        })
    }

    /// The expression as written in the config.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The job's time zone; `None` is UTC.
    pub fn timezone(&self) -> Option<Tz> {
        self.timezone
    }

    /// Whether some day in the `years` from `from_ms` matches the day-of-month, month and
    /// day-of-week fields (the time fields always match some time of day). croner's own search
    /// for a schedule that never fires walks on to the year 5000, which takes far too long to
    /// run for every job of an upload; this walks whole days, a few thousand at most.
    pub(super) fn has_a_day_within(&self, from_ms: i64, years: u32) -> bool {
        let Some(start) = DateTime::from_timestamp_millis(from_ms) else {
            return false;
        };
        let mut day = match self.timezone {
            Some(tz) => start.with_timezone(&tz).date_naive(),
            None => start.date_naive(),
        };
        let pattern = &self.cron.pattern;
        for _ in 0..years * 366 {
            let (y, m, d) = (day.year(), day.month(), day.day());
            if pattern.month_match(m).unwrap_or(false)
                && pattern.day_match(y, m, d).unwrap_or(false)
            {
                return true;
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => return false,
            }
        }
        false
    }

    /// The first firing strictly after `after_ms` (epoch ms), if any.
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        // Firings fall on whole seconds, so the first one after `after_ms` is the first one
        // after the whole second it lies in.
        let after = after_ms.div_euclid(1000);
        let next = match self.timezone {
            Some(tz) => self.next_in(tz, after),
            None => self.next_in(Utc, after),
        };
        next.map(|secs| secs * 1000)
    }

    fn next_in<Z: TimeZone + Copy>(&self, tz: Z, after: i64) -> Option<i64> {
        let start = tz.timestamp_opt(after, 0).single()?;
        let found = self.cron.find_next_occurrence(&start, false).ok()?;
        let repeated = tz
            .from_local_datetime(&found.naive_local())
            .latest()
            .filter(|late| *late != found);
        if found.timestamp() > after {
            // `start` in the first pass of a repeated hour whose remaining wall-clock times do
            // not match: croner's search by wall clock steps over the second pass, where an
            // interval job still has firings.
            if !self.fixed_time && repeated.is_none() {
                if let Some(second_pass) = self.second_pass_firing(tz, &start) {
                    if second_pass < found.timestamp() {
                        return Some(second_pass);
                    }
                }
            }
            return Some(found.timestamp());
        }
        // `found` is the first occurrence of a repeated wall-clock time and `after` lies in the
        // second pass, past it.
        match repeated {
            Some(late) if !self.fixed_time && late.timestamp() > after => Some(late.timestamp()),
            // A fixed time fired at its first occurrence; its next firing is a later day's.
            _ => {
                let next = self.cron.find_next_occurrence(&found, false).ok()?;
                (next.timestamp() > after).then(|| next.timestamp())
            }
        }
    }

    /// When `start` lies in the first pass of a repeated hour: the job's first firing in the
    /// second pass, if it has one there.
    fn second_pass_firing<Z: TimeZone + Copy>(&self, tz: Z, start: &DateTime<Z>) -> Option<i64> {
        match tz.from_local_datetime(&start.naive_local()) {
            chrono::LocalResult::Ambiguous(early, _) if early == *start => {}
            _ => return None,
        }
        let offset_at = |secs: i64| {
            let utc = DateTime::from_timestamp(secs, 0)?.naive_utc();
            Some(tz.offset_from_utc_datetime(&utc).fix().local_minus_utc())
        };
        // The instant the clocks went back: the first second with the later, smaller offset.
        let first = offset_at(start.timestamp())?;
        let (mut lo, mut hi) = (start.timestamp(), start.timestamp() + MAX_REPEAT_SECS);
        if offset_at(hi)? >= first {
            return None;
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if offset_at(mid)? == first {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let back = tz.timestamp_opt(hi, 0).single()?;
        let found = self.cron.find_next_occurrence(&back, true).ok()?;
        // A time still inside the repeated hour (croner names its first occurrence).
        match tz.from_local_datetime(&found.naive_local()) {
            chrono::LocalResult::Ambiguous(_, late) => Some(late.timestamp()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(rfc3339: &str) -> i64 {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .timestamp_millis()
    }

    fn at(ms: i64) -> String {
        DateTime::from_timestamp_millis(ms)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    }

    fn schedule(text: &str, tz: Option<&str>) -> Schedule {
        Schedule::parse(text, tz.map(|t| t.parse().unwrap())).unwrap()
    }

    /// The first `n` firings after `from`, as UTC times.
    fn firings(s: &Schedule, from: &str, n: usize) -> Vec<String> {
        let mut t = ms(from);
        (0..n)
            .map(|_| {
                t = s.next_after(t).unwrap();
                at(t)
            })
            .collect()
    }

    #[test]
    fn five_fields_in_utc_strictly_after() {
        let hourly = schedule("0 * * * *", None);
        assert_eq!(hourly.text(), "0 * * * *");
        assert_eq!(hourly.timezone(), None);
        let t = ms("2024-01-01T00:00:00Z");
        assert_eq!(at(hourly.next_after(t).unwrap()), "2024-01-01T01:00:00Z");
        assert_eq!(
            at(hourly.next_after(t - 1).unwrap()),
            "2024-01-01T00:00:00Z"
        );
        assert_eq!(
            at(hourly.next_after(t + 1).unwrap()),
            "2024-01-01T01:00:00Z"
        );
    }

    #[test]
    fn kii_documented_examples() {
        assert_eq!(
            firings(&schedule("1 0 * * *", None), "2024-01-01T12:00:00Z", 2),
            ["2024-01-02T00:01:00Z", "2024-01-03T00:01:00Z"]
        );
        // 2024-01-05 is a Friday.
        assert_eq!(
            firings(
                &schedule("0 5 * * MON-FRI", None),
                "2024-01-05T06:00:00Z",
                2
            ),
            ["2024-01-08T05:00:00Z", "2024-01-09T05:00:00Z"]
        );
        assert_eq!(
            firings(&schedule("0 0/2 * * *", None), "2024-01-01T00:00:00Z", 3),
            [
                "2024-01-01T02:00:00Z",
                "2024-01-01T04:00:00Z",
                "2024-01-01T06:00:00Z"
            ]
        );
        assert_eq!(
            firings(&schedule("0/5 14 * * *", None), "2024-01-01T14:50:00Z", 2),
            ["2024-01-01T14:55:00Z", "2024-01-02T14:00:00Z"]
        );
        assert_eq!(
            firings(
                &schedule("0 0 * * MON,WED,FRI", None),
                "2024-01-01T00:00:00Z",
                3
            ),
            [
                "2024-01-03T00:00:00Z",
                "2024-01-05T00:00:00Z",
                "2024-01-08T00:00:00Z"
            ]
        );
    }

    #[test]
    fn ranges_lists_and_month_names() {
        assert_eq!(
            firings(
                &schedule("15,45 9-10 * * *", None),
                "2024-01-01T00:00:00Z",
                5
            ),
            [
                "2024-01-01T09:15:00Z",
                "2024-01-01T09:45:00Z",
                "2024-01-01T10:15:00Z",
                "2024-01-01T10:45:00Z",
                "2024-01-02T09:15:00Z"
            ]
        );
        assert_eq!(
            firings(
                &schedule("0 0 1 jan,Jul *", None),
                "2024-02-01T00:00:00Z",
                2
            ),
            ["2024-07-01T00:00:00Z", "2025-01-01T00:00:00Z"]
        );
    }

    #[test]
    fn day_of_month_or_day_of_week_as_vixie_cron() {
        // The 13th, or any Friday: 2024-01-05 is a Friday (with AND it would be 2024-09-13).
        assert_eq!(
            firings(&schedule("0 0 13 * FRI", None), "2024-01-01T00:00:00Z", 3),
            [
                "2024-01-05T00:00:00Z",
                "2024-01-12T00:00:00Z",
                "2024-01-13T00:00:00Z"
            ]
        );
        // `+` asks for both: Friday the 13th.
        assert_eq!(
            firings(&schedule("0 0 13 * +FRI", None), "2024-01-01T00:00:00Z", 2),
            ["2024-09-13T00:00:00Z", "2024-12-13T00:00:00Z"]
        );
    }

    #[test]
    fn a_leading_seconds_field() {
        let s = schedule("*/10 * * * * *", None);
        assert_eq!(
            firings(&s, "2024-01-01T12:00:00.500Z", 2),
            ["2024-01-01T12:00:10Z", "2024-01-01T12:00:20Z"]
        );
        assert_eq!(
            firings(&schedule("30 0 12 * * *", None), "2024-01-01T00:00:00Z", 1),
            ["2024-01-01T12:00:30Z"]
        );
    }

    #[test]
    fn nicknames_are_croners() {
        assert_eq!(
            firings(&schedule("@hourly", None), "2024-01-01T00:30:00Z", 1),
            ["2024-01-01T01:00:00Z"]
        );
        assert_eq!(
            firings(&schedule("@daily", None), "2024-01-01T00:30:00Z", 1),
            ["2024-01-02T00:00:00Z"]
        );
    }

    #[test]
    fn bad_expressions_are_refused() {
        for bad in [
            "",
            "61 * * * *",
            "* 24 * * *",
            "* * 32 * *",
            "* * * 13 *",
            "* * * * 8",
            "* * * *",
            "0 0 0 1 1 * 2030",
            "@reboot",
            "every minute",
            "0 0 * * MONDAY",
        ] {
            assert!(Schedule::parse(bad, None).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_schedule_that_never_fires_has_no_day_and_no_next() {
        let t = ms("2024-01-01T00:00:00Z");
        let s = schedule("0 0 31 2 *", None);
        assert!(!s.has_a_day_within(t, 28));
        assert_eq!(s.next_after(t), None);
        assert!(schedule("0 0 31 * *", None).has_a_day_within(t, 28));
        // February 29th on a Monday: 2044, within 28 years of 2024.
        let rare = schedule("0 0 29 2 +MON", None);
        assert!(rare.has_a_day_within(t, 28));
        assert_eq!(at(rare.next_after(t).unwrap()), "2044-02-29T00:00:00Z");
        // Leap days come.
        assert_eq!(
            firings(&schedule("0 0 29 2 *", None), "2024-03-01T00:00:00Z", 1),
            ["2028-02-29T00:00:00Z"]
        );
    }

    #[test]
    fn in_a_time_zone() {
        let s = schedule("0 9 * * *", Some("Asia/Tokyo"));
        assert_eq!(s.timezone(), Some(chrono_tz::Asia::Tokyo));
        assert_eq!(
            firings(&s, "2024-01-01T00:00:00Z", 2),
            ["2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"]
        );
    }

    // Europe/Berlin, 2024-03-31: at 01:00 UTC the clocks jump from 02:00 CET to 03:00 CEST.
    #[test]
    fn spring_forward_a_fixed_time_in_the_gap_fires_once_right_after_it() {
        let s = schedule("30 2 * * *", Some("Europe/Berlin"));
        assert_eq!(
            firings(&s, "2024-03-30T12:00:00Z", 3),
            [
                "2024-03-31T01:00:00Z", // 03:00 CEST, the first instant after the gap
                "2024-04-01T00:30:00Z", // 02:30 CEST
                "2024-04-02T00:30:00Z",
            ]
        );
    }

    #[test]
    fn spring_forward_an_interval_job_skips_the_gap() {
        let s = schedule("*/30 * * * *", Some("Europe/Berlin"));
        assert_eq!(
            firings(&s, "2024-03-31T00:15:00Z", 3),
            [
                "2024-03-31T00:30:00Z", // 01:30 CET
                "2024-03-31T01:00:00Z", // 03:00 CEST: 02:00 and 02:30 do not exist
                "2024-03-31T01:30:00Z",
            ]
        );
    }

    // Europe/Berlin, 2024-10-27: at 01:00 UTC the clocks go back from 03:00 CEST to 02:00 CET,
    // so 02:00-03:00 local happens twice (00:00-01:00 and 01:00-02:00 UTC).
    #[test]
    fn fall_back_a_fixed_time_that_occurs_twice_fires_once() {
        let s = schedule("30 2 * * *", Some("Europe/Berlin"));
        assert_eq!(
            firings(&s, "2024-10-26T12:00:00Z", 2),
            [
                "2024-10-27T00:30:00Z", // 02:30 CEST, the first occurrence
                "2024-10-28T01:30:00Z", // 02:30 CET the next day
            ]
        );
        // Asked from the second pass (a node starting then), it does not go back in time nor
        // fire the second 02:30.
        assert_eq!(
            firings(&s, "2024-10-27T01:10:00Z", 1),
            ["2024-10-28T01:30:00Z"]
        );
    }

    #[test]
    fn fall_back_an_interval_job_fires_in_both_passes_in_order() {
        let s = schedule("*/30 * * * *", Some("Europe/Berlin"));
        assert_eq!(
            firings(&s, "2024-10-26T23:45:00Z", 5),
            [
                "2024-10-27T00:00:00Z", // 02:00 CEST
                "2024-10-27T00:30:00Z", // 02:30 CEST
                "2024-10-27T01:00:00Z", // 02:00 CET
                "2024-10-27T01:30:00Z", // 02:30 CET
                "2024-10-27T02:00:00Z", // 03:00 CET
            ]
        );
        // From inside the second pass.
        assert_eq!(
            firings(&s, "2024-10-27T01:10:00Z", 2),
            ["2024-10-27T01:30:00Z", "2024-10-27T02:00:00Z"]
        );
    }

    // America/New_York, 2024-11-03: at 06:00 UTC the clocks go back from 02:00 EDT to 01:00 EST.
    #[test]
    fn fall_back_every_second_never_stops() {
        let s = schedule("* * * * * *", Some("America/New_York"));
        assert_eq!(
            firings(&s, "2024-11-03T05:59:58Z", 3),
            [
                "2024-11-03T05:59:59Z",
                "2024-11-03T06:00:00Z",
                "2024-11-03T06:00:01Z"
            ]
        );
        let hourly = schedule("0 * * * *", Some("America/New_York"));
        assert_eq!(
            firings(&hourly, "2024-11-03T04:30:00Z", 3),
            [
                "2024-11-03T05:00:00Z", // 01:00 EDT
                "2024-11-03T06:00:00Z", // 01:00 EST
                "2024-11-03T07:00:00Z", // 02:00 EST
            ]
        );
    }
}
