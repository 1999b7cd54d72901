//! Devices as `/Device` shows them (SPEC §19): the TOTP and HOTP rows of `devices`, tokens in
//! stock included, with their token attributes.

use super::listing::{Table, list_query, run_list, where_clause};
use super::sql::{OATH, OATH_DEVICE_COLUMNS};
use super::tx::{Store, WriteTx};
use super::validation::sql_u64;
use crate::db::{DbError, Row, Sql};
use shared::audit::AuditAction;
use shared::authenticator::Reference;
use shared::filter::Condition;
use shared::model::Meta;
use shared::oath_device::{
    DeviceCount, DeviceState, IN_STOCK, OATH_DEVICE_SCHEMA, OathDevice, Origin, TokenData,
};
use shared::query::{Page, Sort};
use shared::schema::OATH_DEVICE;
use shared::{Algorithm, DeviceType, Timestamp};
use std::collections::{HashMap, HashSet};

/// A device from its row. Its owner's `$ref` is left empty: the API, which knows its base URL,
/// writes it.
fn oath_device_from(row: Row<'_>) -> Result<OathDevice, DbError> {
    let id = row.int("id")?;
    let corrupt =
        |column: &str| DbError(format!("device {id}: column {column} holds a value we never write"));
    let instant = |column: &str| row.opt_int(column).map(|t| t.map(Timestamp));
    let owner = match row.opt_int("user_id")? {
        Some(user) => Some(Reference {
            kind: Some("User".to_owned()),
            value: user.to_string(),
            display: Some(row.text("user_name")?.to_owned()),
            reference: String::new(),
            location: None,
        }),
        None => None,
    };
    let created = Timestamp(row.int("created")?);
    Ok(OathDevice {
        schemas: vec![OATH_DEVICE_SCHEMA.to_owned()],
        id: id.to_string(),
        serial_number: row.text("name")?.to_owned(),
        manufacturer: row.opt_text("manufacturer")?.map(str::to_owned),
        model: row.opt_text("model")?.map(str::to_owned),
        device_type: DeviceType::parse(row.text("type")?).ok_or_else(|| corrupt("type"))?,
        algorithm: Algorithm::parse(row.opt_text("algorithm")?.unwrap_or_default())
            .ok_or_else(|| corrupt("algorithm"))?,
        digits: row.opt_count("digits")?.ok_or_else(|| corrupt("digits"))?,
        period: row.opt_count("period")?,
        origin: Origin::parse(row.text("origin")?).ok_or_else(|| corrupt("origin"))?,
        status: DeviceState::of_stored(row.text("status")?).ok_or_else(|| corrupt("status"))?,
        owner,
        time_drift: row.opt_int("time_drift")?,
        start_date: instant("valid_from")?,
        expiry_date: instant("valid_until")?,
        assigned: instant("assigned")?,
        activated: instant("activated")?,
        last_used: instant("last_used")?,
        meta: Meta::new(OATH_DEVICE.name, created, Timestamp(row.int("modified")?), row.int("version")?),
    })
}

impl Store<'_> {
    /// A TOTP or HOTP device of the tenant, in stock or not; another tenant's is not found.
    pub fn get_oath_device(&self, id: i64) -> Result<Option<OathDevice>, DbError> {
        let rows = self.db.execute(
            &format!("SELECT {OATH_DEVICE_COLUMNS} FROM devices WHERE id = ? AND tenant = ? AND {OATH}"),
            &[id.into(), self.actor.tenant.into()],
        )?;
        rows.first().map(oath_device_from).transpose()
    }

    /// One page of the tenant's TOTP and HOTP devices matching a filter, and how many match.
    pub fn list_oath_devices(
        &self,
        condition: Option<&Condition>,
        sort: Option<&Sort>,
        page: Page,
    ) -> Result<(u64, Vec<OathDevice>), DbError> {
        let query = list_query(Table::OathDevices, self.actor.tenant, condition, sort);
        let (total, rows) = run_list(self.db, query, page)?;
        Ok((total, rows.iter().map(oath_device_from).collect::<Result<_, _>>()?))
    }

    /// How many of the tenant's TOTP and HOTP devices matching a filter there are of each
    /// manufacturer, model and status, counted by SQLite in one statement; `None` when there
    /// would be more than [`COUNT_GROUPS`] groups.
    pub fn oath_device_counts(
        &self,
        condition: Option<&Condition>,
    ) -> Result<Option<Vec<DeviceCount>>, DbError> {
        let (clause, params) = where_clause(Table::OathDevices, self.actor.tenant, condition);
        let rows = self.db.execute(
            &format!(
                "SELECT manufacturer, model, status, count(*) AS n FROM devices{clause} \
                 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 LIMIT {}",
                COUNT_GROUPS + 1
            ),
            &params,
        )?;
        if rows.iter().nth(COUNT_GROUPS).is_some() {
            return Ok(None);
        }
        let mut groups: Vec<DeviceCount> = Vec::new();
        for row in rows.iter() {
            let stored = row.text("status")?;
            let count = row.count("n")?;
            let status = DeviceState::of_stored(stored)
                .ok_or_else(|| DbError(format!("a device's status {stored:?}, which we never write")))?;
            let (manufacturer, model) =
                (row.opt_text("manufacturer")?.map(str::to_owned), row.opt_text("model")?.map(str::to_owned));
            // Soffid's statuses map one to one, so no two stored statuses fall in one group.
            groups.push(DeviceCount { manufacturer, model, status, count });
        }
        Ok(Some(groups))
    }
}

