//! `/Device` (SPEC §19): tokens in stock beside enrolled devices, handed out, activated by their
//! first success through either dialect, taken back, deleted; and what it refuses.

use super::actions::{act, outcome};
use super::users::{ACME_ADMIN, at, everything, tenant_settings};
use super::*;
use shared::oath_device::TokenData;
use shared::{DeviceType, Timestamp};

impl Api {
    /// Puts a token with `secret` in `tenant`'s stock, as an import does; its id.
    fn stock(&self, tenant: &str, serial: &str, secret: &Secret, device_type: DeviceType) -> Option<i64> {
        self.stock_with(tenant, token(serial, device_type), secret)
    }

    fn stock_with(&self, tenant: &str, token: TokenData, secret: &Secret) -> Option<i64> {
        let keys = crypto::Keys::derive(&self.settings.access.secret_key);
        let sealed = keys.seal_seed(secret).unwrap();
        self.store(tenant).write(|tx| tx.stock_token(&token, sealed.clone())).unwrap()
    }

    pub(super) fn device(&self, id: i64) -> Value {
        let (status, device) = self.call("GET", &format!("/Device/{id}"), None);
        assert_eq!(status, 200, "{device}");
        device
    }

    /// A PATCH of `/Device/{id}` with these operations.
    pub(super) fn patch_device(&self, id: i64, operations: Value) -> (u16, Value) {
        let body = json!({"schemas": [shared::model::PATCH_OP_SCHEMA], "Operations": operations});
        self.call("PATCH", &format!("/Device/{id}"), Some(body))
    }
}

/// A token of `device_type` as a Feitian seed file describes it: SHA-1, 6 digits, 30 s, counter 0.
fn token(serial: &str, device_type: DeviceType) -> TokenData {
    TokenData {
        serial_number: serial.into(),
        manufacturer: Some("Feitian".into()),
        model: Some("c200".into()),
        device_type,
        algorithm: Algorithm::Sha1,
        digits: 6,
        period: (device_type == DeviceType::Totp).then_some(30),
        counter: (device_type == DeviceType::Hotp).then_some(0),
        time_drift: 0,
        start_date: None,
        expiry_date: None,
    }
}

fn secret() -> Secret {
    Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap()
}

fn serials(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["serialNumber"].as_str().unwrap().to_owned())
        .collect()
}

