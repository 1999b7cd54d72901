//! Validation, where both dialects meet (SPEC §6, §14): request a challenge (send an EMAIL/SMS
//! code under a challenge of its own, within the send budgets), then check a response with the
//! single-use, replay, look-ahead and lockout rules, enforced by atomic store updates.

use super::DomainError;
use super::Scope;
use crate::crypto;
use crate::db::DbError;
use crate::host::{Deliver, Delivery};
use crate::store::{ActionTarget, ChallengeKind, ChallengeState, NewChallenge, Ping, SuccessGuard};
use shared::audit::AuditAction;
use shared::authenticator::Reason;
use shared::otp::{CodeParams, time_step, verify_hotp, verify_totp};
use shared::standing::Inactive;
use shared::{Algorithm, DeviceType, Status};
use subtle::ConstantTimeEq;

pub(crate) fn random_code(digits: u32) -> Result<String, DomainError> {
    // Rejection sampling keeps every digit uniform.
    let mut code = String::with_capacity(digits as usize);
    while code.len() < digits as usize {
        let mut byte = [0u8; 1];
        crypto::fill_random(&mut byte).map_err(DomainError::Internal)?;
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
    /// A code went to this address or number (through the gateway, or into the dev outbox), for
    /// challenge `challenge`.
    Sent { to: String, challenge: i64 },
    /// The device has nothing to send (TOTP, HOTP, PIN); the challenge is counted, and opened
    /// when the request asked for one.
    NothingToSend { challenge: Option<i64> },
    /// Nothing was sent: the device cannot be validated now, for this reason.
    Refused(Reason),
    /// Nothing was sent: a send budget (SPEC §6) refused it for this many seconds.
    OverBudget { retry_after: i64 },
    /// The code reached nobody: the gateway failed (no pending code is left), or there is
    /// neither a gateway nor the dev outbox.
    Undelivered,
}

/// The challenge a request opens besides sending the code: what it is, the transaction's text
/// sent before the code, the CIBA ping its success owes, and the authenticator it is issued by
/// (HID's named actions; Soffid's requestChallenge opens a plain one for the device alone).
pub struct Opening<'a> {
    pub kind: ChallengeKind,
    pub note: Option<&'a str>,
    pub ping: Option<Ping>,
    pub issued_by: Option<&'a ActionTarget>,
}

impl Opening<'_> {
    /// Soffid's requestChallenge: a plain code for the device.
    pub fn plain() -> Opening<'static> {
        Opening { kind: ChallengeKind::Plain, note: None, ping: None, issued_by: None }
    }
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

/// What a response did: the verdict, the device that accepted it, and the CIBA ping the
/// challenge it answered owes.
pub struct Responded {
    pub verdict: Verdict,
    pub device: Option<i64>,
    pub ping: Option<Ping>,
}

impl Responded {
    fn refused(reason: Reason, locked: bool) -> Responded {
        Responded { verdict: Verdict::Refused { reason, locked }, device: None, ping: None }
    }
}

/// Why a device cannot be validated now, before its code is looked at: its owner is inactive,
/// it is locked or disabled, or its authenticator refuses validations (`shared::standing`'s
/// rule, read with the device); and whether that is a lockout.
fn not_checkable(state: &ChallengeState) -> Option<(Reason, bool, String)> {
    match state.device.status {
        _ if !state.user_active => {
            let why = Inactive::UserInactive;
            Some((why.reason(), why.locked(), "user inactive".to_owned()))
        }
        Status::Locked => Some((Reason::LockedByFailures, true, "status L".to_owned())),
        Status::Disabled => Some((Reason::Disabled, false, "status D".to_owned())),
        // A usable device whose authenticator refuses validations now answers as a disabled one
        // (SPEC §14: disabled, outside its validity dates, at its usage limit), or as a locked
        // one when failures disabled it.
        // A token outside the validity its seed file gave it (SPEC §19).
        Status::Created | Status::Validated if state.outside_validity => {
            Some((Reason::OutsideValidity, false, "token outside its validity dates".to_owned()))
        }
        Status::Created | Status::Validated => state.authenticator_refusal.map(|refusal| {
            let why = Inactive::Refused(refusal);
            (why.reason(), why.locked(), format!("authenticator {}", refusal.as_str()))
        }),
    }
}

