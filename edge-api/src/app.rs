//! The whole API as one function of a request: base paths, CORS, limits, authentication, the
//! router table and thin handlers over the store. Spin glue and native tests both call [`handle`].

use crate::auth::{self, Caller};
use crate::challenge::{self, Deliver};
use crate::cors;
use crate::crypto::{self, Keys};
use crate::db::Database;
use crate::error::{ApiError, MAX_BODY};
use crate::http::{ApiRequest, ApiResponse};
use crate::i18n::Lang;
use crate::origin::Origin;
use crate::settings::{Misconfigured, Right, Settings};
use crate::store::{self, Actor, Secrets, UserRefused};
use serde_json::Value;
use shared::discovery;
use shared::filter::Condition;
use shared::model::{Links, ListResponse, SearchRequest, etag, etag_version};
use shared::otp::{CodeParams, Secret, UriKind, otpauth_uri, qr_png_base64};
use shared::patch::{PatchOp, apply_patch};
use shared::query::{Page, Projection, Sort};
use shared::schema::{DEVICE, RESOURCES, Resource, USER};
use shared::user::{UserData, apply_user_patch, validate_user};
use shared::validate::{Changes, validate_create, validate_replace};
use shared::{DeviceType, OtpDevice, Problem, User};

/// Both base paths answer the same routes, for the default tenant: Soffid's, and the
/// conventional SCIM one. `/scim/{tenant}/v2` serves a named tenant (SPEC §16).
pub const BASE_PATHS: &[&str] = &["/soffid/webservice/scim2/v1", "/scim/v2"];

/// The base path a request came in on, the tenant it names (`None`: the default tenant's §3
/// paths) and the rest of the path.
fn split_base(path: &str) -> Option<(&str, Option<&str>, &str)> {
    let after = |base: &str| path.strip_prefix(base).filter(|r| r.is_empty() || r.starts_with('/'));
    if let Some((base, rest)) = BASE_PATHS.iter().find_map(|base| after(base).map(|r| (*base, r))) {
        return Some((base, None, rest));
    }
    let (tenant, after_tenant) = path.strip_prefix("/scim/")?.split_once('/')?;
    let rest = after_tenant.strip_prefix("v2").filter(|r| r.is_empty() || r.starts_with('/'))?;
    Some((&path[..path.len() - rest.len()], Some(tenant), rest))
}

/// What the host provides besides the request.
pub struct Env<'a> {
    pub db: &'a dyn Database,
    /// Unix seconds.
    pub now: i64,
    pub deliver: Deliver<'a>,
    /// One line to the host's log; never given a secret.
    pub log: &'a dyn Fn(&str),
}

pub fn handle(request: &ApiRequest, settings: Result<Settings, Misconfigured>, env: &Env<'_>) -> ApiResponse {
    let lang = Lang::from_accept_language(request.header("accept-language"));
    let head = request.method.eq_ignore_ascii_case("HEAD");
    let (result, cors_headers) = match settings {
        Ok(settings) => serve(request, &settings, env),
        Err(failure) => (Err(misconfigured(request, failure, env)), Vec::new()),
    };
    let mut response = result.unwrap_or_else(|e| {
        match &e {
            ApiError::Internal(cause) => {
                (env.log)(&format!("{} {}: internal error: {cause}", request.method, request.path));
            }
            ApiError::Unavailable(cause) => {
                (env.log)(&format!("{} {}: store unavailable: {cause}", request.method, request.path));
            }
            _ => {}
        }
        e.into_response(lang)
    });
    response.headers.extend(cors_headers);
    if head {
        response.body.clear();
    }
    response
}

