//! Authenticator policies (SPEC §18): what an authenticator of each kind allows (its lockout,
//! validity, usage limit, code parameters, security questions). Bodies are checked against the
//! AuthenticatorPolicy attribute table; PATCH goes through the JSON form and then the same
//! check as a replace, as for users.

pub use crate::urn::POLICY_SCHEMA;

use crate::error::Problem;
use crate::input::{boolean, whole_number};
use crate::model::{Algorithm, DeviceType, Meta};
use crate::schema::{Mutability, POLICY};
use crate::validate::{DIGITS, Defaults, PERIOD_RANGE};

/// How a code the service assigns starts (when a create leaves `id` out).
pub const ASSIGNED_PREFIX: &str = "AP_";
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The kinds of credential a policy governs; each device kind binds to one device type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PolicyKind {
    Totp,
    Hotp,
    OobEmail,
    OobSms,
    Password,
    SecurityQuestion,
}

impl PolicyKind {
    pub const ALL: [PolicyKind; 6] = [
        PolicyKind::Totp,
        PolicyKind::Hotp,
        PolicyKind::OobEmail,
        PolicyKind::OobSms,
        PolicyKind::Password,
        PolicyKind::SecurityQuestion,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Totp => "TOTP",
            PolicyKind::Hotp => "HOTP",
            PolicyKind::OobEmail => "OOB_EMAIL",
            PolicyKind::OobSms => "OOB_SMS",
            PolicyKind::Password => "PASSWORD",
            PolicyKind::SecurityQuestion => "SECURITY_QUESTION",
        }
    }

    /// Case-insensitive, as SCIM compares canonical values.
    pub fn parse(text: &str) -> Option<PolicyKind> {
        PolicyKind::ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(text))
    }

    /// The device type an authenticator of this kind holds; none for security questions.
    pub fn device_type(self) -> Option<DeviceType> {
        match self {
            PolicyKind::Totp => Some(DeviceType::Totp),
            PolicyKind::Hotp => Some(DeviceType::Hotp),
            PolicyKind::OobEmail => Some(DeviceType::Email),
            PolicyKind::OobSms => Some(DeviceType::Sms),
            PolicyKind::Password => Some(DeviceType::Pin),
            PolicyKind::SecurityQuestion => None,
        }
    }

    /// The kind whose default policy a device created through `/OtpDevice` binds to.
    pub fn of_device(t: DeviceType) -> PolicyKind {
        match t {
            DeviceType::Totp => PolicyKind::Totp,
            DeviceType::Hotp => PolicyKind::Hotp,
            DeviceType::Email => PolicyKind::OobEmail,
            DeviceType::Sms => PolicyKind::OobSms,
            DeviceType::Pin => PolicyKind::Password,
        }
    }

    fn has_code_params(self) -> bool {
        matches!(self, PolicyKind::Totp | PolicyKind::Hotp)
    }

    pub fn is_oob(self) -> bool {
        matches!(self, PolicyKind::OobEmail | PolicyKind::OobSms)
    }

    /// Whether a policy of this kind takes `attribute` (every kind takes those that belong to no
    /// kind in particular): what a create or replace checks, and the fields the admin app's
    /// policy form shows.
    pub fn takes(self, attribute: &str) -> bool {
        match attribute {
            "algorithm" | "digits" => self.has_code_params(),
            "period" => self == PolicyKind::Totp,
            "codeTtlSeconds" => self.is_oob(),
            "prompts" | "promptsRequiredForCreation" | "promptsAskedAtValidation" => {
                self == PolicyKind::SecurityQuestion
            }
            _ => true,
        }
    }
}

/// A security question: its code and the text a user is asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub value: String,
    pub display: String,
}

/// A policy as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    pub schemas: Vec<String>,
    /// The code (`AT_EMPOTP`), chosen on create.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub display_name: String,
    pub kind: PolicyKind,
    pub default: bool,
    pub max_fails: u32,
    pub validity_days: u32,
    pub max_usages: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<Algorithm>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digits: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_ttl_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prompts: Vec<Prompt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts_required_for_creation: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts_asked_at_validation: Option<u32>,
    pub meta: Meta,
}

