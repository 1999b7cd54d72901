//! Users (SPEC §17): rows with their contacts, lookups, create, replace, delete.

use super::listing::{Table, list_query, run_list};
use super::rows::devices_from_rows;
use super::sql::{DEVICE_COLUMNS, USER_COLUMNS};
use super::tx::{Store, WriteTx};
use crate::db::{Database, DbError, Row, Rows, Sql};
use shared::Timestamp;
use shared::User;
use shared::audit::AuditAction;
use shared::authenticator::authenticator_id;
use shared::filter::Condition;
use shared::model::{Meta, MultiValue, Name, USER_SCHEMA};
use shared::query::{Page, Sort};
use shared::schema::USER;
use shared::user::UserData;

pub(super) fn user_from_row(row: Row<'_>) -> Result<User, DbError> {
    Ok(User {
        schemas: vec![USER_SCHEMA.to_owned()],
        id: row.int("id")?.to_string(),
        external_id: row.opt_text("external_id")?.map(str::to_owned),
        user_name: row.text("user_name")?.to_owned(),
        display_name: row.opt_text("display_name")?.map(str::to_owned),
        name: Name {
            formatted: row.opt_text("formatted_name")?.map(str::to_owned),
            family_name: row.opt_text("family_name")?.map(str::to_owned),
            given_name: row.opt_text("given_name")?.map(str::to_owned),
        },
        active: row.int("active")? != 0,
        emails: Vec::new(),
        phone_numbers: Vec::new(),
        meta: Meta::new(
            USER.name,
            Timestamp(row.int("created")?),
            Timestamp(row.int("modified")?),
            row.int("version")?,
        ),
    })
}

/// Users from their rows, with their `emails` and `phoneNumbers` read in one more statement.
pub(super) fn users_from_rows(db: &dyn Database, rows: &Rows) -> Result<Vec<User>, DbError> {
    let mut users: Vec<User> = rows.iter().map(user_from_row).collect::<Result<_, _>>()?;
    if users.is_empty() {
        return Ok(users);
    }
    let ids: Vec<Sql> = rows.iter().map(|r| r.int("id").map(Sql::Int)).collect::<Result<_, _>>()?;
    let marks = vec!["?"; ids.len()].join(", ");
    let entries = db.execute(
        &format!(
            "SELECT user_id, kind, value, type, is_primary FROM user_contacts WHERE user_id IN ({marks}) \
             ORDER BY user_id, kind, position"
        ),
        &ids,
    )?;
    for entry in entries.iter() {
        let id = entry.int("user_id")?.to_string();
        let Some(user) = users.iter_mut().find(|u| u.id == id) else { continue };
        let value = MultiValue {
            value: entry.text("value")?.to_owned(),
            kind: entry.opt_text("type")?.map(str::to_owned),
            primary: entry.opt_int("is_primary")?.map(|p| p != 0),
        };
        match entry.text("kind")? {
            "email" => user.emails.push(value),
            _ => user.phone_numbers.push(value),
        }
    }
    Ok(users)
}

