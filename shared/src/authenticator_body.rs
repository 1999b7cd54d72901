//! What a client writes to `/Authenticator` (SPEC §14): the body of a create or a replace, read
//! against the Authenticator attribute table, then checked against the authenticator's policy.
//! A replace keeps what its body leaves out: HID's own samples send only the extension they change.

use crate::Problem;
use crate::authenticator::{ENROLLMENT_SCHEMA, Enabled, PASSWORD_SCHEMA, SECURITY_QUESTION_SCHEMA};
use crate::input;
use crate::policy::{Policy, PolicyKind};
use crate::schema::{AUTHENTICATOR, Mutability, Resource};
use crate::timestamp::Timestamp;
use serde_json::{Map, Value};

pub const PASSWORD_MIN: usize = 4;
pub const PASSWORD_MAX: usize = 128;
pub const ANSWER_MAX: usize = 256;
/// The longest `Password.username` kept.
pub const USERNAME_MAX: usize = 256;

/// Who a create names as the owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// `owner.value`: an existing user's id.
    Id(i64),
    /// `owner.display`: a userName, created when absent (HID's LDAP-style create).
    UserName(String),
}

/// A body as read, before the policy is known. `None`: the body does not say.
#[derive(Default, PartialEq, Eq)]
pub struct AuthenticatorBody {
    pub owner: Option<Owner>,
    pub policy: Option<String>,
    pub status: Option<Enabled>,
    pub start_date: Option<Timestamp>,
    /// `Some(None)`: an explicit `null`, no expiry.
    pub expiry_date: Option<Option<Timestamp>>,
    pub password: Option<String>,
    /// `Password.username`, kept as the create gives it (readOnly after).
    pub password_username: Option<String>,
    /// `(prompt code, normalised answer)`, in the order sent.
    pub answers: Option<Vec<(String, String)>>,
}

impl std::fmt::Debug for AuthenticatorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password or the answers.
        f.debug_struct("AuthenticatorBody")
            .field("owner", &self.owner)
            .field("policy", &self.policy)
            .field("status", &self.status)
            .field("start_date", &self.start_date)
            .field("expiry_date", &self.expiry_date)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .field("password_username", &self.password_username)
            .field("answers", &self.answers.as_ref().map(|a| a.iter().map(|(p, _)| p).collect::<Vec<_>>()))
            .finish()
    }
}

/// An answer as it is compared: trimmed, inner whitespace collapsed to one space, case folded.
pub fn normalize_answer(answer: &str) -> String {
    answer.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

fn object<'v>(attribute: &'static str, value: &'v Value) -> Result<&'v Map<String, Value>, Problem> {
    value.as_object().ok_or(Problem::invalid(attribute, "must be an object"))
}

fn instant(attribute: &'static str, value: &Value) -> Result<Timestamp, Problem> {
    value
        .as_str()
        .and_then(Timestamp::parse)
        .ok_or(Problem::invalid(attribute, "must be an RFC 3339 date and time"))
}

/// The members of `parent`, by its sub-attribute names; read-only ones are skipped, unknown ones
/// refused.
fn members<'v>(
    resource: &'static Resource,
    parent: &'static str,
    map: &'v Map<String, Value>,
) -> Result<Vec<(&'static str, &'v Value)>, Problem> {
    let attribute = resource.attribute(parent).ok_or_else(|| Problem::UnknownAttribute(parent.to_owned()))?;
    let mut out = Vec::new();
    for (key, value) in map {
        let sub = attribute
            .sub_attribute(key)
            .ok_or_else(|| Problem::UnknownAttribute(format!("{parent}.{key}")))?;
        if sub.mutability != Mutability::ReadOnly {
            out.push((sub.name, value));
        }
    }
    Ok(out)
}

/// An `owner` reference of `resource` (an Authenticator's, a Device's): `value` (a user id) or
/// else `display` (a userName).
pub(crate) fn owner(resource: &'static Resource, value: &Value) -> Result<Owner, Problem> {
    match owner_parts(resource, value)? {
        (Some(id), _) => Ok(Owner::Id(id)),
        (None, Some(name)) => Ok(Owner::UserName(name)),
        (None, None) => Err(Problem::MissingAttribute("owner.value")),
    }
}