impl Policy {
    /// The code parameters of a new device bound to this policy (SPEC §14, §18): the policy's,
    /// the service's `defaults` where it sets none. Both dialects' creates take them from here.
    pub fn device_params(&self, defaults: &Defaults) -> Defaults {
        Defaults {
            algorithm: self.algorithm.unwrap_or(defaults.algorithm),
            digits: self.digits.unwrap_or(defaults.digits),
            period: self.period.unwrap_or(defaults.period),
        }
    }
}

/// What a create or replace writes: every attribute, the kind's defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyData {
    pub code: String,
    pub external_id: Option<String>,
    pub display_name: String,
    pub kind: PolicyKind,
    pub is_default: bool,
    pub max_fails: u32,
    pub validity_days: u32,
    pub max_usages: u32,
    pub algorithm: Option<Algorithm>,
    pub digits: Option<u32>,
    pub period: Option<u32>,
    pub code_ttl_seconds: Option<u32>,
    pub prompts: Vec<Prompt>,
    pub prompts_required: Option<u32>,
    pub prompts_asked: Option<u32>,
}

impl PolicyData {
    pub fn into_policy(self, meta: Meta) -> Policy {
        Policy {
            schemas: vec![POLICY_SCHEMA.to_owned()],
            id: self.code,
            external_id: self.external_id,
            display_name: self.display_name,
            kind: self.kind,
            default: self.is_default,
            max_fails: self.max_fails,
            validity_days: self.validity_days,
            max_usages: self.max_usages,
            algorithm: self.algorithm,
            digits: self.digits,
            period: self.period,
            code_ttl_seconds: self.code_ttl_seconds,
            prompts: self.prompts,
            prompts_required_for_creation: self.prompts_required,
            prompts_asked_at_validation: self.prompts_asked,
            meta,
        }
    }
}

/// Where the defaults of a policy's numbers come from: the service's settings (SPEC §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyDefaults {
    pub otp: Defaults,
    pub max_fails: u32,
    pub code_ttl_seconds: u32,
}

pub const CODE_MAX: usize = 32;
pub const MAX_FAILS: std::ops::RangeInclusive<u32> = 1..=100;
pub const VALIDITY_DAYS_MAX: u32 = 36_500;
pub const CODE_TTL: std::ops::RangeInclusive<u32> = 30..=3600;
pub const PROMPTS_MAX: usize = 20;
pub const DISPLAY_MAX: usize = 256;

/// A policy or prompt code: `[A-Z][A-Z0-9_]{0,31}`.
pub fn is_code(text: &str) -> bool {
    let mut chars = text.chars();
    text.len() <= CODE_MAX
        && chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn code(attribute: &'static str, value: &Value) -> Result<String, Problem> {
    match value.as_str() {
        Some(text) if is_code(text) => Ok(text.to_owned()),
        _ => Err(Problem::invalid(attribute, "must be 1 to 32 of A-Z, 0-9 and _, starting with a letter")),
    }
}

fn display(attribute: &'static str, value: &Value) -> Result<String, Problem> {
    match crate::input::text(attribute, value, DISPLAY_MAX)? {
        "" => Err(Problem::invalid(attribute, "must not be empty")),
        text => Ok(text.to_owned()),
    }
}

fn number_in(
    attribute: &'static str,
    value: &Value,
    range: std::ops::RangeInclusive<u32>,
    reason: &'static str,
) -> Result<u32, Problem> {
    whole_number(value)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| range.contains(n))
        .ok_or(Problem::invalid(attribute, reason))
}

fn prompts(value: &Value) -> Result<Vec<Prompt>, Problem> {
    let list = value.as_array().ok_or(Problem::invalid("prompts", "must be a list of {value, display}"))?;
    if list.len() > PROMPTS_MAX {
        return Err(Problem::invalid("prompts", "holds at most 20 prompts"));
    }
    let mut out: Vec<Prompt> = Vec::with_capacity(list.len());
    for entry in list {
        let object =
            entry.as_object().ok_or(Problem::invalid("prompts", "must be a list of {value, display}"))?;
        let (mut value, mut text) = (None, None);
        for (key, member) in object {
            match key.to_ascii_lowercase().as_str() {
                "value" => value = Some(code("prompts.value", member)?),
                "display" => text = Some(display("prompts.display", member)?),
                _ => return Err(Problem::UnknownAttribute(format!("prompts.{key}"))),
            }
        }
        let (Some(value), Some(display)) = (value, text) else {
            return Err(Problem::invalid("prompts", "every prompt needs a value and a display"));
        };
        if out.iter().any(|p| p.value == value) {
            return Err(Problem::invalid("prompts.value", "must not repeat"));
        }
        out.push(Prompt { value, display });
    }
    Ok(out)
}

