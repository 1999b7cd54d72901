//! Write transactions: `BEGIN IMMEDIATE` … `COMMIT` with retries of transient failures, and
//! [`WriteTx`], whose methods write each change with its audit row.

use crate::db::{Database, DbError, RETRY_PAUSES_MS, Transient};
use shared::audit::AuditAction;

/// `BEGIN IMMEDIATE` … `COMMIT`, rolled back on every failure, a failed `COMMIT` included, so
/// that the connection never carries a dead transaction into the request's next statements.
/// Work that failed transiently (busy, interrupted, store out of reach) is rolled back and run
/// again from `BEGIN`, after the pauses of [`RETRY_PAUSES_MS`]: it reads what it decides on inside
/// the transaction, so a second run decides on what is there then.
pub(super) fn write_raw<T, E: From<DbError> + Transient>(
    db: &dyn Database,
    mut work: impl FnMut() -> Result<T, E>,
) -> Result<T, E> {
    let mut pauses = RETRY_PAUSES_MS.into_iter();
    loop {
        // The connection has retried a BEGIN that failed transiently already.
        db.execute("BEGIN IMMEDIATE", &[])?;
        let error = match work() {
            Ok(value) => match db.execute("COMMIT", &[]) {
                Ok(_) => return Ok(value),
                // A COMMIT that failed without proof that it did nothing (its answer lost on the
                // way back, say) may have been applied: running the work again could do it twice
                // (or refuse a code it accepted), so the caller hears the failure (a 503 if lost).
                Err(lost) if !lost.did_not_run() => {
                    let _ = db.execute("ROLLBACK", &[]);
                    return Err(E::from(lost));
                }
                Err(error) => E::from(error),
            },
            Err(error) => error,
        };
        // The original error matters more than a failed rollback (there may be nothing to roll
        // back when COMMIT itself, or an interrupted write, ended the transaction).
        let _ = db.execute("ROLLBACK", &[]);
        match pauses.next() {
            Some(ms) if error.worth_retrying() => pause(ms),
            _ => return Err(error),
        }
    }
}

/// A thread sleep, natively and in the component (WASI's monotonic clock).
pub fn pause(ms: u64) {
    std::thread::sleep(std::time::Duration::from_millis(ms));
}

/// A write transaction on behalf of `actor`: every change of a device goes through one of its
/// methods, which also writes the change's audit row, so both commit together or not at all.
pub struct WriteTx<'a> {
    pub(super) db: &'a dyn Database,
    pub(super) tenant: &'a str,
    pub(super) actor: &'a str,
    pub(super) now: i64,
}

/// Who changes what: the tenant every row of the change belongs to, and the principal.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub tenant: &'a str,
    pub name: &'a str,
}

/// The store as a request's handlers and rules see it: one tenant, one principal, one clock.
/// Every read is of that tenant's rows, and every change goes through [`Store::write`], whose
/// [`WriteTx`] writes it with its audit row; the database itself stays below this type.
#[derive(Clone, Copy)]
pub struct Store<'a> {
    pub(super) db: &'a dyn Database,
    pub(super) actor: Actor<'a>,
    pub(super) now: i64,
}

impl<'a> Store<'a> {
    pub fn new(db: &'a dyn Database, actor: Actor<'a>, now: i64) -> Store<'a> {
        Store { db, actor, now }
    }

    /// Unix seconds: the request's clock.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// Runs `work` in one write transaction (see [`WriteTx`]).
    pub fn write<T, E: From<DbError> + Transient>(
        &self,
        mut work: impl FnMut(&WriteTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let tx = WriteTx { db: self.db, tenant: self.actor.tenant, actor: self.actor.name, now: self.now };
        write_raw(self.db, || work(&tx))
    }
}

impl WriteTx<'_> {
    /// The store's reads, inside this transaction.
    pub(super) fn reads(&self) -> Store<'_> {
        Store { db: self.db, actor: Actor { tenant: self.tenant, name: self.actor }, now: self.now }
    }

    /// The audit row of a change (SPEC §12: who, when, what, device id; never a secret).
    pub(super) fn audit(
        &self,
        action: AuditAction,
        device_id: Option<i64>,
        detail: &str,
    ) -> Result<(), DbError> {
        self.audit_row(action, device_id, None, detail)
    }

    pub(super) fn audit_row(
        &self,
        action: AuditAction,
        device_id: Option<i64>,
        user_id: Option<i64>,
        detail: &str,
    ) -> Result<(), DbError> {
        self.audit_event(action, device_id, user_id, None, detail)
    }

    /// An audit row, with the SCIM id of the authenticator it concerns (`<user id>.<policy>`).
    pub(super) fn audit_event(
        &self,
        action: AuditAction,
        device_id: Option<i64>,
        user_id: Option<i64>,
        authenticator: Option<&str>,
        detail: &str,
    ) -> Result<(), DbError> {
        self.db.execute(
            "INSERT INTO audit (tenant, at, actor, action, device_id, user_id, authenticator, detail) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            &[
                self.tenant.into(),
                self.now.into(),
                self.actor.into(),
                action.as_str().into(),
                device_id.into(),
                user_id.into(),
                authenticator.into(),
                detail.into(),
            ],
        )?;
        Ok(())
    }

    /// Records an attempt that changed nothing (a challenge asked of a locked device).
    pub fn attempt(&self, action: AuditAction, device_id: i64, detail: &str) -> Result<(), DbError> {
        self.audit(action, Some(device_id), detail)
    }
}
