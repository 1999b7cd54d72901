//! The challenge workflows of SPEC §6: request a challenge (send an EMAIL/SMS code), then check
//! the user's answer with single-use and lockout rules enforced by atomic store updates.

use crate::crypto;
use crate::db::DbError;
use crate::domain::Scope;
use crate::error::ApiError;
use crate::settings::Webhook;
use crate::store::{self, ChallengeState, SuccessGuard, WriteTx};
use shared::authenticator::{Reason, Refusal};
use shared::model::ChallengeResult;
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

/// A CIBA ping (SPEC §14, OpenID CIBA ping mode): `{"auth_req_id"}` POSTed with the client's
/// bearer token, if it gave one.
pub struct CibaPing {
    pub token: Option<String>,
    pub auth_req_id: String,
}

// The token is the client's secret: never printed.
impl std::fmt::Debug for CibaPing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CibaPing").field("auth_req_id", &self.auth_req_id).finish_non_exhaustive()
    }
}

/// Sends a CIBA ping; `Err` carries a reason for the log (never the URL or token).
pub type Notify<'a> = &'a dyn Fn(&Webhook, &CibaPing) -> Result<(), String>;

pub(crate) fn random_code(digits: u32) -> Result<String, ApiError> {
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

/// What a challenge needs besides the device: the domain scope (store, settings, keys, who,
/// when) and the host's log.
pub struct Context<'a> {
    pub scope: Scope<'a>,
    pub log: &'a dyn Fn(&str),
}

impl<'a> std::ops::Deref for Context<'a> {
    type Target = Scope<'a>;

    fn deref(&self) -> &Scope<'a> {
        &self.scope
    }
}

/// What asking for a challenge did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    /// A code went to this address or number (through the gateway, or into the dev outbox).
    Sent { to: String },
    /// The device has nothing to send (TOTP, HOTP, PIN); the challenge is counted.
    NothingToSend,
    /// Nothing was sent: the device cannot be validated now, for this reason.
    Refused(Reason),
}

/// What a validation came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    /// Not accepted, why (SPEC §14's reason codes), and whether the device is locked now.
    Refused {
        reason: Reason,
        locked: bool,
    },
}

impl Verdict {
    /// Soffid's answer (SPEC §6).
    pub fn soffid(self) -> ChallengeResult {
        match self {
            Verdict::Accepted => ChallengeResult { success: true, locked: false },
            Verdict::Refused { locked, .. } => ChallengeResult { success: false, locked },
        }
    }
}

/// Why a device cannot be validated now, before its code is looked at: its owner is inactive,
/// it is locked or disabled, or its authenticator refuses validations.
fn not_checkable(state: &ChallengeState) -> Option<(Reason, bool, String)> {
    if !state.user_active {
        return Some((Reason::UserInactive, false, "user inactive".to_owned()));
    }
    match state.device.status {
        Status::Locked => return Some((Reason::LockedByFailures, true, "status L".to_owned())),
        Status::Disabled => return Some((Reason::Disabled, false, "status D".to_owned())),
        Status::Created | Status::Validated => {}
    }
    // A usable device whose authenticator refuses validations now answers as a disabled one
    // (SPEC §14: disabled, outside its validity dates, at its usage limit), or as a locked one
    // when failures disabled it.
    state
        .authenticator_refusal
        .map(|why| (why.reason(), why == Refusal::Locked, format!("authenticator {}", why.as_str())))
}

/// Sends a fresh code to an EMAIL/SMS device (with `note` before it, a transaction's text), or
/// counts the challenge of a device that computes its own codes.
pub fn request(
    ctx: &Context<'_>,
    state: &ChallengeState,
    deliver: Deliver<'_>,
    note: Option<&str>,
) -> Result<Requested, ApiError> {
    let device = &state.device;
    let (db, settings) = (ctx.db, ctx.settings);
    let write =
        |work: &dyn Fn(&WriteTx<'_>) -> Result<(), DbError>| store::write(db, ctx.actor, ctx.now, work);
    // A device that cannot be validated now is sent nothing.
    if let Some((reason, _, why)) = not_checkable(state) {
        write(&|tx| tx.attempt("request-challenge", device.id, &format!("nothing sent: {why}")))?;
        return Ok(Requested::Refused(reason));
    }
    let (channel, to) = match device.device_type {
        DeviceType::Email => ("email", device.email.clone().unwrap_or_default()),
        DeviceType::Sms => ("sms", device.phone.clone().unwrap_or_default()),
        DeviceType::Totp | DeviceType::Hotp | DeviceType::Pin => {
            write(&|tx| tx.count_challenge(device.id))?;
            return Ok(Requested::NothingToSend);
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
        message: match note {
            None => format!("Your {} verification code is {code}", settings.issuer),
            Some(note) => format!("{note}\nYour {} verification code is {code}", settings.issuer),
        },
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
    Ok(Requested::Sent { to: delivery.to })
}

/// Checks an answer against a device. The slow checks (argon2 for a PIN) run before the write
/// transaction; the compare-and-set of a success, or the counted failure, and its audit row then
/// commit together.
pub fn respond(ctx: &Context<'_>, state: &ChallengeState, code: &str) -> Result<Verdict, ApiError> {
    let device = &state.device;
    let (db, settings, now) = (ctx.db, ctx.settings, ctx.now);
    if let Some((reason, locked, why)) = not_checkable(state) {
        store::write(db, ctx.actor, now, |tx| {
            tx.attempt("challenge-refused", device.id, &format!("not checked: {why}"))
        })?;
        return Ok(Verdict::Refused { reason, locked });
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
    // An EMAIL/SMS code checked with none pending is a wrong response, counted as one; its
    // reason says there was nothing to check.
    let mut wrong = Reason::WrongResponse;
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
            _ => {
                wrong = Reason::NothingToCheck;
                None
            }
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
    if let Some(guard) = guard
        && validation.record_success(device.id, guard)?
    {
        return Ok(Verdict::Accepted);
    }
    Ok(match validation.record_failure(device.id, settings.max_fails)? {
        Some(status) => Verdict::Refused { reason: wrong, locked: status == Status::Locked },
        // The device left C/V (or its owner or authenticator changed) meanwhile: nothing was
        // counted; say why from its state now.
        None => match store::challenge_state(db, ctx.actor.tenant, device.id, now)? {
            Some(now_state) => match not_checkable(&now_state) {
                Some((reason, locked, _)) => Verdict::Refused { reason, locked },
                None => Verdict::Refused { reason: wrong, locked: false },
            },
            None => Verdict::Refused { reason: Reason::NothingToCheck, locked: false },
        },
    })
}
