//! The requests of the vendor documents (`../shared/seeds/`, with the OCR fixes of its README),
//! and the refusals an admin should get for bad input.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use serde_json::json;
use shared::discovery::{schema, service_provider_config};
use shared::error::FilterReason;
use shared::filter::{Condition, parse};
use shared::model::{DEVICE_SCHEMA, Meta};
use shared::patch::{PatchOp, apply_patch};
use shared::query::{Page, Projection, Sort};
use shared::schema::DEVICE;
use shared::validate::{Changes, Defaults, validate_create, validate_replace};
use shared::{Algorithm, DeviceType, OtpDevice, Problem, ScimType, Status, Timestamp};

fn device(device_type: DeviceType, status: Status, fails: u32) -> OtpDevice {
    OtpDevice {
        schemas: vec![DEVICE_SCHEMA.into()],
        id: 5_007_882,
        external_id: None,
        name: "TOTP00000035".into(),
        device_type,
        user: "admin".into(),
        status,
        fails,
        created: Timestamp(1_645_516_011),
        last_used: None,
        email: (device_type == DeviceType::Email).then(|| "dilbert@soffid.com".into()),
        phone: (device_type == DeviceType::Sms).then(|| "6665552222".into()),
        algorithm: device_type.has_seed().then_some(Algorithm::Sha1),
        digits: Some(6),
        period: (device_type == DeviceType::Totp).then_some(30),
        image: None,
        otpauth_uri: None,
        meta: Meta::new("OtpDevice", Timestamp(1_645_516_011), Timestamp(1_645_516_011), 1),
    }
}

#[test]
fn every_filter_of_the_seeds_parses() {
    // soffid-scim-otp-examples.txt (List by filter, Workflow 2), the operator tables of
    // soffid-scim-book.txt (one per operator and value type) and hid-activid (.search).
    let filters = [
        r#"type eq "TOTP""#,
        r#"lastUsed le "2022-01-01""#,
        r#"userName eq "John""#,
        r#"userName eq_ci "john""#,
        r#"userName ne "John""#,
        r#"userName co "oh""#,
        r#"userName sw "J""#,
        r#"userName ew "n""#,
        r#"title pr"#,
        r#"id gt 1234"#,
        r#"id ge 1234"#,
        r#"id lt 1234"#,
        r#"id le 1234"#,
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"active eq true"#,
        r#"active eq false"#,
        r#"manager eq null"#,
        r#"userName eq "John" and not (active eq false)"#,
        r#"(userName sw "J" or userName sw "P") and active eq true"#,
        r#"emails[type eq "work" and value co "@example.com"]"#,
        r#"owner.value eq 20792"#,
        r#"owner.value eq 20792 and id eq "20792.ATL_POLICY""#,
    ];
    for text in filters {
        assert!(parse(text).is_ok(), "{text}: {:?}", parse(text));
    }
    // The OtpDevice ones also resolve against our attributes.
    for text in [r#"type eq "TOTP""#, r#"lastUsed le "2022-01-01""#] {
        assert!(Condition::compile(&DEVICE, text).is_ok(), "{text}");
    }
}

