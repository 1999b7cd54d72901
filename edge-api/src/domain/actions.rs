//! What an authenticator's validations do (SPEC §14), with no wire in them: issue a
//! challenge (a code sent to a device, a device's turn, random security questions), verify a
//! response or answers, reset a lockout, register and unregister an OOB device. A device's own
//! rules (SPEC §6: single use, replay, look-ahead, lockout) are [`super::validation`]'s, the same
//! for both dialects.

use super::DomainError;
use super::Scope;
use super::validation::{self, Context, Opening, Requested, Verdict};
use crate::crypto;
use crate::host::{CibaPing, Deliver, Notify};
use crate::store::{ActionTarget, Answered, ChallengeKind, ChallengeState, Ping};
use shared::action::{Correlation, masked};
use shared::audit::AuditAction;
use shared::authenticator::{Reason, authenticator_id};
use shared::authenticator_body::normalize_answer;
use shared::policy::{PolicyKind, Prompt};
use shared::standing::Inactive;
use shared::{DeviceType, Problem, Status};

/// Which of an authenticator's devices an action means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceChoice {
    /// A challenge goes to the likeliest (a usable one, with a code pending, the most recently
    /// used); a VERIFY tries each.
    Any,
    Id(i64),
    /// Its `externalId`, else its name (the serial number HID calls external id).
    Named(String),
    Type(DeviceType),
}

/// Whose authenticator a named action means.
pub enum Owner<'a> {
    /// HID's `USER.EXTERNALID`: the user's SCIM `externalId`, else a userName.
    ExternalId(&'a str),
    Id(i64),
    /// The owner of this device.
    OfDevice(i64),
    Unknown,
}

/// The user `owner` names, if there is one.
pub fn owner_id(scope: &Scope<'_>, owner: &Owner<'_>) -> Result<Option<i64>, DomainError> {
    let store = scope.store;
    Ok(match owner {
        Owner::ExternalId(value) => store.user_id_by_external_id(value)?,
        Owner::Id(id) => Some(*id),
        Owner::OfDevice(device) => match store.get_device(*device)? {
            Some(device) => store.user_id_by_name(&device.user)?.map(|(id, _)| id),
            None => None,
        },
        Owner::Unknown => None,
    })
}

/// An issued challenge: what `CHALLENGE` shows and its id.
pub struct Issued {
    pub challenge: String,
    pub id: i64,
}

/// Why no challenge was issued, and for a send budget, in how many seconds one could be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Declined {
    pub reason: Reason,
    pub retry_after: Option<i64>,
}

impl From<Reason> for Declined {
    fn from(reason: Reason) -> Declined {
        Declined { reason, retry_after: None }
    }
}

/// The first of `states` (likeliest first) that `choice` means.
fn pick(states: Vec<ChallengeState>, choice: &DeviceChoice) -> Option<ChallengeState> {
    states.into_iter().find(|state| {
        let d = &state.device;
        match choice {
            DeviceChoice::Any => true,
            DeviceChoice::Id(id) => d.id == *id,
            DeviceChoice::Named(name) => {
                d.external_id.as_deref().unwrap_or(&d.name) == name || d.name == *name
            }
            DeviceChoice::Type(t) => d.device_type == *t,
        }
    })
}

/// Why the authenticator itself cannot be validated now (its owner inactive, or its own
/// refusal: `shared::standing`'s order), and whether that is a lockout.
fn refused_now(row: &ActionTarget) -> Option<(Reason, bool)> {
    Inactive::of(row.user_active, row.refusal, true).map(|why| (why.reason(), why.locked()))
}

/// A uniformly random index below `n` (rejection sampling over a `u32`).
fn random_below(n: usize) -> Result<usize, DomainError> {
    let n = u32::try_from(n).map_err(|_| DomainError::Internal("too many prompts".into()))?;
    let zone = u32::MAX - u32::MAX % n;
    loop {
        let mut bytes = [0u8; 4];
        crypto::fill_random(&mut bytes).map_err(DomainError::Internal)?;
        let x = u32::from_be_bytes(bytes);
        if x < zone {
            return Ok((x % n) as usize);
        }
    }
}

/// What a challenge sends besides its code: a transaction's text and the CIBA ping its
/// success owes (DELIVER-CHALLENGE), or nothing.
pub struct Transaction<'a> {
    pub note: Option<&'a str>,
    pub ping: Option<Ping>,
}