impl Store<'_> {
    /// A user of `tenant` by id; one of another tenant is not found.
    pub fn get_user(&self, id: i64) -> Result<Option<User>, DbError> {
        let (db, tenant) = (self.db, self.actor.tenant);
        let rows = db.execute(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ? AND tenant = ?"),
            &[id.into(), tenant.into()],
        )?;
        Ok(users_from_rows(db, &rows)?.into_iter().next())
    }

    /// The user of `tenant` whose userName is `name`, case-insensitively.
    pub fn user_id_by_name(&self, name: &str) -> Result<Option<(i64, String)>, DbError> {
        let (db, tenant) = (self.db, self.actor.tenant);
        let rows = db.execute(
            "SELECT id, user_name FROM users WHERE tenant = ? AND lower(user_name) = lower(?)",
            &[tenant.into(), name.into()],
        )?;
        rows.first().map(|r| Ok((r.int("id")?, r.text("user_name")?.to_owned()))).transpose()
    }

    /// The user of `tenant` whom HID's `USER.EXTERNALID` names: the one whose SCIM `externalId` it
    /// is (case-exact, RFC 7643 §3.1), else the one whose userName it is (case-insensitively).
    pub fn user_id_by_external_id(&self, value: &str) -> Result<Option<i64>, DbError> {
        let (db, tenant) = (self.db, self.actor.tenant);
        let rows = db.execute(
            "SELECT id FROM users WHERE tenant = ?1 AND (external_id = ?2 OR lower(user_name) = lower(?2)) \
             ORDER BY external_id IS ?2 DESC, id LIMIT 1",
            &[tenant.into(), value.into()],
        )?;
        rows.first().map(|r| r.int("id")).transpose()
    }

    /// One page of a tenant's users matching a filter, and how many match in all.
    pub fn list_users(
        &self,
        condition: Option<&Condition>,
        sort: Option<&Sort>,
        page: Page,
    ) -> Result<(u64, Vec<User>), DbError> {
        let (db, tenant) = (self.db, self.actor.tenant);
        let (total, rows) = run_list(db, list_query(Table::Users, tenant, condition, sort), page)?;
        Ok((total, users_from_rows(db, &rows)?))
    }
}

/// Why a user write did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRefused {
    /// Another user of the tenant has this userName (case-insensitively): its id.
    NameTaken(i64),
    /// The user moved on from the expected version, or is gone.
    Stale,
}

