//! Importing a vendor's seed file into the stock (SPEC §19): a PSKC container or a CSV read into
//! one seed per token, each checked on its own (an OCRA key is unsupported, a key without a
//! secret or already expired is invalid, a serial met before is a duplicate), then every
//! acceptable one stocked in one transaction, its secret sealed as an enrolled device's is.
//! A file that cannot be read at all (a wrong key or password, a failed MAC) imports nothing.

use super::{DomainError, Scope};
use crate::store::{Holder, WriteTx};
use shared::audit::AuditAction;
use shared::oath_device::{
    DeviceImportResult, ImportOutcome, ImportRequest, ImportedKey, SeedFormat, TokenData,
};
use shared::otp::Secret;
use shared::{Algorithm, DeviceType, Timestamp};
use std::collections::HashSet;

/// The most keys one request imports.
pub const MAX_KEYS: usize = 10_000;

/// One token of a seed file, as the file describes it, before it is checked.
#[derive(Default)]
pub(crate) struct Raw {
    pub serial: Option<String>,
    /// `None`: the file does not say (CSV: HOTP unless it says otherwise).
    pub device_type: Option<Result<DeviceType, String>>,
    pub hash: Option<String>,
    pub digits: Option<u32>,
    pub encoding: Option<String>,
    pub secret: Option<Vec<u8>>,
    pub counter: Option<u64>,
    pub period: Option<u64>,
    pub time_drift: Option<i64>,
    pub start_date: Option<i64>,
    pub expiry_date: Option<i64>,
    pub user: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    /// What the reader found wrong with this token alone.
    pub problem: Option<String>,
}

/// A token checked: ready to stock, or why not.
pub(crate) struct Seed {
    pub serial: String,
    pub checked: Result<Candidate, (ImportOutcome, String)>,
}

pub(crate) struct Candidate {
    pub token: TokenData,
    pub secret: Secret,
    pub user: Option<String>,
}

/// A serial as the stock keeps it: 1–64 characters, no control characters, no surrounding
/// spaces. One shaped like an enrolled device's generated name (`TOTP00000035`, from another
/// instance of this service) is kept, and the name generator moves past it.
fn serial_problem(serial: &str) -> Option<&'static str> {
    let length = serial.chars().count();
    if length == 0 || length > 64 {
        return Some("the serial must be 1-64 characters");
    }
    if serial.chars().any(char::is_control) || serial.trim() != serial {
        return Some("the serial must be printable, without surrounding spaces");
    }
    None
}

/// The hash a seed file names, as `sha1`, `HMAC-SHA256`, `SHA-512` … (SHA-1 when it names none).
fn hash_of(named: Option<&str>) -> Option<Algorithm> {
    let Some(named) = named else { return Some(Algorithm::Sha1) };
    let compact: String = named.to_ascii_lowercase().chars().filter(char::is_ascii_alphanumeric).collect();
    match compact.strip_prefix("hmac").unwrap_or(&compact) {
        "sha1" => Some(Algorithm::Sha1),
        "sha256" => Some(Algorithm::Sha256),
        "sha512" => Some(Algorithm::Sha512),
        _ => None,
    }
}

/// Checks one token, `now` deciding whether it has expired.
pub(crate) fn check(raw: Raw, now: i64) -> Seed {
    let serial = raw.serial.clone().map(|s| s.trim().to_owned()).unwrap_or_default();
    let checked = candidate(raw, &serial, now);
    Seed { serial, checked }
}

