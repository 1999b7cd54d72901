//! `/Audit` (SPEC §12 as a resource): the tenant's audit trail, read-only, with the filter,
//! sort, paging and projection of every other listing.

use super::users::{ACME_ADMIN, at, tenant_settings};
use super::*;
use shared::Timestamp;

const PATCH_OP: &str = shared::model::PATCH_OP_SCHEMA;
const SEARCH_REQUEST: &str = shared::model::SEARCH_REQUEST_SCHEMA;
const ERROR: &str = shared::model::ERROR_SCHEMA;

fn list(api: &Api, query: &str) -> Value {
    let (status, json) = api.call("GET", &format!("/Audit?{query}"), None);
    assert_eq!(status, 200, "{query}: {json}");
    json
}

fn actions(list: &Value) -> Vec<&str> {
    list["Resources"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect()
}

fn filtered(api: &Api, filter: &str) -> Value {
    let encoded: String = filter.bytes().map(|b| format!("%{b:02X}")).collect();
    list(api, &format!("filter={encoded}&sortBy=id"))
}

/// Two devices' worth of history at three instants: creates at t0, a right and a wrong code at
/// t0 + 60, a disable at t0 + 120.
fn history(api: &Api) -> (i64, i64, i64) {
    let t0 = api.now.get();
    let (alice, secret) = api.totp_device_secret("alice");
    let bob = api.create(json!({"type": "HOTP", "user": "bob"}))["id"].as_i64().unwrap();
    api.now.set(t0 + 60);
    assert_eq!(api.respond(alice, &api.code(&secret))["success"], true);
    assert_eq!(api.respond(alice, "000000")["success"], false);
    api.now.set(t0 + 120);
    let (status, _) = api.call(
        "PATCH",
        &format!("/OtpDevice/{bob}"),
        Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"status": "D"}}]})),
    );
    assert_eq!(status, 200);
    (t0, alice, bob)
}

