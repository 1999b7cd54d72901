//! A device as a validation reads it, the rule of when an authenticator refuses validations
//! (as SQL), and the compare-and-set writes of a validation (SPEC §6, §14).

use super::challenges;
use super::challenges::{OpenCode, Ping};
use super::rows::device_from_row;
use super::sql::{
    AUTHENTICATOR_LOCKS, DEVICE_COLUMNS, OWNED, POLICY_MAX_FAILS, authenticator_refusal, device_owner_active,
};
use super::tx::{Actor, Store, write_raw};
use crate::db::{Database, DbError, Row, Sql};
use shared::authenticator::Refusal;
use shared::standing::REFUSAL_SQL;
use shared::{OtpDevice, Status};

/// What a challenge needs of a device besides its public attributes.
pub struct ChallengeState {
    pub device: OtpDevice,
    pub sealed_seed: Option<Vec<u8>>,
    pub pin_hash: Option<String>,
    pub hotp_counter: Option<u64>,
    pub totp_last_step: Option<u64>,
    /// The codes of an EMAIL/SMS device's open challenges, each its own (SPEC §14).
    pub codes: Vec<OpenCode>,
    /// How long a code of an EMAIL/SMS device lives: its authenticator policy's
    /// `codeTtlSeconds`, if it has one.
    pub code_ttl: Option<i64>,
    /// The row id of its authenticator, if it has one.
    pub authenticator_id: Option<i64>,
    /// A hardware token from a seed file (SPEC §19): its first success activates it, through
    /// either dialect.
    pub imported: bool,
    /// TOTP: the token's clock offset in time steps, learnt at each success (SPEC §19).
    pub time_drift: i64,
    /// A token outside the validity its seed file gave it: nothing is checked or counted.
    pub outside_validity: bool,
    /// The owner's `active` (SPEC §17): when false, nothing is sent, checked or counted.
    pub user_active: bool,
    /// Why the device's authenticator refuses validations now (SPEC §14), if it does. Then, as
    /// for an inactive user, nothing is sent, checked or counted.
    pub authenticator_refusal: Option<Refusal>,
}

impl Store<'_> {
    pub fn challenge_state(&self, id: i64) -> Result<Option<ChallengeState>, DbError> {
        let (db, tenant, now) = (self.db, self.actor.tenant, self.now);
        let rows = db.execute(
            &format!(
                "SELECT {} FROM devices WHERE id = ? AND tenant = ? AND {OWNED}",
                challenge_columns(now, Surroundings::LookedUp)
            ),
            &[id.into(), tenant.into()],
        )?;
        rows.first().map(challenge_state_from).transpose()
    }
}

/// Whether a token is outside the validity its seed file gave it at `now` (SPEC §19), as SQL
/// over `devices`: 1 or 0.
fn outside_validity(now: i64) -> String {
    format!("(coalesce(devices.valid_from > {now}, 0) OR coalesce(devices.valid_until <= {now}, 0))")
}

/// Where a statement that reads devices for a check finds what their owner, their
/// authenticator and its policy say.
#[derive(Clone, Copy)]
pub(super) enum Surroundings {
    /// The statement is over `devices` alone: subqueries look them up.
    LookedUp,
    /// `devices` is joined to its authenticator as `a`, its owner as `u` and the policy as `p`.
    Joined,
}

/// The columns [`challenge_state_from`] reads, each qualified by `devices` (so that they read
/// the same in a statement that joins other tables).
pub(super) fn challenge_columns(now: i64, around: Surroundings) -> String {
    let (user_active, refusal, code_ttl) = match around {
        Surroundings::LookedUp => (
            device_owner_active(),
            authenticator_refusal(now),
            "(SELECT p.code_ttl FROM authenticators a JOIN policies p ON p.tenant = a.tenant AND p.id = a.policy \
             WHERE a.id = devices.authenticator_id)"
                .to_owned(),
        ),
        Surroundings::Joined => {
            ("u.active".to_owned(), format!("({})", REFUSAL_SQL.replace("{now}", &now.to_string())), "p.code_ttl".to_owned())
        }
    };
    let mut columns = String::new();
    for column in DEVICE_COLUMNS.split(", ").chain(CHALLENGE_COLUMNS) {
        columns.push_str(&format!("devices.{column} AS {column}, "));
    }
    format!(
        "{columns}coalesce(devices.time_drift, 0) AS time_drift, {} AS outside_validity, \
         CASE WHEN devices.type IN ('EMAIL', 'SMS') THEN (SELECT json_group_array(json_array(c.id, hex(c.code_digest), c.kind)) \
         FROM challenges c WHERE c.device_id = devices.id AND c.code_digest IS NOT NULL AND c.expires >= {now}) \
         END AS open_codes, \
         CASE WHEN devices.type IN ('EMAIL', 'SMS') THEN {code_ttl} END AS code_ttl, \
         {user_active} AS user_active, {refusal} AS authenticator_refusal",
        outside_validity(now),
    )
}

