//! Issue 31: what an attacker or a careless client could do with what tenants, HID and policies
//! added. One test per defect, each failing on the code before its fix (RELIABILITY.md).

use super::actions::{act, last_message, outcome};
use super::*;

/// An OOB authenticator of policy `policy` for a new user `name` with `contact`; its id and its
/// device's.
fn oob(api: &Api, name: &str, policy: &str, contact: Value) -> (String, i64) {
    let mut body = json!({"userName": name});
    body.as_object_mut().unwrap().extend(contact.as_object().unwrap().clone());
    let user = new_user(api, body);
    let (status, created) = api.call(
        "POST",
        "/Authenticator",
        Some(json!({"owner": {"value": user}, "policy": {"value": policy}})),
    );
    assert_eq!(status, 201, "{created}");
    (format!("{user}.{policy}"), created[ENROLLMENT_EXT]["deviceId"].as_i64().unwrap())
}

/// A DELIVER-CHALLENGE with a transaction's text and a CIBA correlation id: its id and code.
fn deliver(api: &Api, id: &str, device: i64) -> (String, String) {
    let answer = act(
        api,
        id,
        "DELIVER-CHALLENGE",
        &[("tds", "pay 400.00 to ACME"), ("correlationid", "tok:req-9"), ("DEVICE.ID", &device.to_string())],
    );
    assert_eq!(outcome(&answer), ("1", "-1"));
    let (message, code) = last_message(api);
    assert!(message.starts_with("pay 400.00 to ACME"), "{message}");
    (answer["CHALLENGE.ID"].clone(), code)
}

/// Defect 1: a code answers only the challenge that sent it. A login code sent after a
/// transaction's (by Soffid's requestChallenge or a USER-CHALLENGE) neither approves the
/// transaction nor closes it, and its CIBA ping follows only the transaction's own code.
#[test]
fn a_transaction_is_approved_only_by_its_own_code() {
    let mut api = Api::new();
    api.settings.ciba_notification =
        Some(Webhook { url: "http://127.0.0.1:9/ciba".into(), host: "127.0.0.1".into() });
    let (id, device) = oob(&api, "payer", "AT_TDS", json!({"phoneNumbers": [{"value": "+34600123456"}]}));
    for login in ["requestChallenge", "USER-CHALLENGE"] {
        let (transaction, transaction_code) = deliver(&api, &id, device);
        match login {
            "requestChallenge" => {
                let (status, _) = api.call("GET", &format!("/OtpDevice/{device}/requestChallenge"), None);
                assert_eq!(status, 200);
            }
            _ => assert_eq!(outcome(&act(&api, &id, "USER-CHALLENGE", &[])), ("1", "-1")),
        }
        let (_, login_code) = last_message(&api);
        assert_ne!(login_code, transaction_code);
        // The login code named with the transaction's CHALLENGE.ID: a wrong response, no ping.
        let named = act(&api, &id, "VERIFY", &[("RESPONSE", &login_code), ("CHALLENGE.ID", &transaction)]);
        assert_eq!(outcome(&named), ("0", "1"), "{login}");
        // Soffid's responseChallenge does not answer a transaction's code.
        assert_eq!(api.respond(device, &transaction_code)["success"], false, "{login}");
        // The login code alone answers the login: no ping, and the transaction stays open.
        assert_eq!(outcome(&act(&api, &id, "VERIFY", &[("RESPONSE", &login_code)])), ("1", "-1"));
        assert!(api.pinged.borrow().is_empty(), "{login}: a login code pinged the transaction");
        let ok = act(&api, &id, "VERIFY", &[("RESPONSE", &transaction_code), ("CHALLENGE.ID", &transaction)]);
        assert_eq!(outcome(&ok), ("1", "-1"), "{login}: the transaction's own code approves it");
        assert_eq!(*api.pinged.borrow(), vec![(Some("tok".to_owned()), "req-9".to_owned())]);
        api.pinged.borrow_mut().clear();
        // Each closed by its own success: neither code answers again.
        let again =
            act(&api, &id, "VERIFY", &[("RESPONSE", &transaction_code), ("CHALLENGE.ID", &transaction)]);
        assert_eq!(outcome(&again), ("0", "7"));
        // (RESET, so that the failures above do not add up to a lockout over both rounds.)
        api.call("POST", &format!("/Authenticator/{id}"), Some(action_body("RESET", &[])));
    }
}

