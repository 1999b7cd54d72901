//! The Spin host interfaces the component imports, over local resources: SQLite on rusqlite and
//! variables from the manifest and `SPIN_VARIABLE_*`, in both of Spin's versions (Spin 2's
//! `fermyon:spin/*@2.0.0` for the WASIp2 build, Spin 3's `spin:*` for the WASIp3 build).
//!
//! SQLite behaves as in Spin's own local backend (`crates/sqlite-inproc`): every guest `open` gets
//! a fresh connection with SQLite's defaults (foreign keys off, the file's own journal mode,
//! `synchronous` FULL), which lives as long as the guest keeps it: one request in a WASIp2
//! instance, many in a reused WASIp3 one. What differs is only how fast a statement waits for
//! another connection's write lock, which a component cannot observe.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use wasmtime::component::{Resource, ResourceTable};

/// Spin 2's interfaces (`fermyon:spin/*@2.0.0`), which the WASIp2 build imports.
mod v2 {
    wasmtime::component::bindgen!({
        path: "wit/spin.wit",
        world: "spin-host",
        imports: { default: async },
        with: {
            "fermyon:spin/sqlite.connection": super::Connection,
        },
    });
}

/// Spin 3's (`spin:sqlite/sqlite@3.1.0`, `spin:variables/variables@3.0.0`), which the WASIp3
/// build imports. Their synchronous functions run on the store's fiber, as Spin's do.
mod v3 {
    wasmtime::component::bindgen!({
        path: "wit/spin3.wit",
        world: "spin3-host",
        imports: { default: async },
        with: {
            "spin:sqlite/sqlite.connection": super::Connection,
        },
    });
}

/// How hard SQLite syncs. `Full` is SQLite's default and Spin's: every commit survives power
/// loss. `Normal` (`--sync normal`, a tuning Spin does not apply) keeps every commit across a
/// process crash in WAL mode, at a fraction of the cost per write, but may lose the last ones
/// on power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sync {
    Normal,
    Full,
}

/// Why a database call failed, before it takes the shape of one interface version's error.
enum Refusal {
    NoSuchDatabase,
    AccessDenied,
    InvalidConnection,
    Io(String),
}

impl From<rusqlite::Error> for Refusal {
    fn from(e: rusqlite::Error) -> Refusal {
        Refusal::Io(e.to_string())
    }
}

/// The databases the component may open.
pub struct Databases {
    files: BTreeMap<String, PathBuf>,
    sync: Sync,
}

impl Databases {
    pub fn new(files: BTreeMap<String, PathBuf>, sync: Sync) -> Databases {
        Databases { files, sync }
    }

    /// A new connection to `name`, as Spin opens one for each guest `open`: with rusqlite's
    /// defaults (a 5 s busy timeout, SQLite's own busy handler), which the guest may change
    /// (`PRAGMA busy_timeout`) as it can on Spin (`crates/sqlite-inproc`).
    fn connect(&self, name: &str) -> Result<rusqlite::Connection, Refusal> {
        let path = self.files.get(name).ok_or(Refusal::NoSuchDatabase)?;
        let connection = rusqlite::Connection::open(path)?;
        if self.sync == Sync::Normal {
            connection.execute_batch("PRAGMA synchronous = NORMAL")?;
        }
        Ok(connection)
    }
}

/// rusqlite's busy timeout, which a new connection has until the guest sets its own.
const DEFAULT_BUSY_TIMEOUT_MS: u64 = 5_000;

/// A guest's open connection; the SQLite connection is lent out while a statement runs.
pub struct Connection {
    inner: Option<rusqlite::Connection>,
    /// The busy timeout the guest asked for (`--sync normal` lifts it while it first tries a
    /// statement, and puts it back).
    busy_timeout_ms: u64,
}

/// Per-request state of the Spin interfaces.
pub struct SpinState {
    pub databases: Arc<Databases>,
    /// Databases this component may open (`sqlite_databases`).
    pub allowed_databases: Arc<Vec<String>>,
    /// The component's variables, already resolved.
    pub variables: Arc<BTreeMap<String, String>>,
}

pub trait SpinView {
    fn spin(&mut self) -> (&mut SpinState, &mut ResourceTable);
}

/// A statement's answer: its column names and rows.
struct Table {
    columns: Vec<String>,
    rows: Vec<Vec<rusqlite::types::Value>>,
}

fn execute(
    connection: &rusqlite::Connection,
    statement: &str,
    parameters: &[rusqlite::types::Value],
) -> rusqlite::Result<Table> {
    let mut prepared = connection.prepare_cached(statement)?;
    let columns: Vec<String> = prepared.column_names().into_iter().map(str::to_owned).collect();
    let mut rows = prepared.query(rusqlite::params_from_iter(parameters))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push((0..columns.len()).map(|i| row.get(i)).collect::<rusqlite::Result<_>>()?);
    }
    Ok(Table { columns, rows: out })
}

fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Runs a statement the cheap way first: right here on the async worker, with no busy handler,
/// so that the worker never waits for a lock that a request parked on this very worker may hold.
/// Only when another connection holds the write lock does the statement move to a blocking
/// thread, which waits for the lock as the connection's busy timeout says (the guest's, as on
/// Spin). A statement that failed with SQLITE_BUSY changed nothing, so running it again is safe.
/// (Handing every statement to a blocking thread cost two thread switches each: most of the
/// host's time per request.) With `--sync full` every commit waits for an fsync, so statements
/// always go to a blocking thread there.
async fn run_statement(
    mut connection: Connection,
    statement: String,
    parameters: Vec<rusqlite::types::Value>,
    sync: Sync,
) -> (Connection, Result<Table, Refusal>) {
    let Some(inner) = connection.inner.take() else { return (connection, Err(Refusal::InvalidConnection)) };
    if sync == Sync::Normal {
        let _ = inner.busy_handler(None);
        let result = execute(&inner, &statement, &parameters);
        if statement.to_ascii_lowercase().contains("busy_timeout") {
            // The guest set its own timeout (or read it, which changes nothing).
            connection.busy_timeout_ms = inner
                .query_row("PRAGMA busy_timeout", [], |row| row.get(0))
                .unwrap_or(connection.busy_timeout_ms);
        }
        let _ = inner.busy_timeout(std::time::Duration::from_millis(connection.busy_timeout_ms));
        match result {
            Err(e) if is_busy(&e) => {}
            result => {
                connection.inner = Some(inner);
                return (connection, result.map_err(Refusal::from));
            }
        }
    }
    let waited = tokio::task::spawn_blocking(move || {
        let result = execute(&inner, &statement, &parameters).map_err(Refusal::from);
        (inner, result)
    })
    .await;
    // If the blocking task panicked, the SQLite connection went with it; the guest's handle is
    // then invalid.
    match waited {
        Ok((inner, result)) => {
            connection.inner = Some(inner);
            (connection, result)
        }
        Err(e) => (connection, Err(Refusal::Io(e.to_string()))),
    }
}

pub struct SpinCtx<'a> {
    state: &'a mut SpinState,
    table: &'a mut ResourceTable,
}

impl SpinCtx<'_> {
    async fn open(&mut self, database: String) -> Result<Resource<Connection>, Refusal> {
        if !self.state.allowed_databases.contains(&database) {
            return Err(Refusal::AccessDenied);
        }
        let databases = self.state.databases.clone();
        let connection = tokio::task::spawn_blocking(move || databases.connect(&database))
            .await
            .map_err(|e| Refusal::Io(e.to_string()))??;
        let connection = Connection { inner: Some(connection), busy_timeout_ms: DEFAULT_BUSY_TIMEOUT_MS };
        self.table.push(connection).map_err(|e| Refusal::Io(e.to_string()))
    }

    async fn execute(
        &mut self,
        handle: &Resource<Connection>,
        statement: String,
        parameters: Vec<rusqlite::types::Value>,
    ) -> Result<Table, Refusal> {
        let entry = self.table.get_mut(handle).map_err(|_| Refusal::InvalidConnection)?;
        let connection = Connection { inner: entry.inner.take(), busy_timeout_ms: entry.busy_timeout_ms };
        let sync = self.state.databases.sync;
        let (connection, result) = run_statement(connection, statement, parameters, sync).await;
        if let Ok(entry) = self.table.get_mut(handle) {
            *entry = connection;
        }
        result
    }

    async fn close(&mut self, handle: Resource<Connection>) -> wasmtime::Result<()> {
        // Closing rolls back a transaction the guest left open, and may touch the disk.
        if let Some(connection) = self.table.delete(handle)?.inner {
            tokio::task::spawn_blocking(move || drop(connection)).await?;
        }
        Ok(())
    }

    fn variable(&self, name: String) -> Result<String, (VariableRefusal, String)> {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err((VariableRefusal::InvalidName, name));
        }
        self.state.variables.get(&name).cloned().ok_or((VariableRefusal::Undefined, name))
    }
}

enum VariableRefusal {
    InvalidName,
    Undefined,
}

