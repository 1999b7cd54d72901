//! Every call the app makes to the SCIM API, in one place. Credentials live in memory and in
//! this tab's sessionStorage (never localStorage), so a reload keeps the session and closing the
//! tab or signing out forgets it.

use gloo_net::http::{Request, RequestBuilder, Response};
use serde_json::Value;
use shared::audit::{AuditEvent, AuditHistogram};
use shared::authenticator::Authenticator;
use shared::model::{ChallengeRequested, ChallengeResult, ListResponse};
use shared::oath_device::{DeviceCounts, DeviceImportResult, OathDevice};
use shared::policy::Policy;
use shared::{OtpDevice, User};

const STORAGE_KEY: &str = "scim-otp-session";

/// A call's answer, to await.
pub type Answer<T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, ApiError>>>>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The API base the admin signed in with (`https://host/scim/v2`), no trailing slash.
    pub root: String,
    /// The tenant the screens work on, once one is picked.
    pub tenant: Option<String>,
    /// Where the picked tenant's resources are (`https://host/scim/{tenant}/v2`); `root` until
    /// one is picked.
    pub base: String,
    pub user: String,
    authorization: String,
}

/// `value` encoded for a query string, by the browser (`encodeURIComponent`).
pub fn query_value(value: &str) -> String {
    js_sys::encode_uri_component(value).into()
}

/// A PATCH that replaces `values` (RFC 7644 §3.5.2.3, no path).
fn replace_values(values: Value) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": values}],
    })
}

/// The part of an API base before its SCIM path: `https://host` of `https://host/scim/v2`,
/// `/soffid/webservice/scim2/v1` or `/scim/{tenant}/v2` (SPEC §3, §16).
fn service_prefix(root: &str) -> Option<&str> {
    root.strip_suffix("/scim/v2")
        .or_else(|| root.strip_suffix("/soffid/webservice/scim2/v1"))
        .or_else(|| root.strip_suffix("/v2")?.rsplit_once("/scim/").map(|(prefix, _)| prefix))
}

/// The base of `tenant`'s resources for an API signed in at `root`; `None` when `root` is not one
/// of the service's base paths (then there is only `root`).
pub fn tenant_base(root: &str, tenant: &str) -> Option<String> {
    service_prefix(root).map(|prefix| format!("{prefix}/scim/{tenant}/v2"))
}

/// The tenant whose base `root` is, when it names one (`/scim/acme/v2`).
pub fn tenant_of(root: &str) -> Option<&str> {
    let tenant = root.strip_suffix("/v2")?.rsplit_once("/scim/")?.1;
    (!tenant.is_empty() && !tenant.contains('/')).then_some(tenant)
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Tenant {
    pub name: String,
}

/// Why a call failed, in words for the admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The API answered with a SCIM error: its status and localised `detail`.
    Scim { status: u16, detail: String },
    /// No answer: unreachable, or blocked by the browser (CORS) when the API is on another origin.
    Network { cross_origin: bool },
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Scim { status, .. } => Some(*status),
            ApiError::Network { .. } => None,
        }
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// The origin this app was served from.
pub fn own_origin() -> String {
    web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default()
}

/// The API base the sign-in form proposes: this origin's `/scim/v2`, or the last one used in this tab.
pub fn default_base() -> String {
    storage()
        .and_then(|s| s.get_item(&format!("{STORAGE_KEY}-base")).ok().flatten())
        .unwrap_or_else(|| format!("{}/scim/v2", own_origin()))
}

impl Session {
    pub fn new(base: &str, user: &str, password: &str) -> Session {
        let token = data_encoding::BASE64.encode(format!("{user}:{password}").as_bytes());
        let root = base.trim().trim_end_matches('/').to_owned();
        Session {
            tenant: tenant_of(&root).map(str::to_owned),
            base: root.clone(),
            root,
            user: user.to_owned(),
            authorization: format!("Basic {token}"),
        }
    }

    /// The same sign-in, on the base it was made with until a tenant is picked.
    pub fn without_tenant(&self) -> Session {
        Session { tenant: None, base: self.root.clone(), ..self.clone() }
    }

    /// The same sign-in, working on `tenant`.
    pub fn with_tenant(&self, tenant: &str) -> Session {
        Session {
            tenant: Some(tenant.to_owned()),
            base: tenant_base(&self.root, tenant).unwrap_or_else(|| self.root.clone()),
            ..self.clone()
        }
    }

    pub fn restore() -> Option<Session> {
        let text = storage()?.get_item(STORAGE_KEY).ok()??;
        let value: Value = serde_json::from_str(&text).ok()?;
        let session = Session {
            root: value["root"].as_str()?.to_owned(),
            tenant: None,
            base: String::new(),
            user: value["user"].as_str()?.to_owned(),
            authorization: value["authorization"].as_str()?.to_owned(),
        };
        Some(match value["tenant"].as_str() {
            Some(tenant) => session.with_tenant(tenant),
            None => Session { base: session.root.clone(), ..session },
        })
    }