/// USER-, DEVICE- and DELIVER-CHALLENGE (with `transaction`): a challenge for the
/// authenticator, or why not.
pub fn challenge(
    ctx: &Context<'_>,
    deliver: Deliver<'_>,
    row: &ActionTarget,
    devices: Vec<ChallengeState>,
    choice: &DeviceChoice,
    transaction: Option<Transaction<'_>>,
) -> Result<Result<Issued, Declined>, DomainError> {
    let identity = authenticator_id(row.user_id, &row.policy);
    if row.kind == Some(PolicyKind::SecurityQuestion) {
        if let Some((reason, _)) = refused_now(row) {
            ctx.store.write(|tx| {
                tx.audit_authenticator(
                    AuditAction::RequestChallenge,
                    row,
                    &format!("{identity}: nothing asked"),
                )
            })?;
            return Ok(Err(reason.into()));
        }
        let policy = ctx
            .store
            .get_policy(&row.policy)?
            .ok_or_else(|| DomainError::NoAuthenticator(identity.clone()))?;
        // A random choice of the prompts the user answered, as many as the policy asks, unless
        // a challenge asking others is still open.
        let mut pool: Vec<&str> = row.answers.iter().map(|a| a.prompt.as_str()).collect();
        let asked = (policy.prompts_asked_at_validation.unwrap_or(1) as usize).min(pool.len());
        let mut fresh: Vec<String> = Vec::with_capacity(asked);
        for _ in 0..asked {
            fresh.push(pool.swap_remove(random_below(pool.len())?).to_owned());
        }
        let expires = ctx.now() + ctx.settings.challenge_ttl;
        let open = ctx.store.write(|tx| tx.questions_challenge(row, expires, fresh.clone()))?;
        let shown: Vec<Prompt> = open
            .prompts
            .iter()
            .map(|code| Prompt {
                value: code.clone(),
                display: policy
                    .prompts
                    .iter()
                    .find(|p| p.value == *code)
                    .map_or_else(String::new, |p| p.display.clone()),
            })
            .collect();
        let text = serde_json::to_string(&shown).map_err(|e| DomainError::Internal(e.to_string()))?;
        return Ok(Ok(Issued { challenge: text, id: open.id }));
    }
    let Some(state) = pick(devices, choice) else {
        return Ok(Err(Reason::NothingToCheck.into()));
    };
    let opening = match transaction {
        Some(t) => {
            Opening { kind: ChallengeKind::Transaction, note: t.note, ping: t.ping, issued_by: Some(row) }
        }
        None => Opening { kind: ChallengeKind::Plain, note: None, ping: None, issued_by: Some(row) },
    };
    Ok(match validation::request(ctx, &state, deliver, &opening) {
        Ok(Requested::Sent { to, challenge }) => Ok(Issued { challenge: masked(&to), id: challenge }),
        Ok(Requested::NothingToSend { challenge: Some(id) }) => Ok(Issued { challenge: String::new(), id }),
        Ok(Requested::NothingToSend { challenge: None }) => {
            return Err(DomainError::Internal("a device's turn opened no challenge".into()));
        }
        Ok(Requested::Refused(reason)) => Err(reason.into()),
        Ok(Requested::OverBudget { retry_after }) => {
            Err(Declined { reason: Reason::SendBudget, retry_after: Some(retry_after) })
        }
        Ok(Requested::Undelivered) => Err(Reason::DeliveryFailed.into()),
        Err(error) => return Err(error),
    })
}

/// DELIVER-CHALLENGE (OOB kinds): a code sent with a transaction's text (`tds`); with a CIBA
/// correlation id, the client's bearer token is sealed at rest and a ping is owed to its
/// `auth_req_id` after a VERIFY of this challenge's code (SPEC §14).
pub fn deliver(
    ctx: &Context<'_>,
    deliver: Deliver<'_>,
    row: &ActionTarget,
    devices: Vec<ChallengeState>,
    choice: &DeviceChoice,
    note: Option<&str>,
    correlation: Option<Correlation>,
) -> Result<Result<Issued, Declined>, DomainError> {
    if !row.kind.is_some_and(PolicyKind::is_oob) {
        return Err(Problem::invalid(
            "action",
            "DELIVER-CHALLENGE applies to OOB_EMAIL and OOB_SMS authenticators",
        )
        .into());
    }
    let ping = match correlation {
        Some(Correlation::Ciba { token, auth_req_id }) => {
            if ctx.settings.ciba_notification.is_none() {
                return Err(Problem::invalid(
                    "correlationid",
                    "asks for a CIBA ping, and ciba_notification_url is not set",
                )
                .into());
            }
            let sealed_token = token
                .as_deref()
                .map(|t| ctx.keys.seal_token(t))
                .transpose()
                .map_err(DomainError::Internal)?;
            Some(Ping { sealed_token, auth_req_id })
        }
        Some(Correlation::Plain(_)) | None => None,
    };
    challenge(ctx, deliver, row, devices, choice, Some(Transaction { note, ping }))
}

