//! The handlers, one module per resource, and what they share: request bodies, projection,
//! ETags and `If-Match`, listings and searches over a resource's attribute table.

pub(crate) mod audit;
pub(crate) mod hid;
pub(crate) mod oath_devices;
pub(crate) mod policies;
pub(crate) mod soffid;
pub(crate) mod users;

use crate::context::Ctx;
use crate::domain::IfMatch;
use crate::error::ApiError;
use crate::http::ApiResponse;
use crate::settings::Right;
use serde_json::Value;
use shared::Problem;
use shared::filter::Condition;
use shared::model::{ListResponse, SearchRequest, etag, etag_version};
use shared::query::{Page, Projection, Sort};
use shared::schema::Resource;

/// A resource that can be listed: its attribute table, and the page of it that a filter, sort
/// and page select (as the API shows each resource, before projection).
pub(crate) struct Listing {
    pub resource: &'static Resource,
    pub page: PageOf,
}

pub(crate) type PageOf =
    fn(&Ctx<'_>, Option<&Condition>, Option<&Sort>, Page) -> Result<(u64, Vec<Value>), ApiError>;

pub(crate) fn json_body(ctx: &Ctx<'_>) -> Result<Value, ApiError> {
    serde_json::from_slice(&ctx.request.body).map_err(|e| {
        // serde_json's message says where (line, column) without echoing the body.
        ApiError::NotJson(e.to_string())
    })
}

/// One resource as a response: projected, with its `ETag`, and `Location` when created.
pub(crate) fn resource_response(
    status: u16,
    meta: &shared::model::Meta,
    mut value: Value,
    projection: &Projection,
) -> ApiResponse {
    if let Some(object) = value.as_object_mut() {
        projection.apply(object);
    }
    let response = ApiResponse::json(status, &value).with_header("etag", meta.version.clone());
    match (status, &meta.location) {
        (201, Some(location)) => response.with_header("location", location.clone()),
        _ => response,
    }
}

/// A query parameter by name; SCIM parameter names are case-insensitive.
pub(crate) fn query_param<'p>(params: &'p [(String, String)], name: &str) -> Option<&'p str> {
    params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

pub(crate) fn int_param(name: &'static str, value: Option<&str>) -> Result<Option<i64>, ApiError> {
    value
        .map(|v| {
            v.trim().parse::<i64>().map_err(|_| {
                ApiError::Problem(Problem::InvalidParameter {
                    parameter: name,
                    reason: format!("\"{v}\" is not an integer"),
                })
            })
        })
        .transpose()
}

pub(crate) fn list(ctx: &Ctx<'_>, listing: &Listing) -> Result<ApiResponse, ApiError> {
    let resource = listing.resource;
    let params = ctx.request.query_params();
    let param = |name: &str| query_param(&params, name);
    let search = SearchRequest {
        filter: param("filter").map(str::to_owned),
        sort_by: param("sortBy").map(str::to_owned),
        sort_order: param("sortOrder").map(str::to_owned),
        start_index: int_param("startIndex", param("startIndex"))?,
        count: int_param("count", param("count"))?,
        ..Default::default()
    };
    let projection = Projection::parse(resource, param("attributes"), param("excludedAttributes"))?;
    run_search(ctx, listing, &search, &projection)
}

pub(crate) fn search(ctx: &Ctx<'_>, listing: &Listing) -> Result<ApiResponse, ApiError> {
    let resource = listing.resource;
    let body = json_body(ctx)?;
    let search: SearchRequest = serde_json::from_value(body)
        .map_err(|e| ApiError::Problem(Problem::Syntax(format!("SearchRequest: {e}"))))?;
    let projection = Projection::from_lists(
        resource,
        search.attributes.as_ref().map(|a| a.iter().map(String::as_str).collect()),
        search.excluded_attributes.as_ref().map(|a| a.iter().map(String::as_str).collect()),
    )?;
    run_search(ctx, listing, &search, &projection)
}

