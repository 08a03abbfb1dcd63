//! Kii bucket queries: the clause model, its parser (from the JSON the SDK sends), and a
//! reference evaluator that defines the semantics both SQL backends must reproduce.
//!
//! Semantics (documented in the README):
//! - Only top-level fields are queryable; values compare only within their own type (a string
//!   never equals a number); integers and decimals compare numerically with each other.
//! - `not` matches every object the inner clause does not, including objects lacking the field.
//! - Geo distance is great-circle distance on a sphere of radius [`EARTH_RADIUS_M`].

use serde_json::{Map, Value};

use crate::error::{ApiError, ErrorCode};

pub const EARTH_RADIUS_M: f64 = 6_371_000.0;
/// Most values in one `in` clause (Kii's documented limit).
pub const MAX_IN_VALUES: usize = 200;
/// Most clauses in one query, nested ones included.
pub const MAX_CLAUSES: usize = 100;
/// Deepest nesting of `and`/`or`/`not`.
pub const MAX_DEPTH: usize = 10;

/// A comparable value: what a top-level field holds, as far as queries are concerned.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Bool(bool),
    Int(f64),
    Decimal(f64),
    Str(String),
}

impl Scalar {
    /// The scalar a JSON value is, if any (arrays, objects and null are not queryable).
    pub fn from_json(v: &Value) -> Option<Scalar> {
        match v {
            Value::Bool(b) => Some(Scalar::Bool(*b)),
            Value::Number(n) => {
                let f = n.as_f64()?;
                Some(if n.is_i64() || n.is_u64() {
                    Scalar::Int(f)
                } else {
                    Scalar::Decimal(f)
                })
            }
            Value::String(s) => Some(Scalar::Str(s.clone())),
            _ => None,
        }
    }

    /// Values of one class compare with each other; classes never mix.
    pub fn class(&self) -> ValueClass {
        match self {
            Scalar::Bool(_) => ValueClass::Bool,
            Scalar::Int(_) | Scalar::Decimal(_) => ValueClass::Number,
            Scalar::Str(_) => ValueClass::String,
        }
    }

    fn cmp_same_class(&self, other: &Scalar) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (Scalar::Bool(a), Scalar::Bool(b)) => Some(a.cmp(b)),
            (Scalar::Str(a), Scalar::Str(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            (a, b) => match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => x.partial_cmp(&y),
                _ => None,
            },
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Scalar::Int(f) | Scalar::Decimal(f) => Some(*f),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueClass {
    Bool,
    Number,
    String,
}

/// `hasField` types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    String,
    Integer,
    Decimal,
    Boolean,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
}

impl Point {
    /// A stored `{"_type":"point","lat":…,"lon":…}` value.
    pub fn from_json(v: &Value) -> Option<Point> {
        let o = v.as_object()?;
        if o.get("_type")?.as_str()? != "point" {
            return None;
        }
        let (lat, lon) = (o.get("lat")?.as_f64()?, o.get("lon")?.as_f64()?);
        ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon))
            .then_some(Point { lat, lon })
    }

    /// Unit vector on the sphere; the dot product of two is the cosine of their angle, which
    /// lets SQL without trigonometric functions (SQLite) test and order by distance.
    pub fn unit_vector(&self) -> [f64; 3] {
        let (la, lo) = (self.lat.to_radians(), self.lon.to_radians());
        [la.cos() * lo.cos(), la.cos() * lo.sin(), la.sin()]
    }

    /// Great-circle distance in meters.
    pub fn distance_to(&self, other: &Point) -> f64 {
        angle_to_meters(dot(self, other))
    }
}

/// Cosine of the central angle that a radius in meters spans: a point is within the radius
/// exactly when the dot product of the unit vectors is at least this.
pub fn cos_of_radius(radius: f64) -> f64 {
    (radius / EARTH_RADIUS_M).cos()
}

