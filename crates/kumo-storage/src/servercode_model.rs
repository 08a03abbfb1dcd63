//! Server-code versions and developer-log records.

/// One deployed server-code file. Versions never change once deployed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeVersion {
    pub version_id: String,
    /// Exactly the uploaded text.
    pub source: String,
    /// `"0"`, `"6"` or `"16"`.
    pub environment_version: String,
    pub created_at: i64,
    pub modified_at: i64,
}

/// A version as listed (without its source).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeVersionInfo {
    pub version_id: String,
    pub environment_version: String,
    pub created_at: i64,
    pub modified_at: i64,
    pub current: bool,
}

/// Developer-log levels, least severe first (the order filters use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DevLogLevel {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
}

impl DevLogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            DevLogLevel::Debug => "DEBUG",
            DevLogLevel::Info => "INFO",
            DevLogLevel::Warn => "WARN",
            DevLogLevel::Error => "ERROR",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "DEBUG" => Some(DevLogLevel::Debug),
            "INFO" => Some(DevLogLevel::Info),
            "WARN" | "WARNING" => Some(DevLogLevel::Warn),
            "ERROR" => Some(DevLogLevel::Error),
            _ => None,
        }
    }

    fn from_rank(rank: i64) -> Self {
        match rank {
            0 => DevLogLevel::Debug,
            1 => DevLogLevel::Info,
            2 => DevLogLevel::Warn,
            _ => DevLogLevel::Error,
        }
    }
}

/// One developer-log record.
#[derive(Debug, Clone, PartialEq)]
pub struct DevLogRecord {
    /// Assigned by the store: orders records as they were appended.
    pub seq: i64,
    pub time_ms: i64,
    pub level: DevLogLevel,
    pub key: String,
    /// The user the record concerns (the caller of a run), for filtering.
    pub user_id: Option<String>,
    /// The record's other fields (`description`, `versionID`, …) as a JSON object.
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl DevLogRecord {
    pub(crate) fn level_from_rank(rank: i64) -> DevLogLevel {
        DevLogLevel::from_rank(rank)
    }
}

/// A developer-log record to append, its fields already written as JSON by the thread that
/// made it: a busy server makes tens of thousands a second, and a writer that serialised and
/// freed every record's fields itself spent more than the runs did on their records.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDevLogRecord {
    pub time_ms: i64,
    pub level: DevLogLevel,
    pub key: String,
    pub user_id: Option<String>,
    /// A JSON object (only [`NewDevLogRecord::new`] makes one, from a map).
    fields_json: String,
}

impl NewDevLogRecord {
    pub fn new(
        time_ms: i64,
        level: DevLogLevel,
        key: &str,
        user_id: Option<&str>,
        fields: &serde_json::Map<String, serde_json::Value>,
    ) -> Self {
        NewDevLogRecord {
            time_ms,
            level,
            key: key.to_owned(),
            user_id: user_id.map(str::to_owned),
            // A map of JSON values always serialises; the fallback is never taken.
            fields_json: serde_json::to_string(fields).unwrap_or_else(|_| "{}".into()),
        }
    }

    pub fn fields_json(&self) -> &str {
        &self.fields_json
    }
}

impl From<&DevLogRecord> for NewDevLogRecord {
    fn from(record: &DevLogRecord) -> Self {
        NewDevLogRecord::new(
            record.time_ms,
            record.level,
            &record.key,
            record.user_id.as_deref(),
            &record.fields,
        )
    }
}

/// A step of a developer-log tail: the records after a cursor, oldest first, and where to go
/// on from.
#[derive(Debug, Clone, Default)]
pub struct DevLogPage {
    /// Those that pass the filter (its limit aside).
    pub records: Vec<DevLogRecord>,
    /// Every record up to this `seq` was looked at: the next step starts after it.
    pub cursor: i64,
    /// Whether more records may follow at once (the step stopped at its size bound).
    pub more: bool,
}

/// Which records a developer-log query returns: the newest `limit` matching ones, oldest first.
#[derive(Debug, Clone, Default)]
pub struct DevLogFilter {
    /// This level and the more severe ones.
    pub min_level: Option<DevLogLevel>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub user_id: Option<String>,
    pub limit: i64,
}