/// Sends the CIBA ping a verification owes (OpenID CIBA ping mode): `{"auth_req_id"}` with the
/// client's bearer token. A failure is logged and audited, and the verification stands.
fn send_ping(ctx: &Context<'_>, notify: Notify<'_>, row: &ActionTarget, ping: &Ping) {
    let Some(webhook) = &ctx.settings.ciba_notification else { return };
    let token = ping.sealed_token.as_deref().and_then(|blob| ctx.keys.open_token(blob));
    let sent = notify(webhook, &CibaPing { token, auth_req_id: ping.auth_req_id.clone() });
    let detail = match &sent {
        Ok(()) => format!("auth_req_id {} to {}", ping.auth_req_id, webhook.host),
        Err(reason) => {
            (ctx.log)(&format!(
                "CIBA ping for {} to {} failed: {reason}",
                authenticator_id(row.user_id, &row.policy),
                webhook.host
            ));
            format!("auth_req_id {} to {} failed: {reason}", ping.auth_req_id, webhook.host)
        }
    };
    let action = if sent.is_ok() { AuditAction::CibaPing } else { AuditAction::CibaPingFailed };
    let audited = ctx.store.write(|tx| tx.audit_authenticator(action, row, &detail));
    if let Err(error) = audited {
        (ctx.log)(&format!("CIBA ping audit not written: {error}"));
    }
}

/// What VERIFY is given.
pub struct Response<'a> {
    pub challenge: Option<i64>,
    pub device: DeviceChoice,
    /// A code or a password.
    pub response: Option<&'a str>,
    /// Security-question answers by prompt code.
    pub answers: Vec<(&'a str, &'a str)>,
}

/// What VERIFY came to: the verdict, and the device that succeeded.
pub struct Verified {
    pub verdict: Verdict,
    pub device: Option<i64>,
}

fn refused(reason: Reason, locked: bool) -> Verified {
    Verified { verdict: Verdict::Refused { reason, locked }, device: None }
}

/// VERIFY: the response checked with the rules of the authenticator's kind, counted in both
/// views. With `CHALLENGE.ID` it answers that challenge alone (a code answers only the
/// challenge that sent it); with `DEVICE.ID` (or a name or type) that device's open codes; with
/// neither, every device of the authenticator is tried.
/// The CIBA ping the challenge it answered owes goes out after the success is committed.
pub fn verify(
    ctx: &Context<'_>,
    notify: Notify<'_>,
    row: &ActionTarget,
    devices: Vec<ChallengeState>,
    given: &Response<'_>,
) -> Result<Verified, DomainError> {
    if row.kind == Some(PolicyKind::SecurityQuestion) {
        return answer(ctx, row, given);
    }
    let mut states = devices;
    if let Some(id) = given.challenge {
        let open = ctx.store.open_challenge(row.row_id, Some(id))?;
        let Some(device) = open.and_then(|c| c.device_id) else {
            return no_such_challenge(ctx, row);
        };
        states.retain(|state| state.device.id == device);
        for state in &mut states {
            state.codes.retain(|open| open.challenge == id);
        }
    } else if given.device != DeviceChoice::Any {
        states = pick(states, &given.device).into_iter().collect();
    }
    if states.is_empty() {
        return Ok(refused(Reason::NothingToCheck, false));
    }
    let response = validation::response_text(given.response).ok_or(Problem::MissingAttribute("RESPONSE"))?;
    let responded = validation::respond_any(ctx, &states, response)?;
    let (Verdict::Accepted, Some(device)) = (responded.verdict, responded.device) else {
        return Ok(Verified { verdict: responded.verdict, device: None });
    };
    let mut pings: Vec<Ping> = responded.ping.into_iter().collect();
    // A new device is enabled by its first success, and a device's turn it answered closes
    // (a code's challenge closed with its success). With neither, as in most VERIFYs, nothing
    // more is written.
    let created = states.iter().any(|s| s.device.id == device && s.device.status == Status::Created);
    let turn = given.challenge.filter(|_| states.iter().all(|s| s.codes.is_empty()));
    if created || turn.is_some() {
        let closed = ctx.store.write(|tx| {
            tx.activate_device(device)?;
            turn.map(|id| tx.close_challenge(device, id)).transpose().map(Option::flatten)
        })?;
        pings.extend(closed);
    }
    for ping in &pings {
        send_ping(ctx, notify, row, ping);
    }
    Ok(Verified { verdict: Verdict::Accepted, device: Some(device) })
}

