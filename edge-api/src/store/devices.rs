//! Devices (SPEC §2): their rows, create, replace, delete, and what a challenge counts.

use super::listing::{Table, list_query, run_list};
use super::rows::{device_from_row, devices_from_rows, one_device};
use super::sql::{DEVICE_COLUMNS, OWNED};
use super::tx::{Store, WriteTx};
use crate::db::{DbError, Sql};
use shared::audit::AuditAction;
use shared::filter::Condition;
use shared::names::device_name;
use shared::query::{Page, Sort};
use shared::validate::{Changes, NewDevice};
use shared::{Algorithm, DeviceType, OtpDevice};

/// What a create stores besides the checked request: the sealed seed and PIN hash.
pub struct Secrets {
    pub sealed_seed: Option<Vec<u8>>,
    pub pin_hash: Option<String>,
}

impl Store<'_> {
    /// An existing device that a new one would duplicate: a user has one PIN, and one EMAIL or SMS
    /// device per address. TOTP/HOTP devices may repeat (a spare token is normal).
    pub fn find_duplicate(&self, new: &NewDevice) -> Result<Option<i64>, DbError> {
        let (db, tenant) = (self.db, self.actor.tenant);
        let target = match new.device_type {
            DeviceType::Pin => Sql::Null,
            DeviceType::Email => new.email.clone().into(),
            DeviceType::Sms => new.phone.clone().into(),
            DeviceType::Totp | DeviceType::Hotp => return Ok(None),
        };
        let rows = db.execute(
            "SELECT id FROM devices WHERE tenant = ? AND lower(user_name) = lower(?) AND type = ? \
             AND (? IS NULL OR lower(coalesce(email, phone)) = lower(?)) LIMIT 1",
            &[
                tenant.into(),
                new.user.as_str().into(),
                new.device_type.as_str().into(),
                target.clone(),
                target,
            ],
        )?;
        rows.first().map(|r| r.int("id")).transpose()
    }

    /// A device of `tenant`; one of another tenant is not found.
    pub fn get_device(&self, id: i64) -> Result<Option<OtpDevice>, DbError> {
        let (db, tenant) = (self.db, self.actor.tenant);
        one_device(&db.execute(
            &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ? AND tenant = ? AND {OWNED}"),
            &[id.into(), tenant.into()],
        )?)
    }

    /// One page of a tenant's devices matching a filter, and how many match in all.
    pub fn list_devices(
        &self,
        condition: Option<&Condition>,
        sort: Option<&Sort>,
        page: Page,
    ) -> Result<(u64, Vec<OtpDevice>), DbError> {
        let (db, tenant) = (self.db, self.actor.tenant);
        let (total, rows) = run_list(db, list_query(Table::Devices, tenant, condition, sort), page)?;
        Ok((total, devices_from_rows(&rows)?))
    }
}