/// A token in stock is a Device and no OtpDevice: listed beside the enrolled TOTP and HOTP
/// devices (never EMAIL, SMS or PIN), filtered in SQL, and invisible to Soffid's dialect.
#[test]
fn a_token_in_stock_is_a_device_and_no_otp_device() {
    let api = Api::new();
    let stocked = api.stock("default", "FT0001", &secret(), DeviceType::Totp).unwrap();
    let (enrolled, _) = api.totp_device("bob");
    let email = api.create(json!({"type": "EMAIL", "user": "bob", "email": "bob@example.com"}))["id"]
        .as_i64()
        .unwrap();

    let (status, all) = api.call("GET", "/Device?sortBy=serialNumber", None);
    assert_eq!((status, all["totalResults"].as_i64()), (200, Some(2)), "{all}");
    let token = &all["Resources"][0];
    assert_eq!(token["serialNumber"], "FT0001");
    assert_eq!(token["id"], stocked.to_string());
    assert_eq!((token["status"].as_str(), token["origin"].as_str()), (Some("available"), Some("imported")));
    assert_eq!((token["manufacturer"].as_str(), token["model"].as_str()), (Some("Feitian"), Some("c200")));
    assert_eq!((token["timeDrift"].as_i64(), token["period"].as_i64()), (Some(0), Some(30)));
    assert!(token.get("owner").is_none() && token.get("assigned").is_none(), "{token}");
    assert!(token["meta"]["location"].as_str().unwrap().ends_with(&format!("/Device/{stocked}")));
    let mine = &all["Resources"][1];
    assert_eq!((mine["status"].as_str(), mine["origin"].as_str()), (Some("assigned"), Some("enrolled")));
    assert_eq!(mine["owner"]["display"], "bob");
    assert!(mine["owner"]["$ref"].as_str().unwrap().contains("/Users/"), "{mine}");
    assert!(mine.get("assigned").is_some() && mine.get("activated").is_none(), "{mine}");
    for (filter, expected) in [
        ("status eq \"available\"", vec!["FT0001"]),
        ("origin eq \"enrolled\"", vec![mine["serialNumber"].as_str().unwrap()]),
        ("owner.display eq \"BOB\"", vec![mine["serialNumber"].as_str().unwrap()]),
        ("model eq \"c200\" and not (owner.value pr)", vec!["FT0001"]),
        ("serialNumber sw \"FT\"", vec!["FT0001"]),
    ] {
        let (status, list) = api.call("POST", "/Device/.search", Some(json!({"filter": filter})));
        assert_eq!(status, 200, "{filter}: {list}");
        assert_eq!(serials(&list), expected, "{filter}");
    }

    let (_, otp) = api.call("GET", "/OtpDevice", None);
    let otp_ids: Vec<i64> =
        otp["Resources"].as_array().unwrap().iter().map(|d| d["id"].as_i64().unwrap()).collect();
    assert_eq!(otp_ids, vec![enrolled, email]);
    let before = api.snapshot();
    for (method, path) in [
        ("GET", format!("/OtpDevice/{stocked}")),
        ("GET", format!("/OtpDevice/{stocked}/audit")),
        ("GET", format!("/OtpDevice/{stocked}/requestChallenge")),
        ("DELETE", format!("/OtpDevice/{stocked}")),
        ("GET", format!("/Device/{email}")),
        ("GET", "/Device/0".to_owned()),
        ("GET", "/Device/x1".to_owned()),
    ] {
        assert_eq!(api.call(method, &path, None).0, 404, "{method} {path}");
    }
    let code = api.code(&secret());
    let (status, _) =
        api.call("POST", &format!("/OtpDevice/{stocked}/responseChallenge"), Some(json!({"pin": code})));
    assert_eq!(status, 404, "a token in stock validates for nobody");
    assert_eq!(api.snapshot(), before);
    // Readers read the stock; only admins change it.
    let (status, _, _) = api.call_as(READER, "GET", &format!("/Device/{stocked}"), None, &[]);
    assert_eq!(status, 200);
    let patch = json!({"Operations": [{"op": "add", "path": "owner.display", "value": "eve"}]});
    let (status, _, _) = api.call_as(READER, "PATCH", &format!("/Device/{stocked}"), Some(patch), &[]);
    assert_eq!(status, 403);
    assert_eq!(api.snapshot(), before);
}

