//! Create (POST) and replace (PUT) bodies checked against the attribute table, and the value
//! rules that PATCH shares with them.
//!
//! readOnly attributes in a body are ignored (RFC 7644 §3.3, §3.5.1: Soffid's own create example
//! sends `meta`); unknown ones are refused; immutable ones may be repeated but not changed.

use crate::error::Problem;
use crate::model::{Algorithm, DEVICE_SCHEMA, DeviceType, OtpDevice, Status};
use crate::schema::{Attribute, DEVICE, DEVICE_ATTRIBUTES, Mutability};
use serde_json::{Map, Value};

/// Server defaults for what a create request may leave out (Spin variables `otp_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defaults {
    pub algorithm: Algorithm,
    pub digits: u32,
    pub period: u32,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults { algorithm: Algorithm::Sha1, digits: 6, period: 30 }
    }
}

pub const DIGITS: [u32; 2] = [6, 8];
pub const PERIOD_RANGE: std::ops::RangeInclusive<u32> = 10..=300;
pub const USER_MAX: usize = 64;
pub const PIN_LENGTH: std::ops::RangeInclusive<usize> = 4..=32;
pub const EXTERNAL_ID_MAX: usize = 256;

/// A checked create request, with the server defaults filled in for the device's type.
#[derive(Clone, PartialEq, Eq)]
pub struct NewDevice {
    pub device_type: DeviceType,
    pub user: String,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub pin: Option<String>,
    pub algorithm: Option<Algorithm>,
    pub digits: Option<u32>,
    pub period: Option<u32>,
}

impl std::fmt::Debug for NewDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewDevice")
            .field("device_type", &self.device_type)
            .field("user", &self.user)
            .field("external_id", &self.external_id)
            .field("email", &self.email)
            .field("phone", &self.phone)
            .field("pin", &self.pin.as_ref().map(|_| "<hidden>"))
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .field("period", &self.period)
            .finish()
    }
}

/// The writable state of a device after a PUT or PATCH: what the store must write.
#[derive(Clone, PartialEq, Eq)]
pub struct Changes {
    pub status: Status,
    pub fails: u32,
    pub external_id: Option<String>,
    /// A new PIN (PIN devices only), to be hashed by the caller.
    pub pin: Option<String>,
}

