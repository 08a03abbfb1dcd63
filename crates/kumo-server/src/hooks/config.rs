//! A version's hook configuration (spec §6): parsed and validated from the uploaded bytes.
//!
//! FOUNDATION: the types are fixed (the hook runtime uses them); `parse` and `Schedule` are
//! being implemented.

use serde_json::Value;

use kumo_types::ApiError;

/// Largest accepted hook configuration.
pub const MAX_CONFIG_BYTES: usize = 256 * 1024;

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
}

impl When {
    /// The wire name, e.g. `DATA_OBJECT_CREATED`.
    pub fn as_str(self) -> &'static str {
        todo!("FOUNDATION")
    }
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

/// A cron schedule: 5 fields (or 6 with leading seconds), in UTC or the job's `timezone`.
#[derive(Debug, Clone)]
pub struct Schedule {}

impl Schedule {
    pub fn text(&self) -> &str {
        todo!("FOUNDATION")
    }

    pub fn timezone(&self) -> Option<chrono_tz::Tz> {
        todo!("FOUNDATION")
    }

    /// The first firing strictly after `after_ms` (epoch ms), if any.
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        let _ = after_ms;
        todo!("FOUNDATION")
    }
}

/// Parses and validates a hook config. `defines(name)` says whether the version defines an
/// endpoint of that name. Errors are 400s that name the bad part.
pub fn parse(bytes: &[u8], defines: &dyn Fn(&str) -> bool) -> Result<HookConfig, ApiError> {
    let _ = (bytes, defines);
    todo!("FOUNDATION")
}
