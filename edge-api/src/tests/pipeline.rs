//! What every request goes through (SPEC §7–§11): words in the caller's language, CORS,
//! discovery, settings, the public base URL.

use super::*;

#[test]
fn errors_speak_the_callers_language() {
    let api = Api::new();
    let (_, es, response) = api.call_as(
        ADMIN,
        "GET",
        "/OtpDevice?filter=fails%20co%201",
        None,
        &[("accept-language", "es-ES,es;q=0.9")],
    );
    assert_eq!(response.header("content-language"), Some("es"));
    assert_eq!(
        es["detail"],
        "Filtro no válido en la posición 1: el operador \"co\" no se aplica al atributo \"fails\"."
    );
    let (_, nl, _) = api.call_as(ADMIN, "GET", "/OtpDevice/5", None, &[("accept-language", "nl")]);
    assert_eq!(nl["detail"], "OtpDevice 5 bestaat niet.");
    let (_, ca, _) = api.call_as(ADMIN, "GET", "/OtpDevice/5", None, &[("accept-language", "ca")]);
    assert_eq!(ca["detail"], "L'OtpDevice 5 no existeix.");
}

#[test]
fn cors_as_configured() {
    let mut settings = settings();
    settings.cors_origins = vec![CorsEntry::parse("admin.example.com").unwrap()];
    settings.cors_methods = vec!["GET".into(), "POST".into(), "OPTIONS".into()];
    let api = Api::with(settings);
    let preflight = api.raw(
        "OPTIONS",
        "/scim/v2/OtpDevice",
        b"",
        &[("origin", "https://admin.example.com"), ("access-control-request-method", "POST")],
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("https://admin.example.com"));
    assert_eq!(preflight.header("vary"), Some("Origin"));
    assert!(preflight.header("access-control-allow-headers").unwrap().contains("If-Match"));
    let denied = api.raw(
        "OPTIONS",
        "/scim/v2/OtpDevice/1",
        b"",
        &[("origin", "https://admin.example.com"), ("access-control-request-method", "DELETE")],
    );
    assert!(denied.header("access-control-allow-origin").is_none());

    let auth = basic(ADMIN);
    let body = serde_json::to_vec(&json!({"type": "TOTP", "user": "x"})).unwrap();
    let evil = api.raw(
        "POST",
        "/scim/v2/OtpDevice",
        &body,
        &[
            ("origin", "https://evil.example.net"),
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
    );
    assert_eq!(evil.status, 403);
    assert!(evil.header("access-control-allow-origin").is_none());
    assert_eq!(evil.header("vary"), Some("Origin"), "a refusal depends on Origin too");
    assert_eq!(api.snapshot(), "", "the request from a disallowed origin was not executed");
    let allowed = api.raw(
        "POST",
        "/scim/v2/OtpDevice",
        &body,
        &[
            ("origin", "https://admin.example.com"),
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
    );
    assert_eq!(allowed.status, 201);
    assert_eq!(allowed.header("access-control-expose-headers"), Some("ETag, Location"));
    let same_origin = api.raw(
        "POST",
        "/scim/v2/OtpDevice",
        &body,
        &[
            ("origin", "http://127.0.0.1:3000"),
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
    );
    assert_eq!(same_origin.status, 201);
}

#[test]
fn discovery_is_generated_from_the_table() {
    let api = Api::new();
    let (status, spc) = api.call("GET", "/ServiceProviderConfig", None);
    assert_eq!((status, spc["patch"]["supported"].as_bool()), (200, Some(true)));
    let (_, types) = api.call("GET", "/ResourceTypes", None);
    assert_eq!(types["Resources"][0]["endpoint"], "/OtpDevice");
    let (status, schema) = api.call("GET", &format!("/Schemas/{}", shared::model::DEVICE_SCHEMA), None);
    assert_eq!((status, schema["name"].as_str()), (200, Some("OtpDevice")));
    let head = api.raw("HEAD", "/scim/v2/ServiceProviderConfig", b"", &[("authorization", &basic(ADMIN))]);
    assert_eq!((head.status, head.body.len()), (200, 0));
}

/// A bad setting is named to an authenticated admin (never its value, which may be a secret),
/// and to nobody else: an anonymous caller or a reader gets a 500 that names nothing.
#[test]
fn misconfiguration_is_named_to_admins_only() {
    let api = Api::new();
    let access = settings().access;
    let leaky = "hooks.example.com/send?key=wh-s3cr3t";
    let load = |variable: &'static str, value: &str| {
        let value = value.to_owned();
        let key = data_encoding::BASE64.encode(&access.secret_key);
        let users = serde_json::to_string(&json!([
            {"user": ADMIN.0, "password_hash": access.principals[0].password_hash, "rights": ["scim:admin"]},
            {"user": READER.0, "password_hash": access.principals[1].password_hash, "rights": ["scim:invoke"]},
        ]))
        .unwrap();
        Settings::load(&move |name| match name {
            "secret_key" => Some(key.clone()),
            "scim_users" => Some(users.clone()),
            n if n == variable => Some(value.clone()),
            _ => None,
        })
    };
    let request = |who: Option<(&str, &str)>| ApiRequest {
        method: "GET".into(),
        path: "/scim/v2/ServiceProviderConfig".into(),
        headers: who.map(|w| vec![("authorization".to_owned(), basic(w))]).unwrap_or_default(),
        origin: Origin::parse("http://127.0.0.1:3000"),
        client: "127.0.0.1:1".into(),
        ..Default::default()
    };
    let detail = |response: &ApiResponse| -> String {
        let json: Value = serde_json::from_slice(&response.body).unwrap();
        json["detail"].as_str().unwrap().to_owned()
    };
    let internal = crate::i18n::INTERNAL.render(crate::i18n::Lang::En, &[]);
    for (variable, value) in [("delivery_webhook_url", leaky), ("max_fails", "zero-s3cr3t")] {
        let anonymous = api.handle(&request(None), load(variable, value));
        assert_eq!(anonymous.status, 500);
        assert_eq!(detail(&anonymous), internal, "anonymous callers learn nothing");
        let reader = api.handle(&request(Some(READER)), load(variable, value));
        assert_eq!((reader.status, detail(&reader)), (500, internal.clone()));
        let admin = api.handle(&request(Some(ADMIN)), load(variable, value));
        assert_eq!(admin.status, 500);
        assert!(
            detail(&admin).contains(&format!("SPIN_VARIABLE_{}", variable.to_uppercase())),
            "{}",
            detail(&admin)
        );
        for response in [&anonymous, &reader, &admin] {
            assert!(!String::from_utf8_lossy(&response.body).contains("s3cr3t"));
        }
    }
    let log = api.log.borrow().join("\n");
    assert!(log.contains("delivery_webhook_url") && log.contains("max_fails"), "the log names the variable");
    assert!(!log.contains("s3cr3t"), "and never the value: {log}");
    // Without a usable secret_key nobody can be authenticated: everyone gets the plain 500.
    let unauthenticatable = api.handle(&request(Some(ADMIN)), Settings::load(&|_| None));
    assert_eq!((unauthenticatable.status, detail(&unauthenticatable)), (500, internal));
}

/// Behind a TLS-terminating proxy Spin sees `http://…` while the browser is on `https://…`: the
/// same-origin SPA's writes are cross-origin to the component, refused with a message that names
/// the fix, and accepted once `public_base_url` says where the browser is.
#[test]
fn public_base_url_is_the_origin_behind_a_proxy() {
    let body = serde_json::to_vec(&json!({"type": "TOTP", "user": "x"})).unwrap();
    let post = |api: &Api| {
        let auth = basic(ADMIN);
        api.raw(
            "POST",
            "/scim/v2/OtpDevice",
            &body,
            &[
                ("origin", "https://otp.example.com"),
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
        )
    };
    let direct = Api::new();
    let refused = post(&direct);
    let detail: Value = serde_json::from_slice(&refused.body).unwrap();
    assert_eq!(refused.status, 403);
    assert!(detail["detail"].as_str().unwrap().contains("public_base_url"), "{detail}");
    assert_eq!(direct.snapshot(), "");

    let mut settings = settings();
    let (origin, _) = Origin::parse_prefix("https://otp.example.com").unwrap();
    settings.public_base =
        Some(crate::settings::PublicBase { url: "https://otp.example.com".into(), origin });
    let proxied = Api::with(settings);
    let created = post(&proxied);
    assert_eq!(created.status, 201);
    assert!(created.header("access-control-allow-origin").is_none(), "same origin: no CORS headers");
    assert_eq!(created.header("location"), Some("https://otp.example.com/scim/v2/OtpDevice/1"));
}

/// Every endpoint's 405 names in `Allow` exactly the methods it serves (RFC 9110 §15.5.6): each
/// method listed gets an answer other than 405, and each method not listed gets 405.
#[test]
fn allow_names_what_each_endpoint_serves() {
    let mut settings = settings();
    settings.dev_outbox = true;
    let api = Api::with(settings);
    let device = api.create(json!({"type": "TOTP", "user": "u"}))["id"].as_i64().unwrap();
    let user = new_user(&api, json!({"userName": "v"}));
    let endpoints = [
        "/ServiceProviderConfig".to_owned(),
        "/ResourceTypes".into(),
        "/ResourceTypes/User".into(),
        "/Schemas".into(),
        format!("/Schemas/{}", shared::urn::DEVICE_SCHEMA),
        "/OtpDevice".into(),
        "/OtpDevice/.search".into(),
        "/.search".into(),
        format!("/OtpDevice/{device}"),
        format!("/OtpDevice/{device}/requestChallenge"),
        format!("/OtpDevice/{device}/responseChallenge"),
        format!("/OtpDevice/{device}/audit"),
        "/Device".into(),
        "/Device/.search".into(),
        "/Device/.import".into(),
        "/Device/.export".into(),
        "/Device/.counts".into(),
        format!("/Device/{device}"),
        format!("/Device/{device}/resync"),
        "/Users".into(),
        "/Users/.search".into(),
        format!("/Users/{user}"),
        "/Authenticator".into(),
        "/Authenticator/.search".into(),
        format!("/Authenticator/{user}.AT_EMPOTP"),
        "/Policy/Authenticator".into(),
        "/Policy/Authenticator/.search".into(),
        "/Policy/Authenticator/AT_EMPOTP".into(),
        "/Audit".into(),
        "/Audit/.search".into(),
        "/Audit/.histogram".into(),
        "/Audit/1".into(),
        "/Outbox".into(),
    ];
    let all = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];
    for path in &endpoints {
        let headers = [("authorization", basic(ADMIN)), ("content-type", "application/scim+json".into())];
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let path = format!("{BASE}{path}");
        let refused = api.raw("TRACE", &path, b"", &headers);
        assert_eq!(refused.status, 405, "TRACE {path}");
        let allow: Vec<&str> = refused.header("allow").unwrap().split(", ").collect();
        for method in all {
            // A body no handler takes: the answer is the handler's 400 or 404, never 405.
            let answered = api.raw(method, &path, b"{\"x\":", &headers);
            assert_eq!(answered.status == 405, !allow.contains(&method), "{method} {path}: {allow:?}");
        }
    }
}

/// Every answer with a body states its size (no chunked answers on a keep-alive connection),
/// and the answers without one (204, a HEAD's) state none.
#[test]
fn every_answer_states_its_size() {
    let api = Api::new();
    let id = api.create(json!({"type": "TOTP", "user": "u"}))["id"].as_i64().unwrap();
    let auth = basic(ADMIN);
    let headers = [("authorization", auth.as_str()), ("content-type", "application/scim+json")];
    let sized = |method: &str, path: &str, body: &[u8]| {
        let response = api.raw(method, &format!("{BASE}{path}"), body, &headers);
        let stated = response.header("content-length").map(|n| n.parse::<usize>().unwrap());
        (response.status, stated, response.body.len())
    };
    for (method, path, body, status) in [
        ("GET", "/OtpDevice".to_owned(), &b""[..], 200),
        ("GET", format!("/OtpDevice/{id}"), b"", 200),
        ("POST", "/OtpDevice".into(), br#"{"type": "PIN", "user": "v", "pin": "4711"}"#, 201),
        ("GET", "/OtpDevice/999".into(), b"", 404),
        ("TRACE", "/OtpDevice".into(), b"", 405),
        ("POST", "/OtpDevice".into(), b"{", 400),
    ] {
        let (got, stated, length) = sized(method, &path, body);
        assert_eq!(got, status, "{method} {path}");
        assert_eq!(stated, Some(length), "{method} {path}");
    }
    assert_eq!(sized("DELETE", &format!("/OtpDevice/{id}"), b""), (204, None, 0));
    assert_eq!(sized("HEAD", "/OtpDevice", b""), (200, None, 0));
}
