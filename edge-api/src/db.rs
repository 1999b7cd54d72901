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

/// What a statement returns: its column names and its rows, as Spin's `sqlite.execute` gives them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Sql>>,
}

/// A failure of the database itself (I/O, busy, constraint, a row that does not read as it
/// should): a 500 whose detail stays in the log, or a 503 when it is [transient](DbError::is_transient).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError(pub String);

/// How the hosts word a failure of the store's moment rather than of the statement. Spin hands
/// every SQLite and libSQL failure over as one `Io` string, so the words are all there is:
/// SQLite's result codes as libSQL's server names them, local SQLite's own message for BUSY, and
/// the libSQL client's failure to reach the server (hyper's words for a connection never made),
/// and sqld's two refusals of a request it has no connection for (HTTP 429: all its connection
/// permits were taken for its one-second wait, or too many requests were waiting; see
/// `libsql-server/src/connection/mod.rs`). Each of these says the statement did not run.
const NOT_RUN: &[&str] = &[
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_INTERRUPT",
    "database is locked",
    "Hrana: `http error: `error trying to connect",
    "Timed out while opening database connection",
    "Too many concurrent requests",
];

/// The libSQL client lost its exchange with the server (a connection closed or reset after the
/// statement was sent, or the answer cut off while it was read): the store failed for the
/// moment, but the statement may have run.
const ANSWER_LOST: &[&str] =
    &["Hrana: `http error", "Hrana: `cursor error: `error reading a body from connection"];

/// sqld's refusals of a request it has no connection for (of [`NOT_RUN`]): it is saturated, and a
/// request that asks again at once only adds to what saturates it (each refusal comes after a
/// one-second wait for a connection permit). These are answered 503 with `Retry-After` at once.
/// The last of them is [`Patient`]'s: a local SQLite file locked for all of a statement's wait.
const OVERLOADED: &[&str] =
    &["Timed out while opening database connection", "Too many concurrent requests", STILL_LOCKED];

/// Local SQLite's words for a statement that found the write lock taken (libSQL's server says
/// `SQLITE_BUSY`, after queueing the writer itself).
const LOCALLY_LOCKED: &str = "database is locked";

/// What [`Patient`] adds to a local lock error when the statement's wait is over.
const STILL_LOCKED: &str = "still locked after every attempt";

/// The busy timeout [`Patient`] asks of a local SQLite connection (`PRAGMA busy_timeout`), in
/// milliseconds: SQLite's busy handler then sleeps this long once and hands the statement back,
/// and [`Patient`] runs it again. SQLite's default handler (Spin opens every connection with a 5 s
/// busy timeout) sleeps 1, 2, 5, 10 … 100 ms between attempts, which made a lock held for about
/// a millisecond a wait of up to 100 ms at the tail.
pub const LOCAL_BUSY_TIMEOUT_MS: u32 = 1;

impl DbError {
    /// The store was busy, interrupted or out of reach: the same work may succeed a moment later.
    pub fn is_transient(&self) -> bool {
        self.did_not_run() || ANSWER_LOST.iter().any(|marker| self.0.contains(marker))
    }

    /// A transient failure that an attempt a few milliseconds later, within the same request, may
    /// get past: not a saturated server's refusal ([`OVERLOADED`]).
    pub fn worth_retrying(&self) -> bool {
        self.is_transient() && !OVERLOADED.iter().any(|marker| self.0.contains(marker))
    }

    /// Local SQLite found the write lock taken (and the statement did nothing).
    fn locally_locked(&self) -> bool {
        self.0.contains(LOCALLY_LOCKED) && !self.0.contains("Hrana")
    }

    /// A transient failure that proves the statement did nothing, so that running it again
    /// cannot do it twice.
    pub fn did_not_run(&self) -> bool {
        NOT_RUN.iter().any(|marker| self.0.contains(marker))
    }
}

/// An error that may say the store failed for the moment (see [`DbError::is_transient`]), and
/// whether [`crate::store`] retries a whole transaction on it ([`DbError::worth_retrying`]).
pub trait Transient {
    fn is_transient(&self) -> bool;
    fn worth_retrying(&self) -> bool;
}

impl Transient for DbError {
    fn is_transient(&self) -> bool {
        DbError::is_transient(self)
    }

    fn worth_retrying(&self) -> bool {
        DbError::worth_retrying(self)
    }
}

/// The pauses before each new attempt of work that failed transiently: five attempts within
/// 150 ms, so that a store that is down is answered 503 quickly and a busy one is waited for.
pub const RETRY_PAUSES_MS: [u64; 4] = [10, 20, 40, 80];

