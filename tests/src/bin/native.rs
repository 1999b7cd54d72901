//! `scim-otp-native`: the limit of this design, for `cargo xtask bench` only. The component's
//! request handler (`edge_api::app::handle`, the same code the wasm component runs) compiled
//! natively and served by hyper on rusqlite: no wasm, the same SQL, the same settings from
//! `SPIN_VARIABLE_*`, and per request what Spin's local SQLite backend gives a component: a
//! fresh connection with SQLite's defaults to one file, behind the same retrying wrapper.
//!
//! With `--one-connection` it is the benchmark's floor instead: every request on one
//! connection opened at start (SQLite's defaults, `synchronous` FULL), one request at a time,
//! remembering the session as a reused WASIp3 instance does: what the disk allows a validation's
//! SQL with nothing spent on connections.
//!
//! `scim-otp-native --listen ADDR --db FILE [--one-connection]`; prints `scim-otp is running at
//! http://…` as the runner does. Deliveries to a webhook are not supported here (the benchmark
//! sends none).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use edge_api::app::{Env, handle};
use edge_api::db::Patient;
use edge_api::error::body_limit;
use edge_api::guest;
use edge_api::settings::Settings;
use edge_api::store::SessionMemo;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Where requests get their connection.
enum Connections {
    /// A new one per request, as Spin's local SQLite gives a component.
    PerRequest(PathBuf),
    /// One for all, taken in turn, with what its requests learn of the session (the floor).
    One(Mutex<(rusqlite::Connection, SessionMemo)>),
}

fn variable(name: &'static str) -> Option<String> {
    std::env::var(format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase()))
        .ok()
        .filter(|v| !v.trim().is_empty())
}

async fn respond(
    request: Request<Incoming>,
    client: SocketAddr,
    connections: Arc<Connections>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    // As spin.rs reads it: no further than one byte past the endpoint's limit, which the
    // handler answers 413.
    let limit = body_limit(parts.uri.path());
    let body = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(_) => vec![b' '; limit + 1],
    };
    let mut headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let host = parts.headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost").to_owned();
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    // The headers Spin appends after the client's (crates/trigger-http).
    let full_url = format!("http://{host}{path_and_query}");
    headers.push(("spin-full-url".into(), full_url));
    headers.push(("spin-client-addr".into(), client.to_string()));
    let request = guest::request(parts.method.to_string(), &path_and_query, headers, body);
    let answer = tokio::task::spawn_blocking(move || {
        let settings = Settings::load(&variable);
        let lock_wait_ms = settings.as_ref().map_or(0, |s| s.sqlite_lock_wait_ms);
        let log = |line: &str| eprintln!("{line}");
        let deliver = |_: &_, _: &_| Err("no delivery webhook in the native benchmark host".to_owned());
        let notify = |_: &_, _: &_| Err("no CIBA callback in the native benchmark host".to_owned());
        let answer = |connection: &rusqlite::Connection, memo: Option<&SessionMemo>| {
            // As spin.rs wraps Spin's connection.
            let db = Patient::new(connection, edge_api::store::pause).wait_for_locks(lock_wait_ms);
            let env = Env { db: &db, now: guest::now(), deliver: &deliver, notify: &notify, log: &log, memo };
            handle(&request, settings, &env)
        };
        match &*connections {
            Connections::PerRequest(path) => {
                answer(&rusqlite::Connection::open(path).expect("open the database"), None)
            }
            Connections::One(one) => {
                let (connection, memo) = &*one.lock().unwrap_or_else(|e| e.into_inner());
                answer(connection, Some(memo))
            }
        }
    })
    .await
    .expect("the handler does not panic");
    let mut response = Response::builder().status(answer.status);
    for (name, value) in &answer.headers {
        response = response.header(name, value);
    }
    Ok(response.body(Full::new(Bytes::from(answer.body))).unwrap())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let listen = value("--listen").unwrap_or_else(|| "127.0.0.1:3000".into());
    let db = PathBuf::from(value("--db").expect("--db FILE"));
    let connections = Arc::new(if args.iter().any(|a| a == "--one-connection") {
        let connection = rusqlite::Connection::open(&db).expect("open the database");
        Connections::One(Mutex::new((connection, SessionMemo::new())))
    } else {
        Connections::PerRequest(db)
    });
    let listener = tokio::net::TcpListener::bind(&listen).await.expect("bind");
    println!("scim-otp is running at http://{}", listener.local_addr().unwrap());
    loop {
        let Ok((stream, client)) = listener.accept().await else { continue };
        let connections = connections.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |request| respond(request, client, connections.clone()));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}
