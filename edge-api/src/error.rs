//! Every way a request can fail, mapped in one place to its HTTP status, `scimType` and localised
//! `detail` (SPEC §8). Internal causes are logged by the caller, never put in a response.

use crate::http::ApiResponse;
use crate::i18n::{self, Lang};
use crate::settings::SettingsError;
use shared::error::{FilterError, FilterReason};
use shared::model::ScimErrorBody;
use shared::{Problem, ScimType};

pub const MAX_BODY: usize = 64 * 1024;

/// The largest body of a seed file import (SPEC §19: 10,000 keys), for that endpoint alone.
pub const MAX_IMPORT_BODY: usize = 8 * 1024 * 1024;

/// The largest body a request to `path` may carry: [`MAX_BODY`], or [`MAX_IMPORT_BODY`] for an
/// import. The glue reads no further than one byte past it.
pub fn body_limit(path_and_query: &str) -> usize {
    let path = path_and_query.split('?').next().unwrap_or_default();
    if path.trim_end_matches('/').ends_with("/Device/.import") { MAX_IMPORT_BODY } else { MAX_BODY }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    Problem(Problem),
    NotJson(String),
    MissingPin,
    Unauthorized,
    Throttled {
        retry_after: i64,
    },
    /// A send budget (SPEC §6) refused to send a code for this many seconds.
    SendRefused {
        retry_after: i64,
    },
    Forbidden {
        right: &'static str,
    },
    /// `origin` normalised, `None` when the header held no origin (`null`, garbage).
    CorsForbidden {
        origin: Option<String>,
        method: String,
    },
    NoRoute(String),
    /// A tenant that does not exist or that the caller may not use: the same answer for both,
    /// naming neither.
    NoTenant,
    NoDevice(i64),
    NoOathDevice(String),
    NoUser(String),
    NoPolicy(String),
    NoAuthenticator(String),
    NoAuditEvent(String),
    NoSchema {
        kind: &'static str,
        name: String,
    },
    MethodNotAllowed {
        method: String,
        allowed: Vec<&'static str>,
    },
    Stale {
        version: String,
    },
    /// A compare-and-set lost to a concurrent change.
    Conflict,
    /// The user already has this authenticator (`existing` is its id).
    SeedFile(String),
    Enrolled {
        id: String,
        owner: String,
    },
    ExportOff,
    HandedOut {
        serial: String,
        owner: String,
    },
    Duplicate {
        existing: i64,
    },
    /// Another user of the tenant has this userName (`existing` is its id).
    UserNameTaken {
        existing: i64,
    },
    /// A policy of the tenant has this code already.
    PolicyTaken(String),
    /// The user has an authenticator for this policy already (its id).
    AuthenticatorTaken(String),
    /// The policy is its kind's default: it cannot be deleted or stop being the default until
    /// another policy of the kind is made the default.
    DefaultPolicy(String),
    /// Authenticators are bound to the policy: it cannot be deleted.
    PolicyInUse {
        code: String,
        authenticators: u64,
    },
    /// The body is larger than this endpoint takes (its limit in bytes).
    TooLarge(usize),
    UnsupportedMediaType,
    Gateway,
    Settings(SettingsError),
    /// The cause goes to the log only.
    Internal(String),
    /// The store failed for the moment (busy, interrupted, out of reach) and the retries did not
    /// outlast it: nothing was done, the client may try again. The cause goes to the log only.
    Unavailable(String),
}

impl From<Problem> for ApiError {
    fn from(p: Problem) -> Self {
        ApiError::Problem(p)
    }
}

