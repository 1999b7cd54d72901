//! Every schema and message URN the service speaks, in one leaf module: the attribute tables
//! (`schema`) and the resource modules both name them from here.

pub const DEVICE_SCHEMA: &str = "urn:soffid:com.soffid.iam.addons.otp.common.OtpDevice";
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const AUTHENTICATOR_SCHEMA: &str = "urn:hid:scim:api:idp:2.0:Authenticator";
pub const PASSWORD_SCHEMA: &str = "urn:hid:scim:api:idp:2.0:Password";
pub const SECURITY_QUESTION_SCHEMA: &str = "urn:hid:scim:api:idp:2.0:SecurityQuestion";
pub const ACTION_SCHEMA: &str = "urn:hid:scim:api:idp:2.0:Action";
pub const ENROLLMENT_SCHEMA: &str = "urn:scim-otp:params:scim:schemas:extension:Enrollment";
pub const AUDIT_SCHEMA: &str = "urn:scim-otp:params:scim:schemas:AuditEvent";
pub const AUDIT_HISTOGRAM_SCHEMA: &str = "urn:scim-otp:params:scim:api:messages:AuditHistogram";
pub const POLICY_SCHEMA: &str = "urn:scim-otp:params:scim:schemas:AuthenticatorPolicy";
pub const OATH_DEVICE_SCHEMA: &str = "urn:scim-otp:params:scim:schemas:Device";
pub const DEVICE_IMPORT_SCHEMA: &str = "urn:scim-otp:params:scim:api:messages:DeviceImport";
pub const DEVICE_IMPORT_RESULT_SCHEMA: &str = "urn:scim-otp:params:scim:api:messages:DeviceImportResult";
pub const DEVICE_COUNTS_SCHEMA: &str = "urn:scim-otp:params:scim:api:messages:DeviceCounts";
pub const DEVICE_EXPORT_SCHEMA: &str = "urn:scim-otp:params:scim:api:messages:DeviceExport";
