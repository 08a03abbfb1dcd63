//! Server-code versions, the current-version pointer and the developer log, for [`SqlStore`].

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::sql::{finish, Dialect, SqlStore};
use crate::{CodeVersion, CodeVersionInfo, DevLogFilter, DevLogRecord, Result, StorageError};

/// Developer-log rows read per step while finding how many old ones to drop.
const TRIM_PAGE: i64 = 1_000;

/// What a record counts against its app's log budget.
fn record_bytes(record: &DevLogRecord, fields_json: &str) -> i64 {
    (fields_json.len() + record.key.len() + 64) as i64
}

impl SqlStore {
    pub(crate) async fn do_create_code_version(
        &self,
        app_id: &str,
        version: &CodeVersion,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO server_code_versions \
             (app_id, version_id, source, environment_version, created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(app_id)
        .bind(&version.version_id)
        .bind(&version.source)
        .bind(&version.environment_version)
        .bind(version.created_at)
        .bind(version.modified_at)
        .execute(&mut *self.write.get().await?)
        .await?;
        Ok(())
    }

    pub(crate) async fn do_list_code_versions(&self, app_id: &str) -> Result<Vec<CodeVersionInfo>> {
        let rows = sqlx::query(
            "SELECT v.version_id, v.environment_version, v.created_at, v.modified_at, \
             CASE WHEN c.version_id IS NULL THEN 0 ELSE 1 END AS is_current \
             FROM server_code_versions v \
             LEFT JOIN server_code_current c ON c.app_id = v.app_id AND c.version_id = v.version_id \
             WHERE v.app_id = $1 ORDER BY v.created_at, v.version_id",
        )
        .bind(app_id)
        .fetch_all(&mut *self.read.get().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CodeVersionInfo {
                    version_id: r.try_get("version_id")?,
                    environment_version: r.try_get("environment_version")?,
                    created_at: r.try_get("created_at")?,
                    modified_at: r.try_get("modified_at")?,
                    current: r.try_get::<i32, _>("is_current")? != 0,
                })
            })
            .collect()
    }

    /// A version by ID, or the current one when `version_id` is `None`.
    pub(crate) async fn do_get_code_version(
        &self,
        app_id: &str,
        version_id: Option<&str>,
    ) -> Result<Option<CodeVersion>> {
        const COLS: &str =
            "v.version_id, v.source, v.environment_version, v.created_at, v.modified_at";
        let row = match version_id {
            Some(id) => {
                sqlx::query(&format!(
                    "SELECT {COLS} FROM server_code_versions v \
                     WHERE v.app_id = $1 AND v.version_id = $2"
                ))
                .bind(app_id)
                .bind(id)
                .fetch_optional(&mut *self.read.get().await?)
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {COLS} FROM server_code_current c \
                     JOIN server_code_versions v ON v.app_id = c.app_id AND v.version_id = c.version_id \
                     WHERE c.app_id = $1"
                ))
                .bind(app_id)
                .fetch_optional(&mut *self.read.get().await?)
                .await?
            }
        };
        row.map(|r| version_from_row(&r)).transpose()
    }

    pub(crate) async fn do_delete_code_version(
        &self,
        app_id: &str,
        version_id: &str,
    ) -> Result<bool> {
        let mut conn = self.write.get().await?;
        let mut tx = conn.begin().await?;
        let result = async {
            // Deleting the current version leaves the app without one.
            sqlx::query("DELETE FROM server_code_current WHERE app_id = $1 AND version_id = $2")
                .bind(app_id)
                .bind(version_id)
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query(
                "DELETE FROM server_code_versions WHERE app_id = $1 AND version_id = $2",
            )
            .bind(app_id)
            .bind(version_id)
            .execute(&mut *tx)
            .await?;
            Ok(done.rows_affected() > 0)
        }
        .await;
        finish(tx, result).await
    }

    pub(crate) async fn do_current_versions(&self) -> Result<Vec<(String, CodeVersion)>> {
        let rows = sqlx::query(
            "SELECT c.app_id, v.version_id, v.source, v.environment_version, v.created_at, \
             v.modified_at FROM server_code_current c \
             JOIN server_code_versions v ON v.app_id = c.app_id AND v.version_id = c.version_id \
             ORDER BY c.app_id",
        )
        .fetch_all(&mut *self.read.get().await?)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("app_id")?, version_from_row(r)?)))
            .collect()
    }

    pub(crate) async fn do_get_current_version(&self, app_id: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT version_id FROM server_code_current WHERE app_id = $1")
            .bind(app_id)
            .fetch_optional(&mut *self.read.get().await?)
            .await?;
        row.map(|r| Ok(r.try_get::<String, _>(0)?)).transpose()
    }

    /// Points `current` at `version_id` (`None` clears it). `NotFound` if there is no such version.
    pub(crate) async fn do_set_current_version(
        &self,
        app_id: &str,
        version_id: Option<&str>,
    ) -> Result<()> {
        let mut conn = self.write.get().await?;
        let mut tx = conn.begin().await?;
        let result = async {
            sqlx::query("DELETE FROM server_code_current WHERE app_id = $1")
                .bind(app_id)
                .execute(&mut *tx)
                .await?;
            if let Some(id) = version_id {
                let inserted = sqlx::query(
                    "INSERT INTO server_code_current (app_id, version_id) \
                     SELECT app_id, version_id FROM server_code_versions \
                     WHERE app_id = $1 AND version_id = $2",
                )
                .bind(app_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                if inserted.rows_affected() == 0 {
                    return Err(StorageError::NotFound(crate::Entity::CodeVersion));
                }
            }
            Ok(())
        }
        .await;
        finish(tx, result).await
    }

    pub(crate) async fn do_append_dev_logs(
        &self,
        app_id: &str,
        records: &[DevLogRecord],
    ) -> Result<i64> {
        if records.is_empty() {
            return Ok(0);
        }
        let mut bytes = 0;
        let rows = records
            .iter()
            .map(|r| {
                let fields = serde_json::to_string(&r.fields)?;
                let size = record_bytes(r, &fields);
                bytes += size;
                Ok(serde_json::json!([
                    r.time_ms,
                    r.level as i64,
                    r.key,
                    r.user_id,
                    fields,
                    size
                ]))
            })
            .collect::<serde_json::Result<Vec<_>>>()
            .map_err(|e| StorageError::Backend(format!("developer log record: {e}")))?;
        // The whole burst travels as one JSON parameter, expanded in order by the database:
        // one fixed statement whatever the burst's size (binding hundreds of parameters cost
        // sqlx's SQLite driver time quadratic in their number).
        let sql = match self.dialect() {
            Dialect::Sqlite => {
                "INSERT INTO dev_logs (app_id, time_ms, level, log_key, user_id, fields, bytes) \
                 SELECT $1, value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5 \
                 FROM json_each($2) ORDER BY key"
            }
            Dialect::Postgres => {
                "INSERT INTO dev_logs (app_id, time_ms, level, log_key, user_id, fields, bytes) \
                 SELECT $1, (e ->> 0)::BIGINT, (e ->> 1)::BIGINT, e ->> 2, e ->> 3, e ->> 4, (e ->> 5)::BIGINT \
                 FROM json_array_elements($2::JSON) WITH ORDINALITY AS t(e, i) ORDER BY i"
            }
        };
        let mut conn = self.write.get().await?;
        sqlx::query(sql)
            .bind(app_id)
            .bind(serde_json::Value::Array(rows).to_string())
            .execute(&mut *conn)
            .await?;
        Ok(bytes)
    }

    pub(crate) async fn do_query_dev_logs(
        &self,
        app_id: &str,
        filter: &DevLogFilter,
    ) -> Result<Vec<DevLogRecord>> {
        let mut sql = String::from(
            "SELECT seq, time_ms, level, log_key, user_id, fields FROM dev_logs WHERE app_id = $1",
        );
        let mut n = 1;
        let mut next = |sql: &mut String, condition: &str| {
            n += 1;
            sql.push_str(&format!(" AND {condition} ${n}"));
        };
        if filter.min_level.is_some() {
            next(&mut sql, "level >=");
        }
        if filter.since_ms.is_some() {
            next(&mut sql, "time_ms >=");
        }
        if filter.until_ms.is_some() {
            next(&mut sql, "time_ms <=");
        }
        if filter.user_id.is_some() {
            next(&mut sql, "user_id =");
        }
        n += 1;
        sql.push_str(&format!(" ORDER BY seq DESC LIMIT ${n}"));
        let mut query = sqlx::query(&sql).bind(app_id);
        if let Some(level) = filter.min_level {
            query = query.bind(level as i64);
        }
        if let Some(since) = filter.since_ms {
            query = query.bind(since);
        }
        if let Some(until) = filter.until_ms {
            query = query.bind(until);
        }
        if let Some(user) = &filter.user_id {
            query = query.bind(user.as_str());
        }
        let rows = query
            .bind(filter.limit)
            .fetch_all(&mut *self.read.get().await?)
            .await?;
        let mut records = rows
            .iter()
            .map(dev_log_from_row)
            .collect::<Result<Vec<_>>>()?;
        records.reverse();
        Ok(records)
    }

    /// Drops records older than `min_time_ms`, then the oldest ones until the app's log holds
    /// at most `max_bytes`. Returns how many were dropped.
    pub(crate) async fn do_trim_dev_logs(
        &self,
        app_id: &str,
        max_bytes: i64,
        min_time_ms: i64,
    ) -> Result<u64> {
        let aged = sqlx::query("DELETE FROM dev_logs WHERE app_id = $1 AND time_ms < $2")
            .bind(app_id)
            .bind(min_time_ms)
            .execute(&mut *self.write.get().await?)
            .await?
            .rows_affected();
        let total: i64 = sqlx::query(
            "SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) FROM dev_logs WHERE app_id = $1",
        )
        .bind(app_id)
        .fetch_one(&mut *self.read.get().await?)
        .await?
        .try_get(0)?;
        let mut excess = total - max_bytes;
        if excess <= 0 {
            return Ok(aged);
        }
        // Walk from the oldest record until enough bytes are covered, then cut there.
        let mut after = 0i64;
        let mut cut = None;
        while excess > 0 {
            let rows = sqlx::query(
                "SELECT seq, bytes FROM dev_logs WHERE app_id = $1 AND seq > $2 \
                 ORDER BY seq LIMIT $3",
            )
            .bind(app_id)
            .bind(after)
            .bind(TRIM_PAGE)
            .fetch_all(&mut *self.read.get().await?)
            .await?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let seq: i64 = row.try_get(0)?;
                let bytes: i64 = row.try_get(1)?;
                after = seq;
                excess -= bytes;
                cut = Some(seq);
                if excess <= 0 {
                    break;
                }
            }
        }
        let Some(cut) = cut else {
            return Ok(aged);
        };
        let dropped = sqlx::query("DELETE FROM dev_logs WHERE app_id = $1 AND seq <= $2")
            .bind(app_id)
            .bind(cut)
            .execute(&mut *self.write.get().await?)
            .await?
            .rows_affected();
        Ok(aged + dropped)
    }
}

fn version_from_row(r: &AnyRow) -> Result<CodeVersion> {
    Ok(CodeVersion {
        version_id: r.try_get("version_id")?,
        source: r.try_get("source")?,
        environment_version: r.try_get("environment_version")?,
        created_at: r.try_get("created_at")?,
        modified_at: r.try_get("modified_at")?,
    })
}

fn dev_log_from_row(r: &AnyRow) -> Result<DevLogRecord> {
    let fields: String = r.try_get("fields")?;
    let fields = match serde_json::from_str(&fields) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => return Err(StorageError::Backend("corrupt developer-log record".into())),
    };
    Ok(DevLogRecord {
        seq: r.try_get("seq")?,
        time_ms: r.try_get("time_ms")?,
        level: DevLogRecord::level_from_rank(r.try_get("level")?),
        key: r.try_get("log_key")?,
        user_id: r.try_get("user_id")?,
        fields,
    })
}
