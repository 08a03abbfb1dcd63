//! Transactions that always end explicitly.

use crate::Result;

/// Commits on success, rolls back on failure. Rolling back explicitly matters: a transaction
/// merely dropped is rolled back only when its connection is next used, and until then a
/// pooled PostgreSQL connection sits idle in transaction, holding its row locks.
pub(crate) async fn finish<T>(
    tx: sqlx::Transaction<'_, sqlx::Any>,
    result: Result<T>,
) -> Result<T> {
    match result {
        Ok(v) => {
            tx.commit().await?;
            Ok(v)
        }
        Err(e) => {
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}
