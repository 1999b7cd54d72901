//! The SCIM OTP API as a WASIp3 component (`wasi:http@0.3.0`, spin-sdk 7): the same
//! [`app::handle`] as the WASIp2 build, in an instance that Spin reuses for many
//! requests (up to 128, 16 at a time by default), so that the instance keeps its SQLite
//! connection from one request to the next: no new connection, schema parse and, at c=1, WAL
//! teardown per request, and on libSQL one remote stream instead of one per request. It also
//! keeps what its requests learnt of the session ([`SessionMemo`]: no session read for a
//! credential and tenant it has seen) and the settings decoded in the current second.
//!
//! The API itself is synchronous: between reading the body and writing the answer a request
//! never yields to another request of the same instance (waiting on the host blocks the whole
//! instance, `wit_bindgen::block_on`), so the shared connection never carries two requests'
//! statements at once, and a transaction is always over when the answer goes.

use crate::app::{self, Env};
use crate::db::{Database, DbError, Patient, Rows, Sql};
use crate::error::body_limit;
use crate::guest;
use crate::host::{CibaPing, Delivery};
use crate::http::ApiResponse;
use crate::settings::{Misconfigured, Settings, Webhook};
use crate::store::SessionMemo;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;
use spin_sdk::sqlite::wit::sqlite::{Connection, Value};
use spin_sdk::wit_bindgen::block_on;
use std::cell::RefCell;

/// The instance's connection to database "default", opened by its first request, and what its
/// requests learnt of the session (a connection lost and opened again is to the same database).
struct Store {
    connection: RefCell<Option<Connection>>,
    /// Whether the connection took the component's busy timeout (see [`Patient::wait_for_locks`]).
    took_lock_timeout: std::cell::Cell<bool>,
    memo: SessionMemo,
    /// The settings as decoded from Spin's variables, and the second they were read in: kept
    /// for the rest of that second (about twenty host calls and the decoding saved per request),
    /// so that a changed variable is seen within a second, as by a new instance.
    settings: RefCell<Option<(i64, Result<Settings, Misconfigured>)>>,
}

thread_local! {
    static STORE: Store = const {
        Store {
            connection: RefCell::new(None),
            took_lock_timeout: std::cell::Cell::new(false),
            memo: SessionMemo::new(),
            settings: RefCell::new(None),
        }
    };
}

/// A libSQL server's refusals of a stream it no longer has: one idle for 10 s (`STREAM_EXPIRED`),
/// or one from before the server restarted (its baton invalid); the statement did not run (nor
/// did the rest of its transaction), and a new connection takes the next one
/// (`libsql-server/src/hrana`).
const CONNECTION_LOST: &[&str] = &[
    "STREAM_EXPIRED",
    "The stream has expired",
    "Received an invalid baton",
    "Received a baton that has already been used",
    "Stream for this baton was closed",
    "InvalidConnection",
];

fn connection_lost(error: &str) -> bool {
    CONNECTION_LOST.iter().any(|marker| error.contains(marker))
}

impl Store {
    fn open(&self) -> Result<(), DbError> {
        if self.connection.borrow().is_none() {
            let connection = Connection::open("default").map_err(|e| DbError(format!("{e:?}")))?;
            *self.connection.borrow_mut() = Some(connection);
            self.took_lock_timeout.set(false);
        }
        Ok(())
    }

    /// Drops the connection (and what it took): the next statement opens a new one.
    fn forget(&self) {
        self.connection.replace(None);
        self.took_lock_timeout.set(false);
    }

    /// Whether the connection looks at a taken write lock every millisecond: the busy timeout
    /// is the connection's, asked for once per connection (see [`Patient::wait_for_locks`]).
    fn waits_for_locks(&self) -> bool {
        if !self.took_lock_timeout.get() && self.open().is_ok() {
            self.took_lock_timeout.set(crate::db::ask_for_lock_timeout(self));
        }
        self.took_lock_timeout.get()
    }

    fn run(&self, sql: &str, values: &[Value]) -> Result<Rows, DbError> {
        self.open()?;
        let connection = self.connection.borrow();
        let Some(connection) = connection.as_ref() else { return Err(DbError("no connection".into())) };
        let result = connection.execute(sql, values).map_err(|e| DbError(format!("{e:?}")))?;
        Ok(rows_of(result.columns, result.rows.into_iter().map(|row| row.values)))
    }
}

guest::sqlite_values!(Value);

