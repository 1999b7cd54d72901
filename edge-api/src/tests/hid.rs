//! HID's `/Authenticator` (SPEC §14) over the store the Soffid dialect uses: create with the
//! credential of the policy's kind, read, search, replace, PATCH, delete, and what each dialect
//! sees of the other's writes.

use super::*;

fn create(api: &Api, body: Value) -> Value {
    let (status, created) = api.call("POST", "/Authenticator", Some(body));
    assert_eq!(status, 201, "{created}");
    created
}

fn get(api: &Api, id: &str) -> Value {
    let (status, found) = api.call("GET", &format!("/Authenticator/{id}"), None);
    assert_eq!(status, 200, "{found}");
    found
}

/// Everything stored about users, authenticators and devices: a refused request changes none.
fn everything(api: &Api) -> String {
    ["users", "authenticators", "devices"].map(|t| api.rows(t)).join("\n--\n")
}

#[test]
fn a_totp_authenticator_enrols_its_device_once_and_counts_its_validations() {
    let api = Api::new();
    let user = new_user(&api, json!({"userName": "jdoe"}));
    let created = create(
        &api,
        json!({
            "schemas": ["urn:hid:scim:api:idp:2.0:Authenticator"],
            "status": {"status": "ENABLED", "startDate": "2020-09-11T16:45:46+00:00",
                       "expiryDate": "2035-09-11T16:45:46+00:00"},
            "owner": {"value": user.to_string()},
            "policy": {"value": "AT_CUSTOTP"}
        }),
    );
    let id = format!("{user}.AT_CUSTOTP");
    assert_eq!(created["id"], id.as_str());
    assert_eq!(created["externalId"], "jdoe");
    assert_eq!(created["owner"]["display"], "jdoe");
    assert_eq!(created["status"]["startDate"], "2020-09-11T16:45:46Z");
    assert_eq!(created["status"]["active"], true, "{created}");
    let enrollment = &created[ENROLLMENT_EXT];
    let device = enrollment["deviceId"].as_i64().unwrap();
    let secret = secret_of(enrollment["otpauthUri"].as_str().unwrap());
    assert!(enrollment["image"].as_str().unwrap().len() > 100);
    assert!(created["schemas"].as_array().unwrap().contains(&json!(ENROLLMENT_EXT)));
    // Shown once: a read has no enrolment.
    let read = get(&api, &id);
    assert!(read.get(ENROLLMENT_EXT).is_none() && read.get("lastSuccessfulDevice").is_none());
    // The device is Soffid's too, and a validation there counts here.
    let (_, soffid) = api.call("GET", &format!("/OtpDevice/{device}"), None);
    assert_eq!((soffid["type"].as_str(), soffid["user"].as_str()), (Some("TOTP"), Some("jdoe")));
    assert_eq!(api.respond(device, &api.code(&secret))["success"], true);
    let read = get(&api, &id);
    assert_eq!(read["statistics"]["totalSuccess"], 1);
    assert_eq!(read["statistics"]["consecutiveSuccess"], 1);
    assert_eq!(read["lastSuccessfulDevice"]["value"], device.to_string());
    assert_ne!(read["meta"]["version"], created["meta"]["version"], "a validation is a new version");
}

