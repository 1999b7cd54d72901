//! The whole API, natively, against an in-memory SQLite: the admin's workflows and every refusal.

use crate::app::{Env, handle};
use crate::crypto;
use crate::db::{DbError, Rows, Sql};
use crate::host::Delivery;
use crate::http::{ApiRequest, ApiResponse};
use crate::origin::{CorsEntry, Origin};
use crate::settings::{Access, Principal, Right, Settings, TenantGrant, Tenants, Webhook};
use serde_json::{Value, json};
use shared::otp::{CodeParams, Secret, format_code, hotp, totp};
use shared::validate::Defaults;
use shared::{Algorithm, Status};
use std::cell::{Cell, RefCell};
use std::sync::OnceLock;

mod actions;

// HID's schema URNs, as the authenticator tests send and read them.
const ACTION: &str = shared::authenticator::ACTION_SCHEMA;
const PASSWORD_EXT: &str = shared::authenticator::PASSWORD_SCHEMA;
const QUESTIONS_EXT: &str = shared::authenticator::SECURITY_QUESTION_SCHEMA;
const ENROLLMENT_EXT: &str = shared::authenticator::ENROLLMENT_SCHEMA;

/// A new user of the default tenant, by its create body; its id.
fn new_user(api: &Api, body: Value) -> i64 {
    let (status, user) = api.call("POST", "/Users", Some(body));
    assert_eq!(status, 201, "{user}");
    user["id"].as_str().unwrap().parse().unwrap()
}

mod audit;
mod authenticators;
mod hardening;
mod hid;
mod policies;
mod two_views;
mod users;

const BASE: &str = "/scim/v2";
const ADMIN: (&str, &str) = ("admin", "admin-password");
const READER: (&str, &str) = ("reader", "reader-password");

fn hashes() -> &'static (String, String) {
    static HASHES: OnceLock<(String, String)> = OnceLock::new();
    HASHES.get_or_init(|| (crypto::hash_password(ADMIN.1).unwrap(), crypto::hash_password(READER.1).unwrap()))
}

pub fn settings() -> Settings {
    let (admin, reader) = hashes().clone();
    Settings {
        access: Access {
            principals: vec![
                Principal {
                    user: ADMIN.0.into(),
                    password_hash: admin,
                    rights: vec![Right::Admin],
                    tenants: TenantGrant::Only(vec!["default".into()]),
                },
                Principal {
                    user: READER.0.into(),
                    password_hash: reader,
                    rights: vec![Right::Invoke],
                    tenants: TenantGrant::Only(vec!["default".into()]),
                },
            ],
            api_tokens: Vec::new(),
            secret_key: [42; 32],
            tenants: Tenants { names: vec!["default".into()], default: "default".into() },
        },
        cors_origins: Vec::new(),
        cors_methods: vec!["GET".into(), "OPTIONS".into(), "HEAD".into()],
        issuer: "scim-otp".into(),
        defaults: Defaults::default(),
        totp_window: 1,
        hotp_lookahead: 10,
        max_fails: 5,
        challenge_ttl: 300,
        // No budget to speak of: the workflows send as they please; the budget tests set their own.
        send_budget: crate::store::SendBudget { cooldown: 0, per_hour: 1000, tenant_per_hour: 100_000 },
        delivery_webhook: None,
        ciba_notification: None,
        dev_outbox: true,
        public_base: None,
    }
}

/// rusqlite, with a fault to inject: the next statement that starts with `fail_next` fails, as a
/// full disk or a lost connection would fail it.
struct FaultyDb {
    connection: rusqlite::Connection,
    fail_next: RefCell<Option<&'static str>>,
    /// Statements (by prefix) that fail once each, in order, as a libSQL server fails a
    /// statement it interrupted: transiently.
    interrupt: RefCell<Vec<&'static str>>,
    /// Every statement fails as when the libSQL server is out of reach.
    down: Cell<bool>,
    /// The next statement that starts with this runs, and its answer is lost on the way back.
    lose_answer: RefCell<Option<&'static str>>,
    /// Statements run, failed ones included.
    statements: Cell<usize>,
}

/// Spin's words for a statement the libSQL server interrupted, and for a server out of reach.
const INTERRUPTED: &str = "Error::Io(\"Hrana: `cursor error: `error at step 0: (error code: SQLITE_INTERRUPT) `SQLite error: interrupted```\")";
const UNREACHABLE: &str = "Error::Io(\"Hrana: `http error: `error trying to connect: tcp connect error: Connection refused (os error 111)``\")";
/// Spin's words when the libSQL client's connection closed after the statement was sent.
const ANSWER_LOST: &str = "Error::Io(\"Hrana: `http error: `connection closed before message completed``\")";

impl std::ops::Deref for FaultyDb {
    type Target = rusqlite::Connection;
    fn deref(&self) -> &rusqlite::Connection {
        &self.connection
    }
}

impl crate::db::Database for FaultyDb {
    fn execute(&self, sql: &str, params: &[Sql]) -> Result<Rows, DbError> {
        self.statements.set(self.statements.get() + 1);
        if self.down.get() {
            return Err(DbError(UNREACHABLE.into()));
        }
        let interrupted = self.interrupt.borrow().first().is_some_and(|p| sql.trim_start().starts_with(p));
        if interrupted {
            self.interrupt.borrow_mut().remove(0);
            return Err(DbError(INTERRUPTED.into()));
        }
        let lost = self.lose_answer.borrow().is_some_and(|p| sql.trim_start().starts_with(p));
        if lost {
            self.lose_answer.replace(None);
            crate::db::Database::execute(&self.connection, sql, params)?;
            return Err(DbError(ANSWER_LOST.into()));
        }
        let armed = *self.fail_next.borrow();
        if let Some(prefix) = armed
            && sql.trim_start().starts_with(prefix)
        {
            self.fail_next.replace(None);
            return Err(DbError(format!("injected failure of {prefix}")));
        }
        crate::db::Database::execute(&self.connection, sql, params)
    }
}

struct Api {
    db: FaultyDb,
    settings: Settings,
    now: Cell<i64>,
    delivered: RefCell<Vec<Delivery>>,
    gateway_up: Cell<bool>,
    /// The CIBA pings sent: (bearer token, auth_req_id).
    pinged: RefCell<Vec<(Option<String>, String)>>,
    /// What the component logged.
    log: RefCell<Vec<String>>,
    /// `spin-client-addr` of the next requests.
    client: RefCell<String>,
}

fn basic((user, password): (&str, &str)) -> String {
    format!("Basic {}", data_encoding::BASE64.encode(format!("{user}:{password}").as_bytes()))
}

impl Api {
    fn new() -> Api {
        Api::with(settings())
    }

    fn with(settings: Settings) -> Api {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        crate::store::migrate(&db, 0, "default").unwrap();
        Api {
            db: FaultyDb {
                connection: db,
                fail_next: RefCell::new(None),
                interrupt: RefCell::new(Vec::new()),
                down: Cell::new(false),
                lose_answer: RefCell::new(None),
                statements: Cell::new(0),
            },
            settings,
            now: Cell::new(1_700_000_000),
            delivered: RefCell::new(Vec::new()),
            gateway_up: Cell::new(true),
            pinged: RefCell::new(Vec::new()),
            log: RefCell::new(Vec::new()),
            client: RefCell::new("127.0.0.1:40000".into()),
        }
    }

    fn raw(&self, method: &str, path: &str, body: &[u8], headers: &[(&str, &str)]) -> ApiResponse {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let request = ApiRequest {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers: headers.iter().map(|(n, v)| ((*n).to_lowercase(), (*v).to_owned())).collect(),
            body: body.to_vec(),
            origin: Origin::parse("http://127.0.0.1:3000"),
            client: self.client.borrow().clone(),
        };
        self.handle(&request, Ok(self.settings.clone()))
    }

    fn handle(
        &self,
        request: &ApiRequest,
        settings: Result<Settings, crate::settings::Misconfigured>,
    ) -> ApiResponse {
        let deliver = |_: &Webhook, d: &Delivery| {
            // The code is committed before it leaves (SPEC §12): a user may type it at once.
            let pending: Option<Vec<u8>> = self
                .db
                .query_row(
                    "SELECT code_digest FROM challenges WHERE device_id = ? ORDER BY id DESC LIMIT 1",
                    [d.device_id],
                    |r| r.get(0),
                )
                .unwrap();
            assert!(
                pending.is_some() && self.db.is_autocommit(),
                "the pending code is committed before delivery"
            );
            self.delivered.borrow_mut().push(d.clone());
            if self.gateway_up.get() { Ok(()) } else { Err("answered 503".into()) }
        };
        let notify = |_: &Webhook, ping: &crate::host::CibaPing| {
            self.pinged.borrow_mut().push((ping.token.clone(), ping.auth_req_id.clone()));
            if self.gateway_up.get() { Ok(()) } else { Err("answered 503".into()) }
        };
        let log = |line: &str| self.log.borrow_mut().push(line.to_owned());
        // As the component wraps Spin's connection (spin.rs), without the pauses.
        let db = crate::db::Patient::new(&self.db, |_| {});
        let env = Env { db: &db, now: self.now.get(), deliver: &deliver, notify: &notify, log: &log };
        handle(request, settings, &env)
    }

