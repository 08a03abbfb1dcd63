//! SQLite group commit for object creation.
//!
//! SQLite has one writer, and each commit appends every page it changed to the WAL; creates
//! committed one by one write the same index pages over and over and queue behind each other.
//! Creates submitted while the writer is busy are instead written together: one transaction,
//! one trip to the writer connection, one commit. If the batch fails (an object ID taken), each
//! create is retried alone, so one bad create never fails the others.

use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use crate::query_sql::Params;
use crate::sql_objects::{bind_params, create_statements};
use crate::{Actor, BucketRef, NewBucket, Object, Result};

/// Creates written in one transaction at most.
const MAX_BATCH: usize = 64;
/// Bind parameters per batch at most (SQLite allows 32,766).
const MAX_PARAMS: usize = 20_000;

pub(crate) struct Create {
    pub bucket: BucketRef,
    pub new: NewBucket,
    pub object: Object,
    pub actor: Actor,
}

type Request = (Create, oneshot::Sender<Result<()>>);

pub(crate) struct GroupCommit {
    sender: mpsc::Sender<Request>,
}

impl GroupCommit {
    /// Starts the committer on the current runtime; it ends when the store is dropped.
    pub(crate) fn start(write: AnyPool) -> Self {
        let (sender, receiver) = mpsc::channel(1024);
        tokio::spawn(run(write, receiver));
        GroupCommit { sender }
    }

    pub(crate) async fn submit(&self, create: Create) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        let gone = || crate::StorageError::Unavailable("the writer has stopped".into());
        self.sender
            .send((create, reply))
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

async fn run(write: AnyPool, mut receiver: mpsc::Receiver<Request>) {
    let mut batch: Vec<Request> = Vec::new();
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        if batch.len() == 1 {
            let (create, reply) = batch.pop().expect("one");
            let _ = reply.send(write_alone(&write, &create).await);
            continue;
        }
        let creates: Vec<&Create> = batch.iter().map(|(c, _)| c).collect();
        match write_together(&write, &creates).await {
            Ok(written) if written == batch.len() => {
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Ok(()));
                }
            }
            // Some did not fit the parameter budget, or the batch failed: the rest one by one.
            outcome => {
                let written = outcome.unwrap_or(0);
                for (i, (create, reply)) in batch.drain(..).enumerate() {
                    let result = if i < written {
                        Ok(())
                    } else {
                        write_alone(&write, &create).await
                    };
                    let _ = reply.send(result);
                }
            }
        }
    }
}

/// Writes as many of `creates` as fit the parameter budget in one transaction; how many.
async fn write_together(write: &AnyPool, creates: &[&Create]) -> Result<usize> {
    let mut sql = String::from("BEGIN IMMEDIATE; ");
    let mut params = Params::default();
    let mut count = 0;
    for c in creates {
        if count > 0 && params.0.len() > MAX_PARAMS {
            break;
        }
        create_statements(
            &mut sql,
            &mut params,
            &c.bucket,
            &c.new,
            &c.object,
            &c.actor,
        );
        count += 1;
    }
    sql.push_str("COMMIT;");
    execute(write, &sql, &params).await?;
    Ok(count)
}

/// One create in its own transaction.
pub(crate) async fn write_alone(write: &AnyPool, c: &Create) -> Result<()> {
    write_together(write, &[c]).await.map(|_| ())
}

async fn execute(write: &AnyPool, sql: &str, params: &Params) -> Result<()> {
    let mut conn = write.acquire().await?;
    let done = bind_params(sqlx::query(sql), &params.0)
        .execute(&mut *conn)
        .await;
    if let Err(e) = done {
        // The statements stopped at the failing one, inside the transaction: undo it before
        // the connection goes back to the pool.
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
        return Err(e.into());
    }
    Ok(())
}
