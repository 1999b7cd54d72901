//! What every request reads first, in one statement.

use super::migrations::{SCHEMA_VERSION, migrate};
use crate::db::{Database, DbError, Sql};

/// What every request reads first, in one statement: the schema version (an older or empty
/// database is migrated, then read again) and, for a Basic login, which principal the
/// verified-credential cache holds for `digest`, if an unexpired entry does.
pub struct Session {
    pub cached_principal: Option<String>,
    /// Whether `tenant`'s built-in policies have been written ([`super::seed_tenant`]).
    pub tenant_seeded: bool,
}

/// The first read of every request, one statement: the schema version (migrating when it is
/// behind), the principal a verified credential digest is cached for, and whether the tenant the
/// path names has its built-in policies yet.
pub fn session(
    db: &dyn Database,
    digest: Option<&[u8]>,
    tenant: &str,
    now: i64,
    default_tenant: &str,
) -> Result<Session, DbError> {
    let read = || -> Result<(i64, Session), DbError> {
        let rows = db.execute(
            "SELECT (SELECT max(version) FROM schema_migrations) AS version, \
                    (SELECT principal FROM credential_cache WHERE digest = ? AND expires > ?) AS cached, \
                    EXISTS (SELECT 1 FROM tenants WHERE name = ?) AS seeded",
            &[digest.map_or(Sql::Null, |d| Sql::Blob(d.to_vec())), now.into(), tenant.into()],
        )?;
        let row = rows.first().ok_or_else(|| DbError("session read returned no row".into()))?;
        let session = Session {
            cached_principal: row.opt_text("cached")?.map(str::to_owned),
            tenant_seeded: row.int("seeded")? != 0,
        };
        Ok((row.opt_int("version")?.unwrap_or(0), session))
    };
    let (version, session) = match read() {
        Ok((version, session)) if version >= SCHEMA_VERSION => (version, session),
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
    Ok(session)
}
