//! A version's hook configuration (spec §6): parsed and validated from the uploaded bytes.
//!
//! The text is bounded before anything recursive reads it (size, then nesting depth while
//! its comments are blanked), then parsed as JSON and checked path by path. Every error is a
//! 400 whose message starts with where the bad part is, e.g.
//! `kiicloud://users[2].when: unknown trigger "USER_EXPLODED"; …`.

mod cron;
mod jobs;
mod jsonc;
mod paths;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use kumo_types::{ApiError, ErrorCode};

pub use cron::Schedule;

/// Largest accepted hook configuration.
pub const MAX_CONFIG_BYTES: usize = 256 * 1024;
/// Deepest nesting of arrays and objects (a job's `parameters` included).
pub const MAX_DEPTH: usize = 32;
/// Most trigger hooks and jobs one config may hold, together.
pub const MAX_ENTRIES: usize = 1_000;

const SCHEDULER: &str = "kiicloud://scheduler";
const EXECUTE: &str = "EXECUTE_SERVER_CODE";

/// A parsed hook config: trigger hooks and schedule jobs.
#[derive(Debug, Clone, Default)]
pub struct HookConfig {
    pub triggers: Vec<TriggerHook>,
    pub jobs: Vec<Job>,
    /// A hash of the text it was parsed from (set by the hook runtime; 0 from `parse`).
    pub source_hash: u64,
}

/// One `{"when", "what", "endpoint"}` entry under a trigger path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerHook {
    pub path: TriggerPath,
    pub when: When,
    pub endpoint: String,
}

/// Where a trigger hook listens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TriggerPath {
    Users,
    Groups,
    Things,
    Installations,
    /// `kiicloud://buckets/{b}`
    AppBucket(String),
    /// `kiicloud://users/*/buckets/{b}`
    UserBuckets(String),
    /// `kiicloud://groups/*/buckets/{b}`
    GroupBuckets(String),
    /// `kiicloud://things/*/buckets/{b}`
    ThingBuckets(String),
}

/// Trigger names (spec §6.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum When {
    DataObjectCreated,
    DataObjectUpdated,
    DataObjectDeleted,
    DataObjectBodyUpdated,
    DataObjectBodyDeleted,
    DataObjectBodyPublished,
    UserCreated,
    UserEmailVerified,
    UserPhoneVerified,
    UserPasswordResetCompleted,
    UserPasswordChanged,
    UserDeleted,
    UserUpdated,
    GroupCreated,
    GroupDeleted,
    GroupMembersAdded,
    GroupMembersRemoved,
    InstallationCreated,
    InstallationDeleted,
    ThingCreated,
    ThingDeleted,
    ThingEnabled,
    ThingDisabled,
    ThingFieldsUpdated,
    ThingUserOwnerAdded,
    ThingGroupOwnerAdded,
    ThingUserOwnerRemoved,
    ThingGroupOwnerRemoved,
}

/// What a job does when two of its firings would overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overlap {
    /// Kii's behaviour: every firing runs.
    #[default]
    Allow,
    /// Kumo extension (`"overlap": "skip"`): a firing due while the job's previous one is
    /// still running is recorded FAILED without running.
    Skip,
}

/// One `kiicloud://scheduler` job.
#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    pub endpoint: String,
    /// The job's `parameters` (an object; `{}` when absent), handed to the code as `params`.
    pub parameters: Value,
    pub schedule: Schedule,
    pub overlap: Overlap,
}

/// Parses a stored config (checked when it was uploaded, so every endpoint counts as defined)
/// on the blocking pool: a config of a thousand jobs takes milliseconds to check, which an
/// async worker thread must not spend.
pub async fn parse_stored(text: String) -> Result<HookConfig, ApiError> {
    tokio::task::spawn_blocking(move || parse(text.as_bytes(), &|_| true))
        .await
        .unwrap_or_else(|e| {
            Err(ApiError::new(
                ErrorCode::InternalError,
                format!("checking the hook config failed: {e}"),
            ))
        })
}

/// Parses and validates a hook config. `defines(name)` says whether the version defines an
/// endpoint of that name. Errors are 400s that name the bad part.
pub fn parse(bytes: &[u8], defines: &dyn Fn(&str) -> bool) -> Result<HookConfig, ApiError> {
    if bytes.len() > MAX_CONFIG_BYTES {
        return Err(ApiError::new(
            ErrorCode::RequestTooLarge,
            format!("A hook config may have at most {MAX_CONFIG_BYTES} bytes"),
        ));
    }
    // PostgreSQL cannot store a NUL in text, and JSON has none outside a comment.
    if bytes.contains(&0) {
        return Err(ApiError::new(
            ErrorCode::InvalidJson,
            "The hook config is not JSON: it contains a NUL byte",
        ));
    }
    // Editors on Windows like to start UTF-8 files with a byte-order mark.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let json = jsonc::strip_comments(bytes, MAX_DEPTH).map_err(|e| match e {
        jsonc::Malformed::UnterminatedComment { line } => ApiError::new(
            ErrorCode::InvalidJson,
            format!(
                "The hook config is not JSON: the comment opened on line {line} is never closed"
            ),
        ),
        jsonc::Malformed::TooDeep { limit, line } => invalid(format!(
            "The hook config nests arrays and objects deeper than {limit} levels (line {line})"
        )),
    })?;
    let top = match serde_json::from_slice::<Value>(&json) {
        Ok(Value::Object(top)) => top,
        Ok(_) => return Err(invalid("The hook config must be a JSON object of paths")),
        Err(e) => {
            return Err(ApiError::new(
                ErrorCode::InvalidJson,
                format!("The hook config is not JSON: {e}"),
            ))
        }
    };
    let mut config = HookConfig::default();
    let mut room = MAX_ENTRIES;
    for (key, value) in &top {
        if key == SCHEDULER {
            config.jobs = jobs::parse_jobs(value, defines, &mut room)?;
        } else {
            parse_path_hooks(key, value, defines, &mut room, &mut config.triggers)?;
        }
    }
    Ok(config)
}

