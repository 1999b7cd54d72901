//! The dialogs' fields and the SCIM bodies they make (pure, tested in the component tests).

use serde_json::{Value, json};
use shared::User;
use shared::model::USER_SCHEMA;
use shared::policy::{POLICY_SCHEMA, Policy, PolicyKind};
use shared::schema::{Attribute, Input, POLICY_ATTRIBUTES};

/// What the dialog edits of a user: its names, its preferred email address and phone number, and
/// whether it is active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserForm {
    pub user_name: String,
    pub display_name: String,
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    pub phone: String,
    pub active: bool,
}

impl Default for UserForm {
    fn default() -> Self {
        UserForm {
            user_name: String::new(),
            display_name: String::new(),
            given_name: String::new(),
            family_name: String::new(),
            email: String::new(),
            phone: String::new(),
            active: true,
        }
    }
}

fn text_of(value: &str) -> Option<&str> {
    Some(value.trim()).filter(|v| !v.is_empty())
}

/// `list` with its preferred entry's value set to `value` (added as primary when there is none,
/// removed when `value` is empty); the other entries stay as a provisioning client set them.
fn with_preferred(list: &Value, value: &str) -> Value {
    let mut entries: Vec<Value> = list.as_array().cloned().unwrap_or_default();
    let preferred =
        entries.iter().position(|e| e["primary"] == true).or(if entries.is_empty() { None } else { Some(0) });
    match (preferred, text_of(value)) {
        (Some(i), Some(v)) => entries[i]["value"] = json!(v),
        (Some(i), None) => {
            entries.remove(i);
        }
        (None, Some(v)) => entries.push(json!({"value": v, "primary": true})),
        (None, None) => {}
    }
    Value::Array(entries)
}

impl UserForm {
    pub fn from_user(user: &User) -> UserForm {
        UserForm {
            user_name: user.user_name.clone(),
            display_name: user.display_name.clone().unwrap_or_default(),
            given_name: user.name.given_name.clone().unwrap_or_default(),
            family_name: user.name.family_name.clone().unwrap_or_default(),
            email: User::preferred(&user.emails).map(|e| e.value.clone()).unwrap_or_default(),
            phone: User::preferred(&user.phone_numbers).map(|e| e.value.clone()).unwrap_or_default(),
            active: user.active,
        }
    }

    /// The body of a create, or of a replace of `current` (whose other attributes, other
    /// addresses and `externalId` it keeps); `Err` names a required field left empty.
    pub fn to_body(&self, current: Option<&User>) -> Result<Value, &'static str> {
        let user_name = text_of(&self.user_name).ok_or("userName")?;
        let mut body = match current {
            Some(user) => serde_json::to_value(user).unwrap_or_else(|_| json!({})),
            None => json!({}),
        };
        if let Some(object) = body.as_object_mut() {
            object.remove("meta");
            object.remove("id");
        }
        body["schemas"] = json!([USER_SCHEMA]);
        body["userName"] = json!(user_name);
        body["active"] = json!(self.active);
        match text_of(&self.display_name) {
            Some(name) => body["displayName"] = json!(name),
            None => {
                body.as_object_mut().map(|o| o.remove("displayName"));
            }
        }
        let mut name = body.get("name").cloned().filter(Value::is_object).unwrap_or_else(|| json!({}));
        for (key, value) in [("givenName", &self.given_name), ("familyName", &self.family_name)] {
            match text_of(value) {
                Some(v) => name[key] = json!(v),
                None => {
                    name.as_object_mut().map(|o| o.remove(key));
                }
            }
        }
        body["name"] = name;
        let emails = with_preferred(body.get("emails").unwrap_or(&Value::Null), &self.email);
        body["emails"] = emails;
        let phones = with_preferred(body.get("phoneNumbers").unwrap_or(&Value::Null), &self.phone);
        body["phoneNumbers"] = phones;
        Ok(body)
    }
}

/// The policy dialog: the fields of the policy's kind, from the AuthenticatorPolicy attribute
/// table (those with an input that the kind takes), its default flag and its questions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyForm {
    pub kind: PolicyKind,
    /// Text by attribute name, as typed (`id`, `displayName`, `maxFails`, …).
    pub fields: Vec<(&'static str, String)>,
    pub default: bool,
    /// Security questions: code and text.
    pub prompts: Vec<(String, String)>,
}

impl Default for PolicyForm {
    fn default() -> Self {
        PolicyForm { kind: PolicyKind::Totp, fields: Vec::new(), default: false, prompts: Vec::new() }
    }
}

/// The policy attributes the form asks for, for `kind`, in table order (the kind itself apart).
pub fn policy_fields(kind: PolicyKind) -> impl Iterator<Item = &'static Attribute> {
    POLICY_ATTRIBUTES.iter().filter(move |a| a.input.is_some() && a.name != "kind" && kind.takes(a.name))
}

impl PolicyForm {
    pub fn from_policy(policy: &Policy) -> PolicyForm {
        let value = serde_json::to_value(policy).unwrap_or(Value::Null);
        let fields = POLICY_ATTRIBUTES
            .iter()
            .filter(|a| a.input.is_some())
            .map(|a| {
                let text = match &value[a.name] {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => String::new(),
                };
                (a.name, text)
            })
            .collect();
        PolicyForm {
            kind: policy.kind,
            fields,
            default: policy.default,
            prompts: policy.prompts.iter().map(|p| (p.value.clone(), p.display.clone())).collect(),
        }
    }

    pub fn get(&self, name: &str) -> String {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    pub fn set(&mut self, name: &'static str, value: String) {
        match self.fields.iter_mut().find(|(n, _)| *n == name) {
            Some(field) => field.1 = value,
            None => self.fields.push((name, value)),
        }
    }

    /// The body of a create or replace: the kind's fields that are filled in (an empty one
    /// takes the service's default), numbers as numbers; `Err` names a field that is not a
    /// whole number.
    pub fn to_body(&self) -> Result<Value, &'static str> {
        let mut body =
            json!({"schemas": [POLICY_SCHEMA], "kind": self.kind.as_str(), "default": self.default});
        for attribute in policy_fields(self.kind) {
            let text = self.get(attribute.name);
            let Some(text) = text_of(&text) else { continue };
            body[attribute.name] = match attribute.input {
                Some(Input::Number) => json!(text.parse::<u64>().map_err(|_| attribute.name)?),
                _ => json!(text),
            };
        }
        if self.kind.takes("prompts") {
            let prompts: Vec<Value> = self
                .prompts
                .iter()
                .filter(|(code, text)| !code.trim().is_empty() || !text.trim().is_empty())
                .map(|(code, text)| json!({"value": code.trim(), "display": text.trim()}))
                .collect();
            body["prompts"] = Value::Array(prompts);
        }
        Ok(body)
    }
}
