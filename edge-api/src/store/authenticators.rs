//! Authenticators (SPEC §14): one row per user and policy, read through [`AUTHENTICATOR_ROWS`]
//! (the row with its owner, its policy and its usable devices), so that the attribute table's
//! columns, the listing and a single read are the same SQL.

use super::listing::{Table, list_query, run_list};
use super::sql::{AUTHENTICATOR_ROWS, authenticator_columns};
use super::tx::{Store, WriteTx};
use super::validation::{
    ChallengeState, DEVICE_ORDER, DEVICE_ORDER_KEYS, Surroundings, challenge_columns, challenge_state_from,
};
use crate::db::{DbError, Row, Sql};
use shared::audit::AuditAction;
use shared::authenticator::{Refusal, Statistics, authenticator_id};
use shared::authenticator_body::AuthenticatorData;
use shared::filter::Condition;
use shared::model::Meta;
use shared::policy::{PolicyKind, Prompt};
use shared::query::{Page, Sort};
use shared::standing::REFUSAL_SQL;
use shared::{DeviceType, Status, Timestamp};

/// A stored answer: its prompt and the argon2id hash of the normalised answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredAnswer {
    pub prompt: String,
    pub hash: String,
}

/// An authenticator as stored, with what [`AUTHENTICATOR_ROWS`] joins to it.
#[derive(Debug, Clone)]
pub struct AuthenticatorRow {
    pub row_id: i64,
    pub user_id: i64,
    pub user_name: String,
    pub policy: String,
    pub policy_display: String,
    /// `None` when its policy is gone (only a database written outside the service can say so).
    pub kind: Option<PolicyKind>,
    pub enabled: bool,
    pub disabled_by_failures: bool,
    pub start_date: Timestamp,
    pub expiry_date: Option<Timestamp>,
    pub statistics: Statistics,
    pub last_device_id: Option<i64>,
    pub answers: Vec<StoredAnswer>,
    /// `Password.username` as its create gave it.
    pub password_username: Option<String>,
    /// The policy's prompts and how many a create must answer.
    pub prompts: Vec<Prompt>,
    pub prompts_required: u32,
    /// Whether it validates at the instant of the query (the attribute table's rule).
    pub active: bool,
    /// Why it refuses validations at that instant, whatever its owner and devices say.
    pub refusal: Option<Refusal>,
    pub user_active: bool,
    pub meta: Meta,
}

impl AuthenticatorRow {
    /// `status.status` as it reads: ENABLED only while enabled and not locked by failures.
    pub fn shown_enabled(&self) -> bool {
        self.enabled && !self.disabled_by_failures
    }

    /// Its SCIM id, `<user id>.<policy>`.
    pub fn scim_id(&self) -> String {
        authenticator_id(self.user_id, &self.policy)
    }
}

/// An authenticator as a named action and the writes it makes use it: which one it is, its
/// kind and answers, and whether it validates now ([`Store::action_target`]).
#[derive(Debug, Clone)]
pub struct ActionTarget {
    pub row_id: i64,
    pub user_id: i64,
    pub policy: String,
    /// `None` when its policy is gone (only a database written outside the service can say so).
    pub kind: Option<PolicyKind>,
    pub answers: Vec<StoredAnswer>,
    pub user_active: bool,
    /// Why it refuses validations at the instant of the read, whatever its devices say.
    pub refusal: Option<Refusal>,
}

impl ActionTarget {
    /// Its SCIM id, `<user id>.<policy>`.
    pub fn scim_id(&self) -> String {
        authenticator_id(self.user_id, &self.policy)
    }
}

impl AuthenticatorRow {
    /// What a write that names it needs of it.
    pub fn target(&self) -> ActionTarget {
        ActionTarget {
            row_id: self.row_id,
            user_id: self.user_id,
            policy: self.policy.clone(),
            kind: self.kind,
            answers: self.answers.clone(),
            user_active: self.user_active,
            refusal: self.refusal,
        }
    }
}

fn target_from(row: Row<'_>) -> Result<ActionTarget, DbError> {
    let (user_id, policy) = (row.int("user_id")?, row.text("policy")?);
    let read = Columns { row, id: authenticator_id(user_id, policy) };
    Ok(ActionTarget {
        row_id: row.int("row_id")?,
        user_id,
        policy: policy.to_owned(),
        kind: read.kind()?,
        answers: read.answers()?,
        user_active: row.int("user_active")? != 0,
        refusal: read.refusal()?,
    })
}

