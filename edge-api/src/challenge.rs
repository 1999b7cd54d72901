//! The challenge workflows of SPEC §6: request a challenge (send an EMAIL/SMS code), then check
//! the user's answer with single-use and lockout rules enforced by atomic store updates.

use crate::crypto::{self, Keys};
use crate::db::Database;
use crate::error::ApiError;
use crate::settings::Settings;
use crate::store::{self, ChallengeState, SuccessGuard};
use shared::model::{ChallengeRequested, ChallengeResult};
use shared::otp::{CodeParams, verify_hotp, verify_totp};
use shared::{Algorithm, DeviceType, Status};
use subtle::ConstantTimeEq;

/// A message for the delivery gateway (SPEC §6).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub channel: &'static str,
    pub to: String,
    pub message: String,
    pub code: String,
    pub device_id: i64,
}

/// Sends a delivery to the webhook; `Err` carries a reason for the log.
pub type Deliver<'a> = &'a dyn Fn(&str, &Delivery) -> Result<(), String>;

fn random_code(digits: u32) -> Result<String, ApiError> {
    // Rejection sampling keeps every digit uniform.
    let mut code = String::with_capacity(digits as usize);
    while code.len() < digits as usize {
        let mut byte = [0u8; 1];
        crypto::fill_random(&mut byte).map_err(ApiError::Internal)?;
        if byte[0] < 250 {
            code.push(char::from(b'0' + byte[0] % 10));
        }
    }
    Ok(code)
}

pub fn request(
    db: &dyn Database,
    settings: &Settings,
    keys: &Keys,
    state: &ChallengeState,
    deliver: Deliver<'_>,
    now: i64,
) -> Result<ChallengeRequested, ApiError> {
    let device = &state.device;
    let answer = ChallengeRequested { cell: "PIN".to_owned(), card_number: device.name.clone() };
    // Locked and disabled devices cannot be validated, so nothing is sent to them.
    if matches!(device.status, Status::Locked | Status::Disabled) {
        return Ok(answer);
    }
    let (channel, to) = match device.device_type {
        DeviceType::Email => ("email", device.email.clone().unwrap_or_default()),
        DeviceType::Sms => ("sms", device.phone.clone().unwrap_or_default()),
        DeviceType::Totp | DeviceType::Hotp | DeviceType::Pin => {
            store::count_challenge(db, device.id)?;
            return Ok(answer);
        }
    };
    let code = random_code(device.digits.unwrap_or(settings.defaults.digits))?;
    let delivery = Delivery {
        channel,
        to,
        message: format!("Your {} verification code is {code}", settings.issuer),
        code,
        device_id: device.id,
    };
    match (&settings.delivery_webhook_url, settings.dev_outbox) {
        (Some(url), _) => deliver(url, &delivery).map_err(|_| ApiError::Gateway)?,
        (None, true) => store::outbox_add(db, now, device.id, channel, &delivery.to, &delivery.message)?,
        // Without a gateway or the dev outbox the code could reach nobody: say so.
        (None, false) => return Err(ApiError::Gateway),
    }
    // Stored only once delivered: a gateway failure leaves no pending code.
    store::set_pending_code(
        db,
        device.id,
        &keys.code_digest(device.id, &delivery.code),
        now + settings.challenge_ttl,
    )?;
    Ok(answer)
}

pub fn respond(
    db: &dyn Database,
    settings: &Settings,
    keys: &Keys,
    state: &ChallengeState,
    code: &str,
    now: i64,
) -> Result<ChallengeResult, ApiError> {
    let device = &state.device;
    match device.status {
        Status::Locked => return Ok(ChallengeResult { success: false, locked: true }),
        Status::Disabled => return Ok(ChallengeResult { success: false, locked: false }),
        Status::Created | Status::Validated => {}
    }
    let params = CodeParams {
        algorithm: device.algorithm.unwrap_or(Algorithm::Sha1),
        digits: device.digits.unwrap_or(settings.defaults.digits),
    };
    let seed = || {
        state.sealed_seed.as_deref().and_then(|blob| keys.open_seed(blob)).ok_or_else(|| {
            ApiError::Internal(format!("device {}: seed cannot be opened (secret_key changed?)", device.id))
        })
    };
    let guard = match device.device_type {
        DeviceType::Totp => {
            let period = device.period.unwrap_or(settings.defaults.period);
            verify_totp(&seed()?, params, period, code, now, settings.totp_window, state.totp_last_step)
                .map(SuccessGuard::TotpStep)
        }
        DeviceType::Hotp => verify_hotp(&seed()?, params, code, state.hotp_counter, settings.hotp_lookahead)
            .map(SuccessGuard::HotpCounter),
        DeviceType::Email | DeviceType::Sms => match (&state.code_digest, state.code_expires) {
            (Some(pending), Some(expires)) if expires >= now => {
                let matches = bool::from(keys.code_digest(device.id, code).ct_eq(pending));
                matches.then_some(SuccessGuard::PendingCode(pending))
            }
            _ => None,
        },
        DeviceType::Pin => state
            .pin_hash
            .as_deref()
            .is_some_and(|hash| crypto::verify_password(code, hash))
            .then_some(SuccessGuard::Pin),
    };
    if let Some(guard) = guard
        && store::record_success(db, device.id, guard, now)?
    {
        return Ok(ChallengeResult { success: true, locked: false });
    }
    let status = match store::record_failure(db, device.id, settings.max_fails, now)? {
        Some(status) => status,
        // The device left C/V meanwhile: report its state as it is now.
        None => store::get_device(db, device.id)?.map_or(Status::Disabled, |d| d.status),
    };
    Ok(ChallengeResult { success: false, locked: status == Status::Locked })
}
