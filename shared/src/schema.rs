//! The attribute table of each resource: the one definition that validation, projection, filtering,
//! sorting, the `/Schemas` document and the SPA's create form are all derived from.

use crate::model::{Algorithm, DeviceType, Status};
use crate::oath_device::{DeviceState, Origin, STATE_SQL};
use crate::urn::{
    AUDIT_SCHEMA, AUTHENTICATOR_SCHEMA, DEVICE_SCHEMA, ENROLLMENT_SCHEMA, OATH_DEVICE_SCHEMA,
    PASSWORD_SCHEMA, POLICY_SCHEMA, SECURITY_QUESTION_SCHEMA, USER_SCHEMA,
};

/// The names of HID's actions (SPEC §14), the canonical values of the Action schema's `action`,
/// in [`crate::action::ActionName`]'s order.
pub const ACTION_NAMES: [&str; 7] = [
    "USER-CHALLENGE",
    "DEVICE-CHALLENGE",
    "VERIFY",
    "RESET",
    "DELIVER-CHALLENGE",
    "REGISTER-OOB",
    "UNREGISTER-OOB",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
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
            AttrType::Boolean => "boolean",
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

/// An attribute's value as filters and sorts compare it: dates are Unix seconds, booleans 0 or 1
/// (as SQLite stores them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    Absent,
    Int(i64),
    Text(&'a str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
}

impl Uniqueness {
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
        }
    }
}

#[derive(Debug)]
pub struct Attribute {
    /// SCIM name (`lastUsed`); sub-attributes use their own name (`created` under `meta`).
    pub name: &'static str,
    pub kind: AttrType,
    pub multi_valued: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    /// Every create request must carry it.
    pub required: bool,
    /// OtpDevice: the device types whose create request must carry it besides the `required` ones.
    pub required_for: &'static [DeviceType],
    /// OtpDevice: the device types that may carry it; `None` for every one (and every User).
    pub applies_to: Option<&'static [DeviceType]>,
    pub case_exact: bool,
    pub uniqueness: Uniqueness,
    pub canonical_values: &'static [&'static str],
    pub description: &'static str,
    /// The SQL column (or expression) behind it; an attribute with one can be filtered and sorted.
    pub column: Option<&'static str>,
    /// A multi-valued complex attribute kept in a table of its own: the opening of the SQL
    /// `<id> IN (SELECT <owner> FROM <entries> WHERE <kind>` that a filter on its entries
    /// completes with `AND (<condition over the entry columns>))`; an index on the entries then
    /// serves a selective filter without visiting every resource.
    pub entries_sql: Option<&'static str>,
    pub sub_attributes: &'static [Attribute],
    /// Asked by the SPA's create dialog (OtpDevice: for the types in `applies_to`).
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
        self.applies_to.is_none_or(|types| types.contains(&t))
    }

    pub fn required_on_create(&self, t: DeviceType) -> bool {
        self.required || self.required_for.contains(&t)
    }

    pub fn sub_attribute(&self, name: &str) -> Option<&'static Attribute> {
        self.sub_attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The value as filters compare it, from the JSON object that holds the attribute (the
    /// resource, the `meta` or `name` object, or one entry of a multi-valued attribute), as the
    /// API serialises it: so the evaluator sees exactly what the SQL column holds.
    pub fn read<'a>(&self, holder: &'a serde_json::Value) -> Value<'a> {
        let Some(value) = holder.get(self.name) else { return Value::Absent };
        let as_int = |n: Option<i64>| n.map_or(Value::Absent, Value::Int);
        match self.kind {
            AttrType::String | AttrType::Reference => value.as_str().map_or(Value::Absent, Value::Text),
            AttrType::Integer => as_int(value.as_i64()),
            AttrType::Boolean => as_int(value.as_bool().map(i64::from)),
            AttrType::DateTime | AttrType::SoffidTime => {
                as_int(value.as_str().and_then(crate::timestamp::Timestamp::parse).map(|t| t.0))
            }
            AttrType::Complex => Value::Absent,
        }
    }
}

/// A resource type and the one attribute table everything about it is derived from.
#[derive(Debug)]
pub struct Resource {
    /// Resource type name (`OtpDevice`, `User`).
    pub name: &'static str,
    /// Endpoint under a base path (`/OtpDevice`, `/Users`).
    pub endpoint: &'static str,
    pub schema: &'static str,
    pub description: &'static str,
    pub attributes: &'static [Attribute],
}

impl PartialEq for Resource {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for Resource {}

/// What a path names: an attribute, and the complex attribute it is a sub-attribute of.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resolved {
    pub parent: Option<&'static Attribute>,
    pub attribute: &'static Attribute,
}