/// The columns of `devices` a check reads besides [`DEVICE_COLUMNS`], as they are stored.
const CHALLENGE_COLUMNS: [&str; 6] =
    ["seed", "pin_hash", "hotp_counter", "totp_last_step", "authenticator_id", "origin"];

pub(super) fn challenge_state_from(row: Row<'_>) -> Result<ChallengeState, DbError> {
    Ok(ChallengeState {
        device: device_from_row(row)?,
        sealed_seed: row.opt_blob("seed")?.map(<[u8]>::to_vec),
        pin_hash: row.opt_text("pin_hash")?.map(str::to_owned),
        hotp_counter: row.opt_count("hotp_counter")?,
        totp_last_step: row.opt_count("totp_last_step")?,
        codes: challenges::open_codes_from(row.opt_text("open_codes")?)?,
        code_ttl: row.opt_int("code_ttl")?,
        authenticator_id: row.opt_int("authenticator_id")?,
        imported: row.text("origin")? == "imported",
        time_drift: row.int("time_drift")?,
        outside_validity: row.int("outside_validity")? != 0,
        user_active: row.int("user_active")? != 0,
        authenticator_refusal: row
            .opt_text("authenticator_refusal")?
            .map(|word| {
                Refusal::parse(word).ok_or_else(|| DbError(format!("unknown authenticator refusal {word:?}")))
            })
            .transpose()?,
    })
}

/// The compare-and-set that a successful validation must win. Only devices in C or V can
/// succeed, and only while the device is still in the state the code was checked against.
#[derive(Clone, Copy)]
pub enum SuccessGuard<'a> {
    /// TOTP: the matched time step, and the last accepted step the check saw (its replay rule
    /// compared against that one); `drift`, the token's clock offset that step shows, is kept.
    TotpStep { step: u64, last: Option<u64>, drift: i64 },
    /// HOTP: the matched counter, and the stored counter the check started from; it moves past
    /// the match.
    HotpCounter { matched: u64, from: u64 },
    /// EMAIL/SMS: the code of challenge `challenge`, which must still be open, unexpired and
    /// the device's; it is closed.
    Code { challenge: i64, digest: &'a [u8] },
    /// PIN: the hash the PIN was verified against must still be the device's.
    Pin(&'a str),
}

pub(super) fn sql_u64(n: u64) -> Sql {
    Sql::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

/// A validation's success: the CIBA ping the challenge it closed owes, if any.
pub struct Won {
    pub ping: Option<Ping>,
}

/// The writes of a validation (SPEC §6). Each is one statement outside any transaction, its
/// audit row written inside it by migration 6's triggers: on a network store a validation is one
/// write round trip, and still a change without its audit row cannot be written. The one
/// exception is an EMAIL/SMS code, whose challenge closes with it (two statements, one
/// transaction).
pub struct Validation<'a> {
    db: &'a dyn Database,
    actor: Actor<'a>,
    now: i64,
}

impl<'a> Store<'a> {
    /// The writes of a validation, as this request's principal at its clock.
    pub fn validation(&self) -> Validation<'a> {
        Validation { db: self.db, actor: self.actor, now: self.now }
    }
}

