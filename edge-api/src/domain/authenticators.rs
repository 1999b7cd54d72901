//! Authenticators (SPEC §14): created for an owner and a policy with the credential of the
//! policy's kind (a device enrolled with the policy's parameters, a password, answers), replaced,
//! and deleted with their devices, each in one transaction.

use super::DomainError;
use super::devices;
use super::{IfMatch, Scope, Written};
use crate::crypto;
use crate::store::{ActionTarget, AuthenticatorRefused, AuthenticatorRow, ChallengeState, StoredAnswer};
use shared::Problem;
use shared::authenticator::{Enrollment, authenticator_id};
use shared::authenticator_body::{AuthenticatorBody, Current, Owner, check_body};
use shared::model::etag_version;
use shared::policy::Policy;
use shared::validate::{NewDevice, email_address, phone_number};
use shared::{DeviceType, Timestamp};

/// A created authenticator, and what its create answers once.
pub struct Created {
    pub row: AuthenticatorRow,
    pub enrollment: Option<Enrollment>,
}

/// REGISTER-OOB's part of a create: the device type it names, and its activation code.
pub struct OobRegistration<'a> {
    pub device_type: DeviceType,
    pub activation_code: &'a str,
}

/// The tenant's policy `code`; a code that names none is the body's error (HID's `AT_LDAP`
/// pass-through among them).
fn policy_named(scope: &Scope<'_>, code: &str) -> Result<Policy, DomainError> {
    scope.store.get_policy(code)?.ok_or_else(|| {
        DomainError::Invalid(Problem::invalid(
            "policy.value",
            "names no authenticator policy of this tenant (LDAP pass-through is not supported)",
        ))
    })
}

fn hashed_answers(answers: &[(String, String)]) -> Result<Vec<StoredAnswer>, DomainError> {
    answers
        .iter()
        .map(|(prompt, answer)| {
            Ok(StoredAnswer {
                prompt: prompt.clone(),
                hash: crypto::hash_password(answer).map_err(DomainError::Internal)?,
            })
        })
        .collect()
}

/// The device a create enrols for the policy's kind, its user named later.
fn new_device(scope: &Scope<'_>, policy: &Policy, password: Option<&str>) -> Option<NewDevice> {
    let device_type = policy.kind.device_type()?;
    let params = policy.device_params(&scope.settings.defaults);
    Some(NewDevice {
        device_type,
        user: String::new(),
        external_id: None,
        email: None,
        phone: None,
        pin: password.map(str::to_owned),
        algorithm: device_type.has_seed().then_some(params.algorithm),
        digits: (device_type != DeviceType::Pin).then_some(params.digits),
        period: (device_type == DeviceType::Totp).then_some(params.period),
    })
}

pub fn create(
    scope: &Scope<'_>,
    body: AuthenticatorBody,
    oob: Option<&OobRegistration<'_>>,
) -> Result<Created, DomainError> {
    let code = body.policy.clone().ok_or(Problem::MissingAttribute("policy.value"))?;
    let owner = body.owner.clone().ok_or(Problem::MissingAttribute("owner.value"))?;
    let policy = policy_named(scope, &code)?;
    if let Some(oob) = oob
        && policy.kind.device_type() != Some(oob.device_type)
    {
        return Err(Problem::invalid(
            "OOB_DEVICETYPE_CODE",
            "does not match the policy's kind (DT_OOBEML for OOB_EMAIL, DT_OOBSMS for OOB_SMS)",
        )
        .into());
    }
    let data = check_body(body, &policy, None, Timestamp(scope.now()))?;
    let answers = data.answers.as_deref().map(hashed_answers).transpose()?.unwrap_or_default();
    let template = new_device(scope, &policy, data.password.as_deref());
    let prepared = template.as_ref().map(|new| devices::prepare(scope, new)).transpose()?;
    let (row, device) = scope.store.write(|tx| {
        let (user_id, user_name) = match &owner {
            Owner::Id(id) => tx.user_by_id(*id)?.ok_or_else(|| {
                DomainError::Invalid(Problem::invalid("owner.value", "names no user of this tenant"))
            })?,
            Owner::UserName(name) => tx.user_named(name)?,
        };
        let row_id = match tx.create_authenticator(user_id, &policy.id, &data, &answers)? {
            Ok(row_id) => row_id,
            Err(AuthenticatorRefused::Taken | AuthenticatorRefused::Stale) => {
                return Err(DomainError::AuthenticatorTaken(authenticator_id(user_id, &policy.id)));
            }
        };
        let device = match (&template, &prepared) {
            (Some(template), Some(prepared)) => {
                let mut new = template.clone();
                new.user = user_name;
                match new.device_type {
                    DeviceType::Email | DeviceType::Sms => {
                        let contact = tx.primary_contact(user_id, new.device_type)?.ok_or_else(|| {
                            DomainError::Invalid(Problem::invalid(
                                "owner",
                                "has no email address or phone number for this policy's kind",
                            ))
                        })?;
                        // Checked as `/OtpDevice` checks `email` and `phone` (SPEC §14): a
                        // value stored before that rule was may not be one destination.
                        match new.device_type {
                            DeviceType::Email => new.email = Some(email_address("owner.emails", &contact)?),
                            _ => new.phone = Some(phone_number("owner.phoneNumbers", &contact)?),
                        }
                    }
                    _ => {}
                }
                // One EMAIL or SMS device per address, whichever view creates it. A user may have
                // a password per PASSWORD policy (HID's employee and customer passwords).
                if new.device_type.is_oob()
                    && let Some(existing) = tx.find_duplicate(&new)?
                {
                    return Err(DomainError::Duplicate { existing });
                }
                let device = tx.create_device(&new, &prepared.secrets, Some((row_id, &policy.id)))?;
                if let Some(oob) = oob {
                    let digest = scope.keys.code_digest(device.id, oob.activation_code);
                    tx.set_activation_code(
                        row_id,
                        device.id,
                        &digest,
                        scope.now() + super::actions::ACTIVATION_TTL,
                    )?;
                }
                Some(device)
            }
            _ => None,
        };
        let row = scope
            .store
            .get_authenticator(user_id, &policy.id)?
            .ok_or_else(|| DomainError::Internal("an authenticator just created is not found".into()))?;
        Ok((row, device))
    })?;
    let enrollment = match (&device, prepared.as_ref().and_then(|p| p.seed.as_ref())) {
        (Some(device), Some(seed)) => {
            let (uri, image) = devices::enrollment(scope, device, seed)?.unzip();
            Some(Enrollment { device_id: device.id, otpauth_uri: uri, image, activation_code: None })
        }
        // REGISTER-OOB's code is also at the top level, where the seed's 201 shows it.
        (Some(device), None) => Some(Enrollment {
            device_id: device.id,
            otpauth_uri: None,
            image: None,
            activation_code: oob.map(|o| o.activation_code.to_owned()),
        }),
        _ => None,
    };
    Ok(Created { row, enrollment })
}

