//! Authenticator policies (SPEC §18) through the whole API, on rusqlite.

use super::users::{ACME_ADMIN, at, tenant_settings};
use super::*;

const POLICY_SCHEMA: &str = shared::policy::POLICY_SCHEMA;
const POLICIES: &str = "/Policy/Authenticator";

fn codes(list: &Value) -> Vec<&str> {
    list["Resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect()
}

fn policy(api: &Api, code: &str) -> Value {
    let (status, json) = api.call("GET", &format!("{POLICIES}/{code}"), None);
    assert_eq!(status, 200, "{json}");
    json
}

#[test]
fn every_tenant_starts_with_the_built_in_policies_once() {
    let api = Api::with(tenant_settings());
    let (status, list) = api.call("GET", POLICIES, None);
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        codes(&list),
        [
            "AT_CUSTOTP",
            "AT_CUSTPW",
            "AT_CUSTQA",
            "AT_EMPOTP",
            "AT_EMPPWD",
            "AT_EMPQA",
            "AT_HOTP",
            "AT_OOBEML",
            "AT_OOBSMS",
            "AT_TDS"
        ]
    );
    let totp = policy(&api, "AT_EMPOTP");
    assert_eq!(
        (
            totp["kind"].as_str(),
            totp["default"].as_bool(),
            totp["maxFails"].as_i64(),
            totp["digits"].as_i64()
        ),
        (Some("TOTP"), Some(true), Some(i64::from(settings().max_fails)), Some(6))
    );
    assert_eq!(totp["meta"]["location"], "http://127.0.0.1:3000/scim/v2/Policy/Authenticator/AT_EMPOTP");
    let questions = policy(&api, "AT_CUSTQA");
    assert_eq!(
        questions["prompts"][0],
        json!({"value": "PR_SIBLING", "display": "Your oldest sibling's middle name"})
    );
    assert_eq!(
        (questions["promptsRequiredForCreation"].as_i64(), questions["promptsAskedAtValidation"].as_i64()),
        (Some(3), Some(2))
    );

    // A deleted built-in does not come back: the set is written once per tenant.
    assert_eq!(api.call("DELETE", &format!("{POLICIES}/AT_TDS"), None).0, 204);
    assert_eq!(api.call("GET", &format!("{POLICIES}/AT_TDS"), None).0, 404);
    assert_eq!(api.call("GET", &format!("{POLICIES}?count=0"), None).1["totalResults"], 9);
    // Another tenant has its own ten, written on its first request.
    let (status, acme, _) = at(&api, ACME_ADMIN, "GET", &format!("/scim/acme/v2{POLICIES}?count=0"), None);
    assert_eq!((status, acme["totalResults"].as_i64()), (200, Some(10)));
    let seeded: i64 = api
        .db
        .query_row("SELECT count(*) FROM audit WHERE action = 'tenant-seeded'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(seeded, 2);
}

#[test]
fn policies_have_full_scim() {
    let api = Api::new();
    let body = json!({"schemas": [POLICY_SCHEMA], "id": "AT_KIOSK", "displayName": "Kiosk OTP", "kind": "TOTP",
                      "maxFails": "3", "validityDays": 90, "digits": 8, "period": 60});
    let (status, created, response) = api.call_as(ADMIN, "POST", POLICIES, Some(body.clone()), &[]);
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        response.header("location"),
        Some("http://127.0.0.1:3000/scim/v2/Policy/Authenticator/AT_KIOSK")
    );
    assert_eq!(
        (
            created["maxFails"].as_i64(),
            created["digits"].as_i64(),
            created["period"].as_i64(),
            created["default"].as_bool()
        ),
        (Some(3), Some(8), Some(60), Some(false))
    );
    let before = api.rows("policies");
    let (status, taken) = api.call("POST", POLICIES, Some(body));
    assert_eq!((status, taken["scimType"].as_str()), (409, Some("uniqueness")));
    assert_eq!(api.rows("policies"), before, "the refused create changed nothing");

    // Filter, sort, paging and projection, as every resource.
    let (_, totp) = api.call(
        "GET",
        &format!("{POLICIES}?filter=kind%20eq%20%22totp%22&sortBy=maxFails&attributes=id"),
        None,
    );
    assert_eq!(codes(&totp), ["AT_KIOSK", "AT_CUSTOTP", "AT_EMPOTP"]);
    assert_eq!(totp["Resources"][0].get("maxFails"), None, "projected");
    let (_, search) = api.call(
        "POST",
        &format!("{POLICIES}/.search"),
        Some(json!({"filter": "validityDays gt 0 or default eq true", "count": 2, "startIndex": 2})),
    );
    assert_eq!((search["totalResults"].as_i64(), codes(&search)), (Some(7), vec!["AT_EMPPWD", "AT_EMPQA"]));

    // PUT replaces (what is left out takes the kind's default), PATCH changes what it names.
    let path = format!("{POLICIES}/AT_KIOSK");
    let (status, replaced) = api.call("PUT", &path, Some(json!({"displayName": "Kiosk", "maxFails": 4})));
    assert_eq!(status, 200, "{replaced}");
    assert_eq!((replaced["digits"].as_i64(), replaced["validityDays"].as_i64()), (Some(6), Some(0)));
    let patch = json!({"Operations": [{"op": "replace", "path": "validityDays", "value": 30}]});
    let (status, patched, response) = api.call_as(ADMIN, "PATCH", &path, Some(patch.clone()), &[]);
    assert_eq!(
        (status, patched["validityDays"].as_i64(), patched["maxFails"].as_i64()),
        (200, Some(30), Some(4))
    );
    let etag = response.header("etag").unwrap().to_owned();
    let stale = [("if-match", replaced["meta"]["version"].as_str().unwrap())];
    let before = api.rows("policies");
    assert_eq!(api.call_as(ADMIN, "PATCH", &path, Some(patch), &stale).0, 412);
    assert_eq!(api.call_as(ADMIN, "DELETE", &path, None, &stale).0, 412);
    assert_eq!(api.rows("policies"), before, "stale writes changed nothing");
    assert_eq!(api.call_as(ADMIN, "DELETE", &path, None, &[("if-match", &etag)]).0, 204);
    assert_eq!(api.call("GET", &path, None).0, 404);
    let (status, gone) = api.call("DELETE", &path, None);
    assert_eq!(
        (status, gone["detail"].as_str()),
        (404, Some("AuthenticatorPolicy AT_KIOSK does not exist."))
    );
    // A create without `id` gets a code from the service (RFC 7643 §3.1), and `externalId` is kept.
    let (status, assigned) = api.call(
        "POST",
        POLICIES,
        Some(json!({"kind": "OOB_EMAIL", "externalId": "crm-7", "displayName": "Mail"})),
    );
    assert_eq!(status, 201, "{assigned}");
    let code = assigned["id"].as_str().unwrap();
    assert!(code.len() == 13 && code.starts_with("AP_") && shared::policy::is_code(code), "{code}");
    assert_eq!(
        (assigned["externalId"].as_str(), assigned["codeTtlSeconds"].as_i64()),
        (Some("crm-7"), Some(300))
    );
    let (_, by_external) = api.call("GET", &format!("{POLICIES}?filter=externalId%20eq%20%22crm-7%22"), None);
    assert_eq!(codes(&by_external), [code]);
    assert_eq!(api.call("DELETE", &format!("{POLICIES}/{code}"), None).0, 204);
    let actions: Vec<String> = api
        .db
        .prepare("SELECT action FROM audit WHERE action LIKE 'policy-%' ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        actions,
        [
            "policy-create",
            "policy-replace",
            "policy-replace",
            "policy-delete",
            "policy-create",
            "policy-delete"
        ]
    );
}