impl Resource {
    /// Removes a leading `urn:...:<schema>:` (any case), which RFC 7644 allows before names.
    pub fn strip_urn<'p>(&self, path: &'p str) -> &'p str {
        let schema = self.schema;
        let prefix = schema.len() + 1;
        match path.get(..prefix) {
            // Compared as bytes: the name may hold any UTF-8, and `prefix - 1` need not be a char
            // boundary (found by the `validate` fuzz target).
            Some(head)
                if head.as_bytes()[..schema.len()].eq_ignore_ascii_case(schema.as_bytes())
                    && head.ends_with(':') =>
            {
                &path[prefix..]
            }
            _ => path,
        }
    }

    /// A top-level attribute by name, case-insensitively (no URN).
    pub fn attribute(&self, name: &str) -> Option<&'static Attribute> {
        self.attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// Resolves `name`, `parent.sub` or their URN-prefixed forms.
    /// The schema extensions: attributes named by their URN, whose sub-attributes are the
    /// extension's (`urn:hid:scim:api:idp:2.0:Password` holds `username` and `password`).
    pub fn extensions(&self) -> impl Iterator<Item = &'static Attribute> + use<> {
        self.attributes.iter().filter(|a| is_urn(a.name))
    }

    /// The attributes of the core schema.
    pub fn core_attributes(&self) -> impl Iterator<Item = &'static Attribute> + use<> {
        self.attributes.iter().filter(|a| !is_urn(a.name))
    }

    /// An extension path, `<urn>` or `<urn>:<sub>` (and deeper: `<urn>:prompts.answer`): the
    /// extension and what follows its URN (empty for the whole extension).
    pub fn extension_path<'p>(&self, path: &'p str) -> Option<(&'static Attribute, &'p str)> {
        self.extensions().find_map(|extension| {
            let head = path.as_bytes().get(..extension.name.len())?;
            if !head.eq_ignore_ascii_case(extension.name.as_bytes()) {
                return None;
            }
            match &path[extension.name.len()..] {
                "" => Some((extension, "")),
                rest => rest.strip_prefix(':').map(|sub| (extension, sub)),
            }
        })
    }

    pub fn resolve(&self, path: &str) -> Option<Resolved> {
        if let Some((extension, sub)) = self.extension_path(path) {
            return Some(match sub {
                "" => Resolved { parent: None, attribute: extension },
                sub => Resolved { parent: Some(extension), attribute: extension.sub_attribute(sub)? },
            });
        }
        let path = self.strip_urn(path);
        match path.split_once('.') {
            None => Some(Resolved { parent: None, attribute: self.attribute(path)? }),
            Some((parent, sub)) => {
                let parent = self.attribute(parent)?;
                Some(Resolved { parent: Some(parent), attribute: parent.sub_attribute(sub)? })
            }
        }
    }

    /// An attribute or sub-attribute by path, whatever its parent.
    pub fn resolve_path(&self, path: &str) -> Option<&'static Attribute> {
        self.resolve(path).map(|r| r.attribute)
    }
}

fn is_urn(name: &str) -> bool {
    name.len() > 4 && name.as_bytes()[..4].eq_ignore_ascii_case(b"urn:")
}

const SEEDED: &[DeviceType] = &[DeviceType::Totp, DeviceType::Hotp];
const CODED: &[DeviceType] = &[DeviceType::Totp, DeviceType::Hotp, DeviceType::Email, DeviceType::Sms];
const NONE: &[DeviceType] = &[];

/// A plain attribute: readOnly, returned by default, case-exact, not filterable, not in forms.
const fn plain(name: &'static str, kind: AttrType, description: &'static str) -> Attribute {
    Attribute {
        name,
        kind,
        mutability: Mutability::ReadOnly,
        multi_valued: false,
        returned: Returned::Default,
        required: false,
        required_for: NONE,
        applies_to: None,
        case_exact: true,
        uniqueness: Uniqueness::None,
        canonical_values: &[],
        description,
        column: None,
        entries_sql: None,
        sub_attributes: &[],
        input: None,
    }
}

pub static META_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        returned: Returned::Always,
        case_exact: false,
        ..plain("resourceType", AttrType::String, "The name of the resource type.")
    },
    Attribute {
        column: Some("created"),
        ..plain("created", AttrType::DateTime, "When the resource was created (RFC 3339).")
    },
    Attribute {
        column: Some("modified"),
        ..plain("lastModified", AttrType::DateTime, "When the resource last changed (RFC 3339).")
    },
    plain("location", AttrType::Reference, "Absolute URL of the resource."),
    plain("version", AttrType::String, "Weak ETag of the current version, for If-Match."),
];

