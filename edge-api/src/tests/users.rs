//! Users (SPEC §17) and tenants (SPEC §16) through the whole API, on rusqlite.

use super::*;

const USER_SCHEMA: &str = shared::model::USER_SCHEMA;
pub(super) const ACME_ADMIN: (&str, &str) = ("acme-admin", "acme-password");
const GLOBEX_ADMIN: (&str, &str) = ("globex-admin", "globex-password");
const OPERATOR: (&str, &str) = ("operator", "operator-password");

/// One request as `who`, on a whole path (any base path).
pub(super) fn at(
    api: &Api,
    who: (&str, &str),
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value, ApiResponse) {
    api.call_at(who, method, path, body, &[])
}

fn new_user(api: &Api, body: Value) -> Value {
    let (status, json) = api.call("POST", "/Users", Some(body));
    assert_eq!(status, 201, "{json}");
    json
}

fn ids(list: &Value) -> Vec<String> {
    list["Resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

fn filtered(api: &Api, filter: &str) -> Vec<String> {
    let (status, list) =
        api.call("POST", "/Users/.search", Some(json!({"filter": filter, "sortBy": "userName"})));
    assert_eq!(status, 200, "{filter}: {list}");
    list["Resources"].as_array().unwrap().iter().map(|r| r["userName"].as_str().unwrap().to_owned()).collect()
}

/// Every table a tenant's data lives in, to prove that a request changed nothing.
pub(super) fn everything(api: &Api) -> String {
    ["devices", "users", "user_contacts", "audit", "outbox", "authenticators", "challenges", "policies"]
        .iter()
        .map(|table| format!("{table}:\n{}", api.rows(table)))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn users_have_full_scim() {
    let api = Api::new();
    let ann = new_user(
        &api,
        json!({
            "schemas": [USER_SCHEMA], "userName": "ann@example.com", "externalId": "entra-1",
            "displayName": "Ann Lee", "name": {"givenName": "Ann", "familyName": "Lee"},
            "emails": [{"value": "ann@example.com", "type": "work", "primary": true},
                       {"value": "ann@home.example", "type": "Home"}],
            "phoneNumbers": [{"value": "+34600111222", "type": "mobile"}],
            "title": "ignored", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "IT"},
        }),
    );
    assert_eq!(ann["id"].as_str().map(|id| id.parse::<i64>().is_ok()), Some(true), "{ann}");
    assert_eq!((ann["active"].as_bool(), ann["meta"]["resourceType"].as_str()), (Some(true), Some("User")));
    assert_eq!(ann["emails"][1]["type"], "home", "canonical types are stored in lower case");
    assert!(
        ann.get("title").is_none()
            && ann["meta"]["location"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/Users/{}", ann["id"].as_str().unwrap()))
    );
    let bob = new_user(
        &api,
        json!({"schemas": [USER_SCHEMA], "userName": "bob", "active": false,
        "emails": [{"value": "bob@example.org", "type": "other"}]}),
    );
    new_user(&api, json!({"schemas": [USER_SCHEMA], "userName": "carol", "displayName": "Carol"}));

    // Uniqueness is case-insensitive, and a refused create changes nothing.
    let before = everything(&api);
    let (status, error) =
        api.call("POST", "/Users", Some(json!({"schemas": [USER_SCHEMA], "userName": "ANN@example.com"})));
    assert_eq!((status, error["scimType"].as_str()), (409, Some("uniqueness")), "{error}");
    assert_eq!(everything(&api), before);

    // Every operator, value paths, sub-attributes, booleans.
    for (filter, expected) in [
        (r#"userName eq "ANN@EXAMPLE.COM""#, vec!["ann@example.com"]),
        (r#"userName eq_ci "Bob""#, vec!["bob"]),
        (r#"userName ne "bob""#, vec!["ann@example.com", "carol"]),
        (r#"userName co "ar""#, vec!["carol"]),
        (r#"userName sw "a""#, vec!["ann@example.com"]),
        (r#"userName ew ".com""#, vec!["ann@example.com"]),
        (r#"userName gt "b""#, vec!["bob", "carol"]),
        (r#"userName ge "bob""#, vec!["bob", "carol"]),
        (r#"userName lt "b""#, vec!["ann@example.com"]),
        (r#"userName le "bob""#, vec!["ann@example.com", "bob"]),
        ("displayName pr", vec!["ann@example.com", "carol"]),
        ("not (displayName pr)", vec!["bob"]),
        (r#"externalId eq "entra-1""#, vec!["ann@example.com"]),
        (r#"name.familyName eq "lee""#, vec!["ann@example.com"]),
        (r#"name[givenName sw "A"]"#, vec!["ann@example.com"]),
        ("active eq false", vec!["bob"]),
        ("active eq true", vec!["ann@example.com", "carol"]),
        (r#"emails[type eq "work"].value co "@example.com""#, vec!["ann@example.com"]),
        (r#"emails[type eq "work" and value co "@home"]"#, vec![]),
        (r#"emails[type eq "Home" and value co "@HOME"]"#, vec!["ann@example.com"]),
        (r#"emails.value ew ".org""#, vec!["bob"]),
        (r#"emails eq "bob@example.org""#, vec!["bob"]),
        ("emails pr", vec!["ann@example.com", "bob"]),
        ("emails[primary eq true]", vec!["ann@example.com"]),
        (r#"phoneNumbers[type eq "mobile"].value sw "+34""#, vec!["ann@example.com"]),
        (r#"meta.created ge "2023-01-01""#, vec!["ann@example.com", "bob", "carol"]),
        (&format!(r#"id eq "{}""#, bob["id"].as_str().unwrap()), vec!["bob"]),
    ] {
        assert_eq!(filtered(&api, filter), expected, "{filter}");
    }
    for bad in [
        "emails[type eq true]",
        "active gt true",
        "userName co 3.5",
        "emails[value pr].nope eq 1",
        "shoeSize eq 9",
        "name eq \"x\"",
    ] {
        let (status, error) =
            api.call("GET", &format!("/Users?filter={}", bad.replace(' ', "%20").replace('"', "%22")), None);
        assert_eq!((status, error["scimType"].as_str()), (400, Some("invalidFilter")), "{bad}: {error}");
    }

    // Sort, paging, projection, GET by id.
    let (_, page) = api.call("GET", "/Users?sortBy=userName&sortOrder=descending&count=2&startIndex=1", None);
    assert_eq!((page["totalResults"].as_i64(), page["itemsPerPage"].as_i64()), (Some(3), Some(2)));
    assert_eq!(page["Resources"][0]["userName"], "carol");
    let (status, _) = api.call("GET", "/Users?sortBy=emails.value", None);
    assert_eq!(status, 400, "multi-valued attributes do not sort");
    let id = ann["id"].as_str().unwrap();
    let (status, only) = api.call("GET", &format!("/Users/{id}?attributes=emails.value,userName"), None);
    assert_eq!(status, 200);
    assert_eq!(only["emails"][0], json!({"value": "ann@example.com"}));
    assert!(only.get("displayName").is_none() && only["id"] == ann["id"] && only["schemas"].is_array());
    for missing in ["999", "abc", "0", "007"] {
        let (status, error) = api.call("GET", &format!("/Users/{missing}"), None);
        assert_eq!((status, error["status"].as_str()), (404, Some("404")), "{missing}");
    }

    // PATCH as Entra ID sends it, PUT, If-Match.
    let path = format!("/Users/{id}");
    let ops = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ann.lee@example.com"},
        {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+3493000000"},
        {"op": "replace", "value": {"displayName": "Ann L.", "name.givenName": "Anna"}},
    ]});
    let (status, patched, response) = api.call_at(
        ADMIN,
        "PATCH",
        &format!("{BASE}{path}"),
        Some(ops),
        &[("if-match", ann["meta"]["version"].as_str().unwrap())],
    );
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["active"], false);
    assert_eq!(patched["emails"][0]["value"], "ann.lee@example.com");
    assert_eq!(patched["phoneNumbers"][1], json!({"value": "+3493000000", "type": "work"}));
    assert_eq!(
        (patched["displayName"].as_str(), patched["name"]["givenName"].as_str()),
        (Some("Ann L."), Some("Anna"))
    );
    assert_eq!(response.header("etag"), patched["meta"]["version"].as_str());
    let stale = [("if-match", ann["meta"]["version"].as_str().unwrap())];
    let before = everything(&api);
    let (status, _, _) = api.call_at(
        ADMIN,
        "PUT",
        &format!("{BASE}{path}"),
        Some(json!({"schemas": [USER_SCHEMA], "userName": "x"})),
        &stale,
    );
    assert_eq!(status, 412);
    for bad in [
        json!({"Operations": [{"op": "replace", "path": "userName", "value": "BOB"}]}),
        json!({"Operations": [{"op": "replace", "path": "id", "value": "1"}]}),
        json!({"Operations": [{"op": "remove", "path": "userName"}]}),
        json!({"Operations": [{"op": "replace", "path": "active", "value": "yes"}]}),
        json!({"Operations": [{"op": "add", "path": "emails", "value": [{"type": "work"}]}]}),
    ] {
        let (status, error) = api.call("PATCH", &path, Some(bad.clone()));
        assert!(matches!(status, 400 | 409), "{bad}: {status} {error}");
        assert_eq!(everything(&api), before, "{bad} changed something");
    }
    let (status, replaced) =
        api.call("PUT", &path, Some(json!({"schemas": [USER_SCHEMA], "userName": "ann"})));
    assert_eq!(status, 200, "{replaced}");
    assert!(
        replaced.get("emails").is_none() && replaced["active"] == true,
        "PUT unassigns what it leaves out: {replaced}"
    );

    // DELETE
    let (status, _) = api.call("DELETE", &path, None);
    assert_eq!(status, 204);
    assert_eq!(api.call("GET", &path, None).0, 404);
    let contacts: i64 = api
        .db
        .query_row(
            "SELECT count(*) FROM user_contacts WHERE user_id = ?",
            [id.parse::<i64>().unwrap()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(contacts, 0);
    let (status, _, _) =
        api.call_as(READER, "POST", "/Users", Some(json!({"schemas": [USER_SCHEMA], "userName": "r"})), &[]);
    assert_eq!(status, 403);
}

#[test]
fn devices_belong_to_users() {
    let api = Api::new();
    let device = api.create(json!({"type": "PIN", "user": "dave", "pin": "4321"}));
    let id = device["id"].as_i64().unwrap();
    let (_, users) = api.call("GET", "/Users?filter=userName%20eq%20%22DAVE%22", None);
    assert_eq!(users["totalResults"], 1, "naming a new user creates it: {users}");
    let user = users["Resources"][0].clone();
    // A device naming the user in another case binds to the same user, and shows its name.
    let other = api.create(json!({"type": "TOTP", "user": "Dave"}));
    assert_eq!(other["user"], "dave");
    let user_path = format!("/Users/{}", user["id"].as_str().unwrap());
    let (status, renamed) = api.call(
        "PATCH",
        &user_path,
        Some(json!({"Operations": [{"op": "replace", "path": "userName", "value": "david"}]})),
    );
    assert_eq!(status, 200, "{renamed}");
    let (_, after) = api.call("GET", &format!("/OtpDevice/{id}"), None);
    assert_eq!(after["user"], "david", "a renamed user's devices follow");
    assert_ne!(after["meta"]["version"], device["meta"]["version"]);

    // Inactive: the PIN answers as a disabled device does, counting nothing, sending nothing.
    let (status, _) = api.call(
        "PATCH",
        &user_path,
        Some(json!({"Operations": [{"op": "Replace", "path": "active", "value": "False"}]})),
    );
    assert_eq!(status, 200);
    let before = api.snapshot();
    assert_eq!(api.respond(id, "4321"), json!({"success": false, "locked": false}));
    assert_eq!(api.respond(id, "0000"), json!({"success": false, "locked": false}));
    assert_eq!(api.snapshot(), before, "an inactive user's validation counts nothing");
    let email = api.create(json!({"type": "EMAIL", "user": "david", "email": "d@example.com"}));
    let (status, _) = api.call("GET", &format!("/OtpDevice/{}/requestChallenge", email["id"]), None);
    assert_eq!(status, 200);
    let (_, outbox) = api.call("GET", "/Outbox", None);
    assert_eq!(outbox["totalResults"], 0, "nothing is sent for an inactive user");
    let (status, _) = api.call(
        "PATCH",
        &user_path,
        Some(json!({"Operations": [{"op": "replace", "value": {"active": true}}]})),
    );
    assert_eq!(status, 200);
    assert_eq!(api.respond(id, "4321"), json!({"success": true, "locked": false}));

    // DELETE takes the user's devices with it, each audited.
    let (status, _) = api.call("DELETE", &user_path, None);
    assert_eq!(status, 204);
    let (_, devices) = api.call("GET", "/OtpDevice", None);
    assert_eq!(devices["totalResults"], 0);
    let deletes: i64 =
        api.db.query_row("SELECT count(*) FROM audit WHERE action = 'delete'", [], |r| r.get(0)).unwrap();
    let user_deletes: i64 = api
        .db
        .query_row("SELECT count(*) FROM audit WHERE action = 'user-delete'", [], |r| r.get(0))
        .unwrap();
    assert_eq!((deletes, user_deletes), (3, 1));
}

pub(super) fn tenant_settings() -> Settings {
    let mut settings = settings();
    settings.access.tenants =
        Tenants { names: vec!["default".into(), "acme".into(), "globex".into()], default: "default".into() };
    let hash = |p: &str| crypto::hash_password(p).unwrap();
    for ((user, password), tenants) in [
        (ACME_ADMIN, TenantGrant::Only(vec!["acme".into()])),
        (GLOBEX_ADMIN, TenantGrant::Only(vec!["globex".into()])),
        (OPERATOR, TenantGrant::All),
    ] {
        settings.access.principals.push(Principal {
            user: user.into(),
            password_hash: hash(password),
            rights: vec![Right::Admin],
            tenants,
        });
    }
    settings
}

/// What one tenant holds: a user with an email, an EMAIL device with a message in the outbox.
fn populate(api: &Api, who: (&str, &str), base: &str, name: &str) -> (String, i64) {
    let (status, user, _) = at(
        api,
        who,
        "POST",
        &format!("{base}/Users"),
        Some(
            json!({"schemas": [USER_SCHEMA], "userName": name, "emails": [{"value": format!("{name}@example.com"), "type": "work"}]}),
        ),
    );
    assert_eq!(status, 201, "{user}");
    let (status, device, _) = at(
        api,
        who,
        "POST",
        &format!("{base}/OtpDevice"),
        Some(json!({"type": "EMAIL", "user": name, "email": format!("{name}@example.com")})),
    );
    assert_eq!(status, 201, "{device}");
    let id = device["id"].as_i64().unwrap();
    assert_eq!(at(api, who, "GET", &format!("{base}/OtpDevice/{id}/requestChallenge"), None).0, 200);
    (user["id"].as_str().unwrap().to_owned(), id)
}

#[test]
fn tenants_are_isolated() {
    let api = Api::with(tenant_settings());
    let (acme_user, acme_device) = populate(&api, ACME_ADMIN, "/scim/acme/v2", "same");
    let (globex_user, globex_device) = populate(&api, GLOBEX_ADMIN, "/scim/globex/v2", "same");
    populate(&api, ADMIN, "/scim/v2", "home");
    assert_ne!(acme_device, globex_device);
    // A policy of acme's own, and a challenge open on acme's authenticator.
    let kiosk = json!({"id": "AT_KIOSK", "kind": "TOTP"});
    assert_eq!(at(&api, ACME_ADMIN, "POST", "/scim/acme/v2/Policy/Authenticator", Some(kiosk)).0, 201);
    let action = |name: &str| {
        let schema = "urn:hid:scim:api:idp:2.0:Action";
        json!({"schemas": [schema], schema: {"action": name, "attributes": [{"name": "RESPONSE", "value": "123456"}]}})
    };
    let acme_authenticator = format!("/scim/acme/v2/Authenticator/{acme_user}.AT_OOBEML");
    assert_eq!(at(&api, ACME_ADMIN, "POST", &acme_authenticator, Some(action("USER-CHALLENGE"))).0, 200);
    let before = everything(&api);

    // From globex, acme's ids and names are not there: 404s and empty lists, nothing changed.
    let g = "/scim/globex/v2";
    let u = format!("{g}/Users/{acme_user}");
    let d = format!("{g}/OtpDevice/{acme_device}");
    let a = format!("{g}/Authenticator/{acme_user}.AT_OOBEML");
    let p = format!("{g}/Policy/Authenticator/AT_KIOSK");
    let user_body = json!({"schemas": [USER_SCHEMA], "userName": "x"});
    let patch = json!({"Operations": [{"op": "replace", "path": "active", "value": false}]});
    for (method, path, body) in [
        ("GET", u.clone(), None),
        ("PUT", u.clone(), Some(user_body.clone())),
        ("PATCH", u.clone(), Some(patch.clone())),
        ("DELETE", u.clone(), None),
        ("GET", d.clone(), None),
        ("PUT", d.clone(), Some(json!({"schemas": [shared::model::DEVICE_SCHEMA], "status": "D"}))),
        (
            "PATCH",
            d.clone(),
            Some(json!({"Operations": [{"op": "replace", "path": "status", "value": "D"}]})),
        ),
        ("DELETE", d.clone(), None),
        ("GET", format!("{d}/requestChallenge"), None),
        ("POST", format!("{d}/responseChallenge"), Some(json!({"pin": "123456"}))),
        ("GET", format!("{d}/audit"), None),
        ("GET", a.clone(), None),
        ("PUT", a.clone(), Some(json!({"status": {"status": "DISABLED"}}))),
        (
            "PATCH",
            a.clone(),
            Some(json!({"Operations": [{"op": "replace", "path": "status.status", "value": "DISABLED"}]})),
        ),
        ("DELETE", a.clone(), None),
        ("POST", a.clone(), Some(action("USER-CHALLENGE"))),
        ("POST", a.clone(), Some(action("VERIFY"))),
        ("POST", a.clone(), Some(action("RESET"))),
        ("POST", a.clone(), Some(action("UNREGISTER-OOB"))),
        ("GET", p.clone(), None),
        (
            "PATCH",
            p.clone(),
            Some(json!({"Operations": [{"op": "replace", "path": "maxFails", "value": 1}]})),
        ),
        ("DELETE", p.clone(), None),
    ] {
        let (status, body, _) = at(&api, GLOBEX_ADMIN, method, &path, body);
        assert_eq!(status, 404, "{method} {path}: {body}");
    }
    for filter in
        [format!("id eq \"{acme_user}\""), "userName eq \"home\"".into(), "emails.value co \"home\"".into()]
    {
        let (status, list, _) =
            at(&api, GLOBEX_ADMIN, "POST", &format!("{g}/Users/.search"), Some(json!({"filter": filter})));
        assert_eq!((status, list["totalResults"].as_i64()), (200, Some(0)), "{filter}");
    }
    let (_, list, _) =
        at(&api, GLOBEX_ADMIN, "GET", &format!("{g}/OtpDevice?filter=id%20eq%20{acme_device}"), None);
    assert_eq!(list["totalResults"], 0);
    for (path, filter) in [
        ("Authenticator", format!("owner.value eq {acme_user}")),
        ("Authenticator", format!("id eq \"{acme_user}.AT_OOBEML\"")),
        ("Policy/Authenticator", "id eq \"AT_KIOSK\"".to_owned()),
    ] {
        let (status, list, _) =
            at(&api, GLOBEX_ADMIN, "POST", &format!("{g}/{path}/.search"), Some(json!({"filter": filter})));
        assert_eq!((status, list["totalResults"].as_i64()), (200, Some(0)), "{path} {filter}");
    }
    assert_eq!(everything(&api), before, "nothing changed");
    // VERIFY by a userName finds globex's own "same", never acme's: its challenge is not there.
    let (status, answer, _) = at(
        &api,
        GLOBEX_ADMIN,
        "POST",
        &format!("{g}/Authenticator/.AT_OOBEML"),
        Some({
            let mut body = action("VERIFY");
            body["urn:hid:scim:api:idp:2.0:Action"]["attributes"]
                .as_array_mut()
                .unwrap()
                .push(json!({"name": "USER.EXTERNALID", "value": "same"}));
            body
        }),
    );
    assert_eq!(status, 200, "{answer}");
    let before = everything(&api);
    let (_, mine, _) = at(&api, GLOBEX_ADMIN, "GET", &format!("{g}/Users"), None);
    assert_eq!(
        ids(&mine),
        std::slice::from_ref(&globex_user),
        "the same userName in another tenant is another user"
    );
    let (_, outbox, _) = at(&api, GLOBEX_ADMIN, "GET", &format!("{g}/Outbox"), None);
    assert_eq!(outbox["totalResults"], 1, "the outbox is per tenant: {outbox}");
    assert_eq!(everything(&api), before, "nothing changed");

    // The default-tenant paths see only the default tenant, for every principal that may use it.
    for base in BASE_PATHS_OF_DEFAULT {
        let (_, users, _) = at(&api, OPERATOR, "GET", &format!("{base}/Users"), None);
        assert_eq!(users["totalResults"], 1, "{base}");
        assert_eq!(users["Resources"][0]["userName"], "home");
        assert!(
            users["Resources"][0]["meta"]["location"].as_str().unwrap().contains(&format!("{base}/Users/"))
        );
    }
    // HID's book writes `/SCIM/`: the same tenant, answered with `/scim/` links.
    for (upper, lower) in [("/SCIM/v2", "/scim/v2"), ("/SCIM/acme/v2", "/scim/acme/v2")] {
        let who = if upper.contains("acme") { ACME_ADMIN } else { OPERATOR };
        let (status, users, _) = at(&api, who, "GET", &format!("{upper}/Users"), None);
        let (_, same, _) = at(&api, who, "GET", &format!("{lower}/Users"), None);
        assert_eq!((status, &users), (200, &same), "{upper}");
    }
    assert_eq!(at(&api, OPERATOR, "GET", "/SCIM/v2x/Users", None).0, 404);
    // Unknown and forbidden tenants answer byte for byte the same; so does a principal without
    // the default tenant on its paths. Only `/Tenants` answers it there.
    let ghost = at(&api, ACME_ADMIN, "GET", "/scim/ghost/v2/Users", None).2;
    let forbidden = at(&api, ACME_ADMIN, "GET", "/scim/globex/v2/Users", None).2;
    let default = at(&api, ACME_ADMIN, "GET", "/scim/v2/Users", None).2;
    assert_eq!(ghost.status, 404);
    assert_eq!(
        (ghost.body.clone(), ghost.headers.clone()),
        (forbidden.body.clone(), forbidden.headers.clone())
    );
    assert_eq!(ghost.body, default.body);
    assert_eq!(
        ghost.body,
        at(&api, ACME_ADMIN, "DELETE", &format!("/scim/globex/v2/Users/{globex_user}"), None).2.body
    );
    let (status, tenants, _) = at(&api, ACME_ADMIN, "GET", "/scim/v2/Tenants", None);
    assert_eq!((status, tenants["Resources"].clone()), (200, json!([{"name": "acme"}])));
    let (_, tenants, _) = at(&api, OPERATOR, "GET", "/soffid/webservice/scim2/v1/Tenants", None);
    assert_eq!(tenants["totalResults"], 3);
    assert_eq!(at(&api, OPERATOR, "GET", "/scim/acme/v2/Tenants", None).0, 404, "only on the §3 paths");
    // Discovery answers per tenant, with the tenant's base in its locations.
    let (status, types, _) = at(&api, ACME_ADMIN, "GET", "/scim/acme/v2/ResourceTypes", None);
    assert_eq!((status, types["totalResults"].as_i64()), (200, Some(6)));
    assert!(
        types["Resources"][2]["meta"]["location"]
            .as_str()
            .unwrap()
            .ends_with("/scim/acme/v2/ResourceTypes/User")
    );
    assert_eq!(everything(&api), before, "nothing changed");
}

const BASE_PATHS_OF_DEFAULT: &[&str] = crate::app::BASE_PATHS;

/// A database as today's main leaves it (schema version 3, recorded in `schema_migrations`)
/// moves to the configured default tenant; names that differ only in case become one user.
#[test]
fn existing_data_moves_to_the_default_tenant() {
    let db = rusqlite::Connection::open_in_memory().unwrap();
    for script in &crate::store::MIGRATIONS[..3] {
        db.execute_batch(script).unwrap();
    }
    db.execute_batch(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied INTEGER NOT NULL, note TEXT NOT NULL DEFAULT ''); \
         INSERT INTO schema_migrations (version, applied) VALUES (1, 0), (2, 0), (3, 0); \
         INSERT INTO devices (name, type, user_name, status, created, modified, algorithm, digits, period) VALUES \
           ('TOTP00000001', 'TOTP', 'Alice', 'V', 1600000000, 1600000000, 'SHA1', 6, 30), \
           ('TOTP00000002', 'TOTP', 'alice', 'C', 1600000100, 1600000200, 'SHA1', 6, 30), \
           ('Security PIN', 'PIN', 'bob', 'V', 1600000300, 1600000300, NULL, NULL, NULL); \
         INSERT INTO audit (at, actor, action, device_id) VALUES (1600000000, 'admin', 'create', 1); \
         INSERT INTO outbox (at, device_id, channel, recipient, message) VALUES (1600000000, 3, 'sms', '1', 'x');",
    )
    .unwrap();
    crate::store::session(&db, None, None, "main", 1_700_000_000, "main").unwrap();
    let tenants: Vec<String> = ["devices", "audit", "outbox", "users"]
        .iter()
        .map(|t| {
            db.query_row(&format!("SELECT group_concat(DISTINCT tenant) FROM {t}"), [], |r| r.get(0)).unwrap()
        })
        .collect();
    assert_eq!(tenants, ["main"; 4]);
    let page = shared::query::Page::new(None, None);
    let (_, users) = crate::tests::store_of(&db, "main", 0).list_users(None, None, page).unwrap();
    let names: Vec<&str> = users.iter().map(|u| u.user_name.as_str()).collect();
    assert_eq!(names, ["Alice", "bob"]);
    let (_, devices) = crate::tests::store_of(&db, "main", 0).list_devices(None, None, page).unwrap();
    let owners: Vec<&str> = devices.iter().map(|d| d.user.as_str()).collect();
    assert_eq!(owners, ["Alice", "Alice", "bob"]);
    let unbound: i64 =
        db.query_row("SELECT count(*) FROM devices WHERE user_id IS NULL", [], |r| r.get(0)).unwrap();
    assert_eq!(unbound, 0);
    // Migration 8: each user's devices of one kind join one authenticator of the default
    // policy's code.
    let bindings: Vec<(i64, String)> = db
        .prepare("SELECT d.id, a.policy FROM devices d JOIN authenticators a ON a.id = d.authenticator_id ORDER BY d.id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        bindings,
        [(1, "AT_EMPOTP".to_owned()), (2, "AT_EMPOTP".to_owned()), (3, "AT_EMPPWD".to_owned())]
    );
    let authenticators: i64 = db.query_row("SELECT count(*) FROM authenticators", [], |r| r.get(0)).unwrap();
    assert_eq!(authenticators, 2, "Alice's two TOTP devices share one");
    assert!(crate::tests::store_of(&db, "default", 0).list_devices(None, None, page).unwrap().1.is_empty());
}

/// `POST /.search` spans the resource types the filter fits, type after type, paged as one list.
#[test]
fn a_root_search_spans_the_types_the_filter_fits() {
    let api = Api::new();
    let device = api.create(json!({"type": "PIN", "user": "erin", "pin": "4321"}));
    let search = |body: Value| api.call("POST", "/.search", Some(body));
    // The device, its user, the authenticator it joined, and the tenant's ten built-in policies,
    // in code order.
    let (status, all) = search(json!({"filter": "meta.created pr", "attributes": ["id"]}));
    assert_eq!((status, all["totalResults"].as_i64()), (200, Some(13)), "{all}");
    assert_eq!(all["Resources"][0]["id"], device["id"]);
    assert_eq!(all["Resources"][1]["meta"]["resourceType"], "User");
    assert_eq!(all["Resources"][2]["meta"]["resourceType"], "Authenticator");
    assert_eq!(all["Resources"][3]["id"], "AT_CUSTOTP");
    let (_, second) = search(json!({"filter": "meta.created pr", "startIndex": 2, "count": 2}));
    assert_eq!(
        (second["totalResults"].as_i64(), second["Resources"][0]["userName"].as_str()),
        (Some(13), Some("erin"))
    );
    assert_eq!(second["Resources"][1]["id"], "1.AT_EMPPWD", "the page goes on into the next type");
    let (_, devices) = search(json!({"filter": "user eq \"erin\""}));
    assert_eq!(devices["totalResults"], 1, "a Soffid filter fits devices only");
    let (status, error) = search(json!({"filter": "shoeSize eq 9"}));
    assert_eq!((status, error["scimType"].as_str()), (400, Some("invalidFilter")));
}

/// Listings read a tenant in the order they answer in: an email lookup goes by primary key
/// from the email index, and a listing without `sortBy` walks the tenant's rows in id order
/// instead of sorting the whole tenant (SQLite's plans for the exact statements listed).
#[test]
fn listings_read_a_tenant_in_id_order_and_emails_by_key() {
    use crate::store::{Table, list_query};
    use shared::filter::Condition;
    let api = Api::new();
    new_user(&api, json!({"userName": "erin", "emails": [{"value": "erin@example.com", "type": "work"}]}));
    let plan = |table: Table, filter: Option<&str>| {
        let resource = table.resource();
        let condition = filter.map(|f| Condition::compile(resource, f).unwrap());
        list_query(table, "default", condition.as_ref(), None).explain(&api.db).unwrap()
    };
    for filter in [
        r#"emails[type eq "work"].value eq "erin@example.com""#,
        r#"emails.value eq "erin@example.com" and active eq true"#,
    ] {
        for statement in plan(Table::Users, Some(filter)) {
            assert!(
                statement.starts_with("SEARCH users USING") && statement.contains("rowid=?"),
                "{filter}: {statement}"
            );
        }
    }
    let by_name = plan(Table::Users, Some(r#"userName eq "Erin""#));
    assert!(by_name.iter().all(|p| p.contains("users_name")), "{by_name:?}");
    for (table, filter) in
        [(Table::Devices, None), (Table::Users, None), (Table::Users, Some("active eq true"))]
    {
        let [page, _] = plan(table, filter);
        assert!(page.contains("_tenant (tenant=?)") && !page.contains("TEMP B-TREE"), "{filter:?}: {page}");
    }
}
