//! The whole API as one function of a request: base paths, CORS, limits, authentication, the
//! tenant, and the router table that hands the request to a handler ([`crate::handlers`]). Spin
//! glue and native tests both call [`handle`].

pub use crate::host::Env;

use crate::auth::{self, Caller};
use crate::context::Ctx;
use crate::cors;
use crate::crypto::Keys;
use crate::error::{ApiError, body_limit};
use crate::handlers::{
    Listing, audit, hid, list, oath_devices, policies, root_search, search, soffid, users,
};
use crate::http::{ApiRequest, ApiResponse};
use crate::i18n::Lang;
use crate::origin::Origin;
use crate::settings::{Misconfigured, Right, Settings};
use crate::store;
use serde_json::Value;
use shared::discovery;
use shared::model::ListResponse;
use shared::schema::{AUDIT, AUTHENTICATOR, DEVICE, OATH_DEVICE, POLICY, RESOURCES, USER};

/// The base paths of the default tenant's routes: Soffid's (with and without the `/soffid`
/// context its books show), and the conventional SCIM one. `/scim/{tenant}/v2` serves a named
/// tenant (SPEC §16).
pub const BASE_PATHS: &[&str] = &["/soffid/webservice/scim2/v1", "/webservice/scim2/v1", "/scim/v2"];