/// Where a code for `device` goes: the channel, and the address or number.
fn destination(device: &shared::OtpDevice) -> Option<(&'static str, String)> {
    match device.device_type {
        DeviceType::Email => Some(("email", device.email.clone().unwrap_or_default())),
        DeviceType::Sms => Some(("sms", device.phone.clone().unwrap_or_default())),
        DeviceType::Totp | DeviceType::Hotp | DeviceType::Pin => None,
    }
}

/// Sends a fresh code to an EMAIL/SMS device under a new challenge of its own (with
/// `opening.note` before it, a transaction's text), within the send budgets; or counts the
/// challenge of a device that computes its own codes.
pub fn request(
    ctx: &Context<'_>,
    state: &ChallengeState,
    deliver: Deliver<'_>,
    opening: &Opening<'_>,
) -> Result<Requested, DomainError> {
    let device = &state.device;
    let settings = ctx.settings;
    let authenticator = state.authenticator_id;
    // A device that cannot be validated now is sent nothing.
    if let Some((reason, _, why)) = not_checkable(state) {
        ctx.store.write(|tx| {
            tx.attempt(AuditAction::RequestChallenge, device.id, &format!("nothing sent: {why}"))
        })?;
        return Ok(Requested::Refused(reason));
    }
    let Some((channel, to)) = destination(device) else {
        let challenge = ctx.store.write(|tx| {
            tx.count_challenge(device.id)?;
            opening
                .issued_by
                .map(|row| {
                    let new = NewChallenge {
                        authenticator,
                        device: Some(device.id),
                        kind: opening.kind,
                        code_digest: None,
                        ping: opening.ping.as_ref(),
                        expires: ctx.now() + settings.challenge_ttl,
                    };
                    tx.open_challenge(&new, Some(row))
                })
                .transpose()
        })?;
        return Ok(Requested::NothingToSend { challenge });
    };
    // Without a gateway or the dev outbox the code could reach nobody: say so, store nothing.
    if settings.delivery_webhook.is_none() && !settings.dev_outbox {
        return Ok(Requested::Undelivered);
    }
    let code = random_code(device.digits.unwrap_or(settings.defaults.digits))?;
    let delivery = Delivery {
        channel,
        to,
        message: match opening.note {
            None => format!("Your {} verification code is {code}", settings.issuer),
            Some(note) => format!("{note}\nYour {} verification code is {code}", settings.issuer),
        },
        code,
        device_id: device.id,
    };
    let digest = ctx.keys.code_digest(device.id, &delivery.code);
    // A code lives for its policy's codeTtlSeconds (SPEC §14, §18).
    let expires = ctx.now() + state.code_ttl.unwrap_or(settings.challenge_ttl);
    let outbox = match settings.delivery_webhook {
        None => Some((channel, delivery.to.as_str(), delivery.message.as_str())),
        Some(_) => None,
    };
    // The budget is taken and the challenge committed before the code leaves, so that a user
    // who types it at once never races its storage, and concurrent requests never send past a
    // budget together.
    let opened = ctx.store.write(|tx| -> Result<Result<i64, i64>, DbError> {
        if let Err(refused) = tx.take_send(device.id, &delivery.to.to_lowercase(), settings.send_budget)? {
            let detail = format!("nothing sent: {}, retry in {} s", refused.why, refused.retry_after);
            tx.attempt(AuditAction::SendRefused, device.id, &detail)?;
            return Ok(Err(refused.retry_after));
        }
        let new = NewChallenge {
            authenticator,
            device: Some(device.id),
            kind: opening.kind,
            code_digest: Some(&digest),
            ping: opening.ping.as_ref(),
            expires,
        };
        let id = tx.open_challenge(&new, opening.issued_by)?;
        tx.code_sent(device.id, outbox)?;
        Ok(Ok(id))
    })?;
    let challenge = match opened {
        Ok(id) => id,
        Err(retry_after) => return Ok(Requested::OverBudget { retry_after }),
    };
    if let Some(webhook) = &settings.delivery_webhook
        && let Err(reason) = deliver(webhook, &delivery)
    {
        (ctx.log)(&format!(
            "delivery of a code for device {} to {} failed: {reason}",
            device.id, webhook.host
        ));
        // A gateway failure leaves no pending code (SPEC §6).
        let why = format!("gateway {} {reason}", webhook.host);
        ctx.store.write(|tx| tx.withdraw_challenge(device.id, challenge, &why))?;
        return Ok(Requested::Undelivered);
    }
    Ok(Requested::Sent { to: delivery.to, challenge })
}