/// The columns of one authenticator's row that hold more than a number or a text, parsed; a
/// value we never write is an error that names the authenticator (`id`) and the column.
struct Columns<'a> {
    row: Row<'a>,
    id: String,
}

impl Columns<'_> {
    fn bad(&self, column: &str) -> DbError {
        DbError(format!("authenticator {}: column {column} holds a value we never write", self.id))
    }

    /// `column`'s JSON, or `T`'s default when it is NULL.
    fn json<T: serde::de::DeserializeOwned + Default>(&self, column: &str) -> Result<T, DbError> {
        match self.row.opt_text(column)? {
            Some(json) => serde_json::from_str(json).map_err(|_| self.bad(column)),
            None => Ok(T::default()),
        }
    }

    /// `column`'s word as `parse` reads it, `None` when it is NULL.
    fn word<T>(&self, column: &str, parse: fn(&str) -> Option<T>) -> Result<Option<T>, DbError> {
        self.row.opt_text(column)?.map(|word| parse(word).ok_or_else(|| self.bad(column))).transpose()
    }

    fn kind(&self) -> Result<Option<PolicyKind>, DbError> {
        self.word("kind", PolicyKind::parse)
    }

    fn refusal(&self) -> Result<Option<Refusal>, DbError> {
        self.word("refusal", Refusal::parse)
    }

    fn answers(&self) -> Result<Vec<StoredAnswer>, DbError> {
        self.json("answers")
    }
}

fn row_from(row: Row<'_>) -> Result<AuthenticatorRow, DbError> {
    let read = Columns { row, id: row.text("scim_id")?.to_owned() };
    let prompts: Vec<Prompt> = read.json("policy_prompts")?;
    let answers = read.answers()?;
    let prompts_required = match row.opt_count::<u32>("prompts_required")? {
        Some(n) => n,
        None => prompts.len() as u32,
    };
    Ok(AuthenticatorRow {
        row_id: row.int("row_id")?,
        user_id: row.int("user_id")?,
        user_name: row.text("user_name")?.to_owned(),
        policy: row.text("policy")?.to_owned(),
        policy_display: row.text("policy_display")?.to_owned(),
        kind: read.kind()?,
        enabled: row.int("enabled")? != 0,
        disabled_by_failures: row.int("disabled_by_failures")? != 0,
        start_date: Timestamp(row.int("start_date")?),
        expiry_date: row.opt_int("expiry_date")?.map(Timestamp),
        statistics: Statistics {
            consecutive_failed: row.count("consecutive_failed")?,
            consecutive_success: row.count("consecutive_success")?,
            maximum_number_of_usages: row.count("max_usages")?,
            total_failed: row.count("total_failed")?,
            total_success: row.count("total_success")?,
        },
        last_device_id: row.opt_int("last_device_id")?,
        answers,
        password_username: row.opt_text("password_username")?.map(str::to_owned),
        prompts,
        prompts_required,
        active: row.int("active")? != 0,
        refusal: read.refusal()?,
        user_active: row.int("user_active")? != 0,
        meta: Meta::new(
            "Authenticator",
            Timestamp(row.int("created")?),
            Timestamp(row.int("modified")?),
            row.int("version")?,
        ),
    })
}

/// The columns with `active` at `now`.
fn columns_at(now: i64) -> String {
    authenticator_columns().replace("{now}", &now.to_string())
}

