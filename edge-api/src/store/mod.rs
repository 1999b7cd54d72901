//! Persistence in Spin SQLite: versioned migrations, devices, challenge state, audit trail,
//! dev outbox, login budgets and the verified-credential cache. No HTTP in here.
//!
//! Every state change that must not race (a code used once, a fail counter, an If-Match) is a
//! single `UPDATE ... WHERE <expected state> RETURNING`, so two requests can never both win.
//! Every change of a device is a method of [`WriteTx`], which writes the change's audit row in the
//! same transaction (SPEC §12), or, for a validation, one statement of [`Validation`] whose audit
//! row a trigger writes: a change without its audit row cannot be written.
//! Rows are read by column name and fail loudly when a column is missing or mistyped.

mod authenticators;
mod challenges;
mod policies;

pub use authenticators::{
    AuthenticatorRefused, AuthenticatorRow, StoredAnswer, get_authenticator, list_authenticators,
};
pub use challenges::{
    Answered, Challenge, ChallengeKind, NewChallenge, OpenCode, Ping, SendBudget, SendRefused,
    authenticator_devices, open_challenge,
};
pub use policies::{PolicyRefused, get_policy, list_policies, seed_tenant};

use crate::db::{Database, DbError, RETRY_PAUSES_MS, Row, Rows, Sql, Transient};
use shared::User;
use shared::audit::{AUDIT_SCHEMA, AuditBucket, AuditEvent};
use shared::authenticator::{Refusal, authenticator_id};
use shared::filter::Condition;
use shared::model::{DEVICE_SCHEMA, Meta, MultiValue, Name, USER_SCHEMA};
use shared::names::device_name;
use shared::query::{Page, Sort};
use shared::schema::{AUDIT, DEVICE, USER};
use shared::user::UserData;
use shared::validate::{Changes, NewDevice};
use shared::{Algorithm, DeviceType, OtpDevice, Status, Timestamp};

/// Each entry migrates the schema from version `index` to `index + 1`; never edit one that shipped.
pub(crate) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE devices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    user_name TEXT NOT NULL,
    status TEXT NOT NULL,
    fails INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL,
    modified INTEGER NOT NULL,
    last_used INTEGER,
    email TEXT,
    phone TEXT,
    algorithm TEXT,
    digits INTEGER,
    period INTEGER,
    version INTEGER NOT NULL DEFAULT 1,
    seed BLOB,
    pin_hash TEXT,
    hotp_counter INTEGER,
    totp_last_step INTEGER,
    code_digest BLOB,
    code_expires INTEGER,
    successes INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    challenges INTEGER NOT NULL DEFAULT 0,
    last_failure INTEGER
);
CREATE INDEX devices_user ON devices (user_name);
CREATE INDEX devices_type ON devices (type);
CREATE INDEX devices_status_used ON devices (status, last_used);
CREATE INDEX devices_last_used ON devices (last_used);
CREATE INDEX devices_created ON devices (created);
CREATE TABLE serials (type TEXT PRIMARY KEY, next INTEGER NOT NULL);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    device_id INTEGER,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_device ON audit (device_id, id);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    device_id INTEGER NOT NULL,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE TABLE login_failures (
    principal TEXT PRIMARY KEY,
    window_start INTEGER NOT NULL,
    failures INTEGER NOT NULL
);
CREATE TABLE credential_cache (
    digest BLOB PRIMARY KEY,
    principal TEXT NOT NULL,
    expires INTEGER NOT NULL
);
"#,
    r#"
ALTER TABLE devices ADD COLUMN external_id TEXT;
CREATE INDEX devices_external_id ON devices (external_id);
"#,
    // Login budgets per (principal, source) with a ceiling per principal (auth.rs), replacing the
    // per-name failure count that let anyone lock a principal out.
    r#"
DROP TABLE login_failures;
CREATE TABLE login_attempts (
    principal TEXT NOT NULL,
    source TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    trusted_until INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (principal, source)
);
"#,
    // Tenants and Users (SPEC §16, §17). Every row gets a tenant, and what existed moves to the
    // default tenant (`?1`). Each user name of the devices becomes a User; names that differ only
    // in case become one user (userName is unique case-insensitively), whose devices then show
    // its name. The device indexes start with the tenant, as every query now does.
    r#"
ALTER TABLE devices ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN user_id INTEGER;
UPDATE devices SET tenant = ?1;
ALTER TABLE audit ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN user_id INTEGER;
UPDATE audit SET tenant = ?1;
ALTER TABLE outbox ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
UPDATE outbox SET tenant = ?1;
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    user_name TEXT NOT NULL,
    external_id TEXT,
    display_name TEXT,
    formatted_name TEXT,
    family_name TEXT,
    given_name TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    created INTEGER NOT NULL,
    modified INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX users_name ON users (tenant, lower(user_name));
CREATE INDEX users_user_name ON users (tenant, user_name);
CREATE INDEX users_external_id ON users (tenant, external_id);
CREATE INDEX users_display_name ON users (tenant, display_name);
CREATE INDEX users_created ON users (tenant, created);
CREATE TABLE user_contacts (
    user_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    position INTEGER NOT NULL,
    value TEXT NOT NULL,
    type TEXT,
    is_primary INTEGER,
    PRIMARY KEY (user_id, kind, position)
);
CREATE INDEX user_contacts_value ON user_contacts (kind, lower(value));
INSERT INTO users (tenant, user_name, created, modified)
    SELECT ?1, min(user_name), min(created), max(modified) FROM devices GROUP BY lower(user_name);
UPDATE devices SET user_id = (SELECT u.id FROM users u WHERE u.tenant = devices.tenant AND lower(u.user_name) = lower(devices.user_name));
UPDATE devices SET user_name = (SELECT u.user_name FROM users u WHERE u.id = devices.user_id);
DROP INDEX devices_user;
DROP INDEX devices_type;
DROP INDEX devices_status_used;
DROP INDEX devices_last_used;
DROP INDEX devices_created;
DROP INDEX devices_external_id;
CREATE INDEX devices_user ON devices (tenant, user_name);
CREATE INDEX devices_user_id ON devices (user_id);
CREATE INDEX devices_type ON devices (tenant, type);
CREATE INDEX devices_status_used ON devices (tenant, status, last_used);
CREATE INDEX devices_last_used ON devices (tenant, last_used);
CREATE INDEX devices_created ON devices (tenant, created);
CREATE INDEX devices_external_id ON devices (tenant, external_id);
CREATE INDEX outbox_tenant ON outbox (tenant, id);
CREATE INDEX audit_user ON audit (user_id, id)
"#,
    // A tenant's rows in id order, the order of every listing without `sortBy`. Without it
    // SQLite (which has no statistics, and takes `tenant = ?` for a selective term) read a
    // tenant through another tenant-first index and sorted it whole: a deep page took 70 ms at
    // 100,000 devices, and an email lookup scanned every user. An index on the tenant alone
    // is ordered by rowid within it, and serves `tenant = ? AND id IN (…)` as well.
    r#"
CREATE INDEX devices_tenant ON devices (tenant);
CREATE INDEX users_tenant ON users (tenant)
"#,
    // A validation is one statement, so that on a network store it is one round trip and needs
    // no transaction: its compare-and-set UPDATE names the principal, and these triggers write
    // its audit row inside that statement (SQLite runs a trigger in its statement: both happen
    // or neither does).
    r#"
ALTER TABLE devices ADD COLUMN validation_actor TEXT;
CREATE TRIGGER audit_validation_success AFTER UPDATE OF successes ON devices
WHEN NEW.successes > OLD.successes
BEGIN
    INSERT INTO audit (tenant, at, actor, action, device_id, detail)
    VALUES (NEW.tenant, NEW.modified, coalesce(NEW.validation_actor, ''), 'challenge-success', NEW.id, '');
END;
CREATE TRIGGER audit_validation_failure AFTER UPDATE OF failures ON devices
WHEN NEW.failures > OLD.failures
BEGIN
    INSERT INTO audit (tenant, at, actor, action, device_id, detail)
    VALUES (NEW.tenant, NEW.modified, coalesce(NEW.validation_actor, ''),
            CASE NEW.status WHEN 'L' THEN 'challenge-failure-locked' ELSE 'challenge-failure' END,
            NEW.id, 'fails ' || NEW.fails);
END
"#,
    // Authenticator policies (SPEC §18), per tenant, keyed by their code. A tenant's row in
    // `tenants` says its built-in policies were written (once, on its first authenticated
    // request); the partial index keeps one default per kind.
    r#"
CREATE TABLE tenants (name TEXT PRIMARY KEY, created INTEGER NOT NULL);
CREATE TABLE policies (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    external_id TEXT,
    display_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    is_default INTEGER NOT NULL DEFAULT 0,
    max_fails INTEGER NOT NULL,
    validity_days INTEGER NOT NULL DEFAULT 0,
    max_usages INTEGER NOT NULL DEFAULT 0,
    algorithm TEXT,
    digits INTEGER,
    period INTEGER,
    code_ttl INTEGER,
    prompts TEXT,
    prompts_required INTEGER,
    prompts_asked INTEGER,
    created INTEGER NOT NULL,
    modified INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant, id)
);
CREATE UNIQUE INDEX policies_default ON policies (tenant, kind) WHERE is_default = 1;
CREATE INDEX policies_kind ON policies (tenant, kind)
"#,
    // Authenticators (SPEC §14): one per user and policy, binding the user's devices of the
    // policy's kind. Existing devices join the authenticator of their owner and their tenant's
    // default policy of their kind (the built-in code when the tenant has no policies yet, which
    // its first request then writes). A validation's statistics are kept by triggers inside its
    // one statement, as its audit row is: both views change together or not at all. Reaching
    // the policy's maxFails consecutive failures (across its devices) disables the
    // authenticator and locks its devices; unlocking or enabling one of its devices through
    // Soffid's dialect (L or D to C or V) ends that lockout in the same statement.
    r#"
