//! The OtpDevice attribute table: the one definition that validation, projection, filtering,
//! sorting, the `/Schemas` document and the SPA's create form are all derived from.

use crate::model::{Algorithm, DEVICE_SCHEMA, DeviceType, OtpDevice, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Integer,
    DateTime,
    /// Soffid's `YYYY-MM-DD HH:MM:SS` (UTC): not an xsd:dateTime, so `/Schemas` calls it a
    /// `string`, but filters and sorts compare it as the instant it names.
    SoffidTime,
    Reference,
    Complex,
}

impl AttrType {
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::SoffidTime => "string",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

impl Mutability {
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Default,
    /// Only when a response carries it for the request at hand (the seed and QR: create only).
    Request,
    Never,
}

impl Returned {
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Default => "default",
            Returned::Request => "request",
            Returned::Never => "never",
        }
    }
}

/// How the SPA's create dialog asks for an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Text,
    Email,
    Tel,
    /// Secret text, asked twice by the dialog.
    Password,
    Number,
    /// One of these values; the first entry is "use the server default".
    Choice(&'static [&'static str]),
}

/// A device attribute's value as filters compare it: dates are Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    Absent,
    Int(i64),
    Text(&'a str),
}

#[derive(Debug)]
pub struct Attribute {
    /// SCIM name (`lastUsed`); sub-attributes use their own name (`created` under `meta`).
    pub name: &'static str,
    pub kind: AttrType,
    pub mutability: Mutability,
    pub returned: Returned,
    /// Device types whose create request must carry it (`type` and `user`: all of them).
    pub required_for: &'static [DeviceType],
    /// Device types that may carry it.
    pub applies_to: &'static [DeviceType],
    pub case_exact: bool,
    pub canonical_values: &'static [&'static str],
    pub description: &'static str,
    /// The SQLite column behind it; an attribute with a column can be filtered and sorted.
    pub column: Option<&'static str>,
    pub read: fn(&OtpDevice) -> Value<'_>,
    pub sub_attributes: &'static [Attribute],
    /// Asked by the SPA's create dialog for the types in `applies_to`.
    pub input: Option<Input>,
}

/// Attributes live in static tables: two are the same attribute only if they are the same entry.
impl PartialEq for Attribute {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Attribute {
    pub fn filterable(&self) -> bool {
        self.column.is_some()
    }

    pub fn applies_to_type(&self, t: DeviceType) -> bool {
        self.applies_to.contains(&t)
    }

    pub fn required_on_create(&self, t: DeviceType) -> bool {
        self.required_for.contains(&t)
    }

    /// `required` in the `/Schemas` document: only what every device type must send.
    pub fn always_required(&self) -> bool {
        self.required_for.len() == DeviceType::ALL.len()
    }
}

const ALL: &[DeviceType] = DeviceType::ALL;
const SEEDED: &[DeviceType] = &[DeviceType::Totp, DeviceType::Hotp];
const CODED: &[DeviceType] = &[DeviceType::Totp, DeviceType::Hotp, DeviceType::Email, DeviceType::Sms];
const NONE: &[DeviceType] = &[];

fn text(v: &Option<String>) -> Value<'_> {
    v.as_deref().map_or(Value::Absent, Value::Text)
}

fn int<T: Into<i64> + Copy>(v: Option<T>) -> Value<'static> {
    v.map_or(Value::Absent, |n| Value::Int(n.into()))
}

/// A plain attribute: readOnly, returned by default, case-exact, not filterable, not in forms.
const fn plain(name: &'static str, kind: AttrType, description: &'static str) -> Attribute {
    Attribute {
        name,
        kind,
        mutability: Mutability::ReadOnly,
        returned: Returned::Default,
        required_for: NONE,
        applies_to: ALL,
        case_exact: true,
        canonical_values: &[],
        description,
        column: None,
        read: |_| Value::Absent,
        sub_attributes: &[],
        input: None,
    }
}

pub static META_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        returned: Returned::Always,
        case_exact: false,
        ..plain("resourceType", AttrType::String, "Always \"OtpDevice\".")
    },
    Attribute {
        column: Some("created"),
        read: |d| Value::Int(d.meta.created.0),
        ..plain("created", AttrType::DateTime, "When the device was created (RFC 3339).")
    },
    Attribute {
        column: Some("modified"),
        read: |d| Value::Int(d.meta.last_modified.0),
        ..plain("lastModified", AttrType::DateTime, "When the device last changed (RFC 3339).")
    },
    plain("location", AttrType::Reference, "Absolute URL of the device."),
    plain("version", AttrType::String, "Weak ETag of the current version, for If-Match."),
];

