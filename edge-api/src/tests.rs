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
mod domain;
mod hardening;
mod hid;
mod import;
mod logins;
mod oath_devices;
mod pipeline;
mod policies;
mod soffid;
mod store;
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
        resync_window: 1000,
        seed_export: true,
        max_fails: 5,
        challenge_ttl: 300,
        // No budget to speak of: the workflows send as they please; the budget tests set their own.
        send_budget: crate::settings::SendBudget { cooldown: 0, per_hour: 1000, tenant_per_hour: 100_000 },
        delivery_webhook: None,
        ciba_notification: None,
        dev_outbox: true,
        public_base: None,
        // As on libSQL, whose faults FaultyDb plays; a test of local locks sets its own.
        sqlite_lock_wait_ms: 0,
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
    /// Statements (by prefix) refused, each time, as a saturated libSQL server refuses them.
    saturated: Cell<Option<&'static str>>,
    /// How many statements were refused so.
    refused: Cell<usize>,
    /// Statements (by prefix) that find a local SQLite file's write lock taken, and how many
    /// more times they will.
    locked: Cell<(Option<&'static str>, usize)>,
    /// The next statement that starts with this runs, and its answer is lost on the way back.
    lose_answer: RefCell<Option<&'static str>>,
    /// Statements run, failed ones included.
    statements: Cell<usize>,
}

/// Spin's words for a statement the libSQL server interrupted, and for a server out of reach.
const INTERRUPTED: &str = "Error::Io(\"Hrana: `cursor error: `error at step 0: (error code: SQLITE_INTERRUPT) `SQLite error: interrupted```\")";
const UNREACHABLE: &str = "Error::Io(\"Hrana: `http error: `error trying to connect: tcp connect error: Connection refused (os error 111)``\")";
/// Spin's words for sqld's refusal when it had no connection permit free for a second.
const SATURATED: &str = "Error::Io(\"Hrana: `api error: `{\\\"error\\\":\\\"Timed out while opening database connection\\\"}``\")";
/// Spin's words for a statement that found a local SQLite file's write lock taken.
const LOCKED: &str = "Io(\"database is locked\")";
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
        if let (Some(prefix), more @ 1..) = self.locked.get()
            && sql.trim_start().starts_with(prefix)
        {
            self.locked.set((Some(prefix), more - 1));
            return Err(DbError(LOCKED.into()));
        }
        if self.saturated.get().is_some_and(|p| sql.trim_start().starts_with(p)) {
            self.refused.set(self.refused.get() + 1);
            return Err(DbError(SATURATED.into()));
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
    /// What the requests learn of the session when they share an instance (the WASIp3 build);
    /// none, as a WASIp2 instance per request, unless [`Api::reusing_instance`].
    memo: Option<crate::store::SessionMemo>,
}

fn basic((user, password): (&str, &str)) -> String {
    format!("Basic {}", data_encoding::BASE64.encode(format!("{user}:{password}").as_bytes()))
}

/// The store as a request of `tenant` at `now` sees it, for the checks that read it directly.
pub(crate) fn store_of<'a>(
    db: &'a dyn crate::db::Database,
    tenant: &'a str,
    now: i64,
) -> crate::store::Store<'a> {
    crate::store::Store::new(db, crate::store::Actor { tenant, name: "test" }, now)
}

impl Api {
    /// The store of `tenant` now, on the connection under the faults (read directly).
    fn store<'a>(&'a self, tenant: &'a str) -> crate::store::Store<'a> {
        store_of(&self.db.connection, tenant, self.now.get())
    }

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
                saturated: Cell::new(None),
                refused: Cell::new(0),
                locked: Cell::new((None, 0)),
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
            memo: None,
        }
    }

    /// Its requests share what they learn of the session, as in an instance Spin reuses.
    fn reusing_instance(mut self) -> Api {
        self.memo = Some(crate::store::SessionMemo::new());
        self
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
        let wait_ms = settings.as_ref().map_or(0, |s| s.sqlite_lock_wait_ms);
        let db = crate::db::Patient::new(&self.db, |_| {}).wait_for_locks(wait_ms);
        let env = Env {
            db: &db,
            now: self.now.get(),
            deliver: &deliver,
            notify: &notify,
            log: &log,
            memo: self.memo.as_ref(),
        };
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

/// A named action's body as HID's seed nests it (SPEC §14).
fn action_body(action: &str, attributes: &[(&str, &str)]) -> Value {
    let attributes: Vec<Value> = attributes.iter().map(|(n, v)| json!({"name": n, "value": v})).collect();
    json!({"schemas": [ACTION], ACTION: {"action": action, "attributes": attributes}})
}