    fn call_as(
        &self,
        who: (&str, &str),
        method: &str,
        path: &str,
        body: Option<Value>,
        extra: &[(&str, &str)],
    ) -> (u16, Value, ApiResponse) {
        self.call_at(who, method, &format!("{BASE}{path}"), body, extra)
    }

    /// One JSON request as `who` on a whole path (any base path, any tenant's).
    fn call_at(
        &self,
        who: (&str, &str),
        method: &str,
        path: &str,
        body: Option<Value>,
        extra: &[(&str, &str)],
    ) -> (u16, Value, ApiResponse) {
        let auth = basic(who);
        let mut headers = vec![("authorization", auth.as_str()), ("content-type", "application/scim+json")];
        headers.extend_from_slice(extra);
        let body = body.map(|b| serde_json::to_vec(&b).unwrap()).unwrap_or_default();
        let response = self.raw(method, path, &body, &headers);
        let json = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        (response.status, json, response)
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let (status, json, _) = self.call_as(ADMIN, method, path, body, &[]);
        (status, json)
    }

    fn create(&self, body: Value) -> Value {
        let (status, json) = self.call("POST", "/OtpDevice", Some(body));
        assert_eq!(status, 201, "{json}");
        json
    }

    /// How many audit rows record `action`.
    fn audit_count(&self, action: &str) -> i64 {
        self.db.query_row("SELECT count(*) FROM audit WHERE action = ?", [action], |r| r.get(0)).unwrap()
    }

    /// A new TOTP device of `user` and its code for the current time step.
    fn totp_device(&self, user: &str) -> (i64, String) {
        let (id, secret) = self.totp_device_secret(user);
        (id, self.code(&secret))
    }

    /// A new TOTP device of `user` and its secret, as its otpauth URI shows it.
    fn totp_device_secret(&self, user: &str) -> (i64, Secret) {
        let created = self.create(json!({"type": "TOTP", "user": user}));
        (created["id"].as_i64().unwrap(), secret_of(created["otpauthUri"].as_str().unwrap()))
    }

    /// The TOTP code of `secret` (SHA-1, 6 digits, 30 s) at the current time.
    fn code(&self, secret: &Secret) -> String {
        let params = CodeParams { algorithm: Algorithm::Sha1, digits: 6 };
        format_code(totp(secret, params, 30, self.now.get()), 6)
    }

    fn respond(&self, id: i64, code: &str) -> Value {
        let (status, json) =
            self.call("POST", &format!("/OtpDevice/{id}/responseChallenge"), Some(json!({"pin": code})));
        assert_eq!(status, 200, "{json}");
        json
    }

    /// Everything stored about devices, to prove a refused request changed nothing.
    fn snapshot(&self) -> String {
        self.rows("devices")
    }

