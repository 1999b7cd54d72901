//! HID's named actions on an authenticator (SPEC §14): the request under the key
//! `urn:hid:scim:api:idp:2.0:Action` as the seed nests it, and the answer's list of
//! `{name, type, value, readOnly}` attributes.

use crate::authenticator::{ACTION_SCHEMA, Reason};
use crate::error::Problem;
use crate::schema::ACTION_NAMES;
use serde_json::{Value, json};

/// The actions of SPEC §14's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionName {
    UserChallenge,
    DeviceChallenge,
    Verify,
    Reset,
    DeliverChallenge,
    RegisterOob,
    UnregisterOob,
}

impl ActionName {
    pub const ALL: [ActionName; 7] = [
        ActionName::UserChallenge,
        ActionName::DeviceChallenge,
        ActionName::Verify,
        ActionName::Reset,
        ActionName::DeliverChallenge,
        ActionName::RegisterOob,
        ActionName::UnregisterOob,
    ];

    pub fn as_str(self) -> &'static str {
        ACTION_NAMES[self as usize]
    }

    /// Case-insensitive, as HID's codes are matched.
    pub fn parse(word: &str) -> Option<ActionName> {
        ActionName::ALL.into_iter().find(|a| a.as_str().eq_ignore_ascii_case(word))
    }
}

/// The longest value an action attribute may carry (`tds` is the longest the SPEC names).
pub const VALUE_MAX: usize = 1000;

/// An action as requested: its name and its `attributes` as name/value pairs.
#[derive(Clone, PartialEq, Eq)]
pub struct Action {
    pub name: ActionName,
    attributes: Vec<(String, String)>,
}

// Values carry responses, answers and tokens: never printed.
impl std::fmt::Debug for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.attributes.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Action").field("name", &self.name).field("attributes", &names).finish()
    }
}

impl Action {
    /// The action of a body, if it has the Action key; `None` when it has none (a plain create).
    pub fn from_body(body: &Value) -> Result<Option<Action>, Problem> {
        let Some(action) = body.get(ACTION_SCHEMA) else { return Ok(None) };
        let name = match action.get("action") {
            Some(Value::String(word)) => ActionName::parse(word).ok_or_else(|| {
                Problem::invalid(
                    "action",
                    "names no action of this service (USER-CHALLENGE, VERIFY, RESET, …)",
                )
            })?,
            Some(_) => return Err(Problem::invalid("action", "must be a string")),
            None => return Err(Problem::MissingAttribute("action")),
        };
        let items = match action.get("attributes") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(items)) => items.as_slice(),
            Some(_) => return Err(Problem::invalid("attributes", "must be a list of {name, value}")),
        };
        let mut attributes: Vec<(String, String)> = Vec::with_capacity(items.len());
        for item in items {
            let Some(name) = item.get("name").and_then(Value::as_str) else {
                return Err(Problem::invalid("attributes", "each needs a name"));
            };
            let value = match item.get("value") {
                Some(Value::String(text)) => text.clone(),
                Some(Value::Number(n)) => n.to_string(),
                None | Some(Value::Null) => String::new(),
                Some(_) => return Err(Problem::invalid("attributes", "a value is a string or a number")),
            };
            if value.chars().count() > VALUE_MAX {
                return Err(Problem::invalid("attributes", "a value has at most 1000 characters"));
            }
            if attributes.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                return Err(Problem::invalid("attributes", "a name appears twice"));
            }
            attributes.push((name.to_owned(), value));
        }
        Ok(Some(Action { name, attributes }))
    }

    /// The value of attribute `name` (case-insensitive); an empty value counts as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, v)| n.eq_ignore_ascii_case(name) && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// The answers of a security-question VERIFY: each `ANSWER.<PROMPT>` as (prompt, answer).
    pub fn answers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.attributes.iter().filter_map(|(name, value)| {
            let prompt = name.get(..7).filter(|p| p.eq_ignore_ascii_case("ANSWER."))?;
            Some((&name[prompt.len()..], value.as_str()))
        })
    }
}

/// A correlation id of DELIVER-CHALLENGE: with a colon it asks for a CIBA ping
/// (`<client_notification_token>:<auth_req_id>`, the token possibly empty); without, it is only
/// echoed in the audit.
#[derive(Clone, PartialEq, Eq)]
pub enum Correlation {
    Plain(String),
    Ciba { token: Option<String>, auth_req_id: String },
}

