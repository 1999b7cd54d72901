//! The hardware-token lifecycle of SPEC §19 over HTTP against the compiled component, on the
//! runner or on Spin: vendor files imported, tokens handed out and activated through each
//! dialect with codes computed by `oathtool` (an independent implementation), taken back,
//! resynced, exported; no secret in any answer but the export's ciphertext, nor in the log.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use scim_otp_tests::{App, TempDir, oathtool};
use serde_json::{Value, json};

const FIGURE_6: &str = include_str!("../../pskc/tests/rfc6030/figure6.xml");
const ACTION: &str = "urn:hid:scim:api:idp:2.0:Action";
/// RFC 4226's secret as hex, and a TOTP secret for the CSV, as hex and as base32.
const HOTP_HEX: &str = "3132333435363738393031323334353637383930";
const TOTP_HEX: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9001122334";

fn import(app: &App, body: Value) -> Value {
    let reply = app.call("POST", "/Device/.import", Some(&body));
    assert_eq!(reply.status, 200, "{}", reply.json);
    reply.json
}

fn id_of(result: &Value, serial: &str) -> String {
    let found = result["results"].as_array().unwrap().iter().find(|r| r["serialNumber"] == serial);
    found.and_then(|r| r["id"].as_str()).unwrap_or_else(|| panic!("{serial} in {result}")).to_owned()
}

fn verify(app: &App, authenticator: &str, code: &str) -> String {
    let body = json!({"schemas": [ACTION], ACTION: {"action": "VERIFY", "attributes": [{"name": "RESPONSE", "value": code}]}});
    let reply = app.call("POST", &format!("/Authenticator/{authenticator}"), Some(&body));
    assert_eq!(reply.status, 200, "{}", reply.json);
    let attributes = reply.json["attributes"].as_array().unwrap();
    attributes.iter().find(|a| a["name"] == "REQUEST.STATUS").unwrap()["value"].as_str().unwrap().to_owned()
}

#[test]
fn a_token_from_import_to_export() {
    let state = TempDir::new("hardware-tokens");
    let app = App::start(&state.0, &[("seed_export", "true")]);
    let pskc = import(
        &app,
        json!({"format": "pskc", "document": FIGURE_6, "preSharedKey": "12345678901234567890123456789012"}),
    );
    let hotp = id_of(&pskc, "987654321");
    let csv = format!("SN-T1, {TOTP_HEX}, totp, 6, 30\n");
    let totp = id_of(&import(&app, json!({"format": "csv", "document": csv})), "SN-T1");
    let listed = app.call("GET", "/Device?filter=status%20eq%20%22available%22&sortBy=serialNumber", None);
    assert_eq!(listed.json["totalResults"], 2, "{}", listed.json);

    // Handed out by PATCH, activated by Soffid's responseChallenge.
    let patch = json!({"Operations": [{"op": "add", "path": "owner", "value": {"display": "ann"}}]});
    let handed = app.call("PATCH", &format!("/Device/{totp}"), Some(&patch));
    assert_eq!((handed.status, handed.json["status"].as_str()), (200, Some("assigned")), "{}", handed.json);
    let code = oathtool(&["--totp", TOTP_HEX]);
    let answer =
        app.call("POST", &format!("/OtpDevice/{totp}/responseChallenge"), Some(&json!({"pin": code})));
    assert_eq!(answer.json, json!({"success": true, "locked": false}));
    assert_eq!(app.call("GET", &format!("/Device/{totp}"), None).json["status"], "activated");

    // Handed out by Soffid's create, activated by HID's VERIFY (8 digits, counter 0).
    let created = app.call("POST", "/OtpDevice", Some(&json!({"serialNumber": "987654321", "user": "bob"})));
    assert_eq!(created.status, 201, "{}", created.json);
    assert!(created.json.get("otpauthUri").is_none());
    let bob = app.call("GET", "/Users?filter=userName%20eq%20%22bob%22", None).json["Resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        verify(&app, &format!("{bob}.AT_HOTP"), &oathtool(&["--hotp", "-d", "8", "-c", "0", HOTP_HEX])),
        "1"
    );
    assert_eq!(app.call("GET", &format!("/Device/{hotp}"), None).json["status"], "activated");

    // Far ahead: resynced with two consecutive codes, then it validates.
    let at = |counter: &str| oathtool(&["--hotp", "-d", "8", "-c", counter, HOTP_HEX]);
    assert_eq!(verify(&app, &format!("{bob}.AT_HOTP"), &at("300")), "0");
    let resynced =
        app.call("POST", &format!("/Device/{hotp}/resync"), Some(&json!({"codes": [at("301"), at("302")]})));
    assert_eq!((resynced.status, resynced.json.clone()), (200, json!({"resynced": true})));
    assert_eq!(verify(&app, &format!("{bob}.AT_HOTP"), &at("303")), "1");

    // Taken back: ann's codes no longer work; then deleted from stock.
    let back = app.call(
        "PATCH",
        &format!("/Device/{totp}"),
        Some(&json!({"Operations": [{"op": "remove", "path": "owner"}]})),
    );
    assert_eq!((back.status, back.json["status"].as_str()), (200, Some("available")));
    let answer =
        app.call("POST", &format!("/OtpDevice/{totp}/responseChallenge"), Some(&json!({"pin": code})));
    assert_eq!(answer.status, 404);

    // Exported, and the file holds the secrets under the password alone.
    let export = app.call("POST", "/Device/.export", Some(&json!({"password": "migration password"})));
    assert_eq!((export.status, export.header("content-type")), (200, Some("application/pskc+xml")));
    let read = pskc::read(
        &export.text,
        &pskc::Unlock { pre_shared_key: None, password: Some("migration password") },
    )
    .unwrap();
    let secrets: Vec<String> =
        read.keys.iter().map(|k| data_encoding::HEXLOWER.encode(k.secret.as_deref().unwrap())).collect();
    assert!(secrets.contains(&HOTP_HEX.to_owned()) && secrets.contains(&TOTP_HEX.to_owned()), "{secrets:?}");
    assert_eq!(app.call("DELETE", &format!("/Device/{totp}"), None).status, 204);

    // No secret in any log line or audit row.
    let audit = app.call("GET", "/Audit?count=1000", None).json.to_string();
    for text in [app.log().join("\n"), audit] {
        for secret in [HOTP_HEX, TOTP_HEX, "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=", "12345678901234567890"] {
            assert!(!text.contains(secret), "a secret in the log or audit");
        }
    }
}
