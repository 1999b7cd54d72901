//! The Spin host interfaces the component imports, over local resources: `fermyon:spin/sqlite`
//! on rusqlite and `fermyon:spin/variables` from the manifest and `SPIN_VARIABLE_*`.
//!
//! SQLite behaves as in Spin's own local backend (`crates/sqlite-inproc`): every guest `open` gets
//! a fresh connection with SQLite's defaults (foreign keys off, the file's own journal mode,
//! `synchronous` FULL), so no connection state outlives a request. What differs is only how
//! fast a statement waits for another connection's write lock, which a component cannot observe.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use wasmtime::component::{Resource, ResourceTable};

wasmtime::component::bindgen!({
    path: "wit/spin.wit",
    world: "spin-host",
    imports: { default: async },
    with: {
        "fermyon:spin/sqlite.connection": Connection,
    },
});

use fermyon::spin::{sqlite, variables};

/// How hard SQLite syncs. `Full` is SQLite's default and Spin's: every commit survives power
/// loss. `Normal` (`--sync normal`, a tuning Spin does not apply) keeps every commit across a
/// process crash in WAL mode, at a fraction of the cost per write, but may lose the last ones
/// on power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sync {
    Normal,
    Full,
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
    fn connect(&self, name: &str) -> Result<rusqlite::Connection, sqlite::Error> {
        let path = self.files.get(name).ok_or(sqlite::Error::NoSuchDatabase)?;
        let io = |e: rusqlite::Error| sqlite::Error::Io(e.to_string());
        let connection = rusqlite::Connection::open(path).map_err(io)?;
        if self.sync == Sync::Normal {
            connection.execute_batch("PRAGMA synchronous = NORMAL").map_err(io)?;
        }
        Ok(connection)
    }
}

/// The connection's busy timeout in milliseconds (what the guest set, or rusqlite's default).
fn busy_timeout(connection: &rusqlite::Connection) -> u64 {
    connection.query_row("PRAGMA busy_timeout", [], |row| row.get(0)).unwrap_or(5_000)
}

/// A guest's open connection; the SQLite connection is lent out while a statement runs.
pub struct Connection {
    inner: Option<rusqlite::Connection>,
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

fn execute(
    connection: &rusqlite::Connection,
    statement: &str,
    parameters: &[sqlite::Value],
) -> rusqlite::Result<sqlite::QueryResult> {
    use rusqlite::types::{Value, ValueRef};
    let mut prepared = connection.prepare_cached(statement)?;
    let columns: Vec<String> = prepared.column_names().into_iter().map(str::to_owned).collect();
    let values = parameters.iter().map(|v| match v {
        sqlite::Value::Integer(n) => Value::Integer(*n),
        sqlite::Value::Real(x) => Value::Real(*x),
        sqlite::Value::Text(s) => Value::Text(s.clone()),
        sqlite::Value::Blob(b) => Value::Blob(b.clone()),
        sqlite::Value::Null => Value::Null,
    });
    let mut rows = prepared.query(rusqlite::params_from_iter(values))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            values.push(match row.get_ref(i)? {
                ValueRef::Null => sqlite::Value::Null,
                ValueRef::Integer(n) => sqlite::Value::Integer(n),
                ValueRef::Real(x) => sqlite::Value::Real(x),
                ValueRef::Text(t) => sqlite::Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => sqlite::Value::Blob(b.to_vec()),
            });
        }
        out.push(sqlite::RowResult { values });
    }
    Ok(sqlite::QueryResult { columns, rows: out })
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
    connection: rusqlite::Connection,
    statement: String,
    parameters: Vec<sqlite::Value>,
    sync: Sync,
) -> (Option<rusqlite::Connection>, Result<sqlite::QueryResult, sqlite::Error>) {
    let io = |e: rusqlite::Error| sqlite::Error::Io(e.to_string());
    if sync == Sync::Normal {
        let before = busy_timeout(&connection);
        let _ = connection.busy_handler(None);
        let result = execute(&connection, &statement, &parameters);
        // The timeout is put back, unless this statement was the guest setting its own.
        let sets_it = statement.to_ascii_lowercase().contains("busy_timeout");
        let ms = if sets_it { busy_timeout(&connection) } else { before };
        let _ = connection.busy_timeout(std::time::Duration::from_millis(ms));
        match result {
            Err(e) if is_busy(&e) => {}
            result => return (Some(connection), result.map_err(io)),
        }
    }
    let waited = tokio::task::spawn_blocking(move || {
        let result = execute(&connection, &statement, &parameters).map_err(io);
        (Some(connection), result)
    })
    .await;
    // If the blocking task panicked, the connection went with it; the guest's handle is then
    // invalid, and the pool opens a new connection for the next request.
    waited.unwrap_or_else(|e| (None, Err(sqlite::Error::Io(e.to_string()))))
}

pub struct SpinCtx<'a> {
    state: &'a mut SpinState,
    table: &'a mut ResourceTable,
}

impl sqlite::Host for SpinCtx<'_> {}

impl sqlite::HostConnection for SpinCtx<'_> {
    async fn open(&mut self, database: String) -> Result<Resource<Connection>, sqlite::Error> {
        if !self.state.allowed_databases.contains(&database) {
            return Err(sqlite::Error::AccessDenied);
        }
        let databases = self.state.databases.clone();
        let connection = tokio::task::spawn_blocking(move || databases.connect(&database))
            .await
            .map_err(|e| sqlite::Error::Io(e.to_string()))??;
        self.table.push(Connection { inner: Some(connection) }).map_err(|e| sqlite::Error::Io(e.to_string()))
    }

    async fn execute(
        &mut self,
        handle: Resource<Connection>,
        statement: String,
        parameters: Vec<sqlite::Value>,
    ) -> Result<sqlite::QueryResult, sqlite::Error> {
        let entry = self.table.get_mut(&handle).map_err(|_| sqlite::Error::InvalidConnection)?;
        let connection = entry.inner.take().ok_or(sqlite::Error::InvalidConnection)?;
        let sync = self.state.databases.sync;
        let (connection, result) = run_statement(connection, statement, parameters, sync).await;
        if let Ok(entry) = self.table.get_mut(&handle) {
            entry.inner = connection;
        }
        result
    }

    async fn drop(&mut self, handle: Resource<Connection>) -> wasmtime::Result<()> {
        // Closing rolls back a transaction the guest left open, and may touch the disk.
        if let Some(connection) = self.table.delete(handle)?.inner {
            tokio::task::spawn_blocking(move || drop(connection)).await?;
        }
        Ok(())
    }
}

impl variables::Host for SpinCtx<'_> {
    async fn get(&mut self, name: String) -> Result<String, variables::Error> {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(variables::Error::InvalidName(name));
        }
        self.state.variables.get(&name).cloned().ok_or(variables::Error::Undefined(name))
    }
}

struct HasSpin;

impl wasmtime::component::HasData for HasSpin {
    type Data<'a> = SpinCtx<'a>;
}

pub fn add_to_linker<T: SpinView + Send + 'static>(
    linker: &mut wasmtime::component::Linker<T>,
) -> wasmtime::Result<()> {
    fn view<T: SpinView>(data: &mut T) -> SpinCtx<'_> {
        let (state, table) = data.spin();
        SpinCtx { state, table }
    }
    sqlite::add_to_linker::<T, HasSpin>(linker, view)?;
    variables::add_to_linker::<T, HasSpin>(linker, view)?;
    Ok(())
}
