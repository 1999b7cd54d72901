//! Issue 31 over HTTP against the compiled component, on the runner and on Spin: the paths
//! the vendors' books write, a code bound to the challenge that sent it, the send budgets as
//! the shipped defaults set them, and the login budget of a source address.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use scim_otp_tests::{App, Gateway, Reply, TempDir, basic_auth, get_from};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

const ACTION: &str = "urn:hid:scim:api:idp:2.0:Action";

fn action(app: &App, id: &str, name: &str, attributes: Value) -> BTreeMap<String, String> {
    let reply = app.call(
        "POST",
        &format!("/Authenticator/{id}"),
        Some(&json!({"schemas": [ACTION], ACTION: {"action": name, "attributes": attributes}})),
    );
    assert_eq!(reply.status, 200, "{name}: {}", reply.json);
    reply.json["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["name"].as_str().unwrap().to_owned(), a["value"].as_str().unwrap_or_default().to_owned()))
        .collect()
}

fn status(answer: &BTreeMap<String, String>) -> (&str, &str) {
    (answer["REQUEST.STATUS"].as_str(), answer["REQUEST.REASON"].as_str())
}

/// The newest dev-outbox message's code.
fn last_code(app: &App) -> String {
    let outbox = app.call("GET", "/Outbox", None);
    outbox.json["Resources"][0]["message"].as_str().unwrap().rsplit(' ').next().unwrap().to_owned()
}

fn outbox_size(app: &App) -> u64 {
    app.call("GET", "/Outbox", None).json["totalResults"].as_u64().unwrap()
}

/// An OOB_SMS authenticator of `policy` for a new user; its id and its device's.
fn sms_authenticator(app: &App, name: &str, policy: &str) -> (String, i64) {
    let created = app.call(
        "POST",
        "/Users",
        Some(&json!({"userName": name, "phoneNumbers": [{"value": "+34 600 123 456"}]})),
    );
    assert_eq!(created.status, 201, "{}", created.json);
    let user = created.json["id"].as_str().unwrap().to_owned();
    let authenticator = app.call(
        "POST",
        "/Authenticator",
        Some(&json!({"owner": {"value": user}, "policy": {"value": policy}})),
    );
    assert_eq!(authenticator.status, 201, "{}", authenticator.json);
    let device =
        authenticator.json["urn:scim-otp:params:scim:schemas:extension:Enrollment"]["deviceId"].as_i64();
    (format!("{user}.{policy}"), device.unwrap())
}

/// HID's book writes `/SCIM/{tenant}/v2`, Soffid's also `/webservice/scim2/v1`: both reach the
/// API (on Spin, through their own routes in spin.toml), with the canonical links.
#[test]
fn the_paths_the_books_write_are_served() {
    let state = TempDir::new("book-paths");
    let app = App::start(&state.0, &[]);
    let (user, password) = app.admin();
    let created = app.call("POST", "/Users", Some(&json!({"userName": "booked"})));
    assert_eq!(created.status, 201);
    for path in ["/SCIM/v2/Users", "/SCIM/default/v2/Users", "/webservice/scim2/v1/Users"] {
        let reply: Reply =
            app.send("GET", &format!("{}{path}", app.origin), None, Some((&user, &password)), &[]);
        assert_eq!(
            (reply.status, reply.json["totalResults"].as_u64()),
            (200, Some(1)),
            "{path}: {}",
            reply.json
        );
        let location = reply.json["Resources"][0]["meta"]["location"].as_str().unwrap();
        let base = if path.starts_with("/webservice") { "/webservice/scim2/v1/" } else { "/scim/" };
        assert!(location.contains(base) && !location.contains("/SCIM/"), "{path}: {location}");
    }
}

/// A login code sent after a transaction's neither approves the transaction nor pings its CIBA
/// callback; only the transaction's own code does, through VERIFY.
#[test]
fn a_transaction_is_approved_only_by_its_own_code() {
    let callback = Gateway::start();
    let state = TempDir::new("bound-codes");
    // Two sends to one number within seconds: no cooldown here (the budgets' test has it).
    let app =
        App::start(&state.0, &[("ciba_notification_url", &callback.url), ("send_cooldown_seconds", "0")]);
    let (id, device) = sms_authenticator(&app, "payer", "AT_TDS");
    let delivered = action(
        &app,
        &id,
        "DELIVER-CHALLENGE",
        json!([{"name": "tds", "value": "pay 400.00"}, {"name": "correlationid", "value": "tok:req-1"}]),
    );
    assert_eq!(status(&delivered), ("1", "-1"));
    let transaction_code = last_code(&app);
    assert_eq!(app.call("GET", &format!("/OtpDevice/{device}/requestChallenge"), None).status, 200);
    let login_code = last_code(&app);
    let named = action(
        &app,
        &id,
        "VERIFY",
        json!([{"name": "RESPONSE", "value": login_code}, {"name": "CHALLENGE.ID", "value": delivered["CHALLENGE.ID"]}]),
    );
    assert_eq!(status(&named), ("0", "1"), "the login code does not answer the transaction");
    let soffid = app.call(
        "POST",
        &format!("/OtpDevice/{device}/responseChallenge"),
        Some(&json!({"pin": transaction_code})),
    );
    assert_eq!(soffid.json["success"], false, "Soffid's dialect does not answer a transaction");
    let login = action(&app, &id, "VERIFY", json!([{"name": "RESPONSE", "value": login_code}]));
    assert_eq!(status(&login), ("1", "-1"));
    assert!(callback.received.lock().unwrap().is_empty(), "a login pinged the transaction");
    let approved = action(
        &app,
        &id,
        "VERIFY",
        json!([{"name": "RESPONSE", "value": transaction_code},
               {"name": "CHALLENGE.ID", "value": delivered["CHALLENGE.ID"]}]),
    );
    assert_eq!(status(&approved), ("1", "-1"));
    assert_eq!(*callback.received.lock().unwrap(), vec![json!({"auth_req_id": "req-1"})]);
}

/// With spin.toml's defaults (30 s between two sends to one destination): the second code asked
/// for at once is refused with `Retry-After`, through both dialects, and nothing is sent; the
/// first code still signs the user in.
#[test]
fn a_second_code_at_once_is_refused_and_the_first_still_works() {
    let state = TempDir::new("send-budget");
    let app = App::start(&state.0, &[]);
    let (id, device) = sms_authenticator(&app, "pumped", "AT_OOBSMS");
    assert_eq!(app.call("GET", &format!("/OtpDevice/{device}/requestChallenge"), None).status, 200);
    let code = last_code(&app);
    let sent = outbox_size(&app);
    let refused = app.call("GET", &format!("/OtpDevice/{device}/requestChallenge"), None);
    assert_eq!(refused.status, 429, "{}", refused.json);
    let retry: i64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    assert!(refused.json["detail"].as_str().unwrap().contains("No code was sent"), "{}", refused.json);
    assert_eq!(status(&action(&app, &id, "USER-CHALLENGE", json!([]))), ("0", "9"));
    assert_eq!(outbox_size(&app), sent, "nothing sent");
    let signed_in = action(&app, &id, "VERIFY", json!([{"name": "RESPONSE", "value": code}]));
    assert_eq!(status(&signed_in), ("1", "-1"));
}

/// 40 made-up names from one address: its budget (20 a minute, whatever the names) is spent
/// before the slow hash, and the rest are 429; the admin on another address signs in meanwhile.
#[test]
fn made_up_names_from_one_address_share_its_budget() {
    let state = TempDir::new("address-budget");
    let app = App::start(&state.0, &[]);
    let (user, password) = app.admin();
    let mut statuses = BTreeMap::<u16, usize>::new();
    for n in 0..40 {
        let guess = basic_auth(&format!("made-up-{n}"), "guess");
        *statuses
            .entry(get_from(Ipv4Addr::new(127, 0, 0, 4), &app.origin, "/scim/v2/OtpDevice", &guess))
            .or_default() += 1;
        assert_eq!(app.send("GET", "/OtpDevice?count=1", None, Some((&user, &password)), &[]).status, 200);
    }
    assert_eq!(statuses, BTreeMap::from([(401, 20), (429, 20)]), "{statuses:?}");
}
