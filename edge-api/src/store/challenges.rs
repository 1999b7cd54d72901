//! Challenges (SPEC §6, §14, migration 13): each owns what it asked for (the digest of the code
//! it sent, or the security questions it asked), its expiry and the CIBA ping its success owes,
//! and only its own success closes it. The send budgets of SPEC §6 are counted here too.

use super::authenticators::ActionTarget;
use super::sql::{authenticator_locks, owner_active, refusal_of};
use super::tx::{Store, WriteTx};
use crate::db::{DbError, Row, Sql};
use crate::settings::SendBudget;
use shared::audit::AuditAction;

/// What a challenge asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeKind {
    /// A plain code sent (Soffid's requestChallenge, USER- and DEVICE-CHALLENGE, REGISTER-OOB's
    /// activation code), or a device's turn with nothing sent. A device has one open at most.
    Plain,
    /// A code sent with a transaction's text (DELIVER-CHALLENGE): only a VERIFY answers it, and
    /// its success owes the transaction's CIBA ping.
    Transaction,
    /// Security questions asked of an authenticator.
    Questions,
}

impl ChallengeKind {
    fn as_str(self) -> &'static str {
        match self {
            ChallengeKind::Plain => "plain",
            ChallengeKind::Transaction => "transaction",
            ChallengeKind::Questions => "questions",
        }
    }

    fn parse(word: &str) -> Option<ChallengeKind> {
        [ChallengeKind::Plain, ChallengeKind::Transaction, ChallengeKind::Questions]
            .into_iter()
            .find(|k| k.as_str() == word)
    }
}

/// A challenge still open: issued and not yet answered, replaced or expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub id: i64,
    pub device_id: Option<i64>,
    pub kind: ChallengeKind,
    /// The prompt codes a security-question challenge asked.
    pub prompts: Vec<String>,
}

/// An open challenge's code, as a check of a device's response sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCode {
    pub challenge: i64,
    pub digest: Vec<u8>,
    pub kind: ChallengeKind,
}

/// The device's open codes from [`super::challenge_columns`]' `open_codes` (a JSON array of
/// `[id, hex digest, kind]`).
pub(super) fn open_codes_from(json: Option<&str>) -> Result<Vec<OpenCode>, DbError> {
    let Some(json) = json else { return Ok(Vec::new()) };
    let bad = || DbError("open_codes holds a value we never write".into());
    let entries: Vec<(i64, String, String)> = serde_json::from_str(json).map_err(|_| bad())?;
    entries
        .into_iter()
        .map(|(challenge, hex, kind)| {
            Ok(OpenCode {
                challenge,
                digest: data_encoding::HEXUPPER.decode(hex.as_bytes()).map_err(|_| bad())?,
                kind: ChallengeKind::parse(&kind).ok_or_else(bad)?,
            })
        })
        .collect()
}

/// The CIBA ping a verified challenge owes (SPEC §14): the sealed bearer token, if any, and
/// the request's id.
pub struct Ping {
    pub sealed_token: Option<Vec<u8>>,
    pub auth_req_id: String,
}

fn challenge_from(row: Row<'_>) -> Result<Challenge, DbError> {
    let id = row.int("id")?;
    let bad = |column: &str| DbError(format!("challenge {id}: column {column} holds a value we never write"));
    let prompts = match row.opt_text("prompts")? {
        Some(json) => serde_json::from_str(json).map_err(|_| bad("prompts"))?,
        None => Vec::new(),
    };
    Ok(Challenge {
        id,
        device_id: row.opt_int("device_id")?,
        kind: ChallengeKind::parse(row.text("kind")?).ok_or_else(|| bad("kind"))?,
        prompts,
    })
}

pub(super) fn ping_from(row: Row<'_>) -> Result<Option<Ping>, DbError> {
    let Some(auth_req_id) = row.opt_text("auth_req_id")? else { return Ok(None) };
    Ok(Some(Ping {
        sealed_token: row.opt_blob("notify_token")?.map(<[u8]>::to_vec),
        auth_req_id: auth_req_id.to_owned(),
    }))
}

