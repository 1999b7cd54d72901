//! List query parameters: paging, sorting and attribute projection (RFC 7644 §3.4.2.3-5).

use crate::error::Problem;
use crate::model::OtpDevice;
use crate::schema::{self, Attribute, Returned, Value as AttrValue};
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
    pub attribute: &'static Attribute,
    pub order: SortOrder,
}

impl Sort {
    /// `sortBy` any attribute with a column; `sortOrder` `ascending` (default) or `descending`.
    pub fn parse(sort_by: Option<&str>, sort_order: Option<&str>) -> Result<Option<Sort>, Problem> {
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
        let attribute = schema::resolve_path(sort_by).filter(|a| a.column.is_some()).ok_or_else(|| {
            Problem::InvalidParameter {
                parameter: "sortBy",
                reason: format!("\"{sort_by}\" is not a sortable attribute"),
            }
        })?;
        Ok(Some(Sort { attribute, order }))
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

    /// The order [`Sort::order_by_sql`] gives, for devices in memory (the evaluator's side of
    /// the SQL agreement test): values compare as SQLite compares the column (text byte-wise,
    /// numbers and times numerically), absent values go last ascending and first descending,
    /// ties go by `id` in the sort's direction.
    pub fn compare(sort: Option<&Sort>, a: &OtpDevice, b: &OtpDevice) -> Ordering {
        let Some(sort) = sort else { return a.id.cmp(&b.id) };
        let by_value = match ((sort.attribute.read)(a), (sort.attribute.read)(b)) {
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
        let ordering = by_value.then(a.id.cmp(&b.id));
        match sort.order {
            SortOrder::Ascending => ordering,
            SortOrder::Descending => ordering.reverse(),
        }
    }
}

/// An attribute named in `attributes` / `excludedAttributes`, by its canonical names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Named {
    pub top: &'static str,
    pub sub: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Projection {
    #[default]
    Default,
    Only(Vec<Named>),
    Except(Vec<Named>),
}

fn resolve_names<'a>(names: impl Iterator<Item = &'a str>) -> Result<Vec<Named>, Problem> {
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
            let path = schema::strip_schema_urn(name);
            let (top, sub) = match path.split_once('.') {
                Some((top, sub)) => (schema::attribute(top)?, Some(sub)),
                None => (schema::attribute(path)?, None),
            };
            let sub = match sub {
                None => None,
                Some(sub) => Some(top.sub_attributes.iter().find(|a| a.name.eq_ignore_ascii_case(sub))?.name),
            };
            Some(Named { top: top.name, sub })
        })
        .collect())
}

impl Projection {
    /// From the comma-separated query parameters.
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Result<Projection, Problem> {
        Self::from_lists(attributes.map(|a| a.split(',').collect()), excluded.map(|e| e.split(',').collect()))
    }

    /// From lists (a SearchRequest's `attributes` / `excludedAttributes`).
    pub fn from_lists(
        attributes: Option<Vec<&str>>,
        excluded: Option<Vec<&str>>,
    ) -> Result<Projection, Problem> {
        match (attributes, excluded) {
            (Some(_), Some(_)) => Err(Problem::InvalidParameter {
                parameter: "attributes",
                reason: "give attributes or excludedAttributes, not both".into(),
            }),
            (Some(names), None) => Ok(Projection::Only(resolve_names(names.into_iter())?)),
            (None, Some(names)) => Ok(Projection::Except(resolve_names(names.into_iter())?)),
            (None, None) => Ok(Projection::Default),
        }
    }

    /// Trims a serialized device in place. `id`, `schemas` and `meta.resourceType` always stay.
    pub fn apply(&self, resource: &mut Map<String, Value>) {
        let Some((names, keep_named)) = (match self {
            Projection::Default => None,
            Projection::Only(names) => Some((names, true)),
            Projection::Except(names) => Some((names, false)),
        }) else {
            return;
        };
        resource.retain(|key, value| {
            let Some(attribute) = schema::attribute(key) else {
                return key == "schemas";
            };
            if attribute.returned == Returned::Always {
                return true;
            }
            let whole = names.iter().any(|n| n.top == attribute.name && n.sub.is_none());
            match value {
                Value::Object(members) if !attribute.sub_attributes.is_empty() => {
                    members.retain(|sub, _| {
                        let always = attribute
                            .sub_attributes
                            .iter()
                            .any(|a| a.name == sub && a.returned == Returned::Always);
                        let named = whole
                            || names.iter().any(|n| n.top == attribute.name && n.sub == Some(sub.as_str()));
                        always || named == keep_named
                    });
                    !members.is_empty()
                }
                _ => whole == keep_named,
            }
        });
    }
}
