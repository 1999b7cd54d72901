//! Authenticators (SPEC §14) under the Soffid dialect: what the store keeps of them while the
//! HID dialect's routes are not there yet: a device's authenticator, its statistics, the
//! policy's lockout, and the policies they hold on to.

use super::*;

/// One authenticator row of `user` (by userName) and `policy`: its statistics and flags.
fn authenticator(api: &Api, user: &str, policy: &str) -> Option<[i64; 6]> {
    api.db
        .query_row(
            "SELECT a.consecutive_failed, a.consecutive_success, a.total_failed, a.total_success, \
             coalesce(a.last_device_id, 0), a.disabled_by_failures FROM authenticators a \
             JOIN users u ON u.id = a.user_id WHERE u.user_name = ? AND a.policy = ?",
            [user, policy],
            |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?]),
        )
        .ok()
}

/// The default TOTP policy's maxFails set to 2, below the service's max_fails of 5.
fn lock_at_two_failures(api: &Api) {
    let patch = json!({"Operations": [{"op": "replace", "path": "maxFails", "value": 2}]});
    assert_eq!(api.call("PATCH", "/Policy/Authenticator/AT_EMPOTP", Some(patch)).0, 200);
}

fn bound_to(api: &Api, device: i64) -> (i64, String) {
    api.db
        .query_row(
            "SELECT a.user_id, a.policy FROM devices d JOIN authenticators a ON a.id = d.authenticator_id WHERE d.id = ?",
            [device],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

#[test]
fn a_device_joins_its_owners_authenticator_of_the_default_policy() {
    let api = Api::new();
    let (first, _) = api.totp_device("ann");
    let (second, _) = api.totp_device("ann");
    let email = api.create(json!({"type": "EMAIL", "user": "ann", "email": "ann@example.com"}))["id"]
        .as_i64()
        .unwrap();
    let pin = api.create(json!({"type": "PIN", "user": "bob", "pin": "1234"}))["id"].as_i64().unwrap();
    let (ann, policy) = bound_to(&api, first);
    assert_eq!(policy, "AT_EMPOTP");
    assert_eq!(
        bound_to(&api, second),
        (ann, "AT_EMPOTP".to_owned()),
        "one authenticator per user and policy"
    );
    assert_eq!(bound_to(&api, email).1, "AT_OOBEML");
    assert_eq!(bound_to(&api, pin).1, "AT_EMPPWD");
    let count: i64 = api.db.query_row("SELECT count(*) FROM authenticators", [], |r| r.get(0)).unwrap();
    assert_eq!(count, 3);
    // A new default of the kind is where the next device goes.
    let (status, _) = api.call(
        "POST",
        "/Policy/Authenticator",
        Some(json!({"id": "AT_NEW", "kind": "TOTP", "default": true})),
    );
    assert_eq!(status, 201);
    let (third, _) = api.totp_device("ann");
    assert_eq!(bound_to(&api, third).1, "AT_NEW");
}

/// A validation through Soffid's dialect moves the authenticator's statistics in the same
/// statement, and the policy's maxFails is the lockout of both: the device locks and the
/// authenticator is disabled by failures at once.
#[test]
fn validations_keep_the_authenticators_statistics_and_the_policys_lockout() {
    let api = Api::new();
    lock_at_two_failures(&api);
    let (id, code) = api.totp_device("ann");
    assert_eq!(authenticator(&api, "ann", "AT_EMPOTP"), Some([0, 0, 0, 0, 0, 0]));
    assert_eq!(api.respond(id, &code)["success"], true);
    assert_eq!(authenticator(&api, "ann", "AT_EMPOTP"), Some([0, 1, 0, 1, id, 0]));
    assert_eq!(api.respond(id, "000000"), json!({"success": false, "locked": false}));
    assert_eq!(authenticator(&api, "ann", "AT_EMPOTP"), Some([1, 0, 1, 1, id, 0]));
    // The second failure reaches the policy's 2, below the service's max_fails of 5.
    assert_eq!(api.respond(id, "000000"), json!({"success": false, "locked": true}));
    assert_eq!(authenticator(&api, "ann", "AT_EMPOTP"), Some([2, 0, 2, 1, id, 1]));
    assert_eq!(api.call("GET", &format!("/OtpDevice/{id}"), None).1["status"], "L");
    // A locked device counts nothing more, in either view.
    api.respond(id, "000000");
    assert_eq!(authenticator(&api, "ann", "AT_EMPOTP"), Some([2, 0, 2, 1, id, 1]));
    // Unlocking the device through Soffid's dialect ends the authenticator's lockout with it.
    let unlock = json!({"Operations": [{"op": "replace", "path": "status", "value": "V"}]});
    assert_eq!(api.call("PATCH", &format!("/OtpDevice/{id}"), Some(unlock)).0, 200);
    assert_eq!(authenticator(&api, "ann", "AT_EMPOTP"), Some([0, 0, 2, 1, id, 0]));
    // Disabling it (D) is the device's own state: the authenticator's counts stay.
    let disable = json!({"Operations": [{"op": "replace", "path": "status", "value": "D"}]});
    assert_eq!(api.call("PATCH", &format!("/OtpDevice/{id}"), Some(disable.clone())).0, 200);
    assert_eq!(authenticator(&api, "ann", "AT_EMPOTP"), Some([0, 0, 2, 1, id, 0]));

    // Enabled, locked again, then disabled: a disabled device answers as one (not locked);
    // enabling it ends the authenticator's lockout too.
    assert_eq!(
        api.call(
            "PATCH",
            &format!("/OtpDevice/{id}"),
            Some(json!({"Operations": [{"op": "replace", "path": "status", "value": "V"}]}))
        )
        .0,
        200
    );
    api.respond(id, "000000");
    assert_eq!(api.respond(id, "000000")["locked"], true);
    assert_eq!(api.call("PATCH", &format!("/OtpDevice/{id}"), Some(disable)).0, 200);
    assert_eq!(api.respond(id, &code), json!({"success": false, "locked": false}), "D answers as D");
    assert_eq!(authenticator(&api, "ann", "AT_EMPOTP").map(|a| a[5]), Some(1));
    assert_eq!(
        api.call(
            "PATCH",
            &format!("/OtpDevice/{id}"),
            Some(json!({"Operations": [{"op": "replace", "path": "status", "value": "V"}]}))
        )
        .0,
        200
    );
    assert_eq!(authenticator(&api, "ann", "AT_EMPOTP").map(|a| (a[0], a[5])), Some((0, 0)));
}

/// A policy that authenticators are bound to cannot be deleted (409, nothing changes); once
/// its users are gone, with their authenticators, it can.
#[test]
fn a_policy_in_use_stays() {
    let api = Api::new();
    let make_default = |code: &str| {
        let patch = json!({"Operations": [{"op": "replace", "path": "default", "value": true}]});
        assert_eq!(api.call("PATCH", &format!("/Policy/Authenticator/{code}"), Some(patch)).0, 200);
    };
    make_default("AT_CUSTOTP");
    api.totp_device("carol");
    make_default("AT_EMPOTP");
    let before = api.rows("policies");
    let (status, error) = api.call("DELETE", "/Policy/Authenticator/AT_CUSTOTP", None);
    assert_eq!(status, 409);
    assert_eq!(
        error["detail"],
        "Policy AT_CUSTOTP is in use by 1 authenticators: delete them, or their users, first."
    );
    assert_eq!(api.rows("policies"), before);
    let carol =
        api.call("GET", "/Users?filter=userName%20eq%20%22carol%22", None).1["Resources"][0]["id"].clone();
    assert_eq!(api.call("DELETE", &format!("/Users/{}", carol.as_str().unwrap()), None).0, 204);
    assert_eq!(authenticator(&api, "carol", "AT_CUSTOTP"), None, "the user's authenticators went with it");
    assert_eq!(api.call("DELETE", "/Policy/Authenticator/AT_CUSTOTP", None).0, 204);
}

/// Soffid's dialect follows the authenticator's rules on a bound device (SPEC §14): outside its
/// validity dates, at its policy's usage limit, or disabled, a right code is refused, nothing is
/// counted in either view, and an EMAIL device is sent nothing.
#[test]
fn soffid_validations_follow_the_authenticators_rules() {
    let api = Api::new();
    let set = |path: &str, value: Value| {
        let patch = json!({"Operations": [{"op": "replace", "path": path, "value": value}]});
        assert_eq!(api.call("PATCH", "/Policy/Authenticator/AT_EMPOTP", Some(patch)).0, 200);
    };
    let last_audit = |id: i64| -> String {
        api.db
            .query_row("SELECT detail FROM audit WHERE device_id = ? ORDER BY id DESC LIMIT 1", [id], |r| {
                r.get(0)
            })
            .unwrap()
    };
    let refused = |id: i64, code: &str, why: &str| {
        let before = (api.snapshot(), authenticator(&api, "ann", "AT_EMPOTP"));
        assert_eq!(api.respond(id, code), json!({"success": false, "locked": false}), "{why}");
        assert_eq!(
            (api.snapshot(), authenticator(&api, "ann", "AT_EMPOTP")),
            before,
            "{why}: nothing counted"
        );
        assert_eq!(last_audit(id), format!("not checked: {why}"));
    };

    // At most one success.
    set("maxUsages", json!(1));
    let (id, secret) = api.totp_device_secret("ann");
    assert_eq!(api.respond(id, &api.code(&secret))["success"], true);
    api.now.set(api.now.get() + 30);
    refused(id, &api.code(&secret), "authenticator usage limit");
    set("maxUsages", json!(0));
    assert_eq!(
        api.respond(id, &api.code(&secret))["success"],
        true,
        "a change applies from the next request on"
    );

    // Disabled through HID's dialect: Soffid's view shows the device disabled too.
    api.now.set(api.now.get() + 30);
    let owner: i64 =
        api.db.query_row("SELECT user_id FROM devices WHERE id = ?", [id], |r| r.get(0)).unwrap();
    let set_status = |value: &str| {
        let patch = json!({"Operations": [{"op": "replace", "path": "status.status", "value": value}]});
        let (status, answer) = api.call("PATCH", &format!("/Authenticator/{owner}.AT_EMPOTP"), Some(patch));
        assert_eq!(status, 200, "{answer}");
    };
    set_status("DISABLED");
    refused(id, &api.code(&secret), "status D");
    // Not yet valid; and the compare-and-set checks the rules again: a success read before the
    // change loses.
    set_status("ENABLED");
    api.db.execute("UPDATE authenticators SET start_date = ?", [api.now.get() + 60]).unwrap();
    refused(id, &api.code(&secret), "authenticator not yet valid");
    let actor = crate::store::Actor { tenant: "default", name: "test" };
    let validation = crate::store::Store::new(&api.db.connection, actor, api.now.get()).validation();
    let last: Option<i64> =
        api.db.query_row("SELECT totp_last_step FROM devices WHERE id = ?", [id], |r| r.get(0)).unwrap();
    // A step past every one seen, against the step as read: it would win if the rules allowed.
    let last = last.map(|s| u64::try_from(s).unwrap());
    let guard = crate::store::SuccessGuard::TotpStep { step: last.unwrap_or(0) + 1_000, last, drift: 0 };
    assert!(validation.record_success(id, guard).unwrap().is_none(), "refused in the write too");

    // Valid for one day from the start: two days later, refused.
    api.db
        .execute(
            "UPDATE authenticators SET start_date = ?, expiry_date = ?",
            [api.now.get(), api.now.get() + 86_400],
        )
        .unwrap();
    api.now.set(api.now.get() + 2 * 86_400);
    refused(id, &api.code(&secret), "authenticator expired");

    // An EMAIL device of an expired authenticator is sent nothing.
    let email = api.create(json!({"type": "EMAIL", "user": "ann", "email": "ann@example.com"}))["id"]
        .as_i64()
        .unwrap();
    api.db
        .execute("UPDATE authenticators SET expiry_date = ? WHERE policy = 'AT_OOBEML'", [api.now.get()])
        .unwrap();
    let (status, _) = api.call("POST", &format!("/OtpDevice/{email}/requestChallenge"), None);
    assert_eq!(status, 200);
    assert_eq!(last_audit(email), "nothing sent: authenticator expired");
    assert!(api.delivered.borrow().is_empty(), "nothing was delivered");
}

/// The authenticator counts consecutive failures across its devices: reaching the policy's
/// maxFails locks every device of it at once, the one that failed last answering `locked`.
#[test]
fn an_authenticators_lockout_locks_all_its_devices() {
    let api = Api::new();
    lock_at_two_failures(&api);
    let (first, _) = api.totp_device("ann");
    let (second, code) = api.totp_device("ann");
    let (third, _) = api.totp_device("ann");
    assert_eq!(api.respond(first, "000000"), json!({"success": false, "locked": false}));
    assert_eq!(
        api.respond(second, "000000"),
        json!({"success": false, "locked": true}),
        "the authenticator's second"
    );
    for id in [first, second, third] {
        assert_eq!(api.call("GET", &format!("/OtpDevice/{id}"), None).1["status"], "L", "device {id}");
    }
    assert_eq!(api.respond(third, &code)["locked"], true);
    let locked_with: i64 = api
        .db
        .query_row("SELECT count(*) FROM audit WHERE action = 'locked-with-authenticator'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(locked_with, 2, "the two devices that did not fail last, each audited");
}