    /// Every row of a table, in key order, one line each.
    fn rows(&self, table: &str) -> String {
        let mut statement = self.db.prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2")).unwrap();
        let columns = statement.column_count();
        let rows: Vec<String> = statement
            .query_map([], |row| {
                Ok((0..columns)
                    .map(|i| match row.get_ref(i).unwrap() {
                        // Text as text, so that a test can look for a value in it.
                        rusqlite::types::ValueRef::Text(text) => String::from_utf8_lossy(text).into_owned(),
                        other => format!("{other:?}"),
                    })
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows.join("\n")
    }
}

fn secret_of(uri: &str) -> Secret {
    let query = uri.split_once('?').unwrap().1;
    let b32 = query.split('&').find_map(|p| p.strip_prefix("secret=")).unwrap();
    Secret::from_base32(b32).unwrap()
}

#[test]
fn totp_enrolment_workflow() {
    let api = Api::new();
    let (status, json, response) = api.call_as(
        ADMIN,
        "POST",
        "/OtpDevice",
        Some(json!({
            "schemas": [shared::model::DEVICE_SCHEMA], "type": "TOTP", "user": "dilbert",
            "meta": {"resourceType": "OtpDevice"}
        })),
        &[],
    );
    assert_eq!(status, 201, "{json}");
    let id = json["id"].as_i64().unwrap();
    assert_eq!(json["name"], "TOTP00000001");
    assert_eq!(json["status"], "C");
    assert_eq!(
        response.header("location"),
        Some(format!("http://127.0.0.1:3000/scim/v2/OtpDevice/{id}").as_str())
    );
    assert_eq!(response.header("etag"), Some("W/\"1\""));
    assert_eq!(
        json["meta"]["links"]["responseChallenge"],
        format!("http://127.0.0.1:3000/scim/v2/OtpDevice/{id}/responseChallenge")
    );
    assert!(json["image"].as_str().unwrap().starts_with("iVBORw0KGgo"), "a base64 PNG");
    let uri = json["otpauthUri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/scim-otp:dilbert%20%28TOTP00000001%29?secret="), "{uri}");
    let seed = secret_of(uri);

    // Shown once: never again, and never stored in the clear.
    let (_, again) = api.call("GET", &format!("/OtpDevice/{id}"), None);
    assert!(again.get("image").is_none() && again.get("otpauthUri").is_none());
    assert!(!again.to_string().contains(&seed.to_base32()));
    let blob: Vec<u8> =
        api.db.query_row("SELECT seed FROM devices WHERE id = ?", [id], |r| r.get(0)).unwrap();
    assert!(!blob.windows(seed.as_bytes().len()).any(|w| w == seed.as_bytes()));

    let (status, challenge) = api.call("GET", &format!("/OtpDevice/{id}/requestChallenge"), None);
    assert_eq!((status, challenge), (200, json!({"cell": "PIN", "cardNumber": "TOTP00000001"})));
    let params = CodeParams { algorithm: Algorithm::Sha1, digits: 6 };
    let code = format_code(totp(&seed, params, 30, api.now.get()), 6);
    assert_eq!(api.respond(id, &code), json!({"success": true, "locked": false}));
    assert_eq!(api.respond(id, &code), json!({"success": false, "locked": false}), "a code works once");

    let (status, enabled) = api.call(
        "PATCH",
        &format!("/OtpDevice/{id}"),
        Some(json!({"Operations": [{"op": "replace", "path": "status", "value": "V"}]})),
    );
    assert_eq!(status, 200);
    assert_eq!(enabled["status"], "V");
    assert_eq!(enabled["fails"], 1);
    assert!(enabled["lastUsed"].is_string());
}

#[test]
fn wrong_codes_lock_the_device_and_locked_devices_count_nothing() {
    let api = Api::new();
    let id = api.create(json!({"type": "TOTP", "user": "u"}))["id"].as_i64().unwrap();
    for attempt in 1..=5 {
        let result = api.respond(id, "000000");
        assert_eq!(result["locked"], attempt == 5, "attempt {attempt}");
    }
    let (_, device) = api.call("GET", &format!("/OtpDevice/{id}"), None);
    assert_eq!((device["status"].as_str(), device["fails"].as_i64()), (Some("L"), Some(5)));
    assert_eq!(api.respond(id, "000000"), json!({"success": false, "locked": true}));
    let (_, device) = api.call("GET", &format!("/OtpDevice/{id}"), None);
    assert_eq!(device["fails"], 5, "a locked device counts nothing");
    // Unlock: V on a locked device clears the failures.
    let (_, device) = api.call(
        "PATCH",
        &format!("/OtpDevice/{id}"),
        Some(json!({"Operations": [{"op": "replace", "path": "status", "value": "V"}]})),
    );
    assert_eq!((device["status"].as_str(), device["fails"].as_i64()), (Some("V"), Some(0)));
    let (_, audit) = api.call("GET", &format!("/OtpDevice/{id}/audit"), None);
    assert_eq!(audit["counters"]["failures"], 6 - 1);
}

#[test]
fn hotp_looks_ahead_and_moves_past_the_match() {
    let api = Api::new();
    let created = api.create(json!({"type": "HOTP", "user": "u", "digits": 8, "algorithm": "SHA256"}));
    let id = created["id"].as_i64().unwrap();
    let seed = secret_of(created["otpauthUri"].as_str().unwrap());
    let params = CodeParams { algorithm: Algorithm::Sha256, digits: 8 };
    let code = |c| format_code(hotp(&seed, params, c), 8);
    assert_eq!(api.respond(id, &code(3))["success"], true);
    assert_eq!(api.respond(id, &code(2))["success"], false, "older codes are spent");
    assert_eq!(api.respond(id, &code(4))["success"], true);
    assert_eq!(api.respond(id, &code(20))["success"], false, "beyond the look-ahead");
}

#[test]
fn email_codes_are_delivered_single_use_and_expire() {
    let mut settings = settings();
    settings.dev_outbox = true;
    let api = Api::with(settings);
    let created = api.create(json!({"type": "EMAIL", "user": "dilbert", "email": "dilbert@soffid.com"}));
    assert_eq!(created["name"], "Email message to di*****@so****.co*");
    let id = created["id"].as_i64().unwrap();
    let (status, answer) = api.call("POST", &format!("/OtpDevice/{id}/requestChallenge"), None);
    assert_eq!((status, answer["cardNumber"].as_str()), (200, Some("Email message to di*****@so****.co*")));
    let head = api.raw(
        "HEAD",
        &format!("/scim/v2/OtpDevice/{id}/requestChallenge"),
        b"",
        &[("authorization", &basic(ADMIN))],
    );
    assert_eq!(head.status, 405, "a HEAD never sends a code");
    let (_, outbox) = api.call("GET", "/Outbox", None);
    assert_eq!(outbox["totalResults"], 1);
    let message = outbox["Resources"][0]["message"].as_str().unwrap().to_owned();
    let code = message.rsplit(' ').next().unwrap().to_owned();
    assert_eq!(code.len(), 6);
    let stored: Vec<u8> = api
        .db
        .query_row("SELECT code_digest FROM challenges WHERE device_id = ?", [id], |r| r.get(0))
        .unwrap();
    assert!(!String::from_utf8_lossy(&stored).contains(&code), "only a digest is stored");
    assert_eq!(api.respond(id, &code)["success"], true);
    assert_eq!(api.respond(id, &code)["success"], false, "single use");

    api.call("GET", &format!("/OtpDevice/{id}/requestChallenge"), None);
    let (_, outbox) = api.call("GET", "/Outbox", None);
    let code = outbox["Resources"][0]["message"].as_str().unwrap().rsplit(' ').next().unwrap().to_owned();
    api.now.set(api.now.get() + 301);
    assert_eq!(api.respond(id, &code)["success"], false, "expired");
}

#[test]
fn gateway_failure_is_502_and_leaves_no_pending_code() {
    let mut settings = settings();
    settings.delivery_webhook = Some(Webhook {
        url: "https://gateway.example.com/send?key=gw-s3cret".into(),
        host: "gateway.example.com".into(),
    });
    // A send that failed is given back to the budget: the retry below is not kept waiting.
    settings.send_budget.cooldown = 30;
    let api = Api::with(settings);
    let id =
        api.create(json!({"type": "SMS", "user": "agatha", "phone": "666555444"}))["id"].as_i64().unwrap();
    api.gateway_up.set(false);
    let (status, error) = api.call("GET", &format!("/OtpDevice/{id}/requestChallenge"), None);
    assert_eq!((status, error["status"].as_str()), (502, Some("502")));
    let code = api.delivered.borrow()[0].code.clone();
    assert_eq!(api.delivered.borrow()[0].channel, "sms");
    // The log says which gateway and what it answered, never its key or the code.
    let log = api.log.borrow().join("\n");
    assert!(log.contains("gateway.example.com") && log.contains("answered 503"), "{log}");
    assert!(!log.contains("gw-s3cret") && !log.contains(&code), "{log}");
    let pending: i64 =
        api.db.query_row("SELECT count(*) FROM challenges WHERE device_id = ?", [id], |r| r.get(0)).unwrap();
    assert_eq!(pending, 0, "the undelivered code was withdrawn");
    assert_eq!(api.respond(id, &code)["success"], false, "nothing was pending");
    api.gateway_up.set(true);
    api.call("GET", &format!("/OtpDevice/{id}/requestChallenge"), None);
    let code = api.delivered.borrow()[1].code.clone();
    assert_eq!(api.respond(id, &code)["success"], true);
}

#[test]
fn a_user_has_one_pin_and_one_device_per_address() {
    let api = Api::new();
    let first = api.create(json!({"type": "PIN", "user": "dilbert", "pin": "1234"}))["id"].clone();
    let (status, error) =
        api.call("POST", "/OtpDevice", Some(json!({"type": "PIN", "user": "dilbert", "pin": "5678"})));
    assert_eq!((status, error["scimType"].as_str()), (409, Some("uniqueness")));
    assert!(error["detail"].as_str().unwrap().contains(&format!("OtpDevice {first}")));
    api.create(json!({"type": "EMAIL", "user": "dilbert", "email": "d@soffid.com"}));
    let (status, _) = api.call(
        "POST",
        "/OtpDevice",
        Some(json!({"type": "EMAIL", "user": "dilbert", "email": "D@soffid.com"})),
    );
    assert_eq!(status, 409);
    api.create(json!({"type": "EMAIL", "user": "dilbert", "email": "other@soffid.com"}));
    api.create(json!({"type": "PIN", "user": "dogbert", "pin": "1234"}));
    api.create(json!({"type": "TOTP", "user": "dilbert"}));
    api.create(json!({"type": "TOTP", "user": "dilbert"}));
}

#[test]
fn pin_devices_check_the_slow_hash() {
    let api = Api::new();
    let created = api.create(json!({"type": "PIN", "user": "dilbert", "pin": "123456789"}));
    assert_eq!(created["name"], "Security PIN");
    assert!(created.get("pin").is_none());
    let id = created["id"].as_i64().unwrap();
    assert_eq!(api.respond(id, "123456788")["success"], false);
    assert_eq!(api.respond(id, "123456789")["success"], true);
    let (status, error) =
        api.call("POST", &format!("/OtpDevice/{id}/responseChallenge"), Some(json!({"pin": 5})));
    assert_eq!((status, error["scimType"].as_str()), (400, Some("invalidValue")));
}

#[test]
fn if_match_protects_concurrent_admins() {
    let api = Api::new();
    let id = api.create(json!({"type": "TOTP", "user": "u"}))["id"].as_i64().unwrap();
    let path = format!("/OtpDevice/{id}");
    let disable = json!({"Operations": [{"op": "replace", "path": "status", "value": "D"}]});
    let (status, _, response) =
        api.call_as(ADMIN, "PATCH", &path, Some(disable.clone()), &[("if-match", "W/\"1\"")]);
    assert_eq!(status, 200);
    assert_eq!(response.header("etag"), Some("W/\"2\""));
    let before = api.snapshot();
    let (status, error, _) = api.call_as(ADMIN, "PATCH", &path, Some(disable), &[("if-match", "W/\"1\"")]);
    assert_eq!((status, error["status"].as_str()), (412, Some("412")));
    let (status, _, _) = api.call_as(ADMIN, "DELETE", &path, None, &[("if-match", "W/\"1\"")]);
    assert_eq!(status, 412);
    assert_eq!(api.snapshot(), before, "nothing changed");
    let (status, _, _) = api.call_as(ADMIN, "DELETE", &path, None, &[("if-match", "W/\"2\"")]);
    assert_eq!(status, 204);
    assert_eq!(api.call("GET", &path, None).0, 404);
}

#[test]
fn external_id_round_trips_filters_and_clears() {
    let api = Api::new();
    let made = api.create(json!({"type": "TOTP", "user": "u", "externalId": "okta-00u1"}));
    let id = made["id"].as_i64().unwrap();
    assert_eq!(made["externalId"], "okta-00u1");
    api.create(json!({"type": "TOTP", "user": "v"}));
    let (_, found) = api.call("GET", "/OtpDevice?filter=externalId%20eq%20%22okta-00u1%22", None);
    assert_eq!((found["totalResults"].as_i64(), found["Resources"][0]["id"].as_i64()), (Some(1), Some(id)));
    let (_, none) = api.call("GET", "/OtpDevice?filter=externalId%20eq%20%22OKTA-00U1%22", None);
    assert_eq!(none["totalResults"], 0, "externalId is case-exact");
    let (_, present) = api.call("GET", "/OtpDevice?filter=externalId%20pr&attributes=externalId", None);
    assert_eq!(present["Resources"][0]["externalId"], "okta-00u1");

    let path = format!("/OtpDevice/{id}");
    let bad = json!({"Operations": [{"op": "replace", "path": "externalId", "value": ""}]});
    let before = api.snapshot();
    assert_eq!(api.call("PATCH", &path, Some(bad)).0, 400);
    assert_eq!(api.snapshot(), before, "a refused externalId changes nothing");
    let remove = json!({"Operations": [{"op": "remove", "path": "externalId"}]});
    let (status, removed) = api.call("PATCH", &path, Some(remove));
    assert_eq!((status, removed.get("externalId")), (200, None));
    let (status, put) = api.call("PUT", &path, Some(json!({"externalId": "okta-00u2", "status": "D"})));
    assert_eq!((status, &put["externalId"], &put["status"]), (200, &json!("okta-00u2"), &json!("D")));
    let (_, read) = api.call("GET", &path, None);
    assert_eq!(read["externalId"], "okta-00u2");
}

/// A database as an earlier release left it: the first `version` migration scripts, the
/// version in `PRAGMA user_version` (as releases before `schema_migrations` kept it), one device.
fn legacy_database(version: usize) -> rusqlite::Connection {
    let db = rusqlite::Connection::open_in_memory().unwrap();
    for script in &crate::store::MIGRATIONS[..version] {
        db.execute_batch(script).unwrap();
    }
    db.execute_batch(&format!(
        "PRAGMA user_version = {version}; \
         INSERT INTO devices (name, type, user_name, status, created, modified, algorithm, digits, period) \
         VALUES ('TOTP00000001', 'TOTP', 'old', 'V', 1600000000, 1600000000, 'SHA1', 6, 30);"
    ))
    .unwrap();
    db
}

fn recorded_versions(db: &rusqlite::Connection) -> Vec<i64> {
    let mut statement = db.prepare("SELECT version FROM schema_migrations ORDER BY version").unwrap();
    statement.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

/// Databases written by the first release (version 1) and by the last one that kept its version
/// in `PRAGMA user_version` (version 2, today's main before this change) migrate forward on the
/// first request, keep their devices, and record every version in `schema_migrations`; the
/// pragma is neither needed nor written (Turso refuses it).
#[test]
fn migration_from_earlier_schemas_keeps_devices() {
    for version in [1, 2] {
        let db = legacy_database(version);
        crate::store::session(&db, None, "default", 1_700_000_000, "default").unwrap();
        assert_eq!(recorded_versions(&db), (1..=crate::store::SCHEMA_VERSION).collect::<Vec<_>>());
        let pragma: i64 = db.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(pragma, version as i64, "the pragma is left as it was");
        let device = crate::store::get_device(&db, "default", 1).unwrap().unwrap();
        assert_eq!(
            (device.user.as_str(), device.status, device.external_id),
            ("old", Status::Validated, None)
        );
        let tables: i64 = db
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name IN ('login_attempts', 'login_failures')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 1, "login_failures became login_attempts");
        crate::store::migrate(&db, 1_700_000_001, "default").unwrap();
        assert_eq!(
            recorded_versions(&db).len() as i64,
            crate::store::SCHEMA_VERSION,
            "migrating again adds nothing"
        );
    }
}

/// The per-request check is the one session statement: on a migrated database nothing else runs.
#[test]
fn a_migrated_database_costs_no_extra_statement() {
    let api = Api::new();
    api.create(json!({"type": "TOTP", "user": "u"}));
    api.db.fail_next.replace(Some("BEGIN"));
    let (status, _) = api.call("GET", "/OtpDevice", None);
    assert_eq!(status, 200, "a list needs no transaction, and no migration ran");
    assert_eq!(*api.db.fail_next.borrow(), Some("BEGIN"), "no BEGIN was attempted");
}

/// What every request pays before its first statement runs: Spin opens a connection per
/// request, and SQLite parses the whole schema on it. A view is parsed there even by requests
/// that never read it, so there is none; each trigger costs every request about 20 µs
/// (BENCHMARKS.md, "The schema every request parses"), so adding one is a choice this count
/// makes visible.
#[test]
fn the_schema_each_connection_parses_has_no_view_and_seven_triggers() {
    let api = Api::new();
    let mut statement =
        api.db.connection.prepare("SELECT type, count(*) FROM sqlite_master GROUP BY type").unwrap();
    let kinds: std::collections::BTreeMap<String, i64> =
        statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    assert_eq!(kinds.get("view"), None, "{kinds:?}");
    assert_eq!(kinds.get("trigger"), Some(&7), "{kinds:?}");
}

#[test]
fn list_filters_sorts_and_pages_in_sql() {
    let api = Api::new();
    for (user, t) in [("alice", "TOTP"), ("bob", "HOTP"), ("carol", "TOTP"), ("dave", "PIN")] {
        let mut body = json!({"type": t, "user": user});
        if t == "PIN" {
            body["pin"] = json!("4321");
        }
        api.create(body);
    }
    let (status, list) =
        api.call("GET", "/OtpDevice?filter=type%20eq%20%22totp%22&sortBy=user&sortOrder=descending", None);
    assert_eq!(status, 200);
    assert_eq!(list["totalResults"], 2);
    let users: Vec<&str> =
        list["Resources"].as_array().unwrap().iter().map(|d| d["user"].as_str().unwrap()).collect();
    assert_eq!(users, ["carol", "alice"]);
    let (_, page) = api.call("GET", "/OtpDevice?startIndex=2&count=2&attributes=user", None);
    assert_eq!(
        (page["totalResults"].as_i64(), page["startIndex"].as_i64(), page["itemsPerPage"].as_i64()),
        (Some(4), Some(2), Some(2))
    );
    assert_eq!(
        page["Resources"][0],
        json!({"id": 2, "user": "bob", "schemas": [shared::model::DEVICE_SCHEMA], "meta": {"resourceType": "OtpDevice"}})
    );
    let (_, counted) = api.call("GET", "/OtpDevice?count=0", None);
    assert_eq!(
        (counted["totalResults"].as_i64(), counted["Resources"].as_array().map(Vec::len)),
        (Some(4), Some(0))
    );
    let (status, found) = api.call(
        "POST",
        "/OtpDevice/.search",
        Some(json!({"filter": "user sw \"c\" or user eq \"dave\"", "attributes": ["type"]})),
    );
    assert_eq!((status, found["totalResults"].as_i64()), (200, Some(2)));
    let (status, at_root) = api.call(
        "POST",
        "/.search",
        Some(json!({"filter": "user sw \"c\" or user eq \"dave\"", "attributes": ["type"]})),
    );
    assert_eq!((status, &at_root), (200, &found), "a search at the root spans OtpDevice, the only type");
    assert_eq!(api.call("GET", "/.search", None).0, 405);
    // Soffid's base path serves the same devices; one base path inside the other is no route.
    let auth = basic(ADMIN);
    let soffid =
        api.raw("GET", "/soffid/webservice/scim2/v1/OtpDevice?count=0", b"", &[("authorization", &auth)]);
    let soffid: Value = serde_json::from_slice(&soffid.body).unwrap();
    assert_eq!(soffid["totalResults"], counted["totalResults"]);
    assert_eq!(api.call("GET", "/soffid/webservice/scim2/v1/OtpDevice", None).0, 404);
}

#[test]
fn bad_input_gets_a_scim_error_and_changes_nothing() {
    let api = Api::new();
    api.create(json!({"type": "TOTP", "user": "u"}));
    let before = api.snapshot();
    /// method, path, body, expected status, expected scimType
    type Case = (&'static str, String, Option<Value>, u16, Option<&'static str>);
    let cases: Vec<Case> = vec![
        ("GET", "/OtpDevice?filter=user%20eq".into(), None, 400, Some("invalidFilter")),
        ("GET", "/OtpDevice?sortBy=pin".into(), None, 400, Some("invalidValue")),
        ("GET", "/OtpDevice?count=many".into(), None, 400, Some("invalidValue")),
        ("POST", "/OtpDevice".into(), Some(json!({"type": "EMAIL", "user": "u"})), 400, Some("invalidValue")),
        (
            "POST",
            "/OtpDevice".into(),
            Some(json!({"type": "TOTP", "user": "u", "colour": 1})),
            400,
            Some("invalidSyntax"),
        ),
        ("PUT", "/OtpDevice/1".into(), Some(json!({"type": "TOTP", "user": "eve"})), 400, Some("mutability")),
        (
            "PATCH",
            "/OtpDevice/1".into(),
            Some(
                json!({"Operations": [{"op": "replace", "path": "status", "value": "D"}, {"op": "replace", "path": "user", "value": "x"}]}),
            ),
            400,
            Some("mutability"),
        ),
        (
            "PATCH",
            "/OtpDevice/1".into(),
            Some(json!({"Operations": [{"op": "replace", "path": "fails", "value": -1}]})),
            400,
            Some("invalidValue"),
        ),
        (
            "PATCH",
            "/OtpDevice/99".into(),
            Some(json!({"Operations": [{"op": "replace", "path": "status", "value": "D"}]})),
            404,
            None,
        ),
        ("DELETE", "/OtpDevice/99".into(), None, 404, None),
        ("POST", "/OtpDevice/1/responseChallenge".into(), Some(json!({})), 400, Some("invalidValue")),
        ("POST", "/Schemas".into(), None, 405, None),
        ("DELETE", "/OtpDevice".into(), None, 405, None),
        ("GET", "/Nothing".into(), None, 404, None),
        ("GET", "/Schemas/urn:x".into(), None, 404, None),
    ];
    for (method, path, body, status, scim_type) in cases {
        let (got, json) = api.call(method, &path, body);
        assert_eq!(got, status, "{method} {path}: {json}");
        assert_eq!(json["status"], status.to_string(), "{method} {path}");
        assert_eq!(json["scimType"].as_str(), scim_type, "{method} {path}: {json}");
        assert!(!json["detail"].as_str().unwrap_or_default().is_empty());
    }
    let auth = basic(ADMIN);
    let too_big = api.raw(
        "POST",
        "/scim/v2/OtpDevice",
        &vec![b' '; 64 * 1024 + 1],
        &[("authorization", &auth), ("content-type", "application/json")],
    );
    assert_eq!(too_big.status, 413);
    let wrong_type = api.raw(
        "POST",
        "/scim/v2/OtpDevice",
        b"type=TOTP",
        &[("authorization", &auth), ("content-type", "text/plain")],
    );
    assert_eq!(wrong_type.status, 415);
    let not_json = api.raw(
        "POST",
        "/scim/v2/OtpDevice",
        b"{\"type\":",
        &[("authorization", &auth), ("content-type", "application/json")],
    );
    assert_eq!(not_json.status, 400);
    assert_eq!(api.snapshot(), before, "nothing changed");
}

#[test]
fn errors_speak_the_callers_language() {
    let api = Api::new();
    let (_, es, response) = api.call_as(
        ADMIN,
        "GET",
        "/OtpDevice?filter=fails%20co%201",
        None,
        &[("accept-language", "es-ES,es;q=0.9")],
    );
    assert_eq!(response.header("content-language"), Some("es"));
    assert_eq!(
        es["detail"],
        "Filtro no válido en la posición 1: el operador \"co\" no se aplica al atributo \"fails\"."
    );
    let (_, nl, _) = api.call_as(ADMIN, "GET", "/OtpDevice/5", None, &[("accept-language", "nl")]);
    assert_eq!(nl["detail"], "OtpDevice 5 bestaat niet.");
    let (_, ca, _) = api.call_as(ADMIN, "GET", "/OtpDevice/5", None, &[("accept-language", "ca")]);
    assert_eq!(ca["detail"], "L'OtpDevice 5 no existeix.");
}

#[test]
fn authentication_and_rights() {
    let api = Api::new();
    let anonymous = api.raw("GET", "/scim/v2/OtpDevice", b"", &[]);
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.header("www-authenticate"), Some("Basic realm=\"SCIM\", charset=\"UTF-8\""));
    let (status, _, _) = api.call_as(READER, "GET", "/OtpDevice", None, &[]);
    assert_eq!(status, 200);
    let (status, error, _) =
        api.call_as(READER, "POST", "/OtpDevice", Some(json!({"type": "TOTP", "user": "x"})), &[]);
    assert_eq!(
        (status, error["detail"].as_str()),
        (403, Some("Your account lacks the right scim:admin needed for this operation."))
    );
    // Verified credentials are cached: the argon2 hash is not paid again.
    let cached: i64 = api.db.query_row("SELECT count(*) FROM credential_cache", [], |r| r.get(0)).unwrap();
    assert_eq!(cached, 1);
}

/// Password guessing from one address spends that address's budget only: the admin logging in
/// from elsewhere is never refused, by cache or by a fresh check, and the refusal says when to
/// come back (the real time left), is logged without the password, and ends with the window.
#[test]
fn a_guesser_cannot_lock_the_admin_out() {
    let api = Api::new();
    let wrong = (ADMIN.0, "wrong-guess");
    let attempt = |who: (&str, &str), from: &str| {
        api.client.replace(from.to_owned());
        let (status, _, response) = api.call_as(who, "GET", "/OtpDevice", None, &[]);
        (status, response.header("retry-after").map(str::to_owned))
    };
    assert_eq!(attempt(ADMIN, "127.0.0.1:40001").0, 200, "the admin signs in (and is cached)");
    let budget = crate::auth::LOGIN_BUDGET;
    for _ in 0..budget.per_source {
        assert_eq!(attempt(wrong, "127.0.0.2:5000").0, 401);
    }
    assert_eq!(
        attempt(wrong, "127.0.0.2:5001"),
        (429, Some("60".to_owned())),
        "another port is the same source"
    );
    api.now.set(api.now.get() + 20);
    assert_eq!(
        attempt(wrong, "127.0.0.2:5002"),
        (429, Some("40".to_owned())),
        "Retry-After is the time left"
    );
    assert_eq!(attempt(ADMIN, "127.0.0.1:40002").0, 200, "a cached credential is never refused");
    api.db.execute("DELETE FROM credential_cache", []).unwrap();
    assert_eq!(attempt(ADMIN, "127.0.0.1:40003").0, 200, "nor a fresh check from the admin's own address");
    let log = api.log.borrow().join("\n");
    assert!(log.contains("login refused") && log.contains("127.0.0.2"), "{log}");
    assert!(!log.contains("wrong-guess"), "no password in the log: {log}");
    api.now.set(api.now.get() + 41);
    assert_eq!(attempt(wrong, "127.0.0.2:5003").0, 401, "a new window, a new budget");

    // A verified success from a source gives it its budget back. (A cached one does not: it
    // checks nothing, and must not refill a guesser's budget on the admin's shared address.)
    for _ in 0..budget.per_source - 1 {
        assert_eq!(attempt(wrong, "10.0.0.3:1").0, 401);
    }
    api.db.execute("DELETE FROM credential_cache", []).unwrap();
    assert_eq!(attempt(ADMIN, "10.0.0.3:1").0, 200);
    for _ in 0..budget.per_source {
        assert_eq!(attempt(wrong, "10.0.0.3:1").0, 401);
    }
    assert_eq!(attempt(wrong, "10.0.0.3:1").0, 429);
    assert_eq!(attempt(READER, "10.0.0.3:1").0, 200, "other principals keep their own budgets");
}

/// Guesses spread over many addresses meet the principal's ceiling; an address the admin signed
/// in from during the last day is exempt from it, so the admin still gets in.
#[test]
fn the_principal_ceiling_spares_known_addresses() {
    let api = Api::new();
    let budget = crate::auth::LOGIN_BUDGET;
    let attempt = |who: (&str, &str), from: String| {
        api.client.replace(from);
        api.call_as(who, "GET", "/OtpDevice", None, &[]).0
    };
    assert_eq!(attempt(ADMIN, "192.0.2.1:1".into()), 200);
    api.db.execute("DELETE FROM credential_cache", []).unwrap();
    let mut verified = 0;
    for i in 0..budget.per_principal {
        if attempt((ADMIN.0, "guess"), format!("198.51.100.{}:1", i / budget.per_source)) == 401 {
            verified += 1;
        }
    }
    assert_eq!(verified, budget.per_principal);
    assert_eq!(attempt((ADMIN.0, "guess"), "203.0.113.9:1".into()), 429, "a new address meets the ceiling");
    assert_eq!(attempt(ADMIN, "203.0.113.9:1".into()), 429, "unverified: a stranger for all we know");
    assert_eq!(attempt(ADMIN, "192.0.2.1:2".into()), 200, "the admin's known address gets in");
}

/// The attempt is taken before the slow hash, in one statement: concurrent guesses are counted
/// exactly and never exceed the budget, on separate connections to one file as in Spin.
#[test]
fn concurrent_attempts_are_counted_exactly() {
    let path = std::env::temp_dir().join(format!("scim-otp-logins-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    crate::store::migrate(&rusqlite::Connection::open(&path).unwrap(), 0, "default").unwrap();
    let budget = |per_source| crate::store::LoginBudget {
        per_source,
        per_address: 10_000,
        per_principal: 10_000,
        window: 60,
        trust: 0,
    };
    let race = |principal: &'static str, per_source: i64| -> usize {
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(50));
        let threads: Vec<_> = (0..50)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let db = rusqlite::Connection::open(&path).unwrap();
                    barrier.wait();
                    crate::store::reserve_login(&db, principal, "192.0.2.7", budget(per_source), 1_000)
                        .unwrap()
                        .is_ok()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).filter(|granted| *granted).count()
    };
    assert_eq!(race("admin", 1_000), 50, "every attempt granted");
    let db = rusqlite::Connection::open(&path).unwrap();
    let counted: i64 = db
        .query_row("SELECT attempts FROM login_attempts WHERE principal = 'admin'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(counted, 50, "50 concurrent attempts count exactly 50");
    assert_eq!(race("other", 10), 10, "50 concurrent attempts, a budget of 10: exactly 10 verified");
    drop(db);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn bearer_tokens_are_checked_against_their_hash() {
    let mut settings = settings();
    let token = "f3b1c0de-machine-client-token";
    settings.access.api_tokens = vec![crate::settings::ApiToken {
        name: "provisioning".into(),
        sha256: crypto::sha256(token.as_bytes()),
        rights: vec![Right::Invoke],
        tenants: TenantGrant::Only(vec!["default".into()]),
    }];
    let api = Api::with(settings);
    let bearer = format!("Bearer {token}");
    assert_eq!(api.raw("GET", "/scim/v2/OtpDevice", b"", &[("authorization", &bearer)]).status, 200);
    assert_eq!(api.raw("GET", "/scim/v2/OtpDevice", b"", &[("authorization", "Bearer wrong")]).status, 401);
    let body = serde_json::to_vec(&json!({"type": "TOTP", "user": "x"})).unwrap();
    let create = api.raw(
        "POST",
        "/scim/v2/OtpDevice",
        &body,
        &[("authorization", &bearer), ("content-type", "application/json")],
    );
    assert_eq!(create.status, 403, "invoke only");
    let (_, spc) = api.call("GET", "/ServiceProviderConfig", None);
    assert_eq!(
        spc["authenticationSchemes"].as_array().unwrap().len(),
        2,
        "Bearer is advertised when configured"
    );
}

#[test]
fn cors_as_configured() {
    let mut settings = settings();
    settings.cors_origins = vec![CorsEntry::parse("admin.example.com").unwrap()];
    settings.cors_methods = vec!["GET".into(), "POST".into(), "OPTIONS".into()];
    let api = Api::with(settings);
    let preflight = api.raw(
        "OPTIONS",
        "/scim/v2/OtpDevice",
        b"",
        &[("origin", "https://admin.example.com"), ("access-control-request-method", "POST")],
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("https://admin.example.com"));
    assert_eq!(preflight.header("vary"), Some("Origin"));
    assert!(preflight.header("access-control-allow-headers").unwrap().contains("If-Match"));
    let denied = api.raw(
        "OPTIONS",
        "/scim/v2/OtpDevice/1",
        b"",
        &[("origin", "https://admin.example.com"), ("access-control-request-method", "DELETE")],
    );
    assert!(denied.header("access-control-allow-origin").is_none());

    let auth = basic(ADMIN);
    let body = serde_json::to_vec(&json!({"type": "TOTP", "user": "x"})).unwrap();
    let evil = api.raw(
        "POST",
        "/scim/v2/OtpDevice",
        &body,
        &[
            ("origin", "https://evil.example.net"),
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
    );
    assert_eq!(evil.status, 403);
    assert!(evil.header("access-control-allow-origin").is_none());
    assert_eq!(evil.header("vary"), Some("Origin"), "a refusal depends on Origin too");
    assert_eq!(api.snapshot(), "", "the request from a disallowed origin was not executed");
    let allowed = api.raw(
        "POST",
        "/scim/v2/OtpDevice",
        &body,
        &[
            ("origin", "https://admin.example.com"),
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
    );
    assert_eq!(allowed.status, 201);
    assert_eq!(allowed.header("access-control-expose-headers"), Some("ETag, Location"));
    let same_origin = api.raw(
        "POST",
        "/scim/v2/OtpDevice",
        &body,
        &[
            ("origin", "http://127.0.0.1:3000"),
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
    );
    assert_eq!(same_origin.status, 201);
}

#[test]
fn discovery_is_generated_from_the_table() {
    let api = Api::new();
    let (status, spc) = api.call("GET", "/ServiceProviderConfig", None);
    assert_eq!((status, spc["patch"]["supported"].as_bool()), (200, Some(true)));
    let (_, types) = api.call("GET", "/ResourceTypes", None);
    assert_eq!(types["Resources"][0]["endpoint"], "/OtpDevice");
    let (status, schema) = api.call("GET", &format!("/Schemas/{}", shared::model::DEVICE_SCHEMA), None);
    assert_eq!((status, schema["name"].as_str()), (200, Some("OtpDevice")));
    let head = api.raw("HEAD", "/scim/v2/ServiceProviderConfig", b"", &[("authorization", &basic(ADMIN))]);
    assert_eq!((head.status, head.body.len()), (200, 0));
}

/// A bad setting is named to an authenticated admin (never its value, which may be a secret),
/// and to nobody else: an anonymous caller or a reader gets a 500 that names nothing.
#[test]
fn misconfiguration_is_named_to_admins_only() {
    let api = Api::new();
    let access = settings().access;
    let leaky = "hooks.example.com/send?key=wh-s3cr3t";
    let load = |variable: &'static str, value: &str| {
        let value = value.to_owned();
        let key = data_encoding::BASE64.encode(&access.secret_key);
        let users = serde_json::to_string(&json!([
            {"user": ADMIN.0, "password_hash": access.principals[0].password_hash, "rights": ["scim:admin"]},
            {"user": READER.0, "password_hash": access.principals[1].password_hash, "rights": ["scim:invoke"]},
        ]))
        .unwrap();
        Settings::load(&move |name| match name {
            "secret_key" => Some(key.clone()),
            "scim_users" => Some(users.clone()),
            n if n == variable => Some(value.clone()),
            _ => None,
        })
    };
    let request = |who: Option<(&str, &str)>| ApiRequest {
        method: "GET".into(),
        path: "/scim/v2/ServiceProviderConfig".into(),
        headers: who.map(|w| vec![("authorization".to_owned(), basic(w))]).unwrap_or_default(),
        origin: Origin::parse("http://127.0.0.1:3000"),
        client: "127.0.0.1:1".into(),
        ..Default::default()
    };
    let detail = |response: &ApiResponse| -> String {
        let json: Value = serde_json::from_slice(&response.body).unwrap();
        json["detail"].as_str().unwrap().to_owned()
    };
    let internal = crate::i18n::INTERNAL.render(crate::i18n::Lang::En, &[]);
    for (variable, value) in [("delivery_webhook_url", leaky), ("max_fails", "zero-s3cr3t")] {
        let anonymous = api.handle(&request(None), load(variable, value));
        assert_eq!(anonymous.status, 500);
        assert_eq!(detail(&anonymous), internal, "anonymous callers learn nothing");
        let reader = api.handle(&request(Some(READER)), load(variable, value));
        assert_eq!((reader.status, detail(&reader)), (500, internal.clone()));
        let admin = api.handle(&request(Some(ADMIN)), load(variable, value));
        assert_eq!(admin.status, 500);
        assert!(
            detail(&admin).contains(&format!("SPIN_VARIABLE_{}", variable.to_uppercase())),
            "{}",
            detail(&admin)
        );
        for response in [&anonymous, &reader, &admin] {
            assert!(!String::from_utf8_lossy(&response.body).contains("s3cr3t"));
        }
    }
    let log = api.log.borrow().join("\n");
    assert!(log.contains("delivery_webhook_url") && log.contains("max_fails"), "the log names the variable");
    assert!(!log.contains("s3cr3t"), "and never the value: {log}");
    // Without a usable secret_key nobody can be authenticated: everyone gets the plain 500.
    let unauthenticatable = api.handle(&request(Some(ADMIN)), Settings::load(&|_| None));
    assert_eq!((unauthenticatable.status, detail(&unauthenticatable)), (500, internal));
}

/// Behind a TLS-terminating proxy Spin sees `http://…` while the browser is on `https://…`: the
/// same-origin SPA's writes are cross-origin to the component, refused with a message that names
/// the fix, and accepted once `public_base_url` says where the browser is.
#[test]
fn public_base_url_is_the_origin_behind_a_proxy() {
    let body = serde_json::to_vec(&json!({"type": "TOTP", "user": "x"})).unwrap();
    let post = |api: &Api| {
        let auth = basic(ADMIN);
        api.raw(
            "POST",
            "/scim/v2/OtpDevice",
            &body,
            &[
                ("origin", "https://otp.example.com"),
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
        )
    };
    let direct = Api::new();
    let refused = post(&direct);
    let detail: Value = serde_json::from_slice(&refused.body).unwrap();
    assert_eq!(refused.status, 403);
    assert!(detail["detail"].as_str().unwrap().contains("public_base_url"), "{detail}");
    assert_eq!(direct.snapshot(), "");

    let mut settings = settings();
    let (origin, _) = Origin::parse_prefix("https://otp.example.com").unwrap();
    settings.public_base =
        Some(crate::settings::PublicBase { url: "https://otp.example.com".into(), origin });
    let proxied = Api::with(settings);
    let created = post(&proxied);
    assert_eq!(created.status, 201);
    assert!(created.header("access-control-allow-origin").is_none(), "same origin: no CORS headers");
    assert_eq!(created.header("location"), Some("https://otp.example.com/scim/v2/OtpDevice/1"));
}

/// A PIN is never stored with surrounding whitespace (the answer is trimmed, so such a PIN could
/// never validate and the device would end up locked): create, PUT and PATCH refuse it alike and
/// change nothing; inner spaces are part of the PIN.
#[test]
fn a_pin_with_surrounding_whitespace_is_refused_everywhere() {
    let api = Api::new();
    for pin in [" 1234", "1234 ", "\t1234\n"] {
        let (status, error) =
            api.call("POST", "/OtpDevice", Some(json!({"type": "PIN", "user": "u", "pin": pin})));
        assert_eq!((status, error["scimType"].as_str()), (400, Some("invalidValue")), "{pin:?}");
    }
    assert_eq!(api.snapshot(), "");
    let id = api.create(json!({"type": "PIN", "user": "u", "pin": "12 34"}))["id"].as_i64().unwrap();
    let path = format!("/OtpDevice/{id}");
    let before = api.snapshot();
    let (status, _) = api.call("PUT", &path, Some(json!({"type": "PIN", "user": "u", "pin": " 9999"})));
    assert_eq!(status, 400);
    let patch = json!({"Operations": [{"op": "replace", "path": "pin", "value": "9999 "}]});
    assert_eq!(api.call("PATCH", &path, Some(patch)).0, 400);
    assert_eq!(api.snapshot(), before, "nothing changed");
    assert_eq!(api.respond(id, " 12 34\n")["success"], true, "the answer is trimmed, the inner space kept");
}

/// A state change and its audit row are written together: when the audit row cannot be
/// written, the change is not either (the TOTP code is not consumed, the failure not counted,
/// the PATCH not applied). A validation's audit row comes from a trigger in its one statement;
/// a rival trigger refuses it here, as a full disk would.
#[test]
fn a_change_without_its_audit_row_is_not_written() {
    let api = Api::new();
    let (id, code) = api.totp_device("u");
    let before = api.snapshot();
    api.db
        .execute_batch(
            "CREATE TEMP TRIGGER refuse_audit BEFORE INSERT ON audit \
             BEGIN SELECT RAISE(ABORT, 'injected failure of the audit row'); END",
        )
        .unwrap();
    for pin in [code.as_str(), "000000"] {
        let (status, _) =
            api.call("POST", &format!("/OtpDevice/{id}/responseChallenge"), Some(json!({"pin": pin})));
        assert_eq!(status, 500, "{pin}");
        assert_eq!(api.snapshot(), before, "neither the success nor the failure was written");
        assert!(api.db.is_autocommit(), "no transaction left open");
    }
    api.db.execute_batch("DROP TRIGGER temp.refuse_audit").unwrap();
    assert_eq!(api.respond(id, &code)["success"], true, "the code was not consumed");

    let before = api.snapshot();
    api.db.fail_next.replace(Some("INSERT INTO audit"));
    let disable = json!({"Operations": [{"op": "replace", "path": "status", "value": "D"}]});
    assert_eq!(api.call("PATCH", &format!("/OtpDevice/{id}"), Some(disable)).0, 500);
    assert_eq!(api.snapshot(), before);
    let log = api.log.borrow().join("\n");
    assert!(log.contains("injected failure"), "the cause is logged: {log}");
}

/// Every validation leaves one audit row, written by migration 6's triggers: who, when, which
/// device, and for a failure the count and whether it locked.
#[test]
fn validations_are_audited_by_their_own_statement() {
    let api = Api::with(Settings { max_fails: 2, ..settings() });
    let (id, code) = api.totp_device("u");
    api.respond(id, &code);
    api.respond(id, "000000");
    api.respond(id, "000000");
    let rows: Vec<(i64, String, String, String)> = api
        .db
        .prepare("SELECT at, actor, action, detail FROM audit WHERE device_id = ? AND action LIKE 'challenge%' ORDER BY id")
        .unwrap()
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let now = api.now.get();
    let row = |action: &str, detail: &str| (now, "admin".to_owned(), action.to_owned(), detail.to_owned());
    assert_eq!(
        rows,
        [
            row("challenge-success", ""),
            row("challenge-failure", "fails 1"),
            row("challenge-failure-locked", "fails 2")
        ]
    );
}

/// A failed COMMIT rolls back: the request's connection never carries a dead transaction on.
#[test]
fn a_failed_commit_is_rolled_back() {
    let api = Api::new();
    api.db.fail_next.replace(Some("COMMIT"));
    let (status, _) = api.call("POST", "/OtpDevice", Some(json!({"type": "TOTP", "user": "u"})));
    assert_eq!(status, 500);
    assert!(api.db.is_autocommit(), "ROLLBACK ran after the failed COMMIT");
    assert_eq!(api.snapshot(), "", "nothing of the create remains");
    assert_eq!(api.call("POST", "/OtpDevice", Some(json!({"type": "TOTP", "user": "u"}))).0, 201);
}

/// Rows are read by column name; a value of the wrong type is an internal error that names the
/// column in the log, never a silent default (a `fails` that reads as 0, a name as "").
#[test]
fn a_mistyped_column_fails_loudly() {
    let api = Api::new();
    let id = api.create(json!({"type": "TOTP", "user": "u"}))["id"].as_i64().unwrap();
    api.db.execute("UPDATE devices SET fails = 'many' WHERE id = ?", [id]).unwrap();
    let (status, error) = api.call("GET", &format!("/OtpDevice/{id}"), None);
    assert_eq!(status, 500);
    assert!(!error["detail"].as_str().unwrap().contains("fails"), "no internals in the answer");
    let log = api.log.borrow().join("\n");
    assert!(log.contains("column fails holds text"), "{log}");
}

/// The compare-and-set of a success holds only against the state the answer was checked with: a
/// TOTP step guard on the last step read, a PIN guard on the hash verified against.
#[test]
fn success_guards_check_the_state_that_was_read() {
    use crate::store::{self, SuccessGuard};
    let api = Api::new();
    let totp = api.create(json!({"type": "TOTP", "user": "u"}))["id"].as_i64().unwrap();
    let pin = api.create(json!({"type": "PIN", "user": "u", "pin": "1234"}))["id"].as_i64().unwrap();
    let hash = store::challenge_state(&api.db.connection, "default", pin, api.now.get())
        .unwrap()
        .unwrap()
        .pin_hash
        .unwrap();
    let won = |guard: SuccessGuard<'_>, id: i64| {
        let actor = store::Actor { tenant: "default", name: "test" };
        store::Validation::new(&api.db.connection, actor, api.now.get())
            .record_success(id, guard)
            .unwrap()
            .is_some()
    };
    assert!(won(SuccessGuard::TotpStep { step: 10, last: None }, totp));
    assert!(!won(SuccessGuard::TotpStep { step: 12, last: None }, totp), "step 10 was accepted meanwhile");
    assert!(won(SuccessGuard::TotpStep { step: 12, last: Some(10) }, totp));
    assert!(!won(SuccessGuard::TotpStep { step: 12, last: Some(12) }, totp), "never the same step twice");
    api.db.execute("UPDATE devices SET pin_hash = 'changed' WHERE id = ?", [pin]).unwrap();
    assert!(!won(SuccessGuard::Pin(&hash), pin), "the PIN changed after it was verified");
}

/// A statement the store interrupts (libSQL's server does, now and then) runs again: alone when
/// no transaction is open, with its whole transaction from `BEGIN` when one is. The request
/// succeeds once, counted once.
#[test]
fn interrupted_statements_and_transactions_run_again() {
    let api = Api::new();
    let (id, code) = api.totp_device("u");
    // A validation: the request's first read, then its one write (no transaction), each
    // interrupted once.
    api.db.interrupt.replace(vec!["SELECT", "UPDATE devices"]);
    let (status, result) =
        api.call("POST", &format!("/OtpDevice/{id}/responseChallenge"), Some(json!({"pin": code.clone()})));
    assert_eq!((status, result), (200, json!({"success": true, "locked": false})));
    assert!(api.db.interrupt.borrow().is_empty(), "every interruption was met");
    assert_eq!(api.audit_count("challenge-success"), 1, "one success recorded");
    let (_, again) =
        api.call("POST", &format!("/OtpDevice/{id}/responseChallenge"), Some(json!({"pin": code})));
    assert_eq!(again["success"], false, "still single use");

    // A PATCH: its UPDATE and then its COMMIT interrupted inside the transaction.
    api.db.interrupt.replace(vec!["UPDATE devices", "COMMIT"]);
    let disable = json!({"Operations": [{"op": "replace", "path": "status", "value": "D"}]});
    assert_eq!(api.call("PATCH", &format!("/OtpDevice/{id}"), Some(disable)).0, 200);
    assert!(api.db.interrupt.borrow().is_empty(), "every interruption was met");
    assert!(api.db.is_autocommit(), "no transaction left open");
    assert_eq!(api.audit_count("patch"), 1, "one PATCH recorded");
}

/// A write whose answer was lost on the way back may have run, so it is not run again: the
/// caller hears 503 and the change happened at most once (a validation accepted once, never
/// also counted as a failure; a PATCH recorded once). A read whose answer was lost runs again.
#[test]
fn a_write_whose_answer_was_lost_is_not_run_again() {
    let api = Api::new();
    let (id, code) = api.totp_device("u");
    api.db.lose_answer.replace(Some("UPDATE devices"));
    let (status, _) =
        api.call("POST", &format!("/OtpDevice/{id}/responseChallenge"), Some(json!({"pin": code})));
    assert_eq!(status, 503);
    assert_eq!((api.audit_count("challenge-success"), api.audit_count("challenge-failure")), (1, 0));

    api.db.lose_answer.replace(Some("COMMIT"));
    let disable = json!({"Operations": [{"op": "replace", "path": "status", "value": "D"}]});
    assert_eq!(api.call("PATCH", &format!("/OtpDevice/{id}"), Some(disable)).0, 503);
    assert!(api.db.is_autocommit(), "no transaction left open");
    assert_eq!(api.audit_count("patch"), 1, "committed once, not run again");

    api.db.lose_answer.replace(Some("SELECT"));
    assert_eq!(api.call("GET", &format!("/OtpDevice/{id}"), None).0, 200, "the read ran again");
}

/// The words of each host's failures, as Spin hands them over, and what they say: whether the
/// store failed for the moment (a 503) and whether the statement surely did not run (then it may
/// run again). The sqld ones are from its logs under this suite and the benchmark.
#[test]
fn store_failures_are_told_apart_by_their_words() {
    let sqld_429 = "Error::Io(\"Hrana: `api error: `{\\\"error\\\":\\\"Timed out while opening database connection\\\"}``\")";
    let cases = [
        (INTERRUPTED, true, true),
        (UNREACHABLE, true, true),
        (sqld_429, true, true),
        ("Error::Io(\"database is locked\")", true, true),
        (ANSWER_LOST, true, false),
        (
            "Error::Io(\"Hrana: `cursor error: `error reading a body from connection: unexpected EOF during chunk size line``\")",
            true,
            false,
        ),
        ("Error::Io(\"UNIQUE constraint failed: devices.id\")", false, false),
        (
            "Error::Io(\"Hrana: `api error: `{\\\"error\\\":\\\"Authorization forbidden\\\"}``\")",
            false,
            false,
        ),
    ];
    for (words, transient, not_run) in cases {
        let error = DbError(words.into());
        assert_eq!((error.is_transient(), error.did_not_run()), (transient, not_run), "{words}");
    }
}

/// A store that stays out of reach is a 503 with `Retry-After`, within the retries, for every
/// caller (before authentication too: the store is the first thing a request reads), naming no
/// internals, logging the cause; nothing changes.
#[test]
fn a_store_out_of_reach_is_a_503_that_changes_nothing() {
    let api = Api::new();
    api.create(json!({"type": "TOTP", "user": "u"}));
    let before = api.snapshot();
    api.db.down.set(true);
    for (method, path, body) in [
        ("GET", "/OtpDevice", None),
        ("POST", "/OtpDevice", Some(json!({"type": "HOTP", "user": "v"}))),
        (
            "PATCH",
            "/OtpDevice/1",
            Some(json!({"Operations": [{"op": "replace", "path": "status", "value": "D"}]})),
        ),
    ] {
        api.db.statements.set(0);
        let (status, error, response) = api.call_as(ADMIN, method, path, body, &[("accept-language", "es")]);
        assert_eq!(status, 503, "{method} {path}: {error}");
        assert_eq!(response.header("retry-after"), Some("1"));
        let detail = error["detail"].as_str().unwrap();
        assert!(detail.starts_with("La base de datos no está disponible"), "{detail}");
        assert!(!detail.contains("Hrana") && !detail.contains("111"), "no internals: {detail}");
        // Five attempts of the first statement, then the answer.
        assert_eq!(api.db.statements.get(), 1 + crate::db::RETRY_PAUSES_MS.len(), "{method} {path}");
    }
    let (status, _, _) = api.call_as(("admin", "wrong"), "GET", "/OtpDevice", None, &[]);
    assert_eq!(status, 503, "a stranger learns only that the service is unavailable");
    api.db.down.set(false);
    assert_eq!(api.snapshot(), before);
    let log = api.log.borrow().join("\n");
    assert!(
        log.contains("GET /scim/v2/OtpDevice: store unavailable: database error: Error::Io(\"Hrana"),
        "{log}"
    );
}

/// Transaction retries end: work interrupted at every attempt is a 503, rolled back each time.
#[test]
fn a_transaction_interrupted_every_time_is_a_503() {
    let api = Api::new();
    let before = api.snapshot();
    api.db.interrupt.replace(vec!["INSERT INTO devices"; 1 + crate::db::RETRY_PAUSES_MS.len()]);
    let (status, _) = api.call("POST", "/OtpDevice", Some(json!({"type": "TOTP", "user": "u"})));
    assert_eq!(status, 503);
    assert!(api.db.interrupt.borrow().is_empty(), "five attempts");
    assert!(api.db.is_autocommit());
    assert_eq!(api.snapshot(), before);
    assert_eq!(api.call("POST", "/OtpDevice", Some(json!({"type": "TOTP", "user": "u"}))).0, 201);
}

/// A named action's body as HID's seed nests it (SPEC §14).
fn action_body(action: &str, attributes: &[(&str, &str)]) -> Value {
    let attributes: Vec<Value> = attributes.iter().map(|(n, v)| json!({"name": n, "value": v})).collect();
    json!({"schemas": [ACTION], ACTION: {"action": action, "attributes": attributes}})
}

/// The statements each kind of request runs, a login already cached: on a network store (libSQL)
/// each is a round trip, so these are kept few, and this test holds them there. `--nocapture`
/// prints the table for BENCHMARKS.md.
#[test]
fn statements_per_request() {
    let api = Api::new();
    let (id, code) = api.totp_device("u");
    let count = |method: &str, path: &str, body: Option<Value>| {
        api.db.statements.set(0);
        let (status, json) = api.call(method, path, body);
        assert!(status < 300, "{method} {path}: {status} {json}");
        api.db.statements.get()
    };
    let patch = json!({"Operations": [{"op": "replace", "path": "status", "value": "D"}]});
    let enable = json!({"Operations": [{"op": "replace", "path": "status", "value": "V"}]});
    // HID's VERIFY (SPEC §14) on an authenticator of its own, with its enrolled TOTP device.
    let (status, created) = api.call(
        "POST",
        "/Authenticator",
        Some(json!({"owner": {"display": "w"}, "policy": {"value": "AT_EMPOTP"}})),
    );
    assert_eq!(status, 201, "{created}");
    let verify_path = format!("/Authenticator/{}", created["id"].as_str().unwrap());
    let verify_secret = secret_of(created[ENROLLMENT_EXT]["otpauthUri"].as_str().unwrap());
    let verify = |code: &str| Some(action_body("VERIFY", &[("RESPONSE", code)]));
    let next_code = || {
        api.now.set(api.now.get() + 30);
        api.code(&verify_secret)
    };
    let rows = [
        ("list (GET /OtpDevice)", count("GET", "/OtpDevice", None)),
        ("filtered list", count("GET", "/OtpDevice?filter=user%20eq%20%22u%22", None)),
        ("filtered list, no match", count("GET", "/OtpDevice?filter=user%20eq%20%22nobody%22", None)),
        ("count only (count=0)", count("GET", "/OtpDevice?count=0", None)),
        ("get one", count("GET", &format!("/OtpDevice/{id}"), None)),
        ("create TOTP", count("POST", "/OtpDevice", Some(json!({"type": "TOTP", "user": "v"})))),
        ("PATCH status", count("PATCH", &format!("/OtpDevice/{id}"), Some(patch))),
        ("PATCH back", count("PATCH", &format!("/OtpDevice/{id}"), Some(enable))),
        (
            "validation, wrong code",
            count("POST", &format!("/OtpDevice/{id}/responseChallenge"), Some(json!({"pin": "000000"}))),
        ),
        (
            "validation, right code",
            count("POST", &format!("/OtpDevice/{id}/responseChallenge"), Some(json!({"pin": code}))),
        ),
        ("VERIFY, wrong code", count("POST", &verify_path, verify("000000"))),
        ("VERIFY, right code, first", count("POST", &verify_path, verify(&next_code()))),
        ("VERIFY, right code", count("POST", &verify_path, verify(&next_code()))),
    ];
    for (what, statements) in &rows {
        println!("statements per request: {what}: {statements}");
    }
    let most = |what: &str| rows.iter().find(|(w, _)| *w == what).unwrap().1;
    // A page with rows carries its count; an empty one asks for the count alone.
    assert_eq!(most("list (GET /OtpDevice)"), 2);
    assert_eq!(most("filtered list, no match"), 3);
    assert_eq!(most("count only (count=0)"), 2);
    // One read of the session, one of the device, one write with its audit row by trigger.
    assert_eq!(most("validation, right code"), 3);
    assert_eq!(most("validation, wrong code"), 3);
    // HID's VERIFY reads the authenticator, then its devices with their open codes and what a
    // check needs, before the same compare-and-set; only a device's first success (C to V, with
    // its audit row) or a device's turn to close writes more, in one transaction.
    assert_eq!(most("VERIFY, wrong code"), 4);
    assert_eq!(most("VERIFY, right code, first"), 8);
    assert_eq!(most("VERIFY, right code"), 4);
}