/// The lifecycle: handed out (bound to the owner's default TOTP authenticator), activated by the
/// first success through Soffid's dialect, taken back (the old owner's codes stop working),
/// handed to another user and activated through HID's VERIFY, taken back, deleted.
#[test]
fn a_token_goes_out_is_activated_comes_back_and_goes_again() {
    let api = Api::new();
    let id = api.stock("default", "FT0002", &secret(), DeviceType::Totp).unwrap();
    let version = api.device(id)["meta"]["version"].as_str().unwrap().to_owned();
    let body = json!({"Operations": [{"op": "add", "path": "owner", "value": {"display": "alice"}}]});
    let (status, handed, response) =
        api.call_as(ADMIN, "PATCH", &format!("/Device/{id}"), Some(body), &[("if-match", &version)]);
    assert_eq!(status, 200, "{handed}");
    assert_ne!(response.header("etag"), Some(version.as_str()));
    assert_eq!(
        (handed["status"].as_str(), handed["owner"]["display"].as_str()),
        (Some("assigned"), Some("alice"))
    );
    assert!(handed.get("assigned").is_some() && handed.get("activated").is_none(), "{handed}");
    let alice = handed["owner"]["value"].as_str().unwrap().to_owned();
    let (_, otp) = api.call("GET", &format!("/OtpDevice/{id}"), None);
    assert_eq!(
        (otp["user"].as_str(), otp["status"].as_str(), otp["name"].as_str()),
        (Some("alice"), Some("C"), Some("FT0002"))
    );
    let (status, authenticator) = api.call("GET", &format!("/Authenticator/{alice}.AT_EMPOTP"), None);
    assert_eq!(status, 200, "{authenticator}");
    assert_eq!(authenticator["status"]["active"], true);

    assert_eq!(api.respond(id, &api.code(&secret())), json!({"success": true, "locked": false}));
    let activated = api.device(id);
    assert_eq!(activated["status"], "activated");
    assert!(activated.get("activated").is_some() && activated.get("lastUsed").is_some(), "{activated}");
    assert_eq!(api.audit_count("activate"), 1);
    let (_, authenticator) = api.call("GET", &format!("/Authenticator/{alice}.AT_EMPOTP"), None);
    assert!(
        authenticator["lastSuccessfulDevice"]["$ref"].as_str().unwrap().ends_with(&format!("/Device/{id}")),
        "{authenticator}"
    );

    // Handed out: another owner, or a delete, is refused, and changes nothing.
    let before = everything(&api);
    let (status, refused) =
        api.patch_device(id, json!([{"op": "replace", "path": "owner", "value": {"display": "carol"}}]));
    assert_eq!((status, refused["scimType"].as_str()), (400, Some("invalidValue")), "{refused}");
    let (status, refused) = api.call("DELETE", &format!("/Device/{id}"), None);
    assert_eq!(status, 409, "{refused}");
    assert!(refused["detail"].as_str().unwrap().contains("take it back first"), "{refused}");
    assert_eq!(everything(&api), before);

    // Taken back: in stock again, no longer alice's; her authenticator stays, without it.
    api.now.set(api.now.get() + 30);
    let (status, back) = api.patch_device(id, json!([{"op": "remove", "path": "owner"}]));
    assert_eq!(status, 200, "{back}");
    assert_eq!(back["status"], "available");
    assert!(back.get("owner").is_none() && back.get("assigned").is_none() && back.get("activated").is_none());
    assert_eq!(api.call("GET", &format!("/OtpDevice/{id}"), None).0, 404);
    let (status, _) = api.call(
        "POST",
        &format!("/OtpDevice/{id}/responseChallenge"),
        Some(json!({"pin": api.code(&secret())})),
    );
    assert_eq!(status, 404, "the old owner's codes no longer work");
    let (_, authenticator) = api.call("GET", &format!("/Authenticator/{alice}.AT_EMPOTP"), None);
    assert_eq!(authenticator["status"]["active"], false, "{authenticator}");

    // Handed to carol by her id, activated through HID's VERIFY.
    let (_, carol) = api.call("POST", "/Users", Some(json!({"userName": "carol"})));
    let carol = carol["id"].as_str().unwrap().to_owned();
    let (status, handed) =
        api.patch_device(id, json!([{"op": "replace", "path": "owner.value", "value": carol.clone()}]));
    assert_eq!((status, handed["owner"]["display"].as_str()), (200, Some("carol")), "{handed}");
    api.now.set(api.now.get() + 30);
    let verify = action_body("VERIFY", &[("RESPONSE", &api.code(&secret()))]);
    let (status, verified) = api.call("POST", &format!("/Authenticator/{carol}.AT_EMPOTP"), Some(verify));
    assert_eq!(status, 200, "{verified}");
    assert_eq!(api.device(id)["status"], "activated");
    assert_eq!(api.audit_count("activate"), 2);

    let (status, _) = api.patch_device(id, json!([{"op": "remove", "path": "owner"}]));
    assert_eq!(status, 200);
    assert_eq!(api.call("DELETE", &format!("/Device/{id}"), None).0, 204);
    assert_eq!(api.call("GET", &format!("/Device/{id}"), None).0, 404);
    for (action, count) in [("import", 1), ("hand-out", 2), ("take-back", 2), ("delete", 1)] {
        assert_eq!(api.audit_count(action), count, "{action}");
    }
}