/// The tenant's authenticator `<user>.<policy>`.
pub fn find(scope: &Scope<'_>, user_id: i64, policy: &str) -> Result<AuthenticatorRow, DomainError> {
    scope
        .store
        .get_authenticator(user_id, policy)?
        .ok_or_else(|| DomainError::NoAuthenticator(authenticator_id(user_id, policy)))
}

/// The authenticator of `user_id` for `policy` as a named action acts on it, with its devices
/// as a check reads them, in one read: what a named action checks.
pub fn action_target(
    scope: &Scope<'_>,
    user_id: i64,
    policy: &str,
) -> Result<(ActionTarget, Vec<ChallengeState>), DomainError> {
    scope
        .store
        .action_target(user_id, policy)?
        .ok_or_else(|| DomainError::NoAuthenticator(authenticator_id(user_id, policy)))
}

fn version_of(row: &AuthenticatorRow) -> i64 {
    etag_version(&row.meta.version).unwrap_or(0)
}

/// A replace: the body (made from the current row: a PATCH applies to it) against the current
/// row and its policy, written if the authenticator is still at the version read
/// ([`super::update_versioned`]).
pub fn replace(
    scope: &Scope<'_>,
    user_id: i64,
    policy_code: &str,
    expected: Option<&IfMatch>,
    body: impl Fn(&AuthenticatorRow) -> Result<AuthenticatorBody, DomainError>,
) -> Result<AuthenticatorRow, DomainError> {
    let policy = policy_named(scope, policy_code)?;
    let read = || find(scope, user_id, policy_code);
    super::update_versioned(expected, read, version_of, |current, version| {
        let body = body(current)?;
        refuse_immutable(&body, current)?;
        // `status.status` as it reads: DISABLED while failures lock it, though still enabled.
        let shown = current.shown_enabled();
        let state =
            Current { enabled: shown, start_date: current.start_date, expiry_date: current.expiry_date };
        let mut data = check_body(body, &policy, Some(&state), Timestamp(scope.now()))?;
        // Written as it reads, it changes nothing (a PATCH of the dates carries it along);
        // ENABLED on one shown DISABLED enables it and ends a lockout, as RESET does.
        let reset = data.enabled && !shown && current.disabled_by_failures;
        if data.enabled == shown {
            data.enabled = current.enabled;
        }
        let answers = data.answers.as_deref().map(hashed_answers).transpose()?;
        let pin_hash =
            data.password.as_deref().map(crypto::hash_password).transpose().map_err(DomainError::Internal)?;
        let written = scope.store.write(|tx| {
            tx.update_authenticator(current, version, &data, reset, answers.as_deref(), pin_hash.as_deref())
        })?;
        match written {
            Ok(()) => find(scope, user_id, policy_code).map(Written::Done),
            Err(_) => Ok(Written::Stale),
        }
    })
}

/// `owner` and `policy` are immutable: a replace may repeat them, not change them.
fn refuse_immutable(body: &AuthenticatorBody, current: &AuthenticatorRow) -> Result<(), Problem> {
    let same_owner = match &body.owner {
        None => true,
        Some(Owner::Id(id)) => *id == current.user_id,
        Some(Owner::UserName(name)) => name.eq_ignore_ascii_case(&current.user_name),
    };
    if !same_owner {
        return Err(Problem::Mutability { attribute: "owner" });
    }
    if body.policy.as_ref().is_some_and(|p| *p != current.policy) {
        return Err(Problem::Mutability { attribute: "policy" });
    }
    Ok(())
}

/// Deletes the authenticator and its devices; `If-Match` (`expected`) must name its version.
pub fn delete(
    scope: &Scope<'_>,
    user_id: i64,
    policy: &str,
    expected: Option<&IfMatch>,
) -> Result<(), DomainError> {
    let current = find(scope, user_id, policy)?;
    let version = version_of(&current);
    super::check_version(expected, version)?;
    let deleted =
        scope.store.write(|tx| tx.delete_authenticator(&current.target(), expected.map(|_| version)))?;
    match (deleted, expected) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(expected)) => Err(expected.stale()),
        (Err(_), None) => Err(DomainError::NoAuthenticator(authenticator_id(user_id, policy))),
    }
}
