//! The rules both dialects share, with no HTTP and no dialect in them: how a device is enrolled
//! (`devices`), how an authenticator is created, changed and deleted (`authenticators`), what
//! its named actions do (`actions`), and validation itself (`validation`: SPEC §6 and §14, the
//! one place both dialects meet). Soffid's and HID's handlers only map their wire shapes onto
//! these.

pub mod actions;
pub mod authenticators;
pub mod devices;
mod error;
pub mod export;
pub mod import;
pub mod oath_devices;
pub mod policies;
pub mod users;
pub mod validation;

use crate::crypto::Keys;
use crate::settings::Settings;
use crate::store::Store;
pub use error::DomainError;

/// What a rule works with: the store as this request sees it (who acts for which tenant, and
/// when), the settings and the keys.
pub struct Scope<'a> {
    pub store: Store<'a>,
    pub settings: &'a Settings,
    pub keys: &'a Keys,
}

impl Scope<'_> {
    /// Unix seconds: the request's clock.
    pub fn now(&self) -> i64 {
        self.store.now()
    }
}

/// An `If-Match` precondition (RFC 7232 §3.1), read at the edge: the versions its entity tags
/// name, and the header as sent, which a 412 repeats. `*` and no header are no precondition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfMatch {
    pub versions: Vec<i64>,
    pub sent: String,
}

impl IfMatch {
    pub fn names(&self, version: i64) -> bool {
        self.versions.contains(&version)
    }

    /// The 412 of a write that found another version.
    pub fn stale(&self) -> DomainError {
        DomainError::Stale { sent: self.sent.clone() }
    }
}

/// 412 when `If-Match` (`expected`) does not name `version`.
pub fn check_version(expected: Option<&IfMatch>, version: i64) -> Result<(), DomainError> {
    match expected {
        Some(expected) if !expected.names(version) => Err(expected.stale()),
        _ => Ok(()),
    }
}

/// A DELETE that loses no concurrent change: at the version `If-Match` names (412 when the row
/// read is at another), any without it. `delete` writes at that version (`None`: any) and says
/// whether it found the row there; a row that moved on meanwhile is 412 naming the version it
/// was read at, one gone meanwhile is `gone`.
pub fn delete_versioned(
    expected: Option<&IfMatch>,
    version: i64,
    gone: DomainError,
    delete: impl FnOnce(Option<i64>) -> Result<bool, DomainError>,
) -> Result<(), DomainError> {
    check_version(expected, version)?;
    let at = expected.map(|_| version);
    match (delete(at)?, at) {
        (true, _) => Ok(()),
        (false, Some(version)) => Err(DomainError::Stale { sent: shared::model::etag(version) }),
        (false, None) => Err(gone),
    }
}

/// What a write at a version did: written, or the row had moved on (nothing written).
pub enum Written<T> {
    Done(T),
    Stale,
}

/// A read, check and write that loses no concurrent change (SPEC §3: "concurrent admins never
/// silently overwrite each other"): `read` the current state, check `If-Match` against its
/// version, `write` at that version. A write that found another version is 412 with `If-Match`;
/// without it, the state is read again and the write tried again, 409 after three tries.
pub fn update_versioned<C, T, E: From<DomainError>>(
    expected: Option<&IfMatch>,
    read: impl Fn() -> Result<C, E>,
    version_of: impl Fn(&C) -> i64,
    mut write: impl FnMut(&C, i64) -> Result<Written<T>, E>,
) -> Result<T, E> {
    for _ in 0..3 {
        let current = read()?;
        let version = version_of(&current);
        check_version(expected, version)?;
        match (write(&current, version)?, expected) {
            (Written::Done(value), _) => return Ok(value),
            (Written::Stale, Some(expected)) => return Err(expected.stale().into()),
            (Written::Stale, None) => continue,
        }
    }
    Err(DomainError::Conflict.into())
}