/// What a Device refuses, each with its scimType, and changing nothing: attributes it does not
/// let a client write, an owner that names nobody of the tenant, an enrolled device to stock or
/// deleted here, a stale If-Match.
#[test]
fn the_refusals_of_a_device_change_nothing() {
    let api = Api::with(tenant_settings());
    let token = api.stock("default", "FT0003", &secret(), DeviceType::Hotp).unwrap();
    let (enrolled, _) = api.totp_device("bob");
    let (_, acme_user, _) =
        at(&api, ACME_ADMIN, "POST", "/scim/acme/v2/Users", Some(json!({"userName": "ann"})));
    let acme_user = acme_user["id"].as_str().unwrap().to_owned();
    let before = everything(&api);
    for (id, operations, status, scim_type) in [
        (token, json!([{"op": "replace", "path": "serialNumber", "value": "X"}]), 400, "mutability"),
        (token, json!([{"op": "replace", "path": "status", "value": "activated"}]), 400, "mutability"),
        (token, json!([{"op": "replace", "path": "digits", "value": 8}]), 400, "mutability"),
        (token, json!([{"op": "replace", "path": "secret", "value": "AAAA"}]), 400, "invalidPath"),
        (token, json!([{"op": "add", "path": "owner.value", "value": "999999"}]), 400, "invalidValue"),
        (token, json!([{"op": "add", "path": "owner.value", "value": acme_user}]), 400, "invalidValue"),
        (token, json!([{"op": "add", "path": "owner.display", "value": ""}]), 400, "invalidValue"),
        (token, json!([{"op": "add", "path": "model", "value": "a\u{7}b"}]), 400, "invalidValue"),
        (enrolled, json!([{"op": "remove", "path": "owner"}]), 400, "invalidValue"),
    ] {
        let (got, body) = api.patch_device(id, operations.clone());
        assert_eq!((got, body["scimType"].as_str()), (status, Some(scim_type)), "{operations}: {body}");
        assert_eq!(everything(&api), before, "{operations}");
    }
    let (status, body) = api.call("DELETE", &format!("/Device/{enrolled}"), None);
    assert_eq!(status, 409, "{body}");
    assert!(body["detail"].as_str().unwrap().contains(&format!("OtpDevice {enrolled}")), "{body}");
    let stale = [("if-match", "W/\"99\"")];
    let body = json!({"Operations": [{"op": "add", "path": "model", "value": "c100"}]});
    let (status, _, _) = api.call_as(ADMIN, "PATCH", &format!("/Device/{token}"), Some(body), &stale);
    assert_eq!(status, 412);
    let (status, _, _) = api.call_as(ADMIN, "DELETE", &format!("/Device/{token}"), None, &stale);
    assert_eq!(status, 412);
    assert_eq!(everything(&api), before);

    // A PUT sends the device back as read, with what it changes.
    let mut whole = api.device(token);
    whole["model"] = json!("c100");
    whole["manufacturer"] = Value::Null;
    let (status, put) = api.call("PUT", &format!("/Device/{token}"), Some(whole));
    assert_eq!(status, 200, "{put}");
    assert_eq!((put["model"].as_str(), put.get("manufacturer")), (Some("c100"), None));
    assert_eq!(api.audit_count("device-update"), 1);
}

/// Serials are unique per tenant, and nothing crosses tenants: another tenant's token is not
/// found, listed or handed out here.
#[test]
fn tokens_stay_in_their_tenant() {
    let api = Api::with(tenant_settings());
    let here = api.stock("default", "SN-1", &secret(), DeviceType::Totp).unwrap();
    assert_eq!(api.stock("default", "SN-1", &secret(), DeviceType::Hotp), None, "a serial once per tenant");
    let there = api.stock("acme", "SN-1", &secret(), DeviceType::Totp).unwrap();
    let (status, mine) = api.call("GET", "/Device", None);
    assert_eq!((status, serials(&mine)), (200, vec!["SN-1".to_owned()]));
    assert_eq!(mine["Resources"][0]["id"], here.to_string());
    let (_, theirs, _) = at(&api, ACME_ADMIN, "GET", "/scim/acme/v2/Device", None);
    assert_eq!(theirs["Resources"][0]["id"], there.to_string());
    let before = everything(&api);
    assert_eq!(api.call("GET", &format!("/Device/{there}"), None).0, 404);
    let (status, _) =
        api.patch_device(there, json!([{"op": "add", "path": "owner.display", "value": "eve"}]));
    assert_eq!(status, 404);
    assert_eq!(api.call("DELETE", &format!("/Device/{there}"), None).0, 404);
    assert_eq!(everything(&api), before);
}