CREATE TABLE authenticators (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    user_id INTEGER NOT NULL,
    policy TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    disabled_by_failures INTEGER NOT NULL DEFAULT 0,
    start_date INTEGER NOT NULL,
    expiry_date INTEGER,
    consecutive_failed INTEGER NOT NULL DEFAULT 0,
    consecutive_success INTEGER NOT NULL DEFAULT 0,
    total_failed INTEGER NOT NULL DEFAULT 0,
    total_success INTEGER NOT NULL DEFAULT 0,
    last_device_id INTEGER,
    answers TEXT,
    created INTEGER NOT NULL,
    modified INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX authenticators_user_policy ON authenticators (tenant, user_id, policy);
CREATE INDEX authenticators_policy ON authenticators (tenant, policy);
ALTER TABLE devices ADD COLUMN authenticator_id INTEGER;
INSERT INTO authenticators (tenant, user_id, policy, start_date, created, modified)
    SELECT DISTINCT d.tenant, d.user_id,
        coalesce(
            (SELECT p.id FROM policies p WHERE p.tenant = d.tenant AND p.is_default = 1 AND p.kind =
                CASE d.type WHEN 'EMAIL' THEN 'OOB_EMAIL' WHEN 'SMS' THEN 'OOB_SMS' WHEN 'PIN' THEN 'PASSWORD' ELSE d.type END),
            CASE d.type WHEN 'TOTP' THEN 'AT_EMPOTP' WHEN 'HOTP' THEN 'AT_HOTP' WHEN 'EMAIL' THEN 'AT_OOBEML'
                        WHEN 'SMS' THEN 'AT_OOBSMS' ELSE 'AT_EMPPWD' END),
        min(d.created), min(d.created), max(d.modified)
    FROM devices d WHERE d.user_id IS NOT NULL GROUP BY d.tenant, d.user_id, d.type;
UPDATE devices SET authenticator_id = (
    SELECT a.id FROM authenticators a WHERE a.tenant = devices.tenant AND a.user_id = devices.user_id AND a.policy =
        coalesce(
            (SELECT p.id FROM policies p WHERE p.tenant = devices.tenant AND p.is_default = 1 AND p.kind =
                CASE devices.type WHEN 'EMAIL' THEN 'OOB_EMAIL' WHEN 'SMS' THEN 'OOB_SMS' WHEN 'PIN' THEN 'PASSWORD' ELSE devices.type END),
            CASE devices.type WHEN 'TOTP' THEN 'AT_EMPOTP' WHEN 'HOTP' THEN 'AT_HOTP' WHEN 'EMAIL' THEN 'AT_OOBEML'
                        WHEN 'SMS' THEN 'AT_OOBSMS' ELSE 'AT_EMPPWD' END));
CREATE INDEX devices_authenticator ON devices (authenticator_id);
CREATE TRIGGER authenticator_success AFTER UPDATE OF successes ON devices
WHEN NEW.successes > OLD.successes AND NEW.authenticator_id IS NOT NULL
BEGIN
    UPDATE authenticators SET consecutive_success = consecutive_success + 1, total_success = total_success + 1,
        consecutive_failed = 0, last_device_id = NEW.id, modified = NEW.modified, version = version + 1
    WHERE id = NEW.authenticator_id;
END;
CREATE TRIGGER authenticator_failure AFTER UPDATE OF failures ON devices
WHEN NEW.failures > OLD.failures AND NEW.authenticator_id IS NOT NULL
BEGIN
    UPDATE authenticators SET consecutive_failed = consecutive_failed + 1, total_failed = total_failed + 1,
        consecutive_success = 0,
        disabled_by_failures = disabled_by_failures OR coalesce(consecutive_failed + 1 >=
            (SELECT p.max_fails FROM policies p WHERE p.tenant = authenticators.tenant AND p.id = authenticators.policy), 0),
        modified = NEW.modified, version = version + 1
    WHERE id = NEW.authenticator_id;
END;
CREATE TRIGGER authenticator_locked AFTER UPDATE OF disabled_by_failures ON authenticators
WHEN NEW.disabled_by_failures = 1 AND OLD.disabled_by_failures = 0
BEGIN
    INSERT INTO audit (tenant, at, actor, action, device_id, detail)
        SELECT tenant, NEW.modified, 'scim-otp', 'locked-with-authenticator', id, NEW.user_id || '.' || NEW.policy
        FROM devices WHERE authenticator_id = NEW.id AND status IN ('C', 'V');
    UPDATE devices SET status = 'L', version = version + 1, modified = NEW.modified
    WHERE authenticator_id = NEW.id AND status IN ('C', 'V');
END;
CREATE TRIGGER authenticator_unlocked AFTER UPDATE OF status ON devices
WHEN OLD.status IN ('L', 'D') AND NEW.status IN ('C', 'V') AND NEW.authenticator_id IS NOT NULL
BEGIN
    UPDATE authenticators SET consecutive_failed = 0, disabled_by_failures = 0, modified = NEW.modified,
        version = version + 1
    WHERE id = NEW.authenticator_id AND (consecutive_failed > 0 OR disabled_by_failures = 1);
END
"#,
    // The Authenticator resource reads its rows through one view: each with its owner, its
    // policy and its count of usable devices, the columns its attribute table filters and sorts on.
    r#"
CREATE VIEW authenticator_rows AS
SELECT a.id AS id, a.tenant AS tenant, a.user_id || '.' || a.policy AS scim_id, a.user_id AS user_id,
    u.user_name AS user_name, u.active AS user_active, a.policy AS policy,
    coalesce(p.display_name, a.policy) AS policy_display, p.kind AS kind, coalesce(p.max_usages, 0) AS max_usages,
    p.prompts AS policy_prompts, p.prompts_required AS prompts_required, a.enabled AS enabled,
    a.disabled_by_failures AS disabled_by_failures, a.start_date AS start_date, a.expiry_date AS expiry_date,
    a.consecutive_failed AS consecutive_failed, a.consecutive_success AS consecutive_success,
    a.total_failed AS total_failed, a.total_success AS total_success, a.last_device_id AS last_device_id,
    a.answers AS answers, a.created AS created, a.modified AS modified, a.version AS version,
    (SELECT count(*) FROM devices d WHERE d.authenticator_id = a.id AND d.status IN ('C', 'V')) AS usable_devices
FROM authenticators a JOIN users u ON u.id = a.user_id
LEFT JOIN policies p ON p.tenant = a.tenant AND p.id = a.policy
"#,
    // The challenges of HID's named actions (SPEC §14): which device a `CHALLENGE.ID` names,
    // the security questions it asked, and the CIBA ping a verification of it owes (the bearer
    // token sealed as a seed is). A code itself stays on its device, where Soffid's dialect
    // reads it too. They go with their authenticator or device.
    //
    // Disabling an authenticator disables its devices in Soffid's view (D), each remembering
    // its status, which enabling it again restores; enabling one of them through Soffid's
    // dialect enables the authenticator (and so the others). One disable, seen in both views.
    // A device restored so is not an admin's unlock: it leaves the failure count as it was.
    r#"
CREATE TABLE challenges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    authenticator_id INTEGER NOT NULL,
    device_id INTEGER,
    prompts TEXT,
    notify_token BLOB,
    auth_req_id TEXT,
    created INTEGER NOT NULL,
    expires INTEGER NOT NULL
);
CREATE INDEX challenges_authenticator ON challenges (authenticator_id);
CREATE INDEX challenges_device ON challenges (device_id);
CREATE TRIGGER challenges_of_authenticator AFTER DELETE ON authenticators
BEGIN
    DELETE FROM challenges WHERE authenticator_id = OLD.id;
END;
CREATE TRIGGER challenges_of_device AFTER DELETE ON devices
BEGIN
    DELETE FROM challenges WHERE device_id = OLD.id;
END;
ALTER TABLE devices ADD COLUMN status_before_disable TEXT;
DROP TRIGGER authenticator_unlocked;
CREATE TRIGGER authenticator_unlocked AFTER UPDATE OF status ON devices
WHEN OLD.status IN ('L', 'D') AND NEW.status IN ('C', 'V') AND NEW.authenticator_id IS NOT NULL
    AND (OLD.status_before_disable IS NULL OR NEW.status_before_disable IS NOT NULL)
BEGIN
    UPDATE authenticators SET consecutive_failed = 0, disabled_by_failures = 0, modified = NEW.modified,
        version = version + 1
    WHERE id = NEW.authenticator_id AND (consecutive_failed > 0 OR disabled_by_failures = 1);
END;
CREATE TRIGGER authenticator_disabled AFTER UPDATE OF enabled ON authenticators
WHEN OLD.enabled = 1 AND NEW.enabled = 0
BEGIN
    INSERT INTO audit (tenant, at, actor, action, device_id, detail)
        SELECT tenant, NEW.modified, 'scim-otp', 'disabled-with-authenticator', id, NEW.user_id || '.' || NEW.policy
        FROM devices WHERE authenticator_id = NEW.id AND status IN ('C', 'V', 'L');
    UPDATE devices SET status_before_disable = status, status = 'D', version = version + 1, modified = NEW.modified
    WHERE authenticator_id = NEW.id AND status IN ('C', 'V', 'L');
END;
CREATE TRIGGER authenticator_enabled AFTER UPDATE OF enabled ON authenticators
WHEN OLD.enabled = 0 AND NEW.enabled = 1
BEGIN
    INSERT INTO audit (tenant, at, actor, action, device_id, detail)
        SELECT tenant, NEW.modified, 'scim-otp', 'enabled-with-authenticator', id, NEW.user_id || '.' || NEW.policy
        FROM devices WHERE authenticator_id = NEW.id AND status = 'D' AND status_before_disable IS NOT NULL;
    UPDATE devices SET status = status_before_disable, status_before_disable = NULL, version = version + 1,
        modified = NEW.modified
    WHERE authenticator_id = NEW.id AND status = 'D' AND status_before_disable IS NOT NULL;
END;
CREATE TRIGGER device_enabled_with_authenticator AFTER UPDATE OF status ON devices
WHEN OLD.status = 'D' AND NEW.status IN ('C', 'V') AND NEW.authenticator_id IS NOT NULL
BEGIN
    UPDATE devices SET status_before_disable = NULL WHERE id = NEW.id;
    UPDATE authenticators SET enabled = 1, modified = NEW.modified, version = version + 1
    WHERE id = NEW.authenticator_id AND enabled = 0;
END
"#,
    // Spin opens a connection per request, and SQLite parses the whole schema on a connection's
    // first statement: every view and trigger is paid for by every request, even one that never
    // reads it (`GET /ServiceProviderConfig` on the runner: 1.51 ms before issue 14, 1.99 ms with
    // its schema, 1.52 ms on the same schema without its triggers and view). The authenticators'
    // rows are the same SELECT, now kept in the code (`store::authenticators::AUTHENTICATOR_ROWS`)
    // and parsed only by the statements that read them. What the four triggers of an admin's
    // enable, disable and unlock did, the two writes that make those changes now do in their
    // transaction (`WriteTx::update_device`, `WriteTx::update_authenticator`). The triggers a
    // validation's single statement needs stay.
    r#"
DROP VIEW authenticator_rows;
DROP TRIGGER authenticator_disabled;
DROP TRIGGER authenticator_enabled;
DROP TRIGGER device_enabled_with_authenticator;
DROP TRIGGER authenticator_unlocked
"#,
    // The audit trail as a resource (`GET /Audit`, tenant-wide): newest first by time, and the
    // events of an authenticator by its SCIM id (`<user id>.<policy>`; rows from before this
    // migration have none). The index serves the time-ordered pages, time-range filters and
    // the per-hour counts of the admin app's overview without reading the rows.
    r#"
