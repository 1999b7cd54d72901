//! Every call the app makes to the SCIM API, in one place. Credentials live in memory and in
//! this tab's sessionStorage (never localStorage), so a reload keeps the session and closing the
//! tab or signing out forgets it.

use gloo_net::http::{Request, RequestBuilder, Response};
use serde_json::Value;
use shared::OtpDevice;
use shared::model::{ChallengeRequested, ChallengeResult, ListResponse};

const STORAGE_KEY: &str = "scim-otp-session";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// `https://host/scim/v2`, no trailing slash.
    pub base: String,
    pub user: String,
    authorization: String,
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
        Session {
            base: base.trim().trim_end_matches('/').to_owned(),
            user: user.to_owned(),
            authorization: format!("Basic {token}"),
        }
    }

    pub fn restore() -> Option<Session> {
        let text = storage()?.get_item(STORAGE_KEY).ok()??;
        let value: Value = serde_json::from_str(&text).ok()?;
        Some(Session {
            base: value["base"].as_str()?.to_owned(),
            user: value["user"].as_str()?.to_owned(),
            authorization: value["authorization"].as_str()?.to_owned(),
        })
    }

    pub fn save(&self) {
        if let Some(s) = storage() {
            let value = serde_json::json!({"base": self.base, "user": self.user, "authorization": self.authorization});
            let _ = s.set_item(STORAGE_KEY, &value.to_string());
            let _ = s.set_item(&format!("{STORAGE_KEY}-base"), &self.base);
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

    pub async fn list(&self, query: &str) -> Result<ListResponse<OtpDevice>, ApiError> {
        self.json("GET", &format!("/OtpDevice?{query}"), None, None).await
    }

    pub async fn create(&self, body: &Value) -> Result<OtpDevice, ApiError> {
        self.json("POST", "/OtpDevice", Some(body), None).await
    }

    /// PATCH with `If-Match`: a 412 means someone else changed the device first.
    pub async fn patch(&self, device: &OtpDevice, values: Value) -> Result<OtpDevice, ApiError> {
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": values}],
        });
        self.json("PATCH", &format!("/OtpDevice/{}", device.id), Some(&body), Some(&device.meta.version))
            .await
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
