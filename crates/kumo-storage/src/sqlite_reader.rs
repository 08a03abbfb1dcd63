//! The hot SQLite reads, run on the calling thread.
//!
//! sqlx runs every SQLite connection on a thread of its own, so each statement costs two
//! thread hand-offs, and each value is copied out of SQLite and copied again into sqlx's `Any`
//! row. For the reads nearly every object request makes (the bucket, an object by ID, a query
//! page, a count) that overhead was larger than SQLite's own work, and the extra threads
//! competing for the cores lengthened the latency tail. These reads go straight to read-only
//! rusqlite connections on the calling thread instead: the query benchmark serves 50-65% more
//! (bench/objects.sh). A read occupies its runtime thread while it runs, as it would occupy
//! a core on another thread; the runtime's other threads keep serving meanwhile.
//!
//! Writes stay on the sqlx writer (one connection, group commit); in WAL mode readers never
//! wait for it. The rarer reads (users, groups, server code) stay on the sqlx read pool.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use sqlx::sqlite::SqliteConnectOptions;

use crate::columns::NamedRow;
use crate::params::Param;
use crate::Result;

/// Idle connections kept; more are opened while more threads read at once.
const MAX_IDLE: usize = 8;
/// Distinct statements each connection keeps prepared (query shapes vary).
const STATEMENT_CACHE: usize = 64;
/// Readers map the database file instead of copying pages through `read` calls and a private
/// page cache: at 100,000 objects the query benchmark serves 15-25% more and its p99 drops by
/// a third. The mapped pages are the OS page cache, shared and reclaimable, but they count in
/// the process's resident size (once per reading connection, up to this much each).
const MMAP_BYTES: i64 = 256 << 20;

pub(crate) struct SqliteReader {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl SqliteReader {
    /// A reader for the database file of `url` (`sqlite://PATH?…` or `sqlite:PATH`); `None`
    /// for an in-memory database, which other connections cannot open.
    pub(crate) fn for_url(url: &str) -> Option<SqliteReader> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))?;
        let (path, options) = rest.split_once('?').unwrap_or((rest, ""));
        if path.is_empty() || path == ":memory:" || options.contains("mode=memory") {
            return None;
        }
        // sqlx's own reading of the URL (it percent-decodes the path), so the readers open
        // the very file the writer does.
        let parsed = SqliteConnectOptions::from_str(url).ok()?;
        Some(SqliteReader {
            path: parsed.get_filename().to_path_buf(),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Runs `f` on an idle connection (opening one if none is idle).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let idle = self.lock().pop();
        let conn = match idle {
            Some(c) => c,
            None => self.open()?,
        };
        let result = f(&conn);
        let mut idle = self.lock();
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
        result
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
        Ok(conn)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Binds `params` to the statement's `$1`, `$2`, … (SQLite numbers `$N` parameters by first
/// appearance, not by N, so each is looked up by name).
pub(crate) fn bind(st: &mut rusqlite::Statement<'_>, params: &[Param]) -> rusqlite::Result<()> {
    for (i, p) in params.iter().enumerate() {
        let Some(index) = st.parameter_index(&format!("${}", i + 1))? else {
            continue;
        };
        match p {
            Param::I(v) => st.raw_bind_parameter(index, *v)?,
            Param::F(v) => st.raw_bind_parameter(index, *v)?,
            Param::S(v) => st.raw_bind_parameter(index, v.as_str())?,
        }
    }
    Ok(())
}

/// Runs `sql` with `params` and maps every row.
pub(crate) fn fetch_all<T>(
    conn: &Connection,
    sql: &str,
    params: &[Param],
    mut map: impl FnMut(&NamedRow<'_, '_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut st = conn.prepare_cached(sql)?;
    bind(&mut st, params)?;
    let names: Vec<String> = st.column_names().into_iter().map(str::to_owned).collect();
    let mut rows = st.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(map(&NamedRow { row, names: &names })?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{fetch_all, SqliteReader, MMAP_BYTES};
    use crate::columns::Columns;
    use crate::StorageError;

    #[test]
    fn readers_map_the_file_and_cannot_write() {
        let db = crate::testing::TestDb::sqlite();
        let reader = SqliteReader::for_url(&db.url).unwrap();
        let writer = rusqlite::Connection::open(&reader.path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (7);",
            )
            .unwrap();
        let (mmap, v) = reader
            .read(|c| {
                let mmap: i64 = c.query_row("PRAGMA mmap_size", [], |r| r.get(0))?;
                let v: i64 = c.query_row("SELECT v FROM t", [], |r| r.get(0))?;
                Ok((mmap, v))
            })
            .unwrap();
        assert_eq!((mmap, v), (MMAP_BYTES, 7));
        // A later write is seen by the next read on the same (pooled) connection.
        writer.execute_batch("UPDATE t SET v = 8;").unwrap();
        let v: i64 = reader
            .read(|c| Ok(c.query_row("SELECT v FROM t", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(v, 8);
        assert!(reader
            .read(|c| Ok(c.execute_batch("DELETE FROM t")?))
            .is_err());
    }

    #[test]
    fn a_missing_file_is_unavailable_and_a_missing_column_a_backend_fault() {
        let db = crate::testing::TestDb::sqlite();
        let reader = SqliteReader::for_url(&db.url).unwrap();
        // Nothing has created the file: a read-only reader cannot open it.
        assert!(matches!(
            reader.read(|_| Ok(())),
            Err(StorageError::Unavailable(_))
        ));
        rusqlite::Connection::open(&reader.path)
            .unwrap()
            .execute_batch("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1);")
            .unwrap();
        let asked = reader.read(|c| fetch_all(c, "SELECT v FROM t", &[], |r| r.int("w")));
        assert!(matches!(asked, Err(StorageError::Backend(m)) if m.contains("no column w")));
    }

    #[test]
    fn a_percent_encoded_path_is_the_file_sqlx_opens() {
        let r = SqliteReader::for_url("sqlite:///tmp/a%20b/kumo.db?mode=rwc").unwrap();
        assert_eq!(r.path.to_str(), Some("/tmp/a b/kumo.db"));
    }

    #[test]
    fn only_files_get_a_reader() {
        let r = SqliteReader::for_url("sqlite:///tmp/x/kumo.db?mode=rwc").unwrap();
        assert_eq!(r.path.to_str(), Some("/tmp/x/kumo.db"));
        assert_eq!(
            SqliteReader::for_url("sqlite:data.db")
                .unwrap()
                .path
                .to_str(),
            Some("data.db")
        );
        assert!(SqliteReader::for_url("sqlite::memory:").is_none());
        assert!(SqliteReader::for_url("sqlite://file.db?mode=memory").is_none());
        assert!(SqliteReader::for_url("postgres://localhost/db").is_none());
    }
}
