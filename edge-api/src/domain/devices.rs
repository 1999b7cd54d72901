//! Enrolling a device: its secrets (a fresh seed, sealed; a PIN's hash) before the write, and
//! what the create answers once (the key URI and its QR code).

use super::Scope;
use crate::crypto;
use crate::error::ApiError;
use crate::store::Secrets;
use shared::otp::{CodeParams, Secret, UriKind, otpauth_uri, qr_png_base64};
use shared::validate::NewDevice;
use shared::{DeviceType, OtpDevice};

/// A new device's secrets: the seed in the clear (for the key URI, once) and as stored.
pub struct Prepared {
    pub seed: Option<Secret>,
    pub secrets: Secrets,
}

/// Draws the seed of a TOTP/HOTP device and hashes a PIN, before any write: argon2 and the
/// random bytes stay out of the write transaction.
pub fn prepare(scope: &Scope<'_>, new: &NewDevice) -> Result<Prepared, ApiError> {
    let seed = match (new.device_type.has_seed(), new.algorithm) {
        (true, Some(algorithm)) => {
            Some(Secret::generate(algorithm, crypto::fill_random).map_err(ApiError::Internal)?)
        }
        _ => None,
    };
    let secrets = Secrets {
        sealed_seed: seed
            .as_ref()
            .map(|s| scope.keys.seal_seed(s))
            .transpose()
            .map_err(ApiError::Internal)?,
        pin_hash: new.pin.as_deref().map(crypto::hash_password).transpose().map_err(ApiError::Internal)?,
    };
    Ok(Prepared { seed, secrets })
}

/// The key URI and its QR code (base64 PNG) of a device just created with `seed`.
pub fn enrollment(
    scope: &Scope<'_>,
    device: &OtpDevice,
    seed: &Secret,
) -> Result<Option<(String, String)>, ApiError> {
    let (Some(algorithm), Some(digits)) = (device.algorithm, device.digits) else { return Ok(None) };
    let kind = match device.device_type {
        DeviceType::Totp => UriKind::Totp { period: device.period.unwrap_or(scope.settings.defaults.period) },
        _ => UriKind::Hotp { counter: 0 },
    };
    let account = format!("{} ({})", device.user, device.name);
    let uri = otpauth_uri(&scope.settings.issuer, &account, seed, CodeParams { algorithm, digits }, kind);
    let image = qr_png_base64(&uri).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Some((uri, image)))
}
