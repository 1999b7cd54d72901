//! HID ActivID's dialect: `/Authenticator` (SPEC §14). Routes and wire mapping only; the rules
//! are in [`crate::domain::authenticators`] and [`crate::domain::validation`].

use super::{if_match, json_body, projection_of, resource_response, to_json};
use crate::context::Ctx;
use crate::domain::actions::{self, DeviceChoice, Owner};
use crate::domain::validation::Verdict;
use crate::domain::{DomainError, authenticators};
use crate::error::ApiError;
use crate::http::ApiResponse;
use crate::settings::Right;
use crate::store::{ActionTarget, AuthenticatorRow, ChallengeState};
use serde_json::Value;
use shared::action::{Action, ActionAnswer, ActionName, Correlation};
use shared::authenticator::ACTION_SCHEMA;
use shared::authenticator::{
    AskedPrompt, Authenticator, AuthenticatorStatus, Enabled, Enrollment, PasswordView, Reference,
    SecurityQuestionView, authenticator_id, split_id,
};
use shared::authenticator_body::read_body;
use shared::filter::Condition;
use shared::patch::PatchOp;
use shared::patch::{Vocabulary, apply_all};
use shared::policy::{PolicyKind, Prompt};
use shared::query::{Page, Projection, Sort};
use shared::schema::AUTHENTICATOR;
use shared::{DeviceType, Problem};

/// One page of the tenant's authenticators for a listing or a search.
pub(crate) fn page(
    ctx: &Ctx<'_>,
    condition: Option<&Condition>,
    sort: Option<&Sort>,
    page: Page,
) -> Result<(u64, Vec<Value>), ApiError> {
    let (total, rows) = ctx.store().list_authenticators(condition, sort, page)?;
    Ok((total, rows.into_iter().map(|row| to_json(present(ctx, row, None))).collect()))
}

/// The authenticator as HID's API shows it.
fn present(ctx: &Ctx<'_>, row: AuthenticatorRow, enrollment: Option<Enrollment>) -> Authenticator {
    let url = |path: String| format!("{}/{path}", ctx.base_url);
    let id = authenticator_id(row.user_id, &row.policy);
    let enabled = row.shown_enabled();
    let mut meta = row.meta;
    meta.location = Some(url(format!("Authenticator/{id}")));
    // `Password.username` as the create gave it, else the owner's userName.
    let password = (row.kind == Some(PolicyKind::Password)).then(|| PasswordView {
        username: row.password_username.clone().unwrap_or_else(|| row.user_name.clone()),
    });
    let security_question = (row.kind == Some(PolicyKind::SecurityQuestion)).then(|| SecurityQuestionView {
        prompts: row
            .answers
            .iter()
            .map(|answer| AskedPrompt {
                prompt: Prompt {
                    value: answer.prompt.clone(),
                    display: row
                        .prompts
                        .iter()
                        .find(|p| p.value == answer.prompt)
                        .map_or_else(String::new, |p| p.display.clone()),
                },
            })
            .collect(),
        prompts_required_for_creation: row.prompts_required,
    });
    Authenticator {
        schemas: Vec::new(),
        id,
        external_id: row.user_name.clone(),
        owner: Reference::to(
            Some("User"),
            row.user_id.to_string(),
            Some(row.user_name),
            url(format!("Users/{}", row.user_id)),
        ),
        policy: Reference::to(
            None,
            row.policy.clone(),
            Some(row.policy_display),
            url(format!("Policy/Authenticator/{}", row.policy)),
        ),
        // Disabled by failures reads as DISABLED, as HID shows it, until RESET or enabled.
        status: AuthenticatorStatus {
            status: match enabled {
                true => Enabled::Enabled,
                false => Enabled::Disabled,
            },
            active: row.active,
            start_date: row.start_date,
            expiry_date: row.expiry_date,
        },
        statistics: row.statistics,
        last_successful_device: row.last_device_id.map(|device| {
            // TOTP and HOTP devices are Devices (SPEC §19); the other kinds only OtpDevices.
            let resource = match row.kind {
                Some(PolicyKind::Totp | PolicyKind::Hotp) => "Device",
                _ => "OtpDevice",
            };
            Reference::to(Some("Device"), device.to_string(), None, url(format!("{resource}/{device}")))
        }),
        password,
        security_question,
        enrollment,
        meta,
    }
    .with_schemas()
}

