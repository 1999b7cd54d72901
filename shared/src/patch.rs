//! SCIM PATCH (RFC 7644 §3.5.2), one engine for every resource: a PatchOp is read, each
//! operation's path (`attr`, `attr.sub`, `attr[filter]`, `attr[filter].sub`) is resolved against
//! the resource's attribute table, and the operations are applied in order to a [`Patchable`]
//! state, the first error aborting the whole request. Two states take them: a resource's JSON
//! form (users, policies, authenticators, which the caller then checks exactly as a replace, so
//! that every route to a stored resource passes one check), and a device's writable state
//! ([`Changes`]). Applying never touches storage, so a request with one bad operation changes
//! nothing.

use crate::error::Problem;
use crate::filter::{Condition, Leaf, Op, Operand, Test};
use crate::model::{DeviceType, OtpDevice, PATCH_OP_SCHEMA};
use crate::schema::{AttrType, Attribute, DEVICE, Mutability, Resource};
use crate::validate::Changes;
use serde_json::{Map, Value};

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

/// How a resource's body keys and PATCH paths are read.
pub struct Vocabulary {
    pub resource: &'static Resource,
    /// Attributes a client may send that are accepted and not kept.
    pub dropped: &'static [&'static str],
    /// Sub-attributes (of complex and multi-valued attributes) accepted and not kept.
    pub dropped_sub: &'static [&'static str],
    /// Extension schemas (`urn:...`) the resource does not know are accepted and not kept.
    pub drop_extensions: bool,
    /// In an operation without `path`, a member of the value that names no attribute is an
    /// invalid path, as a `path` naming none is (Soffid's OtpDevice), rather than an unknown
    /// attribute of the body (`invalidSyntax`).
    pub members_are_paths: bool,
}

/// What a body member or PATCH path names.
pub enum Member {
    Kept(&'static Attribute),
    /// An attribute or an extension that is accepted and not stored.
    Dropped,
}

impl Vocabulary {
    /// Only the resource's own attributes; anything else is an unknown attribute.
    pub const fn strict(resource: &'static Resource) -> Vocabulary {
        Vocabulary {
            resource,
            dropped: &[],
            dropped_sub: &[],
            drop_extensions: false,
            members_are_paths: false,
        }
    }