/// Dot product of two points' unit vectors, summed in a fixed order so SQL computes the same.
pub fn dot(a: &Point, b: &Point) -> f64 {
    let (a, b) = (a.unit_vector(), b.unit_vector());
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Meters of great-circle distance for the cosine (dot product) of the central angle.
pub fn angle_to_meters(dot: f64) -> f64 {
    dot.clamp(-1.0, 1.0).acos() * EARTH_RADIUS_M
}

#[derive(Debug, Clone, PartialEq)]
pub enum Clause {
    All,
    Eq {
        field: String,
        value: Scalar,
    },
    Not(Box<Clause>),
    And(Vec<Clause>),
    Or(Vec<Clause>),
    /// At least one bound; `(value, included)`.
    Range {
        field: String,
        lower: Option<(Scalar, bool)>,
        upper: Option<(Scalar, bool)>,
    },
    In {
        field: String,
        values: Vec<Scalar>,
    },
    Prefix {
        field: String,
        prefix: String,
    },
    HasField {
        field: String,
        field_type: FieldType,
    },
    GeoBox {
        field: String,
        ne: Point,
        sw: Point,
    },
    GeoDistance {
        field: String,
        center: Point,
        radius: f64,
        put_into: Option<String>,
    },
}

/// Where a query sorts.
#[derive(Debug, Clone, PartialEq)]
pub enum OrderBy {
    /// Insertion order.
    Natural,
    Field(String),
    /// `_calculated.<name>` of the query's geodistance clause.
    Distance,
}

/// A geodistance clause with `putDistanceInto`: `_calculated.<name>` is the distance from
/// `center` to the point in `field`.
#[derive(Debug, Clone, PartialEq)]
pub struct Distance {
    pub name: String,
    pub field: String,
    pub center: Point,
}

impl Distance {
    /// Meters from the center to the object's point, if it has one.
    pub fn of(&self, fields: &Fields) -> Option<f64> {
        Some(Point::from_json(fields.get(&self.field)?)?.distance_to(&self.center))
    }
}

/// A parsed `bucketQuery`.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketQuery {
    pub clause: Clause,
    pub order_by: OrderBy,
    pub descending: bool,
    /// The geodistance clause whose distance goes into `_calculated`, if any.
    pub distance: Option<Distance>,
    /// `aggregations: [{type: COUNT, putAggregationInto}]`: the name to answer under.
    pub count_into: Option<String>,
}

fn unsupported(msg: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::QueryNotSupported, msg)
}

fn invalid(msg: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidInputData, msg)
}

fn field_of(o: &Map<String, Value>) -> Result<String, ApiError> {
    match o.get("field") {
        Some(Value::String(f)) if !f.is_empty() => Ok(f.clone()),
        _ => Err(invalid("The clause needs a non-empty string field")),
    }
}

fn scalar_of(v: Option<&Value>, what: &str) -> Result<Scalar, ApiError> {
    v.and_then(Scalar::from_json)
        .ok_or_else(|| invalid(format!("{what} must be a string, number or boolean")))
}

fn point_of(v: Option<&Value>, what: &str) -> Result<Point, ApiError> {
    v.and_then(Point::from_json).ok_or_else(|| {
        invalid(format!(
            "{what} must be a point {{\"_type\":\"point\",\"lat\":…,\"lon\":…}}"
        ))
    })
}

struct Budget {
    clauses: usize,
}

