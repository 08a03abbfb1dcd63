//! SQL for history queries: a clause becomes a condition with bound parameters, a page a
//! keyset range over `(sort key, id)` whose cursor names the order it was made for.

use base64::Engine;
use serde_json::{json, Value};

use crate::dialect::Dialect;
use crate::execution_query::{
    ExecutionClause, ExecutionOrder, ExecutionQuery, ExecutionTime, TextTest, TimeBound,
};
use crate::params::{Param, Params};
use crate::query_sql::prefix_successor;

/// The columns a history row is read from.
pub(crate) const COLUMNS: &str =
    "id, app_id, version_id, job, scheduled_at, by_hand, status, started_at, finished_at, result";

/// A running execution's `finished_at` as a sort key: later than any real time.
const NOT_FINISHED: i64 = i64::MAX;

pub(crate) struct Built {
    pub sql: String,
    pub params: Vec<Param>,
}

struct Builder {
    dialect: Dialect,
    params: Params,
}

impl Builder {
    fn p(&mut self, p: Param) -> String {
        self.params.add(p)
    }

    /// Text compared in code-point order on both backends (PostgreSQL's default collation
    /// may follow a locale), so that pages and prefixes mean the same everywhere.
    fn text(&self, col: &str) -> String {
        match self.dialect {
            Dialect::Postgres => format!("{col} COLLATE \"C\""),
            Dialect::Sqlite => col.to_owned(),
        }
    }

    /// Every condition is true or false, never NULL, so that `not` of it is its complement.
    fn clause(&mut self, c: &ExecutionClause) -> String {
        match c {
            ExecutionClause::All => "1 = 1".into(),
            ExecutionClause::Range {
                field,
                lower,
                upper,
            } => {
                let col = match field {
                    ExecutionTime::StartedAt => "started_at",
                    ExecutionTime::FinishedAt => "finished_at",
                };
                let mut conds = vec![format!("{col} IS NOT NULL")];
                let mut bound = |b: &Option<TimeBound>, inc: &str, exc: &str| {
                    if let Some(b) = b {
                        let op = if b.included { inc } else { exc };
                        let p = self.p(Param::I(b.at));
                        conds.push(format!("{col} {op} {p}"));
                    }
                };
                bound(lower, ">=", ">");
                bound(upper, "<=", "<");
                format!("({})", conds.join(" AND "))
            }
            ExecutionClause::Name(test) => self.text_test("job", test),
            ExecutionClause::Id(test) => self.text_test("id", test),
            ExecutionClause::Status(statuses) => {
                self.one_of("status", statuses.iter().map(|s| s.as_str().to_owned()))
            }
            ExecutionClause::And(cs) => self.join(cs, " AND ", "1 = 1"),
            ExecutionClause::Or(cs) => self.join(cs, " OR ", "1 = 0"),
            ExecutionClause::Not(inner) => format!("(NOT {})", self.clause(inner)),
        }
    }

    fn join(&mut self, cs: &[ExecutionClause], op: &str, empty: &str) -> String {
        if cs.is_empty() {
            return empty.into();
        }
        let parts: Vec<String> = cs.iter().map(|c| self.clause(c)).collect();
        format!("({})", parts.join(op))
    }

    /// `col` (never NULL) is one of `values`.
    fn one_of(&mut self, col: &str, values: impl Iterator<Item = String>) -> String {
        let ps: Vec<String> = values.map(|v| self.p(Param::S(v))).collect();
        if ps.is_empty() {
            // `IN ()` is not SQL.
            return "1 = 0".into();
        }
        format!("{col} IN ({})", ps.join(", "))
    }

    /// `col` is never NULL (job and id are required columns).
    fn text_test(&mut self, col: &str, test: &TextTest) -> String {
        match test {
            TextTest::Eq(v) => format!("{col} = {}", self.p(Param::S(v.clone()))),
            TextTest::In(vs) => self.one_of(col, vs.iter().cloned()),
            TextTest::Prefix(prefix) if prefix.is_empty() => "1 = 1".into(),
            TextTest::Prefix(prefix) => {
                // The range lets an index serve the test; the `substr` keeps it exact.
                let cmp = self.text(col);
                let lo = self.p(Param::S(prefix.clone()));
                let upper = match prefix_successor(prefix) {
                    Some(hi) => format!(" AND {cmp} < {}", self.p(Param::S(hi))),
                    None => String::new(),
                };
                let n = self.p(Param::I(prefix.chars().count() as i64));
                let exact = self.p(Param::S(prefix.clone()));
                format!(
                    "({cmp} >= {lo}{upper} AND substr({col}, 1, CAST({n} AS INTEGER)) = {exact})"
                )
            }
        }
    }
}