    /// Kept for this tab: the sign-in, the tenant picked, and the base URL the form proposes.
    pub fn save(&self) {
        if let Some(s) = storage() {
            let value = serde_json::json!({
                "root": self.root, "tenant": self.tenant, "user": self.user, "authorization": self.authorization,
            });
            let _ = s.set_item(STORAGE_KEY, &value.to_string());
            let _ = s.set_item(&format!("{STORAGE_KEY}-base"), &self.root);
        }
    }

    pub fn forget() {
        if let Some(s) = storage() {
            let _ = s.remove_item(STORAGE_KEY);
        }
    }

    fn cross_origin(&self) -> bool {
        !self.base.starts_with(&own_origin())
    }

    fn builder(&self, method: &str, path: &str) -> RequestBuilder {
        let url = format!("{}{path}", self.base);
        let builder = match method {
            "POST" => Request::post(&url),
            "PUT" => Request::put(&url),
            "PATCH" => Request::patch(&url),
            "DELETE" => Request::delete(&url),
            _ => Request::get(&url),
        };
        builder.header("Authorization", &self.authorization).header("Accept", "application/scim+json")
    }

    /// Sends a request; the answer when it is a success, else the SCIM error in words. Boxed, as
    /// every call is: the app's many async blocks hold a pointer to it instead of a copy of it.
    fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Answer<Response> {
        let mut builder = self.builder(method, path);
        if let Some(version) = if_match {
            builder = builder.header("If-Match", version);
        }
        let network = ApiError::Network { cross_origin: self.cross_origin() };
        let request = match body {
            Some(body) => builder.header("Content-Type", "application/scim+json").body(body.to_string()),
            None => builder.build(),
        };
        Box::pin(async move {
            let response = request.map_err(|_| network.clone())?.send().await.map_err(|_| network)?;
            if response.ok() {
                return Ok(response);
            }
            let status = response.status();
            let detail = response
                .json::<Value>()
                .await
                .ok()
                .and_then(|v| v["detail"].as_str().map(str::to_owned))
                .unwrap_or_else(|| format!("HTTP {status}"));
            Err(ApiError::Scim { status, detail })
        })
    }

    /// Sends a request whose answer's body does not matter.
    fn done(&self, method: &str, path: &str, body: Option<&Value>, if_match: Option<&str>) -> Answer<()> {
        let sent = self.send(method, path, body, if_match);
        Box::pin(async move { sent.await.map(|_| ()) })
    }

    /// The body of a successful answer, with its status.
    fn text(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Answer<(u16, String)> {
        let sent = self.send(method, path, body, if_match);
        Box::pin(async move {
            let response = sent.await?;
            let status = response.status();
            let text = response.text().await.map_err(|e| ApiError::Scim { status, detail: e.to_string() })?;
            Ok((status, text))
        })
    }

    /// A successful answer read as `T`. Only the reading is per type: the request is shared.
    fn json<T: serde::de::DeserializeOwned + 'static>(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Answer<T> {
        let answer = self.text(method, path, body, if_match);
        Box::pin(async move {
            let (status, text) = answer.await?;
            serde_json::from_str(&text).map_err(|e| ApiError::Scim { status, detail: e.to_string() })
        })
    }

    /// Checks the credentials (and, cross-origin, that CORS lets this site in).
    pub fn sign_in(&self) -> Answer<()> {
        self.done("GET", "/ServiceProviderConfig", None, None)
    }

    /// The tenants this sign-in may use (`GET /Tenants` on the service's own base path).
    pub fn tenants(&self) -> Answer<Vec<Tenant>> {
        let own = Session {
            base: service_prefix(&self.root).map_or_else(|| self.root.clone(), |p| format!("{p}/scim/v2")),
            ..self.clone()
        };
        let list = own.json::<ListResponse<Tenant>>("GET", "/Tenants", None, None);
        Box::pin(async move { Ok(list.await?.resources) })
    }

    /// A page of the tenant's audit trail.
    pub fn audit_events(&self, query: &str) -> Answer<ListResponse<AuditEvent>> {
        self.json("GET", &format!("/Audit?{query}"), None, None)
    }

    /// The tenant's audit events counted per interval and action.
    pub fn audit_histogram(&self, query: &str) -> Answer<AuditHistogram> {
        self.json("GET", &format!("/Audit/.histogram?{query}"), None, None)
    }

    pub fn list(&self, query: &str) -> Answer<ListResponse<OtpDevice>> {
        self.json("GET", &format!("/OtpDevice?{query}"), None, None)
    }

    pub fn create(&self, body: &Value) -> Answer<OtpDevice> {
        self.json("POST", "/OtpDevice", Some(body), None)
    }