/// One default per kind: a new default takes it from the old one, and the default can be
/// neither deleted nor unset until another policy of its kind takes it.
#[test]
fn each_kind_keeps_one_default() {
    let api = Api::new();
    let body = json!({"id": "AT_NEW", "kind": "TOTP", "default": true});
    assert_eq!(api.call("POST", POLICIES, Some(body)).0, 201);
    assert_eq!(policy(&api, "AT_EMPOTP")["default"], false);
    let before = api.rows("policies");
    for (method, body) in [
        ("DELETE", None),
        ("PATCH", Some(json!({"Operations": [{"op": "replace", "path": "default", "value": false}]}))),
    ] {
        let (status, error) = api.call(method, &format!("{POLICIES}/AT_NEW"), body);
        assert_eq!(status, 409, "{method}: {error}");
        assert!(
            error["detail"].as_str().unwrap().starts_with("Policy AT_NEW is the default of its kind"),
            "{error}"
        );
    }
    assert_eq!(api.rows("policies"), before, "nothing changed");
    let take = json!({"Operations": [{"op": "replace", "path": "default", "value": true}]});
    assert_eq!(api.call("PATCH", &format!("{POLICIES}/AT_EMPOTP"), Some(take)).0, 200);
    assert_eq!(api.call("DELETE", &format!("{POLICIES}/AT_NEW"), None).0, 204);
}

