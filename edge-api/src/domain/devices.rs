//! Enrolling a device: its code parameters (those of the policy it is bound to), its secrets (a
//! fresh seed, sealed; a PIN's hash) before the write, and what the create answers once (the key
//! URI and its QR code).

use super::{DomainError, IfMatch, Scope, Written, delete_versioned, update_versioned};
use crate::crypto;
use crate::store::Secrets;
use serde_json::Value;
use shared::Problem;
use shared::audit::AuditAction;
use shared::model::etag_version;
use shared::otp::{CodeParams, Secret, UriKind, otpauth_uri, qr_png_base64};
use shared::policy::PolicyKind;
use shared::validate::{Changes, NewDevice, validate_create_with};
use shared::{DeviceType, OtpDevice};

/// A device created through `/OtpDevice` (SPEC §2): its code parameters are those of the
/// tenant's default policy of its kind, which it joins (SPEC §14), unless the body sets them; a
/// user has one PIN and one EMAIL or SMS device per address. TOTP/HOTP answer their key URI and
/// QR code, once.
pub fn create(scope: &Scope<'_>, body: &Value) -> Result<OtpDevice, DomainError> {
    let policies = scope.store.default_policies()?;
    let defaults = &scope.settings.defaults;
    let new = validate_create_with(body, |t| {
        policies
            .iter()
            .find(|p| p.kind == PolicyKind::of_device(t))
            .map_or(*defaults, |p| p.device_params(defaults))
    })?;
    let prepared = prepare(scope, &new)?;
    let mut device = scope.store.write(|tx| -> Result<OtpDevice, DomainError> {
        if let Some(existing) = tx.find_duplicate(&new)? {
            return Err(DomainError::Duplicate { existing });
        }
        Ok(tx.create_device(&new, &prepared.secrets, None)?)
    })?;
    if let Some(seed) = &prepared.seed
        && let Some((uri, image)) = enrollment(scope, &device, seed)?
    {
        device.image = Some(image);
        device.otpauth_uri = Some(uri);
    }
    Ok(device)
}

/// A new device's secrets: the seed in the clear (for the key URI, once) and as stored.
pub struct Prepared {
    pub seed: Option<Secret>,
    pub secrets: Secrets,
}

/// Draws the seed of a TOTP/HOTP device and hashes a PIN, before any write: argon2 and the
/// random bytes stay out of the write transaction.
pub fn prepare(scope: &Scope<'_>, new: &NewDevice) -> Result<Prepared, DomainError> {
    let seed = match (new.device_type.has_seed(), new.algorithm) {
        (true, Some(algorithm)) => {
            Some(Secret::generate(algorithm, crypto::fill_random).map_err(DomainError::Internal)?)
        }
        _ => None,
    };
    let secrets = Secrets {
        sealed_seed: seed
            .as_ref()
            .map(|s| scope.keys.seal_seed(s))
            .transpose()
            .map_err(DomainError::Internal)?,
        pin_hash: new.pin.as_deref().map(crypto::hash_password).transpose().map_err(DomainError::Internal)?,
    };
    Ok(Prepared { seed, secrets })
}

/// The key URI and its QR code (base64 PNG) of a device just created with `seed`.
pub fn enrollment(
    scope: &Scope<'_>,
    device: &OtpDevice,
    seed: &Secret,
) -> Result<Option<(String, String)>, DomainError> {
    let (Some(algorithm), Some(digits)) = (device.algorithm, device.digits) else { return Ok(None) };
    let kind = match device.device_type {
        DeviceType::Totp => UriKind::Totp { period: device.period.unwrap_or(scope.settings.defaults.period) },
        _ => UriKind::Hotp { counter: 0 },
    };
    let account = format!("{} ({})", device.user, device.name);
    let uri = otpauth_uri(&scope.settings.issuer, &account, seed, CodeParams { algorithm, digits }, kind);
    let image = qr_png_base64(&uri).map_err(|e| DomainError::Internal(e.to_string()))?;
    Ok(Some((uri, image)))
}

fn version_of(device: &OtpDevice) -> i64 {
    etag_version(&device.meta.version).unwrap_or(0)
}

/// The tenant's device `id`.
pub fn find(scope: &Scope<'_>, id: i64) -> Result<OtpDevice, DomainError> {
    scope.store.get_device(id)?.ok_or(DomainError::NoDevice(id))
}

/// A replace (PUT) or PATCH (`action`, as audited): `changes_of` the current device, a new PIN
/// hashed before the write, written at the device's version.
pub fn update(
    scope: &Scope<'_>,
    id: i64,
    action: AuditAction,
    expected: Option<&IfMatch>,
    changes_of: impl Fn(&OtpDevice) -> Result<Changes, Problem>,
) -> Result<OtpDevice, DomainError> {
    update_versioned(
        expected,
        || find(scope, id),
        version_of,
        |current, version| {
            let changes = changes_of(current)?;
            let pin_hash = changes
                .pin
                .as_deref()
                .map(crypto::hash_password)
                .transpose()
                .map_err(DomainError::Internal)?;
            let updated = scope
                .store
                .write(|tx| tx.update_device(action, current, version, &changes, pin_hash.clone()))?;
            Ok(updated.map_or(Written::Stale, Written::Done))
        },
    )
}

/// Deletes the device (audited).
pub fn delete(scope: &Scope<'_>, id: i64, expected: Option<&IfMatch>) -> Result<(), DomainError> {
    let current = find(scope, id)?;
    delete_versioned(expected, version_of(&current), DomainError::NoDevice(id), |at| {
        Ok(scope.store.write(|tx| tx.delete_device(&current, at))?)
    })
}
