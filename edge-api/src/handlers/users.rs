//! `/Users` (SPEC §17): SCIM core users, as provisioning clients push them.

use super::{if_match, json_body, projection_of, resource_response, to_json};
use crate::context::Ctx;
use crate::domain::users;
use crate::error::ApiError;
use crate::http::ApiResponse;
use crate::settings::Right;
use serde_json::Value;
use shared::filter::Condition;
use shared::patch::PatchOp;
use shared::query::{Page, Projection, Sort};
use shared::schema::USER;
use shared::user::{UserData, apply_user_patch, validate_user};
use shared::{Problem, User};

/// One page of the tenant's users for a listing or a search.
pub(crate) fn page(
    ctx: &Ctx<'_>,
    condition: Option<&Condition>,
    sort: Option<&Sort>,
    page: Page,
) -> Result<(u64, Vec<Value>), ApiError> {
    let (total, users) = ctx.store().list_users(condition, sort, page)?;
    Ok((total, users.into_iter().map(|u| to_json(present(ctx, u))).collect()))
}

/// The user as the API shows it: absolute `meta.location`.
pub(crate) fn present(ctx: &Ctx<'_>, mut user: User) -> User {
    user.meta.location = Some(format!("{}/Users/{}", ctx.base_url, user.id));
    user
}

pub(crate) fn response(ctx: &Ctx<'_>, status: u16, user: User, projection: &Projection) -> ApiResponse {
    let user = present(ctx, user);
    resource_response(status, &user.meta, to_json(&user), projection)
}

pub(crate) fn found(ctx: &Ctx<'_>, id: i64) -> Result<User, ApiError> {
    Ok(users::find(&ctx.scope(), id)?)
}

pub(crate) fn get(ctx: &Ctx<'_>, id: i64) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Invoke)?;
    let projection = projection_of(ctx, &USER)?;
    Ok(response(ctx, 200, found(ctx, id)?, &projection))
}

pub(crate) fn create(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let user = users::create(&ctx.scope(), &validate_user(&json_body(ctx)?)?)?;
    Ok(response(ctx, 201, user, &Projection::Default))
}

/// PUT and PATCH of a user: written if nobody changed it meanwhile (`If-Match`).
pub(crate) fn update(
    ctx: &Ctx<'_>,
    id: i64,
    data_of: impl Fn(&User) -> Result<UserData, Problem>,
) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let user = users::update(&ctx.scope(), id, if_match(ctx).as_ref(), data_of)?;
    Ok(response(ctx, 200, user, &Projection::Default))
}

pub(crate) fn replace(ctx: &Ctx<'_>, id: i64) -> Result<ApiResponse, ApiError> {
    let body = json_body(ctx)?;
    update(ctx, id, |_| validate_user(&body))
}

pub(crate) fn patch(ctx: &Ctx<'_>, id: i64) -> Result<ApiResponse, ApiError> {
    let body = json_body(ctx)?;
    let patch = PatchOp::from_json(&body)?;
    update(ctx, id, |current| apply_user_patch(current, &patch))
}

/// Deletes the user and, in the same transaction, its devices, each audited (SPEC §17).
pub(crate) fn delete(ctx: &Ctx<'_>, id: i64) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    users::delete(&ctx.scope(), id, if_match(ctx).as_ref())?;
    Ok(ApiResponse::empty(204))
}