#[test]
fn a_refused_create_says_why_and_changes_nothing() {
    let api = Api::new();
    let user = new_user(&api, json!({"userName": "jdoe"}));
    create(&api, json!({"owner": {"value": user}, "policy": {"value": "AT_EMPOTP"}}));
    let before = everything(&api);
    let refused = |body: Value, status: u16, scim_type: &str| {
        let (got, error) = api.call("POST", "/Authenticator", Some(body.clone()));
        assert_eq!((got, error["scimType"].as_str()), (status, Some(scim_type)), "{body} → {error}");
        assert_eq!(everything(&api), before, "{body} changed something");
    };
    refused(json!({"owner": {"value": user}, "policy": {"value": "AT_EMPOTP"}}), 409, "uniqueness");
    refused(json!({"owner": {"value": user}, "policy": {"value": "AT_LDAP"}}), 400, "invalidValue");
    refused(json!({"owner": {"value": 999}, "policy": {"value": "AT_HOTP"}}), 400, "invalidValue");
    refused(json!({"owner": {"value": user}, "policy": {"value": "AT_OOBEML"}}), 400, "invalidValue");
    refused(json!({"owner": {"value": user}, "policy": {"value": "AT_CUSTPW"}}), 400, "invalidValue");
    refused(json!({"owner": {"value": user}}), 400, "invalidValue");
    refused(
        json!({"owner": {"value": user}, "policy": {"value": "AT_HOTP"}, "color": 1}),
        400,
        "invalidSyntax",
    );
    refused(
        json!({"owner": {"value": user}, "policy": {"value": "AT_HOTP"},
               "status": {"startDate": "2030-01-01T00:00:00Z", "expiryDate": "2029-01-01T00:00:00Z"}}),
        400,
        "invalidValue",
    );
    let (status, _) = api.call("GET", "/Authenticator/1.AT_LDAP", None);
    assert_eq!(status, 404);
}

#[test]
fn passwords_and_answers_are_kept_hashed_and_never_returned() {
    let api = Api::new();
    let user = new_user(&api, json!({"userName": "user12345"}));
    let created = create(
        &api,
        json!({"schemas": ["urn:hid:scim:api:idp:2.0:Authenticator"], "policy": {"value": "AT_CUSTPW"},
               "owner": {"value": user.to_string()},
               PASSWORD_EXT: {"username": "user12345", "password": "Zaqaawsx12"}}),
    );
    assert_eq!(created[PASSWORD_EXT], json!({"username": "user12345"}));
    let device = created[ENROLLMENT_EXT]["deviceId"].as_i64().unwrap();
    assert_eq!(api.respond(device, "Zaqaawsx12")["success"], true, "the password is the PIN device's");
    let questions = create(
        &api,
        json!({"policy": {"value": "AT_CUSTQA"}, "owner": {"value": user},
               QUESTIONS_EXT: {"prompts": [
                   {"prompt": {"value": "PR_SIBLING"}, "answer": "Sibling  Name"},
                   {"prompt": {"value": "PR_NICK"}, "answer": "Bobo the Great"},
                   {"prompt": {"value": "PR_ANIMAL"}, "answer": "animal name"}]}}),
    );
    let prompts = &questions[QUESTIONS_EXT]["prompts"];
    assert_eq!(
        prompts[0],
        json!({"prompt": {"value": "PR_SIBLING", "display": "Your oldest sibling's middle name"}})
    );
    assert_eq!(questions[QUESTIONS_EXT]["promptsRequiredForCreation"], 3);
    assert!(questions.get(ENROLLMENT_EXT).is_none(), "security questions have no device");
    let stored = everything(&api) + &api.rows("audit");
    for secret in ["Zaqaawsx12", "sibling name", "Sibling  Name", "bobo the great", "animal name"] {
        assert!(!stored.contains(secret), "{secret} is stored in the clear");
        assert!(!get(&api, &format!("{user}.AT_CUSTQA")).to_string().contains(secret));
    }
    // A new password replaces the device's.
    let (status, _) = api.call(
        "PUT",
        &format!("/Authenticator/{user}.AT_CUSTPW"),
        Some(json!({"schemas": [PASSWORD_EXT], PASSWORD_EXT: {"username": "user12345", "password": "apqm2687"}})),
    );
    assert_eq!(status, 200);
    assert_eq!(api.respond(device, "Zaqaawsx12")["success"], false);
    assert_eq!(api.respond(device, "apqm2687")["success"], true);
}

