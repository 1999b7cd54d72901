//! The `Device` resource (SPEC §19): every TOTP and HOTP device of a tenant, hardware tokens in
//! stock or handed out and devices enrolled through either dialect, as an inventory sees them.
//! Its row is the OtpDevice's row; this is another view of it, with the token's own attributes
//! (serial, manufacturer, model, clock drift) and a status an inventory speaks.

pub use crate::urn::{
    DEVICE_COUNTS_SCHEMA, DEVICE_EXPORT_SCHEMA, DEVICE_IMPORT_RESULT_SCHEMA, DEVICE_IMPORT_SCHEMA,
    OATH_DEVICE_SCHEMA,
};

use crate::Problem;
use crate::authenticator::Reference;
use crate::authenticator_body::{Owner, owner_parts};
use crate::input;
use crate::model::{Algorithm, DeviceType, Meta, Status, wire_enum};
use crate::schema::{Mutability, OATH_DEVICE};
use crate::timestamp::{self, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

wire_enum!(
    /// Where a device is in an inventory's lifecycle.
    DeviceState {
        Available = "available",
        Assigned = "assigned",
        Activated = "activated",
        Locked = "locked",
        Disabled = "disabled",
    }
);

/// What the store keeps in a device's `status` for a token in stock: the four Soffid statuses
/// are the rest of the lifecycle.
pub const IN_STOCK: &str = "A";

/// `status` as SQL over the store's `devices` row: the one mapping that listings filter and sort
/// on, and that [`DeviceState::of_stored`] reads back (a test holds them together).
pub const STATE_SQL: &str = "CASE status WHEN 'A' THEN 'available' WHEN 'C' THEN 'assigned' \
                             WHEN 'V' THEN 'activated' WHEN 'L' THEN 'locked' WHEN 'D' THEN 'disabled' END";

impl DeviceState {
    /// The state of a device whose stored status is `stored` (`A`, or one of Soffid's).
    pub fn of_stored(stored: &str) -> Option<DeviceState> {
        if stored == IN_STOCK {
            return Some(DeviceState::Available);
        }
        Some(match Status::parse(stored)? {
            Status::Created => DeviceState::Assigned,
            Status::Validated => DeviceState::Activated,
            Status::Locked => DeviceState::Locked,
            Status::Disabled => DeviceState::Disabled,
        })
    }
}

wire_enum!(
    /// How a device came to be: from a seed file, or enrolled with a fresh seed.
    Origin { Imported = "imported", Enrolled = "enrolled" }
);

/// A TOTP or HOTP device as `/Device` shows it. Its secret is never here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OathDevice {
    pub schemas: Vec<String>,
    /// The decimal digits of the device's integer id, the same id `/OtpDevice` uses.
    pub id: String,
    /// The vendor's serial of an imported token; an enrolled device's generated name.
    pub serial_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(rename = "type")]
    pub device_type: DeviceType,
    pub algorithm: Algorithm,
    pub digits: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u32>,
    pub origin: Origin,
    pub status: DeviceState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Reference>,
    /// TOTP: the token's clock offset in time steps (positive: the token runs ahead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_drift: Option<i64>,
    /// The validity a seed file gave the token: outside it, validations are refused.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "timestamp::optional_rfc3339")]
    pub start_date: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "timestamp::optional_rfc3339")]
    pub expiry_date: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "timestamp::optional_rfc3339")]
    pub assigned: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "timestamp::optional_rfc3339")]
    pub activated: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "timestamp::optional_rfc3339")]
    pub last_used: Option<Timestamp>,
    pub meta: Meta,
}

impl OathDevice {
    /// Its owner's user id, empty when it has none.
    pub fn owner_id(&self) -> &str {
        self.owner.as_ref().map_or("", |o| o.value.as_str())
    }
}

wire_enum!(
    /// The kind of seed file an import reads.
    SeedFormat { Pskc = "pskc", Csv = "csv" }
);

wire_enum!(
    /// What became of one token of an import.
    ImportOutcome { Imported = "imported", Duplicate = "duplicate", Unsupported = "unsupported", Invalid = "invalid" }
);

