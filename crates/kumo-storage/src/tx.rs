//! Transactions that always end explicitly.

use sqlx::AnyConnection;

use crate::pool::Pool;
use crate::Result;

/// Commits on success, rolls back on failure. Rolling back explicitly matters: a transaction
/// merely dropped is rolled back only when its connection is next used, and until then a
/// pooled PostgreSQL connection sits idle in transaction, holding its row locks.
async fn finish<T>(tx: sqlx::Transaction<'_, sqlx::Any>, result: Result<T>) -> Result<T> {
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

/// Runs `body` in a transaction on a connection of `pool` and ends it with [`finish`].
pub(crate) async fn in_transaction<T>(
    pool: &Pool,
    body: impl AsyncFnOnce(&mut AnyConnection) -> Result<T>,
) -> Result<T> {
    let mut conn = pool.get().await?;
    let mut tx = conn.begin().await?;
    let result = body(&mut tx).await;
    finish(tx, result).await
}