/// The hooks under one trigger path.
fn parse_path_hooks(
    key: &str,
    value: &Value,
    defines: &dyn Fn(&str) -> bool,
    room: &mut usize,
    out: &mut Vec<TriggerHook>,
) -> Result<(), ApiError> {
    let at = quote_path(key);
    let path = paths::parse_path(key).map_err(|why| match why {
        None => invalid(format!(
            "{at}: unknown path; hooks listen on {}",
            paths::KNOWN_PATHS
        )),
        Some(why) => invalid(format!("{at}: invalid bucket name: {why}")),
    })?;
    let Value::Array(hooks) = value else {
        return Err(invalid(format!(
            "{at}: must be an array of {{\"when\", \"what\", \"endpoint\"}} hooks"
        )));
    };
    let kind = paths::Kind::of(&path);
    for (i, hook) in hooks.iter().enumerate() {
        take_room(room)?;
        let at = format!("{at}[{i}]");
        let Value::Object(hook) = hook else {
            return Err(invalid(format!(
                "{at}: must be an object {{\"when\", \"what\", \"endpoint\"}}"
            )));
        };
        only_keys(&at, hook, &["when", "what", "endpoint"])?;
        let name = required_str(&at, hook, "when")?;
        let when = match When::parse(name) {
            Some((when, k)) if k == kind => when,
            Some((_, k)) => {
                return Err(invalid(format!(
                    "{at}.when: {} is a trigger for {}s, not for {at_path}; {}",
                    quote(name),
                    k.noun(),
                    fitting(kind),
                    at_path = quote_path(key),
                )))
            }
            None => {
                return Err(invalid(format!(
                    "{at}.when: unknown trigger {}; {}",
                    quote(name),
                    fitting(kind)
                )))
            }
        };
        check_what(&at, hook)?;
        let endpoint = endpoint(&at, hook, defines)?;
        out.push(TriggerHook {
            path: path.clone(),
            when,
            endpoint,
        });
    }
    Ok(())
}

/// Counts one more hook or job against [`MAX_ENTRIES`].
fn take_room(room: &mut usize) -> Result<(), ApiError> {
    *room = room.checked_sub(1).ok_or_else(|| {
        invalid(format!(
            "A hook config may hold at most {MAX_ENTRIES} trigger hooks and jobs together"
        ))
    })?;
    Ok(())
}

fn fitting(kind: paths::Kind) -> String {
    format!("{} triggers are {}", kind.noun(), paths::whens_of(kind))
}

/// Refuses keys other than `allowed`: a misspelt key would otherwise be a hook or a job that
/// silently does something else.
fn only_keys(at: &str, object: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => Err(invalid(format!(
            "{at}: unknown key {}; the keys are {}",
            quote(k),
            allowed.join(", ")
        ))),
    }
}

fn required_str<'a>(
    at: &str,
    object: &'a Map<String, Value>,
    key: &str,
) -> Result<&'a str, ApiError> {
    match object.get(key) {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => Err(invalid(format!("{at}: \"{key}\" is missing"))),
        Some(_) => Err(invalid(format!("{at}.{key}: must be a string"))),
    }
}

fn check_what(at: &str, object: &Map<String, Value>) -> Result<(), ApiError> {
    let what = required_str(at, object, "what")?;
    if what != EXECUTE {
        return Err(invalid(format!(
            "{at}.what: {} is not an action; the only one is \"{EXECUTE}\"",
            quote(what)
        )));
    }
    Ok(())
}

fn endpoint(
    at: &str,
    object: &Map<String, Value>,
    defines: &dyn Fn(&str) -> bool,
) -> Result<String, ApiError> {
    let name = required_str(at, object, "endpoint")?;
    if !defines(name) {
        return Err(invalid(format!(
            "{at}.endpoint: {} is not defined by this version",
            quote(name)
        )));
    }
    Ok(name.to_owned())
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidInputData, message)
}

/// Tenant text quoted into a message, cut so a huge key cannot make a huge error.
fn quote(s: &str) -> String {
    const MAX: usize = 80;
    if s.len() <= MAX {
        return format!("{s:?}");
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}…", &s[..end])
}

/// A path as the start of a message: bare when it is short and printable, quoted otherwise.
fn quote_path(key: &str) -> String {
    if key.len() <= 80 && key.chars().all(|c| c.is_ascii_graphic()) {
        key.to_owned()
    } else {
        quote(key)
    }
}