impl std::fmt::Debug for Correlation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Correlation::Plain(text) => f.debug_tuple("Plain").field(text).finish(),
            Correlation::Ciba { token, auth_req_id } => f
                .debug_struct("Ciba")
                .field("token", &token.as_ref().map(|_| "…"))
                .field("auth_req_id", auth_req_id)
                .finish(),
        }
    }
}

impl Correlation {
    pub fn parse(text: &str) -> Result<Correlation, Problem> {
        let printable = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic());
        match text.split_once(':') {
            None if printable(text) => Ok(Correlation::Plain(text.to_owned())),
            None => Err(Problem::invalid("correlationid", "holds spaces or control characters")),
            Some((token, id)) if printable(id) && (token.is_empty() || printable(token)) => {
                Ok(Correlation::Ciba {
                    token: (!token.is_empty()).then(|| token.to_owned()),
                    auth_req_id: id.to_owned(),
                })
            }
            Some(_) => Err(Problem::invalid(
                "correlationid",
                "for a CIBA ping is <client_notification_token>:<auth_req_id>, printable, auth_req_id not empty",
            )),
        }
    }
}

/// An action's answer: the seed's list of attributes, `REQUEST.STATUS` "1" done or "0" refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionAnswer {
    pub reason: Option<Reason>,
    /// Attributes before the request's status: `CHALLENGE`, `CHALLENGE.ID`, `DEVICE.ID`.
    pub values: Vec<(&'static str, String)>,
}

