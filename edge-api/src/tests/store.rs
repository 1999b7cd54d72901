//! The store under the API: migrations, listings in SQL, atomic audit rows, the retries and
//! failures of a network store, and the statements each request runs.

use super::*;

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
        crate::store::session(&db, None, None, "default", 1_700_000_000, "default").unwrap();
        assert_eq!(recorded_versions(&db), (1..=crate::store::SCHEMA_VERSION).collect::<Vec<_>>());
        let pragma: i64 = db.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(pragma, version as i64, "the pragma is left as it was");
        let device = crate::tests::store_of(&db, "default", 1_700_000_000).get_device(1).unwrap().unwrap();
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
    use crate::store::SuccessGuard;
    let api = Api::new();
    let totp = api.create(json!({"type": "TOTP", "user": "u"}))["id"].as_i64().unwrap();
    let pin = api.create(json!({"type": "PIN", "user": "u", "pin": "1234"}))["id"].as_i64().unwrap();
    let hash = api.store("default").challenge_state(pin).unwrap().unwrap().pin_hash.unwrap();
    let won = |guard: SuccessGuard<'_>, id: i64| {
        api.store("default").validation().record_success(id, guard).unwrap().is_some()
    };
    assert!(won(SuccessGuard::TotpStep { step: 10, last: None, drift: 0 }, totp));
    assert!(
        !won(SuccessGuard::TotpStep { step: 12, last: None, drift: 0 }, totp),
        "step 10 was accepted meanwhile"
    );
    assert!(won(SuccessGuard::TotpStep { step: 12, last: Some(10), drift: 0 }, totp));
    assert!(
        !won(SuccessGuard::TotpStep { step: 12, last: Some(12), drift: 0 }, totp),
        "never the same step twice"
    );
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

/// A saturated libSQL server (sqld refuses a request after a second without a connection permit)
/// is answered 503 with `Retry-After` at its first refusal: asking again within the request
/// would only add to the load that saturates it, a second at a time. Nothing changes.
#[test]
fn a_saturated_store_is_a_503_at_once() {
    let api = Api::new();
    api.create(json!({"type": "TOTP", "user": "u"}));
    let before = api.snapshot();
    // A read, a validation's one write, a transaction's BEGIN and a write inside it.
    for (refused, method, path, body) in [
        ("SELECT", "GET", "/OtpDevice", None),
        ("UPDATE devices", "POST", "/OtpDevice/1/responseChallenge", Some(json!({"pin": "000000"}))),
        ("BEGIN", "POST", "/OtpDevice", Some(json!({"type": "HOTP", "user": "v"}))),
        ("INSERT INTO devices", "POST", "/OtpDevice", Some(json!({"type": "HOTP", "user": "v"}))),
    ] {
        api.db.saturated.set(Some(refused));
        api.db.refused.set(0);
        let (status, error, response) = api.call_as(ADMIN, method, path, body, &[]);
        assert_eq!(status, 503, "{method} {path}: {error}");
        assert_eq!(response.header("retry-after"), Some("1"));
        assert_eq!(api.db.refused.get(), 1, "{refused}: refused once, not asked again");
        assert!(api.db.is_autocommit(), "{refused}");
    }
    api.db.saturated.set(None);
    assert_eq!(api.snapshot(), before);
}

/// A local SQLite file's write lock, taken by another request: the connection waits a millisecond
/// for it in SQLite (`PRAGMA busy_timeout = 1`), and the statement runs again at once until it
/// gets through, so that a lock held for a millisecond is not waited for 100 ms (SQLite's
/// default handler's longest sleep). A lock held past `sqlite_lock_wait_ms` is a 503 at once,
/// not five more transactions of waiting; nothing changes.
#[test]
fn a_local_lock_is_looked_at_every_millisecond() {
    let api = Api::with(Settings { sqlite_lock_wait_ms: 50, ..settings() });
    let (id, code) = api.totp_device("u");
    let busy_timeout: i64 = api.db.query_row("PRAGMA busy_timeout", [], |row| row.get(0)).unwrap();
    assert_eq!(busy_timeout, 1);
    api.db.locked.set((Some("UPDATE devices"), 49));
    let (status, result) =
        api.call("POST", &format!("/OtpDevice/{id}/responseChallenge"), Some(json!({"pin": code})));
    assert_eq!((status, result), (200, json!({"success": true, "locked": false})));
    assert_eq!(api.db.locked.get().1, 0, "49 attempts found it locked, the 50th got through");

    let before = api.snapshot();
    api.db.locked.set((Some("BEGIN"), 1000));
    let (status, _, response) =
        api.call_as(ADMIN, "POST", "/OtpDevice", Some(json!({"type": "TOTP", "user": "v"})), &[]);
    assert_eq!((status, response.header("retry-after")), (503, Some("1")));
    assert_eq!(api.db.locked.get().1, 1000 - 50, "50 attempts of one BEGIN, and no more");
    api.db.locked.set((None, 0));
    assert_eq!(api.snapshot(), before);
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
    // HID's VERIFY reads the authenticator and its devices with their open codes and what a
    // check needs in one statement, as a responseChallenge reads its device, before the same
    // compare-and-set; only a device's first success (C to V, with its audit row) or a device's
    // turn to close writes more, in one transaction.
    assert_eq!(most("VERIFY, wrong code"), 3);
    assert_eq!(most("VERIFY, right code, first"), 7);
    assert_eq!(most("VERIFY, right code"), 3);
}

