//! The SQL connection the store runs on: Spin SQLite in the component, rusqlite in native tests.
//! The trait has the shape of Spin's `sqlite.execute`, so both sides implement it directly.

use shared::filter::SqlParam;

#[derive(Debug, Clone, PartialEq)]
pub enum Sql {
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    Null,
}

pub type Row = Vec<Sql>;

/// A failure of the database itself (I/O, busy, constraint): a 500 whose detail stays in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError(pub String);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "database error: {}", self.0)
    }
}

pub trait Database {
    /// Runs one statement with positional `?` parameters and returns its rows.
    fn execute(&self, sql: &str, params: &[Sql]) -> Result<Vec<Row>, DbError>;
}

impl From<SqlParam> for Sql {
    fn from(p: SqlParam) -> Sql {
        match p {
            SqlParam::Int(n) => Sql::Int(n),
            SqlParam::Real(x) => Sql::Real(x),
            SqlParam::Text(s) => Sql::Text(s),
        }
    }
}

impl From<i64> for Sql {
    fn from(n: i64) -> Sql {
        Sql::Int(n)
    }
}

impl From<&str> for Sql {
    fn from(s: &str) -> Sql {
        Sql::Text(s.to_owned())
    }
}

impl From<String> for Sql {
    fn from(s: String) -> Sql {
        Sql::Text(s)
    }
}

impl<T: Into<Sql>> From<Option<T>> for Sql {
    fn from(v: Option<T>) -> Sql {
        v.map_or(Sql::Null, Into::into)
    }
}

impl Sql {
    pub fn int(&self) -> Option<i64> {
        match self {
            Sql::Int(n) => Some(*n),
            _ => None,
        }
    }

    pub fn text(&self) -> Option<&str> {
        match self {
            Sql::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn blob(&self) -> Option<&[u8]> {
        match self {
            Sql::Blob(b) => Some(b),
            _ => None,
        }
    }
}

/// Column `i` of a row, or NULL when the row is shorter (a query/reader mismatch shows as absent
/// values, never as a panic).
pub fn col(row: &Row, i: usize) -> &Sql {
    row.get(i).unwrap_or(&Sql::Null)
}

#[cfg(any(test, all(feature = "native-db", not(target_arch = "wasm32"))))]
pub mod native {
    //! rusqlite behind the same trait, for native tests and fuzz targets of the whole API.
    use super::*;
    use rusqlite::types::{Value, ValueRef};

    impl Database for rusqlite::Connection {
        fn execute(&self, sql: &str, params: &[Sql]) -> Result<Vec<Row>, DbError> {
            let err = |e: rusqlite::Error| DbError(e.to_string());
            let mut statement = self.prepare(sql).map_err(err)?;
            let columns = statement.column_count();
            let values = params.iter().map(|p| match p {
                Sql::Int(n) => Value::Integer(*n),
                Sql::Real(x) => Value::Real(*x),
                Sql::Text(s) => Value::Text(s.clone()),
                Sql::Blob(b) => Value::Blob(b.clone()),
                Sql::Null => Value::Null,
            });
            let mut rows = statement.query(rusqlite::params_from_iter(values)).map_err(err)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(err)? {
                let mut values = Vec::with_capacity(columns);
                for i in 0..columns {
                    values.push(match row.get_ref(i).map_err(err)? {
                        ValueRef::Null => Sql::Null,
                        ValueRef::Integer(n) => Sql::Int(n),
                        ValueRef::Real(x) => Sql::Real(x),
                        ValueRef::Text(t) => Sql::Text(String::from_utf8_lossy(t).into_owned()),
                        ValueRef::Blob(b) => Sql::Blob(b.to_vec()),
                    });
                }
                out.push(values);
            }
            Ok(out)
        }
    }
}