/// A setting the service cannot run with. The log names it; an authenticated admin is told
/// which variable and why (never its value, which may be a secret); anyone else gets a plain
/// internal error that names nothing, before and after authentication alike.
fn misconfigured(request: &ApiRequest, failure: Misconfigured, env: &Env<'_>) -> ApiError {
    (env.log)(&format!("misconfigured: {}", failure.error));
    let admin = failure.access.as_ref().is_some_and(|access| {
        let keys = Keys::derive(&access.secret_key);
        auth::authenticate(request, access, &keys, env)
            .is_ok_and(|caller| caller.require(Right::Admin).is_ok())
    });
    match admin {
        true => ApiError::Settings(failure.error),
        false => ApiError::Internal("a setting is misconfigured (logged above)".into()),
    }
}

/// A browser's cross-origin request: its `Origin` as sent (for the allow header) and as parsed
/// (`None` for one that is no origin, such as `null`). Same-origin and non-browser requests are
/// `None`: same-origin means the origin the request came in on, or `public_base_url`'s, which is
/// the one browsers see behind a TLS-terminating proxy.
fn foreign_origin<'r>(request: &'r ApiRequest, settings: &Settings) -> Option<(&'r str, Option<Origin>)> {
    let raw = request.header("origin")?;
    let parsed = Origin::parse(raw);
    let own = |origin: &Origin| {
        request.origin.as_ref() == Some(origin)
            || settings.public_base.as_ref().is_some_and(|p| p.origin == *origin)
    };
    match parsed {
        Some(origin) if own(&origin) => None,
        parsed => Some((raw, parsed)),
    }
}

fn serve(
    request: &ApiRequest,
    settings: &Settings,
    env: &Env<'_>,
) -> (Result<ApiResponse, ApiError>, Vec<(String, String)>) {
    let method = request.method.to_ascii_uppercase();
    let foreign = foreign_origin(request, settings);
    if let Some((raw, parsed)) = &foreign {
        let preflight = method == "OPTIONS" && request.header("access-control-request-method").is_some();
        let wanted = if preflight {
            request.header("access-control-request-method").unwrap_or_default()
        } else {
            &method
        };
        let allowed = parsed.as_ref().is_some_and(|o| cors::origin_allowed(settings, o));
        if !allowed || !cors::method_allowed(settings, wanted) {
            let error = ApiError::CorsForbidden {
                origin: parsed.as_ref().map(Origin::to_string),
                method: wanted.to_ascii_uppercase(),
            };
            return (Err(error), vec![cors::vary()]);
        }
        if preflight {
            return (Ok(ApiResponse::empty(204)), cors::preflight_headers(settings, raw));
        }
    }
    let cors_headers = foreign.map(|(raw, _)| cors::response_headers(raw)).unwrap_or_default();
    (serve_checked(request, &method, settings, env), cors_headers)
}

fn serve_checked(
    request: &ApiRequest,
    method: &str,
    settings: &Settings,
    env: &Env<'_>,
) -> Result<ApiResponse, ApiError> {
    let (base, named_tenant, rest) =
        split_base(&request.path).ok_or_else(|| ApiError::NoRoute(request.path.clone()))?;
    let base_url = match (&settings.public_base, &request.origin) {
        (Some(public), _) => format!("{}{base}", public.url),
        (None, Some(origin)) => format!("{origin}{base}"),
        // No URL from the host: relative links still resolve against the request.
        (None, None) => base.to_owned(),
    };
    if method == "OPTIONS" {
        return Ok(
            ApiResponse::empty(204).with_header("allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
        );
    }
    if request.body.len() > MAX_BODY {
        return Err(ApiError::TooLarge);
    }
    if !request.body.is_empty() {
        let content_type = request.header("content-type").unwrap_or_default().to_ascii_lowercase();
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        if essence != "application/scim+json" && essence != "application/json" {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    let keys = Keys::derive(&settings.access.secret_key);
    let caller = auth::authenticate(request, &settings.access, &keys, env)?;
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let tenants = &settings.access.tenants;
    // `GET /Tenants` is for any principal, even one without the default tenant (the SPA asks it
    // first), and only on the §3 paths.
    if named_tenant.is_none() && segments == ["Tenants"] {
        return tenant_list(&caller, tenants, method);
    }
    // A tenant that does not exist and one the caller may not use answer the same.
    let tenant = named_tenant.unwrap_or(&tenants.default);
    if !tenants.exists(tenant) || !caller.tenants.allows(tenant) {
        return Err(ApiError::NoTenant);
    }
    let ctx = Ctx { request, settings, env, keys, caller, base_url, tenant: tenant.to_owned() };
    route(&ctx, method, &segments)
}

/// The tenants the caller may use, as a ListResponse of `{"name": ...}`.
fn tenant_list(
    caller: &Caller,
    tenants: &crate::settings::Tenants,
    method: &str,
) -> Result<ApiResponse, ApiError> {
    if method != "GET" && method != "HEAD" {
        return Err(ApiError::MethodNotAllowed { method: method.to_owned(), allowed: GET });
    }
    let names: Vec<Value> = tenants
        .names
        .iter()
        .filter(|t| caller.tenants.allows(t))
        .map(|name| serde_json::json!({ "name": name }))
        .collect();
    Ok(ApiResponse::json(200, &ListResponse::new(names.len() as u64, 1, names)))
}

struct Ctx<'a> {
    request: &'a ApiRequest,
    settings: &'a Settings,
    env: &'a Env<'a>,
    keys: Keys,
    caller: Caller,
    base_url: String,
    tenant: String,
}

impl Ctx<'_> {
    fn actor(&self) -> Actor<'_> {
        Actor { tenant: &self.tenant, name: &self.caller.name }
    }
}