impl ActionAnswer {
    pub fn done(values: Vec<(&'static str, String)>) -> ActionAnswer {
        ActionAnswer { reason: None, values }
    }

    pub fn refused(reason: Reason) -> ActionAnswer {
        ActionAnswer { reason: Some(reason), values: Vec::new() }
    }

    /// The answer as the seed shows it; `message` is `REQUEST.ERROR_MESSAGE` in the caller's
    /// language (absent when done).
    pub fn to_json(&self, message: Option<&str>) -> Value {
        let attribute = |name: &str, value: Option<&str>| match value {
            Some(value) => json!({"name": name, "type": "string", "value": value, "readOnly": false}),
            None => json!({"name": name, "type": "string", "readOnly": false}),
        };
        let mut attributes: Vec<Value> =
            self.values.iter().map(|(name, value)| attribute(name, Some(value))).collect();
        let (status, reason) = match self.reason {
            None => ("1".to_owned(), "-1".to_owned()),
            Some(reason) => ("0".to_owned(), reason.code().to_string()),
        };
        attributes.push(attribute("REQUEST.STATUS", Some(&status)));
        attributes.push(attribute("REQUEST.REASON", Some(&reason)));
        attributes.push(attribute("REQUEST.ERROR_MESSAGE", message));
        json!({"schemas": [ACTION_SCHEMA], "attributes": attributes})
    }
}

/// A destination shown in `CHALLENGE` without giving it away: the first character and the
/// domain of an address, the last two digits of a phone number.
pub fn masked(destination: &str) -> String {
    match destination.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => {
            let digits: Vec<char> = destination.chars().filter(char::is_ascii_digit).collect();
            let tail: String = digits[digits.len().saturating_sub(2)..].iter().collect();
            format!("{}{tail}", "*".repeat(digits.len().saturating_sub(2)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(attributes: Value) -> Result<Option<Action>, Problem> {
        Action::from_body(&json!({"schemas": [ACTION_SCHEMA],
            ACTION_SCHEMA: {"action": "verify", "attributes": attributes}}))
    }

    #[test]
    fn the_seeds_shapes_are_read() {
        let a =
            action(json!([{"name": "RESPONSE", "value": "123456"}, {"name": "DEVICE.ID", "value": 11936},
            {"name": "ANSWER.Q1", "value": " Blue "}, {"name": "answer.q2", "value": "x"}]))
            .unwrap()
            .unwrap();
        assert_eq!(a.name, ActionName::Verify);
        assert_eq!(a.get("response"), Some("123456"));
        assert_eq!(a.get("DEVICE.ID"), Some("11936"));
        assert_eq!(a.answers().collect::<Vec<_>>(), vec![("Q1", " Blue "), ("q2", "x")]);
        assert!(!format!("{a:?}").contains("123456"), "values are never printed");
        assert_eq!(Action::from_body(&json!({"owner": {"value": "1"}})).unwrap(), None);
        let reset = Action::from_body(&json!({ACTION_SCHEMA: {"action": "RESET"}})).unwrap().unwrap();
        assert_eq!(reset.name, ActionName::Reset);
    }

    #[test]
    fn each_action_has_its_seed_name() {
        let names: Vec<&str> = ActionName::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(
            names,
            [
                "USER-CHALLENGE",
                "DEVICE-CHALLENGE",
                "VERIFY",
                "RESET",
                "DELIVER-CHALLENGE",
                "REGISTER-OOB",
                "UNREGISTER-OOB"
            ]
        );
        assert_eq!(ActionName::ALL[5], ActionName::RegisterOob);
    }

    #[test]
    fn bad_actions_name_what_is_wrong() {
        let bad = |body: Value| match Action::from_body(&body) {
            Err(p) => p.to_string(),
            Ok(a) => panic!("accepted {a:?}"),
        };
        assert!(bad(json!({ACTION_SCHEMA: {"action": "DANCE"}})).contains("action"));
        assert!(bad(json!({ACTION_SCHEMA: {}})).contains("action"));
        assert!(bad(json!({ACTION_SCHEMA: {"action": 1}})).contains("action"));
        assert!(bad(json!({ACTION_SCHEMA: {"action": "RESET", "attributes": {}}})).contains("attributes"));
        for attributes in [
            json!([{"value": "1"}]),
            json!([{"name": "A", "value": [1]}]),
            json!([{"name": "A", "value": "1"}, {"name": "a", "value": "2"}]),
            json!([{"name": "tds", "value": "x".repeat(VALUE_MAX + 1)}]),
        ] {
            assert!(matches!(action(attributes), Err(Problem::InvalidValue { .. })));
        }
        assert!(action(json!([{"name": "tds", "value": "é".repeat(VALUE_MAX)}])).is_ok());
    }

    #[test]
    fn correlation_ids() {
        assert_eq!(Correlation::parse("some_id").unwrap(), Correlation::Plain("some_id".into()));
        assert_eq!(
            Correlation::parse("tok:req").unwrap(),
            Correlation::Ciba { token: Some("tok".into()), auth_req_id: "req".into() }
        );
        assert_eq!(
            Correlation::parse(":req").unwrap(),
            Correlation::Ciba { token: None, auth_req_id: "req".into() }
        );
        for bad in ["tok:", "a b", "t\n:r", ""] {
            assert!(Correlation::parse(bad).is_err(), "{bad:?}");
        }
        assert!(!format!("{:?}", Correlation::parse("secret-token:r").unwrap()).contains("secret"));
    }

    #[test]
    fn answers_have_the_seeds_shape() {
        let done = ActionAnswer::done(vec![("CHALLENGE", "j***@x.org".into()), ("CHALLENGE.ID", "7".into())]);
        assert_eq!(
            done.to_json(None),
            json!({"schemas": [ACTION_SCHEMA], "attributes": [
                {"name": "CHALLENGE", "type": "string", "value": "j***@x.org", "readOnly": false},
                {"name": "CHALLENGE.ID", "type": "string", "value": "7", "readOnly": false},
                {"name": "REQUEST.STATUS", "type": "string", "value": "1", "readOnly": false},
                {"name": "REQUEST.REASON", "type": "string", "value": "-1", "readOnly": false},
                {"name": "REQUEST.ERROR_MESSAGE", "type": "string", "readOnly": false}]})
        );
        let refused = ActionAnswer::refused(Reason::LockedByFailures).to_json(Some("locked"));
        assert_eq!(refused["attributes"][1]["value"], "3");
        assert_eq!(refused["attributes"][0]["value"], "0");
        assert_eq!(refused["attributes"][2]["value"], "locked");
    }

    #[test]
    fn destinations_are_masked() {
        assert_eq!(masked("jane@example.com"), "j***@example.com");
        assert_eq!(masked("+34 600 123 456"), "*********56");
    }
}