/// `POST /Device/.import` as read (SPEC §19). Debug never shows the file, the key or the
/// password.
#[derive(Clone, PartialEq, Eq)]
pub struct ImportRequest {
    pub format: SeedFormat,
    pub document: String,
    pub pre_shared_key: Option<Vec<u8>>,
    pub password: Option<String>,
    pub assign_users: bool,
    pub dry_run: bool,
}

impl std::fmt::Debug for ImportRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportRequest")
            .field("format", &self.format)
            .field("document", &format_args!("{} bytes", self.document.len()))
            .field("assign_users", &self.assign_users)
            .field("dry_run", &self.dry_run)
            .finish_non_exhaustive()
    }
}

/// Reads an import request: `format` and `document` required, `preSharedKey` in hex, the rest
/// optional. Unknown members are refused, as a typo in `dryRun` must not import for real.
pub fn read_import_request(body: &Value) -> Result<ImportRequest, Problem> {
    let map = body.as_object().ok_or_else(|| Problem::Syntax("an import is a JSON object".into()))?;
    let (mut format, mut document, mut key, mut password) = (None, None, None, None);
    let (mut assign_users, mut dry_run) = (false, false);
    for (name, value) in map {
        match name.to_ascii_lowercase().as_str() {
            "schemas" => {}
            "format" => {
                format = Some(
                    value
                        .as_str()
                        .and_then(SeedFormat::parse)
                        .ok_or(Problem::invalid("format", "must be pskc or csv"))?,
                );
            }
            "document" => {
                document =
                    Some(value.as_str().ok_or(Problem::invalid("document", "must be the file's text"))?);
            }
            "presharedkey" if !value.is_null() => {
                let hex = value.as_str().ok_or(Problem::invalid("preSharedKey", "must be hexadecimal"))?;
                let compact: String = hex.chars().filter(|c| !c.is_whitespace()).collect();
                key = Some(
                    data_encoding::HEXLOWER_PERMISSIVE
                        .decode(compact.as_bytes())
                        .map_err(|_| Problem::invalid("preSharedKey", "must be hexadecimal"))?,
                );
            }
            "password" if !value.is_null() => {
                password =
                    Some(value.as_str().ok_or(Problem::invalid("password", "must be a string"))?.to_owned());
            }
            "presharedkey" | "password" => {}
            "assignusers" => assign_users = input::boolean("assignUsers", value)?,
            "dryrun" => dry_run = input::boolean("dryRun", value)?,
            _ => return Err(Problem::UnknownAttribute(name.clone())),
        }
    }
    Ok(ImportRequest {
        format: format.ok_or(Problem::MissingAttribute("format"))?,
        document: document.ok_or(Problem::MissingAttribute("document"))?.to_owned(),
        pre_shared_key: key,
        password,
        assign_users,
        dry_run,
    })
}

/// `POST /Device/.export` as read: the password the file is encrypted under and the filter
/// (over `/Device`) of what it holds. Debug never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ExportRequest {
    pub password: String,
    pub filter: Option<String>,
}

impl std::fmt::Debug for ExportRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportRequest").field("filter", &self.filter).finish_non_exhaustive()
    }
}

/// The shortest export password: the file leaves the service, and its PBKDF2 is all that
/// stands between a copy of it and every secret in it.
pub const EXPORT_PASSWORD_MIN: usize = 12;

pub fn read_export_request(body: &Value) -> Result<ExportRequest, Problem> {
    let map = body.as_object().ok_or_else(|| Problem::Syntax("an export is a JSON object".into()))?;
    let (mut password, mut filter) = (None, None);
    for (name, value) in map {
        match name.to_ascii_lowercase().as_str() {
            "schemas" => {}
            "password" => {
                let text = value.as_str().ok_or(Problem::invalid("password", "must be a string"))?;
                if text.chars().count() < EXPORT_PASSWORD_MIN {
                    return Err(Problem::invalid("password", "must be at least 12 characters"));
                }
                password = Some(text.to_owned());
            }
            "filter" if value.is_null() => {}
            "filter" => {
                filter =
                    Some(value.as_str().ok_or(Problem::invalid("filter", "must be a string"))?.to_owned());
            }
            _ => return Err(Problem::UnknownAttribute(name.clone())),
        }
    }
    Ok(ExportRequest { password: password.ok_or(Problem::MissingAttribute("password"))?, filter })
}

