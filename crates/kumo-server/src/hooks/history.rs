//! The schedule-execution history as clients read it: a `ScheduleExecutionQueryRequest` parsed
//! into the storage's typed query (bounded before it is walked), and the reads themselves.

use kumo_storage::{
    ExecutionClause, ExecutionOrder, ExecutionPage, ExecutionQuery, ExecutionStatus, ExecutionTime,
    ScheduleExecution, Storage, TextTest, TimeBound,
};
use kumo_types::{ApiError, ErrorCode};
use serde_json::{Map, Value};

use crate::error::Result;

/// Deepest nesting of `and`/`or`/`not`.
pub(crate) const MAX_DEPTH: usize = 16;
/// Most clauses in one query, nested ones included.
pub(crate) const MAX_CLAUSES: usize = 200;
/// Most values of all `in` clauses of one query together.
pub(crate) const MAX_IN_VALUES: usize = 1_000;
/// Largest page, and the page size when `bestEffortLimit` is absent.
pub(crate) const MAX_PAGE: i64 = 200;

/// A parsed query request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HistoryRequest {
    pub query: ExecutionQuery,
    pub limit: i64,
    pub after: Option<String>,
}

fn invalid(msg: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidInputData, msg)
}

fn unsupported(msg: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::QueryNotSupported, msg)
}

/// `{"scheduleExecutionQuery": {"clause", "orderBy", "descending"}, "bestEffortLimit",
/// "paginationKey"}`; everything may be left out (all records, by start, oldest first).
pub(crate) fn parse_request(body: &Map<String, Value>) -> Result<HistoryRequest, ApiError> {
    let query = match body.get("scheduleExecutionQuery") {
        None | Some(Value::Null) => ExecutionQuery::default(),
        Some(Value::Object(q)) => parse_query(q)?,
        Some(_) => {
            return Err(ApiError::invalid_field(
                "scheduleExecutionQuery",
                "scheduleExecutionQuery must be a JSON object",
            ))
        }
    };
    let limit = match body.get("bestEffortLimit") {
        None | Some(Value::Null) => MAX_PAGE,
        Some(v) => v
            .as_i64()
            .ok_or_else(|| {
                ApiError::invalid_field("bestEffortLimit", "bestEffortLimit must be an integer")
            })?
            .clamp(0, MAX_PAGE),
    };
    let after = match body.get("paginationKey") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(ApiError::invalid_field(
                "paginationKey",
                "paginationKey must be a string",
            ))
        }
    };
    Ok(HistoryRequest {
        query,
        // Like object queries: a limit of zero or less asks for the default page.
        limit: if limit == 0 { MAX_PAGE } else { limit },
        after,
    })
}

fn parse_query(q: &Map<String, Value>) -> Result<ExecutionQuery, ApiError> {
    let clause = match q.get("clause") {
        None | Some(Value::Null) => ExecutionClause::All,
        Some(c) => parse_clause(c, 0, &mut Budget::default())?,
    };
    let order_by = match q.get("orderBy") {
        None | Some(Value::Null) => ExecutionOrder::StartedAt,
        Some(Value::String(f)) => match f.as_str() {
            "startedAt" => ExecutionOrder::StartedAt,
            "finishedAt" => ExecutionOrder::FinishedAt,
            "name" => ExecutionOrder::Name,
            other => {
                return Err(unsupported(format!(
                    "Cannot order by '{other}': orderBy is startedAt, finishedAt or name"
                ))
                .with("field", other))
            }
        },
        Some(_) => return Err(invalid("orderBy must be a string")),
    };
    let descending = match q.get("descending") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("descending must be a boolean")),
    };
    Ok(ExecutionQuery {
        clause,
        order_by,
        descending,
    })
}

#[derive(Default)]
struct Budget {
    clauses: usize,
    values: usize,
}

/// What a clause's `field` names.
enum Field {
    Time(ExecutionTime),
    Name,
    Status,
    Id,
}

