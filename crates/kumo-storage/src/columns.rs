//! Reading columns by name from either driver's rows: sqlx's (`AnyRow`) and the inline SQLite
//! reader's (`rusqlite::Row`), so one decoder serves both.

use sqlx::Row as _;

use crate::Result;

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

/// rusqlite converts an integer to `f64` on its own.
impl Columns for rusqlite::Row<'_> {
    fn int(&self, col: &str) -> Result<i64> {
        Ok(self.get(col)?)
    }
    fn float(&self, col: &str) -> Result<f64> {
        Ok(self.get(col)?)
    }
    fn text(&self, col: &str) -> Result<String> {
        Ok(self.get(col)?)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>> {
        Ok(self.get(col)?)
    }
}
