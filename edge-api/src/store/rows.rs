//! Devices from their rows, read by column name.

use crate::db::{DbError, Row, Rows};
use shared::model::{DEVICE_SCHEMA, Meta};
use shared::schema::DEVICE;
use shared::{Algorithm, DeviceType, OtpDevice, Status, Timestamp};

pub(super) fn device_from_row(row: Row<'_>) -> Result<OtpDevice, DbError> {
    let id = row.int("id")?;
    let corrupt =
        |column: &str| DbError(format!("device {id}: column {column} holds a value we never write"));
    let created = Timestamp(row.int("created")?);
    let algorithm = match row.opt_text("algorithm")? {
        None => None,
        Some(text) => Some(Algorithm::parse(text).ok_or_else(|| corrupt("algorithm"))?),
    };
    Ok(OtpDevice {
        schemas: vec![DEVICE_SCHEMA.to_owned()],
        id,
        name: row.text("name")?.to_owned(),
        device_type: DeviceType::parse(row.text("type")?).ok_or_else(|| corrupt("type"))?,
        user: row.text("user_name")?.to_owned(),
        status: Status::parse(row.text("status")?).ok_or_else(|| corrupt("status"))?,
        fails: row.count("fails")?,
        created,
        last_used: row.opt_int("last_used")?.map(Timestamp),
        email: row.opt_text("email")?.map(str::to_owned),
        phone: row.opt_text("phone")?.map(str::to_owned),
        algorithm,
        digits: row.opt_count("digits")?,
        period: row.opt_count("period")?,
        external_id: row.opt_text("external_id")?.map(str::to_owned),
        image: None,
        otpauth_uri: None,
        meta: Meta::new(DEVICE.name, created, Timestamp(row.int("modified")?), row.int("version")?),
    })
}

pub(super) fn devices_from_rows(rows: &Rows) -> Result<Vec<OtpDevice>, DbError> {
    rows.iter().map(device_from_row).collect()
}

pub(super) fn one_device(rows: &Rows) -> Result<Option<OtpDevice>, DbError> {
    rows.first().map(device_from_row).transpose()
}