ALTER TABLE audit ADD COLUMN authenticator TEXT;
CREATE INDEX audit_tenant_at ON audit (tenant, at, action)
"#,
    // Each challenge owns the code it sent (SPEC §14): its digest moves from the device, where
    // the next challenge's code replaced it while the first challenge stayed open, to the
    // challenge, with its own expiry, closed by its own success. `kind` says what it is: a
    // plain code or turn (`plain`: Soffid's requestChallenge, USER-/DEVICE-CHALLENGE, an
    // activation code), a transaction's code (`transaction`: DELIVER-CHALLENGE, answered by a
    // VERIFY only), or security questions (`questions`). A device without an authenticator can
    // have challenges too. Open challenges and pending codes carry over: a device's code to its
    // newest challenge, or to a new plain one.
    //
    // `sends` is the log the send budgets count (SPEC §6: a cooldown per destination, hourly
    // caps per device, destination and tenant); an hour's rows are kept.
    //
    // A login budget per source address whatever names it claims (auth.rs) sums that address's
    // rows; `password_username` keeps HID's `Password.username` as the create gave it.
    r#"
DROP TRIGGER challenges_of_authenticator;
DROP TRIGGER challenges_of_device;
CREATE TABLE challenges_owned (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    authenticator_id INTEGER,
    device_id INTEGER,
    kind TEXT NOT NULL,
    code_digest BLOB,
    prompts TEXT,
    notify_token BLOB,
    auth_req_id TEXT,
    created INTEGER NOT NULL,
    expires INTEGER NOT NULL
);
INSERT INTO challenges_owned (id, tenant, authenticator_id, device_id, kind, code_digest, prompts, notify_token,
    auth_req_id, created, expires)
SELECT c.id, c.tenant, c.authenticator_id, c.device_id,
    CASE WHEN c.prompts IS NOT NULL THEN 'questions' WHEN c.auth_req_id IS NOT NULL THEN 'transaction' ELSE 'plain' END,
    CASE WHEN c.id = (SELECT max(n.id) FROM challenges n WHERE n.device_id = c.device_id) THEN d.code_digest END,
    c.prompts, c.notify_token, c.auth_req_id, c.created, max(c.expires, coalesce(d.code_expires, 0))
FROM challenges c LEFT JOIN devices d ON d.id = c.device_id;
INSERT INTO challenges_owned (tenant, authenticator_id, device_id, kind, code_digest, created, expires)
SELECT d.tenant, d.authenticator_id, d.id, 'plain', d.code_digest, d.modified, d.code_expires
FROM devices d WHERE d.code_digest IS NOT NULL AND d.code_expires IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM challenges c WHERE c.device_id = d.id);
DROP TABLE challenges;
ALTER TABLE challenges_owned RENAME TO challenges;
CREATE INDEX challenges_authenticator ON challenges (authenticator_id);
CREATE INDEX challenges_device ON challenges (device_id, kind);
CREATE TRIGGER challenges_of_authenticator AFTER DELETE ON authenticators
BEGIN
    DELETE FROM challenges WHERE authenticator_id = OLD.id;
END;
CREATE TRIGGER challenges_of_device AFTER DELETE ON devices
BEGIN
    DELETE FROM challenges WHERE device_id = OLD.id;
END;
ALTER TABLE devices DROP COLUMN code_digest;
ALTER TABLE devices DROP COLUMN code_expires;
CREATE TABLE sends (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    device_id INTEGER NOT NULL,
    destination TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX sends_destination ON sends (tenant, destination, at);
CREATE INDEX sends_device ON sends (device_id, at);
CREATE INDEX sends_tenant ON sends (tenant, at);
CREATE INDEX login_attempts_source ON login_attempts (source, window_start);
ALTER TABLE authenticators ADD COLUMN password_username TEXT
"#,
];

/// The statements of a migration script: split at `;`, except inside a trigger's body, which
/// runs to its `END` (so no statement of a trigger body may itself end in `END`, as a `CASE`
/// could).
pub(crate) fn split_script(script: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut pending = String::new();
    for piece in script.split(';') {
        pending.push_str(piece);
        let text = pending.trim();
        let in_trigger = text.to_ascii_uppercase().starts_with("CREATE TRIGGER")
            && !text.to_ascii_uppercase().ends_with("END");
        if in_trigger {
            pending.push(';');
            continue;
        }
        if !text.is_empty() {
            statements.push(text.to_owned());
        }
        pending.clear();
    }
    statements
}

pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Where the schema version lives: a table of our own, not `PRAGMA user_version`, which Turso's
/// hosted service refuses and which would cost a statement of its own on every request.
const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, \
                             applied INTEGER NOT NULL, note TEXT NOT NULL DEFAULT '')";

/// The version of a database from before `schema_migrations` (it kept `PRAGMA user_version`),
/// read from the schema itself so that no pragma is needed: 0 when empty.
fn legacy_version(db: &dyn Database) -> Result<i64, DbError> {
    let rows = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'devices'", &[])?;
    Ok(match rows.first() {
        None => 0,
        Some(row) if row.text("sql")?.contains("external_id") => 2,
        Some(_) => 1,
    })
}

/// Brings the schema to [`SCHEMA_VERSION`], under `BEGIN IMMEDIATE` and re-checked inside, so
/// that concurrent first requests (on one node or several) migrate once. Requests find out
/// whether they must call this from [`session`], which reads the version anyway.
pub fn migrate(db: &dyn Database, now: i64, default_tenant: &str) -> Result<(), DbError> {
    // WAL lets readers go on while a request writes. It is a property of the file, so asking
    // once, when the schema changes, is enough; libSQL and hosted backends may refuse it, which
    // changes nothing there. It cannot be changed inside a transaction.
    let _ = db.execute("PRAGMA journal_mode = WAL", &[]);
    write_raw(db, || {
        db.execute(VERSION_TABLE, &[])?;
        let recorded = db.execute("SELECT max(version) AS version FROM schema_migrations", &[])?;
        let mut version = match recorded.first().map(|r| r.opt_int("version")).transpose()?.flatten() {
            Some(version) => version,
            None => {
                let legacy = legacy_version(db)?;
                for v in 1..=legacy {
                    db.execute(
                        "INSERT INTO schema_migrations (version, applied, note) VALUES (?, ?, 'before schema_migrations')",
                        &[v.into(), now.into()],
                    )?;
                }
                legacy
            }
        };
        while version < SCHEMA_VERSION {
            let script = MIGRATIONS[version as usize];
            for statement in split_script(script) {
                // The one parameter a migration takes: the tenant that existing rows move to.
                let params: &[Sql] =
                    if statement.contains("?1") { &[Sql::Text(default_tenant.to_owned())] } else { &[] };
                db.execute(&statement, params)?;
            }
            version += 1;
            db.execute(
                "INSERT INTO schema_migrations (version, applied) VALUES (?, ?)",
                &[version.into(), now.into()],
            )?;
        }
        Ok(())
    })
}

/// `BEGIN IMMEDIATE` … `COMMIT`, rolled back on every failure, a failed `COMMIT` included, so
/// that the connection never carries a dead transaction into the request's next statements.
/// Work that failed transiently (busy, interrupted, store out of reach) is rolled back and run
/// again from `BEGIN`, after the pauses of [`RETRY_PAUSES_MS`]: it reads what it decides on inside
/// the transaction, so a second run decides on what is there then.
fn write_raw<T, E: From<DbError> + Transient>(
    db: &dyn Database,
    mut work: impl FnMut() -> Result<T, E>,
) -> Result<T, E> {
    let mut pauses = RETRY_PAUSES_MS.into_iter();
    loop {
        // The connection has retried a BEGIN that failed transiently already.
        db.execute("BEGIN IMMEDIATE", &[])?;
        let error = match work() {
            Ok(value) => match db.execute("COMMIT", &[]) {
                Ok(_) => return Ok(value),
                // A COMMIT that failed without proof that it did nothing (its answer lost on the
                // way back, say) may have been applied: running the work again could do it twice
                // (or refuse a code it accepted), so the caller hears the failure (a 503 if lost).
                Err(lost) if !lost.did_not_run() => {
                    let _ = db.execute("ROLLBACK", &[]);
                    return Err(E::from(lost));
                }
                Err(error) => E::from(error),
            },
            Err(error) => error,
        };
        // The original error matters more than a failed rollback (there may be nothing to roll
        // back when COMMIT itself, or an interrupted write, ended the transaction).
        let _ = db.execute("ROLLBACK", &[]);
        match pauses.next() {
            Some(ms) if error.is_transient() => pause(ms),
            _ => return Err(error),
        }
    }
}

/// A thread sleep, natively and in the component (WASI's monotonic clock).
pub fn pause(ms: u64) {
    std::thread::sleep(std::time::Duration::from_millis(ms));
}

/// A write transaction on behalf of `actor`: every change of a device goes through one of its
/// methods, which also writes the change's audit row, so both commit together or not at all.
pub struct WriteTx<'a> {
    db: &'a dyn Database,
    tenant: &'a str,
    actor: &'a str,
    now: i64,
}

/// Who changes what: the tenant every row of the change belongs to, and the principal.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub tenant: &'a str,
    pub name: &'a str,
}