/// Defect 2: a source address has a login budget over every name it claims, spent before the
/// slow hash; the admin elsewhere is never refused.
#[test]
fn made_up_names_from_one_address_share_its_budget() {
    let api = Api::new();
    let mut refused = 0;
    let started = std::time::Instant::now();
    for n in 0..40 {
        api.client.replace("203.0.113.7:5000".into());
        let (status, _, response) =
            api.call_as((&format!("nobody{n}"), "guess"), "GET", "/OtpDevice", None, &[]);
        match status {
            401 => assert!(refused == 0, "a 401 after a 429"),
            429 => {
                refused += 1;
                let retry: i64 = response.header("retry-after").unwrap().parse().unwrap();
                assert!((1..=60).contains(&retry), "{retry}");
            }
            other => panic!("{other}"),
        }
        // The admin on another address, with a password to check each time (no cached login).
        api.client.replace("198.51.100.2:6000".into());
        api.db.execute("DELETE FROM credential_cache", []).unwrap();
        assert_eq!(api.call_as(ADMIN, "GET", "/OtpDevice", None, &[]).0, 200, "the admin was refused");
    }
    assert_eq!(refused, 40 - crate::auth::LOGIN_BUDGET.per_address as usize);
    println!(
        "40 made-up names from one address: {refused} refused before the hash, in {:?}",
        started.elapsed()
    );
}

/// Defect 3: an OOB code lives for its policy's codeTtlSeconds, through both dialects.
#[test]
fn an_oob_code_lives_for_its_policys_ttl() {
    let api = Api::new();
    let (status, policy) = api.call(
        "PATCH",
        "/Policy/Authenticator/AT_OOBEML",
        Some(json!({"Operations": [{"op": "replace", "path": "codeTtlSeconds", "value": 30}]})),
    );
    assert_eq!(status, 200, "{policy}");
    let (id, device) = oob(&api, "short", "AT_OOBEML", json!({"emails": [{"value": "short@example.com"}]}));
    api.call("GET", &format!("/OtpDevice/{device}/requestChallenge"), None);
    let (_, code) = last_message(&api);
    api.now.set(api.now.get() + 31);
    assert_eq!(api.respond(device, &code)["success"], false, "Soffid: expired after 30 s");
    let sent = act(&api, &id, "USER-CHALLENGE", &[]);
    let (_, code) = last_message(&api);
    api.now.set(api.now.get() + 29);
    let ok = act(&api, &id, "VERIFY", &[("RESPONSE", &code), ("CHALLENGE.ID", &sent["CHALLENGE.ID"])]);
    assert_eq!(outcome(&ok), ("1", "-1"), "HID: alive at 29 s");
    act(&api, &id, "USER-CHALLENGE", &[]);
    let (_, code) = last_message(&api);
    api.now.set(api.now.get() + 31);
    assert_eq!(outcome(&act(&api, &id, "VERIFY", &[("RESPONSE", &code)])), ("0", "7"), "HID: expired");
}

