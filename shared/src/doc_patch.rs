//! PATCH (RFC 7644 §3.5.2) on a resource's JSON form: paths (`attr`, `attr.sub`,
//! `attr[filter]`, `attr[filter].sub`) resolved against the resource's attribute table, each
//! operation applied in order. The caller then checks the result exactly as a replace, so that
//! every route to a stored resource passes one check.

use crate::error::Problem;
use crate::filter::{Condition, Leaf, Op, Operand, Test};
use crate::patch::{OpKind, Operation, PatchOp};
use crate::schema::{AttrType, Attribute, Mutability, Resource};
use serde_json::{Map, Value};

/// How a resource's body keys and PATCH paths are read.
pub struct Vocabulary {
    pub resource: &'static Resource,
    /// Attributes a client may send that are accepted and not kept.
    pub dropped: &'static [&'static str],
    /// Sub-attributes (of complex and multi-valued attributes) accepted and not kept.
    pub dropped_sub: &'static [&'static str],
    /// Extension schemas (`urn:...`) the resource does not know are accepted and not kept.
    pub drop_extensions: bool,
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
        Vocabulary { resource, dropped: &[], dropped_sub: &[], drop_extensions: false }
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

/// Applies every operation of `patch` in order; the first error aborts the whole request.
pub fn apply_all(
    doc: &mut Map<String, Value>,
    vocabulary: &Vocabulary,
    patch: &PatchOp,
) -> Result<(), Problem> {
    for operation in &patch.operations {
        apply_operation(doc, vocabulary, operation)?;
    }
    Ok(())
}

/// Where a PATCH operation writes: `attr`, `attr.sub`, `attr[filter]`, `attr[filter].sub`.
struct Target {
    attribute: &'static Attribute,
    filter: Option<Condition>,
    sub: Option<&'static Attribute>,
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
    if matches!(attribute.mutability, Mutability::ReadOnly | Mutability::Immutable) {
        return Err(Problem::Mutability { attribute: attribute.name });
    }
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

fn apply(
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
    doc: &mut Map<String, Value>,
    vocabulary: &Vocabulary,
    operation: &Operation,
) -> Result<(), Problem> {
    let value = operation.value.as_ref().filter(|v| !v.is_null());
    match (&operation.path, operation.op) {
        (None, OpKind::Remove) => Err(Problem::NoTarget),
        (Some(path), op) => match target(vocabulary, path)? {
            // A filter no entry matches, that describes no new entry either: `noTarget`.
            Some(target) => apply(doc, op, &target, value),
            None => Ok(()),
        },
        (None, op) => {
            let members = value.and_then(Value::as_object).ok_or_else(|| {
                Problem::Syntax("an operation without \"path\" needs an object \"value\"".into())
            })?;
            for (key, value) in members {
                // Keys may be paths too: `{"name.givenName": "Ann"}`.
                if let Some(target) = target(vocabulary, key).map_err(|e| match e {
                    Problem::InvalidPath(_) => Problem::UnknownAttribute(key.clone()),
                    e => e,
                })? {
                    apply(doc, op, &target, Some(value))?;
                }
            }
            Ok(())
        }
    }
}