/// At most this many (manufacturer, model, status) groups in one count.
pub const COUNT_GROUPS: usize = 1_000;

/// What taking a token back to stock writes (a `SET` list's tail): no owner, no authenticator,
/// status `A`, no failures, no lifecycle instants. Its secret, counter and last step stay.
const TAKEN_BACK: &str = ", user_id = NULL, user_name = '', authenticator_id = NULL, status = 'A', fails = 0, \
                          status_before_disable = NULL, assigned = NULL, activated = NULL";

/// The integer id of a device as `/Device` shows it.
fn row_id(device: &OathDevice) -> Result<i64, DbError> {
    device.id.parse().map_err(|_| DbError(format!("device id {:?}", device.id)))
}

/// Who holds a device after a change.
pub enum Holder {
    /// Whoever holds it now.
    Same,
    /// A user (id, userName) and their authenticator for the default policy of its kind (row id
    /// and policy code), if the tenant has one: the token is handed out.
    User { id: i64, name: String, authenticator: Option<(i64, String)> },
    /// Nobody: the token goes back to stock.
    Stock,
}

impl WriteTx<'_> {
    /// Puts a token in stock with its sealed secret; `None` when the tenant has a TOTP/HOTP
    /// device with this serial already (then nothing is written).
    pub fn stock_token(&self, token: &TokenData, sealed_seed: Vec<u8>) -> Result<Option<i64>, DbError> {
        Ok(self.stock_tokens(&[(token, &sealed_seed)])?.into_iter().next().flatten())
    }

    /// Writes a device's manufacturer, model and holder if it is still at `version`; `None` if
    /// it moved on (or is gone), and then nothing is written. Taking a token back closes its
    /// pending challenges; its secret, counter and last accepted time step stay with it.
    pub fn update_oath_device(
        &self,
        current: &OathDevice,
        version: i64,
        manufacturer: Option<&str>,
        model: Option<&str>,
        holder: &Holder,
    ) -> Result<Option<OathDevice>, DbError> {
        let id = row_id(current)?;
        let mut params: Vec<Sql> = vec![self.now.into(), manufacturer.into(), model.into()];
        let holder_set = match holder {
            Holder::Same => "",
            Holder::User { id: user, name, authenticator } => {
                params.extend([
                    (*user).into(),
                    name.as_str().into(),
                    authenticator.as_ref().map(|a| a.0).into(),
                ]);
                ", user_id = ?4, user_name = ?5, authenticator_id = ?6, status = 'C', fails = 0, assigned = ?1, \
                 activated = NULL"
            }
            Holder::Stock => TAKEN_BACK,
        };
        let at = params.len();
        params.extend([id.into(), self.tenant.into(), version.into()]);
        let rows = self.db.execute(
            &format!(
                "UPDATE devices SET manufacturer = ?2, model = ?3{holder_set}, version = version + 1, modified = ?1 \
                 WHERE id = ?{} AND tenant = ?{} AND {OATH} AND version = ?{} RETURNING {OATH_DEVICE_COLUMNS}",
                at + 1,
                at + 2,
                at + 3
            ),
            &params,
        )?;
        let Some(row) = rows.first() else { return Ok(None) };
        let updated = oath_device_from(row)?;
        let serial = &current.serial_number;
        let owner_name = |device: &OathDevice| device.owner.as_ref().and_then(|o| o.display.clone());
        match holder {
            Holder::Same => {}
            Holder::User { name, authenticator, .. } => {
                let bound = authenticator.as_ref().map_or(String::new(), |(_, policy)| {
                    format!(", authenticator {}.{policy}", updated.owner_id())
                });
                self.audit(AuditAction::HandOut, Some(id), &format!("{serial} to {name}{bound}"))?;
            }
            Holder::Stock => {
                self.db.execute("DELETE FROM challenges WHERE device_id = ?", &[id.into()])?;
                let from = owner_name(current).unwrap_or_default();
                self.audit(AuditAction::TakeBack, Some(id), &format!("{serial} from {from}"))?;
            }
        }
        let mut changed = Vec::new();
        for (what, before, after) in [
            ("manufacturer", &current.manufacturer, &updated.manufacturer),
            ("model", &current.model, &updated.model),
        ] {
            if before != after {
                let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".to_owned());
                changed.push(format!("{what} {} -> {}", shown(before), shown(after)));
            }
        }
        if !changed.is_empty() {
            self.audit(AuditAction::DeviceUpdate, Some(id), &format!("{serial}: {}", changed.join(", ")))?;
        }
        Ok(Some(updated))
    }

    /// Takes the hardware tokens that `condition` (over `devices`, with `params`) names back to
    /// stock, as removing their owner does, each audited with `why`; how many. Used where a
    /// device would otherwise be deleted with its OtpDevice, authenticator or user: a token's
    /// seed is not ours to throw away.
    pub fn return_to_stock(&self, condition: &str, params: &[Sql], why: &str) -> Result<usize, DbError> {
        let mut all: Vec<Sql> = vec![self.now.into()];
        all.extend(params.iter().cloned());
        let rows = self.db.execute(
            &format!(
                "UPDATE devices SET version = version + 1, modified = ?{TAKEN_BACK} \
                 WHERE origin = 'imported' AND status <> '{IN_STOCK}' AND {condition} RETURNING id, name"
            ),
            &all,
        )?;
        for row in rows.iter() {
            let id = row.int("id")?;
            self.db.execute("DELETE FROM challenges WHERE device_id = ?", &[id.into()])?;
            self.audit(AuditAction::TakeBack, Some(id), &format!("{}: {why}", row.text("name")?))?;
        }
        Ok(rows.rows.len())
    }

    /// Deletes a token in stock if it is still at `version` (any version when `None`); true if
    /// it was.
    pub fn delete_oath_device(&self, current: &OathDevice, version: Option<i64>) -> Result<bool, DbError> {
        let id = row_id(current)?;
        let rows = self.db.execute(
            &format!(
                "DELETE FROM devices WHERE id = ? AND tenant = ? AND status = '{IN_STOCK}' \
                 AND (? IS NULL OR version = ?) RETURNING id"
            ),
            &[id.into(), self.tenant.into(), version.into(), version.into()],
        )?;
        if rows.is_empty() {
            return Ok(false);
        }
        let detail = format!("{} {} from stock", current.device_type, current.serial_number);
        self.audit(AuditAction::Delete, Some(id), &detail)?;
        Ok(true)
    }
}