fn parse_clause(v: &Value, depth: usize, budget: &mut Budget) -> Result<Clause, ApiError> {
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
    let list = |key: &str, budget: &mut Budget| -> Result<Vec<Clause>, ApiError> {
        let items = o
            .get(key)
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| invalid(format!("{kind} needs a non-empty array {key}")))?;
        items
            .iter()
            .map(|c| parse_clause(c, depth + 1, budget))
            .collect()
    };
    Ok(match kind {
        "all" => Clause::All,
        "eq" => Clause::Eq {
            field: field_of(o)?,
            value: scalar_of(o.get("value"), "eq value")?,
        },
        "not" => {
            let inner = o
                .get("clause")
                .ok_or_else(|| invalid("not needs a clause"))?;
            Clause::Not(Box::new(parse_clause(inner, depth + 1, budget)?))
        }
        "and" => Clause::And(list("clauses", budget)?),
        "or" => Clause::Or(list("clauses", budget)?),
        "range" => {
            let bound = |limit: &str, included: &str| -> Result<Option<(Scalar, bool)>, ApiError> {
                match o.get(limit) {
                    None | Some(Value::Null) => Ok(None),
                    Some(v) => {
                        let s = scalar_of(Some(v), limit)?;
                        let inc = match o.get(included) {
                            None | Some(Value::Null) => true,
                            Some(Value::Bool(b)) => *b,
                            Some(_) => {
                                return Err(invalid(format!("{included} must be a boolean")))
                            }
                        };
                        Ok(Some((s, inc)))
                    }
                }
            };
            let lower = bound("lowerLimit", "lowerIncluded")?;
            let upper = bound("upperLimit", "upperIncluded")?;
            if lower.is_none() && upper.is_none() {
                return Err(invalid("range needs lowerLimit or upperLimit"));
            }
            if let (Some((l, _)), Some((u, _))) = (&lower, &upper) {
                if l.class() != u.class() {
                    return Err(invalid("range limits must be of one type"));
                }
            }
            Clause::Range {
                field: field_of(o)?,
                lower,
                upper,
            }
        }
        "in" => {
            let values = o
                .get("values")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
                .ok_or_else(|| invalid("in needs a non-empty array values"))?;
            if values.len() > MAX_IN_VALUES {
                return Err(invalid(format!("in takes at most {MAX_IN_VALUES} values")));
            }
            let values = values
                .iter()
                .map(|v| scalar_of(Some(v), "in values"))
                .collect::<Result<_, _>>()?;
            Clause::In {
                field: field_of(o)?,
                values,
            }
        }
        "prefix" => Clause::Prefix {
            field: field_of(o)?,
            prefix: o
                .get("prefix")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("prefix needs a string prefix"))?
                .to_owned(),
        },
        "hasField" => Clause::HasField {
            field: field_of(o)?,
            field_type: match o.get("fieldType").and_then(Value::as_str) {
                Some("STRING") => FieldType::String,
                Some("INTEGER") => FieldType::Integer,
                Some("DECIMAL") => FieldType::Decimal,
                Some("BOOLEAN") => FieldType::Boolean,
                _ => {
                    return Err(invalid(
                        "fieldType must be STRING, INTEGER, DECIMAL or BOOLEAN",
                    ))
                }
            },
        },
        "geobox" => {
            let bx = o
                .get("box")
                .and_then(Value::as_object)
                .ok_or_else(|| invalid("geobox needs a box"))?;
            let (ne, sw) = (
                point_of(bx.get("ne"), "box.ne")?,
                point_of(bx.get("sw"), "box.sw")?,
            );
            if ne.lat < sw.lat || ne.lon < sw.lon {
                return Err(invalid("box.ne must lie north-east of box.sw"));
            }
            Clause::GeoBox {
                field: field_of(o)?,
                ne,
                sw,
            }
        }
        "geodistance" => {
            let radius = o
                .get("radius")
                .and_then(Value::as_f64)
                .filter(|r| *r > 0.0 && *r <= 20_000_000.0)
                .ok_or_else(|| invalid("radius must be a number of meters in (0, 20000000]"))?;
            let put_into = match o.get("putDistanceInto") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(_) => return Err(invalid("putDistanceInto must be a string")),
            };
            Clause::GeoDistance {
                field: field_of(o)?,
                center: point_of(o.get("center"), "center")?,
                radius,
                put_into,
            }
        }
        other => {
            return Err(unsupported(format!(
                "Clause type '{other}' is not supported"
            )))
        }
    })
}

