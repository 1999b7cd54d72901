//! Persistence in Spin SQLite: versioned migrations, devices, challenge state, audit trail,
//! dev outbox, login throttling and the verified-credential cache. No HTTP in here.
//!
//! Every state change that must not race (a code used once, a fail counter, an If-Match) is a
//! single `UPDATE ... WHERE <expected state> RETURNING`, so two requests can never both win.

use crate::db::{Database, DbError, Row, Sql, col};
use shared::filter::Condition;
use shared::model::{DEVICE_SCHEMA, Meta};
use shared::query::{Page, Sort};
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
];

pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

fn user_version(db: &dyn Database) -> Result<i64, DbError> {
    let rows = db.execute("PRAGMA user_version", &[])?;
    Ok(rows.first().and_then(|r| col(r, 0).int()).unwrap_or(0))
}

/// Brings the schema to [`SCHEMA_VERSION`]. The common case costs one `PRAGMA user_version`;
/// migrating runs under `BEGIN IMMEDIATE`, re-checked inside, so concurrent first requests
/// migrate once.
pub fn migrate(db: &dyn Database) -> Result<(), DbError> {
    if user_version(db)? >= SCHEMA_VERSION {
        return Ok(());
    }
    transaction(db, || {
        for (version, script) in MIGRATIONS.iter().enumerate().skip(user_version(db)? as usize) {
            for statement in script.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                db.execute(statement, &[])?;
            }
            db.execute(&format!("PRAGMA user_version = {}", version + 1), &[])?;
        }
        Ok(())
    })
}

/// Runs `work` inside `BEGIN IMMEDIATE` … `COMMIT`, rolling back on any error.
pub fn transaction<T, E: From<DbError>>(
    db: &dyn Database,
    work: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    db.execute("BEGIN IMMEDIATE", &[])?;
    match work() {
        Ok(value) => {
            db.execute("COMMIT", &[])?;
            Ok(value)
        }
        Err(e) => {
            // The original error matters more than a failed rollback.
            let _ = db.execute("ROLLBACK", &[]);
            Err(e)
        }
    }
}

const DEVICE_COLUMNS: &str = "id, name, type, user_name, status, fails, created, modified, last_used, email, phone, algorithm, digits, period, version, external_id";

fn device_from_row(row: &Row) -> Result<OtpDevice, DbError> {
    let text = |i: usize| col(row, i).text().map(str::to_owned);
    let int = |i: usize| col(row, i).int();
    let corrupt = |what: &str| DbError(format!("row {:?}: bad {what}", int(0)));
    let created = Timestamp(int(6).ok_or_else(|| corrupt("created"))?);
    let u32_of = |i: usize| int(i).and_then(|n| u32::try_from(n).ok());
    Ok(OtpDevice {
        schemas: vec![DEVICE_SCHEMA.to_owned()],
        id: int(0).ok_or_else(|| corrupt("id"))?,
        name: text(1).unwrap_or_default(),
        device_type: text(2).as_deref().and_then(DeviceType::parse).ok_or_else(|| corrupt("type"))?,
        user: text(3).unwrap_or_default(),
        status: text(4).as_deref().and_then(Status::parse).ok_or_else(|| corrupt("status"))?,
        fails: u32_of(5).unwrap_or(0),
        created,
        last_used: int(8).map(Timestamp),
        email: text(9),
        phone: text(10),
        algorithm: text(11).as_deref().and_then(Algorithm::parse),
        digits: u32_of(12),
        period: u32_of(13),
        external_id: text(15),
        image: None,
        otpauth_uri: None,
        meta: Meta::new(created, Timestamp(int(7).unwrap_or(created.0)), int(14).unwrap_or(1)),
    })
}

fn devices_from_rows(rows: Vec<Row>) -> Result<Vec<OtpDevice>, DbError> {
    rows.iter().map(device_from_row).collect()
}

pub fn audit(
    db: &dyn Database,
    at: i64,
    actor: &str,
    action: &str,
    device_id: Option<i64>,
    detail: &str,
) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO audit (at, actor, action, device_id, detail) VALUES (?, ?, ?, ?, ?)",
        &[at.into(), actor.into(), action.into(), device_id.into(), detail.into()],
    )?;
    Ok(())
}

