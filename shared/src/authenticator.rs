//! HID ActivID's `Authenticator` (SPEC §14) as the API shows it: the binding of one user to one
//! authenticator policy, with its status, validity dates and statistics. The wire shape is the
//! seed's (`seeds/hid-activid-authenticator-api.txt`); the store keeps the state behind it.

pub use crate::urn::{
    ACTION_SCHEMA, AUTHENTICATOR_SCHEMA, ENROLLMENT_SCHEMA, PASSWORD_SCHEMA, SECURITY_QUESTION_SCHEMA,
};

pub use crate::standing::{Inactive, Reason, Refusal, Standing};

use crate::model::Meta;
use crate::timestamp::{self, Timestamp};
use serde::{Deserialize, Serialize};

/// The authenticator's SCIM id: `<userId>.<policyCode>` (`10033.AT_EMPOTP`).
pub fn authenticator_id(user_id: i64, policy: &str) -> String {
    format!("{user_id}.{policy}")
}

/// Splits an authenticator id into its user part (empty when a request names the user
/// otherwise, as `/Authenticator/.AT_EMPOTP` does) and its policy code.
pub fn split_id(id: &str) -> Option<(&str, &str)> {
    let (user, policy) = id.split_once('.')?;
    let user_ok = user.is_empty() || (user.bytes().all(|b| b.is_ascii_digit()) && !user.starts_with('0'));
    (user_ok && crate::policy::is_code(policy)).then_some((user, policy))
}

/// A reference to another resource, as the seed writes them: `$ref` and, since its samples
/// use both names, `location` with the same URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    #[serde(rename = "$ref")]
    pub reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl Reference {
    /// A reference to `url`, carried under both of the seed's names.
    pub fn to(kind: Option<&str>, value: String, display: Option<String>, url: String) -> Reference {
        Reference {
            kind: kind.map(str::to_owned),
            value,
            display,
            location: Some(url.clone()),
            reference: url,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Enabled {
    Enabled,
    Disabled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorStatus {
    pub status: Enabled,
    /// ENABLED, now within the validity dates, the owner active, the usage limit not reached
    /// and, for the device kinds, a device in C or V.
    pub active: bool,
    #[serde(with = "timestamp::rfc3339")]
    pub start_date: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "timestamp::optional_rfc3339")]
    pub expiry_date: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Statistics {
    pub consecutive_failed: u64,
    pub consecutive_success: u64,
    /// The policy's `maxUsages` (0: unlimited).
    pub maximum_number_of_usages: u64,
    pub total_failed: u64,
    pub total_success: u64,
}

/// `urn:hid:scim:api:idp:2.0:Password` as returned: the password itself never is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordView {
    pub username: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AskedPrompt {
    pub prompt: crate::policy::Prompt,
}

/// `urn:hid:scim:api:idp:2.0:SecurityQuestion` as returned: the prompts answered, never the
/// answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityQuestionView {
    pub prompts: Vec<AskedPrompt>,
    pub prompts_required_for_creation: u32,
}

/// What a create that enrols a device returns once, and never again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Enrollment {
    pub device_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otpauth_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// REGISTER-OOB: the code whose first VERIFY activates the device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authenticator {
    pub schemas: Vec<String>,
    pub id: String,
    /// The owner's userName (HID shows the user's external id here).
    pub external_id: String,
    pub owner: Reference,
    pub policy: Reference,
    pub status: AuthenticatorStatus,
    pub statistics: Statistics,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_successful_device: Option<Reference>,
    #[serde(default, rename = "urn:hid:scim:api:idp:2.0:Password", skip_serializing_if = "Option::is_none")]
    pub password: Option<PasswordView>,
    #[serde(
        default,
        rename = "urn:hid:scim:api:idp:2.0:SecurityQuestion",
        skip_serializing_if = "Option::is_none"
    )]
    pub security_question: Option<SecurityQuestionView>,
    #[serde(
        default,
        rename = "urn:scim-otp:params:scim:schemas:extension:Enrollment",
        skip_serializing_if = "Option::is_none"
    )]
    pub enrollment: Option<Enrollment>,
    pub meta: Meta,
}

