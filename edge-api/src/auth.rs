//! Who is calling (SPEC §9): HTTP Basic against `scim_users`, optional Bearer API tokens.
//!
//! Verifying an argon2 hash on every request would cost tens of milliseconds, so a successful
//! Basic login is remembered in SQLite as an HMAC of (user, password, configured hash) under a
//! server key, for a few minutes. That is safe: the table holds no password or fast hash of
//! one (without the key the HMAC cannot be brute-forced), an entry only matches the exact same
//! credentials, changing a principal's hash in `scim_users` makes its entries unmatchable, and
//! rights are always read from the current settings. Failed logins are counted per principal
//! name; past the limit, further attempts are refused before any hash is checked.

use crate::crypto::{self, Keys};
use crate::db::Database;
use crate::error::ApiError;
use crate::http::ApiRequest;
use crate::settings::{Right, Settings};
use crate::store;
use data_encoding::BASE64;
use subtle::ConstantTimeEq;

/// How long a verified Basic credential is trusted without re-hashing.
pub const CACHE_SECONDS: i64 = 300;
/// Failed logins allowed per principal per window, and the window.
pub const MAX_FAILED_LOGINS: i64 = 10;
pub const FAILURE_WINDOW: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub rights: Vec<Right>,
}

impl Caller {
    /// `scim:admin` includes everything `scim:invoke` allows.
    pub fn require(&self, right: Right) -> Result<(), ApiError> {
        let granted = self.rights.contains(&Right::Admin)
            || (right == Right::Invoke && self.rights.contains(&Right::Invoke));
        if granted {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                right: if right == Right::Admin { "scim:admin" } else { "scim:invoke" },
            })
        }
    }
}

enum Credentials {
    Basic { user: String, password: String },
    Bearer(String),
}

fn credentials(request: &ApiRequest) -> Option<Credentials> {
    let header = request.header("authorization")?.trim();
    let (scheme, value) = header.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = BASE64.decode(value.trim().as_bytes()).ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (user, password) = decoded.split_once(':')?;
        return Some(Credentials::Basic { user: user.to_owned(), password: password.to_owned() });
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(Credentials::Bearer(value.trim().to_owned()));
    }
    None
}

pub fn authenticate(
    request: &ApiRequest,
    settings: &Settings,
    keys: &Keys,
    db: &dyn Database,
    now: i64,
) -> Result<Caller, ApiError> {
    match credentials(request).ok_or(ApiError::Unauthorized)? {
        Credentials::Bearer(token) => {
            let digest = crypto::sha256(token.as_bytes());
            // Check every token, in constant time each, so timing does not tell which one is close.
            let mut found = None;
            for t in &settings.api_tokens {
                if bool::from(t.sha256.ct_eq(&digest)) {
                    found = Some(Caller { name: format!("token:{}", t.name), rights: t.rights.clone() });
                }
            }
            found.ok_or(ApiError::Unauthorized)
        }
        Credentials::Basic { user, password } => {
            let window_start = now - FAILURE_WINDOW;
            let principal =
                settings.principals.iter().find(|p| bool::from(p.user.as_bytes().ct_eq(user.as_bytes())));
            let digest =
                principal.map(|p| keys.credential_digest("basic", &user, &password, &p.password_hash));
            let state = store::login_state(db, &user, window_start, digest.as_deref(), now)?;
            if state.failures >= MAX_FAILED_LOGINS {
                return Err(ApiError::Throttled { retry_after: FAILURE_WINDOW });
            }
            if let (Some(p), Some(digest)) = (principal, digest) {
                if state.cached_principal.as_deref() == Some(p.user.as_str()) {
                    return Ok(Caller { name: p.user.clone(), rights: p.rights.clone() });
                }
                if crypto::verify_password(&password, &p.password_hash) {
                    store::cache_credential(db, &digest, &p.user, now + CACHE_SECONDS, now)?;
                    return Ok(Caller { name: p.user.clone(), rights: p.rights.clone() });
                }
            } else if let Some(any) = settings.principals.first() {
                // Spend the same time on an unknown name, so timing does not reveal which names exist.
                let _ = crypto::verify_password(&password, &any.password_hash);
            }
            store::record_login_failure(db, &user, now, window_start)?;
            Err(ApiError::Unauthorized)
        }
    }
}