impl Store<'_> {
    /// The authenticator of `user_id` for `policy` in `tenant`.
    pub fn get_authenticator(&self, user_id: i64, policy: &str) -> Result<Option<AuthenticatorRow>, DbError> {
        let (db, tenant, now) = (self.db, self.actor.tenant, self.now);
        let rows = db.execute(
            &format!(
                "SELECT {} FROM {AUTHENTICATOR_ROWS} WHERE tenant = ? AND user_id = ? AND policy = ?",
                columns_at(now)
            ),
            &[tenant.into(), user_id.into(), policy.into()],
        )?;
        rows.first().map(row_from).transpose()
    }

    /// The authenticator of `user_id` for `policy` as a named action acts on it, with its
    /// devices as a check reads them, the likeliest to be meant first ([`DEVICE_ORDER`]), in one
    /// statement: a named action reads what it checks in one round trip. The target's columns,
    /// then `devices_follow`, then a device's on every row (NULLs on the one row of an
    /// authenticator without devices). One flat join, not [`AUTHENTICATOR_ROWS`]: a component
    /// on a connection per request prepares it for every VERIFY, and a flat join of the few
    /// columns an action needs prepares in a third of the time.
    pub fn action_target(
        &self,
        user_id: i64,
        policy: &str,
    ) -> Result<Option<(ActionTarget, Vec<ChallengeState>)>, DbError> {
        let (db, tenant, now) = (self.db, self.actor.tenant, self.now);
        let rows = db.execute(
            &format!(
                "SELECT a.id AS row_id, a.user_id AS user_id, a.policy AS policy, p.kind AS kind, \
                 a.answers AS answers, u.active AS user_active, ({}) AS refusal, NULL AS devices_follow, {}, {} \
                 FROM authenticators a JOIN users u ON u.id = a.user_id \
                 LEFT JOIN policies p ON p.tenant = a.tenant AND p.id = a.policy \
                 LEFT JOIN devices ON devices.authenticator_id = a.id AND devices.tenant = a.tenant \
                 WHERE a.tenant = ? AND a.user_id = ? AND a.policy = ? ORDER BY {DEVICE_ORDER}",
                REFUSAL_SQL.replace("{now}", &now.to_string()),
                challenge_columns(now, Surroundings::Joined),
                DEVICE_ORDER_KEYS.replace("{now}", &now.to_string()),
            ),
            &[tenant.into(), user_id.into(), policy.into()],
        )?;
        let mut found = None;
        let mut devices = Vec::new();
        for row in rows.iter() {
            let (target, device) = row.split("devices_follow")?;
            if found.is_none() {
                found = Some(target_from(target)?);
            }
            if device.opt_int("id")?.is_some() {
                devices.push(challenge_state_from(device)?);
            }
        }
        Ok(found.map(|target| (target, devices)))
    }

    /// One page of a tenant's authenticators matching a filter, and how many match in all; `active`
    /// in the filter and in the rows is as of `now`.
    pub fn list_authenticators(
        &self,
        condition: Option<&Condition>,
        sort: Option<&Sort>,
        page: Page,
    ) -> Result<(u64, Vec<AuthenticatorRow>), DbError> {
        let (db, tenant, now) = (self.db, self.actor.tenant, self.now);
        let (total, rows) =
            run_list(db, list_query(Table::Authenticators, tenant, condition, sort).at(now), page)?;
        Ok((total, rows.iter().map(row_from).collect::<Result<_, _>>()?))
    }
}

/// Why an authenticator write was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthenticatorRefused {
    /// The user already has one for that policy.
    Taken,
    /// It changed (or went) since it was read.
    Stale,
}

