//! Soffid's dialect: `/OtpDevice`, its `requestChallenge` / `responseChallenge` and audit, and
//! the dev outbox (SPEC §2–§6). Routes and wire mapping only; the rules are in [`crate::domain::validation`]
//! and [`crate::store`].

use super::{if_match, json_body, projection_of, resource_response, to_json};
use crate::context::Ctx;
use crate::domain::validation::{self, Verdict};
use crate::domain::{devices, oath_devices};
use crate::error::ApiError;
use crate::http::ApiResponse;
use crate::settings::Right;
use crate::store;
use serde_json::Value;
use shared::audit::AuditAction;
use shared::filter::Condition;
use shared::model::{ChallengeRequested, ChallengeResult, Links, ListResponse};
use shared::patch::{PatchOp, apply_patch};
use shared::query::{Page, Projection, Sort};
use shared::schema::DEVICE;
use shared::validate::{Changes, validate_replace};
use shared::{OtpDevice, Problem};

/// One page of the tenant's devices for a listing or a search.
pub(crate) fn page(
    ctx: &Ctx<'_>,
    condition: Option<&Condition>,
    sort: Option<&Sort>,
    page: Page,
) -> Result<(u64, Vec<Value>), ApiError> {
    let (total, devices) = ctx.store().list_devices(condition, sort, page)?;
    Ok((total, devices.into_iter().map(|d| to_json(present(ctx, d))).collect()))
}

/// The device as the API shows it: absolute `meta.location` and challenge links.
pub(crate) fn present(ctx: &Ctx<'_>, mut device: OtpDevice) -> OtpDevice {
    let location = format!("{}/OtpDevice/{}", ctx.base_url, device.id);
    device.meta.links = Some(Links {
        request_challenge: format!("{location}/requestChallenge"),
        response_challenge: format!("{location}/responseChallenge"),
    });
    device.meta.location = Some(location);
    device
}

pub(crate) fn response(
    ctx: &Ctx<'_>,
    status: u16,
    device: OtpDevice,
    projection: &Projection,
) -> ApiResponse {
    let device = present(ctx, device);
    resource_response(status, &device.meta, to_json(&device), projection)
}

pub(crate) fn found(ctx: &Ctx<'_>, id: i64) -> Result<OtpDevice, ApiError> {
    Ok(devices::find(&ctx.scope(), id)?)
}

pub(crate) fn get(ctx: &Ctx<'_>, id: i64) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Invoke)?;
    let projection = projection_of(ctx, &DEVICE)?;
    Ok(response(ctx, 200, found(ctx, id)?, &projection))
}

/// A new device: enrolled with a fresh secret, or (with `serialNumber`) a hardware token from
/// the stock handed to `user`, whose secret is in the token (no key URI, no QR code).
pub(crate) fn create(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let body = json_body(ctx)?;
    if let Some((serial, user, device_type)) = shared::oath_device::read_hand_out(&body)? {
        let id = oath_devices::hand_out_by_serial(&ctx.scope(), &serial, &user, device_type)?;
        return Ok(response(ctx, 201, found(ctx, id)?, &Projection::Default));
    }
    let device = devices::create(&ctx.scope(), &body)?;
    Ok(response(ctx, 201, device, &Projection::Default))
}

/// PUT and PATCH: the new state from the current device, written if nobody changed the device
/// meanwhile (`If-Match`).
pub(crate) fn update(
    ctx: &Ctx<'_>,
    id: i64,
    action: AuditAction,
    changes_of: impl Fn(&OtpDevice) -> Result<Changes, Problem>,
) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let device = devices::update(&ctx.scope(), id, action, if_match(ctx).as_ref(), changes_of)?;
    Ok(response(ctx, 200, device, &Projection::Default))
}

pub(crate) fn replace(ctx: &Ctx<'_>, id: i64) -> Result<ApiResponse, ApiError> {
    let body = json_body(ctx)?;
    update(ctx, id, AuditAction::Replace, |current| validate_replace(current, &body))
}

pub(crate) fn patch(ctx: &Ctx<'_>, id: i64) -> Result<ApiResponse, ApiError> {
    let body = json_body(ctx)?;
    let patch = PatchOp::from_json(&body)?;
    update(ctx, id, AuditAction::Patch, |current| apply_patch(current, &patch))
}

pub(crate) fn delete(ctx: &Ctx<'_>, id: i64) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    devices::delete(&ctx.scope(), id, if_match(ctx).as_ref())?;
    Ok(ApiResponse::empty(204))
}

fn challenge_state(ctx: &Ctx<'_>, id: i64) -> Result<store::ChallengeState, ApiError> {
    ctx.store().challenge_state(id)?.ok_or(ApiError::NoDevice(id))
}

pub(crate) fn request_challenge(ctx: &Ctx<'_>, id: i64) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Invoke)?;
    let state = challenge_state(ctx, id)?;
    // Soffid's answer is the same whatever was sent (it tells a caller nothing of the device),
    // unless a send budget refused the code (SPEC §6).
    let requested = validation::request(
        &ctx.challenge_context(),
        &state,
        ctx.env.deliver,
        &validation::Opening::plain(),
    )?;
    match requested {
        validation::Requested::OverBudget { retry_after } => {
            return Err(ApiError::SendRefused { retry_after });
        }
        // A gateway failure answers 502 (SPEC §6).
        validation::Requested::Undelivered => return Err(ApiError::Gateway),
        validation::Requested::Sent { .. }
        | validation::Requested::NothingToSend { .. }
        | validation::Requested::Refused(_) => {}
    }
    let answer = ChallengeRequested { cell: "PIN".to_owned(), card_number: state.device.name };
    Ok(ApiResponse::json(200, &answer))
}

pub(crate) fn response_challenge(ctx: &Ctx<'_>, id: i64) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Invoke)?;
    let body = json_body(ctx)?;
    let code =
        validation::response_text(body.get("pin").and_then(Value::as_str)).ok_or(ApiError::MissingPin)?;
    let mut state = challenge_state(ctx, id)?;
    // A transaction's code (DELIVER-CHALLENGE) answers only HID's VERIFY, which owes its ping.
    state.codes.retain(|open| open.kind != store::ChallengeKind::Transaction);
    let responded = validation::respond(&ctx.challenge_context(), &state, code)?;
    Ok(ApiResponse::json(200, &soffid_answer(responded.verdict)))
}

/// Soffid's answer to a response (SPEC §6): success, and whether the device is locked now.
fn soffid_answer(verdict: Verdict) -> ChallengeResult {
    match verdict {
        Verdict::Accepted => ChallengeResult { success: true, locked: false },
        Verdict::Refused { locked, .. } => ChallengeResult { success: false, locked },
    }
}

pub(crate) fn audit(ctx: &Ctx<'_>, id: i64) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Invoke)?;
    let counters = ctx.store().counters(id)?.ok_or(ApiError::NoDevice(id))?;
    let entries = ctx.store().audit_trail(id, 100)?;
    Ok(ApiResponse::json(200, &serde_json::json!({ "counters": counters, "entries": entries })))
}

pub(crate) fn outbox(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let messages = ctx.store().outbox_list(100)?;
    Ok(ApiResponse::json(200, &ListResponse::new(messages.len() as u64, 1, messages)))
}