/// Defect 4: an email address or phone number is one destination wherever it enters.
#[test]
fn an_address_is_one_destination_wherever_it_enters() {
    let api = Api::new();
    let list = "x@example.org, attacker@evil.example";
    let before = api.rows("users") + &api.rows("user_contacts");
    for body in [
        json!({"userName": "u1", "emails": [{"value": list, "primary": true}]}),
        json!({"userName": "u1", "phoneNumbers": [{"value": "+34600123456,+34600999999"}]}),
    ] {
        let (status, error) = api.call("POST", "/Users", Some(body));
        assert_eq!((status, error["scimType"].as_str()), (400, Some("invalidValue")), "{error}");
    }
    assert_eq!(api.rows("users") + &api.rows("user_contacts"), before, "nothing written");
    // A directory's spelling of a number is taken; the SMS device sends to its digits.
    let user = new_user(
        &api,
        json!({"userName": "u2", "emails": [{"value": "u2@example.org"}],
               "phoneNumbers": [{"value": "+1 (425) 555-0100", "type": "work"}]}),
    );
    for (method, body) in [
        ("PUT", json!({"userName": "u2", "emails": [{"value": list}]})),
        ("PATCH", json!({"Operations": [{"op": "add", "path": "emails", "value": [{"value": list}]}]})),
        (
            "PATCH",
            json!({"Operations": [{"op": "replace", "path": "phoneNumbers[type eq \"work\"].value",
                                         "value": "555 0100; 555 0199"}]}),
        ),
    ] {
        let before = api.rows("users") + &api.rows("user_contacts");
        let (status, error) = api.call(method, &format!("/Users/{user}"), Some(body));
        assert_eq!((status, error["scimType"].as_str()), (400, Some("invalidValue")), "{method} {error}");
        assert_eq!(api.rows("users") + &api.rows("user_contacts"), before, "nothing written");
    }
    let (status, created) = api.call(
        "POST",
        "/Authenticator",
        Some(json!({"owner": {"value": user}, "policy": {"value": "AT_OOBSMS"}})),
    );
    assert_eq!(status, 201, "{created}");
    let device = created[ENROLLMENT_EXT]["deviceId"].as_i64().unwrap();
    assert_eq!(api.call("GET", &format!("/OtpDevice/{device}"), None).1["phone"], "+14255550100");
    // An address stored before the rule (written here as an older version could have): an OOB
    // authenticator is refused, REGISTER-OOB too, and a PATCH that leaves it alone still works.
    api.db
        .execute(
            "UPDATE user_contacts SET value = ? WHERE user_id = ? AND kind = 'email'",
            rusqlite::params![list, user],
        )
        .unwrap();
    let before = api.rows("authenticators") + &api.rows("devices");
    let (status, error) = api.call(
        "POST",
        "/Authenticator",
        Some(json!({"owner": {"value": user}, "policy": {"value": "AT_OOBEML"}})),
    );
    assert_eq!((status, error["scimType"].as_str()), (400, Some("invalidValue")), "{error}");
    let mut register = action_body("REGISTER-OOB", &[("OOB_DEVICETYPE_CODE", "DT_OOBEML")]);
    register["owner"] = json!({"value": user});
    register["policy"] = json!({"value": "AT_OOBEML"});
    let (status, error) = api.call("POST", "/Authenticator", Some(register));
    assert_eq!((status, error["scimType"].as_str()), (400, Some("invalidValue")), "{error}");
    assert_eq!(api.rows("authenticators") + &api.rows("devices"), before, "nothing written");
    let (status, _) = api.call(
        "PATCH",
        &format!("/Users/{user}"),
        Some(json!({"Operations": [{"op": "replace", "path": "active", "value": false}]})),
    );
    assert_eq!(status, 200, "deactivating a user with an old address works");
}

