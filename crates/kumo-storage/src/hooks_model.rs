//! Server hooks: schedule executions (the history) and trigger deliveries.

/// `RUNNING`, `SUCCESS` or `FAILED`, as Kii spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionStatus {
    Running,
    Success,
    Failed,
}

impl ExecutionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Success => "SUCCESS",
            ExecutionStatus::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<ExecutionStatus> {
        match s {
            "RUNNING" => Some(ExecutionStatus::Running),
            "SUCCESS" => Some(ExecutionStatus::Success),
            "FAILED" => Some(ExecutionStatus::Failed),
            _ => None,
        }
    }
}

/// One firing of a schedule job (or a run of it by hand), as the history shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleExecution {
    /// `scheduleExecutionID`.
    pub id: String,
    pub app_id: String,
    pub version_id: String,
    /// The job's name.
    pub job: String,
    /// The firing's cron time (for a run by hand, when it was asked for).
    pub scheduled_at: i64,
    pub by_hand: bool,
    pub status: ExecutionStatus,
    pub started_at: i64,
    /// `None` while running.
    pub finished_at: Option<i64>,
    /// The returned or `done` value (success) or the error (failure), as text.
    pub result: Option<String>,
}