impl Store<'_> {
    /// The open challenge `id` of authenticator `authenticator` (its row id), or with `id` `None`
    /// its newest open one.
    pub fn open_challenge(&self, authenticator: i64, id: Option<i64>) -> Result<Option<Challenge>, DbError> {
        let (db, tenant, now) = (self.db, self.actor.tenant, self.now);
        let rows = db.execute(
            "SELECT id, device_id, kind, prompts FROM challenges WHERE tenant = ? AND authenticator_id = ? \
             AND (?3 IS NULL OR id = ?3) AND expires >= ? ORDER BY id DESC LIMIT 1",
            &[tenant.into(), authenticator.into(), id.into(), now.into()],
        )?;
        rows.first().map(challenge_from).transpose()
    }
}

/// What an answer to security questions did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    /// Counted: a success, or a failure (and whether it locked the authenticator).
    Counted { won: bool, locked: bool },
    /// The authenticator refused validations by the time of the write: nothing counted.
    Refused,
}

/// A challenge to open.
pub struct NewChallenge<'a> {
    /// The authenticator it is for (its row id), if the device has one.
    pub authenticator: Option<i64>,
    pub device: Option<i64>,
    pub kind: ChallengeKind,
    /// The digest of the code it sends.
    pub code_digest: Option<&'a [u8]>,
    pub ping: Option<&'a Ping>,
    pub expires: i64,
}

/// Why a send was refused, and in how many seconds it would not be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRefused {
    pub why: &'static str,
    pub retry_after: i64,
}

const HOUR: i64 = 3600;