/// The code of `secret` at HOTP counter (or TOTP step) `at`, SHA-1, 6 digits.
fn code_at(at: u64) -> String {
    format_code(hotp(&secret(), CodeParams { algorithm: Algorithm::Sha1, digits: 6 }, at), 6)
}

fn resync(api: &Api, id: i64, codes: [&str; 2]) -> (u16, Value) {
    api.call("POST", &format!("/Device/{id}/resync"), Some(json!({"codes": codes})))
}

/// HOTP 300 counters ahead: two consecutive codes bring it back, the counter moves past them,
/// and neither they nor codes not consecutive ever match again.
#[test]
fn a_hotp_token_far_ahead_is_resynced_by_two_codes() {
    let api = Api::new();
    let id = api.stock("default", "HT-1", &secret(), DeviceType::Hotp).unwrap();
    api.patch_device(id, json!([{"op": "add", "path": "owner.display", "value": "ann"}]));
    assert_eq!(api.respond(id, &code_at(300))["success"], false, "beyond the look-ahead");
    let before = everything(&api);
    for codes in [[code_at(300), code_at(302)], [code_at(301), code_at(300)], [code_at(1300), code_at(1301)]]
    {
        let (status, refused) = resync(&api, id, [&codes[0], &codes[1]]);
        assert_eq!(
            (status, refused["scimType"].as_str()),
            (400, Some("invalidValue")),
            "{codes:?}: {refused}"
        );
        assert_eq!(everything(&api), before);
    }
    for body in [json!({"codes": [code_at(300)]}), json!({"codes": [1, 2]}), json!({})] {
        assert_eq!(api.call("POST", &format!("/Device/{id}/resync"), Some(body.clone())).0, 400, "{body}");
    }
    let (status, done) = resync(&api, id, [&code_at(300), &code_at(301)]);
    assert_eq!((status, done), (200, json!({"resynced": true})));
    assert_eq!(api.device(id)["status"], "assigned", "a resync is no validation");
    assert_eq!(api.respond(id, &code_at(301))["success"], false, "used by the resync");
    assert_eq!(resync(&api, id, [&code_at(300), &code_at(301)]).0, 400, "replayed");
    assert_eq!(api.respond(id, &code_at(302))["success"], true);
    assert_eq!(api.audit_count("resync"), 1);
}

/// A TOTP token ten steps ahead: resynced, its drift kept; a clock that walks a step at a time
/// keeps validating, each success learning the drift (RFC 6238 §6); a step used never again.
#[test]
fn a_totp_token_whose_clock_walks_keeps_validating() {
    let api = Api::new();
    let id = api.stock("default", "TT-1", &secret(), DeviceType::Totp).unwrap();
    api.patch_device(id, json!([{"op": "add", "path": "owner.display", "value": "bob"}]));
    let step = |api: &Api| u64::try_from(api.now.get()).unwrap() / 30;
    let ahead = step(&api) + 10;
    assert_eq!(api.respond(id, &code_at(ahead))["success"], false, "outside the window");
    let (status, _) = resync(&api, id, [&code_at(ahead), &code_at(ahead + 1)]);
    assert_eq!(status, 200);
    assert_eq!(api.device(id)["timeDrift"], 11, "the second code's step, against the server's");
    assert_eq!(api.respond(id, &code_at(ahead + 1))["success"], false, "its step is used");
    // The token's clock gains one more step every 30 steps of the server's.
    let mut drift = 11;
    for _ in 0..5 {
        api.now.set(api.now.get() + 30 * 30);
        drift += 1;
        let (status, answer) = api.call(
            "POST",
            &format!("/OtpDevice/{id}/responseChallenge"),
            Some(json!({"pin": code_at(step(&api) + drift)})),
        );
        assert_eq!((status, answer["success"].as_bool()), (200, Some(true)), "drift {drift}");
        assert_eq!(api.device(id)["timeDrift"], drift);
    }
    assert_eq!(api.respond(id, &code_at(step(&api) + drift))["success"], false, "the same step again");
}

