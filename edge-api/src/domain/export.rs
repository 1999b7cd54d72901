//! Exporting devices for migration (SPEC §19): a PSKC file of the matching TOTP and HOTP
//! devices, their secrets encrypted under a key derived from the admin's password
//! (PBKDF2-HMAC-SHA256, AES-256-CBC, HMAC-SHA256), which python-pskc and our own import read.
//! Off unless the `seed_export` variable is true: a secret that leaves is no longer ours to keep.

use super::{DomainError, Scope};
use crate::crypto;
use shared::DeviceType;
use shared::audit::AuditAction;
use shared::filter::Condition;
use shared::oath_device::ExportRequest;
use shared::schema::OATH_DEVICE;

/// The most devices one export writes.
pub const MAX_DEVICES: u64 = 10_000;

/// PBKDF2 rounds of an export (SPEC §19: at least 100,000).
pub const ITERATIONS: u32 = 100_000;

/// The file, and how many devices it holds.
pub fn export(scope: &Scope<'_>, request: &ExportRequest) -> Result<(String, usize), DomainError> {
    if !scope.settings.seed_export {
        return Err(DomainError::ExportOff);
    }
    let condition = request
        .filter
        .as_deref()
        .filter(|f| !f.trim().is_empty())
        .map(|f| Condition::compile(&OATH_DEVICE, f))
        .transpose()?;
    let (total, rows) = scope.store.export_rows(condition.as_ref(), MAX_DEVICES)?;
    if total > MAX_DEVICES {
        return Err(DomainError::Invalid(shared::Problem::invalid(
            "filter",
            "matches more than 10,000 devices: export them in parts",
        )));
    }
    let mut opened = Vec::with_capacity(rows.len());
    for row in &rows {
        let device = &row.device;
        let secret =
            row.sealed_seed.as_deref().and_then(|blob| scope.keys.open_seed(blob)).ok_or_else(|| {
                DomainError::Internal(format!("device {}: seed cannot be opened", device.id))
            })?;
        opened.push(secret);
    }
    let suites: Vec<String> = rows.iter().map(|r| r.device.algorithm.as_str().to_ascii_lowercase()).collect();
    let keys: Vec<pskc::Export<'_>> = rows
        .iter()
        .zip(&opened)
        .zip(&suites)
        .map(|((row, secret), suite)| {
            let device = &row.device;
            let totp = device.device_type == DeviceType::Totp;
            pskc::Export {
                serial: &device.serial_number,
                manufacturer: device.manufacturer.as_deref(),
                model: device.model.as_deref(),
                kind: if totp { pskc::Kind::Totp } else { pskc::Kind::Hotp },
                suite,
                digits: device.digits,
                secret: secret.as_bytes(),
                // TOTP: the last step a code was taken at, as privacyIDEA writes and reads it:
                // wherever the file goes, no code used here is good again.
                counter: if totp { row.totp_last_step } else { Some(row.hotp_counter.unwrap_or(0)) },
                time_interval: device.period.filter(|_| totp).map(u64::from),
                time_drift: device.time_drift.filter(|_| totp),
                start_date: device.start_date.map(|t| t.0),
                expiry_date: device.expiry_date.map(|t| t.0),
                user_id: device.owner.as_ref().and_then(|o| o.display.as_deref()),
            }
        })
        .collect();
    let mut failed = None;
    let mut random = |buf: &mut [u8]| {
        if let Err(e) = crypto::fill_random(buf) {
            failed = Some(e);
        }
    };
    let document = pskc::write(&keys, &request.password, ITERATIONS, &mut random);
    if let Some(e) = failed {
        return Err(DomainError::Internal(e));
    }
    let detail = format!(
        "{} devices{}",
        keys.len(),
        request.filter.as_deref().map(|f| format!(" matching {f}")).unwrap_or_default()
    );
    scope.store.write(|tx| tx.audit_stock(AuditAction::Export, &detail))?;
    Ok((document, keys.len()))
}