/// Runs `work` in one write transaction (see [`WriteTx`]).
pub fn write<T, E: From<DbError> + Transient>(
    db: &dyn Database,
    actor: Actor<'_>,
    now: i64,
    mut work: impl FnMut(&WriteTx<'_>) -> Result<T, E>,
) -> Result<T, E> {
    let tx = WriteTx { db, tenant: actor.tenant, actor: actor.name, now };
    write_raw(db, || work(&tx))
}

/// The device owner's `active`, as a device query reads it (1 for a device without an owner row,
/// which only a database written outside the service can hold).
macro_rules! owner_active {
    () => {
        "coalesce((SELECT active FROM users WHERE users.id = devices.user_id), 1)"
    };
}
const OWNER_ACTIVE: &str = owner_active!();

/// The consecutive failures of a device's authenticator (NULL for a device without one).
const AUTHENTICATOR_FAILED: &str =
    "(SELECT a.consecutive_failed FROM authenticators a WHERE a.id = devices.authenticator_id)";

/// The maxFails of a device's authenticator policy, as a device query reads it (NULL for a
/// device without an authenticator).
const POLICY_MAX_FAILS: &str = "(SELECT p.max_fails FROM authenticators a JOIN policies p \
                                ON p.tenant = a.tenant AND p.id = a.policy WHERE a.id = devices.authenticator_id)";

pub(super) const DEVICE_COLUMNS: &str = "id, name, type, user_name, status, fails, created, modified, last_used, email, phone, algorithm, digits, period, version, external_id";

fn device_from_row(row: Row<'_>) -> Result<OtpDevice, DbError> {
    let id = row.int("id")?;
    let corrupt =
        |column: &str| DbError(format!("device {id}: column {column} holds a value we never write"));
    let created = Timestamp(row.int("created")?);
    let algorithm = match row.opt_text("algorithm")? {
        None => None,
        Some(text) => Some(Algorithm::parse(text).ok_or_else(|| corrupt("algorithm"))?),
    };
    Ok(OtpDevice {
        schemas: vec![DEVICE_SCHEMA.to_owned()],
        id,
        name: row.text("name")?.to_owned(),
        device_type: DeviceType::parse(row.text("type")?).ok_or_else(|| corrupt("type"))?,
        user: row.text("user_name")?.to_owned(),
        status: Status::parse(row.text("status")?).ok_or_else(|| corrupt("status"))?,
        fails: row.count("fails")?,
        created,
        last_used: row.opt_int("last_used")?.map(Timestamp),
        email: row.opt_text("email")?.map(str::to_owned),
        phone: row.opt_text("phone")?.map(str::to_owned),
        algorithm,
        digits: row.opt_count("digits")?,
        period: row.opt_count("period")?,
        external_id: row.opt_text("external_id")?.map(str::to_owned),
        image: None,
        otpauth_uri: None,
        meta: Meta::new(DEVICE.name, created, Timestamp(row.int("modified")?), row.int("version")?),
    })
}

fn devices_from_rows(rows: &Rows) -> Result<Vec<OtpDevice>, DbError> {
    rows.iter().map(device_from_row).collect()
}

fn one_device(rows: &Rows) -> Result<Option<OtpDevice>, DbError> {
    rows.first().map(device_from_row).transpose()
}

/// What a create stores besides the checked request: the sealed seed and PIN hash.
pub struct Secrets {
    pub sealed_seed: Option<Vec<u8>>,
    pub pin_hash: Option<String>,
}

/// An existing device that a new one would duplicate: a user has one PIN, and one EMAIL or SMS
/// device per address. TOTP/HOTP devices may repeat (a spare token is normal).
pub fn find_duplicate(db: &dyn Database, tenant: &str, new: &NewDevice) -> Result<Option<i64>, DbError> {
    let target = match new.device_type {
        DeviceType::Pin => Sql::Null,
        DeviceType::Email => new.email.clone().into(),
        DeviceType::Sms => new.phone.clone().into(),
        DeviceType::Totp | DeviceType::Hotp => return Ok(None),
    };
    let rows = db.execute(
        "SELECT id FROM devices WHERE tenant = ? AND lower(user_name) = lower(?) AND type = ? \
         AND (? IS NULL OR lower(coalesce(email, phone)) = lower(?)) LIMIT 1",
        &[tenant.into(), new.user.as_str().into(), new.device_type.as_str().into(), target.clone(), target],
    )?;
    rows.first().map(|r| r.int("id")).transpose()
}

/// A device of `tenant`; one of another tenant is not found.
pub fn get_device(db: &dyn Database, tenant: &str, id: i64) -> Result<Option<OtpDevice>, DbError> {
    one_device(&db.execute(
        &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ? AND tenant = ?"),
        &[id.into(), tenant.into()],
    )?)
}

/// The resource tables a listing can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Devices,
    Users,
    Policies,
    Authenticators,
    Audit,
}

impl Table {
    /// The resource whose attribute table names this table's columns.
    pub fn resource(self) -> &'static shared::schema::Resource {
        match self {
            Table::Devices => &shared::schema::DEVICE,
            Table::Users => &shared::schema::USER,
            Table::Policies => &shared::schema::POLICY,
            Table::Authenticators => &shared::schema::AUTHENTICATOR,
            Table::Audit => &shared::schema::AUDIT,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Table::Devices => "devices",
            Table::Users => "users",
            Table::Policies => "policies",
            Table::Authenticators => authenticators::AUTHENTICATOR_ROWS,
            Table::Audit => "audit",
        }
    }

    /// What a listing selects; `{now}` stands for the request's instant (see [`ListQuery::at`]).
    fn columns(self) -> std::borrow::Cow<'static, str> {
        match self {
            Table::Devices => DEVICE_COLUMNS.into(),
            Table::Users => USER_COLUMNS.into(),
            Table::Policies => policies::POLICY_COLUMNS.into(),
            Table::Authenticators => authenticators::columns().into(),
            Table::Audit => AUDIT_COLUMNS.into(),
        }
    }
}

/// The two statements a listing runs: the match count, and one page (its last two parameters are
/// LIMIT and OFFSET). Public so that the benchmark can `EXPLAIN QUERY PLAN` exactly these.
/// A listing's two statements over the same `WHERE` and its parameters: the page, which carries
/// the count as a scalar subquery in a `total` column (one statement, one round trip on a network
/// store), and the count alone, for the `count=0` question and for a page that came back empty.
pub struct ListQuery {
    pub count_sql: String,
    pub page_sql: String,
    pub params: Vec<Sql>,
}

impl ListQuery {
    /// SQLite's `EXPLAIN QUERY PLAN` of the page (its first 100) and of the count, each as its
    /// details joined by ", ": what the benchmark prints and the plan tests check.
    pub fn explain(&self, db: &dyn Database) -> Result<[String; 2], DbError> {
        let plan = |sql: &str, params: Vec<Sql>| -> Result<String, DbError> {
            let rows = db.execute(&format!("EXPLAIN QUERY PLAN {sql}"), &params)?;
            let details =
                rows.iter().map(|r| r.text("detail").map(str::to_owned)).collect::<Result<Vec<_>, _>>()?;
            Ok(details.join(", "))
        };
        Ok([plan(&self.page_sql, self.page_params(100, 0))?, plan(&self.count_sql, self.params.clone())?])
    }

    /// The listing as of `now`: what the columns say of the request's instant (an authenticator's
    /// `status.active`) is said of `now`, an integer put in for `{now}`.
    pub fn at(mut self, now: i64) -> ListQuery {
        let now = now.to_string();
        self.count_sql = self.count_sql.replace("{now}", &now);
        self.page_sql = self.page_sql.replace("{now}", &now);
        self
    }

    /// The page's parameters: the `WHERE`'s for the count subquery, again for the rows, then
    /// `LIMIT` and `OFFSET`.
    pub fn page_params(&self, limit: i64, offset: i64) -> Vec<Sql> {
        let mut params = self.params.clone();
        params.extend(self.params.iter().cloned());
        params.push(Sql::Int(limit));
        params.push(Sql::Int(offset));
        params
    }
}

/// A listing of one tenant's rows: the tenant is the first parameter of every listing, and the
/// first column of every index, so no filter can reach another tenant's rows.
pub fn list_query(
    table: Table,
    tenant: &str,
    condition: Option<&Condition>,
    sort: Option<&Sort>,
) -> ListQuery {
    let mut params = vec![Sql::from(tenant)];
    let clause = match condition {
        Some(c) => {
            let w = c.to_sql();
            params.extend(w.params.into_iter().map(Sql::from));
            format!(" WHERE tenant = ? AND {}", w.sql)
        }
        None => " WHERE tenant = ?".to_owned(),
    };
    let name = table.name();
    ListQuery {
        count_sql: format!("SELECT count(*) AS total FROM {name}{clause}"),
        page_sql: format!(
            "SELECT (SELECT count(*) FROM {name}{clause}) AS total, {} FROM {name}{clause} ORDER BY {} \
             LIMIT ? OFFSET ?",
            table.columns(),
            Sort::order_by_sql(sort)
        ),
        params,
    }
}

/// Runs a listing: how many match in all, and the rows of one page. Filter, order, limit and
/// offset all run in SQLite; a page with rows is one statement, its rows carrying the count.
fn run_list(db: &dyn Database, query: ListQuery, page: Page) -> Result<(u64, Rows), DbError> {
    let count = || -> Result<u64, DbError> {
        let total = db.execute(&query.count_sql, &query.params)?;
        total.first().ok_or_else(|| DbError("count(*) returned no row".into()))?.count("total")
    };
    if page.count == 0 {
        return Ok((count()?, Rows::default()));
    }
    let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
    let rows = db.execute(&query.page_sql, &query.page_params(page.count as i64, offset))?;
    match rows.first() {
        Some(first) => Ok((first.count("total")?, rows)),
        // No row to carry the count: none match, or the page starts past the end.
        None => Ok((count()?, rows)),
    }
}

/// One page of a tenant's devices matching a filter, and how many match in all.
pub fn list_devices(
    db: &dyn Database,
    tenant: &str,
    condition: Option<&Condition>,
    sort: Option<&Sort>,
    page: Page,
) -> Result<(u64, Vec<OtpDevice>), DbError> {
    let (total, rows) = run_list(db, list_query(Table::Devices, tenant, condition, sort), page)?;
    Ok((total, devices_from_rows(&rows)?))
}

/// What a challenge needs of a device besides its public attributes.
pub struct ChallengeState {
    pub device: OtpDevice,
    pub sealed_seed: Option<Vec<u8>>,
    pub pin_hash: Option<String>,
    pub hotp_counter: Option<u64>,
    pub totp_last_step: Option<u64>,
    /// The codes of an EMAIL/SMS device's open challenges, each its own (SPEC §14).
    pub codes: Vec<OpenCode>,
    /// How long a code of an EMAIL/SMS device lives: its authenticator policy's
    /// `codeTtlSeconds`, if it has one.
    pub code_ttl: Option<i64>,
    /// The row id of its authenticator, if it has one.
    pub authenticator_id: Option<i64>,
    /// The owner's `active` (SPEC §17): when false, nothing is sent, checked or counted.
    pub user_active: bool,
    /// Why the device's authenticator refuses validations now (SPEC §14), if it does. Then, as
    /// for an inactive user, nothing is sent, checked or counted.
    pub authenticator_refusal: Option<Refusal>,
}

/// Why authenticator `a` (joined to its policy `p`) refuses validations at `now`, as SQL: NULL
/// when it does not. The one statement of these rules: [`challenge_state`] reads it to say why,
/// and the writes of [`Validation`] and of a security-question answer check it again so that a
/// change meanwhile is not overtaken. `now` is an integer, inlined.
fn refusal_case(now: impl std::fmt::Display) -> String {
    let word = |r: Refusal| r.as_str();
    format!(
        "CASE WHEN a.enabled = 0 THEN '{}' WHEN a.disabled_by_failures = 1 THEN '{}' \
         WHEN a.start_date > {now} THEN '{}' \
         WHEN a.expiry_date IS NOT NULL AND a.expiry_date <= {now} THEN '{}' \
         WHEN p.max_usages > 0 AND a.total_success >= p.max_usages THEN '{}' END",
        word(Refusal::Disabled),
        word(Refusal::Locked),
        word(Refusal::NotYetValid),
        word(Refusal::Expired),
        word(Refusal::UsageLimit),
    )
}