/// A token outside the validity its seed file gave it is refused as HID's reason 4, and nothing
/// is counted.
#[test]
fn a_token_outside_its_validity_counts_nothing() {
    let api = Api::new();
    let now = api.now.get();
    let mut dated = token("VD-1", DeviceType::Totp);
    dated.start_date = Some(Timestamp(now + 3600));
    dated.expiry_date = Some(Timestamp(now + 7200));
    let id = api.stock_with("default", dated, &secret()).unwrap();
    let (_, handed) = api.patch_device(id, json!([{"op": "add", "path": "owner.display", "value": "cy"}]));
    let user = handed["owner"]["value"].as_str().unwrap().to_owned();
    let verify = |api: &Api| {
        let code = code_at(u64::try_from(api.now.get()).unwrap() / 30);
        let answer = act(api, &format!("{user}.AT_EMPOTP"), "VERIFY", &[("RESPONSE", &code)]);
        let (status, reason) = outcome(&answer);
        (status.to_owned(), reason.to_owned())
    };
    let counted = |api: &Api| (api.rows("devices"), api.rows("authenticators"));
    let before = counted(&api);
    assert_eq!(verify(&api), ("0".into(), "4".into()), "not yet valid");
    assert_eq!(api.respond(id, &code_at(u64::try_from(now).unwrap() / 30 + 1))["success"], false);
    assert_eq!(counted(&api), before, "nothing counted");
    api.now.set(now + 3600);
    assert_eq!(verify(&api), ("1".into(), "-1".into()));
    api.now.set(now + 7200);
    assert_eq!(verify(&api), ("0".into(), "4".into()), "expired");
}

/// Soffid's dialect hands a token out by its serial: `POST /OtpDevice` with `serialNumber` and
/// `user` answers the new OtpDevice without a key URI (the secret is in the token); an unknown
/// serial, another tenant's, one handed out, another type or an enrolment's attribute is 400
/// `invalidValue` (or `invalidSyntax`) and changes nothing.
#[test]
fn soffid_hands_a_token_out_by_its_serial() {
    let api = Api::with(tenant_settings());
    let id = api.stock("default", "FT-9", &secret(), DeviceType::Totp).unwrap();
    api.stock("acme", "AC-1", &secret(), DeviceType::Totp).unwrap();
    let (status, created) =
        api.call("POST", "/OtpDevice", Some(json!({"serialNumber": "FT-9", "user": "zoe", "type": "totp"})));
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["id"], id);
    assert_eq!(
        (created["name"].as_str(), created["user"].as_str(), created["status"].as_str()),
        (Some("FT-9"), Some("zoe"), Some("C"))
    );
    assert!(created.get("image").is_none() && created.get("otpauthUri").is_none(), "{created}");
    assert_eq!(api.respond(id, &api.code(&secret()))["success"], true);
    assert_eq!(api.device(id)["status"], "activated");

    api.stock("default", "FT-10", &secret(), DeviceType::Hotp).unwrap();
    let before = everything(&api);
    for (body, scim_type) in [
        (json!({"serialNumber": "FT-404", "user": "zoe"}), "invalidValue"),
        (json!({"serialNumber": "AC-1", "user": "zoe"}), "invalidValue"),
        (json!({"serialNumber": "FT-9", "user": "yan"}), "invalidValue"),
        (json!({"serialNumber": "FT-10", "user": "yan", "type": "TOTP"}), "invalidValue"),
        (json!({"serialNumber": "FT-10", "user": "yan", "algorithm": "SHA256"}), "invalidSyntax"),
        (json!({"serialNumber": "FT-10"}), "invalidValue"),
    ] {
        let (status, refused) = api.call("POST", "/OtpDevice", Some(body.clone()));
        assert_eq!((status, refused["scimType"].as_str()), (400, Some(scim_type)), "{body}: {refused}");
        assert_eq!(everything(&api), before, "{body}");
    }
}