/// An instance that answers many requests (the WASIp3 build, reused by Spin) remembers its
/// session reads: a request whose schema, tenant and verified credential it has seen reads
/// only what its own work needs. A credential past its cache time, another password, and a
/// tenant not yet seen are read again, and a wrong password is still refused.
#[test]
fn a_reused_instance_reads_the_session_once() {
    use super::users::{ACME_ADMIN, at, tenant_settings};
    let api = Api::with(tenant_settings()).reusing_instance();
    let (id, code) = api.totp_device("u");
    let statements = |who: (&str, &str), method: &str, path: &str, body: Option<Value>| {
        api.db.statements.set(0);
        let (status, _, _) = api.call_as(who, method, path, body, &[]);
        (status, api.db.statements.get())
    };
    let in_acme = || {
        api.db.statements.set(0);
        let (status, _, _) = at(&api, ACME_ADMIN, "GET", "/scim/acme/v2/OtpDevice?count=0", None);
        (status, api.db.statements.get())
    };
    let get = format!("/OtpDevice/{id}");
    // The admin's credential was verified and remembered by `totp_device`'s request, but not
    // the tenant that request seeded: the session is read once more, then remembered, and the
    // device read is alone.
    assert_eq!(statements(ADMIN, "GET", &get, None), (200, 2));
    assert_eq!(statements(ADMIN, "GET", &get, None), (200, 1));
    let validate = format!("/OtpDevice/{id}/responseChallenge");
    assert_eq!(statements(ADMIN, "POST", &validate, Some(json!({"pin": code}))), (200, 2));
    // The reader's is not yet: read (no cache entry), budgeted, hashed, cached and remembered.
    let (status, first) = statements(READER, "GET", &get, None);
    assert_eq!(status, 200);
    assert!(first > 2, "a first login reads and writes its budget and cache: {first}");
    assert_eq!(statements(READER, "GET", &get, None), (200, 1));
    // Another password is another digest: read, and refused.
    let (status, wrong) = statements((READER.0, "not-the-password"), "GET", &get, None);
    assert_eq!(status, 401);
    assert!(wrong > 1, "{wrong}");
    // Another tenant: read (and seeded), then remembered.
    let (status, seeding) = in_acme();
    assert_eq!(status, 200);
    assert!(seeding > 2, "{seeding}");
    assert_eq!(in_acme(), (200, 2));
    assert_eq!(in_acme(), (200, 1));
    // Past the cache time the credential is read again: not found, so verified again, and
    // remembered anew.
    api.now.set(api.now.get() + crate::auth::CACHE_SECONDS);
    let (status, again) = statements(ADMIN, "GET", &get, None);
    assert_eq!(status, 200);
    assert!(again > 2, "{again}");
    assert_eq!(statements(ADMIN, "GET", &get, None), (200, 1));
}

/// A migration that shipped is never edited (a database that ran it would not run it again):
/// the SQL of each is pinned by its SHA-256. Its source may change shape (a fragment shared with
/// today's statements through `concat!`), never its text.
#[test]
fn shipped_migrations_keep_their_text() {
    use sha2::Digest;
    let digests: Vec<String> = crate::store::MIGRATIONS
        .iter()
        .map(|script| data_encoding::HEXLOWER.encode(&sha2::Sha256::digest(script.as_bytes())))
        .collect();
    assert_eq!(digests, SHIPPED_MIGRATIONS);
}

/// One per migration, in order; a new migration adds its line.
const SHIPPED_MIGRATIONS: &[&str] = &[
    "501507c429adf4d8565f7d49599f1eec20b6ebfd70c419e04c18b02d8d28a81c",
    "96d62b0873c68b184105f04f1a994753b0e232950070f853cf67b68cb1343ee9",
    "805ea58251f4f468e3b465bd5b1f97b7396d243b01fccdbc6353f63f993a268c",
    "887a9fe29756a3e17ab9e861ed93f41bc274d8ef3c2aa534f859fe598e4751dd",
    "f6a9d8f9df31220f33452d0344fba35d8af70135f3e827917f93a9062fc49ea0",
    "86adf60009b412ab7b5f4c68a83bea220b3935f54b087cfbcad614e757166d9f",
    "f746ae8e54b0fed4ea4858acadc91f2adc3fdf7773a2dbc204ba0ded73cfca50",
    "49c2585c8811e84eaf312365dbd91c67585c5e255b1b65df0d8bbd7866a5964f",
    "59a474835f4708a8e1aaf2eda673a430cc1afa59b262551b70b508c0a8474a0e",
    "8f34c36a6b915f6d71a4fc6b0ac6b813669ee5072817963a579176bf9150eeb7",
    "916bfacbc84b7ee57733b8ab2a0e612873121f02b5366a776ac1a1c4788f9ba3",
    "b8dbeca1b65e3ad3472873779baa3fb06a5adab2cd6d58b73271f21c085ae034",
    "4399fd12f114b979372f8b171eb45dcdb5c8e67ab611de7ecfed07c3f012aed7",
    "dca935a1c0ca2882322557f0f685c6ee3c7eb08fc624075a56c53349a53c4133",
];