/// A response as both dialects take it: surrounding whitespace is never part of a code, PIN or
/// password (a pasted code often carries a newline; `shared::validate::parse_pin` refuses a PIN
/// stored with it), and an empty one is no response (the caller's 400, not a failed attempt).
pub fn response_text(given: Option<&str>) -> Option<&str> {
    given.map(str::trim).filter(|text| !text.is_empty())
}

/// A response checked against a device without writing anything: the compare-and-set its
/// success must win, or why it cannot succeed.
enum Checked<'s> {
    /// The device cannot be validated now: nothing is checked or counted.
    NotCheckable {
        reason: Reason,
        locked: bool,
        why: String,
    },
    Matches(SuccessGuard<'s>),
    /// Wrong, and the reason a failure reports (nothing to check: no open code).
    Wrong(Reason),
}

/// Checks `code` against a device. An EMAIL/SMS code is checked against the open codes of
/// `state` (the caller keeps those the response may answer), each in constant time.
fn check<'s>(ctx: &Context<'_>, state: &'s ChallengeState, code: &str) -> Result<Checked<'s>, DomainError> {
    let device = &state.device;
    let settings = ctx.settings;
    if let Some((reason, locked, why)) = not_checkable(state) {
        return Ok(Checked::NotCheckable { reason, locked, why });
    }
    let params = CodeParams {
        algorithm: device.algorithm.unwrap_or(Algorithm::Sha1),
        digits: device.digits.unwrap_or(settings.defaults.digits),
    };
    let seed = || {
        state.sealed_seed.as_deref().and_then(|blob| ctx.keys.open_seed(blob)).ok_or_else(|| {
            DomainError::Internal(format!(
                "device {}: seed cannot be opened (secret_key changed?)",
                device.id
            ))
        })
    };
    let guard = match device.device_type {
        DeviceType::Totp => {
            // The window is centred on the token's clock, the server's shifted by its learnt
            // drift; the step that matches tells the drift now (RFC 6238 §6).
            let period = device.period.unwrap_or(settings.defaults.period);
            let last = state.totp_last_step;
            let shift = state.time_drift.saturating_mul(i64::from(period));
            let server = i64::try_from(time_step(ctx.now(), period)).unwrap_or(i64::MAX);
            verify_totp(
                &seed()?,
                params,
                period,
                code,
                ctx.now().saturating_add(shift),
                settings.totp_window,
                last,
            )
            .map(|step| SuccessGuard::TotpStep {
                step,
                last,
                drift: i64::try_from(step).unwrap_or(i64::MAX).saturating_sub(server),
            })
        }
        DeviceType::Hotp => {
            let from = state.hotp_counter.ok_or_else(|| {
                DomainError::Internal(format!("device {}: HOTP without a counter", device.id))
            })?;
            verify_hotp(&seed()?, params, code, from, settings.hotp_lookahead)
                .map(|matched| SuccessGuard::HotpCounter { matched, from })
        }
        // An EMAIL/SMS code checked with none open is a wrong response, counted as one; its
        // reason says there was nothing to check.
        DeviceType::Email | DeviceType::Sms if state.codes.is_empty() => {
            return Ok(Checked::Wrong(Reason::NothingToCheck));
        }
        DeviceType::Email | DeviceType::Sms => {
            let given = ctx.keys.code_digest(device.id, code);
            let mut matched = None;
            for open in &state.codes {
                if bool::from(given.ct_eq(&open.digest)) {
                    matched = Some(SuccessGuard::Code { challenge: open.challenge, digest: &open.digest });
                }
            }
            matched
        }
        DeviceType::Pin => state
            .pin_hash
            .as_deref()
            .filter(|hash| crypto::verify_password(code, hash))
            .map(SuccessGuard::Pin),
    };
    Ok(guard.map_or(Checked::Wrong(Reason::WrongResponse), Checked::Matches))
}