#[test]
fn an_oob_authenticator_sends_to_the_owners_primary_address() {
    let api = Api::new();
    let user = new_user(
        &api,
        json!({"userName": "ann", "emails": [{"value": "a@old.example"}, {"value": "ann@example.com", "primary": true}]}),
    );
    let created = create(&api, json!({"owner": {"value": user}, "policy": {"value": "AT_OOBEML"}}));
    let device = created[ENROLLMENT_EXT]["deviceId"].as_i64().unwrap();
    let (_, soffid) = api.call("GET", &format!("/OtpDevice/{device}"), None);
    assert_eq!((soffid["type"].as_str(), soffid["email"].as_str()), (Some("EMAIL"), Some("ann@example.com")));
    // owner.display names a user by userName, created when absent.
    let ldap = create(&api, json!({"owner": {"display": "ldapuser"}, "policy": {"value": "AT_HOTP"}}));
    assert_eq!(ldap["owner"]["display"], "ldapuser");
    let (_, users) = api.call("GET", "/Users?filter=userName%20eq%20%22ldapuser%22", None);
    assert_eq!(users["totalResults"], 1);
}

#[test]
fn searches_filter_on_owner_policy_status_and_id_in_sql() {
    let api = Api::new();
    let first = new_user(&api, json!({"userName": "ann"}));
    let second = new_user(&api, json!({"userName": "bob", "active": false}));
    for (user, policy) in [(first, "AT_EMPOTP"), (first, "AT_HOTP"), (second, "AT_EMPOTP")] {
        create(&api, json!({"owner": {"value": user}, "policy": {"value": policy}}));
    }
    let ids = |filter: &str| -> Vec<String> {
        let (status, list) = api.call("POST", "/Authenticator/.search", Some(json!({"filter": filter})));
        assert_eq!(status, 200, "{filter}: {list}");
        list["Resources"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(
        ids(&format!("owner.value eq {first}")),
        [format!("{first}.AT_EMPOTP"), format!("{first}.AT_HOTP")]
    );
    assert_eq!(
        ids(&format!("owner.value eq \"{first}\" and id eq \"{first}.AT_HOTP\"")),
        [format!("{first}.AT_HOTP")]
    );
    assert_eq!(ids("policy.value eq \"AT_EMPOTP\"").len(), 2);
    assert_eq!(ids("status.active eq false"), [format!("{second}.AT_EMPOTP")], "bob is inactive");
    assert_eq!(ids("owner.display eq \"BOB\""), [format!("{second}.AT_EMPOTP")]);
    let (status, list) = api.call("GET", "/Authenticator?sortBy=id&sortOrder=descending&count=1", None);
    assert_eq!((status, list["totalResults"].as_i64()), (200, Some(3)));
    assert_eq!(list["Resources"][0]["id"], format!("{second}.AT_EMPOTP"));
    let (status, _) = api.call("GET", "/Authenticator?filter=shoeSize%20eq%201", None);
    assert_eq!(status, 400);
}

#[test]
fn disabling_replacing_and_deleting_show_in_both_views() {
    let api = Api::new();
    let user = new_user(&api, json!({"userName": "ann"}));
    let created = create(&api, json!({"owner": {"value": user}, "policy": {"value": "AT_EMPOTP"}}));
    let id = format!("{user}.AT_EMPOTP");
    let device = created[ENROLLMENT_EXT]["deviceId"].as_i64().unwrap();
    let secret = secret_of(created[ENROLLMENT_EXT]["otpauthUri"].as_str().unwrap());
    let path = format!("/Authenticator/{id}");
    let disabled_patch = || {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "replace", "path": "status.status", "value": "DISABLED"}]})
    };
    let (status, disabled) = api.call("PATCH", &path, Some(disabled_patch()));
    assert_eq!(status, 200, "{disabled}");
    assert_eq!(
        (disabled["status"]["status"].as_str(), disabled["status"]["active"].as_bool()),
        (Some("DISABLED"), Some(false))
    );
    assert_eq!(
        api.respond(device, &api.code(&secret))["success"],
        false,
        "a disabled authenticator validates nothing"
    );
    assert_eq!(get(&api, &id)["statistics"]["totalFailed"], 0, "and counts nothing");
    // Soffid's view shows the disable; enabling the authenticator restores each device's own
    // status, and enabling a device through Soffid enables its authenticator.
    let soffid_status = || api.call("GET", &format!("/OtpDevice/{device}"), None).1["status"].clone();
    assert_eq!(soffid_status(), "D");
    let enable = json!({"Operations": [{"op": "replace", "path": "status.status", "value": "ENABLED"}]});
    assert_eq!(api.call("PATCH", &path, Some(enable.clone())).0, 200);
    assert_eq!(soffid_status(), "C", "as it was before");
    assert_eq!(api.call("PATCH", &path, Some(disabled_patch())).0, 200);
    let soffid_enable = json!({"Operations": [{"op": "replace", "path": "status", "value": "V"}]});
    assert_eq!(api.call("PATCH", &format!("/OtpDevice/{device}"), Some(soffid_enable)).0, 200);
    assert_eq!(get(&api, &id)["status"]["status"], "ENABLED");
    assert_eq!(api.call("PATCH", &path, Some(disabled_patch())).0, 200);
    // If-Match guards a replace.
    let (status, _, _) = api.call_as(
        ADMIN,
        "PUT",
        &path,
        Some(json!({"status": {"status": "ENABLED"}})),
        &[("if-match", created["meta"]["version"].as_str().unwrap())],
    );
    assert_eq!(status, 412);
    let (status, enabled) =
        api.call("PUT", &path, Some(json!({"status": {"status": "ENABLED", "expiryDate": null}})));
    assert_eq!((status, enabled["status"]["active"].as_bool()), (200, Some(true)), "{enabled}");
    assert!(enabled["status"].get("expiryDate").is_none());
    let (status, error) = api.call("PUT", &path, Some(json!({"policy": {"value": "AT_HOTP"}})));
    assert_eq!((status, error["scimType"].as_str()), (400, Some("mutability")));
    let (status, error) = api.call(
        "PATCH",
        &path,
        Some(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "statistics.totalSuccess", "value": 9}]})),
    );
    assert_eq!((status, error["scimType"].as_str()), (400, Some("mutability")), "{error}");
    assert_eq!(api.call("DELETE", &path, None).0, 204);
    assert_eq!(api.call("GET", &path, None).0, 404);
    assert_eq!(api.call("GET", &format!("/OtpDevice/{device}"), None).0, 404, "its devices went with it");
}

#[test]
fn discovery_lists_the_authenticator_and_its_extensions() {
    let api = Api::new();
    let (_, types) = api.call("GET", "/ResourceTypes/Authenticator", None);
    assert_eq!(types["endpoint"], "/Authenticator");
    let extensions: Vec<&str> =
        types["schemaExtensions"].as_array().unwrap().iter().map(|e| e["schema"].as_str().unwrap()).collect();
    assert_eq!(extensions, [PASSWORD_EXT, QUESTIONS_EXT, ENROLLMENT_EXT]);
    let (status, password) = api.call("GET", &format!("/Schemas/{PASSWORD_EXT}"), None);
    assert_eq!(status, 200);
    assert_eq!(password["attributes"][1]["returned"], "never");
    let (_, core) = api.call("GET", "/Schemas/urn:hid:scim:api:idp:2.0:Authenticator", None);
    let names: Vec<&str> =
        core["attributes"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert!(!names.iter().any(|n| n.starts_with("urn:")), "extensions are schemas of their own: {names:?}");
    let (_, action) = api.call("GET", "/Schemas/urn:hid:scim:api:idp:2.0:Action", None);
    assert!(action["description"].as_str().unwrap().contains("3 locked by failures"));
}
