//! Soffid's dialect, natively: the device workflows of SPEC §2–§6 and every refusal.

use super::*;

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

/// Issue 32: a device's code parameters come from the policy it is bound to, whichever view
/// creates it: after an admin edits `AT_EMPOTP`, `/OtpDevice` and `/Authenticator` enrol alike,
/// and a body that sets them still wins on `/OtpDevice`. One device per address holds on both.
#[test]
fn the_bound_policy_sets_a_new_devices_parameters_in_both_views() {
    let api = Api::new();
    let (status, policy) = api.call(
        "PATCH",
        "/Policy/Authenticator/AT_EMPOTP",
        Some(json!({"Operations": [{"op": "replace", "value": {"digits": 8, "algorithm": "SHA256", "period": 60}}]})),
    );
    assert_eq!(status, 200, "{policy}");
    let soffid = api.create(json!({"type": "TOTP", "user": "ann"}));
    let user = new_user(&api, json!({"userName": "bob"}));
    let (status, hid) = api.call(
        "POST",
        "/Authenticator",
        Some(json!({"owner": {"value": user}, "policy": {"value": "AT_EMPOTP"}})),
    );
    assert_eq!(status, 201, "{hid}");
    let (_, hid) = api.call("GET", &format!("/OtpDevice/{}", hid[ENROLLMENT_EXT]["deviceId"]), None);
    for device in [&soffid, &hid] {
        assert_eq!(
            (&device["digits"], &device["algorithm"], &device["period"]),
            (&json!(8), &json!("SHA256"), &json!(60))
        );
    }
    assert!(soffid["otpauthUri"].as_str().unwrap().contains("digits=8"), "{soffid}");
    let explicit = api.create(json!({"type": "TOTP", "user": "ann", "digits": 6}));
    assert_eq!(explicit["digits"], 6);

    let owner = new_user(&api, json!({"userName": "carl", "emails": [{"value": "carl@example.com"}]}));
    api.create(json!({"type": "EMAIL", "user": "carl", "email": "carl@example.com"}));
    let (status, _) =
        api.call("POST", "/Policy/Authenticator", Some(json!({"id": "AT_MAIL2", "kind": "OOB_EMAIL"})));
    assert_eq!(status, 201);
    let before = api.rows("authenticators") + &api.rows("devices");
    let (status, error) = api.call(
        "POST",
        "/Authenticator",
        Some(json!({"owner": {"value": owner}, "policy": {"value": "AT_MAIL2"}})),
    );
    assert_eq!((status, error["scimType"].as_str()), (409, Some("uniqueness")), "{error}");
    assert_eq!(api.rows("authenticators") + &api.rows("devices"), before, "nothing written");
}