fn response(
    ctx: &Ctx<'_>,
    status: u16,
    row: AuthenticatorRow,
    enrollment: Option<Enrollment>,
    projection: &Projection,
) -> ApiResponse {
    let authenticator = present(ctx, row, enrollment);
    resource_response(status, &authenticator.meta, to_json(&authenticator), projection)
}

/// The user id and policy code an `{id}` names; any other text names no authenticator.
pub(crate) fn parse_id(id: &str) -> Result<(i64, &str), ApiError> {
    let missing = || ApiError::NoAuthenticator(id.to_owned());
    let (user, policy) = split_id(id).ok_or_else(missing)?;
    let user = user.parse::<i64>().map_err(|_| missing())?;
    Ok((user, policy))
}

pub(crate) fn get(ctx: &Ctx<'_>, id: &str) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Invoke)?;
    let projection = projection_of(ctx, &AUTHENTICATOR)?;
    let (user, policy) = parse_id(id)?;
    let row = authenticators::find(&ctx.scope(), user, policy)?;
    Ok(response(ctx, 200, row, None, &projection))
}

/// POST `/Authenticator`: a create, or REGISTER-OOB (a create with its Action).
pub(crate) fn create(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let mut body = json_body(ctx)?;
    let Some(action) = Action::from_body(&body)? else {
        let created = authenticators::create(&ctx.scope(), read_body(&body)?, None)?;
        return Ok(response(ctx, 201, created.row, created.enrollment, &Projection::Default));
    };
    if action.name != ActionName::RegisterOob {
        return Err(Problem::invalid(
            "action",
            "on /Authenticator only REGISTER-OOB; other actions name an authenticator",
        )
        .into());
    }
    let device_type = match action.get("OOB_DEVICETYPE_CODE") {
        Some(code) if code.eq_ignore_ascii_case("DT_OOBEML") => DeviceType::Email,
        Some(code) if code.eq_ignore_ascii_case("DT_OOBSMS") => DeviceType::Sms,
        Some(_) => return Err(Problem::invalid("OOB_DEVICETYPE_CODE", "is DT_OOBEML or DT_OOBSMS").into()),
        None => return Err(Problem::MissingAttribute("OOB_DEVICETYPE_CODE").into()),
    };
    let fields =
        body.as_object_mut().ok_or_else(|| Problem::Syntax("an Authenticator is a JSON object".into()))?;
    fields.remove(ACTION_SCHEMA);
    let given = match fields.remove("activationCode") {
        None | Some(Value::Null) => None,
        Some(Value::String(code)) => Some(code),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => return Err(Problem::invalid("activationCode", "is 4 to 10 digits").into()),
    };
    let code = actions::activation_code(given.as_deref())?;
    let oob = authenticators::OobRegistration { device_type, activation_code: &code };
    let created = authenticators::create(&ctx.scope(), read_body(&body)?, Some(&oob))?;
    let mut answer = response(ctx, 201, created.row, created.enrollment, &Projection::Default);
    // The seed's 201 shows the activation code beside the authenticator, once.
    let mut doc: Value =
        serde_json::from_slice(&answer.body).map_err(|e| ApiError::Internal(e.to_string()))?;
    doc["activationCode"] = Value::String(code);
    answer.body = serde_json::to_vec(&doc).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(answer)
}

