//! Spin glue: Spin's request, SQLite connection, variables and outbound HTTP, handed to [`app::handle`].

use crate::app::{self, Env};
use crate::db::{Database, DbError, Rows, Sql};
use crate::error::MAX_BODY;
use crate::host::{CibaPing, Delivery};
use crate::http::ApiRequest;
use crate::origin::Origin;
use crate::settings::{Settings, Webhook};
use futures::TryStreamExt;
use spin_sdk::http::{IncomingRequest, Method, Request, Response};
use spin_sdk::http_component;
use spin_sdk::sqlite::{Connection, Value};

struct SpinDb(Connection);

impl Database for SpinDb {
    fn execute(&self, sql: &str, params: &[Sql]) -> Result<Rows, DbError> {
        let values: Vec<Value> = params
            .iter()
            .map(|p| match p {
                Sql::Int(n) => Value::Integer(*n),
                Sql::Real(x) => Value::Real(*x),
                Sql::Text(s) => Value::Text(s.clone()),
                Sql::Blob(b) => Value::Blob(b.clone()),
                Sql::Null => Value::Null,
            })
            .collect();
        let result = self.0.execute(sql, &values).map_err(|e| DbError(format!("{e:?}")))?;
        let rows = result
            .rows
            .into_iter()
            .map(|row| {
                row.values
                    .into_iter()
                    .map(|v| match v {
                        Value::Integer(n) => Sql::Int(n),
                        Value::Real(x) => Sql::Real(x),
                        Value::Text(s) => Sql::Text(s),
                        Value::Blob(b) => Sql::Blob(b),
                        Value::Null => Sql::Null,
                    })
                    .collect()
            })
            .collect();
        Ok(Rows { columns: result.columns, rows })
    }
}

fn variable(name: &'static str) -> Option<String> {
    spin_sdk::variables::get(name).ok().filter(|v| !v.trim().is_empty())
}

/// The value Spin's HTTP trigger set for one of its `spin-*` headers. Spin passes the client's
/// headers on and appends its own after them (`crates/trigger-http`, `prepare_request_headers`),
/// so a client can send a `spin-full-url` of its choosing ahead of Spin's: only the last counts.
fn spin_header<'h>(headers: &'h [(String, String)], name: &str) -> &'h str {
    headers.iter().rev().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str())
}

/// POSTs a delivery with a sized body (a streamed one goes out chunked, which some gateways
/// refuse). The error says what went wrong in words fit for the log: never the URL.
fn deliver(webhook: &Webhook, delivery: &Delivery) -> Result<(), String> {
    post(webhook, None, serde_json::to_vec(delivery).map_err(|e| e.to_string())?)
}

/// A CIBA ping (SPEC §14), posted as a delivery is.
fn notify(webhook: &Webhook, ping: &CibaPing) -> Result<(), String> {
    let body = serde_json::json!({ "auth_req_id": ping.auth_req_id });
    post(webhook, ping.token.as_deref(), serde_json::to_vec(&body).map_err(|e| e.to_string())?)
}

fn post(webhook: &Webhook, bearer: Option<&str>, body: Vec<u8>) -> Result<(), String> {
    let mut request = Request::builder();
    request
        .method(Method::Post)
        .uri(webhook.url.as_str())
        .header("content-type", "application/json")
        .header("content-length", body.len().to_string());
    if let Some(token) = bearer {
        request.header("authorization", format!("Bearer {token}"));
    }
    let request = request.body(body).build();
    let response: Response =
        spin_sdk::http::run(spin_sdk::http::send(request)).map_err(|e| format!("no answer ({e})"))?;
    match *response.status() {
        200..=299 => Ok(()),
        status => Err(format!("answered {status}")),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// The body, read as a stream and no further than one byte past [`MAX_BODY`]: an oversized body
/// is answered 413 by [`app::handle`] without ever being held in memory whole.
async fn bounded_body(request: IncomingRequest) -> Vec<u8> {
    let mut body = Vec::new();
    let mut stream = request.into_body_stream();
    while let Ok(Some(chunk)) = stream.try_next().await {
        body.extend_from_slice(&chunk[..chunk.len().min(MAX_BODY + 1 - body.len())]);
        if body.len() > MAX_BODY {
            break;
        }
    }
    body
}

#[http_component]
async fn handle(request: IncomingRequest) -> Response {
    let headers: Vec<(String, String)> = request
        .headers()
        .entries()
        .into_iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), String::from_utf8_lossy(&value).into_owned()))
        .collect();
    let origin = Origin::parse_prefix(spin_header(&headers, "spin-full-url")).map(|(origin, _)| origin);
    let client = spin_header(&headers, "spin-client-addr").to_owned();
    let path_and_query = request.path_with_query().unwrap_or_default();
    let (path, query) = path_and_query.split_once('?').unwrap_or((&path_and_query, ""));
    let api_request = ApiRequest {
        method: request.method().to_string(),
        path: path.to_owned(),
        query: query.to_owned(),
        origin,
        client,
        headers,
        body: bounded_body(request).await,
    };
    let log = log_line;
    let response = match Connection::open_default() {
        Ok(connection) => {
            // A libSQL server interrupts or refuses a statement now and then (see Patient).
            let db = crate::db::Patient::new(SpinDb(connection), crate::store::pause);
            let env = Env { db: &db, now: now(), deliver: &deliver, notify: &notify, log: &log };
            app::handle(&api_request, Settings::load(&variable), &env)
        }
        Err(e) => {
            log(&format!("cannot open SQLite database \"default\": {e:?}"));
            crate::error::ApiError::Internal(String::new())
                .into_response(crate::i18n::Lang::from_accept_language(api_request.header("accept-language")))
        }
    };
    let mut builder = Response::builder();
    builder.status(response.status);
    for (name, value) in response.headers {
        builder.header(name, value);
    }
    builder.body(response.body).build()
}

/// Writes one log line to stderr in one write. `eprintln!` writes the text and its newline
/// separately, and Spin passes each write of concurrent instances on as it comes, so two
/// instances' lines could come out as one line and an empty one.
fn log_line(line: &str) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
}
