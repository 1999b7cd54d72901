//! `/Users` (SPEC §17): SCIM core users, as provisioning clients push them.

use super::{delete_version, if_match, json_body, projection_of, resource_response, to_json};
use crate::context::Ctx;
use crate::domain::{Written, update_versioned};
use crate::error::ApiError;
use crate::http::ApiResponse;
use crate::settings::Right;
use crate::store::{self, UserRefused};
use serde_json::Value;
use shared::filter::Condition;
use shared::model::{etag, etag_version};
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
    let (total, users) = store::list_users(ctx.env.db, &ctx.tenant, condition, sort, page)?;
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
    store::get_user(ctx.env.db, &ctx.tenant, id)?.ok_or_else(|| ApiError::NoUser(id.to_string()))
}

pub(crate) fn get(ctx: &Ctx<'_>, id: i64) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Invoke)?;
    let projection = projection_of(ctx, &USER)?;
    Ok(response(ctx, 200, found(ctx, id)?, &projection))
}

pub(crate) fn create(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let data = validate_user(&json_body(ctx)?)?;
    let created = store::write(ctx.env.db, ctx.actor(), ctx.env.now, |tx| tx.create_user(&data))?;
    match created {
        Ok(user) => Ok(response(ctx, 201, user, &Projection::Default)),
        Err(UserRefused::NameTaken(existing)) => Err(ApiError::UserNameTaken { existing }),
        Err(UserRefused::Stale) => Err(ApiError::Conflict),
    }
}

/// PUT and PATCH of a user, as [`super::soffid::update`] does for devices: `If-Match` gives 412 on a stale
/// version; without it, a lost race is retried on the new version.
pub(crate) fn update(
    ctx: &Ctx<'_>,
    id: i64,
    data_of: impl Fn(&User) -> Result<UserData, Problem>,
) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let version_of = |user: &User| etag_version(&user.meta.version).unwrap_or(0);
    let user = update_versioned(
        if_match(ctx).as_ref(),
        || found(ctx, id),
        version_of,
        |current, version| {
            let data = data_of(current)?;
            let written = store::write(ctx.env.db, ctx.actor(), ctx.env.now, |tx| {
                tx.replace_user(current, version, &data)
            })?;
            match written {
                Ok(user) => Ok(Written::Done(user)),
                Err(UserRefused::NameTaken(existing)) => Err(ApiError::UserNameTaken { existing }),
                Err(UserRefused::Stale) => Ok(Written::Stale),
            }
        },
    )?;
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
    let current = found(ctx, id)?;
    let version = delete_version(ctx, etag_version(&current.meta.version).unwrap_or(0))?;
    let deleted = store::write(ctx.env.db, ctx.actor(), ctx.env.now, |tx| tx.delete_user(&current, version))?;
    match (deleted, version) {
        (true, _) => Ok(ApiResponse::empty(204)),
        (false, Some(v)) => Err(ApiError::Stale { version: etag(v) }),
        (false, None) => Err(ApiError::NoUser(id.to_string())),
    }
}