/// The OtpDevice schema, in the order `/Schemas` lists it.
pub static ATTRIBUTES: &[Attribute] = &[
    Attribute {
        returned: Returned::Always,
        column: Some("id"),
        read: |d| Value::Int(d.id),
        ..plain("id", AttrType::Integer, "Server-assigned identifier, never reused.")
    },
    Attribute {
        mutability: Mutability::ReadWrite,
        column: Some("external_id"),
        read: |d| text(&d.external_id),
        ..plain(
            "externalId",
            AttrType::String,
            "The provisioning client's own identifier for the device (RFC 7643 §3.1), 1-256 characters.",
        )
    },
    Attribute {
        column: Some("name"),
        read: |d| Value::Text(&d.name),
        ..plain(
            "name",
            AttrType::String,
            "Generated: TOTP00000035, Email message to pa*****@so****.co*, SMS message to 66*****44, Security PIN.",
        )
    },
    Attribute {
        mutability: Mutability::Immutable,
        required_for: ALL,
        case_exact: false,
        canonical_values: DeviceType::NAMES,
        column: Some("type"),
        read: |d| Value::Text(d.device_type.as_str()),
        ..plain("type", AttrType::String, "Kind of authenticator.")
    },
    Attribute {
        mutability: Mutability::Immutable,
        required_for: ALL,
        column: Some("user_name"),
        read: |d| Value::Text(&d.user),
        input: Some(Input::Text),
        ..plain("user", AttrType::String, "User name that owns the device (1-64 characters).")
    },
    Attribute {
        mutability: Mutability::ReadWrite,
        case_exact: false,
        canonical_values: Status::NAMES,
        column: Some("status"),
        read: |d| Value::Text(d.status.as_str()),
        ..plain(
            "status",
            AttrType::String,
            "C created, V validated (enabled), L locked, D disabled. Nothing moves back to C.",
        )
    },
    Attribute {
        mutability: Mutability::ReadWrite,
        column: Some("fails"),
        read: |d| Value::Int(d.fails.into()),
        ..plain("fails", AttrType::Integer, "Consecutive failed validations; write 0 to reset.")
    },
    Attribute {
        column: Some("created"),
        read: |d| Value::Int(d.created.0),
        ..plain(
            "created",
            AttrType::SoffidTime,
            "Creation time as Soffid writes it, YYYY-MM-DD HH:MM:SS in UTC (not RFC 3339; meta.created is). \
             Filters compare it as a time: \"2022-01-01\", \"2022-01-01 10:00:00\" or RFC 3339.",
        )
    },
    Attribute {
        column: Some("last_used"),
        read: |d| int(d.last_used.map(|t| t.0)),
        ..plain(
            "lastUsed",
            AttrType::SoffidTime,
            "Last successful validation as Soffid writes it, YYYY-MM-DD HH:MM:SS in UTC; absent until the \
             first. Filters compare it as a time, like created.",
        )
    },
    Attribute {
        mutability: Mutability::Immutable,
        required_for: &[DeviceType::Email],
        applies_to: &[DeviceType::Email],
        case_exact: false,
        column: Some("email"),
        read: |d| text(&d.email),
        input: Some(Input::Email),
        ..plain("email", AttrType::String, "Address that EMAIL codes are sent to.")
    },
    Attribute {
        mutability: Mutability::Immutable,
        required_for: &[DeviceType::Sms],
        applies_to: &[DeviceType::Sms],
        column: Some("phone"),
        read: |d| text(&d.phone),
        input: Some(Input::Tel),
        ..plain("phone", AttrType::String, "Number that SMS codes are sent to (E.164 or national digits).")
    },
    Attribute {
        mutability: Mutability::WriteOnly,
        returned: Returned::Never,
        required_for: &[DeviceType::Pin],
        applies_to: &[DeviceType::Pin],
        input: Some(Input::Password),
        ..plain("pin", AttrType::String, "The PIN (4-32 characters); stored only as a slow salted hash.")
    },
    Attribute {
        mutability: Mutability::Immutable,
        applies_to: SEEDED,
        case_exact: false,
        canonical_values: Algorithm::NAMES,
        column: Some("algorithm"),
        read: |d| d.algorithm.map_or(Value::Absent, |a| Value::Text(a.as_str())),
        input: Some(Input::Choice(Algorithm::NAMES)),
        ..plain("algorithm", AttrType::String, "HMAC hash of the seed; server default when omitted.")
    },
    Attribute {
        mutability: Mutability::Immutable,
        applies_to: CODED,
        column: Some("digits"),
        read: |d| int(d.digits),
        input: Some(Input::Choice(&["6", "8"])),
        ..plain("digits", AttrType::Integer, "Code length, 6 or 8; server default when omitted.")
    },
    Attribute {
        mutability: Mutability::Immutable,
        applies_to: &[DeviceType::Totp],
        column: Some("period"),
        read: |d| int(d.period),
        input: Some(Input::Number),
        ..plain("period", AttrType::Integer, "TOTP time step in seconds; server default when omitted.")
    },
    Attribute {
        returned: Returned::Request,
        applies_to: SEEDED,
        ..plain(
            "image",
            AttrType::String,
            "Base64 PNG of the QR code of otpauthUri. Returned once, in the create response.",
        )
    },
    Attribute {
        returned: Returned::Request,
        applies_to: SEEDED,
        ..plain(
            "otpauthUri",
            AttrType::Reference,
            "Key URI for authenticator apps. Returned once, in the create response.",
        )
    },
    Attribute { sub_attributes: META_ATTRIBUTES, ..plain("meta", AttrType::Complex, "Resource metadata.") },
];

