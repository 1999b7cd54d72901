//! The domain below HTTP (as kanidm tests its write transactions directly): each rule called
//! with a `Scope` on a store, its answer a `DomainError` that knows no status code, and what it
//! leaves in the store read back.

use super::*;
use crate::domain::{DomainError, IfMatch, Scope};
use shared::audit::AuditAction;
use shared::user::validate_user;

impl Api {
    /// Runs `rule` as `actor` of the default tenant, now, on the connection under the faults.
    fn as_domain<T>(&self, rule: impl FnOnce(&Scope<'_>) -> T) -> T {
        let keys = crypto::Keys::derive(&self.settings.access.secret_key);
        let actor = crate::store::Actor { tenant: "default", name: "domain-test" };
        let store = crate::store::Store::new(&self.db, actor, self.now.get());
        rule(&Scope { store, settings: &self.settings, keys: &keys })
    }

    fn count(&self, sql: &str) -> i64 {
        self.db.query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

fn if_match(version: i64) -> IfMatch {
    IfMatch { versions: vec![version], sent: shared::model::etag(version) }
}

/// A change and its audit row commit together: when the audit row cannot be written, the user
/// is not created either, and the rule says why without a status code.
#[test]
fn a_change_without_its_audit_row_is_not_written() {
    let api = Api::new();
    let data = validate_user(&json!({"userName": "ann"})).unwrap();
    api.db.fail_next.replace(Some("INSERT INTO audit"));
    let refused = api.as_domain(|scope| crate::domain::users::create(scope, &data));
    assert!(matches!(refused, Err(DomainError::Store(_))), "{refused:?}");
    assert_eq!(api.count("SELECT count(*) FROM users"), 0);
    assert_eq!(api.count("SELECT count(*) FROM audit"), 0);

    let user = api.as_domain(|scope| crate::domain::users::create(scope, &data)).unwrap();
    let id: i64 = user.id.parse().unwrap();
    let actors: Vec<(String, String)> = api
        .db
        .prepare("SELECT action, actor FROM audit WHERE user_id = ?")
        .unwrap()
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(actors, [(AuditAction::UserCreate.as_str().to_owned(), "domain-test".to_owned())]);
}

/// `If-Match` is a version, not header text, down here: an update at another version is
/// `Stale` naming what was sent and writes nothing; at the version read it writes once.
#[test]
fn a_versioned_update_writes_only_at_the_version_named() {
    let api = Api::new();
    let data = validate_user(&json!({"userName": "bob"})).unwrap();
    let user = api.as_domain(|scope| crate::domain::users::create(scope, &data)).unwrap();
    let id: i64 = user.id.parse().unwrap();
    let version = shared::model::etag_version(&user.meta.version).unwrap();
    let renamed = |name: &'static str| {
        move |_: &shared::User| validate_user(&json!({"userName": name, "displayName": "B"}))
    };

    let stale = if_match(version + 1);
    let refused = api.as_domain(|scope| crate::domain::users::update(scope, id, Some(&stale), renamed("x")));
    assert_eq!(refused.unwrap_err(), DomainError::Stale { sent: stale.sent.clone() });
    assert_eq!(api.count("SELECT count(*) FROM users WHERE user_name = 'bob'"), 1);

    let current = if_match(version);
    let written =
        api.as_domain(|scope| crate::domain::users::update(scope, id, Some(&current), renamed("bobby")));
    assert_eq!(written.unwrap().user_name, "bobby");
    // The version it was written at is gone: the same precondition again is stale.
    let again =
        api.as_domain(|scope| crate::domain::users::update(scope, id, Some(&current), renamed("rob")));
    assert!(matches!(again, Err(DomainError::Stale { .. })), "{again:?}");
}

/// A delete that lost the row to a concurrent change names the version it read, and deletes
/// nothing; what is gone is `NoUser`.
#[test]
fn a_versioned_delete_loses_no_concurrent_change() {
    let api = Api::new();
    let data = validate_user(&json!({"userName": "cy"})).unwrap();
    let user = api.as_domain(|scope| crate::domain::users::create(scope, &data)).unwrap();
    let id: i64 = user.id.parse().unwrap();
    let read = shared::model::etag_version(&user.meta.version).unwrap();
    // Another admin's change lands between this delete's read and its write.
    api.db.execute("UPDATE users SET version = version + 1 WHERE id = ?", [id]).unwrap();
    let expected = if_match(read);
    let refused = crate::domain::delete_versioned(Some(&expected), read, DomainError::Conflict, |at| {
        api.as_domain(|scope| Ok(scope.store.write(|tx| tx.delete_user(&user, at))?))
    });
    assert_eq!(refused.unwrap_err(), DomainError::Stale { sent: shared::model::etag(read) });
    assert_eq!(api.count("SELECT count(*) FROM users"), 1);

    api.as_domain(|scope| crate::domain::users::delete(scope, id, None)).unwrap();
    let gone = api.as_domain(|scope| crate::domain::users::find(scope, id));
    assert_eq!(gone.unwrap_err(), DomainError::NoUser(id.to_string()));
}

/// The bound policy decides a new device's parameters, whichever dialect enrols it: a device
/// created through the domain after the policy changed takes the policy's digits.
#[test]
fn the_policy_decides_a_new_devices_parameters() {
    let api = Api::new();
    let (status, _) = api.call(
        "PATCH",
        "/Policy/Authenticator/AT_EMPOTP",
        Some(json!({"Operations": [{"op": "replace", "path": "digits", "value": 8}]})),
    );
    assert_eq!(status, 200);
    let device = api
        .as_domain(|scope| crate::domain::devices::create(scope, &json!({"type": "TOTP", "user": "dee"})))
        .unwrap();
    assert_eq!(device.digits, Some(8));
    let missing = api.as_domain(|scope| crate::domain::devices::find(scope, device.id + 1));
    assert_eq!(missing.unwrap_err(), DomainError::NoDevice(device.id + 1));
}