/// The attributes a body sets, by attribute of the table; readOnly ones and nulls are left out.
fn members(body: &Value) -> Result<Vec<(&'static str, &Value)>, Problem> {
    let object = body.as_object().ok_or_else(|| Problem::Syntax("the body must be a JSON object".into()))?;
    let mut out: Vec<(&'static str, &Value)> = Vec::new();
    for (key, value) in object {
        if key.eq_ignore_ascii_case("schemas") {
            let lists_policy = value.as_array().is_some_and(|a| {
                a.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(POLICY_SCHEMA)))
            });
            if !lists_policy {
                return Err(Problem::invalid(
                    "schemas",
                    "must list urn:scim-otp:params:scim:schemas:AuthenticatorPolicy",
                ));
            }
            continue;
        }
        let attribute =
            POLICY.attribute(POLICY.strip_urn(key)).ok_or_else(|| Problem::UnknownAttribute(key.clone()))?;
        if value.is_null() || (attribute.mutability == Mutability::ReadOnly && attribute.name != "id") {
            continue;
        }
        if out.iter().any(|(name, _)| *name == attribute.name) {
            return Err(Problem::Syntax(format!("attribute \"{}\" given twice", attribute.name)));
        }
        out.push((attribute.name, value));
    }
    Ok(out)
}

/// Checks a create (`current` = `None`) or replace body. On a replace the code and the kind
/// cannot change (given, they must be the current ones); everything left out takes the kind's
/// default, as a replace of any SCIM resource does.
pub fn validate_policy(
    body: &Value,
    current: Option<&Policy>,
    defaults: &PolicyDefaults,
) -> Result<PolicyData, Problem> {
    let given = members(body)?;
    let get = |name: &str| given.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    let code = match (get("id"), current) {
        (Some(value), None) => code("id", value)?,
        (None, None) => return Err(Problem::MissingAttribute("id")),
        (Some(value), Some(current)) if value.as_str() != Some(current.id.as_str()) => {
            return Err(Problem::Mutability { attribute: "id" });
        }
        (_, Some(current)) => current.id.clone(),
    };
    let kind = match (get("kind"), current) {
        (Some(value), None) => value.as_str().and_then(PolicyKind::parse).ok_or(Problem::invalid(
            "kind",
            "must be TOTP, HOTP, OOB_EMAIL, OOB_SMS, PASSWORD or SECURITY_QUESTION",
        ))?,
        (None, None) => return Err(Problem::MissingAttribute("kind")),
        (Some(value), Some(current)) if value.as_str().and_then(PolicyKind::parse) != Some(current.kind) => {
            return Err(Problem::Mutability { attribute: "kind" });
        }
        (_, Some(current)) => current.kind,
    };
    let only_for = |name: &'static str, reason: &'static str| match get(name) {
        Some(_) if !kind.takes(name) => Err(Problem::invalid(name, reason)),
        other => Ok(other),
    };
    let coded = kind.has_code_params();
    let questions = kind == PolicyKind::SecurityQuestion;
    let algorithm = match only_for("algorithm", "applies to TOTP and HOTP policies only")? {
        Some(value) => Some(
            value
                .as_str()
                .and_then(Algorithm::parse)
                .ok_or(Problem::invalid("algorithm", "must be SHA1, SHA256 or SHA512"))?,
        ),
        None => coded.then_some(defaults.otp.algorithm),
    };
    let digits = match only_for("digits", "applies to TOTP and HOTP policies only")? {
        Some(value) => Some(
            whole_number(value)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| DIGITS.contains(n))
                .ok_or(Problem::invalid("digits", "must be 6 or 8"))?,
        ),
        None => coded.then_some(defaults.otp.digits),
    };
    let totp = kind == PolicyKind::Totp;
    let period = match only_for("period", "applies to TOTP policies only")? {
        Some(value) => Some(number_in("period", value, PERIOD_RANGE, "must be 10 to 300 seconds")?),
        None => totp.then_some(defaults.otp.period),
    };
    let code_ttl_seconds = match only_for("codeTtlSeconds", "applies to OOB policies only")? {
        Some(value) => Some(number_in("codeTtlSeconds", value, CODE_TTL, "must be 30 to 3600 seconds")?),
        None => kind.is_oob().then_some(defaults.code_ttl_seconds),
    };
    let reason = "applies to SECURITY_QUESTION policies only";
    let prompts = match only_for("prompts", reason)? {
        Some(value) => prompts(value)?,
        None => Vec::new(),
    };
    if questions && prompts.is_empty() {
        return Err(Problem::invalid("prompts", "a SECURITY_QUESTION policy needs at least one prompt"));
    }
    let count = u32::try_from(prompts.len()).unwrap_or(u32::MAX);
    let prompts_required = match only_for("promptsRequiredForCreation", reason)? {
        Some(value) => Some(number_in(
            "promptsRequiredForCreation",
            value,
            1..=count,
            "must be from 1 to the number of prompts",
        )?),
        None => questions.then_some(count),
    };
    let prompts_asked = match only_for("promptsAskedAtValidation", reason)? {
        Some(value) => Some(number_in(
            "promptsAskedAtValidation",
            value,
            1..=prompts_required.unwrap_or(0),
            "must be from 1 to promptsRequiredForCreation",
        )?),
        None => prompts_required.map(|required| required.min(2)),
    };
    let external_id = get("externalId").map(|v| display("externalId", v)).transpose()?;
    Ok(PolicyData {
        external_id,
        display_name: get("displayName")
            .map(|v| display("displayName", v))
            .transpose()?
            .unwrap_or(code.clone()),
        code,
        kind,
        is_default: get("default").map(|v| boolean("default", v)).transpose()?.unwrap_or(false),
        max_fails: get("maxFails")
            .map(|v| number_in("maxFails", v, MAX_FAILS, "must be 1 to 100"))
            .transpose()?
            .unwrap_or(defaults.max_fails),
        validity_days: get("validityDays")
            .map(|v| number_in("validityDays", v, 0..=VALIDITY_DAYS_MAX, "must be 0 (no expiry) to 36500"))
            .transpose()?
            .unwrap_or(0),
        max_usages: get("maxUsages")
            .map(|v| number_in("maxUsages", v, 0..=u32::MAX, "must be 0 (unlimited) or more"))
            .transpose()?
            .unwrap_or(0),
        algorithm,
        digits,
        period,
        code_ttl_seconds,
        prompts,
        prompts_required,
        prompts_asked,
    })
}

