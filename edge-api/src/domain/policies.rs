//! Authenticator policies (SPEC §18): created (with a code assigned when the client leaves it
//! out), replaced and deleted; a kind keeps one default, and a policy in use stays.

use super::{DomainError, IfMatch, Scope, Written, delete_versioned, update_versioned};
use crate::crypto;
use crate::store::PolicyRefused;
use serde_json::Value;
use shared::Problem;
use shared::model::etag_version;
use shared::policy::{ASSIGNED_PREFIX, Policy, PolicyData, validate_policy};
use shared::schema::POLICY;

fn version_of(policy: &Policy) -> i64 {
    etag_version(&policy.meta.version).unwrap_or(0)
}

fn refused(refusal: PolicyRefused, code: &str) -> DomainError {
    match refusal {
        PolicyRefused::CodeTaken => DomainError::PolicyTaken(code.to_owned()),
        PolicyRefused::IsDefault => DomainError::DefaultPolicy(code.to_owned()),
        PolicyRefused::InUse(authenticators) => {
            DomainError::PolicyInUse { code: code.to_owned(), authenticators }
        }
        PolicyRefused::Stale => DomainError::Conflict,
    }
}

/// The tenant's policy `code`.
pub fn find(scope: &Scope<'_>, code: &str) -> Result<Policy, DomainError> {
    scope.store.get_policy(code)?.ok_or_else(|| DomainError::NoPolicy(code.to_owned()))
}

/// A code for a create that leaves `id` out, as RFC 7643 §3.1 has the service assign ids.
fn assigned_code() -> Result<String, DomainError> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut random = [0u8; 10];
    crypto::fill_random(&mut random).map_err(DomainError::Internal)?;
    let tail: String =
        random.iter().map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()])).collect();
    Ok(format!("{ASSIGNED_PREFIX}{tail}"))
}

/// A new policy from a create body.
pub fn create(scope: &Scope<'_>, mut body: Value) -> Result<Policy, DomainError> {
    if let Some(object) = body.as_object_mut()
        && !object.keys().any(|k| POLICY.strip_urn(k).eq_ignore_ascii_case("id"))
    {
        object.insert("id".into(), assigned_code()?.into());
    }
    let data = validate_policy(&body, None, &scope.settings.policy_defaults())?;
    let created = scope.store.write(|tx| tx.create_policy(&data))?;
    created.map_err(|refusal| refused(refusal, &data.code))
}

/// A replace (PUT) or PATCH: `data_of` the current policy, written at its version.
pub fn update(
    scope: &Scope<'_>,
    code: &str,
    expected: Option<&IfMatch>,
    data_of: impl Fn(&Policy) -> Result<PolicyData, Problem>,
) -> Result<Policy, DomainError> {
    update_versioned(
        expected,
        || find(scope, code),
        version_of,
        |current, version| {
            let data = data_of(current)?;
            let written = scope.store.write(|tx| tx.replace_policy(current, version, &data))?;
            match written {
                Ok(policy) => Ok(Written::Done(policy)),
                Err(PolicyRefused::Stale) => Ok(Written::Stale),
                Err(refusal) => Err(refused(refusal, code)),
            }
        },
    )
}

/// Deletes the policy, unless it is its kind's default or authenticators are bound to it.
pub fn delete(scope: &Scope<'_>, code: &str, expected: Option<&IfMatch>) -> Result<(), DomainError> {
    let current = find(scope, code)?;
    delete_versioned(expected, version_of(&current), DomainError::NoPolicy(code.to_owned()), |at| match scope
        .store
        .write(|tx| tx.delete_policy(&current, at))?
    {
        Ok(()) => Ok(true),
        Err(PolicyRefused::Stale) => Ok(false),
        Err(refusal) => Err(refused(refusal, code)),
    })
}
