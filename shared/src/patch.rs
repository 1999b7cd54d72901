//! SCIM PATCH (RFC 7644 §3.5.2) for OtpDevice: parse a PatchOp, then apply it all or nothing.
//!
//! Applying never touches storage: it computes the device's new writable state ([`Changes`]),
//! so a request with one bad operation changes nothing.

use crate::error::Problem;
use crate::model::{OtpDevice, PATCH_OP_SCHEMA};
use crate::schema::{Attribute, DEVICE, Mutability};
use crate::validate::Changes;
use serde_json::Value;

/// Most operations accepted in one request.
pub const MAX_OPERATIONS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub op: OpKind,
    pub path: Option<String>,
    pub value: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    pub operations: Vec<Operation>,
}

fn syntax(what: &str) -> Problem {
    Problem::Syntax(what.to_owned())
}

/// A member of a JSON object by name, case-insensitively (`Operations`, `operations`).
fn member<'a>(object: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

impl PatchOp {
    /// Reads a PatchOp body. `schemas` may be missing, as in Soffid's own examples; `op` is
    /// case-insensitive.
    pub fn from_json(body: &Value) -> Result<PatchOp, Problem> {
        let object = body.as_object().ok_or_else(|| syntax("the body must be a JSON object"))?;
        if let Some(schemas) = member(object, "schemas") {
            let lists_patch = schemas.as_array().is_some_and(|a| {
                a.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP_SCHEMA)))
            });
            if !lists_patch {
                return Err(syntax("\"schemas\" must list urn:ietf:params:scim:api:messages:2.0:PatchOp"));
            }
        }
        let list = member(object, "Operations")
            .and_then(Value::as_array)
            .filter(|list| !list.is_empty())
            .ok_or_else(|| syntax("\"Operations\" must be a non-empty array"))?;
        if list.len() > MAX_OPERATIONS {
            return Err(syntax("too many operations (at most 100)"));
        }
        let operations = list
            .iter()
            .map(|entry| {
                let entry = entry.as_object().ok_or_else(|| syntax("each operation must be an object"))?;
                let op =
                    match member(entry, "op").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref()
                    {
                        Some("add") => OpKind::Add,
                        Some("replace") => OpKind::Replace,
                        Some("remove") => OpKind::Remove,
                        _ => return Err(syntax("\"op\" must be add, replace or remove")),
                    };
                let path = match member(entry, "path") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(path)) => Some(path.clone()),
                    Some(_) => return Err(syntax("\"path\" must be a string")),
                };
                Ok(Operation { op, path, value: member(entry, "value").cloned() })
            })
            .collect::<Result<_, Problem>>()?;
        Ok(PatchOp { operations })
    }
}

/// The attribute a path names, if a PATCH may write it.
fn target(path: &str) -> Result<&'static Attribute, Problem> {
    // Value filters (`status[...]`) select among multi-valued entries; this resource has none.
    if path.contains(['[', ']']) {
        return Err(Problem::InvalidPath(path.to_owned()));
    }
    let attribute = DEVICE.resolve_path(path).ok_or_else(|| Problem::InvalidPath(path.to_owned()))?;
    writable(attribute)
}

fn writable(attribute: &'static Attribute) -> Result<&'static Attribute, Problem> {
    match attribute.mutability {
        Mutability::ReadOnly | Mutability::Immutable => {
            Err(Problem::Mutability { attribute: attribute.name })
        }
        Mutability::ReadWrite | Mutability::WriteOnly => Ok(attribute),
    }
}

/// Applies every operation in order to the device's writable state; the first error aborts
/// the whole request.
pub fn apply_patch(device: &OtpDevice, patch: &PatchOp) -> Result<Changes, Problem> {
    let mut changes = Changes::from_device(device);
    for operation in &patch.operations {
        let value = operation.value.as_ref().filter(|v| !v.is_null());
        match (&operation.path, operation.op) {
            (None, OpKind::Remove) => return Err(Problem::NoTarget),
            (Some(path), OpKind::Remove) => changes.remove(target(path)?)?,
            (Some(path), OpKind::Add | OpKind::Replace) => {
                let attribute = target(path)?;
                let value = value
                    .ok_or(Problem::InvalidValue { attribute: attribute.name, reason: "needs a value" })?;
                changes.set(attribute, device.device_type, value)?;
            }
            (None, OpKind::Add | OpKind::Replace) => {
                let members = value
                    .and_then(Value::as_object)
                    .ok_or_else(|| syntax("an operation without \"path\" needs an object \"value\""))?;
                for (key, value) in members {
                    let attribute = DEVICE
                        .attribute(DEVICE.strip_urn(key))
                        .ok_or_else(|| Problem::InvalidPath(key.clone()))?;
                    changes.set(writable(attribute)?, device.device_type, value)?;
                }
            }
        }
    }
    Ok(changes)
}
