//! Users (SPEC §17): bodies checked against the User attribute table, and PATCH (RFC 7644
//! §3.5.2, with the habits of Microsoft Entra ID) applied to the user's JSON form and then
//! checked exactly as a replace is, so that every route to a stored user passes one check.
//!
//! Core User attributes that are not kept (`title`, `addresses`, ...) and extension schemas
//! (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`) are accepted and dropped, as
//! provisioning clients send them whether or not a service keeps them.

use crate::error::Problem;
use crate::input::boolean;
use crate::model::{MultiValue, Name, USER_SCHEMA, User};
use crate::patch::PatchOp;
use crate::patch::{Member, Vocabulary, apply_all};
use crate::schema::{AttrType, Attribute, Mutability, USER};
use crate::validate::{EXTERNAL_ID_MAX, USER_MAX, email_address, phone_number};
use serde_json::{Map, Value};

/// Longest value of the other text attributes and of an email address or phone number.
pub const TEXT_MAX: usize = 256;

/// RFC 7643 §4.1 attributes that a client may send and the service does not keep.
const DROPPED: &[&str] = &[
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "password",
    "addresses",
    "ims",
    "photos",
    "groups",
    "entitlements",
    "roles",
    "x509Certificates",
];

/// Sub-attributes of `name` and of multi-valued entries that are accepted and not kept.
const DROPPED_SUB: &[&str] = &["middleName", "honorificPrefix", "honorificSuffix", "display", "$ref"];

/// What a create or replace writes: every attribute a client can set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserData {
    pub user_name: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub name: Name,
    pub active: bool,
    pub emails: Vec<MultiValue>,
    pub phone_numbers: Vec<MultiValue>,
}

impl UserData {
    pub fn from_user(user: &User) -> UserData {
        UserData {
            user_name: user.user_name.clone(),
            external_id: user.external_id.clone(),
            display_name: user.display_name.clone(),
            name: user.name.clone(),
            active: user.active,
            emails: user.emails.clone(),
            phone_numbers: user.phone_numbers.clone(),
        }
    }
}

/// How a user body's keys are read: kept attributes, and what provisioning clients send that is
/// accepted and not stored.
const VOCABULARY: Vocabulary = Vocabulary {
    resource: &USER,
    dropped: DROPPED,
    dropped_sub: DROPPED_SUB,
    drop_extensions: true,
    members_are_paths: false,
};

