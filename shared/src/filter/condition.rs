//! A filter resolved against the attribute table: typed operands, and the evaluator over a device.

use super::{AttrPath, CompareOp, Filter, Literal, parse};
use crate::error::{FilterError, FilterReason, Problem};
use crate::model::OtpDevice;
use crate::schema::{self, AttrType, Attribute, Value};
use crate::timestamp::{Instant, parse_instant};

/// A filter checked against the OtpDevice attributes, ready to evaluate or to compile to SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
    Leaf(Leaf),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    pub attribute: &'static Attribute,
    pub test: Test,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    Present,
    Absent,
    /// `fold_case`: compare ASCII case-insensitively (`eq_ci`, or a caseExact=false attribute).
    Compare {
        op: Op,
        operand: Operand,
        fold_case: bool,
    },
}

/// Comparison after resolution: `eq_ci` has become `Eq` with `fold_case`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// Dates have become Unix seconds, whole or (when the filter gave a fraction) real.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Text(String),
    Int(i64),
    Real(f64),
}

impl Condition {
    /// Parses and resolves a filter; every error is `invalidFilter` and says where.
    pub fn compile(text: &str) -> Result<Condition, Problem> {
        Ok(Condition::resolve(&parse(text)?)?)
    }

    pub fn resolve(filter: &Filter) -> Result<Condition, FilterError> {
        resolve(filter, None)
    }

    /// Does the device satisfy the condition? Absent attributes compare false, except `ne`.
    pub fn matches(&self, device: &OtpDevice) -> bool {
        match self {
            Condition::And(parts) => parts.iter().all(|c| c.matches(device)),
            Condition::Or(parts) => parts.iter().any(|c| c.matches(device)),
            Condition::Not(inner) => !inner.matches(device),
            Condition::Leaf(leaf) => leaf.matches(device),
        }
    }
}

fn error(position: usize, reason: FilterReason) -> FilterError {
    FilterError { position, reason }
}

fn resolve(filter: &Filter, parent: Option<&'static Attribute>) -> Result<Condition, FilterError> {
    let all = |parts: &[Filter]| parts.iter().map(|p| resolve(p, parent)).collect::<Result<Vec<_>, _>>();
    Ok(match filter {
        Filter::And(parts) => Condition::And(all(parts)?),
        Filter::Or(parts) => Condition::Or(all(parts)?),
        Filter::Not(inner) => Condition::Not(Box::new(resolve(inner, parent)?)),
        Filter::Group { path, filter } => {
            let attribute = lookup(path, parent)?;
            if attribute.kind != AttrType::Complex || parent.is_some() {
                return Err(error(
                    path.position,
                    FilterReason::OperatorType { operator: "[ ]".into(), attribute: path.text.clone() },
                ));
            }
            resolve(filter, Some(attribute))?
        }
        Filter::Present { path } => {
            let attribute = filterable(path, parent, "pr")?;
            Condition::Leaf(Leaf { attribute, test: Test::Present })
        }
        Filter::Compare { path, op, value, value_position } => {
            let attribute = filterable(path, parent, op.as_str())?;
            let test = compare(attribute, path, *op, value, *value_position)?;
            Condition::Leaf(Leaf { attribute, test })
        }
    })
}

fn lookup(path: &AttrPath, parent: Option<&'static Attribute>) -> Result<&'static Attribute, FilterError> {
    let found = match parent {
        None => schema::resolve_path(&path.text),
        Some(parent) => parent.sub_attributes.iter().find(|a| a.name.eq_ignore_ascii_case(&path.text)),
    };
    found.ok_or_else(|| error(path.position, FilterReason::UnknownAttribute(path.text.clone())))
}

fn filterable(
    path: &AttrPath,
    parent: Option<&'static Attribute>,
    operator: &str,
) -> Result<&'static Attribute, FilterError> {
    let attribute = lookup(path, parent)?;
    if attribute.kind == AttrType::Complex {
        return Err(error(
            path.position,
            FilterReason::OperatorType { operator: operator.into(), attribute: path.text.clone() },
        ));
    }
    if !attribute.filterable() {
        return Err(error(path.position, FilterReason::NotFilterable(path.text.clone())));
    }
    Ok(attribute)
}