#[test]
fn malformed_filters_say_where() {
    let table: &[(&str, usize)] = &[
        ("", 1),
        ("type", 5),
        (r#"type eq"#, 8),
        (r#"type xx "TOTP""#, 6),
        (r#"type eq "TOTP"#, 9),
        (r#"type eq "TOTP" and"#, 19),
        (r#"type eq "TOTP" or or user pr"#, 22),
        (r#"(type eq "TOTP""#, 16),
        (r#"type eq "TOTP")"#, 15),
        (r#"not type eq "TOTP""#, 5),
        (r#"meta[created gt "2022-01-01""#, 29),
        (r#"user eq "a\qb""#, 9),
        (r#"fails eq 1.2.3"#, 10),
        (r#"fails eq 12abc"#, 12),
        (r#"9type eq 1"#, 1),
        (r#"user eq 'x'"#, 9),
        (r#"userName eq "x""#, 1),
        (r#"fails co 5"#, 1),
        (r#"fails eq "5""#, 10),
        (r#"created gt "last week""#, 12),
        (r#"created eq_ci "2022-01-01""#, 1),
        (r#"pin eq "1234""#, 1),
        (r#"meta eq "x""#, 1),
        (r#"user[value eq "x"]"#, 1),
        (r#"meta[user eq "x"]"#, 6),
        (r#"status gt null"#, 11),
        (r#"active eq true"#, 1),
        (r#"user eq true"#, 9),
    ];
    // A bare integer against a string attribute is its decimal text (SPEC §14), not an error.
    assert_eq!(Condition::compile(&DEVICE, "user eq 5"), Condition::compile(&DEVICE, r#"user eq "5""#));
    for (text, position) in table {
        let problem = Condition::compile(&DEVICE, text).expect_err(text);
        assert_eq!(problem.scim_type(), ScimType::InvalidFilter, "{text}");
        let Problem::Filter(e) = &problem else { panic!("{text}: {problem:?}") };
        assert_eq!(e.position, *position, "{text}: {problem}");
        assert!(problem.to_string().contains(&format!("position {position}")), "{problem}");
    }
    let long = format!(r#"user eq "{}""#, "x".repeat(5000));
    assert!(matches!(parse(&long).unwrap_err().reason, FilterReason::TooLong { .. }));
    let many = vec![r#"fails eq 1"#; 65].join(" or ");
    assert!(matches!(parse(&many).unwrap_err().reason, FilterReason::TooComplex { .. }));
}

#[test]
fn create_examples_of_the_seeds() {
    let defaults = Defaults::default();
    // TOTP, with the `meta` Soffid's own example sends (readOnly: ignored).
    let totp = validate_create(
        &json!({
            "meta": {"location": "http://host/webservice/scim2/v1/OtpDevice", "resourceType": "OtpDevice"},
            "schemas": [DEVICE_SCHEMA], "type": "TOTP", "user": "admin"
        }),
        &defaults,
    )
    .unwrap();
    assert_eq!(
        (totp.device_type, totp.algorithm, totp.digits, totp.period),
        (DeviceType::Totp, Some(Algorithm::Sha1), Some(6), Some(30))
    );
    let sms = validate_create(&json!({"type": "SMS", "user": "dilbert", "phone": "6665552222"}), &defaults)
        .unwrap();
    assert_eq!((sms.phone.as_deref(), sms.algorithm, sms.digits), (Some("6665552222"), None, Some(6)));
    let email = validate_create(
        &json!({"type": "EMAIL", "user": "dilbert", "email": "dilbert@soffid.com"}),
        &defaults,
    )
    .unwrap();
    assert_eq!(email.email.as_deref(), Some("dilbert@soffid.com"));
    // The seed's PIN example says "email" where "pin" is meant.
    let pin =
        validate_create(&json!({"type": "PIN", "user": "dilbert", "pin": "123456789"}), &defaults).unwrap();
    assert_eq!(pin.pin.as_deref(), Some("123456789"));
    assert!(!format!("{pin:?}").contains("123456789"), "Debug hides the PIN");
    let hotp = validate_create(
        &json!({"type": "hotp", "user": "u", "algorithm": "sha512", "digits": 8, "id": 99, "name": "mine"}),
        &defaults,
    )
    .unwrap();
    assert_eq!((hotp.algorithm, hotp.digits, hotp.period), (Some(Algorithm::Sha512), Some(8), None));
}

#[test]
fn bad_creates_are_refused_with_the_right_scim_type() {
    let defaults = Defaults::default();
    let cases: &[(serde_json::Value, ScimType, &str)] = &[
        (json!([1]), ScimType::InvalidSyntax, "JSON object"),
        (json!({"user": "a"}), ScimType::InvalidValue, "\"type\" is required"),
        (json!({"type": "TOTP"}), ScimType::InvalidValue, "\"user\" is required"),
        (json!({"type": "YUBIKEY", "user": "a"}), ScimType::InvalidValue, "type"),
        (json!({"type": "EMAIL", "user": "a"}), ScimType::InvalidValue, "\"email\" is required"),
        (json!({"type": "SMS", "user": "a"}), ScimType::InvalidValue, "\"phone\" is required"),
        (json!({"type": "PIN", "user": "a"}), ScimType::InvalidValue, "\"pin\" is required"),
        (json!({"type": "PIN", "user": "a", "email": "123456789"}), ScimType::InvalidValue, "does not apply"),
        (
            json!({"type": "TOTP", "user": "a", "phone": "666555444"}),
            ScimType::InvalidValue,
            "does not apply",
        ),
        (json!({"type": "TOTP", "user": "a", "colour": "red"}), ScimType::InvalidSyntax, "unknown attribute"),
        (json!({"type": "TOTP", "user": ""}), ScimType::InvalidValue, "user"),
        (json!({"type": "TOTP", "user": "x".repeat(65)}), ScimType::InvalidValue, "user"),
        (json!({"type": "TOTP", "user": 7}), ScimType::InvalidValue, "string"),
        (json!({"type": "EMAIL", "user": "a", "email": "not-an-address"}), ScimType::InvalidValue, "email"),
        (json!({"type": "SMS", "user": "a", "phone": "12-34"}), ScimType::InvalidValue, "phone"),
        (json!({"type": "PIN", "user": "a", "pin": "123"}), ScimType::InvalidValue, "4 to 32"),
        (json!({"type": "TOTP", "user": "a", "digits": 7}), ScimType::InvalidValue, "6 or 8"),
        (json!({"type": "TOTP", "user": "a", "period": 5}), ScimType::InvalidValue, "period"),
        (json!({"type": "TOTP", "user": "a", "algorithm": "MD5"}), ScimType::InvalidValue, "SHA1"),
        (json!({"type": "TOTP", "user": "a", "status": "V"}), ScimType::InvalidValue, "starts as C"),
        (json!({"type": "TOTP", "user": "a", "schemas": ["urn:x"]}), ScimType::InvalidValue, "schemas"),
    ];
    for (body, scim_type, words) in cases {
        let problem = validate_create(body, &defaults).expect_err(&body.to_string());
        assert_eq!(problem.scim_type(), *scim_type, "{body}: {problem}");
        assert!(problem.to_string().contains(words), "{body}: {problem}");
    }
}

fn patch(device: &OtpDevice, body: serde_json::Value) -> Result<Changes, Problem> {
    apply_patch(device, &PatchOp::from_json(&body)?)
}

#[test]
fn patch_examples_of_the_seeds() {
    // "Update partial" and Workflow 1 step 4: enable; Workflow 2 step 2: disable. No `schemas`.
    let enable = json!({"Operations": [{"op": "replace", "path": "status", "value": "V"}]});
    let disable = json!({"Operations": [{"op": "replace", "path": "status", "value": "D"}]});
    let created = device(DeviceType::Totp, Status::Created, 0);
    assert_eq!(patch(&created, enable.clone()).unwrap().status, Status::Validated);
    assert_eq!(
        patch(&device(DeviceType::Email, Status::Validated, 0), disable).unwrap().status,
        Status::Disabled
    );
    // Enabling a locked device clears its failures (the SPA's "unlock").
    let locked = device(DeviceType::Totp, Status::Locked, 5);
    let unlocked = patch(&locked, enable).unwrap();
    assert_eq!((unlocked.status, unlocked.fails), (Status::Validated, 0));
}

#[test]
fn patch_forms_and_rules() {
    let d = device(DeviceType::Totp, Status::Validated, 3);
    let with_schemas = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "value": {"status": "d", "fails": 0}}]
    });
    let c = patch(&d, with_schemas).unwrap();
    assert_eq!((c.status, c.fails), (Status::Disabled, 0));
    let add = json!({"Operations": [{"op": "ADD", "path": "urn:soffid:com.soffid.iam.addons.otp.common.OtpDevice:fails", "value": 1}]});
    assert_eq!(patch(&d, add).unwrap().fails, 1);
    let pin = device(DeviceType::Pin, Status::Validated, 0);
    let new_pin =
        patch(&pin, json!({"Operations": [{"op": "replace", "path": "pin", "value": "98765"}]})).unwrap();
    assert_eq!(new_pin.pin.as_deref(), Some("98765"));

    let refused: &[(serde_json::Value, ScimType)] = &[
        (json!({"Operations": [{"op": "replace", "path": "status", "value": "C"}]}), ScimType::InvalidValue),
        (json!({"Operations": [{"op": "replace", "path": "status", "value": "X"}]}), ScimType::InvalidValue),
        (json!({"Operations": [{"op": "replace", "path": "fails", "value": -1}]}), ScimType::InvalidValue),
        (json!({"Operations": [{"op": "replace", "path": "fails", "value": "0"}]}), ScimType::InvalidValue),
        (json!({"Operations": [{"op": "replace", "path": "status"}]}), ScimType::InvalidValue),
        (json!({"Operations": [{"op": "remove", "path": "status"}]}), ScimType::InvalidValue),
        (json!({"Operations": [{"op": "remove"}]}), ScimType::NoTarget),
        (json!({"Operations": [{"op": "replace", "path": "user", "value": "eve"}]}), ScimType::Mutability),
        (json!({"Operations": [{"op": "replace", "path": "type", "value": "HOTP"}]}), ScimType::Mutability),
        (json!({"Operations": [{"op": "replace", "path": "id", "value": 1}]}), ScimType::Mutability),
        (
            json!({"Operations": [{"op": "replace", "path": "meta.created", "value": "x"}]}),
            ScimType::Mutability,
        ),
        (json!({"Operations": [{"op": "replace", "value": {"name": "mine"}}]}), ScimType::Mutability),
        (json!({"Operations": [{"op": "replace", "path": "colour", "value": "red"}]}), ScimType::InvalidPath),
        (
            json!({"Operations": [{"op": "replace", "path": "status[value eq \"V\"]", "value": "D"}]}),
            ScimType::InvalidPath,
        ),
        (json!({"Operations": [{"op": "replace", "value": {"colour": "red"}}]}), ScimType::InvalidPath),
        (json!({"Operations": [{"op": "replace", "path": "pin", "value": "1234"}]}), ScimType::InvalidValue),
        (json!({"Operations": [{"op": "move", "path": "status", "value": "V"}]}), ScimType::InvalidSyntax),
        (json!({"Operations": []}), ScimType::InvalidSyntax),
        (json!({"operations": "status=V"}), ScimType::InvalidSyntax),
        (
            json!({"schemas": ["urn:x"], "Operations": [{"op": "replace", "path": "status", "value": "V"}]}),
            ScimType::InvalidSyntax,
        ),
        (json!({"Operations": [{"op": "replace", "path": 5, "value": "V"}]}), ScimType::InvalidSyntax),
        (json!({"Operations": [{"op": "replace", "value": "V"}]}), ScimType::InvalidSyntax),
    ];
    for (body, scim_type) in refused {
        let problem = patch(&d, body.clone()).expect_err(&body.to_string());
        assert_eq!(problem.scim_type(), *scim_type, "{body}: {problem}");
    }
    // All or nothing: a good operation before a bad one still yields an error, never a half state.
    let mixed = json!({"Operations": [
        {"op": "replace", "path": "status", "value": "D"},
        {"op": "replace", "path": "user", "value": "eve"}
    ]});
    assert_eq!(patch(&d, mixed).unwrap_err(), Problem::Mutability { attribute: "user" });
}

#[test]
fn put_replaces_mutable_attributes_and_guards_immutable_ones() {
    let d = device(DeviceType::Email, Status::Validated, 2);
    let same = serde_json::to_value(&d).unwrap();
    let mut body = same.clone();
    body["status"] = json!("D");
    body["fails"] = json!(0);
    body["email"] = json!("DILBERT@soffid.com");
    let c = validate_replace(&d, &body).unwrap();
    assert_eq!((c.status, c.fails), (Status::Disabled, 0));
    for (attribute, value) in [("user", json!("eve")), ("type", json!("SMS")), ("email", json!("x@y.com"))] {
        let mut body = same.clone();
        body[attribute] = value;
        let problem = validate_replace(&d, &body).unwrap_err();
        assert_eq!(problem.scim_type(), ScimType::Mutability, "{attribute}");
    }
    let mut body = same;
    body["status"] = json!("C");
    assert_eq!(validate_replace(&d, &body).unwrap_err().scim_type(), ScimType::InvalidValue);
}

/// RFC 7643 §3.1's `externalId`: set by the provisioning client on create, PUT or PATCH, removed by
/// PATCH `remove` or a PUT without it, case-exact, and never empty.
#[test]
fn external_id_is_the_clients_to_set_and_clear() {
    let new = validate_create(
        &json!({"type": "TOTP", "user": "u", "externalId": "Entra-7f3a"}),
        &Defaults::default(),
    )
    .unwrap();
    assert_eq!(new.external_id.as_deref(), Some("Entra-7f3a"));
    let plain =
        validate_create(&json!({"type": "PIN", "user": "u", "pin": "1234"}), &Defaults::default()).unwrap();
    assert_eq!(plain.external_id, None);

    let mut d = device(DeviceType::Totp, Status::Validated, 0);
    let set = json!({"Operations": [{"op": "add", "path": "externalId", "value": "a-1"}]});
    assert_eq!(patch(&d, set).unwrap().external_id.as_deref(), Some("a-1"));
    let by_object = json!({"Operations": [{"op": "replace", "value": {"EXTERNALID": "b-2", "status": "D"}}]});
    let c = patch(&d, by_object).unwrap();
    assert_eq!((c.external_id.as_deref(), c.status), (Some("b-2"), Status::Disabled));

    d.external_id = Some("a-1".into());
    let remove = json!({"Operations": [{"op": "remove", "path": "externalId"}]});
    assert_eq!(patch(&d, remove).unwrap().external_id, None);
    let mut body = serde_json::to_value(&d).unwrap();
    assert_eq!(validate_replace(&d, &body).unwrap().external_id.as_deref(), Some("a-1"));
    body.as_object_mut().unwrap().remove("externalId");
    assert_eq!(validate_replace(&d, &body).unwrap().external_id, None, "PUT replaces: absent is unassigned");

    for bad in [json!(""), json!(7), json!("a\u{7}b"), json!("x".repeat(257))] {
        let create =
            validate_create(&json!({"type": "TOTP", "user": "u", "externalId": bad}), &Defaults::default());
        assert_eq!(create.unwrap_err().scim_type(), ScimType::InvalidValue, "{bad}");
        let op = json!({"Operations": [{"op": "replace", "path": "externalId", "value": bad}]});
        assert_eq!(patch(&d, op).unwrap_err().scim_type(), ScimType::InvalidValue, "{bad}");
    }
    let filter = Condition::compile(&DEVICE, r#"externalId eq "a-1""#).unwrap();
    assert!(filter.matches(&serde_json::to_value(&d).unwrap()));
    assert!(
        !Condition::compile(&DEVICE, r#"externalId eq "A-1""#)
            .unwrap()
            .matches(&serde_json::to_value(&d).unwrap()),
        "case-exact"
    );
}

#[test]
fn projection_keeps_what_always_returns() {
    let d = device(DeviceType::Totp, Status::Validated, 0);
    let project = |attributes: Option<&str>, excluded: Option<&str>| {
        let mut value = serde_json::to_value(&d).unwrap();
        Projection::parse(&DEVICE, attributes, excluded).unwrap().apply(value.as_object_mut().unwrap());
        let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        (keys, value["meta"].clone())
    };
    let (keys, meta) =
        project(Some("USER, urn:soffid:com.soffid.iam.addons.otp.common.OtpDevice:status"), None);
    assert_eq!(keys, ["id", "meta", "schemas", "status", "user"]);
    assert_eq!(meta, json!({"resourceType": "OtpDevice"}));
    let (keys, meta) = project(Some("meta.version,userName"), None);
    assert_eq!(keys, ["id", "meta", "schemas"]);
    assert_eq!(meta, json!({"resourceType": "OtpDevice", "version": "W/\"1\""}));
    let (keys, meta) = project(None, Some("meta,fails,id"));
    assert!(
        !keys.contains(&"fails".to_owned())
            && keys.contains(&"id".to_owned())
            && keys.contains(&"user".to_owned())
    );
    assert_eq!(meta, json!({"resourceType": "OtpDevice"}));
    assert!(Projection::parse(&DEVICE, Some("user"), Some("fails")).is_err());
    assert!(Projection::parse(&DEVICE, Some(&vec!["user"; 101].join(",")), None).is_err());
}

#[test]
fn paging_and_sorting() {
    assert_eq!(Page::new(None, None), Page { start_index: 1, count: 100 });
    assert_eq!(Page::new(Some(-5), Some(5000)), Page { start_index: 1, count: 1000 });
    assert_eq!(Page::new(Some(90_001), Some(0)).offset(), 90_000);
    assert_eq!(Page::new(None, Some(-3)).count, 0);
    let sort = Sort::parse(&DEVICE, Some("lastused"), Some("DESCENDING")).unwrap();
    // RFC 7644 §3.4.2.3: resources without the value sort last ascending, first descending.
    assert_eq!(Sort::order_by_sql(sort.as_ref()), "last_used DESC NULLS FIRST, id DESC");
    let sort = Sort::parse(&DEVICE, Some("externalId"), None).unwrap();
    assert_eq!(Sort::order_by_sql(sort.as_ref()), "external_id ASC NULLS LAST, id ASC");
    assert_eq!(Sort::order_by_sql(None), "id ASC");
    assert_eq!(Sort::parse(&DEVICE, Some("pin"), None).unwrap_err().scim_type(), ScimType::InvalidValue);
    assert_eq!(
        Sort::parse(&DEVICE, Some("user"), Some("up")).unwrap_err().scim_type(),
        ScimType::InvalidValue
    );
}

#[test]
fn discovery_documents_come_from_the_table() {
    let schema = serde_json::to_value(schema(&DEVICE, "https://h/scim/v2")).unwrap();
    assert_eq!(schema["id"], DEVICE_SCHEMA);
    let attribute = |name: &str| {
        schema["attributes"].as_array().unwrap().iter().find(|a| a["name"] == name).unwrap().clone()
    };
    assert_eq!(attribute("type")["canonicalValues"], json!(["TOTP", "HOTP", "EMAIL", "SMS", "PIN"]));
    assert_eq!(attribute("status")["canonicalValues"], json!(["C", "V", "L", "D"]));
    assert_eq!(attribute("pin")["returned"], "never");
    assert_eq!(attribute("pin")["mutability"], "writeOnly");
    assert_eq!(attribute("user")["required"], true);
    assert_eq!(attribute("phone")["required"], false);
    assert!(attribute("phone")["description"].as_str().unwrap().ends_with("Required when type is SMS."));
    assert!(attribute("pin")["description"].as_str().unwrap().ends_with("Required when type is PIN."));
    assert_eq!(attribute("id")["type"], "integer");
    // Soffid's "2024-01-31 10:00:00" is no xsd:dateTime: a client that parses by the schema
    // (scim2-models does) must be told it is a string; meta's times are RFC 3339 dateTimes.
    assert_eq!(
        (attribute("lastUsed")["type"].as_str(), attribute("created")["type"].as_str()),
        (Some("string"), Some("string"))
    );
    let meta = attribute("meta");
    let meta_created =
        meta["subAttributes"].as_array().unwrap().iter().find(|a| a["name"] == "created").unwrap();
    assert_eq!(meta_created["type"], "dateTime");
    assert_eq!(attribute("meta")["subAttributes"].as_array().unwrap().len(), 5);
    let spc = serde_json::to_value(service_provider_config("https://h/scim/v2", false)).unwrap();
    assert_eq!(spc["filter"], json!({"supported": true, "maxResults": 1000}));
    assert_eq!(spc["bulk"]["supported"], false);
    assert_eq!(spc["authenticationSchemes"].as_array().unwrap().len(), 1);
}
