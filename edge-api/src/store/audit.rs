//! The audit trail (SPEC §12) as read back: per device, per tenant, as a histogram; the dev
//! outbox and a device's counters.

use super::listing::{Table, list_query, run_list};
use super::sql::{AUDIT_COLUMNS, OWNED};
use super::tx::Store;
use crate::db::{DbError, Row, Sql};
use shared::Timestamp;
use shared::audit::{AUDIT_SCHEMA, AuditBucket, AuditEvent};
use shared::filter::Condition;
use shared::model::Meta;
use shared::query::{Page, Sort};
use shared::schema::AUDIT;

/// Device counters (SPA detail view, and the HID-style `statistics` later).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    pub successes: i64,
    pub failures: i64,
    pub challenges: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_success: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<String>,
}

impl Store<'_> {
    pub fn counters(&self, id: i64) -> Result<Option<Counters>, DbError> {
        let (db, tenant) = (self.db, self.actor.tenant);
        let rows = db.execute(
            &format!(
                "SELECT successes, failures, challenges, last_used, last_failure FROM devices \
                 WHERE id = ? AND tenant = ? AND {OWNED}"
            ),
            &[id.into(), tenant.into()],
        )?;
        let Some(r) = rows.first() else { return Ok(None) };
        Ok(Some(Counters {
            successes: r.int("successes")?,
            failures: r.int("failures")?,
            challenges: r.int("challenges")?,
            last_success: r.opt_int("last_used")?.map(|t| Timestamp(t).to_rfc3339()),
            last_failure: r.opt_int("last_failure")?.map(|t| Timestamp(t).to_rfc3339()),
        }))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub at: String,
    pub actor: String,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<i64>,
    pub detail: String,
}

pub(super) fn audit_event_from_row(row: Row<'_>) -> Result<AuditEvent, DbError> {
    let at = Timestamp(row.int("at")?);
    Ok(AuditEvent {
        schemas: vec![AUDIT_SCHEMA.to_owned()],
        id: row.int("id")?.to_string(),
        at,
        actor: row.text("actor")?.to_owned(),
        action: row.text("action")?.to_owned(),
        device_id: row.opt_int("device_id")?,
        user_id: row.opt_int("user_id")?.map(|id| id.to_string()),
        authenticator: row.opt_text("authenticator")?.map(str::to_owned),
        detail: row.text("detail")?.to_owned(),
        meta: Meta::new(AUDIT.name, at, at, 1),
    })
}

impl Store<'_> {
    /// One page of a tenant's audit events matching a filter, and how many match in all.
    pub fn list_audit(
        &self,
        condition: Option<&Condition>,
        sort: Option<&Sort>,
        page: Page,
    ) -> Result<(u64, Vec<AuditEvent>), DbError> {
        let (db, tenant) = (self.db, self.actor.tenant);
        let (total, rows) = run_list(db, list_query(Table::Audit, tenant, condition, sort), page)?;
        Ok((total, rows.iter().map(audit_event_from_row).collect::<Result<_, _>>()?))
    }
}

/// At most this many (interval, action) groups in one histogram.
pub const HISTOGRAM_GROUPS: usize = 10_000;

impl Store<'_> {
    /// How many of a tenant's audit events matching a filter fall in each `interval` seconds (from
    /// the epoch), per action, counted by SQLite: with a time range in the filter, the
    /// `(tenant, at, action)` index answers it without reading the rows. `None` when there would be
    /// more than [`HISTOGRAM_GROUPS`] groups.
    pub fn audit_histogram(
        &self,
        condition: Option<&Condition>,
        interval: i64,
    ) -> Result<Option<Vec<AuditBucket>>, DbError> {
        let (db, tenant) = (self.db, self.actor.tenant);
        let mut params = vec![Sql::from(tenant)];
        let clause = match condition {
            Some(c) => {
                let w = c.to_sql();
                params.extend(w.params.into_iter().map(Sql::from));
                format!(" AND {}", w.sql)
            }
            None => String::new(),
        };
        // `interval` is an integer the handler checked, inlined so that the grouping is a column.
        let rows = db.execute(
            &format!(
                "SELECT at / {interval} * {interval} AS start, action, count(*) AS n FROM audit \
                 WHERE tenant = ?{clause} GROUP BY 1, 2 ORDER BY 1, 2 LIMIT {}",
                HISTOGRAM_GROUPS + 1
            ),
            &params,
        )?;
        if rows.iter().nth(HISTOGRAM_GROUPS).is_some() {
            return Ok(None);
        }
        let mut buckets: Vec<AuditBucket> = Vec::new();
        for row in rows.iter() {
            let start = Timestamp(row.int("start")?);
            if buckets.last().is_none_or(|b| b.start != start) {
                buckets.push(AuditBucket { start, counts: Default::default() });
            }
            if let Some(bucket) = buckets.last_mut() {
                bucket.counts.insert(row.text("action")?.to_owned(), row.count("n")?);
            }
        }
        Ok(Some(buckets))
    }

    /// One audit event of a tenant.
    pub fn get_audit_event(&self, id: i64) -> Result<Option<AuditEvent>, DbError> {
        let (db, tenant) = (self.db, self.actor.tenant);
        let rows = db.execute(
            &format!("SELECT {AUDIT_COLUMNS} FROM audit WHERE id = ? AND tenant = ?"),
            &[id.into(), tenant.into()],
        )?;
        rows.first().map(audit_event_from_row).transpose()
    }

    /// The newest audit entries of a device, newest first.
    pub fn audit_trail(&self, device_id: i64, limit: i64) -> Result<Vec<AuditEntry>, DbError> {
        let (db, tenant) = (self.db, self.actor.tenant);
        let rows = db.execute(
            "SELECT at, actor, action, device_id, detail FROM audit WHERE device_id = ? AND tenant = ? \
             ORDER BY id DESC LIMIT ?",
            &[device_id.into(), tenant.into(), limit.into()],
        )?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    at: Timestamp(r.int("at")?).to_rfc3339(),
                    actor: r.text("actor")?.to_owned(),
                    action: r.text("action")?.to_owned(),
                    device_id: r.opt_int("device_id")?,
                    detail: r.text("detail")?.to_owned(),
                })
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxMessage {
    pub id: i64,
    pub at: String,
    pub device_id: i64,
    pub channel: String,
    pub to: String,
    pub message: String,
}

impl Store<'_> {
    /// The newest dev-outbox messages of a tenant, newest first.
    pub fn outbox_list(&self, limit: i64) -> Result<Vec<OutboxMessage>, DbError> {
        let (db, tenant) = (self.db, self.actor.tenant);
        let rows = db.execute(
            "SELECT id, at, device_id, channel, recipient, message FROM outbox WHERE tenant = ? ORDER BY id DESC LIMIT ?",
            &[tenant.into(), limit.into()],
        )?;
        rows.iter()
            .map(|r| {
                Ok(OutboxMessage {
                    id: r.int("id")?,
                    at: Timestamp(r.int("at")?).to_rfc3339(),
                    device_id: r.int("device_id")?,
                    channel: r.text("channel")?.to_owned(),
                    to: r.text("recipient")?.to_owned(),
                    message: r.text("message")?.to_owned(),
                })
            })
            .collect()
    }
}
