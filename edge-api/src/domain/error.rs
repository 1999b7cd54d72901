//! Why a rule refused or failed, with no HTTP in it: [`crate::error`] maps each to a status,
//! a `scimType` and words, in one place (as kanidm maps its `OperationError`).

use crate::db::{DbError, Transient};
use shared::Problem;

#[derive(Debug, Clone, PartialEq)]
pub enum DomainError {
    /// What was asked breaks a rule of the resource (a value, a missing attribute).
    Invalid(Problem),
    /// No device, user, policy or authenticator of the tenant has this id.
    NoDevice(i64),
    /// No TOTP/HOTP device of the tenant has this id (`/Device`).
    NoOathDevice(String),
    NoUser(String),
    NoPolicy(String),
    NoAuthenticator(String),
    /// Another user of the tenant has this userName (its id).
    UserNameTaken {
        existing: i64,
    },
    /// A policy of the tenant has this code already.
    PolicyTaken(String),
    /// The policy is its kind's default: another must become the default first.
    DefaultPolicy(String),
    /// Authenticators are bound to the policy (how many).
    PolicyInUse {
        code: String,
        authenticators: u64,
    },
    /// The user has an authenticator for this policy already (its id).
    AuthenticatorTaken(String),
    /// A user has one PIN and one EMAIL or SMS device per address: the existing one's id.
    Duplicate {
        existing: i64,
    },
    /// `If-Match` named another version than the one found (the header as the client sent it).
    Stale {
        sent: String,
    },
    /// A token handed out (its serial, its owner's userName): take it back first.
    HandedOut {
        serial: String,
        owner: String,
    },
    /// `POST /Device/.export` while the `seed_export` variable is not true.
    ExportOff,
    /// An enrolled device (its id, its owner's userName) asked to leave through `/Device`.
    Enrolled {
        id: String,
        owner: String,
    },
    /// A seed file that cannot be read at all (why: a key, a password, a MAC, XML, CSV).
    SeedFile(String),
    /// Three writes in a row lost to concurrent changes.
    Conflict,
    /// The store failed; transient failures (busy, interrupted, out of reach) are told apart.
    Store(DbError),
    /// A fault of ours (a seed that cannot be opened, randomness that failed): for the log only.
    Internal(String),
}

impl From<Problem> for DomainError {
    fn from(problem: Problem) -> Self {
        DomainError::Invalid(problem)
    }
}

impl From<DbError> for DomainError {
    fn from(error: DbError) -> Self {
        DomainError::Store(error)
    }
}

impl Transient for DomainError {
    fn is_transient(&self) -> bool {
        matches!(self, DomainError::Store(error) if error.is_transient())
    }

    fn worth_retrying(&self) -> bool {
        matches!(self, DomainError::Store(error) if error.worth_retrying())
    }
}