/// Text without control characters, at most `max` characters; `""` counts as unassigned.
fn text(attribute: &'static str, value: &Value, max: usize) -> Result<Option<String>, Problem> {
    let text = crate::input::text(attribute, value, max)?;
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

fn user_name(value: &Value) -> Result<String, Problem> {
    let name = value.as_str().ok_or(Problem::invalid("userName", "must be a string"))?;
    let length = name.chars().count();
    if length == 0 || length > USER_MAX || name.trim() != name || name.chars().any(char::is_control) {
        return Err(Problem::invalid(
            "userName",
            "must be 1 to 64 characters without control characters or leading or trailing spaces",
        ));
    }
    Ok(name.to_owned())
}

/// The members of an object, by sub-attribute of `parent`; dropped ones are left out.
fn sub_members<'v>(
    parent: &'static Attribute,
    object: &'v Map<String, Value>,
) -> Result<Vec<(&'static Attribute, &'v Value)>, Problem> {
    let mut out: Vec<(&'static Attribute, &Value)> = Vec::new();
    for (key, value) in object {
        match parent.sub_attribute(key) {
            Some(sub) if !value.is_null() => {
                if out.iter().any(|(a, _)| a == &sub) {
                    return Err(Problem::Syntax(format!("\"{}.{}\" given twice", parent.name, sub.name)));
                }
                out.push((sub, value));
            }
            Some(_) => {}
            None if DROPPED_SUB.iter().any(|d| d.eq_ignore_ascii_case(key)) => {}
            None => return Err(Problem::UnknownAttribute(format!("{}.{key}", parent.name))),
        }
    }
    Ok(out)
}

fn name(attribute: &'static Attribute, value: &Value) -> Result<Name, Problem> {
    let object = value.as_object().ok_or(Problem::invalid(attribute.name, "must be an object"))?;
    let mut name = Name::default();
    for (sub, value) in sub_members(attribute, object)? {
        let slot = match sub.name {
            "formatted" => &mut name.formatted,
            "familyName" => &mut name.family_name,
            _ => &mut name.given_name,
        };
        *slot = text(sub.name, value, TEXT_MAX)?;
    }
    Ok(name)
}

/// `emails` or `phoneNumbers`: a list of `{value, type, primary}` (one object alone is taken as
/// a list of one). Canonical types are stored in lower case, so filters on them use the index
/// and compare exactly; at most one entry is primary (RFC 7643 §2.4).
fn entries(attribute: &'static Attribute, value: &Value) -> Result<Vec<MultiValue>, Problem> {
    let list = match value {
        Value::Array(list) => list.as_slice(),
        Value::Object(_) => std::slice::from_ref(value),
        _ => return Err(Problem::invalid(attribute.name, "must be a list of {value, type, primary}")),
    };
    let mut out = Vec::with_capacity(list.len());
    for entry in list {
        let object =
            entry.as_object().ok_or(Problem::invalid(attribute.name, "must be a list of objects"))?;
        let mut item = MultiValue { value: String::new(), kind: None, primary: None };
        for (sub, value) in sub_members(attribute, object)? {
            match sub.kind {
                AttrType::Boolean => item.primary = Some(boolean(sub.name, value)?),
                _ if sub.name == "type" => {
                    item.kind = text(sub.name, value, 64)?.map(|t| {
                        sub.canonical_values
                            .iter()
                            .find(|c| c.eq_ignore_ascii_case(&t))
                            .map_or(t, |c| (*c).to_owned())
                    });
                }
                _ => item.value = text(sub.name, value, TEXT_MAX)?.unwrap_or_default(),
            }
        }
        if item.value.is_empty() {
            return Err(Problem::invalid(attribute.name, "every entry needs a value"));
        }
        out.push(item);
    }
    if out.iter().filter(|e| e.primary == Some(true)).count() > 1 {
        return Err(Problem::invalid(attribute.name, "at most one entry may be primary"));
    }
    Ok(out)
}

/// Checks a create (POST) or replace (PUT) body. readOnly attributes (`id`, `meta`) are ignored;
/// an attribute left out is unassigned, and `active` is then true. Every email address and phone
/// number must be one destination ([`email_address`], [`phone_number`]): an OOB authenticator
/// sends codes there.
pub fn validate_user(body: &Value) -> Result<UserData, Problem> {
    let data = read_user(body)?;
    check_contacts(&data, None)?;
    Ok(data)
}

/// Each email address and phone number of `data` is one destination; with `before`, those it
/// already had are let be (a PATCH of `active` must not fail on an address stored before this
/// rule existed).
fn check_contacts(data: &UserData, before: Option<&User>) -> Result<(), Problem> {
    let had = |list: fn(&User) -> &Vec<MultiValue>, value: &str| {
        before.is_some_and(|user| list(user).iter().any(|e| e.value == value))
    };
    for entry in data.emails.iter().filter(|e| !had(|u| &u.emails, &e.value)) {
        email_address("emails", &entry.value)?;
    }
    for entry in data.phone_numbers.iter().filter(|e| !had(|u| &u.phone_numbers, &e.value)) {
        phone_number("phoneNumbers", &entry.value)?;
    }
    Ok(())
}

fn read_user(body: &Value) -> Result<UserData, Problem> {
    let object = body.as_object().ok_or_else(|| Problem::Syntax("the body must be a JSON object".into()))?;
    let mut seen: Vec<&'static Attribute> = Vec::new();
    let mut data = UserData {
        user_name: String::new(),
        external_id: None,
        display_name: None,
        name: Name::default(),
        active: true,
        emails: Vec::new(),
        phone_numbers: Vec::new(),
    };
    for (key, value) in object {
        if key.eq_ignore_ascii_case("schemas") {
            let lists_user = value.as_array().is_some_and(|a| {
                a.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(USER_SCHEMA)))
            });
            if !lists_user {
                return Err(Problem::invalid(
                    "schemas",
                    "must list urn:ietf:params:scim:schemas:core:2.0:User",
                ));
            }
            continue;
        }
        let Member::Kept(attribute) = VOCABULARY.member(key)? else { continue };
        if attribute.mutability == Mutability::ReadOnly || value.is_null() {
            continue;
        }
        if seen.contains(&attribute) {
            return Err(Problem::Syntax(format!("attribute \"{}\" given twice", attribute.name)));
        }
        seen.push(attribute);
        match attribute.name {
            "userName" => data.user_name = user_name(value)?,
            "externalId" => {
                data.external_id = text(attribute.name, value, EXTERNAL_ID_MAX)?;
                if data.external_id.is_none() {
                    return Err(Problem::invalid("externalId", "must be 1 to 256 characters"));
                }
            }
            "displayName" => data.display_name = text(attribute.name, value, TEXT_MAX)?,
            "name" => data.name = name(attribute, value)?,
            "active" => data.active = boolean(attribute.name, value)?,
            "emails" => data.emails = entries(attribute, value)?,
            _ => data.phone_numbers = entries(attribute, value)?,
        }
    }
    if data.user_name.is_empty() {
        return Err(Problem::MissingAttribute("userName"));
    }
    Ok(data)
}

