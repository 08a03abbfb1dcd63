//! Translates a Kii bucket query into SQL over `objects` and `object_fields`.
//!
//! Every top-level scalar (and geo point) of an object is also a row of `object_fields`,
//! indexed by `(bucket, field, kind, value)`. A clause on a custom field becomes
//! `o.seq IN (SELECT object_seq FROM object_fields WHERE bucket = … AND field = … AND …)`, which
//! both databases answer from that index however large the bucket grows. Pages are keyset
//! ranges over the sort key plus `o.seq`, so inserts and deletes between pages never make a
//! page skip or repeat an object.

use base64::Engine;
use kumo_types::query::{BucketQuery, Clause, FieldType, OrderBy, Point, Scalar, EARTH_RADIUS_M};
use serde_json::Value;

use crate::columns::Columns;
use crate::dialect::Dialect;
use crate::params::{Param, Params};

/// Field kinds in `object_fields.kind`.
pub(crate) const KIND_BOOL: i64 = 1;
pub(crate) const KIND_NUMBER: i64 = 2;
pub(crate) const KIND_STRING: i64 = 3;
pub(crate) const KIND_POINT: i64 = 4;

/// The least string greater than every string that starts with `prefix` (in code-point
/// order, which is UTF-8 byte order), or `None` if there is none.
pub(crate) fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (last as u32 + 1..=0x10FFFF).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::prefix_successor;

    #[test]
    fn prefix_successors() {
        assert_eq!(prefix_successor("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_successor("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_successor("\u{10FFFF}"), None);
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum KeyType {
    Int,
    Float,
    Text,
}

pub(crate) struct Built {
    pub sql: String,
    pub params: Vec<Param>,
    /// How many sort-key columns (`k0`, `k1`, …) the select list carries, with their types.
    key_types: Vec<KeyType>,
}

struct Builder {
    dialect: Dialect,
    params: Params,
}

enum SysCol {
    Int(&'static str),
    Text(&'static str),
}

fn system_column(field: &str) -> Option<SysCol> {
    Some(match field {
        "_id" => SysCol::Text("o.id"),
        "_owner" => SysCol::Text("o.owner"),
        "_dataType" => SysCol::Text("o.data_type"),
        "_created" => SysCol::Int("o.created_at"),
        "_modified" => SysCol::Int("o.modified_at"),
        "_version" => SysCol::Int("o.version"),
        _ => return None,
    })
}

use kumo_types::query::cos_of_radius;

impl Builder {
    fn p(&mut self, param: Param) -> String {
        self.params.add(param)
    }

    fn text_col(&self, col: &str) -> String {
        match self.dialect {
            Dialect::Postgres => format!("{col} COLLATE \"C\""),
            Dialect::Sqlite => col.to_owned(),
        }
    }

    /// `(kind, value column, value param)` for a scalar on `object_fields`.
    fn field_value(&mut self, s: &Scalar) -> (i64, &'static str, String) {
        match s {
            Scalar::Bool(b) => (
                KIND_BOOL,
                "f.num",
                self.p(Param::F(if *b { 1.0 } else { 0.0 })),
            ),
            Scalar::Int(x) | Scalar::Decimal(x) => (KIND_NUMBER, "f.num", self.p(Param::F(*x))),
            Scalar::Str(t) => (KIND_STRING, "f.str", self.p(Param::S(t.clone()))),
        }
    }

    fn on_field(&mut self, bucket: &str, field: &str, cond: String) -> String {
        let f = self.p(Param::S(field.to_owned()));
        format!(
            "o.seq IN (SELECT f.object_seq FROM object_fields f WHERE f.bucket_seq = {bucket} \
             AND f.field = {f} AND {cond})"
        )
    }

    fn clause(&mut self, c: &Clause, bucket: &str) -> String {
        match c {
            Clause::All => "1 = 1".into(),
            Clause::Not(inner) => format!("NOT ({})", self.clause(inner, bucket)),
            Clause::And(cs) | Clause::Or(cs) => {
                let op = if matches!(c, Clause::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                let parts: Vec<String> = cs
                    .iter()
                    .map(|c| format!("({})", self.clause(c, bucket)))
                    .collect();
                parts.join(op)
            }
            Clause::Eq { field, value } => match system_column(field) {
                Some(col) => self.system_compare(col, &[(value, "=")]),
                None => {
                    let (kind, col, v) = self.field_value(value);
                    self.on_field(bucket, field, format!("f.kind = {kind} AND {col} = {v}"))
                }
            },
            Clause::Range {
                field,
                lower,
                upper,
            } => {
                let mut bounds = Vec::new();
                if let Some((v, inc)) = lower {
                    bounds.push((v, if *inc { ">=" } else { ">" }));
                }
                if let Some((v, inc)) = upper {
                    bounds.push((v, if *inc { "<=" } else { "<" }));
                }
                match system_column(field) {
                    Some(col) => self.system_compare(col, &bounds),
                    None => {
                        let mut conds = Vec::new();
                        let mut kind = 0;
                        for (v, op) in bounds {
                            let (k, col, p) = self.field_value(v);
                            kind = k;
                            conds.push(format!("{col} {op} {p}"));
                        }
                        self.on_field(
                            bucket,
                            field,
                            format!("f.kind = {kind} AND {}", conds.join(" AND ")),
                        )
                    }
                }
            }
            Clause::In { field, values } => {
                let alternatives: Vec<String> = match system_column(field) {
                    Some(_) => values
                        .iter()
                        .map(|v| {
                            let col = system_column(field).expect("checked");
                            self.system_compare(col, &[(v, "=")])
                        })
                        .collect(),
                    None => {
                        // One `col IN (…)` per kind, which both planners read off the value
                        // index as point lookups.
                        let mut groups: Vec<(i64, &str, Vec<String>)> = Vec::new();
                        for v in values {
                            let (kind, col, p) = self.field_value(v);
                            match groups.iter_mut().find(|(k, c, _)| *k == kind && *c == col) {
                                Some((_, _, ps)) => ps.push(p),
                                None => groups.push((kind, col, vec![p])),
                            }
                        }
                        let conds: Vec<String> = groups
                            .iter()
                            .map(|(kind, col, ps)| {
                                format!("(f.kind = {kind} AND {col} IN ({}))", ps.join(", "))
                            })
                            .collect();
                        vec![self.on_field(bucket, field, format!("({})", conds.join(" OR ")))]
                    }
                };
                format!("({})", alternatives.join(" OR "))
            }
            Clause::Prefix { field, prefix } => {
                let n = prefix.chars().count() as i64;
                match system_column(field) {
                    Some(SysCol::Text(col)) => {
                        // NULL-safe, so that `not` of it counts objects without the column.
                        let col_c = self.text_col(col);
                        format!(
                            "({col} IS NOT NULL AND {})",
                            self.prefix_cond(&col_c, col, prefix, n)
                        )
                    }
                    Some(SysCol::Int(_)) => "1 = 0".into(),
                    None => {
                        let cond = self.prefix_cond("f.str", "f.str", prefix, n);
                        self.on_field(bucket, field, format!("f.kind = {KIND_STRING} AND {cond}"))
                    }
                }
            }
            Clause::HasField { field, field_type } => match system_column(field) {
                Some(SysCol::Text(col)) if *field_type == FieldType::String => {
                    format!("{col} IS NOT NULL")
                }
                Some(SysCol::Int(_)) if *field_type == FieldType::Integer => "1 = 1".into(),
                Some(_) => "1 = 0".into(),
                None => {
                    let cond = match field_type {
                        FieldType::String => format!("f.kind = {KIND_STRING}"),
                        FieldType::Boolean => format!("f.kind = {KIND_BOOL}"),
                        FieldType::Integer => format!("f.kind = {KIND_NUMBER} AND f.dec = 0"),
                        FieldType::Decimal => format!("f.kind = {KIND_NUMBER} AND f.dec = 1"),
                    };
                    self.on_field(bucket, field, cond)
                }
            },
            Clause::GeoBox { field, ne, sw } => {
                if system_column(field).is_some() {
                    return "1 = 0".into();
                }
                let (s, n) = (self.p(Param::F(sw.lat)), self.p(Param::F(ne.lat)));
                let (w, e) = (self.p(Param::F(sw.lon)), self.p(Param::F(ne.lon)));
                self.on_field(
                    bucket,
                    field,
                    format!("f.kind = {KIND_POINT} AND f.num >= {s} AND f.num <= {n} AND f.lon >= {w} AND f.lon <= {e}"),
                )
            }
            Clause::GeoDistance {
                field,
                center,
                radius,
                ..
            } => {
                if system_column(field).is_some() {
                    return "1 = 0".into();
                }
                // The latitude band is a cheap, index-friendly superset; the dot product decides.
                let band = (radius / EARTH_RADIUS_M).to_degrees() + 1e-6;
                let (lo, hi) = (
                    self.p(Param::F(center.lat - band)),
                    self.p(Param::F(center.lat + band)),
                );
                let dot = self.dot("f", center);
                let min = self.p(Param::F(cos_of_radius(*radius)));
                self.on_field(
                    bucket,
                    field,
                    format!("f.kind = {KIND_POINT} AND f.num >= {lo} AND f.num <= {hi} AND {dot} >= {min}"),
                )
            }
        }
    }

    fn dot(&mut self, alias: &str, center: &Point) -> String {
        let [x, y, z] = center.unit_vector();
        let (x, y, z) = (
            self.p(Param::F(x)),
            self.p(Param::F(y)),
            self.p(Param::F(z)),
        );
        format!("({alias}.gx * {x} + {alias}.gy * {y} + {alias}.gz * {z})")
    }

    fn prefix_cond(&mut self, col_cmp: &str, col: &str, prefix: &str, n: i64) -> String {
        if prefix.is_empty() {
            return format!("{col} IS NOT NULL");
        }
        let lo = self.p(Param::S(prefix.to_owned()));
        let upper = match prefix_successor(prefix) {
            Some(hi) => format!(" AND {col_cmp} < {}", self.p(Param::S(hi))),
            None => String::new(),
        };
        let len = self.p(Param::I(n));
        let exact = self.p(Param::S(prefix.to_owned()));
        format!("{col_cmp} >= {lo}{upper} AND substr({col}, 1, CAST({len} AS INTEGER)) = {exact}")
    }

    /// Compares a system column with each `(value, operator)`; a value of another type than
    /// the column never matches.
    fn system_compare(&mut self, col: SysCol, comparisons: &[(&Scalar, &str)]) -> String {
        let mut conds = Vec::new();
        for (v, op) in comparisons {
            match (&col, v) {
                (SysCol::Int(c), Scalar::Int(x) | Scalar::Decimal(x)) => {
                    let p = self.p(Param::F(*x));
                    conds.push(format!("{c} {op} {p}"));
                }
                (SysCol::Text(c), Scalar::Str(s)) => {
                    let p = self.p(Param::S(s.clone()));
                    let cc = self.text_col(c);
                    conds.push(format!("{c} IS NOT NULL AND {cc} {op} {p}"));
                }
                _ => return "1 = 0".into(),
            }
        }
        format!("({})", conds.join(" AND "))
    }
}

/// The cursor of a hit: its sort-key values and seq, as opaque text.
pub(crate) fn encode_cursor(values: &[Value]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Value::Array(values.to_vec()).to_string())
}

fn decode_cursor(key: &str, types: &[KeyType]) -> Option<Vec<Param>> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(key)
        .ok()?;
    let values: Vec<Value> = serde_json::from_slice(&bytes).ok()?;
    if values.len() != types.len() + 1 {
        return None;
    }
    let mut out = Vec::new();
    for (v, t) in values
        .iter()
        .zip(types.iter().chain(std::iter::once(&KeyType::Int)))
    {
        out.push(match t {
            KeyType::Int => Param::I(v.as_i64()?),
            // Floats travel as their bit patterns: decimal text may not parse back exactly.
            KeyType::Float => Param::F(f64::from_bits(v.as_u64()?)),
            KeyType::Text => Param::S(v.as_str()?.to_owned()),
        });
    }
    Some(out)
}

/// Builds the page query. `$1` is the bucket seq. Returns `None` for a malformed cursor.
pub(crate) fn build_page(
    dialect: Dialect,
    bucket_seq: i64,
    q: &BucketQuery,
    after: Option<&str>,
    limit: i64,
) -> Option<Built> {
    let mut b = Builder {
        dialect,
        params: Params(vec![Param::I(bucket_seq)]),
    };
    if let Some(built) = equality_by_creation(&mut b, q, after, limit) {
        return built;
    }
    let where_clause = b.clause(&q.clause, "$1");
    // SQLite has no statistics to tell that an equality on a field is selective; left alone
    // it walks the whole bucket in sort order. A unary `+` keeps it off the bucket and sort
    // indexes, so it starts from the field index and sorts the few matches.
    let drive = dialect == Dialect::Sqlite && has_selective_conjunct(&q.clause);
    let plus = if drive { "+" } else { "" };
    let mut joins = String::new();
    let (keys, key_types): (Vec<String>, Vec<KeyType>) = match &q.order_by {
        OrderBy::Natural => (vec![], vec![]),
        OrderBy::Distance => {
            let distance = q.distance.clone()?;
            let f = b.p(Param::S(distance.field));
            joins = format!(
                " LEFT JOIN object_fields d ON d.object_seq = o.seq AND d.field = {f} AND d.kind = {KIND_POINT}"
            );
            let dot = b.dot("d", &distance.center);
            (vec![format!("COALESCE(-{dot}, 3.0)")], vec![KeyType::Float])
        }
        OrderBy::Field(field) => match system_column(field) {
            Some(SysCol::Int(col)) => (vec![col.to_owned()], vec![KeyType::Int]),
            Some(SysCol::Text(col)) => (
                vec![
                    format!("CASE WHEN {col} IS NULL THEN 0 ELSE {KIND_STRING} END"),
                    format!("COALESCE({}, '')", b.text_col(col)),
                ],
                vec![KeyType::Int, KeyType::Text],
            ),
            None => {
                let f = b.p(Param::S(field.clone()));
                joins = format!(
                    " LEFT JOIN object_fields s ON s.object_seq = o.seq AND s.field = {f} \
                     AND s.kind IN ({KIND_BOOL}, {KIND_NUMBER}, {KIND_STRING})"
                );
                (
                    vec![
                        "COALESCE(s.kind, 0)".into(),
                        "COALESCE(s.num, 0)".into(),
                        "COALESCE(s.str, '')".into(),
                    ],
                    vec![KeyType::Int, KeyType::Float, KeyType::Text],
                )
            }
        },
    };
    let mut all_keys = keys.clone();
    all_keys.push("o.seq".into());
    let mut sql = String::from(
        "SELECT o.seq, o.id, o.data, o.data_type, o.owner, o.acl, o.version, o.created_at, o.modified_at",
    );
    for (i, k) in keys.iter().enumerate() {
        sql.push_str(&format!(", {k} AS k{i}"));
    }
    sql.push_str(&format!(
        " FROM objects o{joins} WHERE {plus}o.bucket_seq = $1 AND ({where_clause})"
    ));
    let cmp = if q.descending { "<" } else { ">" };
    if let Some(key) = after {
        let values = decode_cursor(key, &key_types)?;
        let placeholders: Vec<String> = values.into_iter().map(|v| b.p(v)).collect();
        sql.push_str(&format!(
            " AND ({}) {cmp} ({})",
            all_keys.join(", "),
            placeholders.join(", ")
        ));
    }
    let dir = if q.descending { " DESC" } else { "" };
    let order: Vec<String> = all_keys.iter().map(|k| format!("{plus}{k}{dir}")).collect();
    let lim = b.p(Param::I(limit));
    sql.push_str(&format!(" ORDER BY {} LIMIT {lim}", order.join(", ")));
    Some(Built {
        sql,
        params: b.params.0,
        key_types,
    })
}

/// The commonest shape, one equality on a field sorted by creation time (“my latest items”),
/// read straight off the `(bucket, field, kind, value, created_at, seq)` index: no sort, and
/// only `limit` rows touched however many objects match. Same results and same cursors as the
/// general path. `None` when the query has another shape; `Some(None)` for a bad cursor.
fn equality_by_creation(
    b: &mut Builder,
    q: &BucketQuery,
    after: Option<&str>,
    limit: i64,
) -> Option<Option<Built>> {
    let Clause::Eq { field, value } = &q.clause else {
        return None;
    };
    if system_column(field).is_some() || q.order_by != OrderBy::Field("_created".into()) {
        return None;
    }
    let f = b.p(Param::S(field.clone()));
    let (kind, col, v) = b.field_value(value);
    let join = match b.dialect {
        // CROSS JOIN fixes SQLite's join order: the field index drives.
        Dialect::Sqlite => "CROSS JOIN",
        Dialect::Postgres => "JOIN",
    };
    let mut sql = format!(
        "SELECT o.seq, o.id, o.data, o.data_type, o.owner, o.acl, o.version, o.created_at, o.modified_at, \
         f.created_at AS k0 FROM object_fields f {join} objects o ON o.seq = f.object_seq \
         WHERE f.bucket_seq = $1 AND f.field = {f} AND f.kind = {kind} AND {col} = {v}"
    );
    let (cmp, dir) = if q.descending {
        ("<", " DESC")
    } else {
        (">", "")
    };
    if let Some(key) = after {
        let Some(values) = decode_cursor(key, &[KeyType::Int]) else {
            return Some(None);
        };
        let ps: Vec<String> = values.into_iter().map(|v| b.p(v)).collect();
        sql.push_str(&format!(
            " AND (f.created_at, f.object_seq) {cmp} ({})",
            ps.join(", ")
        ));
    }
    let lim = b.p(Param::I(limit));
    sql.push_str(&format!(
        " ORDER BY f.created_at{dir}, f.object_seq{dir} LIMIT {lim}"
    ));
    Some(Some(Built {
        sql,
        params: std::mem::take(&mut b.params.0),
        key_types: vec![KeyType::Int],
    }))
}

/// Does the clause, read as a conjunction, have a member that an index narrows well (an
/// equality, `in`, prefix or geo test on a custom field)?
fn has_selective_conjunct(c: &Clause) -> bool {
    match c {
        Clause::And(cs) => cs.iter().any(has_selective_conjunct),
        Clause::Eq { field, .. } | Clause::In { field, .. } | Clause::Prefix { field, .. } => {
            system_column(field).is_none()
        }
        Clause::GeoBox { .. } | Clause::GeoDistance { .. } => true,
        _ => false,
    }
}

/// Builds `SELECT COUNT(*)` for a clause. `$1` is the bucket seq.
pub(crate) fn build_count(
    dialect: Dialect,
    bucket_seq: i64,
    clause: &Clause,
) -> (String, Vec<Param>) {
    let mut b = Builder {
        dialect,
        params: Params(vec![Param::I(bucket_seq)]),
    };
    let where_clause = b.clause(clause, "$1");
    let plus = if dialect == Dialect::Sqlite && has_selective_conjunct(clause) {
        "+"
    } else {
        ""
    };
    (
        format!(
            "SELECT COUNT(*) AS n FROM objects o WHERE {plus}o.bucket_seq = $1 AND ({where_clause})"
        ),
        b.params.0,
    )
}

impl Built {
    /// The cursor values of a row: its key columns, then its seq.
    pub(crate) fn cursor_of(&self, row: &dyn Columns) -> crate::Result<String> {
        let mut values = Vec::new();
        for (i, t) in self.key_types.iter().enumerate() {
            let col = format!("k{i}");
            values.push(match t {
                KeyType::Int => Value::from(row.int(&col)?),
                KeyType::Float => Value::from(row.float(&col)?.to_bits()),
                KeyType::Text => Value::from(row.text(&col)?),
            });
        }
        values.push(Value::from(row.int("seq")?));
        Ok(encode_cursor(&values))
    }
}

/// Index rows for an object's top-level fields: `(field, kind, dec, num, str, lon, gx, gy, gz)`.
pub(crate) struct FieldRow {
    pub field: String,
    pub kind: i64,
    pub dec: i64,
    pub num: Option<f64>,
    pub str: Option<String>,
    pub lon: Option<f64>,
    pub g: Option<[f64; 3]>,
}

pub(crate) fn index_rows(data: &serde_json::Map<String, Value>) -> Vec<FieldRow> {
    let mut rows = Vec::new();
    for (field, v) in data {
        let row = |kind, dec, num, str| FieldRow {
            field: field.clone(),
            kind,
            dec,
            num,
            str,
            lon: None,
            g: None,
        };
        match Scalar::from_json(v) {
            Some(Scalar::Bool(b)) => {
                rows.push(row(KIND_BOOL, 0, Some(if b { 1.0 } else { 0.0 }), None))
            }
            Some(Scalar::Int(x)) => rows.push(row(KIND_NUMBER, 0, Some(x), None)),
            Some(Scalar::Decimal(x)) => rows.push(row(KIND_NUMBER, 1, Some(x), None)),
            Some(Scalar::Str(s)) => rows.push(row(KIND_STRING, 0, None, Some(s))),
            None => {
                if let Some(p) = Point::from_json(v) {
                    rows.push(FieldRow {
                        field: field.clone(),
                        kind: KIND_POINT,
                        dec: 0,
                        num: Some(p.lat),
                        str: None,
                        lon: Some(p.lon),
                        g: Some(p.unit_vector()),
                    });
                }
            }
        }
    }
    rows
}