/// The authenticator an action names, with its devices as a check reads them: the policy from
/// `{id}`, the user from `USER.EXTERNALID`, else `{id}`'s user part, else the body's `id`, else
/// `DEVICE.ID`'s owner.
fn action_target(
    ctx: &Ctx<'_>,
    id: &str,
    body: &Value,
    action: &Action,
) -> Result<(ActionTarget, Vec<ChallengeState>), ApiError> {
    let missing = || ApiError::NoAuthenticator(id.to_owned());
    let (user_part, policy) = split_id(id).ok_or_else(missing)?;
    let owner = if let Some(value) = action.get("USER.EXTERNALID") {
        Owner::ExternalId(value)
    } else if !user_part.is_empty() {
        user_part.parse::<i64>().map_or(Owner::Unknown, Owner::Id)
    } else if let Some(body_id) = body.get("id").and_then(Value::as_str) {
        parse_id(body_id)
            .ok()
            .filter(|(_, p)| *p == policy)
            .map_or(Owner::Unknown, |(user, _)| Owner::Id(user))
    } else if let Some(device) = action.get("DEVICE.ID").and_then(|d| d.parse::<i64>().ok()) {
        Owner::OfDevice(device)
    } else {
        Owner::Unknown
    };
    let scope = ctx.scope();
    let user = actions::owner_id(&scope, &owner)?.ok_or_else(missing)?;
    Ok(authenticators::action_target(&scope, user, policy)?)
}

/// Which device DEVICE-CHALLENGE, DELIVER-CHALLENGE and VERIFY mean.
fn device_choice(action: &Action) -> Result<DeviceChoice, ApiError> {
    if let Some(id) = action.get("DEVICE.ID") {
        return id
            .parse::<i64>()
            .map(DeviceChoice::Id)
            .map_err(|_| Problem::invalid("DEVICE.ID", "is a device id (an integer)").into());
    }
    if let Some(name) = action.get("DEVICE.EXTERNALID") {
        return Ok(DeviceChoice::Named(name.to_owned()));
    }
    match action.get("DEVICETYPE") {
        None => Ok(DeviceChoice::Any),
        Some(code) if code.eq_ignore_ascii_case("DT_OOBEML") => Ok(DeviceChoice::Type(DeviceType::Email)),
        Some(code) if code.eq_ignore_ascii_case("DT_OOBSMS") => Ok(DeviceChoice::Type(DeviceType::Sms)),
        Some(code) => {
            DeviceType::parse(&code.to_ascii_uppercase()).map(DeviceChoice::Type).ok_or_else(|| {
                Problem::invalid(
                    "DEVICETYPE",
                    "names no device type (TOTP, HOTP, EMAIL, SMS, PIN, DT_OOBEML, DT_OOBSMS)",
                )
                .into()
            })
        }
    }
}

fn answer(ctx: &Ctx<'_>, answer: &ActionAnswer) -> ApiResponse {
    let message = answer.reason.map(|reason| reason.sentence().render(ctx.lang(), &[]));
    ApiResponse::json(200, &answer.to_json(message.as_deref()))
}

/// A challenge's answer; refused by a send budget, it says when to ask again (`Retry-After`).
fn issued(ctx: &Ctx<'_>, result: Result<actions::Issued, actions::Declined>) -> ApiResponse {
    match result {
        Ok(issued) => answer(
            ctx,
            &ActionAnswer::done(vec![
                ("CHALLENGE", issued.challenge),
                ("CHALLENGE.ID", issued.id.to_string()),
            ]),
        ),
        Err(declined) => {
            let response = answer(ctx, &ActionAnswer::refused(declined.reason));
            match declined.retry_after {
                Some(seconds) => response.with_header("retry-after", seconds.to_string()),
                None => response,
            }
        }
    }
}