const GET: &[&str] = &["GET", "HEAD"];
const LIST: &[&str] = &["GET", "HEAD", "POST"];
const SEARCH: &[&str] = &["POST"];
const ONE: &[&str] = &["GET", "HEAD", "PUT", "PATCH", "DELETE"];
/// No HEAD: requesting a challenge sends a code, so it is never a side-effect-free probe.
const REQUEST_CHALLENGE: &[&str] = &["GET", "POST"];
const RESPONSE_CHALLENGE: &[&str] = &["POST"];

/// The router table: every endpoint, the methods it takes, and its handler.
fn route(ctx: &Ctx<'_>, method: &str, segments: &[&str]) -> Result<ApiResponse, ApiError> {
    let get = method == "GET" || method == "HEAD";
    let not_allowed = |allowed: &'static [&'static str]| {
        Err(ApiError::MethodNotAllowed { method: method.to_owned(), allowed })
    };
    match segments {
        ["ServiceProviderConfig"] if get => discovery_doc(
            ctx,
            &discovery::service_provider_config(&ctx.base_url, !ctx.settings.access.api_tokens.is_empty()),
        ),
        ["ServiceProviderConfig"] => not_allowed(GET),
        ["ResourceTypes"] if get => discovery_list(
            ctx,
            RESOURCES.iter().map(|r| discovery::resource_type(r, &ctx.base_url)).collect(),
        ),
        ["ResourceTypes", name] if get => match RESOURCES.iter().find(|r| r.name == *name) {
            Some(resource) => discovery_doc(ctx, &discovery::resource_type(resource, &ctx.base_url)),
            None => Err(ApiError::NoSchema { kind: "resource type", name: (*name).to_owned() }),
        },
        ["Schemas"] if get => {
            discovery_list(ctx, RESOURCES.iter().map(|r| discovery::schema(r, &ctx.base_url)).collect())
        }
        ["Schemas", urn] if get => match RESOURCES.iter().find(|r| r.schema.eq_ignore_ascii_case(urn)) {
            Some(resource) => discovery_doc(ctx, &discovery::schema(resource, &ctx.base_url)),
            None => Err(ApiError::NoSchema { kind: "schema", name: (*urn).to_owned() }),
        },
        ["ResourceTypes" | "Schemas", ..] => not_allowed(GET),
        ["OtpDevice"] if get => list(ctx, &DEVICE),
        ["OtpDevice"] if method == "POST" => create(ctx),
        ["OtpDevice"] => not_allowed(LIST),
        ["OtpDevice", ".search"] if method == "POST" => search(ctx, &DEVICE),
        [".search"] if method == "POST" => root_search(ctx),
        ["OtpDevice", ".search"] | [".search"] => not_allowed(SEARCH),
        ["OtpDevice", id, rest @ ..] => {
            let id: i64 = id.parse().map_err(|_| ApiError::NoRoute(ctx.request.path.clone()))?;
            match (rest, method) {
                ([], "GET" | "HEAD") => get_one(ctx, id),
                ([], "PUT") => replace(ctx, id),
                ([], "PATCH") => patch(ctx, id),
                ([], "DELETE") => delete(ctx, id),
                ([], _) => not_allowed(ONE),
                (["requestChallenge"], "GET" | "POST") => request_challenge(ctx, id),
                (["requestChallenge"], _) => not_allowed(REQUEST_CHALLENGE),
                (["responseChallenge"], "POST") => response_challenge(ctx, id),
                (["responseChallenge"], _) => not_allowed(RESPONSE_CHALLENGE),
                (["audit"], "GET" | "HEAD") => audit(ctx, id),
                (["audit"], _) => not_allowed(GET),
                _ => Err(ApiError::NoRoute(ctx.request.path.clone())),
            }
        }
        ["Users"] if get => list(ctx, &USER),
        ["Users"] if method == "POST" => create_user(ctx),
        ["Users"] => not_allowed(LIST),
        ["Users", ".search"] if method == "POST" => search(ctx, &USER),
        ["Users", ".search"] => not_allowed(SEARCH),
        ["Users", id] => {
            // Ids are decimal integers; any other text names no user.
            let parsed = id.parse::<i64>().ok().filter(|n| *n > 0 && n.to_string() == *id);
            let user = || parsed.ok_or_else(|| ApiError::NoUser((*id).to_owned()));
            match method {
                "GET" | "HEAD" => get_user(ctx, user()?),
                "PUT" => replace_user(ctx, user()?),
                "PATCH" => patch_user(ctx, user()?),
                "DELETE" => delete_user(ctx, user()?),
                _ => not_allowed(ONE),
            }
        }
        ["Outbox"] if ctx.settings.dev_outbox && get => outbox(ctx),
        ["Outbox"] if ctx.settings.dev_outbox => not_allowed(GET),
        _ => Err(ApiError::NoRoute(ctx.request.path.clone())),
    }
}