struct BuiltIn {
    code: &'static str,
    name: &'static str,
    kind: PolicyKind,
    is_default: bool,
    prompts: &'static [(&'static str, &'static str)],
}

const fn built(code: &'static str, name: &'static str, kind: PolicyKind, is_default: bool) -> BuiltIn {
    BuiltIn { code, name, kind, is_default, prompts: &[] }
}

const BUILT_IN: [BuiltIn; 10] = [
    built("AT_EMPOTP", "Employee OTP", PolicyKind::Totp, true),
    built("AT_CUSTOTP", "Customer OTP", PolicyKind::Totp, false),
    built("AT_HOTP", "Event-based OTP", PolicyKind::Hotp, true),
    built("AT_OOBEML", "One-time code by email", PolicyKind::OobEmail, true),
    built("AT_OOBSMS", "One-time code by SMS", PolicyKind::OobSms, true),
    built("AT_TDS", "Transaction signing by SMS", PolicyKind::OobSms, false),
    built("AT_EMPPWD", "Employee password", PolicyKind::Password, true),
    built("AT_CUSTPW", "Customer password", PolicyKind::Password, false),
    BuiltIn {
        prompts: &[
            ("PR_SIBLING", "Your oldest sibling's middle name"),
            ("PR_NICK", "Childhood nickname"),
            ("PR_ANIMAL", "Name of your first stuffed animal?"),
        ],
        ..built("AT_CUSTQA", "Customer security questions", PolicyKind::SecurityQuestion, false)
    },
    BuiltIn {
        prompts: &[
            ("PR_1ST_JOB", "In what town was your first job?"),
            ("PR_MEMWRD", "Enter a memorable word (greater than 8 chars)"),
            ("PR_CAR_CLR", "Color of your first car"),
        ],
        ..built("AT_EMPQA", "Employee security questions", PolicyKind::SecurityQuestion, true)
    },
];

