//! The challenges of HID's named actions (SPEC §14, migration 10): what a `CHALLENGE.ID`
//! names (a device, or the security questions asked) and the CIBA ping a success owes.

use super::authenticators::AuthenticatorRow;
use super::{ChallengeState, WriteTx, challenge_columns, challenge_state_from, refusal_of};
use crate::db::{Database, DbError, Row, Sql};

/// A challenge still open: issued by USER-, DEVICE- or DELIVER-CHALLENGE, not yet expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub id: i64,
    pub device_id: Option<i64>,
    /// The prompt codes a security-question challenge asked.
    pub prompts: Vec<String>,
}

/// The CIBA ping a verified challenge owes (SPEC §14): the sealed bearer token, if any, and
/// the request's id.
pub struct Ping {
    pub sealed_token: Option<Vec<u8>>,
    pub auth_req_id: String,
}

fn challenge_from(row: Row<'_>) -> Result<Challenge, DbError> {
    let id = row.int("id")?;
    let prompts = match row.opt_text("prompts")? {
        Some(json) => serde_json::from_str(json)
            .map_err(|_| DbError(format!("challenge {id}: column prompts holds a value we never write")))?,
        None => Vec::new(),
    };
    Ok(Challenge { id, device_id: row.opt_int("device_id")?, prompts })
}

/// The open challenge `id` of authenticator `authenticator` (its row id), or with `id` `None`
/// its newest open one.
pub fn open_challenge(
    db: &dyn Database,
    tenant: &str,
    authenticator: i64,
    id: Option<i64>,
    now: i64,
) -> Result<Option<Challenge>, DbError> {
    let rows = db.execute(
        "SELECT id, device_id, prompts FROM challenges WHERE tenant = ? AND authenticator_id = ? \
         AND (?3 IS NULL OR id = ?3) AND expires >= ? ORDER BY id DESC LIMIT 1",
        &[tenant.into(), authenticator.into(), id.into(), now.into()],
    )?;
    rows.first().map(challenge_from).transpose()
}

/// A device of an authenticator as its named actions see it: its state for a check, its newest
/// open challenge (the one asked for, if one was), and whether any challenge of it is still
/// stored (a success closes them).
pub struct Candidate {
    pub state: ChallengeState,
    pub open_challenge: Option<i64>,
    pub challenged: bool,
}

/// The devices of authenticator `authenticator` (its row id), the likeliest to be meant first:
/// usable ones (C, V), those with a code pending, the most recently used. With `challenge`,
/// only that challenge counts as a device's open one. One statement, so that an action reads
/// what it checks once.
pub fn authenticator_devices(
    db: &dyn Database,
    tenant: &str,
    authenticator: i64,
    challenge: Option<i64>,
    now: i64,
) -> Result<Vec<Candidate>, DbError> {
    let rows = db.execute(
        &format!(
            "SELECT {}, \
             (SELECT max(c.id) FROM challenges c WHERE c.device_id = devices.id AND c.expires >= ?1 \
              AND (?2 IS NULL OR c.id = ?2)) AS open_challenge, \
             EXISTS (SELECT 1 FROM challenges c WHERE c.device_id = devices.id) AS challenged \
             FROM devices WHERE authenticator_id = ?3 AND tenant = ?4 \
             ORDER BY status IN ('C', 'V') DESC, coalesce(code_expires >= ?1, 0) DESC, \
             coalesce(last_used, 0) DESC, id",
            challenge_columns(now)
        ),
        &[now.into(), challenge.into(), authenticator.into(), tenant.into()],
    )?;
    rows.iter()
        .map(|row| {
            Ok(Candidate {
                state: challenge_state_from(row)?,
                open_challenge: row.opt_int("open_challenge")?,
                challenged: row.int("challenged")? != 0,
            })
        })
        .collect()
}

/// What an answer to security questions did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    /// Counted: a success, or a failure (and whether it locked the authenticator).
    Counted { won: bool, locked: bool },
    /// The authenticator refused validations by the time of the write: nothing counted.
    Refused,
}