/// Applies every operation in order to the user's JSON form and checks the result as a
/// replace; the first error aborts the whole request.
pub fn apply_user_patch(current: &User, patch: &PatchOp) -> Result<UserData, Problem> {
    let Value::Object(mut doc) = serde_json::to_value(current).map_err(|e| Problem::Syntax(e.to_string()))?
    else {
        return Err(Problem::Syntax("a user serialises to an object".into()));
    };
    apply_all(&mut doc, &VOCABULARY, patch)?;
    let data = read_user(&Value::Object(doc))?;
    check_contacts(&data, Some(current))?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Meta;
    use crate::timestamp::Timestamp;
    use serde_json::json;

    fn user() -> User {
        User {
            schemas: vec![USER_SCHEMA.into()],
            id: "7".into(),
            external_id: Some("entra-7".into()),
            user_name: "ann@example.com".into(),
            display_name: Some("Ann".into()),
            name: Name { given_name: Some("Ann".into()), ..Name::default() },
            active: true,
            emails: vec![MultiValue {
                value: "ann@example.com".into(),
                kind: Some("work".into()),
                primary: Some(true),
            }],
            phone_numbers: Vec::new(),
            meta: Meta::new("User", Timestamp(1), Timestamp(1), 1),
        }
    }

    fn patch(ops: Value) -> Result<UserData, Problem> {
        apply_user_patch(&user(), &PatchOp::from_json(&json!({ "Operations": ops }))?)
    }

    #[test]
    fn entra_habits() {
        let data = patch(json!([{"op": "Replace", "path": "active", "value": "False"}])).unwrap();
        assert!(!data.active);
        let data = patch(
            json!([{"op": "Add", "path": "emails[type eq \"home\"].value", "value": "a@home.example"}]),
        )
        .unwrap();
        assert_eq!(data.emails.len(), 2);
        assert_eq!(data.emails[1].kind.as_deref(), Some("home"));
        let data = patch(
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@example.com"}]),
        )
        .unwrap();
        assert_eq!((data.emails.len(), data.emails[0].value.as_str()), (1, "new@example.com"));
        let data =
            patch(json!([{"op": "replace", "value": {"name.familyName": "Lee", "displayName": "Ann Lee"}}]))
                .unwrap();
        assert_eq!(data.name.family_name.as_deref(), Some("Lee"));
        assert_eq!(data.name.given_name.as_deref(), Some("Ann"), "other sub-attributes stay");
    }

    #[test]
    fn a_new_primary_demotes_the_old_one() {
        let data = patch(
            json!([{"op": "add", "path": "emails", "value": [{"value": "b@x.example", "primary": true}]}]),
        )
        .unwrap();
        assert_eq!(data.emails.iter().filter(|e| e.primary == Some(true)).count(), 1);
        assert_eq!(data.emails[1].primary, Some(true));
    }

    #[test]
    fn bad_patches_are_refused() {
        for (ops, scim_type) in [
            (json!([{"op": "remove", "path": "userName"}]), "invalidValue"),
            (json!([{"op": "replace", "path": "id", "value": "9"}]), "mutability"),
            (json!([{"op": "replace", "path": "meta.created", "value": "x"}]), "mutability"),
            (json!([{"op": "replace", "path": "nope", "value": "x"}]), "invalidPath"),
            (json!([{"op": "replace", "path": "emails[type co \"zz\"].value", "value": "x@y"}]), "noTarget"),
            (json!([{"op": "replace", "path": "emails[bogus eq 1]", "value": {}}]), "invalidPath"),
            (json!([{"op": "replace", "path": "name[givenName eq \"x\"]", "value": {}}]), "invalidPath"),
            (json!([{"op": "replace", "path": "active", "value": "maybe"}]), "invalidValue"),
            (json!([{"op": "remove"}]), "noTarget"),
        ] {
            let problem = patch(ops.clone()).expect_err(&ops.to_string());
            assert_eq!(problem.scim_type().as_str(), scim_type, "{ops}");
        }
    }

    /// Regression, from the `patch` fuzz target: a path with a multi-byte character across its
    /// fourth byte panicked where it was compared with `urn:`.
    #[test]
    fn paths_with_any_utf8() {
        let ops = json!([{"op": "replace", "path": "Q8\u{9999}i", "value": 1}]);
        assert_eq!(patch(ops).unwrap_err().scim_type().as_str(), "invalidPath");
        assert!(validate_user(&json!({"schemas": [USER_SCHEMA], "userName": "a", "ab\u{9999}": 1})).is_err());
    }

    #[test]
    fn dropped_attributes_are_accepted_and_not_kept() {
        let body = json!({
            "schemas": [USER_SCHEMA, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "userName": "bob", "title": "Boss", "password": "s3cret!",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "IT"},
            "name": {"givenName": "Bob", "middleName": "J"},
            "emails": [{"value": "b@x.example", "type": "Work", "primary": "True"}],
        });
        let data = validate_user(&body).unwrap();
        assert_eq!(data.emails[0].kind.as_deref(), Some("work"));
        assert_eq!(data.emails[0].primary, Some(true));
        assert!(data.active);
        assert!(validate_user(&json!({"schemas": [USER_SCHEMA], "userName": "b", "shoeSize": 9})).is_err());
        let two = json!({"schemas": [USER_SCHEMA], "userName": "b",
            "emails": [{"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}]});
        assert_eq!(validate_user(&two).unwrap_err().scim_type().as_str(), "invalidValue");
        assert_eq!(
            validate_user(&json!({"schemas": [USER_SCHEMA]})),
            Err(Problem::MissingAttribute("userName"))
        );
    }
}
