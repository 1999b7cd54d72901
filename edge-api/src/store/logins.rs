//! Login budgets and the verified-credential cache (SPEC §9; the auth module spends them).

use crate::db::{Database, DbError, Sql};

/// A login budget: at most `per_source` verified attempts for one (principal, source),
/// `per_address` for one source whatever names it claims, and `per_principal` for the principal
/// across every source, per `window` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginBudget {
    pub per_source: i64,
    pub per_address: i64,
    pub per_principal: i64,
    pub window: i64,
    /// How long a source that logged in successfully is exempt from the per-principal ceiling.
    pub trust: i64,
}

/// Takes one attempt from the budgets of (`principal`, `source`), in one statement, before any
/// password is checked: concurrent attempts can never together exceed a budget. `Err(seconds)`
/// when refused: when the pair has no attempt left, or (unless this principal signed in from
/// this source recently) the source across every name it claimed or the principal across every
/// source has none, with the seconds until the window that refused it ends.
pub fn reserve_login(
    db: &dyn Database,
    principal: &str,
    source: &str,
    budget: LoginBudget,
    now: i64,
) -> Result<Result<(), i64>, DbError> {
    let expired = now - budget.window;
    let rows = db.execute(
        "INSERT INTO login_attempts (principal, source, window_start, attempts) \
         SELECT ?1, ?2, ?3, 1 WHERE \
           ((SELECT coalesce(sum(attempts), 0) FROM login_attempts WHERE principal = ?1 AND window_start > ?4) < ?6 \
            AND (SELECT coalesce(sum(attempts), 0) FROM login_attempts WHERE source = ?2 AND window_start > ?4) < ?7) \
           OR EXISTS (SELECT 1 FROM login_attempts WHERE principal = ?1 AND source = ?2 AND trusted_until > ?3) \
         ON CONFLICT (principal, source) DO UPDATE SET \
           attempts = CASE WHEN window_start <= ?4 THEN 1 ELSE attempts + 1 END, \
           window_start = CASE WHEN window_start <= ?4 THEN ?3 ELSE window_start END \
         WHERE window_start <= ?4 OR attempts < ?5 \
         RETURNING attempts",
        &[
            principal.into(),
            source.into(),
            now.into(),
            expired.into(),
            budget.per_source.into(),
            budget.per_principal.into(),
            budget.per_address.into(),
        ],
    )?;
    if !rows.is_empty() {
        return Ok(Ok(()));
    }
    // Refused: say when the window that refused it ends (the pair's own, else the source's
    // oldest in-window one when the source is spent, else the principal's).
    let rows = db.execute(
        "SELECT coalesce((SELECT window_start FROM login_attempts WHERE principal = ?1 AND source = ?2 \
                          AND window_start > ?3 AND attempts >= ?4), \
                         (SELECT CASE WHEN sum(attempts) >= ?6 THEN min(window_start) END FROM login_attempts \
                          WHERE source = ?2 AND window_start > ?3), \
                         (SELECT min(window_start) FROM login_attempts WHERE principal = ?1 AND window_start > ?3), \
                         ?5) AS started",
        &[
            principal.into(),
            source.into(),
            expired.into(),
            budget.per_source.into(),
            now.into(),
            budget.per_address.into(),
        ],
    )?;
    let started = rows.first().map(|r| r.int("started")).transpose()?.unwrap_or(now);
    Ok(Err((started + budget.window - now).max(1)))
}

/// A verified login from `source`: its count starts again, and it is trusted for a while.
pub fn login_succeeded(
    db: &dyn Database,
    principal: &str,
    source: &str,
    budget: LoginBudget,
    now: i64,
) -> Result<(), DbError> {
    db.execute(
        "UPDATE login_attempts SET attempts = 0, trusted_until = ? WHERE principal = ? AND source = ?",
        &[(now + budget.trust).into(), principal.into(), source.into()],
    )?;
    Ok(())
}

/// Drops budgets whose window and trust have both run out, so that guessing many names or
/// sources cannot grow the table without bound.
pub fn forget_stale_logins(db: &dyn Database, budget: LoginBudget, now: i64) -> Result<(), DbError> {
    db.execute(
        "DELETE FROM login_attempts WHERE window_start <= ? AND trusted_until <= ?",
        &[(now - budget.window).into(), now.into()],
    )?;
    Ok(())
}

pub fn cache_credential(
    db: &dyn Database,
    digest: &[u8],
    principal: &str,
    expires: i64,
    now: i64,
) -> Result<(), DbError> {
    db.execute("DELETE FROM credential_cache WHERE expires <= ?", &[now.into()])?;
    db.execute(
        "INSERT OR REPLACE INTO credential_cache (digest, principal, expires) VALUES (?, ?, ?)",
        &[Sql::Blob(digest.to_vec()), principal.into(), expires.into()],
    )?;
    Ok(())
}
