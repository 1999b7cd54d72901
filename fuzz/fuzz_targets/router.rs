//! Any request to the whole API (`app::handle`: CORS, limits, auth, router, handlers, store) on
//! an in-memory database: it never panics, and never answers 500 (a 500 means a bug or a SQL
//! error; 502 is a failed delivery, which this gateway never causes).

#![no_main]

#[path = "common.rs"]
mod common;

use arbitrary::Arbitrary;
use edge_api::app::{Env, handle};
use edge_api::http::ApiRequest;
use edge_api::origin::Origin;
use edge_api::settings::{ApiToken, Right, Settings, TenantGrant};
use libfuzzer_sys::fuzz_target;
use std::sync::{LazyLock, Mutex};

const TOKEN: &str = "fuzz-token";

#[derive(Arbitrary, Debug)]
struct Input {
    method: u8,
    base: u8,
    /// A route of [`ROUTES`] that `path` follows, so that every resource is reached at once.
    route: u8,
    path: String,
    query: String,
    content_type: u8,
    authorized: bool,
    origin: Option<String>,
    body: Body,
}

/// A body as bytes, or a named action (SPEC §14) with attributes of the names HID's actions read.
#[derive(Arbitrary, Debug)]
enum Body {
    Raw(Vec<u8>),
    Action { name: u8, attributes: Vec<(u8, String)>, extra: Option<(String, String)> },
}

/// Where a path starts: each resource, an authenticator of the fixture, an action target.
const ROUTES: &[&str] = &[
    "",
    "OtpDevice/",
    "Users/",
    "Authenticator/",
    "Authenticator/1.AT_EMPOTP",
    "Authenticator/3.AT_CUSTQA",
    "Authenticator/1.AT_OOBEML",
    "Authenticator/.AT_EMPOTP",
    "Policy/Authenticator/",
    "Policy/Authenticator/AT_EMPOTP",
];
const ACTIONS: &[&str] = &[
    "USER-CHALLENGE",
    "DEVICE-CHALLENGE",
    "VERIFY",
    "RESET",
    "DELIVER-CHALLENGE",
    "REGISTER-OOB",
    "UNREGISTER-OOB",
    "verify",
    "",
];
const ATTRIBUTES: &[&str] = &[
    "RESPONSE",
    "CHALLENGE.ID",
    "DEVICE.ID",
    "DEVICE.EXTERNALID",
    "DEVICETYPE",
    "USER.EXTERNALID",
    "CHANNEL",
    "ANSWER.PR_NICK",
    "ANSWER.PR_SIBLING",
    "tds",
    "correlationid",
    "OOB_DEVICETYPE_CODE",
    "id",
];
const ACTION_SCHEMA: &str = "urn:hid:scim:api:idp:2.0:Action";

fn body_bytes(body: Body) -> Vec<u8> {
    match body {
        Body::Raw(bytes) => bytes,
        Body::Action { name, attributes, extra } => {
            let attributes: Vec<serde_json::Value> = attributes
                .into_iter()
                .map(|(n, value)| serde_json::json!({"name": ATTRIBUTES[usize::from(n) % ATTRIBUTES.len()], "value": value}))
                .collect();
            let mut doc = serde_json::json!({
                "schemas": [ACTION_SCHEMA],
                ACTION_SCHEMA: {"action": ACTIONS[usize::from(name) % ACTIONS.len()], "attributes": attributes},
            });
            if let Some((key, value)) = extra {
                doc[key] = serde_json::Value::String(value);
            }
            serde_json::to_vec(&doc).unwrap_or_default()
        }
    }
}

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "get", ""];
const TYPES: &[&str] = &["application/scim+json", "application/json; charset=utf-8", "text/plain", ""];

static DB: LazyLock<Mutex<rusqlite::Connection>> =
    LazyLock::new(|| Mutex::new(with_seeds(common::database().db)));

