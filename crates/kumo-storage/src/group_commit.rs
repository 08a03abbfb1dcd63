//! Group commit for object creation.
//!
//! Creates submitted while a write is in flight are written together, so a busy server pays for
//! one commit (one WAL flush) and one trip to the database per group instead of per object.
//!
//! - SQLite has one writer, and each commit appends every page it changed to the WAL; creates
//!   committed one by one write the same index pages over and over and queue behind each
//!   other. A group is one transaction of plain statements in one trip to the writer.
//! - PostgreSQL: a group is one statement per bucket. The objects, their field-index rows and
//!   their change events travel as JSON documents expanded by `json_to_recordset`, so the
//!   statement text never changes and stays prepared on every connection. A few committers
//!   run at once, so one group's commit overlaps the next group's trip.
//!
//! If a group fails (an object ID taken), each of its creates is retried alone, so one bad
//! create never fails the others.

use std::sync::Arc;

use sqlx::Row;
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::create_plan::{postgres_group, CreatePlan, PG_CREATE};
use crate::dialect::Dialect;
use crate::params::{bind_params, Params};
use crate::pool::Pool;
use crate::{Actor, BucketRef, Entity, NewBucket, Object, Result, StorageError};

/// Creates written in one group at most.
const MAX_BATCH: usize = 64;
/// Bind parameters per SQLite group at most (SQLite allows 32,766).
const MAX_PARAMS: usize = 20_000;
/// PostgreSQL groups in flight at once.
const PG_COMMITTERS: usize = 3;

pub(crate) struct Create {
    pub bucket: BucketRef,
    pub new: NewBucket,
    pub object: Object,
    pub actor: Actor,
}

impl Create {
    fn plan(&self) -> CreatePlan<'_> {
        CreatePlan::new(&self.bucket, &self.new, &self.object, &self.actor)
    }
}

type Request = (Create, oneshot::Sender<Result<()>>);

pub(crate) struct GroupCommit {
    sender: mpsc::Sender<Request>,
}

impl GroupCommit {
    /// Starts the committers on the current runtime; they end when the store is dropped.
    pub(crate) fn start(write: Pool, dialect: Dialect) -> Self {
        let (sender, receiver) = mpsc::channel(1024);
        let receiver = Arc::new(Mutex::new(receiver));
        let committers = match dialect {
            Dialect::Sqlite => 1,
            Dialect::Postgres => PG_COMMITTERS,
        };
        for _ in 0..committers {
            tokio::spawn(run(write.clone(), dialect, receiver.clone()));
        }
        GroupCommit { sender }
    }

