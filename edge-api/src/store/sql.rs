//! The SQL fragments several rooms build their statements from: each table's columns as a
//! listing and a read select them, and the rule of when a device's owner or authenticator
//! refuses validations, which reads and compare-and-sets both inline.

use shared::schema::AUTHENTICATOR_ACTIVE_SQL;
use shared::standing::REFUSAL_SQL;

/// Whether one more consecutive failure disables an authenticator, in a statement over
/// `authenticators` (SPEC §14: its policy's maxFails reached across its devices and its security
/// questions; 0 for a policy that is gone). The one place the authenticator lockout is written:
/// migration 8's trigger counts a device's failure with it, a wrong set of answers is counted
/// with it, and a device's failure predicts with it that its authenticator locks. A literal
/// (for `concat!`), line break included, because the shipped migration holds this text.
macro_rules! authenticator_locks {
    () => {
        "coalesce(consecutive_failed + 1 >=
            (SELECT p.max_fails FROM policies p WHERE p.tenant = authenticators.tenant AND p.id = authenticators.policy), 0)"
    };
}
pub(super) use authenticator_locks;

/// The `active` of the user whose id is the column `user_id`, as a query reads it (1 for a row
/// without an owner row, which only a database written outside the service can hold): nothing
/// of an inactive user's is sent, checked or counted (SPEC §17).
pub(super) fn owner_active(user_id: &str) -> String {
    format!("coalesce((SELECT active FROM users WHERE users.id = {user_id}), 1)")
}

/// [`owner_active`] of a device, in a statement over `devices`.
pub(super) fn device_owner_active() -> String {
    owner_active("devices.user_id")
}

/// [`authenticator_locks`] of a device's authenticator, in a statement over `devices` (NULL for
/// a device without one).
pub(super) const AUTHENTICATOR_LOCKS: &str = concat!(
    "(SELECT ",
    authenticator_locks!(),
    " FROM authenticators WHERE authenticators.id = devices.authenticator_id)"
);

/// The maxFails of a device's authenticator policy, as a device query reads it (NULL for a
/// device without an authenticator).
pub(super) const POLICY_MAX_FAILS: &str = "(SELECT p.max_fails FROM authenticators a JOIN policies p \
                                ON p.tenant = a.tenant AND p.id = a.policy WHERE a.id = devices.authenticator_id)";

/// An OtpDevice's row, as a condition over `devices`: every device except a token in stock
/// (SPEC §19: it has no owner, and is no OtpDevice until it is handed out). Not-equal, so that no
/// index is chosen for it over the one the rest of the statement needs.
pub(super) const OWNED: &str = "status <> 'A'";

/// A `Device`'s row (SPEC §19), as a condition over `devices`: TOTP and HOTP only.
pub(super) const OATH: &str = "type IN ('TOTP', 'HOTP')";

pub(super) const OATH_DEVICE_COLUMNS: &str = "id, name, type, manufacturer, model, algorithm, digits, period, origin, \
     status, user_id, user_name, time_drift, valid_from, valid_until, assigned, activated, last_used, created, \
     modified, version";

pub(super) const DEVICE_COLUMNS: &str = "id, name, type, user_name, status, fails, created, modified, last_used, email, phone, algorithm, digits, period, version, external_id";

/// Why the authenticator whose row id is `id` (a column of the statement) refuses validations at
/// `now` (an integer, inlined), as SQL: NULL when it does not, or has none. The rule is
/// `shared::standing`'s, the same the API's answers and the admin app's badge follow; reads
/// say why with it, and the writes of a validation and of a security-question answer check it
/// again so that a change meanwhile is not overtaken.
pub(super) fn refusal_of(now: impl std::fmt::Display, id: &str) -> String {
    format!(
        "(SELECT {} FROM authenticators a LEFT JOIN policies p ON p.tenant = a.tenant AND p.id = a.policy \
         WHERE a.id = {id})",
        REFUSAL_SQL.replace("{now}", &now.to_string())
    )
}

/// [`refusal_of`] the authenticator of a device in a statement over `devices`.
pub(super) fn authenticator_refusal(now: i64) -> String {
    refusal_of(now, "devices.authenticator_id")
}

pub(super) const USER_COLUMNS: &str = "id, user_name, external_id, display_name, formatted_name, family_name, given_name, \
                            active, created, modified, version";

pub(super) const AUDIT_COLUMNS: &str = "id, at, actor, action, device_id, user_id, authenticator, detail";

pub(super) const POLICY_COLUMNS: &str = "id, external_id, display_name, kind, is_default, max_fails, validity_days, max_usages, \
                                         algorithm, digits, period, code_ttl, prompts, prompts_required, \
                                         prompts_asked, created, modified, version";

/// The authenticators' rows, each with its owner, its policy and its count of usable devices:
/// the columns the attribute table filters and sorts on, as a subquery named `authenticator_rows`
/// (a view until migration 11: a view is parsed by every connection, and so on every request).
pub(super) const AUTHENTICATOR_ROWS: &str = "(SELECT a.id AS id, a.tenant AS tenant, \
     a.user_id || '.' || a.policy AS scim_id, a.user_id AS user_id, u.user_name AS user_name, \
     u.active AS user_active, a.policy AS policy, coalesce(p.display_name, a.policy) AS policy_display, \
     p.kind AS kind, coalesce(p.max_usages, 0) AS max_usages, p.prompts AS policy_prompts, \
     p.prompts_required AS prompts_required, a.enabled AS enabled, a.disabled_by_failures AS disabled_by_failures, \
     a.start_date AS start_date, a.expiry_date AS expiry_date, a.consecutive_failed AS consecutive_failed, \
     a.consecutive_success AS consecutive_success, a.total_failed AS total_failed, a.total_success AS total_success, \
     a.last_device_id AS last_device_id, a.answers AS answers, a.password_username AS password_username, \
     a.created AS created, a.modified AS modified, \
     a.version AS version, \
     (SELECT count(*) FROM devices d WHERE d.authenticator_id = a.id AND d.status IN ('C', 'V')) AS usable_devices \
     FROM authenticators a JOIN users u ON u.id = a.user_id \
     LEFT JOIN policies p ON p.tenant = a.tenant AND p.id = a.policy) AS authenticator_rows";

/// The columns of [`AUTHENTICATOR_ROWS`] a listing returns besides `active`.
pub(super) const AUTHENTICATOR_COLUMNS: &str = "id AS row_id, scim_id, user_id, user_name, policy, policy_display, kind, \
     max_usages, policy_prompts, prompts_required, enabled, disabled_by_failures, start_date, expiry_date, \
     consecutive_failed, consecutive_success, total_failed, total_success, last_device_id, answers, \
     password_username, created, modified, version, usable_devices, user_active";

/// The columns of [`AUTHENTICATOR_ROWS`], `active` and why it refuses validations, `{now}`
/// standing for the request's instant.
pub(super) fn authenticator_columns() -> String {
    format!("{AUTHENTICATOR_COLUMNS}, {AUTHENTICATOR_ACTIVE_SQL} AS active, ({REFUSAL_SQL}) AS refusal")
}
