//! The admin's workflows over real HTTP, against the compiled component served by the runner.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use scim_otp_tests::{App, Gateway, TempDir, now, secret_of, together};
use serde_json::json;
use shared::Algorithm;
use shared::otp::{CodeParams, format_code, totp};
use std::sync::Arc;
use std::sync::atomic::Ordering;

fn totp_code(uri: &str) -> String {
    format_code(totp(&secret_of(uri), CodeParams { algorithm: Algorithm::Sha1, digits: 6 }, 30, now()), 6)
}

#[test]
fn totp_device_lifecycle_over_http() {
    let state = TempDir::new("lifecycle");
    let app = App::start(&state.0, &[]);
    assert!(!app.password.is_empty(), "the runner generated an admin login");

    let created = app.call("POST", "/OtpDevice", Some(&json!({"type": "TOTP", "user": "dilbert"})));
    assert_eq!(created.status, 201, "{}", created.json);
    let id = created.json["id"].as_i64().unwrap();
    assert_eq!(created.header("location"), Some(format!("{}/OtpDevice/{id}", app.base).as_str()));
    let uri = created.json["otpauthUri"].as_str().unwrap().to_owned();

    let challenge = app.call("GET", &format!("/OtpDevice/{id}/requestChallenge"), None);
    assert_eq!(challenge.json, json!({"cell": "PIN", "cardNumber": created.json["name"]}));
    let result = app.call(
        "POST",
        &format!("/OtpDevice/{id}/responseChallenge"),
        Some(&json!({"pin": totp_code(&uri)})),
    );
    assert_eq!(result.json, json!({"success": true, "locked": false}));

    let current = app.call("GET", &format!("/OtpDevice/{id}"), None);
    let etag = current.header("etag").unwrap().to_owned();
    let (user, password) = app.admin();
    let enable = json!({"Operations": [{"op": "replace", "path": "status", "value": "V"}]});
    let enabled = app.send(
        "PATCH",
        &format!("/OtpDevice/{id}"),
        Some(&enable),
        Some((&user, &password)),
        &[("if-match", &etag)],
    );
    assert_eq!((enabled.status, enabled.json["status"].as_str()), (200, Some("V")));
    let stale = app.send(
        "PATCH",
        &format!("/OtpDevice/{id}"),
        Some(&enable),
        Some((&user, &password)),
        &[("if-match", &etag)],
    );
    assert_eq!(stale.status, 412);

    let found =
        app.call("GET", "/OtpDevice?filter=user%20eq%20%22dilbert%22%20and%20status%20eq%20%22V%22", None);
    assert_eq!(found.json["totalResults"], 1);
    let soffid = app.call("GET", &format!("{}/soffid/webservice/scim2/v1/OtpDevice/{id}", app.origin), None);
    assert_eq!((soffid.status, soffid.json["id"].as_i64()), (200, Some(id)));
    assert!(
        soffid.json["meta"]["location"].as_str().unwrap().contains("/soffid/webservice/scim2/v1/OtpDevice/")
    );

    assert_eq!(app.call("DELETE", &format!("/OtpDevice/{id}"), None).status, 204);
    assert_eq!(app.call("GET", &format!("/OtpDevice/{id}"), None).status, 404);
}

#[test]
fn data_and_login_survive_a_restart() {
    let state = TempDir::new("restart");
    let app = App::start(&state.0, &[]);
    let password = app.password.clone();
    let id = app
        .call("POST", "/OtpDevice", Some(&json!({"type": "SMS", "user": "agatha", "phone": "666555444"})))
        .json["id"]
        .clone();
    app.stop();
    let again = App::start(&state.0, &[]);
    assert_eq!(again.password, password, "the generated login is kept in the state directory");
    let device = again.call("GET", &format!("/OtpDevice/{id}"), None);
    assert_eq!((device.status, device.json["name"].as_str()), (200, Some("SMS message to 66*****44")));
}