/// The OtpDevice schema, in the order `/Schemas` lists it.
pub static DEVICE_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        returned: Returned::Always,
        column: Some("id"),
        uniqueness: Uniqueness::Server,
        ..plain("id", AttrType::Integer, "Server-assigned identifier, never reused.")
    },
    Attribute {
        mutability: Mutability::ReadWrite,
        column: Some("external_id"),
        ..plain(
            "externalId",
            AttrType::String,
            "The provisioning client's own identifier for the device (RFC 7643 §3.1), 1-256 characters.",
        )
    },
    Attribute {
        column: Some("name"),
        ..plain(
            "name",
            AttrType::String,
            "Generated: TOTP00000035, Email message to pa*****@so****.co*, SMS message to 66*****44, Security PIN.",
        )
    },
    Attribute {
        mutability: Mutability::Immutable,
        required: true,
        case_exact: false,
        canonical_values: DeviceType::NAMES,
        column: Some("type"),
        ..plain("type", AttrType::String, "Kind of authenticator.")
    },
    Attribute {
        mutability: Mutability::Immutable,
        required: true,
        column: Some("user_name"),
        input: Some(Input::Text),
        ..plain("user", AttrType::String, "User name that owns the device (1-64 characters).")
    },
    Attribute {
        mutability: Mutability::ReadWrite,
        case_exact: false,
        canonical_values: Status::NAMES,
        column: Some("status"),
        ..plain(
            "status",
            AttrType::String,
            "C created, V validated (enabled), L locked, D disabled. Nothing moves back to C.",
        )
    },
    Attribute {
        mutability: Mutability::ReadWrite,
        column: Some("fails"),
        ..plain("fails", AttrType::Integer, "Consecutive failed validations; write 0 to reset.")
    },
    Attribute {
        column: Some("created"),
        ..plain(
            "created",
            AttrType::SoffidTime,
            "Creation time as Soffid writes it, YYYY-MM-DD HH:MM:SS in UTC (not RFC 3339; meta.created is). \
             Filters compare it as a time: \"2022-01-01\", \"2022-01-01 10:00:00\" or RFC 3339.",
        )
    },
    Attribute {
        column: Some("last_used"),
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
        applies_to: Some(&[DeviceType::Email]),
        case_exact: false,
        column: Some("email"),
        input: Some(Input::Email),
        ..plain("email", AttrType::String, "Address that EMAIL codes are sent to.")
    },
    Attribute {
        mutability: Mutability::Immutable,
        required_for: &[DeviceType::Sms],
        applies_to: Some(&[DeviceType::Sms]),
        column: Some("phone"),
        input: Some(Input::Tel),
        ..plain("phone", AttrType::String, "Number that SMS codes are sent to (E.164 or national digits).")
    },
    Attribute {
        mutability: Mutability::WriteOnly,
        returned: Returned::Never,
        required_for: &[DeviceType::Pin],
        applies_to: Some(&[DeviceType::Pin]),
        input: Some(Input::Password),
        ..plain("pin", AttrType::String, "The PIN (4-32 characters); stored only as a slow salted hash.")
    },
    Attribute {
        mutability: Mutability::Immutable,
        applies_to: Some(SEEDED),
        case_exact: false,
        canonical_values: Algorithm::NAMES,
        column: Some("algorithm"),
        input: Some(Input::Choice(Algorithm::NAMES)),
        ..plain("algorithm", AttrType::String, "HMAC hash of the seed; server default when omitted.")
    },
    Attribute {
        mutability: Mutability::Immutable,
        applies_to: Some(CODED),
        column: Some("digits"),
        input: Some(Input::Choice(&["6", "8"])),
        ..plain("digits", AttrType::Integer, "Code length, 6 or 8; server default when omitted.")
    },
    Attribute {
        mutability: Mutability::Immutable,
        applies_to: Some(&[DeviceType::Totp]),
        column: Some("period"),
        input: Some(Input::Number),
        ..plain("period", AttrType::Integer, "TOTP time step in seconds; server default when omitted.")
    },
    Attribute {
        returned: Returned::Request,
        applies_to: Some(SEEDED),
        ..plain(
            "image",
            AttrType::String,
            "Base64 PNG of the QR code of otpauthUri. Returned once, in the create response.",
        )
    },
    Attribute {
        returned: Returned::Request,
        applies_to: Some(SEEDED),
        ..plain(
            "otpauthUri",
            AttrType::Reference,
            "Key URI for authenticator apps. Returned once, in the create response.",
        )
    },
    Attribute { sub_attributes: META_ATTRIBUTES, ..plain("meta", AttrType::Complex, "Resource metadata.") },
];

/// OtpDevice: one-time-password authenticators (SPEC §2).
pub static DEVICE: Resource = Resource {
    name: "OtpDevice",
    endpoint: "/OtpDevice",
    schema: DEVICE_SCHEMA,
    description: "One-time-password authenticator (TOTP, HOTP, EMAIL, SMS, PIN) of a user",
    attributes: DEVICE_ATTRIBUTES,
};

/// An instant the store keeps for a device, readOnly, filterable and sortable.
const fn device_instant(name: &'static str, column: &'static str, description: &'static str) -> Attribute {
    Attribute { column: Some(column), ..plain(name, AttrType::DateTime, description) }
}

static OATH_OWNER_ATTRIBUTES: [Attribute; 5] =
    reference_attributes("user_id", Some("nullif(user_name, '')"), Mutability::ReadWrite);