fn discovery_doc(ctx: &Ctx<'_>, doc: &impl serde::Serialize) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Invoke)?;
    Ok(ApiResponse::json(200, doc))
}

fn discovery_list<T: serde::Serialize>(ctx: &Ctx<'_>, docs: Vec<T>) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Invoke)?;
    Ok(ApiResponse::json(200, &ListResponse::new(docs.len() as u64, 1, docs)))
}

fn json_body(ctx: &Ctx<'_>) -> Result<Value, ApiError> {
    serde_json::from_slice(&ctx.request.body).map_err(|e| {
        // serde_json's message says where (line, column) without echoing the body.
        ApiError::NotJson(e.to_string())
    })
}

/// The device as the API shows it: absolute `meta.location` and challenge links.
fn present(ctx: &Ctx<'_>, mut device: OtpDevice) -> OtpDevice {
    let location = format!("{}/OtpDevice/{}", ctx.base_url, device.id);
    device.meta.links = Some(Links {
        request_challenge: format!("{location}/requestChallenge"),
        response_challenge: format!("{location}/responseChallenge"),
    });
    device.meta.location = Some(location);
    device
}

fn device_response(ctx: &Ctx<'_>, status: u16, device: OtpDevice, projection: &Projection) -> ApiResponse {
    let device = present(ctx, device);
    resource_response(status, &device.meta, to_json(&device), projection)
}

