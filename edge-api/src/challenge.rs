//! The challenge workflows of SPEC §6: request a challenge (send an EMAIL/SMS code), then check
//! the user's answer with single-use and lockout rules enforced by atomic store updates.

use crate::crypto::{self, Keys};
use crate::db::{Database, DbError};
use crate::error::ApiError;
use crate::settings::{Settings, Webhook};
use crate::store::{self, Actor, ChallengeState, SuccessGuard, WriteTx};
use shared::authenticator::Refusal;
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

/// Sends a delivery to the webhook; `Err` carries a reason for the log (never the URL or code).
pub type Deliver<'a> = &'a dyn Fn(&Webhook, &Delivery) -> Result<(), String>;

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

/// Who asks and when, and how to reach the host: what a challenge needs besides the device.
pub struct Context<'a> {
    pub db: &'a dyn Database,
    pub settings: &'a Settings,
    pub keys: &'a Keys,
    pub actor: Actor<'a>,
    pub now: i64,
    pub log: &'a dyn Fn(&str),
}

pub fn request(
    ctx: &Context<'_>,
    state: &ChallengeState,
    deliver: Deliver<'_>,
) -> Result<ChallengeRequested, ApiError> {
    let device = &state.device;
    let (db, settings) = (ctx.db, ctx.settings);
    let answer = ChallengeRequested { cell: "PIN".to_owned(), card_number: device.name.clone() };
    let write =
        |work: &dyn Fn(&WriteTx<'_>) -> Result<(), DbError>| store::write(db, ctx.actor, ctx.now, work);
    // Locked and disabled devices, those of an inactive user and those whose authenticator
    // refuses validations cannot be validated, so nothing is sent to them.
    if !state.user_active {
        write(&|tx| tx.attempt("request-challenge", device.id, "nothing sent: user inactive"))?;
        return Ok(answer);
    }
    if matches!(device.status, Status::Locked | Status::Disabled) {
        write(&|tx| {
            tx.attempt("request-challenge", device.id, &format!("nothing sent: status {}", device.status))
        })?;
        return Ok(answer);
    }
    if let Some(why) = state.authenticator_refusal {
        write(&|tx| {
            tx.attempt(
                "request-challenge",
                device.id,
                &format!("nothing sent: authenticator {}", why.as_str()),
            )
        })?;
        return Ok(answer);
    }
    let (channel, to) = match device.device_type {
        DeviceType::Email => ("email", device.email.clone().unwrap_or_default()),
        DeviceType::Sms => ("sms", device.phone.clone().unwrap_or_default()),
        DeviceType::Totp | DeviceType::Hotp | DeviceType::Pin => {
            write(&|tx| tx.count_challenge(device.id))?;
            return Ok(answer);
        }
    };
    // Without a gateway or the dev outbox the code could reach nobody: say so, store nothing.
    if settings.delivery_webhook.is_none() && !settings.dev_outbox {
        return Err(ApiError::Gateway);
    }
    let code = random_code(device.digits.unwrap_or(settings.defaults.digits))?;
    let delivery = Delivery {
        channel,
        to,
        message: format!("Your {} verification code is {code}", settings.issuer),
        code,
        device_id: device.id,
    };
    let digest = ctx.keys.code_digest(device.id, &delivery.code);
    let expires = ctx.now + settings.challenge_ttl;
    // The pending code is committed before the code leaves, so a user who types it at once
    // never races its storage.
    let outbox = match settings.delivery_webhook {
        None => Some((channel, delivery.to.as_str(), delivery.message.as_str())),
        Some(_) => None,
    };
    write(&|tx| tx.set_pending_code(device.id, &digest, expires, outbox))?;
    if let Some(webhook) = &settings.delivery_webhook
        && let Err(reason) = deliver(webhook, &delivery)
    {
        (ctx.log)(&format!(
            "delivery of a code for device {} to {} failed: {reason}",
            device.id, webhook.host
        ));
        // A gateway failure leaves no pending code (SPEC §6).
        let why = format!("gateway {} {reason}", webhook.host);
        write(&|tx| tx.withdraw_pending_code(device.id, &digest, &why))?;
        return Err(ApiError::Gateway);
    }
    Ok(answer)
}

/// Checks an answer against a device. The slow checks (argon2 for a PIN) run before the write
/// transaction; the compare-and-set of a success, or the counted failure, and its audit row then
/// commit together.
pub fn respond(ctx: &Context<'_>, state: &ChallengeState, code: &str) -> Result<ChallengeResult, ApiError> {
    let device = &state.device;
    let (db, settings, now) = (ctx.db, ctx.settings, ctx.now);
    let refused = |locked: bool, why: &str| -> Result<ChallengeResult, ApiError> {
        store::write(db, ctx.actor, now, |tx| tx.attempt("challenge-refused", device.id, why))?;
        Ok(ChallengeResult { success: false, locked })
    };
    // An inactive user's devices answer as a disabled device does (SPEC §17).
    if !state.user_active {
        return refused(false, "not checked: user inactive");
    }
    let why = format!("not checked: status {}", device.status);
    match device.status {
        Status::Locked => return refused(true, &why),
        Status::Disabled => return refused(false, &why),
        Status::Created | Status::Validated => {}
    }
    // A usable device whose authenticator refuses validations now answers as a disabled one
    // (SPEC §14: disabled, outside its validity dates, at its usage limit), or as a locked one
    // when failures disabled it.
    if let Some(why) = state.authenticator_refusal {
        return refused(why == Refusal::Locked, &format!("not checked: authenticator {}", why.as_str()));
    }
    let params = CodeParams {
        algorithm: device.algorithm.unwrap_or(Algorithm::Sha1),
        digits: device.digits.unwrap_or(settings.defaults.digits),
    };
    let seed = || {
        state.sealed_seed.as_deref().and_then(|blob| ctx.keys.open_seed(blob)).ok_or_else(|| {
            ApiError::Internal(format!("device {}: seed cannot be opened (secret_key changed?)", device.id))
        })
    };
    let guard = match device.device_type {
        DeviceType::Totp => {
            let period = device.period.unwrap_or(settings.defaults.period);
            let last = state.totp_last_step;
            verify_totp(&seed()?, params, period, code, now, settings.totp_window, last)
                .map(|step| SuccessGuard::TotpStep { step, last })
        }
        DeviceType::Hotp => {
            let from = state
                .hotp_counter
                .ok_or_else(|| ApiError::Internal(format!("device {}: HOTP without a counter", device.id)))?;
            verify_hotp(&seed()?, params, code, from, settings.hotp_lookahead)
                .map(|matched| SuccessGuard::HotpCounter { matched, from })
        }
        DeviceType::Email | DeviceType::Sms => match (&state.code_digest, state.code_expires) {
            (Some(pending), Some(expires)) if expires >= now => {
                let matches = bool::from(ctx.keys.code_digest(device.id, code).ct_eq(pending));
                matches.then_some(SuccessGuard::PendingCode(pending))
            }
            _ => None,
        },
        DeviceType::Pin => state
            .pin_hash
            .as_deref()
            .filter(|hash| crypto::verify_password(code, hash))
            .map(SuccessGuard::Pin),
    };
    // A code that matched but lost its compare-and-set (a concurrent request used it, or the
    // device changed meanwhile) is a failure, counted by the statement that follows.
    let validation = store::Validation::new(db, ctx.actor, now);
    let won = match guard {
        Some(guard) => validation.record_success(device.id, guard)?,
        None => false,
    };
    let status = if won {
        None
    } else {
        Some(match validation.record_failure(device.id, settings.max_fails)? {
            Some(status) => status,
            // The device left C/V (or its user was deactivated) meanwhile: nothing was counted;
            // report its state as it is now.
            None => {
                store::get_device(db, ctx.actor.tenant, device.id)?.map_or(Status::Disabled, |d| d.status)
            }
        })
    };
    Ok(match status {
        None => ChallengeResult { success: true, locked: false },
        Some(status) => ChallengeResult { success: false, locked: status == Status::Locked },
    })
}