impl WriteTx<'_> {
    /// The id and userName of the tenant's user `id`, if there is one.
    pub fn user_by_id(&self, id: i64) -> Result<Option<(i64, String)>, DbError> {
        let rows = self.db.execute(
            "SELECT user_name FROM users WHERE id = ? AND tenant = ?",
            &[id.into(), self.tenant.into()],
        )?;
        rows.first().map(|r| Ok((id, r.text("user_name")?.to_owned()))).transpose()
    }

    /// The tenant's user called `name` (case-insensitively), created when there is none.
    pub fn user_named(&self, name: &str) -> Result<(i64, String), DbError> {
        self.user_for_device(name)
    }

    /// A user's primary email address or phone number (the first when none is primary).
    pub fn primary_contact(&self, user_id: i64, t: DeviceType) -> Result<Option<String>, DbError> {
        let kind = match t {
            DeviceType::Email => "email",
            DeviceType::Sms => "phone",
            _ => return Ok(None),
        };
        let rows = self.db.execute(
            "SELECT value FROM user_contacts WHERE user_id = ? AND kind = ? \
             ORDER BY coalesce(is_primary, 0) DESC, position LIMIT 1",
            &[user_id.into(), kind.into()],
        )?;
        rows.first().map(|r| r.text("value").map(str::to_owned)).transpose()
    }

    /// Creates the authenticator of `user_id` for `policy`: its row id, or `Taken`.
    pub fn create_authenticator(
        &self,
        user_id: i64,
        policy: &str,
        data: &AuthenticatorData,
        answers: &[StoredAnswer],
    ) -> Result<Result<i64, AuthenticatorRefused>, DbError> {
        let rows = self.db.execute(
            "INSERT INTO authenticators (tenant, user_id, policy, enabled, start_date, expiry_date, answers, \
             password_username, created, modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (tenant, user_id, policy) DO NOTHING RETURNING id",
            &[
                self.tenant.into(),
                user_id.into(),
                policy.into(),
                i64::from(data.enabled).into(),
                data.start_date.0.into(),
                data.expiry_date.map(|t| t.0).into(),
                answers_json(answers)?,
                data.password_username.clone().into(),
                self.now.into(),
                self.now.into(),
            ],
        )?;
        let Some(row) = rows.first() else { return Ok(Err(AuthenticatorRefused::Taken)) };
        let identity = authenticator_id(user_id, policy);
        self.audit_event(AuditAction::AuthenticatorCreate, None, Some(user_id), Some(&identity), &identity)?;
        Ok(Ok(row.int("id")?))
    }

    /// Writes a replace if the authenticator is still at `version`, and with `reset` ends a
    /// lockout by failures as RESET does.
    pub fn update_authenticator(
        &self,
        current: &AuthenticatorRow,
        version: i64,
        data: &AuthenticatorData,
        reset: bool,
        answers: Option<&[StoredAnswer]>,
        pin_hash: Option<&str>,
    ) -> Result<Result<(), AuthenticatorRefused>, DbError> {
        let new_answers = answers.is_some();
        let answers = answers_json(answers.unwrap_or(&current.answers))?;
        let rows = self.db.execute(
            "UPDATE authenticators SET enabled = ?, start_date = ?, expiry_date = ?, answers = ?, modified = ?, \
             version = version + 1 WHERE id = ? AND version = ? RETURNING id",
            &[
                i64::from(data.enabled).into(),
                data.start_date.0.into(),
                data.expiry_date.map(|t| t.0).into(),
                answers,
                self.now.into(),
                current.row_id.into(),
                version.into(),
            ],
        )?;
        if rows.is_empty() {
            return Ok(Err(AuthenticatorRefused::Stale));
        }
        let identity = current.scim_id();
        match (current.enabled, data.enabled) {
            (true, false) => self.disable_devices(current.row_id, &identity)?,
            (false, true) => self.restore_devices(current.row_id, &identity)?,
            _ => {}
        }
        if reset {
            self.end_lockout(current.row_id)?;
        }
        if let Some(hash) = pin_hash {
            self.db.execute(
                "UPDATE devices SET pin_hash = ?, fails = 0, version = version + 1, modified = ? \
                 WHERE authenticator_id = ? AND type = 'PIN'",
                &[hash.into(), self.now.into(), current.row_id.into()],
            )?;
        }
        let what = [
            (current.enabled != data.enabled).then_some(if data.enabled { "enabled" } else { "disabled" }),
            (current.start_date != data.start_date || current.expiry_date != data.expiry_date)
                .then_some("validity dates"),
            pin_hash.map(|_| "password"),
            new_answers.then_some("answers"),
        ];
        let detail: Vec<&str> = what.into_iter().flatten().collect();
        self.audit_event(
            AuditAction::AuthenticatorReplace,
            None,
            Some(current.user_id),
            Some(&identity),
            &format!("{identity}: {}", detail.join(", ")),
        )?;
        Ok(Ok(()))
    }

    /// Disabling an authenticator disables its devices in Soffid's view (D), each remembering
    /// its status, with an audit row each: one disable, seen in both views.
    fn disable_devices(&self, row_id: i64, identity: &str) -> Result<(), DbError> {
        self.devices_with_authenticator(
            row_id,
            AuditAction::DisabledWithAuthenticator,
            identity,
            "status IN ('C', 'V', 'L')",
            "status_before_disable = status, status = 'D'",
        )
    }

    /// Enabling an authenticator again gives the devices its disabling disabled the status each
    /// remembered.
    fn restore_devices(&self, row_id: i64, identity: &str) -> Result<(), DbError> {
        self.devices_with_authenticator(
            row_id,
            AuditAction::EnabledWithAuthenticator,
            identity,
            "status = 'D' AND status_before_disable IS NOT NULL",
            "status = status_before_disable, status_before_disable = NULL",
        )
    }

    /// Changes (`set`) the devices of authenticator `row_id` that `which` selects, after an audit
    /// row of `action` for each.
    fn devices_with_authenticator(
        &self,
        row_id: i64,
        action: AuditAction,
        identity: &str,
        which: &str,
        set: &str,
    ) -> Result<(), DbError> {
        self.db.execute(
            &format!(
                "INSERT INTO audit (tenant, at, actor, action, device_id, authenticator, detail) \
                 SELECT tenant, ?1, 'scim-otp', ?2, id, ?3, ?3 FROM devices WHERE authenticator_id = ?4 AND {which}"
            ),
            &[self.now.into(), action.as_str().into(), identity.into(), row_id.into()],
        )?;
        self.db.execute(
            &format!(
                "UPDATE devices SET {set}, version = version + 1, modified = ?1 WHERE authenticator_id = ?2 AND {which}"
            ),
            &[self.now.into(), row_id.into()],
        )?;
        Ok(())
    }

    /// An admin made a device of authenticator `row_id` usable again (`before` L or D, `after`
    /// C or V, through Soffid's dialect): that ends the authenticator's lockout by failures, and
    /// a device enabled enables its authenticator (and so the devices its disabling disabled).
    pub(super) fn device_usable_again(
        &self,
        row_id: i64,
        before: Status,
        after: Status,
    ) -> Result<(), DbError> {
        let usable = |s: Status| matches!(s, Status::Created | Status::Validated);
        if !matches!(before, Status::Locked | Status::Disabled) || !usable(after) {
            return Ok(());
        }
        if before == Status::Disabled {
            let enabled = self.db.execute(
                "UPDATE authenticators SET enabled = 1, modified = ?, version = version + 1 \
                 WHERE id = ? AND enabled = 0 RETURNING user_id || '.' || policy AS identity",
                &[self.now.into(), row_id.into()],
            )?;
            if let Some(row) = enabled.first() {
                self.restore_devices(row_id, row.text("identity")?)?;
            }
        }
        self.db.execute(
            "UPDATE authenticators SET consecutive_failed = 0, disabled_by_failures = 0, modified = ?, \
             version = version + 1 WHERE id = ? AND (consecutive_failed > 0 OR disabled_by_failures = 1)",
            &[self.now.into(), row_id.into()],
        )?;
        Ok(())
    }

    /// RESET (SPEC §14): the lockout by failures ends, audited.
    pub fn reset_authenticator(&self, row: &ActionTarget) -> Result<(), DbError> {
        self.end_lockout(row.row_id)?;
        let identity = row.scim_id();
        self.audit_event(AuditAction::AuthenticatorReset, None, Some(row.user_id), Some(&identity), &identity)
    }

    /// Ends a lockout by failures: consecutive failures 0, and the devices it locked unlocked
    /// (V, fails 0). Its caller writes the audit row of what ended it.
    fn end_lockout(&self, row_id: i64) -> Result<(), DbError> {
        self.db.execute(
            "UPDATE authenticators SET consecutive_failed = 0, disabled_by_failures = 0, modified = ?, \
             version = version + 1 WHERE id = ?",
            &[self.now.into(), row_id.into()],
        )?;
        self.db.execute(
            "UPDATE devices SET status = 'V', fails = 0, version = version + 1, modified = ? \
             WHERE authenticator_id = ? AND status = 'L'",
            &[self.now.into(), row_id.into()],
        )?;
        Ok(())
    }

    /// Deletes the authenticator and its devices if it is still at `version` (any version when
    /// `None`).
    pub fn delete_authenticator(
        &self,
        current: &ActionTarget,
        version: Option<i64>,
    ) -> Result<Result<(), AuthenticatorRefused>, DbError> {
        let rows = self.db.execute(
            "DELETE FROM authenticators WHERE id = ? AND (?2 IS NULL OR version = ?2) RETURNING id",
            &[current.row_id.into(), version.into()],
        )?;
        if rows.is_empty() {
            return Ok(Err(AuthenticatorRefused::Stale));
        }
        // Its hardware tokens go back to stock (SPEC §19); the enrolled devices go with it.
        let why = format!("authenticator {} deleted", current.scim_id());
        self.return_to_stock("authenticator_id = ?", &[current.row_id.into()], &why)?;
        let devices = self.db.execute(
            "DELETE FROM devices WHERE authenticator_id = ? RETURNING id",
            &[current.row_id.into()],
        )?;
        let id = current.scim_id();
        for row in devices.iter() {
            self.audit_event(
                AuditAction::Delete,
                Some(row.int("id")?),
                None,
                Some(&id),
                &format!("with authenticator {id}"),
            )?;
        }
        self.audit_event(AuditAction::AuthenticatorDelete, None, Some(current.user_id), Some(&id), &id)?;
        Ok(Ok(()))
    }
}

fn answers_json(answers: &[StoredAnswer]) -> Result<Sql, DbError> {
    match answers.is_empty() {
        true => Ok(Sql::Null),
        false => serde_json::to_string(answers).map(Sql::Text).map_err(|e| DbError(e.to_string())),
    }
}