impl WriteTx<'_> {
    /// The owner of a new device: the user of that name, created in this transaction when the
    /// tenant has none (SPEC §17). Returns its id and its userName as stored.
    pub(super) fn user_for_device(&self, name: &str) -> Result<(i64, String), DbError> {
        if let Some(found) = self.reads().user_id_by_name(name)? {
            return Ok(found);
        }
        let rows = self.db.execute(
            "INSERT INTO users (tenant, user_name, created, modified) VALUES (?, ?, ?, ?) RETURNING id",
            &[self.tenant.into(), name.into(), self.now.into(), self.now.into()],
        )?;
        let id = rows.first().ok_or_else(|| DbError("user insert returned no row".into()))?.int("id")?;
        self.audit_row(AuditAction::UserCreate, None, Some(id), &format!("{name} (for a new device)"))?;
        Ok((id, name.to_owned()))
    }

    pub(super) fn write_entries(&self, user_id: i64, data: &UserData) -> Result<(), DbError> {
        self.db.execute("DELETE FROM user_contacts WHERE user_id = ?", &[user_id.into()])?;
        for (kind, list) in [("email", &data.emails), ("phone", &data.phone_numbers)] {
            for (position, entry) in list.iter().enumerate() {
                self.db.execute(
                    "INSERT INTO user_contacts (user_id, kind, position, value, type, is_primary) VALUES (?, ?, ?, ?, ?, ?)",
                    &[
                        user_id.into(),
                        kind.into(),
                        (position as i64).into(),
                        entry.value.as_str().into(),
                        entry.kind.clone().into(),
                        entry.primary.map(i64::from).into(),
                    ],
                )?;
            }
        }
        Ok(())
    }

    pub(super) fn name_taken(&self, name: &str, except: i64) -> Result<Option<i64>, DbError> {
        Ok(self.reads().user_id_by_name(name)?.map(|(id, _)| id).filter(|id| *id != except))
    }

    pub fn create_user(&self, data: &UserData) -> Result<Result<User, UserRefused>, DbError> {
        if let Some(existing) = self.name_taken(&data.user_name, 0)? {
            return Ok(Err(UserRefused::NameTaken(existing)));
        }
        let rows = self.db.execute(
            "INSERT INTO users (tenant, user_name, external_id, display_name, formatted_name, family_name, given_name, \
             active, created, modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            &[
                self.tenant.into(),
                data.user_name.as_str().into(),
                data.external_id.clone().into(),
                data.display_name.clone().into(),
                data.name.formatted.clone().into(),
                data.name.family_name.clone().into(),
                data.name.given_name.clone().into(),
                i64::from(data.active).into(),
                self.now.into(),
                self.now.into(),
            ],
        )?;
        let id = rows.first().ok_or_else(|| DbError("user insert returned no row".into()))?.int("id")?;
        self.write_entries(id, data)?;
        self.audit_row(AuditAction::UserCreate, None, Some(id), &data.user_name)?;
        self.reads().get_user(id)?.ok_or_else(|| DbError("a created user is gone".into())).map(Ok)
    }

    /// Writes a PUT/PATCH result if the user is still at `version`. A new userName must be free
    /// in the tenant, and the user's devices follow it (their version moves on too).
    pub fn replace_user(
        &self,
        current: &User,
        version: i64,
        data: &UserData,
    ) -> Result<Result<User, UserRefused>, DbError> {
        let id: i64 = current.id.parse().map_err(|_| DbError(format!("user id {:?}", current.id)))?;
        if let Some(existing) = self.name_taken(&data.user_name, id)? {
            return Ok(Err(UserRefused::NameTaken(existing)));
        }
        let rows = self.db.execute(
            "UPDATE users SET user_name = ?, external_id = ?, display_name = ?, formatted_name = ?, family_name = ?, \
             given_name = ?, active = ?, modified = ?, version = version + 1 \
             WHERE id = ? AND tenant = ? AND version = ? RETURNING id",
            &[
                data.user_name.as_str().into(),
                data.external_id.clone().into(),
                data.display_name.clone().into(),
                data.name.formatted.clone().into(),
                data.name.family_name.clone().into(),
                data.name.given_name.clone().into(),
                i64::from(data.active).into(),
                self.now.into(),
                id.into(),
                self.tenant.into(),
                version.into(),
            ],
        )?;
        if rows.is_empty() {
            return Ok(Err(UserRefused::Stale));
        }
        self.write_entries(id, data)?;
        let mut detail = String::new();
        if data.user_name != current.user_name {
            let moved = self.db.execute(
                "UPDATE devices SET user_name = ?, version = version + 1, modified = ? WHERE user_id = ? RETURNING id",
                &[data.user_name.as_str().into(), self.now.into(), id.into()],
            )?;
            detail = format!(
                "renamed {} -> {}, {} devices follow",
                current.user_name,
                data.user_name,
                moved.rows.len()
            );
        }
        if data.active != current.active {
            detail.push_str(if data.active { " activated" } else { " deactivated" });
        }
        self.audit_row(AuditAction::UserReplace, None, Some(id), detail.trim())?;
        self.reads().get_user(id)?.ok_or_else(|| DbError("a replaced user is gone".into())).map(Ok)
    }

    /// Deletes a user still at `version` (any when `None`) with its devices, each audited.
    pub fn delete_user(&self, current: &User, version: Option<i64>) -> Result<bool, DbError> {
        let id: i64 = current.id.parse().map_err(|_| DbError(format!("user id {:?}", current.id)))?;
        let rows = self.db.execute(
            "DELETE FROM users WHERE id = ? AND tenant = ? AND (? IS NULL OR version = ?) RETURNING id",
            &[id.into(), self.tenant.into(), version.into(), version.into()],
        )?;
        if rows.is_empty() {
            return Ok(false);
        }
        let devices = self.db.execute(
            &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE user_id = ? AND tenant = ?"),
            &[id.into(), self.tenant.into()],
        )?;
        let devices = devices_from_rows(&devices)?;
        for device in &devices {
            self.delete_device(device, None)?;
        }
        self.db.execute("DELETE FROM user_contacts WHERE user_id = ?", &[id.into()])?;
        let authenticators = self.db.execute(
            "DELETE FROM authenticators WHERE user_id = ? AND tenant = ? RETURNING policy",
            &[id.into(), self.tenant.into()],
        )?;
        for row in authenticators.iter() {
            let identity = authenticator_id(id, row.text("policy")?);
            self.audit_event(AuditAction::AuthenticatorDelete, None, Some(id), Some(&identity), &identity)?;
        }
        let detail = format!(
            "{}, {} devices and {} authenticators",
            current.user_name,
            devices.len(),
            authenticators.rows.len()
        );
        self.audit_row(AuditAction::UserDelete, None, Some(id), &detail)?;
        Ok(true)
    }
}