/// [`refusal_case`] for the authenticator whose row id is `id` (a column of the statement):
/// NULL when there is none.
fn refusal_of(now: impl std::fmt::Display, id: &str) -> String {
    format!(
        "(SELECT {} FROM authenticators a LEFT JOIN policies p ON p.tenant = a.tenant AND p.id = a.policy \
         WHERE a.id = {id})",
        refusal_case(now)
    )
}

/// [`refusal_of`] the authenticator of a device in a statement over `devices`.
fn authenticator_refusal(now: i64) -> String {
    refusal_of(now, "devices.authenticator_id")
}

pub fn challenge_state(
    db: &dyn Database,
    tenant: &str,
    id: i64,
    now: i64,
) -> Result<Option<ChallengeState>, DbError> {
    let rows = db.execute(
        &format!("SELECT {} FROM devices WHERE id = ? AND tenant = ?", challenge_columns(now)),
        &[id.into(), tenant.into()],
    )?;
    rows.first().map(challenge_state_from).transpose()
}

/// The columns [`challenge_state_from`] reads, in a statement over `devices`.
pub(super) fn challenge_columns(now: i64) -> String {
    format!(
        "{DEVICE_COLUMNS}, seed, pin_hash, hotp_counter, totp_last_step, authenticator_id, \
         CASE WHEN type IN ('EMAIL', 'SMS') THEN (SELECT json_group_array(json_array(c.id, hex(c.code_digest), c.kind)) \
         FROM challenges c WHERE c.device_id = devices.id AND c.code_digest IS NOT NULL AND c.expires >= {now}) \
         END AS open_codes, \
         CASE WHEN type IN ('EMAIL', 'SMS') THEN (SELECT p.code_ttl FROM authenticators a JOIN policies p \
         ON p.tenant = a.tenant AND p.id = a.policy WHERE a.id = devices.authenticator_id) END AS code_ttl, \
         {OWNER_ACTIVE} AS user_active, {} AS authenticator_refusal",
        authenticator_refusal(now)
    )
}

pub(super) fn challenge_state_from(row: Row<'_>) -> Result<ChallengeState, DbError> {
    Ok(ChallengeState {
        device: device_from_row(row)?,
        sealed_seed: row.opt_blob("seed")?.map(<[u8]>::to_vec),
        pin_hash: row.opt_text("pin_hash")?.map(str::to_owned),
        hotp_counter: row.opt_count("hotp_counter")?,
        totp_last_step: row.opt_count("totp_last_step")?,
        codes: challenges::open_codes_from(row.opt_text("open_codes")?)?,
        code_ttl: row.opt_int("code_ttl")?,
        authenticator_id: row.opt_int("authenticator_id")?,
        user_active: row.int("user_active")? != 0,
        authenticator_refusal: row
            .opt_text("authenticator_refusal")?
            .map(|word| {
                Refusal::parse(word).ok_or_else(|| DbError(format!("unknown authenticator refusal {word:?}")))
            })
            .transpose()?,
    })
}

/// The compare-and-set that a successful validation must win. Only devices in C or V can
/// succeed, and only while the device is still in the state the code was checked against.
#[derive(Clone, Copy)]
pub enum SuccessGuard<'a> {
    /// TOTP: the matched time step, and the last accepted step the check saw (its replay rule
    /// compared against that one).
    TotpStep { step: u64, last: Option<u64> },
    /// HOTP: the matched counter, and the stored counter the check started from; it moves past
    /// the match.
    HotpCounter { matched: u64, from: u64 },
    /// EMAIL/SMS: the code of challenge `challenge`, which must still be open, unexpired and
    /// the device's; it is closed.
    Code { challenge: i64, digest: &'a [u8] },
    /// PIN: the hash the PIN was verified against must still be the device's.
    Pin(&'a str),
}

fn sql_u64(n: u64) -> Sql {
    Sql::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

impl WriteTx<'_> {
    /// The audit row of a change (SPEC §12: who, when, what, device id; never a secret).
    fn audit(&self, action: &str, device_id: Option<i64>, detail: &str) -> Result<(), DbError> {
        self.audit_row(action, device_id, None, detail)
    }

    fn audit_row(
        &self,
        action: &str,
        device_id: Option<i64>,
        user_id: Option<i64>,
        detail: &str,
    ) -> Result<(), DbError> {
        self.audit_event(action, device_id, user_id, None, detail)
    }

    /// An audit row, with the SCIM id of the authenticator it concerns (`<user id>.<policy>`).
    fn audit_event(
        &self,
        action: &str,
        device_id: Option<i64>,
        user_id: Option<i64>,
        authenticator: Option<&str>,
        detail: &str,
    ) -> Result<(), DbError> {
        self.db.execute(
            "INSERT INTO audit (tenant, at, actor, action, device_id, user_id, authenticator, detail) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            &[
                self.tenant.into(),
                self.now.into(),
                self.actor.into(),
                action.into(),
                device_id.into(),
                user_id.into(),
                authenticator.into(),
                detail.into(),
            ],
        )?;
        Ok(())
    }

    /// Records an attempt that changed nothing (a challenge asked of a locked device).
    pub fn attempt(&self, action: &str, device_id: i64, detail: &str) -> Result<(), DbError> {
        self.audit(action, Some(device_id), detail)
    }

    pub fn find_duplicate(&self, new: &NewDevice) -> Result<Option<i64>, DbError> {
        find_duplicate(self.db, self.tenant, new)
    }

    /// Creates a device with the next serial of its type (`TOTP00000035`, never reused), bound
    /// to `authenticator` (its row id and policy code), or when `None` to its owner's for the
    /// tenant's default policy of its kind.
    pub fn create_device(
        &self,
        new: &NewDevice,
        secrets: &Secrets,
        authenticator: Option<(i64, &str)>,
    ) -> Result<OtpDevice, DbError> {
        let serial = if new.device_type.has_seed() {
            let rows = self.db.execute(
                "INSERT INTO serials (type, next) VALUES (?, 1) \
                 ON CONFLICT (type) DO UPDATE SET next = next + 1 RETURNING next",
                &[new.device_type.as_str().into()],
            )?;
            rows.first().ok_or_else(|| DbError("serial upsert returned no row".into()))?.count("next")?
        } else {
            0
        };
        let name = device_name(new.device_type, serial, new.email.as_deref(), new.phone.as_deref());
        let (user_id, user_name) = self.user_for_device(&new.user)?;
        let authenticator = match authenticator {
            Some((id, policy)) => Some((id, policy.to_owned())),
            None => self.default_authenticator(user_id, new.device_type)?,
        };
        let rows = self.db.execute(
            &format!(
                "INSERT INTO devices (tenant, user_id, authenticator_id, name, type, user_name, status, fails, created, \
                 modified, email, phone, algorithm, digits, period, seed, pin_hash, hotp_counter, external_id) \
                 VALUES (?, ?, ?, ?, ?, ?, 'C', 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {DEVICE_COLUMNS}"
            ),
            &[
                self.tenant.into(),
                user_id.into(),
                authenticator.as_ref().map(|(id, _)| *id).into(),
                name.as_str().into(),
                new.device_type.as_str().into(),
                user_name.as_str().into(),
                self.now.into(),
                self.now.into(),
                new.email.clone().into(),
                new.phone.clone().into(),
                new.algorithm.map(Algorithm::as_str).into(),
                new.digits.map(i64::from).into(),
                new.period.map(i64::from).into(),
                secrets.sealed_seed.clone().map_or(Sql::Null, Sql::Blob),
                secrets.pin_hash.clone().into(),
                (new.device_type == DeviceType::Hotp).then_some(0i64).into(),
                new.external_id.clone().into(),
            ],
        )?;
        let device = one_device(&rows)?.ok_or_else(|| DbError("insert returned no row".into()))?;
        let bound =
            authenticator.map_or(String::new(), |(_, policy)| format!(", authenticator {user_id}.{policy}"));
        self.audit("create", Some(device.id), &format!("{} for {}{bound}", device.device_type, device.user))?;
        Ok(device)
    }

    /// The authenticator a device created through `/OtpDevice` joins (SPEC §14): its owner's for
    /// the tenant's default policy of its kind, created on the fly with the policy's validity;
    /// its id and policy code, `None` when the tenant has no default of that kind.
    fn default_authenticator(&self, user_id: i64, t: DeviceType) -> Result<Option<(i64, String)>, DbError> {
        let rows = self.db.execute(
            "INSERT INTO authenticators (tenant, user_id, policy, start_date, expiry_date, created, modified) \
             SELECT ?1, ?2, p.id, ?3, CASE WHEN p.validity_days > 0 THEN ?3 + p.validity_days * 86400 END, ?3, ?3 \
             FROM policies p WHERE p.tenant = ?1 AND p.kind = ?4 AND p.is_default = 1 \
             ON CONFLICT (tenant, user_id, policy) DO UPDATE SET modified = modified RETURNING id, policy",
            &[
                self.tenant.into(),
                user_id.into(),
                self.now.into(),
                shared::policy::PolicyKind::of_device(t).as_str().into(),
            ],
        )?;
        rows.first().map(|row| Ok((row.int("id")?, row.text("policy")?.to_owned()))).transpose()
    }

    /// Writes a PUT/PATCH result if the device is still at `version` (that of `current`); `None`
    /// if it moved on (or is gone), and then nothing is written.
    pub fn update_device(
        &self,
        action: &str,
        current: &OtpDevice,
        version: i64,
        changes: &Changes,
        pin_hash: Option<String>,
    ) -> Result<Option<OtpDevice>, DbError> {
        let pin_changed = pin_hash.is_some();
        // A device its authenticator's disabling disabled forgets the status it remembered when
        // an admin enables it directly.
        let rows = self.db.execute(
            &format!(
                "UPDATE devices SET status = ?1, fails = ?2, external_id = ?3, pin_hash = coalesce(?4, pin_hash), \
                 status_before_disable = CASE WHEN status = 'D' AND ?1 IN ('C', 'V') THEN NULL \
                 ELSE status_before_disable END, version = version + 1, modified = ?5 \
                 WHERE id = ?6 AND tenant = ?7 AND version = ?8 RETURNING {DEVICE_COLUMNS}, authenticator_id"
            ),
            &[
                changes.status.as_str().into(),
                i64::from(changes.fails).into(),
                changes.external_id.clone().into(),
                pin_hash.into(),
                self.now.into(),
                current.id.into(),
                self.tenant.into(),
                version.into(),
            ],
        )?;
        let Some(row) = rows.first() else { return Ok(None) };
        let updated = device_from_row(row)?;
        if let Some(authenticator) = row.opt_int("authenticator_id")? {
            self.device_usable_again(authenticator, current.status, updated.status)?;
        }
        let detail = format!(
            "status {} -> {}, fails {} -> {}{}{}",
            current.status,
            updated.status,
            current.fails,
            updated.fails,
            if pin_changed { ", PIN changed" } else { "" },
            if updated.external_id != current.external_id { ", externalId changed" } else { "" }
        );
        self.audit(action, Some(current.id), &detail)?;
        Ok(Some(updated))
    }

    /// Deletes a device if it is still at `version` (any version when `None`); true if it was.
    pub fn delete_device(&self, current: &OtpDevice, version: Option<i64>) -> Result<bool, DbError> {
        let rows = self.db.execute(
            "DELETE FROM devices WHERE id = ? AND tenant = ? AND (? IS NULL OR version = ?) RETURNING id",
            &[current.id.into(), self.tenant.into(), version.into(), version.into()],
        )?;
        if rows.is_empty() {
            return Ok(false);
        }
        let detail = format!("{} {} of {}", current.device_type, current.name, current.user);
        self.audit("delete", Some(current.id), &detail)?;
        Ok(true)
    }

    /// Counts a challenge whose code went out and, with the dev outbox, keeps the message there.
    pub fn code_sent(&self, id: i64, outbox: Option<(&str, &str, &str)>) -> Result<(), DbError> {
        self.db.execute("UPDATE devices SET challenges = challenges + 1 WHERE id = ?", &[id.into()])?;
        if let Some((channel, to, message)) = outbox {
            self.db.execute(
                "INSERT INTO outbox (tenant, at, device_id, channel, recipient, message) VALUES (?, ?, ?, ?, ?, ?)",
                &[self.tenant.into(), self.now.into(), id.into(), channel.into(), to.into(), message.into()],
            )?;
        }
        let via = if outbox.is_some() { "code in the dev outbox" } else { "code for the delivery gateway" };
        self.audit("request-challenge", Some(id), via)
    }

    /// Counts a challenge that sends nothing (TOTP, HOTP, PIN).
    pub fn count_challenge(&self, id: i64) -> Result<(), DbError> {
        self.db.execute("UPDATE devices SET challenges = challenges + 1 WHERE id = ?", &[id.into()])?;
        self.audit("request-challenge", Some(id), "")
    }
}

