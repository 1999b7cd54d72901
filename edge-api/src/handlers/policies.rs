//! `/Policy/Authenticator` (SPEC §18): authenticator policies, read with `scim:invoke`,
//! written with `scim:admin`.

use super::{delete_version, if_match, json_body, projection_of, resource_response, to_json};
use crate::context::Ctx;
use crate::crypto;
use crate::domain::{Written, update_versioned};
use crate::error::ApiError;
use crate::http::ApiResponse;
use crate::settings::Right;
use crate::store::{self, PolicyRefused};
use serde_json::Value;
use shared::Problem;
use shared::filter::Condition;
use shared::model::{etag, etag_version};
use shared::patch::PatchOp;
use shared::policy::{ASSIGNED_PREFIX, Policy, PolicyData, apply_policy_patch, validate_policy};
use shared::query::{Page, Projection, Sort};
use shared::schema::POLICY;

/// One page of the tenant's policies for a listing or a search.
pub(crate) fn page(
    ctx: &Ctx<'_>,
    condition: Option<&Condition>,
    sort: Option<&Sort>,
    page: Page,
) -> Result<(u64, Vec<Value>), ApiError> {
    let (total, policies) = store::list_policies(ctx.env.db, &ctx.tenant, condition, sort, page)?;
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
    store::get_policy(ctx.env.db, &ctx.tenant, code)?.ok_or_else(|| ApiError::NoPolicy(code.to_owned()))
}

fn refused(refusal: PolicyRefused, code: &str) -> ApiError {
    match refusal {
        PolicyRefused::CodeTaken => ApiError::PolicyTaken(code.to_owned()),
        PolicyRefused::IsDefault => ApiError::DefaultPolicy(code.to_owned()),
        PolicyRefused::InUse(authenticators) => {
            ApiError::PolicyInUse { code: code.to_owned(), authenticators }
        }
        PolicyRefused::Stale => ApiError::Conflict,
    }
}

pub(crate) fn get(ctx: &Ctx<'_>, code: &str) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Invoke)?;
    let projection = projection_of(ctx, &POLICY)?;
    Ok(response(ctx, 200, found(ctx, code)?, &projection))
}

/// A code for a create that leaves `id` out, as RFC 7643 §3.1 has the service assign ids.
fn assigned_code() -> Result<String, ApiError> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut random = [0u8; 10];
    crypto::fill_random(&mut random).map_err(ApiError::Internal)?;
    let tail: String =
        random.iter().map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()])).collect();
    Ok(format!("{ASSIGNED_PREFIX}{tail}"))
}

pub(crate) fn create(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let mut body = json_body(ctx)?;
    if let Some(object) = body.as_object_mut()
        && !object.keys().any(|k| POLICY.strip_urn(k).eq_ignore_ascii_case("id"))
    {
        object.insert("id".into(), assigned_code()?.into());
    }
    let data = validate_policy(&body, None, &ctx.settings.policy_defaults())?;
    let created = store::write(ctx.env.db, ctx.actor(), ctx.env.now, |tx| tx.create_policy(&data))?;
    let policy = created.map_err(|refusal| refused(refusal, &data.code))?;
    Ok(response(ctx, 201, policy, &Projection::Default))
}

/// PUT and PATCH: `If-Match` gives 412 on a stale version; without it, a lost race is retried
/// on the new version.
fn update(
    ctx: &Ctx<'_>,
    code: &str,
    data_of: impl Fn(&Policy) -> Result<PolicyData, Problem>,
) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let version_of = |policy: &Policy| etag_version(&policy.meta.version).unwrap_or(0);
    let policy = update_versioned(
        if_match(ctx).as_ref(),
        || found(ctx, code),
        version_of,
        |current, version| {
            let data = data_of(current)?;
            let written = store::write(ctx.env.db, ctx.actor(), ctx.env.now, |tx| {
                tx.replace_policy(current, version, &data)
            })?;
            match written {
                Ok(policy) => Ok(Written::Done(policy)),
                Err(PolicyRefused::Stale) => Ok(Written::Stale),
                Err(refusal) => Err(refused(refusal, code)),
            }
        },
    )?;
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
    let current = found(ctx, code)?;
    let version = delete_version(ctx, etag_version(&current.meta.version).unwrap_or(0))?;
    let deleted =
        store::write(ctx.env.db, ctx.actor(), ctx.env.now, |tx| tx.delete_policy(&current, version))?;
    match (deleted, version) {
        (Ok(()), _) => Ok(ApiResponse::empty(204)),
        (Err(PolicyRefused::Stale), Some(v)) => Err(ApiError::Stale { version: etag(v) }),
        (Err(PolicyRefused::Stale), None) => Err(ApiError::NoPolicy(code.to_owned())),
        (Err(refusal), _) => Err(refused(refusal, code)),
    }
}
