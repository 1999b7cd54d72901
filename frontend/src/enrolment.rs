//! Enrolling an authenticator for a policy and validating it from the app: the bodies the user's
//! page sends and how it reads HID's action answers (SPEC §14; pure, tested in the component
//! tests).

use serde_json::{Value, json};
use shared::User;
use shared::authenticator::{
    ACTION_SCHEMA, AUTHENTICATOR_SCHEMA, PASSWORD_SCHEMA, Reason, SECURITY_QUESTION_SCHEMA,
};
use shared::policy::{Policy, PolicyKind, Prompt};

/// What the enrol form holds for the chosen policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enrolment {
    pub password: String,
    pub password_again: String,
    /// SECURITY_QUESTION: an answer per prompt of the policy, in its order (empty: not answered).
    pub answers: Vec<String>,
    /// REGISTER-OOB: the code to activate the device with; empty for 6 random digits.
    pub activation_code: String,
}

/// Why the form is not sent yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrolProblem {
    PasswordsDiffer,
    /// A password is 4 to 128 characters.
    PasswordLength,
    /// Fewer answers than the policy requires.
    TooFewAnswers {
        required: usize,
    },
    /// An activation code is 4 to 10 digits.
    ActivationCode,
    /// The user has no email address (OOB_EMAIL) or phone number (OOB_SMS) to send codes to.
    NoContact,
}

/// How many answers a SECURITY_QUESTION policy requires when enrolling.
pub fn answers_required(policy: &Policy) -> usize {
    policy
        .prompts_required_for_creation
        .map_or(policy.prompts.len(), |n| n as usize)
        .min(policy.prompts.len())
}

/// The answers given so far (not blank).
pub fn answered(form: &Enrolment) -> usize {
    form.answers.iter().filter(|a| !a.trim().is_empty()).count()
}

/// Where an OOB policy's codes go for `user`: their preferred email address or phone number.
pub fn destination(policy: &Policy, user: &User) -> Option<String> {
    let list = match policy.kind {
        PolicyKind::OobEmail => &user.emails,
        PolicyKind::OobSms => &user.phone_numbers,
        _ => return None,
    };
    User::preferred(list).map(|m| m.value.clone())
}

/// The `POST /Authenticator` body that enrols `user` with `policy`: a plain create (TOTP, HOTP,
/// PASSWORD, SECURITY_QUESTION) or REGISTER-OOB (OOB_EMAIL, OOB_SMS).
pub fn enrol_body(policy: &Policy, user: &User, form: &Enrolment) -> Result<Value, EnrolProblem> {
    let mut body = json!({
        "schemas": [AUTHENTICATOR_SCHEMA],
        "owner": {"value": user.id},
        "policy": {"value": policy.id},
    });
    match policy.kind {
        PolicyKind::Totp | PolicyKind::Hotp => {}
        PolicyKind::Password => {
            if form.password != form.password_again {
                return Err(EnrolProblem::PasswordsDiffer);
            }
            if !(4..=128).contains(&form.password.chars().count()) {
                return Err(EnrolProblem::PasswordLength);
            }
            body["schemas"] = json!([AUTHENTICATOR_SCHEMA, PASSWORD_SCHEMA]);
            body[PASSWORD_SCHEMA] = json!({"username": user.user_name, "password": form.password});
        }
        PolicyKind::SecurityQuestion => {
            let required = answers_required(policy);
            if answered(form) < required.max(1) {
                return Err(EnrolProblem::TooFewAnswers { required: required.max(1) });
            }
            let prompts: Vec<Value> = policy
                .prompts
                .iter()
                .zip(&form.answers)
                .filter(|(_, answer)| !answer.trim().is_empty())
                .map(|(prompt, answer)| json!({"prompt": {"value": prompt.value}, "answer": answer}))
                .collect();
            body["schemas"] = json!([AUTHENTICATOR_SCHEMA, SECURITY_QUESTION_SCHEMA]);
            body[SECURITY_QUESTION_SCHEMA] = json!({"prompts": prompts});
        }
        PolicyKind::OobEmail | PolicyKind::OobSms => {
            if destination(policy, user).is_none() {
                return Err(EnrolProblem::NoContact);
            }
            let code = form.activation_code.trim();
            let well_formed = (4..=10).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit());
            if !code.is_empty() && !well_formed {
                return Err(EnrolProblem::ActivationCode);
            }
            let device_type = if policy.kind == PolicyKind::OobEmail { "DT_OOBEML" } else { "DT_OOBSMS" };
            body["schemas"] = json!([AUTHENTICATOR_SCHEMA, ACTION_SCHEMA]);
            body[ACTION_SCHEMA] = json!({"action": "REGISTER-OOB",
                "attributes": [{"name": "OOB_DEVICETYPE_CODE", "value": device_type}]});
            if !code.is_empty() {
                body["activationCode"] = json!(code);
            }
        }
    }
    Ok(body)
}

/// An action's answer as the user's page reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// `REQUEST.STATUS` "1".
    pub done: bool,
    /// `REQUEST.REASON` when refused.
    pub reason: Option<Reason>,
    pub challenge: Option<String>,
    pub challenge_id: Option<String>,
}

/// Reads an action's answer (`attributes` of `{name, value}`).
pub fn outcome(answer: &Value) -> Outcome {
    let value = |name: &str| {
        answer["attributes"]
            .as_array()?
            .iter()
            .find(|a| a["name"] == name)
            .and_then(|a| a["value"].as_str())
            .map(str::to_owned)
    };
    let done = value("REQUEST.STATUS").as_deref() == Some("1");
    let reason = value("REQUEST.REASON")
        .and_then(|code| code.parse::<u8>().ok())
        .and_then(|code| Reason::ALL.into_iter().find(|r| r.code() == code));
    Outcome {
        done,
        reason: reason.filter(|_| !done),
        challenge: value("CHALLENGE").filter(|c| !c.is_empty()),
        challenge_id: value("CHALLENGE.ID"),
    }
}

/// The prompts a security-question challenge asks (its `CHALLENGE` is a JSON array of them).
pub fn asked_prompts(challenge: &str) -> Vec<Prompt> {
    serde_json::from_str(challenge).unwrap_or_default()
}

/// VERIFY's attributes: the code or password, or one `ANSWER.<prompt>` per asked prompt, and the
/// challenge they answer when one was asked.
pub fn verify_attributes(
    response: &str,
    answers: &[(String, String)],
    challenge_id: Option<&str>,
) -> Vec<(String, String)> {
    let mut attributes: Vec<(String, String)> = match answers.is_empty() {
        true => vec![("RESPONSE".to_owned(), response.to_owned())],
        false => {
            answers.iter().map(|(prompt, answer)| (format!("ANSWER.{prompt}"), answer.clone())).collect()
        }
    };
    if let Some(id) = challenge_id {
        attributes.push(("CHALLENGE.ID".to_owned(), id.to_owned()));
    }
    attributes
}
