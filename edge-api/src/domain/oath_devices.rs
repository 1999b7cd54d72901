//! TOTP and HOTP devices as an inventory keeps them (SPEC §19): hardware tokens in stock, handed
//! out and taken back, and the enrolled devices beside them.

use super::{DomainError, IfMatch, Scope, Written, delete_versioned, update_versioned};
use crate::store::{Holder, Resynced, TokenState, WriteTx};
use shared::DeviceType;
use shared::Problem;
use shared::authenticator_body::Owner;
use shared::model::etag_version;
use shared::oath_device::{DeviceChanges, DeviceState, OathDevice, Origin, OwnerChange};
use shared::otp::{CodeParams, resync_hotp, resync_totp, time_step};

fn version_of(device: &OathDevice) -> i64 {
    etag_version(&device.meta.version).unwrap_or(0)
}

/// The device `id` names: the decimal digits of a TOTP or HOTP device of the tenant.
pub fn find(scope: &Scope<'_>, id: &str) -> Result<OathDevice, DomainError> {
    let missing = || DomainError::NoOathDevice(id.to_owned());
    let parsed = id.parse::<i64>().ok().filter(|n| *n > 0 && n.to_string() == id).ok_or_else(missing)?;
    scope.store.get_oath_device(parsed)?.ok_or_else(missing)
}

/// A replace or PATCH: `changes_of` the device as it is, written at its version. Setting the
/// owner of a token in stock hands it out (bound to the owner's authenticator of the tenant's
/// default policy of its kind); removing it takes the token back. A device with an owner gets
/// another only through stock, and an enrolled device never goes there: its secret is in its
/// owner's app.
pub fn update(
    scope: &Scope<'_>,
    id: &str,
    expected: Option<&IfMatch>,
    changes_of: impl Fn(&OathDevice) -> Result<DeviceChanges, DomainError>,
) -> Result<OathDevice, DomainError> {
    update_versioned(
        expected,
        || find(scope, id),
        version_of,
        |current, version| {
            let changes = changes_of(current)?;
            match (&changes.owner, current.origin) {
                (OwnerChange::Another(_), _) => {
                    return Err(
                        Problem::invalid("owner", "the device is handed out: take it back first").into()
                    );
                }
                (OwnerChange::TakeBack, Origin::Enrolled) => {
                    return Err(Problem::invalid(
                        "owner",
                        "an enrolled device's secret is in its owner's app: it cannot go to stock (delete it instead)",
                    )
                    .into());
                }
                _ => {}
            }
            let updated = scope.store.write(|tx| -> Result<Option<OathDevice>, DomainError> {
                let holder = match &changes.owner {
                    OwnerChange::HandOut(owner) => holder(tx, owner, current)?,
                    OwnerChange::TakeBack => Holder::Stock,
                    OwnerChange::Keep | OwnerChange::Another(_) => Holder::Same,
                };
                let (manufacturer, model) = (changes.manufacturer.as_deref(), changes.model.as_deref());
                Ok(tx.update_oath_device(current, version, manufacturer, model, &holder)?)
            })?;
            Ok(updated.map_or(Written::Stale, Written::Done))
        },
    )
}

/// The user a token is handed to (by id, or by userName, created when absent) and their
/// authenticator of the tenant's default policy of its kind, created on the fly.
fn holder(tx: &WriteTx<'_>, owner: &Owner, device: &OathDevice) -> Result<Holder, DomainError> {
    let (id, name) = match owner {
        Owner::Id(id) => tx
            .user_by_id(*id)?
            .ok_or(DomainError::Invalid(Problem::invalid("owner.value", "names no user of this tenant")))?,
        Owner::UserName(name) => tx.user_named(name)?,
    };
    let authenticator = tx.default_authenticator(id, device.device_type)?;
    Ok(Holder::User { id, name, authenticator })
}

/// Deletes a token in stock (audited); one handed out is 409 (take it back first), and an
/// enrolled device is 409 too: it is its owner's, deleted as an OtpDevice or with its
/// authenticator.
pub fn delete(scope: &Scope<'_>, id: &str, expected: Option<&IfMatch>) -> Result<(), DomainError> {
    let current = find(scope, id)?;
    if current.origin == Origin::Enrolled {
        let owner = current.owner.as_ref().and_then(|o| o.display.clone()).unwrap_or_default();
        return Err(DomainError::Enrolled { id: id.to_owned(), owner });
    }
    if current.status != DeviceState::Available {
        let owner = current.owner.as_ref().and_then(|o| o.display.clone()).unwrap_or_default();
        return Err(DomainError::HandedOut { serial: current.serial_number, owner });
    }
    delete_versioned(expected, version_of(&current), DomainError::NoOathDevice(id.to_owned()), |at| {
        Ok(scope.store.write(|tx| tx.delete_oath_device(&current, at))?)
    })
}