/// The Device schema (SPEC §19): TOTP and HOTP devices as an inventory sees them.
pub static OATH_DEVICE_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        returned: Returned::Always,
        column: Some("id"),
        uniqueness: Uniqueness::Server,
        ..plain(
            "id",
            AttrType::String,
            "The device's id (decimal digits), the same as its OtpDevice's when it has an owner.",
        )
    },
    Attribute {
        mutability: Mutability::Immutable,
        column: Some("name"),
        uniqueness: Uniqueness::Server,
        ..plain(
            "serialNumber",
            AttrType::String,
            "The vendor's serial of an imported token (unique in the tenant), the generated name \
             (TOTP00000035) of an enrolled device.",
        )
    },
    writable("manufacturer", "manufacturer", "The token's manufacturer, from the seed file."),
    writable("model", "model", "The token's model, from the seed file."),
    Attribute {
        case_exact: false,
        canonical_values: &["TOTP", "HOTP"],
        column: Some("type"),
        ..plain("type", AttrType::String, "TOTP or HOTP.")
    },
    Attribute {
        case_exact: false,
        canonical_values: Algorithm::NAMES,
        column: Some("algorithm"),
        ..plain("algorithm", AttrType::String, "HMAC hash of the secret.")
    },
    Attribute { column: Some("digits"), ..plain("digits", AttrType::Integer, "Code length, 6 or 8.") },
    Attribute { column: Some("period"), ..plain("period", AttrType::Integer, "TOTP time step in seconds.") },
    Attribute {
        canonical_values: Origin::NAMES,
        column: Some("origin"),
        ..plain("origin", AttrType::String, "imported (from a seed file) or enrolled (a fresh secret).")
    },
    Attribute {
        canonical_values: DeviceState::NAMES,
        column: Some(STATE_SQL),
        ..plain(
            "status",
            AttrType::String,
            "available (in stock, no owner), assigned (handed out, not yet validated: OtpDevice C), \
             activated (V), locked (L), disabled (D).",
        )
    },
    Attribute {
        mutability: Mutability::ReadWrite,
        sub_attributes: &OATH_OWNER_ATTRIBUTES,
        ..plain(
            "owner",
            AttrType::Complex,
            "The user (Users) it is handed out to: setting owner.value (their id) or owner.display (their \
             userName, created when absent) hands an available token out; removing it takes it back.",
        )
    },
    Attribute {
        column: Some("time_drift"),
        ..plain(
            "timeDrift",
            AttrType::Integer,
            "TOTP: the token's clock offset in time steps (positive: ahead), learnt at each success and by resync.",
        )
    },
    device_instant("startDate", "valid_from", "Valid from, as the seed file said (RFC 3339)."),
    device_instant("expiryDate", "valid_until", "Valid until, as the seed file said (RFC 3339)."),
    device_instant("assigned", "assigned", "When it was handed out or enrolled (RFC 3339)."),
    device_instant("activated", "activated", "When its first validation succeeded (RFC 3339)."),
    device_instant("lastUsed", "last_used", "Its last successful validation (RFC 3339)."),
    Attribute { sub_attributes: META_ATTRIBUTES, ..plain("meta", AttrType::Complex, "Resource metadata.") },
];

/// Device: the TOTP and HOTP devices of a tenant, hardware tokens in stock included (SPEC §19).
pub static OATH_DEVICE: Resource = Resource {
    name: "Device",
    endpoint: "/Device",
    schema: OATH_DEVICE_SCHEMA,
    description: "TOTP or HOTP device: a hardware token in stock or handed out, or an enrolled device",
    attributes: OATH_DEVICE_ATTRIBUTES,
};

/// A text attribute a client writes, compared case-insensitively (RFC 7643 §4.1's default).
const fn writable(name: &'static str, column: &'static str, description: &'static str) -> Attribute {
    Attribute {
        mutability: Mutability::ReadWrite,
        case_exact: false,
        column: Some(column),
        ..plain(name, AttrType::String, description)
    }
}

static NAME_ATTRIBUTES: &[Attribute] = &[
    writable("formatted", "formatted_name", "The full name, as it is displayed (\"Ms. Barbara J Jensen\")."),
    writable("familyName", "family_name", "Family name (last name in most Western languages)."),
    writable("givenName", "given_name", "Given name (first name in most Western languages)."),
];

/// The entries of `emails` and `phoneNumbers`: one table, told apart by `kind`.
const fn entry_attributes(types: &'static [&'static str]) -> [Attribute; 3] {
    [
        Attribute {
            required: true,
            column: Some("c.value"),
            ..writable("value", "", "The address or number.")
        },
        Attribute {
            canonical_values: types,
            column: Some("c.type"),
            ..writable("type", "", "What the entry is for; the canonical values are stored in lower case.")
        },
        Attribute {
            mutability: Mutability::ReadWrite,
            column: Some("c.is_primary"),
            ..plain("primary", AttrType::Boolean, "The preferred entry; at most one entry is primary.")
        },
    ]
}

static EMAIL_ATTRIBUTES: &[Attribute] = &entry_attributes(&["work", "home", "other"]);
static PHONE_ATTRIBUTES: &[Attribute] =
    &entry_attributes(&["work", "home", "mobile", "fax", "pager", "other"]);

/// The core User schema as far as it is kept (SPEC §17); other core attributes a client sends are
/// accepted and not stored, so they are not listed.
pub static USER_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        returned: Returned::Always,
        uniqueness: Uniqueness::Server,
        column: Some("CAST(users.id AS TEXT)"),
        ..plain(
            "id",
            AttrType::String,
            "Server-assigned identifier (the decimal digits of an integer), never reused.",
        )
    },
    Attribute {
        case_exact: true,
        ..writable(
            "externalId",
            "external_id",
            "The provisioning client's own identifier for the user (RFC 7643 §3.1), 1-256 characters.",
        )
    },
    Attribute {
        required: true,
        uniqueness: Uniqueness::Server,
        input: Some(Input::Text),
        ..writable(
            "userName",
            "user_name",
            "Unique name of the user in its tenant, compared case-insensitively (1-64 characters); \
             the user of its OtpDevices.",
        )
    },
    Attribute {
        input: Some(Input::Text),
        ..writable("displayName", "display_name", "Name of the user, suitable for display.")
    },
    Attribute {
        mutability: Mutability::ReadWrite,
        sub_attributes: NAME_ATTRIBUTES,
        ..plain("name", AttrType::Complex, "The components of the user's name.")
    },
    Attribute {
        mutability: Mutability::ReadWrite,
        column: Some("active"),
        ..plain(
            "active",
            AttrType::Boolean,
            "Whether the user may authenticate (default true); when false every challenge and \
             validation of the user's devices is refused and counts nothing.",
        )
    },
    Attribute {
        multi_valued: true,
        mutability: Mutability::ReadWrite,
        entries_sql: Some("users.id IN (SELECT c.user_id FROM user_contacts c WHERE c.kind = 'email'"),
        sub_attributes: EMAIL_ATTRIBUTES,
        ..plain("emails", AttrType::Complex, "Email addresses of the user.")
    },
    Attribute {
        multi_valued: true,
        mutability: Mutability::ReadWrite,
        entries_sql: Some("users.id IN (SELECT c.user_id FROM user_contacts c WHERE c.kind = 'phone'"),
        sub_attributes: PHONE_ATTRIBUTES,
        ..plain("phoneNumbers", AttrType::Complex, "Phone numbers of the user.")
    },
    Attribute { sub_attributes: META_ATTRIBUTES, ..plain("meta", AttrType::Complex, "Resource metadata.") },
];

