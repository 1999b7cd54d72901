//! `POST /Device/.import` (SPEC §19): RFC 6030's containers and the two CSV shapes into the
//! stock, each token reported; the refusals that import nothing; secrets never shown.

use super::users::everything;
use super::*;
use shared::oath_device::DEVICE_IMPORT_SCHEMA;

const FIGURE_5: &str = include_str!("../../../pskc/tests/rfc6030/figure5.xml");
const FIGURE_6: &str = include_str!("../../../pskc/tests/rfc6030/figure6.xml");
const FIGURE_7: &str = include_str!("../../../pskc/tests/rfc6030/figure7.xml");
const FIGURE_10: &str = include_str!("../../../pskc/tests/rfc6030/figure10.xml");
const FIGURE_6_KEY: &str = "12345678901234567890123456789012";
/// The RFC's secret (RFC 4226's test secret), in the encodings a leak would show it in.
const SECRET_FORMS: [&str; 3] =
    ["12345678901234567890", "3132333435363738393031323334353637383930", "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA="];

impl Api {
    fn import(&self, body: Value) -> (u16, Value) {
        let mut body = body;
        body["schemas"] = json!([DEVICE_IMPORT_SCHEMA]);
        self.call("POST", "/Device/.import", Some(body))
    }
}

fn outcomes(result: &Value) -> Vec<(String, String)> {
    result["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["serialNumber"].as_str().unwrap().to_owned(), r["outcome"].as_str().unwrap().to_owned()))
        .collect()
}

fn pair(serial: &str, outcome: &str) -> (String, String) {
    (serial.to_owned(), outcome.to_owned())
}

/// Figure 6 (AES-128-CBC under a pre-shared key, HMAC-SHA1): a dry run reports and writes
/// nothing, the import stocks the HOTP token with its counter, a second import finds it a
/// duplicate; handed out, its RFC 4226 codes validate.
#[test]
fn a_pskc_file_under_a_pre_shared_key_is_stocked_once() {
    let api = Api::new();
    api.call("GET", "/Device", None); // the tenant's first request writes its policies
    let before = everything(&api);
    let body = json!({"format": "pskc", "document": FIGURE_6, "preSharedKey": FIGURE_6_KEY, "dryRun": true});
    let (status, dry) = api.import(body);
    assert_eq!(status, 200, "{dry}");
    assert_eq!(
        (dry["imported"].as_u64(), dry["skipped"].as_u64(), dry["failed"].as_u64()),
        (Some(1), Some(0), Some(0))
    );
    assert!(dry["results"][0].get("id").is_none());
    assert_eq!(everything(&api), before, "a dry run writes nothing");

    let (status, result) =
        api.import(json!({"format": "PSKC", "document": FIGURE_6, "preSharedKey": FIGURE_6_KEY}));
    assert_eq!(status, 200, "{result}");
    assert_eq!(outcomes(&result), vec![pair("987654321", "imported")]);
    let id = result["results"][0]["id"].as_str().unwrap().parse::<i64>().unwrap();
    let device = api.device(id);
    assert_eq!(
        (
            device["type"].as_str(),
            device["digits"].as_i64(),
            device["manufacturer"].as_str(),
            device["status"].as_str()
        ),
        (Some("HOTP"), Some(8), Some("Manufacturer"), Some("available"))
    );
    assert_eq!(api.audit_count("import"), 2, "one event for the file, one for the token");
    let (_, again) =
        api.import(json!({"format": "pskc", "document": FIGURE_6, "preSharedKey": FIGURE_6_KEY}));
    assert_eq!(outcomes(&again), vec![pair("987654321", "duplicate")]);
    assert_eq!((again["imported"].as_u64(), again["skipped"].as_u64()), (Some(0), Some(1)));

    let (status, _) = api.patch_device(id, json!([{"op": "add", "path": "owner.display", "value": "ann"}]));
    assert_eq!(status, 200);
    // RFC 4226 appendix D, 8 digits: counters 0 and 1.
    assert_eq!(api.respond(id, "84755224")["success"], true);
    assert_eq!(api.respond(id, "84755224")["success"], false, "a code once");
    assert_eq!(api.respond(id, "94287082")["success"], true);
    for text in [result.to_string(), api.rows("audit"), api.rows("devices")] {
        for secret in SECRET_FORMS {
            assert!(!text.contains(secret), "the secret shows: {text}");
        }
    }
}

/// A file that cannot be read imports nothing and says why: no key, a wrong key, a failed MAC,
/// no password, not XML, an unknown member.
#[test]
fn an_unreadable_file_imports_nothing() {
    let api = Api::new();
    api.call("GET", "/Device", None); // the tenant's first request writes its policies
    let before = everything(&api);
    let altered = FIGURE_6.replace("Su+NvtQfmvfJzF6bmQiJqoLRExc=", "Su+NvtQfmvfJzF6bmQiJqoLRExd=");
    let wrong_key = FIGURE_6_KEY.replace("12", "21");
    for (body, says) in [
        (json!({"format": "pskc", "document": FIGURE_6}), "pre-shared key"),
        (json!({"format": "pskc", "document": FIGURE_6, "preSharedKey": wrong_key}), "wrong key"),
        (json!({"format": "pskc", "document": altered, "preSharedKey": FIGURE_6_KEY}), "MAC"),
        (json!({"format": "pskc", "document": FIGURE_6, "preSharedKey": "1234"}), "bytes long"),
        (json!({"format": "pskc", "document": FIGURE_7}), "password"),
        (json!({"format": "pskc", "document": FIGURE_7, "password": "azerty"}), "wrong key or password"),
        (json!({"format": "pskc", "document": "serial,seed"}), "XML"),
        (json!({"format": "csv", "document": "just one field\n"}), "CSV"),
        (json!({"format": "csv", "document": ""}), "CSV"),
    ] {
        let (status, refused) = api.import(body.clone());
        assert_eq!((status, refused["scimType"].as_str()), (400, Some("invalidValue")), "{body}: {refused}");
        let detail = refused["detail"].as_str().unwrap();
        assert!(detail.contains(says) && detail.contains("nothing was imported"), "{says}: {detail}");
        assert_eq!(everything(&api), before, "{body}");
    }
    for body in [
        json!({"format": "pskc", "document": FIGURE_6, "preSharedKey": FIGURE_6_KEY, "dryRn": true}),
        json!({"format": "xml", "document": FIGURE_6}),
        json!({"format": "pskc", "document": FIGURE_6, "preSharedKey": "not hex"}),
        json!({"format": "pskc"}),
    ] {
        let (status, _) = api.import(body.clone());
        assert_eq!(status, 400, "{body}");
        assert_eq!(everything(&api), before, "{body}");
    }
    let (status, _, _) = api.call_as(
        READER,
        "POST",
        "/Device/.import",
        Some(json!({"format": "pskc", "document": FIGURE_6})),
        &[],
    );
    assert_eq!(status, 403);
    assert_eq!(everything(&api), before);
}

/// Each key on its own: an HOTP key imported beside a PIN key (unsupported), keys already
/// expired invalid (figure 10), and a password-protected file (figure 7) read with its password.
#[test]
fn each_key_is_reported_on_its_own() {
    let api = Api::new();
    let (_, result) = api.import(json!({"format": "pskc", "document": FIGURE_5}));
    assert_eq!(outcomes(&result), vec![pair("987654321", "imported"), pair("987654321", "unsupported")]);
    let (_, result) = api.import(json!({"format": "pskc", "document": FIGURE_10}));
    assert_eq!((result["imported"].as_u64(), result["failed"].as_u64()), (Some(0), Some(4)), "{result}");
    assert!(result["results"].as_array().unwrap().iter().all(|r| r["detail"] == "expired"), "{result}");
    let (_, result) = api.import(json!({"format": "pskc", "document": FIGURE_7, "password": "qwerty"}));
    assert_eq!(outcomes(&result), vec![pair("987654321", "duplicate")], "figure 5 stocked this serial");
}

/// privacyIDEA's OATH CSV (version 2 names users) and Entra ID's: TOTP and HOTP with their
/// parameters; `assignUsers` hands each token to its user, created when absent.
#[test]
fn both_csv_shapes_with_their_users() {
    let api = Api::new();
    let oath = "# version: 2\n\
                ann, resolver, realm, PI-1, 3132333435363738393031323334353637383930, totp, 6, 30\n\
                , , , PI-2, 3132333435363738393031323334353637383930, HOTP, 8, 5\n\
                bob, r, r, PI-3, zz, hotp\n\
                bob, r, r, PI-4, 31323334, ocra, OCRA-1:HOTP-SHA1-6:QN08\n";
    let (status, result) = api.import(json!({"format": "csv", "document": oath, "assignUsers": true}));
    assert_eq!(status, 200, "{result}");
    assert_eq!(
        outcomes(&result),
        vec![
            pair("PI-1", "imported"),
            pair("PI-2", "imported"),
            pair("PI-3", "invalid"),
            pair("PI-4", "unsupported")
        ]
    );
    let totp = api.device(result["results"][0]["id"].as_str().unwrap().parse().unwrap());
    assert_eq!((totp["status"].as_str(), totp["owner"]["display"].as_str()), (Some("assigned"), Some("ann")));
    let hotp = api.device(result["results"][1]["id"].as_str().unwrap().parse().unwrap());
    assert_eq!((hotp["status"].as_str(), hotp["digits"].as_i64()), (Some("available"), Some(8)));
    let ann_id = totp["id"].as_str().unwrap().parse::<i64>().unwrap();
    let code = format_code(
        totp_code(&Secret::from_bytes(SECRET_FORMS[0].as_bytes().to_vec()), 30, api.now.get()),
        6,
    );
    assert_eq!(api.respond(ann_id, &code)["success"], true, "ann's token validates");

    // A serial shaped like a generated name (a device enrolled on another instance): the name
    // generator moves past it, so no device enrolled here is given it.
    let (_, moved) =
        api.import(json!({"format": "csv", "document": "TOTP00000050, 3132333435363738, totp\n"}));
    assert_eq!(outcomes(&moved), vec![pair("TOTP00000050", "imported")]);
    assert_eq!(api.create(json!({"type": "TOTP", "user": "eve"}))["name"], "TOTP00000051");

    let entra = "upn,serial number,secret key,time interval,manufacturer,model\n\
                 carol@example.com,EN-1,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,60,Token2,C202\n\
                 dave@example.com,EN-2,not base32!,30,Token2,C202\n";
    let (_, result) = api.import(json!({"format": "csv", "document": entra}));
    assert_eq!(outcomes(&result), vec![pair("EN-1", "imported"), pair("EN-2", "invalid")]);
    let entra_token = api.device(result["results"][0]["id"].as_str().unwrap().parse().unwrap());
    assert_eq!(
        (entra_token["period"].as_i64(), entra_token["model"].as_str(), entra_token.get("owner")),
        (Some(60), Some("C202"), None)
    );
}

fn totp_code(secret: &Secret, period: u32, now: i64) -> u32 {
    totp(secret, CodeParams { algorithm: Algorithm::Sha1, digits: 6 }, period, now)
}

/// A seed file may be up to 8 MiB, at this endpoint only.
#[test]
fn an_import_takes_a_larger_body_than_the_rest() {
    let api = Api::new();
    let padding = " ".repeat(200_000);
    let document = FIGURE_5.replace("<KeyPackage>", &format!("{padding}<KeyPackage>"));
    let (status, result) = api.import(json!({"format": "pskc", "document": document, "dryRun": true}));
    assert_eq!(status, 200, "{result}");
    let (status, _) = api.call("POST", "/Users", Some(json!({"userName": "x", "displayName": padding})));
    assert_eq!(status, 413);
}

/// An export writes what an import reads back: the same tokens, secrets, counters and drift,
/// under the password alone; it is off unless `seed_export` is true, and never shows a secret
/// in the clear.
#[test]
fn an_export_is_read_back_by_an_import() {
    let mut settings = super::users::tenant_settings();
    settings.seed_export = false;
    let off = Api::with(settings.clone());
    let (status, refused) =
        off.call("POST", "/Device/.export", Some(json!({"password": "correct horse battery"})));
    assert_eq!(status, 403, "{refused}");
    assert!(refused["detail"].as_str().unwrap().contains("seed_export"));

    settings.seed_export = true;
    let api = Api::with(settings);
    let (_, stocked) =
        api.import(json!({"format": "pskc", "document": FIGURE_6, "preSharedKey": FIGURE_6_KEY}));
    let hotp = stocked["results"][0]["id"].as_str().unwrap().parse::<i64>().unwrap();
    api.patch_device(hotp, json!([{"op": "add", "path": "owner.display", "value": "ann"}]));
    assert_eq!(api.respond(hotp, "84755224")["success"], true, "counter 0 used: the export says 1");
    let (totp, secret) = api.totp_device_secret("bob");
    for (body, status) in [
        (json!({"password": "short"}), 400),
        (json!({"password": "correct horse battery", "filter": "nope eq 1"}), 400),
        (json!({"filter": "type eq \"HOTP\""}), 400),
    ] {
        assert_eq!(api.call("POST", "/Device/.export", Some(body.clone())).0, status, "{body}");
    }
    let body =
        json!({"password": "correct horse battery", "filter": "origin eq \"imported\" or type eq \"TOTP\""});
    let (status, _, response) = api.call_as(ADMIN, "POST", "/Device/.export", Some(body), &[]);
    assert_eq!((status, response.header("content-type")), (200, Some("application/pskc+xml")));
    let document = String::from_utf8(response.body.clone()).unwrap();
    for secret in SECRET_FORMS {
        assert!(!document.contains(secret), "a secret in the clear");
    }
    assert_eq!(api.audit_count("export"), 1);

    let unlock = pskc::Unlock { pre_shared_key: None, password: Some("correct horse battery") };
    let read = pskc::read(&document, &unlock).unwrap();
    assert_eq!(read.keys.len(), 2);
    let hotp_key = read.keys.iter().find(|k| k.serial.as_deref() == Some("987654321")).unwrap();
    assert_eq!(
        (hotp_key.secret.as_deref(), hotp_key.counter, hotp_key.user_id.as_deref()),
        (Some(&b"12345678901234567890"[..]), Some(1), Some("ann"))
    );
    let totp_key = read.keys.iter().find(|k| k.kind() == Some(pskc::Kind::Totp)).unwrap();
    assert_eq!((totp_key.secret.as_deref(), totp_key.time_interval), (Some(secret.as_bytes()), Some(30)));

    // Into another tenant, as a migration would: the codes work there.
    let (status, imported, _) = super::users::at(
        &api,
        super::users::ACME_ADMIN,
        "POST",
        "/scim/acme/v2/Device/.import",
        Some(
            json!({"format": "pskc", "document": document, "password": "correct horse battery", "assignUsers": true}),
        ),
    );
    assert_eq!((status, imported["imported"].as_u64()), (200, Some(2)), "{imported}");
    let moved =
        imported["results"].as_array().unwrap().iter().find(|r| r["serialNumber"] == "987654321").unwrap();
    let moved = moved["id"].as_str().unwrap();
    let (_, answer, _) = super::users::at(
        &api,
        super::users::ACME_ADMIN,
        "POST",
        &format!("/scim/acme/v2/OtpDevice/{moved}/responseChallenge"),
        Some(json!({"pin": "94287082"})),
    );
    assert_eq!(answer["success"], true, "counter 1 of RFC 4226, 8 digits");
    // bob's enrolled device went too, under its generated name.
    let bobs = api.device(totp)["serialNumber"].as_str().unwrap().to_owned();
    assert!(imported["results"].as_array().unwrap().iter().any(|r| r["serialNumber"] == bobs.as_str()));
    let (status, refused) =
        api.import(json!({"format": "pskc", "document": document, "password": "wrong horse battery"}));
    assert_eq!(status, 400, "{refused}");
}
