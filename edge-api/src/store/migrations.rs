//! The schema and its versioned migrations (SPEC §12): each request's first read learns the
//! version ([`super::session`]), and a store behind it is migrated once, under one transaction.

use super::sql::authenticator_locks;
use super::tx::write_raw;
use crate::db::{Database, DbError, Sql};

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
    concat!(
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
        disabled_by_failures = disabled_by_failures OR "#,
        authenticator_locks!(),
        r#",
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
"#
    ),
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
    // Hardware tokens (SPEC §19): a TOTP/HOTP device's row is also a `Device`, with what a seed
    // file says of the token (manufacturer, model, validity), where it came from, when it was
    // handed out and first validated, and its clock drift. A token in stock has no owner and
    // status `A` (no OtpDevice shows it); its serial is its name, unique in the tenant among
    // TOTP/HOTP devices. Existing devices were enrolled, and handed out when created.
    r#"
ALTER TABLE devices ADD COLUMN manufacturer TEXT;
ALTER TABLE devices ADD COLUMN model TEXT;
ALTER TABLE devices ADD COLUMN origin TEXT NOT NULL DEFAULT 'enrolled';
ALTER TABLE devices ADD COLUMN time_drift INTEGER;
ALTER TABLE devices ADD COLUMN valid_from INTEGER;
ALTER TABLE devices ADD COLUMN valid_until INTEGER;
ALTER TABLE devices ADD COLUMN assigned INTEGER;
ALTER TABLE devices ADD COLUMN activated INTEGER;
UPDATE devices SET assigned = created WHERE user_id IS NOT NULL;
UPDATE devices SET time_drift = 0 WHERE type = 'TOTP';
CREATE UNIQUE INDEX devices_serial ON devices (tenant, name) WHERE type IN ('TOTP', 'HOTP')
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
pub(super) const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, \
                             applied INTEGER NOT NULL, note TEXT NOT NULL DEFAULT '')";

/// The version of a database from before `schema_migrations` (it kept `PRAGMA user_version`),
/// read from the schema itself so that no pragma is needed: 0 when empty.
pub(super) fn legacy_version(db: &dyn Database) -> Result<i64, DbError> {
    let rows = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'devices'", &[])?;
    Ok(match rows.first() {
        None => 0,
        Some(row) if row.text("sql")?.contains("external_id") => 2,
        Some(_) => 1,
    })
}

/// Brings the schema to [`SCHEMA_VERSION`], under `BEGIN IMMEDIATE` and re-checked inside, so
/// that concurrent first requests (on one node or several) migrate once. Requests find out
/// whether they must call this from [`super::session`], which reads the version anyway.
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
