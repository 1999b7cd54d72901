//! List query parameters: paging, sorting and attribute projection (RFC 7644 §3.4.2.3-5).

use crate::error::Problem;
use crate::schema::{Attribute, Resource, Returned, Value as AttrValue};
use serde_json::{Map, Value};
use std::cmp::Ordering;

pub const DEFAULT_COUNT: u64 = 100;
/// `filter.maxResults` of `/ServiceProviderConfig`: no page is larger.
pub const MAX_RESULTS: u64 = 1000;
/// Most names accepted in `attributes` / `excludedAttributes`.
pub const MAX_PROJECTED: usize = 100;

/// A 1-based page: `startIndex` below 1 means 1, `count` defaults to 100 and is capped at 1000;
/// `count=0` asks only for `totalResults`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub start_index: u64,
    pub count: u64,
}

impl Page {
    pub fn new(start_index: Option<i64>, count: Option<i64>) -> Page {
        Page {
            start_index: start_index.map_or(1, |s| u64::try_from(s).unwrap_or(1).max(1)),
            count: count.map_or(DEFAULT_COUNT, |c| u64::try_from(c).unwrap_or(0).min(MAX_RESULTS)),
        }
    }

    /// Rows to skip (SQL `OFFSET`).
    pub fn offset(&self) -> u64 {
        self.start_index - 1
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    Ascending,
    Descending,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sort {
    /// The single-valued complex attribute that holds it (`meta`, `name`), if any.
    pub parent: Option<&'static Attribute>,
    pub attribute: &'static Attribute,
    pub order: SortOrder,
}

impl Sort {
    /// `sortBy` any single-valued attribute with a column; `sortOrder` `ascending` (default) or
    /// `descending`.
    pub fn parse(
        resource: &'static Resource,
        sort_by: Option<&str>,
        sort_order: Option<&str>,
    ) -> Result<Option<Sort>, Problem> {
        let order = match sort_order.map(str::to_ascii_lowercase).as_deref() {
            None | Some("ascending") => SortOrder::Ascending,
            Some("descending") => SortOrder::Descending,
            Some(_) => {
                return Err(Problem::InvalidParameter {
                    parameter: "sortOrder",
                    reason: "must be ascending or descending".into(),
                });
            }
        };
        let Some(sort_by) = sort_by else { return Ok(None) };
        let resolved = resource
            .resolve(sort_by)
            .filter(|r| r.attribute.column.is_some() && !r.parent.is_some_and(|p| p.multi_valued))
            .ok_or_else(|| Problem::InvalidParameter {
                parameter: "sortBy",
                reason: format!("\"{sort_by}\" is not a sortable attribute"),
            })?;
        Ok(Some(Sort { parent: resolved.parent, attribute: resolved.attribute, order }))
    }

    /// The SQL `ORDER BY` list: the attribute, then `id` in the same direction, so ties have a
    /// stable order and one index (which ends in the rowid) serves both. Resources without a
    /// value come last ascending and first descending (RFC 7644 §3.4.2.3), the opposite of
    /// SQLite's own order; SQLite still walks the attribute's index for it.
    pub fn order_by_sql(sort: Option<&Sort>) -> String {
        match sort {
            None => "id ASC".to_owned(),
            Some(sort) => {
                let direction = match sort.order {
                    SortOrder::Ascending => "ASC NULLS LAST",
                    SortOrder::Descending => "DESC NULLS FIRST",
                };
                let id = match sort.order {
                    SortOrder::Ascending => "ASC",
                    SortOrder::Descending => "DESC",
                };
                let column = sort.attribute.column.unwrap_or("id");
                format!("{column} {direction}, id {id}")
            }
        }
    }

    /// The order [`Sort::order_by_sql`] gives, for resources in memory (their JSON form; the
    /// evaluator's side of the SQL agreement test): values compare as SQLite compares the column
    /// (text byte-wise, numbers and times numerically), absent values go last ascending and
    /// first descending, ties go by `id` in the sort's direction.
    pub fn compare(sort: Option<&Sort>, a: &Value, b: &Value) -> Ordering {
        let by_id = numeric_id(a).cmp(&numeric_id(b));
        let Some(sort) = sort else { return by_id };
        let by_value = match (sort.read(a), sort.read(b)) {
            (AttrValue::Absent, AttrValue::Absent) => Ordering::Equal,
            // Absent after present ascending; reversing below puts it first descending.
            (AttrValue::Absent, _) => Ordering::Greater,
            (_, AttrValue::Absent) => Ordering::Less,
            (AttrValue::Int(x), AttrValue::Int(y)) => x.cmp(&y),
            (AttrValue::Text(x), AttrValue::Text(y)) => x.cmp(y),
            // SQLite orders every number before every text; one column never holds both here.
            (AttrValue::Int(_), AttrValue::Text(_)) => Ordering::Less,
            (AttrValue::Text(_), AttrValue::Int(_)) => Ordering::Greater,
        };
        let ordering = by_value.then(by_id);
        match sort.order {
            SortOrder::Ascending => ordering,
            SortOrder::Descending => ordering.reverse(),
        }
    }
}

impl Sort {
    fn read<'v>(&self, resource: &'v Value) -> AttrValue<'v> {
        match self.parent {
            None => self.attribute.read(resource),
            Some(parent) => resource.get(parent.name).map_or(AttrValue::Absent, |p| self.attribute.read(p)),
        }
    }
}

