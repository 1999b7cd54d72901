//! `/Device` (SPEC §19): the tenant's TOTP and HOTP devices, hardware tokens in stock included.

use super::{if_match, json_body, projection_of, query_param, resource_response, to_json};
use crate::context::Ctx;
use crate::domain::{DomainError, export, import, oath_devices};
use crate::error::ApiError;
use crate::http::ApiResponse;
use crate::settings::Right;
use crate::store;
use serde_json::Value;
use shared::filter::Condition;
use shared::oath_device::{
    DEVICE_COUNTS_SCHEMA, DeviceCounts, OathDevice, read_device_body, read_export_request,
    read_import_request,
};
use shared::patch::{PatchOp, Vocabulary, apply_all};
use shared::query::{Page, Projection, Sort};
use shared::schema::OATH_DEVICE;

/// One page of the tenant's TOTP and HOTP devices for a listing or a search.
pub(crate) fn page(
    ctx: &Ctx<'_>,
    condition: Option<&Condition>,
    sort: Option<&Sort>,
    page: Page,
) -> Result<(u64, Vec<Value>), ApiError> {
    let (total, devices) = ctx.store().list_oath_devices(condition, sort, page)?;
    Ok((total, devices.into_iter().map(|d| to_json(present(ctx, d))).collect()))
}

/// The device as the API shows it: absolute `meta.location` and owner `$ref`.
pub(crate) fn present(ctx: &Ctx<'_>, mut device: OathDevice) -> OathDevice {
    device.meta.location = Some(format!("{}/Device/{}", ctx.base_url, device.id));
    if let Some(owner) = &mut device.owner {
        owner.reference = format!("{}/Users/{}", ctx.base_url, owner.value);
    }
    device
}

fn response(ctx: &Ctx<'_>, device: OathDevice, projection: &Projection) -> ApiResponse {
    let device = present(ctx, device);
    resource_response(200, &device.meta, to_json(&device), projection)
}

pub(crate) fn get(ctx: &Ctx<'_>, id: &str) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Invoke)?;
    let projection = projection_of(ctx, &OATH_DEVICE)?;
    Ok(response(ctx, oath_devices::find(&ctx.scope(), id)?, &projection))
}

/// PUT: the body read against the device as it is (owner, manufacturer, model written).
pub(crate) fn replace(ctx: &Ctx<'_>, id: &str) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let body = json_body(ctx)?;
    let device = oath_devices::update(&ctx.scope(), id, if_match(ctx).as_ref(), |current| {
        Ok(read_device_body(&body, current)?)
    })?;
    Ok(response(ctx, device, &Projection::Default))
}

/// PATCH: the operations on the device as the API shows it, then that document read as a PUT.
pub(crate) fn patch(ctx: &Ctx<'_>, id: &str) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let patch = PatchOp::from_json(&json_body(ctx)?)?;
    let device = oath_devices::update(&ctx.scope(), id, if_match(ctx).as_ref(), |current| {
        let Value::Object(mut doc) = to_json(present(ctx, current.clone())) else {
            return Err(DomainError::Internal("a device serialises to an object".into()));
        };
        apply_all(&mut doc, &Vocabulary::strict(&OATH_DEVICE), &patch)?;
        Ok(read_device_body(&Value::Object(doc), current)?)
    })?;
    Ok(response(ctx, device, &Projection::Default))
}

/// DELETE: a token in stock only (SPEC §19: one handed out is 409, take it back first).
pub(crate) fn delete(ctx: &Ctx<'_>, id: &str) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    oath_devices::delete(&ctx.scope(), id, if_match(ctx).as_ref())?;
    Ok(ApiResponse::empty(204))
}

/// `GET /Device/.counts?filter=…`: the matching devices counted per manufacturer, model and
/// status (the admin app's inventory), by SQLite.
pub(crate) fn counts(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Invoke)?;
    let params = ctx.request.query_params();
    let condition = query_param(&params, "filter")
        .filter(|f| !f.trim().is_empty())
        .map(|f| Condition::compile(&OATH_DEVICE, f))
        .transpose()?;
    let groups = ctx.store().oath_device_counts(condition.as_ref())?.ok_or_else(|| {
        ApiError::Problem(shared::Problem::InvalidParameter {
            parameter: "filter",
            reason: format!(
                "more than {} manufacturers, models and statuses: narrow it",
                store::COUNT_GROUPS
            ),
        })
    })?;
    Ok(ApiResponse::json(200, &DeviceCounts { schemas: vec![DEVICE_COUNTS_SCHEMA.to_owned()], groups }))
}

/// `POST /Device/.import` (SPEC §19): a vendor's seed file into the stock.
pub(crate) fn import(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let request = read_import_request(&json_body(ctx)?)?;
    let result = import::import(&ctx.scope(), &request)?;
    Ok(ApiResponse::json(200, &result))
}

/// `POST /Device/{id}/resync` with `{"codes": ["…", "…"]}`: two consecutive codes of the token.
pub(crate) fn resync(ctx: &Ctx<'_>, id: &str) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let body = json_body(ctx)?;
    let codes: Vec<&str> = match body.get("codes").and_then(Value::as_array) {
        Some(codes) => codes.iter().filter_map(Value::as_str).collect(),
        None => return Err(shared::Problem::MissingAttribute("codes").into()),
    };
    let [first, second] = codes[..] else {
        return Err(shared::Problem::invalid("codes", "must be two consecutive codes from the token").into());
    };
    oath_devices::resync(&ctx.scope(), id, [first.trim(), second.trim()])?;
    Ok(ApiResponse::json(200, &serde_json::json!({"resynced": true})))
}

/// `POST /Device/.export` (SPEC §19): a password-encrypted PSKC file of the matching devices.
pub(crate) fn export(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let request = read_export_request(&json_body(ctx)?)?;
    let (document, _) = export::export(&ctx.scope(), &request)?;
    let mut response = ApiResponse::empty(200).with_header("content-type", "application/pskc+xml");
    response.body = document.into_bytes();
    Ok(response.with_header("content-disposition", "attachment; filename=\"devices.pskc\""))
}
