//! Change events (the outbox): a write records its event inside its own transaction, so
//! the change and its event commit together or not at all.

use kumo_types::now_ms;
use serde_json::{json, Value};
use sqlx::AnyConnection;

use crate::{Actor, BucketRef, Result};

/// How an event names a bucket.
pub(crate) fn bucket_target(b: &BucketRef) -> Value {
    json!({ "scope": b.scope.key(), "bucket": b.name })
}

/// Records one change event on `conn`, which is inside the write's transaction.
pub(crate) async fn record(
    conn: &mut AnyConnection,
    app_id: &str,
    kind: &str,
    target: Value,
    actor: &Actor,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO events (app_id, kind, target, actor, from_server_code, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(app_id)
    .bind(kind)
    .bind(target.to_string())
    .bind(&actor.principal)
    .bind(actor.origin())
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}
