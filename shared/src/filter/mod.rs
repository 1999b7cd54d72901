//! The SCIM filter language of SPEC §4 (RFC 7644 §3.4.2.2 plus Soffid's `eq_ci`).
//!
//! [`parse`] turns text into a [`Filter`] syntax tree; [`Condition::compile`] also resolves it
//! against the OtpDevice attribute table into a typed [`Condition`], which has two backends that
//! must agree: [`Condition::matches`] over a device and [`Condition::to_sql`] for SQLite.

mod condition;
mod parser;
mod sql;

pub use condition::{Condition, Leaf, Op, Operand, Test};
pub use parser::{MAX_DEPTH, MAX_LEN, MAX_TERMS, parse};
pub use sql::{SqlParam, SqlWhere};

/// A filter as written, before attribute names are checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Present {
        path: AttrPath,
    },
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: Literal,
        /// 1-based character column of the value, for error messages.
        value_position: usize,
    },
    /// `attr[ ... ]`: a filter over the sub-attributes of a complex attribute.
    Group {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

/// An attribute path as written (`lastUsed`, `meta.created`, `urn:...:OtpDevice:user`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    pub text: String,
    /// 1-based character column where the path starts.
    pub position: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    EqCi,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    pub const ALL: &'static [CompareOp] = &[
        CompareOp::Eq,
        CompareOp::EqCi,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::EqCi => "eq_ci",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    pub fn parse(word: &str) -> Option<CompareOp> {
        Self::ALL.iter().copied().find(|op| op.as_str().eq_ignore_ascii_case(word))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Int(i64),
    Real(f64),
    Bool(bool),
    Null,
}

impl std::fmt::Display for Filter {
    /// Writes the filter back in canonical form; parsing the output gives the same tree
    /// (up to positions).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let join = |f: &mut std::fmt::Formatter<'_>, parts: &[Filter], word: &str| {
            f.write_str("(")?;
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    write!(f, " {word} ")?;
                }
                write!(f, "{part}")?;
            }
            f.write_str(")")
        };
        match self {
            Filter::And(parts) => join(f, parts, "and"),
            Filter::Or(parts) => join(f, parts, "or"),
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::Present { path } => write!(f, "{} pr", path.text),
            Filter::Compare { path, op, value, .. } => {
                write!(f, "{} {} ", path.text, op.as_str())?;
                match value {
                    Literal::Str(s) => {
                        let quoted = serde_json::to_string(s).map_err(|_| std::fmt::Error)?;
                        f.write_str(&quoted)
                    }
                    Literal::Int(n) => write!(f, "{n}"),
                    Literal::Real(x) => write!(f, "{x:?}"),
                    Literal::Bool(b) => write!(f, "{b}"),
                    Literal::Null => f.write_str("null"),
                }
            }
            Filter::Group { path, filter } => write!(f, "{}[{filter}]", path.text),
        }
    }
}