/// User: the people devices belong to, as provisioning clients push them (SPEC §17).
pub static USER: Resource = Resource {
    name: "User",
    endpoint: "/Users",
    schema: USER_SCHEMA,
    description: "User Account",
    attributes: USER_ATTRIBUTES,
};

/// A readWrite number of a policy, filterable and sortable by its column.
const fn policy_number(name: &'static str, column: &'static str, description: &'static str) -> Attribute {
    Attribute {
        mutability: Mutability::ReadWrite,
        column: Some(column),
        input: Some(Input::Number),
        ..plain(name, AttrType::Integer, description)
    }
}

static PROMPT_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        mutability: Mutability::ReadWrite,
        required: true,
        ..plain(
            "value",
            AttrType::String,
            "The prompt's code: 1-32 of A-Z, 0-9 and _, starting with a letter.",
        )
    },
    Attribute {
        mutability: Mutability::ReadWrite,
        required: true,
        ..plain("display", AttrType::String, "The question a user is asked (1-256 characters).")
    },
];

/// The AuthenticatorPolicy schema (SPEC §18). The code is the id: HID's references name
/// policies by code.
pub static POLICY_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        mutability: Mutability::Immutable,
        returned: Returned::Always,
        uniqueness: Uniqueness::Server,
        column: Some("id"),
        input: Some(Input::Text),
        ..plain(
            "id",
            AttrType::String,
            "The policy's code, chosen on create: 1-32 of A-Z, 0-9 and _, starting with a letter \
             (AT_EMPOTP); assigned by the service (AP_ and 10 random letters and digits) when a \
             create leaves it out.",
        )
    },
    Attribute {
        mutability: Mutability::ReadWrite,
        column: Some("external_id"),
        ..plain(
            "externalId",
            AttrType::String,
            "The client's own identifier for the policy (RFC 7643 §3.1), 1-256 characters.",
        )
    },
    Attribute {
        mutability: Mutability::ReadWrite,
        case_exact: false,
        column: Some("display_name"),
        input: Some(Input::Text),
        ..plain(
            "displayName",
            AttrType::String,
            "Name of the policy, suitable for display (default: its code).",
        )
    },
    Attribute {
        mutability: Mutability::Immutable,
        required: true,
        case_exact: false,
        canonical_values: &["TOTP", "HOTP", "OOB_EMAIL", "OOB_SMS", "PASSWORD", "SECURITY_QUESTION"],
        column: Some("kind"),
        input: Some(Input::Choice(&[
            "TOTP",
            "HOTP",
            "OOB_EMAIL",
            "OOB_SMS",
            "PASSWORD",
            "SECURITY_QUESTION",
        ])),
        ..plain("kind", AttrType::String, "The kind of credential its authenticators hold.")
    },
    Attribute {
        mutability: Mutability::ReadWrite,
        column: Some("is_default"),
        ..plain(
            "default",
            AttrType::Boolean,
            "Whether devices created through /OtpDevice bind to this policy: exactly one per kind. \
             Making a policy the default takes it from the one before.",
        )
    },
    policy_number(
        "maxFails",
        "max_fails",
        "Consecutive failures that disable an authenticator and lock its devices (1-100; default: \
         the max_fails setting).",
    ),
    policy_number(
        "validityDays",
        "validity_days",
        "Days an authenticator is valid from its start (0: no expiry).",
    ),
    policy_number(
        "maxUsages",
        "max_usages",
        "Successful validations an authenticator allows (0: unlimited).",
    ),
    Attribute {
        mutability: Mutability::ReadWrite,
        canonical_values: Algorithm::NAMES,
        column: Some("algorithm"),
        input: Some(Input::Choice(&["", "SHA1", "SHA256", "SHA512"])),
        ..plain("algorithm", AttrType::String, "TOTP and HOTP: the HMAC hash of new devices.")
    },
    policy_number("digits", "digits", "TOTP and HOTP: the code length of new devices (6 or 8)."),
    policy_number("period", "period", "TOTP: the time step of new devices in seconds (10-300)."),
    policy_number("codeTtlSeconds", "code_ttl", "OOB: how long a sent code stays valid (30-3600 seconds)."),
    Attribute {
        multi_valued: true,
        mutability: Mutability::ReadWrite,
        sub_attributes: PROMPT_ATTRIBUTES,
        ..plain("prompts", AttrType::Complex, "SECURITY_QUESTION: the questions a user answers (at most 20).")
    },
    policy_number(
        "promptsRequiredForCreation",
        "prompts_required",
        "SECURITY_QUESTION: how many prompts an authenticator must answer when created (default: all).",
    ),
    policy_number(
        "promptsAskedAtValidation",
        "prompts_asked",
        "SECURITY_QUESTION: how many of a user's prompts a validation asks, at random (default: 2).",
    ),
    Attribute { sub_attributes: META_ATTRIBUTES, ..plain("meta", AttrType::Complex, "Resource metadata.") },
];

