//! Which database a store talks to. The few places where the SQL differs branch on it.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Appended to a `SELECT` in a write transaction to hold its rows until the end. SQLite
    /// needs nothing: its one writer connection runs one write transaction at a time.
    pub(crate) fn row_lock(self) -> &'static str {
        match self {
            Dialect::Postgres => " FOR UPDATE",
            Dialect::Sqlite => "",
        }
    }
}