/// The base path a request came in on, the tenant it names (`None`: the default tenant's §3
/// paths) and the rest of the path. HID's book writes `/SCIM/{tenant}/v2`: it is `/scim/`, and
/// the links the answer carries say `/scim/`.
fn split_base(path: &str) -> Option<(String, Option<&str>, &str)> {
    let path = match path.strip_prefix("/SCIM/") {
        Some(rest) => rest,
        None => {
            let after = |base: &str| path.strip_prefix(base).filter(|r| r.is_empty() || r.starts_with('/'));
            if let Some((base, rest)) = BASE_PATHS.iter().find_map(|base| after(base).map(|r| (*base, r))) {
                return Some((base.to_owned(), None, rest));
            }
            path.strip_prefix("/scim/")?
        }
    };
    if let Some(rest) = path.strip_prefix("v2").filter(|r| r.is_empty() || r.starts_with('/')) {
        return Some(("/scim/v2".to_owned(), None, rest));
    }
    let (tenant, after_tenant) = path.split_once('/')?;
    let rest = after_tenant.strip_prefix("v2").filter(|r| r.is_empty() || r.starts_with('/'))?;
    Some((format!("/scim/{tenant}/v2"), Some(tenant), rest))
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
    } else if !matches!(response.status, 100..=199 | 204 | 304) {
        // A sized answer: unsized, the host sends it chunked, and the last chunk of a small
        // answer on a keep-alive connection can wait for the client's delayed ACK (Spin's
        // listener does not set TCP_NODELAY). A HEAD's answer states no size rather than the
        // GET's (a host checks that the body it is given has the size stated).
        response.headers.push(("content-length".into(), response.body.len().to_string()));
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
        auth::authenticate(request, access, &keys, env, &access.tenants.default)
            .is_ok_and(|who| who.caller.require(Right::Admin).is_ok())
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
        (None, None) => base,
    };
    if method == "OPTIONS" {
        return Ok(
            ApiResponse::empty(204).with_header("allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
        );
    }
    if request.body.len() > body_limit(&request.path) {
        return Err(ApiError::TooLarge(body_limit(&request.path)));
    }
    if !request.body.is_empty() {
        let content_type = request.header("content-type").unwrap_or_default().to_ascii_lowercase();
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        if essence != "application/scim+json" && essence != "application/json" {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    let keys = Keys::derive(&settings.access.secret_key);
    let tenants = &settings.access.tenants;
    let tenant = named_tenant.unwrap_or(&tenants.default);
    let auth::Authenticated { caller, tenant_seeded } =
        auth::authenticate(request, &settings.access, &keys, env, tenant)?;
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    // `GET /Tenants` is for any principal, even one without the default tenant (the SPA asks it
    // first), and only on the §3 paths.
    if named_tenant.is_none() && segments == ["Tenants"] {
        return tenant_list(&caller, tenants, method);
    }
    // A tenant that does not exist and one the caller may not use answer the same.
    if !tenants.exists(tenant) || !caller.tenants.allows(tenant) {
        return Err(ApiError::NoTenant);
    }
    // A tenant's first request writes its built-in policies (SPEC §18), once.
    if !tenant_seeded {
        let defaults = settings.policy_defaults();
        let policies =
            shared::policy::built_in(&defaults).map_err(|p| ApiError::Internal(format!("{p:?}")))?;
        store::seed_tenant(env.db, tenant, &policies, env.now)?;
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
    if !GET.contains(&method) {
        return Err(ApiError::MethodNotAllowed { method: method.to_owned(), allowed: GET.to_vec() });
    }
    let names: Vec<Value> = tenants
        .names
        .iter()
        .filter(|t| caller.tenants.allows(t))
        .map(|name| serde_json::json!({ "name": name }))
        .collect();
    Ok(ApiResponse::json(200, &ListResponse::new(names.len() as u64, 1, names)))
}

/// The methods of one entry of an endpoint. HEAD is GET without the body.
const GET: &[&str] = &["GET", "HEAD"];
const POST: &[&str] = &["POST"];
const PUT: &[&str] = &["PUT"];
const PATCH: &[&str] = &["PATCH"];
const DELETE: &[&str] = &["DELETE"];
/// No HEAD: requesting a challenge sends a code, so it is never a side-effect-free probe.
const GET_OR_POST: &[&str] = &["GET", "POST"];

/// What an endpoint does for the methods of one entry.
type Serve<'r> = &'r dyn Fn() -> Result<ApiResponse, ApiError>;

/// Runs the entry of an endpoint that takes `method`; with none, 405 with the endpoint's methods
/// in `Allow` (RFC 9110 §15.5.6), read from the same entries.
fn endpoint(method: &str, entries: &[(&'static [&'static str], Serve<'_>)]) -> Result<ApiResponse, ApiError> {
    match entries.iter().find(|(methods, _)| methods.contains(&method)) {
        Some((_, serve)) => serve(),
        None => Err(ApiError::MethodNotAllowed {
            method: method.to_owned(),
            allowed: entries.iter().flat_map(|(methods, _)| methods.iter().copied()).collect(),
        }),
    }
}

/// The resources a provisioning client manages, in `/ResourceTypes` order: `POST /.search`
/// goes through them in it.
const LISTINGS: [Listing; 5] = [
    Listing { resource: &DEVICE, page: soffid::page },
    Listing { resource: &OATH_DEVICE, page: oath_devices::page },
    Listing { resource: &USER, page: users::page },
    Listing { resource: &AUTHENTICATOR, page: hid::page },
    Listing { resource: &POLICY, page: policies::page },
];
const DEVICES: &Listing = &LISTINGS[0];
const OATH_DEVICES: &Listing = &LISTINGS[1];
const USERS: &Listing = &LISTINGS[2];
const AUTHENTICATORS: &Listing = &LISTINGS[3];
const POLICIES: &Listing = &LISTINGS[4];
/// The audit trail: a log of what happened to the others, searched on its own (`/Audit`), not by
/// a root search, whose answers it would outnumber.
const AUDIT_EVENTS: &Listing = &Listing { resource: &AUDIT, page: audit::page };

/// The router table: every endpoint, the methods it takes, and its handler.
fn route(ctx: &Ctx<'_>, method: &str, segments: &[&str]) -> Result<ApiResponse, ApiError> {
    let no_route = || Err(ApiError::NoRoute(ctx.request.path.clone()));
    match segments {
        ["ServiceProviderConfig"] => endpoint(method, &[(GET, &|| service_provider_config(ctx))]),
        ["ResourceTypes"] => endpoint(method, &[(GET, &|| resource_types(ctx))]),
        ["ResourceTypes", name] => endpoint(method, &[(GET, &|| resource_type(ctx, name))]),
        ["Schemas"] => endpoint(method, &[(GET, &|| schemas(ctx))]),
        ["Schemas", urn] => endpoint(method, &[(GET, &|| schema(ctx, urn))]),
        ["OtpDevice"] => endpoint(method, &[(GET, &|| list(ctx, DEVICES)), (POST, &|| soffid::create(ctx))]),
        ["OtpDevice", ".search"] => endpoint(method, &[(POST, &|| search(ctx, DEVICES))]),
        [".search"] => endpoint(method, &[(POST, &|| root_search(ctx, &LISTINGS))]),
        ["OtpDevice", id, rest @ ..] => {
            let Ok(id) = id.parse::<i64>() else { return no_route() };
            match rest {
                [] => endpoint(
                    method,
                    &[
                        (GET, &|| soffid::get(ctx, id)),
                        (PUT, &|| soffid::replace(ctx, id)),
                        (PATCH, &|| soffid::patch(ctx, id)),
                        (DELETE, &|| soffid::delete(ctx, id)),
                    ],
                ),
                ["requestChallenge"] => {
                    endpoint(method, &[(GET_OR_POST, &|| soffid::request_challenge(ctx, id))])
                }
                ["responseChallenge"] => endpoint(method, &[(POST, &|| soffid::response_challenge(ctx, id))]),
                ["audit"] => endpoint(method, &[(GET, &|| soffid::audit(ctx, id))]),
                _ => no_route(),
            }
        }
        ["Device"] => endpoint(method, &[(GET, &|| list(ctx, OATH_DEVICES))]),
        ["Device", ".search"] => endpoint(method, &[(POST, &|| search(ctx, OATH_DEVICES))]),
        ["Device", ".import"] => endpoint(method, &[(POST, &|| oath_devices::import(ctx))]),
        ["Device", ".counts"] => endpoint(method, &[(GET, &|| oath_devices::counts(ctx))]),
        ["Device", ".export"] => endpoint(method, &[(POST, &|| oath_devices::export(ctx))]),
        ["Device", id, "resync"] => endpoint(method, &[(POST, &|| oath_devices::resync(ctx, id))]),
        ["Device", id] => endpoint(
            method,
            &[
                (GET, &|| oath_devices::get(ctx, id)),
                (PUT, &|| oath_devices::replace(ctx, id)),
                (PATCH, &|| oath_devices::patch(ctx, id)),
                (DELETE, &|| oath_devices::delete(ctx, id)),
            ],
        ),
        ["Users"] => endpoint(method, &[(GET, &|| list(ctx, USERS)), (POST, &|| users::create(ctx))]),
        ["Users", ".search"] => endpoint(method, &[(POST, &|| search(ctx, USERS))]),
        ["Users", id] => {
            // Ids are decimal integers; any other text names no user.
            let parsed = id.parse::<i64>().ok().filter(|n| *n > 0 && n.to_string() == *id);
            let user = || parsed.ok_or_else(|| ApiError::NoUser((*id).to_owned()));
            endpoint(
                method,
                &[
                    (GET, &|| users::get(ctx, user()?)),
                    (PUT, &|| users::replace(ctx, user()?)),
                    (PATCH, &|| users::patch(ctx, user()?)),
                    (DELETE, &|| users::delete(ctx, user()?)),
                ],
            )
        }
        ["Authenticator"] => {
            endpoint(method, &[(GET, &|| list(ctx, AUTHENTICATORS)), (POST, &|| hid::create(ctx))])
        }
        ["Authenticator", ".search"] => endpoint(method, &[(POST, &|| search(ctx, AUTHENTICATORS))]),
        // An authenticator also takes its named actions (SPEC §14).
        ["Authenticator", id] => endpoint(
            method,
            &[
                (GET, &|| hid::get(ctx, id)),
                (POST, &|| hid::action(ctx, id)),
                (PUT, &|| hid::replace(ctx, id)),
                (PATCH, &|| hid::patch(ctx, id)),
                (DELETE, &|| hid::delete(ctx, id)),
            ],
        ),
        ["Policy", "Authenticator"] => {
            endpoint(method, &[(GET, &|| list(ctx, POLICIES)), (POST, &|| policies::create(ctx))])
        }
        ["Policy", "Authenticator", ".search"] => endpoint(method, &[(POST, &|| search(ctx, POLICIES))]),
        ["Policy", "Authenticator", code] => endpoint(
            method,
            &[
                (GET, &|| policies::get(ctx, code)),
                (PUT, &|| policies::replace(ctx, code)),
                (PATCH, &|| policies::patch(ctx, code)),
                (DELETE, &|| policies::delete(ctx, code)),
            ],
        ),
        ["Audit"] => endpoint(method, &[(GET, &|| list(ctx, AUDIT_EVENTS))]),
        ["Audit", ".search"] => endpoint(method, &[(POST, &|| search(ctx, AUDIT_EVENTS))]),
        ["Audit", ".histogram"] => endpoint(method, &[(GET, &|| audit::histogram(ctx))]),
        ["Audit", id] => endpoint(method, &[(GET, &|| audit::get(ctx, id))]),
        ["Outbox"] if ctx.settings.dev_outbox => endpoint(method, &[(GET, &|| soffid::outbox(ctx))]),
        _ => no_route(),
    }
}

fn service_provider_config(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    let tokens = !ctx.settings.access.api_tokens.is_empty();
    discovery_doc(ctx, &discovery::service_provider_config(&ctx.base_url, tokens))
}

fn resource_types(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    discovery_list(ctx, RESOURCES.iter().map(|r| discovery::resource_type(r, &ctx.base_url)).collect())
}

fn resource_type(ctx: &Ctx<'_>, name: &str) -> Result<ApiResponse, ApiError> {
    match RESOURCES.iter().find(|r| r.name == name) {
        Some(resource) => discovery_doc(ctx, &discovery::resource_type(resource, &ctx.base_url)),
        None => Err(ApiError::NoSchema { kind: "resource type", name: name.to_owned() }),
    }
}

fn schemas(ctx: &Ctx<'_>) -> Result<ApiResponse, ApiError> {
    discovery_list(ctx, discovery::schemas(RESOURCES, &ctx.base_url))
}

fn schema(ctx: &Ctx<'_>, urn: &str) -> Result<ApiResponse, ApiError> {
    match discovery::schemas(RESOURCES, &ctx.base_url).into_iter().find(|s| s.id.eq_ignore_ascii_case(urn)) {
        Some(schema) => discovery_doc(ctx, &schema),
        None => Err(ApiError::NoSchema { kind: "schema", name: urn.to_owned() }),
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