    pub fn member(&self, key: &str) -> Result<Member, Problem> {
        let name = self.resource.strip_urn(key);
        if let Some(attribute) = self.resource.attribute(name) {
            return Ok(Member::Kept(attribute));
        }
        // As bytes: byte 4 need not be a char boundary (found by the `patch` fuzz target).
        let is_extension = name.len() > 4 && name.as_bytes()[..4].eq_ignore_ascii_case(b"urn:");
        if (is_extension && self.drop_extensions) || self.dropped.iter().any(|d| d.eq_ignore_ascii_case(name))
        {
            return Ok(Member::Dropped);
        }
        Err(Problem::UnknownAttribute(key.to_owned()))
    }
}

/// What a PATCH writes to: a state that takes one resolved operation at a time.
pub trait Patchable {
    /// Applies `op` at `target` with `value` (`None` for a missing or null value).
    fn apply(&mut self, op: OpKind, target: &Target, value: Option<&Value>) -> Result<(), Problem>;
}

/// Applies every operation of `patch` in order; the first error aborts the whole request.
pub fn apply_all(
    state: &mut impl Patchable,
    vocabulary: &Vocabulary,
    patch: &PatchOp,
) -> Result<(), Problem> {
    for operation in &patch.operations {
        apply_operation(state, vocabulary, operation)?;
    }
    Ok(())
}

/// Where a PATCH operation writes: `attr`, `attr.sub`, `attr[filter]`, `attr[filter].sub`.
/// Only attributes a client may write are targets.
pub struct Target {
    pub attribute: &'static Attribute,
    pub filter: Option<Condition>,
    pub sub: Option<&'static Attribute>,
}

fn target(vocabulary: &Vocabulary, path: &str) -> Result<Option<Target>, Problem> {
    let bad = || Problem::InvalidPath(path.to_owned());
    let stripped = vocabulary.resource.strip_urn(path.trim());
    // An extension's sub-attribute follows its URN after a colon (`urn:...:Password:password`).
    let extension = vocabulary.resource.extension_path(stripped);
    let (head, filter, tail) = match stripped.split_once('[') {
        _ if let Some((extension, _)) = extension => {
            (extension.name, None, &stripped[extension.name.len()..])
        }
        Some((head, rest)) => {
            let (inside, tail) = rest.rsplit_once(']').ok_or_else(bad)?;
            (head, Some(inside), tail)
        }
        None => match stripped.split_once('.') {
            Some((head, _)) if !head.contains(':') => (head, None, &stripped[head.len()..]),
            _ => (stripped, None, ""),
        },
    };
    let attribute = match vocabulary.member(head) {
        Ok(Member::Kept(attribute)) => attribute,
        Ok(Member::Dropped) => return Ok(None),
        Err(_) => return Err(bad()),
    };
    let sub = match tail {
        "" => None,
        tail => {
            let separator = if extension.is_some() { ':' } else { '.' };
            let sub = tail.strip_prefix(separator).ok_or_else(bad)?;
            match attribute.sub_attribute(sub) {
                Some(sub) => Some(sub),
                None if vocabulary.dropped_sub.iter().any(|d| d.eq_ignore_ascii_case(sub)) => {
                    return Ok(None);
                }
                None => return Err(bad()),
            }
        }
    };
    let filter = match filter {
        None => None,
        Some(_) if !attribute.multi_valued => return Err(bad()),
        Some(text) => Some(Condition::compile_entries(attribute, text).map_err(|_| bad())?),
    };
    // A read-only attribute is refused by the name the path resolves to (`meta.created`: created).
    let written = sub.unwrap_or(attribute);
    if [attribute, written]
        .iter()
        .any(|a| matches!(a.mutability, Mutability::ReadOnly | Mutability::Immutable))
    {
        return Err(Problem::Mutability { attribute: written.name });
    }
    Ok(Some(Target { attribute, filter, sub }))
}

/// The new entry a filter such as `type eq "work"` describes, for an add or replace that finds
/// no entry to write to (Entra ID adds a work address this way).
fn entry_from_filter(filter: &Condition) -> Option<Map<String, Value>> {
    let Condition::Leaf(Leaf { attribute, test: Test::Compare { op: Op::Eq, operand, .. }, .. }) = filter
    else {
        return None;
    };
    let value = match operand {
        Operand::Text(text) => Value::from(text.as_str()),
        Operand::Int(n) if attribute.kind == AttrType::Boolean => Value::Bool(*n != 0),
        _ => return None,
    };
    Some(Map::from_iter([(attribute.name.to_owned(), value)]))
}

/// Sets `sub` (or merges an object) into one entry or complex value.
fn write_into(
    object: &mut Map<String, Value>,
    sub: Option<&'static Attribute>,
    value: &Value,
) -> Result<(), Problem> {
    match (sub, value) {
        (Some(sub), value) => {
            object.insert(sub.name.to_owned(), value.clone());
        }
        (None, Value::Object(members)) => {
            for (k, v) in members {
                object.insert(k.clone(), v.clone());
            }
        }
        (None, _) => return Err(Problem::Syntax("the value must be an object".into())),
    }
    Ok(())
}

fn is_primary(entry: &Value) -> bool {
    entry.get("primary").is_some_and(crate::input::is_true)
}

/// A new primary entry demotes the others (RFC 7643 §2.4: at most one is primary).
fn keep_one_primary(entries: &mut [Value], written: &[usize]) {
    let Some(&winner) = written.iter().rev().find(|&&i| entries.get(i).is_some_and(is_primary)) else {
        return;
    };
    for (i, entry) in entries.iter_mut().enumerate() {
        if i != winner
            && is_primary(entry)
            && let Some(object) = entry.as_object_mut()
        {
            object.remove("primary");
        }
    }
}

fn list_of(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(list) => list.clone(),
        other => vec![other.clone()],
    }
}

/// A resource's JSON form.
impl Patchable for Map<String, Value> {
    fn apply(&mut self, op: OpKind, target: &Target, value: Option<&Value>) -> Result<(), Problem> {
        apply_to_doc(self, op, target, value)
    }
}