/// `POST /.search` spans every resource type (RFC 7644 §3.4.3): each type in which the filter
/// and `sortBy` name attributes is searched, and the results come type after type, in
/// `/ResourceTypes` order, paged as one list. A filter that fits no type is refused as it would
/// be by the first. Soffid's device filters (`user eq "…"`) fit only OtpDevice, as before.
pub(crate) fn root_search(ctx: &Ctx<'_>, listings: &[Listing]) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Invoke)?;
    let body = json_body(ctx)?;
    let search: SearchRequest = serde_json::from_value(body)
        .map_err(|e| ApiError::Problem(Problem::Syntax(format!("SearchRequest: {e}"))))?;
    let page = Page::new(search.start_index, search.count);
    let mut first_error = None;
    let mut plans = Vec::new();
    for listing in listings {
        let resource = listing.resource;
        let plan = (|| -> Result<_, Problem> {
            let (condition, sort) = filter_and_sort(resource, &search)?;
            let projection = Projection::from_lists(
                resource,
                search.attributes.as_ref().map(|a| a.iter().map(String::as_str).collect()),
                search.excluded_attributes.as_ref().map(|a| a.iter().map(String::as_str).collect()),
            )?;
            Ok((listing, condition, sort, projection))
        })();
        match plan {
            Ok(plan) => plans.push(plan),
            Err(problem) => {
                first_error.get_or_insert(problem);
            }
        }
    }
    if plans.is_empty() {
        return Err(first_error.map_or(ApiError::Conflict, ApiError::Problem));
    }
    let (mut total, mut skip, mut resources) = (0u64, page.offset(), Vec::new());
    for (listing, condition, sort, projection) in &plans {
        // What is left of the page, from where this type's share of it starts.
        let want = page.count.saturating_sub(resources.len() as u64);
        let part = Page { start_index: skip + 1, count: want };
        let (found, values) = (listing.page)(ctx, condition.as_ref(), sort.as_ref(), part)?;
        total += found;
        skip = skip.saturating_sub(found);
        resources.extend(values.into_iter().map(|mut value| {
            if let Some(object) = value.as_object_mut() {
                projection.apply(object);
            }
            value
        }));
    }
    Ok(ApiResponse::json(200, &ListResponse::new(total, page.start_index, resources)))
}

/// A search's filter (none when empty) and sort, against a resource's attribute table.
fn filter_and_sort(
    resource: &'static Resource,
    search: &SearchRequest,
) -> Result<(Option<Condition>, Option<Sort>), Problem> {
    let condition = search
        .filter
        .as_deref()
        .filter(|f| !f.trim().is_empty())
        .map(|f| Condition::compile(resource, f))
        .transpose()?;
    let sort = Sort::parse(resource, search.sort_by.as_deref(), search.sort_order.as_deref())?;
    Ok((condition, sort))
}

pub(crate) fn run_search(
    ctx: &Ctx<'_>,
    listing: &Listing,
    search: &SearchRequest,
    projection: &Projection,
) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Invoke)?;
    let (condition, sort) = filter_and_sort(listing.resource, search)?;
    let page = Page::new(search.start_index, search.count);
    let (total, found) = (listing.page)(ctx, condition.as_ref(), sort.as_ref(), page)?;
    let resources: Vec<Value> = found
        .into_iter()
        .map(|mut value| {
            if let Some(object) = value.as_object_mut() {
                projection.apply(object);
            }
            value
        })
        .collect();
    Ok(ApiResponse::json(200, &ListResponse::new(total, page.start_index, resources)))
}

pub(crate) fn to_json(value: impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// `attributes` / `excludedAttributes` of a GET, against a resource's table.
pub(crate) fn projection_of(ctx: &Ctx<'_>, resource: &'static Resource) -> Result<Projection, ApiError> {
    let params = ctx.request.query_params();
    let param = |name: &str| query_param(&params, name);
    Ok(Projection::parse(resource, param("attributes"), param("excludedAttributes"))?)
}

/// The `If-Match` precondition: `None` for no header or `*`. Each entity tag is `W/"n"` or
/// `"n"` (one this service wrote); any other names no version.
pub(crate) fn if_match(ctx: &Ctx<'_>) -> Option<IfMatch> {
    let header = ctx.request.header("if-match")?.trim();
    if header == "*" {
        return None;
    }
    let versions = header
        .split(',')
        .map(str::trim)
        .filter_map(|tag| {
            let version = etag_version(tag)?;
            let current = etag(version);
            (tag == current || format!("W/{tag}") == current).then_some(version)
        })
        .collect();
    Some(IfMatch { versions, sent: header.to_owned() })
}