/// A database whose statements outside an explicit transaction run again when they failed
/// without running ([`DbError::did_not_run`]; SQLite undoes a failed statement of its own), and
/// reads whose answer was lost. A write whose answer was lost is not repeated: it may have run,
/// and a failure counted twice or a code refused after it was accepted is worse than a 503.
/// Inside a transaction a statement is never repeated alone: a write interrupted there rolls
/// the whole transaction back, so [`crate::store`] repeats the transaction instead. A saturated
/// server's refusal is not repeated at all ([`DbError::worth_retrying`]).
///
/// A statement that found a local SQLite file's write lock taken runs again at once, up to
/// `lock_attempts` times, when the connection waits [`LOCAL_BUSY_TIMEOUT_MS`] per attempt (see
/// [`Patient::wait_for_locks`]): the lock is looked at every millisecond for about
/// `lock_attempts` milliseconds, and then the store is overloaded (a 503 at once).
pub struct Patient<D> {
    inner: D,
    in_transaction: std::cell::Cell<bool>,
    pause: fn(u64),
    lock_attempts: usize,
}

impl<D: Database> Patient<D> {
    /// `pause(ms)` waits between attempts (a thread sleep; tests pass one that only counts).
    pub fn new(inner: D, pause: fn(u64)) -> Patient<D> {
        Patient { inner, in_transaction: std::cell::Cell::new(false), pause, lock_attempts: 0 }
    }

    /// Asks the connection to wait [`LOCAL_BUSY_TIMEOUT_MS`] for a lock per attempt
    /// ([`ask_for_lock_timeout`]), and looks again for about `wait_ms` in all. On libSQL this is
    /// not wanted (`wait_ms` 0): the server queues writers itself, and the PRAGMA would cost a
    /// round trip per request. A store that refuses the PRAGMA (Turso's hosted service refuses
    /// some) keeps its own way of waiting.
    pub fn wait_for_locks(self, wait_ms: u32) -> Patient<D> {
        if wait_ms > 0 && ask_for_lock_timeout(&self.inner) { self.looking_for_locks(wait_ms) } else { self }
    }

    /// Looks again for about `wait_ms` when a statement finds the lock taken, on a connection
    /// that already took [`ask_for_lock_timeout`] (a connection kept across requests).
    pub fn looking_for_locks(mut self, wait_ms: u32) -> Patient<D> {
        self.lock_attempts = usize::try_from(wait_ms / LOCAL_BUSY_TIMEOUT_MS).unwrap_or(usize::MAX);
        self
    }

    /// Whether a transaction this connection began is still open.
    pub fn in_transaction(&self) -> bool {
        self.in_transaction.get()
    }

    /// Runs a statement again while a local lock keeps it out, each attempt waiting in SQLite.
    fn past_locks(
        &self,
        sql: &str,
        params: &[Sql],
        mut outcome: Result<Rows, DbError>,
    ) -> Result<Rows, DbError> {
        for _ in 1..self.lock_attempts {
            match &outcome {
                Err(e) if e.locally_locked() => outcome = self.inner.execute(sql, params),
                _ => return outcome,
            }
        }
        match outcome {
            Err(e) if self.lock_attempts > 0 && e.locally_locked() => {
                Err(DbError(format!("{} ({STILL_LOCKED})", e.0)))
            }
            outcome => outcome,
        }
    }
}

/// Asks a local SQLite connection to wait [`LOCAL_BUSY_TIMEOUT_MS`] per attempt for a lock
/// (`PRAGMA busy_timeout`); whether it took it.
pub fn ask_for_lock_timeout(db: &impl Database) -> bool {
    db.execute(&format!("PRAGMA busy_timeout = {LOCAL_BUSY_TIMEOUT_MS}"), &[]).is_ok()
}

impl<D: Database + ?Sized> Database for &D {
    fn execute(&self, sql: &str, params: &[Sql]) -> Result<Rows, DbError> {
        (**self).execute(sql, params)
    }
}

impl<D: Database> Database for Patient<D> {
    fn execute(&self, sql: &str, params: &[Sql]) -> Result<Rows, DbError> {
        let word = sql.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
        let mut outcome = self.inner.execute(sql, params);
        // A ROLLBACK's failure is of no consequence (there may be nothing to roll back).
        if !self.in_transaction.get() && word != "ROLLBACK" {
            outcome = self.past_locks(sql, params, outcome);
            let read = word == "SELECT";
            for pause in RETRY_PAUSES_MS {
                match &outcome {
                    Err(e) if e.worth_retrying() && (read || e.did_not_run()) => (self.pause)(pause),
                    _ => break,
                }
                outcome = self.inner.execute(sql, params);
            }
        }
        match word.as_str() {
            "BEGIN" if outcome.is_ok() => self.in_transaction.set(true),
            // A failed COMMIT may leave the transaction open; the ROLLBACK that follows ends it.
            "COMMIT" | "END" if outcome.is_ok() => self.in_transaction.set(false),
            "ROLLBACK" => self.in_transaction.set(false),
            _ => {}
        }
        outcome
    }
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "database error: {}", self.0)
    }
}

