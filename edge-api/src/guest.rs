//! What the Spin glues share (the WASIp2 one in `spin.rs`, the WASIp3 one in the `edge-api-p3`
//! crate): the request as the API reads it, the log, the clock and the outbound bodies, none of
//! which depends on a Spin SDK.

use crate::host::{CibaPing, Delivery};
use crate::http::ApiRequest;
use crate::origin::Origin;

/// The value Spin's HTTP trigger set for one of its `spin-*` headers. Spin passes the client's
/// headers on and appends its own after them (`crates/trigger-http`, `prepare_request_headers`),
/// so a client can send a `spin-full-url` of its choosing ahead of Spin's: only the last counts.
fn spin_header<'h>(headers: &'h [(String, String)], name: &str) -> &'h str {
    headers.iter().rev().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str())
}

/// The request as [`crate::app::handle`] reads it: `headers` with lower-case names, in Spin's
/// order, and the body as far as the glue read it (one byte past [`crate::error::body_limit`] at
/// most).
pub fn request(
    method: String,
    path_with_query: &str,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
) -> ApiRequest {
    let origin = Origin::parse_prefix(spin_header(&headers, "spin-full-url")).map(|(origin, _)| origin);
    let client = spin_header(&headers, "spin-client-addr").to_owned();
    let (path, query) = path_with_query.split_once('?').unwrap_or((path_with_query, ""));
    ApiRequest { method, path: path.to_owned(), query: query.to_owned(), origin, client, headers, body }
}

/// Writes one log line to stderr in one write. `eprintln!` writes the text and its newline
/// separately, and Spin passes each write of concurrent instances on as it comes, so two
/// instances' lines could come out as one line and an empty one.
pub fn log_line(line: &str) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
}

/// Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// The JSON body of a delivery's POST.
pub fn delivery_body(delivery: &Delivery) -> Result<Vec<u8>, String> {
    serde_json::to_vec(delivery).map_err(|e| e.to_string())
}

/// The JSON body of a CIBA ping (SPEC §14).
pub fn ping_body(ping: &CibaPing) -> Result<Vec<u8>, String> {
    serde_json::to_vec(&serde_json::json!({ "auth_req_id": ping.auth_req_id })).map_err(|e| e.to_string())
}

/// What an outbound POST's status says, in words fit for the log.
pub fn answered(status: u16) -> Result<(), String> {
    match status {
        200..=299 => Ok(()),
        status => Err(format!("answered {status}")),
    }
}

/// `to_value` and `from_value`: [`Sql`](crate::db::Sql) to and from one Spin SDK's SQLite
/// `Value` (spin-sdk 5's and 7's are distinct types with the same variants), with the query
/// result's rows as [`Rows`](crate::db::Rows) (`rows_of`).
#[cfg(all(target_arch = "wasm32", any(feature = "spin-p2", feature = "spin-p3")))]
macro_rules! sqlite_values {
    ($value:ident) => {
        fn to_value(sql: &$crate::db::Sql) -> $value {
            use $crate::db::Sql;
            match sql {
                Sql::Int(n) => $value::Integer(*n),
                Sql::Real(x) => $value::Real(*x),
                Sql::Text(s) => $value::Text(s.clone()),
                Sql::Blob(b) => $value::Blob(b.clone()),
                Sql::Null => $value::Null,
            }
        }

        fn from_value(value: $value) -> $crate::db::Sql {
            use $crate::db::Sql;
            match value {
                $value::Integer(n) => Sql::Int(n),
                $value::Real(x) => Sql::Real(x),
                $value::Text(s) => Sql::Text(s),
                $value::Blob(b) => Sql::Blob(b),
                $value::Null => Sql::Null,
            }
        }

        /// A query result's rows, each a row's values.
        fn rows_of(columns: Vec<String>, rows: impl IntoIterator<Item = Vec<$value>>) -> $crate::db::Rows {
            let rows = rows.into_iter().map(|values| values.into_iter().map(from_value).collect()).collect();
            $crate::db::Rows { columns, rows }
        }
    };
}
#[cfg(all(target_arch = "wasm32", any(feature = "spin-p2", feature = "spin-p3")))]
pub(crate) use sqlite_values;