/// Rows per multi-row INSERT of an import: 100 tokens of 15 values each stay far below SQLite's
/// 32,766 bound parameters, and 10,000 tokens are 100 statements, not 10,000 (each a round trip
/// on a network store).
const STOCK_BATCH: usize = 100;

impl Store<'_> {
    /// Which of `serials` name a TOTP/HOTP device of the tenant already.
    pub fn existing_serials(&self, serials: &[&str]) -> Result<HashSet<String>, DbError> {
        let mut taken = HashSet::new();
        for chunk in serials.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let mut params: Vec<Sql> = vec![self.actor.tenant.into()];
            params.extend(chunk.iter().map(|s| Sql::from(*s)));
            let rows = self.db.execute(
                &format!("SELECT name FROM devices WHERE tenant = ? AND {OATH} AND name IN ({marks})"),
                &params,
            )?;
            for row in rows.iter() {
                taken.insert(row.text("name")?.to_owned());
            }
        }
        Ok(taken)
    }
}

impl WriteTx<'_> {
    /// The device `id` of the tenant, as `/Device` shows it.
    pub fn get_oath_device(&self, id: i64) -> Result<Option<OathDevice>, DbError> {
        self.reads().get_oath_device(id)
    }

    /// Puts tokens in stock with their sealed secrets, a hundred to a statement, each with its
    /// audit row: their ids in order, `None` for a serial the tenant has already (then nothing
    /// is written for it).
    pub fn stock_tokens(&self, tokens: &[(&TokenData, &[u8])]) -> Result<Vec<Option<i64>>, DbError> {
        let mut ids = Vec::with_capacity(tokens.len());
        for chunk in tokens.chunks(STOCK_BATCH) {
            let row = "(?, ?, ?, '', 'A', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'imported', ?, ?)";
            let mut params: Vec<Sql> = Vec::with_capacity(chunk.len() * 17);
            for (token, sealed) in chunk {
                params.extend([
                    self.tenant.into(),
                    token.serial_number.as_str().into(),
                    token.device_type.as_str().into(),
                    self.now.into(),
                    self.now.into(),
                    token.algorithm.as_str().into(),
                    i64::from(token.digits).into(),
                    token.period.map(i64::from).into(),
                    Sql::Blob(sealed.to_vec()),
                    token.counter.filter(|_| token.device_type == DeviceType::Hotp).map(sql_u64).into(),
                    token.counter.filter(|_| token.device_type == DeviceType::Totp).map(sql_u64).into(),
                    (token.device_type == DeviceType::Totp).then_some(token.time_drift).into(),
                    token.manufacturer.clone().into(),
                    token.model.clone().into(),
                    token.start_date.map(|t| t.0).into(),
                    token.expiry_date.map(|t| t.0).into(),
                ]);
            }
            let rows = self.db.execute(
                &format!(
                    "INSERT INTO devices (tenant, name, type, user_name, status, created, modified, algorithm, digits, \
                     period, seed, hotp_counter, totp_last_step, time_drift, manufacturer, model, origin, valid_from, \
                     valid_until) \
                     VALUES {} ON CONFLICT DO NOTHING RETURNING id, name",
                    vec![row; chunk.len()].join(", ")
                ),
                &params,
            )?;
            let mut stocked = HashMap::new();
            for r in rows.iter() {
                stocked.insert(r.text("name")?.to_owned(), r.int("id")?);
            }
            let mut audit: Vec<Sql> = Vec::new();
            for (token, _) in chunk {
                let id = stocked.get(&token.serial_number).copied();
                if let Some(id) = id {
                    audit.extend([
                        self.tenant.into(),
                        self.now.into(),
                        self.actor.into(),
                        id.into(),
                        stock_detail(token).into(),
                    ]);
                }
                ids.push(id);
            }
            // A serial shaped like a generated name (`TOTP00000035`: a device enrolled on another
            // instance of this service) moves that name's generator past it, so that no device
            // enrolled here later is given it.
            for (token, _) in chunk {
                if let Some((prefix, number)) = generated_name(&token.serial_number) {
                    self.db.execute(
                        "INSERT INTO serials (type, next) VALUES (?1, ?2) \
                         ON CONFLICT (type) DO UPDATE SET next = max(next, ?2)",
                        &[prefix.into(), number.into()],
                    )?;
                }
            }
            if !audit.is_empty() {
                let rows = vec!["(?, ?, ?, 'import', ?, ?)"; audit.len() / 5].join(", ");
                self.db.execute(
                    &format!(
                        "INSERT INTO audit (tenant, at, actor, action, device_id, detail) VALUES {rows}"
                    ),
                    &audit,
                )?;
            }
        }
        Ok(ids)
    }

    /// An audit row about the tenant's stock as a whole (an import, an export).
    pub fn audit_stock(&self, action: AuditAction, detail: &str) -> Result<(), DbError> {
        self.audit(action, None, detail)
    }
}