pub trait Database {
    /// Runs one statement with positional `?` parameters and returns its rows.
    fn execute(&self, sql: &str, params: &[Sql]) -> Result<Rows, DbError>;
}

impl Rows {
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn first(&self) -> Option<Row<'_>> {
        self.iter().next()
    }

    pub fn iter(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(|values| Row { columns: &self.columns, values })
    }
}

/// One row, read by column name. A missing column or a value of the wrong type is an error that
/// names the column, never a silent default: a query and its reader that drift apart fail loudly.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    columns: &'a [String],
    values: &'a [Sql],
}

impl<'a> Row<'a> {
    fn value(&self, name: &str) -> Result<&'a Sql, DbError> {
        self.columns
            .iter()
            .position(|c| c == name)
            .and_then(|i| self.values.get(i))
            .ok_or_else(|| DbError(format!("the result has no column {name}")))
    }

    /// The columns before `marker`, and those after it: a statement that reads two things side
    /// by side, each read by its own column names.
    pub fn split(&self, marker: &str) -> Result<(Row<'a>, Row<'a>), DbError> {
        let at = self
            .columns
            .iter()
            .position(|c| c == marker)
            .filter(|&at| at < self.values.len())
            .ok_or_else(|| DbError(format!("the result has no column {marker}")))?;
        let (columns, values) = (self.columns, self.values);
        Ok((
            Row { columns: &columns[..at], values: &values[..at] },
            Row { columns: &columns[at + 1..], values: &values[at + 1..] },
        ))
    }

    fn mistyped(name: &str, want: &str, got: &Sql) -> DbError {
        let got = match got {
            Sql::Int(_) => "an integer",
            Sql::Real(_) => "a real",
            Sql::Text(_) => "text",
            Sql::Blob(_) => "a blob",
            Sql::Null => "NULL",
        };
        DbError(format!("column {name} holds {got}, not {want}"))
    }

    /// A nullable integer column.
    pub fn opt_int(&self, name: &str) -> Result<Option<i64>, DbError> {
        match self.value(name)? {
            Sql::Int(n) => Ok(Some(*n)),
            Sql::Null => Ok(None),
            other => Err(Self::mistyped(name, "an integer", other)),
        }
    }

    pub fn int(&self, name: &str) -> Result<i64, DbError> {
        self.opt_int(name)?.ok_or_else(|| Self::mistyped(name, "an integer", &Sql::Null))
    }

    /// A non-negative integer column that must fit `T` (counters, serials, digits).
    pub fn count<T: TryFrom<i64>>(&self, name: &str) -> Result<T, DbError> {
        self.opt_count(name)?.ok_or_else(|| Self::mistyped(name, "an integer", &Sql::Null))
    }

    pub fn opt_count<T: TryFrom<i64>>(&self, name: &str) -> Result<Option<T>, DbError> {
        match self.opt_int(name)? {
            None => Ok(None),
            Some(n) => T::try_from(n)
                .map(Some)
                .map_err(|_| DbError(format!("column {name} holds {n}, out of range"))),
        }
    }

    pub fn opt_text(&self, name: &str) -> Result<Option<&'a str>, DbError> {
        match self.value(name)? {
            Sql::Text(s) => Ok(Some(s)),
            Sql::Null => Ok(None),
            other => Err(Self::mistyped(name, "text", other)),
        }
    }

    pub fn text(&self, name: &str) -> Result<&'a str, DbError> {
        self.opt_text(name)?.ok_or_else(|| Self::mistyped(name, "text", &Sql::Null))
    }

    pub fn opt_blob(&self, name: &str) -> Result<Option<&'a [u8]>, DbError> {
        match self.value(name)? {
            Sql::Blob(b) => Ok(Some(b)),
            Sql::Null => Ok(None),
            other => Err(Self::mistyped(name, "a blob", other)),
        }
    }
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

#[cfg(any(test, all(feature = "native-db", not(target_arch = "wasm32"))))]
pub mod native {
    //! rusqlite behind the same trait, for native tests and fuzz targets of the whole API.
    use super::*;
    use rusqlite::types::{Value, ValueRef};

    impl Database for rusqlite::Connection {
        fn execute(&self, sql: &str, params: &[Sql]) -> Result<Rows, DbError> {
            let err = |e: rusqlite::Error| DbError(e.to_string());
            let mut statement = self.prepare(sql).map_err(err)?;
            let names: Vec<String> = statement.column_names().into_iter().map(str::to_owned).collect();
            let columns = names.len();
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
            Ok(Rows { columns: names, rows: out })
        }
    }
}
