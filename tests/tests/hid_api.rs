//! Every request of HID's seed (`seeds/hid-activid-authenticator-api.txt`) replayed over HTTP
//! against the compiled component, each answer checked for the documented shape: the users are
//! created first and the seed's user and device ids replaced by the ones the service assigned,
//! its dates moved into the present. Two of its samples are not JSON as printed (a missing and
//! a trailing comma in the password create, a trailing comma in the search); they are sent as
//! the JSON they mean.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use scim_otp_tests::{App, Gateway, Reply, TempDir, base32_of, enc, oathtool};
use serde_json::{Value, json};

const AUTHENTICATOR: &str = "urn:hid:scim:api:idp:2.0:Authenticator";
const PASSWORD: &str = "urn:hid:scim:api:idp:2.0:Password";
const QUESTIONS: &str = "urn:hid:scim:api:idp:2.0:SecurityQuestion";
const ACTION: &str = "urn:hid:scim:api:idp:2.0:Action";
const ENROLLMENT: &str = "urn:scim-otp:params:scim:schemas:extension:Enrollment";

/// A seed's validity window `[start, expiry)`, moved whole years on so that it starts two
/// years ago (every window of the seed is longer than that, and so holds today).
fn window(start: &str, expiry: &str) -> (String, String) {
    let this_year = 1970 + scim_otp_tests::now() / 31_556_952;
    let shift = this_year - 2 - start[..4].parse::<i64>().unwrap();
    let moved = |date: &str| format!("{}{}", date[..4].parse::<i64>().unwrap() + shift, &date[4..]);
    (moved(start), moved(expiry))
}

fn user(app: &App, body: Value) -> String {
    let created = app.call("POST", "/Users", Some(&body));
    assert_eq!(created.status, 201, "{}", created.json);
    created.json["id"].as_str().unwrap().to_owned()
}

/// The documented shape of an authenticator (the seed's get and create samples).
fn assert_authenticator_shape(reply: &Reply, id: &str, owner: &str, user_name: &str, policy: &str) {
    let a = &reply.json;
    assert_eq!(a["id"], id, "{a}");
    assert!(a["schemas"].as_array().unwrap().contains(&json!(AUTHENTICATOR)), "{a}");
    assert_eq!(a["externalId"], user_name);
    assert_eq!(a["meta"]["resourceType"], "Authenticator");
    assert!(a["meta"]["location"].as_str().unwrap().ends_with(&format!("/Authenticator/{id}")));
    for key in ["created", "version"] {
        assert!(a["meta"].get(key).is_some(), "meta.{key} in {a}");
    }
    assert!(["ENABLED", "DISABLED"].contains(&a["status"]["status"].as_str().unwrap()));
    assert!(a["status"]["active"].is_boolean() && a["status"]["startDate"].is_string(), "{a}");
    assert_eq!((a["owner"]["type"].as_str(), a["owner"]["value"].as_str()), (Some("User"), Some(owner)));
    assert_eq!(a["owner"]["display"], user_name);
    assert!(a["owner"]["$ref"].as_str().unwrap().ends_with(&format!("/Users/{owner}")));
    for key in
        ["consecutiveFailed", "consecutiveSuccess", "maximumNumberOfUsages", "totalFailed", "totalSuccess"]
    {
        assert!(a["statistics"][key].is_u64(), "statistics.{key} in {a}");
    }
    assert_eq!(a["policy"]["value"], policy);
    assert!(a["policy"]["display"].is_string());
    assert!(a["policy"]["$ref"].as_str().unwrap().ends_with(&format!("/Policy/Authenticator/{policy}")));
}

fn action(name: &str, attributes: Value) -> Value {
    json!({"schemas": [ACTION], ACTION: {"action": name, "attributes": attributes}})
}

