//! `/Policy/Authenticator` (SPEC §18): authenticator policies, read with `scim:invoke`,
//! written with `scim:admin`.

use super::{if_match, json_body, projection_of, resource_response, to_json};
use crate::context::Ctx;
use crate::domain::policies;
use crate::error::ApiError;
use crate::http::ApiResponse;
use crate::settings::Right;
use serde_json::Value;
use shared::Problem;
use shared::filter::Condition;
use shared::patch::PatchOp;
use shared::policy::{Policy, PolicyData, apply_policy_patch, validate_policy};
use shared::query::{Page, Projection, Sort};
use shared::schema::POLICY;

/// One page of the tenant's policies for a listing or a search.
pub(crate) fn page(
    ctx: &Ctx<'_>,
    condition: Option<&Condition>,
    sort: Option<&Sort>,
    page: Page,
) -> Result<(u64, Vec<Value>), ApiError> {
    let (total, policies) = ctx.store().list_policies(condition, sort, page)?;
    Ok((total, policies.into_iter().map(|p| to_json(present(ctx, p))).collect()))
}

/// The policy as the API shows it: absolute `meta.location`.
fn present(ctx: &Ctx<'_>, mut policy: Policy) -> Policy {
    policy.meta.location = Some(format!("{}/Policy/Authenticator/{}", ctx.base_url, policy.id));
    policy
}

fn response(ctx: &Ctx<'_>, status: u16, policy: Policy, projection: &Projection) -> ApiResponse {
    let policy = present(ctx, policy);
    resource_response(status, &policy.meta, to_json(&policy), projection)
}

fn found(ctx: &Ctx<'_>, code: &str) -> Result<Policy, ApiError> {
    Ok(policies::find(&ctx.scope(), code)?)
}

pub(crate) fn get(ctx: &Ctx<'_>, code: &str) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Invoke)?;
    let projection = projection_of(ctx, &POLICY)?;
    Ok(response(ctx, 200, found(ctx, code)?, &projection))
}

pub(crate) fn create(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let policy = policies::create(&ctx.scope(), json_body(ctx)?)?;
    Ok(response(ctx, 201, policy, &Projection::Default))
}

/// PUT and PATCH: written if nobody changed the policy meanwhile (`If-Match`).
fn update(
    ctx: &Ctx<'_>,
    code: &str,
    data_of: impl Fn(&Policy) -> Result<PolicyData, Problem>,
) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let policy = policies::update(&ctx.scope(), code, if_match(ctx).as_ref(), data_of)?;
    Ok(response(ctx, 200, policy, &Projection::Default))
}

pub(crate) fn replace(ctx: &Ctx<'_>, code: &str) -> Result<ApiResponse, ApiError> {
    let body = json_body(ctx)?;
    let defaults = ctx.settings.policy_defaults();
    update(ctx, code, |current| validate_policy(&body, Some(current), &defaults))
}

pub(crate) fn patch(ctx: &Ctx<'_>, code: &str) -> Result<ApiResponse, ApiError> {
    let body = json_body(ctx)?;
    let patch = PatchOp::from_json(&body)?;
    let defaults = ctx.settings.policy_defaults();
    update(ctx, code, |current| apply_policy_patch(current, &patch, &defaults))
}

pub(crate) fn delete(ctx: &Ctx<'_>, code: &str) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    policies::delete(&ctx.scope(), code, if_match(ctx).as_ref())?;
    Ok(ApiResponse::empty(204))
}