    /// PATCH with `If-Match`: a 412 means someone else changed the device first.
    pub fn patch(&self, device: &OtpDevice, values: Value) -> Answer<OtpDevice> {
        let body = replace_values(values);
        self.json("PATCH", &format!("/OtpDevice/{}", device.id), Some(&body), Some(&device.meta.version))
    }

    /// How many resources at `endpoint` (`/OtpDevice`, `/Authenticator`) match `filter`.
    pub fn count(&self, endpoint: &str, filter: &str) -> Answer<u64> {
        let filter = query_value(filter);
        let list = self.json::<ListResponse<Value>>(
            "GET",
            &format!("{endpoint}?count=0&filter={filter}"),
            None,
            None,
        );
        Box::pin(async move { Ok(list.await?.total_results) })
    }

    /// A page of the tenant's TOTP and HOTP devices, tokens in stock included (`/Device`).
    pub fn oath_devices(&self, query: &str) -> Answer<ListResponse<OathDevice>> {
        self.json("GET", &format!("/Device?{query}"), None, None)
    }

    /// The devices `filter` matches counted per manufacturer, model and status.
    pub fn device_counts(&self, filter: Option<&str>) -> Answer<DeviceCounts> {
        let query = filter.map(|f| format!("?filter={}", query_value(f))).unwrap_or_default();
        self.json("GET", &format!("/Device/.counts{query}"), None, None)
    }

