//! The rules both dialects share, with no HTTP and no dialect in them: how a device is enrolled
//! (`devices`), how an authenticator is created, changed and deleted (`authenticators`), what
//! its named actions do (`actions`), and validation itself (`validation`: SPEC §6 and §14, the
//! one place both dialects meet). Soffid's and HID's handlers only map their wire shapes onto
//! these.

pub mod actions;
pub mod authenticators;
pub mod devices;
pub mod validation;

use crate::crypto::Keys;
use crate::db::Database;
use crate::settings::Settings;
use crate::store::Actor;

/// What a rule works with: the store, the settings and keys, who acts for which tenant, and when.
pub struct Scope<'a> {
    pub db: &'a dyn Database,
    pub settings: &'a Settings,
    pub keys: &'a Keys,
    pub actor: Actor<'a>,
    pub now: i64,
}

/// 412 when `If-Match` (`expected`) does not name `version`.
pub fn check_version(expected: Option<&String>, version: i64) -> Result<(), crate::error::ApiError> {
    match expected {
        Some(header) if !matches_version(header, version) => {
            Err(crate::error::ApiError::Stale { version: header.clone() })
        }
        _ => Ok(()),
    }
}

/// Whether an `If-Match` header names `version` (weak or strong, in a list).
pub fn matches_version(header: &str, version: i64) -> bool {
    let current = shared::model::etag(version);
    header.split(',').map(str::trim).any(|tag| tag == current || format!("W/{tag}") == current)
}
