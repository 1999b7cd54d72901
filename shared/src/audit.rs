//! Audit events (SPEC §12): the audit trail as a read-only SCIM resource, tenant-wide, for the
//! admin app's audit log and overview. An event says who did what, when, to which device, user
//! or authenticator; never a secret or a code.

pub use crate::urn::{AUDIT_HISTOGRAM_SCHEMA, AUDIT_SCHEMA};

use crate::model::Meta;
use serde::{Deserialize, Serialize};

/// Every action the audit trail records (SPEC §12), as its `action` column holds it: the store
/// writes them (a few from the schema's triggers, whose text `store::migrations` must match),
/// the API filters on them, the admin app offers and charts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// A device (SPEC §2): created, replaced, patched, deleted.
    Create,
    Replace,
    Patch,
    Delete,
    /// A challenge asked for through Soffid's dialect, or refused before anything was sent.
    RequestChallenge,
    /// A challenge of HID's named actions opened (a code sent, questions asked, a device's turn).
    ChallengeIssued,
    /// A validation's outcome (written by migration 6's triggers, or for questions by the store).
    ChallengeSuccess,
    ChallengeFailure,
    ChallengeFailureLocked,
    /// A validation refused before checking (inactive owner, disabled or locked, no open challenge).
    ChallengeRefused,
    /// A code not sent: a send budget refused it (SPEC §6).
    SendRefused,
    /// The gateway failed; the code was withdrawn.
    DeliveryFailed,
    /// REGISTER-OOB's activation code stored; `Activate`: a device enabled by its first verification.
    ActivationCode,
    Activate,
    /// A device changed with its authenticator (written by triggers and by the authenticator's replace).
    LockedWithAuthenticator,
    DisabledWithAuthenticator,
    EnabledWithAuthenticator,
    /// A tenant's built-in policies written, on its first request (SPEC §18).
    TenantSeeded,
    /// Users (SPEC §17).
    UserCreate,
    UserReplace,
    UserDelete,
    /// Authenticators (SPEC §14).
    AuthenticatorCreate,
    AuthenticatorReplace,
    AuthenticatorReset,
    AuthenticatorDelete,
    /// Authenticator policies (SPEC §18).
    PolicyCreate,
    PolicyReplace,
    PolicyDelete,
    /// A CIBA ping after a verified DELIVER-CHALLENGE, sent or failed.
    CibaPing,
    CibaPingFailed,
    /// Hardware tokens (SPEC §19): a seed file imported (one event for the file, one per token),
    /// exported, a token handed out or taken back, its counter or clock resynchronised, its
    /// manufacturer or model changed.
    Import,
    Export,
    HandOut,
    TakeBack,
    Resync,
    DeviceUpdate,
}

impl AuditAction {
    pub const ALL: [AuditAction; 36] = [
        AuditAction::Create,
        AuditAction::Replace,
        AuditAction::Patch,
        AuditAction::Delete,
        AuditAction::RequestChallenge,
        AuditAction::ChallengeIssued,
        AuditAction::ChallengeSuccess,
        AuditAction::ChallengeFailure,
        AuditAction::ChallengeFailureLocked,
        AuditAction::ChallengeRefused,
        AuditAction::SendRefused,
        AuditAction::DeliveryFailed,
        AuditAction::ActivationCode,
        AuditAction::Activate,
        AuditAction::LockedWithAuthenticator,
        AuditAction::DisabledWithAuthenticator,
        AuditAction::EnabledWithAuthenticator,
        AuditAction::TenantSeeded,
        AuditAction::UserCreate,
        AuditAction::UserReplace,
        AuditAction::UserDelete,
        AuditAction::AuthenticatorCreate,
        AuditAction::AuthenticatorReplace,
        AuditAction::AuthenticatorReset,
        AuditAction::AuthenticatorDelete,
        AuditAction::PolicyCreate,
        AuditAction::PolicyReplace,
        AuditAction::PolicyDelete,
        AuditAction::CibaPing,
        AuditAction::CibaPingFailed,
        AuditAction::Import,
        AuditAction::Export,
        AuditAction::HandOut,
        AuditAction::TakeBack,
        AuditAction::Resync,
        AuditAction::DeviceUpdate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Create => "create",
            AuditAction::Replace => "replace",
            AuditAction::Patch => "patch",
            AuditAction::Delete => "delete",
            AuditAction::RequestChallenge => "request-challenge",
            AuditAction::ChallengeIssued => "challenge-issued",
            AuditAction::ChallengeSuccess => "challenge-success",
            AuditAction::ChallengeFailure => "challenge-failure",
            AuditAction::ChallengeFailureLocked => "challenge-failure-locked",
            AuditAction::ChallengeRefused => "challenge-refused",
            AuditAction::SendRefused => "send-refused",
            AuditAction::DeliveryFailed => "delivery-failed",
            AuditAction::ActivationCode => "activation-code",
            AuditAction::Activate => "activate",
            AuditAction::LockedWithAuthenticator => "locked-with-authenticator",
            AuditAction::DisabledWithAuthenticator => "disabled-with-authenticator",
            AuditAction::EnabledWithAuthenticator => "enabled-with-authenticator",
            AuditAction::TenantSeeded => "tenant-seeded",
            AuditAction::UserCreate => "user-create",
            AuditAction::UserReplace => "user-replace",
            AuditAction::UserDelete => "user-delete",
            AuditAction::AuthenticatorCreate => "authenticator-create",
            AuditAction::AuthenticatorReplace => "authenticator-replace",
            AuditAction::AuthenticatorReset => "authenticator-reset",
            AuditAction::AuthenticatorDelete => "authenticator-delete",
            AuditAction::PolicyCreate => "policy-create",
            AuditAction::PolicyReplace => "policy-replace",
            AuditAction::PolicyDelete => "policy-delete",
            AuditAction::CibaPing => "ciba-ping",
            AuditAction::CibaPingFailed => "ciba-ping-failed",
            AuditAction::Import => "import",
            AuditAction::Export => "export",
            AuditAction::HandOut => "hand-out",
            AuditAction::TakeBack => "take-back",
            AuditAction::Resync => "resync",
            AuditAction::DeviceUpdate => "device-update",
        }
    }

    pub fn parse(text: &str) -> Option<AuditAction> {
        AuditAction::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

/// One audit row as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    pub schemas: Vec<String>,
    /// The decimal digits of the row's integer id: later events have larger ids.
    pub id: String,
    /// When it happened (RFC 3339).
    #[serde(with = "crate::timestamp::rfc3339")]
    pub at: crate::Timestamp,
    /// The principal that made the request, or `scim-otp` for what the service did itself.
    pub actor: String,
    /// What happened (`challenge-success`, `patch`, `authenticator-reset`, …).
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<i64>,
    /// The user's SCIM id, when the event is about a user or one of their authenticators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The authenticator's SCIM id (`<user id>.<policy>`), when the event is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticator: Option<String>,
    /// What changed, in words (never a secret).
    pub detail: String,
    pub meta: Meta,
}

/// `GET /Audit/.histogram`: how many events matching a filter fall in each interval, per action
/// (the admin app's overview chart). Intervals with no event are left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditHistogram {
    pub schemas: Vec<String>,
    /// The width of an interval in seconds; intervals start at multiples of it (UTC).
    pub interval: i64,
    pub buckets: Vec<AuditBucket>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditBucket {
    #[serde(with = "crate::timestamp::rfc3339")]
    pub start: crate::Timestamp,
    /// Events per action.
    pub counts: std::collections::BTreeMap<String, u64>,
}