/// The `value` (a user id) and `display` (a userName) an `owner` reference of `resource` gives.
pub(crate) fn owner_parts(
    resource: &'static Resource,
    value: &Value,
) -> Result<(Option<i64>, Option<String>), Problem> {
    let (mut id, mut name) = (None, None);
    for (sub, member) in members(resource, "owner", object("owner", value)?)? {
        match sub {
            "value" => {
                let number = input::whole_number(member)
                    .and_then(|n| i64::try_from(n).ok())
                    .filter(|n| *n > 0)
                    .ok_or(Problem::invalid("owner.value", "must be a user's id"))?;
                id = Some(number);
            }
            _ => {
                let text = input::text("owner.display", member, 64)?.trim();
                if text.is_empty() {
                    return Err(Problem::invalid("owner.display", "must be a userName"));
                }
                name = Some(text.to_owned());
            }
        }
    }
    Ok((id, name))
}

fn policy(value: &Value) -> Result<String, Problem> {
    let mut code = None;
    for (sub, member) in members(&AUTHENTICATOR, "policy", object("policy", value)?)? {
        if sub == "value" {
            code = Some(input::text("policy.value", member, 64)?.to_owned());
        }
    }
    code.ok_or(Problem::MissingAttribute("policy.value"))
}

fn status(body: &mut AuthenticatorBody, value: &Value) -> Result<(), Problem> {
    for (sub, member) in members(&AUTHENTICATOR, "status", object("status", value)?)? {
        match sub {
            "status" => {
                let text = member.as_str().unwrap_or_default();
                body.status = Some(match text.to_ascii_uppercase().as_str() {
                    "ENABLED" => Enabled::Enabled,
                    "DISABLED" => Enabled::Disabled,
                    _ => return Err(Problem::invalid("status.status", "must be ENABLED or DISABLED")),
                });
            }
            "startDate" => body.start_date = Some(instant("status.startDate", member)?),
            _ => {
                body.expiry_date = Some(match member {
                    Value::Null => None,
                    member => Some(instant("status.expiryDate", member)?),
                })
            }
        }
    }
    Ok(())
}

/// `Password.username` and `Password.password`. A password follows the PIN rule on whitespace
/// (SPEC §2, §14): a response is trimmed, so a password stored with surrounding whitespace could
/// never verify, while every try counted toward the lockout.
fn password(value: &Value) -> Result<(Option<String>, Option<String>), Problem> {
    let (mut username, mut password) = (None, None);
    for (key, member) in object(PASSWORD_SCHEMA, value)? {
        match key.to_ascii_lowercase().as_str() {
            "username" => {
                username = match member {
                    Value::Null => None,
                    member => Some(input::text("username", member, USERNAME_MAX)?.to_owned()),
                }
            }
            "password" => {
                let text = member.as_str().ok_or(Problem::invalid("password", "must be a string"))?;
                let length = text.chars().count();
                if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&length) {
                    return Err(Problem::invalid("password", "must be 4 to 128 characters"));
                }
                if text.trim() != text {
                    return Err(Problem::invalid("password", "must not begin or end with whitespace"));
                }
                if text.chars().any(char::is_control) {
                    return Err(Problem::invalid("password", "must not contain control characters"));
                }
                password = Some(text.to_owned());
            }
            _ => return Err(Problem::UnknownAttribute(format!("{PASSWORD_SCHEMA}:{key}"))),
        }
    }
    Ok((username, password))
}