fn compare(
    attribute: &'static Attribute,
    path: &AttrPath,
    op: CompareOp,
    value: &Literal,
    value_position: usize,
) -> Result<Test, FilterError> {
    let wrong_op = || {
        error(
            path.position,
            FilterReason::OperatorType { operator: op.as_str().into(), attribute: path.text.clone() },
        )
    };
    let wrong_value =
        |expected| error(value_position, FilterReason::ValueType { attribute: path.text.clone(), expected });
    if *value == Literal::Null {
        return match op {
            CompareOp::Eq => Ok(Test::Absent),
            CompareOp::Ne => Ok(Test::Present),
            _ => Err(wrong_value("a value other than null for this operator")),
        };
    }
    let (resolved, textual) = match op {
        CompareOp::Eq | CompareOp::EqCi => (Op::Eq, false),
        CompareOp::Ne => (Op::Ne, false),
        CompareOp::Co => (Op::Co, true),
        CompareOp::Sw => (Op::Sw, true),
        CompareOp::Ew => (Op::Ew, true),
        CompareOp::Gt => (Op::Gt, false),
        CompareOp::Ge => (Op::Ge, false),
        CompareOp::Lt => (Op::Lt, false),
        CompareOp::Le => (Op::Le, false),
    };
    match attribute.kind {
        AttrType::String | AttrType::Reference => {
            let Literal::Str(text) = value else {
                return Err(wrong_value("a quoted string"));
            };
            let mut fold_case = op == CompareOp::EqCi || !attribute.case_exact;
            let mut text = text.clone();
            // `type eq "totp"` becomes `type eq "TOTP"`: an exact match that an index can serve.
            if fold_case
                && matches!(resolved, Op::Eq | Op::Ne)
                && let Some(canonical) =
                    attribute.canonical_values.iter().find(|c| c.eq_ignore_ascii_case(&text))
            {
                text = (*canonical).to_owned();
                fold_case = false;
            }
            Ok(Test::Compare { op: resolved, operand: Operand::Text(text), fold_case })
        }
        AttrType::Integer => {
            if textual || op == CompareOp::EqCi {
                return Err(wrong_op());
            }
            let operand = match value {
                Literal::Int(n) => Operand::Int(*n),
                Literal::Real(x) => Operand::Real(*x),
                _ => return Err(wrong_value("a number")),
            };
            Ok(Test::Compare { op: resolved, operand, fold_case: false })
        }
        AttrType::DateTime | AttrType::SoffidTime => {
            if textual || op == CompareOp::EqCi {
                return Err(wrong_op());
            }
            let expected = "a quoted date (\"2022-01-01\", \"2022-01-01 10:00:00\" or RFC 3339)";
            let Literal::Str(text) = value else {
                return Err(wrong_value(expected));
            };
            let operand = match parse_instant(text) {
                Some(Instant::Whole(seconds)) => Operand::Int(seconds),
                Some(Instant::Fractional(seconds)) => Operand::Real(seconds),
                None => return Err(wrong_value(expected)),
            };
            Ok(Test::Compare { op: resolved, operand, fold_case: false })
        }
        AttrType::Complex => Err(wrong_op()),
    }
}

/// ASCII-only case folding: exactly what SQLite's built-in `lower()` does, so both backends agree.
pub(super) fn fold(text: &str, fold_case: bool) -> std::borrow::Cow<'_, str> {
    if fold_case { text.to_ascii_lowercase().into() } else { text.into() }
}

impl Leaf {
    fn matches(&self, device: &OtpDevice) -> bool {
        let value = (self.attribute.read)(device);
        match &self.test {
            Test::Present => value != Value::Absent,
            Test::Absent => value == Value::Absent,
            Test::Compare { op, operand, fold_case } => match (value, operand) {
                (Value::Absent, _) => *op == Op::Ne,
                (Value::Text(have), Operand::Text(want)) => {
                    let (have, want) = (fold(have, *fold_case), fold(want, *fold_case));
                    match op {
                        Op::Co => have.contains(&*want),
                        Op::Sw => have.starts_with(&*want),
                        Op::Ew => have.ends_with(&*want),
                        _ => ordered(*op, have.cmp(&want)),
                    }
                }
                (Value::Int(have), Operand::Int(want)) => ordered(*op, have.cmp(want)),
                (Value::Int(have), Operand::Real(want)) => {
                    (have as f64).partial_cmp(want).is_some_and(|o| ordered(*op, o))
                }
                // Resolution never pairs a text attribute with a number or the reverse.
                _ => false,
            },
        }
    }
}

fn ordered(op: Op, ordering: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    match op {
        Op::Eq => ordering == Equal,
        Op::Ne => ordering != Equal,
        Op::Gt => ordering == Greater,
        Op::Ge => ordering != Less,
        Op::Lt => ordering == Less,
        Op::Le => ordering != Greater,
        Op::Co | Op::Sw | Op::Ew => false,
    }
}
