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

use chrono::{DateTime, Offset, TimeZone, Utc};
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
