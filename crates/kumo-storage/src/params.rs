//! Bind parameters: the values of a statement built at run time, and binding them.

/// One bind parameter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param {
    I(i64),
    F(f64),
    S(String),
}

/// Bind parameters of a statement being built, numbered `$1`, `$2`, ….
#[derive(Debug, Default)]
pub(crate) struct Params(pub Vec<Param>);

impl Params {
    pub fn add(&mut self, p: Param) -> String {
        self.0.push(p);
        format!("${}", self.0.len())
    }

    /// A NULL is written as a literal: sqlx's Any driver binds a NULL double as a float4,
    /// which PostgreSQL refuses for a float8 column.
    pub fn add_opt(&mut self, p: Option<Param>) -> String {
        p.map_or_else(|| "NULL".to_owned(), |p| self.add(p))
    }
}

pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

pub(crate) fn bind_params<'q>(mut q: AnyQuery<'q>, params: &'q [Param]) -> AnyQuery<'q> {
    for p in params {
        q = match p {
            Param::I(v) => q.bind(*v),
            Param::F(v) => q.bind(*v),
            Param::S(v) => q.bind(v.as_str()),
        };
    }
    q
}