/// Soffid's `POST /OtpDevice` naming a token in stock (SPEC §19): `serialNumber`, `user`, and
/// `type` if the client sends it. `None` when the body names no serial (an enrolment).
pub fn read_hand_out(body: &Value) -> Result<Option<(String, String, Option<DeviceType>)>, Problem> {
    let Some(map) = body.as_object() else { return Ok(None) };
    let member = |name: &str| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
    let Some(serial) = member("serialNumber") else { return Ok(None) };
    let serial = serial.as_str().ok_or(Problem::invalid("serialNumber", "must be a token's serial"))?;
    let user = member("user").ok_or(Problem::MissingAttribute("user"))?;
    let user = input::text("user", user, 64)?.trim();
    if user.is_empty() {
        return Err(Problem::invalid("user", "must be a user name"));
    }
    let device_type = member("type")
        .map(|t| {
            t.as_str().and_then(DeviceType::parse).ok_or(Problem::invalid("type", "must be TOTP or HOTP"))
        })
        .transpose()?;
    for (key, _) in map {
        let known = ["schemas", "serialNumber", "user", "type"].iter().any(|k| k.eq_ignore_ascii_case(key));
        if !known {
            // A token carries its own secret and parameters: nothing else applies.
            return Err(Problem::UnknownAttribute(key.clone()));
        }
    }
    Ok(Some((serial.trim().to_owned(), user.to_owned(), device_type)))
}

/// `GET /Device/.counts`: how many devices matching a filter there are of each manufacturer,
/// model and status (the admin app's inventory), counted by SQLite. Groups with none are left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceCounts {
    pub schemas: Vec<String>,
    pub groups: Vec<DeviceCount>,
}

/// The devices of one manufacturer, model and status (`None`: the file named none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceCount {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub status: DeviceState,
    pub count: u64,
}

/// One token of an import, as the answer reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportedKey {
    pub serial_number: String,
    pub outcome: ImportOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl ImportedKey {
    pub fn new(serial: &str, outcome: ImportOutcome, detail: Option<String>) -> ImportedKey {
        ImportedKey { serial_number: serial.to_owned(), outcome, id: None, detail }
    }
}

/// The answer of `POST /Device/.import`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceImportResult {
    pub schemas: Vec<String>,
    pub imported: u64,
    /// Duplicates.
    pub skipped: u64,
    /// Unsupported and invalid keys.
    pub failed: u64,
    pub results: Vec<ImportedKey>,
}

impl DeviceImportResult {
    pub fn of(results: Vec<ImportedKey>) -> DeviceImportResult {
        let count = |outcomes: &[ImportOutcome]| {
            results.iter().filter(|r| outcomes.contains(&r.outcome)).count() as u64
        };
        DeviceImportResult {
            schemas: vec![DEVICE_IMPORT_RESULT_SCHEMA.to_owned()],
            imported: count(&[ImportOutcome::Imported]),
            skipped: count(&[ImportOutcome::Duplicate]),
            failed: count(&[ImportOutcome::Unsupported, ImportOutcome::Invalid]),
            results,
        }
    }
}

/// A token for the stock, as a seed file describes it (its secret travels beside it, sealed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenData {
    pub serial_number: String,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    /// TOTP or HOTP.
    pub device_type: DeviceType,
    pub algorithm: Algorithm,
    pub digits: u32,
    /// TOTP: the time step in seconds.
    pub period: Option<u32>,
    /// HOTP: the next counter value the token will use. TOTP: the last time step a code of it was
    /// accepted at, as the system it comes from wrote it (privacyIDEA writes it as the PSKC
    /// `Counter`), so that a code used there is no good here either.
    pub counter: Option<u64>,
    /// TOTP: the token's clock offset in time steps.
    pub time_drift: i64,
    pub start_date: Option<Timestamp>,
    pub expiry_date: Option<Timestamp>,
}

