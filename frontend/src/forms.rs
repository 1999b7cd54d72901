//! The user dialog's fields and the SCIM body they make (pure, tested in the component tests).

use serde_json::{Value, json};
use shared::User;
use shared::model::USER_SCHEMA;

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

fn text(value: &str) -> Option<&str> {
    Some(value.trim()).filter(|v| !v.is_empty())
}

/// `list` with its preferred entry's value set to `value` (added as primary when there is none,
/// removed when `value` is empty); the other entries stay as a provisioning client set them.
fn with_preferred(list: &Value, value: &str) -> Value {
    let mut entries: Vec<Value> = list.as_array().cloned().unwrap_or_default();
    let preferred =
        entries.iter().position(|e| e["primary"] == true).or(if entries.is_empty() { None } else { Some(0) });
    match (preferred, text(value)) {
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
        let user_name = text(&self.user_name).ok_or("userName")?;
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
        match text(&self.display_name) {
            Some(name) => body["displayName"] = json!(name),
            None => {
                body.as_object_mut().map(|o| o.remove("displayName"));
            }
        }
        let mut name = body.get("name").cloned().filter(Value::is_object).unwrap_or_else(|| json!({}));
        for (key, value) in [("givenName", &self.given_name), ("familyName", &self.family_name)] {
            match text(value) {
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