/// Every refused write is a SCIM 400, 403 or 404 that changes nothing.
#[test]
fn bad_policy_writes_change_nothing() {
    let api = Api::new();
    api.call("GET", POLICIES, None);
    let before = api.rows("policies");
    for (who, method, path, body, status, scim_type) in [
        (
            ADMIN,
            "POST",
            POLICIES.to_owned(),
            json!({"id": "AT_LDAP", "kind": "LDAP"}),
            400,
            Some("invalidValue"),
        ),
        (
            ADMIN,
            "POST",
            POLICIES.to_owned(),
            json!({"id": "lower", "kind": "TOTP"}),
            400,
            Some("invalidValue"),
        ),
        (
            ADMIN,
            "POST",
            POLICIES.to_owned(),
            json!({"id": "AT_X", "kind": "PASSWORD", "period": 30}),
            400,
            Some("invalidValue"),
        ),
        (
            ADMIN,
            "POST",
            POLICIES.to_owned(),
            json!({"id": "AT_X", "kind": "SECURITY_QUESTION"}),
            400,
            Some("invalidValue"),
        ),
        (
            ADMIN,
            "PUT",
            format!("{POLICIES}/AT_EMPOTP"),
            json!({"kind": "HOTP", "default": true}),
            400,
            Some("mutability"),
        ),
        (
            ADMIN,
            "PUT",
            format!("{POLICIES}/AT_EMPOTP"),
            json!({"id": "AT_OTHER", "default": true}),
            400,
            Some("mutability"),
        ),
        (ADMIN, "PUT", format!("{POLICIES}/AT_NOPE"), json!({"default": true}), 404, None),
        (READER, "POST", POLICIES.to_owned(), json!({"id": "AT_X", "kind": "TOTP"}), 403, None),
        (READER, "DELETE", format!("{POLICIES}/AT_CUSTOTP"), Value::Null, 403, None),
    ] {
        let body = (!body.is_null()).then_some(body);
        let (got, error, _) = api.call_as(who, method, &path, body, &[]);
        assert_eq!((got, error["scimType"].as_str()), (status, scim_type), "{method} {path}: {error}");
        assert_eq!(api.rows("policies"), before, "{method} {path} changed nothing");
    }
    assert_eq!(
        api.call_as(READER, "GET", &format!("{POLICIES}/AT_CUSTOTP"), None, &[]).0,
        200,
        "invoke reads"
    );
}

/// One tenant's policies are invisible from another: same codes, separate rows.
#[test]
fn policies_are_per_tenant() {
    let api = Api::with(tenant_settings());
    let acme = |method: &str, path: &str, body: Option<Value>| {
        at(&api, ACME_ADMIN, method, &format!("/scim/acme/v2{path}"), body)
    };
    let (status, _, _) = acme("POST", POLICIES, Some(json!({"id": "AT_ACME", "kind": "HOTP"})));
    assert_eq!(status, 201);
    let change = json!({"Operations": [{"op": "replace", "path": "maxFails", "value": 9}]});
    assert_eq!(acme("PATCH", &format!("{POLICIES}/AT_EMPOTP"), Some(change)).0, 200);
    assert_eq!(api.call("GET", &format!("{POLICIES}/AT_ACME"), None).0, 404);
    assert_eq!(policy(&api, "AT_EMPOTP")["maxFails"].as_i64(), Some(i64::from(settings().max_fails)));
    assert_eq!(api.call("GET", &format!("{POLICIES}?count=0"), None).1["totalResults"], 10);
    assert_eq!(
        at(&api, ACME_ADMIN, "GET", &format!("/scim/v2{POLICIES}"), None).0,
        404,
        "acme's admin has no default tenant"
    );
}