/// Defect 5: a password with surrounding whitespace is refused, as a PIN is.
#[test]
fn a_password_with_surrounding_whitespace_is_refused() {
    let api = Api::new();
    let user = new_user(&api, json!({"userName": "pw"}));
    let before = api.rows("authenticators") + &api.rows("devices");
    for password in [" Zaqaawsx12", "Zaqaawsx12\n", "Zaqaawsx12 "] {
        let (status, error) = api.call(
            "POST",
            "/Authenticator",
            Some(json!({"owner": {"value": user}, "policy": {"value": "AT_CUSTPW"},
                        PASSWORD_EXT: {"password": password}})),
        );
        assert_eq!(
            (status, error["scimType"].as_str()),
            (400, Some("invalidValue")),
            "{password:?}: {error}"
        );
    }
    assert_eq!(api.rows("authenticators") + &api.rows("devices"), before, "nothing written");
    let (status, created) = api.call(
        "POST",
        "/Authenticator",
        Some(json!({"owner": {"value": user}, "policy": {"value": "AT_CUSTPW"},
                    PASSWORD_EXT: {"username": "pw-login", "password": "Zaqaawsx12"}})),
    );
    assert_eq!(status, 201, "{created}");
    // `Password.username` is kept as given and returned (an "Also" of issue 31).
    assert_eq!(created[PASSWORD_EXT]["username"], "pw-login");
    let id = format!("{user}.AT_CUSTPW");
    let before = api.rows("authenticators") + &api.rows("devices");
    for (method, body) in [
        (
            "PUT",
            json!({"owner": {"value": user}, "policy": {"value": "AT_CUSTPW"}, PASSWORD_EXT: {"password": " new-pass"}}),
        ),
        (
            "PATCH",
            json!({"Operations": [{"op": "replace", "path": format!("{PASSWORD_EXT}:password"), "value": "new-pass "}]}),
        ),
    ] {
        let (status, error) = api.call(method, &format!("/Authenticator/{id}"), Some(body));
        assert_eq!((status, error["scimType"].as_str()), (400, Some("invalidValue")), "{method}: {error}");
    }
    assert_eq!(api.rows("authenticators") + &api.rows("devices"), before, "nothing written");
    assert_eq!(
        api.call("GET", &format!("/Authenticator/{id}"), None).1[PASSWORD_EXT]["username"],
        "pw-login"
    );
    assert_eq!(outcome(&act(&api, &id, "VERIFY", &[("RESPONSE", "Zaqaawsx12")])), ("1", "-1"));
}

/// Defect 6: while a security-question challenge is open, asking again asks the same prompts:
/// nobody can re-roll until only the prompts they know come up.
#[test]
fn questions_are_not_re_rolled_while_a_challenge_is_open() {
    let api = Api::new();
    let user = new_user(&api, json!({"userName": "qa"}));
    let prompts: Vec<Value> = ["PR_SIBLING", "PR_NICK", "PR_ANIMAL"]
        .iter()
        .map(|p| json!({"prompt": {"value": p}, "answer": "an answer"}))
        .collect();
    let (status, _) = api.call(
        "POST",
        "/Authenticator",
        Some(json!({"owner": {"value": user}, "policy": {"value": "AT_CUSTQA"}, QUESTIONS_EXT: {"prompts": prompts}})),
    );
    assert_eq!(status, 201);
    let id = format!("{user}.AT_CUSTQA");
    let first = act(&api, &id, "USER-CHALLENGE", &[]);
    for _ in 0..12 {
        let again = act(&api, &id, "USER-CHALLENGE", &[]);
        assert_eq!(
            (&again["CHALLENGE"], &again["CHALLENGE.ID"]),
            (&first["CHALLENGE"], &first["CHALLENGE.ID"])
        );
    }
    let statistics = api.call("GET", &format!("/Authenticator/{id}"), None).1["statistics"].clone();
    assert_eq!(statistics["totalFailed"], 0);
    // Answering (here wrongly, which counts) closes it; the next asking may pick others.
    let wrong =
        act(&api, &id, "VERIFY", &[("ANSWER.PR_NICK", "no"), ("CHALLENGE.ID", &first["CHALLENGE.ID"])]);
    assert_eq!(outcome(&wrong), ("0", "1"));
    assert_ne!(act(&api, &id, "USER-CHALLENGE", &[])["CHALLENGE.ID"], first["CHALLENGE.ID"]);
}