/// The policies every tenant starts with (SPEC §18), so that every request of HID's seed works
/// as written, checked as any create is. `AT_LDAP` (LDAP pass-through) is not among them: it is
/// not supported.
pub fn built_in(defaults: &PolicyDefaults) -> Result<Vec<PolicyData>, Problem> {
    BUILT_IN
        .iter()
        .map(|b| {
            let mut body = serde_json::json!({
                "schemas": [POLICY_SCHEMA],
                "id": b.code,
                "displayName": b.name,
                "kind": b.kind.as_str(),
                "default": b.is_default,
            });
            if !b.prompts.is_empty() {
                let prompts: Vec<Value> = b
                    .prompts
                    .iter()
                    .map(|(value, display)| serde_json::json!({"value": value, "display": display}))
                    .collect();
                body["prompts"] = Value::Array(prompts);
                body["promptsRequiredForCreation"] = 3.into();
                body["promptsAskedAtValidation"] = 2.into();
            }
            validate_policy(&body, None, defaults)
        })
        .collect()
}

/// PATCH: every operation applied in order to the policy's JSON form, and the result checked as
/// a replace; the first error aborts the whole request.
pub fn apply_policy_patch(
    current: &Policy,
    patch: &crate::patch::PatchOp,
    defaults: &PolicyDefaults,
) -> Result<PolicyData, Problem> {
    let Value::Object(mut doc) = serde_json::to_value(current).map_err(|e| Problem::Syntax(e.to_string()))?
    else {
        return Err(Problem::Syntax("a policy serialises to an object".into()));
    };
    crate::patch::apply_all(&mut doc, &crate::patch::Vocabulary::strict(&POLICY), patch)?;
    validate_policy(&Value::Object(doc), Some(current), defaults)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patch::PatchOp;
    use crate::timestamp::Timestamp;
    use serde_json::json;

    const DEFAULTS: PolicyDefaults = PolicyDefaults {
        otp: Defaults { algorithm: Algorithm::Sha1, digits: 6, period: 30 },
        max_fails: 5,
        code_ttl_seconds: 300,
    };

    fn create(body: Value) -> Result<PolicyData, Problem> {
        validate_policy(&body, None, &DEFAULTS)
    }

    #[test]
    fn a_kind_gets_its_defaults_and_only_its_attributes() {
        let totp = create(json!({"schemas": [POLICY_SCHEMA], "id": "AT_X", "kind": "totp"})).unwrap();
        assert_eq!(
            (totp.kind, totp.algorithm, totp.digits, totp.period, totp.code_ttl_seconds),
            (PolicyKind::Totp, Some(Algorithm::Sha1), Some(6), Some(30), None)
        );
        assert_eq!(
            (totp.display_name.as_str(), totp.max_fails, totp.validity_days, totp.is_default),
            ("AT_X", 5, 0, false)
        );
        let oob = create(json!({"id": "AT_Y", "kind": "OOB_SMS", "codeTtlSeconds": "120"})).unwrap();
        assert_eq!((oob.code_ttl_seconds, oob.digits, oob.period), (Some(120), None, None));
        for (body, attribute) in [
            (json!({"id": "AT_Y", "kind": "HOTP", "period": 30}), "period"),
            (json!({"id": "AT_Y", "kind": "PASSWORD", "digits": 6}), "digits"),
            (json!({"id": "AT_Y", "kind": "TOTP", "prompts": []}), "prompts"),
            (json!({"id": "AT_Y", "kind": "TOTP", "codeTtlSeconds": 60}), "codeTtlSeconds"),
        ] {
            assert_eq!(
                create(body.clone()).unwrap_err(),
                Problem::InvalidValue {
                    attribute,
                    reason: match attribute {
                        "period" => "applies to TOTP policies only",
                        "codeTtlSeconds" => "applies to OOB policies only",
                        "prompts" => "applies to SECURITY_QUESTION policies only",
                        _ => "applies to TOTP and HOTP policies only",
                    }
                },
                "{body}"
            );
        }
    }

    #[test]
    fn bad_bodies_are_refused() {
        let base = json!({"id": "AT_Q", "kind": "SECURITY_QUESTION",
            "prompts": [{"value": "PR_A", "display": "A?"}, {"value": "PR_B", "display": "B?"}]});
        let with = |key: &str, value: Value| {
            let mut body = base.clone();
            body[key] = value;
            body
        };
        assert_eq!(create(base.clone()).unwrap().prompts_required, Some(2));
        assert_eq!(create(base.clone()).unwrap().prompts_asked, Some(2));
        for (body, scim_type) in [
            (json!({"kind": "TOTP"}), "invalidValue"),
            (json!({"id": "AT_X"}), "invalidValue"),
            (with("id", json!("at_lower")), "invalidValue"),
            (with("id", json!("A".repeat(33))), "invalidValue"),
            (with("kind", json!("LDAP")), "invalidValue"),
            (with("maxFails", json!(0)), "invalidValue"),
            (with("maxFails", json!("many")), "invalidValue"),
            (with("validityDays", json!(-1)), "invalidValue"),
            (with("promptsRequiredForCreation", json!(3)), "invalidValue"),
            (with("promptsAskedAtValidation", json!(0)), "invalidValue"),
            (with("prompts", json!([])), "invalidValue"),
            (
                with(
                    "prompts",
                    json!([{"value": "PR_A", "display": "A"}, {"value": "PR_A", "display": "B"}]),
                ),
                "invalidValue",
            ),
            (with("prompts", json!([{"value": "PR_A"}])), "invalidValue"),
            (with("prompts", json!([{"value": "PR_A", "display": "A", "answer": "x"}])), "invalidSyntax"),
            (with("shoeSize", json!(9)), "invalidSyntax"),
            (with("schemas", json!(["urn:other"])), "invalidValue"),
            (with("default", json!("maybe")), "invalidValue"),
        ] {
            let problem = create(body.clone()).expect_err(&body.to_string());
            assert_eq!(problem.scim_type().as_str(), scim_type, "{body}: {problem:?}");
        }
    }

    #[test]
    fn a_replace_keeps_the_code_and_the_kind() {
        let data = create(json!({"id": "AT_X", "kind": "TOTP", "maxFails": 3})).unwrap();
        let current = data.into_policy(Meta::new("AuthenticatorPolicy", Timestamp(1), Timestamp(1), 1));
        let replaced = validate_policy(&json!({"displayName": "X"}), Some(&current), &DEFAULTS).unwrap();
        assert_eq!(
            (replaced.code.as_str(), replaced.kind, replaced.max_fails),
            ("AT_X", PolicyKind::Totp, 5)
        );
        for body in [json!({"id": "AT_Y"}), json!({"kind": "HOTP"})] {
            let problem = validate_policy(&body, Some(&current), &DEFAULTS).unwrap_err();
            assert_eq!(problem.scim_type().as_str(), "mutability", "{body}");
        }
        let patch = |ops: Value| {
            apply_policy_patch(&current, &PatchOp::from_json(&json!({"Operations": ops})).unwrap(), &DEFAULTS)
        };
        let patched = patch(json!([{"op": "replace", "path": "maxFails", "value": 9}])).unwrap();
        assert_eq!((patched.max_fails, patched.period), (9, Some(30)), "other attributes stay");
        let patched =
            patch(json!([{"op": "replace", "value": {"validityDays": 30, "default": true}}])).unwrap();
        assert_eq!((patched.validity_days, patched.is_default), (30, true));
        for (ops, scim_type) in [
            (json!([{"op": "replace", "path": "kind", "value": "HOTP"}]), "mutability"),
            (json!([{"op": "replace", "path": "meta.created", "value": "x"}]), "mutability"),
            (json!([{"op": "replace", "path": "nope", "value": 1}]), "invalidPath"),
            (json!([{"op": "remove", "path": "id"}]), "mutability"),
        ] {
            assert_eq!(patch(ops.clone()).unwrap_err().scim_type().as_str(), scim_type, "{ops}");
        }
    }

    #[test]
    fn the_built_in_set_has_one_default_per_device_kind() {
        let all = built_in(&DEFAULTS).unwrap();
        assert_eq!(all.len(), 10);
        for kind in PolicyKind::ALL {
            let defaults = all.iter().filter(|p| p.kind == kind && p.is_default).count();
            assert_eq!(defaults, 1, "{kind:?}");
        }
        let qa = all.iter().find(|p| p.code == "AT_CUSTQA").unwrap();
        assert_eq!((qa.prompts.len(), qa.prompts_required, qa.prompts_asked), (3, Some(3), Some(2)));
    }
}