fn field_of(o: &Map<String, Value>, kind: &str) -> Result<(Field, String), ApiError> {
    let name = o
        .get("field")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("A {kind} clause needs a string field")))?;
    let field = match name {
        "startedAt" => Field::Time(ExecutionTime::StartedAt),
        "finishedAt" => Field::Time(ExecutionTime::FinishedAt),
        "name" => Field::Name,
        "status" => Field::Status,
        "scheduleExecutionID" => Field::Id,
        other => {
            return Err(unsupported(format!(
                "Unknown field '{other}': clauses may test startedAt, finishedAt, name, status \
                 or scheduleExecutionID"
            ))
            .with("field", other))
        }
    };
    Ok((field, name.to_owned()))
}

/// Depth and size are checked on entry, before anything below is looked at.
fn parse_clause(v: &Value, depth: usize, budget: &mut Budget) -> Result<ExecutionClause, ApiError> {
    budget.clauses += 1;
    if budget.clauses > MAX_CLAUSES {
        return Err(unsupported(format!(
            "A query may have at most {MAX_CLAUSES} clauses"
        )));
    }
    if depth > MAX_DEPTH {
        return Err(unsupported(format!(
            "Clauses may nest at most {MAX_DEPTH} deep"
        )));
    }
    let o = v
        .as_object()
        .ok_or_else(|| invalid("A clause must be a JSON object"))?;
    let kind = o
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("A clause needs a string type"))?;
    let not_on = |field: &str| {
        unsupported(format!("A {kind} clause cannot test {field}")).with("field", field)
    };
    Ok(match kind {
        "all" => ExecutionClause::All,
        "and" | "or" => {
            let items = o
                .get("clauses")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
                .ok_or_else(|| invalid(format!("{kind} needs a non-empty array clauses")))?;
            let cs = items
                .iter()
                .map(|c| parse_clause(c, depth + 1, budget))
                .collect::<Result<Vec<_>, _>>()?;
            if kind == "and" {
                ExecutionClause::And(cs)
            } else {
                ExecutionClause::Or(cs)
            }
        }
        "not" => {
            let inner = o
                .get("clause")
                .ok_or_else(|| invalid("not needs a clause"))?;
            ExecutionClause::Not(Box::new(parse_clause(inner, depth + 1, budget)?))
        }
        "range" => {
            let (field, name) = field_of(o, kind)?;
            let Field::Time(field) = field else {
                return Err(not_on(&name));
            };
            let lower = bound(o, "lowerLimit", "lowerIncluded", f64::ceil, f64::floor)?;
            let upper = bound(o, "upperLimit", "upperIncluded", f64::floor, f64::ceil)?;
            if lower.is_none() && upper.is_none() {
                return Err(invalid("range needs lowerLimit or upperLimit"));
            }
            ExecutionClause::Range {
                field,
                lower,
                upper,
            }
        }
        "eq" => {
            let (field, name) = field_of(o, kind)?;
            let value = o
                .get("value")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(format!("eq on {name} needs a string value")))?;
            match field {
                Field::Name => ExecutionClause::Name(TextTest::Eq(value.to_owned())),
                Field::Id => ExecutionClause::Id(TextTest::Eq(value.to_owned())),
                Field::Status => ExecutionClause::Status(vec![status(value)?]),
                Field::Time(_) => return Err(not_on(&name)),
            }
        }
        "in" => {
            let (field, name) = field_of(o, kind)?;
            let values = o
                .get("values")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
                .ok_or_else(|| invalid("in needs a non-empty array values"))?;
            budget.values += values.len();
            if budget.values > MAX_IN_VALUES {
                return Err(unsupported(format!(
                    "A query's in clauses may list at most {MAX_IN_VALUES} values"
                )));
            }
            let texts = values
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| invalid(format!("in on {name} takes string values")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            match field {
                Field::Name => ExecutionClause::Name(TextTest::In(texts)),
                Field::Id => ExecutionClause::Id(TextTest::In(texts)),
                Field::Status => ExecutionClause::Status(
                    texts
                        .iter()
                        .map(|s| status(s))
                        .collect::<Result<Vec<_>, _>>()?,
                ),
                Field::Time(_) => return Err(not_on(&name)),
            }
        }
        "prefix" => {
            let (field, name) = field_of(o, kind)?;
            let prefix = o
                .get("prefix")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("prefix needs a string prefix"))?;
            match field {
                Field::Name => ExecutionClause::Name(TextTest::Prefix(prefix.to_owned())),
                _ => return Err(not_on(&name)),
            }
        }
        other => {
            return Err(unsupported(format!(
                "Clause type '{other}' is not supported: use all, eq, in, prefix, range, and, \
                 or or not"
            )))
        }
    })
}