impl WriteTx<'_> {
    /// Opens a challenge of `authenticator`, for `device` or asking `prompts`, with an optional
    /// CIBA ping. It replaces the open ones it supersedes (the same device's, whose code the new
    /// one replaced, or the questions asked before) and forgets expired ones.
    pub fn open_challenge(
        &self,
        row: &AuthenticatorRow,
        device: Option<i64>,
        prompts: Option<&[String]>,
        ping: Option<&Ping>,
        expires: i64,
    ) -> Result<i64, DbError> {
        let authenticator = row.row_id;
        self.db.execute(
            "DELETE FROM challenges WHERE authenticator_id = ? AND (expires < ? OR device_id IS ? )",
            &[authenticator.into(), self.now.into(), device.into()],
        )?;
        let prompts_json = prompts
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| DbError(e.to_string()))?
            .map_or(Sql::Null, Sql::Text);
        let rows = self.db.execute(
            "INSERT INTO challenges (tenant, authenticator_id, device_id, prompts, notify_token, auth_req_id, \
             created, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            &[
                self.tenant.into(),
                authenticator.into(),
                device.into(),
                prompts_json,
                ping.and_then(|p| p.sealed_token.clone()).map_or(Sql::Null, Sql::Blob),
                ping.map(|p| p.auth_req_id.as_str()).into(),
                self.now.into(),
                expires.into(),
            ],
        )?;
        let id =
            rows.first().ok_or_else(|| DbError("INSERT … RETURNING returned no row".into()))?.int("id")?;
        let what = match (prompts.is_some(), ping.is_some()) {
            (true, _) => "security questions",
            (false, true) => "code, CIBA ping on success",
            (false, false) => "code",
        };
        self.audit_event(
            "challenge-issued",
            device,
            Some(row.user_id),
            Some(&row.scim_id()),
            &format!("challenge {id}: {what}"),
        )?;
        Ok(id)
    }

    /// An audit row of an action on an authenticator.
    pub fn audit_authenticator(
        &self,
        action: &str,
        row: &AuthenticatorRow,
        detail: &str,
    ) -> Result<(), DbError> {
        self.audit_event(action, None, Some(row.user_id), Some(&row.scim_id()), detail)
    }

    /// Makes `code` (its digest) the pending code of a new OOB device until `expires`: its
    /// activation code (REGISTER-OOB), single use as any pending code is.
    pub fn set_activation_code(&self, device: i64, digest: &[u8], expires: i64) -> Result<(), DbError> {
        self.db.execute(
            "UPDATE devices SET code_digest = ?, code_expires = ? WHERE id = ? AND tenant = ?",
            &[Sql::Blob(digest.to_vec()), expires.into(), device.into(), self.tenant.into()],
        )?;
        self.audit("activation-code", Some(device), "activation code for the delivery of the first code")
    }

    /// A device verified through HID's dialect is enabled (C to V), as its activation is.
    pub fn activate_device(&self, device: i64) -> Result<(), DbError> {
        let rows = self.db.execute(
            "UPDATE devices SET status = 'V', version = version + 1, modified = ? \
             WHERE id = ? AND tenant = ? AND status = 'C' RETURNING id",
            &[self.now.into(), device.into(), self.tenant.into()],
        )?;
        match rows.is_empty() {
            true => Ok(()),
            false => self.audit("activate", Some(device), "status C -> V by its first verification"),
        }
    }

    /// Closes the challenges of `device` after its success, and returns the CIBA pings they
    /// owe; a concurrent success closes them once.
    pub fn close_device_challenges(&self, device: i64) -> Result<Vec<Ping>, DbError> {
        let rows = self.db.execute(
            "DELETE FROM challenges WHERE device_id = ? AND tenant = ? RETURNING notify_token, auth_req_id",
            &[device.into(), self.tenant.into()],
        )?;
        let mut pings = Vec::new();
        for row in rows.iter() {
            if let Some(auth_req_id) = row.opt_text("auth_req_id")? {
                pings.push(Ping {
                    sealed_token: row.opt_blob("notify_token")?.map(<[u8]>::to_vec),
                    auth_req_id: auth_req_id.to_owned(),
                });
            }
        }
        Ok(pings)
    }

    /// Counts an answer to the security questions of `challenge`: it closes the challenge
    /// (right or wrong: each asking is answered once), and only an answer that closed it can
    /// succeed. The authenticator's statistics and lockout change as a device's validation
    /// changes them (SPEC §14), unless it refuses validations by now.
    pub fn answer_questions(
        &self,
        subject: &AuthenticatorRow,
        challenge: i64,
        right: bool,
    ) -> Result<Answered, DbError> {
        let (authenticator, identity) = (subject.row_id, subject.scim_id());
        let closed = !self
            .db
            .execute(
                "DELETE FROM challenges WHERE id = ? AND authenticator_id = ? AND expires >= ? RETURNING id",
                &[challenge.into(), authenticator.into(), self.now.into()],
            )?
            .is_empty();
        let won = right && closed;
        let set = match won {
            true => {
                "consecutive_success = consecutive_success + 1, total_success = total_success + 1, \
                 consecutive_failed = 0"
            }
            false => {
                "consecutive_failed = consecutive_failed + 1, total_failed = total_failed + 1, \
                 consecutive_success = 0, disabled_by_failures = disabled_by_failures OR \
                 coalesce(consecutive_failed + 1 >= (SELECT p.max_fails FROM policies p \
                 WHERE p.tenant = authenticators.tenant AND p.id = authenticators.policy), 0)"
            }
        };
        let rows = self.db.execute(
            &format!(
                "UPDATE authenticators SET {set}, modified = ?, version = version + 1 WHERE id = ? AND tenant = ? \
                 AND coalesce((SELECT active FROM users WHERE users.id = authenticators.user_id), 1) = 1 \
                 AND {} IS NULL RETURNING disabled_by_failures",
                refusal_of(self.now, "authenticators.id")
            ),
            &[self.now.into(), authenticator.into(), self.tenant.into()],
        )?;
        let Some(row) = rows.first() else {
            self.audit_authenticator("challenge-refused", subject, &format!("{identity}: not checked"))?;
            return Ok(Answered::Refused);
        };
        let locked = row.int("disabled_by_failures")? != 0;
        let action = match (won, locked) {
            (true, _) => "challenge-success",
            (false, true) => "challenge-failure-locked",
            (false, false) => "challenge-failure",
        };
        self.audit_authenticator(action, subject, &format!("{identity}: security questions"))?;
        Ok(Answered::Counted { won, locked })
    }
}