impl std::fmt::Debug for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Changes")
            .field("status", &self.status)
            .field("fails", &self.fails)
            .field("external_id", &self.external_id)
            .field("pin", &self.pin.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

impl Changes {
    pub fn from_device(device: &OtpDevice) -> Changes {
        Changes {
            status: device.status,
            fails: device.fails,
            external_id: device.external_id.clone(),
            pin: None,
        }
    }

    /// SPEC §5: any status may move to any other except back to `C`; enabling a locked device
    /// also clears its failure count.
    pub fn set_status(&mut self, to: Status) -> Result<(), Problem> {
        if to == Status::Created && self.status != Status::Created {
            return Err(Problem::InvalidValue {
                attribute: "status",
                reason: "a device never returns to C (created); use V, L or D",
            });
        }
        if to == Status::Validated && self.status == Status::Locked {
            self.fails = 0;
        }
        self.status = to;
        Ok(())
    }

    /// Sets one writable attribute from a JSON value (PUT member, PATCH operation).
    pub fn set(
        &mut self,
        attribute: &'static Attribute,
        device_type: DeviceType,
        value: &Value,
    ) -> Result<(), Problem> {
        if !attribute.applies_to_type(device_type) {
            return Err(Problem::NotForType { attribute: attribute.name, device_type: device_type.as_str() });
        }
        match attribute.name {
            "status" => self.set_status(parse_status(value)?),
            "fails" => {
                self.fails = parse_fails(value)?;
                Ok(())
            }
            "pin" => {
                self.pin = Some(parse_pin(value)?);
                Ok(())
            }
            "externalId" => {
                self.external_id = Some(parse_external_id(value)?);
                Ok(())
            }
            _ => Err(Problem::Mutability { attribute: attribute.name }),
        }
    }

    /// Unassigns one writable attribute (PATCH `remove`); only optional ones may be.
    pub fn remove(&mut self, attribute: &'static Attribute) -> Result<(), Problem> {
        match attribute.name {
            "externalId" => {
                self.external_id = None;
                Ok(())
            }
            name => Err(Problem::invalid(name, "is required and cannot be removed")),
        }
    }
}

fn string<'a>(attribute: &'static str, value: &'a Value) -> Result<&'a str, Problem> {
    value.as_str().ok_or(Problem::invalid(attribute, "must be a string"))
}

fn no_control_chars(attribute: &'static str, text: &str) -> Result<(), Problem> {
    if text.chars().any(char::is_control) {
        return Err(Problem::invalid(attribute, "must not contain control characters"));
    }
    Ok(())
}

pub fn parse_status(value: &Value) -> Result<Status, Problem> {
    string("status", value)
        .ok()
        .and_then(Status::parse)
        .ok_or(Problem::invalid("status", "must be one of C, V, L, D"))
}

pub fn parse_fails(value: &Value) -> Result<u32, Problem> {
    value
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or(Problem::invalid("fails", "must be a non-negative integer"))
}

/// A PIN as create, PUT and PATCH take it. Surrounding whitespace is never part of a PIN: the
/// answer to a challenge is trimmed (a pasted code often carries a newline), so a PIN stored with
/// a leading or trailing space could never validate. Such a PIN is refused, not silently trimmed,
/// so that the user learns which PIN is really set.
pub fn parse_pin(value: &Value) -> Result<String, Problem> {
    let pin = string("pin", value)?;
    if pin.trim() != pin {
        return Err(Problem::invalid("pin", "must not begin or end with whitespace"));
    }
    if !PIN_LENGTH.contains(&pin.chars().count()) {
        return Err(Problem::invalid("pin", "must be 4 to 32 characters"));
    }
    no_control_chars("pin", pin)?;
    Ok(pin.to_owned())
}

/// RFC 7643 §3.1: the client's identifier, case-exact and never empty.
pub fn parse_external_id(value: &Value) -> Result<String, Problem> {
    let id = string("externalId", value)?;
    if id.is_empty() || id.chars().count() > EXTERNAL_ID_MAX {
        return Err(Problem::invalid("externalId", "must be 1 to 256 characters"));
    }
    no_control_chars("externalId", id)?;
    Ok(id.to_owned())
}

fn parse_user(value: &Value) -> Result<String, Problem> {
    let user = string("user", value)?;
    let length = user.chars().count();
    if length == 0 || length > USER_MAX || user.trim() != user {
        return Err(Problem::invalid(
            "user",
            "must be 1 to 64 characters without leading or trailing spaces",
        ));
    }
    no_control_chars("user", user)?;
    Ok(user.to_owned())
}

fn parse_email(value: &Value) -> Result<String, Problem> {
    email_address("email", string("email", value)?)
}

fn parse_phone(value: &Value) -> Result<String, Problem> {
    phone_number("phone", string("phone", value)?)
}

/// An email address as every way in takes it (a device's `email`, a user's `emails`, the owner's
/// address an OOB authenticator sends to): one address, `local@domain`, whose local part holds
/// letters, digits and RFC 5322's atom characters and whose domain has dotted labels of letters,
/// digits and `-`. No list, no display name, no quoting, no space: a gateway that splits on
/// `,` or `;` or reads `Name <addr>` would otherwise send the code to an address nobody checked.
pub fn email_address(attribute: &'static str, email: &str) -> Result<String, Problem> {
    const ATOM: &str = "!#$%&'*+/=?^_`{|}~.-";
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && local.len() <= 64
                && local.chars().all(|c| c.is_alphanumeric() || ATOM.contains(c))
                && domain.contains('.')
                && domain
                    .split('.')
                    .all(|label| !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-'))
        });
    if !valid {
        return Err(Problem::invalid(attribute, "must be one address like name@example.com"));
    }
    Ok(email.to_owned())
}

/// A phone number as every way in takes it: 6 to 15 digits, optionally after a `+`, with
/// spaces, dots, dashes or parentheses between them (RFC 3966's visual separators, as
/// directories write numbers); the number without them.
pub fn phone_number(attribute: &'static str, phone: &str) -> Result<String, Problem> {
    let (plus, rest) = match phone.trim().strip_prefix('+') {
        Some(rest) => ("+", rest),
        None => ("", phone.trim()),
    };
    let separator = |c: char| matches!(c, ' ' | '.' | '-' | '(' | ')');
    let digits: String = rest.chars().filter(|c| !separator(*c)).collect();
    if !(6..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Problem::invalid(attribute, "must be 6 to 15 digits, optionally after a +"));
    }
    Ok(format!("{plus}{digits}"))
}