/// A validation's success: the CIBA ping the challenge it closed owes, if any.
pub struct Won {
    pub ping: Option<Ping>,
}

/// The writes of a validation (SPEC §6). Each is one statement outside any transaction, its
/// audit row written inside it by migration 6's triggers: on a network store a validation is one
/// write round trip, and still a change without its audit row cannot be written. The one
/// exception is an EMAIL/SMS code, whose challenge closes with it (two statements, one
/// transaction).
pub struct Validation<'a> {
    db: &'a dyn Database,
    actor: Actor<'a>,
    now: i64,
}

impl<'a> Validation<'a> {
    pub fn new(db: &'a dyn Database, actor: Actor<'a>, now: i64) -> Validation<'a> {
        Validation { db, actor, now }
    }

    /// Records a success if the guard still holds; `None` when a concurrent request won the race
    /// (then nothing is written).
    pub fn record_success(&self, id: i64, guard: SuccessGuard<'_>) -> Result<Option<Won>, DbError> {
        const SET: &str = "fails = 0, last_used = ?, successes = successes + 1, version = version + 1, \
                           modified = ?, validation_actor = ?";
        let live = format!(
            "id = ? AND tenant = ? AND status IN ('C', 'V') AND {OWNER_ACTIVE} = 1 AND {} IS NULL",
            authenticator_refusal(self.now)
        );
        let (now, actor, tenant) = (self.now, self.actor.name, self.actor.tenant);
        let (sql, params): (String, Vec<Sql>) = match guard {
            SuccessGuard::TotpStep { step, last } => (
                format!(
                    "UPDATE devices SET {SET}, totp_last_step = ? WHERE {live} AND totp_last_step IS ? \
                     AND (totp_last_step IS NULL OR totp_last_step < ?) RETURNING id"
                ),
                vec![
                    now.into(),
                    now.into(),
                    actor.into(),
                    sql_u64(step),
                    id.into(),
                    tenant.into(),
                    last.map(sql_u64).into(),
                    sql_u64(step),
                ],
            ),
            SuccessGuard::HotpCounter { matched, from } => (
                format!(
                    "UPDATE devices SET {SET}, hotp_counter = ? WHERE {live} AND hotp_counter = ? \
                     AND hotp_counter <= ? RETURNING id"
                ),
                vec![
                    now.into(),
                    now.into(),
                    actor.into(),
                    sql_u64(matched + 1),
                    id.into(),
                    tenant.into(),
                    sql_u64(from),
                    sql_u64(matched),
                ],
            ),
            // The challenge's code is on its own row: the device's success (with the code's
            // challenge still open in its WHERE) and the challenge's close are two statements,
            // in one transaction, in which nothing else writes between them.
            SuccessGuard::Code { challenge, digest } => {
                let sql = format!(
                    "UPDATE devices SET {SET} WHERE {live} AND EXISTS (SELECT 1 FROM challenges c \
                     WHERE c.id = ? AND c.device_id = devices.id AND c.code_digest = ? AND c.expires >= ?) RETURNING id"
                );
                let params: Vec<Sql> = vec![
                    now.into(),
                    now.into(),
                    actor.into(),
                    id.into(),
                    tenant.into(),
                    challenge.into(),
                    Sql::Blob(digest.to_vec()),
                    now.into(),
                ];
                return write_raw(self.db, || -> Result<Option<Won>, DbError> {
                    if self.db.execute(&sql, &params)?.is_empty() {
                        return Ok(None);
                    }
                    let closed = self.db.execute(
                        "DELETE FROM challenges WHERE id = ? RETURNING notify_token, auth_req_id",
                        &[challenge.into()],
                    )?;
                    let ping = closed.first().map(challenges::ping_from).transpose()?.flatten();
                    Ok(Some(Won { ping }))
                });
            }
            SuccessGuard::Pin(hash) => (
                format!("UPDATE devices SET {SET} WHERE {live} AND pin_hash = ? RETURNING id"),
                vec![now.into(), now.into(), actor.into(), id.into(), tenant.into(), hash.into()],
            ),
        };
        Ok((!self.db.execute(&sql, &params)?.is_empty()).then_some(Won { ping: None }))
    }

    /// Counts a failed validation and locks at the maxFails of the device's authenticator
    /// policy, by its own failures or its authenticator's consecutive ones (SPEC §14: one
    /// lockout for both views; the authenticator's trigger then locks its other devices),
    /// `max_fails` for a device without one; returns the status after it (`None` when the
    /// device is gone or no longer in C/V; then nothing is counted).
    pub fn record_failure(&self, id: i64, max_fails: u32) -> Result<Option<Status>, DbError> {
        let rows = self.db.execute(
            &format!(
                "UPDATE devices SET fails = fails + 1, failures = failures + 1, last_failure = ?, \
                 status = CASE WHEN fails + 1 >= coalesce({POLICY_MAX_FAILS}, ?) \
                 OR coalesce({AUTHENTICATOR_FAILED} + 1 >= {POLICY_MAX_FAILS}, 0) THEN 'L' ELSE status END, \
                 version = version + 1, modified = ?, \
                 validation_actor = ? WHERE id = ? AND tenant = ? AND status IN ('C', 'V') AND {OWNER_ACTIVE} = 1 \
                 AND {} IS NULL RETURNING status",
                authenticator_refusal(self.now)
            ),
            &[
                self.now.into(),
                i64::from(max_fails).into(),
                self.now.into(),
                self.actor.name.into(),
                id.into(),
                self.actor.tenant.into(),
            ],
        )?;
        let Some(row) = rows.first() else { return Ok(None) };
        let status = Status::parse(row.text("status")?)
            .ok_or_else(|| DbError(format!("device {id}: column status holds a value we never write")))?;
        Ok(Some(status))
    }
}

const USER_COLUMNS: &str = "id, user_name, external_id, display_name, formatted_name, family_name, given_name, \
                            active, created, modified, version";

fn user_from_row(row: Row<'_>) -> Result<User, DbError> {
    Ok(User {
        schemas: vec![USER_SCHEMA.to_owned()],
        id: row.int("id")?.to_string(),
        external_id: row.opt_text("external_id")?.map(str::to_owned),
        user_name: row.text("user_name")?.to_owned(),
        display_name: row.opt_text("display_name")?.map(str::to_owned),
        name: Name {
            formatted: row.opt_text("formatted_name")?.map(str::to_owned),
            family_name: row.opt_text("family_name")?.map(str::to_owned),
            given_name: row.opt_text("given_name")?.map(str::to_owned),
        },
        active: row.int("active")? != 0,
        emails: Vec::new(),
        phone_numbers: Vec::new(),
        meta: Meta::new(
            USER.name,
            Timestamp(row.int("created")?),
            Timestamp(row.int("modified")?),
            row.int("version")?,
        ),
    })
}

/// Users from their rows, with their `emails` and `phoneNumbers` read in one more statement.
fn users_from_rows(db: &dyn Database, rows: &Rows) -> Result<Vec<User>, DbError> {
    let mut users: Vec<User> = rows.iter().map(user_from_row).collect::<Result<_, _>>()?;
    if users.is_empty() {
        return Ok(users);
    }
    let ids: Vec<Sql> = rows.iter().map(|r| r.int("id").map(Sql::Int)).collect::<Result<_, _>>()?;
    let marks = vec!["?"; ids.len()].join(", ");
    let entries = db.execute(
        &format!(
            "SELECT user_id, kind, value, type, is_primary FROM user_contacts WHERE user_id IN ({marks}) \
             ORDER BY user_id, kind, position"
        ),
        &ids,
    )?;
    for entry in entries.iter() {
        let id = entry.int("user_id")?.to_string();
        let Some(user) = users.iter_mut().find(|u| u.id == id) else { continue };
        let value = MultiValue {
            value: entry.text("value")?.to_owned(),
            kind: entry.opt_text("type")?.map(str::to_owned),
            primary: entry.opt_int("is_primary")?.map(|p| p != 0),
        };
        match entry.text("kind")? {
            "email" => user.emails.push(value),
            _ => user.phone_numbers.push(value),
        }
    }
    Ok(users)
}

/// A user of `tenant` by id; one of another tenant is not found.
pub fn get_user(db: &dyn Database, tenant: &str, id: i64) -> Result<Option<User>, DbError> {
    let rows = db.execute(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ? AND tenant = ?"),
        &[id.into(), tenant.into()],
    )?;
    Ok(users_from_rows(db, &rows)?.into_iter().next())
}