    /// Hands a token out to a userName (`Some`) or takes it back (`None`), with `If-Match`.
    pub fn set_owner(&self, device: &OathDevice, user_name: Option<&str>) -> Answer<()> {
        let operation = match user_name {
            Some(name) => serde_json::json!({"op": "add", "path": "owner", "value": {"display": name}}),
            None => serde_json::json!({"op": "remove", "path": "owner"}),
        };
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [operation],
        });
        self.done("PATCH", &format!("/Device/{}", device.id), Some(&body), Some(&device.meta.version))
    }

    /// Deletes a token in stock (its seed with it).
    pub fn delete_oath_device(&self, device: &OathDevice) -> Answer<()> {
        self.done("DELETE", &format!("/Device/{}", device.id), None, Some(&device.meta.version))
    }

    /// Brings a token's counter or clock back in step with two consecutive codes.
    pub fn resync(&self, id: &str, codes: [&str; 2]) -> Answer<()> {
        let body = serde_json::json!({"codes": codes});
        self.done("POST", &format!("/Device/{id}/resync"), Some(&body), None)
    }

    /// Imports a seed file (or, with `dryRun`, says what an import would do).
    pub fn import_seeds(&self, body: &Value) -> Answer<DeviceImportResult> {
        self.json("POST", "/Device/.import", Some(body), None)
    }

    /// The devices `filter` matches as a PSKC document under `password`.
    pub fn export_seeds(&self, password: &str, filter: Option<&str>) -> Answer<String> {
        let body = serde_json::json!({
            "schemas": [shared::oath_device::DEVICE_EXPORT_SCHEMA], "password": password, "filter": filter,
        });
        let answer = self.text("POST", "/Device/.export", Some(&body), None);
        Box::pin(async move { Ok(answer.await?.1) })
    }

    /// A page of any list (`/Users`), each resource as the JSON it came in.
    pub fn resources(&self, endpoint: &str, query: &str) -> Answer<ListResponse<Value>> {
        self.json("GET", &format!("{endpoint}?{query}"), None, None)
    }

    pub fn users(&self, query: &str) -> Answer<ListResponse<User>> {
        self.json("GET", &format!("/Users?{query}"), None, None)
    }

    pub fn create_user(&self, body: &Value) -> Answer<User> {
        self.json("POST", "/Users", Some(body), None)
    }

    /// PUT with `If-Match`: a 412 means someone else changed the user first.
    pub fn replace_user(&self, user: &User, body: &Value) -> Answer<User> {
        self.json("PUT", &format!("/Users/{}", user.id), Some(body), Some(&user.meta.version))
    }

    pub fn patch_user(&self, user: &User, values: Value) -> Answer<User> {
        let body = replace_values(values);
        self.json("PATCH", &format!("/Users/{}", user.id), Some(&body), Some(&user.meta.version))
    }

    pub fn policies(&self, query: &str) -> Answer<ListResponse<Policy>> {
        self.json("GET", &format!("/Policy/Authenticator?{query}"), None, None)
    }

    pub fn create_policy(&self, body: &Value) -> Answer<Policy> {
        self.json("POST", "/Policy/Authenticator", Some(body), None)
    }

    pub fn replace_policy(&self, policy: &Policy, body: &Value) -> Answer<Policy> {
        let path = format!("/Policy/Authenticator/{}", policy.id);
        self.json("PUT", &path, Some(body), Some(&policy.meta.version))
    }

    /// A 409 when authenticators still use it (the detail says how many).
    pub fn delete_policy(&self, policy: &Policy) -> Answer<()> {
        let path = format!("/Policy/Authenticator/{}", policy.id);
        self.done("DELETE", &path, None, Some(&policy.meta.version))
    }

    pub fn user(&self, id: &str) -> Answer<User> {
        self.json("GET", &format!("/Users/{id}"), None, None)
    }

    pub fn authenticators(&self, query: &str) -> Answer<ListResponse<Authenticator>> {
        self.json("GET", &format!("/Authenticator?{query}"), None, None)
    }

    /// Enables or disables an authenticator (`status.status`), with `If-Match`.
    pub fn set_authenticator_enabled(&self, authenticator: &Authenticator, enabled: bool) -> Answer<()> {
        let value = if enabled { "ENABLED" } else { "DISABLED" };
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "status.status", "value": value}],
        });
        let path = format!("/Authenticator/{}", authenticator.id);
        self.done("PATCH", &path, Some(&body), Some(&authenticator.meta.version))
    }

    /// New validity dates (RFC 3339; no expiry when `None`), with `If-Match`; the rest is kept.
    pub fn set_authenticator_dates(
        &self,
        authenticator: &Authenticator,
        start: &str,
        expiry: Option<&str>,
    ) -> Answer<()> {
        let body = serde_json::json!({"status": {"startDate": start, "expiryDate": expiry}});
        let path = format!("/Authenticator/{}", authenticator.id);
        self.done("PUT", &path, Some(&body), Some(&authenticator.meta.version))
    }

    /// A named action (RESET, USER-CHALLENGE, VERIFY) with its attributes, answered with its
    /// `REQUEST.STATUS` (RESET: with the authenticator).
    pub fn authenticator_action(
        &self,
        id: &str,
        action: &str,
        attributes: &[(String, String)],
    ) -> Answer<Value> {
        let attributes: Vec<Value> = attributes
            .iter()
            .map(|(name, value)| serde_json::json!({"name": name, "value": value}))
            .collect();
        let body = serde_json::json!({
            "schemas": [shared::authenticator::ACTION_SCHEMA],
            shared::authenticator::ACTION_SCHEMA: {"action": action, "attributes": attributes},
        });
        self.json("POST", &format!("/Authenticator/{id}"), Some(&body), None)
    }

    /// Enrols an authenticator (a create, or REGISTER-OOB): the answer carries what is shown
    /// once (the QR code and URI, or the activation code) in its Enrollment extension.
    pub fn create_authenticator(&self, body: &Value) -> Answer<Authenticator> {
        self.json("POST", "/Authenticator", Some(body), None)
    }

    pub fn delete_authenticator(&self, authenticator: &Authenticator) -> Answer<()> {
        let path = format!("/Authenticator/{}", authenticator.id);
        self.done("DELETE", &path, None, Some(&authenticator.meta.version))
    }

    /// Deletes the user with their devices and authenticators (SPEC §17).
    pub fn delete_user(&self, user: &User) -> Answer<()> {
        self.done("DELETE", &format!("/Users/{}", user.id), None, Some(&user.meta.version))
    }

    pub fn delete(&self, device: &OtpDevice) -> Answer<()> {
        self.done("DELETE", &format!("/OtpDevice/{}", device.id), None, Some(&device.meta.version))
    }

    pub fn request_challenge(&self, id: i64) -> Answer<ChallengeRequested> {
        self.json("POST", &format!("/OtpDevice/{id}/requestChallenge"), None, None)
    }

    pub fn respond(&self, id: i64, code: &str) -> Answer<ChallengeResult> {
        self.json(
            "POST",
            &format!("/OtpDevice/{id}/responseChallenge"),
            Some(&serde_json::json!({"pin": code})),
            None,
        )
    }

    pub fn get(&self, id: i64) -> Answer<OtpDevice> {
        self.json("GET", &format!("/OtpDevice/{id}"), None, None)
    }

    pub fn audit(&self, id: i64) -> Answer<Value> {
        self.json("GET", &format!("/OtpDevice/{id}/audit"), None, None)
    }

    /// The newest dev-outbox message to any of `devices` (the outbox lists newest first), when
    /// the API has the outbox on.
    pub fn outbox_message(&self, devices: Vec<i64>) -> Answer<Option<String>> {
        let list = self.json::<Value>("GET", "/Outbox", None, None);
        Box::pin(async move {
            let list = list.await?;
            let messages = list["Resources"].as_array().map(Vec::as_slice).unwrap_or_default();
            Ok(messages
                .iter()
                .find(|m| m["deviceId"].as_i64().is_some_and(|d| devices.contains(&d)))
                .and_then(|m| m["message"].as_str().map(str::to_owned)))
        })
    }
}