/// The fixture's TOTP and HOTP devices with a seed sealed under the fuzz settings' key (and an
/// HOTP counter), as every device the API creates has: without, a validation of one is a
/// corrupt row (an honest 500), which the fuzzer found through VERIFY.
fn with_seeds(db: rusqlite::Connection) -> rusqlite::Connection {
    let keys = edge_api::crypto::Keys::derive(&SETTINGS.access.secret_key);
    let seed = shared::otp::Secret::from_bytes(b"12345678901234567890".to_vec());
    let sealed = keys.seal_seed(&seed).expect("a seed seals");
    db.execute(
        "UPDATE devices SET seed = ?1, hotp_counter = CASE type WHEN 'HOTP' THEN 0 END WHERE type IN ('TOTP', 'HOTP')",
        [sealed],
    )
    .expect("fixture seeds");
    db
}

/// The §3 base paths, a tenant the token may use, one that does not exist.
const BASES: &[&str] = &["/scim/v2", "/soffid/webservice/scim2/v1", "/scim/other/v2", "/scim/ghost/v2"];

fn settings() -> Settings {
    let mut settings = Settings::load(&|name| match name {
        "secret_key" => Some("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".into()),
        "scim_cors_origin" => Some("http://allowed.example".into()),
        "tenants" => Some("default, other".into()),
        "ciba_notification_url" => Some("http://127.0.0.1:9/ciba".into()),
        _ => None,
    })
    .expect("fuzz settings load");
    settings.access.api_tokens = vec![ApiToken {
        name: "fuzzer".into(),
        sha256: edge_api::crypto::sha256(TOKEN.as_bytes()),
        rights: vec![Right::Admin],
        tenants: TenantGrant::All,
    }];
    settings
}

static SETTINGS: LazyLock<Settings> = LazyLock::new(settings);

fuzz_target!(|input: Input| {
    let mut headers = Vec::new();
    let content_type = TYPES[usize::from(input.content_type) % TYPES.len()];
    if !content_type.is_empty() {
        headers.push(("content-type".to_owned(), content_type.to_owned()));
    }
    if input.authorized {
        headers.push(("authorization".to_owned(), format!("Bearer {TOKEN}")));
    }
    if let Some(origin) = input.origin {
        headers.push(("origin".to_owned(), origin));
    }
    let base = BASES[usize::from(input.base) % BASES.len()];
    let request = ApiRequest {
        method: METHODS[usize::from(input.method) % METHODS.len()].to_owned(),
        path: format!("{base}/{}{}", ROUTES[usize::from(input.route) % ROUTES.len()], input.path),
        query: input.query,
        headers,
        body: body_bytes(input.body),
        origin: Origin::parse("http://127.0.0.1:3000"),
        client: "127.0.0.1:1".to_owned(),
    };
    let db = DB.lock().unwrap_or_else(|e| e.into_inner());
    // Keep the database small: the fuzzer may create devices on every run, and every request
    // may leave audit rows and sent codes, which over millions of runs would fill the memory.
    for cleanup in [
        "DELETE FROM devices WHERE id > 6",
        "DELETE FROM users WHERE id > 4",
        "DELETE FROM user_contacts WHERE user_id > 4",
        "DELETE FROM authenticators WHERE id > 4",
        "DELETE FROM challenges WHERE id > 20",
        "DELETE FROM audit",
        "DELETE FROM outbox",
    ] {
        let _ = db.prepare_cached(cleanup).and_then(|mut statement| statement.execute([]));
    }
    // A callback that fails for every other request, as a real one may.
    let notify = |_: &_, ping: &edge_api::host::CibaPing| match ping.auth_req_id.len() % 2 {
        0 => Ok(()),
        _ => Err("answered 503".to_owned()),
    };
    let env = Env {
        db: &*db,
        now: 1_750_000_000,
        deliver: &|_, _| Ok(()),
        notify: &notify,
        log: &|_| {},
        memo: None,
    };
    let response = handle(&request, Ok(SETTINGS.clone()), &env);
    assert!(response.status != 500, "500 for {request:?}: {}", String::from_utf8_lossy(&response.body));
});