fn apply_to_doc(
    doc: &mut Map<String, Value>,
    op: OpKind,
    target: &Target,
    value: Option<&Value>,
) -> Result<(), Problem> {
    let name = target.attribute.name;
    let needs_value = || value.ok_or(Problem::invalid(name, "needs a value"));
    if !target.attribute.multi_valued {
        match (op, target.sub) {
            (OpKind::Remove, None) => {
                doc.remove(name);
            }
            (OpKind::Remove, Some(sub)) => {
                if let Some(Value::Object(object)) = doc.get_mut(name) {
                    object.remove(sub.name);
                }
            }
            (_, None) if target.attribute.kind == AttrType::Complex => {
                let slot = doc.entry(name).or_insert_with(|| Value::Object(Map::new()));
                let object = slot.as_object_mut().ok_or(Problem::invalid(name, "must be an object"))?;
                write_into(object, None, needs_value()?)?;
            }
            (_, None) => {
                doc.insert(name.to_owned(), needs_value()?.clone());
            }
            (_, Some(sub)) => {
                let slot = doc.entry(name).or_insert_with(|| Value::Object(Map::new()));
                let object = slot.as_object_mut().ok_or(Problem::invalid(name, "must be an object"))?;
                write_into(object, Some(sub), needs_value()?)?;
            }
        }
        return Ok(());
    }
    let mut entries: Vec<Value> = doc.get(name).map(list_of).unwrap_or_default();
    let selected: Vec<usize> = match &target.filter {
        Some(filter) => (0..entries.len()).filter(|&i| filter.matches(&entries[i])).collect(),
        // `emails.value` without a filter: the primary entry, else the first.
        None if target.sub.is_some() => {
            entries.iter().position(is_primary).or((!entries.is_empty()).then_some(0)).into_iter().collect()
        }
        None => (0..entries.len()).collect(),
    };
    let mut written = Vec::new();
    match (op, &target.filter, target.sub) {
        (OpKind::Remove, None, None) => match value {
            // `{"op": "remove", "path": "emails", "value": [{"value": "a@x"}]}`: those entries.
            Some(value) => {
                let gone: Vec<Value> =
                    list_of(value).iter().filter_map(|v| v.get("value").cloned()).collect();
                entries.retain(|e| !e.get("value").is_some_and(|v| gone.contains(v)));
            }
            None => entries.clear(),
        },
        (OpKind::Remove, _, None) => {
            let mut i = 0;
            entries.retain(|_| {
                i += 1;
                !selected.contains(&(i - 1))
            });
        }
        (OpKind::Remove, _, Some(sub)) => {
            for &i in &selected {
                if let Some(object) = entries[i].as_object_mut() {
                    object.remove(sub.name);
                }
            }
        }
        (OpKind::Add, None, None) => {
            for entry in list_of(needs_value()?) {
                if !entries.contains(&entry) {
                    entries.push(entry);
                    written.push(entries.len() - 1);
                }
            }
        }
        (OpKind::Replace, None, None) => {
            entries = list_of(needs_value()?);
            written = (0..entries.len()).collect();
        }
        (_, filter, sub) => {
            let value = needs_value()?;
            if selected.is_empty() {
                let fresh = match filter {
                    Some(filter) => entry_from_filter(filter).ok_or(Problem::NoTarget)?,
                    None => Map::new(),
                };
                entries.push(Value::Object(fresh));
                written.push(entries.len() - 1);
            } else {
                written = selected;
            }
            for &i in &written {
                let object =
                    entries[i].as_object_mut().ok_or(Problem::invalid(name, "must be a list of objects"))?;
                write_into(object, sub, value)?;
            }
        }
    }
    keep_one_primary(&mut entries, &written);
    if entries.is_empty() {
        doc.remove(name);
    } else {
        doc.insert(name.to_owned(), Value::Array(entries));
    }
    Ok(())
}

fn apply_operation(
    state: &mut impl Patchable,
    vocabulary: &Vocabulary,
    operation: &Operation,
) -> Result<(), Problem> {
    let value = operation.value.as_ref().filter(|v| !v.is_null());
    match (&operation.path, operation.op) {
        (None, OpKind::Remove) => Err(Problem::NoTarget),
        (Some(path), op) => match target(vocabulary, path)? {
            // A filter no entry matches, that describes no new entry either: `noTarget`.
            Some(target) => state.apply(op, &target, value),
            None => Ok(()),
        },
        (None, op) => {
            let members = value.and_then(Value::as_object).ok_or_else(|| {
                Problem::Syntax("an operation without \"path\" needs an object \"value\"".into())
            })?;
            for (key, value) in members {
                // Keys may be paths too: `{"name.givenName": "Ann"}`.
                if let Some(target) = target(vocabulary, key).map_err(|e| match e {
                    Problem::InvalidPath(_) if !vocabulary.members_are_paths => {
                        Problem::UnknownAttribute(key.clone())
                    }
                    e => e,
                })? {
                    state.apply(op, &target, Some(value))?;
                }
            }
            Ok(())
        }
    }
}

/// How a device's PATCH paths are read: its own attributes only, as Soffid's dialect names them.
const DEVICE_VOCABULARY: Vocabulary = Vocabulary { members_are_paths: true, ..Vocabulary::strict(&DEVICE) };

/// A device's writable state under PATCH: its attributes are single-valued and simple, each set
/// or removed through [`Changes`], which holds the rules of each (SPEC §5).
struct DevicePatch {
    changes: Changes,
    device_type: DeviceType,
}

impl Patchable for DevicePatch {
    fn apply(&mut self, op: OpKind, target: &Target, value: Option<&Value>) -> Result<(), Problem> {
        let attribute = target.attribute;
        if target.sub.is_some() || target.filter.is_some() {
            return Err(Problem::InvalidPath(attribute.name.to_owned()));
        }
        match op {
            OpKind::Remove => self.changes.remove(attribute),
            OpKind::Add | OpKind::Replace => {
                let value = value
                    .ok_or(Problem::InvalidValue { attribute: attribute.name, reason: "needs a value" })?;
                self.changes.set(attribute, self.device_type, value)
            }
        }
    }
}

/// Applies every operation in order to the device's writable state; the first error aborts
/// the whole request.
pub fn apply_patch(device: &OtpDevice, patch: &PatchOp) -> Result<Changes, Problem> {
    let mut state = DevicePatch { changes: Changes::from_device(device), device_type: device.device_type };
    apply_all(&mut state, &DEVICE_VOCABULARY, patch)?;
    Ok(state.changes)
}