/// The one mapping of the domain's errors to the API's (SPEC §8).
impl From<crate::domain::DomainError> for ApiError {
    fn from(error: crate::domain::DomainError) -> Self {
        use crate::domain::DomainError;
        match error {
            DomainError::Invalid(problem) => ApiError::Problem(problem),
            DomainError::NoDevice(id) => ApiError::NoDevice(id),
            DomainError::NoOathDevice(id) => ApiError::NoOathDevice(id),
            DomainError::NoUser(id) => ApiError::NoUser(id),
            DomainError::NoPolicy(code) => ApiError::NoPolicy(code),
            DomainError::NoAuthenticator(id) => ApiError::NoAuthenticator(id),
            DomainError::UserNameTaken { existing } => ApiError::UserNameTaken { existing },
            DomainError::PolicyTaken(code) => ApiError::PolicyTaken(code),
            DomainError::DefaultPolicy(code) => ApiError::DefaultPolicy(code),
            DomainError::PolicyInUse { code, authenticators } => {
                ApiError::PolicyInUse { code, authenticators }
            }
            DomainError::AuthenticatorTaken(id) => ApiError::AuthenticatorTaken(id),
            DomainError::Duplicate { existing } => ApiError::Duplicate { existing },
            DomainError::HandedOut { serial, owner } => ApiError::HandedOut { serial, owner },
            DomainError::SeedFile(why) => ApiError::SeedFile(why),
            DomainError::ExportOff => ApiError::ExportOff,
            DomainError::Enrolled { id, owner } => ApiError::Enrolled { id, owner },
            DomainError::Stale { sent } => ApiError::Stale { version: sent },
            DomainError::Conflict => ApiError::Conflict,
            DomainError::Store(error) => ApiError::from(error),
            DomainError::Internal(cause) => ApiError::Internal(cause),
        }
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        if e.is_transient() {
            ApiError::Unavailable(e.to_string())
        } else {
            ApiError::Internal(e.to_string())
        }
    }
}

impl crate::db::Transient for ApiError {
    fn is_transient(&self) -> bool {
        matches!(self, ApiError::Unavailable(_))
    }

    /// The cause of a 503 is the store's error in words (see `From<DbError>`).
    fn worth_retrying(&self) -> bool {
        matches!(self, ApiError::Unavailable(cause) if crate::db::DbError(cause.clone()).worth_retrying())
    }
}

/// What a 503 asks the client to wait, in seconds.
const UNAVAILABLE_RETRY_AFTER: u32 = 1;

fn filter_detail(e: &FilterError, lang: Lang) -> String {
    let reason = match &e.reason {
        FilterReason::Syntax { expected, found } => i18n::FILTER_SYNTAX.render(lang, &[expected, found]),
        FilterReason::UnknownAttribute(name) => i18n::FILTER_UNKNOWN.render(lang, &[name]),
        FilterReason::NotFilterable(name) => i18n::FILTER_NOT_FILTERABLE.render(lang, &[name]),
        FilterReason::OperatorType { operator, attribute } => {
            i18n::FILTER_OPERATOR.render(lang, &[operator, attribute])
        }
        FilterReason::ValueType { attribute, expected } => {
            i18n::FILTER_VALUE.render(lang, &[attribute, expected])
        }
        FilterReason::TooLong { limit } => i18n::FILTER_TOO_LONG.render(lang, &[&limit.to_string()]),
        FilterReason::TooComplex { limit } => i18n::FILTER_TOO_COMPLEX.render(lang, &[&limit.to_string()]),
    };
    i18n::FILTER.render(lang, &[&e.position.to_string(), &reason])
}