/// What an order sorts by, as an SQL expression.
fn sort_key(b: &Builder, order: ExecutionOrder) -> String {
    match order {
        ExecutionOrder::StartedAt => "started_at".into(),
        ExecutionOrder::FinishedAt => format!("COALESCE(finished_at, {NOT_FINISHED})"),
        ExecutionOrder::Name => b.text("job"),
    }
}

fn order_tag(q: &ExecutionQuery) -> String {
    let field = match q.order_by {
        ExecutionOrder::StartedAt => "s",
        ExecutionOrder::FinishedAt => "f",
        ExecutionOrder::Name => "n",
    };
    let dir = if q.descending { "d" } else { "a" };
    format!("{field}{dir}")
}

/// The cursor after a row: the order it belongs to, the row's sort key and ID, as opaque text.
pub(crate) fn cursor(q: &ExecutionQuery, key: Value, id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!([order_tag(q), key, id]).to_string())
}

/// The sort key of a row as its cursor carries it.
pub(crate) fn key_value(
    order: ExecutionOrder,
    started_at: i64,
    finished_at: Option<i64>,
    job: &str,
) -> Value {
    match order {
        ExecutionOrder::StartedAt => json!(started_at),
        ExecutionOrder::FinishedAt => json!(finished_at.unwrap_or(NOT_FINISHED)),
        ExecutionOrder::Name => json!(job),
    }
}

/// `None` unless `key` is a cursor this query's order made.
fn decode_cursor(q: &ExecutionQuery, key: &str) -> Option<(Param, String)> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(key)
        .ok()?;
    let v: Vec<Value> = serde_json::from_slice(&bytes).ok()?;
    let [tag, key, id] = v.as_slice() else {
        return None;
    };
    if tag.as_str()? != order_tag(q) {
        return None;
    }
    let key = match q.order_by {
        ExecutionOrder::Name => Param::S(key.as_str()?.to_owned()),
        _ => Param::I(key.as_i64()?),
    };
    Some((key, id.as_str()?.to_owned()))
}

/// One page of `q` for `app_id`: at most `limit` rows after the cursor `after`. `None` when
/// `after` is not a cursor of this query's order.
pub(crate) fn page(
    dialect: Dialect,
    app_id: &str,
    q: &ExecutionQuery,
    after: Option<&str>,
    limit: i64,
) -> Option<Built> {
    let mut b = Builder {
        dialect,
        params: Params(vec![Param::S(app_id.to_owned())]),
    };
    let cond = b.clause(&q.clause);
    let key = sort_key(&b, q.order_by);
    let id = b.text("id");
    let mut sql = format!("SELECT {COLUMNS} FROM schedule_executions WHERE app_id = $1 AND {cond}");
    if let Some(after) = after {
        let (k, i) = decode_cursor(q, after)?;
        let (k, i) = (b.p(k), b.p(Param::S(i)));
        let cmp = if q.descending { "<" } else { ">" };
        sql.push_str(&format!(" AND ({key}, {id}) {cmp} ({k}, {i})"));
    }
    let dir = if q.descending { " DESC" } else { "" };
    let lim = b.p(Param::I(limit));
    sql.push_str(&format!(" ORDER BY {key}{dir}, {id}{dir} LIMIT {lim}"));
    Some(Built {
        sql,
        params: b.params.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExecutionStatus;

    fn built(clause: ExecutionClause) -> Built {
        let q = ExecutionQuery {
            clause,
            ..ExecutionQuery::default()
        };
        page(Dialect::Sqlite, "app", &q, None, 10).unwrap()
    }

    #[test]
    fn tenant_values_are_bound_never_written_into_the_text() {
        let evil = "x' OR '1'='1";
        let b = built(ExecutionClause::Or(vec![
            ExecutionClause::Name(TextTest::Prefix(evil.into())),
            ExecutionClause::Id(TextTest::In(vec![evil.into()])),
            ExecutionClause::Status(vec![ExecutionStatus::Failed]),
        ]));
        assert!(!b.sql.contains(evil), "{}", b.sql);
        assert!(b.params.contains(&Param::S(evil.into())));
    }

    #[test]
    fn a_cursor_of_another_order_is_refused() {
        let asc = ExecutionQuery::default();
        let desc = ExecutionQuery {
            descending: true,
            ..ExecutionQuery::default()
        };
        let c = cursor(&asc, json!(5), "e1");
        assert!(page(Dialect::Sqlite, "a", &asc, Some(&c), 10).is_some());
        assert!(page(Dialect::Sqlite, "a", &desc, Some(&c), 10).is_none());
        assert!(page(Dialect::Sqlite, "a", &asc, Some("not a cursor"), 10).is_none());
    }
}
