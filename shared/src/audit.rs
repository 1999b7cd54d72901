//! Audit events (SPEC §12): the audit trail as a read-only SCIM resource, tenant-wide, for the
//! admin app's audit log and overview. An event says who did what, when, to which device, user
//! or authenticator; never a secret or a code.

pub use crate::urn::{AUDIT_HISTOGRAM_SCHEMA, AUDIT_SCHEMA};

use crate::model::Meta;
use serde::{Deserialize, Serialize};

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