fn problem_detail(p: &Problem, lang: Lang) -> String {
    match p {
        Problem::Filter(e) => filter_detail(e, lang),
        Problem::Syntax(what) => i18n::MALFORMED.render(lang, &[what]),
        Problem::UnknownAttribute(name) => i18n::UNKNOWN_ATTRIBUTE.render(lang, &[name]),
        Problem::MissingAttribute(name) => i18n::REQUIRED.render(lang, &[name]),
        Problem::NotForType { attribute, device_type } => {
            i18n::NOT_FOR_TYPE.render(lang, &[attribute, device_type])
        }
        Problem::InvalidValue { attribute, reason } => i18n::INVALID_VALUE.render(lang, &[attribute, reason]),
        Problem::Mutability { attribute } => i18n::MUTABILITY.render(lang, &[attribute]),
        Problem::InvalidPath(path) => i18n::INVALID_PATH.render(lang, &[path]),
        Problem::NoTarget => i18n::NO_TARGET.render(lang, &[]),
        Problem::InvalidParameter { parameter, reason } => {
            i18n::INVALID_PARAMETER.render(lang, &[parameter, reason])
        }
    }
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Problem(p) => p.status(),
            ApiError::NotJson(_) | ApiError::MissingPin | ApiError::SeedFile(_) => 400,
            ApiError::Unauthorized => 401,
            ApiError::Forbidden { .. } | ApiError::CorsForbidden { .. } | ApiError::ExportOff => 403,
            ApiError::NoRoute(_)
            | ApiError::NoTenant
            | ApiError::NoDevice(_)
            | ApiError::NoOathDevice(_)
            | ApiError::NoUser(_)
            | ApiError::NoPolicy(_)
            | ApiError::NoAuthenticator(_)
            | ApiError::NoAuditEvent(_)
            | ApiError::NoSchema { .. } => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::Conflict
            | ApiError::Duplicate { .. }
            | ApiError::HandedOut { .. }
            | ApiError::Enrolled { .. }
            | ApiError::UserNameTaken { .. }
            | ApiError::PolicyTaken(_)
            | ApiError::AuthenticatorTaken(_)
            | ApiError::DefaultPolicy(_)
            | ApiError::PolicyInUse { .. } => 409,
            ApiError::Stale { .. } => 412,
            ApiError::TooLarge(_) => 413,
            ApiError::UnsupportedMediaType => 415,
            ApiError::Throttled { .. } | ApiError::SendRefused { .. } => 429,
            ApiError::Settings(_) | ApiError::Internal(_) => 500,
            ApiError::Gateway => 502,
            ApiError::Unavailable(_) => 503,
        }
    }

    fn scim_type(&self) -> Option<ScimType> {
        match self {
            ApiError::Problem(p) => Some(p.scim_type()),
            ApiError::NotJson(_) => Some(ScimType::InvalidSyntax),
            ApiError::MissingPin | ApiError::SeedFile(_) => Some(ScimType::InvalidValue),
            ApiError::Duplicate { .. }
            | ApiError::UserNameTaken { .. }
            | ApiError::PolicyTaken(_)
            | ApiError::AuthenticatorTaken(_) => Some(ScimType::Uniqueness),
            _ => None,
        }
    }

    pub fn detail(&self, lang: Lang) -> String {
        match self {
            ApiError::Problem(p) => problem_detail(p, lang),
            ApiError::NotJson(why) => i18n::NOT_JSON.render(lang, &[why]),
            ApiError::MissingPin => i18n::PIN_REQUIRED.render(lang, &[]),
            ApiError::Unauthorized => i18n::UNAUTHORIZED.render(lang, &[]),
            ApiError::Throttled { retry_after } => i18n::THROTTLED.render(lang, &[&retry_after.to_string()]),
            ApiError::SendRefused { retry_after } => {
                i18n::SEND_REFUSED.render(lang, &[&retry_after.to_string()])
            }
            ApiError::Forbidden { right } => i18n::FORBIDDEN.render(lang, &[right]),
            ApiError::CorsForbidden { origin, method } => {
                let unknown = i18n::UNKNOWN_ORIGIN.render(lang, &[]);
                i18n::CORS_FORBIDDEN.render(lang, &[origin.as_deref().unwrap_or(&unknown), method])
            }
            ApiError::NoRoute(path) => i18n::NO_ROUTE.render(lang, &[path]),
            ApiError::NoTenant => i18n::NOT_FOUND.render(lang, &[]),
            ApiError::NoDevice(id) => i18n::NO_DEVICE.render(lang, &[&id.to_string()]),
            ApiError::NoOathDevice(id) => i18n::NO_OATH_DEVICE.render(lang, &[id]),
            ApiError::NoUser(id) => i18n::NO_USER.render(lang, &[id]),
            ApiError::NoPolicy(code) => i18n::NO_POLICY.render(lang, &[code]),
            ApiError::NoAuthenticator(id) => i18n::NO_AUTHENTICATOR.render(lang, &[id]),
            ApiError::NoAuditEvent(id) => i18n::NO_AUDIT_EVENT.render(lang, &[id]),
            ApiError::NoSchema { kind, name } => i18n::NO_SCHEMA.render(lang, &[kind, name]),
            ApiError::MethodNotAllowed { method, allowed } => {
                i18n::METHOD.render(lang, &[method, &allowed.join(", ")])
            }
            ApiError::Stale { version } => i18n::STALE.render(lang, &[version]),
            ApiError::Conflict => i18n::CONFLICT.render(lang, &[]),
            ApiError::Duplicate { existing } => i18n::DUPLICATE.render(lang, &[&existing.to_string()]),
            ApiError::HandedOut { serial, owner } => i18n::HANDED_OUT.render(lang, &[serial, owner]),
            ApiError::SeedFile(why) => i18n::SEED_FILE.render(lang, &[why]),
            ApiError::ExportOff => i18n::EXPORT_OFF.render(lang, &[]),
            ApiError::Enrolled { id, owner } => i18n::ENROLLED.render(lang, &[id, owner, id]),
            ApiError::UserNameTaken { existing } => {
                i18n::USER_NAME_TAKEN.render(lang, &[&existing.to_string()])
            }
            ApiError::PolicyTaken(code) => i18n::POLICY_TAKEN.render(lang, &[code]),
            ApiError::AuthenticatorTaken(id) => i18n::AUTHENTICATOR_TAKEN.render(lang, &[id]),
            ApiError::DefaultPolicy(code) => i18n::DEFAULT_POLICY.render(lang, &[code]),
            ApiError::PolicyInUse { code, authenticators } => {
                i18n::POLICY_IN_USE.render(lang, &[code, &authenticators.to_string()])
            }
            ApiError::TooLarge(limit) => i18n::TOO_LARGE.render(lang, &[&limit.to_string()]),
            ApiError::UnsupportedMediaType => i18n::MEDIA_TYPE.render(lang, &[]),
            ApiError::Gateway => i18n::GATEWAY.render(lang, &[]),
            ApiError::Settings(e) => i18n::MISCONFIGURED.render(lang, &[&e.to_string()]),
            ApiError::Internal(_) => i18n::INTERNAL.render(lang, &[]),
            ApiError::Unavailable(_) => {
                i18n::UNAVAILABLE.render(lang, &[&UNAVAILABLE_RETRY_AFTER.to_string()])
            }
        }
    }

    pub fn into_response(self, lang: Lang) -> ApiResponse {
        let body =
            ScimErrorBody::new(self.status(), self.scim_type().map(ScimType::as_str), self.detail(lang));
        let response = ApiResponse::json(self.status(), &body).with_header("content-language", lang.tag());
        match self {
            ApiError::Unauthorized => {
                response.with_header("www-authenticate", "Basic realm=\"SCIM\", charset=\"UTF-8\"")
            }
            ApiError::Throttled { retry_after } | ApiError::SendRefused { retry_after } => {
                response.with_header("retry-after", retry_after.to_string())
            }
            ApiError::MethodNotAllowed { allowed, .. } => response.with_header("allow", allowed.join(", ")),
            ApiError::Unavailable(_) => {
                response.with_header("retry-after", UNAVAILABLE_RETRY_AFTER.to_string())
            }
            _ => response,
        }
    }
}