/// The type and number of a name shaped as the generator writes them (`TOTP00000035`).
fn generated_name(serial: &str) -> Option<(&'static str, i64)> {
    ["TOTP", "HOTP"].into_iter().find_map(|prefix| {
        let digits = serial.strip_prefix(prefix)?;
        let well_formed = digits.len() == 8 && digits.bytes().all(|b| b.is_ascii_digit());
        well_formed.then(|| digits.parse().ok()).flatten().map(|n| (prefix, n))
    })
}

/// What the audit says of a token put in stock: its type, serial and make, never its secret.
fn stock_detail(token: &TokenData) -> String {
    let made_by = match (&token.manufacturer, &token.model) {
        (Some(maker), Some(model)) => format!(" ({maker} {model})"),
        (Some(one), None) | (None, Some(one)) => format!(" ({one})"),
        (None, None) => String::new(),
    };
    format!("{} {}{made_by} into stock", token.device_type, token.serial_number)
}

/// What a resync needs of a TOTP/HOTP device besides what `/Device` shows.
pub struct TokenState {
    pub device: OathDevice,
    pub sealed_seed: Option<Vec<u8>>,
    pub hotp_counter: Option<u64>,
    pub totp_last_step: Option<u64>,
}

/// Where a resync moved a token.
pub enum Resynced {
    /// HOTP: the counter after the second code.
    Counter { from: u64, to: u64 },
    /// TOTP: the drift the two codes showed, and the step of the second (used now).
    Clock { drift: i64, step: u64 },
}

