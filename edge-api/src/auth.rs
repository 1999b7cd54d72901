//! Who is calling (SPEC §9): HTTP Basic against `scim_users`, optional Bearer API tokens.
//!
//! Verifying an argon2 hash on every request would cost tens of milliseconds, so a successful
//! Basic login is remembered in SQLite as an HMAC of (user, password, configured hash) under a
//! server key, for a few minutes, renewed while it is in use. That is safe: the table holds no
//! password or fast hash of one (without the key the HMAC cannot be brute-forced), an entry only
//! matches the exact same credentials, changing a principal's hash in `scim_users` makes its
//! entries unmatchable, and rights are always read from the current settings.
//!
//! Password guessing is bounded the way trusted systems bound it, without handing strangers a
//! way to lock an admin out: a caller with the right cached credential is never refused; every
//! other attempt first takes one from the budget of its (principal, source address), in one
//! statement before the slow hash, so concurrent guesses can never exceed it; a source address
//! has a budget over every name it claims (a made-up name costs what a real one does, so nobody
//! gets the slow hash for free by changing names), and a principal a much larger ceiling across
//! all sources; a principal's source that logged in successfully in the last day is exempt from
//! both. A success from a source gives that source its budget back.

use crate::crypto::{self, Keys};
use crate::error::ApiError;
use crate::host::Env;
use crate::http::ApiRequest;
use crate::settings::{Access, Right, TenantGrant};
use crate::store::{self, LoginBudget};
use data_encoding::BASE64;
use std::net::IpAddr;
use subtle::ConstantTimeEq;

/// How long a verified Basic credential is trusted without re-hashing.
pub const CACHE_SECONDS: i64 = 300;

/// Verified logins per (principal, source), per source whatever names it claims, and per
/// principal, per minute.
pub const LOGIN_BUDGET: LoginBudget =
    LoginBudget { per_source: 10, per_address: 20, per_principal: 100, window: 60, trust: 86_400 };

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub rights: Vec<Right>,
    pub tenants: TenantGrant,
}

impl Caller {
    fn of(principal: &crate::settings::Principal) -> Caller {
        Caller {
            name: principal.user.clone(),
            rights: principal.rights.clone(),
            tenants: principal.tenants.clone(),
        }
    }

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

/// The source a login budget is kept for: the client's IP address (the port changes with every
/// connection), and for IPv6 its /64, which one subscriber gets whole.
pub fn source_of(client: &str) -> String {
    match client.parse::<std::net::SocketAddr>().map(|a| a.ip()).or_else(|_| client.parse::<IpAddr>()) {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Err(_) => "unknown".to_owned(),
    }
}

/// An authenticated request: who, and what the first read of the store said about the tenant
/// the path names (nothing is done about it before the caller is known).
pub struct Authenticated {
    pub caller: Caller,
    pub tenant_seeded: bool,
}

/// Authenticates the request; `tenant` is the one its path names (unchecked yet).
pub fn authenticate(
    request: &ApiRequest,
    access: &Access,
    keys: &Keys,
    env: &Env<'_>,
    tenant: &str,
) -> Result<Authenticated, ApiError> {
    let db = env.db;
    let now = env.now;
    match credentials(request).ok_or(ApiError::Unauthorized)? {
        Credentials::Bearer(token) => {
            let session = store::session(db, env.memo, None, tenant, now, &access.tenants.default)?;
            let digest = crypto::sha256(token.as_bytes());
            // Check every token, in constant time each, so timing does not tell which one is close.
            let mut found = None;
            for t in &access.api_tokens {
                if bool::from(t.sha256.ct_eq(&digest)) {
                    found = Some(Caller {
                        name: format!("token:{}", t.name),
                        rights: t.rights.clone(),
                        tenants: t.tenants.clone(),
                    });
                }
            }
            let caller = found.ok_or(ApiError::Unauthorized)?;
            Ok(Authenticated { caller, tenant_seeded: session.tenant_seeded })
        }
        Credentials::Basic { user, password } => {
            let principal =
                access.principals.iter().find(|p| bool::from(p.user.as_bytes().ct_eq(user.as_bytes())));
            let digest =
                principal.map(|p| keys.credential_digest("basic", &user, &password, &p.password_hash));
            let session =
                store::session(db, env.memo, digest.as_deref(), tenant, now, &access.tenants.default)?;
            let seeded = session.tenant_seeded;
            if let (Some(p), Some(digest), Some((cached, expires))) = (principal, &digest, &session.cached)
                && *cached == p.user
            {
                // In use in the second half of its life, the entry is renewed: one write per
                // half-life, not a rush of slow hashes (and spent login budgets, 429s) from
                // every client that finds it expired at once. The request stands if the renewal
                // fails: the entry is good until it expires.
                if expires - now < CACHE_SECONDS / 2
                    && let Err(e) = remember(env, digest, &p.user)
                {
                    (env.log)(&format!("cached login of {:?} not renewed: {e}", p.user));
                }
                return Ok(Authenticated { caller: Caller::of(p), tenant_seeded: seeded });
            }
            let source = source_of(&request.client);
            if let Err(retry_after) = store::reserve_login(db, &user, &source, LOGIN_BUDGET, now)? {
                // Names the claimed principal and the source, never the password.
                (env.log)(&format!(
                    "login refused: principal {user:?} from {source}: no attempt left in its budget; retry in {retry_after} s"
                ));
                return Err(ApiError::Throttled { retry_after });
            }
            if let (Some(p), Some(digest)) = (principal, digest) {
                if crypto::verify_password(&password, &p.password_hash) {
                    remember(env, &digest, &p.user)?;
                    store::login_succeeded(db, &p.user, &source, LOGIN_BUDGET, now)?;
                    return Ok(Authenticated { caller: Caller::of(p), tenant_seeded: seeded });
                }
            } else if let Some(any) = access.principals.first() {
                // Spend the same time on an unknown name, so timing does not reveal which names exist.
                let _ = crypto::verify_password(&password, &any.password_hash);
            }
            store::forget_stale_logins(db, LOGIN_BUDGET, now)?;
            Err(ApiError::Unauthorized)
        }
    }
}

/// Caches a verified credential for [`CACHE_SECONDS`] from now: in the store, for every
/// instance, and in this instance's memo, so that its next request need not read it back.
fn remember(env: &Env<'_>, digest: &[u8], user: &str) -> Result<(), crate::db::DbError> {
    let expires = env.now + CACHE_SECONDS;
    store::cache_credential(env.db, digest, user, expires, env.now)?;
    if let Some(memo) = env.memo {
        memo.cached(digest, user, expires, env.now);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_addresses_without_ports() {
        assert_eq!(source_of("127.0.0.2:51234"), "127.0.0.2");
        assert_eq!(source_of("[2001:db8:1:2:3:4:5:6]:443"), "2001:db8:1:2::/64");
        assert_eq!(source_of("[::ffff:10.0.0.1]:80"), "10.0.0.1");
        assert_eq!(source_of("10.1.2.3"), "10.1.2.3");
        assert_eq!(source_of(""), "unknown");
    }
}