impl WriteTx<'_> {
    pub fn find_duplicate(&self, new: &NewDevice) -> Result<Option<i64>, DbError> {
        self.reads().find_duplicate(new)
    }

    /// Creates a device with the next serial of its type (`TOTP00000035`, never reused), bound
    /// to `authenticator` (its row id and policy code), or when `None` to its owner's for the
    /// tenant's default policy of its kind.
    pub fn create_device(
        &self,
        new: &NewDevice,
        secrets: &Secrets,
        authenticator: Option<(i64, &str)>,
    ) -> Result<OtpDevice, DbError> {
        let serial = if new.device_type.has_seed() {
            let rows = self.db.execute(
                "INSERT INTO serials (type, next) VALUES (?, 1) \
                 ON CONFLICT (type) DO UPDATE SET next = next + 1 RETURNING next",
                &[new.device_type.as_str().into()],
            )?;
            rows.first().ok_or_else(|| DbError("serial upsert returned no row".into()))?.count("next")?
        } else {
            0
        };
        let name = device_name(new.device_type, serial, new.email.as_deref(), new.phone.as_deref());
        let (user_id, user_name) = self.user_for_device(&new.user)?;
        let authenticator = match authenticator {
            Some((id, policy)) => Some((id, policy.to_owned())),
            None => self.default_authenticator(user_id, new.device_type)?,
        };
        let rows = self.db.execute(
            &format!(
                "INSERT INTO devices (tenant, user_id, authenticator_id, name, type, user_name, status, fails, created, \
                 modified, email, phone, algorithm, digits, period, seed, pin_hash, hotp_counter, external_id, \
                 assigned, time_drift) \
                 VALUES (?, ?, ?, ?, ?, ?, 'C', 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {DEVICE_COLUMNS}"
            ),
            &[
                self.tenant.into(),
                user_id.into(),
                authenticator.as_ref().map(|(id, _)| *id).into(),
                name.as_str().into(),
                new.device_type.as_str().into(),
                user_name.as_str().into(),
                self.now.into(),
                self.now.into(),
                new.email.clone().into(),
                new.phone.clone().into(),
                new.algorithm.map(Algorithm::as_str).into(),
                new.digits.map(i64::from).into(),
                new.period.map(i64::from).into(),
                secrets.sealed_seed.clone().map_or(Sql::Null, Sql::Blob),
                secrets.pin_hash.clone().into(),
                (new.device_type == DeviceType::Hotp).then_some(0i64).into(),
                new.external_id.clone().into(),
                self.now.into(),
                (new.device_type == DeviceType::Totp).then_some(0i64).into(),
            ],
        )?;
        let device = one_device(&rows)?.ok_or_else(|| DbError("insert returned no row".into()))?;
        let bound =
            authenticator.map_or(String::new(), |(_, policy)| format!(", authenticator {user_id}.{policy}"));
        self.audit(
            AuditAction::Create,
            Some(device.id),
            &format!("{} for {}{bound}", device.device_type, device.user),
        )?;
        Ok(device)
    }

    /// The authenticator a device created through `/OtpDevice` joins (SPEC §14): its owner's for
    /// the tenant's default policy of its kind, created on the fly with the policy's validity;
    /// its id and policy code, `None` when the tenant has no default of that kind.
    pub fn default_authenticator(
        &self,
        user_id: i64,
        t: DeviceType,
    ) -> Result<Option<(i64, String)>, DbError> {
        let rows = self.db.execute(
            "INSERT INTO authenticators (tenant, user_id, policy, start_date, expiry_date, created, modified) \
             SELECT ?1, ?2, p.id, ?3, CASE WHEN p.validity_days > 0 THEN ?3 + p.validity_days * 86400 END, ?3, ?3 \
             FROM policies p WHERE p.tenant = ?1 AND p.kind = ?4 AND p.is_default = 1 \
             ON CONFLICT (tenant, user_id, policy) DO UPDATE SET modified = modified RETURNING id, policy",
            &[
                self.tenant.into(),
                user_id.into(),
                self.now.into(),
                shared::policy::PolicyKind::of_device(t).as_str().into(),
            ],
        )?;
        rows.first().map(|row| Ok((row.int("id")?, row.text("policy")?.to_owned()))).transpose()
    }

    /// Writes a PUT/PATCH result if the device is still at `version` (that of `current`); `None`
    /// if it moved on (or is gone), and then nothing is written.
    pub fn update_device(
        &self,
        action: AuditAction,
        current: &OtpDevice,
        version: i64,
        changes: &Changes,
        pin_hash: Option<String>,
    ) -> Result<Option<OtpDevice>, DbError> {
        let pin_changed = pin_hash.is_some();
        // A device its authenticator's disabling disabled forgets the status it remembered when
        // an admin enables it directly.
        let rows = self.db.execute(
            &format!(
                "UPDATE devices SET status = ?1, fails = ?2, external_id = ?3, pin_hash = coalesce(?4, pin_hash), \
                 status_before_disable = CASE WHEN status = 'D' AND ?1 IN ('C', 'V') THEN NULL \
                 ELSE status_before_disable END, \
                 activated = CASE WHEN ?1 = 'V' THEN coalesce(activated, ?5) ELSE activated END, \
                 version = version + 1, modified = ?5 \
                 WHERE id = ?6 AND tenant = ?7 AND version = ?8 RETURNING {DEVICE_COLUMNS}, authenticator_id"
            ),
            &[
                changes.status.as_str().into(),
                i64::from(changes.fails).into(),
                changes.external_id.clone().into(),
                pin_hash.into(),
                self.now.into(),
                current.id.into(),
                self.tenant.into(),
                version.into(),
            ],
        )?;
        let Some(row) = rows.first() else { return Ok(None) };
        let updated = device_from_row(row)?;
        if let Some(authenticator) = row.opt_int("authenticator_id")? {
            self.device_usable_again(authenticator, current.status, updated.status)?;
        }
        let detail = format!(
            "status {} -> {}, fails {} -> {}{}{}",
            current.status,
            updated.status,
            current.fails,
            updated.fails,
            if pin_changed { ", PIN changed" } else { "" },
            if updated.external_id != current.external_id { ", externalId changed" } else { "" }
        );
        self.audit(action, Some(current.id), &detail)?;
        Ok(Some(updated))
    }

    /// Deletes a device if it is still at `version` (any version when `None`); true if it was.
    /// A hardware token is not deleted but goes back to stock (SPEC §19): its seed is in the
    /// token, which an admin hands out again.
    pub fn delete_device(&self, current: &OtpDevice, version: Option<i64>) -> Result<bool, DbError> {
        let params = [current.id.into(), self.tenant.into(), version.into(), version.into()];
        let restocked = self.return_to_stock(
            "id = ? AND tenant = ? AND (? IS NULL OR version = ?)",
            &params,
            &format!("its OtpDevice deleted ({})", current.user),
        )?;
        if restocked > 0 {
            return Ok(true);
        }
        let rows = self.db.execute(
            &format!(
                "DELETE FROM devices WHERE id = ? AND tenant = ? AND {OWNED} AND origin = 'enrolled' \
                 AND (? IS NULL OR version = ?) RETURNING id"
            ),
            &params,
        )?;
        if rows.is_empty() {
            return Ok(false);
        }
        let detail = format!("{} {} of {}", current.device_type, current.name, current.user);
        self.audit(AuditAction::Delete, Some(current.id), &detail)?;
        Ok(true)
    }

    /// Counts a challenge whose code went out and, with the dev outbox, keeps the message there.
    pub fn code_sent(&self, id: i64, outbox: Option<(&str, &str, &str)>) -> Result<(), DbError> {
        self.db.execute("UPDATE devices SET challenges = challenges + 1 WHERE id = ?", &[id.into()])?;
        if let Some((channel, to, message)) = outbox {
            self.db.execute(
                "INSERT INTO outbox (tenant, at, device_id, channel, recipient, message) VALUES (?, ?, ?, ?, ?, ?)",
                &[self.tenant.into(), self.now.into(), id.into(), channel.into(), to.into(), message.into()],
            )?;
        }
        let via = if outbox.is_some() { "code in the dev outbox" } else { "code for the delivery gateway" };
        self.audit(AuditAction::RequestChallenge, Some(id), via)
    }

    /// Counts a challenge that sends nothing (TOTP, HOTP, PIN).
    pub fn count_challenge(&self, id: i64) -> Result<(), DbError> {
        self.db.execute("UPDATE devices SET challenges = challenges + 1 WHERE id = ?", &[id.into()])?;
        self.audit(AuditAction::RequestChallenge, Some(id), "")
    }
}
