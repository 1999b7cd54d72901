//! HID ActivID's dialect: `/Authenticator` (SPEC §14). Routes and wire mapping only; the rules
//! are in [`crate::domain::authenticators`] and [`crate::challenge`].

use super::{if_match, json_body, projection_of, resource_response, to_json};
use crate::app::Ctx;
use crate::domain::authenticators;
use crate::error::ApiError;
use crate::http::ApiResponse;
use crate::settings::Right;
use crate::store::{self, AuthenticatorRow};
use serde_json::Value;
use shared::authenticator::{
    AskedPrompt, Authenticator, AuthenticatorStatus, Enabled, Enrollment, PasswordView, Reference,
    SecurityQuestionView, authenticator_id, split_id,
};
use shared::authenticator_body::read_body;
use shared::doc_patch::{Vocabulary, apply_all};
use shared::filter::Condition;
use shared::patch::PatchOp;
use shared::policy::{PolicyKind, Prompt};
use shared::query::{Page, Projection, Sort};
use shared::schema::AUTHENTICATOR;

/// One page of the tenant's authenticators for a listing or a search.
pub(crate) fn page(
    ctx: &Ctx<'_>,
    condition: Option<&Condition>,
    sort: Option<&Sort>,
    page: Page,
) -> Result<(u64, Vec<Value>), ApiError> {
    let (total, rows) =
        store::list_authenticators(ctx.env.db, &ctx.tenant, condition, sort, page, ctx.env.now)?;
    Ok((total, rows.into_iter().map(|row| to_json(present(ctx, row, None))).collect()))
}

/// The authenticator as HID's API shows it.
fn present(ctx: &Ctx<'_>, row: AuthenticatorRow, enrollment: Option<Enrollment>) -> Authenticator {
    let url = |path: String| format!("{}/{path}", ctx.base_url);
    let id = authenticator_id(row.user_id, &row.policy);
    let mut meta = row.meta;
    meta.location = Some(url(format!("Authenticator/{id}")));
    let password =
        (row.kind == Some(PolicyKind::Password)).then(|| PasswordView { username: row.user_name.clone() });
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
            status: match row.enabled && !row.disabled_by_failures {
                true => Enabled::Enabled,
                false => Enabled::Disabled,
            },
            active: row.active,
            start_date: row.start_date,
            expiry_date: row.expiry_date,
        },
        statistics: row.statistics,
        last_successful_device: row.last_device_id.map(|device| {
            Reference::to(Some("Device"), device.to_string(), None, url(format!("OtpDevice/{device}")))
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

pub(crate) fn create(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let body = read_body(&json_body(ctx)?)?;
    let created = authenticators::create(&ctx.scope(), body)?;
    Ok(response(ctx, 201, created.row, created.enrollment, &Projection::Default))
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
            return Err(ApiError::Internal("an authenticator serialises to an object".into()));
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
