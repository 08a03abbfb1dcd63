//! A query over the schedule-execution history, as the REST layer parses it. The parser bounds
//! its depth and size; the store turns it into SQL with every value bound.

use crate::{ExecutionStatus, ScheduleExecution};

/// A time column of the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionTime {
    StartedAt,
    /// Absent while an execution runs: a running one matches no range on it.
    FinishedAt,
}

/// One end of a range, in epoch milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBound {
    pub at: i64,
    pub included: bool,
}

/// A test on a text column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextTest {
    Eq(String),
    In(Vec<String>),
    Prefix(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecutionClause {
    All,
    Range {
        field: ExecutionTime,
        lower: Option<TimeBound>,
        upper: Option<TimeBound>,
    },
    /// On the job's name.
    Name(TextTest),
    /// On `scheduleExecutionID`.
    Id(TextTest),
    /// The status is one of these.
    Status(Vec<ExecutionStatus>),
    And(Vec<ExecutionClause>),
    Or(Vec<ExecutionClause>),
    /// Everything the inner clause does not match, running executions included.
    Not(Box<ExecutionClause>),
}

/// What a page is sorted by; the execution ID breaks ties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecutionOrder {
    #[default]
    StartedAt,
    /// Running executions sort after every finished one (they finish later).
    FinishedAt,
    Name,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionQuery {
    pub clause: ExecutionClause,
    pub order_by: ExecutionOrder,
    pub descending: bool,
}

impl Default for ExecutionQuery {
    fn default() -> Self {
        ExecutionQuery {
            clause: ExecutionClause::All,
            order_by: ExecutionOrder::StartedAt,
            descending: false,
        }
    }
}

/// One page of a history query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionPage {
    pub executions: Vec<ScheduleExecution>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<String>,
}