impl Authenticator {
    /// `schemas`: the core one and each extension the resource carries.
    pub fn with_schemas(mut self) -> Authenticator {
        let mut schemas = vec![AUTHENTICATOR_SCHEMA.to_owned()];
        for (present, schema) in [
            (self.password.is_some(), PASSWORD_SCHEMA),
            (self.security_question.is_some(), SECURITY_QUESTION_SCHEMA),
            (self.enrollment.is_some(), ENROLLMENT_SCHEMA),
        ] {
            if present {
                schemas.push(schema.to_owned());
            }
        }
        self.schemas = schemas;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// The keys of every object in `value`, by path: the shape, without the values.
    fn shape(value: &Value, path: &str, out: &mut Vec<String>) {
        if let Value::Object(map) = value {
            for (key, inner) in map {
                let here = format!("{path}/{key}");
                out.push(here.clone());
                shape(inner, &here, out);
            }
        }
    }

    fn shape_of(value: &Value) -> Vec<String> {
        let mut out = Vec::new();
        shape(value, "", &mut out);
        out.sort();
        out
    }

    /// Our authenticator has the keys of the seed's "Get an Authenticator" sample, at every
    /// level (plus `meta.lastModified`, which RFC 7643 §3.1 gives every resource, and `$ref`
    /// beside `location`, as the seed's other samples write it).
    #[test]
    fn the_wire_shape_is_the_seeds() {
        let url = |path: &str| format!("https://scim.example/scim/tenant/v2/{path}");
        let ours = Authenticator {
            schemas: Vec::new(),
            id: authenticator_id(10033, "AT_EMPOTP"),
            external_id: "jsmith".into(),
            owner: Reference::to(Some("User"), "10033".into(), Some("jsmith".into()), url("Users/10033")),
            policy: Reference::to(
                None,
                "AT_EMPOTP".into(),
                Some("AT_EMPOTP".into()),
                url("Policy/Authenticator/AT_EMPOTP"),
            ),
            status: AuthenticatorStatus {
                status: Enabled::Enabled,
                active: true,
                start_date: Timestamp::parse("2022-11-20T18:15:21Z").unwrap(),
                expiry_date: Timestamp::parse("2024-11-19T18:15:21Z"),
            },
            statistics: Statistics {
                consecutive_success: 6,
                total_success: 6,
                maximum_number_of_usages: 6,
                ..Statistics::default()
            },
            last_successful_device: Some(Reference::to(
                Some("Device"),
                "127474".into(),
                None,
                url("OtpDevice/127474"),
            )),
            password: None,
            security_question: None,
            enrollment: None,
            meta: Meta::new("Authenticator", Timestamp(1_668_968_121), Timestamp(1_668_968_121), 1),
        }
        .with_schemas();
        let seed = json!({
            "schemas": ["urn:hid:scim:api:idp:2.0:Authenticator"],
            "id": "10033.AT_EMPOTP",
            "externalId": "jsmith",
            "meta": {"resourceType": "Authenticator", "created": "2022-11-20T18:15:21+00:00",
                     "location": "https://[base-server-url]/SCIM/tenant/v2/Authenticator/10033.AT_EMPOTP", "version": 1},
            "status": {"status": "ENABLED", "active": true, "startDate": "2022-11-20T18:15:21+00:00",
                       "expiryDate": "2024-11-19T18:15:21+00:00"},
            "owner": {"type": "User", "display": "jsmith", "value": 10033,
                      "location": "https://[base-server-url]/SCIM/tenant/v2/Users/10033"},
            "statistics": {"consecutiveFailed": 0, "consecutiveSuccess": 6, "maximumNumberOfUsages": 6,
                           "totalFailed": 0, "totalSuccess": 6},
            "policy": {"display": "AT_EMPOTP", "value": "AT_EMPOTP",
                       "location": "https://[base-server-url]/SCIM/tenant/v2/Policy/Authenticator/AT_EMPOTP"},
            "lastSuccessfulDevice": {"type": "Device", "value": "127474", "$ref": "https://[base-server-url]/SCIM/tenant/v2/Device/127474"}
        });
        let mut ours = serde_json::to_value(&ours).unwrap();
        ours["meta"]["location"] = url("Authenticator/10033.AT_EMPOTP").into();
        let mut expected = shape_of(&seed);
        expected.extend(
            ["/meta/lastModified", "/owner/$ref", "/policy/$ref", "/lastSuccessfulDevice/location"]
                .map(String::from),
        );
        expected.sort();
        assert_eq!(shape_of(&ours), expected);
        // The seed writes `+00:00`, we write `Z`: the same instants (RFC 3339 §4.2 allows both).
        let zulu = |text: &Value| text.as_str().unwrap().replace("+00:00", "Z");
        assert_eq!(ours["status"]["startDate"], zulu(&seed["status"]["startDate"]));
        assert_eq!(ours["status"]["expiryDate"], zulu(&seed["status"]["expiryDate"]));
        assert_eq!(ours["statistics"], seed["statistics"]);
    }

    #[test]
    fn refusals_read_back_and_reasons_are_numbered_as_the_spec_says() {
        for refusal in Refusal::ALL {
            assert_eq!(Refusal::parse(refusal.as_str()), Some(refusal));
        }
        let codes: Vec<u8> = Reason::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(codes, (1..=9).collect::<Vec<u8>>());
    }

    #[test]
    fn ids_name_a_user_and_a_policy() {
        assert_eq!(split_id("10033.AT_EMPOTP"), Some(("10033", "AT_EMPOTP")));
        assert_eq!(split_id(".AT_EMPOTP"), Some(("", "AT_EMPOTP")), "the user named otherwise");
        for bad in ["10033", "x.AT_EMPOTP", "010.AT_X", "1.at_lower", "1.", "1.AT_X.Y"] {
            assert_eq!(split_id(bad), None, "{bad}");
        }
    }
}