fn status(s: &str) -> Result<ExecutionStatus, ApiError> {
    ExecutionStatus::parse(s).ok_or_else(|| {
        invalid(format!(
            "Unknown status '{s}': it is RUNNING, SUCCESS or FAILED"
        ))
    })
}

/// One end of a range. Times are whole milliseconds, so a fractional limit rounds to the
/// whole one that selects the same records (`inclusive` when it is included, `exclusive`
/// when it is not).
fn bound(
    o: &Map<String, Value>,
    limit: &str,
    included: &str,
    inclusive: fn(f64) -> f64,
    exclusive: fn(f64) -> f64,
) -> Result<Option<TimeBound>, ApiError> {
    let Some(v) = o.get(limit).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let included = match o.get(included) {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid(format!("{included} must be a boolean"))),
    };
    let at = match v.as_i64() {
        Some(at) => at,
        None => {
            let f = v
                .as_f64()
                .filter(|f| f.is_finite())
                .ok_or_else(|| invalid(format!("{limit} must be a time in epoch milliseconds")))?;
            // `as` saturates: a limit beyond the range selects as the extreme would.
            (if included { inclusive(f) } else { exclusive(f) }) as i64
        }
    };
    Ok(Some(TimeBound { at, included }))
}

pub(crate) async fn query(
    storage: &dyn Storage,
    app_id: &str,
    req: &HistoryRequest,
) -> Result<ExecutionPage> {
    Ok(storage
        .query_schedule_executions(app_id, &req.query, req.after.as_deref(), req.limit)
        .await?)
}

pub(crate) async fn get(
    storage: &dyn Storage,
    app_id: &str,
    id: &str,
) -> Result<ScheduleExecution> {
    storage
        .get_schedule_execution(app_id, id)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::ScheduleExecutionNotFound,
                format!("No schedule execution '{id}'"),
            )
            .into()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn clause(c: Value) -> Result<ExecutionClause, ApiError> {
        let body = json!({"scheduleExecutionQuery": {"clause": c}});
        parse_request(body.as_object().unwrap()).map(|r| r.query.clause)
    }

    #[test]
    fn fractional_limits_select_the_same_whole_milliseconds() {
        let c = clause(json!({"type":"range","field":"startedAt",
            "lowerLimit": 10.5, "lowerIncluded": true, "upperLimit": 20.5, "upperIncluded": false}))
        .unwrap();
        assert_eq!(
            c,
            ExecutionClause::Range {
                field: ExecutionTime::StartedAt,
                lower: Some(TimeBound {
                    at: 11,
                    included: true
                }),
                upper: Some(TimeBound {
                    at: 21,
                    included: false
                }),
            }
        );
        let c = clause(json!({"type":"range","field":"startedAt",
            "lowerLimit": 10.5, "lowerIncluded": false, "upperLimit": 20.5}))
        .unwrap();
        let ExecutionClause::Range { lower, upper, .. } = c else {
            panic!()
        };
        assert_eq!(lower.unwrap().at, 10);
        assert_eq!(upper.unwrap().at, 20);
    }

    #[test]
    fn a_deep_query_is_refused_before_it_is_walked() {
        let mut c = json!({"type":"all"});
        for _ in 0..100 {
            c = json!({"type":"not","clause": c});
        }
        assert_eq!(clause(c).unwrap_err().code, ErrorCode::QueryNotSupported);
    }

    #[test]
    fn limits_default_and_cap() {
        let parse = |b: Value| parse_request(b.as_object().unwrap()).unwrap().limit;
        assert_eq!(parse(json!({})), MAX_PAGE);
        assert_eq!(parse(json!({"bestEffortLimit": 0})), MAX_PAGE);
        assert_eq!(parse(json!({"bestEffortLimit": -3})), MAX_PAGE);
        assert_eq!(parse(json!({"bestEffortLimit": 7})), 7);
        assert_eq!(parse(json!({"bestEffortLimit": 100_000})), MAX_PAGE);
    }
}
