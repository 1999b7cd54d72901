//! Discovery documents (RFC 7643 §5-7): `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`.
//! The schema document is generated from the attribute table the API validates with.

use crate::authenticator::{ACTION_SCHEMA, Reason};
use crate::model::{RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA, SERVICE_PROVIDER_CONFIG_SCHEMA};
use crate::query::MAX_RESULTS;
use crate::schema::{ACTION_ATTRIBUTES, AttrType, Attribute, Resource};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocMeta {
    pub resource_type: String,
    pub location: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaAttribute {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub multi_valued: bool,
    pub description: String,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: String,
    pub returned: String,
    pub uniqueness: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub canonical_values: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_attributes: Vec<SchemaAttribute>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schema {
    pub schemas: Vec<String>,
    pub id: String,
    pub name: String,
    pub description: String,
    pub attributes: Vec<SchemaAttribute>,
    pub meta: DocMeta,
}

/// A schema cannot say "required for some types"; the description says it instead.
fn description(attribute: &Attribute) -> String {
    if attribute.required_for.is_empty() {
        return attribute.description.to_owned();
    }
    let types: Vec<&str> = attribute.required_for.iter().map(|t| t.as_str()).collect();
    format!("{} Required when type is {}.", attribute.description, types.join(" or "))
}

fn describe(attribute: &Attribute) -> SchemaAttribute {
    SchemaAttribute {
        name: attribute.name.to_owned(),
        kind: attribute.kind.as_str().to_owned(),
        multi_valued: attribute.multi_valued,
        description: description(attribute),
        required: attribute.required,
        case_exact: attribute.case_exact,
        mutability: attribute.mutability.as_str().to_owned(),
        returned: attribute.returned.as_str().to_owned(),
        uniqueness: attribute.uniqueness.as_str().to_owned(),
        canonical_values: attribute.canonical_values.iter().map(|v| (*v).to_owned()).collect(),
        reference_types: match attribute.kind {
            AttrType::Reference => vec!["uri".to_owned()],
            _ => Vec::new(),
        },
        sub_attributes: attribute.sub_attributes.iter().map(describe).collect(),
    }
}

/// A resource's schema; `base_url` ends without a slash (`https://host/scim/v2`).
pub fn schema(resource: &Resource, base_url: &str) -> Schema {
    Schema {
        schemas: vec![SCHEMA_SCHEMA.to_owned()],
        id: resource.schema.to_owned(),
        name: resource.name.to_owned(),
        description: resource.description.to_owned(),
        attributes: resource.core_attributes().map(describe).collect(),
        meta: schema_meta(resource.schema, base_url),
    }
}

fn schema_meta(id: &str, base_url: &str) -> DocMeta {
    DocMeta { resource_type: "Schema".to_owned(), location: format!("{base_url}/Schemas/{id}") }
}

/// A schema extension's own schema: its attributes are the extension attribute's.
fn extension_schema(extension: &Attribute, base_url: &str) -> Schema {
    Schema {
        schemas: vec![SCHEMA_SCHEMA.to_owned()],
        id: extension.name.to_owned(),
        name: extension.name.rsplit(':').next().unwrap_or(extension.name).to_owned(),
        description: extension.description.to_owned(),
        attributes: extension.sub_attributes.iter().map(describe).collect(),
        meta: schema_meta(extension.name, base_url),
    }
}

/// The schema of HID's named actions (SPEC §14), with the reason codes an answer carries.
fn action_schema(base_url: &str) -> Schema {
    let reasons: Vec<String> = Reason::ALL.iter().map(|r| format!("{} {}", r.code(), r.meaning())).collect();
    Schema {
        schemas: vec![SCHEMA_SCHEMA.to_owned()],
        id: ACTION_SCHEMA.to_owned(),
        name: "Action".to_owned(),
        description: format!(
            "A named action on an Authenticator (POST /Authenticator/{{id}}). Its answer's attributes \
             carry REQUEST.STATUS (1 done, 0 refused) and REQUEST.REASON: -1 when done, else {}.",
            reasons.join(", ")
        ),
        attributes: ACTION_ATTRIBUTES.iter().map(describe).collect(),
        meta: schema_meta(ACTION_SCHEMA, base_url),
    }
}

/// Every schema `/Schemas` serves: each resource's, its extensions', and the action schema.
pub fn schemas(resources: &[&Resource], base_url: &str) -> Vec<Schema> {
    let mut all = Vec::new();
    for resource in resources {
        all.push(schema(resource, base_url));
        all.extend(resource.extensions().map(|e| extension_schema(e, base_url)));
    }
    all.push(action_schema(base_url));
    all
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceType {
    pub schemas: Vec<String>,
    pub id: String,
    pub name: String,
    pub endpoint: String,
    pub description: String,
    pub schema: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schema_extensions: Vec<SchemaExtension>,
    pub meta: DocMeta,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaExtension {
    pub schema: String,
    pub required: bool,
}

pub fn resource_type(resource: &Resource, base_url: &str) -> ResourceType {
    ResourceType {
        schemas: vec![RESOURCE_TYPE_SCHEMA.to_owned()],
        id: resource.name.to_owned(),
        name: resource.name.to_owned(),
        endpoint: resource.endpoint.to_owned(),
        description: resource.description.to_owned(),
        schema: resource.schema.to_owned(),
        schema_extensions: resource
            .extensions()
            .map(|e| SchemaExtension { schema: e.name.to_owned(), required: false })
            .collect(),
        meta: DocMeta {
            resource_type: "ResourceType".to_owned(),
            location: format!("{base_url}/ResourceTypes/{}", resource.name),
        },
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Supported {
    pub supported: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkSupport {
    pub supported: bool,
    pub max_operations: u32,
    pub max_payload_size: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterSupport {
    pub supported: bool,
    pub max_results: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationScheme {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub description: String,
    pub primary: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceProviderConfig {
    pub schemas: Vec<String>,
    pub patch: Supported,
    pub bulk: BulkSupport,
    pub filter: FilterSupport,
    pub change_password: Supported,
    pub sort: Supported,
    pub etag: Supported,
    pub authentication_schemes: Vec<AuthenticationScheme>,
    pub meta: DocMeta,
}

/// What works, exactly (SPEC §7): Bearer is listed only when API tokens are configured.
pub fn service_provider_config(base_url: &str, bearer_enabled: bool) -> ServiceProviderConfig {
    let mut schemes = vec![AuthenticationScheme {
        kind: "httpbasic".to_owned(),
        name: "HTTP Basic".to_owned(),
        description: "User name and password of a principal with scim:invoke or scim:admin".to_owned(),
        primary: true,
    }];
    if bearer_enabled {
        schemes.push(AuthenticationScheme {
            kind: "oauthbearertoken".to_owned(),
            name: "Bearer API token".to_owned(),
            description: "A static API token, stored hashed by the service".to_owned(),
            primary: false,
        });
    }
    let yes = Supported { supported: true };
    let no = Supported { supported: false };
    ServiceProviderConfig {
        schemas: vec![SERVICE_PROVIDER_CONFIG_SCHEMA.to_owned()],
        patch: yes,
        bulk: BulkSupport { supported: false, max_operations: 0, max_payload_size: 0 },
        filter: FilterSupport { supported: true, max_results: MAX_RESULTS },
        change_password: no,
        sort: yes,
        etag: yes,
        authentication_schemes: schemes,
        meta: DocMeta {
            resource_type: "ServiceProviderConfig".to_owned(),
            location: format!("{base_url}/ServiceProviderConfig"),
        },
    }
}