/// The geodistance clauses with `putDistanceInto`, outermost first.
fn distance_targets(c: &Clause, out: &mut Vec<Distance>) {
    match c {
        Clause::GeoDistance {
            field,
            put_into: Some(name),
            center,
            ..
        } => out.push(Distance {
            name: name.clone(),
            field: field.clone(),
            center: *center,
        }),
        Clause::Not(inner) => distance_targets(inner, out),
        Clause::And(cs) | Clause::Or(cs) => cs.iter().for_each(|c| distance_targets(c, out)),
        _ => {}
    }
}

impl BucketQuery {
    /// Parses the `bucketQuery` object of a query request.
    pub fn parse(v: &Value) -> Result<Self, ApiError> {
        let o = v
            .as_object()
            .ok_or_else(|| invalid("bucketQuery must be a JSON object"))?;
        let clause = match o.get("clause") {
            None | Some(Value::Null) => Clause::All,
            Some(c) => parse_clause(c, 0, &mut Budget { clauses: 0 })?,
        };
        let mut targets = Vec::new();
        distance_targets(&clause, &mut targets);
        let distance = targets.first().cloned();
        let descending = match o.get("descending") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(invalid("descending must be a boolean")),
        };
        let order_by = match o.get("orderBy") {
            None | Some(Value::Null) => OrderBy::Natural,
            Some(Value::String(f)) if f.is_empty() => OrderBy::Natural,
            Some(Value::String(f)) => match f.strip_prefix("_calculated.") {
                Some(name) => {
                    if distance.as_ref().map(|d| d.name.as_str()) != Some(name) {
                        return Err(unsupported(format!(
                            "No geodistance clause puts its distance into '{name}'"
                        )));
                    }
                    if descending {
                        return Err(unsupported("Distances sort ascending only"));
                    }
                    OrderBy::Distance
                }
                None => OrderBy::Field(f.clone()),
            },
            Some(_) => return Err(invalid("orderBy must be a string")),
        };
        let count_into = match o.get("aggregations") {
            None | Some(Value::Null) => None,
            Some(Value::Array(aggs)) => {
                let [agg] = aggs.as_slice() else {
                    return Err(unsupported("Exactly one aggregation (COUNT) is supported"));
                };
                if agg.get("type").and_then(Value::as_str) != Some("COUNT") {
                    return Err(unsupported("Only the COUNT aggregation is supported"));
                }
                Some(
                    agg.get("putAggregationInto")
                        .and_then(Value::as_str)
                        .unwrap_or("count_field")
                        .to_owned(),
                )
            }
            Some(_) => return Err(invalid("aggregations must be an array")),
        };
        Ok(BucketQuery {
            clause,
            order_by,
            descending,
            distance,
            count_into,
        })
    }
}

/// What the reference evaluator needs of an object: its top-level fields, with system
/// fields (`_id`, `_created`, `_modified`, `_owner`, `_version`, `_dataType`) included.
pub type Fields = Map<String, Value>;