/// Defect 7: sending codes is budgeted per destination (a cooldown and an hourly cap), per
/// device and per tenant. A refused send sends nothing, is audited, and answers 429 with
/// `Retry-After` (Soffid) or reason 9 (HID); the code sent last still answers, so the user
/// whose number a stranger pumps signs in with the code the stranger made us send.
#[test]
fn sending_codes_is_budgeted() {
    let mut settings = settings();
    settings.send_budget = crate::settings::SendBudget { cooldown: 30, per_hour: 3, tenant_per_hour: 5 };
    let api = Api::with(settings);
    let (id, device) = oob(&api, "victim", "AT_OOBSMS", json!({"phoneNumbers": [{"value": "+34600123456"}]}));
    let request = || api.call("GET", &format!("/OtpDevice/{device}/requestChallenge"), None);
    let sent = || api.rows("outbox").lines().count();
    assert_eq!(request().0, 200);
    let (_, last_code) = last_message(&api);
    // The cooldown: nothing sent, 429 with the seconds left, audited.
    let before = (sent(), api.rows("challenges"));
    api.now.set(api.now.get() + 10);
    let (status, error, response) =
        api.call_as(ADMIN, "GET", &format!("/OtpDevice/{device}/requestChallenge"), None, &[]);
    assert_eq!((status, response.header("retry-after")), (429, Some("20")), "{error}");
    assert!(error["detail"].as_str().unwrap().contains("20 seconds"), "{error}");
    let hid = act(&api, &id, "USER-CHALLENGE", &[]);
    assert_eq!(outcome(&hid), ("0", "9"));
    assert_eq!((sent(), api.rows("challenges")), before, "nothing sent, nothing opened");
    assert_eq!(api.audit_count("send-refused"), 2);
    // The code sent before still answers: the user is not locked out by the refusal.
    assert_eq!(api.respond(device, &last_code)["success"], true);
    // The hourly cap of the destination, whatever device sends there.
    for _ in 0..2 {
        api.now.set(api.now.get() + 31);
        assert_eq!(request().0, 200);
    }
    api.now.set(api.now.get() + 31);
    let (status, _, response) =
        api.call_as(ADMIN, "GET", &format!("/OtpDevice/{device}/requestChallenge"), None, &[]);
    assert_eq!(status, 429);
    let retry: i64 = response.header("retry-after").unwrap().parse().unwrap();
    assert_eq!(retry, 3600 - 31 * 3 - 10, "until the first send of the hour leaves the window");
    let twin = api.create(json!({"type": "SMS", "user": "other", "phone": "+34 600 123 456"}))["id"]
        .as_i64()
        .unwrap();
    assert_eq!(api.call("GET", &format!("/OtpDevice/{twin}/requestChallenge"), None).0, 429, "same number");
    // The tenant's cap: two more sends elsewhere reach 5 in the hour; the sixth is refused.
    for n in 0..3 {
        let other = api
            .create(json!({"type": "EMAIL", "user": format!("o{n}"), "email": format!("o{n}@example.com")}))
            ["id"]
            .as_i64()
            .unwrap();
        let expected = if n < 2 { 200 } else { 429 };
        assert_eq!(api.call("GET", &format!("/OtpDevice/{other}/requestChallenge"), None).0, expected, "{n}");
    }
    // An hour after the first send, the destination may be sent to again.
    api.now.set(api.now.get() + 3600);
    assert_eq!(request().0, 200);
}

/// "Also": VERIFY without DEVICE.ID or CHALLENGE.ID tries every usable device of the
/// authenticator (a phone and a second token): the other device's code succeeds and names it,
/// and a wrong code counts one failure.
#[test]
fn verify_tries_every_device_and_counts_one_failure() {
    let api = Api::new();
    let user = new_user(&api, json!({"userName": "two"}));
    let (status, created) = api.call(
        "POST",
        "/Authenticator",
        Some(json!({"owner": {"value": user}, "policy": {"value": "AT_EMPOTP"}})),
    );
    assert_eq!(status, 201);
    let first = created[ENROLLMENT_EXT]["deviceId"].as_i64().unwrap();
    // A second TOTP device of the same user joins the same authenticator (the default policy).
    let (second, second_secret) = api.totp_device_secret("two");
    assert_ne!(first, second);
    let id = format!("{user}.AT_EMPOTP");
    let ok = act(&api, &id, "VERIFY", &[("RESPONSE", &api.code(&second_secret))]);
    assert_eq!((outcome(&ok), ok["DEVICE.ID"].as_str()), (("1", "-1"), second.to_string().as_str()));
    let wrong = act(&api, &id, "VERIFY", &[("RESPONSE", "000000")]);
    assert_eq!(outcome(&wrong), ("0", "1"));
    let statistics = api.call("GET", &format!("/Authenticator/{id}"), None).1["statistics"].clone();
    assert_eq!(
        (statistics["totalFailed"].as_u64(), statistics["consecutiveFailed"].as_u64()),
        (Some(1), Some(1))
    );
}