impl Validation<'_> {
    /// Records a success if the guard still holds; `None` when a concurrent request won the race
    /// (then nothing is written).
    pub fn record_success(&self, id: i64, guard: SuccessGuard<'_>) -> Result<Option<Won>, DbError> {
        const SET: &str = "fails = 0, last_used = ?, successes = successes + 1, version = version + 1, \
                           modified = ?, validation_actor = ?";
        let owner = device_owner_active();
        let live = format!(
            "id = ? AND tenant = ? AND status IN ('C', 'V') AND {owner} = 1 AND {} IS NULL AND NOT {}",
            authenticator_refusal(self.now),
            outside_validity(self.now)
        );
        let (now, actor, tenant) = (self.now, self.actor.name, self.actor.tenant);
        let (sql, params): (String, Vec<Sql>) = match guard {
            SuccessGuard::TotpStep { step, last, drift } => (
                format!(
                    "UPDATE devices SET {SET}, totp_last_step = ?, time_drift = ? WHERE {live} AND totp_last_step IS ? \
                     AND (totp_last_step IS NULL OR totp_last_step < ?) RETURNING id"
                ),
                vec![
                    now.into(),
                    now.into(),
                    actor.into(),
                    sql_u64(step),
                    drift.into(),
                    id.into(),
                    tenant.into(),
                    last.map(sql_u64).into(),
                    sql_u64(step),
                ],
            ),
            SuccessGuard::HotpCounter { matched, from } => (
                format!(
                    "UPDATE devices SET {SET}, hotp_counter = ? WHERE {live} AND hotp_counter = ? \
                     AND hotp_counter <= ? RETURNING id"
                ),
                vec![
                    now.into(),
                    now.into(),
                    actor.into(),
                    sql_u64(matched + 1),
                    id.into(),
                    tenant.into(),
                    sql_u64(from),
                    sql_u64(matched),
                ],
            ),
            // The challenge's code is on its own row: the device's success (with the code's
            // challenge still open in its WHERE) and the challenge's close are two statements,
            // in one transaction, in which nothing else writes between them.
            SuccessGuard::Code { challenge, digest } => {
                let sql = format!(
                    "UPDATE devices SET {SET} WHERE {live} AND EXISTS (SELECT 1 FROM challenges c \
                     WHERE c.id = ? AND c.device_id = devices.id AND c.code_digest = ? AND c.expires >= ?) RETURNING id"
                );
                let params: Vec<Sql> = vec![
                    now.into(),
                    now.into(),
                    actor.into(),
                    id.into(),
                    tenant.into(),
                    challenge.into(),
                    Sql::Blob(digest.to_vec()),
                    now.into(),
                ];
                return write_raw(self.db, || -> Result<Option<Won>, DbError> {
                    if self.db.execute(&sql, &params)?.is_empty() {
                        return Ok(None);
                    }
                    let closed = self.db.execute(
                        "DELETE FROM challenges WHERE id = ? RETURNING notify_token, auth_req_id",
                        &[challenge.into()],
                    )?;
                    let ping = closed.first().map(challenges::ping_from).transpose()?.flatten();
                    Ok(Some(Won { ping }))
                });
            }
            SuccessGuard::Pin(hash) => (
                format!("UPDATE devices SET {SET} WHERE {live} AND pin_hash = ? RETURNING id"),
                vec![now.into(), now.into(), actor.into(), id.into(), tenant.into(), hash.into()],
            ),
        };
        Ok((!self.db.execute(&sql, &params)?.is_empty()).then_some(Won { ping: None }))
    }

    /// Counts a failed validation and locks at the maxFails of the device's authenticator
    /// policy, by its own failures or its authenticator's consecutive ones (SPEC §14: one
    /// lockout for both views; the authenticator's trigger then locks its other devices),
    /// `max_fails` for a device without one; returns the status after it (`None` when the
    /// device is gone or no longer in C/V; then nothing is counted).
    pub fn record_failure(&self, id: i64, max_fails: u32) -> Result<Option<Status>, DbError> {
        let owner = device_owner_active();
        let rows = self.db.execute(
            &format!(
                "UPDATE devices SET fails = fails + 1, failures = failures + 1, last_failure = ?, \
                 status = CASE WHEN fails + 1 >= coalesce({POLICY_MAX_FAILS}, ?) \
                 OR coalesce({AUTHENTICATOR_LOCKS}, 0) THEN 'L' ELSE status END, \
                 version = version + 1, modified = ?, \
                 validation_actor = ? WHERE id = ? AND tenant = ? AND status IN ('C', 'V') AND {owner} = 1 \
                 AND {} IS NULL AND NOT {} RETURNING status",
                authenticator_refusal(self.now),
                outside_validity(self.now)
            ),
            &[
                self.now.into(),
                i64::from(max_fails).into(),
                self.now.into(),
                self.actor.name.into(),
                id.into(),
                self.actor.tenant.into(),
            ],
        )?;
        let Some(row) = rows.first() else { return Ok(None) };
        let status = Status::parse(row.text("status")?)
            .ok_or_else(|| DbError(format!("device {id}: column status holds a value we never write")))?;
        Ok(Some(status))
    }
}

/// The order an action tries an authenticator's devices in, the likeliest to be meant first:
/// usable ones (C, V), those with a code pending, the most recently used. [`DEVICE_ORDER_KEYS`]
/// are its columns, in a statement over `devices` at `{now}`.
pub(super) const DEVICE_ORDER: &str = "usable DESC, challenged DESC, recency DESC, devices.id";

pub(super) const DEVICE_ORDER_KEYS: &str = "devices.status IN ('C', 'V') AS usable, \
     EXISTS (SELECT 1 FROM challenges c WHERE c.device_id = devices.id AND c.expires >= {now}) AS challenged, \
     coalesce(devices.last_used, 0) AS recency";
