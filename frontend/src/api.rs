//! Every call the app makes to the SCIM API, in one place. Credentials live in memory and in
//! this tab's sessionStorage (never localStorage), so a reload keeps the session and closing the
//! tab or signing out forgets it.

use gloo_net::http::{Request, RequestBuilder, Response};
use serde_json::Value;
use shared::audit::{AuditEvent, AuditHistogram};
use shared::authenticator::Authenticator;
use shared::model::{ChallengeRequested, ChallengeResult, ListResponse};
use shared::policy::Policy;
use shared::{OtpDevice, User};

const STORAGE_KEY: &str = "scim-otp-session";

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

    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<Response, ApiError> {
        let mut builder = self.builder(method, path);
        if let Some(version) = if_match {
            builder = builder.header("If-Match", version);
        }
        let network = ApiError::Network { cross_origin: self.cross_origin() };
        let request = match body {
            Some(body) => builder.header("Content-Type", "application/scim+json").body(body.to_string()),
            None => builder.build(),
        }
        .map_err(|_| network.clone())?;
        let response = request.send().await.map_err(|_| network)?;
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
    }

    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<T, ApiError> {
        let response = self.send(method, path, body, if_match).await?;
        response
            .json::<T>()
            .await
            .map_err(|e| ApiError::Scim { status: response.status(), detail: e.to_string() })
    }

    /// Checks the credentials (and, cross-origin, that CORS lets this site in).
    pub async fn sign_in(&self) -> Result<(), ApiError> {
        self.send("GET", "/ServiceProviderConfig", None, None).await.map(|_| ())
    }

    /// The tenants this sign-in may use (`GET /Tenants` on the service's own base path).
    pub async fn tenants(&self) -> Result<Vec<Tenant>, ApiError> {
        let own = Session {
            base: service_prefix(&self.root).map_or_else(|| self.root.clone(), |p| format!("{p}/scim/v2")),
            ..self.clone()
        };
        let list: ListResponse<Tenant> = own.json("GET", "/Tenants", None, None).await?;
        Ok(list.resources)
    }

    /// A page of the tenant's audit trail.
    pub async fn audit_events(&self, query: &str) -> Result<ListResponse<AuditEvent>, ApiError> {
        self.json("GET", &format!("/Audit?{query}"), None, None).await
    }

    /// The tenant's audit events counted per interval and action.
    pub async fn audit_histogram(&self, query: &str) -> Result<AuditHistogram, ApiError> {
        self.json("GET", &format!("/Audit/.histogram?{query}"), None, None).await
    }

    pub async fn list(&self, query: &str) -> Result<ListResponse<OtpDevice>, ApiError> {
        self.json("GET", &format!("/OtpDevice?{query}"), None, None).await
    }

    pub async fn create(&self, body: &Value) -> Result<OtpDevice, ApiError> {
        self.json("POST", "/OtpDevice", Some(body), None).await
    }

    /// PATCH with `If-Match`: a 412 means someone else changed the device first.
    pub async fn patch(&self, device: &OtpDevice, values: Value) -> Result<OtpDevice, ApiError> {
        let body = replace_values(values);
        self.json("PATCH", &format!("/OtpDevice/{}", device.id), Some(&body), Some(&device.meta.version))
            .await
    }

    /// How many resources at `endpoint` (`/OtpDevice`, `/Authenticator`) match `filter`.
    pub async fn count(&self, endpoint: &str, filter: &str) -> Result<u64, ApiError> {
        let filter = percent_encoding::utf8_percent_encode(filter, percent_encoding::NON_ALPHANUMERIC);
        let list: ListResponse<Value> =
            self.json("GET", &format!("{endpoint}?count=0&filter={filter}"), None, None).await?;
        Ok(list.total_results)
    }

    pub async fn users(&self, query: &str) -> Result<ListResponse<User>, ApiError> {
        self.json("GET", &format!("/Users?{query}"), None, None).await
    }

    pub async fn create_user(&self, body: &Value) -> Result<User, ApiError> {
        self.json("POST", "/Users", Some(body), None).await
    }

    /// PUT with `If-Match`: a 412 means someone else changed the user first.
    pub async fn replace_user(&self, user: &User, body: &Value) -> Result<User, ApiError> {
        self.json("PUT", &format!("/Users/{}", user.id), Some(body), Some(&user.meta.version)).await
    }

    pub async fn patch_user(&self, user: &User, values: Value) -> Result<User, ApiError> {
        let body = replace_values(values);
        self.json("PATCH", &format!("/Users/{}", user.id), Some(&body), Some(&user.meta.version)).await
    }

    pub async fn policies(&self, query: &str) -> Result<ListResponse<Policy>, ApiError> {
        self.json("GET", &format!("/Policy/Authenticator?{query}"), None, None).await
    }

    pub async fn create_policy(&self, body: &Value) -> Result<Policy, ApiError> {
        self.json("POST", "/Policy/Authenticator", Some(body), None).await
    }

    pub async fn replace_policy(&self, policy: &Policy, body: &Value) -> Result<Policy, ApiError> {
        let path = format!("/Policy/Authenticator/{}", policy.id);
        self.json("PUT", &path, Some(body), Some(&policy.meta.version)).await
    }

    /// A 409 when authenticators still use it (the detail says how many).
    pub async fn delete_policy(&self, policy: &Policy) -> Result<(), ApiError> {
        let path = format!("/Policy/Authenticator/{}", policy.id);
        self.send("DELETE", &path, None, Some(&policy.meta.version)).await.map(|_| ())
    }

    pub async fn user(&self, id: &str) -> Result<User, ApiError> {
        self.json("GET", &format!("/Users/{id}"), None, None).await
    }

    pub async fn authenticators(&self, query: &str) -> Result<ListResponse<Authenticator>, ApiError> {
        self.json("GET", &format!("/Authenticator?{query}"), None, None).await
    }

    /// Enables or disables an authenticator (`status.status`), with `If-Match`.
    pub async fn set_authenticator_enabled(
        &self,
        authenticator: &Authenticator,
        enabled: bool,
    ) -> Result<(), ApiError> {
        let value = if enabled { "ENABLED" } else { "DISABLED" };
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "status.status", "value": value}],
        });
        let path = format!("/Authenticator/{}", authenticator.id);
        self.send("PATCH", &path, Some(&body), Some(&authenticator.meta.version)).await.map(|_| ())
    }

    /// New validity dates (RFC 3339; no expiry when `None`), with `If-Match`; the rest is kept.
    pub async fn set_authenticator_dates(
        &self,
        authenticator: &Authenticator,
        start: &str,
        expiry: Option<&str>,
    ) -> Result<(), ApiError> {
        let body = serde_json::json!({"status": {"startDate": start, "expiryDate": expiry}});
        let path = format!("/Authenticator/{}", authenticator.id);
        self.send("PUT", &path, Some(&body), Some(&authenticator.meta.version)).await.map(|_| ())
    }

    /// A named action without attributes (RESET), answered with its `REQUEST.STATUS`.
    pub async fn authenticator_action(&self, id: &str, action: &str) -> Result<Value, ApiError> {
        let body = serde_json::json!({
            "schemas": [shared::authenticator::ACTION_SCHEMA],
            shared::authenticator::ACTION_SCHEMA: {"action": action, "attributes": []},
        });
        self.json("POST", &format!("/Authenticator/{id}"), Some(&body), None).await
    }

    pub async fn delete_authenticator(&self, authenticator: &Authenticator) -> Result<(), ApiError> {
        let path = format!("/Authenticator/{}", authenticator.id);
        self.send("DELETE", &path, None, Some(&authenticator.meta.version)).await.map(|_| ())
    }

    /// Deletes the user with their devices and authenticators (SPEC §17).
    pub async fn delete_user(&self, user: &User) -> Result<(), ApiError> {
        self.send("DELETE", &format!("/Users/{}", user.id), None, Some(&user.meta.version)).await.map(|_| ())
    }

    pub async fn delete(&self, device: &OtpDevice) -> Result<(), ApiError> {
        self.send("DELETE", &format!("/OtpDevice/{}", device.id), None, Some(&device.meta.version))
            .await
            .map(|_| ())
    }

    pub async fn request_challenge(&self, id: i64) -> Result<ChallengeRequested, ApiError> {
        self.json("POST", &format!("/OtpDevice/{id}/requestChallenge"), None, None).await
    }

    pub async fn respond(&self, id: i64, code: &str) -> Result<ChallengeResult, ApiError> {
        self.json(
            "POST",
            &format!("/OtpDevice/{id}/responseChallenge"),
            Some(&serde_json::json!({"pin": code})),
            None,
        )
        .await
    }

    pub async fn get(&self, id: i64) -> Result<OtpDevice, ApiError> {
        self.json("GET", &format!("/OtpDevice/{id}"), None, None).await
    }

    pub async fn audit(&self, id: i64) -> Result<Value, ApiError> {
        self.json("GET", &format!("/OtpDevice/{id}/audit"), None, None).await
    }

    /// The dev outbox, when the API has it on.
    pub async fn outbox(&self) -> Result<Value, ApiError> {
        self.json("GET", "/Outbox", None, None).await
    }
}
