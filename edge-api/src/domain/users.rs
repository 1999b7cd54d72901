//! Users (SPEC §17): created, replaced and deleted (with their devices) in one write each.

use super::{DomainError, IfMatch, Scope, Written, delete_versioned, update_versioned};
use crate::store::UserRefused;
use shared::model::etag_version;
use shared::user::UserData;
use shared::{Problem, User};

fn version_of(user: &User) -> i64 {
    etag_version(&user.meta.version).unwrap_or(0)
}

/// The tenant's user `id`.
pub fn find(scope: &Scope<'_>, id: i64) -> Result<User, DomainError> {
    scope.store.get_user(id)?.ok_or_else(|| DomainError::NoUser(id.to_string()))
}

/// A new user; its userName is unique in the tenant, whatever its case.
pub fn create(scope: &Scope<'_>, data: &UserData) -> Result<User, DomainError> {
    match scope.store.write(|tx| tx.create_user(data))? {
        Ok(user) => Ok(user),
        Err(UserRefused::NameTaken(existing)) => Err(DomainError::UserNameTaken { existing }),
        Err(UserRefused::Stale) => Err(DomainError::Conflict),
    }
}

/// A replace (PUT) or PATCH: `data_of` the current user, written at its version.
pub fn update(
    scope: &Scope<'_>,
    id: i64,
    expected: Option<&IfMatch>,
    data_of: impl Fn(&User) -> Result<UserData, Problem>,
) -> Result<User, DomainError> {
    update_versioned(
        expected,
        || find(scope, id),
        version_of,
        |current, version| {
            let data = data_of(current)?;
            let written = scope.store.write(|tx| tx.replace_user(current, version, &data))?;
            match written {
                Ok(user) => Ok(Written::Done(user)),
                Err(UserRefused::NameTaken(existing)) => Err(DomainError::UserNameTaken { existing }),
                Err(UserRefused::Stale) => Ok(Written::Stale),
            }
        },
    )
}

/// Deletes the user and, in the same transaction, its devices and authenticators, each audited.
pub fn delete(scope: &Scope<'_>, id: i64, expected: Option<&IfMatch>) -> Result<(), DomainError> {
    let current = find(scope, id)?;
    delete_versioned(expected, version_of(&current), DomainError::NoUser(id.to_string()), |at| {
        Ok(scope.store.write(|tx| tx.delete_user(&current, at))?)
    })
}