#[test]
fn email_codes_go_through_the_delivery_webhook() {
    let gateway = Gateway::start();
    let state = TempDir::new("webhook");
    let app = App::start(&state.0, &[("delivery_webhook_url", &gateway.url)]);
    let id = app
        .call(
            "POST",
            "/OtpDevice",
            Some(&json!({"type": "EMAIL", "user": "dilbert", "email": "dilbert@soffid.com"})),
        )
        .json["id"]
        .as_i64()
        .unwrap();

    gateway.status.store(500, Ordering::SeqCst);
    let failed = app.call("GET", &format!("/OtpDevice/{id}/requestChallenge"), None);
    assert_eq!((failed.status, failed.json["status"].as_str()), (502, Some("502")));
    let undelivered = gateway.received.lock().unwrap()[0]["code"].as_str().unwrap().to_owned();
    let result =
        app.call("POST", &format!("/OtpDevice/{id}/responseChallenge"), Some(&json!({"pin": undelivered})));
    assert_eq!(result.json["success"], false, "a failed delivery leaves no pending code");

    gateway.status.store(200, Ordering::SeqCst);
    assert_eq!(app.call("POST", &format!("/OtpDevice/{id}/requestChallenge"), None).status, 200);
    let delivery = gateway.received.lock().unwrap()[1].clone();
    assert_eq!(
        (delivery["channel"].as_str(), delivery["to"].as_str()),
        (Some("email"), Some("dilbert@soffid.com"))
    );
    assert_eq!(delivery["deviceId"], id);
    let code = delivery["code"].as_str().unwrap();
    assert!(delivery["message"].as_str().unwrap().contains(code));
    let ok = app.call("POST", &format!("/OtpDevice/{id}/responseChallenge"), Some(&json!({"pin": code})));
    assert_eq!(ok.json, json!({"success": true, "locked": false}));
    let framing = gateway.framing.lock().unwrap().clone();
    assert!(framing.iter().all(|f| f.is_some_and(|n| n > 0)), "sized bodies, never chunked: {framing:?}");
    let again = app.call("POST", &format!("/OtpDevice/{id}/responseChallenge"), Some(&json!({"pin": code})));
    assert_eq!(again.json["success"], false, "single use");
}

#[test]
fn one_code_validated_concurrently_succeeds_once() {
    let state = TempDir::new("race");
    let app = Arc::new(App::start(&state.0, &[]));
    for round in 0..5 {
        let created =
            app.call("POST", "/OtpDevice", Some(&json!({"type": "TOTP", "user": format!("racer{round}")})));
        let id = created.json["id"].as_i64().unwrap();
        let code = totp_code(created.json["otpauthUri"].as_str().unwrap());
        let app = app.clone();
        let successes = together(8, move |_| {
            app.call("POST", &format!("/OtpDevice/{id}/responseChallenge"), Some(&json!({"pin": code}))).json
                ["success"]
                == true
        })
        .into_iter()
        .filter(|s| *s)
        .count();
        assert_eq!(successes, 1, "round {round}");
    }
}

#[test]
fn settings_come_from_spin_variables() {
    let state = TempDir::new("variables");
    let app = App::start(
        &state.0,
        &[("max_fails", "2"), ("otp_digits", "8"), ("scim_cors_origin", "admin.example.com")],
    );
    let created = app.call("POST", "/OtpDevice", Some(&json!({"type": "TOTP", "user": "u"})));
    assert_eq!(created.json["digits"], 8);
    let id = created.json["id"].as_i64().unwrap();
    for expected_lock in [false, true] {
        let r = app.call(
            "POST",
            &format!("/OtpDevice/{id}/responseChallenge"),
            Some(&json!({"pin": "00000000"})),
        );
        assert_eq!(r.json["locked"], expected_lock);
    }
    let preflight = app.send(
        "OPTIONS",
        "/OtpDevice",
        None,
        None,
        &[("origin", "https://admin.example.com"), ("access-control-request-method", "GET")],
    );
    assert_eq!(
        (preflight.status, preflight.header("access-control-allow-origin")),
        (204, Some("https://admin.example.com"))
    );
    let (user, password) = app.admin();
    let foreign = app.send(
        "GET",
        "/OtpDevice",
        None,
        Some((&user, &password)),
        &[("origin", "https://evil.example.net")],
    );
    assert_eq!(foreign.status, 403);
    assert!(foreign.header("access-control-allow-origin").is_none());
    app.stop();

    let broken = App::start(&state.0, &[("max_fails", "lots")]);
    let error = broken.call("GET", "/OtpDevice", None);
    assert_eq!(error.status, 500);
    assert!(error.json["detail"].as_str().unwrap().contains("SPIN_VARIABLE_MAX_FAILS"), "{}", error.json);
    broken.stop();

    // A bad value that carries a secret (a scheme-less webhook URL with its key) reaches nobody:
    // not an anonymous caller, not the admin (who is told the variable), not the log.
    let leaky = App::start(&state.0, &[("delivery_webhook_url", "hooks.example.com/send?key=wh-s3cr3t")]);
    let anonymous = leaky.send("GET", "/ServiceProviderConfig", None, None, &[]);
    assert_eq!(anonymous.status, 500);
    let admin = leaky.call("GET", "/ServiceProviderConfig", None);
    assert!(admin.json["detail"].as_str().unwrap().contains("SPIN_VARIABLE_DELIVERY_WEBHOOK_URL"));
    for reply in [&anonymous, &admin] {
        assert!(!reply.json.to_string().contains("s3cr3t"), "{}", reply.json);
    }
    assert!(!anonymous.json.to_string().contains("webhook"), "an anonymous caller learns nothing");
    let log = leaky.interrupt();
    assert!(log.iter().any(|l| l.contains("delivery_webhook_url")), "the log names the variable");
    assert!(!log.iter().any(|l| l.contains("s3cr3t")), "and never its value: {log:?}");
}