/// Does `fields` match `clause`? The reference semantics.
pub fn matches(clause: &Clause, fields: &Fields) -> bool {
    let scalar = |f: &str| fields.get(f).and_then(Scalar::from_json);
    let same = |a: &Scalar, b: &Scalar| {
        a.class() == b.class() && a.cmp_same_class(b) == Some(std::cmp::Ordering::Equal)
    };
    match clause {
        Clause::All => true,
        Clause::Eq { field, value } => scalar(field).is_some_and(|v| same(&v, value)),
        Clause::Not(inner) => !matches(inner, fields),
        Clause::And(cs) => cs.iter().all(|c| matches(c, fields)),
        Clause::Or(cs) => cs.iter().any(|c| matches(c, fields)),
        Clause::Range {
            field,
            lower,
            upper,
        } => scalar(field).is_some_and(|v| {
            let ok = |bound: &Option<(Scalar, bool)>, want: std::cmp::Ordering| match bound {
                None => true,
                Some((b, inc)) => {
                    v.class() == b.class()
                        && v.cmp_same_class(b)
                            .is_some_and(|o| o == want || (*inc && o.is_eq()))
                }
            };
            ok(lower, std::cmp::Ordering::Greater) && ok(upper, std::cmp::Ordering::Less)
        }),
        Clause::In { field, values } => {
            scalar(field).is_some_and(|v| values.iter().any(|x| same(&v, x)))
        }
        Clause::Prefix { field, prefix } => {
            matches!(scalar(field), Some(Scalar::Str(s)) if s.starts_with(prefix.as_str()))
        }
        Clause::HasField { field, field_type } => matches!(
            (scalar(field), field_type),
            (Some(Scalar::Str(_)), FieldType::String)
                | (Some(Scalar::Int(_)), FieldType::Integer)
                | (Some(Scalar::Decimal(_)), FieldType::Decimal)
                | (Some(Scalar::Bool(_)), FieldType::Boolean)
        ),
        Clause::GeoBox { field, ne, sw } => fields
            .get(field)
            .and_then(Point::from_json)
            .is_some_and(|p| {
                (sw.lat..=ne.lat).contains(&p.lat) && (sw.lon..=ne.lon).contains(&p.lon)
            }),
        Clause::GeoDistance {
            field,
            center,
            radius,
            ..
        } => fields
            .get(field)
            .and_then(Point::from_json)
            .is_some_and(|p| dot(&p, center) >= cos_of_radius(*radius)),
    }
}