/// "Also": HID's USER.EXTERNALID is the user's SCIM externalId first, then a userName.
#[test]
fn user_externalid_names_the_external_id_first() {
    let api = Api::new();
    let by_external = new_user(&api, json!({"userName": "ann", "externalId": "E-1001"}));
    // Another user whose userName is the first one's externalId: the externalId wins.
    let by_name = new_user(&api, json!({"userName": "E-1001"}));
    for user in [by_external, by_name] {
        let (status, _) = api.call(
            "POST",
            "/Authenticator",
            Some(json!({"owner": {"value": user}, "policy": {"value": "AT_EMPOTP"}})),
        );
        assert_eq!(status, 201);
    }
    // The user of the newest challenge issued, when USER.EXTERNALID is `value`.
    let challenged = |value: &str| -> i64 {
        let body = action_body("USER-CHALLENGE", &[("USER.EXTERNALID", value)]);
        let (status, answer) = api.call("POST", "/Authenticator/.AT_EMPOTP", Some(body));
        assert_eq!(status, 200, "{answer}");
        let newest = "SELECT user_id FROM audit WHERE action = 'challenge-issued' ORDER BY id DESC LIMIT 1";
        api.db.query_row(newest, [], |r| r.get(0)).unwrap()
    };
    assert_eq!(challenged("E-1001"), by_external);
    // A userName still names its user, case-insensitively.
    assert_eq!(challenged("ANN"), by_external);
    assert_eq!(challenged("e-1001"), by_name, "an externalId is case-exact");
}

/// Migration 13 moves each pending code from its device to a challenge of its own: an open HID
/// challenge keeps its device's code (a CIBA one becomes a transaction), a code without one
/// (Soffid's requestChallenge, an activation code) gets a plain challenge, and the devices no
/// longer hold codes.
#[test]
fn pending_codes_move_to_challenges_of_their_own() {
    let db = rusqlite::Connection::open_in_memory().unwrap();
    // The database as it was before migration 13, which then runs with every later one.
    let before = 12;
    for script in &crate::store::MIGRATIONS[..before] {
        for statement in crate::store::split_script(script) {
            let params: &[&dyn rusqlite::ToSql] = if statement.contains("?1") { &[&"default"] } else { &[] };
            db.execute(&statement, params).unwrap();
        }
    }
    db.execute_batch(&format!(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied INTEGER NOT NULL, note TEXT NOT NULL DEFAULT ''); \
         WITH RECURSIVE v(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM v WHERE n < {before}) \
         INSERT INTO schema_migrations (version, applied) SELECT n, 0 FROM v; \
         INSERT INTO tenants (name, created) VALUES ('default', 0); \
         INSERT INTO users (id, tenant, user_name, created, modified) VALUES (1, 'default', 'u', 0, 0); \
         INSERT INTO authenticators (id, tenant, user_id, policy, start_date, created, modified) \
           VALUES (1, 'default', 1, 'AT_TDS', 0, 0, 0); \
         INSERT INTO devices (id, tenant, user_id, authenticator_id, name, type, user_name, status, created, modified, \
           phone, code_digest, code_expires) VALUES \
           (1, 'default', 1, 1, 'SMS message to 6*****6', 'SMS', 'u', 'V', 0, 0, '600123456', x'AA', 2000000000), \
           (2, 'default', 1, 1, 'SMS message to 6*****7', 'SMS', 'u', 'C', 0, 0, '600123457', x'BB', 2000000001); \
         INSERT INTO challenges (id, tenant, authenticator_id, device_id, auth_req_id, created, expires) \
           VALUES (7, 'default', 1, 1, 'req-1', 0, 2000000000);"
    ))
    .unwrap();
    crate::store::session(&db, None, None, "default", 1_700_000_000, "default").unwrap();
    /// id, device, kind, code digest, auth_req_id, expires.
    type Moved = (i64, i64, String, Vec<u8>, Option<String>, i64);
    let rows: Vec<Moved> = db
        .prepare("SELECT id, device_id, kind, code_digest, auth_req_id, expires FROM challenges ORDER BY device_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        rows,
        vec![
            (7, 1, "transaction".to_owned(), vec![0xAA], Some("req-1".to_owned()), 2_000_000_000),
            (8, 2, "plain".to_owned(), vec![0xBB], None, 2_000_000_001),
        ]
    );
    let columns: i64 = db
        .query_row("SELECT count(*) FROM pragma_table_info('devices') WHERE name LIKE 'code_%'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(columns, 0, "the devices hold no code");
}