/// Checks an answer against a device. The slow checks (argon2 for a PIN) run before any write;
/// the compare-and-set of a success, or the counted failure, and its audit row then commit
/// together.
pub fn respond(ctx: &Context<'_>, state: &ChallengeState, code: &str) -> Result<Responded, DomainError> {
    respond_any(ctx, std::slice::from_ref(state), code)
}

/// Checks an answer against each of `states` (likeliest first) until one accepts it: the first
/// that matches records the success; when none does, one failure is counted, on the first
/// device that could be checked (SPEC §14: a wrong response counts one failure, not one per
/// device). When none can be checked now, nothing is counted and the first one's reason is
/// the answer.
pub fn respond_any(
    ctx: &Context<'_>,
    states: &[ChallengeState],
    code: &str,
) -> Result<Responded, DomainError> {
    let mut counted: Option<(&ChallengeState, Reason)> = None;
    let mut refusal = None;
    for state in states {
        match check(ctx, state, code)? {
            Checked::NotCheckable { reason, locked, why } => {
                refusal.get_or_insert((state, reason, locked, why));
            }
            Checked::Wrong(reason) => {
                counted.get_or_insert((state, reason));
            }
            Checked::Matches(guard) => {
                let validation = ctx.store.validation();
                let device = state.device.id;
                match validation.record_success(device, guard)? {
                    Some(won) => {
                        // A token handed out is activated by its first success (SPEC §19).
                        if state.imported && state.device.status == Status::Created {
                            ctx.store.write(|tx| tx.activate_device(device))?;
                        }
                        return Ok(Responded {
                            verdict: Verdict::Accepted,
                            device: Some(device),
                            ping: won.ping,
                        });
                    }
                    // A code that matched but lost its compare-and-set (a concurrent request used
                    // it, or the device changed meanwhile) is a failure, counted below.
                    None => {
                        counted = Some((state, Reason::WrongResponse));
                        break;
                    }
                }
            }
        }
    }
    let Some((state, wrong)) = counted else {
        let Some((state, reason, locked, why)) = refusal else {
            return Ok(Responded::refused(Reason::NothingToCheck, false));
        };
        ctx.store.write(|tx| {
            tx.attempt(AuditAction::ChallengeRefused, state.device.id, &format!("not checked: {why}"))
        })?;
        return Ok(Responded::refused(reason, locked));
    };
    let device = state.device.id;
    let validation = ctx.store.validation();
    Ok(match validation.record_failure(device, ctx.settings.max_fails)? {
        Some(status) => Responded::refused(wrong, status == Status::Locked),
        // The device left C/V (or its owner or authenticator changed) meanwhile: nothing was
        // counted; say why from its state now.
        None => match ctx.store.challenge_state(device)? {
            Some(now_state) => match not_checkable(&now_state) {
                Some((reason, locked, _)) => Responded::refused(reason, locked),
                None => Responded::refused(wrong, false),
            },
            None => Responded::refused(Reason::NothingToCheck, false),
        },
    })
}