/// The seed's action answer: `attributes` of `{name, type, value, readOnly}` with the request's
/// status; returns them by name.
fn action_answer(reply: &Reply) -> std::collections::BTreeMap<String, String> {
    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(reply.json["schemas"], json!([ACTION]));
    let attributes = reply.json["attributes"].as_array().unwrap();
    let names: Vec<&str> = attributes.iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert!(names.ends_with(&["REQUEST.STATUS", "REQUEST.REASON", "REQUEST.ERROR_MESSAGE"]), "{names:?}");
    attributes
        .iter()
        .map(|a| {
            assert_eq!((a["type"].as_str(), a["readOnly"].as_bool()), (Some("string"), Some(false)));
            (a["name"].as_str().unwrap().to_owned(), a["value"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

fn done(answer: &std::collections::BTreeMap<String, String>) {
    assert_eq!(
        (answer["REQUEST.STATUS"].as_str(), answer["REQUEST.REASON"].as_str()),
        ("1", "-1"),
        "{answer:?}"
    );
}

#[test]
fn every_request_of_the_hid_seed_is_answered_with_the_documented_shape() {
    let state = TempDir::new("hid-seed");
    let app = App::start(&state.0, &[]);
    // The seed's users, by the ids it gives them.
    let jsmith = user(&app, json!({"userName": "jsmith"})); // 10033
    let jdoe = user(&app, json!({"userName": "jdoe"})); // 11288
    let u12345 = user(&app, json!({"userName": "user12345"})); // 12345
    let my_user = user(&app, json!({"userName": "myUser", "emails": [{"value": "my.user@example.com"}]})); // 11338
    let user1 = user(&app, json!({"userName": "user1", "emails": [{"value": "user1@example.com"}]})); // 17606
    let payer = user(&app, json!({"userName": "tds-user", "phoneNumbers": [{"value": "+34600123456"}]})); // 11914

    // Get an Authenticator: 10033.AT_EMPOTP.
    let empotp = app.call(
        "POST",
        "/Authenticator",
        Some(&json!({"owner": {"value": jsmith}, "policy": {"value": "AT_EMPOTP"}})),
    );
    assert_eq!(empotp.status, 201);
    let got = app.call("GET", &format!("/Authenticator/{jsmith}.AT_EMPOTP"), None);
    assert_eq!(got.status, 200);
    assert_authenticator_shape(&got, &format!("{jsmith}.AT_EMPOTP"), &jsmith, "jsmith", "AT_EMPOTP");
    // `api-version` is accepted and changes nothing.
    let versioned = app.call("GET", &format!("/Authenticator/{jsmith}.AT_EMPOTP?api-version=3"), None);
    assert_eq!(versioned.json, got.json);

    // Create Device Authenticator (11288.AT_CUSTOTP), with its enrolment once.
    let (start, expiry) = window("2020-09-11T16:45:46+00:00", "2025-09-11T16:45:46+00:00");
    let device = app.call(
        "POST",
        "/Authenticator",
        Some(&json!({
            "schemas": [AUTHENTICATOR],
            "status": {"status": "ENABLED", "startDate": start, "expiryDate": expiry},
            "owner": {"value": jdoe},
            "policy": {"value": "AT_CUSTOTP"}
        })),
    );
    assert_eq!(device.status, 201, "{}", device.json);
    assert_authenticator_shape(&device, &format!("{jdoe}.AT_CUSTOTP"), &jdoe, "jdoe", "AT_CUSTOTP");
    assert_eq!(device.json["status"]["startDate"], start.replace("+00:00", "Z"));
    assert_eq!(device.json["status"]["expiryDate"], expiry.replace("+00:00", "Z"));
    assert_eq!(device.json["status"]["active"], true);
    let custotp_device = device.json[ENROLLMENT]["deviceId"].as_i64().unwrap();
    let custotp_secret = base32_of(device.json[ENROLLMENT]["otpauthUri"].as_str().unwrap());

    // Create Password Authenticator (12345.AT_CUSTPW): the password is never shown.
    let window_2015 = window("2015-05-15T18:15:21+00:00", "2018-05-15T18:15:21+00:00");
    let password = app.call(
        "POST",
        "/Authenticator",
        Some(&json!({
            "schemas": [AUTHENTICATOR],
            "policy": {"value": "AT_CUSTPW"},
            "status": {"status": "ENABLED", "startDate": window_2015.0, "expiryDate": window_2015.1},
            "owner": {"value": u12345},
            PASSWORD: {"username": "user12345", "password": "Zaqaawsx12"}
        })),
    );
    assert_eq!(password.status, 201, "{}", password.json);
    assert_authenticator_shape(&password, &format!("{u12345}.AT_CUSTPW"), &u12345, "user12345", "AT_CUSTPW");
    // Ours besides the seed's: the Enrollment extension names the device the password binds.
    assert_eq!(password.json["schemas"], json!([AUTHENTICATOR, PASSWORD, ENROLLMENT]));
    assert_eq!(password.json[PASSWORD], json!({"username": "user12345"}));

    // Create Security Question Authenticator (11288.AT_CUSTQA): prompts shown, answers never.
    let questions = app.call(
        "POST",
        "/Authenticator",
        Some(&json!({
            "schemas": [AUTHENTICATOR],
            "policy": {"value": "AT_CUSTQA"},
            "status": {"status": "ENABLED", "startDate": window_2015.0, "expiryDate": window_2015.1},
            "owner": {"value": jdoe},
            QUESTIONS: {"prompts": [
                {"prompt": {"value": "PR_SIBLING"}, "answer": "sibling name"},
                {"prompt": {"value": "PR_NICK"}, "answer": "nickname"},
                {"prompt": {"value": "PR_ANIMAL"}, "answer": "animal name"}]}
        })),
    );
    assert_eq!(questions.status, 201, "{}", questions.json);
    assert_authenticator_shape(&questions, &format!("{jdoe}.AT_CUSTQA"), &jdoe, "jdoe", "AT_CUSTQA");
    assert_eq!(questions.json["schemas"], json!([AUTHENTICATOR, QUESTIONS]));
    assert_eq!(
        questions.json[QUESTIONS]["prompts"],
        json!([
            {"prompt": {"display": "Your oldest sibling's middle name", "value": "PR_SIBLING"}},
            {"prompt": {"display": "Childhood nickname", "value": "PR_NICK"}},
            {"prompt": {"display": "Name of your first stuffed animal?", "value": "PR_ANIMAL"}}
        ])
    );
    assert_eq!(questions.json[QUESTIONS]["promptsRequiredForCreation"], 3);
    assert!(
        !questions.json.to_string().contains("animal name") && !questions.json.to_string().contains("answer")
    );

    // Create LDAP Passthrough Authenticator: AT_LDAP is not a policy here, the documented 400.
    let ldap_window = window("2019-05-15T18:15:21+00:00", "2020-05-15T18:15:21+00:00");
    let ldap = app.call(
        "POST",
        "/Authenticator",
        Some(&json!({"policy": {"value": "AT_LDAP"},
                     "status": {"status": "ENABLED", "expiryDate": ldap_window.1, "startDate": ldap_window.0},
                     "owner": {"display": "LDAP_USER_009"}})),
    );
    assert_eq!((ldap.status, ldap.json["scimType"].as_str()), (400, Some("invalidValue")), "{}", ldap.json);
    assert!(ldap.json["detail"].as_str().unwrap().contains("policy"));
    let nobody = app.call("GET", &format!("/Users?filter={}", enc(r#"userName eq "LDAP_USER_009""#)), None);
    assert_eq!(nobody.json["totalResults"], 0, "the refused create made no user");
    // By owner.display with a policy that exists: the user is created, as HID binds it.
    let by_name = app.call(
        "POST",
        "/Authenticator",
        Some(&json!({"policy": {"value": "AT_EMPOTP"}, "owner": {"display": "LDAP_USER_009"}})),
    );
    assert_eq!(by_name.status, 201, "{}", by_name.json);
    let ldap_user = by_name.json["owner"]["value"].as_str().unwrap().to_owned();
    assert_authenticator_shape(
        &by_name,
        &format!("{ldap_user}.AT_EMPOTP"),
        &ldap_user,
        "LDAP_USER_009",
        "AT_EMPOTP",
    );

    // Replace an Authenticator: security question answers (11338.AT_EMPQA) and a password
    // (10275.AT_EMPPWD, here user12345's).
    let empqa_answers = |first: &str| {
        json!([{"prompt": {"display": "In what town was your first job?", "value": "PR_1ST_JOB"}, "answer": first},
               {"prompt": {"display": "Enter a memorable word (greater than 8 chars)", "value": "PR_MEMWRD"},
                "answer": "memorable word"},
               {"prompt": {"display": "Color of your first car", "value": "PR_CAR_CLR"}, "answer": "purple"}])
    };
    let empqa = app.call(
        "POST",
        "/Authenticator",
        Some(&json!({"owner": {"value": my_user}, "policy": {"value": "AT_EMPQA"},
                     QUESTIONS: {"prompts": empqa_answers("Paris")}})),
    );
    assert_eq!(empqa.status, 201, "{}", empqa.json);
    let replaced = app.call(
        "PUT",
        &format!("/Authenticator/{my_user}.AT_EMPQA"),
        Some(&json!({"schemas": [QUESTIONS],
                     QUESTIONS: {"prompts": empqa_answers("London"), "promptsRequiredForCreation": "3"}})),
    );
    assert_eq!(replaced.status, 200, "{}", replaced.json);
    assert_authenticator_shape(&replaced, &format!("{my_user}.AT_EMPQA"), &my_user, "myUser", "AT_EMPQA");
    assert_eq!(
        replaced.json[QUESTIONS]["prompts"][0],
        json!({"prompt": {"display": "In what town was your first job?", "value": "PR_1ST_JOB"}})
    );
    assert!(!replaced.json.to_string().contains("London") && !replaced.json.to_string().contains("answer"));
    let emppwd = app.call(
        "POST",
        "/Authenticator",
        Some(&json!({"owner": {"value": u12345}, "policy": {"value": "AT_EMPPWD"}, PASSWORD: {"password": "first-pass"}})),
    );
    assert_eq!(emppwd.status, 201, "{}", emppwd.json);
    let new_password = app.call(
        "PUT",
        &format!("/Authenticator/{u12345}.AT_EMPPWD"),
        Some(&json!({"schemas": [AUTHENTICATOR, PASSWORD], PASSWORD: {"username": "user12345", "password": "apqm2687"}})),
    );
    assert_eq!(new_password.status, 200, "{}", new_password.json);
    assert_authenticator_shape(
        &new_password,
        &format!("{u12345}.AT_EMPPWD"),
        &u12345,
        "user12345",
        "AT_EMPPWD",
    );
    assert_eq!(new_password.json[PASSWORD], json!({"username": "user12345"}));
    // The new password verifies, the old one no longer does.
    let verify = |id: &str, response: &str| {
        action_answer(&app.call(
            "POST",
            &format!("/Authenticator/{id}"),
            Some(&action("VERIFY", json!([{"name": "RESPONSE", "value": response}]))),
        ))
    };
    done(&verify(&format!("{u12345}.AT_EMPPWD"), "apqm2687"));
    assert_eq!(verify(&format!("{u12345}.AT_EMPPWD"), "first-pass")["REQUEST.REASON"], "1");

    // Search for an Authenticator: owner.value eq (a bare number), and id eq with `and`.
    let search = |filter: &str| {
        let found = app.call("POST", "/Authenticator/.search", Some(&json!({"filter": filter})));
        assert_eq!(found.status, 200, "{filter}: {}", found.json);
        let mut ids: Vec<String> = found.json["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(
        search(&format!("owner.value eq {jdoe}")),
        vec![format!("{jdoe}.AT_CUSTOTP"), format!("{jdoe}.AT_CUSTQA")]
    );
    assert_eq!(
        search(&format!(r#"owner.value eq {jdoe} and id eq "{jdoe}.AT_CUSTQA""#)),
        vec![format!("{jdoe}.AT_CUSTQA")]
    );

    // Get Challenge by User Code: /Authenticator/.AT_EMPOTP with USER.EXTERNALID.
    let empotp_mine = app.call(
        "POST",
        "/Authenticator",
        Some(&json!({"owner": {"value": my_user}, "policy": {"value": "AT_EMPOTP"}})),
    );
    assert_eq!(empotp_mine.status, 201);
    let challenge = action_answer(&app.call(
        "POST",
        "/Authenticator/.AT_EMPOTP",
        Some(&action(
            "USER-CHALLENGE",
            json!([{"name": "CHANNEL", "value": "CH_IIS"}, {"name": "USER.EXTERNALID", "value": "myUser"}]),
        )),
    ));
    done(&challenge);
    assert!(challenge.contains_key("CHALLENGE") && challenge.contains_key("CHALLENGE.ID"));

    // Get Challenge by Device: 12345.AT_EMPOTP, the device by its serial (its externalId).
    let serial_owner = app.call(
        "POST",
        "/Authenticator",
        Some(&json!({"owner": {"value": u12345}, "policy": {"value": "AT_EMPOTP"}})),
    );
    let serial_device = serial_owner.json[ENROLLMENT]["deviceId"].as_i64().unwrap();
    let patched = app.call(
        "PATCH",
        &format!("/OtpDevice/{serial_device}"),
        Some(&json!({"Operations": [{"op": "replace", "path": "externalId", "value": "14851787148870370719"}]})),
    );
    assert_eq!(patched.status, 200, "{}", patched.json);
    let by_device = action_answer(&app.call(
        "POST",
        &format!("/Authenticator/{u12345}.AT_EMPOTP"),
        Some(&action("DEVICE-CHALLENGE", json!([{"name": "DEVICE.EXTERNALID", "value": "14851787148870370719"}, {"name": "CHANNEL", "value": "CH_IIS"}]))),
    ));
    done(&by_device);

    // VERIFY (ours) with a code from oathtool, then the statistics show it.
    let code = oathtool(&["--totp", "-b", &custotp_secret]);
    let verified = verify(&format!("{jdoe}.AT_CUSTOTP"), &code);
    done(&verified);
    assert_eq!(verified["DEVICE.ID"], custotp_device.to_string());
    let after = app.call("GET", &format!("/Authenticator/{jdoe}.AT_CUSTOTP"), None);
    assert_eq!(after.json["statistics"]["totalSuccess"], 1);
    assert_eq!(after.json["lastSuccessfulDevice"]["value"], custotp_device.to_string());

    // Deliver Challenge: /Authenticator/.AT_TDS, the user by the body's id, the device by
    // DEVICE.ID.
    let tds = app.call(
        "POST",
        "/Authenticator",
        Some(&json!({"owner": {"value": payer}, "policy": {"value": "AT_TDS"}})),
    );
    assert_eq!(tds.status, 201, "{}", tds.json);
    let tds_device = tds.json[ENROLLMENT]["deviceId"].as_i64().unwrap().to_string();
    let delivered = action_answer(&app.call(
        "POST",
        "/Authenticator/.AT_TDS",
        Some(&json!({
            "schemas": [AUTHENTICATOR, ACTION],
            "id": format!("{payer}.AT_TDS"),
            ACTION: {"schemas": [ACTION], "attributes": [
                {"name": "tds", "value": "{amount, 400.00},{sortcode,20-30-90}, {account_to,1234-5678}"},
                {"name": "id", "value": format!("tenant.CH_TDS.AT_TDS.{tds_device}")},
                {"name": "correlationid", "value": "some_correlation_id"},
                {"name": "DEVICE.ID", "value": tds_device}],
                "action": "DELIVER-CHALLENGE"}
        })),
    ));
    done(&delivered);
    assert!(!delivered["CHALLENGE.ID"].is_empty());
    let outbox = app.call("GET", "/Outbox", None);
    let message = outbox.json["Resources"][0]["message"].as_str().unwrap().to_owned();
    assert!(message.starts_with("{amount, 400.00}"), "{message}");

    // Reset Authentication Fail Counter: 12345.AT_TDS answers 200.
    let tds_mine = app.call(
        "POST",
        "/Authenticator",
        Some(&json!({"owner": {"value": u12345}, "policy": {"value": "AT_CUSTOTP"}})),
    );
    assert_eq!(tds_mine.status, 201);
    let reset = app.call(
        "POST",
        &format!("/Authenticator/{u12345}.AT_CUSTOTP"),
        Some(&json!({"schemas": [ACTION], ACTION: {"action": "RESET"}})),
    );
    assert_eq!(reset.status, 200, "{}", reset.json);

    // Register OOB (17606.AT_OOBEML), then Unregister OOB by USER.EXTERNALID.
    let registered = app.call(
        "POST",
        "/Authenticator",
        Some(&json!({
            "schemas": [AUTHENTICATOR],
            ACTION: {"action": "REGISTER-OOB", "attributes": [{"name": "OOB_DEVICETYPE_CODE", "value": "DT_OOBEML"}]},
            "activationCode": "1234",
            "owner": {"value": user1, "display": "user1"},
            "policy": {"value": "AT_OOBEML"}
        })),
    );
    assert_eq!(registered.status, 201, "{}", registered.json);
    assert_authenticator_shape(&registered, &format!("{user1}.AT_OOBEML"), &user1, "user1", "AT_OOBEML");
    assert_eq!(registered.json["activationCode"], "1234");
    let unregistered = app.call(
        "POST",
        &format!("/Authenticator/{user1}.AT_OOBEML"),
        Some(&action("UNREGISTER-OOB", json!([{"name": "USER.EXTERNALID", "value": "user1"}]))),
    );
    assert_eq!(unregistered.status, 200, "{}", unregistered.json);
    assert_eq!(app.call("GET", &format!("/Authenticator/{user1}.AT_OOBEML"), None).status, 404);

    // Delete an Authenticator: 204 No content, and its device goes with it.
    let deleted = app.call("DELETE", &format!("/Authenticator/{jdoe}.AT_CUSTOTP"), None);
    assert_eq!(deleted.status, 204);
    assert_eq!(app.call("GET", &format!("/OtpDevice/{custotp_device}"), None).status, 404);
}

/// DELIVER-CHALLENGE with a CIBA `correlationid`, over HTTP: a loopback callback server gets
/// exactly one POST with the bearer token and `auth_req_id` after a successful VERIFY, none after
/// a failed one; a failing callback leaves the verification standing (audited, logged).
#[test]
fn a_verified_delivered_challenge_pings_the_ciba_callback_once() {
    let callback = Gateway::start();
    let state = TempDir::new("ciba");
    // Two transactions to one number within seconds: no cooldown here (tests/tests/hardening.rs
    // has the send budgets).
    let app =
        App::start(&state.0, &[("ciba_notification_url", &callback.url), ("send_cooldown_seconds", "0")]);
    let owner = user(&app, json!({"userName": "payer", "phoneNumbers": [{"value": "+34600123456"}]}));
    let created = app.call(
        "POST",
        "/Authenticator",
        Some(&json!({"owner": {"value": owner}, "policy": {"value": "AT_TDS"}})),
    );
    assert_eq!(created.status, 201, "{}", created.json);
    let id = format!("{owner}.AT_TDS");
    let deliver = |correlation: &str| {
        let answer = action_answer(&app.call(
            "POST",
            &format!("/Authenticator/{id}"),
            Some(&action(
                "DELIVER-CHALLENGE",
                json!([{"name": "tds", "value": "pay 400.00 to 1234-5678"},
                                                    {"name": "correlationid", "value": correlation}]),
            )),
        ));
        done(&answer);
        let outbox = app.call("GET", "/Outbox", None);
        let message = outbox.json["Resources"][0]["message"].as_str().unwrap().to_owned();
        (answer["CHALLENGE.ID"].clone(), message.rsplit(' ').next().unwrap().to_owned())
    };
    let verify = |challenge: &str, code: &str| {
        action_answer(&app.call(
            "POST",
            &format!("/Authenticator/{id}"),
            Some(&action(
                "VERIFY",
                json!([{"name": "CHALLENGE.ID", "value": challenge}, {"name": "RESPONSE", "value": code}]),
            )),
        ))
    };
    let (challenge, code) = deliver("Tok-7f3a9c:req-1");
    assert_eq!(verify(&challenge, "000000")["REQUEST.STATUS"], "0");
    assert!(callback.received.lock().unwrap().is_empty(), "no ping after a failure");
    done(&verify(&challenge, &code));
    assert_eq!(*callback.received.lock().unwrap(), vec![json!({"auth_req_id": "req-1"})]);
    assert_eq!(*callback.authorization.lock().unwrap(), vec![Some("Bearer Tok-7f3a9c".to_owned())]);
    assert_eq!(verify(&challenge, &code)["REQUEST.STATUS"], "0", "single use");
    assert_eq!(callback.received.lock().unwrap().len(), 1, "pinged once");

    // The callback fails: the verification stands, the failure is audited and logged.
    callback.status.store(503, std::sync::atomic::Ordering::SeqCst);
    let (challenge, code) = deliver(":req-2");
    done(&verify(&challenge, &code));
    assert_eq!(callback.received.lock().unwrap().len(), 2);
    assert_eq!(callback.authorization.lock().unwrap()[1], None, "no token, no Authorization");
    let failed =
        scim_otp_tests::query_store(&state.0, "SELECT count(*) FROM audit WHERE action = 'ciba-ping-failed'");
    assert_eq!(failed, vec![vec![json!(1)]]);
    assert!(
        app.log().iter().any(|l| l.contains("CIBA ping") && l.contains("503") && !l.contains("Tok-7f3a9c"))
    );
    let after = app.call("GET", &format!("/Authenticator/{id}"), None);
    assert_eq!(after.json["statistics"]["totalSuccess"], 2);
}