/// AuthenticatorPolicy: what the authenticators bound to it allow (SPEC §18).
pub static POLICY: Resource = Resource {
    name: "AuthenticatorPolicy",
    endpoint: "/Policy/Authenticator",
    schema: POLICY_SCHEMA,
    description: "Authenticator policy",
    attributes: POLICY_ATTRIBUTES,
};

/// A reference's sub-attributes as the HID seed writes them: `type`, `value`, `display`, and the
/// URL under both `$ref` and `location`.
const fn reference_attributes(
    value_column: &'static str,
    display_column: Option<&'static str>,
    mutability: Mutability,
) -> [Attribute; 5] {
    [
        plain("type", AttrType::String, "The kind of resource referred to."),
        Attribute {
            mutability,
            column: Some(value_column),
            ..plain("value", AttrType::String, "The id of the resource referred to.")
        },
        Attribute {
            mutability,
            case_exact: false,
            column: display_column,
            ..plain("display", AttrType::String, "Its name, for display.")
        },
        plain("$ref", AttrType::Reference, "Its URL."),
        plain("location", AttrType::Reference, "Its URL again, as the seed's samples also name it."),
    ]
}

static OWNER_ATTRIBUTES: [Attribute; 5] =
    reference_attributes("user_id", Some("user_name"), Mutability::Immutable);
static AUTHENTICATOR_POLICY_ATTRIBUTES: [Attribute; 5] =
    reference_attributes("policy", Some("policy_display"), Mutability::Immutable);
static DEVICE_REFERENCE_ATTRIBUTES: [Attribute; 5] =
    reference_attributes("last_device_id", None, Mutability::ReadOnly);

/// Whether an authenticator validates now, as SQL over the store's `authenticator_rows` (the
/// store puts the request's instant in for `{now}`, an integer, never a client's text).
pub const AUTHENTICATOR_ACTIVE_SQL: &str = crate::standing::ACTIVE_SQL;

static AUTHENTICATOR_STATUS_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        mutability: Mutability::ReadWrite,
        canonical_values: &["ENABLED", "DISABLED"],
        column: Some("CASE WHEN enabled = 1 THEN 'ENABLED' ELSE 'DISABLED' END"),
        ..plain("status", AttrType::String, "ENABLED (default) or DISABLED.")
    },
    Attribute {
        column: Some(AUTHENTICATOR_ACTIVE_SQL),
        ..plain(
            "active",
            AttrType::Boolean,
            "Whether it validates now: ENABLED, not disabled by failures, within its validity dates, \
             its owner active, below its usage limit and (except security questions) with a device \
             in C or V.",
        )
    },
    Attribute {
        mutability: Mutability::ReadWrite,
        column: Some("start_date"),
        ..plain("startDate", AttrType::DateTime, "Valid from (RFC 3339; default: when created).")
    },
    Attribute {
        mutability: Mutability::ReadWrite,
        column: Some("expiry_date"),
        ..plain(
            "expiryDate",
            AttrType::DateTime,
            "Valid until (RFC 3339; default: start plus the policy's validityDays, none when 0).",
        )
    },
];

const fn statistic(name: &'static str, column: &'static str, description: &'static str) -> Attribute {
    Attribute { column: Some(column), ..plain(name, AttrType::Integer, description) }
}

static STATISTICS_ATTRIBUTES: &[Attribute] = &[
    statistic(
        "consecutiveFailed",
        "consecutive_failed",
        "Failed validations since the last success or RESET.",
    ),
    statistic("consecutiveSuccess", "consecutive_success", "Successful validations since the last failure."),
    statistic("totalFailed", "total_failed", "Failed validations in all."),
    statistic("totalSuccess", "total_success", "Successful validations in all."),
    statistic("maximumNumberOfUsages", "max_usages", "The policy's maxUsages (0: unlimited)."),
];

static PASSWORD_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        mutability: Mutability::Immutable,
        ..plain(
            "username",
            AttrType::String,
            "The name the password is for, as the create gave it (the owner's userName when left out).",
        )
    },
    Attribute {
        mutability: Mutability::WriteOnly,
        returned: Returned::Never,
        input: Some(Input::Password),
        ..plain(
            "password",
            AttrType::String,
            "The password (4-128 characters, no surrounding whitespace); stored only as a slow salted hash, never returned.",
        )
    },
];

static PROMPT_REFERENCE_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        mutability: Mutability::ReadWrite,
        required: true,
        ..plain("value", AttrType::String, "The prompt's code, one of the policy's prompts.")
    },
    plain("display", AttrType::String, "The question, as the policy words it."),
];

