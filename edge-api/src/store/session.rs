//! What every request reads first, in one statement.

use super::migrations::{SCHEMA_VERSION, migrate};
use crate::db::{Database, DbError, Sql};
use std::cell::{Cell, RefCell};
use subtle::ConstantTimeEq;

/// What every request reads first, in one statement: the schema version (an older or empty
/// database is migrated, then read again) and, for a Basic login, which principal the
/// verified-credential cache holds for `digest`, if an unexpired entry does.
pub struct Session {
    /// The principal the cache holds for the digest, and when that entry expires.
    pub cached: Option<(String, i64)>,
    /// Whether `tenant`'s built-in policies have been written ([`super::seed_tenant`]).
    pub tenant_seeded: bool,
}

/// What an instance that answers many requests over one database remembers of its session
/// reads (the WASIp3 build, an instance Spin reuses): that the schema is current, which tenants
/// are seeded, and which verified credential digests the cache holds, until when. Each only
/// ever becomes true while it holds: a schema is never downgraded, a tenant never unseeded, and a
/// cache entry matches until it expires (a changed password hash changes the digest). A request
/// that finds all it needs here reads nothing: on libSQL, one round trip less.
pub struct SessionMemo {
    current: Cell<bool>,
    seeded: RefCell<Vec<String>>,
    credentials: RefCell<Vec<Remembered>>,
}

struct Remembered {
    digest: Vec<u8>,
    principal: String,
    expires: i64,
}

/// Tenants and credentials a memo holds at most (the oldest make room).
const REMEMBERED: usize = 32;

impl SessionMemo {
    pub const fn new() -> SessionMemo {
        SessionMemo {
            current: Cell::new(false),
            seeded: RefCell::new(Vec::new()),
            credentials: RefCell::new(Vec::new()),
        }
    }

    /// The session, if everything it needs is remembered.
    fn recall(&self, digest: Option<&[u8]>, tenant: &str, now: i64) -> Option<Session> {
        if !self.current.get() || !self.seeded.borrow().iter().any(|t| t == tenant) {
            return None;
        }
        let cached = match digest {
            None => None,
            Some(digest) => {
                let credentials = self.credentials.borrow();
                let known = credentials
                    .iter()
                    .find(|r| r.expires > now && bool::from(r.digest.as_slice().ct_eq(digest)))?;
                Some((known.principal.clone(), known.expires))
            }
        };
        Some(Session { cached, tenant_seeded: true })
    }

    fn learn(&self, digest: Option<&[u8]>, tenant: &str, session: &Session, now: i64) {
        self.current.set(true);
        if session.tenant_seeded {
            let mut seeded = self.seeded.borrow_mut();
            if !seeded.iter().any(|t| t == tenant) {
                if seeded.len() == REMEMBERED {
                    seeded.remove(0);
                }
                seeded.push(tenant.to_owned());
            }
        }
        if let (Some(digest), Some((principal, expires))) = (digest, &session.cached) {
            self.cached(digest, principal, *expires, now);
        }
    }

    /// A verified credential `digest` of `principal`, cached until `expires`.
    pub fn cached(&self, digest: &[u8], principal: &str, expires: i64, now: i64) {
        let mut credentials = self.credentials.borrow_mut();
        credentials.retain(|r| r.expires > now && r.digest != digest);
        if credentials.len() == REMEMBERED {
            credentials.remove(0);
        }
        credentials.push(Remembered { digest: digest.to_vec(), principal: principal.to_owned(), expires });
    }
}

impl Default for SessionMemo {
    fn default() -> SessionMemo {
        SessionMemo::new()
    }
}

/// The first read of every request, one statement: the schema version (migrating when it is
/// behind), the principal a verified credential digest is cached for, and whether the tenant the
/// path names has its built-in policies yet. With a `memo` of earlier requests, none when it
/// remembers all that.
pub fn session(
    db: &dyn Database,
    memo: Option<&SessionMemo>,
    digest: Option<&[u8]>,
    tenant: &str,
    now: i64,
    default_tenant: &str,
) -> Result<Session, DbError> {
    if let Some(known) = memo.and_then(|m| m.recall(digest, tenant, now)) {
        return Ok(known);
    }
    let read = || -> Result<(i64, Session), DbError> {
        let rows = db.execute(
            "SELECT (SELECT max(version) FROM schema_migrations) AS version, cached.principal AS cached, \
                    cached.expires AS expires, EXISTS (SELECT 1 FROM tenants WHERE name = ?3) AS seeded \
             FROM (SELECT 1) LEFT JOIN credential_cache AS cached ON cached.digest = ?1 AND cached.expires > ?2",
            &[digest.map_or(Sql::Null, |d| Sql::Blob(d.to_vec())), now.into(), tenant.into()],
        )?;
        let row = rows.first().ok_or_else(|| DbError("session read returned no row".into()))?;
        let cached = match (row.opt_text("cached")?, row.opt_int("expires")?) {
            (Some(principal), Some(expires)) => Some((principal.to_owned(), expires)),
            _ => None,
        };
        let session = Session { cached, tenant_seeded: row.int("seeded")? != 0 };
        Ok((row.opt_int("version")?.unwrap_or(0), session))
    };
    let (version, session) = match read() {
        Ok(read) if read.0 >= SCHEMA_VERSION => read,
        // The store is out of reach or busy (after the connection's retries): no migration.
        Err(e) if e.is_transient() => return Err(e),
        // A fresh database has no schema_migrations table yet (an older one no `tenants`): the
        // read fails, and migrating creates them. A real failure shows up again in the
        // migration, or in the second read.
        _ => {
            migrate(db, now, default_tenant)?;
            read()?
        }
    };
    if version < SCHEMA_VERSION {
        return Err(DbError(format!("schema version {version} after migrating to {SCHEMA_VERSION}")));
    }
    if let Some(memo) = memo {
        memo.learn(digest, tenant, &session, now);
    }
    Ok(session)
}
