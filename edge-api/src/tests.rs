//! The whole API, natively, against an in-memory SQLite: the admin's workflows and every refusal.

use crate::app::{Env, handle};
use crate::challenge::Delivery;
use crate::crypto;
use crate::http::{ApiRequest, ApiResponse};
use crate::settings::{Principal, Right, Settings};
use serde_json::{Value, json};
use shared::otp::{CodeParams, Secret, format_code, hotp, totp};
use shared::validate::Defaults;
use shared::{Algorithm, Status};
use std::cell::{Cell, RefCell};
use std::sync::OnceLock;

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
        principals: vec![
            Principal { user: ADMIN.0.into(), password_hash: admin, rights: vec![Right::Admin] },
            Principal { user: READER.0.into(), password_hash: reader, rights: vec![Right::Invoke] },
        ],
        api_tokens: Vec::new(),
        cors_origins: Vec::new(),
        cors_methods: vec!["GET".into(), "OPTIONS".into(), "HEAD".into()],
        secret_key: [42; 32],
        issuer: "scim-otp".into(),
        defaults: Defaults::default(),
        totp_window: 1,
        hotp_lookahead: 10,
        max_fails: 5,
        challenge_ttl: 300,
        delivery_webhook_url: None,
        dev_outbox: true,
        public_base_url: None,
    }
}

struct Api {
    db: rusqlite::Connection,
    settings: Settings,
    now: Cell<i64>,
    delivered: RefCell<Vec<Delivery>>,
    gateway_up: Cell<bool>,
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
        crate::store::migrate(&db).unwrap();
        Api {
            db,
            settings,
            now: Cell::new(1_700_000_000),
            delivered: RefCell::new(Vec::new()),
            gateway_up: Cell::new(true),
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
            origin: "http://127.0.0.1:3000".into(),
        };
        let deliver = |_: &str, d: &Delivery| {
            self.delivered.borrow_mut().push(d.clone());
            if self.gateway_up.get() { Ok(()) } else { Err("down".into()) }
        };
        let env = Env { db: &self.db, now: self.now.get(), deliver: &deliver, log: &|_| {} };
        handle(&request, Ok(self.settings.clone()), &env)
    }

    fn call_as(
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
        let response = self.raw(method, &format!("{BASE}{path}"), &body, &headers);
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

    fn respond(&self, id: i64, code: &str) -> Value {
        let (status, json) =
            self.call("POST", &format!("/OtpDevice/{id}/responseChallenge"), Some(json!({"pin": code})));
        assert_eq!(status, 200, "{json}");
        json
    }

    /// Everything stored about devices, to prove a refused request changed nothing.
    fn snapshot(&self) -> String {
        let mut statement = self.db.prepare("SELECT * FROM devices ORDER BY id").unwrap();
        let columns = statement.column_count();
        let rows: Vec<String> = statement
            .query_map([], |row| {
                Ok((0..columns)
                    .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
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
    let stored: Vec<u8> =
        api.db.query_row("SELECT code_digest FROM devices WHERE id = ?", [id], |r| r.get(0)).unwrap();
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
    settings.delivery_webhook_url = Some("https://gateway.example.com/send".into());
    let api = Api::with(settings);
    let id =
        api.create(json!({"type": "SMS", "user": "agatha", "phone": "666555444"}))["id"].as_i64().unwrap();
    api.gateway_up.set(false);
    let (status, error) = api.call("GET", &format!("/OtpDevice/{id}/requestChallenge"), None);
    assert_eq!((status, error["status"].as_str()), (502, Some("502")));
    let code = api.delivered.borrow()[0].code.clone();
    assert_eq!(api.delivered.borrow()[0].channel, "sms");
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

/// A database written by the first release (schema version 1) gains `external_id` on the first
/// request of the new component, and keeps its devices.
#[test]
fn migration_from_the_first_schema_keeps_devices() {
    let db = rusqlite::Connection::open_in_memory().unwrap();
    db.execute_batch(crate::store::MIGRATIONS[0]).unwrap();
    db.execute_batch(
        "PRAGMA user_version = 1; \
         INSERT INTO devices (name, type, user_name, status, created, modified, algorithm, digits, period) \
         VALUES ('TOTP00000001', 'TOTP', 'old', 'V', 1600000000, 1600000000, 'SHA1', 6, 30);",
    )
    .unwrap();
    crate::store::migrate(&db).unwrap();
    let version: i64 = db.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, crate::store::SCHEMA_VERSION);
    let device = crate::store::get_device(&db, 1).unwrap().unwrap();
    assert_eq!((device.user.as_str(), device.status, device.external_id), ("old", Status::Validated, None));
    crate::store::migrate(&db).unwrap();
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
    assert_eq!(
        api.call("GET", "/soffid/webservice/scim2/v1/OtpDevice".trim_start_matches("/scim/v2"), None).0,
        404
    );
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
fn authentication_rights_and_throttling() {
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

    for _ in 0..10 {
        assert_eq!(api.call_as((ADMIN.0, "wrong"), "GET", "/OtpDevice", None, &[]).0, 401);
    }
    let (status, _, response) = api.call_as((ADMIN.0, "wrong"), "GET", "/OtpDevice", None, &[]);
    assert_eq!((status, response.header("retry-after")), (429, Some("60")));
    assert_eq!(api.call_as(ADMIN, "GET", "/OtpDevice", None, &[]).0, 429, "even the right password waits");
    api.now.set(api.now.get() + 61);
    assert_eq!(api.call_as(ADMIN, "GET", "/OtpDevice", None, &[]).0, 200);
    assert_eq!(api.call_as(READER, "GET", "/OtpDevice", None, &[]).0, 200, "other principals are unaffected");
}

#[test]
fn bearer_tokens_are_checked_against_their_hash() {
    let mut settings = settings();
    let token = "f3b1c0de-machine-client-token";
    settings.api_tokens = vec![crate::settings::ApiToken {
        name: "provisioning".into(),
        sha256: crypto::sha256(token.as_bytes()),
        rights: vec![Right::Invoke],
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
    settings.cors_origins = vec!["admin.example.com".into()];
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

#[test]
fn misconfiguration_names_the_variable() {
    let api = Api::new();
    let request =
        ApiRequest { method: "GET".into(), path: "/scim/v2/OtpDevice".into(), ..Default::default() };
    let env = Env { db: &api.db, now: 0, deliver: &|_, _| Ok(()), log: &|_| {} };
    let broken = Settings::load(&|name| (name == "max_fails").then(|| "zero".to_owned()));
    let response = handle(&request, broken, &env);
    let json: Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(response.status, 500);
    assert!(json["detail"].as_str().unwrap().contains("SPIN_VARIABLE_SECRET_KEY"), "{json}");
}