fn token_state_from(row: Row<'_>) -> Result<TokenState, DbError> {
    Ok(TokenState {
        device: oath_device_from(row)?,
        sealed_seed: row.opt_blob("seed")?.map(<[u8]>::to_vec),
        hotp_counter: row.opt_count("hotp_counter")?,
        totp_last_step: row.opt_count("totp_last_step")?,
    })
}

impl Store<'_> {
    /// The tenant's TOTP and HOTP devices matching a filter, with their sealed secrets, in id
    /// order, at most `limit`; and how many match in all.
    pub fn export_rows(
        &self,
        condition: Option<&Condition>,
        limit: u64,
    ) -> Result<(u64, Vec<TokenState>), DbError> {
        let query = list_query(Table::OathSecrets, self.actor.tenant, condition, None);
        let (total, rows) = run_list(self.db, query, Page { start_index: 1, count: limit })?;
        Ok((total, rows.iter().map(token_state_from).collect::<Result<_, _>>()?))
    }

    /// The TOTP/HOTP device of the tenant with this serial.
    pub fn oath_device_by_serial(&self, serial: &str) -> Result<Option<OathDevice>, DbError> {
        let rows = self.db.execute(
            &format!("SELECT {OATH_DEVICE_COLUMNS} FROM devices WHERE tenant = ? AND {OATH} AND name = ?"),
            &[self.actor.tenant.into(), serial.into()],
        )?;
        rows.first().map(oath_device_from).transpose()
    }

    pub fn token_state(&self, id: i64) -> Result<Option<TokenState>, DbError> {
        let rows = self.db.execute(
            &format!(
                "SELECT {OATH_DEVICE_COLUMNS}, seed, hotp_counter, totp_last_step FROM devices \
                 WHERE id = ? AND tenant = ? AND {OATH}"
            ),
            &[id.into(), self.actor.tenant.into()],
        )?;
        rows.first().map(token_state_from).transpose()
    }
}

impl WriteTx<'_> {
    /// Writes a resync if the device is still at `version`: the counter or the clock moved,
    /// `fails` back to 0 (a locked device stays locked). False when it moved on meanwhile.
    pub fn resync(&self, current: &OathDevice, version: i64, moved: &Resynced) -> Result<bool, DbError> {
        let id = row_id(current)?;
        let (set, mut params, detail): (&str, Vec<Sql>, String) = match moved {
            Resynced::Counter { from, to } => {
                ("hotp_counter = ?", vec![sql_u64(*to)], format!("counter {from} -> {to}"))
            }
            Resynced::Clock { drift, step } => (
                "time_drift = ?, totp_last_step = ?",
                vec![(*drift).into(), sql_u64(*step)],
                format!("time drift {} -> {drift} steps", current.time_drift.unwrap_or(0)),
            ),
        };
        params.extend([self.now.into(), id.into(), self.tenant.into(), version.into()]);
        let rows = self.db.execute(
            &format!(
                "UPDATE devices SET {set}, fails = 0, version = version + 1, modified = ? \
                 WHERE id = ? AND tenant = ? AND version = ? RETURNING id"
            ),
            &params,
        )?;
        if rows.is_empty() {
            return Ok(false);
        }
        self.audit(AuditAction::Resync, Some(id), &format!("{}: {detail}", current.serial_number))?;
        Ok(true)
    }
}
