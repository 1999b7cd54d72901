//! Wire types of the SCIM OTP API, with the exact SCIM names (SPEC §2, RFC 7643/7644).

pub use crate::urn::{
    DEVICE_SCHEMA, ERROR_SCHEMA, LIST_RESPONSE_SCHEMA, PATCH_OP_SCHEMA, RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA,
    SEARCH_REQUEST_SCHEMA, SERVICE_PROVIDER_CONFIG_SCHEMA, USER_SCHEMA,
};

use crate::timestamp::{self, Timestamp};
use serde::{Deserialize, Serialize};

/// Declares a closed set of SCIM string values with its wire spelling, and a parser that is
/// case-insensitive because admins type `totp` as often as `TOTP`.
macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(text))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use wire_enum;

wire_enum!(
    /// What kind of authenticator a device is.
    DeviceType { Totp = "TOTP", Hotp = "HOTP", Email = "EMAIL", Sms = "SMS", Pin = "PIN" }
);

wire_enum!(
    /// Device lifecycle: Created, Validated (enabled), Locked, Disabled.
    Status { Created = "C", Validated = "V", Locked = "L", Disabled = "D" }
);

wire_enum!(
    /// HMAC hash of a TOTP/HOTP device.
    Algorithm { Sha1 = "SHA1", Sha256 = "SHA256", Sha512 = "SHA512" }
);

impl DeviceType {
    /// TOTP and HOTP hold a shared seed; the others do not.
    /// EMAIL and SMS: a code sent out of band, to an address.
    pub fn is_oob(self) -> bool {
        matches!(self, DeviceType::Email | DeviceType::Sms)
    }

    pub fn has_seed(self) -> bool {
        matches!(self, DeviceType::Totp | DeviceType::Hotp)
    }
}

/// An OTP device as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OtpDevice {
    pub schemas: Vec<String>,
    pub id: i64,
    /// The provisioning client's own identifier for the device (RFC 7643 §3.1), if it set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub name: String,
    #[serde(rename = "type")]
    pub device_type: DeviceType,
    pub user: String,
    pub status: Status,
    pub fails: u32,
    pub created: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<Algorithm>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digits: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u32>,
    /// Base64 PNG of the QR code: in the create response only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The `otpauth://` URI: in the create response only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otpauth_uri: Option<String>,
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub resource_type: String,
    #[serde(with = "timestamp::rfc3339")]
    pub created: Timestamp,
    #[serde(with = "timestamp::rfc3339")]
    pub last_modified: Timestamp,
    /// Weak ETag, `W/"<n>"`.
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Links>,
}

impl Meta {
    /// Metadata of a resource version; `location` and `links` are added by the API, which knows
    /// its URL.
    pub fn new(resource_type: &str, created: Timestamp, last_modified: Timestamp, version: i64) -> Meta {
        Meta {
            resource_type: resource_type.to_owned(),
            created,
            last_modified,
            version: etag(version),
            location: None,
            links: None,
        }
    }
}

/// A user (SPEC §17, RFC 7643 §4.1) as the API returns it: what the service keeps of one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub schemas: Vec<String>,
    /// The decimal digits of a server-assigned integer.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub user_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Name::is_empty")]
    pub name: Name,
    pub active: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<MultiValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phone_numbers: Vec<MultiValue>,
    pub meta: Meta,
}