fn parse_algorithm(value: &Value) -> Result<Algorithm, Problem> {
    string("algorithm", value)
        .ok()
        .and_then(Algorithm::parse)
        .ok_or(Problem::invalid("algorithm", "must be SHA1, SHA256 or SHA512"))
}

fn parse_digits(value: &Value) -> Result<u32, Problem> {
    value
        .as_u64()
        .and_then(|n| DIGITS.into_iter().find(|d| u64::from(*d) == n))
        .ok_or(Problem::invalid("digits", "must be 6 or 8"))
}

fn parse_period(value: &Value) -> Result<u32, Problem> {
    value
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| PERIOD_RANGE.contains(n))
        .ok_or(Problem::invalid("period", "must be an integer from 10 to 300 seconds"))
}

fn parse_type(value: &Value) -> Result<DeviceType, Problem> {
    string("type", value)
        .ok()
        .and_then(DeviceType::parse)
        .ok_or(Problem::invalid("type", "must be one of TOTP, HOTP, EMAIL, SMS, PIN"))
}

/// The members of a body that the client may set, by attribute; readOnly ones are dropped and
/// `null` counts as absent (RFC 7643 §2.5).
fn writable_members(body: &Value) -> Result<Vec<(&'static Attribute, &Value)>, Problem> {
    let object: &Map<String, Value> =
        body.as_object().ok_or_else(|| Problem::Syntax("the body must be a JSON object".into()))?;
    let mut members: Vec<(&'static Attribute, &Value)> = Vec::new();
    for (key, value) in object {
        if key.eq_ignore_ascii_case("schemas") {
            let lists_ours = value.as_array().is_some_and(|a| {
                a.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(DEVICE_SCHEMA)))
            });
            if !lists_ours {
                return Err(Problem::invalid(
                    "schemas",
                    "must list urn:soffid:com.soffid.iam.addons.otp.common.OtpDevice",
                ));
            }
            continue;
        }
        let attribute =
            DEVICE.attribute(DEVICE.strip_urn(key)).ok_or_else(|| Problem::UnknownAttribute(key.clone()))?;
        if attribute.mutability == Mutability::ReadOnly || value.is_null() {
            continue;
        }
        if members.iter().any(|(a, _)| a == &attribute) {
            return Err(Problem::Syntax(format!("attribute \"{}\" given twice", attribute.name)));
        }
        members.push((attribute, value));
    }
    Ok(members)
}

/// Checks a create body and fills in the defaults for the device's type.
pub fn validate_create(body: &Value, defaults: &Defaults) -> Result<NewDevice, Problem> {
    validate_create_with(body, |_| *defaults)
}

/// [`validate_create`] with the defaults of the device's type: those of the policy a new device
/// of that type is bound to.
pub fn validate_create_with(
    body: &Value,
    defaults_of: impl FnOnce(DeviceType) -> Defaults,
) -> Result<NewDevice, Problem> {
    let members = writable_members(body)?;
    let get = |name: &str| members.iter().find(|(a, _)| a.name == name).map(|(_, v)| *v);
    let device_type = parse_type(get("type").ok_or(Problem::MissingAttribute("type"))?)?;
    for (attribute, _) in &members {
        if !attribute.applies_to_type(device_type) {
            return Err(Problem::NotForType { attribute: attribute.name, device_type: device_type.as_str() });
        }
    }
    for attribute in DEVICE_ATTRIBUTES {
        if attribute.required_on_create(device_type) && get(attribute.name).is_none() {
            return Err(Problem::MissingAttribute(attribute.name));
        }
    }
    if let Some(status) = get("status")
        && parse_status(status)? != Status::Created
    {
        return Err(Problem::invalid(
            "status",
            "a new device starts as C; enable it after a successful challenge",
        ));
    }
    if let Some(fails) = get("fails")
        && parse_fails(fails)? != 0
    {
        return Err(Problem::invalid("fails", "a new device starts with 0 failures"));
    }
    let defaults = defaults_of(device_type);
    let applies = |name: &str| DEVICE.attribute(name).is_some_and(|a| a.applies_to_type(device_type));
    let or_default = |name: &str, parse: fn(&Value) -> Result<u32, Problem>, default: u32| {
        if !applies(name) {
            return Ok(None);
        }
        get(name).map(parse).transpose().map(|v| Some(v.unwrap_or(default)))
    };
    Ok(NewDevice {
        device_type,
        user: parse_user(get("user").ok_or(Problem::MissingAttribute("user"))?)?,
        external_id: get("externalId").map(parse_external_id).transpose()?,
        email: get("email").map(parse_email).transpose()?,
        phone: get("phone").map(parse_phone).transpose()?,
        pin: get("pin").map(parse_pin).transpose()?,
        algorithm: match applies("algorithm") {
            true => Some(get("algorithm").map(parse_algorithm).transpose()?.unwrap_or(defaults.algorithm)),
            false => None,
        },
        digits: or_default("digits", parse_digits, defaults.digits)?,
        period: or_default("period", parse_period, defaults.period)?,
    })
}