/// The user of `tenant` whose userName is `name`, case-insensitively.
pub fn user_id_by_name(
    db: &dyn Database,
    tenant: &str,
    name: &str,
) -> Result<Option<(i64, String)>, DbError> {
    let rows = db.execute(
        "SELECT id, user_name FROM users WHERE tenant = ? AND lower(user_name) = lower(?)",
        &[tenant.into(), name.into()],
    )?;
    rows.first().map(|r| Ok((r.int("id")?, r.text("user_name")?.to_owned()))).transpose()
}

/// The user of `tenant` whom HID's `USER.EXTERNALID` names: the one whose SCIM `externalId` it
/// is (case-exact, RFC 7643 §3.1), else the one whose userName it is (case-insensitively).
pub fn user_id_by_external_id(db: &dyn Database, tenant: &str, value: &str) -> Result<Option<i64>, DbError> {
    let rows = db.execute(
        "SELECT id FROM users WHERE tenant = ?1 AND (external_id = ?2 OR lower(user_name) = lower(?2)) \
         ORDER BY external_id IS ?2 DESC, id LIMIT 1",
        &[tenant.into(), value.into()],
    )?;
    rows.first().map(|r| r.int("id")).transpose()
}

/// One page of a tenant's users matching a filter, and how many match in all.
pub fn list_users(
    db: &dyn Database,
    tenant: &str,
    condition: Option<&Condition>,
    sort: Option<&Sort>,
    page: Page,
) -> Result<(u64, Vec<User>), DbError> {
    let (total, rows) = run_list(db, list_query(Table::Users, tenant, condition, sort), page)?;
    Ok((total, users_from_rows(db, &rows)?))
}

/// Why a user write did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRefused {
    /// Another user of the tenant has this userName (case-insensitively): its id.
    NameTaken(i64),
    /// The user moved on from the expected version, or is gone.
    Stale,
}

impl WriteTx<'_> {
    /// The owner of a new device: the user of that name, created in this transaction when the
    /// tenant has none (SPEC §17). Returns its id and its userName as stored.
    fn user_for_device(&self, name: &str) -> Result<(i64, String), DbError> {
        if let Some(found) = user_id_by_name(self.db, self.tenant, name)? {
            return Ok(found);
        }
        let rows = self.db.execute(
            "INSERT INTO users (tenant, user_name, created, modified) VALUES (?, ?, ?, ?) RETURNING id",
            &[self.tenant.into(), name.into(), self.now.into(), self.now.into()],
        )?;
        let id = rows.first().ok_or_else(|| DbError("user insert returned no row".into()))?.int("id")?;
        self.audit_row("user-create", None, Some(id), &format!("{name} (for a new device)"))?;
        Ok((id, name.to_owned()))
    }

    fn write_entries(&self, user_id: i64, data: &UserData) -> Result<(), DbError> {
        self.db.execute("DELETE FROM user_contacts WHERE user_id = ?", &[user_id.into()])?;
        for (kind, list) in [("email", &data.emails), ("phone", &data.phone_numbers)] {
            for (position, entry) in list.iter().enumerate() {
                self.db.execute(
                    "INSERT INTO user_contacts (user_id, kind, position, value, type, is_primary) VALUES (?, ?, ?, ?, ?, ?)",
                    &[
                        user_id.into(),
                        kind.into(),
                        (position as i64).into(),
                        entry.value.as_str().into(),
                        entry.kind.clone().into(),
                        entry.primary.map(i64::from).into(),
                    ],
                )?;
            }
        }
        Ok(())
    }

    fn name_taken(&self, name: &str, except: i64) -> Result<Option<i64>, DbError> {
        Ok(user_id_by_name(self.db, self.tenant, name)?.map(|(id, _)| id).filter(|id| *id != except))
    }

    pub fn create_user(&self, data: &UserData) -> Result<Result<User, UserRefused>, DbError> {
        if let Some(existing) = self.name_taken(&data.user_name, 0)? {
            return Ok(Err(UserRefused::NameTaken(existing)));
        }
        let rows = self.db.execute(
            "INSERT INTO users (tenant, user_name, external_id, display_name, formatted_name, family_name, given_name, \
             active, created, modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            &[
                self.tenant.into(),
                data.user_name.as_str().into(),
                data.external_id.clone().into(),
                data.display_name.clone().into(),
                data.name.formatted.clone().into(),
                data.name.family_name.clone().into(),
                data.name.given_name.clone().into(),
                i64::from(data.active).into(),
                self.now.into(),
                self.now.into(),
            ],
        )?;
        let id = rows.first().ok_or_else(|| DbError("user insert returned no row".into()))?.int("id")?;
        self.write_entries(id, data)?;
        self.audit_row("user-create", None, Some(id), &data.user_name)?;
        get_user(self.db, self.tenant, id)?.ok_or_else(|| DbError("a created user is gone".into())).map(Ok)
    }

    /// Writes a PUT/PATCH result if the user is still at `version`. A new userName must be free
    /// in the tenant, and the user's devices follow it (their version moves on too).
    pub fn replace_user(
        &self,
        current: &User,
        version: i64,
        data: &UserData,
    ) -> Result<Result<User, UserRefused>, DbError> {
        let id: i64 = current.id.parse().map_err(|_| DbError(format!("user id {:?}", current.id)))?;
        if let Some(existing) = self.name_taken(&data.user_name, id)? {
            return Ok(Err(UserRefused::NameTaken(existing)));
        }
        let rows = self.db.execute(
            "UPDATE users SET user_name = ?, external_id = ?, display_name = ?, formatted_name = ?, family_name = ?, \
             given_name = ?, active = ?, modified = ?, version = version + 1 \
             WHERE id = ? AND tenant = ? AND version = ? RETURNING id",
            &[
                data.user_name.as_str().into(),
                data.external_id.clone().into(),
                data.display_name.clone().into(),
                data.name.formatted.clone().into(),
                data.name.family_name.clone().into(),
                data.name.given_name.clone().into(),
                i64::from(data.active).into(),
                self.now.into(),
                id.into(),
                self.tenant.into(),
                version.into(),
            ],
        )?;
        if rows.is_empty() {
            return Ok(Err(UserRefused::Stale));
        }
        self.write_entries(id, data)?;
        let mut detail = String::new();
        if data.user_name != current.user_name {
            let moved = self.db.execute(
                "UPDATE devices SET user_name = ?, version = version + 1, modified = ? WHERE user_id = ? RETURNING id",
                &[data.user_name.as_str().into(), self.now.into(), id.into()],
            )?;
            detail = format!(
                "renamed {} -> {}, {} devices follow",
                current.user_name,
                data.user_name,
                moved.rows.len()
            );
        }
        if data.active != current.active {
            detail.push_str(if data.active { " activated" } else { " deactivated" });
        }
        self.audit_row("user-replace", None, Some(id), detail.trim())?;
        get_user(self.db, self.tenant, id)?.ok_or_else(|| DbError("a replaced user is gone".into())).map(Ok)
    }

    /// Deletes a user still at `version` (any when `None`) with its devices, each audited.
    pub fn delete_user(&self, current: &User, version: Option<i64>) -> Result<bool, DbError> {
        let id: i64 = current.id.parse().map_err(|_| DbError(format!("user id {:?}", current.id)))?;
        let rows = self.db.execute(
            "DELETE FROM users WHERE id = ? AND tenant = ? AND (? IS NULL OR version = ?) RETURNING id",
            &[id.into(), self.tenant.into(), version.into(), version.into()],
        )?;
        if rows.is_empty() {
            return Ok(false);
        }
        let devices = self.db.execute(
            &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE user_id = ? AND tenant = ?"),
            &[id.into(), self.tenant.into()],
        )?;
        let devices = devices_from_rows(&devices)?;
        for device in &devices {
            self.delete_device(device, None)?;
        }
        self.db.execute("DELETE FROM user_contacts WHERE user_id = ?", &[id.into()])?;
        let authenticators = self.db.execute(
            "DELETE FROM authenticators WHERE user_id = ? AND tenant = ? RETURNING policy",
            &[id.into(), self.tenant.into()],
        )?;
        for row in authenticators.iter() {
            let identity = authenticator_id(id, row.text("policy")?);
            self.audit_event("authenticator-delete", None, Some(id), Some(&identity), &identity)?;
        }
        let detail = format!(
            "{}, {} devices and {} authenticators",
            current.user_name,
            devices.len(),
            authenticators.rows.len()
        );
        self.audit_row("user-delete", None, Some(id), &detail)?;
        Ok(true)
    }
}

/// Device counters (SPA detail view, and the HID-style `statistics` later).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    pub successes: i64,
    pub failures: i64,
    pub challenges: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_success: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<String>,
}

pub fn counters(db: &dyn Database, tenant: &str, id: i64) -> Result<Option<Counters>, DbError> {
    let rows = db.execute(
        "SELECT successes, failures, challenges, last_used, last_failure FROM devices WHERE id = ? AND tenant = ?",
        &[id.into(), tenant.into()],
    )?;
    let Some(r) = rows.first() else { return Ok(None) };
    Ok(Some(Counters {
        successes: r.int("successes")?,
        failures: r.int("failures")?,
        challenges: r.int("challenges")?,
        last_success: r.opt_int("last_used")?.map(|t| Timestamp(t).to_rfc3339()),
        last_failure: r.opt_int("last_failure")?.map(|t| Timestamp(t).to_rfc3339()),
    }))
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub at: String,
    pub actor: String,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<i64>,
    pub detail: String,
}

const AUDIT_COLUMNS: &str = "id, at, actor, action, device_id, user_id, authenticator, detail";

fn audit_event_from_row(row: Row<'_>) -> Result<AuditEvent, DbError> {
    let at = Timestamp(row.int("at")?);
    Ok(AuditEvent {
        schemas: vec![AUDIT_SCHEMA.to_owned()],
        id: row.int("id")?.to_string(),
        at,
        actor: row.text("actor")?.to_owned(),
        action: row.text("action")?.to_owned(),
        device_id: row.opt_int("device_id")?,
        user_id: row.opt_int("user_id")?.map(|id| id.to_string()),
        authenticator: row.opt_text("authenticator")?.map(str::to_owned),
        detail: row.text("detail")?.to_owned(),
        meta: Meta::new(AUDIT.name, at, at, 1),
    })
}

/// One page of a tenant's audit events matching a filter, and how many match in all.
pub fn list_audit(
    db: &dyn Database,
    tenant: &str,
    condition: Option<&Condition>,
    sort: Option<&Sort>,
    page: Page,
) -> Result<(u64, Vec<AuditEvent>), DbError> {
    let (total, rows) = run_list(db, list_query(Table::Audit, tenant, condition, sort), page)?;
    Ok((total, rows.iter().map(audit_event_from_row).collect::<Result<_, _>>()?))
}