impl User {
    /// The primary entry of a multi-valued list, else its first one.
    pub fn preferred(list: &[MultiValue]) -> Option<&MultiValue> {
        list.iter().find(|e| e.primary == Some(true)).or_else(|| list.first())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Name {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
}

impl Name {
    pub fn is_empty(&self) -> bool {
        self.formatted.is_none() && self.family_name.is_none() && self.given_name.is_none()
    }
}

/// One entry of `emails` or `phoneNumbers`. `primary` is kept as sent: absent is not `false`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiValue {
    pub value: String,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Links {
    pub request_challenge: String,
    pub response_challenge: String,
}

/// The weak ETag of a device version.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// The version number in an ETag written by [`etag`] (`W/"3"`, or `"3"` as some clients send it).
pub fn etag_version(tag: &str) -> Option<i64> {
    tag.trim().trim_start_matches("W/").trim_matches('"').parse().ok()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T> {
    pub schemas: Vec<String>,
    pub total_results: u64,
    pub start_index: u64,
    pub items_per_page: u64,
    #[serde(rename = "Resources", default = "Vec::new")]
    pub resources: Vec<T>,
}

impl<T> ListResponse<T> {
    pub fn new(total_results: u64, start_index: u64, resources: Vec<T>) -> Self {
        ListResponse {
            schemas: vec![LIST_RESPONSE_SCHEMA.to_owned()],
            total_results,
            start_index,
            items_per_page: resources.len() as u64,
            resources,
        }
    }
}

/// The body of `POST /OtpDevice/.search` (RFC 7644 §3.4.3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    #[serde(default)]
    pub schemas: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_attributes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_index: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
}

/// A SCIM error document; `status` is a string, as RFC 7644 §3.12 has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimErrorBody {
    pub schemas: Vec<String>,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_type: Option<String>,
    pub detail: String,
}

impl ScimErrorBody {
    pub fn new(status: u16, scim_type: Option<&str>, detail: impl Into<String>) -> Self {
        ScimErrorBody {
            schemas: vec![ERROR_SCHEMA.to_owned()],
            status: status.to_string(),
            scim_type: scim_type.map(str::to_owned),
            detail: detail.into(),
        }
    }
}

/// `GET /OtpDevice/{id}/requestChallenge`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChallengeRequested {
    pub cell: String,
    pub card_number: String,
}

/// `POST /OtpDevice/{id}/responseChallenge`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeResult {
    pub success: bool,
    pub locked: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_uses_scim_names() {
        let device = OtpDevice {
            schemas: vec![DEVICE_SCHEMA.to_owned()],
            id: 5_007_882,
            external_id: Some("entra-42".into()),
            name: "TOTP00000035".into(),
            device_type: DeviceType::Totp,
            user: "admin".into(),
            status: Status::Created,
            fails: 0,
            created: Timestamp(1_645_516_011),
            last_used: None,
            email: None,
            phone: None,
            algorithm: Some(Algorithm::Sha1),
            digits: Some(6),
            period: Some(30),
            image: None,
            otpauth_uri: None,
            meta: Meta::new("OtpDevice", Timestamp(1_645_516_011), Timestamp(1_645_516_011), 1),
        };
        let json = serde_json::to_value(&device).unwrap();
        assert_eq!(json["type"], "TOTP");
        assert_eq!(json["status"], "C");
        assert_eq!(json["externalId"], "entra-42");
        assert_eq!(json["created"], "2022-02-22 07:46:51");
        assert_eq!(json["meta"]["created"], "2022-02-22T07:46:51Z");
        assert_eq!(json["meta"]["version"], "W/\"1\"");
        assert!(json.get("lastUsed").is_none());
        let back: OtpDevice = serde_json::from_value(json).unwrap();
        assert_eq!(back, device);
    }

    #[test]
    fn etags_round_trip() {
        assert_eq!(etag_version(&etag(42)), Some(42));
        assert_eq!(etag_version("\"7\""), Some(7));
        assert_eq!(etag_version("W/\"x\""), None);
    }

    #[test]
    fn enums_parse_case_insensitively() {
        assert_eq!(DeviceType::parse("totp"), Some(DeviceType::Totp));
        assert_eq!(Status::parse("v"), Some(Status::Validated));
        assert_eq!(Algorithm::parse("Sha256"), Some(Algorithm::Sha256));
        assert_eq!(Status::parse("E"), None);
    }

    #[test]
    fn error_status_is_a_string() {
        let e = ScimErrorBody::new(404, None, "not found");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["status"], "404");
        assert!(json.get("scimType").is_none());
    }
}