fn candidate(raw: Raw, serial: &str, now: i64) -> Result<Candidate, (ImportOutcome, String)> {
    let invalid = |why: &str| Err((ImportOutcome::Invalid, why.to_owned()));
    let device_type = match raw.device_type {
        Some(Ok(t)) => t,
        Some(Err(algorithm)) => {
            return Err((ImportOutcome::Unsupported, format!("{algorithm} is not HOTP or TOTP")));
        }
        None => DeviceType::Hotp,
    };
    if let Some(problem) = raw.problem {
        return invalid(&problem);
    }
    if serial.is_empty() {
        return invalid("no serial number");
    }
    if let Some(problem) = serial_problem(serial) {
        return invalid(problem);
    }
    let Some(secret) = raw.secret.filter(|s| !s.is_empty()) else { return invalid("no secret") };
    if secret.len() > 128 {
        return invalid("the secret is longer than 128 bytes");
    }
    let Some(algorithm) = hash_of(raw.hash.as_deref()) else {
        return invalid("the hash is not SHA-1, SHA-256 or SHA-512");
    };
    let digits = raw.digits.unwrap_or(6);
    if digits != 6 && digits != 8 {
        return invalid("the code length is not 6 or 8");
    }
    if raw.encoding.as_deref().is_some_and(|e| !e.eq_ignore_ascii_case("DECIMAL")) {
        return invalid("the codes are not decimal");
    }
    let period = match device_type {
        DeviceType::Totp => match raw.period.unwrap_or(30) {
            p @ 1..=3600 => Some(p as u32),
            _ => return invalid("the time step is not 1-3600 seconds"),
        },
        _ => None,
    };
    if raw.counter.is_some_and(|c| c > i64::MAX as u64) {
        return invalid("the counter is out of range");
    }
    if let Some(expiry) = raw.expiry_date
        && expiry <= now
    {
        return invalid("expired");
    }
    if let (Some(start), Some(expiry)) = (raw.start_date, raw.expiry_date)
        && start >= expiry
    {
        return invalid("it expires before it starts");
    }
    let text = |value: Option<String>| {
        value
            .map(|v| v.trim().chars().filter(|c| !c.is_control()).take(256).collect::<String>())
            .filter(|v| !v.is_empty())
    };
    let token = TokenData {
        serial_number: serial.to_owned(),
        manufacturer: text(raw.manufacturer),
        model: text(raw.model),
        device_type,
        algorithm,
        digits,
        period,
        counter: match (device_type, period) {
            (DeviceType::Hotp, _) => Some(raw.counter.unwrap_or(0)),
            // TOTP: the last step a code was taken at, as privacyIDEA writes it (one ahead after
            // its resync); a later one would refuse the token's codes for that long.
            (_, Some(period)) => {
                raw.counter.filter(|step| *step <= (now / i64::from(period.max(1))) as u64 + 1)
            }
            _ => None,
        },
        time_drift: if device_type == DeviceType::Totp {
            raw.time_drift.unwrap_or(0).clamp(-10_000, 10_000)
        } else {
            0
        },
        start_date: raw.start_date.map(Timestamp),
        expiry_date: raw.expiry_date.map(Timestamp),
    };
    Ok(Candidate {
        token,
        secret: Secret::from_bytes(secret),
        user: text(raw.user).filter(|u| u.chars().count() <= 64),
    })
}

/// The seeds of a PSKC container.
pub(crate) fn of_pskc(container: pskc::Container, now: i64) -> Vec<Seed> {
    container
        .keys
        .into_iter()
        .map(|key| {
            let device_type = key.kind().map(|kind| match kind {
                pskc::Kind::Hotp => Ok(DeviceType::Hotp),
                pskc::Kind::Totp => Ok(DeviceType::Totp),
                pskc::Kind::Other(uri) => Err(uri),
            });
            let raw = Raw {
                // No serial in DeviceInfo: the key's Id names the token.
                serial: key.serial.clone().or_else(|| key.id.clone()),
                device_type: Some(device_type.unwrap_or_else(|| Err("a key without an algorithm".into()))),
                hash: key.suite.clone(),
                digits: key.digits,
                encoding: key.encoding.clone(),
                secret: key.secret.clone(),
                counter: key.counter,
                period: key.time_interval,
                time_drift: key.time_drift,
                start_date: key.start_date,
                expiry_date: key.expiry_date,
                user: key.user_id.clone(),
                manufacturer: key.manufacturer.clone(),
                model: key.model.clone(),
                problem: key.problem.clone(),
            };
            check(raw, now)
        })
        .collect()
}

/// Entra ID's hardware OATH CSV header (its columns in order).
const ENTRA_HEADER: [&str; 6] =
    ["upn", "serial number", "secret key", "time interval", "manufacturer", "model"];