#[test]
fn the_audit_trail_filters_sorts_and_pages_in_sql() {
    let api = Api::new();
    let (t0, alice, bob) = history(&api);
    let everything = list(&api, "sortBy=id");
    let all = actions(&everything);
    assert_eq!(everything["totalResults"], all.len());
    for expected in ["user-create", "create", "challenge-success", "challenge-failure", "patch"] {
        assert!(all.contains(&expected), "{expected} in {all:?}");
    }

    // Newest first, two at a time: the disable, then the failure.
    let page = list(&api, "sortBy=at&sortOrder=descending&count=2");
    assert_eq!(page["totalResults"], all.len());
    assert_eq!(page["itemsPerPage"], 2);
    assert_eq!(actions(&page), ["patch", "challenge-failure"]);
    let next = list(&api, "sortBy=at&sortOrder=descending&count=2&startIndex=3");
    assert_eq!(actions(&next), ["challenge-success", "create"]);

    let failures = filtered(&api, r#"action eq "challenge-failure""#);
    assert_eq!(failures["totalResults"], 1);
    let failure = &failures["Resources"][0];
    assert_eq!((failure["deviceId"].as_i64(), failure["actor"].as_str()), (Some(alice), Some("admin")));
    assert_eq!(failure["detail"], "fails 1");

    let of_bob = filtered(&api, &format!("deviceId eq {bob}"));
    assert_eq!(actions(&of_bob), ["create", "patch"]);
    let validations = filtered(&api, &format!(r#"deviceId eq {alice} and action sw "challenge-""#));
    assert_eq!(actions(&validations), ["challenge-success", "challenge-failure"]);

    // A time range: what happened in the minute after the creates.
    let from = Timestamp(t0 + 30).to_rfc3339();
    let to = Timestamp(t0 + 90).to_rfc3339();
    let range = filtered(&api, &format!(r#"at ge "{from}" and at lt "{to}""#));
    assert_eq!(actions(&range), ["challenge-success", "challenge-failure"]);
    let by_meta = filtered(&api, &format!(r#"meta.created ge "{from}" and meta.lastModified lt "{to}""#));
    assert_eq!(by_meta["totalResults"], 2);

    let users = filtered(&api, r#"action eq "user-create" and userId pr"#);
    assert_eq!(users["totalResults"], 2, "alice and bob were created for their devices");
    let alice_id = users["Resources"][0]["userId"].as_str().unwrap().to_owned();
    assert_eq!(filtered(&api, &format!(r#"userId eq "{alice_id}""#))["totalResults"], 1);
    assert_eq!(filtered(&api, r#"actor eq "nobody""#)["totalResults"], 0);

    // Projection, and count=0 for a total alone.
    let only = list(&api, "count=1&attributes=action");
    let mut keys: Vec<&str> = only["Resources"][0].as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["action", "id", "meta", "schemas"]);
    let total = list(&api, "count=0&filter=action%20eq%20%22patch%22");
    assert_eq!(total["totalResults"], 1);
    assert!(total["Resources"].as_array().is_none_or(Vec::is_empty), "{total}");

    // POST /.search reads the same.
    let (status, searched) = api.call(
        "POST",
        "/Audit/.search",
        Some(json!({"schemas": [SEARCH_REQUEST], "filter": "action eq \"patch\"", "count": 5})),
    );
    assert_eq!((status, &searched["Resources"][0]["deviceId"]), (200, &json!(bob)), "{searched}");
}

#[test]
fn an_event_reads_alone_and_nothing_writes_one() {
    let api = Api::new();
    history(&api);
    let newest = &list(&api, "sortBy=id&sortOrder=descending&count=1")["Resources"][0];
    let id = newest["id"].as_str().unwrap().to_owned();
    let (status, event, response) = api.call_as(ADMIN, "GET", &format!("/Audit/{id}"), None, &[]);
    assert_eq!(status, 200, "{event}");
    assert_eq!(&event, newest);
    assert_eq!(event["schemas"], json!([shared::audit::AUDIT_SCHEMA]));
    assert_eq!(event["meta"]["resourceType"], "AuditEvent");
    assert_eq!(event["meta"]["created"], event["at"]);
    assert!(event["meta"]["location"].as_str().unwrap().ends_with(&format!("/scim/v2/Audit/{id}")));
    assert_eq!(response.header("etag"), Some("W/\"1\""));

    let (status, kind) = api.call("GET", "/ResourceTypes/AuditEvent", None);
    assert_eq!(
        (status, &kind["endpoint"], &kind["schema"]),
        (200, &json!("/Audit"), &json!(shared::audit::AUDIT_SCHEMA))
    );
    let (status, schema) = api.call("GET", &format!("/Schemas/{}", shared::audit::AUDIT_SCHEMA), None);
    assert_eq!(status, 200, "{schema}");
    let attributes = schema["attributes"].as_array().unwrap();
    let names: Vec<&str> = attributes.iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["id", "at", "actor", "action", "deviceId", "userId", "authenticator", "detail", "meta"]
    );
    assert!(attributes.iter().all(|a| a["mutability"] == "readOnly"), "{schema}");

    let before = api.rows("audit");
    for (method, path) in [
        ("POST", "/Audit".to_owned()),
        ("PUT", format!("/Audit/{id}")),
        ("PATCH", format!("/Audit/{id}")),
        ("DELETE", format!("/Audit/{id}")),
        ("GET", "/Audit/.search".to_owned()),
    ] {
        let (status, error) = api.call(method, &path, Some(json!({"action": "forged"})));
        assert_eq!(status, 405, "{method} {path}: {error}");
        assert_eq!(error["schemas"], json!([ERROR]), "{method} {path}");
    }
    for missing in ["999999", "0", "01", "abc", &format!("{id}.0")] {
        let (status, error) = api.call("GET", &format!("/Audit/{missing}"), None);
        assert_eq!(status, 404, "{missing}: {error}");
        assert_eq!(error["detail"], format!("Audit event {missing} does not exist."));
    }
    for (query, scim_type) in [
        ("filter=nosuch%20eq%201", "invalidFilter"),
        ("filter=action%20eq", "invalidFilter"),
        ("sortBy=nosuch", "invalidValue"),
    ] {
        let (status, error) = api.call("GET", &format!("/Audit?{query}"), None);
        assert_eq!((status, error["scimType"].as_str()), (400, Some(scim_type)), "{query}: {error}");
    }
    assert_eq!(api.rows("audit"), before, "refused requests wrote nothing");
}

#[test]
fn reading_the_audit_takes_invoke_and_stays_in_its_tenant() {
    let api = Api::with(tenant_settings());
    history(&api);
    let (status, read, _) = api.call_as(READER, "GET", "/Audit?count=1", None, &[]);
    assert_eq!((status, read["totalResults"].as_u64().unwrap() > 0), (200, true), "{read}");
    let default_ids: Vec<String> = list(&api, "count=100")["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();

    // A tenant's first request seeds its policies: its first event.
    let (status, acme, _) = at(&api, ACME_ADMIN, "GET", "/scim/acme/v2/Audit", None);
    assert_eq!((status, actions(&acme)), (200, vec!["tenant-seeded"]), "{acme}");
    let (status, _, _) = at(
        &api,
        ACME_ADMIN,
        "POST",
        "/scim/acme/v2/OtpDevice",
        Some(json!({"type": "TOTP", "user": "carol"})),
    );
    assert_eq!(status, 201);
    let (_, acme, _) = at(&api, ACME_ADMIN, "GET", "/scim/acme/v2/Audit?sortBy=id", None);
    assert_eq!(actions(&acme), ["tenant-seeded", "user-create", "create"]);
    for id in &default_ids {
        let (status, _, _) = at(&api, ACME_ADMIN, "GET", &format!("/scim/acme/v2/Audit/{id}"), None);
        assert_eq!(status, 404, "event {id} of the default tenant under acme");
    }
    let (_, default) = api.call("GET", "/Audit?count=0", None);
    assert_eq!(default["totalResults"], default_ids.len(), "acme's events are not the default tenant's");
}

#[test]
fn an_authenticators_events_carry_its_id() {
    let api = Api::new();
    let user = new_user(&api, json!({"userName": "jdoe"}));
    let (status, created) = api.call(
        "POST",
        "/Authenticator",
        Some(json!({"owner": {"value": user.to_string()}, "policy": {"value": "AT_EMPOTP"}})),
    );
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, answer) = api.call("POST", &format!("/Authenticator/{id}"), Some(action_body("RESET", &[])));
    assert_eq!(status, 200, "{answer}");
    let events = filtered(&api, &format!(r#"authenticator eq "{id}""#));
    assert_eq!(actions(&events), ["authenticator-create", "authenticator-reset"]);
    for event in events["Resources"].as_array().unwrap() {
        assert_eq!(event["userId"], user.to_string(), "{event}");
    }
    let (status, _) = api.call("DELETE", &format!("/Authenticator/{id}"), None);
    assert_eq!(status, 204);
    let events = filtered(&api, &format!(r#"authenticator eq "{id}""#));
    assert_eq!(
        actions(&events),
        ["authenticator-create", "authenticator-reset", "delete", "authenticator-delete"]
    );
}

#[test]
fn a_histogram_counts_events_per_interval_and_action_in_sql() {
    let api = Api::new();
    let t0 = 1_700_000_000 / 86_400 * 86_400;
    api.now.set(t0 + 10);
    let (device, secret) = api.totp_device_secret("alice");
    for (offset, right) in [(100, true), (200, false), (3700, false), (3800, false), (7300, true)] {
        api.now.set(t0 + offset);
        let code = if right { api.code(&secret) } else { "000000".to_owned() };
        assert_eq!(api.respond(device, &code)["success"], right);
    }
    let from = Timestamp(t0).to_rfc3339();
    let filter = format!(r#"at ge "{from}" and action sw "challenge-""#);
    let encoded: String = filter.bytes().map(|b| format!("%{b:02X}")).collect();
    let (status, histogram) = api.call("GET", &format!("/Audit/.histogram?filter={encoded}"), None);
    assert_eq!(status, 200, "{histogram}");
    assert_eq!(
        histogram,
        json!({
            "schemas": [shared::audit::AUDIT_HISTOGRAM_SCHEMA],
            "interval": 3600,
            "buckets": [
                {"start": Timestamp(t0).to_rfc3339(), "counts": {"challenge-failure": 1, "challenge-success": 1}},
                {"start": Timestamp(t0 + 3600).to_rfc3339(), "counts": {"challenge-failure": 2}},
                {"start": Timestamp(t0 + 7200).to_rfc3339(), "counts": {"challenge-success": 1}},
            ],
        })
    );
    let (_, daily) = api.call("GET", &format!("/Audit/.histogram?interval=86400&filter={encoded}"), None);
    let day = Timestamp(t0 / 86_400 * 86_400).to_rfc3339();
    assert_eq!(
        daily["buckets"],
        json!([{"start": day, "counts": {"challenge-failure": 3, "challenge-success": 2}}])
    );

    for query in ["interval=59", "interval=2678401", "interval=hour", "filter=nosuch%20eq%201"] {
        let (status, error) = api.call("GET", &format!("/Audit/.histogram?{query}"), None);
        assert_eq!(status, 400, "{query}: {error}");
    }
    let (status, _) = api.call("POST", "/Audit/.histogram", Some(json!({})));
    assert_eq!(status, 405);
    let (status, _, _) = api.call_as(READER, "GET", "/Audit/.histogram", None, &[]);
    assert_eq!(status, 200, "reading takes scim:invoke only");
}

/// Issue 32: every action the audit trail holds, whether the store or a trigger of the schema
/// wrote it, is an `AuditAction` as the enum spells it (the admin app filters and charts by them).
#[test]
fn every_action_written_is_an_audit_action() {
    let api = Api::new();
    let user = new_user(&api, json!({"userName": "aud"}));
    let (_, created) = api.call(
        "POST",
        "/Authenticator",
        Some(json!({"owner": {"value": user}, "policy": {"value": "AT_EMPOTP"}})),
    );
    let device = created[ENROLLMENT_EXT]["deviceId"].as_i64().unwrap();
    // A second device of the authenticator, which its lockout locks too.
    api.totp_device("aud");
    let id = format!("{user}.AT_EMPOTP");
    // Failures up to the lockout (triggers: challenge-failure, -locked, locked-with-authenticator).
    for _ in 0..5 {
        api.respond(device, "000000");
    }
    api.call("POST", &format!("/Authenticator/{id}"), Some(action_body("RESET", &[])));
    let status = |value: &str| {
        let body = json!({"Operations": [{"op": "replace", "path": "status.status", "value": value}]});
        assert_eq!(api.call("PATCH", &format!("/Authenticator/{id}"), Some(body)).0, 200);
    };
    status("DISABLED");
    status("ENABLED");
    api.call("POST", &format!("/OtpDevice/{device}/requestChallenge"), None);
    let mail = api.create(json!({"type": "EMAIL", "user": "aud", "email": "aud@example.com"}))["id"]
        .as_i64()
        .unwrap();
    api.call("GET", &format!("/OtpDevice/{mail}/requestChallenge"), None);
    let (_, message) = super::actions::last_message(&api);
    api.respond(mail, &message);
    api.call("DELETE", &format!("/OtpDevice/{mail}"), None);
    let actions: Vec<String> = api
        .db
        .prepare("SELECT DISTINCT action FROM audit ORDER BY 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for expected in [
        "challenge-failure-locked",
        "locked-with-authenticator",
        "disabled-with-authenticator",
        "challenge-success",
    ] {
        assert!(actions.iter().any(|a| a == expected), "{expected} not written: {actions:?}");
    }
    let unknown: Vec<&String> =
        actions.iter().filter(|a| shared::audit::AuditAction::parse(a).is_none()).collect();
    assert!(unknown.is_empty(), "not AuditActions: {unknown:?}");
}
