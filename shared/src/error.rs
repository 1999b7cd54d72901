//! Typed client errors of the pure core, each mapped to exactly one SCIM `scimType`.
//!
//! Every variant is a 400: the problem is in the request, never in the server. The API turns a
//! `Problem` into a SCIM Error document (and localises its `detail`) at one boundary.

use std::fmt;

/// The `scimType` values of RFC 7644 §3.12 that this service uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
}

impl ScimType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }
}

/// Why a filter was refused; `position` is the 1-based character column in the filter text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub position: usize,
    pub reason: FilterReason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterReason {
    /// The text does not follow the grammar; `expected` says what would have fit.
    Syntax {
        expected: &'static str,
        found: String,
    },
    UnknownAttribute(String),
    NotFilterable(String),
    /// The operator cannot be applied to this attribute's type (`co` on an integer, ...).
    OperatorType {
        operator: String,
        attribute: String,
    },
    /// The value does not fit the attribute's type (a string for an integer, a bad date, ...).
    ValueType {
        attribute: String,
        expected: &'static str,
    },
    TooLong {
        limit: usize,
    },
    TooComplex {
        limit: usize,
    },
}

/// A request the core refuses. Each variant is a 400 with the `scimType` of [`Problem::scim_type`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Filter(FilterError),
    /// The body is not JSON, or not the JSON shape the operation needs.
    Syntax(String),
    UnknownAttribute(String),
    MissingAttribute(&'static str),
    /// An attribute that exists but does not belong to this device type (`email` on a TOTP).
    NotForType {
        attribute: &'static str,
        device_type: &'static str,
    },
    InvalidValue {
        attribute: &'static str,
        reason: &'static str,
    },
    /// A readOnly or immutable attribute that the request tries to change.
    Mutability {
        attribute: &'static str,
    },
    InvalidPath(String),
    /// A PATCH `remove` without a `path`.
    NoTarget,
    /// A query parameter (`sortBy`, `sortOrder`, `attributes`, ...) with a value it cannot take.
    InvalidParameter {
        parameter: &'static str,
        reason: String,
    },
}

impl Problem {
    pub fn invalid(attribute: &'static str, reason: &'static str) -> Problem {
        Problem::InvalidValue { attribute, reason }
    }

    pub fn scim_type(&self) -> ScimType {
        match self {
            Problem::Filter(_) => ScimType::InvalidFilter,
            Problem::Syntax(_) | Problem::UnknownAttribute(_) => ScimType::InvalidSyntax,
            Problem::MissingAttribute(_)
            | Problem::NotForType { .. }
            | Problem::InvalidValue { .. }
            | Problem::InvalidParameter { .. } => ScimType::InvalidValue,
            Problem::Mutability { .. } => ScimType::Mutability,
            Problem::InvalidPath(_) => ScimType::InvalidPath,
            Problem::NoTarget => ScimType::NoTarget,
        }
    }

    /// The HTTP status: every problem of the core is the client's.
    pub fn status(&self) -> u16 {
        400
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid filter at position {}: ", self.position)?;
        match &self.reason {
            FilterReason::Syntax { expected, found } => write!(f, "expected {expected}, found {found}"),
            FilterReason::UnknownAttribute(name) => write!(f, "unknown attribute \"{name}\""),
            FilterReason::NotFilterable(name) => write!(f, "attribute \"{name}\" cannot be filtered"),
            FilterReason::OperatorType { operator, attribute } => {
                write!(f, "operator \"{operator}\" does not apply to attribute \"{attribute}\"")
            }
            FilterReason::ValueType { attribute, expected } => {
                write!(f, "attribute \"{attribute}\" needs {expected}")
            }
            FilterReason::TooLong { limit } => write!(f, "filter longer than {limit} characters"),
            FilterReason::TooComplex { limit } => {
                write!(f, "filter too complex (more than {limit} nested groups or comparisons)")
            }
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Filter(e) => e.fmt(f),
            Problem::Syntax(what) => write!(f, "malformed request: {what}"),
            Problem::UnknownAttribute(name) => write!(f, "unknown attribute \"{name}\""),
            Problem::MissingAttribute(name) => write!(f, "attribute \"{name}\" is required"),
            Problem::NotForType { attribute, device_type } => {
                write!(f, "attribute \"{attribute}\" does not apply to {device_type} devices")
            }
            Problem::InvalidValue { attribute, reason } => {
                write!(f, "invalid value for \"{attribute}\": {reason}")
            }
            Problem::Mutability { attribute } => {
                write!(f, "attribute \"{attribute}\" cannot be changed")
            }
            Problem::InvalidPath(path) => write!(f, "invalid path \"{path}\""),
            Problem::NoTarget => f.write_str("a remove operation needs a path"),
            Problem::InvalidParameter { parameter, reason } => {
                write!(f, "invalid {parameter}: {reason}")
            }
        }
    }
}

impl std::error::Error for Problem {}

impl From<FilterError> for Problem {
    fn from(e: FilterError) -> Self {
        Problem::Filter(e)
    }
}