/// How the reference orders two objects' values of one sort field: missing first, then
/// booleans, numbers, strings (each in their own order).
pub fn sort_key(v: Option<&Value>) -> (u8, f64, String) {
    match v.and_then(Scalar::from_json) {
        None => (0, 0.0, String::new()),
        Some(Scalar::Bool(b)) => (1, if b { 1.0 } else { 0.0 }, String::new()),
        Some(Scalar::Int(f)) | Some(Scalar::Decimal(f)) => (2, f, String::new()),
        Some(Scalar::Str(s)) => (3, 0.0, s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(v: Value) -> Result<BucketQuery, ApiError> {
        BucketQuery::parse(&v)
    }

    fn obj(v: Value) -> Fields {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn parses_what_the_sdk_sends() {
        let body = json!({"descending":true,"clause":{"type":"and","clauses":[
            {"type":"range","field":"score","lowerLimit":5,"lowerIncluded":false},
            {"type":"range","field":"score","upperLimit":100,"upperIncluded":true},
            {"type":"eq","field":"name","value":"a"},
            {"type":"not","clause":{"type":"eq","field":"name","value":"z"}},
            {"type":"or","clauses":[{"type":"in","field":"k","values":[1,2]},{"type":"prefix","field":"name","prefix":"a"}]},
            {"type":"not","clause":{"type":"hasField","field":"x","fieldType":"STRING"}}]},"orderBy":"score"});
        let parsed = q(body).unwrap();
        assert!(parsed.descending);
        assert_eq!(parsed.order_by, OrderBy::Field("score".into()));
        let o = obj(json!({"score": 50, "name": "a", "k": 3}));
        assert!(matches(&parsed.clause, &o));
        let o = obj(json!({"score": 5, "name": "a", "k": 3}));
        assert!(!matches(&parsed.clause, &o));
    }

    #[test]
    fn geo_queries_and_distance_sorting() {
        let body = json!({"clause":{"type":"geodistance","field":"loc","center":{"_type":"point","lat":35.6,"lon":139.7},"radius":1000,"putDistanceInto":"dist"},"orderBy":"_calculated.dist"});
        let parsed = q(body).unwrap();
        assert_eq!(parsed.order_by, OrderBy::Distance);
        let near = obj(json!({"loc": {"_type":"point","lat":35.6,"lon":139.705}}));
        let far = obj(json!({"loc": {"_type":"point","lat":35.7,"lon":139.7}}));
        assert!(matches(&parsed.clause, &near));
        assert!(!matches(&parsed.clause, &far));
        let d = Point { lat: 0.0, lon: 0.0 }.distance_to(&Point { lat: 0.0, lon: 1.0 });
        assert!((d - 111_195.0).abs() < 10.0, "{d}");
        let bad = json!({"clause":{"type":"all"},"orderBy":"_calculated.nope"});
        assert_eq!(q(bad).unwrap_err().code, ErrorCode::QueryNotSupported);
    }

    #[test]
    fn comparisons_are_type_sensitive() {
        let c = Clause::Eq {
            field: "v".into(),
            value: Scalar::Int(5.0),
        };
        assert!(matches(&c, &obj(json!({"v": 5}))));
        assert!(matches(&c, &obj(json!({"v": 5.0}))));
        assert!(!matches(&c, &obj(json!({"v": "5"}))));
        let r = Clause::Range {
            field: "v".into(),
            lower: Some((Scalar::Str("a".into()), true)),
            upper: None,
        };
        assert!(!matches(&r, &obj(json!({"v": 10}))));
        assert!(matches(&r, &obj(json!({"v": "b"}))));
        // `not` includes objects without the field.
        let n = Clause::Not(Box::new(c));
        assert!(matches(&n, &obj(json!({}))));
    }

    #[test]
    fn malformed_and_unsupported_queries() {
        let code = |v: Value| q(v).unwrap_err().code;
        assert_eq!(
            code(json!({"clause":{"type":"fuzzy","field":"a"}})),
            ErrorCode::QueryNotSupported
        );
        assert_eq!(
            code(json!({"clause":{"type":"eq","field":"a"}})),
            ErrorCode::InvalidInputData
        );
        assert_eq!(
            code(json!({"clause":{"type":"eq","value":1}})),
            ErrorCode::InvalidInputData
        );
        assert_eq!(
            code(json!({"clause":{"type":"eq","field":"a","value":[1]}})),
            ErrorCode::InvalidInputData
        );
        assert_eq!(
            code(json!({"clause":{"type":"range","field":"a"}})),
            ErrorCode::InvalidInputData
        );
        assert_eq!(
            code(json!({"clause":{"type":"range","field":"a","lowerLimit":1,"upperLimit":"z"}})),
            ErrorCode::InvalidInputData
        );
        assert_eq!(
            code(json!({"clause":{"type":"and","clauses":[]}})),
            ErrorCode::InvalidInputData
        );
        assert_eq!(
            code(json!({"clause":{"type":"in","field":"a","values":(0..201).collect::<Vec<_>>()}})),
            ErrorCode::InvalidInputData
        );
        assert_eq!(
            code(json!({"clause":{"type":"hasField","field":"a","fieldType":"DATE"}})),
            ErrorCode::InvalidInputData
        );
        assert_eq!(
            code(
                json!({"clause":{"type":"geodistance","field":"a","center":{"_type":"point","lat":1,"lon":1},"radius":-1}})
            ),
            ErrorCode::InvalidInputData
        );
        assert_eq!(
            code(json!({"clause":{"type":"all"},"aggregations":[{"type":"SUM"}]})),
            ErrorCode::QueryNotSupported
        );
        assert_eq!(
            code(json!({"clause":{"type":"all"},"descending":"yes"})),
            ErrorCode::InvalidInputData
        );
        let mut deep = json!({"type":"all"});
        for _ in 0..12 {
            deep = json!({"type":"not","clause":deep});
        }
        assert_eq!(code(json!({"clause": deep})), ErrorCode::QueryNotSupported);
    }

    #[test]
    fn count_aggregation() {
        let parsed = q(json!({"clause":{"type":"all"},"aggregations":[{"type":"COUNT","putAggregationInto":"count_field"}]})).unwrap();
        assert_eq!(parsed.count_into.as_deref(), Some("count_field"));
    }
}