/// Checks a replace (PUT) body against the current device. Immutable attributes may be repeated
/// with their current value; a different value is `mutability`. An absent `status` or `fails`
/// keeps its value (they always have one, so "unassigned" is not a state they can take); an
/// absent `externalId` is unassigned by the replace (RFC 7644 §3.5.1).
pub fn validate_replace(current: &OtpDevice, body: &Value) -> Result<Changes, Problem> {
    let mut changes = Changes { external_id: None, ..Changes::from_device(current) };
    for (attribute, value) in writable_members(body)? {
        if !attribute.applies_to_type(current.device_type) {
            return Err(Problem::NotForType {
                attribute: attribute.name,
                device_type: current.device_type.as_str(),
            });
        }
        if attribute.mutability != Mutability::Immutable {
            changes.set(attribute, current.device_type, value)?;
            continue;
        }
        let unchanged = match attribute.name {
            "type" => parse_type(value)? == current.device_type,
            "user" => parse_user(value)? == current.user,
            "email" => current
                .email
                .as_deref()
                .is_some_and(|e| parse_email(value).is_ok_and(|v| v.eq_ignore_ascii_case(e))),
            "phone" => current.phone.as_deref() == parse_phone(value).ok().as_deref(),
            "algorithm" => current.algorithm == parse_algorithm(value).ok(),
            "digits" => current.digits == parse_digits(value).ok(),
            "period" => current.period == parse_period(value).ok(),
            _ => false,
        };
        if !unchanged {
            return Err(Problem::Mutability { attribute: attribute.name });
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_address_and_nothing_else() {
        for good in
            ["ann@example.com", "o'hara+otp@mail.example.co.uk", "jöns@exämple.se", "a.b-c@x-y.example"]
        {
            assert_eq!(email_address("email", good).as_deref(), Ok(good), "{good}");
        }
        for bad in [
            "x@example.org, attacker@evil.example",
            "x@example.org,attacker@evil.example",
            "x@example.org;attacker@evil.example",
            "a,b@evil.example",
            "Ann <ann@example.com>",
            "\"ann smith\"@example.com",
            "ann@example",
            "ann@@example.com",
            "a@b@example.com",
            "ann@example.com\n",
            " ann@example.com",
            "@example.com",
            "ann@.example.com",
        ] {
            assert!(email_address("email", bad).is_err(), "{bad:?} was taken");
        }
    }

    #[test]
    fn a_phone_number_loses_its_separators() {
        for (given, kept) in [
            ("+1 (425) 555-0100", "+14255550100"),
            ("666 555 444", "666555444"),
            ("+34.666.555.444", "+34666555444"),
            ("666555444", "666555444"),
        ] {
            assert_eq!(phone_number("phone", given).as_deref(), Ok(kept), "{given}");
        }
        for bad in [
            "666555444, 611222333",
            "+1 425 555 0100 ext 7",
            "12345",
            "1234567890123456",
            "++34666555444",
            "6665554a4",
            "+",
        ] {
            assert!(phone_number("phone", bad).is_err(), "{bad:?} was taken");
        }
    }

    proptest! {
        /// Whatever is taken is one destination: no separator a gateway could split a list
        /// at, no space, no control character.
        #[test]
        fn what_is_taken_is_one_destination(text in "\\PC{0,40}|[a-z,; <>@.+()0-9-]{0,40}") {
            if let Ok(email) = email_address("email", &text) {
                prop_assert!(!email.contains([',', ';', ' ', '<', '>', '"']) && email.matches('@').count() == 1);
            }
            if let Ok(phone) = phone_number("phone", &text) {
                let digits = phone.strip_prefix('+').unwrap_or(&phone);
                prop_assert!(digits.bytes().all(|b| b.is_ascii_digit()) && (6..=15).contains(&digits.len()));
            }
        }
    }
}