/// The seeds of a CSV: Entra ID's (`upn,serial number,secret key,time interval,manufacturer,model`,
/// base32 secrets, TOTP) or privacyIDEA's OATH CSV (`serial, hexseed, hotp|totp, digits,
/// counter|step`, version 2 with `user, resolver, realm` first), told apart by their shape.
pub(crate) fn of_csv(text: &str, now: i64) -> Result<Vec<Seed>, String> {
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let first = lines.iter().position(|l| !l.trim().is_empty());
    let Some(first) = first else { return Err("the CSV is empty".into()) };
    let header: Vec<String> = lines[first].split(',').map(|f| f.trim().to_ascii_lowercase()).collect();
    if header == ENTRA_HEADER {
        return Ok(lines[first + 1..]
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| check(entra_row(l), now))
            .collect());
    }
    let version2 = lines[first].trim_start().strip_prefix('#').is_some_and(|rest| {
        let rest = rest.trim_start().to_ascii_lowercase();
        rest.strip_prefix("version:").is_some_and(|v| v.trim() == "2")
    });
    let rows: Vec<&str> =
        lines.iter().copied().filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')).collect();
    let least = if version2 { 5 } else { 2 };
    if rows.is_empty() || rows.iter().any(|r| r.split(',').count() < least) {
        return Err(format!(
            "the CSV is neither Entra ID's (header {}) nor privacyIDEA's OATH CSV (serial, hex seed, type, digits, counter or step{})",
            ENTRA_HEADER.join(","),
            if version2 { ", after user, resolver and realm" } else { "" }
        ));
    }
    Ok(rows.iter().map(|r| check(oath_row(r, version2), now)).collect())
}

fn field(fields: &[&str], i: usize) -> Option<String> {
    fields.get(i).map(|f| f.trim().to_owned()).filter(|f| !f.is_empty())
}

fn entra_row(line: &str) -> Raw {
    let fields: Vec<&str> = line.split(',').collect();
    let mut raw = Raw {
        user: field(&fields, 0),
        serial: field(&fields, 1),
        device_type: Some(Ok(DeviceType::Totp)),
        manufacturer: field(&fields, 4),
        model: field(&fields, 5),
        ..Raw::default()
    };
    if fields.len() != ENTRA_HEADER.len() {
        raw.problem = Some(format!("{} fields, not {}", fields.len(), ENTRA_HEADER.len()));
        return raw;
    }
    match field(&fields, 2).map(|s| Secret::from_base32(&s)) {
        Some(Some(secret)) => raw.secret = Some(secret.as_bytes().to_vec()),
        Some(None) => raw.problem = Some("the secret key is not base32".into()),
        None => {}
    }
    match field(&fields, 3).map(|p| p.parse::<u64>()) {
        Some(Ok(p)) => raw.period = Some(p),
        Some(Err(_)) => raw.problem = Some("the time interval is not a number".into()),
        None => {}
    }
    raw
}

fn oath_row(line: &str, version2: bool) -> Raw {
    let mut fields: Vec<&str> = line.split(',').collect();
    let mut raw = Raw::default();
    if version2 {
        raw.user = field(&fields, 0);
        fields.drain(..3);
    }
    raw.serial = field(&fields, 0);
    let kind = field(&fields, 2).unwrap_or_else(|| "hotp".into()).to_ascii_lowercase();
    raw.device_type = Some(match kind.as_str() {
        "hotp" => Ok(DeviceType::Hotp),
        "totp" => Ok(DeviceType::Totp),
        other => Err(other.to_owned()),
    });
    match field(&fields, 1).map(|hex| data_encoding::HEXLOWER_PERMISSIVE.decode(hex.as_bytes())) {
        Some(Ok(secret)) => raw.secret = Some(secret),
        Some(Err(_)) => raw.problem = Some("the seed is not hexadecimal".into()),
        None => {}
    }
    let number = |i: usize, what: &str, raw: &mut Raw| match field(&fields, i).map(|n| n.parse::<u64>()) {
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            raw.problem.get_or_insert_with(|| format!("the {what} is not a number"));
            None
        }
        None => None,
    };
    raw.digits = number(3, "code length", &mut raw).map(|d| u32::try_from(d).unwrap_or(u32::MAX));
    let last = number(4, if kind == "totp" { "time step" } else { "counter" }, &mut raw);
    match raw.device_type {
        Some(Ok(DeviceType::Totp)) => raw.period = last,
        _ => raw.counter = last,
    }
    raw
}

/// Reads a seed file into its seeds; a file that cannot be read is the reason why.
pub(crate) fn seeds(request: &ImportRequest, now: i64) -> Result<Vec<Seed>, String> {
    match request.format {
        SeedFormat::Pskc => {
            let key = request.pre_shared_key.as_deref();
            let unlock = pskc::Unlock { pre_shared_key: key, password: request.password.as_deref() };
            let container = pskc::read(&request.document, &unlock).map_err(|e| e.to_string())?;
            Ok(of_pskc(container, now))
        }
        SeedFormat::Csv => of_csv(&request.document, now),
    }
}