static ANSWERED_PROMPT_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        mutability: Mutability::ReadWrite,
        required: true,
        sub_attributes: PROMPT_REFERENCE_ATTRIBUTES,
        ..plain("prompt", AttrType::Complex, "The question answered.")
    },
    Attribute {
        mutability: Mutability::WriteOnly,
        returned: Returned::Never,
        required: true,
        ..plain(
            "answer",
            AttrType::String,
            "The answer (1-256 characters); compared trimmed, with inner spaces collapsed and case \
             folded; stored only as a slow salted hash, never returned.",
        )
    },
];

static SECURITY_QUESTION_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        multi_valued: true,
        mutability: Mutability::ReadWrite,
        sub_attributes: ANSWERED_PROMPT_ATTRIBUTES,
        ..plain("prompts", AttrType::Complex, "The prompts answered, each from the policy, none twice.")
    },
    plain(
        "promptsRequiredForCreation",
        AttrType::Integer,
        "The policy's promptsRequiredForCreation: how many prompts must be answered.",
    ),
];

static ENROLLMENT_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        returned: Returned::Request,
        ..plain("deviceId", AttrType::Integer, "The OtpDevice enrolled with the authenticator.")
    },
    Attribute {
        returned: Returned::Request,
        ..plain("otpauthUri", AttrType::Reference, "Key URI for authenticator apps, returned once.")
    },
    Attribute {
        returned: Returned::Request,
        ..plain("image", AttrType::String, "Base64 PNG of the QR code of otpauthUri, returned once.")
    },
    Attribute {
        returned: Returned::Request,
        ..plain(
            "activationCode",
            AttrType::String,
            "REGISTER-OOB: the code that activates the device, returned once.",
        )
    },
];

static ACTION_ENTRY_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        mutability: Mutability::ReadWrite,
        ..plain("name", AttrType::String, "The attribute's name (RESPONSE, DEVICE.ID, CHALLENGE.ID, ...).")
    },
    Attribute {
        mutability: Mutability::ReadWrite,
        ..plain("value", AttrType::String, "Its value, as a string.")
    },
    plain("type", AttrType::String, "Always string."),
    plain("readOnly", AttrType::Boolean, "Always false."),
];

/// `urn:hid:scim:api:idp:2.0:Action`: a named action and its attributes, in a request and in
/// its answer.
pub static ACTION_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        mutability: Mutability::ReadWrite,
        required: true,
        canonical_values: &ACTION_NAMES,
        ..plain("action", AttrType::String, "The action's name.")
    },
    Attribute {
        multi_valued: true,
        mutability: Mutability::ReadWrite,
        sub_attributes: ACTION_ENTRY_ATTRIBUTES,
        ..plain(
            "attributes",
            AttrType::Complex,
            "The action's inputs in a request, its results in an answer.",
        )
    },
];

pub static AUTHENTICATOR_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        returned: Returned::Always,
        uniqueness: Uniqueness::Server,
        column: Some("scim_id"),
        ..plain("id", AttrType::String, "<owner id>.<policy code> (10033.AT_EMPOTP).")
    },
    Attribute {
        case_exact: false,
        column: Some("user_name"),
        ..plain("externalId", AttrType::String, "The owner's userName.")
    },
    Attribute {
        mutability: Mutability::Immutable,
        required: true,
        sub_attributes: &OWNER_ATTRIBUTES,
        ..plain(
            "owner",
            AttrType::Complex,
            "The user (Users) it belongs to: owner.value (their id) or owner.display (their userName, \
             created when absent) on create.",
        )
    },
    Attribute {
        mutability: Mutability::Immutable,
        required: true,
        sub_attributes: &AUTHENTICATOR_POLICY_ATTRIBUTES,
        ..plain("policy", AttrType::Complex, "Its authenticator policy: policy.value (the code) on create.")
    },
    Attribute {
        mutability: Mutability::ReadWrite,
        sub_attributes: AUTHENTICATOR_STATUS_ATTRIBUTES,
        ..plain("status", AttrType::Complex, "Whether it is enabled, and when it is valid.")
    },
    Attribute {
        sub_attributes: STATISTICS_ATTRIBUTES,
        ..plain("statistics", AttrType::Complex, "Counts of its validations.")
    },
    Attribute {
        sub_attributes: &DEVICE_REFERENCE_ATTRIBUTES,
        ..plain("lastSuccessfulDevice", AttrType::Complex, "The OtpDevice of its last successful validation.")
    },
    Attribute {
        mutability: Mutability::ReadWrite,
        sub_attributes: PASSWORD_ATTRIBUTES,
        ..plain(PASSWORD_SCHEMA, AttrType::Complex, "The password of a PASSWORD authenticator.")
    },
    Attribute {
        mutability: Mutability::ReadWrite,
        sub_attributes: SECURITY_QUESTION_ATTRIBUTES,
        ..plain(
            SECURITY_QUESTION_SCHEMA,
            AttrType::Complex,
            "The answered prompts of a SECURITY_QUESTION authenticator.",
        )
    },
    Attribute {
        returned: Returned::Request,
        sub_attributes: ENROLLMENT_ATTRIBUTES,
        ..plain(
            ENROLLMENT_SCHEMA,
            AttrType::Complex,
            "What a create that enrols a device returns once: the device, and its key URI and QR code \
             (TOTP, HOTP) or activation code (REGISTER-OOB).",
        )
    },
    Attribute { sub_attributes: META_ATTRIBUTES, ..plain("meta", AttrType::Complex, "Resource metadata.") },
];

