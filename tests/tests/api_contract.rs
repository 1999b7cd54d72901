//! The SPEC's contract over HTTP, endpoint by endpoint, against the compiled component: the
//! Soffid examples, every filter operator, query parameters, PATCH/PUT rules, each challenge
//! type end to end with codes from `oathtool`, every error status, every language, and proof
//! that refused requests change nothing.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use argon2::password_hash::{PasswordHasher, SaltString};
use scim_otp_tests::{App, Reply, TempDir, base32_of, enc, host_label, id_of, oathtool, on_libsql, together};
use serde_json::json;
use std::sync::Arc;

#[test]
fn soffid_examples_are_answered_with_the_documented_shape() {
    let state = TempDir::new("seeds");
    let app = App::start(&state.0, &[]);
    let soffid = format!("{}/soffid/webservice/scim2/v1", app.origin);
    let url = |path: &str| format!("{soffid}{path}");

    // Create (TOTP, with the `meta` of Soffid's own example), SMS, EMAIL, PIN ("pin", not "email").
    let totp = app.call(
        "POST",
        &url("/OtpDevice"),
        Some(&json!({
            "meta": {"location": "http://example/webservice/scim2/v1/OtpDevice", "resourceType": "OtpDevice"},
            "schemas": ["urn:soffid:com.soffid.iam.addons.otp.common.OtpDevice"],
            "type": "TOTP", "user": "admin"
        })),
    );
    assert_eq!(totp.status, 201);
    for key in ["image", "created", "meta", "schemas", "name", "id", "type", "user", "fails", "status"] {
        assert!(totp.json.get(key).is_some(), "create response has {key}");
    }
    assert_eq!((totp.json["status"].as_str(), totp.json["fails"].as_i64()), (Some("C"), Some(0)));
    let sms = app.call(
        "POST",
        &url("/OtpDevice"),
        Some(&json!({"type": "SMS", "user": "dilbert", "phone": "6665552222"})),
    );
    assert_eq!((sms.status, sms.json["name"].as_str()), (201, Some("SMS message to 66*****22")));
    let email = app.call(
        "POST",
        &url("/OtpDevice"),
        Some(&json!({"type": "EMAIL", "user": "dilbert", "email": "dilbert@soffid.com"})),
    );
    assert_eq!(
        (email.status, email.json["name"].as_str()),
        (201, Some("Email message to di*****@so****.co*"))
    );
    let pin = app.call(
        "POST",
        &url("/OtpDevice"),
        Some(&json!({"type": "PIN", "user": "dilbert", "pin": "123456789"})),
    );
    assert_eq!((pin.status, pin.json["name"].as_str()), (201, Some("Security PIN")));

    // List all, list by filter, query by id.
    let all = app.call("GET", &url("/OtpDevice"), None);
    assert_eq!(all.json["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"]));
    assert_eq!((all.json["totalResults"].as_i64(), all.json["startIndex"].as_i64()), (Some(4), Some(1)));
    let first = &all.json["Resources"][0];
    assert_eq!(first["meta"]["resourceType"], "OtpDevice");
    assert!(
        first["meta"]["links"]["requestChallenge"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/OtpDevice/{}/requestChallenge", id_of(&totp)))
    );
    assert!(first.get("image").is_none(), "the QR code is shown once");
    let by_type = app.call("GET", &url(&format!("/OtpDevice?filter={}", enc(r#"type eq "TOTP""#))), None);
    assert_eq!(by_type.json["totalResults"], 1);
    let one = app.call("GET", &url(&format!("/OtpDevice/{}", id_of(&totp))), None);
    assert_eq!((one.status, one.json["name"].as_str()), (200, totp.json["name"].as_str()));

    // Request and response challenge (SMS), as in the examples.
    let challenge = app.call("GET", &url(&format!("/OtpDevice/{}/requestChallenge", id_of(&sms))), None);
    assert_eq!(challenge.json, json!({"cell": "PIN", "cardNumber": "SMS message to 66*****22"}));
    let wrong = app.call(
        "POST",
        &url(&format!("/OtpDevice/{}/responseChallenge", id_of(&sms))),
        Some(&json!({"pin": "12345678"})),
    );
    assert_eq!(wrong.json, json!({"success": false, "locked": false}));

    // Workflow 1: EMAIL device → requestChallenge → responseChallenge → enable.
    let e = id_of(&email);
    app.call("GET", &url(&format!("/OtpDevice/{e}/requestChallenge")), None);
    let outbox = app.call("GET", &url("/Outbox"), None);
    let message = outbox.json["Resources"][0]["message"].as_str().unwrap().to_owned();
    let code = message.rsplit(' ').next().unwrap();
    let ok =
        app.call("POST", &url(&format!("/OtpDevice/{e}/responseChallenge")), Some(&json!({"pin": code})));
    assert_eq!(ok.json, json!({"success": true, "locked": false}));
    let enable = json!({"Operations": [{"op": "replace", "path": "status", "value": "V"}]});
    let enabled = app.call("PATCH", &url(&format!("/OtpDevice/{e}")), Some(&enable));
    assert_eq!((enabled.status, enabled.json["status"].as_str()), (200, Some("V")));

    // Workflow 2: devices unused since a date, then disable one.
    let unused =
        app.call("GET", &url(&format!("/OtpDevice?filter={}", enc(r#"lastUsed le "2999-01-01""#))), None);
    assert_eq!(unused.json["totalResults"], 1, "only the EMAIL device has been used");
    let disable = json!({"Operations": [{"op": "replace", "path": "status", "value": "D"}]});
    let disabled = app.call("PATCH", &url(&format!("/OtpDevice/{}", id_of(&totp))), Some(&disable));
    assert_eq!(disabled.json["status"], "D");

    // Delete.
    let deleted = app.call("DELETE", &url(&format!("/OtpDevice/{}", id_of(&pin))), None);
    assert_eq!(deleted.status, 204);
}

#[test]
fn every_filter_operator_sort_page_and_projection() {
    let state = TempDir::new("filters");
    let app = App::start(&state.0, &[]);
    for (t, user, extra) in [
        ("TOTP", "alice", json!({})),
        ("HOTP", "bob", json!({"digits": 8})),
        ("EMAIL", "carol", json!({"email": "Carol@Example.com"})),
        ("SMS", "dave", json!({"phone": "+34600111222"})),
        ("PIN", "erin", json!({"pin": "2468"})),
    ] {
        let mut body = json!({"type": t, "user": user});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        assert_eq!(app.call("POST", "/OtpDevice", Some(&body)).status, 201);
    }
    let count = |filter: &str| {
        let reply = app.call("GET", &format!("/OtpDevice?filter={}", enc(filter)), None);
        assert_eq!(reply.status, 200, "{filter}: {}", reply.json);
        reply.json["totalResults"].as_i64().unwrap()
    };
    let cases = [
        (r#"user eq "alice""#, 1),
        (r#"user eq "ALICE""#, 0),
        (r#"user eq_ci "ALICE""#, 1),
        (r#"type ne "TOTP""#, 4),
        (r#"user co "a""#, 3),
        (r#"user sw "c""#, 1),
        (r#"user ew "e""#, 2),
        (r#"email pr"#, 1),
        (r#"email eq "carol@example.COM""#, 1),
        (r#"lastUsed pr"#, 0),
        (r#"id gt 2"#, 3),
        (r#"id ge 2"#, 4),
        (r#"id lt 2"#, 1),
        (r#"id le 2"#, 2),
        (r#"digits eq 8"#, 1),
        (r#"created gt "2020-01-01" and created lt "2999-01-01T00:00:00Z""#, 5),
        (r#"type eq "totp" or type eq "hotp""#, 2),
        (r#"not (status eq "C")"#, 0),
        (r#"(user sw "a" or user sw "b") and type eq "HOTP""#, 1),
        (r#"meta[created ge "2020-01-01 00:00:00"]"#, 5),
        (r#"urn:soffid:com.soffid.iam.addons.otp.common.OtpDevice:user eq "erin""#, 1),
        (r#"phone eq null"#, 4),
    ];
    for (filter, expected) in cases {
        assert_eq!(count(filter), expected, "{filter}");
    }

    let sorted = app.call(
        "GET",
        "/OtpDevice?sortBy=user&sortOrder=descending&startIndex=2&count=2&attributes=user,type",
        None,
    );
    let users: Vec<&str> =
        sorted.json["Resources"].as_array().unwrap().iter().map(|d| d["user"].as_str().unwrap()).collect();
    assert_eq!(users, ["dave", "carol"]);
    assert_eq!(
        (
            sorted.json["totalResults"].as_i64(),
            sorted.json["itemsPerPage"].as_i64(),
            sorted.json["startIndex"].as_i64()
        ),
        (Some(5), Some(2), Some(2))
    );
    let keys: Vec<&String> = sorted.json["Resources"][0].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 5, "id, schemas, meta.resourceType, user, type: {keys:?}");
    let excluded = app.call("GET", "/OtpDevice/1?excludedAttributes=name,meta", None);
    assert!(
        excluded.json.get("name").is_none() && excluded.json["meta"] == json!({"resourceType": "OtpDevice"})
    );
    let search = app.call(
        "POST",
        "/OtpDevice/.search",
        Some(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "type eq \"PIN\"", "attributes": ["user"], "count": 10
        })),
    );
    assert_eq!(
        (search.json["totalResults"].as_i64(), search.json["Resources"][0]["user"].as_str()),
        (Some(1), Some("erin"))
    );
    let counted = app.call("GET", "/OtpDevice?count=0", None);
    assert_eq!(
        (counted.json["totalResults"].as_i64(), counted.json["Resources"].as_array().map(Vec::len)),
        (Some(5), Some(0))
    );
    let bad = app.call("GET", &format!("/OtpDevice?filter={}", enc(r#"user eq "x" and"#)), None);
    assert_eq!((bad.status, bad.json["scimType"].as_str()), (400, Some("invalidFilter")));
    assert!(bad.json["detail"].as_str().unwrap().contains("position 16"), "{}", bad.json);
}

#[test]
fn each_challenge_type_end_to_end() {
    let state = TempDir::new("challenges");
    let app = App::start(&state.0, &[("max_fails", "3")]);
    let respond = |id: i64, code: &str| {
        app.call("POST", &format!("/OtpDevice/{id}/responseChallenge"), Some(&json!({"pin": code}))).json
    };

    // TOTP, with the code from oathtool; the same code again is a replay.
    let totp = app.call(
        "POST",
        "/OtpDevice",
        Some(&json!({"type": "TOTP", "user": "t", "algorithm": "SHA256", "digits": 8})),
    );
    let id = id_of(&totp);
    let code =
        oathtool(&["--totp=sha256", "-d", "8", "-b", &base32_of(totp.json["otpauthUri"].as_str().unwrap())]);
    assert_eq!(respond(id, &code), json!({"success": true, "locked": false}));
    assert_eq!(respond(id, &code), json!({"success": false, "locked": false}), "replay refused");

    // HOTP, codes from oathtool at counters 0 and 5 (look-ahead), then 3 is spent.
    let hotp = app.call("POST", "/OtpDevice", Some(&json!({"type": "HOTP", "user": "h"})));
    let (id, b32) = (id_of(&hotp), base32_of(hotp.json["otpauthUri"].as_str().unwrap()));
    let at = |counter: u32| oathtool(&["--hotp", "-c", &counter.to_string(), "-b", &b32]);
    assert_eq!(respond(id, &at(0))["success"], true);
    assert_eq!(respond(id, &at(5))["success"], true);
    assert_eq!(respond(id, &at(3))["success"], false);
    assert_eq!(respond(id, &at(6))["success"], true, "a failure does not move the counter");

    // EMAIL and SMS, codes read from the dev outbox.
    for body in [
        json!({"type": "EMAIL", "user": "e", "email": "e@example.com"}),
        json!({"type": "SMS", "user": "s", "phone": "600111222"}),
    ] {
        let id = id_of(&app.call("POST", "/OtpDevice", Some(&body)));
        app.call("GET", &format!("/OtpDevice/{id}/requestChallenge"), None);
        let outbox = app.call("GET", "/Outbox", None);
        let latest = &outbox.json["Resources"][0];
        assert_eq!(latest["deviceId"], id);
        let code = latest["message"].as_str().unwrap().rsplit(' ').next().unwrap().to_owned();
        assert_eq!(respond(id, &code)["success"], true, "{body}");
        assert_eq!(respond(id, &code)["success"], false, "single use: {body}");
    }

    // PIN, then lockout at max_fails = 3, then L and D answer without counting.
    let id =
        id_of(&app.call("POST", "/OtpDevice", Some(&json!({"type": "PIN", "user": "p", "pin": "7531"}))));
    assert_eq!(respond(id, "7531")["success"], true);
    assert_eq!(respond(id, "0000"), json!({"success": false, "locked": false}));
    assert_eq!(respond(id, "0000"), json!({"success": false, "locked": false}));
    assert_eq!(respond(id, "0000"), json!({"success": false, "locked": true}));
    assert_eq!(
        respond(id, "7531"),
        json!({"success": false, "locked": true}),
        "locked: the right PIN fails too"
    );
    let locked = app.call("GET", &format!("/OtpDevice/{id}"), None).json;
    assert_eq!((locked["status"].as_str(), locked["fails"].as_i64()), (Some("L"), Some(3)));
    let disable = json!({"Operations": [{"op": "replace", "path": "status", "value": "D"}]});
    app.call("PATCH", &format!("/OtpDevice/{id}"), Some(&disable));
    assert_eq!(respond(id, "7531"), json!({"success": false, "locked": false}), "disabled");
    assert_eq!(app.call("GET", &format!("/OtpDevice/{id}"), None).json["fails"], 3, "L and D count nothing");
}

#[test]
fn put_patch_and_if_match_rules() {
    let state = TempDir::new("updates");
    let app = App::start(&state.0, &[]);
    let created = app.call(
        "POST",
        "/OtpDevice",
        Some(&json!({"type": "EMAIL", "user": "u", "email": "u@example.com"})),
    );
    let id = id_of(&created);
    let path = format!("/OtpDevice/{id}");
    let mut whole = app.call("GET", &path, None).json;
    whole["status"] = json!("D");
    let put = app.call("PUT", &path, Some(&whole));
    assert_eq!(
        (put.status, put.json["status"].as_str(), put.header("etag")),
        (200, Some("D"), Some("W/\"2\""))
    );
    let patched = app.call(
        "PATCH",
        &path,
        Some(&json!({"Operations": [{"op": "Replace", "value": {"status": "V", "fails": 0}}]})),
    );
    assert_eq!(patched.json["status"], "V");
    let (user, password) = app.admin();
    let stale = app.send("PUT", &path, Some(&whole), Some((&user, &password)), &[("if-match", "W/\"1\"")]);
    assert_eq!((stale.status, stale.json["status"].as_str()), (412, Some("412")));
    let current = app.send("DELETE", &path, None, Some((&user, &password)), &[("if-match", "W/\"3\"")]);
    assert_eq!(current.status, 204);
}

#[test]
fn errors_have_scim_bodies_in_every_language_and_change_nothing() {
    let salt = SaltString::encode_b64(b"fixed-test-salt!").unwrap();
    let hash = |p: &str| argon2::Argon2::default().hash_password(p.as_bytes(), &salt).unwrap().to_string();
    let users = json!([
        {"user": "boss", "password_hash": hash("boss-pw"), "rights": ["scim:admin"]},
        {"user": "viewer", "password_hash": hash("viewer-pw"), "rights": ["scim:invoke"]}
    ])
    .to_string();
    let state = TempDir::new("errors");
    let app = App::start(&state.0, &[("scim_users", &users)]);
    let boss = Some(("boss", "boss-pw"));
    let id = id_of(&app.send(
        "POST",
        "/OtpDevice",
        Some(&json!({"type": "PIN", "user": "u", "pin": "1234"})),
        boss,
        &[],
    ));
    let before = {
        let device = app.send("GET", &format!("/OtpDevice/{id}"), None, boss, &[]).json;
        let audit = app.send("GET", &format!("/OtpDevice/{id}/audit"), None, boss, &[]).json;
        (device, audit)
    };

    let big = "x".repeat(70 * 1024);
    let expect = |reply: Reply, status: u16, scim_type: Option<&str>, what: &str| {
        assert_eq!(reply.status, status, "{what}: {}", reply.json);
        assert_eq!(reply.json["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]), "{what}");
        assert_eq!(reply.json["status"], status.to_string(), "{what}");
        assert_eq!(reply.json["scimType"].as_str(), scim_type, "{what}");
        assert!(!reply.json["detail"].as_str().unwrap_or_default().is_empty(), "{what}");
        reply
    };
    let r = expect(app.send("GET", "/OtpDevice", None, None, &[]), 401, None, "no credentials");
    assert!(r.header("www-authenticate").unwrap().starts_with("Basic realm=\"SCIM\""));
    expect(app.send("GET", "/OtpDevice", None, Some(("boss", "nope")), &[]), 401, None, "wrong password");
    let path = format!("/OtpDevice/{id}");
    let viewer = Some(("viewer", "viewer-pw"));
    expect(app.send("DELETE", &path, None, viewer, &[]), 403, None, "missing right");
    expect(app.send("GET", "/OtpDevice/999", None, boss, &[]), 404, None, "unknown id");
    expect(app.send("GET", "/Elsewhere", None, boss, &[]), 404, None, "unknown route");
    let r = expect(app.send("DELETE", "/Schemas", None, boss, &[]), 405, None, "write to discovery");
    assert!(r.header("allow").is_some());
    expect(
        app.send("POST", "/OtpDevice", Some(&json!({"type": "PIN", "user": "u", "pin": "9999"})), boss, &[]),
        409,
        Some("uniqueness"),
        "second PIN",
    );
    expect(
        app.send(
            "PATCH",
            &path,
            Some(&json!({"Operations": [{"op": "replace", "path": "fails", "value": 0}]})),
            boss,
            &[("if-match", "W/\"9\"")],
        ),
        412,
        None,
        "stale",
    );
    expect(app.send("PUT", &path, Some(&json!({"user": big})), boss, &[]), 413, None, "too large");
    expect(
        app.send_raw("PUT", &path, b"status=D", boss, &[("content-type", "text/plain")]),
        415,
        None,
        "content type",
    );
    expect(
        app.send("PUT", &path, Some(&json!({"user": "eve"})), boss, &[]),
        400,
        Some("mutability"),
        "immutable",
    );
    expect(
        app.send(
            "PATCH",
            &path,
            Some(&json!({"Operations": [{"op": "remove", "path": "status"}]})),
            boss,
            &[],
        ),
        400,
        Some("invalidValue"),
        "remove required",
    );
    expect(
        app.send(
            "PATCH",
            &path,
            Some(&json!({"Operations": [{"op": "replace", "path": "nope", "value": 1}]})),
            boss,
            &[],
        ),
        400,
        Some("invalidPath"),
        "unknown path",
    );
    expect(
        app.send("POST", &format!("{path}/responseChallenge"), Some(&json!({"pin": ""})), boss, &[]),
        400,
        Some("invalidValue"),
        "empty pin",
    );

    for (language, words) in
        [("en", "does not exist"), ("es", "no existe"), ("ca", "no existeix"), ("nl", "bestaat niet")]
    {
        let r = app.send("GET", "/OtpDevice/999", None, boss, &[("accept-language", language)]);
        assert!(r.json["detail"].as_str().unwrap().contains(words), "{language}: {}", r.json);
        assert_eq!(r.header("content-language"), Some(language));
    }

    let after = {
        let device = app.send("GET", &format!("/OtpDevice/{id}"), None, boss, &[]).json;
        let audit = app.send("GET", &format!("/OtpDevice/{id}/audit"), None, boss, &[]).json;
        (device, audit)
    };
    assert_eq!(after, before, "no refused request changed the device or its audit trail");
}

#[test]
fn two_hundred_parallel_validations_of_one_code_succeed_once() {
    let state = TempDir::new("race200");
    let app = Arc::new(App::start(&state.0, &[]));
    let created = app.call("POST", "/OtpDevice", Some(&json!({"type": "TOTP", "user": "racer"})));
    let id = id_of(&created);
    let code = oathtool(&["--totp", "-b", &base32_of(created.json["otpauthUri"].as_str().unwrap())]);
    let replies = together(200, move |_| {
        app.call("POST", &format!("/OtpDevice/{id}/responseChallenge"), Some(&json!({"pin": code})))
    });
    // A libSQL server takes 128 connections (`--max-concurrent-connections`) and refuses the
    // rest after a second: those requests are answered 503 with `Retry-After` at once and
    // change nothing (README, "A saturated sqld"). A local file answers all 200.
    let refused =
        |reply: &&Reply| on_libsql() && reply.status == 503 && reply.header("retry-after") == Some("1");
    for reply in replies.iter().filter(|reply| !refused(reply)) {
        assert_eq!(reply.status, 200, "{}", reply.json);
    }
    let successes = replies.iter().filter(|r| r.json["success"] == true).count();
    let refusals = replies.iter().filter(refused).count();
    println!(
        "200 parallel validations of one code ({}): 1 success, {refusals} refused for overload",
        host_label()
    );
    assert_eq!(successes, 1);
    assert!(refusals < 100, "{refusals} of 200 refused for overload");
}

/// Tenants and Users over HTTP, on the compiled component: a provisioning client's session as
/// Entra ID runs it (look up by userName, create, PATCH with capitalised ops and a string
/// boolean, deactivate) in one tenant, while another tenant's principal sees none of it and
/// gets the same 404 for that tenant as for one that does not exist.
#[test]
fn tenants_and_users_over_http() {
    let salt = SaltString::encode_b64(b"fixed-test-salt!").unwrap();
    let hash = |p: &str| argon2::Argon2::default().hash_password(p.as_bytes(), &salt).unwrap().to_string();
    let users = json!([
        {"user": "entra", "password_hash": hash("entra-pw"), "rights": ["scim:admin"], "tenants": ["acme"]},
        {"user": "other", "password_hash": hash("other-pw"), "rights": ["scim:admin"], "tenants": ["globex"]},
    ])
    .to_string();
    let state = TempDir::new("tenants");
    let app = App::start(&state.0, &[("scim_users", &users), ("tenants", "default,acme,globex")]);
    let entra = Some(("entra", "entra-pw"));
    let other = Some(("other", "other-pw"));
    let acme = format!("{}/scim/acme/v2", app.origin);
    let lookup = app.send(
        "GET",
        &format!("{acme}/Users?filter=userName%20eq%20%22ann%40acme.example%22"),
        None,
        entra,
        &[],
    );
    assert_eq!((lookup.status, lookup.json["totalResults"].as_i64()), (200, Some(0)), "{}", lookup.json);
    let created = app.send(
        "POST",
        &format!("{acme}/Users"),
        Some(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", "userName": "ann@acme.example", "active": true,
            "displayName": "Ann", "emails": [{"primary": true, "type": "work", "value": "ann@acme.example"}],
            "name": {"formatted": "Ann Lee", "familyName": "Lee", "givenName": "Ann"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"},
        })),
        entra,
        &[],
    );
    assert_eq!(created.status, 201, "{}", created.json);
    let location = created.header("location").unwrap().to_owned();
    assert!(location.starts_with(&format!("{acme}/Users/")), "{location}");
    let device = app.send(
        "POST",
        &format!("{acme}/OtpDevice"),
        Some(&json!({"type": "TOTP", "user": "ANN@acme.example"})),
        entra,
        &[],
    );
    assert_eq!((device.status, device.json["user"].as_str()), (201, Some("ann@acme.example")));
    let patched = app.send(
        "PATCH",
        &location,
        Some(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ann.lee@acme.example"},
            {"op": "Replace", "path": "active", "value": "False"}]})),
        entra,
        &[],
    );
    assert_eq!((patched.status, patched.json["active"].as_bool()), (200, Some(false)), "{}", patched.json);
    let id = device.json["id"].as_i64().unwrap();
    let answer = app.send(
        "POST",
        &format!("{acme}/OtpDevice/{id}/responseChallenge"),
        Some(&json!({"pin": "123456"})),
        entra,
        &[],
    );
    assert_eq!(answer.json, json!({"success": false, "locked": false}), "an inactive user counts nothing");
    let fails = app.send("GET", &format!("{acme}/OtpDevice/{id}"), None, entra, &[]).json["fails"].clone();
    assert_eq!(fails, 0);

    // The other tenant's principal: same 404 for acme as for a tenant that does not exist.
    let forbidden = app.send("GET", &location, None, other, &[]);
    let ghost = app.send("GET", &location.replace("/acme/", "/ghost/"), None, other, &[]);
    assert_eq!((forbidden.status, &forbidden.json), (404, &ghost.json));
    let globex_copy = location.replace("/acme/", "/globex/");
    assert_eq!(app.send("DELETE", &globex_copy, None, other, &[]).status, 404, "an id of another tenant");
    let tenants = app.send("GET", "/Tenants", None, other, &[]);
    assert_eq!(tenants.json["Resources"], json!([{"name": "globex"}]));
    assert_eq!(app.send("DELETE", &location, None, entra, &[]).status, 204);
    assert_eq!(app.send("GET", &format!("{acme}/OtpDevice/{id}"), None, entra, &[]).status, 404, "cascade");
}

/// Authenticator policies (SPEC §18) over HTTP: the built-in set, a create with its `Location`,
/// a filter on a kind, a PATCH under `If-Match` and a stale one (412, nothing changed), the
/// default handed over, a policy in use refused (409) until its authenticator's user is gone,
/// and another tenant's policies out of reach.
#[test]
fn policies_over_http() {
    let state = TempDir::new("policies");
    let app = App::start(&state.0, &[("tenants", "default,acme")]);
    let built_in = app.call("GET", "/Policy/Authenticator?count=0", None);
    assert_eq!(
        (built_in.status, built_in.json["totalResults"].as_i64()),
        (200, Some(10)),
        "{}",
        built_in.json
    );
    let created = app.call(
        "POST",
        "/Policy/Authenticator",
        Some(&json!({"schemas": ["urn:scim-otp:params:scim:schemas:AuthenticatorPolicy"],
                     "id": "AT_KIOSK", "kind": "TOTP", "maxFails": 2, "default": true})),
    );
    assert_eq!(created.status, 201, "{}", created.json);
    assert_eq!(
        created.header("location"),
        Some(format!("{}/Policy/Authenticator/AT_KIOSK", app.base).as_str())
    );
    let totp = app.call(
        "GET",
        "/Policy/Authenticator?filter=kind%20eq%20%22TOTP%22%20and%20default%20eq%20true",
        None,
    );
    assert_eq!(totp.json["Resources"][0]["id"], "AT_KIOSK", "the new default took over: {}", totp.json);
    assert_eq!(totp.json["totalResults"], 1);

    // A device created now joins an authenticator of AT_KIOSK, whose maxFails locks it.
    let device = app.call("POST", "/OtpDevice", Some(&json!({"type": "TOTP", "user": "kiosk-1"})));
    let id = device.json["id"].as_i64().unwrap();
    for _ in 0..2 {
        app.call("POST", &format!("/OtpDevice/{id}/responseChallenge"), Some(&json!({"pin": "000000"})));
    }
    assert_eq!(
        app.call("GET", &format!("/OtpDevice/{id}"), None).json["status"],
        "L",
        "locked at the policy's 2"
    );

    let etag = created.header("etag").unwrap().to_owned();
    let (user, password) = app.admin();
    let admin = Some((user.as_str(), password.as_str()));
    let patch = json!({"Operations": [{"op": "replace", "path": "displayName", "value": "Kiosk"}]});
    let path = format!("{}/Policy/Authenticator/AT_KIOSK", app.base);
    let patched = app.send("PATCH", &path, Some(&patch), admin, &[("if-match", &etag)]);
    assert_eq!(
        (patched.status, patched.json["displayName"].as_str()),
        (200, Some("Kiosk")),
        "{}",
        patched.json
    );
    let stale = app.send("PATCH", &path, Some(&patch), admin, &[("if-match", &etag)]);
    assert_eq!(stale.status, 412);
    let back = json!({"Operations": [{"op": "replace", "path": "default", "value": true}]});
    assert_eq!(app.call("PATCH", "/Policy/Authenticator/AT_EMPOTP", Some(&back)).status, 200);
    let in_use = app.call("DELETE", "/Policy/Authenticator/AT_KIOSK", None);
    assert_eq!((in_use.status, in_use.json["status"].as_str()), (409, Some("409")), "{}", in_use.json);
    assert_eq!(
        app.call("GET", "/Policy/Authenticator/AT_KIOSK", None).json["displayName"],
        "Kiosk",
        "still there"
    );
    let owner = app.call("GET", "/Users?filter=userName%20eq%20%22kiosk-1%22", None);
    let owner = owner.json["Resources"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(app.call("DELETE", &format!("/Users/{owner}"), None).status, 204);
    assert_eq!(app.call("DELETE", "/Policy/Authenticator/AT_KIOSK", None).status, 204);

    // The generated admin has the default tenant only: acme's policies answer as a tenant that
    // does not exist does.
    let url = |tenant: &str| format!("{}/scim/{tenant}/v2/Policy/Authenticator/AT_EMPOTP", app.origin);
    let acme = app.send("GET", &url("acme"), None, admin, &[]);
    let ghost = app.send("GET", &url("ghost"), None, admin, &[]);
    assert_eq!((acme.status, &acme.json), (404, &ghost.json));
}
