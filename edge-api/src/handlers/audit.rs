//! `/Audit`: the tenant's audit trail (SPEC §12) as a read-only resource, listed, filtered,
//! sorted and paged by the same machinery as every other resource. Reading it takes
//! `scim:invoke`, as every other read does; nothing in it is a secret.

use super::{int_param, projection_of, query_param, resource_response, to_json};
use crate::context::Ctx;
use crate::error::ApiError;
use crate::http::ApiResponse;
use crate::settings::Right;
use crate::store;
use serde_json::Value;
use shared::Problem;
use shared::audit::{AUDIT_HISTOGRAM_SCHEMA, AuditEvent, AuditHistogram};
use shared::filter::Condition;
use shared::query::{Page, Sort};
use shared::schema::AUDIT;

pub(crate) fn page(
    ctx: &Ctx<'_>,
    condition: Option<&Condition>,
    sort: Option<&Sort>,
    page: Page,
) -> Result<(u64, Vec<Value>), ApiError> {
    let (total, events) = ctx.store().list_audit(condition, sort, page)?;
    Ok((total, events.into_iter().map(|e| to_json(present(ctx, e))).collect()))
}

fn present(ctx: &Ctx<'_>, mut event: AuditEvent) -> AuditEvent {
    event.meta.location = Some(format!("{}/Audit/{}", ctx.base_url, event.id));
    event
}

pub(crate) fn get(ctx: &Ctx<'_>, id: &str) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Invoke)?;
    let projection = projection_of(ctx, &AUDIT)?;
    // Ids are decimal integers; any other text names no event.
    let event = id
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0 && n.to_string() == id)
        .map(|n| ctx.store().get_audit_event(n))
        .transpose()?
        .flatten()
        .ok_or_else(|| ApiError::NoAuditEvent(id.to_owned()))?;
    let event = present(ctx, event);
    Ok(resource_response(200, &event.meta, to_json(&event), &projection))
}

/// The narrowest and widest interval of a histogram: a minute and 31 days.
const INTERVALS: std::ops::RangeInclusive<i64> = 60..=31 * 86_400;

/// `GET /Audit/.histogram?filter=…&interval=3600`: the events matching the filter counted per
/// interval and action, by SQLite (the overview's chart of validations and failures per hour).
pub(crate) fn histogram(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Invoke)?;
    let params = ctx.request.query_params();
    let param = |name: &str| query_param(&params, name);
    let interval = int_param("interval", param("interval"))?.unwrap_or(3600);
    if !INTERVALS.contains(&interval) {
        return Err(ApiError::Problem(Problem::InvalidParameter {
            parameter: "interval",
            reason: format!("must be {} to {} seconds", INTERVALS.start(), INTERVALS.end()),
        }));
    }
    let condition = param("filter")
        .filter(|f| !f.trim().is_empty())
        .map(|f| Condition::compile(&AUDIT, f))
        .transpose()?;
    let buckets = ctx.store().audit_histogram(condition.as_ref(), interval)?.ok_or_else(|| {
        ApiError::Problem(Problem::InvalidParameter {
            parameter: "interval",
            reason: format!(
                "more than {} intervals and actions: narrow the filter's time range or widen the interval",
                store::HISTOGRAM_GROUPS
            ),
        })
    })?;
    let histogram = AuditHistogram { schemas: vec![AUDIT_HISTOGRAM_SCHEMA.to_owned()], interval, buckets };
    Ok(ApiResponse::json(200, &histogram))
}