/// The conversions between rusqlite and one version's `sqlite` interface, and its
/// `connection` resource over [`SpinCtx`]; both versions declare the same types.
macro_rules! sqlite_interface {
    ($sqlite:path) => {
        use $sqlite as sqlite;

        impl From<Refusal> for sqlite::Error {
            fn from(refusal: Refusal) -> sqlite::Error {
                match refusal {
                    Refusal::NoSuchDatabase => sqlite::Error::NoSuchDatabase,
                    Refusal::AccessDenied => sqlite::Error::AccessDenied,
                    Refusal::InvalidConnection => sqlite::Error::InvalidConnection,
                    Refusal::Io(message) => sqlite::Error::Io(message),
                }
            }
        }

        fn to_sqlite(value: sqlite::Value) -> rusqlite::types::Value {
            use rusqlite::types::Value;
            match value {
                sqlite::Value::Integer(n) => Value::Integer(n),
                sqlite::Value::Real(x) => Value::Real(x),
                sqlite::Value::Text(s) => Value::Text(s),
                sqlite::Value::Blob(b) => Value::Blob(b),
                sqlite::Value::Null => Value::Null,
            }
        }

        fn from_sqlite(value: rusqlite::types::Value) -> sqlite::Value {
            use rusqlite::types::Value;
            match value {
                Value::Integer(n) => sqlite::Value::Integer(n),
                Value::Real(x) => sqlite::Value::Real(x),
                Value::Text(s) => sqlite::Value::Text(s),
                Value::Blob(b) => sqlite::Value::Blob(b),
                Value::Null => sqlite::Value::Null,
            }
        }

        impl sqlite::Host for SpinCtx<'_> {}

        impl sqlite::HostConnection for SpinCtx<'_> {
            async fn open(&mut self, database: String) -> Result<Resource<Connection>, sqlite::Error> {
                Ok(SpinCtx::open(self, database).await?)
            }

            async fn execute(
                &mut self,
                handle: Resource<Connection>,
                statement: String,
                parameters: Vec<sqlite::Value>,
            ) -> Result<sqlite::QueryResult, sqlite::Error> {
                let parameters = parameters.into_iter().map(to_sqlite).collect();
                let table = SpinCtx::execute(self, &handle, statement, parameters).await?;
                let rows = table
                    .rows
                    .into_iter()
                    .map(|row| sqlite::RowResult { values: row.into_iter().map(from_sqlite).collect() });
                Ok(sqlite::QueryResult { columns: table.columns, rows: rows.collect() })
            }

            async fn drop(&mut self, handle: Resource<Connection>) -> wasmtime::Result<()> {
                self.close(handle).await
            }
        }
    };
}

mod sqlite2 {
    use super::*;
    sqlite_interface!(super::v2::fermyon::spin::sqlite);
}

mod sqlite3 {
    use super::*;
    sqlite_interface!(super::v3::spin::sqlite::sqlite);
}

impl v2::fermyon::spin::variables::Host for SpinCtx<'_> {
    async fn get(&mut self, name: String) -> Result<String, v2::fermyon::spin::variables::Error> {
        use v2::fermyon::spin::variables::Error;
        self.variable(name).map_err(|(refusal, name)| match refusal {
            VariableRefusal::InvalidName => Error::InvalidName(name),
            VariableRefusal::Undefined => Error::Undefined(name),
        })
    }
}

struct HasSpin;

impl wasmtime::component::HasData for HasSpin {
    type Data<'a> = SpinCtx<'a>;
}

impl v3::spin::variables::variables::Host for SpinCtx<'_> {}

impl<T> v3::spin::variables::variables::HostWithStore<T> for HasSpin {
    async fn get(
        accessor: &wasmtime::component::Accessor<T, Self>,
        name: String,
    ) -> Result<String, v3::spin::variables::variables::Error> {
        use v3::spin::variables::variables::Error;
        accessor.with(|mut access| {
            access.get().variable(name).map_err(|(refusal, name)| match refusal {
                VariableRefusal::InvalidName => Error::InvalidName(name),
                VariableRefusal::Undefined => Error::Undefined(name),
            })
        })
    }
}

/// Adds both versions of the interfaces: a linker serves either build.
pub fn add_to_linker<T: SpinView + Send + 'static>(
    linker: &mut wasmtime::component::Linker<T>,
) -> wasmtime::Result<()> {
    fn view<T: SpinView>(data: &mut T) -> SpinCtx<'_> {
        let (state, table) = data.spin();
        SpinCtx { state, table }
    }
    v2::fermyon::spin::sqlite::add_to_linker::<T, HasSpin>(linker, view)?;
    v2::fermyon::spin::variables::add_to_linker::<T, HasSpin>(linker, view)?;
    v3::spin::sqlite::sqlite::add_to_linker::<T, HasSpin>(linker, view)?;
    v3::spin::variables::variables::add_to_linker::<T, HasSpin>(linker, view)?;
    Ok(())
}
