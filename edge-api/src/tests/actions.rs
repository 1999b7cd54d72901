//! HID's named actions (SPEC §14): challenges, VERIFY in both views, RESET, security
//! questions, REGISTER-/UNREGISTER-OOB and DELIVER-CHALLENGE's CIBA ping.

use super::*;
use std::collections::BTreeMap;

/// An action's answer attributes by name, its HTTP status asserted 200.
pub(super) fn act(
    api: &Api,
    id: &str,
    action: &str,
    attributes: &[(&str, &str)],
) -> BTreeMap<String, String> {
    let (status, answer) =
        api.call("POST", &format!("/Authenticator/{id}"), Some(action_body(action, attributes)));
    assert_eq!(status, 200, "{action}: {answer}");
    assert_eq!(answer["schemas"], json!([ACTION]));
    answer["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert_eq!((a["type"].as_str(), a["readOnly"].as_bool()), (Some("string"), Some(false)), "{a}");
            (a["name"].as_str().unwrap().to_owned(), a["value"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

/// `REQUEST.STATUS` and `REQUEST.REASON` of an answer.
pub(super) fn outcome(answer: &BTreeMap<String, String>) -> (&str, &str) {
    (answer["REQUEST.STATUS"].as_str(), answer["REQUEST.REASON"].as_str())
}

/// The newest message of the dev outbox and the code at its end.
pub(super) fn last_message(api: &Api) -> (String, String) {
    let message: String =
        api.db.query_row("SELECT message FROM outbox ORDER BY id DESC LIMIT 1", [], |r| r.get(0)).unwrap();
    let code = message.rsplit(' ').next().unwrap().to_owned();
    (message, code)
}

fn read(api: &Api, id: &str) -> Value {
    let (status, found) = api.call("GET", &format!("/Authenticator/{id}"), None);
    assert_eq!(status, 200, "{found}");
    found
}

fn device_status(api: &Api, device: i64) -> String {
    let (_, found) = api.call("GET", &format!("/OtpDevice/{device}"), None);
    found["status"].as_str().unwrap().to_owned()
}

/// Everything an action could change.
fn everything(api: &Api) -> String {
    ["users", "authenticators", "devices", "challenges"].map(|t| api.rows(t)).join("\n--\n")
}

#[test]
fn verify_counts_in_both_views_locks_at_max_fails_and_reset_ends_it() {
    let api = Api::new();
    let user = new_user(&api, json!({"userName": "jdoe"}));
    let (status, created) = api.call(
        "POST",
        "/Authenticator",
        Some(json!({"owner": {"value": user}, "policy": {"value": "AT_EMPOTP"}})),
    );
    assert_eq!(status, 201, "{created}");
    let device = created[ENROLLMENT_EXT]["deviceId"].as_i64().unwrap();
    let secret = secret_of(created[ENROLLMENT_EXT]["otpauthUri"].as_str().unwrap());
    let id = format!("{user}.AT_EMPOTP");

    // A TOTP authenticator has nothing to send: CHALLENGE is empty, CHALLENGE.ID names it.
    let challenge = act(&api, &id, "USER-CHALLENGE", &[("CHANNEL", "CH_IIS")]);
    assert_eq!((outcome(&challenge), challenge["CHALLENGE"].as_str()), (("1", "-1"), ""));
    let code = api.code(&secret);
    let ok = act(&api, &id, "VERIFY", &[("RESPONSE", &code), ("CHALLENGE.ID", &challenge["CHALLENGE.ID"])]);
    assert_eq!((outcome(&ok), ok["DEVICE.ID"].as_str()), (("1", "-1"), device.to_string().as_str()));
    assert_eq!(ok["REQUEST.ERROR_MESSAGE"], "");
    // Single use across both dialects: the same code again is a wrong response, here and there.
    assert_eq!(outcome(&act(&api, &id, "VERIFY", &[("RESPONSE", &code)])), ("0", "1"));
    assert_eq!(api.respond(device, &code)["success"], false);
    assert_eq!(device_status(&api, device), "V", "the first verification enabled it");
    let stats = &read(&api, &id)["statistics"];
    assert_eq!((stats["totalSuccess"].as_u64(), stats["totalFailed"].as_u64()), (Some(1), Some(2)));

    // AT_EMPOTP locks at 5 consecutive failures, counted across both dialects (two so far).
    api.now.set(api.now.get() + 60);
    assert_eq!(api.respond(device, "000000")["success"], false);
    assert_eq!(outcome(&act(&api, &id, "VERIFY", &[("RESPONSE", "000000")])), ("0", "1"));
    let locked = act(&api, &id, "VERIFY", &[("RESPONSE", "000000")]);
    assert_eq!(outcome(&locked), ("0", "1"), "the failure that locks is a wrong response");
    let read_locked = read(&api, &id);
    assert_eq!(read_locked["status"]["status"], "DISABLED");
    assert_eq!(read_locked["status"]["active"], false);
    assert_eq!(device_status(&api, device), "L");
    // Locked: even the right code is refused, uncounted, with reason 3 and words for a person.
    let code = api.code(&secret);
    let refused = act(&api, &id, "VERIFY", &[("RESPONSE", &code)]);
    assert_eq!(outcome(&refused), ("0", "3"));
    assert!(refused["REQUEST.ERROR_MESSAGE"].contains("Locked"), "{refused:?}");
    assert_eq!(read(&api, &id)["statistics"]["totalFailed"], read_locked["statistics"]["totalFailed"]);
    let (_, spanish, _) = api.call_as(
        ADMIN,
        "POST",
        &format!("/Authenticator/{id}"),
        Some(action_body("VERIFY", &[("RESPONSE", &code)])),
        &[("accept-language", "es")],
    );
    assert_eq!(
        spanish["attributes"][2]["value"],
        "Bloqueado tras demasiados intentos fallidos; un administrador puede restablecerlo."
    );

    // RESET: enabled again, its device V with no failures, and the code checks.
    let (status, reset) = api.call("POST", &format!("/Authenticator/{id}"), Some(action_body("RESET", &[])));
    assert_eq!((status, reset["status"]["status"].as_str()), (200, Some("ENABLED")), "{reset}");
    assert_eq!(reset["statistics"]["consecutiveFailed"], 0);
    assert_eq!(device_status(&api, device), "V");
    assert_eq!(outcome(&act(&api, &id, "VERIFY", &[("RESPONSE", &code)])), ("1", "-1"));
    assert_eq!(api.audit_count("authenticator-reset"), 1);
}

#[test]
fn an_oob_challenge_is_sent_to_the_owner_and_its_code_verifies_once() {
    let api = Api::new();
    new_user(&api, json!({"userName": "myUser", "emails": [{"value": "jane@example.com", "primary": true}]}));
    let (status, _) = api.call(
        "POST",
        "/Authenticator",
        Some(json!({"owner": {"display": "myUser"}, "policy": {"value": "AT_OOBEML"}})),
    );
    assert_eq!(status, 201);
    // The seed's request: no user id in the path, USER.EXTERNALID names the user.
    let sent =
        act(&api, ".AT_OOBEML", "USER-CHALLENGE", &[("CHANNEL", "CH_IIS"), ("USER.EXTERNALID", "myUser")]);
    assert_eq!((outcome(&sent), sent["CHALLENGE"].as_str()), (("1", "-1"), "j***@example.com"));
    let (_, code) = last_message(&api);
    let to: String =
        api.db.query_row("SELECT recipient FROM outbox ORDER BY id DESC LIMIT 1", [], |r| r.get(0)).unwrap();
    assert_eq!(to, "jane@example.com");
    let by_name = [("USER.EXTERNALID", "myUser")];
    let wrong = act(&api, ".AT_OOBEML", "VERIFY", &[by_name[0], ("RESPONSE", "000000")]);
    assert_eq!(outcome(&wrong), ("0", "1"));
    let ok = act(
        &api,
        ".AT_OOBEML",
        "VERIFY",
        &[by_name[0], ("RESPONSE", &code), ("CHALLENGE.ID", &sent["CHALLENGE.ID"])],
    );
    assert_eq!(outcome(&ok), ("1", "-1"));
    // The challenge is closed and the code used: neither verifies again.
    let again = act(
        &api,
        ".AT_OOBEML",
        "VERIFY",
        &[by_name[0], ("RESPONSE", &code), ("CHALLENGE.ID", &sent["CHALLENGE.ID"])],
    );
    assert_eq!(outcome(&again), ("0", "7"));
    assert_eq!(outcome(&act(&api, ".AT_OOBEML", "VERIFY", &[by_name[0], ("RESPONSE", &code)])), ("0", "7"));

    // DEVICE-CHALLENGE by the device's serial; a device that is not there is reason 7.
    let (_, listing) = api.call("GET", "/OtpDevice?filter=user%20eq%20%22myUser%22", None);
    let serial = listing["Resources"][0]["name"].as_str().unwrap().to_owned();
    let by_serial =
        act(&api, ".AT_OOBEML", "DEVICE-CHALLENGE", &[by_name[0], ("DEVICE.EXTERNALID", &serial)]);
    assert_eq!(outcome(&by_serial), ("1", "-1"));
    let nobody = act(&api, ".AT_OOBEML", "DEVICE-CHALLENGE", &[by_name[0], ("DEVICE.EXTERNALID", "NOPE")]);
    assert_eq!(outcome(&nobody), ("0", "7"));
    // Without a gateway or the outbox the code could reach nobody: reason 8, nothing pending.
    let before = api.delivered.borrow().len();
    api.gateway_up.set(false);
    let mut settings = api.settings.clone();
    settings.delivery_webhook =
        Some(Webhook { url: "http://127.0.0.1:9/send".into(), host: "127.0.0.1".into() });
    let (status, failed, _) = {
        let request = ApiRequest {
            method: "POST".into(),
            path: format!("{BASE}/Authenticator/.AT_OOBEML"),
            query: String::new(),
            headers: vec![
                ("authorization".into(), basic(ADMIN)),
                ("content-type".into(), "application/scim+json".into()),
            ],
            body: serde_json::to_vec(&action_body("USER-CHALLENGE", &by_name)).unwrap(),
            origin: Origin::parse("http://127.0.0.1:3000"),
            client: "127.0.0.1:40000".into(),
        };
        let response = api.handle(&request, Ok(settings));
        (response.status, serde_json::from_slice::<Value>(&response.body).unwrap(), ())
    };
    assert_eq!(status, 200);
    assert_eq!(failed["attributes"][1]["value"], "8", "{failed}");
    assert_eq!(api.delivered.borrow().len(), before + 1, "it was tried");
}

#[test]
fn security_questions_ask_random_prompts_and_only_those_answer() {
    let api = Api::new();
    let user = new_user(&api, json!({"userName": "qa"}));
    let answers = [("PR_SIBLING", "Sibling  Name"), ("PR_NICK", "Bobo the Great"), ("PR_ANIMAL", "Teddy")];
    let prompts: Vec<Value> =
        answers.iter().map(|(p, a)| json!({"prompt": {"value": p}, "answer": a})).collect();
    let (status, created) = api.call(
        "POST",
        "/Authenticator",
        Some(json!({"owner": {"value": user}, "policy": {"value": "AT_CUSTQA"}, QUESTIONS_EXT: {"prompts": prompts}})),
    );
    assert_eq!(status, 201, "{created}");
    let id = format!("{user}.AT_CUSTQA");
    let (_, policy) = api.call("GET", "/Policy/Authenticator/AT_CUSTQA", None);
    let asked_count = policy["promptsAskedAtValidation"].as_u64().unwrap() as usize;
    assert!(asked_count < answers.len(), "the test needs a choice to be made");

    let ask = || {
        let challenge = act(&api, &id, "USER-CHALLENGE", &[]);
        assert_eq!(outcome(&challenge), ("1", "-1"));
        let shown: Vec<Value> = serde_json::from_str(&challenge["CHALLENGE"]).unwrap();
        let codes: Vec<String> = shown.iter().map(|p| p["value"].as_str().unwrap().to_owned()).collect();
        assert!(shown.iter().all(|p| !p["display"].as_str().unwrap().is_empty()), "{shown:?}");
        (challenge["CHALLENGE.ID"].clone(), codes)
    };
    // Random: over 30 askings, each after the one before expired, more than one set of prompts
    // comes up (all alike: p = 3^-29). While one is open, asking again asks the same
    // (`questions_are_not_re_rolled_while_a_challenge_is_open`).
    let mut sets = std::collections::BTreeSet::new();
    for _ in 0..30 {
        api.now.set(api.now.get() + api.settings.challenge_ttl + 1);
        let (_, mut codes) = ask();
        assert_eq!(codes.len(), asked_count);
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), asked_count, "no prompt twice");
        sets.insert(codes);
    }
    assert!(sets.len() > 1, "always the same prompts: {sets:?}");

    // The asked ones answered, in other case and spacing: a success. The answers are never
    // shown, logged or stored as given.
    let (challenge, codes) = ask();
    let given: Vec<(String, String)> = codes
        .iter()
        .map(|code| {
            let answer = answers.iter().find(|(p, _)| p == code).unwrap().1;
            (format!("ANSWER.{code}"), format!("  {}  ", answer.to_uppercase().replace(' ', "   ")))
        })
        .collect();
    let mut attributes: Vec<(&str, &str)> = given.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    attributes.push(("CHALLENGE.ID", &challenge));
    assert_eq!(outcome(&act(&api, &id, "VERIFY", &attributes)), ("1", "-1"));
    // That asking is closed: the same answers again find nothing to check.
    assert_eq!(outcome(&act(&api, &id, "VERIFY", &attributes)), ("0", "7"));

    // Right answers to prompts that were not asked count for nothing: a failure.
    let (challenge, codes) = ask();
    let other = answers.iter().find(|(p, _)| !codes.iter().any(|c| c == p)).unwrap();
    let not_asked = format!("ANSWER.{}", other.0);
    let wrong = act(&api, &id, "VERIFY", &[(&not_asked, other.1), ("CHALLENGE.ID", &challenge)]);
    assert_eq!(outcome(&wrong), ("0", "1"));
    let read = read(&api, &id);
    assert_eq!(
        (read["statistics"]["totalSuccess"].as_u64(), read["statistics"]["totalFailed"].as_u64()),
        (Some(1), Some(1))
    );
    let everything_shown = format!("{read}{:?}", api.log.borrow());
    for (_, answer) in answers {
        assert!(!everything_shown.contains(answer), "{answer} shown");
        assert!(!api.rows("authenticators").contains(answer) && !api.rows("audit").contains(answer));
    }
}

#[test]
fn register_oob_shows_its_activation_code_once_and_the_first_verify_enables_the_device() {
    let api = Api::new();
    let user = new_user(&api, json!({"userName": "user1", "emails": [{"value": "user1@example.com"}]}));
    let register = |body: Value| api.call("POST", "/Authenticator", Some(body));
    let seed = |code: Value, dt: &str| {
        json!({"schemas": ["urn:hid:scim:api:idp:2.0:Authenticator"],
               ACTION: {"action": "REGISTER-OOB", "attributes": [{"name": "OOB_DEVICETYPE_CODE", "value": dt}]},
               "activationCode": code, "owner": {"value": user.to_string(), "display": "user1"},
               "policy": {"value": "AT_OOBEML"}})
    };
    let before = everything(&api);
    for (body, attribute) in [
        (seed(json!("12"), "DT_OOBEML"), "activationCode"),
        (seed(json!("12ab"), "DT_OOBEML"), "activationCode"),
        (seed(json!("1234"), "DT_OOBSMS"), "OOB_DEVICETYPE_CODE"),
        (seed(json!("1234"), "DT_PUSH"), "OOB_DEVICETYPE_CODE"),
    ] {
        let (status, error) = register(body);
        assert_eq!((status, error["scimType"].as_str()), (400, Some("invalidValue")), "{error}");
        assert!(error["detail"].as_str().unwrap().contains(attribute), "{error}");
        assert_eq!(everything(&api), before);
    }
    let (status, created) = register(seed(json!("1234"), "DT_OOBEML"));
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        (created["id"].as_str(), created["activationCode"].as_str()),
        (Some(format!("{user}.AT_OOBEML").as_str()), Some("1234"))
    );
    let device = created[ENROLLMENT_EXT]["deviceId"].as_i64().unwrap();
    assert_eq!(created[ENROLLMENT_EXT]["activationCode"], "1234", "where the schema says it is, too");
    assert_eq!(device_status(&api, device), "C");
    let id = format!("{user}.AT_OOBEML");
    let again = read(&api, &id);
    assert!(again.get("activationCode").is_none() && again.get(ENROLLMENT_EXT).is_none(), "shown once");
    assert!(!api.rows("devices").contains("1234"), "stored as a digest");
    assert_eq!(outcome(&act(&api, &id, "VERIFY", &[("RESPONSE", "1234")])), ("1", "-1"));
    assert_eq!(device_status(&api, device), "V", "enabled by its first verification");
    assert_eq!(outcome(&act(&api, &id, "VERIFY", &[("RESPONSE", "1234")])), ("0", "7"), "single use");

    // Without one, six random digits; UNREGISTER-OOB removes it with its device.
    let other = new_user(&api, json!({"userName": "user2", "phoneNumbers": [{"value": "+34600123456"}]}));
    let mut body = seed(Value::Null, "DT_OOBSMS");
    body["owner"] = json!({"value": other});
    body["policy"] = json!({"value": "AT_OOBSMS"});
    let (status, created) = register(body);
    assert_eq!(status, 201, "{created}");
    let code = created["activationCode"].as_str().unwrap();
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    let second = created[ENROLLMENT_EXT]["deviceId"].as_i64().unwrap();
    let (status, _) = api.call(
        "POST",
        "/Authenticator/.AT_OOBSMS",
        Some(action_body("UNREGISTER-OOB", &[("USER.EXTERNALID", "user2")])),
    );
    assert_eq!(status, 200);
    assert_eq!(api.call("GET", &format!("/OtpDevice/{second}"), None).0, 404);
    assert_eq!(api.call("GET", &format!("/Authenticator/{other}.AT_OOBSMS"), None).0, 404);
}

#[test]
fn a_delivered_challenge_pings_ciba_once_after_its_verification() {
    let mut api = Api::new();
    api.settings.ciba_notification =
        Some(Webhook { url: "http://127.0.0.1:9/ciba".into(), host: "127.0.0.1".into() });
    let user = new_user(&api, json!({"userName": "payer", "phoneNumbers": [{"value": "+34600123456"}]}));
    let (status, created) = api.call(
        "POST",
        "/Authenticator",
        Some(json!({"owner": {"value": user}, "policy": {"value": "AT_TDS"}})),
    );
    assert_eq!(status, 201, "{created}");
    let device = created[ENROLLMENT_EXT]["deviceId"].as_i64().unwrap();
    let deliver = |correlation: &str| {
        let mut body = action_body(
            "DELIVER-CHALLENGE",
            &[
                ("tds", "{amount, 400.00},{sortcode,20-30-90}"),
                ("id", "tenant.CH_TDS.AT_TDS.1"),
                ("correlationid", correlation),
                ("DEVICE.ID", &device.to_string()),
            ],
        );
        body["id"] = json!(format!("{user}.AT_TDS"));
        let (status, answer) = api.call("POST", "/Authenticator/.AT_TDS", Some(body));
        assert_eq!(status, 200, "{answer}");
        (answer["attributes"][1]["value"].as_str().unwrap().to_owned(), last_message(&api))
    };
    let (challenge, delivery) = deliver("secret-token:req-1");
    assert!(delivery.0.starts_with("{amount, 400.00}"), "{}", delivery.0);
    let id = format!("{user}.AT_TDS");
    assert_eq!(
        outcome(&act(&api, &id, "VERIFY", &[("RESPONSE", "000000"), ("CHALLENGE.ID", &challenge)])),
        ("0", "1")
    );
    assert!(api.pinged.borrow().is_empty(), "no ping after a failure");
    assert_eq!(
        outcome(&act(&api, &id, "VERIFY", &[("RESPONSE", &delivery.1), ("CHALLENGE.ID", &challenge)])),
        ("1", "-1")
    );
    assert_eq!(*api.pinged.borrow(), vec![(Some("secret-token".to_owned()), "req-1".to_owned())]);
    assert!(!api.rows("challenges").contains("secret-token"), "the token is sealed at rest");
    assert_eq!(api.audit_count("ciba-ping"), 1);

    // A failing callback is logged and audited; the verification stands.
    let (challenge, delivery) = deliver(":req-2");
    api.gateway_up.set(false);
    let ok = act(&api, &id, "VERIFY", &[("RESPONSE", &delivery.1), ("CHALLENGE.ID", &challenge)]);
    assert_eq!(outcome(&ok), ("1", "-1"));
    assert_eq!(api.pinged.borrow().last(), Some(&(None, "req-2".to_owned())));
    assert_eq!(api.audit_count("ciba-ping-failed"), 1);
    assert!(api.log.borrow().iter().any(|l| l.contains("CIBA ping") && !l.contains("secret")));
    api.gateway_up.set(true);

    // A plain correlation id asks for no ping; a CIBA one without the callback set is a 400.
    let pings = api.pinged.borrow().len();
    let (challenge, delivery) = deliver("some_correlation_id");
    assert_eq!(
        outcome(&act(&api, &id, "VERIFY", &[("RESPONSE", &delivery.1), ("CHALLENGE.ID", &challenge)])),
        ("1", "-1")
    );
    assert_eq!(api.pinged.borrow().len(), pings);
    api.settings.ciba_notification = None;
    let before = everything(&api);
    let (status, error) = api.call(
        "POST",
        &format!("/Authenticator/{id}"),
        Some(action_body("DELIVER-CHALLENGE", &[("correlationid", "t:r")])),
    );
    assert_eq!((status, error["scimType"].as_str()), (400, Some("invalidValue")), "{error}");
    assert_eq!(everything(&api), before);
}

#[test]
fn bad_actions_get_a_scim_error_and_change_nothing() {
    let api = Api::new();
    let user = new_user(&api, json!({"userName": "jdoe"}));
    let (status, _) = api.call(
        "POST",
        "/Authenticator",
        Some(json!({"owner": {"value": user}, "policy": {"value": "AT_EMPOTP"}})),
    );
    assert_eq!(status, 201);
    let id = format!("{user}.AT_EMPOTP");
    let before = everything(&api);
    for (path, body, status, scim_type) in [
        (id.clone(), json!({ACTION: {"action": "DANCE"}}), 400, Some("invalidValue")),
        (id.clone(), json!({"schemas": [ACTION]}), 400, Some("invalidValue")),
        (id.clone(), action_body("VERIFY", &[]), 400, Some("invalidValue")),
        (
            id.clone(),
            action_body("VERIFY", &[("RESPONSE", "1"), ("CHALLENGE.ID", "x")]),
            400,
            Some("invalidValue"),
        ),
        (id.clone(), action_body("DEVICE-CHALLENGE", &[("DEVICE.ID", "x")]), 400, Some("invalidValue")),
        (id.clone(), action_body("DELIVER-CHALLENGE", &[]), 400, Some("invalidValue")),
        (id.clone(), action_body("UNREGISTER-OOB", &[]), 400, Some("invalidValue")),
        (id.clone(), action_body("REGISTER-OOB", &[]), 400, Some("invalidValue")),
        (".AT_EMPOTP".into(), action_body("USER-CHALLENGE", &[]), 404, None),
        (".AT_EMPOTP".into(), action_body("USER-CHALLENGE", &[("USER.EXTERNALID", "nobody")]), 404, None),
        (format!("{user}.AT_HOTP"), action_body("USER-CHALLENGE", &[]), 404, None),
        ("x.y".into(), action_body("USER-CHALLENGE", &[]), 404, None),
    ] {
        let (got, error) = api.call("POST", &format!("/Authenticator/{path}"), Some(body.clone()));
        assert_eq!((got, error["scimType"].as_str()), (status, scim_type), "{path} {body} → {error}");
        assert_eq!(everything(&api), before, "{body} changed something");
    }
    // A reader may challenge and verify, not reset or unregister.
    for action in ["RESET", "UNREGISTER-OOB"] {
        let (status, _, _) =
            api.call_as(READER, "POST", &format!("/Authenticator/{id}"), Some(action_body(action, &[])), &[]);
        assert_eq!(status, 403, "{action}");
    }
    let (status, _, _) = api.call_as(
        READER,
        "POST",
        &format!("/Authenticator/{id}"),
        Some(action_body("USER-CHALLENGE", &[])),
        &[],
    );
    assert_eq!(status, 200);
}