/// On Spin a client's own `spin-*` headers reach the component ahead of the ones Spin sets (the
/// runner passes them on the same way): the component must use Spin's, so a forged
/// `spin-full-url` chooses neither `Location`, `meta.location`, the links, nor the origin.
#[test]
fn forged_spin_headers_are_ignored() {
    let state = TempDir::new("forged");
    let app = App::start(&state.0, &[]);
    let (user, password) = app.admin();
    let forged = [("spin-full-url", "http://evil.example/scim/v2/OtpDevice")];
    let created = app.send(
        "POST",
        "/OtpDevice",
        Some(&json!({"type": "TOTP", "user": "u"})),
        Some((&user, &password)),
        &forged,
    );
    assert_eq!(created.status, 201);
    let id = created.json["id"].as_i64().unwrap();
    let own = format!("{}/OtpDevice/{id}", app.base);
    assert_eq!(created.header("location"), Some(own.as_str()));
    assert_eq!(created.json["meta"]["location"], own);
    assert_eq!(created.json["meta"]["links"]["requestChallenge"], format!("{own}/requestChallenge"));
    let cross = app.send(
        "GET",
        "/OtpDevice",
        None,
        Some((&user, &password)),
        &[("spin-full-url", "http://evil.example/scim/v2/OtpDevice"), ("origin", "http://evil.example")],
    );
    assert_eq!(cross.status, 403, "a forged URL does not make evil.example same-origin");
}

/// Behind a TLS-terminating proxy the browser's origin is `https://…` while Spin listens on
/// `http://…`: `public_base_url` makes the SPA's writes same-origin and the URLs public.
#[test]
fn public_base_url_serves_a_proxied_spa() {
    let state = TempDir::new("proxied");
    let app = App::start(&state.0, &[("public_base_url", "https://otp.example.com")]);
    let (user, password) = app.admin();
    let created = app.send(
        "POST",
        "/OtpDevice",
        Some(&json!({"type": "TOTP", "user": "u"})),
        Some((&user, &password)),
        &[("origin", "https://otp.example.com")],
    );
    assert_eq!(created.status, 201, "{}", created.json);
    let id = created.json["id"].as_i64().unwrap();
    assert_eq!(
        created.header("location").unwrap(),
        format!("https://otp.example.com/scim/v2/OtpDevice/{id}")
    );
    app.stop();
    let direct = App::start(&state.0, &[]);
    let refused = direct.send(
        "DELETE",
        &format!("/OtpDevice/{id}"),
        None,
        Some((&user, &password)),
        &[("origin", "https://otp.example.com")],
    );
    assert_eq!(refused.status, 403);
    assert!(refused.json["detail"].as_str().unwrap().contains("public_base_url"), "{}", refused.json);
    assert_eq!(direct.call("GET", &format!("/OtpDevice/{id}"), None).status, 200, "nothing was deleted");
}

#[test]
fn discovery_head_and_options_over_http() {
    let state = TempDir::new("discovery");
    let app = App::start(&state.0, &[]);
    let spc = app.call("GET", "/ServiceProviderConfig", None);
    assert_eq!((spc.status, spc.json["filter"]["maxResults"].as_i64()), (200, Some(1000)));
    // A sized answer, as the host passed it on: never chunked (its last chunk could wait for the
    // client's delayed ACK on a keep-alive connection).
    let length: usize = spc.header("content-length").expect("a content-length").parse().unwrap();
    assert_eq!(
        (length, spc.header("transfer-encoding")),
        (serde_json::to_vec(&spc.json).unwrap().len(), None)
    );
    let types = app.call("GET", "/ResourceTypes", None);
    assert_eq!(types.json["Resources"][0]["schema"], shared::model::DEVICE_SCHEMA);
    assert_eq!(app.call("GET", "/ResourceTypes/OtpDevice", None).json["endpoint"], "/OtpDevice");
    let schemas = app.call("GET", "/Schemas", None);
    assert_eq!(schemas.json["Resources"][0]["id"], shared::model::DEVICE_SCHEMA);
    let schema = app.call("GET", &format!("/Schemas/{}", shared::model::DEVICE_SCHEMA), None);
    let names: Vec<&str> =
        schema.json["attributes"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"lastUsed") && names.contains(&"pin") && names.contains(&"meta"), "{names:?}");
    assert_eq!(app.call("GET", "/Schemas/urn:nothing", None).status, 404);
    let head = app.call("HEAD", "/ServiceProviderConfig", None);
    assert_eq!(head.status, 200);
    let options = app.send("OPTIONS", "/OtpDevice", None, None, &[]);
    assert_eq!(options.status, 204);
    assert!(options.header("allow").unwrap().contains("PATCH"));
}