/// A `CHALLENGE.ID` that names no open challenge of the authenticator: refused, and audited.
fn no_such_challenge(ctx: &Context<'_>, row: &ActionTarget) -> Result<Verified, DomainError> {
    let identity = authenticator_id(row.user_id, &row.policy);
    ctx.store.write(|tx| {
        tx.audit_authenticator(
            AuditAction::ChallengeRefused,
            row,
            &format!("{identity}: no such open challenge"),
        )
    })?;
    Ok(refused(Reason::NothingToCheck, false))
}

/// VERIFY of a security-question authenticator: the answers to the prompts its open challenge
/// asked.
fn answer(ctx: &Context<'_>, row: &ActionTarget, given: &Response<'_>) -> Result<Verified, DomainError> {
    let identity = authenticator_id(row.user_id, &row.policy);
    let open = ctx.store.open_challenge(row.row_id, given.challenge)?;
    if given.challenge.is_some() && open.is_none() {
        return no_such_challenge(ctx, row);
    }
    if let Some((reason, locked)) = refused_now(row) {
        ctx.store.write(|tx| {
            tx.audit_authenticator(AuditAction::ChallengeRefused, row, &format!("{identity}: not checked"))
        })?;
        return Ok(refused(reason, locked));
    }
    let Some(open) = open.filter(|c| c.kind == ChallengeKind::Questions) else {
        return Ok(refused(Reason::NothingToCheck, false));
    };
    // Every asked prompt is checked (no early exit): a right answer costs what a wrong one
    // does. An answer to a prompt not asked counts for nothing.
    let mut right = !open.prompts.is_empty();
    for prompt in &open.prompts {
        let answer = given.answers.iter().find(|(p, _)| p.eq_ignore_ascii_case(prompt)).map(|(_, a)| *a);
        let stored = row.answers.iter().find(|a| a.prompt == *prompt);
        let matches = match (answer, stored) {
            (Some(answer), Some(stored)) => crypto::verify_password(&normalize_answer(answer), &stored.hash),
            _ => false,
        };
        right &= matches;
    }
    let answered = ctx.store.write(|tx| tx.answer_questions(row, open.id, right))?;
    Ok(match answered {
        Answered::Counted { won: true, .. } => Verified { verdict: Verdict::Accepted, device: None },
        Answered::Counted { won: false, locked } => refused(Reason::WrongResponse, locked),
        Answered::Refused => {
            let now = ctx.store.get_authenticator(row.user_id, &row.policy)?;
            let (reason, locked) = now
                .map(|row| row.target())
                .as_ref()
                .and_then(refused_now)
                .unwrap_or((Reason::NothingToCheck, false));
            refused(reason, locked)
        }
    })
}

/// RESET: the lockout by failures ends (consecutive failures 0, its locked devices V).
pub fn reset(ctx: &Context<'_>, row: &ActionTarget) -> Result<(), DomainError> {
    Ok(ctx.store.write(|tx| tx.reset_authenticator(row))?)
}

/// The activation code of REGISTER-OOB: the one given (4–10 digits) or 6 random digits.
pub fn activation_code(given: Option<&str>) -> Result<String, DomainError> {
    match given {
        Some(code) if (4..=10).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(code.to_owned())
        }
        Some(_) => Err(Problem::invalid("activationCode", "is 4 to 10 digits").into()),
        None => validation::random_code(6),
    }
}

/// How long an activation code stays usable: a week, unless a challenge replaces it first.
pub const ACTIVATION_TTL: i64 = 7 * 24 * 3600;

/// UNREGISTER-OOB: the OOB authenticator and its devices go.
pub fn unregister(ctx: &Context<'_>, row: &ActionTarget) -> Result<(), DomainError> {
    if !row.kind.is_some_and(PolicyKind::is_oob) {
        return Err(Problem::invalid(
            "action",
            "UNREGISTER-OOB applies to OOB_EMAIL and OOB_SMS authenticators",
        )
        .into());
    }
    ctx.store
        .write(|tx| tx.delete_authenticator(row, None))?
        .map_err(|_| DomainError::NoAuthenticator(authenticator_id(row.user_id, &row.policy)))
}