    pub(crate) async fn submit(&self, create: Create) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        let gone = || StorageError::Unavailable("the writer has stopped".into());
        self.sender
            .send((create, reply))
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

async fn run(write: Pool, dialect: Dialect, receiver: Arc<Mutex<mpsc::Receiver<Request>>>) {
    let mut batch: Vec<Request> = Vec::new();
    loop {
        // Only the committer holding the receiver waits in it; the others wait for the lock,
        // so each group is taken by one committer as soon as it is free.
        let received = receiver.lock().await.recv_many(&mut batch, MAX_BATCH).await;
        if received == 0 {
            return;
        }
        while !batch.is_empty() {
            // A group is the creates at the front that can share one write.
            let size = match dialect {
                Dialect::Sqlite => batch.len(),
                Dialect::Postgres => {
                    let first = &batch[0].0.bucket;
                    batch.iter().take_while(|(c, _)| c.bucket == *first).count()
                }
            };
            let group: Vec<Request> = batch.drain(..size).collect();
            commit_group(&write, dialect, group).await;
        }
    }
}

async fn commit_group(write: &Pool, dialect: Dialect, mut group: Vec<Request>) {
    if group.len() == 1 {
        let (create, reply) = group.pop().expect("one");
        let _ = reply.send(write_alone(write, dialect, &create).await);
        return;
    }
    let creates: Vec<&Create> = group.iter().map(|(c, _)| c).collect();
    // Those that did not fit (SQLite's parameter budget), or all when the group failed: one
    // by one.
    let written = match write_group(write, dialect, &creates).await {
        Ok(written) => written,
        Err(e) => {
            // The retry tells each create its own outcome; only this says why the group as a
            // whole failed. A taken object ID is a client's doing (answered 409), anything
            // else is worth an operator's attention.
            let creates = creates.len();
            let message = "a group of object creates failed; writing them one by one";
            match e {
                StorageError::Conflict(_) => tracing::debug!(error = %e, creates, "{message}"),
                _ => tracing::warn!(error = %e, creates, "{message}"),
            }
            0
        }
    };
    for (i, (create, reply)) in group.into_iter().enumerate() {
        let result = if i < written {
            Ok(())
        } else {
            write_alone(write, dialect, &create).await
        };
        let _ = reply.send(result);
    }
}

/// One create on its own.
async fn write_alone(write: &Pool, dialect: Dialect, c: &Create) -> Result<()> {
    write_group(write, dialect, &[c]).await.map(|_| ())
}

/// Writes `creates` together; how many were written.
async fn write_group(write: &Pool, dialect: Dialect, creates: &[&Create]) -> Result<usize> {
    match dialect {
        Dialect::Sqlite => write_sqlite(write, creates).await,
        Dialect::Postgres => write_postgres(write, creates).await,
    }
}

/// Writes as many of `creates` as fit the parameter budget in one transaction; how many.
async fn write_sqlite(write: &Pool, creates: &[&Create]) -> Result<usize> {
    let mut sql = String::from("BEGIN IMMEDIATE; ");
    let mut params = Params::default();
    let mut count = 0;
    for c in creates {
        if count > 0 && params.0.len() > MAX_PARAMS {
            break;
        }
        c.plan().push_statements(&mut sql, &mut params);
        count += 1;
    }
    sql.push_str("COMMIT;");
    let mut conn = write.get().await?;
    let done = bind_params(sqlx::query(&sql), &params.0)
        .execute(&mut *conn)
        .await;
    if let Err(e) = done {
        // The statements stopped at the failing one, inside the transaction: undo it before
        // the connection goes back to the pool.
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
        return Err(e.into());
    }
    Ok(count)
}

/// Writes `creates` (all into the first one's bucket) in one statement; how many.
async fn write_postgres(write: &Pool, creates: &[&Create]) -> Result<usize> {
    let plans: Vec<CreatePlan<'_>> = creates.iter().map(|c| c.plan()).collect();
    let p = postgres_group(&plans);
    // A bucket created by a concurrent statement is invisible to this statement's snapshot, so
    // nothing was inserted: once more, and the bucket is there.
    for _ in 0..2 {
        let row = bind_params(sqlx::query(PG_CREATE), &p.0)
            .fetch_one(&mut *write.get().await?)
            .await?;
        let written = row.try_get::<i64, _>(0)? as usize;
        if written == creates.len() {
            return Ok(written);
        }
    }
    Err(StorageError::NotFound(Entity::Bucket))
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tokio::sync::oneshot;

    use super::{commit_group, Create};
    use crate::testing::TestDb;
    use crate::{Actor, App, BucketRef, Dialect, NewBucket, Object, Scope, Storage, StorageError};

    /// Collects what is logged, to look at afterwards.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn create(id: &str) -> Create {
        Create {
            bucket: BucketRef {
                app_id: "a1".into(),
                scope: Scope::App,
                name: "b".into(),
            },
            new: NewBucket {
                creator: None,
                acl: "{}".into(),
            },
            object: Object {
                id: id.into(),
                data: Default::default(),
                data_type: None,
                owner: None,
                acl: "{}".into(),
                version: 1,
                created_at: 1,
                modified_at: 1,
            },
            actor: Actor {
                principal: "admin".into(),
                from_server_code: false,
                by_hook: false,
            },
        }
    }

    async fn a_failed_group_is_logged_before_the_retry(dialect: Dialect) {
        let db = TestDb::new(dialect).await;
        let store = crate::open(&db.url, 2).await.unwrap();
        let app = App {
            id: "a1".into(),
            key: "k".into(),
            name: "n".into(),
            client_id: "c".into(),
            client_secret_hash: "h".into(),
            created_at: 1,
        };
        store.create_app(&app).await.unwrap();
        let taken = create("taken");
        store
            .create_object(&taken.bucket, &taken.new, &taken.object, &taken.actor)
            .await
            .unwrap();

        let log = Captured::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let (mut group, mut answers) = (Vec::new(), Vec::new());
        for id in ["fresh-1", "taken", "fresh-2"] {
            let (reply, answer) = oneshot::channel();
            group.push((create(id), reply));
            answers.push(answer);
        }
        commit_group(&store.write, dialect, group).await;

        let results: Vec<_> = answers_of(answers).await;
        assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
        assert!(matches!(results[1], Err(StorageError::Conflict(_))));
        let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        let line = text
            .lines()
            .find(|l| l.contains("group of object creates failed"))
            .unwrap_or_else(|| panic!("no log of the failed group in: {text}"));
        assert!(line.contains("creates=3"), "{line}");
        assert!(line.contains("error="), "{line}");
        store.close().await;
    }

    async fn answers_of(
        answers: Vec<oneshot::Receiver<crate::Result<()>>>,
    ) -> Vec<crate::Result<()>> {
        let mut out = Vec::new();
        for a in answers {
            out.push(a.await.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn sqlite_a_failed_group_is_logged_before_the_retry() {
        a_failed_group_is_logged_before_the_retry(Dialect::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres_a_failed_group_is_logged_before_the_retry() {
        a_failed_group_is_logged_before_the_retry(Dialect::Postgres).await;
    }
}