/// `POST /Device/.import`: every token of the file reported, those that can be stocked
/// stocked (and with `assignUsers`, handed to the user its file names) in one transaction; with
/// `dryRun`, reported only.
pub fn import(scope: &Scope<'_>, request: &ImportRequest) -> Result<DeviceImportResult, DomainError> {
    let now = scope.now();
    let seeds = seeds(request, now).map_err(DomainError::SeedFile)?;
    if seeds.len() > MAX_KEYS {
        return Err(DomainError::SeedFile(format!("{} keys: at most {MAX_KEYS} in one import", seeds.len())));
    }
    // Duplicates: a serial met earlier in the file, or one the tenant has.
    let serials: Vec<&str> = seeds.iter().filter(|s| s.checked.is_ok()).map(|s| s.serial.as_str()).collect();
    let taken = scope.store.existing_serials(&serials)?;
    let mut seen = HashSet::new();
    let mut results = Vec::with_capacity(seeds.len());
    let mut stock = Vec::new();
    for seed in seeds {
        let outcome = match seed.checked {
            Err((outcome, detail)) => Err((outcome, detail)),
            Ok(_) if taken.contains(&seed.serial) => {
                Err((ImportOutcome::Duplicate, "in the stock already".into()))
            }
            Ok(_) if !seen.insert(seed.serial.clone()) => {
                Err((ImportOutcome::Duplicate, "met earlier in the file".into()))
            }
            Ok(candidate) => Ok(candidate),
        };
        match outcome {
            Ok(candidate) => {
                let sealed = scope.keys.seal_seed(&candidate.secret).map_err(DomainError::Internal)?;
                results.push(ImportedKey::new(&seed.serial, ImportOutcome::Imported, None));
                stock.push((results.len() - 1, candidate, sealed));
            }
            Err((outcome, detail)) => results.push(ImportedKey::new(&seed.serial, outcome, Some(detail))),
        }
    }
    if !request.dry_run && !stock.is_empty() {
        let ids = scope.store.write(|tx| write_stock(tx, &stock, request))?;
        for ((at, _, _), id) in stock.iter().zip(ids) {
            match id {
                Some(id) => results[*at].id = Some(id.to_string()),
                // Stocked by a concurrent import meanwhile.
                None => {
                    results[*at].outcome = ImportOutcome::Duplicate;
                    results[*at].detail = Some("in the stock already".into());
                }
            }
        }
    }
    Ok(DeviceImportResult::of(results))
}

/// Stocks the candidates (their ids, `None` for a serial taken meanwhile), hands them out with
/// `assignUsers`, and audits the import as one event besides one per token.
fn write_stock(
    tx: &WriteTx<'_>,
    stock: &[(usize, Candidate, Vec<u8>)],
    request: &ImportRequest,
) -> Result<Vec<Option<i64>>, DomainError> {
    let tokens: Vec<(&TokenData, &[u8])> =
        stock.iter().map(|(_, c, sealed)| (&c.token, sealed.as_slice())).collect();
    let ids = tx.stock_tokens(&tokens)?;
    let mut handed = 0;
    if request.assign_users {
        for ((_, candidate, _), id) in stock.iter().zip(&ids) {
            let (Some(id), Some(user)) = (id, &candidate.user) else { continue };
            let Some(device) = tx.get_oath_device(*id)? else { continue };
            let (user_id, name) = tx.user_named(user)?;
            let authenticator = tx.default_authenticator(user_id, candidate.token.device_type)?;
            let version = shared::model::etag_version(&device.meta.version).unwrap_or(1);
            let holder = Holder::User { id: user_id, name, authenticator };
            tx.update_oath_device(
                &device,
                version,
                device.manufacturer.as_deref(),
                device.model.as_deref(),
                &holder,
            )?;
            handed += 1;
        }
    }
    let imported = ids.iter().flatten().count();
    let detail = format!(
        "{} file: {imported} imported, {} already in stock{}",
        request.format,
        ids.len() - imported,
        if request.assign_users { format!(", {handed} handed out") } else { String::new() }
    );
    tx.audit_stock(AuditAction::Import, &detail)?;
    Ok(ids)
}