fn answers(value: &Value) -> Result<Option<Vec<(String, String)>>, Problem> {
    let mut answers = None;
    for (key, member) in object(SECURITY_QUESTION_SCHEMA, value)? {
        match key.to_ascii_lowercase().as_str() {
            "promptsrequiredforcreation" => {}
            "prompts" => {
                let list = member.as_array().ok_or(Problem::invalid("prompts", "must be a list"))?;
                let mut out = Vec::with_capacity(list.len());
                for entry in list {
                    let (mut code, mut answer) = (None, None);
                    for (key, member) in object("prompts", entry)? {
                        match key.to_ascii_lowercase().as_str() {
                            "prompt" => {
                                let prompt = object("prompts.prompt", member)?;
                                let value = prompt.iter().find(|(k, _)| k.eq_ignore_ascii_case("value"));
                                code = value.and_then(|(_, v)| v.as_str()).map(str::to_owned);
                            }
                            "answer" => {
                                let text = input::text("prompts.answer", member, ANSWER_MAX)?;
                                answer = Some(normalize_answer(text));
                            }
                            _ => return Err(Problem::UnknownAttribute(format!("prompts.{key}"))),
                        }
                    }
                    let code = code.ok_or(Problem::MissingAttribute("prompts.prompt.value"))?;
                    match answer {
                        Some(answer) if !answer.is_empty() => out.push((code, answer)),
                        _ => return Err(Problem::MissingAttribute("prompts.answer")),
                    }
                }
                answers = Some(out);
            }
            _ => return Err(Problem::UnknownAttribute(format!("{SECURITY_QUESTION_SCHEMA}:{key}"))),
        }
    }
    Ok(answers)
}

/// Reads a create or replace body. Read-only attributes (`id`, `statistics`, `meta`, ...) are
/// accepted and ignored, as RFC 7644 §3.5.1 has a replace do; unknown ones are refused.
pub fn read_body(body: &Value) -> Result<AuthenticatorBody, Problem> {
    let map = body.as_object().ok_or_else(|| Problem::Syntax("an Authenticator is a JSON object".into()))?;
    let mut out = AuthenticatorBody::default();
    for (key, value) in map {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        let attribute = AUTHENTICATOR
            .resolve(key)
            .filter(|r| r.parent.is_none())
            .map(|r| r.attribute)
            .ok_or_else(|| Problem::UnknownAttribute(key.clone()))?;
        match attribute.name {
            "owner" => out.owner = Some(owner(&AUTHENTICATOR, value)?),
            "policy" => out.policy = Some(policy(value)?),
            "status" => status(&mut out, value)?,
            PASSWORD_SCHEMA => (out.password_username, out.password) = password(value)?,
            SECURITY_QUESTION_SCHEMA => out.answers = answers(value)?,
            // What the service wrote: a client sending back what it read changes nothing.
            ENROLLMENT_SCHEMA => {}
            _ if attribute.mutability == Mutability::ReadOnly => {}
            name => return Err(Problem::UnknownAttribute(name.to_owned())),
        }
    }
    Ok(out)
}

/// What is written for an authenticator: its status and dates, and its credential.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthenticatorData {
    pub enabled: bool,
    pub start_date: Timestamp,
    pub expiry_date: Option<Timestamp>,
    /// PASSWORD: a new password (`None`: keep the current one).
    pub password: Option<String>,
    /// PASSWORD: `Password.username` as the create gave it (a replace's is ignored: readOnly).
    pub password_username: Option<String>,
    /// SECURITY_QUESTION: new answers (`None`: keep the current ones).
    pub answers: Option<Vec<(String, String)>>,
}

/// The current state a replace starts from.
pub struct Current {
    pub enabled: bool,
    pub start_date: Timestamp,
    pub expiry_date: Option<Timestamp>,
}