/// POST `/Authenticator/{id}`: a named action (SPEC §14).
pub(crate) fn action(ctx: &Ctx<'_>, id: &str) -> Result<ApiResponse, ApiError> {
    let body = json_body(ctx)?;
    let action = Action::from_body(&body)?.ok_or(Problem::MissingAttribute(ACTION_SCHEMA))?;
    let right = match action.name {
        ActionName::Reset | ActionName::RegisterOob | ActionName::UnregisterOob => Right::Admin,
        _ => Right::Invoke,
    };
    ctx.caller.require(right)?;
    // REGISTER-OOB creates an authenticator: it is POST /Authenticator.
    let register_elsewhere = || -> Result<ApiResponse, ApiError> {
        Err(Problem::invalid("action", "REGISTER-OOB is POST /Authenticator, with owner and policy").into())
    };
    if action.name == ActionName::RegisterOob {
        return register_elsewhere();
    }
    let (row, devices) = action_target(ctx, id, &body, &action)?;
    let cctx = ctx.challenge_context();
    match action.name {
        ActionName::UserChallenge => {
            let result = actions::challenge(&cctx, ctx.env.deliver, &row, devices, &DeviceChoice::Any, None)?;
            Ok(issued(ctx, result))
        }
        ActionName::DeviceChallenge => {
            let choice = device_choice(&action)?;
            let result = actions::challenge(&cctx, ctx.env.deliver, &row, devices, &choice, None)?;
            Ok(issued(ctx, result))
        }
        ActionName::DeliverChallenge => {
            let correlation = action.get("correlationid").map(Correlation::parse).transpose()?;
            let choice = device_choice(&action)?;
            let result = actions::deliver(
                &cctx,
                ctx.env.deliver,
                &row,
                devices,
                &choice,
                action.get("tds"),
                correlation,
            )?;
            Ok(issued(ctx, result))
        }
        ActionName::Verify => {
            let challenge = action
                .get("CHALLENGE.ID")
                .map(|id| {
                    id.parse::<i64>().map_err(|_| Problem::invalid("CHALLENGE.ID", "names no challenge"))
                })
                .transpose()?;
            let given = actions::Response {
                challenge,
                device: device_choice(&action)?,
                response: action.get("RESPONSE"),
                answers: action.answers().collect(),
            };
            let verified = actions::verify(&cctx, ctx.env.notify, &row, devices, &given)?;
            Ok(answer(
                ctx,
                &match verified.verdict {
                    Verdict::Accepted => ActionAnswer::done(
                        verified.device.map(|d| vec![("DEVICE.ID", d.to_string())]).unwrap_or_default(),
                    ),
                    Verdict::Refused { reason, .. } => ActionAnswer::refused(reason),
                },
            ))
        }
        ActionName::Reset => {
            actions::reset(&cctx, &row)?;
            let row = authenticators::find(&ctx.scope(), row.user_id, &row.policy)?;
            Ok(response(ctx, 200, row, None, &Projection::Default))
        }
        ActionName::UnregisterOob => {
            actions::unregister(&cctx, &row)?;
            Ok(ApiResponse::empty(200))
        }
        ActionName::RegisterOob => register_elsewhere(),
    }
}

pub(crate) fn replace(ctx: &Ctx<'_>, id: &str) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let (user, policy) = parse_id(id)?;
    let body = json_body(ctx)?;
    let row = authenticators::replace(&ctx.scope(), user, policy, if_match(ctx).as_ref(), |_| {
        Ok(read_body(&body)?)
    })?;
    Ok(response(ctx, 200, row, None, &Projection::Default))
}

/// PATCH: the operations on the authenticator as read, then that document checked as a replace.
pub(crate) fn patch(ctx: &Ctx<'_>, id: &str) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let (user, policy) = parse_id(id)?;
    let patch = PatchOp::from_json(&json_body(ctx)?)?;
    let row = authenticators::replace(&ctx.scope(), user, policy, if_match(ctx).as_ref(), |current| {
        let Value::Object(mut doc) = to_json(present(ctx, current.clone(), None)) else {
            return Err(DomainError::Internal("an authenticator serialises to an object".into()));
        };
        apply_all(&mut doc, &Vocabulary::strict(&AUTHENTICATOR), &patch)?;
        Ok(read_body(&Value::Object(doc))?)
    })?;
    Ok(response(ctx, 200, row, None, &Projection::Default))
}

pub(crate) fn delete(ctx: &Ctx<'_>, id: &str) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let (user, policy) = parse_id(id)?;
    authenticators::delete(&ctx.scope(), user, policy, if_match(ctx).as_ref())?;
    Ok(ApiResponse::empty(204))
}