/// What a create stores besides the checked request: the generated name's serial comes from
/// here, the sealed seed and PIN hash from the caller.
pub struct Secrets {
    pub sealed_seed: Option<Vec<u8>>,
    pub pin_hash: Option<String>,
}

/// The next serial of a type (`TOTP00000035`): counts up, never reused.
pub fn next_serial(db: &dyn Database, device_type: DeviceType) -> Result<u64, DbError> {
    let rows = db.execute(
        "INSERT INTO serials (type, next) VALUES (?, 1) ON CONFLICT (type) DO UPDATE SET next = next + 1 RETURNING next",
        &[device_type.as_str().into()],
    )?;
    Ok(rows.first().and_then(|r| col(r, 0).int()).and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
}

pub fn insert_device(
    db: &dyn Database,
    new: &NewDevice,
    name: &str,
    secrets: Secrets,
    now: i64,
) -> Result<OtpDevice, DbError> {
    let rows = db.execute(
        &format!(
            "INSERT INTO devices (name, type, user_name, status, fails, created, modified, email, phone, algorithm, \
             digits, period, seed, pin_hash, hotp_counter, external_id) \
             VALUES (?, ?, ?, 'C', 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {DEVICE_COLUMNS}"
        ),
        &[
            name.into(),
            new.device_type.as_str().into(),
            new.user.as_str().into(),
            now.into(),
            now.into(),
            new.email.clone().into(),
            new.phone.clone().into(),
            new.algorithm.map(Algorithm::as_str).into(),
            new.digits.map(i64::from).into(),
            new.period.map(i64::from).into(),
            secrets.sealed_seed.map_or(Sql::Null, Sql::Blob),
            secrets.pin_hash.into(),
            (new.device_type == DeviceType::Hotp).then_some(0i64).into(),
            new.external_id.clone().into(),
        ],
    )?;
    rows.first().map(device_from_row).unwrap_or_else(|| Err(DbError("insert returned no row".into())))
}

/// An existing device that a new one would duplicate: a user has one PIN, and one EMAIL or SMS
/// device per address. TOTP/HOTP devices may repeat (a spare token is normal).
pub fn find_duplicate(db: &dyn Database, new: &NewDevice) -> Result<Option<i64>, DbError> {
    let target = match new.device_type {
        DeviceType::Pin => Sql::Null,
        DeviceType::Email => new.email.clone().into(),
        DeviceType::Sms => new.phone.clone().into(),
        DeviceType::Totp | DeviceType::Hotp => return Ok(None),
    };
    let rows = db.execute(
        "SELECT id FROM devices WHERE user_name = ? AND type = ? \
         AND (? IS NULL OR lower(coalesce(email, phone)) = lower(?)) LIMIT 1",
        &[new.user.as_str().into(), new.device_type.as_str().into(), target.clone(), target],
    )?;
    Ok(rows.first().and_then(|r| col(r, 0).int()))
}

pub fn get_device(db: &dyn Database, id: i64) -> Result<Option<OtpDevice>, DbError> {
    let rows = db.execute(&format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?"), &[id.into()])?;
    rows.first().map(device_from_row).transpose()
}

/// The two statements a listing runs: the match count, and one page (its last two parameters are
/// LIMIT and OFFSET). Public so that the benchmark can `EXPLAIN QUERY PLAN` exactly these.
pub struct ListQuery {
    pub count_sql: String,
    pub page_sql: String,
    pub params: Vec<Sql>,
}

pub fn list_query(condition: Option<&Condition>, sort: Option<&Sort>) -> ListQuery {
    let (clause, params): (String, Vec<Sql>) = match condition {
        Some(c) => {
            let w = c.to_sql();
            (format!(" WHERE {}", w.sql), w.params.into_iter().map(Sql::from).collect())
        }
        None => (String::new(), Vec::new()),
    };
    ListQuery {
        count_sql: format!("SELECT count(*) FROM devices{clause}"),
        page_sql: format!(
            "SELECT {DEVICE_COLUMNS} FROM devices{clause} ORDER BY {} LIMIT ? OFFSET ?",
            Sort::order_by_sql(sort)
        ),
        params,
    }
}

/// One page of devices matching a filter, and how many match in all. Filter, order, limit and
/// offset all run in SQLite.
pub fn list_devices(
    db: &dyn Database,
    condition: Option<&Condition>,
    sort: Option<&Sort>,
    page: Page,
) -> Result<(u64, Vec<OtpDevice>), DbError> {
    let ListQuery { count_sql, page_sql, mut params } = list_query(condition, sort);
    let total = db.execute(&count_sql, &params)?;
    let total = total.first().and_then(|r| col(r, 0).int()).unwrap_or(0).max(0) as u64;
    if page.count == 0 || total < page.start_index {
        return Ok((total, Vec::new()));
    }
    params.push(Sql::Int(page.count as i64));
    params.push(Sql::Int(i64::try_from(page.offset()).unwrap_or(i64::MAX)));
    let rows = db.execute(&page_sql, &params)?;
    Ok((total, devices_from_rows(rows)?))
}

/// Writes a PUT/PATCH result if the device is still at `version`; `None` if it moved on (or is gone).
pub fn update_device(
    db: &dyn Database,
    id: i64,
    version: i64,
    changes: &Changes,
    pin_hash: Option<String>,
    now: i64,
) -> Result<Option<OtpDevice>, DbError> {
    let rows = db.execute(
        &format!(
            "UPDATE devices SET status = ?, fails = ?, external_id = ?, pin_hash = coalesce(?, pin_hash), \
             version = version + 1, modified = ? WHERE id = ? AND version = ? RETURNING {DEVICE_COLUMNS}"
        ),
        &[
            changes.status.as_str().into(),
            i64::from(changes.fails).into(),
            changes.external_id.clone().into(),
            pin_hash.into(),
            now.into(),
            id.into(),
            version.into(),
        ],
    )?;
    rows.first().map(device_from_row).transpose()
}

/// Deletes a device if it is still at `version` (any version when `None`); true if it was deleted.
pub fn delete_device(db: &dyn Database, id: i64, version: Option<i64>) -> Result<bool, DbError> {
    let rows = db.execute(
        "DELETE FROM devices WHERE id = ? AND (? IS NULL OR version = ?) RETURNING id",
        &[id.into(), version.into(), version.into()],
    )?;
    Ok(!rows.is_empty())
}

/// What a challenge needs of a device besides its public attributes.
pub struct ChallengeState {
    pub device: OtpDevice,
    pub sealed_seed: Option<Vec<u8>>,
    pub pin_hash: Option<String>,
    pub hotp_counter: u64,
    pub totp_last_step: Option<u64>,
    pub code_digest: Option<Vec<u8>>,
    pub code_expires: Option<i64>,
}

pub fn challenge_state(db: &dyn Database, id: i64) -> Result<Option<ChallengeState>, DbError> {
    let rows = db.execute(
        &format!(
            "SELECT {DEVICE_COLUMNS}, seed, pin_hash, hotp_counter, totp_last_step, code_digest, code_expires \
             FROM devices WHERE id = ?"
        ),
        &[id.into()],
    )?;
    let Some(row) = rows.first() else { return Ok(None) };
    let n = DEVICE_COLUMNS.split(',').count();
    let unsigned = |i: usize| col(row, i).int().and_then(|v| u64::try_from(v).ok());
    Ok(Some(ChallengeState {
        device: device_from_row(row)?,
        sealed_seed: col(row, n).blob().map(<[u8]>::to_vec),
        pin_hash: col(row, n + 1).text().map(str::to_owned),
        hotp_counter: unsigned(n + 2).unwrap_or(0),
        totp_last_step: unsigned(n + 3),
        code_digest: col(row, n + 4).blob().map(<[u8]>::to_vec),
        code_expires: col(row, n + 5).int(),
    }))
}

/// The compare-and-set that a successful validation must win. Only devices in C or V can
/// succeed; the `guard` is the single-use condition of the device type.
pub enum SuccessGuard<'a> {
    /// TOTP: the matched time step must be newer than the last accepted one.
    TotpStep(u64),
    /// HOTP: the stored counter must not have passed the matched one; it moves past it.
    HotpCounter(u64),
    /// EMAIL/SMS: the pending code must still be this one and unexpired; it is consumed.
    PendingCode(&'a [u8]),
    /// PIN: no single-use state.
    Pin,
}

/// Records a success if the guard still holds; false when a concurrent request won the race.
pub fn record_success(
    db: &dyn Database,
    id: i64,
    guard: SuccessGuard<'_>,
    now: i64,
) -> Result<bool, DbError> {
    const SET: &str =
        "fails = 0, last_used = ?, successes = successes + 1, version = version + 1, modified = ?";
    const LIVE: &str = "id = ? AND status IN ('C', 'V')";
    let (sql, params): (String, Vec<Sql>) = match guard {
        SuccessGuard::TotpStep(step) => (
            format!(
                "UPDATE devices SET {SET}, totp_last_step = ? WHERE {LIVE} AND (totp_last_step IS NULL OR totp_last_step < ?) RETURNING id"
            ),
            vec![now.into(), now.into(), (step as i64).into(), id.into(), (step as i64).into()],
        ),
        SuccessGuard::HotpCounter(matched) => (
            format!(
                "UPDATE devices SET {SET}, hotp_counter = ? WHERE {LIVE} AND hotp_counter <= ? RETURNING id"
            ),
            vec![now.into(), now.into(), (matched as i64 + 1).into(), id.into(), (matched as i64).into()],
        ),
        SuccessGuard::PendingCode(digest) => (
            format!(
                "UPDATE devices SET {SET}, code_digest = NULL, code_expires = NULL WHERE {LIVE} \
                 AND code_digest = ? AND code_expires >= ? RETURNING id"
            ),
            vec![now.into(), now.into(), id.into(), Sql::Blob(digest.to_vec()), now.into()],
        ),
        SuccessGuard::Pin => (
            format!("UPDATE devices SET {SET} WHERE {LIVE} RETURNING id"),
            vec![now.into(), now.into(), id.into()],
        ),
    };
    Ok(!db.execute(&sql, &params)?.is_empty())
}

/// Counts a failed validation and locks at `max_fails`, in one statement. Returns the status
/// after it (`None` when the device is gone or no longer in C/V).
pub fn record_failure(
    db: &dyn Database,
    id: i64,
    max_fails: u32,
    now: i64,
) -> Result<Option<Status>, DbError> {
    let rows = db.execute(
        "UPDATE devices SET fails = fails + 1, failures = failures + 1, last_failure = ?, \
         status = CASE WHEN fails + 1 >= ? THEN 'L' ELSE status END, version = version + 1, modified = ? \
         WHERE id = ? AND status IN ('C', 'V') RETURNING status",
        &[now.into(), i64::from(max_fails).into(), now.into(), id.into()],
    )?;
    Ok(rows.first().and_then(|r| col(r, 0).text().and_then(Status::parse)))
}

/// Stores the digest of a fresh EMAIL/SMS code (replacing any earlier one) and counts the challenge.
pub fn set_pending_code(db: &dyn Database, id: i64, digest: &[u8], expires: i64) -> Result<(), DbError> {
    db.execute(
        "UPDATE devices SET code_digest = ?, code_expires = ?, challenges = challenges + 1 WHERE id = ?",
        &[Sql::Blob(digest.to_vec()), expires.into(), id.into()],
    )?;
    Ok(())
}

pub fn count_challenge(db: &dyn Database, id: i64) -> Result<(), DbError> {
    db.execute("UPDATE devices SET challenges = challenges + 1 WHERE id = ?", &[id.into()])?;
    Ok(())
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

pub fn counters(db: &dyn Database, id: i64) -> Result<Option<Counters>, DbError> {
    let rows = db.execute(
        "SELECT successes, failures, challenges, last_used, last_failure FROM devices WHERE id = ?",
        &[id.into()],
    )?;
    Ok(rows.first().map(|r| Counters {
        successes: col(r, 0).int().unwrap_or(0),
        failures: col(r, 1).int().unwrap_or(0),
        challenges: col(r, 2).int().unwrap_or(0),
        last_success: col(r, 3).int().map(|t| Timestamp(t).to_rfc3339()),
        last_failure: col(r, 4).int().map(|t| Timestamp(t).to_rfc3339()),
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

/// The newest audit entries of a device, newest first.
pub fn audit_trail(db: &dyn Database, device_id: i64, limit: i64) -> Result<Vec<AuditEntry>, DbError> {
    let rows = db.execute(
        "SELECT at, actor, action, device_id, detail FROM audit WHERE device_id = ? ORDER BY id DESC LIMIT ?",
        &[device_id.into(), limit.into()],
    )?;
    Ok(rows
        .iter()
        .map(|r| AuditEntry {
            at: Timestamp(col(r, 0).int().unwrap_or(0)).to_rfc3339(),
            actor: col(r, 1).text().unwrap_or_default().to_owned(),
            action: col(r, 2).text().unwrap_or_default().to_owned(),
            device_id: col(r, 3).int(),
            detail: col(r, 4).text().unwrap_or_default().to_owned(),
        })
        .collect())
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

pub fn outbox_add(
    db: &dyn Database,
    now: i64,
    device_id: i64,
    channel: &str,
    to: &str,
    message: &str,
) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO outbox (at, device_id, channel, recipient, message) VALUES (?, ?, ?, ?, ?)",
        &[now.into(), device_id.into(), channel.into(), to.into(), message.into()],
    )?;
    Ok(())
}

pub fn outbox_list(db: &dyn Database, limit: i64) -> Result<Vec<OutboxMessage>, DbError> {
    let rows = db.execute(
        "SELECT id, at, device_id, channel, recipient, message FROM outbox ORDER BY id DESC LIMIT ?",
        &[limit.into()],
    )?;
    Ok(rows
        .iter()
        .map(|r| OutboxMessage {
            id: col(r, 0).int().unwrap_or(0),
            at: Timestamp(col(r, 1).int().unwrap_or(0)).to_rfc3339(),
            device_id: col(r, 2).int().unwrap_or(0),
            channel: col(r, 3).text().unwrap_or_default().to_owned(),
            to: col(r, 4).text().unwrap_or_default().to_owned(),
            message: col(r, 5).text().unwrap_or_default().to_owned(),
        })
        .collect())
}

/// What a Basic login needs to know, in one statement (it runs on every request): the failed
/// logins of `principal` in the current window, and which principal the verified-credential
/// cache holds for `digest`, if it holds one that has not expired.
pub struct LoginState {
    pub failures: i64,
    pub cached_principal: Option<String>,
}

pub fn login_state(
    db: &dyn Database,
    principal: &str,
    window_start: i64,
    digest: Option<&[u8]>,
    now: i64,
) -> Result<LoginState, DbError> {
    let rows = db.execute(
        "SELECT (SELECT failures FROM login_failures WHERE principal = ? AND window_start >= ?), \
                (SELECT principal FROM credential_cache WHERE digest = ? AND expires > ?)",
        &[
            principal.into(),
            window_start.into(),
            digest.map_or(Sql::Null, |d| Sql::Blob(d.to_vec())),
            now.into(),
        ],
    )?;
    let row = rows.first();
    Ok(LoginState {
        failures: row.and_then(|r| col(r, 0).int()).unwrap_or(0),
        cached_principal: row.and_then(|r| col(r, 1).text().map(str::to_owned)),
    })
}

/// Counts a failed login. Windows that started before `window_start` are dropped first (so an
/// old window restarts at 1, and guessing many names cannot grow the table without bound).
pub fn record_login_failure(
    db: &dyn Database,
    principal: &str,
    now: i64,
    window_start: i64,
) -> Result<(), DbError> {
    db.execute("DELETE FROM login_failures WHERE window_start < ?", &[window_start.into()])?;
    db.execute(
        "INSERT INTO login_failures (principal, window_start, failures) VALUES (?, ?, 1) \
         ON CONFLICT (principal) DO UPDATE SET failures = failures + 1",
        &[principal.into(), now.into()],
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
