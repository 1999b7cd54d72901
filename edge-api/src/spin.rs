//! Spin glue: Spin's request, SQLite connection, variables and outbound HTTP, handed to [`app::handle`].

use crate::app::{self, Env};
use crate::db::{Database, DbError, Rows, Sql};
use crate::error::body_limit;
use crate::guest;
use crate::host::{CibaPing, Delivery};
use crate::http::ApiResponse;
use crate::settings::{Settings, Webhook};
use futures::TryStreamExt;
use spin_sdk::http::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, Request, Response, ResponseOutparam,
};
use spin_sdk::http_component;
use spin_sdk::sqlite::{Connection, Value};

struct SpinDb(Connection);

guest::sqlite_values!(Value);

impl Database for SpinDb {
    fn execute(&self, sql: &str, params: &[Sql]) -> Result<Rows, DbError> {
        let values: Vec<Value> = params.iter().map(to_value).collect();
        let result = self.0.execute(sql, &values).map_err(|e| DbError(format!("{e:?}")))?;
        Ok(rows_of(result.columns, result.rows.into_iter().map(|row| row.values)))
    }
}

fn variable(name: &'static str) -> Option<String> {
    spin_sdk::variables::get(name).ok().filter(|v| !v.trim().is_empty())
}

/// POSTs a delivery with a sized body (a streamed one goes out chunked, which some gateways
/// refuse). The error says what went wrong in words fit for the log: never the URL.
fn deliver(webhook: &Webhook, delivery: &Delivery) -> Result<(), String> {
    post(webhook, None, guest::delivery_body(delivery)?)
}

/// A CIBA ping (SPEC §14), posted as a delivery is.
fn notify(webhook: &Webhook, ping: &CibaPing) -> Result<(), String> {
    post(webhook, ping.token.as_deref(), guest::ping_body(ping)?)
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
    guest::answered(*response.status())
}

/// The body, read as a stream and no further than one byte past `limit` (the endpoint's
/// [`body_limit`]): an oversized body is answered 413 by [`app::handle`] without ever being held
/// in memory whole.
async fn bounded_body(request: IncomingRequest, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    let mut stream = request.into_body_stream();
    while let Ok(Some(chunk)) = stream.try_next().await {
        body.extend_from_slice(&chunk[..chunk.len().min(limit + 1 - body.len())]);
        if body.len() > limit {
            break;
        }
    }
    body
}

#[http_component]
async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    send(response_out, answer(request).await);
}

async fn answer(request: IncomingRequest) -> ApiResponse {
    let headers: Vec<(String, String)> = request
        .headers()
        .entries()
        .into_iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), String::from_utf8_lossy(&value).into_owned()))
        .collect();
    let method = request.method().to_string();
    let path_with_query = request.path_with_query().unwrap_or_default();
    let limit = body_limit(&path_with_query);
    let api_request = guest::request(method, &path_with_query, headers, bounded_body(request, limit).await);
    let log = guest::log_line;
    let settings = Settings::load(&variable);
    let lock_wait_ms = settings.as_ref().map_or(0, |s| s.sqlite_lock_wait_ms);
    let connection = match Connection::open_default() {
        Ok(connection) => connection,
        Err(e) => {
            log(&format!("cannot open SQLite database \"default\": {e:?}"));
            let lang = crate::i18n::Lang::from_accept_language(api_request.header("accept-language"));
            return crate::error::ApiError::Internal(String::new()).into_response(lang);
        }
    };
    // A libSQL server interrupts or refuses a statement now and then, and a local file's write
    // lock is taken now and then (see Patient).
    let db = crate::db::Patient::new(SpinDb(connection), crate::store::pause).wait_for_locks(lock_wait_ms);
    // A new instance per request: nothing to remember from one to the next.
    let env = Env { db: &db, now: guest::now(), deliver: &deliver, notify: &notify, log: &log, memo: None };
    app::handle(&api_request, settings, &env)
}

/// Hands the answer to the host with as much of its body as the host takes at once (a small
/// answer: all of it) already written, so that the host has the head and the body together and
/// can send them in one write: a body written after the head goes out as a second small TCP
/// segment, which Nagle's algorithm holds until the client acknowledges the first, and clients
/// delay that ACK by up to 40 ms (Spin's listener does not set TCP_NODELAY). The rest of a large
/// body follows as the host takes it.
fn send(response_out: ResponseOutparam, answer: ApiResponse) {
    let headers: Vec<(String, Vec<u8>)> =
        answer.headers.into_iter().map(|(name, value)| (name, value.into_bytes())).collect();
    let Ok(fields) = Fields::from_list(&headers) else {
        guest::log_line("an answer's headers were refused by the host");
        let failed = OutgoingResponse::new(Fields::new());
        let _ = failed.set_status_code(500);
        return response_out.set(failed);
    };
    let response = OutgoingResponse::new(fields);
    let _ = response.set_status_code(answer.status);
    let Ok(body) = response.body() else { return response_out.set(response) };
    let Ok(stream) = body.write() else { return response_out.set(response) };
    let at_once = stream.check_write().map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let at_once = at_once.min(answer.body.len());
    let written = if at_once > 0 && stream.write(&answer.body[..at_once]).is_ok() { at_once } else { 0 };
    response_out.set(response);
    // At most 4096 bytes per blocking write (wasi:io/streams).
    for chunk in answer.body[written..].chunks(4096) {
        if stream.blocking_write_and_flush(chunk).is_err() {
            return;
        }
    }
    drop(stream);
    let _ = OutgoingBody::finish(body, None);
}