/// `POST /Device/{id}/resync` (SPEC §19): two consecutive codes from the token. HOTP: searched
/// from the stored counter up to `resync_window` ahead, the counter then moves past the second;
/// TOTP: within a tenth of it in steps either side of the server's clock, the drift they show
/// kept and the second code's step used. Codes already used never match. `fails` goes to 0; a
/// locked device stays locked.
pub fn resync(scope: &Scope<'_>, id: &str, codes: [&str; 2]) -> Result<(), DomainError> {
    let not_found = || DomainError::Invalid(Problem::invalid("codes", "no two consecutive codes found"));
    update_versioned(
        None,
        || {
            let parsed = id.parse::<i64>().ok().filter(|n| *n > 0 && n.to_string() == id);
            let missing = || DomainError::NoOathDevice(id.to_owned());
            parsed.map_or(Ok(None), |n| scope.store.token_state(n))?.ok_or_else(missing)
        },
        |state: &TokenState| version_of(&state.device),
        |state, version| {
            let device = &state.device;
            let secret =
                state.sealed_seed.as_deref().and_then(|blob| scope.keys.open_seed(blob)).ok_or_else(
                    || DomainError::Internal(format!("device {}: seed cannot be opened", device.id)),
                )?;
            let params = CodeParams { algorithm: device.algorithm, digits: device.digits };
            let window = scope.settings.resync_window;
            let moved = match device.device_type {
                DeviceType::Hotp => {
                    let from = state.hotp_counter.unwrap_or(0);
                    let to = resync_hotp(&secret, params, codes, from, window).ok_or_else(not_found)?;
                    Resynced::Counter { from, to }
                }
                _ => {
                    let period = device.period.unwrap_or(scope.settings.defaults.period);
                    let now = scope.now();
                    let step =
                        resync_totp(&secret, params, period, codes, now, window / 10, state.totp_last_step)
                            .ok_or_else(not_found)?;
                    let server = i64::try_from(time_step(now, period)).unwrap_or(i64::MAX);
                    Resynced::Clock { drift: i64::try_from(step).unwrap_or(i64::MAX) - server, step }
                }
            };
            let written = scope.store.write(|tx| tx.resync(device, version, &moved))?;
            Ok(if written { Written::Done(()) } else { Written::Stale })
        },
    )
}

/// Soffid's `POST /OtpDevice` with a token's `serialNumber` (SPEC §19): the token in stock
/// becomes `user`'s device (created when absent), as a PATCH of its owner makes it; its id. An
/// unknown serial (another tenant's too), a token handed out, or another `type` is 400
/// `invalidValue` naming it.
pub fn hand_out_by_serial(
    scope: &Scope<'_>,
    serial: &str,
    user: &str,
    device_type: Option<DeviceType>,
) -> Result<i64, DomainError> {
    let unknown = || DomainError::Invalid(Problem::invalid("serialNumber", "names no token of this tenant"));
    let current = scope.store.oath_device_by_serial(serial)?.ok_or_else(unknown)?;
    if device_type.is_some_and(|t| t != current.device_type) {
        return Err(Problem::invalid("type", "is not the token's type").into());
    }
    if current.status != DeviceState::Available {
        return Err(Problem::invalid("serialNumber", "the token is handed out: take it back first").into());
    }
    let owner = Owner::UserName(user.to_owned());
    let handed = update(scope, &current.id, None, |now| {
        if now.status != DeviceState::Available {
            return Err(
                Problem::invalid("serialNumber", "the token is handed out: take it back first").into()
            );
        }
        Ok(DeviceChanges {
            manufacturer: now.manufacturer.clone(),
            model: now.model.clone(),
            owner: OwnerChange::HandOut(owner.clone()),
        })
    })?;
    handed.id.parse().map_err(|_| DomainError::Internal(format!("device id {:?}", handed.id)))
}