impl Database for Store {
    fn execute(&self, sql: &str, params: &[Sql]) -> Result<Rows, DbError> {
        let values: Vec<Value> = params.iter().map(to_value).collect();
        let outcome = self.run(sql, &values);
        match outcome {
            Err(e) if connection_lost(&e.0) => {
                self.forget();
                // Said as a statement that did not run: the caller runs it (or its transaction)
                // again, on a new connection.
                Err(DbError(format!("{} (SQLITE_INTERRUPT: the connection was lost)", e.0)))
            }
            outcome => outcome,
        }
    }
}

fn variable(name: &'static str) -> Option<String> {
    block_on(spin_sdk::variables::get(name)).ok().filter(|v| !v.trim().is_empty())
}

fn deliver(webhook: &Webhook, delivery: &Delivery) -> Result<(), String> {
    post(webhook, None, guest::delivery_body(delivery)?)
}

fn notify(webhook: &Webhook, ping: &CibaPing) -> Result<(), String> {
    post(webhook, ping.token.as_deref(), guest::ping_body(ping)?)
}

/// POSTs a sized body (a streamed one goes out chunked, which some gateways refuse), the
/// instance blocked until the answer. The error never names the URL.
fn post(webhook: &Webhook, bearer: Option<&str>, body: Vec<u8>) -> Result<(), String> {
    let mut request = http::Request::post(webhook.url.as_str())
        .header("content-type", "application/json")
        .header("content-length", body.len().to_string());
    if let Some(token) = bearer {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = request.body(Full::new(Bytes::from(body))).map_err(|e| e.to_string())?;
    let response = block_on(spin_sdk::http::send(request)).map_err(|e| format!("no answer ({e:?})"))?;
    guest::answered(response.status().as_u16())
}

/// The body, no further than one byte past `limit` (see the WASIp2 glue).
async fn bounded_body(request: Request, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    let mut incoming = request.into_body();
    while let Some(Ok(frame)) = incoming.frame().await {
        if let Ok(chunk) = frame.into_data() {
            body.extend_from_slice(&chunk[..chunk.len().min(limit + 1 - body.len())]);
            if body.len() > limit {
                break;
            }
        }
    }
    body
}

#[http_service]
async fn handle(request: Request) -> impl IntoResponse {
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(name, value)| {
            (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned())
        })
        .collect();
    let method = request.method().to_string();
    let path_with_query = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let limit = body_limit(&path_with_query);
    let api_request = guest::request(method, &path_with_query, headers, bounded_body(request, limit).await);
    let answer = response(STORE.with(|store| answer(store, &api_request))).into_response();
    // The conversion spawns a task that writes the body, which wit-bindgen's executor polls
    // only after this one yields; its first write, made before the host has the body's stream,
    // waits there until the host reads it. Returned at once, the answer reaches the host before
    // that write is made, and Spin sends the head alone: the body follows as a second segment,
    // which Nagle's algorithm (Spin's listener does not set TCP_NODELAY) holds until the client
    // acknowledges the head, up to 40 ms with a delayed ACK. Two yields (this task is polled
    // again ahead of the one it spawned) let the write start first, so that the host finds the
    // body with the answer: p99 at c=8 46–50 ms without them, 14–22 ms with (BENCHMARKS.md).
    spin_sdk::wit_bindgen::yield_async().await;
    spin_sdk::wit_bindgen::yield_async().await;
    answer
}

impl Store {
    /// The settings of second `now`: those read earlier in it, else read now.
    fn settings(&self, now: i64) -> Result<Settings, Misconfigured> {
        let mut kept = self.settings.borrow_mut();
        match &*kept {
            Some((second, settings)) if *second == now => settings.clone(),
            _ => {
                let settings = Settings::load(&variable);
                *kept = Some((now, settings.clone()));
                settings
            }
        }
    }
}

fn answer(store: &Store, api_request: &crate::http::ApiRequest) -> ApiResponse {
    let log = guest::log_line;
    let now = guest::now();
    let settings = store.settings(now);
    let lock_wait_ms = settings.as_ref().map_or(0, |s| s.sqlite_lock_wait_ms);
    let mut db = Patient::new(store, crate::store::pause);
    if lock_wait_ms > 0 && store.waits_for_locks() {
        db = db.looking_for_locks(lock_wait_ms);
    }
    let env = Env { db: &db, now, deliver: &deliver, notify: &notify, log: &log, memo: Some(&store.memo) };
    let answer = app::handle(api_request, settings, &env);
    if db.in_transaction() {
        // Never left open (every write commits or rolls back); a connection that still is in
        // one is not given to the next request.
        log("a request left a transaction open: its connection is closed");
        store.forget();
    }
    answer
}

fn response(answer: ApiResponse) -> Result<http::Response<Full<Bytes>>, http::Error> {
    let mut builder = http::Response::builder().status(answer.status);
    for (name, value) in &answer.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder.body(Full::new(Bytes::from(answer.body)))
}