/// Removes a leading `urn:...:OtpDevice:` (any case), which RFC 7644 allows before attribute names.
pub fn strip_schema_urn(path: &str) -> &str {
    let prefix = DEVICE_SCHEMA.len() + 1;
    match path.get(..prefix) {
        // Compared as bytes: the name may hold any UTF-8, and `prefix - 1` need not be a char
        // boundary (found by the `validate` fuzz target).
        Some(head)
            if head.as_bytes()[..DEVICE_SCHEMA.len()].eq_ignore_ascii_case(DEVICE_SCHEMA.as_bytes())
                && head.ends_with(':') =>
        {
            &path[prefix..]
        }
        _ => path,
    }
}

fn find_in(list: &'static [Attribute], name: &str) -> Option<&'static Attribute> {
    list.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// A top-level attribute by name, case-insensitively.
pub fn attribute(name: &str) -> Option<&'static Attribute> {
    find_in(ATTRIBUTES, name)
}

/// Resolves `name`, `meta.sub` or their URN-prefixed forms to the attribute (or sub-attribute).
pub fn resolve_path(path: &str) -> Option<&'static Attribute> {
    let path = strip_schema_urn(path);
    match path.split_once('.') {
        None => attribute(path),
        Some((parent, sub)) => find_in(attribute(parent)?.sub_attributes, sub),
    }
}

/// The attributes the create dialog asks for, for one device type, in table order.
pub fn create_fields(t: DeviceType) -> impl Iterator<Item = &'static Attribute> {
    ATTRIBUTES.iter().filter(move |a| a.input.is_some() && a.applies_to_type(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression, from the `validate` fuzz target: a multi-byte character where the URN's last
    /// byte would be panicked on a slice that is not a char boundary.
    #[test]
    fn schema_prefix_with_any_utf8() {
        let odd = format!("{}\u{8888}rest", &DEVICE_SCHEMA[..DEVICE_SCHEMA.len() - 2]);
        assert_eq!(strip_schema_urn(&odd), odd);
        assert_eq!(strip_schema_urn("袈"), "袈");
        assert_eq!(strip_schema_urn(&format!("{}:status", DEVICE_SCHEMA.to_uppercase())), "status");
    }

    #[test]
    fn paths_resolve_case_insensitively_with_or_without_urn() {
        assert_eq!(resolve_path("lastused").map(|a| a.name), Some("lastUsed"));
        assert_eq!(
            resolve_path("urn:soffid:com.soffid.iam.addons.otp.common.OtpDevice:User").map(|a| a.name),
            Some("user")
        );
        assert_eq!(resolve_path("META.LastModified").map(|a| a.column), Some(Some("modified")));
        assert!(resolve_path("userName").is_none());
        assert!(resolve_path("status.value").is_none());
    }

    #[test]
    fn create_form_changes_with_the_type() {
        let names = |t| create_fields(t).map(|a| a.name).collect::<Vec<_>>();
        assert_eq!(names(DeviceType::Totp), ["user", "algorithm", "digits", "period"]);
        assert_eq!(names(DeviceType::Hotp), ["user", "algorithm", "digits"]);
        assert_eq!(names(DeviceType::Email), ["user", "email", "digits"]);
        assert_eq!(names(DeviceType::Sms), ["user", "phone", "digits"]);
        assert_eq!(names(DeviceType::Pin), ["user", "pin"]);
    }

    #[test]
    fn only_type_and_user_are_always_required() {
        let required: Vec<_> = ATTRIBUTES.iter().filter(|a| a.always_required()).map(|a| a.name).collect();
        assert_eq!(required, ["type", "user"]);
    }
}
