//! A filter resolved against a resource's attribute table: typed operands, and the evaluator
//! over the resource's JSON form.

use super::{AttrPath, CompareOp, Filter, Literal, parse};
use crate::error::{FilterError, FilterReason, Problem};
use crate::schema::{AttrType, Attribute, Resource, Value};
use crate::timestamp::{Instant, parse_instant};

/// A filter checked against a resource's attributes, ready to evaluate or to compile to SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
    Leaf(Leaf),
    /// Some entry of a multi-valued attribute satisfies `filter`, whose leaves are the entry's
    /// sub-attributes (`emails[type eq "work" and value co "@example.com"]`).
    Any {
        attribute: &'static Attribute,
        filter: Box<Condition>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    /// The single-valued complex attribute that holds it (`meta`, `name`), if any.
    pub parent: Option<&'static Attribute>,
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

/// Dates have become Unix seconds, whole or (when the filter gave a fraction) real; booleans 0/1.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Text(String),
    Int(i64),
    Real(f64),
}

/// Where names resolve: the resource's attributes, a single-valued complex attribute's
/// sub-attributes (`meta[...]`), or the entries of a multi-valued one (`emails[...]`).
#[derive(Clone, Copy)]
enum Scope {
    Top(&'static Resource),
    Sub(&'static Attribute),
    Entry(&'static Attribute),
}

impl Condition {
    /// Parses and resolves a filter; every error is `invalidFilter` and says where.
    pub fn compile(resource: &'static Resource, text: &str) -> Result<Condition, Problem> {
        Ok(Condition::resolve(resource, &parse(text)?)?)
    }

    pub fn resolve(resource: &'static Resource, filter: &Filter) -> Result<Condition, FilterError> {
        resolve(filter, Scope::Top(resource))
    }

    /// A filter over the entries of a multi-valued attribute, as PATCH paths carry one
    /// (`emails[type eq "work"]`); it matches one entry with [`Condition::matches`].
    pub fn compile_entries(attribute: &'static Attribute, text: &str) -> Result<Condition, Problem> {
        let scope = Scope::Entry(attribute);
        Ok(resolve(&parse(text)?, scope)?)
    }

    /// Does the resource (its JSON form, as the API serialises it) satisfy the condition?
    /// Absent attributes compare false, except `ne`.
    pub fn matches(&self, resource: &serde_json::Value) -> bool {
        match self {
            Condition::And(parts) => parts.iter().all(|c| c.matches(resource)),
            Condition::Or(parts) => parts.iter().any(|c| c.matches(resource)),
            Condition::Not(inner) => !inner.matches(resource),
            Condition::Leaf(leaf) => leaf.matches(resource),
            Condition::Any { attribute, filter } => resource
                .get(attribute.name)
                .and_then(serde_json::Value::as_array)
                .is_some_and(|entries| entries.iter().any(|entry| filter.matches(entry))),
        }
    }
}

fn error(position: usize, reason: FilterReason) -> FilterError {
    FilterError { position, reason }
}

fn operator_error(path: &AttrPath, operator: &str) -> FilterError {
    error(
        path.position,
        FilterReason::OperatorType { operator: operator.into(), attribute: path.text.clone() },
    )
}

fn resolve(filter: &Filter, scope: Scope) -> Result<Condition, FilterError> {
    let all = |parts: &[Filter]| parts.iter().map(|p| resolve(p, scope)).collect::<Result<Vec<_>, _>>();
    Ok(match filter {
        Filter::And(parts) => Condition::And(all(parts)?),
        Filter::Or(parts) => Condition::Or(all(parts)?),
        Filter::Not(inner) => Condition::Not(Box::new(resolve(inner, scope)?)),
        Filter::Group { path, filter } => {
            let (parent, attribute) = lookup(path, scope)?;
            // Groups do not nest, and only complex attributes have members to group.
            if attribute.kind != AttrType::Complex || parent.is_some() || !matches!(scope, Scope::Top(_)) {
                return Err(operator_error(path, "[ ]"));
            }
            if attribute.multi_valued {
                let filter = Box::new(resolve(filter, Scope::Entry(attribute))?);
                Condition::Any { attribute, filter }
            } else {
                resolve(filter, Scope::Sub(attribute))?
            }
        }
        Filter::Present { path } => leaf(path, scope, "pr", |_| Ok(Test::Present))?,
        Filter::Compare { path, op, value, value_position } => {
            leaf(path, scope, op.as_str(), |attribute| compare(attribute, path, *op, value, *value_position))?
        }
    })
}

/// The attribute a path names in `scope`, and the complex attribute that holds it.
fn lookup(
    path: &AttrPath,
    scope: Scope,
) -> Result<(Option<&'static Attribute>, &'static Attribute), FilterError> {
    let found = match scope {
        Scope::Top(resource) => resource.resolve(&path.text).map(|r| (r.parent, r.attribute)),
        Scope::Sub(parent) | Scope::Entry(parent) => {
            parent.sub_attribute(&path.text).map(|a| (Some(parent), a))
        }
    };
    found.ok_or_else(|| error(path.position, FilterReason::UnknownAttribute(path.text.clone())))
}

/// A comparison or presence test of one attribute. On a multi-valued attribute it holds when
/// some entry passes it: `emails.value co "x"` and `emails co "x"` (RFC 7644 §3.4.2.2 compares
/// the `value` sub-attribute then) both mean `emails[value co "x"]`.
fn leaf(
    path: &AttrPath,
    scope: Scope,
    operator: &str,
    test: impl Fn(&'static Attribute) -> Result<Test, FilterError>,
) -> Result<Condition, FilterError> {
    let (parent, mut attribute) = lookup(path, scope)?;
    let mut multi = parent.filter(|p| p.multi_valued);
    if attribute.multi_valued && matches!(scope, Scope::Top(_)) {
        multi = Some(attribute);
        attribute = attribute.sub_attribute("value").ok_or_else(|| operator_error(path, operator))?;
    }
    if attribute.kind == AttrType::Complex {
        return Err(operator_error(path, operator));
    }
    if !attribute.filterable() {
        return Err(error(path.position, FilterReason::NotFilterable(path.text.clone())));
    }
    let test = test(attribute)?;
    Ok(match (multi, scope) {
        // Already inside `emails[...]`: the leaf reads the entry itself.
        (Some(_), Scope::Entry(_)) => Condition::Leaf(Leaf { parent: None, attribute, test }),
        (Some(multi), _) => Condition::Any {
            attribute: multi,
            filter: Box::new(Condition::Leaf(Leaf { parent: None, attribute, test })),
        },
        (None, _) => Condition::Leaf(Leaf { parent, attribute, test }),
    })
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
            // A bare integer compares as its decimal text (SPEC §14): HID's clients write
            // `owner.value eq 20792` for an id that SCIM serves as a string.
            let mut text = match value {
                Literal::Str(text) => text.clone(),
                Literal::Int(n) => n.to_string(),
                _ => return Err(wrong_value("a quoted string")),
            };
            let mut fold_case = op == CompareOp::EqCi || !attribute.case_exact;
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
        AttrType::Boolean => {
            if !matches!(resolved, Op::Eq | Op::Ne) || op == CompareOp::EqCi {
                return Err(wrong_op());
            }
            let Literal::Bool(b) = value else { return Err(wrong_value("true or false")) };
            Ok(Test::Compare { op: resolved, operand: Operand::Int(i64::from(*b)), fold_case: false })
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
    fn matches(&self, holder: &serde_json::Value) -> bool {
        let holder = match self.parent {
            Some(parent) => match holder.get(parent.name) {
                Some(inner) => inner,
                None => return self.absent_matches(),
            },
            None => holder,
        };
        let value = self.attribute.read(holder);
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

impl Leaf {
    fn absent_matches(&self) -> bool {
        match &self.test {
            Test::Present => false,
            Test::Absent => true,
            Test::Compare { op, .. } => *op == Op::Ne,
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