/// A resource's `id` as the integer it is stored as (a User's is its decimal text).
fn numeric_id(resource: &Value) -> i64 {
    match resource.get("id") {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

/// An attribute named in `attributes` / `excludedAttributes`, by its canonical names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Named {
    pub top: &'static str,
    pub sub: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Projection {
    Default,
    Only(&'static Resource, Vec<Named>),
    Except(&'static Resource, Vec<Named>),
}

fn resolve_names<'a>(
    resource: &'static Resource,
    names: impl Iterator<Item = &'a str>,
) -> Result<Vec<Named>, Problem> {
    let names: Vec<&str> = names.map(str::trim).filter(|n| !n.is_empty()).collect();
    if names.len() > MAX_PROJECTED {
        return Err(Problem::InvalidParameter {
            parameter: "attributes",
            reason: format!("at most {MAX_PROJECTED} names"),
        });
    }
    // Names of other schemas (a client asking for `userName`) select nothing, as RFC 7644 lets them.
    Ok(names
        .into_iter()
        .filter_map(|name| {
            let resolved = resource.resolve(name)?;
            Some(match resolved.parent {
                None => Named { top: resolved.attribute.name, sub: None },
                Some(parent) => Named { top: parent.name, sub: Some(resolved.attribute.name) },
            })
        })
        .collect())
}

impl Projection {
    /// From the comma-separated query parameters.
    pub fn parse(
        resource: &'static Resource,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Projection, Problem> {
        Self::from_lists(
            resource,
            attributes.map(|a| a.split(',').collect()),
            excluded.map(|e| e.split(',').collect()),
        )
    }

    /// From lists (a SearchRequest's `attributes` / `excludedAttributes`).
    pub fn from_lists(
        resource: &'static Resource,
        attributes: Option<Vec<&str>>,
        excluded: Option<Vec<&str>>,
    ) -> Result<Projection, Problem> {
        match (attributes, excluded) {
            (Some(_), Some(_)) => Err(Problem::InvalidParameter {
                parameter: "attributes",
                reason: "give attributes or excludedAttributes, not both".into(),
            }),
            (Some(names), None) => {
                Ok(Projection::Only(resource, resolve_names(resource, names.into_iter())?))
            }
            (None, Some(names)) => {
                Ok(Projection::Except(resource, resolve_names(resource, names.into_iter())?))
            }
            (None, None) => Ok(Projection::Default),
        }
    }

    /// Trims a serialized resource in place. `id`, `schemas` and `meta.resourceType` always stay.
    pub fn apply(&self, object: &mut Map<String, Value>) {
        let Some((resource, names, keep_named)) = (match self {
            Projection::Default => None,
            Projection::Only(resource, names) => Some((resource, names, true)),
            Projection::Except(resource, names) => Some((resource, names, false)),
        }) else {
            return;
        };
        object.retain(|key, value| {
            let Some(attribute) = resource.attribute(key) else {
                return key == "schemas";
            };
            if attribute.returned == Returned::Always {
                return true;
            }
            let whole = names.iter().any(|n| n.top == attribute.name && n.sub.is_none());
            let keep_sub = |sub: &str| {
                let always =
                    attribute.sub_attributes.iter().any(|a| a.name == sub && a.returned == Returned::Always);
                let named = whole || names.iter().any(|n| n.top == attribute.name && n.sub == Some(sub));
                always || named == keep_named
            };
            match value {
                Value::Object(members) if !attribute.sub_attributes.is_empty() => {
                    members.retain(|sub, _| keep_sub(sub));
                    !members.is_empty()
                }
                // A multi-valued complex attribute: the same choice in each entry.
                Value::Array(entries) if !attribute.sub_attributes.is_empty() => {
                    for entry in entries.iter_mut() {
                        if let Value::Object(members) = entry {
                            members.retain(|sub, _| keep_sub(sub));
                        }
                    }
                    entries.retain(|e| e.as_object().is_none_or(|m| !m.is_empty()));
                    !entries.is_empty()
                }
                _ => whole == keep_named,
            }
        });
    }
}
