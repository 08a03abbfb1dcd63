//! Reading columns by name from either driver's rows: sqlx's (`AnyRow`) and the inline SQLite
//! reader's ([`NamedRow`]), so one decoder serves both.

use sqlx::Row as _;

use crate::{Result, StorageError};

pub(crate) trait Columns {
    fn int(&self, col: &str) -> Result<i64>;
    /// A float column that a database may hand back as an integer (SQLite's `0` from
    /// `COALESCE(num, 0)`).
    fn float(&self, col: &str) -> Result<f64>;
    fn text(&self, col: &str) -> Result<String>;
    fn opt_text(&self, col: &str) -> Result<Option<String>>;
}

impl Columns for sqlx::any::AnyRow {
    fn int(&self, col: &str) -> Result<i64> {
        Ok(self.try_get(col)?)
    }
    fn float(&self, col: &str) -> Result<f64> {
        match self.try_get::<f64, _>(col) {
            Ok(v) => Ok(v),
            Err(_) => Ok(self.try_get::<i64, _>(col)? as f64),
        }
    }
    fn text(&self, col: &str) -> Result<String> {
        Ok(self.try_get(col)?)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>> {
        Ok(self.try_get(col)?)
    }
}

/// A row of the inline SQLite reader, with its statement's column names taken once per
/// statement (rusqlite's lookup by name asks SQLite for every column's name on every call).
/// Its `f64` accepts an integer on its own, as `float` asks.
pub(crate) struct NamedRow<'a, 'r> {
    pub row: &'a rusqlite::Row<'r>,
    pub names: &'a [String],
}

impl NamedRow<'_, '_> {
    fn get<T: rusqlite::types::FromSql>(&self, col: &str) -> Result<T> {
        let index = self
            .names
            .iter()
            .position(|n| n == col)
            .ok_or_else(|| StorageError::Backend(format!("no column {col} in the result")))?;
        Ok(self.row.get(index)?)
    }
}

impl Columns for NamedRow<'_, '_> {
    fn int(&self, col: &str) -> Result<i64> {
        self.get(col)
    }
    fn float(&self, col: &str) -> Result<f64> {
        self.get(col)
    }
    fn text(&self, col: &str) -> Result<String> {
        self.get(col)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>> {
        self.get(col)
    }
}