/// At most this many (interval, action) groups in one histogram.
pub const HISTOGRAM_GROUPS: usize = 10_000;

/// How many of a tenant's audit events matching a filter fall in each `interval` seconds (from
/// the epoch), per action, counted by SQLite: with a time range in the filter, the
/// `(tenant, at, action)` index answers it without reading the rows. `None` when there would be
/// more than [`HISTOGRAM_GROUPS`] groups.
pub fn audit_histogram(
    db: &dyn Database,
    tenant: &str,
    condition: Option<&Condition>,
    interval: i64,
) -> Result<Option<Vec<AuditBucket>>, DbError> {
    let mut params = vec![Sql::from(tenant)];
    let clause = match condition {
        Some(c) => {
            let w = c.to_sql();
            params.extend(w.params.into_iter().map(Sql::from));
            format!(" AND {}", w.sql)
        }
        None => String::new(),
    };
    // `interval` is an integer the handler checked, inlined so that the grouping is a column.
    let rows = db.execute(
        &format!(
            "SELECT at / {interval} * {interval} AS start, action, count(*) AS n FROM audit \
             WHERE tenant = ?{clause} GROUP BY 1, 2 ORDER BY 1, 2 LIMIT {}",
            HISTOGRAM_GROUPS + 1
        ),
        &params,
    )?;
    if rows.iter().nth(HISTOGRAM_GROUPS).is_some() {
        return Ok(None);
    }
    let mut buckets: Vec<AuditBucket> = Vec::new();
    for row in rows.iter() {
        let start = Timestamp(row.int("start")?);
        if buckets.last().is_none_or(|b| b.start != start) {
            buckets.push(AuditBucket { start, counts: Default::default() });
        }
        if let Some(bucket) = buckets.last_mut() {
            bucket.counts.insert(row.text("action")?.to_owned(), row.count("n")?);
        }
    }
    Ok(Some(buckets))
}

/// One audit event of a tenant.
pub fn get_audit_event(db: &dyn Database, tenant: &str, id: i64) -> Result<Option<AuditEvent>, DbError> {
    let rows = db.execute(
        &format!("SELECT {AUDIT_COLUMNS} FROM audit WHERE id = ? AND tenant = ?"),
        &[id.into(), tenant.into()],
    )?;
    rows.first().map(audit_event_from_row).transpose()
}

/// The newest audit entries of a device, newest first.
pub fn audit_trail(
    db: &dyn Database,
    tenant: &str,
    device_id: i64,
    limit: i64,
) -> Result<Vec<AuditEntry>, DbError> {
    let rows = db.execute(
        "SELECT at, actor, action, device_id, detail FROM audit WHERE device_id = ? AND tenant = ? \
         ORDER BY id DESC LIMIT ?",
        &[device_id.into(), tenant.into(), limit.into()],
    )?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                at: Timestamp(r.int("at")?).to_rfc3339(),
                actor: r.text("actor")?.to_owned(),
                action: r.text("action")?.to_owned(),
                device_id: r.opt_int("device_id")?,
                detail: r.text("detail")?.to_owned(),
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxMessage {
    pub id: i64,
    pub at: String,
    pub device_id: i64,
    pub channel: String,
    pub to: String,
    pub message: String,
}

/// The newest dev-outbox messages of a tenant, newest first.
pub fn outbox_list(db: &dyn Database, tenant: &str, limit: i64) -> Result<Vec<OutboxMessage>, DbError> {
    let rows = db.execute(
        "SELECT id, at, device_id, channel, recipient, message FROM outbox WHERE tenant = ? ORDER BY id DESC LIMIT ?",
        &[tenant.into(), limit.into()],
    )?;
    rows.iter()
        .map(|r| {
            Ok(OutboxMessage {
                id: r.int("id")?,
                at: Timestamp(r.int("at")?).to_rfc3339(),
                device_id: r.int("device_id")?,
                channel: r.text("channel")?.to_owned(),
                to: r.text("recipient")?.to_owned(),
                message: r.text("message")?.to_owned(),
            })
        })
        .collect()
}

/// What every request reads first, in one statement: the schema version (an older or empty
/// database is migrated, then read again) and, for a Basic login, which principal the
/// verified-credential cache holds for `digest`, if an unexpired entry does.
pub struct Session {
    pub cached_principal: Option<String>,
    /// Whether `tenant`'s built-in policies have been written ([`seed_tenant`]).
    pub tenant_seeded: bool,
}

/// The first read of every request, one statement: the schema version (migrating when it is
/// behind), the principal a verified credential digest is cached for, and whether the tenant the
/// path names has its built-in policies yet.
pub fn session(
    db: &dyn Database,
    digest: Option<&[u8]>,
    tenant: &str,
    now: i64,
    default_tenant: &str,
) -> Result<Session, DbError> {
    let read = || -> Result<(i64, Session), DbError> {
        let rows = db.execute(
            "SELECT (SELECT max(version) FROM schema_migrations) AS version, \
                    (SELECT principal FROM credential_cache WHERE digest = ? AND expires > ?) AS cached, \
                    EXISTS (SELECT 1 FROM tenants WHERE name = ?) AS seeded",
            &[digest.map_or(Sql::Null, |d| Sql::Blob(d.to_vec())), now.into(), tenant.into()],
        )?;
        let row = rows.first().ok_or_else(|| DbError("session read returned no row".into()))?;
        let session = Session {
            cached_principal: row.opt_text("cached")?.map(str::to_owned),
            tenant_seeded: row.int("seeded")? != 0,
        };
        Ok((row.opt_int("version")?.unwrap_or(0), session))
    };
    let (version, session) = match read() {
        Ok((version, session)) if version >= SCHEMA_VERSION => (version, session),
        // The store is out of reach or busy (after the connection's retries): no migration.
        Err(e) if e.is_transient() => return Err(e),
        // A fresh database has no schema_migrations table yet (an older one no `tenants`): the
        // read fails, and migrating creates them. A real failure shows up again in the
        // migration, or in the second read.
        _ => {
            migrate(db, now, default_tenant)?;
            read()?
        }
    };
    if version < SCHEMA_VERSION {
        return Err(DbError(format!("schema version {version} after migrating to {SCHEMA_VERSION}")));
    }
    Ok(session)
}

/// A login budget: at most `per_source` verified attempts for one (principal, source),
/// `per_address` for one source whatever names it claims, and `per_principal` for the principal
/// across every source, per `window` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginBudget {
    pub per_source: i64,
    pub per_address: i64,
    pub per_principal: i64,
    pub window: i64,
    /// How long a source that logged in successfully is exempt from the per-principal ceiling.
    pub trust: i64,
}

/// Takes one attempt from the budgets of (`principal`, `source`), in one statement, before any
/// password is checked: concurrent attempts can never together exceed a budget. `Err(seconds)`
/// when refused: when the pair has no attempt left, or (unless this principal signed in from
/// this source recently) the source across every name it claimed or the principal across every
/// source has none, with the seconds until the window that refused it ends.
pub fn reserve_login(
    db: &dyn Database,
    principal: &str,
    source: &str,
    budget: LoginBudget,
    now: i64,
) -> Result<Result<(), i64>, DbError> {
    let expired = now - budget.window;
    let rows = db.execute(
        "INSERT INTO login_attempts (principal, source, window_start, attempts) \
         SELECT ?1, ?2, ?3, 1 WHERE \
           ((SELECT coalesce(sum(attempts), 0) FROM login_attempts WHERE principal = ?1 AND window_start > ?4) < ?6 \
            AND (SELECT coalesce(sum(attempts), 0) FROM login_attempts WHERE source = ?2 AND window_start > ?4) < ?7) \
           OR EXISTS (SELECT 1 FROM login_attempts WHERE principal = ?1 AND source = ?2 AND trusted_until > ?3) \
         ON CONFLICT (principal, source) DO UPDATE SET \
           attempts = CASE WHEN window_start <= ?4 THEN 1 ELSE attempts + 1 END, \
           window_start = CASE WHEN window_start <= ?4 THEN ?3 ELSE window_start END \
         WHERE window_start <= ?4 OR attempts < ?5 \
         RETURNING attempts",
        &[
            principal.into(),
            source.into(),
            now.into(),
            expired.into(),
            budget.per_source.into(),
            budget.per_principal.into(),
            budget.per_address.into(),
        ],
    )?;
    if !rows.is_empty() {
        return Ok(Ok(()));
    }
    // Refused: say when the window that refused it ends (the pair's own, else the source's
    // oldest in-window one when the source is spent, else the principal's).
    let rows = db.execute(
        "SELECT coalesce((SELECT window_start FROM login_attempts WHERE principal = ?1 AND source = ?2 \
                          AND window_start > ?3 AND attempts >= ?4), \
                         (SELECT CASE WHEN sum(attempts) >= ?6 THEN min(window_start) END FROM login_attempts \
                          WHERE source = ?2 AND window_start > ?3), \
                         (SELECT min(window_start) FROM login_attempts WHERE principal = ?1 AND window_start > ?3), \
                         ?5) AS started",
        &[
            principal.into(),
            source.into(),
            expired.into(),
            budget.per_source.into(),
            now.into(),
            budget.per_address.into(),
        ],
    )?;
    let started = rows.first().map(|r| r.int("started")).transpose()?.unwrap_or(now);
    Ok(Err((started + budget.window - now).max(1)))
}

/// A verified login from `source`: its count starts again, and it is trusted for a while.
pub fn login_succeeded(
    db: &dyn Database,
    principal: &str,
    source: &str,
    budget: LoginBudget,
    now: i64,
) -> Result<(), DbError> {
    db.execute(
        "UPDATE login_attempts SET attempts = 0, trusted_until = ? WHERE principal = ? AND source = ?",
        &[(now + budget.trust).into(), principal.into(), source.into()],
    )?;
    Ok(())
}

/// Drops budgets whose window and trust have both run out, so that guessing many names or
/// sources cannot grow the table without bound.
pub fn forget_stale_logins(db: &dyn Database, budget: LoginBudget, now: i64) -> Result<(), DbError> {
    db.execute(
        "DELETE FROM login_attempts WHERE window_start <= ? AND trusted_until <= ?",
        &[(now - budget.window).into(), now.into()],
    )?;
    Ok(())
}

pub fn cache_credential(
    db: &dyn Database,
    digest: &[u8],
    principal: &str,
    expires: i64,
    now: i64,
) -> Result<(), DbError> {
    db.execute("DELETE FROM credential_cache WHERE expires <= ?", &[now.into()])?;
    db.execute(
        "INSERT OR REPLACE INTO credential_cache (digest, principal, expires) VALUES (?, ?, ?)",
        &[Sql::Blob(digest.to_vec()), principal.into(), expires.into()],
    )?;
    Ok(())
}