impl WriteTx<'_> {
    /// Opens a challenge, and returns its id. It replaces the open one it supersedes, so that a
    /// device has one plain code and one transaction's code to guess at, and an authenticator
    /// one set of questions; it also forgets the expired ones of its authenticator and device.
    /// With `issued_for`, the issue is audited as that authenticator's.
    pub fn open_challenge(
        &self,
        new: &NewChallenge<'_>,
        issued_for: Option<&ActionTarget>,
    ) -> Result<i64, DbError> {
        self.db.execute(
            "DELETE FROM challenges WHERE (?1 IS NOT NULL AND device_id = ?1 AND (kind = ?2 OR expires < ?3)) \
             OR (?4 IS NOT NULL AND authenticator_id = ?4 AND (expires < ?3 OR (?1 IS NULL AND kind = ?2)))",
            &[new.device.into(), new.kind.as_str().into(), self.now.into(), new.authenticator.into()],
        )?;
        self.insert_challenge(new, None, issued_for)
    }

    fn insert_challenge(
        &self,
        new: &NewChallenge<'_>,
        prompts: Option<&[String]>,
        issued_for: Option<&ActionTarget>,
    ) -> Result<i64, DbError> {
        let prompts_json = prompts
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| DbError(e.to_string()))?
            .map_or(Sql::Null, Sql::Text);
        let rows = self.db.execute(
            "INSERT INTO challenges (tenant, authenticator_id, device_id, kind, code_digest, prompts, notify_token, \
             auth_req_id, created, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            &[
                self.tenant.into(),
                new.authenticator.into(),
                new.device.into(),
                new.kind.as_str().into(),
                new.code_digest.map_or(Sql::Null, |d| Sql::Blob(d.to_vec())),
                prompts_json,
                new.ping.and_then(|p| p.sealed_token.clone()).map_or(Sql::Null, Sql::Blob),
                new.ping.map(|p| p.auth_req_id.as_str()).into(),
                self.now.into(),
                new.expires.into(),
            ],
        )?;
        let id =
            rows.first().ok_or_else(|| DbError("INSERT … RETURNING returned no row".into()))?.int("id")?;
        if let Some(row) = issued_for {
            let what = match (new.kind, new.code_digest.is_some(), new.ping.is_some()) {
                (ChallengeKind::Questions, _, _) => "security questions",
                (_, true, true) => "transaction code, CIBA ping on success",
                (ChallengeKind::Transaction, _, _) => "transaction code",
                (_, true, false) => "code",
                (_, false, _) => "device's turn",
            };
            self.audit_event(
                AuditAction::ChallengeIssued,
                new.device,
                Some(row.user_id),
                Some(&row.scim_id()),
                &format!("challenge {id}: {what}"),
            )?;
        }
        Ok(id)
    }

    /// The open security-question challenge of `row`, or a new one asking the `fresh` prompts:
    /// while one is open, asking again asks the same prompts (SPEC §14), so nobody can re-roll
    /// until only the prompts they know are asked. Read and written in this transaction, so two
    /// concurrent askings cannot open two.
    pub fn questions_challenge(
        &self,
        row: &ActionTarget,
        expires: i64,
        fresh: Vec<String>,
    ) -> Result<Challenge, DbError> {
        if let Some(open) =
            self.reads().open_challenge(row.row_id, None)?.filter(|c| c.kind == ChallengeKind::Questions)
        {
            self.audit_authenticator(
                AuditAction::ChallengeIssued,
                row,
                &format!("challenge {}: the same security questions again", open.id),
            )?;
            return Ok(open);
        }
        self.db.execute(
            "DELETE FROM challenges WHERE authenticator_id = ? AND (kind = 'questions' OR expires < ?)",
            &[row.row_id.into(), self.now.into()],
        )?;
        let prompts = fresh;
        let new = NewChallenge {
            authenticator: Some(row.row_id),
            device: None,
            kind: ChallengeKind::Questions,
            code_digest: None,
            ping: None,
            expires,
        };
        let id = self.insert_challenge(&new, Some(&prompts), Some(row))?;
        Ok(Challenge { id, device_id: None, kind: ChallengeKind::Questions, prompts })
    }

    /// Takes one send to `destination` from device `device` out of the budgets, or says which
    /// budget refused it and when it would not. Read and counted in this transaction, so
    /// concurrent sends never exceed a budget together. An hour's sends are kept.
    pub fn take_send(
        &self,
        device: i64,
        destination: &str,
        budget: SendBudget,
    ) -> Result<Result<(), SendRefused>, DbError> {
        let since = self.now - HOUR;
        let rows = self.db.execute(
            "SELECT (SELECT max(at) FROM sends WHERE tenant = ?1 AND destination = ?2) AS last_to, \
                    (SELECT count(*) FROM sends WHERE tenant = ?1 AND destination = ?2 AND at > ?3) AS to_count, \
                    (SELECT min(at) FROM sends WHERE tenant = ?1 AND destination = ?2 AND at > ?3) AS to_oldest, \
                    (SELECT count(*) FROM sends WHERE device_id = ?4 AND at > ?3) AS device_count, \
                    (SELECT min(at) FROM sends WHERE device_id = ?4 AND at > ?3) AS device_oldest, \
                    (SELECT count(*) FROM sends WHERE tenant = ?1 AND at > ?3) AS tenant_count, \
                    (SELECT min(at) FROM sends WHERE tenant = ?1 AND at > ?3) AS tenant_oldest",
            &[self.tenant.into(), destination.into(), since.into(), device.into()],
        )?;
        let row = rows.first().ok_or_else(|| DbError("the send budget read returned no row".into()))?;
        let window_end = |column: &str| -> Result<i64, DbError> {
            Ok(row.opt_int(column)?.map_or(1, |oldest| oldest + HOUR - self.now).max(1))
        };
        let refused = if let Some(last) =
            row.opt_int("last_to")?.filter(|last| last + budget.cooldown > self.now)
        {
            Some(SendRefused {
                why: "cooldown of the destination",
                retry_after: last + budget.cooldown - self.now,
            })
        } else if row.int("to_count")? >= budget.per_hour {
            Some(SendRefused { why: "hourly cap of the destination", retry_after: window_end("to_oldest")? })
        } else if row.int("device_count")? >= budget.per_hour {
            Some(SendRefused { why: "hourly cap of the device", retry_after: window_end("device_oldest")? })
        } else if row.int("tenant_count")? >= budget.tenant_per_hour {
            Some(SendRefused { why: "hourly cap of the tenant", retry_after: window_end("tenant_oldest")? })
        } else {
            None
        };
        if let Some(refused) = refused {
            return Ok(Err(refused));
        }
        self.db
            .execute("DELETE FROM sends WHERE tenant = ? AND at <= ?", &[self.tenant.into(), since.into()])?;
        self.db.execute(
            "INSERT INTO sends (tenant, device_id, destination, at) VALUES (?, ?, ?, ?)",
            &[self.tenant.into(), device.into(), destination.into(), self.now.into()],
        )?;
        Ok(Ok(()))
    }

    /// Makes `digest` the code of a plain challenge of new OOB device `device` (of
    /// authenticator `authenticator`) until `expires`: REGISTER-OOB's activation code, single
    /// use as any code is, replaced by the device's next plain challenge.
    pub fn set_activation_code(
        &self,
        authenticator: i64,
        device: i64,
        digest: &[u8],
        expires: i64,
    ) -> Result<(), DbError> {
        let new = NewChallenge {
            authenticator: Some(authenticator),
            device: Some(device),
            kind: ChallengeKind::Plain,
            code_digest: Some(digest),
            ping: None,
            expires,
        };
        self.open_challenge(&new, None)?;
        self.audit(
            AuditAction::ActivationCode,
            Some(device),
            "activation code for the delivery of the first code",
        )
    }

    /// Withdraws challenge `id`, whose code could not be delivered, and gives its send back to
    /// the budgets: nothing reached anyone, and the user may ask again at once.
    pub fn withdraw_challenge(&self, device: i64, id: i64, why: &str) -> Result<(), DbError> {
        self.db.execute(
            "DELETE FROM challenges WHERE id = ? AND tenant = ?",
            &[id.into(), self.tenant.into()],
        )?;
        self.db.execute(
            "DELETE FROM sends WHERE id = (SELECT max(id) FROM sends WHERE device_id = ? AND at = ?)",
            &[device.into(), self.now.into()],
        )?;
        self.audit(AuditAction::DeliveryFailed, Some(device), why)
    }

    /// Closes challenge `id` of `device` after a success that answered it (a device's turn:
    /// the code of a code challenge closed it already), and returns the CIBA ping it owes; a
    /// concurrent success closes it once.
    pub fn close_challenge(&self, device: i64, id: i64) -> Result<Option<Ping>, DbError> {
        let rows = self.db.execute(
            "DELETE FROM challenges WHERE id = ? AND device_id = ? AND tenant = ? RETURNING notify_token, auth_req_id",
            &[id.into(), device.into(), self.tenant.into()],
        )?;
        rows.first().map(ping_from).transpose().map(Option::flatten)
    }

    /// An audit row of an action on an authenticator.
    pub fn audit_authenticator(
        &self,
        action: AuditAction,
        row: &ActionTarget,
        detail: &str,
    ) -> Result<(), DbError> {
        self.audit_event(action, None, Some(row.user_id), Some(&row.scim_id()), detail)
    }

    /// A device verified through HID's dialect is enabled (C to V), as its activation is.
    pub fn activate_device(&self, device: i64) -> Result<(), DbError> {
        let rows = self.db.execute(
            "UPDATE devices SET status = 'V', activated = coalesce(activated, ?1), version = version + 1, \
             modified = ?1 WHERE id = ?2 AND tenant = ?3 AND status = 'C' RETURNING id",
            &[self.now.into(), device.into(), self.tenant.into()],
        )?;
        match rows.is_empty() {
            true => Ok(()),
            false => {
                self.audit(AuditAction::Activate, Some(device), "status C -> V by its first verification")
            }
        }
    }

    /// Counts an answer to the security questions of `challenge`: it closes the challenge
    /// (right or wrong: each asking is answered once), and only an answer that closed it can
    /// succeed. The authenticator's statistics and lockout change as a device's validation
    /// changes them (SPEC §14), unless it refuses validations by now.
    pub fn answer_questions(
        &self,
        subject: &ActionTarget,
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
            false => concat!(
                "consecutive_failed = consecutive_failed + 1, total_failed = total_failed + 1, \
                 consecutive_success = 0, disabled_by_failures = disabled_by_failures OR ",
                authenticator_locks!()
            ),
        };
        let rows = self.db.execute(
            &format!(
                "UPDATE authenticators SET {set}, modified = ?, version = version + 1 WHERE id = ? AND tenant = ? \
                 AND {} = 1 \
                 AND {} IS NULL RETURNING disabled_by_failures",
                owner_active("authenticators.user_id"),
                refusal_of(self.now, "authenticators.id")
            ),
            &[self.now.into(), authenticator.into(), self.tenant.into()],
        )?;
        let Some(row) = rows.first() else {
            self.audit_authenticator(
                AuditAction::ChallengeRefused,
                subject,
                &format!("{identity}: not checked"),
            )?;
            return Ok(Answered::Refused);
        };
        let locked = row.int("disabled_by_failures")? != 0;
        let action = match (won, locked) {
            (true, _) => AuditAction::ChallengeSuccess,
            (false, true) => AuditAction::ChallengeFailureLocked,
            (false, false) => AuditAction::ChallengeFailure,
        };
        self.audit_authenticator(action, subject, &format!("{identity}: security questions"))?;
        Ok(Answered::Counted { won, locked })
    }
}