/// One resource as a response: projected, with its `ETag`, and `Location` when created.
fn resource_response(
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
fn query_param<'p>(params: &'p [(String, String)], name: &str) -> Option<&'p str> {
    params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn int_param(name: &'static str, value: Option<&str>) -> Result<Option<i64>, ApiError> {
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

fn list(ctx: &Ctx<'_>, resource: &'static Resource) -> Result<ApiResponse, ApiError> {
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
    run_search(ctx, resource, &search, &projection)
}

fn search(ctx: &Ctx<'_>, resource: &'static Resource) -> Result<ApiResponse, ApiError> {
    let body = json_body(ctx)?;
    let search: SearchRequest = serde_json::from_value(body)
        .map_err(|e| ApiError::Problem(Problem::Syntax(format!("SearchRequest: {e}"))))?;
    let projection = Projection::from_lists(
        resource,
        search.attributes.as_ref().map(|a| a.iter().map(String::as_str).collect()),
        search.excluded_attributes.as_ref().map(|a| a.iter().map(String::as_str).collect()),
    )?;
    run_search(ctx, resource, &search, &projection)
}

/// `POST /.search` spans every resource type (RFC 7644 §3.4.3): each type in which the filter
/// and `sortBy` name attributes is searched, and the results come type after type, in
/// `/ResourceTypes` order, paged as one list. A filter that fits no type is refused as it would
/// be by the first. Soffid's device filters (`user eq "…"`) fit only OtpDevice, as before.
fn root_search(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Invoke)?;
    let body = json_body(ctx)?;
    let search: SearchRequest = serde_json::from_value(body)
        .map_err(|e| ApiError::Problem(Problem::Syntax(format!("SearchRequest: {e}"))))?;
    let page = Page::new(search.start_index, search.count);
    let mut first_error = None;
    let mut plans = Vec::new();
    for resource in RESOURCES {
        let plan = (|| -> Result<_, Problem> {
            let condition = search
                .filter
                .as_deref()
                .filter(|f| !f.trim().is_empty())
                .map(|f| Condition::compile(resource, f))
                .transpose()?;
            let sort = Sort::parse(resource, search.sort_by.as_deref(), search.sort_order.as_deref())?;
            let projection = Projection::from_lists(
                resource,
                search.attributes.as_ref().map(|a| a.iter().map(String::as_str).collect()),
                search.excluded_attributes.as_ref().map(|a| a.iter().map(String::as_str).collect()),
            )?;
            Ok((*resource, condition, sort, projection))
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
    let (db, tenant) = (ctx.env.db, ctx.tenant.as_str());
    let (mut total, mut skip, mut resources) = (0u64, page.offset(), Vec::new());
    for (resource, condition, sort, projection) in &plans {
        // What is left of the page, from where this type's share of it starts.
        let want = page.count.saturating_sub(resources.len() as u64);
        let part = Page { start_index: skip + 1, count: want };
        let (found, values): (u64, Vec<Value>) = if *resource == &USER {
            let (n, users) = store::list_users(db, tenant, condition.as_ref(), sort.as_ref(), part)?;
            (n, users.into_iter().map(|u| to_json(present_user(ctx, u))).collect())
        } else {
            let (n, devices) = store::list_devices(db, tenant, condition.as_ref(), sort.as_ref(), part)?;
            (n, devices.into_iter().map(|d| to_json(present(ctx, d))).collect())
        };
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

fn run_search(
    ctx: &Ctx<'_>,
    resource: &'static Resource,
    search: &SearchRequest,
    projection: &Projection,
) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Invoke)?;
    let condition = search
        .filter
        .as_deref()
        .filter(|f| !f.trim().is_empty())
        .map(|f| Condition::compile(resource, f))
        .transpose()?;
    let sort = Sort::parse(resource, search.sort_by.as_deref(), search.sort_order.as_deref())?;
    let page = Page::new(search.start_index, search.count);
    let (db, tenant) = (ctx.env.db, ctx.tenant.as_str());
    let (total, found): (u64, Vec<Value>) = if resource == &USER {
        let (total, users) = store::list_users(db, tenant, condition.as_ref(), sort.as_ref(), page)?;
        (total, users.into_iter().map(|u| to_json(present_user(ctx, u))).collect())
    } else {
        let (total, devices) = store::list_devices(db, tenant, condition.as_ref(), sort.as_ref(), page)?;
        (total, devices.into_iter().map(|d| to_json(present(ctx, d))).collect())
    };
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

fn to_json(value: impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn found(ctx: &Ctx<'_>, id: i64) -> Result<OtpDevice, ApiError> {
    store::get_device(ctx.env.db, &ctx.tenant, id)?.ok_or(ApiError::NoDevice(id))
}

/// `attributes` / `excludedAttributes` of a GET, against a resource's table.
fn projection_of(ctx: &Ctx<'_>, resource: &'static Resource) -> Result<Projection, ApiError> {
    let params = ctx.request.query_params();
    let param = |name: &str| query_param(&params, name);
    Ok(Projection::parse(resource, param("attributes"), param("excludedAttributes"))?)
}

fn get_one(ctx: &Ctx<'_>, id: i64) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Invoke)?;
    let projection = projection_of(ctx, &DEVICE)?;
    Ok(device_response(ctx, 200, found(ctx, id)?, &projection))
}

fn create(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let new = validate_create(&json_body(ctx)?, &ctx.settings.defaults)?;
    let seed = match (new.device_type.has_seed(), new.algorithm) {
        (true, Some(algorithm)) => {
            Some(Secret::generate(algorithm, crypto::fill_random).map_err(ApiError::Internal)?)
        }
        _ => None,
    };
    let secrets = Secrets {
        sealed_seed: seed.as_ref().map(|s| ctx.keys.seal_seed(s)).transpose().map_err(ApiError::Internal)?,
        pin_hash: new.pin.as_deref().map(crypto::hash_password).transpose().map_err(ApiError::Internal)?,
    };
    let mut device =
        store::write(ctx.env.db, ctx.actor(), ctx.env.now, |tx| -> Result<OtpDevice, ApiError> {
            if let Some(existing) = tx.find_duplicate(&new)? {
                return Err(ApiError::Duplicate { existing });
            }
            Ok(tx.create_device(&new, &secrets)?)
        })?;
    if let (Some(seed), Some(algorithm), Some(digits)) = (&seed, device.algorithm, device.digits) {
        let kind = match device.device_type {
            DeviceType::Totp => {
                UriKind::Totp { period: device.period.unwrap_or(ctx.settings.defaults.period) }
            }
            _ => UriKind::Hotp { counter: 0 },
        };
        let account = format!("{} ({})", device.user, device.name);
        let uri = otpauth_uri(&ctx.settings.issuer, &account, seed, CodeParams { algorithm, digits }, kind);
        device.image = Some(qr_png_base64(&uri).map_err(|e| ApiError::Internal(e.to_string()))?);
        device.otpauth_uri = Some(uri);
    }
    Ok(device_response(ctx, 201, device, &Projection::Default))
}

/// The version an `If-Match` header accepts: `None` for no header or `*`.
fn if_match(ctx: &Ctx<'_>) -> Option<String> {
    let header = ctx.request.header("if-match")?.trim();
    (header != "*").then(|| header.to_owned())
}

fn matches_version(header: &str, version: i64) -> bool {
    let current = etag(version);
    header.split(',').map(str::trim).any(|tag| tag == current || format!("W/{tag}") == current)
}

fn version_of(device: &OtpDevice) -> i64 {
    etag_version(&device.meta.version).unwrap_or(0)
}

/// PUT and PATCH: compute the new state from the current device and write it if nobody changed
/// the device meanwhile. With `If-Match`, a stale version is 412; without, a lost race retries.
fn update(
    ctx: &Ctx<'_>,
    id: i64,
    action: &str,
    changes_of: impl Fn(&OtpDevice) -> Result<Changes, Problem>,
) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let expected = if_match(ctx);
    for _ in 0..3 {
        let current = found(ctx, id)?;
        let version = version_of(&current);
        if let Some(header) = &expected
            && !matches_version(header, version)
        {
            return Err(ApiError::Stale { version: header.clone() });
        }
        let changes = changes_of(&current)?;
        let pin_hash =
            changes.pin.as_deref().map(crypto::hash_password).transpose().map_err(ApiError::Internal)?;
        let updated = store::write(ctx.env.db, ctx.actor(), ctx.env.now, |tx| {
            tx.update_device(action, &current, version, &changes, pin_hash.clone())
        })?;
        match (updated, &expected) {
            (Some(device), _) => return Ok(device_response(ctx, 200, device, &Projection::Default)),
            (None, Some(header)) => return Err(ApiError::Stale { version: header.clone() }),
            (None, None) => continue,
        }
    }
    Err(ApiError::Conflict)
}

fn replace(ctx: &Ctx<'_>, id: i64) -> Result<ApiResponse, ApiError> {
    let body = json_body(ctx)?;
    update(ctx, id, "replace", |current| validate_replace(current, &body))
}

fn patch(ctx: &Ctx<'_>, id: i64) -> Result<ApiResponse, ApiError> {
    let body = json_body(ctx)?;
    let patch = PatchOp::from_json(&body)?;
    update(ctx, id, "patch", |current| apply_patch(current, &patch))
}

fn delete(ctx: &Ctx<'_>, id: i64) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let current = found(ctx, id)?;
    let version = match if_match(ctx) {
        Some(header) if !matches_version(&header, version_of(&current)) => {
            return Err(ApiError::Stale { version: header });
        }
        Some(_) => Some(version_of(&current)),
        None => None,
    };
    let deleted =
        store::write(ctx.env.db, ctx.actor(), ctx.env.now, |tx| tx.delete_device(&current, version))?;
    match (deleted, version) {
        (true, _) => Ok(ApiResponse::empty(204)),
        (false, Some(v)) => Err(ApiError::Stale { version: etag(v) }),
        (false, None) => Err(ApiError::NoDevice(id)),
    }
}

fn challenge_state(ctx: &Ctx<'_>, id: i64) -> Result<store::ChallengeState, ApiError> {
    store::challenge_state(ctx.env.db, &ctx.tenant, id)?.ok_or(ApiError::NoDevice(id))
}

fn challenge_context<'c>(ctx: &'c Ctx<'_>) -> challenge::Context<'c> {
    challenge::Context {
        db: ctx.env.db,
        settings: ctx.settings,
        keys: &ctx.keys,
        actor: ctx.actor(),
        now: ctx.env.now,
        log: ctx.env.log,
    }
}

fn request_challenge(ctx: &Ctx<'_>, id: i64) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Invoke)?;
    let state = challenge_state(ctx, id)?;
    let answer = challenge::request(&challenge_context(ctx), &state, ctx.env.deliver)?;
    Ok(ApiResponse::json(200, &answer))
}

fn response_challenge(ctx: &Ctx<'_>, id: i64) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Invoke)?;
    let body = json_body(ctx)?;
    // Surrounding whitespace is never part of a code or PIN (shared::validate::parse_pin).
    let code = body
        .get("pin")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .ok_or(ApiError::MissingPin)?;
    let state = challenge_state(ctx, id)?;
    let result = challenge::respond(&challenge_context(ctx), &state, code)?;
    Ok(ApiResponse::json(200, &result))
}

fn audit(ctx: &Ctx<'_>, id: i64) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Invoke)?;
    let counters = store::counters(ctx.env.db, &ctx.tenant, id)?.ok_or(ApiError::NoDevice(id))?;
    let entries = store::audit_trail(ctx.env.db, &ctx.tenant, id, 100)?;
    Ok(ApiResponse::json(200, &serde_json::json!({ "counters": counters, "entries": entries })))
}

fn outbox(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let messages = store::outbox_list(ctx.env.db, &ctx.tenant, 100)?;
    Ok(ApiResponse::json(200, &ListResponse::new(messages.len() as u64, 1, messages)))
}

/// The user as the API shows it: absolute `meta.location`.
fn present_user(ctx: &Ctx<'_>, mut user: User) -> User {
    user.meta.location = Some(format!("{}/Users/{}", ctx.base_url, user.id));
    user
}

fn user_response(ctx: &Ctx<'_>, status: u16, user: User, projection: &Projection) -> ApiResponse {
    let user = present_user(ctx, user);
    resource_response(status, &user.meta, to_json(&user), projection)
}

fn found_user(ctx: &Ctx<'_>, id: i64) -> Result<User, ApiError> {
    store::get_user(ctx.env.db, &ctx.tenant, id)?.ok_or_else(|| ApiError::NoUser(id.to_string()))
}

fn get_user(ctx: &Ctx<'_>, id: i64) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Invoke)?;
    let projection = projection_of(ctx, &USER)?;
    Ok(user_response(ctx, 200, found_user(ctx, id)?, &projection))
}

fn create_user(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let data = validate_user(&json_body(ctx)?)?;
    let created = store::write(ctx.env.db, ctx.actor(), ctx.env.now, |tx| tx.create_user(&data))?;
    match created {
        Ok(user) => Ok(user_response(ctx, 201, user, &Projection::Default)),
        Err(UserRefused::NameTaken(existing)) => Err(ApiError::UserNameTaken { existing }),
        Err(UserRefused::Stale) => Err(ApiError::Conflict),
    }
}

/// PUT and PATCH of a user, as [`update`] does for devices: `If-Match` gives 412 on a stale
/// version; without it, a lost race is retried on the new version.
fn update_user(
    ctx: &Ctx<'_>,
    id: i64,
    data_of: impl Fn(&User) -> Result<UserData, Problem>,
) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let expected = if_match(ctx);
    for _ in 0..3 {
        let current = found_user(ctx, id)?;
        let version = etag_version(&current.meta.version).unwrap_or(0);
        if let Some(header) = &expected
            && !matches_version(header, version)
        {
            return Err(ApiError::Stale { version: header.clone() });
        }
        let data = data_of(&current)?;
        let written = store::write(ctx.env.db, ctx.actor(), ctx.env.now, |tx| {
            tx.replace_user(&current, version, &data)
        })?;
        match (written, &expected) {
            (Ok(user), _) => return Ok(user_response(ctx, 200, user, &Projection::Default)),
            (Err(UserRefused::NameTaken(existing)), _) => return Err(ApiError::UserNameTaken { existing }),
            (Err(UserRefused::Stale), Some(header)) => {
                return Err(ApiError::Stale { version: header.clone() });
            }
            (Err(UserRefused::Stale), None) => continue,
        }
    }
    Err(ApiError::Conflict)
}

fn replace_user(ctx: &Ctx<'_>, id: i64) -> Result<ApiResponse, ApiError> {
    let body = json_body(ctx)?;
    update_user(ctx, id, |_| validate_user(&body))
}

fn patch_user(ctx: &Ctx<'_>, id: i64) -> Result<ApiResponse, ApiError> {
    let body = json_body(ctx)?;
    let patch = PatchOp::from_json(&body)?;
    update_user(ctx, id, |current| apply_user_patch(current, &patch))
}

/// Deletes the user and, in the same transaction, its devices, each audited (SPEC §17).
fn delete_user(ctx: &Ctx<'_>, id: i64) -> Result<ApiResponse, ApiError> {
    ctx.caller.require(Right::Admin)?;
    let current = found_user(ctx, id)?;
    let current_version = etag_version(&current.meta.version).unwrap_or(0);
    let version = match if_match(ctx) {
        Some(header) if !matches_version(&header, current_version) => {
            return Err(ApiError::Stale { version: header });
        }
        Some(_) => Some(current_version),
        None => None,
    };
    let deleted = store::write(ctx.env.db, ctx.actor(), ctx.env.now, |tx| tx.delete_user(&current, version))?;
    match (deleted, version) {
        (true, _) => Ok(ApiResponse::empty(204)),
        (false, Some(v)) => Err(ApiError::Stale { version: etag(v) }),
        (false, None) => Err(ApiError::NoUser(id.to_string())),
    }
}