/// The narrow interleavings of defect 1, stepped by hand: a VERIFY has read the device's open
/// codes when another request opens a challenge, then writes. A new challenge of another kind
/// leaves the answered one's success alone and stays open itself; a new plain code replacing
/// the one being answered makes that answer a counted failure; either way a success closes only
/// the challenge it answered.
#[test]
fn a_challenge_opened_between_a_verifys_read_and_its_write_is_left_alone() {
    let mut api = Api::new();
    api.settings.ciba_notification =
        Some(Webhook { url: "http://127.0.0.1:9/ciba".into(), host: "127.0.0.1".into() });
    let (id, device) = oob(&api, "racer", "AT_TDS", json!({"phoneNumbers": [{"value": "+34600123456"}]}));
    let keys = crate::crypto::Keys::derive(&api.settings.access.secret_key);
    let log = |_: &str| {};
    let verify_with = |states: &[crate::store::ChallengeState], code: &str| {
        let actor = crate::store::Actor { tenant: "default", name: "racer" };
        let store = crate::store::Store::new(&api.db.connection, actor, api.now.get());
        let scope = crate::domain::Scope { store, settings: &api.settings, keys: &keys };
        crate::domain::validation::respond_any(
            &crate::domain::validation::Context { scope, log: &log },
            states,
            code,
        )
        .unwrap()
    };
    let read = || api.store("default").challenge_state(device).unwrap().unwrap();

    // A transaction is being verified when a login code goes out: the transaction's success
    // closes it alone, with its ping; the login code still answers afterwards.
    let (_, transaction_code) = deliver(&api, &id, device);
    let seen = read();
    assert_eq!(api.call("GET", &format!("/OtpDevice/{device}/requestChallenge"), None).0, 200);
    let (_, login_code) = last_message(&api);
    let answered = verify_with(std::slice::from_ref(&seen), &transaction_code);
    assert_eq!(answered.verdict, crate::domain::validation::Verdict::Accepted);
    assert_eq!(answered.ping.map(|p| p.auth_req_id).as_deref(), Some("req-9"));
    assert_eq!(api.respond(device, &login_code)["success"], true, "the new challenge stayed open");

    // A login code is being verified when a new one replaces it: the old code lost its
    // challenge, and its answer is a counted failure; the new code answers.
    api.call("GET", &format!("/OtpDevice/{device}/requestChallenge"), None);
    let (_, old_code) = last_message(&api);
    let seen = read();
    api.call("GET", &format!("/OtpDevice/{device}/requestChallenge"), None);
    let (_, new_code) = last_message(&api);
    let failures = api.audit_count("challenge-failure");
    let answered = verify_with(std::slice::from_ref(&seen), &old_code);
    assert_eq!(
        answered.verdict,
        crate::domain::validation::Verdict::Refused {
            reason: shared::authenticator::Reason::WrongResponse,
            locked: false
        }
    );
    assert_eq!(api.audit_count("challenge-failure"), failures + 1);
    assert_eq!(api.respond(device, &new_code)["success"], true);
}
