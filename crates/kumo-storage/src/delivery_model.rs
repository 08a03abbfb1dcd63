//! What the hook runtime hands storage and gets back: firings to claim, trigger cursors,
//! trigger runs waiting for another attempt.

/// A firing of a schedule job that a node wants to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFiring {
    /// The new `scheduleExecutionID`.
    pub id: String,
    pub app_id: String,
    pub version_id: String,
    pub job: String,
    /// The cron time; for a run by hand, when it was asked for.
    pub scheduled_at: i64,
    pub by_hand: bool,
    pub started_at: i64,
    /// Kumo's `"overlap": "skip"`: recorded FAILED without running while the job's previous
    /// firing is still RUNNING.
    pub skip_if_running: bool,
    /// The claim's fence: only a completion that names it is accepted.
    pub fence: i64,
}

impl NewFiring {
    /// The key that makes a firing unique per app: nodes racing for the same cron firing
    /// insert one row; every run by hand is a firing of its own.
    pub fn key(&self) -> String {
        if self.by_hand {
            format!("hand/{}", self.id)
        } else {
            format!("{}/{}/{}", self.version_id, self.job, self.scheduled_at)
        }
    }
}

/// How a claim of one firing went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Recorded RUNNING for this node, fenced by this token: run it.
    Run,
    /// Recorded FAILED at once: the job's previous firing was still running (overlap: skip).
    Skipped,
    /// Another node recorded it first, or the version is no longer current: do nothing.
    Lost,
}

/// A failed trigger run waiting for its next attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookRetry {
    pub id: i64,
    pub app_id: String,
    pub event_seq: i64,
    pub version_id: String,
    pub endpoint: String,
    /// The trigger's wire name, e.g. `DATA_OBJECT_CREATED`.
    pub trigger: String,
    /// The run's `params`, as JSON.
    pub params: String,
    /// Who caused the event (`anonymous`, `admin` or `user:{id}`).
    pub actor: String,
    /// Attempts made so far.
    pub attempts: i64,
}