pub static AUTHENTICATOR: Resource = Resource {
    name: "Authenticator",
    endpoint: "/Authenticator",
    schema: AUTHENTICATOR_SCHEMA,
    description: "HID ActivID authenticator: a user's credential under one authenticator policy",
    attributes: AUTHENTICATOR_ATTRIBUTES,
};

/// An audit event's metadata: it never changes, so it was created and last modified `at`.
static AUDIT_META_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        returned: Returned::Always,
        case_exact: false,
        ..plain("resourceType", AttrType::String, "The name of the resource type.")
    },
    Attribute { column: Some("at"), ..plain("created", AttrType::DateTime, "When it happened (RFC 3339).") },
    Attribute {
        column: Some("at"),
        ..plain("lastModified", AttrType::DateTime, "When it happened: an event never changes.")
    },
    plain("location", AttrType::Reference, "Absolute URL of the event."),
    plain("version", AttrType::String, "Weak ETag; an event has one version."),
];

/// A read-only attribute of an audit event, filterable and sortable by its column.
const fn audit_column(
    name: &'static str,
    kind: AttrType,
    column: &'static str,
    description: &'static str,
) -> Attribute {
    Attribute { column: Some(column), ..plain(name, kind, description) }
}

/// The AuditEvent schema (SPEC §12): the audit trail, read-only and tenant-wide.
pub static AUDIT_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        returned: Returned::Always,
        uniqueness: Uniqueness::Server,
        ..audit_column(
            "id",
            AttrType::String,
            "id",
            "Server-assigned identifier (the decimal digits of an integer); later events have larger ids.",
        )
    },
    audit_column("at", AttrType::DateTime, "at", "When it happened (RFC 3339)."),
    audit_column(
        "actor",
        AttrType::String,
        "actor",
        "The principal that made the request, or scim-otp for what the service did on its own.",
    ),
    audit_column(
        "action",
        AttrType::String,
        "action",
        "What happened: challenge-success, challenge-failure, patch, authenticator-reset, user-delete, …",
    ),
    audit_column("deviceId", AttrType::Integer, "device_id", "The OtpDevice it concerns, if one."),
    audit_column("userId", AttrType::String, "user_id", "The id of the User it concerns, if one."),
    audit_column(
        "authenticator",
        AttrType::String,
        "authenticator",
        "The id of the Authenticator it concerns (<user id>.<policy>), if one.",
    ),
    audit_column("detail", AttrType::String, "detail", "What changed, in words; never a secret or a code."),
    Attribute {
        sub_attributes: AUDIT_META_ATTRIBUTES,
        ..plain("meta", AttrType::Complex, "Resource metadata.")
    },
];

pub static AUDIT: Resource = Resource {
    name: "AuditEvent",
    endpoint: "/Audit",
    schema: AUDIT_SCHEMA,
    description: "The audit trail: who did what, when, to which device, user or authenticator (read-only)",
    attributes: AUDIT_ATTRIBUTES,
};

/// Every resource type, in the order discovery lists them.
pub static RESOURCES: &[&Resource] = &[&DEVICE, &OATH_DEVICE, &USER, &AUTHENTICATOR, &POLICY, &AUDIT];

/// The attributes the create dialog asks for, for one device type, in table order.
pub fn create_fields(t: DeviceType) -> impl Iterator<Item = &'static Attribute> {
    DEVICE_ATTRIBUTES.iter().filter(move |a| a.input.is_some() && a.applies_to_type(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression, from the `validate` fuzz target: a multi-byte character where the URN's last
    /// byte would be panicked on a slice that is not a char boundary.
    #[test]
    fn schema_prefix_with_any_utf8() {
        let odd = format!("{}\u{8888}rest", &DEVICE_SCHEMA[..DEVICE_SCHEMA.len() - 2]);
        assert_eq!(DEVICE.strip_urn(&odd), odd);
        assert_eq!(DEVICE.strip_urn("袈"), "袈");
        assert_eq!(DEVICE.strip_urn(&format!("{}:status", DEVICE_SCHEMA.to_uppercase())), "status");
    }

    #[test]
    fn paths_resolve_case_insensitively_with_or_without_urn() {
        assert_eq!(DEVICE.resolve_path("lastused").map(|a| a.name), Some("lastUsed"));
        assert_eq!(
            DEVICE.resolve_path("urn:soffid:com.soffid.iam.addons.otp.common.OtpDevice:User").map(|a| a.name),
            Some("user")
        );
        assert_eq!(DEVICE.resolve_path("META.LastModified").map(|a| a.column), Some(Some("modified")));
        assert!(DEVICE.resolve_path("userName").is_none());
        assert_eq!(USER.resolve_path("userName").map(|a| a.column), Some(Some("user_name")));
        assert_eq!(USER.resolve_path("Emails.VALUE").map(|a| a.column), Some(Some("c.value")));
        assert_eq!(
            USER.resolve_path("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName").map(|a| a.name),
            Some("givenName")
        );
        assert!(DEVICE.resolve_path("status.value").is_none());
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
        let required: Vec<_> = DEVICE_ATTRIBUTES.iter().filter(|a| a.required).map(|a| a.name).collect();
        assert_eq!(required, ["type", "user"]);
    }
}