/// Deleting a token's OtpDevice, its authenticator or its user returns the token to stock, its
/// secret kept (it validates for the next owner); an enrolled device is deleted as before.
#[test]
fn a_token_outlives_its_owner() {
    let api = Api::new();
    let id = api.stock("default", "KEEP-1", &secret(), DeviceType::Totp).unwrap();
    let hand_to = |user: &str| {
        let (status, handed) =
            api.patch_device(id, json!([{"op": "add", "path": "owner.display", "value": user}]));
        assert_eq!(status, 200, "{handed}");
        handed["owner"]["value"].as_str().unwrap().to_owned()
    };
    let (enrolled, _) = api.totp_device("ann");
    hand_to("ann");
    assert_eq!(api.call("DELETE", &format!("/OtpDevice/{id}"), None).0, 204);
    assert_eq!(api.device(id)["status"], "available");
    let ann = hand_to("ann");
    assert_eq!(api.call("DELETE", &format!("/Authenticator/{ann}.AT_EMPOTP"), None).0, 204);
    assert_eq!(api.device(id)["status"], "available");
    assert_eq!(api.call("GET", &format!("/OtpDevice/{enrolled}"), None).0, 404, "enrolled: deleted");
    let bob = hand_to("bob");
    assert_eq!(api.call("DELETE", &format!("/Users/{bob}"), None).0, 204);
    let back = api.device(id);
    assert_eq!((back["status"].as_str(), back.get("owner")), (Some("available"), None));
    hand_to("cy");
    api.now.set(api.now.get() + 30);
    assert_eq!(api.respond(id, &api.code(&secret()))["success"], true, "the secret stayed");
    assert_eq!(api.audit_count("take-back"), 3);
}

/// The inventory's counts: per manufacturer, model and status, of the devices a filter matches,
/// in this tenant only; a filter that does not compile is a 400 as in a listing.
#[test]
fn devices_are_counted_per_model_and_status() {
    let api = Api::with(tenant_settings());
    for serial in ["FT-1", "FT-2", "FT-3"] {
        api.stock("default", serial, &secret(), DeviceType::Totp).unwrap();
    }
    let yubico =
        TokenData { manufacturer: Some("Yubico".into()), model: None, ..token("YK-1", DeviceType::Hotp) };
    api.stock_with("default", yubico, &secret()).unwrap();
    api.stock("acme", "FT-9", &secret(), DeviceType::Totp).unwrap();
    let (status, _) = api.patch_device(
        api.call("GET", "/Device?filter=serialNumber%20eq%20%22FT-2%22", None).1["Resources"][0]["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap(),
        json!([{"op": "add", "path": "owner.display", "value": "alice"}]),
    );
    assert_eq!(status, 200);
    api.totp_device("bob");

    let (status, counts) = api.call("GET", "/Device/.counts", None);
    assert_eq!(status, 200, "{counts}");
    assert_eq!(counts["schemas"], json!([shared::oath_device::DEVICE_COUNTS_SCHEMA]));
    assert_eq!(
        counts["groups"],
        json!([
            {"status": "assigned", "count": 1},
            {"manufacturer": "Feitian", "model": "c200", "status": "available", "count": 2},
            {"manufacturer": "Feitian", "model": "c200", "status": "assigned", "count": 1},
            {"manufacturer": "Yubico", "status": "available", "count": 1},
        ]),
        "bob's enrolled device has no manufacturer; acme's token is not counted here"
    );
    let (_, hotp) = api.call("GET", "/Device/.counts?filter=type%20eq%20%22HOTP%22", None);
    assert_eq!(hotp["groups"], json!([{"manufacturer": "Yubico", "status": "available", "count": 1}]));
    let (status, error) = api.call("GET", "/Device/.counts?filter=color%20eq%201", None);
    assert_eq!((status, error["scimType"].as_str()), (400, Some("invalidFilter")), "{error}");
    let (status, _, _) = api.call_as(READER, "GET", "/Device/.counts", None, &[]);
    assert_eq!(status, 200, "reading counts is an invoker's right");
    assert_eq!(api.call("POST", "/Device/.counts", Some(json!({}))).0, 405);
}
