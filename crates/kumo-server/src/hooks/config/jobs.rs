//! `kiicloud://scheduler`: named jobs, each a cron schedule running one endpoint.

use serde_json::{Map, Value};

use kumo_types::ApiError;

use super::{
    check_what, endpoint, invalid, only_keys, quote, required_str, take_room, Job, Overlap,
    Schedule, SCHEDULER,
};

/// Longest accepted job name (it names the job in the history and in URLs).
const MAX_JOB_NAME_BYTES: usize = 256;
/// A schedule with no day in this many years is refused as never firing (28 years hold every
/// combination of date and weekday, leap days included, within a century).
const NEVER_YEARS: u32 = 28;
const JOB_KEYS: &[&str] = &[
    "cron",
    "endpoint",
    "parameters",
    "what",
    "timezone",
    "overlap",
];

pub(super) fn parse_jobs(
    value: &Value,
    defines: &dyn Fn(&str) -> bool,
    room: &mut usize,
) -> Result<Vec<Job>, ApiError> {
    let Value::Object(jobs) = value else {
        return Err(invalid(format!(
            "{SCHEDULER}: must be an object of named jobs"
        )));
    };
    let mut out = Vec::with_capacity(jobs.len().min(*room));
    for (name, job) in jobs {
        take_room(room)?;
        out.push(parse_job(name, job, defines)?);
    }
    Ok(out)
}

fn parse_job(name: &str, job: &Value, defines: &dyn Fn(&str) -> bool) -> Result<Job, ApiError> {
    let at = format!("{SCHEDULER}: job {}", quote(name));
    if name.is_empty() || name.len() > MAX_JOB_NAME_BYTES || name.chars().any(char::is_control) {
        return Err(invalid(format!(
            "{at}: a job name is 1 to {MAX_JOB_NAME_BYTES} bytes without control characters"
        )));
    }
    let Value::Object(job) = job else {
        return Err(invalid(format!(
            "{at}: must be an object {{\"cron\", \"endpoint\", \"what\", \"parameters\"}}"
        )));
    };
    only_keys(&at, job, JOB_KEYS)?;
    check_what(&at, job)?;
    let endpoint = endpoint(&at, job, defines)?;
    let timezone = match job.get("timezone") {
        None | Some(Value::Null) => None,
        Some(Value::String(tz)) => Some(tz.parse::<chrono_tz::Tz>().map_err(|_| {
            invalid(format!(
                "{at}.timezone: {} is not an IANA time zone name (such as \"Asia/Tokyo\" or \"UTC\")",
                quote(tz)
            ))
        })?),
        Some(_) => return Err(invalid(format!("{at}.timezone: must be a string"))),
    };
    let text = required_str(&at, job, "cron")?;
    let schedule = Schedule::parse(text, timezone)
        .map_err(|why| invalid(format!("{at}: invalid cron {}: {why}", quote(text))))?;
    if !schedule.has_a_day_within(kumo_types::now_ms(), NEVER_YEARS) {
        return Err(invalid(format!(
            "{at}: cron {} does not fire within {NEVER_YEARS} years",
            quote(text)
        )));
    }
    let parameters = match job.get("parameters") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(p @ Value::Object(_)) => p.clone(),
        Some(_) => {
            return Err(invalid(format!(
                "{at}.parameters: must be an object (it is the endpoint's params)"
            )))
        }
    };
    let max = crate::servercode::MAX_PARAMS_BYTES;
    if parameters.to_string().len() > max {
        return Err(invalid(format!(
            "{at}.parameters: must be under {max} bytes as JSON, as any run's params"
        )));
    }
    let overlap = match job.get("overlap") {
        None | Some(Value::Null) => Overlap::Allow,
        Some(Value::String(s)) if s == "allow" => Overlap::Allow,
        Some(Value::String(s)) if s == "skip" => Overlap::Skip,
        Some(_) => {
            return Err(invalid(format!(
                "{at}.overlap: must be \"allow\" (the default) or \"skip\""
            )))
        }
    };
    Ok(Job {
        name: name.to_owned(),
        endpoint,
        parameters,
        schedule,
        overlap,
    })
}