/// Checks a body against the authenticator's policy: on create (`current` is `None`) the
/// credential the kind needs, on replace what changes. Dates default as SPEC §14 says.
pub fn check_body(
    body: AuthenticatorBody,
    policy: &Policy,
    current: Option<&Current>,
    now: Timestamp,
) -> Result<AuthenticatorData, Problem> {
    let kind = policy.kind;
    if body.password.is_some() && kind != PolicyKind::Password {
        return Err(Problem::invalid("password", "only a PASSWORD authenticator has a password"));
    }
    if body.answers.is_some() && kind != PolicyKind::SecurityQuestion {
        return Err(Problem::invalid("prompts", "only a SECURITY_QUESTION authenticator has answers"));
    }
    if current.is_none() {
        if kind == PolicyKind::Password && body.password.is_none() {
            return Err(Problem::MissingAttribute("password"));
        }
        if kind == PolicyKind::SecurityQuestion && body.answers.is_none() {
            return Err(Problem::MissingAttribute("prompts"));
        }
    }
    if let Some(answers) = &body.answers {
        let required = policy.prompts_required_for_creation.map_or(policy.prompts.len(), |n| n as usize);
        for (i, (code, _)) in answers.iter().enumerate() {
            if !policy.prompts.iter().any(|p| p.value == *code) {
                return Err(Problem::invalid("prompts.prompt.value", "must be one of the policy's prompts"));
            }
            if answers[..i].iter().any(|(other, _)| other == code) {
                return Err(Problem::invalid("prompts.prompt.value", "must not repeat a prompt"));
            }
        }
        if answers.len() < required {
            return Err(Problem::invalid(
                "prompts",
                "must answer at least promptsRequiredForCreation prompts",
            ));
        }
    }
    let enabled = match body.status {
        Some(status) => status == Enabled::Enabled,
        None => current.is_none_or(|c| c.enabled),
    };
    let start_date = body.start_date.or(current.map(|c| c.start_date)).unwrap_or(now);
    let expiry_date = match (body.expiry_date, current) {
        (Some(expiry), _) => expiry,
        (None, Some(current)) => current.expiry_date,
        (None, None) => (policy.validity_days > 0)
            .then(|| Timestamp(start_date.0 + i64::from(policy.validity_days) * 86_400)),
    };
    if expiry_date.is_some_and(|expiry| expiry <= start_date) {
        return Err(Problem::invalid("status.expiryDate", "must be after status.startDate"));
    }
    let password_username =
        body.password_username.filter(|_| current.is_none() && kind == PolicyKind::Password);
    Ok(AuthenticatorData {
        enabled,
        start_date,
        expiry_date,
        password: body.password,
        password_username,
        answers: body.answers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Meta;
    use crate::policy::{PolicyDefaults, built_in};
    use serde_json::json;

    fn policy(code: &str) -> Policy {
        let defaults = PolicyDefaults {
            otp: crate::validate::Defaults { algorithm: crate::Algorithm::Sha1, digits: 6, period: 30 },
            max_fails: 5,
            code_ttl_seconds: 300,
        };
        let data = built_in(&defaults).unwrap().into_iter().find(|p| p.code == code).unwrap();
        data.into_policy(Meta::new("AuthenticatorPolicy", Timestamp(0), Timestamp(0), 1))
    }

    const NOW: Timestamp = Timestamp(1_700_000_000);

    fn create(body: Value, code: &str) -> Result<AuthenticatorData, Problem> {
        check_body(read_body(&body)?, &policy(code), None, NOW)
    }

    #[test]
    fn the_seeds_creates_read_as_written() {
        let body = json!({
            "schemas": ["urn:hid:scim:api:idp:2.0:Authenticator"],
            "status": {"status": "ENABLED", "startDate": "2020-09-11T16:45:46+00:00",
                       "expiryDate": "2025-09-11T16:45:46+00:00"},
            "owner": {"value": "11288"}, "policy": {"value": "AT_CUSTOTP"}
        });
        let read = read_body(&body).unwrap();
        assert_eq!(read.owner, Some(Owner::Id(11288)));
        assert_eq!(read.policy.as_deref(), Some("AT_CUSTOTP"));
        let data = check_body(read, &policy("AT_CUSTOTP"), None, NOW).unwrap();
        assert!(data.enabled);
        assert_eq!(data.start_date, Timestamp::parse("2020-09-11T16:45:46Z").unwrap());
        let owner = read_body(&json!({"owner": {"display": "ldapuser"}})).unwrap().owner;
        assert_eq!(owner, Some(Owner::UserName("ldapuser".into())));
        let numeric = read_body(&json!({"owner": {"value": 10033}})).unwrap().owner;
        assert_eq!(numeric, Some(Owner::Id(10033)));
    }

    #[test]
    fn each_kind_needs_its_credential_and_only_its_own() {
        let base = |code: &str| json!({"owner": {"value": "1"}, "policy": {"value": code}});
        assert_eq!(create(base("AT_CUSTPW"), "AT_CUSTPW").err(), Some(Problem::MissingAttribute("password")));
        let mut with_password = base("AT_CUSTPW");
        with_password[PASSWORD_SCHEMA] = json!({"username": "x", "password": "Zaqaawsx12"});
        assert_eq!(
            create(with_password.clone(), "AT_CUSTPW").unwrap().password.as_deref(),
            Some("Zaqaawsx12")
        );
        assert!(create(with_password, "AT_EMPOTP").is_err(), "a TOTP authenticator has no password");
        let mut short = base("AT_CUSTPW");
        short[PASSWORD_SCHEMA] = json!({"password": "abc"});
        assert!(create(short, "AT_CUSTPW").is_err());
        assert_eq!(create(base("AT_CUSTQA"), "AT_CUSTQA").err(), Some(Problem::MissingAttribute("prompts")));
    }

    #[test]
    fn answers_come_from_the_policy_once_each_and_enough_of_them() {
        let with = |prompts: Value| {
            let body = json!({"owner": {"value": "1"}, "policy": {"value": "AT_CUSTQA"},
                              SECURITY_QUESTION_SCHEMA: {"prompts": prompts}});
            create(body, "AT_CUSTQA")
        };
        let answer = |code: &str, text: &str| json!({"prompt": {"value": code}, "answer": text});
        let three = json!([
            answer("PR_SIBLING", "  Mary  Ann "),
            answer("PR_NICK", "Bo"),
            answer("PR_ANIMAL", "Ted")
        ]);
        let data = with(three).unwrap();
        assert_eq!(data.answers.unwrap()[0], ("PR_SIBLING".to_owned(), "mary ann".to_owned()));
        assert!(with(json!([answer("PR_SIBLING", "a"), answer("PR_NICK", "b")])).is_err(), "3 required");
        assert!(
            with(json!([answer("PR_SIBLING", "a"), answer("PR_SIBLING", "b"), answer("PR_NICK", "c")]))
                .is_err()
        );
        assert!(
            with(json!([answer("PR_SIBLING", "a"), answer("PR_NICK", "b"), answer("PR_CAR_CLR", "c")]))
                .is_err()
        );
        assert!(
            with(json!([answer("PR_SIBLING", "  "), answer("PR_NICK", "b"), answer("PR_ANIMAL", "c")]))
                .is_err()
        );
    }

    #[test]
    fn dates_default_from_the_policy_and_must_be_in_order() {
        let data =
            create(json!({"owner": {"value": "1"}, "policy": {"value": "AT_EMPOTP"}}), "AT_EMPOTP").unwrap();
        assert_eq!(data.start_date, NOW);
        let days = policy("AT_EMPOTP").validity_days;
        assert_eq!(data.expiry_date, (days > 0).then(|| Timestamp(NOW.0 + i64::from(days) * 86_400)));
        let backwards = json!({"owner": {"value": "1"}, "policy": {"value": "AT_EMPOTP"},
                               "status": {"startDate": "2025-01-02T00:00:00Z", "expiryDate": "2025-01-01T00:00:00Z"}});
        assert!(create(backwards, "AT_EMPOTP").is_err());
    }

    #[test]
    fn a_replace_keeps_what_it_leaves_out_and_refuses_unknown_attributes() {
        let current = Current { enabled: false, start_date: Timestamp(5), expiry_date: Some(Timestamp(9)) };
        let body =
            read_body(&json!({"schemas": [PASSWORD_SCHEMA], PASSWORD_SCHEMA: {"password": "apqm2687"}}))
                .unwrap();
        let data = check_body(body, &policy("AT_EMPPWD"), Some(&current), NOW).unwrap();
        assert_eq!(
            (data.enabled, data.start_date, data.expiry_date),
            (false, Timestamp(5), Some(Timestamp(9)))
        );
        assert!(read_body(&json!({"colour": "red"})).is_err());
        assert!(read_body(&json!({"status": {"status": "MAYBE"}})).is_err());
        assert!(
            read_body(&json!({"statistics": {"totalSuccess": "7"}, "id": "x"})).is_ok(),
            "readOnly, ignored"
        );
    }

    #[test]
    fn a_body_never_shows_its_secrets_in_debug() {
        let body = read_body(&json!({PASSWORD_SCHEMA: {"password": "Zaqaawsx12"},
            SECURITY_QUESTION_SCHEMA: {"prompts": [{"prompt": {"value": "PR_NICK"}, "answer": "Secret Nick"}]}}))
        .unwrap();
        let shown = format!("{body:?}");
        assert!(!shown.contains("Zaqaawsx12") && !shown.contains("secret nick"), "{shown}");
    }
}
