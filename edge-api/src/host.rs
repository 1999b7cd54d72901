//! What the host (Spin, the runner, a test) provides besides the request: the store, the clock,
//! the log, and the outbound calls (the delivery gateway, CIBA pings).

use crate::db::Database;
use crate::settings::Webhook;

/// What the host provides besides the request.
pub struct Env<'a> {
    pub db: &'a dyn Database,
    /// Unix seconds.
    pub now: i64,
    pub deliver: Deliver<'a>,
    pub notify: Notify<'a>,
    /// One line to the host's log; never given a secret.
    pub log: &'a dyn Fn(&str),
    /// What earlier requests on the same database learnt of the session, where a host keeps
    /// an instance for many requests ([`crate::store::SessionMemo`]).
    pub memo: Option<&'a crate::store::SessionMemo>,
}

/// A message for the delivery gateway (SPEC §6).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub channel: &'static str,
    pub to: String,
    pub message: String,
    pub code: String,
    pub device_id: i64,
}

/// Sends a delivery to the webhook; `Err` carries a reason for the log (never the URL or code).
pub type Deliver<'a> = &'a dyn Fn(&Webhook, &Delivery) -> Result<(), String>;

/// A CIBA ping (SPEC §14, OpenID CIBA ping mode): `{"auth_req_id"}` POSTed with the client's
/// bearer token, if it gave one.
pub struct CibaPing {
    pub token: Option<String>,
    pub auth_req_id: String,
}

// The token is the client's secret: never printed.
impl std::fmt::Debug for CibaPing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CibaPing").field("auth_req_id", &self.auth_req_id).finish_non_exhaustive()
    }
}

/// Sends a CIBA ping; `Err` carries a reason for the log (never the URL or token).
pub type Notify<'a> = &'a dyn Fn(&Webhook, &CibaPing) -> Result<(), String>;