/// What a replace or PATCH of a Device may change (SPEC §19): its owner, manufacturer and model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceChanges {
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub owner: OwnerChange,
}

/// What a body says of a device's owner, against the owner it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerChange {
    /// The owner it has (or none, when it has none).
    Keep,
    /// An owner for a device that has none: the token is handed out.
    HandOut(Owner),
    /// No owner for a device that has one: the token is taken back.
    TakeBack,
    /// Another owner for a device that has one: refused (take it back first).
    Another(Owner),
}

/// The longest manufacturer or model kept.
const DETAIL_MAX: usize = 256;

/// Reads a replace body (or a PATCH applied to the device's JSON form) against the device as it
/// is: `owner`, `manufacturer` and `model` are written; the other attributes may be sent back as
/// they are (a client that read the device and writes it whole), and changing one of them is
/// 400 `mutability`.
pub fn read_device_body(body: &Value, current: &OathDevice) -> Result<DeviceChanges, Problem> {
    let map = body.as_object().ok_or_else(|| Problem::Syntax("a Device is a JSON object".into()))?;
    let shown = serde_json::to_value(current).map_err(|e| Problem::Syntax(e.to_string()))?;
    let mut changes = DeviceChanges { manufacturer: None, model: None, owner: OwnerChange::Keep };
    let mut owner_named = None;
    for (key, value) in map {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        let attribute = OATH_DEVICE
            .resolve(key)
            .filter(|r| r.parent.is_none())
            .map(|r| r.attribute)
            .ok_or_else(|| Problem::UnknownAttribute(key.clone()))?;
        match attribute.name {
            "manufacturer" => changes.manufacturer = detail("manufacturer", value)?,
            "model" => changes.model = detail("model", value)?,
            "owner" => {
                owner_named = (!value.is_null()).then(|| owner_parts(&OATH_DEVICE, value)).transpose()?
            }
            // What the service writes: sent back as read, it changes nothing.
            "meta" => {}
            name => {
                debug_assert!(attribute.mutability != Mutability::ReadWrite, "{name} is written above");
                if shown.get(name) != Some(value) && !(value.is_null() && shown.get(name).is_none()) {
                    return Err(Problem::Mutability { attribute: attribute.name });
                }
            }
        }
    }
    changes.owner = match (current.owner.as_ref(), owner_named) {
        (None, None) | (None, Some((None, None))) => OwnerChange::Keep,
        (Some(_), None) => OwnerChange::TakeBack,
        (current, Some((id, name))) => {
            // What differs from the owner it has names the new one (a PATCH that replaces
            // `owner.display` keeps the `owner.value` it read).
            let id = id.filter(|id| current.is_none_or(|c| c.value != id.to_string()));
            let name = name.filter(|n| {
                current.is_none_or(|c| !c.display.as_deref().is_some_and(|d| d.eq_ignore_ascii_case(n)))
            });
            match (current, id, name) {
                (_, None, None) => OwnerChange::Keep,
                (None, Some(id), _) => OwnerChange::HandOut(Owner::Id(id)),
                (None, None, Some(name)) => OwnerChange::HandOut(Owner::UserName(name)),
                (Some(_), Some(id), _) => OwnerChange::Another(Owner::Id(id)),
                (Some(_), None, Some(name)) => OwnerChange::Another(Owner::UserName(name)),
            }
        }
    };
    Ok(changes)
}

/// A manufacturer or model: text without control characters, trimmed; empty or null is none.
fn detail(attribute: &'static str, value: &Value) -> Result<Option<String>, Problem> {
    if value.is_null() {
        return Ok(None);
    }
    let text = input::text(attribute, value, DETAIL_MAX)?.trim();
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_sql_and_its_reading_agree() {
        for stored in ["A", "C", "V", "L", "D"] {
            let state = DeviceState::of_stored(stored).unwrap();
            assert!(
                STATE_SQL.contains(&format!("WHEN '{stored}' THEN '{}'", state.as_str())),
                "{stored} -> {state}"
            );
        }
        assert_eq!(STATE_SQL.matches("WHEN").count(), DeviceState::ALL.len());
        assert_eq!(DeviceState::of_stored("X"), None);
    }
}
